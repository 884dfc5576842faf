//! The tables and notes the formats show, built once from the report's data (or the
//! claims table, or a comparison) so that `report.md`, `report.html` and a CI log read the
//! same: each format only lays them out.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::ReportData;
use crate::claims::{CLAIM_BOTS, ClaimsTable, Outcome, Verdict, spec::config};
use crate::compare::{Comparison, Noise, Status};
use crate::cost::{
    AWS_KEEP_WARM_S, AlwaysOnCurve, BreakEven, Prices, ServerlessPerMessage, TRAFFIC_RANGE, Usage,
    break_even, serverless_cost,
};
use crate::results::{CapacityCurve, CapacityStep, ColdWarm, Latency, Serverless, ServerlessPoint};
use crate::rows::Input;
use crate::table::{Cell, Table, Tone};
use crate::text::{chosen, count, measured, num, pct_change, usd};

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

/// What the serverless table shows, said once for every format.
pub const SERVERLESS_NOTE: &str = "Figures of the emulated AWS Lambda for each serverless SUT, over the window and its drain: cold starts (init = spawn to the runtime's first request for an event), billed duration with init, and cost: that usage (invocations, billed GB-s with init, front-door requests) at the assumed prices of reports/prices.toml [serverless]; the platform's own CPU is overhead, not in the SUT's CPU: its idle floor (CPU ms a second while quiet: environments warm, no traffic; from an earlier idle phase when the window had no quiet stretch) and its CPU per invocation above that floor, n/a where no quiet stretch was measured.";

/// The serverless platform's figures: one row per serverless SUT (per file and phase),
/// counts summed over repetitions, init times the worst repetition's. None when no row
/// ran on the platform.
pub fn serverless_table(data: &ReportData<'_>) -> Option<Table> {
    let mut t = Table::new([
        "SUT",
        "invocations",
        "cold starts",
        "init p50 ms",
        "init p99 ms",
        "init max ms",
        "throttled",
        "errors (timeout/oom/function)",
        "peak concurrency",
        "environments",
        "billed ms",
        "GB-s",
        "cost USD",
        "USD per 1M invocations",
        "platform CPU s",
        "platform idle CPU ms/s",
        "platform CPU ms per invocation above idle",
        "limits by",
    ]);
    t.numeric = (1..17).collect();
    for r in &data.rows {
        let figures: Vec<&Serverless> = r
            .runs
            .iter()
            .filter_map(|x| x.serverless.as_ref())
            .collect();
        if figures.is_empty() {
            continue;
        }
        let sum = |f: fn(&Serverless) -> u64| figures.iter().map(|s| f(s)).sum::<u64>();
        let sum_f = |f: fn(&Serverless) -> f64| figures.iter().map(|s| f(s)).sum::<f64>();
        let worst = |f: fn(&Serverless) -> f64| figures.iter().map(|s| f(s)).fold(0.0, f64::max);
        let invocations = sum(|s| s.invocations);
        let errors = (
            sum(|s| s.errors.timeout),
            sum(|s| s.errors.oom),
            sum(|s| s.errors.function),
        );
        let prices = Prices::default();
        let cost: f64 = figures
            .iter()
            .map(|s| serverless_cost(s, &prices).total)
            .sum();
        let mut limits: Vec<&str> = figures.iter().map(|s| s.resources.as_str()).collect();
        limits.dedup();
        t.push(vec![
            r.label(data.several_files).into(),
            count(invocations).into(),
            count(sum(|s| s.cold_starts)).into(),
            num(worst(|s| s.init_ms.p50)).into(),
            num(worst(|s| s.init_ms.p99)).into(),
            num(worst(|s| s.init_ms.max)).into(),
            count(sum(|s| s.throttled)).into(),
            Cell::new(
                format!("{}/{}/{}", errors.0, errors.1, errors.2),
                if errors == (0, 0, 0) {
                    Tone::Plain
                } else {
                    Tone::Bad
                },
            ),
            count(
                figures
                    .iter()
                    .map(|s| s.concurrency_peak)
                    .max()
                    .unwrap_or(0),
            )
            .into(),
            count(sum(|s| s.environments_started)).into(),
            count(sum(|s| s.billed_ms)).into(),
            num(sum_f(|s| s.billed_gb_s)).into(),
            format!("{cost:.6}").into(),
            if invocations > 0 {
                usd(cost / invocations as f64 * 1e6).into()
            } else {
                "n/a".into()
            },
            num(sum_f(|s| s.platform_cpu_s)).into(),
            mean_of(figures.iter().map(|s| s.platform_idle_cpu_ms_per_s)).into(),
            mean_of(figures.iter().map(|s| s.platform_marginal_cpu_ms)).into(),
            limits.join(", ").into(),
        ]);
    }
    (!t.rows.is_empty()).then_some(t)
}

/// The mean of the runs' figures that were measured, `n/a` when none was.
fn mean_of(values: impl Iterator<Item = Option<f64>>) -> String {
    let known: Vec<f64> = values.flatten().collect();
    if known.is_empty() {
        return "n/a".into();
    }
    format!("{:.3}", known.iter().sum::<f64>() / known.len() as f64)
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

/// The claims' source's latency timeline, step by step, and the part of the split each step
/// is measured in, by transport.
pub fn claims_latency_timeline() -> Table {
    let mut t = Table::new([
        "claims' timeline",
        "polling (measured as)",
        "webhook (measured as)",
        "part",
    ]);
    for row in [
        [
            "message sent",
            "the message's scheduled instant",
            "the message's scheduled instant",
            "start",
        ],
        [
            "Telegram receives",
            "the mock queues the update",
            "the mock queues the update",
            "in Telegram",
        ],
        [
            "the server polls and gets it",
            "the getUpdates answer that carries it leaves the mock",
            "Telegram pushes instead: the webhook POST leaves the mock",
            "in Telegram (ends here)",
        ],
        [
            "processing",
            "the bot handles the update",
            "the bot handles the POST",
            "delivery to reply",
        ],
        [
            "reply",
            "sendMessage reaches the mock",
            "sendMessage, or the method in the POST's answer, reaches the mock",
            "delivery to reply (ends here)",
        ],
    ] {
        t.push(row.into_iter().map(Cell::from).collect());
    }
    t
}

/// What the cold/warm table and the concurrency chart show, said once for every format.
pub const SERVERLESS_LATENCY_NOTE: &str = "Latency as everywhere in this report: from a simulated user's scheduled send to the bot's reply. Cold: updates a delivery of which was the first event of a new execution environment (it waited for the environment's init); warm: every other reply. Each reply is in exactly one; counts are summed over repetitions, percentiles the worst repetition's.";

/// Serverless rows with a cold/warm latency split: per row, the runs' splits.
fn serverless_splits<'a>(
    data: &'a ReportData<'_>,
) -> impl Iterator<Item = (String, Vec<&'a ColdWarm>)> + 'a {
    data.rows.iter().filter_map(|r| {
        let splits: Vec<&ColdWarm> = r
            .runs
            .iter()
            .filter_map(|x| x.serverless.as_ref()?.latency.as_ref())
            .collect();
        (!splits.is_empty()).then(|| (r.label(data.several_files), splits))
    })
}

/// Latency of cold and warm updates, one row per serverless SUT (per file and phase).
/// None when no row has the split.
pub fn serverless_latency_table(data: &ReportData<'_>) -> Option<Table> {
    let mut t = Table::new([
        "SUT",
        "cold replies",
        "cold p50 ms",
        "cold p99 ms",
        "cold max ms",
        "warm replies",
        "warm p50 ms",
        "warm p99 ms",
        "warm max ms",
    ]);
    t.numeric = (1..9).collect();
    for (label, splits) in serverless_splits(data) {
        let half = |pick: fn(&ColdWarm) -> &Latency| {
            let replies: u64 = splits.iter().map(|s| pick(s).count).sum();
            let worst =
                |f: fn(&Latency) -> f64| splits.iter().map(|s| f(pick(s))).fold(0.0, f64::max);
            let (p50, p99, max) = (worst(|l| l.p50), worst(|l| l.p99), worst(|l| l.max));
            [count(replies), num(p50), num(p99), num(max)]
        };
        let mut row = vec![Cell::from(label)];
        row.extend(half(|s| &s.cold).into_iter().map(Cell::from));
        row.extend(half(|s| &s.warm).into_iter().map(Cell::from));
        t.push(row);
    }
    (!t.rows.is_empty()).then_some(t)
}

/// One sentence per serverless row with a timeline (its first run): how many environments
/// were busy at most and when, and how many cold starts there were and when.
pub fn serverless_timeline_sentences(data: &ReportData<'_>) -> Vec<String> {
    data.rows
        .iter()
        .filter_map(|r| {
            let s = r.runs.first()?.serverless.as_ref()?;
            // The first second at the peak (max_by_key keeps the last of equals).
            let peak = s.timeline.iter().rev().max_by_key(|p| p.busy)?;
            let colds: Vec<&ServerlessPoint> =
                s.timeline.iter().filter(|p| p.cold_starts > 0).collect();
            let alive = s.timeline.iter().map(|p| p.alive).max().unwrap_or(0);
            let when = match (colds.first(), colds.last()) {
                (Some(a), Some(b)) if colds.len() > 1 => {
                    format!(", in {} seconds from {} s to {} s", colds.len(), num(a.t_s), num(b.t_s))
                }
                (Some(a), _) => format!(", at {} s", num(a.t_s)),
                _ => String::new(),
            };
            // What AWS's keep-warm would change, when the run used a shorter one.
            let keep_warm = if s.keep_warm_s > 0.0 && s.keep_warm_s < AWS_KEEP_WARM_S {
                format!(
                    " Keep-warm was {} s here, AWS keeps an idle environment ~{} s: there, an environment idle for less than that stays warm, so this traffic would meet these cold starts at most, and fewer after quiet spells shorter than {} s.",
                    num(s.keep_warm_s),
                    num(AWS_KEEP_WARM_S),
                    num(AWS_KEEP_WARM_S)
                )
            } else {
                String::new()
            };
            Some(format!(
                "{}: at most {} environments busy at once (first at {} s), {} alive; {} cold starts{}.{keep_warm}",
                r.label(data.several_files),
                count(peak.busy),
                num(peak.t_s),
                count(alive),
                count(colds.iter().map(|p| p.cold_starts).sum()),
                when,
            ))
        })
        .collect()
}

/// The cost-versus-traffic comparison of a report: one curve per always-on row and per
/// measured serverless row, and where each serverless curve meets each always-on one.
#[derive(Debug, Clone, Default)]
pub struct CostVsTraffic {
    /// Label and monthly cost at each traffic level (messages a month).
    pub always_on: Vec<(String, AlwaysOnCurve)>,
    pub serverless: Vec<(String, ServerlessPerMessage)>,
    /// The break-even findings, one sentence each.
    pub sentences: Vec<String>,
}

/// What the cost-versus-traffic chart assumes, said once for every format.
pub const COST_VS_TRAFFIC_NOTE: &str = "Monthly cost at the assumed prices of reports/prices.toml against messages a month (log scale), from this report's runs. Always on (polling or webhook): the measured run's right-sized deployment, flat in traffic until its CPU target fills (CPU taken as proportional to traffic), then one more deployment per such capacity. Serverless: the measured cost per message (requests, billed duration, front door) plus init billed at the run's cold-start rate. That rate is the run's own: at lower traffic more messages find no warm environment, so serverless costs somewhat more there than drawn.";

/// Cost versus traffic for a report's rows at `prices`: None without a measured serverless
/// row (one with platform figures and replies) and an always-on row to compare it with.
pub fn cost_vs_traffic(data: &ReportData<'_>, prices: &Prices) -> Option<CostVsTraffic> {
    let mut c = CostVsTraffic::default();
    for r in &data.rows {
        if r.replied == 0 || r.duration_s <= 0.0 {
            continue;
        }
        let label = r.label(data.several_files);
        let windows: Vec<&Serverless> = r
            .runs
            .iter()
            .filter_map(|x| x.serverless.as_ref())
            .collect();
        if windows.is_empty() {
            let per_month = r.injected as f64 / r.duration_s * 3600.0 * prices.hours_per_month;
            // A row without CPU and memory figures has no always-on cost to draw.
            if let Some(usage) = Usage::of_row(r, 0.0, 1.0) {
                c.always_on
                    .push((label, AlwaysOnCurve::of(&usage, per_month, prices)));
            }
        } else if let Some(per) = ServerlessPerMessage::of(&windows, r.replied, prices) {
            c.serverless.push((label, per));
        }
    }
    if c.always_on.is_empty() || c.serverless.is_empty() {
        return None;
    }
    for (s, per) in &c.serverless {
        for (o, curve) in &c.always_on {
            let sentence = match break_even(per, curve, TRAFFIC_RANGE) {
                BreakEven::Below(m) => format!(
                    "serverless {s} is cheaper than always-on {o} below ~{} messages a month ({} a month there; {} per million messages at {} cold starts per message)",
                    count(two_figures(m)),
                    usd(curve.at(m)),
                    usd(per.total() * 1e6),
                    num(per.cold_start_rate),
                ),
                BreakEven::Throughout => format!(
                    "serverless {s} is cheaper than always-on {o} across 1 to {} messages a month ({} per million messages)",
                    count(TRAFFIC_RANGE.1 as u64),
                    usd(per.total() * 1e6),
                ),
                BreakEven::Never => format!(
                    "serverless {s} costs more than always-on {o} ({} a month) even at 1 message a month",
                    usd(curve.monthly),
                ),
            };
            c.sentences.push(sentence);
        }
    }
    Some(c)
}

/// `v` rounded to two significant figures (a break-even is an estimate, not a count).
fn two_figures(v: f64) -> u64 {
    if v < 1.0 {
        return v.round() as u64;
    }
    let scale = 10f64.powi(v.log10().floor() as i32 - 1);
    ((v / scale).round() * scale) as u64
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

/// The claims verdict table: a row per claim, a column per configuration, the verdict and
/// why.
pub fn claims_verdicts(claims: &ClaimsTable) -> Table {
    let mut headers = vec!["claim".to_owned()];
    headers.extend(claims.columns.iter().map(|c| c.label.to_owned()));
    headers.push("verdict".into());
    headers.push("why".into());
    let mut t = Table::new(headers);
    for row in &claims.rows {
        let mut cells: Vec<Cell> = vec![row.claim.into()];
        for c in &row.cells {
            let (mark, tone) = match c.outcome {
                Outcome::Holds => ("✓ ", Tone::Good),
                Outcome::Fails => ("✗ ", Tone::Bad),
                Outcome::Inconclusive => ("? ", Tone::Warn),
                Outcome::NotMeasured | Outcome::NotApplicable => ("", Tone::Muted),
            };
            cells.push(Cell::new(format!("{mark}{}", c.text), tone));
        }
        cells.push(Cell::new(
            row.verdict.to_string(),
            verdict_tone(&row.verdict),
        ));
        cells.push(row.reason.as_str().into());
        t.push(cells);
    }
    t
}

fn verdict_tone(v: &Verdict) -> Tone {
    match v {
        Verdict::Holds => Tone::Good,
        Verdict::DoesNotHold => Tone::Bad,
        Verdict::HoldsOnlyWhen(_) | Verdict::Inconclusive => Tone::Warn,
        Verdict::NotMeasured => Tone::Muted,
    }
}

/// Monthly cost per configuration and servers for the scaling claim's bots.
pub fn claims_costs(claims: &ClaimsTable) -> Table {
    let mut t = Table::new([
        "configuration",
        "always-on size",
        "always-on per month",
        "serverless per month",
        "max bots per server",
        "servers for 10,000 bots",
        "per month for 10,000 bots",
    ]);
    t.numeric = vec![2, 3, 4, 5, 6];
    for c in &claims.costs {
        let bound = if c.scaling_upper_bound { "≤ " } else { "" };
        t.push(vec![
            config(c.config).label.into(),
            if c.vcpu.is_finite() {
                format!("{} vCPU, {} GB", num(c.vcpu), num(c.memory_gb)).into()
            } else {
                "–".into()
            },
            if c.always_on.is_finite() {
                usd(c.always_on).into()
            } else {
                "–".into()
            },
            c.serverless.map_or_else(|| "–".into(), usd).into(),
            c.max_bots.map_or_else(|| "–".into(), count).into(),
            c.servers_for_scaling
                .map_or_else(|| "–".into(), |s| format!("{bound}{s}"))
                .into(),
            c.scaling_monthly
                .map_or_else(|| "–".into(), |m| format!("{bound}{}", usd(m)))
                .into(),
        ]);
    }
    t
}

/// The framework comparison of a `--stack` run: a row per configuration (the Rust reference
/// servers first, then each framework's), figures as measured at the run's bot count. `None`
/// without a framework stack.
pub fn claims_frameworks(claims: &ClaimsTable) -> Option<Table> {
    let lines = claims.frameworks.as_ref()?;
    let mut t = Table::new([
        "configuration",
        "transport",
        "what it is",
        "bots",
        "idle CPU %",
        "idle RSS MB",
        "RSS peak MB",
        "CPU s per 1,000 msgs",
        "p50 ms",
        "p99 ms",
        "req/min",
        "answered",
        "lost",
        "bots one core holds (capacity)",
    ]);
    t.numeric = vec![3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
    let or_dash = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), num);
    for l in lines {
        t.push(vec![
            l.label.into(),
            l.side.to_string().into(),
            match &l.failed {
                Some(why) => Cell::new(
                    match &l.about {
                        Some(about) => format!("{about} — FAILED: {why}"),
                        None => format!("FAILED: {why}"),
                    },
                    Tone::Bad,
                ),
                None => l.about.clone().unwrap_or_else(|| "–".into()).into(),
            },
            count(l.bots).into(),
            or_dash(l.idle_cpu_pct).into(),
            or_dash(l.idle_rss_mb).into(),
            or_dash(l.rss_peak_mb).into(),
            or_dash(l.cpu_s_per_1000).into(),
            or_dash(l.p50_ms).into(),
            or_dash(l.p99_ms).into(),
            or_dash(l.requests_per_min).into(),
            count(l.replied).into(),
            Cell::new(
                count(l.lost),
                if l.lost > 0 { Tone::Bad } else { Tone::Plain },
            ),
            l.capacity
                .clone()
                .unwrap_or_else(|| "not measured".to_owned())
                .into(),
        ]);
    }
    Some(t)
}

/// Under the framework comparison: what its figures are.
pub const FRAMEWORKS_NOTE: &str = "Every configuration ran the same bot logic (echo, /start, a button's callback answer) under the same load and seed on a fresh mock, in turn (each pinned to the same core where the machine allows: see the environment). Figures are as measured at the bot count shown, not scaled. CPU per 1,000 messages is the active phase's CPU time above the idle phase's rate, per answered message. \"What it is\" is the scenario's [[sut]] about: the pinned versions and the settings that matter. The bots one core holds is a capacity search's result (the SUT pinned to one core; SLO p99 500 ms, nothing lost, CPU ≤ 80 %), where one ran: `tgbench claims --stack … --stack-capacity`.";

/// One sentence over the claims table: machine, RTT, bot counts, scaling.
pub fn claims_context(claims: &ClaimsTable) -> String {
    let c = &claims.context;
    let bots = c
        .bots
        .iter()
        .map(|b| count(*b))
        .collect::<Vec<_>>()
        .join(", ");
    let mut s = format!(
        "Measured on {}; emulated Telegram RTT {}; {} bots per run",
        if c.machine.is_empty() {
            "an unknown machine"
        } else {
            &c.machine
        },
        if c.rtt.is_empty() { "unknown" } else { &c.rtt },
        if bots.is_empty() { "no" } else { &bots },
    );
    if !c.git_revision.is_empty() {
        s.push_str(&format!(" (tgbench {})", c.git_revision));
    }
    if !c.transport.is_empty() {
        let _ = write!(s, "; {}", c.transport);
    }
    if !c.load.is_empty() {
        let _ = write!(s, "; load: {}", c.load);
    }
    s.push('.');
    if c.bots.iter().any(|b| *b != CLAIM_BOTS) {
        let _ = write!(
            s,
            " The claims are for {CLAIM_BOTS} bots: CPU, requests per minute and always-on cost are scaled linearly to {CLAIM_BOTS} bots; memory, latency and capacity are as measured."
        );
    }
    s
}

/// How verdicts are decided, for the reader (the rules: [`crate::claims::verdict`]).
pub const CLAIMS_RULES: &str = "A claimed range holds within ±10 %, a round figure (\"800 MB\", \"~100\", \"$20\") within ±50 %, \"0.5 %\" CPU within ±0.5 points, \"0 %\" up to 0.25 %. A row holds when every configuration of the side a figure speaks about meets it; it does not hold when no configuration of a side does; otherwise it holds only when the configurations that met it are used. Each figure carries its margin (the spread of its runs from three, else the sampler's resolution): a cell holds or fails only when its whole margin does, and is inconclusive (?) when the margin straddles the threshold, as is capacity cut short by a limit of the test machine. Latency is the p50 of the active phase; \"constant CPU\" means at least 1 % of a core in at least 80 % of the idle phase's 5 s windows.";

/// What the cost table assumes.
pub const CLAIMS_COST_NOTE: &str = "Prices are assumptions (reports/prices.toml: on-demand vCPU-hour and GB-hour, serverless per request and per GB-second), not quotes. Always-on: right-sized to the measured p95 CPU and peak RSS with headroom, smallest size 0.25 vCPU / 0.5 GB. Serverless: the serverless configuration's measured bill per message (requests, billed GB-seconds with init, front door) at its traffic; for the always-on webhooks, one invocation per webhook delivery billed for its CPU time and API waits (on paper).";

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
