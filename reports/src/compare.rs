//! `tgbench compare BASELINE CURRENT`: the regression gate for CI.
//!
//! Runs are matched by SUT name, phase and bot count. For every matched SUT each metric's change is
//! `current / baseline − 1`; a metric with a limit (`--max-regression`, [`Thresholds`])
//! regresses when its change exceeds the limit, a relative limit only when the absolute
//! change also exceeds the metric's noise floor ([`Metric::floor`]: 1 ms, 1 point of CPU,
//! 2 MB — a +30 % on 1.5 % of a core is sampling noise, not a regression), **and**, when
//! both files hold at least
//! [`MIN_REPETITIONS`] repetitions of the SUT, the seeded bootstrap interval of the change
//! (see [`crate::stats::bootstrap_relative_change`]) lies wholly above zero, so a noisy CI
//! machine does not cry wolf. With repetitions, values are the mean over repetitions of
//! each repetition's figure (latency read from its stored histogram, exact µs);
//! without, the folded row of [`crate::rows`]. The formats render a [`Comparison`]
//! ([`Comparison::render`], in [`crate::report`]).
//!
//! Outcomes map to exit codes: [`Outcome::Ok`] 0, [`Outcome::Regression`] 1,
//! [`Outcome::Unusable`] 2 (unreadable file, other scenario, incomplete run, nothing in
//! common, no reply measured).

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use crate::histogram;
use crate::results::{Latency, Results, Run};
use crate::rows::{Input, Row, rows};
use crate::stats::{bootstrap_relative_change, mean};
use crate::text::num;

/// Repetitions per SUT, in both files, before the noise test is used.
pub const MIN_REPETITIONS: usize = 3;

/// A metric the gate can compare. Every one of them is "higher is worse".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    P50,
    P90,
    P99,
    P999,
    Max,
    Mean,
    /// Mean CPU, % of one core.
    Cpu,
    CpuP95,
    /// Peak RSS, MB.
    Rss,
    RssMean,
    /// Requests per minute.
    Rpm,
    /// Lost updates (count).
    Lost,
}

impl Metric {
    pub const ALL: [Metric; 12] = [
        Metric::P50,
        Metric::P90,
        Metric::P99,
        Metric::P999,
        Metric::Max,
        Metric::Mean,
        Metric::Cpu,
        Metric::CpuP95,
        Metric::Rss,
        Metric::RssMean,
        Metric::Rpm,
        Metric::Lost,
    ];

    /// Always shown in the table, limit or not.
    const SHOWN: [Metric; 6] = [
        Metric::P50,
        Metric::P99,
        Metric::Cpu,
        Metric::Rss,
        Metric::Rpm,
        Metric::Lost,
    ];

    /// The name used in `--max-regression`.
    pub fn key(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P90 => "p90",
            Metric::P99 => "p99",
            Metric::P999 => "p999",
            Metric::Max => "max",
            Metric::Mean => "mean",
            Metric::Cpu => "cpu",
            Metric::CpuP95 => "cpu_p95",
            Metric::Rss => "rss",
            Metric::RssMean => "rss_mean",
            Metric::Rpm => "rpm",
            Metric::Lost => "lost",
        }
    }

    /// The smallest absolute change a relative limit reacts to, in the metric's unit.
    pub fn floor(self) -> f64 {
        match self {
            Metric::P50 | Metric::P90 | Metric::P99 | Metric::P999 | Metric::Max | Metric::Mean => {
                1.0
            }
            Metric::Cpu | Metric::CpuP95 => 1.0,
            Metric::Rss | Metric::RssMean => 2.0,
            Metric::Rpm | Metric::Lost => 0.0,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Metric::P50 => "p50 latency (ms)",
            Metric::P90 => "p90 latency (ms)",
            Metric::P99 => "p99 latency (ms)",
            Metric::P999 => "p99.9 latency (ms)",
            Metric::Max => "max latency (ms)",
            Metric::Mean => "mean latency (ms)",
            Metric::Cpu => "CPU mean (% of a core)",
            Metric::CpuP95 => "CPU p95 (% of a core)",
            Metric::Rss => "RSS peak (MB)",
            Metric::RssMean => "RSS mean (MB)",
            Metric::Rpm => "requests per minute",
            Metric::Lost => "lost updates",
        }
    }

    /// The row's value; None when it was not measured (CPU and memory of an external SUT
    /// without metrics).
    fn of_row(self, r: &Row<'_>) -> Option<f64> {
        Some(match self {
            Metric::P50 => r.latency.p50,
            Metric::P90 => r.latency.p90,
            Metric::P99 => r.latency.p99,
            Metric::P999 => r.latency.p999,
            Metric::Max => r.latency.max,
            Metric::Mean => r.latency.mean,
            Metric::Cpu => return r.cpu.as_ref().map(|c| c.mean_pct),
            Metric::CpuP95 => return r.cpu.as_ref().map(|c| c.p95_pct),
            Metric::Rss => return r.memory.as_ref().map(|m| m.rss_peak_mb),
            Metric::RssMean => return r.memory.as_ref().map(|m| m.rss_mean_mb),
            Metric::Rpm => r.requests_per_min,
            Metric::Lost => r.lost as f64,
        })
    }

    /// One repetition's value; latency from its histogram when it has one.
    fn of_run(self, run: &Run) -> Option<f64> {
        let lat = if run.latency_histogram.is_empty() {
            None
        } else {
            histogram::decode(&run.latency_histogram)
                .ok()
                .filter(|h| !h.is_empty())
                .map(|h| Latency::from_histogram(&h))
        };
        let l = lat.as_ref().unwrap_or(&run.latency_ms);
        Some(match self {
            Metric::P50 => l.p50,
            Metric::P90 => l.p90,
            Metric::P99 => l.p99,
            Metric::P999 => l.p999,
            Metric::Max => l.max,
            Metric::Mean => l.mean,
            Metric::Cpu => return run.cpu.as_ref().map(|c| c.mean_pct),
            Metric::CpuP95 => return run.cpu.as_ref().map(|c| c.p95_pct),
            Metric::Rss => return run.memory.as_ref().map(|m| m.rss_peak_mb),
            Metric::RssMean => return run.memory.as_ref().map(|m| m.rss_mean_mb),
            Metric::Rpm => run.requests.per_min,
            Metric::Lost => run.updates.lost as f64,
        })
    }
}

impl FromStr for Metric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Metric::ALL
            .into_iter()
            .find(|m| m.key() == s)
            .ok_or_else(|| {
                let keys: Vec<&str> = Metric::ALL.iter().map(|m| m.key()).collect();
                format!("unknown metric \"{s}\" (known: {})", keys.join(", "))
            })
    }
}

/// How much worse a metric may get.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// A fraction: `10%` → 0.10.
    Relative(f64),
    /// In the metric's unit: `p99=25` → 25 ms more at most.
    Absolute(f64),
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Limit::Relative(x) => write!(f, "+{} %", num(x * 100.0)),
            Limit::Absolute(x) => write!(f, "+{}", num(*x)),
        }
    }
}

/// A `--max-regression` entry that could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("bad --max-regression entry \"{entry}\": {why}")]
pub struct ThresholdError {
    pub entry: String,
    pub why: String,
}

/// The limits the gate applies. Defaults: `p99=10%,cpu=15%,rss=10%`.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    pub limits: BTreeMap<Metric, Limit>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            limits: BTreeMap::from([
                (Metric::P99, Limit::Relative(0.10)),
                (Metric::Cpu, Limit::Relative(0.15)),
                (Metric::Rss, Limit::Relative(0.10)),
            ]),
        }
    }
}

impl Thresholds {
    /// Parses `p99=10%,cpu=15%,rss=10%` on top of the defaults: each entry is
    /// `metric=N%` (relative), `metric=N` (absolute, in the metric's unit) or `metric=off`.
    /// Metrics not named keep their default. Empty entries are ignored.
    pub fn parse(spec: &str) -> Result<Self, ThresholdError> {
        let mut t = Self::default();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = |why: String| ThresholdError {
                entry: entry.to_owned(),
                why,
            };
            let (key, value) = entry
                .split_once('=')
                .ok_or_else(|| bad("expected metric=limit, e.g. p99=10%".into()))?;
            let metric: Metric = key.trim().parse().map_err(bad)?;
            let value = value.trim();
            if value == "off" {
                t.limits.remove(&metric);
                continue;
            }
            let (digits, relative) = match value.strip_suffix('%') {
                Some(d) => (d.trim(), true),
                None => (value, false),
            };
            let n: f64 = digits
                .parse()
                .map_err(|_| bad(format!("\"{digits}\" is not a number")))?;
            if !n.is_finite() || n < 0.0 {
                return Err(bad(format!("{n} must be a finite number ≥ 0")));
            }
            let limit = if relative {
                Limit::Relative(n / 100.0)
            } else {
                Limit::Absolute(n)
            };
            t.limits.insert(metric, limit);
        }
        Ok(t)
    }
}

impl FromStr for Thresholds {
    type Err = ThresholdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The noise test's answer for one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Noise {
    /// Fewer than [`MIN_REPETITIONS`] repetitions on a side.
    NotAssessed,
    /// 95 % bootstrap interval of the relative change.
    Interval(f64, f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No limit on this metric: shown for information.
    Info,
    Within,
    /// Over the limit, but the interval includes no change: run-to-run noise.
    Noise,
    Regression,
}

/// One SUT's change on one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    pub sut: String,
    pub metric: Metric,
    pub baseline: f64,
    pub current: f64,
    /// `current / baseline − 1`; infinite when the baseline is 0 and current is not.
    pub change: f64,
    pub limit: Option<Limit>,
    pub noise: Noise,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Ok,
    /// The regressed metrics, as `p99 (webhook)`.
    Regression(Vec<String>),
    /// Why the inputs cannot be compared.
    Unusable(String),
}

impl Outcome {
    /// 0 ok, 1 regression, 2 unusable input.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Ok => 0,
            Outcome::Regression(_) => 1,
            Outcome::Unusable(_) => 2,
        }
    }
}

/// What `tgbench compare` prints and how it exits.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub baseline: String,
    pub current: String,
    pub outcome: Outcome,
    pub deltas: Vec<Delta>,
    pub notes: Vec<String>,
}

impl Comparison {
    pub fn exit_code(&self) -> i32 {
        self.outcome.exit_code()
    }

    fn unusable(baseline: &str, current: &str, why: String) -> Self {
        Self {
            baseline: baseline.to_owned(),
            current: current.to_owned(),
            outcome: Outcome::Unusable(why),
            deltas: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn headline(&self) -> String {
        match &self.outcome {
            Outcome::Ok => "ok: no metric regressed beyond its limit".into(),
            Outcome::Regression(m) => format!("regression: {}", m.join(", ")),
            Outcome::Unusable(why) => format!("unusable input: {why}"),
        }
    }
}

/// Reads both files and compares them; an unreadable file is [`Outcome::Unusable`].
pub fn compare_files(baseline: &Path, current: &Path, thresholds: &Thresholds) -> Comparison {
    let (b_name, c_name) = (
        baseline.display().to_string(),
        current.display().to_string(),
    );
    let read = |p: &Path| Input::read(p).map_err(|e| e.to_string());
    match (read(baseline), read(current)) {
        (Ok(b), Ok(c)) => compare_named(&b_name, &b.results, &c_name, &c.results, thresholds),
        (Err(e), _) | (_, Err(e)) => Comparison::unusable(&b_name, &c_name, e),
    }
}

/// Compares two results (labels "baseline" and "current").
pub fn compare(baseline: &Results, current: &Results, thresholds: &Thresholds) -> Comparison {
    compare_named("baseline", baseline, "current", current, thresholds)
}

fn compare_named(
    b_name: &str,
    baseline: &Results,
    c_name: &str,
    current: &Results,
    thresholds: &Thresholds,
) -> Comparison {
    let unusable = |why: String| Comparison::unusable(b_name, c_name, why);
    if baseline.scenario.name != current.scenario.name {
        return unusable(format!(
            "the baseline ran scenario \"{}\", the current run \"{}\"",
            baseline.scenario.name, current.scenario.name
        ));
    }
    for (name, r) in [(b_name, baseline), (c_name, current)] {
        if !r.complete {
            return unusable(format!(
                "{name} is incomplete: {}",
                r.incomplete_reason
                    .as_deref()
                    .unwrap_or("the run did not finish")
            ));
        }
    }
    let inputs = [
        Input::new(b_name, baseline.clone()),
        Input::new(c_name, current.clone()),
    ];
    let all = rows(&inputs);
    let (b_rows, c_rows): (Vec<&Row<'_>>, Vec<&Row<'_>>) = all.iter().partition(|r| r.input == 0);
    let mut notes = Vec::new();
    let mut deltas = Vec::new();
    let mut regressed = Vec::new();
    let mut matched = 0;
    for b in &b_rows {
        let Some(c) = c_rows
            .iter()
            .find(|c| c.sut == b.sut && c.phase == b.phase && c.bots == b.bots)
        else {
            notes.push(format!("{} is only in the baseline", b.label(false)));
            continue;
        };
        matched += 1;
        let sut = b.label(false);
        if !c.complete {
            return unusable(format!(
                "{sut} is incomplete in {c_name}: {}",
                c.incomplete_reasons.join("; ")
            ));
        }
        if c.latency.count == 0 && b.latency.count > 0 {
            return unusable(format!("{sut}: no reply was measured in {c_name}"));
        }
        let with_noise = b.repetitions() >= MIN_REPETITIONS && c.repetitions() >= MIN_REPETITIONS;
        let mut metrics: Vec<Metric> = Metric::SHOWN.to_vec();
        metrics.extend(thresholds.limits.keys().copied());
        metrics.sort();
        metrics.dedup();
        for metric in metrics {
            let values = if with_noise {
                let bs: Option<Vec<f64>> = b.runs.iter().map(|r| metric.of_run(r)).collect();
                let cs: Option<Vec<f64>> = c.runs.iter().map(|r| metric.of_run(r)).collect();
                bs.zip(cs).map(|(bs, cs)| {
                    let noise = bootstrap_relative_change(&bs, &cs)
                        .map_or(Noise::NotAssessed, |(lo, hi)| Noise::Interval(lo, hi));
                    (mean(&bs), mean(&cs), noise)
                })
            } else {
                metric
                    .of_row(b)
                    .zip(metric.of_row(c))
                    .map(|(bv, cv)| (bv, cv, Noise::NotAssessed))
            };
            let Some((bv, cv, noise)) = values else {
                notes.push(format!(
                    "{sut}: {} not compared: not measured (no [sut.metrics] for an external SUT)",
                    metric.key()
                ));
                continue;
            };
            let change = if bv != 0.0 {
                cv / bv - 1.0
            } else if cv > 0.0 {
                f64::INFINITY
            } else {
                0.0
            };
            let limit = thresholds.limits.get(&metric).copied();
            let over = match limit {
                None => None,
                Some(Limit::Relative(x)) => Some(change > x && cv - bv > metric.floor()),
                Some(Limit::Absolute(x)) => Some(cv - bv > x),
            };
            let status = match (over, noise) {
                (None, _) => Status::Info,
                (Some(false), _) => Status::Within,
                (Some(true), Noise::Interval(lo, _)) if lo <= 0.0 => Status::Noise,
                (Some(true), _) => Status::Regression,
            };
            if status == Status::Regression {
                regressed.push(format!("{} ({sut})", metric.key()));
            }
            deltas.push(Delta {
                sut: sut.clone(),
                metric,
                baseline: bv,
                current: cv,
                change,
                limit,
                noise,
                status,
            });
        }
        if with_noise {
            notes.push(format!(
                "{sut}: {} vs {} repetitions; values are means over repetitions, a change counts only when its 95 % bootstrap interval excludes zero",
                b.repetitions(),
                c.repetitions()
            ));
        } else if b.repetitions() > 1 || c.repetitions() > 1 {
            notes.push(format!(
                "{sut}: fewer than {MIN_REPETITIONS} repetitions on a side, so run-to-run noise is not assessed"
            ));
        }
    }
    for c in &c_rows {
        if !b_rows
            .iter()
            .any(|b| b.sut == c.sut && b.phase == c.phase && b.bots == c.bots)
        {
            notes.push(format!("{} is only in the current run", c.label(false)));
        }
    }
    if matched == 0 {
        return Comparison {
            outcome: Outcome::Unusable("no SUT is in both files".into()),
            notes,
            ..Comparison::unusable(b_name, c_name, String::new())
        };
    }
    Comparison {
        baseline: b_name.to_owned(),
        current: c_name.to_owned(),
        outcome: if regressed.is_empty() {
            Outcome::Ok
        } else {
            Outcome::Regression(regressed)
        },
        deltas,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse_on_top_of_defaults() {
        let t = Thresholds::parse("p99=5%, max=250, cpu=off").unwrap();
        assert_eq!(t.limits[&Metric::P99], Limit::Relative(0.05));
        assert_eq!(t.limits[&Metric::Max], Limit::Absolute(250.0));
        assert!(!t.limits.contains_key(&Metric::Cpu));
        assert_eq!(t.limits[&Metric::Rss], Limit::Relative(0.10));
        assert_eq!(Thresholds::parse("").unwrap(), Thresholds::default());
    }

    #[test]
    fn a_bad_threshold_is_an_error_naming_the_entry() {
        for (spec, needle) in [
            ("p99=ten%", "\"p99=ten%\": \"ten\" is not a number"),
            ("p98=10%", "unknown metric \"p98\""),
            ("p99", "expected metric=limit"),
            ("cpu=-5%", "must be a finite number"),
            ("rss=inf%", "must be a finite number"),
        ] {
            let e = Thresholds::parse(spec).unwrap_err().to_string();
            assert!(e.contains(needle), "{spec}: {e}");
        }
    }
}
