//! getUpdates over real HTTP: offsets, limits, long polls, both 409s, anti-spin,
//! allowed_updates.

use std::time::{Duration, Instant};

use mock_telegram::{MockConfig, NewUpdate};
use serde_json::{Value, json};

use crate::support::{Harness, WAIT};

fn ids(result: &Value) -> Vec<i64> {
    result
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["update_id"].as_i64().unwrap())
        .collect()
}

fn no_spin() -> MockConfig {
    MockConfig {
        anti_spin: false,
        ..MockConfig::default()
    }
}

#[tokio::test]
async fn limit_offset_and_negative_offset() {
    let h = Harness::start(no_spin()).await;
    let sent: Vec<i64> = (0..6).map(|i| h.say(0, 10 + i, &format!("m{i}"))).collect();
    assert_eq!(sent, vec![1, 2, 3, 4, 5, 6]);

    let first = h.ok(0, "getUpdates", json!({"limit": 2})).await;
    assert_eq!(ids(&first), vec![1, 2]);
    assert_eq!(first[0]["message"]["text"], "m0");
    assert_eq!(first[0]["message"]["chat"]["type"], "private");
    assert_eq!(first[0]["message"]["from"]["is_bot"], false);
    // Not confirmed yet: the same again.
    assert_eq!(
        ids(&h.ok(0, "getUpdates", json!({"limit": 2})).await),
        vec![1, 2]
    );
    // offset confirms every lower id.
    assert_eq!(
        ids(&h
            .ok(0, "getUpdates", json!({"offset": 3, "limit": 2}))
            .await),
        vec![3, 4]
    );
    // limit is clamped to 1..=100.
    assert_eq!(
        ids(&h
            .ok(0, "getUpdates", json!({"offset": 3, "limit": 0}))
            .await),
        vec![3]
    );
    assert_eq!(
        ids(&h
            .ok(0, "getUpdates", json!({"offset": 3, "limit": 1000}))
            .await),
        vec![3, 4, 5, 6]
    );
    // A negative offset keeps the last N and forgets the rest.
    assert_eq!(
        ids(&h.ok(0, "getUpdates", json!({"offset": -2})).await),
        vec![5, 6]
    );
    assert_eq!(ids(&h.ok(0, "getUpdates", json!({})).await), vec![5, 6]);
    assert_eq!(
        ids(&h.ok(0, "getUpdates", json!({"offset": 7})).await),
        Vec::<i64>::new()
    );

    let s = h.mock().stats();
    assert_eq!(s.updates.injected, 6);
    assert_eq!(s.updates.delivered, 6);
    assert_eq!(s.updates.pending, 0);
    assert_eq!(
        s.updates.dropped, 2,
        "updates 3 and 4 were forgotten by offset -2"
    );
    assert_eq!(s.get_updates.calls, 8);
    assert_eq!(s.get_updates.empty, 1);
}

#[tokio::test]
async fn long_poll_is_woken_by_an_update_not_by_its_timeout() {
    let h = Harness::one_bot().await;
    let poll = h.spawn_call(0, "getUpdates", json!({"timeout": 30}));
    h.held_polls(1).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let injected_at = Instant::now();
    h.say(0, 1, "wake up");
    let (_, body) = tokio::time::timeout(WAIT, poll).await.unwrap().unwrap();
    // Woken at once (milliseconds); the alternative is the 30 s timeout.
    let took = injected_at.elapsed();
    assert!(took < Duration::from_secs(5), "woken after {took:?}");
    assert_eq!(body["result"][0]["message"]["text"], "wake up");
    let s = h.mock().stats();
    assert_eq!(s.get_updates.in_flight, 0);
    assert!(s.get_updates.held_ms_mean >= 50.0, "{:?}", s.get_updates);
}

#[tokio::test]
async fn long_poll_times_out_empty() {
    let h = Harness::one_bot().await;
    let t0 = Instant::now();
    let result = h.ok(0, "getUpdates", json!({"timeout": 1})).await;
    assert_eq!(result, json!([]));
    assert!(
        t0.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(h.mock().stats().get_updates.empty, 1);
}

#[tokio::test]
async fn second_get_updates_ends_the_first_with_409() {
    let h = Harness::one_bot().await;
    let first = h.spawn_call(0, "getUpdates", json!({"timeout": 30}));
    h.held_polls(1).await;
    let second = h.spawn_call(0, "getUpdates", json!({"timeout": 30}));
    let (status, body) = tokio::time::timeout(WAIT, first).await.unwrap().unwrap();
    assert_eq!(status, 409);
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 409, "description": "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"})
    );
    h.say(0, 1, "for the second");
    let (status, body) = tokio::time::timeout(WAIT, second).await.unwrap().unwrap();
    assert_eq!(status, 200);
    assert_eq!(body["result"][0]["message"]["text"], "for the second");
    assert_eq!(h.mock().stats().get_updates.conflicts, 1);
}

#[tokio::test]
async fn set_webhook_ends_a_long_poll_and_blocks_get_updates_until_deleted() {
    let h = Harness::one_bot().await;
    let poll = h.spawn_call(0, "getUpdates", json!({"timeout": 30}));
    h.held_polls(1).await;
    let receiver = crate::support::Receiver::start(vec![]).await;
    h.ok(0, "setWebhook", json!({"url": receiver.url()})).await;
    let (status, body) = tokio::time::timeout(WAIT, poll).await.unwrap().unwrap();
    assert_eq!(
        (status, body["description"].as_str()),
        (409, Some("Conflict: terminated by setWebhook request"))
    );

    let (status, body) = h.call(0, "getUpdates", json!({})).await;
    assert_eq!(status, 409);
    assert_eq!(
        body["description"],
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
    );
    h.ok(0, "deleteWebhook", json!({})).await;
    assert_eq!(h.ok(0, "getUpdates", json!({})).await, json!([]));
}

#[tokio::test]
async fn anti_spin_holds_a_repeated_short_poll_and_limits_a_quick_repeat() {
    let h = Harness::one_bot().await;
    // An empty short poll, then the same offset again at once: held as if timeout were 3 s,
    // so an update 200 ms later is answered then, not an empty list at once.
    assert_eq!(
        h.ok(0, "getUpdates", json!({"timeout": 0})).await,
        json!([])
    );
    let t0 = Instant::now();
    let repeat = h.spawn_call(0, "getUpdates", json!({"timeout": 0}));
    tokio::time::sleep(Duration::from_millis(200)).await;
    h.say(0, 1, "late");
    let (_, body) = tokio::time::timeout(WAIT, repeat).await.unwrap().unwrap();
    assert_eq!(body["result"][0]["message"]["text"], "late");
    assert!(
        t0.elapsed() >= Duration::from_millis(190),
        "answered at once: {:?}",
        t0.elapsed()
    );

    // Unconfirmed updates asked for again within 0.5 s of the answer: limit 1.
    h.say(0, 1, "second");
    h.say(0, 1, "third");
    let again = h.ok(0, "getUpdates", json!({"offset": 0})).await;
    assert_eq!(ids(&again).len(), 1, "{again}");
    tokio::time::sleep(Duration::from_millis(550)).await;
    assert_eq!(
        ids(&h.ok(0, "getUpdates", json!({"offset": 0})).await).len(),
        3
    );
}

#[tokio::test]
async fn without_anti_spin_a_repeated_short_poll_answers_at_once() {
    let h = Harness::start(no_spin()).await;
    // Each answers at once (milliseconds); the anti-spin rule would hold each repeat 3 s.
    for _ in 0..5 {
        let t0 = Instant::now();
        assert_eq!(
            h.ok(0, "getUpdates", json!({"timeout": 0})).await,
            json!([])
        );
        assert!(
            t0.elapsed() < Duration::from_millis(1500),
            "held {:?}",
            t0.elapsed()
        );
    }
    assert_eq!(h.mock().stats().get_updates.empty_share, 1.0);
}

#[tokio::test]
async fn allowed_updates_is_sticky_and_applies_to_updates_created_afterwards() {
    let h = Harness::start(no_spin()).await;
    let bot = h.bots[0].id;
    h.mock()
        .inject(NewUpdate::callback(bot, 4, "before"))
        .unwrap();
    let got = h
        .ok(0, "getUpdates", json!({"allowed_updates": ["message"]}))
        .await;
    assert_eq!(
        got[0]["callback_query"]["data"], "before",
        "created before the filter: kept"
    );
    let offset = got[0]["update_id"].as_i64().unwrap() + 1;
    h.mock()
        .inject(NewUpdate::callback(bot, 4, "after"))
        .unwrap();
    h.say(0, 4, "a message");
    // No allowed_updates this time: the last list still applies.
    let got = h.ok(0, "getUpdates", json!({"offset": offset})).await;
    assert_eq!(got.as_array().unwrap().len(), 1, "{got}");
    assert_eq!(got[0]["message"]["text"], "a message");
    assert_eq!(h.mock().stats().updates.filtered, 1);
    // An empty list means every kind again.
    let offset = got[0]["update_id"].as_i64().unwrap() + 1;
    h.ok(
        0,
        "getUpdates",
        json!({"offset": offset, "allowed_updates": []}),
    )
    .await;
    h.mock()
        .inject(NewUpdate::callback(bot, 4, "allowed again"))
        .unwrap();
    let got = h.ok(0, "getUpdates", json!({"offset": offset})).await;
    assert_eq!(got[0]["callback_query"]["data"], "allowed again");
    assert!(got[0]["callback_query"]["id"].is_string());
    assert!(got[0]["callback_query"]["chat_instance"].is_string());
}
