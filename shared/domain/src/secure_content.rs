//! The secure-content protocol, sealing (send) and opening (unlock) in one place: a KMS data
//! key per message, bound to its clinic and message by the encryption context; the content
//! sealed with AES-256-GCM under that key, bound to the same ids as its AAD; and the
//! patient's PHN kept only as an HMAC under the data key, checked in constant time.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::{
    envelope::{self, SealedContent},
    error::{DependencyError, DomainError},
    ids::{ClinicId, MessageId},
    model::{Chat, UnlockRecord},
    phn::Phn,
    ports::{DataKey, EncryptionContext, KeyService},
    random::RandomSource,
};

/// What a secure message holds. PHI: sealed before it is stored, shown only after unlock.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecureContent {
    pub text: String,
    pub chats: Vec<Chat>,
    pub attachments: Vec<AttachedFile>,
}

impl std::fmt::Debug for SecureContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecureContent")
            .field("chats", &self.chats.len())
            .field("attachments", &self.attachments.len())
            .finish_non_exhaustive()
    }
}

/// A file of a secure message, as checked when it was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedFile {
    /// The name the patient sees.
    pub file_name: String,
    /// Where the file is in the attachments bucket.
    #[serde(rename = "key")]
    pub object_key: String,
    /// The version checked at send: the only one the patient can download.
    #[serde(rename = "version")]
    pub version_id: String,
    pub content_type: String,
    pub size: u64,
}

/// A message's content as stored: the data key wrapped by KMS, the sealed content and the
/// PHN check. Nothing in it reveals the content or the PHN without KMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub encrypted_key: Vec<u8>,
    pub sealed: SealedContent,
    pub phn_check: String,
}

/// What a PHN typed on the unlock page opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsealed {
    WrongPhn,
    Opened(SecureContent),
}

/// The ids a message's data key and content are bound to: KMS refuses the key, and GCM
/// the content, for any other clinic or message.
struct Binding<'a> {
    clinic: &'a ClinicId,
    message: &'a MessageId,
}

impl Binding<'_> {
    fn encryption_context(&self) -> EncryptionContext {
        [
            ("clinic_id".to_owned(), self.clinic.to_string()),
            ("message_id".to_owned(), self.message.to_string()),
        ]
        .into()
    }

    fn aad(&self) -> String {
        format!("{}/{}", self.clinic, self.message)
    }
}

/// A new data key for one message's content, bound to its clinic and id. It seals exactly
/// one content (`seal` takes it), so its one nonce can never be reused with it. Fetched
/// before the message is read, so that KMS and the reads do not wait for one another.
pub struct MessageKey {
    clinic: ClinicId,
    message: MessageId,
    data_key: DataKey,
}

impl MessageKey {
    pub async fn new(
        keys: &dyn KeyService,
        clinic: &ClinicId,
        message: &MessageId,
    ) -> Result<MessageKey, DomainError> {
        let binding = Binding { clinic, message };
        let data_key = keys
            .generate_data_key(&binding.encryption_context())
            .await?;
        Ok(MessageKey {
            clinic: clinic.clone(),
            message: message.clone(),
            data_key,
        })
    }

    /// Seals `content` for the patient with `phn`.
    pub fn seal(
        self,
        random: &dyn RandomSource,
        phn: &Phn,
        content: &SecureContent,
    ) -> Result<Sealed, DomainError> {
        let binding = Binding {
            clinic: &self.clinic,
            message: &self.message,
        };
        let plaintext = Zeroizing::new(serde_json::to_vec(content).expect("content serialises"));
        let sealed = envelope::seal(
            self.data_key.plaintext.expose(),
            &plaintext,
            binding.aad().as_bytes(),
            random,
        )
        .map_err(|_| DependencyError::new("envelope", "Seal", "SealFailed"))?;
        Ok(Sealed {
            phn_check: phn_check(self.data_key.plaintext.expose(), phn),
            encrypted_key: self.data_key.ciphertext,
            sealed,
        })
    }
}

/// Opens a stored message for a typed PHN: the content when the PHN is the patient's.
pub async fn unseal(
    keys: &dyn KeyService,
    record: &UnlockRecord,
    typed_phn: &Phn,
) -> Result<Unsealed, DomainError> {
    let binding = Binding {
        clinic: &record.clinic_id,
        message: &record.message_id,
    };
    let data_key = keys
        .decrypt_data_key(&record.encrypted_key, &binding.encryption_context())
        .await?;
    let matches: bool = phn_check(data_key.expose(), typed_phn)
        .as_bytes()
        .ct_eq(record.phn_check.as_bytes())
        .into();
    if !matches {
        return Ok(Unsealed::WrongPhn);
    }
    let plaintext = envelope::open(data_key.expose(), &record.sealed, binding.aad().as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| DependencyError::new("envelope", "Open", "Tampered"))?;
    let content = serde_json::from_slice(&plaintext)
        .map_err(|_| DependencyError::corrupt_item("envelope", "Open"))?;
    Ok(Unsealed::Opened(content))
}

/// HMAC-SHA256 of the PHN under the message's data key: checks a typed PHN without the PHN
/// being stored, and only with KMS's help.
fn phn_check(data_key: &[u8], phn: &Phn) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(data_key).expect("HMAC takes any key length");
    mac.update(phn.as_str().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::{
        fakes::{CountingRandom, FakeKeyService},
        link_token::LinkToken,
        ports::{DataKey, PlainKey},
    };

    /// Seals `content` for one message under a new data key, as a send does.
    async fn seal(
        keys: &dyn KeyService,
        random: &dyn RandomSource,
        clinic: &ClinicId,
        message: &MessageId,
        phn: &Phn,
        content: &SecureContent,
    ) -> Result<Sealed, DomainError> {
        MessageKey::new(keys, clinic, message)
            .await?
            .seal(random, phn, content)
    }

    const PHN: &str = "9698658215";
    const OTHER_PHN: &str = "9890608412";

    fn content() -> SecureContent {
        SecureContent {
            text: "Your results are normal.".into(),
            chats: Vec::new(),
            attachments: vec![AttachedFile {
                file_name: "results.pdf".into(),
                object_key: "attachments/c1/f1".into(),
                version_id: "v1".into(),
                content_type: "application/pdf".into(),
                size: 10,
            }],
        }
    }

    fn ids(clinic: &str, message: u8) -> (ClinicId, MessageId) {
        (
            ClinicId::parse(clinic).unwrap(),
            MessageId::from_random([message; 16]),
        )
    }

    async fn sealed_record(keys: &dyn KeyService, clinic: &str, message: u8) -> UnlockRecord {
        let (clinic, message) = ids(clinic, message);
        let sealed = seal(
            keys,
            &CountingRandom::default(),
            &clinic,
            &message,
            &Phn::parse(PHN).unwrap(),
            &content(),
        )
        .await
        .unwrap();
        UnlockRecord {
            token_hash: LinkToken::generate(&CountingRandom::default()).hash(),
            clinic_id: clinic,
            message_id: message,
            encrypted_key: sealed.encrypted_key,
            sealed: sealed.sealed,
            phn_check: sealed.phn_check,
            expires_at: jiff::Timestamp::UNIX_EPOCH,
            language: crate::language::Language::En,
        }
    }

    #[tokio::test]
    async fn the_patients_phn_opens_the_content_and_another_does_not() {
        let keys = FakeKeyService::default();
        let record = sealed_record(&keys, "c1", 1).await;
        assert_eq!(
            unseal(&keys, &record, &Phn::parse(PHN).unwrap())
                .await
                .unwrap(),
            Unsealed::Opened(content())
        );
        assert_eq!(
            unseal(&keys, &record, &Phn::parse(OTHER_PHN).unwrap())
                .await
                .unwrap(),
            Unsealed::WrongPhn
        );
    }

    #[tokio::test]
    async fn the_stored_parts_hold_neither_the_phn_nor_the_text() {
        let keys = FakeKeyService::default();
        let record = sealed_record(&keys, "c1", 1).await;
        let stored = [
            record.phn_check.as_bytes(),
            &record.sealed.ciphertext,
            &record.encrypted_key,
        ];
        for part in stored {
            let text = String::from_utf8_lossy(part);
            assert!(!text.contains(PHN) && !text.contains("results"), "{text}");
        }
    }

    #[tokio::test]
    async fn a_record_moved_to_another_message_or_clinic_does_not_open() {
        let keys = FakeKeyService::default();
        let record = sealed_record(&keys, "c1", 1).await;
        let phn = Phn::parse(PHN).unwrap();
        for (clinic, message) in [ids("c1", 2), ids("c2", 1)] {
            let moved = UnlockRecord {
                clinic_id: clinic,
                message_id: message,
                ..record.clone()
            };
            // KMS refuses the data key under another encryption context.
            let error = unseal(&keys, &moved, &phn).await.unwrap_err();
            assert!(
                matches!(&error, DomainError::Dependency(e) if e.operation == "Decrypt"),
                "{error:?}"
            );
        }
    }

    /// A key service that decrypts any data key under any context, as if the encryption
    /// context were not checked: the content's own binding (AAD) must still refuse it.
    #[derive(Default)]
    struct ContextBlindKeys(FakeKeyService, Mutex<Vec<Vec<u8>>>);

    #[async_trait]
    impl KeyService for ContextBlindKeys {
        async fn generate_data_key(
            &self,
            context: &EncryptionContext,
        ) -> Result<DataKey, DependencyError> {
            let key = self.0.generate_data_key(context).await?;
            let plaintext = key.plaintext.expose().to_vec();
            self.1.lock().unwrap().push(plaintext.clone());
            Ok(DataKey {
                plaintext: PlainKey::new(plaintext.clone()),
                ciphertext: plaintext,
            })
        }

        async fn decrypt_data_key(
            &self,
            ciphertext: &[u8],
            _: &EncryptionContext,
        ) -> Result<PlainKey, DependencyError> {
            Ok(PlainKey::new(ciphertext.to_vec()))
        }

        async fn generate_wrapped_key(
            &self,
            context: &EncryptionContext,
        ) -> Result<Vec<u8>, DependencyError> {
            self.0.generate_wrapped_key(context).await
        }
    }

    #[tokio::test]
    async fn content_copied_onto_another_message_fails_its_integrity_check() {
        let keys = ContextBlindKeys::default();
        let record = sealed_record(&keys, "c1", 1).await;
        let (clinic, message) = ids("c1", 2);
        let moved = UnlockRecord {
            clinic_id: clinic,
            message_id: message,
            ..record
        };
        let error = unseal(&keys, &moved, &Phn::parse(PHN).unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(&error, DomainError::Dependency(e) if e.code == "Tampered"),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn tampered_ciphertext_is_refused() {
        let keys = FakeKeyService::default();
        let mut record = sealed_record(&keys, "c1", 1).await;
        record.sealed.ciphertext[0] ^= 1;
        let error = unseal(&keys, &record, &Phn::parse(PHN).unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(&error, DomainError::Dependency(e) if e.code == "Tampered"),
            "{error:?}"
        );
    }

    /// Randomness that repeats itself: every nonce is the same.
    struct SameBytes;

    impl RandomSource for SameBytes {
        fn fill(&self, buffer: &mut [u8]) {
            buffer.fill(7);
        }
    }

    #[tokio::test]
    async fn a_nonce_is_never_reused_under_one_data_key() {
        // Even when the random source repeats nonces, each message has its own data key,
        // so no (key, nonce) pair seals two contents.
        let keys = ContextBlindKeys::default();
        let phn = Phn::parse(PHN).unwrap();
        let mut pairs = Vec::new();
        for n in 0..5 {
            let (clinic, message) = ids("c1", n);
            let sealed = seal(&keys, &SameBytes, &clinic, &message, &phn, &content())
                .await
                .unwrap();
            pairs.push((sealed.encrypted_key, sealed.sealed.nonce));
        }
        let data_keys = keys.1.lock().unwrap().clone();
        assert_eq!(data_keys.len(), 5, "one data key per sealed content");
        pairs.sort();
        pairs.dedup();
        assert_eq!(pairs.len(), 5);
    }
}
