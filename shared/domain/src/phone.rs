//! A patient's phone number, validated and normalised to E.164 so searches and SMS agree on it.

use std::fmt;

use phonenumber::{Mode, country};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Longer input is no phone number; refusing it early keeps the parser's work bounded.
const MAX_INPUT_CHARS: usize = 64;

/// E.164 allows at most 15 digits. The parser's metadata accepts some longer numbers
/// (German ones of 16 digits), which SNS and carriers would refuse when sending.
const MAX_E164_DIGITS: usize = 15;

/// Punctuation people write numbers with. Letters are refused: the parser would read them as
/// vanity digits ("1-800-FLOWERS"), so a name typed into the search box could pass as a number.
const SEPARATORS: &[char] = &[' ', '-', '.', '(', ')', '/', '+'];

/// A valid phone number in E.164 form, e.g. `+16045550199`. Numbers without a country code
/// are read as Canadian (the clinics are in British Columbia).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

/// The rule a phone number broke. Messages never contain the input.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PhoneError {
    #[error("a phone number is required")]
    Empty,
    #[error("this doesn't look like a phone number")]
    NotAPhoneNumber,
    #[error("this isn't a valid phone number; check the area code and the number of digits")]
    Invalid,
}

impl PhoneNumber {
    /// Parses any common way of writing a number ("604-555-0199", "(604) 555 0199",
    /// "+1 604 555 0199", "1.604.555.0199") and keeps it only if it is a valid number.
    /// Only digits, spaces and `+ - . ( ) /` are accepted.
    pub fn parse(input: &str) -> Result<PhoneNumber, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let allowed = |c: char| c.is_ascii_digit() || SEPARATORS.contains(&c);
        if trimmed.chars().count() > MAX_INPUT_CHARS || !trimmed.chars().all(allowed) {
            return Err(PhoneError::NotAPhoneNumber);
        }
        let number = read(trimmed).map_err(|_| PhoneError::NotAPhoneNumber)?;
        if number.extension().is_some() || !phonenumber::is_valid(&number) {
            return Err(PhoneError::Invalid);
        }
        let e164 = e164(&number);
        if e164.len() - 1 > MAX_E164_DIGITS || !reads_back_as_itself(&e164) {
            return Err(PhoneError::Invalid);
        }
        Ok(PhoneNumber(e164))
    }

    /// The number in E.164 form, e.g. `+16045550199`.
    pub fn as_e164(&self) -> &str {
        &self.0
    }

    /// Whether the number is Canadian: the clinics text patients in Canada only.
    pub fn is_canadian(&self) -> bool {
        read(&self.0).is_ok_and(|number| number.country().id() == Some(country::Id::CA))
    }
}

/// Numbers without a country code are Canadian.
fn read(text: &str) -> Result<phonenumber::PhoneNumber, phonenumber::ParseError> {
    phonenumber::parse(Some(country::Id::CA), text)
}

fn e164(number: &phonenumber::PhoneNumber) -> String {
    number.format().mode(Mode::E164).to_string()
}

/// The parser strips digits it takes for a national prefix even after a country code, so a
/// few numbers' E.164 form reads back as another number ("+49 111 684…" gives
/// "+491684…", read back as "+49684…"). Such a number could not be stored and found again
/// as itself, so it is refused.
fn reads_back_as_itself(e164_text: &str) -> bool {
    read(e164_text).is_ok_and(|again| e164(&again) == e164_text)
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneNumber(<redacted>)")
    }
}

impl Serialize for PhoneNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        PhoneNumber::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_formats_normalise_to_the_same_e164() {
        for input in [
            "604-555-1234",
            "(604) 555 1234",
            "+1 604 555 1234",
            "1.604.555.1234",
            "6045551234",
            "+16045551234",
            " 604 555 1234 ",
        ] {
            let phone = PhoneNumber::parse(input).expect(input);
            assert_eq!(phone.as_e164(), "+16045551234", "{input}");
        }
    }

    #[test]
    fn bc_numbers_used_as_test_data_are_valid() {
        for (input, e164) in [
            ("250 555 0123", "+12505550123"),
            ("604 555 0199", "+16045550199"),
            ("778 555 0100", "+17785550100"),
            ("236 555 0142", "+12365550142"),
        ] {
            let phone = PhoneNumber::parse(input).expect(input);
            assert_eq!(phone.as_e164(), e164);
        }
    }

    #[test]
    fn only_canadian_numbers_are_canadian() {
        assert!(PhoneNumber::parse("604 555 0199").unwrap().is_canadian());
        assert!(PhoneNumber::parse("+1 250 555 0100").unwrap().is_canadian());
        // +1 is shared with the US: the area code tells.
        assert!(!PhoneNumber::parse("+1 212 555 0199").unwrap().is_canadian());
        assert!(
            !PhoneNumber::parse("+44 20 7946 0958")
                .unwrap()
                .is_canadian()
        );
    }

    #[test]
    fn numbers_of_other_countries_keep_their_country_code() {
        let phone = PhoneNumber::parse("+44 20 7946 0018").expect("UK number");
        assert_eq!(phone.as_e164(), "+442079460018");
    }

    #[test]
    fn empty_input_is_rejected_as_empty() {
        assert_eq!(PhoneNumber::parse(""), Err(PhoneError::Empty));
        assert_eq!(PhoneNumber::parse("   "), Err(PhoneError::Empty));
    }

    #[test]
    fn text_with_letters_or_other_symbols_is_not_a_phone_number() {
        let too_long = "1".repeat(65);
        for input in [
            "hello",
            "hello604",
            "1-800-FLOWERS",
            "604-555-1234 ext. 12",
            "604#5551234",
            "@",
            &too_long,
        ] {
            assert_eq!(
                PhoneNumber::parse(input),
                Err(PhoneError::NotAPhoneNumber),
                "{input}"
            );
        }
    }

    #[test]
    fn numbers_with_impossible_area_codes_or_lengths_are_invalid() {
        // 555 is no area code; 123 and 011 are no exchanges.
        for input in [
            "123-456-7890",
            "604-555-012",
            "555-0199",
            "+1 604 555 01999",
            "+1 555 555 0199",
            "604 123 4567",
            "604 011 1234",
        ] {
            assert_eq!(
                PhoneNumber::parse(input),
                Err(PhoneError::Invalid),
                "{input}"
            );
        }
    }

    #[test]
    fn numbers_longer_than_e164_allows_are_invalid() {
        // Valid by the parser's German metadata, but 16 digits (found by fuzzing).
        assert_eq!(
            PhoneNumber::parse("+4983660 07918 0036"),
            Err(PhoneError::Invalid)
        );
        assert_eq!(
            PhoneNumber::parse("+49 8366 0079180").map(|p| p.as_e164().len()),
            Ok(14)
        );
    }

    #[test]
    fn numbers_whose_e164_form_reads_back_as_another_number_are_invalid() {
        // Found by fuzzing: parsed as +491684764168080, which parses as +49684764168080.
        assert_eq!(
            PhoneNumber::parse("+4 9111684764168080"),
            Err(PhoneError::Invalid)
        );
    }

    #[test]
    fn debug_output_does_not_contain_the_number() {
        let phone = PhoneNumber::parse("604-555-1234").expect("valid");
        let debug = format!("{phone:?}");
        assert_eq!(debug, "PhoneNumber(<redacted>)");
        assert!(!debug.contains("604"));
        assert!(!debug.contains("1234"));
    }

    #[test]
    fn error_messages_do_not_contain_the_input() {
        for input in ["123-456-7890", "hello604", "604 011 1234", ""] {
            let err = PhoneNumber::parse(input).expect_err("invalid");
            let message = err.to_string();
            assert!(input.is_empty() || !message.contains(input), "{message}");
            assert!(
                !message.contains("604") && !message.contains("123"),
                "{message}"
            );
        }
    }

    #[test]
    fn serde_uses_e164_and_validates() {
        let phone = PhoneNumber::parse("(604) 555 1234").expect("valid");
        assert_eq!(
            serde_json::to_string(&phone).expect("serialize"),
            "\"+16045551234\""
        );
        let back: PhoneNumber = serde_json::from_str("\"604-555-1234\"").expect("deserialize");
        assert_eq!(back, phone);
        assert!(serde_json::from_str::<PhoneNumber>("\"123-456-7890\"").is_err());
    }
}
