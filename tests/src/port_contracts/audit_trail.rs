//! AuditTrail: a clinic's entries in a window, newest first, by patient, user or message,
//! page after page with every entry once.

use domain::{
    ids::{PatientId, StaffUserId},
    model::AuditEntry,
    ports::{AuditFilter, AuditLog, AuditQuery, AuditTrail},
};
use jiff::Timestamp;

use super::{
    StoreUnderTest,
    records::{audit_entry, clinic_id, message_id, t0_plus},
};

fn query(clinic: &str, from: Timestamp, to: Timestamp, filter: AuditFilter) -> AuditQuery {
    AuditQuery {
        clinic: clinic_id(clinic),
        from,
        to,
        filter,
        after: None,
        limit: 100,
    }
}

/// Every entry the query finds, page after page of `limit`.
async fn read_all(subject: &impl StoreUnderTest, mut query: AuditQuery) -> Vec<AuditEntry> {
    let mut entries = Vec::new();
    loop {
        let page = subject.store().audit_page(&query).await.unwrap();
        assert!(page.records.len() <= query.limit);
        entries.extend(page.records.into_iter().map(|record| record.entry));
        match page.next {
            Some(next) => query.after = Some(next),
            None => return entries,
        }
    }
}

fn events(entries: &[AuditEntry]) -> Vec<&str> {
    entries.iter().map(|entry| entry.event.as_str()).collect()
}

fn about(event: &str, at: i64, patient: Option<&str>, user: &str) -> AuditEntry {
    let mut entry = audit_entry(&clinic_id("clinic-a"), t0_plus(at), event, None);
    entry.patient_id = patient.map(|id| PatientId::parse(id).unwrap());
    entry.staff_user = Some(StaffUserId::parse(user).unwrap());
    entry
}

pub async fn a_window_is_read_newest_first_for_its_clinic_only(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let theirs = audit_entry(&clinic_id("clinic-b"), t0_plus(20), "theirs", None);
    for entry in [
        about("before", 5, None, "u-1"),
        about("first", 10, None, "u-1"),
        about("second", 20, None, "u-1"),
        about("last-second", 30, None, "u-1"),
        about("after", 31, None, "u-1"),
        theirs,
    ] {
        store.append(&entry).await.unwrap();
    }
    // `to` includes its whole second.
    let window = query(
        "clinic-a",
        t0_plus(10),
        t0_plus(30) + jiff::SignedDuration::from_millis(1),
        AuditFilter::default(),
    );
    assert_eq!(
        events(&read_all(subject, window).await),
        ["last-second", "second", "first"]
    );
}

pub async fn each_filter_finds_its_entries_and_filters_combine(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let m1 = message_id("m-1");
    let mut sent = about("send", 10, Some("p-1"), "u-1");
    sent.message_id = Some(m1.clone());
    let mut unlocked = audit_entry(&clinic_id("clinic-a"), t0_plus(20), "unlock", Some(&m1));
    unlocked.staff_user = None;
    let entries = [
        sent,
        unlocked,
        about("patients-found", 30, Some("p-1"), "u-2"),
        about("patients-found", 30, Some("p-2"), "u-2"),
        about("appointment-viewed", 40, Some("p-2"), "u-1"),
    ];
    store.append_all(&entries).await.unwrap();
    // Another clinic's entries about the same ids are never read.
    let mut theirs = entries.clone();
    for entry in &mut theirs {
        entry.clinic_id = clinic_id("clinic-b");
    }
    store.append_all(&theirs).await.unwrap();
    let (from, to) = (t0_plus(0), t0_plus(100));
    let read = |filter| read_all(subject, query("clinic-a", from, to, filter));
    let patient = |id: &str| Some(PatientId::parse(id).unwrap());
    let user = |id: &str| Some(StaffUserId::parse(id).unwrap());
    let by_patient = read(AuditFilter {
        patient: patient("p-1"),
        ..AuditFilter::default()
    })
    .await;
    assert_eq!(events(&by_patient), ["patients-found", "send"]);
    let by_user = read(AuditFilter {
        user: user("u-1"),
        ..AuditFilter::default()
    })
    .await;
    assert_eq!(events(&by_user), ["appointment-viewed", "send"]);
    let by_message = read(AuditFilter {
        message: Some(m1.clone()),
        ..AuditFilter::default()
    })
    .await;
    assert_eq!(events(&by_message), ["unlock", "send"]);
    let both = read(AuditFilter {
        patient: patient("p-2"),
        user: user("u-2"),
        message: None,
    })
    .await;
    assert_eq!(both, [entries[3].clone()]);
    let none = read(AuditFilter {
        message: Some(m1),
        user: user("u-2"),
        patient: None,
    })
    .await;
    assert!(none.is_empty());
}

pub async fn pages_hold_every_entry_once(subject: &impl StoreUnderTest) {
    // More than one BatchWriteItem holds (25), with a filter that skips some.
    let entries: Vec<AuditEntry> = (0..30)
        .map(|n| {
            about(
                &format!("read-{n:02}"),
                n,
                Some(if n % 3 == 0 { "p-3" } else { "p-1" }),
                "u-1",
            )
        })
        .collect();
    subject.store().append_all(&entries).await.unwrap();
    let mut all = query("clinic-a", t0_plus(0), t0_plus(100), AuditFilter::default());
    all.limit = 7;
    let read = read_all(subject, all).await;
    let mut expected: Vec<&str> = entries.iter().map(|entry| entry.event.as_str()).collect();
    expected.reverse();
    assert_eq!(events(&read), expected);
    let mut filtered = query(
        "clinic-a",
        t0_plus(0),
        t0_plus(100),
        AuditFilter {
            patient: Some(PatientId::parse("p-3").unwrap()),
            user: Some(StaffUserId::parse("u-1").unwrap()),
            message: None,
        },
    );
    filtered.limit = 4;
    assert_eq!(read_all(subject, filtered).await.len(), 10);
}
