//! [`Platform`]: one function's execution environments and the scheduling AWS does: an
//! idle environment if there is one (the most recently used), else a cold start while
//! fewer than `concurrency` environments exist, else a throttle; freezing between
//! invocations; reaping after `keep_warm`; and the stats, the Rust way to read them.
//!
//! An environment counts toward `concurrency` from its reservation until the platform
//! decides to end it (reaped, killed, or its runtime gone): one being shut down holds no
//! concurrency, as on AWS, however long its processes take to go.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{ConfigError, FunctionConfig};
use crate::driver;
use crate::environment::{Environment, KillReason, Phase};
use crate::invocation::{FunctionError, Invocation, Outcome};
use crate::procfs;
use crate::resources::{Backend, Enforcement, ResourceError, error_chain};
use crate::stats::{Overhead, Recorder, Stats};

/// Why a platform could not start.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Resources(#[from] ResourceError),
}

/// The environments of one function.
#[derive(Debug)]
pub struct Platform {
    config: FunctionConfig,
    enforcement: Enforcement,
    backend: Mutex<Option<Backend>>,
    recorder: Recorder,
    pool: Mutex<Pool>,
    next_id: AtomicU64,
    tasks: TaskTracker,
    cancel: CancellationToken,
}

#[derive(Debug, Default)]
struct Pool {
    /// Environments that count toward `concurrency`: initializing, idle or busy.
    envs: HashMap<u64, Arc<Environment>>,
    /// Environments being ended: their processes may still run, but they take no
    /// invocation and hold no concurrency.
    ending: HashMap<u64, Arc<Environment>>,
    /// Idle environments, most recently idle last.
    idle: Vec<u64>,
    /// Cold starts under way, not yet in `envs`.
    starting: usize,
    closed: bool,
}

/// What [`Platform::invoke`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Invoked {
    pub request_id: String,
    pub outcome: Outcome,
    /// Whether it started a new environment.
    pub cold: bool,
}

enum Acquired {
    Warm(Arc<Environment>),
    Cold(u64),
    Throttled,
}

impl Platform {
    /// A platform for `config`, with no environment yet; its reaper runs on the current
    /// tokio runtime. Control groups are set up here (`tgbench/<name>-<pid>-<n>`), or the
    /// fallback recorded.
    pub fn start(config: FunctionConfig) -> Result<Arc<Self>, PlatformError> {
        config.validate()?;
        static RUNS: AtomicU64 = AtomicU64::new(0);
        let run_name = format!(
            "{}-{}-{}",
            config.name,
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        );
        let (backend, enforcement) = Backend::new(&config, &run_name)?;
        let platform = Arc::new(Self {
            recorder: Recorder::new(config.series_period),
            config,
            enforcement,
            backend: Mutex::new(Some(backend)),
            pool: Mutex::new(Pool::default()),
            next_id: AtomicU64::new(1),
            tasks: TaskTracker::new(),
            cancel: CancellationToken::new(),
        });
        tokio::spawn(reap(Arc::downgrade(&platform), platform.cancel.clone()));
        Ok(platform)
    }

    pub fn config(&self) -> &FunctionConfig {
        &self.config
    }

    /// What limited and measured the environments.
    pub fn enforcement(&self) -> &Enforcement {
        &self.enforcement
    }

    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().expect("pool lock poisoned")
    }

    /// Runs `payload` on an environment (request id generated); waits for the outcome.
    pub async fn invoke(self: &Arc<Self>, payload: Bytes) -> Invoked {
        let (inv, outcome) = Invocation::new(payload);
        self.invoke_as(inv, outcome).await
    }

    /// [`Platform::invoke`] of an invocation made by the caller (the front door, which
    /// puts the request id in its event too).
    pub async fn invoke_as(
        self: &Arc<Self>,
        mut inv: Invocation,
        outcome: tokio::sync::oneshot::Receiver<Outcome>,
    ) -> Invoked {
        let request_id = inv.id.clone();
        let mut cold = false;
        loop {
            match self.acquire() {
                Acquired::Throttled => {
                    self.recorder.throttled();
                    return Invoked {
                        request_id,
                        outcome: Outcome::Throttled,
                        cold,
                    };
                }
                Acquired::Warm(env) => {
                    match env.dispatch(inv) {
                        Ok(()) => break,
                        // Its runtime died while idle: try another environment.
                        Err(back) => inv = back,
                    }
                }
                Acquired::Cold(id) => {
                    cold = true;
                    match self.cold_start(id, inv).await {
                        Ok(()) => break,
                        Err((back, error)) => {
                            let _ = back.reply.send(Outcome::Error(error));
                            break;
                        }
                    }
                }
            }
        }
        let outcome = outcome.await.unwrap_or_else(|_| {
            Outcome::Error(FunctionError::init(
                "Runtime.Unknown",
                "the environment ended without an answer",
            ))
        });
        Invoked {
            request_id,
            outcome,
            cold,
        }
    }

    /// An idle environment, a reservation for a new one, or a throttle.
    fn acquire(&self) -> Acquired {
        let mut pool = self.pool();
        if pool.closed {
            return Acquired::Throttled;
        }
        while let Some(id) = pool.idle.pop() {
            if let Some(env) = pool.envs.get(&id) {
                return Acquired::Warm(env.clone());
            }
        }
        if pool.envs.len() + pool.starting >= self.config.concurrency {
            return Acquired::Throttled;
        }
        pool.starting += 1;
        Acquired::Cold(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Starts environment `id` with `inv` as its first event.
    async fn cold_start(
        self: &Arc<Self>,
        id: u64,
        inv: Invocation,
    ) -> Result<(), (Invocation, FunctionError)> {
        let resources = {
            let backend = self.backend.lock().expect("backend lock poisoned");
            backend
                .as_ref()
                .map(|b| b.environment(&self.config, id))
                .transpose()
        };
        let started = match resources {
            Ok(Some(resources)) => driver::start(self, id, resources, inv)
                .await
                .map_err(|(inv, e)| (inv, error_chain(&e))),
            Ok(None) => Err((inv, "the platform is shut down".to_owned())),
            Err(e) => Err((inv, error_chain(&e))),
        };
        let mut pool = self.pool();
        pool.starting -= 1;
        match started {
            Ok(env) => {
                let phase = env.core().phase;
                if phase != Phase::Ended {
                    if env.is_retired() {
                        pool.ending.insert(id, env);
                    } else {
                        pool.envs.insert(id, env);
                    }
                }
                // Its first invocation may have ended before it was listed: offer it now.
                if phase == Phase::Idle && pool.envs.contains_key(&id) && !pool.idle.contains(&id) {
                    pool.idle.push(id);
                }
                Ok(())
            }
            Err((inv, why)) => {
                tracing::error!(env = id, "cold start failed: {why}");
                let message = format!("RequestId: {} Error: {why}", inv.id);
                Err((
                    inv,
                    FunctionError::init("Runtime.InvalidEntrypoint", &message),
                ))
            }
        }
    }

    /// Called by `/next` when `env` has nothing to do: offer it at once, and freeze it
    /// once it has stayed idle for `freeze_after` (a dispatch that comes first finds it
    /// not frozen, and the freeze is skipped).
    pub fn became_idle(self: &Arc<Self>, env: &Arc<Environment>) {
        {
            let mut pool = self.pool();
            if pool.envs.contains_key(&env.id) && !pool.idle.contains(&env.id) {
                pool.idle.push(env.id);
            }
        }
        let Some(since) = env.idle_since() else {
            return;
        };
        let weak = Arc::downgrade(env);
        let env_timer = env.clone();
        let env = env.clone();
        let platform = Arc::downgrade(self);
        let freeze = move || match env.freeze_if_idle(since) {
            Some(Ok(())) => {
                if let Some(p) = platform.upgrade() {
                    p.recorder.env_frozen(env.id);
                }
            }
            Some(Err(e)) => tracing::warn!(env = env.id, "freezing: {e}"),
            None => {}
        };
        let after = self.config.freeze_after;
        if after.is_zero() {
            tokio::task::spawn_blocking(freeze);
            return;
        }
        let timer = tokio::spawn(async move {
            tokio::time::sleep(after).await;
            // Used again meanwhile (a dispatch cancels this timer, but may race it).
            if weak.upgrade().and_then(|e| e.idle_since()) == Some(since) {
                tokio::task::spawn_blocking(freeze);
            }
        });
        env_timer.arm_freeze_timer(since, timer.abort_handle());
    }

    /// `env` is to be ended: from now on it takes no invocation and holds no concurrency,
    /// while its processes are stopped.
    pub fn retire(&self, env: &Arc<Environment>) {
        Self::retire_in(&mut self.pool(), env);
        self.recorder.env_ending(env.id);
    }

    fn retire_in(pool: &mut Pool, env: &Arc<Environment>) {
        env.mark_retired();
        pool.idle.retain(|&i| i != env.id);
        pool.envs.remove(&env.id);
        pool.ending.insert(env.id, env.clone());
    }

    /// Forgets environment `id` (its driver has ended it).
    pub fn remove(&self, id: u64) {
        let mut pool = self.pool();
        pool.envs.remove(&id);
        pool.ending.remove(&id);
        pool.idle.retain(|&i| i != id);
    }

    /// Keeps `future` (an environment's driver) among the tasks shutdown waits for.
    pub fn track(&self, future: impl Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(future);
    }

    /// Ends the environments idle for `keep_warm` or longer.
    fn reap_idle(&self) {
        let now = Instant::now();
        let mut pool = self.pool();
        let keep_warm = self.config.keep_warm;
        let expired: Vec<Arc<Environment>> = pool
            .idle
            .iter()
            .filter_map(|id| pool.envs.get(id))
            .filter(|e| now.duration_since(e.core().idle_since) >= keep_warm)
            .cloned()
            .collect();
        for env in &expired {
            Self::retire_in(&mut pool, env);
        }
        drop(pool);
        for env in expired {
            self.recorder.env_ending(env.id);
            env.kill(KillReason::Reaped);
        }
    }

    /// The figures now: counters, series, environments (live ones read now), the bill, and
    /// this process's own CPU and memory as overhead.
    pub fn stats(&self) -> Stats {
        let live: Vec<Arc<Environment>> = {
            let pool = self.pool();
            pool.envs
                .values()
                .chain(pool.ending.values())
                .cloned()
                .collect()
        };
        let live: Vec<_> = live.iter().map(|e| (e.id, e.usage())).collect();
        let me = procfs::self_usage();
        let overhead = Overhead {
            cpu_s: procfs::self_cpu().as_secs_f64(),
            rss_mb: me.rss_bytes as f64 / (1024.0 * 1024.0),
            scope: "the process hosting the platform (everything in it when embedded)".into(),
            idle_cpu_s: 0.0,
            idle_s: 0.0,
        };
        self.recorder
            .snapshot(&self.config, &self.enforcement, &live, overhead)
    }

    /// Stops taking invocations, ends every environment, waits for their drivers, and
    /// removes the control groups. The final stats.
    pub async fn shutdown(&self) -> Stats {
        self.cancel.cancel();
        let envs: Vec<Arc<Environment>> = {
            let mut pool = self.pool();
            pool.closed = true;
            pool.envs
                .values()
                .chain(pool.ending.values())
                .cloned()
                .collect()
        };
        for env in envs {
            env.kill(KillReason::Shutdown);
        }
        self.tasks.close();
        self.tasks.wait().await;
        let stats = self.stats();
        let backend = self.backend.lock().expect("backend lock poisoned").take();
        let _ = tokio::task::spawn_blocking(move || drop(backend)).await;
        stats
    }
}

/// The reaper: every twentieth of `keep_warm` (at least 10 ms, at most 5 s), so an idle
/// environment is reaped at most 5 % late, and a long keep-warm (AWS's ~600 s) costs an
/// idle platform one wake-up every 5 s, not every second: each costs about 0.1 ms of CPU
/// here, the platform's whole idle floor. It also keeps the quiet-period clock
/// ([`Recorder::idle_tick`]).
async fn reap(platform: std::sync::Weak<Platform>, cancel: CancellationToken) {
    let period = platform
        .upgrade()
        .map_or(Duration::from_secs(1), |p| reap_period(p.config.keep_warm));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(period) => {}
        }
        match platform.upgrade() {
            Some(p) => {
                p.reap_idle();
                p.recorder
                    .idle_tick(procfs::self_cpu(), p.config.freeze_after);
            }
            None => return,
        }
    }
}

/// How often the reaper looks: a twentieth of `keep_warm`, from 10 ms to 5 s.
fn reap_period(keep_warm: Duration) -> Duration {
    (keep_warm / 20).clamp(Duration::from_millis(10), Duration::from_secs(5))
}

impl Drop for Platform {
    /// A platform dropped without [`Platform::shutdown`] (a panic, a test's early
    /// return) still leaves nothing running: every environment's processes are killed and
    /// its group removed, then the run's group.
    fn drop(&mut self) {
        self.cancel.cancel();
        let pool = self.pool.get_mut().map(std::mem::take).unwrap_or_default();
        for env in pool.envs.values().chain(pool.ending.values()) {
            let resources = env.resources.lock().map(|mut r| r.take()).ok().flatten();
            if let Some(r) = resources {
                r.kill();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reaper_looks_every_twentieth_of_keep_warm_within_bounds() {
        let s = Duration::from_secs;
        assert_eq!(reap_period(s(600)), s(5));
        assert_eq!(reap_period(s(20)), s(1));
        assert_eq!(reap_period(s(2)), Duration::from_millis(100));
        assert_eq!(
            reap_period(Duration::from_millis(100)),
            Duration::from_millis(10)
        );
    }
}
