//! The `secure-unlock` function: the patient's page behind an SMS unlock link.

use lambda_http::{Body, Request, Response, http::StatusCode};

use direct_messages::request::route_key;

/// Headers on every page: the token is in the URL, so nothing may be cached, framed or
/// sent on as a referrer.
pub const SECURITY_HEADERS: [(&str, &str); 6] = [
    (
        "content-security-policy",
        "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    ),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("content-type", "text/html; charset=utf-8"),
];

#[derive(Debug, Default)]
pub struct SecureUnlock;

impl SecureUnlock {
    pub fn new() -> Self {
        Self
    }

    pub async fn handle(&self, request: Request) -> Response<Body> {
        match route_key(&request).as_deref() {
            Some("GET /m/{token}" | "POST /m/{token}") => page(
                StatusCode::NOT_IMPLEMENTED,
                "Not available yet",
                "Secure messages cannot be opened here yet. Please call your clinic.",
            ),
            _ => page(
                StatusCode::NOT_FOUND,
                "Link not valid",
                "This link is not valid.",
            ),
        }
    }
}

fn page(status: StatusCode, title: &str, text: &str) -> Response<Body> {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head><body><main><h1>{title}</h1><p>{text}</p></main></body></html>"
    );
    let mut response = Response::builder().status(status);
    for (name, value) in SECURITY_HEADERS {
        response = response.header(name, value);
    }
    response
        .body(Body::Text(html))
        .expect("static headers are valid")
}
