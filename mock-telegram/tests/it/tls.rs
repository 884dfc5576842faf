//! TLS on both sides: the Bot API over HTTPS with a per-run test CA (and only for clients
//! that trust it), handshakes counted on the server side and on the webhook client side,
//! and Telegram's allowed webhook ports when enforced.

use std::time::Duration;

use mock_telegram::{Mock, MockConfig, MockServer, TestCa, tls};
use serde_json::json;
use tokio::net::TcpListener;

use crate::support::{Harness, Receiver, eventually, send};

async fn https_mock(ca: &TestCa) -> MockServer {
    let issued = ca.issue_loopback().unwrap();
    let config = tls::server_config(&issued.cert_pem, &issued.key_pem).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    MockServer::start_tls(Mock::new(MockConfig::default()), listener, config)
}

fn client_trusting(ca_pem: Option<&str>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .tls_built_in_root_certs(false)
        .timeout(Duration::from_secs(10));
    if let Some(pem) = ca_pem {
        b = b.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap());
    }
    b.build().unwrap()
}

#[tokio::test]
async fn the_bot_api_is_served_over_https_to_clients_trusting_the_test_ca() {
    let ca = TestCa::new().unwrap();
    let server = https_mock(&ca).await;
    let url = format!(
        "{}/bot{}/getMe",
        server.base_url(),
        server.mock().bots()[0].token
    );
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let trusting = client_trusting(Some(&ca.cert_pem()));
    for _ in 0..3 {
        let (status, body) = send(trusting.post(&url)).await;
        assert_eq!((status, body["ok"].as_bool()), (200, Some(true)), "{body}");
    }
    assert_eq!(
        server.mock().stats().tls.bot_api_handshakes,
        1,
        "three calls on one kept-alive connection: one handshake"
    );
    // A client that does not trust the CA fails the handshake; nothing is answered.
    let other = TestCa::new().unwrap();
    let stranger = client_trusting(Some(&other.cert_pem()));
    let refused = stranger.post(&url).send().await;
    assert!(refused.is_err(), "{refused:?}");
    // Plain HTTP on the TLS port gets no answer either.
    let plain = format!(
        "http://{}/bot{}/getMe",
        server.addr(),
        server.mock().bots()[0].token
    );
    let plain = client_trusting(None).post(plain).send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    assert_eq!(server.mock().stats().tls.bot_api_handshakes, 1);
    assert_eq!(server.mock().stats().requests["getMe"], 3);
    server.shutdown().await;
}

#[tokio::test]
async fn webhook_handshakes_are_counted_once_per_kept_alive_connection() {
    let ca = TestCa::new().unwrap();
    let issued = ca.issue_loopback().unwrap();
    let receiver = Receiver::start_tls(
        vec![],
        tls::server_config(&issued.cert_pem, &issued.key_pem).unwrap(),
    )
    .await;
    let h = Harness::one_bot().await;
    h.ok(0, "setWebhook", json!({"url": receiver.https_url()}))
        .await;
    for chat in 1..=3 {
        h.say(0, chat, "over tls");
        eventually("the TLS delivery", || {
            h.mock().stats().webhook.ok == chat as u64
        })
        .await;
    }
    let s = h.mock().stats();
    assert_eq!(receiver.received().len(), 3);
    assert_eq!(
        (s.tls.webhook_handshakes, s.tls.bot_api_handshakes),
        (1, 0),
        "three POSTs one after another reuse one connection; the Bot API is plain here"
    );
}

#[tokio::test]
async fn webhook_ports_telegram_refuses_are_refused_when_enforced() {
    let h = Harness::start(MockConfig {
        enforce_webhook_ports: true,
        ..MockConfig::default()
    })
    .await;
    let (status, body) = h
        .call(
            0,
            "setWebhook",
            json!({"url": "https://127.0.0.1:9443/hook"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["description"],
        "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
    );
    for ok in ["https://127.0.0.1:8443/hook", "https://localhost/hook"] {
        h.ok(0, "setWebhook", json!({"url": ok})).await;
    }
    // Not enforced (the default): any loopback port.
    let free = Harness::start(MockConfig::default()).await;
    free.ok(
        0,
        "setWebhook",
        json!({"url": "https://127.0.0.1:9443/hook"}),
    )
    .await;
}

#[tokio::test]
async fn webhook_certificates_are_checked_against_the_ca_unless_one_was_uploaded() {
    let ca = TestCa::new().unwrap();
    let stranger_ca = TestCa::new().unwrap();
    let serve = |issuer: &TestCa| {
        let issued = issuer.issue_loopback().unwrap();
        tls::server_config(&issued.cert_pem, &issued.key_pem).unwrap()
    };
    let trusted = Receiver::start_tls(vec![], serve(&ca)).await;
    let stranger_cert = stranger_ca.issue_loopback().unwrap();
    let stranger = Receiver::start_tls(
        vec![],
        tls::server_config(&stranger_cert.cert_pem, &stranger_cert.key_pem).unwrap(),
    )
    .await;
    let h = Harness::start(MockConfig {
        bots: 2,
        retry: mock_telegram::RetrySchedule::compressed(0.01),
        webhook_ca_pem: Some(ca.cert_pem()),
        ..MockConfig::default()
    })
    .await;
    h.ok(0, "setWebhook", json!({"url": trusted.https_url()}))
        .await;
    h.ok(1, "setWebhook", json!({"url": stranger.https_url()}))
        .await;
    h.say(0, 1, "to the CA's certificate");
    h.say(1, 1, "to a stranger's certificate");
    eventually("the trusted delivery and a failed one", || {
        let s = h.mock().stats();
        s.webhook.ok == 1 && s.webhook.failed >= 1
    })
    .await;
    assert_eq!(trusted.received().len(), 1);
    assert!(
        stranger.received().is_empty(),
        "no request over a refused handshake"
    );
    let info = h.ok(1, "getWebhookInfo", json!({})).await;
    assert_eq!(info["last_error_message"], "SSL error");

    // Uploading the stranger's certificate with setWebhook, as Telegram allows: trusted.
    let form = reqwest::multipart::Form::new()
        .text("url", stranger.https_url())
        .part(
            "certificate",
            reqwest::multipart::Part::bytes(stranger_cert.cert_pem.clone().into_bytes())
                .file_name("cert.pem"),
        );
    let (status, body) = send(h.http.post(h.url(1, "setWebhook")).multipart(form)).await;
    assert_eq!((status, body["ok"].as_bool()), (200, Some(true)), "{body}");
    eventually("the delivery to the uploaded certificate", || {
        h.mock().stats().webhook.ok == 2
    })
    .await;
    assert_eq!(stranger.received().len(), 1);
}
