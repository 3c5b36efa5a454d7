//! The `send` function: staff's writes about an appointment: basic and secure messages to
//! a patient, attachment uploads, clearing `Unclear` once the patient was called, and
//! clearing a secure message's lock.

use aws::{
    AwsClients,
    api_gateway::{
        caller::caller,
        request::{json_body, path_parameter, route_key},
        responses::{UploadInstructions, into_response, problem_response, stored_json_response},
    },
    config::Config,
    wiring::OnAws,
};
use domain::{
    DomainError,
    attachments::UploadRequest,
    caller::{Caller, Role},
    idempotency::IdempotencyKey,
    ids::{AppointmentId, MessageId},
    message_actions::MessageActions,
    ports::StoredResponse,
    send::{MessagePreview, MessageSender, SendRequest, UploadTicket},
    worklist::Worklist,
};
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde::Serialize;

pub struct SendRoutes {
    sender: MessageSender,
    worklist: Worklist,
    actions: MessageActions,
}

/// The answer to `POST /messages/{messageId}/clear-lock`.
#[derive(Debug, Serialize)]
struct LockView {
    message_id: String,
    /// `cleared`, or `not-locked` when there was nothing to clear.
    lock: &'static str,
}

/// The answer to `POST /messages/{messageId}/withdraw`.
#[derive(Debug, Serialize)]
struct WithdrawnView {
    message_id: String,
    /// When it was withdrawn (by this request, or the first one).
    withdrawn_at: jiff::Timestamp,
    /// `false` when an earlier request had withdrawn it.
    withdrawn_now: bool,
}

/// The answer to `POST /appointments/{appointmentId}/clear-unclear`.
#[derive(Debug, Serialize)]
struct ClearedView {
    appointment_id: String,
    /// The EMR's status, shown again.
    status: domain::appointment_status::AppointmentStatus,
}

/// The answer to `POST /attachments`: PUT the file to `upload.url` with `upload.headers`.
#[derive(Debug, Serialize)]
struct UploadView {
    attachment_id: String,
    upload: UploadInstructions,
    expires_at: jiff::Timestamp,
}

impl From<UploadTicket> for UploadView {
    fn from(ticket: UploadTicket) -> Self {
        UploadView {
            attachment_id: ticket.attachment_id.to_string(),
            upload: ticket.upload.into(),
            expires_at: ticket.expires_at,
        }
    }
}

impl OnAws for SendRoutes {
    fn on_aws(config: &Config, clients: &AwsClients) -> Self {
        SendRoutes {
            sender: MessageSender::on_aws(config, clients),
            worklist: Worklist::on_aws(config, clients),
            actions: MessageActions::on_aws(config, clients),
        }
    }
}

impl SendRoutes {
    pub async fn handle(&self, request: Request) -> Response<Body> {
        // Every route here is the staff's (a clinic admin's too).
        let caller = match caller(&request).and_then(|caller| {
            caller.require(Role::Staff)?;
            Ok(caller)
        }) {
            Ok(caller) => caller,
            Err(error) => return problem_response(&error),
        };
        match route_key(&request).as_deref() {
            Some("POST /appointments/{appointmentId}/messages") => {
                match self.send_message(&caller, &request).await {
                    Ok(stored) => stored_json_response(stored.status, stored.body),
                    Err(error) => problem_response(&error),
                }
            }
            Some("POST /appointments/{appointmentId}/messages/preview") => {
                into_response(StatusCode::OK, self.preview(&caller, &request).await)
            }
            Some("POST /attachments") => into_response(
                StatusCode::CREATED,
                self.start_upload(&caller, &request).await,
            ),
            Some("POST /appointments/{appointmentId}/clear-unclear") => {
                into_response(StatusCode::OK, self.clear_unclear(&caller, &request).await)
            }
            Some("POST /messages/{messageId}/clear-lock") => {
                into_response(StatusCode::OK, self.clear_lock(&caller, &request).await)
            }
            Some("POST /messages/{messageId}/resend") => {
                match self.resend(&caller, &request).await {
                    Ok(stored) => stored_json_response(stored.status, stored.body),
                    Err(error) => problem_response(&error),
                }
            }
            Some("POST /messages/{messageId}/withdraw") => {
                into_response(StatusCode::OK, self.withdraw(&caller, &request).await)
            }
            _ => problem_response(&DomainError::NotFound { what: "this route" }),
        }
    }

    async fn clear_unclear(
        &self,
        caller: &Caller,
        request: &Request,
    ) -> Result<ClearedView, DomainError> {
        let id =
            AppointmentId::parse(&path_parameter(request, "appointmentId").unwrap_or_default())?;
        let status = self.worklist.clear(caller, &id).await?;
        Ok(ClearedView {
            appointment_id: id.to_string(),
            status,
        })
    }

    async fn clear_lock(
        &self,
        caller: &Caller,
        request: &Request,
    ) -> Result<LockView, DomainError> {
        let id = MessageId::parse(&path_parameter(request, "messageId").unwrap_or_default())?;
        let cleared = self.actions.clear_lock(caller, &id).await?;
        Ok(LockView {
            message_id: id.to_string(),
            lock: cleared.as_str(),
        })
    }

    async fn withdraw(
        &self,
        caller: &Caller,
        request: &Request,
    ) -> Result<WithdrawnView, DomainError> {
        let id = MessageId::parse(&path_parameter(request, "messageId").unwrap_or_default())?;
        let withdrawn = self.actions.withdraw(caller, &id).await?;
        Ok(WithdrawnView {
            message_id: id.to_string(),
            withdrawn_at: withdrawn.withdrawn_at,
            withdrawn_now: withdrawn.now,
        })
    }

    async fn send_message(
        &self,
        caller: &Caller,
        request: &Request,
    ) -> Result<StoredResponse, DomainError> {
        let appointment =
            AppointmentId::parse(&path_parameter(request, "appointmentId").unwrap_or_default())?;
        let key = idempotency_key(request)?;
        let body: SendRequest = json_body(request)?;
        self.sender.send(caller, &appointment, &key, &body).await
    }

    /// The SMS a send of the same body would publish, and every rule it would break.
    async fn preview(
        &self,
        caller: &Caller,
        request: &Request,
    ) -> Result<MessagePreview, DomainError> {
        let appointment =
            AppointmentId::parse(&path_parameter(request, "appointmentId").unwrap_or_default())?;
        let body: SendRequest = json_body(request)?;
        self.sender.preview(caller, &appointment, &body).await
    }

    async fn resend(
        &self,
        caller: &Caller,
        request: &Request,
    ) -> Result<StoredResponse, DomainError> {
        let id = MessageId::parse(&path_parameter(request, "messageId").unwrap_or_default())?;
        let key = idempotency_key(request)?;
        self.sender.resend(caller, &id, &key).await
    }

    async fn start_upload(
        &self,
        caller: &Caller,
        request: &Request,
    ) -> Result<UploadView, DomainError> {
        let body: UploadRequest = json_body(request)?;
        let ticket = self.sender.start_upload(&caller.clinic_id, &body).await?;
        Ok(ticket.into())
    }
}

/// The `Idempotency-Key` header, required by the routes that text a patient.
fn idempotency_key(request: &Request) -> Result<IdempotencyKey, DomainError> {
    let header = request
        .headers()
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok());
    IdempotencyKey::parse(header)
}
