//! Bench (not a test): AWS requests per operation, counted by the emulator's request
//! recorder, and warm latency per route through the real handlers (as the local stack calls
//! them, with API Gateway payload 2.0 events) beside the time spent in AWS calls, timed
//! around the SDK's HTTP client, so that the handlers' own overhead shows. Run with
//! `tests/bench`.
//!
//! Usage: bench-routes [REQUESTS]   (per route; default 1000). `BENCH_STACK_PREFIX` names
//! its tables (default `routes-`), so that two builds can be compared on one emulator.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use aws::{AwsClients, dynamodb::DynamoStore};
use domain::{
    appointment_status::AppointmentStatus,
    email::Email,
    ids::{AppointmentId, ClinicId, PatientId},
    model::{Appointment, Patient},
    phn::Phn,
    phone::PhoneNumber,
    ports::{AppointmentStore, BeginOutcome, BeginSend, SendStore},
};
use integration_tests::{
    HttpCall,
    aws_call_timing::AwsCallTiming,
    aws_request_counts::RequestRecorder,
    body_json, body_text,
    fixtures::{
        demo::seed_demo_clinic,
        inbound::InboundSms,
        uploads::{UploadTicket, put_file},
    },
    http_call,
    port_contracts::records,
    staff_claims, with_body, with_idempotency_key, with_query,
};
use jiff::{SignedDuration, Timestamp};
use local_stack::{LocalStack, carrier::LocalCarrier, emulator, functions::Functions};
use serde_json::json;

const PHN: &str = "9567812347";
const WRONG_PHN: &str = "9698658215";
const PHONE: &str = "+12505550901";
const EMAIL: &str = "bench.patient@example.com";
const DETAILS_APPOINTMENT: &str = "a-bench-details";
const SEND_APPOINTMENT: &str = "a-bench-send";
/// Calls per route before measuring: connections open, the clinic cached (60 s).
const WARM_UP: usize = 10;
/// Wrong PHNs per message: the fifth in a row locks it, which is another path.
const WRONG_PER_MESSAGE: usize = 4;

struct Bench {
    functions: Functions,
    store: DynamoStore,
    endpoint: String,
    timing: AwsCallTiming,
    recorder: RequestRecorder,
    sms: emulator::Recorder,
    inbound_topic: String,
    clinic_id: String,
    clinic_number: String,
    attachments: Vec<String>,
    next_id: usize,
}

/// What one request through a handler took.
struct Sample {
    route: Duration,
    aws: Duration,
    aws_requests: usize,
    /// Sequential AWS round trips: requests that overlapped in time count once.
    aws_rounds: usize,
}

/// One operation of the bench, as a call the handlers answer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    SearchPhn,
    SearchPhone,
    SearchEmail,
    SearchName,
    Details,
    Templates,
    UploadUrl,
    SendBasic,
    SendSecure,
    UnlockPage,
    UnlockWrong,
    UnlockRight,
    InboundReply,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::SearchPhn => "search by PHN",
            Op::SearchPhone => "search by phone",
            Op::SearchEmail => "search by email",
            Op::SearchName => "search by name",
            Op::Details => "appointment details",
            Op::Templates => "templates",
            Op::UploadUrl => "upload URL",
            Op::SendBasic => "send basic",
            Op::SendSecure => "send secure, 2 files",
            Op::UnlockPage => "unlock page (GET)",
            Op::UnlockWrong => "unlock, wrong PHN",
            Op::UnlockRight => "unlock, right PHN",
            Op::InboundReply => "inbound reply",
        }
    }
}

impl Bench {
    async fn new(endpoint: &str) -> Result<Bench> {
        let timing = AwsCallTiming::new();
        let prefix = std::env::var("BENCH_STACK_PREFIX").unwrap_or_else(|_| "routes-".to_owned());
        let mut stack = LocalStack::create(endpoint, &prefix, "https://unlock.bench").await?;
        let sdk = timing.wrap(&emulator::sdk_config(endpoint));
        stack.clients = AwsClients::from_sdk_config(&sdk, stack.config.s3_force_path_style);
        let store = DynamoStore::new(stack.clients.dynamodb(), stack.config.tables.clone());
        let clinic = seed_demo_clinic(&stack, &store).await?;
        let key = stack.clinic_key(&clinic.id).await?;
        let patient = Patient {
            id: PatientId::parse("p-bench")?,
            phn: Some(Phn::parse(PHN)?),
            first_name: "Benchfirst".into(),
            last_name: "Benchlast".into(),
            date_of_birth: None,
            phone: Some(PhoneNumber::parse(PHONE)?),
            email: Some(Email::parse(EMAIL)?),
        };
        for (id, days) in [(DETAILS_APPOINTMENT, 2), (SEND_APPOINTMENT, 3)] {
            let appointment = Appointment {
                id: AppointmentId::parse(id)?,
                patient_id: patient.id.clone(),
                starts_at: Timestamp::now() + SignedDuration::from_hours(24 * days),
                provider_name: "Dr. Bench".into(),
                status: AppointmentStatus::Booked,
            };
            store
                .upsert_appointment_with_patient(&key, &patient, &appointment)
                .await?;
        }
        let mut bench = Bench {
            functions: Functions::new(&stack.config, &stack.clients),
            store: store.clone(),
            endpoint: endpoint.to_owned(),
            timing,
            recorder: RequestRecorder::new(endpoint),
            sms: emulator::Recorder::new(endpoint),
            inbound_topic: stack.inbound_topic_arn()?,
            clinic_id: clinic.id.as_str().to_owned(),
            clinic_number: clinic.sms_number.as_e164().to_owned(),
            attachments: Vec::new(),
            next_id: 0,
        };
        for _ in 0..2 {
            let id = bench.upload_attachment().await?;
            bench.attachments.push(id);
        }
        Ok(bench)
    }

    fn staff(&self, route: &str, parameters: &[(&str, &str)]) -> HttpCall {
        http_call(
            route,
            parameters,
            Some(staff_claims(&self.clinic_id, "staff-bench")),
        )
    }

    fn fresh_id(&mut self, kind: &str) -> String {
        self.next_id += 1;
        format!("bench-{kind}-{}", self.next_id)
    }

    async fn upload_attachment(&mut self) -> Result<String> {
        let call = with_body(
            self.staff("POST /attachments", &[]),
            r#"{"content_type":"application/pdf","size":14}"#,
        );
        let response = self.http("send", &call).await?;
        ensure!(
            response.status() == 201,
            "upload URL: {}",
            response.status()
        );
        let ticket =
            UploadTicket::from_answer(&body_json(&response)).context("an upload ticket")?;
        let uploaded = put_file(&ticket.upload, b"%PDF-1.7 bench").await?;
        ensure!(
            uploaded.status().is_success(),
            "upload: {}",
            uploaded.status()
        );
        Ok(ticket.attachment_id)
    }

    async fn http(
        &self,
        binary: &str,
        call: &HttpCall,
    ) -> Result<lambda_http::Response<lambda_http::Body>> {
        let request = call.request(Timestamp::now())?;
        self.functions
            .call_http(binary, request)
            .await
            .context("an HTTP function")
    }

    /// The call for `op`; `token` is the unlock link's token for the unlock operations.
    fn call(&mut self, op: Op, token: &str) -> (&'static str, HttpCall) {
        let search =
            |bench: &Bench, q: &str| with_query(bench.staff("GET /patients", &[]), &[("q", q)]);
        let send = |bench: &mut Bench, body: String| {
            let key = bench.fresh_id("key");
            let call = with_body(
                bench.staff(
                    "POST /appointments/{appointmentId}/messages",
                    &[("appointmentId", SEND_APPOINTMENT)],
                ),
                &body,
            );
            with_idempotency_key(call, &key)
        };
        let unlock = |phn: &str| {
            let mut call = http_call("POST /m/{token}", &[("token", token)], None);
            call.headers.push((
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ));
            call.body = format!("phn={phn}").into_bytes();
            call
        };
        match op {
            Op::SearchPhn => ("search", search(self, PHN)),
            Op::SearchPhone => ("search", search(self, PHONE)),
            Op::SearchEmail => ("search", search(self, EMAIL)),
            Op::SearchName => ("search", search(self, "benchl")),
            Op::Details => (
                "search",
                self.staff(
                    "GET /appointments/{appointmentId}",
                    &[("appointmentId", DETAILS_APPOINTMENT)],
                ),
            ),
            Op::Templates => ("search", self.staff("GET /templates", &[])),
            Op::UploadUrl => (
                "send",
                with_body(
                    self.staff("POST /attachments", &[]),
                    r#"{"content_type":"application/pdf","size":14}"#,
                ),
            ),
            Op::SendBasic => (
                "send",
                send(
                    self,
                    r#"{"kind":"basic","template_id":"reminder"}"#.to_owned(),
                ),
            ),
            Op::SendSecure => {
                let files: Vec<_> = self
                    .attachments
                    .iter()
                    .enumerate()
                    .map(|(n, id)| json!({"id": id, "file_name": format!("results-{n}.pdf")}))
                    .collect();
                let body =
                    json!({"kind": "secure", "template_id": "results-ready", "attachments": files});
                ("send", send(self, body.to_string()))
            }
            Op::UnlockPage => (
                "secure-unlock",
                http_call("GET /m/{token}", &[("token", token)], None),
            ),
            Op::UnlockWrong => ("secure-unlock", unlock(WRONG_PHN)),
            Op::UnlockRight => ("secure-unlock", unlock(PHN)),
            Op::InboundReply => unreachable!("an SNS event, not an HTTP call"),
        }
    }

    /// Runs `op` once through its handler and checks that it did what it should, so that no
    /// figure comes from an error path.
    async fn run(&mut self, op: Op, token: &str) -> Result<Sample> {
        if op == Op::InboundReply {
            return self.reply().await;
        }
        let (binary, call) = self.call(op, token);
        self.timing.take();
        let started = Instant::now();
        let request = call.request(Timestamp::now())?;
        let response = self
            .functions
            .call_http(binary, request)
            .await
            .context("an HTTP function")?;
        let route = started.elapsed();
        let aws = self.timing.take();
        let status = response.status().as_u16();
        let body = body_text(&response);
        let expected = match op {
            Op::UploadUrl | Op::SendBasic | Op::SendSecure => 201,
            _ => 200,
        };
        if status != expected {
            bail!("{}: {status} {body}", op.name());
        }
        let page_says = |text: &str| body.contains(text);
        match op {
            Op::UnlockWrong if !page_says("does not match") => bail!("wrong PHN: {body}"),
            Op::UnlockRight if page_says("does not match") || !page_says("results-0.pdf") => {
                bail!("right PHN: {body}")
            }
            Op::SearchPhn | Op::SearchPhone | Op::SearchEmail | Op::SearchName
                if !page_says("p-bench") =>
            {
                bail!("{} found nothing", op.name())
            }
            _ => {}
        }
        Ok(Sample {
            route,
            aws: aws.busy,
            aws_requests: aws.requests,
            aws_rounds: aws.rounds,
        })
    }

    async fn reply(&mut self) -> Result<Sample> {
        let id = self.fresh_id("inbound");
        self.timing.take();
        let started = Instant::now();
        let event = InboundSms {
            id: &id,
            from: PHONE,
            to: &self.clinic_number,
            text: "ok thanks",
            replying_to: None,
        }
        .event(&self.inbound_topic);
        let outcome = self.functions.call_sns(event).await;
        let route = started.elapsed();
        let aws = self.timing.take();
        ensure!(
            outcome.handled == 1 && outcome.failed == 0,
            "inbound reply not handled"
        );
        Ok(Sample {
            route,
            aws: aws.busy,
            aws_requests: aws.requests,
            aws_rounds: aws.rounds,
        })
    }

    /// Link tokens of the secure messages recorded since the recorder last restarted.
    async fn recorded_tokens(&self) -> Result<Vec<String>> {
        Ok(self
            .sms
            .published_sms()
            .await?
            .into_iter()
            .filter(|sms| sms.phone_number == PHONE)
            .filter_map(|sms| {
                let after = sms.message.split("/m/").nth(1)?;
                Some(after.split_whitespace().next()?.to_owned())
            })
            .collect())
    }

    /// Secure messages sent outside any measurement, for the unlock operations.
    async fn secure_messages(&mut self, count: usize) -> Result<Vec<String>> {
        self.recorder.restart().await?;
        for _ in 0..count {
            self.run(Op::SendSecure, "").await?;
        }
        self.recorder.stop().await?;
        let tokens = self.recorded_tokens().await?;
        ensure!(tokens.len() == count, "{} of {count} tokens", tokens.len());
        Ok(tokens)
    }
}

/// The goal per operation (issue 18's), and whether the counts and the sequential round
/// trips meet it.
fn request_goal(
    op: Op,
    counts: &integration_tests::aws_request_counts::OperationCounts,
    rounds: usize,
) -> (&'static str, Option<bool>) {
    match op {
        // Issue 7's one request, and the audit of the read that came since.
        Op::SearchPhn | Op::SearchPhone | Op::SearchEmail => (
            "1 Query + the read's audit write",
            Some(counts.of("DynamoDB.Query") == 1 && counts.total() == 2),
        ),
        Op::SendBasic => ("≤ 4 sequential", Some(rounds <= 4)),
        Op::SendSecure => ("≤ 4 sequential, whatever the files", Some(rounds <= 4)),
        Op::UnlockRight => ("≤ 3 sequential", Some(rounds <= 3)),
        Op::InboundReply => (
            "≤ 6 in all, ≤ 4 sequential",
            Some(counts.total() <= 6 && rounds <= 4),
        ),
        _ => ("—", None),
    }
}

async fn count_requests(bench: &mut Bench, tokens: &[String]) -> Result<String> {
    let mut table = String::from(
        "| operation | AWS requests, warm (service.operation count) | total | sequential | goal | met |\n\
         | --- | --- | ---: | ---: | --- | --- |\n",
    );
    let ops = [
        Op::SearchPhn,
        Op::SearchPhone,
        Op::SearchEmail,
        Op::SearchName,
        Op::Details,
        Op::Templates,
        Op::UploadUrl,
        Op::SendBasic,
        Op::SendSecure,
        Op::UnlockPage,
        Op::UnlockWrong,
        Op::UnlockRight,
        Op::InboundReply,
    ];
    for op in ops {
        // A wrong PHN and a right one each on a message of their own, warm-up and counted.
        let (warm, counted) = match op {
            Op::UnlockWrong => (&tokens[0], &tokens[1]),
            _ => (&tokens[2], &tokens[3]),
        };
        bench.run(op, warm).await?;
        bench.recorder.restart().await?;
        let sample = bench.run(op, counted).await?;
        bench.recorder.stop().await?;
        let counts = bench.recorder.counts().await?;
        let (goal, met) = request_goal(op, &counts, sample.aws_rounds);
        let met = match met {
            Some(true) => "met",
            Some(false) => "missed",
            None => "—",
        };
        table.push_str(&format!(
            "| {} | {counts} | {} | {} | {goal} | {met} |\n",
            op.name(),
            counts.total(),
            sample.aws_rounds,
        ));
    }
    Ok(table)
}

/// One row of the counts table.
fn count_row(
    operation: &str,
    counts: &integration_tests::aws_request_counts::OperationCounts,
    rounds: usize,
    goal: &str,
    met: bool,
) -> String {
    let met = if met { "met" } else { "missed" };
    format!(
        "| {operation} | {counts} | {} | {rounds} | {goal} | {met} |\n",
        counts.total()
    )
}

/// The carrier's receipt for one SMS (through the real `delivery-status` handler), and one
/// sweep of messages left `sending` (the `sweeper` handler), counted like the routes.
async fn count_lifecycle(bench: &mut Bench) -> Result<String> {
    let mut carrier = LocalCarrier::starting_now(&bench.endpoint, []).await?;
    let mut rows = String::new();
    for counted in [false, true] {
        bench.run(Op::SendBasic, "").await?;
        if counted {
            bench.recorder.restart().await?;
        }
        bench.timing.take();
        let receipts = carrier.deliver(&bench.functions.delivery_status).await?;
        let rounds = bench.timing.take().rounds;
        ensure!(receipts.recorded == 1, "receipts: {receipts:?}");
        if counted {
            bench.recorder.stop().await?;
            let counts = bench.recorder.counts().await?;
            rows.push_str(&count_row(
                "delivery receipt",
                &counts,
                rounds,
                "≤ 2 in all",
                counts.total() <= 2,
            ));
        }
    }

    // Sends stopped after Publish 11 minutes ago: recorded `sending`, never finished.
    const STUCK: usize = 3;
    bench.functions.sweeper.handle().await?;
    let clinic = ClinicId::parse(&bench.clinic_id)?;
    let patient = bench
        .store
        .patient_record(&clinic, &PatientId::parse("p-bench")?)
        .await?
        .context("the bench patient")?;
    let appointment = bench
        .store
        .get_appointment(&clinic, &AppointmentId::parse(SEND_APPOINTMENT)?)
        .await?
        .context("the bench appointment")?;
    let started = Timestamp::now() - SignedDuration::from_mins(11);
    for n in 0..STUCK {
        let id = bench.fresh_id("stuck");
        let message = records::basic_message(
            &clinic,
            &id,
            &appointment,
            &PhoneNumber::parse(PHONE)?,
            started,
        );
        let key = records::idempotency_key(&clinic, &format!("{id}-{n}"));
        let begun = bench
            .store
            .begin_send(&BeginSend {
                idempotency_key: &key,
                fingerprint: "bench",
                message: &message,
                patient_version: patient.version,
            })
            .await?;
        ensure!(begun == BeginOutcome::Begun, "stuck send: {begun:?}");
    }
    bench.recorder.restart().await?;
    bench.timing.take();
    let swept = bench.functions.sweeper.handle().await?;
    let rounds = bench.timing.take().rounds;
    bench.recorder.stop().await?;
    ensure!(swept.unconfirmed == STUCK, "swept: {swept:?}");
    let counts = bench.recorder.counts().await?;
    // One Query per partition of `by_sending`: 16 shards and the one before them.
    const SENDING_PARTITIONS: usize = 17;
    rows.push_str(&count_row(
        &format!("sweep, {STUCK} messages stuck in sending"),
        &counts,
        rounds,
        "1 Query per `by_sending` partition (17, together) + 1 write per stuck message",
        counts.of("DynamoDB.Query") == SENDING_PARTITIONS
            && counts.total() <= SENDING_PARTITIONS + STUCK,
    ));
    Ok(rows)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}

/// p50 and p99 of route time, AWS time and their difference, over `samples`.
fn latency_row(op: Op, samples: &[Sample]) -> String {
    let sorted = |pick: &dyn Fn(&Sample) -> Duration| {
        let mut all: Vec<Duration> = samples.iter().map(pick).collect();
        all.sort();
        all
    };
    let route = sorted(&|s| s.route);
    let aws = sorted(&|s| s.aws);
    let overhead = sorted(&|s| s.route.saturating_sub(s.aws));
    let mean = |pick: &dyn Fn(&Sample) -> usize| {
        samples.iter().map(pick).sum::<usize>() as f64 / samples.len() as f64
    };
    let requests = mean(&|s| s.aws_requests);
    let rounds = mean(&|s| s.aws_rounds);
    let p99 = percentile(&overhead, 0.99);
    format!(
        "| {} | {} | {requests:.1} | {rounds:.1} | {} | {} | {} | {} | {} | {} | {} |\n",
        op.name(),
        samples.len(),
        ms(percentile(&route, 0.5)),
        ms(percentile(&route, 0.99)),
        ms(percentile(&aws, 0.5)),
        ms(percentile(&aws, 0.99)),
        ms(percentile(&overhead, 0.5)),
        ms(p99),
        if p99 <= Duration::from_millis(1) {
            "met"
        } else {
            "missed"
        },
    )
}

async fn measure(
    bench: &mut Bench,
    op: Op,
    tokens: &[String],
    requests: usize,
) -> Result<Vec<Sample>> {
    let token = |n: usize| tokens.get(n).map_or("", String::as_str);
    for n in 0..WARM_UP {
        bench.run(op, token(n)).await?;
    }
    let mut samples = Vec::with_capacity(requests);
    for n in WARM_UP..WARM_UP + requests {
        samples.push(bench.run(op, token(n)).await?);
    }
    Ok(samples)
}

async fn latency(bench: &mut Bench, requests: usize) -> Result<String> {
    let mut table = String::from(
        "| route | requests | AWS requests each | sequential each | route p50 | route p99 | AWS p50 | AWS p99 | overhead p50 | overhead p99 | overhead ≤ 1 ms at p99 |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n",
    );
    let calls = WARM_UP + requests;
    // Every wrong PHN on a message with fewer than five before it.
    let wrong_tokens: Vec<String> = bench
        .secure_messages(calls.div_ceil(WRONG_PER_MESSAGE))
        .await?
        .into_iter()
        .flat_map(|token| std::iter::repeat_n(token, WRONG_PER_MESSAGE))
        .collect();
    let mut sent_tokens = Vec::new();
    let ops = [
        Op::SearchPhn,
        Op::SearchName,
        Op::Details,
        Op::Templates,
        Op::UploadUrl,
        Op::SendBasic,
        Op::SendSecure,
        Op::UnlockPage,
        Op::UnlockWrong,
        Op::UnlockRight,
        Op::InboundReply,
    ];
    for op in ops {
        eprintln!("  {}: {calls} requests", op.name());
        let tokens = match op {
            Op::UnlockWrong => &wrong_tokens,
            _ => &sent_tokens,
        };
        // The recorder stays on for every route alike: the secure sends' links come from it.
        bench.recorder.restart().await?;
        let samples = measure(bench, op, tokens, requests).await?;
        if op == Op::SendSecure {
            sent_tokens = bench.recorded_tokens().await?;
            ensure!(sent_tokens.len() == calls, "{} tokens", sent_tokens.len());
        }
        table.push_str(&latency_row(op, &samples));
    }
    bench.recorder.stop().await?;
    Ok(table)
}

#[tokio::main]
async fn main() -> Result<()> {
    let requests: usize = match std::env::args().nth(1) {
        Some(n) => n.parse().context("REQUESTS: a number")?,
        None => 1000,
    };
    let endpoint = std::env::var("AWS_ENDPOINT_URL").context("run through tests/bench")?;
    // The functions' JSON log lines are formatted as on Lambda, then dropped.
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .with_writer(std::io::sink)
        .init();
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let started = Instant::now();
    let mut bench = Bench::new(&endpoint).await?;
    let tokens = bench.secure_messages(4).await?;
    eprintln!("counting AWS requests per operation");
    let mut counts = count_requests(&mut bench, &tokens).await?;
    counts.push_str(&count_lifecycle(&mut bench).await?);
    eprintln!("latency per route");
    let latency = latency(&mut bench, requests).await?;
    println!("## AWS requests per operation\n");
    println!(
        "Counted by the emulator's request recorder, one operation each after a warm-up call \
         of the same operation (clinic cached by the function, connections open), through the \
         real handlers. A secure send carries 2 files. Sequential: the AWS round trips one \
         after another, timed around the SDK's HTTP client (requests that overlap in time count \
         once). A delivery receipt goes through the \
         `delivery-status` handler in the CloudWatch Logs event a subscription delivers; the \
         sweep through the `sweeper` handler, with 3 messages left `sending` 11 minutes ago.\n"
    );
    println!("{counts}");
    println!("## Warm latency per route, in ms\n");
    println!(
        "{requests} requests per route after {WARM_UP} warm-up calls, one at a time, through the \
         real handlers in-process ({profile} build) with API Gateway payload 2.0 events, against \
         the emulator (its request recorder on). Route: from the event to the response. AWS: \
         time with at least one AWS request in flight, timed around the SDK's HTTP client, \
         response bodies read. Overhead = route − AWS, per request. The emulator serves one \
         request at a time, so requests a route makes together still wait for one another \
         there: AWS time here follows the requests, on DynamoDB it follows the sequential \
         round trips. Took {:.0} s in all.\n",
        started.elapsed().as_secs_f64()
    );
    println!("{latency}");
    Ok(())
}
