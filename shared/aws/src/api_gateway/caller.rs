//! Who is calling a dashboard route: the clinic and staff user from the JWT authorizer's claims.

use domain::{
    DomainError,
    caller::Caller,
    ids::{ClinicId, StaffUserId},
};
use lambda_http::{Request, RequestExt, request::RequestContext};

/// The Cognito custom attribute that names the staff user's clinic (ID token claim).
pub const CLINIC_CLAIM: &str = "custom:clinic_id";
/// The staff user: Cognito's subject.
pub const USER_CLAIM: &str = "sub";

/// The caller of a dashboard route, from the claims API Gateway verified; a request without
/// a well-formed clinic and user is unauthenticated.
pub fn caller(request: &Request) -> Result<Caller, DomainError> {
    let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
        return Err(DomainError::Unauthenticated);
    };
    let claims = context
        .authorizer
        .as_ref()
        .and_then(|authorizer| authorizer.jwt.as_ref())
        .map(|jwt| &jwt.claims)
        .ok_or(DomainError::Unauthenticated)?;
    let claim = |name: &str| {
        claims
            .get(name)
            .map(|value| value.trim())
            .filter(|v| !v.is_empty())
    };
    let clinic_id = claim(CLINIC_CLAIM)
        .and_then(|value| ClinicId::parse(value).ok())
        .ok_or(DomainError::Unauthenticated)?;
    let user = claim(USER_CLAIM)
        .and_then(|value| StaffUserId::parse(value).ok())
        .ok_or(DomainError::Unauthenticated)?;
    Ok(Caller { clinic_id, user })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_with_claims(claims: serde_json::Value) -> Request {
        let event = serde_json::json!({
            "version": "2.0",
            "routeKey": "GET /templates",
            "rawPath": "/templates",
            "rawQueryString": "",
            "headers": {"host": "localhost"},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "local",
                "authorizer": {"jwt": {"claims": claims, "scopes": null}},
                "domainName": "localhost",
                "http": {"method": "GET", "path": "/templates", "protocol": "HTTP/1.1",
                         "sourceIp": "127.0.0.1", "userAgent": "test"},
                "requestId": "r1",
                "routeKey": "GET /templates",
                "stage": "$default",
                "time": "25/Nov/2026:06:00:00 +0000",
                "timeEpoch": 0
            },
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).expect("valid API Gateway event")
    }

    #[test]
    fn clinic_and_user_come_from_the_jwt_claims() {
        let request = request_with_claims(serde_json::json!({
            "custom:clinic_id": "clinic-1", "sub": "user-7"
        }));
        let caller = caller(&request).expect("caller");
        assert_eq!(caller.clinic_id.as_str(), "clinic-1");
        assert_eq!(caller.user.as_str(), "user-7");
    }

    #[test]
    fn request_without_clinic_claim_is_unauthenticated_never_a_default_clinic() {
        let request = request_with_claims(serde_json::json!({"sub": "user-7"}));
        assert!(matches!(
            caller(&request),
            Err(DomainError::Unauthenticated)
        ));
    }

    #[test]
    fn blank_or_malformed_clinic_claim_is_unauthenticated() {
        for clinic in ["", "  ", "clinic/../other", "x".repeat(65).as_str()] {
            let request = request_with_claims(serde_json::json!({
                "custom:clinic_id": clinic, "sub": "user-7"
            }));
            assert!(matches!(
                caller(&request),
                Err(DomainError::Unauthenticated)
            ));
        }
    }

    #[test]
    fn request_without_authorizer_is_unauthenticated() {
        let request = Request::default();
        assert!(matches!(
            caller(&request),
            Err(DomainError::Unauthenticated)
        ));
    }
}
