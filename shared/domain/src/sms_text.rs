//! GSM-7 friendly text: punctuation and spaces pasted from word processors (curly quotes and
//! apostrophes, en and em dashes, non-breaking and other Unicode spaces, the ellipsis
//! character) are replaced by their plain GSM-7 equivalents before a basic SMS is counted
//! and sent, since one of them turns the whole SMS into UCS-2 (70 characters a segment
//! instead of 160). Letters are never changed: `é` stays `é`, and `ç` keeps the SMS UCS-2.

use serde::{Deserialize, Serialize};

/// One character replaced, with what replaced it and how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replacement {
    /// The character as typed (punctuation or a space: never patient data on its own).
    pub character: String,
    /// Its Unicode code point, `U+2019`: spaces and dashes look alike on screen.
    pub code_point: String,
    pub replaced_by: String,
    pub count: usize,
}

/// A text made GSM-7 friendly, and what was replaced in it (in order of first appearance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FriendlyText {
    pub text: String,
    pub replacements: Vec<Replacement>,
}

/// A character's Unicode code point as people write it: `U+2019`.
pub fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// The plain GSM-7 equivalent of `c`, when it has one that changes no meaning.
fn plain(c: char) -> Option<&'static str> {
    Some(match c {
        // Single quotes, apostrophes and primes.
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' => "'",
        // Double quotes and double primes.
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' => "\"",
        // Hyphens, dashes and the minus sign.
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}'
        | '\u{2212}' => "-",
        // No-break, fixed-width and ideographic spaces.
        '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => " ",
        '\u{2026}' => "...",
        _ => return None,
    })
}

/// `text` with every character that has a plain GSM-7 equivalent replaced by it.
pub fn gsm7_friendly(text: &str) -> FriendlyText {
    let mut friendly = String::with_capacity(text.len());
    let mut replacements: Vec<Replacement> = Vec::new();
    for c in text.chars() {
        let Some(replaced_by) = plain(c) else {
            friendly.push(c);
            continue;
        };
        friendly.push_str(replaced_by);
        let character = c.to_string();
        match replacements.iter_mut().find(|r| r.character == character) {
            Some(seen) => seen.count += 1,
            None => replacements.push(Replacement {
                code_point: code_point(c),
                character,
                replaced_by: replaced_by.to_owned(),
                count: 1,
            }),
        }
    }
    FriendlyText {
        text: friendly,
        replacements,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms_encoding::{SmsEncoding, measure};

    #[test]
    fn a_pasted_apostrophe_no_longer_makes_a_150_character_message_three_segments() {
        let typed = format!("{}\u{2019}s", "a".repeat(148));
        assert_eq!(measure(&typed).encoding, SmsEncoding::Ucs2);
        assert_eq!(measure(&typed).segments, 3);
        let friendly = gsm7_friendly(&typed);
        assert_eq!(friendly.text, format!("{}'s", "a".repeat(148)));
        let measured = measure(&friendly.text);
        assert_eq!(
            (measured.encoding, measured.segments),
            (SmsEncoding::Gsm7, 1)
        );
        assert_eq!(
            friendly.replacements,
            [Replacement {
                character: "\u{2019}".into(),
                code_point: "U+2019".into(),
                replaced_by: "'".into(),
                count: 1,
            }]
        );
    }

    #[test]
    fn quotes_dashes_spaces_and_the_ellipsis_become_plain_and_are_counted() {
        let friendly = gsm7_friendly(
            "\u{201C}Hi\u{201D} \u{2013} see\u{00A0}you\u{202F}at 9\u{2026} \u{2018}ok\u{2019} \u{2014}",
        );
        assert_eq!(friendly.text, "\"Hi\" - see you at 9... 'ok' -");
        let counts: Vec<(&str, usize)> = friendly
            .replacements
            .iter()
            .map(|r| (r.code_point.as_str(), r.count))
            .collect();
        assert_eq!(
            counts,
            [
                ("U+201C", 1),
                ("U+201D", 1),
                ("U+2013", 1),
                ("U+00A0", 1),
                ("U+202F", 1),
                ("U+2026", 1),
                ("U+2018", 1),
                ("U+2019", 1),
                ("U+2014", 1),
            ]
        );
    }

    #[test]
    fn letters_are_never_changed_and_plain_text_is_left_as_it_is() {
        for text in [
            "Café à 9 h, reçu",
            "Ça va? Ñandú, Øre, ß",
            "plain text - 'quoted'",
        ] {
            let friendly = gsm7_friendly(text);
            assert_eq!(friendly.text, text);
            assert!(friendly.replacements.is_empty(), "{text}");
        }
        // ç is outside GSM-7: the SMS stays UCS-2.
        assert_eq!(
            measure(&gsm7_friendly("re\u{00E7}u\u{2019}").text).encoding,
            SmsEncoding::Ucs2
        );
    }
}
