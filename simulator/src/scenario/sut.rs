//! `[[sut]]`: one system under test — its kind (a reference server, any command, a
//! serverless function, an external SUT), how it is started, pinned, budgeted and judged
//! ready, and a serverless SUT's function configuration.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::{Arch, FrontDoor, Metrics, TelegramOverride};

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
    pub(super) fn serverless_keys(&self) -> Vec<&'static str> {
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

fn default_ready_timeout_s() -> f64 {
    30.0
}
fn default_stop_timeout_s() -> f64 {
    5.0
}
