//! What handlers read from an API Gateway (HTTP API, payload 2.0) request besides the caller.

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
    request.path_parameters_ref().and_then(|params| params.first(name)).map(str::to_owned)
}
