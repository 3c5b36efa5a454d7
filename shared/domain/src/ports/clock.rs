//! The current time, injected so that expiry, lockout and TTL can be tested.

use jiff::Timestamp;

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}
