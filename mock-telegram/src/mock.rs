//! [`Mock`]: all of the emulator's state — the bots, the counters, the latency histograms,
//! the fault in force — and the harness-side operations on it (inject, stats, sent, reset).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use tokio_util::sync::CancellationToken;

use crate::bot::{Bot, ChatState, ReplyTarget, SentMessage};
use crate::config::MockConfig;
use crate::error::MockError;
use crate::network::{Distance, Fault};
use crate::queue::{Pending, UpdateKind};
use crate::split::{Latencies, SplitUs};
use crate::stats::{Counters, Latency, LatencySplit, Readiness, Stats};
use crate::token::{BotInfo, FIRST_BOT_ID, bot_info};
use crate::types::{self, CallbackQuery, Message, Update};
use crate::webhook_client::WebhookClient;

pub use crate::split::LATENCY_MAX_US;

/// A simulated user's message or button press, to inject.
#[derive(Clone, Debug)]
pub struct NewUpdate {
    pub bot_id: i64,
    /// A private chat with user id == chat_id (positive), or a group chat (negative).
    pub chat_id: i64,
    /// Who writes: required in a group chat; in a private chat None or chat_id.
    pub user_id: Option<i64>,
    /// A message...
    pub text: Option<String>,
    /// ...or a callback_query (exactly one of the two).
    pub callback_data: Option<String>,
    /// The latency clock's start; None = now.
    pub due: Option<Instant>,
}

impl NewUpdate {
    /// A text message from user `chat_id`, due now.
    pub fn message(bot_id: i64, chat_id: i64, text: impl Into<String>) -> Self {
        NewUpdate {
            bot_id,
            chat_id,
            user_id: None,
            text: Some(text.into()),
            callback_data: None,
            due: None,
        }
    }

    /// A text message from user `user_id` in group chat `chat_id` (negative), due now.
    pub fn group_message(bot_id: i64, chat_id: i64, user_id: i64, text: impl Into<String>) -> Self {
        NewUpdate {
            user_id: Some(user_id),
            ..NewUpdate::message(bot_id, chat_id, text)
        }
    }

    /// A button press by user `chat_id`, due now.
    pub fn callback(bot_id: i64, chat_id: i64, data: impl Into<String>) -> Self {
        NewUpdate {
            bot_id,
            chat_id,
            user_id: None,
            text: None,
            callback_data: Some(data.into()),
            due: None,
        }
    }
}

/// One first reply, as [`Mock::reply_log`] keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplySample {
    pub bot_id: i64,
    pub update_id: i64,
    /// Due → reply, µs (the value the latency histogram recorded).
    pub latency_us: u64,
    /// Due → handed out, µs, the part of `latency_us` spent in Telegram ([`crate::split`]).
    pub in_telegram_us: u64,
}

/// All state of the emulator; share it as `Arc<Mock>`.
#[derive(Debug)]
pub struct Mock {
    config: MockConfig,
    pub(crate) bots: Vec<Bot>,
    pub(crate) counters: Counters,
    histograms: Mutex<Latencies>,
    /// Every first reply in order, once [`Mock::keep_reply_log`] is called; written under
    /// the histograms' lock, so histograms and a log length read together agree.
    reply_log: Mutex<Option<Vec<ReplySample>>>,
    fault: RwLock<Fault>,
    pub(crate) distance: Distance,
    /// Cancelled when the server serving this mock shuts down (ends webhook workers);
    /// renewed when a server starts serving it again.
    stopping: RwLock<CancellationToken>,
    pub(crate) webhook_client: WebhookClient,
}

impl Mock {
    /// A mock with `config.bots` bots (ids and tokens from `config.seed`).
    pub fn new(config: MockConfig) -> Arc<Mock> {
        let bots = (0..config.bots)
            .map(|i| Bot::new(bot_info(config.seed, i)))
            .collect();
        let webhook_client = WebhookClient::new(config.webhook_ca_pem.as_deref());
        Arc::new(Mock {
            distance: Distance {
                rtt: config.rtt,
                jitter: config.jitter,
            },
            config,
            bots,
            counters: Counters::default(),
            histograms: Mutex::new(Latencies::default()),
            reply_log: Mutex::new(None),
            fault: RwLock::new(Fault::None),
            stopping: RwLock::new(CancellationToken::new()),
            webhook_client,
        })
    }

    pub fn config(&self) -> &MockConfig {
        &self.config
    }

    /// Every bot's id, username and token.
    pub fn bots(&self) -> Vec<BotInfo> {
        self.bots.iter().map(|b| b.info.clone()).collect()
    }

    /// The index of the bot with this id.
    pub(crate) fn bot_index(&self, bot_id: i64) -> Option<usize> {
        let i = usize::try_from(bot_id.checked_sub(FIRST_BOT_ID)?).ok()?;
        (i < self.bots.len()).then_some(i)
    }

    fn bot_index_or_err(&self, bot_id: i64) -> Result<usize, MockError> {
        self.bot_index(bot_id).ok_or(MockError::UnknownBot(bot_id))
    }

    /// Checks an update without injecting it.
    pub fn validate(&self, u: &NewUpdate) -> Result<(), MockError> {
        self.bot_index_or_err(u.bot_id)?;
        if u.text.is_some() == u.callback_data.is_some() {
            return Err(MockError::InvalidUpdate(
                "give exactly one of text and callback_data".into(),
            ));
        }
        match (u.chat_id, u.user_id) {
            (0, _) => {
                return Err(MockError::InvalidUpdate(
                    "chat_id must be a user id (positive) or a group chat id (negative)".into(),
                ));
            }
            (c, Some(user)) if c > 0 && user != c => {
                return Err(MockError::InvalidUpdate(
                    "in a private chat user_id is the chat_id (or left out)".into(),
                ));
            }
            (c, None) if c < 0 => {
                return Err(MockError::InvalidUpdate(
                    "a group chat (negative chat_id) needs the user_id of who writes".into(),
                ));
            }
            (_, Some(user)) if user <= 0 => {
                return Err(MockError::InvalidUpdate("user_id must be positive".into()));
            }
            _ => {}
        }
        Ok(())
    }

    /// A simulated user sends a message (or presses a button): queues the update, wakes the
    /// bot's long poll or webhook worker, and starts the latency clock. Returns the update_id.
    pub fn inject(&self, u: NewUpdate) -> Result<i64, MockError> {
        self.validate(&u)?;
        let index = self.bot_index_or_err(u.bot_id)?;
        let bot = &self.bots[index];
        let now = Instant::now();
        let due = u.due.unwrap_or(now);
        let date = types::unix_now();
        let kind = if u.text.is_some() {
            UpdateKind::Message
        } else {
            UpdateKind::CallbackQuery
        };
        self.counters.injected.fetch_add(1, Relaxed);

        let mut st = bot.lock();
        st.last_update_id += 1;
        let update_id = st.last_update_id;
        if !st.allowed.allows(kind) {
            self.counters.filtered.fetch_add(1, Relaxed);
            return Ok(update_id);
        }
        let chat = st
            .chats
            .entry(u.chat_id)
            .or_insert_with(|| ChatState::new(u.chat_id, now));
        let from = u.user_id.unwrap_or(u.chat_id);
        let update = match (u.text, u.callback_data) {
            (Some(text), _) => {
                let message_id = chat.next_message_id();
                chat.open_sample(message_id, update_id, due);
                Update {
                    update_id,
                    message: Some(Message {
                        message_id,
                        from: types::user(from),
                        chat: types::chat(u.chat_id),
                        date,
                        edit_date: None,
                        entities: types::command_entities(&text),
                        text,
                        reply_to_message: None,
                        reply_markup: None,
                    }),
                    callback_query: None,
                }
            }
            (None, data) => {
                // The button sits on the bot's last message in the chat (or one it sent before).
                let message_id = match chat.last_bot_message {
                    Some(m) => m,
                    None => {
                        let m = chat.next_message_id();
                        chat.last_bot_message = Some(m);
                        m
                    }
                };
                chat.open_sample(0, update_id, due);
                Update {
                    update_id,
                    message: None,
                    callback_query: Some(CallbackQuery {
                        id: callback_query_id(u.chat_id, update_id),
                        from: types::user(from),
                        message: Message {
                            message_id,
                            from: types::bot_user(bot.info.id, &bot.info.username),
                            chat: types::chat(u.chat_id),
                            date,
                            edit_date: None,
                            text: "Choose:".into(),
                            entities: Vec::new(),
                            reply_to_message: None,
                            reply_markup: None,
                        },
                        chat_instance: format!(
                            "{}",
                            u.chat_id.wrapping_mul(31).wrapping_add(bot.info.id)
                        ),
                        data: data.unwrap_or_default(),
                    }),
                }
            }
        };
        // An update is ~300 bytes: written into room for it, not a buffer grown from empty.
        let mut json = Vec::with_capacity(512);
        if serde_json::to_writer(&mut json, &update).is_err() {
            json.clear();
        }
        let json = Bytes::from(json);
        let pending = Pending {
            update_id,
            chat_id: u.chat_id,
            kind,
            json,
            handed: 0,
            in_flight: false,
            failures: 0,
            expires_at: now + self.config.update_expiry,
        };
        let dropped = st.queue.push(pending, self.config.max_pending_per_bot);
        self.counters.pending.fetch_add(1, Relaxed);
        if dropped > 0 {
            self.note_forgotten(dropped);
        }
        st.end_poll(crate::bot::PollWake::Updates);
        let webhook = st.webhook.is_some();
        drop(st);
        if webhook {
            bot.worker_bell.notify_one();
        }
        Ok(update_id)
    }

    /// Counts unconfirmed updates that were forgotten without being confirmed.
    pub(crate) fn note_forgotten(&self, n: usize) {
        self.counters.pending.fetch_sub(n as u64, Relaxed);
        self.counters.dropped.fetch_add(n as u64, Relaxed);
    }

    /// A reply from bot `bot` (index) in `chat` arrived: closes a latency sample and records
    /// its split. Returns the update it answered.
    pub(crate) fn record_reply(
        &self,
        bot: usize,
        chat: &mut ChatState,
        target: ReplyTarget,
    ) -> Option<i64> {
        let (update_id, stamps, first) = chat.close_sample(target)?;
        if first {
            self.counters.replied.fetch_add(1, Relaxed);
            let split = SplitUs::of(stamps, Instant::now());
            let mut h = self.lock_histograms();
            h.record(split);
            if let Some(log) = self
                .reply_log
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_mut()
            {
                log.push(ReplySample {
                    bot_id: self.bots[bot].info.id,
                    update_id,
                    latency_us: split.total,
                    in_telegram_us: split.in_telegram,
                });
            }
        } else {
            self.counters.duplicated.fetch_add(1, Relaxed);
        }
        Some(update_id)
    }

    /// Everything counted so far: the JSON of `GET /_mock/stats`.
    pub fn stats(&self) -> Stats {
        let mut s = self.counters.snapshot();
        let h = self.latencies();
        s.latency_ms = Latency::from_histogram(&h.total);
        s.latency_split = LatencySplit {
            in_telegram: Latency::from_histogram(&h.in_telegram),
            delivery_to_reply: Latency::from_histogram(&h.delivery_to_reply),
        };
        s.readiness = self.readiness();
        s.tls.webhook_handshakes = self.webhook_client.tls_handshakes();
        s
    }

    /// The reply latencies in µs (bounds 1..600_000_000, 3 significant figures).
    pub fn latency_histogram(&self) -> Histogram<u64> {
        self.lock_histograms().total.clone()
    }

    /// The reply latencies and their split ([`crate::split`]).
    pub fn latencies(&self) -> Latencies {
        self.lock_histograms().clone()
    }

    fn lock_histograms(&self) -> std::sync::MutexGuard<'_, Latencies> {
        self.histograms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// From now on, keeps every first reply's bot, update and latency (memory grows with
    /// the replies: for harnesses that split latency by something only they know, e.g.
    /// which deliveries met a serverless cold start).
    pub fn keep_reply_log(&self) {
        let mut log = self.reply_log.lock().unwrap_or_else(|e| e.into_inner());
        log.get_or_insert_with(Vec::new);
    }

    /// The reply latencies (as [`Mock::latency_histogram`]) and, read at the same instant,
    /// how many replies the log holds (0 when it is not kept).
    pub fn latency_histogram_and_log_len(&self) -> (Histogram<u64>, usize) {
        let h = self.lock_histograms();
        let log = self.reply_log.lock().unwrap_or_else(|e| e.into_inner());
        (h.total.clone(), log.as_ref().map_or(0, Vec::len))
    }

    /// The reply latencies and their split (as [`Mock::latencies`]) and, read at the same
    /// instant, how many replies the log holds (0 when it is not kept).
    pub fn latencies_and_log_len(&self) -> (Latencies, usize) {
        let h = self.lock_histograms();
        let log = self.reply_log.lock().unwrap_or_else(|e| e.into_inner());
        (h.clone(), log.as_ref().map_or(0, Vec::len))
    }

    /// The logged replies from index `from` to `to` (as [`Mock::latency_histogram_and_log_len`]
    /// counts them), in order; empty when the log is not kept.
    pub fn reply_log(&self, from: usize, to: usize) -> Vec<ReplySample> {
        let log = self.reply_log.lock().unwrap_or_else(|e| e.into_inner());
        log.as_ref()
            .and_then(|l| l.get(from.min(to)..to.min(l.len())))
            .map(<[ReplySample]>::to_vec)
            .unwrap_or_default()
    }

    /// Runs `f` on the reply latencies in µs, under the histogram's lock (no copy: a
    /// scrape reads its buckets this way while replies wait for the lock).
    pub(crate) fn read_latency<R>(&self, f: impl FnOnce(&Histogram<u64>) -> R) -> R {
        f(&self.lock_histograms().total)
    }

    /// How many bots are polling or have a webhook.
    pub fn readiness(&self) -> Readiness {
        let now = Instant::now();
        let recent = self.config.rtt * 2 + self.config.jitter * 2 + Duration::from_secs(1);
        let mut r = Readiness {
            bots: self.bots.len(),
            ..Readiness::default()
        };
        for bot in &self.bots {
            let st = bot.lock();
            if st.webhook.is_some() {
                r.webhooks_set += 1;
            } else if st.poll.is_some()
                || st
                    .last_poll_seen
                    .is_some_and(|t| now.saturating_duration_since(t) <= recent)
            {
                r.polling += 1;
            }
        }
        r
    }

    /// What bot `bot_id` sent, in order (empty for an unknown bot).
    pub fn sent(&self, bot_id: i64) -> Vec<SentMessage> {
        match self.bot_index(bot_id) {
            Some(i) => self.bots[i].lock().sent.iter().cloned().collect(),
            None => Vec::new(),
        }
    }

    /// Injects a fault (or ends one with `Fault::None`); takes effect at once.
    pub fn set_fault(&self, fault: Fault) {
        *self.fault.write().unwrap_or_else(|e| e.into_inner()) = fault;
        for bot in &self.bots {
            bot.worker_bell.notify_one();
        }
    }

    /// The fault in force.
    pub fn fault(&self) -> Fault {
        self.fault.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Clears updates, counters, the histogram and sent messages; keeps the bots, their
    /// webhooks and allowed_updates.
    pub fn reset(&self) {
        for bot in &self.bots {
            let mut st = bot.lock();
            // Updates in a webhook POST right now stay until their POST ends.
            let keep: Vec<Pending> = st
                .queue
                .iter_mut()
                .filter(|p| p.in_flight)
                .map(|p| p.clone())
                .collect();
            st.queue.clear();
            for p in keep {
                st.queue.push(p, usize::MAX);
            }
            st.chats.clear();
            st.sent.clear();
            st.wh.failures = 0;
            st.wh.next_attempt = None;
            st.wh.last_error = None;
        }
        self.counters.reset();
        self.webhook_client.reset_tls_handshakes();
        let pending: usize = self.bots.iter().map(|b| b.lock().queue.len()).sum();
        self.counters.pending.store(pending as u64, Relaxed);
        let mut h = self.lock_histograms();
        *h = Latencies::default();
        if let Some(log) = self
            .reply_log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            log.clear();
        }
        drop(h);
    }

    /// The token webhook workers stop on.
    pub(crate) fn stop_token(&self) -> CancellationToken {
        self.stopping
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A server starts serving this mock: renews the stop token if a server stopped it.
    /// Returns whether it had been stopped (its webhook workers must then start again).
    pub(crate) fn serving(&self) -> bool {
        let mut token = self.stopping.write().unwrap_or_else(|e| e.into_inner());
        if !token.is_cancelled() {
            return false;
        }
        *token = CancellationToken::new();
        true
    }

    /// Ends every held long poll and webhook worker (server shutdown).
    pub(crate) fn stop(&self) {
        self.stopping
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .cancel();
        for bot in &self.bots {
            bot.lock().end_poll(crate::bot::PollWake::Shutdown);
        }
    }
}

/// The callback_query id of a button press: names its chat and update.
pub(crate) fn callback_query_id(chat_id: i64, update_id: i64) -> String {
    format!("{chat_id}-{update_id}")
}

/// The (chat, update) a callback_query id names.
pub(crate) fn parse_callback_query_id(id: &str) -> Option<(i64, i64)> {
    let (chat, update) = id.split_once('-')?;
    Some((chat.parse().ok()?, update.parse().ok()?))
}
