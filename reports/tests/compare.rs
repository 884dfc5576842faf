//! The regression gate: its three exit codes, its noise test, its GitHub annotations.

use tgbench_reports::compare::{Noise, Status};
use tgbench_reports::results::Results;
use tgbench_reports::{Outcome, OutputFormat, Thresholds, compare, compare_files};

use crate::fixtures;

fn slower(by: f64) -> Results {
    let mut r = fixtures::smoke();
    r.runs[0].latency_ms.p99 *= by;
    r
}

#[test]
fn same_results_exit_0() {
    let c = compare(
        &fixtures::smoke(),
        &fixtures::smoke(),
        &Thresholds::default(),
    );
    assert_eq!(c.outcome, Outcome::Ok);
    assert_eq!(c.exit_code(), 0);
    let md = c.render(OutputFormat::Markdown);
    assert!(md.contains("**ok: no metric regressed beyond its limit**"));
    assert!(
        md.contains("| polling-bot | p99 latency (ms) | 812 | 812 | +0 % | +10.0 % | – | ✅ ok |")
    );
    let gh = c.render(OutputFormat::Github);
    assert!(gh.starts_with("::notice title=tgbench compare%3A ok::"));
}

#[test]
fn a_slower_p99_exits_1_naming_the_metric() {
    let c = compare(&fixtures::smoke(), &slower(1.25), &Thresholds::default());
    assert_eq!(
        c.outcome,
        Outcome::Regression(vec!["p99 (polling-bot)".into()])
    );
    assert_eq!(c.exit_code(), 1);
    assert!(c.render(OutputFormat::Markdown).contains(
        "| polling-bot | p99 latency (ms) | 812 | 1,015 | +25.0 % | +10.0 % | – | ❌ regression |"
    ));
    let gh = c.render(OutputFormat::Github);
    let first = gh.lines().next().unwrap();
    assert_eq!(
        first,
        "::error title=tgbench regression%3A p99 (polling-bot)::p99 latency (ms): 812 → 1,015 (+25.0 %25; limit +10.0 %25)"
    );
    // A looser limit lets it pass; an absolute one counts in ms.
    let loose = Thresholds::parse("p99=30%").unwrap();
    assert_eq!(
        compare(&fixtures::smoke(), &slower(1.25), &loose).exit_code(),
        0
    );
    let abs = Thresholds::parse("p99=150").unwrap();
    assert_eq!(
        compare(&fixtures::smoke(), &slower(1.25), &abs).exit_code(),
        1
    );
    // Faster is never a regression.
    assert_eq!(
        compare(&slower(1.25), &fixtures::smoke(), &Thresholds::default()).exit_code(),
        0
    );
}

#[test]
fn cpu_and_rss_are_gated_by_default() {
    let mut cur = fixtures::smoke();
    cur.runs[0].cpu.as_mut().unwrap().mean_pct *= 1.5; // 2.75 → 4.13 % of a core
    cur.runs[1].memory.as_mut().unwrap().rss_peak_mb *= 1.2; // 14.5 → 17.4 MB
    let c = compare(&fixtures::smoke(), &cur, &Thresholds::default());
    assert_eq!(
        c.outcome,
        Outcome::Regression(vec!["cpu (polling-bot)".into(), "rss (webhook-bot)".into()])
    );
}

#[test]
fn tiny_absolute_changes_are_below_the_noise_floor() {
    // +50 % of 0.42 % of a core is 0.21 points; +20 % of 5 MB is 1 MB: sampling noise.
    let mut base = fixtures::smoke();
    base.runs[1].memory.as_mut().unwrap().rss_peak_mb = 5.0;
    let mut cur = base.clone();
    cur.runs[1].cpu.as_mut().unwrap().mean_pct *= 1.5;
    cur.runs[1].memory.as_mut().unwrap().rss_peak_mb = 6.0;
    let c = compare(&base, &cur, &Thresholds::default());
    assert_eq!(
        c.outcome,
        Outcome::Ok,
        "{}",
        c.render(OutputFormat::Markdown)
    );
    // An absolute limit is taken as given.
    let strict = Thresholds::parse("cpu=0.1").unwrap();
    assert_eq!(compare(&base, &cur, &strict).exit_code(), 1);
}

#[test]
fn unusable_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("baseline.json");
    std::fs::write(&good, serde_json::to_string(&fixtures::smoke()).unwrap()).unwrap();
    let garbage = dir.path().join("current.json");
    std::fs::write(&garbage, "not json").unwrap();
    let c = compare_files(&good, &garbage, &Thresholds::default());
    assert_eq!(c.exit_code(), 2);
    match &c.outcome {
        Outcome::Unusable(why) => assert!(why.contains("current.json"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(
        c.render(OutputFormat::Github)
            .starts_with("::error title=tgbench compare%3A unusable input::")
    );
    let missing = compare_files(&good, &dir.path().join("nope.json"), &Thresholds::default());
    assert_eq!(missing.exit_code(), 2);
    assert_eq!(
        compare_files(&good, &good, &Thresholds::default()).exit_code(),
        0
    );

    let mut other = fixtures::smoke();
    other.scenario.name = "steady".into();
    assert_eq!(
        compare(&fixtures::smoke(), &other, &Thresholds::default()).exit_code(),
        2
    );

    let mut cut = fixtures::smoke();
    cut.complete = false;
    let c = compare(&fixtures::smoke(), &cut, &Thresholds::default());
    assert_eq!(c.exit_code(), 2);

    let mut renamed = fixtures::smoke();
    for r in &mut renamed.runs {
        r.sut.name.push_str("-v2");
    }
    let c = compare(&fixtures::smoke(), &renamed, &Thresholds::default());
    assert_eq!(
        c.outcome,
        Outcome::Unusable("no SUT is in both files".into())
    );
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("polling-bot-v2 is only in the current run"))
    );

    let mut silent = fixtures::smoke();
    silent.runs[0].latency_ms.count = 0;
    assert_eq!(
        compare(&fixtures::smoke(), &silent, &Thresholds::default()).exit_code(),
        2
    );
}

/// `reps` repetitions of one SUT whose p99 (from stored histograms) is `centers[i]` ms.
fn repeated(centers: &[f64]) -> Results {
    let runs = centers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut r = fixtures::run("w", "webhook", None, &fixtures::Figures::default());
            r.repetition = i as u32;
            r.latency_ms.p99 = 1.0; // stale on purpose: the histogram is what counts
            r.latency_histogram = fixtures::histogram_around(*c, 200);
            r
        })
        .collect();
    fixtures::results("smoke", runs)
}

#[test]
fn with_three_repetitions_noise_does_not_cry_wolf() {
    // Means +20 %, but the repetitions overlap widely: within noise, exit 0.
    let base = repeated(&[100.0, 160.0, 70.0]);
    let noisy = repeated(&[150.0, 80.0, 167.0]);
    let c = compare(&base, &noisy, &Thresholds::default());
    let d = c.deltas.iter().find(|d| d.metric.key() == "p99").unwrap();
    assert!(d.change > 0.10, "over the limit: {}", d.change);
    assert!(
        matches!(d.noise, Noise::Interval(lo, _) if lo <= 0.0),
        "{:?}",
        d.noise
    );
    assert_eq!(d.status, Status::Noise);
    assert_eq!(c.exit_code(), 0);
    assert!(c.render(OutputFormat::Github).contains(
        "::warning title=tgbench over the limit but within run-to-run noise%3A p99 (w)::"
    ));

    // A clear shift with tight repetitions is a regression.
    let base = repeated(&[100.0, 101.0, 99.0]);
    let slow = repeated(&[130.0, 131.0, 129.0]);
    let c = compare(&base, &slow, &Thresholds::default());
    let d = c.deltas.iter().find(|d| d.metric.key() == "p99").unwrap();
    assert!(
        matches!(d.noise, Noise::Interval(lo, _) if lo > 0.2),
        "{:?}",
        d.noise
    );
    assert_eq!(c.exit_code(), 1);
    // Same inputs, same verdict: the bootstrap is seeded.
    assert_eq!(c, compare(&base, &slow, &Thresholds::default()));
}

#[test]
fn two_repetitions_are_not_enough_for_the_noise_test() {
    let c = compare(
        &repeated(&[100.0, 101.0]),
        &repeated(&[130.0, 131.0]),
        &Thresholds::default(),
    );
    assert!(c.deltas.iter().all(|d| d.noise == Noise::NotAssessed));
    assert_eq!(c.exit_code(), 1);
    assert!(c.notes.iter().any(|n| n.contains("noise is not assessed")));
}

#[test]
fn unmeasured_cpu_and_memory_are_not_compared_and_say_so() {
    let mut base = fixtures::smoke();
    base.runs[0].cpu = None;
    let mut cur = base.clone();
    cur.runs[1].memory.as_mut().unwrap().rss_peak_mb *= 1.2;
    let c = compare(&base, &cur, &Thresholds::default());
    assert_eq!(
        c.outcome,
        Outcome::Regression(vec!["rss (webhook-bot)".into()])
    );
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("polling-bot") && n.contains("cpu not compared: not measured")),
        "{:?}",
        c.notes
    );
}
