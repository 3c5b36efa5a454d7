//! Stands the system up on this machine: the template's resources on the local AWS
//! emulator, the demo clinic, and the API and unlock page on localhost. The tests use the
//! same pieces, one isolated stack per test.

pub mod api_event;
pub mod carrier;
pub mod emulator;
pub mod functions;
pub mod imports;
pub mod provision;
pub mod seed;
pub mod server;
pub mod template;

use anyhow::{Context, Result};
use aws::{AwsClients, config::Config};

use crate::{provision::Provisioned, template::Template};

/// One set of resources on the emulator, with the settings and clients that reach it.
pub struct LocalStack {
    pub template: Template,
    pub provisioned: Provisioned,
    pub config: Config,
    pub clients: AwsClients,
}

impl LocalStack {
    /// Creates the template's resources under `prefix` on the emulator at `endpoint`.
    pub async fn create(endpoint: &str, prefix: &str, unlock_base_url: &str) -> Result<LocalStack> {
        let template = Template::load_default()?;
        let sdk = emulator::sdk_config(endpoint);
        let provisioned = provision::provision(&sdk, &template, prefix)
            .await
            .with_context(|| {
                format!("creating the template's resources on the emulator at {endpoint}")
            })?;
        let config = provisioned.config(
            &template,
            &[
                ("UNLOCK_BASE_URL", unlock_base_url),
                ("S3_FORCE_PATH_STYLE", "true"),
            ],
        )?;
        let clients = AwsClients::from_sdk_config(&sdk, config.s3_force_path_style);
        Ok(LocalStack {
            template,
            provisioned,
            config,
            clients,
        })
    }

    /// The project key on the emulator's KMS, as the functions use it.
    pub fn key_service(&self) -> aws::kms::KmsKeyService {
        aws::kms::KmsKeyService::new(self.clients.kms(), &self.config.content_key_id)
    }

    /// Writes `clinic` with a new root key, as onboarding does (the admin routes, or seeding).
    pub async fn add_clinic(&self, clinic: &domain::model::Clinic) -> Result<()> {
        use domain::ports::{ClinicStore, KeyService};
        let store =
            aws::dynamodb::DynamoStore::new(self.clients.dynamodb(), self.config.tables.clone());
        store.put_clinic(clinic).await?;
        let root_key = self
            .key_service()
            .generate_wrapped_key(&domain::clinic_key::encryption_context(&clinic.id))
            .await?;
        store.put_root_key(&clinic.id, &root_key).await?;
        Ok(())
    }

    /// The clinic's key, opened from the root key it was given (by seeding or onboarding) on
    /// the emulator's KMS, as the functions open it: what its patients' lookup keys and
    /// numbers are tagged under.
    pub async fn clinic_key(
        &self,
        clinic: &domain::ids::ClinicId,
    ) -> Result<domain::clinic_key::ClinicKey> {
        use std::sync::Arc;
        let store =
            aws::dynamodb::DynamoStore::new(self.clients.dynamodb(), self.config.tables.clone());
        let keyring = domain::clinic_keyring::ClinicKeyring::new(
            Arc::new(self.key_service()),
            Arc::new(store),
            Arc::new(aws::system::SystemClock),
        );
        Ok(keyring.key(clinic).await?)
    }

    /// The ARN of the topic inbound SMS arrive on.
    pub fn inbound_topic_arn(&self) -> Result<String> {
        let function = self
            .template
            .function("inbound-reply")
            .context("no inbound-reply function")?;
        let topic = function
            .topics
            .first()
            .context("inbound-reply subscribes to no topic")?;
        self.provisioned
            .arns
            .get(topic)
            .cloned()
            .context("the inbound topic was not created")
    }
}
