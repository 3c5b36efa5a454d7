//! MessageStore: the messages sends recorded, by recipient and by appointment.

use domain::{
    delivery_receipt::{Delivery, DeliveryOutcome, DeliveryReceipt, FailureReason},
    message_kind::MessageKind,
    model::SmsStatus,
    ports::{
        BeginOutcome, DeliveryRecorded, MessageStore, OutboxPage, OutboxQuery, RECENT_MESSAGES_READ,
    },
};
use jiff::SignedDuration;

use super::{
    StoreUnderTest,
    records::{Scene, appointment, basic_message, clinic_id, patient_number, t0_plus, tag},
};

pub async fn a_numbers_recent_messages_since_a_time_are_found_newest_first(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let scene = Scene::write(store, 713).await;
    let follow_up = appointment("a-2", &scene.patient, t0_plus(9 * 24 * 3600));
    let other_number = patient_number(714);
    let messages = [
        scene.basic("m-1", t0_plus(10)),
        basic_message(&scene.clinic, "m-2", &follow_up, scene.phone(), t0_plus(30)),
        scene.basic("m-3", t0_plus(20)),
        basic_message(
            &scene.clinic,
            "m-4",
            &scene.appointment,
            &other_number,
            t0_plus(40),
        ),
    ];
    for message in &messages {
        let key = scene.key(&format!("k-{}", message.id));
        assert_eq!(scene.begin(store, &key, message).await, BeginOutcome::Begun);
    }
    // m-3's SMS was taken by SNS; the others are still sending.
    scene
        .finish_sent(store, &scene.key("k-m-3"), &messages[2], "sns-m-3")
        .await;

    let (mine, others) = (scene.number_tag(), tag(&other_number));
    let recent = |number, since| store.recent_messages_to(&scene.clinic, number, since);
    let found = recent(&mine, t0_plus(0)).await.unwrap();
    let ids: Vec<_> = found.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids, ["m-2", "m-3", "m-1"]);
    assert_eq!(found[0].appointment_id, follow_up.id);
    assert_eq!(found[1].appointment_id, scene.appointment.id);
    let sent_as: Vec<_> = found.iter().map(|m| m.sent_as.as_deref()).collect();
    assert_eq!(sent_as, [None, Some("sns-m-3"), None]);
    // The patient's language at send, which a reply is answered in.
    assert!(
        found
            .iter()
            .all(|m| m.language == domain::language::Language::Fr)
    );
    let at_since = recent(&mine, t0_plus(30)).await.unwrap();
    assert_eq!(at_since.len(), 1, "since is inclusive");
    assert_eq!(at_since[0].message_id.as_str(), "m-2");
    assert_eq!(recent(&mine, t0_plus(31)).await.unwrap(), []);
    let other = recent(&others, t0_plus(0)).await.unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].message_id.as_str(), "m-4");
    assert_eq!(
        store
            .recent_messages_to(&clinic_id("clinic-b"), &scene.number_tag(), t0_plus(0))
            .await
            .unwrap(),
        []
    );
}

/// A number's messages past the latest [`RECENT_MESSAGES_READ`] are not read.
pub async fn at_most_the_latest_few_messages_to_a_number_are_read(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 717).await;
    let count = RECENT_MESSAGES_READ + 2;
    for n in 0..count {
        let message = scene.basic(&format!("m-{n:02}"), t0_plus(i64::try_from(n).unwrap()));
        let key = scene.key(&format!("k-{n}"));
        assert_eq!(
            scene.begin(store, &key, &message).await,
            BeginOutcome::Begun
        );
    }
    let found = store
        .recent_messages_to(&scene.clinic, &scene.number_tag(), t0_plus(0))
        .await
        .unwrap();
    assert_eq!(found.len(), RECENT_MESSAGES_READ);
    assert_eq!(
        found[0].message_id.as_str(),
        format!("m-{:02}", count - 1),
        "newest first"
    );
}

pub async fn messages_for_an_appointment_are_listed_newest_first(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 715).await;
    let follow_up = appointment("a-2", &scene.patient, t0_plus(9 * 24 * 3600));
    let messages = [
        scene.basic("m-1", t0_plus(10)),
        scene.secure("m-2", t0_plus(30), 1),
        scene.basic("m-3", t0_plus(20)),
        basic_message(&scene.clinic, "m-4", &follow_up, scene.phone(), t0_plus(40)),
    ];
    for message in &messages {
        let key = scene.key(&format!("k-{}", message.id));
        assert_eq!(scene.begin(store, &key, message).await, BeginOutcome::Begun);
    }

    let listed = store
        .messages_for_appointment(&scene.clinic, &scene.appointment.id)
        .await
        .unwrap();
    let ids: Vec<_> = listed.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["m-2", "m-3", "m-1"]);
    let secure = &listed[0];
    assert_eq!(secure.kind, MessageKind::Secure);
    assert_eq!(secure.sent_at, t0_plus(30));
    assert_eq!(secure.sent_by.as_str(), "staff-1");
    assert_eq!(secure.sms_status, SmsStatus::Sending);
    assert_eq!(secure.expires_at, Some(t0_plus(30 + 8 * 24 * 3600)));
    assert_eq!(secure.opened_at, None);
    assert_eq!(listed[1].kind, MessageKind::Basic);
    assert_eq!(listed[1].expires_at, None);

    let other = store
        .messages_for_appointment(&scene.clinic, &follow_up.id)
        .await
        .unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].id.as_str(), "m-4");
    assert!(
        store
            .messages_for_appointment(&clinic_id("clinic-b"), &scene.appointment.id)
            .await
            .unwrap()
            .is_empty()
    );
}

/// DynamoDB keeps a message's times as sortable text and epoch seconds: to the second, and
/// a reply's "since" compares at that precision too.
pub async fn message_times_are_kept_to_the_second(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 716).await;
    let sent_at = t0_plus(10) + SignedDuration::from_millis(600);
    let message = scene.secure("m-1", sent_at, 2);
    let key = scene.key("k-1");
    assert_eq!(
        scene.begin(store, &key, &message).await,
        BeginOutcome::Begun
    );

    let listed = store
        .messages_for_appointment(&scene.clinic, &scene.appointment.id)
        .await
        .unwrap();
    assert_eq!(listed[0].sent_at, t0_plus(10));
    assert_eq!(listed[0].expires_at, Some(t0_plus(10 + 8 * 24 * 3600)));

    let later_in_that_second = t0_plus(10) + SignedDuration::from_millis(900);
    let found = store
        .recent_messages_to(&scene.clinic, &scene.number_tag(), later_in_that_second)
        .await
        .unwrap();
    assert_eq!(found.first().map(|m| &m.message_id), Some(&message.id));
}

/// A staff action finds a message of the clinic: its kind, and a secure one's token hash.
pub async fn a_message_link_names_its_kind_and_a_secure_ones_content_key(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let scene = Scene::write(store, 717).await;
    let basic = scene.basic("m-1", t0_plus(10));
    assert_eq!(
        scene.begin(store, &scene.key("k-1"), &basic).await,
        BeginOutcome::Begun
    );
    let secure = scene.secure("m-2", t0_plus(20), 1);
    assert_eq!(
        scene.begin(store, &scene.key("k-2"), &secure).await,
        BeginOutcome::Begun
    );
    let link = |clinic, id| store.message_link(clinic, id);
    let found = link(&scene.clinic, &basic.id).await.unwrap().unwrap();
    assert_eq!((found.kind, found.token_hash), (MessageKind::Basic, None));
    let found = link(&scene.clinic, &secure.id).await.unwrap().unwrap();
    assert_eq!(found.kind, MessageKind::Secure);
    assert_eq!(
        found.token_hash.as_ref(),
        secure.unlock.as_ref().map(|unlock| &unlock.token_hash)
    );
    assert_eq!(
        link(&clinic_id("clinic-b"), &secure.id).await.unwrap(),
        None,
        "another clinic's message is not found"
    );
}

/// A carrier's receipt for the SMS SNS sent as `provider_message_id`, at `at`.
fn receipt(
    provider_message_id: &str,
    outcome: DeliveryOutcome,
    at: jiff::Timestamp,
) -> DeliveryReceipt {
    DeliveryReceipt {
        provider_message_id: provider_message_id.into(),
        delivery: Delivery { outcome, at },
    }
}

pub async fn a_receipt_is_recorded_on_its_message_and_only_a_later_one_replaces_it(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let scene = Scene::write(store, 716).await;
    let message = scene.basic("m-1", t0_plus(10));
    let key = scene.key("k-1");
    scene.begin(store, &key, &message).await;
    scene.finish_sent(store, &key, &message, "sns-716").await;

    let at = |millis: i64| t0_plus(10) + SignedDuration::from_millis(millis);
    let failed = DeliveryOutcome::Failed(FailureReason::Unreachable);
    let record = |receipt| async move { store.record_delivery(&receipt).await.unwrap() };
    assert_eq!(
        record(receipt("sns-716", DeliveryOutcome::Delivered, at(2_500))).await,
        DeliveryRecorded::Recorded
    );
    assert_eq!(
        record(receipt("sns-716", DeliveryOutcome::Delivered, at(2_500))).await,
        DeliveryRecorded::Superseded,
        "the same receipt twice"
    );
    assert_eq!(
        record(receipt("sns-716", failed, at(2_499))).await,
        DeliveryRecorded::Superseded,
        "an older receipt arriving late"
    );
    let scene = &scene;
    let delivery = |store| async move {
        MessageStore::messages_for_appointment(store, &scene.clinic, &scene.appointment.id)
            .await
            .unwrap()[0]
            .delivery
    };
    assert_eq!(
        delivery(store).await,
        Some(Delivery {
            outcome: DeliveryOutcome::Delivered,
            at: at(2_500)
        }),
        "kept to the millisecond"
    );
    assert_eq!(
        record(receipt("sns-716", failed, at(2_501))).await,
        DeliveryRecorded::Recorded
    );
    assert_eq!(delivery(store).await.map(|d| d.outcome), Some(failed));
    assert_eq!(
        record(receipt(
            "sns-unknown",
            DeliveryOutcome::Delivered,
            at(3_000)
        ))
        .await,
        DeliveryRecorded::UnknownMessage
    );
}

pub async fn a_clinics_messages_are_listed_newest_first_in_pages_within_the_window(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let scene = Scene::write(store, 717).await;
    let follow_up = appointment("a-2", &scene.patient, t0_plus(9 * 24 * 3600));
    let messages = [
        scene.basic("m-1", t0_plus(10)),
        basic_message(&scene.clinic, "m-2", &follow_up, scene.phone(), t0_plus(20)),
        scene.basic("m-3", t0_plus(20)),
        scene.basic("m-4", t0_plus(30)),
        scene.basic("m-5", t0_plus(40)),
    ];
    for message in &messages {
        let key = scene.key(&format!("k-{}", message.id));
        assert_eq!(scene.begin(store, &key, message).await, BeginOutcome::Begun);
    }
    let page = |after, limit| {
        let clinic = scene.clinic.clone();
        async move {
            store
                .clinic_messages(
                    &clinic,
                    &OutboxQuery {
                        from: t0_plus(10),
                        to: t0_plus(30),
                        after,
                        limit,
                    },
                )
                .await
                .unwrap()
        }
    };
    let first = page(None, 2).await;
    let ids = |page: &OutboxPage| -> Vec<String> {
        page.entries
            .iter()
            .map(|entry| entry.message.id.to_string())
            .collect()
    };
    assert_eq!(
        ids(&first),
        ["m-4", "m-3"],
        "newest first, the window inclusive"
    );
    let second = page(first.more_after.clone(), 2).await;
    assert_eq!(
        ids(&second),
        ["m-2", "m-1"],
        "ties in time by id, newest first"
    );
    assert_eq!(second.entries[0].appointment_id, follow_up.id);
    assert_eq!(second.entries[1].appointment_id, scene.appointment.id);
    // A full page may or may not be known to be the last (DynamoDB stops at the limit
    // and says more may follow): the page after it, if any, is empty and the last.
    if let Some(after) = second.more_after.clone() {
        let last = page(Some(after), 2).await;
        assert!(last.entries.is_empty(), "{:?}", ids(&last));
        assert_eq!(last.more_after, None);
    }
    let everything = page(None, 10).await;
    assert_eq!(ids(&everything).len(), 4);
    assert_eq!(
        everything.more_after, None,
        "a page short of the limit is the last"
    );
    let theirs = store
        .clinic_messages(
            &clinic_id("clinic-b"),
            &OutboxQuery {
                from: t0_plus(0),
                to: t0_plus(100),
                after: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert!(theirs.entries.is_empty());
}
