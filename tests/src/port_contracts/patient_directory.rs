//! PatientDirectory: one Query of a lookup key, in pages.

use domain::{
    ids::ClinicId,
    model::{AppointmentCard, Patient},
    patient_keys::{Part, name_key, phn_key},
    ports::{AppointmentStore, DirectoryPage, DirectoryQuery, PatientDirectory},
};

use super::{
    StorePorts, StoreUnderTest,
    records::{appointment, clinic_id, key, named_patient, patient, t0_plus},
};
use crate::sentinels::PHN;

/// Five patients, written out of order, all under the last-name partition of "sentinel".
async fn five_patients(store: &impl StorePorts) -> ClinicId {
    let clinic = clinic_id("clinic-a");
    let patients = [
        named_patient("p-4", "Sentineldan", "Sentinelcole"),
        named_patient("p-2", "Sentinelben", "Sentinelbrook"),
        named_patient("p-5", "Sentineleve", "Sentinelbaker"),
        named_patient("p-1", "Sentinelanna", "Sentinelbrook"),
        named_patient("p-3", "Sentinelcara", "Sentinelbrown"),
    ];
    for (n, patient) in patients.iter().enumerate() {
        let visit = appointment(&format!("a-{n}"), patient, t0_plus(3600 * (n as i64 + 1)));
        store
            .upsert_appointment_with_patient(&key(&clinic), patient, &visit)
            .await
            .unwrap();
    }
    clinic
}

fn ids(page: &DirectoryPage) -> Vec<&str> {
    page.entries.iter().map(|e| e.patient.id.as_str()).collect()
}

fn last_names(clinic: &ClinicId) -> String {
    name_key(&key(clinic), Part::Last, "sentinel")
}

pub async fn lookups_return_the_entries_under_their_key_in_sort_key_order(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let clinic = five_patients(store).await;
    let page = store
        .lookup(&DirectoryQuery::all_under(
            &key(&clinic),
            &last_names(&clinic),
            10,
        ))
        .await
        .unwrap();
    assert_eq!(ids(&page), ["p-1", "p-2", "p-3", "p-4", "p-5"]);
    assert!(page.exhausted);
    assert_eq!(page.items_read, 5);
    assert_eq!(page.entries[0].sort_key, "p-1");
    assert_eq!(page.entries[0].patient.last_name, "Sentinelbrook");
    assert_eq!(page.entries[0].appointments.len(), 1);
}

pub async fn a_lookup_pages_on_after_the_last_sort_key(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let clinic = five_patients(store).await;
    let (clinic_key, lookup_key) = (key(&clinic), last_names(&clinic));

    let first = store
        .lookup(&DirectoryQuery::all_under(&clinic_key, &lookup_key, 3))
        .await
        .unwrap();
    assert_eq!(ids(&first), ["p-1", "p-2", "p-3"]);
    assert!(!first.exhausted, "two are left");

    let after = first.entries.last().unwrap().sort_key.clone();
    let second = store
        .lookup(&DirectoryQuery {
            key: &clinic_key,
            lookup_key: &lookup_key,
            after: Some(&after),
            limit: 3,
        })
        .await
        .unwrap();
    assert_eq!(ids(&second), ["p-4", "p-5"]);
    assert!(
        second.exhausted,
        "a page shorter than its limit is the last"
    );
}

/// DynamoDB stops at the limit without looking further, so a full page may not know it is
/// the last (the emulator knows when the partition holds exactly the limit; the in-memory
/// store never does, like DynamoDB): asked once more after it, the store answers an empty,
/// exhausted page, which is how a search ends either way.
pub async fn after_a_full_page_the_next_is_empty_and_the_last(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let clinic = five_patients(store).await;
    let (clinic_key, lookup_key) = (key(&clinic), last_names(&clinic));

    let full = store
        .lookup(&DirectoryQuery::all_under(&clinic_key, &lookup_key, 5))
        .await
        .unwrap();
    assert_eq!(full.entries.len(), 5);

    let after = full.entries.last().unwrap().sort_key.clone();
    let next = store
        .lookup(&DirectoryQuery {
            key: &clinic_key,
            lookup_key: &lookup_key,
            after: Some(&after),
            limit: 5,
        })
        .await
        .unwrap();
    assert!(next.entries.is_empty());
    assert!(next.exhausted);
    assert_eq!(next.items_read, 0);
}

pub async fn an_exact_key_finds_its_patient_and_an_unknown_key_nothing(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let clinic = clinic_id("clinic-a");
    let ava: Patient = patient("p-ava", 712);
    let visit = appointment("a-1", &ava, t0_plus(3600));
    store
        .upsert_appointment_with_patient(&key(&clinic), &ava, &visit)
        .await
        .unwrap();

    let page = store
        .lookup(&DirectoryQuery::all_under(
            &key(&clinic),
            &phn_key(&key(&clinic), PHN),
            5,
        ))
        .await
        .unwrap();
    assert_eq!(ids(&page), ["p-ava"]);
    assert_eq!(page.entries[0].patient, ava);
    assert_eq!(page.entries[0].appointments, [AppointmentCard::of(&visit)]);
    assert!(page.exhausted);

    let other = clinic_id("clinic-b");
    let none = store
        .lookup(&DirectoryQuery::all_under(
            &key(&other),
            &phn_key(&key(&other), PHN),
            5,
        ))
        .await
        .unwrap();
    assert!(none.entries.is_empty());
    assert!(none.exhausted);
    assert_eq!(none.items_read, 0);
}

/// Entries are sealed under the clinic's key: read with another key, the store refuses
/// them rather than answer what it cannot vouch for.
pub async fn an_entry_opens_only_with_its_clinics_key(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let clinic = five_patients(store).await;
    let lookup_key = last_names(&clinic);
    let other = key(&clinic_id("clinic-b"));
    let refused = store
        .lookup(&DirectoryQuery::all_under(&other, &lookup_key, 10))
        .await
        .unwrap_err();
    assert_eq!(refused.code, "SealedEntryNotOpened");
}
