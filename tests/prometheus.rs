//! CPU and memory from Prometheus (`[sut.metrics]`): a run whose figures come from a
//! server answering Prometheus' documented `query_range` JSON over real HTTP (the window
//! and step asked for, per replica and summed, `"source": "prometheus"`), and the same
//! queries against a real Prometheus scraping itself, checked against what /proc says of
//! its process.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::routing::get;
use tgbench::scenario::Metrics;
use tgbench::sut::prometheus;

use crate::sim_support::{Reaped, kernel_cpu_s_and_rss_mb, prometheus_config, run_scenario_text};

type Asked = Arc<Mutex<Vec<BTreeMap<String, String>>>>;

/// Prometheus' `query_range` answer: pods "a" and "b", each at 0.25 cores and 10 / 30 MiB
/// at every step of the range asked for.
async fn query_range(
    State(asked): State<Asked>,
    Query(q): Query<BTreeMap<String, String>>,
) -> axum::Json<serde_json::Value> {
    asked.lock().unwrap().push(q.clone());
    let num = |k: &str| q.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let (start, end, step) = (num("start"), num("end"), num("step").max(0.1));
    let cpu = q.get("query").is_some_and(|x| x.contains("cpu"));
    let series = |pod: &str, value: f64| {
        let mut values = Vec::new();
        let mut t = start;
        while t <= end {
            values.push(serde_json::json!([t, value.to_string()]));
            t += step;
        }
        serde_json::json!({"metric": {"pod": pod, "namespace": "bots"}, "values": values})
    };
    let mib = 1024.0 * 1024.0;
    let result = if cpu {
        vec![series("a", 0.25), series("b", 0.25)]
    } else {
        vec![series("a", 10.0 * mib), series("b", 30.0 * mib)]
    };
    axum::Json(serde_json::json!({
        "status": "success",
        "data": {"resultType": "matrix", "result": result}
    }))
}

#[test]
fn a_run_takes_cpu_and_memory_from_prometheus_per_replica_and_summed() {
    let asked: Asked = Arc::default();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/api/v1/query_range", get(query_range))
        .with_state(asked.clone());
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "name = \"prom\"\nduration_s = 3\nwarmup_s = 1\ndrain_s = 20\nsample_ms = 500\n\
         [telegram]\nbots = 10\n[load]\nmodel = \"constant\"\nmessages_per_bot_per_min = 60\n\
         [[sut]]\nname = \"fleet\"\nkind = \"polling\"\nreplicas = 2\n\
         [sut.metrics]\nprometheus_url = \"{url}\"\n\
         cpu_query = \"sum by (pod) (rate(container_cpu_usage_seconds_total[30s]))\"\n\
         rss_query = \"sum by (pod) (container_memory_working_set_bytes)\"\nreplica_label = \"pod\"\n"
    );
    let results = run_scenario_text(dir.path(), "prom", &text);
    let run = &results.runs[0];
    assert_eq!(run.updates.replied, run.updates.injected);
    let res = run.resources.as_ref().unwrap();
    assert_eq!(res.source, "prometheus");
    let names: Vec<&str> = res.parts.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(res.parts[0].cpu.mean_pct, 25.0);
    assert_eq!(res.parts[1].memory.rss_peak_mb, 30.0);
    let (cpu, mem) = (run.cpu.as_ref().unwrap(), run.memory.as_ref().unwrap());
    assert_eq!(
        (cpu.mean_pct, mem.rss_peak_mb),
        (50.0, 40.0),
        "summed over the replicas"
    );

    // Two queries, over the window, at the sampling step.
    let asked = asked.lock().unwrap();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(asked[0]["query"].contains("container_cpu_usage_seconds_total"));
    assert!(asked[1]["query"].contains("container_memory_working_set_bytes"));
    for q in asked.iter() {
        assert_eq!(q["step"], "0.500");
        let span = q["end"].parse::<f64>().unwrap() - q["start"].parse::<f64>().unwrap();
        assert!(
            (span - run.duration_s).abs() < 0.5,
            "{span} vs {}",
            run.duration_s
        );
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let end = q["end"].parse::<f64>().unwrap();
        assert!(
            end < now && end > now - 120.0,
            "the window ended just now: {end} vs {now}"
        );
    }
}

/// A real Prometheus, or a skip (a failure under CI).
fn prometheus_binary() -> Option<&'static str> {
    let have = Command::new("prometheus")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if have {
        return Some("prometheus");
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set, so prometheus must be installed (Debian package prometheus; .ci/setup)"
    );
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED real-Prometheus test: prometheus not installed (set CI to make this fatal)"
    );
    None
}

#[test]
fn a_real_prometheus_answers_the_queries_as_proc_sees_its_process() {
    let Some(bin) = prometheus_binary() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = prometheus_config(dir.path(), "self", &format!("127.0.0.1:{port}"));
    let child = Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let prom = Reaped(vec![child]);
    let pid = prom.0[0].id();
    let url = format!("http://127.0.0.1:{port}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    let metrics = Metrics {
        prometheus_url: url.clone(),
        cpu_query: "rate(process_cpu_seconds_total{job=\"self\"}[3s])".into(),
        rss_query: "process_resident_memory_bytes{job=\"self\"}".into(),
        replica_label: Some("instance".into()),
    };
    // Scrapes every second; the window is the 6 s after the first sample exists.
    let deadline = Instant::now() + Duration::from_secs(60);
    let ready = |t: SystemTime| {
        rt.block_on(prometheus::window_resources(
            &client,
            &metrics,
            (t - Duration::from_secs(10), t),
            Duration::from_secs(1),
        ))
        .is_ok()
    };
    while !ready(SystemTime::now()) {
        assert!(
            Instant::now() < deadline,
            "Prometheus at {url} gave no series in 60 s"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let (start, (cpu0, rss0)) = (SystemTime::now(), kernel_cpu_s_and_rss_mb(pid));
    std::thread::sleep(Duration::from_secs(6));
    let (end, (cpu1, rss1)) = (SystemTime::now(), kernel_cpu_s_and_rss_mb(pid));
    // Let the scrape after the window's end land.
    std::thread::sleep(Duration::from_secs(2));
    let (res, total) = rt
        .block_on(prometheus::window_resources(
            &client,
            &metrics,
            (start, end),
            Duration::from_secs(1),
        ))
        .unwrap();
    assert_eq!(res.source, "prometheus");
    assert_eq!(res.parts.len(), 1);
    assert_eq!(res.parts[0].name, format!("127.0.0.1:{port}"));
    let proc_pct = (cpu1 - cpu0) / end.duration_since(start).unwrap().as_secs_f64() * 100.0;
    assert!(
        (total.cpu.mean_pct - proc_pct).abs() <= 5.0,
        "CPU: Prometheus {} % vs /proc {proc_pct:.2} % of a core",
        total.cpu.mean_pct
    );
    let proc_rss = (rss0 + rss1) / 2.0;
    assert!(
        (total.memory.rss_mean_mb - proc_rss).abs() <= proc_rss * 0.05,
        "RSS: Prometheus {} MiB vs /proc {proc_rss:.1} MiB",
        total.memory.rss_mean_mb
    );
    drop(prom);
}
