//! The two kinds of direct message, basic and secure, and the limits that differ between them.

use std::fmt;
use std::str::FromStr;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::DomainError;

/// A basic message is a single SMS text.
pub const BASIC_MAX_CHARS: usize = 160;
/// A secure message is read on the unlock page, so it may be much longer.
pub const SECURE_MAX_CHARS: usize = 5000;
/// A secure message is gone for good this long after it was sent.
pub const SECURE_LIFETIME: SignedDuration = SignedDuration::from_hours(8 * 24);

/// Basic messages carry their text in the SMS; secure ones carry only an unlock link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Basic,
    Secure,
}

/// A string that names no message kind.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("unknown message kind; expected \"basic\" or \"secure\"")]
pub struct UnknownMessageKind;

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Basic => "basic",
            MessageKind::Secure => "secure",
        }
    }

    /// The most characters (Unicode scalar values) the text may have.
    pub fn max_chars(self) -> usize {
        match self {
            MessageKind::Basic => BASIC_MAX_CHARS,
            MessageKind::Secure => SECURE_MAX_CHARS,
        }
    }

    /// Secure messages are unlocked with the patient's PHN, so one must be on file.
    pub fn needs_phn(self) -> bool {
        matches!(self, MessageKind::Secure)
    }

    /// Only secure messages carry files: they are shown after unlock, never in an SMS.
    pub fn carries_files(self) -> bool {
        matches!(self, MessageKind::Secure)
    }

    /// A basic message's text travels in its SMS; a secure one's only behind its link.
    pub fn text_in_sms(self) -> bool {
        matches!(self, MessageKind::Basic)
    }

    /// Refuses a text longer than this kind holds.
    pub fn check_length(self, text: &str) -> Result<(), DomainError> {
        let chars = text.chars().count();
        if chars <= self.max_chars() {
            return Ok(());
        }
        Err(match self {
            MessageKind::Basic => DomainError::BasicTooLong { chars },
            MessageKind::Secure => DomainError::SecureTooLong { chars },
        })
    }

    /// Whether messages of this kind expire.
    pub fn expires(self) -> bool {
        self.lifetime().is_some()
    }

    /// How long after sending a message of this kind expires; `None` for never.
    pub fn lifetime(self) -> Option<SignedDuration> {
        match self {
            MessageKind::Basic => None,
            MessageKind::Secure => Some(SECURE_LIFETIME),
        }
    }

    /// When a message of this kind sent at `sent_at` expires; `None` for never.
    pub fn expires_at(self, sent_at: Timestamp) -> Option<Timestamp> {
        self.lifetime().map(|lifetime| sent_at + lifetime)
    }
}

/// Whether a message that expires at `expires_at` has expired at `now`: from that instant
/// on. The one decision of expiry, for the unlock page and the dashboard alike; stored
/// items can outlive it (TTL deletes late), so it is made on every read.
pub fn has_expired(expires_at: Timestamp, now: Timestamp) -> bool {
    now >= expires_at
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MessageKind {
    type Err = UnknownMessageKind;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "basic" => Ok(MessageKind::Basic),
            "secure" => Ok(MessageKind::Secure),
            _ => Err(UnknownMessageKind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_message_allows_160_characters_and_secure_5000() {
        assert_eq!(MessageKind::Basic.max_chars(), 160);
        assert_eq!(MessageKind::Secure.max_chars(), 5000);
    }

    #[test]
    fn only_secure_message_needs_a_phn() {
        assert!(MessageKind::Secure.needs_phn());
        assert!(!MessageKind::Basic.needs_phn());
    }

    #[test]
    fn only_secure_message_carries_files() {
        assert!(MessageKind::Secure.carries_files());
        assert!(!MessageKind::Basic.carries_files());
    }

    #[test]
    fn secure_message_expires_after_eight_days_and_basic_never() {
        assert!(MessageKind::Secure.expires());
        assert_eq!(
            MessageKind::Secure.lifetime(),
            Some(SignedDuration::from_secs(8 * 24 * 60 * 60))
        );
        assert!(!MessageKind::Basic.expires());
        assert_eq!(MessageKind::Basic.lifetime(), None);
    }

    #[test]
    fn a_text_longer_than_its_kind_holds_is_refused_with_its_length() {
        assert!(MessageKind::Basic.check_length(&"a".repeat(160)).is_ok());
        assert!(matches!(
            MessageKind::Basic.check_length(&"é".repeat(161)),
            Err(DomainError::BasicTooLong { chars: 161 })
        ));
        assert!(MessageKind::Secure.check_length(&"a".repeat(5000)).is_ok());
        assert!(matches!(
            MessageKind::Secure.check_length(&"a".repeat(5001)),
            Err(DomainError::SecureTooLong { chars: 5001 })
        ));
    }

    #[test]
    fn a_secure_message_expires_at_the_instant_eight_days_after_sending() {
        let sent: Timestamp = "2026-11-25T18:00:00Z".parse().unwrap();
        let expires_at = MessageKind::Secure.expires_at(sent).unwrap();
        assert_eq!(expires_at, "2026-12-03T18:00:00Z".parse().unwrap());
        assert_eq!(MessageKind::Basic.expires_at(sent), None);
        assert!(!has_expired(
            expires_at,
            expires_at - SignedDuration::from_secs(1)
        ));
        assert!(has_expired(expires_at, expires_at));
    }

    #[test]
    fn kinds_serialise_lowercase_and_parse_back() {
        for kind in [MessageKind::Basic, MessageKind::Secure] {
            let json = serde_json::to_string(&kind).expect("serialize");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(
                serde_json::from_str::<MessageKind>(&json).expect("deserialize"),
                kind
            );
            assert_eq!(kind.as_str().parse::<MessageKind>(), Ok(kind));
        }
    }

    #[test]
    fn unknown_message_kind_is_rejected_with_the_allowed_values() {
        for value in ["", "Basic", "SECURE", "sms", "secure "] {
            let err = value.parse::<MessageKind>().expect_err("unknown");
            assert_eq!(
                err.to_string(),
                "unknown message kind; expected \"basic\" or \"secure\""
            );
        }
        assert!(serde_json::from_str::<MessageKind>("\"Secure\"").is_err());
    }
}
