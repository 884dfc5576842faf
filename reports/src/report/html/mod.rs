//! `report.html`: one self-contained file (inline CSS, inline SVG charts, no script, no
//! font, no image, no external link) that reads on a laptop and on a phone.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::tables::{
    CLAIMS_COST_NOTE, CLAIMS_RULES, COST_VS_TRAFFIC_NOTE, FRAMEWORKS_NOTE, LATENCY_SPLIT_NOTE,
    SERVERLESS_LATENCY_NOTE, SERVERLESS_NOTE, capacity_summary, capacity_table, claims_context,
    claims_costs, claims_frameworks, claims_latency_timeline, claims_verdicts, cost_vs_traffic,
    environment_table, latency_split_table, methods, methods_table, serverless_latency_table,
    serverless_table, summary_table,
};
mod charts;

use super::{Report, ReportData, write_file};
use crate::Error;
use crate::chart::{
    Band, LineChart, Reduce, SMALL_W, Series, StackedBars, downsample, percentile_ticks,
};
use crate::claims::ClaimsTable;
use crate::cost::Prices;
use crate::decision::Decision;
use crate::results::{CapacityCurve, CapacityStep, Run};
use crate::rows::latency_distribution;
use crate::text::escape;
use charts::{cost_chart, fault_bands, measured, serverless_charts};

pub const FILE_NAME: &str = "report.html";

/// The page's whole style sheet (`style.css` beside this file).
pub const CSS: &str = include_str!("style.css");

#[derive(Debug, Default)]
pub struct Html {
    title: String,
    body: String,
}

impl Html {
    fn section(&mut self, id: &str, title: &str) {
        let _ = write!(
            self.body,
            r#"<section id="{}"><h2>{}</h2>"#,
            escape(id),
            escape(title)
        );
    }

    fn figure(&mut self, svg: &str, caption: &str) {
        let _ = write!(self.body, "<figure>{svg}");
        if !caption.is_empty() {
            let _ = write!(self.body, "<figcaption>{}</figcaption>", escape(caption));
        }
        self.body.push_str("</figure>");
    }
}

/// Most configurations drawn as lines of one chart; beyond it, small multiples.
const OVERLAY_MAX: usize = 3;

impl Html {
    /// One small chart per configuration, all on `chart`'s axes: its series are grouped by
    /// colour (a configuration's SUT line and, dashed, its mock line), every chart gets the
    /// same x and y range, its own fault windows (`bands[colour]`), and ids `{id}-1`,
    /// `{id}-2`, … in order.
    fn small_multiples(&mut self, chart: &LineChart, caption: &str, bands: &[Vec<Band>]) {
        let pts = || chart.series.iter().flat_map(|s| s.points.iter());
        let x_lo = pts().map(|p| p.0).fold(f64::INFINITY, f64::min);
        let x_hi = pts().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
        let y_hi = pts().map(|p| p.1).fold(0.0, f64::max);
        let mut colors: Vec<usize> = chart.series.iter().map(|s| s.color).collect();
        colors.dedup();
        let _ = write!(
            self.body,
            r#"<h3>{}</h3><div class="charts small">"#,
            escape(&chart.title)
        );
        for (n, c) in colors.into_iter().enumerate() {
            let series: Vec<Series> = chart
                .series
                .iter()
                .filter(|s| s.color == c)
                .map(|s| Series {
                    name: if s.dashed { "mock" } else { "SUT" }.into(),
                    ..s.clone()
                })
                .collect();
            let small = LineChart {
                id: format!("{}-{}", chart.id, n + 1),
                title: chart
                    .series
                    .iter()
                    .find(|s| s.color == c)
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                series,
                x_range: x_lo.is_finite().then_some((x_lo.min(0.0), x_hi)),
                y_max: Some(y_hi),
                width: Some(SMALL_W),
                bands: bands.get(c).cloned().unwrap_or_default(),
                ..chart.clone()
            };
            self.figure(&small.to_svg(), "");
        }
        self.body.push_str("</div>");
        if !caption.is_empty() {
            let _ = write!(self.body, r#"<p class="note">{}</p>"#, escape(caption));
        }
    }
}

impl Report for Html {
    fn begin(&mut self, data: &ReportData<'_>) {
        self.title = format!("tgbench report: {}", data.scenario_names().join(", "));
        let files: Vec<String> = data.inputs.iter().map(|i| i.label.clone()).collect();
        let _ = write!(
            self.body,
            r#"<header><h1>{}</h1><p class="sub">files: {} · {} SUT row(s)</p></header>"#,
            escape(&self.title),
            escape(&files.join(", ")),
            data.rows.len()
        );
    }

    fn decision(&mut self, decision: &Decision) {
        self.section("decision", "Decision summary");
        let _ = write!(self.body, "<p>{}</p><ul>", escape(&decision.context));
        for line in &decision.sentences {
            let _ = write!(self.body, "<li>{}</li>", escape(line));
        }
        self.body.push_str("</ul></section>");
    }

    fn claims(&mut self, table: &ClaimsTable) {
        self.body
            .push_str(r#"<section id="claims"><h2>Claims under test: verdicts</h2>"#);
        let _ = write!(
            self.body,
            r#"<p class="note">{}</p>"#,
            escape(&claims_context(table))
        );
        // `table.claims` in the CSS above lets the verdict table's cells wrap; `cards` lays
        // rows out as cards on a phone.
        self.body
            .push_str(&claims_verdicts(table).to_html("claims cards"));
        let _ = write!(
            self.body,
            r#"<p class="note"><strong>How verdicts are decided.</strong> {}</p><h3>Cost per transport ({}, assumed prices)</h3>"#,
            escape(CLAIMS_RULES),
            escape(&table.currency)
        );
        self.body
            .push_str(&claims_costs(table).to_html("costs cards"));
        let _ = write!(
            self.body,
            r#"<p class="note">{}</p>"#,
            escape(CLAIMS_COST_NOTE)
        );
        if let Some(t) = claims_frameworks(table) {
            self.body.push_str("<h3>Framework comparison</h3>");
            self.body.push_str(&t.to_html("frameworks cards"));
            let _ = write!(
                self.body,
                r#"<p class="note">{}</p>"#,
                escape(FRAMEWORKS_NOTE)
            );
        }
        self.body.push_str("</section>");
    }

    fn warnings(&mut self, data: &ReportData<'_>) {
        if data.warnings.is_empty() {
            return;
        }
        self.section("warnings", "⚠ Warnings");
        self.body.push_str(r#"<ul class="warnings">"#);
        for w in &data.warnings {
            let _ = write!(
                self.body,
                "<li><strong>{}</strong>: {}</li>",
                escape(&w.subject),
                escape(&w.message)
            );
        }
        self.body.push_str("</ul></section>");
    }

    fn summary(&mut self, data: &ReportData<'_>) {
        if data.rows.is_empty() {
            return;
        }
        self.section("summary", "Summary");
        self.body.push_str(
            r#"<p class="note">Latency from a simulated user's scheduled send to the bot's reply. CPU in % of one core and RSS of the SUT's whole process tree; the mock's own CPU beside it, never mixed in.</p>"#,
        );
        self.body.push_str(&summary_table(data).to_html("summary"));
        self.body.push_str("</section>");
    }

    fn latency(&mut self, data: &ReportData<'_>) {
        if data.rows.is_empty() {
            return;
        }
        self.section("latency", "Latency");
        let series: Vec<Series> = data
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.latency.count > 0)
            .map(|(i, r)| Series {
                name: r.label(data.several_files),
                points: latency_distribution(&r.runs),
                color: i,
                ..Default::default()
            })
            .collect();
        let chart = LineChart {
            id: "chart-latency".into(),
            title: "Latency by percentile".into(),
            x_label: "percentile (tail to the right)".into(),
            y_label: "latency (ms, log scale)".into(),
            log_y: true,
            log_x: true,
            x_ticks: Some(percentile_ticks()),
            series,
            ..Default::default()
        };
        self.body.push_str(r#"<div class="charts">"#);
        self.figure(
            &chart.to_svg(),
            "Each line is one SUT's whole latency distribution, from its histogram: read the latency at a percentile, or how far the tail climbs. Both axes are logarithmic.",
        );
        if let Some(table) = latency_split_table(data) {
            let chart = StackedBars {
                id: "chart-latency-split".into(),
                title: "Where the latency goes (mean per reply)".into(),
                x_label: "ms".into(),
                keys: vec![
                    "in Telegram (sent → handed out)".into(),
                    "delivery to reply (processing, reply)".into(),
                ],
                bars: data
                    .rows
                    .iter()
                    .filter_map(|r| {
                        let s = r
                            .latency_split
                            .as_ref()
                            .filter(|s| s.in_telegram.count > 0)?;
                        Some((
                            format!("{} · {}", r.label(data.several_files), r.kind),
                            vec![s.in_telegram.mean, s.delivery_to_reply.mean],
                        ))
                    })
                    .collect(),
            };
            self.figure(&chart.to_svg(), LATENCY_SPLIT_NOTE);
            self.body.push_str("</div>");
            self.body.push_str(&table.to_html("latency-split"));
            self.body
                .push_str(&claims_latency_timeline().to_html("latency-timeline"));
            self.body.push_str("</section>");
            return;
        }
        self.body.push_str("</div></section>");
    }

    fn requests(&mut self, data: &ReportData<'_>) {
        if data.rows.is_empty() {
            return;
        }
        self.section("requests", "Requests per minute by method");
        let keys = methods(data);
        let chart = StackedBars {
            id: "chart-requests".into(),
            title: "Bot API requests per minute, by method".into(),
            x_label: "requests per minute".into(),
            bars: data
                .rows
                .iter()
                .map(|r| {
                    (
                        r.label(data.several_files),
                        keys.iter()
                            .map(|k| r.by_method_per_min.get(k).copied().unwrap_or(0.0))
                            .collect(),
                    )
                })
                .collect(),
            keys,
        };
        self.body.push_str(r#"<div class="charts">"#);
        self.figure(
            &chart.to_svg(),
            "webhook counts the mock's deliveries to the SUT.",
        );
        self.body.push_str("</div>");
        self.body.push_str(&methods_table(data).to_html("methods"));
        self.body.push_str("</section>");
    }

    fn timeseries(&mut self, data: &ReportData<'_>) {
        let with_series: Vec<_> = data
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.runs[0].timeseries.is_empty())
            .collect();
        if with_series.is_empty() {
            return;
        }
        self.section("over-time", "Over time");
        let first_runs: Vec<&Run> = with_series.iter().map(|(_, r)| r.runs[0]).collect();
        let bands = fault_bands(&first_runs);
        // Each small multiple shades its own run's faults (indexed by the row's colour).
        let mut own_bands = vec![Vec::new(); data.rows.len()];
        for (i, r) in &with_series {
            own_bands[*i] = fault_bands(&[r.runs[0]]);
        }
        // Up to three configurations share one chart; more get one small chart each, with
        // shared axes, so ten lines never overlay (and each shows the mock's CPU beside).
        let small_multiples = with_series.len() > OVERLAY_MAX;
        let mut cpu = Vec::new();
        let mut rss = Vec::new();
        let mut p99 = Vec::new();
        for (i, r) in &with_series {
            let ts = &r.runs[0].timeseries;
            let name = r.label(data.several_files);
            cpu.push(Series {
                name: name.clone(),
                points: downsample(ts.iter().map(|s| (s.t_s, s.cpu_pct)), Reduce::Mean),
                color: *i,
                ..Default::default()
            });
            cpu.push(Series {
                name: format!("mock ({name})"),
                points: downsample(ts.iter().map(|s| (s.t_s, s.mock_cpu_pct)), Reduce::Mean),
                color: *i,
                dashed: true,
                ..Default::default()
            });
            rss.push(Series {
                name: name.clone(),
                points: downsample(ts.iter().map(|s| (s.t_s, s.rss_mb)), Reduce::Max),
                color: *i,
                ..Default::default()
            });
            if ts.iter().any(|s| s.p99_ms > 0.0) {
                p99.push(Series {
                    name,
                    points: downsample(
                        ts.iter()
                            .filter(|s| s.p99_ms > 0.0)
                            .map(|s| (s.t_s, s.p99_ms)),
                        Reduce::Max,
                    ),
                    color: *i,
                    ..Default::default()
                });
            }
        }
        let repeated = with_series.iter().any(|(_, r)| r.repetitions() > 1);
        let caption = match (bands.is_empty(), repeated) {
            (true, false) => String::new(),
            (false, false) => "Shaded: fault windows injected during the run.".into(),
            (true, true) => "First repetition of each SUT shown.".into(),
            (false, true) => "Shaded: fault windows. First repetition of each SUT shown.".into(),
        };
        let charts = [
            (
                "chart-cpu",
                "CPU over time",
                "CPU (% of one core)",
                false,
                cpu,
            ),
            (
                "chart-rss",
                "Memory (RSS) over time",
                "RSS (MB)",
                false,
                rss,
            ),
            (
                "chart-p99",
                "p99 latency over time",
                "p99 latency (ms, log scale)",
                true,
                p99,
            ),
        ];
        for (id, title, y_label, log_y, series) in charts {
            if series.is_empty() {
                continue;
            }
            let chart = LineChart {
                id: id.into(),
                title: title.into(),
                x_label: "time since the window started (s)".into(),
                y_label: y_label.into(),
                log_y,
                series,
                bands: bands.clone(),
                ..Default::default()
            };
            if small_multiples {
                self.small_multiples(&chart, &caption, &own_bands);
            } else {
                self.body.push_str(r#"<div class="charts">"#);
                self.figure(&chart.to_svg(), &caption);
                self.body.push_str("</div>");
            }
        }
        self.body.push_str("</section>");
    }

    fn serverless(&mut self, data: &ReportData<'_>) {
        let Some(table) = serverless_table(data) else {
            return;
        };
        self.section("serverless", "Serverless");
        let _ = write!(
            self.body,
            r#"<p class="note">{}</p>"#,
            escape(SERVERLESS_NOTE)
        );
        self.body.push_str(&table.to_html("serverless"));
        if let Some(latency) = serverless_latency_table(data) {
            let _ = write!(
                self.body,
                r#"<h3>Latency, cold and warm</h3><p class="note">{}</p>"#,
                escape(SERVERLESS_LATENCY_NOTE)
            );
            self.body.push_str(&latency.to_html("serverless-latency"));
        }
        let (concurrency, p99) = serverless_charts(data);
        if !concurrency.series.is_empty() {
            self.body.push_str(r#"<div class="charts">"#);
            self.figure(
                &concurrency.to_svg(),
                "Solid: environments initializing or invoking (most in each second); dashed: environments alive, idle and frozen ones too; dots: cold starts in that second. First repetition of each SUT.",
            );
            self.figure(
                &p99.to_svg(),
                "The same runs' p99 latency over time: a climb at a cold-start dot is the init paid by the updates that waited for it.",
            );
            self.body.push_str("</div>");
        }
        if let Some(c) = cost_vs_traffic(data, &Prices::default()) {
            let _ = write!(
                self.body,
                r#"<h3>Cost versus traffic</h3><p class="note">{}</p><ul>"#,
                escape(COST_VS_TRAFFIC_NOTE)
            );
            for sentence in &c.sentences {
                let _ = write!(self.body, "<li>{}.</li>", escape(sentence));
            }
            self.body.push_str(r#"</ul><div class="charts">"#);
            self.figure(
                &cost_chart(&c).to_svg(),
                "Solid: always on; dashed: serverless. Both axes are logarithmic.",
            );
            self.body.push_str("</div>");
        }
        self.body.push_str("</section>");
    }

    fn capacity(&mut self, data: &ReportData<'_>) {
        let curves = data.capacity();
        if curves.is_empty() {
            return;
        }
        self.section("capacity", "Capacity");
        self.body.push_str(r#"<div class="charts">"#);
        // Searches along the bots, the message rate and the replicas answer different
        // questions: each gets its own pair of charts, x the bots, the messages per second or
        // the replicas.
        let axis = |c: &CapacityCurve| match (&c.rate, &c.replicas) {
            (Some(_), _) => 1,
            (None, Some(_)) => 2,
            (None, None) => 0,
        };
        for (along, id, x_label, grows) in [
            (
                0,
                "chart-capacity",
                "bots on one server (log scale)",
                "bots grow",
            ),
            (
                1,
                "chart-capacity-rate",
                "messages per second, all bots (log scale)",
                "the message rate grows",
            ),
            (
                2,
                "chart-capacity-replicas",
                "replicas of the SUT (log scale)",
                "replicas are added",
            ),
        ] {
            let these: Vec<&(String, &CapacityCurve)> =
                curves.iter().filter(|(_, c)| axis(c) == along).collect();
            if these.is_empty() {
                continue;
            }
            // A step without the figure (CPU not measured) has no point.
            let series = |f: fn(&CapacityStep) -> Option<f64>| -> Vec<Series> {
                these
                    .iter()
                    .enumerate()
                    .map(|(i, (label, c))| Series {
                        name: label.clone(),
                        points: measured(c).filter_map(|s| Some((s.x(), f(s)?))).collect(),
                        failed: measured(c)
                            .filter(|s| f(s).is_some())
                            .map(|s| !s.passed)
                            .collect(),
                        markers: true,
                        color: i,
                        ..Default::default()
                    })
                    .collect()
            };
            let p99 = LineChart {
                id: id.into(),
                title: format!("Capacity: p99 latency as {grows}"),
                x_label: x_label.into(),
                y_label: "p99 latency (ms, log scale)".into(),
                log_y: true,
                log_x: true,
                series: series(|s| Some(s.p99_ms)),
                ..Default::default()
            };
            let cpu = LineChart {
                id: format!("{id}-cpu"),
                title: format!("Capacity: CPU as {grows}"),
                x_label: x_label.into(),
                y_label: "CPU mean (% of one core)".into(),
                log_y: false,
                log_x: true,
                series: series(|s| s.cpu_mean_pct),
                ..Default::default()
            };
            self.figure(
                &p99.to_svg(),
                "Dots: steps that met the SLO; crosses: steps that failed.",
            );
            self.figure(&cpu.to_svg(), "");
        }
        self.body.push_str("</div>");
        self.body
            .push_str(&capacity_summary(data).to_html("capacity-summary"));
        let steps = capacity_table(data);
        let _ = write!(
            self.body,
            "<details><summary>Every step of the search ({} steps)</summary>{}</details>",
            steps.rows.len(),
            steps.to_html("capacity")
        );
        self.body.push_str("</section>");
    }

    fn environment(&mut self, data: &ReportData<'_>) {
        self.section("environment", "Scenario and environment");
        let mut t = environment_table(data);
        // Long values (load, SLO) wrap instead of widening the page.
        for row in &mut t.rows {
            for c in row.iter_mut().skip(1) {
                c.text = c.text.replace(", ", ",\u{200b} ");
            }
        }
        self.body.push_str(&t.to_html("environment"));
        self.body.push_str("</section>");
    }

    fn finish(&mut self, out_dir: &Path) -> Result<Vec<PathBuf>, Error> {
        let page = format!(
            r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title><style>{CSS}</style></head>
<body><main>{body}<footer>Written by tgbench-reports {version}. This file is self-contained: it loads nothing from the network.</footer></main></body></html>
"#,
            title = escape(&self.title),
            body = self.body,
            version = env!("CARGO_PKG_VERSION"),
        );
        Ok(vec![write_file(&out_dir.join(FILE_NAME), &page)?])
    }
}
