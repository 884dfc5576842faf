//! The summary `tgbench run` and `tgbench capacity` print when a run ends: Markdown on
//! stdout, one row per SUT, repetition and phase (not folded), the harness's verdict on
//! itself, SLO failures and capacity curves, then where the results file is. The full
//! reports (HTML, charts, claims) are `tgbench report`'s job.
//!
//! [`summary`] renders one results file; [`Console`] is the format behind it, and shows
//! the first input of the [`ReportData`] it is given.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::tables::{capacity_figure, capacity_step_text};
use super::{Report, ReportData};
use crate::Error;
use crate::results::{Results, Run};
use crate::rows::Input;
use crate::table::Table;
use crate::text::NOT_MEASURED;

/// The console summary of `results`, written to `path`.
pub fn summary(results: &Results, path: &str) -> String {
    let inputs = [Input::new(path, results.clone())];
    let data = ReportData::new(&inputs);
    let mut console = Console::new(path);
    console.begin(&data);
    console.summary(&data);
    console.capacity(&data);
    // Console writes no file: `finish` closes the text.
    let _ = console.finish(Path::new(""));
    console.into_text()
}

/// The console format: text, no file.
#[derive(Debug, Default)]
pub struct Console {
    /// Where the results file was written (the last line names it).
    results_path: String,
    out: String,
    /// Bullet points, printed as one list after the table.
    notes: Vec<String>,
    /// Why the run did not finish, if it did not.
    incomplete: Option<String>,
}

impl Console {
    pub fn new(results_path: impl Into<String>) -> Self {
        Self {
            results_path: results_path.into(),
            ..Self::default()
        }
    }

    pub fn into_text(self) -> String {
        self.out
    }
}

fn first<'d>(data: &'d ReportData<'_>) -> Option<&'d Results> {
    data.inputs.first().map(|i| &i.results)
}

/// One row per run: exact counts, one decimal, as a run's figures are read on a terminal.
fn runs_table(runs: &[Run]) -> Table {
    let mut t = Table::new([
        "SUT",
        "phase",
        "rep",
        "injected",
        "replied",
        "lost",
        "dup",
        "p50 ms",
        "p99 ms",
        "max ms",
        "CPU % (mean / max)",
        "RSS MiB (peak)",
        "req/min",
        "SLO",
    ]);
    t.numeric = (2..=12).collect();
    for r in runs {
        let slo = if !r.complete {
            "incomplete"
        } else if r.slo.checks.is_empty() {
            "–"
        } else if r.slo.passed {
            "pass"
        } else {
            "FAIL"
        };
        t.push(vec![
            r.sut.name.as_str().into(),
            r.phase.as_deref().unwrap_or("–").into(),
            (r.repetition + 1).to_string().into(),
            r.updates.injected.to_string().into(),
            r.updates.replied.to_string().into(),
            r.updates.lost.to_string().into(),
            r.updates.duplicated.to_string().into(),
            format!("{:.1}", r.latency_ms.p50).into(),
            format!("{:.1}", r.latency_ms.p99).into(),
            format!("{:.1}", r.latency_ms.max).into(),
            r.cpu
                .as_ref()
                .map_or(NOT_MEASURED.to_string(), |c| {
                    format!("{:.1} / {:.1}", c.mean_pct, c.max_pct)
                })
                .into(),
            r.memory
                .as_ref()
                .map_or(NOT_MEASURED.to_string(), |m| {
                    format!("{:.1}", m.rss_peak_mb)
                })
                .into(),
            format!("{:.0}", r.requests.per_min).into(),
            slo.into(),
        ]);
    }
    t
}

/// SLO misses, harness notes and incomplete runs, one line each.
fn run_notes(runs: &[Run]) -> Vec<String> {
    let mut notes = Vec::new();
    for r in runs {
        let who = match &r.phase {
            Some(p) => format!("{} ({p}, rep {})", r.sut.name, r.repetition + 1),
            None => format!("{} (rep {})", r.sut.name, r.repetition + 1),
        };
        for c in r.slo.checks.iter().filter(|c| !c.passed) {
            notes.push(format!(
                "SLO missed by {who}: {} = {} > {}",
                c.name, c.measured, c.limit
            ));
        }
        if r.harness.bottleneck {
            notes.push(format!(
                "**Harness bottleneck** in {who} — not the SUT's doing: {}",
                r.harness.notes.join("; ")
            ));
        } else {
            for n in &r.harness.notes {
                notes.push(format!("{who}: {n}"));
            }
        }
        if let Some(reason) = &r.incomplete_reason {
            notes.push(format!("{who} incomplete: {reason}"));
        }
    }
    if !runs.is_empty() {
        let lag_p99 = runs
            .iter()
            .map(|r| r.harness.injection_lag_p99_ms)
            .fold(0.0, f64::max);
        let mock_cpu = runs
            .iter()
            .map(|r| r.overhead.cpu.mean_pct)
            .fold(0.0, f64::max);
        notes.push(format!(
            "Harness: injection lag p99 ≤ {lag_p99:.2} ms; mock + harness CPU ≤ {mock_cpu:.1} % of a core (overhead, not in the SUT's figures)."
        ));
    }
    notes
}

impl Report for Console {
    /// Scenario, load and machine in two lines.
    fn begin(&mut self, data: &ReportData<'_>) {
        let Some(results) = first(data) else { return };
        self.incomplete = (!results.complete).then(|| {
            results
                .incomplete_reason
                .clone()
                .unwrap_or_else(|| "unknown reason".into())
        });
        let s = &results.scenario;
        let _ = writeln!(self.out, "## tgbench: {}\n", s.name);
        let _ = writeln!(
            self.out,
            "{} bots, RTT {} ± {} ms, window {} s (warm-up {} s, drain ≤ {} s), seed {}. {}, {} cores; {}.\n",
            s.telegram.bots,
            s.telegram.rtt_ms,
            s.telegram.jitter_ms,
            s.duration_s,
            s.warmup_s,
            s.drain_s,
            s.seed,
            results.environment.cpu_model,
            results.environment.cores,
            results.environment.pinning,
        );
    }

    /// Every run, then the notes on them.
    fn summary(&mut self, data: &ReportData<'_>) {
        let Some(results) = first(data) else { return };
        if !results.runs.is_empty() {
            self.out.push_str(&runs_table(&results.runs).to_markdown());
            self.out.push('\n');
        }
        self.notes.extend(run_notes(&results.runs));
    }

    /// One line per capacity curve: the largest count that held and every step.
    fn capacity(&mut self, data: &ReportData<'_>) {
        let Some(results) = first(data) else { return };
        for c in &results.capacity {
            let steps: Vec<String> = c
                .steps
                .iter()
                .map(|st| {
                    let mark = if st.passed {
                        " ✓"
                    } else if st.machine_limit {
                        " (machine limit)"
                    } else {
                        " ✗"
                    };
                    format!("{}{mark}", capacity_step_text(st))
                })
                .collect();
            let held = match (&c.rate, &c.replicas) {
                (_, Some(_)) => "",
                (Some(_), None) => " held",
                (None, None) => " bots held",
            };
            self.notes.push(format!(
                "Capacity of {}: **{}**{held}; stopped by {} (steps: {}).",
                c.sut,
                capacity_figure(c),
                c.stopped_by,
                steps.join(", ")
            ));
        }
    }

    /// The notes, whether the run finished, and where its results are. Writes no file.
    fn finish(&mut self, _out_dir: &Path) -> Result<Vec<PathBuf>, Error> {
        for n in self.notes.drain(..) {
            let _ = writeln!(self.out, "- {n}");
        }
        if let Some(reason) = &self.incomplete {
            let _ = writeln!(self.out, "\n**Incomplete run**: {reason}");
        }
        let _ = writeln!(self.out, "\nResults: {}", self.results_path);
        Ok(Vec::new())
    }
}
