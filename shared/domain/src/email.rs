//! A patient's email address, trimmed and lower-cased so that search is case-insensitive.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// The longest address SMTP can carry (RFC 5321 path limit less the angle brackets).
pub const MAX_EMAIL_CHARS: usize = 254;

/// A plausibly valid email address, trimmed and lower-cased.
///
/// The check is deliberately basic: the only real test of an address is sending to it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// The rule an email address broke. Messages never contain the input.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EmailError {
    #[error("an email address is required")]
    Empty,
    #[error("an email address has at most {MAX_EMAIL_CHARS} characters; this one has {chars}")]
    TooLong { chars: usize },
    #[error("an email address can't contain spaces or control characters")]
    Whitespace,
    #[error("an email address has exactly one '@'")]
    AtSign,
    #[error("an email address needs a name before the '@'")]
    EmptyLocalPart,
    #[error("an email address needs a domain with a dot after the '@', like example.com")]
    InvalidDomain,
}

impl Email {
    /// Trims, lower-cases and checks an address.
    pub fn parse(input: &str) -> Result<Email, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        let chars = trimmed.chars().count();
        if chars > MAX_EMAIL_CHARS {
            return Err(EmailError::TooLong { chars });
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::Whitespace);
        }
        let normalised = trimmed.to_lowercase();
        let (local, domain) = match normalised.split_once('@') {
            Some((local, domain)) if !domain.contains('@') => (local, domain),
            _ => return Err(EmailError::AtSign),
        };
        if local.is_empty() {
            return Err(EmailError::EmptyLocalPart);
        }
        // "example.com" but not "example", ".com", "example." or "example..com".
        let labels_ok = domain.split('.').all(|label| !label.is_empty());
        if !domain.contains('.') || !labels_ok {
            return Err(EmailError::InvalidDomain);
        }
        Ok(Email(normalised))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Email::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        let email = Email::parse("  Jane.Doe@Example.CA ").expect("valid");
        assert_eq!(email.as_str(), "jane.doe@example.ca");
    }

    #[test]
    fn emails_differing_only_in_case_are_equal() {
        assert_eq!(
            Email::parse("JANE@EXAMPLE.COM").expect("valid"),
            Email::parse("jane@example.com").expect("valid")
        );
    }

    #[test]
    fn empty_email_is_rejected() {
        assert_eq!(Email::parse(""), Err(EmailError::Empty));
        assert_eq!(Email::parse("  \t "), Err(EmailError::Empty));
    }

    #[test]
    fn email_longer_than_254_characters_is_rejected() {
        let long = format!("{}@example.com", "a".repeat(243));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong { chars: 255 }));
        let just_fits = format!("{}@example.com", "a".repeat(242));
        assert!(Email::parse(&just_fits).is_ok());
    }

    #[test]
    fn email_with_inner_whitespace_is_rejected() {
        assert_eq!(
            Email::parse("jane doe@example.com"),
            Err(EmailError::Whitespace)
        );
        assert_eq!(
            Email::parse("jane@exa\nmple.com"),
            Err(EmailError::Whitespace)
        );
    }

    #[test]
    fn email_needs_exactly_one_at_sign() {
        assert_eq!(Email::parse("jane.example.com"), Err(EmailError::AtSign));
        assert_eq!(
            Email::parse("jane@doe@example.com"),
            Err(EmailError::AtSign)
        );
    }

    #[test]
    fn email_needs_a_local_part() {
        assert_eq!(
            Email::parse("@example.com"),
            Err(EmailError::EmptyLocalPart)
        );
    }

    #[test]
    fn email_domain_needs_a_dot_between_non_empty_labels() {
        for input in [
            "jane@",
            "jane@localhost",
            "jane@.com",
            "jane@example.",
            "jane@example..com",
        ] {
            assert_eq!(
                Email::parse(input),
                Err(EmailError::InvalidDomain),
                "{input}"
            );
        }
    }

    #[test]
    fn debug_output_does_not_contain_the_email() {
        let email = Email::parse("jane@example.com").expect("valid");
        let debug = format!("{email:?}");
        assert_eq!(debug, "Email(<redacted>)");
        assert!(!debug.contains("jane"));
    }

    #[test]
    fn error_messages_do_not_contain_the_input() {
        for input in [
            "jane doe@example.com",
            "jane@doe@example.com",
            "@secret.com",
            "jane@secret",
        ] {
            let message = Email::parse(input).expect_err("invalid").to_string();
            assert!(!message.contains(input), "{message}");
            assert!(
                !message.contains("jane") && !message.contains("secret"),
                "{message}"
            );
        }
    }

    #[test]
    fn serde_uses_the_normalised_string_and_validates() {
        let email = Email::parse("Jane@Example.com").expect("valid");
        assert_eq!(
            serde_json::to_string(&email).expect("serialize"),
            "\"jane@example.com\""
        );
        let back: Email = serde_json::from_str("\" JANE@example.com\"").expect("deserialize");
        assert_eq!(back, email);
        assert!(serde_json::from_str::<Email>("\"not-an-email\"").is_err());
    }
}
