//! A webhook SUT behind nginx (`[[sut]] proxy = "nginx"`): Telegram's deliveries pass
//! through a real nginx that tgbench starts, every message is answered once, nginx's
//! processes are measured apart from the app's and count in the SUT's figures, and nothing
//! of nginx is left running after the run, also when tgbench is interrupted. SKIPPED without
//! nginx outside CI (.ci/setup installs it).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::sim_support::{alive, binaries, descendants, run_scenario_text, scenario_file};

fn have_nginx() -> bool {
    if tgbench::sut::proxy::Nginx::binary("test").is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set, so nginx must be installed (.ci/setup installs it)"
    );
    eprintln!(
        "SKIPPED nginx proxy test: no nginx (apt-get install nginx; set CI to make this fatal)"
    );
    false
}

const SCENARIO: &str = r#"
name = "behind-nginx"
duration_s = 4
warmup_s = 1
drain_s = 20
sample_ms = 250

[telegram]
bots = 30

[load]
model = "constant"
messages_per_bot_per_min = 600

[[sut]]
name = "webhook-nginx"
kind = "webhook"
proxy = "nginx"

# HTTPS on both sides: nginx terminates TLS with the run's certificate, the app behind it
# serves plain HTTP.
[[sut]]
name = "webhook-nginx-tls"
kind = "webhook"
proxy = "nginx"
telegram = { tls = true }
"#;

#[test]
fn a_webhook_sut_behind_nginx_answers_every_message_and_nginx_is_measured_apart() {
    if !have_nginx() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let results = run_scenario_text(dir.path(), "nginx", SCENARIO);
    assert_eq!(results.runs.len(), 2);
    for run in &results.runs {
        let who = &run.sut.name;
        let u = &run.updates;
        assert!(u.injected >= 30, "{who}: {u:?}");
        assert_eq!(
            (u.replied, u.lost, u.duplicated),
            (u.injected, 0, 0),
            "{who}: {u:?}"
        );
        assert_eq!(run.sut.proxy.as_deref(), Some("nginx"), "{who}");

        let res = run.resources.as_ref().expect("resources recorded");
        let names: Vec<&str> = res.parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["app", "nginx"], "{who}");
        let nginx = &res.parts[1];
        // A master and a worker holding connections: memory, and CPU from relaying every
        // delivery (the app's own port is not what Telegram was given).
        assert!(nginx.memory.rss_peak_mb > 0.5, "{who}: {nginx:?}");
        assert!(
            nginx.cpu.cpu_s > 0.0,
            "{who}: nginx relayed nothing: {nginx:?}"
        );
        // Both parts count in the SUT's figures.
        let cpu_s: f64 = res.parts.iter().map(|p| p.cpu.cpu_s).sum();
        let total = run.cpu.as_ref().unwrap().cpu_s;
        assert!(
            (cpu_s - total).abs() <= 0.05 + total * 0.05,
            "{who}: parts {cpu_s} vs run {total}"
        );
    }
    // Over HTTPS the app registered nginx's https:// address (and every delivery above
    // came through it), while it listened on plain HTTP behind nginx.
    assert!(
        results.runs[1].tls.is_some(),
        "an HTTPS run records its handshakes"
    );
    let log =
        std::fs::read_to_string(dir.path().join("out/logs/webhook-nginx-tls-rep0.log")).unwrap();
    assert!(log.contains("on webhooks at https://127.0.0.1:"), "{log}");

    // Nothing of nginx outlives the run: the ports the apps registered (nginx's) are closed
    // (other tests of this binary may run an nginx of their own meanwhile, so this run's
    // are known by their ports).
    for sut in ["webhook-nginx", "webhook-nginx-tls"] {
        let log =
            std::fs::read_to_string(dir.path().join(format!("out/logs/{sut}-rep0.log"))).unwrap();
        let port: u16 = log
            .split("on webhooks at ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|url| url.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{sut}: no webhook URL in its log: {log}"));
        let listening = || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        let deadline = Instant::now() + Duration::from_secs(10);
        while listening() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            !listening(),
            "{sut}: nginx still listens on {port} after the run"
        );
    }
}

#[test]
fn an_interrupted_run_leaves_no_nginx_behind() {
    if !have_nginx() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario_file(
        dir.path(),
        "nginx-long",
        &SCENARIO.replace("duration_s = 4", "duration_s = 120"),
    );
    let mut child = Command::new(binaries().join("tgbench"))
        .args(["run", scenario.to_str().unwrap(), "--no-progress", "--out"])
        .arg(dir.path().join("out"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // This run's nginx: the processes below tgbench that nginx named (its worker's command
    // line is nginx's own title, "nginx: worker process").
    let nginx_of_run = || -> Vec<u32> {
        descendants(child.id())
            .into_iter()
            .filter(|p| {
                let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
                String::from_utf8_lossy(&cmd).starts_with("nginx:")
            })
            .collect()
    };
    // Wait until nginx runs and the run is under way (the app's log has lines).
    let deadline = Instant::now() + Duration::from_secs(60);
    let log = dir.path().join("out/logs/webhook-nginx-rep0.log");
    while (nginx_of_run().len() < 2 || std::fs::read_to_string(&log).unwrap_or_default().is_empty())
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let nginx = nginx_of_run();
    if nginx.len() < 2 {
        let _ = child.kill();
    }
    assert!(
        nginx.len() >= 2,
        "nginx master and worker expected: {nginx:?}"
    );

    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "tgbench did not stop after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    let deadline = Instant::now() + Duration::from_secs(10);
    while nginx.iter().any(|&p| alive(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    for p in &nginx {
        assert!(!alive(*p), "nginx process {p} survived the interrupted run");
    }
}
