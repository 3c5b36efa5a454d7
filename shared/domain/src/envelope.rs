//! Envelope encryption of secure message content: AES-256-GCM under a KMS data key, bound to its clinic and message.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use thiserror::Error;

use crate::random::RandomSource;

/// An AES-256 key: what KMS `GenerateDataKey` returns for key spec `AES_256`.
pub const KEY_BYTES: usize = 32;
/// AES-GCM's standard 96-bit nonce.
pub const NONCE_BYTES: usize = 12;

/// Encrypted content and the nonce it was sealed with. `ciphertext` ends with GCM's
/// 16-byte authentication tag. Neither is secret, but `Debug` shows sizes only.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedContent {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for SealedContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedContent")
            .field("nonce_bytes", &self.nonce.len())
            .field("ciphertext_bytes", &self.ciphertext.len())
            .finish()
    }
}

/// Why content could not be sealed or opened. GCM does not say which check failed, so a
/// wrong key, wrong binding and altered bytes are one error.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error(
        "the data key for secure message content must be 32 bytes (AES-256); \
         request data keys with key spec AES_256"
    )]
    BadKey,
    #[error(
        "secure message content failed its integrity check: it was altered, or it is \
         being opened with another data key or for another clinic or message"
    )]
    Tampered,
    #[error("secure message content is too large to encrypt")]
    TooLarge,
}

/// Encrypts `plaintext` under `key` with a fresh nonce from `random`. `aad` is
/// authenticated but not encrypted: pass the clinic and message ids (e.g.
/// `b"clinic-1/message-9"`) so that content copied onto another message will not open.
pub fn seal(
    key: &[u8],
    plaintext: &[u8],
    aad: &[u8],
    random: &dyn RandomSource,
) -> Result<SealedContent, EnvelopeError> {
    // Random 96-bit nonces are safe while one key seals fewer than 2^32 contents (NIST
    // SP 800-38D); data keys from KMS are not reused anywhere near that often.
    let mut nonce = [0u8; NONCE_BYTES];
    random.fill(&mut nonce);
    seal_with_nonce(key, nonce, plaintext, aad)
}

/// Encrypts `plaintext` under `key` with `nonce`, which must never seal another plaintext
/// or `aad` under the same key.
pub fn seal_with_nonce(
    key: &[u8],
    nonce: [u8; NONCE_BYTES],
    plaintext: &[u8],
    aad: &[u8],
) -> Result<SealedContent, EnvelopeError> {
    let cipher = cipher(key)?;
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| EnvelopeError::TooLarge)?;
    Ok(SealedContent {
        nonce: nonce.to_vec(),
        ciphertext,
    })
}

/// Decrypts content sealed by [`seal`] with the same key and `aad`.
pub fn open(key: &[u8], sealed: &SealedContent, aad: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let cipher = cipher(key)?;
    // A nonce of another length cannot have come from `seal`: the stored item was altered.
    if sealed.nonce.len() != NONCE_BYTES {
        return Err(EnvelopeError::Tampered);
    }
    cipher
        .decrypt(
            Nonce::from_slice(&sealed.nonce),
            Payload {
                msg: &sealed.ciphertext,
                aad,
            },
        )
        .map_err(|_| EnvelopeError::Tampered)
}

fn cipher(key: &[u8]) -> Result<Aes256Gcm, EnvelopeError> {
    if key.len() != KEY_BYTES {
        return Err(EnvelopeError::BadKey);
    }
    Aes256Gcm::new_from_slice(key).map_err(|_| EnvelopeError::BadKey)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::CountingRandom;

    const KEY: [u8; 32] = [7; 32];
    const AAD: &[u8] = b"clinic-1/message-9";
    const TEXT: &[u8] = b"Your lab results are ready: all values normal.";

    struct ZeroRandom;

    impl RandomSource for ZeroRandom {
        fn fill(&self, buffer: &mut [u8]) {
            buffer.fill(0);
        }
    }

    fn sealed() -> SealedContent {
        seal(&KEY, TEXT, AAD, &CountingRandom::default()).expect("seals")
    }

    #[test]
    fn sealed_content_opens_with_the_same_key_and_aad() {
        let sealed = sealed();
        assert_eq!(open(&KEY, &sealed, AAD).expect("opens"), TEXT);
    }

    #[test]
    fn empty_content_round_trips() {
        let sealed = seal(&KEY, b"", AAD, &CountingRandom::default()).expect("seals");
        assert_eq!(sealed.ciphertext.len(), 16);
        assert_eq!(open(&KEY, &sealed, AAD).expect("opens"), b"");
    }

    #[test]
    fn ciphertext_does_not_contain_the_plaintext_and_carries_a_16_byte_tag() {
        let sealed = sealed();
        assert_eq!(sealed.ciphertext.len(), TEXT.len() + 16);
        assert!(
            !sealed
                .ciphertext
                .windows(8)
                .any(|w| TEXT.windows(8).any(|t| t == w))
        );
    }

    #[test]
    fn nonce_is_12_bytes_from_the_random_source() {
        let random = CountingRandom::default();
        let first = seal(&KEY, TEXT, AAD, &random).expect("seals");
        let second = seal(&KEY, TEXT, AAD, &random).expect("seals");
        assert_eq!(first.nonce, vec![1u8; 12]);
        assert_eq!(second.nonce, vec![2u8; 12]);
        assert_ne!(first.ciphertext, second.ciphertext);
    }

    #[test]
    fn sealing_is_aes_256_gcm() {
        // Test cases 13 and 14 of the GCM specification (McGrew and Viega): zero key,
        // zero nonce, no aad.
        let random = ZeroRandom;
        let empty = seal(&[0; 32], b"", b"", &random).expect("seals");
        assert_eq!(
            hex::encode(&empty.ciphertext),
            "530f8afbc74536b9a963b4f1c4cb738b"
        );
        let block = seal(&[0; 32], &[0; 16], b"", &random).expect("seals");
        assert_eq!(
            hex::encode(&block.ciphertext),
            "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"
        );
    }

    #[test]
    fn key_that_is_not_32_bytes_is_a_bad_key() {
        let random = CountingRandom::default();
        for len in [0, 16, 24, 31, 33, 64] {
            let key = vec![7u8; len];
            assert_eq!(
                seal(&key, TEXT, AAD, &random),
                Err(EnvelopeError::BadKey),
                "{len}"
            );
            assert_eq!(
                open(&key, &sealed(), AAD),
                Err(EnvelopeError::BadKey),
                "{len}"
            );
        }
    }

    #[test]
    fn wrong_key_does_not_open() {
        let mut other = KEY;
        other[0] ^= 1;
        assert_eq!(open(&other, &sealed(), AAD), Err(EnvelopeError::Tampered));
    }

    #[test]
    fn content_of_another_message_or_clinic_does_not_open() {
        let sealed = sealed();
        for aad in [
            &b"clinic-1/message-8"[..],
            b"clinic-2/message-9",
            b"",
            b"clinic-1/message-9 ",
        ] {
            assert_eq!(open(&KEY, &sealed, aad), Err(EnvelopeError::Tampered));
        }
    }

    #[test]
    fn any_flipped_ciphertext_bit_is_detected() {
        let sealed = sealed();
        for byte in 0..sealed.ciphertext.len() {
            for bit in [0, 7] {
                let mut altered = sealed.clone();
                altered.ciphertext[byte] ^= 1 << bit;
                assert_eq!(
                    open(&KEY, &altered, AAD),
                    Err(EnvelopeError::Tampered),
                    "byte {byte} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn altered_or_truncated_nonce_or_ciphertext_is_detected() {
        let mut flipped_nonce = sealed();
        flipped_nonce.nonce[11] ^= 0x80;
        assert_eq!(
            open(&KEY, &flipped_nonce, AAD),
            Err(EnvelopeError::Tampered)
        );

        let mut short_nonce = sealed();
        short_nonce.nonce.pop();
        assert_eq!(open(&KEY, &short_nonce, AAD), Err(EnvelopeError::Tampered));

        let mut short_ciphertext = sealed();
        short_ciphertext.ciphertext.truncate(10);
        assert_eq!(
            open(&KEY, &short_ciphertext, AAD),
            Err(EnvelopeError::Tampered)
        );

        let mut no_ciphertext = sealed();
        no_ciphertext.ciphertext.clear();
        assert_eq!(
            open(&KEY, &no_ciphertext, AAD),
            Err(EnvelopeError::Tampered)
        );
    }

    #[test]
    fn debug_output_shows_sizes_only() {
        let sealed = seal(&KEY, TEXT, AAD, &ZeroRandom).expect("seals");
        assert_eq!(
            format!("{sealed:?}"),
            format!(
                "SealedContent {{ nonce_bytes: 12, ciphertext_bytes: {} }}",
                TEXT.len() + 16
            )
        );
    }
}
