//! tgbench-reports integration tests: one test binary (faster to build and link than one
//! per file), one module per area.

mod fixtures;

mod chromium;
mod claims;
mod compare;
mod report;
mod schema;

/// The claims fixture at 100 bots, shared with the Chromium test.
pub fn claims_inputs() -> Vec<tgbench_reports::Input> {
    claims::claims_results(100)
}
