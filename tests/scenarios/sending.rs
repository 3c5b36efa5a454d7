//! Sending through the `send` handler against the emulator, reading each SMS back from it.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use domain::{
    appointment_status::AppointmentStatus,
    caller::Caller,
    error::DependencyError,
    ids::{AppointmentId, PatientId, StaffUserId},
    model::{Appointment, Patient, SmsStatus},
    phone::PhoneNumber,
    ports::{AppointmentStore, ClinicStore, MessageStore, OutboundSms, SmsReceipt, SmsSender},
};
use integration_tests::{
    fixtures::scene::scene,
    sentinels::{self, FIRST_NAME, LAST_NAME, MESSAGE_TEXT, PHN},
};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

/// What a problem answer's `detail` says.
fn detail(problem: &Value) -> &str {
    problem["detail"].as_str().unwrap()
}

#[tokio::test]
async fn a_basic_message_is_published_transactional_from_the_clinic_number() {
    let s = scene(601, None).await;
    let (status, receipt) = s
        .send(
            "key-basic-1",
            r#"{"kind":"basic","template_id":"reminder","chat_ids":["intake-form"]}"#,
        )
        .await;
    assert_eq!(status, 201, "{receipt}");
    assert_eq!(receipt["kind"], "basic");
    assert!(receipt["expires_at"].is_null());
    assert_eq!(receipt["sms"]["encoding"], "gsm7");
    let sent = s.sms_to_me().await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].message.starts_with(&format!(
        "Hi {FIRST_NAME}, a reminder of your visit at Harbourview Family Clinic on "
    )));
    assert!(
        sent[0]
            .message
            .ends_with("\nhttps://forms.harbourview.example/forms/intake")
    );
    assert_eq!(sent[0].attributes["AWS.SNS.SMS.SMSType"], "Transactional");
    assert_eq!(
        sent[0].attributes["AWS.MM.SMS.OriginationNumber"],
        "+12505550100"
    );
    let measured = domain::sms_encoding::measure(&sent[0].message);
    assert_eq!(
        receipt["sms"]["segments"], measured.segments,
        "the segments of the SMS actually sent"
    );

    let details = s.appointment_details().await;
    assert_eq!(details["messages"][0]["sms_status"], "sent");
    assert_eq!(details["messages"][0]["sent_by"], "staff-1");
    assert!(details["messages"][0]["opened"].is_null());
    let audit = s.raw_items(&s.test.stack.config.tables.audit).await;
    assert!(audit.contains("staff-1") && audit.contains("\"sent\""));
    assert!(!audit.contains("Sentinel"), "the audit holds no content");
}

#[tokio::test]
async fn the_response_reports_the_encoding_and_segments_of_the_sms_sent() {
    let s = scene(602, None).await;
    let cases = [
        ("a".repeat(160), "gsm7", 1),
        (format!("Rê{}", "a".repeat(69)), "ucs2", 2),
        ("€".repeat(81), "gsm7", 2),
    ];
    for (n, (text, encoding, segments)) in cases.iter().enumerate() {
        let body = format!(r#"{{"kind":"basic","text":"{text}"}}"#);
        let (_, receipt) = s.send(&format!("key-enc-{n}"), &body).await;
        assert_eq!(receipt["sms"]["encoding"], *encoding, "{text}");
        assert_eq!(receipt["sms"]["segments"], *segments, "{text}");
    }
}

#[tokio::test]
async fn a_secure_message_is_sealed_at_rest_and_its_sms_carries_no_patient_data() {
    let s = scene(603, Some(PHN)).await;
    let text = format!("{MESSAGE_TEXT} for {{patient_first_name}}");
    let (status, receipt) = s
        .send(
            "key-secure-1",
            &format!(r#"{{"kind":"secure","text":"{text}","chat_ids":["colonoscopy-prep"]}}"#),
        )
        .await;
    assert_eq!(status, 201, "{receipt}");
    let expires: Timestamp = receipt["expires_at"].as_str().unwrap().parse().unwrap();
    let lifetime = expires.duration_since(Timestamp::now());
    assert!(
        lifetime <= SignedDuration::from_hours(192) && lifetime > SignedDuration::from_hours(191)
    );

    let sms = &s.sms_to_me().await[0].message;
    assert!(sms.starts_with("Harbourview Family Clinic: you have a secure message. Open it by "));
    assert!(sms.contains(&format!("{}/m/", integration_tests::UNLOCK_BASE_URL)));
    for secret in ["Sentinel", PHN, "colonoscopy", "Dr. Chen"] {
        assert!(!sms.contains(secret), "{secret} in the SMS");
    }
    let token = sms.rsplit("/m/").next().unwrap();
    let config = &s.test.stack.config;
    for table in [
        &config.tables.messages,
        &config.tables.unlock,
        &config.tables.audit,
    ] {
        let raw = s.raw_items(table).await;
        for secret in ["Sentinel", "ferritin", PHN, "colonoscopy", token] {
            assert!(
                !raw.contains(secret),
                "{secret} stored in the clear in {table}"
            );
        }
    }
    let unlock = s.raw_items(&config.tables.unlock).await;
    let hash = domain::link_token::LinkToken::parse(token).unwrap().hash();
    assert!(
        unlock.contains(hash.as_str()),
        "the unlock item is keyed by the token's hash"
    );
    let ttl = s
        .test
        .stack
        .clients
        .dynamodb()
        .scan()
        .table_name(&config.tables.unlock)
        .send()
        .await
        .unwrap();
    let item = &ttl.items()[0];
    assert_eq!(
        item["expires_at"],
        AttributeValue::N(expires.as_second().to_string()),
        "TTL as epoch seconds"
    );
}

#[tokio::test]
async fn a_secure_message_carries_uploaded_attachments_after_checking_them() {
    let s = scene(604, Some(PHN)).await;
    let mut ids = Vec::new();
    for content_type in ["application/pdf", "image/png"] {
        ids.push(s.upload_attachment(content_type, b"file").await);
    }
    let attachments: Vec<_> = ids
        .iter()
        .map(|id| format!(r#"{{"id":"{id}","file_name":"results.pdf"}}"#))
        .collect();
    let body = format!(
        r#"{{"kind":"secure","text":"{MESSAGE_TEXT}","attachments":[{}]}}"#,
        attachments.join(",")
    );
    let (status, receipt) = s.send("key-attach-1", &body).await;
    assert_eq!(status, 201, "{receipt}");

    let missing = format!(
        r#"{{"kind":"secure","text":"{MESSAGE_TEXT}","attachments":[{{"id":"never-uploaded","file_name":"a.pdf"}}]}}"#
    );
    let (status, problem) = s.send("key-attach-2", &missing).await;
    assert_eq!(status, 422);
    assert!(detail(&problem).contains("was not uploaded"));
    assert_eq!(s.sms_to_me().await.len(), 1);
}

#[tokio::test]
async fn duplicate_and_concurrent_sends_with_one_key_publish_once() {
    let s = Arc::new(scene(605, None).await);
    let body = r#"{"kind":"basic","text":"Clinic closed Friday"}"#;
    let (first_status, first) = s.send("key-dup-1", body).await;
    let (second_status, second) = s.send("key-dup-1", body).await;
    assert_eq!((first_status, second_status), (201, 201));
    assert_eq!(first, second, "a replay answers what the first answered");

    let racers: Vec<_> = (0..10)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.send("key-dup-2", body).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for racer in racers {
        statuses.push(racer.await.unwrap().0);
    }
    assert!(
        statuses
            .iter()
            .all(|status| *status == 201 || *status == 409),
        "{statuses:?}"
    );
    assert!(statuses.contains(&201));
    assert_eq!(s.sms_to_me().await.len(), 2, "one SMS per key");

    let (status, problem) = s
        .send("key-dup-1", r#"{"kind":"basic","text":"Something else"}"#)
        .await;
    assert_eq!(status, 422);
    assert!(detail(&problem).contains("different request"));
}

/// SNS as the emulator runs it, except that Publish fails: a fault injected at the port.
struct FailingPublish(aws::sns::SnsSmsSender);

#[async_trait::async_trait]
impl SmsSender for FailingPublish {
    async fn send(&self, _: &OutboundSms) -> Result<SmsReceipt, DependencyError> {
        Err(DependencyError::new("sns", "Publish", "Throttling"))
    }
    async fn is_opted_out(&self, number: &PhoneNumber) -> Result<bool, DependencyError> {
        self.0.is_opted_out(number).await
    }
}

#[tokio::test]
async fn a_failed_publish_leaves_the_message_failed_and_a_retry_sends_it() {
    let s = scene(606, None).await;
    let real = aws::sns::SnsSmsSender::new(s.test.stack.clients.sns());
    let mut sender = integration_tests::message_sender(&s.test);
    sender.sms = Arc::new(FailingPublish(real));
    let caller = Caller::staff(s.clinic.id.clone(), StaffUserId::parse("staff-1").unwrap());
    let appointment = AppointmentId::parse("a-mine").unwrap();
    let key = domain::idempotency::IdempotencyKey::parse(Some("key-fail-1")).unwrap();
    let request = serde_json::from_str(r#"{"kind":"basic","text":"Closed Friday"}"#).unwrap();
    let error = sender
        .send(&caller, &appointment, &key, &request)
        .await
        .unwrap_err();
    assert_eq!(error.status(), 502);
    let failed = s.raw_items(&s.test.stack.config.tables.messages).await;
    assert!(
        failed.contains("\"failed\"") && !failed.contains("\"sent\""),
        "recorded as failed, never as sent"
    );

    let (status, _) = s
        .send("key-fail-1", r#"{"kind":"basic","text":"Closed Friday"}"#)
        .await;
    assert_eq!(status, 201, "the same key works once the fault clears");
    assert_eq!(s.sms_to_me().await.len(), 1);
}

#[tokio::test]
async fn an_opted_out_patient_is_refused_with_409_and_nothing_is_published() {
    let s = scene(607, None).await;
    let tag = s.number_tag().await;
    s.test
        .store
        .set_opted_out(&s.clinic.id, &tag, true)
        .await
        .unwrap();
    let (status, problem) = s
        .send("key-stop-1", r#"{"kind":"basic","text":"Hi"}"#)
        .await;
    assert_eq!(status, 409);
    assert_eq!(problem["type"], "urn:direct-messages:problem:opted-out");
    s.test
        .store
        .set_opted_out(&s.clinic.id, &tag, false)
        .await
        .unwrap();
    assert_eq!(
        s.send("key-stop-2", r#"{"kind":"basic","text":"Hi"}"#)
            .await
            .0,
        201
    );
    assert_eq!(s.sms_to_me().await.len(), 1);
}

#[tokio::test]
async fn bad_sends_get_clear_problems_and_publish_nothing() {
    let s = scene(608, None).await;
    let clinic = s.clinic.id.to_string();
    let key_129 = "k".repeat(129);
    let basic = r#"{"kind":"basic","text":"Hi"}"#;
    // Patient data in what is refused: the guard checks that no answer or log repeats it.
    let too_long = format!(
        r#"{{"kind":"basic","text":"{FIRST_NAME} {}"}}"#,
        "x".repeat(160 - FIRST_NAME.chars().count())
    );
    let eleven_chats = format!(
        r#"{{"kind":"basic","text":"Hi","chat_ids":[{}]}}"#,
        [r#""intake-form""#; 11].join(",")
    );
    let wrong_type = format!(r#"{{"kind":"basic","text":["{MESSAGE_TEXT}"]}}"#);
    let secure = format!(r#"{{"kind":"secure","text":"{MESSAGE_TEXT}"}}"#);
    let unknown_field = format!(r#"{{"kind":"basic","text":"Hi","phn":"{PHN}"}}"#);
    /// Clinic, appointment, key, body, status, problem type, what the detail says.
    type Case<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        &'a str,
        u16,
        &'a str,
        &'a str,
    );
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        (&clinic, "a-nope", Some("k1"), basic, 404, "not-found", "appointment was not found"),
        ("other-clinic", "a-mine", Some("k2"), basic, 404, "not-found", ""),
        (&clinic, "a-mine", Some("k3"), &too_long, 422, "basic-too-long", "this one has 161"),
        (
            &clinic, "a-mine", Some("k4"),
            r#"{"kind":"basic","text":"Hi","attachments":[{"id":"f1","file_name":"a.pdf"}]}"#,
            422, "attachments-on-basic", "cannot carry files",
        ),
        (
            &clinic, "a-mine", Some("k5"), &secure,
            422, "phn-required-for-secure", "PHN on file",
        ),
        (
            &clinic, "a-noah-before-activation", Some("k6"), basic,
            422, "outside-window", "outside the clinic's window",
        ),
        (
            &clinic, "a-mine", None, basic,
            400, "invalid-parameter", "Idempotency-Key: this header is required",
        ),
        (&clinic, "a-mine", Some(&key_129), basic, 400, "invalid-parameter", "longer than 128"),
        (
            &clinic, "a-mine", Some("k7"), r#"{"kind":"basic","template_id":"nope"}"#,
            404, "not-found", "template was not found",
        ),
        (
            &clinic, "a-mine", Some("k8"), r#"{"kind":"basic","text":"Hi","chat_ids":["nope"]}"#,
            404, "not-found", "chat was not found",
        ),
        (
            &clinic, "a-mine", Some("k8b"), r#"{"kind":"basic","template_id":"results-ready"}"#,
            422, "secure-template-on-basic", "template is for secure messages",
        ),
        (
            &clinic, "a-mine", Some("k9"), r#"{"kind":"basic","text":"Hi {patient_dob}"}"#,
            422, "template-invalid", "patient_dob",
        ),
        (
            &clinic, "a-mine", Some("k10"), r#"{"kind":"fancy","text":"Hi"}"#,
            400, "invalid-body", "wrong type",
        ),
        (&clinic, "bad id!", Some("k11"), basic, 400, "invalid-id", "appointment id"),
        (&clinic, "a-mine", Some("k13"), &eleven_chats, 400, "invalid-body", "at most 10 chats"),
        (&clinic, "a-mine", Some("k14"), &wrong_type, 400, "invalid-body", "wrong type"),
        (&clinic, "a-mine", Some("k15"), &unknown_field, 400, "invalid-body", "unknown field `phn`"),
        (&clinic, "a-mine", Some("k16"), "{", 400, "invalid-body", "not valid JSON"),
    ];
    for (clinic, appointment, key, body, status, kind, says) in cases {
        let (got, problem) = s.send_as(clinic, appointment, key, body).await;
        assert_eq!(got, status, "{appointment} {body}: {problem}");
        assert_eq!(
            problem["type"],
            format!("urn:direct-messages:problem:{kind}"),
            "{body}"
        );
        assert!(detail(&problem).contains(says), "{problem}");
    }
    let (status, problem) = s
        .send_as(&clinic, "a-zoe-upcoming", Some("k12"), &secure)
        .await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (
            422,
            Some("urn:direct-messages:problem:phn-required-for-secure")
        )
    );
    assert!(s.sms_to_me().await.is_empty());
}

#[tokio::test]
async fn a_patient_without_a_phone_cannot_be_texted() {
    let s = scene(609, None).await;
    let mut patient = s
        .test
        .store
        .get_patient(&s.clinic.id, &PatientId::parse("p-mine").unwrap())
        .await
        .unwrap()
        .unwrap();
    patient.phone = None;
    let appointment = s
        .test
        .store
        .get_appointment(&s.clinic.id, &AppointmentId::parse("a-mine").unwrap())
        .await
        .unwrap()
        .unwrap();
    s.test
        .store
        .upsert_appointment_with_patient(
            &s.test.clinic_key(&s.clinic.id).await,
            &patient,
            &appointment,
        )
        .await
        .unwrap();
    let (status, problem) = s
        .send("key-nophone", r#"{"kind":"basic","text":"Hi"}"#)
        .await;
    assert_eq!(status, 422);
    assert!(detail(&problem).contains("no phone number"));
}

#[tokio::test]
async fn a_number_sns_reports_opted_out_is_refused_with_409() {
    // The emulator reports every number ending in 99 as opted out.
    let s = scene(699, None).await;
    let (status, problem) = s
        .send("key-sns-stop", r#"{"kind":"basic","text":"Hi"}"#)
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["type"], "urn:direct-messages:problem:opted-out");
    assert!(s.sms_to_me().await.is_empty());
    // SNS is asked beside the message's first write: the history shows it not sent.
    let history = s
        .test
        .store
        .messages_for_appointment(&s.clinic.id, &AppointmentId::parse("a-mine").unwrap())
        .await
        .unwrap();
    let statuses: Vec<_> = history.iter().map(|message| message.sms_status).collect();
    assert_eq!(statuses, [SmsStatus::Failed]);
}

#[tokio::test]
async fn a_patient_whose_number_changed_through_another_appointment_is_texted_at_the_new_one() {
    let s = scene(611, None).await;
    // The clinic's system books another appointment with the patient's new number: the
    // appointment being messaged still holds the old one.
    let moved = Patient {
        id: PatientId::parse("p-mine").unwrap(),
        phn: None,
        first_name: FIRST_NAME.into(),
        last_name: LAST_NAME.into(),
        date_of_birth: None,
        phone: Some(PhoneNumber::parse(&sentinels::phone(612)).unwrap()),
        email: None,
    };
    let later = Appointment {
        id: AppointmentId::parse("a-later").unwrap(),
        patient_id: moved.id.clone(),
        starts_at: Timestamp::from_second(Timestamp::now().as_second() + 9 * 86_400).unwrap(),
        provider_name: "Dr. Chen".into(),
        status: AppointmentStatus::Booked,
    };
    s.test
        .store
        .upsert_appointment_with_patient(&s.test.clinic_key(&s.clinic.id).await, &moved, &later)
        .await
        .unwrap();
    let (status, _) = s
        .send("key-moved-1", r#"{"kind":"basic","text":"See you soon"}"#)
        .await;
    assert_eq!(status, 201);
    let all = s.test.published_sms().await;
    let to = |number: &str| all.iter().filter(|sms| sms.phone_number == number).count();
    assert_eq!(to(&sentinels::phone(612)), 1, "the number on file now");
    assert_eq!(to(&s.phone), 0, "never the old number");
}

/// `POST /appointments/{appointmentId}/messages/preview` of `body` as `clinic`'s staff.
async fn preview_as(
    s: &integration_tests::fixtures::scene::Scene,
    clinic: &str,
    body: &str,
) -> (u16, Value) {
    let call = integration_tests::with_body(
        integration_tests::staff_call(
            clinic,
            "POST /appointments/{appointmentId}/messages/preview",
            &[("appointmentId", "a-mine")],
        ),
        body,
    );
    let response = s
        .test
        .call_showing_phi("send", &call, "staff see the message they are writing")
        .await;
    (
        response.status().as_u16(),
        integration_tests::body_json(&response),
    )
}

/// A basic template with curly quotes previews and sends as GSM-7 in one segment; the
/// preview reports UCS-2 and the offending character for a message with `ç`; a 161-character
/// message is previewed (200) with its rule; another clinic's appointment is 404.
#[tokio::test]
async fn the_composer_previews_what_a_send_will_publish_and_sends_nothing() {
    let s = scene(813, None).await;
    let quoted = domain::model::Template {
        id: "quoted".parse().unwrap(),
        name: "Quoted".into(),
        kind: domain::message_kind::MessageKind::Basic,
        text: Some(
            "See you {appointment_date} \u{2013} it\u{2019}s \u{201C}quick\u{201D}\u{2026}".into(),
        ),
        text_fr: None,
        version: 1,
    };
    s.test
        .store
        .put_template(&s.clinic.id, &quoted)
        .await
        .unwrap();
    let body = r#"{"kind":"basic","template_id":"quoted"}"#;
    let (status, preview) = preview_as(&s, s.clinic.id.as_str(), body).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["sms"]["encoding"], "gsm7");
    assert_eq!(preview["sms"]["segments"], 1);
    assert_eq!(preview["replacements"].as_array().unwrap().len(), 5);
    assert_eq!(preview["problems"], serde_json::json!([]));
    assert!(s.sms_to_me().await.is_empty(), "a preview sends nothing");
    let (status, receipt) = s.send("quoted-1", body).await;
    assert_eq!(status, 201, "{receipt}");
    assert_eq!(receipt["sms"], preview["sms"]);
    assert_eq!(
        s.sms_to_me().await[0].message,
        preview["sms_text"].as_str().unwrap()
    );

    let (_, cedilla) = preview_as(
        &s,
        s.clinic.id.as_str(),
        r#"{"kind":"basic","text":"Re\u00e7u"}"#,
    )
    .await;
    assert_eq!(cedilla["sms"]["encoding"], "ucs2");
    assert_eq!(cedilla["ucs2_characters"][0]["character"], "ç");
    assert_eq!(cedilla["ucs2_characters"][0]["position"], 2);

    let long = serde_json::json!({"kind": "basic", "text": "a".repeat(161)}).to_string();
    let (status, too_long) = preview_as(&s, s.clinic.id.as_str(), &long).await;
    assert_eq!(status, 200);
    assert_eq!(
        too_long["problems"][0]["type"],
        "urn:direct-messages:problem:basic-too-long"
    );
    assert_eq!(too_long["problems"][0]["status"], 422);

    let (status, other) = preview_as(&s, "other-clinic", body).await;
    assert_eq!(status, 404, "{other}");
}
