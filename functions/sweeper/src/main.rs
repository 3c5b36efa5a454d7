//! Lambda entry point of `sweeper`: settings and clients once, then one sweep per scheduled
//! event.

use aws::{AwsClients, config::Config, telemetry, wiring::OnAws};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use sweeper::Sweeper;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let config = Config::from_env()?;
    let clients = AwsClients::from_env(config.s3_force_path_style).await;
    let sweeper = &Sweeper::on_aws(&config, &clients);
    lambda_runtime::run(service_fn(
        move |_: LambdaEvent<serde_json::Value>| async move {
            sweeper.handle().await.map(|_| ()).map_err(Error::from)
        },
    ))
    .await
}
