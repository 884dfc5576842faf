//! The results file as serde types, from [`Results`] down: what the simulator writes and
//! the reports read. [`crate::JSON_SCHEMA`] describes the same fields for other readers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Error, SCHEMA_VERSION};

/// One results file: one scenario run, one entry in `runs` per SUT (and repetition).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Results {
    pub schema_version: u32,
    /// `tgbench` and its version.
    #[serde(default)]
    pub tool: Tool,
    pub scenario: ScenarioInfo,
    pub environment: Environment,
    /// RFC 3339, UTC.
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub finished_at: String,
    /// False when the run was interrupted (Ctrl-C, SUT crash, harness failure).
    #[serde(default = "yes")]
    pub complete: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete_reason: Option<String>,
    pub runs: Vec<Run>,
    /// Present for `tgbench capacity`: one curve per SUT.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity: Vec<CapacityCurve>,
    /// SUTs that failed (not ready, exited) in a run that went on with the next SUT
    /// (`tgbench claims`); their runs are missing or cut short.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_suts: Vec<SutFailure>,
}

/// A SUT that failed and why, as tgbench said it (first line: readiness, exit, stderr).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SutFailure {
    pub sut: String,
    pub reason: String,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// What was run: enough of the scenario to read a report without the TOML file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ScenarioInfo {
    pub name: String,
    /// Path of the scenario file as given, or `embedded:<name>`.
    #[serde(default)]
    pub file: String,
    pub duration_s: f64,
    #[serde(default)]
    pub warmup_s: f64,
    #[serde(default)]
    pub drain_s: f64,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub telegram: TelegramInfo,
    /// The `[load]` table as the scenario gave it (model, rates, shares).
    #[serde(default)]
    pub load: serde_json::Value,
    /// The `[slo]` table as the scenario gave it.
    #[serde(default)]
    pub slo: serde_json::Value,
}

/// The emulated Telegram a run used.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TelegramInfo {
    pub bots: u64,
    pub rtt_ms: f64,
    pub jitter_ms: f64,
    pub rate_limits: bool,
    /// Telegram's getUpdates anti-spin rules (same offset within 3 s / 0.5 s).
    pub anti_spin: bool,
    /// HTTPS on both sides (`[telegram] tls`): the Bot API and the webhooks.
    #[serde(default)]
    pub tls: bool,
}

/// The machine a run was measured on; figures mean little without it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Environment {
    pub cores: u32,
    pub cpu_model: String,
    pub os: String,
    #[serde(default)]
    pub kernel: String,
    pub git_revision: String,
    #[serde(default)]
    pub memory_total_mb: f64,
    #[serde(default)]
    pub open_files_limit: u64,
    /// How SUT and harness were placed on cores, e.g. "SUT on CPU 1, harness on CPU 0",
    /// or "not pinned: 1 core".
    #[serde(default)]
    pub pinning: String,
    /// Whether a SUT dies with tgbench even when tgbench is SIGKILLed (SUTs started under
    /// `setpriv --pdeathsig KILL`); `false` when `setpriv` was missing, so a killed tgbench
    /// could leave its SUT running. Absent in files written before this field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sut_dies_with_tgbench: Option<bool>,
}

/// One SUT measured once under the scenario's load.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Run {
    pub sut: SutInfo,
    /// 0-based repetition index (`repeat = N` in the scenario).
    #[serde(default)]
    pub repetition: u32,
    /// A named phase of the scenario (e.g. "idle", "active"), if it has phases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    pub bots: u64,
    /// Length of the measurement window actually measured, seconds.
    pub duration_s: f64,
    #[serde(default = "yes")]
    pub complete: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete_reason: Option<String>,
    pub latency_ms: Latency,
    /// The whole latency histogram, microseconds, HdrHistogram V2 serialized, base64.
    /// See [`crate::histogram`] to encode, decode and merge, and
    /// [`Latency::from_histogram`] for its summary.
    #[serde(default)]
    pub latency_histogram: String,
    /// Where the same replies' latency went, in two parts that add up to it; absent in
    /// files written before the split was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_split: Option<LatencySplit>,
    /// The SUT's CPU over the window; null when it was not measured (an external SUT
    /// without `[sut.metrics]`: `resources.source = "none"`), never 0 for unknown.
    pub cpu: Option<Cpu>,
    /// The SUT's memory over the window; null when it was not measured.
    pub memory: Option<Memory>,
    pub requests: Requests,
    pub updates: Updates,
    pub slo: Slo,
    #[serde(default)]
    pub timeseries: Vec<Sample>,
    /// The mock's (and harness's) own usage, never mixed into the SUT's.
    pub overhead: Overhead,
    /// How well the harness kept its schedule.
    #[serde(default)]
    pub harness: Harness,
    /// Telegram-specific accounting from the mock (empty getUpdates share, batch sizes,
    /// long-poll hold times, webhook deliveries in flight, retries, pending counts).
    #[serde(default)]
    pub telegram: serde_json::Value,
    /// Fault windows injected during the run (seconds from the window's start).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultWindow>,
    /// TLS handshakes in this window (through its drain), when the run was over HTTPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsRun>,
    /// The emulated function platform's figures for this window (`kind = "serverless"`
    /// SUTs; null for every other shape).
    #[serde(default)]
    pub serverless: Option<Serverless>,
    /// Where `cpu` and `memory` came from, and the figures of each replica of a fleet.
    /// Absent in files written before it existed (then: /proc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
}

/// Where a run's CPU and memory figures came from, and each part's share.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Resources {
    /// `proc` (sampled from /proc by tgbench), `prometheus` (queried over the window from
    /// `[sut.metrics]`), or `none` (not measured: an external SUT without metrics; `cpu`
    /// and `memory` then say nothing).
    pub source: String,
    /// Each part's figures (their sum is the run's `cpu` and `memory`): the replicas of a
    /// fleet, a proxy beside the app; empty for one process sampled from /proc.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartResources>,
}

/// One part of a SUT (a replica, the app, its proxy): its CPU and memory over the window.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PartResources {
    /// Its name: the replica's index for a local fleet (`"0"`, `"1"`), the value of
    /// `replica_label` for Prometheus (a pod's name); `"app"` and `"nginx"` for an app
    /// behind a proxy (`"0"`, `"1"`, `"nginx"` for a fleet behind one).
    pub name: String,
    pub cpu: Cpu,
    pub memory: Memory,
}

/// A window's TLS figures (`[telegram] tls = true`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TlsRun {
    pub handshakes: Handshakes,
}

/// TLS handshakes completed, each side as the mock saw it.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Handshakes {
    /// Connections the SUT opened to the Bot API (the mock accepted them over TLS).
    pub bot_api: u64,
    /// Connections the mock opened to the SUT's webhook endpoint over TLS.
    pub webhook: u64,
}

/// Each reply's latency (due → reply) in two parts, as the mock splits it: *in Telegram*,
/// due → handed out (the getUpdates answer that carried the update, or the start of the
/// webhook POST the bot answered: its latest hand-out before the reply), and *delivery to
/// reply*, handed out → reply (the trip to the bot, its processing, the reply's trip back).
/// Per reply the parts add up to the total exactly (µs); the summaries, ms, like `latency_ms`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LatencySplit {
    pub in_telegram: Latency,
    pub delivery_to_reply: Latency,
    /// The parts' histograms, µs, HdrHistogram V2 serialized, base64 (as `latency_histogram`).
    #[serde(default)]
    pub in_telegram_histogram: String,
    #[serde(default)]
    pub delivery_to_reply_histogram: String,
}

/// A serverless SUT's window as its platform (`mock-lambda`) counted it: invocations, cold
/// starts, throttling, failures, environments and the bill at the assumed prices.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Serverless {
    /// Invocations started (each one a billed request).
    pub invocations: u64,
    /// Invocations that had to start an environment.
    pub cold_starts: u64,
    /// Init phases (spawn to the runtime's first `/next`) of this window's cold starts, ms.
    pub init_ms: InitMs,
    /// Requests answered 429 at the concurrency limit (Telegram retries them).
    pub throttled: u64,
    pub errors: ServerlessErrors,
    /// Most environments busy at once.
    pub concurrency_peak: u64,
    pub environments_started: u64,
    /// Billed duration, invocations and init phases, each rounded up to 1 ms.
    pub billed_ms: u64,
    /// GB-seconds billed at the configured memory.
    pub billed_gb_s: f64,
    /// Init phases' share of `billed_ms`.
    #[serde(default)]
    pub init_billed_ms: u64,
    /// Requests the front door served (throttled ones too): what an API Gateway bills.
    #[serde(default)]
    pub requests: u64,
    /// The function's configured memory, MB (what GB-seconds are counted at).
    #[serde(default)]
    pub memory_mb: u32,
    /// Most environments the function may have at once (reserved concurrency).
    #[serde(default)]
    pub concurrency_limit: u64,
    /// Seconds an idle environment was kept before it was shut down.
    #[serde(default)]
    pub keep_warm_s: f64,
    /// The instruction set the function is priced for.
    #[serde(default)]
    pub arch: Arch,
    /// What stands in front of the function, for its fee.
    #[serde(default)]
    pub front_door: FrontDoor,
    /// USD at the assumed prices of `reports/prices.toml` when the run was written:
    /// requests, duration (with init) and front door. Reports price the usage above again
    /// with their own price file.
    pub cost: f64,
    /// CPU seconds the environments were charged (control groups or /proc).
    #[serde(default)]
    pub environments_cpu_s: f64,
    /// The platform's own CPU seconds in the window: overhead, not the function's.
    #[serde(default)]
    pub platform_cpu_s: f64,
    /// The platform's idle floor: its CPU ms per second while quiet (environments warm, no
    /// traffic), measured over the quiet stretches of the window and its drain. Absent when
    /// there were none, and in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_idle_cpu_ms_per_s: Option<f64>,
    /// What an invocation costs the platform above its idle floor, CPU ms:
    /// (`platform_cpu_s` − the floor over the window and drain) / `invocations`. Absent
    /// without a floor or without invocations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_marginal_cpu_ms: Option<f64>,
    /// How limits and freezing were enforced: `cgroup-v1`, `cgroup-v2` or `signals`.
    #[serde(default)]
    pub resources: String,
    /// The run's latency (due → reply, as `latency_ms`) split by whether the update's
    /// delivery started an environment. Absent in files written before the split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<ColdWarm>,
    /// Environments over time, one point per platform period (1 s), from the window's
    /// start through its drain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<ServerlessPoint>,
}

/// Latency of the updates whose delivery met a cold start, and of the rest: every reply
/// is in exactly one (`cold.count + warm.count` = the run's replies).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ColdWarm {
    pub cold: Latency,
    pub warm: Latency,
}

/// One period of a serverless run's timeline.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ServerlessPoint {
    /// Start of the period, seconds since the window started.
    pub t_s: f64,
    /// Most environments initializing or invoking at once in the period.
    pub busy: u64,
    /// Most environments alive (idle and frozen ones too).
    pub alive: u64,
    /// Environments started (cold starts) in the period.
    pub cold_starts: u64,
    pub invocations: u64,
    pub throttled: u64,
}

/// The instruction set a serverless function is priced for.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum Arch {
    #[default]
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

/// What stands in front of a serverless function: its fee per request.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FrontDoor {
    /// A Lambda function URL (no fee of its own).
    #[default]
    FunctionUrl,
    /// An API Gateway HTTP API.
    ApiGatewayHttp,
}

/// Init durations of cold starts, ms (0 when there were none).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InitMs {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// Failed invocations by AWS's error kind.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ServerlessErrors {
    /// `Sandbox.Timedout`: past `timeout_s`, the environment killed.
    pub timeout: u64,
    /// `Runtime.OutOfMemory`: above `memory_mb`, the environment killed.
    pub oom: u64,
    /// Everything else the function failed with: errors it reported, crashes, failed
    /// inits, invalid or oversized responses.
    pub function: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SutInfo {
    pub name: String,
    /// polling | webhook | hybrid | command
    pub kind: String,
    /// The command line that was started (program and arguments).
    #[serde(default)]
    pub command: Vec<String>,
    /// What the SUT is, as the scenario's `[[sut]] about` states it: framework and version,
    /// runtime, the settings that matter ("grammY 1.46.0 on Node.js; bot.start() per bot").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    /// The CPU budget the SUT was held to (`cpu_quota`), and how; absent when it had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<CpuQuota>,
    /// Processes of the SUT run side by side as one fleet (`[[sut]] replicas`), each a
    /// shard (`TGBENCH_SHARD`); absent in files written before it existed (one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// The proxy Telegram's deliveries passed through (`[[sut]] proxy`: `"nginx"`), whose
    /// processes count in the SUT's CPU and memory (`resources.parts` has the split);
    /// absent when there was none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
}

/// A SUT held to a share of the CPU by the kernel.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CpuQuota {
    /// The budget, in cores (0.25 = a quarter of one core).
    pub cores: f64,
    /// What enforced it, as read back from the kernel, e.g. "cgroup v1 cpu controller:
    /// cpu.cfs_quota_us = 25000, cpu.cfs_period_us = 100000".
    pub mechanism: String,
}

/// Latency from a simulated user's scheduled send to the bot's reply, milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Latency {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

/// CPU of a process tree, in percent of one core (can exceed 100 on several cores).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Cpu {
    pub mean_pct: f64,
    pub p95_pct: f64,
    pub max_pct: f64,
    /// CPU seconds consumed during the window.
    pub cpu_s: f64,
}

/// Resident memory of a process tree, MiB.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Memory {
    pub rss_mean_mb: f64,
    pub rss_peak_mb: f64,
}

/// Bot API requests the SUT made to the mock during the window (webhook deliveries the
/// mock made to the SUT are counted under `by_method["webhook"]`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Requests {
    pub total: u64,
    pub per_min: f64,
    pub by_method: BTreeMap<String, u64>,
    #[serde(default)]
    pub bytes_in: u64,
    #[serde(default)]
    pub bytes_out: u64,
}

/// Every update accounted for: `injected = replied + lost`; duplicates apart.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Updates {
    pub injected: u64,
    pub delivered: u64,
    pub replied: u64,
    pub lost: u64,
    pub duplicated: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Slo {
    pub passed: bool,
    #[serde(default)]
    pub checks: Vec<SloCheck>,
}

/// One SLO condition, e.g. `p99_ms <= 300`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SloCheck {
    pub name: String,
    pub limit: f64,
    pub measured: f64,
    pub passed: bool,
}

/// One sampling period of the window.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Sample {
    /// Seconds since the window started (negative during warm-up if recorded).
    pub t_s: f64,
    pub cpu_pct: f64,
    pub rss_mb: f64,
    /// The mock's own CPU in the same period.
    #[serde(default)]
    pub mock_cpu_pct: f64,
    /// Bot API requests in this period, by method.
    #[serde(default)]
    pub requests: BTreeMap<String, u64>,
    #[serde(default)]
    pub injected: u64,
    #[serde(default)]
    pub replied: u64,
    /// p99 latency of replies that closed in this period, ms (0 when none).
    #[serde(default)]
    pub p99_ms: f64,
    /// Updates pending in the mock at the sample instant.
    #[serde(default)]
    pub pending_updates: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Overhead {
    pub cpu: Cpu,
    pub memory: Memory,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Harness {
    /// How late messages were injected against their schedule, ms.
    pub injection_lag_p50_ms: f64,
    pub injection_lag_p99_ms: f64,
    pub injection_lag_max_ms: f64,
    /// True when the harness, not the SUT, was the bottleneck; `notes` says why.
    pub bottleneck: bool,
    /// The harness's CPU time per injected message, µs (its CPU seconds over the window
    /// divided by the messages injected in it); absent when none were injected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_us_per_message: Option<f64>,
    #[serde(default)]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FaultWindow {
    pub kind: String,
    pub start_s: f64,
    pub end_s: f64,
}

/// `tgbench capacity`: the bot counts tried for one SUT and the largest that held.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CapacityCurve {
    pub sut: String,
    #[serde(default)]
    pub kind: String,
    /// Largest bot count whose step met the SLO, if any did.
    pub max_bots: Option<u64>,
    /// What ended the search: "slo: p99_ms 812 > 300", "machine: open files (20000)",
    /// "end of steps", or along the replicas "the first step that held".
    pub stopped_by: String,
    pub steps: Vec<CapacityStep>,
    /// A search along the message rate (`[capacity] axis = "rate"`) at a fixed bot count;
    /// absent for a search along the bots (`max_bots` is then the figure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<RateCurve>,
    /// A search along the replicas (`[capacity] axis = "replicas"`) at a fixed bot count
    /// and load; absent otherwise (`max_bots` stays null on such a curve).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<ReplicaCurve>,
}

/// The figure of a capacity search along the replicas: how many are needed under the SLO.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ReplicaCurve {
    /// The fixed bot count of every step.
    pub bots: u64,
    /// The fewest replicas whose step met the SLO, if any did.
    pub needed: Option<u32>,
}

/// The figure of a capacity search along the message rate.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RateCurve {
    /// The fixed bot count of every step.
    pub bots: u64,
    /// Largest rate per bot whose step met the SLO, messages per minute, if any did.
    pub max_messages_per_bot_per_min: Option<f64>,
    /// The messages per second that step delivered (over every bot).
    pub max_messages_per_s: Option<f64>,
}

impl CapacityStep {
    /// The step's place on its curve: messages per second on a rate curve, replicas on a
    /// replica curve, else bots.
    pub fn x(&self) -> f64 {
        match (self.messages_per_bot_per_min, self.replicas) {
            (Some(_), _) => self.messages_per_s,
            (None, Some(n)) => f64::from(n),
            (None, None) => self.bots as f64,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CapacityStep {
    pub bots: u64,
    pub passed: bool,
    pub p99_ms: f64,
    pub lost: u64,
    /// The SUT's mean CPU, % of one core (the most of the step's runs); null when it was
    /// not measured (an external SUT without `[sut.metrics]`), never 0 for "unknown".
    pub cpu_mean_pct: Option<f64>,
    /// The SUT's peak RSS, MB; null when it was not measured.
    pub rss_peak_mb: Option<f64>,
    #[serde(default)]
    pub requests_per_min: f64,
    /// Why the step failed: an SLO check, or a limit of the machine rather than the SUT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// True when the step ended on a limit of this machine (open files, ports, memory).
    #[serde(default)]
    pub machine_limit: bool,
    /// On a rate curve: the step's rate per bot, messages per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages_per_bot_per_min: Option<f64>,
    /// On a rate curve: the messages per second injected over the step's window.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub messages_per_s: f64,
    /// On a replica curve: how many replicas of the SUT ran this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

impl Results {
    /// Parses a results file, checking the schema version.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        let version = value
            .get("schema_version")
            .and_then(|v| v.as_u64())
            .ok_or(Error::NoSchemaVersion)?;
        if version != u64::from(SCHEMA_VERSION) {
            return Err(Error::SchemaVersion(version));
        }
        Ok(serde_json::from_value(value)?)
    }
}
