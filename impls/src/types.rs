//! The few Bot API types the bots read and write. Unknown fields are ignored, so a real
//! Telegram payload (or the mock's) parses; only what the logic needs is kept.

use serde::{Deserialize, Serialize};

/// One incoming update (from getUpdates or a webhook POST).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Update {
    pub update_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_query: Option<CallbackQuery>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Message {
    pub message_id: i64,
    pub chat: Chat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Chat {
    pub id: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct CallbackQuery {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
}

/// The update kinds the bots ask for (`allowed_updates`), unless told otherwise.
pub const DEFAULT_ALLOWED_UPDATES: &[&str] = &["message", "callback_query"];

/// `sendMessage` parameters the logic uses.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SendMessage {
    pub chat_id: i64,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_parameters: Option<ReplyParameters>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReplyParameters {
    pub message_id: i64,
}

/// `answerCallbackQuery` parameters the logic uses.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AnswerCallbackQuery {
    pub callback_query_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A Bot API call a handler wants made. Serialized as a webhook response body it carries
/// its `method` (Telegram executes it: one round trip less); sent through the client, only
/// its parameters go ([`Reply::method`] names the call).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "method")]
pub enum Reply {
    #[serde(rename = "sendMessage")]
    SendMessage(SendMessage),
    #[serde(rename = "answerCallbackQuery")]
    AnswerCallbackQuery(AnswerCallbackQuery),
}

impl Reply {
    pub fn method(&self) -> &'static str {
        match self {
            Reply::SendMessage(_) => "sendMessage",
            Reply::AnswerCallbackQuery(_) => "answerCallbackQuery",
        }
    }
}

/// Telegram's response envelope.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    pub ok: bool,
    pub result: Option<T>,
    pub error_code: Option<u16>,
    pub description: Option<String>,
    pub parameters: Option<ResponseParameters>,
}

#[derive(Debug, Deserialize)]
pub struct ResponseParameters {
    pub retry_after: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_parses_a_telegram_payload_with_extra_fields() {
        let json = r#"{"update_id":7,"message":{"message_id":3,"date":1,
            "chat":{"id":42,"type":"private"},"from":{"id":42,"is_bot":false,"first_name":"u"},
            "text":"hi"}}"#;
        let u: Update = serde_json::from_str(json).unwrap();
        assert_eq!(u.update_id, 7);
        let m = u.message.unwrap();
        assert_eq!(
            (m.message_id, m.chat.id, m.text.as_deref()),
            (3, 42, Some("hi"))
        );
    }

    #[test]
    fn reply_in_a_webhook_body_carries_its_method() {
        let r = Reply::SendMessage(SendMessage {
            chat_id: 1,
            text: "x".into(),
            reply_parameters: Some(ReplyParameters { message_id: 9 }),
        });
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"method":"sendMessage","chat_id":1,"text":"x",
                "reply_parameters":{"message_id":9}})
        );
        assert_eq!(r.method(), "sendMessage");
    }
}
