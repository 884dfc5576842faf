//! Telegram's behaviours read from the open-source Bot API server (tdlib/telegram-bot-api),
//! over real HTTP: getUpdates batching, throttled 409s, update expiry, the webhook slow
//! start.

use std::time::{Duration, Instant};

use mock_telegram::{MockConfig, RetrySchedule};
use serde_json::json;

use crate::support::{Answer, Harness, Receiver, WAIT, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_woken_long_poll_waits_a_moment_and_takes_the_updates_that_follow() {
    let h = Harness::one_bot().await;
    let poll = h.spawn_call(0, "getUpdates", json!({"timeout": 30}));
    h.held_polls(1).await;
    let t0 = Instant::now();
    h.say(0, 1, "first");
    h.say(0, 2, "second");
    let (status, body) = tokio::time::timeout(WAIT, poll).await.unwrap().unwrap();
    let answered = t0.elapsed();
    assert_eq!(status, 200);
    let texts: Vec<&str> = body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["message"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["first", "second"], "one batch");
    // Telegram answers 1 ms after the last update at the earliest.
    assert!(answered >= Duration::from_millis(1), "{answered:?}");
}

#[tokio::test]
async fn only_one_409_per_three_seconds_is_answered_at_once() {
    let h = Harness::one_bot().await;
    let first = h.spawn_call(0, "getUpdates", json!({"timeout": 30}));
    h.held_polls(1).await;
    let second = h.spawn_call(0, "getUpdates", json!({"timeout": 30}));
    let (status, _) = tokio::time::timeout(WAIT, first).await.unwrap().unwrap();
    assert_eq!(status, 409);
    h.held_polls(1).await;
    // A third poll ends the second: that 409 comes 3 s late.
    let t0 = Instant::now();
    let third = h.spawn_call(0, "getUpdates", json!({"timeout": 30}));
    let (status, body) = tokio::time::timeout(WAIT, second).await.unwrap().unwrap();
    let late = t0.elapsed();
    assert_eq!(status, 409, "{body}");
    assert!(
        late >= Duration::from_millis(2_900),
        "answered after {late:?}"
    );
    h.say(0, 1, "for the third");
    let (status, body) = tokio::time::timeout(WAIT, third).await.unwrap().unwrap();
    assert_eq!(status, 200);
    assert_eq!(body["result"][0]["message"]["text"], "for the third");
    assert_eq!(h.mock().stats().get_updates.conflicts, 2);
}

#[tokio::test]
async fn updates_not_fetched_in_time_expire() {
    let h = Harness::start(MockConfig {
        update_expiry: Duration::from_millis(200),
        ..MockConfig::default()
    })
    .await;
    h.say(0, 1, "too old by the time it is fetched");
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.say(0, 2, "fresh");
    let got = h.ok(0, "getUpdates", json!({})).await;
    assert_eq!(got.as_array().unwrap().len(), 1, "{got}");
    assert_eq!(got[0]["message"]["text"], "fresh");
    let s = h.mock().stats();
    assert_eq!((s.updates.dropped, s.updates.delivered), (1, 1));
}

#[tokio::test]
async fn a_webhook_that_never_answers_loses_its_updates_when_they_expire() {
    let h = Harness::start(MockConfig {
        update_expiry: Duration::from_millis(500),
        retry: RetrySchedule::compressed(0.01),
        ..MockConfig::default()
    })
    .await;
    let url = crate::support::refused_url().await;
    h.ok(0, "setWebhook", json!({"url": url})).await;
    h.say(0, 1, "nobody home");
    eventually("the update to expire", || {
        h.mock().stats().updates.dropped == 1
    })
    .await;
    let info = h.ok(0, "getWebhookInfo", json!({})).await;
    assert_eq!(info["pending_update_count"], 0);
    // The error stays reported after the update is gone.
    assert_eq!(info["last_error_message"], "Connection refused");
    assert_eq!(info["ip_address"], "127.0.0.1");
    assert!(h.mock().stats().webhook.failed >= 1);
}

/// Ten chats wait; the receiver takes 300 ms per POST.
async fn ten_slow_chats(ramp: bool) -> (Harness, Receiver) {
    let h = Harness::start(MockConfig {
        webhook_ramp: ramp,
        ..MockConfig::default()
    })
    .await;
    let r = Receiver::start(vec![Answer::Slow(Duration::from_millis(300)); 10]).await;
    for chat in 1..=10 {
        h.say(0, chat, "hi");
    }
    h.ok(
        0,
        "setWebhook",
        json!({"url": r.url(), "max_connections": 10}),
    )
    .await;
    (h, r)
}

#[tokio::test]
async fn a_new_webhook_starts_on_one_connection_and_widens_after_the_first_success() {
    let (h, r) = ten_slow_chats(true).await;
    let got = r.wait_for(2).await;
    // The second POST waits for the first to succeed.
    let gap = got[1].at - got[0].at;
    assert!(
        gap >= Duration::from_millis(250),
        "second POST after {gap:?}"
    );
    eventually("all ten delivered", || h.mock().stats().webhook.ok == 10).await;
    // Then the other nine go out together.
    assert!(r.peak() >= 5, "peak {} in flight", r.peak());
}

#[tokio::test]
async fn without_the_slow_start_every_connection_is_used_at_once() {
    let (h, r) = ten_slow_chats(false).await;
    eventually("all ten delivered", || h.mock().stats().webhook.ok == 10).await;
    assert_eq!(r.peak(), 10);
}

/// Regression: each of five POSTs that failed together counted as one more consecutive
/// failure, so one bad moment backed the bot off as five (16 s on Telegram's schedule
/// instead of none); Telegram backs off each update on its own.
#[tokio::test]
async fn posts_that_fail_together_back_the_bot_off_once() {
    let h = Harness::start(MockConfig {
        webhook_ramp: false,
        ..MockConfig::default()
    })
    .await;
    let r = Receiver::start(vec![Answer::Status(500); 5]).await;
    for chat in 1..=5 {
        h.say(0, chat, "hi");
    }
    h.ok(
        0,
        "setWebhook",
        json!({"url": r.url(), "max_connections": 10}),
    )
    .await;
    // Telegram's real schedule: after one failure at once, after five 16 s later.
    eventually("all five delivered after one round of failures", || {
        h.mock().stats().webhook.ok == 5
    })
    .await;
    assert_eq!(h.mock().stats().webhook.failed, 5);
}
