//! The `fhir-sync` function: the clinic's EMR writes patients and appointments over FHIR R4
//! (`PUT` of one resource, `POST` of a batch or transaction bundle), with its machine
//! client's token; answers are FHIR resources (`OperationOutcome`, `Bundle`). Bulk imports
//! start here too (`POST /fhir/$import-upload`, `GET /fhir/$import/{id}`); their files are
//! read by the `fhir-import` entry point of this crate ([`imports`]).

mod capability;
pub mod imports;

use aws::{
    AwsClients,
    api_gateway::{
        caller::integration_client,
        request::{path_parameter, route_key},
        responses::{UploadInstructions, fhir_response, json_response},
    },
    config::Config,
    wiring::OnAws,
};
use domain::{
    DomainError,
    emr_sync::{
        EmrSync, ResourceType, SyncAnswer,
        import::{EmrImport, ImportUpload},
    },
    fhir::outcome::{Issue, IssueCode, OperationOutcome},
};
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde::Serialize;

pub struct FhirRoutes {
    sync: EmrSync,
    import: EmrImport,
}

impl OnAws for FhirRoutes {
    fn on_aws(config: &Config, clients: &AwsClients) -> Self {
        FhirRoutes {
            sync: EmrSync::on_aws(config, clients),
            import: EmrImport::on_aws(config, clients),
        }
    }
}

/// The answer to `POST /fhir/$import-upload`: PUT the NDJSON file to `upload.url` with
/// `upload.headers`; the import starts when it arrives, and `report` says how it went.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportUploadView {
    import_id: String,
    upload: UploadInstructions,
    expires_at: jiff::Timestamp,
    report: String,
}

impl From<ImportUpload> for ImportUploadView {
    fn from(started: ImportUpload) -> Self {
        ImportUploadView {
            report: format!("/fhir/$import/{}", started.import_id),
            import_id: started.import_id.to_string(),
            upload: started.upload.into(),
            expires_at: started.expires_at,
        }
    }
}

impl FhirRoutes {
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let route = route_key(&request);
        if route.as_deref() == Some("GET /fhir/metadata") {
            return fhir_response(200, &capability::statement(), None, None);
        }
        let client = match integration_client(&request) {
            Ok(client) => client,
            Err(error) => return refused_sign_in(&error),
        };
        let clinic = match self.sync.clinic_of(&client).await {
            Ok(clinic) => clinic,
            Err(answer) => return answered(&answer),
        };
        let body: &[u8] = request.body().as_ref();
        let id = path_parameter(&request, "id").unwrap_or_default();
        let answer = match route.as_deref() {
            Some("PUT /fhir/Patient/{id}") => {
                self.sync
                    .put(&clinic, ResourceType::Patient, &id, body)
                    .await
            }
            Some("PUT /fhir/Appointment/{id}") => {
                self.sync
                    .put(&clinic, ResourceType::Appointment, &id, body)
                    .await
            }
            Some("POST /fhir/$import-upload") => match self.import.start_upload(&clinic).await {
                Ok(started) => {
                    return json_response(StatusCode::CREATED, &ImportUploadView::from(started));
                }
                Err(answer) => answer,
            },
            Some("GET /fhir/$import/{id}") => match self.import.report(&clinic, &id).await {
                Ok(report) => return json_response(StatusCode::OK, &report),
                Err(answer) => answer,
            },
            Some("POST /fhir") => match self.sync.bundle(&clinic, body).await {
                Ok(bundle) => {
                    tracing::info!(clinic_id = %clinic, entries = bundle.entry.len(), "FHIR bundle");
                    return fhir_response(200, &bundle, None, None);
                }
                Err(answer) => answer,
            },
            _ => SyncAnswer::refused(
                404,
                vec![Issue::error(
                    IssueCode::NotSupported,
                    "",
                    "this FHIR route is not served here: see GET /fhir/metadata",
                )],
            ),
        };
        tracing::info!(clinic_id = %clinic, status = answer.status, "FHIR write");
        answered(&answer)
    }
}

fn answered(answer: &SyncAnswer) -> Response<Body> {
    let outcome = answer
        .outcome
        .clone()
        .unwrap_or_else(|| OperationOutcome::of(Vec::new()));
    let location = (answer.status == 201).then(|| answer.location()).flatten();
    fhir_response(answer.status, &outcome, answer.etag(), location)
}

/// A sign-in that may not use these routes, answered as FHIR does: an `OperationOutcome`.
fn refused_sign_in(error: &DomainError) -> Response<Body> {
    let problem = error.problem();
    tracing::info!(status = problem.status, problem = %problem.kind, "FHIR request refused");
    let code = match error {
        DomainError::Forbidden { .. } => IssueCode::Forbidden,
        _ => IssueCode::Security,
    };
    let outcome = OperationOutcome::of(vec![Issue::error(code, "", problem.detail)]);
    fhir_response(problem.status, &outcome, None, None)
}
