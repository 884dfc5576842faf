//! The cost model: measured CPU, memory and request counts → a monthly bill per transport,
//! and capacity results → servers needed for N bots.
//!
//! Prices come from a TOML price file; the defaults ([`DEFAULT_PRICES_TOML`], the file
//! `reports/prices.toml`, embedded) approximate public on-demand and serverless list prices
//! and are assumptions, documented key by key in that file.
//!
//! Model (all per month of `hours_per_month` hours, the measured load running all month):
//! - **always-on** (any transport): vCPUs = measured p95 CPU ÷ `target_cpu_utilization`,
//!   memory = peak RSS ÷ `target_memory_utilization`, each rounded up to its step and at
//!   least the minimum size; cost = vCPU × `vcpu_hour` + GB × `gb_hour`, times hours;
//! - **serverless, measured** (a `kind = "serverless"` run on the emulated platform):
//!   [`serverless_cost`] prices the usage the platform counted — invocations × `per_request`,
//!   billed GB-seconds (init included when `init_billed`) × the architecture's rate, and
//!   front-door requests × the front door's fee; the platform holds no prices;
//! - **serverless, on paper** (a long-running webhook server's figures): one invocation per
//!   delivered update, billed `per_request` plus GB-seconds of `memory_gb` for a duration of
//!   (CPU seconds per delivery + outbound API calls per delivery × RTT), at least
//!   `min_billed_ms`;
//! - **servers for N bots**: ⌈N ÷ max bots per server⌉ servers of the `[server]` size.

use std::path::Path;

use serde::Deserialize;

use crate::Error;
use crate::results::{self, Arch, FrontDoor};
use crate::rows::Row;

/// The default price file, embedded.
pub const DEFAULT_PRICES_TOML: &str = include_str!("../prices.toml");

/// What is wrong inside a price file.
#[derive(Debug, thiserror::Error)]
pub enum PricesError {
    #[error(transparent)]
    Toml(#[from] toml::de::Error),
    #[error("{key} must be > 0, got {value}")]
    NotPositive { key: &'static str, value: f64 },
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    pub currency: String,
    pub hours_per_month: f64,
    pub on_demand: OnDemand,
    pub server: Server,
    pub serverless: Serverless,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OnDemand {
    pub vcpu_hour: f64,
    pub gb_hour: f64,
    pub min_vcpu: f64,
    pub vcpu_step: f64,
    pub min_gb: f64,
    pub gb_step: f64,
    pub target_cpu_utilization: f64,
    pub target_memory_utilization: f64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub vcpu: f64,
    pub memory_gb: f64,
}

/// AWS Lambda's prices (`[serverless]`): the one copy of them; the emulated platform
/// counts usage and tgbench prices it here ([`serverless_cost`]).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Serverless {
    /// Per invocation.
    pub per_request: f64,
    /// Per GB-second, x86_64.
    pub gb_second: f64,
    /// Per GB-second, arm64.
    pub gb_second_arm64: f64,
    /// The front door's fee per request it serves: a function URL's, an API Gateway HTTP
    /// API's.
    pub function_url_per_request: f64,
    pub api_gateway_http_per_request: f64,
    /// Whether a cold start's init phase is billed like invocation time.
    pub init_billed: bool,
    /// The paper model's function memory (SUTs that did not run on the platform).
    pub memory_gb: f64,
    /// The paper model's shortest billed duration.
    pub min_billed_ms: f64,
}

impl Serverless {
    /// Per GB-second for `arch`.
    pub fn gb_second_for(&self, arch: Arch) -> f64 {
        match arch {
            Arch::X86_64 => self.gb_second,
            Arch::Arm64 => self.gb_second_arm64,
        }
    }

    /// The fee per request of `front_door`.
    pub fn front_door_per_request(&self, front_door: FrontDoor) -> f64 {
        match front_door {
            FrontDoor::FunctionUrl => self.function_url_per_request,
            FrontDoor::ApiGatewayHttp => self.api_gateway_http_per_request,
        }
    }
}

/// A measured serverless window's money, USD.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ServerlessCost {
    pub requests: f64,
    /// GB-seconds billed (init included when `init_billed`).
    pub gb_s: f64,
    /// The GB-seconds' price, init included.
    pub duration: f64,
    /// Init's share of `duration` (0 when init is not billed).
    pub init: f64,
    pub front_door: f64,
    pub total: f64,
}

/// What a serverless window's usage ([`results::Serverless`]: invocations, billed ms with
/// init, memory, architecture, front-door requests) costs at `prices`.
pub fn serverless_cost(usage: &results::Serverless, prices: &Prices) -> ServerlessCost {
    let sl = &prices.serverless;
    let ms = if sl.init_billed {
        usage.billed_ms
    } else {
        usage.billed_ms.saturating_sub(usage.init_billed_ms)
    };
    let gb_per_ms = f64::from(usage.memory_mb) / 1024.0 / 1000.0;
    let gb_s = ms as f64 * gb_per_ms;
    let requests = usage.invocations as f64 * sl.per_request;
    let duration = gb_s * sl.gb_second_for(usage.arch);
    let init = if sl.init_billed {
        usage.init_billed_ms as f64 * gb_per_ms * sl.gb_second_for(usage.arch)
    } else {
        0.0
    };
    let front_door = usage.requests as f64 * sl.front_door_per_request(usage.front_door);
    ServerlessCost {
        requests,
        gb_s,
        duration,
        init,
        front_door,
        total: requests + duration + front_door,
    }
}

impl Default for Prices {
    fn default() -> Self {
        Self::from_toml(DEFAULT_PRICES_TOML).expect("the embedded price file parses")
    }
}

impl Prices {
    /// Parses a price file; every key is required, unknown keys are an error.
    pub fn from_toml(text: &str) -> Result<Self, PricesError> {
        let p: Prices = toml::from_str(text)?;
        let positive = [
            ("hours_per_month", p.hours_per_month),
            ("on_demand.vcpu_step", p.on_demand.vcpu_step),
            ("on_demand.gb_step", p.on_demand.gb_step),
            (
                "on_demand.target_cpu_utilization",
                p.on_demand.target_cpu_utilization,
            ),
            (
                "on_demand.target_memory_utilization",
                p.on_demand.target_memory_utilization,
            ),
            ("server.vcpu", p.server.vcpu),
            ("server.memory_gb", p.server.memory_gb),
        ];
        for (key, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                return Err(PricesError::NotPositive { key, value });
            }
        }
        Ok(p)
    }

    /// Reads a price file from disk.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text).map_err(|source| Error::PricesFile {
            path: path.display().to_string(),
            source,
        })
    }

    /// The price file at `path` (`--prices FILE`), or the embedded prices without one.
    pub fn read_or_default(path: Option<&Path>) -> Result<Self, Error> {
        path.map_or_else(|| Ok(Self::default()), Self::read)
    }

    /// Monthly price of one `[server]`.
    pub fn server_monthly(&self) -> f64 {
        (self.server.vcpu * self.on_demand.vcpu_hour
            + self.server.memory_gb * self.on_demand.gb_hour)
            * self.hours_per_month
    }
}

/// What a transport used under a steady load.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// % of one core.
    pub cpu_p95_pct: f64,
    pub rss_peak_mb: f64,
    /// CPU seconds per minute of load (mean % of one core × 0.6).
    pub cpu_s_per_min: f64,
    /// Updates the mock delivered to the SUT by webhook, per minute (0 for polling).
    pub webhook_deliveries_per_min: f64,
    /// Bot API calls the SUT made per minute (sendMessage and the like).
    pub api_calls_per_min: f64,
    /// Emulated round trip to Telegram, ms.
    pub rtt_ms: f64,
}

impl Usage {
    /// Usage of a report row, with CPU scaled by `cpu_scale` (1.0 for as measured); None
    /// when its CPU or memory was not measured (nothing to price).
    pub fn of_row(row: &Row<'_>, rtt_ms: f64, cpu_scale: f64) -> Option<Self> {
        let deliveries = row.by_method_per_min.get("webhook").copied().unwrap_or(0.0);
        let (cpu, memory) = (row.cpu.as_ref()?, row.memory.as_ref()?);
        Some(Self {
            cpu_p95_pct: cpu.p95_pct * cpu_scale,
            rss_peak_mb: memory.rss_peak_mb,
            cpu_s_per_min: cpu.mean_pct * cpu_scale * 0.6,
            webhook_deliveries_per_min: deliveries,
            api_calls_per_min: (row.requests_per_min - deliveries).max(0.0),
            rtt_ms,
        })
    }
}

/// A monthly bill for one transport.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthlyCost {
    /// Provisioned size of the always-on deployment.
    pub vcpu: f64,
    pub memory_gb: f64,
    pub always_on: f64,
    /// `None` for polling (no deliveries to bill).
    pub serverless: Option<f64>,
}

fn round_up(v: f64, step: f64, min: f64) -> f64 {
    ((v / step).ceil() * step).max(min)
}

/// The monthly cost of `usage` at `prices` (model in the module doc).
pub fn monthly_cost(usage: &Usage, prices: &Prices) -> MonthlyCost {
    let od = &prices.on_demand;
    let vcpu = round_up(
        usage.cpu_p95_pct / 100.0 / od.target_cpu_utilization,
        od.vcpu_step,
        od.min_vcpu,
    );
    let memory_gb = round_up(
        usage.rss_peak_mb / 1024.0 / od.target_memory_utilization,
        od.gb_step,
        od.min_gb,
    );
    let always_on = (vcpu * od.vcpu_hour + memory_gb * od.gb_hour) * prices.hours_per_month;
    let serverless = (usage.webhook_deliveries_per_min > 0.0).then(|| {
        let sl = &prices.serverless;
        let per_min = usage.webhook_deliveries_per_min;
        let cpu_s = usage.cpu_s_per_min / per_min;
        let waits = usage.api_calls_per_min / per_min * usage.rtt_ms / 1000.0;
        let duration_s = (cpu_s + waits).max(sl.min_billed_ms / 1000.0);
        let invocations = per_min * 60.0 * prices.hours_per_month;
        invocations * (sl.per_request + duration_s * sl.memory_gb * sl.gb_second)
    });
    MonthlyCost {
        vcpu,
        memory_gb,
        always_on,
        serverless,
    }
}

/// How long AWS keeps an idle execution environment, as observed (AWS does not document
/// it): what a serverless run with a shorter `keep_warm_s` is read against.
pub const AWS_KEEP_WARM_S: f64 = 600.0;

/// Messages a month on the cost-versus-traffic axis: 1 to 10,000,000.
pub const TRAFFIC_RANGE: (f64, f64) = (1.0, 1e7);

/// Monthly cost of an always-on deployment against traffic: the right-sized deployment of
/// a measured row ([`monthly_cost`]) costs the same at any traffic until its CPU target is
/// full, then one more of it for each capacity's worth of messages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlwaysOnCurve {
    /// One deployment's monthly cost.
    pub monthly: f64,
    /// Messages a month one deployment carries at `target_cpu_utilization`, CPU taken as
    /// proportional to traffic from the measured rate; None when the run used no measurable
    /// CPU (flat across the axis).
    pub capacity: Option<f64>,
}

impl AlwaysOnCurve {
    /// The curve of a row measured at `messages_per_month` with `usage`.
    pub fn of(usage: &Usage, messages_per_month: f64, prices: &Prices) -> Self {
        let m = monthly_cost(usage, prices);
        let full_pct = m.vcpu * 100.0 * prices.on_demand.target_cpu_utilization;
        let capacity = (usage.cpu_p95_pct > 0.0 && messages_per_month > 0.0)
            .then(|| messages_per_month * full_pct / usage.cpu_p95_pct);
        Self {
            monthly: m.always_on,
            capacity,
        }
    }

    /// Cost at `messages` a month.
    pub fn at(&self, messages: f64) -> f64 {
        let deployments = match self.capacity {
            Some(c) if c > 0.0 => (messages / c).ceil().max(1.0),
            _ => 1.0,
        };
        self.monthly * deployments
    }
}

/// A measured serverless run's cost per message, USD: invocations and front-door
/// requests per message, billed duration per message, and init billing at the run's
/// cold-start rate (cold starts per message × init billed per cold start).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ServerlessPerMessage {
    pub requests: f64,
    pub front_door: f64,
    pub duration: f64,
    pub init: f64,
    /// Cold starts per message in the run.
    pub cold_start_rate: f64,
}

impl ServerlessPerMessage {
    /// Per message of `messages` answered in the windows `usage`, at `prices`.
    pub fn of(usage: &[&results::Serverless], messages: u64, prices: &Prices) -> Option<Self> {
        if messages == 0 || usage.is_empty() {
            return None;
        }
        let n = messages as f64;
        let (mut per, mut cold) = (Self::default(), 0u64);
        for u in usage {
            let c = serverless_cost(u, prices);
            per.requests += c.requests / n;
            per.front_door += c.front_door / n;
            per.duration += (c.duration - c.init) / n;
            per.init += c.init / n;
            cold += u.cold_starts;
        }
        per.cold_start_rate = cold as f64 / n;
        Some(per)
    }

    pub fn total(&self) -> f64 {
        self.requests + self.front_door + self.duration + self.init
    }

    /// Cost at `messages` a month.
    pub fn at(&self, messages: f64) -> f64 {
        self.total() * messages
    }
}

/// Where serverless stops being the cheaper choice against one always-on curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BreakEven {
    /// Serverless is cheaper below this many messages a month.
    Below(f64),
    /// Serverless is cheaper across the whole range up to `max` messages a month.
    Throughout,
    /// Serverless costs more even at the range's lowest traffic.
    Never,
}

/// The traffic at which `serverless` (linear in messages) meets `always_on` (flat, then
/// stepping up a deployment per capacity), within `range` messages a month.
///
/// Serverless at `a` a message meets the first step, `C`, at `C / a`. If that is past the
/// first deployment's capacity, the line never catches the steps (each step costs `k × C`
/// from `(k-1) × capacity`, and `a × k × capacity < k × C`): serverless stays cheaper.
pub fn break_even(
    serverless: &ServerlessPerMessage,
    always_on: &AlwaysOnCurve,
    range: (f64, f64),
) -> BreakEven {
    let a = serverless.total();
    if a <= 0.0 {
        return BreakEven::Throughout;
    }
    let m = always_on.monthly / a;
    if always_on.capacity.is_some_and(|c| m > c) || m > range.1 {
        BreakEven::Throughout
    } else if m <= range.0 {
        BreakEven::Never
    } else {
        BreakEven::Below(m)
    }
}

/// Servers of the `[server]` size for `bots`, given how many one server held.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerPlan {
    pub bots: u64,
    /// `None` when no step of the capacity search met the SLO.
    pub servers: Option<u64>,
    pub monthly: Option<f64>,
    /// True when the per-server figure was cut short by a limit of the test machine, so
    /// the server count is an upper bound.
    pub upper_bound: bool,
}

/// ⌈bots ÷ max_bots_per_server⌉ servers and their monthly price.
pub fn servers_for(
    bots: u64,
    max_bots_per_server: Option<u64>,
    max_is_a_lower_bound: bool,
    prices: &Prices,
) -> ServerPlan {
    let servers = max_bots_per_server
        .filter(|m| *m > 0)
        .map(|m| bots.div_ceil(m));
    ServerPlan {
        bots,
        servers,
        monthly: servers.map(|s| s as f64 * prices.server_monthly()),
        upper_bound: max_is_a_lower_bound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_prices_parse_and_a_server_costs_about_72_dollars() {
        let p = Prices::default();
        assert_eq!(p.currency, "USD");
        assert!(
            (p.server_monthly() - 72.09).abs() < 0.1,
            "{}",
            p.server_monthly()
        );
    }

    #[test]
    fn bad_price_files_are_errors_naming_the_key() {
        let broken = DEFAULT_PRICES_TOML.replace("hours_per_month = 730.0", "hours_per_month = 0");
        let e = Prices::from_toml(&broken).unwrap_err().to_string();
        assert!(e.contains("hours_per_month"), "{e}");
        let unknown = format!("{DEFAULT_PRICES_TOML}\nextra = 1\n");
        assert!(matches!(
            Prices::from_toml(&unknown),
            Err(PricesError::Toml(_))
        ));
    }

    #[test]
    fn a_price_file_read_from_disk_names_its_path_and_keeps_the_cause() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.toml");
        std::fs::write(&path, "currency = 1").unwrap();
        let e = Prices::read(&path).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("price file: {}: ", path.display())),
            "{text}"
        );
        let cause = std::error::Error::source(&e).expect("the TOML error is the source");
        assert!(cause.is::<PricesError>(), "{cause:?}");
    }

    #[test]
    fn always_on_is_right_sized_with_a_minimum() {
        let p = Prices::default();
        let idle = monthly_cost(&Usage::default(), &p);
        assert_eq!((idle.vcpu, idle.memory_gb), (0.25, 0.5));
        let expect = (0.25 * 0.04048 + 0.5 * 0.004445) * 730.0;
        assert!((idle.always_on - expect).abs() < 1e-9);
        assert_eq!(idle.serverless, None);
        // 100 % of a core at p95 → 1 / 0.7 → 1.5 vCPU; 800 MB → 0.98 GB → 1 GB.
        let busy = monthly_cost(
            &Usage {
                cpu_p95_pct: 100.0,
                rss_peak_mb: 800.0,
                ..Default::default()
            },
            &p,
        );
        assert_eq!((busy.vcpu, busy.memory_gb), (1.5, 1.0));
    }

    #[test]
    fn serverless_bills_invocations_and_duration() {
        let p = Prices::default();
        let u = Usage {
            webhook_deliveries_per_min: 100.0,
            api_calls_per_min: 100.0,
            rtt_ms: 100.0,
            ..Default::default()
        };
        let c = monthly_cost(&u, &p).serverless.unwrap();
        let inv = 100.0 * 60.0 * 730.0;
        let expect = inv * (0.0000002 + 0.1 * 0.128 * 0.0000166667);
        assert!((c - expect).abs() < 1e-6, "{c} vs {expect}");
    }

    fn usage(arch: Arch, front_door: FrontDoor) -> results::Serverless {
        results::Serverless {
            invocations: 1_000_000,
            requests: 1_000_100,
            billed_ms: 1_000_000_000 + 2_000,
            init_billed_ms: 2_000,
            memory_mb: 1024,
            arch,
            front_door,
            ..Default::default()
        }
    }

    #[test]
    fn a_measured_serverless_window_is_priced_from_its_usage() {
        let p = Prices::default();
        // A million 1 s invocations at 1 GB (+ 2 s of init): 1,000,002 GB-s.
        let x86 = serverless_cost(&usage(Arch::X86_64, FrontDoor::FunctionUrl), &p);
        assert!((x86.gb_s - 1_000_002.0).abs() < 1e-6, "{x86:?}");
        assert!((x86.requests - 0.20).abs() < 1e-9);
        assert!((x86.duration - 1_000_002.0 * 0.0000166667).abs() < 1e-9);
        assert_eq!(x86.front_door, 0.0);
        let arm = serverless_cost(&usage(Arch::Arm64, FrontDoor::ApiGatewayHttp), &p);
        assert!((arm.duration - 1_000_002.0 * 0.0000133334).abs() < 1e-9);
        // The gateway bills every request it served, throttled ones too.
        assert!((arm.front_door - 1.0001).abs() < 1e-9, "{arm:?}");
        assert!((arm.total - (arm.requests + arm.duration + arm.front_door)).abs() < 1e-12);
        // Without init billing, the 2 s of init are free.
        let mut old_rule = p.clone();
        old_rule.serverless.init_billed = false;
        let c = serverless_cost(&usage(Arch::X86_64, FrontDoor::FunctionUrl), &old_rule);
        assert!((c.gb_s - 1_000_000.0).abs() < 1e-6, "{c:?}");
    }

    #[test]
    fn per_message_serverless_cost_adds_init_at_the_cold_start_rate() {
        let p = Prices::default();
        // 100 messages: 100 invocations of 10 ms and 4 cold starts of 250 ms at 1024 MB.
        let u = results::Serverless {
            invocations: 100,
            requests: 100,
            cold_starts: 4,
            billed_ms: 1000 + 1000,
            init_billed_ms: 1000,
            memory_mb: 1024,
            ..Default::default()
        };
        let per = ServerlessPerMessage::of(&[&u], 100, &p).unwrap();
        assert!((per.requests - 0.0000002).abs() < 1e-15);
        assert!(
            (per.duration - 0.01 * 0.0000166667).abs() < 1e-15,
            "{per:?}"
        );
        // 4 % of messages pay a 250 ms init: 10 ms a message on average.
        assert!((per.cold_start_rate - 0.04).abs() < 1e-12);
        assert!(
            (per.init - 0.04 * 0.25 * 0.0000166667).abs() < 1e-15,
            "{per:?}"
        );
        assert_eq!(per.front_door, 0.0);
        assert!((per.at(1e6) - per.total() * 1e6).abs() < 1e-9);
        assert_eq!(ServerlessPerMessage::of(&[&u], 0, &p), None);
    }

    #[test]
    fn always_on_is_flat_until_its_capacity_then_steps() {
        let p = Prices::default();
        // 10 % of a core at p95 for 1,000,000 messages a month on 0.25 vCPU (70 % target):
        // one deployment carries 1.75 million.
        let usage = Usage {
            cpu_p95_pct: 10.0,
            ..Default::default()
        };
        let c = AlwaysOnCurve::of(&usage, 1e6, &p);
        let one = monthly_cost(&usage, &p).always_on;
        assert_eq!(c.monthly, one);
        assert!((c.capacity.unwrap() - 1.75e6).abs() < 1e-3, "{c:?}");
        assert_eq!(c.at(1.0), one);
        assert_eq!(c.at(1.75e6), one);
        assert_eq!(c.at(1.75e6 + 1.0), 2.0 * one);
        assert_eq!(c.at(1e7), 6.0 * one);
        let idle = AlwaysOnCurve::of(&Usage::default(), 1e6, &p);
        assert_eq!((idle.capacity, idle.at(1e7)), (None, idle.monthly));
    }

    #[test]
    fn break_even_is_where_the_line_meets_the_first_step() {
        let per = |total: f64| ServerlessPerMessage {
            requests: total,
            ..Default::default()
        };
        let flat = AlwaysOnCurve {
            monthly: 10.0,
            capacity: None,
        };
        // $10 a month against $0.00001 a message: equal at 1,000,000 messages.
        let at = break_even(&per(0.00001), &flat, TRAFFIC_RANGE);
        let BreakEven::Below(m) = at else {
            panic!("{at:?}")
        };
        assert!((m - 1e6).abs() < 1e-3);
        assert!(per(0.00001).at(m) >= flat.at(m) - 1e-9);
        assert!(per(0.00001).at(m * 0.99) < flat.at(m * 0.99));
        // Cheaper than the first step's capacity: the line never catches the steps.
        let stepping = AlwaysOnCurve {
            capacity: Some(500_000.0),
            ..flat
        };
        assert_eq!(
            break_even(&per(0.00001), &stepping, TRAFFIC_RANGE),
            BreakEven::Throughout
        );
        for m in [1.0, 4.9e5, 5.1e5, 9.9e6] {
            assert!(per(0.00001).at(m) < stepping.at(m), "at {m}");
        }
        // Past the range's end, and dearer than the server even at one message.
        assert_eq!(
            break_even(&per(1e-7), &flat, TRAFFIC_RANGE),
            BreakEven::Throughout
        );
        assert_eq!(
            break_even(&per(20.0), &flat, TRAFFIC_RANGE),
            BreakEven::Never
        );
    }

    #[test]
    fn servers_for_rounds_up() {
        let p = Prices::default();
        let plan = servers_for(10_000, Some(2_000), false, &p);
        assert_eq!(plan.servers, Some(5));
        assert_eq!(servers_for(10_000, Some(3_000), false, &p).servers, Some(4));
        assert_eq!(servers_for(10, None, false, &p).servers, None);
        assert_eq!(servers_for(10, Some(0), false, &p).servers, None);
    }
}
