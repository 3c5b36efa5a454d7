//! infra/openapi.yaml is the API's contract: its routes are the template's, and what the
//! handlers answer matches its schemas.

use std::collections::BTreeSet;

use std::collections::BTreeMap;

use aws::api_gateway::caller::{GROUPS_CLAIM, USER_CLAIM, groups_claim};
use domain::caller::Role;
use integration_tests::{
    HttpCall, TestStack, body_json, claims_with_roles,
    fixtures::{demo::demo_clinic, uploads::upload_url_call},
    http_call,
    sentinels::MESSAGE_TEXT,
    staff_claims, with_body, with_idempotency_key, with_query,
};
use local_stack::{seed::DemoData, template::Template};
use serde_json::{Value, json};

fn openapi() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/openapi.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Validates `body` against the schema of `path` `method` `status` `content_type`.
fn assert_matches(
    spec: &Value,
    path: &str,
    method: &str,
    status: u16,
    content_type: &str,
    body: &Value,
) {
    let mut response = &spec["paths"][path][method]["responses"][status.to_string()];
    if let Some(reference) = response["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        response = &spec["components"]["responses"][name];
    }
    let schema = &response["content"][content_type]["schema"];
    assert!(
        !schema.is_null(),
        "{method} {path} documents no {status} {content_type}"
    );
    let document = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": spec["components"],
        "allOf": [schema],
    });
    let validator = jsonschema::draft202012::new(&document).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status}: {errors:?}\n{body}"
    );
}

#[test]
fn the_contract_documents_exactly_the_template_routes() {
    let spec = openapi();
    let documented: BTreeSet<String> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|key| ["get", "post", "put", "patch", "delete"].contains(&key.as_str()))
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    let template = Template::load_default().unwrap();
    let deployed: BTreeSet<String> = template
        .functions
        .iter()
        .flat_map(|f| f.routes.iter().map(|r| r.key()))
        .collect();
    assert_eq!(documented, deployed);
    for route in template.functions.iter().flat_map(|f| &f.routes) {
        let (method, path) = (route.method.to_lowercase(), &route.path);
        let security = &spec["paths"][path][&method]["security"];
        assert_eq!(
            security == &json!([]),
            route.public,
            "{} public in one but not the other",
            route.key()
        );
    }
}

/// The same request with an `If-Match` header.
fn with_if_match(mut call: HttpCall, tag: &str) -> HttpCall {
    call.headers.push(("if-match".to_owned(), tag.to_owned()));
    call
}

/// The admin function's routes, each with the role it takes (and some with another).
fn admin_cases(clinic: &str) -> Vec<(&'static str, HttpCall, &'static str, u16, &'static str)> {
    let admin = Some(claims_with_roles(clinic, "admin-1", &[Role::ClinicAdmin]));
    let officer = Some(claims_with_roles(
        clinic,
        "officer-1",
        &[Role::PrivacyOfficer],
    ));
    let staff = Some(staff_claims(clinic, "staff-1"));
    let operator = Some(BTreeMap::from([
        (USER_CLAIM.to_owned(), "operator-1".to_owned()),
        (GROUPS_CLAIM.to_owned(), groups_claim(&[Role::Operator])),
    ]));
    let (json, problem) = ("application/json", "application/problem+json");
    let new_clinic = |number: &str| {
        json!({
            "name": "Oak Bay Family Practice", "time_zone": "America/Vancouver",
            "sms_number": number, "phone": "+17785550151",
            "unclear_response": "No replies here: call 778-555-0151.",
            "help_response": "Appointment texts. Call 778-555-0151."
        })
        .to_string()
    };
    let template =
        r#"{"name":"Contract template","kind":"basic","text":"Hi {patient_first_name}"}"#;
    vec![
        (
            "admin",
            http_call("GET /clinic", &[], admin.clone()),
            "/clinic",
            200,
            json,
        ),
        (
            "admin",
            http_call("GET /clinic", &[], staff.clone()),
            "/clinic",
            403,
            problem,
        ),
        (
            "admin",
            with_body(
                http_call("PATCH /clinic", &[], admin.clone()),
                r#"{"help_response":"Call us."}"#,
            ),
            "/clinic",
            200,
            json,
        ),
        (
            "admin",
            with_body(
                http_call("PATCH /clinic", &[], admin.clone()),
                r#"{"time_zone":"UTC"}"#,
            ),
            "/clinic",
            400,
            problem,
        ),
        (
            "admin",
            with_body(http_call("POST /templates", &[], admin.clone()), template),
            "/templates",
            201,
            json,
        ),
        (
            "admin",
            with_body(http_call("POST /templates", &[], admin.clone()), template),
            "/templates",
            409,
            problem,
        ),
        (
            "admin",
            with_body(
                http_call("POST /templates", &[], admin.clone()),
                r#"{"name":"DOB","kind":"basic","text":"Born {patient_dob}"}"#,
            ),
            "/templates",
            422,
            problem,
        ),
        (
            "admin",
            with_if_match(
                with_body(
                    http_call(
                        "PUT /templates/{templateId}",
                        &[("templateId", "reminder")],
                        admin.clone(),
                    ),
                    r#"{"name":"Appointment reminder","kind":"basic","text":"See you {appointment_date}."}"#,
                ),
                "\"1\"",
            ),
            "/templates/{templateId}",
            200,
            json,
        ),
        (
            "admin",
            with_if_match(
                with_body(
                    http_call(
                        "PUT /templates/{templateId}",
                        &[("templateId", "reminder")],
                        admin.clone(),
                    ),
                    r#"{"name":"Appointment reminder","kind":"basic","text":"Hi"}"#,
                ),
                "\"1\"",
            ),
            "/templates/{templateId}",
            412,
            problem,
        ),
        (
            "admin",
            with_body(
                http_call(
                    "PUT /templates/{templateId}",
                    &[("templateId", "reminder")],
                    admin.clone(),
                ),
                r#"{"name":"Appointment reminder","kind":"basic","text":"Hi"}"#,
            ),
            "/templates/{templateId}",
            428,
            problem,
        ),
        (
            "admin",
            with_if_match(
                http_call(
                    "DELETE /templates/{templateId}",
                    &[("templateId", "nowhere")],
                    admin.clone(),
                ),
                "\"1\"",
            ),
            "/templates/{templateId}",
            404,
            problem,
        ),
        (
            "admin",
            with_body(
                http_call("POST /chats", &[], admin.clone()),
                r#"{"title":"Contract form","kind":"form","link":"https://forms.example.ca/c"}"#,
            ),
            "/chats",
            201,
            json,
        ),
        (
            "admin",
            with_body(
                http_call("POST /chats", &[], admin.clone()),
                r#"{"title":"Unsafe","kind":"form","link":"javascript:alert(1)"}"#,
            ),
            "/chats",
            400,
            problem,
        ),
        (
            "admin",
            with_if_match(
                with_body(
                    http_call(
                        "PUT /chats/{chatId}",
                        &[("chatId", "nowhere")],
                        admin.clone(),
                    ),
                    r#"{"title":"Form","kind":"form","link":"https://forms.example.ca/c"}"#,
                ),
                "\"1\"",
            ),
            "/chats/{chatId}",
            404,
            problem,
        ),
        (
            "admin",
            with_body(
                http_call("POST /clinics", &[], operator.clone()),
                &new_clinic("+17785550150"),
            ),
            "/clinics",
            201,
            json,
        ),
        (
            "admin",
            with_body(
                http_call("POST /clinics", &[], operator.clone()),
                &new_clinic("+17785550150"),
            ),
            "/clinics",
            409,
            problem,
        ),
        (
            "admin",
            with_body(
                http_call("POST /clinics", &[], admin.clone()),
                &new_clinic("+17785550159"),
            ),
            "/clinics",
            403,
            problem,
        ),
        (
            "admin",
            with_body(
                http_call(
                    "PUT /clinics/{clinicId}/integration",
                    &[("clinicId", clinic)],
                    operator.clone(),
                ),
                r#"{"client_id":"local-demo-emr"}"#,
            ),
            "/clinics/{clinicId}/integration",
            200,
            json,
        ),
        (
            "admin",
            with_body(
                http_call(
                    "PUT /clinics/{clinicId}/integration",
                    &[("clinicId", "nowhere")],
                    operator.clone(),
                ),
                r#"{"client_id":"another-emr"}"#,
            ),
            "/clinics/{clinicId}/integration",
            404,
            problem,
        ),
        (
            "admin",
            with_query(
                http_call("GET /audit", &[], officer.clone()),
                &[
                    ("from", "2026-01-01T00:00:00Z"),
                    ("to", "2030-01-01T00:00:00Z"),
                    ("limit", "5"),
                ],
            ),
            "/audit",
            200,
            json,
        ),
        (
            "admin",
            with_query(
                http_call("GET /audit", &[], officer),
                &[("to", "2030-01-01T00:00:00Z")],
            ),
            "/audit",
            400,
            problem,
        ),
        (
            "admin",
            with_query(
                http_call("GET /audit", &[], staff),
                &[
                    ("from", "2026-01-01T00:00:00Z"),
                    ("to", "2030-01-01T00:00:00Z"),
                ],
            ),
            "/audit",
            403,
            problem,
        ),
    ]
}

#[tokio::test]
async fn real_responses_match_the_contract() {
    let spec = openapi();
    let test = TestStack::new().await;
    let clinic = demo_clinic(&test).await;
    let claims = Some(staff_claims(clinic.id.as_str(), "staff-1"));
    let problem = "application/problem+json";
    let cases = [
        (
            "search",
            with_query(
                http_call("GET /patients", &[], claims.clone()),
                &[("q", "smith")],
            ),
            "/patients",
            200,
            "application/json",
        ),
        (
            "search",
            with_query(
                http_call("GET /patients", &[], claims.clone()),
                &[("q", "smith"), ("limit", "1")],
            ),
            "/patients",
            200,
            "application/json",
        ),
        (
            "search",
            with_query(
                http_call("GET /patients", &[], claims.clone()),
                &[("q", "x")],
            ),
            "/patients",
            400,
            problem,
        ),
        (
            "search",
            http_call("GET /patients", &[], None),
            "/patients",
            401,
            problem,
        ),
        (
            "search",
            http_call(
                "GET /appointments/{appointmentId}",
                &[("appointmentId", "a-ava-upcoming")],
                claims.clone(),
            ),
            "/appointments/{appointmentId}",
            200,
            "application/json",
        ),
        (
            "search",
            http_call(
                "GET /appointments/{appointmentId}",
                &[("appointmentId", "a-none")],
                claims.clone(),
            ),
            "/appointments/{appointmentId}",
            404,
            problem,
        ),
        (
            "search",
            http_call(
                "GET /appointments/{appointmentId}",
                &[("appointmentId", "bad id")],
                claims.clone(),
            ),
            "/appointments/{appointmentId}",
            400,
            problem,
        ),
        (
            "search",
            with_query(
                http_call("GET /appointments", &[], claims.clone()),
                &[("status", "Unclear"), ("limit", "5")],
            ),
            "/appointments",
            200,
            "application/json",
        ),
        (
            "search",
            with_query(
                http_call("GET /appointments", &[], claims.clone()),
                &[("status", "Booked")],
            ),
            "/appointments",
            400,
            problem,
        ),
        (
            "search",
            http_call("GET /messages", &[], claims.clone()),
            "/messages",
            200,
            "application/json",
        ),
        (
            "search",
            with_query(
                http_call("GET /messages", &[], claims.clone()),
                &[("status", "lost")],
            ),
            "/messages",
            400,
            problem,
        ),
        (
            "search",
            with_query(
                http_call("GET /messages", &[], claims.clone()),
                &[
                    ("from", "2026-12-02T00:00:00Z"),
                    ("to", "2026-12-01T00:00:00Z"),
                ],
            ),
            "/messages",
            400,
            problem,
        ),
        (
            "search",
            with_query(
                http_call("GET /messages", &[], claims.clone()),
                &[("limit", "0")],
            ),
            "/messages",
            400,
            problem,
        ),
        (
            "search",
            with_query(
                http_call("GET /messages", &[], claims.clone()),
                &[("cursor", "not-a-cursor")],
            ),
            "/messages",
            400,
            problem,
        ),
        (
            "search",
            with_query(
                http_call("GET /messages", &[], claims.clone()),
                &[("from", "yesterday")],
            ),
            "/messages",
            400,
            problem,
        ),
        (
            "search",
            http_call(
                "GET /messages",
                &[],
                Some(claims_with_roles(
                    clinic.id.as_str(),
                    "officer-1",
                    &[Role::PrivacyOfficer],
                )),
            ),
            "/messages",
            403,
            problem,
        ),
        (
            "send",
            http_call(
                "POST /appointments/{appointmentId}/clear-unclear",
                &[("appointmentId", "a-ava-upcoming")],
                claims.clone(),
            ),
            "/appointments/{appointmentId}/clear-unclear",
            409,
            problem,
        ),
        (
            "send",
            http_call(
                "POST /messages/{messageId}/clear-lock",
                &[("messageId", "no-such-message")],
                claims.clone(),
            ),
            "/messages/{messageId}/clear-lock",
            404,
            problem,
        ),
        (
            "search",
            http_call("GET /templates", &[], claims.clone()),
            "/templates",
            200,
            "application/json",
        ),
        (
            "search",
            http_call("GET /chats", &[], claims.clone()),
            "/chats",
            200,
            "application/json",
        ),
        (
            "send",
            upload_url_call(
                clinic.id.as_str(),
                r#"{"content_type":"image/png","size":1200}"#,
            ),
            "/attachments",
            201,
            "application/json",
        ),
        (
            // JSON does not tell 2507.0 from 2507: both are the contract's integer.
            "send",
            upload_url_call(
                clinic.id.as_str(),
                r#"{"content_type":"application/pdf","size":2507.0}"#,
            ),
            "/attachments",
            201,
            "application/json",
        ),
        (
            "send",
            upload_url_call(
                clinic.id.as_str(),
                r#"{"content_type":"text/html","size":10}"#,
            ),
            "/attachments",
            415,
            problem,
        ),
        (
            "send",
            upload_url_call(clinic.id.as_str(), "{"),
            "/attachments",
            400,
            problem,
        ),
        (
            "send",
            with_idempotency_key(
                with_body(
                    http_call(
                        "POST /appointments/{appointmentId}/messages",
                        &[("appointmentId", "a-ava-upcoming")],
                        claims.clone(),
                    ),
                    r#"{"kind":"basic","text":"Clinic closed Friday"}"#,
                ),
                "contract-test-key",
            ),
            "/appointments/{appointmentId}/messages",
            201,
            "application/json",
        ),
        (
            "send",
            with_idempotency_key(
                with_body(
                    http_call(
                        "POST /appointments/{appointmentId}/messages",
                        &[("appointmentId", "a-zoe-upcoming")],
                        claims.clone(),
                    ),
                    &format!(r#"{{"kind":"secure","text":"{MESSAGE_TEXT}"}}"#),
                ),
                "contract-test-key",
            ),
            "/appointments/{appointmentId}/messages",
            422,
            problem,
        ),
        (
            "send",
            with_body(
                http_call(
                    "POST /appointments/{appointmentId}/messages",
                    &[("appointmentId", "a-ava-upcoming")],
                    claims.clone(),
                ),
                r#"{"kind":"basic","text":"Hi"}"#,
            ),
            "/appointments/{appointmentId}/messages",
            400,
            problem,
        ),
    ];
    let emr_claims = Some(
        [
            ("client_id".to_owned(), "local-demo-emr".to_owned()),
            ("scope".to_owned(), "fhir/write".to_owned()),
        ]
        .into(),
    );
    let started = test
        .call(
            "fhir-sync",
            &http_call("POST /fhir/$import-upload", &[], emr_claims.clone()),
        )
        .await;
    let import_id = body_json(&started)["importId"]
        .as_str()
        .expect("an import id")
        .to_owned();
    let import_cases = [
        (
            "fhir-sync",
            http_call("POST /fhir/$import-upload", &[], emr_claims.clone()),
            "/fhir/$import-upload",
            201,
            "application/json",
        ),
        (
            "fhir-sync",
            http_call(
                "GET /fhir/$import/{id}",
                &[("id", import_id.as_str())],
                emr_claims.clone(),
            ),
            "/fhir/$import/{id}",
            200,
            "application/json",
        ),
        (
            "fhir-sync",
            http_call(
                "GET /fhir/$import/{id}",
                &[("id", "0b1e9f34-5a0c-4d53-9a59-7a4b2d9c1e00")],
                emr_claims.clone(),
            ),
            "/fhir/$import/{id}",
            404,
            "application/fhir+json",
        ),
        (
            "fhir-sync",
            http_call("POST /fhir/$import-upload", &[], claims.clone()),
            "/fhir/$import-upload",
            403,
            "application/fhir+json",
        ),
    ];
    let admin_cases = admin_cases(clinic.id.as_str());
    assert_answers_match(
        &test,
        &spec,
        cases.into_iter().chain(import_cases).chain(admin_cases),
    )
    .await;

    // The carriers' receipts: the basic message sent above is delivered; one to the demo
    // patient whose phone is unreachable fails, with its reason.
    let unreachable = DemoData::load()
        .unwrap()
        .unreachable_numbers()
        .next()
        .expect("the demo data marks a patient's phone unreachable");
    test.phone_unreachable(&unreachable).await;
    let sent = test
        .call(
            "send",
            &with_idempotency_key(
                with_body(
                    http_call(
                        "POST /appointments/{appointmentId}/messages",
                        &[("appointmentId", "a-maria-upcoming")],
                        claims.clone(),
                    ),
                    r#"{"kind":"basic","text":"See you soon"}"#,
                ),
                "contract-unreachable",
            ),
        )
        .await;
    assert_eq!(sent.status(), 201, "{}", body_json(&sent));
    assert_eq!(test.deliver_receipts().await.recorded, 2);
    let outbox = test
        .call("search", &http_call("GET /messages", &[], claims.clone()))
        .await;
    let status_lines: BTreeSet<String> = body_json(&outbox)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["status"].to_string())
        .collect();
    let expected = [
        json!({"state": "delivered", "reason": null}),
        json!({"state": "failed", "reason": "unreachable"}),
    ];
    assert_eq!(
        status_lines,
        expected.iter().map(Value::to_string).collect()
    );
    let json = "application/json";
    let with_receipts = [
        (
            "search",
            http_call("GET /messages", &[], claims.clone()),
            "/messages",
            200,
            json,
        ),
        (
            "search",
            with_query(
                http_call("GET /messages", &[], claims.clone()),
                &[("status", "failed"), ("limit", "1")],
            ),
            "/messages",
            200,
            json,
        ),
        (
            "search",
            http_call(
                "GET /appointments/{appointmentId}",
                &[("appointmentId", "a-ava-upcoming")],
                claims.clone(),
            ),
            "/appointments/{appointmentId}",
            200,
            json,
        ),
        (
            "search",
            http_call(
                "GET /appointments/{appointmentId}",
                &[("appointmentId", "a-maria-upcoming")],
                claims.clone(),
            ),
            "/appointments/{appointmentId}",
            200,
            json,
        ),
    ];
    assert_answers_match(&test, &spec, with_receipts).await;

    // A secure message resent, then withdrawn (twice); a basic one has no link to resend
    // or withdraw, and a withdrawn one none left.
    let secure = test
        .call(
            "send",
            &with_idempotency_key(
                with_body(
                    http_call(
                        "POST /appointments/{appointmentId}/messages",
                        &[("appointmentId", "a-ava-upcoming")],
                        claims.clone(),
                    ),
                    r#"{"kind":"secure","template_id":"results-ready"}"#,
                ),
                "contract-secure",
            ),
        )
        .await;
    assert_eq!(secure.status(), 201, "{}", body_json(&secure));
    let secure_id = body_json(&secure)["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let basic_id = body_json(&sent)["message_id"].as_str().unwrap().to_owned();
    let withdraw = |id: &str| {
        http_call(
            "POST /messages/{messageId}/withdraw",
            &[("messageId", id)],
            claims.clone(),
        )
    };
    let resend = |id: &str, key: &str| {
        with_idempotency_key(
            http_call(
                "POST /messages/{messageId}/resend",
                &[("messageId", id)],
                claims.clone(),
            ),
            key,
        )
    };
    let resent = "/messages/{messageId}/resend";
    let path = "/messages/{messageId}/withdraw";
    let withdrawals = [
        (
            "send",
            resend(&secure_id, "contract-resend"),
            resent,
            200,
            json,
        ),
        (
            "send",
            resend(&basic_id, "contract-resend-basic"),
            resent,
            422,
            problem,
        ),
        (
            "send",
            http_call(
                "POST /messages/{messageId}/resend",
                &[("messageId", &secure_id)],
                claims.clone(),
            ),
            resent,
            400,
            problem,
        ),
        (
            "send",
            resend("no-such-message", "contract-resend-none"),
            resent,
            404,
            problem,
        ),
        ("send", withdraw(&secure_id), path, 200, json),
        ("send", withdraw(&secure_id), path, 200, json),
        ("send", withdraw(&basic_id), path, 422, problem),
        ("send", withdraw("no-such-message"), path, 404, problem),
        ("send", withdraw("bad id"), path, 400, problem),
        (
            "send",
            resend(&secure_id, "contract-resend-withdrawn"),
            resent,
            422,
            problem,
        ),
        (
            "search",
            with_query(
                http_call("GET /messages", &[], claims.clone()),
                &[("status", "withdrawn")],
            ),
            "/messages",
            200,
            json,
        ),
        (
            "search",
            http_call(
                "GET /appointments/{appointmentId}",
                &[("appointmentId", "a-ava-upcoming")],
                claims.clone(),
            ),
            "/appointments/{appointmentId}",
            200,
            json,
        ),
    ];
    assert_answers_match(&test, &spec, withdrawals).await;
}

/// Makes each call and checks its status, content type and body against the contract.
async fn assert_answers_match<'a>(
    test: &TestStack,
    spec: &Value,
    cases: impl IntoIterator<Item = (&'a str, HttpCall, &'a str, u16, &'a str)>,
) {
    for (function, call, path, status, content_type) in cases {
        let response = match call.route_key.as_str() {
            "GET /patients" | "GET /appointments/{appointmentId}" => {
                test.call_showing_phi(function, &call, "the clinic sees its own patients")
                    .await
            }
            _ => test.call(function, &call).await,
        };
        assert_eq!(
            response.status(),
            status,
            "{} {:?} {}: {}",
            call.route_key,
            call.raw_query,
            String::from_utf8_lossy(&call.body),
            body_json(&response)
        );
        assert_eq!(response.headers()["content-type"], content_type);
        let method = call.method.to_lowercase();
        assert_matches(
            spec,
            path,
            &method,
            status,
            content_type,
            &body_json(&response),
        );
    }
}
