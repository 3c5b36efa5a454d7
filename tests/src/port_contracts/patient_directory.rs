//! PatientDirectory: one Query of a lookup key, by sort-key prefix, in pages.

use domain::{
    ids::ClinicId,
    model::{AppointmentCard, Patient},
    patient_keys::{last_name_key, phn_key},
    ports::{AppointmentStore, DirectoryPage, DirectoryQuery, PatientDirectory},
};

use super::{
    StorePorts, StoreUnderTest,
    records::{appointment, clinic_id, named_patient, patient, t0_plus},
};
use crate::sentinels::PHN;

/// Five patients by last name, written out of order; in sort-key order they are
/// Baker (p-5), Brook Anna (p-1), Brook Ben (p-2), Brown (p-3), Cole (p-4).
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
            .upsert_appointment_with_patient(&clinic, patient, &visit)
            .await
            .unwrap();
    }
    clinic
}

fn ids(page: &DirectoryPage) -> Vec<&str> {
    page.entries.iter().map(|e| e.patient.id.as_str()).collect()
}

pub async fn lookups_return_entries_under_their_prefix_in_sort_key_order(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let clinic = five_patients(store).await;
    let key = last_name_key(&clinic);

    let page = store
        .lookup(&DirectoryQuery {
            lookup_key: &key,
            sort_prefix: "sentinelbro",
            after: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(ids(&page), ["p-1", "p-2", "p-3"]);
    assert!(page.exhausted);
    assert_eq!(page.items_read, 3);
    assert_eq!(
        page.entries[0].sort_key,
        "sentinelbrook\u{1}sentinelanna\u{1}p-1"
    );
    assert_eq!(page.entries[0].appointments.len(), 1);

    let all = store
        .lookup(&DirectoryQuery::all_under(&key, 10))
        .await
        .unwrap();
    assert_eq!(ids(&all), ["p-5", "p-1", "p-2", "p-3", "p-4"]);
    assert!(all.exhausted);
}

pub async fn a_lookup_pages_on_after_the_last_sort_key(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let clinic = five_patients(store).await;
    let key = last_name_key(&clinic);

    let first = store
        .lookup(&DirectoryQuery {
            lookup_key: &key,
            sort_prefix: "sentinelb",
            after: None,
            limit: 3,
        })
        .await
        .unwrap();
    assert_eq!(ids(&first), ["p-5", "p-1", "p-2"]);
    assert!(!first.exhausted, "a fourth Sentinelb… is left");

    let after = first.entries.last().unwrap().sort_key.clone();
    let second = store
        .lookup(&DirectoryQuery {
            lookup_key: &key,
            sort_prefix: "sentinelb",
            after: Some(&after),
            limit: 3,
        })
        .await
        .unwrap();
    assert_eq!(ids(&second), ["p-3"]);
    assert!(
        second.exhausted,
        "a page shorter than its limit is the last"
    );
}

/// DynamoDB stops at the limit without looking further, so a full page never knows it is
/// the last: the caller asks once more and gets an empty, exhausted page.
pub async fn a_full_page_is_not_known_to_be_the_last(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let clinic = five_patients(store).await;
    let key = last_name_key(&clinic);

    let full = store
        .lookup(&DirectoryQuery {
            lookup_key: &key,
            sort_prefix: "sentinelbro",
            after: None,
            limit: 3,
        })
        .await
        .unwrap();
    assert_eq!(ids(&full), ["p-1", "p-2", "p-3"]);
    assert!(!full.exhausted);

    let after = full.entries.last().unwrap().sort_key.clone();
    let next = store
        .lookup(&DirectoryQuery {
            lookup_key: &key,
            sort_prefix: "sentinelbro",
            after: Some(&after),
            limit: 3,
        })
        .await
        .unwrap();
    assert!(next.entries.is_empty());
    assert!(next.exhausted);
}

pub async fn an_exact_key_finds_its_patient_and_an_unknown_key_nothing(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let clinic = clinic_id("clinic-a");
    let ava: Patient = patient("p-ava", 712);
    let visit = appointment("a-1", &ava, t0_plus(3600));
    store
        .upsert_appointment_with_patient(&clinic, &ava, &visit)
        .await
        .unwrap();

    let page = store
        .lookup(&DirectoryQuery::all_under(&phn_key(&clinic, PHN), 5))
        .await
        .unwrap();
    assert_eq!(ids(&page), ["p-ava"]);
    assert_eq!(page.entries[0].patient, ava);
    assert_eq!(page.entries[0].appointments, [AppointmentCard::of(&visit)]);
    assert!(page.exhausted);

    let other = clinic_id("clinic-b");
    let none = store
        .lookup(&DirectoryQuery::all_under(&phn_key(&other, PHN), 5))
        .await
        .unwrap();
    assert!(none.entries.is_empty());
    assert!(none.exhausted);
    assert_eq!(none.items_read, 0);
}
