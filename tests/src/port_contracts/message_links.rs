//! MessageLinks: a secure message's link closed by staff, its content gone with it.

use domain::{
    delivery_receipt::{Delivery, DeliveryOutcome, DeliveryReceipt},
    language::Language,
    model::{AuditEntry, SmsStatus},
    ports::{
        BeginResend, ClinicStore, ClosedLink, DeliveryRecorded, LinkClosed, MessageLinks,
        MessageStore, ResendOutcome, StalledSends, StoredResponse, UnlockStore, Withdrawal,
    },
    sms_encoding::measure,
};

use super::{
    StoreUnderTest,
    records::{Scene, audit_entry, t0_plus, token_hash},
};

pub async fn a_withdrawal_closes_the_link_and_deletes_the_content_once(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let scene = Scene::write(store, 740).await;
    let key = scene.key("k-1");
    let message = scene.secure("m-1", t0_plus(10), 40);
    scene.begin(store, &key, &message).await;
    scene.finish_sent(store, &key, &message, "sns-40").await;
    let hash = token_hash(40);
    let expires_at = message.expires_at.unwrap();
    let audit: AuditEntry = audit_entry(&scene.clinic, t0_plus(20), "withdraw", Some(&message.id));
    let withdrawal = Withdrawal {
        clinic: &scene.clinic,
        message: &message.id,
        token_hash: &hash,
        at: t0_plus(20),
        expires_at,
        language: Language::Fr,
        audit: &audit,
    };
    assert!(store.withdraw(&withdrawal).await.unwrap());

    assert_eq!(
        store.get_unlock(&hash).await.unwrap(),
        None,
        "content deleted"
    );
    assert_eq!(
        store.closed_link(&hash).await.unwrap(),
        Some(ClosedLink {
            clinic_id: scene.clinic.clone(),
            message_id: message.id.clone(),
            why: LinkClosed::Withdrawn,
            language: Language::Fr,
        })
    );
    let listed = store
        .messages_for_appointment(&scene.clinic, &scene.appointment.id)
        .await
        .unwrap();
    assert_eq!(
        listed[0].withdrawn_at,
        Some(t0_plus(20)),
        "the history stays"
    );
    let link = store
        .message_link(&scene.clinic, &message.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.withdrawn_at, Some(t0_plus(20)));
    assert_eq!(link.expires_at, Some(expires_at));
    assert_eq!(link.appointment_id, scene.appointment.id);
    assert_eq!(link.attachment_keys, ["attachments/clinic-a/f-40"]);

    let again = Withdrawal {
        at: t0_plus(30),
        ..withdrawal
    };
    assert!(!store.withdraw(&again).await.unwrap(), "withdrawn once");
    assert_eq!(
        subject.audit_trail(&scene.clinic).await.len(),
        2,
        "the send's entry and one withdrawal's"
    );
    assert_eq!(store.closed_link(&token_hash(41)).await.unwrap(), None);
}

pub async fn a_resend_moves_the_content_to_a_new_link_and_closes_the_old_one(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let scene = Scene::write(store, 741).await;
    let key = scene.key("k-1");
    let message = scene.secure("m-1", t0_plus(10), 41);
    scene.begin(store, &key, &message).await;
    scene.finish_sent(store, &key, &message, "sns-41").await;
    let (old, new) = (token_hash(41), token_hash(42));
    let current = store.get_unlock(&old).await.unwrap().unwrap();
    let resend_key = scene.key("r-1");
    let resend = BeginResend {
        idempotency_key: &resend_key,
        fingerprint: "resend|m-1",
        current: &current,
        new_token_hash: &new,
        recipient: &scene.number_tag(),
        sms: measure("Clinic: you have a secure message"),
        at: t0_plus(100),
    };
    assert_eq!(
        store.begin_resend(&resend).await.unwrap(),
        ResendOutcome::Begun
    );

    assert_eq!(store.get_unlock(&old).await.unwrap(), None);
    let moved = store.get_unlock(&new).await.unwrap().unwrap();
    assert_eq!(moved.record.token_hash, new);
    assert_eq!(
        (
            moved.record.sealed.clone(),
            moved.record.expires_at,
            moved.attempts
        ),
        (
            current.record.sealed.clone(),
            current.record.expires_at,
            current.attempts
        )
    );
    assert_eq!(
        store
            .closed_link(&old)
            .await
            .unwrap()
            .map(|closed| closed.why),
        Some(LinkClosed::Replaced)
    );
    let link = store
        .message_link(&scene.clinic, &message.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.token_hash, Some(new.clone()));
    let listed = &store
        .messages_for_appointment(&scene.clinic, &scene.appointment.id)
        .await
        .unwrap()[0];
    assert_eq!(
        (listed.sms_status, listed.resent_at, listed.sent_at),
        (SmsStatus::Sending, Some(t0_plus(100)), t0_plus(10))
    );
    let stalled = store.stalled_sends(t0_plus(101), 10).await.unwrap();
    assert_eq!(stalled.len(), 1);
    assert_eq!(
        (
            stalled[0].started_at,
            &stalled[0].request,
            stalled[0].resend
        ),
        (t0_plus(100), &resend_key, true)
    );
    assert!(
        store
            .stalled_sends(t0_plus(100), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A late receipt for the SMS the message no longer waits on changes nothing.
    let late = DeliveryReceipt {
        provider_message_id: "sns-41".into(),
        delivery: Delivery {
            outcome: DeliveryOutcome::Delivered,
            at: t0_plus(101),
        },
    };
    assert_eq!(
        store.record_delivery(&late).await.unwrap(),
        DeliveryRecorded::UnknownMessage
    );

    // As read before: the link changed since.
    let stale_key = scene.key("r-2");
    let stale = BeginResend {
        idempotency_key: &stale_key,
        ..resend
    };
    assert_eq!(
        store.begin_resend(&stale).await.unwrap(),
        ResendOutcome::LinkChanged
    );
    let ResendOutcome::KeyTaken(Some(taken)) = store.begin_resend(&resend).await.unwrap() else {
        panic!("the key is taken");
    };
    assert_eq!(taken.fingerprint, "resend|m-1");

    scene
        .finish_sent(store, &resend_key, &message, "sns-42")
        .await;
    let listed = &store
        .messages_for_appointment(&scene.clinic, &scene.appointment.id)
        .await
        .unwrap()[0];
    assert_eq!(listed.sms_status, SmsStatus::Sent);
}

pub async fn a_resend_to_a_number_that_opted_out_writes_nothing(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 742).await;
    let key = scene.key("k-1");
    let message = scene.secure("m-1", t0_plus(10), 43);
    scene.begin(store, &key, &message).await;
    store
        .set_opted_out(&scene.clinic, &scene.number_tag(), true)
        .await
        .unwrap();
    let current = store.get_unlock(&token_hash(43)).await.unwrap().unwrap();
    let resend_key = scene.key("r-1");
    let outcome = store
        .begin_resend(&BeginResend {
            idempotency_key: &resend_key,
            fingerprint: "resend|m-1",
            current: &current,
            new_token_hash: &token_hash(44),
            recipient: &scene.number_tag(),
            sms: measure("Clinic: you have a secure message"),
            at: t0_plus(100),
        })
        .await
        .unwrap();
    assert_eq!(outcome, ResendOutcome::OptedOut);
    assert!(store.get_unlock(&token_hash(43)).await.unwrap().is_some());
    assert_eq!(store.get_unlock(&token_hash(44)).await.unwrap(), None);
    assert_eq!(store.closed_link(&token_hash(43)).await.unwrap(), None);
}

pub async fn a_withdrawal_of_a_link_the_message_no_longer_has_writes_nothing(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let scene = Scene::write(store, 744).await;
    let message = scene.secure("m-1", t0_plus(10), 46);
    scene.begin(store, &scene.key("k-1"), &message).await;
    let audit = audit_entry(&scene.clinic, t0_plus(20), "withdraw", Some(&message.id));
    // As read before a resend moved the content to another link.
    let stale = token_hash(47);
    let withdrawal = Withdrawal {
        clinic: &scene.clinic,
        message: &message.id,
        token_hash: &stale,
        at: t0_plus(20),
        expires_at: message.expires_at.unwrap(),
        language: Language::Fr,
        audit: &audit,
    };
    assert!(!store.withdraw(&withdrawal).await.unwrap());
    assert!(store.get_unlock(&token_hash(46)).await.unwrap().is_some());
    assert_eq!(store.closed_link(&stale).await.unwrap(), None);
    let link = store
        .message_link(&scene.clinic, &message.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.withdrawn_at, None);
    assert!(subject.audit_trail(&scene.clinic).await.is_empty());
}

pub async fn the_sweeper_leaves_a_message_resent_since_it_read_it(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 745).await;
    let message = scene.secure("m-1", t0_plus(10), 48);
    scene.begin(store, &scene.key("k-1"), &message).await;
    let read = store.stalled_sends(t0_plus(1000), 10).await.unwrap();
    assert_eq!(read.len(), 1);
    let current = store.get_unlock(&token_hash(48)).await.unwrap().unwrap();
    let resend_key = scene.key("r-1");
    let resend = BeginResend {
        idempotency_key: &resend_key,
        fingerprint: "resend|m-1",
        current: &current,
        new_token_hash: &token_hash(49),
        recipient: &scene.number_tag(),
        sms: measure("Clinic: you have a secure message"),
        at: t0_plus(900),
    };
    assert_eq!(
        store.begin_resend(&resend).await.unwrap(),
        ResendOutcome::Begun
    );
    let answer = StoredResponse {
        status: 201,
        body: "{}".into(),
    };
    let audit = audit_entry(
        &scene.clinic,
        t0_plus(1000),
        "send-unconfirmed",
        Some(&message.id),
    );
    assert!(
        !store
            .mark_unconfirmed(&read[0], &answer, &audit)
            .await
            .unwrap(),
        "the resend's own send is not the one read"
    );
    let listed = &store
        .messages_for_appointment(&scene.clinic, &scene.appointment.id)
        .await
        .unwrap()[0];
    assert_eq!(listed.sms_status, SmsStatus::Sending);
    let now_stalled = store.stalled_sends(t0_plus(1000), 10).await.unwrap();
    assert_eq!(now_stalled[0].request, resend_key);
}
