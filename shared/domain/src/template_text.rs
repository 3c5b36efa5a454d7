//! Message templates: `{placeholder}` syntax, validating a template and filling it from an appointment.

use std::fmt;

use jiff::{Timestamp, tz::TimeZone};

use crate::language::Language;
use thiserror::Error;

/// The placeholders a template may use, written `{name}`. Their names, the list an error
/// shows and the values they are filled with all derive from this one enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    PatientFirstName,
    PatientLastName,
    ClinicName,
    AppointmentDate,
    AppointmentTime,
    ProviderName,
}

impl Placeholder {
    pub const ALL: [Placeholder; 6] = [
        Placeholder::PatientFirstName,
        Placeholder::PatientLastName,
        Placeholder::ClinicName,
        Placeholder::AppointmentDate,
        Placeholder::AppointmentTime,
        Placeholder::ProviderName,
    ];

    /// The name written between braces.
    pub fn name(self) -> &'static str {
        match self {
            Placeholder::PatientFirstName => "patient_first_name",
            Placeholder::PatientLastName => "patient_last_name",
            Placeholder::ClinicName => "clinic_name",
            Placeholder::AppointmentDate => "appointment_date",
            Placeholder::AppointmentTime => "appointment_time",
            Placeholder::ProviderName => "provider_name",
        }
    }

    pub fn from_name(name: &str) -> Option<Placeholder> {
        Placeholder::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// Every placeholder as staff write it, listed as a sentence: `{a}, {b} … and {f}`.
fn known_placeholders() -> String {
    let names: Vec<String> = Placeholder::ALL
        .iter()
        .map(|placeholder| format!("{{{}}}", placeholder.name()))
        .collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

/// An unknown placeholder's name is cut to this many characters in the error, so that a
/// template missing a `}` cannot turn the error into a copy of the whole template.
const MAX_NAME_IN_ERROR: usize = 40;

/// What is wrong with a template. Names in it come from the clinic's template text, not
/// from patients.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TemplateError {
    #[error(
        "the template uses an unknown placeholder {{{name}}}; the placeholders are {known} \
         (write {{{{ or }}}} for a literal brace)",
        known = known_placeholders()
    )]
    UnknownPlaceholder {
        /// The name as written, cut to 40 characters.
        name: String,
    },
    #[error(
        "the template has a {{ that is not closed by }}; finish the placeholder, \
         or write {{{{ for a literal {{"
    )]
    Unclosed,
}

/// The values placeholders are filled with. Names are PHI, so `Debug` shows none of them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TemplateValues {
    pub patient_first_name: String,
    pub patient_last_name: String,
    pub clinic_name: String,
    pub appointment_date: String,
    pub appointment_time: String,
    pub provider_name: String,
}

impl TemplateValues {
    /// The shortest values a template in `language` can be filled with at `clinic_name`:
    /// one-letter names, the shortest date and time as written (`Friday, May 1, 2026`,
    /// `1:00 AM`; `le lundi 2 mai 2026`, `0 h`). A template too long with these is too long
    /// for every appointment.
    pub fn shortest(clinic_name: &str, language: Language) -> TemplateValues {
        let (date, time) = match language {
            Language::En => ("Friday, May 1, 2026", "1:00 AM"),
            Language::Fr => ("le lundi 2 mai 2026", "0 h"),
        };
        TemplateValues {
            patient_first_name: "A".to_owned(),
            patient_last_name: "B".to_owned(),
            clinic_name: clinic_name.to_owned(),
            appointment_date: date.to_owned(),
            appointment_time: time.to_owned(),
            provider_name: "C".to_owned(),
        }
    }

    /// The value `placeholder` is filled with.
    pub fn get(&self, placeholder: Placeholder) -> &str {
        match placeholder {
            Placeholder::PatientFirstName => &self.patient_first_name,
            Placeholder::PatientLastName => &self.patient_last_name,
            Placeholder::ClinicName => &self.clinic_name,
            Placeholder::AppointmentDate => &self.appointment_date,
            Placeholder::AppointmentTime => &self.appointment_time,
            Placeholder::ProviderName => &self.provider_name,
        }
    }
}

/// An appointment's start as a message in `language` says it, in the clinic's time zone:
/// "Thursday, November 26, 2026" and "9:30 AM", "le jeudi 26 novembre 2026" and "9 h 30".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartAsWritten {
    pub date: String,
    pub time: String,
}

impl StartAsWritten {
    pub fn of(starts_at: Timestamp, zone: &TimeZone, language: Language) -> StartAsWritten {
        let local = starts_at.to_zoned(zone.clone());
        StartAsWritten {
            date: language.long_date(&local),
            time: language.time(&local),
        }
    }
}

impl fmt::Debug for TemplateValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TemplateValues(<redacted>)")
    }
}

/// Fills every placeholder of `template` from `values`; `{{` and `}}` become `{` and `}`.
/// Values are inserted as they are: braces in a value are not read as placeholders.
pub fn render(template: &str, values: &TemplateValues) -> Result<String, TemplateError> {
    let pieces = parse(template)?;
    let mut out = String::with_capacity(template.len() + 64);
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Field(placeholder) => out.push_str(values.get(placeholder)),
        }
    }
    Ok(out)
}

/// The placeholders `template` uses, each once, in the order they first appear; an error
/// if the template could not be rendered.
pub fn placeholders(template: &str) -> Result<Vec<String>, TemplateError> {
    let mut names: Vec<String> = Vec::new();
    for piece in parse(template)? {
        if let Piece::Field(placeholder) = piece {
            let name = placeholder.name();
            if !names.iter().any(|known| known == name) {
                names.push(name.to_owned());
            }
        }
    }
    Ok(names)
}

enum Piece<'a> {
    Text(&'a str),
    Field(Placeholder),
}

/// Splits a template into literal text and placeholders.
///
/// A `}` that closes nothing is kept as text, as `}}` is: staff write free text, and a
/// stray closing brace cannot hide a placeholder. A `{` must be doubled or start a
/// placeholder, because a typo there (`{clinic_name` or `{clinic name}`) would otherwise
/// reach patients as raw template text.
fn parse(template: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(at) = rest.find(['{', '}']) {
        if at > 0 {
            pieces.push(Piece::Text(&rest[..at]));
        }
        let brace = &rest[at..=at];
        let after = &rest[at + 1..];
        if brace == "}" {
            pieces.push(Piece::Text("}"));
            rest = after.strip_prefix('}').unwrap_or(after);
            continue;
        }
        if let Some(after_escape) = after.strip_prefix('{') {
            pieces.push(Piece::Text("{"));
            rest = after_escape;
            continue;
        }
        // A placeholder ends at the next `}`; another `{` first means this one was never
        // closed.
        let end = match after.find(['{', '}']) {
            Some(end) if after[end..].starts_with('}') => end,
            _ => return Err(TemplateError::Unclosed),
        };
        let name = &after[..end];
        let placeholder =
            Placeholder::from_name(name).ok_or_else(|| TemplateError::UnknownPlaceholder {
                name: name.chars().take(MAX_NAME_IN_ERROR).collect(),
            })?;
        pieces.push(Piece::Field(placeholder));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> TemplateValues {
        TemplateValues {
            patient_first_name: "Ada".to_owned(),
            patient_last_name: "Lovelace".to_owned(),
            clinic_name: "Harbour Clinic".to_owned(),
            appointment_date: "Thursday, November 26, 2026".to_owned(),
            appointment_time: "9:30 AM".to_owned(),
            provider_name: "Dr. Chen".to_owned(),
        }
    }

    fn vancouver() -> TimeZone {
        TimeZone::get("America/Vancouver").expect("bundled tzdb")
    }

    fn at(timestamp: &str) -> Timestamp {
        timestamp.parse().expect("valid timestamp")
    }

    /// The values for an appointment at `starts_at`; only the date and time matter.
    fn at_time(starts_at: Timestamp, zone: &TimeZone) -> TemplateValues {
        let start = StartAsWritten::of(starts_at, zone, Language::En);
        TemplateValues {
            appointment_date: start.date,
            appointment_time: start.time,
            ..TemplateValues::default()
        }
    }

    #[test]
    fn every_placeholder_is_filled_from_the_values() {
        let template = "{patient_first_name} {patient_last_name}: {clinic_name}, \
                        {appointment_date} at {appointment_time} with {provider_name}.";
        assert_eq!(
            render(template, &values()).expect("renders"),
            "Ada Lovelace: Harbour Clinic, Thursday, November 26, 2026 at 9:30 AM with Dr. Chen."
        );
    }

    #[test]
    fn text_without_placeholders_is_unchanged() {
        for text in ["", "Please call us.", "Ünïcödé ✓ 🙂", "100% sure: a < b"] {
            assert_eq!(render(text, &values()).expect("renders"), text);
        }
    }

    #[test]
    fn a_placeholder_may_repeat() {
        assert_eq!(
            render("{clinic_name}/{clinic_name}", &values()).expect("renders"),
            "Harbour Clinic/Harbour Clinic"
        );
    }

    #[test]
    fn doubled_braces_render_as_literal_braces() {
        assert_eq!(render("{{", &values()).expect("renders"), "{");
        assert_eq!(render("}}", &values()).expect("renders"), "}");
        assert_eq!(
            render("{{clinic_name}} is {clinic_name}", &values()).expect("renders"),
            "{clinic_name} is Harbour Clinic"
        );
        assert_eq!(
            render("{{{clinic_name}}}", &values()).expect("renders"),
            "{Harbour Clinic}"
        );
    }

    #[test]
    fn a_closing_brace_that_closes_nothing_is_kept_as_text() {
        assert_eq!(render("smile :}", &values()).expect("renders"), "smile :}");
        assert_eq!(render("}}}", &values()).expect("renders"), "}}");
    }

    #[test]
    fn values_are_not_read_as_templates() {
        let mut values = values();
        values.patient_first_name = "{clinic_name} {{x}}".to_owned();
        assert_eq!(
            render("Hi {patient_first_name}", &values).expect("renders"),
            "Hi {clinic_name} {{x}}"
        );
    }

    #[test]
    fn unknown_placeholder_is_refused_with_its_name() {
        for (template, name) in [
            ("Hi {first_name}", "first_name"),
            ("{Clinic_Name}", "Clinic_Name"),
            ("{ clinic_name }", " clinic_name "),
            ("{}", ""),
        ] {
            assert_eq!(
                render(template, &values()),
                Err(TemplateError::UnknownPlaceholder {
                    name: name.to_owned()
                }),
                "{template}"
            );
        }
    }

    #[test]
    fn unknown_placeholder_message_names_it_and_lists_every_known_placeholder() {
        let message = render("Hi {first_name}", &values())
            .expect_err("unknown")
            .to_string();
        assert!(message.contains("{first_name}"), "{message}");
        for name in Placeholder::ALL.map(Placeholder::name) {
            assert!(message.contains(&format!("{{{name}}}")), "{message}");
        }
        assert_eq!(
            message,
            "the template uses an unknown placeholder {first_name}; the placeholders are \
             {patient_first_name}, {patient_last_name}, {clinic_name}, {appointment_date}, \
             {appointment_time} and {provider_name} (write {{ or }} for a literal brace)"
        );
    }

    #[test]
    fn every_placeholder_name_reads_back_as_itself() {
        for placeholder in Placeholder::ALL {
            assert_eq!(
                Placeholder::from_name(placeholder.name()),
                Some(placeholder)
            );
        }
        assert_eq!(Placeholder::from_name("patient_dob"), None);
    }

    #[test]
    fn unknown_placeholder_name_is_cut_to_40_characters() {
        let long = "é".repeat(100);
        let err = render(&format!("{{{long}}}"), &values()).expect_err("unknown");
        assert_eq!(
            err,
            TemplateError::UnknownPlaceholder {
                name: "é".repeat(40)
            }
        );
    }

    #[test]
    fn unknown_placeholder_error_does_not_carry_the_values() {
        let message = render("{patient_first_name} {nope}", &values())
            .expect_err("unknown")
            .to_string();
        assert!(!message.contains("Ada"), "{message}");
    }

    #[test]
    fn opening_brace_without_closing_brace_is_unclosed() {
        for template in [
            "{",
            "Hi {patient_first_name",
            "Hi {patient_first_name, see you",
            "a { b {clinic_name}",
            "{{{",
        ] {
            assert_eq!(
                render(template, &values()),
                Err(TemplateError::Unclosed),
                "{template}"
            );
        }
    }

    #[test]
    fn unclosed_message_says_how_to_fix_it() {
        assert_eq!(
            TemplateError::Unclosed.to_string(),
            "the template has a { that is not closed by }; finish the placeholder, \
             or write {{ for a literal {"
        );
    }

    #[test]
    fn placeholders_lists_each_used_name_once_in_order() {
        assert_eq!(
            placeholders("{clinic_name}: {appointment_date} {clinic_name} {{provider_name}}")
                .expect("valid"),
            vec!["clinic_name".to_owned(), "appointment_date".to_owned()]
        );
        assert_eq!(placeholders("plain").expect("valid"), Vec::<String>::new());
    }

    #[test]
    fn placeholders_accepts_every_known_name() {
        for name in Placeholder::ALL.map(Placeholder::name) {
            assert_eq!(
                placeholders(&format!("x{{{name}}}y")).expect("known"),
                vec![name.to_owned()]
            );
        }
    }

    #[test]
    fn placeholders_refuses_what_render_refuses() {
        assert_eq!(
            placeholders("{clinic_name} {bogus}"),
            Err(TemplateError::UnknownPlaceholder {
                name: "bogus".to_owned()
            })
        );
        assert_eq!(placeholders("{clinic_name"), Err(TemplateError::Unclosed));
    }

    #[test]
    fn debug_output_does_not_contain_the_values() {
        let debug = format!("{:?}", values());
        assert_eq!(debug, "TemplateValues(<redacted>)");
        assert!(!debug.contains("Ada"));
    }

    #[test]
    fn appointment_date_and_time_are_in_the_clinic_time_zone() {
        let values = at_time(at("2026-11-26T17:30:00Z"), &vancouver());
        assert_eq!(values.appointment_date, "Thursday, November 26, 2026");
        assert_eq!(values.appointment_time, "9:30 AM");
    }

    #[test]
    fn appointment_evening_in_the_clinic_is_the_next_day_in_utc() {
        let values = at_time(at("2026-11-27T04:45:00Z"), &vancouver());
        assert_eq!(values.appointment_date, "Thursday, November 26, 2026");
        assert_eq!(values.appointment_time, "8:45 PM");
    }

    #[test]
    fn appointment_day_and_hour_are_not_zero_padded() {
        // 1 November 2026 is also the day Vancouver leaves daylight time (UTC-8 from 2 AM).
        let values = at_time(at("2026-11-01T16:05:00Z"), &vancouver());
        assert_eq!(values.appointment_date, "Sunday, November 1, 2026");
        assert_eq!(values.appointment_time, "8:05 AM");
    }

    #[test]
    fn appointment_time_follows_daylight_saving_time() {
        let values = at_time(at("2026-07-02T16:30:00Z"), &vancouver());
        assert_eq!(values.appointment_date, "Thursday, July 2, 2026");
        assert_eq!(values.appointment_time, "9:30 AM");
    }

    #[test]
    fn noon_and_midnight_use_twelve() {
        let utc = TimeZone::UTC;
        let noon = at_time(at("2026-01-05T12:00:00Z"), &utc);
        assert_eq!(noon.appointment_time, "12:00 PM");
        let midnight = at_time(at("2026-01-05T00:00:00Z"), &utc);
        assert_eq!(midnight.appointment_time, "12:00 AM");
        assert_eq!(midnight.appointment_date, "Monday, January 5, 2026");
    }

    #[test]
    fn the_shortest_values_are_no_longer_than_any_date_and_time_as_written() {
        let zone = TimeZone::get("America/Vancouver").unwrap();
        for language in [Language::En, Language::Fr] {
            let shortest = TemplateValues::shortest("Clinic", language);
            let (mut date, mut time) = (usize::MAX, usize::MAX);
            let mut at: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
            let end: Timestamp = "2029-01-01T00:00:00Z".parse().unwrap();
            while at < end {
                let written = StartAsWritten::of(at, &zone, language);
                date = date.min(written.date.chars().count());
                time = time.min(written.time.chars().count());
                at += jiff::SignedDuration::from_mins(7 * 60 + 13);
            }
            // As short as any, and no shorter: the check at save is exact.
            assert_eq!(
                shortest.appointment_date.chars().count(),
                date,
                "{language:?}"
            );
            assert_eq!(
                shortest.appointment_time.chars().count(),
                time,
                "{language:?}"
            );
        }
    }
}
