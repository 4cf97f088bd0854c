//! The injected source of randomness. Secrets and identifiers draw from a `&dyn Random`.

use std::sync::Mutex;

use rand::{Rng as _, SeedableRng, rngs::StdRng};

/// A cryptographically secure random source.
pub trait Random: Send + Sync + 'static {
    fn fill(&self, dest: &mut [u8]);
}

/// The operating system's generator (through ring).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRandom;

impl Random for SystemRandom {
    fn fill(&self, dest: &mut [u8]) {
        use ring::rand::SecureRandom;
        // ring's SystemRandom only fails when the kernel has no entropy source at all, a state
        // in which no secret may be produced; stopping the process is the only safe answer.
        #[expect(
            clippy::expect_used,
            reason = "no entropy means no safe way to continue"
        )]
        ring::rand::SystemRandom::new()
            .fill(dest)
            .expect("the operating system's random source failed");
    }
}

/// A seeded generator for deterministic tests. Never used outside tests.
#[derive(Debug)]
pub struct SeededRandom(Mutex<StdRng>);

impl SeededRandom {
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(StdRng::seed_from_u64(seed)))
    }
}

impl Random for SeededRandom {
    fn fill(&self, dest: &mut [u8]) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .fill_bytes(dest);
    }
}
