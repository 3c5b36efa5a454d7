//! The domain's view of the outside world: one trait per outside thing. AWS adapters and
//! in-memory fakes implement them.

mod audit_trail;
mod blob;
mod clinic_admin;
mod clock;
mod emr_records;
mod imports;
mod keys;
mod message_links;
mod send_store;
mod sms;
mod stalled_sends;
mod store;
mod worklist;

pub use audit_trail::{
    AuditFilter, AuditPage, AuditPartition, AuditQuery, AuditRecord, AuditTrail,
};
pub use blob::{BlobInfo, BlobStore, PresignedUpload};
pub use clinic_admin::{
    ClinicAdmin, ClinicCreated, LibraryItem, LibraryKind, LibraryWrite, SettingsChange,
};
pub use clock::Clock;
pub use emr_records::{
    AppointmentSync, AppointmentWrite, BatchPlan, BatchSynced, EmrRecords, MAX_TRANSACTION_ITEMS,
    PatientSync, PatientWrite, StoredAppointment, StoredPatient, SyncBatch, Synced,
    patient_write_items,
};
pub use imports::{
    ImportCheckpoint, ImportCounts, ImportRecord, ImportStatus, ImportStore, LineError,
    MAX_LISTED_LINE_ERRORS,
};
pub use keys::{DataKey, EncryptionContext, KeyService, PlainKey};
pub use message_links::{
    BeginResend, ClosedLink, LinkClosed, MessageLinks, ResendOutcome, Withdrawal,
};
pub use send_store::{
    BeginOutcome, BeginSend, FinishSend, IdempotencyRecord, PatientRecord, SendLookup, SendRecords,
    SendStore, StoredResponse,
};
pub use sms::{OutboundSms, SmsReceipt, SmsSender};
pub use stalled_sends::{StalledSend, StalledSends};
pub use store::{
    AppointmentStore, AuditLog, AutoReplyClaim, ClinicStore, DeliveryRecorded, DirectoryEntry,
    DirectoryPage, DirectoryQuery, InboundClaim, InboundLog, InboundProgress, MessageLink,
    MessageMatch, MessageStore, Opening, OutboxEntry, OutboxKey, OutboxPage, OutboxQuery,
    PatientDirectory, RECENT_MESSAGES_READ, UnclearRecorded, UnclearReply, UnlockState,
    UnlockStore,
};
pub use worklist::{
    Cleared, UnclearWorklist, WorklistEntry, WorklistKey, WorklistPage, WorklistQuery,
};
