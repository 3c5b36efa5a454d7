//! Lambda entry point of `secure-unlock`.

use direct_messages::{config::Config, telemetry};
use lambda_http::{Error, Request, service_fn};
use secure_unlock::SecureUnlock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let _config = Config::from_env()?;
    let unlock = &SecureUnlock::new();
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(unlock.handle(request).await)
    }))
    .await
}
