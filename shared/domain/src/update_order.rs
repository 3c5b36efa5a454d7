//! The order of a record's updates from the clinic's EMR: by `meta.lastUpdated`, then by
//! `meta.versionId`, so that an older update arriving late never overwrites a newer one.

use jiff::Timestamp;

/// Where an update stands among the record's updates, as text that sorts in their order
/// (stores compare it in a conditional write). Updates without `meta` all share the lowest
/// order: among them the last one written wins, as when the EMR gives no order at all.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UpdateOrder(String);

/// Digits of a numeric version, so that `"10"` sorts after `"9"`.
const VERSION_DIGITS: usize = 20;

impl UpdateOrder {
    /// The order of an update last changed at `last_updated` with version `version_id`.
    pub fn new(last_updated: Option<Timestamp>, version_id: Option<&str>) -> UpdateOrder {
        // Nanoseconds since 1970, fixed width; FHIR instants before 1970 do not occur in
        // `meta.lastUpdated`, and are placed first.
        let at = last_updated
            .map(|at| at.as_nanosecond().max(0))
            .unwrap_or_default();
        let version = match version_id.map(str::trim) {
            None | Some("") => String::new(),
            Some(digits)
                if digits.len() <= VERSION_DIGITS && digits.bytes().all(|b| b.is_ascii_digit()) =>
            {
                format!("{digits:0>VERSION_DIGITS$}")
            }
            // A version that is not a number sorts after every numeric one, by its text.
            Some(text) => format!("~{text}"),
        };
        UpdateOrder(format!("{at:020}#{version}"))
    }

    /// From its stored text.
    pub fn from_stored(text: String) -> UpdateOrder {
        UpdateOrder(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether an update of this order may be written over what was written at `stored`:
    /// not when the stored one is newer. The same order again is written (a replay).
    pub fn may_replace(&self, stored: Option<&UpdateOrder>) -> bool {
        stored.is_none_or(|stored| stored <= self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Option<Timestamp> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn a_later_last_updated_orders_after_an_earlier_one_whatever_the_versions() {
        let earlier = UpdateOrder::new(at("2026-11-01T10:00:00Z"), Some("9"));
        let later = UpdateOrder::new(at("2026-11-01T10:00:00.001Z"), Some("1"));
        assert!(earlier < later);
        assert!(later.may_replace(Some(&earlier)));
        assert!(!earlier.may_replace(Some(&later)));
    }

    #[test]
    fn at_the_same_instant_the_version_orders_numerically() {
        let nine = UpdateOrder::new(at("2026-11-01T10:00:00Z"), Some("9"));
        let ten = UpdateOrder::new(at("2026-11-01T10:00:00Z"), Some("10"));
        assert!(nine < ten);
        let text = UpdateOrder::new(at("2026-11-01T10:00:00Z"), Some("W/abc"));
        assert!(ten < text);
    }

    #[test]
    fn an_update_without_meta_is_oldest_and_a_replay_may_be_written_again() {
        let none = UpdateOrder::new(None, None);
        let dated = UpdateOrder::new(at("2026-11-01T10:00:00Z"), None);
        assert!(none < dated);
        assert!(none.may_replace(Some(&none)));
        assert!(none.may_replace(None));
        assert!(!none.may_replace(Some(&dated)));
    }

    #[test]
    fn the_stored_text_reads_back_as_the_same_order() {
        let order = UpdateOrder::new(at("2026-11-01T10:00:00Z"), Some("3"));
        assert_eq!(UpdateOrder::from_stored(order.as_str().to_owned()), order);
    }
}
