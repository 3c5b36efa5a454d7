//! Patients' replies through the `inbound-reply` handler with real SNS events, against the
//! emulator, reading the auto-replies back from it.

use std::sync::Arc;

use aws::{sns::SnsSmsSender, wiring::OnAws};
use domain::{
    appointment_status::AppointmentStatus,
    caller::Caller,
    fakes::FixedClock,
    idempotency::IdempotencyKey,
    ids::{AppointmentId, ClinicId, PatientId, StaffUserId},
    model::{Appointment, Patient},
    phone::PhoneNumber,
    ports::{AppointmentStore, MessageStore},
    replies::ReplyHandler,
    send::MessageSender,
};
use inbound_reply::InboundReply;
use integration_tests::{
    fixtures::{
        inbound::InboundSms,
        scene::{Scene, scene},
    },
    message_sender,
    sentinels::{self, REPLY_TEXT},
};
use jiff::{SignedDuration, Timestamp};

async fn status(s: &Scene, clinic: &ClinicId, appointment: &str) -> AppointmentStatus {
    let id = AppointmentId::parse(appointment).unwrap();
    s.test
        .store
        .get_appointment(clinic, &id)
        .await
        .unwrap()
        .unwrap()
        .status
}

const CLINIC_NUMBER: &str = "+12505550100";

async fn sent_basic(s: &Scene, key: &str) {
    let (status, body) = s
        .send(key, r#"{"kind":"basic","text":"See you Friday"}"#)
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_reply_makes_the_appointment_unclear_and_gets_one_auto_reply_with_the_clinics_text() {
    let s = scene(801, None).await;
    sent_basic(&s, "reply-1").await;
    let outcome = s
        .test
        .functions
        .call_sns(s.reply_event("in-801", REPLY_TEXT))
        .await;
    assert_eq!((outcome.handled, outcome.failed), (1, 0));
    assert_eq!(
        status(&s, &s.clinic.id, "a-mine").await,
        AppointmentStatus::Unclear
    );
    let sent = s.sms_to_me().await;
    assert_eq!(sent.len(), 2, "the message and one auto-reply");
    assert_eq!(sent[1].message, s.clinic.unclear_response);
    assert_eq!(
        sent[1].attributes["AWS.MM.SMS.OriginationNumber"],
        CLINIC_NUMBER
    );
}

#[tokio::test]
async fn the_same_event_three_times_and_ten_replies_racing_get_one_auto_reply() {
    let s = Arc::new(scene(802, None).await);
    sent_basic(&s, "reply-2").await;
    // An auto-responder answering ours: ten inbound SMS at once, racing for the day's one
    // auto-reply; and one of them delivered again, at once and after.
    let racers: Vec<_> = (0..10)
        .map(|n| format!("in-802-loop-{n}"))
        .chain((0..3).map(|_| "in-802".to_owned()))
        .map(|id| {
            let s = s.clone();
            tokio::spawn(async move {
                s.test
                    .functions
                    .call_sns(s.reply_event(&id, "Sentinel ok?"))
                    .await
            })
        })
        .collect();
    for racer in racers {
        let outcome = racer.await.unwrap();
        assert_eq!(outcome.failed, 0);
    }
    for _ in 0..3 {
        s.test
            .functions
            .call_sns(s.reply_event("in-802", "Sentinel ok"))
            .await;
    }
    assert_eq!(
        s.sms_to_me().await.len(),
        2,
        "the message and one auto-reply in all: one a day to replies to a message"
    );
    assert_eq!(
        status(&s, &s.clinic.id, "a-mine").await,
        AppointmentStatus::Unclear
    );
}

#[tokio::test]
async fn stop_refuses_later_sends_and_start_allows_them_again() {
    let s = scene(803, None).await;
    sent_basic(&s, "reply-3").await;
    s.test
        .functions
        .call_sns(s.reply_event("in-803a", "STOP"))
        .await;
    assert_eq!(
        status(&s, &s.clinic.id, "a-mine").await,
        AppointmentStatus::Booked,
        "a keyword leaves the status"
    );
    let (refused, problem) = s.send("reply-3b", r#"{"kind":"basic","text":"Hi"}"#).await;
    assert_eq!(refused, 409, "{problem}");
    s.test
        .functions
        .call_sns(s.reply_event("in-803b", "START"))
        .await;
    assert_eq!(
        s.send("reply-3c", r#"{"kind":"basic","text":"Hi"}"#)
            .await
            .0,
        201
    );
    assert_eq!(
        s.sms_to_me().await.len(),
        2,
        "no auto-reply to STOP or START"
    );
}

#[tokio::test]
async fn replies_from_unknown_numbers_or_to_messages_older_than_30_days_change_nothing() {
    let s = scene(804, None).await;
    let mut old = message_sender(&s.test);
    old.clock = Arc::new(FixedClock::at(
        Timestamp::now() - SignedDuration::from_hours(31 * 24),
    ));
    old.clinics = Arc::new(domain::clinic_cache::ClinicCache::new(
        Arc::new(s.test.store.clone()),
        old.clock.clone(),
    ));
    send_with(&old, &s.clinic.id, "a-mine", "reply-4").await;
    s.test
        .functions
        .call_sns(s.reply_event("in-804a", "Sentinel hello?"))
        .await;
    s.test
        .functions
        .call_sns(s.inbound_event(&InboundSms {
            id: "in-804b",
            from: &sentinels::phone(899),
            to: CLINIC_NUMBER,
            text: "Sentinel who is this",
            replying_to: None,
        }))
        .await;
    assert_eq!(
        status(&s, &s.clinic.id, "a-mine").await,
        AppointmentStatus::Booked
    );
    assert_eq!(s.sms_to_me().await.len(), 1, "only the old message");
}

#[tokio::test]
async fn a_reply_naming_the_sms_it_answers_marks_that_appointment_not_the_latest() {
    let s = scene(810, None).await;
    sent_basic(&s, "reply-10").await;
    let patient = s
        .test
        .store
        .get_patient(&s.clinic.id, &PatientId::parse("p-mine").unwrap())
        .await
        .unwrap()
        .expect("the scene's patient");
    let later = Appointment {
        id: AppointmentId::parse("a-later").unwrap(),
        patient_id: patient.id.clone(),
        starts_at: Timestamp::from_second(Timestamp::now().as_second() + 9 * 86_400).unwrap(),
        provider_name: "Dr. Chen".into(),
        status: AppointmentStatus::Booked,
    };
    s.test
        .store
        .upsert_appointment_with_patient(&s.test.clinic_key(&s.clinic.id).await, &patient, &later)
        .await
        .unwrap();
    // Sent two seconds later (times are stored to the second): the latest.
    let mut later_sender = message_sender(&s.test);
    later_sender.clock = Arc::new(FixedClock::at(
        Timestamp::now() + SignedDuration::from_secs(2),
    ));
    later_sender.clinics = Arc::new(domain::clinic_cache::ClinicCache::new(
        Arc::new(s.test.store.clone()),
        later_sender.clock.clone(),
    ));
    send_with(&later_sender, &s.clinic.id, "a-later", "reply-10b").await;
    let recent = s
        .test
        .store
        .recent_messages_to(
            &s.clinic.id,
            &s.number_tag().await,
            Timestamp::now() - SignedDuration::from_hours(1),
        )
        .await
        .unwrap();
    assert_eq!(recent[0].appointment_id.as_str(), "a-later");
    let first_sms = recent[1].sent_as.clone().expect("SNS took the first SMS");

    s.test
        .functions
        .call_sns(s.inbound_event(&InboundSms {
            id: "in-810",
            from: &s.phone,
            to: CLINIC_NUMBER,
            text: REPLY_TEXT,
            replying_to: Some(&first_sms),
        }))
        .await;
    assert_eq!(
        status(&s, &s.clinic.id, "a-mine").await,
        AppointmentStatus::Unclear
    );
    assert_eq!(
        status(&s, &s.clinic.id, "a-later").await,
        AppointmentStatus::Booked
    );

    // An id of no SMS to this number (forged, or another patient's) steers nothing.
    s.test
        .functions
        .call_sns(s.inbound_event(&InboundSms {
            id: "in-810b",
            from: &s.phone,
            to: CLINIC_NUMBER,
            text: REPLY_TEXT,
            replying_to: Some("00000000-0000-0000-0000-000000000000"),
        }))
        .await;
    assert_eq!(
        status(&s, &s.clinic.id, "a-later").await,
        AppointmentStatus::Unclear
    );
}

/// A patient's number is never a key in clear: the recipient index, the opt-out and the
/// day's auto-reply hold its tag under the clinic's key (keys show in CloudTrail data
/// events, exports and the console, where item encryption does not help).
#[tokio::test]
async fn a_patients_number_is_in_no_key_a_send_a_reply_or_stop_writes() {
    let s = scene(811, None).await;
    sent_basic(&s, "reply-11").await;
    let reply = s.reply_event("in-811", REPLY_TEXT);
    s.test.functions.call_sns(reply).await;
    s.test
        .functions
        .call_sns(s.reply_event("in-811-stop", "STOP"))
        .await;
    assert_eq!(
        s.sms_to_me().await.len(),
        2,
        "the message and its auto-reply"
    );

    let tables = &s.test.stack.config.tables;
    let (messages, clinics) = (
        s.raw_items(&tables.messages).await,
        s.raw_items(&tables.clinics).await,
    );
    let tag = s.number_tag().await;
    assert!(messages.contains(&format!("{}#{}", s.clinic.id, tag.as_str())));
    assert!(clinics.contains(&format!("OPTOUT#{}", tag.as_str())));
    assert!(clinics.contains(&format!("AUTO_REPLY#UNCLEAR#{}", tag.as_str())));
    let national = &s.phone[2..];
    for raw in [&messages, &clinics] {
        assert!(
            !raw.contains(&s.phone) && !raw.contains(national),
            "the patient's number is stored in clear"
        );
    }
}

async fn send_with(sender: &MessageSender, clinic: &ClinicId, appointment: &str, key: &str) {
    let caller = Caller::staff(clinic.clone(), StaffUserId::parse("staff-1").unwrap());
    let request = serde_json::from_str(r#"{"kind":"basic","text":"Hi"}"#).unwrap();
    sender
        .send(
            &caller,
            &AppointmentId::parse(appointment).unwrap(),
            &IdempotencyKey::parse(Some(key)).unwrap(),
            &request,
        )
        .await
        .expect("sent");
}

#[tokio::test]
async fn only_the_clinic_owning_the_number_replied_to_is_touched() {
    let s = scene(805, None).await;
    sent_basic(&s, "reply-5").await;
    let mut other = s.clinic.clone();
    other.id = ClinicId::parse("second-clinic").unwrap();
    other.sms_number = PhoneNumber::parse("+12505550177").unwrap();
    s.test.add_clinic(&other).await;
    let patient = Patient {
        id: PatientId::parse("p-shared").unwrap(),
        phn: None,
        first_name: "Sentinelshared".into(),
        last_name: "Sentinelphone".into(),
        date_of_birth: None,
        phone: Some(PhoneNumber::parse(&s.phone).unwrap()),
        email: None,
    };
    let appointment = Appointment {
        id: AppointmentId::parse("a-second").unwrap(),
        patient_id: patient.id.clone(),
        starts_at: Timestamp::from_second(Timestamp::now().as_second() + 86_400).unwrap(),
        provider_name: "Dr. Two".into(),
        status: AppointmentStatus::Booked,
    };
    s.test
        .store
        .upsert_appointment_with_patient(
            &s.test.clinic_key(&other.id).await,
            &patient,
            &appointment,
        )
        .await
        .unwrap();
    send_with(&message_sender(&s.test), &other.id, "a-second", "reply-5b").await;

    s.test
        .functions
        .call_sns(s.inbound_event(&InboundSms {
            id: "in-805",
            from: &s.phone,
            to: "+12505550177",
            text: "Sentinel which clinic?",
            replying_to: None,
        }))
        .await;
    assert_eq!(
        status(&s, &other.id, "a-second").await,
        AppointmentStatus::Unclear
    );
    assert_eq!(
        status(&s, &s.clinic.id, "a-mine").await,
        AppointmentStatus::Booked
    );
    let replies: Vec<_> = s
        .sms_to_me()
        .await
        .into_iter()
        .filter(|sms| sms.message == other.unclear_response)
        .collect();
    assert_eq!(replies.len(), 1);
    assert_eq!(
        replies[0].attributes["AWS.MM.SMS.OriginationNumber"],
        "+12505550177"
    );
}

#[tokio::test]
async fn a_transient_failure_fails_the_invocation_so_that_lambda_retries() {
    let s = scene(806, None).await;
    sent_basic(&s, "reply-6").await;
    // SNS unreachable (nothing listens there): the auto-reply cannot be sent now.
    let unreachable =
        aws_sdk_sns::Client::new(&local_stack::emulator::sdk_config("http://127.0.0.1:9"));
    let failing = InboundReply::new(ReplyHandler {
        sms: Arc::new(SnsSmsSender::new(unreachable)),
        ..ReplyHandler::on_aws(&s.test.stack.config, &s.test.stack.clients)
    });
    let result = failing
        .handle_event(s.reply_event("in-806", "Sentinel ok"))
        .await;
    assert!(result.is_err(), "Lambda must retry");
    assert_eq!(
        status(&s, &s.clinic.id, "a-mine").await,
        AppointmentStatus::Unclear,
        "the status is kept"
    );
}

#[tokio::test]
async fn a_reply_puts_the_appointment_on_the_worklist_until_staff_clear_it() {
    let s = scene(809, None).await;
    sent_basic(&s, "reply-9").await;
    let worklist = |query: &'static str| {
        let mut call = s.staff_call("GET /appointments", &[]);
        call.raw_query = query.into();
        call
    };
    let empty = s.test.call("search", &worklist("status=Unclear")).await;
    assert_eq!(empty.status(), 200);
    assert!(
        integration_tests::body_json(&empty)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    s.test
        .functions
        .call_sns(s.reply_event("in-809", REPLY_TEXT))
        .await;
    let listed = s
        .test
        .call_showing_phi(
            "search",
            &worklist("status=Unclear"),
            "the clinic sees its own patient",
        )
        .await;
    assert_eq!(listed.status(), 200);
    let body = integration_tests::body_json(&listed);
    assert_eq!(body["items"][0]["appointment"]["id"], "a-mine");
    assert_eq!(body["items"][0]["appointment"]["status"], "Unclear");
    assert!(body["items"][0]["replied_at"].is_string());
    assert!(
        !body.to_string().contains(REPLY_TEXT),
        "never the reply's text"
    );

    let clear = s.staff_call(
        "POST /appointments/{appointmentId}/clear-unclear",
        &[("appointmentId", "a-mine")],
    );
    let cleared = s.test.call("send", &clear).await;
    assert_eq!(cleared.status(), 200);
    assert_eq!(integration_tests::body_json(&cleared)["status"], "Booked");
    assert_eq!(
        status(&s, &s.clinic.id, "a-mine").await,
        AppointmentStatus::Booked
    );
    let after = s.test.call("search", &worklist("status=Unclear")).await;
    assert!(
        integration_tests::body_json(&after)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let again = s.test.call("send", &clear).await;
    assert_eq!(again.status(), 409);
    assert_eq!(
        integration_tests::body_json(&again)["type"],
        "urn:direct-messages:problem:not-unclear"
    );

    let bad = s.test.call("search", &worklist("status=Booked")).await;
    assert_eq!(bad.status(), 400);
    let backwards = s
        .test
        .call(
            "search",
            &worklist("status=Unclear&from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z"),
        )
        .await;
    assert_eq!(backwards.status(), 400);
    let detail = integration_tests::body_json(&backwards)["detail"].to_string();
    assert!(detail.starts_with("\"from"), "{detail}");
}
