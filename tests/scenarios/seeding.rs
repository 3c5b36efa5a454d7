//! The demo clinic that `infra/local/run` serves.

use aws::system::SystemClock;
use domain::{
    clinic_keyring::ClinicKeyring,
    ids::{AppointmentId, PatientId},
    ports::{AppointmentStore, ClinicStore},
};
use integration_tests::TestStack;
use local_stack::seed::{DemoData, seed};

#[tokio::test]
async fn demo_clinic_has_what_the_demo_needs() {
    let test = TestStack::new().await;
    let data = DemoData::load().unwrap();
    let now = jiff::Timestamp::now();
    let keys = test.stack.key_service();
    let clinic = seed(&test.store, &keys, &data, now).await.expect("seeded");

    assert_eq!(
        test.store.get_clinic(&clinic.id).await.unwrap(),
        Some(clinic.clone())
    );
    // Its root key, as onboarding makes one, opens into the clinic's key.
    let keyring = ClinicKeyring::new(
        std::sync::Arc::new(keys),
        std::sync::Arc::new(test.store.clone()),
        std::sync::Arc::new(SystemClock),
    );
    assert_eq!(keyring.key(&clinic.id).await.unwrap().clinic(), &clinic.id);
    assert!(
        !test
            .store
            .list_templates(&clinic.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!test.store.list_chats(&clinic.id).await.unwrap().is_empty());

    let without_phn = data.patients.iter().filter(|p| p.phn.is_none()).count();
    assert!(without_phn >= 1, "a patient without a PHN");
    let smiths = data
        .patients
        .iter()
        .filter(|p| p.first_name == "John" && p.last_name == "Smith")
        .count();
    assert_eq!(smiths, 2, "two patients with the same name");

    let window = clinic.search_window(now);
    let mut before_activation = 0;
    let (mut past, mut upcoming) = (0, 0);
    for patient in &data.patients {
        let stored = test
            .store
            .get_patient(&clinic.id, &PatientId::parse(patient.id.as_str()).unwrap())
            .await;
        assert!(stored.unwrap().is_some());
        for visit in &patient.appointments {
            let id = AppointmentId::parse(visit.id.as_str()).unwrap();
            let appointment = test
                .store
                .get_appointment(&clinic.id, &id)
                .await
                .unwrap()
                .expect("stored");
            if !window.contains(appointment.starts_at) {
                before_activation += 1;
            } else if appointment.starts_at < now {
                past += 1;
            } else {
                upcoming += 1;
            }
        }
    }
    assert!(
        before_activation >= 1,
        "an appointment before the clinic's activation"
    );
    assert!(past >= 1 && upcoming >= 1, "past and upcoming appointments");
}

#[tokio::test]
async fn the_second_demo_clinic_shares_names_with_the_first_and_nothing_else() {
    let test = TestStack::new().await;
    let [first, second] = DemoData::all().unwrap();
    let now = jiff::Timestamp::now();
    let keys = test.stack.key_service();
    let first = seed(&test.store, &keys, &first, now).await.unwrap();
    let second_clinic = seed(&test.store, &keys, &second, now).await.unwrap();
    assert_ne!(first.sms_number, second_clinic.sms_number);

    let smiths = |clinic: &str| {
        let call = integration_tests::with_query(
            integration_tests::staff_call(clinic, "GET /patients", &[]),
            &[("q", "Smith"), ("by", "name")],
        );
        let test = &test;
        async move {
            let found = test
                .call_showing_phi("search", &call, "each clinic sees its own patients")
                .await;
            assert_eq!(found.status(), 200);
            let mut ids: Vec<String> = integration_tests::body_json(&found)["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item["patient"]["id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    let theirs = smiths(second_clinic.id.as_str()).await;
    assert_eq!(theirs, ["p2-ava-smith", "p2-john-smith"]);
    let ours = smiths(first.id.as_str()).await;
    assert!(!ours.is_empty());
    assert!(ours.iter().all(|id| !id.starts_with("p2-")), "{ours:?}");

    let across = integration_tests::staff_call(
        first.id.as_str(),
        "GET /appointments/{appointmentId}",
        &[("appointmentId", "b-ava-upcoming")],
    );
    assert_eq!(test.call("search", &across).await.status(), 404);
}
