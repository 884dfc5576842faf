//! A deployment: the SUT as the run loop sees it — started, waited on until ready,
//! signalled, restarted and stopped by faults and by the run, its CPU and memory read
//! through a [`ResourceSource`] — without the run loop knowing its shape.
//!
//! Two shapes today. A process tree started from a scenario's `[[sut]]` (a reference
//! server or a `command`): one [`SutProcess`] with the environment contract, its readiness
//! checked against the mock, its tree sampled from /proc; with `replicas = N`, N of them
//! side by side, replica i told `TGBENCH_SHARD=i/N`, all with the same `TGBENCH_LISTEN`
//! (the reference webhook servers bind it with SO_REUSEPORT, so the kernel spreads the
//! mock's connections over them and any replica gets any bot's update: one address, as
//! behind a load balancer, and no sticky routing; ports of their own would hand each bot's
//! updates to its owner and test nothing of that). The fleet is ready when, together, its
//! replicas serve every bot; faults act on replica 0 (one instance of the fleet dies, the
//! others go on serving) and a restart starts again whichever replicas have exited; CPU
//! and memory are summed over the replicas and kept per replica. And a function on the emulated
//! Lambda (`kind = "serverless"`, [`super::serverless`]): the process is the platform,
//! ready once it answers and the deploy step has set every webhook, sampled as the
//! environments below it, with its own figures per window ([`Deployment::platform_stats`]).
//! A SUT tgbench does not start (`kind = "external"`): no process at all; its tokens are
//! written to its `tokens_file`, it is ready as the mock sees it (or by its health URL),
//! never signalled, and sampled by nothing here (`[sut.metrics]` or "not measured").
//! Other shapes (a proxy in front) belong here, behind the same methods.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use mock_telegram::{Mock, Stats};
use tgbench_reports::results::SutInfo;
use tokio::runtime::Handle;

use super::SutError;
use super::budget::CpuBudget;
use super::env::{SutEnv, SutTls, write_tokens};
use super::process::{Exit, Launch, SutProcess};
use super::ready::{Probe, Readiness, wait_ready};
use super::reference::command_line;
use super::resources::ResourceSource;
use super::serverless::Platform;
use crate::scenario::{Kind, Ready, Sut, secs};

/// What a deployment is started from.
pub struct Setup<'a> {
    /// The scenario's `[[sut]]`.
    pub sut: &'a Sut,
    /// Where the reference binaries are.
    pub impls: &'a Path,
    /// CPUs to pin it to (None: not pinned).
    pub cpus: Option<&'a [usize]>,
    /// The mock it talks to (its bots' tokens, its readiness) and its Bot API URL.
    pub mock: &'a Arc<Mock>,
    pub api_url: &'a str,
    /// Bots it must serve before it counts as ready.
    pub bots: usize,
    /// The runtime that sends readiness's health-URL requests.
    pub rt: Handle,
    /// Its output goes to `<logs>/<log_stem>.log`; after a restart, to
    /// `<logs>/<log_stem>-restart<n>.log`.
    pub logs: &'a Path,
    pub log_stem: String,
    /// HTTPS on both sides (`[telegram] tls`): the CA and the SUT's certificate.
    pub tls: Option<&'a SutTls>,
}

/// A started SUT. Dropping it kills whatever it started.
pub struct Deployment {
    /// Its processes, one per replica. First, so that they are killed before the rest (the
    /// tokens file) goes.
    procs: Vec<SutProcess>,
    name: String,
    kind: Kind,
    /// The scenario's `about` (what the SUT is), carried into results.
    about: Option<String>,
    /// Program and arguments, before pinning (what a restart starts again).
    command: Vec<String>,
    /// Each replica's environment (the scenario's `env`, plus `TGBENCH_SHARD` in a fleet).
    envs: Vec<BTreeMap<String, String>>,
    contract: SutEnv,
    cpus: Option<Vec<usize>>,
    logs: PathBuf,
    log_stem: String,
    stop_timeout: Duration,
    ready_timeout: Duration,
    readiness: Readiness,
    resources: ResourceSource,
    /// Restarts so far, per replica.
    restarts: Vec<u32>,
    /// The mock's counters when the SUT was last restarted.
    at_restart: Option<Stats>,
    /// The serverless shape's platform (None for a process tree).
    platform: Option<Platform>,
    /// Its CPU budget's control group (after `proc`: the SUT dies before its group goes).
    budget: Option<CpuBudget>,
}

impl Deployment {
    /// Prepares the environment contract (the mock's tokens, a listen port) and starts the
    /// SUT; it is not ready yet (see [`Deployment::wait_ready`]).
    pub fn start(setup: Setup<'_>) -> Result<Deployment, SutError> {
        let sut = setup.sut;
        let tokens: Vec<String> = setup.mock.bots().into_iter().map(|b| b.token).collect();
        let contract =
            SutEnv::prepare_with(setup.api_url, &tokens, setup.tls).map_err(|source| {
                SutError::Prepare {
                    sut: sut.name.clone(),
                    source,
                }
            })?;
        let platform = match sut.serverless() {
            Some(_) => Some(Platform::prepare(
                sut,
                setup.api_url,
                &contract,
                setup.mock.bots(),
                setup.rt.clone(),
            )?),
            None => None,
        };
        let command = match (&platform, sut.serverless()) {
            (Some(p), Some(spec)) => {
                let functions_log = setup.logs.join(format!("{}-functions.log", setup.log_stem));
                p.command_line(sut, &spec, setup.impls, &contract, &functions_log)?
            }
            _ => command_line(sut, setup.impls)?,
        };
        let readiness = Readiness::new(
            sut.ready(),
            setup.bots,
            setup.mock.clone(),
            contract.listen,
            setup.rt,
        );
        let budget = match sut.cpu_quota {
            Some(cores) => Some(CpuBudget::new(&sut.name, cores)?),
            None => None,
        };
        if let (Kind::External, Some(path)) = (sut.kind, &sut.tokens_file) {
            write_tokens(path, &tokens).map_err(|source| SutError::TokensFile {
                sut: sut.name.clone(),
                path: path.clone(),
                source,
            })?;
        }
        // An external SUT: nothing to start.
        let n = match sut.kind {
            Kind::External => 0,
            _ => sut.replica_count(),
        };
        let envs: Vec<BTreeMap<String, String>> = (0..n)
            .map(|i| {
                let mut env = sut.env.clone();
                if n > 1 {
                    env.insert("TGBENCH_SHARD".into(), format!("{i}/{n}"));
                }
                env
            })
            .collect();
        let mut procs = Vec::with_capacity(envs.len());
        for (i, env) in envs.iter().enumerate() {
            procs.push(SutProcess::start(Launch {
                name: &replica_name(&sut.name, i, envs.len()),
                command: command.clone(),
                env,
                contract: &contract,
                cpus: setup.cpus,
                log: Some(
                    &setup
                        .logs
                        .join(replica_log(&setup.log_stem, i, envs.len(), 0)),
                ),
                budget: budget.as_ref(),
            })?);
        }
        let pids: Vec<u32> = procs.iter().map(SutProcess::pid).collect();
        Ok(Deployment {
            name: sut.name.clone(),
            kind: sut.kind,
            about: sut.about.clone(),
            command,
            restarts: vec![0; envs.len()],
            envs,
            contract,
            cpus: setup.cpus.map(<[usize]>::to_vec),
            logs: setup.logs.to_path_buf(),
            log_stem: setup.log_stem,
            stop_timeout: secs(sut.stop_timeout_s),
            ready_timeout: secs(sut.ready_timeout_s),
            resources: match platform {
                Some(_) => ResourceSource::below(pids[0]),
                None => ResourceSource::replicas(&pids),
            },
            procs,
            readiness,
            at_restart: None,
            platform,
            budget,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The SUT as results describe it: the command as started (pinning and budget
    /// included), and its CPU budget.
    pub fn info(&self) -> SutInfo {
        SutInfo {
            name: self.name.clone(),
            kind: self.kind.as_str().to_string(),
            command: self
                .procs
                .first()
                .map(|p| p.command.clone())
                .unwrap_or_default(),
            about: self.about.clone(),
            cpu_quota: self.budget.as_ref().map(CpuBudget::record),
            replicas: (!self.procs.is_empty()).then_some(self.procs.len() as u32),
        }
    }

    /// When it counts as ready.
    pub fn ready_condition(&self) -> &Ready {
        self.readiness.condition()
    }

    /// Waits until it is ready, it exits, its `ready_timeout_s` passes or `cancel` is set;
    /// `progress` hears what is still missing. Returns how long it took.
    pub fn wait_ready(
        &self,
        cancel: &AtomicBool,
        progress: impl FnMut(&str),
    ) -> Result<Duration, SutError> {
        wait_ready(
            &self.name,
            &self.procs,
            &self.readiness.condition().to_string(),
            self.ready_timeout,
            cancel,
            || self.probe(),
            progress,
        )
    }

    /// Readiness now, after the deploy step of a serverless shape (run once the platform
    /// answers).
    fn probe(&self) -> Probe {
        if let Some(missing) = self.platform.as_ref().and_then(Platform::deploy) {
            return Probe::Waiting(missing);
        }
        self.readiness.probe()
    }

    /// After [`Deployment::restart`]: whether it is ready again (asked until it is).
    pub fn ready_again(&self) -> bool {
        if self.exited() {
            return false;
        }
        if let Some(p) = &self.platform
            && p.deploy().is_some()
        {
            return false;
        }
        match &self.at_restart {
            Some(base) => self.readiness.ready_since(base),
            None => matches!(self.readiness.probe(), Probe::Ready),
        }
    }

    /// Whether it has exited (on its own or from a signal): any of its replicas.
    pub fn exited(&self) -> bool {
        self.procs.iter().any(|p| p.exited().is_some())
    }

    /// How it ended, if it has (the first replica that exited).
    pub fn exit(&self) -> Option<Exit> {
        self.procs.iter().find_map(SutProcess::exit)
    }

    /// SIGTERM (`kill = false`) or SIGKILL to the whole SUT, without waiting (faults); in a
    /// fleet, to replica 0 only; nothing to an external SUT (validation refuses the faults
    /// that would ask).
    pub fn signal(&self, kill: bool) {
        if let Some(p) = self.procs.first() {
            p.signal(kill);
        }
    }

    /// Reaps what is left of every replica that exited and starts it again with the same
    /// environment.
    pub fn restart(&mut self) -> Result<(), SutError> {
        self.at_restart = Some(self.readiness.mock_stats());
        let n = self.procs.len();
        for i in 0..n {
            if self.procs[i].exited().is_none() {
                continue;
            }
            self.procs[i].stop(Duration::ZERO);
            self.restarts[i] += 1;
            let log = self
                .logs
                .join(replica_log(&self.log_stem, i, n, self.restarts[i]));
            self.procs[i] = SutProcess::start(Launch {
                name: &replica_name(&self.name, i, n),
                command: self.command.clone(),
                env: &self.envs[i],
                contract: &self.contract,
                cpus: self.cpus.as_deref(),
                log: Some(&log),
                budget: self.budget.as_ref(),
            })?;
            self.resources.set_root(i, self.procs[i].pid());
        }
        if let Some(p) = &self.platform {
            p.restarted();
        }
        Ok(())
    }

    /// Stops it: SIGTERM to every replica at once, up to its `stop_timeout_s`, then SIGKILL.
    pub fn stop(&mut self) {
        for p in &self.procs {
            p.signal(false);
        }
        for p in &mut self.procs {
            p.stop(self.stop_timeout);
        }
    }

    /// The serverless platform's figures now (None for other shapes, or when the platform
    /// does not answer); [`super::serverless::window`] turns two into a window's.
    pub fn platform_stats(&self) -> Option<mock_lambda::Stats> {
        self.platform.as_ref().and_then(Platform::stats)
    }

    /// Where its CPU and memory figures come from; follows restarts.
    pub fn resources(&self) -> ResourceSource {
        self.resources.clone()
    }
}

/// A replica's name in messages: the SUT's name, and which replica in a fleet.
fn replica_name(sut: &str, replica: usize, replicas: usize) -> String {
    if replicas > 1 {
        format!("{sut} (replica {replica})")
    } else {
        sut.to_string()
    }
}

/// A replica's log file: `<stem>.log`, `<stem>-r<i>.log` in a fleet, `-restart<n>` after
/// its n-th restart.
fn replica_log(stem: &str, replica: usize, replicas: usize, restarts: u32) -> String {
    let mut name = stem.to_string();
    if replicas > 1 {
        name.push_str(&format!("-r{replica}"));
    }
    if restarts > 0 {
        name.push_str(&format!("-restart{restarts}"));
    }
    name + ".log"
}
