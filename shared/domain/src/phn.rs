//! Personal Health Number (PHN): the patient's key for search and for unlocking secure messages.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Weights for digits 2–9 of a BC PHN (the mod-11 check used by BC's Medical Services Plan).
const BC_WEIGHTS: [u32; 8] = [2, 4, 8, 5, 10, 9, 7, 3];

/// A validated PHN, stored as its digits only.
///
/// A 10-digit number starting with 9 is a BC PHN and must pass BC's check digit; any other
/// 9–12 digit number is accepted as an out-of-province health number.
///
/// A PHN typed on the unlock page is never compared with a stored one: the unlock checks
/// its keyed hash (`secure_content`), in constant time.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phn(String);

/// The rule a PHN broke. Messages never contain the input: it is personal health information.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PhnError {
    #[error("a PHN is required")]
    Empty,
    #[error("a PHN may contain only digits, spaces and dashes")]
    InvalidCharacter,
    #[error("a PHN has 9 to 12 digits (a BC PHN has 10); this one has {digits}")]
    WrongLength { digits: usize },
    #[error("the last digit of a BC PHN doesn't match its check digit; check for a typo")]
    BcCheckDigit,
}

impl Phn {
    /// Parses a PHN typed by a person: spaces and dashes are ignored, anything else that is
    /// not an ASCII digit is refused.
    pub fn parse(input: &str) -> Result<Phn, PhnError> {
        let digits = digits_of(input)?;
        if looks_like_bc(&digits) && !bc_check_digit_matches(&digits) {
            return Err(PhnError::BcCheckDigit);
        }
        Ok(Phn(digits))
    }

    /// Parses another province's health number as the EMR names it (its identifier system
    /// says which province): 9 to 12 digits, without BC's check digit, which other
    /// provinces' numbers do not follow.
    pub fn parse_other_province(input: &str) -> Result<Phn, PhnError> {
        digits_of(input).map(Phn)
    }

    /// The normalised digits, e.g. `"9698658215"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a BC PHN (10 digits starting with 9, check digit verified).
    pub fn is_bc(&self) -> bool {
        looks_like_bc(&self.0) && bc_check_digit_matches(&self.0)
    }
}

/// The digits of a health number written with spaces or dashes: 9 to 12 of them.
fn digits_of(input: &str) -> Result<String, PhnError> {
    let mut digits = String::with_capacity(input.len().min(16));
    for c in input.chars() {
        match c {
            ' ' | '-' => {}
            '0'..='9' => digits.push(c),
            _ => return Err(PhnError::InvalidCharacter),
        }
    }
    if digits.is_empty() {
        return Err(PhnError::Empty);
    }
    let len = digits.len();
    if !(9..=12).contains(&len) {
        return Err(PhnError::WrongLength { digits: len });
    }
    Ok(digits)
}

fn looks_like_bc(digits: &str) -> bool {
    digits.len() == 10 && digits.starts_with('9')
}

/// `digits` must be 10 ASCII digits.
fn bc_check_digit_matches(digits: &str) -> bool {
    let values: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum: u32 = values[1..9]
        .iter()
        .zip(BC_WEIGHTS)
        .map(|(digit, weight)| digit * weight)
        .sum();
    let check = 11 - sum % 11;
    // 10 and 11 cannot be a single digit: no valid PHN has such a remainder.
    check < 10 && values[9] == check
}

impl fmt::Debug for Phn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Phn(<redacted>)")
    }
}

impl Serialize for Phn {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Reads a stored PHN: its digits, checked when it was written (a BC PHN by its check
/// digit, another province's number by its length), so only their shape is checked again.
impl<'de> Deserialize<'de> for Phn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Phn::parse_other_province(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_bc_phns_are_accepted() {
        for input in ["9698658215", "9890608412"] {
            let phn = Phn::parse(input).expect("valid BC PHN");
            assert_eq!(phn.as_str(), input);
            assert!(phn.is_bc());
        }
    }

    #[test]
    fn bc_phn_with_wrong_check_digit_is_rejected() {
        assert_eq!(Phn::parse("9698648215"), Err(PhnError::BcCheckDigit));
        assert_eq!(Phn::parse("9698658216"), Err(PhnError::BcCheckDigit));
    }

    #[test]
    fn bc_phn_whose_check_value_is_ten_or_eleven_is_rejected_whatever_its_last_digit() {
        // Digits 2–9 of 903000000x weigh 3 × 4 = 12 ≡ 1 (mod 11): check value 10.
        // Digits 2–9 of 900000000x weigh 0: check value 11.
        for first_nine in ["903000000", "900000000"] {
            for last in 0..=9 {
                let candidate = format!("{first_nine}{last}");
                assert_eq!(
                    Phn::parse(&candidate),
                    Err(PhnError::BcCheckDigit),
                    "{candidate}"
                );
            }
        }
    }

    #[test]
    fn spaces_and_dashes_are_stripped() {
        let phn = Phn::parse(" 9698 658-215 ").expect("valid with separators");
        assert_eq!(phn.as_str(), "9698658215");
    }

    #[test]
    fn other_characters_are_rejected() {
        for input in [
            "9698.658.215",
            "9698658215a",
            "96986582l5",
            "９698658215",
            "9698_658215",
        ] {
            assert_eq!(
                Phn::parse(input),
                Err(PhnError::InvalidCharacter),
                "{input}"
            );
        }
    }

    #[test]
    fn empty_or_only_separators_is_empty() {
        assert_eq!(Phn::parse(""), Err(PhnError::Empty));
        assert_eq!(Phn::parse(" - "), Err(PhnError::Empty));
    }

    #[test]
    fn fewer_than_9_or_more_than_12_digits_is_wrong_length() {
        assert_eq!(
            Phn::parse("12345678"),
            Err(PhnError::WrongLength { digits: 8 })
        );
        assert_eq!(
            Phn::parse("1234567890123"),
            Err(PhnError::WrongLength { digits: 13 })
        );
    }

    #[test]
    fn out_of_province_numbers_of_9_to_12_digits_are_accepted() {
        for input in [
            "123456789",
            "1234567890",
            "12345678901",
            "123456789012",
            "912345678",
            "91234567890",
        ] {
            let phn = Phn::parse(input).expect("out-of-province number");
            assert!(!phn.is_bc(), "{input}");
        }
    }

    #[test]
    fn another_provinces_number_is_kept_without_bcs_check_digit() {
        // Ten digits starting with 9 that fail BC's check: an Ontario number may look so.
        let ontario = Phn::parse_other_province("9698648215").expect("9-12 digits");
        assert!(!ontario.is_bc());
        assert_eq!(ontario.as_str(), "9698648215");
        assert_eq!(
            Phn::parse_other_province("12345678"),
            Err(PhnError::WrongLength { digits: 8 })
        );
        let stored: Phn = serde_json::from_str("\"9698648215\"").expect("stored digits");
        assert_eq!(stored, ontario);
    }

    #[test]
    fn separators_are_dropped_so_one_phn_has_one_form() {
        let spaced = Phn::parse("9698 658 215").expect("valid");
        assert_eq!(spaced, Phn::parse("9698658215").expect("valid"));
        assert_eq!(spaced.as_str(), "9698658215");
    }

    #[test]
    fn debug_output_does_not_contain_the_phn() {
        let phn = Phn::parse("9698658215").expect("valid");
        let debug = format!("{phn:?}");
        assert_eq!(debug, "Phn(<redacted>)");
        assert!(!debug.contains("8215"));
    }

    #[test]
    fn error_messages_do_not_contain_the_input() {
        for input in ["9698648215", "9698x658215", "12345", "96986482159999"] {
            let err = Phn::parse(input).expect_err("invalid");
            let message = err.to_string();
            assert!(!message.contains(input), "{message}");
            assert!(!message.contains("969"), "{message}");
        }
    }

    #[test]
    fn serde_uses_the_normalised_string_and_checks_its_shape() {
        let phn = Phn::parse("9698-658-215").expect("valid");
        assert_eq!(
            serde_json::to_string(&phn).expect("serialize"),
            "\"9698658215\""
        );
        let back: Phn = serde_json::from_str("\"9698 658 215\"").expect("deserialize");
        assert_eq!(back, phn);
        // What is stored was checked when written; a stored value of another shape is not
        // a PHN at all.
        for stored in ["\"12345678\"", "\"96986582x5\"", "\"\""] {
            assert!(serde_json::from_str::<Phn>(stored).is_err(), "{stored}");
        }
    }
}
