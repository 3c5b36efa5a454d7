//! The `send` function: basic and secure messages to a patient, and attachment uploads.

use direct_messages::{
    DomainError, caller::Caller, request::route_key, responses::problem_response,
};
use lambda_http::{Body, Request, Response};

#[derive(Debug, Default)]
pub struct Send;

impl Send {
    pub fn new() -> Self {
        Self
    }

    pub async fn handle(&self, request: Request) -> Response<Body> {
        if let Err(error) = Caller::from_request(&request) {
            return problem_response(&error);
        }
        match route_key(&request).as_deref() {
            Some("POST /appointments/{appointmentId}/messages") => {
                problem_response(&DomainError::NotImplemented { feature: "sending messages" })
            }
            Some("POST /attachments") => {
                problem_response(&DomainError::NotImplemented { feature: "attachment uploads" })
            }
            _ => problem_response(&DomainError::NotFound { what: "this route" }),
        }
    }
}
