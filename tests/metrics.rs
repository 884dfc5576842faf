//! Live metrics, scraped by a real Prometheus (Debian's `prometheus` package, installed by
//! .ci/setup), started here on a loopback port with a scrape interval of 1 s, its own
//! config and data folder (killed and removed when the test ends, pass or fail):
//!
//! - the standalone `mock-telegram` binary behind a control token: Prometheus scrapes it
//!   with the token (and is refused without), parses the OpenMetrics it serves (the units
//!   it keeps say so), and reads what the bots did;
//! - `tgbench run smoke --metrics-listen`: at the end, PromQL over Prometheus's HTTP API
//!   gives the same replied and lost counts as results.json, and `histogram_quantile(0.99,
//!   …)` lands within one bucket of the results' p99; every query of the Grafana dashboard
//!   shipped in deploy/grafana/ finds data over the run, and names only series tgbench
//!   served; tgbench's exposition passes `promtool check metrics`.
//!
//! Without Prometheus (or promtool) the tests print why and pass as skipped, unless `CI` is
//! set: there a missing tool is a failure, since CI installs it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use serde_json::{Value, json};

/// Every wait on Prometheus (start, a scrape) is bounded by this: far above the 1 s scrape
/// interval, so a loaded machine does not fail the test, yet a test that cannot pass ends.
const WAIT: Duration = Duration::from_secs(60);

/// Whether `tool` (`prometheus`, `promtool`) is installed; outside CI, says so on stderr
/// when it is not; under CI, fails.
fn installed(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set, so {tool} must be installed (Debian's prometheus package, .ci/setup)"
        );
        let _ = writeln!(
            std::io::stderr().lock(),
            "SKIPPED live-metrics test: no {tool} on PATH (apt-get install prometheus; set CI to make this fatal)"
        );
    }
    found
}

/// A port free on 127.0.0.1 right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding 127.0.0.1:0")
        .port()
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64()
}

/// One scrape job: a name, a `host:port`, and the bearer token to send, if any.
struct Job<'a> {
    name: &'a str,
    target: String,
    token: Option<&'a str>,
}

/// A Prometheus of this test's own: its process and its folder (config, data, log).
struct Prometheus {
    child: Child,
    dir: tempfile::TempDir,
    base: String,
    http: reqwest::Client,
    rt: tokio::runtime::Runtime,
}

impl Prometheus {
    /// Starts Prometheus on a free loopback port, scraping `jobs` every second; returns
    /// once it answers ready.
    fn start(jobs: &[Job]) -> Prometheus {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut config = String::from(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n",
        );
        for job in jobs {
            config.push_str(&format!(
                "  - job_name: {}\n    static_configs:\n      - targets: ['{}']\n",
                job.name, job.target
            ));
            if let Some(token) = job.token {
                config.push_str(&format!(
                    "    authorization:\n      credentials: '{token}'\n"
                ));
            }
        }
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("writing prometheus.yml");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("a log file");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log file"))
            .stderr(log)
            .spawn()
            .expect("starting prometheus");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the HTTP API calls");
        let mut p = Prometheus {
            child,
            dir,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("an HTTP client"),
            rt,
        };
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = p.child.try_wait() {
                panic!("prometheus exited ({status}):\n{}", p.log());
            }
            let ready = p.rt.block_on(async {
                p.http
                    .get(format!("{}/-/ready", p.base))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            });
            if ready {
                return p;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus not ready:\n{}",
                p.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// GETs an API path; returns its `data`.
    fn api(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let body: Value = self.rt.block_on(async {
            self.http
                .get(format!("{}{path}", self.base))
                .query(query)
                .send()
                .await
                .unwrap_or_else(|e| panic!("GET {path}: {e}"))
                .json()
                .await
                .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        });
        assert_eq!(body["status"], "success", "{path} {query:?}: {body}");
        body["data"].clone()
    }

    /// An instant PromQL query: each series' labels and value.
    fn query(&self, promql: &str) -> Vec<(BTreeMap<String, String>, f64)> {
        let data = self.api("/api/v1/query", &[("query", promql)]);
        data["result"]
            .as_array()
            .unwrap_or_else(|| panic!("{promql}: {data}"))
            .iter()
            .map(|s| {
                let labels = serde_json::from_value(s["metric"].clone()).unwrap_or_default();
                let value = s["value"][1].as_str().unwrap_or("NaN").parse().unwrap();
                (labels, value)
            })
            .collect()
    }

    /// A range query over `[start, end]` (Unix seconds), one point a second: each series'
    /// labels and values.
    fn query_range(&self, promql: &str, start: f64, end: f64) -> Vec<Value> {
        let (start, end) = (format!("{start:.3}"), format!("{end:.3}"));
        let data = self.api(
            "/api/v1/query_range",
            &[
                ("query", promql),
                ("start", &start),
                ("end", &end),
                ("step", "1"),
            ],
        );
        data["result"]
            .as_array()
            .unwrap_or_else(|| panic!("{promql}: {data}"))
            .clone()
    }

    /// The value of a query that must give exactly one series.
    fn one(&self, promql: &str) -> f64 {
        let got = self.query(promql);
        assert_eq!(got.len(), 1, "{promql}: {got:?}");
        got[0].1
    }

    /// The job's target as Prometheus last scraped it (`health`, `lastError`, `lastScrape`).
    fn target(&self, job: &str) -> Value {
        let data = self.api("/api/v1/targets", &[("state", "active")]);
        data["activeTargets"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["labels"]["job"] == job))
            .cloned()
            .unwrap_or_else(|| panic!("no target of job {job}: {data}"))
    }

    /// Waits until the job's target was scraped after `t` (Unix seconds); returns it.
    fn scraped_after(&self, job: &str, t: f64) -> Value {
        let deadline = Instant::now() + WAIT;
        let last_scrape = format!("timestamp(up{{job=\"{job}\"}})");
        loop {
            if self
                .query(&last_scrape)
                .first()
                .is_some_and(|(_, at)| *at > t)
            {
                return self.target(job);
            }
            assert!(
                Instant::now() < deadline,
                "job {job} not scraped since {t}: {}\n{}",
                self.target(job),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The folder goes with `dir`, after the process is gone.
    }
}

/// A `mock-telegram` process, killed when dropped.
struct MockProcess {
    child: Child,
    base: String,
}

impl MockProcess {
    fn start(args: &[&str]) -> MockProcess {
        let mut child = Command::new(crate::sim_support::mock_binary())
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting mock-telegram");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("reading its first line");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line: {line:?}"))
            .to_string();
        MockProcess { child, base }
    }

    fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `request`; its answer as JSON.
async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

#[test]
fn prometheus_scrapes_the_standalone_mock_behind_its_control_token() {
    if !installed("prometheus") {
        return;
    }
    let mock = MockProcess::start(&["--bots", "2", "--control-token", "sekret"]);
    let prometheus = Prometheus::start(&[
        Job {
            name: "mock",
            target: mock.addr().to_string(),
            token: Some("sekret"),
        },
        Job {
            name: "mock-without-token",
            target: mock.addr().to_string(),
            token: None,
        },
    ]);

    // A user writes three messages to bot 0; the bot takes them by getUpdates and answers.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = &mock.base;
    rt.block_on(async {
        let bots = json_of(http.get(format!("{base}/_mock/bots")).bearer_auth("sekret")).await;
        let (id, token) = (
            &bots["bots"][0]["id"],
            bots["bots"][0]["token"].as_str().unwrap(),
        );
        let updates: Vec<Value> = (1..=3)
            .map(|chat| json!({"bot_id": id, "chat_id": chat, "text": "hello"}))
            .collect();
        let injected = http
            .post(format!("{base}/_mock/updates"))
            .bearer_auth("sekret")
            .json(&json!({ "updates": updates }))
            .send()
            .await
            .unwrap();
        assert!(injected.status().is_success());
        let got = json_of(
            http.post(format!("{base}/bot{token}/getUpdates"))
                .json(&json!({})),
        )
        .await;
        assert_eq!(got["result"].as_array().unwrap().len(), 3, "{got}");
        for chat in 1..=3 {
            let sent = http
                .post(format!("{base}/bot{token}/sendMessage"))
                .json(&json!({"chat_id": chat, "text": "hi"}))
                .send()
                .await
                .unwrap();
            assert!(sent.status().is_success());
        }
    });
    let done = unix_now();

    let target = prometheus.scraped_after("mock", done);
    assert_eq!(target["health"], "up", "{target}");
    let q = |promql: &str| prometheus.one(promql);
    assert_eq!(q(r#"tgbench_updates_injected_total{job="mock"}"#), 3.0);
    assert_eq!(q(r#"tgbench_updates_replied_total{job="mock"}"#), 3.0);
    assert_eq!(q(r#"tgbench_reply_latency_seconds_count{job="mock"}"#), 3.0);
    assert_eq!(
        q(r#"tgbench_bot_api_requests_total{job="mock",method="sendMessage",status="200"}"#),
        3.0
    );
    assert_eq!(
        q(r#"tgbench_bot_api_requests_total{job="mock",method="getUpdates",status="200"}"#),
        1.0
    );

    // Without the token, the scrape is refused.
    let refused = prometheus.scraped_after("mock-without-token", done);
    assert_eq!(refused["health"], "down", "{refused}");
    assert!(
        refused["lastError"].as_str().unwrap_or("").contains("401"),
        "{refused}"
    );
    assert_eq!(q(r#"up{job="mock-without-token"}"#), 0.0);

    // Only OpenMetrics carries units: Prometheus parsed the OpenMetrics exposition.
    let meta = prometheus.api(
        "/api/v1/metadata",
        &[("metric", "tgbench_reply_latency_seconds")],
    );
    let meta = &meta["tgbench_reply_latency_seconds"][0];
    assert_eq!(
        (meta["type"].as_str(), meta["unit"].as_str()),
        (Some("histogram"), Some("seconds")),
        "{meta}"
    );
    drop(mock);
}

/// The bucket of [`mock_telegram::metrics::LATENCY_BUCKETS_S`] a latency (s) falls in.
fn bucket_of(latency_s: f64) -> usize {
    use mock_telegram::metrics::{LATENCY_BUCKETS, LATENCY_BUCKETS_S};
    LATENCY_BUCKETS_S
        .iter()
        .position(|&b| latency_s <= b)
        .unwrap_or(LATENCY_BUCKETS - 1)
}

/// `promtool check metrics` on an exposition in the Prometheus text format.
fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting promtool");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(text.as_bytes())
        .expect("writing to promtool");
    let out = child.wait_with_output().expect("promtool's answer");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// GETs tgbench's `/metrics` in the Prometheus text format every 100 ms until the answer
/// has the webhook's window in it, and returns that answer (or "" if the run ended first).
/// It stops asking then: a scrape by anyone ends tgbench's linger, and that one is
/// Prometheus's to make.
fn watch_exposition(addr: String, done: Arc<AtomicBool>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        while !done.load(Ordering::SeqCst) {
            let got = rt.block_on(async {
                http.get(format!("http://{addr}/metrics"))
                    .header("accept", "text/plain;version=0.0.4")
                    .send()
                    .await
                    .ok()?
                    .text()
                    .await
                    .ok()
            });
            if let Some(text) = got.filter(|t| {
                t.contains(r#"tgbench_reply_latency_seconds_count{sut="webhook",phase="window"}"#)
            }) {
                return text;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        String::new()
    })
}

/// Every `tgbench_*` series name in a PromQL expression.
fn series_names(expr: &str) -> impl Iterator<Item = &str> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("tgbench_"))
}

/// The shipped Grafana dashboard, parsed, and its PromQL expressions with their panel.
fn dashboard() -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/grafana/tgbench-dashboard.json");
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the dashboard is shipped"))
            .expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                exprs.push((panel["title"].to_string(), expr.to_string()));
            }
        }
    }
    assert!(
        exprs.len() >= 10,
        "{} queries in the dashboard",
        exprs.len()
    );
    exprs
}

#[test]
fn the_dashboard_is_json_and_queries_only_documented_series() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/metrics.md"))
            .expect("docs/metrics.md");
    for (panel, expr) in dashboard() {
        for name in series_names(&expr) {
            let family = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            assert!(
                doc.contains(&format!("| `{family}` |")),
                "{panel}: {name} is not in docs/metrics.md's table of series"
            );
        }
    }
}

#[test]
fn prometheus_reads_a_tgbench_run_as_its_results_say() {
    if !installed("prometheus") {
        return;
    }
    crate::sim_support::binaries();
    let addr = format!("127.0.0.1:{}", free_port());
    let prometheus = Prometheus::start(&[Job {
        name: "tgbench",
        target: addr.clone(),
        token: None,
    }]);
    let out = tempfile::tempdir().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = watch_exposition(addr.clone(), done.clone());
    let started = unix_now();
    let code = tgbench::run_cli(tgbench::Cli::parse_from([
        "tgbench",
        "run",
        "smoke",
        "--no-progress",
        "--out",
        out.path().to_str().unwrap(),
        "--metrics-listen",
        &addr,
        // Far above the 1 s scrape interval: the run waits for the scrape of its final
        // figures, and only a broken endpoint makes it wait this long.
        "--metrics-linger",
        "60",
    ]));
    let ended = unix_now();
    done.store(true, Ordering::SeqCst);
    let exposition = watcher.join().unwrap();
    let results = crate::sim_support::read_results(out.path());
    assert_eq!(code, 0, "{:#?}", results.runs);
    // tgbench waited for a scrape of its final figures; once Prometheus has tried the
    // next one (refused: tgbench is gone), that scrape is stored.
    prometheus.scraped_after("tgbench", ended);
    assert_eq!(
        prometheus.one(r#"max_over_time(up{job="tgbench"}[10m])"#),
        1.0
    );

    // The final figures, as Prometheus stored them (tgbench has exited: its series are
    // stale now, so read the last value each had).
    let last = |series: &str, sut: &str, phase: &str| {
        prometheus.one(&format!(
            r#"last_over_time({series}{{job="tgbench",sut="{sut}",phase="{phase}"}}[10m])"#
        ))
    };
    for run in &results.runs {
        let sut = run.sut.name.as_str();
        assert_eq!(run.phase, None, "smoke has one window");
        let u = &run.updates;
        assert!(u.replied > 10, "{sut}: {u:?}");
        for (series, expected) in [
            ("tgbench_updates_replied_total", u.replied),
            ("tgbench_updates_lost_total", u.lost),
            ("tgbench_updates_injected_total", u.injected),
            ("tgbench_reply_latency_seconds_count", run.latency_ms.count),
        ] {
            assert_eq!(
                last(series, sut, "window"),
                expected as f64,
                "{sut}: {series}"
            );
        }
        let p99 = prometheus.one(&format!(
            r#"histogram_quantile(0.99, last_over_time(tgbench_reply_latency_seconds_bucket{{job="tgbench",sut="{sut}",phase="window"}}[10m]))"#
        ));
        let exact = run.latency_ms.p99 / 1000.0;
        assert!(
            bucket_of(p99).abs_diff(bucket_of(exact)) <= 1,
            "{sut}: Prometheus's p99 {p99} s and the results' {exact} s are more than one bucket apart"
        );
        assert!(
            last("tgbench_sut_cpu_seconds_total", sut, "window") > 0.0,
            "{sut}"
        );
        let rss = prometheus.one(&format!(
            r#"max(max_over_time(tgbench_sut_resident_memory_bytes{{job="tgbench",sut="{sut}"}}[10m]))"#
        ));
        assert!(rss > 1e5, "{sut}: RSS {rss} B");
    }
    let polls = prometheus.one(
        r#"sum(last_over_time(tgbench_bot_api_requests_total{job="tgbench",sut="polling",phase="window",method="getUpdates"}[10m]))"#,
    );
    assert!(polls > 0.0, "the polling SUT polled");
    let webhook_polls = prometheus.query(
        r#"last_over_time(tgbench_bot_api_requests_total{job="tgbench",sut="webhook",method="getUpdates"}[10m])"#,
    );
    assert!(
        webhook_polls.is_empty(),
        "the webhook SUT never polled: {webhook_polls:?}"
    );

    // Every query of the shipped dashboard finds data over the run, and names only series
    // tgbench served.
    let served: Vec<String> = serde_json::from_value(prometheus.api(
        "/api/v1/label/__name__/values",
        &[("match[]", r#"{job="tgbench"}"#)],
    ))
    .unwrap();
    for (panel, expr) in dashboard() {
        for name in series_names(&expr) {
            assert!(
                served.iter().any(|s| s == name),
                "{panel}: {name} is not a series tgbench serves: {served:?}"
            );
        }
        let promql = expr
            .replace("$__rate_interval", "5s")
            .replace("$job", "tgbench")
            .replace("$sut", ".*");
        let got = prometheus.query_range(&promql, started, ended);
        assert!(!got.is_empty(), "{panel}: {promql} found nothing");
    }

    // What Prometheus read was OpenMetrics (only it carries units); the text format served
    // to a scraper that asks for it passes promtool.
    let meta = prometheus.api("/api/v1/metadata", &[("metric", "tgbench_sut_cpu_seconds")]);
    let meta = &meta["tgbench_sut_cpu_seconds"][0];
    assert_eq!(
        (meta["type"].as_str(), meta["unit"].as_str()),
        (Some("counter"), Some("seconds")),
        "{meta}"
    );
    assert!(
        !exposition.is_empty(),
        "no exposition with the webhook's window seen"
    );
    if installed("promtool") {
        promtool_check(&exposition);
    }
}
