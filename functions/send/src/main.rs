//! Lambda entry point of `send`: settings and clients once, then one handler per request.

use direct_messages::{config::Config, telemetry};
use lambda_http::{Error, Request, service_fn};
use send::Send;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let _config = Config::from_env()?;
    let send = &Send::new();
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(send.handle(request).await)
    }))
    .await
}
