//! In-memory adapters for fast unit tests of the rules. Never used by the Lambdas.

mod admin;
mod blob;
mod clock;
mod keys;
mod random;
pub mod records;
mod sms;
mod store;

pub use blob::MemoryBlobStore;
pub use clock::FixedClock;
pub use keys::{FakeKeyService, test_clinic_key, test_keyring, wrapped_test_root};
pub use random::CountingRandom;
pub use sms::RecordingSmsSender;
pub use store::MemoryStore;
