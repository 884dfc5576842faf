//! tgbench: scenario files in, results out.
//!
//! Starts the mock Telegram (embedded, [`mock_telegram`]) and a system under test (SUT),
//! drives an open-model load from a seeded schedule, samples the SUT's CPU and memory, and
//! writes `results.json` (the schema in [`tgbench_reports::results`]) plus a Markdown
//! summary. `tgbench capacity` steps the bot count until the SLO breaks.
//!
//! Entry points: [`cli::run_cli`] (what the binary calls, with [`cli::Cli`] from
//! `Cli::parse_from`), [`run::run_scenario`], [`capacity::run_capacity`],
//! [`scenario::load`] / [`scenario::parse`].
//!
//! # Layout
//! - [`cli`]: clap types, [`cli::run_cli`], exit codes ([`cli::exit`]).
//! - [`scenario`]: TOML scenario files, strict parsing, errors that name file, line and key;
//!   the shipped scenarios, built in.
//! - [`schedule`]: arrival models as pure functions (seed + load → send instants).
//! - [`preflight`]: what a scenario needs (open files, ports, memory) against the machine.
//! - [`sut`]: the SUT process: environment contract, process group, pinning, readiness,
//!   SIGTERM then SIGKILL; a guard that leaves nothing behind.
//! - [`sampler`]: CPU and RSS of the SUT's process tree and of the harness (sysinfo).
//! - [`run`]: one scenario run: mock, SUT, warm-up, windows, drain, results entries;
//!   `run::faults` starts and ends `[[fault]]`s on schedule (SUT restarts included);
//!   `run::assemble` builds a results entry from what a window recorded.
//! - [`capacity`]: the capacity search and its curve.
//! - [`claims`]: `tgbench claims`: the claims measurements and the verdict report.
//! - [`summary`]: the Markdown summary printed on stdout; [`progress`]: the live line.
//! - [`output`]: the results folder and atomic writes; [`environment`]: the machine, UTC times.

pub mod capacity;
pub mod claims;
pub mod cli;
pub mod environment;
pub mod output;
pub mod placement;
pub mod preflight;
pub mod progress;
pub mod run;
pub mod sampler;
pub mod scenario;
pub mod schedule;
pub mod summary;
pub mod sut;

pub use cli::{Cli, run_cli};
