//! Hand-built results files for the tests: realistic shapes, numbers chosen so their
//! rendering is known (`812.0` prints as `812`, `47.5` as `47.5`).

use std::collections::BTreeMap;

use tgbench_reports::histogram;
use tgbench_reports::results::*;

/// Figures of one run that tests look for in the output.
#[derive(Debug, Clone)]
pub struct Figures {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub cpu_mean: f64,
    pub cpu_p95: f64,
    pub rss_mean: f64,
    pub rss_peak: f64,
    pub by_method: Vec<(&'static str, u64)>,
    pub lost: u64,
    pub duplicated: u64,
}

impl Default for Figures {
    fn default() -> Self {
        Self {
            p50: 3.25,
            p90: 47.5,
            p99: 812.0,
            max: 1234.0,
            cpu_mean: 2.75,
            cpu_p95: 6.5,
            rss_mean: 18.5,
            rss_peak: 24.5,
            by_method: vec![("getUpdates", 1200), ("sendMessage", 300)],
            lost: 0,
            duplicated: 0,
        }
    }
}

pub fn run(name: &str, kind: &str, phase: Option<&str>, f: &Figures) -> Run {
    let duration_s = 60.0;
    let total: u64 = f.by_method.iter().map(|(_, c)| c).sum();
    let injected = 300;
    Run {
        sut: SutInfo {
            name: name.into(),
            kind: kind.into(),
            command: vec![format!("/usr/bin/{name}")],
            about: None,
            cpu_quota: None,
            replicas: None,
            proxy: None,
        },
        repetition: 0,
        phase: phase.map(Into::into),
        bots: 100,
        duration_s,
        complete: true,
        incomplete_reason: None,
        latency_ms: Latency {
            count: injected - f.lost,
            p50: f.p50,
            p90: f.p90,
            p99: f.p99,
            p999: f.max * 0.9,
            max: f.max,
            mean: f.p50 * 1.5,
        },
        latency_histogram: String::new(),
        latency_split: None,
        cpu: Some(Cpu {
            mean_pct: f.cpu_mean,
            p95_pct: f.cpu_p95,
            max_pct: f.cpu_p95 * 1.5,
            cpu_s: f.cpu_mean / 100.0 * duration_s,
        }),
        memory: Some(Memory {
            rss_mean_mb: f.rss_mean,
            rss_peak_mb: f.rss_peak,
        }),
        requests: Requests {
            total,
            per_min: total as f64 / (duration_s / 60.0),
            by_method: f
                .by_method
                .iter()
                .map(|(m, c)| ((*m).to_owned(), *c))
                .collect(),
            bytes_in: 1000,
            bytes_out: 2000,
        },
        updates: Updates {
            injected,
            delivered: injected - f.lost + f.duplicated,
            replied: injected - f.lost,
            lost: f.lost,
            duplicated: f.duplicated,
        },
        slo: Slo {
            passed: f.p99 <= 1000.0,
            checks: vec![SloCheck {
                name: "p99_ms".into(),
                limit: 1000.0,
                measured: f.p99,
                passed: f.p99 <= 1000.0,
            }],
        },
        timeseries: (0..60)
            .map(|t| Sample {
                t_s: t as f64,
                cpu_pct: f.cpu_mean * if t % 2 == 0 { 1.2 } else { 0.8 },
                rss_mb: f.rss_mean + t as f64 * 0.05,
                mock_cpu_pct: 1.0,
                requests: BTreeMap::from([("sendMessage".to_owned(), 5)]),
                injected: 5,
                replied: 5,
                p99_ms: if t % 10 == 0 { 0.0 } else { f.p99 * 0.9 },
                pending_updates: 0,
            })
            .collect(),
        overhead: Overhead {
            cpu: Cpu {
                mean_pct: 1.0,
                p95_pct: 2.0,
                max_pct: 3.0,
                cpu_s: 0.6,
            },
            memory: Memory {
                rss_mean_mb: 30.0,
                rss_peak_mb: 31.0,
            },
        },
        harness: Harness {
            injection_lag_p50_ms: 0.1,
            injection_lag_p99_ms: 0.5,
            injection_lag_max_ms: 2.0,
            bottleneck: false,
            cpu_us_per_message: None,
            notes: vec![],
        },
        telegram: serde_json::json!({"empty_get_updates_share": 0.9}),
        faults: vec![],
        tls: None,
        serverless: None,
        resources: None,
    }
}

/// A histogram holding `n` latencies spread around `center_ms`.
pub fn histogram_around(center_ms: f64, n: u64) -> String {
    let mut h = histogram::new_latency_histogram();
    for i in 0..n {
        let us = center_ms * 1000.0 * (0.8 + 0.4 * i as f64 / n as f64);
        h.record(us as u64).unwrap();
    }
    histogram::encode(&h)
}

/// Gives `run` a latency split: its replies' means `in_telegram_ms` and `delivery_ms`
/// (summaries only, no histograms, so one run's figures print as given).
pub fn with_split(run: &mut Run, in_telegram_ms: f64, delivery_ms: f64) {
    let part = |mean: f64| Latency {
        count: run.latency_ms.count,
        p50: mean,
        p90: mean * 1.5,
        p99: mean * 2.0,
        p999: mean * 2.5,
        max: mean * 3.0,
        mean,
    };
    run.latency_split = Some(LatencySplit {
        in_telegram: part(in_telegram_ms),
        delivery_to_reply: part(delivery_ms),
        ..LatencySplit::default()
    });
}

pub fn results(scenario: &str, runs: Vec<Run>) -> Results {
    Results {
        schema_version: 1,
        tool: Tool {
            name: "tgbench".into(),
            version: "0.1.0".into(),
        },
        scenario: ScenarioInfo {
            name: scenario.into(),
            file: format!("scenarios/{scenario}.toml"),
            duration_s: 60.0,
            warmup_s: 5.0,
            drain_s: 2.0,
            seed: 42,
            telegram: TelegramInfo {
                bots: 100,
                rtt_ms: 100.0,
                jitter_ms: 10.0,
                rate_limits: true,
                anti_spin: true,
                tls: false,
            },
            load: serde_json::json!({"model": "poisson", "messages_per_min": 300}),
            slo: serde_json::json!({"p99_ms": 1000}),
        },
        environment: Environment {
            cores: 2,
            cpu_model: "AMD EPYC 7B13".into(),
            os: "Debian GNU/Linux 12".into(),
            kernel: "6.1.0".into(),
            git_revision: "abc1234".into(),
            memory_total_mb: 24_000.0,
            open_files_limit: 20_000,
            pinning: "SUT on CPU 1, harness on CPU 0".into(),
            sut_dies_with_tgbench: None,
        },
        started_at: "2026-05-01T10:00:00Z".into(),
        finished_at: "2026-05-01T10:01:07Z".into(),
        complete: true,
        incomplete_reason: None,
        runs,
        capacity: vec![],
        failed_suts: vec![],
    }
}

pub fn capacity_curve(
    sut: &str,
    kind: &str,
    max_bots: Option<u64>,
    machine: bool,
) -> CapacityCurve {
    let mut steps: Vec<CapacityStep> = [100u64, 500, 1000, 2000, 4000, 8000]
        .iter()
        .map(|&bots| CapacityStep {
            bots,
            passed: max_bots.is_some_and(|m| bots <= m),
            p99_ms: 50.0 * bots as f64 / 100.0,
            lost: 0,
            cpu_mean_pct: Some(bots as f64 / 50.0),
            rss_peak_mb: Some(10.0 + bots as f64 / 100.0),
            requests_per_min: bots as f64 * 2.0,
            reason: None,
            machine_limit: false,
            ..CapacityStep::default()
        })
        .collect();
    if let Some(last) = steps.iter_mut().rfind(|s| !s.passed) {
        if machine {
            last.machine_limit = true;
            last.reason = Some("machine: open files (20000)".into());
        } else {
            last.reason = Some(format!("slo: p99_ms {} > 1000", last.p99_ms));
        }
    }
    CapacityCurve {
        sut: sut.into(),
        kind: kind.into(),
        max_bots,
        stopped_by: if machine {
            "machine: open files (20000)".into()
        } else {
            "slo: p99_ms > 1000".into()
        },
        steps,
        rate: None,
        replicas: None,
    }
}

/// Two SUTs, one with a fault window and harness bottleneck, plus capacity curves.
pub fn smoke() -> Results {
    let polling = run("polling-bot", "polling", None, &Figures::default());
    let mut webhook = run(
        "webhook-bot",
        "webhook",
        None,
        &Figures {
            p50: 105.0,
            p90: 130.0,
            p99: 187.0,
            max: 402.0,
            cpu_mean: 0.42,
            cpu_p95: 1.25,
            rss_mean: 12.5,
            rss_peak: 14.5,
            by_method: vec![("webhook", 300), ("sendMessage", 300), ("setWebhook", 100)],
            lost: 3,
            duplicated: 1,
        },
    );
    webhook.faults = vec![FaultWindow {
        kind: "mock-slow".into(),
        start_s: 20.0,
        end_s: 30.0,
    }];
    webhook.harness.bottleneck = true;
    webhook.harness.injection_lag_p99_ms = 250.0;
    webhook.harness.notes = vec!["injector fell 250 ms behind".into()];
    let mut r = results("smoke", vec![polling, webhook]);
    r.capacity = vec![
        capacity_curve("polling-bot", "polling", Some(1000), false),
        capacity_curve("webhook-bot", "webhook", Some(2000), true),
    ];
    r
}

/// A serverless window's platform figures: 40 invocations (42 requests, 2 throttled), 3
/// cold starts, 612 billed ms at 256 MB (0.153 GB-s), written at other prices ($0.000021):
/// at the default prices that is 40 × $0.0000002 + 0.153 × $0.0000166667 = $0.00001055.
pub fn serverless() -> Serverless {
    Serverless {
        invocations: 40,
        cold_starts: 3,
        init_ms: InitMs {
            p50: 31.5,
            p99: 44.25,
            max: 44.25,
        },
        throttled: 2,
        errors: ServerlessErrors {
            timeout: 1,
            oom: 0,
            function: 0,
        },
        concurrency_peak: 4,
        environments_started: 3,
        billed_ms: 612,
        init_billed_ms: 100,
        billed_gb_s: 0.153,
        requests: 42,
        memory_mb: 256,
        concurrency_limit: 20,
        keep_warm_s: 5.0,
        arch: Arch::X86_64,
        front_door: FrontDoor::FunctionUrl,
        cost: 0.000021,
        environments_cpu_s: 0.5,
        platform_cpu_s: 0.125,
        platform_idle_cpu_ms_per_s: Some(0.05),
        platform_marginal_cpu_ms: Some(2.9),
        resources: "cgroup-v1".into(),
        latency: None,
        timeline: Vec::new(),
    }
}
