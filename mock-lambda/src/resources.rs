//! Sizing, freezing and measuring execution environments: with control groups (memory
//! limit, CPU quota proportional to memory, freezer, kernel accounting) where this machine
//! offers them, else with signals and `/proc` sampling; and [`Enforcement`], the record of
//! which was in force, so no figure pretends to a limit that was not applied.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use tgbench_cgroup::{CgroupError, Cgroups, Group, Version};

use crate::config::{FunctionConfig, MB_PER_VCPU, ResourceMode};
use crate::procfs::{self, ProcUsage};

/// How often a running environment's memory is checked without control groups.
pub const RSS_SAMPLE: Duration = Duration::from_millis(100);

/// What limited and measured the environments of a run. Part of the stats, so results
/// say it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enforcement {
    /// `cgroup-v1`, `cgroup-v2` or `signals`.
    pub mechanism: String,
    pub memory_limit: String,
    pub cpu_limit: String,
    pub freeze: String,
    pub accounting: String,
    /// Why control groups were not used, when they were not.
    pub fallback_reason: Option<String>,
}

/// The group every run's group is made in.
pub const PARENT_GROUP: &str = "tgbench";

/// Whether a run group's owner (`<name>-<pid>-<n>`) is no longer running: a process that
/// was killed (SIGKILL skips every cleanup) left it, maybe with frozen processes in it.
fn owner_is_gone(name: &str) -> bool {
    let mut parts = name.rsplit('-');
    let _n = parts.next();
    parts
        .next()
        .and_then(|pid| pid.parse::<u32>().ok())
        .is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
}

/// Removes the control groups that platforms killed without cleanup (SIGKILL) left
/// beneath [`PARENT_GROUP`], killing what still runs in them (frozen environments are
/// thawed to die). Every platform does it when it starts; a supervisor that killed one can
/// do it at once. Returns the groups removed (none where cgroups are not available).
pub fn remove_stale_groups() -> Vec<String> {
    let Ok(cgroups) = Cgroups::detect() else {
        return Vec::new();
    };
    let removed = cgroups.remove_stale(PARENT_GROUP, owner_is_gone);
    for stale in &removed {
        tracing::info!(
            "removed the control group {PARENT_GROUP}/{stale} of a process that is gone"
        );
    }
    removed
}

/// The platform's means: a run's parent group, or signals.
#[derive(Debug)]
pub enum Backend {
    Cgroups { run: Arc<Group> },
    Signals,
}

/// Resources could not be set up as asked.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    #[error("control groups were required (resources = cgroups) and cannot be used")]
    Required(#[source] CgroupError),
    #[error("cannot set up the environment's control group")]
    Group(#[source] CgroupError),
}

impl Backend {
    /// The backend `config.resources` asks for, and the record of it. `run_name` names the
    /// run's group (`tgbench/<run_name>`).
    pub fn new(
        config: &FunctionConfig,
        run_name: &str,
    ) -> Result<(Backend, Enforcement), ResourceError> {
        let attempt = || -> Result<(Version, String, Group), CgroupError> {
            let cgroups = Cgroups::detect()?;
            remove_stale_groups();
            let group = cgroups.create(&format!("{PARENT_GROUP}/{run_name}"))?;
            Ok((cgroups.version(), cgroups.describe(), group))
        };
        let fallback_reason = match config.resources {
            ResourceMode::Signals => "resources = signals was asked for".to_owned(),
            mode => match attempt() {
                Ok((version, where_, group)) => {
                    let enforcement = cgroup_enforcement(config, version, &where_);
                    let run = Arc::new(group);
                    return Ok((Backend::Cgroups { run }, enforcement));
                }
                Err(e) if mode == ResourceMode::Cgroups => return Err(ResourceError::Required(e)),
                Err(e) => error_chain(&e),
            },
        };
        let mb = config.memory_mb;
        let enforcement = Enforcement {
            mechanism: "signals".into(),
            memory_limit: format!(
                "sampled: the RSS of the environment's process group every {} ms; above \
                 {mb} MB the environment is killed (a spike between samples is missed)",
                RSS_SAMPLE.as_millis()
            ),
            cpu_limit: format!(
                "NOT enforced: the environment may use whole cores, not the {:.3} vCPU AWS \
                 gives {mb} MB",
                config.vcpus()
            ),
            freeze: "SIGSTOP / SIGCONT to the environment's process group".into(),
            accounting: "/proc of the live processes of the environment's process group".into(),
            fallback_reason: Some(fallback_reason),
        };
        Ok((Backend::Signals, enforcement))
    }

    /// The resources of environment `id`.
    pub fn environment(
        &self,
        config: &FunctionConfig,
        id: u64,
    ) -> Result<EnvResources, ResourceError> {
        match self {
            Backend::Cgroups { run } => {
                let group = run
                    .child(&format!("env-{id}"))
                    .map_err(ResourceError::Group)?;
                group
                    .set_memory_limit(config.memory_bytes())
                    .map_err(ResourceError::Group)?;
                group
                    .set_cpu_limit(config.vcpus())
                    .map_err(ResourceError::Group)?;
                Ok(EnvResources::Cgroup(group))
            }
            Backend::Signals => Ok(EnvResources::Signals {
                pgid: std::sync::OnceLock::new(),
                limit_bytes: config.memory_bytes(),
            }),
        }
    }
}

/// An error and its causes on one line, `outer: inner: root`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn cgroup_enforcement(config: &FunctionConfig, version: Version, where_: &str) -> Enforcement {
    let mb = config.memory_mb;
    let (mechanism, memory_file, cpu_file, freezer) = match version {
        Version::V1 => (
            "cgroup-v1",
            "memory.limit_in_bytes (and memory.memsw.limit_in_bytes where swap is accounted)",
            "cpu.cfs_quota_us",
            "cgroup v1 freezer (freezer.state FROZEN)",
        ),
        Version::V2 => (
            "cgroup-v2",
            "memory.max (memory.swap.max 0)",
            "cpu.max",
            "cgroup v2 freezer (cgroup.freeze)",
        ),
    };
    Enforcement {
        mechanism: mechanism.into(),
        memory_limit: format!(
            "enforced: {memory_file} = {mb} MiB; the kernel's OOM killer acts above it"
        ),
        cpu_limit: format!(
            "enforced: {cpu_file}, {:.3} vCPU ({mb} MB / {MB_PER_VCPU} MB per vCPU)",
            config.vcpus()
        ),
        freeze: freezer.into(),
        accounting: format!(
            "the kernel's per-group CPU and memory counters (every process that ran), {where_}"
        ),
        fallback_reason: None,
    }
}

/// One environment's means of limiting, freezing, measuring and killing.
#[derive(Debug)]
pub enum EnvResources {
    Cgroup(Group),
    Signals {
        pgid: std::sync::OnceLock<i32>,
        limit_bytes: u64,
    },
}

/// An environment's figures now.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EnvUsage {
    pub cpu: Duration,
    pub memory_bytes: u64,
    /// The most memory charged so far, where the kernel keeps it.
    pub peak_bytes: Option<u64>,
}

impl EnvResources {
    /// The command that starts `program` inside these resources: with a control group, a
    /// `sh` launcher writes its own pid into the group's `cgroup.procs` files and then
    /// execs the program, so the runtime's first instruction is already limited and
    /// counted.
    pub fn command(&self, program: &PathBuf, args: &[String]) -> Command {
        match self {
            EnvResources::Cgroup(group) => {
                let mut command = Command::new("/bin/sh");
                command
                    .arg("-c")
                    .arg(group.launcher_script())
                    .arg(program)
                    .args(args);
                command
            }
            EnvResources::Signals { .. } => {
                let mut command = Command::new(program);
                command.args(args);
                command
            }
        }
    }

    /// The control group's directory, if the environment has one.
    pub fn group_path(&self) -> Option<String> {
        match self {
            EnvResources::Cgroup(group) => Some(group.path().display().to_string()),
            EnvResources::Signals { .. } => None,
        }
    }

    /// Records the started process (its pid is its process group's id).
    pub fn started(&self, pid: u32) {
        if let EnvResources::Signals { pgid, .. } = self {
            let _ = pgid.set(pid as i32);
        }
    }

    /// Stops every process of the environment (blocking: run it off the async threads).
    pub fn freeze(&self) -> Result<(), CgroupError> {
        match self {
            EnvResources::Cgroup(group) => group.freeze(),
            EnvResources::Signals { pgid, .. } => {
                signal_group(pgid.get().copied(), Signal::SIGSTOP);
                Ok(())
            }
        }
    }

    /// Lets the environment run again.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        match self {
            EnvResources::Cgroup(group) => group.thaw(),
            EnvResources::Signals { pgid, .. } => {
                signal_group(pgid.get().copied(), Signal::SIGCONT);
                Ok(())
            }
        }
    }

    /// CPU and memory now.
    pub fn usage(&self) -> EnvUsage {
        match self {
            EnvResources::Cgroup(group) => {
                let memory = group.memory().ok();
                EnvUsage {
                    cpu: group.cpu_usage().unwrap_or_default(),
                    memory_bytes: memory.map_or(0, |m| m.current),
                    peak_bytes: memory.and_then(|m| m.peak),
                }
            }
            EnvResources::Signals { pgid, .. } => {
                let ProcUsage { cpu, rss_bytes, .. } = pgid
                    .get()
                    .copied()
                    .map(procfs::group_usage)
                    .unwrap_or_default();
                EnvUsage {
                    cpu,
                    memory_bytes: rss_bytes,
                    peak_bytes: None,
                }
            }
        }
    }

    /// Whether memory went over the limit: the kernel killed a process of the group, or
    /// (without control groups) the sampled RSS is above the limit.
    pub fn out_of_memory(&self) -> bool {
        match self {
            EnvResources::Cgroup(group) => group.oom_kills().is_ok_and(|n| n > 0),
            EnvResources::Signals { pgid, limit_bytes } => pgid
                .get()
                .is_some_and(|&g| procfs::group_usage(g).rss_bytes > *limit_bytes),
        }
    }

    /// Kills every process of the environment and waits until they are gone (blocking).
    pub fn kill(&self) {
        match self {
            EnvResources::Cgroup(group) => {
                if let Err(e) = group.kill_all() {
                    tracing::warn!("killing an environment: {e}");
                }
            }
            EnvResources::Signals { pgid, .. } => {
                signal_group(pgid.get().copied(), Signal::SIGKILL);
            }
        }
    }
}

fn signal_group(pgid: Option<i32>, signal: Signal) {
    if let Some(pgid) = pgid {
        // ESRCH: the group is already gone.
        let _ = killpg(Pid::from_raw(pgid), signal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_groups_of_dead_owners_are_stale() {
        assert!(!owner_is_gone(&format!("f-{}-0", std::process::id())));
        assert!(owner_is_gone("f-4294967295-0"));
        assert!(!owner_is_gone("no-pid-here"));
    }

    #[test]
    fn asking_for_signals_records_it_and_says_cpu_is_not_limited() {
        let mut config = FunctionConfig::new("/bin/true");
        config.resources = ResourceMode::Signals;
        let (backend, enforcement) = Backend::new(&config, "unit").unwrap();
        assert!(matches!(backend, Backend::Signals));
        assert_eq!(enforcement.mechanism, "signals");
        assert!(enforcement.cpu_limit.starts_with("NOT enforced"));
        assert!(enforcement.fallback_reason.is_some());
    }
}
