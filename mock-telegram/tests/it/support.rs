//! Shared test helpers: a mock served on 127.0.0.1:0, a Bot API client, and a webhook
//! receiver that records what Telegram POSTed and answers as told.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mock_telegram::{BotInfo, Mock, MockConfig, MockServer};
use serde_json::Value;
use tokio::net::TcpListener;

/// Every wait in these tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(10);

/// A running mock and a client for it.
pub struct Harness {
    pub server: MockServer,
    pub http: reqwest::Client,
    pub bots: Vec<BotInfo>,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(70))
        .build()
        .unwrap()
}

impl Harness {
    pub async fn start(config: MockConfig) -> Harness {
        let mock = Mock::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let bots = mock.bots();
        Harness {
            server: MockServer::start(mock, listener),
            http: client(),
            bots,
        }
    }

    /// One bot, Telegram's defaults except a compressed retry schedule.
    pub async fn one_bot() -> Harness {
        Harness::start(MockConfig {
            retry: mock_telegram::RetrySchedule::compressed(0.01),
            ..MockConfig::default()
        })
        .await
    }

    pub fn mock(&self) -> &Arc<Mock> {
        self.server.mock()
    }

    pub fn url(&self, bot: usize, method: &str) -> String {
        format!(
            "{}/bot{}/{}",
            self.server.base_url(),
            self.bots[bot].token,
            method
        )
    }

    /// POSTs a JSON body to a method; returns (HTTP status, envelope).
    pub async fn call(&self, bot: usize, method: &str, params: Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(bot, method))
            .json(&params)
            .send()
            .await
            .unwrap();
        read(response).await
    }

    /// Starts a call in the background (a long poll to hold, say); join it for
    /// (HTTP status, envelope).
    pub fn spawn_call(
        &self,
        bot: usize,
        method: &str,
        params: Value,
    ) -> tokio::task::JoinHandle<(u16, Value)> {
        let request = self.http.post(self.url(bot, method)).json(&params);
        tokio::spawn(async move { read(request.send().await.unwrap()).await })
    }

    /// Waits until `n` getUpdates are held.
    pub async fn held_polls(&self, n: u64) {
        eventually("long polls to be held", || {
            self.mock().stats().get_updates.in_flight == n
        })
        .await;
    }

    /// Calls a method and expects `ok: true`; returns the result.
    pub async fn ok(&self, bot: usize, method: &str, params: Value) -> Value {
        let (status, body) = self.call(bot, method, params).await;
        assert_eq!(status, 200, "{method}: {body}");
        assert_eq!(body["ok"], true, "{method}: {body}");
        body["result"].clone()
    }

    /// A user writes `text` to bot `bot` in chat `chat`.
    pub fn say(&self, bot: usize, chat: i64, text: &str) -> i64 {
        self.mock()
            .inject(mock_telegram::NewUpdate::message(
                self.bots[bot].id,
                chat,
                text,
            ))
            .unwrap()
    }

    pub fn control(&self, path: &str) -> String {
        format!("{}/_mock/{}", self.server.base_url(), path)
    }
}

/// Sends a request; returns (HTTP status, envelope).
pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    read(request.send().await.unwrap()).await
}

pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

/// One POST a webhook receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Value,
    pub at: tokio::time::Instant,
}

/// How the receiver answers the next POST.
#[derive(Clone, Debug)]
pub enum Answer {
    Status(u16),
    StatusRetryAfter(u16, u64),
    Json(Value),
    /// 200 after a pause (to observe concurrency).
    Slow(Duration),
}

#[derive(Default)]
struct ReceiverState {
    received: Vec<Received>,
    script: VecDeque<Answer>,
    in_flight: usize,
    peak: usize,
    chats_in_flight: Vec<i64>,
    same_chat_overlap: bool,
}

/// A webhook endpoint on 127.0.0.1:0 that records POSTs and answers from a script
/// (then 200 OK with an empty body).
#[derive(Clone)]
pub struct Receiver {
    state: Arc<Mutex<ReceiverState>>,
    pub addr: SocketAddr,
}

impl Receiver {
    /// Its state, its app and a bound listener.
    async fn parts(script: Vec<Answer>) -> (Arc<Mutex<ReceiverState>>, axum::Router, TcpListener) {
        let state = Arc::new(Mutex::new(ReceiverState {
            script: script.into(),
            ..Default::default()
        }));
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        (state, app, listener)
    }

    pub async fn start(script: Vec<Answer>) -> Receiver {
        let (state, app, listener) = Self::parts(script).await;
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { state, addr }
    }

    /// The same receiver over TLS with `config` (one connection served per handshake).
    pub async fn start_tls(script: Vec<Answer>, config: Arc<rustls::ServerConfig>) -> Receiver {
        let (state, app, listener) = Self::parts(script).await;
        let addr = listener.local_addr().unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, app) = (acceptor.clone(), app.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper_util::service::TowerToHyperService::new(app);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Receiver { state, addr }
    }

    pub fn url(&self) -> String {
        format!("http://{}/webhook", self.addr)
    }

    /// The URL of a receiver started with [`Receiver::start_tls`] (the certificate's name).
    pub fn https_url(&self) -> String {
        format!("https://localhost:{}/webhook", self.addr.port())
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    pub fn peak(&self) -> usize {
        self.state.lock().unwrap().peak
    }

    pub fn same_chat_overlap(&self) -> bool {
        self.state.lock().unwrap().same_chat_overlap
    }

    /// Waits until `n` POSTs arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {n} webhook POSTs arrived",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn receive(
    State(state): State<Arc<Mutex<ReceiverState>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let chat = body["message"]["chat"]["id"].as_i64().unwrap_or(0);
    let answer = {
        let mut s = state.lock().unwrap();
        s.received.push(Received {
            headers,
            body,
            at: tokio::time::Instant::now(),
        });
        s.in_flight += 1;
        s.peak = s.peak.max(s.in_flight);
        if s.chats_in_flight.contains(&chat) {
            s.same_chat_overlap = true;
        }
        s.chats_in_flight.push(chat);
        s.script.pop_front()
    };
    let response = match answer {
        None => StatusCode::OK.into_response(),
        Some(Answer::Status(code)) => StatusCode::from_u16(code).unwrap().into_response(),
        Some(Answer::StatusRetryAfter(code, secs)) => (
            StatusCode::from_u16(code).unwrap(),
            [("retry-after", secs.to_string())],
        )
            .into_response(),
        Some(Answer::Json(v)) => axum::Json(v).into_response(),
        Some(Answer::Slow(d)) => {
            tokio::time::sleep(d).await;
            StatusCode::OK.into_response()
        }
    };
    let mut s = state.lock().unwrap();
    s.in_flight -= 1;
    if let Some(i) = s.chats_in_flight.iter().position(|c| *c == chat) {
        s.chats_in_flight.remove(i);
    }
    response
}

/// A loopback URL nothing listens on (a webhook that refuses connections).
pub async fn refused_url() -> String {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    url
}

/// Polls `check` until it holds (bounded by [`WAIT`]).
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
