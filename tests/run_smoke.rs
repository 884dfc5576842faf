//! `tgbench run smoke` end to end: the real mock, the real reference bot servers (long
//! polling, then webhook), exact counts: every scheduled message injected, every one
//! answered, none lost, and the latency histogram holding exactly one sample each, split
//! into its two parts (in Telegram, delivery to reply) that add up to it.

use std::time::Duration;

use clap::Parser;
use tgbench::scenario::{self, Model};
use tgbench::schedule;
use tgbench::send::SendKind;
use tgbench_reports::histogram;

use crate::sim_support::{binaries, read_results};

#[test]
fn smoke_runs_both_reference_transports_with_exact_counts() {
    binaries();
    let out = tempfile::tempdir().unwrap();
    let code = tgbench::run_cli(tgbench::Cli::parse_from([
        "tgbench",
        "run",
        "smoke",
        "--no-progress",
        "--out",
        out.path().to_str().unwrap(),
    ]));
    let r = read_results(out.path());
    assert_eq!(
        code,
        0,
        "exit code; results: {:#?}",
        r.runs
            .iter()
            .map(|x| (&x.sut.name, &x.slo, &x.harness))
            .collect::<Vec<_>>()
    );
    assert!(r.complete && r.incomplete_reason.is_none());
    assert_eq!(r.scenario.file, "embedded:smoke");
    assert!(r.environment.cores >= 1 && !r.environment.pinning.is_empty());

    // What the schedule says the window sends, computed independently of the run.
    let s = scenario::load("smoke").unwrap();
    let segments = s.segments();
    let (index, window) = segments
        .iter()
        .enumerate()
        .find(|(_, seg)| seg.measured)
        .unwrap();
    assert_eq!(window.load.model, Model::Poisson);
    let seed = s.seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let plan = schedule::build(&window.load, s.telegram.bots, window.duration, seed);
    let messages = plan.iter().filter(|x| x.kind == SendKind::Message).count() as u64;
    let callbacks = plan.len() as u64 - messages;
    assert!(messages > 10 && callbacks > 0, "{messages} {callbacks}");
    // Requests are counted over the window only; a message due in its last RTT is answered
    // in the drain. Every message due a second or more before the end has its reply here.
    let settled = |kind: SendKind| {
        plan.iter()
            .filter(|x| x.kind == kind && x.at + Duration::from_secs(1) <= window.duration)
            .count() as u64
    };
    let (messages_settled, callbacks_settled) =
        (settled(SendKind::Message), settled(SendKind::Callback));
    assert!(messages_settled > 5, "{messages_settled} of {messages}");

    let names: Vec<&str> = r.runs.iter().map(|x| x.sut.name.as_str()).collect();
    assert_eq!(names, ["polling", "webhook"]);
    for run in &r.runs {
        let who = &run.sut.name;
        let u = &run.updates;
        assert_eq!(
            u.injected,
            plan.len() as u64,
            "{who}: injected = the schedule"
        );
        assert_eq!(u.replied, u.injected, "{who}: every update answered");
        assert_eq!(u.delivered, u.injected, "{who}");
        assert_eq!(u.lost, 0, "{who}");
        assert_eq!(u.duplicated, 0, "{who}");
        assert_eq!(run.latency_ms.count, u.replied, "{who}");
        assert_eq!(
            histogram::decode(&run.latency_histogram).unwrap().len(),
            u.replied
        );
        // Where the latency went: both parts hold every reply, and add up to the total
        // (HdrHistogram's 3 significant figures: the sums agree within that rounding).
        let split = run.latency_split.as_ref().expect("latency_split");
        let count_and_sum = |h: &str| {
            let h = histogram::decode(h).unwrap();
            (h.len(), h.mean() * h.len() as f64)
        };
        let (n_total, total) = count_and_sum(&run.latency_histogram);
        let (n_in, in_telegram) = count_and_sum(&split.in_telegram_histogram);
        let (n_out, delivery) = count_and_sum(&split.delivery_to_reply_histogram);
        assert_eq!((n_in, n_out), (n_total, n_total), "{who}");
        assert_eq!(split.in_telegram.count, u.replied, "{who}");
        assert!(
            (in_telegram + delivery - total).abs() <= total * 2e-3,
            "{who}: parts {in_telegram} + {delivery} µs, total {total} µs"
        );
        // The update leaves Telegram half an RTT sample after it is due (≥ 7.5 ms); the
        // reply is taken one sample after the bot sends it (≥ 15 ms).
        assert!(split.in_telegram.p50 >= 7.0, "{who}: {split:?}");
        assert!(split.delivery_to_reply.p50 >= 14.0, "{who}: {split:?}");
        // One echo costs 1.5 RTT (20 ms ± 5): nothing can answer faster than 22.5 ms.
        assert!(
            run.latency_ms.p50 >= 22.0,
            "{who}: p50 {}",
            run.latency_ms.p50
        );
        assert!(
            run.requests
                .by_method
                .get("sendMessage")
                .copied()
                .unwrap_or(0)
                >= messages_settled,
            "{who}"
        );
        assert!(
            run.requests
                .by_method
                .get("answerCallbackQuery")
                .copied()
                .unwrap_or(0)
                >= callbacks_settled,
            "{who}"
        );
        assert!(run.complete && run.slo.passed, "{who}: {:?}", run.slo);
        assert!(!run.timeseries.is_empty(), "{who}");
        let injected_in_series: u64 = run.timeseries.iter().map(|t| t.injected).sum();
        assert_eq!(
            injected_in_series, u.injected,
            "{who}: the timeseries adds up"
        );
        assert!(
            run.memory.as_ref().unwrap().rss_peak_mb > 1.0,
            "{who}: SUT RSS sampled"
        );
        assert!(
            run.overhead.memory.rss_peak_mb > 1.0,
            "{who}: harness RSS sampled"
        );
        assert_eq!(
            run.sut.kind,
            if who == "polling" {
                "polling"
            } else {
                "webhook"
            }
        );
    }
    let polling = &r.runs[0];
    assert!(polling.requests.by_method.contains_key("getUpdates"));
    assert!(!polling.requests.by_method.contains_key("webhook"));
    let webhook = &r.runs[1];
    // Every update due a second before the window's end was POSTed in it; none twice.
    let posts = webhook
        .requests
        .by_method
        .get("webhook")
        .copied()
        .unwrap_or(0);
    assert!(
        (messages_settled + callbacks_settled..=plan.len() as u64).contains(&posts),
        "{posts} webhook POSTs for {} updates",
        plan.len()
    );
    assert!(!webhook.requests.by_method.contains_key("getUpdates"));
}
