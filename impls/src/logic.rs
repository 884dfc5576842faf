//! The one bot logic all three transports run, and its configurable cost.
//!
//! - `/start` (also `/start payload`, `/start@name`) → a welcome message.
//! - any other text → an echo of the text that replies to the message
//!   (`reply_parameters.message_id`), which is how the mock pairs a reply with its update.
//! - a callback query → `answerCallbackQuery`.
//! - anything else (stickers, edits, …) → nothing.
//!
//! To model real bots, handling an update first burns [`HandlerCost::work`] of CPU (the
//! worker thread is busy, as a Python handler blocks its event loop) and then awaits
//! [`HandlerCost::io`] (a database call: the task is parked, the thread is free).

use std::time::{Duration, Instant};

use crate::types::{AnswerCallbackQuery, Reply, ReplyParameters, SendMessage, Update};

/// What handling one update costs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HandlerCost {
    /// CPU burned per update (`--work-us`).
    pub work: Duration,
    /// Time awaited per update (`--io-ms`).
    pub io: Duration,
}

/// A loaded bot: what the manager keeps in its LRU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotInstance {
    pub bot_id: i64,
    pub welcome: String,
}

impl BotInstance {
    /// The instance of bot `bot_id` (what loading it from a database would produce).
    pub fn new(bot_id: i64) -> Self {
        Self {
            bot_id,
            welcome: format!("Welcome! I am bot {bot_id}. Send me any text and I will echo it."),
        }
    }
}

/// The reply `bot` gives to `update`, without any cost: the pure part of the logic.
pub fn reply(bot: &BotInstance, update: &Update) -> Option<Reply> {
    if let Some(message) = &update.message {
        let text = message.text.as_deref()?;
        let text = if is_start(text) {
            bot.welcome.clone()
        } else {
            text.to_owned()
        };
        let reply = SendMessage {
            chat_id: message.chat.id,
            text,
            reply_parameters: Some(ReplyParameters {
                message_id: message.message_id,
            }),
        };
        return Some(Reply::SendMessage(reply));
    }
    let query = update.callback_query.as_ref()?;
    Some(Reply::AnswerCallbackQuery(AnswerCallbackQuery {
        callback_query_id: query.id.clone(),
        text: query.data.as_ref().map(|d| format!("You pressed {d}")),
    }))
}

fn is_start(text: &str) -> bool {
    text == "/start" || text.starts_with("/start ") || text.starts_with("/start@")
}

/// Handles `update` at `cost`: burn CPU, await I/O, then decide.
pub async fn handle(cost: HandlerCost, bot: &BotInstance, update: &Update) -> Option<Reply> {
    burn_cpu(cost.work);
    if !cost.io.is_zero() {
        tokio::time::sleep(cost.io).await;
    }
    reply(bot, update)
}

/// Keeps this thread busy for `d` (a real computation, not a sleep).
pub fn burn_cpu(d: Duration) {
    if d.is_zero() {
        return;
    }
    let start = Instant::now();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    while start.elapsed() < d {
        for _ in 0..256 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        std::hint::black_box(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{CallbackQuery, Chat, Message};

    fn text_update(text: &str) -> Update {
        Update {
            update_id: 1,
            message: Some(Message {
                message_id: 10,
                chat: Chat { id: 77 },
                text: Some(text.into()),
            }),
            callback_query: None,
        }
    }

    #[test]
    fn start_gets_the_welcome() {
        let bot = BotInstance::new(5);
        for t in ["/start", "/start ref42", "/start@echo_bot"] {
            let Some(Reply::SendMessage(m)) = reply(&bot, &text_update(t)) else {
                panic!("no welcome for {t}");
            };
            assert_eq!((m.chat_id, m.text.as_str()), (77, bot.welcome.as_str()));
        }
    }

    #[test]
    fn text_is_echoed_as_a_reply_to_the_message() {
        let bot = BotInstance::new(5);
        let r = reply(&bot, &text_update("hello /startle")).unwrap();
        assert_eq!(
            r,
            Reply::SendMessage(SendMessage {
                chat_id: 77,
                text: "hello /startle".into(),
                reply_parameters: Some(ReplyParameters { message_id: 10 }),
            })
        );
    }

    #[test]
    fn callback_is_answered_and_other_updates_ignored() {
        let bot = BotInstance::new(5);
        let u = Update {
            update_id: 2,
            message: None,
            callback_query: Some(CallbackQuery {
                id: "cb1".into(),
                data: Some("yes".into()),
                message: None,
            }),
        };
        let Some(Reply::AnswerCallbackQuery(a)) = reply(&bot, &u) else {
            panic!("callback not answered");
        };
        assert_eq!(a.callback_query_id, "cb1");
        let mut photo = text_update("x");
        photo.message.as_mut().unwrap().text = None;
        assert_eq!(reply(&bot, &photo), None);
        let empty = Update {
            update_id: 3,
            message: None,
            callback_query: None,
        };
        assert_eq!(reply(&bot, &empty), None);
    }

    #[test]
    fn burn_cpu_takes_at_least_the_asked_time() {
        let t = Instant::now();
        burn_cpu(Duration::from_millis(3));
        assert!(t.elapsed() >= Duration::from_millis(3));
    }

    #[tokio::test(start_paused = true)]
    async fn handle_awaits_the_io_cost() {
        let bot = BotInstance::new(5);
        let cost = HandlerCost {
            work: Duration::ZERO,
            io: Duration::from_millis(250),
        };
        let t = tokio::time::Instant::now();
        assert!(handle(cost, &bot, &text_update("x")).await.is_some());
        assert_eq!(t.elapsed(), Duration::from_millis(250));
    }
}
