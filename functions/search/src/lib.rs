//! The `search` function: the dashboard's read side (find patients, appointment details,
//! the Unclear worklist, the outbox, the clinic's templates and chats).

mod views;

use aws::{
    AwsClients,
    api_gateway::{
        caller::caller,
        request::{path_parameter, route_key},
        responses::{into_response, problem_response},
    },
    config::Config,
    wiring::OnAws,
};
use domain::{
    DomainError,
    caller::{Caller, Role},
    ids::AppointmentId,
    outbox::{Outbox, OutboxRequest},
    search::{ForClinic, SearchRequest, Searcher},
    worklist::{Worklist, WorklistRequest},
};
use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};

use crate::views::{
    AppointmentDetailsView, Chats, Listing, OutboxView, PatientResults, Templates, WorklistView,
};

pub struct SearchRoutes {
    searcher: Searcher,
    worklist: Worklist,
    outbox: Outbox,
}

impl OnAws for SearchRoutes {
    fn on_aws(config: &Config, clients: &AwsClients) -> Self {
        SearchRoutes {
            searcher: Searcher::on_aws(config, clients),
            worklist: Worklist::on_aws(config, clients),
            outbox: Outbox::on_aws(config, clients),
        }
    }
}

impl SearchRoutes {
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
            Some("GET /patients") => {
                into_response(StatusCode::OK, self.find_patients(&caller, &request).await)
            }
            Some("GET /appointments/{appointmentId}") => {
                into_response(StatusCode::OK, self.appointment(&caller, &request).await)
            }
            Some("GET /appointments") => {
                into_response(StatusCode::OK, self.unclear(&caller, &request).await)
            }
            Some("GET /messages") => {
                into_response(StatusCode::OK, self.outbox(&caller, &request).await)
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
        let found = self.searcher.find_patients(caller, &search).await?;
        Ok(PatientResults::of(found))
    }

    async fn appointment(
        &self,
        caller: &Caller,
        request: &Request,
    ) -> Result<AppointmentDetailsView, DomainError> {
        let id =
            AppointmentId::parse(&path_parameter(request, "appointmentId").unwrap_or_default())?;
        let details = self.searcher.appointment_details(caller, &id).await?;
        Ok(AppointmentDetailsView::of(details))
    }

    async fn unclear(
        &self,
        caller: &Caller,
        request: &Request,
    ) -> Result<WorklistView, DomainError> {
        let params = request.query_string_parameters_ref();
        let param = |name| params.and_then(|p| p.first(name));
        let now = self.worklist.clock.now();
        let listing = WorklistRequest::parse(
            param("status"),
            param("from"),
            param("to"),
            param("limit"),
            param("cursor"),
            now,
        )?;
        let clinic = self.searcher.clinics.get(&caller.clinic_id).await?;
        let value = self.worklist.page(caller, &listing).await?;
        Ok(WorklistView::of(ForClinic { clinic, now, value }))
    }

    async fn outbox(&self, caller: &Caller, request: &Request) -> Result<OutboxView, DomainError> {
        let params = request.query_string_parameters_ref();
        let param = |name| params.and_then(|p| p.first(name));
        let listing = OutboxRequest::parse(
            param("from"),
            param("to"),
            param("status"),
            param("limit"),
            param("cursor"),
            self.outbox.clock.now(),
        )?;
        let clinic = self.searcher.clinics.get(&caller.clinic_id).await?;
        let value = self.outbox.page(caller, &listing).await?;
        Ok(OutboxView::of(clinic.zone(), value))
    }

    async fn templates(&self, caller: &Caller) -> Result<Templates, DomainError> {
        let items = self.searcher.templates(&caller.clinic_id).await?;
        Ok(Listing { items })
    }

    async fn chats(&self, caller: &Caller) -> Result<Chats, DomainError> {
        let items = self.searcher.chats(&caller.clinic_id).await?;
        Ok(Listing { items })
    }
}
