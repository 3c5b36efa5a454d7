//! The unlock token in a secure message's link: random, shown only in the SMS, stored only as a hash.

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::random::RandomSource;

/// Random bytes in a token: 256 bits, far beyond guessing even without the PHN check.
pub const LINK_TOKEN_BYTES: usize = 32;
/// Characters of a token: 32 bytes in unpadded URL-safe base64.
pub const LINK_TOKEN_CHARS: usize = 43;
/// Characters of a token hash: SHA-256 in hex.
const TOKEN_HASH_CHARS: usize = 64;

/// A secure message's unlock token, as it appears in the link.
///
/// Whoever has it can try PHNs against the message, so it is a secret: `Debug` is redacted
/// and there is deliberately no `Display`; only [`LinkToken::hash`] is stored or logged.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken(String);

/// Why a string is not an unlock token. Messages never repeat the input.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LinkTokenError {
    #[error(
        "an unlock link ends in a 43-character code, this one has {chars}; \
         open the link from the text message again, or copy all of it"
    )]
    WrongLength { chars: usize },
    #[error(
        "an unlock link's code has only letters, digits, '-' and '_'; \
         open the link from the text message again"
    )]
    InvalidCharacter,
    #[error(
        "this unlock link's code was not issued by us; open the link from the text message again"
    )]
    NotCanonical,
}

impl LinkToken {
    /// A new token from 32 bytes of `random`.
    pub fn generate(random: &dyn RandomSource) -> LinkToken {
        let mut bytes = [0u8; LINK_TOKEN_BYTES];
        random.fill(&mut bytes);
        LinkToken(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Reads a token from an unlock link. Only strings that [`LinkToken::generate`] can
    /// produce are accepted: exactly 43 characters of the URL-safe base64 alphabet, whose
    /// last character carries no stray bits.
    pub fn parse(input: &str) -> Result<LinkToken, LinkTokenError> {
        if input.len() != LINK_TOKEN_CHARS {
            // Counted in characters for the message; capped so that a huge input costs little.
            let chars = input.chars().take(10 * LINK_TOKEN_CHARS).count();
            return Err(LinkTokenError::WrongLength { chars });
        }
        if !input
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(LinkTokenError::InvalidCharacter);
        }
        // The 43rd character holds 4 data bits and 2 padding bits; the decoder refuses
        // set padding bits, so two spellings of the same bytes cannot both be accepted.
        match URL_SAFE_NO_PAD.decode(input) {
            Ok(bytes) if bytes.len() == LINK_TOKEN_BYTES => Ok(LinkToken(input.to_owned())),
            _ => Err(LinkTokenError::NotCanonical),
        }
    }

    /// The token as it appears in the link.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of the token's text, which is what is stored: a leaked table does not
    /// reveal working links.
    pub fn hash(&self) -> TokenHash {
        TokenHash(hex::encode(Sha256::digest(self.0.as_bytes())))
    }
}

impl fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkToken(<redacted>)")
    }
}

/// The stored form of a [`LinkToken`]: its SHA-256 as 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TokenHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        let well_formed = raw.len() == TOKEN_HASH_CHARS
            && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if well_formed {
            Ok(TokenHash(raw))
        } else {
            Err(serde::de::Error::custom(
                "a token hash is 64 lowercase hex digits",
            ))
        }
    }
}

/// The link sent to the patient: `{base}/m/{token}`. A trailing `/` on `base` is dropped
/// so that a configured `https://example.org/` does not produce `//m/`.
pub fn unlock_url(base: &str, token: &LinkToken) -> String {
    link_with(base, token.as_str())
}

/// An unlock link as long as a real one, with `x`s for its token: what a preview shows.
pub fn preview_unlock_url(base: &str) -> String {
    link_with(base, &"x".repeat(LINK_TOKEN_CHARS))
}

fn link_with(base: &str, token: &str) -> String {
    format!("{}/m/{token}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::fakes::CountingRandom;

    /// Gives back fixed bytes and records how many were asked for.
    struct FixedRandom {
        byte: u8,
        requests: Mutex<Vec<usize>>,
    }

    impl FixedRandom {
        fn new(byte: u8) -> Self {
            Self {
                byte,
                requests: Mutex::new(Vec::new()),
            }
        }
    }

    impl RandomSource for FixedRandom {
        fn fill(&self, buffer: &mut [u8]) {
            self.requests.lock().expect("lock").push(buffer.len());
            buffer.fill(self.byte);
        }
    }

    const ONES: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";

    #[test]
    fn token_is_256_random_bits_from_the_random_source() {
        let random = FixedRandom::new(1);
        let token = LinkToken::generate(&random);
        assert_eq!(*random.requests.lock().expect("lock"), vec![32]);
        assert_eq!(token.as_str(), ONES);
        let decoded = URL_SAFE_NO_PAD.decode(token.as_str()).expect("base64");
        assert_eq!(decoded, vec![1u8; 32]);
    }

    #[test]
    fn token_is_43_url_safe_characters_without_padding() {
        for byte in [0x00, 0xfb, 0xff] {
            let token = LinkToken::generate(&FixedRandom::new(byte));
            assert_eq!(token.as_str().len(), LINK_TOKEN_CHARS);
            assert!(
                token
                    .as_str()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{}",
                token.as_str()
            );
        }
        // 0xfb 0xff … uses both URL-safe characters, where standard base64 has '+' and '/'.
        let token = LinkToken::generate(&FixedRandom::new(0xfb));
        assert!(token.as_str().contains('-') || token.as_str().contains('_'));
    }

    #[test]
    fn successive_tokens_differ() {
        let random = CountingRandom::default();
        let first = LinkToken::generate(&random);
        let second = LinkToken::generate(&random);
        assert_ne!(first, second);
        assert_ne!(first.hash(), second.hash());
    }

    #[test]
    fn generated_tokens_parse_back() {
        for byte in [0x00, 0x01, 0x7f, 0xfb, 0xff] {
            let token = LinkToken::generate(&FixedRandom::new(byte));
            assert_eq!(LinkToken::parse(token.as_str()), Ok(token));
        }
    }

    #[test]
    fn token_of_wrong_length_is_rejected() {
        assert_eq!(
            LinkToken::parse(""),
            Err(LinkTokenError::WrongLength { chars: 0 })
        );
        assert_eq!(
            LinkToken::parse(&ONES[..42]),
            Err(LinkTokenError::WrongLength { chars: 42 })
        );
        assert_eq!(
            LinkToken::parse(&format!("{ONES}A")),
            Err(LinkTokenError::WrongLength { chars: 44 })
        );
        // Padded base64 of the same bytes is one character too long.
        assert_eq!(
            LinkToken::parse(&format!("{ONES}=")),
            Err(LinkTokenError::WrongLength { chars: 44 })
        );
        // The length in the message is in characters, not bytes.
        assert_eq!(
            LinkToken::parse(&format!("é{}", &ONES[..43])),
            Err(LinkTokenError::WrongLength { chars: 44 })
        );
    }

    #[test]
    fn token_with_characters_outside_url_safe_base64_is_rejected() {
        for bad in ['+', '/', '=', ' ', '.', '%'] {
            let input = format!("{}{bad}", &ONES[..42]);
            assert_eq!(
                LinkToken::parse(&input),
                Err(LinkTokenError::InvalidCharacter),
                "{input}"
            );
        }
        // 43 bytes, but a two-byte character among them.
        let non_ascii = format!("é{}", &ONES[..41]);
        assert_eq!(non_ascii.len(), 43);
        assert_eq!(
            LinkToken::parse(&non_ascii),
            Err(LinkTokenError::InvalidCharacter)
        );
    }

    #[test]
    fn token_whose_last_character_has_stray_bits_is_rejected() {
        // "…AQE" and "…AQF" decode to the same 32 bytes; only the first is generated.
        let stray = format!("{}F", &ONES[..42]);
        assert_eq!(LinkToken::parse(&stray), Err(LinkTokenError::NotCanonical));
    }

    #[test]
    fn errors_do_not_repeat_the_input() {
        let inputs = [
            format!("{}+", &ONES[..42]),
            format!("{}F", &ONES[..42]),
            format!("{ONES}AQEB"),
        ];
        for input in inputs {
            let message = LinkToken::parse(&input).expect_err("invalid").to_string();
            assert!(!message.contains("AQEB"), "{message}");
        }
    }

    #[test]
    fn debug_output_does_not_contain_the_token() {
        let token = LinkToken::generate(&FixedRandom::new(1));
        let debug = format!("{token:?}");
        assert_eq!(debug, "LinkToken(<redacted>)");
        assert!(!debug.contains("AQEB"));
    }

    #[test]
    fn hash_is_lowercase_hex_sha256_of_the_token_text() {
        let token = LinkToken::parse(ONES).expect("valid");
        let hash = token.hash();
        assert_eq!(
            hash.as_str(),
            "56d5fa7333f6d747db42c239407e5da4c32f4c79f35d092b134fd35a402d9c5c"
        );
        assert_eq!(hash.to_string(), hash.as_str());
        assert_eq!(LinkToken::parse(ONES).expect("valid").hash(), hash);
    }

    #[test]
    fn hash_serialises_as_its_string_and_deserialising_checks_the_shape() {
        let hash = LinkToken::parse(ONES).expect("valid").hash();
        let json = serde_json::to_string(&hash).expect("serialize");
        assert_eq!(json, format!("\"{}\"", hash.as_str()));
        assert_eq!(
            serde_json::from_str::<TokenHash>(&json).expect("deserialize"),
            hash
        );
        for bad in [
            "\"\"",
            "\"abc\"",
            "\"56D5FA7333F6D747DB42C239407E5DA4C32F4C79F35D092B134FD35A402D9C5C\"",
            "\"56d5fa7333f6d747db42c239407e5da4c32f4c79f35d092b134fd35a402d9c5g\"",
        ] {
            assert!(serde_json::from_str::<TokenHash>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unlock_url_puts_the_token_under_m() {
        let token = LinkToken::parse(ONES).expect("valid");
        assert_eq!(
            unlock_url("https://msg.example.org", &token),
            format!("https://msg.example.org/m/{ONES}")
        );
        assert_eq!(
            unlock_url("https://msg.example.org/", &token),
            format!("https://msg.example.org/m/{ONES}")
        );
        assert_eq!(
            unlock_url("http://localhost:3000/unlock", &token),
            format!("http://localhost:3000/unlock/m/{ONES}")
        );
    }
}
