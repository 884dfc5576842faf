//! Billing as AWS Lambda bills: requests, duration rounded up to 1 ms, GB-seconds at the
//! configured memory, the init phase billed too, per-architecture rates, and the front
//! door's own fee.
//!
//! The [`Prices`] are ASSUMPTIONS, not quotes: AWS's public list prices for us-east-1 as
//! published (no free tier, no Savings Plans, first pricing tier only):
//!
//! | item | price |
//! |---|---|
//! | requests | $0.20 per million |
//! | duration, x86_64 | $0.0000166667 per GB-second |
//! | duration, arm64 | $0.0000133334 per GB-second |
//! | function URL | no fee of its own |
//! | API Gateway HTTP API | $1.00 per million requests (first 300 million a month) |
//!
//! Since August 2025 AWS bills the init phase of every runtime (custom runtimes always
//! were), so an environment's init is billed like invocation time.

use serde::{Deserialize, Serialize};

use crate::config::{Arch, FrontDoor};

/// Assumed prices, in USD. See the module doc for their source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    pub per_request: f64,
    pub gb_second_x86_64: f64,
    pub gb_second_arm64: f64,
    pub api_gateway_http_per_request: f64,
    pub function_url_per_request: f64,
}

impl Default for Prices {
    fn default() -> Self {
        Self {
            per_request: 0.20 / 1e6,
            gb_second_x86_64: 0.000_016_666_7,
            gb_second_arm64: 0.000_013_333_4,
            api_gateway_http_per_request: 1.00 / 1e6,
            function_url_per_request: 0.0,
        }
    }
}

impl Prices {
    pub fn gb_second(&self, arch: Arch) -> f64 {
        match arch {
            Arch::X86_64 => self.gb_second_x86_64,
            Arch::Arm64 => self.gb_second_arm64,
        }
    }

    pub fn front_door_per_request(&self, front_door: FrontDoor) -> f64 {
        match front_door {
            FrontDoor::FunctionUrl => self.function_url_per_request,
            FrontDoor::ApiGatewayHttp => self.api_gateway_http_per_request,
        }
    }
}

/// Billed milliseconds of a duration: rounded up to the next whole millisecond, at least 1.
pub fn billed_ms(duration: std::time::Duration) -> u64 {
    let micros = duration.as_micros() as u64;
    micros.div_ceil(1000).max(1)
}

/// What the platform's usage costs.
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
    pub cost: Cost,
}

/// A bill's money, in USD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    pub requests: f64,
    pub duration: f64,
    pub front_door: f64,
    pub total: f64,
}

/// The usage a bill is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub invocations: u64,
    pub billed_ms: u64,
    pub init_billed_ms: u64,
    pub front_door_requests: u64,
}

impl Bill {
    pub fn compute(
        usage: Usage,
        memory_mb: u32,
        arch: Arch,
        front_door: FrontDoor,
        prices: &Prices,
    ) -> Self {
        let gb_s = (usage.billed_ms + usage.init_billed_ms) as f64 / 1000.0 * f64::from(memory_mb)
            / 1024.0;
        let requests = usage.invocations as f64 * prices.per_request;
        let duration = gb_s * prices.gb_second(arch);
        let front_door =
            usage.front_door_requests as f64 * prices.front_door_per_request(front_door);
        Self {
            requests: usage.invocations,
            billed_ms: usage.billed_ms,
            init_billed_ms: usage.init_billed_ms,
            gb_s,
            front_door_requests: usage.front_door_requests,
            cost: Cost {
                requests,
                duration,
                front_door,
                total: requests + duration + front_door,
            },
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
    fn a_million_one_second_invocations_at_1024_mb() {
        let usage = Usage {
            invocations: 1_000_000,
            billed_ms: 1_000_000_000,
            init_billed_ms: 0,
            front_door_requests: 1_000_000,
        };
        let prices = Prices::default();
        let x86 = Bill::compute(usage, 1024, Arch::X86_64, FrontDoor::FunctionUrl, &prices);
        assert_eq!(x86.gb_s, 1_000_000.0);
        assert!((x86.cost.requests - 0.20).abs() < 1e-9);
        assert!((x86.cost.duration - 16.6667).abs() < 1e-6);
        assert_eq!(x86.cost.front_door, 0.0);
        let arm = Bill::compute(usage, 1024, Arch::Arm64, FrontDoor::ApiGatewayHttp, &prices);
        assert!((arm.cost.duration - 13.3334).abs() < 1e-6);
        assert!((arm.cost.front_door - 1.0).abs() < 1e-9);
        assert!((arm.cost.total - (0.20 + 13.3334 + 1.0)).abs() < 1e-6);
    }

    #[test]
    fn init_is_billed_like_duration() {
        let usage = Usage {
            invocations: 1,
            billed_ms: 10,
            init_billed_ms: 502,
            front_door_requests: 1,
        };
        let bill = Bill::compute(
            usage,
            512,
            Arch::X86_64,
            FrontDoor::FunctionUrl,
            &Prices::default(),
        );
        assert_eq!(bill.gb_s, 0.512 * 0.5);
    }
}
