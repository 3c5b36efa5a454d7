//! Clinics' keys as the functions hold them: a clinic's root key is made when it is onboarded
//! and kept only wrapped by KMS, beside its profile; it is read and opened (one GetItem, one
//! KMS Decrypt) the first time a function instance needs it, then kept for
//! [`KEY_CACHE_TTL`], so that a disabled KMS key stops working within it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use jiff::{SignedDuration, Timestamp};

use crate::{
    clinic_key::{ClinicKey, encryption_context},
    error::DependencyError,
    ids::ClinicId,
    ports::{ClinicStore, Clock, KeyService},
};

pub const KEY_CACHE_TTL: SignedDuration = SignedDuration::from_mins(15);

pub struct ClinicKeyring {
    keys: Arc<dyn KeyService>,
    clinics: Arc<dyn ClinicStore>,
    clock: Arc<dyn Clock>,
    opened: Mutex<HashMap<ClinicId, Opened>>,
}

/// A clinic's key, and when it was opened.
struct Opened {
    key: ClinicKey,
    at: Timestamp,
}

impl ClinicKeyring {
    pub fn new(
        keys: Arc<dyn KeyService>,
        clinics: Arc<dyn ClinicStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            keys,
            clinics,
            clock,
            opened: Mutex::new(HashMap::new()),
        }
    }

    /// The clinic's key: kept from an opening less than [`KEY_CACHE_TTL`] ago, else its
    /// wrapped root read and opened by KMS.
    pub async fn key(&self, clinic: &ClinicId) -> Result<ClinicKey, DependencyError> {
        let now = self.clock.now();
        if let Some(opened) = self.lock().get(clinic)
            && now.duration_since(opened.at) < KEY_CACHE_TTL
        {
            return Ok(opened.key.clone());
        }
        let wrapped = self
            .clinics
            .wrapped_root_key(clinic)
            .await?
            .ok_or_else(|| DependencyError::new("dynamodb", "GetRootKey", "ClinicHasNoRootKey"))?;
        let root = self
            .keys
            .decrypt_data_key(&wrapped, &encryption_context(clinic))
            .await?;
        let key = ClinicKey::from_root(clinic, root.expose())
            .map_err(|_| DependencyError::new("kms", "Decrypt", "ClinicKeyNot32Bytes"))?;
        let opened = Opened {
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
        fakes::{FakeKeyService, FixedClock, MemoryStore},
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

    struct Ring {
        keyring: ClinicKeyring,
        keys: Arc<CountingKeys>,
        store: Arc<MemoryStore>,
        clock: Arc<FixedClock>,
    }

    fn ring() -> Ring {
        let keys = Arc::new(CountingKeys::default());
        let store = Arc::new(MemoryStore::default());
        let clock = Arc::new(FixedClock::at(
            Timestamp::from_second(1_800_000_000).unwrap(),
        ));
        Ring {
            keyring: ClinicKeyring::new(keys.clone(), store.clone(), clock.clone()),
            keys,
            store,
            clock,
        }
    }

    fn clinic(id: &str) -> ClinicId {
        ClinicId::parse(id).unwrap()
    }

    impl Ring {
        /// Gives `clinic` a new root key, as onboarding does.
        async fn root_key_for(&self, clinic: &ClinicId) {
            let wrapped = self
                .keys
                .generate_wrapped_key(&encryption_context(clinic))
                .await
                .unwrap();
            assert!(self.store.put_root_key(clinic, &wrapped).await.unwrap());
        }

        fn decrypts(&self) -> usize {
            self.keys.decrypts.load(Ordering::SeqCst)
        }
    }

    #[tokio::test]
    async fn a_clinics_key_is_opened_once_and_kept_for_fifteen_minutes() {
        let ring = ring();
        ring.root_key_for(&clinic("c1")).await;
        let first = ring.keyring.key(&clinic("c1")).await.unwrap();
        for _ in 0..5 {
            let again = ring.keyring.key(&clinic("c1")).await.unwrap();
            assert_eq!(
                again.tag(TagKind::Phn, "9698658215"),
                first.tag(TagKind::Phn, "9698658215")
            );
        }
        assert_eq!(ring.decrypts(), 1);

        ring.clock.advance(KEY_CACHE_TTL);
        ring.keyring.key(&clinic("c1")).await.unwrap();
        assert_eq!(ring.decrypts(), 2, "opened again");
    }

    #[tokio::test]
    async fn each_clinic_has_its_own_key_and_one_without_a_root_key_none() {
        let ring = ring();
        ring.root_key_for(&clinic("c1")).await;
        ring.root_key_for(&clinic("c2")).await;
        let one = ring.keyring.key(&clinic("c1")).await.unwrap();
        let two = ring.keyring.key(&clinic("c2")).await.unwrap();
        assert_ne!(
            one.tag(TagKind::Email, "ava@example.com"),
            two.tag(TagKind::Email, "ava@example.com")
        );
        let missing = ring.keyring.key(&clinic("c3")).await.unwrap_err();
        assert_eq!(missing.code, "ClinicHasNoRootKey");
    }

    #[tokio::test]
    async fn a_wrapped_root_opens_for_its_own_clinic_only() {
        let ring = ring();
        let wrapped = ring
            .keys
            .generate_wrapped_key(&encryption_context(&clinic("c1")))
            .await
            .unwrap();
        // Copied onto another clinic, it does not open: the context names the clinic.
        ring.store
            .put_root_key(&clinic("c2"), &wrapped)
            .await
            .unwrap();
        let refused = ring.keyring.key(&clinic("c2")).await.unwrap_err();
        assert_eq!(refused.operation, "Decrypt");
    }
}
