//! Settings of a [`Mock`](crate::Mock): how many bots, the seed of their tokens, the emulated
//! network distance, which of Telegram's limits apply, and the webhook retry schedule.

use std::time::Duration;

use rand::Rng;

/// How long Telegram keeps an update that was not handed over: a day after its message's
/// date (`Client::process_new_message_queue`, `left_time = message_date + 86400 - now`).
pub const UPDATE_EXPIRY: Duration = Duration::from_secs(86_400);

/// Everything a [`Mock`](crate::Mock) is built from. `MockConfig::default()` is one bot that
/// behaves like Telegram on a zero-latency network.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// How many bots exist (ids and tokens are derived from `seed` and the bot's index).
    pub bots: usize,
    /// Seed of the tokens: the same seed gives the same tokens.
    pub seed: u64,
    /// Emulated Telegram <-> bot round trip (see the crate docs for where it is spent).
    pub rtt: Duration,
    /// Uniform +/- jitter on each RTT sample (a sample is never negative).
    pub jitter: Duration,
    /// About 30 messages/s per bot and 1/s per chat, else 429 (Telegram's FAQ).
    pub rate_limits: bool,
    /// Telegram's getUpdates rules against spinning on the same offset.
    pub anti_spin: bool,
    /// A long poll woken by an update waits for more (1 ms after each, 2 ms at most), as
    /// Telegram batches them (`Client::long_poll_wakeup`).
    pub poll_batching: bool,
    /// Telegram's webhook slow start: after 10 s without a success one connection, one more
    /// per 2 s, until a POST succeeds ([`crate::webhook_connections`]). Off: always
    /// `max_connections`.
    pub webhook_ramp: bool,
    /// An update not handed over this long after it was sent is dropped (Telegram: 24 h).
    pub update_expiry: Duration,
    /// When a failed webhook delivery is tried again.
    pub retry: RetrySchedule,
    /// How long a webhook POST may take before it counts as failed.
    pub webhook_timeout: Duration,
    /// Unconfirmed updates kept per bot; the oldest are dropped beyond it (Telegram keeps 24 h).
    pub max_pending_per_bot: usize,
    /// When set, every `/_mock/*` request must carry it (`Authorization: Bearer T` or `?token=T`).
    pub control_token: Option<String>,
    /// setWebhook refuses URLs on ports other than 443, 80, 88 and 8443, as Telegram does
    /// (off by default: tests and the harness listen on free loopback ports).
    pub enforce_webhook_ports: bool,
    /// A CA certificate (PEM) webhook endpoints' certificates are checked against, beside the
    /// built-in roots, as Telegram checks them; a webhook set with an uploaded `certificate`
    /// is not checked (Telegram trusts the uploaded one). None: any certificate is accepted.
    pub webhook_ca_pem: Option<String>,
    /// Networks beside loopback that setWebhook accepts URLs on (`198.18.0.0/15` for a
    /// benchmark network across hosts). Empty: loopback only, so deliveries never leave
    /// this machine unless asked to.
    pub webhook_hosts: Vec<ipnet::IpNet>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            bots: 1,
            seed: 0,
            rtt: Duration::ZERO,
            jitter: Duration::ZERO,
            rate_limits: true,
            anti_spin: true,
            poll_batching: true,
            webhook_ramp: true,
            update_expiry: UPDATE_EXPIRY,
            retry: RetrySchedule::telegram(),
            webhook_timeout: Duration::from_secs(60),
            max_pending_per_bot: 100_000,
            control_token: None,
            enforce_webhook_ports: false,
            webhook_ca_pem: None,
            webhook_hosts: Vec::new(),
        }
    }
}

/// When Telegram tries a failed webhook delivery again: `delays[n]` after the (n+1)-th
/// consecutive failure, then a uniform pick in `then_min..=then_max` for every later one.
#[derive(Clone, Debug, PartialEq)]
pub struct RetrySchedule {
    /// Waits after the 1st, 2nd, ... consecutive failure.
    pub delays: Vec<Duration>,
    /// Lower bound of the wait once `delays` is used up.
    pub then_min: Duration,
    /// Upper bound of the wait once `delays` is used up.
    pub then_max: Duration,
}

impl RetrySchedule {
    /// Telegram's schedule: at once, then after 2, 4, 8, 16, 32, 64 s, then every 60-120 s.
    pub fn telegram() -> Self {
        RetrySchedule {
            delays: [0, 2, 4, 8, 16, 32, 64].map(Duration::from_secs).to_vec(),
            then_min: Duration::from_secs(60),
            then_max: Duration::from_secs(120),
        }
    }

    /// Telegram's schedule with every delay multiplied by `factor` (0.001 turns 64 s into
    /// 64 ms), for tests and scenarios that cannot wait minutes.
    pub fn compressed(factor: f64) -> Self {
        let factor = if factor.is_finite() && factor >= 0.0 {
            factor
        } else {
            1.0
        };
        let t = Self::telegram();
        RetrySchedule {
            delays: t.delays.iter().map(|d| d.mul_f64(factor)).collect(),
            then_min: t.then_min.mul_f64(factor),
            then_max: t.then_max.mul_f64(factor),
        }
    }

    /// The wait after the `failures`-th consecutive failure (1-based).
    pub fn delay_after(&self, failures: u32) -> Duration {
        let index = failures.saturating_sub(1) as usize;
        if let Some(d) = self.delays.get(index) {
            return *d;
        }
        if self.then_max <= self.then_min {
            return self.then_min;
        }
        rand::thread_rng().gen_range(self.then_min..=self.then_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegram_schedule_doubles_then_wanders_between_one_and_two_minutes() {
        let s = RetrySchedule::telegram();
        assert_eq!(s.delay_after(1), Duration::ZERO);
        assert_eq!(s.delay_after(2), Duration::from_secs(2));
        assert_eq!(s.delay_after(7), Duration::from_secs(64));
        for _ in 0..50 {
            let d = s.delay_after(8);
            assert!(
                d >= Duration::from_secs(60) && d <= Duration::from_secs(120),
                "{d:?}"
            );
        }
    }

    #[test]
    fn compressed_schedule_scales_every_delay() {
        let s = RetrySchedule::compressed(0.001);
        assert_eq!(s.delay_after(2), Duration::from_millis(2));
        assert_eq!(s.delay_after(7), Duration::from_millis(64));
        assert_eq!(s.then_max, Duration::from_millis(120));
    }
}
