//! Scenario files (TOML): what to run, against which SUTs, under which load, judged by
//! which SLO. Every key is documented in `scenarios/README.md`.
//!
//! Parsing is strict: an unknown key or a bad value is a [`ScenarioError`] that names the
//! file, the line, the key and what is allowed, e.g.
//! `scenarios/x.toml:12: [load] model = "posson": expected one of idle, constant, poisson, burst, ramp, replay`.

mod diurnal;
mod embedded;
mod fleet;
mod load_file;
pub(crate) mod locate;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use mock_lambda::{Arch, FrontDoor};
use serde::{Deserialize, Deserializer, Serialize};

pub use diurnal::Diurnal;
pub use embedded::{EMBEDDED, embedded};
pub use load_file::{replace_load, with_load_file};
use locate::{Locator, Seg};

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
fn default_active() -> f64 {
    1.0
}
fn default_users() -> u32 {
    100
}
fn default_ready_timeout_s() -> f64 {
    30.0
}
fn default_stop_timeout_s() -> f64 {
    5.0
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

/// Arrival models of simulated users' messages.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// No messages at all.
    #[default]
    Idle,
    /// Each active bot gets messages at exact, evenly spaced instants.
    Constant,
    /// Exponential gaps (a Poisson process) at the same average rate.
    Poisson,
    /// The same average rate, delivered in bursts every `burst_every_s`.
    Burst,
    /// A Poisson process whose rate grows linearly from `ramp_from` to
    /// `messages_per_bot_per_min` over the window.
    Ramp,
    /// The messages of a trace file (`trace`), at their own times (`speed`, `loop`,
    /// `start_s`): [`crate::trace`].
    Replay,
}

impl Model {
    pub fn as_str(self) -> &'static str {
        match self {
            Model::Idle => "idle",
            Model::Constant => "constant",
            Model::Poisson => "poisson",
            Model::Burst => "burst",
            Model::Ramp => "ramp",
            Model::Replay => "replay",
        }
    }
}

/// `[load]` (and `[phase.load]`): what simulated users send.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Load {
    #[serde(default)]
    pub model: Model,
    /// Per active bot.
    #[serde(default)]
    pub messages_per_bot_per_min: f64,
    /// Share of bots that get traffic.
    #[serde(default = "default_active")]
    pub active_bots: f64,
    /// Zipf exponent of traffic across active bots (0 = even).
    #[serde(default)]
    pub zipf_s: f64,
    /// Share of updates that are callback queries instead of messages.
    #[serde(default)]
    pub callback_share: f64,
    /// Distinct simulated users (private chats) per bot.
    #[serde(default = "default_users")]
    pub users_per_bot: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst_every_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst_spread_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp_from: Option<f64>,
    /// A daily curve over the rate (`poisson` and `ramp` only): [`Diurnal`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diurnal: Option<Diurnal>,
    /// Messages come in conversations: a user sends a few, seconds apart, then goes quiet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<Conversation>,
    /// A share of the messages goes to group chats: [`Groups`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Groups>,
    /// `replay` only: the trace file (CSV or JSON Lines), relative to the scenario file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// `replay` only: time compression (60 plays an hour of the trace in a minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// `replay` only: start the trace again when it ends.
    #[serde(default, rename = "loop", skip_serializing_if = "Option::is_none")]
    pub looped: Option<bool>,
    /// `replay` only: the trace second each phase starts at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_s: Option<f64>,
    /// The trace as read when the scenario was loaded: its path and what it holds.
    #[serde(skip)]
    pub replay: Option<Arc<Replayed>>,
}

/// `[load] conversation`: the model's arrivals start conversations instead of single
/// messages. Each is one user's `messages` messages on average (a geometric count, at least
/// one), `gap_s` apart on average (exponential gaps); conversations start at the rate ÷
/// `messages`, so `messages_per_bot_per_min` stays the mean rate.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Conversation {
    pub messages: f64,
    pub gap_s: f64,
}

/// `[load] groups`: each message (not a button press) goes, with probability `share`, to
/// one of the bot's `chats` group chats instead of a private chat, written by one of the
/// group's `users` members (drawn from the bot's simulated users). Group chats are where
/// Telegram holds a bot to about 20 messages a minute.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Groups {
    pub share: f64,
    #[serde(default = "one")]
    pub chats: u32,
    #[serde(default = "default_group_users")]
    pub users: u32,
}

fn default_group_users() -> u32 {
    5
}

/// A `replay` load's trace, found and scanned when the scenario is read.
#[derive(Debug, Clone, PartialEq)]
pub struct Replayed {
    pub path: std::path::PathBuf,
    pub summary: crate::trace::Summary,
}

impl Load {
    /// How a phase of this load replays its trace (None for the other models, or before
    /// the scenario was read from a file).
    pub fn replay_plan(&self) -> Option<crate::trace::ReplayPlan> {
        let r = self
            .replay
            .as_ref()
            .filter(|_| self.model == Model::Replay)?;
        Some(crate::trace::ReplayPlan {
            path: r.path.clone(),
            speed: self.speed.unwrap_or(1.0),
            start_s: self.start_s.unwrap_or(0.0),
            looped: self.looped.unwrap_or(false).then(|| r.summary.period_s()),
        })
    }
}

impl Default for Load {
    fn default() -> Self {
        Load {
            model: Model::Idle,
            messages_per_bot_per_min: 0.0,
            active_bots: default_active(),
            zipf_s: 0.0,
            callback_share: 0.0,
            users_per_bot: default_users(),
            burst_every_s: None,
            burst_spread_ms: None,
            ramp_from: None,
            diurnal: None,
            conversation: None,
            groups: None,
            trace: None,
            speed: None,
            looped: None,
            start_s: None,
            replay: None,
        }
    }
}

impl Load {
    /// Average messages per second over all bots.
    pub fn mean_rate_per_s(&self, bots: u64) -> f64 {
        if self.model == Model::Idle {
            return 0.0;
        }
        if self.model == Model::Replay {
            return self
                .replay
                .as_ref()
                .map_or(0.0, |r| r.summary.mean_per_s() * self.speed.unwrap_or(1.0));
        }
        let per_bot = match self.model {
            Model::Ramp => {
                (self.ramp_from.unwrap_or(0.0) + self.messages_per_bot_per_min) / 2.0 / 60.0
            }
            _ => self.messages_per_bot_per_min / 60.0,
        };
        active_count(bots, self.active_bots) as f64 * per_bot
    }

    /// Highest messages per second over all bots at any moment of the window.
    pub fn peak_rate_per_s(&self, bots: u64) -> f64 {
        if self.model == Model::Idle {
            return 0.0;
        }
        if self.model == Model::Replay {
            return self
                .replay
                .as_ref()
                .map_or(0.0, |r| r.summary.peak_per_s * self.speed.unwrap_or(1.0));
        }
        let per_bot = self
            .messages_per_bot_per_min
            .max(self.ramp_from.unwrap_or(0.0))
            / 60.0;
        let daily_peak = self.diurnal.as_ref().map_or(1.0, Diurnal::max_multiplier);
        active_count(bots, self.active_bots) as f64 * per_bot * daily_peak
    }
}

/// Bots that get traffic: `ceil(bots × share)`, at least one when the share is positive.
pub fn active_count(bots: u64, share: f64) -> u64 {
    if share <= 0.0 || bots == 0 {
        return 0;
    }
    ((bots as f64 * share).ceil() as u64).clamp(1, bots)
}

/// How the SUT is started.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The reference long/short polling server (`polling-bot`).
    Polling,
    /// The reference webhook server (`webhook-bot`).
    Webhook,
    /// The reference hybrid server (`hybrid-bot`): webhooks, polling as fallback.
    Hybrid,
    /// Any bot server: `command` is run.
    Command,
    /// A function on the emulated AWS Lambda (`mock-lambda`): `function` runs in execution
    /// environments started on demand behind a function URL; tgbench registers the webhooks.
    Serverless,
    /// A SUT tgbench does not start (another host, a cluster): it learns its tokens from
    /// `tokens_file` or the control API and reaches the mock at `[telegram] listen`.
    External,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Polling => "polling",
            Kind::Webhook => "webhook",
            Kind::Hybrid => "hybrid",
            Kind::Command => "command",
            Kind::Serverless => "serverless",
            Kind::External => "external",
        }
    }

    /// The reference binary for this kind (none for `command`).
    pub fn reference_binary(self) -> Option<&'static str> {
        match self {
            Kind::Polling => Some("polling-bot"),
            Kind::Webhook => Some("webhook-bot"),
            Kind::Hybrid => Some("hybrid-bot"),
            Kind::Command | Kind::Serverless | Kind::External => None,
        }
    }
}

/// A serverless SUT's `function`: a reference function or any runtime's command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Function {
    /// `"webhook-lambda"`: the reference webhook bot on `lambda_runtime`.
    Reference(String),
    /// Program and arguments of a runtime speaking the Lambda Runtime API.
    Command(Vec<String>),
}

/// The reference functions a serverless SUT may name.
pub const REFERENCE_FUNCTIONS: &[&str] = &["webhook-lambda"];

impl<'de> Deserialize<'de> for Function {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Name(String),
            Command(Vec<String>),
        }
        let expected = || {
            serde::de::Error::custom(
                "expected \"webhook-lambda\" (the reference function) or a command, e.g. [\"python3\", \"function.py\"]",
            )
        };
        match Raw::deserialize(d).map_err(|_| expected())? {
            Raw::Name(n) if REFERENCE_FUNCTIONS.contains(&n.as_str()) => Ok(Function::Reference(n)),
            Raw::Name(_) => Err(expected()),
            Raw::Command(c) => Ok(Function::Command(c)),
        }
    }
}

/// AWS's documented memory range for a function, MB.
pub const FUNCTION_MEMORY_MB: std::ops::RangeInclusive<u32> = 128..=10_240;

/// A serverless SUT's function configuration, defaults applied (AWS's: 128 MB, 3 s,
/// concurrency 1,000; keep-warm 600 s as observed on AWS).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerlessSpec {
    pub function: Function,
    pub memory_mb: u32,
    pub concurrency: u32,
    pub keep_warm_s: f64,
    pub timeout_s: f64,
    pub arch: Arch,
    pub front_door: FrontDoor,
}

/// When a started SUT counts as ready, so the window can start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum Ready {
    /// Every bot has a getUpdates held (or recent).
    Polling,
    /// Every bot has a webhook set.
    Webhook,
    /// Every bot is polling or has a webhook set (hybrid servers).
    Any,
    /// At once.
    None,
    /// This URL answers 2xx to GET. `{listen}` is replaced by TGBENCH_LISTEN.
    Url(String),
}

impl From<Ready> for String {
    fn from(r: Ready) -> String {
        r.to_string()
    }
}

impl fmt::Display for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ready::Polling => f.write_str("polling"),
            Ready::Webhook => f.write_str("webhook"),
            Ready::Any => f.write_str("any"),
            Ready::None => f.write_str("none"),
            Ready::Url(u) => f.write_str(u),
        }
    }
}

impl<'de> Deserialize<'de> for Ready {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "polling" => Ok(Ready::Polling),
            "webhook" => Ok(Ready::Webhook),
            "any" => Ok(Ready::Any),
            "none" => Ok(Ready::None),
            u if u.starts_with("http://") || u.starts_with("https://") => {
                Ok(Ready::Url(u.to_string()))
            }
            _ => Err(serde::de::Error::custom(
                "expected one of polling, webhook, any, none, or a health URL like \"http://{listen}/health\"",
            )),
        }
    }
}

/// A set of CPUs for `taskset -c`: `"1"`, `"0-1"`, `"1,3"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct CpuList(pub Vec<usize>);

impl From<CpuList> for String {
    fn from(c: CpuList) -> String {
        c.to_string()
    }
}

impl fmt::Display for CpuList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|c| c.to_string()).collect();
        f.write_str(&parts.join(","))
    }
}

impl CpuList {
    pub fn parse(s: &str) -> Result<CpuList, String> {
        let bad = || format!("expected CPU numbers like \"1\", \"0-1\" or \"1,3\", got \"{s}\"");
        let mut cpus = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            if let Some((a, b)) = part.split_once('-') {
                let a: usize = a.trim().parse().map_err(|_| bad())?;
                let b: usize = b.trim().parse().map_err(|_| bad())?;
                if a > b {
                    return Err(bad());
                }
                cpus.extend(a..=b);
            } else {
                cpus.push(part.parse().map_err(|_| bad())?);
            }
        }
        cpus.sort_unstable();
        cpus.dedup();
        if cpus.is_empty() {
            return Err(bad());
        }
        Ok(CpuList(cpus))
    }
}

impl<'de> Deserialize<'de> for CpuList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            One(u64),
        }
        let text = match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "expected CPU numbers as a string, like \"1\", \"0-1\" or \"1,3\"",
            )
        })? {
            Raw::Text(t) => t,
            Raw::One(n) => n.to_string(),
        };
        CpuList::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `[[sut]]`: one system under test.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sut {
    pub name: String,
    pub kind: Kind,
    /// What the SUT is, in words for the reports: framework and version, runtime, the
    /// settings that matter ("grammY 1.46.0 on Node.js; bot.start() per bot"). Free text.
    #[serde(default)]
    pub about: Option<String>,
    /// Extra arguments (for reference kinds, after the binary; for `command`, after it).
    #[serde(default)]
    pub args: Vec<String>,
    /// Program and arguments, for `kind = "command"`.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// CPUs to pin the SUT to, where the machine allows.
    #[serde(default)]
    pub cpus: Option<CpuList>,
    /// CPU budget in cores (0.25 = a quarter of one core), enforced by the cgroup CPU
    /// controller; the run is refused where there is none.
    #[serde(default)]
    pub cpu_quota: Option<f64>,
    /// Default: polling → polling, webhook → webhook, hybrid and command → any.
    #[serde(default)]
    pub ready: Option<Ready>,
    #[serde(default = "default_ready_timeout_s")]
    pub ready_timeout_s: f64,
    /// After SIGTERM, how long to wait before SIGKILL.
    #[serde(default = "default_stop_timeout_s")]
    pub stop_timeout_s: f64,
    #[serde(default)]
    pub telegram: Option<TelegramOverride>,
    /// `kind = "serverless"` only: the function, its memory (128-10,240 MB), reserved
    /// concurrency, keep-warm, timeout, architecture and front door (for prices).
    #[serde(default)]
    pub function: Option<Function>,
    #[serde(default)]
    pub memory_mb: Option<u32>,
    #[serde(default)]
    pub concurrency: Option<u32>,
    #[serde(default)]
    pub keep_warm_s: Option<f64>,
    #[serde(default)]
    pub timeout_s: Option<f64>,
    #[serde(default)]
    pub arch: Option<Arch>,
    #[serde(default)]
    pub front_door: Option<FrontDoor>,
    /// Processes of the SUT started side by side, each told `TGBENCH_SHARD=i/N` (default 1).
    #[serde(default)]
    pub replicas: Option<u32>,
    /// `kind = "external"`: where tgbench writes the bots' tokens (one a line) before the run.
    #[serde(default)]
    pub tokens_file: Option<std::path::PathBuf>,
    /// CPU and memory from Prometheus instead of /proc (`[sut.metrics]`).
    #[serde(default)]
    pub metrics: Option<Metrics>,
    /// A reverse proxy tgbench starts in front of a webhook SUT (Telegram delivers to it);
    /// its processes are measured beside the app's.
    #[serde(default)]
    pub proxy: Option<Proxy>,
}

/// `[[sut]] proxy`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Proxy {
    /// Debian's nginx: TLS on the public port when the run is HTTPS, `location /webhook/`
    /// → `proxy_pass` to the app, `proxy_read_timeout 60s`.
    Nginx,
}

impl Sut {
    /// How many processes of it run side by side (`replicas`, default 1).
    pub fn replica_count(&self) -> u32 {
        self.replicas.unwrap_or(1)
    }

    pub fn ready(&self) -> Ready {
        self.ready.clone().unwrap_or(match self.kind {
            Kind::Polling => Ready::Polling,
            Kind::Webhook | Kind::Serverless => Ready::Webhook,
            Kind::Hybrid | Kind::Command | Kind::External => Ready::Any,
        })
    }

    /// The function configuration of a `kind = "serverless"` SUT with its `function`
    /// (None otherwise), defaults applied.
    pub fn serverless(&self) -> Option<ServerlessSpec> {
        if self.kind != Kind::Serverless {
            return None;
        }
        Some(ServerlessSpec {
            function: self.function.clone()?,
            memory_mb: self.memory_mb.unwrap_or(128),
            concurrency: self.concurrency.unwrap_or(1000),
            keep_warm_s: self.keep_warm_s.unwrap_or(600.0),
            timeout_s: self.timeout_s.unwrap_or(3.0),
            arch: self.arch.unwrap_or_default(),
            front_door: self.front_door.unwrap_or_default(),
        })
    }

    /// The serverless-only keys this SUT sets, by name.
    fn serverless_keys(&self) -> Vec<&'static str> {
        [
            ("function", self.function.is_some()),
            ("memory_mb", self.memory_mb.is_some()),
            ("concurrency", self.concurrency.is_some()),
            ("keep_warm_s", self.keep_warm_s.is_some()),
            ("timeout_s", self.timeout_s.is_some()),
            ("arch", self.arch.is_some()),
            ("front_door", self.front_door.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect()
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

/// A scenario that cannot be used: one or more problems, each naming file, line and key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ScenarioError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// One problem in a scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: String,
    pub line: Option<usize>,
    /// `[load] model`, `[[sut]] #2 command`, or empty for the file as a whole.
    pub key: String,
    /// The value as written, when the problem is a value.
    pub value: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        if !self.key.is_empty() {
            f.write_str(&self.key)?;
            if let Some(v) = &self.value {
                write!(f, " = {v}")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

impl ScenarioError {
    fn one(file: &str, message: String) -> Self {
        ScenarioError {
            problems: vec![Problem {
                file: file.to_string(),
                line: None,
                key: String::new(),
                value: None,
                message,
            }],
        }
    }
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

/// Turns a toml/serde error into a problem naming line and key, in plain words.
fn from_toml_error(e: &toml::de::Error, file: &str, loc: &Locator<'_>) -> Problem {
    let message = e.message().trim().to_string();
    let span = e.span();
    let line = span.as_ref().map(|s| loc.line_of(s.start));
    let found = span.as_ref().and_then(|s| loc.at(s.start));
    let mut key = found
        .as_ref()
        .map(|f| locate::render(&f.path))
        .unwrap_or_default();
    let found_any = found.is_some();
    let mut value = found.and_then(|f| f.value);

    let message = if let Some(rest) = message.strip_prefix("unknown field ") {
        // "unknown field `botz`, expected one of `bots`, `rtt_ms`"
        let (field, allowed) = split_expected(rest);
        if key.is_empty() {
            key = field;
        }
        value = None;
        format!("unknown key; expected one of {allowed}")
    } else if let Some(rest) = message.strip_prefix("unknown variant ") {
        let (_, allowed) = split_expected(rest);
        format!("expected one of {allowed}")
    } else if let Some(rest) = message.strip_prefix("missing field ") {
        value = None;
        format!("missing key {} (required)", rest.replace('`', ""))
    } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
        plain_types(&message)
    } else if span.is_some() && !found_any && key.is_empty() {
        format!("TOML syntax: {}", first_line(&message))
    } else {
        plain_types(&message)
    };
    Problem {
        file: file.to_string(),
        line,
        key,
        value,
        message,
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// "`x`, expected one of `a`, `b`" → ("x", "a, b").
fn split_expected(rest: &str) -> (String, String) {
    let (what, allowed) = rest.split_once(", expected").unwrap_or((rest, ""));
    let allowed = allowed
        .trim()
        .trim_start_matches("one of")
        .trim_start_matches("a ")
        .trim()
        .replace('`', "");
    (what.replace('`', ""), allowed)
}

/// Serde's Rust type names in words a scenario author reads.
fn plain_types(message: &str) -> String {
    message
        .replace("expected f64", "expected a number")
        .replace("expected u64", "expected a whole number ≥ 0")
        .replace("expected u32", "expected a whole number ≥ 0")
        .replace("expected a boolean", "expected true or false")
}

/// The line of a path, for callers that report their own problems (used in tests).
pub fn line_of(text: &str, path: &[Seg]) -> Option<usize> {
    Locator::new(text).line_of_path(path)
}

#[cfg(test)]
mod tests;
