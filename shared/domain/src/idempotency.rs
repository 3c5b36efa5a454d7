//! Idempotency keys: the same key and request within a day do a thing once.

use jiff::SignedDuration;

use crate::error::DomainError;

/// How long a key holds its request's answer; an older key reads as unused (DynamoDB's TTL
/// deletes it late, so the store checks the time itself).
pub const IDEMPOTENCY_WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// Longest `Idempotency-Key` accepted (a UUID is 36).
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;
/// The `Idempotency-Key` header: the same key and request within [`IDEMPOTENCY_WINDOW`] send once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(header: Option<&str>) -> Result<IdempotencyKey, DomainError> {
        let invalid = |reason: &str| DomainError::InvalidParameter {
            parameter: "Idempotency-Key",
            reason: reason.to_owned(),
        };
        let key = header.map(str::trim).unwrap_or_default();
        if key.is_empty() {
            return Err(invalid(
                "this header is required: send a new random value (e.g. a UUID) per message, and the same value when retrying it",
            ));
        }
        if key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS {
            return Err(invalid("is longer than 128 characters: use a UUID"));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(
                "may hold only visible ASCII characters: use a UUID",
            ));
        }
        Ok(IdempotencyKey(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key within a scope (a send's scope is its clinic), as the store keeps it: two
    /// clinics may use the same key.
    pub fn scoped(&self, scope: &str) -> ScopedIdempotencyKey {
        ScopedIdempotencyKey(format!("{scope}#{}", self.0))
    }
}

/// An idempotency key within its scope.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ScopedIdempotencyKey(String);

impl ScopedIdempotencyKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key as a store kept it: scoped when its request claimed it.
    pub fn from_stored(key: String) -> ScopedIdempotencyKey {
        ScopedIdempotencyKey(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_required_bounded_and_visible_ascii() {
        assert!(IdempotencyKey::parse(Some("7b0e4d1c-2f0a-4c55-9d8e-1a2b3c4d5e6f")).is_ok());
        for bad in [None, Some(""), Some("  "), Some("a b"), Some("clé")] {
            let error = IdempotencyKey::parse(bad).unwrap_err();
            assert_eq!(error.status(), 400, "{bad:?}");
        }
        let long = "k".repeat(129);
        assert!(
            IdempotencyKey::parse(Some(&long))
                .unwrap_err()
                .to_string()
                .contains("128")
        );
    }

    #[test]
    fn the_same_key_in_two_scopes_is_two_keys() {
        let key = IdempotencyKey::parse(Some("k-1")).unwrap();
        assert_ne!(key.scoped("send#c1"), key.scoped("send#c2"));
        assert_eq!(key.scoped("send#c1").as_str(), "send#c1#k-1");
    }
}
