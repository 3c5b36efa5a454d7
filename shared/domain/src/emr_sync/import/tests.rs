//! Bulk imports against the in-memory stores, read in small windows so that every file
//! spans several: counts, refused lines by number, checkpoints and resumption.

use serde_json::json;

use super::*;
use crate::{
    fakes::{CountingRandom, FixedClock, MemoryBlobStore, MemoryStore, test_clinic_key},
    fhir::BC_PHN_SYSTEM,
    ids::AppointmentId,
    ports::{AppointmentStore, DirectoryQuery, MAX_LISTED_LINE_ERRORS, PatientDirectory},
};

fn clinic() -> ClinicId {
    ClinicId::parse("c1").unwrap()
}

fn now() -> Timestamp {
    "2026-12-01T16:00:00Z".parse().unwrap()
}

struct Setup {
    import: EmrImport,
    store: Arc<MemoryStore>,
    blobs: Arc<MemoryBlobStore>,
    clock: Arc<FixedClock>,
}

fn setup(read_bytes: u64) -> Setup {
    let store = Arc::new(MemoryStore::default());
    let blobs = Arc::new(MemoryBlobStore::default());
    let clock = Arc::new(FixedClock::at(now()));
    Setup {
        import: EmrImport {
            records: store.clone(),
            keyring: crate::fakes::test_keyring(&store, &[&clinic()]),
            imports: store.clone(),
            blobs: blobs.clone(),
            clock: clock.clone(),
            random: Arc::new(CountingRandom::default()),
            read_bytes,
        },
        store,
        blobs,
        clock,
    }
}

fn patient(id: &str, phn: &str, family: &str) -> serde_json::Value {
    json!({
        "resourceType": "Patient",
        "id": id,
        "identifier": [{"system": BC_PHN_SYSTEM, "value": phn}],
        "name": [{"family": family, "given": ["Ava"]}],
        "telecom": [{"system": "phone", "value": "604 555 0123", "use": "mobile"}]
    })
}

fn appointment(id: &str, actor: serde_json::Value) -> serde_json::Value {
    json!({
        "resourceType": "Appointment",
        "id": id,
        "status": "booked",
        "start": "2026-12-11T19:15:00Z",
        "participant": [{"actor": actor}, {"actor": {"display": "Dr. Chen"}}]
    })
}

fn by_id(patient: &str) -> serde_json::Value {
    json!({"reference": format!("Patient/{patient}")})
}

fn ndjson(lines: &[serde_json::Value]) -> Vec<u8> {
    lines
        .iter()
        .map(|line| format!("{line}\n"))
        .collect::<String>()
        .into_bytes()
}

impl Setup {
    /// Starts an import and uploads `content` as its file: the file's key.
    async fn upload(&self, content: &[u8]) -> String {
        let started = self.import.start_upload(&clinic()).await.unwrap();
        let key = import_object_key(&clinic(), &started.import_id);
        self.blobs.put(&key, IMPORT_CONTENT_TYPE, content);
        key
    }

    async fn run(&self, key: &str) -> ImportRun {
        let later = self.clock.now() + SignedDuration::from_mins(14);
        self.import.run(key, later).await.unwrap()
    }

    async fn report(&self, key: &str) -> ImportRecord {
        let (clinic, id) = import_of_object_key(key).unwrap();
        self.import.report(&clinic, id.as_str()).await.unwrap()
    }

    async fn appointment_patient(&self, id: &str) -> Option<String> {
        let id = AppointmentId::parse(id).unwrap();
        let found = self.store.get_appointment(&clinic(), &id).await.unwrap();
        found.map(|appointment| appointment.patient_id.to_string())
    }

    /// Whether the lookup keys pointing at `patient` are exactly the keys the stored patient
    /// has: each once, none left over.
    async fn keys_of_stored(&self, patient: &str) -> bool {
        let stored = self
            .store
            .get_patient(&clinic(), &PatientId::parse(patient).unwrap())
            .await
            .unwrap()
            .expect("the patient is stored");
        let stored_keys = crate::patient_keys::lookup_keys(&test_clinic_key(&clinic()), &stored);
        let keys: std::collections::BTreeSet<_> = self
            .store
            .lookup_keys()
            .into_iter()
            .filter(|key| key.sk == patient)
            .collect();
        keys == stored_keys
    }
}

/// Each refused line's number and issue code.
fn refused_lines(report: &ImportRecord) -> Vec<(u64, IssueCode)> {
    report
        .errors
        .iter()
        .map(|error| (error.line, error.code))
        .collect()
}

#[tokio::test]
async fn a_file_is_imported_window_by_window_and_refused_lines_are_reported_by_number() {
    let setup = setup(400);
    let mut content = ndjson(&[
        patient("p1", "9698658215", "Smith"),
        patient("p2", "9890608412", "Tremblay"),
        appointment("a1", by_id("p1")),
    ]);
    content.extend_from_slice(b"{not json: the secret note}\r\n\n");
    content.extend(ndjson(&[
        json!({"resourceType": "Observation", "id": "o1"}),
        appointment(
            "a2",
            json!({"identifier": {"system": BC_PHN_SYSTEM, "value": "9890608412"}}),
        ),
        appointment("a3", by_id("nobody")),
    ]));
    // The last line has no line break.
    content.extend(serde_json::to_vec(&patient("p3", "9567812347", "Roy")).unwrap());
    let key = setup.upload(&content).await;

    assert_eq!(setup.run(&key).await, ImportRun::Completed);

    let report = setup.report(&key).await;
    assert_eq!(report.status, ImportStatus::Completed);
    assert_eq!(report.checkpoint.lines, 9);
    assert_eq!(report.checkpoint.offset, content.len() as u64);
    assert_eq!(
        report.counts,
        ImportCounts {
            patients_written: 3,
            patients_unchanged: 0,
            appointments_written: 2,
            appointments_unchanged: 0,
            lines_refused: 3,
        }
    );
    let refused = refused_lines(&report);
    assert_eq!(
        refused,
        vec![
            (4, IssueCode::Structure),
            (6, IssueCode::NotSupported),
            (8, IssueCode::NotFound),
        ]
    );
    let listed = serde_json::to_string(&report).unwrap();
    assert!(!listed.contains("secret"), "{listed}");
    assert_eq!(setup.appointment_patient("a1").await.as_deref(), Some("p1"));
    assert_eq!(setup.appointment_patient("a2").await.as_deref(), Some("p2"));
    assert!(setup.keys_of_stored("p3").await);
}

#[tokio::test]
async fn a_paused_import_resumes_at_its_checkpoint_and_writes_nothing_twice() {
    let setup = setup(300);
    let lines: Vec<serde_json::Value> = (1..=6)
        .map(|n| patient(&format!("p{n}"), "9698658215", "Smith"))
        .chain([appointment("a1", by_id("p1"))])
        .collect();
    let key = setup.upload(&ndjson(&lines)).await;

    // Its time is up after the first window.
    assert_eq!(
        setup.import.run(&key, now()).await.unwrap(),
        ImportRun::Paused
    );
    let paused = setup.report(&key).await;
    assert_eq!(paused.status, ImportStatus::Running);
    assert!((1..7).contains(&paused.checkpoint.lines), "{paused:?}");
    assert_eq!(paused.counts.patients_written, paused.checkpoint.lines);

    assert_eq!(setup.run(&key).await, ImportRun::Completed);
    let report = setup.report(&key).await;
    assert_eq!(report.checkpoint.lines, 7);
    assert_eq!(report.counts.patients_written, 6);
    assert_eq!(report.counts.appointments_written, 1);
    // The event delivered again finds the import complete.
    assert_eq!(setup.run(&key).await, ImportRun::AlreadyCompleted);
    assert_eq!(setup.report(&key).await, report);
}

#[tokio::test]
async fn the_same_file_imported_twice_leaves_each_record_once() {
    let setup = setup(IMPORT_READ_BYTES);
    let content = ndjson(&[
        patient("p1", "9698658215", "Smith"),
        appointment("a1", by_id("p1")),
        appointment("a2", by_id("p1")),
    ]);
    let first = setup.upload(&content).await;
    let second = setup.upload(&content).await;
    assert_ne!(first, second);
    assert_eq!(setup.run(&first).await, ImportRun::Completed);
    assert_eq!(setup.run(&second).await, ImportRun::Completed);

    assert_eq!(setup.report(&second).await.counts.lines_refused, 0);
    assert!(setup.keys_of_stored("p1").await);
    let cards = setup
        .store
        .get_patient(&clinic(), &PatientId::parse("p1").unwrap())
        .await
        .unwrap();
    assert!(cards.is_some());
    let key = setup.store.lookup_keys().into_iter().next().unwrap();
    let entries = setup
        .store
        .lookup(&DirectoryQuery::all_under(
            &test_clinic_key(&clinic()),
            &key.pk,
            10,
        ))
        .await
        .unwrap()
        .entries;
    assert_eq!(entries.len(), 1);
    let ids: Vec<&str> = entries[0]
        .appointments
        .iter()
        .map(|card| card.id.as_str())
        .collect();
    assert_eq!(ids, ["a1", "a2"]);
}

#[tokio::test]
async fn a_record_twice_in_a_window_is_written_in_file_order() {
    let setup = setup(IMPORT_READ_BYTES);
    let content = ndjson(&[
        patient("p1", "9698658215", "Smith"),
        patient("p1", "9698658215", "Smythe"),
    ]);
    let key = setup.upload(&content).await;
    assert_eq!(setup.run(&key).await, ImportRun::Completed);
    assert_eq!(setup.report(&key).await.counts.patients_written, 2);
    let stored = setup
        .store
        .get_patient(&clinic(), &PatientId::parse("p1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.last_name, "Smythe");
}

#[tokio::test]
async fn a_patient_with_more_appointments_than_a_transaction_holds_is_written_in_parts() {
    let setup = setup(IMPORT_READ_BYTES);
    let lines: Vec<serde_json::Value> = [patient("p1", "9698658215", "Smith")]
        .into_iter()
        .chain((1..=150).map(|n| appointment(&format!("a{n}"), by_id("p1"))))
        .collect();
    let key = setup.upload(&ndjson(&lines)).await;
    assert_eq!(setup.run(&key).await, ImportRun::Completed);
    let report = setup.report(&key).await;
    assert_eq!(report.counts.appointments_written, 150, "{report:?}");
    assert_eq!(report.counts.lines_refused, 0);
    assert_eq!(
        setup.appointment_patient("a150").await.as_deref(),
        Some("p1")
    );
}

#[tokio::test]
async fn a_line_longer_than_a_read_is_refused_and_the_rest_imported() {
    let setup = setup(400);
    let mut long = patient("p1", "9698658215", "Smith");
    long["text"] = json!({"status": "generated", "div": "x".repeat(900)});
    let content = ndjson(&[long, patient("p2", "9890608412", "Tremblay")]);
    let key = setup.upload(&content).await;
    assert_eq!(setup.run(&key).await, ImportRun::Completed);
    let report = setup.report(&key).await;
    assert_eq!(report.counts.patients_written, 1);
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].line, 1);
    assert_eq!(report.errors[0].code, IssueCode::TooCostly);
    assert!(setup.keys_of_stored("p2").await);
}

#[tokio::test]
async fn errors_beyond_the_listed_limit_are_counted() {
    let setup = setup(IMPORT_READ_BYTES);
    let content = "not json\n".repeat(MAX_LISTED_LINE_ERRORS + 5);
    let key = setup.upload(content.as_bytes()).await;
    assert_eq!(setup.run(&key).await, ImportRun::Completed);
    let report = setup.report(&key).await;
    assert_eq!(report.errors.len(), MAX_LISTED_LINE_ERRORS);
    assert_eq!(report.errors_not_listed, 5);
    assert_eq!(
        report.counts.lines_refused,
        MAX_LISTED_LINE_ERRORS as u64 + 5
    );
}

#[tokio::test]
async fn files_that_are_no_import_are_left_alone_and_reports_are_the_clinics_own() {
    let setup = setup(IMPORT_READ_BYTES);
    let key = setup
        .upload(&ndjson(&[patient("p1", "9698658215", "Smith")]))
        .await;
    let (_, id) = import_of_object_key(&key).unwrap();
    for other in [
        "attachments/c1/f.pdf".to_owned(),
        import_object_key(&clinic(), &ImportId::from_random([9; 16])),
        key.replace("/c1/", "/c2/"),
    ] {
        assert_eq!(setup.run(&other).await, ImportRun::NotAnImport, "{other}");
    }
    let other_clinic = ClinicId::parse("c2").unwrap();
    let refused = setup
        .import
        .report(&other_clinic, id.as_str())
        .await
        .unwrap_err();
    assert_eq!(refused.status, 404);
    let refused = setup.import.report(&clinic(), "../x").await.unwrap_err();
    assert_eq!(refused.status, 404);
    assert_eq!(
        setup.report(&key).await.status,
        ImportStatus::AwaitingUpload
    );
}

#[test]
fn an_upload_goes_under_the_clinics_imports_prefix() {
    let id = ImportId::from_random([7; 16]);
    let key = import_object_key(&clinic(), &id);
    assert_eq!(key, format!("imports/c1/{id}.ndjson"));
    assert_eq!(import_of_object_key(&key), Some((clinic(), id)));
    assert_eq!(import_of_object_key("imports/c1/x/y.ndjson"), None);
    assert_eq!(import_of_object_key("imports/c1/y.json"), None);
}

#[tokio::test]
async fn an_appointment_read_before_its_patient_or_naming_a_bundle_entry_is_refused_by_line() {
    let setup = setup(400);
    let content = ndjson(&[
        appointment("a1", by_id("p1")),
        patient("p1", "9698658215", "Smith"),
        appointment(
            "a2",
            json!({"reference": "urn:uuid:0c7e3a0e-6a1f-4d8e-9b2a-1f5e4c3b2a10"}),
        ),
        appointment("a3", by_id("p1")),
    ]);
    let key = setup.upload(&content).await;
    assert_eq!(setup.run(&key).await, ImportRun::Completed);
    let report = setup.report(&key).await;
    let refused = refused_lines(&report);
    assert_eq!(
        refused,
        vec![(1, IssueCode::NotFound), (3, IssueCode::Value)],
        "{report:?}"
    );
    assert_eq!(setup.appointment_patient("a1").await, None);
    assert_eq!(setup.appointment_patient("a3").await.as_deref(), Some("p1"));
}
