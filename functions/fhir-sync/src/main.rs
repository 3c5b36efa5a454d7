//! Lambda entry point of `fhir-sync`: settings and clients once, then one handler per request.

use aws::{AwsClients, config::Config, telemetry, wiring::OnAws};
use fhir_sync::FhirRoutes;
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let config = Config::from_env()?;
    let clients = AwsClients::from_env(config.s3_force_path_style).await;
    let fhir = &FhirRoutes::on_aws(&config, &clients);
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(fhir.handle(request).await)
    }))
    .await
}
