//! InboundLog: an inbound SMS is handled by one delivery at a time, taken over after the
//! lease when its holder stopped, and done once finished; a reply to a message is one
//! write of the status, the day's auto-reply, the progress and the audit entry.

use domain::{
    appointment_status::AppointmentStatus,
    ids::AppointmentId,
    inbound_sms::{AutoReply, INBOUND_CLAIM_LEASE},
    model::AuditEntry,
    ports::{
        AppointmentStore, AutoReplyClaim, ClinicStore, InboundClaim, InboundLog, InboundProgress,
        UnclearRecorded, UnclearReply,
    },
};
use jiff::{SignedDuration, Timestamp};

use super::{
    StoreUnderTest,
    records::{Scene, audit_entry, t0_plus},
};

/// A reply to `scene`'s appointment (or `appointment`) from its patient's number, as the
/// inbound SMS `inbound` at `at`, asking for the unclear response unless `auto_reply` is
/// false; what the store wrote, and the audit entry it was given.
async fn record_reply(
    subject: &impl StoreUnderTest,
    scene: &Scene,
    inbound: &str,
    appointment: Option<&AppointmentId>,
    auto_reply: bool,
    at: Timestamp,
) -> (UnclearRecorded, AuditEntry) {
    let mut audit = audit_entry(&scene.clinic, at, "reply", None);
    audit.reference = Some(inbound.to_owned());
    // Claimed first, as every reply is (a retry's claim is its own SMS's).
    let _ = subject.store().claim_inbound(inbound, at).await.unwrap();
    let recorded = subject
        .store()
        .record_unclear(&UnclearReply {
            inbound_id: inbound,
            clinic: &scene.clinic,
            appointment: appointment.unwrap_or(&scene.appointment.id),
            number: &scene.number_tag(),
            auto_reply: auto_reply.then_some(AutoReply::Unclear),
            at,
            since: at - AutoReply::INTERVAL,
            audit: &audit,
        })
        .await
        .unwrap();
    (recorded, audit)
}

async fn status(subject: &impl StoreUnderTest, scene: &Scene) -> AppointmentStatus {
    subject
        .store()
        .get_appointment(&scene.clinic, &scene.appointment.id)
        .await
        .unwrap()
        .unwrap()
        .status
}

async fn replies_audited(subject: &impl StoreUnderTest, scene: &Scene) -> Vec<Option<String>> {
    subject
        .audit_trail(&scene.clinic)
        .await
        .into_iter()
        .filter(|entry| entry.event == "reply")
        .map(|entry| entry.reference)
        .collect()
}

pub async fn a_reply_sets_the_status_claims_the_days_auto_reply_and_is_audited(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let scene = Scene::write(store, 747).await;
    let (first, _) = record_reply(subject, &scene, "sms-1", None, true, t0_plus(0)).await;
    assert_eq!(
        first,
        UnclearRecorded {
            status_set: true,
            auto_reply: AutoReplyClaim::Claimed
        }
    );
    assert_eq!(status(subject, &scene).await, AppointmentStatus::Unclear);
    assert_eq!(
        store
            .claim_inbound("sms-1", lease_end(t0_plus(0)))
            .await
            .unwrap(),
        InboundClaim::Mine(InboundProgress { status_set: true }),
        "the progress is written with it"
    );

    // Another reply within the day: the status again, no second auto-reply.
    let (second, _) = record_reply(subject, &scene, "sms-2", None, true, t0_plus(60)).await;
    assert_eq!(
        second,
        UnclearRecorded {
            status_set: true,
            auto_reply: AutoReplyClaim::TooSoon
        }
    );
    // The same SMS again (a retry) holds its claim; a day later another may take it.
    let (retried, _) = record_reply(subject, &scene, "sms-1", None, true, t0_plus(120)).await;
    assert_eq!(retried.auto_reply, AutoReplyClaim::Claimed);
    let day_later = t0_plus(120) + AutoReply::INTERVAL;
    let (next_day, _) = record_reply(subject, &scene, "sms-3", None, true, day_later).await;
    assert_eq!(next_day.auto_reply, AutoReplyClaim::Claimed);
    let (unasked, _) = record_reply(subject, &scene, "sms-4", None, false, day_later).await;
    assert_eq!(unasked.auto_reply, AutoReplyClaim::NotAsked);
    assert_eq!(
        replies_audited(subject, &scene).await.len(),
        5,
        "each write keeps its audit entry"
    );
}

pub async fn a_number_on_the_clinics_stop_list_is_not_claimed_and_the_rest_is_written(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let scene = Scene::write(store, 748).await;
    store
        .set_opted_out(&scene.clinic, &scene.number_tag(), true)
        .await
        .unwrap();
    let (recorded, _) = record_reply(subject, &scene, "sms-1", None, true, t0_plus(0)).await;
    assert_eq!(
        recorded,
        UnclearRecorded {
            status_set: true,
            auto_reply: AutoReplyClaim::OptedOut
        }
    );
    assert_eq!(status(subject, &scene).await, AppointmentStatus::Unclear);
    assert_eq!(
        replies_audited(subject, &scene).await,
        [Some("sms-1".to_owned())]
    );
    // Opted in again: the day's auto-reply was never taken, so it may go.
    store
        .set_opted_out(&scene.clinic, &scene.number_tag(), false)
        .await
        .unwrap();
    let (again, _) = record_reply(subject, &scene, "sms-2", None, true, t0_plus(60)).await;
    assert_eq!(again.auto_reply, AutoReplyClaim::Claimed);
}

/// The store makes no inbound SMS's item: a reply to one never claimed writes nothing.
pub async fn a_reply_to_an_unclaimed_sms_writes_nothing(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 752).await;
    let audit = audit_entry(&scene.clinic, t0_plus(0), "reply", None);
    let written = store
        .record_unclear(&UnclearReply {
            inbound_id: "sms-unclaimed",
            clinic: &scene.clinic,
            appointment: &scene.appointment.id,
            number: &scene.number_tag(),
            auto_reply: Some(AutoReply::Unclear),
            at: t0_plus(0),
            since: t0_plus(0) - AutoReply::INTERVAL,
            audit: &audit,
        })
        .await;
    assert!(written.is_err());
    assert_eq!(status(subject, &scene).await, AppointmentStatus::Booked);
    assert!(replies_audited(subject, &scene).await.is_empty());
    assert_eq!(
        store
            .claim_inbound("sms-unclaimed", t0_plus(1))
            .await
            .unwrap(),
        InboundClaim::Mine(InboundProgress::default())
    );
}

/// The appointment was deleted after the message went: no appointment is made, and the
/// reply is still claimed and audited.
pub async fn a_reply_to_a_gone_appointment_writes_the_rest(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let scene = Scene::write(store, 749).await;
    let gone = AppointmentId::parse("a-gone").unwrap();
    let (recorded, _) = record_reply(subject, &scene, "sms-1", Some(&gone), true, t0_plus(0)).await;
    assert_eq!(
        recorded,
        UnclearRecorded {
            status_set: false,
            auto_reply: AutoReplyClaim::Claimed
        }
    );
    assert_eq!(
        store.get_appointment(&scene.clinic, &gone).await.unwrap(),
        None
    );
    assert_eq!(status(subject, &scene).await, AppointmentStatus::Booked);
    assert_eq!(
        replies_audited(subject, &scene).await,
        [Some("sms-1".to_owned())]
    );
}

fn lease_end(claimed_at: Timestamp) -> Timestamp {
    claimed_at + INBOUND_CLAIM_LEASE
}

pub async fn the_first_claim_of_an_inbound_sms_is_mine(subject: &impl StoreUnderTest) {
    let store = subject.store();
    assert_eq!(
        store.claim_inbound("sms-1", t0_plus(0)).await.unwrap(),
        InboundClaim::Mine(InboundProgress::default())
    );
    assert_eq!(
        store.claim_inbound("sms-2", t0_plus(0)).await.unwrap(),
        InboundClaim::Mine(InboundProgress::default()),
        "another SMS is claimed on its own"
    );
}

pub async fn a_second_claim_within_the_lease_is_busy(subject: &impl StoreUnderTest) {
    let store = subject.store();
    store.claim_inbound("sms-1", t0_plus(0)).await.unwrap();
    assert_eq!(
        store.claim_inbound("sms-1", t0_plus(1)).await.unwrap(),
        InboundClaim::Busy
    );
    let last_second = lease_end(t0_plus(0)) - SignedDuration::from_secs(1);
    assert_eq!(
        store.claim_inbound("sms-1", last_second).await.unwrap(),
        InboundClaim::Busy
    );
}

pub async fn a_claim_after_the_lease_takes_over_with_the_recorded_progress(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let scene = Scene::write(store, 751).await;
    record_reply(subject, &scene, "sms-1", None, false, t0_plus(0)).await;

    let taken_at = lease_end(t0_plus(0));
    assert_eq!(
        store.claim_inbound("sms-1", taken_at).await.unwrap(),
        InboundClaim::Mine(InboundProgress { status_set: true })
    );
    // The takeover holds a lease of its own.
    assert_eq!(
        store
            .claim_inbound("sms-1", taken_at + SignedDuration::from_secs(1))
            .await
            .unwrap(),
        InboundClaim::Busy
    );
}

pub async fn a_finished_inbound_sms_is_done(subject: &impl StoreUnderTest) {
    let store = subject.store();
    store.claim_inbound("sms-1", t0_plus(0)).await.unwrap();
    store.finish_inbound("sms-1").await.unwrap();

    assert_eq!(
        store.claim_inbound("sms-1", t0_plus(1)).await.unwrap(),
        InboundClaim::Done
    );
    assert_eq!(
        store
            .claim_inbound(
                "sms-1",
                lease_end(t0_plus(0)) + SignedDuration::from_secs(3600)
            )
            .await
            .unwrap(),
        InboundClaim::Done,
        "a finished SMS stays done after its lease"
    );
}

/// DynamoDB keeps the lease's end in epoch seconds and compares the claim's time in whole
/// seconds too: a lease taken half-way through a second ends at the whole second before.
pub async fn the_lease_is_kept_to_the_second(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let claimed_at = t0_plus(0) + SignedDuration::from_millis(500);
    store.claim_inbound("sms-1", claimed_at).await.unwrap();
    let just_before = t0_plus(0) + INBOUND_CLAIM_LEASE - SignedDuration::from_millis(100);
    assert_eq!(
        store.claim_inbound("sms-1", just_before).await.unwrap(),
        InboundClaim::Busy
    );
    let into_the_last_second = t0_plus(0) + INBOUND_CLAIM_LEASE + SignedDuration::from_millis(200);
    assert_eq!(
        store
            .claim_inbound("sms-1", into_the_last_second)
            .await
            .unwrap(),
        InboundClaim::Mine(InboundProgress::default())
    );
}
