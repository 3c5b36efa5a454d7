//! The SDK clients of the AWS services, made from one shared SDK configuration.

use aws_config::SdkConfig;

use crate::https_client;

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
