//! Finding a clinic's patients from the one search box, within the clinic's search window.

mod cursor;
mod query;
mod searcher;

pub use cursor::Cursor;
pub use query::{MAX_NAME_WORDS, MAX_QUERY_CHARS, Probe, Rule, SearchBy, SearchTerm};
pub use searcher::{ForClinic, Searcher};

use jiff::Timestamp;

use crate::{
    clinic_key::ClinicKey,
    error::DomainError,
    model::{AppointmentCard, Clinic, Patient},
    ports::{DirectoryQuery, PatientDirectory},
};

pub const DEFAULT_LIMIT: usize = 25;
pub const MAX_LIMIT: usize = 100;

/// A page's size from the `limit` parameter: [`DEFAULT_LIMIT`] when absent, at most
/// [`MAX_LIMIT`].
pub fn parse_limit(limit: Option<&str>) -> Result<usize, DomainError> {
    match limit.map(str::trim) {
        None | Some("") => Ok(DEFAULT_LIMIT),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| DomainError::InvalidParameter {
                parameter: "limit",
                reason: format!("must be a whole number from 1 to {MAX_LIMIT}"),
            }),
    }
}

/// A time parameter in RFC 3339 (`from`, `to`); `None` when left out.
pub fn parse_time(
    parameter: &'static str,
    text: Option<&str>,
) -> Result<Option<Timestamp>, DomainError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|_| DomainError::InvalidParameter {
                parameter,
                reason: "must be a time in RFC 3339, e.g. 2026-12-01T08:00:00Z or 2026-12-01T00:00:00-08:00".to_owned(),
            }),
    }
}

/// A validated search: what to find, how many, and where a previous page ended (a cursor
/// as given: it is checked against the search's tag under the clinic's key).
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub term: SearchTerm,
    pub limit: usize,
    pub cursor: Option<String>,
}

impl SearchRequest {
    /// From the route's parameters: `q`, `by`, `limit` and `cursor`.
    pub fn parse(
        q: Option<&str>,
        by: Option<&str>,
        limit: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<SearchRequest, DomainError> {
        let term = SearchTerm::classify(q.unwrap_or_default(), SearchBy::parse(by)?)?;
        let limit = parse_limit(limit)?;
        let cursor = cursor.filter(|text| !text.is_empty()).map(str::to_owned);
        Ok(SearchRequest {
            term,
            limit,
            cursor,
        })
    }
}

/// A patient found, with their appointments in the window: upcoming first (soonest
/// first), then past ones (most recent first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientMatch {
    pub patient: Patient,
    pub appointments: Vec<AppointmentCard>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct SearchPage {
    pub matches: Vec<PatientMatch>,
    /// Encodes where the page ended: a probe, a patient id and the search's tag.
    pub next_cursor: Option<String>,
    /// Items the store read: the search's cost.
    pub items_read: usize,
}

impl std::fmt::Debug for SearchPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchPage")
            .field("matches", &self.matches)
            .field("more", &self.next_cursor.is_some())
            .field("items_read", &self.items_read)
            .finish()
    }
}

/// The appointments a search shows, or `None` when the patient has none in the window
/// (and so is not found).
fn appointments_in_window(
    clinic: &Clinic,
    cards: &[AppointmentCard],
    now: Timestamp,
) -> Option<Vec<AppointmentCard>> {
    let window = clinic.search_window(now);
    let (mut upcoming, mut past): (Vec<_>, Vec<_>) = cards
        .iter()
        .filter(|card| window.contains(card.starts_at))
        .cloned()
        .partition(|card| card.starts_at >= now);
    if upcoming.is_empty() && past.is_empty() {
        return None;
    }
    upcoming.sort_by_key(|card| card.starts_at);
    past.sort_by_key(|card| std::cmp::Reverse(card.starts_at));
    upcoming.extend(past);
    Some(upcoming)
}

/// Finds patients by `request` in `clinic` (whose key is `key`): one Query per probe and
/// page, never a Scan.
pub async fn find_patients(
    directory: &dyn PatientDirectory,
    key: &ClinicKey,
    clinic: &Clinic,
    request: &SearchRequest,
    now: Timestamp,
) -> Result<SearchPage, DomainError> {
    let probes = request.term.probes(key);
    let fingerprint = request.term.fingerprint(key);
    let (first_probe, mut after) = match &request.cursor {
        Some(text) => {
            let cursor = Cursor::decode(text, &fingerprint)?;
            if cursor.probe >= probes.len() {
                return Err(DomainError::InvalidParameter {
                    parameter: "cursor",
                    reason: "is not a cursor from this search; leave it out to start again"
                        .to_owned(),
                });
            }
            (cursor.probe, Some(cursor.after))
        }
        None => (0, None),
    };
    // One more than asked, to know whether there is a next page.
    let wanted = request.limit + 1;
    let mut found: Vec<(usize, String, PatientMatch)> = Vec::new();
    let mut items_read = 0;
    'probes: for (index, probe) in probes.iter().enumerate().skip(first_probe) {
        loop {
            let page = directory
                .lookup(&DirectoryQuery {
                    key,
                    lookup_key: &probe.key,
                    after: after.as_deref(),
                    limit: wanted,
                })
                .await?;
            items_read += page.items_read;
            for entry in &page.entries {
                after = Some(entry.sort_key.clone());
                let listed_earlier = probes[..index].iter().any(|earlier| earlier.matches(entry));
                if listed_earlier || !probe.matches(entry) {
                    continue;
                }
                let Some(appointments) = appointments_in_window(clinic, &entry.appointments, now)
                else {
                    continue;
                };
                let found_match = PatientMatch {
                    patient: entry.patient.clone(),
                    appointments,
                };
                found.push((index, entry.sort_key.clone(), found_match));
                if found.len() == wanted {
                    break 'probes;
                }
            }
            if page.exhausted || page.entries.is_empty() {
                break;
            }
        }
        after = None;
    }
    let next_cursor = if found.len() > request.limit {
        found.truncate(request.limit);
        found.last().map(|(probe, after, _)| {
            Cursor {
                fingerprint: fingerprint.clone(),
                probe: *probe,
                after: after.clone(),
            }
            .encode()
        })
    } else {
        None
    };
    Ok(SearchPage {
        matches: found.into_iter().map(|(_, _, found)| found).collect(),
        next_cursor,
        items_read,
    })
}

#[cfg(test)]
mod tests;
