//! tgbench: scenario files in, results out.
//!
//! Starts the mock Telegram (embedded) and a system under test (SUT), drives an
//! open-model load from a seeded schedule, samples the SUT's CPU and memory, and writes
//! `results.json` (the schema in `tgbench_reports::results`) plus a Markdown summary.
//!
//! # Layout
//! - [`scenario`]: TOML scenario files, strict parsing, errors that name file, line and key.
//! - [`schedule`]: arrival models as pure functions (seed + load → send instants).

pub mod scenario;
pub mod schedule;
