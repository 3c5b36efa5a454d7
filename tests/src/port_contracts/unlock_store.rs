//! UnlockStore: a secure message's unlock state by token hash, its attempt counters
//! written only on the version they were read at, and when it was first opened.

use domain::{
    error::DependencyError,
    ids::MessageId,
    model::{MessageLock, UnlockRecord},
    ports::{BeginOutcome, MessageStore, Opening, UnlockStore},
    unlock_attempts::Attempts,
};
use jiff::SignedDuration;

use super::{
    StoreUnderTest,
    records::{Scene, audit_entry, message_id, t0_plus, token_hash},
};

fn unlock_of(message: &domain::model::NewMessage) -> UnlockRecord {
    message.unlock.clone().expect("a secure message")
}

pub async fn a_secure_message_is_found_by_its_token_hash_with_fresh_attempts(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let scene = Scene::write(store, 717).await;
    let message = scene.secure("m-1", t0_plus(10), 3);
    assert_eq!(
        scene.begin(store, &scene.key("k-1"), &message).await,
        BeginOutcome::Begun
    );

    let state = store.get_unlock(&token_hash(3)).await.unwrap().unwrap();
    assert_eq!(state.record, unlock_of(&message));
    assert_eq!(state.attempts, Attempts::default());
    assert_eq!(store.get_unlock(&token_hash(4)).await.unwrap(), None);
}

pub async fn a_stale_attempts_version_is_refused(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 718).await;
    let message = scene.secure("m-1", t0_plus(10), 5);
    scene.begin(store, &scene.key("k-1"), &message).await;
    let hash = token_hash(5);
    let read = store.get_unlock(&hash).await.unwrap().unwrap().attempts;

    // Two wrong PHNs typed at once: both read version 0, the first write wins.
    let first = read.after_failure(t0_plus(20));
    let second = read.after_failure(t0_plus(21));
    assert!(
        store
            .save_attempts(&hash, read.version, &first)
            .await
            .unwrap()
    );
    assert!(
        !store
            .save_attempts(&hash, read.version, &second)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_unlock(&hash).await.unwrap().unwrap().attempts,
        first
    );

    // Read again, decide again: the current version writes.
    let next = first.after_failure(t0_plus(22));
    assert!(
        store
            .save_attempts(&hash, first.version, &next)
            .await
            .unwrap()
    );
    let stored = store.get_unlock(&hash).await.unwrap().unwrap().attempts;
    assert_eq!(stored, next);
    assert_eq!(stored.failures_total, 2);
}

pub async fn a_lockout_is_saved_and_read_back(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 719).await;
    scene
        .begin(
            store,
            &scene.key("k-1"),
            &scene.secure("m-1", t0_plus(10), 6),
        )
        .await;
    let hash = token_hash(6);
    let mut attempts = store.get_unlock(&hash).await.unwrap().unwrap().attempts;
    for n in 0..5 {
        let next = attempts.after_failure(t0_plus(20 + n));
        assert!(
            store
                .save_attempts(&hash, attempts.version, &next)
                .await
                .unwrap()
        );
        attempts = next;
    }
    assert!(
        attempts.locked_until.is_some(),
        "five in a row lock the link"
    );
    assert_eq!(
        store.get_unlock(&hash).await.unwrap().unwrap().attempts,
        attempts
    );

    let forever = Attempts {
        locked_forever: true,
        locked_until: None,
        version: attempts.version + 1,
        ..attempts
    };
    assert!(
        store
            .save_attempts(&hash, attempts.version, &forever)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_unlock(&hash).await.unwrap().unwrap().attempts,
        forever
    );
}

pub async fn attempts_of_an_unknown_token_are_not_saved(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let hash = token_hash(7);
    let attempts = Attempts::default().after_failure(t0_plus(20));
    assert!(!store.save_attempts(&hash, 0, &attempts).await.unwrap());
    assert_eq!(
        store.get_unlock(&hash).await.unwrap(),
        None,
        "saving attempts created an unlock item"
    );
}

/// DynamoDB keeps the unlock item's times as epoch seconds.
pub async fn unlock_times_are_kept_to_the_second(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 720).await;
    let sent_at = t0_plus(10) + SignedDuration::from_millis(250);
    scene
        .begin(store, &scene.key("k-1"), &scene.secure("m-1", sent_at, 8))
        .await;
    let hash = token_hash(8);
    let state = store.get_unlock(&hash).await.unwrap().unwrap();
    assert_eq!(state.record.expires_at, t0_plus(10 + 8 * 24 * 3600));

    let locked = Attempts {
        locked_until: Some(t0_plus(900) + SignedDuration::from_millis(500)),
        version: 1,
        ..state.attempts
    };
    assert!(store.save_attempts(&hash, 0, &locked).await.unwrap());
    let stored = store.get_unlock(&hash).await.unwrap().unwrap().attempts;
    assert_eq!(stored.locked_until, Some(t0_plus(900)));
}

/// What a right PHN writes: `token`'s counters read at `read_version`, and an audit entry.
async fn record_opening(
    subject: &impl StoreUnderTest,
    scene: &Scene,
    token: u8,
    message: &MessageId,
    read_version: u64,
    at: jiff::Timestamp,
) -> Result<bool, DependencyError> {
    let attempts = Attempts {
        version: read_version,
        ..Attempts::default()
    }
    .after_success();
    let audit = audit_entry(&scene.clinic, at, "unlock", Some(message));
    subject
        .store()
        .record_opening(&Opening {
            token_hash: &token_hash(token),
            read_version,
            attempts: &attempts,
            clinic: &scene.clinic,
            message,
            at,
            audit: &audit,
        })
        .await
}

pub async fn an_opening_writes_its_counters_the_first_opening_and_its_audit_entry(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let scene = Scene::write(store, 721).await;
    scene
        .begin(
            store,
            &scene.key("k-1"),
            &scene.secure("m-1", t0_plus(10), 9),
        )
        .await;
    let m1 = message_id("m-1");
    assert!(
        record_opening(subject, &scene, 9, &m1, 0, t0_plus(100))
            .await
            .unwrap()
    );
    assert!(
        record_opening(subject, &scene, 9, &m1, 1, t0_plus(200))
            .await
            .unwrap()
    );

    let listed = store
        .messages_for_appointment(&scene.clinic, &scene.appointment.id)
        .await
        .unwrap();
    assert_eq!(listed[0].opened_at, Some(t0_plus(100)));
    let attempts = store.get_unlock(&token_hash(9)).await.unwrap().unwrap();
    assert_eq!(attempts.attempts.version, 2);
    let opened: Vec<_> = subject
        .audit_trail(&scene.clinic)
        .await
        .into_iter()
        .filter(|entry| entry.event == "unlock")
        .map(|entry| entry.at)
        .collect();
    assert_eq!(opened, [t0_plus(200), t0_plus(100)]);
}

/// Another attempt wrote the counters since they were read: nothing of the opening is
/// written, and the caller reads again.
pub async fn an_opening_on_stale_counters_writes_nothing(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 746).await;
    scene
        .begin(
            store,
            &scene.key("k-1"),
            &scene.secure("m-1", t0_plus(10), 8),
        )
        .await;
    let m1 = message_id("m-1");
    let read = store.get_unlock(&token_hash(8)).await.unwrap().unwrap();
    let wrong = read.attempts.after_failure(t0_plus(20));
    assert!(
        store
            .save_attempts(&token_hash(8), read.attempts.version, &wrong)
            .await
            .unwrap()
    );
    assert!(
        !record_opening(subject, &scene, 8, &m1, read.attempts.version, t0_plus(30))
            .await
            .unwrap()
    );
    let listed = store
        .messages_for_appointment(&scene.clinic, &scene.appointment.id)
        .await
        .unwrap();
    assert_eq!(listed[0].opened_at, None);
    let now = store.get_unlock(&token_hash(8)).await.unwrap().unwrap();
    assert_eq!(now.attempts, wrong);
    assert!(
        !subject
            .audit_trail(&scene.clinic)
            .await
            .iter()
            .any(|entry| entry.event == "unlock")
    );
}

/// The message is written with its unlock item: one that is not there is an error to
/// report, never a message to create, and nothing else of the opening is written.
pub async fn opening_an_unknown_message_fails_and_writes_nothing(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 722).await;
    scene
        .begin(
            store,
            &scene.key("k-1"),
            &scene.secure("m-1", t0_plus(10), 7),
        )
        .await;
    let unknown = message_id("m-9");
    assert!(
        record_opening(subject, &scene, 7, &unknown, 0, t0_plus(100))
            .await
            .is_err()
    );
    let listed = store
        .messages_for_appointment(&scene.clinic, &scene.appointment.id)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].opened_at, None);
    let state = store.get_unlock(&token_hash(7)).await.unwrap().unwrap();
    assert_eq!(state.attempts, Attempts::default());
}

pub async fn a_lock_is_kept_on_the_message_to_the_second_until_cleared(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let scene = Scene::write(store, 743).await;
    let message = scene.secure("m-1", t0_plus(10), 45);
    scene.begin(store, &scene.key("k-1"), &message).await;
    let locked = |store| {
        let scene = &scene;
        async move {
            MessageStore::messages_for_appointment(store, &scene.clinic, &scene.appointment.id)
                .await
                .unwrap()[0]
                .locked
        }
    };
    let until = t0_plus(900) + SignedDuration::from_millis(250);
    for (lock, kept) in [
        (
            Some(MessageLock { until: Some(until) }),
            Some(MessageLock {
                until: Some(t0_plus(900)),
            }),
        ),
        (
            Some(MessageLock { until: None }),
            Some(MessageLock { until: None }),
        ),
        (None, None),
    ] {
        store
            .record_lock(&scene.clinic, &message.id, lock)
            .await
            .unwrap();
        assert_eq!(locked(store).await, kept);
    }
    assert!(
        store
            .record_lock(&scene.clinic, &message_id("m-9"), None)
            .await
            .is_err(),
        "never a message of its own"
    );
}
