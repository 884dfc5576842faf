//! Security end to end, over real HTTP with the real binaries: the mock's control API behind
//! its token; bot tokens and webhook secrets never whole in the logs of the mock, webhook-bot
//! and polling-bot at debug level, failures included; no token in a run's result files.
//! (A non-loopback `--listen` without a control token is refused by the binary: see
//! mock-telegram/tests/it/binary.rs.)

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use mock_telegram::{Mock, MockConfig, MockServer, NewUpdate, RetrySchedule};
use serde_json::Value;

use crate::sim_support::{binaries, mock_binary};

const WAIT: Duration = Duration::from_secs(20);

/// A child whose stdout and stderr go to one file; SIGTERMed and reaped on drop.
struct Logged {
    child: Child,
    log: PathBuf,
}

impl Logged {
    fn spawn(mut cmd: Command, log: PathBuf) -> Logged {
        let file = std::fs::File::create(&log).unwrap();
        let child = cmd
            .env("RUST_LOG", "debug")
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Logged { child, log }
    }

    /// Waits for a line starting with `prefix` in the log; returns it.
    fn line(&self, prefix: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(l) = text.lines().find(|l| l.starts_with(prefix)) {
                return l.to_string();
            }
            assert!(Instant::now() < deadline, "no {prefix:?} line in:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, wait (bounded), and the whole log.
    fn stop(mut self) -> String {
        terminate(&mut self.child);
        std::fs::read_to_string(&self.log).unwrap()
    }
}

fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + WAIT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What must never be printed: the secret part of every token, and every webhook secret.
fn assert_no_secrets(text: &str, tokens: &[String], what: &str) {
    for t in tokens {
        let secret = t.split_once(':').map_or(t.as_str(), |(_, s)| s);
        assert!(!text.contains(secret), "{what} holds a whole token secret");
        assert!(
            !text.contains(&secret[..10]),
            "{what} holds 10 chars of a token secret"
        );
    }
    // webhook-bot's secrets are 32 characters of [A-Za-z0-9]: no such run may appear.
    let longest = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(
        longest < 20,
        "{what} holds a secret-like run of {longest} alphanumerics:\n{text}"
    );
}

#[tokio::test]
async fn control_token_guards_the_control_api_of_the_binary_and_not_the_bot_api() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(mock_binary());
    cmd.args(["--listen", "127.0.0.1:0", "--bots", "2", "--seed", "3"])
        .env("MOCK_TELEGRAM_CONTROL_TOKEN", "s3cr3t-control");
    let mock = Logged::spawn(cmd, dir.path().join("mock.log"));
    let base = mock
        .line("listening on ")
        .trim_start_matches("listening on ")
        .to_string();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    for path in ["bots", "stats", "sent?bot_id=7000000001"] {
        let url = format!("{base}/_mock/{path}");
        let r = http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path} without the token");
        let r = http.get(&url).bearer_auth("wrong").send().await.unwrap();
        assert_eq!(r.status(), 401, "{path} with a wrong token");
        let r = http
            .get(&url)
            .bearer_auth("s3cr3t-control")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path} with the token");
    }
    let r = http
        .post(format!("{base}/_mock/updates"))
        .json(&serde_json::json!({"bot_id": 7000000001i64, "chat_id": 1, "text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "no update injected without the token");
    let token = mock_telegram::token::bot_info(3, 0).token;
    let me: Value = http
        .get(format!("{base}/bot{token}/getMe"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["ok"], true, "the Bot API needs no control token: {me}");
    let log = mock.stop();
    assert!(
        !log.contains("s3cr3t-control"),
        "the control token was logged"
    );
    assert_no_secrets(&log, &[token], "mock-telegram's log");
}

/// The reference servers at debug level, driven through success and failure: no token and
/// no webhook secret in what they print.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_servers_never_log_a_whole_token_or_secret() {
    let bins = binaries();
    let dir = tempfile::tempdir().unwrap();
    let mock = Mock::new(MockConfig {
        bots: 3,
        seed: 11,
        retry: RetrySchedule::compressed(0.01),
        ..MockConfig::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = MockServer::start(mock.clone(), listener);
    let bots = mock.bots();
    let mut tokens: Vec<String> = bots.iter().map(|b| b.token.clone()).collect();
    // A well-formed token the mock does not know: 401 on every call, logged as a failure.
    let unknown = format!("{}:{}", 7_000_000_999u64, "Zq9".repeat(12));
    tokens.push(unknown.clone());
    let tokens_file = dir.path().join("tokens.txt");
    std::fs::write(&tokens_file, tokens.join("\n")).unwrap();
    let env = |cmd: &mut Command, listen: &str| {
        cmd.env("TGBENCH_API_URL", server.base_url())
            .env("TGBENCH_TOKENS_FILE", &tokens_file)
            .env("TGBENCH_LISTEN", listen)
            .env_remove("TGBENCH_PUBLIC_URL");
    };

    // webhook-bot: the unknown bot's setWebhook fails; bad secrets and unknown bots are
    // refused; the known bots answer.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut cmd = Command::new(bins.join("webhook-bot"));
    env(&mut cmd, &port.to_string());
    let webhook = Logged::spawn(cmd, dir.path().join("webhook.log"));
    webhook.line("webhook-bot: ");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    for (bot, secret) in [(bots[0].id, "wrong-secret"), (999, "x"), (bots[1].id, "")] {
        let r = http
            .post(format!("http://{port}/webhook/{bot}"))
            .header("x-telegram-bot-api-secret-token", secret)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error());
    }
    for (i, b) in bots.iter().enumerate() {
        mock.inject(NewUpdate::message(b.id, 10 + i as i64, "hello"))
            .unwrap();
    }
    wait_for(|| bots.iter().all(|b| !mock.sent(b.id).is_empty())).await;
    let webhook_log = webhook.stop();

    // polling-bot: the unknown token is refused (401) and its loop stops.
    mock.reset();
    let mut cmd = Command::new(bins.join("polling-bot"));
    env(&mut cmd, "127.0.0.1:0");
    cmd.args(["--poll-timeout", "1"]);
    // deleteWebhook first: the bots still have the webhook-bot's webhooks.
    for b in &bots {
        let url = format!("{}/bot{}/deleteWebhook", server.base_url(), b.token);
        http.post(url).send().await.unwrap();
    }
    let polling = Logged::spawn(cmd, dir.path().join("polling.log"));
    polling.line("polling-bot: ");
    for (i, b) in bots.iter().enumerate() {
        mock.inject(NewUpdate::message(b.id, 20 + i as i64, "again"))
            .unwrap();
    }
    wait_for(|| bots.iter().all(|b| !mock.sent(b.id).is_empty())).await;
    let polling_log = polling.stop();
    server.shutdown().await;

    assert!(
        webhook_log.contains("7000000999:Zq9…"),
        "the failed bot is named by its redacted token:\n{webhook_log}"
    );
    assert!(
        polling_log.contains("7000000999:Zq9…"),
        "the refused bot is named by its redacted token:\n{polling_log}"
    );
    assert!(
        webhook_log.contains("DEBUG") || polling_log.contains("DEBUG"),
        "debug logging on"
    );
    assert_no_secrets(&webhook_log, &tokens, "webhook-bot's log");
    assert_no_secrets(&polling_log, &tokens, "polling-bot's log");
}

async fn wait_for(mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !check() {
        assert!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every file under `dir`, read as text (lossy).
fn files_text(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_text(&p));
        } else {
            let mut bytes = Vec::new();
            std::fs::File::open(&p)
                .unwrap()
                .read_to_end(&mut bytes)
                .unwrap();
            out.push((p, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    out
}

/// `tgbench run` of a short scenario (the smoke SUTs, 1 s window): its out folder and its
/// printed summary hold none of the mock's tokens.
#[test]
fn result_files_and_summary_hold_no_tokens() {
    let bins = binaries();
    let dir = tempfile::tempdir().unwrap();
    let scenario = crate::sim_support::scenario_file(
        dir.path(),
        "secrets",
        "name = \"secrets\"\nduration_s = 1\nwarmup_s = 0\ndrain_s = 3\nseed = 5\n\
         [telegram]\nbots = 4\n[load]\nmodel = \"poisson\"\nmessages_per_bot_per_min = 60\n\
         [[sut]]\nname = \"polling\"\nkind = \"polling\"\nargs = [\"--poll-timeout\", \"5\"]\n\
         [[sut]]\nname = \"webhook\"\nkind = \"webhook\"\n",
    );
    let out = dir.path().join("out");
    let run = Command::new(bins.join("tgbench"))
        .args(["run", scenario.to_str().unwrap(), "--no-progress", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "tgbench run failed:\n{printed}");
    let tokens: Vec<String> = (0..4)
        .map(|i| mock_telegram::token::bot_info(5, i).token)
        .collect();
    let files = files_text(&out);
    assert!(
        files.iter().any(|(p, _)| p.ends_with("results.json")),
        "{files:?}"
    );
    for (path, text) in &files {
        assert_no_tokens(text, &tokens, &path.display().to_string());
    }
    assert_no_tokens(&printed, &tokens, "the printed summary");
}

fn assert_no_tokens(text: &str, tokens: &[String], what: &str) {
    for t in tokens {
        let secret = t.split_once(':').unwrap().1;
        assert!(!text.contains(secret), "{what} holds a token");
    }
}
