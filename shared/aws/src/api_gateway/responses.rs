//! HTTP answers for API Gateway: results as JSON, and every `DomainError` as
//! `application/problem+json` with the status and body the domain maps it to.

use std::collections::BTreeMap;

pub use domain::problem::PROBLEM_CONTENT_TYPE;
use domain::{DomainError, error::DependencyError, ports::PresignedUpload};
use lambda_http::{Body, Response, http::StatusCode};
use serde::Serialize;

/// How to upload a file to a presigned URL, as the API answers it: PUT to `url` with every
/// header in `headers`.
#[derive(Debug, Serialize)]
pub struct UploadInstructions {
    method: &'static str,
    url: String,
    headers: BTreeMap<String, String>,
}

impl From<PresignedUpload> for UploadInstructions {
    fn from(upload: PresignedUpload) -> Self {
        UploadInstructions {
            method: "PUT",
            url: upload.url,
            headers: upload.headers.into_iter().collect(),
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
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_GATEWAY);
    with_body(status, PROBLEM_CONTENT_TYPE, body)
}

pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_string(value) {
        Ok(body) => with_body(status, "application/json", body),
        Err(_) => problem_response(&DomainError::Dependency(DependencyError::new(
            "api",
            "serialise-response",
            "SerialisationFailed",
        ))),
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

/// The content type of FHIR R4 JSON.
pub const FHIR_CONTENT_TYPE: &str = "application/fhir+json";

/// A FHIR answer: a resource (an `OperationOutcome`, a `Bundle`, the `CapabilityStatement`)
/// with the stored version's `ETag` and `Location` when there is one.
pub fn fhir_response<T: Serialize>(
    status: u16,
    resource: &T,
    etag: Option<String>,
    location: Option<String>,
) -> Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = serde_json::to_string(resource).expect("a FHIR resource serialises");
    let mut response = with_body(status, FHIR_CONTENT_TYPE, body);
    let headers = response.headers_mut();
    for (name, value) in [("etag", etag), ("location", location)] {
        if let Some(value) = value.and_then(|value| value.parse().ok()) {
            headers.insert(name, value);
        }
    }
    response
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
    use domain::problem::Problem;

    use super::*;

    fn body_of(response: &Response<Body>) -> Problem {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).expect("problem json"),
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn an_error_is_answered_with_its_status_and_problem_json_body() {
        let errors = [
            DomainError::Unauthenticated,
            DomainError::BasicTooLong { chars: 161 },
            DomainError::Dependency(DependencyError::new("dynamodb", "GetItem", "Throttling")),
        ];
        for error in errors {
            let response = problem_response(&error);
            let problem = error.problem();
            assert_eq!(response.status(), problem.status);
            assert_eq!(response.headers()["content-type"], PROBLEM_CONTENT_TYPE);
            assert_eq!(response.headers()["cache-control"], "no-store");
            assert_eq!(body_of(&response), problem);
        }
    }
}
