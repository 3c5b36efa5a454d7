//! Stores of clinic records and of appointments with their patients.

use async_trait::async_trait;

use crate::{
    clinic_key::NumberTag,
    clinic_key::{ClinicKey, ClinicKeyError},
    error::DependencyError,
    ids::{AppointmentId, ChatId, ClinicId, IntegrationClientId, MessageId, PatientId, TemplateId},
    language::Language,
    model::{
        Appointment, AppointmentCard, AuditEntry, Chat, Clinic, Patient, SentMessage, Template,
    },
    patient_keys::{LookupKey, open_entry},
    phone::PhoneNumber,
};

#[async_trait]
pub trait ClinicStore: Send + Sync {
    async fn put_clinic(&self, clinic: &Clinic) -> Result<(), DependencyError>;
    async fn get_clinic(&self, id: &ClinicId) -> Result<Option<Clinic>, DependencyError>;
    /// The clinic whose SMS origination number this is (replies arrive there).
    async fn find_clinic_by_sms_number(
        &self,
        number: &PhoneNumber,
    ) -> Result<Option<Clinic>, DependencyError>;
    async fn put_template(
        &self,
        clinic: &ClinicId,
        template: &Template,
    ) -> Result<(), DependencyError>;
    async fn list_templates(&self, clinic: &ClinicId) -> Result<Vec<Template>, DependencyError>;
    async fn put_chat(&self, clinic: &ClinicId, chat: &Chat) -> Result<(), DependencyError>;
    async fn list_chats(&self, clinic: &ClinicId) -> Result<Vec<Chat>, DependencyError>;
    async fn get_template(
        &self,
        clinic: &ClinicId,
        id: &TemplateId,
    ) -> Result<Option<Template>, DependencyError>;
    async fn get_chat(
        &self,
        clinic: &ClinicId,
        id: &ChatId,
    ) -> Result<Option<Chat>, DependencyError>;
    /// Whether the patient at `number` (its tag: numbers are never keys in clear) told this
    /// clinic STOP (and not START since).
    async fn is_opted_out(
        &self,
        clinic: &ClinicId,
        number: &NumberTag,
    ) -> Result<bool, DependencyError>;
    async fn set_opted_out(
        &self,
        clinic: &ClinicId,
        number: &NumberTag,
        opted_out: bool,
    ) -> Result<(), DependencyError>;
    /// Takes the clinic's `reply` auto-reply to `number` for the inbound SMS `inbound_id`
    /// at `now`, unless one was taken for another inbound SMS after `since`: `true` when
    /// this one may be sent (again, for a retry of the same inbound SMS). One conditional
    /// write, so racing replies take it once.
    async fn claim_auto_reply(
        &self,
        clinic: &ClinicId,
        number: &NumberTag,
        reply: crate::inbound_sms::AutoReply,
        inbound_id: &str,
        now: jiff::Timestamp,
        since: jiff::Timestamp,
    ) -> Result<bool, DependencyError>;
    /// Gives back the auto-reply taken for `inbound_id` (its SMS could not be sent), so
    /// that the next reply may have it; nothing if another took it since.
    async fn release_auto_reply(
        &self,
        clinic: &ClinicId,
        number: &NumberTag,
        reply: crate::inbound_sms::AutoReply,
        inbound_id: &str,
    ) -> Result<(), DependencyError>;
    /// Binds the EMR integration's machine client to its clinic.
    async fn put_integration_client(
        &self,
        client: &IntegrationClientId,
        clinic: &ClinicId,
    ) -> Result<(), DependencyError>;
    /// The clinic an integration client writes for: one key lookup.
    async fn clinic_of_integration_client(
        &self,
        client: &IntegrationClientId,
    ) -> Result<Option<ClinicId>, DependencyError>;
    /// Keeps `wrapped` as the clinic's root key (`clinic_key`) unless it has one: `false`
    /// then. A root key is never replaced: every tag made under it would be lost.
    async fn put_root_key(
        &self,
        clinic: &ClinicId,
        wrapped: &[u8],
    ) -> Result<bool, DependencyError>;
    /// The clinic's root key, wrapped by KMS; `None` for a clinic that has none.
    async fn wrapped_root_key(&self, clinic: &ClinicId)
    -> Result<Option<Vec<u8>>, DependencyError>;
}

#[async_trait]
pub trait AppointmentStore: Send + Sync {
    /// Writes the appointment, its patient and the patient's lookup keys (tags of PHN,
    /// phone, email and name prefixes under the clinic's `key`) in one transaction, removing lookup keys the patient no longer has.
    /// Each lookup key carries the patient and their appointment cards, so that a search
    /// is one Query.
    async fn upsert_appointment_with_patient(
        &self,
        key: &ClinicKey,
        patient: &Patient,
        appointment: &Appointment,
    ) -> Result<(), DependencyError>;
    async fn get_patient(
        &self,
        clinic: &ClinicId,
        id: &PatientId,
    ) -> Result<Option<Patient>, DependencyError>;
    async fn get_appointment(
        &self,
        clinic: &ClinicId,
        id: &AppointmentId,
    ) -> Result<Option<Appointment>, DependencyError>;
    /// Shows an existing appointment `Unclear` after a patient's reply at `replied_at`, its
    /// EMR status kept beside it, and puts it on the worklist (or moves it up to this
    /// reply); `false` when there is no such appointment.
    async fn mark_unclear(
        &self,
        clinic: &ClinicId,
        id: &AppointmentId,
        replied_at: jiff::Timestamp,
    ) -> Result<bool, DependencyError>;
}

/// A patient under one of their lookup keys, as search reads it.
#[derive(Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// The lookup key's sort key: where a later page starts.
    pub sort_key: String,
    pub patient: Patient,
    pub appointments: Vec<AppointmentCard>,
}

impl DirectoryEntry {
    /// The entry of the lookup item `lookup`, opened with the clinic's `key`.
    pub fn open(key: &ClinicKey, lookup: LookupKey, sealed: &[u8]) -> Result<Self, ClinicKeyError> {
        let copy = open_entry(key, &lookup, sealed)?;
        Ok(DirectoryEntry {
            sort_key: lookup.sk,
            patient: copy.patient,
            appointments: copy.appointments,
        })
    }
}

impl std::fmt::Debug for DirectoryEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The sort key holds names: show the patient's (redacting) Debug only.
        f.debug_struct("DirectoryEntry")
            .field("patient", &self.patient)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirectoryPage {
    pub entries: Vec<DirectoryEntry>,
    /// No entry under this key is left after this page.
    pub exhausted: bool,
    /// Items the store read for this page (the cost of a search).
    pub items_read: usize,
}

/// The patients' lookup keys.
#[async_trait]
pub trait PatientDirectory: Send + Sync {
    /// The entries `query` asks for, in sort-key order. One Query.
    async fn lookup(&self, query: &DirectoryQuery<'_>) -> Result<DirectoryPage, DependencyError>;
}

/// Up to `limit` entries under `lookup_key`, after the sort key `after` when given, opened
/// with the clinic's `key` (entries are sealed under it). Keys are tags of PHI: `Debug`
/// shows the limit only.
#[derive(Clone, Copy)]
pub struct DirectoryQuery<'a> {
    pub key: &'a ClinicKey,
    pub lookup_key: &'a str,
    pub after: Option<&'a str>,
    pub limit: usize,
}

impl<'a> DirectoryQuery<'a> {
    /// Every entry under `lookup_key` from the first, up to `limit`.
    pub fn all_under(key: &'a ClinicKey, lookup_key: &'a str, limit: usize) -> DirectoryQuery<'a> {
        DirectoryQuery {
            key,
            lookup_key,
            after: None,
            limit,
        }
    }
}

impl std::fmt::Debug for DirectoryQuery<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryQuery")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

/// Messages sent to patients.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// The latest [`RECENT_MESSAGES_READ`] messages sent to `number` by the clinic at or
    /// after `since`, newest first: one Query on the `by_recipient` index.
    async fn recent_messages_to(
        &self,
        clinic: &ClinicId,
        number: &NumberTag,
        since: jiff::Timestamp,
    ) -> Result<Vec<MessageMatch>, DependencyError>;
    /// What a staff action on the message needs: its kind and, for a secure one, the hash
    /// of its link token (the key of its content). `None`: no such message of the clinic.
    async fn message_link(
        &self,
        clinic: &ClinicId,
        message: &MessageId,
    ) -> Result<Option<MessageLink>, DependencyError>;
    /// The messages sent for an appointment, newest first.
    async fn messages_for_appointment(
        &self,
        clinic: &ClinicId,
        appointment: &AppointmentId,
    ) -> Result<Vec<SentMessage>, DependencyError>;
    /// A page of the clinic's messages sent between `from` and `to` (both included), newest
    /// first, after `after`: one Query on the `by_clinic` index.
    async fn clinic_messages(
        &self,
        clinic: &ClinicId,
        query: &OutboxQuery,
    ) -> Result<OutboxPage, DependencyError>;
    /// Records a carrier's receipt on the message SNS sent as its provider message id, unless
    /// a receipt of the same or a later time is there (or the message now waits on another
    /// SMS: a resend): one index Query, one conditional write.
    async fn record_delivery(
        &self,
        receipt: &crate::delivery_receipt::DeliveryReceipt,
    ) -> Result<DeliveryRecorded, DependencyError>;
}

/// The append-only audit trail.
#[async_trait]
pub trait AuditLog: Send + Sync {
    async fn append(&self, entry: &AuditEntry) -> Result<(), DependencyError>;

    /// Appends every entry (a staff read of many patients is one entry per patient), all
    /// before the read is answered: a read that cannot be audited is not answered.
    async fn append_all(&self, entries: &[AuditEntry]) -> Result<(), DependencyError>;

    /// Appends, and logs (ids only) when it cannot: what was audited already happened, so
    /// a failed audit write does not undo or fail it.
    async fn record(&self, entry: &AuditEntry) {
        if let Err(error) = self.append(entry).await {
            tracing::error!(
                code = %error.code,
                event = %entry.event,
                message_id = ?entry.message_id.as_ref().map(|id| id.as_str()),
                "audit record not written"
            );
        }
    }
}

/// A secure message as its unlock link finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnlockState {
    pub record: crate::model::UnlockRecord,
    pub attempts: crate::unlock_attempts::Attempts,
}

/// Secure messages' unlock state, keyed by the hash of their link token.
#[async_trait]
pub trait UnlockStore: Send + Sync {
    async fn get_unlock(
        &self,
        token_hash: &crate::link_token::TokenHash,
    ) -> Result<Option<UnlockState>, DependencyError>;
    /// Writes the counters if they are still at `read_version`; `false` when another
    /// attempt wrote first (read again and decide again).
    async fn save_attempts(
        &self,
        token_hash: &crate::link_token::TokenHash,
        read_version: u64,
        attempts: &crate::unlock_attempts::Attempts,
    ) -> Result<bool, DependencyError>;
    /// Keeps the lock wrong PHNs put on the message's link in its log entry (for its status
    /// line), or clears it (`None`).
    async fn record_lock(
        &self,
        clinic: &ClinicId,
        message: &MessageId,
        lock: Option<crate::model::MessageLock>,
    ) -> Result<(), DependencyError>;
    /// A right PHN, in one write: the counters if they are still at `read_version`, when the
    /// patient first opened the message (later openings change nothing) and the audit
    /// entry. `false` when another attempt wrote first: nothing is written (read again and
    /// decide again). An error, with nothing written, when the message is not there.
    async fn record_opening(&self, opening: &Opening<'_>) -> Result<bool, DependencyError>;
}

/// A right PHN typed on a message's unlock page: what `UnlockStore::record_opening` writes.
#[derive(Debug, Clone, Copy)]
pub struct Opening<'a> {
    pub token_hash: &'a crate::link_token::TokenHash,
    pub read_version: u64,
    pub attempts: &'a crate::unlock_attempts::Attempts,
    pub clinic: &'a ClinicId,
    pub message: &'a MessageId,
    pub at: jiff::Timestamp,
    pub audit: &'a AuditEntry,
}

/// A message as a staff action on it finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageLink {
    pub kind: crate::message_kind::MessageKind,
    pub appointment_id: AppointmentId,
    /// Secure messages: the key of their current unlock item.
    pub token_hash: Option<crate::link_token::TokenHash>,
    /// Secure messages: when their content expires.
    pub expires_at: Option<jiff::Timestamp>,
    pub withdrawn_at: Option<jiff::Timestamp>,
    /// Secure messages: the object keys of their files.
    pub attachment_keys: Vec<String>,
    /// The patient's language when it was sent.
    pub language: Language,
}

/// Where a message sits in its clinic's outbox: its time, then its id, as text that sorts
/// in that order (`<time>#<id>`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OutboxKey(String);

impl OutboxKey {
    pub fn new(sent_at: jiff::Timestamp, message: &MessageId) -> OutboxKey {
        OutboxKey(format!(
            "{}#{message}",
            crate::model::sortable_timestamp(sent_at)
        ))
    }

    /// From its text; `None` when the text is not a key.
    pub fn from_stored(text: &str) -> Option<OutboxKey> {
        let (at, id) = text.split_once('#')?;
        Some(OutboxKey::new(
            at.parse().ok()?,
            &MessageId::parse(id).ok()?,
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The sortable time and the message id.
    pub fn parts(&self) -> (&str, &str) {
        self.0.split_once('#').expect("a key holds its time and id")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxQuery {
    pub from: jiff::Timestamp,
    pub to: jiff::Timestamp,
    pub after: Option<OutboxKey>,
    pub limit: usize,
}

/// A message as the outbox lists it, with the appointment it was sent for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub appointment_id: AppointmentId,
    pub message: SentMessage,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxPage {
    pub entries: Vec<OutboxEntry>,
    /// Set when more messages may follow: the last one read.
    pub more_after: Option<OutboxKey>,
}

/// What a carrier's receipt changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryRecorded {
    Recorded,
    /// A receipt as late or later is there already (a duplicate, or one out of order), or
    /// the message was resent since.
    Superseded,
    /// No message of ours was sent as that SNS message id.
    UnknownMessage,
}

/// How many of a number's latest messages a reply is matched against: far more than a
/// clinic sends one patient within the match window.
pub const RECENT_MESSAGES_READ: usize = 20;

/// A message a reply may answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMatch {
    pub message_id: MessageId,
    pub appointment_id: AppointmentId,
    /// The SNS message id of its SMS (the latest, if resent), once SNS took it.
    pub sent_as: Option<String>,
    /// The patient's language when it was sent: the auto-reply's.
    pub language: Language,
}

/// How far handling one inbound SMS got: kept so that a retry after a crash does what is
/// left, once. A sent auto-reply needs no mark: the SMS's finish, the write after it,
/// makes any retry a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InboundProgress {
    /// The reply's one write is done: status, audit entry and the auto-reply's claim.
    pub status_set: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundClaim {
    /// This delivery handles it, from `progress` on.
    Mine(InboundProgress),
    /// Handled already: a duplicate delivery.
    Done,
    /// Another delivery is handling it right now.
    Busy,
}

/// Inbound SMS by their id, for at-least-once delivery.
#[async_trait]
pub trait InboundLog: Send + Sync {
    /// Takes the inbound SMS for this delivery. A claim that its holder left (it crashed)
    /// is taken over after [`INBOUND_CLAIM_LEASE`](crate::inbound_sms::INBOUND_CLAIM_LEASE).
    async fn claim_inbound(
        &self,
        id: &str,
        now: jiff::Timestamp,
    ) -> Result<InboundClaim, DependencyError>;
    async fn finish_inbound(&self, id: &str) -> Result<(), DependencyError>;
    /// A reply to a message, in one write: its appointment `Unclear` (moved up the worklist
    /// if it was already), the day's auto-reply to the number claimed for this inbound SMS
    /// when asked (unless the clinic's STOP list has the number or another inbound SMS took
    /// it after `since`), the SMS's progress (`status_set`) and the audit entry. A write
    /// whose condition fails is left out and the rest written. An error, with nothing
    /// written, when the SMS was never claimed.
    async fn record_unclear(
        &self,
        reply: &UnclearReply<'_>,
    ) -> Result<UnclearRecorded, DependencyError>;
}

/// What [`InboundLog::record_unclear`] writes.
#[derive(Debug, Clone, Copy)]
pub struct UnclearReply<'a> {
    pub inbound_id: &'a str,
    pub clinic: &'a ClinicId,
    pub appointment: &'a AppointmentId,
    pub number: &'a crate::clinic_key::NumberTag,
    /// The auto-reply to claim; `None` claims none.
    pub auto_reply: Option<crate::inbound_sms::AutoReply>,
    pub at: jiff::Timestamp,
    /// An auto-reply to the number taken after this is the day's.
    pub since: jiff::Timestamp,
    pub audit: &'a AuditEntry,
}

/// What [`InboundLog::record_unclear`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnclearRecorded {
    /// `false`: the appointment is gone (deleted after the message went).
    pub status_set: bool,
    pub auto_reply: AutoReplyClaim,
}

/// Whether an auto-reply may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoReplyClaim {
    /// Taken for this inbound SMS: send it.
    Claimed,
    /// The clinic's STOP list has the number.
    OptedOut,
    /// One went to the number within the interval.
    TooSoon,
    /// None was asked for.
    NotAsked,
}
