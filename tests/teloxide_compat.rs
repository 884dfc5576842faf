//! teloxide, unmodified, against mock-telegram: only its API URL is pointed at the mock
//! (`Bot::new(token).set_api_url(url)`). It receives messages by long polling and by webhook
//! (teloxide's own axum listener, which calls setWebhook itself), and its replies land in
//! `/_mock/sent` and in the latency histogram.

use std::time::Duration;

use mock_telegram::{Mock, MockConfig, MockServer, NewUpdate};
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::update_listeners::webhooks;

/// Every wait here is bounded by this.
const WAIT: Duration = Duration::from_secs(30);

fn echo() -> UpdateHandler<teloxide::RequestError> {
    Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
        if let Some(text) = msg.text() {
            bot.send_message(msg.chat.id, format!("echo: {text}"))
                .await?;
        }
        Ok(())
    })
}

async fn start_mock() -> (MockServer, Bot, i64) {
    let mock = Mock::new(MockConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = MockServer::start(mock.clone(), listener);
    let info = mock.bots()[0].clone();
    let api_url = reqwest::Url::parse(&format!("{}/", server.base_url())).unwrap();
    (server, Bot::new(info.token).set_api_url(api_url), info.id)
}

/// Waits until the bot sent `n` messages, then returns their texts.
async fn replies(mock: &Mock, bot_id: i64, n: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let sent = mock.sent(bot_id);
        if sent.len() >= n {
            return sent.into_iter().map(|m| m.text).collect();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "teloxide replied {} of {n} times",
            sent.len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn inject_messages(mock: &Mock, bot_id: i64, n: i64) {
    for chat in 1..=n {
        mock.inject(NewUpdate::message(
            bot_id,
            100 + chat,
            format!("hello {chat}"),
        ))
        .unwrap();
    }
}

#[tokio::test]
async fn teloxide_receives_by_long_polling_and_its_replies_are_recorded() {
    let (server, bot, bot_id) = start_mock().await;
    let mut dispatcher = Dispatcher::builder(bot, echo()).build();
    let running = tokio::spawn(async move { dispatcher.dispatch().await });

    let mock = server.mock().clone();
    // teloxide deletes the webhook, then long-polls; wait until a poll is held.
    let deadline = tokio::time::Instant::now() + WAIT;
    while mock.stats().get_updates.in_flight == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "teloxide never held a getUpdates"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    inject_messages(&mock, bot_id, 5);
    let mut texts = replies(&mock, bot_id, 5).await;
    texts.sort();
    assert_eq!(
        texts,
        (1..=5)
            .map(|i| format!("echo: hello {i}"))
            .collect::<Vec<_>>()
    );

    let stats = mock.stats();
    assert_eq!(stats.updates.delivered, 5);
    assert_eq!(stats.updates.replied, 5);
    assert_eq!(stats.updates.duplicated, 0);
    assert_eq!(stats.latency_ms.count, 5);
    assert_eq!(stats.requests.get("sendMessage"), Some(&5));
    assert!(stats.requests.get("getUpdates").is_some_and(|n| *n >= 1));
    assert_eq!(stats.get_updates.conflicts, 0);
    running.abort();
    tokio::time::timeout(WAIT, server.shutdown()).await.unwrap();
}

#[tokio::test]
async fn teloxide_receives_by_webhook_and_its_replies_are_recorded() {
    let (server, bot, bot_id) = start_mock().await;
    // teloxide binds the address itself: find a free loopback port first.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let url = reqwest::Url::parse(&format!("http://{addr}/webhook")).unwrap();
    let listener = tokio::time::timeout(
        WAIT,
        webhooks::axum(bot.clone(), webhooks::Options::new(addr, url)),
    )
    .await
    .unwrap()
    .expect("teloxide's setWebhook against the mock");
    let mock = server.mock().clone();
    assert_eq!(
        mock.readiness().webhooks_set,
        1,
        "teloxide called setWebhook"
    );

    let mut dispatcher = Dispatcher::builder(bot, echo()).build();
    let running = tokio::spawn(async move {
        dispatcher
            .dispatch_with_listener(listener, LoggingErrorHandler::new())
            .await
    });
    inject_messages(&mock, bot_id, 5);
    let mut texts = replies(&mock, bot_id, 5).await;
    texts.sort();
    assert_eq!(
        texts,
        (1..=5)
            .map(|i| format!("echo: hello {i}"))
            .collect::<Vec<_>>()
    );

    let stats = mock.stats();
    assert_eq!(
        stats.webhook.ok, 5,
        "teloxide accepted every POST (secret header checked)"
    );
    assert_eq!(stats.webhook.failed, 0);
    assert_eq!(stats.updates.delivered, 5);
    assert_eq!(stats.updates.replied, 5);
    assert_eq!(stats.latency_ms.count, 5);
    assert_eq!(stats.requests.get("setWebhook"), Some(&1));
    assert_eq!(stats.requests.get("getUpdates"), None);
    running.abort();
    tokio::time::timeout(WAIT, server.shutdown()).await.unwrap();
}
