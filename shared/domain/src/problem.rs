//! Every `DomainError` as an HTTP status and an `application/problem+json` body (RFC 9457).
//! This is the one place where errors meet status codes; the API Gateway adapter only
//! writes them out.

use serde::Serialize;

use crate::error::DomainError;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// The body of an error answer.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
}

impl DomainError {
    pub fn status(&self) -> u16 {
        match self {
            DomainError::Unauthenticated => 401,
            DomainError::Forbidden { .. } => 403,
            DomainError::NotFound { .. } => 404,
            DomainError::InvalidPhn(_)
            | DomainError::InvalidPhone(_)
            | DomainError::InvalidEmail(_)
            | DomainError::InvalidId(_)
            | DomainError::InvalidBody { .. }
            | DomainError::InvalidParameter { .. }
            | DomainError::InvalidField { .. } => 400,
            DomainError::UnsupportedFileType { .. } => 415,
            DomainError::BasicTooLong { .. }
            | DomainError::SecureTooLong { .. }
            | DomainError::EmptyMessage
            | DomainError::TemplateTooLong { .. }
            | DomainError::Template(_)
            | DomainError::AttachmentsOnBasic
            | DomainError::SecureTemplateOnBasic
            | DomainError::TooManyAttachments { .. }
            | DomainError::AttachmentRefused { .. }
            | DomainError::PhnRequiredForSecure
            | DomainError::NoPhoneOnFile
            | DomainError::OutsideSearchWindow
            | DomainError::AppointmentClosed { .. }
            | DomainError::NotSecure
            | DomainError::MessageExpired
            | DomainError::MessageWithdrawn
            | DomainError::IdempotencyKeyReused => 422,
            DomainError::SendInProgress
            | DomainError::SendUnfinished
            | DomainError::OptedOut
            | DomainError::NotUnclear
            | DomainError::SmsNumberTaken
            | DomainError::IntegrationClientTaken
            | DomainError::NameTaken { .. } => 409,
            DomainError::StaleVersion { .. } => 412,
            DomainError::VersionRequired { .. } => 428,
            DomainError::SmsFailed => 502,
            DomainError::Dependency(_) => 502,
        }
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            DomainError::Unauthenticated => ("unauthenticated", "Sign-in required"),
            DomainError::Forbidden { .. } => ("forbidden", "Not for this sign-in"),
            DomainError::NotFound { .. } => ("not-found", "Not found"),
            DomainError::InvalidPhn(_) => ("invalid-phn", "Invalid PHN"),
            DomainError::InvalidPhone(_) => ("invalid-phone", "Invalid phone number"),
            DomainError::InvalidEmail(_) => ("invalid-email", "Invalid email address"),
            DomainError::InvalidId(_) => ("invalid-id", "Invalid id"),
            DomainError::InvalidBody { .. } => ("invalid-body", "Invalid request body"),
            DomainError::InvalidParameter { .. } => ("invalid-parameter", "Invalid parameter"),
            DomainError::InvalidField { .. } => ("invalid-field", "Invalid field"),
            DomainError::SmsNumberTaken => ("sms-number-taken", "SMS number already in use"),
            DomainError::NameTaken { .. } => ("name-taken", "Name already in use"),
            DomainError::IntegrationClientTaken => {
                ("integration-client-taken", "Client bound to another clinic")
            }
            DomainError::StaleVersion { .. } => ("stale-version", "Changed since read"),
            DomainError::VersionRequired { .. } => ("if-match-required", "If-Match required"),
            DomainError::BasicTooLong { .. } => ("basic-too-long", "Basic message too long"),
            DomainError::SecureTooLong { .. } => ("secure-too-long", "Secure message too long"),
            DomainError::EmptyMessage => ("empty-message", "Empty message"),
            DomainError::TemplateTooLong { .. } => ("template-too-long", "Template too long"),
            DomainError::Template(_) => ("template-invalid", "Template cannot be filled"),
            DomainError::AttachmentsOnBasic => {
                ("attachments-on-basic", "Files need a secure message")
            }
            DomainError::SecureTemplateOnBasic => (
                "secure-template-on-basic",
                "Secure template on a basic message",
            ),
            DomainError::TooManyAttachments { .. } => ("too-many-attachments", "Too many files"),
            DomainError::AttachmentRefused { .. } => ("attachment-refused", "File refused"),
            DomainError::PhnRequiredForSecure => ("phn-required-for-secure", "PHN required"),
            DomainError::NoPhoneOnFile => ("no-phone-on-file", "No phone number on file"),
            DomainError::OutsideSearchWindow => {
                ("outside-window", "Appointment outside the window")
            }
            DomainError::AppointmentClosed { .. } => {
                ("appointment-closed", "Appointment takes no messages")
            }
            DomainError::IdempotencyKeyReused => {
                ("idempotency-key-reused", "Idempotency-Key reused")
            }
            DomainError::SendInProgress => ("send-in-progress", "Already being sent"),
            DomainError::SendUnfinished => ("send-unfinished", "Earlier send unfinished"),
            DomainError::OptedOut => ("opted-out", "Patient opted out"),
            DomainError::NotUnclear => ("not-unclear", "Not on the worklist"),
            DomainError::NotSecure => ("not-secure", "Not a secure message"),
            DomainError::MessageExpired => ("message-expired", "Message expired"),
            DomainError::MessageWithdrawn => ("message-withdrawn", "Message withdrawn"),
            DomainError::SmsFailed => ("sms-failed", "SMS not sent"),
            DomainError::UnsupportedFileType { .. } => {
                ("unsupported-file-type", "Unsupported file type")
            }
            DomainError::Dependency(_) => ("dependency-failed", "A service is unavailable"),
        }
    }

    pub fn problem(&self) -> Problem {
        let (slug, title) = self.slug_and_title();
        let detail = match self {
            // The internal detail (service, operation, code) goes to the logs, not to callers.
            DomainError::Dependency(_) => {
                "a service this depends on failed; nothing was changed, try again shortly"
                    .to_owned()
            }
            other => other.to_string(),
        };
        Problem {
            kind: format!("urn:direct-messages:problem:{slug}"),
            title: title.to_owned(),
            status: self.status(),
            detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DependencyError;

    #[test]
    fn missing_clinic_is_401_unauthenticated() {
        let problem = DomainError::Unauthenticated.problem();
        assert_eq!(problem.status, 401);
        assert_eq!(problem.kind, "urn:direct-messages:problem:unauthenticated");
        assert!(problem.detail.contains("sign in"));
    }

    #[test]
    fn dependency_failure_hides_internal_detail_from_callers() {
        let error = DomainError::Dependency(DependencyError::new(
            "dynamodb",
            "GetItem",
            "ResourceNotFoundException",
        ));
        let problem = error.problem();
        assert_eq!(problem.status, 502);
        assert!(!problem.detail.contains("ResourceNotFound"));
        assert!(!problem.detail.contains("dynamodb"));
        assert!(problem.detail.contains("try again"));
    }
}
