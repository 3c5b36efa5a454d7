//! What the dashboard asks to send, validated.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    attachments,
    error::DomainError,
    ids::{AppointmentId, AttachmentId, ChatId, TemplateId},
    message_kind::MessageKind,
};

/// Most chats one message links to.
pub const MAX_CHATS: usize = 10;

/// A file uploaded through `POST /attachments`, with the name the patient will see.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentRef {
    pub id: AttachmentId,
    pub file_name: String,
}

/// The body of `POST /appointments/{appointmentId}/messages`. The text can hold PHI, so
/// `Debug` shows only its shape.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    pub kind: MessageKind,
    #[serde(default)]
    pub template_id: Option<TemplateId>,
    /// The (possibly edited) text; placeholders in it are filled too. When absent, the
    /// template's text is used.
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub chat_ids: Vec<ChatId>,
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
}

impl fmt::Debug for SendRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendRequest")
            .field("kind", &self.kind)
            .field("template_id", &self.template_id)
            .field("chats", &self.chat_ids.len())
            .field("attachments", &self.attachments.len())
            .finish_non_exhaustive()
    }
}

impl SendRequest {
    /// Checks what can be checked without reading anything.
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.chat_ids.len() > MAX_CHATS {
            return Err(DomainError::InvalidBody {
                reason: format!("chat_ids: a message links to at most {MAX_CHATS} chats"),
            });
        }
        for attachment in &self.attachments {
            attachments::check_file_name(&attachment.file_name)?;
        }
        Ok(())
    }

    /// A digest of the request for one appointment: the same key with another request is
    /// refused.
    pub fn fingerprint(&self, appointment: &AppointmentId) -> String {
        let canonical = serde_json::to_vec(&(appointment, self)).expect("a request serialises");
        hex::encode(Sha256::digest(canonical))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_request_has_the_same_fingerprint_and_another_does_not() {
        let request: SendRequest = serde_json::from_str(r#"{"kind":"basic","text":"Hi"}"#).unwrap();
        let appointment = AppointmentId::parse("a1").unwrap();
        let mut other = request.clone();
        other.text = Some("Hi!".into());
        assert_eq!(
            request.fingerprint(&appointment),
            request.clone().fingerprint(&appointment)
        );
        assert_ne!(
            request.fingerprint(&appointment),
            other.fingerprint(&appointment)
        );
        assert_ne!(
            request.fingerprint(&appointment),
            request.fingerprint(&AppointmentId::parse("a2").unwrap())
        );
    }

    #[test]
    fn file_names_must_be_plain() {
        for name in ["", "../etc/passwd", "a\u{0}b", &"x".repeat(201)] {
            let request = SendRequest {
                kind: MessageKind::Secure,
                template_id: None,
                text: Some("Results".into()),
                chat_ids: Vec::new(),
                attachments: vec![AttachmentRef {
                    id: AttachmentId::parse("f1").unwrap(),
                    file_name: name.into(),
                }],
            };
            assert!(request.validate().is_err(), "{name}");
        }
    }

    #[test]
    fn debug_shows_no_text() {
        let request: SendRequest =
            serde_json::from_str(r#"{"kind":"basic","text":"Sentinel text"}"#).unwrap();
        assert!(!format!("{request:?}").contains("Sentinel"));
    }
}
