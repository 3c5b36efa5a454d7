//! The opaque pagination cursor: which probe a search had reached and after which entry.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

use crate::error::DomainError;

const MAX_CURSOR_CHARS: usize = 1024;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The search's fingerprint: a cursor only continues the search that made it.
    #[serde(rename = "f")]
    pub fingerprint: String,
    #[serde(rename = "p")]
    pub probe: usize,
    /// Sort key of the last entry listed.
    #[serde(rename = "a")]
    pub after: String,
}

/// `after` may hold PHI in some lists: `Debug` shows the probe only.
impl std::fmt::Debug for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cursor")
            .field("probe", &self.probe)
            .finish_non_exhaustive()
    }
}

fn invalid_cursor(reason: &str) -> DomainError {
    DomainError::InvalidParameter {
        parameter: "cursor",
        reason: reason.to_owned(),
    }
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("a cursor serialises"))
    }

    pub fn decode(text: &str, fingerprint: &str) -> Result<Cursor, DomainError> {
        const NOT_OURS: &str = "is not a cursor from this search; send next_cursor as it was given, or leave it out to start again";
        if text.len() > MAX_CURSOR_CHARS {
            return Err(invalid_cursor(NOT_OURS));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| invalid_cursor(NOT_OURS))?;
        let cursor: Cursor =
            serde_json::from_slice(&bytes).map_err(|_| invalid_cursor(NOT_OURS))?;
        if cursor.fingerprint != fingerprint {
            return Err(invalid_cursor(
                "belongs to another search; leave it out to start this search from the beginning",
            ));
        }
        Ok(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_for_its_own_search_only() {
        let cursor = Cursor {
            fingerprint: "abc".into(),
            probe: 2,
            after: "smith\u{1}ava\u{1}p1".into(),
        };
        assert_eq!(Cursor::decode(&cursor.encode(), "abc").unwrap(), cursor);
        let other = Cursor::decode(&cursor.encode(), "def").unwrap_err();
        assert!(other.to_string().contains("another search"));
    }

    #[test]
    fn garbage_is_an_invalid_cursor() {
        for text in ["", "!!!", "bm90IGpzb24", &"A".repeat(2000)] {
            assert!(matches!(
                Cursor::decode(text, "abc"),
                Err(DomainError::InvalidParameter {
                    parameter: "cursor",
                    ..
                })
            ));
        }
    }
}
