//! What handlers read from an API Gateway (HTTP API, payload 2.0) request besides the caller.

use domain::DomainError;
use lambda_http::{Request, RequestExt, request::RequestContext};

/// The route API Gateway matched, e.g. `GET /appointments/{appointmentId}`.
pub fn route_key(request: &Request) -> Option<String> {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.route_key.clone(),
        _ => None,
    }
}

/// A path parameter of the matched route, e.g. `appointmentId`.
pub fn path_parameter(request: &Request, name: &str) -> Option<String> {
    request
        .path_parameters_ref()
        .and_then(|params| params.first(name))
        .map(str::to_owned)
}

/// The JSON body as `T`. The reason given for a bad body names fields and positions, never
/// values (serde's own messages can quote them, and values can be PHI).
pub fn json_body<T: serde::de::DeserializeOwned>(request: &Request) -> Result<T, DomainError> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.is_empty() {
        return Err(DomainError::InvalidBody {
            reason: "send a JSON object".to_owned(),
        });
    }
    serde_json::from_slice(bytes).map_err(|error| {
        let message = error.to_string();
        let reason = if message.starts_with("missing field") || message.starts_with("unknown field")
        {
            // "unknown field `x`, expected one of …": keep the field's name only.
            message.split(',').next().unwrap_or_default().to_owned()
        } else if error.is_syntax() || error.is_eof() {
            format!(
                "it is not valid JSON (line {}, column {})",
                error.line(),
                error.column()
            )
        } else {
            format!(
                "a field has the wrong type (line {}, column {})",
                error.line(),
                error.column()
            )
        };
        DomainError::InvalidBody { reason }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        size: u64,
    }

    fn with_body(body: &str) -> Request {
        let mut request = Request::new(lambda_http::Body::Text(body.to_owned()));
        *request.method_mut() = lambda_http::http::Method::POST;
        request
    }

    #[test]
    fn bad_bodies_are_explained_without_quoting_values() {
        let cases = [
            ("", "send a JSON object"),
            ("{", "not valid JSON"),
            (r#"{"size": "Sentinel Value"}"#, "wrong type"),
            (r#"{"size": 1, "Sentinel": 2}"#, "unknown field `Sentinel`"),
            ("{}", "missing field `size`"),
        ];
        for (body, expected) in cases {
            let error = json_body::<Body>(&with_body(body)).unwrap_err();
            let shown = error.to_string();
            assert!(shown.contains(expected), "{body}: {shown}");
            assert!(!shown.contains("Sentinel Value"));
        }
    }
}
