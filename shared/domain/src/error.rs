//! The rules a request can break, as one error enum; `responses` maps it to HTTP.

use crate::{
    attachments::MAX_ATTACHMENTS,
    email::EmailError,
    ids::IdError,
    message_kind::{BASIC_MAX_CHARS, SECURE_MAX_CHARS},
    phn::PhnError,
    phone::PhoneError,
};

/// A count as staff read it: `5,000`.
fn thousands(count: usize) -> String {
    let digits = count.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Everything the domain refuses or fails at. Messages are shown to staff as they are, so
/// they say what is wrong and how to fix it, and never repeat PHI from the input.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("sign in again: the request carries no clinic")]
    Unauthenticated,
    #[error("{reason}")]
    Forbidden { reason: &'static str },
    #[error("{what} was not found")]
    NotFound { what: &'static str },
    #[error("{0}")]
    InvalidPhn(#[from] PhnError),
    #[error("{0}")]
    InvalidPhone(#[from] PhoneError),
    #[error("{0}")]
    InvalidEmail(#[from] EmailError),
    #[error("{0}")]
    InvalidId(#[from] IdError),
    #[error("the request body is not valid: {reason}")]
    InvalidBody { reason: String },
    #[error("{parameter}: {reason}")]
    InvalidParameter {
        parameter: &'static str,
        reason: String,
    },
    #[error("{field}: {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error(
        "another clinic already sends from this SMS number: each clinic needs its own number, so that replies reach the right clinic"
    )]
    SmsNumberTaken,
    #[error(
        "this integration client already writes for another clinic: create a machine client for each clinic"
    )]
    IntegrationClientTaken,
    #[error("the clinic already has {what} of this name: choose another name, or change that one")]
    NameTaken { what: &'static str },
    #[error(
        "{what} changed since you read it (its ETag is no longer the one in If-Match): reload it, make your change again, and send its new ETag"
    )]
    StaleVersion { what: &'static str },
    #[error(
        "changing {what} needs an If-Match header with the ETag you read (e.g. If-Match: \"3\"), so that two people cannot overwrite each other"
    )]
    VersionRequired { what: &'static str },
    #[error("{content_type} files cannot be attached; attach a PDF, PNG or JPEG")]
    UnsupportedFileType { content_type: String },
    #[error(
        "a basic message holds at most {max} characters; this one has {chars}: shorten it, or send a secure message",
        max = BASIC_MAX_CHARS
    )]
    BasicTooLong { chars: usize },
    #[error(
        "a secure message holds at most {max} characters; this one has {chars}",
        max = thousands(SECURE_MAX_CHARS)
    )]
    SecureTooLong { chars: usize },
    #[error(
        "this template cannot fit the {max} characters its kind holds: filled with the shortest names, date and time it already has {chars}; shorten it, or make it a secure template"
    )]
    TemplateTooLong { max: usize, chars: usize },
    #[error("the message is empty: write a message or pick a template")]
    EmptyMessage,
    #[error("{0}")]
    Template(#[from] crate::template_text::TemplateError),
    #[error("basic messages cannot carry files: send a secure message to attach them")]
    AttachmentsOnBasic,
    #[error(
        "this template is for secure messages (it may hold health information): send it as a secure message, or pick a basic template"
    )]
    SecureTemplateOnBasic,
    #[error("a secure message carries at most {MAX_ATTACHMENTS} files; this one has {count}")]
    TooManyAttachments { count: usize },
    #[error("attachment {attachment}: {reason}")]
    AttachmentRefused { attachment: String, reason: String },
    #[error(
        "secure messages need the patient's PHN on file: add the PHN to the patient's record, or send a basic message without health information"
    )]
    PhnRequiredForSecure,
    #[error(
        "the patient has no phone number on file: add one to the patient's record to text them"
    )]
    NoPhoneOnFile,
    #[error(
        "this appointment is outside the clinic's window (from the account's activation up to 10 years ahead)"
    )]
    OutsideSearchWindow,
    #[error(
        "this appointment is {status} in the clinic's records: it takes no new message (its history stays)"
    )]
    AppointmentClosed {
        status: crate::appointment_status::AppointmentStatus,
    },
    #[error(
        "this is a basic message: it has no link, lock or content to manage; only secure messages do"
    )]
    NotSecure,
    #[error(
        "this message has expired: its content is gone for good; send a new message if the patient still needs it"
    )]
    MessageExpired,
    #[error(
        "this message was withdrawn: its link says so and its content is gone; send a new message if the patient still needs it"
    )]
    MessageWithdrawn,
    #[error(
        "this appointment is not Unclear: there is nothing to clear (someone may have cleared it already); reload the worklist"
    )]
    NotUnclear,
    #[error(
        "this Idempotency-Key was already used for a different request: use a new key for a new message"
    )]
    IdempotencyKeyReused,
    #[error(
        "the same request is already being sent: wait a moment and retry with the same Idempotency-Key"
    )]
    SendInProgress,
    #[error(
        "an earlier send with this Idempotency-Key did not finish: check the appointment's messages to see whether it went out, and use a new key to send again"
    )]
    SendUnfinished,
    #[error(
        "the patient has opted out of text messages from this clinic (they replied STOP): nothing was sent; call the patient instead"
    )]
    OptedOut,
    #[error(
        "the SMS could not be sent: the message is recorded as failed; try again with the same Idempotency-Key"
    )]
    SmsFailed,
    #[error(transparent)]
    Dependency(#[from] DependencyError),
}

/// A failed call to an outside service. It keeps the service, the operation and the
/// service's error code only: AWS error messages can echo request values, so they are
/// never kept, logged or shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{service} {operation} failed ({code})")]
pub struct DependencyError {
    pub service: &'static str,
    pub operation: &'static str,
    pub code: String,
}

impl DependencyError {
    pub fn new(service: &'static str, operation: &'static str, code: impl Into<String>) -> Self {
        Self {
            service,
            operation,
            code: code.into(),
        }
    }

    /// A stored item that does not have the shape the code writes: a bug or a bad migration.
    pub fn corrupt_item(service: &'static str, operation: &'static str) -> Self {
        Self::new(service, operation, "CorruptItem")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_shown_as_staff_read_them() {
        assert_eq!(thousands(5), "5");
        assert_eq!(thousands(160), "160");
        assert_eq!(thousands(5000), "5,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert!(
            DomainError::SecureTooLong { chars: 5001 }
                .to_string()
                .starts_with("a secure message holds at most 5,000 characters")
        );
        assert!(
            DomainError::BasicTooLong { chars: 161 }
                .to_string()
                .starts_with("a basic message holds at most 160 characters; this one has 161")
        );
    }
}
