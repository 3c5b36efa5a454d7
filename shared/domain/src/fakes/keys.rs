//! A key service that "encrypts" data keys by tagging them with their context, so that a
//! wrong context fails to decrypt as it does with KMS. Not cryptography: tests only.

use std::sync::{
    Arc,
    atomic::{AtomicU8, Ordering},
};

use async_trait::async_trait;

use sha2::{Digest, Sha256};

use super::{FixedClock, MemoryStore};
use crate::{
    clinic_key::{ClinicKey, encryption_context},
    clinic_keyring::ClinicKeyring,
    error::DependencyError,
    ids::ClinicId,
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

/// The root key a test clinic is given: the same for the same clinic, whoever asks.
fn test_root(clinic: &ClinicId) -> [u8; 32] {
    Sha256::digest(format!("test root key of {clinic}")).into()
}

/// `clinic`'s test root key wrapped as this service wraps it, to store as onboarding does:
/// a keyring over a [`FakeKeyService`] then opens it to [`test_clinic_key`].
pub fn wrapped_test_root(clinic: &ClinicId) -> Vec<u8> {
    wrap(&test_root(clinic), &encryption_context(clinic))
}

/// The key a keyring over a [`FakeKeyService`] opens from [`wrapped_test_root`].
pub fn test_clinic_key(clinic: &ClinicId) -> ClinicKey {
    ClinicKey::from_root(clinic, &test_root(clinic)).expect("a 32-byte root")
}

/// A keyring over `store` in which each of `clinics` has its test root key, as onboarding
/// gives it: it opens each to its [`test_clinic_key`].
pub fn test_keyring(store: &Arc<MemoryStore>, clinics: &[&ClinicId]) -> Arc<ClinicKeyring> {
    {
        let mut tables = store.tables.lock().expect("store lock");
        for clinic in clinics {
            tables
                .root_keys
                .insert(clinic.to_string(), wrapped_test_root(clinic));
        }
    }
    Arc::new(ClinicKeyring::new(
        Arc::new(FakeKeyService::default()),
        store.clone(),
        Arc::new(FixedClock::at(crate::fakes::records::now())),
    ))
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
    async fn a_wrapped_test_root_opens_to_the_test_clinic_key() {
        let clinic = ClinicId::parse("c1").unwrap();
        let root = FakeKeyService::default()
            .decrypt_data_key(&wrapped_test_root(&clinic), &encryption_context(&clinic))
            .await
            .unwrap();
        let opened = ClinicKey::from_root(&clinic, root.expose()).unwrap();
        let tag = |key: &ClinicKey| key.tag(crate::clinic_key::TagKind::Phn, "9698658215");
        assert_eq!(tag(&opened), tag(&test_clinic_key(&clinic)));
        let other = ClinicId::parse("c2").unwrap();
        assert_ne!(tag(&test_clinic_key(&other)), tag(&opened));
    }

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
