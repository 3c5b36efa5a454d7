//! Sending a basic or secure message for an appointment (seed steps 4–6): the rules of each
//! kind, the secure content sealed, one SMS per idempotency key, and a record that never
//! says "sent" unless SNS took the SMS.

mod compose;
mod draft;
mod preview;
mod request;
mod resend;
pub mod sweeper;
mod upload;

pub use compose::{PreparedSend, SecureLock, Sending, basic_sms, compose, secure_sms};
pub use draft::{Draft, check};
pub use preview::{MessagePreview, Ucs2Character};
pub use request::{AttachmentRef, MAX_CHATS, SendRequest};
pub use upload::UploadTicket;

use std::sync::Arc;

use futures_util::future::{join, join_all, try_join};
use serde::{Deserialize, Serialize};

use crate::{
    attachments::attachment_object_key,
    caller::Caller,
    clinic_cache::ClinicCache,
    clinic_keyring::ClinicKeyring,
    error::{DependencyError, DomainError},
    idempotency::{IdempotencyKey, ScopedIdempotencyKey},
    ids::{AppointmentId, MessageId},
    language::Language,
    link_token::{LinkToken, unlock_url},
    message_kind::MessageKind,
    model::{AuditEntry, SmsOutcome, SmsStatus},
    ports::{
        BeginOutcome, BeginSend, BlobStore, ClinicStore, Clock, FinishSend, IdempotencyRecord,
        KeyService, MessageLinks, MessageStore, SendLookup, SendRecords, SendStore, SmsSender,
        StoredResponse, UnlockStore,
    },
    random::{self, RandomSource},
    secure_content::{AttachedFile, MessageKey, SecureContent},
    sms_encoding::SmsMeasure,
    sms_text::Replacement,
};

/// A send still claimed this long after it started stopped half-way (its function ended).
pub const SEND_STALLED_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_mins(2);

/// What the dashboard is told about a sent message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendReceipt {
    pub message_id: MessageId,
    pub kind: MessageKind,
    /// Secure messages only.
    pub expires_at: Option<jiff::Timestamp>,
    pub sms: SmsMeasure,
    /// `sent`; `unconfirmed` when the send stopped before it knew, and the sweeper
    /// answered its key (the outbox then tells what the carrier said).
    pub sms_status: SmsStatus,
    /// The characters replaced to keep a basic SMS GSM-7 (curly quotes, dashes, special
    /// spaces, the ellipsis); empty when none were.
    #[serde(default)]
    pub replacements: Vec<Replacement>,
    /// The patient's language (the EMR's, else the clinic's default): the secure notice is
    /// in it, and a template's text when it has one in it. `None` in the sweeper's answer
    /// for a send that stopped half-way.
    #[serde(default)]
    pub language: Option<Language>,
    /// Set when the template had no text in the patient's language and the other's was sent.
    #[serde(default)]
    pub language_note: Option<String>,
}

/// Everything sending talks to.
pub struct MessageSender {
    pub clinics: Arc<ClinicCache>,
    pub store: Arc<dyn SendStore>,
    /// The clinics' STOP lists, read by a preview (a send checks them in its write).
    pub opt_outs: Arc<dyn ClinicStore>,
    /// Resends: the message's link, its content, and the new link's write.
    pub messages: Arc<dyn MessageStore>,
    pub unlocks: Arc<dyn UnlockStore>,
    pub links: Arc<dyn MessageLinks>,
    pub sms: Arc<dyn SmsSender>,
    pub blobs: Arc<dyn BlobStore>,
    pub keys: Arc<dyn KeyService>,
    /// The clinics' keys: the patient's number is recorded and checked by its tag.
    pub keyring: Arc<ClinicKeyring>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn RandomSource>,
    pub unlock_base_url: String,
    /// The project key attachments must be encrypted with (id or ARN).
    pub content_key_id: String,
}

/// The failure code a message not sent because the SMS service has its number opted out
/// is recorded with.
pub const OPTED_OUT_AT_SMS_SERVICE: &str = "OptedOut";

/// A secure message's inputs that need no records: its data key and its checked files.
struct SecureInputs {
    key: MessageKey,
    attachments: Vec<AttachedFile>,
}

/// How often a send is prepared again because the patient changed under it: the first try
/// uses the appointment's copy of the patient, the next the patient as stored.
const PREPARE_ATTEMPTS: usize = 3;

impl MessageSender {
    /// Sends at most once per idempotency key: a replay answers what the first answered, a
    /// failed SMS gives the key back for a retry. The store is read once before anything is
    /// decided, written once before the SMS is published and once after.
    ///
    /// Calls that do not need one another's answers run together, so that a send waits for
    /// four AWS round trips: the read (with a secure message's data key and uploaded files
    /// beside it), the first write (with the SMS service's opt-out check beside it), the
    /// SMS, the second write.
    pub async fn send(
        &self,
        caller: &Caller,
        appointment: &AppointmentId,
        key: &IdempotencyKey,
        request: &SendRequest,
    ) -> Result<StoredResponse, DomainError> {
        request.validate()?;
        let idempotency_key = key.scoped(&format!("send#{}", caller.clinic_id));
        let fingerprint = request.fingerprint(appointment);
        let message_id = MessageId::from_random(random::bytes(self.random.as_ref()));
        let (records, secure_inputs) = join(
            self.store.read_for_send(&SendLookup {
                clinic: &caller.clinic_id,
                appointment,
                idempotency_key: Some(&idempotency_key),
                template: request.template_id.as_ref(),
                chats: &request.chat_ids,
                now: self.clock.now(),
            }),
            self.secure_inputs(caller, request, &message_id),
        )
        .await;
        let mut records = records?;
        if let Some(earlier) = &records.idempotency_record {
            return self.answer_again(earlier, &fingerprint);
        }
        // A rule the draft breaks is told before a file's problem.
        let mut secure_inputs = Some(secure_inputs);
        for _ in 0..PREPARE_ATTEMPTS {
            let secure = match secure_inputs.take() {
                Some(inputs) => inputs,
                // Prepared again: a data key seals one content only.
                None => self.secure_inputs(caller, request, &message_id).await,
            };
            let prepared = self
                .prepare(caller, request, &records, &message_id, secure)
                .await?;
            let (opted_out, begun) = join(
                self.sms.is_opted_out(&prepared.sms.to),
                self.store.begin_send(&BeginSend {
                    idempotency_key: &idempotency_key,
                    fingerprint: &fingerprint,
                    message: &prepared.message,
                    patient_version: prepared.patient_version,
                }),
            )
            .await;
            match begun? {
                BeginOutcome::Begun => {
                    return match opted_out {
                        Ok(false) => self.publish(caller, &idempotency_key, prepared).await,
                        // SNS has the number opted out of the whole account: the message is
                        // recorded as not sent and its key given back.
                        Ok(true) => {
                            let not_sent = SmsOutcome::Failed {
                                code: OPTED_OUT_AT_SMS_SERVICE.to_owned(),
                            };
                            // Recorded as a failed SMS; the answer says why.
                            let _failed = self
                                .record_outcome(caller, &idempotency_key, prepared, not_sent)
                                .await;
                            Err(DomainError::OptedOut)
                        }
                        Err(error) => {
                            let not_sent = SmsOutcome::Failed {
                                code: error.code.clone(),
                            };
                            let _failed = self
                                .record_outcome(caller, &idempotency_key, prepared, not_sent)
                                .await;
                            Err(error.into())
                        }
                    };
                }
                BeginOutcome::OptedOut => return Err(DomainError::OptedOut),
                BeginOutcome::KeyTaken(Some(earlier)) => {
                    return self.answer_again(&earlier, &fingerprint);
                }
                // Taken and given back since (that send failed): the caller retries, as
                // SendInProgress tells them to, and the retry may go ahead.
                BeginOutcome::KeyTaken(None) => return Err(DomainError::SendInProgress),
                BeginOutcome::PatientChanged => {
                    records.patient = self
                        .store
                        .patient_record(&caller.clinic_id, &prepared.message.patient_id)
                        .await?;
                }
            }
        }
        Err(DependencyError::new("store", "BeginSend", "PatientKeptChanging").into())
    }

    /// The answer to a key used before: the same answer, or why there is none.
    fn answer_again(
        &self,
        earlier: &IdempotencyRecord,
        fingerprint: &str,
    ) -> Result<StoredResponse, DomainError> {
        if earlier.fingerprint != fingerprint {
            return Err(DomainError::IdempotencyKeyReused);
        }
        match &earlier.response {
            Some(response) => Ok(response.clone()),
            None if self.clock.now().duration_since(earlier.started_at) > SEND_STALLED_AFTER => {
                Err(DomainError::SendUnfinished)
            }
            None => Err(DomainError::SendInProgress),
        }
    }

    /// A secure message's data key and its files as uploaded, checked; `None` for a basic
    /// one. Neither needs the appointment, so they are fetched beside its read.
    async fn secure_inputs(
        &self,
        caller: &Caller,
        request: &SendRequest,
        message_id: &MessageId,
    ) -> Result<Option<SecureInputs>, DomainError> {
        if request.kind != MessageKind::Secure {
            return Ok(None);
        }
        let (key, attachments) = try_join(
            MessageKey::new(self.keys.as_ref(), &caller.clinic_id, message_id),
            self.check_attachments(caller, &request.attachments),
        )
        .await?;
        Ok(Some(SecureInputs { key, attachments }))
    }

    /// Checks every rule and builds the message and its SMS; writes nothing. The rules that
    /// need no outside service come first (`draft::check`), then the uploaded files; a secure
    /// message is then sealed, and the result composed. The clinic's own opt-outs (STOP
    /// replies) are checked by the write that records the message, the SMS service's beside
    /// it.
    async fn prepare(
        &self,
        caller: &Caller,
        request: &SendRequest,
        records: &SendRecords,
        message_id: &MessageId,
        secure: Result<Option<SecureInputs>, DomainError>,
    ) -> Result<PreparedSend, DomainError> {
        let now = self.clock.now();
        let clinic = self.clinics.get(&caller.clinic_id).await?;
        let draft = draft::check(request, records, &clinic, now)?;
        let recipient = self
            .keyring
            .key(&caller.clinic_id)
            .await?
            .number_tag(draft.phone);
        let lock = match (draft.unlock_phn, request.kind.expires_at(now), secure?) {
            (Some(phn), Some(expires_at), Some(SecureInputs { key, attachments })) => {
                let content = SecureContent {
                    text: draft.text.clone(),
                    chats: draft.chats.clone(),
                    attachments,
                };
                let attachment_keys = content
                    .attachments
                    .iter()
                    .map(|file| file.object_key.clone())
                    .collect();
                let token = LinkToken::generate(self.random.as_ref());
                let sealed = key.seal(self.random.as_ref(), phn, &content)?;
                Some(SecureLock {
                    link: unlock_url(&self.unlock_base_url, &token),
                    token_hash: token.hash(),
                    sealed,
                    expires_at,
                    attachment_keys,
                })
            }
            _ => None,
        };
        let sending = Sending {
            caller,
            recipient: &recipient,
            clinic: &clinic,
            kind: request.kind,
            message_id,
            sent_at: now,
        };
        Ok(compose(sending, &draft, lock))
    }

    /// Publishes a recorded message's SMS and records how it went.
    async fn publish(
        &self,
        caller: &Caller,
        idempotency_key: &ScopedIdempotencyKey,
        prepared: PreparedSend,
    ) -> Result<StoredResponse, DomainError> {
        let outcome = match self.sms.send(&prepared.sms).await {
            Ok(receipt) => SmsOutcome::Sent {
                provider_message_id: receipt.provider_message_id,
            },
            Err(error) => SmsOutcome::Failed { code: error.code },
        };
        self.record_outcome(caller, idempotency_key, prepared, outcome)
            .await
    }

    /// Records how a recorded message's SMS went, with the key's answer: the receipt when
    /// it was sent; when not, the key is given back and `SmsFailed` answered.
    async fn record_outcome(
        &self,
        caller: &Caller,
        idempotency_key: &ScopedIdempotencyKey,
        prepared: PreparedSend,
        outcome: SmsOutcome,
    ) -> Result<StoredResponse, DomainError> {
        let PreparedSend {
            message,
            replacements,
            language,
            language_note,
            ..
        } = prepared;
        let sent = matches!(outcome, SmsOutcome::Sent { .. });
        let receipt = SendReceipt {
            message_id: message.id.clone(),
            kind: message.kind,
            expires_at: message.expires_at,
            sms: message.sms,
            sms_status: SmsStatus::Sent,
            replacements,
            language: Some(language),
            language_note,
        };
        let response = StoredResponse {
            status: 201,
            body: serde_json::to_string(&receipt).expect("a receipt serialises"),
        };
        let audit = AuditEntry {
            clinic_id: caller.clinic_id.clone(),
            at: message.sent_at,
            event: "send".to_owned(),
            route: Some("POST /appointments/{appointmentId}/messages".to_owned()),
            patient_id: Some(message.patient_id.clone()),
            message_id: Some(message.id.clone()),
            reference: None,
            appointment_id: Some(message.appointment_id.clone()),
            staff_user: Some(caller.user.clone()),
            kind: Some(message.kind),
            outcome: if sent { "sent" } else { "failed" }.to_owned(),
        };
        let finished = self
            .store
            .finish_send(&FinishSend {
                idempotency_key,
                clinic: &caller.clinic_id,
                message: &message.id,
                outcome: &outcome,
                response: sent.then_some(&response),
                delete_content: message
                    .unlock
                    .as_ref()
                    .filter(|_| !sent)
                    .map(|unlock| &unlock.token_hash),
                audit: &audit,
            })
            .await;
        if let Err(error) = finished {
            // The message stays `sending` and its key claimed: a retry with the key is told
            // the send did not finish, and never sends a second SMS.
            tracing::error!(code = %error.code, message_id = %message.id, sent, "send outcome not recorded");
        }
        tracing::info!(
            clinic_id = %caller.clinic_id,
            message_id = %message.id,
            kind = message.kind.as_str(),
            segments = message.sms.segments,
            sent,
            "message send"
        );
        if !sent {
            return Err(DomainError::SmsFailed);
        }
        Ok(response)
    }

    /// Each file as uploaded: there, within the limits, under the project's key. The files
    /// are looked up together; the first refused in the request's order is told.
    async fn check_attachments(
        &self,
        caller: &Caller,
        attachments: &[AttachmentRef],
    ) -> Result<Vec<AttachedFile>, DomainError> {
        join_all(
            attachments
                .iter()
                .map(|attachment| self.check_attachment(caller, attachment)),
        )
        .await
        .into_iter()
        .collect()
    }

    async fn check_attachment(
        &self,
        caller: &Caller,
        attachment: &AttachmentRef,
    ) -> Result<AttachedFile, DomainError> {
        let refused = |reason: &str| DomainError::AttachmentRefused {
            attachment: attachment.id.to_string(),
            reason: reason.to_owned(),
        };
        let object_key = attachment_object_key(&caller.clinic_id, &attachment.id);
        let info = self.blobs.head(&object_key).await?.ok_or_else(|| {
            refused("was not uploaded (or its upload link expired): upload the file again")
        })?;
        info.check_sendable(&self.content_key_id)
            .map_err(|reason| refused(&reason))?;
        // The bucket is versioned: an object without a version is a misconfigured
        // bucket, and the file could not be pinned.
        let version_id = info
            .version_id
            .ok_or_else(|| DependencyError::new("s3", "HeadObject", "NoVersionId"))?;
        Ok(AttachedFile {
            file_name: attachment.file_name.trim().to_owned(),
            object_key,
            version_id,
            content_type: info.content_type.unwrap_or_default(),
            size: info.size,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests;
