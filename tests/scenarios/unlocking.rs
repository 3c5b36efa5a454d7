//! The unlock page through the `secure-unlock` handler against the emulator: a secure
//! message sent through `send`, its link taken from the SMS the emulator recorded.

use std::sync::Arc;

use aws::wiring::OnAws;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::{
    fakes::FixedClock,
    ids::AppointmentId,
    inbound_sms::InboundSms,
    link_token::LinkToken,
    phone::PhoneNumber,
    ports::{AppointmentStore, MessageStore},
    replies::{ReplyHandler, ReplyOutcome},
    unlock::{LOCKOUT, UnlockView, Unlocker},
};
use integration_tests::{
    HttpCall, body_json, body_text,
    fixtures::scene::{Scene, scene},
    http_call, phn_submission,
    sentinels::{self, MESSAGE_TEXT, MISTYPED_PHN, OTHER_PHN, PHN},
};
use jiff::{SignedDuration, Timestamp};
use lambda_http::{Body, Response};

const RIGHT: &str = PHN;
const WRONG: &str = OTHER_PHN;

/// Sends a secure message with one PDF to this scene's patient; the token from its SMS.
async fn sent(s: &Scene) -> String {
    let attachment = s
        .upload_attachment("application/pdf", b"%PDF-sentinel")
        .await;
    let body = format!(
        r#"{{"kind":"secure","text":"{MESSAGE_TEXT} <script>alert(1)</script>","chat_ids":["colonoscopy-prep"],"attachments":[{{"id":"{attachment}","file_name":"résultats.pdf"}}]}}"#
    );
    let (status, receipt) = s.send("unlock-send", &body).await;
    assert_eq!(status, 201, "{receipt}");
    let sms = s.sms_to_me().await.pop().unwrap().message;
    sms.rsplit("/m/").next().unwrap().to_owned()
}

fn page(route: &str, token: &str) -> HttpCall {
    http_call(route, &[("token", token)], None)
}

fn submit(token: &str, phn: &str) -> HttpCall {
    phn_submission(token, phn)
}

fn assert_secure_headers(response: &Response<Body>) {
    let headers = response.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.starts_with("default-src 'none'")
            && csp.contains("frame-ancestors 'none'")
            && !csp.contains("script")
    );
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
}

/// The unlock use case on this stack's AWS clients, with a clock the test moves.
fn unlocker(s: &Scene, clock: Arc<FixedClock>) -> Unlocker {
    Unlocker {
        clock,
        ..Unlocker::on_aws(&s.test.stack.config, &s.test.stack.clients)
    }
}

#[tokio::test]
async fn the_page_asks_for_the_phn_and_shows_no_health_information() {
    let s = scene(701, Some(RIGHT)).await;
    let token = sent(&s).await;
    let response = s
        .test
        .call("secure-unlock", &page("GET /m/{token}", &token))
        .await;
    assert_eq!(response.status(), 200);
    assert_secure_headers(&response);
    let html = body_text(&response);
    assert!(html.contains("Harbourview Family Clinic") && html.contains("inputmode=\"numeric\""));
    assert!(html.contains("<label for=\"phn\">"));
    for secret in ["Sentinel", "colonoscopy", "résultats", RIGHT] {
        assert!(!html.contains(secret), "{secret} before the PHN");
    }
}

/// The file checked at send is the one the patient gets: the download is signed for its
/// version, so a later write under the same key (the URL refuses a second PUT, but any
/// writer of the bucket) changes nothing the patient sees.
#[tokio::test]
async fn a_file_replaced_after_sending_never_reaches_the_patient() {
    let s = scene(746, Some(RIGHT)).await;
    let (_, token, attachment) = s.send_secure_with_pdf("pinned-send", b"%PDF-checked").await;
    let config = &s.test.stack.config;
    s.test
        .stack
        .clients
        .s3()
        .put_object()
        .bucket(&config.attachments_bucket)
        .key(format!("attachments/{}/{attachment}", s.clinic.id))
        .content_type("application/pdf")
        .body(b"%PDF-swapped".to_vec().into())
        .send()
        .await
        .unwrap();

    let opened = s
        .test
        .call_showing_phi(
            "secure-unlock",
            &submit(&token, RIGHT),
            "the right PHN opens the message",
        )
        .await;
    let html = body_text(&opened);
    let url = html
        .split("href=\"")
        .find(|part| part.contains("X-Amz-Expires=300"))
        .expect("a download link");
    let url = url.split('"').next().unwrap().replace("&amp;", "&");
    let (path, _) = url.split_once('?').unwrap();
    assert!(
        !path.contains("results"),
        "the file name stays out of the path"
    );
    let file = reqwest::get(&url).await.unwrap();
    assert!(file.status().is_success());
    assert_eq!(file.headers()["cache-control"], "no-store");
    assert_eq!(file.bytes().await.unwrap().as_ref(), b"%PDF-checked");
}

#[tokio::test]
async fn a_wrong_then_the_right_phn_in_any_format_shows_the_message_and_its_file() {
    let s = scene(702, Some(RIGHT)).await;
    let token = sent(&s).await;
    let wrong = s.test.call("secure-unlock", &submit(&token, WRONG)).await;
    assert_eq!(wrong.status(), 200);
    assert!(
        body_text(&wrong).contains("does not match") && body_text(&wrong).contains("4 tries left")
    );
    let (a, b, c) = (&RIGHT[..4], &RIGHT[4..7], &RIGHT[7..]);
    for typed in [format!("{a} {b} {c}"), format!("{a}-{b}-{c}")] {
        let opened = s
            .test
            .call_showing_phi(
                "secure-unlock",
                &submit(&token, &typed),
                "the right PHN opens the message",
            )
            .await;
        assert_eq!(opened.status(), 200);
        assert_secure_headers(&opened);
        let html = body_text(&opened);
        assert!(
            html.contains(&format!(
                "{MESSAGE_TEXT} &lt;script&gt;alert(1)&lt;/script&gt;"
            )),
            "escaped text"
        );
        assert!(html.contains("href=\"https://forms.harbourview.example/prep/colonoscopy\""));
        let url = html
            .split("href=\"")
            .find(|part| part.contains("X-Amz-Expires=300"))
            .expect("a 5-minute link");
        let url = url.split('"').next().unwrap().replace("&amp;", "&");
        let file = reqwest::get(&url).await.unwrap();
        assert!(file.status().is_success());
        let disposition = file.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            disposition.starts_with("attachment;") && disposition.contains("r%C3%A9sultats.pdf"),
            "{disposition}"
        );
        assert_eq!(file.bytes().await.unwrap().as_ref(), b"%PDF-sentinel");
    }
    let details = s.appointment_details().await;
    assert_eq!(details["messages"][0]["opened"], true);
    assert_eq!(details["messages"][0]["expired"], false);
}

#[tokio::test]
async fn a_malformed_phn_is_explained_without_repeating_it_and_not_counted() {
    let s = scene(707, Some(RIGHT)).await;
    let token = sent(&s).await;
    for typed in [MISTYPED_PHN, &RIGHT[..6], "Sentinel"] {
        let response = s.test.call("secure-unlock", &submit(&token, typed)).await;
        assert_eq!(response.status(), 200, "{typed}");
        assert_secure_headers(&response);
        let html = body_text(&response);
        assert!(html.contains("That is not a PHN"), "{typed}");
        assert!(html.contains("5 tries left"), "not counted: {typed}");
    }
}

#[tokio::test]
async fn five_wrong_lock_for_fifteen_minutes_and_twenty_for_good() {
    let s = scene(703, Some(RIGHT)).await;
    let token = sent(&s).await;
    let clock = Arc::new(FixedClock::at(Timestamp::now()));
    let unlocker = unlocker(&s, clock.clone());
    for _ in 0..5 {
        unlocker.attempt(&token, WRONG).await.unwrap();
    }
    let locked = s.test.call("secure-unlock", &submit(&token, RIGHT)).await;
    assert_eq!(locked.status(), 423, "locked, even for the right PHN");
    assert_secure_headers(&locked);
    assert!(
        body_text(&locked).contains("tel:+12505550101"),
        "says to call the clinic"
    );
    clock.advance(LOCKOUT);
    assert!(matches!(
        unlocker.attempt(&token, RIGHT).await.unwrap(),
        UnlockView::Opened { .. }
    ));
    for _ in 0..3 {
        for _ in 0..5 {
            unlocker.attempt(&token, WRONG).await.unwrap();
        }
        clock.advance(LOCKOUT);
    }
    let view = unlocker.attempt(&token, WRONG).await.unwrap();
    assert!(
        matches!(view, UnlockView::Locked { until: None, .. }),
        "{view:?}"
    );
    clock.advance(SignedDuration::from_hours(48));
    assert!(matches!(
        unlocker.attempt(&token, RIGHT).await.unwrap(),
        UnlockView::Locked { until: None, .. }
    ));
}

#[tokio::test]
async fn twenty_concurrent_wrong_attempts_never_count_past_the_limit() {
    let s = scene(704, Some(RIGHT)).await;
    let token = sent(&s).await;
    let unlocker = Arc::new(unlocker(&s, Arc::new(FixedClock::at(Timestamp::now()))));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (unlocker, token) = (unlocker.clone(), token.clone());
            tokio::spawn(async move { unlocker.attempt(&token, WRONG).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().expect("every attempt answers");
    }
    let state = unlocker
        .unlocks
        .get_unlock(&LinkToken::parse(&token).unwrap().hash())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        state.attempts.failures_total, 5,
        "the lock stops counting at 5"
    );
    assert!(state.attempts.locked_until.is_some());
}

#[tokio::test]
async fn after_exactly_eight_days_it_has_expired_while_its_item_remains() {
    let s = scene(705, Some(RIGHT)).await;
    let sent_at = Timestamp::now();
    let token = sent(&s).await;
    let clock = Arc::new(FixedClock::at(
        sent_at + SignedDuration::from_hours(8 * 24) + SignedDuration::from_secs(5),
    ));
    let handler = secure_unlock::SecureUnlock::new(unlocker(&s, clock.clone()));
    let unlocker = unlocker(&s, clock);
    assert!(matches!(
        unlocker.attempt(&token, RIGHT).await.unwrap(),
        UnlockView::Expired { .. }
    ));
    // The page the handler makes of it, with the same moved clock.
    for call in [page("GET /m/{token}", &token), submit(&token, RIGHT)] {
        let response = handler
            .handle(call.request(Timestamp::now()).unwrap())
            .await;
        assert_eq!(response.status(), 410, "{}", call.route_key);
        assert_secure_headers(&response);
        let html = body_text(&response);
        integration_tests::phi_guard::check_body(&call.route_key, &html);
        assert!(html.contains("expired"), "{html}");
    }
    assert!(matches!(
        unlocker.view(&token).await.unwrap(),
        UnlockView::Expired { .. }
    ));
    let hash = LinkToken::parse(&token).unwrap().hash();
    assert!(
        unlocker.unlocks.get_unlock(&hash).await.unwrap().is_some(),
        "TTL has not deleted it"
    );
}

#[tokio::test]
async fn unknown_tokens_get_a_generic_page_with_the_same_headers() {
    let s = scene(706, Some(RIGHT)).await;
    let unknown = LinkToken::generate(&aws::system::OsRandom);
    sentinels::link_token(unknown.as_str());
    for token in [unknown.as_str(), "not-a-token"] {
        for call in [page("GET /m/{token}", token), submit(token, RIGHT)] {
            let response = s.test.call("secure-unlock", &call).await;
            assert_eq!(response.status(), 404);
            assert_secure_headers(&response);
            assert!(body_text(&response).contains("This link is not valid"));
            assert!(!body_text(&response).contains("Harbourview"));
        }
    }
}

/// An attempt with each of `phns`, all at once; their views, in the order of `phns`.
async fn concurrently(unlocker: &Arc<Unlocker>, token: &str, phns: &[&str]) -> Vec<UnlockView> {
    let tasks: Vec<_> = phns
        .iter()
        .map(|phn| {
            let (unlocker, token, phn) = (unlocker.clone(), token.to_owned(), (*phn).to_owned());
            tokio::spawn(async move { unlocker.attempt(&token, &phn).await })
        })
        .collect();
    let mut views = Vec::new();
    for task in tasks {
        views.push(task.await.unwrap().expect("every attempt answers"));
    }
    views
}

/// Now, to the second: the unlock item keeps times in whole seconds.
fn whole_second_now() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).unwrap()
}

/// A secure message sent with four wrong PHNs typed at it, one short of the lock, on a clock
/// stopped at `now` (to the second); its token, `now` and the unlocker on that clock.
async fn four_wrong(s: &Scene) -> (String, Timestamp, Arc<Unlocker>) {
    let token = sent(s).await;
    let now = whole_second_now();
    let unlocker = Arc::new(unlocker(s, Arc::new(FixedClock::at(now))));
    for _ in 0..4 {
        unlocker.attempt(&token, WRONG).await.unwrap();
    }
    (token, now, unlocker)
}

#[tokio::test]
async fn four_wrong_then_concurrent_wrong_attempts_count_one_and_lock_once_at_five() {
    let s = scene(711, Some(RIGHT)).await;
    let (token, now, unlocker) = four_wrong(&s).await;
    let views = concurrently(&unlocker, &token, &[WRONG; 10]).await;
    assert!(
        views
            .iter()
            .all(|view| matches!(view, UnlockView::Locked { until: Some(until), .. } if *until == now + LOCKOUT)),
        "every racer sees the one 15-minute lock: {views:?}"
    );
    let attempts = s.unlock_attempts(&token).await;
    assert_eq!(
        (
            attempts.failures_total,
            attempts.failures_in_row,
            attempts.version
        ),
        (5, 0, 5),
        "one racer counted (5 writes in all), the others found the lock"
    );
    assert_eq!(attempts.locked_until, Some(now + LOCKOUT));
    assert!(!attempts.locked_forever);
}

#[tokio::test]
async fn nineteen_wrong_then_concurrent_wrong_attempts_lock_for_good_at_twenty() {
    let s = scene(712, Some(RIGHT)).await;
    let token = sent(&s).await;
    let clock = Arc::new(FixedClock::at(Timestamp::now()));
    let unlocker = Arc::new(unlocker(&s, clock.clone()));
    for _ in 0..3 {
        for _ in 0..5 {
            unlocker.attempt(&token, WRONG).await.unwrap();
        }
        clock.advance(LOCKOUT);
    }
    for _ in 0..4 {
        unlocker.attempt(&token, WRONG).await.unwrap();
    }
    assert_eq!(s.unlock_attempts(&token).await.failures_total, 19);
    let views = concurrently(&unlocker, &token, &[WRONG; 10]).await;
    assert!(
        views
            .iter()
            .all(|view| matches!(view, UnlockView::Locked { until: None, .. })),
        "{views:?}"
    );
    let attempts = s.unlock_attempts(&token).await;
    assert_eq!((attempts.failures_total, attempts.version), (20, 20));
    assert!(attempts.locked_forever);
    clock.advance(SignedDuration::from_hours(24));
    assert!(matches!(
        unlocker.attempt(&token, RIGHT).await.unwrap(),
        UnlockView::Locked { until: None, .. }
    ));
    assert_eq!(
        s.unlock_attempts(&token).await.version,
        20,
        "nothing more counted"
    );
}

#[tokio::test]
async fn the_right_phn_racing_wrong_ones_at_the_threshold_opens_only_before_the_lock() {
    let s = scene(713, Some(RIGHT)).await;
    let (token, now, unlocker) = four_wrong(&s).await;
    let mut phns = [WRONG; 9].to_vec();
    phns.insert(4, RIGHT);
    let views = concurrently(&unlocker, &token, &phns).await;
    let opened = matches!(views[4], UnlockView::Opened { .. });
    let attempts = s.unlock_attempts(&token).await;
    let counted_wrong = attempts.failures_total - 4;
    assert_eq!(
        attempts.version,
        4 + u64::from(counted_wrong) + u64::from(opened),
        "each write is one counted attempt: none lost, none counted twice"
    );
    if opened {
        // The right PHN went first and ended the streak: at most 5 wrong after it, and the
        // fifth locks.
        assert!(counted_wrong <= 5, "{counted_wrong}");
        assert_eq!(attempts.locked_until.is_some(), counted_wrong == 5);
    } else {
        // A wrong PHN went first and locked: the right one met the lock, nothing else counted.
        assert!(
            matches!(views[4], UnlockView::Locked { until: Some(_), .. }),
            "{views:?}"
        );
        assert_eq!(counted_wrong, 1);
        assert_eq!(attempts.locked_until, Some(now + LOCKOUT));
    }
    assert!(!attempts.locked_forever);
}

/// DynamoDB's TTL deletes a secure message's content item days after it expired (as a
/// test deletes it here); its log entry has no TTL: the message stays in the appointment's
/// history, expired, and a reply on day 9 is still matched to it.
#[tokio::test]
async fn after_its_content_is_deleted_the_message_stays_in_the_history_expired_and_replies_match_it()
 {
    let s = scene(707, Some(RIGHT)).await;
    let sent_at = Timestamp::now();
    let token = sent(&s).await;
    let hash = LinkToken::parse(&token).unwrap().hash();
    let config = &s.test.stack.config;
    s.test
        .stack
        .clients
        .dynamodb()
        .delete_item()
        .table_name(&config.tables.unlock)
        .key("pk", AttributeValue::S(hash.as_str().to_owned()))
        .send()
        .await
        .unwrap();
    let day_nine = sent_at + SignedDuration::from_hours(9 * 24);
    let unlocker = unlocker(&s, Arc::new(FixedClock::at(day_nine)));
    assert!(matches!(
        unlocker.view(&token).await.unwrap(),
        UnlockView::NotValid
    ));

    let appointment = AppointmentId::parse("a-mine").unwrap();
    let history = s
        .test
        .store
        .messages_for_appointment(&s.clinic.id, &appointment)
        .await
        .unwrap();
    assert_eq!(history.len(), 1, "the log entry outlives its content");
    assert_eq!(history[0].expired(day_nine), Some(true));

    let replies = ReplyHandler {
        clock: Arc::new(FixedClock::at(day_nine)),
        ..ReplyHandler::on_aws(config, &s.test.stack.clients)
    };
    let outcome = replies
        .handle(&InboundSms {
            from: PhoneNumber::parse(&s.phone).unwrap(),
            to: s.clinic.sms_number.clone(),
            body: sentinels::REPLY_TEXT.into(),
            inbound_message_id: "day-nine-reply".into(),
            previous_published_message_id: None,
        })
        .await
        .unwrap();
    assert!(
        matches!(&outcome, ReplyOutcome::Unclear { message_id, .. } if *message_id == history[0].id),
        "{outcome:?}"
    );
    let status = s
        .test
        .store
        .get_appointment(&s.clinic.id, &appointment)
        .await
        .unwrap()
        .unwrap()
        .status;
    assert_eq!(
        status,
        domain::appointment_status::AppointmentStatus::Unclear
    );
}

/// A patient locked out by wrong PHNs calls the clinic; staff clear the lock and the same
/// link opens with the right PHN.
#[tokio::test]
async fn staff_clear_a_locked_message_and_the_link_opens_again() {
    let s = scene(708, Some(RIGHT)).await;
    let body = format!(r#"{{"kind":"secure","text":"{MESSAGE_TEXT}"}}"#);
    let (status, receipt) = s.send("clear-lock-1", &body).await;
    assert_eq!(status, 201, "{receipt}");
    let message_id = receipt["message_id"].as_str().unwrap().to_owned();
    let sms = s.sms_to_me().await.pop().unwrap().message;
    let token = sms.rsplit("/m/").next().unwrap().to_owned();
    for _ in 0..5 {
        s.test.call("secure-unlock", &submit(&token, WRONG)).await;
    }
    let locked = s.test.call("secure-unlock", &submit(&token, RIGHT)).await;
    assert_eq!(locked.status(), 423);
    let state = |details: serde_json::Value| details["messages"][0]["status"]["state"].clone();
    assert_eq!(state(s.appointment_details().await), "locked");

    let clear = s.staff_call(
        "POST /messages/{messageId}/clear-lock",
        &[("messageId", message_id.as_str())],
    );
    let cleared = s.test.call("send", &clear).await;
    assert_eq!(cleared.status(), 200, "{}", body_text(&cleared));
    assert_eq!(body_json(&cleared)["lock"], "cleared");
    assert_eq!(state(s.appointment_details().await), "sent");
    let opened = s
        .test
        .call_showing_phi(
            "secure-unlock",
            &submit(&token, RIGHT),
            "the patient opens their message",
        )
        .await;
    assert_eq!(opened.status(), 200);
    let again = s.test.call("send", &clear).await;
    assert_eq!(body_json(&again)["lock"], "not-locked");
}
