//! One Bot API call: [`handle`] is the call as the network sees it (fault, RTT); [`execute`]
//! is the method itself, also used for a method call in a webhook response. The chat methods
//! (getMe, sendMessage, editMessageText, answerCallbackQuery, sendChatAction, the commands)
//! live here; getUpdates is in [`polling`], the webhook methods in [`webhook`].

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use serde_json::{Value, json};

use crate::bot::{BotState, ChatState, ReplyTarget, SentMessage};
use crate::error::ApiError;
use crate::method::Method;
use crate::mock::{Mock, parse_callback_query_id};
use crate::network::{FaultEffect, pause};
use crate::params::Params;
use crate::ratelimit::retry_after_secs;
use crate::types::{self, Message, ok};
use crate::{polling, webhook};

/// One Bot API call as the network sees it: the fault in force, the RTT, then the method.
pub async fn handle(
    mock: &Arc<Mock>,
    bot: usize,
    method: Method,
    params: Params,
) -> Result<Vec<u8>, ApiError> {
    let fault = mock.fault();
    match fault.effect() {
        FaultEffect::Pass => {}
        FaultEffect::BadGateway => return Err(ApiError::BadGateway),
        FaultEffect::Internal => return Err(ApiError::Internal),
        FaultEffect::TooManyRequests => return Err(ApiError::TooManyRequests { retry_after: 1 }),
    }
    let extra = fault.extra_delay();
    if method == Method::GetUpdates {
        return polling::get_updates(mock, bot, params, extra).await;
    }
    let hold = if mock.distance.is_zero() {
        extra
    } else {
        mock.distance.sample() + extra
    };
    pause(hold).await;
    execute(mock, bot, method, &params)
}

/// Runs a method (not getUpdates, which waits: see [`polling`]).
pub fn execute(
    mock: &Arc<Mock>,
    bot: usize,
    method: Method,
    params: &Params,
) -> Result<Vec<u8>, ApiError> {
    match method {
        Method::GetMe => Ok(get_me(mock, bot)),
        Method::GetUpdates => Err(ApiError::bad("getUpdates can't be used here")),
        Method::SetWebhook => webhook::set_webhook(mock, bot, params, execute),
        Method::DeleteWebhook => webhook::delete_webhook(mock, bot, params),
        Method::GetWebhookInfo => Ok(webhook::get_webhook_info(mock, bot)),
        Method::SendMessage => send_message(mock, bot, params),
        Method::EditMessageText => edit_message_text(mock, bot, params),
        Method::AnswerCallbackQuery => answer_callback_query(mock, bot, params),
        Method::SendChatAction => send_chat_action(mock, bot, params),
        Method::SetMyCommands => {
            let commands = params
                .json("commands", "commands")?
                .ok_or_else(|| ApiError::bad("parameter \"commands\" is required"))?;
            if !commands.is_array() {
                return Err(ApiError::bad("can't parse commands JSON object"));
            }
            mock.bots[bot].lock().commands = commands;
            Ok(ok(true))
        }
        Method::GetMyCommands => Ok(ok(&mock.bots[bot].lock().commands)),
        Method::DeleteMyCommands => {
            mock.bots[bot].lock().commands = Value::Array(Vec::new());
            Ok(ok(true))
        }
        Method::Close | Method::LogOut => Ok(ok(true)),
    }
}

fn get_me(mock: &Mock, bot: usize) -> Vec<u8> {
    let info = &mock.bots[bot].info;
    ok(json!({
        "id": info.id,
        "is_bot": true,
        "first_name": format!("tgbench bot {}", info.id),
        "username": info.username,
        "can_join_groups": true,
        "can_read_all_group_messages": false,
        "supports_inline_queries": false,
        "can_connect_to_business": false,
        "has_main_web_app": false,
    }))
}

/// The text of a message to send, checked as Telegram checks it.
fn message_text(params: &Params) -> Result<String, ApiError> {
    let text = params.str("text").unwrap_or_default();
    if text.trim().is_empty() {
        return Err(ApiError::bad("message text is empty"));
    }
    if text.encode_utf16().count() > 4096 {
        return Err(ApiError::bad("message is too long"));
    }
    Ok(text)
}

/// The chat, which must exist (a user must have written to the bot).
fn chat_of(st: &mut BotState, chat_id: i64) -> Result<&mut ChatState, ApiError> {
    st.chats
        .get_mut(&chat_id)
        .ok_or_else(|| ApiError::bad("chat not found"))
}

/// Telegram's rate limits for one more message from the bot to the chat.
fn rate_limit(mock: &Mock, st: &mut BotState, chat_id: i64, now: Instant) -> Result<(), ApiError> {
    if !mock.config().rate_limits {
        return Ok(());
    }
    let bot_wait = st.bucket.check(now).err();
    let chat = chat_of(st, chat_id)?;
    let chat_wait = chat.bucket.check(now).err();
    if let Some(wait) = bot_wait.max(chat_wait) {
        mock.counters.rate_limited.fetch_add(1, Relaxed);
        return Err(ApiError::TooManyRequests {
            retry_after: retry_after_secs(wait),
        });
    }
    chat.bucket.take();
    st.bucket.take();
    Ok(())
}

fn reply_to(params: &Params) -> Result<Option<i64>, ApiError> {
    if let Some(rp) = params.json_ref("reply_parameters", "reply parameters")? {
        return Ok(rp.get("message_id").and_then(Value::as_i64));
    }
    params.i64("reply_to_message_id")
}

fn bot_message(mock: &Mock, bot: usize, chat_id: i64, message_id: i64, text: String) -> Message {
    let info = &mock.bots[bot].info;
    Message {
        message_id,
        from: types::bot_user(info.id, &info.username),
        chat: types::chat(chat_id),
        date: types::unix_now(),
        edit_date: None,
        text,
        entities: Vec::new(),
        reply_to_message: None,
        reply_markup: None,
    }
}

fn inline_markup(params: &Params) -> Result<Option<Value>, ApiError> {
    let markup = params.json("reply_markup", "reply keyboard markup")?;
    Ok(markup.filter(|m| m.get("inline_keyboard").is_some()))
}

fn send_message(mock: &Arc<Mock>, bot: usize, params: &Params) -> Result<Vec<u8>, ApiError> {
    let chat_id = params.chat_id()?;
    let text = message_text(params)?;
    let reply_to = reply_to(params)?;
    let markup = inline_markup(params)?;
    let now = Instant::now();
    let mut st = mock.bots[bot].lock();
    chat_of(&mut st, chat_id)?;
    rate_limit(mock, &mut st, chat_id, now)?;
    let chat = chat_of(&mut st, chat_id)?;
    let message_id = chat.next_message_id();
    chat.last_bot_message = Some(message_id);
    let target = reply_to.map_or(ReplyTarget::Oldest, ReplyTarget::Message);
    let update_id = mock.record_reply(bot, chat, target);
    st.record_sent(SentMessage {
        chat_id,
        text: text.clone(),
        message_id,
        method: Method::SendMessage.name().into(),
        reply_to_message_id: reply_to,
        update_id,
        date: types::unix_now(),
    });
    st.prune_buckets(now);
    drop(st);
    let mut message = bot_message(mock, bot, chat_id, message_id, text);
    message.reply_markup = markup;
    Ok(ok(message))
}

fn edit_message_text(mock: &Arc<Mock>, bot: usize, params: &Params) -> Result<Vec<u8>, ApiError> {
    if params.has("inline_message_id") {
        message_text(params)?;
        return Ok(ok(true));
    }
    let chat_id = params.chat_id()?;
    let message_id = params
        .i64("message_id")?
        .ok_or_else(|| ApiError::bad("message identifier is not specified"))?;
    let text = message_text(params)?;
    let markup = inline_markup(params)?;
    let now = Instant::now();
    let mut st = mock.bots[bot].lock();
    let chat = chat_of(&mut st, chat_id)?;
    if message_id <= 0 || message_id > chat.last_message_id {
        return Err(ApiError::bad("message to edit not found"));
    }
    rate_limit(mock, &mut st, chat_id, now)?;
    let chat = chat_of(&mut st, chat_id)?;
    let update_id = mock.record_reply(bot, chat, ReplyTarget::Oldest);
    st.record_sent(SentMessage {
        chat_id,
        text: text.clone(),
        message_id,
        method: Method::EditMessageText.name().into(),
        reply_to_message_id: None,
        update_id,
        date: types::unix_now(),
    });
    drop(st);
    let mut message = bot_message(mock, bot, chat_id, message_id, text);
    message.edit_date = Some(types::unix_now());
    message.reply_markup = markup;
    Ok(ok(message))
}

fn answer_callback_query(
    mock: &Arc<Mock>,
    bot: usize,
    params: &Params,
) -> Result<Vec<u8>, ApiError> {
    let invalid =
        || ApiError::bad("query is too old and response timeout expired or query ID is invalid");
    let id = params.str("callback_query_id").ok_or_else(invalid)?;
    let (chat_id, update_id) = parse_callback_query_id(&id).ok_or_else(invalid)?;
    let mut st = mock.bots[bot].lock();
    let chat = st.chats.get_mut(&chat_id).ok_or_else(invalid)?;
    if !chat.samples.iter().any(|s| s.update_id == update_id) {
        return Err(invalid());
    }
    let closed = mock.record_reply(bot, chat, ReplyTarget::Update(update_id));
    st.record_sent(SentMessage {
        chat_id,
        text: params.str("text").unwrap_or_default(),
        message_id: 0,
        method: Method::AnswerCallbackQuery.name().into(),
        reply_to_message_id: None,
        update_id: closed,
        date: types::unix_now(),
    });
    Ok(ok(true))
}

const CHAT_ACTIONS: &[&str] = &[
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
];

fn send_chat_action(mock: &Arc<Mock>, bot: usize, params: &Params) -> Result<Vec<u8>, ApiError> {
    let chat_id = params.chat_id()?;
    let action = params.str("action").unwrap_or_default();
    if !CHAT_ACTIONS.contains(&action.as_str()) {
        return Err(ApiError::bad("wrong parameter action in request"));
    }
    chat_of(&mut mock.bots[bot].lock(), chat_id)?;
    Ok(ok(true))
}
