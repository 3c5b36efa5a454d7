//! The real clock and the operating system's CSPRNG.

use jiff::Timestamp;

use domain::{ports::Clock, random::RandomSource};

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, buffer: &mut [u8]) {
        // Without the OS's randomness no token or id would be safe: stop rather than go on.
        getrandom::fill(buffer).expect("the operating system's random source is unavailable");
    }
}

#[cfg(test)]
mod tests {
    use domain::random;

    use super::*;

    #[test]
    fn os_random_gives_different_bytes_each_time() {
        let a: [u8; 16] = random::bytes(&OsRandom);
        let b: [u8; 16] = random::bytes(&OsRandom);
        assert_ne!(a, b);
    }
}
