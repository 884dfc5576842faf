//! What each configuration measured for each claim: its runs found in the results
//! (idle phase, active phase, capacity curve), and one [`Reading`] per [`Metric`].
//!
//! Runs are found by `run.sut.name` (the configuration's name) and `run.phase`
//! ([`phase::IDLE`], [`phase::ACTIVE`]; without an active run, a run with no phase counts as
//! active). Capacity curves (along the bots) are found by `capacity[].sut`; the runs of a file that holds
//! capacity curves are the search's steps and are not used as phases. When several files
//! hold the same configuration and phase, the last file wins. Figures that grow with the
//! number of bots (CPU %, requests per minute, always-on cost) are scaled linearly to
//! [`CLAIM_BOTS`]; memory, latency and capacity are never scaled.

use super::spec::{
    CLAIM_BOTS, CONFIGS, CONSTANT_CPU_MIN_PCT, CONSTANT_CPU_WINDOW_S, Config, Metric, SCALING_BOTS,
    Side, phase,
};
use super::verdict::Bound;
use crate::cost::{
    AWS_KEEP_WARM_S, AlwaysOnCurve, BreakEven, Prices, ServerlessPerMessage, TRAFFIC_RANGE, Usage,
    break_even, monthly_cost, servers_for,
};
use crate::results::{CapacityCurve, Sample, Serverless};
use crate::rows::{Input, Row, rows};
use crate::stats::bootstrap_median;
use crate::text::{count, num, usd};

/// The runs of one configuration.
pub(super) struct Measured<'a> {
    pub idle: Option<Row<'a>>,
    pub active: Option<Row<'a>>,
    pub capacity: Option<&'a CapacityCurve>,
    /// Emulated round trip of the run the cost model reads, ms.
    pub rtt_ms: f64,
    /// Every always-on configuration's cost against traffic (scaled to [`CLAIM_BOTS`]),
    /// with its short name: what a serverless configuration's cost is judged against.
    pub always_on: Vec<(&'static str, AlwaysOnCurve)>,
    /// Why its server failed, when a run that went on without it says so
    /// (`results.failed_suts`): a framework that could not host the bots.
    pub failed: Option<&'a str>,
}

/// One measured figure of one configuration.
#[derive(Debug, Clone)]
pub(super) struct Reading {
    pub value: f64,
    pub bound: Bound,
    /// The figure with its unit ("3.20 %", "≥ 9,000"), as reasons quote it.
    pub figure: String,
    /// What the cell adds in brackets ("machine limit", "p50; p99 114 ms"), or nothing.
    pub detail: String,
    /// Where the true value lies as far as the measurement can tell ([`margin`]);
    /// `(value, value)` for a figure without one (a cost, a capacity bound).
    pub interval: (f64, f64),
    /// How the interval was found ("3 runs", "sampler resolution"); empty without one.
    pub basis: String,
    /// Writes a value of this figure with its unit (for the interval and thresholds).
    pub show: fn(f64) -> String,
}

/// Repetitions from which the runs' own spread is the margin (fewer: the sampler's
/// resolution alone, since two runs cannot give an interval).
pub const MIN_RUNS_FOR_SPREAD: usize = 3;

/// CPU time is read in ticks of 10 ms (`USER_HZ` = 100), so a mean over `d` seconds is
/// known to ±1 tick: `1 / d` % of one core.
fn cpu_resolution_pct(duration_s: f64) -> f64 {
    if duration_s > 0.0 {
        1.0 / duration_s
    } else {
        0.0
    }
}

/// The interval of a figure `value` (the median or merge of the runs): with
/// [`MIN_RUNS_FOR_SPREAD`] or more runs the 95 % bootstrap interval of the runs' median,
/// always widened by the sampler's `resolution`; never below 0 (every figure here is a
/// count, a size or a share).
fn margin(value: f64, per_run: &[f64], resolution: f64) -> ((f64, f64), String) {
    let spread = (per_run.len() >= MIN_RUNS_FOR_SPREAD)
        .then(|| bootstrap_median(per_run))
        .flatten();
    let (lo, hi) = spread.unwrap_or((value, value));
    let interval = (
        (lo.min(value) - resolution).max(0.0),
        hi.max(value) + resolution,
    );
    let basis = match spread {
        Some(_) => format!("{} runs", per_run.len()),
        None => "sampler resolution".into(),
    };
    (interval, basis)
}

impl Reading {
    pub(super) fn new(value: f64, bound: Bound, figure: String, detail: String) -> Self {
        Self {
            value,
            bound,
            figure,
            detail,
            interval: (value, value),
            basis: String::new(),
            show: num,
        }
    }

    /// This reading with its margin from the runs' values and the resolution, its values
    /// written by `show`.
    fn with_margin(mut self, per_run: &[f64], resolution: f64, show: fn(f64) -> String) -> Self {
        (self.interval, self.basis) = margin(self.value, per_run, resolution);
        self.show = show;
        self
    }

    fn exact(value: f64, figure: String) -> Option<Self> {
        Some(Self::new(value, Bound::Exact, figure, String::new()))
    }
}

/// The runs of every configuration in `inputs`, in column order; an optional configuration
/// (the aiogram stack) only when it has runs.
pub(super) fn measure_configs(inputs: &[Input]) -> Vec<(&'static Config, Measured<'_>)> {
    // Runs of a capacity search are its steps, not phases: leave them out.
    let all_rows: Vec<Row<'_>> = rows(inputs)
        .into_iter()
        .filter(|r| inputs[r.input].results.capacity.is_empty())
        .collect();
    let rtt_of = |i: usize| inputs[i].results.scenario.telegram.rtt_ms;
    let find = |name: &str, phase: Option<&str>| -> Option<Row<'_>> {
        all_rows
            .iter()
            .rfind(|r| r.sut == name && r.phase == phase)
            .cloned()
    };
    CONFIGS
        .iter()
        .map(|c| {
            let idle = find(c.name, Some(phase::IDLE));
            let active = find(c.name, Some(phase::ACTIVE)).or_else(|| find(c.name, None));
            let capacity = inputs
                .iter()
                .flat_map(|i| i.results.capacity.iter())
                // A search along the rate answers another question than "max bots".
                .rfind(|k| k.sut == c.name && k.rate.is_none());
            let rtt_ms = active
                .as_ref()
                .or(idle.as_ref())
                .map_or(0.0, |r| rtt_of(r.input));
            let failed = inputs
                .iter()
                .flat_map(|i| i.results.failed_suts.iter())
                .rfind(|f| f.sut == c.name)
                .map(|f| f.reason.as_str());
            (
                c,
                Measured {
                    idle,
                    active,
                    capacity,
                    rtt_ms,
                    always_on: Vec::new(),
                    failed,
                },
            )
        })
        .filter(|(c, m)| !c.optional || !m.is_empty() || m.failed.is_some())
        .collect()
}

/// Messages a month at an active row's rate, scaled to [`CLAIM_BOTS`].
fn messages_per_month(r: &Row<'_>, prices: &Prices) -> f64 {
    if r.duration_s <= 0.0 {
        return 0.0;
    }
    r.injected as f64 / r.duration_s * scale(r.bots) * 3600.0 * prices.hours_per_month
}

/// The always-on configurations' cost curves (those with an active run), scaled to
/// [`CLAIM_BOTS`] as their cost cells are.
pub(super) fn always_on_curves(
    measured: &[(&'static Config, Measured<'_>)],
    prices: &Prices,
) -> Vec<(&'static str, AlwaysOnCurve)> {
    measured
        .iter()
        .filter(|(c, _)| c.side != Side::Serverless)
        .filter_map(|(c, m)| {
            let r = m.active.as_ref().filter(|r| r.replied > 0)?;
            let usage = Usage::of_row(r, m.rtt_ms, scale(r.bots))?;
            Some((
                c.short,
                AlwaysOnCurve::of(&usage, messages_per_month(r, prices), prices),
            ))
        })
        .collect()
}

/// A serverless active row's measured cost a month at its traffic, scaled to
/// [`CLAIM_BOTS`]: what it costs per message, times the messages.
pub(super) fn serverless_monthly(r: &Row<'_>, prices: &Prices) -> Option<f64> {
    let per = ServerlessPerMessage::of(&serverless_windows(r), r.replied, prices)?;
    Some(per.at(messages_per_month(r, prices)))
}

/// The serverless figures of a row's runs.
fn serverless_windows<'r>(r: &'r Row<'_>) -> Vec<&'r Serverless> {
    r.runs
        .iter()
        .filter_map(|x| x.serverless.as_ref())
        .collect()
}

/// The factor that scales a figure measured with `bots` bots to [`CLAIM_BOTS`].
pub(super) fn scale(bots: u64) -> f64 {
    if bots == 0 {
        1.0
    } else {
        CLAIM_BOTS as f64 / bots as f64
    }
}

fn pct_text(v: f64) -> String {
    format!("{} %", num(v))
}

fn mb_text(v: f64) -> String {
    format!("{} MB", num(v))
}

fn per_min_text(v: f64) -> String {
    format!("{}/min", num(v))
}

fn windows_text(v: f64) -> String {
    format!("{} % of windows", num(v))
}

fn ms_text(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{} s", num(ms / 1000.0))
    } else {
        format!("{} ms", num(ms))
    }
}

fn servers_text(n: u64) -> String {
    if n == 1 {
        "1 server".into()
    } else {
        format!("{} servers", count(n))
    }
}

fn machine_limited(c: &CapacityCurve) -> bool {
    c.steps.last().is_some_and(|s| s.machine_limit) || c.stopped_by.starts_with("machine")
}

/// True when a curve's largest count is only a lower bound: the search ended on a limit
/// of the machine, or every step held (it ran out of steps before the SUT broke).
pub(super) fn only_a_lower_bound(c: &CapacityCurve) -> bool {
    machine_limited(c) || c.steps.last().is_some_and(|s| s.passed)
}

/// Why a curve's figure is a bound, naming the limit that ended it: "limited by open
/// files, 20000", "limited by the harness", or "every step held".
fn bound_reason(c: &CapacityCurve) -> String {
    if !machine_limited(c) {
        return "every step held".into();
    }
    match c.stopped_by.split_once(": ") {
        // "open files (20000)" → "limited by open files, 20000"
        Some(("machine", what)) => {
            format!("limited by {}", what.replace(" (", ", ").replace(')', ""))
        }
        Some(("harness", _)) => "limited by the harness".into(),
        _ => "machine limit".into(),
    }
}

/// Mean CPU of consecutive `window_s`-second windows of a timeseries (by `t_s`). A window
/// the series covers only in part (fewer than half the samples of the fullest window, such
/// as the one a last sample at the phase's end opens) is left out: one 250 ms sample is not
/// a 5 s window.
fn cpu_windows(ts: &[Sample], window_s: f64) -> Vec<f64> {
    let mut out: Vec<(f64, usize)> = Vec::new();
    let t0 = ts.first().map_or(0.0, |s| s.t_s);
    for s in ts {
        let i = ((s.t_s - t0) / window_s).floor().max(0.0) as usize;
        if out.len() <= i {
            out.resize(i + 1, (0.0, 0));
        }
        out[i].0 += s.cpu_pct;
        out[i].1 += 1;
    }
    let fullest = out.iter().map(|w| w.1).max().unwrap_or(0);
    out.into_iter()
        .filter(|(_, n)| *n > 0 && *n * 2 >= fullest)
        .map(|(sum, n)| sum / n as f64)
        .collect()
}

impl Measured<'_> {
    /// Where this configuration's active-phase latency goes, for the latency verdicts' "why":
    /// "long polling 1.02 s in Telegram + 21.0 ms delivery to reply" (means, which add up).
    /// None without a split (results written before it was recorded) or replies.
    pub fn latency_split_text(&self, name: &str) -> Option<String> {
        let s = self.active.as_ref()?.latency_split.as_ref()?;
        (s.in_telegram.count > 0).then(|| {
            format!(
                "{name} {} in Telegram + {} delivery to reply",
                ms_text(s.in_telegram.mean),
                ms_text(s.delivery_to_reply.mean)
            )
        })
    }

    fn is_empty(&self) -> bool {
        self.idle.is_none() && self.active.is_none() && self.capacity.is_none()
    }

    /// The reading of `metric`; `None` when not measured.
    pub fn measure(&self, metric: Metric, prices: &Prices) -> Option<Reading> {
        match metric {
            Metric::IdleCpu => {
                let r = self.idle.as_ref()?;
                let s = scale(r.bots);
                let v = r.cpu.as_ref()?.mean_pct * s;
                let runs: Vec<f64> = r
                    .runs
                    .iter()
                    .filter_map(|x| Some(x.cpu.as_ref()?.mean_pct * s))
                    .collect();
                Reading::exact(v, pct_text(v))
                    .map(|x| x.with_margin(&runs, cpu_resolution_pct(r.duration_s) * s, pct_text))
            }
            Metric::Memory => {
                let rows: Vec<&Row<'_>> = [self.idle.as_ref(), self.active.as_ref()]
                    .into_iter()
                    .flatten()
                    .collect();
                let peak = rows
                    .iter()
                    .map(|r| Some(r.memory.as_ref()?.rss_peak_mb))
                    .collect::<Option<Vec<f64>>>()?
                    .into_iter()
                    .reduce(f64::max)?;
                // Repetition i's peak over both phases.
                let reps = rows.iter().map(|r| r.runs.len()).min().unwrap_or(0);
                let runs: Vec<f64> = (0..reps)
                    .map(|i| {
                        rows.iter()
                            .filter_map(|r| Some(r.runs[i].memory.as_ref()?.rss_peak_mb))
                            .fold(0.0, f64::max)
                    })
                    .collect();
                // RSS is counted in 4 KiB pages.
                Reading::exact(peak, mb_text(peak))
                    .map(|x| x.with_margin(&runs, 4.0 / 1024.0, mb_text))
            }
            Metric::RequestsPerMin => {
                let r = self.active.as_ref().or(self.idle.as_ref())?;
                let s = scale(r.bots);
                let v = r.requests_per_min * s;
                let runs: Vec<f64> = r.runs.iter().map(|x| x.requests.per_min * s).collect();
                // Requests are counted exactly: ±1 request over the window.
                let one = if r.duration_s > 0.0 {
                    60.0 / r.duration_s * s
                } else {
                    0.0
                };
                Reading::exact(v, per_min_text(v)).map(|x| x.with_margin(&runs, one, per_min_text))
            }
            Metric::LatencyP50 => {
                let r = self.active.as_ref()?;
                if r.latency.count == 0 {
                    return None;
                }
                let runs: Vec<f64> = r.runs.iter().map(|x| x.latency_ms.p50).collect();
                // HdrHistogram keeps 3 significant digits.
                Some(
                    Reading::new(
                        r.latency.p50,
                        Bound::Exact,
                        ms_text(r.latency.p50),
                        format!("p50; p99 {}", ms_text(r.latency.p99)),
                    )
                    .with_margin(&runs, r.latency.p50 * 1e-3, ms_text),
                )
            }
            Metric::MaxBots => self.max_bots(),
            Metric::MonthlyCost => {
                let r = self.active.as_ref()?;
                let c = monthly_cost(&Usage::of_row(r, self.rtt_ms, scale(r.bots))?, prices);
                Reading::exact(c.always_on, format!("{}/mo", usd(c.always_on)))
            }
            Metric::ConstantCpu => self.constant_cpu(),
            Metric::ServersForScaling => self.servers_for_scaling(prices),
            Metric::PayPerRequest => self.pay_per_request(prices),
            Metric::AutoScaling => self.auto_scaling(),
            Metric::ResponseInstant => self.response_instant(prices),
        }
    }

    /// Serverless at the active phase's traffic against the cheapest always-on
    /// configuration there, and the traffic where the two meet.
    fn pay_per_request(&self, prices: &Prices) -> Option<Reading> {
        let r = self.active.as_ref()?;
        let per = ServerlessPerMessage::of(&serverless_windows(r), r.replied, prices)?;
        let m = messages_per_month(r, prices);
        let (name, curve) = self
            .always_on
            .iter()
            .min_by(|a, b| a.1.at(m).total_cmp(&b.1.at(m)))?;
        let (serverless, always_on) = (per.at(m), curve.at(m));
        let ratio = serverless / always_on;
        // Any traffic, not the chart's range: the claim is judged where it is measured.
        let meets = match break_even(&per, curve, (TRAFFIC_RANGE.0, f64::INFINITY)) {
            BreakEven::Below(n) => {
                format!("cheaper below ~{} messages/mo", count(n.round() as u64))
            }
            BreakEven::Throughout => {
                "cheaper at any traffic (the always-on deployment fills up first)".into()
            }
            BreakEven::Never => "dearer even at 1 message/mo".into(),
        };
        Some(Reading::new(
            ratio,
            Bound::Exact,
            format!("{} × {name}", num(ratio)),
            format!(
                "{}/mo vs {}/mo at {} messages/mo; {meets}",
                usd(serverless),
                usd(always_on),
                count(m.round() as u64)
            ),
        ))
    }

    /// Requests throttled in the active phase, the peak concurrency against the limit, and
    /// the traffic that would reach the limit (concurrency taken as proportional to it).
    fn auto_scaling(&self) -> Option<Reading> {
        let r = self.active.as_ref()?;
        let w = serverless_windows(r);
        if w.is_empty() {
            return None;
        }
        let throttled: u64 = w.iter().map(|s| s.throttled).sum();
        let peak = w.iter().map(|s| s.concurrency_peak).max().unwrap_or(0);
        let limit = w.iter().map(|s| s.concurrency_limit).max().unwrap_or(0);
        let per_min = if r.duration_s > 0.0 {
            r.injected as f64 / r.duration_s * 60.0
        } else {
            0.0
        };
        let reach = if throttled > 0 {
            format!(
                "the limit of {} was reached at {} messages/min",
                count(limit),
                num(per_min)
            )
        } else if peak > 0 {
            format!(
                "the limit of {} would be reached at ~{} messages/min",
                count(limit),
                num(per_min * limit as f64 / peak as f64)
            )
        } else {
            String::new()
        };
        Some(Reading::new(
            throttled as f64,
            Bound::Exact,
            format!("{} throttled", count(throttled)),
            format!(
                "peak {} environments at {} messages/min, {} lost; {reach}",
                count(peak),
                num(per_min),
                count(r.lost)
            ),
        ))
    }

    /// The active phase's p99 of cold updates (or of all, when none was cold), with the
    /// warm p99 and the traffic that keeps an environment warm.
    fn response_instant(&self, prices: &Prices) -> Option<Reading> {
        let r = self.active.as_ref()?;
        let w = serverless_windows(r);
        let splits: Vec<_> = w.iter().filter_map(|s| s.latency.as_ref()).collect();
        if splits.is_empty() || r.latency.count == 0 {
            return None;
        }
        let cold: u64 = splits.iter().map(|s| s.cold.count).sum();
        let worst = |f: fn(&crate::results::ColdWarm) -> f64| {
            splits.iter().map(|s| f(s)).fold(0.0, f64::max)
        };
        let (cold_p99, warm_p99) = (worst(|s| s.cold.p99), worst(|s| s.warm.p99));
        let value = if cold > 0 { cold_p99 } else { r.latency.p99 };
        let keep_warm = w.iter().map(|s| s.keep_warm_s).fold(0.0, f64::max);
        let warm_traffic = if keep_warm > 0.0 {
            format!(
                "; environments stay warm only with a message every {} s (keep-warm): ≥ ~{} messages/mo, AWS's ~{} s: ≥ ~{}",
                num(keep_warm),
                count((3600.0 * prices.hours_per_month / keep_warm).round() as u64),
                num(AWS_KEEP_WARM_S),
                count((3600.0 * prices.hours_per_month / AWS_KEEP_WARM_S).round() as u64)
            )
        } else {
            String::new()
        };
        Some(Reading::new(
            value,
            Bound::Exact,
            format!("p99 {}", ms_text(value)),
            format!(
                "cold p99 {} ({} of {} messages cold), warm p99 {}{warm_traffic}",
                ms_text(cold_p99),
                count(cold),
                count(r.replied),
                ms_text(warm_p99)
            ),
        ))
    }

    pub(super) fn max_bots(&self) -> Option<Reading> {
        let c = self.capacity?;
        let v = c.max_bots.unwrap_or(0);
        if only_a_lower_bound(c) {
            // A first step stopped by the machine or the harness says nothing of the SUT:
            // "≥ 0" would read as a figure.
            let figure = match c.max_bots {
                Some(_) => format!("≥ {}", count(v)),
                None => "not measured".into(),
            };
            Some(Reading::new(
                v as f64,
                Bound::AtLeast,
                figure,
                bound_reason(c),
            ))
        } else if c.max_bots.is_none() {
            Reading::exact(0.0, "none met the SLO".into())
        } else {
            Reading::exact(v as f64, count(v))
        }
    }

    /// The share of 5 s idle windows at ≥ 1 % CPU, over the windows of every repetition.
    /// Its interval: the runs' spread (from [`MIN_RUNS_FOR_SPREAD`] runs), widened by the
    /// windows within one CPU tick of the threshold, which could fall on either side.
    fn constant_cpu(&self) -> Option<Reading> {
        let r = self.idle.as_ref().filter(|r| r.cpu.is_some())?;
        let s = scale(r.bots);
        let per_run: Vec<Vec<f64>> = r
            .runs
            .iter()
            .map(|run| cpu_windows(&run.timeseries, CONSTANT_CPU_WINDOW_S))
            .filter(|w| !w.is_empty())
            .collect();
        if per_run.is_empty() {
            return None;
        }
        let share = |windows: &[f64], threshold: f64| {
            let busy = windows.iter().filter(|w| **w * s >= threshold).count();
            busy as f64 * 100.0 / windows.len() as f64
        };
        let all = per_run.concat();
        let value = share(&all, CONSTANT_CPU_MIN_PCT);
        let runs: Vec<f64> = per_run
            .iter()
            .map(|w| share(w, CONSTANT_CPU_MIN_PCT))
            .collect();
        let mut reading = Reading::new(
            value,
            Bound::Exact,
            windows_text(value),
            format!("mean {} % CPU", num(r.cpu.as_ref()?.mean_pct * s)),
        )
        .with_margin(&runs, 0.0, windows_text);
        let tick = cpu_resolution_pct(CONSTANT_CPU_WINDOW_S) * s;
        reading.interval.0 = reading
            .interval
            .0
            .min(share(&all, CONSTANT_CPU_MIN_PCT + tick));
        reading.interval.1 = reading
            .interval
            .1
            .max(share(&all, CONSTANT_CPU_MIN_PCT - tick));
        Some(reading)
    }

    fn servers_for_scaling(&self, prices: &Prices) -> Option<Reading> {
        let c = self.capacity?;
        let limited = only_a_lower_bound(c);
        let plan = servers_for(SCALING_BOTS, c.max_bots, limited, prices);
        match plan.servers {
            None => Reading::exact(f64::INFINITY, "no step met the SLO".into()),
            Some(n) if limited => Some(Reading::new(
                n as f64,
                Bound::AtMost,
                format!("≤ {}", servers_text(n)),
                bound_reason(c),
            )),
            Some(n) => Reading::exact(n as f64, servers_text(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::CapacityStep;

    fn curve(steps: &[(u64, bool, bool)], stopped_by: &str) -> CapacityCurve {
        CapacityCurve {
            sut: "webhook".into(),
            kind: "webhook".into(),
            max_bots: steps.iter().filter(|s| s.1).map(|s| s.0).max(),
            stopped_by: stopped_by.into(),
            steps: steps
                .iter()
                .map(|&(bots, passed, machine_limit)| CapacityStep {
                    bots,
                    passed,
                    machine_limit,
                    ..CapacityStep::default()
                })
                .collect(),
            rate: None,
            replicas: None,
        }
    }

    #[test]
    fn a_capacity_that_never_broke_is_only_a_lower_bound() {
        // Every step held: the SUT may hold more than the last step tried.
        let ran_out = curve(&[(200, true, false), (2_000, true, false)], "end of steps");
        assert!(only_a_lower_bound(&ran_out));
        assert_eq!(bound_reason(&ran_out), "every step held");
        // Stopped by the machine: also a bound.
        let machine = curve(
            &[(10_000, true, false), (20_000, false, true)],
            "machine: open files (20000)",
        );
        assert!(only_a_lower_bound(&machine));
        assert_eq!(bound_reason(&machine), "limited by open files, 20000");
        let harness = curve(
            &[(50_000, true, false), (100_000, false, true)],
            "harness: injector fell 250 ms behind",
        );
        assert_eq!(bound_reason(&harness), "limited by the harness");
        // Broke on the SLO: the largest count that held is the figure.
        let broke = curve(&[(200, true, false), (2_000, false, false)], "slo: p99");
        assert!(!only_a_lower_bound(&broke));
    }

    #[test]
    fn max_bots_reads_a_bound_or_the_largest_count_that_held() {
        let measured = |c: &CapacityCurve| {
            Measured {
                idle: None,
                active: None,
                capacity: Some(c),
                rtt_ms: 0.0,
                always_on: Vec::new(),
                failed: None,
            }
            .measure(Metric::MaxBots, &Prices::default())
        };
        let ran_out = curve(&[(200, true, false), (2_000, true, false)], "end of steps");
        let r = measured(&ran_out).unwrap();
        assert_eq!((r.value, r.bound), (2000.0, Bound::AtLeast));
        assert_eq!(
            (r.figure.as_str(), r.detail.as_str()),
            ("≥ 2,000", "every step held")
        );
        let broke = curve(&[(200, true, false), (2_000, false, false)], "slo: p99");
        let r = measured(&broke).unwrap();
        assert_eq!(
            (r.value, r.bound, r.figure.as_str()),
            (200.0, Bound::Exact, "200")
        );
        let none = curve(&[(200, false, false)], "slo: p99");
        assert_eq!(measured(&none).unwrap().figure, "none met the SLO");
        // The harness stopped the first step: no figure of the SUT, the reason instead.
        let first = curve(&[(500, false, true)], "harness: injection lag p99 176 ms");
        let r = measured(&first).unwrap();
        assert_eq!(
            (r.figure.as_str(), r.detail.as_str(), r.bound),
            ("not measured", "limited by the harness", Bound::AtLeast)
        );
    }

    #[test]
    fn constant_cpu_is_judged_on_5_second_windows_not_quantised_samples() {
        // 250 ms samples of a process using 2.5 % of a core: ticks show as 0 or 10 %.
        let ts: Vec<Sample> = (0..80)
            .map(|i| Sample {
                t_s: i as f64 * 0.25,
                cpu_pct: if i % 4 == 0 { 10.0 } else { 0.0 },
                ..Default::default()
            })
            .collect();
        let w = cpu_windows(&ts, 5.0);
        assert_eq!(w.len(), 4);
        assert!(w.iter().all(|x| (*x - 2.5).abs() < 1e-9), "{w:?}");
        assert!(cpu_windows(&[], 5.0).is_empty());
        // A last sample at 20.0 s opens a fifth window of one idle sample: left out.
        let mut tail = ts.clone();
        tail.push(Sample {
            t_s: 20.0,
            cpu_pct: 0.0,
            ..Default::default()
        });
        assert_eq!(cpu_windows(&tail, 5.0), w);
    }

    #[test]
    fn a_margin_is_the_runs_spread_from_three_runs_else_the_resolution() {
        // One run: ± the resolution, never below 0.
        let (i, basis) = margin(0.74, &[0.74], 0.033);
        assert!(
            (i.0 - 0.707).abs() < 1e-9 && (i.1 - 0.773).abs() < 1e-9,
            "{i:?}"
        );
        assert_eq!(basis, "sampler resolution");
        assert_eq!(margin(0.0, &[0.0], 0.033).0, (0.0, 0.033));
        // Two runs cannot give an interval: still the resolution.
        assert_eq!(margin(1.0, &[0.5, 1.5], 0.0).1, "sampler resolution");
        // Three runs on either side of 1 %: the interval spans them.
        let (i, basis) = margin(0.9, &[0.74, 0.9, 3.03], 0.033);
        assert_eq!(basis, "3 runs");
        assert!(i.0 <= 0.74 - 0.033 + 1e-9 && i.1 >= 0.9 + 0.033, "{i:?}");
        assert!(i.0 < 1.0 && i.1 > 1.0, "straddles 1 %: {i:?}");
        // CPU ticks: 30 s windows know a mean to 1/30 % of a core.
        assert!((cpu_resolution_pct(30.0) - 0.0333).abs() < 1e-3);
    }

    #[test]
    fn figures_are_scaled_to_the_claimed_bot_count() {
        assert_eq!(scale(100), 1.0);
        assert_eq!(scale(20), 5.0);
        assert_eq!(scale(0), 1.0, "no bots: nothing to scale");
    }
}
