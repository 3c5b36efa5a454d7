//! The `search` function: the dashboard's read side (find patients, appointment details,
//! the clinic's templates and chats).

mod views;

use std::sync::Arc;

use direct_messages::{
    DomainError,
    adapters::{AwsClients, dynamodb::DynamoStore, system::SystemClock},
    appointment_details::appointment_details,
    caller::Caller,
    clinic_cache::ClinicCache,
    config::Config,
    ids::AppointmentId,
    ports::{AppointmentStore, ClinicStore, Clock, MessageStore, PatientDirectory},
    request::{path_parameter, route_key},
    responses::{into_response, problem_response},
    search::{SearchRequest, find_patients},
};
use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};

use crate::views::{AppointmentDetailsView, Chats, Listing, PatientResults, Templates};

pub struct Search {
    clinic_store: Arc<dyn ClinicStore>,
    clinics: ClinicCache,
    directory: Arc<dyn PatientDirectory>,
    appointments: Arc<dyn AppointmentStore>,
    messages: Arc<dyn MessageStore>,
    clock: Arc<dyn Clock>,
}

impl Search {
    pub fn from_aws(config: &Config, clients: &AwsClients) -> Self {
        let store = Arc::new(DynamoStore::new(clients.dynamodb(), config.tables.clone()));
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        Search {
            clinics: ClinicCache::new(store.clone(), clock.clone()),
            clinic_store: store.clone(),
            directory: store.clone(),
            appointments: store.clone(),
            messages: store,
            clock,
        }
    }

    pub async fn handle(&self, request: Request) -> Response<Body> {
        let caller = match Caller::from_request(&request) {
            Ok(caller) => caller,
            Err(error) => return problem_response(&error),
        };
        match route_key(&request).as_deref() {
            Some("GET /patients") => {
                into_response(StatusCode::OK, self.find_patients(&caller, &request).await)
            }
            Some("GET /appointments/{appointmentId}") => {
                into_response(StatusCode::OK, self.appointment(&caller, &request).await)
            }
            Some("GET /templates") => into_response(StatusCode::OK, self.templates(&caller).await),
            Some("GET /chats") => into_response(StatusCode::OK, self.chats(&caller).await),
            _ => problem_response(&DomainError::NotFound { what: "this route" }),
        }
    }

    async fn find_patients(
        &self,
        caller: &Caller,
        request: &Request,
    ) -> Result<PatientResults, DomainError> {
        let params = request.query_string_parameters_ref();
        let param = |name| params.and_then(|p| p.first(name));
        let search =
            SearchRequest::parse(param("q"), param("by"), param("limit"), param("cursor"))?;
        let clinic = self.clinics.get(&caller.clinic_id).await?;
        let page =
            find_patients(self.directory.as_ref(), &clinic, &search, self.clock.now()).await?;
        tracing::info!(
            clinic_id = %caller.clinic_id,
            kind = search.term.kind(),
            results = page.matches.len(),
            items_read = page.items_read,
            "patient search"
        );
        Ok(PatientResults::of(page, &clinic))
    }

    async fn appointment(
        &self,
        caller: &Caller,
        request: &Request,
    ) -> Result<AppointmentDetailsView, DomainError> {
        let id =
            AppointmentId::parse(&path_parameter(request, "appointmentId").unwrap_or_default())?;
        let clinic = self.clinics.get(&caller.clinic_id).await?;
        let details = appointment_details(
            self.appointments.as_ref(),
            self.messages.as_ref(),
            &caller.clinic_id,
            &id,
        )
        .await?;
        Ok(AppointmentDetailsView::of(
            details,
            &clinic,
            self.clock.now(),
        ))
    }

    async fn templates(&self, caller: &Caller) -> Result<Templates, DomainError> {
        let items = self.clinic_store.list_templates(&caller.clinic_id).await?;
        Ok(Templates { items })
    }

    async fn chats(&self, caller: &Caller) -> Result<Chats, DomainError> {
        let items = self.clinic_store.list_chats(&caller.clinic_id).await?;
        Ok(Listing { items })
    }
}
