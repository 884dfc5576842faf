//! `[load]` and `[phase.load]`: what simulated users send (the arrival model, its rate and
//! shape, conversations, group chats, a replayed trace), and the rates a load asks for.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Diurnal, one};

/// Arrival models of simulated users' messages.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// No messages at all.
    #[default]
    Idle,
    /// Each active bot gets messages at exact, evenly spaced instants.
    Constant,
    /// Exponential gaps (a Poisson process) at the same average rate.
    Poisson,
    /// The same average rate, delivered in bursts every `burst_every_s`.
    Burst,
    /// A Poisson process whose rate grows linearly from `ramp_from` to
    /// `messages_per_bot_per_min` over the window.
    Ramp,
    /// The messages of a trace file (`trace`), at their own times (`speed`, `loop`,
    /// `start_s`): [`crate::trace`].
    Replay,
}

impl Model {
    pub fn as_str(self) -> &'static str {
        match self {
            Model::Idle => "idle",
            Model::Constant => "constant",
            Model::Poisson => "poisson",
            Model::Burst => "burst",
            Model::Ramp => "ramp",
            Model::Replay => "replay",
        }
    }
}

/// `[load]` (and `[phase.load]`): what simulated users send.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Load {
    #[serde(default)]
    pub model: Model,
    /// Per active bot.
    #[serde(default)]
    pub messages_per_bot_per_min: f64,
    /// Share of bots that get traffic.
    #[serde(default = "default_active")]
    pub active_bots: f64,
    /// Zipf exponent of traffic across active bots (0 = even).
    #[serde(default)]
    pub zipf_s: f64,
    /// Share of updates that are callback queries instead of messages.
    #[serde(default)]
    pub callback_share: f64,
    /// Distinct simulated users (private chats) per bot.
    #[serde(default = "default_users")]
    pub users_per_bot: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst_every_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst_spread_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp_from: Option<f64>,
    /// A daily curve over the rate (`poisson` and `ramp` only): [`Diurnal`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diurnal: Option<Diurnal>,
    /// Messages come in conversations: a user sends a few, seconds apart, then goes quiet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<Conversation>,
    /// A share of the messages goes to group chats: [`Groups`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Groups>,
    /// `replay` only: the trace file (CSV or JSON Lines), relative to the scenario file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// `replay` only: time compression (60 plays an hour of the trace in a minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// `replay` only: start the trace again when it ends.
    #[serde(default, rename = "loop", skip_serializing_if = "Option::is_none")]
    pub looped: Option<bool>,
    /// `replay` only: the trace second each phase starts at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_s: Option<f64>,
    /// The trace as read when the scenario was loaded: its path and what it holds.
    #[serde(skip)]
    pub replay: Option<Arc<Replayed>>,
}

/// `[load] conversation`: the model's arrivals start conversations instead of single
/// messages. Each is one user's `messages` messages on average (a geometric count, at least
/// one), `gap_s` apart on average (exponential gaps); conversations start at the rate ÷
/// `messages`, so `messages_per_bot_per_min` stays the mean rate.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Conversation {
    pub messages: f64,
    pub gap_s: f64,
}

/// `[load] groups`: each message (not a button press) goes, with probability `share`, to
/// one of the bot's `chats` group chats instead of a private chat, written by one of the
/// group's `users` members (drawn from the bot's simulated users). Group chats are where
/// Telegram holds a bot to about 20 messages a minute.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Groups {
    pub share: f64,
    #[serde(default = "one")]
    pub chats: u32,
    #[serde(default = "default_group_users")]
    pub users: u32,
}

fn default_group_users() -> u32 {
    5
}

/// A `replay` load's trace, found and scanned when the scenario is read.
#[derive(Debug, Clone, PartialEq)]
pub struct Replayed {
    pub path: std::path::PathBuf,
    pub summary: crate::trace::Summary,
}

impl Load {
    /// How a phase of this load replays its trace (None for the other models, or before
    /// the scenario was read from a file).
    pub fn replay_plan(&self) -> Option<crate::trace::ReplayPlan> {
        let r = self
            .replay
            .as_ref()
            .filter(|_| self.model == Model::Replay)?;
        Some(crate::trace::ReplayPlan {
            path: r.path.clone(),
            speed: self.speed.unwrap_or(1.0),
            start_s: self.start_s.unwrap_or(0.0),
            looped: self.looped.unwrap_or(false).then(|| r.summary.period_s()),
        })
    }
}

impl Default for Load {
    fn default() -> Self {
        Load {
            model: Model::Idle,
            messages_per_bot_per_min: 0.0,
            active_bots: default_active(),
            zipf_s: 0.0,
            callback_share: 0.0,
            users_per_bot: default_users(),
            burst_every_s: None,
            burst_spread_ms: None,
            ramp_from: None,
            diurnal: None,
            conversation: None,
            groups: None,
            trace: None,
            speed: None,
            looped: None,
            start_s: None,
            replay: None,
        }
    }
}

impl Load {
    /// Average messages per second over all bots.
    pub fn mean_rate_per_s(&self, bots: u64) -> f64 {
        if self.model == Model::Idle {
            return 0.0;
        }
        if self.model == Model::Replay {
            return self
                .replay
                .as_ref()
                .map_or(0.0, |r| r.summary.mean_per_s() * self.speed.unwrap_or(1.0));
        }
        let per_bot = match self.model {
            Model::Ramp => {
                (self.ramp_from.unwrap_or(0.0) + self.messages_per_bot_per_min) / 2.0 / 60.0
            }
            _ => self.messages_per_bot_per_min / 60.0,
        };
        active_count(bots, self.active_bots) as f64 * per_bot
    }

    /// Highest messages per second over all bots at any moment of the window.
    pub fn peak_rate_per_s(&self, bots: u64) -> f64 {
        if self.model == Model::Idle {
            return 0.0;
        }
        if self.model == Model::Replay {
            return self
                .replay
                .as_ref()
                .map_or(0.0, |r| r.summary.peak_per_s * self.speed.unwrap_or(1.0));
        }
        let per_bot = self
            .messages_per_bot_per_min
            .max(self.ramp_from.unwrap_or(0.0))
            / 60.0;
        let daily_peak = self.diurnal.as_ref().map_or(1.0, Diurnal::max_multiplier);
        active_count(bots, self.active_bots) as f64 * per_bot * daily_peak
    }
}

/// Bots that get traffic: `ceil(bots × share)`, at least one when the share is positive.
pub fn active_count(bots: u64, share: f64) -> u64 {
    if share <= 0.0 || bots == 0 {
        return 0;
    }
    ((bots as f64 * share).ceil() as u64).clamp(1, bots)
}

fn default_active() -> f64 {
    1.0
}
fn default_users() -> u32 {
    100
}
