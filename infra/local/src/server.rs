//! The API and unlock page on localhost: API Gateway's part (routing by the template's
//! routes, the JWT check, the payload 2.0 event) in front of the real handlers.

use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
};

use aws::api_gateway::caller::{
    CLIENT_CLAIM, CLINIC_CLAIM, FHIR_WRITE_SCOPE, GROUPS_CLAIM, SCOPE_CLAIM, USER_CLAIM,
    groups_claim,
};
use axum::{
    Router,
    body::{Body as AxumBody, Bytes},
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::post,
};
use domain::caller::Role;
use jiff::Timestamp;
use lambda_http::Body;
use serde::Deserialize;
use serde_json::json;

use crate::{
    api_event::{HttpCall, inbound_sms_event},
    functions::Functions,
    template::{CorsSpec, Route, Template},
};

/// A local sign-in: a bearer token standing for one user of one clinic in the groups of
/// their roles (the operator belongs to no clinic), as a Cognito ID token would.
#[derive(Debug, Clone)]
pub struct LocalSignIn {
    pub token: String,
    pub clinic_id: Option<String>,
    pub user: String,
    pub roles: Vec<Role>,
}

impl LocalSignIn {
    /// A staff user of `clinic_id`.
    pub fn staff(token: &str, clinic_id: &str, user: &str) -> LocalSignIn {
        LocalSignIn {
            token: token.to_owned(),
            clinic_id: Some(clinic_id.to_owned()),
            user: user.to_owned(),
            roles: vec![Role::Staff],
        }
    }

    /// What the JWT authorizer would pass on for this sign-in.
    fn claims(&self) -> BTreeMap<String, String> {
        let mut claims = BTreeMap::from([
            (USER_CLAIM.to_owned(), self.user.clone()),
            (GROUPS_CLAIM.to_owned(), groups_claim(&self.roles)),
        ]);
        if let Some(clinic) = &self.clinic_id {
            claims.insert(CLINIC_CLAIM.to_owned(), clinic.clone());
        }
        claims
    }
}

/// The EMR integration's local sign-in: a bearer token standing for the clinic's machine
/// client, as a Cognito access token of the client-credentials grant would.
#[derive(Debug, Clone)]
pub struct LocalIntegration {
    pub token: String,
    pub clinic_id: String,
    pub client_id: String,
}

/// Every sign-in as scripts read them (`target/local-stack/sign-ins.json`): a list of
/// `{"clinic_id", "role", "token"}`, one per role of each user (`clinic_id` null for the
/// operator), and each EMR integration's with role `integration`.
pub fn sign_ins(users: &[LocalSignIn], integrations: &[LocalIntegration]) -> serde_json::Value {
    let users = users.iter().flat_map(|user| {
        user.roles.iter().map(
            |role| json!({"clinic_id": user.clinic_id, "role": role.group(), "token": user.token}),
        )
    });
    let integrations = integrations.iter().map(|integration| {
        json!({
            "clinic_id": integration.clinic_id, "role": "integration", "token": integration.token
        })
    });
    serde_json::Value::Array(users.chain(integrations).collect())
}

pub struct LocalApi {
    routes: Vec<(String, Route)>,
    /// The template's CORS configuration, and the dashboard origin it allows here.
    cors: Option<(CorsSpec, String)>,
    functions: Functions,
    /// Grown by `POST /local/sign-ins`, which stands for creating Cognito users and app
    /// clients for an onboarded clinic.
    sign_ins: RwLock<Vec<LocalSignIn>>,
    integrations: RwLock<Vec<LocalIntegration>>,
    inbound_topic_arn: String,
}

impl LocalApi {
    pub fn new(
        template: &Template,
        functions: Functions,
        sign_in: LocalSignIn,
        inbound_topic_arn: String,
    ) -> Self {
        let routes = template
            .functions
            .iter()
            .flat_map(|function| {
                function
                    .routes
                    .iter()
                    .map(|route| (function.binary.clone(), route.clone()))
            })
            .collect();
        Self {
            routes,
            cors: None,
            functions,
            sign_ins: RwLock::new(vec![sign_in]),
            integrations: RwLock::new(Vec::new()),
            inbound_topic_arn,
        }
    }

    /// Answers browsers on `origin` as API Gateway does on the template's dashboard origins:
    /// preflights, and the CORS headers on every answer.
    pub fn with_dashboard_origin(mut self, template: &Template, origin: &str) -> Self {
        self.cors = template.cors.clone().map(|cors| (cors, origin.to_owned()));
        self
    }

    /// Accepts another user's token too.
    pub fn with_sign_in(mut self, sign_in: LocalSignIn) -> Self {
        self.sign_ins
            .get_mut()
            .expect("sign-ins lock")
            .push(sign_in);
        self
    }

    /// Accepts a clinic's EMR integration's token too.
    pub fn with_integration(mut self, integration: LocalIntegration) -> Self {
        self.integrations
            .get_mut()
            .expect("integrations lock")
            .push(integration);
        self
    }
}

pub fn router(api: Arc<LocalApi>) -> Router {
    Router::new()
        .route("/local/sms-replies", post(simulate_reply))
        .route("/local/sign-ins", post(create_sign_in))
        .fallback(dispatch)
        .with_state(api)
}

/// Matches `/appointments/a-1/messages` against `/appointments/{appointmentId}/messages`.
fn match_path(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let wanted: Vec<&str> = template.trim_matches('/').split('/').collect();
    let given: Vec<&str> = path.trim_matches('/').split('/').collect();
    if wanted.len() != given.len() {
        return None;
    }
    let mut parameters = BTreeMap::new();
    for (pattern, segment) in wanted.iter().zip(given) {
        match pattern.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) if !segment.is_empty() => {
                let value = percent_decode(segment)?;
                parameters.insert(name.to_owned(), value);
            }
            Some(_) => return None,
            None if *pattern == segment => {}
            None => return None,
        }
    }
    Some(parameters)
}

fn percent_decode(segment: &str) -> Option<String> {
    let decoded: Vec<u8> =
        form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, value)| value.into_owned().into_bytes())?;
    String::from_utf8(decoded).ok()
}

fn gateway_answer(status: StatusCode, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({ "message": message }).to_string(),
    )
        .into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
}

async fn dispatch(
    State(api): State<Arc<LocalApi>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let allowed = api.cors.as_ref().filter(|(_, origin)| {
        headers.get("origin").and_then(|value| value.to_str().ok()) == Some(origin.as_str())
    });
    if method == Method::OPTIONS && headers.contains_key("access-control-request-method") {
        return preflight(allowed);
    }
    let mut response = route(&api, method, &uri, &headers, body).await;
    if let Some((cors, origin)) = allowed {
        let answer = response.headers_mut();
        for (name, value) in [
            ("access-control-allow-origin", origin.clone()),
            (
                "access-control-expose-headers",
                cors.expose_headers.join(","),
            ),
            ("vary", "origin".to_owned()),
        ] {
            if let Ok(value) = value.parse() {
                answer.insert(name, value);
            }
        }
    }
    response
}

/// A browser's preflight: answered without a sign-in, as API Gateway does; an origin the
/// API does not allow gets no CORS headers, so the browser refuses the call.
fn preflight(allowed: Option<&(CorsSpec, String)>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some((cors, origin)) = allowed {
        let answer = response.headers_mut();
        for (name, value) in [
            ("access-control-allow-origin", origin.clone()),
            ("access-control-allow-methods", cors.allow_methods.join(",")),
            ("access-control-allow-headers", cors.allow_headers.join(",")),
            ("access-control-max-age", cors.max_age.to_string()),
            ("vary", "origin".to_owned()),
        ] {
            if let Ok(value) = value.parse() {
                answer.insert(name, value);
            }
        }
    }
    response
}

async fn route(
    api: &LocalApi,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let found = api.routes.iter().find_map(|(binary, route)| {
        (route.method == method.as_str())
            .then(|| match_path(&route.path, path))
            .flatten()
            .map(|parameters| (binary, route, parameters))
    });
    let Some((binary, route, path_parameters)) = found else {
        return gateway_answer(StatusCode::NOT_FOUND, "Not Found");
    };
    let integration = api
        .integrations
        .read()
        .expect("integrations lock")
        .iter()
        .find(|integration| bearer(headers) == Some(integration.token.as_str()))
        .cloned();
    let claims = if route.public {
        None
    } else if let Some(claims) = api
        .sign_ins
        .read()
        .expect("sign-ins lock")
        .iter()
        .find(|sign_in| bearer(headers) == Some(sign_in.token.as_str()))
        .map(LocalSignIn::claims)
    {
        Some(claims)
    } else if let Some(integration) = integration {
        Some(BTreeMap::from([
            (CLIENT_CLAIM.to_owned(), integration.client_id.clone()),
            (SCOPE_CLAIM.to_owned(), FHIR_WRITE_SCOPE.to_owned()),
        ]))
    } else {
        return gateway_answer(StatusCode::UNAUTHORIZED, "Unauthorized");
    };
    let call = HttpCall {
        method: method.to_string(),
        path: path.to_owned(),
        raw_query: uri.query().unwrap_or_default().to_owned(),
        headers: headers
            .iter()
            .filter(|(name, _)| name.as_str() != "authorization")
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
            .collect(),
        body: body.to_vec(),
        route_key: route.key(),
        path_parameters,
        claims,
    };
    let request = match call.request(Timestamp::now()) {
        Ok(request) => request,
        Err(_) => return gateway_answer(StatusCode::BAD_REQUEST, "Bad Request"),
    };
    match api.functions.call_http(binary, request).await {
        Some(response) => into_axum(response),
        None => gateway_answer(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    }
}

fn into_axum(response: lambda_http::Response<Body>) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Vec::new(),
        Body::Text(text) => text.into_bytes(),
        Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    Response::from_parts(parts, AxumBody::from(bytes))
}

/// A patient's reply, as the dashboard-free way to try the inbound flow locally.
#[derive(Debug, Deserialize)]
struct SimulatedReply {
    from: String,
    to: String,
    text: String,
}

/// A sign-in to create for an onboarded clinic: a user of one role, or its EMR
/// integration's machine client (`client_id`, bound by `PUT /clinics/{id}/integration`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSignIn {
    clinic_id: String,
    role: String,
    #[serde(default)]
    client_id: Option<String>,
}

/// `POST /local/sign-ins` (the operator's token): what creating a Cognito user in a role's
/// group, or an app client, is on AWS. Answers `{"clinic_id", "role", "token", "user"}`.
async fn create_sign_in(
    State(api): State<Arc<LocalApi>>,
    headers: HeaderMap,
    axum::Json(wanted): axum::Json<NewSignIn>,
) -> Response {
    let is_operator = api
        .sign_ins
        .read()
        .expect("sign-ins lock")
        .iter()
        .any(|sign_in| {
            bearer(&headers) == Some(sign_in.token.as_str())
                && sign_in.roles.contains(&Role::Operator)
        });
    if !is_operator {
        return gateway_answer(
            StatusCode::FORBIDDEN,
            "the operator's token creates sign-ins",
        );
    }
    let token = hex::encode(domain::random::bytes::<24>(&aws::system::OsRandom));
    // A user id of its own: never part of the token, which audit entries would then show.
    let user = format!(
        "{}-{}",
        wanted.role,
        hex::encode(domain::random::bytes::<4>(&aws::system::OsRandom))
    );
    let answer = json!({
        "clinic_id": wanted.clinic_id, "role": wanted.role, "token": token, "user": user
    });
    match (wanted.role.as_str(), wanted.client_id) {
        ("integration", Some(client_id)) => {
            api.integrations
                .write()
                .expect("integrations lock")
                .push(LocalIntegration {
                    token,
                    clinic_id: wanted.clinic_id,
                    client_id,
                });
        }
        (role, None) => {
            let Some(role) = Role::of_group(role).filter(|role| *role != Role::Operator) else {
                return gateway_answer(
                    StatusCode::BAD_REQUEST,
                    "role must be staff, clinic-admin, privacy-officer or integration (with client_id)",
                );
            };
            api.sign_ins
                .write()
                .expect("sign-ins lock")
                .push(LocalSignIn {
                    token,
                    clinic_id: Some(wanted.clinic_id),
                    user,
                    roles: vec![role],
                });
        }
        _ => {
            return gateway_answer(
                StatusCode::BAD_REQUEST,
                "client_id goes with the integration role only",
            );
        }
    }
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

async fn simulate_reply(
    State(api): State<Arc<LocalApi>>,
    axum::Json(reply): axum::Json<SimulatedReply>,
) -> Response {
    let now = Timestamp::now();
    let id = format!("local-{}", now.as_nanosecond());
    let keyword = reply
        .text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_uppercase();
    let payload = json!({
        "originationNumber": reply.from,
        "destinationNumber": reply.to,
        "messageKeyword": keyword,
        "messageBody": reply.text,
        "inboundMessageId": id,
        "previousPublishedMessageId": null
    });
    let event = inbound_sms_event(&api.inbound_topic_arn, &payload, &id, now);
    let outcome = api.functions.call_sns(event).await;
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({
            "inboundMessageId": id,
            "handled": outcome.handled,
            "malformed": outcome.malformed,
            "failed": outcome.failed,
            "busy": outcome.busy
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_templates_match_segments_and_capture_parameters() {
        let parameters = match_path(
            "/appointments/{appointmentId}/messages",
            "/appointments/a-1/messages",
        )
        .expect("matches");
        assert_eq!(parameters["appointmentId"], "a-1");
        assert!(
            match_path(
                "/appointments/{appointmentId}",
                "/appointments/a-1/messages"
            )
            .is_none()
        );
        assert!(match_path("/appointments/{appointmentId}", "/appointments/").is_none());
        assert!(match_path("/templates", "/chats").is_none());
    }

    #[test]
    fn sign_ins_list_each_role_with_its_clinic_and_the_operator_with_none() {
        let staff = LocalSignIn::staff("t-staff", "clinic-a", "s");
        let operator = LocalSignIn {
            token: "t-op".into(),
            clinic_id: None,
            user: "op".into(),
            roles: vec![Role::Operator],
        };
        let integration = LocalIntegration {
            token: "t-emr".into(),
            clinic_id: "clinic-a".into(),
            client_id: "emr".into(),
        };
        assert_eq!(
            sign_ins(&[staff, operator], &[integration]),
            json!([
                {"clinic_id": "clinic-a", "role": "staff", "token": "t-staff"},
                {"clinic_id": null, "role": "operator", "token": "t-op"},
                {"clinic_id": "clinic-a", "role": "integration", "token": "t-emr"}
            ])
        );
    }

    #[test]
    fn path_parameters_are_percent_decoded() {
        let parameters = match_path("/m/{token}", "/m/a%20b+c").expect("matches");
        assert_eq!(parameters["token"], "a b+c");
    }
}
