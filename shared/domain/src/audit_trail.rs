//! `GET /audit`: the clinic's privacy officer reads its audit trail, newest first, by time
//! and by patient, user or message. Reading it is itself recorded.

use std::sync::Arc;

use jiff::Timestamp;

use crate::{
    caller::Caller,
    error::DomainError,
    ids::{MessageId, PatientId, StaffUserId},
    model::{AuditEntry, AuditKey},
    ports::{AuditFilter, AuditLog, AuditQuery, AuditTrail, Clock},
    search::{Cursor, parse_limit, parse_time},
};

/// A validated read of the trail.
#[derive(Debug, Clone)]
pub struct AuditRequest {
    pub from: Timestamp,
    pub to: Timestamp,
    pub filter: AuditFilter,
    pub limit: usize,
    pub after: Option<AuditKey>,
}

/// The parameters of `GET /audit` as they came.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditParameters<'a> {
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub patient_id: Option<&'a str>,
    pub user: Option<&'a str>,
    pub message_id: Option<&'a str>,
    pub limit: Option<&'a str>,
    pub cursor: Option<&'a str>,
}

fn required(parameter: &'static str, text: Option<&str>) -> Result<Timestamp, DomainError> {
    parse_time(parameter, text)?.ok_or_else(|| DomainError::InvalidParameter {
        parameter,
        reason: "is required: the trail is read by time, e.g. from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z".to_owned(),
    })
}

fn id<T>(
    text: Option<&str>,
    parse: impl Fn(&str) -> Result<T, crate::ids::IdError>,
) -> Result<Option<T>, DomainError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => Ok(Some(parse(text)?)),
    }
}

impl AuditRequest {
    pub fn parse(parameters: AuditParameters<'_>) -> Result<AuditRequest, DomainError> {
        let from = required("from", parameters.from)?;
        let to = required("to", parameters.to)?;
        if from > to {
            return Err(DomainError::InvalidParameter {
                parameter: "from",
                reason: "is after to: swap them".to_owned(),
            });
        }
        let filter = AuditFilter {
            patient: id(parameters.patient_id, PatientId::parse)?,
            user: id(parameters.user, StaffUserId::parse)?,
            message: id(parameters.message_id, MessageId::parse)?,
        };
        let limit = parse_limit(parameters.limit)?;
        let fingerprint = fingerprint(from, to, &filter);
        let after = match parameters.cursor.map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let cursor = Cursor::decode(text, &fingerprint)?;
                Some(AuditKey::from_stored(&cursor.after).ok_or_else(|| {
                    DomainError::InvalidParameter {
                        parameter: "cursor",
                        reason: "is not a cursor from this read; leave it out to start again"
                            .to_owned(),
                    }
                })?)
            }
        };
        Ok(AuditRequest {
            from,
            to,
            filter,
            limit,
            after,
        })
    }
}

/// A cursor continues only the read of the same window and filter.
fn fingerprint(from: Timestamp, to: Timestamp, filter: &AuditFilter) -> String {
    let or_any = |id: Option<&str>| id.unwrap_or("*").to_owned();
    format!(
        "audit|{from}|{to}|{}|{}|{}",
        or_any(filter.patient.as_ref().map(|id| id.as_str())),
        or_any(filter.user.as_ref().map(|id| id.as_str())),
        or_any(filter.message.as_ref().map(|id| id.as_str())),
    )
}

/// One page of the trail, and the cursor of the next when the read is not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditTrailPage {
    pub entries: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

pub struct AuditReader {
    pub trail: Arc<dyn AuditTrail>,
    pub audit: Arc<dyn AuditLog>,
    pub clock: Arc<dyn Clock>,
}

impl AuditReader {
    /// One page: one Query of the trail.
    pub async fn page(
        &self,
        caller: &Caller,
        request: &AuditRequest,
    ) -> Result<AuditTrailPage, DomainError> {
        let page = self
            .trail
            .audit_page(&AuditQuery {
                clinic: caller.clinic_id.clone(),
                from: request.from,
                to: request.to,
                filter: request.filter.clone(),
                after: request.after.clone(),
                limit: request.limit,
            })
            .await?;
        let next_cursor = page.next.map(|key| {
            Cursor {
                fingerprint: fingerprint(request.from, request.to, &request.filter),
                probe: 0,
                after: key.as_str().to_owned(),
            }
            .encode()
        });
        // Whose trail was read is itself on record: the filter's ids (never PHI).
        let filter = &request.filter;
        let mut entry = AuditEntry::new(
            caller.clinic_id.clone(),
            self.clock.now(),
            "audit-read",
            &format!(
                "{} entries from {} to {}",
                page.records.len(),
                request.from,
                request.to
            ),
        );
        entry.patient_id = filter.patient.clone();
        entry.reference = filter.user.as_ref().map(|user| format!("user {user}"));
        entry.message_id = filter.message.clone();
        entry.route = Some("GET /audit".to_owned());
        entry.staff_user = Some(caller.user.clone());
        self.audit.record(&entry).await;
        Ok(AuditTrailPage {
            entries: page
                .records
                .into_iter()
                .map(|record| record.entry)
                .collect(),
            next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;
    use crate::{
        caller::Role,
        clinic_cache::ClinicCache,
        fakes::{FixedClock, MemoryStore, records},
        ids::{AppointmentId, ClinicId},
        ports::{AppointmentStore, ClinicStore},
        search::{SearchRequest, Searcher},
    };

    struct Trail {
        store: Arc<MemoryStore>,
        clock: Arc<FixedClock>,
        searcher: Searcher,
        reader: AuditReader,
        officer: Caller,
    }

    fn staff(user: &str) -> Caller {
        Caller::staff(
            ClinicId::parse("c1").unwrap(),
            StaffUserId::parse(user).unwrap(),
        )
    }

    async fn trail() -> Trail {
        let store = Arc::new(MemoryStore::default());
        let clock = Arc::new(FixedClock::at(records::now()));
        let clinic = records::clinic();
        store.put_clinic(&clinic).await.unwrap();
        for (patient_id, appointment_id) in [("p1", "a1"), ("p2", "a2")] {
            let patient = crate::model::Patient {
                id: PatientId::parse(patient_id).unwrap(),
                ..records::patient(Some("9698658215"), Some("+16045550123"))
            };
            let appointment = records::appointment(
                appointment_id,
                &patient,
                "2026-12-02T17:00:00Z".parse().unwrap(),
            );
            store
                .upsert_appointment_with_patient(
                    &crate::fakes::test_clinic_key(&clinic.id),
                    &patient,
                    &appointment,
                )
                .await
                .unwrap();
        }
        Trail {
            searcher: Searcher {
                clinics: Arc::new(ClinicCache::new(store.clone(), clock.clone())),
                clinic_records: store.clone(),
                directory: store.clone(),
                keyring: crate::fakes::test_keyring(&store, &[&clinic.id]),
                appointments: store.clone(),
                messages: store.clone(),
                audit: store.clone(),
                clock: clock.clone(),
            },
            reader: AuditReader {
                trail: store.clone(),
                audit: store.clone(),
                clock: clock.clone(),
            },
            officer: Caller {
                roles: [Role::PrivacyOfficer].into(),
                ..staff("officer-1")
            },
            store,
            clock,
        }
    }

    fn read(parameters: AuditParameters<'_>) -> AuditRequest {
        AuditRequest::parse(AuditParameters {
            from: Some("2026-11-01T00:00:00Z"),
            to: Some("2026-12-31T00:00:00Z"),
            ..parameters
        })
        .unwrap()
    }

    fn events(page: &AuditTrailPage) -> Vec<(String, Option<String>)> {
        page.entries
            .iter()
            .map(|entry| {
                (
                    entry.event.clone(),
                    entry.patient_id.as_ref().map(|id| id.to_string()),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn staff_searches_and_views_are_recorded_by_patient_and_user_newest_first() {
        let t = trail().await;
        let search = SearchRequest::parse(Some("smi"), None, None, None).unwrap();
        t.searcher
            .find_patients(&staff("nurse-1"), &search)
            .await
            .unwrap();
        t.clock.advance(SignedDuration::from_secs(5));
        t.searcher
            .appointment_details(&staff("nurse-2"), &AppointmentId::parse("a2").unwrap())
            .await
            .unwrap();

        let all = t
            .reader
            .page(&t.officer, &read(AuditParameters::default()))
            .await
            .unwrap();
        let mut seen = events(&all);
        assert_eq!(
            seen[0],
            ("appointment-viewed".to_owned(), Some("p2".to_owned()))
        );
        // The two patients found in one second come in either order.
        seen[1..].sort();
        assert_eq!(
            seen[1..],
            [
                ("patients-found".to_owned(), Some("p1".to_owned())),
                ("patients-found".to_owned(), Some("p2".to_owned())),
            ]
        );
        let first = &all.entries[2];
        assert_eq!(first.route.as_deref(), Some("GET /patients"));
        assert_eq!(first.outcome, "name", "the kind of search, never its words");

        let by_patient = t
            .reader
            .page(
                &t.officer,
                &read(AuditParameters {
                    patient_id: Some("p2"),
                    ..AuditParameters::default()
                }),
            )
            .await
            .unwrap();
        assert_eq!(by_patient.entries.len(), 2);
        let by_user = t
            .reader
            .page(
                &t.officer,
                &read(AuditParameters {
                    user: Some("nurse-1"),
                    patient_id: Some("p2"),
                    ..AuditParameters::default()
                }),
            )
            .await
            .unwrap();
        assert_eq!(
            events(&by_user),
            [("patients-found".to_owned(), Some("p2".to_owned()))]
        );
        let reads = t.store.audit();
        assert_eq!(
            reads.iter().filter(|e| e.event == "audit-read").count(),
            3,
            "each read of the trail is recorded too"
        );
    }

    #[tokio::test]
    async fn pages_hold_every_entry_once_and_a_cursor_continues_only_its_own_read() {
        let t = trail().await;
        for _ in 0..3 {
            let search = SearchRequest::parse(Some("smith"), None, None, None).unwrap();
            t.searcher
                .find_patients(&staff("nurse-1"), &search)
                .await
                .unwrap();
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = t
                .reader
                .page(
                    &t.officer,
                    &read(AuditParameters {
                        user: Some("nurse-1"),
                        limit: Some("4"),
                        cursor: cursor.as_deref(),
                        ..AuditParameters::default()
                    }),
                )
                .await
                .unwrap();
            seen.extend(page.entries);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), 6);
        let other = AuditRequest::parse(AuditParameters {
            from: Some("2026-11-01T00:00:00Z"),
            to: Some("2026-12-31T00:00:00Z"),
            user: Some("nurse-2"),
            cursor: cursor
                .as_deref()
                .or(Some("eyJmIjoiYSIsInAiOjAsImEiOiJ4In0")),
            ..AuditParameters::default()
        });
        assert!(matches!(
            other,
            Err(DomainError::InvalidParameter {
                parameter: "cursor",
                ..
            })
        ));
    }

    #[tokio::test]
    async fn another_clinics_trail_is_never_read() {
        let t = trail().await;
        let search = SearchRequest::parse(Some("smith"), None, None, None).unwrap();
        t.searcher
            .find_patients(&staff("nurse-1"), &search)
            .await
            .unwrap();
        let elsewhere = Caller {
            clinic_id: ClinicId::parse("c2").unwrap(),
            ..t.officer.clone()
        };
        let page = t
            .reader
            .page(&elsewhere, &read(AuditParameters::default()))
            .await
            .unwrap();
        assert!(page.entries.is_empty());
    }

    #[test]
    fn a_read_names_its_window_in_order() {
        let parse = |from, to| {
            AuditRequest::parse(AuditParameters {
                from,
                to,
                ..AuditParameters::default()
            })
        };
        let after = parse(Some("2026-12-02T00:00:00Z"), Some("2026-12-01T00:00:00Z"));
        assert!(
            after
                .unwrap_err()
                .to_string()
                .starts_with("from: is after to")
        );
        let missing = parse(None, Some("2026-12-01T00:00:00Z"));
        assert!(
            missing
                .unwrap_err()
                .to_string()
                .starts_with("from: is required")
        );
        let garbled = parse(Some("yesterday"), Some("2026-12-01T00:00:00Z"));
        assert!(garbled.unwrap_err().to_string().contains("RFC 3339"));
    }
}
