//! `tgbench claims`: a verdict on each claim of the polling-vs-webhook design document,
//! from the results of the claims scenarios.
//!
//! [`claims_table`] finds each configuration's runs in the results, measures each claim's
//! figure on each configuration, judges every cell and every row, and prices each
//! configuration: a [`ClaimsTable`]. The report formats render it on top of `report.md` and
//! `report.html` ([`crate::report::Report::claims`]).
//!
//! # Layout
//! - [`spec`]: the claims, their tolerances, the configurations and the names of their SUTs
//!   and phases — what one edits when a claim changes;
//! - [`measure`]: which runs are which configuration, and each configuration's figure per
//!   claim (scaled to [`CLAIM_BOTS`] bots where it grows with them);
//! - [`verdict`]: the rules, each unit-tested there; `reports/tests/claims.rs` checks whole
//!   tables;
//! - [`frameworks`]: the framework comparison of a `--stack` run (what each framework is and
//!   what it cost, as measured).

pub mod frameworks;
pub mod measure;
pub mod spec;
pub mod verdict;

pub use spec::{
    CLAIM_BOTS, CLAIMS, CONFIGS, CONSTANT_CPU_MIN_PCT, CONSTANT_CPU_WINDOW_S, ClaimSpec, Claimed,
    Config, Figure, Metric, SCALING_BOTS, Side, phase, sut,
};
pub use verdict::{Bound, Outcome, Verdict, verdict};

use crate::cost::{Prices, Usage, monthly_cost, servers_for};
use crate::decision::{Candidate, Decision, decide};
use crate::rows::Input;
use crate::text::{count, num};
use measure::{
    Measured, always_on_curves, measure_configs, only_a_lower_bound, scale, serverless_monthly,
};

/// One configuration's measured figure on one claim.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimCell {
    pub config: &'static str,
    pub value: Option<f64>,
    /// The figure with its unit ("3.20 %", "≥ 9,000"), as reasons quote it.
    pub figure: String,
    /// As the cell shows it: the figure and any detail ("≥ 9,000 (limited by open files, 20000)").
    pub text: String,
    pub outcome: Outcome,
    /// An inconclusive figure's margin and the threshold it straddles
    /// ("0.55 % to 1.20 % (3 runs) straddles 1 %").
    pub straddles: Option<String>,
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
    /// Which shape the runs were measured in ([`transport_security`]), per input file.
    pub transport: String,
    /// A load that replaced the scenario's (`tgbench claims --load`, [`replaced_load`]),
    /// per input file; empty when every run had its scenario's own.
    pub load: String,
}

/// What marks a scenario whose `[load]` was replaced from a file: its results'
/// `scenario.file` is `<scenario> + [load] from <file>`.
pub const LOAD_FROM: &str = " + [load] from ";

/// "from FILE: poisson, 6 per bot per minute, Zipf 1.1, daily curve (peak hour 20, trough
/// 0.1, day 60 s)" when the results' load was replaced from a file ([`LOAD_FROM`]).
pub fn replaced_load(r: &crate::results::Results) -> Option<String> {
    let (_, file) = r.scenario.file.split_once(LOAD_FROM)?;
    let l = &r.scenario.load;
    let n = |key: &str| l.get(key).and_then(serde_json::Value::as_f64);
    let mut parts = vec![
        l.get("model")
            .and_then(|m| m.as_str())
            .unwrap_or("idle")
            .to_owned(),
    ];
    if let Some(rate) = n("messages_per_bot_per_min").filter(|r| *r > 0.0) {
        parts.push(format!("{rate} per bot per minute"));
    }
    if let Some(z) = n("zipf_s").filter(|z| *z > 0.0) {
        parts.push(format!("Zipf {z}"));
    }
    if let Some(d) = l.get("diurnal") {
        let d = |key: &str| d.get(key).and_then(serde_json::Value::as_f64);
        let shape = match (d("peak_hour"), d("trough_ratio")) {
            (Some(peak), Some(trough)) => format!("peak hour {peak}, trough {trough}, "),
            _ => "hourly weights, ".to_owned(),
        };
        parts.push(format!(
            "daily curve ({shape}day {} s)",
            d("day_s").map_or_else(|| "?".to_owned(), |v| v.to_string())
        ));
    }
    Some(format!("from {file}: {}", parts.join(", ")))
}

/// Which shape each SUT ran in: HTTPS on both sides (`runs[].tls`) or plain HTTP, and
/// which webhook servers sat behind a proxy (`sut.proxy`).
pub fn transport_security(r: &crate::results::Results) -> String {
    let proxied = sut_names(r, |run| run.sut.proxy.is_some());
    let security = tls_shape(r);
    if proxied.is_empty() {
        security
    } else {
        format!("{security}; behind nginx: {}", proxied.join(", "))
    }
}

/// The names of the SUTs whose runs match `pred`, each once (runs of one SUT are adjacent).
fn sut_names(
    r: &crate::results::Results,
    pred: impl Fn(&crate::results::Run) -> bool,
) -> Vec<&str> {
    let mut v: Vec<&str> = r
        .runs
        .iter()
        .filter(|x| pred(x))
        .map(|x| x.sut.name.as_str())
        .collect();
    v.dedup();
    v
}

/// HTTPS on both sides or plain HTTP, per SUT.
fn tls_shape(r: &crate::results::Results) -> String {
    let https = sut_names(r, |run| run.tls.is_some());
    let plain = sut_names(r, |run| run.tls.is_none());
    match (https.is_empty(), plain.is_empty()) {
        (false, true) => "HTTPS on both sides (Bot API and webhooks, a test CA per SUT run)".into(),
        (false, false) => format!(
            "HTTPS on both sides for {}; plain HTTP for {}",
            https.join(", "),
            plain.join(", ")
        ),
        _ if r.scenario.telegram.tls => "HTTPS on both sides".into(),
        _ => "plain HTTP on both sides".into(),
    }
}

/// The verdict table; the report formats render it ([`crate::report::Report::claims`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimsTable {
    pub context: ClaimsContext,
    pub columns: Vec<&'static Config>,
    pub rows: Vec<ClaimRow>,
    pub costs: Vec<CostLine>,
    pub currency: String,
    /// The decision summary over the configurations with an active run.
    pub decision: Option<Decision>,
    /// The framework comparison, when a framework stack was measured.
    pub frameworks: Option<Vec<frameworks::FrameworkLine>>,
}

/// Builds the verdict table from the claims scenarios' results (runs identified as in
/// [`measure`]) and a price file.
pub fn claims_table(inputs: &[Input], prices: &Prices) -> ClaimsTable {
    let mut measured = measure_configs(inputs);
    let curves = always_on_curves(&measured, prices);
    for (_, m) in &mut measured {
        m.always_on = curves.clone();
    }
    let rows = CLAIMS
        .iter()
        .map(|spec| {
            let cells: Vec<ClaimCell> = measured
                .iter()
                .map(|(c, m)| verdict::judge_cell(spec, c, m.measure(spec.metric, prices)))
                .collect();
            let (verdict, mut reason) = verdict(spec, &cells);
            if spec.metric == Metric::LatencyP50
                && let Some(why) = latency_split_why(&measured)
            {
                reason.push_str(&why);
            }
            ClaimRow {
                claim: spec.claim,
                cells,
                verdict,
                reason,
            }
        })
        .collect();
    let context = context(inputs, &measured);
    let costs = costs(&measured, prices);
    ClaimsTable {
        decision: decision(&context, &measured, &costs),
        frameworks: frameworks::framework_lines(&measured),
        context,
        columns: measured.iter().map(|(c, _)| *c).collect(),
        rows,
        costs,
        currency: prices.currency.clone(),
    }
}

/// The latency verdict's "why" goes on with where each configuration's latency went
/// (the mock's split, means per reply): ". Where it goes (mean per reply): long polling …;
/// webhook …". None when no configuration has the split.
fn latency_split_why(measured: &[(&'static Config, Measured<'_>)]) -> Option<String> {
    let parts: Vec<String> = measured
        .iter()
        .filter_map(|(c, m)| m.latency_split_text(c.short))
        .collect();
    (!parts.is_empty()).then(|| format!(". Where it goes (mean per reply): {}", parts.join("; ")))
}

/// The decision summary over the configurations that answered messages in an active run,
/// figures that grow with the bots scaled to [`CLAIM_BOTS`] as in the verdicts.
fn decision(
    context: &ClaimsContext,
    measured: &[(&'static Config, Measured<'_>)],
    costs: &[CostLine],
) -> Option<Decision> {
    let cands: Vec<Candidate> = measured
        .iter()
        .filter_map(|(c, m)| {
            let active = m.active.as_ref().filter(|r| r.latency.count > 0)?;
            let rss_peak_mb = [m.idle.as_ref(), Some(active)]
                .into_iter()
                .flatten()
                .filter_map(|r| Some(r.memory.as_ref()?.rss_peak_mb))
                .fold(0.0, f64::max);
            Some(Candidate {
                label: c.label.to_owned(),
                needs_endpoint: c.side != Side::Polling,
                p50_ms: active.latency.p50,
                p99_ms: active.latency.p99,
                rss_peak_mb,
                requests_per_min: active.requests_per_min * scale(active.bots),
                monthly: costs
                    .iter()
                    .find(|l| l.config == c.name)
                    .and_then(|l| {
                        if c.side == Side::Serverless {
                            l.serverless
                        } else {
                            Some(l.always_on)
                        }
                    })
                    .filter(|v| v.is_finite()),
            })
        })
        .collect();
    let measured_at: Vec<String> = context.bots.iter().map(|b| count(*b)).collect();
    decide(
        format!(
            "For {CLAIM_BOTS} bots (measured at {} bots; CPU, requests and cost scaled), on {}:",
            measured_at.join(", "),
            context.machine
        ),
        &cands,
    )
}

/// A cost line per configuration with an active run or a capacity curve.
fn costs(measured: &[(&'static Config, Measured<'_>)], prices: &Prices) -> Vec<CostLine> {
    measured
        .iter()
        .filter(|(_, m)| m.active.is_some() || m.capacity.is_some())
        .map(|(c, m)| {
            // A serverless configuration has no always-on size: its measured bill instead.
            if c.side == Side::Serverless {
                return CostLine {
                    config: c.name,
                    vcpu: f64::NAN,
                    memory_gb: f64::NAN,
                    always_on: f64::NAN,
                    serverless: m
                        .active
                        .as_ref()
                        .and_then(|r| serverless_monthly(r, prices)),
                    max_bots: None,
                    servers_for_scaling: None,
                    scaling_monthly: None,
                    scaling_upper_bound: false,
                };
            }
            let mc = m
                .active
                .as_ref()
                .and_then(|r| Usage::of_row(r, m.rtt_ms, scale(r.bots)))
                .map(|u| monthly_cost(&u, prices));
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
        .collect()
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
    let mut transport: Vec<String> = inputs
        .iter()
        .map(|i| transport_security(&i.results))
        .collect();
    transport.dedup();
    let mut load: Vec<String> = inputs
        .iter()
        .filter_map(|i| replaced_load(&i.results))
        .collect();
    load.dedup();
    ClaimsContext {
        machine,
        transport: transport.join("; "),
        load: load.join("; "),
        rtt: rtts.join(", "),
        bots,
        git_revision: inputs
            .first()
            .map(|i| i.results.environment.git_revision.clone())
            .unwrap_or_default(),
    }
}
