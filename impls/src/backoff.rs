//! Exponential back-off with jitter, as a pure function of the attempt number.
//!
//! The n-th retry (n = 0, 1, …) waits between half and all of `min(cap, base · 2ⁿ)`
//! ("equal jitter"): the random half spreads thousands of bots that failed together, the fixed
//! half keeps a floor under every wait, so a client in a long outage makes at most one request
//! per `cap / 2` — it never spins.

use std::time::Duration;

use rand::Rng;

/// Back-off settings: the first ceiling and the largest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    /// 500 ms doubling up to 30 s.
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// `min(cap, base · 2ⁿ)`: the longest wait before retry `n`.
    pub fn ceiling(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The wait before retry `n`: uniform in `[ceiling/2, ceiling]`.
    pub fn delay(&self, n: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(n);
        let half = ceiling / 2;
        let spread = (ceiling - half).as_nanos() as u64;
        half + Duration::from_nanos(if spread == 0 {
            0
        } else {
            rng.gen_range(0..=spread)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::SmallRng};

    const B: Backoff = Backoff {
        base: Duration::from_millis(100),
        cap: Duration::from_secs(2),
    };

    #[test]
    fn ceiling_doubles_up_to_the_cap() {
        let ms: Vec<u128> = (0..8).map(|n| B.ceiling(n).as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1600, 2000, 2000, 2000]);
        assert_eq!(
            B.ceiling(1000),
            B.cap,
            "huge attempt numbers do not overflow"
        );
    }

    #[test]
    fn delay_stays_between_half_and_all_of_the_ceiling_and_varies() {
        let mut rng = SmallRng::seed_from_u64(1);
        for n in 0..12 {
            let c = B.ceiling(n);
            let ds: Vec<Duration> = (0..200).map(|_| B.delay(n, &mut rng)).collect();
            assert!(ds.iter().all(|d| *d >= c / 2 && *d <= c), "attempt {n}");
            let distinct: std::collections::HashSet<_> = ds.iter().collect();
            assert!(
                distinct.len() > 50,
                "jitter spreads the waits (attempt {n})"
            );
        }
    }

    #[test]
    fn zero_base_means_no_wait() {
        let b = Backoff {
            base: Duration::ZERO,
            cap: Duration::ZERO,
        };
        assert_eq!(b.delay(3, &mut rand::thread_rng()), Duration::ZERO);
    }
}
