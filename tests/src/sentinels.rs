//! The patient data the scenarios use. Every PHN, name, phone number, email, message text and
//! link token a test puts into the system comes from here (or from the demo clinic, which the
//! guard reads too), so that the PHI guard (`phi_guard`) knows each value that must never
//! reach a log line, an error body or a panic message.

use crate::phi_guard::{self, Kind};

/// The scene patient's PHN (valid: BC mod-11 check digit).
pub const PHN: &str = "9567812347";
/// A valid PHN that is not the patient's: a wrong guess on the unlock page.
pub const OTHER_PHN: &str = "9975312461";
/// Another valid PHN, for a patient whose PHN changes.
pub const NEW_PHN: &str = "9924680133";
/// Ten digits that fail the BC check digit: a mistyped PHN is still the patient's data.
pub const MISTYPED_PHN: &str = "9698648215";

/// The scene patient's names: accents, a hyphen, and GSM-7 letters only (a basic reminder
/// with the first name stays one GSM-7 segment).
pub const FIRST_NAME: &str = "Renée-Sentinelle";
pub const LAST_NAME: &str = "Sentinel-Bédard";
pub const EMAIL: &str = "renee.sentinelle@example.com";

/// Every other value the tests make up starts with this word (names such as
/// `Sentinelpager3`, texts, emails, fake tokens): the guard treats any word starting with it
/// as patient data.
pub const FAMILY: &str = "Sentinel";

/// The text of a secure message: sealed at rest, shown only after the right PHN.
pub const MESSAGE_TEXT: &str = "Sentinel result: ferritin is low, please book a visit";
/// A patient's reply by SMS.
pub const REPLY_TEXT: &str = "Sentinel reply: is this about my results?";

/// The values above, for the guard.
pub(crate) const FIXED: [(&str, Kind, &str); 10] = [
    ("the scene patient's PHN", Kind::Phn, PHN),
    ("the other PHN", Kind::Phn, OTHER_PHN),
    ("the new PHN", Kind::Phn, NEW_PHN),
    ("the mistyped PHN", Kind::Phn, MISTYPED_PHN),
    ("the scene patient's first name", Kind::Name, FIRST_NAME),
    ("the scene patient's last name", Kind::Name, LAST_NAME),
    ("the scene patient's email", Kind::Email, EMAIL),
    ("a secure message's text", Kind::Text, MESSAGE_TEXT),
    ("a reply's text", Kind::Text, REPLY_TEXT),
    ("a made-up value", Kind::Family, FAMILY),
];

/// A patient phone number of the tests, `+1 250 555 nnnn`, one per test so that each reads
/// back only its own SMS. `slot` is 200..=999: lower numbers are the demo clinic's.
pub fn phone(slot: u16) -> String {
    assert!(
        (200..=999).contains(&slot),
        "test phone slots are 200..=999"
    );
    let phone = format!("+1250555{slot:04}");
    phi_guard::register(&format!("test phone slot {slot}"), Kind::Phone, &phone);
    phone
}

/// A link token a test has seen (read from an SMS, or made up): random, so known only now.
pub fn link_token(token: &str) {
    phi_guard::register("a link token", Kind::Token, token);
}

/// The tokens of the unlock links in an SMS.
pub fn link_tokens_in(sms: &str) {
    for part in sms.split("/m/").skip(1) {
        let token: String = part
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        if !token.is_empty() {
            link_token(&token);
        }
    }
}

#[cfg(test)]
mod tests {
    use domain::{email::Email, phn::Phn, phone::PhoneNumber};

    use super::*;

    #[test]
    fn the_sentinels_are_what_they_claim_to_be() {
        for phn in [PHN, OTHER_PHN, NEW_PHN] {
            assert!(Phn::parse(phn).is_ok(), "{phn} is a valid BC PHN");
        }
        assert!(Phn::parse(MISTYPED_PHN).is_err());
        assert!(Email::parse(EMAIL).is_ok());
        assert!(PhoneNumber::parse(&phone(200)).is_ok());
        assert!(!FIRST_NAME.is_ascii());
        assert!(!LAST_NAME.is_ascii());
    }
}
