//! Secure messages' links once staff act on them: withdrawn, or replaced by a newer link.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::{
    clinic_key::NumberTag,
    error::DependencyError,
    idempotency::ScopedIdempotencyKey,
    ids::{ClinicId, MessageId},
    language::Language,
    link_token::TokenHash,
    model::AuditEntry,
    ports::{IdempotencyRecord, UnlockState},
    sms_encoding::SmsMeasure,
};

/// Why a link no longer opens its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkClosed {
    /// The clinic withdrew the message.
    Withdrawn,
    /// The clinic sent the patient a newer link to the same message.
    Replaced,
}

impl LinkClosed {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkClosed::Withdrawn => "withdrawn",
            LinkClosed::Replaced => "replaced",
        }
    }
}

/// A closed link, as the unlock page finds it (kept until the message would have expired).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedLink {
    pub clinic_id: ClinicId,
    pub message_id: MessageId,
    pub why: LinkClosed,
    /// The patient's language when the message was sent: its page's.
    pub language: Language,
}

/// A secure message withdrawn by staff.
#[derive(Debug, Clone, Copy)]
pub struct Withdrawal<'a> {
    pub clinic: &'a ClinicId,
    pub message: &'a MessageId,
    /// Its current link's key: its content is deleted, its link closed.
    pub token_hash: &'a TokenHash,
    pub at: Timestamp,
    /// When the message would have expired: the closed link is kept until then.
    pub expires_at: Timestamp,
    /// The patient's language when it was sent, kept with the closed link for its page.
    pub language: Language,
    pub audit: &'a AuditEntry,
}

/// The write before a resent link's SMS goes out.
#[derive(Debug, Clone, Copy)]
pub struct BeginResend<'a> {
    pub idempotency_key: &'a ScopedIdempotencyKey,
    pub fingerprint: &'a str,
    /// The message's content and counters under its current link, as read.
    pub current: &'a UnlockState,
    /// The new link's key: the content moves there, with its counters.
    pub new_token_hash: &'a TokenHash,
    /// The patient's number now, as the clinic's keys hold it.
    pub recipient: &'a NumberTag,
    /// The new SMS, measured.
    pub sms: SmsMeasure,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResendOutcome {
    /// The key is this request's, the content under the new link, the old link closed as
    /// replaced and the message `sending` again: publish.
    Begun,
    /// The patient told the clinic STOP: nothing was written.
    OptedOut,
    /// Another request took the key first: nothing was written. Its record as read after.
    KeyTaken(Option<IdempotencyRecord>),
    /// The message changed since it was read (withdrawn, resent, an attempt on its link):
    /// nothing was written; read it again.
    LinkChanged,
}

#[async_trait]
pub trait MessageLinks: Send + Sync {
    /// Why the link of `token_hash` was closed; `None` when it never was. The marker is kept
    /// until the message would have expired (TTL deletes it, late).
    async fn closed_link(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<ClosedLink>, DependencyError>;
    /// In one write, if the message's link is still `token_hash`: the message's log entry
    /// marked withdrawn at `at`, its content deleted, its link closed as withdrawn, and the
    /// audit entry. `false` (and nothing written) when it was withdrawn already, its link
    /// changed (a resend), or there is no such message.
    async fn withdraw(&self, withdrawal: &Withdrawal<'_>) -> Result<bool, DependencyError>;
    /// Atomically: claims the key, checks the recipient has not opted out of the clinic's
    /// texts, and, if the message and its link are as read, moves its content and counters
    /// to the new link, closes the old one as replaced and marks the message `sending` to
    /// `recipient` (its delivery cleared: the new SMS's is to come). The SMS's outcome is
    /// then written by [`SendStore::finish_send`](crate::ports::SendStore::finish_send).
    async fn begin_resend(
        &self,
        resend: &BeginResend<'_>,
    ) -> Result<ResendOutcome, DependencyError>;
}
