//! Bench (not a test): the EMR's bulk import against the local AWS emulator. A Patient file
//! and an Appointment file (1.5 appointments per patient), as a FHIR Bulk Data export has
//! them, are each imported in one run: duration, patients per second, and AWS requests by
//! operation and per 1,000 patients. Then the Patient file again, stopped at its time limit
//! after every window, resumed run after run: how many runs, and that each patient is
//! written once. Then both files again into a clinic that already holds many patients
//! (seeded straight into the emulator's tables): whether the figures hold at that size.
//! Run with `tests/bench`.
//!
//! Usage: bench-import [PATIENTS [CLINIC]]   (default 1000 100000: the files' patients, and
//! the patients the clinic holds before the last import; 0 skips it)

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use aws::{dynamodb::DynamoStore, wiring::OnAws};
use domain::{
    appointment_status::AppointmentStatus,
    email::Email,
    emr_sync::import::{EmrImport, ImportRun, import_object_key},
    ids::{AppointmentId, ClinicId, PatientId},
    model::{Appointment, Patient},
    phn::Phn,
    phone::PhoneNumber,
    ports::ImportRecord,
};
use integration_tests::{
    aws_request_counts::{OperationCounts, RequestRecorder},
    emulator_load::EmulatorLoad,
    fixtures::{
        demo::demo_clinic_record,
        emr::{BC_PHN_SYSTEM, first_bc_phns},
    },
};
use jiff::{SignedDuration, Timestamp};
use local_stack::LocalStack;
use serde_json::json;

/// Runs the resumption bench takes at least: its window is a tenth of the file.
const RESUMED_RUNS: u64 = 10;
/// Transactions an import writes at once (`WRITES_IN_FLIGHT` in the import).
const IN_FLIGHT: f64 = 8.0;
const ASSUMED_TRANSACTION: Duration = Duration::from_millis(60);
const ASSUMED_BATCH_GET: Duration = Duration::from_millis(15);

/// A Patient file of one patient per PHN.
fn patients_file(phns: &[Phn]) -> Vec<u8> {
    let mut file = String::new();
    for (n, phn) in phns.iter().enumerate() {
        let patient = json!({
            "resourceType": "Patient",
            "id": format!("bulk-{n}"),
            "meta": {"versionId": "1", "lastUpdated": "2026-11-30T17:00:00Z"},
            "identifier": [{"system": BC_PHN_SYSTEM, "value": phn.as_str()}],
            "name": [{"use": "official", "family": format!("Family{n}"), "given": [format!("Given{}", n % 997)]}],
            "birthDate": "1980-04-02",
            "telecom": [
                {"system": "phone", "value": format!("+1604{:07}", 2_000_000 + n), "use": "mobile"},
                {"system": "email", "value": format!("patient{n}@bulk.example")}
            ],
            "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en"}]}, "preferred": true}]
        });
        file.push_str(&patient.to_string());
        file.push('\n');
    }
    file.into_bytes()
}

/// 1.5 appointments per patient: one each, and a second for every other patient.
fn appointments_file(count: usize) -> Vec<u8> {
    let start = Timestamp::now() + SignedDuration::from_hours(24 * 7);
    let mut file = String::new();
    for n in 0..count {
        for second in 0..(1 + usize::from(n.is_multiple_of(2))) {
            let appointment = json!({
                "resourceType": "Appointment",
                "id": format!("bulk-a-{n}-{second}"),
                "meta": {"versionId": "1", "lastUpdated": "2026-11-30T17:00:00Z"},
                "status": "booked",
                "start": (start + SignedDuration::from_mins(15 * n as i64)).to_string(),
                "participant": [
                    {"actor": {"reference": format!("Patient/bulk-{n}")}},
                    {"actor": {"reference": "Practitioner/dr-bulk", "display": "Dr. Bulk"}}
                ]
            });
            file.push_str(&appointment.to_string());
            file.push('\n');
        }
    }
    file.into_bytes()
}

/// A patient the clinic holds before the import at scale, with 1.5 appointments on average.
fn held_patient(n: usize, phn: &Phn, now: Timestamp) -> (Patient, Vec<Appointment>) {
    let id = PatientId::parse(&format!("held-{n}")).unwrap();
    let appointments = (0..1 + usize::from(n.is_multiple_of(2)))
        .map(|second| Appointment {
            id: AppointmentId::parse(&format!("held-a-{n}-{second}")).unwrap(),
            patient_id: id.clone(),
            starts_at: now + SignedDuration::from_hours(24 * (1 + (n + 7 * second) as i64 % 300)),
            provider_name: "Dr. Held".into(),
            status: AppointmentStatus::Booked,
        })
        .collect();
    let patient = Patient {
        id,
        phn: Some(phn.clone()),
        first_name: format!("Given{}", n % 997),
        last_name: format!("Held{n}"),
        date_of_birth: None,
        phone: Some(PhoneNumber::parse(&format!("+1778{:07}", 2_000_000 + n)).unwrap()),
        email: Some(Email::parse(&format!("held{n}@bench.example")).unwrap()),
    };
    (patient, appointments)
}

struct Measured {
    /// The patients the clinic held before the import.
    held: usize,
    file: &'static str,
    lines: u64,
    duration: Duration,
    runs: usize,
    report: ImportRecord,
    requests: OperationCounts,
}

impl Measured {
    fn per_second(&self) -> f64 {
        self.lines as f64 / self.duration.as_secs_f64()
    }
}

/// Uploads `content` as a new import of the clinic and runs the import until it completes,
/// each run stopping at `stop_at(now)`.
async fn import_file(
    stack: &LocalStack,
    clinic: &ClinicId,
    import: &EmrImport,
    content: Vec<u8>,
    stop_at: impl Fn(Timestamp) -> Timestamp,
) -> Result<(ImportRecord, usize, Duration)> {
    let started = import
        .start_upload(clinic)
        .await
        .map_err(|answer| anyhow::anyhow!("start: {answer:?}"))?;
    let key = import_object_key(clinic, &started.import_id);
    stack
        .clients
        .s3()
        .put_object()
        .bucket(&stack.config.attachments_bucket)
        .key(&key)
        .content_type("application/fhir+ndjson")
        .body(content.into())
        .send()
        .await
        .context("uploading the file")?;
    let begun = Instant::now();
    let mut runs = 0;
    loop {
        runs += 1;
        match import.run(&key, stop_at(Timestamp::now())).await? {
            ImportRun::Completed => break,
            ImportRun::Paused => continue,
            other => anyhow::bail!("the import ended as {other:?}"),
        }
    }
    let duration = begun.elapsed();
    let report = import
        .imports
        .get_import(clinic, &started.import_id)
        .await?
        .context("the report")?;
    Ok((report, runs, duration))
}

/// Imports the Patient file, then the Appointment file, into the clinic: each in one run,
/// with the AWS requests it made.
async fn import_both(
    stack: &LocalStack,
    clinic: &ClinicId,
    recorder: &RequestRecorder,
    phns: &[Phn],
    held: usize,
) -> Result<Vec<Measured>> {
    let import = EmrImport::on_aws(&stack.config, &stack.clients);
    let far = |now: Timestamp| now + SignedDuration::from_mins(14);
    let mut rows = Vec::new();
    for (file, content) in [
        ("Patient.ndjson", patients_file(phns)),
        ("Appointment.ndjson", appointments_file(phns.len())),
    ] {
        eprintln!(
            "importing {file} ({} bytes) into a clinic of {held} patients",
            content.len()
        );
        recorder.restart().await?;
        let (report, runs, duration) = import_file(stack, clinic, &import, content, far).await?;
        recorder.stop().await?;
        let requests = recorder.counts().await?;
        ensure!(
            report.counts.lines_refused == 0,
            "{file}: {:?}",
            report.errors.first()
        );
        rows.push(Measured {
            held,
            file,
            lines: report.checkpoint.lines,
            duration,
            runs,
            report,
            requests,
        });
    }
    Ok(rows)
}

/// Patients per second (with their appointments) and AWS requests per 1,000 patients, over
/// both files.
fn both_files(rows: &[&Measured], patients: usize) -> (Duration, f64, f64) {
    let total: Duration = rows.iter().map(|row| row.duration).sum();
    let requests: usize = rows.iter().map(|row| row.requests.total()).sum();
    (
        total,
        patients as f64 / total.as_secs_f64(),
        requests as f64 * 1000.0 / patients as f64,
    )
}

fn gib(kib: u64) -> f64 {
    kib as f64 / (1024.0 * 1024.0)
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let patients = args.next().transpose()?.unwrap_or(1_000);
    let held = args.next().transpose()?.unwrap_or(100_000);
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .map_err(|_| anyhow::anyhow!("run through tests/bench"))?;
    let phns = first_bc_phns(patients + held);
    let (file_phns, held_phns) = phns.split_at(patients);
    let stack = LocalStack::create(&endpoint, "benchimport-", "https://unlock.bench").await?;
    let clinic = demo_clinic_record();
    stack.add_clinic(&clinic).await?;
    let recorder = RequestRecorder::new(&endpoint);
    let mut rows = import_both(&stack, &clinic.id, &recorder, file_phns, 0).await?;

    // The Patient file again, every run out of time after its first window.
    eprintln!("resuming Patient.ndjson window by window");
    let resumed_file = patients_file(file_phns);
    let resumed_window = (resumed_file.len() as u64).div_ceil(RESUMED_RUNS).max(4096);
    let small_windows = EmrImport {
        read_bytes: resumed_window,
        ..EmrImport::on_aws(&stack.config, &stack.clients)
    };
    let (resumed, resumed_runs, resumed_duration) =
        import_file(&stack, &clinic.id, &small_windows, resumed_file, |now| now).await?;
    ensure!(
        resumed.counts.patients_written == patients as u64
            && resumed.checkpoint.lines == patients as u64,
        "a resumed import wrote each patient once: {:?}",
        resumed.counts
    );

    // Both files again, into the same clinic on new tables that already hold `held` patients.
    let mut seeded = None;
    if held > 0 {
        let stack =
            LocalStack::create(&endpoint, "benchimportheld-", "https://unlock.bench").await?;
        stack.add_clinic(&clinic).await?;
        let key = stack.clinic_key(&clinic.id).await?;
        eprintln!("seeding the clinic with {held} patients");
        let loader = EmulatorLoad::new(&endpoint);
        let store = DynamoStore::new(stack.clients.dynamodb(), stack.config.tables.clone());
        let (phns, now) = (held_phns.to_vec(), Timestamp::now());
        let held_records = move |n: usize| held_patient(n, &phns[n], now);
        seeded = Some(
            loader
                .seed_patients(&store, &key, held, held_records)
                .await?,
        );
        rows.extend(import_both(&stack, &clinic.id, &recorder, file_phns, held).await?);
    }

    println!("## Bulk import (FHIR NDJSON): throughput and AWS requests\n");
    println!(
        "{patients} patients and {} appointments, one file each, read in windows of 1 MiB and \
         written in transactions of up to 96 items, 8 at a time, into a clinic that held no \
         patient, then into one that held {held}.\n",
        rows[1].lines
    );
    println!(
        "| clinic held | file | lines | runs | duration | lines per second | AWS requests | per 1,000 patients | by operation |"
    );
    println!("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for row in &rows {
        println!(
            "| {} | {} | {} | {} | {:.1} s | {:.0} | {} | {:.0} | {} |",
            row.held,
            row.file,
            row.lines,
            row.runs,
            row.duration.as_secs_f64(),
            row.per_second(),
            row.requests.total(),
            row.requests.total() as f64 * 1000.0 / patients as f64,
            row.requests,
        );
    }
    let empty: Vec<&Measured> = rows.iter().filter(|row| row.held == 0).collect();
    let (total, per_second, per_thousand) = both_files(&empty, patients);
    println!(
        "\n- Both files into the empty clinic: {:.1} s, {per_second:.0} patients per second \
         (with their appointments), {per_thousand:.0} AWS requests per 1,000 patients.",
        total.as_secs_f64(),
    );
    if let Some(seeded) = &seeded {
        let full: Vec<&Measured> = rows.iter().filter(|row| row.held == held).collect();
        let (held_total, held_per_second, held_per_thousand) = both_files(&full, patients);
        println!(
            "- Both files into the clinic of {held} patients (seeded in {:.0} s: {} items put \
             straight into the emulator's tables, whose peak memory was then {:.1} GiB): \
             {:.1} s, {held_per_second:.0} patients per second, {held_per_thousand:.0} AWS \
             requests per 1,000 patients.",
            seeded.duration.as_secs_f64(),
            seeded.items,
            gib(seeded.emulator_peak_kib),
            held_total.as_secs_f64(),
        );
    }
    let at_scale = |operation: &str| {
        empty
            .iter()
            .map(|row| row.requests.of(operation))
            .sum::<usize>()
            * 100_000
            / patients
    };
    let (transactions, reads) = (
        at_scale("DynamoDB.TransactWriteItems"),
        at_scale("DynamoDB.BatchGetItem"),
    );
    // Assumed DynamoDB latencies (not measured here): what a well-placed Lambda sees.
    let assumed_minutes = (transactions as f64 * ASSUMED_TRANSACTION.as_secs_f64()
        + reads as f64 * ASSUMED_BATCH_GET.as_secs_f64())
        / IN_FLIGHT
        / 60.0;
    println!(
        "- 100,000 patients (150,000 appointments): {:.0} AWS requests, of them {transactions} \
         TransactWriteItems and {reads} BatchGetItem (scaled from the requests per 1,000 \
         above). A full import of 100,000 is not run here: on the emulator it would take \
         about {:.0} min (extrapolated linearly from the empty clinic's duration; the rows \
         above do not grow with the clinic), as moto spends CPU on every item and request, one \
         request at a time; that says nothing of DynamoDB's. Assuming {} ms per transaction \
         and {} ms per BatchGetItem on DynamoDB, {IN_FLIGHT} at a time, about \
         {assumed_minutes:.0} min: one 15-minute run, and a run out of time resumes at its \
         checkpoint (below).",
        per_thousand * 100.0,
        total.as_secs_f64() * 100_000.0 / patients as f64 / 60.0,
        ASSUMED_TRANSACTION.as_millis(),
        ASSUMED_BATCH_GET.as_millis(),
    );
    println!(
        "- Resumption: the Patient file again, each run out of time after one window of {} KiB: \
         {} runs in {:.1} s, each resuming at the last checkpoint; {} patients written once \
         each ({} written, {} unchanged, {} refused).",
        resumed_window / 1024,
        resumed_runs,
        resumed_duration.as_secs_f64(),
        patients,
        resumed.counts.patients_written,
        resumed.counts.patients_unchanged,
        resumed.counts.lines_refused,
    );
    for row in &rows {
        ensure!(
            row.report.counts.lines_refused == 0,
            "{} refused lines",
            row.file
        );
    }
    Ok(())
}
