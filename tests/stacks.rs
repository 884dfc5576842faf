//! The example stacks as SUTs (examples/python-telegram-bot, grammy, telegraf, teloxide):
//! each stack scenario's servers, run by `tgbench run` on a short load, answer every message
//! exactly once, by polling and by webhook; and a Gunicorn worker killed while a handler is in
//! flight loses nothing, because Telegram (the mock) delivers the update again.
//!
//! Each stack's environment is set up once per test binary by its own setup script (a venv,
//! `npm ci`, or `cargo build --example teloxide`), cached under target/ and reused while its
//! lock file is unchanged. A missing toolchain (the setup script's exit status 2) makes a test
//! print why and pass as skipped, unless `CI` is set: there it is a failure, since CI installs
//! every toolchain (.ci/setup).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use clap::Parser;
use mock_telegram::{Mock, MockConfig, MockServer, NewUpdate};
use tgbench::scenario;

use crate::sim_support::{profile_dir, read_results, repo};

/// How a stack's environment is prepared.
#[derive(Clone, Copy)]
enum Setup {
    /// A setup script of the example: exit 0 ready, 2 toolchain missing, else failed.
    Script(&'static str),
    /// The root package's example `teloxide` in this test binary's profile: the one
    /// `cargo test` built when it is newer than its sources (`cargo test --workspace` builds
    /// every example), else `cargo build -p tgbench-tests --example teloxide`.
    TeloxideExample,
}

/// The stacks, each prepared at most once per test binary (tests of one stack wait for the
/// first to finish preparing it; different stacks prepare in parallel).
static PTB: Stack = Stack::new(
    "python-telegram-bot",
    Setup::Script("examples/python-telegram-bot/setup-venv.sh"),
);
static GRAMMY: Stack = Stack::new("grammy", Setup::Script("examples/grammy/setup.sh"));
static TELEGRAF: Stack = Stack::new("telegraf", Setup::Script("examples/telegraf/setup.sh"));
static TELOXIDE: Stack = Stack::new("teloxide", Setup::TeloxideExample);

struct Stack {
    name: &'static str,
    setup: Setup,
    prepared: OnceLock<Result<(), String>>,
}

impl Stack {
    const fn new(name: &'static str, setup: Setup) -> Self {
        Self {
            name,
            setup,
            prepared: OnceLock::new(),
        }
    }

    /// `None` (after saying why) when the stack's toolchain is missing and `CI` is not set;
    /// a panic when it is missing under CI, or when the setup failed.
    fn prepare(&self) -> Option<()> {
        let result = self.prepared.get_or_init(|| {
            let started = Instant::now();
            let r = run_setup(self.setup);
            if r.is_ok() {
                // How long a setup takes: seconds when cached, the cold cost otherwise.
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "stacks: {} environment ready in {:.1} s",
                    self.name,
                    started.elapsed().as_secs_f64()
                );
            }
            r
        });
        match result {
            Ok(()) => Some(()),
            Err(why) if std::env::var_os("CI").is_some() => panic!(
                "CI is set, so the {} stack's toolchain must be installed: {why}",
                self.name
            ),
            Err(why) => {
                // Straight to stderr, past the test harness's capture, so the skip is seen.
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "SKIPPED {} stack test: toolchain missing (set CI to make this fatal)\n{why}",
                    self.name
                );
                None
            }
        }
    }
}

/// `Err` only for a missing toolchain; any other failure panics at once.
fn run_setup(setup: Setup) -> Result<(), String> {
    let mut cmd = match setup {
        Setup::Script(script) => {
            let mut c = Command::new("bash");
            c.arg(repo().join(script));
            c
        }
        Setup::TeloxideExample if teloxide_binary_is_fresh() => return Ok(()),
        Setup::TeloxideExample => {
            let mut c = Command::new(env!("CARGO"));
            // `-p tgbench-tests`: the features of `cargo test -p tgbench-tests`, so the
            // dependencies that test binary was built with are reused (without it cargo
            // unifies features across the workspace's default members and recompiles
            // reqwest, teloxide and the tgbench crates: about a minute on 2 cores).
            c.args([
                "build",
                "--quiet",
                "-p",
                "tgbench-tests",
                "--example",
                "teloxide",
            ])
            .arg("--profile")
            .arg(cargo_profile());
            // Not the variables cargo set for this test binary: build scripts watch some of
            // them (ring reruns when CARGO_MANIFEST_DIR changes), and an inherited value
            // would recompile ring and all above it, here and again at the next `cargo test`.
            for (key, _) in std::env::vars_os() {
                let key = key.to_string_lossy();
                if key.starts_with("CARGO_PKG_")
                    || matches!(
                        &*key,
                        "CARGO_MANIFEST_DIR"
                            | "CARGO_MANIFEST_PATH"
                            | "CARGO_CRATE_NAME"
                            | "CARGO_BIN_NAME"
                            | "CARGO_PRIMARY_PACKAGE"
                            | "CARGO_TARGET_TMPDIR"
                    )
                {
                    c.env_remove(&*key);
                }
            }
            c
        }
    };
    let out = cmd
        .current_dir(repo())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run the setup ({e})"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => Ok(()),
        Some(2) if matches!(setup, Setup::Script(_)) => Err(stderr.into_owned()),
        _ => panic!("the stack's setup failed ({}):\n{stderr}", out.status),
    }
}

/// The teloxide servers' binary in this test binary's profile.
fn teloxide_binary() -> PathBuf {
    profile_dir().join("examples").join("teloxide")
}

/// Built, and newer than its sources and the lock file.
fn teloxide_binary_is_fresh() -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let Some(built) = modified(&teloxide_binary()) else {
        return false;
    };
    let sources = std::fs::read_dir(repo().join("examples/teloxide"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .chain([repo().join("Cargo.lock"), repo().join("Cargo.toml")]);
    sources
        .map(|p| modified(&p))
        .all(|m| m.is_some_and(|m| m <= built))
}

/// The cargo profile this test binary was built with (`dev` builds into target/debug).
fn cargo_profile() -> String {
    match profile_dir().file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".into(),
        Some(other) => other.into(),
    }
}

/// A TOML basic string (JSON's escapes are TOML's for these).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// `scenarios/<file>` cut to a short run: 4 bots, 4 s at 60 messages per bot per minute (a
/// fifth of them button presses), a near emulated network, no anti-spin hold (so the servers
/// stop fast), and only the SUTs named in `suts`, copied from the file as they are (command,
/// args, env, ready, timeouts; not pinned), with `extra_env` added.
fn short_scenario(file: &str, suts: &[&str], extra_env: &[(&str, String)], tls: bool) -> String {
    let path = repo().join("scenarios").join(file);
    let full = scenario::load(path.to_str().unwrap())
        .unwrap_or_else(|e| panic!("scenarios/{file} does not load: {e}"));
    let mut text = format!(
        "name = \"{}-short\"\nduration_s = 4\nwarmup_s = 1\ndrain_s = 30\nseed = 3\n\n\
         [telegram]\nbots = 4\nrtt_ms = 5\nanti_spin = false\ntls = {tls}\n\n\
         [load]\nmodel = \"poisson\"\nmessages_per_bot_per_min = 60\ncallback_share = 0.2\n\n\
         [slo]\nmax_lost = 0\n",
        full.name
    );
    for name in suts {
        let sut = full
            .suts
            .iter()
            .find(|s| s.name == *name)
            .unwrap_or_else(|| panic!("scenarios/{file} has no SUT {name}"));
        let command = sut.command.as_ref().expect("a command SUT");
        let list = |v: &[String]| v.iter().map(|s| quoted(s)).collect::<Vec<_>>().join(", ");
        let mut env: Vec<String> = sut
            .env
            .iter()
            .map(|(k, v)| format!("{k} = {}", quoted(v)))
            .collect();
        env.extend(
            extra_env
                .iter()
                .map(|(k, v)| format!("{k} = {}", quoted(v))),
        );
        text += &format!(
            "\n[[sut]]\nname = {}\nkind = \"command\"\ncommand = [{}]\nargs = [{}]\n\
             env = {{ {} }}\nready = {}\nready_timeout_s = {}\nstop_timeout_s = {}\n",
            quoted(&sut.name),
            list(command),
            list(&sut.args),
            env.join(", "),
            quoted(&sut.ready().to_string()),
            sut.ready_timeout_s,
            sut.stop_timeout_s,
        );
    }
    text
}

/// Runs the short scenario of `file` with `suts` and checks that every SUT answered every
/// update exactly once.
fn every_update_answered_once(file: &str, suts: &[&str], extra_env: &[(&str, String)]) {
    every_update_answered_once_over(file, suts, extra_env, false);
}

/// [`every_update_answered_once`], over HTTPS on both sides when `tls` (`[telegram] tls`).
fn every_update_answered_once_over(
    file: &str,
    suts: &[&str],
    extra_env: &[(&str, String)],
    tls: bool,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.toml");
    std::fs::write(&path, short_scenario(file, suts, extra_env, tls)).unwrap();
    let out = dir.path().join("out");
    let code = tgbench::run_cli(tgbench::Cli::parse_from([
        "tgbench",
        "run",
        path.to_str().unwrap(),
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ]));
    let logs = || {
        std::fs::read_dir(out.join("logs"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                let tail: Vec<_> = text.lines().rev().take(30).collect();
                let tail: Vec<_> = tail.into_iter().rev().collect();
                format!("--- {}\n{}", e.path().display(), tail.join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(code, 0, "tgbench run exit code\n{}", logs());
    let results = read_results(&out);
    assert!(results.complete, "{:?}", results.incomplete_reason);
    assert_eq!(results.scenario.telegram.tls, tls);
    let ran: Vec<&str> = results.runs.iter().map(|r| r.sut.name.as_str()).collect();
    assert_eq!(ran, suts);
    for run in &results.runs {
        let (who, u) = (&run.sut.name, &run.updates);
        assert!(u.injected > 0, "{who}: the schedule sent nothing");
        assert_eq!(
            u.replied,
            u.injected,
            "{who}: every update answered\n{}",
            logs()
        );
        assert_eq!(u.lost, 0, "{who}");
        assert_eq!(u.duplicated, 0, "{who}: no update answered twice");
        assert_eq!(run.latency_ms.count, u.replied, "{who}");
        assert!(
            run.memory.as_ref().unwrap().rss_peak_mb > 1.0,
            "{who}: the SUT's memory was sampled"
        );
    }
}

#[test]
fn python_telegram_bot_servers_answer_every_update_once() {
    let Some(()) = PTB.prepare() else { return };
    every_update_answered_once(
        "stack-python-telegram-bot.toml",
        &["ptb-polling", "ptb-gunicorn-sync-2", "ptb-gunicorn-gthread"],
        &[],
    );
}

/// The polling server with its bots split over several client pairs (3 bots per pair: two
/// pairs for the test's 4 bots), as 2,000 bots are split into pairs of 100: each bot polls
/// and replies through its group's clients and every update is answered once.
#[test]
fn python_telegram_bot_polling_in_client_groups_answers_every_update_once() {
    let Some(()) = PTB.prepare() else { return };
    every_update_answered_once(
        "stack-python-telegram-bot.toml",
        &["ptb-polling"],
        &[("PTB_BOTS_PER_CLIENT", "3".to_owned())],
    );
}

/// Over HTTPS (`[telegram] tls`), the pollers of python-telegram-bot (httpx reads
/// `SSL_CERT_FILE`), grammY and telegraf (Node.js reads `NODE_EXTRA_CA_CERTS`) trust the run's
/// test CA through the environment alone, unmodified.
#[test]
fn polling_stacks_trust_the_run_ca_through_the_environment_alone() {
    for (stack, file, sut) in [
        (&PTB, "stack-python-telegram-bot.toml", "ptb-polling"),
        (&GRAMMY, "stack-grammy.toml", "grammy-polling"),
        (&TELEGRAF, "stack-telegraf.toml", "telegraf-polling"),
    ] {
        if stack.prepare().is_some() {
            every_update_answered_once_over(file, &[sut], &[], true);
        }
    }
}

#[test]
fn python_telegram_bot_one_process_per_bot_answers_every_update_once() {
    let Some(()) = PTB.prepare() else { return };
    every_update_answered_once(
        "stack-python-telegram-bot-per-process.toml",
        &["ptb-per-process"],
        &[],
    );
}

#[test]
fn grammy_servers_answer_every_update_once() {
    let Some(()) = GRAMMY.prepare() else { return };
    every_update_answered_once(
        "stack-grammy.toml",
        &["grammy-polling", "grammy-webhook"],
        &[],
    );
}

#[test]
fn telegraf_servers_answer_every_update_once() {
    let Some(()) = TELEGRAF.prepare() else { return };
    every_update_answered_once(
        "stack-telegraf.toml",
        &["telegraf-polling", "telegraf-webhook"],
        &[],
    );
}

#[test]
fn teloxide_servers_answer_every_update_once() {
    TELOXIDE.prepare().expect("cargo builds it, or panics");
    // run.sh runs that binary as it is, without cargo.
    let binary = [(
        "TELOXIDE_EXAMPLE_BIN",
        teloxide_binary().display().to_string(),
    )];
    every_update_answered_once(
        "stack-teloxide.toml",
        &["teloxide-polling", "teloxide-webhook"],
        &binary,
    );
}

/// Every line a child printed on stderr so far.
fn collect_stderr(child: &mut std::process::Child) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let stderr = child.stderr.take().expect("piped stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

/// Waits up to `limit` for `done`, failing with `what` and the server's stderr.
fn wait_until(
    limit: Duration,
    what: &str,
    stderr: &Mutex<Vec<String>>,
    mut done: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            stderr.lock().unwrap().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGKILLs a process group when dropped: nothing is left behind when a test fails.
struct KillGroupOnDrop(u32);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0)])
            .stderr(Stdio::null())
            .status();
    }
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {sig} {pid}");
}

/// A Gunicorn sync worker SIGKILLed while its handler is in flight: the mock sees the
/// connection die without an answer, keeps the update pending and delivers it again; the
/// master forks a new worker; the update is answered exactly once.
#[test]
fn a_gunicorn_worker_killed_mid_request_loses_nothing() {
    let Some(()) = PTB.prepare() else { return };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = Mock::new(MockConfig {
        bots: 2,
        seed: 11,
        ..MockConfig::default()
    });
    let server = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        MockServer::start(mock.clone(), listener)
    });
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.txt");
    let text: String = mock
        .bots()
        .iter()
        .map(|b| format!("{}\n", b.token))
        .collect();
    std::fs::write(&tokens, text).unwrap();
    let listen = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().to_string()
    };

    let mut gunicorn = Command::new("bash")
        .process_group(0)
        .arg(repo().join("examples/python-telegram-bot/run.sh"))
        .args(["gunicorn", "--workers", "2"])
        .current_dir(repo())
        .env("TGBENCH_API_URL", server.base_url())
        .env("TGBENCH_TOKENS_FILE", &tokens)
        .env("TGBENCH_LISTEN", &listen)
        .env("TGBENCH_PUBLIC_URL", format!("http://{listen}"))
        .env("PTB_HANDLER_DELAY_MS", "1500")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gunicorn");
    let _cleanup = KillGroupOnDrop(gunicorn.id());
    let stderr = collect_stderr(&mut gunicorn);
    let health = format!("http://{listen}/health");
    wait_until(
        Duration::from_secs(60),
        "/health to answer 200",
        &stderr,
        || {
            runtime.block_on(async {
                reqwest::get(&health)
                    .await
                    .is_ok_and(|r| r.status().is_success())
            })
        },
    );

    let bot = mock.bots()[0].id;
    mock.inject(NewUpdate::message(bot, 4242, "still here?"))
        .unwrap();
    // The worker that took the delivery says so, with its pid, before it starts waiting.
    let mut worker = None;
    wait_until(
        Duration::from_secs(30),
        "the slow handler to start",
        &stderr,
        || {
            worker = stderr.lock().unwrap().iter().find_map(|l| {
                let pid = l.strip_prefix("slow handler: ")?.split(" in pid ").nth(1)?;
                pid.split(',').next()?.parse::<u32>().ok()
            });
            worker.is_some()
        },
    );
    let worker = worker.unwrap();
    signal(worker, "-KILL");

    wait_until(
        Duration::from_secs(60),
        "the update to be answered",
        &stderr,
        || mock.stats().updates.replied >= 1,
    );
    // Time for a second answer to show up, were the update answered twice.
    std::thread::sleep(Duration::from_millis(500));
    let stats = mock.stats();
    assert_eq!(stats.updates.injected, 1);
    assert_eq!(stats.updates.replied, 1);
    assert_eq!(stats.updates.duplicated, 0);
    assert!(
        stats.webhook.failed >= 1 && stats.webhook.retries >= 1,
        "the killed delivery failed and was delivered again: {:?} {:?}",
        stats.webhook,
        stats.updates
    );
    let sent = mock.sent(bot);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].chat_id, sent[0].text.as_str()),
        (4242, "still here?")
    );
    let handled_by: BTreeSet<String> = stderr
        .lock()
        .unwrap()
        .iter()
        .filter_map(|l| l.strip_prefix("slow handler: ").map(str::to_owned))
        .collect();
    assert!(handled_by.len() >= 2, "delivered twice: {handled_by:?}");

    // The master stops cleanly on SIGTERM, with its workers (in a few seconds: Gunicorn
    // gives workers 5 s, then Python tears down; slow only on a loaded machine).
    signal(gunicorn.id(), "-TERM");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = gunicorn.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "gunicorn still running 60 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "gunicorn exit after SIGTERM: {status}\n{}",
        stderr.lock().unwrap().join("\n")
    );
    runtime.block_on(server.shutdown());
}

/// What `tgbench claims --stack grammy,python-telegram-bot` measures: each framework set up
/// by its own script, and its scenario with commands that run from any folder.
#[test]
fn claims_stacks_are_set_up_and_their_commands_made_absolute() {
    use tgbench::claims::{ClaimsError, Stack as ClaimsStack, StackError, stack_scenario};
    for (stack, ours, first_sut) in [
        (ClaimsStack::Grammy, &GRAMMY, "grammy-polling"),
        (ClaimsStack::PythonTelegramBot, &PTB, "ptb-polling"),
    ] {
        // The test's own preparation says whether the toolchain is there (and fails under CI
        // when it is not); then the claims' setup must succeed too.
        let Some(()) = ours.prepare() else { continue };
        let (label, scn) = match stack_scenario(stack) {
            Ok(found) => found,
            Err(ClaimsError::Stack(StackError::Setup { status, .. })) => {
                panic!("{}: the claims' setup failed ({status})", ours.name)
            }
            Err(e) => panic!("{}: {e}", ours.name),
        };
        assert_eq!(label, ours.name);
        assert_eq!(scn.suts[0].name, first_sut);
        for sut in &scn.suts {
            let command = sut.command.as_ref().expect("a command SUT");
            assert_eq!(command[0], "bash", "{}", sut.name);
            let script = Path::new(&command[1]);
            assert!(
                script.is_absolute() && script.is_file(),
                "{}: {script:?}",
                sut.name
            );
        }
    }
}
