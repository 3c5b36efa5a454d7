//! Bench (not a test): the release function binaries as Lambda runs them, behind a local
//! Runtime API stub, against the local AWS emulator. Prints markdown: init time and first
//! response (AWS time subtracted) beside an empty `lambda_runtime` function, load through the functions (throughput, answers by
//! status, SMS lost or duplicated), and peak memory of each function. Run with `tests/bench`
//! (it needs `AWS_ENDPOINT_URL`); it builds the binaries itself.

use std::{
    collections::{BTreeMap, HashMap},
    fs::File,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use aws::dynamodb::DynamoStore;
use domain::{
    appointment_status::AppointmentStatus,
    clinic_key::ClinicKey,
    ids::{AppointmentId, PatientId},
    model::{Appointment, Clinic, Patient, SmsStatus},
    phone::PhoneNumber,
    ports::{AppointmentStore, MessageStore},
};
use integration_tests::{
    HttpCall,
    aws_call_timing::AwsCallTiming,
    fixtures::{demo::seed_demo_clinic, inbound::InboundSms},
    http_call,
    lambda_runtime_api::{FunctionError, RuntimeApi},
    staff_claims, with_body, with_idempotency_key, with_query,
};
use jiff::{SignedDuration, Timestamp};
use local_stack::{
    LocalStack,
    emulator::{PublishedSms, REGION, Recorder},
};
use serde_json::{Value, json};

const FUNCTIONS: [&str; 4] = ["search", "send", "secure-unlock", "inbound-reply"];
const EMPTY: &str = "empty-function";
const STARTS: usize = 20;
/// Lambda instances (processes) per function during the load.
const INSTANCES: usize = 8;
const CLIENTS: usize = 50;
const SENDS: usize = 1_000;
const REPLIES: usize = 200;
const SEARCHES: usize = 200;
const PAGE_LOADS: usize = 200;
const UNLOCK_BASE_URL: &str = "https://unlock.bench";
const BASIC_TEXT: &str = "Harbourview Family Clinic: your appointment is confirmed.";

/// Where the release binaries are.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

fn build_release() -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--quiet", "--release"]);
    for package in FUNCTIONS.iter().chain([&EMPTY]) {
        command.args(["-p", package]);
    }
    // Cargo's messages go to stderr; stdout is the bench's markdown.
    let status = command.stdout(Stdio::null()).status()?;
    if !status.success() {
        bail!("building the release binaries failed");
    }
    Ok(())
}

/// One function binary as Lambda would start it: its Runtime API and its environment.
#[derive(Clone)]
struct Function {
    name: &'static str,
    binary: PathBuf,
    environment: Vec<(String, String)>,
    log: PathBuf,
}

impl Function {
    fn new(
        name: &'static str,
        own: &BTreeMap<String, String>,
        endpoint: &str,
        logs: &Path,
    ) -> Function {
        let lambda = [
            ("AWS_LAMBDA_FUNCTION_NAME", name),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", &format!("/aws/lambda/{name}")),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]bench"),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
            ("AWS_REGION", REGION),
            ("AWS_DEFAULT_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_SESSION_TOKEN", "testing"),
            ("AWS_ENDPOINT_URL", endpoint),
            ("_HANDLER", "bootstrap"),
            ("TZ", ":UTC"),
            ("PATH", "/usr/local/bin:/usr/bin/:/bin"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let environment = if name == EMPTY {
            lambda.to_vec()
        } else {
            lambda.into_iter().chain(own.clone()).collect()
        };
        Function {
            name,
            binary: target_dir().join("release").join(name),
            environment,
            log: logs.join(format!("{name}.log")),
        }
    }

    /// The same function calling AWS at `endpoint`.
    fn with_endpoint(&self, endpoint: &str) -> Function {
        let mut function = self.clone();
        for (name, value) in &mut function.environment {
            if name == "AWS_ENDPOINT_URL" {
                *value = endpoint.to_owned();
            }
        }
        function
    }

    /// Execs one instance pointed at `api`, with nothing of this process's environment.
    fn spawn(&self, api: &RuntimeApi) -> Result<Child> {
        let log = File::options().create(true).append(true).open(&self.log)?;
        Command::new(&self.binary)
            .env_clear()
            .envs(self.environment.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))
    }
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// From exec to the first `next` call of one fresh process.
async fn init_time(function: &Function, api: &RuntimeApi) -> Result<Duration> {
    let mut next_calls = api.next_calls();
    next_calls.mark_unchanged();
    let exec = Instant::now();
    let mut child = function.spawn(api)?;
    let called = loop {
        match tokio::time::timeout(Duration::from_millis(100), next_calls.changed()).await {
            Ok(changed) => {
                changed?;
                break next_calls.borrow().context("a next call")?;
            }
            Err(_) => {
                if let Some(status) = child.try_wait()? {
                    bail!(
                        "{} exited ({status}) before calling next; see {}",
                        function.name,
                        function.log.display()
                    );
                }
            }
        }
    };
    stop(child);
    Ok(called - exec)
}

fn millis(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p).div_ceil(100) - 1]
}

/// Medians and p95s of `samples` per function, and the table's rows against the empty
/// function's median (the first): each function's goal is ≤ 1.5× it.
fn ratio_rows(
    functions: &[Function],
    samples: &mut [Vec<Duration>],
    extra: impl Fn(usize) -> String,
) -> Result<String> {
    let medians: Vec<(Duration, Duration)> = samples
        .iter_mut()
        .map(|s| {
            s.sort();
            (percentile(s, 50), percentile(s, 95))
        })
        .collect();
    let empty = medians[0].0;
    let mut rows = String::new();
    for (n, (function, &(median, p95))) in functions.iter().zip(&medians).enumerate() {
        let ratio = median.as_secs_f64() / empty.as_secs_f64();
        let size = std::fs::metadata(&function.binary)?.len() as f64 / 1_048_576.0;
        let (goal, verdict) = match function.name {
            EMPTY => ("baseline", ""),
            _ if ratio <= 1.5 => ("≤ 1.5×", "met"),
            _ => ("≤ 1.5×", "missed"),
        };
        rows.push_str(&format!(
            "| {} | {size:.1} MiB | {} ms | {} ms |{} {ratio:.2}× | {goal} | {verdict} |\n",
            function.name,
            millis(median),
            millis(p95),
            extra(n),
        ));
    }
    Ok(rows)
}

async fn init_table(functions: &[Function]) -> Result<String> {
    let mut apis = Vec::new();
    for function in functions {
        apis.push(RuntimeApi::start(function.name, Duration::from_secs(10)).await?);
    }
    let mut samples = vec![Vec::new(); functions.len()];
    // Round-robin, so that a busy moment of the machine falls on every function alike.
    for _ in 0..STARTS {
        for ((function, api), samples) in functions.iter().zip(&apis).zip(&mut samples) {
            samples.push(init_time(function, api).await?);
        }
    }
    Ok(format!(
        "Release builds for this host ({}); the arm64 zips that deploy cannot run here. \
         Init = exec to the first `GET /runtime/invocation/next`, against a local Runtime API \
         stub, {STARTS} starts each (round-robin, the median is the 10th). The functions trust \
         Amazon Trust Services' roots compiled in (`aws::https_client`): no certificate store \
         is read.\n\n\
         | function | binary | median | p95 | median ÷ empty | goal | |\n\
         | --- | ---: | ---: | ---: | ---: | --- | --- |\n{}",
        std::env::consts::ARCH,
        ratio_rows(functions, &mut samples, |_| String::new())?
    ))
}

/// A proxy in front of the emulator that times the requests through it, so that a
/// function's own time is its time less its AWS time.
struct TimingProxy {
    address: String,
    timing: AwsCallTiming,
}

impl TimingProxy {
    async fn start(emulator: &str) -> Result<TimingProxy> {
        let timing = AwsCallTiming::new();
        let state = (
            emulator.trim_end_matches('/').to_owned(),
            reqwest::Client::new(),
            timing.clone(),
        );
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(Arc::new(state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(TimingProxy { address, timing })
    }
}

async fn forward(
    axum::extract::State(state): axum::extract::State<
        Arc<(String, reqwest::Client, AwsCallTiming)>,
    >,
    request: axum::extract::Request,
) -> axum::response::Response {
    let (emulator, http, timing) = state.as_ref();
    let (parts, body) = request.into_parts();
    let in_flight = timing.started();
    let forwarded = async {
        let body = axum::body::to_bytes(body, usize::MAX).await?;
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut headers = parts.headers.clone();
        headers.remove(axum::http::header::HOST);
        let answer = http
            .request(parts.method.clone(), format!("{emulator}{path}"))
            .headers(headers)
            .body(body)
            .send()
            .await?;
        let mut response = axum::response::Response::builder().status(answer.status());
        for (name, value) in answer.headers() {
            if name != axum::http::header::TRANSFER_ENCODING {
                response = response.header(name, value);
            }
        }
        anyhow::Ok(response.body(axum::body::Body::from(answer.bytes().await?))?)
    }
    .await;
    drop(in_flight);
    forwarded.unwrap_or_else(|error| {
        axum::response::Response::builder()
            .status(502)
            .body(axum::body::Body::from(error.to_string()))
            .expect("a response")
    })
}

/// From exec to the answer to `event` of one fresh process, and the AWS time in between.
async fn first_response(
    function: &Function,
    api: &RuntimeApi,
    event: Value,
    timing: &AwsCallTiming,
) -> Result<(Duration, Duration)> {
    timing.take();
    let exec = Instant::now();
    let child = function.spawn(api)?;
    let answer = api.invoke(event).await;
    let elapsed = exec.elapsed();
    let aws = timing.take().busy;
    stop(child);
    if let Err(error) = answer {
        bail!("{}: no first answer ({error:?})", function.name);
    }
    Ok((elapsed, aws))
}

/// Process start to the first answer, AWS time subtracted: init, the first use of the
/// clients (the HTTPS connector, the clinic's key) and the handler, each function with a
/// request it serves every day.
async fn first_response_table(
    functions: &[Function],
    bench: &Bench,
    proxy: &TimingProxy,
) -> Result<String> {
    let token = bench.secure_message_token().await?;
    let through_proxy: Vec<Function> = functions
        .iter()
        .map(|function| function.with_endpoint(&proxy.address))
        .collect();
    let mut apis = Vec::new();
    for function in &through_proxy {
        apis.push(RuntimeApi::start(function.name, Duration::from_secs(10)).await?);
    }
    let mut samples = vec![Vec::new(); functions.len()];
    let mut aws = vec![Vec::new(); functions.len()];
    for start in 0..STARTS {
        for (n, (function, api)) in through_proxy.iter().zip(&apis).enumerate() {
            let event = bench.first_event(function.name, start, &token)?;
            let (elapsed, in_aws) = first_response(function, api, event, &proxy.timing).await?;
            samples[n].push(elapsed.saturating_sub(in_aws));
            aws[n].push(in_aws);
        }
    }
    for times in &mut aws {
        times.sort();
    }
    Ok(format!(
        "Process start to the first answer, less the time AWS requests were in flight (timed \
         by a proxy in front of the emulator), {STARTS} fresh processes each (round-robin): \
         search by phone, a basic send, the unlock page, an inbound reply; the empty function \
         answers its event.\n\n\
         | function | binary | median | p95 | AWS median | median ÷ empty | goal | |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |\n{}",
        ratio_rows(functions, &mut samples, |n| format!(
            " {} ms |",
            millis(percentile(&aws[n], 50))
        ))?
    ))
}

/// The phone of the n-th bench patient (distinct from the demo clinic's). The last two
/// digits stay below 50: the emulator treats numbers ending in 99 as opted out.
fn phone(n: usize) -> PhoneNumber {
    PhoneNumber::parse(&format!("+1604{:05}{:02}", 30_000 + n / 50, n % 50))
        .expect("a valid number")
}

fn appointment_id(n: usize) -> AppointmentId {
    AppointmentId::parse(&format!("bench-a-{n}")).expect("a valid id")
}

async fn seed_patients(store: &DynamoStore, key: &ClinicKey) -> Result<()> {
    let starts_at = Timestamp::now() + SignedDuration::from_hours(48);
    let records: Vec<_> = (0..SENDS)
        .map(|n| {
            let patient = Patient {
                id: PatientId::parse(&format!("bench-{n}")).expect("a valid id"),
                phn: None,
                first_name: format!("Given{n}"),
                last_name: format!("Family{n}"),
                date_of_birth: None,
                phone: Some(phone(n)),
                email: None,
            };
            let appointment = Appointment {
                id: appointment_id(n),
                patient_id: patient.id.clone(),
                starts_at,
                provider_name: "Dr. Bench".into(),
                status: AppointmentStatus::Booked,
            };
            (patient, vec![appointment])
        })
        .collect();
    store.bulk_load(key, &records).await?;
    Ok(())
}

/// The final answer, and the failures retried before it.
fn retried(answer: String, failures: &[String]) -> String {
    if failures.is_empty() {
        answer
    } else {
        format!("{answer} after retrying {}", failures.join(", "))
    }
}

fn http_status(answer: &Result<Value, FunctionError>) -> String {
    match answer {
        Ok(response) => response["statusCode"]
            .as_u64()
            .map_or("no status".to_owned(), |s| s.to_string()),
        Err(FunctionError::Reported(_)) => "function error".to_owned(),
        Err(FunctionError::TimedOut) => "timed out".to_owned(),
    }
}

/// Runs `count` requests from `CLIENTS` concurrent clients, each waiting for its answer.
/// Returns the answers by index and the elapsed time.
async fn load<F, Fut>(count: usize, request: F) -> (Vec<String>, Duration)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = String> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (request, next) = (request.clone(), next.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return answers;
                    }
                    answers.push((i, request(i).await));
                }
            })
        })
        .collect();
    let mut answers = vec![String::new(); count];
    for client in clients {
        for (i, answer) in client.await.expect("a client task") {
            answers[i] = answer;
        }
    }
    (answers, started.elapsed())
}

fn load_row(name: &str, answers: &[String], elapsed: Duration) -> String {
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for answer in answers {
        *by_status.entry(answer).or_default() += 1;
    }
    let by_status: Vec<String> = by_status
        .iter()
        .map(|(status, count)| format!("{status}: {count}"))
        .collect();
    format!(
        "| {name} | {} | {CLIENTS} | {:.1} s | {:.0}/s | {} |\n",
        answers.len(),
        elapsed.as_secs_f64(),
        answers.len() as f64 / elapsed.as_secs_f64(),
        by_status.join(", ")
    )
}

/// One Lambda function's instances during the load, each handling one event at a time.
struct Fleet {
    api: Arc<RuntimeApi>,
    instances: Vec<Child>,
}

impl Fleet {
    async fn start(function: &Function) -> Result<Fleet> {
        let api = RuntimeApi::start(function.name, Duration::from_secs(60)).await?;
        let instances = (0..INSTANCES)
            .map(|_| function.spawn(&api))
            .collect::<Result<_>>()?;
        Ok(Fleet {
            api: Arc::new(api),
            instances,
        })
    }

    /// The highest peak RSS (`VmHWM`) among the instances, in KiB; then stops them.
    fn peak_memory_and_stop(self) -> Result<u64> {
        let mut peak = 0;
        for mut child in self.instances {
            if let Some(exit) = child.try_wait()? {
                eprintln!("an instance stopped during the load ({exit}); see its log");
                continue;
            }
            let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))?;
            let kib = status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .context("VmHWM in /proc/<pid>/status")?;
            peak = peak.max(kib);
            stop(child);
        }
        Ok(peak)
    }
}

fn count_by_phone<'a>(sms: impl Iterator<Item = &'a PublishedSms>) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for sms in sms {
        *counts.entry(sms.phone_number.clone()).or_default() += 1;
    }
    counts
}

/// The seeded clinic and a fleet per function, with one call per kind of request.
struct Bench {
    store: DynamoStore,
    clinic: Clinic,
    recorder: Recorder,
    inbound_topic: String,
    fleets: HashMap<&'static str, Fleet>,
}

impl Bench {
    async fn start(functions: &[Function], stack: &LocalStack, endpoint: &str) -> Result<Bench> {
        let store = DynamoStore::new(stack.clients.dynamodb(), stack.config.tables.clone());
        let clinic = seed_demo_clinic(stack, &store).await?;
        let key = stack.clinic_key(&clinic.id).await?;
        seed_patients(&store, &key).await?;
        let recorder = Recorder::new(endpoint);
        recorder.start().await?;
        let mut fleets = HashMap::new();
        for function in functions.iter().filter(|f| f.name != EMPTY) {
            fleets.insert(function.name, Fleet::start(function).await?);
        }
        Ok(Bench {
            store,
            clinic,
            recorder,
            inbound_topic: stack.inbound_topic_arn()?,
            fleets,
        })
    }

    async fn call(&self, function: &str, call: HttpCall) -> String {
        let answer = self.fleets[function]
            .api
            .invoke(call.event(Timestamp::now()))
            .await;
        http_status(&answer)
    }

    /// The event of the `start`-th first response of `function`.
    fn first_event(&self, function: &str, start: usize, token: &str) -> Result<Value> {
        let now = Timestamp::now();
        Ok(match function {
            "search" => {
                let call = http_call("GET /patients", &[], self.staff());
                with_query(call, &[("q", phone(start).as_e164())]).event(now)
            }
            "send" => {
                let call = with_body(
                    http_call(
                        "POST /appointments/{appointmentId}/messages",
                        &[("appointmentId", "a-ava-upcoming")],
                        self.staff(),
                    ),
                    &json!({"kind": "basic", "text": "First response bench."}).to_string(),
                );
                with_idempotency_key(call, &format!("bench-first-{start}")).event(now)
            }
            "secure-unlock" => http_call("GET /m/{token}", &[("token", token)], None).event(now),
            "inbound-reply" => serde_json::to_value(
                InboundSms {
                    id: &format!("bench-first-inbound-{start}"),
                    from: phone(start).as_e164(),
                    to: self.clinic.sms_number.as_e164(),
                    text: "first response",
                    replying_to: None,
                }
                .event(&self.inbound_topic),
            )?,
            _ => json!({}),
        })
    }

    fn staff(&self) -> Option<BTreeMap<String, String>> {
        Some(staff_claims(self.clinic.id.as_str(), "bench-staff"))
    }

    async fn send(&self, appointment: &str, key: &str, body: &Value) -> String {
        let call = with_body(
            http_call(
                "POST /appointments/{appointmentId}/messages",
                &[("appointmentId", appointment)],
                self.staff(),
            ),
            &body.to_string(),
        );
        self.call("send", with_idempotency_key(call, key)).await
    }

    /// A send as the dashboard makes it: a 5xx answer is retried (twice) with the same key.
    async fn send_with_retries(&self, appointment: &str, key: &str, body: &Value) -> String {
        let mut failures = Vec::new();
        loop {
            let status = self.send(appointment, key, body).await;
            if !status.starts_with('5') || failures.len() == 2 {
                return retried(status, &failures);
            }
            failures.push(status);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The n-th patient's reply, as SNS delivers it; a failed delivery is retried twice, as
    /// Lambda retries an asynchronous invocation.
    async fn deliver_reply(&self, n: usize) -> String {
        let event = InboundSms {
            id: &format!("bench-inbound-{n}"),
            from: phone(n).as_e164(),
            to: self.clinic.sms_number.as_e164(),
            text: "ok see you then",
            replying_to: None,
        }
        .event(&self.inbound_topic);
        let event = serde_json::to_value(event).expect("an SNS event");
        let mut failures = Vec::new();
        loop {
            match self.fleets["inbound-reply"].api.invoke(event.clone()).await {
                Ok(_) => return retried("ok".to_owned(), &failures),
                Err(_) if failures.len() == 2 => return retried("failed".to_owned(), &failures),
                Err(error) => failures.push(http_status(&Err(error))),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Sends one secure message and reads its unlock token back from the SMS.
    async fn secure_message_token(&self) -> Result<String> {
        let body = json!({"kind": "secure", "text": "Your results are ready."});
        let status = self
            .send_with_retries("a-ava-upcoming", "bench-secure", &body)
            .await;
        if status != "201" {
            bail!("the secure send answered {status}");
        }
        let prefix = format!("{UNLOCK_BASE_URL}/m/");
        self.recorder
            .published_sms()
            .await?
            .iter()
            .find_map(|sms| {
                let (_, rest) = sms.message.split_once(&prefix)?;
                Some(rest.split_whitespace().next()?.to_owned())
            })
            .context("the secure SMS carries an unlock link")
    }

    /// Every SMS published, by number, against what DynamoDB recorded: messages sent (read
    /// by appointment) and appointments marked `Unclear` by a reply.
    async fn sms_accounting(&self, sends: &[String]) -> Result<String> {
        let published = self.recorder.published_sms().await?;
        let basics = count_by_phone(published.iter().filter(|sms| sms.message == BASIC_TEXT));
        let autoreplies = count_by_phone(
            published
                .iter()
                .filter(|sms| sms.message == self.clinic.unclear_response),
        );
        let mut send = Accounting::default();
        let mut reply = Accounting::default();
        for (n, answer) in sends.iter().enumerate() {
            let recorded = self
                .store
                .messages_for_appointment(&self.clinic.id, &appointment_id(n))
                .await?
                .iter()
                .filter(|m| m.sms_status == SmsStatus::Sent)
                .count();
            // A 201 answer promises one SMS, whatever was recorded.
            let expected = recorded.max(usize::from(answer.starts_with("201")));
            send.add(expected, recorded, basics.get(phone(n).as_e164()));
            if n < REPLIES {
                let appointment = self
                    .store
                    .get_appointment(&self.clinic.id, &appointment_id(n))
                    .await?;
                let unclear = appointment.is_some_and(|a| a.status == AppointmentStatus::Unclear);
                // A reply gets its auto-reply when a message was sent to the patient.
                let replied_to = usize::from(expected > 0);
                reply.add(
                    replied_to,
                    usize::from(unclear),
                    autoreplies.get(phone(n).as_e164()),
                );
            }
        }
        Ok(format!(
            "| flow | expected SMS | recorded in DynamoDB | SNS Publish calls | lost | duplicated | goal | |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |\n\
             | basic sends | {} (201 answers: {}) | {} messages sent | {} | {} | {} | 0 lost, 0 duplicated | {} |\n\
             | auto-replies | {} (distinct inbound SMS answering a sent message) | {} appointments `Unclear` | {} | {} | {} | 0 lost, 0 duplicated | {} |\n",
            send.expected,
            sends.iter().filter(|s| s.starts_with("201")).count(),
            send.recorded,
            send.published,
            send.lost,
            send.duplicated,
            send.verdict(),
            reply.expected,
            reply.recorded,
            reply.published,
            reply.lost,
            reply.duplicated,
            reply.verdict(),
        ))
    }
}

#[derive(Default)]
struct Accounting {
    expected: usize,
    recorded: usize,
    published: usize,
    lost: usize,
    duplicated: usize,
}

impl Accounting {
    fn add(&mut self, expected: usize, recorded: usize, published: Option<&usize>) {
        let published = published.copied().unwrap_or(0);
        self.expected += expected;
        self.recorded += recorded;
        self.published += published;
        self.lost += expected.saturating_sub(published);
        self.duplicated += published.saturating_sub(expected);
    }

    fn verdict(&self) -> &'static str {
        if self.lost + self.duplicated == 0 {
            "met"
        } else {
            "missed"
        }
    }
}

/// Sends, inbound replies, searches and unlock page loads through the function binaries.
async fn load_tables(bench: Bench) -> Result<String> {
    let bench = Arc::new(bench);
    let mut rows = String::new();

    let b = bench.clone();
    let (sends, elapsed) = load(SENDS, move |n| {
        let b = b.clone();
        async move {
            let body = json!({"kind": "basic", "text": BASIC_TEXT});
            b.send_with_retries(
                appointment_id(n).as_str(),
                &format!("bench-send-{n}"),
                &body,
            )
            .await
        }
    })
    .await;
    rows.push_str(&load_row(
        "basic sends (one per appointment)",
        &sends,
        elapsed,
    ));

    // Every other reply comes with its replay at once, the others are replayed after all
    // first deliveries: SNS delivers at least once, in any order.
    let mut deliveries = Vec::new();
    for n in 0..REPLIES {
        deliveries.push(n);
        if n % 2 == 0 {
            deliveries.push(n);
        }
    }
    deliveries.extend((0..REPLIES).filter(|n| n % 2 == 1));
    let deliveries = Arc::new(deliveries);
    let b = bench.clone();
    let (replies, elapsed) = load(deliveries.len(), move |i| {
        let (b, n) = (b.clone(), deliveries[i]);
        async move { b.deliver_reply(n).await }
    })
    .await;
    rows.push_str(&load_row(
        "inbound replies (200, each delivered twice)",
        &replies,
        elapsed,
    ));
    let accounting = bench.sms_accounting(&sends).await?;

    let b = bench.clone();
    let (searches, elapsed) = load(SEARCHES, move |n| {
        let b = b.clone();
        let query = if n % 2 == 0 {
            phone(n).as_e164().to_owned()
        } else {
            format!("family{n}")
        };
        async move {
            let call = with_query(http_call("GET /patients", &[], b.staff()), &[("q", &query)]);
            b.call("search", call).await
        }
    })
    .await;
    rows.push_str(&load_row(
        "patient searches (phone, name)",
        &searches,
        elapsed,
    ));

    let token = bench.secure_message_token().await?;
    let b = bench.clone();
    let (pages, elapsed) = load(PAGE_LOADS, move |_| {
        let b = b.clone();
        let call = http_call("GET /m/{token}", &[("token", &token)], None);
        async move { b.call("secure-unlock", call).await }
    })
    .await;
    rows.push_str(&load_row(
        "unlock page loads (one message)",
        &pages,
        elapsed,
    ));

    let mut bench = Arc::into_inner(bench).context("the load is over")?;
    let mut memory =
        String::from("| function | instances | peak RSS (max `VmHWM`) |\n| --- | ---: | ---: |\n");
    for function in FUNCTIONS {
        let fleet = bench
            .fleets
            .remove(function)
            .context("a fleet per function")?;
        let kib = fleet.peak_memory_and_stop()?;
        memory.push_str(&format!(
            "| {function} | {INSTANCES} | {:.1} MiB |\n",
            kib as f64 / 1024.0
        ));
    }
    Ok(format!(
        "## Load through the function binaries\n\n\
         {INSTANCES} processes per function behind the Runtime API stub (each one Lambda \
         instance, one event at a time); {CLIENTS} concurrent clients, each waiting for its \
         answer; API Gateway payload 2.0 and SNS events built as `infra/local` builds them. \
         Answers by HTTP status; a 5xx send is retried twice with the same idempotency key, \
         as the dashboard would. Inbound deliveries by invocation outcome; a failed one is \
         retried twice, as Lambda retries an asynchronous invocation.\n\n\
         | load | requests | clients | time | throughput | answers |\n\
         | --- | ---: | ---: | ---: | ---: | --- |\n{rows}\n\
         ## SMS lost or duplicated under load\n\n\
         SNS Publish calls read back from the emulator's request recorder, by phone number, \
         against DynamoDB: messages recorded as sent (read by appointment) and appointments \
         marked `Unclear` by a reply.\n\n{accounting}\n\
         ## Peak memory during the load\n\n\
         The template gives each function 256 MB.\n\n{memory}"
    ))
}

#[tokio::main]
async fn main() -> Result<()> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .map_err(|_| anyhow::anyhow!("run through tests/bench"))?;
    build_release()?;
    let prefix = format!("rt{}-", Timestamp::now().as_second());
    let stack = LocalStack::create(&endpoint, &prefix, UNLOCK_BASE_URL).await?;
    let own = stack.provisioned.environment(
        &stack.template,
        &[
            ("UNLOCK_BASE_URL", UNLOCK_BASE_URL),
            ("S3_FORCE_PATH_STYLE", "true"),
        ],
    )?;
    let logs = std::env::temp_dir().join(format!("bench-runtime-{}", std::process::id()));
    std::fs::create_dir_all(&logs)?;
    eprintln!("the functions' logs: {}", logs.display());
    let functions: Vec<Function> = [EMPTY]
        .into_iter()
        .chain(FUNCTIONS)
        .map(|name| Function::new(name, &own, &endpoint, &logs))
        .collect();
    let init = init_table(&functions).await?;
    let bench = Bench::start(&functions, &stack, &endpoint).await?;
    let proxy = TimingProxy::start(&endpoint).await?;
    let first = first_response_table(&functions, &bench, &proxy).await?;
    let load = load_tables(bench).await?;
    println!("## Function init time\n\n{init}\n## First response\n\n{first}\n{load}");
    Ok(())
}
