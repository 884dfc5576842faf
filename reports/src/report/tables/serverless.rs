//! The serverless platform's tables, notes and cost-versus-traffic comparison.

use crate::cost::{
    AWS_KEEP_WARM_S, AlwaysOnCurve, BreakEven, Prices, ServerlessPerMessage, TRAFFIC_RANGE, Usage,
    break_even, serverless_cost,
};
use crate::report::ReportData;
use crate::results::{ColdWarm, Latency, Serverless, ServerlessPoint};
use crate::table::{Cell, Table, Tone};
use crate::text::{count, num, usd};

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
