//! `[load]` and `[phase.load]`: the model's keys, conversations, group chats, a replayed
//! trace and a daily curve, each in range and only on a model that uses it.

use super::{Seg, num};
use crate::scenario::{Diurnal, Groups, Load, Model};

/// A load's keys: the model's rate and shape, and each option only where the model uses it.
pub(super) fn check_load(
    bad: &mut impl FnMut(Vec<Seg>, Option<String>, &str),
    l: &Load,
    base: Vec<Seg>,
) {
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
    if !(d.day_s > 0.0 && d.day_s <= 7.0 * crate::scenario::diurnal::REAL_DAY_S) {
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
