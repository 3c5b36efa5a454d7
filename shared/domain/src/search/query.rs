//! What the one search box holds: a PHN, a phone number, an email or a name, and the
//! lookups (probes) that find it.

use crate::{
    clinic_key::{ClinicKey, TagKind},
    email::Email,
    error::DomainError,
    patient_keys::{Part, email_key, fold_name, name_key, phn_key, phone_key},
    phn::Phn,
    phone::PhoneNumber,
    ports::DirectoryEntry,
};

pub const MAX_QUERY_CHARS: usize = 100;
/// Names with more words than this are refused rather than searched in every split.
pub const MAX_NAME_WORDS: usize = 4;
const MIN_NAME_CHARS: usize = 2;

/// Which kind of key to search by; `Auto` reads it from the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchBy {
    Auto,
    Phn,
    Phone,
    Email,
    Name,
}

impl SearchBy {
    pub fn parse(value: Option<&str>) -> Result<SearchBy, DomainError> {
        match value.map(str::trim) {
            None | Some("") => Ok(SearchBy::Auto),
            Some("phn") => Ok(SearchBy::Phn),
            Some("phone") => Ok(SearchBy::Phone),
            Some("email") => Ok(SearchBy::Email),
            Some("name") => Ok(SearchBy::Name),
            Some(_) => Err(invalid(
                "by",
                "must be one of phn, phone, email or name (or left out)",
            )),
        }
    }
}

/// A classified query. `Debug` is derived from the redacting `Debug`s of its parts, except
/// names, which it hides itself.
#[derive(Clone, PartialEq, Eq)]
pub enum SearchTerm {
    Phn(Phn),
    Phone(PhoneNumber),
    Email(Email),
    /// Folded (lower case, no accents) name words; `comma` when typed as `Last, First`.
    Name {
        words: Vec<String>,
        comma: Option<(String, String)>,
    },
}

impl std::fmt::Debug for SearchTerm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

fn invalid(parameter: &'static str, reason: impl Into<String>) -> DomainError {
    DomainError::InvalidParameter {
        parameter,
        reason: reason.into(),
    }
}

fn is_number_like(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_digit() || " -+().".contains(c))
}

impl SearchTerm {
    pub fn kind(&self) -> &'static str {
        match self {
            SearchTerm::Phn(_) => "phn",
            SearchTerm::Phone(_) => "phone",
            SearchTerm::Email(_) => "email",
            SearchTerm::Name { .. } => "name",
        }
    }

    /// Reads the search box. Errors say what to change and never repeat the query.
    pub fn classify(query: &str, by: SearchBy) -> Result<SearchTerm, DomainError> {
        let query = query.trim();
        if query.is_empty() {
            return Err(invalid(
                "q",
                "enter a PHN, name, phone number or email to search for",
            ));
        }
        let chars = query.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(invalid(
                "q",
                format!("is {chars} characters long; search with at most {MAX_QUERY_CHARS}"),
            ));
        }
        let phn = |q| {
            Phn::parse(q)
                .map(SearchTerm::Phn)
                .map_err(|e| invalid("q", e.to_string()))
        };
        let phone = |q| {
            PhoneNumber::parse(q)
                .map(SearchTerm::Phone)
                .map_err(|e| invalid("q", e.to_string()))
        };
        let email = |q| {
            Email::parse(q)
                .map(SearchTerm::Email)
                .map_err(|e| invalid("q", e.to_string()))
        };
        match by {
            SearchBy::Phn => phn(query),
            SearchBy::Phone => phone(query),
            SearchBy::Email => email(query),
            SearchBy::Name => SearchTerm::name(query),
            SearchBy::Auto if query.contains('@') => email(query),
            SearchBy::Auto if is_number_like(query) => SearchTerm::number(query),
            SearchBy::Auto => SearchTerm::name(query),
        }
    }

    /// Digits: a BC PHN first (its check digit makes a clash with a phone rare), then a
    /// phone number, then another province's health number.
    fn number(query: &str) -> Result<SearchTerm, DomainError> {
        let as_phn = Phn::parse(query);
        if let Ok(phn) = &as_phn
            && phn.is_bc()
        {
            return Ok(SearchTerm::Phn(phn.clone()));
        }
        if let Ok(phone) = PhoneNumber::parse(query) {
            return Ok(SearchTerm::Phone(phone));
        }
        match as_phn {
            Ok(phn) => Ok(SearchTerm::Phn(phn)),
            Err(phn_error) => Err(invalid(
                "q",
                format!(
                    "is neither a phone number nor a valid PHN ({phn_error}); \
                     add by=phone or by=phn to say which you meant"
                ),
            )),
        }
    }

    fn name(query: &str) -> Result<SearchTerm, DomainError> {
        let folded = fold_name(query);
        let letters = folded.chars().filter(|c| !c.is_whitespace()).count();
        if letters < MIN_NAME_CHARS {
            return Err(invalid(
                "q",
                format!("a name search needs at least {MIN_NAME_CHARS} letters"),
            ));
        }
        let words: Vec<String> = folded.split(' ').map(str::to_owned).collect();
        if words.len() > MAX_NAME_WORDS {
            return Err(invalid(
                "q",
                format!("search for a name with at most {MAX_NAME_WORDS} words"),
            ));
        }
        let comma = query
            .split_once(',')
            .map(|(last, first)| (fold_name(last), fold_name(first)));
        if let Some((last, _)) = &comma
            && last.is_empty()
        {
            return Err(invalid(
                "q",
                "write a last name before the comma (Last, First)",
            ));
        }
        Ok(SearchTerm::Name { words, comma })
    }

    /// The term's tag under the clinic's key, so that a cursor is only used with its own
    /// search and tells nothing of what was searched for.
    pub fn fingerprint(&self, key: &ClinicKey) -> String {
        let canonical = match self {
            SearchTerm::Phn(phn) => format!("phn:{}", phn.as_str()),
            SearchTerm::Phone(phone) => format!("phone:{}", phone.as_e164()),
            SearchTerm::Email(email) => format!("email:{}", email.as_str()),
            SearchTerm::Name { words, comma } => format!("name:{}:{comma:?}", words.join(" ")),
        };
        key.tag(TagKind::Search, &canonical)
    }

    /// The lookups that find this term, in the order their results are listed.
    pub fn probes(&self, key: &ClinicKey) -> Vec<Probe> {
        let exact = |key: String| {
            vec![Probe {
                key,
                rule: Rule::Exact,
            }]
        };
        match self {
            SearchTerm::Phn(phn) => exact(phn_key(key, phn.as_str())),
            SearchTerm::Phone(phone) => exact(phone_key(key, phone.as_e164())),
            SearchTerm::Email(email) => exact(email_key(key, email.as_str())),
            SearchTerm::Name {
                comma: Some((last, first)),
                ..
            } => {
                vec![Probe::name(key, Part::Last, last, first)]
            }
            SearchTerm::Name { words, comma: None } => {
                let whole = words.join(" ");
                let mut probes = vec![
                    Probe::name(key, Part::Last, &whole, ""),
                    Probe::name(key, Part::First, &whole, ""),
                ];
                // "jo sm": first name "jo…" and last name "sm…", or the other way round.
                for split in 1..words.len() {
                    let (head, tail) = (words[..split].join(" "), words[split..].join(" "));
                    probes.push(Probe::name(key, Part::First, &head, &tail));
                    probes.push(Probe::name(key, Part::Last, &head, &tail));
                }
                probes
            }
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub enum Rule {
    Exact,
    /// The `part` name starts with `prefix` and the other name with `other`.
    Name {
        part: Part,
        prefix: String,
        other: String,
    },
}

/// One Query on the lookup table, and the rule its entries satisfy: a name partition may
/// hold longer prefixes than asked for, and the rule also lists a patient found by several
/// probes only once.
#[derive(Clone, PartialEq, Eq)]
pub struct Probe {
    pub key: String,
    pub rule: Rule,
}

/// Probes hold what was searched for (names, PHNs, phones, emails): `Debug` shows none.
impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rule = match &self.rule {
            Rule::Exact => "exact",
            Rule::Name {
                part: Part::First, ..
            } => "first name",
            Rule::Name {
                part: Part::Last, ..
            } => "last name",
        };
        f.debug_struct("Probe")
            .field("rule", &rule)
            .finish_non_exhaustive()
    }
}

impl Probe {
    fn name(key: &ClinicKey, part: Part, prefix: &str, other: &str) -> Probe {
        Probe {
            key: name_key(key, part, prefix),
            rule: Rule::Name {
                part,
                prefix: prefix.to_owned(),
                other: other.to_owned(),
            },
        }
    }

    pub fn matches(&self, entry: &DirectoryEntry) -> bool {
        match &self.rule {
            Rule::Exact => true,
            Rule::Name {
                part,
                prefix,
                other,
            } => {
                let first = fold_name(&entry.patient.first_name);
                let last = fold_name(&entry.patient.last_name);
                let (this, that) = match part {
                    Part::First => (first, last),
                    Part::Last => (last, first),
                };
                this.starts_with(prefix.as_str()) && that.starts_with(other.as_str())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(q: &str) -> Result<SearchTerm, DomainError> {
        SearchTerm::classify(q, SearchBy::Auto)
    }

    #[test]
    fn a_valid_bc_phn_with_spaces_or_dashes_is_a_phn_search() {
        for q in ["9698658215", "9698 658 215", "9698-658-215"] {
            assert_eq!(classify(q).unwrap().kind(), "phn", "{q}");
        }
    }

    #[test]
    fn phone_numbers_in_common_formats_are_phone_searches_on_e164() {
        for q in [
            "604-555-0123",
            "(604) 555 0123",
            "+1 604 555 0123",
            "6045550123",
        ] {
            match classify(q).unwrap() {
                SearchTerm::Phone(phone) => assert_eq!(phone.as_e164(), "+16045550123"),
                other => panic!("{q} was {}", other.kind()),
            }
        }
    }

    #[test]
    fn another_provinces_number_that_is_no_phone_is_a_phn_search() {
        assert_eq!(classify("123456789").unwrap().kind(), "phn");
    }

    #[test]
    fn anything_with_an_at_sign_is_an_email_search_case_insensitive() {
        match classify("Ava.Smith@Example.com").unwrap() {
            SearchTerm::Email(email) => assert_eq!(email.as_str(), "ava.smith@example.com"),
            other => panic!("{}", other.kind()),
        }
        assert!(classify("not an email@").is_err());
    }

    #[test]
    fn names_are_folded_and_split_into_words() {
        match classify("SMÏ").unwrap() {
            SearchTerm::Name { words, comma } => {
                assert_eq!(words, ["smi"]);
                assert_eq!(comma, None);
            }
            other => panic!("{}", other.kind()),
        }
        match classify("Smith, John").unwrap() {
            SearchTerm::Name { comma, .. } => {
                assert_eq!(comma, Some(("smith".into(), "john".into())))
            }
            other => panic!("{}", other.kind()),
        }
    }

    #[test]
    fn bad_queries_are_refused_with_what_to_change() {
        let cases = [
            ("", "enter a PHN"),
            ("   ", "enter a PHN"),
            ("s", "at least 2 letters"),
            (&"a".repeat(500), "at most 100"),
            ("a b c d e", "at most 4 words"),
            (", john", "last name before the comma"),
            ("96986582", "neither a phone number nor a valid PHN"),
        ];
        for (q, expected) in cases {
            let error = classify(q).expect_err(q);
            assert!(matches!(
                error,
                DomainError::InvalidParameter { parameter: "q", .. }
            ));
            assert!(error.to_string().contains(expected), "{q}: {error}");
        }
    }

    #[test]
    fn errors_never_repeat_the_query() {
        for q in ["9698648215", "Sentinel@", "+1 555 555 0199"] {
            let error = classify(q).expect_err(q);
            assert!(!error.to_string().contains(q.trim()), "{error}");
        }
    }

    #[test]
    fn search_by_forces_the_kind() {
        assert_eq!(
            SearchTerm::classify("6045550123", SearchBy::Phn)
                .unwrap()
                .kind(),
            "phn"
        );
        assert!(SearchTerm::classify("smith", SearchBy::Phone).is_err());
        assert!(SearchBy::parse(Some("zip")).is_err());
    }

    fn key(clinic: &str) -> ClinicKey {
        ClinicKey::from_root(&crate::ids::ClinicId::parse(clinic).unwrap(), &[5; 32]).unwrap()
    }

    #[test]
    fn two_word_names_probe_both_orders_and_the_whole() {
        let key = key("c");
        let probes = classify("jo sm").unwrap().probes(&key);
        let shapes: Vec<_> = probes.iter().map(|p| p.key.clone()).collect();
        assert_eq!(
            shapes,
            [
                name_key(&key, Part::Last, "jo sm"),
                name_key(&key, Part::First, "jo sm"),
                name_key(&key, Part::First, "jo"),
                name_key(&key, Part::Last, "jo"),
            ]
        );
        let rules: Vec<_> = probes
            .iter()
            .map(|p| match &p.rule {
                Rule::Name {
                    part,
                    prefix,
                    other,
                } => (*part, prefix.as_str(), other.as_str()),
                Rule::Exact => panic!("a name search has name probes only"),
            })
            .collect();
        assert_eq!(
            rules,
            [
                (Part::Last, "jo sm", ""),
                (Part::First, "jo sm", ""),
                (Part::First, "jo", "sm"),
                (Part::Last, "jo", "sm"),
            ]
        );
    }

    #[test]
    fn probes_and_cursors_print_nothing_searched_for() {
        let key = key("c");
        for q in ["Sentinelname Other", "9698658215", "sentinel@example.com"] {
            let term = classify(q).unwrap();
            let shown = format!(
                "{term:?} {:?} {}",
                term.probes(&key),
                term.fingerprint(&key)
            );
            for secret in ["sentinel", "9698658215", "other"] {
                assert!(!shown.to_lowercase().contains(secret), "{shown}");
            }
        }
    }

    #[test]
    fn the_same_search_has_the_same_fingerprint_in_its_clinic_only() {
        let key = key("c");
        assert_eq!(
            classify("9698 658 215").unwrap().fingerprint(&key),
            classify("9698658215").unwrap().fingerprint(&key)
        );
        assert_ne!(
            classify("smith").unwrap().fingerprint(&key),
            classify("smyth").unwrap().fingerprint(&key)
        );
        // Keyed: without the clinic's key, a PHN cannot be guessed from a cursor.
        assert_ne!(
            classify("9698658215").unwrap().fingerprint(&key),
            classify("9698658215").unwrap().fingerprint(&self::key("d"))
        );
    }
}
