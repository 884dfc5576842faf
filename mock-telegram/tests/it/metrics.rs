//! `GET /metrics` over HTTP: the series read what the mock counted (requests by method and
//! status, the fate of updates, held polls, webhook outcomes and retries, 429s by cause,
//! the latency histogram), both exposition formats (the Prometheus text one checked by
//! `promtool check metrics`), and the control token.
//!
//! promtool ships in Debian's `prometheus` package (installed by .ci/setup). Without it the
//! promtool check prints why and passes as skipped, unless `CI` is set.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use mock_telegram::{Fault, MockConfig, RetrySchedule};
use serde_json::json;

use crate::support::{Answer, Harness, Receiver, eventually, send};

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
/// What Prometheus 2.x sends: OpenMetrics first, the text format as a fallback.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// GETs /metrics with an Accept header (and a bearer token); returns (status, content type, body).
async fn scrape(h: &Harness, accept: &str, token: Option<&str>) -> (u16, String, String) {
    let mut request = h
        .http
        .get(format!("{}/metrics", h.server.base_url()))
        .header("accept", accept);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// Every sample of an exposition: `name{labels}` → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_string(), value.parse().unwrap())
        })
        .collect()
}

fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no sample {series} in {samples:#?}"))
}

#[tokio::test]
async fn metrics_read_what_the_mock_counted() {
    let h = Harness::start(MockConfig {
        bots: 2,
        retry: RetrySchedule::compressed(0.01),
        ..MockConfig::default()
    })
    .await;

    // Bot 0 polls: one update delivered and answered, then replies until the chat's rate
    // limit (burst 3) answers 429, and one reply to a chat that does not exist (400).
    h.say(0, 5, "hello");
    let got = h.ok(0, "getUpdates", json!({})).await;
    assert_eq!(got.as_array().unwrap().len(), 1);
    let mut sent_ok = 0;
    let mut rate_limited = 0;
    while rate_limited == 0 {
        let (status, _) = h
            .call(0, "sendMessage", json!({"chat_id": 5, "text": "reply"}))
            .await;
        match status {
            200 => sent_ok += 1,
            429 => rate_limited += 1,
            other => panic!("sendMessage answered {other}"),
        }
        assert!(sent_ok <= 3, "the chat's burst is 3");
    }
    let (status, _) = h
        .call(0, "sendMessage", json!({"chat_id": 999, "text": "nobody"}))
        .await;
    assert_eq!(status, 400);

    // Bot 1 has a webhook whose first POST fails: one failed delivery, one retry, one ok.
    let receiver = Receiver::start(vec![Answer::Status(500)]).await;
    h.ok(1, "setWebhook", json!({"url": receiver.url()})).await;
    h.say(1, 7, "to the webhook");
    receiver.wait_for(2).await;
    eventually("the webhook delivery to succeed", || {
        h.mock().stats().webhook.ok == 1
    })
    .await;

    // A fault answers every call 500 or 429: count getMe's answers until both were seen.
    h.mock().set_fault(Fault::Errors { rate: 1.0 });
    let (mut internal, mut fault_429) = (0, 0);
    while internal == 0 || fault_429 == 0 {
        match h.call(0, "getMe", json!({})).await.0 {
            500 => internal += 1,
            429 => fault_429 += 1,
            other => panic!("getMe under the fault answered {other}"),
        }
        assert!(internal + fault_429 < 200, "a fair coin");
    }
    h.mock().set_fault(Fault::None);

    // A long poll held now.
    let poll = h.spawn_call(0, "getUpdates", json!({"offset": 2, "timeout": 50}));
    h.held_polls(1).await;

    let (status, content_type, text) = scrape(&h, PROMETHEUS_ACCEPT, None).await;
    assert_eq!((status, content_type.as_str()), (200, OPENMETRICS));
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(text.contains("# UNIT tgbench_reply_latency_seconds seconds\n"));
    let s = samples(&text);
    let stats = h.mock().stats();

    assert_eq!(value(&s, "tgbench_updates_injected_total"), 2.0);
    assert_eq!(value(&s, "tgbench_updates_delivered_total"), 2.0);
    assert_eq!(value(&s, "tgbench_updates_replied_total"), 1.0);
    assert_eq!(
        value(&s, "tgbench_updates_duplicated_total"),
        (sent_ok - 1) as f64
    );
    assert_eq!(value(&s, "tgbench_updates_unanswered"), 1.0);
    assert_eq!(value(&s, "tgbench_updates_pending"), 0.0);
    let requests = |method: &str, status: u16| {
        value(
            &s,
            &format!("tgbench_bot_api_requests_total{{method=\"{method}\",status=\"{status}\"}}"),
        )
    };
    assert_eq!(requests("sendMessage", 200), sent_ok as f64);
    assert_eq!(requests("sendMessage", 429), rate_limited as f64);
    assert_eq!(requests("sendMessage", 400), 1.0);
    assert_eq!(requests("getMe", 500), internal as f64);
    assert_eq!(requests("getMe", 429), fault_429 as f64);
    assert_eq!(requests("getUpdates", 200), 1.0);
    assert_eq!(requests("setWebhook", 200), 1.0);
    let all_requests: f64 = s
        .iter()
        .filter(|(k, _)| k.starts_with("tgbench_bot_api_requests_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(
        all_requests,
        stats.requests.values().sum::<u64>() as f64,
        "every counted call, once"
    );
    assert_eq!(
        value(&s, "tgbench_too_many_requests_total{cause=\"rate_limit\"}"),
        rate_limited as f64
    );
    assert_eq!(
        value(&s, "tgbench_too_many_requests_total{cause=\"fault\"}"),
        fault_429 as f64
    );
    assert_eq!(value(&s, "tgbench_polls_held"), 1.0);
    assert_eq!(value(&s, "tgbench_webhook_deliveries_in_flight"), 0.0);
    assert_eq!(
        value(&s, "tgbench_webhook_deliveries_total{outcome=\"ok\"}"),
        1.0
    );
    assert_eq!(
        value(&s, "tgbench_webhook_deliveries_total{outcome=\"failed\"}"),
        1.0
    );
    assert_eq!(value(&s, "tgbench_webhook_retries_total"), 1.0);

    // The one reply's latency: counted once, in every bucket from its own up to +Inf.
    assert_eq!(value(&s, "tgbench_reply_latency_seconds_count"), 1.0);
    assert_eq!(
        value(&s, "tgbench_reply_latency_seconds_bucket{le=\"+Inf\"}"),
        1.0
    );
    let latency_s = stats.latency_ms.max / 1000.0;
    let sum = value(&s, "tgbench_reply_latency_seconds_sum");
    assert!(
        (sum - latency_s).abs() <= latency_s * 0.01 + 1e-6,
        "{sum} vs {latency_s}"
    );
    for bound in mock_telegram::metrics::LATENCY_BUCKETS_S {
        let le = format!("{bound:?}");
        let n = value(
            &s,
            &format!("tgbench_reply_latency_seconds_bucket{{le=\"{le}\"}}"),
        );
        assert_eq!(n, if latency_s <= bound { 1.0 } else { 0.0 }, "le={le}");
    }

    h.server.shutdown().await;
    let _ = poll.await;
}

/// promtool, or None (after saying why) when it is missing and `CI` is not set.
fn promtool() -> Option<&'static str> {
    let found = Command::new("promtool")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some("promtool");
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set, so promtool must be installed (Debian's prometheus package, .ci/setup)"
    );
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED promtool check: promtool not found (apt-get install prometheus; set CI to make this fatal)"
    );
    None
}

#[tokio::test]
async fn the_prometheus_text_format_passes_promtool() {
    let h = Harness::one_bot().await;
    h.say(0, 5, "hello");
    h.ok(0, "getUpdates", json!({})).await;
    h.ok(0, "sendMessage", json!({"chat_id": 5, "text": "hi"}))
        .await;
    let (status, content_type, text) =
        scrape(&h, "text/plain;version=0.0.4;q=0.5,*/*;q=0.1", None).await;
    assert_eq!((status, content_type.as_str()), (200, PROMETHEUS_TEXT));
    assert!(
        !text.contains("# EOF") && !text.contains("# UNIT"),
        "{text}"
    );
    assert!(text.contains("# TYPE tgbench_updates_replied_total counter\n"));
    assert_eq!(
        samples(&text)["tgbench_updates_replied_total"],
        1.0,
        "same samples as OpenMetrics"
    );
    // Without an Accept header: OpenMetrics.
    let response = h
        .http
        .get(format!("{}/metrics", h.server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], OPENMETRICS);

    let Some(promtool) = promtool() else { return };
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_control_token_guards_metrics() {
    let h = Harness::start(MockConfig {
        control_token: Some("letmein".into()),
        ..MockConfig::default()
    })
    .await;
    let (status, _, body) = scrape(&h, PROMETHEUS_ACCEPT, None).await;
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains("tgbench_"), "{body}");
    let (status, _, _) = scrape(&h, PROMETHEUS_ACCEPT, Some("wrong")).await;
    assert_eq!(status, 401);
    let (status, content_type, body) = scrape(&h, PROMETHEUS_ACCEPT, Some("letmein")).await;
    assert_eq!((status, content_type.as_str()), (200, OPENMETRICS));
    assert!(
        body.contains("tgbench_updates_injected_total 0\n"),
        "{body}"
    );
    let (status, _) = send(
        h.http
            .get(format!("{}/metrics?token=letmein", h.server.base_url())),
    )
    .await;
    assert_eq!(status, 200);
}
