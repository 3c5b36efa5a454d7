//! Randomness for ids, link tokens and nonces: a small trait of the values layer, injected
//! so that tests can fix it.

pub trait RandomSource: Send + Sync {
    /// Fills `buffer` from a cryptographically secure source.
    fn fill(&self, buffer: &mut [u8]);
}

/// `N` bytes from `random`.
pub fn bytes<const N: usize>(random: &(impl RandomSource + ?Sized)) -> [u8; N] {
    let mut buffer = [0u8; N];
    random.fill(&mut buffer);
    buffer
}
