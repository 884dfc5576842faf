//! `tgbench claims`: the verdict table on the claims of the design document
//! (`shared/DESIGN.md`, "The claims under test").
//!
//! # Which runs are which configuration
//! Runs are found by `run.sut.name` (table [`CONFIGS`]) and `run.phase`: `"idle"` (bots
//! connected, no user messages) and `"active"` (the scenario's message load; without an
//! `"active"` run, a run with no phase counts as active). Capacity curves are found by
//! `capacity[].sut`; the runs of a file that holds capacity curves are the search's steps
//! and are not used as phases. When several files hold the same configuration and phase,
//! the last file wins. The aiogram columns
//! appear only when runs named `aiogram-polling` / `aiogram-webhook` exist; like every
//! other column they take part in the verdicts.
//!
//! # Verdict rules
//! 1. **A claimed figure accepts an interval** ([`Figure::accepted`]), with the claim's
//!    tolerance `t(x) = max(rel·x, abs)`:
//!    range `lo-hi` → `[lo − t(lo), hi + t(hi)]`; about `x` → `[x − t(x), x + t(x)]`;
//!    at least `x` → `[x − t(x), ∞)`; at most `x` → `(−∞, x + t(x)]`.
//!    Tolerances are listed per claim in [`CLAIMS`]: ±10 % for ranges and for the
//!    12,000 req/min model, ±50 % for round figures ("800 MB", "~100", "$20"), ±0.5
//!    percentage points for "0.5 %" CPU and +0.25 points for "0 %".
//! 2. **A cell** (one configuration) *holds* when its measured value lies in the accepted
//!    interval, *does not hold* when it lies outside. A value that is only a bound (a
//!    capacity search stopped by a limit of the test machine, not of the SUT) holds when
//!    every value it allows is accepted, does not hold when none is, and is *inconclusive*
//!    otherwise. Figures that grow with the number of bots (CPU %, requests per minute,
//!    always-on cost) are scaled linearly to the claim's [`CLAIM_BOTS`] bots when fewer or
//!    more bots ran; memory, latency and capacity are never scaled.
//! 3. **A row** groups cells by side: the polling figure is judged on polling
//!    configurations, the webhook figure on webhook ones (a claim about both judges every
//!    configuration). Inconclusive and unmeasured cells are left out. Then:
//!    *holds* when every judged cell holds; *does not hold* when on some side no cell
//!    holds; otherwise *holds only when* the configurations where it held, per side whose
//!    cells disagreed; *not measured* / *inconclusive* when a side has no decided cell.
//!
//! Each rule is unit-tested below; `reports/tests/claims.rs` checks whole tables.

use std::fmt;
use std::fmt::Write as _;

use crate::cost::{Prices, Usage, monthly_cost, servers_for};
use crate::results::CapacityCurve;
use crate::rows::{Input, Row, rows};
use crate::table::{Cell, Table, Tone};
use crate::text::{count, escape, num, usd};

/// The bot count the claims are stated for ("100 active user bots on one server").
pub const CLAIM_BOTS: u64 = 100;
/// The platform size of the horizontal-scaling claim.
pub const SCALING_BOTS: u64 = 10_000;
/// "Constant CPU": the idle phase is cut into windows of this many seconds (long enough
/// that the kernel's 10 ms CPU ticks do not quantise a sample to 0 or 4 %)…
pub const CONSTANT_CPU_WINDOW_S: f64 = 5.0;
/// …and a window counts as busy at or above this mean CPU (% of one core, for
/// [`CLAIM_BOTS`] bots). The claim holds when at least 80 % of the windows are busy.
pub const CONSTANT_CPU_MIN_PCT: f64 = 1.0;

/// Mean CPU of consecutive `window_s`-second windows of a timeseries (by `t_s`).
fn cpu_windows(ts: &[crate::results::Sample], window_s: f64) -> Vec<f64> {
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
    out.into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(sum, n)| sum / n as f64)
        .collect()
}

/// Which side of the claims table a configuration is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Polling,
    Webhook,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Polling => "polling",
            Side::Webhook => "webhook",
        })
    }
}

/// A configuration measured for the claims: the SUT name its runs carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// `run.sut.name` and `capacity[].sut` of its runs.
    pub name: &'static str,
    pub side: Side,
    /// Column header.
    pub label: &'static str,
    /// As reasons name it.
    pub short: &'static str,
    /// How "holds only when …" names it.
    pub when: &'static str,
    /// Shown only when runs of it exist (the aiogram stack).
    pub optional: bool,
}

/// The configurations, in column order. Change names here when the scenarios change.
pub const CONFIGS: &[Config] = &[
    Config {
        name: "long-polling-30s",
        side: Side::Polling,
        label: "long polling 30 s",
        short: "long polling",
        when: "polling is long polling (30 s timeout)",
        optional: false,
    },
    Config {
        name: "short-polling-500ms",
        side: Side::Polling,
        label: "short polling 500 ms (anti-spin, as Telegram)",
        short: "short polling",
        when: "polling is short polling (500 ms) with Telegram's anti-spin rule",
        optional: false,
    },
    Config {
        name: "short-polling-500ms-no-antispin",
        side: Side::Polling,
        label: "short polling 500 ms, no anti-spin",
        short: "short polling, no anti-spin",
        when: "polling is short polling (500 ms) without anti-spin",
        optional: false,
    },
    Config {
        name: "webhook",
        side: Side::Webhook,
        label: "webhook",
        short: "webhook",
        when: "the webhook replies with a sendMessage call",
        optional: false,
    },
    Config {
        name: "webhook-reply-in-response",
        side: Side::Webhook,
        label: "webhook, reply in response",
        short: "webhook, reply in response",
        when: "the webhook replies in the HTTP response",
        optional: false,
    },
    Config {
        name: "aiogram-polling",
        side: Side::Polling,
        label: "aiogram polling",
        short: "aiogram polling",
        when: "the bots run on aiogram's polling",
        optional: true,
    },
    Config {
        name: "aiogram-webhook",
        side: Side::Webhook,
        label: "aiogram webhook",
        short: "aiogram webhook",
        when: "the bots run on aiogram's webhook",
        optional: true,
    },
];

/// What a claim states.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Claimed {
    Range(f64, f64),
    About(f64),
    AtLeast(f64),
    AtMost(f64),
}

/// A claimed figure with its tolerance `max(rel·x, abs)` (rule 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figure {
    pub claimed: Claimed,
    pub rel: f64,
    pub abs: f64,
    /// As the claim words it: "15-20 %".
    pub text: &'static str,
}

/// What a measured value is: exact, or only a bound on the true value (rule 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Exact,
    /// The true value is at least this (e.g. max bots when the machine ran out first).
    AtLeast,
    /// The true value is at most this.
    AtMost,
}

/// One configuration's outcome on one claimed figure.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Holds,
    Fails,
    Inconclusive,
    NotMeasured,
    /// The claim does not speak about this configuration's side.
    NotApplicable,
}

impl Figure {
    const fn new(claimed: Claimed, rel: f64, abs: f64, text: &'static str) -> Self {
        Self {
            claimed,
            rel,
            abs,
            text,
        }
    }

    fn tol(&self, x: f64) -> f64 {
        (self.rel * x.abs()).max(self.abs)
    }

    /// The interval of measured values that count as the claim holding (rule 1).
    pub fn accepted(&self) -> (f64, f64) {
        match self.claimed {
            Claimed::Range(lo, hi) => (lo - self.tol(lo), hi + self.tol(hi)),
            Claimed::About(x) => (x - self.tol(x), x + self.tol(x)),
            Claimed::AtLeast(x) => (x - self.tol(x), f64::INFINITY),
            Claimed::AtMost(x) => (f64::NEG_INFINITY, x + self.tol(x)),
        }
    }

    /// Rule 2: holds, fails, or (for a bound) inconclusive.
    pub fn judge(&self, value: f64, bound: Bound) -> Outcome {
        if value.is_nan() {
            return Outcome::NotMeasured;
        }
        let (a, b) = self.accepted();
        let (lo, hi) = match bound {
            Bound::Exact => (value, value),
            Bound::AtLeast => (value, f64::INFINITY),
            Bound::AtMost => (f64::NEG_INFINITY, value),
        };
        if lo >= a && hi <= b {
            Outcome::Holds
        } else if hi < a || lo > b {
            Outcome::Fails
        } else {
            Outcome::Inconclusive
        }
    }
}

/// What is measured for a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Mean CPU of the idle phase, % of one core, scaled to [`CLAIM_BOTS`].
    IdleCpu,
    /// Peak RSS over the idle and active phases, MB.
    Memory,
    /// Requests per minute of the active phase (SUT → mock plus deliveries), scaled.
    RequestsPerMin,
    /// p50 latency of the active phase, ms.
    LatencyP50,
    /// Largest bot count meeting the SLO in the capacity search.
    MaxBots,
    /// Always-on monthly cost of the active phase's usage, scaled, assumed prices.
    MonthlyCost,
    /// Share (%) of idle [`CONSTANT_CPU_WINDOW_S`] windows at or above
    /// [`CONSTANT_CPU_MIN_PCT`] (scaled).
    ConstantCpu,
    /// Servers of the price file's size needed for [`SCALING_BOTS`] bots.
    ServersForScaling,
}

/// One claim of the design document.
#[derive(Debug, Clone, Copy)]
pub struct ClaimSpec {
    pub claim: &'static str,
    pub metric: Metric,
    pub polling: Option<Figure>,
    pub webhook: Option<Figure>,
    /// A figure judged on every configuration, whatever its side.
    pub any: Option<Figure>,
}

use Claimed::{About, AtLeast, AtMost, Range};

/// The claims, one row each, with their tolerances (rule 1).
pub const CLAIMS: &[ClaimSpec] = &[
    ClaimSpec {
        claim: "CPU usage when idle: polling 15-20 %, webhook 0.5 %",
        metric: Metric::IdleCpu,
        polling: Some(Figure::new(Range(15.0, 20.0), 0.10, 0.0, "15-20 %")),
        webhook: Some(Figure::new(About(0.5), 0.0, 0.5, "0.5 %")),
        any: None,
    },
    ClaimSpec {
        claim: "Memory: polling 800 MB, webhook 200 MB",
        metric: Metric::Memory,
        polling: Some(Figure::new(About(800.0), 0.5, 0.0, "800 MB")),
        webhook: Some(Figure::new(About(200.0), 0.5, 0.0, "200 MB")),
        any: None,
    },
    ClaimSpec {
        claim: "Network requests per minute: polling 12,000, webhook ~100",
        metric: Metric::RequestsPerMin,
        polling: Some(Figure::new(About(12_000.0), 0.10, 0.0, "12,000/min")),
        webhook: Some(Figure::new(About(100.0), 0.5, 0.0, "~100/min")),
        any: None,
    },
    ClaimSpec {
        claim: "Response latency: polling 1-2 s, webhook 0.1-0.3 s",
        metric: Metric::LatencyP50,
        polling: Some(Figure::new(Range(1000.0, 2000.0), 0.10, 0.0, "1-2 s")),
        webhook: Some(Figure::new(Range(100.0, 300.0), 0.10, 0.0, "0.1-0.3 s")),
        any: None,
    },
    ClaimSpec {
        claim: "Max bots per server: polling 200, webhook 2,000+",
        metric: Metric::MaxBots,
        polling: Some(Figure::new(About(200.0), 0.5, 0.0, "200")),
        webhook: Some(Figure::new(AtLeast(2000.0), 0.0, 0.0, "2,000+")),
        any: None,
    },
    ClaimSpec {
        claim: "Server cost: polling $100/month, webhook $20/month",
        metric: Metric::MonthlyCost,
        polling: Some(Figure::new(About(100.0), 0.5, 0.0, "$100/mo")),
        webhook: Some(Figure::new(About(20.0), 0.5, 0.0, "$20/mo")),
        any: None,
    },
    ClaimSpec {
        claim: "Polling costs \"constant CPU\"",
        metric: Metric::ConstantCpu,
        polling: Some(Figure::new(
            AtLeast(80.0),
            0.0,
            0.0,
            "≥ 1 % CPU in ≥ 80 % of 5 s idle windows",
        )),
        webhook: None,
        any: None,
    },
    ClaimSpec {
        claim: "Polling has a \"1-30 s delay\"",
        metric: Metric::LatencyP50,
        polling: Some(Figure::new(Range(1000.0, 30_000.0), 0.10, 0.0, "1-30 s")),
        webhook: None,
        any: None,
    },
    ClaimSpec {
        claim: "Webhook is \"0 % CPU when idle\"",
        metric: Metric::IdleCpu,
        polling: None,
        webhook: Some(Figure::new(AtMost(0.0), 0.0, 0.25, "0 %")),
        any: None,
    },
    ClaimSpec {
        claim: "10,000 bots \"need horizontal scaling\"",
        metric: Metric::ServersForScaling,
        polling: None,
        webhook: None,
        any: Some(Figure::new(AtLeast(2.0), 0.0, 0.0, "≥ 2 servers")),
    },
];

/// A row's verdict (rule 3).
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Holds,
    DoesNotHold,
    /// "holds only when …": the conditions under which it held.
    HoldsOnlyWhen(String),
    Inconclusive,
    NotMeasured,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Holds => f.write_str("holds"),
            Verdict::DoesNotHold => f.write_str("does not hold"),
            Verdict::HoldsOnlyWhen(c) => write!(f, "holds only when {c}"),
            Verdict::Inconclusive => f.write_str("inconclusive"),
            Verdict::NotMeasured => f.write_str("not measured"),
        }
    }
}

impl Verdict {
    fn tone(&self) -> Tone {
        match self {
            Verdict::Holds => Tone::Good,
            Verdict::DoesNotHold => Tone::Bad,
            Verdict::HoldsOnlyWhen(_) | Verdict::Inconclusive => Tone::Warn,
            Verdict::NotMeasured => Tone::Muted,
        }
    }
}

/// One configuration's measured figure on one claim.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimCell {
    pub config: &'static str,
    pub value: Option<f64>,
    /// The figure with its unit ("3.20 %", "≥ 9,000"), as reasons quote it.
    pub figure: String,
    /// As the cell shows it: the figure and any detail ("≥ 9,000 (machine limit)").
    pub text: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRow {
    pub claim: &'static str,
    pub cells: Vec<ClaimCell>,
    pub verdict: Verdict,
    pub reason: String,
}

/// Monthly cost and scaling of one configuration (assumed prices).
#[derive(Debug, Clone, PartialEq)]
pub struct CostLine {
    pub config: &'static str,
    pub vcpu: f64,
    pub memory_gb: f64,
    pub always_on: f64,
    pub serverless: Option<f64>,
    pub max_bots: Option<u64>,
    pub servers_for_scaling: Option<u64>,
    pub scaling_monthly: Option<f64>,
    pub scaling_upper_bound: bool,
}

/// How and where the claims were measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaimsContext {
    pub machine: String,
    pub rtt: String,
    /// Distinct bot counts of the runs used.
    pub bots: Vec<u64>,
    pub git_revision: String,
}

/// The verdict table: render with [`ClaimsTable::to_markdown`] / [`ClaimsTable::to_html`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimsTable {
    pub context: ClaimsContext,
    pub columns: Vec<&'static Config>,
    pub rows: Vec<ClaimRow>,
    pub costs: Vec<CostLine>,
    pub currency: String,
}

/// The runs of one configuration.
struct Measured<'a> {
    idle: Option<Row<'a>>,
    active: Option<Row<'a>>,
    capacity: Option<&'a CapacityCurve>,
    rtt_ms: f64,
}

fn scale(bots: u64) -> f64 {
    if bots == 0 {
        1.0
    } else {
        CLAIM_BOTS as f64 / bots as f64
    }
}

fn ms_text(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{} s", num(ms / 1000.0))
    } else {
        format!("{} ms", num(ms))
    }
}

/// One measured figure of one configuration.
struct Reading {
    value: f64,
    bound: Bound,
    figure: String,
    detail: String,
}

impl Reading {
    fn new(value: f64, bound: Bound, figure: String, detail: String) -> Self {
        Self {
            value,
            bound,
            figure,
            detail,
        }
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
fn only_a_lower_bound(c: &CapacityCurve) -> bool {
    machine_limited(c) || c.steps.last().is_some_and(|s| s.passed)
}

/// Why a curve's figure is a bound, in a word or two.
fn bound_reason(c: &CapacityCurve) -> String {
    if machine_limited(c) {
        "machine limit".into()
    } else {
        "every step held".into()
    }
}

impl Measured<'_> {
    fn is_empty(&self) -> bool {
        self.idle.is_none() && self.active.is_none() && self.capacity.is_none()
    }

    /// The value, whether it is a bound, the figure with its unit and a detail;
    /// `None` when not measured.
    fn measure(&self, metric: Metric, prices: &Prices) -> Option<Reading> {
        let exact = |v: f64, t: String| Some(Reading::new(v, Bound::Exact, t, String::new()));
        match metric {
            Metric::IdleCpu => {
                let r = self.idle.as_ref()?;
                let v = r.cpu.mean_pct * scale(r.bots);
                exact(v, format!("{} %", num(v)))
            }
            Metric::Memory => {
                let peak = [self.idle.as_ref(), self.active.as_ref()]
                    .into_iter()
                    .flatten()
                    .map(|r| r.memory.rss_peak_mb)
                    .reduce(f64::max)?;
                exact(peak, format!("{} MB", num(peak)))
            }
            Metric::RequestsPerMin => {
                let r = self.active.as_ref().or(self.idle.as_ref())?;
                let v = r.requests_per_min * scale(r.bots);
                exact(v, format!("{}/min", num(v)))
            }
            Metric::LatencyP50 => {
                let r = self.active.as_ref()?;
                if r.latency.count == 0 {
                    return None;
                }
                Some(Reading::new(
                    r.latency.p50,
                    Bound::Exact,
                    ms_text(r.latency.p50),
                    format!("p50; p99 {}", ms_text(r.latency.p99)),
                ))
            }
            Metric::MaxBots => {
                let c = self.capacity?;
                let v = c.max_bots.unwrap_or(0);
                if only_a_lower_bound(c) {
                    Some(Reading::new(
                        v as f64,
                        Bound::AtLeast,
                        format!("≥ {}", count(v)),
                        bound_reason(c),
                    ))
                } else if c.max_bots.is_none() {
                    exact(0.0, "none met the SLO".into())
                } else {
                    exact(v as f64, count(v))
                }
            }
            Metric::MonthlyCost => {
                let r = self.active.as_ref()?;
                let c = monthly_cost(&Usage::of_row(r, self.rtt_ms, scale(r.bots)), prices);
                exact(c.always_on, format!("{}/mo", usd(c.always_on)))
            }
            Metric::ConstantCpu => {
                let r = self.idle.as_ref()?;
                let ts = &r.runs[0].timeseries;
                if ts.is_empty() {
                    return None;
                }
                let s = scale(r.bots);
                let windows = cpu_windows(ts, CONSTANT_CPU_WINDOW_S);
                let busy = windows
                    .iter()
                    .filter(|w| *w * s >= CONSTANT_CPU_MIN_PCT)
                    .count();
                let share = busy as f64 * 100.0 / windows.len() as f64;
                Some(Reading::new(
                    share,
                    Bound::Exact,
                    format!("{} % of windows", num(share)),
                    format!("mean {} % CPU", num(r.cpu.mean_pct * s)),
                ))
            }
            Metric::ServersForScaling => {
                let c = self.capacity?;
                let limited = only_a_lower_bound(c);
                let plan = servers_for(SCALING_BOTS, c.max_bots, limited, prices);
                match plan.servers {
                    None => exact(f64::INFINITY, "no step met the SLO".into()),
                    Some(n) if limited => Some(Reading::new(
                        n as f64,
                        Bound::AtMost,
                        format!("≤ {}", servers_text(n)),
                        bound_reason(c),
                    )),
                    Some(n) => exact(n as f64, servers_text(n)),
                }
            }
        }
    }
}

/// Builds the verdict table from the claims scenarios' results (runs identified as in the
/// module doc) and a price file.
pub fn claims_table(inputs: &[Input], prices: &Prices) -> ClaimsTable {
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
    let measured: Vec<(&'static Config, Measured<'_>)> = CONFIGS
        .iter()
        .map(|c| {
            let idle = find(c.name, Some("idle"));
            let active = find(c.name, Some("active")).or_else(|| find(c.name, None));
            let capacity = inputs
                .iter()
                .flat_map(|i| i.results.capacity.iter())
                .rfind(|k| k.sut == c.name);
            let rtt_ms = active
                .as_ref()
                .or(idle.as_ref())
                .map_or(0.0, |r| rtt_of(r.input));
            (
                c,
                Measured {
                    idle,
                    active,
                    capacity,
                    rtt_ms,
                },
            )
        })
        .filter(|(c, m)| !c.optional || !m.is_empty())
        .collect();

    let rows = CLAIMS
        .iter()
        .map(|spec| {
            let cells: Vec<ClaimCell> = measured
                .iter()
                .map(|(c, m)| {
                    let figure = spec.any.or(match c.side {
                        Side::Polling => spec.polling,
                        Side::Webhook => spec.webhook,
                    });
                    let got = m.measure(spec.metric, prices);
                    let outcome = match (figure, &got) {
                        (None, _) => Outcome::NotApplicable,
                        (Some(_), None) => Outcome::NotMeasured,
                        (Some(f), Some(r)) => f.judge(r.value, r.bound),
                    };
                    let (value, figure, text) = match got {
                        Some(r) => {
                            let text = if r.detail.is_empty() {
                                r.figure.clone()
                            } else {
                                format!("{} ({})", r.figure, r.detail)
                            };
                            (Some(r.value), r.figure, text)
                        }
                        None if outcome == Outcome::NotMeasured => {
                            (None, String::new(), "not measured".into())
                        }
                        None => (None, String::new(), "–".into()),
                    };
                    ClaimCell {
                        config: c.name,
                        value,
                        figure,
                        text,
                        outcome,
                    }
                })
                .collect();
            let (verdict, reason) = verdict(spec, &cells);
            ClaimRow {
                claim: spec.claim,
                cells,
                verdict,
                reason,
            }
        })
        .collect();

    let costs = measured
        .iter()
        .filter(|(_, m)| m.active.is_some() || m.capacity.is_some())
        .map(|(c, m)| {
            let mc = m
                .active
                .as_ref()
                .map(|r| monthly_cost(&Usage::of_row(r, m.rtt_ms, scale(r.bots)), prices));
            let plan = m
                .capacity
                .map(|k| servers_for(SCALING_BOTS, k.max_bots, only_a_lower_bound(k), prices));
            CostLine {
                config: c.name,
                vcpu: mc.as_ref().map_or(f64::NAN, |x| x.vcpu),
                memory_gb: mc.as_ref().map_or(f64::NAN, |x| x.memory_gb),
                always_on: mc.as_ref().map_or(f64::NAN, |x| x.always_on),
                serverless: mc.as_ref().and_then(|x| x.serverless),
                max_bots: m.capacity.and_then(|k| k.max_bots),
                servers_for_scaling: plan.as_ref().and_then(|p| p.servers),
                scaling_monthly: plan.as_ref().and_then(|p| p.monthly),
                scaling_upper_bound: plan.as_ref().is_some_and(|p| p.upper_bound),
            }
        })
        .collect();

    ClaimsTable {
        context: context(inputs, &measured),
        columns: measured.iter().map(|(c, _)| *c).collect(),
        rows,
        costs,
        currency: prices.currency.clone(),
    }
}

fn context(inputs: &[Input], measured: &[(&'static Config, Measured<'_>)]) -> ClaimsContext {
    let mut bots: Vec<u64> = measured
        .iter()
        .flat_map(|(_, m)| [m.idle.as_ref(), m.active.as_ref()])
        .flatten()
        .map(|r| r.bots)
        .collect();
    bots.sort_unstable();
    bots.dedup();
    let mut rtts: Vec<String> = inputs
        .iter()
        .map(|i| {
            let t = &i.results.scenario.telegram;
            format!("{} ms ± {} ms", num(t.rtt_ms), num(t.jitter_ms))
        })
        .collect();
    rtts.dedup();
    let machine = inputs.first().map_or_else(String::new, |i| {
        let e = &i.results.environment;
        let mut s = format!("{} cores, {}, {}", e.cores, e.cpu_model, e.os);
        if !e.pinning.is_empty() {
            s.push_str(&format!(" ({})", e.pinning));
        }
        s
    });
    ClaimsContext {
        machine,
        rtt: rtts.join(", "),
        bots,
        git_revision: inputs
            .first()
            .map(|i| i.results.environment.git_revision.clone())
            .unwrap_or_default(),
    }
}

fn config(name: &str) -> &'static Config {
    CONFIGS
        .iter()
        .find(|c| c.name == name)
        .expect("cells name known configurations")
}

/// Rule 3, with its one-line reason.
pub fn verdict(spec: &ClaimSpec, cells: &[ClaimCell]) -> (Verdict, String) {
    struct SideCells<'c> {
        name: String,
        figure: Figure,
        decided: Vec<&'c ClaimCell>,
        undecided: usize,
    }
    let mut sides: Vec<SideCells<'_>> = Vec::new();
    type Pick = Box<dyn Fn(&Config) -> bool>;
    let groups: Vec<(String, Figure, Pick)> = match spec.any {
        Some(f) => vec![("every transport".into(), f, Box::new(|_: &Config| true))],
        None => [(Side::Polling, spec.polling), (Side::Webhook, spec.webhook)]
            .into_iter()
            .filter_map(|(side, f)| {
                f.map(|f| {
                    let pick: Pick = Box::new(move |c: &Config| c.side == side);
                    (side.to_string(), f, pick)
                })
            })
            .collect(),
    };
    for (name, figure, pick) in groups {
        let mine: Vec<&ClaimCell> = cells.iter().filter(|c| pick(config(c.config))).collect();
        sides.push(SideCells {
            name,
            figure,
            decided: mine
                .iter()
                .copied()
                .filter(|c| matches!(c.outcome, Outcome::Holds | Outcome::Fails))
                .collect(),
            undecided: mine
                .iter()
                .filter(|c| c.outcome == Outcome::Inconclusive)
                .count(),
        });
    }
    // "21.0 MB to 26.0 MB": the lowest and highest figure of some cells.
    let range = |cs: &[&ClaimCell]| {
        let mut v: Vec<&&ClaimCell> = cs.iter().collect();
        v.sort_by(|a, b| a.value.unwrap_or(0.0).total_cmp(&b.value.unwrap_or(0.0)));
        match (v.first(), v.last()) {
            (Some(lo), Some(hi)) if lo.figure != hi.figure => {
                format!("{} to {}", lo.figure, hi.figure)
            }
            (Some(one), _) => one.figure.clone(),
            _ => String::new(),
        }
    };
    // "short polling (4.00 %), long polling (0.30 %)".
    let names = |cs: &[&ClaimCell]| {
        cs.iter()
            .map(|c| format!("{} ({})", config(c.config).short, c.figure))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(s) = sides.iter().find(|s| s.decided.is_empty()) {
        return if s.undecided > 0 {
            (
                Verdict::Inconclusive,
                format!(
                    "{}: only bounds were measured (every step held, or a limit of the test machine came first)",
                    s.name
                ),
            )
        } else {
            (
                Verdict::NotMeasured,
                if spec.any.is_some() {
                    "no configuration was measured".to_owned()
                } else {
                    format!("no {} configuration was measured", s.name)
                },
            )
        };
    }
    fn with<'c>(s: &SideCells<'c>, o: Outcome) -> Vec<&'c ClaimCell> {
        s.decided
            .iter()
            .copied()
            .filter(|c| c.outcome == o)
            .collect()
    }
    let held = |s: &SideCells<'_>| with(s, Outcome::Holds).len();
    let none_held: Vec<&SideCells<'_>> = sides.iter().filter(|s| held(s) == 0).collect();
    if !none_held.is_empty() {
        let why = none_held
            .iter()
            .map(|s| {
                format!(
                    "{} claimed {}, measured {}",
                    s.name,
                    s.figure.text,
                    range(&s.decided)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        return (Verdict::DoesNotHold, why);
    }
    let mixed: Vec<&SideCells<'_>> = sides
        .iter()
        .filter(|s| !with(s, Outcome::Fails).is_empty())
        .collect();
    if mixed.is_empty() {
        let why = sides
            .iter()
            .map(|s| {
                format!(
                    "{} claimed {}, measured {}",
                    s.name,
                    s.figure.text,
                    range(&s.decided)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        return (Verdict::Holds, why);
    }
    let when = mixed
        .iter()
        .map(|s| {
            with(s, Outcome::Holds)
                .iter()
                .map(|c| config(c.config).when)
                .collect::<Vec<_>>()
                .join(" or ")
        })
        .collect::<Vec<_>>()
        .join(", and ");
    let why = mixed
        .iter()
        .map(|s| {
            format!(
                "{} claimed {}: met by {}; missed by {}",
                s.name,
                s.figure.text,
                names(&with(s, Outcome::Holds)),
                names(&with(s, Outcome::Fails))
            )
        })
        .collect::<Vec<_>>()
        .join(". ");
    (Verdict::HoldsOnlyWhen(when), why)
}

impl ClaimsTable {
    /// The verdict table as a [`Table`]: a row per claim, a column per configuration.
    pub fn table(&self) -> Table {
        let mut headers = vec!["claim".to_owned()];
        headers.extend(self.columns.iter().map(|c| c.label.to_owned()));
        headers.push("verdict".into());
        headers.push("why".into());
        let mut t = Table::new(headers);
        for row in &self.rows {
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
            cells.push(Cell::new(row.verdict.to_string(), row.verdict.tone()));
            cells.push(row.reason.as_str().into());
            t.push(cells);
        }
        t
    }

    /// Monthly cost per configuration and servers for [`SCALING_BOTS`] bots.
    pub fn cost_table(&self) -> Table {
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
        for c in &self.costs {
            let bound = if c.scaling_upper_bound { "≤ " } else { "" };
            t.push(vec![
                config(c.config).label.into(),
                format!("{} vCPU, {} GB", num(c.vcpu), num(c.memory_gb)).into(),
                usd(c.always_on).into(),
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

    /// One sentence: machine, RTT, bot counts, scaling.
    pub fn context_line(&self) -> String {
        let c = &self.context;
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
        s.push('.');
        if c.bots.iter().any(|b| *b != CLAIM_BOTS) {
            let _ = write!(
                s,
                " The claims are for {CLAIM_BOTS} bots: CPU, requests per minute and always-on cost are scaled linearly to {CLAIM_BOTS} bots; memory, latency and capacity are as measured."
            );
        }
        s
    }

    const RULES: &'static str = "A claimed range holds within ±10 %, a round figure (\"800 MB\", \"~100\", \"$20\") within ±50 %, \"0.5 %\" CPU within ±0.5 points, \"0 %\" up to 0.25 %. A row holds when every configuration of the side a figure speaks about meets it; it does not hold when no configuration of a side does; otherwise it holds only when the configurations that met it are used. Capacity cut short by a limit of the test machine is a bound and may leave a cell inconclusive (?). Latency is the p50 of the active phase; \"constant CPU\" means at least 1 % of a core in at least 80 % of the idle phase's 5 s windows.";

    const COST_NOTE: &'static str = "Prices are assumptions (reports/prices.toml: on-demand vCPU-hour and GB-hour, serverless per request and per GB-second), not quotes. Always-on: right-sized to the measured p95 CPU and peak RSS with headroom, smallest size 0.25 vCPU / 0.5 GB. Serverless: one invocation per webhook delivery.";

    pub fn to_markdown(&self) -> String {
        let mut s = String::from("## Claims under test: verdicts\n\n");
        let _ = writeln!(s, "{}\n", self.context_line());
        s.push_str(&self.table().to_markdown());
        let _ = writeln!(s, "\nHow verdicts are decided: {}\n", Self::RULES);
        let _ = writeln!(
            s,
            "### Cost per transport ({}, assumed prices)\n",
            self.currency
        );
        s.push_str(&self.cost_table().to_markdown());
        let _ = writeln!(s, "\n{}", Self::COST_NOTE);
        s
    }

    pub fn to_html(&self) -> String {
        let mut s = String::from(r#"<section id="claims"><h2>Claims under test: verdicts</h2>"#);
        let _ = write!(s, r#"<p class="note">{}</p>"#, escape(&self.context_line()));
        s.push_str(&self.table().to_html("claims cards"));
        let _ = write!(
            s,
            r#"<p class="note"><strong>How verdicts are decided.</strong> {}</p><h3>Cost per transport ({}, assumed prices)</h3>"#,
            escape(Self::RULES),
            escape(&self.currency)
        );
        s.push_str(&self.cost_table().to_html("costs cards"));
        let _ = write!(
            s,
            r#"<p class="note">{}</p></section>"#,
            escape(Self::COST_NOTE)
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(c: Claimed, rel: f64, abs: f64) -> Figure {
        Figure::new(c, rel, abs, "x")
    }

    #[test]
    fn a_range_holds_within_its_tolerance() {
        let f = fig(Range(15.0, 20.0), 0.10, 0.0);
        assert_eq!(f.accepted(), (13.5, 22.0));
        assert_eq!(f.judge(17.0, Bound::Exact), Outcome::Holds);
        assert_eq!(f.judge(13.5, Bound::Exact), Outcome::Holds);
        assert_eq!(f.judge(21.9, Bound::Exact), Outcome::Holds);
        assert_eq!(f.judge(13.4, Bound::Exact), Outcome::Fails);
        assert_eq!(f.judge(0.3, Bound::Exact), Outcome::Fails);
        assert_eq!(f.judge(f64::NAN, Bound::Exact), Outcome::NotMeasured);
    }

    #[test]
    fn about_uses_the_larger_of_relative_and_absolute_tolerance() {
        let mem = fig(About(800.0), 0.5, 0.0);
        assert_eq!(mem.accepted(), (400.0, 1200.0));
        let cpu = fig(About(0.5), 0.0, 0.5);
        assert_eq!(cpu.accepted(), (0.0, 1.0));
        assert_eq!(cpu.judge(0.0, Bound::Exact), Outcome::Holds);
        assert_eq!(cpu.judge(1.2, Bound::Exact), Outcome::Fails);
        let zero = fig(AtMost(0.0), 0.0, 0.25);
        assert_eq!(zero.judge(0.2, Bound::Exact), Outcome::Holds);
        assert_eq!(zero.judge(0.3, Bound::Exact), Outcome::Fails);
    }

    #[test]
    fn bounds_hold_fail_or_stay_inconclusive() {
        let at_least = fig(AtLeast(2000.0), 0.0, 0.0);
        assert_eq!(at_least.judge(2500.0, Bound::AtLeast), Outcome::Holds);
        assert_eq!(
            at_least.judge(1500.0, Bound::AtLeast),
            Outcome::Inconclusive
        );
        assert_eq!(at_least.judge(1500.0, Bound::Exact), Outcome::Fails);
        let about = fig(About(200.0), 0.5, 0.0);
        assert_eq!(about.judge(5000.0, Bound::AtLeast), Outcome::Fails);
        assert_eq!(about.judge(150.0, Bound::AtLeast), Outcome::Inconclusive);
        let servers = fig(AtLeast(2.0), 0.0, 0.0);
        assert_eq!(servers.judge(1.0, Bound::AtMost), Outcome::Fails);
        assert_eq!(servers.judge(3.0, Bound::AtMost), Outcome::Inconclusive);
        assert_eq!(servers.judge(f64::INFINITY, Bound::Exact), Outcome::Holds);
    }

    fn cell(config: &'static str, outcome: Outcome) -> ClaimCell {
        ClaimCell {
            config,
            value: Some(1.0),
            figure: "1".into(),
            text: "1".into(),
            outcome,
        }
    }

    const IDLE: &ClaimSpec = &CLAIMS[0];

    fn curve(steps: &[(u64, bool, bool)], stopped_by: &str) -> CapacityCurve {
        use crate::results::CapacityStep;
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
        assert_eq!(bound_reason(&machine), "machine limit");
        // Broke on the SLO: the largest count that held is the figure.
        let broke = curve(&[(200, true, false), (2_000, false, false)], "slo: p99");
        assert!(!only_a_lower_bound(&broke));
    }

    #[test]
    fn a_row_holds_when_every_side_holds_everywhere() {
        let cells = [
            cell("long-polling-30s", Outcome::Holds),
            cell("webhook", Outcome::Holds),
            cell("webhook-reply-in-response", Outcome::NotMeasured),
        ];
        assert_eq!(verdict(IDLE, &cells).0, Verdict::Holds);
    }

    #[test]
    fn a_row_does_not_hold_when_a_side_never_holds() {
        let cells = [
            cell("long-polling-30s", Outcome::Fails),
            cell("short-polling-500ms", Outcome::Fails),
            cell("webhook", Outcome::Holds),
        ];
        let (v, why) = verdict(IDLE, &cells);
        assert_eq!(v, Verdict::DoesNotHold);
        assert!(why.starts_with("polling claimed 15-20 %"), "{why}");
    }

    #[test]
    fn a_row_holds_only_when_the_configurations_that_met_it_are_used() {
        let cells = [
            cell("long-polling-30s", Outcome::Fails),
            cell("short-polling-500ms-no-antispin", Outcome::Holds),
            cell("webhook", Outcome::Holds),
            cell("webhook-reply-in-response", Outcome::Holds),
        ];
        let (v, why) = verdict(IDLE, &cells);
        assert_eq!(
            v,
            Verdict::HoldsOnlyWhen("polling is short polling (500 ms) without anti-spin".into())
        );
        assert!(
            why.contains("missed by long polling (1)"),
            "reason names the failing configuration: {why}"
        );
    }

    #[test]
    fn rows_without_decided_cells_say_so() {
        let cells = [
            cell("long-polling-30s", Outcome::NotMeasured),
            cell("webhook", Outcome::Holds),
        ];
        assert_eq!(verdict(IDLE, &cells).0, Verdict::NotMeasured);
        let max_bots = &CLAIMS[4];
        let cells = [
            cell("long-polling-30s", Outcome::Holds),
            cell("webhook", Outcome::Inconclusive),
        ];
        assert_eq!(verdict(max_bots, &cells).0, Verdict::Inconclusive);
    }

    #[test]
    fn a_claim_about_every_transport_judges_all_columns() {
        let scaling = CLAIMS
            .iter()
            .find(|c| c.metric == Metric::ServersForScaling)
            .unwrap();
        let cells = [
            cell("long-polling-30s", Outcome::Holds),
            cell("webhook", Outcome::Fails),
        ];
        let (v, _) = verdict(scaling, &cells);
        assert_eq!(
            v,
            Verdict::HoldsOnlyWhen("polling is long polling (30 s timeout)".into())
        );
    }

    #[test]
    fn constant_cpu_is_judged_on_5_second_windows_not_quantised_samples() {
        use crate::results::Sample;
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
    }

    #[test]
    fn every_claim_of_the_design_document_has_a_row() {
        assert_eq!(CLAIMS.len(), 10);
        for c in CLAIMS {
            assert!(c.polling.is_some() || c.webhook.is_some() || c.any.is_some());
        }
        let names: Vec<&str> = CONFIGS.iter().map(|c| c.name).collect();
        for n in [
            "long-polling-30s",
            "short-polling-500ms",
            "short-polling-500ms-no-antispin",
            "webhook",
            "webhook-reply-in-response",
            "aiogram-polling",
            "aiogram-webhook",
        ] {
            assert!(names.contains(&n), "{n}");
        }
    }
}
