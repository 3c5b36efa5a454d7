//! The `secure-unlock` function: the patient's page behind an SMS unlock link.

mod pages;

use aws::{
    AwsClients,
    api_gateway::request::{path_parameter, route_key},
    config::Config,
    wiring::OnAws,
};
use domain::{
    language::Language,
    unlock::{UnlockView, Unlocker},
};
use lambda_http::{Body, Request, RequestExt, Response};

pub use pages::{CONTENT_SECURITY_POLICY, escape, security_headers};

impl OnAws for SecureUnlock {
    fn on_aws(config: &Config, clients: &AwsClients) -> Self {
        Self::new(Unlocker::on_aws(config, clients))
    }
}

pub struct SecureUnlock {
    unlocker: Unlocker,
}

impl SecureUnlock {
    pub fn new(unlocker: Unlocker) -> Self {
        Self { unlocker }
    }

    pub async fn handle(&self, request: Request) -> Response<Body> {
        let token = path_parameter(&request, "token").unwrap_or_default();
        let chosen = chosen_language(&request);
        let result = match route_key(&request).as_deref() {
            Some("GET /m/{token}") => self.unlocker.view(&token).await,
            Some("POST /m/{token}") => self.unlocker.attempt(&token, &typed_phn(&request)).await,
            _ => Ok(UnlockView::NotValid),
        };
        match result {
            Ok(view) => pages::render(&view, chosen),
            Err(error) => {
                // Logged without the token; the patient gets a page, not JSON.
                let problem = error.problem();
                tracing::error!(status = problem.status, problem = %problem.kind, "unlock failed");
                pages::unavailable(chosen.unwrap_or_default())
            }
        }
    }
}

/// The language the patient switched the page to (`?lang=fr`), for this page view only.
fn chosen_language(request: &Request) -> Option<Language> {
    request
        .query_string_parameters_ref()
        .and_then(|params| params.first("lang"))
        .and_then(Language::from_tag)
}

/// The `phn` field of the submitted form.
fn typed_phn(request: &Request) -> String {
    let body: &[u8] = request.body().as_ref();
    form_urlencoded::parse(body)
        .find(|(name, _)| name == "phn")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}
