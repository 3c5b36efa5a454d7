//! A request through the real Lambda runtime with `RUST_LOG=trace`: the runtime logs raw
//! events at trace (a link's token, the PHN typed), so every line the function writes is
//! checked by the PHI guard. The function runs as it does on Lambda, in a process of its
//! own: this test binary started again in child mode, with the function's `main` (its own
//! log setup, `lambda_http::run`) pointed at a local Runtime API.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use aws::{AwsClients, config::Config, telemetry, wiring::OnAws};
use integration_tests::{
    UNLOCK_BASE_URL,
    fixtures::scene::scene,
    lambda_runtime_api::RuntimeApi,
    phi_guard, phn_submission,
    sentinels::{MESSAGE_TEXT, PHN},
};
use lambda_http::{Request, service_fn};
use secure_unlock::SecureUnlock;

/// Set in the child: the Runtime API it serves.
const CHILD: &str = "RUNTIME_LOGS_CHILD_API";
const THIS_TEST: &str =
    "runtime_logs::an_unlock_through_the_lambda_runtime_at_trace_logs_no_patient_data";

#[tokio::test]
async fn an_unlock_through_the_lambda_runtime_at_trace_logs_no_patient_data() {
    if std::env::var_os(CHILD).is_some() {
        run_secure_unlock().await;
        return;
    }
    let s = scene(747, Some(PHN)).await;
    let (status, receipt) = s
        .send(
            "runtime-logs",
            &format!(r#"{{"kind":"secure","text":"{MESSAGE_TEXT}"}}"#),
        )
        .await;
    assert_eq!(status, 201, "{receipt}");
    let sms = s.sms_to_me().await.pop().unwrap().message;
    let token = sms.rsplit("/m/").next().unwrap().to_owned();

    let api = RuntimeApi::start("secure-unlock", Duration::from_secs(60))
        .await
        .unwrap();
    let stack = &s.test.stack;
    let environment = stack
        .provisioned
        .environment(
            &stack.template,
            &[
                ("UNLOCK_BASE_URL", UNLOCK_BASE_URL),
                ("S3_FORCE_PATH_STYLE", "true"),
            ],
        )
        .unwrap();
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("the emulator's endpoint");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([THIS_TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env_clear()
        .envs(environment)
        .envs([
            (CHILD, api.address().as_str()),
            ("AWS_LAMBDA_RUNTIME_API", api.address().as_str()),
            ("AWS_LAMBDA_FUNCTION_NAME", "secure-unlock"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/secure-unlock"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]test"),
            ("AWS_REGION", "ca-central-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("RUST_LOG", "trace"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let event = phn_submission(&token, PHN).event(jiff::Timestamp::now());
    let answer = api.invoke(event).await;
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let answer = answer.expect("the function answered through the runtime");
    assert_eq!(answer["statusCode"], 200, "the right PHN opens the message");

    let mut lines = 0;
    for stream in [&output.stdout, &output.stderr] {
        for line in BufReader::new(stream.as_slice()).lines() {
            phi_guard::check("secure-unlock's output at RUST_LOG=trace", &line.unwrap());
            lines += 1;
        }
    }
    // What the function wrote is its own subscriber's JSON (not the guard's, which this
    // process would have written elsewhere): the check above read real log lines.
    let written = String::from_utf8_lossy(&output.stdout);
    assert!(
        written.contains("\"level\":\"INFO\""),
        "the function logged through its own subscriber ({lines} lines)"
    );
    phi_guard::assert_clean();
}

/// The child: secure-unlock's `main`, as on Lambda.
async fn run_secure_unlock() {
    telemetry::init_json_logs();
    let config = Config::from_env().expect("the function's environment");
    let clients = AwsClients::from_env(config.s3_force_path_style).await;
    let unlock = &SecureUnlock::on_aws(&config, &clients);
    let _ = lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, lambda_http::Error>(unlock.handle(request).await)
    }))
    .await;
}
