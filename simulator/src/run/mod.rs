//! One scenario run: per SUT and repetition, a fresh embedded mock, the SUT started and
//! waited on, warm-up, then each measured window (or phase) under the open-model load,
//! a drain, and a results entry per window. Results are rewritten atomically after every
//! SUT, so an interrupted run still leaves what it measured, marked incomplete.
//!
//! Accounting is exact: each segment (warm-up, window, phase) starts only after the
//! previous one drained (every update answered, or `drain_s` passed), and a window's
//! counts are the mock's counter deltas from its start to the end of its drain.
//!
//! - here: the `Session` a run (or a capacity search) works in — preflight, CPU
//!   placement, runtime, signals, the results file — and [`run_scenario`];
//! - `measure`: one SUT run — start it, wait until ready, each segment into a window;
//! - `watch`: the one loop that waits through a window or a drain, running the faults and
//!   watching for Ctrl-C and the SUT's death;
//! - [`faults`]: `[[fault]]`s started and ended on schedule;
//! - [`assemble`]: a results entry from what a window recorded;
//! - `inject` and `monitor`: the threads that send the load and take the samples.

pub mod assemble;
pub mod faults;
mod inject;
mod measure;
mod monitor;
mod watch;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tgbench_reports::results::{self, Results, Run, ScenarioInfo, SutFailure, TelegramInfo};

pub use measure::mock_config;

use crate::output;
use crate::placement::{Pinned, Placement};
use crate::preflight::{self, Machine, Refusal};
use crate::progress::Progress;
use crate::scenario::Scenario;
use crate::sut::{self, SutError};

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
    /// Live figures for `--metrics-listen` (see [`crate::metrics`]); None: not kept.
    pub metrics: Option<Arc<crate::metrics::Live>>,
    /// After a SUT fails (not ready, died), go on with the next SUT instead of ending the
    /// run; the run still ends "SUT failed", and the results say which SUTs failed and why
    /// (`tgbench claims`, where one framework that cannot host the bots must not hide the
    /// others' figures).
    pub keep_going: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            out_dir: None,
            progress: true,
            impls_dir: None,
            cancel: Arc::new(AtomicBool::new(false)),
            metrics: None,
            keep_going: false,
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

/// Why a run could not start, or could not keep its results.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scenario does not fit this machine.
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// A SUT cannot be started at all (e.g. a reference binary is missing).
    #[error("{0}")]
    Setup(#[from] SutError),
    /// The runtime serving the mock cannot start.
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// `results.json` cannot be written.
    #[error("cannot write results into {}: {source}", dir.display())]
    Write {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What stopped a SUT's run early.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Stop {
    Interrupted,
    SutFailed(String),
}

impl Stop {
    /// Why the results are incomplete.
    fn reason(&self) -> String {
        match self {
            Stop::Interrupted => "interrupted (SIGINT/SIGTERM)".into(),
            Stop::SutFailed(msg) => msg.clone(),
        }
    }

    fn status(self) -> Status {
        match self {
            Stop::Interrupted => Status::Interrupted,
            Stop::SutFailed(msg) => Status::SutFailed(msg),
        }
    }
}

/// A SUT that could not start or get ready stops its run; an interruption while waiting
/// for it is an interruption.
impl From<SutError> for Stop {
    fn from(e: SutError) -> Stop {
        match e {
            SutError::Interrupted { .. } => Stop::Interrupted,
            e => Stop::SutFailed(e.to_string()),
        }
    }
}

/// What one SUT run left: its windows, and why it stopped early, if it did.
#[derive(Default)]
pub(crate) struct SutRun {
    pub runs: Vec<Run>,
    pub stop: Option<Stop>,
}

/// What a run (or a capacity search) shares across SUTs: the machine and the CPU
/// placement, the runtime serving the mock, the progress display, the cancel flag, and
/// the results file.
pub(crate) struct Session {
    machine: Machine,
    progress: Progress,
    cancel: Arc<AtomicBool>,
    placement: Placement,
    harness_cores: usize,
    impls: PathBuf,
    rt: tokio::runtime::Runtime,
    file: ResultsFile,
    metrics: Option<Arc<crate::metrics::Live>>,
    _pinned: Pinned,
}

impl Session {
    /// Checks the scenario against the machine at `bots` bots, resolves every SUT's
    /// command, pins the harness where the placement says, starts the runtime and the
    /// signal handlers. Results go to `--out`, else `results/<name>-<UTC time>`.
    pub fn new(scn: &Scenario, opts: &Options, bots: u64, name: &str) -> Result<Session, RunError> {
        preflight::raise_open_files_limit();
        let machine = Machine::probe();
        preflight::check(scn, bots, &machine)?;
        let impls = opts.impls_dir.clone().unwrap_or_else(sut::impls_dir);
        sut::build_reference_binaries_if_missing(scn, &impls);
        for s in &scn.suts {
            sut::command_line(s, &impls)?;
        }
        // The harness goes on the cores no SUT asks for; the runtime's threads inherit it.
        let placement = Placement::for_scenario(scn, machine.cores);
        let pinned = placement.pin_harness();
        let harness_cores = placement.harness_cores(machine.cores);
        // One worker per harness core: a second worker on the same core was woken per
        // hand-off between the mock's tasks (context switches, ~3-5 µs per echo).
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(harness_cores.max(1))
            .thread_name("tgbench-mock")
            .enable_all()
            .build()
            .map_err(RunError::Runtime)?;
        install_signal_handlers(&rt, opts.cancel.clone());
        Ok(Session {
            machine,
            progress: Progress::new(opts.progress),
            cancel: opts.cancel.clone(),
            placement,
            harness_cores,
            impls,
            rt,
            file: ResultsFile::new(opts, name),
            metrics: opts.metrics.clone(),
            _pinned: pinned,
        })
    }

    /// Whether Ctrl-C or SIGTERM (or the caller) asked the run to stop.
    pub fn interrupted(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// Whether this machine can host `scn` at `bots` bots (see [`preflight::check`]).
    pub fn check(&self, scn: &Scenario, bots: u64) -> Result<preflight::Needs, Refusal> {
        preflight::check(scn, bots, &self.machine)
    }

    /// A line for the reader, above the live line.
    pub fn note(&self, line: &str) {
        self.progress.note(line);
    }

    /// The results skeleton of a scenario (no runs yet), written at once so the folder
    /// exists from the start.
    pub fn begin(&self, scn: &Scenario) -> Result<Results, RunError> {
        let results = Results {
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
            failed_suts: Vec::new(),
        };
        self.write(&results)?;
        Ok(results)
    }

    /// Rewrites `results.json` atomically; returns its path.
    pub fn write(&self, r: &Results) -> Result<PathBuf, RunError> {
        self.file.write(r)
    }

    /// Stamps the finish time on `results`, writes them a last time, and says how it ended.
    pub fn finish(&self, mut results: Results, status: Status) -> Result<Outcome, RunError> {
        results.finished_at = crate::environment::now_rfc3339();
        let path = self.write(&results)?;
        Ok(Outcome {
            results,
            path,
            status,
        })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.progress.finish();
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

/// The results folder of a run, and its atomic writer.
struct ResultsFile {
    dir: PathBuf,
}

impl ResultsFile {
    /// `--out`, else `results/<default_name>-<UTC time>`.
    fn new(opts: &Options, default_name: &str) -> ResultsFile {
        ResultsFile {
            dir: opts
                .out_dir
                .clone()
                .unwrap_or_else(|| output::default_dir(default_name)),
        }
    }

    fn write(&self, r: &Results) -> Result<PathBuf, RunError> {
        output::write_results(&self.dir, r).map_err(|source| RunError::Write {
            dir: self.dir.clone(),
            source,
        })
    }
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
            tls: t.tls,
        },
        load: serde_json::to_value(&scn.load).unwrap_or_default(),
        slo: serde_json::to_value(&scn.slo).unwrap_or_default(),
    }
}

/// Runs a scenario: every SUT, every repetition. Writes `results.json` into the output
/// folder (rewritten after each SUT) and returns the outcome.
pub fn run_scenario(scn: &Scenario, opts: &Options) -> Result<Outcome, RunError> {
    let session = Session::new(scn, opts, scn.telegram.bots, &scn.name)?;
    let mut results = session.begin(scn)?;
    let mut status = Status::Ok;
    'suts: for s in &scn.suts {
        for rep in 0..scn.repeat {
            let r = session.measure(scn, s, rep);
            results.runs.extend(r.runs);
            match r.stop {
                Some(Stop::SutFailed(why)) if opts.keep_going => {
                    results.failed_suts.push(SutFailure {
                        sut: s.name.clone(),
                        reason: why.clone(),
                    });
                    // Every failure so far, first line each: "SUTs failed: a: …; b: …".
                    let each: Vec<String> = results
                        .failed_suts
                        .iter()
                        .map(|f| format!("{}: {}", f.sut, f.reason.lines().next().unwrap_or("")))
                        .collect();
                    results.incomplete_reason = Some(format!("SUTs failed: {}", each.join("; ")));
                    if status == Status::Ok {
                        status = Status::SutFailed(why);
                    }
                    session.write(&results)?;
                    continue 'suts;
                }
                Some(stop) => {
                    results.incomplete_reason = Some(stop.reason());
                    status = stop.status();
                    break 'suts;
                }
                None => {}
            }
            session.write(&results)?;
        }
    }
    if status == Status::Ok {
        results.complete = true;
        results.incomplete_reason = None;
        if results.runs.iter().any(|r| !r.slo.passed) {
            status = Status::SloFailed;
        }
    }
    session.finish(results, status)
}
