//! What a simulated user sends, and to which chat: one entry of a schedule (built from a
//! load's model by `schedule`, or read from a trace by `trace`), as the injector sends it.

use std::time::Duration;

/// First chat id of the simulated users; user `k` of a bot is chat `FIRST_CHAT_ID + k`.
pub const FIRST_CHAT_ID: i64 = 10_000;

/// Group chat `g` of a bot is chat `-(FIRST_GROUP_CHAT_ID + g)` (a `group`, for the mock).
pub const FIRST_GROUP_CHAT_ID: i64 = 1_000;

/// What a simulated user sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendKind {
    Message,
    Callback,
    /// A message in a group chat (the send's `chat_id`, negative) by user `user_id`.
    Group {
        user_id: i64,
    },
}

/// One scheduled send: at `at` after the segment starts, user `chat_id` of bot number
/// `bot` (0-based index into the mock's bots) sends a message or presses a button, or a
/// user writes in group chat `chat_id` ([`SendKind::Group`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Send {
    pub at: Duration,
    pub bot: u32,
    pub chat_id: i64,
    pub kind: SendKind,
}
