//! Webhook delivery over real HTTP: headers, back-off, Retry-After, one at a time per chat,
//! a method in the response, setWebhook validation and getWebhookInfo.

use std::time::Duration;

use mock_telegram::{MockConfig, RetrySchedule};
use serde_json::json;

use crate::support::{Answer, Harness, Receiver, eventually};

#[tokio::test]
async fn deliveries_carry_exact_content_type_and_the_secret_header() {
    let h = Harness::one_bot().await;
    let r = Receiver::start(vec![]).await;
    let set = h
        .call(
            0,
            "setWebhook",
            json!({"url": r.url(), "secret_token": "s3cr3t_-X"}),
        )
        .await;
    assert_eq!(
        set.1,
        json!({"ok": true, "result": true, "description": "Webhook was set"})
    );
    let again = h
        .call(
            0,
            "setWebhook",
            json!({"url": r.url(), "secret_token": "s3cr3t_-X"}),
        )
        .await;
    assert_eq!(again.1["description"], "Webhook is already set");
    let id = h.say(0, 42, "hello hook");
    let got = r.wait_for(1).await;
    assert_eq!(got[0].headers["content-type"], "application/json");
    assert_eq!(
        got[0].headers["x-telegram-bot-api-secret-token"],
        "s3cr3t_-X"
    );
    assert_eq!(got[0].body["update_id"], id);
    assert_eq!(got[0].body["message"]["text"], "hello hook");
    eventually("the delivery to be counted", || {
        h.mock().stats().updates.delivered == 1
    })
    .await;
    let s = h.mock().stats();
    assert_eq!(
        (s.webhook.deliveries, s.webhook.ok, s.updates.pending),
        (1, 1, 0)
    );
    assert_eq!(s.readiness.webhooks_set, 1);
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_with_back_off_and_the_error_recorded() {
    // 0, 2, 4, 8 s … compressed 100x: 0, 20, 40, 80 ms.
    let h = Harness::start(MockConfig {
        retry: RetrySchedule::compressed(0.01),
        ..MockConfig::default()
    })
    .await;
    let r = Receiver::start(vec![
        Answer::Status(500),
        Answer::Status(500),
        Answer::Status(500),
        Answer::Status(500),
    ])
    .await;
    h.ok(0, "setWebhook", json!({"url": r.url()})).await;
    let id = h.say(0, 1, "retry me");
    let got = r.wait_for(5).await;
    assert!(got.iter().all(|g| g.body["update_id"] == id));
    let gaps: Vec<Duration> = got.windows(2).map(|w| w[1].at - w[0].at).collect();
    // After failure n the wait is delays[n-1]: 0, 20, 40, 80 ms.
    assert!(gaps[1] >= Duration::from_millis(18), "{gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(38), "{gaps:?}");
    assert!(gaps[3] >= Duration::from_millis(78), "{gaps:?}");
    assert!(gaps[3] > gaps[1], "back-off grows: {gaps:?}");
    eventually("the success to be counted", || {
        h.mock().stats().webhook.ok == 1
    })
    .await;
    let s = h.mock().stats();
    assert_eq!(
        (s.webhook.failed, s.webhook.retries, s.updates.delivered),
        (4, 4, 1)
    );
    let info = h.ok(0, "getWebhookInfo", json!({})).await;
    assert_eq!(
        info["last_error_message"],
        "Wrong response from the webhook: 500 Internal Server Error"
    );
    assert!(info["last_error_date"].as_i64().unwrap() > 1_600_000_000);
    assert_eq!(info["pending_update_count"], 0);
}

#[tokio::test]
async fn retry_after_from_the_bot_overrides_the_schedule() {
    let h = Harness::start(MockConfig {
        retry: RetrySchedule::compressed(0.0),
        ..MockConfig::default()
    })
    .await;
    let r = Receiver::start(vec![Answer::StatusRetryAfter(429, 1)]).await;
    h.ok(0, "setWebhook", json!({"url": r.url()})).await;
    h.say(0, 1, "later please");
    let got = r.wait_for(2).await;
    let gap = got[1].at - got[0].at;
    assert!(
        gap >= Duration::from_millis(950),
        "retried after {gap:?}, not the bot's 1 s"
    );
    let info = h.ok(0, "getWebhookInfo", json!({})).await;
    assert_eq!(
        info["last_error_message"],
        "Wrong response from the webhook: 429 Too Many Requests"
    );
}

#[tokio::test]
async fn refused_connection_is_recorded_and_the_update_stays_pending() {
    let h = Harness::one_bot().await;
    let url = crate::support::refused_url().await;
    h.ok(0, "setWebhook", json!({"url": url})).await;
    h.say(0, 1, "nobody home");
    eventually("a failed delivery", || h.mock().stats().webhook.failed >= 2).await;
    let info = h.ok(0, "getWebhookInfo", json!({})).await;
    assert_eq!(info["last_error_message"], "Connection refused");
    assert_eq!(info["pending_update_count"], 1);
    assert_eq!(info["url"], url);
    assert_eq!(info["max_connections"], 40);
    assert_eq!(info["has_custom_certificate"], false);
    // deleteWebhook keeps pending updates for getUpdates, unless told to drop them.
    h.ok(0, "deleteWebhook", json!({})).await;
    let got = h.ok(0, "getUpdates", json!({})).await;
    assert_eq!(got[0]["message"]["text"], "nobody home");
    let info = h.ok(0, "getWebhookInfo", json!({})).await;
    assert_eq!(
        info,
        json!({"url": "", "has_custom_certificate": false, "pending_update_count": 1})
    );
    assert_eq!(
        h.call(0, "deleteWebhook", json!({"drop_pending_updates": true}))
            .await
            .1["description"],
        "Webhook is already deleted"
    );
    assert_eq!(
        h.ok(0, "getWebhookInfo", json!({})).await["pending_update_count"],
        0
    );
}

#[tokio::test]
async fn one_delivery_at_a_time_per_chat_different_chats_in_parallel() {
    let h = Harness::one_bot().await;
    let slow = Answer::Slow(Duration::from_millis(150));
    let r = Receiver::start(vec![
        slow.clone(),
        slow.clone(),
        slow.clone(),
        slow.clone(),
        slow.clone(),
        slow,
    ])
    .await;
    h.ok(
        0,
        "setWebhook",
        json!({"url": r.url(), "max_connections": 2}),
    )
    .await;
    for chat in [1, 1, 1, 2, 2, 3] {
        h.say(0, chat, "x");
    }
    let got = r.wait_for(6).await;
    eventually("all deliveries", || h.mock().stats().webhook.ok == 6).await;
    assert!(!r.same_chat_overlap(), "two POSTs of one chat overlapped");
    assert_eq!(r.peak(), 2, "max_connections 2 caps parallel chats");
    // Per chat, updates arrive in order.
    let chat1: Vec<i64> = got
        .iter()
        .filter(|g| g.body["message"]["chat"]["id"] == 1)
        .map(|g| g.body["update_id"].as_i64().unwrap())
        .collect();
    assert_eq!(chat1, vec![1, 2, 3]);
    let s = h.mock().stats();
    assert_eq!(
        (
            s.webhook.in_flight_peak,
            s.webhook.in_flight_peak_per_bot,
            s.webhook.in_flight
        ),
        (2, 2, 0)
    );
}

#[tokio::test]
async fn a_method_in_the_webhook_response_is_executed() {
    let h = Harness::one_bot().await;
    let r = Receiver::start(vec![Answer::Json(
        json!({"method": "sendMessage", "chat_id": 9, "text": "echo from the response"}),
    )])
    .await;
    h.ok(0, "setWebhook", json!({"url": r.url()})).await;
    h.say(0, 9, "ping");
    eventually("the reply", || h.mock().stats().updates.replied == 1).await;
    let sent = h.mock().sent(h.bots[0].id);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].chat_id, sent[0].text.as_str()),
        (9, "echo from the response")
    );
    assert_eq!(sent[0].update_id, Some(1));
    let s = h.mock().stats();
    assert_eq!(s.webhook.method_in_response, 1);
    assert_eq!(s.requests["sendMessage"], 1);
    assert_eq!(s.latency_ms.count, 1);
}

#[tokio::test]
async fn set_webhook_validates_like_telegram() {
    let h = Harness::one_bot().await;
    let cases = [
        (
            json!({"url": "https://203.0.113.7/hook"}),
            "Bad Request: bad webhook: IP address 203.0.113.7 is reserved",
        ),
        (
            json!({"url": "ftp://127.0.0.1/hook"}),
            "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
        ),
        (
            json!({"url": "https://bots.example/hook"}),
            "Bad Request: bad webhook: Failed to resolve host: Name or service not known",
        ),
        (
            json!({"url": "https://127.0.0.1/hook", "secret_token": "has space"}),
            "Bad Request: secret token contains unallowed characters",
        ),
        (
            json!({"url": "https://127.0.0.1/hook", "secret_token": "a".repeat(257)}),
            "Bad Request: secret token is too long",
        ),
    ];
    for (params, wording) in cases {
        let (status, body) = h.call(0, "setWebhook", params.clone()).await;
        assert_eq!(
            (status, body["description"].as_str()),
            (400, Some(wording)),
            "{params}"
        );
    }
    // max_connections is clamped to 1..=100; allowed_updates shows in getWebhookInfo.
    h.ok(0, "setWebhook", json!({"url": "https://127.0.0.1:1/hook", "max_connections": 500, "allowed_updates": ["message"]})).await;
    let info = h.ok(0, "getWebhookInfo", json!({})).await;
    assert_eq!(info["max_connections"], 100);
    assert_eq!(info["allowed_updates"], json!(["message"]));
    // An empty url deletes it.
    assert_eq!(
        h.call(0, "setWebhook", json!({"url": ""})).await.1["description"],
        "Webhook was deleted"
    );
}

#[tokio::test]
async fn outage_holds_deliveries_until_it_ends() {
    let h = Harness::one_bot().await;
    let r = Receiver::start(vec![]).await;
    h.ok(0, "setWebhook", json!({"url": r.url()})).await;
    h.mock().set_fault(mock_telegram::Fault::Outage);
    let (status, body) = h.call(0, "getMe", json!({})).await;
    assert_eq!(
        (status, body["description"].as_str()),
        (502, Some("Bad Gateway"))
    );
    h.say(0, 1, "during the outage");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(r.received().is_empty());
    assert_eq!(h.mock().stats().updates.pending, 1);
    h.mock().set_fault(mock_telegram::Fault::None);
    r.wait_for(1).await;
}

#[tokio::test]
async fn a_bot_that_answers_too_late_is_retried_with_read_timeout_expired() {
    let h = Harness::start(MockConfig {
        webhook_timeout: Duration::from_millis(100),
        retry: RetrySchedule::compressed(0.0),
        ..MockConfig::default()
    })
    .await;
    let r = Receiver::start(vec![Answer::Slow(Duration::from_millis(400))]).await;
    h.ok(0, "setWebhook", json!({"url": r.url()})).await;
    h.say(0, 1, "slow bot");
    let got = r.wait_for(2).await;
    assert_eq!(
        got[0].body["update_id"], got[1].body["update_id"],
        "the same update again"
    );
    let info = h.ok(0, "getWebhookInfo", json!({})).await;
    assert_eq!(info["last_error_message"], "Read timeout expired");
    eventually("the retry to succeed", || h.mock().stats().webhook.ok == 1).await;
}

#[tokio::test]
async fn https_to_a_self_signed_endpoint_is_delivered() {
    use hyper_util::rt::TokioIo;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let key =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let cert = rustls::pki_types::CertificateDer::from(key.cert.der().to_vec());
    let private = rustls::pki_types::PrivateKeyDer::try_from(key.key_pair.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], private)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, counter) = (acceptor.clone(), counter.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let counter = counter.clone();
                        async move {
                            assert_eq!(req.headers()["content-type"], "application/json");
                            counter.fetch_add(1, Ordering::SeqCst);
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(
                                http_body_util::Empty::<bytes::Bytes>::new(),
                            ))
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });

    let h = Harness::one_bot().await;
    h.ok(
        0,
        "setWebhook",
        json!({"url": format!("https://localhost:{}/hook", addr.port())}),
    )
    .await;
    h.say(0, 1, "over tls");
    eventually("the TLS delivery", || h.mock().stats().webhook.ok == 1).await;
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(h.mock().stats().webhook.failed, 0);
}

/// `webhook_hosts` lets setWebhook take URLs on the listed networks (a webhook fleet on other
/// hosts), and only those: an address outside them is still refused as Telegram words it.
/// No update is sent, so nothing is delivered to the address.
#[tokio::test]
async fn set_webhook_accepts_the_allowed_networks_beside_loopback() {
    let h = Harness::start(MockConfig {
        webhook_hosts: vec!["198.18.0.0/15".parse().unwrap()],
        ..MockConfig::default()
    })
    .await;
    let url = "http://198.19.0.2:8443/webhook/1";
    h.ok(0, "setWebhook", json!({ "url": url })).await;
    assert_eq!(h.ok(0, "getWebhookInfo", json!({})).await["url"], url);
    let (status, body) = h
        .call(0, "setWebhook", json!({"url": "https://198.20.0.1/hook"}))
        .await;
    assert_eq!(
        (status, body["description"].as_str()),
        (
            400,
            Some("Bad Request: bad webhook: IP address 198.20.0.1 is reserved")
        )
    );
}
