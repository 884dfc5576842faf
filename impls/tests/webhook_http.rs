//! The webhook server over real HTTP, with wiremock as the Bot API: every refusal status,
//! `/health`, the three ways of answering, setWebhook's parameters, TLS with the uploaded
//! self-signed certificate, the source-IP allowlist, and the hybrid server's fallback.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use axum::{body::Body, extract::ConnectInfo, http::Request};
use serde_json::{Value, json};
use tgbench_impls::{
    hybrid::{self, HybridOpts},
    platform::Platform,
    polling::PollingOpts,
    token::BotToken,
    webhook::{self, Ack, MAX_BODY, SECRET_HEADER, Webhook, WebhookOpts, WebhookState},
};
use tokio::net::TcpListener;
use tower::ServiceExt;
use wiremock::{
    Mock, MockServer,
    matchers::{method, path_regex},
};

use crate::support::{count, err, fast_platform_opts, ok, token};

fn on(m: &str) -> wiremock::MockBuilder {
    Mock::given(method("POST")).and(path_regex(format!("/{m}$")))
}

async fn telegram() -> MockServer {
    let server = MockServer::start().await;
    for m in ["setWebhook", "deleteWebhook"] {
        on(m).respond_with(ok(json!(true))).mount(&server).await;
    }
    on("sendMessage")
        .respond_with(ok(json!({"message_id": 1})))
        .mount(&server)
        .await;
    on("getUpdates")
        .respond_with(ok(json!([])).set_delay(Duration::from_millis(200)))
        .mount(&server)
        .await;
    server
}

async fn start(api: &MockServer, bots: i64, opts: WebhookOpts) -> (Webhook, Vec<BotToken>) {
    let tokens: Vec<_> = (1..=bots).map(token).collect();
    let platform = Platform::new(&api.uri(), tokens.clone(), &fast_platform_opts()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = webhook::start(platform, listener, None, tokens.clone(), &opts)
        .await
        .unwrap();
    (server, tokens)
}

fn update(update_id: i64, chat: i64, text: &str) -> Value {
    json!({"update_id": update_id, "message": {"message_id": update_id * 10, "date": 0,
        "chat": {"id": chat, "type": "private"}, "text": text}})
}

fn post(server: &Webhook, bot: i64, secret: Option<&str>) -> reqwest::RequestBuilder {
    let mut r = reqwest::Client::new().post(format!("http://{}/webhook/{bot}", server.addr()));
    if let Some(s) = secret {
        r = r.header(SECRET_HEADER, s);
    }
    r
}

#[tokio::test]
async fn refusals_have_their_statuses_and_health_counts_them() {
    let api = telegram().await;
    let (server, _) = start(&api, 2, WebhookOpts::default()).await;
    let secret = server.state().secret(1).unwrap().to_owned();
    let good = update(1, 100, "hi").to_string();

    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(
        status(
            post(&server, 999, Some(&secret))
                .body(good.clone())
                .send()
                .await
                .unwrap()
        ),
        404
    );
    assert_eq!(
        status(
            reqwest::Client::new()
                .post(format!("http://{}/webhook/abc", server.addr()))
                .body(good.clone())
                .send()
                .await
                .unwrap()
        ),
        404
    );
    assert_eq!(
        status(
            post(&server, 1, None)
                .body(good.clone())
                .send()
                .await
                .unwrap()
        ),
        401
    );
    assert_eq!(
        status(
            post(&server, 1, Some("wrong"))
                .body(good.clone())
                .send()
                .await
                .unwrap()
        ),
        401
    );
    let other_bots_secret = server.state().secret(2).unwrap().to_owned();
    assert_eq!(
        status(
            post(&server, 1, Some(&other_bots_secret))
                .body(good.clone())
                .send()
                .await
                .unwrap()
        ),
        401
    );
    assert_eq!(
        status(
            post(&server, 1, Some(&secret))
                .body("{not json")
                .send()
                .await
                .unwrap()
        ),
        400
    );
    assert_eq!(
        status(
            post(&server, 1, Some(&secret))
                .body(r#"{"no":"update_id"}"#)
                .send()
                .await
                .unwrap()
        ),
        400
    );
    let big = vec![b' '; MAX_BODY + 1];
    assert_eq!(
        status(
            post(&server, 1, Some(&secret))
                .body(big.clone())
                .send()
                .await
                .unwrap()
        ),
        413
    );
    // The same without a Content-Length (chunked): the limit holds while reading.
    let chunks = futures::stream::iter(
        big.chunks(64 * 1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        status(
            post(&server, 1, Some(&secret))
                .body(reqwest::Body::wrap_stream(chunks))
                .send()
                .await
                .unwrap()
        ),
        413
    );
    assert_eq!(
        count(&api, "sendMessage").await,
        0,
        "nothing refused was handled"
    );

    // A good one: --ack after (default), so the reply was sent before the 200.
    assert_eq!(
        status(
            post(&server, 1, Some(&secret))
                .body(good)
                .send()
                .await
                .unwrap()
        ),
        200
    );
    assert_eq!(count(&api, "sendMessage").await, 1);

    let health = reqwest::get(format!("http://{}/health", server.addr()))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let h: Value = health.json().await.unwrap();
    assert_eq!(h["status"], "ok");
    assert_eq!(h["transport"], "webhook");
    assert_eq!(
        (
            h["bots"].as_u64(),
            h["webhooks_set"].as_u64(),
            h["loaded"].as_u64()
        ),
        (Some(2), Some(2), Some(1))
    );
    let w = &h["webhook"];
    assert_eq!(
        (
            w["unknown_bot"].as_u64(),
            w["bad_secret"].as_u64(),
            w["bad_json"].as_u64(),
            w["too_large"].as_u64(),
            w["accepted"].as_u64()
        ),
        (Some(2), Some(3), Some(2), Some(2), Some(1))
    );
    assert_eq!(
        (h["updates_handled"].as_u64(), h["replies_sent"].as_u64()),
        (Some(1), Some(1))
    );
    server.stop().await;
}

#[tokio::test]
async fn set_webhook_registers_url_secret_and_flags_for_every_bot() {
    let api = telegram().await;
    let opts = WebhookOpts {
        max_connections: 7,
        drop_pending_updates: true,
        ..WebhookOpts::default()
    };
    let (server, tokens) = start(&api, 3, opts).await;
    let calls: Vec<(String, Value)> = api
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/setWebhook"))
        .map(|r| {
            (
                r.url.path().to_owned(),
                serde_json::from_slice(&r.body).unwrap(),
            )
        })
        .collect();
    assert_eq!(calls.len(), 3);
    for t in &tokens {
        let (_, body) = calls
            .iter()
            .find(|(p, _)| p == &format!("/bot{}/setWebhook", t.expose()))
            .unwrap();
        assert_eq!(
            body["url"],
            format!("http://{}/webhook/{}", server.addr(), t.id())
        );
        assert_eq!(body["secret_token"], server.state().secret(t.id()).unwrap());
        assert_eq!(body["max_connections"], 7);
        assert_eq!(body["drop_pending_updates"], true);
        assert_eq!(
            body["allowed_updates"],
            json!(["message", "callback_query"])
        );
    }
    let secrets: std::collections::HashSet<_> = tokens
        .iter()
        .map(|t| server.state().secret(t.id()).unwrap())
        .collect();
    assert_eq!(secrets.len(), 3, "a different secret per bot");
    assert!(secrets.iter().all(|s| s.len() == 32));
    server.stop().await;
}

#[tokio::test]
async fn reply_in_response_returns_the_call_as_the_body() {
    let api = telegram().await;
    let (server, _) = start(
        &api,
        1,
        WebhookOpts {
            reply_in_response: true,
            ..WebhookOpts::default()
        },
    )
    .await;
    let secret = server.state().secret(1).unwrap().to_owned();
    let r = post(&server, 1, Some(&secret))
        .body(update(5, 100, "hello").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"method": "sendMessage", "chat_id": 100, "text": "hello", "reply_parameters": {"message_id": 50}})
    );
    let h = server.stop().await;
    assert_eq!(count(&api, "sendMessage").await, 0, "no separate API call");
    assert_eq!(h.webhook.replies_in_response, 1);

    // --reply-in-response cannot answer before handling.
    let tokens = vec![token(1)];
    let platform = Platform::new(&api.uri(), tokens.clone(), &fast_platform_opts()).unwrap();
    let bad = WebhookOpts {
        reply_in_response: true,
        ack: Ack::Before,
        ..WebhookOpts::default()
    };
    assert!(WebhookState::new(platform, &tokens, &bad).is_err());
}

#[tokio::test]
async fn ack_before_answers_at_once_and_stop_waits_for_the_handler() {
    let api = MockServer::start().await;
    on("setWebhook")
        .respond_with(ok(json!(true)))
        .mount(&api)
        .await;
    // The reply takes 2 s: answering before it is milliseconds, after it 2 s.
    let reply_takes = Duration::from_secs(2);
    on("sendMessage")
        .respond_with(ok(json!({"message_id": 1})).set_delay(reply_takes))
        .mount(&api)
        .await;
    let (server, _) = start(
        &api,
        1,
        WebhookOpts {
            ack: Ack::Before,
            ..WebhookOpts::default()
        },
    )
    .await;
    let secret = server.state().secret(1).unwrap().to_owned();
    let t = Instant::now();
    let r = post(&server, 1, Some(&secret))
        .body(update(5, 100, "x").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        t.elapsed() < reply_takes / 2,
        "answered before the reply: {:?}",
        t.elapsed()
    );
    assert_eq!(server.state().health().handlers_in_background, 1);
    let h = server.stop().await;
    assert_eq!(
        h.platform.replies_sent, 1,
        "stop waited for the background handler"
    );
    assert_eq!(count(&api, "sendMessage").await, 1);
}

#[tokio::test]
async fn a_redelivered_update_is_not_handled_twice() {
    let api = telegram().await;
    let (server, _) = start(&api, 1, WebhookOpts::default()).await;
    let secret = server.state().secret(1).unwrap().to_owned();
    for _ in 0..3 {
        let r = post(&server, 1, Some(&secret))
            .body(update(9, 100, "once").to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "a redelivery is acknowledged");
    }
    let h = server.stop().await;
    assert_eq!(count(&api, "sendMessage").await, 1);
    assert_eq!(
        (h.platform.updates_handled, h.platform.duplicates_skipped),
        (1, 2)
    );
}

#[tokio::test]
async fn ack_after_answers_after_the_reply_was_sent() {
    let api = MockServer::start().await;
    on("setWebhook")
        .respond_with(ok(json!(true)))
        .mount(&api)
        .await;
    on("sendMessage")
        .respond_with(ok(json!({"message_id": 1})).set_delay(Duration::from_millis(300)))
        .mount(&api)
        .await;
    let (server, _) = start(&api, 1, WebhookOpts::default()).await;
    let secret = server.state().secret(1).unwrap().to_owned();
    let t = Instant::now();
    let r = post(&server, 1, Some(&secret))
        .body(update(5, 100, "x").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(count(&api, "sendMessage").await, 1);
    server.stop().await;
}

#[tokio::test]
async fn allowlist_admits_only_listed_sources() {
    let api = telegram().await;
    let tokens = vec![token(1)];
    let platform = Platform::new(&api.uri(), tokens.clone(), &fast_platform_opts()).unwrap();
    let opts = WebhookOpts {
        allow_ips: Some(vec!["telegram".into()]),
        ..WebhookOpts::default()
    };
    let state = WebhookState::new(platform, &tokens, &opts).unwrap();
    let app = webhook::app(state);
    let from = |peer: Option<&str>| {
        let mut req = Request::post("/webhook/1")
            .body(Body::from(update(1, 1, "x").to_string()))
            .unwrap();
        if let Some(p) = peer {
            req.extensions_mut()
                .insert(ConnectInfo(p.parse::<SocketAddr>().unwrap()));
        }
        req
    };
    let status = |req: Request<Body>| {
        let app = app.clone();
        async move { app.oneshot(req).await.unwrap().status().as_u16() }
    };
    assert_eq!(status(from(Some("8.8.8.8:443"))).await, 403);
    assert_eq!(
        status(from(Some("127.0.0.1:5000"))).await,
        403,
        "loopback only when listed"
    );
    assert_eq!(status(from(None)).await, 403, "no peer address: refused");
    // From Telegram's range the request passes the IP check and meets the secret check.
    assert_eq!(status(from(Some("149.154.167.99:443"))).await, 401);
    assert_eq!(status(from(Some("[::ffff:91.108.6.1]:443"))).await, 401);

    // Over a real socket with `telegram,loopback`: a test on this host gets through.
    let (server, _) = start(
        &api,
        1,
        WebhookOpts {
            allow_ips: Some(vec!["telegram".into(), "loopback".into()]),
            ..WebhookOpts::default()
        },
    )
    .await;
    let secret = server.state().secret(1).unwrap().to_owned();
    let r = post(&server, 1, Some(&secret))
        .body(update(1, 1, "x").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn tls_serves_the_self_signed_certificate_it_uploaded() {
    let api = telegram().await;
    let (server, _) = start(
        &api,
        1,
        WebhookOpts {
            tls: true,
            ..WebhookOpts::default()
        },
    )
    .await;
    assert!(server.public_url().starts_with("https://127.0.0.1:"));
    let upload = api
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path().ends_with("/setWebhook"))
        .unwrap();
    let content_type = upload
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("multipart/form-data"),
        "{content_type}"
    );
    let body = String::from_utf8_lossy(&upload.body).into_owned();
    assert!(body.contains("name=\"secret_token\"") && body.contains("name=\"url\""));
    let begin = body
        .find("-----BEGIN CERTIFICATE-----")
        .expect("certificate uploaded");
    let end = body.find("-----END CERTIFICATE-----").unwrap() + "-----END CERTIFICATE-----".len();
    let cert = reqwest::Certificate::from_pem(&body.as_bytes()[begin..end]).unwrap();

    let trusting = reqwest::Client::builder()
        .add_root_certificate(cert)
        .build()
        .unwrap();
    let r = trusting
        .get(format!("{}/health", server.public_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let secret = server.state().secret(1).unwrap().to_owned();
    let r = trusting
        .post(format!("{}/webhook/1", server.public_url()))
        .header(SECRET_HEADER, secret)
        .body(update(1, 1, "x").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A client that does not trust it cannot connect.
    assert!(
        reqwest::get(format!("{}/health", server.public_url()))
            .await
            .is_err()
    );
    server.stop().await;
}

#[tokio::test]
async fn hybrid_polls_the_rest_and_every_bot_whose_set_webhook_failed() {
    let api = MockServer::start().await;
    let bot2 = token(2);
    Mock::given(method("POST"))
        .and(path_regex(format!("^/bot{}:[^/]+/setWebhook$", bot2.id())))
        .respond_with(err(
            400,
            "Bad Request: bad webhook: IP address is not allowed",
        ))
        .with_priority(1)
        .mount(&api)
        .await;
    on("setWebhook")
        .respond_with(ok(json!(true)))
        .with_priority(2)
        .mount(&api)
        .await;
    on("deleteWebhook")
        .respond_with(ok(json!(true)))
        .mount(&api)
        .await;
    on("getUpdates")
        .respond_with(ok(json!([])).set_delay(Duration::from_millis(300)))
        .mount(&api)
        .await;

    let tokens: Vec<_> = (1..=4).map(token).collect();
    let platform = Platform::new(&api.uri(), tokens, &fast_platform_opts()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = hybrid::start(
        platform,
        listener,
        None,
        &HybridOpts { webhook_share: 0.5 },
        &WebhookOpts::default(),
        &PollingOpts {
            poll_timeout: 1,
            ..PollingOpts::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (
            server.webhook_bots(),
            server.polling_bots(),
            server.fallback_bots()
        ),
        (1, 3, 1)
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let h: Value = reqwest::get(format!("http://{}/health", server.webhook().addr()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            h["transport"].as_str(),
            h["webhooks_set"].as_u64(),
            h["webhooks_failed"].as_u64(),
            h["polling_bots"].as_u64()
        ),
        (Some("hybrid"), Some(1), Some(1), Some(3))
    );
    let report = server.stop().await;
    assert_eq!(report.polling.bots, 3);
    let pollers: std::collections::BTreeSet<i64> = api
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/getUpdates"))
        .map(|r| {
            r.url.path()[4..]
                .split(':')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(
        pollers,
        [2, 3, 4].into_iter().collect(),
        "bot 1 is on its webhook"
    );
}
