//! The `admin` function: the operator's onboarding, the clinic admins' settings, templates
//! and chats, and the privacy officer's audit trail. Each route names the role it takes.

use aws::{
    AwsClients,
    api_gateway::{
        caller::{caller, operator},
        request::{json_body, path_parameter, route_key},
        responses::{into_response, json_response, problem_response},
    },
    config::Config,
    wiring::OnAws,
};
use domain::{
    DomainError,
    admin::{ClinicSettings, Library, LibraryRequest, Onboarding, parse_if_match},
    audit_trail::{AuditParameters, AuditReader, AuditRequest},
    caller::{Caller, Role},
    ids::{ChatId, ClinicId, TemplateId},
    model::{AuditEntry, Clinic},
    ports::{LibraryItem, LibraryKind},
};
use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use serde::Serialize;

pub struct AdminRoutes {
    onboarding: Onboarding,
    settings: ClinicSettings,
    library: Library,
    audit: AuditReader,
}

impl OnAws for AdminRoutes {
    fn on_aws(config: &Config, clients: &AwsClients) -> Self {
        AdminRoutes {
            onboarding: Onboarding::on_aws(config, clients),
            settings: ClinicSettings::on_aws(config, clients),
            library: Library::on_aws(config, clients),
            audit: AuditReader::on_aws(config, clients),
        }
    }
}

/// A clinic's settings, with what the administrator should know about the texts.
#[derive(Debug, Serialize)]
struct ClinicView {
    #[serde(flatten)]
    clinic: Clinic,
    warnings: Vec<String>,
}

/// The answer to `PUT /clinics/{clinicId}/integration`.
#[derive(Debug, Serialize)]
struct IntegrationView {
    clinic_id: String,
    client_id: String,
}

#[derive(Debug, Serialize)]
struct AuditView {
    items: Vec<AuditEntry>,
    next_cursor: Option<String>,
}

/// The caller with `role` in their clinic.
fn member(request: &Request, role: Role) -> Result<Caller, DomainError> {
    let caller = caller(request)?;
    caller.require(role)?;
    Ok(caller)
}

/// A saved template or chat, with its version as its `ETag`.
fn saved(status: StatusCode, result: Result<LibraryItem, DomainError>) -> Response<Body> {
    let item = match result {
        Ok(item) => item,
        Err(error) => return problem_response(&error),
    };
    let mut response = match &item {
        LibraryItem::Template(template) => json_response(status, template),
        LibraryItem::Chat(chat) => json_response(status, chat),
    };
    let etag = format!("\"{}\"", item.version());
    if let Ok(value) = etag.parse() {
        response.headers_mut().insert("etag", value);
    }
    response
}

fn if_match(request: &Request, kind: LibraryKind) -> Result<u64, DomainError> {
    let header = request
        .headers()
        .get("if-match")
        .and_then(|value| value.to_str().ok());
    parse_if_match(header, kind)
}

impl AdminRoutes {
    pub async fn handle(&self, request: Request) -> Response<Body> {
        match route_key(&request).as_deref() {
            Some("POST /clinics") => {
                into_response(StatusCode::CREATED, self.onboard(&request).await)
            }
            Some("PUT /clinics/{clinicId}/integration") => {
                into_response(StatusCode::OK, self.bind_integration(&request).await)
            }
            Some("GET /clinic") => into_response(StatusCode::OK, self.clinic(&request).await),
            Some("PATCH /clinic") => {
                into_response(StatusCode::OK, self.change_settings(&request).await)
            }
            Some("POST /templates") => saved(
                StatusCode::CREATED,
                self.save(&request, LibraryKind::Template, |request, _| {
                    Ok(LibraryRequest::CreateTemplate(json_body(request)?))
                })
                .await,
            ),
            Some("PUT /templates/{templateId}") => saved(
                StatusCode::OK,
                self.save(&request, LibraryKind::Template, |request, version| {
                    Ok(LibraryRequest::ReplaceTemplate {
                        id: TemplateId::parse(
                            &path_parameter(request, "templateId").unwrap_or_default(),
                        )?,
                        version: version?,
                        form: json_body(request)?,
                    })
                })
                .await,
            ),
            Some("POST /chats") => saved(
                StatusCode::CREATED,
                self.save(&request, LibraryKind::Chat, |request, _| {
                    Ok(LibraryRequest::CreateChat(json_body(request)?))
                })
                .await,
            ),
            Some("PUT /chats/{chatId}") => saved(
                StatusCode::OK,
                self.save(&request, LibraryKind::Chat, |request, version| {
                    Ok(LibraryRequest::ReplaceChat {
                        id: ChatId::parse(&path_parameter(request, "chatId").unwrap_or_default())?,
                        version: version?,
                        form: json_body(request)?,
                    })
                })
                .await,
            ),
            Some("DELETE /templates/{templateId}") => {
                self.delete(&request, LibraryKind::Template, "templateId")
                    .await
            }
            Some("DELETE /chats/{chatId}") => {
                self.delete(&request, LibraryKind::Chat, "chatId").await
            }
            Some("GET /audit") => into_response(StatusCode::OK, self.audit(&request).await),
            _ => problem_response(&DomainError::NotFound { what: "this route" }),
        }
    }

    async fn onboard(&self, request: &Request) -> Result<ClinicView, DomainError> {
        let operator = operator(request)?;
        let onboarded = self
            .onboarding
            .onboard(&operator.user, &json_body(request)?)
            .await?;
        Ok(ClinicView {
            clinic: onboarded.clinic,
            warnings: onboarded.warnings,
        })
    }

    async fn bind_integration(&self, request: &Request) -> Result<IntegrationView, DomainError> {
        let operator = operator(request)?;
        let clinic = ClinicId::parse(&path_parameter(request, "clinicId").unwrap_or_default())?;
        let client = self
            .onboarding
            .bind_integration(&operator.user, &clinic, &json_body(request)?)
            .await?;
        Ok(IntegrationView {
            clinic_id: clinic.to_string(),
            client_id: client.to_string(),
        })
    }

    async fn clinic(&self, request: &Request) -> Result<ClinicView, DomainError> {
        let caller = member(request, Role::ClinicAdmin)?;
        Ok(ClinicView {
            clinic: self.settings.get(&caller).await?,
            warnings: Vec::new(),
        })
    }

    async fn change_settings(&self, request: &Request) -> Result<ClinicView, DomainError> {
        let caller = member(request, Role::ClinicAdmin)?;
        let (clinic, warnings) = self.settings.change(&caller, &json_body(request)?).await?;
        Ok(ClinicView { clinic, warnings })
    }

    /// Saves the template or chat (`kind`) that `parse` reads from the request, given the
    /// `If-Match` version (which only a replacement needs).
    async fn save(
        &self,
        request: &Request,
        kind: LibraryKind,
        parse: impl Fn(&Request, Result<u64, DomainError>) -> Result<LibraryRequest, DomainError>,
    ) -> Result<LibraryItem, DomainError> {
        let caller = member(request, Role::ClinicAdmin)?;
        let change = parse(request, if_match(request, kind))?;
        self.library.save(&caller, change).await
    }

    async fn delete(
        &self,
        request: &Request,
        kind: LibraryKind,
        parameter: &str,
    ) -> Response<Body> {
        let deleted = async {
            let caller = member(request, Role::ClinicAdmin)?;
            let id = path_parameter(request, parameter).unwrap_or_default();
            let version = if_match(request, kind)?;
            self.library.delete(&caller, kind, &id, version).await
        };
        match deleted.await {
            Ok(()) => Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(Body::Empty)
                .expect("a static response"),
            Err(error) => problem_response(&error),
        }
    }

    async fn audit(&self, request: &Request) -> Result<AuditView, DomainError> {
        let caller = member(request, Role::PrivacyOfficer)?;
        let params = request.query_string_parameters_ref();
        let param = |name| params.and_then(|p| p.first(name));
        let read = AuditRequest::parse(AuditParameters {
            from: param("from"),
            to: param("to"),
            patient_id: param("patient_id"),
            user: param("user"),
            message_id: param("message_id"),
            limit: param("limit"),
            cursor: param("cursor"),
        })?;
        let page = self.audit.page(&caller, &read).await?;
        Ok(AuditView {
            items: page.entries,
            next_cursor: page.next_cursor,
        })
    }
}
