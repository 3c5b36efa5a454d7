//! Predictable "randomness": each call fills with the next counter value.

use std::sync::atomic::{AtomicU8, Ordering};

use crate::random::RandomSource;

#[derive(Debug, Default)]
pub struct CountingRandom(AtomicU8);

impl RandomSource for CountingRandom {
    fn fill(&self, buffer: &mut [u8]) {
        let value = self.0.fetch_add(1, Ordering::SeqCst).wrapping_add(1);
        buffer.fill(value);
    }
}
