//! MessageLinks: a secure message's link closed by staff, its content gone with it.

use domain::{
    model::AuditEntry,
    ports::{ClosedLink, LinkClosed, MessageLinks, MessageStore, UnlockStore, Withdrawal},
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
