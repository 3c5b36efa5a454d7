//! The worklist against the in-memory stores: replies put appointments on it, newest
//! first; staff clear them back to the EMR's status.

use jiff::SignedDuration;

use super::*;
use crate::{
    emr_sync::{EmrSync, ResourceType},
    fakes::{FixedClock, MemoryStore},
    fhir::BC_PHN_SYSTEM,
    ids::{ClinicId, PatientId, StaffUserId},
    model::{Appointment, Patient},
    ports::AppointmentStore,
};

fn clinic() -> ClinicId {
    ClinicId::parse("c1").unwrap()
}

fn at(minutes: i64) -> Timestamp {
    "2026-12-01T16:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(minutes)
}

struct World {
    worklist: Worklist,
    store: Arc<MemoryStore>,
    staff: Caller,
}

fn world() -> World {
    let store = Arc::new(MemoryStore::default());
    World {
        worklist: Worklist {
            store: store.clone(),
            audit: store.clone(),
            clock: Arc::new(FixedClock::at(at(60))),
        },
        store,
        staff: Caller::staff(clinic(), StaffUserId::parse("staff-1").unwrap()),
    }
}

impl World {
    async fn booked(&self, id: &str) -> AppointmentId {
        let patient = Patient {
            id: PatientId::parse(&format!("p-{id}")).unwrap(),
            phn: None,
            first_name: "Ava".into(),
            last_name: "Smith".into(),
            date_of_birth: None,
            phone: None,
            email: None,
        };
        let appointment = Appointment {
            id: AppointmentId::parse(id).unwrap(),
            patient_id: patient.id.clone(),
            starts_at: at(24 * 60),
            provider_name: "Dr. Chen".into(),
            status: AppointmentStatus::Booked,
        };
        self.store
            .upsert_appointment_with_patient(
                &crate::fakes::test_clinic_key(&clinic()),
                &patient,
                &appointment,
            )
            .await
            .unwrap();
        appointment.id
    }

    async fn replied(&self, id: &AppointmentId, minutes: i64) {
        assert!(
            self.store
                .mark_unclear(&clinic(), id, at(minutes))
                .await
                .unwrap()
        );
    }

    async fn listed(&self, query: &[(&str, &str)]) -> Result<WorklistResult, DomainError> {
        let param = |name: &str| {
            query
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| *value)
        };
        let request = WorklistRequest::parse(
            Some(param("status").unwrap_or("Unclear")),
            param("from"),
            param("to"),
            param("limit"),
            param("cursor"),
            at(60),
        )?;
        self.worklist.page(&self.staff, &request).await
    }
}

fn ids(result: &WorklistResult) -> Vec<&str> {
    result
        .entries
        .iter()
        .map(|entry| entry.appointment.id.as_str())
        .collect()
}

#[tokio::test]
async fn replies_list_appointments_newest_first_until_staff_clear_them() {
    let w = world();
    let (a1, a2) = (w.booked("a1").await, w.booked("a2").await);
    w.booked("a3").await;
    w.replied(&a1, 1).await;
    w.replied(&a2, 2).await;

    let listed = w.listed(&[]).await.unwrap();
    assert_eq!(ids(&listed), ["a2", "a1"]);
    assert_eq!(listed.entries[0].replied_at, at(2));
    assert_eq!(listed.entries[0].patient.id.as_str(), "p-a2");
    assert_eq!(
        listed.entries[0].appointment.status,
        AppointmentStatus::Unclear
    );
    assert_eq!(listed.next_cursor, None);

    // A second reply moves it up.
    w.replied(&a1, 3).await;
    assert_eq!(ids(&w.listed(&[]).await.unwrap()), ["a1", "a2"]);

    assert_eq!(
        w.worklist.clear(&w.staff, &a1).await.unwrap(),
        AppointmentStatus::Booked
    );
    assert_eq!(ids(&w.listed(&[]).await.unwrap()), ["a2"]);
    let shown = w
        .store
        .get_appointment(&clinic(), &a1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shown.status, AppointmentStatus::Booked);
    let audit = w.store.audit();
    let cleared = audit
        .iter()
        .find(|entry| entry.event == "unclear-cleared")
        .expect("audited");
    assert_eq!(cleared.staff_user.as_ref().unwrap().as_str(), "staff-1");
    assert_eq!(cleared.appointment_id.as_ref(), Some(&a1));

    assert!(matches!(
        w.worklist.clear(&w.staff, &a1).await,
        Err(DomainError::NotUnclear)
    ));
    let missing = AppointmentId::parse("a-none").unwrap();
    assert!(matches!(
        w.worklist.clear(&w.staff, &missing).await,
        Err(DomainError::NotFound { .. })
    ));
    let other_clinic = Caller::staff(
        ClinicId::parse("c2").unwrap(),
        StaffUserId::parse("staff-9").unwrap(),
    );
    assert!(matches!(
        w.worklist.clear(&other_clinic, &a2).await,
        Err(DomainError::NotFound { .. })
    ));
}

#[tokio::test]
async fn the_list_pages_by_cursor_within_its_window() {
    let w = world();
    for (id, minutes) in [("a1", 1), ("a2", 2), ("a3", 3)] {
        let id = w.booked(id).await;
        w.replied(&id, minutes).await;
    }
    let first = w.listed(&[("limit", "2")]).await.unwrap();
    assert_eq!(ids(&first), ["a3", "a2"]);
    let cursor = first.next_cursor.clone().expect("a next page");
    let second = w
        .listed(&[("limit", "2"), ("cursor", &cursor)])
        .await
        .unwrap();
    assert_eq!(ids(&second), ["a1"]);
    assert_eq!(second.next_cursor, None);

    let from = at(2).to_string();
    let window = w.listed(&[("from", &from), ("to", &from)]).await.unwrap();
    assert_eq!(ids(&window), ["a2"]);
    // A cursor continues only the list of its own window.
    let refused = w
        .listed(&[("from", &from), ("cursor", &cursor)])
        .await
        .unwrap_err();
    assert!(matches!(
        refused,
        DomainError::InvalidParameter {
            parameter: "cursor",
            ..
        }
    ));
}

#[test]
fn bad_parameters_are_refused_naming_them() {
    let parse = |status, from, to| WorklistRequest::parse(status, from, to, None, None, at(0));
    let refused = |result: Result<WorklistRequest, DomainError>| match result {
        Err(DomainError::InvalidParameter { parameter, .. }) => parameter,
        other => panic!("{other:?}"),
    };
    assert_eq!(refused(parse(None, None, None)), "status");
    assert_eq!(refused(parse(Some("Booked"), None, None)), "status");
    assert_eq!(
        refused(parse(Some("Unclear"), Some("yesterday"), None)),
        "from"
    );
    assert_eq!(
        refused(parse(Some("Unclear"), None, Some("2026-13-01"))),
        "to"
    );
    assert_eq!(
        refused(parse(
            Some("Unclear"),
            Some("2026-12-02T00:00:00Z"),
            Some("2026-12-01T00:00:00Z")
        )),
        "from"
    );
    assert!(parse(Some("Unclear"), Some("2026-12-01T00:00:00-08:00"), None).is_ok());
}

#[tokio::test]
async fn a_resync_keeps_the_appointment_listed_and_clearing_shows_the_emrs_latest_status() {
    let w = world();
    let sync = EmrSync {
        records: w.store.clone(),
        clinics: w.store.clone(),
        keyring: crate::fakes::test_keyring(&w.store, &[&clinic()]),
    };
    let put = |kind, id: &str, body: serde_json::Value| {
        let sync = &sync;
        let id = id.to_owned();
        async move {
            let answer = sync
                .put(&clinic(), kind, &id, &serde_json::to_vec(&body).unwrap())
                .await;
            assert!(answer.status < 300, "{answer:?}");
        }
    };
    put(
        ResourceType::Patient,
        "p1",
        serde_json::json!({
            "resourceType": "Patient", "id": "p1",
            "identifier": [{"system": BC_PHN_SYSTEM, "value": "9698658215"}],
            "name": [{"family": "Smith", "given": ["Ava"]}]
        }),
    )
    .await;
    let appointment = |status: &str| {
        serde_json::json!({
            "resourceType": "Appointment", "id": "a1", "status": status,
            "start": "2026-12-11T19:15:00Z",
            "participant": [{"actor": {"reference": "Patient/p1"}}]
        })
    };
    put(ResourceType::Appointment, "a1", appointment("booked")).await;
    let a1 = AppointmentId::parse("a1").unwrap();
    w.replied(&a1, 5).await;
    put(ResourceType::Appointment, "a1", appointment("arrived")).await;

    let listed = w.listed(&[]).await.unwrap();
    assert_eq!(ids(&listed), ["a1"]);
    assert_eq!(listed.entries[0].replied_at, at(5));
    assert_eq!(
        w.worklist.clear(&w.staff, &a1).await.unwrap(),
        AppointmentStatus::Arrived
    );
}

#[tokio::test]
async fn a_list_up_to_now_pages_on_while_time_passes() {
    let w = world();
    for (id, minutes) in [("a1", 1), ("a2", 2)] {
        let id = w.booked(id).await;
        w.replied(&id, minutes).await;
    }
    let first = w.listed(&[("limit", "1")]).await.unwrap();
    let cursor = first.next_cursor.expect("a next page");
    // The next page is asked for later, `to` left out again.
    let later = WorklistRequest::parse(
        Some("Unclear"),
        None,
        None,
        Some("1"),
        Some(&cursor),
        at(90),
    )
    .expect("the cursor continues its list");
    let second = w.worklist.page(&w.staff, &later).await.unwrap();
    assert_eq!(ids(&second), ["a1"]);
}
