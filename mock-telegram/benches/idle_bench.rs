//! Idle cost of 10,000 bots holding long polls (not a timed test: a measurement).
//!
//! Starts the release `mock-telegram` binary in its own process (one process cannot hold
//! both ends of 10,000 connections under a 20,000-descriptor limit), opens one keep-alive
//! connection per bot that long-polls `getUpdates` (timeout 50 s, renewed when answered, as
//! real frameworks do), waits until all 10,000 are held, then samples the mock's CPU time
//! and RSS from /proc/PID/stat and /proc/PID/status for 60 s (so the window includes the
//! 50 s renewals).
//!
//! `cargo bench -p mock-telegram --bench idle_bench` (env: BENCH_BOTS, BENCH_SECS, and
//! BENCH_MOCK_ARGS for extra mock-telegram options such as `--threads 1`)

#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{Conn, Served, cpu_time, rss_mb};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let bots = env_or("BENCH_BOTS", 10_000) as usize;
    let secs = env_or("BENCH_SECS", 60);
    let bots_arg = bots.to_string();
    let extra = std::env::var("BENCH_MOCK_ARGS").unwrap_or_default();
    let mut args = vec!["--listen", "127.0.0.1:0", "--bots", &bots_arg];
    args.extend(extra.split_whitespace());
    let served = Served::start(support::MOCK_BIN, &args, None);
    let addr = served.addr.clone();
    let tokens = support::tokens(&addr).await;
    let rss_before = rss_mb(served.pid());

    let started = Instant::now();
    for (i, (_, token)) in tokens.into_iter().enumerate() {
        let addr = addr.clone();
        tokio::spawn(async move {
            let Ok(mut conn) = Conn::open(&addr).await else {
                return;
            };
            let path = format!("/bot{token}/getUpdates");
            loop {
                if conn
                    .request("POST", &path, br#"{"timeout":50}"#)
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        if i % 250 == 249 {
            // Open gradually: a burst of 10,000 connects overflows the listen backlog.
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    let mut control = Conn::open(&addr).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let held = support::stats(&mut control).await["get_updates"]["in_flight"]
            .as_u64()
            .unwrap_or(0);
        if held as usize >= bots {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {held} of {bots} long polls held after 120 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ramp = started.elapsed();

    let pid = served.pid();
    let cpu0 = cpu_time(pid);
    let t0 = Instant::now();
    let mut rss = Vec::new();
    while t0.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss.push(rss_mb(pid));
    }
    let cpu_pct = (cpu_time(pid) - cpu0).as_secs_f64() / t0.elapsed().as_secs_f64() * 100.0;
    let stats = support::stats(&mut control).await;
    let rss_mean = rss.iter().sum::<f64>() / rss.len().max(1) as f64;
    let rss_max = rss.iter().cloned().fold(0.0, f64::max);
    println!(
        "idle_bench: {} ({})",
        support::machine(),
        std::env::consts::OS
    );
    println!(
        "  bots holding long polls : {bots} (all held after {:.1} s)",
        ramp.as_secs_f64()
    );
    println!(
        "  window                  : {secs} s (getUpdates timeout 50 s, renewed when answered)"
    );
    println!("  mock CPU                : {cpu_pct:.2} % of one core");
    println!(
        "  mock RSS                : mean {rss_mean:.1} MB, max {rss_max:.1} MB (before polls: {rss_before:.1} MB)"
    );
    println!(
        "  getUpdates answered     : {} (held now: {})",
        stats["get_updates"]["calls"], stats["get_updates"]["in_flight"]
    );
    println!("  targets                 : < 2 % of a core, < 150 MB RSS");
    drop(served);
    std::process::exit(0);
}
