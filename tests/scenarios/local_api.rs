//! The localhost API of `infra/local/run`: API Gateway's routing and sign-in in front of
//! the real handlers.

use std::sync::Arc;

use domain::caller::Role;
use integration_tests::{
    TestStack, fixtures::demo::demo_clinic, local_api_body, sentinels::REPLY_TEXT,
};
use local_stack::{
    functions::Functions,
    server::{LocalApi, LocalSignIn, router},
};

async fn serve() -> (String, String) {
    let test = TestStack::new().await;
    let clinic = demo_clinic(&test).await;
    let sign_in = LocalSignIn::staff("local-test-token", clinic.id.as_str(), "staff");
    let functions = Functions::new(&test.stack.config, &test.stack.clients);
    let api = LocalApi::new(
        &test.stack.template,
        functions,
        sign_in,
        test.stack.inbound_topic_arn().unwrap(),
    )
    .with_sign_in(LocalSignIn {
        token: "local-operator".into(),
        clinic_id: None,
        user: "operator".into(),
        roles: vec![Role::Operator],
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(Arc::new(api))).await });
    (base, "local-test-token".into())
}

#[tokio::test]
async fn a_request_with_the_printed_token_reaches_the_handler() {
    let (base, token) = serve().await;
    let http = reqwest::Client::new();
    let response = http
        .get(format!("{base}/templates"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value =
        serde_json::from_str(&local_api_body("GET /templates", response).await).unwrap();
    assert!(body["items"].as_array().unwrap().len() >= 3);
}

#[tokio::test]
async fn dashboard_routes_without_the_token_are_refused_like_api_gateway_does() {
    let (base, _) = serve().await;
    let http = reqwest::Client::new();
    let missing = http.get(format!("{base}/templates")).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    local_api_body("GET /templates", missing).await;
    let wrong = http
        .get(format!("{base}/chats"))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    local_api_body("GET /chats", wrong).await;
    let unknown = http.get(format!("{base}/nowhere")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    local_api_body("GET /nowhere", unknown).await;
}

#[tokio::test]
async fn unlock_pages_are_public_and_path_parameters_reach_the_handler() {
    let (base, _) = serve().await;
    let token = domain::link_token::LinkToken::generate(&aws::system::OsRandom);
    integration_tests::sentinels::link_token(token.as_str());
    let response = reqwest::get(format!("{base}/m/{}", token.as_str()))
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "an unknown token");
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    assert!(
        local_api_body("GET /m/{token}", response)
            .await
            .contains("<html")
    );
}

#[tokio::test]
async fn a_simulated_reply_goes_through_the_inbound_handler() {
    let (base, _) = serve().await;
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{base}/local/sms-replies"))
        .json(
            &serde_json::json!({"from": "+16045550123", "to": "+12505550100", "text": REPLY_TEXT}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let body: serde_json::Value =
        serde_json::from_str(&local_api_body("POST /local/sms-replies", response).await).unwrap();
    assert_eq!(body["handled"], 1);
    assert_eq!(body["malformed"], 0);
}

#[tokio::test]
async fn each_roles_token_gets_what_its_role_may_do() {
    let test = TestStack::new().await;
    let clinic = demo_clinic(&test).await;
    let sign_in = |token: &str, clinic_id: Option<&str>, role: Role| LocalSignIn {
        token: token.into(),
        clinic_id: clinic_id.map(str::to_owned),
        user: format!("user-{token}"),
        roles: vec![role],
    };
    let api = LocalApi::new(
        &test.stack.template,
        Functions::new(&test.stack.config, &test.stack.clients),
        LocalSignIn::staff("staff-token", clinic.id.as_str(), "staff"),
        test.stack.inbound_topic_arn().unwrap(),
    )
    .with_sign_in(sign_in(
        "admin-token",
        Some(clinic.id.as_str()),
        Role::ClinicAdmin,
    ))
    .with_sign_in(sign_in(
        "privacy-token",
        Some(clinic.id.as_str()),
        Role::PrivacyOfficer,
    ))
    .with_sign_in(sign_in("operator-token", None, Role::Operator));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(Arc::new(api))).await });
    let http = reqwest::Client::new();
    for (token, status) in [
        ("staff-token", 200),
        ("admin-token", 200),
        ("privacy-token", 403),
        ("operator-token", 403),
        ("nobody-token", 401),
    ] {
        let response = http
            .get(format!("{base}/templates"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{token}");
    }
    // Each admin route for its own role only.
    for (token, path, status) in [
        ("admin-token", "/clinic", 200),
        ("staff-token", "/clinic", 403),
        (
            "privacy-token",
            "/audit?from=2026-01-01T00:00:00Z&to=2030-01-01T00:00:00Z",
            200,
        ),
        (
            "admin-token",
            "/audit?from=2026-01-01T00:00:00Z&to=2030-01-01T00:00:00Z",
            403,
        ),
        ("operator-token", "/clinic", 403),
    ] {
        let response = http
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{token} {path}");
    }
}

#[tokio::test]
async fn only_the_operator_creates_sign_ins_for_a_clinic() {
    let (base, staff_token) = serve().await;
    let http = reqwest::Client::new();
    let create = |token: String, body: serde_json::Value| {
        http.post(format!("{base}/local/sign-ins"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let by_staff = create(
        staff_token,
        serde_json::json!({"clinic_id": "demo-clinic", "role": "clinic-admin"}),
    )
    .await
    .unwrap();
    assert_eq!(by_staff.status(), 403);
    let operator = "local-operator".to_owned();
    for body in [
        serde_json::json!({"clinic_id": "demo-clinic", "role": "operator"}),
        serde_json::json!({"clinic_id": "demo-clinic", "role": "owner"}),
        serde_json::json!({"clinic_id": "demo-clinic", "role": "staff", "client_id": "x"}),
    ] {
        let refused = create(operator.clone(), body.clone()).await.unwrap();
        assert_eq!(refused.status(), 400, "{body}");
    }
    let created: serde_json::Value = create(
        operator,
        serde_json::json!({"clinic_id": "demo-clinic", "role": "clinic-admin"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let admin = http
        .get(format!("{base}/clinic"))
        .bearer_auth(created["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200, "the new sign-in is the clinic's admin");
}

#[tokio::test]
async fn the_dashboards_origin_gets_its_preflight_and_cors_headers_and_another_origin_none() {
    let test = TestStack::new().await;
    let clinic = demo_clinic(&test).await;
    let dashboard = "https://dashboard.clinic.example";
    let api = LocalApi::new(
        &test.stack.template,
        Functions::new(&test.stack.config, &test.stack.clients),
        LocalSignIn::staff("staff-token", clinic.id.as_str(), "staff"),
        test.stack.inbound_topic_arn().unwrap(),
    )
    .with_dashboard_origin(&test.stack.template, dashboard);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(Arc::new(api))).await });
    let http = reqwest::Client::new();
    let preflight = |origin: &str| {
        http.request(
            reqwest::Method::OPTIONS,
            format!("{base}/appointments/a-1/messages"),
        )
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,idempotency-key,content-type",
        )
        .send()
    };
    let allowed = preflight(dashboard).await.unwrap();
    assert_eq!(allowed.status(), 204, "no sign-in needed for a preflight");
    let headers = allowed.headers();
    assert_eq!(headers["access-control-allow-origin"], dashboard);
    let allowed_headers = headers["access-control-allow-headers"].to_str().unwrap();
    for header in [
        "authorization",
        "idempotency-key",
        "if-match",
        "content-type",
    ] {
        assert!(allowed_headers.contains(header), "{allowed_headers}");
    }
    let methods = headers["access-control-allow-methods"].to_str().unwrap();
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(method), "{methods}");
    }
    let other = preflight("https://evil.example").await.unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));

    let answer = http
        .get(format!("{base}/templates"))
        .bearer_auth("staff-token")
        .header("origin", dashboard)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["access-control-allow-origin"], dashboard);
    assert_eq!(answer.headers()["access-control-expose-headers"], "etag");
}
