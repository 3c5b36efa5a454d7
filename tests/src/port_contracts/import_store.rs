//! ImportStore: each bulk import's checkpoint and report, each clinic's own, its progress
//! saved only over the progress it was read at.

use domain::{
    fhir::outcome::IssueCode,
    ids::ImportId,
    ports::{
        ImportCheckpoint, ImportRecord, ImportStatus, ImportStore, LineError,
        MAX_LISTED_LINE_ERRORS,
    },
};

use super::{StoreUnderTest, records::clinic_id};

fn import(n: u8) -> ImportRecord {
    ImportRecord::new(
        ImportId::from_random([n; 16]),
        "2026-12-01T16:00:00.123456789Z".parse().unwrap(),
    )
}

pub async fn an_import_reads_back_as_created_and_its_id_is_taken_once(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let (a, b) = (clinic_id("clinic-a"), clinic_id("clinic-b"));
    let first = import(1);
    store.create_import(&a, &first).await.unwrap();
    assert_eq!(
        store.get_import(&a, &first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.get_import(&b, &first.id).await.unwrap(), None);
    assert_eq!(store.get_import(&a, &import(2).id).await.unwrap(), None);
    assert!(store.create_import(&a, &first).await.is_err());
}

pub async fn progress_is_saved_only_over_the_progress_it_was_read_at(
    subject: &impl StoreUnderTest,
) {
    let store = subject.store();
    let clinic = clinic_id("clinic-a");
    let created = import(1);
    store.create_import(&clinic, &created).await.unwrap();
    let read_at = (created.status, created.checkpoint);

    let mut progressed = created.clone();
    progressed.status = ImportStatus::Running;
    progressed.checkpoint = ImportCheckpoint {
        offset: 4096,
        lines: 12,
    };
    progressed.counts.patients_written = 11;
    progressed.counts.lines_refused = 1;
    progressed.add_errors(vec![LineError {
        line: 7,
        code: IssueCode::Structure,
        expression: String::new(),
        diagnostics: "the line is not JSON (column 2)".into(),
    }]);
    assert!(
        store
            .save_import_progress(&clinic, &progressed, read_at)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_import(&clinic, &created.id).await.unwrap(),
        Some(progressed.clone())
    );

    // A second run that read the import before the first saved: refused, nothing written.
    let mut late = created.clone();
    late.status = ImportStatus::Completed;
    assert!(
        !store
            .save_import_progress(&clinic, &late, read_at)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_import(&clinic, &created.id).await.unwrap(),
        Some(progressed.clone())
    );
    // Another import's progress is never saved over one that is not there.
    assert!(
        !store
            .save_import_progress(&clinic, &import(3), read_at)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_import(&clinic, &import(3).id).await.unwrap(),
        None
    );
}

pub async fn a_report_listing_the_most_refusals_is_stored(subject: &impl StoreUnderTest) {
    let store = subject.store();
    let clinic = clinic_id("clinic-a");
    let created = import(1);
    store.create_import(&clinic, &created).await.unwrap();
    let mut full = created.clone();
    full.status = ImportStatus::Completed;
    // Longer than any reason the import gives.
    let diagnostics = "an element of this line breaks a rule; ".repeat(8);
    full.add_errors(
        (1..=MAX_LISTED_LINE_ERRORS as u64 + 1)
            .map(|line| LineError {
                line: 1_000_000 + line,
                code: IssueCode::Structure,
                expression: "Appointment.participant".into(),
                diagnostics: diagnostics.clone(),
            })
            .collect(),
    );
    assert_eq!(full.errors_not_listed, 1);
    assert!(
        store
            .save_import_progress(&clinic, &full, (created.status, created.checkpoint))
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_import(&clinic, &created.id).await.unwrap(),
        Some(full)
    );
}
