//! EmrRecords: the EMR's writes, in its update order; a reply's `Unclear` survives a
//! re-sync; an appointment's card follows its patient; health numbers find patients.

use domain::{
    appointment_status::AppointmentStatus,
    language::Language,
    patient_keys::phn_key,
    phn::Phn,
    ports::{
        AppointmentStore, AppointmentSync, BatchSynced, DirectoryQuery, EmrRecords,
        PatientDirectory, PatientSync, SyncBatch, Synced,
    },
    update_order::UpdateOrder,
};

use super::{
    StoreUnderTest,
    records::{appointment, clinic_id, key, patient, t0_plus},
};
use crate::sentinels::{NEW_PHN, PHN};

fn order(seconds: i64, version: &str) -> UpdateOrder {
    UpdateOrder::new(Some(t0_plus(seconds)), Some(version))
}

fn patient_sync(patient: &domain::model::Patient, order: UpdateOrder) -> PatientSync {
    PatientSync {
        patient: patient.clone(),
        language: Some(Language::Fr),
        order,
    }
}

/// Syncs `patient` at `order` in `clinic`; what became of it.
async fn sync(
    store: &impl EmrRecords,
    clinic: &domain::ids::ClinicId,
    patient: &domain::model::Patient,
    order: UpdateOrder,
) -> Synced {
    store
        .sync_patient(&key(clinic), &patient_sync(patient, order))
        .await
        .unwrap()
}

pub async fn a_patient_is_written_then_updated_with_versions(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let a = clinic_id("clinic-a");
    let ava = patient("p-ava", 801);
    let first = sync(store, &a, &ava, order(0, "1")).await;
    assert_eq!(first, Synced::Written { version: 1 });
    let renamed = domain::model::Patient {
        phn: Some(Phn::parse(NEW_PHN).unwrap()),
        ..ava.clone()
    };
    let second = sync(store, &a, &renamed, order(60, "2")).await;
    assert_eq!(second, Synced::Written { version: 2 });
    assert_eq!(store.get_patient(&a, &ava.id).await.unwrap(), Some(renamed));
    // The lookup key of the old PHN is gone, the new one finds the patient.
    let old = store
        .lookup(&DirectoryQuery::all_under(
            &key(&a),
            &phn_key(&key(&a), PHN),
            5,
        ))
        .await
        .unwrap();
    assert!(old.entries.is_empty());
    let new = Phn::parse(NEW_PHN).unwrap();
    assert_eq!(
        store
            .patient_with_health_number(&key(&a), &new)
            .await
            .unwrap(),
        Some(ava.id.clone())
    );
}

pub async fn an_older_patient_update_changes_nothing(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let a = clinic_id("clinic-a");
    let ava = patient("p-ava", 802);
    sync(store, &a, &ava, order(60, "2")).await;
    let older = domain::model::Patient {
        phn: Some(Phn::parse(NEW_PHN).unwrap()),
        ..ava.clone()
    };
    let answer = sync(store, &a, &older, order(0, "1")).await;
    assert_eq!(answer, Synced::Stale { version: 1 });
    assert_eq!(store.get_patient(&a, &ava.id).await.unwrap(), Some(ava));
    // The same update again is written again (a replay changes nothing).
    let same = patient("p-ava", 802);
    let replay = sync(store, &a, &same, order(60, "2")).await;
    assert_eq!(replay, Synced::Written { version: 2 });
}

pub async fn an_appointment_needs_its_patient_and_lands_in_their_cards(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let a = clinic_id("clinic-a");
    let ava = patient("p-ava", 803);
    let visit = appointment("a-1", &ava, t0_plus(3600));
    let update = AppointmentSync {
        appointment: visit.clone(),
        order: order(0, "1"),
    };
    assert_eq!(
        store.sync_appointment(&key(&a), &update).await.unwrap(),
        Synced::NoPatient
    );
    assert_eq!(store.get_appointment(&a, &visit.id).await.unwrap(), None);
    sync(store, &a, &ava, order(0, "1")).await;
    assert_eq!(
        store.sync_appointment(&key(&a), &update).await.unwrap(),
        Synced::Written { version: 1 }
    );
    assert_eq!(
        store.get_appointment(&a, &visit.id).await.unwrap(),
        Some(visit.clone())
    );
    let page = store
        .lookup(&DirectoryQuery::all_under(
            &key(&a),
            &phn_key(&key(&a), PHN),
            5,
        ))
        .await
        .unwrap();
    let cards: Vec<&str> = page.entries[0]
        .appointments
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(cards, ["a-1"]);
}

pub async fn an_older_appointment_update_changes_nothing(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let a = clinic_id("clinic-a");
    let ava = patient("p-ava", 804);
    sync(store, &a, &ava, order(0, "1")).await;
    let visit = appointment("a-1", &ava, t0_plus(3600));
    let newer = AppointmentSync {
        appointment: domain::model::Appointment {
            status: AppointmentStatus::Arrived,
            ..visit.clone()
        },
        order: order(120, "3"),
    };
    store.sync_appointment(&key(&a), &newer).await.unwrap();
    let older = AppointmentSync {
        appointment: domain::model::Appointment {
            status: AppointmentStatus::Cancelled,
            ..visit.clone()
        },
        order: order(60, "2"),
    };
    assert_eq!(
        store.sync_appointment(&key(&a), &older).await.unwrap(),
        Synced::Stale { version: 1 }
    );
    let stored = store.get_appointment(&a, &visit.id).await.unwrap().unwrap();
    assert_eq!(stored.status, AppointmentStatus::Arrived);
}

pub async fn a_resync_keeps_unclear_until_staff_clear_it(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let a = clinic_id("clinic-a");
    let ava = patient("p-ava", 805);
    sync(store, &a, &ava, order(0, "1")).await;
    let visit = appointment("a-1", &ava, t0_plus(3600));
    let sync = |status, seconds, version| AppointmentSync {
        appointment: domain::model::Appointment {
            status,
            ..visit.clone()
        },
        order: order(seconds, version),
    };
    store
        .sync_appointment(&key(&a), &sync(AppointmentStatus::Booked, 0, "1"))
        .await
        .unwrap();
    assert!(
        store
            .mark_unclear(&a, &visit.id, jiff::Timestamp::now())
            .await
            .unwrap()
    );
    let answer = store
        .sync_appointment(&key(&a), &sync(AppointmentStatus::Arrived, 60, "2"))
        .await
        .unwrap();
    assert_eq!(answer, Synced::Written { version: 2 });
    let stored = store.get_appointment(&a, &visit.id).await.unwrap().unwrap();
    assert_eq!(stored.status, AppointmentStatus::Unclear);
}

pub async fn an_appointment_moved_to_another_patient_leaves_the_first_ones_cards(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let a = clinic_id("clinic-a");
    let ava = patient("p-ava", 806);
    let ben = domain::model::Patient {
        phn: Some(Phn::parse(NEW_PHN).unwrap()),
        ..patient("p-ben", 807)
    };
    for (someone, seconds) in [(&ava, 0), (&ben, 1)] {
        sync(store, &a, someone, order(seconds, "1")).await;
    }
    let visit = appointment("a-1", &ava, t0_plus(3600));
    store
        .sync_appointment(
            &key(&a),
            &AppointmentSync {
                appointment: visit.clone(),
                order: order(0, "1"),
            },
        )
        .await
        .unwrap();
    let moved = appointment("a-1", &ben, t0_plus(3600));
    store
        .sync_appointment(
            &key(&a),
            &AppointmentSync {
                appointment: moved,
                order: order(60, "2"),
            },
        )
        .await
        .unwrap();
    let cards = |entries: Vec<domain::ports::DirectoryEntry>| -> Vec<String> {
        entries[0]
            .appointments
            .iter()
            .map(|card| card.id.to_string())
            .collect()
    };
    let ava_page = store
        .lookup(&DirectoryQuery::all_under(
            &key(&a),
            &phn_key(&key(&a), PHN),
            5,
        ))
        .await
        .unwrap();
    let ben_page = store
        .lookup(&DirectoryQuery::all_under(
            &key(&a),
            &phn_key(&key(&a), NEW_PHN),
            5,
        ))
        .await
        .unwrap();
    assert_eq!(cards(ava_page.entries), Vec::<String>::new());
    assert_eq!(cards(ben_page.entries), ["a-1"]);
}

pub async fn a_health_number_finds_only_its_clinics_patient(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let (a, b) = (clinic_id("clinic-a"), clinic_id("clinic-b"));
    let ava = patient("p-ava", 808);
    sync(store, &a, &ava, order(0, "1")).await;
    let phn = Phn::parse(PHN).unwrap();
    assert_eq!(
        store
            .patient_with_health_number(&key(&a), &phn)
            .await
            .unwrap(),
        Some(ava.id)
    );
    assert_eq!(
        store
            .patient_with_health_number(&key(&b), &phn)
            .await
            .unwrap(),
        None
    );
}

pub async fn a_batch_is_written_together_each_patient_once(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let a = clinic_id("clinic-a");
    let ava = patient("p-ava", 809);
    let batch = SyncBatch {
        patients: vec![patient_sync(&ava, order(0, "1"))],
        appointments: ["a-1", "a-2"]
            .into_iter()
            .enumerate()
            .map(|(n, id)| AppointmentSync {
                appointment: appointment(id, &ava, t0_plus(3600 * (n as i64 + 1))),
                order: order(0, "1"),
            })
            .collect(),
    };
    let answer = store.sync_together(&key(&a), &batch).await.unwrap();
    assert_eq!(
        answer,
        BatchSynced::Written {
            patients: vec![Synced::Written { version: 1 }],
            appointments: vec![
                Synced::Written { version: 1 },
                Synced::Written { version: 1 }
            ],
        }
    );
    let page = store
        .lookup(&DirectoryQuery::all_under(
            &key(&a),
            &phn_key(&key(&a), PHN),
            5,
        ))
        .await
        .unwrap();
    let cards: Vec<&str> = page.entries[0]
        .appointments
        .iter()
        .map(|card| card.id.as_str())
        .collect();
    assert_eq!(cards, ["a-1", "a-2"]);
}

pub async fn a_batch_with_an_unknown_patient_writes_nothing(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let a = clinic_id("clinic-a");
    let ava = patient("p-ava", 810);
    let stranger = patient("p-nobody", 811);
    let batch = SyncBatch {
        patients: vec![patient_sync(&ava, order(0, "1"))],
        appointments: vec![
            AppointmentSync {
                appointment: appointment("a-1", &ava, t0_plus(3600)),
                order: order(0, "1"),
            },
            AppointmentSync {
                appointment: appointment("a-2", &stranger, t0_plus(7200)),
                order: order(0, "1"),
            },
        ],
    };
    assert_eq!(
        store.sync_together(&key(&a), &batch).await.unwrap(),
        BatchSynced::NoPatient { appointment: 1 }
    );
    assert_eq!(store.get_patient(&a, &ava.id).await.unwrap(), None);
    let page = store
        .lookup(&DirectoryQuery::all_under(
            &key(&a),
            &phn_key(&key(&a), PHN),
            5,
        ))
        .await
        .unwrap();
    assert!(page.entries.is_empty());
}

pub async fn a_batch_larger_than_one_transaction_writes_nothing(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let a = clinic_id("clinic-a");
    // Each new patient is 6 items (the patient and 5 lookup keys): 17 patients are 102.
    let patients: Vec<PatientSync> = (0..17)
        .map(|n| patient_sync(&patient(&format!("p-{n}"), 820 + n), order(0, "1")))
        .collect();
    let batch = SyncBatch {
        patients,
        appointments: Vec::new(),
    };
    assert_eq!(
        store.sync_together(&key(&a), &batch).await.unwrap(),
        BatchSynced::TooLarge
    );
    let first = domain::ids::PatientId::parse("p-0").unwrap();
    assert_eq!(store.get_patient(&a, &first).await.unwrap(), None);
}
