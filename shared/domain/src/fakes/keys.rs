//! A key service that "encrypts" data keys by tagging them with their context, so that a
//! wrong context fails to decrypt as it does with KMS. Not cryptography: tests only.

use std::sync::atomic::{AtomicU8, Ordering};

use async_trait::async_trait;

use crate::{
    error::DependencyError,
    ports::{DataKey, EncryptionContext, KeyService, PlainKey},
};

#[derive(Debug, Default)]
pub struct FakeKeyService {
    next: AtomicU8,
}

fn wrap(plaintext: &[u8], context: &EncryptionContext) -> Vec<u8> {
    let mut wrapped = serde_json::to_vec(context).expect("context serialises");
    wrapped.push(0);
    wrapped.extend_from_slice(plaintext);
    wrapped
}

#[async_trait]
impl KeyService for FakeKeyService {
    async fn generate_data_key(
        &self,
        context: &EncryptionContext,
    ) -> Result<DataKey, DependencyError> {
        let plaintext = vec![self.next.fetch_add(1, Ordering::SeqCst); 32];
        Ok(DataKey {
            ciphertext: wrap(&plaintext, context),
            plaintext: PlainKey::new(plaintext),
        })
    }

    async fn decrypt_data_key(
        &self,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<PlainKey, DependencyError> {
        let prefix = wrap(&[], context);
        ciphertext
            .strip_prefix(prefix.as_slice())
            .map(|key| PlainKey::new(key.to_vec()))
            .ok_or_else(|| DependencyError::new("kms", "Decrypt", "InvalidCiphertextException"))
    }

    async fn generate_wrapped_key(
        &self,
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, DependencyError> {
        Ok(self.generate_data_key(context).await?.ciphertext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn data_key_decrypts_only_under_its_own_context() {
        let keys = FakeKeyService::default();
        let context: EncryptionContext = [("message_id".to_owned(), "m1".to_owned())].into();
        let other: EncryptionContext = [("message_id".to_owned(), "m2".to_owned())].into();
        let key = keys.generate_data_key(&context).await.unwrap();
        assert_eq!(
            keys.decrypt_data_key(&key.ciphertext, &context)
                .await
                .unwrap(),
            key.plaintext
        );
        assert!(
            keys.decrypt_data_key(&key.ciphertext, &other)
                .await
                .is_err()
        );
    }
}
