//! AppointmentStore: an appointment, its patient and the patient's lookup keys, written in
//! one go; statuses set on existing appointments only.

use domain::{
    appointment_status::AppointmentStatus,
    email::Email,
    ids::AppointmentId,
    model::{AppointmentCard, Patient},
    patient_keys::{LookupKey, Part, email_key, lookup_keys, name_key, phn_key, phone_key},
    phn::Phn,
    ports::{AppointmentStore, DirectoryEntry, DirectoryQuery, SendStore},
};

use super::{
    StorePorts, StoreUnderTest,
    records::{appointment, clinic_id, key, patient, patient_number, t0, t0_plus},
};
use crate::sentinels::{NEW_PHN, PHN};

/// Every entry under the lookup key `pk` of clinic-a.
async fn entries(store: &impl StorePorts, pk: &str) -> Vec<DirectoryEntry> {
    let page = store
        .lookup(&DirectoryQuery::all_under(
            &key(&clinic_id("clinic-a")),
            pk,
            100,
        ))
        .await
        .unwrap();
    assert!(page.exhausted);
    page.entries
}

fn ids(entries: &[DirectoryEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.patient.id.as_str()).collect()
}

pub async fn an_appointment_and_its_patient_read_back_as_written(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let (a, b) = (clinic_id("clinic-a"), clinic_id("clinic-b"));
    let ava = patient("p-ava", 704);
    let visit = appointment("a-1", &ava, t0_plus(3600));
    store
        .upsert_appointment_with_patient(&key(&a), &ava, &visit)
        .await
        .unwrap();

    assert_eq!(
        store.get_patient(&a, &ava.id).await.unwrap(),
        Some(ava.clone())
    );
    assert_eq!(
        store.get_appointment(&a, &visit.id).await.unwrap(),
        Some(visit.clone())
    );
    assert_eq!(store.get_patient(&b, &ava.id).await.unwrap(), None);
    assert_eq!(store.get_appointment(&b, &visit.id).await.unwrap(), None);
    let unknown = AppointmentId::parse("a-9").unwrap();
    assert_eq!(store.get_appointment(&a, &unknown).await.unwrap(), None);
}

/// DynamoDB keeps an appointment's start as sortable text, to the second.
pub async fn appointment_times_are_kept_to_the_second(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let a = clinic_id("clinic-a");
    let ava = patient("p-ava", 705);
    let whole = t0_plus(3600);
    let visit = appointment("a-1", &ava, whole + jiff::SignedDuration::from_millis(750));
    store
        .upsert_appointment_with_patient(&key(&a), &ava, &visit)
        .await
        .unwrap();

    let stored = store.get_appointment(&a, &visit.id).await.unwrap().unwrap();
    assert_eq!(stored.starts_at, whole);
}

pub async fn an_upsert_moves_the_patients_lookup_keys_in_one_go(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let a = clinic_id("clinic-a");
    let before = patient("p-ava", 706);
    let first = appointment("a-1", &before, t0_plus(3600));
    store
        .upsert_appointment_with_patient(&key(&a), &before, &first)
        .await
        .unwrap();

    let mut after = patient("p-ava", 707);
    after.phn = Some(Phn::parse(NEW_PHN).unwrap());
    after.email = Some(Email::parse("sentinel.moved@example.com").unwrap());
    after.first_name = "Sentinelnew".into();
    after.last_name = "Sentinelchanged".into();
    let second = appointment("a-2", &after, t0_plus(7200));
    store
        .upsert_appointment_with_patient(&key(&a), &after, &second)
        .await
        .unwrap();

    let (old_keys, new_keys) = (
        lookup_keys(&key(&a), &before),
        lookup_keys(&key(&a), &after),
    );
    let moved: Vec<_> = old_keys.difference(&new_keys).collect();
    // The PHN, the number, the email and every first-name prefix moved ("renee sentinelle"
    // has twelve indexed); of the last name's ("sentinel bedard" to "sentinelchanged"),
    // those longer than their common "sentinel".
    assert_eq!(moved.len(), 3 + 12 + 4);
    assert!(moved.iter().any(|gone| gone.pk == phn_key(&key(&a), PHN)));
    for gone in moved {
        assert!(
            entries(store, &gone.pk).await.is_empty(),
            "an old key was left behind"
        );
    }
    let cards = [AppointmentCard::of(&first), AppointmentCard::of(&second)];
    for current in &new_keys {
        let found = entries(store, &current.pk).await;
        assert_eq!(ids(&found), ["p-ava"]);
        assert_eq!(found[0].sort_key, "p-ava");
        assert_eq!(found[0].patient, after);
        assert_eq!(found[0].appointments, cards);
    }
    assert!(new_keys.contains(&LookupKey {
        pk: email_key(&key(&a), "sentinel.moved@example.com"),
        sk: "p-ava".into()
    }));
    assert!(new_keys.contains(&LookupKey {
        pk: name_key(&key(&a), Part::First, "sentinelnew"),
        sk: "p-ava".into()
    }));
    assert_eq!(store.get_patient(&a, &after.id).await.unwrap(), Some(after));
}

pub async fn a_patients_cards_keep_one_per_appointment_in_start_order(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let a = clinic_id("clinic-a");
    let ava = patient("p-ava", 708);
    let later = appointment("a-1", &ava, t0_plus(7200));
    let earlier = appointment("a-2", &ava, t0_plus(3600));
    store
        .upsert_appointment_with_patient(&key(&a), &ava, &later)
        .await
        .unwrap();
    store
        .upsert_appointment_with_patient(&key(&a), &ava, &earlier)
        .await
        .unwrap();
    let mut moved = later.clone();
    moved.starts_at = t0_plus(1800);
    store
        .upsert_appointment_with_patient(&key(&a), &ava, &moved)
        .await
        .unwrap();

    let found = entries(
        store,
        &phone_key(&key(&a), ava.phone.as_ref().unwrap().as_e164()),
    )
    .await;
    assert_eq!(
        found[0].appointments,
        [AppointmentCard::of(&moved), AppointmentCard::of(&earlier)]
    );
}

pub async fn every_upsert_of_a_patient_bumps_its_version(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let a = clinic_id("clinic-a");
    let ava: Patient = patient("p-ava", 709);
    let visit = appointment("a-1", &ava, t0_plus(3600));
    assert_eq!(store.patient_record(&a, &ava.id).await.unwrap(), None);

    store
        .upsert_appointment_with_patient(&key(&a), &ava, &visit)
        .await
        .unwrap();
    let first = store.patient_record(&a, &ava.id).await.unwrap().unwrap();
    assert_eq!(first.patient, ava);

    let mut moved = ava.clone();
    moved.phone = Some(patient_number(710));
    store
        .upsert_appointment_with_patient(&key(&a), &moved, &visit)
        .await
        .unwrap();
    let second = store.patient_record(&a, &ava.id).await.unwrap().unwrap();
    assert_eq!(second.patient, moved);
    assert!(second.version > first.version);
}

pub async fn only_an_existing_appointment_is_marked_unclear(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let (a, b) = (clinic_id("clinic-a"), clinic_id("clinic-b"));
    let ava = patient("p-ava", 711);
    let visit = appointment("a-1", &ava, t0_plus(3600));
    store
        .upsert_appointment_with_patient(&key(&a), &ava, &visit)
        .await
        .unwrap();

    let unknown = AppointmentId::parse("a-9").unwrap();
    assert!(!store.mark_unclear(&a, &unknown, t0()).await.unwrap());
    assert_eq!(
        store.get_appointment(&a, &unknown).await.unwrap(),
        None,
        "marking created an appointment"
    );
    assert!(!store.mark_unclear(&b, &visit.id, t0()).await.unwrap());
    assert_eq!(store.get_appointment(&b, &visit.id).await.unwrap(), None);
    assert_eq!(
        store
            .get_appointment(&a, &visit.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        AppointmentStatus::Booked
    );

    assert!(store.mark_unclear(&a, &visit.id, t0()).await.unwrap());
    let stored = store.get_appointment(&a, &visit.id).await.unwrap().unwrap();
    assert_eq!(stored.status, AppointmentStatus::Unclear);
    assert_eq!(stored.starts_at, visit.starts_at);
}
