//! Lambda entry point of `inbound-reply`: settings and clients once, then one handler per event.

use aws::{AwsClients, config::Config, telemetry, wiring::OnAws};
use aws_lambda_events::sns::SnsEvent;
use inbound_reply::InboundReply;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let config = Config::from_env()?;
    let clients = AwsClients::from_env(config.s3_force_path_style).await;
    let inbound = &InboundReply::on_aws(&config, &clients);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SnsEvent>| async move {
        inbound
            .handle_event(event.payload)
            .await
            .map(|_| ())
            .map_err(Error::from)
    }))
    .await
}
