//! Lambda entry point of `inbound-reply`.

use aws_lambda_events::sns::SnsEvent;
use direct_messages::{config::Config, telemetry};
use inbound_reply::InboundReply;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let _config = Config::from_env()?;
    let inbound = &InboundReply::new();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SnsEvent>| async move {
        inbound.handle(event.payload).await;
        Ok::<(), Error>(())
    }))
    .await
}
