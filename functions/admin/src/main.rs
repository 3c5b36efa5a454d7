//! Lambda entry point of `admin`: settings and clients once, then one handler per request.

use admin::AdminRoutes;
use aws::{AwsClients, config::Config, telemetry, wiring::OnAws};
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let config = Config::from_env()?;
    let clients = AwsClients::from_env(config.s3_force_path_style).await;
    let admin = &AdminRoutes::on_aws(&config, &clients);
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(admin.handle(request).await)
    }))
    .await
}
