//! AuditLog: an append-only trail per clinic; an entry never overwrites another.

use domain::{model::AuditEntry, ports::AuditLog};

use super::{
    StoreUnderTest,
    records::{audit_entry, clinic_id, message_id, t0_plus},
};

fn sorted(mut entries: Vec<AuditEntry>) -> Vec<AuditEntry> {
    entries.sort_by(|a, b| (a.at, &a.event).cmp(&(b.at, &b.event)));
    entries
}

pub async fn appended_entries_are_kept_in_their_clinics_trail(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let (a, b) = (clinic_id("clinic-a"), clinic_id("clinic-b"));
    let m1 = message_id("m-1");
    let sent = audit_entry(&a, t0_plus(10), "sent", Some(&m1));
    // Same second, same message, another event: a separate entry.
    let opened = audit_entry(&a, t0_plus(10), "opened", Some(&m1));
    let mut read = audit_entry(&a, t0_plus(20), "patient_read", None);
    read.reference = Some("p-ava".into());
    let theirs = audit_entry(&b, t0_plus(10), "sent", Some(&m1));
    for entry in [&sent, &opened, &read, &theirs] {
        store.append(entry).await.unwrap();
    }

    assert_eq!(
        sorted(subject.audit_trail(&a).await),
        sorted(vec![sent, opened, read])
    );
    assert_eq!(subject.audit_trail(&b).await, [theirs]);
}

pub async fn a_recorded_entry_is_appended(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let a = clinic_id("clinic-a");
    let entry = audit_entry(&a, t0_plus(10), "wrong_phn", Some(&message_id("m-1")));
    store.record(&entry).await;
    assert_eq!(subject.audit_trail(&a).await, [entry]);
}

/// The trail is append-only: entries alike to the second (two wrong PHNs typed within
/// one second), even identical ones, are all kept, and none replaces another.
pub async fn audit_entries_alike_to_the_second_are_all_kept(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let a = clinic_id("clinic-a");
    let m1 = message_id("m-1");
    let first = audit_entry(&a, t0_plus(10), "unlock", Some(&m1));
    let mut same_second = first.clone();
    same_second.at = t0_plus(10) + jiff::SignedDuration::from_millis(400);
    same_second.outcome = "locked".into();
    for entry in [&first, &first, &same_second] {
        store.append(entry).await.unwrap();
    }
    assert_eq!(
        sorted(subject.audit_trail(&a).await),
        sorted(vec![first.clone(), first, same_second])
    );
}
