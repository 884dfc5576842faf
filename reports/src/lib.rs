//! tgbench-reports: everything that reads results.
//!
//! The simulator writes [`results::Results`] (the published `results.json`, schema
//! version 1); this crate turns results into what people read: Markdown and
//! self-contained HTML reports, verdicts on the claims under test, a cost model, and the
//! regression gate `tgbench compare` uses in CI.
//!
//! # Layout
//! - [`results`]: the results schema (serde types), the contract between simulator and
//!   reports.
//! - [`histogram`]: HdrHistogram V2 encoding of latency histograms stored in results.

pub mod histogram;
pub mod results;

/// Errors reading results.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not a tgbench results file: {0}")]
    Json(#[from] serde_json::Error),
    #[error("not a tgbench results file: no schema_version")]
    NoSchemaVersion,
    #[error("results schema_version {0} is not supported (this tgbench reads version 1)")]
    SchemaVersion(u64),
    #[error("latency histogram unreadable: {0}")]
    Histogram(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}
