//! Bulk import for onboarding a clinic: an NDJSON file in the FHIR Bulk Data format (one
//! Patient or Appointment per line) uploaded under the clinic's `imports/` prefix, read a
//! window at a time. Each window's records are written (by the same rules as the FHIR
//! routes) before its checkpoint is stored, so that a run stopped anywhere resumes at the
//! checkpoint and writes nothing twice: a line read again is the same update again.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::Duration,
};

use futures_util::{StreamExt, stream};
use jiff::{SignedDuration, Timestamp};

use crate::{
    clinic_key::ClinicKey,
    clinic_keyring::ClinicKeyring,
    error::DependencyError,
    fhir::{
        PatientReference,
        outcome::{Issue, IssueCode, Severity},
    },
    ids::{ClinicId, ImportId, PatientId},
    patient_keys::MAX_NAME_PREFIX,
    phn::Phn,
    ports::{
        AppointmentSync, BatchSynced, BlobStore, Clock, EmrRecords, ImportCounts, ImportRecord,
        ImportStatus, ImportStore, LineError, PatientSync, PresignedUpload, SyncBatch, Synced,
        patient_write_items,
    },
    random::{self, RandomSource},
};

use super::{Checked, SyncAnswer, appointment_sync, check};

/// The content type of an import file, which its presigned upload requires.
pub const IMPORT_CONTENT_TYPE: &str = "application/fhir+ndjson";
/// How long an import's upload URL works.
pub const IMPORT_UPLOAD_LIFETIME: SignedDuration = SignedDuration::from_mins(15);
/// Bytes read at a time: a line must fit in one read.
pub const IMPORT_READ_BYTES: u64 = 1 << 20;
/// Transactions written at once.
const WRITES_IN_FLIGHT: usize = 8;
/// Items an appointment's write takes for its patient, not known before it is read: the
/// patient and their lookup keys (the appointment's card is in each), at most.
const MOST_ITEMS_PER_PATIENT: usize = 1 + 3 + 2 * MAX_NAME_PREFIX;
/// Items a transaction is filled to; one that turns out larger is split.
const ITEMS_PER_TRANSACTION: usize = 96;

/// Where an import's file is uploaded: `imports/<clinic>/<import>.ndjson`.
pub fn import_object_key(clinic: &ClinicId, id: &ImportId) -> String {
    format!("imports/{clinic}/{id}.ndjson")
}

/// The clinic and import an uploaded file's key names, when it is an import's.
pub fn import_of_object_key(key: &str) -> Option<(ClinicId, ImportId)> {
    let rest = key.strip_prefix("imports/")?.strip_suffix(".ndjson")?;
    let (clinic, id) = rest.split_once('/')?;
    Some((ClinicId::parse(clinic).ok()?, ImportId::parse(id).ok()?))
}

/// Where and how to upload one import's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportUpload {
    pub import_id: ImportId,
    pub upload: PresignedUpload,
    pub expires_at: Timestamp,
}

/// How a run of an import ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportRun {
    /// Every line is read.
    Completed,
    /// Stopped at its time limit; the checkpoint is stored and a next run resumes there.
    Paused,
    /// Another run stored progress first: this one stopped, having written only what that
    /// run writes too.
    Superseded,
    /// The import was already complete: nothing was done.
    AlreadyCompleted,
    /// The file is no import of ours (no such import, or no such file): nothing was done.
    NotAnImport,
}

pub struct EmrImport {
    pub records: Arc<dyn EmrRecords>,
    /// Opens the clinic's key, under which the patients' lookup keys are tags.
    pub keyring: Arc<ClinicKeyring>,
    pub imports: Arc<dyn ImportStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn RandomSource>,
    /// Bytes read at a time ([`IMPORT_READ_BYTES`]; smaller in tests).
    pub read_bytes: u64,
}

/// A record of the file ready to write, with its line.
struct Lined<T> {
    line: u64,
    record: T,
}

/// One patient's records of a window: written in the same transaction.
#[derive(Default)]
struct Group {
    patients: Vec<Lined<PatientSync>>,
    appointments: Vec<Lined<AppointmentSync>>,
}

impl Group {
    /// The items the group's transaction writes when no lookup key moves (one that moves
    /// makes the transaction larger; it is then split).
    fn items(&self, key: &ClinicKey) -> usize {
        let patients = if self.patients.is_empty() {
            MOST_ITEMS_PER_PATIENT
        } else {
            self.patients
                .iter()
                .map(|lined| patient_write_items(key, None, &lined.record.patient))
                .sum()
        };
        patients + self.appointments.len()
    }

    fn lines(&self) -> Vec<u64> {
        self.patients
            .iter()
            .map(|lined| lined.line)
            .chain(self.appointments.iter().map(|lined| lined.line))
            .collect()
    }
}

/// What a window's lines came to.
#[derive(Default)]
struct Outcome {
    counts: ImportCounts,
    errors: Vec<LineError>,
}

impl Outcome {
    fn refuse(&mut self, line: u64, issues: Vec<Issue>) {
        self.counts.lines_refused += 1;
        self.errors.extend(
            issues
                .into_iter()
                .filter(|issue| issue.severity == Severity::Error)
                .map(|issue| LineError {
                    line,
                    code: issue.code,
                    expression: issue.expression.into_iter().next().unwrap_or_default(),
                    diagnostics: issue.diagnostics,
                }),
        );
    }

    fn add(&mut self, other: Outcome) {
        self.counts.add(&other.counts);
        self.errors.extend(other.errors);
    }
}

impl EmrImport {
    /// `POST /fhir/$import-upload`: a new import, and the presigned PUT its file goes to.
    pub async fn start_upload(&self, clinic: &ClinicId) -> Result<ImportUpload, SyncAnswer> {
        let import_id = ImportId::from_random(random::bytes(self.random.as_ref()));
        let now = self.clock.now();
        let record = ImportRecord::new(import_id.clone(), now);
        self.imports
            .create_import(clinic, &record)
            .await
            .map_err(|error| SyncAnswer::failed(&error))?;
        let lifetime = Duration::try_from(IMPORT_UPLOAD_LIFETIME).expect("a positive lifetime");
        let upload = self
            .blobs
            .presign_upload(
                &import_object_key(clinic, &import_id),
                IMPORT_CONTENT_TYPE,
                // The integrator's export: its size is not declared ahead.
                None,
                lifetime,
            )
            .await
            .map_err(|error| SyncAnswer::failed(&error))?;
        tracing::info!(clinic_id = %clinic, import_id = %import_id, "import upload started");
        Ok(ImportUpload {
            import_id,
            upload,
            expires_at: now + IMPORT_UPLOAD_LIFETIME,
        })
    }

    /// `GET /fhir/$import/{id}`: the import's report, for the clinic that started it.
    pub async fn report(&self, clinic: &ClinicId, id: &str) -> Result<ImportRecord, SyncAnswer> {
        let not_found = || {
            SyncAnswer::refused(
                404,
                vec![Issue::error(
                    IssueCode::NotFound,
                    "",
                    "no import with this id was started for this clinic",
                )],
            )
        };
        let id = ImportId::parse(id).map_err(|_| not_found())?;
        match self.imports.get_import(clinic, &id).await {
            Ok(Some(record)) => Ok(record),
            Ok(None) => Err(not_found()),
            Err(error) => Err(SyncAnswer::failed(&error)),
        }
    }

    /// Reads the uploaded file at `object_key` from its checkpoint, a window at a time,
    /// until its end or until `stop_at`. An error leaves the checkpoint where the last
    /// complete window left it: run again, and it resumes there.
    pub async fn run(
        &self,
        object_key: &str,
        stop_at: Timestamp,
    ) -> Result<ImportRun, DependencyError> {
        let Some((clinic, id)) = import_of_object_key(object_key) else {
            return Ok(ImportRun::NotAnImport);
        };
        let Some(mut record) = self.imports.get_import(&clinic, &id).await? else {
            return Ok(ImportRun::NotAnImport);
        };
        if record.status == ImportStatus::Completed {
            return Ok(ImportRun::AlreadyCompleted);
        }
        let key = self.keyring.key(&clinic).await?;
        loop {
            let previous = (record.status, record.checkpoint);
            let offset = record.checkpoint.offset;
            let Some(window) = self
                .blobs
                .read_range(object_key, offset, self.read_bytes)
                .await?
            else {
                return Ok(ImportRun::NotAnImport);
            };
            let at_end = (window.len() as u64) < self.read_bytes;
            let first_line = record.checkpoint.lines + 1;
            let (consumed, lines, outcome) = match whole_lines(&window, at_end) {
                Some(text) => {
                    let lines = split_lines(text);
                    let count = lines.len() as u64;
                    let outcome = self.write_lines(&key, first_line, lines).await?;
                    (text.len() as u64, count, outcome)
                }
                None => {
                    let skipped = self.skip_line(object_key, offset).await?;
                    let mut outcome = Outcome::default();
                    outcome.refuse(
                        first_line,
                        vec![Issue::error(
                            IssueCode::TooCostly,
                            "",
                            format!(
                                "the line is longer than {} bytes: one resource per line, each within that",
                                self.read_bytes
                            ),
                        )],
                    );
                    (skipped, 1, outcome)
                }
            };
            record.checkpoint.offset += consumed;
            record.checkpoint.lines += lines;
            record.counts.add(&outcome.counts);
            record.add_errors(outcome.errors);
            // At the file's end the whole window is read (`whole_lines`).
            let finished = at_end;
            record.status = if finished {
                ImportStatus::Completed
            } else {
                ImportStatus::Running
            };
            record.updated_at = self.clock.now();
            if !self
                .imports
                .save_import_progress(&clinic, &record, previous)
                .await?
            {
                tracing::warn!(clinic_id = %clinic, import_id = %id, "another run of this import stored progress first");
                return Ok(ImportRun::Superseded);
            }
            tracing::info!(
                clinic_id = %clinic,
                import_id = %id,
                lines = record.checkpoint.lines,
                refused = record.counts.lines_refused,
                "import progress"
            );
            if finished {
                return Ok(ImportRun::Completed);
            }
            if self.clock.now() >= stop_at {
                return Ok(ImportRun::Paused);
            }
        }
    }

    /// The bytes from `offset` to just after the next line break (or the file's end): a
    /// line too long to read whole, skipped.
    async fn skip_line(&self, object_key: &str, offset: u64) -> Result<u64, DependencyError> {
        let mut skipped = 0;
        loop {
            let window = self
                .blobs
                .read_range(object_key, offset + skipped, self.read_bytes)
                .await?
                .unwrap_or_default();
            if let Some(at) = window.iter().position(|byte| *byte == b'\n') {
                return Ok(skipped + at as u64 + 1);
            }
            skipped += window.len() as u64;
            if (window.len() as u64) < self.read_bytes {
                return Ok(skipped);
            }
        }
    }

    /// Checks each line, then writes the window's records a patient at a time.
    async fn write_lines(
        &self,
        key: &ClinicKey,
        first_line: u64,
        lines: Vec<&[u8]>,
    ) -> Result<Outcome, DependencyError> {
        let mut outcome = Outcome::default();
        let mut checked = Vec::new();
        for (line, text) in (first_line..).zip(lines) {
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match check_line(text) {
                Ok(record) => checked.push(Lined { line, record }),
                Err(issues) => outcome.refuse(line, issues),
            }
        }
        let window_patients: HashMap<Phn, PatientId> = checked
            .iter()
            .filter_map(|lined| match &lined.record {
                Checked::Patient(update) => {
                    Some((update.patient.phn.clone()?, update.patient.id.clone()))
                }
                Checked::Appointment(_) => None,
            })
            .collect();
        let mut waves: Vec<BTreeMap<PatientId, Group>> = Vec::new();
        for Lined { line, record } in checked {
            match record {
                Checked::Patient(update) => {
                    let id = update.patient.id.clone();
                    let sync = PatientSync {
                        patient: update.patient,
                        language: update.language,
                        order: update.order,
                    };
                    group_in(&mut waves, &id, |group| group.patients.is_empty())
                        .patients
                        .push(Lined { line, record: sync });
                }
                Checked::Appointment(update) => {
                    let patient = match &update.patient {
                        PatientReference::Id(id) => Some(id.clone()),
                        PatientReference::HealthNumber(number) => {
                            match window_patients.get(number) {
                                Some(id) => Some(id.clone()),
                                None => {
                                    self.records.patient_with_health_number(key, number).await?
                                }
                            }
                        }
                        PatientReference::BundleEntry(_) => {
                            outcome.refuse(line, vec![bundle_reference()]);
                            continue;
                        }
                    };
                    let Some(patient) = patient else {
                        outcome.refuse(line, vec![unknown_patient()]);
                        continue;
                    };
                    let sync = appointment_sync(update, patient.clone());
                    let appointment = sync.appointment.id.clone();
                    group_in(&mut waves, &patient, |group| {
                        group
                            .appointments
                            .iter()
                            .all(|other| other.record.appointment.id != appointment)
                    })
                    .appointments
                    .push(Lined { line, record: sync });
                }
            }
        }
        // A record twice in a window is written in a later wave, after its first time.
        for wave in waves {
            let mut written = stream::iter(transactions(key, wave))
                .map(|groups| self.write_groups(key, groups))
                .buffer_unordered(WRITES_IN_FLIGHT);
            while let Some(result) = written.next().await {
                outcome.add(result?);
            }
        }
        outcome.errors.sort_by_key(|error| error.line);
        Ok(outcome)
    }

    /// Writes groups in one transaction: split when they do not fit one, and written
    /// again without an appointment whose patient is unknown.
    async fn write_groups(
        &self,
        key: &ClinicKey,
        groups: Vec<Group>,
    ) -> Result<Outcome, DependencyError> {
        let mut outcome = Outcome::default();
        let mut pending = vec![groups];
        while let Some(mut groups) = pending.pop() {
            let batch = SyncBatch {
                patients: groups
                    .iter()
                    .flat_map(|group| &group.patients)
                    .map(|lined| lined.record.clone())
                    .collect(),
                appointments: groups
                    .iter()
                    .flat_map(|group| &group.appointments)
                    .map(|lined| lined.record.clone())
                    .collect(),
            };
            match self.records.sync_together(key, &batch).await? {
                BatchSynced::Written {
                    patients,
                    appointments,
                } => {
                    for synced in patients {
                        match synced {
                            Synced::Written { .. } => outcome.counts.patients_written += 1,
                            _ => outcome.counts.patients_unchanged += 1,
                        }
                    }
                    for synced in appointments {
                        match synced {
                            Synced::Written { .. } => outcome.counts.appointments_written += 1,
                            _ => outcome.counts.appointments_unchanged += 1,
                        }
                    }
                }
                BatchSynced::NoPatient { appointment } => {
                    let lined = remove_appointment(&mut groups, appointment);
                    outcome.refuse(lined.line, vec![unknown_patient()]);
                    pending.push(groups);
                }
                BatchSynced::TooLarge => match split(groups) {
                    Ok((first, second)) => {
                        pending.push(second);
                        pending.push(first);
                    }
                    Err(group) => {
                        for line in group.lines() {
                            outcome.refuse(line, vec![too_many_changes()]);
                        }
                    }
                },
            }
        }
        Ok(outcome)
    }
}

/// The group of `patient` in the first wave where `fits`, a new wave if none.
fn group_in<'a>(
    waves: &'a mut Vec<BTreeMap<PatientId, Group>>,
    patient: &PatientId,
    fits: impl Fn(&Group) -> bool,
) -> &'a mut Group {
    let wave = waves
        .iter()
        .position(|wave| wave.get(patient).is_none_or(&fits))
        .unwrap_or_else(|| {
            waves.push(BTreeMap::new());
            waves.len() - 1
        });
    waves[wave].entry(patient.clone()).or_default()
}

/// A wave's groups, gathered into transactions of about [`ITEMS_PER_TRANSACTION`] items.
fn transactions(key: &ClinicKey, wave: BTreeMap<PatientId, Group>) -> Vec<Vec<Group>> {
    let mut transactions: Vec<Vec<Group>> = Vec::new();
    let mut items = 0;
    for group in wave.into_values() {
        let size = group.items(key);
        match transactions.last_mut() {
            Some(last) if items + size <= ITEMS_PER_TRANSACTION => {
                items += size;
                last.push(group);
            }
            _ => {
                items = size;
                transactions.push(vec![group]);
            }
        }
    }
    transactions
}

/// Groups in two halves; one group's appointments in two, its patient with the first half
/// (written first). A group that does not split (one record) is returned.
fn split(mut groups: Vec<Group>) -> Result<(Vec<Group>, Vec<Group>), Group> {
    if groups.len() > 1 {
        let second = groups.split_off(groups.len() / 2);
        return Ok((groups, second));
    }
    let mut group = groups.pop().unwrap_or_default();
    let records = group.patients.len() + group.appointments.len();
    if records <= 1 || group.appointments.is_empty() {
        return Err(group);
    }
    let second = Group {
        patients: Vec::new(),
        appointments: group.appointments.split_off(group.appointments.len() / 2),
    };
    Ok((vec![group], vec![second]))
}

/// Takes the batch's `index`th appointment out of its group.
fn remove_appointment(groups: &mut [Group], mut index: usize) -> Lined<AppointmentSync> {
    for group in groups.iter_mut() {
        if index < group.appointments.len() {
            return group.appointments.remove(index);
        }
        index -= group.appointments.len();
    }
    unreachable!("the store names an appointment of the batch")
}

/// The window's complete lines: up to its last line break, or all of it at the file's
/// end; `None` when a full window holds no line break (a line longer than a window).
fn whole_lines(window: &[u8], at_end: bool) -> Option<&[u8]> {
    if at_end {
        return Some(window);
    }
    let last_break = window.iter().rposition(|byte| *byte == b'\n')?;
    Some(&window[..=last_break])
}

/// Lines without their line breaks (`\n` or `\r\n`); a final line break ends the last
/// line rather than starting an empty one.
fn split_lines(text: &[u8]) -> Vec<&[u8]> {
    if text.is_empty() {
        return Vec::new();
    }
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    text.split(|byte| *byte == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .collect()
}

fn check_line(text: &[u8]) -> Result<Checked, Vec<Issue>> {
    let resource: serde_json::Value = serde_json::from_slice(text).map_err(|error| {
        vec![Issue::error(
            IssueCode::Structure,
            "",
            format!(
                "the line is not JSON (column {}): each line is one FHIR R4 Patient or Appointment resource",
                error.column()
            ),
        )]
    })?;
    check(&resource, None).map_err(|refused| {
        refused
            .outcome
            .map(|outcome| outcome.issue)
            .unwrap_or_default()
    })
}

fn unknown_patient() -> Issue {
    Issue::error(
        IssueCode::NotFound,
        "Appointment.participant",
        "the appointment's patient is not known here: import the Patients before their Appointments (an earlier line or file)",
    )
}

fn bundle_reference() -> Issue {
    Issue::error(
        IssueCode::Value,
        "Appointment.participant",
        "an imported appointment names its patient as Patient/<id> or by health number; a bundle entry's fullUrl means nothing outside its bundle",
    )
}

fn too_many_changes() -> Issue {
    Issue::error(
        IssueCode::TooCostly,
        "",
        "this record changes more items than one transaction holds",
    )
}

#[cfg(test)]
mod tests;
