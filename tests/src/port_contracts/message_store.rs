//! MessageStore: the messages sends recorded, by recipient and by appointment.

use domain::{
    message_kind::MessageKind,
    model::SmsStatus,
    ports::{BeginOutcome, MessageStore},
};
use jiff::SignedDuration;

use super::{
    StoreUnderTest,
    records::{Scene, appointment, basic_message, clinic_id, patient_number, t0_plus},
};

pub async fn the_latest_message_to_a_number_since_a_time_is_found(subject: &impl StoreUnderTest) {
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

    let latest = |number, since| store.latest_message_to(&scene.clinic, number, since);
    let found = latest(scene.phone(), t0_plus(0)).await.unwrap().unwrap();
    assert_eq!(found.message_id.as_str(), "m-2");
    assert_eq!(found.appointment_id, follow_up.id);
    let at_since = latest(scene.phone(), t0_plus(30)).await.unwrap().unwrap();
    assert_eq!(at_since.message_id.as_str(), "m-2", "since is inclusive");
    assert_eq!(latest(scene.phone(), t0_plus(31)).await.unwrap(), None);
    let other = latest(&other_number, t0_plus(0)).await.unwrap().unwrap();
    assert_eq!(other.message_id.as_str(), "m-4");
    assert_eq!(
        store
            .latest_message_to(&clinic_id("clinic-b"), scene.phone(), t0_plus(0))
            .await
            .unwrap(),
        None
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
        .latest_message_to(&scene.clinic, scene.phone(), later_in_that_second)
        .await
        .unwrap();
    assert_eq!(found.map(|m| m.message_id), Some(message.id));
}
