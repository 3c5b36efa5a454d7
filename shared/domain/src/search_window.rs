//! The clinic's search window: appointments from its activation day up to 10 years ahead.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// How far into the future appointments are found, in calendar years.
pub const YEARS_AHEAD: i64 = 10;

/// The instants, inclusive at both ends, in which an appointment's start makes its patient
/// findable: from the first moment of the clinic's activation day in the clinic's time zone
/// up to now plus 10 calendar years in that zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchWindow {
    start: Timestamp,
    end: Timestamp,
}

impl SearchWindow {
    pub fn new(activated_on: Date, tz: TimeZone, now: Timestamp) -> SearchWindow {
        // Both ends only fail to compute near the limits of jiff's range (years ±9999); there
        // the window simply extends to that limit.
        let start = activated_on
            .to_zoned(tz.clone())
            .map(|zoned| zoned.timestamp())
            .unwrap_or(Timestamp::MIN);
        let end = now
            .to_zoned(tz)
            .checked_add(YEARS_AHEAD.years())
            .map(|zoned| zoned.timestamp())
            .unwrap_or(Timestamp::MAX);
        SearchWindow { start, end }
    }

    /// Whether an appointment starting at `starts_at` lies in the window (ends included).
    pub fn contains(&self, starts_at: Timestamp) -> bool {
        self.start <= starts_at && starts_at <= self.end
    }

    /// The first instant of the clinic's activation day.
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// Now plus 10 calendar years, in the clinic's time zone.
    pub fn end(&self) -> Timestamp {
        self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn vancouver() -> TimeZone {
        TimeZone::get("America/Vancouver").expect("bundled time zone")
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    fn window() -> SearchWindow {
        // Activated 2024-03-01 in Vancouver; "now" is 2025-06-15 10:00 PDT.
        SearchWindow::new(date(2024, 3, 1), vancouver(), at("2025-06-15T17:00:00Z"))
    }

    #[test]
    fn window_starts_at_midnight_of_activation_day_in_the_clinic_time_zone() {
        // 2024-03-01 00:00 PST is 08:00 UTC.
        assert_eq!(window().start(), at("2024-03-01T08:00:00Z"));
    }

    #[test]
    fn appointment_before_activation_is_outside_the_window() {
        assert!(!window().contains(at("2024-03-01T07:59:59Z")));
        assert!(!window().contains(at("2023-12-31T12:00:00Z")));
    }

    #[test]
    fn appointment_at_the_start_of_activation_day_is_inside_the_window() {
        assert!(window().contains(at("2024-03-01T08:00:00Z")));
    }

    #[test]
    fn appointment_exactly_ten_years_ahead_is_inside_the_window() {
        let end = at("2035-06-15T17:00:00Z");
        assert_eq!(window().end(), end);
        assert!(window().contains(end));
    }

    #[test]
    fn appointment_a_day_after_ten_years_ahead_is_outside_the_window() {
        assert!(!window().contains(at("2035-06-16T17:00:00Z")));
        assert!(!window().contains(at("2035-06-15T17:00:01Z")));
    }

    #[test]
    fn ten_years_are_calendar_years_in_the_clinic_time_zone() {
        // Now is 2026-02-28 20:00 in Vancouver (already 03-01 in UTC). Ten calendar years
        // later in Vancouver is 2036-02-28 20:00 PST, not a fixed number of days.
        let window = SearchWindow::new(date(2024, 3, 1), vancouver(), at("2026-03-01T04:00:00Z"));
        assert_eq!(window.end(), at("2036-02-29T04:00:00Z"));
    }

    #[test]
    fn window_at_the_edge_of_the_calendar_saturates_instead_of_failing() {
        let window = SearchWindow::new(date(2024, 3, 1), vancouver(), Timestamp::MAX);
        assert_eq!(window.end(), Timestamp::MAX);
    }
}
