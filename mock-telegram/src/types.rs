//! The Telegram objects the mock writes: the success envelope ([`ok`]; the error envelope is
//! [`ApiError`](crate::ApiError)'s) and Update, Message, User, Chat, CallbackQuery, with the
//! fields that the validators of aiogram, python-telegram-bot and teloxide require.

use serde::Serialize;
use serde_json::{Value, json};

/// `{"ok":true,"result":<result>}`, written straight from `result` (no JSON tree between).
pub fn ok<T: Serialize>(result: T) -> Vec<u8> {
    #[derive(Serialize)]
    struct Envelope<T> {
        ok: bool,
        result: T,
    }
    // A sendMessage answer is ~300 bytes: room for it without growing (and copying) the buffer.
    let mut out = Vec::with_capacity(512);
    let _ = serde_json::to_writer(&mut out, &Envelope { ok: true, result });
    out
}

/// `{"ok":true,"result":true,"description":<d>}` (setWebhook and deleteWebhook say what they did).
pub fn ok_described(description: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"ok": true, "result": true, "description": description}))
        .unwrap_or_default()
}

/// A name in a user, bot or chat: its text, or made from an id as it is written (no
/// string built per message for the names every update and reply carry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Name {
    Text(String),
    /// `User <id>`
    UserFirst(i64),
    /// `user<id>`
    UserHandle(i64),
    /// `tgbench bot <id>`
    BotFirst(i64),
    /// `Group <-id>`
    GroupTitle(i64),
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Name::Text(t) => f.write_str(t),
            Name::UserFirst(id) => write!(f, "User {id}"),
            Name::UserHandle(id) => write!(f, "user{id}"),
            Name::BotFirst(id) => write!(f, "tgbench bot {id}"),
            Name::GroupTitle(id) => write!(f, "Group {}", id.unsigned_abs()),
        }
    }
}

impl Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Name::Text(t) => s.serialize_str(t),
            other => s.collect_str(other),
        }
    }
}

/// A user or a bot.
#[derive(Clone, Debug, Serialize)]
pub struct User {
    pub id: i64,
    pub is_bot: bool,
    pub first_name: Name,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language_code: Option<&'static str>,
}

/// A chat: private (id == the user's id, positive) or a group (negative id; `supergroup`
/// from -1,000,000,000,000 down, as Telegram's `-100…` ids).
#[derive(Clone, Debug, Serialize)]
pub struct Chat {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<Name>,
}

/// A text entity (the mock marks a leading `/command`, which PTB's CommandHandler needs).
#[derive(Clone, Debug, Serialize)]
pub struct Entity {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub offset: usize,
    pub length: usize,
}

/// A text message.
#[derive(Clone, Debug, Serialize)]
pub struct Message {
    pub message_id: i64,
    pub from: User,
    pub chat: Chat,
    pub date: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edit_date: Option<i64>,
    pub text: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<Entity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to_message: Option<Box<Message>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<Value>,
}

/// A press on an inline button.
#[derive(Clone, Debug, Serialize)]
pub struct CallbackQuery {
    pub id: String,
    pub from: User,
    pub message: Message,
    pub chat_instance: String,
    pub data: String,
}

/// One update as getUpdates and webhooks hand it over.
#[derive(Clone, Debug, Serialize)]
pub struct Update {
    pub update_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_query: Option<CallbackQuery>,
}

/// The simulated user behind private chat `chat_id`.
pub fn user(chat_id: i64) -> User {
    User {
        id: chat_id,
        is_bot: false,
        first_name: Name::UserFirst(chat_id),
        username: Some(Name::UserHandle(chat_id)),
        language_code: Some("en"),
    }
}

/// Group chat ids at or below this are supergroups (Telegram writes them `-100…`).
pub const FIRST_SUPERGROUP_ID: i64 = -1_000_000_000_000;

/// The chat `chat_id`: the private chat with that user when positive, else a group.
pub fn chat(chat_id: i64) -> Chat {
    if chat_id > 0 {
        return Chat {
            id: chat_id,
            kind: "private",
            title: None,
            first_name: Some(Name::UserFirst(chat_id)),
            username: Some(Name::UserHandle(chat_id)),
        };
    }
    Chat {
        id: chat_id,
        kind: if chat_id <= FIRST_SUPERGROUP_ID {
            "supergroup"
        } else {
            "group"
        },
        title: Some(Name::GroupTitle(chat_id)),
        first_name: None,
        username: None,
    }
}

/// Whether `chat_id` is a group chat (negative).
pub fn is_group(chat_id: i64) -> bool {
    chat_id < 0
}

/// The bot as a message's `from`.
pub fn bot_user(id: i64, username: &str) -> User {
    User {
        id,
        is_bot: true,
        first_name: Name::BotFirst(id),
        username: Some(Name::Text(username.to_string())),
        language_code: None,
    }
}

/// A `bot_command` entity when `text` starts with `/command` (length in UTF-16 units).
pub fn command_entities(text: &str) -> Vec<Entity> {
    if !text.starts_with('/') || text.len() < 2 {
        return Vec::new();
    }
    let command = text.split(char::is_whitespace).next().unwrap_or(text);
    vec![Entity {
        kind: "bot_command",
        offset: 0,
        length: command.encode_utf16().count(),
    }]
}

/// The current Unix time in seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_get_an_entity_in_utf16_units() {
        let e = command_entities("/start now");
        assert_eq!((e[0].offset, e[0].length), (0, 6));
        assert!(command_entities("hello").is_empty());
        assert!(command_entities("/").is_empty());
    }
}
