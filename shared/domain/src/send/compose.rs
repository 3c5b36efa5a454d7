//! The message record and its SMS, composed from a checked draft: pure.

use jiff::Timestamp;

use crate::{
    caller::Caller,
    ids::MessageId,
    link_token::TokenHash,
    message_kind::MessageKind,
    model::{Chat, Clinic, NewMessage, UnlockRecord},
    ports::OutboundSms,
    secure_content::Sealed,
    sms_encoding::measure,
};

use super::draft::Draft;

/// A message ready to go: recorded before its SMS is published.
#[derive(Debug)]
pub struct PreparedSend {
    pub message: NewMessage,
    pub sms: OutboundSms,
    /// The version of the patient it was written for.
    pub patient_version: u64,
}

/// Who sends what, when.
#[derive(Debug, Clone, Copy)]
pub struct Sending<'a> {
    pub caller: &'a Caller,
    pub clinic: &'a Clinic,
    pub kind: MessageKind,
    pub message_id: &'a MessageId,
    pub sent_at: Timestamp,
}

/// A secure message's lock: the link the SMS carries, the hash of its token, and the sealed
/// content behind it until it expires.
#[derive(Debug)]
pub struct SecureLock {
    pub link: String,
    pub token_hash: TokenHash,
    pub sealed: Sealed,
    pub expires_at: Timestamp,
}

/// The message as it is recorded and the SMS that goes out: a basic message's SMS holds its
/// text and chat links; a locked message's holds only the notice and link.
pub fn compose(sending: Sending<'_>, draft: &Draft<'_>, lock: Option<SecureLock>) -> PreparedSend {
    let Sending {
        caller,
        clinic,
        kind,
        message_id,
        sent_at,
    } = sending;
    let (body, unlock) = match lock {
        None => (basic_sms(&draft.text, &draft.chats), None),
        Some(lock) => (
            secure_sms(clinic, &lock.link, lock.expires_at),
            Some(UnlockRecord {
                token_hash: lock.token_hash,
                clinic_id: caller.clinic_id.clone(),
                message_id: message_id.clone(),
                encrypted_key: lock.sealed.encrypted_key,
                sealed: lock.sealed.sealed,
                phn_check: lock.sealed.phn_check,
                expires_at: lock.expires_at,
            }),
        ),
    };
    let message = NewMessage {
        clinic_id: caller.clinic_id.clone(),
        id: message_id.clone(),
        appointment_id: draft.appointment.id.clone(),
        patient_id: draft.patient.id.clone(),
        kind,
        sent_at,
        sent_by: caller.user.clone(),
        recipient: draft.phone.clone(),
        sms: measure(&body),
        expires_at: unlock.as_ref().map(|unlock| unlock.expires_at),
        unlock,
    };
    let sms = OutboundSms {
        to: draft.phone.clone(),
        from: clinic.sms_number.clone(),
        body,
    };
    PreparedSend {
        message,
        sms,
        patient_version: draft.patient_version,
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
pub fn secure_sms(clinic: &Clinic, link: &str, expires_at: Timestamp) -> String {
    let until = expires_at.to_zoned(clinic.zone()).strftime("%b %-d");
    format!(
        "{}: you have a secure message. Open it by {until}: {link}",
        clinic.name
    )
}
