//! Each route while an AWS service fails (faults injected into the real SDK's HTTP traffic,
//! or an endpoint where nothing listens): a clear 5xx, nothing half-written, and the same
//! request succeeding once the fault clears.

use std::sync::Arc;

use aws::wiring::OnAws;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::{
    appointment_status::AppointmentStatus,
    fakes::FixedClock,
    ids::AppointmentId,
    model::SmsStatus,
    ports::{AppointmentStore, MessageStore},
    replies::ReplyHandler,
};
use inbound_reply::InboundReply;
use integration_tests::{
    HttpCall,
    aws_faults::{AwsFaults, Fault, INJECTED_AWS_MESSAGE, Operation, Service},
    body_json, body_text, call_function, call_function_showing_phi,
    fixtures::{
        scene::{Scene, scene},
        uploads::upload_url_call,
    },
    http_call, phi_guard,
    sentinels::{OTHER_PHN, PHN},
    with_body, with_idempotency_key, with_query,
};
use jiff::{SignedDuration, Timestamp};
use local_stack::functions::Functions;
use serde_json::{Value, json};

const WRONG_PHN: &str = OTHER_PHN;

/// A scene whose functions reach AWS through `faults`.
struct Faulty {
    s: Scene,
    faults: AwsFaults,
    functions: Functions,
}

async fn faulty(phone_slot: u16, phn: Option<&str>) -> Faulty {
    let s = scene(phone_slot, phn).await;
    let faults = AwsFaults::new();
    let functions = s.test.functions_through(&faults);
    Faulty {
        s,
        faults,
        functions,
    }
}

fn send_call(s: &Scene, key: &str, body: &str) -> HttpCall {
    let call = s.staff_call(
        "POST /appointments/{appointmentId}/messages",
        &[("appointmentId", "a-mine")],
    );
    with_idempotency_key(with_body(call, body), key)
}

async fn answer(functions: &Functions, binary: &str, call: &HttpCall) -> (u16, Value, String) {
    let response = call_function(functions, binary, call).await;
    let text = body_text(&response);
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let json = if content_type.contains("json") {
        body_json(&response)
    } else {
        Value::Null
    };
    (
        response.status().as_u16(),
        json,
        format!("{content_type}\n{text}"),
    )
}

/// A problem+json answer saying which kind of failure it was and what to do, and nothing
/// AWS said nor any of the patient's data.
fn assert_problem(status: u16, problem: &Value, raw: &str, expected: (u16, &str), s: &Scene) {
    assert_eq!(status, expected.0, "{raw}");
    assert!(
        raw.starts_with("application/problem+json"),
        "problem+json: {raw}"
    );
    assert_eq!(
        problem["type"],
        format!("urn:direct-messages:problem:{}", expected.1)
    );
    assert_eq!(problem["status"], expected.0);
    assert!(
        problem["detail"].as_str().unwrap().contains("try again"),
        "says what to do: {problem}"
    );
    for secret in [
        INJECTED_AWS_MESSAGE,
        "Sentinel",
        &s.phone,
        PHN,
        "dynamodb",
        "kms",
        "Exception",
    ] {
        assert!(!raw.contains(secret), "{secret} in {raw}");
    }
}

async fn messages(s: &Scene) -> Vec<SmsStatus> {
    s.test
        .store
        .messages_for_appointment(&s.clinic.id, &AppointmentId::parse("a-mine").unwrap())
        .await
        .unwrap()
        .into_iter()
        .map(|message| message.sms_status)
        .collect()
}

fn count(statuses: &[SmsStatus], wanted: SmsStatus) -> usize {
    statuses.iter().filter(|status| **status == wanted).count()
}

/// How many audit entries record a send with `outcome` (`sent`, `failed`).
async fn audited(s: &Scene, outcome: &str) -> usize {
    s.raw_items(&s.test.stack.config.tables.audit)
        .await
        .matches(&format!("\"outcome\": S(\"{outcome}\")"))
        .count()
}

/// A fault switched on for a case: an injected one, or the whole endpoint unreachable.
enum Outage {
    Injected(Vec<(Operation, Fault)>),
    Unreachable,
}

impl Faulty {
    fn start(&self, outage: &Outage) -> Option<Functions> {
        match outage {
            Outage::Injected(faults) => {
                for (operation, fault) in faults {
                    self.faults.inject(operation.clone(), *fault);
                }
                None
            }
            Outage::Unreachable => Some(self.s.test.functions_unreachable()),
        }
    }

    /// Sends under `outage`, checks the answer, that nothing was sent or recorded as sent and
    /// what `left` says was recorded, then sends again with the same key once the fault has
    /// cleared.
    async fn send_through(
        &self,
        case: &str,
        key: &str,
        body: &str,
        outage: Outage,
        expected: (u16, &str),
        left: Left,
    ) {
        let s = &self.s;
        let sms_before = s.sms_to_me().await.len();
        let messages_before = messages(s).await;
        let audited_before = audited(s, "sent").await;
        let failed_before = audited(s, "failed").await;
        let hits_before = self.faults.hits();
        let unreachable = self.start(&outage);
        let functions = unreachable.as_ref().unwrap_or(&self.functions);
        let (status, problem, raw) = answer(functions, "send", &send_call(s, key, body)).await;
        self.faults.clear();
        assert_problem(status, &problem, &raw, expected, s);
        if matches!(outage, Outage::Injected(_)) {
            assert!(
                self.faults.hits() > hits_before,
                "{case}: the fault was met"
            );
        }
        assert_eq!(s.sms_to_me().await.len(), sms_before, "{case}: no SMS");
        let after = messages(s).await;
        assert_eq!(
            count(&after, SmsStatus::Sent),
            count(&messages_before, SmsStatus::Sent),
            "{case}: no message recorded as sent"
        );
        assert_eq!(
            count(&after, SmsStatus::Sending),
            0,
            "{case}: none left half-way"
        );
        if left == Left::AFailedMessage {
            assert_eq!(
                count(&after, SmsStatus::Failed),
                count(&messages_before, SmsStatus::Failed) + 1,
                "{case}: recorded as failed"
            );
        } else {
            assert_eq!(
                after.len(),
                messages_before.len(),
                "{case}: nothing recorded"
            );
        }
        assert_eq!(
            audited(s, "sent").await,
            audited_before,
            "{case}: no audit of a send"
        );
        let failed_audits = usize::from(left == Left::AFailedMessage);
        assert_eq!(
            audited(s, "failed").await,
            failed_before + failed_audits,
            "{case}: a failed publish is audited as failed"
        );

        let (status, receipt, raw) =
            answer(&self.functions, "send", &send_call(s, key, body)).await;
        assert_eq!(
            status, 201,
            "{case}: the same key sends once the fault clears: {raw}"
        );
        let (replay, again, _) = answer(&self.functions, "send", &send_call(s, key, body)).await;
        assert_eq!(
            (replay, &again),
            (201, &receipt),
            "{case}: a replay answers the same"
        );
        assert_eq!(
            s.sms_to_me().await.len(),
            sms_before + 1,
            "{case}: exactly one SMS"
        );
        assert_eq!(
            audited(s, "sent").await,
            audited_before + 1,
            "{case}: one audited send"
        );
    }
}

/// What a send that failed leaves in the message log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Left {
    Nothing,
    /// A failure after the message's first write: the message, recorded failed and audited.
    AFailedMessage,
}

fn dynamodb_writes_naming(table: &str, fault: Fault) -> Vec<(Operation, Fault)> {
    [
        "PutItem",
        "UpdateItem",
        "TransactWriteItems",
        "BatchWriteItem",
    ]
    .into_iter()
    .map(|name| (Operation::dynamodb(name).naming(table), fault))
    .collect()
}

#[tokio::test]
async fn search_routes_answer_502_problem_json_while_dynamodb_fails_and_recover() {
    let f = faulty(921, Some(PHN)).await;
    let s = &f.s;
    let routes = [
        with_query(s.staff_call("GET /patients", &[]), &[("q", PHN)]),
        with_query(
            s.staff_call("GET /patients", &[]),
            &[("q", "Sentinelfirst")],
        ),
        s.staff_call(
            "GET /appointments/{appointmentId}",
            &[("appointmentId", "a-mine")],
        ),
        s.staff_call("GET /templates", &[]),
        s.staff_call("GET /chats", &[]),
    ];
    for (n, fault) in [
        Fault::InternalError,
        Fault::Throttled,
        Fault::ConnectionRefused,
    ]
    .into_iter()
    .enumerate()
    {
        f.faults.inject(Operation::all(Service::DynamoDb), fault);
        // Each fault on a different route, to keep the SDK's retries short.
        for call in routes.iter().skip(n).step_by(3) {
            let (status, problem, raw) = answer(&f.functions, "search", call).await;
            assert_problem(status, &problem, &raw, (502, "dependency-failed"), s);
            assert_eq!(problem["title"], "A service is unavailable");
        }
        f.faults.clear();
    }
    assert!(f.faults.hits() > 0);
    for call in &routes {
        let response =
            if call.route_key.contains("/patients") || call.route_key.contains("/appointments/") {
                let reason = "the clinic sees its patient once the fault clears";
                call_function_showing_phi(&f.functions, "search", call, reason).await
            } else {
                call_function(&f.functions, "search", call).await
            };
        assert_eq!(response.status(), 200, "{}", body_text(&response));
    }
}

#[tokio::test]
async fn a_read_of_patient_data_that_cannot_be_audited_shows_nothing() {
    let f = faulty(922, Some(PHN)).await;
    let s = &f.s;
    let reads = [
        (
            Operation::dynamodb("BatchWriteItem"),
            with_query(s.staff_call("GET /patients", &[]), &[("q", PHN)]),
        ),
        (
            Operation::dynamodb("BatchWriteItem"),
            s.staff_call(
                "GET /appointments/{appointmentId}",
                &[("appointmentId", "a-mine")],
            ),
        ),
    ];
    for (operation, call) in &reads {
        f.faults.inject(operation.clone(), Fault::InternalError);
        let (status, problem, raw) = answer(&f.functions, "search", call).await;
        assert_problem(status, &problem, &raw, (502, "dependency-failed"), s);
        f.faults.clear();
    }
    assert!(
        f.faults.hits() > 0,
        "the audit write was the one that failed"
    );
}

#[tokio::test]
async fn upload_urls_are_made_without_calling_aws_so_an_outage_does_not_stop_them() {
    let f = faulty(922, None).await;
    for service in [Service::S3, Service::Kms, Service::DynamoDb, Service::Sns] {
        f.faults
            .inject(Operation::all(service), Fault::ConnectionRefused);
    }
    let call = upload_url_call(
        f.s.clinic.id.as_str(),
        r#"{"content_type":"application/pdf","size":9}"#,
    );
    for functions in [&f.functions, &f.s.test.functions_unreachable()] {
        let (status, ticket, raw) = answer(functions, "send", &call).await;
        assert_eq!(status, 201, "{raw}");
        assert!(
            ticket["upload"]["url"]
                .as_str()
                .unwrap()
                .contains("X-Amz-Signature")
        );
    }
    assert_eq!(
        f.faults.hits(),
        0,
        "presigning is local: no request was made"
    );
}

#[tokio::test]
async fn a_basic_send_under_each_fault_sends_nothing_and_the_same_key_then_sends_once() {
    let f = faulty(923, None).await;
    let messages_table = f.s.test.stack.config.tables.messages.clone();
    let cases = [
        (
            "SNS Publish fails",
            Outage::Injected(vec![(Operation::sns("Publish"), Fault::InternalError)]),
            (502, "sms-failed"),
            Left::AFailedMessage,
        ),
        (
            "SNS Publish throttled",
            Outage::Injected(vec![(Operation::sns("Publish"), Fault::Throttled)]),
            (502, "sms-failed"),
            Left::AFailedMessage,
        ),
        (
            "SNS opt-out check fails",
            Outage::Injected(vec![(
                Operation::sns("CheckIfPhoneNumberIsOptedOut"),
                Fault::InternalError,
            )]),
            (502, "dependency-failed"),
            // Asked beside the message's first write: the message is then recorded failed.
            Left::AFailedMessage,
        ),
        (
            "DynamoDB fails",
            Outage::Injected(vec![(
                Operation::all(Service::DynamoDb),
                Fault::InternalError,
            )]),
            (502, "dependency-failed"),
            Left::Nothing,
        ),
        (
            "the message record cannot be written",
            Outage::Injected(dynamodb_writes_naming(
                &messages_table,
                Fault::InternalError,
            )),
            (502, "dependency-failed"),
            Left::Nothing,
        ),
        (
            "AWS unreachable",
            Outage::Unreachable,
            (502, "dependency-failed"),
            Left::Nothing,
        ),
    ];
    for (n, (case, outage, expected, left)) in cases.into_iter().enumerate() {
        f.send_through(
            case,
            &format!("fault-basic-{n}"),
            r#"{"kind":"basic","text":"Sentinel closed Friday"}"#,
            outage,
            expected,
            left,
        )
        .await;
    }
}

#[tokio::test]
async fn a_secure_send_under_each_fault_sends_nothing_and_the_same_key_then_sends_once() {
    let f = faulty(924, Some(PHN)).await;
    let s = &f.s;
    let attachment = s
        .upload_attachment("application/pdf", b"%PDF-sentinel")
        .await;
    let body = json!({
        "kind": "secure",
        "text": "Sentinel results",
        "attachments": [{ "id": attachment, "file_name": "results.pdf" }],
    })
    .to_string();
    let unlock_table = s.test.stack.config.tables.unlock.clone();
    let cases = [
        (
            "KMS GenerateDataKey fails",
            Outage::Injected(vec![(
                Operation::kms("GenerateDataKey"),
                Fault::InternalError,
            )]),
            (502, "dependency-failed"),
            Left::Nothing,
        ),
        (
            "the KMS key is disabled",
            Outage::Injected(vec![(
                Operation::kms("GenerateDataKey"),
                Fault::Error {
                    status: 400,
                    code: "DisabledException",
                },
            )]),
            (502, "dependency-failed"),
            Left::Nothing,
        ),
        (
            "S3 HeadObject fails (not 'not uploaded')",
            Outage::Injected(vec![(Operation::s3("HeadObject"), Fault::Throttled)]),
            (502, "dependency-failed"),
            Left::Nothing,
        ),
        (
            "SNS Publish fails",
            Outage::Injected(vec![(Operation::sns("Publish"), Fault::InternalError)]),
            (502, "sms-failed"),
            Left::AFailedMessage,
        ),
        (
            "the unlock record cannot be written",
            Outage::Injected(dynamodb_writes_naming(&unlock_table, Fault::InternalError)),
            (502, "dependency-failed"),
            Left::Nothing,
        ),
        (
            "DynamoDB fails",
            Outage::Injected(vec![(
                Operation::all(Service::DynamoDb),
                Fault::InternalError,
            )]),
            (502, "dependency-failed"),
            Left::Nothing,
        ),
        (
            "AWS unreachable",
            Outage::Unreachable,
            (502, "dependency-failed"),
            Left::Nothing,
        ),
    ];
    for (n, (case, outage, expected, left)) in cases.into_iter().enumerate() {
        f.send_through(
            case,
            &format!("fault-secure-{n}"),
            &body,
            outage,
            expected,
            left,
        )
        .await;
    }
}

#[tokio::test]
async fn dynamodb_failing_after_the_sms_went_answers_201_and_never_sends_it_twice() {
    let f = faulty(930, None).await;
    let s = &f.s;
    let body = r#"{"kind":"basic","text":"Closed Friday"}"#;
    f.faults.inject_after(
        Operation::sns("Publish"),
        Operation::all(Service::DynamoDb),
        Fault::InternalError,
    );
    let (status, receipt, raw) =
        answer(&f.functions, "send", &send_call(s, "after-sms", body)).await;
    assert_eq!(status, 201, "the SMS went: {raw}");
    assert!(f.faults.hits() > 0, "DynamoDB failed after the publish");
    f.faults.clear();
    assert_eq!(s.sms_to_me().await.len(), 1);
    let statuses = messages(s).await;
    assert_eq!(
        count(&statuses, SmsStatus::Failed),
        0,
        "never recorded as failed once SNS took it"
    );
    for _ in 0..2 {
        let (status, again, raw) =
            answer(&f.functions, "send", &send_call(s, "after-sms", body)).await;
        assert!(
            status == 409 || (status == 201 && again == receipt),
            "a retry sends nothing new: {raw}"
        );
    }
    assert_eq!(s.sms_to_me().await.len(), 1, "exactly one SMS");
}

#[tokio::test]
async fn concurrent_sends_with_one_key_while_publish_fails_send_nothing_then_exactly_one() {
    let f = Arc::new(faulty(931, None).await);
    let body = r#"{"kind":"basic","text":"Closed Friday"}"#;
    f.faults
        .inject(Operation::sns("Publish"), Fault::InternalError);
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let f = f.clone();
            tokio::spawn(async move {
                answer(&f.functions, "send", &send_call(&f.s, "race-fail", body)).await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for racer in racers {
        let (status, problem, _) = racer.await.unwrap();
        assert!(
            (status == 502 && problem["type"] == "urn:direct-messages:problem:sms-failed")
                || (status == 409
                    && problem["type"] == "urn:direct-messages:problem:send-in-progress"),
            "{status} {problem}"
        );
        statuses.push(status);
    }
    assert!(statuses.contains(&502), "{statuses:?}");
    f.faults.clear();
    assert!(f.s.sms_to_me().await.is_empty());
    let recorded = messages(&f.s).await;
    assert_eq!(count(&recorded, SmsStatus::Sent), 0);
    assert_eq!(count(&recorded, SmsStatus::Sending), 0);

    let racers: Vec<_> = (0..8)
        .map(|_| {
            let f = f.clone();
            tokio::spawn(async move {
                answer(&f.functions, "send", &send_call(&f.s, "race-fail", body)).await
            })
        })
        .collect();
    for racer in racers {
        let (status, _, raw) = racer.await.unwrap();
        assert!(status == 201 || status == 409, "{raw}");
    }
    assert_eq!(
        f.s.sms_to_me().await.len(),
        1,
        "exactly one SMS for the key"
    );
    assert_eq!(count(&messages(&f.s).await, SmsStatus::Sent), 1);
}

/// Sends a secure message through the healthy functions; the token from its SMS.
async fn sent_secure(s: &Scene) -> String {
    let (status, receipt) = s
        .send("secure-1", r#"{"kind":"secure","text":"Sentinel results"}"#)
        .await;
    assert_eq!(status, 201, "{receipt}");
    let sms = s.sms_to_me().await.pop().unwrap().message;
    sms.rsplit("/m/").next().unwrap().to_owned()
}

fn unlock_call(token: &str, phn: Option<&str>) -> HttpCall {
    let route = if phn.is_some() {
        "POST /m/{token}"
    } else {
        "GET /m/{token}"
    };
    let mut call = http_call(route, &[("token", token)], None);
    if let Some(phn) = phn {
        call.headers.push((
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ));
        call.body = format!("phn={phn}").into_bytes();
    }
    call
}

#[tokio::test]
async fn the_unlock_page_answers_503_while_dynamodb_or_kms_fails_and_counts_no_attempt() {
    let f = faulty(925, Some(PHN)).await;
    let s = &f.s;
    let token = sent_secure(s).await;
    let messages_table = s.test.stack.config.tables.messages.clone();
    let disabled = Fault::Error {
        status: 400,
        code: "DisabledException",
    };
    type Case<'a> = (&'a str, Vec<(Operation, Fault)>, Option<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "GET while DynamoDB fails",
            vec![(Operation::all(Service::DynamoDb), Fault::InternalError)],
            None,
        ),
        (
            "a wrong PHN while DynamoDB fails",
            vec![(Operation::all(Service::DynamoDb), Fault::Throttled)],
            Some(WRONG_PHN),
        ),
        (
            "a wrong PHN while KMS Decrypt fails",
            vec![(Operation::kms("Decrypt"), Fault::InternalError)],
            Some(WRONG_PHN),
        ),
        (
            "the right PHN while KMS Decrypt fails",
            vec![(Operation::kms("Decrypt"), Fault::InternalError)],
            Some(PHN),
        ),
        (
            "the right PHN while the KMS key is disabled",
            vec![(Operation::kms("Decrypt"), disabled)],
            Some(PHN),
        ),
        (
            "the right PHN when its opening cannot be recorded",
            dynamodb_writes_naming(&messages_table, Fault::InternalError),
            Some(PHN),
        ),
        (
            "a wrong PHN while AWS is unreachable",
            vec![(Operation::all(Service::DynamoDb), Fault::ConnectionRefused)],
            Some(WRONG_PHN),
        ),
    ];
    for (case, faults, phn) in cases {
        let hits = f.faults.hits();
        for (operation, fault) in faults {
            f.faults.inject(operation, fault);
        }
        let response =
            call_function(&f.functions, "secure-unlock", &unlock_call(&token, phn)).await;
        f.faults.clear();
        assert!(f.faults.hits() > hits, "{case}: the fault was met");
        assert_eq!(response.status(), 503, "{case}");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let page = body_text(&response);
        assert!(page.contains("Please try again in a moment"), "{case}");
        assert!(!page.contains("Sentinel") && !page.contains(INJECTED_AWS_MESSAGE));
    }
    let unchanged = s.unlock_attempts(&token).await;
    assert_eq!(
        (unchanged.failures_total, unchanged.failures_in_row),
        (0, 0),
        "an outage is not a wrong PHN: nothing counted"
    );
    let response = call_function_showing_phi(
        &f.functions,
        "secure-unlock",
        &unlock_call(&token, Some(PHN)),
        "the right PHN opens the message",
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(
        body_text(&response).contains("Sentinel results"),
        "opens once the fault clears"
    );
    let opened = s
        .test
        .store
        .messages_for_appointment(&s.clinic.id, &AppointmentId::parse("a-mine").unwrap())
        .await
        .unwrap();
    assert!(opened[0].opened_at.is_some());
}

#[tokio::test]
async fn a_conflicting_write_of_an_attempt_is_read_again_and_counted_once() {
    let f = faulty(926, Some(PHN)).await;
    let s = &f.s;
    let token = sent_secure(s).await;
    let save = Operation::dynamodb("UpdateItem").naming(&s.test.stack.config.tables.unlock);

    // One conflict, as if another attempt had just written: read again, decide again.
    f.faults
        .inject_times(save.clone(), Fault::ConditionalCheckFailed, 1);
    let response = call_function(
        &f.functions,
        "secure-unlock",
        &unlock_call(&token, Some(WRONG_PHN)),
    )
    .await;
    assert_eq!(f.faults.hits(), 1);
    assert_eq!(response.status(), 200);
    assert!(
        body_text(&response).contains("4 tries left"),
        "counted once"
    );
    let state = s.unlock_attempts(&token).await;
    assert_eq!((state.failures_total, state.version), (1, 1));

    // Conflicts that never end: the attempt gives up without counting.
    f.faults.inject(save, Fault::ConditionalCheckFailed);
    let response = call_function(
        &f.functions,
        "secure-unlock",
        &unlock_call(&token, Some(WRONG_PHN)),
    )
    .await;
    f.faults.clear();
    assert_eq!(response.status(), 503);
    let state = s.unlock_attempts(&token).await;
    assert_eq!((state.failures_total, state.version), (1, 1));

    let response = call_function_showing_phi(
        &f.functions,
        "secure-unlock",
        &unlock_call(&token, Some(PHN)),
        "the right PHN opens the message",
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(body_text(&response).contains("Sentinel results"));
}

async fn status(s: &Scene) -> Option<AppointmentStatus> {
    s.test
        .store
        .get_appointment(&s.clinic.id, &AppointmentId::parse("a-mine").unwrap())
        .await
        .unwrap()
        .map(|appointment| appointment.status)
}

/// The inbound-reply function through `faults`, with a clock the test moves (Lambda's
/// retries of a failed event come a minute or more later).
fn inbound_reply(f: &Faulty, clock: Arc<FixedClock>) -> InboundReply {
    InboundReply::new(ReplyHandler {
        clock,
        ..ReplyHandler::on_aws(&f.s.test.stack.config, &f.s.test.clients_through(&f.faults))
    })
}

async fn auto_replies(s: &Scene) -> usize {
    s.sms_to_me()
        .await
        .iter()
        .filter(|sms| sms.message == s.clinic.unclear_response)
        .count()
}

async fn sent_basic(s: &Scene) {
    let (status, receipt) = s
        .send("basic-1", r#"{"kind":"basic","text":"See you Friday"}"#)
        .await;
    assert_eq!(status, 201, "{receipt}");
}

#[tokio::test]
async fn a_reply_while_dynamodb_fails_fails_the_invocation_and_its_retry_replies_once() {
    let f = faulty(927, None).await;
    let s = &f.s;
    sent_basic(s).await;
    let function = inbound_reply(&f, Arc::new(FixedClock::at(Timestamp::now())));
    f.faults
        .inject(Operation::all(Service::DynamoDb), Fault::InternalError);
    let failed = function.handle_event(s.reply_event("in-907", "ok?")).await;
    f.faults.clear();
    assert!(failed.is_err(), "Lambda retries the event");
    assert!(f.faults.hits() > 0);
    assert_eq!(auto_replies(s).await, 0);
    assert_eq!(status(s).await, Some(AppointmentStatus::Booked));

    for _ in 0..2 {
        let retried = function.handle_event(s.reply_event("in-907", "ok?")).await;
        assert!(retried.is_ok(), "{retried:?}");
    }
    assert_eq!(status(s).await, Some(AppointmentStatus::Unclear));
    assert_eq!(
        auto_replies(s).await,
        1,
        "one auto-reply across the retries"
    );
}

#[tokio::test]
async fn a_failed_auto_reply_fails_the_invocation_and_concurrent_retries_after_it_send_exactly_one()
{
    let f = Arc::new(faulty(928, None).await);
    sent_basic(&f.s).await;
    let clock = Arc::new(FixedClock::at(Timestamp::now()));
    let function = Arc::new(inbound_reply(&f, clock.clone()));
    f.faults
        .inject(Operation::sns("Publish"), Fault::InternalError);
    let failed = function
        .handle_event(f.s.reply_event("in-908", "ok?"))
        .await;
    assert!(failed.is_err(), "Lambda retries the event");
    assert!(f.faults.hits() > 0);
    assert_eq!(auto_replies(&f.s).await, 0);
    assert_eq!(
        status(&f.s).await,
        Some(AppointmentStatus::Unclear),
        "the status is kept"
    );

    f.faults.clear();
    // Lambda's first retry of a failed event comes a minute later, by when the failed
    // delivery's hold on the SMS has lapsed; SNS may deliver it more than once meanwhile.
    clock.advance(SignedDuration::from_secs(61));
    let retries: Vec<_> = (0..6)
        .map(|_| {
            let (f, function) = (f.clone(), function.clone());
            tokio::spawn(async move { function.handle(f.s.reply_event("in-908", "ok?")).await })
        })
        .collect();
    let mut handled = 0;
    for retry in retries {
        let outcome = retry.await.unwrap();
        assert_eq!(outcome.failed, 0, "{outcome:?}");
        handled += outcome.handled;
    }
    assert!(handled >= 1);
    assert!(
        function
            .handle_event(f.s.reply_event("in-908", "ok?"))
            .await
            .is_ok()
    );
    assert_eq!(auto_replies(&f.s).await, 1, "exactly one auto-reply");
}

#[tokio::test]
async fn a_conflicting_status_update_is_not_retried_forever_and_replies_once() {
    let f = faulty(929, None).await;
    let s = &f.s;
    sent_basic(s).await;
    let function = inbound_reply(&f, Arc::new(FixedClock::at(Timestamp::now())));
    let write =
        Operation::dynamodb("TransactWriteItems").naming(&s.test.stack.config.tables.appointments);

    // Injected: the reply's write meets another writer every time. It is tried a few times,
    // then the invocation fails (Lambda retries it later), having sent nothing.
    f.faults.inject(write, Fault::TransactionConflict);
    let handled = function.handle_event(s.reply_event("in-909a", "ok?")).await;
    assert!(handled.is_err(), "the conflict outlasted the tries");
    assert_eq!(f.faults.hits(), 4, "tried four times, not forever");
    assert_eq!(auto_replies(s).await, 0);
    f.faults.clear();
    // A later retry, once the other writer is done: answered once.
    let retried_at = Timestamp::now() + domain::inbound_sms::INBOUND_CLAIM_LEASE;
    let later = inbound_reply(&f, Arc::new(FixedClock::at(retried_at)));
    for _ in 0..2 {
        let handled = later.handle_event(s.reply_event("in-909a", "ok?")).await;
        assert!(handled.is_ok(), "{handled:?}");
    }
    assert_eq!(auto_replies(s).await, 1);

    // Real: the appointment was deleted after the message; the reply does not bring it back.
    s.test
        .stack
        .clients
        .dynamodb()
        .delete_item()
        .table_name(&s.test.stack.config.tables.appointments)
        .key("pk", AttributeValue::S(s.clinic.id.to_string()))
        .key("sk", AttributeValue::S("a-mine".to_owned()))
        .send()
        .await
        .unwrap();
    // A day later, so that the day's one auto-reply to this message is free again.
    let next_day = inbound_reply(
        &f,
        Arc::new(FixedClock::at(
            retried_at + domain::inbound_sms::AutoReply::INTERVAL,
        )),
    );
    let handled = next_day
        .handle_event(s.reply_event("in-909b", "hello?"))
        .await;
    assert!(handled.is_ok(), "{handled:?}");
    assert_eq!(status(s).await, None, "no appointment made up");
    assert!(phi_guard::logged("the replied-to appointment is gone"));
    assert_eq!(auto_replies(s).await, 2, "the reply is still answered");
}
