//! AWS adapters for the ports, on the AWS SDK for Rust; one module per service.

pub mod dynamodb;
pub mod kms;
pub mod s3;
pub mod sns;
pub mod system;

#[cfg(test)]
mod https_tests;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::{
    Builder,
    tls::{self, TlsContext, rustls_provider::CryptoMode},
};

use crate::error::DependencyError;

/// Makes the SDK clients a function needs from one shared SDK configuration. A function
/// builds only the clients it uses, so its binary carries only those services' SDKs.
#[derive(Debug, Clone)]
pub struct AwsClients {
    sdk: SdkConfig,
    s3_force_path_style: bool,
}

impl AwsClients {
    /// From the standard AWS environment (region, credentials, and `AWS_ENDPOINT_URL`
    /// when pointed at a local emulator).
    pub async fn from_env(s3_force_path_style: bool) -> AwsClients {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(https_client())
            .load()
            .await;
        AwsClients::from_sdk_config(&sdk, s3_force_path_style)
    }

    pub fn from_sdk_config(sdk: &SdkConfig, s3_force_path_style: bool) -> AwsClients {
        AwsClients {
            sdk: sdk.clone(),
            s3_force_path_style,
        }
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk)
            .force_path_style(self.s3_force_path_style)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    pub fn kms(&self) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.sdk)
    }

    pub fn sns(&self) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::new(&self.sdk)
    }
}

/// The HTTP client for every AWS call: HTTPS through rustls with ring's cryptography,
/// verifying servers against the system's root certificates, like the SDK's default client
/// (which uses aws-lc, far larger in a Lambda binary). Plain HTTP works too, for the
/// local emulator.
pub fn https_client() -> SharedHttpClient {
    https_client_with(TlsContext::default())
}

/// `https_client` trusting what `tls` says; tests trust a test authority this way.
fn https_client_with(tls: TlsContext) -> SharedHttpClient {
    Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls)
        .build_https()
}

/// Turns an SDK failure into a `DependencyError` that keeps the error code only (AWS
/// messages can echo request values such as phone numbers).
pub(crate) fn sdk_failure<E, R>(
    service: &'static str,
    operation: &'static str,
) -> impl FnOnce(SdkError<E, R>) -> DependencyError
where
    E: ProvideErrorMetadata,
{
    move |error| {
        let code = match error.code() {
            Some(code) => code.to_owned(),
            None => match &error {
                SdkError::ConstructionFailure(_) => "ConstructionFailure",
                SdkError::TimeoutError(_) => "Timeout",
                SdkError::DispatchFailure(_) => "DispatchFailure",
                SdkError::ResponseError(_) => "ResponseError",
                _ => "ServiceError",
            }
            .to_owned(),
        };
        DependencyError::new(service, operation, code)
    }
}
