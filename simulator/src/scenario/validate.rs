//! Checks a scenario beyond what its types say: ranges, combinations, names.

use std::collections::BTreeSet;

use super::locate::{Seg, key_path as path};
use super::{
    Diurnal, FUNCTION_MEMORY_MB, FaultKind, Function, Groups, Kind, Load, Model, Scenario, Sut,
    TelegramOverride,
};

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

    check_load(&mut bad, &s.load, path!["load"]);

    if s.suts.is_empty() {
        bad(path!["sut"], None, "at least one [[sut]] table is required");
    }
    let mut names = BTreeSet::new();
    for (i, sut) in s.suts.iter().enumerate() {
        let at = |k: &str| path!["sut", i, k];
        if !valid_name(&sut.name) {
            bad(
                at("name"),
                Some(format!("{:?}", sut.name)),
                "expected a non-empty name of letters, digits, '.', '_' or '-'",
            );
        } else if !names.insert(sut.name.clone()) {
            bad(
                at("name"),
                Some(format!("{:?}", sut.name)),
                "another [[sut]] already has this name; names must be unique",
            );
        }
        match (sut.kind, &sut.command) {
            (Kind::Command, None) => bad(
                at("command"),
                None,
                "missing key command (required for kind = \"command\"), e.g. command = [\"python3\", \"bot.py\"]",
            ),
            (Kind::Command, Some(c)) if c.is_empty() || c[0].is_empty() => bad(
                at("command"),
                Some("[]".into()),
                "expected a program and its arguments, e.g. [\"python3\", \"bot.py\"]",
            ),
            (k, Some(_)) if k != Kind::Command => bad(
                at("command"),
                None,
                &format!(
                    "only for kind = \"command\"; kind = \"{}\" runs the reference binary (use args for its flags)",
                    k.as_str()
                ),
            ),
            _ => {}
        }
        check_serverless(&mut bad, sut, i);
        super::fleet::check_sut(&mut bad, sut, i);
        if sut.proxy.is_some()
            && matches!(sut.kind, Kind::Polling | Kind::Serverless | Kind::External)
        {
            bad(
                at("proxy"),
                Some("\"nginx\"".into()),
                &format!(
                    "a proxy fronts a webhook server (kind = \"webhook\", \"hybrid\" or a \"command\" that \
                     binds TGBENCH_LISTEN); kind = \"{}\" receives no webhooks through one",
                    sut.kind.as_str()
                ),
            );
        }
        let tls_override = sut.telegram.as_ref().and_then(|o| o.tls);
        let unhanded = matches!(sut.kind, Kind::Serverless | Kind::External);
        if unhanded && tls_override.unwrap_or(s.telegram.tls) {
            let at = match tls_override {
                Some(_) => path!["sut", i, "telegram", "tls"],
                None => path!["telegram", "tls"],
            };
            bad(
                at,
                Some("true".into()),
                &format!(
                    "not for kind = \"{}\" yet (tgbench cannot hand it the test CA); \
                     give [[sut]] {:?} telegram = {{ tls = false }}",
                    sut.kind.as_str(),
                    sut.name
                ),
            );
        }
        if let Some(q) = sut.cpu_quota {
            check_cpu_quota(&mut bad, sut, i, q);
        }
        if !(sut.ready_timeout_s > 0.0 && sut.ready_timeout_s <= 3_600.0) {
            bad(
                at("ready_timeout_s"),
                Some(num(sut.ready_timeout_s)),
                "expected seconds > 0 and ≤ 3600",
            );
        }
        if !(sut.stop_timeout_s >= 0.0 && sut.stop_timeout_s <= 600.0) {
            bad(
                at("stop_timeout_s"),
                Some(num(sut.stop_timeout_s)),
                "expected seconds ≥ 0 and ≤ 600",
            );
        }
        for key in sut.env.keys() {
            if key.starts_with("TGBENCH_") {
                bad(
                    path!["sut", i, "env", key.as_str()],
                    None,
                    "TGBENCH_* variables are set by tgbench (the SUT environment contract)",
                );
            }
        }
        if let Some(o) = &sut.telegram {
            let base = path!["sut", i, "telegram"];
            let mut prefixed = |p: Vec<Seg>, v: Option<String>, m: &str| {
                let mut full = base.clone();
                full.extend(p.into_iter().skip(1));
                bad(full, v, m)
            };
            check_telegram_numbers(&mut prefixed, &["telegram"], o);
        }
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
            check_load(&mut bad, load, path!["phase", i, "load"]);
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
    super::fleet::check_capacity(&mut bad, s);
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

fn check_load(bad: &mut impl FnMut(Vec<Seg>, Option<String>, &str), l: &Load, base: Vec<Seg>) {
    let at = |k: &str| {
        let mut p = base.clone();
        p.push(Seg::Key(k.to_string()));
        p
    };
    let rate = l.messages_per_bot_per_min;
    if !(0.0..=60_000.0).contains(&rate) {
        bad(
            at("messages_per_bot_per_min"),
            Some(num(rate)),
            "expected a number ≥ 0 and ≤ 60000",
        );
    } else if !matches!(l.model, Model::Idle | Model::Ramp | Model::Replay) && rate == 0.0 {
        bad(
            at("messages_per_bot_per_min"),
            Some(num(rate)),
            &format!(
                "model = \"{}\" needs a rate > 0 (use model = \"idle\" for no traffic)",
                l.model.as_str()
            ),
        );
    }
    if !(l.active_bots > 0.0 && l.active_bots <= 1.0) {
        bad(
            at("active_bots"),
            Some(num(l.active_bots)),
            "expected a share > 0 and ≤ 1 (1.0 = every bot gets traffic)",
        );
    }
    if !(l.zipf_s >= 0.0 && l.zipf_s <= 10.0) {
        bad(
            at("zipf_s"),
            Some(num(l.zipf_s)),
            "expected a number ≥ 0 and ≤ 10 (0 = traffic spread evenly)",
        );
    }
    if !(l.callback_share >= 0.0 && l.callback_share <= 1.0) {
        bad(
            at("callback_share"),
            Some(num(l.callback_share)),
            "expected a share ≥ 0 and ≤ 1",
        );
    }
    if l.users_per_bot == 0 {
        bad(at("users_per_bot"), Some("0".into()), "expected at least 1");
    }
    match (l.model, l.burst_every_s) {
        (Model::Burst, Some(v)) if !(v > 0.0 && v <= 3_600.0) => bad(
            at("burst_every_s"),
            Some(num(v)),
            "expected seconds > 0 and ≤ 3600",
        ),
        (m, Some(_)) if m != Model::Burst => {
            bad(at("burst_every_s"), None, "only for model = \"burst\"")
        }
        _ => {}
    }
    match (l.model, l.burst_spread_ms) {
        (Model::Burst, Some(v)) if !(0.0..=3_600_000.0).contains(&v) => bad(
            at("burst_spread_ms"),
            Some(num(v)),
            "expected milliseconds ≥ 0",
        ),
        (m, Some(_)) if m != Model::Burst => {
            bad(at("burst_spread_ms"), None, "only for model = \"burst\"")
        }
        _ => {}
    }
    match (l.model, l.ramp_from) {
        (Model::Ramp, Some(v)) if !(0.0..=60_000.0).contains(&v) => bad(
            at("ramp_from"),
            Some(num(v)),
            "expected a number ≥ 0 (messages per bot per minute at the start)",
        ),
        (Model::Ramp, from) if from.unwrap_or(0.0) == 0.0 && rate == 0.0 => bad(
            at("messages_per_bot_per_min"),
            Some(num(rate)),
            "a ramp from 0 to 0 sends nothing (use model = \"idle\")",
        ),
        (m, Some(_)) if m != Model::Ramp => bad(at("ramp_from"), None, "only for model = \"ramp\""),
        _ => {}
    }
    if let Some(d) = &l.diurnal {
        check_diurnal(bad, l.model, d, at("diurnal"));
    }
    if let Some(c) = &l.conversation {
        if matches!(l.model, Model::Idle | Model::Replay) {
            bad(
                at("conversation"),
                None,
                "not for model = \"idle\" or \"replay\" (a trace has its own conversations)",
            );
        }
        let key = |k: &str| {
            let mut p = at("conversation");
            p.push(Seg::Key(k.to_string()));
            p
        };
        if !(c.messages >= 1.0 && c.messages <= 100.0) {
            bad(
                key("messages"),
                Some(num(c.messages)),
                "expected the mean messages per conversation, ≥ 1 and ≤ 100",
            );
        }
        if !(c.gap_s > 0.0 && c.gap_s <= 3_600.0) {
            bad(
                key("gap_s"),
                Some(num(c.gap_s)),
                "expected the mean seconds between one user's messages, > 0 and ≤ 3600",
            );
        }
    }
    if let Some(g) = &l.groups {
        check_groups(bad, l.model, g, at("groups"));
    }
    check_replay(bad, l, &at);
}

/// `[load] groups`: a share in (0, 1], 1-10,000 group chats per bot, 1-1,000 users each.
fn check_groups(
    bad: &mut impl FnMut(Vec<Seg>, Option<String>, &str),
    model: Model,
    g: &Groups,
    base: Vec<Seg>,
) {
    let key = |k: &str| {
        let mut p = base.clone();
        p.push(Seg::Key(k.to_string()));
        p
    };
    if matches!(model, Model::Idle | Model::Replay) {
        bad(
            base.clone(),
            None,
            "not for model = \"idle\" or \"replay\" (a trace says which rows are group messages)",
        );
    }
    if !(g.share > 0.0 && g.share <= 1.0) {
        bad(
            key("share"),
            Some(num(g.share)),
            "expected the share of messages sent in group chats, > 0 and ≤ 1",
        );
    }
    if !(1..=10_000).contains(&g.chats) {
        bad(
            key("chats"),
            Some(g.chats.to_string()),
            "expected group chats per bot, ≥ 1 and ≤ 10000",
        );
    }
    if !(1..=1_000).contains(&g.users) {
        bad(
            key("users"),
            Some(g.users.to_string()),
            "expected users who write in each group, ≥ 1 and ≤ 1000",
        );
    }
}

/// `replay`'s keys: a trace, a speed > 0, a start ≥ 0; and none of them on another model.
/// The trace's rows are read when the scenario is loaded from its file (`attach_traces`).
fn check_replay(
    bad: &mut impl FnMut(Vec<Seg>, Option<String>, &str),
    l: &Load,
    at: &impl Fn(&str) -> Vec<Seg>,
) {
    if l.model != Model::Replay {
        for (key, given) in [
            ("trace", l.trace.is_some()),
            ("speed", l.speed.is_some()),
            ("loop", l.looped.is_some()),
            ("start_s", l.start_s.is_some()),
        ] {
            if given {
                bad(at(key), None, "only for model = \"replay\"");
            }
        }
        return;
    }
    if l.trace.as_deref().is_none_or(str::is_empty) {
        bad(
            at("trace"),
            None,
            "missing: model = \"replay\" plays a trace file (CSV or JSON Lines, see scenarios/README.md)",
        );
    }
    if let Some(v) = l.speed
        && !(v > 0.0 && v <= 1_000_000.0)
    {
        bad(
            at("speed"),
            Some(num(v)),
            "expected a number > 0 (1 = real time, 60 = an hour of the trace in a minute)",
        );
    }
    if let Some(v) = l.start_s
        && !(v.is_finite() && v >= 0.0)
    {
        bad(
            at("start_s"),
            Some(num(v)),
            "expected seconds ≥ 0 into the trace",
        );
    }
}

/// `[load] diurnal`: on a Poisson-based model, one shape (cosine or 24 weights), sane hours.
fn check_diurnal(
    bad: &mut impl FnMut(Vec<Seg>, Option<String>, &str),
    model: Model,
    d: &Diurnal,
    base: Vec<Seg>,
) {
    let at = |k: &str| {
        let mut p = base.clone();
        p.push(Seg::Key(k.to_string()));
        p
    };
    if !matches!(model, Model::Poisson | Model::Ramp) {
        bad(
            base.clone(),
            None,
            "only for model = \"poisson\" or \"ramp\" (a daily curve modulates a Poisson process)",
        );
    }
    match (&d.hours, d.peak_hour.is_some() || d.trough_ratio.is_some()) {
        (Some(_), true) => bad(
            at("hours"),
            None,
            "give either hours (24 weights) or peak_hour and trough_ratio, not both",
        ),
        (Some(h), false) => {
            if h.len() != 24 {
                bad(
                    at("hours"),
                    Some(format!("{} values", h.len())),
                    "expected 24 weights, hour 0 first",
                );
            } else if h.iter().any(|v| !(v.is_finite() && *v >= 0.0))
                || h.iter().sum::<f64>() <= 0.0
            {
                bad(
                    at("hours"),
                    None,
                    "expected numbers ≥ 0, not all 0 (they are scaled to a mean of 1)",
                );
            }
        }
        (None, _) => {
            match d.peak_hour {
                Some(v) if !(0.0..24.0).contains(&v) => bad(
                    at("peak_hour"),
                    Some(num(v)),
                    "expected an hour ≥ 0 and < 24",
                ),
                None => bad(
                    at("peak_hour"),
                    None,
                    "missing: the hour with the most traffic (or give hours = [24 weights])",
                ),
                _ => {}
            }
            match d.trough_ratio {
                Some(v) if !(v > 0.0 && v <= 1.0) => bad(
                    at("trough_ratio"),
                    Some(num(v)),
                    "expected a share > 0 and ≤ 1 (the quietest hour's traffic ÷ the busiest's)",
                ),
                None => bad(
                    at("trough_ratio"),
                    None,
                    "missing: the quietest hour's traffic ÷ the busiest's, e.g. 0.1",
                ),
                _ => {}
            }
        }
    }
    if !(d.day_s > 0.0 && d.day_s <= 7.0 * super::diurnal::REAL_DAY_S) {
        bad(
            at("day_s"),
            Some(num(d.day_s)),
            "expected seconds > 0 and ≤ 604800 (86400 = real time, 600 = a day in 10 minutes)",
        );
    }
    if !(0.0..24.0).contains(&d.start_hour) {
        bad(
            at("start_hour"),
            Some(num(d.start_hour)),
            "expected an hour ≥ 0 and < 24",
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

/// `cpu_quota` of `[[sut]]` #`i`: a share of the cores it may run on (its `cpus`, else
/// this machine's), not for the serverless shape (its functions have their own sizes).
fn check_cpu_quota(
    bad: &mut impl FnMut(Vec<Seg>, Option<String>, &str),
    sut: &Sut,
    i: usize,
    quota: f64,
) {
    let at = path!["sut", i, "cpu_quota"];
    if sut.kind == Kind::Serverless {
        bad(
            at,
            Some(num(quota)),
            "not for kind = \"serverless\" (its functions get CPU by memory_mb, as on AWS Lambda)",
        );
        return;
    }
    let (cores, of) = match &sut.cpus {
        Some(list) => (list.0.len(), "its cpus"),
        None => (
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            "this machine",
        ),
    };
    // The kernel's smallest quota is 1 ms per 100 ms period.
    if !(quota.is_finite() && quota >= 0.01 && quota <= cores as f64) {
        bad(
            at,
            Some(num(quota)),
            &format!(
                "expected cores > 0 (at least 0.01) and ≤ {cores} (the cores of {of}), e.g. 0.25 for a quarter of one core"
            ),
        );
    }
}

fn num(v: f64) -> String {
    format!("{v}")
}

/// The serverless keys of `[[sut]]` #`i`: required and in range for `kind = "serverless"`,
/// refused on every other kind.
fn check_serverless(bad: &mut impl FnMut(Vec<Seg>, Option<String>, &str), sut: &Sut, i: usize) {
    let at = |k: &str| path!["sut", i, k];
    if sut.kind != Kind::Serverless {
        for key in sut.serverless_keys() {
            bad(
                at(key),
                None,
                &format!(
                    "only for kind = \"serverless\" (this [[sut]] is kind = \"{}\")",
                    sut.kind.as_str()
                ),
            );
        }
        return;
    }
    match &sut.function {
        None => bad(
            at("function"),
            None,
            "missing key function (required for kind = \"serverless\"): \"webhook-lambda\" or a command, e.g. [\"python3\", \"function.py\"]",
        ),
        Some(Function::Command(c)) if c.is_empty() || c[0].is_empty() => bad(
            at("function"),
            Some("[]".into()),
            "expected a program and its arguments, e.g. [\"python3\", \"function.py\"]",
        ),
        _ => {}
    }
    if let Some(m) = sut.memory_mb
        && !FUNCTION_MEMORY_MB.contains(&m)
    {
        bad(
            at("memory_mb"),
            Some(m.to_string()),
            "expected 128 to 10240 (AWS Lambda's memory range, MB)",
        );
    }
    if let Some(c) = sut.concurrency
        && !(1..=10_000).contains(&c)
    {
        bad(
            at("concurrency"),
            Some(c.to_string()),
            "expected 1 to 10000 environments at once",
        );
    }
    if let Some(k) = sut.keep_warm_s
        && !(k > 0.0 && k <= 86_400.0)
    {
        bad(
            at("keep_warm_s"),
            Some(num(k)),
            "expected seconds > 0 and ≤ 86400",
        );
    }
    if let Some(t) = sut.timeout_s
        && !(1.0..=900.0).contains(&t)
    {
        bad(
            at("timeout_s"),
            Some(num(t)),
            "expected 1 to 900 seconds (AWS Lambda's timeout range)",
        );
    }
}
