//! One scenario run: per SUT and repetition, a fresh embedded mock, the SUT started and
//! waited on, warm-up, then each measured window (or phase) under the open-model load,
//! a drain, and a results entry per window. Results are rewritten atomically after every
//! SUT, so an interrupted run still leaves what it measured, marked incomplete.
//!
//! Accounting is exact: each segment (warm-up, window, phase) starts only after the
//! previous one drained (every update answered, or `drain_s` passed), and a window's
//! counts are the mock's counter deltas from its start to the end of its drain.

pub mod assemble;
pub mod faults;
mod inject;
mod monitor;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mock_telegram::{Fault, Mock, MockConfig, MockServer, RetrySchedule, Stats};
use tgbench_reports::results::{self, Results, Run, ScenarioInfo, SutInfo, TelegramInfo};

use crate::output;
use crate::preflight::{self, Machine, Refusal};
use crate::progress::Progress;
use crate::scenario::{Ready, Scenario, Sut, Telegram, secs};
use crate::schedule;
use crate::sut::{self, Launch, Placement, Probe, SutEnv, SutError, SutProcess};
use faults::{FaultRunner, Target};
use inject::Injector;
use monitor::{Monitor, Tick};

/// How to run.
#[derive(Clone)]
pub struct Options {
    /// Results folder (default `results/<name>-<UTC time>`).
    pub out_dir: Option<PathBuf>,
    /// Show the progress line when stderr is a terminal.
    pub progress: bool,
    /// Where the reference binaries are (default: see [`sut::impls_dir`]).
    pub impls_dir: Option<PathBuf>,
    /// Set to stop the run (Ctrl-C and SIGTERM set it too).
    pub cancel: Arc<AtomicBool>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            out_dir: None,
            progress: true,
            impls_dir: None,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Every run complete and within its SLO.
    Ok,
    /// Complete, but at least one run missed its SLO.
    SloFailed,
    /// A SUT did not start, was not ready in time, or died; the message says which.
    SutFailed(String),
    /// Ctrl-C or SIGTERM.
    Interrupted,
}

/// A finished (or stopped) run: the results as written, and where.
pub struct Outcome {
    pub results: Results,
    pub path: PathBuf,
    pub status: Status,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scenario does not fit this machine.
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// A SUT cannot be started at all (e.g. a reference binary is missing).
    #[error("{0}")]
    Setup(#[from] SutError),
    #[error("{0}")]
    Io(String),
}

/// What stopped a SUT's run early.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Stop {
    Interrupted,
    SutFailed(String),
}

/// What one SUT run left: its windows, and why it stopped early, if it did.
#[derive(Default)]
pub(crate) struct SutRun {
    pub runs: Vec<Run>,
    pub stop: Option<Stop>,
}

/// What a run shares across SUTs: the runtime serving the mock, the machine, the CPU
/// placement, the progress display, the cancel flag.
pub(crate) struct Session {
    pub rt: tokio::runtime::Runtime,
    pub machine: Machine,
    pub impls: PathBuf,
    pub progress: Progress,
    pub cancel: Arc<AtomicBool>,
    pub placement: Placement,
    harness_cores: usize,
    affinity_before: Option<nix::sched::CpuSet>,
}

impl Session {
    /// Checks the scenario against the machine at `bots` bots, resolves every SUT's
    /// command, pins the harness where the placement says, starts the runtime and the
    /// signal handlers.
    pub fn new(scn: &Scenario, opts: &Options, bots: u64) -> Result<Session, RunError> {
        preflight::raise_open_files_limit();
        let machine = Machine::probe();
        preflight::check(scn, bots, &machine)?;
        let impls = opts.impls_dir.clone().unwrap_or_else(sut::impls_dir);
        sut::build_reference_binaries_if_missing(scn, &impls);
        for s in &scn.suts {
            sut::command_line(s, &impls)?;
        }
        // The harness goes on the cores no SUT asks for.
        let mut wanted: Vec<usize> = scn
            .suts
            .iter()
            .filter_map(|s| s.cpus.as_ref())
            .flat_map(|c| c.0.iter().copied())
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let any = scn.suts.iter().any(|s| s.cpus.is_some());
        let placement = sut::placement(
            any.then_some(wanted.as_slice()),
            machine.cores,
            any && sut::have_taskset(),
        );
        let affinity_before = placement
            .harness
            .as_deref()
            .and_then(sut::pin_current_thread);
        let harness_cores = placement
            .harness
            .as_ref()
            .map(Vec::len)
            .unwrap_or(machine.cores);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(harness_cores.max(2))
            .thread_name("tgbench-mock")
            .enable_all()
            .build()
            .map_err(|e| RunError::Io(format!("cannot start the runtime: {e}")))?;
        install_signal_handlers(&rt, opts.cancel.clone());
        Ok(Session {
            rt,
            machine,
            impls,
            progress: Progress::new(opts.progress),
            cancel: opts.cancel.clone(),
            placement,
            harness_cores,
            affinity_before,
        })
    }

    /// The CPUs a SUT is pinned to, if the placement allows pinning at all.
    fn sut_cpus<'a>(&self, s: &'a Sut) -> Option<&'a [usize]> {
        self.placement.sut.as_ref()?;
        s.cpus.as_ref().map(|c| c.0.as_slice())
    }

    fn sut_cores(&self, s: &Sut) -> usize {
        self.sut_cpus(s)
            .map(<[usize]>::len)
            .unwrap_or(self.machine.cores)
    }

    /// The results skeleton of a scenario (no runs yet).
    pub fn results(&self, scn: &Scenario) -> Results {
        Results {
            schema_version: results::SCHEMA_VERSION,
            tool: results::Tool {
                name: "tgbench".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            scenario: scenario_info(scn),
            environment: crate::environment::describe(&self.machine, &self.placement.note),
            started_at: crate::environment::now_rfc3339(),
            finished_at: String::new(),
            complete: false,
            incomplete_reason: Some("in progress".into()),
            runs: Vec::new(),
            capacity: Vec::new(),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.progress.finish();
        if let Some(before) = &self.affinity_before {
            sut::restore_affinity(before);
        }
    }
}

fn install_signal_handlers(rt: &tokio::runtime::Runtime, cancel: Arc<AtomicBool>) {
    rt.spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            return;
        };
        let Ok(mut int) = signal(SignalKind::interrupt()) else {
            return;
        };
        tokio::select! {
            _ = int.recv() => {},
            _ = term.recv() => {},
        }
        cancel.store(true, Ordering::SeqCst);
    });
}

/// The scenario as results describe it.
pub fn scenario_info(scn: &Scenario) -> ScenarioInfo {
    let t = &scn.telegram;
    ScenarioInfo {
        name: scn.name.clone(),
        file: scn.source.clone(),
        duration_s: scn.window_s(),
        warmup_s: scn.warmup_s,
        drain_s: scn.drain_s,
        seed: scn.seed,
        telegram: TelegramInfo {
            bots: t.bots,
            rtt_ms: t.rtt_ms,
            jitter_ms: t.jitter_ms,
            rate_limits: t.rate_limits,
            anti_spin: t.anti_spin,
        },
        load: serde_json::to_value(&scn.load).unwrap_or_default(),
        slo: serde_json::to_value(&scn.slo).unwrap_or_default(),
    }
}

/// Runs a scenario: every SUT, every repetition. Writes `results.json` into the output
/// folder (rewritten after each SUT) and returns the outcome.
pub fn run_scenario(scn: &Scenario, opts: &Options) -> Result<Outcome, RunError> {
    let session = Session::new(scn, opts, scn.telegram.bots)?;
    let file = ResultsFile::new(opts, &scn.name);
    let out_dir = file.dir.clone();
    let mut results = session.results(scn);
    let write = |r: &Results| file.write(r);
    let path = write(&results)?;
    let mut status = Status::Ok;
    'suts: for s in &scn.suts {
        for rep in 0..scn.repeat {
            let r = measure(&session, scn, s, rep, &out_dir);
            results.runs.extend(r.runs);
            match r.stop {
                Some(Stop::Interrupted) => {
                    status = Status::Interrupted;
                    results.incomplete_reason = Some("interrupted (SIGINT/SIGTERM)".into());
                }
                Some(Stop::SutFailed(msg)) => {
                    results.incomplete_reason = Some(msg.clone());
                    status = Status::SutFailed(msg);
                }
                None => {}
            }
            if status != Status::Ok {
                break 'suts;
            }
            write(&results)?;
        }
    }
    results.finished_at = crate::environment::now_rfc3339();
    if status == Status::Ok {
        results.complete = true;
        results.incomplete_reason = None;
        if results.runs.iter().any(|r| !r.slo.passed) {
            status = Status::SloFailed;
        }
    }
    write(&results)?;
    Ok(Outcome {
        results,
        path,
        status,
    })
}

/// The results folder of a run, and its atomic writer.
pub(crate) struct ResultsFile {
    pub dir: PathBuf,
}

impl ResultsFile {
    /// `--out`, else `results/<default_name>-<UTC time>`.
    pub fn new(opts: &Options, default_name: &str) -> ResultsFile {
        ResultsFile {
            dir: opts
                .out_dir
                .clone()
                .unwrap_or_else(|| output::default_dir(default_name)),
        }
    }

    /// Rewrites `results.json` atomically; returns its path.
    pub fn write(&self, r: &Results) -> Result<PathBuf, RunError> {
        output::write_results(&self.dir, r).map_err(|e| {
            RunError::Io(format!(
                "cannot write results into {}: {e}",
                self.dir.display()
            ))
        })
    }
}

/// The mock's settings for a `[telegram]` table (with a SUT's overrides applied).
pub fn mock_config(t: &Telegram, seed: u64) -> MockConfig {
    let mut c = MockConfig {
        bots: t.bots as usize,
        seed,
        rtt: Duration::from_secs_f64(t.rtt_ms / 1000.0),
        jitter: Duration::from_secs_f64(t.jitter_ms / 1000.0),
        rate_limits: t.rate_limits,
        anti_spin: t.anti_spin,
        retry: if t.retry_factor == 1.0 {
            RetrySchedule::telegram()
        } else {
            RetrySchedule::compressed(t.retry_factor)
        },
        webhook_timeout: secs(t.webhook_timeout_s),
        ..MockConfig::default()
    };
    if let Some(n) = t.max_pending_per_bot {
        c.max_pending_per_bot = n as usize;
    }
    c
}

/// The seed of segment `i`: the same for every SUT and repetition.
fn segment_seed(seed: u64, i: usize) -> u64 {
    seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Runs one SUT once through every segment, on a fresh mock.
pub(crate) fn measure(s: &Session, scn: &Scenario, sut: &Sut, rep: u32, out_dir: &Path) -> SutRun {
    let tg = scn.telegram.with(sut.telegram.as_ref());
    let mock = Mock::new(mock_config(&tg, scn.seed));
    let server = {
        let _enter = s.rt.enter();
        match s.rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")) {
            Ok(l) => MockServer::start(mock.clone(), l),
            Err(e) => {
                return SutRun {
                    runs: Vec::new(),
                    stop: Some(Stop::SutFailed(format!(
                        "cannot bind the mock on 127.0.0.1: {e}"
                    ))),
                };
            }
        }
    };
    let mut out = SutRun::default();
    if let Err(stop) = measure_on(s, scn, sut, rep, &mock, &server, out_dir, &mut out.runs) {
        out.stop = Some(stop);
    }
    s.rt.block_on(server.shutdown());
    out
}

#[allow(clippy::too_many_arguments)]
fn measure_on(
    s: &Session,
    scn: &Scenario,
    sut_cfg: &Sut,
    rep: u32,
    mock: &Arc<Mock>,
    server: &MockServer,
    out_dir: &Path,
    runs: &mut Vec<Run>,
) -> Result<(), Stop> {
    let bots = scn.telegram.bots;
    let name = sut_cfg.name.as_str();
    let failed = |e: SutError| match e {
        SutError::Interrupted { .. } => Stop::Interrupted,
        e => Stop::SutFailed(e.to_string()),
    };
    let bot_infos = mock.bots();
    let tokens: Vec<String> = bot_infos.iter().map(|b| b.token.clone()).collect();
    let bot_ids: Arc<Vec<i64>> = Arc::new(bot_infos.iter().map(|b| b.id).collect());
    let env = SutEnv::prepare(&server.base_url(), &tokens).map_err(|source| {
        failed(SutError::Prepare {
            sut: name.to_string(),
            source,
        })
    })?;
    let command = sut::command_line(sut_cfg, &s.impls).map_err(failed)?;
    let log = out_dir.join("logs").join(format!("{name}-rep{rep}.log"));
    let launch = |log: &Path| {
        SutProcess::start(Launch {
            name,
            kind: sut_cfg.kind,
            command: command.clone(),
            env: &sut_cfg.env,
            contract: &env,
            cpus: s.sut_cpus(sut_cfg),
            log: Some(log),
        })
    };
    let proc = launch(&log).map_err(failed)?;
    let sut_info = SutInfo {
        name: name.to_string(),
        kind: sut_cfg.kind.as_str().to_string(),
        command: proc.command.clone(),
    };

    let ready = sut_cfg.ready();
    let progress = s.progress.clone();
    let rep_label = if scn.repeat > 1 {
        format!(" #{}", rep + 1)
    } else {
        String::new()
    };
    s.progress.note(&format!(
        "▶ {name}{rep_label}: starting ({} bots, ready = {ready})",
        bots
    ));
    let took = sut::wait_ready(
        &proc,
        &ready.to_string(),
        secs(sut_cfg.ready_timeout_s),
        &s.cancel,
        || probe(s, mock, &ready, bots as usize, &env),
        |state| progress.set(format!("{name}{rep_label}: waiting until ready: {state}")),
    )
    .map_err(failed)?;
    s.progress.note(&format!(
        "  {name}{rep_label}: ready in {:.1} s",
        took.as_secs_f64()
    ));

    // Live display from the monitor's ticks.
    let phase_label = Arc::new(Mutex::new(String::from("warm-up")));
    let on_tick = {
        let progress = s.progress.clone();
        let label = phase_label.clone();
        let name = format!("{name}{rep_label}");
        move |t: &Tick| {
            let phase = label.lock().map(|l| l.clone()).unwrap_or_default();
            let r = &t.stats.readiness;
            progress.set(format!(
                "{name} {phase} | ready {}/{} | sent {} replied {} | p99 {:.0} ms | SUT CPU {:.0} %",
                (r.polling + r.webhooks_set).min(r.bots),
                r.bots,
                t.stats.updates.injected,
                t.stats.updates.replied,
                t.p99_ms,
                t.sut.map(|u| u.cpu_pct).unwrap_or(0.0),
            ));
        }
    };
    let mut monitor = Monitor::spawn(
        mock.clone(),
        Some(proc.pid()),
        Duration::from_millis(scn.sample_ms),
        on_tick,
    );
    let sent = Arc::new(AtomicU64::new(0));
    let mut carried: u64 = 0;
    let mut live = Live {
        s,
        mock,
        proc,
        restart: Box::new(|n: u32| {
            launch(
                &out_dir
                    .join("logs")
                    .join(format!("{name}-rep{rep}-restart{n}.log")),
            )
        }),
        restarts: 0,
        sut_pid: monitor.sut_pid(),
        ready: ready.clone(),
        bots: bots as usize,
        env: &env,
        at_restart: None,
    };
    let mut runner = FaultRunner::new(
        scn,
        secs(sut_cfg.stop_timeout_s),
        secs(sut_cfg.ready_timeout_s),
    );
    let mut timeline_s = 0.0;

    for (i, seg) in scn.segments().iter().enumerate() {
        let label = match (&seg.phase, seg.measured) {
            (_, false) => "warm-up".to_string(),
            (Some(p), true) => format!("phase {p}"),
            (None, true) => "window".to_string(),
        };
        if let Ok(mut l) = phase_label.lock() {
            *l = label.clone();
        }
        let plan = schedule::build(&seg.load, bots, seg.duration, segment_seed(scn.seed, i));
        let stats0 = mock.stats();
        let hist0 = mock.latency_histogram();
        let t0 = Instant::now();
        runner.enter_segment(seg.measured.then_some(timeline_s), t0);
        if seg.measured {
            timeline_s += seg.duration.as_secs_f64();
        }
        let stop_inject = Arc::new(AtomicBool::new(false));
        let injector = Injector::spawn(
            mock.clone(),
            bot_ids.clone(),
            plan,
            t0,
            stop_inject.clone(),
            sent.clone(),
        );
        // The window: until its planned end, unless interrupted or the SUT dies.
        let mut stop = watch_until(&mut live, &mut runner, t0 + seg.duration, &label, t0);
        stop_inject.store(true, Ordering::SeqCst);
        let report = injector.join();
        let t_end = Instant::now();
        let stats_end = mock.stats();
        // The drain: until every update of this segment is answered, or drain_s.
        if stop.is_none() {
            stop = drain(
                &mut live,
                &mut runner,
                &stats0,
                t_end + secs(scn.drain_s),
                &label,
                t0,
            );
        }
        // One more sample after the drain, so the timeseries adds up to the totals.
        monitor.wait_tick_after(
            Instant::now(),
            Duration::from_millis(scn.sample_ms.saturating_mul(2)),
        );
        let stats_drained = mock.stats();
        let hist_drained = mock.latency_histogram();
        let t_drained = Instant::now();
        let open_after = (stats_drained
            .updates
            .injected
            .saturating_sub(stats0.updates.injected))
        .saturating_sub(
            stats_drained
                .updates
                .replied
                .saturating_sub(stats0.updates.replied),
        );

        if seg.measured {
            let mut notes = Vec::new();
            if carried > 0 {
                notes.push(format!(
                    "{carried} updates of the previous segment were still unanswered when this \
                     window started; a late reply to one of them counts here"
                ));
            }
            let window_ticks = monitor.ticks_between(t0, t_end);
            let series: Vec<(f64, Tick)> = monitor
                .ticks_between(t0, t_drained)
                .into_iter()
                .map(|t| (t.at.duration_since(t0).as_secs_f64(), t))
                .collect();
            let reason = stop.as_ref().map(|st| match st {
                Stop::Interrupted => "interrupted (SIGINT/SIGTERM) during this window".to_string(),
                Stop::SutFailed(m) => m.clone(),
            });
            runs.push(assemble::build(assemble::Window {
                sut: sut_info.clone(),
                repetition: rep,
                phase: seg.phase.clone(),
                bots,
                duration_s: t_end.duration_since(t0).as_secs_f64(),
                start: &stats0,
                end: &stats_end,
                drained: &stats_drained,
                hist_start: &hist0,
                hist_drained: &hist_drained,
                window_ticks: &window_ticks,
                series: &series,
                inject: &report,
                slo: &scn.slo,
                sut_cores: s.sut_cores(sut_cfg),
                harness_cores: s.harness_cores,
                complete: stop.is_none(),
                incomplete_reason: reason,
                notes,
            }));
            if let Some(r) = runs.last_mut() {
                let (windows, mut fault_notes) = runner.windows(t0, t_drained);
                fault_notes.extend(faults::rate_notes(&r.timeseries, &windows, bots));
                r.faults = windows;
                r.harness.notes.extend(fault_notes);
            }
            if let Some(r) = runs.last() {
                s.progress.note(&format!(
                    "  {name}{rep_label} {label}: injected {} replied {} lost {} | p99 {:.1} ms | CPU {:.1} % | RSS {:.1} MiB",
                    r.updates.injected,
                    r.updates.replied,
                    r.updates.lost,
                    r.latency_ms.p99,
                    r.cpu.mean_pct,
                    r.memory.rss_peak_mb
                ));
            }
        }
        carried = open_after;
        if let Some(stop) = stop {
            runner.abort(Instant::now(), &mut live);
            monitor.stop();
            live.proc
                .stop(Duration::from_secs_f64(sut_cfg.stop_timeout_s));
            return Err(stop);
        }
    }
    monitor.stop();
    live.proc
        .stop(Duration::from_secs_f64(sut_cfg.stop_timeout_s));
    Ok(())
}

/// The mock and the SUT as the fault runner acts on them; the SUT is replaced when it is
/// restarted.
struct Live<'a> {
    s: &'a Session,
    mock: &'a Arc<Mock>,
    proc: SutProcess,
    /// Starts the SUT again (the argument numbers the restart, for its log file).
    #[allow(clippy::type_complexity)]
    restart: Box<dyn Fn(u32) -> Result<SutProcess, SutError> + 'a>,
    restarts: u32,
    sut_pid: Arc<AtomicU32>,
    ready: Ready,
    bots: usize,
    env: &'a SutEnv,
    /// The mock's counters when the SUT was last restarted.
    at_restart: Option<Stats>,
}

impl Target for Live<'_> {
    fn set_fault(&mut self, fault: Fault) {
        self.mock.set_fault(fault);
    }

    fn signal(&mut self, kill: bool) {
        self.proc.signal(kill);
    }

    fn sut_exited(&mut self) -> bool {
        self.proc.exited().is_some()
    }

    fn restart(&mut self) -> Result<(), String> {
        // Reaps the old process and kills anything left in its group.
        self.proc.stop(Duration::ZERO);
        self.restarts += 1;
        self.at_restart = Some(self.mock.stats());
        self.proc = (self.restart)(self.restarts).map_err(|e| e.to_string())?;
        self.sut_pid.store(self.proc.pid(), Ordering::Relaxed);
        Ok(())
    }

    /// Ready as `ready` says, and, for the mock-based checks, with a fresh call per bot
    /// since the restart: getUpdates answered since or held now (the mock drops the polls
    /// of a dead process with their connections), setWebhook answered since.
    fn ready_again(&mut self) -> bool {
        if self.proc.exited().is_some() {
            return false;
        }
        if let Some(base) = &self.at_restart {
            let now = self.mock.stats();
            let since = |m: &str| {
                now.requests
                    .get(m)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(base.requests.get(m).copied().unwrap_or(0))
                    as usize
            };
            // A long poll is counted when it is answered: a held one is in flight.
            let polls = since("getUpdates") + now.get_updates.in_flight as usize;
            let fresh = match self.ready {
                Ready::Polling => polls,
                Ready::Webhook => since("setWebhook"),
                Ready::Any => polls + since("setWebhook"),
                Ready::None | Ready::Url(_) => usize::MAX,
            };
            if fresh < self.bots {
                return false;
            }
        }
        matches!(
            probe(self.s, self.mock, &self.ready, self.bots, self.env),
            Probe::Ready
        )
    }
}

/// Whether the SUT is ready, as `ready` says.
fn probe(s: &Session, mock: &Mock, ready: &Ready, bots: usize, env: &SutEnv) -> Probe {
    let r = mock.readiness();
    match ready {
        Ready::None => Probe::Ready,
        Ready::Polling if r.polling >= bots => Probe::Ready,
        Ready::Polling => Probe::Waiting(format!("{} of {bots} bots polling", r.polling)),
        Ready::Webhook if r.webhooks_set >= bots => Probe::Ready,
        Ready::Webhook => Probe::Waiting(format!("{} of {bots} webhooks set", r.webhooks_set)),
        Ready::Any if r.polling + r.webhooks_set >= bots => Probe::Ready,
        Ready::Any => Probe::Waiting(format!(
            "{} of {bots} bots polling or with a webhook set",
            r.polling + r.webhooks_set
        )),
        Ready::Url(u) => {
            let url = u.replace("{listen}", &env.listen.to_string());
            let answer = s.rt.block_on(async {
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(1))
                    .build()
                    .ok()?;
                client.get(&url).send().await.ok().map(|r| r.status())
            });
            match answer {
                Some(st) if st.is_success() => Probe::Ready,
                Some(st) => Probe::Waiting(format!("{url} answered {st}")),
                None => Probe::Waiting(format!("{url} does not answer")),
            }
        }
    }
}

/// Waits until `until`, running the faults and watching for Ctrl-C and the SUT's death.
fn watch_until(
    live: &mut Live<'_>,
    runner: &mut FaultRunner,
    until: Instant,
    label: &str,
    t0: Instant,
) -> Option<Stop> {
    loop {
        let now = Instant::now();
        if let Some(stop) = step(live, runner, now, label, t0) {
            return Some(stop);
        }
        if now >= until {
            return None;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(20)));
    }
}

/// Waits until every update injected since `stats0` is answered (and delivered), or `until`.
fn drain(
    live: &mut Live<'_>,
    runner: &mut FaultRunner,
    stats0: &Stats,
    until: Instant,
    label: &str,
    t0: Instant,
) -> Option<Stop> {
    loop {
        let now = Instant::now();
        if let Some(stop) = step(live, runner, now, label, t0) {
            return Some(stop);
        }
        let st = live.mock.stats();
        let injected = st.updates.injected.saturating_sub(stats0.updates.injected);
        let replied = st.updates.replied.saturating_sub(stats0.updates.replied);
        // Every reply implies a delivery; waiting for both keeps `delivered` exact too
        // (a webhook POST is answered after the reply it triggered).
        let delivered = st
            .updates
            .delivered
            .saturating_sub(stats0.updates.delivered);
        if (replied >= injected && delivered >= injected && runner.idle()) || now >= until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One turn of the watch: the faults due, then Ctrl-C and the SUT's health.
fn step(
    live: &mut Live<'_>,
    runner: &mut FaultRunner,
    now: Instant,
    label: &str,
    t0: Instant,
) -> Option<Stop> {
    if let Err(e) = runner.poll(now, live) {
        return Some(Stop::SutFailed(format!(
            "SUT {} {e} ({:.1} s into the {label})",
            live.proc.name(),
            t0.elapsed().as_secs_f64()
        )));
    }
    if runner.sut_down() {
        return live
            .s
            .cancel
            .load(Ordering::SeqCst)
            .then_some(Stop::Interrupted);
    }
    check_stop(live.s, &live.proc, label, t0)
}

fn check_stop(s: &Session, proc: &SutProcess, label: &str, t0: Instant) -> Option<Stop> {
    if s.cancel.load(Ordering::SeqCst) {
        return Some(Stop::Interrupted);
    }
    if let Some(status) = proc.exited() {
        std::thread::sleep(Duration::from_millis(100));
        let tail = proc.tail();
        return Some(Stop::SutFailed(format!(
            "SUT {} exited ({status}) {:.1} s into the {label}{}",
            proc.name(),
            t0.elapsed().as_secs_f64(),
            if tail.is_empty() {
                "; it wrote nothing to stderr".to_string()
            } else {
                format!("; last lines of its stderr:\n    {}", tail.join("\n    "))
            }
        )));
    }
    None
}
