//! Scenario mistakes are caught before anything starts, and said precisely: file, line,
//! key, and what is allowed. A scenario too big for the machine is refused with the fix.

use crate::sim_support::{assert_refused_by_a_machine_limit, scenario_file, tgbench};

const GOOD: &str = r#"name = "errs"
duration_s = 2

[telegram]
bots = 2

[load]
model = "poisson"
messages_per_bot_per_min = 60

[[sut]]
name = "p"
kind = "polling"
"#;

#[test]
fn a_bad_value_names_file_line_key_and_what_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario_file(dir.path(), "x", &GOOD.replace("\"poisson\"", "\"posson\""));
    let p = path.to_str().unwrap();
    let (code, stdout, stderr) = tgbench(&["validate", p]);
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!(
            "{p}:8: [load] model = \"posson\": expected one of idle, constant, poisson, burst, ramp, replay\n"
        )
    );
    // `run` refuses the same file the same way, before starting anything.
    let (code, _, stderr) = tgbench(&["run", p, "--out", dir.path().join("out").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with(&format!("{p}:8: [load] model")),
        "{stderr}"
    );
    assert!(
        !dir.path().join("out").exists(),
        "nothing written for a bad scenario"
    );
}

#[test]
fn an_unknown_key_names_line_and_the_allowed_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario_file(
        dir.path(),
        "y",
        &GOOD.replace("kind = \"polling\"", "kind = \"polling\"\ncpu = \"1\""),
    );
    let p = path.to_str().unwrap();
    let (code, _, stderr) = tgbench(&["validate", p]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with(&format!(
            "{p}:14: [[sut]] #1 cpu: unknown key; expected one of name, kind, about, args, command, env, cpus,"
        )),
        "{stderr}"
    );
}

#[test]
fn several_problems_are_all_reported() {
    let dir = tempfile::tempdir().unwrap();
    let text = GOOD
        .replace("bots = 2", "bots = 0")
        .replace("kind = \"polling\"", "kind = \"command\"");
    let path = scenario_file(dir.path(), "z", &text);
    let p = path.to_str().unwrap();
    let (code, _, stderr) = tgbench(&["validate", p]);
    assert_eq!(code, 2);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[0],
        format!("{p}:5: [telegram] bots = 0: expected at least 1")
    );
    assert!(
        lines[1].starts_with(&format!("{p}:11: [[sut]] #1 command: missing key command")),
        "{stderr}"
    );
}

#[test]
fn shipped_scenarios_validate_by_name() {
    // Every built-in one (the files themselves: `shipped_scenarios`).
    for (name, _) in tgbench::scenario::EMBEDDED {
        let (code, stdout, stderr) = tgbench(&["validate", name]);
        assert_eq!(code, 0, "{name}: {stderr}");
        assert!(
            stdout.starts_with(&format!("embedded:{name}: ok")),
            "{stdout}"
        );
    }
    let (code, _, stderr) = tgbench(&["validate", "nope"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no such file, and no embedded scenario"),
        "{stderr}"
    );
}

#[test]
fn a_million_bots_are_refused_up_front_with_the_reason_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario_file(
        dir.path(),
        "huge",
        &GOOD.replace("bots = 2", "bots = 1000000"),
    );
    let out = dir.path().join("out");
    let (code, _, stderr) = tgbench(&[
        "run",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    // Refused before anything started, not failed halfway: it says so, and no results
    // folder was made.
    assert!(stderr.contains("refused before starting"), "{stderr}");
    assert_refused_by_a_machine_limit(&stderr);
    assert!(!out.exists());
}
