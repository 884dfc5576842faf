//! Billing as AWS Lambda bills, in usage: requests, billed duration per invocation rounded
//! up to 1 ms, the init phase billed too (AWS bills INIT for every runtime since August
//! 2025; custom runtimes always were), and GB-seconds at the configured memory.
//!
//! The platform counts usage, never money: the prices (x86_64 and arm64 GB-second rates,
//! the per-request fee, the front door's fee) are stated assumptions in tgbench's price
//! file (`reports/prices.toml`, `[serverless]`), and tgbench turns this usage into dollars
//! (`tgbench_reports::cost`).

use serde::{Deserialize, Serialize};

/// Billed milliseconds of a duration: rounded up to the next whole millisecond, at least 1.
pub fn billed_ms(duration: std::time::Duration) -> u64 {
    let micros = duration.as_micros() as u64;
    micros.div_ceil(1000).max(1)
}

/// What the platform would bill, in units AWS prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bill {
    /// Invocations billed (throttled requests are not).
    pub requests: u64,
    /// Invocation duration, each rounded up to 1 ms.
    pub billed_ms: u64,
    /// Init phases, each rounded up to 1 ms.
    pub init_billed_ms: u64,
    /// (billed_ms + init_billed_ms) / 1000 × memory_mb / 1024.
    pub gb_s: f64,
    /// Requests reaching the front door (throttled ones too: the front door served them).
    pub front_door_requests: u64,
}

/// The counts a bill is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub invocations: u64,
    pub billed_ms: u64,
    pub init_billed_ms: u64,
    pub front_door_requests: u64,
}

impl Bill {
    /// The bill of `usage` for a function of `memory_mb`.
    pub fn compute(usage: Usage, memory_mb: u32) -> Self {
        let gb_s = (usage.billed_ms + usage.init_billed_ms) as f64 / 1000.0 * f64::from(memory_mb)
            / 1024.0;
        Self {
            requests: usage.invocations,
            billed_ms: usage.billed_ms,
            init_billed_ms: usage.init_billed_ms,
            gb_s,
            front_door_requests: usage.front_door_requests,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn duration_is_rounded_up_to_the_millisecond() {
        assert_eq!(billed_ms(Duration::from_micros(1)), 1);
        assert_eq!(billed_ms(Duration::ZERO), 1);
        assert_eq!(billed_ms(Duration::from_micros(1000)), 1);
        assert_eq!(billed_ms(Duration::from_micros(1001)), 2);
        assert_eq!(billed_ms(Duration::from_millis(250)), 250);
    }

    #[test]
    fn a_million_one_second_invocations_at_1024_mb_are_a_million_gb_s() {
        let usage = Usage {
            invocations: 1_000_000,
            billed_ms: 1_000_000_000,
            init_billed_ms: 0,
            front_door_requests: 1_000_000,
        };
        let bill = Bill::compute(usage, 1024);
        assert_eq!(bill.gb_s, 1_000_000.0);
        assert_eq!(
            (bill.requests, bill.front_door_requests),
            (1_000_000, 1_000_000)
        );
    }

    #[test]
    fn init_is_billed_like_duration() {
        let usage = Usage {
            invocations: 1,
            billed_ms: 10,
            init_billed_ms: 502,
            front_door_requests: 1,
        };
        assert_eq!(Bill::compute(usage, 512).gb_s, 0.512 * 0.5);
    }
}
