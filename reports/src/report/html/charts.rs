//! The charts `report.html` draws from a report's data that are more than one series per
//! row: the serverless environments and p99 over time, cost versus traffic, the measured
//! steps of a capacity curve and the fault windows drawn as bands.

use crate::chart::{Band, LineChart, Reduce, Series, downsample};
use crate::cost::TRAFFIC_RANGE;
use crate::report::ReportData;
use crate::report::tables::CostVsTraffic;
use crate::results::{CapacityCurve, CapacityStep, Run, ServerlessPoint};

/// The serverless rows' environments over time (busy, alive, cold-start marks) and, to
/// read beside it, their p99 latency over time; first repetition of each row.
pub(super) fn serverless_charts(data: &ReportData<'_>) -> (LineChart, LineChart) {
    let mut envs = Vec::new();
    let mut p99 = Vec::new();
    for (i, r) in data.rows.iter().enumerate() {
        let Some(run) = r.runs.first() else { continue };
        let Some(s) = run.serverless.as_ref().filter(|s| !s.timeline.is_empty()) else {
            continue;
        };
        let name = r.label(data.several_files);
        let points = |f: fn(&ServerlessPoint) -> f64| s.timeline.iter().map(move |p| (p.t_s, f(p)));
        envs.push(Series {
            name: format!("{name}: busy"),
            points: points(|p| p.busy as f64).collect(),
            color: i,
            ..Default::default()
        });
        envs.push(Series {
            name: format!("{name}: alive"),
            points: points(|p| p.alive as f64).collect(),
            color: i,
            dashed: true,
            ..Default::default()
        });
        envs.push(Series {
            name: format!("{name}: cold starts"),
            points: points(|p| p.cold_starts as f64)
                .filter(|(_, n)| *n > 0.0)
                .collect(),
            color: i,
            marks_only: true,
            ..Default::default()
        });
        p99.push(Series {
            name,
            points: downsample(
                run.timeseries
                    .iter()
                    .filter(|x| x.p99_ms > 0.0)
                    .map(|x| (x.t_s, x.p99_ms)),
                Reduce::Max,
            ),
            color: i,
            ..Default::default()
        });
    }
    let concurrency = LineChart {
        id: "chart-serverless-concurrency".into(),
        title: "Execution environments over time, cold starts marked".into(),
        x_label: "time since the window started (s)".into(),
        y_label: "environments".into(),
        series: envs,
        ..Default::default()
    };
    let latency = LineChart {
        id: "chart-serverless-p99".into(),
        title: "p99 latency over time".into(),
        x_label: "time since the window started (s)".into(),
        y_label: "p99 latency (ms, log scale)".into(),
        log_y: true,
        series: p99,
        ..Default::default()
    };
    (concurrency, latency)
}

/// Monthly cost against messages a month, 1 to 10 million, ten points a decade.
pub(super) fn cost_chart(c: &CostVsTraffic) -> LineChart {
    let (lo, hi) = TRAFFIC_RANGE;
    let decades = (hi / lo).log10().round() as i32;
    let grid: Vec<f64> = (0..=decades * 10)
        .map(|k| lo * 10f64.powf(f64::from(k) / 10.0))
        .collect();
    let line = |name: &str, color: usize, dashed: bool, f: &dyn Fn(f64) -> f64| Series {
        name: name.to_owned(),
        points: grid.iter().map(|&m| (m, f(m))).collect(),
        color,
        dashed,
        ..Default::default()
    };
    let mut series: Vec<Series> = c
        .always_on
        .iter()
        .enumerate()
        .map(|(i, (name, curve))| line(&format!("{name} (always on)"), i, false, &|m| curve.at(m)))
        .collect();
    let n = series.len();
    series.extend(c.serverless.iter().enumerate().map(|(i, (name, per))| {
        line(&format!("{name} (serverless)"), n + i, true, &|m| per.at(m))
    }));
    LineChart {
        id: "chart-cost-traffic".into(),
        title: "Monthly cost versus traffic".into(),
        x_label: "messages a month (log scale)".into(),
        y_label: "USD a month (log scale)".into(),
        log_x: true,
        log_y: true,
        x_range: Some(TRAFFIC_RANGE),
        series,
        ..Default::default()
    }
}

/// Steps that measured something: a step the machine could not host is in the table only.
pub(super) fn measured(c: &CapacityCurve) -> impl Iterator<Item = &CapacityStep> {
    c.steps.iter().filter(|s| !s.machine_limit)
}

/// Fault windows of the runs shown, without repeats, as shaded bands.
pub(super) fn fault_bands(runs: &[&Run]) -> Vec<Band> {
    let mut bands: Vec<Band> = Vec::new();
    for r in runs {
        for f in &r.faults {
            let label = format!("fault: {}", f.kind);
            if !bands
                .iter()
                .any(|b| b.start == f.start_s && b.end == f.end_s && b.label == label)
            {
                bands.push(Band {
                    start: f.start_s,
                    end: f.end_s,
                    label,
                });
            }
        }
    }
    bands
}
