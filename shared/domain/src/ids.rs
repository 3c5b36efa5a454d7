//! Identifiers of the domain's records, one type per kind so that ids cannot be mixed up.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// The longest id accepted.
pub const MAX_ID_CHARS: usize = 64;

/// Which kind of id was refused, so the error can name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    Clinic,
    Patient,
    Appointment,
    Message,
    Template,
    Chat,
    Attachment,
    StaffUser,
    IntegrationClient,
    Import,
}

impl IdKind {
    /// The kind as it reads in a message, e.g. "appointment id".
    pub fn as_str(self) -> &'static str {
        match self {
            IdKind::Clinic => "clinic id",
            IdKind::Patient => "patient id",
            IdKind::Appointment => "appointment id",
            IdKind::Message => "message id",
            IdKind::Template => "template id",
            IdKind::Chat => "chat id",
            IdKind::Attachment => "attachment id",
            IdKind::StaffUser => "staff user id",
            IdKind::IntegrationClient => "integration client id",
            IdKind::Import => "import id",
        }
    }
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl IdKind {
    /// Patients and appointments are named by the clinic's EMR, whose FHIR ids may hold
    /// `.`; our own ids never do.
    fn takes_dots(self) -> bool {
        matches!(self, IdKind::Patient | IdKind::Appointment)
    }

    fn allowed_characters(self) -> &'static str {
        if self.takes_dots() {
            "letters, digits, '-', '_' or '.' (not first)"
        } else {
            "letters, digits, '-' or '_'"
        }
    }
}

/// An id broke the rule of its kind: 1–64 ASCII letters, digits, `-` or `_`; patient and
/// appointment ids may also hold `.` after the first character (every FHIR id but those
/// starting with a dot fits, and no id reads as `.` or `..` in a path).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("{} must be 1–64 {}", .kind, .kind.allowed_characters())]
pub struct IdError {
    pub kind: IdKind,
}

fn is_valid_id(kind: IdKind, value: &str) -> bool {
    let allowed = |(at, b): (usize, u8)| {
        b.is_ascii_alphanumeric()
            || b == b'-'
            || b == b'_'
            || (b == b'.' && at > 0 && kind.takes_dots())
    };
    (1..=MAX_ID_CHARS).contains(&value.len()) && value.bytes().enumerate().all(allowed)
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The kind of id, as named in errors.
            pub const KIND: IdKind = $kind;

            /// Accepts 1–64 ASCII letters, digits, `-` or `_` (and `.` for the EMR's ids).
            pub fn parse(value: &str) -> Result<Self, IdError> {
                if is_valid_id(Self::KIND, value) {
                    Ok(Self(value.to_owned()))
                } else {
                    Err(IdError { kind: Self::KIND })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// A clinic: the tenant every other record belongs to.
    ClinicId,
    IdKind::Clinic
);
id_type!(PatientId, IdKind::Patient);
id_type!(AppointmentId, IdKind::Appointment);
id_type!(MessageId, IdKind::Message);
id_type!(TemplateId, IdKind::Template);
id_type!(ChatId, IdKind::Chat);
id_type!(AttachmentId, IdKind::Attachment);
id_type!(StaffUserId, IdKind::StaffUser);
id_type!(
    /// The machine client (Cognito app client) of a clinic's EMR integration.
    IntegrationClientId,
    IdKind::IntegrationClient
);
id_type!(
    /// One bulk import of NDJSON records from the clinic's EMR.
    ImportId,
    IdKind::Import
);

/// A UUID (version 4 layout) from injected random bytes, so tests can fix the randomness.
fn uuid_from_random(bytes: [u8; 16]) -> String {
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

impl MessageId {
    /// A new message id, formatted as a UUID, from 16 random bytes.
    pub fn from_random(bytes: [u8; 16]) -> MessageId {
        MessageId(uuid_from_random(bytes))
    }
}

impl ImportId {
    /// A new import id, formatted as a UUID, from 16 random bytes.
    pub fn from_random(bytes: [u8; 16]) -> ImportId {
        ImportId(uuid_from_random(bytes))
    }
}

impl AttachmentId {
    /// A new attachment id, formatted as a UUID, from 16 random bytes.
    pub fn from_random(bytes: [u8; 16]) -> AttachmentId {
        AttachmentId(uuid_from_random(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_letters_digits_dashes_and_underscores_are_accepted() {
        for value in ["a", "clinic-42", "APPT_2024_0001", &"x".repeat(64)] {
            let id = AppointmentId::parse(value).expect(value);
            assert_eq!(id.as_str(), value);
            assert_eq!(id.to_string(), value);
        }
    }

    #[test]
    fn empty_id_is_rejected() {
        assert_eq!(
            ClinicId::parse(""),
            Err(IdError {
                kind: IdKind::Clinic
            })
        );
    }

    #[test]
    fn id_longer_than_64_characters_is_rejected() {
        assert!(PatientId::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn id_with_other_characters_is_rejected() {
        for value in ["a b", "a/b", "a.b", "é", "a\n", "#1", "clinic:1"] {
            assert!(TemplateId::parse(value).is_err(), "{value:?}");
        }
    }

    #[test]
    fn the_emrs_patient_and_appointment_ids_may_hold_dots_but_not_first() {
        for value in ["emr.1234", "a.b.c", "x."] {
            assert!(PatientId::parse(value).is_ok(), "{value:?}");
            assert!(AppointmentId::parse(value).is_ok(), "{value:?}");
            assert!(ClinicId::parse(value).is_err(), "{value:?}");
        }
        for value in [".", "..", ".hidden"] {
            assert!(PatientId::parse(value).is_err(), "{value:?}");
        }
        assert_eq!(
            PatientId::parse("..").unwrap_err().to_string(),
            "patient id must be 1–64 letters, digits, '-', '_' or '.' (not first)"
        );
        assert_eq!(
            ChatId::parse("a.b").unwrap_err().to_string(),
            "chat id must be 1–64 letters, digits, '-' or '_'"
        );
    }

    #[test]
    fn id_error_names_the_kind_of_id() {
        let err = AppointmentId::parse("bad id").expect_err("invalid");
        assert_eq!(
            err.to_string(),
            "appointment id must be 1–64 letters, digits, '-', '_' or '.' (not first)"
        );
        let err = StaffUserId::parse("").expect_err("invalid");
        assert!(err.to_string().starts_with("staff user id "));
    }

    #[test]
    fn message_id_from_random_is_a_valid_uuid_of_those_bytes() {
        let id = MessageId::from_random([0xab; 16]);
        assert_eq!(id.as_str(), "abababab-abab-4bab-abab-abababababab");
        assert_eq!(MessageId::parse(id.as_str()), Ok(id));
    }

    #[test]
    fn different_random_bytes_give_different_attachment_ids() {
        let a = AttachmentId::from_random([1; 16]);
        let b = AttachmentId::from_random([2; 16]);
        assert_ne!(a, b);
        assert!(AttachmentId::parse(a.as_str()).is_ok());
    }

    #[test]
    fn serde_is_the_plain_string_and_validates() {
        let id = ChatId::parse("chat-1").expect("valid");
        assert_eq!(serde_json::to_string(&id).expect("serialize"), "\"chat-1\"");
        let back: ChatId = serde_json::from_str("\"chat-1\"").expect("deserialize");
        assert_eq!(back, id);
        let err = serde_json::from_str::<ChatId>("\"chat 1\"").expect_err("invalid");
        assert!(err.to_string().contains("chat id must be"));
    }

    #[test]
    fn from_str_validates_like_parse() {
        assert!("msg-1".parse::<MessageId>().is_ok());
        assert!("msg 1".parse::<MessageId>().is_err());
    }
}
