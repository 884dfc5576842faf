//! The aiogram Lambda function (examples/aiogram/lambda_function.py, run by AWS's
//! `awslambdaric` through examples/aiogram/bootstrap) on the emulated Lambda (`mock-lambda`),
//! behind its function URL, with a real mock Telegram delivering webhooks to it: every
//! message is answered exactly once, by execution environments the platform started cold
//! and then reused warm; requests without the bot's secret or for an unknown bot are refused
//! by the function; and when the platform stops, no environment's process is left.
//!
//! Skipped (with the reason) without Python outside CI, failing under `CI=true`, like the
//! other aiogram tests (the venv comes from examples/aiogram/setup-venv.sh).

use std::path::Path;
use std::time::{Duration, Instant};

use mock_lambda::{FunctionConfig, LambdaServer, Logs, Platform, ResourceMode};
use mock_telegram::{Mock, MockConfig, MockServer, RetrySchedule};
use tokio::net::TcpListener;

use crate::aiogram::{assert_answered_once, inject_messages, venv_python};
use crate::sim_support::alive;

const BOTS: usize = 5;
/// Far from any outcome: importing aiogram costs ~5 s of CPU on this project's machines,
/// and a shared machine stretches that; every wait below ends long before on success.
const DEADLINE: Duration = Duration::from_secs(180);

fn secret(bot_id: i64) -> String {
    format!("s3cret-{bot_id}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aiogram_function_answers_every_message_once_on_the_emulated_lambda() {
    let Some(python) = venv_python() else { return };
    let venv = python
        .parent()
        .and_then(Path::parent)
        .expect("<venv>/bin/python");

    // Telegram, retrying a refused delivery on its own schedule compressed 20 times (the
    // platform answers 429 while both environments are busy or starting).
    let mock = Mock::new(MockConfig {
        bots: BOTS,
        seed: 11,
        retry: RetrySchedule::compressed(0.05),
        ..MockConfig::default()
    });
    let telegram = MockServer::start(
        mock.clone(),
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let bots = mock.bots();
    let tokens: String = bots.iter().map(|b| format!("{}\n", b.token)).collect();
    let secrets: String = bots
        .iter()
        .map(|b| format!("{} {}\n", b.id, secret(b.id)))
        .collect();
    std::fs::write(dir.path().join("tokens.txt"), tokens).unwrap();
    std::fs::write(dir.path().join("secrets.txt"), secrets).unwrap();

    // The function as it would be configured on AWS: 1,769 MB (one vCPU), relative paths
    // from its task root. Init is allowed far longer than AWS's 10 s, so a loaded machine
    // does not fail the test (the 10 s limit is measured in scenarios, not asserted here).
    let bootstrap = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/aiogram/bootstrap");
    let mut config = FunctionConfig::new(bootstrap);
    config.name = "aiogram".into();
    config.task_root = Some(dir.path().to_owned());
    config.memory_mb = 1769;
    config.timeout = Duration::from_secs(30);
    config.init_timeout = DEADLINE;
    config.concurrency = 2;
    config.resources = ResourceMode::Auto;
    config.logs = Logs::Inherit;
    config.env = vec![
        ("TGBENCH_AIOGRAM_VENV".into(), venv.display().to_string()),
        ("TGBENCH_API_URL".into(), telegram.base_url()),
        ("TGBENCH_TOKENS_FILE".into(), "tokens.txt".into()),
        ("WEBHOOK_SECRETS_FILE".into(), "secrets.txt".into()),
    ];
    let platform = Platform::start(config).expect("the platform starts");
    let server = LambdaServer::start(
        platform.clone(),
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
    );

    // The deploy step: every bot's webhook set to the function URL with its secret.
    let http = reqwest::Client::new();
    for bot in &bots {
        let r: serde_json::Value = http
            .post(format!(
                "{}/bot{}/setWebhook",
                telegram.base_url(),
                bot.token
            ))
            .json(&serde_json::json!({
                "url": format!("{}/webhook/{}", server.url(), bot.id),
                "secret_token": secret(bot.id),
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["ok"], true, "{r}");
    }

    let expected = inject_messages(&mock);
    let injected = expected.injected;
    let start = Instant::now();
    while mock.stats().updates.replied < injected {
        assert!(
            start.elapsed() < DEADLINE,
            "not every update answered: {:#?}\n{:#?}",
            mock.stats().updates,
            platform.stats()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_answered_once(&mock, expected).await;

    // The function's own checks, on a warm environment.
    let (bot, update) = (
        &bots[0],
        r#"{"update_id": 999, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "x"}}"#,
    );
    let post = |path: String, secret: String| {
        http.post(format!("{}{path}", server.url()))
            .header("x-telegram-bot-api-secret-token", secret)
            .header("content-type", "application/json")
            .body(update)
            .send()
    };
    let wrong = post(format!("/webhook/{}", bot.id), secret(bots[1].id))
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let unknown = post("/webhook/12345".into(), secret(bot.id)).await.unwrap();
    assert_eq!(unknown.status(), 404);
    let bad = http
        .post(format!("{}/webhook/{}", server.url(), bot.id))
        .header("x-telegram-bot-api-secret-token", secret(bot.id))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(
        mock.stats().updates.replied,
        injected,
        "a refused request answered nothing"
    );

    let stats = platform.stats();
    assert!(stats.cold_starts >= 1, "{stats:#?}");
    assert!(
        stats.environments_started <= 2,
        "at most `concurrency` at once, none failed: {stats:#?}"
    );
    assert!(stats.init_ms.max > 0.0, "{stats:#?}");
    // Every update took one successful invocation (throttled deliveries invoke nothing),
    // plus the three refused requests; more invocations than environments: warm reuse.
    assert_eq!(stats.invocations, injected + 3, "{stats:#?}");
    assert!(stats.invocations > stats.environments_started, "{stats:#?}");
    let e = &stats.errors;
    assert_eq!(
        (
            e.timeout,
            e.oom,
            e.function,
            e.crash,
            e.init,
            e.invalid_response
        ),
        (0, 0, 0, 0, 0, 0),
        "{stats:#?}"
    );
    eprintln!(
        "aiogram function cold start at 1,769 MB ({}): init p50 {:.0} ms, max {:.0} ms",
        stats.resources.mechanism, stats.init_ms.p50, stats.init_ms.max
    );

    let last = server.shutdown().await;
    assert_eq!(last.environments_alive, 0, "{last:#?}");
    for env in &last.environments {
        let pid = env.pid.expect("a runtime that started has a pid");
        let deadline = Instant::now() + DEADLINE;
        while alive(pid) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            !alive(pid),
            "environment process {pid} left running: {env:#?}"
        );
    }
    telegram.shutdown().await;
}
