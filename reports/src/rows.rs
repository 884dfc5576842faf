//! From results files to the rows people read: one [`Row`] per input file, SUT, phase and
//! bot count, with the repetitions of that SUT folded together.
//!
//! Folding rules (documented here, used by every report and by the claims table):
//! - latency: when every repetition stored a histogram, the histograms are merged and the
//!   percentiles read from the merge (exact, µs); otherwise p50…p99.9 are the median of the
//!   repetitions' values, `max` the maximum, `mean` the count-weighted mean;
//!   the latency split's two parts fold the same way, each from its own histograms;
//! - CPU: `mean_pct` and `p95_pct` are the mean over repetitions, `max_pct` the maximum,
//!   `cpu_s` the sum;
//! - memory: `rss_mean_mb` the mean, `rss_peak_mb` the maximum;
//! - requests and updates: summed; per-minute rates are total ÷ total measured minutes;
//! - SLO passed only when every repetition passed; complete only when every repetition and
//!   the file were complete.

use std::collections::BTreeMap;
use std::path::Path;

use crate::Error;
use crate::histogram;
use crate::results::{Cpu, Latency, Memory, Results, Run};

/// One results file with the label it is shown under.
#[derive(Debug, Clone)]
pub struct Input {
    /// Shown in tables and legends when several files are compared ("2026-05 baseline").
    pub label: String,
    pub results: Results,
}

impl Input {
    pub fn new(label: impl Into<String>, results: Results) -> Self {
        Self {
            label: label.into(),
            results,
        }
    }

    /// Reads a results file. Its label is the file's folder name when the file is called
    /// `results.json` (the simulator writes `results/<run>/results.json`), else its stem.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let results = Results::from_json(&text).map_err(|source| Error::File {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Self::new(label_for(path), results))
    }

    /// Reads several files, making labels unique (`run`, `run #2`).
    pub fn read_all(paths: &[impl AsRef<Path>]) -> Result<Vec<Self>, Error> {
        let mut inputs = paths
            .iter()
            .map(|p| Self::read(p.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        unique_labels(&mut inputs);
        Ok(inputs)
    }
}

fn label_for(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path
        .parent()
        .and_then(|p| p.file_name())
        .map(|s| s.to_string_lossy().into_owned());
    match dir {
        Some(dir) if stem == "results" => return dir,
        _ => {}
    }
    if stem.is_empty() {
        path.display().to_string()
    } else {
        stem
    }
}

/// Appends ` #2`, ` #3` … to labels that repeat.
pub fn unique_labels(inputs: &mut [Input]) {
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    for input in inputs {
        let n = seen.entry(input.label.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            input.label = format!("{} #{n}", input.label);
        }
    }
}

/// One SUT (in one phase, from one file), its repetitions folded together.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    /// Index into the inputs the row came from.
    pub input: usize,
    pub file_label: &'a str,
    pub sut: &'a str,
    pub kind: &'a str,
    pub phase: Option<&'a str>,
    pub runs: Vec<&'a Run>,
    pub bots: u64,
    pub duration_s: f64,
    pub latency: Latency,
    /// The same latency in two parts ([`fold_split`]); None for files without the split.
    pub latency_split: Option<Split>,
    /// CPU and memory folded over the repetitions; None when any was not measured
    /// (`resources.source = "none"`): reports say "not measured", never 0.
    pub cpu: Option<Cpu>,
    pub memory: Option<Memory>,
    pub requests_total: u64,
    pub requests_per_min: f64,
    /// Requests per minute by Bot API method (`webhook` = deliveries to the SUT).
    pub by_method_per_min: BTreeMap<String, f64>,
    pub injected: u64,
    pub replied: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub slo_passed: bool,
    /// Failed SLO checks as `name measured > limit`.
    pub slo_failures: Vec<String>,
    pub complete: bool,
    pub incomplete_reasons: Vec<String>,
    /// The same SUT and phase ran at several bot counts in this file (capacity steps):
    /// the label then names the bot count.
    pub several_bot_counts: bool,
}

impl Row<'_> {
    /// `sut`, `sut (phase)`, prefixed with the file label when several files are shown.
    pub fn label(&self, several_files: bool) -> String {
        let mut s = self.sut.to_owned();
        if let Some(p) = self.phase {
            s.push_str(&format!(" ({p})"));
        }
        if self.several_bot_counts {
            s.push_str(&format!(" @ {} bots", crate::text::count(self.bots)));
        }
        if several_files {
            s = format!("{} · {s}", self.file_label);
        }
        s
    }

    pub fn repetitions(&self) -> usize {
        self.runs.len()
    }
}

/// Rows for all inputs, in file order, then in the order SUTs first appear in each file.
pub fn rows(inputs: &[Input]) -> Vec<Row<'_>> {
    let mut out = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        type Key<'k> = (&'k str, Option<&'k str>, u64);
        let mut groups: Vec<(Key<'_>, Vec<&Run>)> = Vec::new();
        for run in &input.results.runs {
            let key = (run.sut.name.as_str(), run.phase.as_deref(), run.bots);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, runs)) => runs.push(run),
                None => groups.push((key, vec![run])),
            }
        }
        let steps = |sut: &str, phase: Option<&str>| {
            groups
                .iter()
                .filter(|((s, p, _), _)| *s == sut && *p == phase)
                .count()
        };
        let several: Vec<bool> = groups
            .iter()
            .map(|((s, p, _), _)| steps(s, *p) > 1)
            .collect();
        for ((_, runs), several_counts) in groups.into_iter().zip(several) {
            let mut row = fold(i, input, runs);
            row.several_bot_counts = several_counts;
            out.push(row);
        }
    }
    out
}

/// Folds repetitions of one SUT into a row (rules in the module doc).
pub fn fold<'a>(index: usize, input: &'a Input, runs: Vec<&'a Run>) -> Row<'a> {
    let first = runs[0];
    let n = runs.len() as f64;
    let duration_s: f64 = runs.iter().map(|r| r.duration_s).sum();
    let minutes = duration_s / 60.0;
    let requests_total: u64 = runs.iter().map(|r| r.requests.total).sum();
    let mut by_method: BTreeMap<String, f64> = BTreeMap::new();
    for run in &runs {
        for (m, c) in &run.requests.by_method {
            *by_method.entry(m.clone()).or_default() += *c as f64;
        }
    }
    let requests_per_min = if minutes > 0.0 {
        requests_total as f64 / minutes
    } else {
        runs.iter().map(|r| r.requests.per_min).sum::<f64>() / n
    };
    for v in by_method.values_mut() {
        *v = if minutes > 0.0 { *v / minutes } else { 0.0 };
    }
    let mut slo_failures = Vec::new();
    for run in &runs {
        for c in run.slo.checks.iter().filter(|c| !c.passed) {
            let s = format!(
                "{} {} > {}",
                c.name,
                crate::text::num(c.measured),
                crate::text::num(c.limit)
            );
            if !slo_failures.contains(&s) {
                slo_failures.push(s);
            }
        }
    }
    let mut incomplete_reasons = Vec::new();
    if !input.results.complete {
        incomplete_reasons.push(
            input
                .results
                .incomplete_reason
                .clone()
                .unwrap_or_else(|| "the run did not finish".to_owned()),
        );
    }
    for run in runs.iter().filter(|r| !r.complete) {
        let why = run
            .incomplete_reason
            .clone()
            .unwrap_or_else(|| format!("repetition {} did not finish", run.repetition));
        if !incomplete_reasons.contains(&why) {
            incomplete_reasons.push(why);
        }
    }
    Row {
        input: index,
        file_label: &input.label,
        sut: &first.sut.name,
        kind: &first.sut.kind,
        phase: first.phase.as_deref(),
        bots: runs.iter().map(|r| r.bots).max().unwrap_or(0),
        duration_s,
        latency: fold_latency(&runs),
        latency_split: fold_split(&runs),
        cpu: runs
            .iter()
            .map(|r| r.cpu.as_ref())
            .collect::<Option<Vec<&Cpu>>>()
            .map(|cpus| Cpu {
                mean_pct: cpus.iter().map(|c| c.mean_pct).sum::<f64>() / n,
                p95_pct: cpus.iter().map(|c| c.p95_pct).sum::<f64>() / n,
                max_pct: cpus.iter().map(|c| c.max_pct).fold(0.0, f64::max),
                cpu_s: cpus.iter().map(|c| c.cpu_s).sum(),
            }),
        memory: runs
            .iter()
            .map(|r| r.memory.as_ref())
            .collect::<Option<Vec<&Memory>>>()
            .map(|mems| Memory {
                rss_mean_mb: mems.iter().map(|m| m.rss_mean_mb).sum::<f64>() / n,
                rss_peak_mb: mems.iter().map(|m| m.rss_peak_mb).fold(0.0, f64::max),
            }),
        requests_total,
        requests_per_min,
        by_method_per_min: by_method,
        injected: runs.iter().map(|r| r.updates.injected).sum(),
        replied: runs.iter().map(|r| r.updates.replied).sum(),
        lost: runs.iter().map(|r| r.updates.lost).sum(),
        duplicated: runs.iter().map(|r| r.updates.duplicated).sum(),
        slo_passed: runs.iter().all(|r| r.slo.passed),
        slo_failures,
        complete: input.results.complete && runs.iter().all(|r| r.complete),
        incomplete_reasons,
        several_bot_counts: false,
        runs,
    }
}

/// The repetitions' latency histograms merged (µs), when every one stored a histogram.
fn merged_histogram(runs: &[&Run]) -> Option<hdrhistogram::Histogram<u64>> {
    runs.iter()
        .all(|r| !r.latency_histogram.is_empty())
        .then(|| histogram::merge(runs.iter().map(|r| r.latency_histogram.as_str())))
        .and_then(Result::ok)
        .filter(|h| !h.is_empty())
}

/// Points of the latency distribution as HdrHistogram users plot it: x is `1 / (1 - p)` for
/// percentile `p` (1 = 0 %, 10 = 90 %, 100 = 99 %, …; a log axis spreads the tail), y the
/// latency in ms. Five points a decade from the merged histograms, up to the percentile the
/// count supports, then the maximum at `x = count`; without histograms, the summary's
/// p50 … p99.9 (older results files).
pub fn latency_distribution(runs: &[&Run]) -> Vec<(f64, f64)> {
    let Some(h) = merged_histogram(runs) else {
        let l = fold_latency(runs);
        if l.count == 0 {
            return Vec::new();
        }
        return vec![
            (2.0, l.p50),
            (10.0, l.p90),
            (100.0, l.p99),
            (1000.0, l.p999),
        ];
    };
    let count = h.len() as f64;
    let mut points = Vec::new();
    for k in 0.. {
        let x = 10f64.powf(f64::from(k) / 5.0);
        if x > count {
            break;
        }
        let q = 1.0 - 1.0 / x;
        points.push((x, h.value_at_quantile(q) as f64 / 1000.0));
    }
    let max = h.max() as f64 / 1000.0;
    if points.last().is_none_or(|&(x, _)| x < count) {
        points.push((count, max));
    }
    points
}

/// Latency of several repetitions: merged histograms when all have one, else medians.
pub fn fold_latency(runs: &[&Run]) -> Latency {
    let parts: Vec<(&Latency, &str)> = runs
        .iter()
        .map(|r| (&r.latency_ms, r.latency_histogram.as_str()))
        .collect();
    fold_summaries(&parts)
}

/// Where the latency of a row went: each part of the repetitions' splits folded like the
/// total ([`fold_latency`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Due → handed out: the wait in Telegram.
    pub in_telegram: Latency,
    /// Handed out → reply: delivery, the bot's processing and the reply's trip.
    pub delivery_to_reply: Latency,
}

impl Split {
    /// Telegram's share of the mean latency (the means add up; percentiles do not).
    pub fn in_telegram_share(&self) -> f64 {
        let total = self.in_telegram.mean + self.delivery_to_reply.mean;
        if total > 0.0 {
            self.in_telegram.mean / total
        } else {
            0.0
        }
    }
}

/// The repetitions' latency splits folded, or None when a repetition has none (a results
/// file written before the split was recorded).
pub fn fold_split(runs: &[&Run]) -> Option<Split> {
    let splits: Vec<_> = runs
        .iter()
        .map(|r| r.latency_split.as_ref())
        .collect::<Option<_>>()?;
    if splits.is_empty() {
        return None;
    }
    let part = |pick: fn(&crate::results::LatencySplit) -> (&Latency, &str)| {
        fold_summaries(&splits.iter().map(|s| pick(s)).collect::<Vec<_>>())
    };
    Some(Split {
        in_telegram: part(|s| (&s.in_telegram, &s.in_telegram_histogram)),
        delivery_to_reply: part(|s| (&s.delivery_to_reply, &s.delivery_to_reply_histogram)),
    })
}

/// Latency summaries of several repetitions, each with its histogram (possibly empty): the
/// merged histograms when every one has one, else the medians of the percentiles, the
/// maximum and the count-weighted mean.
fn fold_summaries(parts: &[(&Latency, &str)]) -> Latency {
    if let [(one, _)] = parts {
        return (*one).clone();
    }
    let merged = parts
        .iter()
        .all(|(_, h)| !h.is_empty())
        .then(|| histogram::merge(parts.iter().map(|(_, h)| *h)))
        .and_then(Result::ok)
        .filter(|h| !h.is_empty());
    if let Some(h) = merged {
        return Latency::from_histogram(&h);
    }
    let median = |f: fn(&Latency) -> f64| {
        let mut v: Vec<f64> = parts.iter().map(|(l, _)| f(l)).collect();
        crate::stats::median(&mut v)
    };
    let count: u64 = parts.iter().map(|(l, _)| l.count).sum();
    let mean = if count > 0 {
        parts
            .iter()
            .map(|(l, _)| l.mean * l.count as f64)
            .sum::<f64>()
            / count as f64
    } else {
        0.0
    };
    Latency {
        count,
        p50: median(|l| l.p50),
        p90: median(|l| l.p90),
        p99: median(|l| l.p99),
        p999: median(|l| l.p999),
        max: parts.iter().map(|(l, _)| l.max).fold(0.0, f64::max),
        mean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{Run, SutInfo};

    fn run(name: &str, rep: u32, p99: f64, hist: &[u64]) -> Run {
        let mut h = histogram::new_latency_histogram();
        for v in hist {
            h.record(*v).unwrap();
        }
        let mut r = Run {
            sut: SutInfo {
                name: name.into(),
                kind: "webhook".into(),
                ..Default::default()
            },
            repetition: rep,
            bots: 10,
            duration_s: 60.0,
            complete: true,
            ..Default::default()
        };
        r.latency_ms.p99 = p99;
        r.latency_ms.count = hist.len() as u64;
        r.latency_histogram = if hist.is_empty() {
            String::new()
        } else {
            histogram::encode(&h)
        };
        r.requests.total = 600;
        r.requests.by_method.insert("sendMessage".into(), 300);
        r.slo.passed = true;
        r
    }

    fn input(runs: Vec<Run>) -> Input {
        Input::new(
            "a",
            Results {
                schema_version: 1,
                complete: true,
                runs,
                ..Default::default()
            },
        )
    }

    #[test]
    fn repetitions_fold_into_one_row_per_sut() {
        let i = input(vec![
            run("webhook", 0, 10.0, &[]),
            run("polling", 0, 99.0, &[]),
            run("webhook", 1, 30.0, &[]),
            run("webhook", 2, 20.0, &[]),
        ]);
        let inputs = [i];
        let rows = rows(&inputs);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].sut, "webhook");
        assert_eq!(rows[0].repetitions(), 3);
        assert_eq!(rows[0].latency.p99, 20.0, "median of 10, 30, 20");
        assert_eq!(rows[0].requests_total, 1800);
        assert_eq!(rows[0].requests_per_min, 600.0);
        assert_eq!(rows[0].by_method_per_min["sendMessage"], 300.0);
        assert_eq!(rows[1].sut, "polling");
    }

    #[test]
    fn latency_splits_fold_from_merged_histograms_and_need_every_repetition() {
        let encoded = |values: &[u64]| {
            let mut h = histogram::new_latency_histogram();
            for v in values {
                h.record(*v).unwrap();
            }
            histogram::encode(&h)
        };
        let split = |in_telegram: &[u64], delivery: &[u64]| crate::results::LatencySplit {
            in_telegram_histogram: encoded(in_telegram),
            delivery_to_reply_histogram: encoded(delivery),
            ..Default::default()
        };
        let mut a = run("w", 0, 0.0, &[3_000, 5_000]);
        let mut b = run("w", 1, 0.0, &[30_000]);
        a.latency_split = Some(split(&[1_000, 2_000], &[2_000, 3_000]));
        b.latency_split = Some(split(&[10_000], &[20_000]));
        let s = fold_split(&[&a, &b]).expect("both have the split");
        assert_eq!((s.in_telegram.count, s.delivery_to_reply.count), (3, 3));
        assert!((s.in_telegram.max - 10.0).abs() < 0.01, "{s:?}");
        // The parts' means add up to the total's mean.
        let total = fold_latency(&[&a, &b]).mean;
        let parts = s.in_telegram.mean + s.delivery_to_reply.mean;
        assert!((total - parts).abs() < total * 2e-3, "{total} vs {parts}");
        b.latency_split = None;
        assert_eq!(fold_split(&[&a, &b]), None, "an older repetition has none");
    }

    #[test]
    fn latency_distribution_walks_the_merged_histogram_to_its_maximum() {
        // Two repetitions, 1 ms … 1,000 ms and 1,001 ms … 2,000 ms, one reply each.
        let a: Vec<u64> = (1..=1000).map(|ms| ms * 1000).collect();
        let b: Vec<u64> = (1001..=2000).map(|ms| ms * 1000).collect();
        let (ra, rb) = (run("w", 0, 0.0, &a), run("w", 1, 0.0, &b));
        let points = latency_distribution(&[&ra, &rb]);
        // Five points a decade from x = 1 (0 %) to x = 10^3.2 ≈ 1,585 (the last ≤ 2,000
        // replies): 17, then the maximum.
        assert_eq!(points.len(), 18, "{points:?}");
        assert_eq!(points[0].0, 1.0);
        assert!(
            points
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1)
        );
        let at = |x: f64| {
            points
                .iter()
                .find(|p| (p.0 - x).abs() < 1e-6)
                .expect("a point at x")
                .1
        };
        // 1 / (1 - 0.5) = 2 is not a point; 10 (p90) and 100 (p99) are.
        assert!((at(10.0) - 1800.0).abs() < 2.0, "p90 {}", at(10.0));
        assert!((at(100.0) - 1980.0).abs() < 2.0, "p99 {}", at(100.0));
        assert_eq!(points.last().unwrap().0, 2000.0, "x ends at the count");
        assert!(
            (points.last().unwrap().1 - 2000.0).abs() < 1.0,
            "the maximum"
        );
    }

    #[test]
    fn latency_distribution_without_histograms_draws_the_summary() {
        let mut r = run("w", 0, 99.0, &[]);
        assert!(
            latency_distribution(&[&r]).is_empty(),
            "no replies, no line"
        );
        r.latency_ms.count = 10;
        (r.latency_ms.p50, r.latency_ms.p90, r.latency_ms.p999) = (5.0, 9.0, 120.0);
        assert_eq!(
            latency_distribution(&[&r]),
            vec![(2.0, 5.0), (10.0, 9.0), (100.0, 99.0), (1000.0, 120.0)]
        );
    }

    #[test]
    fn histograms_are_merged_when_every_repetition_has_one() {
        let i = input(vec![
            run("w", 0, 1.0, &[1_000; 50]),
            run("w", 1, 1.0, &[9_000; 50]),
        ]);
        let inputs = [i];
        let r = &rows(&inputs)[0];
        assert_eq!(r.latency.count, 100);
        assert!((r.latency.p99 - 9.0).abs() < 0.01, "{}", r.latency.p99);
        assert!((r.latency.mean - 5.0).abs() < 0.01);
    }

    #[test]
    fn labels_come_from_the_folder_of_results_json_and_are_unique() {
        assert_eq!(label_for(Path::new("out/run-1/results.json")), "run-1");
        assert_eq!(label_for(Path::new("baseline.json")), "baseline");
        let mut v = vec![input(vec![]), input(vec![])];
        unique_labels(&mut v);
        assert_eq!(v[0].label, "a");
        assert_eq!(v[1].label, "a #2");
    }
}
