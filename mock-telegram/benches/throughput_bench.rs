//! Updates delivered per second on one core, by getUpdates and by webhook POST, next to a
//! hyper hello-world ceiling measured in the same run (not a timed test: a measurement).
//!
//! The server under measurement (the release `mock-telegram` binary with `--threads 1`, or
//! a hyper hello-world started from this same program) runs in its own process pinned to
//! CPU 0; this program, the load generator and the bots' side, pins itself to CPU 1 and
//! uses a minimal keep-alive HTTP/1.1 client so it costs as little as possible.
//!
//! Phases 1-3 take turns in BENCH_ROUNDS rounds (default 3) of BENCH_SECS windows (default
//! 5), and the medians are reported, so the machine's other load drifts over all alike:
//! 1. hyper hello-world: 64 keep-alive connections, GET in a closed loop -> requests/s.
//! 2. getUpdates: 100 bots long-polling (offset confirmed), updates injected through
//!    `POST /_mock/updates` in batches of 100 as fast as the mock takes them -> delivered/s.
//! 3. webhook: the same 100 bots with webhooks to a hyper receiver here -> 2xx POSTs/s.
//! 4. echo latency at a paced rate below the ceiling (BENCH_RATE updates/s, default 2000):
//!    by getUpdates + sendMessage, and by webhook with the reply in the response body;
//!    p50/p99 of the mock's own latency histogram (due -> reply).
//!
//! `cargo bench -p mock-telegram --bench throughput_bench`

#[path = "support/mod.rs"]
mod support;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use support::{Conn, Served};
use tokio::net::TcpListener;

const BOTS: usize = 100;
/// Chats per bot: more than a webhook's 40 connections, so chats do not cap parallelism.
const CHATS_PER_BOT: usize = 64;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::args().any(|a| a == "--hello-server") {
        return hello_server();
    }
    let machine = support::machine();
    let pinned = support::pin_self(1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(machine, pinned));
}

/// Phase 1's server: hyper's hello world on one thread.
fn hello_server() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening on http://{}", listener.local_addr().unwrap());
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(|_req: Request<hyper::body::Incoming>| async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                        b"Hello, World!",
                    ))))
                });
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

async fn run(machine: String, pinned: bool) {
    let secs = Duration::from_secs(env_or("BENCH_SECS", 5));
    let rounds = env_or("BENCH_ROUNDS", 3) as usize;
    let rate = env_or("BENCH_RATE", 2000);
    println!("throughput_bench: {machine} ({})", std::env::consts::OS);
    println!(
        "  server pinned to CPU 0, load generator to CPU 1: {}",
        if pinned {
            "yes"
        } else {
            "no (taskset missing): figures are not one-core figures"
        }
    );

    // All three servers wait on CPU 0; the windows take turns, so drift in the machine's
    // other load touches the ceiling and the mock alike. Medians over the rounds.
    let exe = std::env::current_exe().unwrap();
    let hello = Served::start(exe.to_str().unwrap(), &["--hello-server"], Some(0));
    let polling = Setup::polling().await;
    let webhook = Setup::webhook().await;
    let (mut ceiling, mut polled, mut calls, mut hooked) = (vec![], vec![], vec![], vec![]);
    let (mut polled_cpu, mut hooked_cpu) = (vec![], vec![]);
    for _ in 0..rounds {
        ceiling.push(hello_ceiling(&hello.addr, secs).await);
        let ([updates, polls], cpu) = polling
            .window(secs, |s| {
                [
                    s["updates"]["delivered"].clone(),
                    s["get_updates"]["calls"].clone(),
                ]
            })
            .await;
        polled.push(updates);
        calls.push(polls);
        polled_cpu.push(cpu);
        let ([posts], cpu) = webhook.window(secs, |s| [s["webhook"]["ok"].clone()]).await;
        hooked.push(posts);
        hooked_cpu.push(cpu);
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    drop((hello, polling, webhook));
    let ceiling = median(ceiling);
    let (polled, calls, hooked) = (median(polled), median(calls), median(hooked));
    println!(
        "  rounds                         : {rounds} x {} s windows, medians",
        secs.as_secs()
    );
    println!("  hyper hello-world ceiling      : {ceiling:>9.0} requests/s (64 connections)");
    println!(
        "  getUpdates delivery            : {polled:>9.0} updates/s = {:.2} x ceiling ({calls:.0} getUpdates/s, mean batch {:.1}; mock CPU {:.0} %)",
        polled / ceiling,
        polled / calls.max(1.0),
        median(polled_cpu)
    );
    println!(
        "  webhook delivery               : {hooked:>9.0} updates/s = {:.2} x ceiling (1 POST each; mock CPU {:.0} %)",
        hooked / ceiling,
        median(hooked_cpu)
    );

    let (p50, p99) = polling_echo_latency(rate, secs).await;
    println!(
        "  echo by getUpdates at {rate}/s  : p50 {p50:.3} ms, p99 {p99:.3} ms (due -> sendMessage)"
    );
    let (p50, p99) = webhook_echo_latency(rate, secs).await;
    println!(
        "  echo by webhook at {rate}/s     : p50 {p50:.3} ms, p99 {p99:.3} ms (due -> reply in response)"
    );
    println!(
        "  load average at the end        : {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("  targets: delivery >= 0.5 x ceiling; p99 added latency < 1 ms below the ceiling");
    std::process::exit(0);
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Closed-loop GETs on 64 connections.
async fn hello_ceiling(addr: &str, secs: Duration) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    for _ in 0..64 {
        let (addr, done, stop) = (addr.to_string(), done.clone(), stop.clone());
        tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await.unwrap();
            while !stop.load(Relaxed) {
                if conn.request("GET", "/", b"").await.is_err() {
                    return;
                }
                done.fetch_add(1, Relaxed);
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = done.load(Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(secs).await;
    let n = done.load(Relaxed) - before;
    stop.store(true, Relaxed);
    n as f64 / t0.elapsed().as_secs_f64()
}

fn start_mock() -> Served {
    let bots = BOTS.to_string();
    Served::start(
        support::MOCK_BIN,
        &[
            "--listen",
            "127.0.0.1:0",
            "--bots",
            &bots,
            "--threads",
            "1",
            "--no-rate-limits",
            "--no-anti-spin",
        ],
        Some(0),
    )
}

/// Ready-made `{"updates":[…]}` bodies: one update per bot, each bot's chats cycling.
fn batches(bots: &[(i64, String)]) -> Vec<Vec<u8>> {
    (0..CHATS_PER_BOT)
        .map(|round| {
            let updates: Vec<Value> = bots
                .iter()
                .enumerate()
                .map(|(i, (id, _))| json!({"bot_id": id, "chat_id": 1 + i * CHATS_PER_BOT + round, "text": "hello"}))
                .collect();
            serde_json::to_vec(&json!({ "updates": updates })).unwrap()
        })
        .collect()
}

/// Updates not yet seen by the bots' side that the injectors allow: enough to keep every
/// bot busy, bounded so that injecting does not crowd out delivering on the mock's core.
const BACKLOG: u64 = 20_000;

/// Injects batches as fast as the bots' side takes them (at most [`BACKLOG`] ahead of
/// `received`), on `conns` connections, until stopped.
fn spawn_injectors(
    addr: &str,
    bodies: Arc<Vec<Vec<u8>>>,
    conns: usize,
    stop: Arc<AtomicBool>,
    received: Arc<AtomicU64>,
) {
    let injected = Arc::new(AtomicU64::new(received.load(Relaxed)));
    for c in 0..conns {
        let (addr, bodies, stop, received, injected) = (
            addr.to_string(),
            bodies.clone(),
            stop.clone(),
            received.clone(),
            injected.clone(),
        );
        tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await.unwrap();
            let mut i = c;
            while !stop.load(Relaxed) {
                if injected.load(Relaxed) > received.load(Relaxed) + BACKLOG {
                    tokio::time::sleep(Duration::from_micros(500)).await;
                    continue;
                }
                injected.fetch_add(BOTS as u64, Relaxed);
                if conn
                    .request("POST", "/_mock/updates", &bodies[i % bodies.len()])
                    .await
                    .is_err()
                {
                    return;
                }
                i += 1;
            }
        });
    }
}

/// The last update_id in a getUpdates answer (a scan, to keep the client cheap).
fn last_update_id(body: &[u8]) -> Option<i64> {
    let key = b"\"update_id\":";
    let pos = body.windows(key.len()).rposition(|w| w == key)? + key.len();
    let digits: Vec<u8> = body[pos..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

/// After a 1 s warm-up, how fast the picked stats counters grow over `secs`, per second,
/// and the mock's CPU use meanwhile (% of one core).
async fn rates<const N: usize>(
    mock: &Served,
    secs: Duration,
    pick: impl Fn(&Value) -> [Value; N],
) -> ([f64; N], f64) {
    let mut control = Conn::open(&mock.addr).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = pick(&support::stats(&mut control).await);
    let cpu0 = support::cpu_time(mock.pid());
    let t0 = Instant::now();
    tokio::time::sleep(secs).await;
    let after = pick(&support::stats(&mut control).await);
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu = (support::cpu_time(mock.pid()) - cpu0).as_secs_f64() / elapsed * 100.0;
    let per_second = std::array::from_fn(|i| {
        (after[i].as_u64().unwrap_or(0) - before[i].as_u64().unwrap_or(0)) as f64 / elapsed
    });
    (per_second, cpu)
}

/// A mock under measurement, its bots, and how many updates the bots' side has seen.
struct Setup {
    mock: Served,
    bots: Vec<(i64, String)>,
    received: Arc<AtomicU64>,
}

impl Setup {
    /// Phase 2's mock: 100 bots long-polling (offset confirmed) all along; idle between
    /// windows.
    async fn polling() -> Setup {
        let mock = start_mock();
        let bots = support::tokens(&mock.addr).await;
        let received = Arc::new(AtomicU64::new(0));
        for (_, token) in &bots {
            let (addr, path, received) = (
                mock.addr.clone(),
                format!("/bot{token}/getUpdates"),
                received.clone(),
            );
            tokio::spawn(async move {
                let mut conn = Conn::open(&addr).await.unwrap();
                let mut offset = 0;
                loop {
                    let body = format!(r#"{{"offset":{offset},"timeout":5}}"#);
                    let Ok((_, answer)) = conn.request("POST", &path, body.as_bytes()).await else {
                        return;
                    };
                    if let Some(id) = last_update_id(&answer) {
                        received.fetch_add((id + 1 - offset.max(1)).max(0) as u64, Relaxed);
                        offset = id + 1;
                    }
                }
            });
        }
        Setup {
            mock,
            bots,
            received,
        }
    }

    /// Injects for one window: (the picked counters per second, mock CPU %).
    async fn window<const N: usize>(
        &self,
        secs: Duration,
        pick: impl Fn(&Value) -> [Value; N],
    ) -> ([f64; N], f64) {
        let stop = Arc::new(AtomicBool::new(false));
        spawn_injectors(
            &self.mock.addr,
            Arc::new(batches(&self.bots)),
            4,
            stop.clone(),
            self.received.clone(),
        );
        let measured = rates(&self.mock, secs, pick).await;
        stop.store(true, Relaxed);
        tokio::time::sleep(Duration::from_millis(500)).await;
        measured
    }
}

/// A webhook receiver here: 200 with an empty body, or the reply in the body when `echo`.
/// Counts the POSTs in `received`.
async fn receiver(echo: bool, received: Arc<AtomicU64>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let _ = stream.set_nodelay(true);
            let received = received.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    received.fetch_add(1, Relaxed);
                    async move {
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let reply = if echo {
                            let update: Value =
                                serde_json::from_slice(&body).unwrap_or(Value::Null);
                            let chat = update["message"]["chat"]["id"].as_i64().unwrap_or(0);
                            Bytes::from(serde_json::to_vec(&json!({"method": "sendMessage", "chat_id": chat, "text": "echo"})).unwrap())
                        } else {
                            Bytes::new()
                        };
                        let mut response = Response::new(Full::new(reply));
                        response
                            .headers_mut()
                            .insert("content-type", "application/json".parse().unwrap());
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

async fn set_webhooks(mock: &Served, bots: &[(i64, String)], receiver: &str) {
    let mut conn = Conn::open(&mock.addr).await.unwrap();
    for (id, token) in bots {
        let body = json!({"url": format!("http://{receiver}/webhook/{id}"), "max_connections": 40});
        let (status, _) = conn
            .request(
                "POST",
                &format!("/bot{token}/setWebhook"),
                &serde_json::to_vec(&body).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(status, 200);
    }
}

impl Setup {
    /// Phase 3's mock: the same 100 bots with webhooks to a receiver here.
    async fn webhook() -> Setup {
        let mock = start_mock();
        let bots = support::tokens(&mock.addr).await;
        let received = Arc::new(AtomicU64::new(0));
        let hook = receiver(false, received.clone()).await;
        set_webhooks(&mock, &bots, &hook).await;
        Setup {
            mock,
            bots,
            received,
        }
    }
}

/// Injects `rate` updates/s in 100 ticks a second, spread over the bots and chats.
async fn paced_injection(addr: &str, bots: &[(i64, String)], rate: u64, secs: Duration) {
    let mut conn = Conn::open(addr).await.unwrap();
    let per_tick = (rate / 100).max(1) as usize;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let mut n = 0usize;
    let t0 = Instant::now();
    while t0.elapsed() < secs {
        tick.tick().await;
        let updates: Vec<Value> = (0..per_tick)
            .map(|_| {
                n += 1;
                json!({"bot_id": bots[n % bots.len()].0, "chat_id": 1 + n % (BOTS * CHATS_PER_BOT), "text": "ping"})
            })
            .collect();
        conn.request(
            "POST",
            "/_mock/updates",
            &serde_json::to_vec(&json!({ "updates": updates })).unwrap(),
        )
        .await
        .unwrap();
    }
}

async fn latency(control: &mut Conn) -> (f64, f64) {
    let s = support::stats(control).await;
    (
        s["latency_ms"]["p50"].as_f64().unwrap_or(0.0),
        s["latency_ms"]["p99"].as_f64().unwrap_or(0.0),
    )
}

/// Phase 4a: echo by getUpdates + sendMessage at a paced rate.
async fn polling_echo_latency(rate: u64, secs: Duration) -> (f64, f64) {
    let mock = start_mock();
    let bots = support::tokens(&mock.addr).await;
    let stop = Arc::new(AtomicBool::new(false));
    for (_, token) in &bots {
        let (addr, token, stop) = (mock.addr.clone(), token.clone(), stop.clone());
        tokio::spawn(async move {
            let mut poll = Conn::open(&addr).await.unwrap();
            let mut send = Conn::open(&addr).await.unwrap();
            let (get, reply) = (
                format!("/bot{token}/getUpdates"),
                format!("/bot{token}/sendMessage"),
            );
            let mut offset = 0;
            while !stop.load(Relaxed) {
                let body = format!(r#"{{"offset":{offset},"timeout":5}}"#);
                let Ok((_, answer)) = poll.request("POST", &get, body.as_bytes()).await else {
                    return;
                };
                let answer: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
                for u in answer["result"].as_array().into_iter().flatten() {
                    offset = u["update_id"].as_i64().unwrap_or(offset) + 1;
                    let chat = u["message"]["chat"]["id"].as_i64().unwrap_or(0);
                    let body = format!(r#"{{"chat_id":{chat},"text":"pong"}}"#);
                    if send.request("POST", &reply, body.as_bytes()).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    paced_injection(&mock.addr, &bots, rate, secs).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Relaxed);
    latency(&mut Conn::open(&mock.addr).await.unwrap()).await
}

/// Phase 4b: echo by webhook with the reply in the response body, at a paced rate.
async fn webhook_echo_latency(rate: u64, secs: Duration) -> (f64, f64) {
    let mock = start_mock();
    let bots = support::tokens(&mock.addr).await;
    let hook = receiver(true, Arc::new(AtomicU64::new(0))).await;
    set_webhooks(&mock, &bots, &hook).await;
    paced_injection(&mock.addr, &bots, rate, secs).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    latency(&mut Conn::open(&mock.addr).await.unwrap()).await
}
