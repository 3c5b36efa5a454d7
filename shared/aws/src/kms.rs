//! Data keys from AWS KMS for envelope encryption, bound to an encryption context.

use async_trait::async_trait;
use aws_sdk_kms::{primitives::Blob, types::DataKeySpec};

use crate::sdk_failure;
use domain::{
    error::DependencyError,
    ports::{DataKey, EncryptionContext, KeyService, PlainKey},
};

#[derive(Debug, Clone)]
pub struct KmsKeyService {
    client: aws_sdk_kms::Client,
    key_id: String,
}

impl KmsKeyService {
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }
}

#[async_trait]
impl KeyService for KmsKeyService {
    async fn generate_data_key(
        &self,
        context: &EncryptionContext,
    ) -> Result<DataKey, DependencyError> {
        let output = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(context.clone().into_iter().collect()))
            .send()
            .await
            .map_err(sdk_failure("kms", "GenerateDataKey"))?;
        match (output.plaintext, output.ciphertext_blob) {
            (Some(plaintext), Some(ciphertext)) => Ok(DataKey {
                plaintext: PlainKey::new(plaintext.into_inner()),
                ciphertext: ciphertext.into_inner(),
            }),
            _ => Err(DependencyError::new(
                "kms",
                "GenerateDataKey",
                "IncompleteDataKey",
            )),
        }
    }

    async fn generate_wrapped_key(
        &self,
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, DependencyError> {
        let output = self
            .client
            .generate_data_key_without_plaintext()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(context.clone().into_iter().collect()))
            .send()
            .await
            .map_err(sdk_failure("kms", "GenerateDataKeyWithoutPlaintext"))?;
        output.ciphertext_blob.map(Blob::into_inner).ok_or_else(|| {
            DependencyError::new("kms", "GenerateDataKeyWithoutPlaintext", "NoCiphertext")
        })
    }

    async fn decrypt_data_key(
        &self,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<PlainKey, DependencyError> {
        let output = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(ciphertext))
            .set_encryption_context(Some(context.clone().into_iter().collect()))
            .send()
            .await
            .map_err(sdk_failure("kms", "Decrypt"))?;
        output
            .plaintext
            .map(|key| PlainKey::new(key.into_inner()))
            .ok_or_else(|| DependencyError::new("kms", "Decrypt", "NoPlaintext"))
    }
}
