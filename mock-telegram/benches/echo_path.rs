//! The harness's cost per echoed message, measured with criterion over the whole echo path in
//! one process, no SUT: a user's message injected in-process (as tgbench's injector does) →
//! handed out by getUpdates (first bench) or by a webhook POST (second bench) → the bot's
//! sendMessage reply over HTTP → matched to its update → its latency recorded.
//!
//! The bots' side (a minimal keep-alive HTTP/1.1 client, and for webhooks a hyper receiver)
//! runs on a thread of its own; everything else in the process is the harness: the mock's
//! runtime and the injecting (criterion's) thread. Criterion's "time" here is **CPU time of
//! the harness threads per echoed message**, read from `/proc/self/task/*/schedstat` (ns), not
//! wall time: the bots' side is left out, and the machine's other load does not inflate it.
//!
//! Each measured batch injects one message per bot in rounds of up to `BOTS` (every bot has one
//! update to answer, as at ~10 messages/s per bot with a quick bot), and waits for every
//! reply before the next round. At the end the mock's counters must show every message
//! replied exactly once and recorded in the latency histogram, or the bench panics.
//!
//! The mock runs as inside `tgbench` with the harness on one core: a multi-thread runtime
//! with one worker (`BENCH_MOCK_THREADS` sets another count; tgbench used 2 before issue 17).
//!
//! `cargo bench -p mock-telegram --bench echo_path` (`-- --quick` for a short run; under
//! callgrind: `valgrind --tool=callgrind target/release/deps/echo_path-* --bench --profile-time 5`).

#[path = "support/mod.rs"]
mod support;

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use mock_telegram::{Mock, MockConfig, MockServer, NewUpdate};
use serde_json::{Value, json};
use support::Conn;
use tokio::net::TcpListener;

/// The allocator of the `tgbench` and `mock-telegram` binaries (jemalloc), so the figure is
/// theirs.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Bots, each with its own connection (and webhook) on the bots' side.
const BOTS: usize = 200;
/// Chats per bot the rounds cycle through.
const CHATS_PER_BOT: i64 = 16;

/// How many replies the bots' side has seen; the injecting thread is woken only when the
/// count reaches what it waits for (so waiting costs the harness no CPU per message).
#[derive(Default)]
struct Echoed {
    n: AtomicU64,
    target: AtomicU64,
    lock: Mutex<()>,
    bell: Condvar,
}

impl Echoed {
    fn add(&self) {
        let n = self.n.fetch_add(1, SeqCst) + 1;
        if n >= self.target.load(SeqCst) {
            let _held = self.lock.lock().unwrap();
            self.bell.notify_all();
        }
    }

    fn wait_for(&self, target: u64) {
        self.target.store(target, SeqCst);
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut held = self.lock.lock().unwrap();
        while self.n.load(SeqCst) < target {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "replies stopped at {} of {target}",
                self.n.load(SeqCst)
            );
            held = self.bell.wait_timeout(held, left).unwrap().0;
        }
    }
}

/// A mock served on its own runtime, and the bots' side on a thread of its own.
struct Rig {
    mock: Arc<Mock>,
    bot_ids: Vec<i64>,
    echoed: Arc<Echoed>,
    injected: u64,
    /// Thread ids of the bots' side, left out of the harness's CPU.
    bots_tids: Vec<u64>,
    _mock_rt: tokio::runtime::Runtime,
    _server: MockServer,
}

#[derive(Clone, Copy, PartialEq)]
enum Transport {
    Polling,
    Webhook,
}

fn mock_runtime() -> tokio::runtime::Runtime {
    let threads: usize = std::env::var("BENCH_MOCK_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .unwrap()
}

impl Rig {
    fn start(transport: Transport) -> Rig {
        let mock = Mock::new(MockConfig {
            bots: BOTS,
            rate_limits: false,
            anti_spin: false,
            ..MockConfig::default()
        });
        let mock_rt = mock_runtime();
        let server = mock_rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            MockServer::start(mock.clone(), listener)
        });
        let addr = server.addr().to_string();
        let bots: Vec<(i64, String)> = mock.bots().into_iter().map(|b| (b.id, b.token)).collect();
        let echoed = Arc::new(Echoed::default());
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        {
            let (bots, echoed) = (bots.clone(), echoed.clone());
            std::thread::Builder::new()
                .name("bots".into())
                .spawn(move || {
                    tid_tx.send(thread_id()).unwrap();
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async move {
                        match transport {
                            Transport::Polling => start_pollers(&addr, bots, echoed).await,
                            Transport::Webhook => start_receiver(&addr, bots, echoed).await,
                        }
                        ready_tx.send(()).unwrap();
                        std::future::pending::<()>().await
                    })
                })
                .unwrap();
        }
        let bots_tids = vec![tid_rx.recv().unwrap()];
        ready_rx.recv().unwrap();
        // Every bot polling or with its webhook set before the first message.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = mock.readiness();
            let ready = match transport {
                Transport::Polling => r.polling,
                Transport::Webhook => r.webhooks_set,
            };
            if ready == BOTS {
                break;
            }
            assert!(Instant::now() < deadline, "bots not ready: {r:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
        Rig {
            bot_ids: bots.iter().map(|b| b.0).collect(),
            mock,
            echoed,
            injected: 0,
            bots_tids,
            _mock_rt: mock_rt,
            _server: server,
        }
    }

    /// Injects `n` messages, one per bot per round, each round answered before the next.
    fn echo(&mut self, n: u64) {
        let mut left = n;
        while left > 0 {
            let round = left.min(BOTS as u64);
            let chat = 1 + (self.injected / BOTS as u64) as i64 % CHATS_PER_BOT;
            for &bot in &self.bot_ids[..round as usize] {
                let mut u = NewUpdate::message(bot, chat, format!("hello {}", self.injected));
                u.due = Some(Instant::now());
                self.mock.inject(u).unwrap();
                self.injected += 1;
            }
            self.echoed.wait_for(self.injected);
            left -= round;
        }
    }

    /// CPU time so far of every thread in the process but the bots' side.
    fn harness_cpu(&self) -> Duration {
        let mut ns = 0u64;
        for entry in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
            let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            if self.bots_tids.contains(&tid) {
                continue;
            }
            ns += schedstat_ns(&format!("/proc/self/task/{tid}/schedstat"));
        }
        Duration::from_nanos(ns)
    }

    /// Every message replied once and its latency recorded: the accounting is exact.
    fn check_accounting(&self) {
        // The last reply may still be in the mock's hands after the bots' side saw it.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.mock.stats();
            let recorded = self.mock.latency_histogram().len();
            if s.updates.replied == self.injected && recorded == self.injected {
                assert_eq!(s.updates.injected, self.injected);
                assert_eq!(s.updates.duplicated, 0);
                return;
            }
            assert!(
                Instant::now() < deadline,
                "accounting: injected {}, replied {}, recorded {recorded}, duplicated {}",
                self.injected,
                s.updates.replied,
                s.updates.duplicated
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn thread_id() -> u64 {
    let link = std::fs::read_link("/proc/thread-self").unwrap();
    link.file_name().unwrap().to_str().unwrap().parse().unwrap()
}

/// A thread's time on CPU, ns (first field of schedstat).
fn schedstat_ns(path: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn send_message_body(update: &Value) -> Option<Vec<u8>> {
    let message = &update["message"];
    let chat = message["chat"]["id"].as_i64()?;
    let reply_to = message["message_id"].as_i64()?;
    serde_json::to_vec(&json!({
        "chat_id": chat,
        "text": "echo",
        "reply_parameters": {"message_id": reply_to},
    }))
    .ok()
}

/// One long-polling task per bot: getUpdates (timeout 30, offset confirmed), then a
/// sendMessage per update.
async fn start_pollers(addr: &str, bots: Vec<(i64, String)>, echoed: Arc<Echoed>) {
    for (_, token) in bots {
        let mut conn = Conn::open(addr).await.unwrap();
        let echoed = echoed.clone();
        tokio::spawn(async move {
            let (poll, send) = (
                format!("/bot{token}/getUpdates"),
                format!("/bot{token}/sendMessage"),
            );
            let mut offset = 0i64;
            loop {
                let body = format!(r#"{{"offset":{offset},"timeout":30}}"#);
                let Ok((200, answer)) = conn.request("POST", &poll, body.as_bytes()).await else {
                    return;
                };
                let v: Value = serde_json::from_slice(&answer).unwrap();
                for u in v["result"].as_array().unwrap() {
                    offset = u["update_id"].as_i64().unwrap() + 1;
                    let reply = send_message_body(u).unwrap();
                    let (status, _) = conn.request("POST", &send, &reply).await.unwrap();
                    assert_eq!(status, 200);
                    echoed.add();
                }
            }
        });
    }
}

/// A hyper receiver for every bot's webhook (`/hook/<index>`); each POST's update is
/// answered by a sendMessage on that bot's own connection, then the POST by 200.
async fn start_receiver(addr: &str, bots: Vec<(i64, String)>, echoed: Arc<Echoed>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_base = format!("http://{}/hook", listener.local_addr().unwrap());
    let mut conns = Vec::new();
    for (i, (_, token)) in bots.iter().enumerate() {
        let mut conn = Conn::open(addr).await.unwrap();
        let body = serde_json::to_vec(&json!({"url": format!("{hook_base}/{i}")})).unwrap();
        let (status, _) = conn
            .request("POST", &format!("/bot{token}/setWebhook"), &body)
            .await
            .unwrap();
        assert_eq!(status, 200);
        conns.push(tokio::sync::Mutex::new((
            conn,
            format!("/bot{token}/sendMessage"),
        )));
    }
    let conns = Arc::new(conns);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let _ = stream.set_nodelay(true);
            let (conns, echoed) = (conns.clone(), echoed.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (conns, echoed) = (conns.clone(), echoed.clone());
                    async move {
                        let bot: usize = req
                            .uri()
                            .path()
                            .rsplit('/')
                            .next()
                            .and_then(|s| s.parse().ok())
                            .unwrap();
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let update: Value = serde_json::from_slice(&body).unwrap();
                        let reply = send_message_body(&update).unwrap();
                        {
                            let mut c = conns[bot].lock().await;
                            let (conn, path) = &mut *c;
                            let (status, _) = conn.request("POST", path, &reply).await.unwrap();
                            assert_eq!(status, 200);
                        }
                        echoed.add();
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
                    }
                });
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

fn echo_path(c: &mut Criterion) {
    let mut g = c.benchmark_group("echo path (harness CPU per echoed message)");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    for (name, transport) in [
        ("getUpdates + sendMessage", Transport::Polling),
        ("webhook POST + sendMessage", Transport::Webhook),
    ] {
        let mut rig = Rig::start(transport);
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let before = rig.harness_cpu();
                rig.echo(iters);
                rig.harness_cpu() - before
            })
        });
        rig.check_accounting();
        println!(
            "{name}: {} messages echoed, every one replied once and its latency recorded",
            rig.injected
        );
    }
    g.finish();
}

criterion_group!(benches, echo_path);
criterion_main!(benches);
