//! The EMR's writes against the in-memory store: ordering, references, bundles, refusals.

use serde_json::json;

use super::*;
use crate::fhir::bundle::MAX_BUNDLE_ENTRIES;
use crate::{
    appointment_status::AppointmentStatus,
    fakes::MemoryStore,
    fhir::{BC_PHN_SYSTEM, outcome::Severity},
    ids::AppointmentId,
    ports::{AppointmentStore, ClinicStore, DirectoryQuery, PatientDirectory},
};

fn clinic() -> ClinicId {
    ClinicId::parse("c1").unwrap()
}

fn sync() -> (EmrSync, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::default());
    (
        EmrSync {
            records: store.clone(),
            clinics: store.clone(),
            keyring: crate::fakes::test_keyring(&store, &[&clinic()]),
        },
        store,
    )
}

fn patient(id: &str, version: &str, family: &str) -> serde_json::Value {
    json!({
        "resourceType": "Patient",
        "id": id,
        "meta": {"versionId": version, "lastUpdated": format!("2026-11-30T17:0{version}:00Z")},
        "identifier": [{"system": BC_PHN_SYSTEM, "value": "9698658215"}],
        "name": [{"family": family, "given": ["Ava"]}],
        "telecom": [{"system": "phone", "value": "604 555 0123", "use": "mobile"}]
    })
}

fn appointment(id: &str, patient_reference: serde_json::Value, status: &str) -> serde_json::Value {
    json!({
        "resourceType": "Appointment",
        "id": id,
        "status": status,
        "start": "2026-12-11T19:15:00Z",
        "participant": [
            {"actor": patient_reference},
            {"actor": {"reference": "Practitioner/p9", "display": "Dr. Chen"}}
        ]
    })
}

fn body(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

/// Puts `patient(id, version, family)`.
async fn put_patient(sync: &EmrSync, id: &str, version: &str, family: &str) -> SyncAnswer {
    put(
        sync,
        ResourceType::Patient,
        id,
        &patient(id, version, family),
    )
    .await
}

async fn stored_last_name(store: &MemoryStore, id: &str) -> String {
    let stored = store
        .get_patient(&clinic(), &PatientId::parse(id).unwrap())
        .await
        .unwrap();
    stored.expect("stored").last_name
}

async fn put(
    sync: &EmrSync,
    kind: ResourceType,
    id: &str,
    value: &serde_json::Value,
) -> SyncAnswer {
    sync.put(&clinic(), kind, id, &body(value)).await
}

#[tokio::test]
async fn a_new_patient_is_created_then_updated_with_versions_and_etags() {
    let (sync, store) = sync();
    let created = put_patient(&sync, "p1", "1", "Smith").await;
    assert_eq!(created.status, 201);
    assert_eq!(created.etag().as_deref(), Some("W/\"1\""));
    assert_eq!(created.location().as_deref(), Some("Patient/p1/_history/1"));
    let updated = put_patient(&sync, "p1", "2", "Jones").await;
    assert_eq!(
        (updated.status, updated.etag().as_deref()),
        (200, Some("W/\"2\""))
    );
    assert_eq!(stored_last_name(&store, "p1").await, "Jones");
}

#[tokio::test]
async fn an_older_update_is_acknowledged_and_ignored() {
    let (sync, store) = sync();
    put_patient(&sync, "p1", "3", "Newer").await;
    let older = put_patient(&sync, "p1", "2", "Older").await;
    assert_eq!(older.status, 200);
    assert_eq!(older.etag().as_deref(), Some("W/\"1\""));
    let outcome = older.outcome.expect("says it was ignored");
    assert!(outcome.issue[0].diagnostics.contains("ignored"));
    assert_eq!(stored_last_name(&store, "p1").await, "Newer");
}

#[tokio::test]
async fn an_appointment_by_health_number_is_findable_with_its_patient() {
    let (sync, store) = sync();
    put_patient(&sync, "p1", "1", "Smith").await;
    let reference = json!({"reference": format!("Patient?identifier={BC_PHN_SYSTEM}|9698658215")});
    let answer = put(
        &sync,
        ResourceType::Appointment,
        "a1",
        &appointment("a1", reference, "booked"),
    )
    .await;
    assert_eq!(answer.status, 201, "{answer:?}");
    let key = crate::fakes::test_clinic_key(&clinic());
    let page = store
        .lookup(&DirectoryQuery::all_under(
            &key,
            &crate::patient_keys::phn_key(&key, "9698658215"),
            5,
        ))
        .await
        .unwrap();
    assert_eq!(page.entries[0].appointments[0].id.as_str(), "a1");
}

#[tokio::test]
async fn an_appointment_of_an_unknown_patient_is_refused() {
    let (sync, _) = sync();
    let answer = put(
        &sync,
        ResourceType::Appointment,
        "a1",
        &appointment("a1", json!({"reference": "Patient/nobody"}), "booked"),
    )
    .await;
    assert_eq!(answer.status, 422);
    assert!(
        answer.outcome.unwrap().issue[0]
            .diagnostics
            .contains("send the Patient first")
    );
}

#[tokio::test]
async fn a_resync_keeps_unclear_set_by_a_reply() {
    let (sync, store) = sync();
    put_patient(&sync, "p1", "1", "Smith").await;
    let reference = json!({"reference": "Patient/p1"});
    put(
        &sync,
        ResourceType::Appointment,
        "a1",
        &appointment("a1", reference.clone(), "booked"),
    )
    .await;
    let id = AppointmentId::parse("a1").unwrap();
    store
        .mark_unclear(&clinic(), &id, jiff::Timestamp::now())
        .await
        .unwrap();
    put(
        &sync,
        ResourceType::Appointment,
        "a1",
        &appointment("a1", reference, "arrived"),
    )
    .await;
    let stored = store
        .get_appointment(&clinic(), &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, AppointmentStatus::Unclear);
}

#[tokio::test]
async fn bad_bodies_and_ids_are_refused_with_an_operation_outcome() {
    let (sync, _) = sync();
    let cases: [(&[u8], &str, u16); 4] = [
        (b"{not json", "p1", 400),
        (br#"{"id": "p1"}"#, "p1", 400),
        (br#"{"resourceType": "Observation", "id": "p1"}"#, "p1", 400),
        (&body(&patient("p2", "1", "Smith")), "p1", 400),
    ];
    for (bytes, id, status) in cases {
        let answer = sync.put(&clinic(), ResourceType::Patient, id, bytes).await;
        assert_eq!(answer.status, status, "{}", String::from_utf8_lossy(bytes));
        assert!(answer.outcome.unwrap().is_error());
    }
}

#[tokio::test]
async fn a_batch_answers_each_entry_and_takes_references_to_its_own_patients() {
    let (sync, _) = sync();
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": appointment("a1", json!({"reference": "urn:uuid:1"}), "booked"),
             "request": {"method": "PUT", "url": "Appointment/a1"}},
            {"fullUrl": "urn:uuid:1", "resource": patient("p1", "1", "Smith"),
             "request": {"method": "PUT", "url": "Patient/p1"}},
            {"resource": {"resourceType": "Observation", "id": "o1"},
             "request": {"method": "PUT", "url": "Observation/o1"}}
        ]
    });
    let response = sync.bundle(&clinic(), &body(&bundle)).await.unwrap();
    let statuses: Vec<&str> = response
        .entry
        .iter()
        .map(|entry| entry.response.status.as_str())
        .collect();
    assert_eq!(
        statuses,
        ["201 Created", "201 Created", "422 Unprocessable Entity"]
    );
    assert_eq!(response.bundle_type, "batch-response");
}

#[tokio::test]
async fn a_transaction_with_one_bad_entry_writes_nothing() {
    let (sync, store) = sync();
    let mut bad = patient("p2", "1", "Jones");
    bad["identifier"][0]["value"] = json!("9698658216");
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": patient("p1", "1", "Smith"), "request": {"method": "PUT", "url": "Patient/p1"}},
            {"resource": bad, "request": {"method": "PUT", "url": "Patient/p2"}}
        ]
    });
    let refused = sync.bundle(&clinic(), &body(&bundle)).await.unwrap_err();
    assert_eq!(refused.status, 422);
    let outcome = refused.outcome.unwrap();
    assert!(
        outcome.issue[0].diagnostics.starts_with("entry 1:"),
        "{outcome:?}"
    );
    assert!(store.lookup_keys().is_empty(), "nothing written");
}

#[tokio::test]
async fn a_bundle_over_the_limit_or_of_another_type_is_refused() {
    let (sync, _) = sync();
    let entries: Vec<serde_json::Value> = (0..=MAX_BUNDLE_ENTRIES)
        .map(|n| json!({"resource": patient(&format!("p{n}"), "1", "Smith")}))
        .collect();
    let too_many = json!({"resourceType": "Bundle", "type": "batch", "entry": entries});
    assert_eq!(
        sync.bundle(&clinic(), &body(&too_many))
            .await
            .unwrap_err()
            .status,
        413
    );
    let searchset = json!({"resourceType": "Bundle", "type": "searchset", "entry": []});
    assert_eq!(
        sync.bundle(&clinic(), &body(&searchset))
            .await
            .unwrap_err()
            .status,
        400
    );
}

#[tokio::test]
async fn a_machine_client_writes_only_for_the_clinic_it_is_bound_to() {
    let (sync, store) = sync();
    let client = IntegrationClientId::parse("emr-client-1").unwrap();
    assert_eq!(sync.clinic_of(&client).await.unwrap_err().status, 403);
    store
        .put_integration_client(&client, &clinic())
        .await
        .unwrap();
    assert_eq!(sync.clinic_of(&client).await.unwrap(), clinic());
}

#[tokio::test]
async fn notices_say_what_a_patient_cannot_receive() {
    let (sync, _) = sync();
    let mut without = patient("p1", "1", "Smith");
    without.as_object_mut().unwrap().remove("telecom");
    let answer = put(&sync, ResourceType::Patient, "p1", &without).await;
    assert_eq!(answer.status, 201);
    let outcome = answer.outcome.unwrap();
    assert!(
        outcome
            .issue
            .iter()
            .all(|issue| issue.severity == Severity::Information)
    );
    assert!(outcome.issue[0].diagnostics.contains("cannot be texted"));
}

#[tokio::test]
async fn a_transaction_is_written_in_one_go_with_references_to_its_own_patients() {
    let (sync, store) = sync();
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": appointment("a1", json!({"reference": "urn:uuid:1"}), "booked"),
             "request": {"method": "PUT", "url": "Appointment/a1"}},
            {"fullUrl": "urn:uuid:1", "resource": patient("p1", "1", "Smith"),
             "request": {"method": "PUT", "url": "Patient/p1"}}
        ]
    });
    let response = sync.bundle(&clinic(), &body(&bundle)).await.unwrap();
    assert_eq!(response.bundle_type, "transaction-response");
    let etags: Vec<Option<&str>> = response
        .entry
        .iter()
        .map(|entry| entry.response.etag.as_deref())
        .collect();
    assert_eq!(etags, [Some("W/\"1\""), Some("W/\"1\"")]);
    assert_eq!(stored_last_name(&store, "p1").await, "Smith");
}

#[tokio::test]
async fn a_transaction_naming_an_unknown_patient_or_a_record_twice_writes_nothing() {
    let (sync, store) = sync();
    let unknown = json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": patient("p1", "1", "Smith")},
            {"resource": appointment("a1", json!({"reference": "Patient/nobody"}), "booked")}
        ]
    });
    let refused = sync.bundle(&clinic(), &body(&unknown)).await.unwrap_err();
    assert_eq!(refused.status, 422);
    assert!(
        refused.outcome.unwrap().issue[0]
            .diagnostics
            .starts_with("entry 1:")
    );
    let twice = json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": patient("p1", "1", "Smith")},
            {"resource": patient("p1", "2", "Jones")}
        ]
    });
    let refused = sync.bundle(&clinic(), &body(&twice)).await.unwrap_err();
    assert!(
        refused.outcome.unwrap().issue[0]
            .diagnostics
            .starts_with("entry 1:")
    );
    assert!(store.lookup_keys().is_empty(), "nothing written");
}
