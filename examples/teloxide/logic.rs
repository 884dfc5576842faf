//! The bot logic, the same behaviour word for word as the Rust reference servers
//! (`impls/src/logic.rs`), as a teloxide handler tree:
//!
//! - `/start` (also `/start payload`, `/start@name`) → a welcome, as a reply to the message;
//! - any other text → an echo of the text, as a reply (`reply_parameters.message_id`, which is
//!   how the mock pairs a reply with its update);
//! - a button press → `answerCallbackQuery` ("You pressed <data>");
//! - anything else → nothing.

use std::sync::Arc;
use std::time::Duration;

use teloxide::RequestError;
use teloxide::dispatching::ShutdownToken;
use teloxide::dispatching::{DefaultKey, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{Me, ReplyParameters};
use tokio::task::JoinSet;

/// Every bot's requests go through this one client (connection pool, TLS roots), with
/// teloxide's default settings (5 s to connect, 17 s per request: more than the 10 s poll).
pub fn shared_client() -> reqwest::Client {
    teloxide::net::default_reqwest_settings()
        .build()
        .expect("teloxide's default reqwest settings build a client")
}

/// Bot `token`, calling `<api_url>bot<token>/<method>` through `client`.
pub fn bot(token: &str, client: &reqwest::Client, api_url: &reqwest::Url) -> Bot {
    Bot::with_client(token, client.clone()).set_api_url(api_url.clone())
}

/// A bot's dispatcher: the handler tree, and errors on stderr (`name` says which server).
pub fn dispatcher(bot: Bot, name: &'static str) -> Dispatcher<Bot, RequestError, DefaultKey> {
    Dispatcher::builder(bot, schema())
        .error_handler(stderr_errors(name))
        .build()
}

/// Shuts every dispatcher down and waits up to `grace` for their tasks (`running`) to end;
/// aborts what is left (a dispatcher still starting, which had nothing to shut down yet).
///
/// The futures `ShutdownToken::shutdown` returns are not awaited: they wait on a
/// `Notify::notify_waiters`, which wakes only futures already polled, so one polled after its
/// dispatcher finished (likely with thousands of them joined at once) would wait forever.
pub async fn stop_dispatchers(
    tokens: &[ShutdownToken],
    running: &mut JoinSet<()>,
    grace: Duration,
) {
    for token in tokens {
        let _ = token.shutdown();
    }
    let _ = tokio::time::timeout(grace, async {
        while running.join_next().await.is_some() {}
    })
    .await;
    running.abort_all();
    while running.join_next().await.is_some() {}
}

/// Prints each error on stderr: teloxide's default handler logs through `log`, which no
/// logger here would show.
pub fn stderr_errors<E: std::fmt::Debug + Send + 'static>(
    name: &'static str,
) -> Arc<impl teloxide::error_handlers::ErrorHandler<E> + Send + Sync> {
    Arc::new(move |error: E| async move { eprintln!("{name}: {error:?}") })
}

pub fn welcome(bot_id: UserId) -> String {
    format!("Welcome! I am bot {bot_id}. Send me any text and I will echo it.")
}

pub fn is_start(text: &str) -> bool {
    text == "/start" || text.starts_with("/start ") || text.starts_with("/start@")
}

/// The handler tree: text messages and button presses.
pub fn schema() -> UpdateHandler<RequestError> {
    dptree::entry()
        .branch(Update::filter_message().endpoint(on_message))
        .branch(Update::filter_callback_query().endpoint(on_callback))
}

async fn on_message(bot: Bot, me: Me, message: Message) -> ResponseResult<()> {
    let Some(text) = message.text() else {
        return Ok(());
    };
    let reply = if is_start(text) {
        welcome(me.id)
    } else {
        text.to_owned()
    };
    bot.send_message(message.chat.id, reply)
        .reply_parameters(ReplyParameters::new(message.id))
        .await?;
    Ok(())
}

async fn on_callback(bot: Bot, query: CallbackQuery) -> ResponseResult<()> {
    let mut answer = bot.answer_callback_query(query.id.clone());
    if let Some(data) = &query.data {
        answer = answer.text(format!("You pressed {data}"));
    }
    answer.await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_and_welcome_match_the_reference_logic() {
        assert!(is_start("/start") && is_start("/start x") && is_start("/start@bot"));
        assert!(!is_start("/started") && !is_start("start"));
        assert_eq!(
            welcome(UserId(7)),
            "Welcome! I am bot 7. Send me any text and I will echo it."
        );
    }
}
