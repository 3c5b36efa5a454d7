//! Resending a secure message's link: a new token and SMS to the patient's phone on file,
//! the same content and expiry; the old link then says it was replaced by a newer one.

use crate::{
    caller::Caller,
    error::{DependencyError, DomainError},
    idempotency::IdempotencyKey,
    ids::MessageId,
    link_token::{LinkToken, unlock_url},
    message_actions::{clinic_message, live_content},
    model::{AuditEntry, SmsOutcome, SmsStatus},
    ports::{BeginResend, FinishSend, OutboundSms, ResendOutcome, SendLookup, StoredResponse},
    sms_encoding::measure,
};

use super::{MessageSender, PREPARE_ATTEMPTS, SendReceipt, secure_sms};

impl MessageSender {
    /// `POST /messages/{messageId}/resend`: at most one SMS per idempotency key, like a
    /// send. Another clinic's message is 404; a basic, expired or withdrawn one cannot be
    /// resent (422, naming why); a patient who opted out is refused as at send.
    pub async fn resend(
        &self,
        caller: &Caller,
        id: &MessageId,
        key: &IdempotencyKey,
    ) -> Result<StoredResponse, DomainError> {
        let idempotency_key = key.scoped(&format!("resend#{}", caller.clinic_id));
        let fingerprint = format!("resend|{id}");
        for _ in 0..PREPARE_ATTEMPTS {
            let link = clinic_message(self.messages.as_ref(), &caller.clinic_id, id).await?;
            let token_hash = link.token_hash.clone().ok_or(DomainError::NotSecure)?;
            let now = self.clock.now();
            let records = self
                .store
                .read_for_send(&SendLookup {
                    clinic: &caller.clinic_id,
                    appointment: &link.appointment_id,
                    idempotency_key: Some(&idempotency_key),
                    template: None,
                    chats: &[],
                    now,
                })
                .await?;
            if let Some(earlier) = &records.idempotency_record {
                return self.answer_again(earlier, &fingerprint);
            }
            if link.withdrawn_at.is_some() {
                return Err(DomainError::MessageWithdrawn);
            }
            let current = live_content(self.unlocks.as_ref(), &token_hash, now).await?;
            let patient = records.patient.ok_or(DomainError::NotFound {
                what: "the appointment",
            })?;
            let phone = patient
                .patient
                .phone
                .clone()
                .ok_or(DomainError::NoPhoneOnFile)?;
            if self.sms.is_opted_out(&phone).await? {
                return Err(DomainError::OptedOut);
            }
            let clinic = self.clinics.get(&caller.clinic_id).await?;
            let language = patient.language.unwrap_or(clinic.default_language);
            let token = LinkToken::generate(self.random.as_ref());
            let new_token_hash = token.hash();
            let expires_at = current.record.expires_at;
            let sms = OutboundSms {
                to: phone.clone(),
                from: clinic.sms_number.clone(),
                body: secure_sms(
                    &clinic,
                    &unlock_url(&self.unlock_base_url, &token),
                    expires_at,
                    language,
                ),
            };
            let recipient = self
                .keyring
                .key(&caller.clinic_id)
                .await?
                .number_tag(&phone);
            let begun = self
                .links
                .begin_resend(&BeginResend {
                    idempotency_key: &idempotency_key,
                    fingerprint: &fingerprint,
                    current: &current,
                    new_token_hash: &new_token_hash,
                    recipient: &recipient,
                    sms: measure(&sms.body),
                    at: now,
                })
                .await?;
            match begun {
                ResendOutcome::Begun => {}
                ResendOutcome::OptedOut => return Err(DomainError::OptedOut),
                ResendOutcome::KeyTaken(Some(earlier)) => {
                    return self.answer_again(&earlier, &fingerprint);
                }
                ResendOutcome::KeyTaken(None) => return Err(DomainError::SendInProgress),
                // Withdrawn, resent or tried meanwhile: read it again and decide again.
                ResendOutcome::LinkChanged => continue,
            }
            let outcome = match self.sms.send(&sms).await {
                Ok(receipt) => SmsOutcome::Sent {
                    provider_message_id: receipt.provider_message_id,
                },
                Err(error) => SmsOutcome::Failed { code: error.code },
            };
            let sent = matches!(outcome, SmsOutcome::Sent { .. });
            let receipt = SendReceipt {
                message_id: id.clone(),
                kind: link.kind,
                expires_at: Some(expires_at),
                sms: measure(&sms.body),
                sms_status: SmsStatus::Sent,
                // A resend's SMS is the notice: nothing typed to replace.
                replacements: Vec::new(),
                language: Some(language),
                language_note: None,
            };
            let response = StoredResponse {
                status: 200,
                body: serde_json::to_string(&receipt).expect("a receipt serialises"),
            };
            let audit = AuditEntry {
                route: Some("POST /messages/{messageId}/resend".to_owned()),
                message_id: Some(id.clone()),
                appointment_id: Some(link.appointment_id.clone()),
                patient_id: Some(patient.patient.id.clone()),
                staff_user: Some(caller.user.clone()),
                kind: Some(link.kind),
                ..AuditEntry::new(
                    caller.clinic_id.clone(),
                    now,
                    "resend",
                    if sent { "sent" } else { "failed" },
                )
            };
            // A failed SMS keeps the content under the new link (the old one is closed):
            // staff may resend again.
            let finished = self
                .store
                .finish_send(&FinishSend {
                    idempotency_key: &idempotency_key,
                    clinic: &caller.clinic_id,
                    message: id,
                    outcome: &outcome,
                    response: sent.then_some(&response),
                    delete_content: None,
                    audit: &audit,
                })
                .await;
            if let Err(error) = finished {
                tracing::error!(code = %error.code, message_id = %id, sent, "resend outcome not recorded");
            }
            tracing::info!(clinic_id = %caller.clinic_id, message_id = %id, sent, "message resent");
            if !sent {
                return Err(DomainError::SmsFailed);
            }
            return Ok(response);
        }
        Err(DependencyError::new("store", "BeginResend", "LinkKeptChanging").into())
    }
}
