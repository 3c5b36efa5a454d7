//! A local stand-in for the Lambda Runtime API, so that the real function binaries run as
//! they do on Lambda: each process pulls one event at a time from `next` and posts its
//! answer back. Events queue up until a process takes them.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    routing::{get, post},
};
use jiff::Timestamp;
use serde_json::Value;
use tokio::sync::{Mutex, mpsc, oneshot, watch};

/// What a function answered to one event.
pub type Answer = Result<Value, FunctionError>;

/// An invocation that failed: the error the function posted, or none at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionError {
    /// The function posted to `/invocation/{id}/error`.
    Reported(String),
    /// No answer within the deadline (the process died or hung).
    TimedOut,
}

struct Invocation {
    payload: Value,
    answer: oneshot::Sender<Answer>,
}

struct Shared {
    function_arn: String,
    timeout: Duration,
    // The stub keeps both ends, so that `next` waits (never fails) once its user is gone.
    queue: mpsc::UnboundedSender<Invocation>,
    pending: Mutex<mpsc::UnboundedReceiver<Invocation>>,
    in_flight: std::sync::Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    next_request_id: AtomicU64,
    last_next_call: watch::Sender<Option<Instant>>,
}

/// The Runtime API of one function (`AWS_LAMBDA_RUNTIME_API` points its processes here).
pub struct RuntimeApi {
    address: SocketAddr,
    shared: Arc<Shared>,
}

impl RuntimeApi {
    /// Serves the API on a free loopback port until the process ends.
    pub async fn start(function_name: &str, timeout: Duration) -> Result<RuntimeApi> {
        let (queue, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            function_arn: format!(
                "arn:aws:lambda:ca-central-1:000000000000:function:{function_name}"
            ),
            timeout,
            queue,
            pending: Mutex::new(receiver),
            in_flight: std::sync::Mutex::default(),
            next_request_id: AtomicU64::new(1),
            last_next_call: watch::Sender::new(None),
        });
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("binding the Runtime API stub")?;
        let address = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, router).await });
        Ok(RuntimeApi { address, shared })
    }

    /// The value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Watches when a process last called `next`: a process is initialised when it first does.
    pub fn next_calls(&self) -> watch::Receiver<Option<Instant>> {
        self.shared.last_next_call.subscribe()
    }

    /// Queues an event and waits for a process to answer it.
    pub async fn invoke(&self, payload: Value) -> Answer {
        let (answer, answered) = oneshot::channel();
        self.shared
            .queue
            .send(Invocation { payload, answer })
            .expect("the stub holds its queue's receiver");
        // The deadline runs from queueing, like a synchronous invoke's client timeout.
        tokio::time::timeout(self.shared.timeout, answered)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(Err(FunctionError::TimedOut))
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> (HeaderMap, String) {
    shared.last_next_call.send_replace(Some(Instant::now()));
    let invocation = shared
        .pending
        .lock()
        .await
        .recv()
        .await
        .expect("the stub holds its queue's sender");
    let n = shared.next_request_id.fetch_add(1, Ordering::Relaxed);
    let request_id = format!("00000000-0000-4000-8000-{n:012x}");
    let now = Timestamp::now();
    let deadline = now.as_millisecond() + shared.timeout.as_millis() as i64;
    let trace_id = format!(
        "Root=1-{:08x}-{n:024x};Parent={n:016x};Sampled=0",
        now.as_second()
    );
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", request_id.as_str()),
        ("lambda-runtime-deadline-ms", &deadline.to_string()),
        ("lambda-runtime-invoked-function-arn", &shared.function_arn),
        ("lambda-runtime-trace-id", &trace_id),
        ("content-type", "application/json"),
    ] {
        headers.insert(name, HeaderValue::from_str(value).expect("ASCII values"));
    }
    shared
        .in_flight
        .lock()
        .expect("not poisoned")
        .insert(request_id, invocation.answer);
    (headers, invocation.payload.to_string())
}

fn answer(shared: &Shared, id: &str, answer: Answer) -> StatusCode {
    let waiting = shared.in_flight.lock().expect("not poisoned").remove(id);
    match waiting {
        Some(sender) => {
            // The caller may have given up waiting; the answer then has no one to go to.
            let _ = sender.send(answer);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    answer(&shared, &id, Ok(value))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let reported = FunctionError::Reported(String::from_utf8_lossy(&body).into_owned());
    answer(&shared, &id, Err(reported))
}

async fn init_error(body: Bytes) -> StatusCode {
    eprintln!("function init error: {}", String::from_utf8_lossy(&body));
    StatusCode::ACCEPTED
}
