//! The languages patients are written to in: English and French.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    En,
    Fr,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Fr => "fr",
        }
    }

    /// From a BCP 47 tag (`en`, `fr-CA`, `FR`); `None` for any other language.
    pub fn from_tag(tag: &str) -> Option<Language> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        match primary.to_ascii_lowercase().as_str() {
            "en" => Some(Language::En),
            "fr" => Some(Language::Fr),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_and_french_tags_with_any_region_or_case_are_read_and_others_are_not() {
        for (tag, language) in [
            ("en", Some(Language::En)),
            ("en-CA", Some(Language::En)),
            ("FR", Some(Language::Fr)),
            ("fr-CA", Some(Language::Fr)),
            ("fr_ca", Some(Language::Fr)),
            ("es", None),
            ("", None),
            ("english", None),
        ] {
            assert_eq!(Language::from_tag(tag), language, "{tag}");
        }
    }
}
