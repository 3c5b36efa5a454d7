//! The sweeper: a send that stopped between publishing its SMS and recording how it went
//! leaves its message `sending` and its key unanswered. Every few minutes the sweeper marks
//! such messages `unconfirmed` and answers their keys, so that a retry never sends again
//! and the outbox says what is known. A send that records its outcome late replaces it.

use std::sync::Arc;

use crate::{
    error::DependencyError,
    model::{AuditEntry, SmsStatus},
    ports::{Clock, StalledSend, StalledSends, StoredResponse},
    send::SendReceipt,
};

/// A message still `sending` this long after its send began is unconfirmed: a send
/// finishes in seconds, and its function times out well before.
pub const UNCONFIRMED_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);

/// Messages marked in one run, at most: the schedule's next run takes the rest.
pub const SWEEP_LIMIT: usize = 100;

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Marked `unconfirmed`, their keys answered.
    pub unconfirmed: usize,
    /// Their send recorded its outcome between the read and the write: left as it said.
    pub finished_meanwhile: usize,
}

pub struct SendSweeper {
    pub store: Arc<dyn StalledSends>,
    pub clock: Arc<dyn Clock>,
}

impl SendSweeper {
    pub async fn sweep(&self) -> Result<Swept, DependencyError> {
        let now = self.clock.now();
        let stalled = self
            .store
            .stalled_sends(now - UNCONFIRMED_AFTER, SWEEP_LIMIT)
            .await?;
        let mut swept = Swept::default();
        for send in &stalled {
            let marked = self
                .store
                .mark_unconfirmed(send, &answer(send), &audit_entry(send, now))
                .await?;
            if marked {
                swept.unconfirmed += 1;
                tracing::warn!(
                    clinic_id = %send.clinic,
                    message_id = %send.message,
                    "send unconfirmed: its SMS may or may not have gone out"
                );
            } else {
                swept.finished_meanwhile += 1;
            }
        }
        Ok(swept)
    }
}

/// The key's answer: the send's (or resend's) own, saying its SMS is unconfirmed.
fn answer(send: &StalledSend) -> StoredResponse {
    let receipt = SendReceipt {
        message_id: send.message.clone(),
        kind: send.kind,
        expires_at: send.expires_at,
        sms: send.sms,
        sms_status: SmsStatus::Unconfirmed,
        // Not kept with a stalled send: the SMS as measured is.
        replacements: Vec::new(),
        language: None,
        language_note: None,
    };
    StoredResponse {
        status: if send.resend { 200 } else { 201 },
        body: serde_json::to_string(&receipt).expect("a receipt serialises"),
    }
}

fn audit_entry(send: &StalledSend, now: jiff::Timestamp) -> AuditEntry {
    AuditEntry {
        message_id: Some(send.message.clone()),
        appointment_id: Some(send.appointment.clone()),
        kind: Some(send.kind),
        ..AuditEntry::new(send.clinic.clone(), now, "send-unconfirmed", "unconfirmed")
    }
}
