//! The message record and its SMS, composed from a checked draft: pure.

use jiff::Timestamp;

use crate::{
    caller::Caller,
    clinic_key::NumberTag,
    ids::MessageId,
    language::Language,
    link_token::TokenHash,
    message_kind::MessageKind,
    model::{Chat, Clinic, NewMessage, UnlockRecord},
    ports::OutboundSms,
    secure_content::Sealed,
    sms_encoding::measure,
    sms_text::Replacement,
};

use super::draft::{Draft, LanguageFallback};

/// A message ready to go: recorded before its SMS is published.
#[derive(Debug)]
pub struct PreparedSend {
    pub message: NewMessage,
    pub sms: OutboundSms,
    /// The version of the patient it was written for.
    pub patient_version: u64,
    /// What was replaced to make the text GSM-7 friendly.
    pub replacements: Vec<Replacement>,
    /// The patient's language, and what staff are told when the template had no text in it.
    pub language: Language,
    pub language_note: Option<String>,
}

/// Who sends what, when.
#[derive(Debug, Clone, Copy)]
pub struct Sending<'a> {
    pub caller: &'a Caller,
    /// The patient's number as the clinic's keys hold it.
    pub recipient: &'a NumberTag,
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
    /// The object keys of its files.
    pub attachment_keys: Vec<String>,
}

/// The message as it is recorded and the SMS that goes out: a basic message's SMS holds its
/// text and chat links; a locked message's holds only the notice and link.
pub fn compose(sending: Sending<'_>, draft: &Draft<'_>, lock: Option<SecureLock>) -> PreparedSend {
    let Sending {
        caller,
        recipient,
        clinic,
        kind,
        message_id,
        sent_at,
    } = sending;
    let (body, unlock, attachment_keys) = match lock {
        None => (basic_sms(&draft.text, &draft.chats), None, Vec::new()),
        Some(lock) => (
            secure_sms(clinic, &lock.link, lock.expires_at, draft.language),
            Some(UnlockRecord {
                token_hash: lock.token_hash,
                clinic_id: caller.clinic_id.clone(),
                message_id: message_id.clone(),
                encrypted_key: lock.sealed.encrypted_key,
                sealed: lock.sealed.sealed,
                phn_check: lock.sealed.phn_check,
                expires_at: lock.expires_at,
                language: draft.language,
            }),
            lock.attachment_keys,
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
        recipient: recipient.clone(),
        sms: measure(&body),
        expires_at: unlock.as_ref().map(|unlock| unlock.expires_at),
        unlock,
        attachment_keys,
        language: draft.language,
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
        replacements: draft.replacements.clone(),
        language: draft.language,
        language_note: draft.language_fallback.map(LanguageFallback::note),
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

/// A secure SMS in the patient's `language`: the clinic's name, the unlock link and the
/// expiry day; nothing else. Both are GSM-7 (`é` is in its alphabet).
pub fn secure_sms(
    clinic: &Clinic,
    link: &str,
    expires_at: Timestamp,
    language: Language,
) -> String {
    let until = language.short_date(&expires_at.to_zoned(clinic.zone()));
    let name = &clinic.name;
    match language {
        Language::En => format!("{name}: you have a secure message. Open it by {until}: {link}"),
        Language::Fr => {
            format!("{name} : vous avez un message sécurisé. Ouvrez-le d'ici le {until} : {link}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        envelope::SealedContent,
        fakes::records::{appointment, clinic, patient},
        ids::{ChatId, StaffUserId},
        link_token::LinkToken,
        model::ChatKind,
        random::RandomSource,
        sms_encoding::SmsEncoding,
    };

    struct Ones;

    impl RandomSource for Ones {
        fn fill(&self, buffer: &mut [u8]) {
            buffer.fill(1);
        }
    }

    fn compose_with(lock: Option<SecureLock>) -> PreparedSend {
        let clinic = clinic();
        let patient = patient(None, Some("+16045550123"));
        let appointment = appointment("a1", &patient, "2026-11-27T18:00:00Z".parse().unwrap());
        let draft = Draft {
            appointment: &appointment,
            patient: &patient,
            patient_version: 7,
            phone: patient.phone.as_ref().unwrap(),
            text: "Sentinel text".into(),
            replacements: Vec::new(),
            language: Language::En,
            language_fallback: None,
            chats: vec![Chat {
                id: ChatId::parse("intake").unwrap(),
                title: "Intake".into(),
                kind: ChatKind::Form,
                link: "https://forms.example/intake".into(),
                version: 1,
            }],
            unlock_phn: None,
        };
        let caller = Caller::staff(clinic.id.clone(), StaffUserId::parse("staff-1").unwrap());
        let message_id = MessageId::from_random([9; 16]);
        let kind = if lock.is_some() {
            MessageKind::Secure
        } else {
            MessageKind::Basic
        };
        let recipient = crate::clinic_key::ClinicKey::from_root(&clinic.id, &[1; 32])
            .unwrap()
            .number_tag(draft.phone);
        let sending = Sending {
            caller: &caller,
            recipient: &recipient,
            clinic: &clinic,
            kind,
            message_id: &message_id,
            sent_at: "2026-11-25T18:00:00Z".parse().unwrap(),
        };
        compose(sending, &draft, lock)
    }

    #[test]
    fn a_basic_sms_carries_the_text_and_chat_links_from_the_clinics_number() {
        let prepared = compose_with(None);
        assert_eq!(
            prepared.sms.body,
            "Sentinel text\nhttps://forms.example/intake"
        );
        assert_eq!(prepared.sms.from, clinic().sms_number);
        assert_eq!(prepared.message.expires_at, None);
        assert!(prepared.message.unlock.is_none());
        assert_eq!(prepared.message.sms.encoding, SmsEncoding::Gsm7);
        assert_eq!(prepared.patient_version, 7);
    }

    #[test]
    fn the_secure_notice_is_written_in_the_patients_language_and_stays_gsm7() {
        let expires_at: Timestamp = "2026-12-09T18:00:00Z".parse().unwrap();
        let link = "https://unlock.example/m/abc";
        let french = secure_sms(&clinic(), link, expires_at, Language::Fr);
        assert_eq!(
            french,
            "Harbourview Clinic : vous avez un message sécurisé. Ouvrez-le d'ici le 9 déc. : https://unlock.example/m/abc"
        );
        assert_eq!(measure(&french).encoding, SmsEncoding::Gsm7);
        assert_eq!(
            secure_sms(&clinic(), link, expires_at, Language::En),
            "Harbourview Clinic: you have a secure message. Open it by Dec 9: https://unlock.example/m/abc"
        );
    }

    #[test]
    fn a_secure_sms_carries_only_the_notice_and_link_and_the_record_its_lock() {
        let token = LinkToken::generate(&Ones);
        let expires_at: Timestamp = "2026-12-03T18:00:00Z".parse().unwrap();
        let lock = SecureLock {
            link: "https://unlock.example/m/abc".into(),
            token_hash: token.hash(),
            sealed: Sealed {
                encrypted_key: vec![1],
                sealed: SealedContent {
                    nonce: vec![0; 12],
                    ciphertext: vec![2],
                },
                phn_check: "check".into(),
            },
            expires_at,
            attachment_keys: vec!["attachments/c1/f1".into()],
        };
        let prepared = compose_with(Some(lock));
        assert_eq!(
            prepared.sms.body,
            "Harbourview Clinic: you have a secure message. Open it by Dec 3: https://unlock.example/m/abc"
        );
        assert!(!prepared.sms.body.contains("Sentinel"));
        let unlock = prepared.message.unlock.expect("an unlock record");
        assert_eq!(unlock.token_hash, token.hash());
        assert_eq!(unlock.expires_at, expires_at);
        assert_eq!(prepared.message.expires_at, Some(expires_at));
        assert_eq!(prepared.message.attachment_keys, ["attachments/c1/f1"]);
    }
}
