//! What every format of `tgbench report` reads, computed once: the inputs, their folded
//! rows, the capacity curves and the warnings a reader must see first.

use crate::results::CapacityCurve;
use crate::rows::{Input, Row, rows};
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
