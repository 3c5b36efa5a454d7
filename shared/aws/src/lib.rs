//! The domain on AWS: one adapter per AWS service on the AWS SDK for Rust, the one HTTPS
//! client, the settings read from the environment, and the wiring that builds each use case
//! on them. Functions depend on this crate and on `domain`; nothing here states a rule.

pub mod api_gateway;
mod clients;
pub mod config;
pub mod dynamodb;
mod https_client;
pub mod kms;
pub mod s3;
mod sdk_failure;
pub mod sns;
pub mod system;
pub mod telemetry;
pub mod wiring;

pub use clients::AwsClients;
pub use https_client::https_client;
pub(crate) use sdk_failure::sdk_failure;
