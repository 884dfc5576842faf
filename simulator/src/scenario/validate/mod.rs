//! Checks a scenario beyond what its types say: ranges, combinations, names.

use std::collections::BTreeSet;

mod load;
mod sut;

use super::locate::{Seg, key_path as path};
use super::{FaultKind, Model, Scenario, TelegramOverride};

/// A problem: the key path, the value as text (if relevant), what is wrong / allowed.
pub type Found = (Vec<Seg>, Option<String>, String);

/// Every problem in the scenario, in file order as far as possible.
pub fn check(s: &Scenario) -> Vec<Found> {
    let mut out = Vec::new();
    let mut bad = |p: Vec<Seg>, v: Option<String>, m: &str| out.push((p, v, m.to_string()));

    if !valid_name(&s.name) {
        bad(
            path!["name"],
            Some(format!("{:?}", s.name)),
            "expected a non-empty name of letters, digits, '.', '_' or '-' (it names the results directory)",
        );
    }
    match (s.duration_s, s.phases.is_empty()) {
        (None, true) => bad(
            path!["duration_s"],
            None,
            "missing key duration_s (required unless the scenario has [[phase]] tables)",
        ),
        (Some(d), true) if !(d > 0.0 && d <= 86_400.0) => bad(
            path!["duration_s"],
            Some(num(d)),
            "expected seconds > 0 and ≤ 86400",
        ),
        (Some(d), false) => bad(
            path!["duration_s"],
            Some(num(d)),
            "not allowed with [[phase]] tables: each phase has its own duration_s",
        ),
        _ => {}
    }
    for (key, v) in [("warmup_s", s.warmup_s), ("drain_s", s.drain_s)] {
        if !(0.0..=3_600.0).contains(&v) {
            bad(path![key], Some(num(v)), "expected seconds ≥ 0 and ≤ 3600");
        }
    }
    if !(1..=100).contains(&s.repeat) {
        bad(
            path!["repeat"],
            Some(s.repeat.to_string()),
            "expected 1 to 100",
        );
    }
    let min_ms = sysinfo::MINIMUM_CPU_UPDATE_INTERVAL.as_millis() as u64;
    if s.sample_ms < min_ms || s.sample_ms > 60_000 {
        bad(
            path!["sample_ms"],
            Some(s.sample_ms.to_string()),
            &format!(
                "expected {min_ms} to 60000 (CPU use read more often than every {min_ms} ms is meaningless)"
            ),
        );
    }

    let t = &s.telegram;
    if t.bots == 0 {
        bad(
            path!["telegram", "bots"],
            Some("0".into()),
            "expected at least 1",
        );
    }
    check_telegram_numbers(
        &mut bad,
        &["telegram"],
        &TelegramOverride {
            rtt_ms: Some(t.rtt_ms),
            jitter_ms: Some(t.jitter_ms),
            retry_factor: Some(t.retry_factor),
            webhook_timeout_s: Some(t.webhook_timeout_s),
            max_pending_per_bot: t.max_pending_per_bot,
            update_expiry_s: Some(t.update_expiry_s),
            ..TelegramOverride::default()
        },
    );

    load::check_load(&mut bad, &s.load, path!["load"]);

    if s.suts.is_empty() {
        bad(path!["sut"], None, "at least one [[sut]] table is required");
    }
    let mut names = BTreeSet::new();
    for (i, sut) in s.suts.iter().enumerate() {
        sut::check_sut(&mut bad, s, i, sut, &mut names);
    }
    let mut phase_names = BTreeSet::new();
    for (i, p) in s.phases.iter().enumerate() {
        if !valid_name(&p.name) {
            bad(
                path!["phase", i, "name"],
                Some(format!("{:?}", p.name)),
                "expected a non-empty name of letters, digits, '.', '_' or '-'",
            );
        } else if !phase_names.insert(p.name.clone()) {
            bad(
                path!["phase", i, "name"],
                Some(format!("{:?}", p.name)),
                "another [[phase]] already has this name; names must be unique",
            );
        }
        if !(p.duration_s > 0.0 && p.duration_s <= 86_400.0) {
            bad(
                path!["phase", i, "duration_s"],
                Some(num(p.duration_s)),
                "expected seconds > 0 and ≤ 86400",
            );
        }
        if let Some(load) = &p.load {
            load::check_load(&mut bad, load, path!["phase", i, "load"]);
        }
    }

    check_faults(&mut bad, s);
    super::fleet::check_scenario(&mut bad, s);

    let slo = &s.slo;
    for (key, v) in [
        ("p99_ms", slo.p99_ms),
        ("cpu_pct", slo.cpu_pct),
        ("rss_mb", slo.rss_mb),
    ] {
        if let Some(v) = v
            && !(v.is_finite() && v > 0.0)
        {
            bad(path!["slo", key], Some(num(v)), "expected a number > 0");
        }
    }

    check_capacity(&mut bad, s);
    out
}

/// Checks the numbers of a `[telegram]` table, or of a SUT's overrides (keys left out are
/// `None`).
fn check_telegram_numbers(
    bad: &mut impl FnMut(Vec<Seg>, Option<String>, &str),
    table: &[&str],
    t: &TelegramOverride,
) {
    let TelegramOverride {
        rtt_ms,
        jitter_ms,
        retry_factor,
        webhook_timeout_s,
        max_pending_per_bot,
        update_expiry_s,
        ..
    } = *t;
    if let Some(v) = update_expiry_s
        && !(v > 0.0 && v <= 86_400.0)
    {
        bad(
            path![table[0], "update_expiry_s"],
            Some(num(v)),
            "expected seconds > 0 and ≤ 86400 (Telegram keeps an update a day)",
        );
    }
    let at = |k: &str| path![table[0], k];
    for (key, v) in [("rtt_ms", rtt_ms), ("jitter_ms", jitter_ms)] {
        if let Some(v) = v
            && !(0.0..=60_000.0).contains(&v)
        {
            bad(
                at(key),
                Some(num(v)),
                "expected milliseconds ≥ 0 and ≤ 60000",
            );
        }
    }
    if let Some(v) = retry_factor
        && !(v > 0.0 && v <= 100.0)
    {
        bad(
            at("retry_factor"),
            Some(num(v)),
            "expected a number > 0 and ≤ 100 (1 = Telegram's webhook retry delays)",
        );
    }
    if let Some(v) = webhook_timeout_s
        && !(v > 0.0 && v <= 600.0)
    {
        bad(
            at("webhook_timeout_s"),
            Some(num(v)),
            "expected seconds > 0 and ≤ 600",
        );
    }
    if max_pending_per_bot == Some(0) {
        bad(
            at("max_pending_per_bot"),
            Some("0".into()),
            "expected at least 1",
        );
    }
}

/// `[[fault]]`: inside the measured timeline, inside one phase, not overlapping, with the
/// keys its kind needs and no others.
fn check_faults(bad: &mut impl FnMut(Vec<Seg>, Option<String>, &str), s: &Scenario) {
    // (start, end) of each phase on the measured timeline (drains left out).
    let mut spans = Vec::new();
    let mut t = 0.0;
    if s.phases.is_empty() {
        spans.push((0.0, s.duration_s.unwrap_or(0.0)));
    } else {
        for p in &s.phases {
            spans.push((t, t + p.duration_s));
            t += p.duration_s;
        }
    }
    let window = spans.last().map(|x| x.1).unwrap_or(0.0);
    let mut ends: Vec<(f64, f64, usize)> = Vec::new();
    for (i, f) in s.faults.iter().enumerate() {
        let at = |k: &str| path!["fault", i, k];
        let mut timed = true;
        if !(f.at_s.is_finite() && f.at_s >= 0.0) {
            bad(
                at("at_s"),
                Some(num(f.at_s)),
                "expected seconds ≥ 0 into the measured timeline",
            );
            timed = false;
        }
        if !(f.duration_s > 0.0 && f.duration_s <= 3_600.0) {
            bad(
                at("duration_s"),
                Some(num(f.duration_s)),
                "expected seconds > 0 and ≤ 3600",
            );
            timed = false;
        }
        if timed && window > 0.0 {
            let end = f.at_s + f.duration_s;
            if f.at_s >= window || end > window + 1e-9 {
                bad(
                    at("at_s"),
                    Some(num(f.at_s)),
                    &format!(
                        "the fault ({} s to {} s) must lie inside the measured timeline (0 to {} s{})",
                        num(f.at_s),
                        num(end),
                        num(window),
                        if s.phases.is_empty() {
                            ""
                        } else {
                            ", the phases end to end"
                        }
                    ),
                );
            } else if s.phases.len() > 1
                && let Some(&(p0, p1)) = spans.iter().find(|(a, b)| f.at_s >= *a && f.at_s < *b)
                && end > p1 + 1e-9
            {
                bad(
                    at("duration_s"),
                    Some(num(f.duration_s)),
                    &format!(
                        "the fault starts in the phase from {} s to {} s and must end inside it (by {} s): a fault never spans a phase boundary",
                        num(p0),
                        num(p1),
                        num(p1)
                    ),
                );
            } else {
                ends.push((f.at_s, end, i));
            }
        }
        let kind = f.kind.as_str();
        match (f.kind, f.rate) {
            (FaultKind::TelegramErrors, None) => bad(
                at("rate"),
                None,
                "missing key rate (required for kind = \"telegram_errors\"): the share of Bot API calls that fail, 0 to 1",
            ),
            (FaultKind::TelegramErrors, Some(r)) if !(0.0..=1.0).contains(&r) => {
                bad(at("rate"), Some(num(r)), "expected a share ≥ 0 and ≤ 1")
            }
            (k, Some(_)) if k != FaultKind::TelegramErrors => bad(
                at("rate"),
                None,
                &format!("only for kind = \"telegram_errors\", not \"{kind}\""),
            ),
            _ => {}
        }
        match (f.kind, f.delay_ms) {
            (FaultKind::TelegramSlow, None) => bad(
                at("delay_ms"),
                None,
                "missing key delay_ms (required for kind = \"telegram_slow\"): milliseconds added to every answer and delivery",
            ),
            (FaultKind::TelegramSlow, Some(d)) if !(d > 0.0 && d <= 60_000.0) => bad(
                at("delay_ms"),
                Some(num(d)),
                "expected milliseconds > 0 and ≤ 60000",
            ),
            (k, Some(_)) if k != FaultKind::TelegramSlow => bad(
                at("delay_ms"),
                None,
                &format!("only for kind = \"telegram_slow\", not \"{kind}\""),
            ),
            _ => {}
        }
    }
    ends.sort_by(|a, b| a.0.total_cmp(&b.0));
    for w in ends.windows(2) {
        let ((_, prev_end, prev), (start, _, i)) = (w[0], w[1]);
        if start < prev_end {
            bad(
                path!["fault", i, "at_s"],
                Some(num(start)),
                &format!(
                    "overlaps [[fault]] #{} (which lasts until {} s): faults run one at a time",
                    prev + 1,
                    num(prev_end)
                ),
            );
        }
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn num(v: f64) -> String {
    format!("{v}")
}

/// `[capacity]`: bot counts (or rates, or replicas) in increasing order, each with its axis.
fn check_capacity(bad: &mut impl FnMut(Vec<Seg>, Option<String>, &str), s: &Scenario) {
    let steps = &s.capacity.steps;
    let rates = &s.capacity.rates;
    match s.capacity.axis {
        super::Axis::Rate => {
            if *steps != super::default_steps() {
                bad(
                    path!["capacity", "steps"],
                    None,
                    "steps are bot counts: with axis = \"rate\" give rates (messages per bot per minute) and [telegram] bots",
                );
            }
            if rates.is_empty() {
                bad(
                    path!["capacity", "rates"],
                    None,
                    "missing: axis = \"rate\" steps through rates = [messages per bot per minute, …], e.g. [1, 6, 30, 60]",
                );
            } else if rates.iter().any(|r| !(*r > 0.0 && *r <= 60_000.0))
                || rates.windows(2).any(|w| w[0] >= w[1])
            {
                bad(
                    path!["capacity", "rates"],
                    None,
                    "expected rates > 0 and ≤ 60000 in increasing order, e.g. [1, 6, 30, 60]",
                );
            }
            if matches!(s.load.model, Model::Idle | Model::Replay) {
                bad(
                    path!["load", "model"],
                    Some(s.load.model.as_str().into()),
                    "a search along the rate needs a load with a rate (poisson, constant, burst, ramp)",
                );
            }
        }
        super::Axis::Bots if !rates.is_empty() => bad(
            path!["capacity", "rates"],
            None,
            "only with axis = \"rate\" (the default axis steps the bots through steps)",
        ),
        super::Axis::Replicas if !rates.is_empty() => bad(
            path!["capacity", "rates"],
            None,
            "only with axis = \"rate\" (axis = \"replicas\" steps the replicas through replicas, at [telegram] bots and the scenario's load)",
        ),
        super::Axis::Bots | super::Axis::Replicas => {}
    }
    super::fleet::check_capacity(bad, s);
    if steps.is_empty() {
        bad(
            path!["capacity", "steps"],
            Some("[]".into()),
            "expected at least one bot count",
        );
    } else if steps[0] == 0 || steps.windows(2).any(|w| w[0] >= w[1]) {
        bad(
            path!["capacity", "steps"],
            None,
            "expected bot counts ≥ 1 in increasing order, e.g. [100, 200, 500]",
        );
    }
}
