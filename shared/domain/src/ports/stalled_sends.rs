//! Sends that stopped half-way: their message recorded `sending`, their outcome never.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::{
    error::DependencyError,
    idempotency::ScopedIdempotencyKey,
    ids::{AppointmentId, ClinicId, MessageId},
    message_kind::MessageKind,
    model::AuditEntry,
    ports::StoredResponse,
    sms_encoding::SmsMeasure,
};

/// A message still `sending`, with what its send's answer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StalledSend {
    pub clinic: ClinicId,
    pub message: MessageId,
    pub appointment: AppointmentId,
    pub kind: MessageKind,
    pub started_at: Timestamp,
    /// Secure messages only.
    pub expires_at: Option<Timestamp>,
    pub sms: SmsMeasure,
    /// The idempotency key its send claimed: answered, so that a retry never sends again.
    pub request: ScopedIdempotencyKey,
    /// The send was a resend of its link (answered 200, not 201).
    pub resend: bool,
}

#[async_trait]
pub trait StalledSends: Send + Sync {
    /// Messages still `sending` that were recorded before `before`, oldest first, at most
    /// `limit`: one Query on an index that holds only `sending` messages.
    async fn stalled_sends(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<StalledSend>, DependencyError>;
    /// Marks the message `unconfirmed` and answers its key with `response`, with `audit`,
    /// in one write, if it is still `sending` for that send: `false` when its send recorded
    /// an outcome meanwhile (that outcome stands), or a resend began since.
    async fn mark_unconfirmed(
        &self,
        stalled: &StalledSend,
        response: &StoredResponse,
        audit: &AuditEntry,
    ) -> Result<bool, DependencyError>;
}
