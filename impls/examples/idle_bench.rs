//! Idle and light-load cost of the reference servers, each binary alone with the
//! `mock-telegram` binary as a separate process.
//!
//! For each transport: start the mock (`--bots N`), write its tokens to a file, start the
//! bot server with the SUT environment, wait for its ready line, let start-up settle, then
//! 1. idle for `--idle-s`: no messages;
//! 2. load for `--load-s`: one message per bot per minute, spread evenly, injected through
//!    the mock's control API (`POST /_mock/updates`);
//!
//! sampling the bot process's CPU (utime+stime from /proc/PID/stat, as % of one core) and
//! RSS (VmRSS from /proc/PID/status, every second), and the mock's request counters and
//! reply latency (the mock's clock: due → reply). Then SIGTERM, and a Markdown table.
//!
//! ```sh
//! cargo build --release -p tgbench-impls -p mock-telegram
//! cargo run --release -p tgbench-impls --example idle_bench -- --bots 2000
//! ```

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

#[derive(Debug, Parser)]
#[command(
    about = "Idle and 1-message-per-bot-per-minute cost of polling-bot, webhook-bot, hybrid-bot"
)]
struct Opts {
    /// Bots served by each server.
    #[arg(long, default_value_t = 2000)]
    bots: usize,
    /// Seconds of the idle phase.
    #[arg(long, default_value_t = 60)]
    idle_s: u64,
    /// Seconds of the load phase (one message per bot per minute).
    #[arg(long, default_value_t = 60)]
    load_s: u64,
    /// Seconds to let start-up settle before measuring.
    #[arg(long, default_value_t = 5)]
    settle_s: u64,
    /// Transports to measure.
    #[arg(long, value_delimiter = ',', default_value = "polling,webhook,hybrid")]
    transports: Vec<String>,
    /// The mock's emulated round trip, in ms.
    #[arg(long, default_value_t = 0.0)]
    rtt_ms: f64,
    /// Extra flags for the bot server (e.g. "--ack before").
    #[arg(long, allow_hyphen_values = true, default_value = "")]
    bot_args: String,
    /// Extra flags for hybrid-bot only.
    #[arg(
        long,
        allow_hyphen_values = true,
        default_value = "--webhook-share 0.5"
    )]
    hybrid_args: String,
    /// Pin the mock to CPU 0 and the bot server to CPU 1 (taskset), so the mock's work is
    /// never counted against the bot server (where the machine has two cores to spare).
    #[arg(long)]
    pin: bool,
    /// Where polling-bot, webhook-bot, hybrid-bot and mock-telegram are (default: beside
    /// this example's binary, i.e. target/release).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
}

#[derive(Debug, Default, Clone)]
struct Phase {
    cpu_pct: f64,
    rss_mean_mb: f64,
    rss_peak_mb: f64,
    mock_cpu_pct: f64,
    requests_per_min: f64,
    injected: u64,
    replied: u64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Debug)]
struct Run {
    transport: String,
    ready_line: String,
    ready_s: f64,
    idle: Phase,
    load: Phase,
    stop_s: f64,
    exit_ok: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = Opts::parse();
    let bin_dir = match &opts.bin_dir {
        Some(d) => d.clone(),
        None => std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .context("no target dir")?
            .to_owned(),
    };
    for b in ["mock-telegram", "polling-bot", "webhook-bot", "hybrid-bot"] {
        if !bin_dir.join(b).exists() {
            bail!(
                "{} is missing: run `cargo build --release -p tgbench-impls -p mock-telegram` first",
                bin_dir.join(b).display()
            );
        }
    }
    let clk_tck: f64 = String::from_utf8(
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()?
            .stdout,
    )?
    .trim()
    .parse()?;
    let mut runs = Vec::new();
    for t in &opts.transports {
        eprintln!("== {t}: {} bots", opts.bots);
        runs.push(run(&opts, &bin_dir, t, clk_tck).await?);
    }
    println!("\n{}", table(&opts, &runs));
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn first_line(child: &mut Child, within: Duration) -> anyhow::Result<String> {
    let out = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(out).lines();
    let line = tokio::time::timeout(within, lines.next_line())
        .await
        .context("no ready line in time")??;
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    line.context("stdout closed before the ready line")
}

async fn run(opts: &Opts, bin_dir: &Path, transport: &str, clk_tck: f64) -> anyhow::Result<Run> {
    let dir = tempfile::tempdir()?;
    let mock_port = free_port()?;
    let mut mock = pinned(opts.pin, 0, &bin_dir.join("mock-telegram"))
        .args([
            "--listen",
            &format!("127.0.0.1:{mock_port}"),
            "--bots",
            &opts.bots.to_string(),
        ])
        .args(["--rtt-ms", &opts.rtt_ms.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    first_line(&mut mock, Duration::from_secs(30)).await?;
    let base = format!("http://127.0.0.1:{mock_port}");
    let http = reqwest::Client::new();
    let bots: Value = http
        .get(format!("{base}/_mock/bots"))
        .send()
        .await?
        .json()
        .await?;
    let bots = bots["bots"].as_array().context("no bots")?.clone();
    let tokens: String = bots
        .iter()
        .map(|b| format!("{}\n", b["token"].as_str().unwrap()))
        .collect();
    let tokens_file = dir.path().join("tokens.txt");
    std::fs::write(&tokens_file, tokens)?;
    let bot_ids: Vec<i64> = bots.iter().map(|b| b["id"].as_i64().unwrap()).collect();

    let listen = format!("127.0.0.1:{}", free_port()?);
    let started = Instant::now();
    let mut bot = pinned(opts.pin, 1, &bin_dir.join(format!("{transport}-bot")))
        .args(opts.bot_args.split_whitespace())
        .args(if transport == "hybrid" {
            opts.hybrid_args.split_whitespace().collect()
        } else {
            Vec::new()
        })
        .env("TGBENCH_API_URL", &base)
        .env("TGBENCH_TOKENS_FILE", &tokens_file)
        .env("TGBENCH_LISTEN", &listen)
        .env("TGBENCH_PUBLIC_URL", format!("http://{listen}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let ready_line = first_line(&mut bot, Duration::from_secs(120)).await?;
    let ready_s = started.elapsed().as_secs_f64();
    eprintln!("   {ready_line} (after {ready_s:.2} s)");
    let pid = bot.id().context("bot exited")?;
    let mock_pid = mock.id().context("mock exited")?;
    tokio::time::sleep(Duration::from_secs(opts.settle_s)).await;

    eprintln!("   idle {} s", opts.idle_s);
    let idle = phase(
        &http,
        &base,
        pid,
        mock_pid,
        clk_tck,
        Duration::from_secs(opts.idle_s),
        None,
    )
    .await?;
    eprintln!("   load {} s: one message per bot per minute", opts.load_s);
    let load = phase(
        &http,
        &base,
        pid,
        mock_pid,
        clk_tck,
        Duration::from_secs(opts.load_s),
        Some(&bot_ids),
    )
    .await?;

    let stopping = Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    let status = tokio::time::timeout(Duration::from_secs(30), bot.wait()).await??;
    let stop_s = stopping.elapsed().as_secs_f64();
    mock.kill().await?;
    Ok(Run {
        transport: transport.into(),
        ready_line,
        ready_s,
        idle,
        load,
        stop_s,
        exit_ok: status.success(),
    })
}

/// `program`, run under `taskset -c cpu` when pinning.
fn pinned(pin: bool, cpu: usize, program: &Path) -> Command {
    if pin {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(cpu.to_string()).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the ")" that ends the command name: state is field 3; utime 14, stime 15.
    let rest = &stat[stat.rfind(')').context("bad stat")? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Ok(f[11].parse::<u64>()? + f[12].parse::<u64>()?)
}

fn rss_mb(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS")?;
    let kb: f64 = line
        .split_whitespace()
        .nth(1)
        .context("bad VmRSS")?
        .parse()?;
    Ok(kb / 1024.0)
}

async fn mock_stats(http: &reqwest::Client, base: &str) -> anyhow::Result<Value> {
    Ok(http
        .get(format!("{base}/_mock/stats"))
        .send()
        .await?
        .json()
        .await?)
}

fn total_requests(stats: &Value) -> u64 {
    stats["requests"]
        .as_object()
        .map_or(0, |m| m.values().filter_map(Value::as_u64).sum())
}

/// One measured phase; with `bots`, each bot gets one message per minute, evenly spread.
async fn phase(
    http: &reqwest::Client,
    base: &str,
    pid: u32,
    mock_pid: u32,
    clk_tck: f64,
    length: Duration,
    bots: Option<&[i64]>,
) -> anyhow::Result<Phase> {
    let before = mock_stats(http, base).await?;
    let (cpu0, mock0) = (cpu_ticks(pid)?, cpu_ticks(mock_pid)?);
    let t0 = Instant::now();
    let mut rss = Vec::new();
    let mut next_sample = Duration::ZERO;
    let mut sent = 0usize;
    let tick = Duration::from_millis(50);
    let per_minute = Duration::from_secs(60);
    while t0.elapsed() < length {
        let now = t0.elapsed();
        if now >= next_sample {
            rss.push(rss_mb(pid)?);
            next_sample += Duration::from_secs(1);
        }
        if let Some(bots) = bots {
            // Message k (bot k mod n, minute k / n) is due at (k / n) minutes + (k mod n) / n of a minute.
            let n = bots.len();
            let due = |k: usize| per_minute.mul_f64((k / n) as f64 + (k % n) as f64 / n as f64);
            let mut batch = Vec::new();
            while due(sent) <= now {
                let bot = bots[sent % n];
                batch.push(json!({"bot_id": bot, "chat_id": 1_000_000 + (sent % n) as i64, "text": format!("hello {sent}")}));
                sent += 1;
            }
            if !batch.is_empty() {
                let r = http
                    .post(format!("{base}/_mock/updates"))
                    .json(&json!({"updates": batch}))
                    .send()
                    .await?;
                if !r.status().is_success() {
                    bail!("injecting failed: {} {}", r.status(), r.text().await?);
                }
            }
        }
        tokio::time::sleep(tick).await;
    }
    if bots.is_some() {
        // Give the last messages time to be answered before reading the counters.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let wall = t0.elapsed().as_secs_f64();
    let (cpu1, mock1) = (cpu_ticks(pid)?, cpu_ticks(mock_pid)?);
    let after = mock_stats(http, base).await?;
    let req = total_requests(&after) - total_requests(&before);
    let u = |s: &Value, k: &str| s["updates"][k].as_u64().unwrap_or(0);
    let lat = &after["latency_ms"];
    Ok(Phase {
        cpu_pct: (cpu1 - cpu0) as f64 / clk_tck / wall * 100.0,
        mock_cpu_pct: (mock1 - mock0) as f64 / clk_tck / wall * 100.0,
        rss_mean_mb: rss.iter().sum::<f64>() / rss.len().max(1) as f64,
        rss_peak_mb: rss.iter().copied().fold(0.0, f64::max),
        requests_per_min: req as f64 / wall * 60.0,
        injected: u(&after, "injected") - u(&before, "injected"),
        replied: u(&after, "replied") - u(&before, "replied"),
        p50_ms: lat["p50"].as_f64().unwrap_or(0.0),
        p99_ms: lat["p99"].as_f64().unwrap_or(0.0),
        max_ms: lat["max"].as_f64().unwrap_or(0.0),
    })
}

fn table(opts: &Opts, runs: &[Run]) -> String {
    let mut s = format!(
        "{} bots, mock RTT {} ms, idle {} s, load {} s at 1 message/bot/minute ({:.1} msg/s){}\n\n",
        opts.bots,
        opts.rtt_ms,
        opts.idle_s,
        opts.load_s,
        opts.bots as f64 / 60.0,
        if opts.pin {
            ", mock pinned to CPU 0 and server to CPU 1"
        } else {
            ""
        }
    );
    s += "| server | phase | CPU % of one core | RSS mean MB | RSS peak MB | Bot API req/min | replied / injected | latency p50 ms | p99 ms | max ms | mock CPU % |\n";
    s += "|---|---|---|---|---|---|---|---|---|---|---|\n";
    for r in runs {
        for (name, p) in [("idle", &r.idle), ("1 msg/bot/min", &r.load)] {
            let lat = if p.injected > 0 {
                format!("{:.2} | {:.2} | {:.2}", p.p50_ms, p.p99_ms, p.max_ms)
            } else {
                "- | - | -".into()
            };
            s += &format!(
                "| {}-bot | {name} | {:.3} | {:.1} | {:.1} | {:.0} | {} / {} | {lat} | {:.2} |\n",
                r.transport,
                p.cpu_pct,
                p.rss_mean_mb,
                p.rss_peak_mb,
                p.requests_per_min,
                p.replied,
                p.injected,
                p.mock_cpu_pct
            );
        }
    }
    s += "\n";
    for r in runs {
        s += &format!(
            "- {}: ready after {:.2} s (`{}`); SIGTERM → exit {} after {:.2} s\n",
            r.transport,
            r.ready_s,
            r.ready_line,
            if r.exit_ok { "0" } else { "non-zero" },
            r.stop_s
        );
    }
    s
}
