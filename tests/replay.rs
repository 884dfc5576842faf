//! `[load] model = "replay"` end to end: a trace file written here, replayed by `tgbench run`
//! through the real mock to both reference transports, time-compressed: every row of the
//! window injected once (bots mapped from the trace's keys onto the mock's bots, none
//! dropped), every one answered, and a malformed row refused before anything starts, naming
//! the trace's file, line and column. And the `tgbench trace` commands that make and
//! describe traces, through the binary.

use crate::sim_support::{binaries, read_results, run_in_process, scenario_file, tgbench};

/// 40 messages of three bots over 600 s of trace time, every fifth a button press.
fn trace() -> String {
    let mut s = String::from("t,bot,chat,kind\n");
    for i in 0..40u32 {
        let bot = ["alpha", "beta", "gamma"][(i % 3) as usize];
        let kind = if i % 5 == 4 { "callback" } else { "message" };
        s.push_str(&format!("{},{bot},user-{},{kind}\n", i * 15, i % 7));
    }
    s
}

fn scenario(trace_file: &str) -> String {
    format!(
        r#"
name = "replay-test"
duration_s = 7
warmup_s = 0
drain_s = 5
seed = 1

[telegram]
bots = 3
rtt_ms = 5

[load]
model = "replay"
trace = "{trace_file}"
speed = 100

[[sut]]
name = "polling"
kind = "polling"
args = ["--poll-timeout", "30"]

[[sut]]
name = "webhook"
kind = "webhook"
"#
    )
}

#[test]
fn a_trace_replays_every_row_of_its_window_on_both_transports() {
    binaries();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("trace.csv"), trace()).unwrap();
    // `trace` is relative to the scenario file's folder.
    let file = scenario_file(dir.path(), "replay", &scenario("trace.csv"));
    let out = dir.path().join("out");
    let code = run_in_process(&file, &out);
    let r = read_results(&out);
    assert_eq!(code, 0);
    assert_eq!(r.scenario.load["model"], "replay");
    let names: Vec<&str> = r.runs.iter().map(|x| x.sut.name.as_str()).collect();
    assert_eq!(names, ["polling", "webhook"]);
    for run in &r.runs {
        let who = &run.sut.name;
        let u = &run.updates;
        // Trace seconds 0-585 at 100× fall in the 7 s window: all 40 rows.
        assert_eq!(
            u.injected, 40,
            "{who}: every row of the window, none dropped"
        );
        assert_eq!(u.replied, 40, "{who}: every one answered");
        assert_eq!((u.lost, u.duplicated), (0, 0), "{who}");
        let callbacks = run.requests.by_method.get("answerCallbackQuery").copied();
        assert_eq!(callbacks, Some(8), "{who}: the trace's button presses");
    }
}

#[test]
fn a_malformed_trace_row_is_refused_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = trace();
    text.push_str("600,alpha,user-1,sticker\n");
    std::fs::write(dir.path().join("trace.csv"), text).unwrap();
    let file = scenario_file(dir.path(), "replay", &scenario("trace.csv"));
    let e = tgbench::scenario::load(file.to_str().unwrap())
        .unwrap_err()
        .to_string();
    // The scenario's line and key, then the trace's file, line (header + 40 rows + 1) and
    // column (kind is the 4th).
    assert!(
        e.contains("replay.toml:14: [load] trace = \"trace.csv\""),
        "{e}"
    );
    assert!(
        e.contains("trace.csv:42:4: kind \"sticker\": expected message, callback or group"),
        "{e}"
    );

    // More bots in the trace than the scenario has: how many are needed.
    std::fs::write(dir.path().join("trace.csv"), trace()).unwrap();
    let file = scenario_file(
        dir.path(),
        "replay",
        &scenario("trace.csv").replace("bots = 3", "bots = 2"),
    );
    let e = tgbench::scenario::load(file.to_str().unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the trace has 3 distinct bots; set [telegram] bots = 3 or more"),
        "{e}"
    );
}

/// `tgbench trace` as a user types it: `generate` writes a day that `stats` describes (as
/// many messages as it wrote, from as many bots), `from-log` turns a platform's log into a
/// trace with every key anonymised and rows in time order, and a bad flag or a column the
/// log lacks is refused with exit 2 and what to fix.
#[test]
fn the_trace_commands_make_and_describe_traces() {
    let dir = tempfile::tempdir().unwrap();
    let day = dir.path().join("day.csv");
    let day_s = day.to_str().unwrap();
    let (code, out, err) = tgbench(&[
        "trace", "generate", "--out", day_s, "--bots", "4", "--hours", "2", "--rate", "1",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows = std::fs::read_to_string(&day).unwrap().lines().count() as u64 - 1;
    let shown = tgbench_reports::text::count(rows);
    assert_eq!(
        out,
        format!("{day_s}: {shown} messages from 4 bots over 2 h\n"),
        "generate says how many rows it wrote"
    );

    let (code, out, err) = tgbench(&["trace", "stats", day_s]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!(
            "{day_s}: {shown} messages over 2.00 h from 4 bots"
        )),
        "{out}"
    );
    assert!(out.contains("messages per hour of the trace:"), "{out}");

    // A platform's log: its own column names, Unix milliseconds, out of order.
    let log = dir.path().join("log.csv");
    std::fs::write(
        &log,
        "ts_ms,bot_name,user,type\n\
         1700000002000,support-bot,alice,message\n\
         1700000000000,support-bot,bob,callback_query\n\
         1700000001500,shop-bot,alice,message\n",
    )
    .unwrap();
    let trace = dir.path().join("from-log.csv");
    let (code, _, err) = tgbench(&[
        "trace",
        "from-log",
        log.to_str().unwrap(),
        "--time",
        "ts_ms",
        "--bot",
        "bot_name",
        "--chat",
        "user",
        "--kind",
        "type",
        "--out",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "t,bot,chat,kind");
    let times: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(times, ["0.000", "1.500", "2.000"]);
    assert!(lines[1].ends_with(",callback"), "{text}");
    for name in ["support-bot", "shop-bot", "alice", "bob"] {
        assert!(!text.contains(name), "{name} left in the trace: {text}");
    }

    let (code, _, err) = tgbench(&["trace", "generate", "--out", day_s, "--hours", "0"]);
    assert_eq!(code, 2);
    assert!(err.contains("--hours 0: expected hours > 0"), "{err}");
    let (code, _, err) = tgbench(&[
        "trace",
        "from-log",
        log.to_str().unwrap(),
        "--time",
        "when",
        "--bot",
        "bot_name",
        "--chat",
        "user",
        "--out",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no column \"when\" in the header (ts_ms, bot_name, user, type)"),
        "{err}"
    );
}
