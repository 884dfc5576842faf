//! One bot's state behind its own mutex: its update queue, its chats (message ids, open
//! latency samples, rate buckets), the held long poll, its webhook, what it sent.
//!
//! No lock here is ever held across an await.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{Notify, oneshot};

use crate::queue::{UpdateKind, UpdateQueue};
use crate::ratelimit::{PER_BOT_BURST, PER_BOT_RATE, TokenBucket, chat_bucket};
use crate::token::BotInfo;

/// Messages kept per bot for `/_mock/sent` (the oldest are forgotten beyond it).
pub const SENT_CAP_PER_BOT: usize = 100_000;
/// Answered latency samples kept per chat (to recognise duplicate replies).
const ANSWERED_KEPT_PER_CHAT: usize = 32;

/// A fast hasher for chat ids (they are the harness's own numbers, not hostile input):
/// one multiply instead of SipHash on the per-update paths.
#[derive(Debug, Default, Clone, Copy)]
pub struct ChatIdHasher(u64);

impl Hasher for ChatIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_i64(&mut self, n: i64) {
        self.0 = (n as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(26);
    }
}

/// Maps and sets keyed by chat id.
pub type ChatMap<V> = HashMap<i64, V, BuildHasherDefault<ChatIdHasher>>;
pub type ChatSet = HashSet<i64, BuildHasherDefault<ChatIdHasher>>;

/// A bot: its identity, its state, and the bell its webhook worker sleeps on.
#[derive(Debug)]
pub struct Bot {
    pub info: BotInfo,
    pub state: Mutex<BotState>,
    pub worker_bell: Notify,
}

impl Bot {
    pub fn new(info: BotInfo) -> Self {
        Bot {
            info,
            state: Mutex::new(BotState::new()),
            worker_bell: Notify::new(),
        }
    }

    /// Locks the state (a poisoned lock is still usable: every update keeps it consistent).
    pub fn lock(&self) -> std::sync::MutexGuard<'_, BotState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why a held getUpdates ends early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollWake {
    Updates,
    Conflict(&'static str),
    Shutdown,
}

/// The long poll a bot holds now.
#[derive(Debug)]
pub struct HeldPoll {
    pub seq: u64,
    pub tx: oneshot::Sender<PollWake>,
}

/// The previous getUpdates, for Telegram's anti-spin rules.
#[derive(Debug, Clone, Copy)]
pub struct LastPoll {
    pub offset: i64,
    pub started: Instant,
    pub finished: Option<Instant>,
}

/// Which update kinds a bot receives (sticky allowed_updates; empty list = all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    pub list: Option<Vec<String>>,
}

impl Allowed {
    pub fn allows(&self, kind: UpdateKind) -> bool {
        match &self.list {
            None => true,
            Some(l) if l.is_empty() => true,
            Some(l) => l.iter().any(|k| k == kind.name()),
        }
    }
}

/// A webhook as setWebhook left it.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConf {
    pub url: String,
    pub target: crate::webhook_client::Target,
    pub secret: Option<String>,
    pub max_connections: usize,
    pub has_custom_certificate: bool,
    pub ip_address: Option<String>,
}

/// The delivery side of a webhook.
#[derive(Debug, Default)]
pub struct WebhookRuntime {
    pub worker_running: bool,
    pub in_flight: usize,
    pub chats_in_flight: ChatSet,
    /// Consecutive failed POSTs.
    pub failures: u32,
    pub next_attempt: Option<Instant>,
    /// (unix time, Telegram's wording)
    pub last_error: Option<(i64, String)>,
    /// The connections POSTs go over (Telegram's slow start).
    pub connections: crate::webhook_connections::Connections,
    /// Scratch: the chats of the updates loaded, reused by every planning pass.
    pub loaded_chats: ChatSet,
}

/// A user message (or button press) waiting for the bot's reply: the latency clock.
#[derive(Debug, Clone)]
pub struct Sample {
    pub message_id: i64,
    pub update_id: i64,
    pub due: Instant,
    /// When the update last left Telegram before the reply: the getUpdates answer that
    /// carried it, or the start of the webhook POST ([`crate::split`]).
    pub handed_out: Option<Instant>,
    pub replies: u32,
}

/// A closed sample's clock: when its update was due, and when it last left Telegram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamps {
    pub due: Instant,
    pub handed_out: Option<Instant>,
}

/// One chat with simulated users: private, or a group.
#[derive(Debug)]
pub struct ChatState {
    /// The last message id used in the chat (users' and the bot's share one sequence).
    pub last_message_id: i64,
    /// The bot's last message (what a button press points at).
    pub last_bot_message: Option<i64>,
    pub samples: VecDeque<Sample>,
    pub bucket: TokenBucket,
}

impl ChatState {
    /// Chat `chat_id` (its rate bucket is a group's when the id is negative).
    pub fn new(chat_id: i64, now: Instant) -> Self {
        ChatState {
            last_message_id: 0,
            last_bot_message: None,
            samples: VecDeque::new(),
            bucket: chat_bucket(chat_id, now),
        }
    }

    pub fn next_message_id(&mut self) -> i64 {
        self.last_message_id += 1;
        self.last_message_id
    }

    /// Starts the latency clock of an update due at `due`, waiting for the bot's reply to
    /// `message_id` (0 for a button press: a reply to it names no user message).
    pub fn open_sample(&mut self, message_id: i64, update_id: i64, due: Instant) {
        self.samples.push_back(Sample {
            message_id,
            update_id,
            due,
            handed_out: None,
            replies: 0,
        });
    }

    /// Which sample a reply closes: the one it names, else the oldest unanswered, else (a
    /// reply beyond the first) the newest. Returns (update_id, its stamps, first reply?).
    pub fn close_sample(&mut self, target: ReplyTarget) -> Option<(i64, Stamps, bool)> {
        let index = match target {
            ReplyTarget::Message(mid) => self
                .samples
                .iter()
                .position(|s| s.message_id == mid)
                .or_else(|| self.samples.iter().position(|s| s.replies == 0)),
            ReplyTarget::Update(uid) => self.samples.iter().position(|s| s.update_id == uid),
            ReplyTarget::Oldest => self.samples.iter().position(|s| s.replies == 0),
        }
        .or_else(|| self.samples.len().checked_sub(1))?;
        let s = &mut self.samples[index];
        s.replies += 1;
        let stamps = Stamps {
            due: s.due,
            handed_out: s.handed_out,
        };
        let result = (s.update_id, stamps, s.replies == 1);
        while self.samples.len() > ANSWERED_KEPT_PER_CHAT
            && self.samples.front().is_some_and(|s| s.replies > 0)
        {
            self.samples.pop_front();
        }
        Some(result)
    }
}

/// What a reply names as the message it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyTarget {
    /// reply_parameters.message_id / reply_to_message_id
    Message(i64),
    /// the update behind a callback_query_id
    Update(i64),
    /// nothing named
    Oldest,
}

/// A message (or callback answer) the bot sent, as `/_mock/sent` lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SentMessage {
    pub chat_id: i64,
    pub text: String,
    /// The message's id (0 for answerCallbackQuery).
    pub message_id: i64,
    /// sendMessage, editMessageText or answerCallbackQuery.
    pub method: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reply_to_message_id: Option<i64>,
    /// The injected update this reply closed, when it closed one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub update_id: Option<i64>,
    /// Unix time.
    pub date: i64,
}

/// Everything about one bot that changes.
#[derive(Debug)]
pub struct BotState {
    pub queue: UpdateQueue,
    pub last_update_id: i64,
    pub allowed: Allowed,
    pub poll: Option<HeldPoll>,
    pub poll_seq: u64,
    pub last_poll: Option<LastPoll>,
    /// Before this, a getUpdates ended by a 409 Conflict waits 3 s for its answer.
    pub next_conflict: Option<Instant>,
    /// Last time a getUpdates arrived or was answered (readiness).
    pub last_poll_seen: Option<Instant>,
    pub webhook: Option<std::sync::Arc<WebhookConf>>,
    pub wh: WebhookRuntime,
    pub chats: ChatMap<ChatState>,
    pub bucket: TokenBucket,
    pub sent: VecDeque<SentMessage>,
    pub commands: Value,
}

impl BotState {
    pub fn new() -> Self {
        BotState {
            queue: UpdateQueue::default(),
            last_update_id: 0,
            allowed: Allowed { list: None },
            poll: None,
            poll_seq: 0,
            last_poll: None,
            next_conflict: None,
            last_poll_seen: None,
            webhook: None,
            wh: WebhookRuntime::default(),
            chats: ChatMap::default(),
            bucket: TokenBucket::new(PER_BOT_RATE, PER_BOT_BURST, Instant::now()),
            sent: VecDeque::new(),
            commands: Value::Array(Vec::new()),
        }
    }

    /// Ends the held long poll, if any, telling it why.
    pub fn end_poll(&mut self, why: PollWake) {
        if let Some(p) = self.poll.take() {
            let _ = p.tx.send(why);
        }
    }

    /// Records a sent message, forgetting the oldest beyond the cap.
    pub fn record_sent(&mut self, m: SentMessage) {
        if self.sent.len() >= SENT_CAP_PER_BOT {
            self.sent.pop_front();
        }
        self.sent.push_back(m);
    }

    /// Forgets rate buckets that are full again (they would change nothing).
    pub fn prune_buckets(&mut self, now: Instant) {
        if self.chats.len() > 10_000 {
            self.chats
                .retain(|_, c| !c.samples.is_empty() || !c.bucket.is_full(now));
        }
    }
}

impl Default for BotState {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat_with(samples: &[(i64, i64)]) -> ChatState {
        let mut c = ChatState::new(1, Instant::now());
        for &(mid, uid) in samples {
            c.open_sample(mid, uid, Instant::now());
        }
        c
    }

    #[test]
    fn replies_close_the_named_sample_else_the_oldest_then_count_as_duplicates() {
        let mut c = chat_with(&[(1, 10), (2, 11), (3, 12)]);
        assert_eq!(
            c.close_sample(ReplyTarget::Message(2)).map(|r| (r.0, r.2)),
            Some((11, true))
        );
        assert_eq!(
            c.close_sample(ReplyTarget::Oldest).map(|r| (r.0, r.2)),
            Some((10, true))
        );
        assert_eq!(
            c.close_sample(ReplyTarget::Message(2)).map(|r| (r.0, r.2)),
            Some((11, false))
        );
        assert_eq!(
            c.close_sample(ReplyTarget::Oldest).map(|r| (r.0, r.2)),
            Some((12, true))
        );
        // Nothing unanswered: a further reply is a duplicate of the newest.
        assert_eq!(
            c.close_sample(ReplyTarget::Oldest).map(|r| (r.0, r.2)),
            Some((12, false))
        );
        assert!(chat_with(&[]).close_sample(ReplyTarget::Oldest).is_none());
    }

    #[test]
    fn empty_allowed_list_means_everything() {
        assert!(Allowed { list: Some(vec![]) }.allows(UpdateKind::CallbackQuery));
        let only_messages = Allowed {
            list: Some(vec!["message".into()]),
        };
        assert!(only_messages.allows(UpdateKind::Message));
        assert!(!only_messages.allows(UpdateKind::CallbackQuery));
    }
}
