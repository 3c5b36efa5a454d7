//! Lambda entry point of `fhir-import`: reads an uploaded import file, invoked by the
//! EventBridge rule for objects created under `imports/` in the attachments bucket.

use aws::{AwsClients, config::Config, telemetry, wiring::OnAws};
use fhir_sync::imports::{FhirImports, ObjectCreatedEvent};
use jiff::Timestamp;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let config = Config::from_env()?;
    let clients = AwsClients::from_env(config.s3_force_path_style).await;
    let imports = &FhirImports::on_aws(&config, &clients);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ObjectCreatedEvent>| async move {
            let deadline = i64::try_from(event.context.deadline)
                .ok()
                .and_then(|millis| Timestamp::from_millisecond(millis).ok())
                .unwrap_or_else(Timestamp::now);
            imports
                .handle(&event.payload, deadline)
                .await
                .map(|_| ())
                .map_err(Error::from)
        },
    ))
    .await
}
