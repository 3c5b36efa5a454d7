//! Who is calling a dashboard route: the clinic and staff user from the JWT authorizer's claims.

use std::collections::BTreeSet;

use domain::{
    DomainError,
    caller::{Caller, Operator, Role},
    ids::{ClinicId, IntegrationClientId, StaffUserId},
};
use lambda_http::{Request, RequestExt, request::RequestContext};

/// The Cognito custom attribute that names the staff user's clinic (ID token claim).
pub const CLINIC_CLAIM: &str = "custom:clinic_id";
/// The staff user: Cognito's subject.
pub const USER_CLAIM: &str = "sub";
/// The user's Cognito groups, which grant their roles. API Gateway passes a list claim as
/// one string, `[staff clinic-admin]`.
pub const GROUPS_CLAIM: &str = "cognito:groups";
/// A machine client's id, in its access token (client-credentials grant).
pub const CLIENT_CLAIM: &str = "client_id";
/// The scopes an access token was granted, space-separated.
pub const SCOPE_CLAIM: &str = "scope";
/// The scope of the EMR integration: writing patients and appointments over FHIR.
pub const FHIR_WRITE_SCOPE: &str = "fhir/write";

/// The caller of a dashboard route, from the claims API Gateway verified; a request without
/// a well-formed clinic and user is unauthenticated.
pub fn caller(request: &Request) -> Result<Caller, DomainError> {
    let claims = claims(request)?;
    let claim = |name: &str| claim(claims, name);
    if claim(CLINIC_CLAIM).is_none() && claim(SCOPE_CLAIM).is_some() {
        return Err(DomainError::Forbidden {
            reason: "this route is for clinic staff: a machine client's token reaches only the EMR integration's /fhir routes",
        });
    }
    let roles: BTreeSet<Role> = groups(claim(GROUPS_CLAIM).unwrap_or_default())
        .filter_map(Role::of_group)
        .collect();
    if claim(CLINIC_CLAIM).is_none() && roles.contains(&Role::Operator) {
        return Err(DomainError::Forbidden {
            reason: "this route is for a clinic's users: the platform's operator belongs to no clinic",
        });
    }
    let clinic_id = claim(CLINIC_CLAIM)
        .and_then(|value| ClinicId::parse(value).ok())
        .ok_or(DomainError::Unauthenticated)?;
    let user = claim(USER_CLAIM)
        .and_then(|value| StaffUserId::parse(value).ok())
        .ok_or(DomainError::Unauthenticated)?;
    Ok(Caller {
        clinic_id,
        user,
        roles,
    })
}

/// The platform's operator calling `POST /clinics`: a signed-in user of the `operator`
/// group, with or without a clinic.
pub fn operator(request: &Request) -> Result<Operator, DomainError> {
    let claims = claims(request)?;
    let claim = |name: &str| claim(claims, name);
    let user = claim(USER_CLAIM)
        .and_then(|value| StaffUserId::parse(value).ok())
        .ok_or(DomainError::Unauthenticated)?;
    let roles: BTreeSet<Role> = groups(claim(GROUPS_CLAIM).unwrap_or_default())
        .filter_map(Role::of_group)
        .collect();
    Operator::of(user, &roles)
}

/// The groups of a `cognito:groups` claim as API Gateway passes it (`[a b]`), or as a JSON
/// list or a comma-separated one.
fn groups(claim: &str) -> impl Iterator<Item = &str> {
    claim
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split([' ', ','])
        .map(|group| group.trim_matches('"'))
        .filter(|group| !group.is_empty())
}

/// The groups claim naming these roles, as API Gateway passes it.
pub fn groups_claim(roles: &[Role]) -> String {
    let groups: Vec<&str> = roles.iter().map(|role| role.group()).collect();
    format!("[{}]", groups.join(" "))
}

/// The EMR integration's machine client calling a `/fhir` route: an access token with the
/// `fhir/write` scope. Its clinic comes from the client's binding, never from the request.
pub fn integration_client(request: &Request) -> Result<IntegrationClientId, DomainError> {
    let claims = claims(request)?;
    let claim = |name: &str| claim(claims, name);
    let scopes = claim(SCOPE_CLAIM).unwrap_or_default();
    if !scopes
        .split_whitespace()
        .any(|scope| scope == FHIR_WRITE_SCOPE)
    {
        return Err(DomainError::Forbidden {
            reason: "the /fhir routes are for the clinic's EMR integration: use its machine client's token, with the fhir/write scope",
        });
    }
    claim(CLIENT_CLAIM)
        .and_then(|value| IntegrationClientId::parse(value).ok())
        .ok_or(DomainError::Unauthenticated)
}

fn claims(request: &Request) -> Result<&std::collections::HashMap<String, String>, DomainError> {
    let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
        return Err(DomainError::Unauthenticated);
    };
    context
        .authorizer
        .as_ref()
        .and_then(|authorizer| authorizer.jwt.as_ref())
        .map(|jwt| &jwt.claims)
        .ok_or(DomainError::Unauthenticated)
}

fn claim<'a>(claims: &'a std::collections::HashMap<String, String>, name: &str) -> Option<&'a str> {
    claims
        .get(name)
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
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
    fn roles_come_from_the_groups_claim_in_every_form_it_takes() {
        for groups in [
            "[staff clinic-admin]",
            r#"["staff","clinic-admin"]"#,
            "staff,clinic-admin",
            "[staff clinic-admin unknown-group]",
        ] {
            let request = request_with_claims(serde_json::json!({
                "custom:clinic_id": "clinic-1", "sub": "user-7", "cognito:groups": groups
            }));
            let roles: Vec<Role> = caller(&request).unwrap().roles.into_iter().collect();
            assert_eq!(roles, [Role::Staff, Role::ClinicAdmin], "{groups}");
        }
        let none = request_with_claims(serde_json::json!({
            "custom:clinic_id": "clinic-1", "sub": "user-7"
        }));
        assert!(caller(&none).unwrap().roles.is_empty());
        let operator = request_with_claims(serde_json::json!({
            "sub": "operator-1", "cognito:groups": "[operator]"
        }));
        assert!(
            matches!(caller(&operator), Err(DomainError::Forbidden { .. })),
            "signed in, without a clinic: the wrong role, not a missing sign-in"
        );
        assert_eq!(
            groups_claim(&[Role::Staff, Role::PrivacyOfficer]),
            "[staff privacy-officer]"
        );
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
    fn a_machine_clients_token_is_refused_on_staff_routes_and_a_staff_token_on_fhir_routes() {
        let machine = request_with_claims(serde_json::json!({
            "client_id": "emr-client-1", "scope": "fhir/write"
        }));
        assert!(matches!(
            caller(&machine),
            Err(DomainError::Forbidden { .. })
        ));
        assert_eq!(
            integration_client(&machine).unwrap().as_str(),
            "emr-client-1"
        );

        let staff = request_with_claims(serde_json::json!({
            "custom:clinic_id": "clinic-1", "sub": "user-7"
        }));
        assert!(matches!(
            integration_client(&staff),
            Err(DomainError::Forbidden { .. })
        ));
        let other_scope = request_with_claims(serde_json::json!({
            "client_id": "emr-client-1", "scope": "fhir/read other/write"
        }));
        assert!(matches!(
            integration_client(&other_scope),
            Err(DomainError::Forbidden { .. })
        ));
        let no_client = request_with_claims(serde_json::json!({"scope": "fhir/write"}));
        assert!(matches!(
            integration_client(&no_client),
            Err(DomainError::Unauthenticated)
        ));
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
