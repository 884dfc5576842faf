//! `tgbench claims`: a verdict on each claim of the polling-vs-webhook design document,
//! from the results of the claims scenarios.
//!
//! [`claims_table`] finds each configuration's runs in the results, measures each claim's
//! figure on each configuration, judges every cell and every row, and prices each
//! configuration: a [`ClaimsTable`], which goes on top of `report.md` and `report.html`.
//!
//! # Layout
//! - [`spec`]: the claims, their tolerances, the configurations and the names of their SUTs
//!   and phases — what one edits when a claim changes;
//! - [`measure`]: which runs are which configuration, and each configuration's figure per
//!   claim (scaled to [`CLAIM_BOTS`] bots where it grows with them);
//! - [`verdict`]: the rules, each unit-tested there; `reports/tests/claims.rs` checks whole
//!   tables.

pub mod measure;
pub mod spec;
pub mod verdict;

pub use spec::{
    CLAIM_BOTS, CLAIMS, CONFIGS, CONSTANT_CPU_MIN_PCT, CONSTANT_CPU_WINDOW_S, ClaimSpec, Claimed,
    Config, Figure, Metric, SCALING_BOTS, Side, phase, sut,
};
pub use verdict::{Bound, Outcome, Verdict, verdict};

use std::fmt::Write as _;

use crate::cost::{Prices, Usage, monthly_cost, servers_for};
use crate::rows::Input;
use crate::table::{Cell, Table, Tone};
use crate::text::{count, escape, num, usd};
use measure::{Measured, measure_configs, only_a_lower_bound, scale};

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

/// Builds the verdict table from the claims scenarios' results (runs identified as in
/// [`measure`]) and a price file.
pub fn claims_table(inputs: &[Input], prices: &Prices) -> ClaimsTable {
    let measured = measure_configs(inputs);
    let rows = CLAIMS
        .iter()
        .map(|spec| {
            let cells: Vec<ClaimCell> = measured
                .iter()
                .map(|(c, m)| verdict::judge_cell(spec, c, m.measure(spec.metric, prices)))
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
    ClaimsTable {
        context: context(inputs, &measured),
        columns: measured.iter().map(|(c, _)| *c).collect(),
        rows,
        costs: costs(&measured, prices),
        currency: prices.currency.clone(),
    }
}

/// A cost line per configuration with an active run or a capacity curve.
fn costs(measured: &[(&'static Config, Measured<'_>)], prices: &Prices) -> Vec<CostLine> {
    measured
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

fn verdict_tone(v: &Verdict) -> Tone {
    match v {
        Verdict::Holds => Tone::Good,
        Verdict::DoesNotHold => Tone::Bad,
        Verdict::HoldsOnlyWhen(_) | Verdict::Inconclusive => Tone::Warn,
        Verdict::NotMeasured => Tone::Muted,
    }
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
            cells.push(Cell::new(
                row.verdict.to_string(),
                verdict_tone(&row.verdict),
            ));
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
                spec::config(c.config).label.into(),
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
