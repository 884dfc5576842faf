//! Telegram's message rate limits as token buckets: about 30 messages/s per bot, 1/s per chat
//! (with a short burst, as Telegram tolerates in private chats), 20 a minute per group.

use crate::types::is_group;

use std::time::{Duration, Instant};

/// Messages per second a bot may send overall.
pub const PER_BOT_RATE: f64 = 30.0;
/// Burst a bot may send at once.
pub const PER_BOT_BURST: f64 = 30.0;
/// Messages per second a bot may send to one chat.
pub const PER_CHAT_RATE: f64 = 1.0;
/// Burst a bot may send to one chat at once.
pub const PER_CHAT_BURST: f64 = 3.0;
/// Messages per second a bot may send to one group (Telegram's FAQ: "no more than 20
/// messages per minute to the same group").
pub const PER_GROUP_RATE: f64 = 20.0 / 60.0;
/// Burst a bot may send to one group at once: the minute's 20.
pub const PER_GROUP_BURST: f64 = 20.0;

/// A token bucket.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64, now: Instant) -> Self {
        TokenBucket {
            tokens: burst,
            rate,
            burst,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
    }

    /// Whether a token is there now (without taking it); else how long until one is.
    pub fn check(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }

    /// Takes one token (call after [`check`](Self::check) succeeded).
    pub fn take(&mut self) {
        self.tokens -= 1.0;
    }

    /// Whether the bucket is full, i.e. forgetting it changes nothing.
    pub fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.burst
    }
}

/// The full bucket of the bot's messages to chat `chat_id`: a group's or a private chat's.
pub fn chat_bucket(chat_id: i64, now: Instant) -> TokenBucket {
    if is_group(chat_id) {
        TokenBucket::new(PER_GROUP_RATE, PER_GROUP_BURST, now)
    } else {
        TokenBucket::new(PER_CHAT_RATE, PER_CHAT_BURST, now)
    }
}

/// Telegram's `retry after S`: whole seconds, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs_f64().ceil() as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills_at_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1.0, 3.0, t0);
        for _ in 0..3 {
            b.check(t0).unwrap();
            b.take();
        }
        let wait = b.check(t0).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1));
        assert_eq!(retry_after_secs(wait), 1);
        assert!(b.check(t0 + Duration::from_secs(1)).is_ok());
        assert!(b.is_full(t0 + Duration::from_secs(10)));
    }

    #[test]
    fn a_group_takes_twenty_then_one_every_three_seconds() {
        let t0 = Instant::now();
        let mut g = chat_bucket(-5, t0);
        for _ in 0..20 {
            g.check(t0).unwrap();
            g.take();
        }
        let wait = g.check(t0).unwrap_err();
        assert_eq!(retry_after_secs(wait), 3);
        assert!(g.check(t0 + Duration::from_secs(3)).is_ok());
        let mut private = chat_bucket(5, t0);
        for _ in 0..3 {
            private.take();
        }
        assert_eq!(retry_after_secs(private.check(t0).unwrap_err()), 1);
    }
}
