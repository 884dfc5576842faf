//! SUTs tgbench does not start (`kind = "external"`): the test starts a reference server
//! itself, as someone would on another host, pointed at the mock's fixed `[telegram]
//! listen` address and at the `tokens_file` tgbench writes. Every message is answered
//! once; CPU and memory are null (not measured), and the report says so.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::sim_support::{binaries, run_scenario_text};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `bin` once `tokens` exists (tgbench writes it when the SUT's run begins).
fn start_when_tokens_appear(
    bin: &'static str,
    tokens: PathBuf,
    api_port: u16,
    listen: Option<u16>,
) -> std::thread::JoinHandle<Child> {
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !tokens.is_file() {
            assert!(Instant::now() < deadline, "tgbench never wrote {tokens:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut cmd = Command::new(binaries().join(bin));
        cmd.env("TGBENCH_API_URL", format!("http://127.0.0.1:{api_port}"))
            .env("TGBENCH_TOKENS_FILE", &tokens)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(p) = listen {
            cmd.env("TGBENCH_LISTEN", format!("127.0.0.1:{p}"));
        }
        cmd.spawn().unwrap()
    })
}

fn external_run(kind: &str, bin: &'static str) {
    binaries();
    let dir = tempfile::tempdir().unwrap();
    let (api, listen) = (free_port(), free_port());
    let tokens = dir.path().join("tokens.txt");
    let ready = match kind {
        "webhook" => format!("ready = \"http://127.0.0.1:{listen}/health\"\n"),
        _ => String::new(),
    };
    let text = format!(
        "name = \"ext\"\nduration_s = 4\nwarmup_s = 1\ndrain_s = 20\n\
         [telegram]\nbots = 20\nlisten = \"127.0.0.1:{api}\"\n\
         [load]\nmodel = \"constant\"\nmessages_per_bot_per_min = 60\n\
         [[sut]]\nname = \"far\"\nkind = \"external\"\ntokens_file = {:?}\n{ready}",
        tokens.display().to_string()
    );
    let server = start_when_tokens_appear(
        bin,
        tokens.clone(),
        api,
        (kind == "webhook").then_some(listen),
    );
    let r = run_scenario_text(dir.path(), "external", &text);
    let mut child = server.join().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        std::fs::read_to_string(&tokens).unwrap().lines().count(),
        20,
        "one token a line"
    );
    let run = &r.runs[0];
    let u = &run.updates;
    assert!(u.injected >= 20, "{u:?}");
    assert_eq!(
        (u.replied, u.lost, u.duplicated),
        (u.injected, 0, 0),
        "{kind}"
    );
    assert_eq!(run.sut.kind, "external");
    assert!(run.sut.command.is_empty() && run.sut.replicas.is_none());
    assert_eq!((run.cpu.as_ref(), run.memory.as_ref()), (None, None));
    assert_eq!(run.resources.as_ref().unwrap().source, "none");
    let json = std::fs::read_to_string(dir.path().join("out").join("results.json")).unwrap();
    assert!(json.contains("\"cpu\": null") && json.contains("\"memory\": null"));

    let out = dir.path().join("report");
    let code = tgbench::run_cli(<tgbench::Cli as clap::Parser>::parse_from([
        "tgbench",
        "report",
        dir.path()
            .join("out")
            .join("results.json")
            .to_str()
            .unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    assert_eq!(code, 0);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let row = md
        .lines()
        .find(|l| l.starts_with("| far"))
        .unwrap_or_else(|| panic!("{md}"));
    assert!(row.contains("not measured"), "{row}");
}

#[test]
fn an_external_polling_server_answers_every_message_and_is_not_measured() {
    external_run("polling", "polling-bot");
}

#[test]
fn an_external_webhook_server_is_ready_by_its_health_url_and_answers_every_message() {
    external_run("webhook", "webhook-bot");
}
