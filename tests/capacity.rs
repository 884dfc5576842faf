//! `tgbench capacity` end to end on a tiny scale: steps run until the SLO breaks, or until a
//! step this machine cannot host — which is named as the machine's limit, not the SUT's.

use clap::Parser;

use crate::sim_support::{
    assert_refused_by_a_machine_limit, binaries, read_results, scenario_file,
};

fn capacity(text: &str) -> (u8, tgbench_reports::results::Results) {
    binaries();
    let dir = tempfile::tempdir().unwrap();
    let path = scenario_file(dir.path(), "cap", text);
    let out = dir.path().join("out");
    let code = tgbench::run_cli(tgbench::Cli::parse_from([
        "tgbench",
        "capacity",
        path.to_str().unwrap(),
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ]));
    (code, read_results(&out))
}

const BASE: &str = r#"name = "cap"
duration_s = 1.5
warmup_s = 0.5
drain_s = 3
seed = 5

[telegram]
bots = 1
rtt_ms = 10

[load]
model = "constant"
messages_per_bot_per_min = 120

[[sut]]
name = "polling"
kind = "polling"
args = ["--poll-timeout", "10"]
"#;

#[test]
fn a_step_beyond_the_machine_ends_the_curve_as_a_machine_limit() {
    let (code, r) = capacity(&format!(
        "{BASE}\n[slo]\np99_ms = 5000\nmax_lost = 0\n\n[capacity]\nsteps = [2, 4, 1000000]\n"
    ));
    assert_eq!(code, 0);
    assert!(r.complete);
    assert_eq!(r.capacity.len(), 1);
    let c = &r.capacity[0];
    assert_eq!(c.sut, "polling");
    assert_eq!(c.max_bots, Some(4));
    let steps: Vec<(u64, bool, bool)> = c
        .steps
        .iter()
        .map(|s| (s.bots, s.passed, s.machine_limit))
        .collect();
    assert_eq!(
        steps,
        [(2, true, false), (4, true, false), (1_000_000, false, true)]
    );
    let limit = assert_refused_by_a_machine_limit(c.steps[2].reason.as_deref().unwrap());
    assert!(
        c.stopped_by.starts_with(&format!("machine: {limit} (")),
        "{}",
        c.stopped_by
    );
    // The steps that ran are in `runs`, with their bot counts and exact counts.
    let bots: Vec<u64> = r.runs.iter().map(|x| x.bots).collect();
    assert_eq!(bots, [2, 4]);
    for run in &r.runs {
        assert_eq!(run.updates.lost, 0);
        assert_eq!(run.updates.replied, run.updates.injected);
        assert!(run.updates.injected >= 2 * run.bots, "{:?}", run.updates);
    }
}

#[test]
fn a_broken_slo_ends_the_curve_and_names_the_check() {
    // An echo costs 1.5 RTT = 15 ms here: a 5 ms p99 cannot hold at any size.
    let (code, r) = capacity(&format!(
        "{BASE}\n[slo]\np99_ms = 5\n\n[capacity]\nsteps = [2, 4]\n"
    ));
    assert_eq!(code, 0);
    let c = &r.capacity[0];
    assert_eq!(c.max_bots, None);
    assert!(c.stopped_by.starts_with("slo: p99_ms "), "{}", c.stopped_by);
    assert_eq!(c.steps.len(), 1);
    assert!(!c.steps[0].passed && !c.steps[0].machine_limit);
    assert!(c.steps[0].p99_ms >= 10.0);
}

/// `axis = "rate"`: the search steps the messages per bot per minute at the scenario's
/// bots; each step records its rate and the messages per second it delivered, and the curve
/// the largest rate that held (no "max bots": that is another question).
#[test]
fn a_search_along_the_rate_steps_messages_per_bot_at_fixed_bots() {
    let (code, r) = capacity(
        &(BASE
            .replace("bots = 1\n", "bots = 4\n")
            .replace("duration_s = 1.5", "duration_s = 3")
            + "\n[slo]\np99_ms = 5000\nmax_lost = 0\n\n[capacity]\naxis = \"rate\"\nrates = [30, 240]\n"),
    );
    assert_eq!(code, 0);
    let c = &r.capacity[0];
    assert_eq!(c.max_bots, None);
    let rate = c.rate.as_ref().expect("a rate curve");
    assert_eq!(rate.bots, 4);
    assert_eq!(rate.max_messages_per_bot_per_min, Some(240.0));
    let steps: Vec<(u64, Option<f64>, bool)> = c
        .steps
        .iter()
        .map(|s| (s.bots, s.messages_per_bot_per_min, s.passed))
        .collect();
    assert_eq!(steps, [(4, Some(30.0), true), (4, Some(240.0), true)]);
    // 4 bots × 30/min = 2/s and × 240/min = 16/s (constant model: exact but for each
    // bot's random phase at the window's edges).
    let per_s: Vec<f64> = c.steps.iter().map(|s| s.messages_per_s).collect();
    assert!((1.0..=3.0).contains(&per_s[0]), "{per_s:?}");
    assert!((12.0..=20.0).contains(&per_s[1]), "{per_s:?}");
    assert_eq!(rate.max_messages_per_s, Some(per_s[1]));
    for run in &r.runs {
        assert_eq!(run.bots, 4);
        assert_eq!(
            (run.updates.lost, run.updates.replied),
            (0, run.updates.injected)
        );
    }
}

/// `axis = "replicas"`: each step runs the SUT as that many processes at the scenario's bots
/// and load; a step that breaks the SLO is followed by one with more replicas, and the first
/// that holds is the answer ("replicas needed").
#[test]
fn a_search_along_the_replicas_adds_replicas_until_the_slo_holds() {
    let polling = BASE.replace("bots = 1\n", "bots = 4\n");
    // A 5 ms p99 cannot hold at 1.5 RTT = 15 ms, whatever the replicas: every step runs.
    let (code, r) = capacity(
        &(polling.clone()
            + "\n[slo]\np99_ms = 5\n\n[capacity]\naxis = \"replicas\"\nreplicas = [1, 2]\n"),
    );
    assert_eq!(code, 0);
    let c = &r.capacity[0];
    assert_eq!(c.max_bots, None);
    let fleet = c.replicas.as_ref().expect("a replica curve");
    assert_eq!((fleet.bots, fleet.needed), (4, None));
    assert_eq!(c.stopped_by, "end of steps");
    let steps: Vec<(u64, Option<u32>, bool)> = c
        .steps
        .iter()
        .map(|s| (s.bots, s.replicas, s.passed))
        .collect();
    assert_eq!(steps, [(4, Some(1), false), (4, Some(2), false)]);
    assert!(
        c.steps
            .iter()
            .all(|s| s.reason.as_deref().unwrap().starts_with("slo: p99_ms "))
    );
    // Each step's run is the SUT at that many replicas (a fleet of 2 keeps each part),
    // measured: CPU and RSS are figures, not null.
    let fleets: Vec<(Option<u32>, usize)> = r
        .runs
        .iter()
        .map(|x| {
            (
                x.sut.replicas,
                x.resources.as_ref().map_or(0, |res| res.parts.len()),
            )
        })
        .collect();
    assert_eq!(fleets, [(Some(1), 0), (Some(2), 2)]);
    for (run, step) in r.runs.iter().zip(&c.steps) {
        assert_eq!(run.bots, 4);
        assert_eq!(
            (run.updates.lost, run.updates.replied),
            (0, run.updates.injected)
        );
        assert!(step.rss_peak_mb.is_some_and(|mb| mb > 1.0), "{step:?}");
        assert!(step.cpu_mean_pct.is_some(), "{step:?}");
    }

    // A generous SLO holds at the first step: one replica is needed, no more are started.
    let (code, r) = capacity(
        &(polling
            + "\n[slo]\np99_ms = 5000\nmax_lost = 0\n\n[capacity]\naxis = \"replicas\"\nreplicas = [1, 2, 4]\n"),
    );
    assert_eq!(code, 0);
    let c = &r.capacity[0];
    assert_eq!(c.replicas.as_ref().unwrap().needed, Some(1));
    assert_eq!(c.stopped_by, "the first step that held");
    assert_eq!(c.steps.len(), 1);
    assert!(c.steps[0].passed && c.steps[0].replicas == Some(1));
    assert_eq!(r.runs.len(), 1);
}
