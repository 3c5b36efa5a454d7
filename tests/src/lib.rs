//! Test harness for scenarios against the local AWS emulator: one isolated stack per test
//! (its own table, bucket, key and topic names), the real handlers, and the emulator's
//! record of what was sent.

pub mod aws_call_timing;
pub mod aws_request_counts;
pub mod logs;

use std::collections::BTreeMap;

use direct_messages::{
    adapters::{dynamodb::DynamoStore, system::OsRandom},
    caller::{CLINIC_CLAIM, USER_CLAIM},
    ports::RandomSource,
};
use jiff::Timestamp;
use lambda_http::{Body, Response};
pub use local_stack::api_event::HttpCall;
use local_stack::{LocalStack, emulator::Recorder, functions::Functions};

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
    pub recorder: Recorder,
}

impl TestStack {
    pub async fn new() -> TestStack {
        logs::capture();
        let endpoint = emulator_endpoint();
        let suffix: [u8; 5] = OsRandom.bytes();
        let prefix = format!("t{}-", hex::encode(suffix));
        let stack = LocalStack::create(&endpoint, &prefix, UNLOCK_BASE_URL)
            .await
            .expect("the template's resources are created on the emulator");
        let functions = Functions::new(&stack.config, &stack.clients);
        let store = DynamoStore::new(stack.clients.dynamodb(), stack.config.tables.clone());
        let recorder = Recorder::new(&endpoint);
        recorder.start().await.expect("recorder starts");
        TestStack {
            stack,
            functions,
            store,
            recorder,
        }
    }

    /// Runs a request through API Gateway's event format and the function's handler.
    pub async fn call(&self, binary: &str, call: &HttpCall) -> Response<Body> {
        let request = call
            .request(Timestamp::now())
            .expect("a valid API Gateway event");
        self.functions
            .call_http(binary, request)
            .await
            .expect("an HTTP function")
    }
}

/// The send use case wired to this stack's AWS clients, for tests that swap one port.
pub fn message_sender(test: &TestStack) -> direct_messages::send::MessageSender {
    direct_messages::send::MessageSender::on_aws(&test.stack.config, &test.stack.clients)
}

/// The claims the JWT authorizer passes for a staff user of `clinic`.
pub fn staff_claims(clinic: &str, user: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (CLINIC_CLAIM.to_owned(), clinic.to_owned()),
        (USER_CLAIM.to_owned(), user.to_owned()),
    ])
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
