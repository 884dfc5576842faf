//! What a run prints on stdout when it ends: a Markdown summary with one row per SUT,
//! repetition and phase, the harness's own verdict on itself, SLO failures, and capacity
//! curves. The full reports (HTML, charts, claims) are `tgbench report`'s job.

use std::fmt::Write as _;

use tgbench_reports::results::{Results, Run};
use tgbench_reports::table::{Cell, Table};

/// The summary of `results` (written to `path`).
pub fn markdown(results: &Results, path: &str) -> String {
    let mut out = String::new();
    let s = &results.scenario;
    let _ = writeln!(out, "## tgbench: {}\n", s.name);
    let _ = writeln!(
        out,
        "{} bots, RTT {} ± {} ms, window {} s (warm-up {} s, drain ≤ {} s), seed {}. {}, {} cores; {}.\n",
        s.telegram.bots,
        s.telegram.rtt_ms,
        s.telegram.jitter_ms,
        s.duration_s,
        s.warmup_s,
        s.drain_s,
        s.seed,
        results.environment.cpu_model,
        results.environment.cores,
        results.environment.pinning,
    );
    if !results.runs.is_empty() {
        out.push_str(&runs_table(&results.runs).to_markdown());
        out.push('\n');
    }

    let mut notes = Vec::new();
    for r in &results.runs {
        let who = match &r.phase {
            Some(p) => format!("{} ({p}, rep {})", r.sut.name, r.repetition + 1),
            None => format!("{} (rep {})", r.sut.name, r.repetition + 1),
        };
        for c in r.slo.checks.iter().filter(|c| !c.passed) {
            notes.push(format!(
                "SLO missed by {who}: {} = {} > {}",
                c.name, c.measured, c.limit
            ));
        }
        if r.harness.bottleneck {
            notes.push(format!(
                "**Harness bottleneck** in {who} — not the SUT's doing: {}",
                r.harness.notes.join("; ")
            ));
        } else {
            for n in &r.harness.notes {
                notes.push(format!("{who}: {n}"));
            }
        }
        if let Some(reason) = &r.incomplete_reason {
            notes.push(format!("{who} incomplete: {reason}"));
        }
    }
    let lag_p99 = results
        .runs
        .iter()
        .map(|r| r.harness.injection_lag_p99_ms)
        .fold(0.0, f64::max);
    let mock_cpu = results
        .runs
        .iter()
        .map(|r| r.overhead.cpu.mean_pct)
        .fold(0.0, f64::max);
    if !results.runs.is_empty() {
        notes.push(format!(
            "Harness: injection lag p99 ≤ {lag_p99:.2} ms; mock + harness CPU ≤ {mock_cpu:.1} % of a core (overhead, not in the SUT's figures)."
        ));
    }
    for c in &results.capacity {
        let steps: Vec<String> = c
            .steps
            .iter()
            .map(|st| {
                format!(
                    "{}{}",
                    st.bots,
                    if st.passed {
                        " ✓".to_string()
                    } else if st.machine_limit {
                        " (machine limit)".to_string()
                    } else {
                        " ✗".to_string()
                    }
                )
            })
            .collect();
        notes.push(format!(
            "Capacity of {}: **{}** bots held; stopped by {} (steps: {}).",
            c.sut,
            c.max_bots
                .map(|b| b.to_string())
                .unwrap_or_else(|| "none".into()),
            c.stopped_by,
            steps.join(", ")
        ));
    }
    for n in notes {
        let _ = writeln!(out, "- {n}");
    }
    if !results.complete {
        let _ = writeln!(
            out,
            "\n**Incomplete run**: {}",
            results
                .incomplete_reason
                .as_deref()
                .unwrap_or("unknown reason")
        );
    }
    let _ = writeln!(out, "\nResults: {path}");
    out
}

/// One row per run: counts, latency, CPU, memory, requests, the SLO verdict.
fn runs_table(runs: &[Run]) -> Table {
    let mut t = Table::new([
        "SUT",
        "phase",
        "rep",
        "injected",
        "replied",
        "lost",
        "dup",
        "p50 ms",
        "p99 ms",
        "max ms",
        "CPU % (mean / max)",
        "RSS MiB (peak)",
        "req/min",
        "SLO",
    ]);
    t.numeric = (2..=12).collect();
    for r in runs {
        let slo = if !r.complete {
            "incomplete"
        } else if r.slo.checks.is_empty() {
            "–"
        } else if r.slo.passed {
            "pass"
        } else {
            "FAIL"
        };
        t.push(vec![
            Cell::from(r.sut.name.as_str()),
            Cell::from(r.phase.as_deref().unwrap_or("–")),
            Cell::from((r.repetition + 1).to_string()),
            Cell::from(r.updates.injected.to_string()),
            Cell::from(r.updates.replied.to_string()),
            Cell::from(r.updates.lost.to_string()),
            Cell::from(r.updates.duplicated.to_string()),
            Cell::from(format!("{:.1}", r.latency_ms.p50)),
            Cell::from(format!("{:.1}", r.latency_ms.p99)),
            Cell::from(format!("{:.1}", r.latency_ms.max)),
            Cell::from(format!("{:.1} / {:.1}", r.cpu.mean_pct, r.cpu.max_pct)),
            Cell::from(format!("{:.1}", r.memory.rss_peak_mb)),
            Cell::from(format!("{:.0}", r.requests.per_min)),
            Cell::from(slo),
        ]);
    }
    t
}
