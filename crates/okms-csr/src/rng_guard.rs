//! A health check on the random numbers key generation draws, after the continuous tests of
//! FIPS 140 and SP 800-90B: a generator that repeats itself or returns one byte value over and
//! over is broken, and a key made from it is predictable. Without this check the curve crates
//! would loop forever on an all-zero generator (a zero scalar is rejected and drawn again),
//! and RSA would search primes from the same start again and again.

use rand_core::{TryCryptoRng, TryRng};
use std::fmt;

/// A block of this many bytes is long enough that a working generator repeats it, or fills it
/// with one value, with probability at most 2^-120: never, in practice.
const BLOCK: usize = 16;

/// Far more draws than any key generation makes (RSA-4096 makes a few hundred; ECDSA
/// usually one, and a P-521 scalar is rejected and drawn again with probability 1/128).
const MAX_DRAWS: u32 = 1_000_000;

/// Why the guarded generator stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RngFailure {
    /// The generator itself reported an error.
    Source(String),
    /// The generator returned a block that was all one byte value, or the same block twice.
    Stuck,
    /// More draws than any key generation needs: the crate keeps rejecting what it gets (a
    /// biased generator), which would otherwise never end.
    TooManyDraws,
}

impl fmt::Display for RngFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RngFailure::Source(e) => write!(f, "the random number generator failed: {e}"),
            RngFailure::Stuck => f.write_str(
                "the random number generator is broken: it returned the same bytes twice or \
                 one byte value over and over; no key was made from it",
            ),
            RngFailure::TooManyDraws => write!(
                f,
                "the random number generator is broken: {MAX_DRAWS} draws were not enough to \
                 make one key (its output keeps being rejected); no key was made from it"
            ),
        }
    }
}

impl std::error::Error for RngFailure {}

/// Wraps the generator key generation draws from; see the module documentation.
pub(crate) struct GuardedRng<'a, R: ?Sized> {
    inner: &'a mut R,
    /// The last block seen, to catch a generator that repeats itself.
    last: Option<[u8; BLOCK]>,
    draws: u32,
    /// Consecutive identical bytes across small draws (`next_u32`/`next_u64`).
    repeated: usize,
    last_word: Option<u64>,
    /// The first failure, kept for the error message (the crates map it to their own errors).
    pub(crate) failure: Option<RngFailure>,
}

impl<'a, R: TryRng + ?Sized> GuardedRng<'a, R>
where
    R::Error: fmt::Display,
{
    /// Draws one block that is never used, only compared with the next (as FIPS 140's
    /// continuous test does): a generator stuck on one random-looking sequence is caught at
    /// the first draw of the key, not after a predictable key was already made from it.
    pub(crate) fn new(inner: &'a mut R) -> Self {
        let mut rng = GuardedRng {
            inner,
            last: None,
            draws: 0,
            repeated: 0,
            last_word: None,
            failure: None,
        };
        let mut first = [0u8; BLOCK];
        // A failure is kept in `failure` and reported after the key generation that follows.
        let _ = rng.try_fill_bytes(&mut first);
        rng
    }

    /// One draw from the source: its error kept as the failure, and counted.
    fn draw<T>(
        &mut self,
        from: impl FnOnce(&mut R) -> Result<T, R::Error>,
    ) -> Result<T, RngFailure> {
        let value = from(self.inner).map_err(|e| self.fail(RngFailure::Source(e.to_string())))?;
        self.count_draw()?;
        Ok(value)
    }
}

impl<R: ?Sized> GuardedRng<'_, R> {
    fn fail(&mut self, failure: RngFailure) -> RngFailure {
        self.failure.get_or_insert(failure).clone()
    }

    fn count_draw(&mut self) -> Result<(), RngFailure> {
        self.draws += 1;
        if self.draws > MAX_DRAWS {
            return Err(self.fail(RngFailure::TooManyDraws));
        }
        Ok(())
    }

    /// Every whole block of a draw: not one byte value, not the block before it (within the
    /// draw or across draws). A generator that fills only the start of a buffer is caught too.
    fn check_blocks(&mut self, bytes: &[u8]) -> Result<(), RngFailure> {
        for block in bytes.chunks_exact(BLOCK) {
            let mut current = [0u8; BLOCK];
            current.copy_from_slice(block);
            if block.iter().all(|&b| b == block[0]) || self.last == Some(current) {
                return Err(self.fail(RngFailure::Stuck));
            }
            self.last = Some(current);
        }
        Ok(())
    }

    fn check_word(&mut self, word: u64, len: usize) -> Result<(), RngFailure> {
        if self.last_word == Some(word) {
            self.repeated += len;
        } else {
            self.repeated = 0;
        }
        self.last_word = Some(word);
        if self.repeated >= BLOCK {
            return Err(self.fail(RngFailure::Stuck));
        }
        Ok(())
    }
}

impl<R: TryRng + ?Sized> TryRng for GuardedRng<'_, R>
where
    R::Error: fmt::Display,
{
    type Error = RngFailure;

    fn try_next_u32(&mut self) -> Result<u32, RngFailure> {
        let v = self.draw(R::try_next_u32)?;
        self.check_word(u64::from(v), 4)?;
        Ok(v)
    }

    fn try_next_u64(&mut self) -> Result<u64, RngFailure> {
        let v = self.draw(R::try_next_u64)?;
        self.check_word(v, 8)?;
        Ok(v)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), RngFailure> {
        self.draw(|inner| inner.try_fill_bytes(dst))?;
        self.check_blocks(dst)
    }
}

impl<R: TryCryptoRng + ?Sized> TryCryptoRng for GuardedRng<'_, R> where R::Error: fmt::Display {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Counts up from a start: never repeats, never one value.
    struct Counter(u64);
    impl TryRng for Counter {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(self.try_next_u64()? as u32)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            Ok(self.0)
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            for chunk in dst.chunks_mut(8) {
                let v = self.try_next_u64()?.to_le_bytes();
                chunk.copy_from_slice(&v[..chunk.len()]);
            }
            Ok(())
        }
    }

    #[test]
    fn a_working_generator_passes() {
        let mut source = Counter(1);
        let mut rng = GuardedRng::new(&mut source);
        let mut buf = [0u8; 64];
        for _ in 0..1000 {
            rng.try_fill_bytes(&mut buf).unwrap();
            rng.try_next_u32().unwrap();
            rng.try_next_u64().unwrap();
        }
        assert_eq!(rng.failure, None);
    }

    #[test]
    fn short_draws_are_not_judged_alone() {
        // Two equal 4-byte draws happen to working generators (2^-32); only a long run counts.
        struct Twice(u32, bool);
        impl TryRng for Twice {
            type Error = core::convert::Infallible;
            fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
                self.1 = !self.1;
                if self.1 {
                    self.0 += 1;
                }
                Ok(self.0)
            }
            fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
                Ok(u64::from(self.try_next_u32()?))
            }
            fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Self::Error> {
                Ok(())
            }
        }
        let mut source = Twice(0, false);
        let mut rng = GuardedRng::new(&mut source);
        for _ in 0..100 {
            rng.try_next_u32().unwrap();
        }
    }
}
