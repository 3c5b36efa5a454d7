//! Unlock rules against in-memory fakes, on messages sent by the send use case.

use std::sync::Arc;

use jiff::SignedDuration;

use super::*;
use crate::{
    ids::AppointmentId,
    ports::{BlobInfo, MessageStore},
    send::tests::{KEY_ARN, World, message_actions, unlocker, world},
};

async fn sent_secure(w: &World) -> String {
    w.blobs.insert(
        "attachments/c1/f1",
        BlobInfo {
            size: 10,
            content_type: Some("application/pdf".into()),
            kms_key_id: Some(KEY_ARN.into()),
            version_id: None,
        },
    );
    let json = r#"{"kind":"secure","text":"Sentinel results <b>bold</b>","chat_ids":["intake"],"attachments":[{"id":"f1","file_name":"results.pdf"}]}"#;
    w.send("unlock-key", json).await.unwrap();
    let body = w.sms.sent().last().unwrap().body.clone();
    body.rsplit("/m/").next().unwrap().to_owned()
}

const RIGHT: &str = "9698658215";
const WRONG: &str = "9890608412";

#[tokio::test]
async fn a_file_put_again_after_sending_never_reaches_the_patient() {
    let w = world().await;
    let put = |content: &[u8]| {
        w.blobs.put_encrypted(
            "attachments/c1/f1",
            "application/pdf",
            Some(KEY_ARN),
            content,
        )
    };
    put(b"%PDF checked at send");
    let json = r#"{"kind":"secure","text":"Results","attachments":[{"id":"f1","file_name":"results.pdf"}]}"#;
    w.send("pinned", json).await.unwrap();
    let body = w.sms.sent().last().unwrap().body.clone();
    let token = body.rsplit("/m/").next().unwrap().to_owned();
    put(b"%PDF swapped later");

    let UnlockView::Opened { message, .. } = unlocker(&w).attempt(&token, RIGHT).await.unwrap()
    else {
        panic!("the right PHN opens the message");
    };
    let url = &message.downloads[0].url;
    assert_eq!(
        w.blobs.download(url).as_deref(),
        Some(&b"%PDF checked at send"[..])
    );
}

#[tokio::test]
async fn the_page_shows_the_clinic_and_a_form_before_the_phn() {
    let w = world().await;
    let token = sent_secure(&w).await;
    match unlocker(&w).view(&token).await.unwrap() {
        UnlockView::Form {
            clinic,
            language,
            tries_left,
            wrong,
            problem,
        } => {
            assert_eq!(clinic.name, "Harbourview Clinic");
            assert_eq!(language, Language::En);
            assert_eq!((tries_left, wrong, problem), (5, false, None));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_right_phn_in_any_format_opens_the_message_and_records_the_opening() {
    let w = world().await;
    let token = sent_secure(&w).await;
    for typed in ["9698 658 215", "9698-658-215", RIGHT] {
        match unlocker(&w).attempt(&token, typed).await.unwrap() {
            UnlockView::Opened { message, .. } => {
                assert_eq!(message.text, "Sentinel results <b>bold</b>");
                assert_eq!(message.chats[0].link, "https://forms.example/intake");
                assert_eq!(message.downloads[0].file_name, "results.pdf");
                assert!(
                    message.downloads[0].url.ends_with("expires=300"),
                    "5-minute links"
                );
            }
            other => panic!("{typed}: {other:?}"),
        }
    }
    let messages = w
        .store
        .messages_for_appointment(&w.caller.clinic_id, &AppointmentId::parse("a1").unwrap())
        .await
        .unwrap();
    assert_eq!(messages[0].opened_at, Some(crate::send::tests::now()));
    assert!(
        w.store
            .audit()
            .iter()
            .any(|entry| entry.event == "unlock" && entry.outcome == "opened")
    );
}

#[tokio::test]
async fn five_wrong_phns_lock_for_fifteen_minutes_then_it_opens_again() {
    let w = world().await;
    let token = sent_secure(&w).await;
    let unlocker = unlocker(&w);
    for left in (1..5).rev() {
        match unlocker.attempt(&token, WRONG).await.unwrap() {
            UnlockView::Form {
                tries_left,
                wrong: true,
                ..
            } => assert_eq!(tries_left, left),
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        unlocker.attempt(&token, WRONG).await.unwrap(),
        UnlockView::Locked { until: Some(_), .. }
    ));
    assert!(
        matches!(
            unlocker.attempt(&token, RIGHT).await.unwrap(),
            UnlockView::Locked { .. }
        ),
        "even the right PHN"
    );
    w.clock.advance(LOCKOUT);
    assert!(matches!(
        unlocker.attempt(&token, RIGHT).await.unwrap(),
        UnlockView::Opened { .. }
    ));
    let outcomes: Vec<_> = w
        .store
        .audit()
        .into_iter()
        .filter(|e| e.event == "unlock")
        .map(|e| e.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            "wrong_phn",
            "wrong_phn",
            "wrong_phn",
            "wrong_phn",
            "wrong_phn",
            "locked",
            "opened"
        ]
    );
}

#[tokio::test]
async fn twenty_wrong_phns_lock_for_good() {
    let w = world().await;
    let token = sent_secure(&w).await;
    let unlocker = unlocker(&w);
    for _ in 0..4 {
        for _ in 0..5 {
            unlocker.attempt(&token, WRONG).await.unwrap();
        }
        w.clock.advance(LOCKOUT);
    }
    assert!(matches!(
        unlocker.view(&token).await.unwrap(),
        UnlockView::Locked { until: None, .. }
    ));
    w.clock.advance(SignedDuration::from_hours(24));
    assert!(matches!(
        unlocker.attempt(&token, RIGHT).await.unwrap(),
        UnlockView::Locked { until: None, .. }
    ));
}

/// The page is in the patient's language when the message was sent: each state says it.
#[tokio::test]
async fn the_page_is_in_the_language_the_message_was_sent_in() {
    let w = world().await;
    w.patient_speaks(Language::Fr).await;
    let token = sent_secure(&w).await;
    let unlocker = unlocker(&w);
    let form = unlocker.view(&token).await.unwrap();
    assert_eq!(form.language(), Some(Language::Fr));
    let wrong = unlocker.attempt(&token, "9890608412").await.unwrap();
    assert_eq!(wrong.language(), Some(Language::Fr));
    let opened = unlocker.attempt(&token, "9698658215").await.unwrap();
    assert!(matches!(
        opened,
        UnlockView::Opened {
            language: Language::Fr,
            ..
        }
    ));
    assert_eq!(UnlockView::NotValid.language(), None);
    // Withdrawn, its content gone: the closed link keeps the language.
    let message = w.store.recorded()[0].id.clone();
    message_actions(&w)
        .withdraw(&w.caller, &message)
        .await
        .unwrap();
    let withdrawn = unlocker.view(&token).await.unwrap();
    assert!(
        matches!(
            withdrawn,
            UnlockView::Withdrawn {
                language: Language::Fr,
                ..
            }
        ),
        "{withdrawn:?}"
    );
}

#[tokio::test]
async fn a_malformed_phn_is_explained_and_not_counted() {
    let w = world().await;
    let token = sent_secure(&w).await;
    match unlocker(&w).attempt(&token, "96986").await.unwrap() {
        UnlockView::Form {
            tries_left: 5,
            wrong: false,
            problem: Some(problem),
            ..
        } => {
            assert_eq!(problem, crate::phn::PhnError::WrongLength { digits: 5 });
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn after_eight_days_the_link_says_expired_even_if_the_item_remains() {
    let w = world().await;
    let token = sent_secure(&w).await;
    w.clock
        .advance(SignedDuration::from_hours(8 * 24) - SignedDuration::from_secs(1));
    assert!(matches!(
        unlocker(&w).attempt(&token, RIGHT).await.unwrap(),
        UnlockView::Opened { .. }
    ));
    w.clock.advance(SignedDuration::from_secs(1));
    assert!(matches!(
        unlocker(&w).view(&token).await.unwrap(),
        UnlockView::Expired { .. }
    ));
    assert!(matches!(
        unlocker(&w).attempt(&token, RIGHT).await.unwrap(),
        UnlockView::Expired { .. }
    ));
}

#[tokio::test]
async fn unknown_or_malformed_tokens_reveal_nothing() {
    let w = world().await;
    sent_secure(&w).await;
    for token in ["", "short", "A".repeat(43).as_str(), "../../etc"] {
        assert!(
            matches!(
                unlocker(&w).view(token).await.unwrap(),
                UnlockView::NotValid
            ),
            "{token}"
        );
        assert!(matches!(
            unlocker(&w).attempt(token, RIGHT).await.unwrap(),
            UnlockView::NotValid
        ));
    }
}

#[tokio::test]
async fn concurrent_wrong_attempts_never_pass_the_limit() {
    let w = world().await;
    let token = sent_secure(&w).await;
    let unlocker = Arc::new(unlocker(&w));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (unlocker, token) = (unlocker.clone(), token.clone());
            tokio::spawn(async move { unlocker.attempt(&token, WRONG).await.unwrap() })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let hash = LinkToken::parse(&token).unwrap().hash();
    let state = w.store.get_unlock(&hash).await.unwrap().unwrap();
    assert_eq!(
        state.attempts.failures_total, 5,
        "only 5 counted before the lock"
    );
}

#[tokio::test]
async fn a_withdrawn_messages_link_says_so_and_opens_nothing() {
    let w = world().await;
    let token = sent_secure(&w).await;
    let message = w.store.recorded()[0].id.clone();
    let actions = message_actions(&w);
    actions.withdraw(&w.caller, &message).await.unwrap();
    for view in [
        unlocker(&w).view(&token).await.unwrap(),
        unlocker(&w).attempt(&token, RIGHT).await.unwrap(),
    ] {
        assert!(matches!(view, UnlockView::Withdrawn { .. }), "{view:?}");
    }
    let audited = w.store.audit().last().unwrap().clone();
    assert_eq!(
        (audited.event.as_str(), audited.outcome.as_str()),
        ("unlock", "withdrawn")
    );
    assert_eq!(audited.message_id, Some(message));
    assert!(matches!(
        unlocker(&w).view("not-a-token").await.unwrap(),
        UnlockView::NotValid
    ));
}

#[tokio::test]
async fn a_lock_shows_on_the_status_line_until_it_ends_or_staff_clear_it() {
    let w = world().await;
    let token = sent_secure(&w).await;
    let status = |w: &World| {
        let store = w.store.clone();
        let clinic = w.caller.clinic_id.clone();
        let now = w.clock.now();
        async move {
            store
                .messages_for_appointment(&clinic, &AppointmentId::parse("a1").unwrap())
                .await
                .unwrap()[0]
                .status(now)
                .state
        }
    };
    for _ in 0..MAX_FAILURES_IN_ROW {
        unlocker(&w).attempt(&token, WRONG).await.unwrap();
    }
    assert_eq!(status(&w).await, crate::model::MessageState::Locked);
    w.clock.advance(LOCKOUT + SignedDuration::from_secs(1));
    assert_eq!(
        status(&w).await,
        crate::model::MessageState::Sent,
        "the lockout ended"
    );
    for _ in 0..MAX_FAILURES_IN_ROW {
        unlocker(&w).attempt(&token, WRONG).await.unwrap();
    }
    assert_eq!(status(&w).await, crate::model::MessageState::Locked);
    let actions = message_actions(&w);
    let message = w.store.recorded()[0].id.clone();
    actions.clear_lock(&w.caller, &message).await.unwrap();
    assert_eq!(status(&w).await, crate::model::MessageState::Sent);
}
