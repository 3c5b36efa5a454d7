//! `POST /appointments/{appointmentId}/messages/preview`: what a send of the same body would
//! put in the patient's SMS and every rule it would break, for the dashboard's composer to
//! show as it is typed. Sends nothing and writes nothing; reads what a send reads (and the
//! clinic's STOP list, which a send checks in its write).

use serde::Serialize;

use crate::{
    caller::Caller,
    error::DomainError,
    ids::AppointmentId,
    language::Language,
    link_token::preview_unlock_url,
    message_kind::MessageKind,
    opt_outs,
    ports::SendLookup,
    problem::Problem,
    sms_encoding::{SmsMeasure, measure, outside_gsm7},
    sms_text::{Replacement, code_point},
};

use super::{MessageSender, SendRequest, basic_sms, draft, secure_sms};

/// The SMS a send would publish, as the composer shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessagePreview {
    pub kind: MessageKind,
    /// The patient's language: the EMR's, else the clinic's default.
    pub language: Language,
    pub language_note: Option<String>,
    /// The SMS as the patient would receive it: a basic message's text and chat links; a
    /// secure message's notice, its link's token shown as `x`s of the real length. `None`
    /// when the text cannot be written (see `problems`).
    pub sms_text: Option<String>,
    pub sms: Option<SmsMeasure>,
    /// Characters (Unicode scalar values) of the SMS.
    pub characters: Option<usize>,
    /// The characters that make the SMS UCS-2, each with its position (in characters).
    pub ucs2_characters: Vec<Ucs2Character>,
    pub replacements: Vec<Replacement>,
    /// Every rule the send would break, as the send would answer it; empty when it would go.
    pub problems: Vec<Problem>,
}

/// A character outside GSM-7, where it is in the SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ucs2Character {
    pub character: String,
    pub code_point: String,
    pub position: usize,
}

impl MessageSender {
    /// The preview of sending `request` about `appointment`. Another clinic's appointment,
    /// like a missing one, is 404; a malformed body is 400; every other rule is reported.
    pub async fn preview(
        &self,
        caller: &Caller,
        appointment: &AppointmentId,
        request: &SendRequest,
    ) -> Result<MessagePreview, DomainError> {
        request.validate()?;
        let now = self.clock.now();
        let records = self
            .store
            .read_for_send(&SendLookup {
                clinic: &caller.clinic_id,
                appointment,
                idempotency_key: None,
                template: request.template_id.as_ref(),
                chats: &request.chat_ids,
                now,
            })
            .await?;
        let clinic = self.clinics.get(&caller.clinic_id).await?;
        let assessment = draft::assess(request, &records, &clinic, now)?;
        let mut problems = assessment.problems;
        let phone = records
            .patient
            .as_ref()
            .and_then(|record| record.patient.phone.as_ref());
        if let Some(phone) = phone {
            let tag = self.keyring.key(&caller.clinic_id).await?.number_tag(phone);
            if opt_outs::is_opted_out(
                self.opt_outs.as_ref(),
                self.sms.as_ref(),
                &caller.clinic_id,
                phone,
                &tag,
            )
            .await?
            {
                problems.push(DomainError::OptedOut);
            }
        }
        let sms_text = match (request.kind.expires_at(now), &assessment.text) {
            (Some(expires_at), _) => {
                let link = preview_unlock_url(&self.unlock_base_url);
                Some(secure_sms(&clinic, &link, expires_at, assessment.language))
            }
            (None, Some(text)) => Some(basic_sms(text, &assessment.chats)),
            (None, None) => None,
        };
        Ok(MessagePreview {
            kind: request.kind,
            language: assessment.language,
            language_note: assessment.language_fallback.map(|fallback| fallback.note()),
            sms: sms_text.as_deref().map(measure),
            characters: sms_text.as_deref().map(|text| text.chars().count()),
            ucs2_characters: sms_text.as_deref().map(ucs2_characters).unwrap_or_default(),
            sms_text,
            replacements: assessment.replacements,
            problems: problems.iter().map(DomainError::problem).collect(),
        })
    }
}

/// Each character of `text` outside GSM-7, with its position in characters.
fn ucs2_characters(text: &str) -> Vec<Ucs2Character> {
    outside_gsm7(text)
        .map(|(position, c)| Ucs2Character {
            character: c.to_string(),
            code_point: code_point(c),
            position,
        })
        .collect()
}
