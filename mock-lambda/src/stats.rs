//! What the platform did: the [`Recorder`] it writes into as things happen, and the
//! [`Stats`] snapshot (`GET /_lambda/stats`, [`crate::Platform::stats`]): invocations, cold
//! starts and their init times, throttles, errors by kind, concurrency over time, every
//! environment's CPU and memory, the bill, and the platform's own overhead.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::billing::{Bill, Usage, billed_ms};
use crate::config::{Arch, FrontDoor, FunctionConfig};
use crate::invocation::ErrorKind;
use crate::resources::{Enforcement, EnvUsage};

/// The platform's figures at one instant. Times are seconds since the platform started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub function: FunctionSummary,
    pub resources: Enforcement,
    pub elapsed_s: f64,
    /// HTTP requests at the front door (throttled and refused ones too).
    pub requests: u64,
    /// Requests given to an environment.
    pub invocations: u64,
    /// Environments started for a request (every environment here: none is provisioned).
    pub cold_starts: u64,
    /// Init phases that completed: spawn → the runtime's first `/next`.
    pub init_ms: Percentiles,
    /// Invocations, event delivered → runtime done (what is billed).
    pub duration_ms: Percentiles,
    /// Requests answered 429 at the concurrency limit.
    pub throttled: u64,
    pub errors: Errors,
    /// Environments initializing or invoking now, and at most.
    pub concurrency: usize,
    pub concurrency_peak: usize,
    pub environments_started: u64,
    pub environments_alive: usize,
    /// Usage as AWS bills it (no prices: tgbench prices it from its price file).
    pub billing: Bill,
    pub concurrency_series: Series,
    pub cold_start_marks: Vec<ColdStart>,
    /// Front-door requests whose invocation started an environment, in order.
    #[serde(default)]
    pub cold_requests: Vec<ColdRequest>,
    pub environments: Vec<EnvironmentRecord>,
    /// CPU of every environment, live and ended.
    pub environments_cpu_s: f64,
    /// Memory of the live environments now.
    pub environments_memory_mb: f64,
    pub overhead: Overhead,
}

/// The function as configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionSummary {
    pub name: String,
    pub memory_mb: u32,
    pub vcpus: f64,
    pub timeout_s: f64,
    pub concurrency: usize,
    pub keep_warm_s: f64,
    pub arch: Arch,
    pub front_door: FrontDoor,
}

/// Percentiles in ms (nearest rank); zeros when `count` is 0.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

/// Failed invocations by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Errors {
    pub timeout: u64,
    pub oom: u64,
    /// Reported by the runtime (`/invocation/{id}/error`).
    pub function: u64,
    /// The runtime exited during an invocation.
    pub crash: u64,
    /// The environment failed to start.
    pub init: u64,
    pub response_too_large: u64,
    /// Responses the front door could not turn into HTTP (answered 502).
    pub invalid_response: u64,
}

/// Concurrency over time: one point per `period_ms`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub period_ms: u64,
    pub points: Vec<SeriesPoint>,
}

/// One period of the series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// Start of the period.
    pub t_s: f64,
    /// Most environments initializing or invoking at once in the period.
    pub peak: usize,
    /// Most environments alive (idle ones too).
    pub alive: usize,
    pub cold_starts: u64,
    pub invocations: u64,
    pub throttled: u64,
}

/// A cold start, for marks on a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColdStart {
    pub t_s: f64,
    pub environment: u64,
    /// Null when the init failed.
    pub init_ms: Option<f64>,
}

/// A front-door request whose invocation met a cold start: a harness joins these with its
/// own per-message figures (tgbench splits latency into cold and warm by them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColdRequest {
    pub t_s: f64,
    /// The request's path (`/webhook/{bot_id}` for tgbench's bots).
    pub path: String,
    /// The body's top-level `update_id`, when it is a JSON object with one (a Telegram
    /// update).
    pub update_id: Option<i64>,
}

/// One environment's life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentRecord {
    pub id: u64,
    /// The runtime's process (its launcher's, which execs it).
    pub pid: Option<u32>,
    /// Its control group's directory, when it has one (removed when it ends).
    pub cgroup: Option<String>,
    pub started_s: f64,
    pub init_ms: Option<f64>,
    pub invocations: u64,
    /// `init`, `busy`, `idle` (waiting for an event), `frozen` (idle and frozen), `ending`
    /// (being shut down: no longer counted toward the concurrency limit) or `ended`.
    pub state: String,
    pub ended_s: Option<f64>,
    /// Why it ended: `reaped`, `timeout`, `oom`, `crash`, `init_error`, `shutdown`, …
    pub end_reason: Option<String>,
    pub cpu_s: f64,
    pub memory_mb: f64,
    pub memory_peak_mb: Option<f64>,
}

/// The platform's own process: a separate cost, never mixed into the environments'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overhead {
    pub cpu_s: f64,
    pub rss_mb: f64,
    /// What the figures cover.
    pub scope: String,
    /// The part of `cpu_s` spent while the platform was quiet: warm environments and no
    /// traffic (reaper periods that began at least `freeze_after` after the last request,
    /// invocation or environment change and saw none). `idle_cpu_s / idle_s` is the
    /// platform's idle floor; the rest of `cpu_s` is what invocations cost it.
    #[serde(default)]
    pub idle_cpu_s: f64,
    /// How long those quiet periods lasted together.
    #[serde(default)]
    pub idle_s: f64,
}

const MB: f64 = 1024.0 * 1024.0;

/// Where the platform records what happens.
#[derive(Debug)]
pub struct Recorder {
    epoch: Instant,
    period: Duration,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    requests: u64,
    invocations: u64,
    throttled: u64,
    errors: Errors,
    billed_ms: u64,
    init_billed_ms: u64,
    init_ms: Vec<f64>,
    durations_us: Histogram<u64>,
    active: usize,
    alive: usize,
    peak: usize,
    points: Vec<SeriesPoint>,
    cold: Vec<ColdStart>,
    cold_requests: Vec<ColdRequest>,
    envs: BTreeMap<u64, EnvironmentRecord>,
    /// Since the epoch: the last request, invocation end or environment change.
    last_activity: Duration,
    /// The last quiet-period tick: since the epoch, and the platform's CPU then.
    tick: Option<(Duration, Duration)>,
    idle_s: f64,
    idle_cpu_s: f64,
}

impl Recorder {
    pub fn new(period: Duration) -> Self {
        Self {
            epoch: Instant::now(),
            period,
            inner: Mutex::new(Inner {
                requests: 0,
                invocations: 0,
                throttled: 0,
                errors: Errors::default(),
                billed_ms: 0,
                init_billed_ms: 0,
                init_ms: Vec::new(),
                durations_us: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                    .expect("valid bounds"),
                active: 0,
                alive: 0,
                peak: 0,
                points: Vec::new(),
                cold: Vec::new(),
                cold_requests: Vec::new(),
                envs: BTreeMap::new(),
                last_activity: Duration::ZERO,
                tick: None,
                idle_s: 0.0,
                idle_cpu_s: 0.0,
            }),
        }
    }

    pub fn elapsed_s(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner, usize) -> T) -> T {
        self.locked(false, f)
    }

    /// [`Recorder::with`] for traffic or its aftermath: the platform is not quiet now.
    fn active_with<T>(&self, f: impl FnOnce(&mut Inner, usize) -> T) -> T {
        self.locked(true, f)
    }

    fn locked<T>(&self, activity: bool, f: impl FnOnce(&mut Inner, usize) -> T) -> T {
        let mut inner = self.inner.lock().expect("stats lock poisoned");
        let now = self.epoch.elapsed();
        let index = (now.as_nanos() / self.period.as_nanos().max(1)) as usize;
        inner.extend_to(index, self.period);
        if activity {
            inner.last_activity = now;
        }
        f(&mut inner, index)
    }

    /// The quiet-period clock, called on a timer (the reaper's) with the platform's CPU
    /// now: the time since the last tick, and the CPU spent in it, count as idle when no
    /// environment is active and nothing happened from `settle` before the last tick on
    /// (`settle` is `freeze_after`: the freezes that follow traffic are its cost, not the
    /// floor's).
    pub fn idle_tick(&self, cpu: Duration, settle: Duration) {
        let now = self.epoch.elapsed();
        let mut i = self.inner.lock().expect("stats lock poisoned");
        if let Some((then, cpu_then)) = i.tick.replace((now, cpu))
            && i.active == 0
            && i.last_activity + settle <= then
        {
            i.idle_s += now.saturating_sub(then).as_secs_f64();
            i.idle_cpu_s += cpu.saturating_sub(cpu_then).as_secs_f64();
        }
    }

    pub fn request(&self) {
        self.active_with(|i, _| i.requests += 1);
    }

    pub fn throttled(&self) {
        self.active_with(|i, idx| {
            i.throttled += 1;
            i.points[idx].throttled += 1;
        });
    }

    pub fn invalid_response(&self) {
        self.with(|i, _| i.errors.invalid_response += 1);
    }

    /// A front-door request to `path` with `body` was invoked on a new environment.
    pub fn cold_request(&self, path: &str, body: &[u8]) {
        #[derive(Deserialize)]
        struct Update {
            update_id: i64,
        }
        let t_s = self.elapsed_s();
        let update_id = serde_json::from_slice::<Update>(body)
            .ok()
            .map(|u| u.update_id);
        self.with(|i, _| {
            i.cold_requests.push(ColdRequest {
                t_s,
                path: path.to_owned(),
                update_id,
            });
        });
    }

    /// Environment `id` is being spawned (a cold start), in `cgroup` if any.
    pub fn env_started(&self, id: u64, cgroup: Option<String>) {
        let t_s = self.elapsed_s();
        self.active_with(|i, idx| {
            i.alive += 1;
            i.points[idx].alive = i.points[idx].alive.max(i.alive);
            i.points[idx].cold_starts += 1;
            i.set_active(idx, i.active + 1);
            i.cold.push(ColdStart {
                t_s,
                environment: id,
                init_ms: None,
            });
            i.envs.insert(
                id,
                EnvironmentRecord {
                    id,
                    pid: None,
                    cgroup,
                    started_s: t_s,
                    init_ms: None,
                    invocations: 0,
                    state: "init".into(),
                    ended_s: None,
                    end_reason: None,
                    cpu_s: 0.0,
                    memory_mb: 0.0,
                    memory_peak_mb: None,
                },
            );
        });
    }

    /// Environment `id`'s runtime is process `pid`.
    pub fn env_pid(&self, id: u64, pid: u32) {
        self.with(|i, _| {
            if let Some(env) = i.envs.get_mut(&id) {
                env.pid = Some(pid);
            }
        });
    }

    /// Environment `id` asked for its first event after `init`; it is billed.
    pub fn env_initialized(&self, id: u64, init: Duration) {
        let ms = init.as_secs_f64() * 1000.0;
        self.active_with(|i, _| {
            i.init_ms.push(ms);
            i.init_billed_ms += billed_ms(init);
            if let Some(mark) = i.cold.iter_mut().rev().find(|c| c.environment == id) {
                mark.init_ms = Some(ms);
            }
            if let Some(env) = i.envs.get_mut(&id) {
                env.init_ms = Some(ms);
            }
        });
    }

    /// Environment `id` failed its init after `ran` (billed as AWS bills failed inits).
    pub fn env_init_failed(&self, ran: Duration) {
        self.active_with(|i, _| {
            i.init_billed_ms += billed_ms(ran);
            i.errors.init += 1;
        });
    }

    /// An invocation was given to environment `id` (already counted active when cold).
    pub fn invocation_started(&self, id: u64, cold: bool) {
        self.active_with(|i, idx| {
            i.invocations += 1;
            i.points[idx].invocations += 1;
            if !cold {
                i.set_active(idx, i.active + 1);
            }
            if let Some(env) = i.envs.get_mut(&id) {
                env.invocations += 1;
                env.state = "busy".into();
            }
        });
    }

    /// An invocation's phase ended after `ran` (billed).
    pub fn invocation_ended(&self, ran: Duration) {
        self.active_with(|i, _| {
            i.billed_ms += billed_ms(ran);
            let _ = i.durations_us.record((ran.as_micros() as u64).max(1));
        });
    }

    /// An invocation failed (counted when its caller is told).
    pub fn invocation_failed(&self, kind: ErrorKind) {
        self.with(|i, _| match kind {
            ErrorKind::Function => i.errors.function += 1,
            ErrorKind::Timeout => i.errors.timeout += 1,
            ErrorKind::OutOfMemory => i.errors.oom += 1,
            ErrorKind::Crash => i.errors.crash += 1,
            ErrorKind::Init => i.errors.init += 1,
            ErrorKind::ResponseTooLarge => i.errors.response_too_large += 1,
        });
    }

    /// Environment `id` has become idle (frozen, waiting for an event), or stopped being
    /// active some other way.
    pub fn env_idle(&self, id: u64) {
        self.active_with(|i, idx| {
            i.set_active(idx, i.active.saturating_sub(1));
            if let Some(env) = i.envs.get_mut(&id) {
                env.state = "idle".into();
            }
        });
    }

    /// Environment `id`, idle, has been frozen.
    pub fn env_frozen(&self, id: u64) {
        self.active_with(|i, _| {
            if let Some(env) = i.envs.get_mut(&id).filter(|e| e.state == "idle") {
                env.state = "frozen".into();
            }
        });
    }

    /// Environment `id` is being ended (it holds no concurrency any more).
    pub fn env_ending(&self, id: u64) {
        self.active_with(|i, _| {
            if let Some(env) = i.envs.get_mut(&id).filter(|e| e.state != "ended") {
                env.state = "ending".into();
            }
        });
    }

    /// Environment `id` is gone; `was_active` if it was initializing or invoking.
    pub fn env_ended(&self, id: u64, reason: &str, was_active: bool, usage: EnvUsage) {
        let t_s = self.elapsed_s();
        self.active_with(|i, idx| {
            if was_active {
                i.set_active(idx, i.active.saturating_sub(1));
            }
            i.alive = i.alive.saturating_sub(1);
            if let Some(env) = i.envs.get_mut(&id) {
                env.state = "ended".into();
                env.ended_s = Some(t_s);
                env.end_reason = Some(reason.to_owned());
                apply_usage(env, usage);
            }
        });
    }

    /// The snapshot; `live` gives the figures of environments still alive.
    pub fn snapshot(
        &self,
        config: &FunctionConfig,
        enforcement: &Enforcement,
        live: &[(u64, EnvUsage)],
        overhead: Overhead,
    ) -> Stats {
        let elapsed_s = self.elapsed_s();
        self.with(|i, _| {
            for (id, usage) in live {
                if let Some(env) = i.envs.get_mut(id) {
                    apply_usage(env, *usage);
                }
            }
            let usage = Usage {
                invocations: i.invocations,
                billed_ms: i.billed_ms,
                init_billed_ms: i.init_billed_ms,
                front_door_requests: i.requests,
            };
            let environments: Vec<EnvironmentRecord> = i.envs.values().cloned().collect();
            Stats {
                function: FunctionSummary {
                    name: config.name.clone(),
                    memory_mb: config.memory_mb,
                    vcpus: config.vcpus(),
                    timeout_s: config.timeout.as_secs_f64(),
                    concurrency: config.concurrency,
                    keep_warm_s: config.keep_warm.as_secs_f64(),
                    arch: config.arch,
                    front_door: config.front_door,
                },
                resources: enforcement.clone(),
                elapsed_s,
                requests: i.requests,
                invocations: i.invocations,
                cold_starts: i.cold.len() as u64,
                init_ms: percentiles(&i.init_ms),
                duration_ms: histogram_ms(&i.durations_us),
                throttled: i.throttled,
                errors: i.errors.clone(),
                concurrency: i.active,
                concurrency_peak: i.peak,
                environments_started: i.envs.len() as u64,
                environments_alive: i.alive,
                billing: Bill::compute(usage, config.memory_mb),
                concurrency_series: Series {
                    period_ms: self.period.as_millis() as u64,
                    points: i.points.clone(),
                },
                cold_start_marks: i.cold.clone(),
                cold_requests: i.cold_requests.clone(),
                environments_cpu_s: environments.iter().map(|e| e.cpu_s).sum(),
                environments_memory_mb: environments
                    .iter()
                    .filter(|e| e.ended_s.is_none())
                    .map(|e| e.memory_mb)
                    .sum(),
                environments,
                overhead: Overhead {
                    idle_cpu_s: i.idle_cpu_s,
                    idle_s: i.idle_s,
                    ..overhead
                },
            }
        })
    }
}

fn apply_usage(env: &mut EnvironmentRecord, usage: EnvUsage) {
    env.cpu_s = env.cpu_s.max(usage.cpu.as_secs_f64());
    env.memory_mb = usage.memory_bytes as f64 / MB;
    let peak = usage
        .peak_bytes
        .map(|p| p as f64 / MB)
        .unwrap_or(env.memory_mb);
    env.memory_peak_mb = Some(env.memory_peak_mb.unwrap_or(0.0).max(peak));
}

impl Inner {
    /// Adds the periods up to `index`, each starting at the levels the last one ended at.
    fn extend_to(&mut self, index: usize, period: Duration) {
        while self.points.len() <= index {
            let t_s = (self.points.len() as f64) * period.as_secs_f64();
            self.points.push(SeriesPoint {
                t_s,
                peak: self.active,
                alive: self.alive,
                ..SeriesPoint::default()
            });
        }
    }

    fn set_active(&mut self, index: usize, active: usize) {
        self.active = active;
        self.peak = self.peak.max(active);
        let point = &mut self.points[index];
        point.peak = point.peak.max(active);
    }
}

/// Nearest-rank percentiles of `values` (ms).
pub fn percentiles(values: &[f64]) -> Percentiles {
    if values.is_empty() {
        return Percentiles::default();
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank =
        |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    Percentiles {
        count: sorted.len() as u64,
        p50: rank(0.50),
        p99: rank(0.99),
        max: sorted[sorted.len() - 1],
        mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
    }
}

fn histogram_ms(h: &Histogram<u64>) -> Percentiles {
    if h.is_empty() {
        return Percentiles::default();
    }
    Percentiles {
        count: h.len(),
        p50: h.value_at_quantile(0.50) as f64 / 1000.0,
        p99: h.value_at_quantile(0.99) as f64 / 1000.0,
        max: h.max() as f64 / 1000.0,
        mean: h.mean() / 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let p = percentiles(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!(
            (p.count, p.p50, p.p99, p.max, p.mean),
            (5, 3.0, 5.0, 5.0, 3.0)
        );
        assert_eq!(percentiles(&[]), Percentiles::default());
    }

    #[test]
    fn the_series_carries_levels_across_quiet_periods() {
        let r = Recorder::new(Duration::from_millis(10));
        r.env_started(1, None);
        r.env_initialized(1, Duration::from_millis(3));
        r.invocation_started(1, true);
        std::thread::sleep(Duration::from_millis(35));
        r.invocation_ended(Duration::from_micros(1500));
        r.env_idle(1);
        let s = snapshot(&r);
        let points = &s.concurrency_series.points;
        assert!(points.len() >= 4, "{points:?}");
        // Busy through the quiet periods in between: each shows the level carried over.
        assert!(points[..3].iter().all(|p| p.peak == 1), "{points:?}");
        assert_eq!(points[0].cold_starts, 1);
        assert_eq!((s.concurrency, s.concurrency_peak), (0, 1));
        assert_eq!(s.billing.billed_ms, 2);
        assert_eq!(s.billing.init_billed_ms, 3);
        assert_eq!(s.cold_start_marks[0].init_ms, Some(3.0));
    }

    fn no_overhead() -> Overhead {
        Overhead {
            cpu_s: 0.0,
            rss_mb: 0.0,
            scope: String::new(),
            idle_cpu_s: 0.0,
            idle_s: 0.0,
        }
    }

    /// `r`'s snapshot for a function run with signals (no control groups needed).
    fn snapshot(r: &Recorder) -> Stats {
        let config = FunctionConfig::new("/bin/true");
        let enforcement = crate::resources::Backend::new(
            &FunctionConfig {
                resources: crate::config::ResourceMode::Signals,
                ..config.clone()
            },
            "unit",
        )
        .unwrap()
        .1;
        r.snapshot(&config, &enforcement, &[], no_overhead())
    }

    fn idle(r: &Recorder) -> (f64, f64) {
        let o = snapshot(r).overhead;
        (o.idle_s, o.idle_cpu_s)
    }

    #[test]
    fn only_quiet_periods_count_as_idle() {
        let ms = Duration::from_millis;
        let settle = ms(20);
        let r = Recorder::new(ms(10));
        r.env_started(1, None);
        r.env_initialized(1, ms(1));
        r.invocation_started(1, true);
        // Busy: ticks count nothing, however long.
        r.idle_tick(ms(100), settle);
        std::thread::sleep(ms(30));
        r.idle_tick(ms(150), settle);
        assert_eq!(idle(&r), (0.0, 0.0));
        r.invocation_ended(ms(1));
        r.env_idle(1);
        // Idle, but the period began less than `settle` after the invocation: its cost.
        r.idle_tick(ms(160), settle);
        std::thread::sleep(ms(30));
        r.idle_tick(ms(170), settle);
        assert_eq!(idle(&r), (0.0, 0.0));
        // This period began `settle` after it: the idle floor.
        std::thread::sleep(ms(30));
        r.idle_tick(ms(171), settle);
        let (idle_s, idle_cpu_s) = idle(&r);
        assert!(idle_s >= 0.029, "{idle_s}");
        assert!((idle_cpu_s - 0.001).abs() < 1e-9, "{idle_cpu_s}");
        // A request in a period takes the whole period out.
        r.request();
        std::thread::sleep(ms(30));
        r.idle_tick(ms(200), settle);
        assert_eq!(idle(&r), (idle_s, idle_cpu_s));
    }
}
