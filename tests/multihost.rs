//! Across hosts: two network namespaces joined by a veth pair, addressed from 198.18.0.0/15
//! (RFC 2544's benchmark range), created and removed by this test; no traffic leaves them.
//! Host A runs `tgbench` and its mock on 198.18.0.1; host B runs two `polling-bot` replicas
//! (shards 0/2 and 1/2, each polling its half of the bots across the link), Debian's
//! `prometheus-process-exporter` and Prometheus. tgbench treats the fleet as an external SUT
//! and takes its CPU and RSS from Prometheus: every message is answered once and each
//! replica has its figures. Then, under load again, the same queries over a span the test
//! chose agree with what the kernel says of the replicas over that span: CPU within 5
//! points of a core, RSS within 5 %.
//!
//! A webhook fleet too: the mock delivers webhooks only to loopback unless told the SUT
//! host's network (`[telegram] webhook_hosts = ["198.18.0.0/15"]`); with it, two
//! `webhook-bot` replicas on host B (shards 0/2 and 1/2, sharing one port) register their
//! bots' webhooks on host B's address and every message is answered once, across the link.
//!
//! Needs root, `ip`, `prometheus` and `prometheus-process-exporter`: outside CI the test
//! says SKIPPED and returns when one is missing; under CI it fails.

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use tgbench::scenario::Metrics;
use tgbench::sut::prometheus;
use tgbench::sut::proxy::on_path;
use tgbench_reports::results::Results;

use crate::sim_support::{
    Reaped, binaries, kernel_cpu_s_and_rss_mb, prometheus_config, scenario_file,
};

const A_ADDR: &str = "198.18.0.1";
const B_ADDR: &str = "198.18.0.2";

fn skip(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set, so the multi-host test must run: {why}"
    );
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED multi-host test: {why} (set CI to make this fatal)"
    );
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The two namespaces; removed (with their veth pair) on drop.
struct Hosts {
    a: String,
    b: String,
}

impl Hosts {
    fn create() -> Result<Hosts, String> {
        // This process and which of its tests: the tests of one binary run at once.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("{}x{n}", std::process::id());
        let hosts = Hosts {
            a: format!("tgbench-{id}-a"),
            b: format!("tgbench-{id}-b"),
        };
        let (va, vb) = (format!("tgb{id}a"), format!("tgb{id}b"));
        ip(&["netns", "add", &hosts.a])?;
        ip(&["netns", "add", &hosts.b])?;
        ip(&[
            "link", "add", &va, "netns", &hosts.a, "type", "veth", "peer", "name", &vb, "netns",
            &hosts.b,
        ])?;
        for (ns, dev, addr) in [(&hosts.a, &va, A_ADDR), (&hosts.b, &vb, B_ADDR)] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/30"), "dev", dev])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(hosts)
    }

    /// The hosts, or None when this machine cannot create them (said as SKIPPED; fatal
    /// under CI).
    fn create_or_skip() -> Option<Hosts> {
        if on_path("ip").is_none() {
            skip("needs `ip` (iproute2) to create network namespaces");
            return None;
        }
        Hosts::create()
            .map_err(|why| {
                skip(&format!(
                    "cannot create network namespaces (needs root): {why}"
                ))
            })
            .ok()
    }

    /// `tgbench run SCENARIO` on host A with the multi-host control token, its output to
    /// `stdio`.
    fn tgbench(&self, bins: &Path, scenario: &Path, out: &Path, stdio: fn() -> Stdio) -> Child {
        self.exec(&self.a, &bins.join("tgbench"))
            .arg("run")
            .arg(scenario)
            .args(["--no-progress", "--out"])
            .arg(out)
            .env("TGBENCH_CONTROL_TOKEN", "multihost-control-token")
            .stdout(stdio())
            .stderr(stdio())
            .spawn()
            .unwrap()
    }

    /// `ip netns exec NS program args…`
    fn exec(&self, ns: &str, program: &Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).arg(program);
        c
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.a]);
        let _ = ip(&["netns", "del", &self.b]);
    }
}

/// Waits for `tgbench` and fails with its stderr unless it succeeded.
fn succeeded(tgbench: Child) {
    let done = tgbench.wait_with_output().unwrap();
    assert!(
        done.status.success(),
        "tgbench: {:?}\n{}",
        done.status,
        String::from_utf8_lossy(&done.stderr)
    );
}

/// utime + stime of `pids` in seconds, and their RSS in MiB, summed.
fn kernel(pids: &[u32]) -> (f64, f64) {
    pids.iter()
        .map(|&p| kernel_cpu_s_and_rss_mb(p))
        .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
}

#[test]
fn a_fleet_on_another_host_measured_through_prometheus() {
    let (Some(prom), Some(exporter)) = (
        on_path("prometheus"),
        on_path("prometheus-process-exporter"),
    ) else {
        return skip("prometheus or prometheus-process-exporter is not installed");
    };
    let Some(hosts) = Hosts::create_or_skip() else {
        return;
    };
    let bins = binaries();
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.txt");

    // Host B: the exporter (one group per shard, from the replicas' command lines) and
    // Prometheus scraping it every second.
    let exporter_config = dir.path().join("process-exporter.yml");
    std::fs::write(
        &exporter_config,
        "process_names:\n  - name: \"replica-{{.Matches.shard}}\"\n    cmdline:\n    - 'polling-bot.*--shard (?P<shard>[0-9]+)/2'\n",
    )
    .unwrap();
    let prom_config = prometheus_config(dir.path(), "processes", &format!("{B_ADDR}:9256"));
    let mut helpers = Reaped(Vec::new());
    helpers.0.push(
        hosts
            .exec(&hosts.b, &exporter)
            .arg(format!("-config.path={}", exporter_config.display()))
            .arg(format!("-web.listen-address={B_ADDR}:9256"))
            .args(["-gather-smaps=false", "-threads=false"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    helpers.0.push(
        hosts
            .exec(&hosts.b, &prom)
            .arg(format!("--config.file={}", prom_config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={B_ADDR}:9090"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    // Host A: tgbench and its mock, the fleet an external SUT measured by Prometheus.
    let scenario = scenario_file(
        dir.path(),
        "multihost",
        &format!(
            "name = \"multihost\"\nduration_s = 6\nwarmup_s = 1\ndrain_s = 20\nsample_ms = 1000\n\
             [telegram]\nbots = 40\nlisten = \"{A_ADDR}:8081\"\n\
             [load]\nmodel = \"constant\"\nmessages_per_bot_per_min = 120\n\
             [[sut]]\nname = \"fleet\"\nkind = \"external\"\ntokens_file = {:?}\n\
             ready = \"polling\"\nready_timeout_s = 60\n\
             [sut.metrics]\nprometheus_url = \"http://{B_ADDR}:9090\"\n\
             cpu_query = \"sum by (groupname) (rate(namedprocess_namegroup_cpu_seconds_total[3s]))\"\n\
             rss_query = \"sum by (groupname) (namedprocess_namegroup_memory_bytes{{memtype=\\\"resident\\\"}})\"\n\
             replica_label = \"groupname\"\n",
            tokens.display().to_string()
        ),
    );
    let out = dir.path().join("out");
    let mut tgbench = hosts.tgbench(bins, &scenario, &out, Stdio::piped);

    let replicas = start_replicas(&hosts, bins, &tokens, &mut tgbench, "polling-bot");
    succeeded(tgbench);
    let text = std::fs::read_to_string(out.join("results.json")).unwrap();
    let r = Results::from_json(&text).unwrap();
    let run = &r.runs[0];
    let u = &run.updates;
    assert!(u.injected >= 200, "{u:?}");
    assert_eq!((u.replied, u.lost, u.duplicated), (u.injected, 0, 0));
    let res = run.resources.as_ref().unwrap();
    assert_eq!(res.source, "prometheus", "{:?}", run.harness.notes);
    let names: Vec<&str> = res.parts.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["replica-0", "replica-1"]);
    assert!(
        res.parts.iter().all(|x| x.memory.rss_peak_mb > 1.0),
        "{res:?}"
    );

    // Agreement with the kernel: load the fleet again for 8 s and read the same queries
    // over exactly that span, from host A, beside /proc's view of the replicas.
    let metrics = Metrics {
        prometheus_url: format!("http://{B_ADDR}:9090"),
        cpu_query: "sum by (groupname) (rate(namedprocess_namegroup_cpu_seconds_total[3s]))".into(),
        rss_query: "sum by (groupname) (namedprocess_namegroup_memory_bytes{memtype=\"resident\"})"
            .into(),
        replica_label: Some("groupname".into()),
    };
    // A fresh mock (its counters, its offsets): start the fleet again for it, as for the
    // first run.
    drop(replicas);
    std::fs::remove_file(&tokens).unwrap();
    let longer = scenario_file(
        dir.path(),
        "multihost-longer",
        &std::fs::read_to_string(&scenario)
            .unwrap()
            .replace("duration_s = 6", "duration_s = 14"),
    );
    let mut load = hosts.tgbench(bins, &longer, &dir.path().join("out2"), Stdio::null);
    let replicas = start_replicas(&hosts, bins, &tokens, &mut load, "polling-bot");
    // `ip netns exec` execs the program: the child's pid is the replica's.
    let pids: Vec<u32> = replicas.0.iter().map(Child::id).collect();
    let mut load = Reaped(vec![load]);
    // Ready, warm-up (1 s), then the span inside the 14 s window.
    std::thread::sleep(Duration::from_secs(4));
    let (t0, k0) = (SystemTime::now(), kernel(&pids));
    std::thread::sleep(Duration::from_secs(8));
    let (t1, k1) = (SystemTime::now(), kernel(&pids));
    // Let the scrapes after the span land.
    std::thread::sleep(Duration::from_secs(3));
    let netns = format!("/run/netns/{}", hosts.a);
    let (_, total) = std::thread::spawn(move || {
        let ns = std::fs::File::open(&netns).unwrap();
        nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(prometheus::window_resources(
            &reqwest::Client::new(),
            &metrics,
            (t0, t1),
            Duration::from_secs(1),
        ))
    })
    .join()
    .unwrap()
    .unwrap();
    let span = t1.duration_since(t0).unwrap().as_secs_f64();
    let kernel_pct = (k1.0 - k0.0) / span * 100.0;
    let kernel_rss = (k0.1 + k1.1) / 2.0;
    let _ = writeln!(
        std::io::stderr().lock(),
        "multi-host agreement: CPU Prometheus {:.1} % vs kernel {kernel_pct:.1} % of a core; \
         RSS Prometheus {:.1} MiB vs kernel {kernel_rss:.1} MiB",
        total.cpu.mean_pct,
        total.memory.rss_mean_mb
    );
    assert!(
        (total.cpu.mean_pct - kernel_pct).abs() <= 5.0,
        "CPU: Prometheus {} % vs kernel {kernel_pct:.1} % of a core",
        total.cpu.mean_pct
    );
    assert!(
        (total.memory.rss_mean_mb - kernel_rss).abs() <= kernel_rss * 0.05,
        "RSS: Prometheus {} MiB vs kernel {kernel_rss:.1} MiB",
        total.memory.rss_mean_mb
    );
    for c in &mut load.0 {
        let _ = c.wait();
    }
    drop(replicas);
    drop(helpers);
}

/// Starts two replicas of `program` on host B once `tgbench` has written `tokens`; webhook
/// servers share port 8443 on host B's address.
fn start_replicas(
    hosts: &Hosts,
    bins: &Path,
    tokens: &Path,
    tgbench: &mut Child,
    program: &str,
) -> Reaped {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !tokens.is_file() {
        assert!(
            Instant::now() < deadline,
            "tgbench never wrote the tokens file"
        );
        assert!(
            tgbench.try_wait().unwrap().is_none(),
            "tgbench exited early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut replicas = Reaped(Vec::new());
    for i in 0..2 {
        replicas.0.push(
            hosts
                .exec(&hosts.b, &bins.join(program))
                .args(["--shard", &format!("{i}/2")])
                .env("TGBENCH_API_URL", format!("http://{A_ADDR}:8081"))
                .env("TGBENCH_LISTEN", format!("{B_ADDR}:8443"))
                .env("TGBENCH_PUBLIC_URL", format!("http://{B_ADDR}:8443"))
                .env("TGBENCH_TOKENS_FILE", tokens)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    replicas
}

/// Two webhook replicas on host B, the mock on host A allowed to deliver to host B's
/// network: every message is answered once across the link. No `[sut.metrics]`: the run's
/// CPU and memory are null ("not measured"), never 0.
#[test]
fn a_webhook_fleet_on_another_host_answers_every_message_once() {
    let Some(hosts) = Hosts::create_or_skip() else {
        return;
    };
    let bins = binaries();
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.txt");
    let scenario = scenario_file(
        dir.path(),
        "multihost-webhook",
        &format!(
            "name = \"multihost-webhook\"\nduration_s = 4\nwarmup_s = 1\ndrain_s = 20\n\
             [telegram]\nbots = 20\nlisten = \"{A_ADDR}:8081\"\nwebhook_hosts = [\"198.18.0.0/15\"]\n\
             [load]\nmodel = \"constant\"\nmessages_per_bot_per_min = 120\n\
             [[sut]]\nname = \"fleet\"\nkind = \"external\"\ntokens_file = {:?}\n\
             ready = \"webhook\"\nready_timeout_s = 60\n",
            tokens.display().to_string()
        ),
    );
    let out = dir.path().join("out");
    let mut tgbench = hosts.tgbench(bins, &scenario, &out, Stdio::piped);
    let replicas = start_replicas(&hosts, bins, &tokens, &mut tgbench, "webhook-bot");
    succeeded(tgbench);
    let r =
        Results::from_json(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let run = &r.runs[0];
    let u = &run.updates;
    assert!(u.injected >= 100, "{u:?}");
    assert_eq!(
        (u.replied, u.delivered, u.lost, u.duplicated),
        (u.injected, u.injected, 0, 0)
    );
    assert!(run.cpu.is_none() && run.memory.is_none(), "{:?}", run.cpu);
    drop(replicas);
}
