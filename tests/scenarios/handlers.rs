//! The functions' HTTP plumbing: claims to clinic, problem+json errors, isolation, headers.

use domain::{caller::Role, ports::ClinicStore};
use integration_tests::{
    TestStack, body_json, body_text, claims_with_roles, fixtures::demo::demo_clinic, http_call,
    phi_guard, staff_claims, with_query,
};

async fn seeded() -> (TestStack, String) {
    let test = TestStack::new().await;
    let clinic = demo_clinic(&test).await;
    (test, clinic.id.to_string())
}

#[tokio::test]
async fn staff_see_their_clinics_templates_and_chats() {
    let (test, clinic) = seeded().await;
    let claims = Some(staff_claims(&clinic, "staff-1"));
    let response = test
        .call("search", &http_call("GET /templates", &[], claims.clone()))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let names: Vec<_> = body_json(&response)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.contains(&"reminder".to_owned()) && names.contains(&"results-ready".to_owned()));

    let response = test
        .call("search", &http_call("GET /chats", &[], claims))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response)["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn another_clinic_sees_none_of_them() {
    let (test, clinic) = seeded().await;
    let other = Some(staff_claims("other-clinic", "staff-9"));
    for route in ["GET /templates", "GET /chats"] {
        let response = test
            .call("search", &http_call(route, &[], other.clone()))
            .await;
        assert_eq!(response.status(), 200, "{route}");
        assert_eq!(
            body_json(&response)["items"],
            serde_json::json!([]),
            "{route}"
        );
    }
    assert!(
        test.store
            .get_clinic(&clinic.parse().unwrap())
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn dashboard_routes_without_a_clinic_claim_are_401_problems() {
    let (test, _) = seeded().await;
    let cases = [
        ("search", http_call("GET /templates", &[], None)),
        (
            "search",
            http_call("GET /patients", &[], Some(staff_claims_without_clinic())),
        ),
        (
            "search",
            http_call(
                "GET /appointments/{appointmentId}",
                &[("appointmentId", "a-ava-upcoming")],
                None,
            ),
        ),
        (
            "send",
            http_call(
                "POST /appointments/{appointmentId}/messages",
                &[("appointmentId", "a-1")],
                None,
            ),
        ),
        ("send", http_call("POST /attachments", &[], None)),
        ("search", http_call("GET /messages", &[], None)),
    ];
    for (function, call) in cases {
        let response = test.call(function, &call).await;
        assert_eq!(response.status(), 401, "{}", call.route_key);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem = body_json(&response);
        assert_eq!(problem["status"], 401);
        assert_eq!(
            problem["type"],
            "urn:direct-messages:problem:unauthenticated"
        );
    }
}

#[tokio::test]
async fn staff_routes_take_the_staff_and_clinic_admin_roles_and_refuse_the_others() {
    let (test, clinic) = seeded().await;
    let routes = [
        ("search", "GET /templates", ""),
        ("search", "GET /patients", "q=smith"),
        ("search", "GET /messages", ""),
        ("send", "POST /attachments", ""),
    ];
    for roles in [vec![], vec![Role::PrivacyOfficer], vec![Role::Operator]] {
        for (function, route, query) in routes {
            let mut call = http_call(
                route,
                &[],
                Some(claims_with_roles(&clinic, "user-9", &roles)),
            );
            call.raw_query = query.into();
            let response = test.call(function, &call).await;
            assert_eq!(response.status(), 403, "{route} as {roles:?}");
            let problem = body_json(&response);
            assert_eq!(problem["type"], "urn:direct-messages:problem:forbidden");
            assert!(
                problem["detail"].as_str().unwrap().contains("staff group"),
                "{problem}"
            );
        }
    }
    let admin = Some(claims_with_roles(&clinic, "admin-1", &[Role::ClinicAdmin]));
    let response = test
        .call("search", &http_call("GET /templates", &[], admin))
        .await;
    assert_eq!(response.status(), 200, "a clinic admin does what staff do");
}

fn staff_claims_without_clinic() -> std::collections::BTreeMap<String, String> {
    let mut claims = staff_claims("x", "staff-1");
    claims.remove(aws::api_gateway::caller::CLINIC_CLAIM);
    claims
}

#[tokio::test]
async fn unlock_pages_carry_the_security_headers() {
    let (test, _) = seeded().await;
    for route in ["GET /m/{token}", "POST /m/{token}"] {
        let response = test
            .call(
                "secure-unlock",
                &http_call(route, &[("token", "sentineltoken123")], None),
            )
            .await;
        let headers = response.headers();
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'none'")
        );
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(
            headers["strict-transport-security"],
            "max-age=63072000; includeSubDomains"
        );
        let permissions = headers["permissions-policy"].to_str().unwrap();
        for feature in ["camera=()", "microphone=()", "geolocation=()", "payment=()"] {
            assert!(permissions.contains(feature), "{feature}");
        }
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(!body_text(&response).contains("sentineltoken123"));
    }
}

#[tokio::test]
async fn demo_patients_data_never_reaches_the_logs() {
    let (test, clinic) = seeded().await;
    let claims = Some(staff_claims(&clinic, "staff-1"));
    for route in ["GET /templates", "GET /chats", "GET /patients"] {
        test.call("search", &http_call(route, &[], claims.clone()))
            .await;
    }
    let details = http_call(
        "GET /appointments/{appointmentId}",
        &[("appointmentId", "a-ava-upcoming")],
        claims.clone(),
    );
    let shown = "the clinic sees its own patients";
    assert_eq!(
        test.call_showing_phi("search", &details, shown)
            .await
            .status(),
        200
    );
    for q in [
        "9698658215",
        "Ava",
        "smith",
        "604-555-0123",
        "ava.smith@example.com",
        "García",
    ] {
        let call = with_query(http_call("GET /patients", &[], claims.clone()), &[("q", q)]);
        let response = test.call_showing_phi("search", &call, shown).await;
        assert_eq!(response.status(), 200, "{q}");
    }
    // The guard knows every demo patient's PHN, names, phone and email: this fails if one
    // reached a log line while searching for them.
    phi_guard::assert_clean();
}
