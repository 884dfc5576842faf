//! `report.md` and `report.html` read back: the input's numbers are in them, the HTML is
//! self-contained and escaped, several files sit side by side, incomplete runs are marked;
//! and the console summary a run prints.

use std::path::Path;

use tgbench_reports::results::{ColdWarm, Latency, Serverless, ServerlessPoint};
use tgbench_reports::{Input, Written, write_reports};

use crate::fixtures::{self, Figures};

fn render(inputs: &[Input]) -> (tempfile::TempDir, Written, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let written = write_reports(inputs, &out, None).unwrap();
    let md = std::fs::read_to_string(&written.markdown).unwrap();
    let html = std::fs::read_to_string(&written.html).unwrap();
    (dir, written, md, html)
}

/// Every figure of the smoke fixture as the reports print it.
const SMOKE_FIGURES: &[&str] = &[
    // polling-bot: p50, p90, p99, max, CPU mean, p95, RSS mean, peak, req/min by method
    "3.25", "47.5", "812", "1,234", "2.75", "6.50", "18.5", "24.5", "1,500", "1,200", "300",
    // webhook-bot
    "105", "130", "187", "402", "0.42", "1.25", "12.5", "14.5", "700",
];

#[test]
fn markdown_holds_every_figure_scenario_and_environment() {
    let (_d, written, md, _) = render(&[Input::new("smoke-run", fixtures::smoke())]);
    assert!(written.markdown.ends_with("out/report.md"));
    for f in SMOKE_FIGURES {
        assert!(md.contains(&format!("| {f} |")), "{f} missing from:\n{md}");
    }
    let polling_row = md
        .lines()
        .find(|l| l.starts_with("| polling-bot |"))
        .expect("a summary row per SUT");
    assert_eq!(
        polling_row,
        "| polling-bot | polling | 100 | 3.25 | 47.5 | 812 | 1,234 | 2.75 | 6.50 | 18.5 | 24.5 | 1,500 | 0 | 0 | 1.00 | ✓ pass |"
    );
    let webhook_row = md
        .lines()
        .find(|l| l.starts_with("| webhook-bot |"))
        .unwrap();
    assert!(
        webhook_row.contains("| 3 | 1 |"),
        "lost and duplicated: {webhook_row}"
    );
    for method in ["getUpdates", "sendMessage", "setWebhook", "webhook"] {
        assert!(md.contains(method), "method column {method}");
    }
    for env in [
        "smoke",
        "scenarios/smoke.toml",
        "AMD EPYC 7B13",
        "100 ms ± 10.0 ms",
        "abc1234",
        "SUT on CPU 1, harness on CPU 0",
        "model=poisson",
        "Debian GNU/Linux 12",
    ] {
        assert!(md.contains(env), "{env} missing");
    }
    assert!(md.contains("the harness, not the SUT, was the bottleneck"));
    assert!(md.contains("injector fell 250 ms behind"));
    assert!(md.contains("| webhook-bot | 2,000 | machine: open files (20000) |"));
    assert!(md.contains("| polling-bot | 1,000 | slo: p99_ms > 1000 |"));
}

#[test]
fn html_holds_the_same_figures_charts_and_fault_windows() {
    let (_d, _w, _, html) = render(&[Input::new("smoke-run", fixtures::smoke())]);
    for f in SMOKE_FIGURES {
        assert!(
            html.contains(&format!(">{f}</td>")),
            "{f} missing from the HTML"
        );
    }
    for id in [
        "chart-latency",
        "chart-requests",
        "chart-cpu",
        "chart-rss",
        "chart-p99",
        "chart-capacity",
        "chart-capacity-cpu",
    ] {
        assert!(html.contains(&format!(r#"id="{id}""#)), "chart {id}");
    }
    assert_eq!(html.matches("<svg ").count(), 7);
    assert!(html.contains("latency (ms, log scale)"));
    assert!(html.contains("CPU (% of one core)"));
    assert!(html.contains("RSS (MB)"));
    assert!(html.contains("fault: mock-slow"), "fault window shaded");
    assert!(html.contains(r#"<meta name="viewport""#));
}

/// The SVG of the chart with this id, if the page has it.
fn chart_svg<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let at = html.find(&format!(r#" id="{id}" xmlns="#))?;
    let start = html[..at].rfind("<svg")?;
    let len = html[start..].find("</svg>")?;
    Some(&html[start..start + len])
}

/// The y axis's tick labels (right-aligned text) of one chart.
fn y_ticks(svg: &str) -> Vec<&str> {
    svg.split(r#"text-anchor="end">"#)
        .skip(1)
        .map(|t| &t[..t.find('<').unwrap()])
        .collect()
}

#[test]
fn many_configurations_get_small_multiples_on_shared_axes() {
    let mut inputs = vec![Input::new("smoke", fixtures::smoke())];
    inputs.extend(crate::claims_inputs());
    let (_d, _w, _, html) = render(&inputs);
    let configurations = tgbench_reports::rows::rows(&inputs)
        .iter()
        .filter(|r| !r.runs[0].timeseries.is_empty())
        .count();
    assert!(configurations > 3, "the fixtures have {configurations}");
    for metric in ["chart-cpu", "chart-rss"] {
        assert!(chart_svg(&html, metric).is_none(), "{metric}: no overlay");
        let charts: Vec<&str> = (1..=configurations)
            .map(|n| {
                chart_svg(&html, &format!("{metric}-{n}"))
                    .unwrap_or_else(|| panic!("{metric}-{n} missing"))
            })
            .collect();
        assert!(chart_svg(&html, &format!("{metric}-{}", configurations + 1)).is_none());
        let first = y_ticks(charts[0]);
        assert!(first.len() >= 3, "{first:?}");
        for c in &charts {
            assert_eq!(
                y_ticks(c),
                first,
                "{metric}: every small chart shares the y axis"
            );
            assert!(c.contains(r#"viewBox="0 0 330 "#), "{metric}: small");
            assert!(
                c.starts_with(r#"<svg class="chart small""#),
                "{metric}: small titles"
            );
        }
    }
    // Only the smoke run's webhook-bot had a fault: its window is shaded in its chart alone.
    let shaded = (1..=configurations)
        .filter(|n| {
            chart_svg(&html, &format!("chart-cpu-{n}"))
                .unwrap()
                .contains("fault: mock-slow")
        })
        .count();
    assert_eq!(shaded, 1);
    // CPU small multiples carry the mock's line too, dashed.
    let cpu1 = chart_svg(&html, "chart-cpu-1").unwrap();
    assert_eq!(cpu1.matches(r#"<path class="series""#).count(), 2);
    assert!(cpu1.contains("stroke-dasharray"));
}

#[test]
fn latency_is_a_percentile_distribution_per_sut() {
    let (_d, _w, _, html) = render(&[Input::new("smoke-run", fixtures::smoke())]);
    let svg = chart_svg(&html, "chart-latency").expect("latency chart");
    for t in ["0%", "90%", "99%"] {
        assert!(svg.contains(&format!(">{t}</text>")), "x tick {t}");
    }
    // One line per SUT of the smoke run (polling-bot, webhook-bot).
    assert_eq!(svg.matches(r#"<path class="series""#).count(), 2, "{svg}");
}

#[test]
fn the_latency_split_is_a_stacked_bar_and_a_table_beside_the_claims_timeline() {
    let plain = fixtures::smoke();
    let (_d, _w, md, html) = render(&[Input::new("old", plain.clone())]);
    assert!(
        !md.contains("Where the latency goes"),
        "no split, no section"
    );
    assert!(chart_svg(&html, "chart-latency-split").is_none());

    let mut r = plain;
    fixtures::with_split(&mut r.runs[0], 800.0, 12.5);
    fixtures::with_split(&mut r.runs[1], 10.0, 95.0);
    let (_d, _w, md, html) = render(&[Input::new("split", r)]);
    let section = md
        .split("## Where the latency goes")
        .nth(1)
        .expect("a latency split section");
    let polling = section
        .lines()
        .find(|l| l.starts_with("| polling-bot |"))
        .expect("polling row");
    for figure in ["| 800 |", "| 12.5 |", "| 812 |", "98.5 %"] {
        assert!(polling.contains(figure), "{figure} in {polling}");
    }
    let webhook = section
        .lines()
        .find(|l| l.starts_with("| webhook-bot |"))
        .expect("webhook row");
    for figure in ["| 10.0 |", "| 95.0 |", "| 105 |", "9.52 %"] {
        assert!(webhook.contains(figure), "{figure} in {webhook}");
    }
    assert!(
        section.contains("| the server polls and gets it |"),
        "{section}"
    );

    let svg = chart_svg(&html, "chart-latency-split").expect("stacked bars");
    // Two bars of two segments each, in the order of the rows.
    assert_eq!(svg.matches("<rect ").count(), 4, "{svg}");
    assert!(svg.contains("polling-bot · polling · in Telegram (sent → handed out): 800"));
    assert!(svg.contains("webhook-bot · webhook · delivery to reply (processing, reply): 95.0"));
    assert!(html.contains("the server polls and gets it"));
}

#[test]
fn the_environment_says_which_suts_ran_under_a_cpu_budget_and_how() {
    let mut r = fixtures::smoke();
    let (_d, _w, md, _) = render(&[Input::new("free", r.clone())]);
    assert!(md.contains("| CPU budget (cpu_quota) | none |"), "{md}");
    r.runs[1].sut.cpu_quota = Some(tgbench_reports::results::CpuQuota {
        cores: 0.25,
        mechanism: "cgroup v1 cpu controller: cpu.cfs_quota_us = 25000".into(),
    });
    let (_d, _w, md, html) = render(&[Input::new("held", r.clone())]);
    let row = format!(
        "| CPU budget (cpu_quota) | {}: 0.25 of a core (cgroup v1 cpu controller: cpu.cfs_quota_us = 25000) |",
        r.runs[1].sut.name
    );
    assert!(md.contains(&row), "{md}");
    assert!(
        html.contains("0.25 of a core"),
        "the HTML report shows it too"
    );
}

#[test]
fn the_environment_says_which_suts_ran_over_https() {
    let mut r = fixtures::smoke();
    let (_d, _w, md, _) = render(&[Input::new("plain", r.clone())]);
    assert!(
        md.contains("| transport security | plain HTTP on both sides |"),
        "{md}"
    );
    r.runs[1].tls = Some(Default::default());
    let (_d, _w, md, _) = render(&[Input::new("mixed", r.clone())]);
    assert!(
        md.contains("| transport security | HTTPS on both sides for webhook-bot; plain HTTP for polling-bot |"),
        "{md}"
    );
    r.runs[1].sut.proxy = Some("nginx".into());
    let (_d, _w, md, _) = render(&[Input::new("proxied", r)]);
    assert!(
        md.contains("plain HTTP for polling-bot; behind nginx: webhook-bot |"),
        "{md}"
    );
}

/// Nothing in the page may reach the network.
pub fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for bad in [
        "src=\"http",
        "src='http",
        "href=\"http",
        "href='http",
        "@import",
        "url(http",
        "url(\"http",
        "url('http",
        "<script",
        "<link",
        "<img",
        "<iframe",
        "//fonts.",
    ] {
        assert!(!lower.contains(bad), "the report must not contain {bad}");
    }
}

#[test]
fn html_is_self_contained() {
    let (_d, _w, _, html) = render(&[Input::new("smoke-run", fixtures::smoke())]);
    assert_self_contained(&html);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<style>"));
}

#[test]
fn text_from_results_is_escaped_in_html() {
    let mut r = fixtures::smoke();
    r.runs[0].sut.name = "<script>alert('x')</script>".into();
    r.scenario.name = "a&b".into();
    let (_d, _w, md, html) = render(&[Input::new("x", r)]);
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(html.contains("a&amp;b"));
    assert!(
        md.contains("<script>alert"),
        "Markdown keeps the text as is"
    );
}

#[test]
fn several_files_compare_side_by_side() {
    let this_week = fixtures::smoke();
    let mut last_month = fixtures::smoke();
    last_month.runs[0].latency_ms.p99 = 640.0;
    last_month.environment.git_revision = "0ld0ld0".into();
    let inputs = [
        Input::new("this-week", this_week),
        Input::new("last-month", last_month),
    ];
    let (_d, _w, md, html) = render(&inputs);
    let row = |label: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| {label} |")))
            .unwrap_or_else(|| panic!("no row {label}"))
            .to_owned()
    };
    assert!(row("this-week · polling-bot").contains("| 812 |"));
    assert!(row("last-month · polling-bot").contains("| 640 |"));
    assert!(
        md.contains("| this-week | last-month |"),
        "environment per file"
    );
    assert!(md.contains("abc1234") && md.contains("0ld0ld0"));
    assert!(html.contains("last-month · polling-bot"));
    assert!(md.contains("| last-month · webhook-bot | 2,000 |"));
}

#[test]
fn incomplete_runs_are_marked() {
    let mut r = fixtures::smoke();
    r.complete = false;
    r.incomplete_reason = Some("interrupted by Ctrl-C".into());
    r.runs[1].complete = false;
    r.runs[1].incomplete_reason = Some("SUT exited with status 101".into());
    let (_d, _w, md, html) = render(&[Input::new("x", r)]);
    for text in [&md, &html] {
        assert!(text.contains("webhook-bot ⚠ incomplete"));
        assert!(text.contains("interrupted by Ctrl-C"));
        assert!(text.contains("SUT exited with status 101"));
    }
    assert!(
        md.contains("polling-bot ⚠ incomplete"),
        "the whole file was cut short"
    );
}

#[test]
fn serverless_runs_get_the_platforms_figures_and_other_runs_no_section() {
    let (_d, _w, md, html) = render(&[Input::new("x", fixtures::smoke())]);
    assert!(!md.contains("## Serverless") && !html.contains(r#"id="serverless""#));
    let mut r = fixtures::smoke();
    r.runs[1].sut.kind = "serverless".into();
    r.runs[1].serverless = Some(fixtures::serverless());
    let (_d, _w, md, html) = render(&[Input::new("x", r)]);
    assert!(md.contains("## Serverless"), "{md}");
    let row = md
        .lines()
        .skip_while(|l| !l.starts_with("## Serverless"))
        .find(|l| l.starts_with("| webhook-bot |"))
        .expect("a serverless row for the serverless run only");
    assert_eq!(
        row,
        "| webhook-bot | 40 | 3 | 31.5 | 44.2 | 44.2 | 2 | 1/0/0 | 4 | 3 | 612 | 0.15 | 0.000011 | $0.26 | 0.12 | 0.050 | 2.900 | cgroup-v1 |"
    );
    assert!(
        !md.lines()
            .skip_while(|l| !l.starts_with("## Serverless"))
            .take_while(|l| !l.starts_with("## ") || l.starts_with("## Serverless"))
            .any(|l| l.starts_with("| polling-bot |")),
        "{md}"
    );
    // Priced again from the usage at the report's prices, not the cost written in the run.
    assert!(html.contains(r#"id="serverless""#) && html.contains("0.000011"));
    assert!(
        !md.contains("0.000021") && !html.contains("0.000021"),
        "{md}"
    );
    // No split, no timeline (files written before them): neither table nor chart.
    assert!(!md.contains("### Latency, cold and warm"), "{md}");
    assert!(!html.contains("chart-serverless-concurrency"));
}

/// The SVG of the chart with id `id` in `html`.
fn svg_of<'a>(html: &'a str, id: &str) -> &'a str {
    html.split(&format!(r#"id="{id}""#))
        .nth(1)
        .unwrap_or_else(|| panic!("no chart {id}"))
        .split("</svg>")
        .next()
        .unwrap()
}

#[test]
fn serverless_runs_show_cold_and_warm_latency_and_environments_over_time() {
    let mut r = fixtures::smoke();
    r.runs[1].sut.kind = "serverless".into();
    let latency = |count, p50, p99, max| Latency {
        count,
        p50,
        p90: p99,
        p99,
        p999: max,
        max,
        mean: p50,
    };
    let point = |t_s, busy, alive, cold_starts| ServerlessPoint {
        t_s,
        busy,
        alive,
        cold_starts,
        invocations: busy,
        throttled: 0,
    };
    r.runs[1].serverless = Some(Serverless {
        latency: Some(ColdWarm {
            cold: latency(3, 120.0, 180.0, 180.0),
            warm: latency(37, 6.5, 12.0, 14.0),
        }),
        timeline: vec![
            point(0.0, 2, 2, 2),
            point(1.0, 1, 2, 0),
            point(2.0, 3, 3, 1),
            point(3.0, 0, 3, 0),
        ],
        ..fixtures::serverless()
    });
    // The platform's 40 invocations answered 40 messages: $0.00001055 / 40 a message.
    r.runs[1].updates.replied = 40;
    let (_d, _w, md, html) = render(&[Input::new("x", r.clone())]);
    assert!(md.contains("### Latency, cold and warm"), "{md}");
    assert!(
        md.contains("| webhook-bot | 3 | 120 | 180 | 180 | 37 | 6.50 | 12.0 | 14.0 |"),
        "{md}"
    );
    assert!(
        md.contains(
            "- webhook-bot: at most 3 environments busy at once (first at 2.00 s), 3 alive; 3 cold starts, in 2 seconds from 0 s to 2.00 s. Keep-warm was 5.00 s here, AWS keeps an idle environment ~600 s"
        ),
        "{md}"
    );
    let chart = svg_of(&html, "chart-serverless-concurrency");
    // Busy and alive are lines; the two seconds with cold starts are dots.
    assert_eq!(
        chart.matches(r#"<path class="series""#).count(),
        2,
        "{chart}"
    );
    assert_eq!(chart.matches("<circle").count(), 2, "{chart}");
    assert!(html.contains(r#"id="chart-serverless-p99""#));

    // Cost versus traffic: the polling row always on against the serverless row measured.
    let section: String = md
        .lines()
        .skip_while(|l| !l.starts_with("### Cost versus traffic"))
        .take_while(|l| !l.starts_with("## "))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        section.contains("- serverless webhook-bot is cheaper than always-on polling-bot across 1 to 10,000,000 messages a month ($0.26 per million messages)."),
        "{section}"
    );
    let chart = svg_of(&html, "chart-cost-traffic");
    assert_eq!(
        chart.matches(r#"<path class="series""#).count(),
        2,
        "{chart}"
    );
    assert!(
        chart.contains("polling-bot (always on)") && chart.contains("webhook-bot (serverless)")
    );

    // At 10,240 MB the same billed time costs 40 times as much: the lines cross in range.
    r.runs[1].serverless.as_mut().unwrap().memory_mb = 10_240;
    let (_d, _w, md, _html) = render(&[Input::new("x", r)]);
    let line = md
        .lines()
        .find(|l| {
            l.starts_with("- serverless webhook-bot is cheaper than always-on polling-bot below ~")
        })
        .unwrap_or_else(|| panic!("{md}"));
    // 40 × $0.0000002 + 6.12 GB-s × $0.0000166667 = $0.00011, $2.75e-6 a message; the
    // polling row's smallest deployment, $9.01 a month, is reached at 3.28 million.
    assert_eq!(
        line,
        "- serverless webhook-bot is cheaper than always-on polling-bot below ~3,300,000 messages a month ($9.01 a month there; $2.75 per million messages at 0.07 cold starts per message)."
    );
}

#[test]
fn repetitions_fold_into_one_row_with_merged_histograms() {
    let mut runs = Vec::new();
    for rep in 0..3 {
        let mut run = fixtures::run("w", "webhook", None, &Figures::default());
        run.repetition = rep;
        run.latency_histogram = fixtures::histogram_around(100.0 + 100.0 * rep as f64, 100);
        runs.push(run);
    }
    let (_d, _w, md, _) = render(&[Input::new("x", fixtures::results("smoke", runs))]);
    let row = md
        .lines()
        .find(|l| l.starts_with("| w ×3 |"))
        .expect("one folded row");
    // Merged 300 samples spread over 80..360 ms: the p50 is near 200 ms, not the stored 3.25.
    let p50: f64 = row
        .split('|')
        .nth(4)
        .unwrap()
        .trim()
        .replace(',', "")
        .parse()
        .unwrap();
    assert!((180.0..=220.0).contains(&p50), "{row}");
}

#[test]
fn results_files_are_read_with_labels_and_bad_files_name_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("smoke-20260501");
    std::fs::create_dir_all(&run_dir).unwrap();
    let good = run_dir.join("results.json");
    std::fs::write(&good, serde_json::to_string(&fixtures::smoke()).unwrap()).unwrap();
    let inputs = Input::read_all(&[&good, &good]).unwrap();
    assert_eq!(inputs[0].label, "smoke-20260501");
    assert_eq!(inputs[1].label, "smoke-20260501 #2");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"schema_version\": 7}").unwrap();
    let e = Input::read(&bad).unwrap_err().to_string();
    assert!(
        e.contains("bad.json") && e.contains("schema_version 7"),
        "{e}"
    );
    let e = Input::read(Path::new("/nonexistent/r.json"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/r.json"), "{e}");
}

#[test]
fn an_empty_file_still_renders() {
    let r = fixtures::results("empty", vec![]);
    let (_d, _w, md, html) = render(&[Input::new("x", r)]);
    assert!(md.contains("no runs in this file"));
    assert!(html.contains("no runs in this file"));
}

#[test]
fn capacity_steps_stay_in_the_capacity_section() {
    let mut r = fixtures::smoke();
    for bots in [500, 1000] {
        let mut step = fixtures::run("polling-bot", "polling", None, &Figures::default());
        step.bots = bots;
        step.latency_ms.p99 = 4321.0;
        r.runs.push(step);
    }
    let (_d, _w, md, _) = render(&[Input::new("cap", r.clone())]);
    assert!(!md.contains("4,321"), "steps are not summary rows");
    assert!(md.contains("| webhook-bot |"), "a SUT run once is");
    // In a plain results file, the same SUT at several bot counts gets a row each.
    r.capacity.clear();
    let (_d, _w, md, _) = render(&[Input::new("cap", r)]);
    assert!(md.contains("| polling-bot @ 1,000 bots |"), "{md}");
    assert!(md.contains("| polling-bot @ 100 bots |"));
}

/// The summary `tgbench run` prints: every run (not folded), its notes, capacity curves,
/// whether the run finished and where its results are.
#[test]
fn the_console_summary_lists_every_run_with_its_notes() {
    let mut r = fixtures::smoke();
    r.complete = false;
    r.incomplete_reason = Some("interrupted".into());
    r.runs[0].slo.passed = false;
    r.runs[0].slo.checks[0].passed = false;
    r.runs[1].complete = false;
    r.runs[1].incomplete_reason = Some("SUT crashed".into());
    let text = tgbench_reports::report::console::summary(&r, "results/x/results.json");
    let expected = "\
## tgbench: smoke

100 bots, RTT 100 ± 10 ms, window 60 s (warm-up 5 s, drain ≤ 2 s), seed 42. AMD EPYC 7B13, 2 cores; SUT on CPU 1, harness on CPU 0.

| SUT | phase | rep | injected | replied | lost | dup | p50 ms | p99 ms | max ms | CPU % (mean / max) | RSS MiB (peak) | req/min | SLO |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|
| polling-bot | – | 1 | 300 | 300 | 0 | 0 | 3.2 | 812.0 | 1234.0 | 2.8 / 9.8 | 24.5 | 1500 | FAIL |
| webhook-bot | – | 1 | 300 | 297 | 3 | 1 | 105.0 | 187.0 | 402.0 | 0.4 / 1.9 | 14.5 | 700 | incomplete |

- SLO missed by polling-bot (rep 1): p99_ms = 812 > 1000
- **Harness bottleneck** in webhook-bot (rep 1) — not the SUT's doing: injector fell 250 ms behind
- webhook-bot (rep 1) incomplete: SUT crashed
- Harness: injection lag p99 ≤ 250.00 ms; mock + harness CPU ≤ 1.0 % of a core (overhead, not in the SUT's figures).
- Capacity of polling-bot: **1,000** bots held; stopped by slo: p99_ms > 1000 (steps: 100 ✓, 500 ✓, 1,000 ✓, 2,000 ✗, 4,000 ✗, 8,000 ✗).
- Capacity of webhook-bot: **2,000** bots held; stopped by machine: open files (20000) (steps: 100 ✓, 500 ✓, 1,000 ✓, 2,000 ✓, 4,000 ✗, 8,000 (machine limit)).

**Incomplete run**: interrupted

Results: results/x/results.json
";
    assert_eq!(text, expected);
    // No run, no table and no harness line; the path still closes it.
    let empty = fixtures::results("empty", vec![]);
    let text = tgbench_reports::report::console::summary(&empty, "r.json");
    assert!(
        !text.contains("| SUT |") && !text.contains("Harness:"),
        "{text}"
    );
    assert!(text.ends_with("\n\nResults: r.json\n"), "{text}");
}

#[test]
fn a_decision_summary_tops_reports_that_compare_transports() {
    // Claims: over the configurations, before the verdicts, figures from the table.
    let inputs = crate::claims_inputs();
    let prices = tgbench_reports::Prices::default();
    let table = tgbench_reports::claims_table(&inputs, &prices);
    let dir = tempfile::tempdir().unwrap();
    let w = write_reports(&inputs, dir.path(), Some(&table)).unwrap();
    let md = std::fs::read_to_string(&w.markdown).unwrap();
    let html = std::fs::read_to_string(&w.html).unwrap();
    let at = |s: &str| md.find(s).unwrap_or_else(|| panic!("{s} missing:\n{md}"));
    assert!(at("## Decision summary") < at("## Claims under test"));
    let cheapest = table
        .costs
        .iter()
        .map(|c| c.always_on)
        .fold(f64::INFINITY, f64::min);
    let dearest = table.costs.iter().map(|c| c.always_on).fold(0.0, f64::max);
    assert!(dearest > cheapest * 1.1, "the fixture's costs differ");
    at(&format!(
        "at {} a month always on",
        tgbench_reports::text::usd(cheapest)
    ));
    at(&format!("costs {})", tgbench_reports::text::usd(dearest)));
    at("Needs no public endpoint: long polling 30 s;");
    at("Short polling 500 ms, no anti-spin made 12,000 Bot API requests a minute");
    assert!(html.contains(r#"<section id="decision"><h2>Decision summary</h2>"#));
    // The section as `tgbench claims` prints it is the one in report.md.
    let section =
        tgbench_reports::report::markdown::decision_section(table.decision.as_ref().unwrap());
    assert!(md.contains(&section), "{section}");

    // A plain report whose runs compare polling and webhook: the rows' figures.
    let (_d, _w, md, _) = render(&[Input::new("smoke-run", fixtures::smoke())]);
    assert!(
        md.contains(
            "Fastest typical reply (p50): polling-bot at 3.25 ms; slowest webhook-bot at 105 ms."
        ),
        "{md}"
    );
    assert!(
        md.contains("Shortest tail (p99): webhook-bot at 187 ms; longest polling-bot at 812 ms."),
        "{md}"
    );
    assert!(
        md.contains("Needs no public endpoint: polling-bot (p50 3.25 ms"),
        "{md}"
    );

    // One transport only: nothing to decide between.
    let mut one = fixtures::smoke();
    one.runs.retain(|r| r.sut.kind == "polling");
    let (_d, _w, md, html) = render(&[Input::new("polling-only", one)]);
    assert!(!md.contains("Decision summary"));
    assert!(!html.contains(r#"id="decision""#));
}

/// A search along the message rate reads as rates and messages per second — in the step
/// table, the summary, its own chart (x = messages per second) and the console — while a
/// search along the bots keeps its "bots" chart.
#[test]
fn a_capacity_along_the_rate_reads_as_messages_per_second() {
    use tgbench_reports::results::{CapacityStep, RateCurve};
    let mut r = fixtures::smoke();
    let mut rate = fixtures::capacity_curve("webhook-rate", "webhook", None, false);
    rate.steps = [
        (6.0, 100.0, true),
        (60.0, 1000.0, true),
        (600.0, 9500.0, false),
    ]
    .iter()
    .map(|&(per_bot, per_s, passed)| CapacityStep {
        bots: 1000,
        passed,
        p99_ms: if passed { 120.0 } else { 2500.0 },
        messages_per_bot_per_min: Some(per_bot),
        messages_per_s: per_s,
        ..CapacityStep::default()
    })
    .collect();
    rate.rate = Some(RateCurve {
        bots: 1000,
        max_messages_per_bot_per_min: Some(60.0),
        max_messages_per_s: Some(1000.0),
    });
    r.capacity.push(rate);
    let (_d, _w, md, html) = render(&[Input::new("cap", r.clone())]);
    for text in [&md, &html] {
        assert!(text.contains("60/bot/min = 1,000 msg/s"), "step table");
        assert!(
            text.contains("1,000 msg/s (60/bot/min at 1,000 bots)"),
            "summary"
        );
    }
    let svg = chart_svg(&html, "chart-capacity-rate").expect("a chart along the rate");
    assert!(svg.contains("messages per second"));
    assert!(
        chart_svg(&html, "chart-capacity").is_some(),
        "the bots curves keep theirs"
    );
    let console = tgbench_reports::report::console::summary(&r, "x/results.json");
    assert!(
        console
            .contains("Capacity of webhook-rate: **1,000 msg/s (60/bot/min at 1,000 bots)** held"),
        "{console}"
    );
}

/// A search along the replicas reads as replicas — in the step table, the summary ("2
/// replicas needed for 1,000 bots"), its own chart (x = replicas) and the console; a step
/// whose CPU and memory were not measured says so, never 0.
#[test]
fn a_capacity_along_the_replicas_reads_as_replicas_needed() {
    use tgbench_reports::results::{CapacityStep, ReplicaCurve};
    let mut r = fixtures::smoke();
    let mut c = fixtures::capacity_curve("polling-fleet", "polling", None, false);
    c.steps = [(1, false), (2, true)]
        .iter()
        .map(|&(n, passed)| CapacityStep {
            bots: 1000,
            passed,
            p99_ms: if passed { 120.0 } else { 2500.0 },
            cpu_mean_pct: (n == 2).then_some(80.0),
            rss_peak_mb: (n == 2).then_some(30.0),
            replicas: Some(n),
            reason: (!passed).then(|| "slo: p99_ms 2500 > 1000".to_owned()),
            ..CapacityStep::default()
        })
        .collect();
    c.stopped_by = "the first step that held".into();
    c.replicas = Some(ReplicaCurve {
        bots: 1000,
        needed: Some(2),
    });
    r.capacity.push(c);
    let (_d, _w, md, html) = render(&[Input::new("cap", r.clone())]);
    for text in [&md, &html] {
        assert!(text.contains("2 replicas needed for 1,000 bots"), "summary");
    }
    let row = md
        .lines()
        .find(|l| l.contains("| 1 replica |"))
        .unwrap_or_else(|| panic!("{md}"));
    assert_eq!(row.matches("not measured").count(), 2, "{row}");
    assert!(
        md.lines()
            .any(|l| l.contains("| 2 replicas |") && l.contains("| 80.0 |")),
        "{md}"
    );
    let svg = chart_svg(&html, "chart-capacity-replicas").expect("a chart along the replicas");
    assert!(svg.contains("replicas of the SUT"));
    let console = tgbench_reports::report::console::summary(&r, "x/results.json");
    assert!(
        console.contains(
            "Capacity of polling-fleet: **2 replicas needed for 1,000 bots**; stopped by the first step that held (steps: 1 replica ✗, 2 replicas ✓)"
        ),
        "{console}"
    );
}

/// A run whose CPU and memory were not measured (an external SUT without metrics) says so
/// in Markdown and HTML, never 0; the measured one beside it keeps its figures.
#[test]
fn unmeasured_cpu_and_memory_read_not_measured() {
    let mut r = fixtures::smoke();
    r.runs[1].cpu = None;
    r.runs[1].memory = None;
    let (_dir, _w, md, html) = render(&[Input::new("smoke", r)]);
    let line = md
        .lines()
        .find(|l| l.starts_with("| webhook-bot"))
        .unwrap_or_else(|| panic!("{md}"));
    assert_eq!(line.matches("not measured").count(), 4, "{line}");
    assert!(
        md.contains("| polling-bot")
            && !md
                .lines()
                .any(|l| l.starts_with("| polling-bot") && l.contains("not measured"))
    );
    assert!(html.contains("not measured"));
}
