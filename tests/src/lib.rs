//! Test harness for scenarios against the local AWS emulator: one isolated stack per test
//! (its own table, bucket, key and topic names), the real handlers, the emulator's record
//! of what was sent, and the PHI guard over everything the tests log and receive.

pub mod aws_call_timing;
pub mod aws_faults;
pub mod aws_request_counts;
pub mod emulator_load;
pub mod fixtures;
pub mod lambda_runtime_api;
pub mod phi_guard;
pub mod port_contracts;
pub mod sentinels;

use std::collections::BTreeMap;

use aws::{
    AwsClients,
    api_gateway::caller::{CLINIC_CLAIM, GROUPS_CLAIM, USER_CLAIM, groups_claim},
    dynamodb::DynamoStore,
    system::OsRandom,
    wiring::OnAws,
};
use aws_faults::AwsFaults;
use domain::delivery_status::ReceiptCounts;
use domain::{caller::Role, random};
use jiff::Timestamp;
use lambda_http::{Body, Response};
pub use local_stack::api_event::HttpCall;
use local_stack::{
    LocalStack,
    carrier::LocalCarrier,
    emulator::{PublishedSms, Recorder},
    functions::Functions,
};

pub const UNLOCK_BASE_URL: &str = "https://unlock.test";

/// The emulator's address, set by `tests/run`.
pub fn emulator_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect(
        "AWS_ENDPOINT_URL is not set: run the tests with tests/run, which starts the AWS emulator",
    )
}

pub struct TestStack {
    pub stack: LocalStack,
    pub functions: Functions,
    pub store: DynamoStore,
    /// Read through [`TestStack::published_sms`], which makes their link tokens sentinels.
    recorder: Recorder,
    /// Answers this test's SMS with delivery receipts: [`TestStack::deliver_receipts`].
    carrier: tokio::sync::Mutex<LocalCarrier>,
}

/// The routes whose successful answers show PHI to whoever may see it: search results, the
/// Unclear worklist, appointment details and a message's preview (its text, filled in) to
/// the patient's clinic, the message to whoever typed the right PHN.
const ROUTES_SHOWING_PHI: [&str; 5] = [
    "GET /patients",
    "GET /appointments",
    "GET /appointments/{appointmentId}",
    "POST /appointments/{appointmentId}/messages/preview",
    "POST /m/{token}",
];

impl TestStack {
    pub async fn new() -> TestStack {
        phi_guard::enter_test();
        let endpoint = emulator_endpoint();
        let suffix: [u8; 5] = random::bytes(&OsRandom);
        let prefix = format!("t{}-", hex::encode(suffix));
        let stack = LocalStack::create(&endpoint, &prefix, UNLOCK_BASE_URL)
            .await
            .expect("the template's resources are created on the emulator");
        let functions = Functions::new(&stack.config, &stack.clients);
        let store = DynamoStore::new(stack.clients.dynamodb(), stack.config.tables.clone());
        let recorder = Recorder::new(&endpoint);
        recorder.start().await.expect("recorder starts");
        let carrier = LocalCarrier::starting_now(&endpoint, [])
            .await
            .expect("the emulator lists the SMS it took");
        TestStack {
            stack,
            functions,
            store,
            recorder,
            carrier: tokio::sync::Mutex::new(carrier),
        }
    }

    /// The carriers' receipts for every SMS published since the last call, through the
    /// real `delivery-status` handler (other tests' SMS are unknown messages here).
    pub async fn deliver_receipts(&self) -> ReceiptCounts {
        self.carrier
            .lock()
            .await
            .deliver(&self.functions.delivery_status)
            .await
            .expect("the receipts are recorded")
    }

    /// The last batch of receipts again, as it was.
    pub async fn deliver_receipts_again(&self) -> ReceiptCounts {
        self.carrier
            .lock()
            .await
            .deliver_again(&self.functions.delivery_status)
            .await
            .expect("the receipts are recorded")
    }

    /// From now on, SMS to `number` (E.164) fail: the phone is unreachable.
    pub async fn phone_unreachable(&self, number: &str) {
        self.carrier.lock().await.mark_unreachable(number);
    }

    /// Runs a request through API Gateway's event format and the function's handler. The
    /// PHI guard checks the answer's body and fails the test on any patient data in it or in
    /// the logs so far.
    pub async fn call(&self, binary: &str, call: &HttpCall) -> Response<Body> {
        call_function(&self.functions, binary, call).await
    }

    /// Like [`TestStack::call`], for a call whose successful answer must show patient data
    /// (one of [`ROUTES_SHOWING_PHI`]), saying why. An error answer is checked all the same.
    pub async fn call_showing_phi(
        &self,
        binary: &str,
        call: &HttpCall,
        reason: &str,
    ) -> Response<Body> {
        call_function_showing_phi(&self.functions, binary, call, reason).await
    }

    /// A ready-made request (e.g. a sample event) through the function's handler, its answer
    /// checked like [`TestStack::call`]'s or, with a reason, like
    /// [`TestStack::call_showing_phi`]'s.
    pub async fn call_request(
        &self,
        binary: &str,
        request: lambda_http::Request,
        showing_phi: Option<&str>,
    ) -> Response<Body> {
        checked_call(&self.functions, binary, request, showing_phi).await
    }

    /// AWS clients for this stack whose traffic passes through `faults`.
    pub fn clients_through(&self, faults: &AwsFaults) -> AwsClients {
        let base = local_stack::emulator::sdk_config(&emulator_endpoint());
        AwsClients::from_sdk_config(
            &faults.sdk_config(&base),
            self.stack.config.s3_force_path_style,
        )
    }

    /// The four functions on this stack, their AWS traffic passing through `faults`.
    pub fn functions_through(&self, faults: &AwsFaults) -> Functions {
        Functions::new(&self.stack.config, &self.clients_through(faults))
    }

    /// The four functions on this stack's resources at an address where nothing answers,
    /// as when the AWS endpoint cannot be reached.
    pub fn functions_unreachable(&self) -> Functions {
        let closed = closed_port_endpoint();
        let sdk = local_stack::emulator::sdk_config(&closed);
        let clients = AwsClients::from_sdk_config(&sdk, self.stack.config.s3_force_path_style);
        Functions::new(&self.stack.config, &clients)
    }

    /// Writes `clinic` with a root key made on the emulator's KMS, as onboarding does.
    pub async fn add_clinic(&self, clinic: &domain::model::Clinic) {
        self.stack
            .add_clinic(clinic)
            .await
            .expect("the clinic is written with its root key");
    }

    /// The clinic's key, as the functions open it: see [`LocalStack::clinic_key`].
    pub async fn clinic_key(
        &self,
        clinic: &domain::ids::ClinicId,
    ) -> domain::clinic_key::ClinicKey {
        self.stack
            .clinic_key(clinic)
            .await
            .expect("the clinic's key")
    }

    /// Every SMS the emulator has published so far; the link tokens in them become
    /// sentinels.
    pub async fn published_sms(&self) -> Vec<PublishedSms> {
        let all = self.recorder.published_sms().await.expect("the recording");
        for sms in &all {
            sentinels::link_tokens_in(&sms.message);
        }
        all
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        // Catches what a test made without a call after it (SNS events, use cases called
        // directly); a test already failing has said enough.
        if !std::thread::panicking() {
            phi_guard::assert_clean();
        }
    }
}

/// Runs a request through API Gateway's event format and `functions`' handler for `binary`
/// (e.g. functions whose AWS traffic passes through faults), checked like
/// [`TestStack::call`]'s.
pub async fn call_function(functions: &Functions, binary: &str, call: &HttpCall) -> Response<Body> {
    let request = call
        .request(Timestamp::now())
        .expect("a valid API Gateway event");
    checked_call(functions, binary, request, None).await
}

/// Like [`call_function`], for a call whose successful answer must show patient data,
/// saying why (see [`TestStack::call_showing_phi`]).
pub async fn call_function_showing_phi(
    functions: &Functions,
    binary: &str,
    call: &HttpCall,
    reason: &str,
) -> Response<Body> {
    let request = call
        .request(Timestamp::now())
        .expect("a valid API Gateway event");
    checked_call(functions, binary, request, Some(reason)).await
}

/// Calls the handler, then has the PHI guard check the answer (unless it is a successful
/// one that must show PHI, for the reason given) and fail the test on any hit so far.
async fn checked_call(
    functions: &Functions,
    binary: &str,
    request: lambda_http::Request,
    showing_phi: Option<&str>,
) -> Response<Body> {
    let route = aws::api_gateway::request::route_key(&request).expect("an HTTP API route");
    if let Some(reason) = showing_phi {
        assert!(
            ROUTES_SHOWING_PHI.contains(&route.as_str()),
            "{route} never shows patient data"
        );
        assert!(!reason.trim().is_empty(), "say why this answer shows PHI");
    }
    let response = functions
        .call_http(binary, request)
        .await
        .expect("an HTTP function");
    if showing_phi.is_none() || !response.status().is_success() {
        phi_guard::check_body(&route, &body_text(&response));
    }
    phi_guard::assert_clean();
    response
}

/// A loopback address on a port that was free a moment ago: connections are refused.
pub fn closed_port_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("its address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// The body of an answer from the local API server (`infra/local/run`), checked by the PHI
/// guard like [`TestStack::call`]'s.
pub async fn local_api_body(route: &str, response: reqwest::Response) -> String {
    let body = response.text().await.expect("a body");
    phi_guard::check_body(route, &body);
    phi_guard::assert_clean();
    body
}

/// The send use case wired to this stack's AWS clients, for tests that swap one port.
pub fn message_sender(test: &TestStack) -> domain::send::MessageSender {
    domain::send::MessageSender::on_aws(&test.stack.config, &test.stack.clients)
}

/// The claims the JWT authorizer passes for a staff user of `clinic`.
pub fn staff_claims(clinic: &str, user: &str) -> BTreeMap<String, String> {
    claims_with_roles(clinic, user, &[Role::Staff])
}

/// The claims of `user` of `clinic` in the Cognito groups of `roles`.
pub fn claims_with_roles(clinic: &str, user: &str, roles: &[Role]) -> BTreeMap<String, String> {
    BTreeMap::from([
        (CLINIC_CLAIM.to_owned(), clinic.to_owned()),
        (USER_CLAIM.to_owned(), user.to_owned()),
        (GROUPS_CLAIM.to_owned(), groups_claim(roles)),
    ])
}

/// A request to `route_key` as the staff user `staff-1` of `clinic`, its path parameters
/// filled in.
pub fn staff_call(clinic: &str, route_key: &str, parameters: &[(&str, &str)]) -> HttpCall {
    http_call(route_key, parameters, Some(staff_claims(clinic, "staff-1")))
}

/// A request to `route_key` (e.g. `GET /appointments/{appointmentId}`) with its path
/// parameters filled in.
pub fn http_call(
    route_key: &str,
    parameters: &[(&str, &str)],
    claims: Option<BTreeMap<String, String>>,
) -> HttpCall {
    let (method, template) = route_key.split_once(' ').expect("METHOD /path");
    let mut path = template.to_owned();
    for (name, value) in parameters {
        path = path.replace(&format!("{{{name}}}"), value);
    }
    HttpCall {
        method: method.to_owned(),
        path,
        route_key: route_key.to_owned(),
        path_parameters: parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        claims,
        headers: vec![("user-agent".to_owned(), "integration-tests".to_owned())],
        ..HttpCall::default()
    }
}

/// The same request with a query string (values URL-encoded).
pub fn with_query(mut call: HttpCall, pairs: &[(&str, &str)]) -> HttpCall {
    call.raw_query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    call
}

/// The unlock page's form sent with `phn` typed, to the link of `token`.
pub fn phn_submission(token: &str, phn: &str) -> HttpCall {
    let mut call = http_call("POST /m/{token}", &[("token", token)], None);
    call.headers.push((
        "content-type".to_owned(),
        "application/x-www-form-urlencoded".to_owned(),
    ));
    call.body = form_urlencoded::Serializer::new(String::new())
        .append_pair("phn", phn)
        .finish()
        .into_bytes();
    call
}

/// The same request with an `Idempotency-Key` header, as the dashboard sends a message.
pub fn with_idempotency_key(mut call: HttpCall, key: &str) -> HttpCall {
    call.headers
        .push(("idempotency-key".to_owned(), key.to_owned()));
    call
}

/// The same request with a JSON body.
pub fn with_body(mut call: HttpCall, body: &str) -> HttpCall {
    call.headers
        .push(("content-type".to_owned(), "application/json".to_owned()));
    call.body = body.as_bytes().to_vec();
    call
}

pub fn body_text(response: &Response<Body>) -> String {
    match response.body() {
        Body::Empty => String::new(),
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    }
}

pub fn body_json(response: &Response<Body>) -> serde_json::Value {
    serde_json::from_str(&body_text(response)).expect("a JSON body")
}
