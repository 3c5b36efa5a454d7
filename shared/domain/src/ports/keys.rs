//! The key service for envelope encryption of secure message content.

use std::{collections::BTreeMap, fmt};

use async_trait::async_trait;

use crate::error::DependencyError;

/// Names what a data key may decrypt (e.g. clinic id and message id); the key service
/// refuses to decrypt under any other context.
pub type EncryptionContext = BTreeMap<String, String>;

/// A fresh data key: the plaintext half encrypts content in memory and is then dropped;
/// only the encrypted half is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct DataKey {
    pub plaintext: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey").finish_non_exhaustive()
    }
}

#[async_trait]
pub trait KeyService: Send + Sync {
    async fn generate_data_key(
        &self,
        context: &EncryptionContext,
    ) -> Result<DataKey, DependencyError>;
    async fn decrypt_data_key(
        &self,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, DependencyError>;
}
