//! HTTP answers: results as JSON, and every `DomainError` as `application/problem+json`
//! (RFC 9457). This is the one place where errors meet status codes.

use lambda_http::{Body, Response, http::StatusCode};
use serde::Serialize;

use crate::error::DomainError;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// The body of an error answer.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
}

impl DomainError {
    pub fn status(&self) -> StatusCode {
        match self {
            DomainError::Unauthenticated => StatusCode::UNAUTHORIZED,
            DomainError::NotFound { .. } => StatusCode::NOT_FOUND,
            DomainError::InvalidPhn(_)
            | DomainError::InvalidPhone(_)
            | DomainError::InvalidEmail(_)
            | DomainError::InvalidId(_)
            | DomainError::InvalidBody { .. }
            | DomainError::InvalidParameter { .. } => StatusCode::BAD_REQUEST,
            DomainError::UnsupportedFileType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            DomainError::BasicTooLong { .. }
            | DomainError::SecureTooLong { .. }
            | DomainError::EmptyMessage
            | DomainError::Template(_)
            | DomainError::AttachmentsOnBasic
            | DomainError::SecureTemplateOnBasic
            | DomainError::TooManyAttachments { .. }
            | DomainError::AttachmentRefused { .. }
            | DomainError::PhnRequiredForSecure
            | DomainError::NoPhoneOnFile
            | DomainError::OutsideSearchWindow
            | DomainError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            DomainError::SendInProgress | DomainError::SendUnfinished | DomainError::OptedOut => {
                StatusCode::CONFLICT
            }
            DomainError::SmsFailed => StatusCode::BAD_GATEWAY,
            DomainError::Dependency(_) => StatusCode::BAD_GATEWAY,
        }
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            DomainError::Unauthenticated => ("unauthenticated", "Sign-in required"),
            DomainError::NotFound { .. } => ("not-found", "Not found"),
            DomainError::InvalidPhn(_) => ("invalid-phn", "Invalid PHN"),
            DomainError::InvalidPhone(_) => ("invalid-phone", "Invalid phone number"),
            DomainError::InvalidEmail(_) => ("invalid-email", "Invalid email address"),
            DomainError::InvalidId(_) => ("invalid-id", "Invalid id"),
            DomainError::InvalidBody { .. } => ("invalid-body", "Invalid request body"),
            DomainError::InvalidParameter { .. } => ("invalid-parameter", "Invalid parameter"),
            DomainError::BasicTooLong { .. } => ("basic-too-long", "Basic message too long"),
            DomainError::SecureTooLong { .. } => ("secure-too-long", "Secure message too long"),
            DomainError::EmptyMessage => ("empty-message", "Empty message"),
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
            DomainError::IdempotencyKeyReused => {
                ("idempotency-key-reused", "Idempotency-Key reused")
            }
            DomainError::SendInProgress => ("send-in-progress", "Already being sent"),
            DomainError::SendUnfinished => ("send-unfinished", "Earlier send unfinished"),
            DomainError::OptedOut => ("opted-out", "Patient opted out"),
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
            status: self.status().as_u16(),
            detail,
        }
    }
}

/// The answer for an error; server-side failures are logged here, once, without PHI.
pub fn problem_response(error: &DomainError) -> Response<Body> {
    let problem = error.problem();
    if let DomainError::Dependency(dependency) = error {
        tracing::error!(
            service = dependency.service,
            operation = dependency.operation,
            code = %dependency.code,
            "dependency failed"
        );
    } else {
        tracing::info!(status = problem.status, problem = %problem.kind, "request refused");
    }
    let body = serde_json::to_string(&problem).expect("a Problem always serialises");
    with_body(error.status(), PROBLEM_CONTENT_TYPE, body)
}

pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_string(value) {
        Ok(body) => with_body(status, "application/json", body),
        Err(_) => problem_response(&DomainError::Dependency(
            crate::error::DependencyError::new("api", "serialise-response", "SerialisationFailed"),
        )),
    }
}

/// A JSON answer stored earlier (an idempotent replay answers exactly what the first did).
pub fn stored_json_response(status: u16, body: String) -> Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    with_body(status, "application/json", body)
}

/// Handlers return this: either way the caller gets a complete HTTP answer.
pub fn into_response<T: Serialize>(
    status: StatusCode,
    result: Result<T, DomainError>,
) -> Response<Body> {
    match result {
        Ok(value) => json_response(status, &value),
        Err(error) => problem_response(&error),
    }
}

fn with_body(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("cache-control", "no-store")
        .body(Body::Text(body))
        .expect("static headers are valid")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DependencyError;

    fn body_of(response: &Response<Body>) -> Problem {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).expect("problem json"),
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn missing_clinic_is_401_problem_json() {
        let response = problem_response(&DomainError::Unauthenticated);
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["content-type"], PROBLEM_CONTENT_TYPE);
        let problem = body_of(&response);
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
        let response = problem_response(&error);
        assert_eq!(response.status(), 502);
        let problem = body_of(&response);
        assert!(!problem.detail.contains("ResourceNotFound"));
        assert!(!problem.detail.contains("dynamodb"));
        assert!(problem.detail.contains("try again"));
    }
}
