//! Sending a basic or secure message for an appointment (seed steps 4–6): the rules of each
//! kind, envelope encryption of secure content, one SMS per idempotency key, and a record
//! that never says "sent" unless SNS took the SMS.

mod request;

pub use request::{AttachmentRef, IdempotencyKey, MAX_CHATS, SendRequest};

use std::sync::Arc;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::{
    adapters::{
        AwsClients,
        dynamodb::DynamoStore,
        kms::KmsKeyService,
        s3::S3BlobStore,
        sns::SnsSmsSender,
        system::{OsRandom, SystemClock},
    },
    attachments::{ALLOWED_CONTENT_TYPES, MAX_ATTACHMENT_BYTES, attachment_key},
    caller::Caller,
    clinic_cache::ClinicCache,
    config::Config,
    envelope,
    error::{DependencyError, DomainError},
    ids::{AppointmentId, MessageId},
    link_token::{LinkToken, unlock_url},
    message_kind::{BASIC_MAX_CHARS, MessageKind, SECURE_LIFETIME, SECURE_MAX_CHARS},
    model::{AuditEntry, Chat, Clinic, NewMessage, Patient, SmsOutcome, UnlockRecord},
    phn::Phn,
    ports::{
        BeginOutcome, BeginSend, BlobStore, Clock, EncryptionContext, FinishSend, KeyService,
        OutboundSms, PatientRecord, RandomSource, RequestKey, RequestRecord, SendLookup,
        SendRecords, SendStore, SmsSender, StoredResponse,
    },
    sms_encoding::{SmsMeasure, measure},
    template_text::{TemplateValues, render},
};

/// A send still claimed this long after it started stopped half-way (its function ended).
pub const SEND_STALLED_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_mins(2);

/// Most files one secure message carries.
pub const MAX_ATTACHMENTS: usize = 10;

/// What the dashboard is told about a sent message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendReceipt {
    pub message_id: MessageId,
    pub kind: MessageKind,
    /// Secure messages only.
    pub expires_at: Option<jiff::Timestamp>,
    pub sms: SmsMeasure,
}

/// A secure message's content, sealed before it is stored; only the unlock page opens it.
#[derive(Serialize, Deserialize)]
pub struct SecureContent {
    pub text: String,
    pub chats: Vec<Chat>,
    pub attachments: Vec<SealedAttachment>,
}

#[derive(Serialize, Deserialize)]
pub struct SealedAttachment {
    pub file_name: String,
    pub key: String,
    pub content_type: String,
    pub size: u64,
}

/// Everything sending talks to.
pub struct MessageSender {
    pub clinics: Arc<ClinicCache>,
    pub store: Arc<dyn SendStore>,
    pub sms: Arc<dyn SmsSender>,
    pub blobs: Arc<dyn BlobStore>,
    pub keys: Arc<dyn KeyService>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn RandomSource>,
    pub unlock_base_url: String,
    /// The project key attachments must be encrypted with (ARN).
    pub content_key_id: String,
}

/// A message ready to go: recorded before its SMS is published.
struct PreparedSend {
    message: NewMessage,
    sms: OutboundSms,
    /// The version of the patient it was written for.
    patient_version: u64,
}

/// How often a send is prepared again because the patient changed under it: the first try
/// uses the appointment's copy of the patient, the next the patient as stored.
const PREPARE_ATTEMPTS: usize = 3;

/// The encryption context of a secure message's data key (and its content's AAD).
pub fn encryption_context(caller: &Caller, message: &MessageId) -> EncryptionContext {
    [
        ("clinic_id".to_owned(), caller.clinic_id.to_string()),
        ("message_id".to_owned(), message.to_string()),
    ]
    .into()
}

/// HMAC-SHA256 of the PHN under the message's data key: lets the unlock page check a typed
/// PHN without the PHN being stored.
pub fn phn_check(data_key: &[u8], phn: &Phn) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(data_key).expect("HMAC takes any key length");
    mac.update(phn.as_str().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn key_matches(stored: Option<&str>, project_key: &str) -> bool {
    // S3 reports the key's ARN; a key id is the ARN's last part.
    stored.is_some_and(|stored| {
        stored == project_key || project_key.rsplit('/').next() == stored.rsplit('/').next()
    })
}

impl MessageSender {
    /// The use case on AWS: DynamoDB, SNS, S3 and KMS through the SDK clients.
    pub fn on_aws(config: &Config, clients: &AwsClients) -> MessageSender {
        let store = Arc::new(DynamoStore::new(clients.dynamodb(), config.tables.clone()));
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        MessageSender {
            clinics: Arc::new(ClinicCache::new(store.clone(), clock.clone())),
            store,
            sms: Arc::new(SnsSmsSender::new(clients.sns())),
            blobs: Arc::new(S3BlobStore::new(
                clients.s3(),
                &config.attachments_bucket,
                &config.content_key_id,
            )),
            keys: Arc::new(KmsKeyService::new(clients.kms(), &config.content_key_id)),
            clock,
            random: Arc::new(OsRandom),
            unlock_base_url: config.unlock_base_url.clone(),
            content_key_id: config.content_key_id.clone(),
        }
    }

    /// Sends at most once per idempotency key: a replay answers what the first answered, a
    /// failed SMS gives the key back for a retry. The store is read once before anything is
    /// decided, written once before the SMS is published and once after.
    pub async fn send(
        &self,
        caller: &Caller,
        appointment: &AppointmentId,
        key: &IdempotencyKey,
        request: &SendRequest,
    ) -> Result<StoredResponse, DomainError> {
        request.validate()?;
        let request_key = RequestKey::new(&format!("send#{}", caller.clinic_id), key.as_str());
        let fingerprint = request.fingerprint(appointment);
        let records = self
            .store
            .read_for_send(&SendLookup {
                clinic: &caller.clinic_id,
                appointment,
                request: &request_key,
                template: request.template_id.as_ref(),
                chats: &request.chat_ids,
                now: self.clock.now(),
            })
            .await?;
        if let Some(earlier) = &records.request {
            return self.answer_again(earlier, &fingerprint);
        }
        let mut records = records;
        for _ in 0..PREPARE_ATTEMPTS {
            let prepared = self.prepare(caller, request, &records).await?;
            let begun = self
                .store
                .begin_send(&BeginSend {
                    request: &request_key,
                    fingerprint: &fingerprint,
                    message: &prepared.message,
                    patient_version: prepared.patient_version,
                })
                .await?;
            match begun {
                BeginOutcome::Begun => return self.publish(caller, &request_key, prepared).await,
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
        earlier: &RequestRecord,
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

    /// Checks every rule and builds the message and its SMS; writes nothing.
    async fn prepare(
        &self,
        caller: &Caller,
        request: &SendRequest,
        records: &SendRecords,
    ) -> Result<PreparedSend, DomainError> {
        let now = self.clock.now();
        let clinic = self.clinics.get(&caller.clinic_id).await?;
        let not_found = || DomainError::NotFound {
            what: "the appointment",
        };
        let appointment = records.appointment.as_ref().ok_or_else(not_found)?;
        if !clinic.search_window(now).contains(appointment.starts_at) {
            return Err(DomainError::OutsideSearchWindow);
        }
        let PatientRecord {
            patient,
            version: patient_version,
        } = records.patient.as_ref().ok_or_else(not_found)?;
        let phone = patient.phone.clone().ok_or(DomainError::NoPhoneOnFile)?;
        match request.kind {
            MessageKind::Basic if !request.attachments.is_empty() => {
                return Err(DomainError::AttachmentsOnBasic);
            }
            MessageKind::Secure if patient.phn.is_none() => {
                return Err(DomainError::PhnRequiredForSecure);
            }
            MessageKind::Secure if request.attachments.len() > MAX_ATTACHMENTS => {
                return Err(DomainError::TooManyAttachments {
                    count: request.attachments.len(),
                });
            }
            _ => {}
        }
        match &records.template {
            None if request.template_id.is_some() => {
                return Err(DomainError::NotFound {
                    what: "the template",
                });
            }
            // A secure template's text would travel in the SMS itself.
            Some(template)
                if request.kind == MessageKind::Basic && template.kind == MessageKind::Secure =>
            {
                return Err(DomainError::SecureTemplateOnBasic);
            }
            _ => {}
        }
        let chats = request
            .chat_ids
            .iter()
            .map(|id| {
                records
                    .chats
                    .iter()
                    .find(|chat| &chat.id == id)
                    .cloned()
                    .ok_or(DomainError::NotFound { what: "a chat" })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let text = request
            .text
            .as_deref()
            .or(records.template.as_ref().map(|t| t.text.as_str()))
            .unwrap_or_default();
        if text.trim().is_empty() {
            return Err(DomainError::EmptyMessage);
        }
        let values = TemplateValues::for_appointment(
            &patient.first_name,
            &patient.last_name,
            &clinic.name,
            &appointment.provider_name,
            appointment.starts_at,
            &clinic.zone(),
        );
        let text = render(text.trim(), &values)?;
        let chars = text.chars().count();
        match request.kind {
            MessageKind::Basic if chars > BASIC_MAX_CHARS => {
                return Err(DomainError::BasicTooLong { chars });
            }
            MessageKind::Secure if chars > SECURE_MAX_CHARS => {
                return Err(DomainError::SecureTooLong { chars });
            }
            _ => {}
        }
        // The clinic's own opt-outs (STOP replies) are checked by the write that records the
        // message; SNS also refuses numbers opted out of the whole account, and says so only
        // when asked.
        if self.sms.is_opted_out(&phone).await? {
            return Err(DomainError::OptedOut);
        }
        let attachments = self.check_attachments(caller, &request.attachments).await?;

        let mut id_bytes = [0u8; 16];
        self.random.fill(&mut id_bytes);
        let message_id = MessageId::from_random(id_bytes);
        let (body, expires_at, unlock) = match request.kind {
            MessageKind::Basic => (basic_sms(&text, &chats), None, None),
            MessageKind::Secure => {
                let expires_at = now + SECURE_LIFETIME;
                let token = LinkToken::generate(self.random.as_ref());
                let content = SecureContent {
                    text,
                    chats,
                    attachments,
                };
                let unlock = self
                    .seal(caller, &message_id, patient, &token, &content, expires_at)
                    .await?;
                let body = secure_sms(
                    &clinic,
                    &unlock_url(&self.unlock_base_url, &token),
                    expires_at,
                );
                (body, Some(expires_at), Some(unlock))
            }
        };
        let message = NewMessage {
            clinic_id: caller.clinic_id.clone(),
            id: message_id,
            appointment_id: appointment.id.clone(),
            patient_id: patient.id.clone(),
            kind: request.kind,
            sent_at: now,
            sent_by: caller.user.clone(),
            recipient: phone.clone(),
            sms: measure(&body),
            expires_at,
            unlock,
        };
        let sms = OutboundSms {
            to: phone,
            from: clinic.sms_number.clone(),
            body,
        };
        Ok(PreparedSend {
            message,
            sms,
            patient_version: *patient_version,
        })
    }

    /// Publishes a recorded message's SMS and records how it went, with the key's answer.
    async fn publish(
        &self,
        caller: &Caller,
        request_key: &RequestKey,
        prepared: PreparedSend,
    ) -> Result<StoredResponse, DomainError> {
        let PreparedSend { message, sms, .. } = prepared;
        let outcome = match self.sms.send(&sms).await {
            Ok(receipt) => SmsOutcome::Sent {
                provider_message_id: receipt.provider_message_id,
            },
            Err(error) => SmsOutcome::Failed { code: error.code },
        };
        let sent = matches!(outcome, SmsOutcome::Sent { .. });
        let receipt = SendReceipt {
            message_id: message.id.clone(),
            kind: message.kind,
            expires_at: message.expires_at,
            sms: message.sms,
        };
        let response = StoredResponse {
            status: 201,
            body: serde_json::to_string(&receipt).expect("a receipt serialises"),
        };
        let audit = AuditEntry {
            clinic_id: caller.clinic_id.clone(),
            at: message.sent_at,
            event: "send".to_owned(),
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
                request: request_key,
                clinic: &caller.clinic_id,
                message: &message.id,
                outcome: &outcome,
                response: sent.then_some(&response),
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

    async fn check_attachments(
        &self,
        caller: &Caller,
        attachments: &[AttachmentRef],
    ) -> Result<Vec<SealedAttachment>, DomainError> {
        let mut checked = Vec::new();
        for attachment in attachments {
            let refused = |reason| DomainError::AttachmentRefused {
                attachment: attachment.id.to_string(),
                reason,
            };
            let key = attachment_key(&caller.clinic_id, &attachment.id);
            let info = self.blobs.head(&key).await?.ok_or_else(|| {
                refused("was not uploaded (or its upload link expired): upload the file again")
            })?;
            if info.size > MAX_ATTACHMENT_BYTES {
                return Err(refused("is larger than 20 MB"));
            }
            let content_type = info.content_type.clone().unwrap_or_default();
            if !ALLOWED_CONTENT_TYPES.contains(&content_type.as_str()) {
                return Err(refused("is not a PDF, PNG or JPEG"));
            }
            if !key_matches(info.kms_key_id.as_deref(), &self.content_key_id) {
                return Err(refused(
                    "is not encrypted with the project's key: upload it again",
                ));
            }
            checked.push(SealedAttachment {
                file_name: attachment.file_name.trim().to_owned(),
                key,
                content_type,
                size: info.size,
            });
        }
        Ok(checked)
    }

    async fn seal(
        &self,
        caller: &Caller,
        message_id: &MessageId,
        patient: &Patient,
        token: &LinkToken,
        content: &SecureContent,
        expires_at: jiff::Timestamp,
    ) -> Result<UnlockRecord, DomainError> {
        let phn = patient
            .phn
            .as_ref()
            .ok_or(DomainError::PhnRequiredForSecure)?;
        let data_key = self
            .keys
            .generate_data_key(&encryption_context(caller, message_id))
            .await?;
        let plaintext = serde_json::to_vec(content).expect("content serialises");
        let aad = format!("{}/{message_id}", caller.clinic_id);
        let sealed = envelope::seal(
            &data_key.plaintext,
            &plaintext,
            aad.as_bytes(),
            self.random.as_ref(),
        )
        .map_err(|_| DependencyError::new("envelope", "Seal", "SealFailed"))?;
        Ok(UnlockRecord {
            token_hash: token.hash(),
            clinic_id: caller.clinic_id.clone(),
            message_id: message_id.clone(),
            encrypted_key: data_key.ciphertext.clone(),
            sealed,
            phn_check: phn_check(&data_key.plaintext, phn),
            expires_at,
        })
    }
}

/// A basic SMS: the text, then each chat's link on its own line.
pub fn basic_sms(text: &str, chats: &[Chat]) -> String {
    let mut body = text.to_owned();
    for chat in chats {
        body.push('\n');
        body.push_str(&chat.link);
    }
    body
}

/// A secure SMS: the clinic's name, the unlock link and the expiry date; nothing else.
pub fn secure_sms(clinic: &Clinic, url: &str, expires_at: jiff::Timestamp) -> String {
    let until = expires_at.to_zoned(clinic.zone()).strftime("%b %-d");
    format!(
        "{}: you have a secure message. Open it by {until}: {url}",
        clinic.name
    )
}

#[cfg(test)]
pub(crate) mod tests;
