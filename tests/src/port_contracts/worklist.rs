//! UnclearWorklist: the clinic's appointments a patient replied to, newest reply first,
//! in their window and by page; clearing shows the EMR's status again.

use domain::{
    appointment_status::AppointmentStatus,
    ids::AppointmentId,
    model::Appointment,
    ports::{
        AppointmentStore, AppointmentSync, Cleared, EmrRecords, UnclearWorklist, WorklistQuery,
    },
    update_order::UpdateOrder,
};
use jiff::Timestamp;

use super::{
    StorePorts, StoreUnderTest,
    records::{appointment, clinic_id, key, patient, t0, t0_plus},
};

/// Books `ids` for clinic `a`'s patients, one patient each.
async fn booked(store: &impl StorePorts, clinic: &str, ids: &[&str]) -> Vec<Appointment> {
    let mut booked = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        let someone = patient(&format!("p-{id}"), 900 + n as u16);
        let visit = appointment(id, &someone, t0_plus(86_400));
        store
            .upsert_appointment_with_patient(&key(&clinic_id(clinic)), &someone, &visit)
            .await
            .unwrap();
        booked.push(visit);
    }
    booked
}

fn everything(limit: usize) -> WorklistQuery {
    WorklistQuery {
        from: Timestamp::UNIX_EPOCH,
        to: t0_plus(86_400 * 365),
        after: None,
        limit,
    }
}

async fn listed(store: &impl StorePorts, clinic: &str, query: &WorklistQuery) -> Vec<String> {
    store
        .unclear_page(&clinic_id(clinic), query)
        .await
        .unwrap()
        .entries
        .into_iter()
        .map(|entry| entry.appointment.id.to_string())
        .collect()
}

pub async fn replies_list_the_clinics_unclear_appointments_newest_first_within_the_window(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let visits = booked(store, "clinic-a", &["a-1", "a-2", "a-3", "a-4"]).await;
    booked(store, "clinic-b", &["b-1"]).await;
    let a = clinic_id("clinic-a");
    for (visit, seconds) in visits.iter().zip([60, 180, 120]) {
        assert!(
            store
                .mark_unclear(&a, &visit.id, t0_plus(seconds))
                .await
                .unwrap()
        );
    }
    let b1 = AppointmentId::parse("b-1").unwrap();
    store
        .mark_unclear(&clinic_id("clinic-b"), &b1, t0_plus(90))
        .await
        .unwrap();

    assert_eq!(
        listed(store, "clinic-a", &everything(10)).await,
        ["a-2", "a-3", "a-1"]
    );
    let page = store.unclear_page(&a, &everything(10)).await.unwrap();
    let first = &page.entries[0];
    assert_eq!(first.replied_at, t0_plus(180));
    assert_eq!(first.patient.id.as_str(), "p-a-2");
    assert_eq!(first.appointment.status, AppointmentStatus::Unclear);
    assert_eq!(first.appointment.starts_at, visits[1].starts_at);

    // A later reply moves an appointment up.
    store
        .mark_unclear(&a, &visits[0].id, t0_plus(240))
        .await
        .unwrap();
    assert_eq!(
        listed(store, "clinic-a", &everything(10)).await,
        ["a-1", "a-2", "a-3"]
    );

    let window = WorklistQuery {
        from: t0_plus(120),
        to: t0_plus(180),
        ..everything(10)
    };
    assert_eq!(listed(store, "clinic-a", &window).await, ["a-2", "a-3"]);
    assert_eq!(listed(store, "clinic-b", &everything(10)).await, ["b-1"]);
}

pub async fn a_page_continues_after_its_last_entry(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let a = clinic_id("clinic-a");
    // Two replies in the same second: their ids break the tie.
    let visits = booked(store, "clinic-a", &["a-1", "a-2", "a-3"]).await;
    for (visit, seconds) in visits.iter().zip([60, 60, 30]) {
        store
            .mark_unclear(&a, &visit.id, t0_plus(seconds))
            .await
            .unwrap();
    }
    let first = store.unclear_page(&a, &everything(2)).await.unwrap();
    let ids: Vec<&str> = first
        .entries
        .iter()
        .map(|e| e.appointment.id.as_str())
        .collect();
    assert_eq!(ids, ["a-2", "a-1"]);
    let after = first.more_after.expect("a full page may have more");
    let rest = WorklistQuery {
        after: Some(after),
        ..everything(2)
    };
    assert_eq!(listed(store, "clinic-a", &rest).await, ["a-3"]);
    let last = store.unclear_page(&a, &rest).await.unwrap();
    assert_eq!(last.more_after, None);
}

pub async fn clearing_shows_the_emr_status_again_and_takes_it_off_the_list(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let a = clinic_id("clinic-a");
    let visits = booked(store, "clinic-a", &["a-1", "a-2"]).await;
    store.mark_unclear(&a, &visits[0].id, t0()).await.unwrap();

    assert_eq!(
        store
            .clear_unclear(&clinic_id("clinic-b"), &visits[0].id)
            .await
            .unwrap(),
        Cleared::NoAppointment,
        "another clinic's appointment is not there"
    );
    assert_eq!(
        store.clear_unclear(&a, &visits[0].id).await.unwrap(),
        Cleared::Cleared {
            status: AppointmentStatus::Booked
        }
    );
    let shown = store
        .get_appointment(&a, &visits[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shown.status, AppointmentStatus::Booked);
    assert!(listed(store, "clinic-a", &everything(10)).await.is_empty());
    assert_eq!(
        store.clear_unclear(&a, &visits[0].id).await.unwrap(),
        Cleared::NotUnclear {
            status: AppointmentStatus::Booked
        }
    );
    assert_eq!(
        store.clear_unclear(&a, &visits[1].id).await.unwrap(),
        Cleared::NotUnclear {
            status: AppointmentStatus::Booked
        }
    );
    let unknown = AppointmentId::parse("a-9").unwrap();
    assert_eq!(
        store.clear_unclear(&a, &unknown).await.unwrap(),
        Cleared::NoAppointment
    );
}

pub async fn a_resync_keeps_an_unclear_appointment_on_the_list(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let a = clinic_id("clinic-a");
    let visits = booked(store, "clinic-a", &["a-1"]).await;
    store
        .mark_unclear(&a, &visits[0].id, t0_plus(60))
        .await
        .unwrap();
    let resync = AppointmentSync {
        appointment: Appointment {
            status: AppointmentStatus::Arrived,
            ..visits[0].clone()
        },
        order: UpdateOrder::new(Some(t0_plus(120)), Some("2")),
    };
    store.sync_appointment(&key(&a), &resync).await.unwrap();

    let page = store.unclear_page(&a, &everything(10)).await.unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0].replied_at, t0_plus(60));
    assert_eq!(
        store.clear_unclear(&a, &visits[0].id).await.unwrap(),
        Cleared::Cleared {
            status: AppointmentStatus::Arrived
        }
    );
}
