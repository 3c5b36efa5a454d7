//! What one send reads and writes, grouped so that each step is one round trip to the store:
//! the reads before, one atomic write before the SMS is published, one atomic write after.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::{
    error::DependencyError,
    idempotency::ScopedIdempotencyKey,
    ids::{AppointmentId, ChatId, ClinicId, MessageId, PatientId, TemplateId},
    language::Language,
    link_token::TokenHash,
    model::{Appointment, AuditEntry, Chat, NewMessage, Patient, SmsOutcome, Template},
};

/// A stored answer to an idempotent request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

/// What an earlier request with the same idempotency key left (kept for
/// [`IDEMPOTENCY_WINDOW`](crate::idempotency::IDEMPOTENCY_WINDOW)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Which request the key was used for.
    pub fingerprint: String,
    pub started_at: Timestamp,
    /// Its answer, once it has one.
    pub response: Option<StoredResponse>,
}

/// A patient as stored, with the version every change of the patient bumps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientRecord {
    pub patient: Patient,
    pub version: u64,
    /// The language the EMR says the patient prefers, when it says one (en or fr).
    pub language: Option<Language>,
}

/// The records a send reads before deciding anything.
#[derive(Debug, Clone, Copy)]
pub struct SendLookup<'a> {
    pub clinic: &'a ClinicId,
    pub appointment: &'a AppointmentId,
    /// `None` for a preview, which has no key.
    pub idempotency_key: Option<&'a ScopedIdempotencyKey>,
    pub template: Option<&'a TemplateId>,
    pub chats: &'a [ChatId],
    /// A request record that expired (TTL deletes late) reads as absent.
    pub now: Timestamp,
}

/// What the store holds of them; missing ones are `None` (or absent from `chats`).
#[derive(Debug, Clone, Default)]
pub struct SendRecords {
    pub appointment: Option<Appointment>,
    /// The appointment's patient: possibly the copy the appointment keeps, which
    /// `begin_send` checks is still current.
    pub patient: Option<PatientRecord>,
    /// What an earlier request with the same idempotency key left.
    pub idempotency_record: Option<IdempotencyRecord>,
    pub template: Option<Template>,
    pub chats: Vec<Chat>,
}

/// The write before the SMS goes out.
#[derive(Debug, Clone, Copy)]
pub struct BeginSend<'a> {
    pub idempotency_key: &'a ScopedIdempotencyKey,
    pub fingerprint: &'a str,
    /// Recorded as `Sending`, with its unlock record when secure.
    pub message: &'a NewMessage,
    /// The version of the patient the message was written for.
    pub patient_version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeginOutcome {
    /// The key is this request's and the message is recorded: publish.
    Begun,
    /// The patient told the clinic STOP: nothing was written.
    OptedOut,
    /// The patient changed since the version the message was written for (a new phone,
    /// say): nothing was written; read the patient again.
    PatientChanged,
    /// Another request took the key first: nothing was written. Its record as read after.
    KeyTaken(Option<IdempotencyRecord>),
}

/// The write after SNS answered.
#[derive(Debug, Clone, Copy)]
pub struct FinishSend<'a> {
    pub idempotency_key: &'a ScopedIdempotencyKey,
    pub clinic: &'a ClinicId,
    pub message: &'a MessageId,
    pub outcome: &'a SmsOutcome,
    /// The key's answer; `None` gives the key back so that a retry can send.
    pub response: Option<&'a StoredResponse>,
    /// A secure message whose SMS failed: its content, deleted now (no link reached the
    /// patient).
    pub delete_content: Option<&'a TokenHash>,
    pub audit: &'a AuditEntry,
}

#[async_trait]
pub trait SendStore: Send + Sync {
    /// The appointment with its patient, the key's record, the template and the chats.
    async fn read_for_send(&self, lookup: &SendLookup<'_>) -> Result<SendRecords, DependencyError>;
    /// The patient as stored now.
    async fn patient_record(
        &self,
        clinic: &ClinicId,
        patient: &PatientId,
    ) -> Result<Option<PatientRecord>, DependencyError>;
    /// Atomically: claims the key (of concurrent claims exactly one wins), checks that the
    /// recipient has not opted out of the clinic's texts and that the patient is still at
    /// `patient_version`, and records the message.
    async fn begin_send(&self, begin: &BeginSend<'_>) -> Result<BeginOutcome, DependencyError>;
    /// Atomically: the SMS's outcome (over `sending`, or `unconfirmed` when the sweeper
    /// came first: a known outcome wins), the key's answer or release, the content to
    /// delete and the audit entry.
    async fn finish_send(&self, finish: &FinishSend<'_>) -> Result<(), DependencyError>;
}
