//! InboundLog: an inbound SMS is handled by one delivery at a time, taken over after the
//! lease when its holder stopped, and done once finished.

use domain::{
    inbound_sms::INBOUND_CLAIM_LEASE,
    ports::{InboundClaim, InboundLog, InboundProgress},
};
use jiff::{SignedDuration, Timestamp};

use super::{StoreUnderTest, records::t0_plus};

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
    store.claim_inbound("sms-1", t0_plus(0)).await.unwrap();
    let progress = InboundProgress {
        status_set: true,
        reply_sent: false,
    };
    store.record_progress("sms-1", progress).await.unwrap();

    let taken_at = lease_end(t0_plus(0));
    assert_eq!(
        store.claim_inbound("sms-1", taken_at).await.unwrap(),
        InboundClaim::Mine(progress)
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
    store
        .record_progress(
            "sms-1",
            InboundProgress {
                status_set: true,
                reply_sent: true,
            },
        )
        .await
        .unwrap();
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
