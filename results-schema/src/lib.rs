//! tgbench-results: the results file, `results.json`, `schema_version: 1`, in one place for
//! the writer and every reader.
//!
//! The simulator (`tgbench`) writes [`Results`]; `tgbench-reports` reads them back; the mock's
//! `GET /_mock/stats` reports its latency as the same [`Latency`]. The file is a published
//! contract: [`JSON_SCHEMA`] (`results-schema/results.schema.json`) describes every field,
//! and within a schema version fields are only ever added (with `#[serde(default)]`), so
//! older files stay readable. `docs/contracts.md` lists the project's public contracts.
//!
//! # Layout
//! - [`schema`] (re-exported at the root): the serde types, from [`Results`] down, and
//!   [`Results::from_json`], which checks the schema version.
//! - [`histogram`]: latency histograms as stored in a run (HdrHistogram V2, µs, base64):
//!   encode, decode, merge, and [`Latency::from_histogram`], the one histogram → latency
//!   summary every crate uses.
//! - [`Error`]: what can be wrong with a results file or a stored histogram.

pub mod histogram;
pub mod schema;

pub use schema::*;

/// The version written into every results file and the only one read.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON Schema of [`Results`] (`results-schema/results.schema.json`), for validators
/// and for the tests that keep it and the types in step.
pub const JSON_SCHEMA: &str = include_str!("../results.schema.json");

/// A figure as results files keep it: two decimals (percentages, MiB, rates per minute).
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A figure as results files keep it: three decimals (seconds).
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A results file or a latency histogram that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not a tgbench results file: {0}")]
    Json(#[from] serde_json::Error),
    #[error("not a tgbench results file: no schema_version")]
    NoSchemaVersion,
    #[error("results schema_version {0} is not supported (this tgbench reads version 1)")]
    SchemaVersion(u64),
    #[error("latency histogram unreadable: {0}")]
    HistogramBase64(#[from] base64::DecodeError),
    #[error("latency histogram unreadable: {0}")]
    HistogramFormat(#[from] hdrhistogram::serialization::DeserializeError),
    #[error("latency histograms cannot be merged: {0}")]
    HistogramMerge(#[from] hdrhistogram::errors::AdditionError),
}
