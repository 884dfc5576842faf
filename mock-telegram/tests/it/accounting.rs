//! The mock as the clock: exact counts, latency samples closed by replies, rate limits,
//! and the network-distance model.

use std::time::Duration;

use mock_telegram::{MockConfig, NewUpdate};
use serde_json::json;

use crate::support::{Harness, read};

fn no_limits() -> MockConfig {
    MockConfig {
        rate_limits: false,
        anti_spin: false,
        ..MockConfig::default()
    }
}

#[tokio::test]
async fn every_update_is_accounted_for_exactly() {
    let h = Harness::start(MockConfig {
        bots: 2,
        ..no_limits()
    })
    .await;
    for chat in 1..=5 {
        h.say(0, chat, "q");
    }
    h.say(1, 100, "other bot");
    let updates = h.ok(0, "getUpdates", json!({})).await;
    assert_eq!(updates.as_array().unwrap().len(), 5);
    // Replies to chats 1-4 (chat 5 never answered), and a second reply in chat 1.
    for chat in 1..=4 {
        h.ok(0, "sendMessage", json!({"chat_id": chat, "text": "a"}))
            .await;
    }
    h.ok(0, "sendMessage", json!({"chat_id": 1, "text": "again"}))
        .await;
    // Asked again without confirming: redelivered.
    h.ok(0, "getUpdates", json!({"limit": 2})).await;
    h.ok(0, "getUpdates", json!({"offset": 6})).await;

    let s = h.mock().stats();
    assert_eq!(s.updates.injected, 6);
    assert_eq!(s.updates.delivered, 5);
    assert_eq!(s.updates.redelivered, 2);
    assert_eq!(s.updates.replied, 4);
    assert_eq!(s.updates.duplicated, 1);
    assert_eq!(s.updates.unanswered, 2);
    assert_eq!(s.updates.pending, 1, "bot 1's update");
    assert_eq!(s.requests["getUpdates"], 3);
    assert_eq!(s.requests["sendMessage"], 5);
    assert_eq!(s.latency_ms.count, 4);
    assert_eq!(h.mock().latency_histogram().len(), 4);
    assert!(s.latency_ms.max < 5_000.0);
    assert_eq!(
        (s.get_updates.empty, s.get_updates.mean_batch),
        (1, (5.0 + 2.0) / 2.0)
    );
}

#[tokio::test]
async fn the_reply_log_keeps_each_first_reply_with_its_bot_update_and_latency() {
    let h = Harness::start(MockConfig {
        bots: 2,
        ..no_limits()
    })
    .await;
    h.say(0, 1, "before the log");
    h.ok(0, "sendMessage", json!({"chat_id": 1, "text": "a"}))
        .await;
    assert_eq!(
        h.mock().latency_histogram_and_log_len().1,
        0,
        "not kept yet"
    );
    h.mock().keep_reply_log();
    let past = std::time::Instant::now() - Duration::from_millis(300);
    let (a, b) = (h.bots[0].id, h.bots[1].id);
    let ua = h
        .mock()
        .inject(NewUpdate {
            due: Some(past),
            ..NewUpdate::message(a, 2, "late")
        })
        .unwrap();
    let ub = h.mock().inject(NewUpdate::message(b, 3, "b")).unwrap();
    h.ok(1, "sendMessage", json!({"chat_id": 3, "text": "b"}))
        .await;
    h.ok(0, "sendMessage", json!({"chat_id": 2, "text": "a"}))
        .await;
    // A second reply is a duplicate, not logged.
    h.ok(0, "sendMessage", json!({"chat_id": 2, "text": "again"}))
        .await;
    let (hist, len) = h.mock().latency_histogram_and_log_len();
    assert_eq!(
        (hist.len(), len),
        (3, 2),
        "the histogram counts the reply before the log"
    );
    let log = h.mock().reply_log(0, len);
    assert_eq!(
        log.iter()
            .map(|r| (r.bot_id, r.update_id))
            .collect::<Vec<_>>(),
        [(b, ub), (a, ua)]
    );
    assert!(log[1].latency_us >= 300_000, "{log:?}");
    assert_eq!(h.mock().reply_log(1, len), log[1..]);
}

#[tokio::test]
async fn a_reply_naming_a_message_closes_that_sample_and_callbacks_close_theirs() {
    let h = Harness::start(no_limits()).await;
    let bot = h.bots[0].id;
    h.say(0, 7, "first");
    let past = std::time::Instant::now() - Duration::from_millis(300);
    h.mock()
        .inject(NewUpdate {
            due: Some(past),
            ..NewUpdate::message(bot, 7, "second, due 300 ms ago")
        })
        .unwrap();
    // Reply to the second message (id 2) by reply_parameters: its sample closes at >= 300 ms.
    h.ok(
        0,
        "sendMessage",
        json!({"chat_id": 7, "text": "re 2", "reply_parameters": {"message_id": 2}}),
    )
    .await;
    let h1 = h.mock().latency_histogram();
    assert!(h1.max() >= 300_000, "max {} µs", h1.max());
    assert_eq!(h.mock().sent(bot)[0].update_id, Some(2));

    let cb = h
        .mock()
        .inject(NewUpdate::callback(bot, 7, "pressed"))
        .unwrap();
    let updates = h.ok(0, "getUpdates", json!({})).await;
    let query = updates
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["update_id"] == cb)
        .unwrap();
    let id = query["callback_query"]["id"].as_str().unwrap();
    assert_eq!(
        h.ok(0, "answerCallbackQuery", json!({"callback_query_id": id}))
            .await,
        true
    );
    let (_, bad) = h
        .call(
            0,
            "answerCallbackQuery",
            json!({"callback_query_id": "nope"}),
        )
        .await;
    assert_eq!(
        bad["description"],
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    );
    let s = h.mock().stats();
    assert_eq!(
        (s.updates.replied, s.updates.unanswered),
        (2, 1),
        "message 1 is still unanswered"
    );
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let h = Harness::start(MockConfig {
        anti_spin: false,
        ..MockConfig::default()
    })
    .await;
    h.say(0, 1, "hi");
    let mut statuses = Vec::new();
    let mut limited = None;
    for i in 0..5 {
        let r = h
            .http
            .post(h.url(0, "sendMessage"))
            .json(&json!({"chat_id": 1, "text": format!("m{i}")}))
            .send()
            .await
            .unwrap();
        let header = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let (status, body) = read(r).await;
        statuses.push(status);
        if status == 429 && limited.is_none() {
            limited = Some((header, body));
        }
    }
    assert_eq!(
        statuses,
        vec![200, 200, 200, 429, 429],
        "a burst of 3 per chat, then 1/s"
    );
    let (header, body) = limited.unwrap();
    assert_eq!(header.as_deref(), Some("1"));
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}})
    );
    assert_eq!(h.mock().stats().rate_limited, 2);
}

#[tokio::test]
async fn the_per_bot_limit_is_about_30_messages_a_second() {
    let h = Harness::start(MockConfig {
        anti_spin: false,
        ..MockConfig::default()
    })
    .await;
    for chat in 10..50 {
        h.say(0, chat, "hi");
    }
    let t0 = std::time::Instant::now();
    let mut ok = 0;
    for chat in 10..50 {
        let (status, _) = h
            .call(0, "sendMessage", json!({"chat_id": chat, "text": "x"}))
            .await;
        ok += usize::from(status == 200);
    }
    // A full bucket of 30, refilled at 30/s while the loop ran.
    let refill = (t0.elapsed().as_secs_f64() * 30.0).ceil() as usize;
    assert!(
        ok >= 30 && ok <= 30 + refill,
        "{ok} of 40 passed, refill {refill}"
    );
    assert_eq!(h.mock().stats().rate_limited as usize, 40 - ok);
}

#[tokio::test]
async fn rtt_delays_answers_as_the_distance_model_says() {
    // A long RTT, so that the model's figures (1 RTT a call, 1.5 an echo) stand half an RTT
    // (1 s) away from their alternatives (0.5 or 2 RTT), whatever else the machine does.
    let rtt = Duration::from_secs(2);
    let h = Harness::start(MockConfig { rtt, ..no_limits() }).await;
    let t0 = std::time::Instant::now();
    h.ok(0, "getMe", json!({})).await;
    let one_call = t0.elapsed();
    assert!(one_call >= rtt && one_call < rtt * 3 / 2, "{one_call:?}");

    // An echo by long polling: woken poll answers after rtt/2, sendMessage is held one rtt.
    let poll = h.spawn_call(0, "getUpdates", json!({"timeout": 10}));
    h.held_polls(1).await;
    h.say(0, 1, "ping");
    let (_, got) = tokio::time::timeout(crate::support::WAIT, poll)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got["result"][0]["message"]["text"], "ping");
    h.ok(0, "sendMessage", json!({"chat_id": 1, "text": "pong"}))
        .await;
    let s = h.mock().stats();
    assert!(
        s.latency_ms.p50 >= 2_990.0 && s.latency_ms.p50 < 3_500.0,
        "echo took {} ms, expected 3,000 (1.5 RTT)",
        s.latency_ms.p50
    );
}
