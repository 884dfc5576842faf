//! The claims verdict table on hand-built results covering every verdict.

use tgbench_reports::claims::{ClaimsTable, Outcome, Verdict, claims_table};
use tgbench_reports::report::tables::claims_context;
use tgbench_reports::results::{ColdWarm, Latency, Results, Run, Serverless};
use tgbench_reports::{Input, Prices, write_reports};

use crate::fixtures::{self, Figures};

/// A run of configuration `name` in `phase` with the figures the claims read.
fn cfg_run(
    name: &str,
    phase: &str,
    bots: u64,
    cpu: f64,
    rss_peak: f64,
    by_method: Vec<(&'static str, u64)>,
    p50: f64,
) -> Run {
    let kind = if name.contains("webhook") {
        "webhook"
    } else {
        "polling"
    };
    let mut r = fixtures::run(
        name,
        kind,
        Some(phase),
        &Figures {
            p50,
            p90: p50 * 1.5,
            p99: p50 * 2.0,
            max: p50 * 3.0,
            cpu_mean: cpu,
            cpu_p95: cpu * 1.2,
            rss_mean: rss_peak * 0.9,
            rss_peak,
            by_method,
            lost: 0,
            duplicated: 0,
        },
    );
    r.bots = bots;
    for s in &mut r.timeseries {
        s.cpu_pct = cpu;
    }
    if phase == "idle" {
        r.latency_ms.count = 0;
    }
    r
}

/// The serverless configuration's run in `phase`: in the active phase the fixture's 300
/// messages in 60 s (13.14 million a month), 300 invocations of 60 ms and 4 cold starts of
/// 150 ms at 512 MB, `throttled` requests, cold p99 `cold_p99` ms, warm p99 70 ms.
fn serverless_run(phase: &str, bots: u64, throttled: u64, cold_p99: f64) -> Run {
    let active = phase == "active";
    let by_method = if active {
        vec![("webhook", 300), ("sendMessage", 300)]
    } else {
        vec![]
    };
    let mut r = cfg_run("serverless", phase, bots, 0.02, 30.0, by_method, 60.0);
    r.sut.kind = "serverless".into();
    let n = if active { 300 } else { 0 };
    let latency = |count, p99| Latency {
        count,
        p50: p99 / 2.0,
        p90: p99,
        p99,
        p999: p99,
        max: p99,
        mean: p99 / 2.0,
    };
    r.serverless = Some(Serverless {
        invocations: n,
        requests: n + throttled,
        cold_starts: if active { 4 } else { 0 },
        throttled,
        concurrency_peak: if active { 3 } else { 0 },
        concurrency_limit: 100,
        keep_warm_s: 5.0,
        billed_ms: if active { 300 * 60 + 4 * 150 } else { 0 },
        init_billed_ms: if active { 4 * 150 } else { 0 },
        memory_mb: 512,
        latency: active.then(|| ColdWarm {
            cold: latency(4, cold_p99),
            warm: latency(296, 70.0),
        }),
        ..Serverless::default()
    });
    r
}

/// The claims scenarios at 100 bots (numbers chosen per verdict, see each test).
pub fn claims_results(bots: u64) -> Vec<Input> {
    let s = bots as f64 / 100.0;
    let n = |x: u64| (x as f64 * s) as u64;
    let idle = vec![
        cfg_run(
            "long-polling-30s",
            "idle",
            bots,
            0.3 * s,
            20.0,
            vec![("getUpdates", n(200))],
            0.0,
        ),
        cfg_run(
            "short-polling-500ms",
            "idle",
            bots,
            4.0 * s,
            22.0,
            vec![("getUpdates", n(6000))],
            0.0,
        ),
        cfg_run(
            "short-polling-500ms-no-antispin",
            "idle",
            bots,
            16.0 * s,
            25.0,
            vec![("getUpdates", n(12_000))],
            0.0,
        ),
        cfg_run("webhook", "idle", bots, 0.1, 15.0, vec![], 0.0),
        cfg_run(
            "webhook-reply-in-response",
            "idle",
            bots,
            0.05,
            14.0,
            vec![],
            0.0,
        ),
    ];
    let active = vec![
        cfg_run(
            "long-polling-30s",
            "active",
            bots,
            0.9 * s,
            21.0,
            vec![("getUpdates", n(400)), ("sendMessage", n(100))],
            105.0,
        ),
        cfg_run(
            "short-polling-500ms",
            "active",
            bots,
            4.5 * s,
            23.0,
            vec![("getUpdates", n(5900)), ("sendMessage", n(100))],
            360.0,
        ),
        cfg_run(
            "short-polling-500ms-no-antispin",
            "active",
            bots,
            17.0 * s,
            26.0,
            vec![("getUpdates", n(11_900)), ("sendMessage", n(100))],
            350.0,
        ),
        cfg_run(
            "webhook",
            "active",
            bots,
            0.6 * s,
            16.0,
            vec![("webhook", n(100)), ("sendMessage", n(100))],
            110.0,
        ),
        cfg_run(
            "webhook-reply-in-response",
            "active",
            bots,
            0.4 * s,
            15.0,
            vec![("webhook", n(100))],
            105.0,
        ),
    ];
    let (mut idle, mut active) = (idle, active);
    idle.push(serverless_run("idle", bots, 0, 0.0));
    active.push(serverless_run("active", bots, 0, 240.0));
    let mut idle_r = fixtures::results("claims-idle", idle);
    let mut active_r = fixtures::results("claims-active", active);
    for r in [&mut idle_r, &mut active_r] {
        r.scenario.telegram.bots = bots;
    }
    // A capacity file also holds one run per step: those are not the claims' phases.
    let steps = vec![
        cfg_run(
            "long-polling-30s",
            "x",
            4000,
            80.0,
            500.0,
            vec![("getUpdates", 8000)],
            900.0,
        ),
        cfg_run(
            "webhook",
            "x",
            2000,
            40.0,
            300.0,
            vec![("webhook", 2000)],
            400.0,
        ),
    ]
    .into_iter()
    .map(|mut r| {
        r.phase = None;
        r
    })
    .collect();
    let mut cap: Results = fixtures::results("claims-capacity", steps);
    cap.capacity = vec![
        fixtures::capacity_curve("long-polling-30s", "polling", Some(4000), false),
        fixtures::capacity_curve("short-polling-500ms", "polling", Some(200), false),
        fixtures::capacity_curve(
            "short-polling-500ms-no-antispin",
            "polling",
            Some(100),
            false,
        ),
        fixtures::capacity_curve("webhook", "webhook", Some(2000), true),
        fixtures::capacity_curve("webhook-reply-in-response", "webhook", Some(1000), true),
    ];
    vec![
        Input::new("idle", idle_r),
        Input::new("active", active_r),
        Input::new("capacity", cap),
    ]
}

fn row<'t>(t: &'t ClaimsTable, starts: &str) -> &'t tgbench_reports::claims::ClaimRow {
    t.rows
        .iter()
        .find(|r| r.claim.starts_with(starts))
        .unwrap_or_else(|| panic!("no row {starts}"))
}

fn outcome(t: &ClaimsTable, claim: &str, config: &str) -> Outcome {
    row(t, claim)
        .cells
        .iter()
        .find(|c| c.config == config)
        .unwrap()
        .outcome
        .clone()
}

const NO_ANTISPIN: &str = "polling is short polling (500 ms) without anti-spin";
const ANTISPIN: &str = "polling is short polling (500 ms) with Telegram's anti-spin rule";

#[test]
fn every_verdict_on_hand_built_results() {
    let t = claims_table(&claims_results(100), &Prices::default());
    assert_eq!(t.rows.len(), 13);
    assert_eq!(
        t.columns.len(),
        6,
        "no aiogram columns without aiogram runs"
    );

    // Idle CPU: only the no-anti-spin model burns 15-20 %; webhooks idle near 0.
    let idle = row(&t, "CPU usage when idle");
    assert_eq!(idle.verdict, Verdict::HoldsOnlyWhen(NO_ANTISPIN.into()));
    assert_eq!(
        idle.reason,
        "polling claimed 15-20 %: met by short polling, no anti-spin (16.0 %); missed by long polling (0.30 %), short polling (4.00 %)"
    );
    assert_eq!(
        outcome(&t, "CPU usage when idle", "webhook"),
        Outcome::Holds
    );

    // Memory: 800 MB nowhere near 20-26 MB.
    let mem = row(&t, "Memory");
    assert_eq!(mem.verdict, Verdict::DoesNotHold);
    assert_eq!(
        mem.reason,
        "polling claimed 800 MB, measured 21.0 MB to 26.0 MB; webhook claimed 200 MB, measured 15.0 MB to 16.0 MB"
    );

    // Requests: 12,000 only without anti-spin; ~100 only when replying in the response
    // (a sendMessage call doubles the webhook's requests).
    let rpm = row(&t, "Network requests");
    assert_eq!(
        rpm.verdict,
        Verdict::HoldsOnlyWhen(format!(
            "{NO_ANTISPIN}, and the webhook replies in the HTTP response"
        ))
    );
    let cell = rpm
        .cells
        .iter()
        .find(|c| c.config == "short-polling-500ms-no-antispin")
        .unwrap();
    assert_eq!(cell.text, "12,000/min");

    // Latency: polling answered in 0.1-0.4 s, never 1-2 s.
    assert_eq!(row(&t, "Response latency").verdict, Verdict::DoesNotHold);
    assert_eq!(
        row(&t, "Polling has a \"1-30 s delay\"").verdict,
        Verdict::DoesNotHold
    );

    // Max bots: 200 for short polling (both), not for long polling (4,000); webhook
    // ≥ 2,000 where the machine stopped the search, inconclusive at ≥ 1,000.
    let max = row(&t, "Max bots");
    assert_eq!(
        max.verdict,
        Verdict::HoldsOnlyWhen(format!("{ANTISPIN} or {NO_ANTISPIN}"))
    );
    assert_eq!(outcome(&t, "Max bots", "webhook"), Outcome::Holds);
    assert_eq!(
        outcome(&t, "Max bots", "webhook-reply-in-response"),
        Outcome::Inconclusive
    );

    // Cost: every configuration fits in one small size, $9-16 a month.
    let cost = row(&t, "Server cost");
    assert_eq!(cost.verdict, Verdict::DoesNotHold);
    assert_eq!(cost.cells[0].text, "$9.01/mo", "0.25 vCPU + 0.5 GB × 730 h");
    assert_eq!(
        cost.cells[2].text, "$16.40/mo",
        "20 % p95 CPU needs 0.5 vCPU"
    );

    // Constant CPU: short polling is busy in every idle sample, long polling in none.
    assert_eq!(
        row(&t, "Polling costs").verdict,
        Verdict::HoldsOnlyWhen(format!("{ANTISPIN} or {NO_ANTISPIN}"))
    );
    assert_eq!(
        outcome(&t, "Polling costs", "webhook"),
        Outcome::NotApplicable
    );

    // 0 % CPU when idle: 0.10 % and 0.05 % are within 0.25 points.
    assert_eq!(row(&t, "Webhook is").verdict, Verdict::Holds);

    // 10,000 bots: 3, 50 and 100 servers for polling; webhook bounds are inconclusive.
    let scaling = row(&t, "10,000 bots");
    assert_eq!(scaling.verdict, Verdict::Holds);
    assert_eq!(outcome(&t, "10,000 bots", "webhook"), Outcome::Inconclusive);
    let long = &scaling.cells[0];
    assert_eq!(long.text, "3 servers");

    // The context the table states.
    assert!(t.context.machine.contains("AMD EPYC 7B13"));
    assert_eq!(t.context.rtt, "100 ms ± 10.0 ms");
    assert_eq!(t.context.bots, vec![100]);
    assert!(
        !claims_context(&t).contains("scaled"),
        "100 bots need no scaling"
    );
}

#[test]
fn the_latency_verdict_says_where_each_configurations_latency_goes() {
    let mut inputs = claims_results(100);
    let without = claims_table(&inputs, &Prices::default());
    assert!(
        !row(&without, "Response latency")
            .reason
            .contains("Where it goes"),
        "no split in the results, none in the reason"
    );
    for input in &mut inputs {
        for run in &mut input.results.runs {
            match (run.sut.name.as_str(), run.phase.as_deref()) {
                ("long-polling-30s", Some("active")) => fixtures::with_split(run, 95.0, 110.0),
                ("webhook", Some("active")) => fixtures::with_split(run, 51.0, 60.0),
                _ => {}
            }
        }
    }
    let t = claims_table(&inputs, &Prices::default());
    let latency = row(&t, "Response latency");
    assert_eq!(latency.verdict, row(&without, "Response latency").verdict);
    assert!(
        latency.reason.ends_with(
            ". Where it goes (mean per reply): long polling 95.0 ms in Telegram + 110 ms \
             delivery to reply; webhook 51.0 ms in Telegram + 60.0 ms delivery to reply"
        ),
        "{}",
        latency.reason
    );
    // Only the latency verdict carries it.
    assert!(!row(&t, "Memory").reason.contains("Where it goes"));
    // The context says which shape the columns were measured in.
    assert!(
        claims_context(&t).contains("; plain HTTP on both sides."),
        "{}",
        claims_context(&t)
    );
}

/// `tgbench claims --load FILE`: the context line names the file and the load it held;
/// with the scenario's own load it says nothing about the load.
#[test]
fn a_load_from_a_file_is_named_in_the_context() {
    let mut inputs = claims_results(100);
    assert!(!claims_context(&claims_table(&inputs, &Prices::default())).contains("load:"));
    let active = &mut inputs[1].results.scenario;
    active.file = format!(
        "embedded:claims-100{}scenarios/loads/daily-zipf.toml",
        tgbench_reports::claims::LOAD_FROM
    );
    active.load = serde_json::json!({
        "model": "poisson",
        "messages_per_bot_per_min": 6.0,
        "zipf_s": 1.1,
        "diurnal": { "peak_hour": 20.0, "trough_ratio": 0.1, "day_s": 12.0, "start_hour": 0.0 },
    });
    let context = claims_context(&claims_table(&inputs, &Prices::default()));
    assert!(
        context.contains(
            "; load: from scenarios/loads/daily-zipf.toml: poisson, 6 per bot per minute, \
             Zipf 1.1, daily curve (peak hour 20, trough 0.1, day 12 s)."
        ),
        "{context}"
    );
}

#[test]
fn fewer_bots_are_scaled_to_the_claims_hundred() {
    let t = claims_table(&claims_results(20), &Prices::default());
    let idle = row(&t, "CPU usage when idle");
    assert_eq!(idle.verdict, Verdict::HoldsOnlyWhen(NO_ANTISPIN.into()));
    let cell = &idle.cells[2];
    assert_eq!(cell.text, "16.0 %", "3.2 % at 20 bots → 16 % at 100");
    assert_eq!(t.context.bots, vec![20]);
    assert!(claims_context(&t).contains("scaled linearly to 100 bots"));
    let rpm = &row(&t, "Network requests").cells[2];
    assert_eq!(rpm.text, "12,000/min");
}

#[test]
fn aiogram_runs_become_extra_columns_that_count() {
    let mut inputs = claims_results(100);
    let extra = vec![
        cfg_run(
            "aiogram-polling",
            "active",
            100,
            18.0,
            850.0,
            vec![("getUpdates", 3000)],
            1500.0,
        ),
        cfg_run(
            "aiogram-webhook",
            "active",
            100,
            2.0,
            210.0,
            vec![("webhook", 100)],
            250.0,
        ),
    ];
    inputs.push(Input::new(
        "aiogram",
        fixtures::results("claims-aiogram", extra),
    ));
    let t = claims_table(&inputs, &Prices::default());
    let names: Vec<&str> = t.columns.iter().map(|c| c.name).collect();
    assert_eq!(&names[6..], ["aiogram-polling", "aiogram-webhook"]);
    assert_eq!(
        row(&t, "Memory").verdict,
        Verdict::HoldsOnlyWhen(
            "the bots run on aiogram's polling, and the bots run on aiogram's webhook".into()
        )
    );
    let latency = row(&t, "Response latency");
    assert_eq!(
        latency.verdict,
        Verdict::HoldsOnlyWhen("the bots run on aiogram's polling".into()),
        "{}",
        latency.reason
    );
    assert_eq!(
        outcome(&t, "CPU usage when idle", "aiogram-polling"),
        Outcome::NotMeasured,
        "no idle run of aiogram"
    );
}

/// `tgbench claims --stack python-telegram-bot,grammy`: each framework's results are an
/// input of their own; their columns follow the Rust ones in the order of the
/// configurations, and a figure that holds on some stacks only names them (made up: no
/// grammY bot needs 820 MB).
#[test]
fn framework_stacks_become_columns_and_a_verdict_names_the_stack_it_holds_on() {
    let mut inputs = claims_results(100);
    inputs.push(Input::new(
        "grammy",
        fixtures::results(
            "stack-grammy",
            vec![cfg_run(
                "grammy-polling",
                "active",
                100,
                3.0,
                820.0,
                vec![("getUpdates", 600)],
                120.0,
            )],
        ),
    ));
    inputs.push(Input::new(
        "python-telegram-bot",
        fixtures::results(
            "stack-python-telegram-bot",
            vec![cfg_run(
                "ptb-gunicorn-sync-2",
                "active",
                100,
                4.0,
                190.0,
                vec![("webhook", 600)],
                130.0,
            )],
        ),
    ));
    let t = claims_table(&inputs, &Prices::default());
    let names: Vec<&str> = t.columns.iter().map(|c| c.name).collect();
    assert_eq!(&names[6..], ["ptb-gunicorn-sync-2", "grammy-polling"]);
    let labels: Vec<&str> = t.columns.iter().map(|c| c.label).collect();
    assert_eq!(labels[6], "Flask + Gunicorn, 2 sync workers");
    let memory = row(&t, "Memory");
    assert_eq!(
        memory.verdict,
        Verdict::HoldsOnlyWhen(
            "the bots run on grammY's polling, and the webhook is Flask under Gunicorn with 2 \
             sync workers"
                .into()
        ),
        "{}",
        memory.reason
    );
}

#[test]
fn the_serverless_column_is_judged_on_the_plans_three_claims_with_the_traffic_they_hold_at() {
    let t = claims_table(&claims_results(100), &Prices::default());
    let cell = |claim: &str| {
        row(&t, claim)
            .cells
            .iter()
            .find(|c| c.config == "serverless")
            .unwrap()
            .clone()
    };
    // Only the serverless column speaks to these claims, and it is not judged on the
    // always-on ones.
    assert_eq!(
        outcome(&t, "Serverless: pay-per-request", "webhook"),
        Outcome::NotApplicable
    );
    assert_eq!(
        outcome(&t, "Server cost", "serverless"),
        Outcome::NotApplicable
    );

    // Cost: (300 × $0.0000002 + 9.3 GB-s × $0.0000166667) / 300 = $0.000000717 a message;
    // at 13.14 million messages a month that is $9.42 against long polling's $9.01 (its
    // smallest size, far from full): dearer, meeting it at ~12.6 million.
    let cost = cell("Serverless: pay-per-request");
    assert_eq!(cost.outcome, Outcome::Fails, "{}", cost.text);
    assert!(
        cost.text.starts_with(
            "1.05 × long polling ($9.42/mo vs $9.01/mo at 13,140,000 messages/mo; cheaper below ~12,5"
        ),
        "{}",
        cost.text
    );
    assert_eq!(
        row(&t, "Serverless: pay-per-request").verdict,
        Verdict::DoesNotHold
    );

    // Scaling: nothing throttled, 3 of 100 environments at 300 messages a minute.
    let scaling = cell("Serverless: scaling");
    assert_eq!(scaling.outcome, Outcome::Holds);
    assert_eq!(
        scaling.text,
        "0 throttled (peak 3 environments at 300 messages/min, 0 lost; the limit of 100 would be reached at ~10,000 messages/min)"
    );

    // Instant: the cold p99 of 240 ms is within 0.3 s (+10 %).
    let instant = cell("Serverless: response");
    assert_eq!(instant.outcome, Outcome::Holds, "{}", instant.text);
    assert!(
        instant.text.starts_with(
            "p99 240 ms (cold p99 240 ms (4 of 300 messages cold), warm p99 70.0 ms; environments stay warm only with a message every 5.00 s (keep-warm): ≥ ~525,600 messages/mo, AWS's ~600 s: ≥ ~4,380"
        ),
        "{}",
        instant.text
    );

    // Throttled requests and slow cold starts turn the same claims over.
    let mut inputs = claims_results(100);
    let active = &mut inputs[1].results.runs;
    active.retain(|r| r.sut.name != "serverless");
    active.push(serverless_run("active", 100, 7, 900.0));
    let t = claims_table(&inputs, &Prices::default());
    assert_eq!(row(&t, "Serverless: scaling").verdict, Verdict::DoesNotHold);
    assert!(
        row(&t, "Serverless: scaling")
            .reason
            .contains("7 throttled"),
        "{}",
        row(&t, "Serverless: scaling").reason
    );
    assert_eq!(
        row(&t, "Serverless: response").verdict,
        Verdict::DoesNotHold
    );
}

#[test]
fn no_runs_means_not_measured_not_a_verdict() {
    let t = claims_table(&[], &Prices::default());
    assert!(t.rows.iter().all(|r| r.verdict == Verdict::NotMeasured));
}

#[test]
fn the_table_goes_on_top_of_both_reports() {
    let inputs = claims_results(100);
    let t = claims_table(&inputs, &Prices::default());
    let dir = tempfile::tempdir().unwrap();
    let w = write_reports(&inputs, dir.path(), Some(&t)).unwrap();
    let md = std::fs::read_to_string(w.markdown).unwrap();
    let html = std::fs::read_to_string(w.html).unwrap();
    let claims_at = md.find("## Claims under test").unwrap();
    assert!(claims_at < md.find("## Summary").unwrap());
    for text in [&md, &html] {
        for needle in [
            "holds only when",
            "does not hold",
            "AMD EPYC 7B13",
            "100 ms ± 10.0 ms",
            "100 bots per run",
            "short polling 500 ms, no anti-spin",
            "servers for 10,000 bots",
            "$9.01",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
    }
    assert!(md.contains("| Memory: polling 800 MB, webhook 200 MB |"));
    assert!(html.contains(r#"<table class="claims cards">"#));
    crate::report::assert_self_contained(&html);
}

#[test]
fn three_runs_that_disagree_make_a_cell_inconclusive_with_its_margin() {
    let mut inputs = claims_results(100);
    // Short polling (anti-spin) idles at 0.5 %, 0.9 % and 3.0 % of a core in its three
    // runs: "constant CPU" (≥ 1 % in ≥ 80 % of 5 s windows) is met by one run only. No
    // antispin runs three times at 16 %: the runs agree, the cell stays decided.
    let idle = &mut inputs[0].results.runs;
    let base = |name: &str| idle.iter().find(|r| r.sut.name == name).unwrap().clone();
    let (short, spin) = (
        base("short-polling-500ms"),
        base("short-polling-500ms-no-antispin"),
    );
    idle.retain(|r| r.sut.name != "short-polling-500ms");
    for (rep, cpu) in [0.5, 0.9, 3.0].into_iter().enumerate() {
        let mut r = short.clone();
        r.repetition = rep as u32;
        r.cpu.as_mut().unwrap().mean_pct = cpu;
        for s in &mut r.timeseries {
            s.cpu_pct = cpu;
        }
        idle.push(r);
    }
    for rep in 1..3 {
        let mut r = spin.clone();
        r.repetition = rep;
        idle.push(r);
    }
    let t = claims_table(&inputs, &Prices::default());
    let constant = row(&t, "Polling costs");
    let cell = |config: &str| {
        constant
            .cells
            .iter()
            .find(|c| c.config == config)
            .unwrap()
            .clone()
    };
    let short = cell("short-polling-500ms");
    assert_eq!(short.outcome, Outcome::Inconclusive, "{}", short.text);
    assert!(
        short.text.contains(
            "inconclusive: 0 % of windows to 100 % of windows (3 runs) straddles 80.0 % of windows"
        ),
        "{}",
        short.text
    );
    let spin = cell("short-polling-500ms-no-antispin");
    assert_eq!(spin.outcome, Outcome::Holds, "{}", spin.text);
    assert_eq!(
        spin.text, "100 % of windows (mean 16.0 % CPU)",
        "identical runs"
    );
    // The inconclusive cell is left out of the row: it holds where the runs agreed.
    assert_eq!(constant.verdict, Verdict::HoldsOnlyWhen(NO_ANTISPIN.into()));
    // The same runs' idle CPU is far below the claimed 15-20 % in every run: decided.
    assert_eq!(
        outcome(&t, "CPU usage when idle", "short-polling-500ms"),
        Outcome::Fails
    );
}

/// A `--stack` run adds the framework comparison under the costs: every configuration with
/// what it is (its `about`) and what it cost; CPU per 1,000 messages is the active phase's
/// CPU time above the idle rate per answered message. The reference servers alone get none.
#[test]
fn a_framework_stack_adds_the_comparison_with_cpu_per_thousand_messages() {
    let without = claims_table(&claims_results(100), &Prices::default());
    assert!(without.frameworks.is_none());
    let dir = tempfile::tempdir().unwrap();
    let w = write_reports(&claims_results(100), dir.path(), Some(&without)).unwrap();
    assert!(
        !std::fs::read_to_string(w.markdown)
            .unwrap()
            .contains("Framework comparison")
    );

    let mut inputs = claims_results(100);
    let about = "grammY 1.46.0 on Node.js; bot.start() per bot";
    // Idle 2 % of a core (1.2 CPU-s in 60 s), active 7 % (4.2 CPU-s), 300 answered:
    // (4.2 - 0.02 × 60) / 300 × 1,000 = 10 CPU-s per 1,000 messages.
    let mut runs = vec![
        cfg_run("grammy-polling", "idle", 100, 2.0, 60.0, vec![], 0.0),
        cfg_run(
            "grammy-polling",
            "active",
            100,
            7.0,
            70.0,
            vec![("getUpdates", 600)],
            120.0,
        ),
    ];
    for r in &mut runs {
        r.sut.about = Some(about.into());
    }
    inputs.push(Input::new(
        "grammy",
        fixtures::results("stack-grammy", runs),
    ));
    let t = claims_table(&inputs, &Prices::default());
    let lines = t.frameworks.as_ref().expect("a stack was measured");
    let names: Vec<&str> = lines.iter().map(|l| l.config).collect();
    assert_eq!(names.last(), Some(&"grammy-polling"));
    assert!(names.contains(&"long-polling-30s") && names.contains(&"webhook"));
    let g = lines.last().unwrap();
    assert_eq!(g.about.as_deref(), Some(about));
    assert!((g.cpu_s_per_1000.unwrap() - 10.0).abs() < 1e-9, "{g:?}");
    assert_eq!(g.idle_cpu_pct, Some(2.0));
    assert_eq!(g.rss_peak_mb, Some(70.0));
    assert_eq!((g.replied, g.lost, g.bots), (300, 0, 100));
    assert_eq!(g.capacity, None, "no capacity search of grammY ran");

    // With --stack-capacity, the stack's capacity search fills the column (curves found by
    // their SUT's name, in a results file of their own).
    let mut cap = fixtures::results("capacity", vec![]);
    cap.capacity = vec![fixtures::capacity_curve(
        "grammy-polling",
        "polling",
        Some(2000),
        false,
    )];
    inputs.push(Input::new("grammy-capacity", cap));
    let t = claims_table(&inputs, &Prices::default());
    let g = t.frameworks.as_ref().unwrap().last().unwrap().clone();
    assert_eq!(g.config, "grammy-polling");
    assert_eq!(g.capacity.as_deref(), Some("2,000"));
    assert!(
        (g.cpu_s_per_1000.unwrap() - 10.0).abs() < 1e-9,
        "phases still read"
    );

    // A framework server that failed (here: not ready) is in the comparison, marked, even
    // without a single run; the others keep their figures.
    let mut ptb = fixtures::results("stack-python-telegram-bot", vec![]);
    ptb.failed_suts = vec![tgbench_reports::results::SutFailure {
        sut: "ptb-polling".into(),
        reason: "SUT ptb-polling exited (exit code 1) before it was ready\ntraceback…".into(),
    }];
    inputs.push(Input::new("python-telegram-bot", ptb));
    let t = claims_table(&inputs, &Prices::default());
    let lines = t.frameworks.as_ref().unwrap();
    let failed = lines
        .iter()
        .find(|l| l.config == "ptb-polling")
        .expect("listed");
    assert_eq!(
        failed.failed.as_deref(),
        Some("SUT ptb-polling exited (exit code 1) before it was ready")
    );
    assert_eq!((failed.replied, failed.p99_ms), (0, None));

    let dir = tempfile::tempdir().unwrap();
    let w = write_reports(&inputs, dir.path(), Some(&t)).unwrap();
    let md = std::fs::read_to_string(w.markdown).unwrap();
    let html = std::fs::read_to_string(w.html).unwrap();
    assert!(
        md.contains(
            "| polling | FAILED: SUT ptb-polling exited (exit code 1) before it was ready | 0 |"
        ),
        "{md}"
    );
    let at = md.find("### Framework comparison").expect("the section");
    assert!(at > md.find("### Cost per transport").unwrap());
    assert!(md[at..].contains(&format!("| grammY polling | polling | {about} | 100 |")));
    assert!(md[at..].contains("| 10.0 |"), "{}", &md[at..]);
    assert!(html.contains(r#"<table class="frameworks cards">"#));
    assert!(html.contains("grammY 1.46.0 on Node.js"));
}
