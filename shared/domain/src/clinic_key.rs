//! A clinic's own secret for finding patients by a value without storing the value: a keyed
//! hash (a tag) of a PHN, phone number or email stands where the value would in a DynamoDB
//! key, where CloudTrail data events, exports and console views show keys in clear text.
//!
//! Each clinic has a 32-byte root key, kept only wrapped by KMS (under
//! [`encryption_context`]); the key tags are made with is derived from it, so the root itself
//! never keys a hash. A tag is the same for the same value within one clinic and tells
//! nothing across clinics.

use std::{collections::BTreeMap, fmt, sync::Arc};

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

use crate::{envelope, ids::ClinicId, phone::PhoneNumber};

/// An AES-256 data key's size: what KMS generates for a clinic's root key.
pub const ROOT_KEY_BYTES: usize = 32;
/// The encryption context's `purpose`: the root key opens for this use only.
pub const PURPOSE: &str = "patient-keys";
/// Bytes of HMAC-SHA256 kept in a tag: 128 bits, no collision among a clinic's patients.
const TAG_BYTES: usize = 16;
/// Name the derivations and the formats, so that a new one can live beside each.
const INDEX_LABEL: &[u8] = b"clinic-messages/index/v1";
const SEAL_LABEL: &[u8] = b"clinic-messages/seal/v1";
const SEAL_NONCE_LABEL: &[u8] = b"clinic-messages/seal-nonce/v1";

/// What KMS binds a clinic's wrapped root key to: the clinic, and this purpose.
pub fn encryption_context(clinic: &ClinicId) -> BTreeMap<String, String> {
    [
        ("clinic_id".to_owned(), clinic.to_string()),
        ("purpose".to_owned(), PURPOSE.to_owned()),
    ]
    .into()
}

/// What a tag stands for: the same value of two kinds gets two unrelated tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    Phn,
    Phone,
    Email,
    /// A folded first-name prefix.
    FirstName,
    /// A folded last-name prefix.
    LastName,
    /// A search, so that a cursor only continues its own.
    Search,
}

impl TagKind {
    fn label(self) -> &'static str {
        match self {
            TagKind::Phn => "phn",
            TagKind::Phone => "phone",
            TagKind::Email => "email",
            TagKind::FirstName => "first",
            TagKind::LastName => "last",
            TagKind::Search => "search",
        }
    }
}

#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum ClinicKeyError {
    #[error("a clinic's root key must be {ROOT_KEY_BYTES} bytes; it was created otherwise")]
    BadLength,
    #[error(
        "sealed data failed its integrity check: it was altered, moved from where it was \
         stored, or is being opened with another clinic's key"
    )]
    NotOpened,
}

/// A clinic's tagging key, derived from its root key. Cloning shares it (no copy of the
/// bytes); the bytes are wiped when the last holder drops it, and never printed.
#[derive(Clone)]
pub struct ClinicKey(Arc<Derived>);

struct Derived {
    clinic: ClinicId,
    index: [u8; 32],
    seal: [u8; 32],
    seal_nonce: [u8; 32],
}

impl Drop for Derived {
    fn drop(&mut self) {
        self.index.zeroize();
        self.seal.zeroize();
        self.seal_nonce.zeroize();
    }
}

impl ClinicKey {
    /// Derives the clinic's tagging key from its unwrapped root key.
    pub fn from_root(clinic: &ClinicId, root: &[u8]) -> Result<ClinicKey, ClinicKeyError> {
        if root.len() != ROOT_KEY_BYTES {
            return Err(ClinicKeyError::BadLength);
        }
        // Sealing keys name their clinic too: what one clinic sealed never opens for another.
        let id = clinic.as_str().as_bytes();
        Ok(ClinicKey(Arc::new(Derived {
            clinic: clinic.clone(),
            index: hmac(root, &[INDEX_LABEL]),
            seal: hmac(root, &[SEAL_LABEL, b"\0", id]),
            seal_nonce: hmac(root, &[SEAL_NONCE_LABEL, b"\0", id]),
        })))
    }

    pub fn clinic(&self) -> &ClinicId {
        &self.0.clinic
    }

    /// The tag of `value` as a `kind`, in base64url without padding (22 characters). The
    /// value is used as given: callers pass it normalised (a PHN's digits, an E.164 number,
    /// a lower-cased email).
    pub fn tag(&self, kind: TagKind, value: &str) -> String {
        let clinic = self.0.clinic.as_str().as_bytes();
        let mac = hmac(
            &self.0.index,
            &[
                kind.label().as_bytes(),
                b"\0",
                clinic,
                b"\0",
                value.as_bytes(),
            ],
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&mac[..TAG_BYTES])
    }
}

/// A patient's phone number as the clinic's keys hold it (recipient index, opt-outs,
/// auto-replies): its tag, never the number.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NumberTag(String);

impl NumberTag {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NumberTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NumberTag(..)")
    }
}

impl ClinicKey {
    /// The tag of a patient's phone number (E.164).
    pub fn number_tag(&self, number: &PhoneNumber) -> NumberTag {
        NumberTag(self.tag(TagKind::Phone, number.as_e164()))
    }
}

impl ClinicKey {
    /// Encrypts `plaintext` (AES-256-GCM) under the clinic's sealing key, bound to `aad`
    /// (where it is stored). The nonce is a keyed hash of `aad` and `plaintext`
    /// (synthetic, as in SIV): no randomness to pass in, and a nonce seals one plaintext
    /// only; the same plaintext at the same place seals to the same bytes.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let length = (aad.len() as u64).to_be_bytes();
        let digest = hmac(&self.0.seal_nonce, &[&length, aad, plaintext]);
        let mut nonce = [0u8; envelope::NONCE_BYTES];
        nonce.copy_from_slice(&digest[..envelope::NONCE_BYTES]);
        let sealed = envelope::seal_with_nonce(&self.0.seal, nonce, plaintext, aad)
            .expect("a 32-byte key seals what fits in memory");
        let mut bytes = sealed.nonce;
        bytes.extend_from_slice(&sealed.ciphertext);
        bytes
    }

    /// Decrypts what [`ClinicKey::seal`] sealed with this key and `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, ClinicKeyError> {
        if sealed.len() < envelope::NONCE_BYTES {
            return Err(ClinicKeyError::NotOpened);
        }
        let (nonce, ciphertext) = sealed.split_at(envelope::NONCE_BYTES);
        let content = envelope::SealedContent {
            nonce: nonce.to_vec(),
            ciphertext: ciphertext.to_vec(),
        };
        envelope::open(&self.0.seal, &content, aad)
            .map(Zeroizing::new)
            .map_err(|_| ClinicKeyError::NotOpened)
    }
}

impl fmt::Debug for ClinicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClinicKey({})", self.0.clinic)
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(clinic: &str, root: u8) -> ClinicKey {
        ClinicKey::from_root(&ClinicId::parse(clinic).unwrap(), &[root; 32]).unwrap()
    }

    #[test]
    fn a_tag_is_the_same_for_the_same_value_and_clinic_and_hides_the_value() {
        let a = key("c1", 1);
        let tag = a.tag(TagKind::Phn, "9698658215");
        assert_eq!(tag, key("c1", 1).tag(TagKind::Phn, "9698658215"));
        assert_eq!(tag.len(), 22);
        assert!(!tag.contains("9698") && !tag.contains("8215"));
        assert!(
            tag.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[test]
    fn tags_differ_by_value_kind_clinic_and_key() {
        let tag = key("c1", 1).tag(TagKind::Phone, "+16045550123");
        for other in [
            key("c1", 1).tag(TagKind::Phone, "+16045550124"),
            key("c1", 1).tag(TagKind::Email, "+16045550123"),
            key("c2", 1).tag(TagKind::Phone, "+16045550123"),
            key("c1", 2).tag(TagKind::Phone, "+16045550123"),
        ] {
            assert_ne!(tag, other);
        }
    }

    #[test]
    fn a_root_key_of_another_size_is_refused_and_a_key_prints_its_clinic_only() {
        let clinic = ClinicId::parse("c1").unwrap();
        for size in [0, 16, 31, 33] {
            assert_eq!(
                ClinicKey::from_root(&clinic, &vec![7; size]).err(),
                Some(ClinicKeyError::BadLength)
            );
        }
        assert_eq!(format!("{:?}", key("c1", 7)), "ClinicKey(c1)");
    }

    #[test]
    fn sealed_bytes_open_with_the_same_key_and_place_only() {
        let a = key("c1", 1);
        let sealed = a.seal(b"c1#phn#x/p1", b"Sentinel patient copy");
        assert_eq!(
            a.open(b"c1#phn#x/p1", &sealed).unwrap().as_slice(),
            b"Sentinel patient copy"
        );
        assert!(!String::from_utf8_lossy(&sealed).contains("Sentinel"));
        for (key, aad) in [
            (key("c1", 2), &b"c1#phn#x/p1"[..]),
            (key("c2", 1), b"c1#phn#x/p1"),
            (key("c1", 1), b"c1#phn#x/p2"),
        ] {
            assert_eq!(
                key.open(aad, &sealed).err(),
                Some(ClinicKeyError::NotOpened)
            );
        }
        let mut altered = sealed.clone();
        altered[20] ^= 1;
        assert!(a.open(b"c1#phn#x/p1", &altered).is_err());
        assert!(a.open(b"c1#phn#x/p1", &sealed[..5]).is_err());
    }

    #[test]
    fn a_nonce_seals_one_plaintext_at_one_place() {
        let a = key("c1", 1);
        let nonce = |aad: &[u8], text: &[u8]| a.seal(aad, text)[..12].to_vec();
        assert_eq!(nonce(b"here", b"same"), nonce(b"here", b"same"));
        assert_ne!(nonce(b"here", b"same"), nonce(b"here", b"other"));
        assert_ne!(nonce(b"here", b"same"), nonce(b"there", b"same"));
        // The aad's length is hashed first: moving bytes between aad and text changes it.
        assert_ne!(nonce(b"ab", b"c"), nonce(b"a", b"bc"));
    }

    #[test]
    fn the_context_names_the_clinic_and_the_purpose() {
        let context = encryption_context(&ClinicId::parse("c1").unwrap());
        assert_eq!(context["clinic_id"], "c1");
        assert_eq!(context["purpose"], "patient-keys");
        assert_eq!(context.len(), 2);
    }
}
