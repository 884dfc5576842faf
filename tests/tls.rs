//! `[telegram] tls = true` end to end: the mock serves the Bot API over HTTPS with a
//! certificate of a test CA made for the run, the reference servers trust it through the
//! SUT environment alone (`TGBENCH_CA_FILE`), the webhook server serves HTTPS with the
//! certificate tgbench issued it (`TGBENCH_TLS_CERT`/`TGBENCH_TLS_KEY`), every message is
//! answered, and the handshakes on each side are in the results. (The mock serves only
//! HTTPS in such a run: a reply that arrived came over TLS.)

use tgbench_reports::results::Results;

use crate::sim_support::{binaries, read_results, run_in_process, scenario_file};

/// Five bots over HTTPS, a message each a second for 3 s, no warm-up (the webhook's first
/// connection is opened in the window), every message answered; the SUTs follow.
const TLS_HEAD: &str = r#"
duration_s = 3
warmup_s = 0
drain_s = 10
seed = 7

[telegram]
bots = 5
rtt_ms = 10
tls = true

[load]
model = "constant"
messages_per_bot_per_min = 60

[slo]
max_lost = 0
"#;

const REFERENCE_SUTS: &str = r#"
[[sut]]
name = "polling"
kind = "polling"
args = ["--poll-timeout", "10"]
ready_timeout_s = 15

[[sut]]
name = "webhook"
kind = "webhook"
ready_timeout_s = 15

[[sut]]
name = "webhook-plain"
kind = "webhook"
ready_timeout_s = 15
telegram = { tls = false }
"#;

/// Runs scenario `text` (named `name`) in this process; checks it passed, was over HTTPS,
/// ran `suts` in order and answered every message of each.
fn run_answering_everything(name: &str, text: &str, suts: &[&str]) -> Results {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario_file(dir.path(), name, text);
    let out = dir.path().join("out");
    let code = run_in_process(&scenario, &out);
    let r = read_results(&out);
    let summary: Vec<_> = r
        .runs
        .iter()
        .map(|x| (&x.sut.name, &x.updates, &x.slo))
        .collect();
    assert_eq!(code, 0, "{summary:#?}");
    assert!(r.scenario.telegram.tls);
    let names: Vec<&str> = r.runs.iter().map(|x| x.sut.name.as_str()).collect();
    assert_eq!(names, suts);
    for run in &r.runs {
        let who = &run.sut.name;
        assert!(run.updates.injected > 0, "{who}");
        assert_eq!(
            run.updates.replied, run.updates.injected,
            "{who}: every message answered"
        );
    }
    r
}

#[test]
fn the_reference_servers_run_over_https_on_both_sides_trusting_the_run_ca_by_env() {
    binaries();
    let r = run_answering_everything(
        "tls-smoke",
        &format!("name = \"tls-smoke\"\n{TLS_HEAD}{REFERENCE_SUTS}"),
        &["polling", "webhook", "webhook-plain"],
    );
    let handshakes = |i: usize| r.runs[i].tls.as_ref().map(|t| t.handshakes);
    // Connections made while the SUT started (getMe, setWebhook, the first long polls) stay
    // open, kept alive: the window counts only the ones opened in it, fewer than requests.
    let polling = handshakes(0).expect("polling over TLS");
    assert!(
        polling.bot_api < r.runs[0].requests.total,
        "connections are reused: {polling:?} for {} requests",
        r.runs[0].requests.total
    );
    assert_eq!(polling.webhook, 0, "{polling:?}");
    // No warm-up: the first delivery opens the mock's first connection to the SUT in the
    // window, over TLS; later ones reuse it (one update at a time per chat, 5 chats).
    let webhook = handshakes(1).expect("webhook over TLS");
    let deliveries = r.runs[1].requests.by_method["webhook"];
    assert!(
        (1..deliveries).contains(&webhook.webhook),
        "{webhook:?} for {deliveries} deliveries"
    );
    assert_eq!(
        handshakes(2),
        None,
        "[sut.telegram] tls = false: plain HTTP"
    );
}

/// aiogram, unmodified but for its shared session's one addition (aiogram pins certifi's
/// roots, so `SSL_CERT_FILE` cannot reach it: the session adds `TGBENCH_CA_FILE`), polls and
/// serves its webhook over HTTPS with what the environment hands it. Skips without the
/// aiogram venv outside CI, like tests/aiogram.rs.
#[test]
fn aiogram_runs_over_https_with_the_ca_and_certificate_from_its_environment() {
    if crate::aiogram::venv_python().is_none() {
        return;
    }
    let suts = r#"
[[sut]]
name = "aiogram-polling"
kind = "command"
command = ["bash", "examples/aiogram/run.sh", "polling_server.py"]
ready = "polling"
ready_timeout_s = 180

[[sut]]
name = "aiogram-webhook"
kind = "command"
command = ["bash", "examples/aiogram/run.sh", "webhook_server.py"]
ready = "webhook"
ready_timeout_s = 180
"#;
    let text = format!("name = \"tls-aiogram\"\n{TLS_HEAD}{suts}");
    let r = run_answering_everything(
        "tls-aiogram",
        &text,
        &["aiogram-polling", "aiogram-webhook"],
    );
    assert!(r.runs.iter().all(|x| x.tls.is_some()));
    let webhook = r.runs[1].tls.as_ref().unwrap().handshakes;
    assert!(
        webhook.webhook >= 1,
        "deliveries to aiogram over HTTPS: {webhook:?}"
    );
}
