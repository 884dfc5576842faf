//! The Rust webhook function (`functions/webhook-lambda`, on `lambda_runtime`) behind the
//! function URL, against an embedded mock Telegram: Telegram's webhook POST becomes an
//! event, the function answers the user, and the reply reaches the mock, through the Bot
//! API or in the webhook response.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mock_lambda::{FunctionConfig, Logs, ResourceMode};
use mock_telegram::{BotInfo, Mock, MockConfig, MockServer, NewUpdate};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::support::{DEADLINE, Harness};

/// The function's binary, built once with the same cargo and profile as this test (cargo
/// builds no other package's binaries for a test, so the test asks for it).
fn function_binary() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_owned();
        let mut build = Command::new(env!("CARGO"));
        build
            .args(["build", "--quiet", "-p", "tgbench-webhook-lambda", "--bins"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            // No terminal: a test run in the background would be stopped (SIGTTIN) by it.
            .stdin(std::process::Stdio::null());
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "building webhook-lambda failed");
        profile_dir.join("webhook-lambda")
    })
}

struct Telegram {
    mock: std::sync::Arc<Mock>,
    server: MockServer,
    bots: Vec<BotInfo>,
    _dir: tempfile::TempDir,
    config: FunctionConfig,
}

fn secret(bot: &BotInfo) -> String {
    format!("secret-{}", bot.id)
}

/// A mock Telegram with two bots, and the function's configuration for them.
async fn telegram(reply_in_response: bool) -> Telegram {
    let mock = Mock::new(MockConfig {
        bots: 2,
        ..MockConfig::default()
    });
    let server = MockServer::start(
        mock.clone(),
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
    );
    let bots = mock.bots();
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.txt");
    let secrets = dir.path().join("secrets.txt");
    std::fs::write(
        &tokens,
        bots.iter()
            .map(|b| format!("{}\n", b.token))
            .collect::<String>(),
    )
    .unwrap();
    std::fs::write(
        &secrets,
        bots.iter()
            .map(|b| format!("{} {}\n", b.id, secret(b)))
            .collect::<String>(),
    )
    .unwrap();
    let mut config = FunctionConfig::new(function_binary());
    config.memory_mb = 512;
    config.timeout = Duration::from_secs(10);
    config.resources = ResourceMode::Auto;
    config.logs = Logs::Inherit;
    config.env = vec![
        ("TGBENCH_API_URL".into(), server.base_url()),
        ("TGBENCH_TOKENS_FILE".into(), tokens.display().to_string()),
        ("WEBHOOK_SECRETS_FILE".into(), secrets.display().to_string()),
        ("REPLY_IN_RESPONSE".into(), reply_in_response.to_string()),
    ];
    Telegram {
        mock,
        server,
        bots,
        _dir: dir,
        config,
    }
}

/// The deploy step: every bot's webhook set to the function URL with its secret.
async fn set_webhooks(t: &Telegram, h: &Harness) {
    for bot in &t.bots {
        let r: Value = h
            .client
            .post(format!(
                "{}/bot{}/setWebhook",
                t.server.base_url(),
                bot.token
            ))
            .json(&json!({
                "url": format!("{}/webhook/{}", h.server.url(), bot.id),
                "secret_token": secret(bot),
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["ok"], true, "{r}");
    }
}

/// What the mock recorded `bot` sending, read over its control API.
async fn sent(t: &Telegram, h: &Harness, bot: &BotInfo) -> Vec<Value> {
    let r: Value = h
        .client
        .get(format!(
            "{}/_mock/sent?bot_id={}",
            t.server.base_url(),
            bot.id
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["messages"].as_array().cloned().unwrap_or_default()
}

/// A webhook delivery made by the test, with `secret` in Telegram's header.
async fn deliver(h: &Harness, bot: &BotInfo, secret: &str, update: &Value) -> reqwest::Response {
    h.client
        .post(format!("{}/webhook/{}", h.server.url(), bot.id))
        .header("x-telegram-bot-api-secret-token", secret)
        .json(update)
        .send()
        .await
        .unwrap()
}

async fn wait_for_reply(t: &Telegram, h: &Harness, bot: &BotInfo, text: &str) -> Value {
    let start = Instant::now();
    loop {
        if let Some(m) = sent(t, h, bot)
            .await
            .into_iter()
            .find(|m| m["text"] == text)
        {
            return m;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "no reply {text:?}: {:#?}",
            h.stats()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_function_answers_a_telegram_webhook() {
    let t = telegram(false).await;
    let h = Harness::start(t.config.clone()).await;
    set_webhooks(&t, &h).await;
    let bot = &t.bots[1];
    // A request without the bot's secret never reaches the logic.
    let update =
        json!({"update_id": 1, "message": {"message_id": 1, "chat": {"id": 5}, "text": "x"}});
    assert_eq!(deliver(&h, bot, "wrong", &update).await.status(), 401);
    // The environment is busy until its runtime asks for the next event; then the
    // delivery below runs warm in it.
    h.wait_for("the environment to be idle", |s| s.concurrency == 0)
        .await;
    t.mock
        .inject(NewUpdate::message(bot.id, 42, "hello lambda"))
        .unwrap();
    let reply = wait_for_reply(&t, &h, bot, "hello lambda").await;
    assert_eq!(
        (reply["method"].as_str(), reply["chat_id"].as_i64()),
        (Some("sendMessage"), Some(42))
    );
    assert!(sent(&t, &h, &t.bots[0]).await.is_empty());
    let stats = h.stats();
    assert_eq!((stats.cold_starts, stats.errors.function), (1, 0));
    assert!(stats.invocations >= 2, "{stats:#?}");
    eprintln!(
        "webhook-lambda cold start ({} build, {} MB, {}): {:.1} ms",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        stats.function.memory_mb,
        stats.resources.mechanism,
        stats.init_ms.max
    );
    h.server.shutdown().await;
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_reply_in_response_the_reply_is_the_response_body() {
    let t = telegram(true).await;
    let h = Harness::start(t.config.clone()).await;
    set_webhooks(&t, &h).await;
    let bot = &t.bots[0];
    let update =
        json!({"update_id": 7, "message": {"message_id": 3, "chat": {"id": 9}, "text": "echo me"}});
    let direct: Value = deliver(&h, bot, &secret(bot), &update)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(direct["method"], "sendMessage");
    assert_eq!(direct["text"], "echo me");
    assert_eq!(direct["reply_parameters"]["message_id"], 3);
    t.mock
        .inject(NewUpdate::message(bot.id, 43, "via the response"))
        .unwrap();
    let reply = wait_for_reply(&t, &h, bot, "via the response").await;
    assert_eq!(reply["chat_id"], 43);
    h.server.shutdown().await;
    t.server.shutdown().await;
}
