//! Reply rules against in-memory fakes, on messages sent by the send use case.

use super::*;
use crate::{
    appointment_status::AppointmentStatus,
    ids::{AppointmentId, ClinicId},
    phone::PhoneNumber,
    ports::{AppointmentStore, ClinicStore, UnclearWorklist},
    send::tests::{World, world},
};

fn handler(w: &World) -> ReplyHandler {
    ReplyHandler {
        clinics: w.store.clone(),
        profiles: Arc::new(ClinicCache::new(w.store.clone(), w.clock.clone())),
        keyring: w.keyring.clone(),
        messages: w.store.clone(),
        inbound: w.store.clone(),
        sms: w.sms.clone(),
        audit: w.store.clone(),
        clock: w.clock.clone(),
    }
}

fn reply(id: &str, from: &str, body: &str) -> InboundSms {
    InboundSms {
        from: PhoneNumber::parse(from).unwrap(),
        to: PhoneNumber::parse("+12505550100").unwrap(),
        body: body.into(),
        inbound_message_id: id.into(),
        previous_published_message_id: None,
    }
}

async fn status(w: &World) -> AppointmentStatus {
    let clinic = ClinicId::parse("c1").unwrap();
    w.store
        .get_appointment(&clinic, &AppointmentId::parse("a1").unwrap())
        .await
        .unwrap()
        .unwrap()
        .status
}

const PATIENT: &str = "+16045550123";

#[tokio::test]
async fn a_reply_makes_the_appointment_unclear_and_gets_the_unclear_response_once() {
    let w = world().await;
    w.send("k1", r#"{"kind":"basic","text":"See you Friday"}"#)
        .await
        .unwrap();
    let handler = handler(&w);
    for _ in 0..3 {
        handler
            .handle(&reply("in-1", PATIENT, "Can I come at 3 instead?"))
            .await
            .unwrap();
    }
    assert_eq!(status(&w).await, AppointmentStatus::Unclear);
    let sent = w.sms.sent();
    assert_eq!(sent.len(), 2, "the message and one auto-reply");
    assert_eq!(sent[1].body, "Call us.");
    assert_eq!(sent[1].to.as_e164(), PATIENT);
    assert_eq!(sent[1].from.as_e164(), "+12505550100");
    let audit = w.store.audit();
    let replies: Vec<_> = audit.iter().filter(|e| e.event == "reply").collect();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].reference.as_deref(), Some("in-1"));
}

#[tokio::test]
async fn a_retry_after_a_crash_before_the_auto_reply_sends_it_exactly_once() {
    let w = world().await;
    w.send("k1", r#"{"kind":"basic","text":"See you Friday"}"#)
        .await
        .unwrap();
    let handler = handler(&w);
    w.sms.fail_sends(true);
    assert!(
        handler.handle(&reply("in-2", PATIENT, "ok")).await.is_err(),
        "the auto-reply failed"
    );
    assert_eq!(
        status(&w).await,
        AppointmentStatus::Unclear,
        "the status was set before"
    );
    w.sms.fail_sends(false);
    assert_eq!(
        handler.handle(&reply("in-2", PATIENT, "ok")).await.unwrap(),
        ReplyOutcome::InProgress,
        "within the lease"
    );
    w.clock.advance(SignedDuration::from_secs(61));
    assert!(matches!(
        handler.handle(&reply("in-2", PATIENT, "ok")).await.unwrap(),
        ReplyOutcome::Unclear { .. }
    ));
    assert_eq!(
        handler.handle(&reply("in-2", PATIENT, "ok")).await.unwrap(),
        ReplyOutcome::Duplicate
    );
    assert_eq!(
        w.sms.sent().len(),
        2,
        "the message and exactly one auto-reply"
    );
}

#[tokio::test]
async fn carrier_keywords_opt_out_or_in_and_touch_nothing_else() {
    let w = world().await;
    w.send("k1", r#"{"kind":"basic","text":"See you Friday"}"#)
        .await
        .unwrap();
    let handler = handler(&w);
    let phone = PhoneNumber::parse(PATIENT).unwrap();
    let tag = w.number_tag(&phone).await;
    let clinic = ClinicId::parse("c1").unwrap();
    for (n, word) in ["STOP", "arrêt", " Cancel. ", "opt-out", "TD", "unsubscribe"]
        .iter()
        .enumerate()
    {
        let outcome = handler
            .handle(&reply(&format!("stop-{n}"), PATIENT, word))
            .await
            .unwrap();
        assert_eq!(outcome, ReplyOutcome::Keyword(Keyword::OptOut), "{word}");
        assert!(w.store.is_opted_out(&clinic, &tag).await.unwrap());
    }
    assert!(
        w.send("k2", r#"{"kind":"basic","text":"Hi"}"#)
            .await
            .is_err(),
        "send refuses an opted-out patient"
    );
    handler
        .handle(&reply("start", PATIENT, "START"))
        .await
        .unwrap();
    assert!(!w.store.is_opted_out(&clinic, &tag).await.unwrap());
    assert_eq!(
        handler
            .handle(&reply("help", PATIENT, "help"))
            .await
            .unwrap(),
        ReplyOutcome::Keyword(Keyword::Help)
    );
    assert_eq!(
        status(&w).await,
        AppointmentStatus::Booked,
        "keywords leave the status"
    );
    let sent = w.sms.sent();
    assert_eq!(
        sent.len(),
        2,
        "no auto-reply to STOP or START; HELP gets the help text"
    );
    assert_eq!(sent[1].body, crate::model::DEFAULT_HELP_RESPONSE);
    assert_eq!(sent[1].to, phone);
}

#[tokio::test]
async fn help_is_answered_with_the_clinics_help_text_once_a_day_and_never_to_an_opted_out_number() {
    let w = world().await;
    w.send("k1", r#"{"kind":"basic","text":"See you Friday"}"#)
        .await
        .unwrap();
    let handler = handler(&w);
    let help = reply("help-1", PATIENT, "HELP");
    handler.handle(&help).await.unwrap();
    handler.handle(&help).await.unwrap();
    handler
        .handle(&reply("help-2", PATIENT, "help"))
        .await
        .unwrap();
    let sent = w.sms.sent();
    assert_eq!(
        sent.len(),
        2,
        "one message, one help answer however often asked that day"
    );
    assert_eq!(
        sent[1].body,
        crate::model::DEFAULT_HELP_RESPONSE,
        "the default when the clinic set none"
    );

    let clinic_id = ClinicId::parse("c1").unwrap();
    let mut clinic = w.store.get_clinic(&clinic_id).await.unwrap().unwrap();
    clinic.help_response = "Harbourview: call 250-555-0101. Reply STOP to opt out.".into();
    w.store.put_clinic(&clinic).await.unwrap();
    w.clock.advance(AutoReply::INTERVAL);
    handler
        .handle(&reply("help-3", PATIENT, "help"))
        .await
        .unwrap();
    assert_eq!(
        w.sms.sent()[2].body,
        "Harbourview: call 250-555-0101. Reply STOP to opt out."
    );

    w.clock.advance(AutoReply::INTERVAL);
    handler
        .handle(&reply("stop", PATIENT, "STOP"))
        .await
        .unwrap();
    handler
        .handle(&reply("help-4", PATIENT, "HELP"))
        .await
        .unwrap();
    handler
        .handle(&reply("help-5", "+16045550999", "HELP"))
        .await
        .unwrap();
    assert_eq!(
        w.sms.sent().len(),
        3,
        "an opted-out number, or one the clinic never texted, gets nothing"
    );
}

#[tokio::test]
async fn an_auto_reply_that_could_not_be_sent_gives_the_days_answer_back() {
    let w = world().await;
    w.send("k1", r#"{"kind":"basic","text":"See you Friday"}"#)
        .await
        .unwrap();
    let handler = handler(&w);
    w.sms.fail_sends(true);
    assert!(handler.handle(&reply("in-1", PATIENT, "ok")).await.is_err());
    w.sms.fail_sends(false);
    // Another reply the same day (the first never retried): it is answered.
    assert!(matches!(
        handler
            .handle(&reply("in-2", PATIENT, "ok?"))
            .await
            .unwrap(),
        ReplyOutcome::Unclear {
            auto_reply: true,
            ..
        }
    ));
    assert_eq!(w.sms.sent().len(), 2, "the message and one auto-reply");
}

#[tokio::test]
async fn ten_replies_in_a_minute_get_one_unclear_response_and_each_marks_the_appointment() {
    let w = world().await;
    w.send("k1", r#"{"kind":"basic","text":"See you Friday"}"#)
        .await
        .unwrap();
    let handler = handler(&w);
    let clinic = ClinicId::parse("c1").unwrap();
    let appointment = AppointmentId::parse("a1").unwrap();
    let mut auto_replies = Vec::new();
    for n in 0..10 {
        // Staff clear it between replies: each reply marks it again.
        let _ = w.store.clear_unclear(&clinic, &appointment).await;
        let outcome = handler
            .handle(&reply(&format!("loop-{n}"), PATIENT, "Auto: I am driving"))
            .await
            .unwrap();
        match outcome {
            ReplyOutcome::Unclear { auto_reply, .. } => auto_replies.push(auto_reply),
            other => panic!("{other:?}"),
        }
        assert_eq!(status(&w).await, AppointmentStatus::Unclear, "reply {n}");
        w.clock.advance(jiff::SignedDuration::from_secs(6));
    }
    assert_eq!(auto_replies.iter().filter(|sent| **sent).count(), 1);
    assert_eq!(
        w.sms.sent().len(),
        2,
        "the message and one unclear response"
    );

    // A new message the same day: its replies get none either (one a day to a number).
    w.send("k2", r#"{"kind":"basic","text":"Bring your card"}"#)
        .await
        .unwrap();
    handler
        .handle(&reply("after-k2", PATIENT, "Auto: I am driving"))
        .await
        .unwrap();
    assert_eq!(
        w.sms.sent().len(),
        3,
        "the two messages and one unclear response"
    );

    w.clock.advance(AutoReply::INTERVAL);
    handler
        .handle(&reply("next-day", PATIENT, "Still driving"))
        .await
        .unwrap();
    assert_eq!(w.sms.sent().len(), 4, "a day later, another");
}

#[tokio::test]
async fn replies_from_unknown_numbers_or_to_old_messages_change_nothing() {
    let w = world().await;
    w.send("k1", r#"{"kind":"basic","text":"See you Friday"}"#)
        .await
        .unwrap();
    let handler = handler(&w);
    assert_eq!(
        handler
            .handle(&reply("x1", "+16045550188", "hello"))
            .await
            .unwrap(),
        ReplyOutcome::NoMatch
    );
    let mut other_clinic = reply("x2", PATIENT, "hello");
    other_clinic.to = PhoneNumber::parse("+12505550177").unwrap();
    assert_eq!(
        handler.handle(&other_clinic).await.unwrap(),
        ReplyOutcome::NoClinic
    );
    w.clock.advance(MATCH_WINDOW + SignedDuration::from_secs(1));
    assert_eq!(
        handler
            .handle(&reply("x3", PATIENT, "hello"))
            .await
            .unwrap(),
        ReplyOutcome::NoMatch
    );
    assert_eq!(status(&w).await, AppointmentStatus::Booked);
    assert_eq!(w.sms.sent().len(), 1);
}

#[tokio::test]
async fn a_reply_naming_the_sms_it_answers_marks_that_messages_appointment_not_the_latests() {
    let w = world().await;
    w.book_another("a2").await;
    let basic = r#"{"kind":"basic","text":"See you Friday"}"#;
    w.send_for("a1", "k1", basic).await.unwrap();
    w.clock.advance(SignedDuration::from_secs(60));
    w.send_for("a2", "k2", basic).await.unwrap();
    let status_of = |id: &'static str| {
        let store = w.store.clone();
        async move {
            let clinic = ClinicId::parse("c1").unwrap();
            let appointment = AppointmentId::parse(id).unwrap();
            let stored = store.get_appointment(&clinic, &appointment).await;
            stored.unwrap().unwrap().status
        }
    };
    let handler = handler(&w);

    // The first SMS SNS sent (`fake-1`, to a1) is named: a1, though a2's is the latest.
    let mut answering_the_first = reply("in-1", PATIENT, "Which one?");
    answering_the_first.previous_published_message_id = Some("fake-1".into());
    let outcome = handler.handle(&answering_the_first).await.unwrap();
    assert!(
        matches!(&outcome, ReplyOutcome::Unclear { message_id, .. }
            if w.store.recorded().iter().any(|m| &m.id == message_id
                && m.appointment_id.as_str() == "a1")),
        "{outcome:?}"
    );
    assert_eq!(status_of("a1").await, AppointmentStatus::Unclear);
    assert_eq!(status_of("a2").await, AppointmentStatus::Booked);

    // An id that is none of this number's SMS (forged, or another patient's) steers
    // nothing: the latest message is answered.
    let mut naming_another = reply("in-2", PATIENT, "Hello?");
    naming_another.previous_published_message_id = Some("fake-99".into());
    handler.handle(&naming_another).await.unwrap();
    assert_eq!(status_of("a2").await, AppointmentStatus::Unclear);
}

#[test]
fn only_whole_replies_are_keywords() {
    assert_eq!(keyword("STOP"), Some(Keyword::OptOut));
    assert_eq!(keyword("Arrêt!"), Some(Keyword::OptOut));
    assert_eq!(keyword("please stop texting"), None);
    assert_eq!(keyword("unstop"), Some(Keyword::OptIn));
    assert_eq!(keyword("Help?"), Some(Keyword::Help));
    assert_eq!(keyword("cancel my appointment"), None);
}

#[tokio::test]
async fn an_opted_out_patient_gets_no_auto_reply_but_the_status_still_changes() {
    let w = world().await;
    w.send("k1", r#"{"kind":"basic","text":"See you Friday"}"#)
        .await
        .unwrap();
    let phone = PhoneNumber::parse(PATIENT).unwrap();
    w.sms.opt_out(&phone);
    let outcome = handler(&w)
        .handle(&reply("in-9", PATIENT, "why?"))
        .await
        .unwrap();
    assert!(matches!(
        outcome,
        ReplyOutcome::Unclear {
            auto_reply: false,
            ..
        }
    ));
    assert_eq!(status(&w).await, AppointmentStatus::Unclear);
    assert_eq!(w.sms.sent().len(), 1, "only the message, no auto-reply");
}

/// A French-speaking patient's reply and HELP get the clinic's French responses when it
/// gave them; a clinic without them answers in its other language.
#[tokio::test]
async fn a_french_speaking_patient_gets_the_clinics_french_responses_when_it_has_them() {
    let w = world().await;
    w.patient_speaks(crate::language::Language::Fr).await;
    let clinic_id = ClinicId::parse("c1").unwrap();
    let mut clinic = w.store.get_clinic(&clinic_id).await.unwrap().unwrap();
    clinic.unclear_response_fr = "Appelez-nous.".into();
    clinic.help_response_fr = "Messages de rendez-vous. Appelez-nous.".into();
    w.store.put_clinic(&clinic).await.unwrap();
    w.send("k1", r#"{"kind":"basic","text":"Rendez-vous vendredi"}"#)
        .await
        .unwrap();
    let french = handler(&w);
    french
        .handle(&reply("in-1", PATIENT, "Je peux venir à 15 h?"))
        .await
        .unwrap();
    french
        .handle(&reply("in-3", PATIENT, "HELP"))
        .await
        .unwrap();
    let sent: Vec<String> = w.sms.sent().into_iter().map(|sms| sms.body).collect();
    assert_eq!(sent[1], "Appelez-nous.");
    assert_eq!(
        sent.last().unwrap(),
        "Messages de rendez-vous. Appelez-nous."
    );

    // Without a French response, the clinic's own (English) one.
    let other = world().await;
    other.patient_speaks(crate::language::Language::Fr).await;
    other
        .send("k1", r#"{"kind":"basic","text":"Rendez-vous vendredi"}"#)
        .await
        .unwrap();
    handler(&other)
        .handle(&reply("in-1", PATIENT, "Oui"))
        .await
        .unwrap();
    assert_eq!(other.sms.sent()[1].body, "Call us.");
}
