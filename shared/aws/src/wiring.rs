//! Each use case built on AWS: DynamoDB, SNS, S3 and KMS through the SDK clients, the
//! system clock and the operating system's randomness. One name for all: `on_aws`.

use std::sync::Arc;

use domain::{
    admin::{ClinicSettings, Library, Onboarding},
    audit_trail::AuditReader,
    clinic_cache::ClinicCache,
    clinic_keyring::ClinicKeyring,
    delivery_status::DeliveryStatus,
    emr_sync::{
        EmrSync,
        import::{EmrImport, IMPORT_READ_BYTES},
    },
    message_actions::MessageActions,
    outbox::Outbox,
    ports::Clock,
    replies::ReplyHandler,
    search::Searcher,
    send::{MessageSender, sweeper::SendSweeper},
    unlock::Unlocker,
    worklist::Worklist,
};

use crate::{
    AwsClients,
    config::Config,
    dynamodb::DynamoStore,
    kms::KmsKeyService,
    s3::S3BlobStore,
    sns::SnsSmsSender,
    system::{OsRandom, SystemClock},
};

/// A use case wired to the AWS services its function may reach.
pub trait OnAws {
    fn on_aws(config: &Config, clients: &AwsClients) -> Self;
}

fn store(config: &Config, clients: &AwsClients) -> Arc<DynamoStore> {
    Arc::new(DynamoStore::new(clients.dynamodb(), config.tables.clone()))
}

fn blobs(config: &Config, clients: &AwsClients) -> Arc<S3BlobStore> {
    Arc::new(S3BlobStore::new(
        clients.s3(),
        &config.attachments_bucket,
        &config.content_key_id,
    ))
}

fn keys(config: &Config, clients: &AwsClients) -> Arc<KmsKeyService> {
    Arc::new(KmsKeyService::new(clients.kms(), &config.content_key_id))
}

/// The clinics' keys, read from `store` and opened by KMS, kept for the instance's life.
fn keyring(
    config: &Config,
    clients: &AwsClients,
    store: Arc<DynamoStore>,
    clock: Arc<dyn Clock>,
) -> Arc<ClinicKeyring> {
    Arc::new(ClinicKeyring::new(keys(config, clients), store, clock))
}

impl OnAws for Searcher {
    fn on_aws(config: &Config, clients: &AwsClients) -> Searcher {
        let store = store(config, clients);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        Searcher {
            clinics: Arc::new(ClinicCache::new(store.clone(), clock.clone())),
            clinic_records: store.clone(),
            directory: store.clone(),
            keyring: keyring(config, clients, store.clone(), clock.clone()),
            appointments: store.clone(),
            messages: store.clone(),
            audit: store,
            clock,
        }
    }
}

impl OnAws for MessageSender {
    fn on_aws(config: &Config, clients: &AwsClients) -> MessageSender {
        let store = store(config, clients);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        MessageSender {
            clinics: Arc::new(ClinicCache::new(store.clone(), clock.clone())),
            keyring: keyring(config, clients, store.clone(), clock.clone()),
            opt_outs: store.clone(),
            messages: store.clone(),
            unlocks: store.clone(),
            links: store.clone(),
            store,
            sms: Arc::new(SnsSmsSender::new(clients.sns())),
            blobs: blobs(config, clients),
            keys: keys(config, clients),
            clock,
            random: Arc::new(OsRandom),
            unlock_base_url: config.unlock_base_url.clone(),
            content_key_id: config.content_key_id.clone(),
        }
    }
}

impl OnAws for Unlocker {
    fn on_aws(config: &Config, clients: &AwsClients) -> Unlocker {
        let store = store(config, clients);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        Unlocker {
            unlocks: store.clone(),
            links: store.clone(),
            clinics: Arc::new(ClinicCache::new(store.clone(), clock.clone())),
            keys: keys(config, clients),
            blobs: blobs(config, clients),
            audit: store,
            clock,
        }
    }
}

impl OnAws for ReplyHandler {
    fn on_aws(config: &Config, clients: &AwsClients) -> ReplyHandler {
        let store = store(config, clients);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        ReplyHandler {
            clinics: store.clone(),
            profiles: Arc::new(ClinicCache::new(store.clone(), clock.clone())),
            keyring: keyring(config, clients, store.clone(), clock.clone()),
            messages: store.clone(),
            inbound: store.clone(),
            sms: Arc::new(SnsSmsSender::new(clients.sns())),
            audit: store,
            clock,
        }
    }
}

impl OnAws for Outbox {
    fn on_aws(config: &Config, clients: &AwsClients) -> Outbox {
        let store = store(config, clients);
        Outbox {
            messages: store.clone(),
            audit: store,
            clock: Arc::new(SystemClock),
        }
    }
}

impl OnAws for DeliveryStatus {
    fn on_aws(config: &Config, clients: &AwsClients) -> DeliveryStatus {
        DeliveryStatus {
            messages: store(config, clients),
        }
    }
}

impl OnAws for SendSweeper {
    fn on_aws(config: &Config, clients: &AwsClients) -> SendSweeper {
        SendSweeper {
            store: store(config, clients),
            clock: Arc::new(SystemClock),
        }
    }
}

impl OnAws for EmrSync {
    fn on_aws(config: &Config, clients: &AwsClients) -> EmrSync {
        let store = store(config, clients);
        EmrSync {
            records: store.clone(),
            clinics: store.clone(),
            keyring: keyring(config, clients, store, Arc::new(SystemClock)),
        }
    }
}

impl OnAws for EmrImport {
    fn on_aws(config: &Config, clients: &AwsClients) -> EmrImport {
        let store = store(config, clients);
        EmrImport {
            records: store.clone(),
            keyring: keyring(config, clients, store.clone(), Arc::new(SystemClock)),
            imports: store,
            blobs: blobs(config, clients),
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
            read_bytes: IMPORT_READ_BYTES,
        }
    }
}

impl OnAws for Worklist {
    fn on_aws(config: &Config, clients: &AwsClients) -> Worklist {
        let store = store(config, clients);
        Worklist {
            store: store.clone(),
            audit: store,
            clock: Arc::new(SystemClock),
        }
    }
}

impl OnAws for Onboarding {
    fn on_aws(config: &Config, clients: &AwsClients) -> Onboarding {
        let store = store(config, clients);
        Onboarding {
            clinics: store.clone(),
            store,
            keys: keys(config, clients),
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
        }
    }
}

impl OnAws for ClinicSettings {
    fn on_aws(config: &Config, clients: &AwsClients) -> ClinicSettings {
        let store = store(config, clients);
        ClinicSettings {
            clinics: store.clone(),
            store,
            clock: Arc::new(SystemClock),
        }
    }
}

impl OnAws for Library {
    fn on_aws(config: &Config, clients: &AwsClients) -> Library {
        let store = store(config, clients);
        Library {
            clinics: store.clone(),
            store,
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
        }
    }
}

impl OnAws for AuditReader {
    fn on_aws(config: &Config, clients: &AwsClients) -> AuditReader {
        let store = store(config, clients);
        AuditReader {
            trail: store.clone(),
            audit: store,
            clock: Arc::new(SystemClock),
        }
    }
}

impl OnAws for MessageActions {
    fn on_aws(config: &Config, clients: &AwsClients) -> MessageActions {
        let store = store(config, clients);
        MessageActions {
            messages: store.clone(),
            unlocks: store.clone(),
            links: store.clone(),
            blobs: blobs(config, clients),
            audit: store,
            clock: Arc::new(SystemClock),
        }
    }
}
