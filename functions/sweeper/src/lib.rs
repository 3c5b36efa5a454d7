//! The `sweeper` function, run by an EventBridge schedule every 5 minutes: sends that
//! stopped between publishing and recording their outcome are marked `unconfirmed`.

use aws::{AwsClients, config::Config, wiring::OnAws};
use domain::send::sweeper::{SendSweeper, Swept};

pub struct Sweeper {
    sweeper: SendSweeper,
}

impl OnAws for Sweeper {
    fn on_aws(config: &Config, clients: &AwsClients) -> Self {
        Self::new(SendSweeper::on_aws(config, clients))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the sweep stopped ({code}); the next run takes over")]
pub struct SweepFailed {
    pub code: String,
}

impl Sweeper {
    pub fn new(sweeper: SendSweeper) -> Self {
        Self { sweeper }
    }

    /// One run; the schedule's event carries nothing the sweep needs.
    pub async fn handle(&self) -> Result<Swept, SweepFailed> {
        match self.sweeper.sweep().await {
            Ok(swept) => {
                tracing::info!(
                    unconfirmed = swept.unconfirmed,
                    finished_meanwhile = swept.finished_meanwhile,
                    "sweep"
                );
                Ok(swept)
            }
            Err(error) => {
                tracing::error!(
                    service = error.service,
                    operation = error.operation,
                    code = %error.code,
                    "sweep failed"
                );
                Err(SweepFailed { code: error.code })
            }
        }
    }
}
