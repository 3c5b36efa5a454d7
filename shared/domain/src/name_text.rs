//! Names that are written into text messages: a patient's first and last name and a
//! provider's, as the EMR sends them. A name is patient data inside the clinic's SMS, so it
//! must not be able to carry a link, a line break or an invisible control character, nor
//! crowd out the message.

use thiserror::Error;

/// Longer than any real given or family name; a value past it is a data-entry error or
/// text pasted into the wrong field.
pub const MAX_NAME_CHARS: usize = 60;

/// Why a name cannot go into a text message. The messages never repeat the name.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum NameTextError {
    #[error("is longer than {MAX_NAME_CHARS} characters")]
    TooLong,
    #[error(
        "has a control character (a line break, a tab, or an invisible text-direction or \
         zero-width mark)"
    )]
    ControlCharacter,
    #[error(
        "could be read as a link or an address: it has '/', ':', '@', or a '.' directly \
         followed by a letter or digit (put a space after an initial's dot: \"J. R.\")"
    )]
    LooksLikeLink,
}

/// Checks a name as it will be written into a message.
pub fn check(name: &str) -> Result<(), NameTextError> {
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(NameTextError::TooLong);
    }
    if name.chars().any(is_control) {
        return Err(NameTextError::ControlCharacter);
    }
    if looks_like_link(name) {
        return Err(NameTextError::LooksLikeLink);
    }
    Ok(())
}

/// C0 and C1 controls, line and paragraph separators, the zero-width space and word joiner,
/// and the marks that reorder or hide text (bidirectional overrides and isolates).
fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// What phones and carriers turn into a link or an address: a scheme (`https:`), a path,
/// an `@`, or a dot inside a word (`example.com`). Names use none of them; initials and
/// abbreviations put a space after their dot (`J. Smith`, `St. John`).
fn looks_like_link(name: &str) -> bool {
    if name.contains(['/', ':', '@', '\\']) {
        return true;
    }
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        let dot = c == '.' || c == '\u{3002}' || c == '\u{FF0E}';
        if dot && chars.peek().is_some_and(|next| next.is_alphanumeric()) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_names_are_accepted() {
        for name in [
            "Zoë",
            "O'Brien-Côté",
            "J. Smith",
            "St. John",
            "Jr.",
            "van der Berg",
            "Nguyễn",
            "Wolfeschlegelsteinhausenbergerdorff",
            "",
        ] {
            assert_eq!(check(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn links_and_addresses_are_refused() {
        for name in [
            "evil.com",
            "Ava see bit.ly",
            "Ava https://x",
            "Ava http:x",
            "a@b",
            "path/to",
            "back\\slash",
            "www.clinic",
            "IDEOGRAPHIC\u{3002}com",
            "FULLWIDTH\u{FF0E}com",
            "v1.2",
        ] {
            assert_eq!(check(name), Err(NameTextError::LooksLikeLink), "{name}");
        }
    }

    #[test]
    fn control_characters_are_refused() {
        for name in [
            "Ava\nCall 555",
            "Ava\r",
            "Ava\t",
            "Ava\u{7}",
            "Ava\u{85}",
            "Ava\u{202E}moc",
            "Ava\u{2066}",
            "A\u{200B}va",
            "Ava\u{2028}",
            "\u{FEFF}Ava",
        ] {
            assert_eq!(
                check(name),
                Err(NameTextError::ControlCharacter),
                "{name:?}"
            );
        }
    }

    #[test]
    fn names_over_the_limit_are_refused_counting_characters_not_bytes() {
        assert_eq!(check(&"é".repeat(MAX_NAME_CHARS)), Ok(()));
        assert_eq!(
            check(&"é".repeat(MAX_NAME_CHARS + 1)),
            Err(NameTextError::TooLong)
        );
    }

    #[test]
    fn errors_do_not_repeat_the_name() {
        for (name, error) in [
            ("Secretname.com", NameTextError::LooksLikeLink),
            ("Secretname\n", NameTextError::ControlCharacter),
        ] {
            assert_eq!(check(name), Err(error));
            assert!(!error.to_string().contains("Secretname"));
        }
    }
}
