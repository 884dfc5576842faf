//! Arrival models as pure functions (vegeta's Pacer habit): from a seed and a `[load]`
//! table to the list of instants at which simulated users send, with no clock involved.
//!
//! The list is the open-model schedule: the injector sends each entry at its offset whether
//! or not the bot has answered earlier ones, and latency counts from the offset (no
//! coordinated omission). The same seed and load always give the same list.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::scenario::{Groups, Load, Model, active_count};
use crate::send::{FIRST_CHAT_ID, FIRST_GROUP_CHAT_ID, Send, SendKind};

/// The most sends one schedule may hold (about 1.6 GB of them would not fit anyway).
pub const MAX_SENDS: u64 = 20_000_000;

/// Expected number of sends of a load over `duration` at `bots` bots.
pub fn expected_sends(load: &Load, bots: u64, duration: Duration) -> f64 {
    if let (Model::Replay, Some(r)) = (load.model, &load.replay) {
        // The rows of trace time the segment covers: all of it at most, unless looped.
        let covered = duration.as_secs_f64() * load.speed.unwrap_or(1.0);
        let left = (r.summary.period_s() - load.start_s.unwrap_or(0.0)).max(0.0);
        let span = if load.looped == Some(true) {
            covered
        } else {
            covered.min(left)
        };
        return r.summary.mean_per_s() * span;
    }
    let daily = load
        .diurnal
        .as_ref()
        .map_or(1.0, |d| d.mean_over(duration.as_secs_f64()));
    load.mean_rate_per_s(bots) * duration.as_secs_f64() * daily
}

/// The sends of one segment in time order, as the injector reads them: a trace replay
/// streams from its file ([`crate::trace::Replay`]); every other model is [`build`]'s list.
pub fn sends(
    load: &Load,
    bots: u64,
    duration: Duration,
    seed: u64,
) -> Box<dyn Iterator<Item = Send> + std::marker::Send> {
    match load.replay_plan() {
        Some(plan) => Box::new(crate::trace::Replay::new(plan, duration)),
        None => Box::new(build(load, bots, duration, seed).into_iter()),
    }
}

/// The schedule of one segment, sorted by time. Deterministic in (`load`, `bots`,
/// `duration`, `seed`). A `replay` load gives its sends by [`sends`], not here.
pub fn build(load: &Load, bots: u64, duration: Duration, seed: u64) -> Vec<Send> {
    let active = active_count(bots, load.active_bots) as usize;
    if matches!(load.model, Model::Idle | Model::Replay) || active == 0 || duration.is_zero() {
        return Vec::new();
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let weights = Weights::new(active, load.zipf_s);
    // With conversations, the model's arrivals are conversation starts, each `messages`
    // messages on average: they come at the rate ÷ `messages`.
    let per_start = load.conversation.as_ref().map_or(1.0, |c| c.messages);
    let total_rate = active as f64 * load.messages_per_bot_per_min / 60.0 / per_start;
    let t_end = duration.as_secs_f64();
    let mut times: Vec<(f64, u32)> = Vec::new();
    // A daily curve thins a process drawn at the day's peak: an instant `t` of it is kept
    // with probability multiplier(t) ÷ peak, which leaves a Poisson process at the
    // modulated rate (Lewis and Shedler's thinning).
    let peak = load.diurnal.as_ref().map_or(1.0, |d| d.max_multiplier());
    let keep = |rng: &mut StdRng, t: f64| match &load.diurnal {
        None => true,
        Some(d) => rng.r#gen::<f64>() * peak < d.multiplier(t),
    };

    match load.model {
        Model::Idle | Model::Replay => {}
        Model::Constant => {
            // Each bot its own evenly spaced stream at its share of the total rate, with a
            // random phase so bots do not all send at the same instant.
            for bot in 0..active {
                let rate = total_rate * weights.share(bot);
                if rate <= 0.0 {
                    continue;
                }
                let gap = 1.0 / rate;
                let mut t = rng.r#gen::<f64>() * gap;
                while t < t_end {
                    times.push((t, bot as u32));
                    t += gap;
                }
            }
        }
        Model::Poisson => {
            let rate = total_rate * peak;
            let mut t = exp(&mut rng, rate);
            while t < t_end {
                if keep(&mut rng, t) {
                    times.push((t, weights.pick(&mut rng) as u32));
                }
                t += exp(&mut rng, rate);
            }
        }
        Model::Burst => {
            let every = load.burst_every_s.unwrap_or(10.0);
            let spread = load.burst_spread_ms.unwrap_or(0.0) / 1000.0;
            // Burst k at (k + ½)·every; its size keeps the running total on the mean rate.
            let mut k = 0u64;
            loop {
                let start = (k as f64 + 0.5) * every;
                if start >= t_end {
                    break;
                }
                let due_before = (total_rate * (k as f64) * every).round() as u64;
                let due_after = (total_rate * (k as f64 + 1.0) * every).round() as u64;
                for _ in due_before..due_after {
                    let t = start + rng.r#gen::<f64>() * spread;
                    if t < t_end {
                        times.push((t, weights.pick(&mut rng) as u32));
                    }
                }
                k += 1;
            }
        }
        Model::Ramp => {
            // Non-homogeneous Poisson: rate(t) = r0 + (r1 - r0)·t/T; invert the cumulative
            // rate Λ(t) = r0·t + (r1 - r0)·t²/(2T) at unit-exponential steps.
            let r0 = active as f64 * load.ramp_from.unwrap_or(0.0) / 60.0 / per_start * peak;
            let r1 = total_rate * peak;
            let a = (r1 - r0) / (2.0 * t_end);
            let total = r0 * t_end + a * t_end * t_end;
            let mut e = exp(&mut rng, 1.0);
            while e < total {
                let t = if a.abs() < 1e-12 {
                    e / r0
                } else {
                    (-r0 + (r0 * r0 + 4.0 * a * e).max(0.0).sqrt()) / (2.0 * a)
                };
                if t >= t_end {
                    break;
                }
                if keep(&mut rng, t) {
                    times.push((t, weights.pick(&mut rng) as u32));
                }
                e += exp(&mut rng, 1.0);
            }
        }
    }

    let users = u64::from(load.users_per_bot.max(1));
    // Each arrival's user: picked with the arrival when it starts a conversation (all its
    // messages are that user's), else below in time order.
    let mut times: Vec<(f64, u32, Option<i64>)> = match &load.conversation {
        None => times.into_iter().map(|(t, b)| (t, b, None)).collect(),
        Some(c) => {
            let mut out = Vec::with_capacity((times.len() as f64 * c.messages) as usize);
            for (start, bot) in times {
                let chat = FIRST_CHAT_ID + rng.gen_range(0..users) as i64;
                // A geometric count with mean `messages`: after each message, another
                // follows with probability 1 - 1/messages.
                let mut t = start;
                loop {
                    out.push((t, bot, Some(chat)));
                    if rng.r#gen::<f64>() * c.messages < 1.0 {
                        break;
                    }
                    t += exp(&mut rng, 1.0 / c.gap_s);
                    if t >= t_end {
                        break;
                    }
                }
            }
            out
        }
    };
    times.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    times
        .into_iter()
        .map(|(t, bot, chat)| {
            let chat_id = chat.unwrap_or_else(|| FIRST_CHAT_ID + rng.gen_range(0..users) as i64);
            let kind = if load.callback_share > 0.0 && rng.r#gen::<f64>() < load.callback_share {
                SendKind::Callback
            } else {
                SendKind::Message
            };
            let (chat_id, kind) = match (&load.groups, kind) {
                (Some(g), SendKind::Message) if rng.r#gen::<f64>() < g.share => {
                    in_group(&mut rng, g, users)
                }
                _ => (chat_id, kind),
            };
            Send {
                at: Duration::from_secs_f64(t),
                bot,
                chat_id,
                kind,
            }
        })
        .collect()
}

/// A message in one of a bot's group chats, by one of the group's members: member `m` of
/// group `g` is the bot's user `(g × users + m) mod users_per_bot`, so groups share users
/// with the private chats and with each other once there are more seats than users.
fn in_group(rng: &mut StdRng, g: &Groups, users_per_bot: u64) -> (i64, SendKind) {
    let group = rng.gen_range(0..u64::from(g.chats.max(1)));
    let member = rng.gen_range(0..u64::from(g.users.max(1)));
    let user = (group * u64::from(g.users) + member) % users_per_bot.max(1);
    (
        -(FIRST_GROUP_CHAT_ID + group as i64),
        SendKind::Group {
            user_id: FIRST_CHAT_ID + user as i64,
        },
    )
}

/// An exponential gap at `rate` per second.
fn exp(rng: &mut StdRng, rate: f64) -> f64 {
    if rate <= 0.0 {
        return f64::INFINITY;
    }
    let u: f64 = rng.r#gen();
    -(1.0 - u).ln() / rate
}

/// How traffic splits over the active bots: even, or Zipf (bot k gets ∝ 1/(k+1)^s).
struct Weights {
    cumulative: Vec<f64>,
}

impl Weights {
    fn new(active: usize, zipf_s: f64) -> Weights {
        let mut cumulative = Vec::with_capacity(active);
        let mut sum = 0.0;
        for k in 0..active {
            sum += if zipf_s > 0.0 {
                1.0 / ((k + 1) as f64).powf(zipf_s)
            } else {
                1.0
            };
            cumulative.push(sum);
        }
        for c in &mut cumulative {
            *c /= sum;
        }
        Weights { cumulative }
    }

    fn share(&self, bot: usize) -> f64 {
        let prev = if bot == 0 {
            0.0
        } else {
            self.cumulative[bot - 1]
        };
        self.cumulative[bot] - prev
    }

    fn pick(&self, rng: &mut StdRng) -> usize {
        let u: f64 = rng.r#gen();
        self.cumulative
            .partition_point(|&c| c <= u)
            .min(self.cumulative.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(model: Model, rate: f64) -> Load {
        Load {
            model,
            messages_per_bot_per_min: rate,
            ..Load::default()
        }
    }

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn same_seed_same_schedule_other_seed_other_schedule() {
        for model in [Model::Constant, Model::Poisson, Model::Burst, Model::Ramp] {
            let mut l = load(model, 6.0);
            l.callback_share = 0.3;
            let a = build(&l, 100, MIN, 7);
            let b = build(&l, 100, MIN, 7);
            let c = build(&l, 100, MIN, 8);
            assert!(!a.is_empty(), "{model:?}");
            assert_eq!(a, b, "{model:?}");
            assert_ne!(a, c, "{model:?}");
        }
    }

    #[test]
    fn idle_sends_nothing() {
        assert!(build(&load(Model::Idle, 100.0), 100, MIN, 1).is_empty());
    }

    #[test]
    fn sorted_and_inside_the_window() {
        for model in [Model::Constant, Model::Poisson, Model::Burst, Model::Ramp] {
            let s = build(&load(model, 30.0), 50, Duration::from_secs(20), 3);
            assert!(s.windows(2).all(|w| w[0].at <= w[1].at), "{model:?}");
            assert!(
                s.iter().all(|x| x.at < Duration::from_secs(20)),
                "{model:?}"
            );
            assert!(s.iter().all(|x| x.bot < 50), "{model:?}");
        }
    }

    #[test]
    fn constant_is_exact_and_evenly_spaced_per_bot() {
        // 10 bots × 6/min for 60 s = exactly 6 per bot, 10 s apart.
        let s = build(&load(Model::Constant, 6.0), 10, MIN, 5);
        assert_eq!(s.len(), 60);
        for bot in 0..10 {
            let mine: Vec<f64> = s
                .iter()
                .filter(|x| x.bot == bot)
                .map(|x| x.at.as_secs_f64())
                .collect();
            assert_eq!(mine.len(), 6, "bot {bot}");
            for w in mine.windows(2) {
                assert!((w[1] - w[0] - 10.0).abs() < 1e-6);
            }
        }
    }

    /// Conversations of 4 messages on average, 3 s apart: the same mean rate, most messages
    /// within seconds of the same user's previous one, each conversation one user's.
    #[test]
    fn conversations_keep_the_rate_and_bunch_one_users_messages() {
        let mut l = load(Model::Poisson, 6.0);
        l.users_per_bot = 1_000_000;
        l.conversation = Some(crate::scenario::Conversation {
            messages: 4.0,
            gap_s: 3.0,
        });
        let window = Duration::from_secs(3600);
        // 50 bots × 6/min × 60 min = 18,000 on average (conversations make it lumpier).
        let s = build(&l, 50, window, 9);
        assert!((16_500..=19_500).contains(&s.len()), "{}", s.len());
        let mut by_user: std::collections::HashMap<(u32, i64), Vec<f64>> = Default::default();
        for x in &s {
            by_user
                .entry((x.bot, x.chat_id))
                .or_default()
                .push(x.at.as_secs_f64());
        }
        // With a million users a bot, a user is (almost always) one conversation.
        let per_user = s.len() as f64 / by_user.len() as f64;
        assert!(
            (3.6..=4.4).contains(&per_user),
            "{per_user} messages per conversation"
        );
        let gaps: Vec<f64> = by_user
            .values()
            .flat_map(|ts| ts.windows(2).map(|w| w[1] - w[0]))
            .collect();
        let mean_gap = gaps.iter().sum::<f64>() / gaps.len() as f64;
        assert!(
            (2.7..=3.3).contains(&mean_gap),
            "{mean_gap} s between a user's messages"
        );
        // Without conversations the same rate spreads over users.
        l.conversation = None;
        let flat = build(&l, 50, window, 9);
        let users: std::collections::HashSet<(u32, i64)> =
            flat.iter().map(|x| (x.bot, x.chat_id)).collect();
        assert!(users.len() as f64 > flat.len() as f64 * 0.99);
    }

    /// A day compressed into 600 s (hour h at 25 h s), peak at 20:00, trough a tenth of it:
    /// the day's total is the flat load's, the evening hour gets ~10× the morning's, and the
    /// same seed gives the same schedule.
    #[test]
    fn a_daily_curve_moves_traffic_to_the_evening_and_keeps_the_days_total() {
        let mut l = load(Model::Poisson, 60.0);
        l.diurnal = Some(crate::scenario::Diurnal {
            peak_hour: Some(20.0),
            trough_ratio: Some(0.1),
            hours: None,
            day_s: 600.0,
            start_hour: 0.0,
        });
        let day = Duration::from_secs(600);
        let s = build(&l, 100, day, 3);
        // 100/s × 600 s = 60,000 ± 4σ (σ ≈ 245).
        assert!((59_000..=61_000).contains(&s.len()), "{}", s.len());
        assert!((expected_sends(&l, 100, day) - 60_000.0).abs() < 60.0);
        let in_hour = |h: f64| {
            s.iter()
                .filter(|x| ((x.at.as_secs_f64() / 25.0) - h).abs() < 0.5)
                .count() as f64
        };
        let ratio = in_hour(20.0) / in_hour(8.0);
        assert!((7.0..=13.0).contains(&ratio), "evening ÷ morning = {ratio}");
        assert_eq!(s, build(&l, 100, day, 3));
        // The first half (00:00-12:00, the trough's side) is the quieter one.
        let first_half = s.iter().filter(|x| x.at.as_secs_f64() < 300.0).count();
        assert!(first_half * 2 < s.len(), "{first_half} of {}", s.len());
        // The peak rate is the curve's peak, for the preflight's sizing.
        assert!((l.peak_rate_per_s(100) - 100.0 * 2.0 / 1.1).abs() < 1e-6);
    }

    #[test]
    fn poisson_mean_rate_and_exponential_gaps() {
        // 100 bots × 60/min = 100/s for 100 s: 10,000 ± 4σ (σ = 100).
        let s = build(
            &load(Model::Poisson, 60.0),
            100,
            Duration::from_secs(100),
            11,
        );
        assert!((9_600..=10_400).contains(&s.len()), "{}", s.len());
        // Exponential gaps: share of gaps below the mean ≈ 1 - 1/e ≈ 0.632.
        let mean = 0.01;
        let below = s
            .windows(2)
            .filter(|w| (w[1].at - w[0].at).as_secs_f64() < mean)
            .count() as f64
            / (s.len() - 1) as f64;
        assert!((below - 0.632).abs() < 0.03, "{below}");
    }

    #[test]
    fn burst_keeps_the_mean_and_clusters() {
        let mut l = load(Model::Burst, 6.0);
        l.burst_every_s = Some(10.0);
        l.burst_spread_ms = Some(100.0);
        // 100 bots × 6/min = 10/s; bursts at 5, 15, …, 55 s of 100 messages each.
        let s = build(&l, 100, MIN, 2);
        assert_eq!(s.len(), 600);
        for x in &s {
            let t = x.at.as_secs_f64();
            let into = (t - 5.0).rem_euclid(10.0);
            assert!(into < 0.1 + 1e-9, "send at {t} s is outside a burst");
        }
    }

    #[test]
    fn ramp_grows() {
        let mut l = load(Model::Ramp, 60.0);
        l.ramp_from = Some(0.0);
        let s = build(&l, 100, MIN, 4);
        // Expected total: mean rate 50/s × 60 s = 3,000; first half gets a quarter.
        assert!((2_800..=3_200).contains(&s.len()), "{}", s.len());
        let first = s.iter().filter(|x| x.at < Duration::from_secs(30)).count() as f64;
        let share = first / s.len() as f64;
        assert!((share - 0.25).abs() < 0.03, "{share}");
    }

    #[test]
    fn a_share_of_messages_goes_to_group_chats_written_by_their_members() {
        let mut l = load(Model::Poisson, 60.0);
        l.users_per_bot = 100;
        l.callback_share = 0.1;
        l.groups = Some(Groups {
            share: 0.25,
            chats: 3,
            users: 4,
        });
        let s = build(&l, 10, MIN, 5);
        let messages = s.iter().filter(|x| x.kind != SendKind::Callback).count() as f64;
        let groups: Vec<&Send> = s
            .iter()
            .filter(|x| matches!(x.kind, SendKind::Group { .. }))
            .collect();
        let share = groups.len() as f64 / messages;
        assert!((share - 0.25).abs() < 0.04, "{share}");
        let mut members: std::collections::HashMap<i64, std::collections::HashSet<i64>> =
            Default::default();
        for x in &groups {
            let SendKind::Group { user_id } = x.kind else {
                unreachable!()
            };
            assert!((-(FIRST_GROUP_CHAT_ID + 2)..=-FIRST_GROUP_CHAT_ID).contains(&x.chat_id));
            members.entry(x.chat_id).or_default().insert(user_id);
        }
        // Three groups of four members each, no member in two groups (12 ≤ 100 users).
        assert_eq!(members.len(), 3);
        assert!(members.values().all(|m| m.len() == 4), "{members:?}");
        let all: std::collections::HashSet<i64> = members.values().flatten().copied().collect();
        assert_eq!(all.len(), 12);
        // Callbacks stay in private chats; the same seed gives the same schedule.
        assert!(
            s.iter()
                .filter(|x| x.kind == SendKind::Callback)
                .all(|x| x.chat_id > 0)
        );
        assert_eq!(build(&l, 10, MIN, 5), s);
        // Without groups the schedule is what it was.
        let mut plain = l.clone();
        plain.groups = None;
        let p = build(&plain, 10, MIN, 5);
        assert!(p.iter().all(|x| x.chat_id > 0));
        assert_eq!(p.len(), s.len());
    }

    #[test]
    fn active_share_limits_the_bots_used() {
        let mut l = load(Model::Poisson, 60.0);
        l.active_bots = 0.1;
        let s = build(&l, 100, MIN, 9);
        assert!(s.iter().all(|x| x.bot < 10));
        let used: std::collections::BTreeSet<u32> = s.iter().map(|x| x.bot).collect();
        assert_eq!(used.len(), 10);
        // Rate is per active bot: 10 bots × 1/s × 60 s ≈ 600.
        assert!((500..=700).contains(&s.len()), "{}", s.len());
    }

    #[test]
    fn zipf_skews_toward_the_first_bots() {
        let mut l = load(Model::Poisson, 60.0);
        l.zipf_s = 1.0;
        let s = build(&l, 100, MIN, 6);
        let first = s.iter().filter(|x| x.bot == 0).count();
        let last = s.iter().filter(|x| x.bot == 99).count();
        // Zipf s=1 over 100: bot 0 gets 1/H(100) ≈ 19 %, bot 99 about 0.19 %.
        let share = first as f64 / s.len() as f64;
        assert!((share - 0.193).abs() < 0.02, "{share}");
        assert!(first > 20 * last.max(1), "{first} vs {last}");
    }

    #[test]
    fn callback_share_and_users() {
        let mut l = load(Model::Poisson, 60.0);
        l.callback_share = 0.25;
        l.users_per_bot = 3;
        let s = build(&l, 100, MIN, 10);
        let cb = s.iter().filter(|x| x.kind == SendKind::Callback).count() as f64;
        assert!((cb / s.len() as f64 - 0.25).abs() < 0.03);
        assert!(
            s.iter()
                .all(|x| (FIRST_CHAT_ID..FIRST_CHAT_ID + 3).contains(&x.chat_id))
        );
    }

    #[test]
    fn expected_sends_matches_the_models() {
        let l = load(Model::Poisson, 6.0);
        assert!((expected_sends(&l, 100, MIN) - 600.0).abs() < 1e-9);
        assert_eq!(expected_sends(&load(Model::Idle, 6.0), 100, MIN), 0.0);
    }
}
