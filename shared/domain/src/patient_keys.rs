//! The lookup keys under which a patient can be found: exact PHN, phone and email, and name
//! prefixes that ignore case and accents. Every key holds a tag under the clinic's key
//! (see [`crate::clinic_key`]) where the value would be: a PHN, number, email or name never
//! appears in a key.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};
use zeroize::Zeroizing;

use crate::{
    clinic_key::{ClinicKey, ClinicKeyError, TagKind},
    model::{AppointmentCard, Patient},
};

/// One item of the patient lookup table: `pk` is what a search queries, `sk` is the
/// patient's id (it orders a partition's entries and pages through them).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LookupKey {
    pub pk: String,
    pub sk: String,
}

/// Keys are tags and ids only, but stay out of logs like the values they stand for.
impl std::fmt::Debug for LookupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LookupKey(<redacted>)")
    }
}

/// The longest name prefix with a partition of its own. A longer search reads the
/// partition of its first [`MAX_NAME_PREFIX`] characters and keeps the entries that match:
/// a patient has one name key per prefix length, so this bounds a patient's writes.
pub const MAX_NAME_PREFIX: usize = 12;

/// Which name a name key indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    First,
    Last,
}

/// Folds a name for matching: accents removed, lower case, only letters and digits kept,
/// runs of anything else collapsed to one space. "SMÏTH-Jones " → "smith jones".
pub fn fold_name(name: &str) -> String {
    let folded: String = name
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn phn_key(key: &ClinicKey, phn: &str) -> String {
    format!("{}#phn#{}", key.clinic(), key.tag(TagKind::Phn, phn))
}

pub fn phone_key(key: &ClinicKey, e164: &str) -> String {
    format!("{}#phone#{}", key.clinic(), key.tag(TagKind::Phone, e164))
}

pub fn email_key(key: &ClinicKey, email: &str) -> String {
    format!("{}#email#{}", key.clinic(), key.tag(TagKind::Email, email))
}

/// The partition of the clinic's patients whose folded `part` name starts with `prefix`
/// (itself folded), cut to [`MAX_NAME_PREFIX`] characters.
pub fn name_key(key: &ClinicKey, part: Part, prefix: &str) -> String {
    let prefix: String = prefix.chars().take(MAX_NAME_PREFIX).collect();
    let (label, kind) = match part {
        Part::First => ("first", TagKind::FirstName),
        Part::Last => ("last", TagKind::LastName),
    };
    format!("{}#{label}#{}", key.clinic(), key.tag(kind, &prefix))
}

/// The name keys of a folded name: one per prefix, from its first character to
/// [`MAX_NAME_PREFIX`].
fn name_keys(key: &ClinicKey, part: Part, folded: &str) -> impl Iterator<Item = String> {
    let chars: Vec<char> = folded.chars().collect();
    (1..=chars.len().min(MAX_NAME_PREFIX))
        .map(move |length| name_key(key, part, &chars[..length].iter().collect::<String>()))
}

/// Every lookup key of a patient in the key's clinic.
pub fn lookup_keys(key: &ClinicKey, patient: &Patient) -> BTreeSet<LookupKey> {
    let id = patient.id.as_str();
    let exact = |pk: String| LookupKey {
        pk,
        sk: id.to_owned(),
    };
    let mut keys = BTreeSet::new();
    if let Some(phn) = &patient.phn {
        keys.insert(exact(phn_key(key, phn.as_str())));
    }
    if let Some(phone) = &patient.phone {
        keys.insert(exact(phone_key(key, phone.as_e164())));
    }
    if let Some(email) = &patient.email {
        keys.insert(exact(email_key(key, email.as_str())));
    }
    let first = fold_name(&patient.first_name);
    let last = fold_name(&patient.last_name);
    keys.extend(name_keys(key, Part::First, &first).map(exact));
    keys.extend(name_keys(key, Part::Last, &last).map(exact));
    keys
}

/// What a lookup item carries for search, so that a search reads nothing else.
#[derive(Serialize, Deserialize)]
pub struct EntryCopy {
    pub patient: Patient,
    pub appointments: Vec<AppointmentCard>,
}

/// Where a lookup item's copy is stored: a copy moved under another key does not open.
fn entry_place(lookup: &LookupKey) -> Vec<u8> {
    format!("lookup\0{}\0{}", lookup.pk, lookup.sk).into_bytes()
}

/// The patient and their appointment cards, sealed under the clinic's key for the lookup
/// item `lookup`: stored as the item's only attribute besides its key.
pub fn seal_entry(
    key: &ClinicKey,
    lookup: &LookupKey,
    patient: &Patient,
    appointments: &[AppointmentCard],
) -> Vec<u8> {
    let copy = EntryCopy {
        patient: patient.clone(),
        appointments: appointments.to_vec(),
    };
    let plaintext = Zeroizing::new(serde_json::to_vec(&copy).expect("a copy serialises"));
    key.seal(&entry_place(lookup), &plaintext)
}

/// The copy of the lookup item `lookup`, opened from what [`seal_entry`] sealed.
pub fn open_entry(
    key: &ClinicKey,
    lookup: &LookupKey,
    sealed: &[u8],
) -> Result<EntryCopy, ClinicKeyError> {
    let plaintext = key.open(&entry_place(lookup), sealed)?;
    serde_json::from_slice(&plaintext).map_err(|_| ClinicKeyError::NotOpened)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{email::Email, ids::ClinicId, ids::PatientId, phn::Phn, phone::PhoneNumber};

    fn key(clinic: &str) -> ClinicKey {
        ClinicKey::from_root(&ClinicId::parse(clinic).unwrap(), &[9; 32]).unwrap()
    }

    fn patient() -> Patient {
        Patient {
            id: PatientId::parse("p1").unwrap(),
            phn: Some(Phn::parse("9698658215").unwrap()),
            first_name: "Zoë".into(),
            last_name: "SMÏTH-Jones".into(),
            date_of_birth: None,
            phone: Some(PhoneNumber::parse("604 555 1234").unwrap()),
            email: Some(Email::parse("Zoe@Example.com").unwrap()),
        }
    }

    #[test]
    fn names_fold_case_and_accents_away() {
        assert_eq!(fold_name("SMÏTH-Jones "), "smith jones");
        assert_eq!(fold_name("Zoë"), "zoe");
        assert_eq!(fold_name("  Ng  "), "ng");
    }

    #[test]
    fn a_patient_has_one_key_per_way_to_find_them_and_each_name_prefix() {
        let key = key("c1");
        let keys = lookup_keys(&key, &patient());
        let pks: BTreeSet<_> = keys.iter().map(|k| k.pk.as_str()).collect();
        assert!(pks.contains(phn_key(&key, "9698658215").as_str()));
        assert!(pks.contains(phone_key(&key, "+16045551234").as_str()));
        assert!(pks.contains(email_key(&key, "zoe@example.com").as_str()));
        for prefix in ["z", "zo", "zoe"] {
            assert!(pks.contains(name_key(&key, Part::First, prefix).as_str()));
        }
        // "smith jones" is 11 characters: a prefix of each length.
        for prefix in ["s", "sm", "smith", "smith j", "smith jones"] {
            assert!(pks.contains(name_key(&key, Part::Last, prefix).as_str()));
        }
        assert_eq!(keys.len(), 3 + 3 + 11);
        assert!(keys.iter().all(|k| k.sk == "p1"));
    }

    #[test]
    fn a_longer_prefix_shares_the_partition_of_its_first_twelve_characters() {
        let key = key("c1");
        assert_eq!(
            name_key(&key, Part::Last, "vandermeulenhoff"),
            name_key(&key, Part::Last, "vandermeulen")
        );
        assert_ne!(
            name_key(&key, Part::Last, "vandermeule"),
            name_key(&key, Part::Last, "vandermeulen")
        );
        let mut long = patient();
        long.last_name = "Vandermeulenhoff".into();
        assert_eq!(lookup_keys(&key, &long).len(), 3 + 3 + MAX_NAME_PREFIX);
        assert_ne!(
            name_key(&key, Part::Last, "smith"),
            name_key(&key, Part::First, "smith")
        );
    }

    #[test]
    fn keys_hold_tags_never_the_values() {
        let key = key("c1");
        let keys = lookup_keys(&key, &patient());
        for lookup in &keys {
            let pk = lookup.pk.to_lowercase();
            for value in [
                "9698658215",
                "6045551234",
                "zoe",
                "example",
                "smith",
                "jones",
            ] {
                assert!(!pk.contains(value), "{value} in a key");
            }
            assert!(pk.starts_with("c1#"));
        }
    }

    #[test]
    fn a_patient_without_phn_phone_or_email_is_found_by_name_only() {
        let key = key("c1");
        let mut bare = patient();
        bare.phn = None;
        bare.phone = None;
        bare.email = None;
        let keys = lookup_keys(&key, &bare);
        assert_eq!(keys.len(), 3 + 11);
        assert!(
            keys.iter()
                .all(|key| key.pk.contains("#last#") || key.pk.contains("#first#"))
        );
    }

    #[test]
    fn an_entry_opens_at_its_own_key_only_and_shows_nothing_sealed() {
        let key = key("c1");
        let keys: Vec<_> = lookup_keys(&key, &patient()).into_iter().collect();
        let sealed = seal_entry(&key, &keys[0], &patient(), &[]);
        let opened = open_entry(&key, &keys[0], &sealed).unwrap();
        assert_eq!(opened.patient, patient());
        let shown = String::from_utf8_lossy(&sealed).to_lowercase();
        for value in ["9698658215", "zoe", "smith", "example"] {
            assert!(!shown.contains(value), "{value} in a sealed entry");
        }
        assert!(
            open_entry(&key, &keys[1], &sealed).is_err(),
            "moved to another key"
        );
        assert!(open_entry(&self::key("c2"), &keys[0], &sealed).is_err());
    }

    #[test]
    fn keys_are_scoped_to_the_clinic() {
        let a = lookup_keys(&key("a"), &patient());
        let b = lookup_keys(&key("b"), &patient());
        assert!(a.is_disjoint(&b));
    }
}
