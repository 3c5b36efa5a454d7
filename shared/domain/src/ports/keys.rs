//! The key service for envelope encryption of secure message content.

use std::{collections::BTreeMap, fmt};

use async_trait::async_trait;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::DependencyError;

/// Names what a data key may decrypt (e.g. clinic id and message id); the key service
/// refuses to decrypt under any other context.
pub type EncryptionContext = BTreeMap<String, String>;

/// A fresh data key: the plaintext half encrypts content in memory and is then dropped;
/// only the encrypted half is stored. Not `Clone`: one copy of the plaintext, wiped on drop.
#[derive(PartialEq, Eq)]
pub struct DataKey {
    pub plaintext: PlainKey,
    pub ciphertext: Vec<u8>,
}

/// The plaintext of a data key. Its bytes are overwritten with zeros when it is dropped, so
/// a key outlives its use only in memory the allocator has not handed out again; it is
/// neither `Clone` nor `Debug`-printable.
#[derive(PartialEq, Eq)]
pub struct PlainKey(Vec<u8>);

impl PlainKey {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for PlainKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for PlainKey {}

impl fmt::Debug for PlainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainKey(..)")
    }
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
    ) -> Result<PlainKey, DependencyError>;
    /// A new 32-byte key, returned only wrapped (encrypted under `context`): for keys kept
    /// long and opened where they are used, such as a clinic's root key.
    async fn generate_wrapped_key(
        &self,
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, DependencyError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles only while `T` is not `Clone`: with a `Clone` impl the call is ambiguous.
    fn assert_not_clone<T, Marker>()
    where
        T: NotClone<Marker>,
    {
    }
    trait NotClone<Marker> {}
    impl<T> NotClone<()> for T {}
    struct IsClone;
    impl<T: Clone> NotClone<IsClone> for T {}

    fn assert_zeroized_on_drop<T: ZeroizeOnDrop>() {}

    #[test]
    fn key_plaintext_is_wiped_on_drop_and_never_copied() {
        assert_zeroized_on_drop::<PlainKey>();
        assert_not_clone::<PlainKey, _>();
        assert_not_clone::<DataKey, _>();
        let key = PlainKey::new(vec![7; 32]);
        assert_eq!(format!("{key:?}"), "PlainKey(..)");
    }
}
