//! Randomness for ids and link tokens, injected so that tests can fix it.

pub trait RandomSource: Send + Sync {
    /// Fills `buffer` from a cryptographically secure source.
    fn fill(&self, buffer: &mut [u8]);

    fn bytes<const N: usize>(&self) -> [u8; N]
    where
        Self: Sized,
    {
        let mut buffer = [0u8; N];
        self.fill(&mut buffer);
        buffer
    }
}
