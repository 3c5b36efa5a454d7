//! The clinic's EMR over FHIR R4 (`fhir-sync`): its machine client's token, bound to the
//! clinic, writes patients and appointments that staff then find and message.

use std::sync::Arc;

use domain::{
    appointment_status::AppointmentStatus,
    ids::{AppointmentId, ClinicId, PatientId},
    ports::AppointmentStore,
};
use integration_tests::{
    TestStack,
    aws_faults::{AwsFaults, Operation},
    body_json, body_text, call_function,
    fixtures::{
        demo::demo_clinic,
        emr::{
            INGEST_TOKEN, STAFF_TOKEN, appointment, found_by_each_key, sentinel_patient,
            serve_local_api,
        },
    },
    http_call, local_api_body,
    sentinels::{self, MISTYPED_PHN},
    staff_call, with_body, with_idempotency_key,
};
use serde_json::{Value, json};

/// A FHIR call to the fhir-sync handler with the demo clinic's machine client's claims.
fn emr_call(
    route_key: &str,
    parameters: &[(&str, &str)],
    body: &Value,
) -> integration_tests::HttpCall {
    let claims = [
        ("client_id".to_owned(), "local-demo-emr".to_owned()),
        ("scope".to_owned(), "fhir/write".to_owned()),
    ]
    .into();
    let mut call = with_body(
        http_call(route_key, parameters, Some(claims)),
        &body.to_string(),
    );
    call.headers.retain(|(name, _)| name != "content-type");
    call.headers
        .push(("content-type".into(), "application/fhir+json".into()));
    call
}

#[tokio::test]
async fn a_transaction_bundle_makes_its_patients_findable_at_once_and_a_message_can_be_sent() {
    let test = TestStack::new().await;
    let base = serve_local_api(&test).await;
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:0c7e3a0e-6a1f-4d8e-9b2a-1f5e4c3b2a10",
             "resource": sentinel_patient("emr-p-1", 301),
             "request": {"method": "PUT", "url": "Patient/emr-p-1"}},
            {"resource": appointment("emr-a-1", "urn:uuid:0c7e3a0e-6a1f-4d8e-9b2a-1f5e4c3b2a10", 7, "booked"),
             "request": {"method": "PUT", "url": "Appointment/emr-a-1"}}
        ]
    });
    let response = reqwest::Client::new()
        .post(format!("{base}/fhir"))
        .bearer_auth(INGEST_TOKEN)
        .header("content-type", "application/fhir+json")
        .body(bundle.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/fhir+json");
    let answer: Value =
        serde_json::from_str(&local_api_body("POST /fhir", response).await).unwrap();
    assert_eq!(answer["type"], "transaction-response");
    assert_eq!(answer["entry"][0]["response"]["status"], "201 Created");
    assert_eq!(answer["entry"][1]["response"]["etag"], "W/\"1\"");

    for body in found_by_each_key(&test, "emr-p-1", 301).await {
        assert_eq!(body["items"][0]["appointments"][0]["id"], "emr-a-1");
    }
    integration_tests::fixtures::raw_keys::assert_no_patient_data_in_keys(&test).await;
    let send = with_idempotency_key(
        with_body(
            staff_call(
                "demo-clinic",
                "POST /appointments/{appointmentId}/messages",
                &[("appointmentId", "emr-a-1")],
            ),
            r#"{"kind":"basic","template_id":"reminder"}"#,
        ),
        "fhir-first-send",
    );
    let sent = test.call("send", &send).await;
    assert_eq!(sent.status(), 201, "{}", body_text(&sent));
    let sms = test.published_sms().await;
    assert!(
        sms.iter()
            .any(|sms| sms.phone_number == sentinels::phone(301))
    );
}

#[tokio::test]
async fn staff_tokens_are_refused_on_fhir_routes_and_the_emrs_token_on_staff_routes() {
    let test = TestStack::new().await;
    let base = serve_local_api(&test).await;
    let http = reqwest::Client::new();
    let staff_on_fhir = http
        .put(format!("{base}/fhir/Patient/emr-p-1"))
        .bearer_auth(STAFF_TOKEN)
        .header("content-type", "application/fhir+json")
        .body(sentinel_patient("emr-p-1", 302).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(staff_on_fhir.status(), 403);
    let outcome: Value =
        serde_json::from_str(&local_api_body("PUT /fhir/Patient/{id}", staff_on_fhir).await)
            .unwrap();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["code"], "forbidden");

    let emr_on_staff = http
        .get(format!("{base}/templates"))
        .bearer_auth(INGEST_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(emr_on_staff.status(), 403);
    let problem: Value =
        serde_json::from_str(&local_api_body("GET /templates", emr_on_staff).await).unwrap();
    assert_eq!(problem["type"], "urn:direct-messages:problem:forbidden");

    let metadata = http
        .get(format!("{base}/fhir/metadata"))
        .bearer_auth(INGEST_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(metadata.status(), 200);
    let statement: Value =
        serde_json::from_str(&local_api_body("GET /fhir/metadata", metadata).await).unwrap();
    assert_eq!(statement["fhirVersion"], "4.0.1");
}

#[tokio::test]
async fn a_client_bound_to_no_clinic_is_refused() {
    let test = TestStack::new().await;
    demo_clinic(&test).await;
    let mut call = emr_call(
        "PUT /fhir/Patient/{id}",
        &[("id", "emr-p-1")],
        &sentinel_patient("emr-p-1", 303),
    );
    call.claims
        .as_mut()
        .unwrap()
        .insert("client_id".into(), "unknown-client".into());
    let response = test.call("fhir-sync", &call).await;
    assert_eq!(response.status(), 403);
    assert_eq!(body_json(&response)["issue"][0]["code"], "forbidden");
}

#[tokio::test]
async fn the_specifications_example_patient_and_appointment_are_accepted_as_they_are() {
    let test = TestStack::new().await;
    demo_clinic(&test).await;
    let patient = json!({
        "resourceType": "Patient", "id": "example",
        "identifier": [{"use": "usual", "system": "urn:oid:1.2.36.146.595.217.0.1", "value": "12345"}],
        "active": true,
        "name": [{"use": "official", "family": "Chalmers", "given": ["Peter", "James"]}],
        "telecom": [{"use": "home"}, {"system": "phone", "value": "(03) 5555 6473", "use": "work", "rank": 1}],
        "gender": "male", "birthDate": "1974-12-25",
        "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
        "deceasedBoolean": false,
        "managingOrganization": {"reference": "Organization/1"}
    });
    let response = test
        .call(
            "fhir-sync",
            &emr_call("PUT /fhir/Patient/{id}", &[("id", "example")], &patient),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", body_text(&response));
    assert_eq!(response.headers()["etag"], "W/\"1\"");
    assert_eq!(response.headers()["location"], "Patient/example/_history/1");
    let outcome = body_json(&response);
    let issues: Vec<&str> = outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|issue| issue["severity"].as_str().unwrap())
        .collect();
    assert_eq!(
        issues,
        ["information", "information"],
        "no PHN, no textable phone"
    );

    let appointment = json!({
        "resourceType": "Appointment", "id": "example", "status": "booked",
        "description": "Discussion on the results of your recent MRI",
        "start": "2013-12-10T09:00:00Z", "end": "2013-12-10T11:00:00Z",
        "participant": [
            {"actor": {"reference": "Patient/example", "display": "Peter James Chalmers"}, "required": "required", "status": "accepted"},
            {"actor": {"reference": "Practitioner/example", "display": "Dr Adam Careful"}, "required": "required", "status": "accepted"},
            {"actor": {"reference": "Location/1", "display": "South Wing, second floor"}, "required": "required", "status": "accepted"}
        ]
    });
    let response = test
        .call(
            "fhir-sync",
            &emr_call(
                "PUT /fhir/Appointment/{id}",
                &[("id", "example")],
                &appointment,
            ),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", body_text(&response));
}

#[tokio::test]
async fn an_older_update_is_acknowledged_and_ignored() {
    let test = TestStack::new().await;
    demo_clinic(&test).await;
    let newer = sentinel_patient("emr-p-2", 304);
    let put = |body: &Value| emr_call("PUT /fhir/Patient/{id}", &[("id", "emr-p-2")], body);
    assert_eq!(test.call("fhir-sync", &put(&newer)).await.status(), 201);
    let mut older = newer.clone();
    older["meta"] = json!({"versionId": "1", "lastUpdated": "2026-11-29T10:00:00Z"});
    older["telecom"] = json!([]);
    let response = test.call("fhir-sync", &put(&older)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["etag"],
        "W/\"1\"",
        "still the stored version"
    );
    assert!(body_text(&response).contains("acknowledged and ignored"));
    let stored = test
        .store
        .get_patient(
            &ClinicId::parse("demo-clinic").unwrap(),
            &PatientId::parse("emr-p-2").unwrap(),
        )
        .await
        .unwrap()
        .expect("stored");
    assert!(stored.phone.is_some(), "the newer update's phone stays");
}

#[tokio::test]
async fn bad_fhir_input_is_refused_with_an_operation_outcome_naming_the_element() {
    let test = TestStack::new().await;
    demo_clinic(&test).await;
    let mut wrong_check_digit = sentinel_patient("emr-p-3", 305);
    wrong_check_digit["identifier"][0]["value"] = json!(MISTYPED_PHN);
    // Names are written into SMS: one carrying a link is refused (the PHI guard checks the
    // answer does not repeat it).
    let mut name_with_a_link = sentinel_patient("emr-p-3", 305);
    name_with_a_link["name"][0]["given"][0] =
        json!(format!("{} see clinic.example", sentinels::FIRST_NAME));
    let put = |id: &str, body: &Value| emr_call("PUT /fhir/Patient/{id}", &[("id", id)], body);
    let cases: Vec<(integration_tests::HttpCall, u16, &str)> = vec![
        (
            {
                let mut call = put("emr-p-3", &json!({}));
                call.body = b"{not json".to_vec();
                call
            },
            400,
            "not JSON",
        ),
        (
            put("emr-p-3", &json!({"id": "emr-p-3"})),
            400,
            "not a FHIR resource",
        ),
        (
            put(
                "emr-p-3",
                &json!({"resourceType": "Observation", "id": "emr-p-3"}),
            ),
            400,
            "not taken",
        ),
        (
            put("emr-p-9", &sentinel_patient("emr-p-3", 305)),
            400,
            "id in the URL",
        ),
        (
            put("emr-p-3", &wrong_check_digit),
            422,
            "Patient.identifier[0]",
        ),
        (
            put("emr-p-3", &name_with_a_link),
            422,
            "Patient.name.given could be read as a link",
        ),
        (
            emr_call(
                "PUT /fhir/Appointment/{id}",
                &[("id", "emr-a-3")],
                &appointment("emr-a-3", "Patient/nobody-here", 3, "booked"),
            ),
            422,
            "send the Patient first",
        ),
    ];
    for (call, status, says) in cases {
        let response = test.call("fhir-sync", &call).await;
        let text = body_text(&response);
        assert_eq!(response.status(), status, "{says}: {text}");
        assert_eq!(response.headers()["content-type"], "application/fhir+json");
        assert!(text.contains(says), "{says}: {text}");
        assert!(!text.contains(MISTYPED_PHN));
    }
    let entries: Vec<Value> = (0..101)
        .map(|n| json!({"resource": sentinel_patient(&format!("emr-p-{n}"), 306)}))
        .collect();
    let too_big = emr_call(
        "POST /fhir",
        &[],
        &json!({"resourceType": "Bundle", "type": "batch", "entry": entries}),
    );
    assert_eq!(test.call("fhir-sync", &too_big).await.status(), 413);
}

#[tokio::test]
async fn a_batch_refuses_an_observation_entry_and_writes_the_others() {
    let test = TestStack::new().await;
    demo_clinic(&test).await;
    let bundle = json!({
        "resourceType": "Bundle", "type": "batch",
        "entry": [
            {"resource": {"resourceType": "Observation", "id": "obs-1", "status": "final"}},
            {"resource": sentinel_patient("emr-p-4", 307), "request": {"method": "PUT", "url": "Patient/emr-p-4"}}
        ]
    });
    let response = test
        .call("fhir-sync", &emr_call("POST /fhir", &[], &bundle))
        .await;
    assert_eq!(response.status(), 200);
    let answer = body_json(&response);
    assert_eq!(
        answer["entry"][0]["response"]["status"],
        "422 Unprocessable Entity"
    );
    assert_eq!(
        answer["entry"][0]["response"]["outcome"]["issue"][0]["code"],
        "not-supported"
    );
    assert_eq!(answer["entry"][1]["response"]["status"], "201 Created");
}

#[tokio::test]
async fn a_cancelled_appointment_takes_no_new_message() {
    let test = TestStack::new().await;
    demo_clinic(&test).await;
    let patient = sentinel_patient("emr-p-5", 308);
    assert_eq!(
        test.call(
            "fhir-sync",
            &emr_call("PUT /fhir/Patient/{id}", &[("id", "emr-p-5")], &patient)
        )
        .await
        .status(),
        201
    );
    let put_appointment = |status: &str| {
        emr_call(
            "PUT /fhir/Appointment/{id}",
            &[("id", "emr-a-5")],
            &appointment("emr-a-5", "Patient/emr-p-5", 5, status),
        )
    };
    assert_eq!(
        test.call("fhir-sync", &put_appointment("cancelled"))
            .await
            .status(),
        201
    );
    let send = with_idempotency_key(
        with_body(
            staff_call(
                "demo-clinic",
                "POST /appointments/{appointmentId}/messages",
                &[("appointmentId", "emr-a-5")],
            ),
            r#"{"kind":"basic","text":"Hello"}"#,
        ),
        "fhir-cancelled-send",
    );
    let refused = test.call("send", &send).await;
    assert_eq!(refused.status(), 422);
    assert_eq!(
        body_json(&refused)["type"],
        "urn:direct-messages:problem:appointment-closed"
    );
}

#[tokio::test]
async fn a_reply_landing_between_a_syncs_read_and_its_write_keeps_unclear() {
    let test = TestStack::new().await;
    demo_clinic(&test).await;
    let clinic = ClinicId::parse("demo-clinic").unwrap();
    let patient = sentinel_patient("emr-p-6", 309);
    let put = |body: &Value, route: &str, id: &str| emr_call(route, &[("id", id)], body);
    assert_eq!(
        test.call(
            "fhir-sync",
            &put(&patient, "PUT /fhir/Patient/{id}", "emr-p-6")
        )
        .await
        .status(),
        201
    );
    let mut booked = appointment("emr-a-6", "Patient/emr-p-6", 4, "booked");
    booked["meta"] = json!({"versionId": "1", "lastUpdated": "2026-11-30T10:00:00Z"});
    assert_eq!(
        test.call(
            "fhir-sync",
            &put(&booked, "PUT /fhir/Appointment/{id}", "emr-a-6")
        )
        .await
        .status(),
        201
    );

    // The EMR's next update reads the appointment as Booked; the patient's reply marks it
    // Unclear just before the update's transaction goes out.
    let faults = AwsFaults::new();
    let replier = test.store.clone();
    let reply_clinic = clinic.clone();
    faults.interleave_once(
        Operation::dynamodb("TransactWriteItems"),
        Arc::new(move || {
            let (store, clinic) = (replier.clone(), reply_clinic.clone());
            Box::pin(async move {
                let id = AppointmentId::parse("emr-a-6").unwrap();
                assert!(
                    store
                        .mark_unclear(&clinic, &id, jiff::Timestamp::now())
                        .await
                        .unwrap()
                );
            })
        }),
    );
    let functions = test.functions_through(&faults);
    let mut arrived = appointment("emr-a-6", "Patient/emr-p-6", 4, "arrived");
    arrived["meta"] = json!({"versionId": "2", "lastUpdated": "2026-11-30T11:00:00Z"});
    let answer = call_function(
        &functions,
        "fhir-sync",
        &put(&arrived, "PUT /fhir/Appointment/{id}", "emr-a-6"),
    )
    .await;
    assert_eq!(answer.status(), 200, "{}", body_text(&answer));
    assert_eq!(faults.hits(), 1, "the reply went in between");
    let stored = test
        .store
        .get_appointment(&clinic, &AppointmentId::parse("emr-a-6").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, AppointmentStatus::Unclear);
}

/// A French-speaking patient imported through FHIR gets the French notice, and the unlock
/// page in French (`lang="fr"`), with a link to the English page for that view.
#[tokio::test]
async fn a_french_speaking_patient_from_the_emr_gets_the_notice_and_page_in_french() {
    let test = TestStack::new().await;
    demo_clinic(&test).await;
    let mut patient = sentinel_patient("emr-p-fr", 814);
    patient["communication"] = json!([{
        "language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "fr-CA"}]},
        "preferred": true
    }]);
    let put = test
        .call(
            "fhir-sync",
            &emr_call("PUT /fhir/Patient/{id}", &[("id", "emr-p-fr")], &patient),
        )
        .await;
    assert_eq!(put.status(), 201, "{}", body_text(&put));
    let visit = appointment("emr-a-fr", "Patient/emr-p-fr", 3, "booked");
    let put = test
        .call(
            "fhir-sync",
            &emr_call("PUT /fhir/Appointment/{id}", &[("id", "emr-a-fr")], &visit),
        )
        .await;
    assert_eq!(put.status(), 201, "{}", body_text(&put));

    let send = with_idempotency_key(
        with_body(
            staff_call(
                "demo-clinic",
                "POST /appointments/{appointmentId}/messages",
                &[("appointmentId", "emr-a-fr")],
            ),
            r#"{"kind":"secure","template_id":"results-ready"}"#,
        ),
        "fhir-french-send",
    );
    let sent = test.call("send", &send).await;
    assert_eq!(sent.status(), 201, "{}", body_text(&sent));
    assert_eq!(body_json(&sent)["language"], "fr");
    let phone = sentinels::phone(814);
    let sms = test
        .published_sms()
        .await
        .into_iter()
        .rfind(|sms| sms.phone_number == phone)
        .expect("the notice")
        .message;
    assert!(
        sms.contains(": vous avez un message sécurisé. Ouvrez-le d'ici le "),
        "{sms}"
    );
    let token = sms.rsplit("/m/").next().unwrap().to_owned();
    let page = test
        .call(
            "secure-unlock",
            &http_call("GET /m/{token}", &[("token", &token)], None),
        )
        .await;
    let html = body_text(&page);
    assert!(html.contains("<html lang=\"fr\">") && html.contains("Un message sécurisé de"));
    let english = integration_tests::with_query(
        http_call("GET /m/{token}", &[("token", &token)], None),
        &[("lang", "en")],
    );
    let html = body_text(&test.call("secure-unlock", &english).await);
    assert!(html.contains("<html lang=\"en\">") && html.contains("A secure message from"));
}
