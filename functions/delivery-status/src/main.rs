//! Lambda entry point of `delivery-status`: settings and clients once, then one handler per
//! batch of log events.

use aws::{AwsClients, config::Config, telemetry, wiring::OnAws};
use delivery_status::DeliveryStatusFunction;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let config = Config::from_env()?;
    let clients = AwsClients::from_env(config.s3_force_path_style).await;
    let function = &DeliveryStatusFunction::on_aws(&config, &clients);
    // The event is read as JSON and decoded by the handler, so that a malformed one is
    // acknowledged rather than retried.
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            function
                .handle(event.payload)
                .await
                .map(|_| ())
                .map_err(Error::from)
        },
    ))
    .await
}
