//! Scenario files (TOML): what to run, against which SUTs, under which load, judged by
//! which SLO. Every key is documented in `scenarios/README.md`.
//!
//! Parsing is strict: an unknown key or a bad value is a [`ScenarioError`] that names the
//! file, the line, the key and what is allowed, e.g.
//! `scenarios/x.toml:12: [load] model = "posson": expected one of idle, constant, poisson, burst, ramp, replay`.

mod diurnal;
mod embedded;
mod error;
mod fleet;
mod load;
mod load_file;
pub(crate) mod locate;
mod sut;
mod validate;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use mock_lambda::{Arch, FrontDoor};
use serde::{Deserialize, Serialize};

pub use diurnal::Diurnal;
pub use embedded::{EMBEDDED, embedded};
use error::from_toml_error;
pub use error::{Problem, ScenarioError};
pub use load::{Conversation, Groups, Load, Model, Replayed, active_count};
pub use load_file::{replace_load, with_load_file};
use locate::{Locator, Seg};
pub use sut::{
    CpuList, FUNCTION_MEMORY_MB, Function, Kind, Proxy, REFERENCE_FUNCTIONS, Ready, ServerlessSpec,
    Sut,
};

/// A parsed, validated scenario.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Names the results directory and the report.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Measurement window, seconds (absent when the scenario has `[[phase]]`s).
    #[serde(default)]
    pub duration_s: Option<f64>,
    /// Load runs, nothing is recorded.
    #[serde(default)]
    pub warmup_s: f64,
    /// After each window: wait up to this long for replies; then unanswered = lost.
    #[serde(default = "default_drain_s")]
    pub drain_s: f64,
    #[serde(default)]
    pub seed: u64,
    /// Runs of each SUT, every one kept.
    #[serde(default = "one")]
    pub repeat: u32,
    /// Sampling period of CPU, memory and the timeseries, milliseconds.
    #[serde(default = "default_sample_ms")]
    pub sample_ms: u64,
    pub telegram: Telegram,
    #[serde(default)]
    pub load: Load,
    #[serde(rename = "sut")]
    pub suts: Vec<Sut>,
    #[serde(default, rename = "phase")]
    pub phases: Vec<Phase>,
    #[serde(default)]
    pub slo: Slo,
    #[serde(default)]
    pub capacity: Capacity,
    /// `[[fault]]`: faults injected on schedule during every SUT run.
    #[serde(default, rename = "fault")]
    pub faults: Vec<FaultSpec>,
    /// Where the scenario came from: a path, or `embedded:<name>`.
    #[serde(skip)]
    pub source: String,
}

fn default_drain_s() -> f64 {
    10.0
}
fn one() -> u32 {
    1
}
fn default_sample_ms() -> u64 {
    250
}
fn yes() -> bool {
    true
}
fn default_retry_factor() -> f64 {
    1.0
}
fn default_update_expiry_s() -> f64 {
    86_400.0
}
fn default_webhook_timeout_s() -> f64 {
    60.0
}

/// `[telegram]`: the emulated Telegram (the mock).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Telegram {
    pub bots: u64,
    #[serde(default)]
    pub rtt_ms: f64,
    #[serde(default)]
    pub jitter_ms: f64,
    #[serde(default = "yes")]
    pub rate_limits: bool,
    #[serde(default = "yes")]
    pub anti_spin: bool,
    /// Webhook retry delays are Telegram's multiplied by this.
    #[serde(default = "default_retry_factor")]
    pub retry_factor: f64,
    #[serde(default = "default_webhook_timeout_s")]
    pub webhook_timeout_s: f64,
    #[serde(default)]
    pub max_pending_per_bot: Option<u64>,
    /// A woken long poll waits 1-2 ms for more updates, as Telegram batches them.
    #[serde(default = "yes")]
    pub poll_batching: bool,
    /// Telegram's webhook slow start after 10 s without a success (one connection, one
    /// more per 2 s until a POST succeeds).
    #[serde(default = "yes")]
    pub webhook_ramp: bool,
    /// Updates not handed over this long after they were sent are dropped (Telegram: a day).
    #[serde(default = "default_update_expiry_s")]
    pub update_expiry_s: f64,
    /// HTTPS on both sides: the mock serves the Bot API with a certificate of a test CA made
    /// per run, the SUT is told to trust it (`TGBENCH_CA_FILE`, `SSL_CERT_FILE`,
    /// `NODE_EXTRA_CA_CERTS`, `REQUESTS_CA_BUNDLE`) and to serve its webhook over HTTPS with
    /// a certificate of the same CA (`TGBENCH_TLS_CERT`, `TGBENCH_TLS_KEY`).
    #[serde(default)]
    pub tls: bool,
    /// setWebhook refuses ports other than 443, 80, 88 and 8443, as Telegram does.
    #[serde(default)]
    pub enforce_webhook_ports: bool,
    /// Where the embedded mock listens, `host:port` (default `127.0.0.1:0`, a free loopback
    /// port). A non-loopback address needs `control_token` (or `TGBENCH_CONTROL_TOKEN`).
    #[serde(default)]
    pub listen: Option<String>,
    /// The token guarding the mock's control API and `/metrics` (`TGBENCH_CONTROL_TOKEN`
    /// when absent).
    #[serde(default)]
    pub control_token: Option<String>,
    /// Networks (CIDRs, e.g. `"198.18.0.0/15"`) the mock accepts webhook URLs on beside
    /// loopback: a webhook fleet on other hosts. Default: loopback only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhook_hosts: Vec<String>,
}

/// `[telegram]` listen's default: a free loopback port.
pub const DEFAULT_MOCK_LISTEN: &str = "127.0.0.1:0";

/// The environment variable a control token may come from instead of `[telegram]
/// control_token`.
pub const CONTROL_TOKEN_ENV: &str = "TGBENCH_CONTROL_TOKEN";

impl Telegram {
    /// The control token: `control_token`, else `TGBENCH_CONTROL_TOKEN` (non-empty).
    pub fn control_token(&self) -> Option<String> {
        self.control_token
            .clone()
            .or_else(|| std::env::var(CONTROL_TOKEN_ENV).ok())
            .filter(|t| !t.is_empty())
    }
}

/// `[sut.metrics]`: where a SUT's CPU and memory come from instead of /proc.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Prometheus' base URL, e.g. `http://prometheus:9090`.
    pub prometheus_url: String,
    /// PromQL: CPU seconds per second per replica.
    pub cpu_query: String,
    /// PromQL: resident (or working-set) bytes per replica.
    pub rss_query: String,
    /// The label naming a replica in both queries' series (e.g. `pod`).
    #[serde(default)]
    pub replica_label: Option<String>,
}

/// `[sut.telegram]`: what one SUT's mock does differently (the load stays the same).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TelegramOverride {
    pub rtt_ms: Option<f64>,
    pub jitter_ms: Option<f64>,
    pub rate_limits: Option<bool>,
    pub anti_spin: Option<bool>,
    pub retry_factor: Option<f64>,
    pub webhook_timeout_s: Option<f64>,
    pub max_pending_per_bot: Option<u64>,
    pub tls: Option<bool>,
    pub enforce_webhook_ports: Option<bool>,
    pub poll_batching: Option<bool>,
    pub webhook_ramp: Option<bool>,
    pub update_expiry_s: Option<f64>,
}

impl Telegram {
    /// This table with a SUT's overrides applied.
    pub fn with(&self, o: Option<&TelegramOverride>) -> Telegram {
        let mut t = self.clone();
        if let Some(o) = o {
            t.rtt_ms = o.rtt_ms.unwrap_or(t.rtt_ms);
            t.jitter_ms = o.jitter_ms.unwrap_or(t.jitter_ms);
            t.rate_limits = o.rate_limits.unwrap_or(t.rate_limits);
            t.anti_spin = o.anti_spin.unwrap_or(t.anti_spin);
            t.retry_factor = o.retry_factor.unwrap_or(t.retry_factor);
            t.webhook_timeout_s = o.webhook_timeout_s.unwrap_or(t.webhook_timeout_s);
            t.max_pending_per_bot = o.max_pending_per_bot.or(t.max_pending_per_bot);
            t.tls = o.tls.unwrap_or(t.tls);
            t.enforce_webhook_ports = o.enforce_webhook_ports.unwrap_or(t.enforce_webhook_ports);
            t.poll_batching = o.poll_batching.unwrap_or(t.poll_batching);
            t.webhook_ramp = o.webhook_ramp.unwrap_or(t.webhook_ramp);
            t.update_expiry_s = o.update_expiry_s.unwrap_or(t.update_expiry_s);
        }
        t
    }
}

/// `[[phase]]`: a named part of the window with its own length and load.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub name: String,
    pub duration_s: f64,
    /// Default: the scenario's `[load]`.
    #[serde(default)]
    pub load: Option<Load>,
}

/// `[slo]`: what a run must meet. Absent keys are not checked.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lost: Option<u64>,
    /// Mean CPU budget, percent of the SUT's cores (its `cpus`, else all cores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_pct: Option<f64>,
    /// Peak RSS budget of the SUT's process tree, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_mb: Option<f64>,
}

/// `[capacity]`: the bot counts `tgbench capacity` steps through.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    /// Bot counts to step through (axis `bots`).
    #[serde(default = "default_steps")]
    pub steps: Vec<u64>,
    /// What the search steps: the bots (at the load's rate per bot), or the rate per bot
    /// (at `[telegram] bots`).
    #[serde(default)]
    pub axis: Axis,
    /// Messages per bot per minute to step through (axis `rate`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rates: Vec<f64>,
    /// Replica counts to step through (axis `replicas`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<u32>,
}

/// `[capacity] axis`.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Axis {
    /// "How many bots does one server hold?"
    #[default]
    Bots,
    /// "How many messages a second does one server hold for these bots?"
    Rate,
    /// "How many replicas do these bots at this load need?"
    Replicas,
}

/// 100, 200, 500, 1,000, 2,000, 5,000, 10,000, 20,000, 50,000, 100,000: far enough that a
/// curve ends where the SUT breaks or a named limit of the machine stops it, not where the
/// steps run out.
pub fn default_steps() -> Vec<u64> {
    vec![
        100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000,
    ]
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity {
            steps: default_steps(),
            axis: Axis::Bots,
            rates: Vec::new(),
            replicas: Vec::new(),
        }
    }
}

/// What a `[[fault]]` breaks.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// SIGTERM to the SUT's process group; restarted `duration_s` after the fault starts
    /// (or as soon as it has exited, if that takes longer).
    SutStop,
    /// SIGKILL to the SUT's process group; restarted `duration_s` later.
    SutKill,
    /// The mock answers every Bot API call 502 and delivers no webhook.
    TelegramOutage,
    /// A share `rate` of Bot API calls answer 500 or 429.
    TelegramErrors,
    /// `delay_ms` added to every answer and every webhook delivery.
    TelegramSlow,
}

impl FaultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::SutStop => "sut_stop",
            FaultKind::SutKill => "sut_kill",
            FaultKind::TelegramOutage => "telegram_outage",
            FaultKind::TelegramErrors => "telegram_errors",
            FaultKind::TelegramSlow => "telegram_slow",
        }
    }

    /// Whether the fault stops the SUT (and tgbench restarts it).
    pub fn stops_sut(self) -> bool {
        matches!(self, FaultKind::SutStop | FaultKind::SutKill)
    }
}

/// `[[fault]]`: one fault, at `at_s` seconds into the measured timeline (the window, or
/// the phases laid end to end without their drains), lasting `duration_s`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub at_s: f64,
    pub kind: FaultKind,
    pub duration_s: f64,
    /// `telegram_errors`: share of Bot API calls that fail (0 to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// `telegram_slow`: delay added to every answer and delivery, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<f64>,
}

/// One part of a run's timeline: warm-up, or a measured window (a phase).
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// None for warm-up and for a scenario without phases... see [`Segment::measured`].
    pub phase: Option<String>,
    pub measured: bool,
    pub duration: Duration,
    pub load: Load,
}

impl Scenario {
    /// The timeline of one SUT run: warm-up (if any, under `[load]`), then the window or
    /// each phase in order.
    pub fn segments(&self) -> Vec<Segment> {
        let mut out = Vec::new();
        if self.warmup_s > 0.0 {
            out.push(Segment {
                phase: None,
                measured: false,
                duration: secs(self.warmup_s),
                load: self.load.clone(),
            });
        }
        if self.phases.is_empty() {
            out.push(Segment {
                phase: None,
                measured: true,
                duration: secs(self.duration_s.unwrap_or(0.0)),
                load: self.load.clone(),
            });
        } else {
            for p in &self.phases {
                out.push(Segment {
                    phase: Some(p.name.clone()),
                    measured: true,
                    duration: secs(p.duration_s),
                    load: p.load.clone().unwrap_or_else(|| self.load.clone()),
                });
            }
        }
        out
    }

    /// Total measured time of one SUT run, seconds.
    pub fn window_s(&self) -> f64 {
        if self.phases.is_empty() {
            self.duration_s.unwrap_or(0.0)
        } else {
            self.phases.iter().map(|p| p.duration_s).sum()
        }
    }

    /// The highest message rate any segment asks for, per second, at `bots` bots.
    pub fn peak_rate_per_s(&self, bots: u64) -> f64 {
        self.segments()
            .iter()
            .map(|s| s.load.peak_rate_per_s(bots))
            .fold(0.0, f64::max)
    }

    /// The same scenario with a different bot count (capacity steps).
    pub fn with_bots(&self, bots: u64) -> Scenario {
        let mut s = self.clone();
        s.telegram.bots = bots;
        s
    }

    /// The same scenario at another rate per bot: `[load]` and every phase that sends.
    pub fn with_rate(&self, messages_per_bot_per_min: f64) -> Scenario {
        let mut s = self.clone();
        s.load.messages_per_bot_per_min = messages_per_bot_per_min;
        for p in &mut s.phases {
            if let Some(l) = p.load.as_mut().filter(|l| l.model != Model::Idle) {
                l.messages_per_bot_per_min = messages_per_bot_per_min;
            }
        }
        s
    }

    /// The same scenario (load, SLO, capacity steps) run on `other`'s SUTs: a framework's
    /// servers through the reference capacity search (`tgbench claims --stack-capacity`).
    pub fn with_suts(&self, other: &Scenario) -> Scenario {
        let mut s = self.clone();
        s.suts = other.suts.clone();
        s
    }
}

/// Converts seconds (already validated as finite and ≥ 0) to a Duration.
pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// Loads a scenario from a path, or, when no such file exists, from the scenarios built
/// into this binary by name (`smoke`, `steady-100`, …).
pub fn load(arg: &str) -> Result<Scenario, ScenarioError> {
    let path = Path::new(arg);
    if path.is_file() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError::one(arg, format!("cannot read: {e}")))?;
        let mut s = parse(&text, arg)?;
        s.source = arg.to_string();
        return Ok(s);
    }
    let name = arg.strip_suffix(".toml").unwrap_or(arg);
    let name = name.rsplit('/').next().unwrap_or(name);
    if let Some(text) = embedded(name) {
        let label = format!("scenarios/{name}.toml (embedded)");
        let mut s = parse(text, &label)?;
        s.source = format!("embedded:{name}");
        return Ok(s);
    }
    let names: Vec<&str> = EMBEDDED.iter().map(|(n, _)| *n).collect();
    Err(ScenarioError::one(
        arg,
        format!(
            "no such file, and no embedded scenario of that name (embedded: {})",
            names.join(", ")
        ),
    ))
}

/// Parses and validates scenario text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    let loc = Locator::new(text);
    let mut scenario: Scenario = toml::from_str(text).map_err(|e| ScenarioError {
        problems: vec![from_toml_error(&e, file, &loc)],
    })?;
    scenario.source = file.to_string();
    check(&mut scenario, file, &loc)?;
    Ok(scenario)
}

/// Every rule of [`validate::check`], then the traces of `replay` loads read
/// ([`attach_traces`]); each problem names `file` and the line `loc` finds its key at.
fn check(s: &mut Scenario, file: &str, loc: &Locator<'_>) -> Result<(), ScenarioError> {
    let problems = validate::check(s)
        .into_iter()
        .map(|(path, value, message)| Problem {
            file: file.to_string(),
            line: loc.line_of_path(&path),
            key: locate::render(&path),
            value,
            message,
        })
        .collect::<Vec<_>>();
    if !problems.is_empty() {
        return Err(ScenarioError { problems });
    }
    let problems = attach_traces(s, file, loc);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ScenarioError { problems })
    }
}

/// Finds and scans the trace of every `replay` load (`[load]` and each `[phase.load]`),
/// relative to the scenario file's folder (or the current one, for an embedded scenario):
/// every row checked, the bots it needs against `[telegram] bots`.
fn attach_traces(s: &mut Scenario, file: &str, loc: &Locator<'_>) -> Vec<Problem> {
    let bots = s.telegram.bots;
    let base = Path::new(file)
        .is_file()
        .then(|| Path::new(file).parent().map(Path::to_path_buf))
        .flatten()
        .unwrap_or_default();
    let mut problems = Vec::new();
    let mut loads: Vec<(Vec<Seg>, &mut Load)> = vec![(locate::key_path!["load"], &mut s.load)];
    for (i, p) in s.phases.iter_mut().enumerate() {
        if let Some(l) = p.load.as_mut() {
            loads.push((locate::key_path!["phase", i, "load"], l));
        }
    }
    for (at, load) in loads {
        let (Model::Replay, Some(trace)) = (load.model, load.trace.clone()) else {
            continue;
        };
        let mut key = at.clone();
        key.push(Seg::Key("trace".into()));
        let problem = |message: String| Problem {
            file: file.to_string(),
            line: loc.line_of_path(&key),
            key: locate::render(&key),
            value: Some(format!("{trace:?}")),
            message,
        };
        let path = base.join(&trace);
        match crate::trace::scan(&path) {
            Err(e) => problems.push(problem(e.to_string())),
            Ok(summary) if summary.per_bot.len() as u64 > bots => problems.push(problem(format!(
                "the trace has {} distinct bots; set [telegram] bots = {} or more (it is {bots})",
                summary.per_bot.len(),
                summary.per_bot.len()
            ))),
            Ok(summary) if summary.rows == 0 => {
                problems.push(problem("the trace has no rows".into()))
            }
            Ok(summary) => load.replay = Some(Arc::new(Replayed { path, summary })),
        }
    }
    problems
}

/// The line of a path, for callers that report their own problems (used in tests).
pub fn line_of(text: &str, path: &[Seg]) -> Option<usize> {
    Locator::new(text).line_of_path(path)
}

#[cfg(test)]
mod tests;
