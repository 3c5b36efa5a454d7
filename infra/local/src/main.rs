//! `local-stack`: the system on localhost against the AWS emulator, with the demo clinic.
//! Started by `infra/local/run`, which starts the emulator first.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::{Context, Result};
use aws::{dynamodb::DynamoStore, system::OsRandom, telemetry, wiring::OnAws};
use delivery_status::DeliveryStatusFunction;
use domain::{caller::Role, random};
use local_stack::{
    LocalStack,
    carrier::LocalCarrier,
    emulator::Recorder,
    functions::Functions,
    imports::ImportWatcher,
    seed::{DemoData, seed},
    server::{LocalApi, LocalIntegration, LocalSignIn, router, sign_ins},
};
use sweeper::Sweeper;

#[tokio::main]
async fn main() -> Result<()> {
    telemetry::init_json_logs();
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .context("AWS_ENDPOINT_URL is not set: start the system with infra/local/run")?;
    let port: u16 = std::env::var("LOCAL_API_PORT")
        .unwrap_or_else(|_| "3000".to_owned())
        .parse()
        .context("LOCAL_API_PORT must be a port number")?;
    let base_url = format!("http://127.0.0.1:{port}");

    // The SMS printed below are this run's: what an earlier run recorded is forgotten.
    let recorder = Recorder::new(&endpoint);
    recorder.reset().await?;
    recorder.start().await?;
    let stack = LocalStack::create(&endpoint, "local-", &base_url).await?;
    let store = DynamoStore::new(stack.clients.dynamodb(), stack.config.tables.clone());
    let [demo, second_demo] = DemoData::all()?;
    let now = jiff::Timestamp::now();
    let keys = stack.key_service();
    let clinic = seed(&store, &keys, &demo, now).await?;
    let second = seed(&store, &keys, &second_demo, now).await?;

    // Fixed tokens (LOCAL_API_TOKEN, LOCAL_INGEST_TOKEN) let scripts and the browser tests
    // sign in as the demo clinic's staff and EMR; otherwise new ones each run. Every other
    // sign-in is new each run: one user per role of each clinic, and the platform's
    // operator, who belongs to no clinic.
    let sign_in = LocalSignIn::staff(
        &token_from_env("LOCAL_API_TOKEN")?,
        clinic.id.as_str(),
        "demo-staff",
    );
    let others = [
        (Some(&clinic), "demo-admin", Role::ClinicAdmin),
        (Some(&clinic), "demo-privacy-officer", Role::PrivacyOfficer),
        (Some(&second), "second-staff", Role::Staff),
        (Some(&second), "second-admin", Role::ClinicAdmin),
        (
            Some(&second),
            "second-privacy-officer",
            Role::PrivacyOfficer,
        ),
        (None, "operator", Role::Operator),
    ]
    .map(|(clinic, user, role)| LocalSignIn {
        token: random_token(),
        clinic_id: clinic.map(|clinic| clinic.id.to_string()),
        user: user.to_owned(),
        roles: vec![role],
    });
    let integrations = [
        LocalIntegration {
            token: token_from_env("LOCAL_INGEST_TOKEN")?,
            clinic_id: clinic.id.to_string(),
            client_id: demo.clinic.integration_client.to_string(),
        },
        LocalIntegration {
            token: random_token(),
            clinic_id: second.id.to_string(),
            client_id: second_demo.clinic.integration_client.to_string(),
        },
    ];
    let integration = integrations[0].clone();
    // The dashboard's origin, allowed as the template's DashboardOrigins are on AWS.
    let dashboard_origin = std::env::var("LOCAL_DASHBOARD_ORIGIN")
        .unwrap_or_else(|_| "http://localhost:5173".to_owned());
    let users: Vec<LocalSignIn> = [sign_in.clone()].into_iter().chain(others).collect();
    let sign_ins_file = write_sign_ins(&users, &integrations)?;
    let functions = Functions::new(&stack.config, &stack.clients);
    let imports = ImportWatcher::new(&stack)?;
    let api = users[1..]
        .iter()
        .cloned()
        .fold(
            LocalApi::new(
                &stack.template,
                functions,
                sign_in.clone(),
                stack.inbound_topic_arn()?,
            ),
            LocalApi::with_sign_in,
        )
        .with_integration(integrations[0].clone())
        .with_integration(integrations[1].clone())
        .with_dashboard_origin(&stack.template, &dashboard_origin);

    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("port {port} is taken; set LOCAL_API_PORT"))?;
    println!(
        "\nDirect patient messages, running locally\n\
         \x20 API and unlock page: {base_url}\n\
         \x20 AWS emulator:        {endpoint}\n\
         \x20 dashboard origin:    {dashboard_origin} (CORS; LOCAL_DASHBOARD_ORIGIN changes it)\n\
         \x20 demo clinic:         {name} ({id}), SMS number {sms}\n\
         \x20 sign-in (staff user {user}):\n\
         \x20   export TOKEN={token}\n\
         \x20   curl -H \"Authorization: Bearer $TOKEN\" {base_url}/templates\n\
         \x20 second clinic:       {second_name} ({second_id}), SMS number {second_sms}\n\
         \x20 other sign-ins (each clinic's roles, the operator; EMR tokens in the file below):\n\
{others}\
         \x20 sign-in (the clinic's EMR integration, FHIR R4 under /fhir):\n\
         \x20   export INGEST_TOKEN={ingest}\n\
         \x20   curl -H \"Authorization: Bearer $INGEST_TOKEN\" {base_url}/fhir/metadata\n\
         \x20 bulk import: POST {base_url}/fhir/$import-upload, then PUT the NDJSON file to the\n\
         \x20   URL it answers; the import starts when the file arrives, as on AWS\n\
         \x20 every sign-in, for scripts: {sign_ins}\n\
         \x20 simulate a patient's reply:\n\
         \x20   curl -X POST {base_url}/local/sms-replies -H 'content-type: application/json' \\\n\
         \x20        -d '{{\"from\":\"+16045550123\",\"to\":\"{sms}\",\"text\":\"ok thanks\"}}'\n\
         \x20 Outbound SMS are printed below as they are sent. Ctrl-C stops everything.\n",
        name = clinic.name,
        id = clinic.id,
        sms = clinic.sms_number.as_e164(),
        user = sign_in.user,
        token = sign_in.token,
        ingest = integration.token,
        second_name = second.name,
        second_id = second.id,
        second_sms = second.sms_number.as_e164(),
        sign_ins = sign_ins_file.display(),
        others = users[1..]
            .iter()
            .map(|user| format!(
                "    {} ({}): {}\n",
                user.user,
                user.clinic_id.as_deref().unwrap_or("no clinic"),
                user.token
            ))
            .collect::<String>(),
    );
    tokio::spawn(print_outbound_sms(recorder));
    let carrier = LocalCarrier::starting_now(
        &endpoint,
        demo.unreachable_numbers()
            .chain(second_demo.unreachable_numbers())
            .collect::<Vec<_>>(),
    )
    .await?;
    tokio::spawn(carry_receipts(
        carrier,
        DeliveryStatusFunction::on_aws(&stack.config, &stack.clients),
    ));
    tokio::spawn(sweep_every_five_minutes(Sweeper::on_aws(
        &stack.config,
        &stack.clients,
    )));
    tokio::spawn(imports.run());
    axum::serve(listener, router(Arc::new(api)))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving the local API")
}

/// The token in `variable` (at least 16 characters), or a new random one.
fn token_from_env(variable: &str) -> Result<String> {
    match std::env::var(variable) {
        Ok(token) if token.len() >= 16 => Ok(token),
        Ok(_) => anyhow::bail!("{variable} must be at least 16 characters"),
        Err(_) => Ok(random_token()),
    }
}

fn random_token() -> String {
    hex::encode(random::bytes::<24>(&OsRandom))
}

/// Writes every local sign-in to `target/local-stack/sign-ins.json`, a JSON list of
/// `{"clinic_id", "role", "token"}` (`clinic_id` null for the operator), so that scripts can
/// read them.
fn write_sign_ins(
    users: &[LocalSignIn],
    integrations: &[LocalIntegration],
) -> Result<std::path::PathBuf> {
    let dir = std::env::current_dir()?.join("target/local-stack");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = dir.join("sign-ins.json");
    std::fs::write(
        &file,
        serde_json::to_string_pretty(&sign_ins(users, integrations))?,
    )
    .with_context(|| format!("writing {}", file.display()))?;
    Ok(file)
}

/// A receipt for each SMS, a couple of seconds after SNS took it, as a carrier answers.
async fn carry_receipts(mut carrier: LocalCarrier, function: DeliveryStatusFunction) {
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        if let Err(error) = carrier.deliver(&function).await {
            tracing::warn!(error = %error, "local delivery receipts not fed");
        }
    }
}

/// The sweeper, on the schedule the template gives it.
async fn sweep_every_five_minutes(sweeper: Sweeper) {
    loop {
        tokio::time::sleep(Duration::from_secs(5 * 60)).await;
        let _ = sweeper.handle().await;
    }
}

/// Prints each SMS the emulator received, so that a person can follow unlock links.
async fn print_outbound_sms(recorder: Recorder) {
    let mut shown = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let Ok(all) = recorder.published_sms().await else {
            continue;
        };
        for sms in all.iter().skip(shown) {
            println!(
                "\n--- SMS to {} ---\n{}\n---",
                sms.phone_number, sms.message
            );
        }
        shown = all.len().max(shown);
    }
}
