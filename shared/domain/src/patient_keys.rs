//! The lookup keys under which a patient can be found: exact PHN, phone and email, and name
//! prefixes that ignore case and accents.

use std::collections::BTreeSet;

use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

use crate::{ids::ClinicId, model::Patient};

/// One item of the patient lookup table: `pk` is what a search queries, `sk` orders and
/// identifies the patient.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LookupKey {
    pub pk: String,
    pub sk: String,
}

/// Keys hold PHNs, phone numbers, emails and names: `Debug` shows none.
impl std::fmt::Debug for LookupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LookupKey(<redacted>)")
    }
}

/// Separates name parts in sort keys; below every letter, so "smith" sorts before "smithe".
const NAME_SEPARATOR: char = '\u{1}';

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

pub fn phn_key(clinic: &ClinicId, phn: &str) -> String {
    format!("{clinic}#phn#{phn}")
}

pub fn phone_key(clinic: &ClinicId, e164: &str) -> String {
    format!("{clinic}#phone#{e164}")
}

pub fn email_key(clinic: &ClinicId, email: &str) -> String {
    format!("{clinic}#email#{email}")
}

/// Partition of a clinic's patients by folded last name.
pub fn last_name_key(clinic: &ClinicId) -> String {
    format!("{clinic}#last")
}

/// Partition of a clinic's patients by folded first name.
pub fn first_name_key(clinic: &ClinicId) -> String {
    format!("{clinic}#first")
}

/// Every lookup key of a patient in a clinic.
pub fn lookup_keys(clinic: &ClinicId, patient: &Patient) -> BTreeSet<LookupKey> {
    let id = patient.id.as_str();
    let exact = |pk: String| LookupKey {
        pk,
        sk: id.to_owned(),
    };
    let mut keys = BTreeSet::new();
    if let Some(phn) = &patient.phn {
        keys.insert(exact(phn_key(clinic, phn.as_str())));
    }
    if let Some(phone) = &patient.phone {
        keys.insert(exact(phone_key(clinic, phone.as_e164())));
    }
    if let Some(email) = &patient.email {
        keys.insert(exact(email_key(clinic, email.as_str())));
    }
    let first = fold_name(&patient.first_name);
    let last = fold_name(&patient.last_name);
    let sep = NAME_SEPARATOR;
    keys.insert(LookupKey {
        pk: last_name_key(clinic),
        sk: format!("{last}{sep}{first}{sep}{id}"),
    });
    keys.insert(LookupKey {
        pk: first_name_key(clinic),
        sk: format!("{first}{sep}{last}{sep}{id}"),
    });
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{email::Email, ids::PatientId, phn::Phn, phone::PhoneNumber};

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
    fn a_patient_has_one_key_per_way_to_find_them() {
        let clinic = ClinicId::parse("c1").unwrap();
        let keys = lookup_keys(&clinic, &patient());
        let pks: Vec<_> = keys.iter().map(|k| k.pk.as_str()).collect();
        assert!(pks.contains(&"c1#phn#9698658215"));
        assert!(pks.contains(&"c1#phone#+16045551234"));
        assert!(pks.contains(&"c1#email#zoe@example.com"));
        assert!(keys.contains(&LookupKey {
            pk: "c1#last".into(),
            sk: "smith jones\u{1}zoe\u{1}p1".into()
        }));
        assert!(keys.contains(&LookupKey {
            pk: "c1#first".into(),
            sk: "zoe\u{1}smith jones\u{1}p1".into()
        }));
        assert_eq!(keys.len(), 5);
    }

    #[test]
    fn a_patient_without_phn_phone_or_email_is_found_by_name_only() {
        let clinic = ClinicId::parse("c1").unwrap();
        let mut bare = patient();
        bare.phn = None;
        bare.phone = None;
        bare.email = None;
        let keys = lookup_keys(&clinic, &bare);
        assert_eq!(keys.len(), 2);
        assert!(
            keys.iter()
                .all(|key| key.pk.ends_with("#last") || key.pk.ends_with("#first"))
        );
    }

    #[test]
    fn keys_are_scoped_to_the_clinic() {
        let a = lookup_keys(&ClinicId::parse("a").unwrap(), &patient());
        let b = lookup_keys(&ClinicId::parse("b").unwrap(), &patient());
        assert!(a.is_disjoint(&b));
    }
}
