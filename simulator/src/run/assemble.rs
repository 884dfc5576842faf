//! Turns what a window recorded (counter snapshots, histograms, ticks, the injector's
//! report) into a results [`Run`]. Pure functions: no clock, no process.

use std::collections::BTreeMap;
use std::time::Duration;

use mock_telegram::{Latencies, Stats};
use tgbench_reports::histogram;
use tgbench_reports::results::{
    Handshakes, Harness, Latency, LatencySplit, Overhead, PartResources, Requests, Resources, Run,
    Sample, Slo, SloCheck, SutInfo, TlsRun, Updates, round2, round3,
};

use super::inject::InjectReport;
use super::monitor::Tick;
use crate::sampler::{CpuSummary, cpu_of, memory_of, summarize_cpu};
use crate::scenario;

/// Injection lag p99 above which the harness, not the SUT, is called the bottleneck.
pub const LAG_P99_LIMIT_MS: f64 = 50.0;
/// Harness CPU (share of its cores) at or above which it is called the bottleneck.
pub const HARNESS_CPU_LIMIT: f64 = 0.90;

/// Everything one measured window left behind.
pub struct Window<'a> {
    pub sut: SutInfo,
    pub repetition: u32,
    pub phase: Option<String>,
    pub bots: u64,
    /// Length of the window as measured, seconds.
    pub duration_s: f64,
    /// Counters at the window's start, its end, and after the drain.
    pub start: &'a Stats,
    pub end: &'a Stats,
    pub drained: &'a Stats,
    /// Latency histograms (cumulative, µs: the total and its split) at the start and after
    /// the drain.
    pub hist_start: &'a Latencies,
    pub hist_drained: &'a Latencies,
    /// Ticks inside the window (CPU, memory).
    pub window_ticks: &'a [Tick],
    /// The names of the SUT's parts, in the order of each tick's `parts`.
    pub part_names: &'a [String],
    /// Ticks from the start through the drain, with seconds since the start.
    pub series: &'a [(f64, Tick)],
    pub inject: &'a InjectReport,
    pub slo: &'a scenario::Slo,
    /// Cores the SUT may use (its pinned CPUs, else all) and the harness may use.
    pub sut_cores: usize,
    pub harness_cores: usize,
    pub complete: bool,
    pub incomplete_reason: Option<String>,
    /// The run was over HTTPS (`[telegram] tls`): its handshakes go in the results.
    pub tls: bool,
    /// Extra notes for `harness.notes` (e.g. warm-up updates still open at the start).
    pub notes: Vec<String>,
}

/// Builds the results entry of one window.
pub fn build(w: Window<'_>) -> Run {
    let hists = w.hist_drained.since(w.hist_start);
    let latency = Latency::from_histogram(&hists.total);

    let injected = w
        .drained
        .updates
        .injected
        .saturating_sub(w.start.updates.injected);
    let replied = w
        .drained
        .updates
        .replied
        .saturating_sub(w.start.updates.replied);
    let updates = Updates {
        injected,
        delivered: w
            .drained
            .updates
            .delivered
            .saturating_sub(w.start.updates.delivered),
        replied,
        lost: injected.saturating_sub(replied),
        duplicated: w
            .drained
            .updates
            .duplicated
            .saturating_sub(w.start.updates.duplicated),
    };

    let requests = requests_between(w.start, w.end, w.duration_s);

    let sut_cpu = summarize_cpu(
        &w.window_ticks
            .iter()
            .filter_map(|t| t.sut.map(|u| (u.cpu_pct, t.period_s)))
            .collect::<Vec<_>>(),
    );
    let sut_rss: Vec<f64> = w
        .window_ticks
        .iter()
        .filter_map(|t| t.sut.map(|u| u.rss_mb))
        .collect();
    let harness_cpu = summarize_cpu(
        &w.window_ticks
            .iter()
            .map(|t| (t.harness.cpu_pct, t.period_s))
            .collect::<Vec<_>>(),
    );
    let harness_rss: Vec<f64> = w.window_ticks.iter().map(|t| t.harness.rss_mb).collect();

    let memory = memory_of(&sut_rss);
    let slo = slo_checks(
        w.slo,
        &latency,
        updates.lost,
        &sut_cpu,
        w.sut_cores,
        memory.rss_peak_mb,
    );

    let harness = harness_of(w.inject, &harness_cpu, w.harness_cores, w.notes);

    let timeseries = series_of(w.start, w.series);

    Run {
        sut: w.sut,
        repetition: w.repetition,
        phase: w.phase,
        bots: w.bots,
        duration_s: w.duration_s,
        complete: w.complete,
        incomplete_reason: w.incomplete_reason,
        latency_ms: latency,
        latency_histogram: histogram::encode(&hists.total),
        latency_split: Some(LatencySplit {
            in_telegram: Latency::from_histogram(&hists.in_telegram),
            delivery_to_reply: Latency::from_histogram(&hists.delivery_to_reply),
            in_telegram_histogram: histogram::encode(&hists.in_telegram),
            delivery_to_reply_histogram: histogram::encode(&hists.delivery_to_reply),
        }),
        cpu: Some(cpu_of(&sut_cpu)),
        memory: Some(memory),
        requests,
        updates,
        slo,
        timeseries,
        overhead: Overhead {
            cpu: cpu_of(&harness_cpu),
            memory: memory_of(&harness_rss),
        },
        harness,
        telegram: telegram_of(w.start, w.end, w.drained),
        faults: Vec::new(),
        tls: w.tls.then(|| TlsRun {
            handshakes: Handshakes {
                bot_api: w
                    .drained
                    .tls
                    .bot_api_handshakes
                    .saturating_sub(w.start.tls.bot_api_handshakes),
                webhook: w
                    .drained
                    .tls
                    .webhook_handshakes
                    .saturating_sub(w.start.tls.webhook_handshakes),
            },
        }),
        serverless: None,
        resources: Some(proc_resources(w.window_ticks, w.part_names)),
    }
}

/// The /proc source of a window: each part's CPU and memory when the SUT has several (a
/// fleet's replicas, an app and its proxy); none listed for one process, whose figures are
/// the run's.
fn proc_resources(ticks: &[Tick], names: &[String]) -> Resources {
    let parts = ticks.iter().map(|t| t.parts.len()).max().unwrap_or(0);
    let per_part = |i: usize| {
        let cpu: Vec<(f64, f64)> = ticks
            .iter()
            .filter_map(|t| {
                t.parts
                    .get(i)
                    .copied()
                    .flatten()
                    .map(|u| (u.cpu_pct, t.period_s))
            })
            .collect();
        let rss: Vec<f64> = ticks
            .iter()
            .filter_map(|t| t.parts.get(i).copied().flatten().map(|u| u.rss_mb))
            .collect();
        PartResources {
            name: names.get(i).cloned().unwrap_or_else(|| i.to_string()),
            cpu: cpu_of(&summarize_cpu(&cpu)),
            memory: memory_of(&rss),
        }
    };
    Resources {
        source: SOURCE_PROC.to_string(),
        parts: if parts > 1 {
            (0..parts).map(per_part).collect()
        } else {
            Vec::new()
        },
    }
}

/// `resources.source` of figures sampled from /proc.
pub const SOURCE_PROC: &str = "proc";

/// Bot API calls between two snapshots, plus webhook deliveries as `webhook`.
pub fn requests_between(a: &Stats, b: &Stats, duration_s: f64) -> Requests {
    let by_method = method_deltas(a, b);
    let total: u64 = by_method.values().sum();
    Requests {
        total,
        per_min: if duration_s > 0.0 {
            round2(total as f64 / duration_s * 60.0)
        } else {
            0.0
        },
        by_method,
        bytes_in: b.bytes.inbound.saturating_sub(a.bytes.inbound),
        bytes_out: b.bytes.outbound.saturating_sub(a.bytes.outbound),
    }
}

fn method_deltas(a: &Stats, b: &Stats) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (m, n) in &b.requests {
        let d = n.saturating_sub(a.requests.get(m).copied().unwrap_or(0));
        if d > 0 {
            out.insert(m.clone(), d);
        }
    }
    let hooks = b.webhook.deliveries.saturating_sub(a.webhook.deliveries);
    if hooks > 0 {
        out.insert("webhook".to_string(), hooks);
    }
    out
}

/// The SLO checks of `[slo]`; absent keys are not checked.
pub fn slo_checks(
    slo: &scenario::Slo,
    latency: &Latency,
    lost: u64,
    cpu: &CpuSummary,
    sut_cores: usize,
    rss_peak_mb: f64,
) -> Slo {
    let mut checks = Vec::new();
    if let Some(limit) = slo.p99_ms {
        checks.push(check("p99_ms", limit, latency.p99));
    }
    if let Some(limit) = slo.max_lost {
        checks.push(check("max_lost", limit as f64, lost as f64));
    }
    if let Some(limit) = slo.cpu_pct {
        // Budget in % of the SUT's cores: 80 on 1 core = 80 % of one core.
        let of_cores = cpu.mean_pct / sut_cores.max(1) as f64;
        checks.push(check(
            &format!(
                "cpu_pct (mean, % of {} core{})",
                sut_cores,
                plural(sut_cores)
            ),
            limit,
            round2(of_cores),
        ));
    }
    if let Some(limit) = slo.rss_mb {
        checks.push(check("rss_mb (peak)", limit, rss_peak_mb));
    }
    Slo {
        passed: checks.iter().all(|c| c.passed),
        checks,
    }
}

fn check(name: &str, limit: f64, measured: f64) -> SloCheck {
    SloCheck {
        name: name.to_string(),
        limit,
        measured,
        passed: measured <= limit,
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Lag percentiles and the bottleneck verdict.
pub fn harness_of(
    inject: &InjectReport,
    cpu: &CpuSummary,
    harness_cores: usize,
    mut notes: Vec<String>,
) -> Harness {
    let ms = |us: u64| us as f64 / 1000.0;
    let (p50, p99, max) = if inject.lag_us.is_empty() {
        (0.0, 0.0, 0.0)
    } else {
        (
            ms(inject.lag_us.value_at_quantile(0.5)),
            ms(inject.lag_us.value_at_quantile(0.99)),
            ms(inject.lag_us.max()),
        )
    };
    // Late = more than the limit behind schedule. A few isolated stalls (a busy machine
    // descheduling the injector once) are noted; a bottleneck needs at least 3 late
    // injections and 1 % of them, so one stall in a short window does not flag it.
    let total = inject.lag_us.len();
    let limit_us = (LAG_P99_LIMIT_MS * 1000.0) as u64;
    let late = total - inject.lag_us.count_between(0, limit_us).min(total);
    let mut bottleneck = false;
    if p99 > LAG_P99_LIMIT_MS && late >= 3 && late as f64 >= 0.01 * total as f64 {
        bottleneck = true;
        notes.push(format!(
            "injection lag p99 {p99:.1} ms > {LAG_P99_LIMIT_MS} ms ({late} of {total} injections \
             late): the harness could not keep the schedule (latencies still count from the \
             schedule, but the SUT saw a late load)"
        ));
    } else if late > 0 {
        notes.push(format!(
            "{late} of {total} injections were more than {LAG_P99_LIMIT_MS} ms late (max {max:.1} ms): \
             isolated stalls, e.g. a busy machine; not counted as a harness bottleneck"
        ));
    }
    // What the harness spent per message: its CPU seconds in the window over the messages
    // injected in it.
    let us_per_message =
        (inject.injected > 0 && cpu.cpu_s > 0.0).then(|| cpu.cpu_s * 1e6 / inject.injected as f64);
    let per_message = us_per_message
        .map(|us| format!(", {us:.0} µs per message"))
        .unwrap_or_default();
    if bottleneck {
        // The lag note above: say what each message cost the harness beside it.
        if let Some(note) = notes.last_mut() {
            note.push_str(&format!(
                " (harness CPU {:.0} % of one core{per_message})",
                cpu.mean_pct
            ));
        }
    }
    let share = cpu.mean_pct / 100.0 / harness_cores.max(1) as f64;
    if share >= HARNESS_CPU_LIMIT {
        bottleneck = true;
        notes.push(format!(
            "harness (mock + load) CPU {:.0} % of its {} core{}{per_message}: the harness may have been the limit",
            share * 100.0,
            harness_cores,
            plural(harness_cores)
        ));
    }
    if p99 > LAG_P99_LIMIT_MS || inject.slowest_inject > Duration::from_millis(10) {
        notes.push(format!(
            "slowest Mock::inject call {:.1} ms (time inside the mock; the rest of the lag is \
             the injector waking late, e.g. a busy core)",
            inject.slowest_inject.as_secs_f64() * 1000.0
        ));
    }
    if inject.refused > 0 {
        notes.push(format!(
            "the mock refused {} injections: {}",
            inject.refused,
            inject.first_error.as_deref().unwrap_or("?")
        ));
    }
    Harness {
        injection_lag_p50_ms: round3(p50),
        injection_lag_p99_ms: round3(p99),
        injection_lag_max_ms: round3(max),
        bottleneck,
        cpu_us_per_message: us_per_message.map(round2),
        notes,
    }
}

/// One sample per tick: CPU and RSS of the period, counter deltas against the previous
/// tick (the first against `start`).
fn series_of(start: &Stats, series: &[(f64, Tick)]) -> Vec<Sample> {
    let mut prev = start;
    let mut out = Vec::with_capacity(series.len());
    for (t_s, tick) in series {
        let s = &tick.stats;
        out.push(Sample {
            t_s: round3(*t_s),
            cpu_pct: round2(tick.sut.map(|u| u.cpu_pct).unwrap_or(0.0)),
            rss_mb: round2(tick.sut.map(|u| u.rss_mb).unwrap_or(0.0)),
            mock_cpu_pct: round2(tick.harness.cpu_pct),
            requests: method_deltas(prev, s),
            injected: s.updates.injected.saturating_sub(prev.updates.injected),
            replied: s.updates.replied.saturating_sub(prev.updates.replied),
            p99_ms: round3(tick.p99_ms),
            pending_updates: s.updates.pending,
        });
        prev = s;
    }
    out
}

/// Telegram-specific accounting of the window (deltas where counters, end values where
/// gauges).
fn telegram_of(a: &Stats, end: &Stats, drained: &Stats) -> serde_json::Value {
    let d = |x: u64, y: u64| y.saturating_sub(x);
    let calls = d(a.get_updates.calls, end.get_updates.calls);
    let empty = d(a.get_updates.empty, end.get_updates.empty);
    serde_json::json!({
        "get_updates": {
            "calls": calls,
            "empty": empty,
            "empty_share": if calls > 0 { round3(empty as f64 / calls as f64) } else { 0.0 },
            "mean_batch_since_start": end.get_updates.mean_batch,
            "held_ms_mean_since_start": end.get_updates.held_ms_mean,
            "conflicts": d(a.get_updates.conflicts, end.get_updates.conflicts),
            "in_flight_at_end": end.get_updates.in_flight,
        },
        "webhook": {
            "deliveries": d(a.webhook.deliveries, drained.webhook.deliveries),
            "ok": d(a.webhook.ok, drained.webhook.ok),
            "failed": d(a.webhook.failed, drained.webhook.failed),
            "retries": d(a.webhook.retries, drained.webhook.retries),
            "method_in_response": d(a.webhook.method_in_response, drained.webhook.method_in_response),
            "in_flight_peak_since_start": drained.webhook.in_flight_peak,
            "in_flight_peak_per_bot_since_start": drained.webhook.in_flight_peak_per_bot,
        },
        "rate_limited": d(a.rate_limited, end.rate_limited),
        "updates": {
            "redelivered": d(a.updates.redelivered, drained.updates.redelivered),
            "filtered": d(a.updates.filtered, drained.updates.filtered),
            "dropped": d(a.updates.dropped, drained.updates.dropped),
            "pending_after_drain": drained.updates.pending,
        },
        "readiness_at_end": {
            "bots": end.readiness.bots,
            "polling": end.readiness.polling,
            "webhooks_set": end.readiness.webhooks_set,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::Histogram;

    fn stats(injected: u64, replied: u64, get_updates: u64) -> Stats {
        let mut s = Stats::default();
        s.updates.injected = injected;
        s.updates.replied = replied;
        s.updates.delivered = replied;
        s.requests.insert("getUpdates".into(), get_updates);
        s.requests.insert("sendMessage".into(), replied);
        s
    }

    fn hist(values: &[u64]) -> Histogram<u64> {
        let mut h = histogram::new_latency_histogram();
        for v in values {
            h.record(*v).unwrap();
        }
        h
    }

    fn report(lags_us: &[u64]) -> InjectReport {
        InjectReport {
            injected: 0,
            refused: 0,
            first_error: None,
            lag_us: hist(lags_us),
            stopped_early: false,
            slowest_inject: Duration::ZERO,
        }
    }

    #[test]
    fn window_counts_are_deltas_and_lost_is_the_rest() {
        let (a, end, drained) = (stats(10, 10, 100), stats(60, 50, 160), stats(60, 58, 161));
        let latencies = |n: usize| {
            let mut l = Latencies::default();
            for _ in 0..n {
                l.record(mock_telegram::split::SplitUs {
                    total: 1_000,
                    in_telegram: 400,
                });
            }
            l
        };
        let (h0, h1) = (latencies(10), latencies(58));
        let inject = report(&[100, 200]);
        let slo = scenario::Slo {
            p99_ms: Some(5.0),
            max_lost: Some(0),
            ..Default::default()
        };
        let run = build(Window {
            sut: SutInfo::default(),
            repetition: 0,
            phase: Some("active".into()),
            bots: 10,
            duration_s: 30.0,
            start: &a,
            end: &end,
            drained: &drained,
            hist_start: &h0,
            hist_drained: &h1,
            window_ticks: &[],
            part_names: &[],
            series: &[],
            inject: &inject,
            slo: &slo,
            sut_cores: 1,
            harness_cores: 1,
            complete: true,
            incomplete_reason: None,
            tls: false,
            notes: vec![],
        });
        assert_eq!(run.updates.injected, 50);
        assert_eq!(run.updates.replied, 48);
        assert_eq!(run.updates.lost, 2);
        assert_eq!(run.latency_ms.count, 48);
        assert_eq!(run.requests.by_method["getUpdates"], 60);
        assert_eq!(run.requests.by_method["sendMessage"], 40);
        assert_eq!(run.requests.total, 100);
        assert_eq!(run.requests.per_min, 200.0);
        assert!(!run.slo.passed);
        assert!(run.slo.checks[0].passed && !run.slo.checks[1].passed);
        assert_eq!(histogram::decode(&run.latency_histogram).unwrap().len(), 48);
        let split = run.latency_split.as_ref().unwrap();
        assert_eq!(
            (split.in_telegram.count, split.delivery_to_reply.count),
            (48, 48)
        );
        assert_eq!(
            (split.in_telegram.p50, split.delivery_to_reply.p50),
            (0.4, 0.6)
        );
        assert_eq!(
            histogram::decode(&split.delivery_to_reply_histogram)
                .unwrap()
                .len(),
            48
        );
        assert!(!run.harness.bottleneck);
    }

    #[test]
    fn late_injection_or_busy_harness_is_flagged_as_the_harness() {
        let late = report(&[80_000; 100]);
        let h = harness_of(&late, &CpuSummary::default(), 1, vec![]);
        assert!(h.bottleneck);
        assert!(
            h.notes[0].starts_with("injection lag p99 80."),
            "{:?}",
            h.notes
        );
        // One stall among many is noted, not a bottleneck.
        let mut lags = vec![100; 99];
        lags.push(190_000);
        let h = harness_of(&report(&lags), &CpuSummary::default(), 1, vec![]);
        assert!(!h.bottleneck, "{:?}", h.notes);
        assert!(
            h.notes[0].starts_with("1 of 100 injections were more than 50 ms late"),
            "{:?}",
            h.notes
        );
        let busy = CpuSummary {
            mean_pct: 95.0,
            ..Default::default()
        };
        let h = harness_of(&report(&[100]), &busy, 1, vec![]);
        assert!(h.bottleneck);
        let h = harness_of(&report(&[100]), &busy, 2, vec![]);
        assert!(!h.bottleneck, "95 % of two cores is 47 %");
    }

    #[test]
    fn the_harness_says_what_each_message_cost_it() {
        // 95 % of one core for 10 s (9.5 CPU seconds) over 100,000 messages: 95 µs each.
        let busy = CpuSummary {
            mean_pct: 95.0,
            cpu_s: 9.5,
            ..Default::default()
        };
        let mut inject = report(&[100]);
        inject.injected = 100_000;
        let h = harness_of(&inject, &busy, 1, vec![]);
        assert_eq!(h.cpu_us_per_message, Some(95.0));
        assert!(h.bottleneck);
        assert!(
            h.notes[0].contains("CPU 95 % of its 1 core, 95 µs per message: the harness may"),
            "{:?}",
            h.notes
        );
        // Late injections too: the lag note carries the cost beside it.
        let mut late = report(&[80_000; 100]);
        late.injected = 100;
        let h = harness_of(&late, &busy, 2, vec![]);
        assert!(h.bottleneck);
        assert!(
            h.notes[0].ends_with("(harness CPU 95 % of one core, 95000 µs per message)"),
            "{:?}",
            h.notes
        );
        // Nothing injected: no figure.
        let h = harness_of(&report(&[100]), &CpuSummary::default(), 1, vec![]);
        assert_eq!(h.cpu_us_per_message, None);
    }

    #[test]
    fn cpu_budget_is_a_share_of_the_sut_cores() {
        let cpu = CpuSummary {
            mean_pct: 120.0,
            ..Default::default()
        };
        let slo = scenario::Slo {
            cpu_pct: Some(80.0),
            ..Default::default()
        };
        let lat = Latency::default();
        assert!(!slo_checks(&slo, &lat, 0, &cpu, 1, 0.0).passed);
        let two = slo_checks(&slo, &lat, 0, &cpu, 2, 0.0);
        assert!(two.passed);
        assert_eq!(two.checks[0].measured, 60.0);
    }

    #[test]
    fn webhook_deliveries_count_as_requests() {
        let a = Stats::default();
        let mut b = Stats::default();
        b.webhook.deliveries = 7;
        b.requests.insert("sendMessage".into(), 7);
        let r = requests_between(&a, &b, 60.0);
        assert_eq!(r.total, 14);
        assert_eq!(r.by_method["webhook"], 7);
    }
}
