//! The client's retry rules, proved against wiremock over real HTTP: 409 and 5xx back off,
//! 429 waits exactly `retry_after`, final errors are not retried, attempts are bounded, and
//! a client in an outage never spins.

use std::time::{Duration, Instant};

use serde_json::json;
use tgbench_impls::client::{ApiError, Attempts, GetUpdates};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path_regex},
};

use crate::support::{FAST, count, err, fast_api, ok, token};

fn on(m: &str) -> wiremock::MockBuilder {
    Mock::given(method("POST")).and(path_regex(format!("^/bot[0-9]+:[A-Za-z0-9_-]+/{m}$")))
}

/// `first` answers the first `n` calls of `m`, then `ok(result)` answers the rest.
async fn failing_then_ok(server: &MockServer, m: &str, first: ResponseTemplate, n: u64) {
    on(m)
        .respond_with(first)
        .up_to_n_times(n)
        .with_priority(1)
        .mount(server)
        .await;
    on(m)
        .respond_with(ok(json!(true)))
        .with_priority(2)
        .mount(server)
        .await;
}

#[tokio::test]
async fn conflict_409_backs_off_then_succeeds() {
    let server = MockServer::start().await;
    failing_then_ok(
        &server,
        "deleteWebhook",
        err(409, "Conflict: terminated by other getUpdates request"),
        2,
    )
    .await;
    let api = fast_api(&server.uri(), 5);
    let t = Instant::now();
    api.delete_webhook(&token(1), false).await.unwrap();
    assert_eq!(count(&server, "deleteWebhook").await, 3);
    // Two back-offs: at least half of 20 ms, then half of 40 ms.
    assert!(
        t.elapsed() >= FAST.base / 2 + FAST.base,
        "{:?}",
        t.elapsed()
    );
    assert_eq!(
        api.counters()
            .retries
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
}

#[tokio::test]
async fn server_errors_back_off_then_succeed() {
    for status in [500, 502, 503] {
        let server = MockServer::start().await;
        // A proxy's 502 has no Bot API envelope: still a server error, still retried.
        let first = if status == 502 {
            ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>")
        } else {
            err(status, "Internal Server Error")
        };
        failing_then_ok(&server, "deleteWebhook", first, 2).await;
        let api = fast_api(&server.uri(), 5);
        api.delete_webhook(&token(1), false).await.unwrap();
        assert_eq!(count(&server, "deleteWebhook").await, 3, "status {status}");
    }
}

#[tokio::test]
async fn too_many_requests_waits_exactly_retry_after() {
    let server = MockServer::start().await;
    // 2 s, not the 1 s a client assumes when Telegram names none.
    let rate_limited = ResponseTemplate::new(429).set_body_json(json!({
        "ok": false, "error_code": 429, "description": "Too Many Requests: retry after 2",
        "parameters": {"retry_after": 2}
    }));
    failing_then_ok(&server, "deleteWebhook", rate_limited, 1).await;
    let api = fast_api(&server.uri(), 5);
    let t = Instant::now();
    api.delete_webhook(&token(1), false).await.unwrap();
    let took = t.elapsed();
    assert_eq!(count(&server, "deleteWebhook").await, 2);
    assert!(
        took >= Duration::from_secs(2),
        "retry_after honoured: {took:?}"
    );
    // Waited once, not twice (4 s).
    assert!(took < Duration::from_secs(3), "and not much more: {took:?}");
    assert_eq!(
        api.counters()
            .rate_limited
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[tokio::test]
async fn final_errors_are_not_retried() {
    for (code, text) in [
        (400, "Bad Request: chat not found"),
        (401, "Unauthorized"),
        (403, "Forbidden: bot was blocked by the user"),
    ] {
        let server = MockServer::start().await;
        on("deleteWebhook")
            .respond_with(err(code, text))
            .mount(&server)
            .await;
        let api = fast_api(&server.uri(), 5);
        let e = api.delete_webhook(&token(1), false).await.unwrap_err();
        assert_eq!(e.code(), Some(code));
        assert_eq!(
            count(&server, "deleteWebhook").await,
            1,
            "{code} not retried"
        );
    }
}

#[tokio::test]
async fn attempts_are_bounded_and_the_error_keeps_no_token() {
    let server = MockServer::start().await;
    on("deleteWebhook")
        .respond_with(err(500, "Internal Server Error"))
        .mount(&server)
        .await;
    let api = fast_api(&server.uri(), 3);
    let e = api.delete_webhook(&token(1), false).await.unwrap_err();
    assert_eq!(e.code(), Some(500));
    assert_eq!(count(&server, "deleteWebhook").await, 3);
    assert_eq!(
        api.counters()
            .failed
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );

    // A network error's text must not carry the URL, which holds the token.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let api = fast_api(&format!("http://{closed}"), 2);
    let t = token(1);
    let e = api.delete_webhook(&t, false).await.unwrap_err();
    assert!(matches!(e, ApiError::Network { .. }), "{e:?}");
    assert!(
        e.to_string().contains("refused"),
        "the cause is in the message: {e}"
    );
    let secret = t.expose().split_once(':').unwrap().1;
    assert!(!e.to_string().contains(secret), "{e}");
    assert!(!format!("{e:?}").contains(secret), "{e:?}");
}

/// An outage of `outage`, with the client retrying forever: how many requests it made.
async fn requests_during_outage(answer: Option<ResponseTemplate>, outage: Duration) -> usize {
    let server = MockServer::start().await;
    let base = match &answer {
        Some(a) => {
            on("getUpdates")
                .respond_with(a.clone())
                .mount(&server)
                .await;
            server.uri()
        }
        None => {
            // Nothing listens: connection refused at once, the fastest possible failure.
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        }
    };
    let api = fast_api(&base, 5);
    let allowed = vec!["message".to_string()];
    let params = GetUpdates {
        offset: 0,
        limit: 100,
        timeout: 0,
        allowed_updates: &allowed,
    };
    let bot = token(1);
    let call = api.get_updates(&bot, &params, Attempts::Forever);
    assert!(
        tokio::time::timeout(outage, call).await.is_err(),
        "never succeeds"
    );
    match answer {
        Some(_) => count(&server, "getUpdates").await,
        None => api
            .counters()
            .requests
            .load(std::sync::atomic::Ordering::Relaxed) as usize,
    }
}

#[tokio::test]
async fn never_spins_during_an_outage() {
    // Back-off 20 ms doubling to 80 ms, each wait at least half its ceiling: in 1 s at most
    // 1 + (10 + 20 + 40) ms ... then one request per >= 40 ms: about 25. A spinning client
    // would make thousands.
    let outage = Duration::from_secs(1);
    let ceiling = 1 + 3 + (outage.as_millis() / (FAST.cap.as_millis() / 2)) as usize;
    for (what, answer) in [
        ("502", Some(ResponseTemplate::new(502))),
        (
            "409",
            Some(err(
                409,
                "Conflict: can't use getUpdates method while webhook is active",
            )),
        ),
        ("refused", None),
    ] {
        let n = requests_during_outage(answer, outage).await;
        assert!(
            n <= ceiling,
            "{what}: {n} requests in {outage:?}, ceiling {ceiling}"
        );
        assert!(n >= 8, "{what}: still retrying ({n} requests)");
    }
}

#[tokio::test]
async fn long_poll_timeout_is_the_poll_timeout_plus_margin() {
    let server = MockServer::start().await;
    // The server holds the poll 1.5 s: longer than the ordinary request timeout below,
    // shorter than timeout (1 s) + margin (2 s).
    on("getUpdates")
        .respond_with(ok(json!([])).set_delay(Duration::from_millis(1500)))
        .mount(&server)
        .await;
    on("sendMessage")
        .respond_with(ok(json!({"message_id": 1})).set_delay(Duration::from_millis(1500)))
        .mount(&server)
        .await;
    let api = tgbench_impls::client::Api::new(
        &server.uri(),
        tgbench_impls::client::ApiConfig {
            request_timeout: Duration::from_millis(500),
            long_poll_margin: Duration::from_secs(2),
            max_attempts: 1,
            backoff: FAST,
            ..Default::default()
        },
    )
    .unwrap();
    let allowed = vec!["message".to_string()];
    let params = GetUpdates {
        offset: 0,
        limit: 100,
        timeout: 1,
        allowed_updates: &allowed,
    };
    let updates = api
        .get_updates(&token(1), &params, Attempts::AtMost(1))
        .await
        .unwrap();
    assert!(updates.is_empty());
    let e = api
        .call::<_, serde::de::IgnoredAny>(
            &token(1),
            "sendMessage",
            &json!({"chat_id": 1, "text": "x"}),
            Attempts::AtMost(1),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ApiError::Network { error, .. } if error.is_timeout()),
        "{e:?}"
    );
}
