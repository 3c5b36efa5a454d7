//! The import files' arrival: S3 tells EventBridge an object was created under `imports/`,
//! and the rule invokes `fhir-import` (asynchronously) with that event. The file is read
//! from its checkpoint until it ends or the invocation's time is nearly up.

use aws::{AwsClients, config::Config, wiring::OnAws};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use domain::{
    emr_sync::import::{EmrImport, ImportRun},
    error::DependencyError,
};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// S3's `Object Created` event as EventBridge delivers it: the fields read here.
pub type ObjectCreatedEvent = EventBridgeEvent<ObjectCreated>;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectCreated {
    pub bucket: Bucket,
    pub object: CreatedObject,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedObject {
    pub key: String,
}

/// Time kept back from the invocation's deadline: the window being written finishes and its
/// checkpoint is stored before the deadline.
pub const DEADLINE_MARGIN: SignedDuration = SignedDuration::from_secs(60);

/// Why an invocation ends in error, so that Lambda invokes it again and it resumes at the
/// checkpoint.
#[derive(Debug, Error)]
pub enum ImportStopped {
    #[error(
        "the import paused at its checkpoint before the time limit; it resumes when invoked again"
    )]
    Paused,
    #[error("{0}")]
    Failed(#[from] DependencyError),
}

pub struct FhirImports {
    import: EmrImport,
    bucket: String,
}

impl OnAws for FhirImports {
    fn on_aws(config: &Config, clients: &AwsClients) -> Self {
        FhirImports {
            import: EmrImport::on_aws(config, clients),
            bucket: config.attachments_bucket.clone(),
        }
    }
}

impl FhirImports {
    /// Reads the file the event names, if it is an import of the attachments bucket, until
    /// `deadline` less [`DEADLINE_MARGIN`].
    pub async fn handle(
        &self,
        event: &ObjectCreatedEvent,
        deadline: Timestamp,
    ) -> Result<ImportRun, ImportStopped> {
        if event.detail.bucket.name != self.bucket {
            tracing::warn!("an object-created event of another bucket was ignored");
            return Ok(ImportRun::NotAnImport);
        }
        let run = self
            .import
            .run(&event.detail.object.key, deadline - DEADLINE_MARGIN)
            .await;
        match run {
            Ok(ImportRun::Paused) => Err(ImportStopped::Paused),
            Ok(run) => {
                tracing::info!(run = ?run, "import run ended");
                Ok(run)
            }
            Err(error) => {
                tracing::error!(
                    service = error.service,
                    operation = error.operation,
                    code = %error.code,
                    "import run failed; it resumes at its checkpoint when invoked again"
                );
                Err(ImportStopped::Failed(error))
            }
        }
    }
}
