//! tgbench: scenario files in, results out.
//!
//! Starts the mock Telegram (embedded, [`mock_telegram`]) and a system under test (SUT),
//! drives an open-model load from a seeded schedule, samples the SUT's CPU and memory, and
//! writes `results.json` (the schema in [`tgbench_reports::results`]) plus a Markdown
//! summary. `tgbench capacity` steps the bot count (or the rate, or the replicas) against the SLO.
//!
//! Entry points: [`cli::run_cli`] (what the binary calls, with [`cli::Cli`] from
//! `Cli::parse_from`), [`run::run_scenario`], [`capacity::run_capacity`],
//! [`scenario::load`] / [`scenario::parse`].
//!
//! # Layout
//! - [`cli`]: clap types, [`cli::run_cli`], exit codes ([`cli::exit`]).
//! - [`scenario`]: TOML scenario files, strict parsing, errors that name file, line and key;
//!   the shipped scenarios, built in.
//! - [`schedule`]: arrival models as pure functions (seed + load → send instants), and
//!   the stream the injector reads ([`schedule::sends`]).
//! - [`trace`]: traces of real traffic: read and checked row by row (file, line, column),
//!   replayed as a stream, described (`tgbench trace stats`), made from a platform's log.
//! - [`preflight`]: what a scenario needs (open files, ports, memory) against the machine;
//!   [`placement`]: which CPUs the SUT and the harness get.
//! - [`sut`]: the system under test. The run talks to a [`sut::Deployment`] (start, ready,
//!   signal, restart, stop) and samples it through a [`sut::ResourceSource`]; underneath:
//!   the process group guard (`sut::process`), readiness (`sut::ready`), the environment
//!   contract (`sut::env`), the reference servers (`sut::reference`), the CPU budget of a
//!   `cpu_quota` (`sut::budget`), CPU and RSS from Prometheus (`sut::prometheus`). A
//!   deployment is one process tree, a fleet of replicas, a serverless platform, or an
//!   external SUT tgbench does not start.
//! - [`sampler`]: CPU and RSS of the SUT's process trees (one per replica) and of the
//!   harness (sysinfo).
//! - [`run`]: one scenario run. `run` itself holds the `Session` (preflight, placement,
//!   runtime, signals, the results file) that a run and a capacity search share;
//!   `run::measure` runs one SUT (start, ready, each segment into a window);
//!   `run::watch` is the loop that waits through a window or a drain; [`run::faults`]
//!   starts and ends `[[fault]]`s on schedule (SUT restarts included); [`run::assemble`]
//!   builds a results entry from what a window recorded.
//! - [`capacity`]: the capacity search and its curve, driving a run's `Session`.
//! - [`claims`]: `tgbench claims`: the claims measurements and the verdict report.
//! - [`metrics`]: live metrics (`--metrics-listen`): the run's figures per SUT and phase,
//!   read at each scrape and served as OpenMetrics through mock-telegram's writers.
//! - [`progress`]: the live line (the summary printed at the end is
//!   `tgbench_reports::report::console::summary`).
//! - [`output`]: the results folder and atomic writes; [`environment`]: the machine, UTC times.

pub mod capacity;
pub mod claims;
pub mod cli;
pub mod environment;
pub mod metrics;
pub mod output;
pub mod placement;
pub mod preflight;
pub mod progress;
pub mod run;
pub mod sampler;
pub mod scenario;
pub mod schedule;
pub mod send;
pub mod sut;
pub mod trace;

pub use cli::{Cli, run_cli};
