//! The polling loop against a misbehaving Bot API (wiremock): it never spins, confirms an
//! update's offset only in the poll after handling it, and stops a bot whose token is refused.

use std::time::Duration;

use serde_json::json;
use tgbench_impls::{
    platform::Platform,
    polling::{self, PollingOpts},
};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_partial_json, method, path_regex},
};

use crate::support::{count, err, fast_platform_opts, ok, token};

fn on(m: &str) -> wiremock::MockBuilder {
    Mock::given(method("POST")).and(path_regex(format!("/{m}$")))
}

async fn poll_for(server: &MockServer, bots: i64, run: Duration) -> polling::PollingReport {
    let tokens = (1..=bots).map(token).collect::<Vec<_>>();
    let platform = Platform::new(&server.uri(), tokens.clone(), &fast_platform_opts()).unwrap();
    let p = polling::start(
        platform,
        tokens,
        &PollingOpts {
            poll_timeout: 10,
            ..PollingOpts::default()
        },
    )
    .await;
    tokio::time::sleep(run).await;
    p.stop().await
}

#[tokio::test]
async fn an_outage_makes_a_bounded_number_of_polls() {
    for answer in [
        ResponseTemplate::new(502),
        err(409, "Conflict: terminated by other getUpdates request"),
    ] {
        let server = MockServer::start().await;
        on("deleteWebhook")
            .respond_with(ok(json!(true)))
            .mount(&server)
            .await;
        on("getUpdates").respond_with(answer).mount(&server).await;
        let _ = poll_for(&server, 3, Duration::from_secs(1)).await;
        let n = count(&server, "getUpdates").await;
        // Per bot about 1 + 3 + 1000 / 40; three bots.
        assert!(n <= 3 * 30, "{n} polls by 3 bots in 1 s");
        assert!(n >= 3 * 8, "still polling: {n}");
    }
}

#[tokio::test]
async fn a_server_that_does_not_hold_long_polls_cannot_make_the_loop_spin() {
    let server = MockServer::start().await;
    on("deleteWebhook")
        .respond_with(ok(json!(true)))
        .mount(&server)
        .await;
    on("getUpdates")
        .respond_with(ok(json!([])))
        .mount(&server)
        .await;
    let _ = poll_for(&server, 2, Duration::from_secs(1)).await;
    let n = count(&server, "getUpdates").await;
    // After each early empty answer a back-off (10-20 ms, doubling to 40-80 ms): per bot
    // 12 to 27 polls in 1 s, not thousands (a spin), nor a few (a loop that stopped).
    assert!(n <= 2 * 30, "{n} polls by 2 bots in 1 s");
    assert!(n >= 2 * 5, "still polling: {n}");
}

#[tokio::test]
async fn offset_moves_past_an_update_only_after_it_was_handled() {
    let server = MockServer::start().await;
    on("deleteWebhook")
        .respond_with(ok(json!(true)))
        .mount(&server)
        .await;
    let update = json!([{"update_id": 41, "message": {"message_id": 7, "date": 0,
        "chat": {"id": 555, "type": "private"}, "text": "ping"}}]);
    on("getUpdates")
        .and(body_partial_json(json!({"offset": 0})))
        .respond_with(ok(update))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    on("getUpdates")
        .and(body_partial_json(json!({"offset": 42})))
        .respond_with(ok(json!([])).set_delay(Duration::from_millis(300)))
        .with_priority(1)
        .mount(&server)
        .await;
    on("sendMessage")
        .respond_with(ok(json!({"message_id": 8})).set_delay(Duration::from_millis(100)))
        .mount(&server)
        .await;
    let report = poll_for(&server, 1, Duration::from_millis(800)).await;
    assert_eq!(report.refused, 0);

    let requests = server.received_requests().await.unwrap();
    let calls: Vec<(String, serde_json::Value)> = requests
        .iter()
        .map(|r| {
            (
                r.url.path().rsplit('/').next().unwrap().to_owned(),
                serde_json::from_slice(&r.body).unwrap(),
            )
        })
        .collect();
    let send = calls
        .iter()
        .position(|(m, _)| m == "sendMessage")
        .expect("the echo was sent");
    assert_eq!(
        calls[send].1,
        json!({"chat_id": 555, "text": "ping", "reply_parameters": {"message_id": 7}})
    );
    let polls: Vec<(usize, i64)> = calls
        .iter()
        .enumerate()
        .filter(|(_, (m, _))| m == "getUpdates")
        .map(|(i, (_, b))| (i, b["offset"].as_i64().unwrap()))
        .collect();
    assert_eq!(polls[0].1, 0);
    assert!(polls.len() >= 2, "{polls:?}");
    // Every poll after the first confirms 41, and comes after the reply.
    for &(i, offset) in &polls[1..] {
        assert_eq!(offset, 42);
        assert!(i > send, "offset 42 sent before the update was handled");
    }
    assert!(polls.iter().all(|&(_, o)| o == 0 || o == 42), "{polls:?}");
    assert_eq!(count(&server, "sendMessage").await, 1, "handled once");
}

#[tokio::test]
async fn a_refused_token_stops_only_that_bot() {
    let server = MockServer::start().await;
    on("deleteWebhook")
        .respond_with(ok(json!(true)))
        .mount(&server)
        .await;
    let bot1 = token(1);
    Mock::given(method("POST"))
        .and(path_regex(format!(
            "^/bot{}/getUpdates$",
            regex_escape(bot1.expose())
        )))
        .respond_with(err(401, "Unauthorized"))
        .with_priority(1)
        .mount(&server)
        .await;
    on("getUpdates")
        .respond_with(ok(json!([])).set_delay(Duration::from_millis(200)))
        .with_priority(2)
        .mount(&server)
        .await;
    let report = poll_for(&server, 2, Duration::from_millis(700)).await;
    assert_eq!(report.refused, 1);
    let bot1_polls = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == format!("/bot{}/getUpdates", bot1.expose()))
        .count();
    assert_eq!(bot1_polls, 1, "a 401 is final: no retry");
    assert!(
        count(&server, "getUpdates").await >= 3,
        "bot 2 keeps polling"
    );
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect()
}
