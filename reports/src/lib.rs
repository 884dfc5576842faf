//! tgbench-reports: everything that reads results.
//!
//! The simulator writes [`results::Results`] (the published `results.json`, schema
//! version 1, defined in the `tgbench-results` crate and re-exported here as [`results`]
//! and [`histogram`]); this crate turns results into what people read: Markdown and
//! self-contained HTML reports, verdicts on the claims under test, a cost model, and the
//! regression gate `tgbench compare` uses in CI.
//!
//! # Entry points (what the `tgbench` CLI calls)
//! - `tgbench report FILES… --out DIR`:
//!   [`Input::read_all`]`(&paths)?` then [`write_reports`]`(&inputs, out_dir, None)?`,
//!   which writes `report.md` and `report.html` and returns their paths ([`Written`]).
//! - `tgbench claims [--prices FILE]`: after running the claims scenarios,
//!   [`claims_table`]`(&inputs, &prices)` (prices: [`Prices::default`] or
//!   [`Prices::read`]) then [`write_reports`]`(&inputs, out_dir, Some(&table))`: the
//!   verdict table goes on top of both files; [`report::markdown::claims_section`] is the
//!   same table as Markdown text for the console.
//! - `tgbench compare BASELINE CURRENT [--max-regression SPEC] [--format github]`:
//!   [`Thresholds::parse`]`(spec)?` (an error names the bad entry),
//!   [`compare_files`]`(baseline, current, &thresholds)`, print
//!   [`Comparison::render`]`(format)` ([`OutputFormat`] parses `markdown` / `github`),
//!   exit with [`Comparison::exit_code`] (0 ok, 1 regression, 2 unusable input).
//! - `tgbench run` / `tgbench capacity`: [`report::console::summary`]`(&results, path)`, the
//!   Markdown summary printed when a run ends.
//!
//! # Layout
//! - [`rows`]: results files in ([`Input`]), rows out: one per file, SUT and phase, with
//!   repetitions folded.
//! - [`report`]: the [`report::Report`] trait with a method per section, one implementation
//!   per format ([`report::markdown`], [`report::html`], [`report::github`],
//!   [`report::console`]) and the fan-out; every section of every output is rendered there.
//!   [`chart`]: the SVG charts; [`table`]: tables written as Markdown or HTML; [`text`]:
//!   number formatting, escaping.
//! - [`claims`]: the claims and configurations, their measurement, the verdict rules and
//!   the verdict table.
//! - [`decision`]: the decision summary on top of a report (cheapest, fastest, which need
//!   no public endpoint, what would change the answer), sentences from measured figures.
//! - [`cost`]: the price file (`reports/prices.toml`, embedded, Lambda's prices included) and
//!   the cost model: always-on right-sizing, a measured serverless window's bill, cost versus
//!   traffic and its break-even.
//! - [`compare`]: thresholds, deltas, noise test, outcome and exit codes.
//! - [`stats`]: median, quantiles, the seeded bootstrap.
//!
//! `docs/architecture.md` places this crate in the whole; `docs/contracts.md` describes
//! `results.json` and the CLI.

pub mod chart;
pub mod claims;
pub mod compare;
pub mod cost;
pub mod decision;
pub mod report;
pub mod rows;
pub mod stats;
pub mod table;
pub mod text;

/// The results file's types (the `tgbench-results` crate).
pub use tgbench_results as results;
/// HdrHistogram V2 encoding of the latency histograms in results files.
pub use tgbench_results::histogram;

pub use claims::{ClaimsTable, claims_table};
pub use compare::{Comparison, Outcome, Thresholds, compare, compare_files};
pub use cost::{Prices, PricesError};
pub use report::{OutputFormat, Written, write_reports};
pub use rows::Input;

/// Errors reading results, price files, or writing reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A results file that was read but is not usable results.
    #[error("{path}: {source}")]
    File {
        path: String,
        source: tgbench_results::Error,
    },
    #[error("price file: {path}: {source}")]
    PricesFile { path: String, source: PricesError },
}
