//! Faults injected into the real AWS SDK's HTTP traffic to the emulator: while a fault is on
//! for an operation, its requests get the error response AWS itself would give (or a
//! connection failure) instead of reaching the emulator; every other request goes through.
//!
//! The SDK retries transient errors (5xx, throttling, connection failures) on its own, so a
//! fault that stays on is met by every attempt of one call, as an outage would be.

use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::{
    client::{
        http::{
            HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings,
            SharedHttpClient, SharedHttpConnector,
        },
        orchestrator::{HttpRequest, HttpResponse},
        result::ConnectorError,
        runtime_components::RuntimeComponents,
    },
    http::StatusCode,
};
use aws_smithy_types::body::SdkBody;

/// The text of every injected AWS error message. AWS messages can echo request values, so
/// tests check that this never reaches a response or a log.
pub const INJECTED_AWS_MESSAGE: &str = "Injected-AWS-message for +16045550000";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    DynamoDb,
    Kms,
    Sns,
    S3,
}

/// Which requests a fault meets: a service, optionally one operation of it, optionally only
/// requests whose body names something (a table, say).
#[derive(Debug, Clone)]
pub struct Operation {
    service: Service,
    name: Option<&'static str>,
    body_contains: Option<String>,
}

impl Operation {
    /// A DynamoDB operation by its `X-Amz-Target` name (`PutItem`, `Query`, …).
    pub fn dynamodb(name: &'static str) -> Self {
        Self::of(Service::DynamoDb, Some(name))
    }

    /// A KMS operation by its `X-Amz-Target` name (`GenerateDataKey`, `Decrypt`, …).
    pub fn kms(name: &'static str) -> Self {
        Self::of(Service::Kms, Some(name))
    }

    /// An SNS action by the query protocol's `Action` (`Publish`, …).
    pub fn sns(action: &'static str) -> Self {
        Self::of(Service::Sns, Some(action))
    }

    /// An S3 object operation, named by its HTTP method (`HeadObject` is `HEAD`, …).
    pub fn s3(name: &'static str) -> Self {
        Self::of(Service::S3, Some(name))
    }

    /// Every request to `service`.
    pub fn all(service: Service) -> Self {
        Self::of(service, None)
    }

    /// Only requests whose body contains `text` (e.g. a table's name).
    pub fn naming(mut self, text: &str) -> Self {
        self.body_contains = Some(text.to_owned());
        self
    }

    fn of(service: Service, name: Option<&'static str>) -> Self {
        Self {
            service,
            name,
            body_contains: None,
        }
    }

    fn matches(&self, request: &SeenRequest) -> bool {
        self.service == request.service
            && self.name.is_none_or(|name| request.operation == name)
            && self
                .body_contains
                .as_deref()
                .is_none_or(|text| request.body.contains(text))
    }
}

/// What a faulty request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 500 with the service's internal-error code (the SDK retries it).
    InternalError,
    /// The service sheds load with its throttling code (the SDK retries it).
    Throttled,
    /// A service error with this status and code, e.g. KMS `DisabledException` (400).
    Error { status: u16, code: &'static str },
    /// DynamoDB: the write's condition failed, as after a concurrent writer's change.
    ConditionalCheckFailed,
    /// DynamoDB: a transaction cancelled because another was writing one of its items.
    TransactionConflict,
    /// No answer at all: the connection was refused.
    ConnectionRefused,
}

#[derive(Debug)]
struct Rule {
    operation: Operation,
    fault: Fault,
    /// `None`: until cleared.
    remaining: Option<usize>,
    /// On only once a request to this operation has gone through.
    after: Option<Operation>,
}

/// Something another client does just before a request goes out: a concurrent writer.
pub type Interleaved =
    Arc<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + Sync>;

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    hits: usize,
    /// Run once, before the first request to the operation goes out.
    interleaved: Vec<(Operation, Interleaved)>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("rules", &self.rules)
            .field("hits", &self.hits)
            .finish_non_exhaustive()
    }
}

/// The switchboard of faults; clones share it. Hand `sdk_config` to the clients under test.
#[derive(Debug, Clone, Default)]
pub struct AwsFaults {
    state: Arc<Mutex<State>>,
}

impl AwsFaults {
    pub fn new() -> Self {
        // AWS messages can echo request values: the functions must never pass one on.
        crate::phi_guard::register(
            "the injected AWS error message",
            crate::phi_guard::Kind::Text,
            INJECTED_AWS_MESSAGE,
        );
        Self::default()
    }

    /// `base` with its HTTP traffic passing through these faults, on the functions' own
    /// HTTPS client.
    pub fn sdk_config(&self, base: &SdkConfig) -> SdkConfig {
        let inner = aws::https_client();
        base.to_builder()
            .http_client(SharedHttpClient::new(FaultyClient {
                inner,
                faults: self.clone(),
            }))
            .build()
    }

    /// `fault` for every request to `operation` until `clear`.
    pub fn inject(&self, operation: Operation, fault: Fault) {
        self.add(operation, fault, None);
    }

    /// `fault` for the next `times` requests to `operation` only (SDK retries count).
    pub fn inject_times(&self, operation: Operation, fault: Fault, times: usize) {
        self.add(operation, fault, Some(times));
    }

    /// `fault` for every request to `operation` once a request to `trigger` has gone
    /// through (e.g. DynamoDB failing from the moment an SMS was published), until `clear`.
    pub fn inject_after(&self, trigger: Operation, operation: Operation, fault: Fault) {
        self.lock().rules.push(Rule {
            operation,
            fault,
            remaining: None,
            after: Some(trigger),
        });
    }

    /// Runs `action` (another writer's request, say) once, just before the next request to
    /// `operation` goes out: a race made to happen at a chosen point.
    pub fn interleave_once(&self, operation: Operation, action: Interleaved) {
        self.lock().interleaved.push((operation, action));
    }

    fn take_interleaved(&self, request: &SeenRequest) -> Option<Interleaved> {
        let mut state = self.lock();
        let at = state
            .interleaved
            .iter()
            .position(|(operation, _)| operation.matches(request))?;
        state.hits += 1;
        Some(state.interleaved.remove(at).1)
    }

    /// Every fault off: requests reach the emulator again.
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// How many requests got a fault so far: a test proves with it that its fault was met.
    pub fn hits(&self) -> usize {
        self.lock().hits
    }

    fn add(&self, operation: Operation, fault: Fault, remaining: Option<usize>) {
        self.lock().rules.push(Rule {
            operation,
            fault,
            remaining,
            after: None,
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("fault state lock")
    }

    fn fault_for(&self, request: &SeenRequest) -> Option<Fault> {
        let mut state = self.lock();
        let rule = state.rules.iter_mut().find(|rule| {
            rule.after.is_none() && rule.remaining != Some(0) && rule.operation.matches(request)
        });
        let Some(rule) = rule else {
            for rule in &mut state.rules {
                if rule
                    .after
                    .as_ref()
                    .is_some_and(|trigger| trigger.matches(request))
                {
                    rule.after = None;
                }
            }
            return None;
        };
        if let Some(remaining) = rule.remaining.as_mut() {
            *remaining -= 1;
        }
        let fault = rule.fault;
        state.hits += 1;
        Some(fault)
    }
}

/// The service and operation a request is for, read as AWS reads them.
struct SeenRequest {
    service: Service,
    operation: String,
    body: String,
}

impl SeenRequest {
    fn of(request: &HttpRequest) -> Option<SeenRequest> {
        let body = request
            .body()
            .bytes()
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
            .unwrap_or_default();
        if let Some(target) = request.headers().get("x-amz-target") {
            let (prefix, operation) = target.split_once('.')?;
            let service = match prefix {
                "DynamoDB_20120810" => Service::DynamoDb,
                "TrentService" => Service::Kms,
                _ => return None,
            };
            return Some(SeenRequest {
                service,
                operation: operation.to_owned(),
                body,
            });
        }
        if let Some(action) = form_urlencoded::parse(body.as_bytes())
            .find(|(name, _)| name == "Action")
            .map(|(_, value)| value.into_owned())
        {
            return Some(SeenRequest {
                service: Service::Sns,
                operation: action,
                body,
            });
        }
        let operation = match request.method() {
            "HEAD" => "HeadObject",
            "GET" => "GetObject",
            "PUT" => "PutObject",
            "DELETE" => "DeleteObject",
            _ => return None,
        };
        Some(SeenRequest {
            service: Service::S3,
            operation: operation.to_owned(),
            body,
        })
    }
}

#[derive(Debug)]
struct FaultyClient {
    inner: SharedHttpClient,
    faults: AwsFaults,
}

impl HttpClient for FaultyClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(FaultyConnector {
            inner: self.inner.http_connector(settings, components),
            faults: self.faults.clone(),
        })
    }
}

#[derive(Debug)]
struct FaultyConnector {
    inner: SharedHttpConnector,
    faults: AwsFaults,
}

impl HttpConnector for FaultyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let seen = SeenRequest::of(&request);
        if let Some(action) = seen
            .as_ref()
            .and_then(|seen| self.faults.take_interleaved(seen))
        {
            let inner = self.inner.clone();
            return HttpConnectorFuture::new(async move {
                action().await;
                inner.call(request).await
            });
        }
        match seen
            .as_ref()
            .and_then(|seen| Some((seen, self.faults.fault_for(seen)?)))
        {
            Some((seen, fault)) => HttpConnectorFuture::ready(answer(seen, fault)),
            None => self.inner.call(request),
        }
    }
}

/// The response AWS gives for `fault`, in `service`'s own protocol.
fn answer(request: &SeenRequest, fault: Fault) -> Result<HttpResponse, ConnectorError> {
    let service = request.service;
    let (status, code) = match (fault, service) {
        (Fault::ConnectionRefused, _) => {
            return Err(ConnectorError::io(
                std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into(),
            ));
        }
        (Fault::Error { status, code }, _) => (status, code),
        (Fault::InternalError, Service::DynamoDb) => (500, "InternalServerError"),
        (Fault::InternalError, Service::Kms) => (500, "KMSInternalException"),
        (Fault::InternalError, Service::Sns) => (500, "InternalError"),
        (Fault::InternalError, Service::S3) => (500, "InternalError"),
        (Fault::Throttled, Service::DynamoDb) => (400, "ThrottlingException"),
        (Fault::Throttled, Service::Kms) => (400, "ThrottlingException"),
        (Fault::Throttled, Service::Sns) => (429, "Throttled"),
        (Fault::Throttled, Service::S3) => (503, "SlowDown"),
        (Fault::ConditionalCheckFailed, _) => (400, "ConditionalCheckFailedException"),
        (Fault::TransactionConflict, _) => (400, "TransactionCanceledException"),
    };
    let (content_type, body) = match service {
        Service::DynamoDb if fault == Fault::TransactionConflict => (
            "application/x-amz-json-1.0",
            serde_json::json!({
                "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
                "message": INJECTED_AWS_MESSAGE,
                "CancellationReasons": [{ "Code": "TransactionConflict" }],
            })
            .to_string(),
        ),
        Service::DynamoDb => ("application/x-amz-json-1.0", dynamodb_error(code)),
        Service::Kms => (
            "application/x-amz-json-1.1",
            serde_json::json!({ "__type": code, "message": INJECTED_AWS_MESSAGE }).to_string(),
        ),
        Service::Sns => (
            "text/xml",
            format!(
                "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error>\
                 <Type>{}</Type><Code>{code}</Code><Message>{INJECTED_AWS_MESSAGE}</Message>\
                 </Error><RequestId>injected-fault</RequestId></ErrorResponse>",
                if status >= 500 { "Receiver" } else { "Sender" }
            ),
        ),
        // HEAD answers carry no body, errors included.
        Service::S3 if request.operation == "HeadObject" => ("application/xml", String::new()),
        Service::S3 => (
            "application/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>\
                 <Message>{INJECTED_AWS_MESSAGE}</Message><RequestId>injected-fault</RequestId></Error>"
            ),
        ),
    };
    let status = StatusCode::try_from(status).expect("an HTTP status");
    let mut response = HttpResponse::new(status, SdkBody::from(body));
    response
        .headers_mut()
        .insert("content-type", content_type.to_owned());
    response
        .headers_mut()
        .insert("x-amzn-requestid", "injected-fault".to_owned());
    Ok(response)
}

fn dynamodb_error(code: &str) -> String {
    serde_json::json!({
        "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
        "message": INJECTED_AWS_MESSAGE,
    })
    .to_string()
}
