//! Fleets: `[[sut]] replicas = 2` of each reference transport, run through the library
//! against the real mock over real HTTP. Every message answered exactly once by the fleet
//! (the polling replicas split the bots by shard, the webhook replicas share one port and
//! answer any bot), CPU and memory summed over the replicas and kept per replica, and a
//! SIGKILL of replica 0 survived by the fleet.

use std::path::Path;

use tgbench_reports::results::Results;

use crate::sim_support::run_scenario_text;

fn run(dir: &Path, text: &str) -> Results {
    run_scenario_text(dir, "fleet", text)
}

#[test]
fn two_replicas_of_each_reference_transport_answer_every_message_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "name = \"fleet\"\nduration_s = 4\nwarmup_s = 1\ndrain_s = 20\nsample_ms = 250\n\
         [telegram]\nbots = 40\n[load]\nmodel = \"constant\"\nmessages_per_bot_per_min = 30\n",
    );
    for kind in ["polling", "webhook", "hybrid"] {
        text.push_str(&format!(
            "[[sut]]\nname = \"{kind}\"\nkind = \"{kind}\"\nreplicas = 2\n"
        ));
    }
    text.push_str("[[sut]]\nname = \"single\"\nkind = \"webhook\"\n");
    let r = run(dir.path(), &text);
    assert_eq!(r.runs.len(), 4);
    for run in &r.runs {
        let who = &run.sut.name;
        let u = &run.updates;
        assert!(u.injected >= 40, "{who}: {u:?}");
        assert_eq!(
            (u.replied, u.delivered, u.lost, u.duplicated),
            (u.injected, u.injected, 0, 0),
            "{who}"
        );
        let res = run.resources.as_ref().expect("resources recorded");
        assert_eq!(res.source, "proc", "{who}");
        if who == "single" {
            assert_eq!(run.sut.replicas, Some(1));
            assert!(res.parts.is_empty(), "{who}: {res:?}");
            continue;
        }
        assert_eq!(run.sut.replicas, Some(2), "{who}");
        assert_eq!(res.parts.len(), 2, "{who}: {res:?}");
        for (i, rep) in res.parts.iter().enumerate() {
            assert_eq!(rep.name, i.to_string());
            assert!(rep.memory.rss_peak_mb > 1.0, "{who} replica {i}: {rep:?}");
        }
        // The run's figures are the replicas' summed (each rounded on its own).
        let rss: f64 = res.parts.iter().map(|x| x.memory.rss_mean_mb).sum();
        assert!(
            (rss - run.memory.as_ref().unwrap().rss_mean_mb).abs() < 0.05,
            "{who}: {rss} vs {:?}",
            run.memory
        );
        let cpu_s: f64 = res.parts.iter().map(|x| x.cpu.cpu_s).sum();
        assert!(
            (cpu_s - run.cpu.as_ref().unwrap().cpu_s).abs() < 0.005,
            "{who}: {cpu_s} vs {:?}",
            run.cpu
        );
    }
    // Each replica has its own log.
    let logs = dir.path().join("out").join("logs");
    for stem in [
        "polling-rep0-r0",
        "polling-rep0-r1",
        "webhook-rep0-r1",
        "single-rep0",
    ] {
        assert!(
            logs.join(format!("{stem}.log")).is_file(),
            "{stem}.log in {:?}",
            std::fs::read_dir(&logs)
                .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
        );
    }
}

/// A SIGKILL of replica 0 of a polling fleet: replica 1 goes on serving its shard, replica
/// 0 is started again, and after the drain every message was answered.
#[test]
fn a_fleet_survives_the_kill_of_replica_zero() {
    let dir = tempfile::tempdir().unwrap();
    let text = "name = \"fleet-kill\"\nduration_s = 6\nwarmup_s = 1\ndrain_s = 20\n\
         [telegram]\nbots = 20\n[load]\nmodel = \"constant\"\nmessages_per_bot_per_min = 60\n\
         [[sut]]\nname = \"polling\"\nkind = \"polling\"\nreplicas = 2\n\
         [[fault]]\nat_s = 2\nkind = \"sut_kill\"\nduration_s = 1\n";
    let r = run(dir.path(), text);
    let run = &r.runs[0];
    assert_eq!(run.faults.len(), 1, "{:?}", run.faults);
    let u = &run.updates;
    assert_eq!((u.replied, u.lost), (u.injected, 0), "{u:?}");
    let logs = dir.path().join("out").join("logs");
    assert!(logs.join("polling-rep0-r0-restart1.log").is_file());
    assert!(
        !logs.join("polling-rep0-r1-restart1.log").exists(),
        "replica 1 was not restarted"
    );
}
