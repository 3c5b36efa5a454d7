//! The sample events in events/ go through each function's real event parsing (the same
//! that `cargo lambda invoke --data-file` exercises) and reach its handler.

use std::path::PathBuf;

use aws::wiring::OnAws;
use aws_lambda_events::sns::SnsEvent;
use domain::{
    delivery_status::ReceiptCounts,
    emr_sync::import::{ImportRun, import_of_object_key},
    ports::{ImportRecord, ImportStore},
    send::sweeper::Swept,
};
use fhir_sync::imports::{FhirImports, ObjectCreatedEvent};
use integration_tests::{
    TestStack, body_json,
    fixtures::demo::{demo_clinic, demo_clinic_record},
    phi_guard::{self, Kind},
    port_contracts::records::Scene,
    sentinels,
};
use jiff::{SignedDuration, Timestamp};

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(events_dir().join(name)).unwrap_or_else(|_| panic!("events/{name}"))
}

/// Every HTTP sample, the function that serves it, and the status it gets today.
const HTTP_EVENTS: [(&str, &str, u16); 32] = [
    ("search-templates.json", "search", 200),
    ("search-chats.json", "search", 200),
    ("search-patients.json", "search", 200),
    ("search-appointment.json", "search", 200),
    ("search-worklist.json", "search", 200),
    ("search-outbox.json", "search", 200),
    ("send-message.json", "send", 201),
    ("send-preview.json", "send", 200),
    ("send-attachment.json", "send", 201),
    // The sample's appointment is not Unclear: nothing to clear.
    ("send-clear-unclear.json", "send", 409),
    // The sample's message was never sent.
    ("send-clear-lock.json", "send", 404),
    ("send-resend.json", "send", 404),
    ("send-withdraw.json", "send", 404),
    ("unlock-page.json", "secure-unlock", 404),
    ("unlock-submit.json", "secure-unlock", 404),
    ("fhir-metadata.json", "fhir-sync", 200),
    ("fhir-put-patient.json", "fhir-sync", 201),
    ("fhir-put-appointment.json", "fhir-sync", 201),
    ("fhir-bundle.json", "fhir-sync", 200),
    ("fhir-import-upload.json", "fhir-sync", 201),
    ("fhir-import-report.json", "fhir-sync", 404),
    ("admin-onboard-clinic.json", "admin", 201),
    ("admin-bind-integration.json", "admin", 200),
    ("admin-clinic.json", "admin", 200),
    ("admin-change-clinic.json", "admin", 200),
    ("admin-create-template.json", "admin", 201),
    ("admin-replace-template.json", "admin", 200),
    ("admin-delete-template.json", "admin", 204),
    ("admin-create-chat.json", "admin", 201),
    ("admin-replace-chat.json", "admin", 200),
    ("admin-delete-chat.json", "admin", 204),
    ("admin-audit.json", "admin", 200),
];

#[test]
fn there_is_a_sample_event_for_every_route_and_every_other_event_source() {
    let template = local_stack::template::Template::load_default().unwrap();
    let mut covered = Vec::new();
    for (file, function, _) in HTTP_EVENTS {
        let event: serde_json::Value = serde_json::from_str(&read(file)).unwrap();
        let route = event["routeKey"].as_str().unwrap().to_owned();
        let spec = template.function(function).unwrap();
        assert!(
            spec.routes.iter().any(|r| r.key() == route),
            "{file}: {route} is not a route of {function}"
        );
        covered.push(route);
    }
    for function in &template.functions {
        for route in &function.routes {
            assert!(
                covered.contains(&route.key()),
                "no sample event for {}",
                route.key()
            );
        }
    }
    let mut listed: Vec<_> = HTTP_EVENTS
        .iter()
        .map(|(file, _, _)| file.to_string())
        .collect();
    listed.push("inbound-sms.json".into());
    listed.push("s3-import-object-created.json".into());
    listed.push("delivery-status-logs.json".into());
    listed.push("sweeper-schedule.json".into());
    listed.sort();
    let mut files: Vec<_> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, listed, "every file in events/ is exercised here");
}

#[tokio::test]
async fn http_sample_events_reach_their_handlers() {
    let test = TestStack::new().await;
    demo_clinic(&test).await;
    for (file, function, status) in HTTP_EVENTS {
        let request =
            lambda_http::request::from_str(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let showing_phi = matches!(
            file,
            "search-patients.json"
                | "search-appointment.json"
                | "search-worklist.json"
                | "send-preview.json"
        )
        .then_some("the clinic sees its own patients");
        let response = test.call_request(function, request, showing_phi).await;
        assert_eq!(response.status(), status, "{file}");
        if function != "secure-unlock" && status != 204 {
            assert_ne!(
                body_json(&response)["status"],
                401,
                "{file} carries the clinic claim"
            );
        }
    }
}

#[tokio::test]
async fn sns_sample_event_is_parsed_down_to_the_two_way_sms_payload() {
    let test = TestStack::new().await;
    register_sample_reply(&serde_json::from_str(&read("inbound-sms.json")).unwrap());
    let event: SnsEvent = serde_json::from_str(&read("inbound-sms.json")).expect("an SNS event");
    let outcome = test.functions.call_sns(event).await;
    assert_eq!(
        outcome,
        inbound_reply::Outcome {
            handled: 1,
            malformed: 0,
            failed: 0,
            busy: 0
        }
    );
}

#[tokio::test]
async fn malformed_sns_records_are_acknowledged_and_the_others_still_processed() {
    let test = TestStack::new().await;
    let mut event: serde_json::Value = serde_json::from_str(&read("inbound-sms.json")).unwrap();
    register_sample_reply(&event);
    let good = event["Records"][0].clone();
    let mut bad = good.clone();
    bad["Sns"]["Message"] = serde_json::json!(format!("{} not a payload", sentinels::REPLY_TEXT));
    event["Records"] = serde_json::json!([bad, good]);
    let event: SnsEvent = serde_json::from_value(event).unwrap();
    let outcome = test.functions.call_sns(event).await;
    assert_eq!(
        outcome,
        inbound_reply::Outcome {
            handled: 1,
            malformed: 1,
            failed: 0,
            busy: 0
        }
    );
}

#[tokio::test]
async fn the_delivery_logs_sample_event_is_decoded_down_to_its_receipts() {
    let test = TestStack::new().await;
    let event: serde_json::Value =
        serde_json::from_str(&read("delivery-status-logs.json")).unwrap();
    let counts = test.functions.delivery_status.handle(event).await.unwrap();
    // Two receipts, for SMS this stack never sent.
    assert_eq!(
        counts,
        ReceiptCounts {
            unknown: 2,
            ..ReceiptCounts::default()
        }
    );
    let malformed = serde_json::json!({"awslogs": {"data": "bm90IGd6aXA="}});
    assert_eq!(
        test.functions
            .delivery_status
            .handle(malformed)
            .await
            .unwrap(),
        ReceiptCounts {
            malformed: 1,
            ..ReceiptCounts::default()
        },
        "acknowledged: retrying cannot fix it"
    );
}

#[tokio::test]
async fn the_schedule_sample_event_runs_a_sweep_that_marks_a_stuck_send() {
    let test = TestStack::new().await;
    let event: serde_json::Value = serde_json::from_str(&read("sweeper-schedule.json")).unwrap();
    assert_eq!(event["detail-type"], "Scheduled Event");
    // A send that stopped after Publish, 11 minutes ago.
    let scene = Scene::write(&test.store, 746).await;
    let started = Timestamp::now() - SignedDuration::from_mins(11);
    let message = scene.basic("m-stuck", started);
    scene
        .begin(&test.store, &scene.key("k-stuck"), &message)
        .await;
    let swept = test.functions.sweeper.handle().await.unwrap();
    assert_eq!(
        swept,
        Swept {
            unconfirmed: 1,
            finished_meanwhile: 0
        }
    );
}

/// The sample reply's number and text are a patient's: the PHI guard looks for them too.
fn register_sample_reply(event: &serde_json::Value) {
    let payload: serde_json::Value =
        serde_json::from_str(event["Records"][0]["Sns"]["Message"].as_str().unwrap()).unwrap();
    let text = payload["messageBody"].as_str().unwrap();
    phi_guard::register("the sample reply's text", Kind::Text, text);
    let from = payload["originationNumber"].as_str().unwrap();
    phi_guard::register("the sample reply's number", Kind::Phone, from);
}

#[tokio::test]
async fn the_object_created_sample_event_starts_the_import_it_names() {
    let test = TestStack::new().await;
    let sample: ObjectCreatedEvent =
        serde_json::from_str(&read("s3-import-object-created.json")).expect("an S3 event");
    let imports = FhirImports::on_aws(&test.stack.config, &test.stack.clients);
    let deadline = Timestamp::now() + SignedDuration::from_mins(15);
    // As it is, it names another bucket.
    assert_eq!(
        imports.handle(&sample, deadline).await.unwrap(),
        ImportRun::NotAnImport
    );

    let key = sample.detail.object.key.clone();
    let (clinic, id) = import_of_object_key(&key).expect("the key of an import");
    // An onboarded clinic, with its root key: an import tags its patients' keys with it.
    test.add_clinic(&domain::model::Clinic {
        id: clinic.clone(),
        ..demo_clinic_record()
    })
    .await;
    test.store
        .create_import(&clinic, &ImportRecord::new(id, Timestamp::now()))
        .await
        .unwrap();
    test.stack
        .clients
        .s3()
        .put_object()
        .bucket(&test.stack.config.attachments_bucket)
        .key(&key)
        .body(b"{\"resourceType\": \"Observation\"}\n".to_vec().into())
        .send()
        .await
        .unwrap();
    let mut ours = sample.clone();
    ours.detail.bucket.name = test.stack.config.attachments_bucket.clone();
    assert_eq!(
        imports.handle(&ours, deadline).await.unwrap(),
        ImportRun::Completed
    );
}
