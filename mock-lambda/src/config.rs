//! [`FunctionConfig`]: the one function a platform runs, sized and limited as AWS Lambda's
//! function configuration is, and how the platform enforces it ([`ResourceMode`]).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// AWS's documented memory range, in MB.
pub const MEMORY_MB: std::ops::RangeInclusive<u32> = 128..=10_240;
/// AWS's documented timeout range, in seconds.
pub const TIMEOUT_S: std::ops::RangeInclusive<u64> = 1..=900;
/// The init phase's limit: a runtime that has not asked for its first event by then fails.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest shutdown phase AWS gives (with external extensions registered).
pub const MAX_SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// How long an idle environment runs on before it is frozen, by default: freezing and
/// thawing at every invocation cost the platform more than the rest of an invocation.
pub const FREEZE_AFTER: Duration = Duration::from_millis(100);
/// The longest `freeze_after` taken: past it an idle environment's leftover work would run
/// long enough to matter.
pub const MAX_FREEZE_AFTER: Duration = Duration::from_secs(1);
/// Memory that buys one full vCPU (AWS: "at 1,769 MB, a function has the equivalent of one
/// vCPU"); CPU is proportional below and above it.
pub const MB_PER_VCPU: f64 = 1769.0;

/// The instruction set the function is priced for (nothing is emulated: it runs natively).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    #[default]
    #[value(name = "x86_64")]
    X86_64,
    Arm64,
}

/// What stands in front of the function, for its price (requests reach it the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum FrontDoor {
    /// A Lambda function URL: no fee of its own.
    #[default]
    FunctionUrl,
    /// An API Gateway HTTP API: a fee per request it receives.
    ApiGatewayHttp,
}

/// How environments are limited, frozen and measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ResourceMode {
    /// Control groups when this machine offers them, else signals; the stats say which.
    #[default]
    Auto,
    /// Control groups or refuse to start.
    Cgroups,
    /// SIGSTOP/SIGCONT and `/proc` sampling (no CPU limit; memory checked by sampling).
    Signals,
}

/// Where environments' stdout and stderr go (AWS sends them to CloudWatch Logs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Logs {
    /// This process's stdout and stderr.
    Inherit,
    /// Nowhere.
    #[default]
    Discard,
    /// Appended to this file.
    File(PathBuf),
}

/// One function and how its platform runs it.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    /// `AWS_LAMBDA_FUNCTION_NAME`, and part of the ARN.
    pub name: String,
    /// The runtime's executable (`bootstrap` for `provided.al2023`).
    pub command: PathBuf,
    pub args: Vec<String>,
    /// `_HANDLER` (a custom runtime may ignore it).
    pub handler: String,
    /// `LAMBDA_TASK_ROOT` and the working directory (default: the command's folder).
    pub task_root: Option<PathBuf>,
    /// Memory in MB (128-10,240): the memory limit, the CPU share and the price.
    pub memory_mb: u32,
    /// Longest invocation (1-900 s); past it the environment is killed.
    pub timeout: Duration,
    /// Most environments at once (reserved concurrency); beyond it requests get 429.
    pub concurrency: usize,
    /// An environment idle this long is shut down (AWS does not document it; ~10 minutes
    /// has been observed).
    pub keep_warm: Duration,
    /// Longest init phase ([`INIT_TIMEOUT`] on AWS).
    pub init_timeout: Duration,
    /// The shutdown phase of a reaped environment (at most [`MAX_SHUTDOWN_GRACE`]): zero
    /// kills it at once, as AWS does a function without extensions; otherwise its runtime
    /// gets SIGTERM and this long to exit before SIGKILL, as AWS does once an extension is
    /// registered. An environment in its shutdown phase no longer counts toward
    /// `concurrency`.
    pub shutdown_grace: Duration,
    /// How long an environment stays idle before it is frozen ([`FREEZE_AFTER`] by
    /// default; zero freezes it as its runtime asks for the next event). An environment
    /// used again within it is neither frozen nor thawed.
    pub freeze_after: Duration,
    pub arch: Arch,
    pub front_door: FrontDoor,
    /// `AWS_REGION`, and part of the ARN.
    pub region: String,
    /// More environment variables (the function's configuration: `TGBENCH_*`, …).
    pub env: Vec<(String, String)>,
    pub resources: ResourceMode,
    pub logs: Logs,
    /// Width of one point of the concurrency-over-time series.
    pub series_period: Duration,
}

impl FunctionConfig {
    /// A function running `command` with AWS's defaults (128 MB, 3 s, concurrency 1,000)
    /// and a keep-warm of 600 s.
    pub fn new(command: impl Into<PathBuf>) -> Self {
        Self {
            name: "tgbench-function".into(),
            command: command.into(),
            args: Vec::new(),
            handler: "bootstrap".into(),
            task_root: None,
            memory_mb: 128,
            timeout: Duration::from_secs(3),
            concurrency: 1000,
            keep_warm: Duration::from_secs(600),
            init_timeout: INIT_TIMEOUT,
            shutdown_grace: Duration::ZERO,
            freeze_after: FREEZE_AFTER,
            arch: Arch::default(),
            front_door: FrontDoor::default(),
            region: "us-east-1".into(),
            env: Vec::new(),
            resources: ResourceMode::default(),
            logs: Logs::default(),
            series_period: Duration::from_secs(1),
        }
    }

    /// The vCPUs AWS gives this much memory: `memory_mb / 1,769`.
    pub fn vcpus(&self) -> f64 {
        f64::from(self.memory_mb) / MB_PER_VCPU
    }

    /// The memory limit in bytes (AWS's MB are MiB).
    pub fn memory_bytes(&self) -> u64 {
        u64::from(self.memory_mb) << 20
    }

    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME`, with a placeholder account.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:000000000000:function:{}",
            self.region, self.name
        )
    }

    /// The folder the function runs in.
    pub fn task_root(&self) -> PathBuf {
        self.task_root.clone().unwrap_or_else(|| {
            self.command
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."))
        })
    }

    /// Checks every value against AWS's limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field: &'static str, reason: String| Err(ConfigError { field, reason });
        if !MEMORY_MB.contains(&self.memory_mb) {
            return bad(
                "memory_mb",
                format!("{} is outside 128-10,240 MB", self.memory_mb),
            );
        }
        let timeout_s = self.timeout.as_secs_f64();
        if timeout_s < *TIMEOUT_S.start() as f64 || timeout_s > *TIMEOUT_S.end() as f64 {
            return bad("timeout_s", format!("{timeout_s} is outside 1-900 s"));
        }
        if self.concurrency == 0 {
            return bad("concurrency", "must be at least 1".into());
        }
        if self.init_timeout.is_zero() {
            return bad("init_timeout", "must be positive".into());
        }
        if self.shutdown_grace > MAX_SHUTDOWN_GRACE {
            return bad(
                "shutdown_grace",
                format!(
                    "{:?} is longer than AWS's shutdown phase (2 s)",
                    self.shutdown_grace
                ),
            );
        }
        if self.freeze_after > MAX_FREEZE_AFTER {
            return bad(
                "freeze_after",
                format!("{:?} is longer than 1 s", self.freeze_after),
            );
        }
        if self.series_period < Duration::from_millis(10) {
            return bad("series_period", "must be at least 10 ms".into());
        }
        let valid_name = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name {
            return bad(
                "name",
                format!("{:?} is not 1-64 of [A-Za-z0-9_-]", self.name),
            );
        }
        if let Some((key, _)) = self
            .env
            .iter()
            .find(|(k, _)| RESERVED_ENV.contains(&k.as_str()))
        {
            return bad("env", format!("{key} is set by the platform"));
        }
        Ok(())
    }
}

/// Variables the platform sets in every environment; a function's `env` may not set them.
pub const RESERVED_ENV: &[&str] = &[
    "AWS_LAMBDA_RUNTIME_API",
    "_HANDLER",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// A configuration value AWS would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("function configuration `{field}`: {reason}")]
pub struct ConfigError {
    pub field: &'static str,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_limits_are_enforced() {
        let ok = FunctionConfig::new("/bin/true");
        assert_eq!(ok.validate(), Ok(()));
        let field = |c: FunctionConfig| c.validate().unwrap_err().field;
        assert_eq!(
            field(FunctionConfig {
                memory_mb: 127,
                ..ok.clone()
            }),
            "memory_mb"
        );
        assert_eq!(
            field(FunctionConfig {
                timeout: Duration::from_secs(901),
                ..ok.clone()
            }),
            "timeout_s"
        );
        assert_eq!(
            field(FunctionConfig {
                concurrency: 0,
                ..ok.clone()
            }),
            "concurrency"
        );
        assert_eq!(
            field(FunctionConfig {
                env: vec![("AWS_LAMBDA_RUNTIME_API".into(), "x".into())],
                ..ok.clone()
            }),
            "env"
        );
        assert_eq!(
            field(FunctionConfig {
                shutdown_grace: Duration::from_millis(2001),
                ..ok.clone()
            }),
            "shutdown_grace"
        );
        assert_eq!(
            field(FunctionConfig {
                name: "a b".into(),
                ..ok
            }),
            "name"
        );
    }

    #[test]
    fn cpu_is_proportional_to_memory() {
        let mut c = FunctionConfig::new("/bin/true");
        c.memory_mb = 1769;
        assert_eq!(c.vcpus(), 1.0);
        c.memory_mb = 128;
        assert!((c.vcpus() - 0.0724).abs() < 0.0001);
        assert_eq!(c.task_root(), PathBuf::from("/bin"));
    }
}
