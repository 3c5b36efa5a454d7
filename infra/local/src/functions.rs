//! The functions wired to one set of AWS clients, as their `main`s wire them on Lambda.

use admin::AdminRoutes;
use aws::{AwsClients, config::Config, wiring::OnAws};
use aws_lambda_events::sns::SnsEvent;
use delivery_status::DeliveryStatusFunction;
use fhir_sync::FhirRoutes;
use inbound_reply::InboundReply;
use lambda_http::{Body, Request, Response};
use search::SearchRoutes;
use secure_unlock::SecureUnlock;
use send::SendRoutes;
use sweeper::Sweeper;

pub struct Functions {
    pub search: SearchRoutes,
    pub send: SendRoutes,
    pub secure_unlock: SecureUnlock,
    pub inbound_reply: InboundReply,
    pub fhir_sync: FhirRoutes,
    pub admin: AdminRoutes,
    pub delivery_status: DeliveryStatusFunction,
    pub sweeper: Sweeper,
}

impl Functions {
    pub fn new(config: &Config, clients: &AwsClients) -> Self {
        Self {
            search: SearchRoutes::on_aws(config, clients),
            send: SendRoutes::on_aws(config, clients),
            secure_unlock: SecureUnlock::on_aws(config, clients),
            inbound_reply: InboundReply::on_aws(config, clients),
            fhir_sync: FhirRoutes::on_aws(config, clients),
            admin: AdminRoutes::on_aws(config, clients),
            delivery_status: DeliveryStatusFunction::on_aws(config, clients),
            sweeper: Sweeper::on_aws(config, clients),
        }
    }

    /// Calls the HTTP function that the template names by its binary.
    pub async fn call_http(&self, binary: &str, request: Request) -> Option<Response<Body>> {
        Some(match binary {
            "search" => self.search.handle(request).await,
            "send" => self.send.handle(request).await,
            "secure-unlock" => self.secure_unlock.handle(request).await,
            "fhir-sync" => self.fhir_sync.handle(request).await,
            "admin" => self.admin.handle(request).await,
            _ => return None,
        })
    }

    pub async fn call_sns(&self, event: SnsEvent) -> inbound_reply::Outcome {
        self.inbound_reply.handle(event).await
    }
}
