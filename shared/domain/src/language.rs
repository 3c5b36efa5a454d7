//! The languages patients are written to in, English and French, and how each writes an
//! appointment's date and time and a message's expiry day. A small table of the two
//! languages rather than a locale crate: the words are few, and each form is tested.

use jiff::{Zoned, civil::Weekday};
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

    /// The other language: what a text falls back to when it has none in this one.
    pub fn other(self) -> Language {
        match self {
            Language::En => Language::Fr,
            Language::Fr => Language::En,
        }
    }

    /// A day as a message says it: "Friday, December 11, 2026", "le vendredi 11 décembre
    /// 2026" (the first of a month is "1er").
    pub fn long_date(self, at: &Zoned) -> String {
        let (weekday, day, month, year) = (at.weekday(), at.day(), at.month(), at.year());
        match self {
            Language::En => format!(
                "{}, {} {day}, {year}",
                EN_WEEKDAYS[weekday_index(weekday)],
                EN_MONTHS[month_index(month)]
            ),
            Language::Fr => format!(
                "le {} {} {} {year}",
                FR_WEEKDAYS[weekday_index(weekday)],
                fr_day(day),
                FR_MONTHS[month_index(month)]
            ),
        }
    }

    /// A time as a message says it: "11:15 AM", "11 h 15" ("9 h" on the hour).
    pub fn time(self, at: &Zoned) -> String {
        match self {
            Language::En => at.strftime("%-I:%M %p").to_string(),
            Language::Fr if at.minute() == 0 => format!("{} h", at.hour()),
            Language::Fr => format!("{} h {:02}", at.hour(), at.minute()),
        }
    }

    /// A day in a few characters, for the secure SMS's expiry: "Dec 9", "9 déc.".
    pub fn short_date(self, at: &Zoned) -> String {
        let (day, month) = (at.day(), month_index(at.month()));
        match self {
            Language::En => format!("{} {day}", &EN_MONTHS[month][..3]),
            Language::Fr => format!("{} {}", fr_day(day), FR_SHORT_MONTHS[month]),
        }
    }
}

const EN_WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const FR_WEEKDAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];
const FR_MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
/// The Office québécois de la langue française's abbreviations.
const FR_SHORT_MONTHS: [&str; 12] = [
    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juill.", "août", "sept.", "oct.", "nov.",
    "déc.",
];

fn weekday_index(weekday: Weekday) -> usize {
    usize::try_from(weekday.to_monday_zero_offset()).expect("0 to 6")
}

fn month_index(month: i8) -> usize {
    usize::try_from(month - 1).expect("months are 1 to 12")
}

/// A day of the month in French: "1er", then "2", "3"…
fn fr_day(day: i8) -> String {
    if day == 1 {
        "1er".to_owned()
    } else {
        day.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Zoned {
        text.parse().unwrap()
    }

    #[test]
    fn each_language_writes_a_day_and_time_its_own_way() {
        let friday = at("2026-12-11T11:15:00[America/Vancouver]");
        assert_eq!(Language::En.long_date(&friday), "Friday, December 11, 2026");
        assert_eq!(
            Language::Fr.long_date(&friday),
            "le vendredi 11 décembre 2026"
        );
        assert_eq!(Language::En.time(&friday), "11:15 AM");
        assert_eq!(Language::Fr.time(&friday), "11 h 15");
        let first = at("2026-05-01T09:00:00[America/Toronto]");
        assert_eq!(Language::Fr.long_date(&first), "le vendredi 1er mai 2026");
        assert_eq!(Language::Fr.time(&first), "9 h");
        assert_eq!(Language::En.time(&first), "9:00 AM");
        let evening = at("2026-08-03T19:05:00[America/Toronto]");
        assert_eq!(Language::Fr.time(&evening), "19 h 05");
        assert_eq!(Language::En.time(&evening), "7:05 PM");
        assert_eq!(Language::Fr.long_date(&evening), "le lundi 3 août 2026");
    }

    #[test]
    fn an_expiry_day_is_short_in_both_languages() {
        let day = at("2026-12-09T18:00:00[America/Vancouver]");
        assert_eq!(Language::En.short_date(&day), "Dec 9");
        assert_eq!(Language::Fr.short_date(&day), "9 déc.");
        let first = at("2027-01-01T08:00:00[America/Vancouver]");
        assert_eq!(Language::Fr.short_date(&first), "1er janv.");
        assert_eq!(Language::En.short_date(&first), "Jan 1");
    }

    #[test]
    fn each_language_falls_back_to_the_other() {
        assert_eq!(Language::En.other(), Language::Fr);
        assert_eq!(Language::Fr.other(), Language::En);
    }

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
