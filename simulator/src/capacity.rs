//! `tgbench capacity`: how many bots does one server hold? Steps the bot count through
//! `[capacity] steps` at the scenario's per-bot load until the SLO breaks (p99, lost, CPU
//! budget, memory budget), per SUT, and records the whole curve and the largest count that
//! held. With `axis = "rate"` it steps the messages per bot per minute through `rates` at
//! `[telegram] bots` instead ("how many messages a second does one server hold for my
//! bots?"), and records the largest rate that held. With `axis = "replicas"` it runs each
//! SUT as `replicas` processes, step by step, at the scenario's bots and load, and records
//! the fewest replicas that held ("how many replicas do these bots need?"). A step this machine cannot host (open files, ports, memory — see
//! [`crate::preflight`]) ends the curve with `machine_limit = true` and the limit named, not
//! "SUT failed"; so does a step where the harness, not the SUT, was the bottleneck.

use tgbench_reports::results::{
    CapacityCurve, CapacityStep, RateCurve, ReplicaCurve, Results, Run,
};
use tgbench_reports::text::chosen;

use crate::run::{Options, Outcome, RunError, Session, Status, Stop};
use crate::scenario::{Axis, Scenario, Sut};

/// Runs the capacity search of every SUT of `scn` (its `repeat` is not used: one run per
/// step). Results hold every step's runs and one curve per SUT.
pub fn run_capacity(scn: &Scenario, opts: &Options) -> Result<Outcome, RunError> {
    let first = points(scn).first().map_or(scn.telegram.bots, |p| p.bots);
    let name = format!("{}-capacity", scn.name);
    let session = Session::new(&scn.with_bots(first), opts, first, &name)?;
    let mut results = session.begin(scn)?;
    let mut status = Status::Ok;
    for sut in &scn.suts {
        let (curve, stop) = search(&session, scn, sut, &mut results)?;
        results.capacity.push(curve);
        session.write(&results)?;
        match stop {
            Some(Stop::Interrupted) => {
                status = Status::Interrupted;
                break;
            }
            // The SUT could not even run the first step: that is a failure of the SUT (or
            // its setup), not a capacity figure.
            Some(Stop::SutFailed(msg)) => status = Status::SutFailed(msg),
            None => {}
        }
    }
    if status == Status::Interrupted {
        results.incomplete_reason = Some("interrupted (SIGINT/SIGTERM)".into());
    } else {
        results.complete = true;
        results.incomplete_reason = None;
    }
    session.finish(results, status)
}

/// One SUT's curve: step by step until a step fails (along the replicas: until one holds),
/// the machine cannot host the next, or the steps run out. Each step's runs go into `results` (rewritten after every step
/// that held). The stop returned is an interruption, or a SUT that failed its first step.
fn search(
    session: &Session,
    scn: &Scenario,
    sut: &Sut,
    results: &mut Results,
) -> Result<(CapacityCurve, Option<Stop>), RunError> {
    let mut curve = CapacityCurve {
        sut: sut.name.clone(),
        kind: sut.kind.as_str().to_string(),
        max_bots: None,
        stopped_by: "end of steps".into(),
        steps: Vec::new(),
        rate: (scn.capacity.axis == Axis::Rate).then(|| RateCurve {
            bots: scn.telegram.bots,
            ..RateCurve::default()
        }),
        replicas: (scn.capacity.axis == Axis::Replicas).then_some(ReplicaCurve {
            bots: scn.telegram.bots,
            needed: None,
        }),
    };
    for Point {
        bots,
        rate,
        replicas,
    } in points(scn)
    {
        if session.interrupted() {
            curve.stopped_by = "interrupted".into();
            return Ok((curve, Some(Stop::Interrupted)));
        }
        // This SUT alone at this size (another SUT's needs must not stop its curve).
        let mut at = scn.with_bots(bots);
        if let Some(r) = rate {
            at = at.with_rate(r);
        }
        let mut sut = sut.clone();
        if replicas.is_some() {
            sut.replicas = replicas;
        }
        at.suts = vec![sut.clone()];
        let what = match (rate, replicas) {
            (Some(r), _) => format!("{} messages per bot per minute ({bots} bots)", chosen(r)),
            (None, Some(n)) => format!("{n} replicas ({bots} bots)"),
            (None, None) => format!("{bots} bots"),
        };
        if let Err(refusal) = session.check(&at, bots) {
            session.note(&format!("■ {} at {what}: {}", sut.name, refusal.short()));
            curve.steps.push(CapacityStep {
                bots,
                passed: false,
                reason: Some(refusal.message.clone()),
                machine_limit: true,
                messages_per_bot_per_min: rate,
                replicas,
                ..CapacityStep::default()
            });
            curve.stopped_by = refusal.short();
            break;
        }
        session.note(&format!("■ {} at {what}", sut.name));
        let r = session.measure(&at, &sut, 0);
        let (mut step, mut stopped_by) = judge(bots, &r.runs, r.stop.as_ref());
        step.replicas = replicas;
        if let Some(rate) = rate {
            step.messages_per_bot_per_min = Some(rate);
            step.messages_per_s = injected_per_s(&r.runs);
        }
        results.runs.extend(r.runs);
        if step.passed {
            match (&mut curve.rate, rate, &mut curve.replicas) {
                (Some(rc), Some(per_bot), _) => {
                    rc.max_messages_per_bot_per_min = Some(per_bot);
                    rc.max_messages_per_s = Some(step.messages_per_s);
                }
                (_, _, Some(rc)) => {
                    // Along the replicas the first step that holds is the answer.
                    rc.needed = replicas;
                    stopped_by = Some("the first step that held".into());
                }
                _ => curve.max_bots = Some(bots),
            }
        } else if curve.replicas.is_some()
            && stopped_by
                .as_deref()
                .is_some_and(|w| w.starts_with("slo: "))
        {
            // Too few replicas for the SLO: the next step adds more.
            stopped_by = None;
        }
        curve.steps.push(step);
        let stop = match r.stop {
            Some(Stop::Interrupted) => {
                curve.stopped_by = "interrupted".into();
                return Ok((curve, Some(Stop::Interrupted)));
            }
            first @ Some(Stop::SutFailed(_)) if curve.steps.len() == 1 => first,
            _ => None,
        };
        if let Some(by) = stopped_by {
            curve.stopped_by = by;
            return Ok((curve, stop));
        }
        let mut partial = results.clone();
        partial.capacity.push(curve.clone());
        session.write(&partial)?;
    }
    Ok((curve, None))
}

/// One step of a search: its bots, and its rate per bot or replicas when it steps those.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    bots: u64,
    rate: Option<f64>,
    replicas: Option<u32>,
}

/// The search's steps: the bot counts at the load's rate, or the rates (or the replica
/// counts) at `[telegram] bots`.
fn points(scn: &Scenario) -> Vec<Point> {
    let at = |rate, replicas| Point {
        bots: scn.telegram.bots,
        rate,
        replicas,
    };
    match scn.capacity.axis {
        Axis::Bots => scn
            .capacity
            .steps
            .iter()
            .map(|&bots| Point {
                bots,
                rate: None,
                replicas: None,
            })
            .collect(),
        Axis::Rate => scn
            .capacity
            .rates
            .iter()
            .map(|&r| at(Some(r), None))
            .collect(),
        Axis::Replicas => scn
            .capacity
            .replicas
            .iter()
            .map(|&n| at(None, Some(n)))
            .collect(),
    }
}

/// Messages injected per second over a step's measured runs.
fn injected_per_s(runs: &[Run]) -> f64 {
    let seconds: f64 = runs.iter().map(|r| r.duration_s).sum();
    let injected: u64 = runs.iter().map(|r| r.updates.injected).sum();
    if seconds > 0.0 {
        injected as f64 / seconds
    } else {
        0.0
    }
}

/// The step's figures from its runs (all phases), and what ended the search, if it ended.
pub(crate) fn judge(
    bots: u64,
    runs: &[Run],
    stop: Option<&Stop>,
) -> (CapacityStep, Option<String>) {
    let mut step = CapacityStep {
        bots,
        passed: false,
        p99_ms: runs.iter().map(|r| r.latency_ms.p99).fold(0.0, f64::max),
        lost: runs.iter().map(|r| r.updates.lost).sum(),
        // An external SUT without [sut.metrics] has none: null, "not measured", as its runs.
        cpu_mean_pct: runs
            .iter()
            .filter_map(|r| Some(r.cpu.as_ref()?.mean_pct))
            .reduce(f64::max),
        rss_peak_mb: runs
            .iter()
            .filter_map(|r| Some(r.memory.as_ref()?.rss_peak_mb))
            .reduce(f64::max),
        requests_per_min: runs.iter().map(|r| r.requests.per_min).fold(0.0, f64::max),
        reason: None,
        machine_limit: false,
        ..CapacityStep::default()
    };
    if let Some(stop) = stop {
        let reason = match stop {
            Stop::Interrupted => "interrupted".to_string(),
            Stop::SutFailed(m) => format!("sut: {}", m.lines().next().unwrap_or(m)),
        };
        step.reason = Some(match stop {
            Stop::SutFailed(m) => m.clone(),
            Stop::Interrupted => reason.clone(),
        });
        return (step, Some(reason));
    }
    if let Some(r) = runs.iter().find(|r| r.harness.bottleneck) {
        let why = format!("harness: {}", r.harness.notes.join("; "));
        step.reason = Some(why.clone());
        step.machine_limit = true;
        return (step, Some(why));
    }
    let failed = runs
        .iter()
        .flat_map(|r| r.slo.checks.iter())
        .find(|c| !c.passed);
    if let Some(c) = failed {
        let why = format!("slo: {} {} > {}", c.name, c.measured, c.limit);
        step.reason = Some(why.clone());
        return (step, Some(why));
    }
    step.passed = !runs.is_empty();
    (step, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tgbench_reports::results::{Harness, Slo, SloCheck};

    fn run(p99: f64, passed: bool, bottleneck: bool) -> Run {
        let mut r = Run::default();
        r.latency_ms.p99 = p99;
        r.slo = Slo {
            passed,
            checks: vec![SloCheck {
                name: "p99_ms".into(),
                limit: 300.0,
                measured: p99,
                passed,
            }],
        };
        r.harness = Harness {
            bottleneck,
            notes: if bottleneck {
                vec!["injection lag p99 80 ms".into()]
            } else {
                vec![]
            },
            ..Harness::default()
        };
        r
    }

    #[test]
    fn a_held_step_passes_and_continues() {
        let (step, stop) = judge(100, &[run(120.0, true, false)], None);
        assert!(step.passed && stop.is_none());
        assert_eq!(step.p99_ms, 120.0);
    }

    #[test]
    fn a_broken_slo_ends_with_the_check_named() {
        let (step, stop) = judge(500, &[run(812.0, false, false)], None);
        assert!(!step.passed && !step.machine_limit);
        assert_eq!(stop.as_deref(), Some("slo: p99_ms 812 > 300"));
    }

    #[test]
    fn a_harness_bottleneck_is_a_machine_limit_not_the_sut() {
        let (step, stop) = judge(5000, &[run(812.0, false, true)], None);
        assert!(!step.passed && step.machine_limit);
        assert!(stop.unwrap().starts_with("harness: injection lag"));
    }

    #[test]
    fn unmeasured_cpu_and_memory_stay_null_not_zero() {
        // An external SUT without [sut.metrics]: its runs have no figures, nor has the step.
        let (step, _) = judge(10, &[run(20.0, true, false)], None);
        assert_eq!((step.cpu_mean_pct, step.rss_peak_mb), (None, None));
        let json = serde_json::to_value(&step).unwrap();
        assert!(json["cpu_mean_pct"].is_null() && json["rss_peak_mb"].is_null());
        // Measured runs give the most of them.
        let mut a = run(20.0, true, false);
        a.cpu = Some(tgbench_reports::results::Cpu {
            mean_pct: 12.0,
            ..Default::default()
        });
        let mut b = a.clone();
        b.cpu.as_mut().unwrap().mean_pct = 30.0;
        let (step, _) = judge(10, &[a, b], None);
        assert_eq!(step.cpu_mean_pct, Some(30.0));
    }

    #[test]
    fn a_sut_failure_is_named() {
        let stop = Stop::SutFailed("SUT x not ready after 120.0 s\n  tail".into());
        let (step, by) = judge(20000, &[], Some(&stop));
        assert!(!step.passed && !step.machine_limit);
        assert_eq!(by.as_deref(), Some("sut: SUT x not ready after 120.0 s"));
    }
}
