//! The distance to Telegram and its bad days: RTT samples with jitter, and injected faults.
//!
//! Where an RTT sample is spent (see the crate docs): an ordinary call's answer is held one
//! sample; a held getUpdates woken by an update answers half a sample after the wake; a
//! webhook POST starts half a sample after its update is due; a method call in a webhook
//! response runs half a sample after the response. So one echo costs 1.5 RTT by polling or
//! webhook, 1 RTT by webhook reply-in-response.

use std::time::Duration;

use rand::Rng;

/// A fault to inject; takes effect at once ([`Mock::set_fault`](crate::Mock::set_fault)).
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Telegram works.
    None,
    /// Every Bot API call answers 502 Bad Gateway; webhook deliveries wait (stay pending).
    Outage,
    /// A share `rate` of Bot API calls answer 500 or 429 (half each, 429 with retry_after 1).
    Errors { rate: f64 },
    /// `delay` added to every answer and every delivery.
    Slow { delay: Duration },
}

/// What a fault does to one Bot API call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultEffect {
    Pass,
    BadGateway,
    Internal,
    TooManyRequests,
}

impl Fault {
    /// Rolls the dice for one call.
    pub fn effect(&self) -> FaultEffect {
        match self {
            Fault::None | Fault::Slow { .. } => FaultEffect::Pass,
            Fault::Outage => FaultEffect::BadGateway,
            Fault::Errors { rate } => {
                let mut rng = rand::thread_rng();
                if rng.r#gen::<f64>() >= *rate {
                    FaultEffect::Pass
                } else if rng.r#gen::<bool>() {
                    FaultEffect::Internal
                } else {
                    FaultEffect::TooManyRequests
                }
            }
        }
    }

    /// The delay this fault adds to an answer or a delivery.
    pub fn extra_delay(&self) -> Duration {
        match self {
            Fault::Slow { delay } => *delay,
            _ => Duration::ZERO,
        }
    }
}

/// The emulated round trip: `rtt` +/- uniform `jitter`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Distance {
    pub rtt: Duration,
    pub jitter: Duration,
}

impl Distance {
    /// Whether there is any distance at all (no sleeping, no RNG when not).
    pub fn is_zero(&self) -> bool {
        self.rtt.is_zero() && self.jitter.is_zero()
    }

    /// One RTT sample, never negative.
    pub fn sample(&self) -> Duration {
        if self.jitter.is_zero() {
            return self.rtt;
        }
        let j = self.jitter.as_secs_f64();
        let offset = rand::thread_rng().gen_range(-j..=j);
        Duration::from_secs_f64((self.rtt.as_secs_f64() + offset).max(0.0))
    }

    /// Half an RTT sample.
    pub fn half(&self) -> Duration {
        self.sample() / 2
    }
}

/// Sleeps `d`, skipping the timer when it is zero.
pub async fn pause(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_stay_within_jitter_and_never_go_negative() {
        let d = Distance {
            rtt: Duration::from_millis(10),
            jitter: Duration::from_millis(30),
        };
        for _ in 0..1000 {
            assert!(d.sample() <= Duration::from_millis(40));
        }
        let fixed = Distance {
            rtt: Duration::from_millis(10),
            jitter: Duration::ZERO,
        };
        assert_eq!(fixed.sample(), Duration::from_millis(10));
        assert_eq!(fixed.half(), Duration::from_millis(5));
    }

    #[test]
    fn error_fault_splits_between_500_and_429() {
        let f = Fault::Errors { rate: 1.0 };
        let effects: Vec<_> = (0..200).map(|_| f.effect()).collect();
        assert!(effects.contains(&FaultEffect::Internal));
        assert!(effects.contains(&FaultEffect::TooManyRequests));
        assert!(!effects.contains(&FaultEffect::Pass));
        assert_eq!(Fault::Errors { rate: 0.0 }.effect(), FaultEffect::Pass);
    }
}
