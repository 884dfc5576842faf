//! The control API over HTTP: bots, single and batch injection, stats, sent, reset, and the
//! control token.

use mock_telegram::MockConfig;
use serde_json::{Value, json};

use crate::support::{Harness, read, send};

#[tokio::test]
async fn control_api_round_trip() {
    let h = Harness::start(MockConfig {
        bots: 3,
        seed: 7,
        rate_limits: false,
        ..MockConfig::default()
    })
    .await;
    let (status, bots) = send(h.http.get(h.control("bots"))).await;
    assert_eq!(status, 200);
    let bots = bots["bots"].as_array().unwrap().clone();
    assert_eq!(bots.len(), 3);
    assert_eq!(bots[1]["token"], h.bots[1].token.as_str());
    let token = bots[1]["token"].as_str().unwrap();
    let (id, secret) = token.split_once(':').unwrap();
    assert_eq!(id, bots[1]["id"].to_string());
    assert_eq!(secret.len(), 35);

    let bot = h.bots[1].id;
    let (_, one) = send(
        h.http
            .post(h.control("updates"))
            .json(&json!({"bot_id": bot, "chat_id": 5, "text": "one"})),
    )
    .await;
    assert_eq!(one, json!({"update_ids": [1]}));
    let batch = json!({"updates": [
        {"bot_id": bot, "chat_id": 5, "text": "two"},
        {"bot_id": bot, "chat_id": 6, "callback_data": "btn"},
    ]});
    let (_, ids) = send(h.http.post(h.control("updates")).json(&batch)).await;
    assert_eq!(ids, json!({"update_ids": [2, 3]}));
    // A bad batch injects nothing.
    let bad = json!({"updates": [{"bot_id": bot, "chat_id": 5, "text": "ok"}, {"bot_id": 1, "chat_id": 5, "text": "no bot"}]});
    let (status, _) = send(h.http.post(h.control("updates")).json(&bad)).await;
    assert_eq!(status, 400);
    let (status, _) = send(
        h.http
            .post(h.control("updates"))
            .json(&json!({"bot_id": bot, "chat_id": 5})),
    )
    .await;
    assert_eq!(status, 400, "neither text nor callback_data");

    h.ok(1, "sendMessage", json!({"chat_id": 5, "text": "answer"}))
        .await;
    let (_, sent) = send(h.http.get(format!("{}?bot_id={bot}", h.control("sent")))).await;
    assert_eq!(sent["messages"][0]["chat_id"], 5);
    assert_eq!(sent["messages"][0]["text"], "answer");
    assert_eq!(sent["messages"][0]["update_id"], 1);

    let (_, stats) = send(h.http.get(h.control("stats"))).await;
    assert_eq!(stats["updates"]["injected"], 3);
    assert_eq!(stats["updates"]["replied"], 1);
    assert_eq!(stats["requests"]["sendMessage"], 1);
    assert_eq!(stats["latency_ms"]["count"], 1);
    for key in ["p50", "p90", "p99", "p999", "max", "mean"] {
        assert!(stats["latency_ms"][key].is_f64(), "{key}");
    }
    assert_eq!(stats["readiness"]["bots"], 3);
    let parsed: mock_telegram::Stats = serde_json::from_value(stats.clone()).unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), stats);

    let (status, _) = send(h.http.post(h.control("reset"))).await;
    assert_eq!(status, 200);
    let s = h.mock().stats();
    assert_eq!(
        (s.updates.injected, s.updates.pending, s.latency_ms.count),
        (0, 0, 0)
    );
    assert!(s.requests.is_empty());
    assert!(h.mock().sent(bot).is_empty());
    assert_eq!(h.mock().bots().len(), 3, "bots survive a reset");
}

#[tokio::test]
async fn control_token_guards_the_control_api_but_not_the_bot_api() {
    let h = Harness::start(MockConfig {
        control_token: Some("letmein".into()),
        ..MockConfig::default()
    })
    .await;
    let (status, body) = send(h.http.get(h.control("stats"))).await;
    assert_eq!(
        (status, body["description"].clone()),
        (401, Value::from("Unauthorized"))
    );
    let (status, _) = send(h.http.get(h.control("stats")).bearer_auth("wrong")).await;
    assert_eq!(status, 401);
    let (status, _) = send(h.http.get(h.control("stats")).bearer_auth("letmein")).await;
    assert_eq!(status, 200);
    let (status, _) = send(h.http.get(format!("{}?token=letmein", h.control("bots")))).await;
    assert_eq!(status, 200);
    h.ok(0, "getMe", json!({})).await;
}

#[tokio::test]
async fn shutdown_ends_held_long_polls() {
    let h = Harness::one_bot().await;
    let poll = h.spawn_call(0, "getUpdates", json!({"timeout": 50}));
    h.held_polls(1).await;
    tokio::time::timeout(crate::support::WAIT, h.server.shutdown())
        .await
        .unwrap();
    let (status, body) = tokio::time::timeout(crate::support::WAIT, poll)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((status, body["result"].clone()), (200, json!([])));
}

#[tokio::test]
async fn a_mock_served_again_after_shutdown_delivers_webhooks_again() {
    let h = Harness::one_bot().await;
    let r = crate::support::Receiver::start(vec![]).await;
    h.ok(0, "setWebhook", json!({"url": r.url()})).await;
    let mock = h.mock().clone();
    tokio::time::timeout(crate::support::WAIT, h.server.shutdown())
        .await
        .unwrap();
    mock.inject(mock_telegram::NewUpdate::message(
        mock.bots()[0].id,
        1,
        "while stopped",
    ))
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let again = mock_telegram::MockServer::start(mock.clone(), listener);
    let got = r.wait_for(1).await;
    assert_eq!(got[0].body["message"]["text"], "while stopped");
    again.shutdown().await;
}

#[tokio::test]
async fn injected_errors_and_slowness_reach_the_bot_api() {
    use std::time::{Duration, Instant};

    use mock_telegram::Fault;

    let h = Harness::one_bot().await;
    h.mock().set_fault(Fault::Errors { rate: 1.0 });
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let response = h.http.post(h.url(0, "getMe")).send().await.unwrap();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let (status, body) = read(response).await;
        match status {
            500 => assert_eq!(body["description"], "Internal Server Error"),
            429 => {
                assert_eq!(body["parameters"]["retry_after"], 1);
                assert_eq!(retry_after.as_deref(), Some("1"));
            }
            other => panic!("unexpected {other}: {body}"),
        }
        seen.insert(status);
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        vec![429, 500],
        "both kinds of error"
    );
    assert_eq!(
        h.mock().stats().requests["getMe"],
        40,
        "failed calls are counted too"
    );

    // 2 s added while slow; none once the fault is off (milliseconds, far from 2 s).
    let delay = Duration::from_secs(2);
    h.mock().set_fault(Fault::Slow { delay });
    let t0 = Instant::now();
    h.ok(0, "getMe", json!({})).await;
    assert!(t0.elapsed() >= delay, "{:?}", t0.elapsed());
    h.mock().set_fault(Fault::None);
    let t0 = Instant::now();
    h.ok(0, "getMe", json!({})).await;
    assert!(
        t0.elapsed() < delay / 2,
        "still slow after the fault: {:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn readiness_counts_polling_bots_and_webhooks() {
    let h = Harness::start(MockConfig {
        bots: 3,
        ..MockConfig::default()
    })
    .await;
    assert_eq!(
        h.mock().readiness(),
        mock_telegram::Readiness {
            bots: 3,
            polling: 0,
            webhooks_set: 0
        }
    );
    let poll = h.spawn_call(0, "getUpdates", json!({"timeout": 30}));
    h.held_polls(1).await;
    h.ok(1, "setWebhook", json!({"url": "http://127.0.0.1:1/hook"}))
        .await;
    assert_eq!(
        h.mock().readiness(),
        mock_telegram::Readiness {
            bots: 3,
            polling: 1,
            webhooks_set: 1
        }
    );
    h.say(0, 1, "end the poll");
    tokio::time::timeout(crate::support::WAIT, poll)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        h.mock().readiness().polling,
        1,
        "polled within the last second"
    );
}
