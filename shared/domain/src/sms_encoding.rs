//! How an SMS text will travel: GSM-7 or UCS-2, how many units it takes and how many segments it is billed as.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A single-segment GSM-7 SMS holds 160 septets.
pub const GSM7_SINGLE_SEPTETS: usize = 160;
/// Each part of a multi-part GSM-7 SMS holds 153 septets (the rest is the concatenation header).
pub const GSM7_PART_SEPTETS: usize = 153;
/// A single-segment UCS-2 SMS holds 70 UTF-16 code units.
pub const UCS2_SINGLE_UNITS: usize = 70;
/// Each part of a multi-part UCS-2 SMS holds 67 UTF-16 code units.
pub const UCS2_PART_UNITS: usize = 67;

/// The GSM 03.38 default alphabet, in code order (row = high nibble). Position 0x1B is the
/// escape to the extension table, not a character; `ESCAPE` stands in for it and is never
/// matched.
const GSM7_BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', ESCAPE, 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

const ESCAPE: char = '\u{1b}';

/// The GSM 03.38 extension table: each is sent as escape + code, so it costs two septets.
const GSM7_EXTENSION: [char; 10] = ['\u{0c}', '^', '{', '}', '\\', '[', '~', ']', '|', '€'];

/// The encoding an SMS is sent in. One character outside GSM-7 makes the whole SMS UCS-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsEncoding {
    Gsm7,
    Ucs2,
}

impl fmt::Display for SmsEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SmsEncoding::Gsm7 => "GSM-7",
            SmsEncoding::Ucs2 => "UCS-2",
        })
    }
}

/// What a text costs as an SMS. Holds counts only, never the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsMeasure {
    pub encoding: SmsEncoding,
    /// Septets for GSM-7 (extension characters count two); UTF-16 code units for UCS-2.
    pub units: usize,
    /// How many SMS segments carriers split the text into (and bill).
    pub segments: usize,
}

/// Measures `text` as an SMS: its encoding, size in units and segment count.
///
/// Multi-part segments are counted by packing whole characters into parts, because a
/// GSM-7 extension character (escape + code) and a UTF-16 surrogate pair are never split
/// across two parts: a part can end one unit short, so `ceil(units / part size)` can
/// undercount.
pub fn measure(text: &str) -> SmsMeasure {
    let gsm7: Option<Vec<usize>> = text.chars().map(gsm7_septets).collect();
    let (encoding, widths, single, part) = match gsm7 {
        Some(widths) => (
            SmsEncoding::Gsm7,
            widths,
            GSM7_SINGLE_SEPTETS,
            GSM7_PART_SEPTETS,
        ),
        None => (
            SmsEncoding::Ucs2,
            text.chars().map(char::len_utf16).collect(),
            UCS2_SINGLE_UNITS,
            UCS2_PART_UNITS,
        ),
    };
    let units = widths.iter().sum();
    // An empty text still measures as one segment: whatever is published is at least one
    // SMS on the wire and on the bill, and a count of 0 would read as "free" to staff.
    // (Sending empty text is refused elsewhere; this only keeps the measure honest.)
    let segments = if units <= single {
        1
    } else {
        parts_needed(&widths, part)
    };
    SmsMeasure {
        encoding,
        units,
        segments,
    }
}

/// The characters of `text` GSM-7 cannot carry (each makes the SMS UCS-2), with their
/// positions in characters.
pub fn outside_gsm7(text: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    text.chars()
        .enumerate()
        .filter(|(_, c)| gsm7_septets(*c).is_none())
}

/// Septets `c` takes in GSM-7, or `None` if GSM-7 cannot carry it.
fn gsm7_septets(c: char) -> Option<usize> {
    if c != ESCAPE && GSM7_BASIC.contains(&c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(&c) {
        Some(2)
    } else {
        None
    }
}

/// Packs characters of the given widths, in order, into parts of `capacity` units.
fn parts_needed(widths: &[usize], capacity: usize) -> usize {
    let mut parts = 1;
    let mut used = 0;
    for &width in widths {
        if used + width > capacity {
            parts += 1;
            used = 0;
        }
        used += width;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gsm7(units: usize, segments: usize) -> SmsMeasure {
        SmsMeasure {
            encoding: SmsEncoding::Gsm7,
            units,
            segments,
        }
    }

    fn ucs2(units: usize, segments: usize) -> SmsMeasure {
        SmsMeasure {
            encoding: SmsEncoding::Ucs2,
            units,
            segments,
        }
    }

    #[test]
    fn gsm7_text_of_160_characters_is_one_segment_and_161_is_two() {
        assert_eq!(measure(&"a".repeat(160)), gsm7(160, 1));
        assert_eq!(measure(&"a".repeat(161)), gsm7(161, 2));
    }

    #[test]
    fn gsm7_parts_hold_153_septets() {
        assert_eq!(measure(&"a".repeat(306)), gsm7(306, 2));
        assert_eq!(measure(&"a".repeat(307)), gsm7(307, 3));
        assert_eq!(measure(&"a".repeat(459)), gsm7(459, 3));
        assert_eq!(measure(&"a".repeat(460)), gsm7(460, 4));
    }

    #[test]
    fn empty_text_is_zero_units_in_one_gsm7_segment() {
        assert_eq!(measure(""), gsm7(0, 1));
    }

    #[test]
    fn one_character_outside_gsm7_makes_the_whole_text_ucs2() {
        let text = format!("{}ê", "a".repeat(100));
        assert_eq!(measure(&text), ucs2(101, 2));
        assert_eq!(measure("Vous êtes attendu").encoding, SmsEncoding::Ucs2);
        assert_eq!(measure("See you soon 🙂").encoding, SmsEncoding::Ucs2);
    }

    #[test]
    fn ucs2_text_of_70_code_units_is_one_segment_and_71_is_two() {
        assert_eq!(measure(&"ê".repeat(70)), ucs2(70, 1));
        assert_eq!(measure(&"ê".repeat(71)), ucs2(71, 2));
    }

    #[test]
    fn ucs2_parts_hold_67_code_units() {
        assert_eq!(measure(&"ê".repeat(134)), ucs2(134, 2));
        assert_eq!(measure(&"ê".repeat(135)), ucs2(135, 3));
    }

    #[test]
    fn emoji_outside_the_basic_plane_counts_two_code_units() {
        assert_eq!(measure("🙂"), ucs2(2, 1));
        assert_eq!(measure(&"🙂".repeat(35)), ucs2(70, 1));
        assert_eq!(measure(&"🙂".repeat(36)), ucs2(72, 2));
    }

    #[test]
    fn euro_sign_counts_two_septets() {
        assert_eq!(measure("€"), gsm7(2, 1));
        assert_eq!(measure("Fee: 5€"), gsm7(8, 1));
    }

    #[test]
    fn eighty_euro_signs_fit_one_segment_and_eighty_one_need_two() {
        assert_eq!(measure(&"€".repeat(80)), gsm7(160, 1));
        assert_eq!(measure(&"€".repeat(81)), gsm7(162, 2));
    }

    #[test]
    fn extension_character_at_a_part_boundary_moves_to_the_next_part() {
        // 152 + 2 + 152 = 306 septets would fit two 153-septet parts if the euro sign could
        // be split; it cannot, so part one ends at 152 and the text needs three parts.
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        assert_eq!(measure(&text), gsm7(306, 3));
        // With one septet less it fits: part two is € + 151 characters = 153.
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(151));
        assert_eq!(measure(&text), gsm7(305, 2));
        // An extension character that ends exactly on the boundary stays in its part.
        let text = format!("{}€{}", "a".repeat(151), "a".repeat(153));
        assert_eq!(measure(&text), gsm7(306, 2));
    }

    #[test]
    fn surrogate_pair_at_a_part_boundary_moves_to_the_next_part() {
        // 66 + 2 + 66 = 134 code units, but the emoji cannot be split across parts.
        let text = format!("{}🙂{}", "ê".repeat(66), "ê".repeat(66));
        assert_eq!(measure(&text), ucs2(134, 3));
        let text = format!("{}🙂{}", "ê".repeat(65), "ê".repeat(67));
        assert_eq!(measure(&text), ucs2(134, 2));
    }

    #[test]
    fn every_gsm7_default_alphabet_character_takes_one_septet() {
        let alphabet = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                        ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
        assert_eq!(alphabet.chars().count(), 127);
        for c in alphabet.chars() {
            assert_eq!(gsm7_septets(c), Some(1), "{c:?}");
        }
        assert_eq!(measure(alphabet), gsm7(127, 1));
    }

    #[test]
    fn every_gsm7_extension_character_takes_two_septets() {
        for c in ['\u{0c}', '^', '{', '}', '\\', '[', '~', ']', '|', '€'] {
            assert_eq!(measure(&c.to_string()), gsm7(2, 1), "{c:?}");
        }
    }

    #[test]
    fn gsm7_has_exactly_127_basic_and_10_extension_characters() {
        let (mut basic, mut extension) = (0, 0);
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            match gsm7_septets(c) {
                Some(1) => basic += 1,
                Some(2) => extension += 1,
                Some(other) => panic!("{c:?} takes {other} septets"),
                None => {}
            }
        }
        assert_eq!((basic, extension), (127, 10));
    }

    #[test]
    fn look_alikes_outside_gsm7_make_text_ucs2() {
        // Lowercase ç, grave-accent È, backtick, escape, tab, Greek capital alpha, ohm sign,
        // and the typographic apostrophe phones insert automatically.
        for c in [
            'ç', 'È', '`', '\u{1b}', '\t', '\u{391}', '\u{2126}', '’', 'ê', 'â', 'ô',
        ] {
            assert_eq!(measure(&c.to_string()).encoding, SmsEncoding::Ucs2, "{c:?}");
        }
    }

    #[test]
    fn line_breaks_take_one_septet_and_form_feed_two() {
        assert_eq!(measure("a\nb\r\n"), gsm7(5, 1));
        assert_eq!(measure("\u{0c}"), gsm7(2, 1));
    }

    #[test]
    fn encoding_serialises_lowercase_and_displays_with_a_dash() {
        assert_eq!(
            serde_json::to_string(&SmsEncoding::Gsm7).expect("serialize"),
            "\"gsm7\""
        );
        assert_eq!(
            serde_json::to_string(&SmsEncoding::Ucs2).expect("serialize"),
            "\"ucs2\""
        );
        assert_eq!(
            serde_json::from_str::<SmsEncoding>("\"ucs2\"").expect("deserialize"),
            SmsEncoding::Ucs2
        );
        assert!(serde_json::from_str::<SmsEncoding>("\"GSM-7\"").is_err());
        assert_eq!(SmsEncoding::Gsm7.to_string(), "GSM-7");
        assert_eq!(SmsEncoding::Ucs2.to_string(), "UCS-2");
    }
}
