//! The framework comparison: one line per configuration of a `tgbench claims --stack` run —
//! each framework's polling and webhook servers beside the Rust reference servers, on the same
//! load — with what the framework is (its `[[sut]] about`: version, runtime, settings) and
//! what it cost: idle CPU and memory, CPU per 1,000 messages, latency, requests, and the bots
//! one core held where a capacity search ran (`--stack-capacity`).
//!
//! Figures are as measured at the run's bot count, never scaled (a comparison at 2,000 bots
//! is a claims run with `--bots 2000`). CPU per 1,000 messages is the active phase's CPU time
//! above the idle phase's rate, per answered message: what the messages themselves cost.

use super::measure::Measured;
use super::spec::{Config, Side};

/// One configuration's line in the comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameworkLine {
    pub config: &'static str,
    pub label: &'static str,
    pub side: Side,
    /// The scenario's `[[sut]] about`, when it gave one.
    pub about: Option<String>,
    /// Why its server failed (not ready, exited), when it did: its figures are then
    /// missing or partial.
    pub failed: Option<String>,
    /// Bots of the active run (else of the idle run).
    pub bots: u64,
    pub idle_cpu_pct: Option<f64>,
    pub idle_rss_mb: Option<f64>,
    /// Peak RSS over both phases, MiB.
    pub rss_peak_mb: Option<f64>,
    /// CPU seconds per 1,000 answered messages, above the idle rate.
    pub cpu_s_per_1000: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Bot API requests per minute in the active phase (deliveries included).
    pub requests_per_min: Option<f64>,
    pub replied: u64,
    pub lost: u64,
    /// What a capacity search found, when one ran: "5,000", "≥ 2,000 (every step held)",
    /// "none met the SLO" (as the claims' max-bots cell reads).
    pub capacity: Option<String>,
}

/// The comparison, when the measurement holds a framework stack (an optional
/// configuration); `None` for the reference servers alone, whose figures the verdict
/// table already carries.
pub(super) fn framework_lines(
    measured: &[(&'static Config, Measured<'_>)],
) -> Option<Vec<FrameworkLine>> {
    if !measured.iter().any(|(c, _)| c.optional) {
        return None;
    }
    Some(measured.iter().map(|(c, m)| line(c, m)).collect())
}

fn line(c: &'static Config, m: &Measured<'_>) -> FrameworkLine {
    let idle = m.idle.as_ref();
    let active = m.active.as_ref();
    let about = [active, idle]
        .into_iter()
        .flatten()
        .flat_map(|r| r.runs.iter())
        .find_map(|run| run.sut.about.clone());
    let cpu_s_per_1000 = active.filter(|a| a.replied > 0).and_then(|a| {
        let idle_rate = idle.map_or(Some(0.0), |i| Some(i.cpu.as_ref()?.mean_pct / 100.0))?;
        let above_idle = (a.cpu.as_ref()?.cpu_s - idle_rate * a.duration_s).max(0.0);
        Some(above_idle / a.replied as f64 * 1000.0)
    });
    let answered = active.filter(|a| a.latency.count > 0);
    FrameworkLine {
        config: c.name,
        label: c.label,
        side: c.side,
        about,
        failed: m
            .failed
            .map(|why| why.lines().next().unwrap_or(why).to_owned()),
        bots: active.or(idle).map_or(0, |r| r.bots),
        idle_cpu_pct: idle.and_then(|i| Some(i.cpu.as_ref()?.mean_pct)),
        idle_rss_mb: idle.and_then(|i| Some(i.memory.as_ref()?.rss_mean_mb)),
        rss_peak_mb: [idle, active]
            .into_iter()
            .flatten()
            .filter_map(|r| Some(r.memory.as_ref()?.rss_peak_mb))
            .reduce(f64::max),
        cpu_s_per_1000,
        p50_ms: answered.map(|a| a.latency.p50),
        p99_ms: answered.map(|a| a.latency.p99),
        requests_per_min: active.map(|a| a.requests_per_min),
        replied: active.map_or(0, |a| a.replied),
        lost: active.map_or(0, |a| a.lost),
        capacity: m.max_bots().map(|r| {
            if r.detail.is_empty() {
                r.figure
            } else {
                format!("{} ({})", r.figure, r.detail)
            }
        }),
    }
}
