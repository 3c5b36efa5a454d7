//! The bulk imports of a clinic's records: each import's progress through its NDJSON file
//! (a checkpoint a resumed run starts from) and its report.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{
    error::DependencyError,
    fhir::outcome::IssueCode,
    ids::{ClinicId, ImportId},
};

/// Where an import stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportStatus {
    /// The upload URL was handed out; no file has arrived yet.
    AwaitingUpload,
    /// The file arrived and is being read; the checkpoint says how far.
    Running,
    /// Every line of the file was read.
    Completed,
}

/// How far into the file an import has read: every line before `offset` is written or
/// refused, and counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportCheckpoint {
    /// Bytes of the file read.
    pub offset: u64,
    /// Lines of the file read.
    pub lines: u64,
}

/// What became of the lines read so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportCounts {
    pub patients_written: u64,
    /// Patients whose stored record is newer: acknowledged and ignored.
    pub patients_unchanged: u64,
    pub appointments_written: u64,
    pub appointments_unchanged: u64,
    /// Lines refused, each listed in the report's errors (up to its limit).
    pub lines_refused: u64,
}

impl ImportCounts {
    pub fn add(&mut self, other: &ImportCounts) {
        self.patients_written += other.patients_written;
        self.patients_unchanged += other.patients_unchanged;
        self.appointments_written += other.appointments_written;
        self.appointments_unchanged += other.appointments_unchanged;
        self.lines_refused += other.lines_refused;
    }
}

/// Why one line was refused: its number and the reason, never its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineError {
    /// The line's number in the file, from 1.
    pub line: u64,
    /// The FHIR issue code, e.g. `structure`, `value`, `not-found`.
    pub code: IssueCode,
    /// The element at fault, when one is.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub expression: String,
    pub diagnostics: String,
}

/// The most refusals a report lists (a line may have several); beyond them it counts. A
/// full list keeps the import's item well within DynamoDB's 400 KB.
pub const MAX_LISTED_LINE_ERRORS: usize = 500;

/// One import and its report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportRecord {
    pub id: ImportId,
    pub status: ImportStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub checkpoint: ImportCheckpoint,
    pub counts: ImportCounts,
    /// The first [`MAX_LISTED_LINE_ERRORS`] refusals, by line number.
    pub errors: Vec<LineError>,
    /// Refusals beyond those listed.
    pub errors_not_listed: u64,
}

impl ImportRecord {
    pub fn new(id: ImportId, now: Timestamp) -> ImportRecord {
        ImportRecord {
            id,
            status: ImportStatus::AwaitingUpload,
            created_at: now,
            updated_at: now,
            checkpoint: ImportCheckpoint::default(),
            counts: ImportCounts::default(),
            errors: Vec::new(),
            errors_not_listed: 0,
        }
    }

    /// Adds refused lines to the report: listed up to its limit, counted beyond it.
    pub fn add_errors(&mut self, errors: Vec<LineError>) {
        for error in errors {
            if self.errors.len() < MAX_LISTED_LINE_ERRORS {
                self.errors.push(error);
            } else {
                self.errors_not_listed += 1;
            }
        }
    }
}

#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Stores a new import; an id already taken is an error.
    async fn create_import(
        &self,
        clinic: &ClinicId,
        record: &ImportRecord,
    ) -> Result<(), DependencyError>;
    async fn get_import(
        &self,
        clinic: &ClinicId,
        id: &ImportId,
    ) -> Result<Option<ImportRecord>, DependencyError>;
    /// Stores the import's progress if what is stored is still at `previous` (with the
    /// same status): `false` when another run moved it first, and nothing was written.
    async fn save_import_progress(
        &self,
        clinic: &ClinicId,
        record: &ImportRecord,
        previous: (ImportStatus, ImportCheckpoint),
    ) -> Result<bool, DependencyError>;
}
