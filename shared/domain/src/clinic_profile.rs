//! The values a clinic's administrators write: its name and time zone, the texts sent back
//! to patients automatically, and the names and links of its templates and chats.

use jiff::tz::TimeZone;

use crate::{
    error::DomainError,
    sms_encoding::{SmsEncoding, UCS2_SINGLE_UNITS, measure},
};

/// A clinic's, template's or chat's name: at most this many characters.
pub const MAX_NAME_CHARS: usize = 80;
/// A chat's link: at most this many characters.
pub const MAX_LINK_CHARS: usize = 2000;

fn invalid(field: &'static str, reason: impl Into<String>) -> DomainError {
    DomainError::InvalidField {
        field,
        reason: reason.into(),
    }
}

/// A display name (of a clinic, template or chat): 1–80 characters, no control characters,
/// surrounding spaces trimmed.
pub fn display_name(field: &'static str, text: &str) -> Result<String, DomainError> {
    let name = text.trim();
    if name.is_empty() {
        return Err(invalid(field, "is empty: give it a name"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(
            field,
            format!("is longer than {MAX_NAME_CHARS} characters: shorten it"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(
            field,
            "holds a control character (a tab or line break): write it on one line",
        ));
    }
    Ok(name.to_owned())
}

/// How two names compare for uniqueness: case, accents aside, and runs of spaces ignored,
/// so "Flu clinic" and "flu  Clinic" are one name.
pub fn name_key(name: &str) -> String {
    name.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// An IANA time zone name the time zone database knows (`America/Vancouver`).
pub fn time_zone(text: &str) -> Result<String, DomainError> {
    let name = text.trim();
    if name.is_empty() || name.len() > 64 || TimeZone::get(name).is_err() {
        return Err(invalid(
            "time_zone",
            "is not an IANA time zone name: write one such as America/Vancouver or America/Toronto",
        ));
    }
    Ok(name.to_owned())
}

/// A text the system sends back by itself (the unclear and HELP responses): one SMS
/// segment, so an auto-reply never costs more than one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoReplyText {
    pub text: String,
    /// It names no phone number: patients who cannot reply should be told whom to call.
    pub names_no_phone: bool,
}

impl AutoReplyText {
    /// A response a form may leave out: checked when given.
    pub fn parse_given(
        field: &'static str,
        text: Option<&str>,
    ) -> Result<Option<AutoReplyText>, DomainError> {
        text.map(|text| AutoReplyText::parse(field, text))
            .transpose()
    }

    pub fn parse(field: &'static str, text: &str) -> Result<AutoReplyText, DomainError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(invalid(
                field,
                "is empty: write what a patient should read, e.g. that this number takes no replies and which number to call",
            ));
        }
        let sms = measure(text);
        if sms.segments > 1 {
            let max = match sms.encoding {
                SmsEncoding::Gsm7 => "160 GSM-7 characters".to_owned(),
                SmsEncoding::Ucs2 => format!(
                    "{UCS2_SINGLE_UNITS} characters when it holds a character outside GSM-7 (such as an accent other than é, è, à, ù, ì, ò or Ç, or a curly quote)"
                ),
            };
            return Err(invalid(
                field,
                format!(
                    "must fit one SMS, at most {max}; it needs {} SMS: shorten it",
                    sms.segments
                ),
            ));
        }
        Ok(AutoReplyText {
            text: text.to_owned(),
            names_no_phone: !names_a_phone_number(text),
        })
    }
}

/// Whether `text` holds something dialable: a run of digits, spaces, dots, dashes,
/// parentheses and `+` with at least 7 digits (`250-555-0201`, `(604) 555 0100`, `555-0201`).
fn names_a_phone_number(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_digit() || " .-()+".contains(c)))
        .any(|run| run.chars().filter(char::is_ascii_digit).count() >= 7)
}

/// A chat's link: an absolute `https` URL with a host, no spaces, at most 2,000 characters.
pub fn chat_link(text: &str) -> Result<String, DomainError> {
    let link = text.trim();
    let refused = || {
        invalid(
            "link",
            "must be an https:// link to the chat (http:, javascript: and other schemes are refused)",
        )
    };
    let rest = link
        .get(..8)
        .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
        .map(|_| &link[8..])
        .ok_or_else(refused)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_ok = !host.is_empty()
        && !host.contains('@')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    if !host_ok || link.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refused());
    }
    if link.chars().count() > MAX_LINK_CHARS {
        return Err(invalid(
            "link",
            format!("is longer than {MAX_LINK_CHARS} characters: use a shorter link"),
        ));
    }
    Ok(link.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(result: Result<impl std::fmt::Debug, DomainError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn names_are_trimmed_and_refused_when_empty_too_long_or_on_two_lines() {
        assert_eq!(display_name("name", "  Flu clinic ").unwrap(), "Flu clinic");
        assert!(refusal(display_name("name", "  ")).contains("is empty"));
        assert!(refusal(display_name("name", &"x".repeat(81))).contains("80"));
        assert!(display_name("name", &"é".repeat(80)).is_ok());
        assert!(refusal(display_name("name", "a\nb")).contains("one line"));
    }

    #[test]
    fn names_alike_but_for_case_and_spaces_are_one_name() {
        assert_eq!(name_key("Flu  Clinic"), name_key(" flu clinic"));
        assert_ne!(name_key("Flu clinic"), name_key("Flu clinics"));
    }

    #[test]
    fn only_time_zones_the_database_knows_are_accepted() {
        assert_eq!(
            time_zone(" America/Vancouver ").unwrap(),
            "America/Vancouver"
        );
        assert!(time_zone("America/Toronto").is_ok());
        for bad in ["Mars/Base", "", "PST8PDT/x", "america/vancouver/"] {
            assert!(refusal(time_zone(bad)).contains("IANA"), "{bad}");
        }
    }

    #[test]
    fn an_auto_reply_fits_one_segment_in_its_encoding() {
        assert!(AutoReplyText::parse("unclear_response", &"a".repeat(160)).is_ok());
        let gsm = refusal(AutoReplyText::parse("unclear_response", &"a".repeat(161)));
        assert!(gsm.contains("160 GSM-7") && gsm.contains("2 SMS"), "{gsm}");
        // One UCS-2 character makes the limit 70.
        assert!(AutoReplyText::parse("help_response", &format!("ç{}", "a".repeat(69))).is_ok());
        let ucs2 = refusal(AutoReplyText::parse(
            "help_response",
            &format!("ç{}", "a".repeat(70)),
        ));
        assert!(
            ucs2.starts_with("help_response") && ucs2.contains("70"),
            "{ucs2}"
        );
        assert!(refusal(AutoReplyText::parse("unclear_response", " ")).contains("is empty"));
    }

    #[test]
    fn an_auto_reply_without_a_phone_number_is_flagged() {
        for (text, flagged) in [
            ("Please call us at 250-555-0201.", false),
            ("Call (604) 555 0100 instead.", false),
            ("Call 555-0201.", false),
            (
                "This number takes no replies. Please call the clinic.",
                true,
            ),
            ("Open 9 to 5, room 12.", true),
        ] {
            let reply = AutoReplyText::parse("unclear_response", text).unwrap();
            assert_eq!(reply.names_no_phone, flagged, "{text}");
        }
    }

    #[test]
    fn chat_links_must_be_https_with_a_host() {
        assert_eq!(
            chat_link(" https://forms.example.ca/prep?id=3 ").unwrap(),
            "https://forms.example.ca/prep?id=3"
        );
        assert!(chat_link("HTTPS://forms.example.ca").is_ok());
        for bad in [
            "http://forms.example.ca",
            "javascript:alert(1)",
            "https://",
            "https:///path",
            "https://user@evil.example",
            "https://forms.example.ca/a b",
            "forms.example.ca",
            "data:text/html,hi",
        ] {
            assert!(refusal(chat_link(bad)).contains("https://"), "{bad}");
        }
        let long = format!("https://a.ca/{}", "x".repeat(2000));
        assert!(refusal(chat_link(&long)).contains("shorter link"));
    }
}
