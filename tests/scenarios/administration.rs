//! A clinic set up and run through the API alone, on the local API as `infra/local/run`
//! serves it: the operator onboards it and binds its EMR, its admin writes a template and a
//! chat, its staff find, view and message a patient the EMR sent, a reply puts the
//! appointment on the worklist and staff clear it; the privacy officer sees every step,
//! and the other clinic sees none of it.

use integration_tests::{
    TestStack,
    fixtures::emr::{
        OPERATOR_TOKEN, PRIVACY_OFFICER_TOKEN, STAFF_TOKEN, appointment, sentinel_patient,
        serve_local_api,
    },
    local_api_body,
    sentinels::{self, PHN},
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Api {
    base: String,
    http: reqwest::Client,
}

/// An answer: its status, `ETag` and body.
struct Answer {
    status: StatusCode,
    etag: Option<String>,
    body: Value,
}

impl Api {
    /// A call whose answer holds no PHI (the guard checks it).
    async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> Answer {
        let response = self.send(token, method.clone(), path, body, if_match).await;
        let status = response.status();
        let etag = response
            .headers()
            .get("etag")
            .map(|value| value.to_str().unwrap().to_owned());
        let text = local_api_body(&format!("{method} {path}"), response).await;
        Answer {
            status,
            etag,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    /// A staff read whose answer shows the patient (PHI by design).
    async fn read_showing_phi(&self, token: &str, path: &str) -> Value {
        let response = self.send(token, Method::GET, path, None, None).await;
        assert_eq!(response.status(), 200, "{path}");
        serde_json::from_str(&response.text().await.unwrap()).unwrap()
    }

    async fn send(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(tag) = if_match {
            request = request.header("if-match", tag);
        }
        if path.ends_with("/messages") {
            request = request.header("idempotency-key", "admin-scenario-1");
        }
        request.send().await.unwrap()
    }

    /// A sign-in for the onboarded clinic (Cognito users and app clients on AWS).
    async fn sign_in(&self, clinic: &str, role: &str, client_id: Option<&str>) -> (String, String) {
        let mut wanted = json!({"clinic_id": clinic, "role": role});
        if let Some(client) = client_id {
            wanted["client_id"] = json!(client);
        }
        let created: Value = self
            .http
            .post(format!("{}/local/sign-ins", self.base))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&wanted)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            created["token"].as_str().unwrap().to_owned(),
            created["user"].as_str().unwrap().to_owned(),
        )
    }
}

fn oak_bay(sms_number: &str) -> Value {
    json!({
        "name": "Oak Bay Family Practice",
        "time_zone": "America/Vancouver",
        "sms_number": sms_number,
        "phone": "+1 778 555 0151",
        "unclear_response": "Oak Bay Family Practice takes no replies here. Please call 778-555-0151.",
        "help_response": "Oak Bay Family Practice appointment texts. Call 778-555-0151. Reply STOP to opt out.",
        "default_language": "en"
    })
}

fn events(trail: &Value) -> Vec<String> {
    trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["event"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_onboarded_clinic_is_run_through_the_api_alone_and_its_trail_holds_every_step() {
    let test = TestStack::new().await;
    let api = Api {
        base: serve_local_api(&test).await,
        http: reqwest::Client::new(),
    };
    let started = jiff::Timestamp::now();
    let sms_number = "+17785550150";

    // The operator onboards the clinic; its number cannot be taken twice.
    let onboarded = api
        .call(
            OPERATOR_TOKEN,
            Method::POST,
            "/clinics",
            Some(oak_bay(sms_number)),
            None,
        )
        .await;
    assert_eq!(onboarded.status, 201, "{}", onboarded.body);
    assert_eq!(onboarded.body["warnings"], json!([]));
    let clinic = onboarded.body["id"].as_str().unwrap().to_owned();
    let again = api
        .call(
            OPERATOR_TOKEN,
            Method::POST,
            "/clinics",
            Some(oak_bay("778 555 0150")),
            None,
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(
        again.body["type"],
        "urn:direct-messages:problem:sms-number-taken"
    );
    let bound = api
        .call(
            OPERATOR_TOKEN,
            Method::PUT,
            &format!("/clinics/{clinic}/integration"),
            Some(json!({"client_id": "oak-bay-emr"})),
            None,
        )
        .await;
    assert_eq!(bound.status, 200, "{}", bound.body);

    let (admin, _) = api.sign_in(&clinic, "clinic-admin", None).await;
    let (staff, staff_user) = api.sign_in(&clinic, "staff", None).await;
    let (officer, _) = api.sign_in(&clinic, "privacy-officer", None).await;
    let (emr, _) = api
        .sign_in(&clinic, "integration", Some("oak-bay-emr"))
        .await;

    // Its admin writes a template and a chat; a stale ETag changes nothing.
    let template = api
        .call(
            &admin,
            Method::POST,
            "/templates",
            Some(json!({
                "name": "Visit reminder", "kind": "basic",
                "text": "Hi {patient_first_name}, see you {appointment_date} at {appointment_time}."
            })),
            None,
        )
        .await;
    assert_eq!(template.status, 201, "{}", template.body);
    assert_eq!(template.etag.as_deref(), Some("\"1\""));
    let template_id = template.body["id"].as_str().unwrap().to_owned();
    let renamed = api
        .call(
            &admin,
            Method::PUT,
            &format!("/templates/{template_id}"),
            Some(json!({"name": "Reminder", "kind": "basic", "text": "Hi {patient_first_name}, see you {appointment_date}."})),
            Some("\"1\""),
        )
        .await;
    assert_eq!(
        (renamed.status, renamed.etag.as_deref()),
        (StatusCode::OK, Some("\"2\""))
    );
    let stale = api
        .call(
            &admin,
            Method::PUT,
            &format!("/templates/{template_id}"),
            Some(json!({"name": "Overwritten", "kind": "basic", "text": "Hi"})),
            Some("\"1\""),
        )
        .await;
    assert_eq!(stale.status, 412);
    let chat = api
        .call(
            &admin,
            Method::POST,
            "/chats",
            Some(json!({"title": "Intake form", "kind": "form", "link": "https://forms.example.ca/oak/intake"})),
            None,
        )
        .await;
    assert_eq!(chat.status, 201, "{}", chat.body);
    let chat_id = chat.body["id"].as_str().unwrap().to_owned();

    // Roles: each route takes its own.
    for (token, method, path) in [
        (staff.as_str(), Method::POST, "/templates"),
        (admin.as_str(), Method::GET, "/audit"),
        (officer.as_str(), Method::GET, "/patients"),
        (staff.as_str(), Method::POST, "/clinics"),
        (admin.as_str(), Method::PUT, "/clinics/x/integration"),
    ] {
        let refused = api
            .call(token, method.clone(), path, Some(json!({})), None)
            .await;
        assert_eq!(refused.status, 403, "{method} {path}");
    }

    // Its EMR sends a patient and an appointment; staff find, view and message them.
    for (path, resource) in [
        ("/fhir/Patient/oak-p-1", sentinel_patient("oak-p-1", 501)),
        (
            "/fhir/Appointment/oak-a-1",
            appointment("oak-a-1", "Patient/oak-p-1", 3, "booked"),
        ),
    ] {
        let written = api
            .http
            .put(format!("{}{path}", api.base))
            .bearer_auth(&emr)
            .header("content-type", "application/fhir+json")
            .body(resource.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(written.status(), 201, "{path}");
    }
    let found = api
        .read_showing_phi(&staff, &format!("/patients?q={PHN}&by=phn"))
        .await;
    assert_eq!(found["items"][0]["patient"]["id"], "oak-p-1");
    api.read_showing_phi(&staff, "/appointments/oak-a-1").await;
    let sent = api
        .call(
            &staff,
            Method::POST,
            "/appointments/oak-a-1/messages",
            Some(json!({"kind": "basic", "template_id": template_id, "chat_ids": [chat_id]})),
            None,
        )
        .await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    let message_id = sent.body["message_id"].as_str().unwrap().to_owned();

    // A reply puts the appointment on the worklist; staff clear it.
    let reply = api
        .http
        .post(format!("{}/local/sms-replies", api.base))
        .json(
            &json!({"from": sentinels::phone(501), "to": sms_number, "text": "Can I come later?"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 202);
    let worklist = api
        .read_showing_phi(&staff, "/appointments?status=Unclear")
        .await;
    assert_eq!(
        worklist["items"][0]["appointment"]["id"], "oak-a-1",
        "{worklist}"
    );
    let cleared = api
        .call(
            &staff,
            Method::POST,
            "/appointments/oak-a-1/clear-unclear",
            None,
            None,
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    // Deleting the template leaves the message sent from it as it was.
    let deleted = api
        .call(
            &admin,
            Method::DELETE,
            &format!("/templates/{template_id}"),
            None,
            Some("\"2\""),
        )
        .await;
    assert_eq!(deleted.status, 204);
    let details = api.read_showing_phi(&staff, "/appointments/oak-a-1").await;
    assert_eq!(details["messages"][0]["id"], message_id.as_str());

    // The privacy officer sees every step, the staff user's reads among them.
    let window = format!(
        "from={}&to={}",
        started - jiff::SignedDuration::from_secs(1),
        jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1)
    );
    let trail = api
        .call(
            &officer,
            Method::GET,
            &format!("/audit?{window}&limit=100"),
            None,
            None,
        )
        .await;
    assert_eq!(trail.status, 200, "{}", trail.body);
    let seen = events(&trail.body);
    for step in [
        "clinic-onboarded",
        "integration-bound",
        "template-created",
        "template-changed",
        "chat-created",
        "patients-found",
        "appointment-viewed",
        "send",
        "reply",
        "worklist-read",
        "unclear-cleared",
        "template-deleted",
    ] {
        assert!(seen.iter().any(|event| event == step), "{step} in {seen:?}");
    }
    let by_staff = api
        .call(
            &officer,
            Method::GET,
            &format!("/audit?{window}&user={staff_user}"),
            None,
            None,
        )
        .await;
    let staff_steps = events(&by_staff.body);
    assert!(staff_steps.contains(&"patients-found".to_owned()));
    assert!(
        !staff_steps.contains(&"template-created".to_owned()),
        "{staff_steps:?}"
    );
    let by_message = api
        .call(
            &officer,
            Method::GET,
            &format!("/audit?{window}&message_id={message_id}"),
            None,
            None,
        )
        .await;
    assert_eq!(events(&by_message.body).len(), 2, "the send and the reply");
    let reversed = api
        .call(
            &officer,
            Method::GET,
            "/audit?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z",
            None,
            None,
        )
        .await;
    assert_eq!(reversed.status, 400);

    // The other clinic sees none of it.
    let theirs = api
        .call(
            PRIVACY_OFFICER_TOKEN,
            Method::GET,
            &format!("/audit?{window}"),
            None,
            None,
        )
        .await;
    assert_eq!(theirs.status, 200);
    assert!(
        !events(&theirs.body)
            .iter()
            .any(|event| event.starts_with("template") || event == "clinic-onboarded"),
        "{}",
        theirs.body
    );
    let their_chats = api
        .call(STAFF_TOKEN, Method::GET, "/chats", None, None)
        .await;
    assert!(!their_chats.body.to_string().contains(&chat_id));
    let their_view = api
        .call(
            STAFF_TOKEN,
            Method::GET,
            "/appointments/oak-a-1",
            None,
            None,
        )
        .await;
    assert_eq!(their_view.status, 404);
    let their_change = api
        .call(
            STAFF_TOKEN,
            Method::DELETE,
            &format!("/chats/{chat_id}"),
            None,
            Some("\"1\""),
        )
        .await;
    assert_eq!(their_change.status, 403, "staff manage no chats");
}

/// `infra/onboard` against a stack's API, as an operator runs it after a deploy.
fn onboard(base: &str, clinic_file: &std::path::Path) -> std::process::Output {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/onboard");
    std::process::Command::new("python3")
        .arg(script)
        .args(["--api", base, "--token", OPERATOR_TOKEN])
        .args(["--integration-client", "oak-bay-emr"])
        .arg(clinic_file)
        .output()
        .expect("python3 runs infra/onboard")
}

#[tokio::test]
async fn infra_onboard_onboards_binds_the_emr_and_says_what_is_next() {
    let test = TestStack::new().await;
    let base = serve_local_api(&test).await;
    let file = std::env::temp_dir().join(format!("onboard-{}.json", std::process::id()));
    std::fs::write(&file, oak_bay("+17785550150").to_string()).unwrap();
    let (first, again) = {
        let (base, file) = (base.clone(), file.clone());
        tokio::task::spawn_blocking(move || (onboard(&base, &file), onboard(&base, &file)))
            .await
            .unwrap()
    };
    std::fs::remove_file(&file).unwrap();
    let printed = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        printed.contains("onboarded Oak Bay Family Practice as clinic-"),
        "{printed}"
    );
    assert!(
        printed.contains("bound the EMR machine client oak-bay-emr"),
        "{printed}"
    );
    assert!(printed.contains("admin-add-user-to-group"), "{printed}");
    assert!(printed.contains("IntegrationClientIds"), "{printed}");
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("onboarding refused (409)"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    // Resuming with the clinic's id binds (again, the same client) and onboards nothing.
    let clinic_id = printed
        .split_whitespace()
        .find(|word| word.starts_with("clinic-"))
        .unwrap()
        .trim_end_matches(',')
        .to_owned();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/onboard");
    let resumed = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(script)
            .args(["--api", &base, "--token", OPERATOR_TOKEN])
            .args([
                "--clinic-id",
                &clinic_id,
                "--integration-client",
                "oak-bay-emr",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let resumed_text = String::from_utf8_lossy(&resumed.stdout);
    assert!(resumed.status.success(), "{resumed_text}");
    assert!(!resumed_text.contains("onboarded"), "{resumed_text}");
    assert!(
        resumed_text.contains("bound the EMR machine client"),
        "{resumed_text}"
    );
}
