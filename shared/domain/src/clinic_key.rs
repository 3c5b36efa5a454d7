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
use zeroize::Zeroize;

use crate::{ids::ClinicId, phone::PhoneNumber};

/// An AES-256 data key's size: what KMS generates for a clinic's root key.
pub const ROOT_KEY_BYTES: usize = 32;
/// The encryption context's `purpose`: the root key opens for this use only.
pub const PURPOSE: &str = "patient-keys";
/// Bytes of HMAC-SHA256 kept in a tag: 128 bits, no collision among a clinic's patients.
const TAG_BYTES: usize = 16;
/// Names the derivation and the tag format, so that a new one can live beside it.
const INDEX_LABEL: &[u8] = b"clinic-messages/index/v1";

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
}

impl TagKind {
    fn label(self) -> &'static str {
        match self {
            TagKind::Phn => "phn",
            TagKind::Phone => "phone",
            TagKind::Email => "email",
        }
    }
}

#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum ClinicKeyError {
    #[error("a clinic's root key must be {ROOT_KEY_BYTES} bytes; it was created otherwise")]
    BadLength,
}

/// A clinic's tagging key, derived from its root key. Cloning shares it (no copy of the
/// bytes); the bytes are wiped when the last holder drops it, and never printed.
#[derive(Clone)]
pub struct ClinicKey(Arc<Derived>);

struct Derived {
    clinic: ClinicId,
    index: [u8; 32],
}

impl Drop for Derived {
    fn drop(&mut self) {
        self.index.zeroize();
    }
}

impl ClinicKey {
    /// Derives the clinic's tagging key from its unwrapped root key.
    pub fn from_root(clinic: &ClinicId, root: &[u8]) -> Result<ClinicKey, ClinicKeyError> {
        if root.len() != ROOT_KEY_BYTES {
            return Err(ClinicKeyError::BadLength);
        }
        let mut index = [0u8; 32];
        index.copy_from_slice(&hmac(root, &[INDEX_LABEL]));
        Ok(ClinicKey(Arc::new(Derived {
            clinic: clinic.clone(),
            index,
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
    fn the_context_names_the_clinic_and_the_purpose() {
        let context = encryption_context(&ClinicId::parse("c1").unwrap());
        assert_eq!(context["clinic_id"], "c1");
        assert_eq!(context["purpose"], "patient-keys");
        assert_eq!(context.len(), 2);
    }
}
