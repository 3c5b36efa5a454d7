//! The `search` function: the dashboard's read side (find patients, appointment details,
//! the clinic's templates and chats).

use std::sync::Arc;

use direct_messages::{
    DomainError,
    adapters::{AwsClients, dynamodb::DynamoStore},
    caller::Caller,
    config::Config,
    ports::ClinicStore,
    request::route_key,
    responses::{into_response, problem_response},
};
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde::Serialize;

pub struct Search {
    clinics: Arc<dyn ClinicStore>,
}

#[derive(Debug, Serialize)]
struct Listing<T> {
    items: Vec<T>,
}

impl Search {
    pub fn new(clinics: Arc<dyn ClinicStore>) -> Self {
        Self { clinics }
    }

    pub fn from_aws(config: &Config, clients: &AwsClients) -> Self {
        Self::new(Arc::new(DynamoStore::new(clients.dynamodb.clone(), config.tables.clone())))
    }

    pub async fn handle(&self, request: Request) -> Response<Body> {
        let caller = match Caller::from_request(&request) {
            Ok(caller) => caller,
            Err(error) => return problem_response(&error),
        };
        match route_key(&request).as_deref() {
            Some("GET /templates") => {
                let templates = self.clinics.list_templates(&caller.clinic_id).await;
                into_response(StatusCode::OK, templates.map(|items| Listing { items }).map_err(DomainError::from))
            }
            Some("GET /chats") => {
                let chats = self.clinics.list_chats(&caller.clinic_id).await;
                into_response(StatusCode::OK, chats.map(|items| Listing { items }).map_err(DomainError::from))
            }
            Some("GET /patients") => problem_response(&DomainError::NotImplemented { feature: "patient search" }),
            Some("GET /appointments/{appointmentId}") => {
                problem_response(&DomainError::NotImplemented { feature: "appointment details" })
            }
            _ => problem_response(&DomainError::NotFound { what: "this route" }),
        }
    }
}
