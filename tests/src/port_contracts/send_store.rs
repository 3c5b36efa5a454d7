//! SendStore: a send's reads, and its two writes that each succeed or fail as a whole.

use domain::{
    idempotency::{IDEMPOTENCY_WINDOW, ScopedIdempotencyKey},
    ids::{ChatId, TemplateId},
    model::{NewMessage, SmsOutcome, SmsStatus},
    ports::{
        AppointmentStore, BeginOutcome, ClinicStore, FinishSend, IdempotencyRecord, MessageStore,
        SendLookup, SendRecords, SendStore, StalledSend, StalledSends, StoredResponse, UnlockStore,
    },
};
use jiff::{SignedDuration, Timestamp};

use super::{
    StorePorts, StoreUnderTest,
    records::{
        Scene, audit_entry, chat, clinic_id, key, message_id, t0_plus, template, token_hash,
    },
};

async fn read(
    store: &impl StorePorts,
    scene: &Scene,
    key: &ScopedIdempotencyKey,
    now: Timestamp,
) -> SendRecords {
    store
        .read_for_send(&SendLookup {
            clinic: &scene.clinic,
            appointment: &scene.appointment.id,
            idempotency_key: Some(key),
            template: None,
            chats: &[],
            now,
        })
        .await
        .unwrap()
}

/// What the key holds at `now`.
async fn key_record(
    store: &impl StorePorts,
    scene: &Scene,
    key: &ScopedIdempotencyKey,
    now: Timestamp,
) -> Option<IdempotencyRecord> {
    read(store, scene, key, now).await.idempotency_record
}

/// The ids of the messages recorded for the scene's appointment, newest first.
async fn recorded(store: &impl StorePorts, scene: &Scene) -> Vec<String> {
    store
        .messages_for_appointment(&scene.clinic, &scene.appointment.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id.to_string())
        .collect()
}

/// Nothing of `message` under `key` was written: no message, no unlock item, no claim.
async fn assert_nothing_written(
    store: &impl StorePorts,
    scene: &Scene,
    key: &ScopedIdempotencyKey,
    message: &NewMessage,
    but_messages: &[&str],
) {
    assert_eq!(
        recorded(store, scene).await,
        but_messages,
        "a message was written"
    );
    if let Some(unlock) = &message.unlock {
        let state = store.get_unlock(&unlock.token_hash).await.unwrap();
        assert!(
            state.is_none_or(|state| state.record.message_id != message.id),
            "an unlock item was written"
        );
    }
    assert_eq!(
        key_record(store, scene, key, message.sent_at).await,
        None,
        "the key was claimed"
    );
}

fn fingerprint(message: &NewMessage) -> String {
    format!("fingerprint of {}", message.id)
}

pub async fn a_send_reads_its_appointment_patient_template_and_chats(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let scene = Scene::write(store, 723).await;
    store
        .put_template(
            &scene.clinic,
            &template("t-1", "Hello {patient_first_name}"),
        )
        .await
        .unwrap();
    store.put_chat(&scene.clinic, &chat("c-1")).await.unwrap();
    store.put_chat(&scene.clinic, &chat("c-2")).await.unwrap();
    store
        .put_chat(&clinic_id("clinic-b"), &chat("c-3"))
        .await
        .unwrap();

    let key = scene.key("k-1");
    let t1 = TemplateId::parse("t-1").unwrap();
    // Asked twice, a chat is read once; another clinic's or an unknown one not at all.
    let chats = ["c-2", "c-1", "c-2", "c-3", "c-9"].map(|id| ChatId::parse(id).unwrap());
    let records = store
        .read_for_send(&SendLookup {
            clinic: &scene.clinic,
            appointment: &scene.appointment.id,
            idempotency_key: Some(&key),
            template: Some(&t1),
            chats: &chats,
            now: t0_plus(0),
        })
        .await
        .unwrap();
    assert_eq!(records.appointment, Some(scene.appointment.clone()));
    let patient = records.patient.unwrap();
    assert_eq!(patient.patient, scene.patient);
    assert_eq!(patient.version, scene.version);
    assert_eq!(
        records.template,
        Some(template("t-1", "Hello {patient_first_name}"))
    );
    let mut found = records.chats;
    found.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(found, [chat("c-1"), chat("c-2")]);
    assert_eq!(records.idempotency_record, None);

    let elsewhere = store
        .read_for_send(&SendLookup {
            clinic: &clinic_id("clinic-b"),
            appointment: &scene.appointment.id,
            idempotency_key: Some(&key),
            template: Some(&t1),
            chats: &[],
            now: t0_plus(0),
        })
        .await
        .unwrap();
    assert_eq!(elsewhere.appointment, None);
    assert_eq!(elsewhere.patient, None);
    assert_eq!(elsewhere.template, None);
}

pub async fn begin_send_records_the_message_and_claims_the_key(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 724).await;
    let key = scene.key("k-1");
    let message = scene.basic("m-1", t0_plus(10));
    assert_eq!(
        scene.begin(store, &key, &message).await,
        BeginOutcome::Begun
    );

    assert_eq!(recorded(store, &scene).await, ["m-1"]);
    assert_eq!(
        key_record(store, &scene, &key, t0_plus(11)).await,
        Some(IdempotencyRecord {
            fingerprint: fingerprint(&message),
            started_at: t0_plus(10),
            response: None,
        })
    );
}

pub async fn begin_send_writes_nothing_when_the_recipient_opted_out(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 725).await;
    store
        .set_opted_out(&scene.clinic, &scene.number_tag(), true)
        .await
        .unwrap();
    let key = scene.key("k-1");
    let message = scene.secure("m-1", t0_plus(10), 10);
    assert_eq!(
        scene.begin(store, &key, &message).await,
        BeginOutcome::OptedOut
    );
    assert_nothing_written(store, &scene, &key, &message, &[]).await;

    // START: the same key and message now go through, so nothing was left behind.
    store
        .set_opted_out(&scene.clinic, &scene.number_tag(), false)
        .await
        .unwrap();
    assert_eq!(
        scene.begin(store, &key, &message).await,
        BeginOutcome::Begun
    );
}

pub async fn begin_send_writes_nothing_when_the_patient_changed(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 726).await;
    let mut moved = scene.patient.clone();
    moved.phone = Some(super::records::patient_number(727));
    store
        .upsert_appointment_with_patient(&key(&scene.clinic), &moved, &scene.appointment)
        .await
        .unwrap();

    let key = scene.key("k-1");
    let message = scene.secure("m-1", t0_plus(10), 11);
    assert_eq!(
        scene
            .begin_at_version(store, &key, &message, scene.version)
            .await,
        BeginOutcome::PatientChanged
    );
    assert_nothing_written(store, &scene, &key, &message, &[]).await;

    let current = store
        .patient_record(&scene.clinic, &scene.patient.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        scene
            .begin_at_version(store, &key, &message, current.version)
            .await,
        BeginOutcome::Begun
    );
}

pub async fn begin_send_writes_nothing_when_the_key_is_taken(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 728).await;
    let key = scene.key("k-1");
    let first = scene.basic("m-1", t0_plus(10));
    assert_eq!(scene.begin(store, &key, &first).await, BeginOutcome::Begun);

    let second = scene.secure("m-2", t0_plus(20), 12);
    let earlier = IdempotencyRecord {
        fingerprint: fingerprint(&first),
        started_at: t0_plus(10),
        response: None,
    };
    assert_eq!(
        scene.begin(store, &key, &second).await,
        BeginOutcome::KeyTaken(Some(earlier.clone()))
    );
    assert_eq!(recorded(store, &scene).await, ["m-1"]);
    assert_eq!(store.get_unlock(&token_hash(12)).await.unwrap(), None);
    assert_eq!(
        key_record(store, &scene, &key, t0_plus(20)).await,
        Some(earlier)
    );
}

/// A message, and a secure message's unlock item, is written once: never over another.
pub async fn a_message_or_unlock_item_is_never_written_over_another(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 729).await;
    let first = scene.secure("m-1", t0_plus(10), 13);
    assert_eq!(
        scene.begin(store, &scene.key("k-1"), &first).await,
        BeginOutcome::Begun
    );

    let same_id = scene.basic("m-1", t0_plus(20));
    let key = scene.key("k-2");
    let refused = store
        .begin_send(&domain::ports::BeginSend {
            idempotency_key: &key,
            fingerprint: "another request",
            message: &same_id,
            patient_version: scene.version,
        })
        .await;
    assert!(refused.is_err(), "a message was written over another");
    assert_nothing_written(store, &scene, &key, &same_id, &["m-1"]).await;
    let listed = store
        .messages_for_appointment(&scene.clinic, &scene.appointment.id)
        .await
        .unwrap();
    assert_eq!(listed[0].sent_at, t0_plus(10), "the first message changed");

    let same_token = scene.secure("m-2", t0_plus(30), 13);
    let key = scene.key("k-3");
    let refused = store
        .begin_send(&domain::ports::BeginSend {
            idempotency_key: &key,
            fingerprint: "a third request",
            message: &same_token,
            patient_version: scene.version,
        })
        .await;
    assert!(refused.is_err(), "an unlock item was written over another");
    assert_nothing_written(store, &scene, &key, &same_token, &["m-1"]).await;
    let state = store.get_unlock(&token_hash(13)).await.unwrap().unwrap();
    assert_eq!(state.record.message_id, message_id("m-1"));
}

/// DynamoDB's TTL deletes late: a key older than the window reads as absent and may be
/// claimed again, while at the window's last second it still holds.
pub async fn an_expired_idempotency_key_reads_as_absent_and_may_be_claimed_again(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let scene = Scene::write(store, 730).await;
    let key = scene.key("k-1");
    let first = scene.basic("m-1", t0_plus(10));
    assert_eq!(scene.begin(store, &key, &first).await, BeginOutcome::Begun);

    let window_end = t0_plus(10) + IDEMPOTENCY_WINDOW;
    assert!(key_record(store, &scene, &key, window_end).await.is_some());
    let too_soon = scene.basic("m-2", window_end);
    assert!(matches!(
        scene.begin(store, &key, &too_soon).await,
        BeginOutcome::KeyTaken(Some(_))
    ));

    let after = window_end + SignedDuration::from_secs(1);
    assert_eq!(key_record(store, &scene, &key, after).await, None);
    let again = scene.basic("m-3", after);
    assert_eq!(scene.begin(store, &key, &again).await, BeginOutcome::Begun);
    assert_eq!(
        key_record(store, &scene, &key, after).await,
        Some(IdempotencyRecord {
            fingerprint: fingerprint(&again),
            started_at: after,
            response: None,
        })
    );
    assert_eq!(recorded(store, &scene).await, ["m-3", "m-1"]);
}

/// DynamoDB keeps the key's claim time in epoch seconds.
pub async fn idempotency_key_times_are_kept_to_the_second(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 731).await;
    let key = scene.key("k-1");
    let message = scene.basic("m-1", t0_plus(10) + SignedDuration::from_millis(800));
    assert_eq!(
        scene.begin(store, &key, &message).await,
        BeginOutcome::Begun
    );
    let record = key_record(store, &scene, &key, t0_plus(11)).await.unwrap();
    assert_eq!(record.started_at, t0_plus(10));

    let retry = scene.basic("m-2", t0_plus(12));
    let BeginOutcome::KeyTaken(Some(taken)) = scene.begin(store, &key, &retry).await else {
        panic!("the key is taken");
    };
    assert_eq!(taken.started_at, t0_plus(10));
}

pub async fn finish_send_writes_outcome_answer_and_audit_together(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 732).await;
    let key = scene.key("k-1");
    let message = scene.basic("m-1", t0_plus(10));
    scene.begin(store, &key, &message).await;

    let response = StoredResponse {
        status: 201,
        body: r#"{"message_id":"m-1"}"#.into(),
    };
    let audit = audit_entry(&scene.clinic, t0_plus(11), "sent", Some(&message.id));
    store
        .finish_send(&FinishSend {
            idempotency_key: &key,
            clinic: &scene.clinic,
            message: &message.id,
            outcome: &SmsOutcome::Sent {
                provider_message_id: "sns-1".into(),
            },
            response: Some(&response),
            delete_content: None,
            audit: &audit,
        })
        .await
        .unwrap();

    let listed = store
        .messages_for_appointment(&scene.clinic, &scene.appointment.id)
        .await
        .unwrap();
    assert_eq!(listed[0].sms_status, SmsStatus::Sent);
    let record = key_record(store, &scene, &key, t0_plus(12)).await.unwrap();
    assert_eq!(record.response, Some(response));
    assert_eq!(record.fingerprint, fingerprint(&message));
    assert_eq!(subject.audit_trail(&scene.clinic).await, [audit]);
}

pub async fn finish_send_without_an_answer_gives_the_key_back(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 733).await;
    let key = scene.key("k-1");
    let message = scene.basic("m-1", t0_plus(10));
    scene.begin(store, &key, &message).await;

    let audit = audit_entry(&scene.clinic, t0_plus(11), "sms_failed", Some(&message.id));
    store
        .finish_send(&FinishSend {
            idempotency_key: &key,
            clinic: &scene.clinic,
            message: &message.id,
            outcome: &SmsOutcome::Failed {
                code: "Throttling".into(),
            },
            response: None,
            delete_content: None,
            audit: &audit,
        })
        .await
        .unwrap();

    let listed = store
        .messages_for_appointment(&scene.clinic, &scene.appointment.id)
        .await
        .unwrap();
    assert_eq!(listed[0].sms_status, SmsStatus::Failed);
    assert_eq!(key_record(store, &scene, &key, t0_plus(12)).await, None);
    assert_eq!(subject.audit_trail(&scene.clinic).await, [audit]);
    let retry = scene.basic("m-2", t0_plus(20));
    assert_eq!(scene.begin(store, &key, &retry).await, BeginOutcome::Begun);
}

pub async fn finish_send_writes_nothing_when_its_message_is_missing(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 734).await;
    let key = scene.key("k-1");
    let message = scene.basic("m-1", t0_plus(10));
    scene.begin(store, &key, &message).await;

    let missing = message_id("m-9");
    let response = StoredResponse {
        status: 201,
        body: "{}".into(),
    };
    let audit = audit_entry(&scene.clinic, t0_plus(11), "sent", Some(&missing));
    let refused = store
        .finish_send(&FinishSend {
            idempotency_key: &key,
            clinic: &scene.clinic,
            message: &missing,
            outcome: &SmsOutcome::Sent {
                provider_message_id: "sns-1".into(),
            },
            response: Some(&response),
            delete_content: None,
            audit: &audit,
        })
        .await;
    assert!(refused.is_err());
    let record = key_record(store, &scene, &key, t0_plus(12)).await.unwrap();
    assert_eq!(record.response, None, "the key was answered");
    assert!(
        subject.audit_trail(&scene.clinic).await.is_empty(),
        "an audit entry was written"
    );
    assert_eq!(recorded(store, &scene).await, ["m-1"]);
}

pub async fn finish_send_writes_nothing_when_its_key_was_never_claimed(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let scene = Scene::write(store, 735).await;
    let message = scene.basic("m-1", t0_plus(10));
    scene.begin(store, &scene.key("k-1"), &message).await;

    let unclaimed = scene.key("k-2");
    let response = StoredResponse {
        status: 201,
        body: "{}".into(),
    };
    let audit = audit_entry(&scene.clinic, t0_plus(11), "sent", Some(&message.id));
    let refused = store
        .finish_send(&FinishSend {
            idempotency_key: &unclaimed,
            clinic: &scene.clinic,
            message: &message.id,
            outcome: &SmsOutcome::Sent {
                provider_message_id: "sns-1".into(),
            },
            response: Some(&response),
            delete_content: None,
            audit: &audit,
        })
        .await;
    assert!(refused.is_err());
    let listed = store
        .messages_for_appointment(&scene.clinic, &scene.appointment.id)
        .await
        .unwrap();
    assert_eq!(
        listed[0].sms_status,
        SmsStatus::Sending,
        "the outcome was written"
    );
    assert_eq!(
        key_record(store, &scene, &unclaimed, t0_plus(12)).await,
        None
    );
    assert!(
        subject.audit_trail(&scene.clinic).await.is_empty(),
        "an audit entry was written"
    );
}

/// The scene's messages the sweeper finds stalled before `before`.
async fn stalled(store: &impl StorePorts, scene: &Scene, before: Timestamp) -> Vec<StalledSend> {
    store
        .stalled_sends(before, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|send| send.clinic == scene.clinic)
        .collect()
}

pub async fn a_send_left_sending_is_found_oldest_first_until_it_is_settled(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let scene = Scene::write(store, 737).await;
    let messages = [
        scene.basic("m-1", t0_plus(20)),
        scene.secure("m-2", t0_plus(10), 37),
        scene.basic("m-3", t0_plus(30)),
        scene.basic("m-4", t0_plus(40)),
    ];
    for message in &messages {
        scene
            .begin(store, &scene.key(&format!("k-{}", message.id)), message)
            .await;
    }
    scene
        .finish_sent(store, &scene.key("k-m-3"), &messages[2], "sns-3")
        .await;

    let found = stalled(store, &scene, t0_plus(40)).await;
    let ids: Vec<_> = found.iter().map(|send| send.message.as_str()).collect();
    assert_eq!(
        ids,
        ["m-2", "m-1"],
        "before the time, oldest first, unsettled only"
    );
    let secure = &found[0];
    assert_eq!(
        (
            secure.kind,
            secure.expires_at,
            secure.sms,
            secure.started_at
        ),
        (
            messages[1].kind,
            messages[1].expires_at,
            messages[1].sms,
            t0_plus(10)
        )
    );
    assert_eq!(
        (
            secure.appointment.clone(),
            secure.request.clone(),
            secure.resend
        ),
        (scene.appointment.id.clone(), scene.key("k-m-2"), false)
    );
    assert_eq!(
        store.stalled_sends(t0_plus(40), 1).await.unwrap().len(),
        1,
        "at most the limit"
    );
}

pub async fn marking_unconfirmed_answers_the_key_once_and_a_late_outcome_wins(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let scene = Scene::write(store, 738).await;
    let first = scene.basic("m-1", t0_plus(10));
    let second = scene.basic("m-2", t0_plus(20));
    for message in [&first, &second] {
        scene
            .begin(store, &scene.key(&format!("k-{}", message.id)), message)
            .await;
    }
    let found = stalled(store, &scene, t0_plus(60)).await;
    let answer = StoredResponse {
        status: 201,
        body: r#"{"sms_status":"unconfirmed"}"#.into(),
    };
    let audit = audit_entry(
        &scene.clinic,
        t0_plus(61),
        "send-unconfirmed",
        Some(&first.id),
    );
    assert!(
        store
            .mark_unconfirmed(&found[0], &answer, &audit)
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_unconfirmed(&found[0], &answer, &audit)
            .await
            .unwrap(),
        "marked once"
    );
    let scene = &scene;
    let status = |id: &str| {
        let id = id.to_owned();
        async move {
            store
                .messages_for_appointment(&scene.clinic, &scene.appointment.id)
                .await
                .unwrap()
                .into_iter()
                .find(|message| message.id.as_str() == id)
                .unwrap()
                .sms_status
        }
    };
    assert_eq!(status("m-1").await, SmsStatus::Unconfirmed);
    let record = key_record(store, scene, &scene.key("k-m-1"), t0_plus(62))
        .await
        .unwrap();
    assert_eq!(record.response, Some(answer.clone()));
    assert_eq!(
        subject.audit_trail(&scene.clinic).await,
        std::slice::from_ref(&audit)
    );
    let ids: Vec<_> = stalled(store, scene, t0_plus(60))
        .await
        .into_iter()
        .map(|send| send.message.to_string())
        .collect();
    assert_eq!(ids, ["m-2"]);

    // The send's own outcome, late: it replaces unconfirmed.
    scene
        .finish_sent(store, &scene.key("k-m-1"), &first, "sns-1")
        .await;
    assert_eq!(status("m-1").await, SmsStatus::Sent);
    // An outcome between the sweeper's read and its write stands.
    scene
        .finish_sent(store, &scene.key("k-m-2"), &second, "sns-2")
        .await;
    assert!(
        !store
            .mark_unconfirmed(&found[1], &answer, &audit)
            .await
            .unwrap()
    );
    assert_eq!(status("m-2").await, SmsStatus::Sent);
    assert!(stalled(store, scene, t0_plus(60)).await.is_empty());
}

pub async fn a_failed_secure_send_deletes_its_content(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 739).await;
    let key = scene.key("k-1");
    let message = scene.secure("m-1", t0_plus(10), 39);
    scene.begin(store, &key, &message).await;
    let token_hash = &message.unlock.as_ref().unwrap().token_hash;
    let audit = audit_entry(&scene.clinic, t0_plus(11), "send", Some(&message.id));
    store
        .finish_send(&FinishSend {
            idempotency_key: &key,
            clinic: &scene.clinic,
            message: &message.id,
            outcome: &SmsOutcome::Failed {
                code: "InvalidParameter".into(),
            },
            response: None,
            delete_content: Some(token_hash),
            audit: &audit,
        })
        .await
        .unwrap();
    assert_eq!(store.get_unlock(token_hash).await.unwrap(), None);
    assert_eq!(recorded(store, &scene).await, ["m-1"], "the history stays");
}
