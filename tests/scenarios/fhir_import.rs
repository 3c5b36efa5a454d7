//! The EMR's bulk import on the emulator: the upload URL from `POST /fhir/$import-upload`,
//! the file PUT to S3, the `Object Created` event to `fhir-import`, the report at
//! `GET /fhir/$import/{id}`, and the patients found by staff.

use aws::wiring::OnAws;
use domain::{
    emr_sync::import::{EmrImport, ImportRun, import_object_key},
    ids::{ClinicId, ImportId},
};
use integration_tests::{
    TestStack,
    fixtures::emr::{
        BC_PHN_SYSTEM, INGEST_TOKEN, STAFF_TOKEN, found_by_each_key, serve_local_api, staff_search,
    },
    sentinels::{self, EMAIL, FIRST_NAME, LAST_NAME, PHN},
};
use local_stack::imports::{ImportWatcher, object_created_event};
use serde_json::{Value, json};

fn file() -> Vec<u8> {
    let patient = json!({
        "resourceType": "Patient",
        "id": "imp-p-1",
        "identifier": [{"system": BC_PHN_SYSTEM, "value": PHN}],
        "name": [{"use": "official", "family": LAST_NAME, "given": [FIRST_NAME]}],
        "telecom": [
            {"system": "phone", "value": sentinels::phone(401), "use": "mobile"},
            {"system": "email", "value": EMAIL}
        ]
    });
    let start = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 5);
    let appointment = |id: &str| {
        json!({
            "resourceType": "Appointment",
            "id": id,
            "status": "booked",
            "start": start.to_string(),
            "participant": [
                {"actor": {"reference": "Patient/imp-p-1"}},
                {"actor": {"display": "Dr. Chen"}}
            ]
        })
    };
    let mut lines = vec![
        patient.to_string(),
        appointment("imp-a-1").to_string(),
        format!("{{\"resourceType\": \"Patient\", \"note\": \"{LAST_NAME}\""),
        json!({"resourceType": "Observation", "id": "o-1"}).to_string(),
        appointment("imp-a-2").to_string(),
    ];
    lines.push(String::new());
    lines.join("\n").into_bytes()
}

/// Starts an import as the EMR and uploads `content` to the URL it answers: the report's path.
async fn upload(base: &str, content: Vec<u8>) -> String {
    let http = reqwest::Client::new();
    let started = http
        .post(format!("{base}/fhir/$import-upload"))
        .bearer_auth(INGEST_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 201);
    let started: Value = started.json().await.unwrap();
    let mut put = http.put(started["upload"]["url"].as_str().unwrap());
    for (name, value) in started["upload"]["headers"].as_object().unwrap() {
        put = put.header(name, value.as_str().unwrap());
    }
    let again = put.try_clone().unwrap();
    let uploaded = put.body(content).send().await.unwrap();
    assert!(uploaded.status().is_success(), "{}", uploaded.status());
    // The URL creates the file once: it cannot be swapped while it is read.
    let swapped = again.body("{}\n").send().await.unwrap();
    assert_eq!(swapped.status(), 412);
    started["report"].as_str().unwrap().to_owned()
}

async fn report(base: &str, path: &str) -> (u16, Value, String) {
    let response = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(INGEST_TOKEN)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap(), text)
}

#[tokio::test]
async fn an_uploaded_file_is_imported_reported_by_line_and_its_patients_found() {
    let test = TestStack::new().await;
    let base = serve_local_api(&test).await;
    let mut watcher = ImportWatcher::new(&test.stack).unwrap();
    let report_path = upload(&base, file()).await;
    let (status, waiting, _) = report(&base, &report_path).await;
    assert_eq!(status, 200);
    assert_eq!(waiting["status"], "awaiting-upload");

    let delivered = watcher.deliver_new().await.unwrap();
    assert_eq!(delivered.len(), 1);
    assert!(matches!(delivered[0].outcome, Ok(ImportRun::Completed)));

    let (status, done, text) = report(&base, &report_path).await;
    assert_eq!(status, 200);
    assert_eq!(done["status"], "completed");
    assert_eq!(done["checkpoint"]["lines"], 5);
    assert_eq!(done["counts"]["patientsWritten"], 1);
    assert_eq!(done["counts"]["appointmentsWritten"], 2);
    assert_eq!(done["counts"]["linesRefused"], 2);
    assert_eq!(done["errors"][0]["line"], 3);
    assert_eq!(done["errors"][0]["code"], "structure");
    assert_eq!(done["errors"][1]["line"], 4);
    assert_eq!(done["errors"][1]["code"], "not-supported");
    assert!(
        !text.contains(LAST_NAME),
        "a report never holds a line's content"
    );

    for body in found_by_each_key(&test, "imp-p-1", 401).await {
        assert_eq!(
            body["items"][0]["appointments"].as_array().unwrap().len(),
            2
        );
    }
    integration_tests::fixtures::raw_keys::assert_no_patient_data_in_keys(&test).await;

    // The same event delivered again, and the same file imported a second time.
    let key = object_key(&report_path);
    let imports = fhir_sync::imports::FhirImports::on_aws(&test.stack.config, &test.stack.clients);
    let event = object_created_event(
        &test.stack.config.attachments_bucket,
        &key,
        jiff::Timestamp::now(),
    );
    let again = imports
        .handle(
            &event,
            jiff::Timestamp::now() + jiff::SignedDuration::from_mins(15),
        )
        .await
        .unwrap();
    assert_eq!(again, ImportRun::AlreadyCompleted);
    let second = upload(&base, file()).await;
    let delivered = watcher.deliver_new().await.unwrap();
    assert_eq!(delivered.len(), 1);
    let (_, twice, _) = report(&base, &second).await;
    assert_eq!(twice["counts"]["patientsWritten"], 1);
    let body = staff_search(&test, LAST_NAME, "name").await;
    assert_eq!(
        body["items"].as_array().unwrap().len(),
        1,
        "no duplicate patient"
    );
    assert_eq!(
        body["items"][0]["appointments"].as_array().unwrap().len(),
        2
    );
}

/// The uploaded file's key, from its report's path.
fn object_key(report_path: &str) -> String {
    let id = report_path.rsplit('/').next().unwrap();
    import_object_key(
        &ClinicId::parse("demo-clinic").unwrap(),
        &ImportId::parse(id).unwrap(),
    )
}

#[tokio::test]
async fn an_import_stopped_at_its_time_limit_resumes_at_its_checkpoint() {
    let test = TestStack::new().await;
    let base = serve_local_api(&test).await;
    let report_path = upload(&base, file()).await;
    let key = object_key(&report_path);
    let import = EmrImport {
        read_bytes: 400,
        ..EmrImport::on_aws(&test.stack.config, &test.stack.clients)
    };
    let past = jiff::Timestamp::now();
    assert_eq!(import.run(&key, past).await.unwrap(), ImportRun::Paused);
    let (_, paused, _) = report(&base, &report_path).await;
    assert_eq!(paused["status"], "running");
    let read = paused["checkpoint"]["lines"].as_u64().unwrap();
    assert!((1..5).contains(&read), "{paused}");

    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(10);
    assert_eq!(import.run(&key, later).await.unwrap(), ImportRun::Completed);
    let (_, done, _) = report(&base, &report_path).await;
    assert_eq!(done["checkpoint"]["lines"], 5);
    assert_eq!(done["counts"]["patientsWritten"], 1);
    assert_eq!(done["counts"]["appointmentsWritten"], 2);
    assert_eq!(done["counts"]["linesRefused"], 2);
}

#[tokio::test]
async fn imports_are_the_emrs_alone_and_reports_the_clinics_own() {
    let test = TestStack::new().await;
    let base = serve_local_api(&test).await;
    let http = reqwest::Client::new();
    let staff = http
        .post(format!("{base}/fhir/$import-upload"))
        .bearer_auth(STAFF_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(staff.status(), 403);
    let report_path = upload(&base, file()).await;
    let staff_report = http
        .get(format!("{base}{report_path}"))
        .bearer_auth(STAFF_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(staff_report.status(), 403);
    for unknown in [
        "/fhir/$import/0b1e9f34-5a0c-4d53-9a59-7a4b2d9c1e00",
        "/fhir/$import/..%2Fx",
    ] {
        let (status, outcome, _) = report(&base, unknown).await;
        assert_eq!(status, 404, "{unknown}");
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert_eq!(outcome["issue"][0]["code"], "not-found");
    }
}
