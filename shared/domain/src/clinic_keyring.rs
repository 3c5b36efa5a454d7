//! Clinics' keys as the functions hold them: a clinic's root key is created once, kept only
//! wrapped by KMS, and opened (one KMS Decrypt) the first time a function instance needs it,
//! then kept for [`KEY_CACHE_TTL`], so that a disabled KMS key stops working within it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use jiff::{SignedDuration, Timestamp};

use crate::{
    clinic_key::{ClinicKey, encryption_context},
    error::DependencyError,
    ids::ClinicId,
    ports::{Clock, KeyService},
};

pub const KEY_CACHE_TTL: SignedDuration = SignedDuration::from_mins(15);

pub struct ClinicKeyring {
    keys: Arc<dyn KeyService>,
    clock: Arc<dyn Clock>,
    opened: Mutex<HashMap<ClinicId, Opened>>,
}

/// A clinic's key, with the wrapped root it was opened from and when.
struct Opened {
    wrapped: Vec<u8>,
    key: ClinicKey,
    at: Timestamp,
}

impl ClinicKeyring {
    pub fn new(keys: Arc<dyn KeyService>, clock: Arc<dyn Clock>) -> Self {
        Self {
            keys,
            clock,
            opened: Mutex::new(HashMap::new()),
        }
    }

    /// A new root key for `clinic`, wrapped: what its profile keeps.
    pub async fn create(&self, clinic: &ClinicId) -> Result<Vec<u8>, DependencyError> {
        self.keys
            .generate_wrapped_key(&encryption_context(clinic))
            .await
    }

    /// The clinic's key from its wrapped root: opened by KMS, or kept from an opening of
    /// the same wrapped root less than [`KEY_CACHE_TTL`] ago.
    pub async fn key(
        &self,
        clinic: &ClinicId,
        wrapped: &[u8],
    ) -> Result<ClinicKey, DependencyError> {
        let now = self.clock.now();
        if let Some(opened) = self.lock().get(clinic)
            && opened.wrapped == wrapped
            && now.duration_since(opened.at) < KEY_CACHE_TTL
        {
            return Ok(opened.key.clone());
        }
        let root = self
            .keys
            .decrypt_data_key(wrapped, &encryption_context(clinic))
            .await?;
        let key = ClinicKey::from_root(clinic, root.expose())
            .map_err(|_| DependencyError::new("kms", "Decrypt", "ClinicKeyNot32Bytes"))?;
        let opened = Opened {
            wrapped: wrapped.to_vec(),
            key: key.clone(),
            at: now,
        };
        self.lock().insert(clinic.clone(), opened);
        Ok(key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClinicId, Opened>> {
        self.opened.lock().expect("keyring lock")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::{
        clinic_key::TagKind,
        fakes::{FakeKeyService, FixedClock},
        ports::{DataKey, EncryptionContext, PlainKey},
    };

    /// The fake key service, counting the unwraps.
    #[derive(Default)]
    struct CountingKeys {
        inner: FakeKeyService,
        decrypts: AtomicUsize,
    }

    #[async_trait]
    impl KeyService for CountingKeys {
        async fn generate_data_key(
            &self,
            context: &EncryptionContext,
        ) -> Result<DataKey, DependencyError> {
            self.inner.generate_data_key(context).await
        }

        async fn decrypt_data_key(
            &self,
            ciphertext: &[u8],
            context: &EncryptionContext,
        ) -> Result<PlainKey, DependencyError> {
            self.decrypts.fetch_add(1, Ordering::SeqCst);
            self.inner.decrypt_data_key(ciphertext, context).await
        }

        async fn generate_wrapped_key(
            &self,
            context: &EncryptionContext,
        ) -> Result<Vec<u8>, DependencyError> {
            self.inner.generate_wrapped_key(context).await
        }
    }

    fn keyring() -> (ClinicKeyring, Arc<CountingKeys>, Arc<FixedClock>) {
        let keys = Arc::new(CountingKeys::default());
        let clock = Arc::new(FixedClock::at(
            Timestamp::from_second(1_800_000_000).unwrap(),
        ));
        (ClinicKeyring::new(keys.clone(), clock.clone()), keys, clock)
    }

    fn clinic(id: &str) -> ClinicId {
        ClinicId::parse(id).unwrap()
    }

    #[tokio::test]
    async fn a_clinics_key_is_opened_once_and_kept_for_fifteen_minutes() {
        let (keyring, keys, clock) = keyring();
        let wrapped = keyring.create(&clinic("c1")).await.unwrap();
        let first = keyring.key(&clinic("c1"), &wrapped).await.unwrap();
        for _ in 0..5 {
            let again = keyring.key(&clinic("c1"), &wrapped).await.unwrap();
            assert_eq!(
                again.tag(TagKind::Phn, "9698658215"),
                first.tag(TagKind::Phn, "9698658215")
            );
        }
        assert_eq!(keys.decrypts.load(Ordering::SeqCst), 1);

        clock.advance(KEY_CACHE_TTL);
        keyring.key(&clinic("c1"), &wrapped).await.unwrap();
        assert_eq!(keys.decrypts.load(Ordering::SeqCst), 2, "opened again");
    }

    #[tokio::test]
    async fn another_wrapped_root_is_opened_afresh_and_clinics_keys_differ() {
        let (keyring, keys, _) = keyring();
        let old = keyring.create(&clinic("c1")).await.unwrap();
        let new = keyring.create(&clinic("c1")).await.unwrap();
        let before = keyring.key(&clinic("c1"), &old).await.unwrap();
        let after = keyring.key(&clinic("c1"), &new).await.unwrap();
        assert_eq!(keys.decrypts.load(Ordering::SeqCst), 2);
        assert_ne!(
            before.tag(TagKind::Email, "ava@example.com"),
            after.tag(TagKind::Email, "ava@example.com")
        );
    }

    #[tokio::test]
    async fn a_wrapped_root_opens_for_its_own_clinic_only() {
        let (keyring, _, _) = keyring();
        let wrapped = keyring.create(&clinic("c1")).await.unwrap();
        let refused = keyring.key(&clinic("c2"), &wrapped).await.unwrap_err();
        assert_eq!(refused.operation, "Decrypt");
    }
}
