//! A message's life as staff see it, by the API alone: sent, the carrier's receipt
//! (delivered, or failed with its reason), opened, resent, withdrawn, and the outbox
//! listing each by status.

use integration_tests::{
    body_json, body_text,
    fixtures::scene::{Scene, scene},
    http_call, phn_submission,
    sentinels::{MESSAGE_TEXT, PHN},
    with_idempotency_key, with_query,
};
use serde_json::Value;

/// The status line of the scene's only message, as its appointment's details show it.
async fn status_line(s: &Scene) -> Value {
    let details = s.appointment_details().await;
    let messages = details["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{details}");
    messages[0]["status"].clone()
}

/// The outbox's message ids with this status.
async fn outbox(s: &Scene, status: &str) -> Vec<Value> {
    let call = with_query(s.staff_call("GET /messages", &[]), &[("status", status)]);
    let response = s.test.call("search", &call).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    body_json(&response)["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_secure_message_shows_sent_then_delivered_then_opened_in_details_and_outbox() {
    let s = scene(720, Some(PHN)).await;
    let body = format!(r#"{{"kind":"secure","text":"{MESSAGE_TEXT}"}}"#);
    let (status, receipt) = s.send("lifecycle-1", &body).await;
    assert_eq!(status, 201, "{receipt}");
    assert_eq!(receipt["sms_status"], "sent");
    let id = receipt["message_id"].clone();
    assert_eq!(
        status_line(&s).await,
        serde_json::json!({"state": "sent", "reason": null})
    );
    assert_eq!(outbox(&s, "sent").await[0]["id"], id);

    let counts = s.test.deliver_receipts().await;
    assert_eq!(counts.recorded, 1, "{counts:?}");
    assert_eq!(status_line(&s).await["state"], "delivered");
    let delivered = outbox(&s, "delivered").await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(
        (&delivered[0]["id"], &delivered[0]["appointment_id"]),
        (&id, &Value::from("a-mine"))
    );
    assert_eq!(delivered[0]["delivery"]["outcome"], "delivered");
    assert!(outbox(&s, "sent").await.is_empty());

    let sms = s.sms_to_me().await.pop().unwrap().message;
    let token = sms.rsplit("/m/").next().unwrap().to_owned();
    let opened = s
        .test
        .call_showing_phi(
            "secure-unlock",
            &phn_submission(&token, PHN),
            "the patient opens it",
        )
        .await;
    assert_eq!(opened.status(), 200);
    assert_eq!(status_line(&s).await["state"], "opened");
    assert_eq!(outbox(&s, "opened").await[0]["id"], id);
    assert!(outbox(&s, "delivered").await.is_empty());
}

#[tokio::test]
async fn a_message_to_an_unreachable_phone_shows_failed_with_its_reason() {
    let s = scene(721, Some(PHN)).await;
    s.test.phone_unreachable(&s.phone).await;
    let (status, receipt) = s
        .send("lifecycle-2", r#"{"kind":"basic","text":"See you soon"}"#)
        .await;
    assert_eq!(status, 201, "{receipt}");
    let counts = s.test.deliver_receipts().await;
    assert_eq!(counts.recorded, 1, "{counts:?}");
    assert_eq!(
        status_line(&s).await,
        serde_json::json!({"state": "failed", "reason": "unreachable"})
    );
    let failed = outbox(&s, "failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["id"], receipt["message_id"]);
    // The same receipts again change nothing.
    let again = s.test.deliver_receipts_again().await;
    assert_eq!((again.recorded, again.superseded), (0, 1), "{again:?}");
    assert_eq!(status_line(&s).await["reason"], "unreachable");
}

#[tokio::test]
async fn the_outbox_refuses_an_unknown_status_and_a_window_upside_down() {
    let s = scene(722, Some(PHN)).await;
    for (query, parameter) in [
        (vec![("status", "lost")], "status"),
        (
            vec![
                ("from", "2026-12-02T00:00:00Z"),
                ("to", "2026-12-01T00:00:00Z"),
            ],
            "from",
        ),
        (vec![("limit", "0")], "limit"),
        (vec![("cursor", "not-a-cursor")], "cursor"),
    ] {
        let call = with_query(s.staff_call("GET /messages", &[]), &query);
        let response = s.test.call("search", &call).await;
        assert_eq!(response.status(), 400, "{query:?}");
        assert!(
            body_json(&response)["detail"]
                .as_str()
                .unwrap()
                .contains(parameter),
            "{}",
            body_text(&response)
        );
    }
}

#[tokio::test]
async fn a_withdrawn_message_says_so_on_its_link_and_its_content_and_file_are_gone() {
    let s = scene(723, Some(PHN)).await;
    let (receipt, token, file) = s.send_secure_with_pdf("withdraw-1", b"%PDF-sentinel").await;
    let id = receipt["message_id"].as_str().unwrap().to_owned();

    let withdraw = s.staff_call("POST /messages/{messageId}/withdraw", &[("messageId", &id)]);
    let first = s.test.call("send", &withdraw).await;
    assert_eq!(first.status(), 200, "{}", body_text(&first));
    let first = body_json(&first);
    assert_eq!(first["withdrawn_now"], true);

    for call in [
        http_call("GET /m/{token}", &[("token", &token)], None),
        phn_submission(&token, PHN),
    ] {
        let page = s.test.call("secure-unlock", &call).await;
        assert_eq!(page.status(), 410);
        let html = body_text(&page);
        assert!(html.contains("withdrawn by the clinic"), "{html}");
        assert!(!html.contains(MESSAGE_TEXT));
    }
    // Every version of the file: the bucket is versioned, and nothing is left to restore.
    let versions = s
        .test
        .stack
        .clients
        .s3()
        .list_object_versions()
        .bucket(&s.test.stack.config.attachments_bucket)
        .prefix(format!("attachments/{}/{file}", s.clinic.id))
        .send()
        .await
        .unwrap();
    assert!(
        versions.versions().is_empty() && versions.delete_markers().is_empty(),
        "the file is deleted, every version"
    );
    assert_eq!(status_line(&s).await["state"], "withdrawn");
    assert_eq!(outbox(&s, "withdrawn").await[0]["id"], id.as_str());

    let again = body_json(&s.test.call("send", &withdraw).await);
    assert_eq!(
        (&again["withdrawn_now"], &again["withdrawn_at"]),
        (&Value::from(false), &first["withdrawn_at"])
    );
    let clear = s.staff_call(
        "POST /messages/{messageId}/clear-lock",
        &[("messageId", &id)],
    );
    let refused = s.test.call("send", &clear).await;
    assert_eq!(refused.status(), 422);
    assert_eq!(
        body_json(&refused)["type"],
        "urn:direct-messages:problem:message-withdrawn"
    );
}

#[tokio::test]
async fn a_basic_or_another_clinics_message_cannot_be_withdrawn() {
    let s = scene(724, Some(PHN)).await;
    let (_, basic) = s
        .send(
            "withdraw-basic",
            r#"{"kind":"basic","text":"See you soon"}"#,
        )
        .await;
    let id = basic["message_id"].as_str().unwrap();
    let withdraw = s.staff_call("POST /messages/{messageId}/withdraw", &[("messageId", id)]);
    let refused = s.test.call("send", &withdraw).await;
    assert_eq!(refused.status(), 422);
    let theirs = integration_tests::staff_call(
        "second-clinic",
        "POST /messages/{messageId}/withdraw",
        &[("messageId", id)],
    );
    assert_eq!(s.test.call("send", &theirs).await.status(), 404);
}

#[tokio::test]
async fn a_resent_link_opens_the_message_while_the_old_one_says_replaced() {
    let s = scene(725, Some(PHN)).await;
    let body = format!(r#"{{"kind":"secure","text":"{MESSAGE_TEXT}"}}"#);
    let (status, receipt) = s.send("resend-1", &body).await;
    assert_eq!(status, 201, "{receipt}");
    let id = receipt["message_id"].as_str().unwrap().to_owned();
    let token = |sms: &str| sms.rsplit("/m/").next().unwrap().to_owned();
    let old = token(&s.sms_to_me().await.pop().unwrap().message);

    let resend = s.staff_call("POST /messages/{messageId}/resend", &[("messageId", &id)]);
    let without_key = s.test.call("send", &resend).await;
    assert_eq!(without_key.status(), 400);
    let resend = with_idempotency_key(resend, "resend-key-1");
    let first = s.test.call("send", &resend).await;
    assert_eq!(first.status(), 200, "{}", body_text(&first));
    let again = s.test.call("send", &resend).await;
    assert_eq!(body_json(&again), body_json(&first), "the same answer");
    let sent = s.sms_to_me().await;
    assert_eq!(sent.len(), 2, "one SMS per key");
    let new = token(&sent[1].message);
    assert_ne!(new, old);
    let second = |value: &Value| {
        value
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second()
    };
    assert_eq!(
        second(&body_json(&first)["expires_at"]),
        second(&receipt["expires_at"]),
        "the same expiry (kept to the second)"
    );

    let replaced = s
        .test
        .call(
            "secure-unlock",
            &http_call("GET /m/{token}", &[("token", &old)], None),
        )
        .await;
    assert_eq!(replaced.status(), 410);
    assert!(body_text(&replaced).contains("replaced by a newer link"));
    let opened = s
        .test
        .call_showing_phi(
            "secure-unlock",
            &phn_submission(&new, PHN),
            "the patient opens it",
        )
        .await;
    assert_eq!(opened.status(), 200);
    s.test.deliver_receipts().await;
    assert_eq!(status_line(&s).await["state"], "opened");

    let (_, basic) = s
        .send("resend-basic", r#"{"kind":"basic","text":"See you soon"}"#)
        .await;
    let basic = basic["message_id"].as_str().unwrap();
    let call = with_idempotency_key(
        s.staff_call("POST /messages/{messageId}/resend", &[("messageId", basic)]),
        "resend-key-2",
    );
    let refused = s.test.call("send", &call).await;
    assert_eq!(refused.status(), 422);
    assert_eq!(
        body_json(&refused)["type"],
        "urn:direct-messages:problem:not-secure"
    );
}
