//! `tgbench report`: results files in, `report.md` and `report.html` out.
//!
//! One [`Report`] trait with a method per section of a report, each a no-op by default;
//! one implementation per format ([`markdown::Markdown`], [`html::Html`]); and a fan-out,
//! [`Reports`], that calls every enabled format in the same order (criterion's habit,
//! STYLE #5). The tables every format shows are built once here from [`ReportData`].

pub mod html;
pub mod markdown;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::claims::ClaimsTable;
use crate::results::CapacityCurve;
use crate::rows::{Input, Row, rows};
use crate::table::{Cell, Table, Tone};
use crate::text::{count, num};

/// Everything a format needs, computed once.
pub struct ReportData<'a> {
    pub inputs: &'a [Input],
    pub rows: Vec<Row<'a>>,
    pub warnings: Vec<Warning>,
    /// True when more than one file is shown: labels then carry the file.
    pub several_files: bool,
}

/// Something the reader must know before trusting a figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    /// What it is about: "file · SUT (phase)" or a file label.
    pub subject: String,
    pub message: String,
}

impl<'a> ReportData<'a> {
    /// Rows of every input, except the steps of a capacity search (a SUT run at several bot
    /// counts in a file with capacity curves): the capacity section shows those.
    pub fn new(inputs: &'a [Input]) -> Self {
        let rows: Vec<Row<'a>> = rows(inputs)
            .into_iter()
            .filter(|r| !r.several_bot_counts || inputs[r.input].results.capacity.is_empty())
            .collect();
        let several_files = inputs.len() > 1;
        let warnings = warnings(inputs, &rows, several_files);
        Self {
            inputs,
            rows,
            warnings,
            several_files,
        }
    }

    /// Capacity curves of every input with the label they are shown under.
    pub fn capacity(&self) -> Vec<(String, &'a CapacityCurve)> {
        let mut out = Vec::new();
        for input in self.inputs {
            for c in &input.results.capacity {
                let label = if self.several_files {
                    format!("{} · {}", input.label, c.sut)
                } else {
                    c.sut.clone()
                };
                out.push((label, c));
            }
        }
        out
    }

    /// The scenario names shown, in order, without repeats.
    pub fn scenario_names(&self) -> Vec<&'a str> {
        let mut v: Vec<&str> = Vec::new();
        for i in self.inputs {
            if !v.contains(&i.results.scenario.name.as_str()) {
                v.push(&i.results.scenario.name);
            }
        }
        v
    }
}

fn warnings(inputs: &[Input], rows: &[Row<'_>], several: bool) -> Vec<Warning> {
    let mut out = Vec::new();
    for input in inputs {
        if !input.results.complete {
            out.push(Warning {
                subject: input.label.clone(),
                message: format!(
                    "incomplete results file: {}",
                    input
                        .results
                        .incomplete_reason
                        .as_deref()
                        .unwrap_or("the run did not finish")
                ),
            });
        }
        if input.results.runs.is_empty() && input.results.capacity.is_empty() {
            out.push(Warning {
                subject: input.label.clone(),
                message: "no runs in this file".into(),
            });
        }
    }
    for row in rows {
        let subject = row.label(several);
        for run in &row.runs {
            if run.harness.bottleneck {
                let notes = if run.harness.notes.is_empty() {
                    String::new()
                } else {
                    format!(": {}", run.harness.notes.join("; "))
                };
                out.push(Warning {
                    subject: subject.clone(),
                    message: format!(
                        "the harness, not the SUT, was the bottleneck (injection lag p99 {} ms){notes}; the SUT's figures are a lower bound on what it can do",
                        num(run.harness.injection_lag_p99_ms)
                    ),
                });
            }
        }
        let run_reasons: Vec<String> = row
            .runs
            .iter()
            .filter(|r| !r.complete)
            .map(|r| {
                r.incomplete_reason
                    .clone()
                    .unwrap_or_else(|| format!("repetition {} did not finish", r.repetition))
            })
            .collect();
        if !run_reasons.is_empty() {
            out.push(Warning {
                subject: subject.clone(),
                message: format!("incomplete run: {}", run_reasons.join("; ")),
            });
        }
        if row.latency.count == 0 && row.injected > 0 {
            out.push(Warning {
                subject: subject.clone(),
                message: format!(
                    "no reply was measured although {} messages were sent",
                    count(row.injected)
                ),
            });
        }
    }
    out
}

/// The summary table: one row per SUT (per file and phase), the figures people compare.
pub fn summary_table(data: &ReportData<'_>) -> Table {
    let mut t = Table::new([
        "SUT",
        "kind",
        "bots",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "CPU mean %",
        "CPU p95 %",
        "RSS mean MB",
        "RSS peak MB",
        "req/min",
        "lost",
        "dup",
        "mock CPU %",
        "SLO",
    ]);
    t.numeric = (2..15).collect();
    for r in &data.rows {
        let mut name = r.label(data.several_files);
        if r.repetitions() > 1 {
            name.push_str(&format!(" ×{}", r.repetitions()));
        }
        let name_cell = if r.complete {
            Cell::from(name)
        } else {
            Cell::new(format!("{name} ⚠ incomplete"), Tone::Warn)
        };
        let slo = if r.slo_passed {
            Cell::new("✓ pass", Tone::Good)
        } else if r.slo_failures.is_empty() {
            Cell::new("✗ fail", Tone::Bad)
        } else {
            Cell::new(format!("✗ {}", r.slo_failures.join(", ")), Tone::Bad)
        };
        let mock_cpu = r.runs.iter().map(|x| x.overhead.cpu.mean_pct).sum::<f64>()
            / r.runs.len().max(1) as f64;
        t.push(vec![
            name_cell,
            r.kind.into(),
            count(r.bots).into(),
            num(r.latency.p50).into(),
            num(r.latency.p90).into(),
            num(r.latency.p99).into(),
            num(r.latency.max).into(),
            num(r.cpu.mean_pct).into(),
            num(r.cpu.p95_pct).into(),
            num(r.memory.rss_mean_mb).into(),
            num(r.memory.rss_peak_mb).into(),
            num(r.requests_per_min).into(),
            Cell::new(
                count(r.lost),
                if r.lost > 0 { Tone::Bad } else { Tone::Plain },
            ),
            Cell::new(
                count(r.duplicated),
                if r.duplicated > 0 {
                    Tone::Warn
                } else {
                    Tone::Plain
                },
            ),
            num(mock_cpu).into(),
            slo,
        ]);
    }
    t
}

/// Every Bot API method any row used, sorted.
pub fn methods(data: &ReportData<'_>) -> Vec<String> {
    let set: BTreeSet<&String> = data
        .rows
        .iter()
        .flat_map(|r| r.by_method_per_min.keys())
        .collect();
    set.into_iter().cloned().collect()
}

/// Requests per minute by method: one row per SUT, one column per method, then the total.
pub fn methods_table(data: &ReportData<'_>) -> Table {
    let methods = methods(data);
    let mut headers = vec!["SUT".to_owned()];
    headers.extend(methods.iter().cloned());
    headers.push("total".into());
    let mut t = Table::new(headers);
    t.numeric = (1..=methods.len() + 1).collect();
    for r in &data.rows {
        let mut row: Vec<Cell> = vec![r.label(data.several_files).into()];
        for m in &methods {
            row.push(num(r.by_method_per_min.get(m).copied().unwrap_or(0.0)).into());
        }
        row.push(num(r.requests_per_min).into());
        t.push(row);
    }
    t
}

/// Capacity: one row per step of every curve.
pub fn capacity_table(data: &ReportData<'_>) -> Table {
    let mut t = Table::new([
        "SUT",
        "bots",
        "passed",
        "p99 ms",
        "lost",
        "CPU mean %",
        "RSS peak MB",
        "req/min",
        "why it failed",
    ]);
    t.numeric = vec![1, 3, 4, 5, 6, 7];
    for (label, c) in data.capacity() {
        for s in &c.steps {
            let passed = if s.passed {
                Cell::new("✓", Tone::Good)
            } else if s.machine_limit {
                Cell::new("⚠ machine limit", Tone::Warn)
            } else {
                Cell::new("✗", Tone::Bad)
            };
            t.push(vec![
                label.clone().into(),
                count(s.bots).into(),
                passed,
                num(s.p99_ms).into(),
                count(s.lost).into(),
                num(s.cpu_mean_pct).into(),
                num(s.rss_peak_mb).into(),
                num(s.requests_per_min).into(),
                s.reason.clone().unwrap_or_default().into(),
            ]);
        }
    }
    t
}

/// The largest bot count per curve and what stopped the search.
pub fn capacity_summary(data: &ReportData<'_>) -> Table {
    let mut t = Table::new(["SUT", "max bots meeting the SLO", "search stopped by"]);
    t.numeric = vec![1];
    for (label, c) in data.capacity() {
        let max = c.max_bots.map_or_else(|| "none".to_owned(), count);
        t.push(vec![label.into(), max.into(), c.stopped_by.clone().into()]);
    }
    t
}

/// Scenario and environment, one column per file.
pub fn environment_table(data: &ReportData<'_>) -> Table {
    let mut headers = vec!["".to_owned()];
    headers.extend(data.inputs.iter().map(|i| i.label.clone()));
    let mut t = Table::new(headers);
    type Field = (&'static str, fn(&Input) -> String);
    let fields: [Field; 17] = [
        ("scenario", |i| i.results.scenario.name.clone()),
        ("scenario file", |i| i.results.scenario.file.clone()),
        ("window", |i| {
            let s = &i.results.scenario;
            format!(
                "{} s (warm-up {} s, drain {} s)",
                num(s.duration_s),
                num(s.warmup_s),
                num(s.drain_s)
            )
        }),
        ("bots", |i| count(i.results.scenario.telegram.bots)),
        ("emulated RTT", |i| {
            let t = &i.results.scenario.telegram;
            format!("{} ms ± {} ms", num(t.rtt_ms), num(t.jitter_ms))
        }),
        ("anti-spin / rate limits", |i| {
            let t = &i.results.scenario.telegram;
            format!(
                "{} / {}",
                if t.anti_spin { "on" } else { "off" },
                if t.rate_limits { "on" } else { "off" }
            )
        }),
        ("load", |i| compact_json(&i.results.scenario.load)),
        ("SLO", |i| compact_json(&i.results.scenario.slo)),
        ("seed", |i| i.results.scenario.seed.to_string()),
        ("CPU", |i| {
            format!(
                "{} × {}",
                i.results.environment.cores, i.results.environment.cpu_model
            )
        }),
        ("memory", |i| {
            format!("{} MB", num(i.results.environment.memory_total_mb))
        }),
        ("OS / kernel", |i| {
            format!(
                "{} {}",
                i.results.environment.os, i.results.environment.kernel
            )
        }),
        ("open files limit", |i| {
            count(i.results.environment.open_files_limit)
        }),
        ("pinning", |i| i.results.environment.pinning.clone()),
        ("git revision", |i| {
            i.results.environment.git_revision.clone()
        }),
        ("tool", |i| {
            format!("{} {}", i.results.tool.name, i.results.tool.version)
        }),
        ("started / finished", |i| {
            let r = &i.results;
            let status = if r.complete { "" } else { " (incomplete)" };
            format!("{} → {}{status}", r.started_at, r.finished_at)
        }),
    ];
    for (name, f) in fields {
        let mut row: Vec<Cell> = vec![name.into()];
        row.extend(data.inputs.iter().map(|i| Cell::from(f(i))));
        t.push(row);
    }
    t
}

fn compact_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", compact_json(v)))
            .collect::<Vec<_>>()
            .join(", "),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One output format. Methods are called in declaration order, each section once; every
/// method is a no-op by default so a format implements only what it shows.
pub trait Report {
    fn begin(&mut self, _data: &ReportData<'_>) {}
    /// The claims verdict table, on top of the claims report.
    fn claims(&mut self, _table: &ClaimsTable) {}
    fn warnings(&mut self, _data: &ReportData<'_>) {}
    fn summary(&mut self, _data: &ReportData<'_>) {}
    fn latency(&mut self, _data: &ReportData<'_>) {}
    fn requests(&mut self, _data: &ReportData<'_>) {}
    fn timeseries(&mut self, _data: &ReportData<'_>) {}
    fn capacity(&mut self, _data: &ReportData<'_>) {}
    fn environment(&mut self, _data: &ReportData<'_>) {}
    /// Writes the format's file(s) into `out_dir` and returns their paths.
    fn finish(&mut self, _out_dir: &Path) -> Result<Vec<PathBuf>, Error> {
        Ok(Vec::new())
    }
}

/// The fan-out: every enabled format, called in turn.
#[derive(Default)]
pub struct Reports {
    formats: Vec<Box<dyn Report>>,
}

impl Reports {
    /// Markdown and HTML, the two files `tgbench report` writes.
    pub fn standard() -> Self {
        Self {
            formats: vec![
                Box::new(markdown::Markdown::default()),
                Box::new(html::Html::default()),
            ],
        }
    }

    pub fn with(mut self, format: Box<dyn Report>) -> Self {
        self.formats.push(format);
        self
    }

    /// Runs every section in order, then `finish`.
    pub fn render(
        &mut self,
        data: &ReportData<'_>,
        claims: Option<&ClaimsTable>,
        out_dir: &Path,
    ) -> Result<Vec<PathBuf>, Error> {
        self.begin(data);
        if let Some(t) = claims {
            self.claims(t);
        }
        self.warnings(data);
        self.summary(data);
        self.latency(data);
        self.requests(data);
        self.timeseries(data);
        self.capacity(data);
        self.environment(data);
        self.finish(out_dir)
    }
}

macro_rules! fan_out {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $name(&mut self, $($arg: $ty),*) {
            for f in &mut self.formats {
                f.$name($($arg),*);
            }
        })*
    };
}

impl Report for Reports {
    fan_out! {
        begin(data: &ReportData<'_>);
        claims(table: &ClaimsTable);
        warnings(data: &ReportData<'_>);
        summary(data: &ReportData<'_>);
        latency(data: &ReportData<'_>);
        requests(data: &ReportData<'_>);
        timeseries(data: &ReportData<'_>);
        capacity(data: &ReportData<'_>);
        environment(data: &ReportData<'_>);
    }

    fn finish(&mut self, out_dir: &Path) -> Result<Vec<PathBuf>, Error> {
        let mut written = Vec::new();
        for f in &mut self.formats {
            written.extend(f.finish(out_dir)?);
        }
        Ok(written)
    }
}

/// What [`write_reports`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub markdown: PathBuf,
    pub html: PathBuf,
}

/// Writes `report.md` and `report.html` for `inputs` (several files compare side by side)
/// into `out_dir` (created if missing). `claims`, when given, goes on top of both.
pub fn write_reports(
    inputs: &[Input],
    out_dir: &Path,
    claims: Option<&ClaimsTable>,
) -> Result<Written, Error> {
    std::fs::create_dir_all(out_dir).map_err(|source| Error::Io {
        path: out_dir.display().to_string(),
        source,
    })?;
    let data = ReportData::new(inputs);
    Reports::standard().render(&data, claims, out_dir)?;
    Ok(Written {
        markdown: out_dir.join(markdown::FILE_NAME),
        html: out_dir.join(html::FILE_NAME),
    })
}

/// Writes `text` to `path`, mapping the error to one naming the path.
pub(crate) fn write_file(path: &Path, text: &str) -> Result<PathBuf, Error> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(path.to_owned())
}
