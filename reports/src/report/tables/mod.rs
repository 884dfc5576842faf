//! The tables and notes the formats show, built once from the report's data (or the
//! claims table, or a comparison) so that `report.md`, `report.html` and a CI log read the
//! same: each format only lays them out.

use std::collections::BTreeSet;

use super::ReportData;
use crate::compare::{Comparison, Noise, Status};
use crate::results::{CapacityCurve, CapacityStep};
use crate::rows::Input;
use crate::table::{Cell, Table, Tone};
use crate::text::{chosen, count, measured, num, pct_change};

mod claims;
mod serverless;

pub use claims::*;
pub use serverless::*;

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
            measured(r.cpu.as_ref().map(|c| c.mean_pct)).into(),
            measured(r.cpu.as_ref().map(|c| c.p95_pct)).into(),
            measured(r.memory.as_ref().map(|m| m.rss_mean_mb)).into(),
            measured(r.memory.as_ref().map(|m| m.rss_peak_mb)).into(),
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

/// What the latency split shows, said once for every format.
pub const LATENCY_SPLIT_NOTE: &str = "Each reply's latency (scheduled send → reply) in two parts that add up to it, reply by reply: in Telegram, from the scheduled send until the update leaves Telegram (the getUpdates answer that carried it, or the start of the webhook POST the bot answered; the emulated network's half trip to the bot counts here), then delivery to reply (the bot's processing and its reply's trip back). Bars and shares use the means, which add up; percentiles of the parts do not add up to the total's. The claims' source explains its latency figures with the timeline below; each of its steps falls in one part.";

/// Where the latency goes, one row per SUT (per file and phase) with the split; None when
/// no row has it (files written before it was recorded).
pub fn latency_split_table(data: &ReportData<'_>) -> Option<Table> {
    let mut t = Table::new([
        "SUT",
        "kind",
        "replies",
        "in Telegram mean ms",
        "p50 ms",
        "p99 ms",
        "delivery to reply mean ms",
        "p50 ms",
        "p99 ms",
        "total mean ms",
        "share in Telegram",
    ]);
    t.numeric = (2..11).collect();
    for r in &data.rows {
        let Some(split) = r.latency_split.as_ref().filter(|s| s.in_telegram.count > 0) else {
            continue;
        };
        let (a, b) = (&split.in_telegram, &split.delivery_to_reply);
        t.push(vec![
            r.label(data.several_files).into(),
            r.kind.into(),
            count(a.count).into(),
            num(a.mean).into(),
            num(a.p50).into(),
            num(a.p99).into(),
            num(b.mean).into(),
            num(b.p50).into(),
            num(b.p99).into(),
            num(a.mean + b.mean).into(),
            format!("{} %", num(split.in_telegram_share() * 100.0)).into(),
        ]);
    }
    (!t.rows.is_empty()).then_some(t)
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

/// A capacity step as its curve's axis names it: `2,000` (bots), or `60/bot/min = 1,000
/// msg/s` on a search along the rate, `2 replicas` on one along the replicas.
pub fn capacity_step_text(s: &CapacityStep) -> String {
    match (s.messages_per_bot_per_min, s.replicas) {
        (Some(r), _) => format!("{}/bot/min = {} msg/s", chosen(r), num(s.messages_per_s)),
        (None, Some(1)) => "1 replica".to_owned(),
        (None, Some(n)) => format!("{n} replicas"),
        (None, None) => count(s.bots),
    }
}

/// A curve's figure: the largest bot count that held, or on a rate curve the largest rate
/// ("1,000 msg/s (60/bot/min at 1,000 bots)"), or on a replica curve the fewest replicas
/// that held ("2 replicas needed for 1,000 bots"); "none" when no step held.
pub fn capacity_figure(c: &CapacityCurve) -> String {
    match &c.rate {
        Some(r) => match (r.max_messages_per_s, r.max_messages_per_bot_per_min) {
            (Some(per_s), Some(per_bot)) => format!(
                "{} msg/s ({}/bot/min at {} bots)",
                num(per_s),
                chosen(per_bot),
                count(r.bots)
            ),
            _ => "none".to_owned(),
        },
        None => match &c.replicas {
            Some(r) => match r.needed {
                Some(n) => format!(
                    "{n} replica{} needed for {} bots",
                    if n == 1 { "" } else { "s" },
                    count(r.bots)
                ),
                None => format!(
                    "none tried held {} bots (more replicas needed)",
                    count(r.bots)
                ),
            },
            None => c.max_bots.map_or_else(|| "none".to_owned(), count),
        },
    }
}

/// Capacity: one row per step of every curve.
pub fn capacity_table(data: &ReportData<'_>) -> Table {
    let mut t = Table::new([
        "SUT",
        "step",
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
                capacity_step_text(s).into(),
                passed,
                num(s.p99_ms).into(),
                count(s.lost).into(),
                measured(s.cpu_mean_pct).into(),
                measured(s.rss_peak_mb).into(),
                num(s.requests_per_min).into(),
                s.reason.clone().unwrap_or_default().into(),
            ]);
        }
    }
    t
}

/// The largest bot count (or rate) per curve and what stopped the search.
pub fn capacity_summary(data: &ReportData<'_>) -> Table {
    let mut t = Table::new(["SUT", "most meeting the SLO", "search stopped by"]);
    t.numeric = vec![1];
    for (label, c) in data.capacity() {
        t.push(vec![
            label.into(),
            capacity_figure(c).into(),
            c.stopped_by.clone().into(),
        ]);
    }
    t
}

/// Scenario and environment, one column per file.
pub fn environment_table(data: &ReportData<'_>) -> Table {
    let mut headers = vec!["".to_owned()];
    headers.extend(data.inputs.iter().map(|i| i.label.clone()));
    let mut t = Table::new(headers);
    type Field = (&'static str, fn(&Input) -> String);
    let fields: [Field; 19] = [
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
        ("transport security", |i| {
            crate::claims::transport_security(&i.results)
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
        ("CPU budget (cpu_quota)", |i| cpu_budgets(&i.results)),
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

/// The SUTs held to a CPU budget and how the kernel enforced it, or "none". A figure measured
/// under a budget is that budget's, not a whole core's (see the quota caveat of the run).
fn cpu_budgets(r: &crate::results::Results) -> String {
    let mut seen: Vec<&str> = Vec::new();
    let mut parts = Vec::new();
    for run in &r.runs {
        if let Some(q) = &run.sut.cpu_quota
            && !seen.contains(&run.sut.name.as_str())
        {
            seen.push(&run.sut.name);
            parts.push(format!(
                "{}: {} of a core ({})",
                run.sut.name,
                num(q.cores),
                q.mechanism
            ));
        }
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join("; ")
    }
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

/// The deltas of a comparison: one row per SUT and metric.
pub fn comparison_table(c: &Comparison) -> Table {
    let mut t = Table::new([
        "SUT",
        "metric",
        "baseline",
        "current",
        "change",
        "limit",
        "noise (95 % interval)",
        "status",
    ]);
    t.numeric = vec![2, 3, 4];
    for d in &c.deltas {
        let (status, tone) = match d.status {
            Status::Info => ("", Tone::Muted),
            Status::Within => ("✅ ok", Tone::Good),
            Status::Noise => ("〰 within noise", Tone::Warn),
            Status::Regression => ("❌ regression", Tone::Bad),
        };
        let noise = match d.noise {
            Noise::NotAssessed => "–".to_owned(),
            Noise::Interval(lo, hi) => format!("{} … {}", pct_change(lo), pct_change(hi)),
        };
        t.push(vec![
            d.sut.as_str().into(),
            d.metric.describe().into(),
            num(d.baseline).into(),
            num(d.current).into(),
            pct_change(d.change).into(),
            d.limit.map_or_else(|| "–".into(), |l| l.to_string()).into(),
            noise.into(),
            Cell::new(status, tone),
        ]);
    }
    t
}
