//! Where the latency goes: every reply's latency splits into *in Telegram* (due → handed
//! out) and *delivery to reply* (handed out → reply), by polling and by webhook, over HTTP.

use std::time::{Duration, Instant};

use mock_telegram::{Mock, MockConfig, NewUpdate, ReplySample, RetrySchedule};
use serde_json::json;

use crate::support::{Answer, Harness, Receiver, eventually};

const MS: u64 = 1_000;

/// The reply log, and the three histograms' counts and sums agreeing with it.
fn replies_adding_up(mock: &Mock, n: usize) -> Vec<ReplySample> {
    let (h, len) = mock.latencies_and_log_len();
    assert_eq!(len, n, "replies logged");
    let log = mock.reply_log(0, len);
    for hist in [&h.total, &h.in_telegram, &h.delivery_to_reply] {
        assert_eq!(
            hist.len(),
            n as u64,
            "one value per reply in each histogram"
        );
    }
    // HdrHistogram keeps 3 significant figures: the means agree within that rounding.
    let sum = |hist: &hdrhistogram::Histogram<u64>| hist.mean() * hist.len() as f64;
    let (total, parts) = (
        sum(&h.total),
        sum(&h.in_telegram) + sum(&h.delivery_to_reply),
    );
    assert!(
        (total - parts).abs() <= total * 2e-3,
        "parts {parts} µs vs total {total} µs"
    );
    let exact: u64 = log.iter().map(|r| r.latency_us).sum();
    assert!((total - exact as f64).abs() <= exact as f64 * 2e-3);
    let s = mock.stats();
    assert_eq!(s.latency_split.in_telegram.count, n as u64);
    assert_eq!(s.latency_split.delivery_to_reply.count, n as u64);
    log
}

#[tokio::test]
async fn polling_latency_splits_at_the_get_updates_answer_that_carried_the_update() {
    let h = Harness::start(MockConfig {
        rtt: Duration::from_millis(40),
        rate_limits: false,
        anti_spin: false,
        ..MockConfig::default()
    })
    .await;
    h.mock().keep_reply_log();
    let bot = h.bots[0].id;
    let due = Instant::now() - Duration::from_millis(300);
    for chat in 1..=3 {
        h.mock()
            .inject(NewUpdate {
                due: Some(due),
                ..NewUpdate::message(bot, chat, "q")
            })
            .unwrap();
    }
    let first = h.ok(0, "getUpdates", json!({})).await;
    assert_eq!(first.as_array().unwrap().len(), 3);
    // Chat 1's update is handed out again (not confirmed) 100 ms later: its latest
    // hand-out is the one the bot acts on.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again = h.ok(0, "getUpdates", json!({"limit": 1})).await;
    assert_eq!(again.as_array().unwrap().len(), 1);
    let handed_again = Instant::now();
    // The bot "works" 200 ms, then replies.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for chat in 1..=3 {
        h.ok(0, "sendMessage", json!({"chat_id": chat, "text": "a"}))
            .await;
    }
    let log = replies_adding_up(h.mock(), 3);
    for r in &log {
        // Due 300 ms ago, answered after the emulated RTT (40 ms) at least.
        assert!(r.in_telegram_us >= 340 * MS, "{r:?}");
        assert!(r.latency_us - r.in_telegram_us >= 200 * MS, "{r:?}");
    }
    let chat1 = &log[0];
    assert!(
        chat1.in_telegram_us >= 440 * MS,
        "re-handed 100 ms later: {chat1:?}"
    );
    assert!(
        chat1.in_telegram_us <= handed_again.duration_since(due).as_micros() as u64,
        "{chat1:?}"
    );
    assert!(log[1].in_telegram_us < 440 * MS, "{log:?}");
}

#[tokio::test]
async fn webhook_latency_splits_at_the_post_the_bot_answered() {
    let h = Harness::start(MockConfig {
        retry: RetrySchedule::compressed(0.01),
        rate_limits: false,
        ..MockConfig::default()
    })
    .await;
    h.mock().keep_reply_log();
    let chat = 5;
    // The first POST fails; the retry is answered with the reply in the response.
    let r = Receiver::start(vec![
        Answer::Status(500),
        Answer::Json(json!({"method": "sendMessage", "chat_id": chat, "text": "re"})),
    ])
    .await;
    h.ok(0, "setWebhook", json!({"url": r.url()})).await;
    let due = Instant::now();
    h.mock()
        .inject(NewUpdate {
            due: Some(due),
            ..NewUpdate::message(h.bots[0].id, chat, "q")
        })
        .unwrap();
    let got = r.wait_for(2).await;
    eventually("the reply in the response", || {
        h.mock().stats().updates.replied == 1
    })
    .await;
    let log = replies_adding_up(h.mock(), 1);
    let since_due = |t: tokio::time::Instant| t.into_std().duration_since(due).as_micros() as u64;
    let in_telegram = log[0].in_telegram_us;
    assert!(
        since_due(got[0].at) < in_telegram && in_telegram <= since_due(got[1].at),
        "handed out by the retry, not the failed POST: {in_telegram} µs, POSTs at {} and {} µs",
        since_due(got[0].at),
        since_due(got[1].at)
    );
    assert_eq!(h.mock().stats().webhook.retries, 1);
}
