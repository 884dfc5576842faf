//! The aiogram reference servers (examples/aiogram) as SUTs: each one, started the way the
//! harness starts any bot server (the SUT environment, the venv's python), answers every
//! message of 20 bots exactly once through a real mock, and stops on SIGTERM.
//!
//! The venv comes from examples/aiogram/setup-venv.sh (created once from PyPI, then reused).
//! Without a usable Python the tests print why and pass as skipped, unless `CI` is set: there
//! a missing Python is a failure, since CI installs it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use mock_telegram::{Mock, MockConfig, MockServer, NewUpdate};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::{Instant, sleep, timeout};

const BOTS: usize = 20;
/// Everything after the venv exists (start, ready, answers, stop) must fit in this.
const BUDGET: Duration = Duration::from_secs(45);

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/aiogram")
}

/// The venv's python, set up once per test binary; `None` (after saying why) when Python is
/// unavailable and `CI` is not set.
pub(crate) fn venv_python() -> Option<PathBuf> {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let result = VENV.get_or_init(|| {
        let script = example_dir().join("setup-venv.sh");
        let out = std::process::Command::new("bash")
            .arg(&script)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run bash {}: {e}", script.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        match stdout.lines().last() {
            Some(python) if out.status.success() => Ok(PathBuf::from(python.trim())),
            _ => Err(format!(
                "{} exited with {}:\n{stderr}",
                script.display(),
                out.status
            )),
        }
    });
    match result {
        Ok(python) => Some(python.clone()),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("CI is set, so the aiogram venv must be available: {why}")
        }
        Err(why) => {
            // Straight to stderr, past the test harness's capture, so the skip is seen.
            let _ = writeln!(
                std::io::stderr().lock(),
                "SKIPPED aiogram end-to-end test: no aiogram venv (set CI to make this fatal)\n{why}"
            );
            None
        }
    }
}

/// A running SUT: the child process and every line it printed so far.
struct Sut {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Sut {
    fn start(python: &Path, script: &str, args: &[&str], env: &[(&str, String)]) -> Sut {
        let mut child = Command::new(python)
            .arg(example_dir().join(script))
            .args(args)
            .current_dir(example_dir())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (*k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {script}: {e}"));
        let stdout = collect_lines(child.stdout.take().expect("piped stdout"));
        let stderr = collect_lines(child.stderr.take().expect("piped stderr"));
        Sut {
            child,
            stdout,
            stderr,
        }
    }

    fn output(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.stdout.lock().unwrap().join("\n"),
            self.stderr.lock().unwrap().join("\n")
        )
    }

    /// Fails the test, with the SUT's output, if it has exited.
    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("the SUT exited early ({status})\n{}", self.output());
        }
    }

    /// SIGTERM, then the process must exit by itself, with status 0, within 10 s.
    async fn terminate(mut self) {
        let pid = self.child.id().expect("the SUT is still running");
        let kill = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(kill.success(), "kill -TERM {pid} failed");
        let status = timeout(Duration::from_secs(10), self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("still running 10 s after SIGTERM\n{}", self.output()))
            .expect("wait for the SUT");
        assert!(
            status.success(),
            "exit after SIGTERM: {status}\n{}",
            self.output()
        );
        // The process is gone: reaped, and no longer signalable.
        let alive = std::process::Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(Stdio::null())
            .status()
            .expect("run kill -0");
        assert!(!alive.success(), "process {pid} still exists after exit");
    }
}

fn collect_lines(
    stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

/// Polls `done` every 50 ms until it holds, the SUT dies, or `deadline` passes.
async fn wait_for(sut: &mut Sut, deadline: Instant, what: &str, mut done: impl FnMut() -> bool) {
    while !done() {
        sut.assert_running();
        if Instant::now() >= deadline {
            panic!("timed out waiting for {what}\n{}", sut.output());
        }
        sleep(Duration::from_millis(50)).await;
    }
}

struct Fixture {
    server: MockServer,
    _dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

async fn fixture(listen: Option<String>) -> Fixture {
    let mock = Mock::new(MockConfig {
        bots: BOTS,
        seed: 7,
        ..MockConfig::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = MockServer::start(mock, listener);
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.txt");
    let text: String = server
        .mock()
        .bots()
        .iter()
        .map(|b| format!("{}\n", b.token))
        .collect();
    std::fs::write(&tokens, text).unwrap();
    let mut env = vec![
        ("TGBENCH_API_URL", server.base_url()),
        ("TGBENCH_TOKENS_FILE", tokens.display().to_string()),
    ];
    if let Some(listen) = listen {
        env.push(("TGBENCH_PUBLIC_URL", format!("http://{listen}")));
        env.push(("TGBENCH_LISTEN", listen));
    }
    Fixture {
        server,
        _dir: dir,
        env,
    }
}

/// One text message to every bot (chat 1000 + i), a `/start` to bot 0 and a button press to
/// bot 1; every one must be answered exactly once: each reply in the right chat, with the
/// right method and text, and every message answered as a reply to itself.
async fn every_message_is_answered_once(sut: &mut Sut, mock: &Arc<Mock>, deadline: Instant) {
    let expected = inject_messages(mock);
    wait_for(sut, deadline, "every update to be replied", || {
        mock.stats().updates.replied >= expected.injected
    })
    .await;
    assert_answered_once(mock, expected).await;
}

/// What the bots must send for the updates [`inject_messages`] injected.
pub(crate) struct Expected {
    pub injected: u64,
    /// bot id -> (method, chat id, text) it must send, in any order.
    sends: BTreeMap<i64, Vec<(String, i64, String)>>,
}

/// Injects one text message to every bot of `mock` (chat 1000 + i), a `/start` to bot 0 and
/// a button press to bot 1 (the mock needs at least two bots); what each bot must answer.
pub(crate) fn inject_messages(mock: &Mock) -> Expected {
    let bots = mock.bots();
    // bot id -> (method, chat id, text) it must send, in any order.
    let mut expected: BTreeMap<i64, Vec<(String, i64, String)>> = BTreeMap::new();
    let mut expect = |bot_id: i64, method: &str, chat_id: i64, text: String| {
        let entry = (method.to_string(), chat_id, text);
        expected.entry(bot_id).or_default().push(entry);
    };
    for (i, bot) in bots.iter().enumerate() {
        let chat_id = 1000 + i as i64;
        let text = format!("hello from {chat_id}");
        mock.inject(NewUpdate::message(bot.id, chat_id, text.clone()))
            .unwrap();
        expect(bot.id, "sendMessage", chat_id, text);
    }
    let (first, second) = (bots[0].id, bots[1].id);
    mock.inject(NewUpdate::message(first, 5000, "/start"))
        .unwrap();
    let welcome = format!("Welcome! I am bot {first}. Send me any text and I will echo it.");
    expect(first, "sendMessage", 5000, welcome);
    mock.inject(NewUpdate::callback(second, 6000, "yes"))
        .unwrap();
    expect(
        second,
        "answerCallbackQuery",
        6000,
        "You pressed yes".into(),
    );
    Expected {
        injected: bots.len() as u64 + 2,
        sends: expected,
    }
}

/// Once `expected.injected` updates are replied: no more than that, none twice, and each
/// bot sent exactly what it had to, each message answered as a reply to itself.
pub(crate) async fn assert_answered_once(mock: &Mock, expected: Expected) {
    let Expected {
        injected,
        sends: mut expected,
    } = expected;
    let bots = mock.bots();
    // Time for a duplicate to show up, were the SUT to answer twice.
    sleep(Duration::from_millis(300)).await;
    let stats = mock.stats();
    assert_eq!(stats.updates.injected, injected);
    assert_eq!(stats.updates.replied, injected);
    assert_eq!(stats.updates.duplicated, 0);
    assert_eq!(stats.requests.get("sendMessage"), Some(&(injected - 1)));
    assert_eq!(stats.requests.get("answerCallbackQuery"), Some(&1));
    for bot in &bots {
        let sent = mock.sent(bot.id);
        for m in &sent {
            assert!(
                m.update_id.is_some(),
                "a reply that closed no update: {m:?}"
            );
            if m.method == "sendMessage" {
                assert!(
                    m.reply_to_message_id.is_some(),
                    "not sent as a reply: {m:?}"
                );
            }
        }
        let mut got: Vec<_> = sent
            .into_iter()
            .map(|m| (m.method, m.chat_id, m.text))
            .collect();
        got.sort();
        let mut want = expected.remove(&bot.id).unwrap_or_default();
        want.sort();
        assert_eq!(got, want, "what bot {} sent", bot.id);
    }
}

/// Waits for the SUT's one "... ready: ..." line on stdout.
async fn wait_ready_line(sut: &mut Sut, deadline: Instant) {
    let stdout = sut.stdout.clone();
    wait_for(sut, deadline, "the ready line", || {
        stdout
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains(" ready: "))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiogram_polling_server_answers_every_message_once() {
    let Some(python) = venv_python() else { return };
    let fx = fixture(None).await;
    let mock = fx.server.mock().clone();
    let deadline = Instant::now() + BUDGET;
    let mut sut = Sut::start(&python, "polling_server.py", &[], &fx.env);
    wait_ready_line(&mut sut, deadline).await;
    wait_for(&mut sut, deadline, "every bot to poll", || {
        mock.readiness().polling == BOTS
    })
    .await;
    every_message_is_answered_once(&mut sut, &mock, deadline).await;
    assert_eq!(mock.stats().requests.get("setWebhook"), None);
    sut.terminate().await;
    fx.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiogram_webhook_server_answers_every_message_once() {
    let Some(python) = venv_python() else { return };
    let listen = free_loopback_addr();
    let fx = fixture(Some(listen.clone())).await;
    let mock = fx.server.mock().clone();
    let deadline = Instant::now() + BUDGET;
    let mut sut = Sut::start(&python, "webhook_server.py", &[], &fx.env);
    wait_ready_line(&mut sut, deadline).await;
    assert_eq!(
        mock.readiness().webhooks_set,
        BOTS,
        "every webhook set once ready"
    );

    // The endpoint itself: healthy, and it refuses a wrong secret and an unknown bot.
    let http = reqwest::Client::new();
    let health = http
        .get(format!("http://{listen}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["webhooks_set"], BOTS);
    let bot_id = mock.bots()[0].id;
    let forged = http
        .post(format!("http://{listen}/webhook/{bot_id}"))
        .header("X-Telegram-Bot-Api-Secret-Token", "not-the-secret")
        .json(&serde_json::json!({"update_id": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let unknown = http
        .post(format!("http://{listen}/webhook/42"))
        .json(&serde_json::json!({"update_id": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    every_message_is_answered_once(&mut sut, &mock, deadline).await;
    assert_eq!(mock.stats().requests.get("getUpdates"), None);
    sut.terminate().await;
    fx.server.shutdown().await;
}

/// A loopback address with a port free right now (the SUT binds it itself: TGBENCH_LISTEN).
fn free_loopback_addr() -> String {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().to_string()
}
