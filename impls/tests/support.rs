//! Helpers shared by the test modules.

use std::time::Duration;

use tgbench_impls::{
    backoff::Backoff,
    client::{Api, ApiConfig},
    platform::PlatformOpts,
    token::BotToken,
};

/// A token that looks real: `<id>:<35 chars>`.
pub fn token(id: i64) -> BotToken {
    let secret: String = format!("{id:0>35}").chars().rev().take(35).collect();
    BotToken::parse(&format!("{id}:AAH{}", &secret[3..])).unwrap()
}

/// Short back-off for tests: 20 ms doubling to 80 ms.
pub const FAST: Backoff = Backoff {
    base: Duration::from_millis(20),
    cap: Duration::from_millis(80),
};

pub fn fast_api(base: &str, max_attempts: u32) -> Api {
    Api::new(
        base,
        ApiConfig {
            backoff: FAST,
            max_attempts,
            request_timeout: Duration::from_secs(5),
            long_poll_margin: Duration::from_secs(2),
            ..ApiConfig::default()
        },
    )
    .unwrap()
}

/// Platform flags with the test back-off.
pub fn fast_platform_opts() -> PlatformOpts {
    PlatformOpts {
        backoff_base_ms: FAST.base.as_millis() as u64,
        backoff_cap_ms: FAST.cap.as_millis() as u64,
        max_attempts: 4,
        shutdown_grace_s: 5,
        ..PlatformOpts::default()
    }
}

pub fn ok(result: serde_json::Value) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(200)
        .set_body_json(serde_json::json!({"ok": true, "result": result}))
}

pub fn err(code: u16, description: &str) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(code).set_body_json(
        serde_json::json!({"ok": false, "error_code": code, "description": description}),
    )
}

/// Requests wiremock received whose path ends with `/method`.
pub async fn count(server: &wiremock::MockServer, method: &str) -> usize {
    let suffix = format!("/{method}");
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with(&suffix))
        .count()
}

/// Starts a reference server binary (`command`, its arguments and environment set) with its
/// output piped and killed on drop, and reads its ready line, the one line it prints on
/// stdout (within 20 s; empty when stdout closes first). Stderr stays piped for
/// [`sigterm_and_wait`].
pub async fn spawn_until_ready(
    mut command: tokio::process::Command,
) -> (tokio::process::Child, String) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), stdout.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap_or_default();
    (child, line)
}

/// SIGTERM to a server process, then its exit and output (within 20 s).
pub async fn sigterm_and_wait(child: tokio::process::Child) -> std::process::Output {
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .unwrap()
        .unwrap()
}
