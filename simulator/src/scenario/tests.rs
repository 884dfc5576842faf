//! Scenario parsing: every shipped scenario is valid; every error names file, line, key.

use super::*;

fn err(text: &str) -> String {
    parse(text, "x.toml").unwrap_err().to_string()
}

const MINIMAL: &str = r#"
name = "t"
duration_s = 5

[telegram]
bots = 3

[load]
model = "poisson"
messages_per_bot_per_min = 6

[[sut]]
name = "a"
kind = "polling"
"#;

#[test]
fn every_shipped_scenario_is_valid() {
    for (name, text) in EMBEDDED {
        let s = parse(text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&s.name, name);
    }
}

#[test]
fn minimal_scenario_gets_defaults() {
    let s = parse(MINIMAL, "x.toml").unwrap();
    assert_eq!(s.warmup_s, 0.0);
    assert_eq!(s.drain_s, 10.0);
    assert_eq!(s.repeat, 1);
    assert_eq!(s.sample_ms, 250);
    assert!(s.telegram.rate_limits && s.telegram.anti_spin);
    assert!(s.telegram.poll_batching && s.telegram.webhook_ramp);
    assert_eq!(s.telegram.update_expiry_s, 86_400.0);
    assert_eq!(s.suts[0].ready(), Ready::Polling);
    assert_eq!(s.capacity.steps, default_steps());
    assert_eq!(s.segments().len(), 1);
}

#[test]
fn bad_model_names_line_key_value_and_choices() {
    let text = MINIMAL.replace("\"poisson\"", "\"posson\"");
    assert_eq!(
        err(&text),
        "x.toml:9: [load] model = \"posson\": expected one of idle, constant, poisson, burst, ramp, replay"
    );
}

#[test]
fn unknown_key_names_line_and_allowed_keys() {
    let text = MINIMAL.replace("bots = 3", "bots = 3\nrtt = 5");
    let e = err(&text);
    assert!(
        e.starts_with("x.toml:7: [telegram] rtt: unknown key; expected one of bots, rtt_ms"),
        "{e}"
    );
}

#[test]
fn unknown_key_in_an_array_of_tables() {
    let text = MINIMAL.replace("kind = \"polling\"", "kind = \"polling\"\ncpu = \"1\"");
    let e = err(&text);
    assert!(
        e.starts_with("x.toml:15: [[sut]] #1 cpu: unknown key; expected one of name, kind"),
        "{e}"
    );
}

#[test]
fn wrong_type_is_said_in_words() {
    let text = MINIMAL.replace("bots = 3", "bots = \"three\"");
    let e = err(&text);
    assert!(
        e.starts_with("x.toml:6: [telegram] bots = \"three\": invalid type"),
        "{e}"
    );
    assert!(e.contains("whole number"), "{e}");
}

#[test]
fn missing_required_key() {
    let text = MINIMAL.replace("kind = \"polling\"\n", "");
    let e = err(&text);
    assert!(e.starts_with("x.toml:12:"), "{e}");
    assert!(e.contains("missing key kind"), "{e}");
}

#[test]
fn semantic_errors_name_line_and_key_all_at_once() {
    let text = MINIMAL
        .replace("bots = 3", "bots = 0")
        .replace("kind = \"polling\"", "kind = \"command\"");
    let e = err(&text);
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 2, "{e}");
    assert_eq!(
        lines[0],
        "x.toml:6: [telegram] bots = 0: expected at least 1"
    );
    assert!(
        lines[1].starts_with("x.toml:12: [[sut]] #1 command: missing key command"),
        "{e}"
    );
}

#[test]
fn override_table_errors_point_into_it() {
    let text = format!("{MINIMAL}\n[sut.telegram]\nanti_spin = false\nrtt_ms = -1\n");
    let e = err(&text);
    assert_eq!(
        e,
        "x.toml:18: [[sut]] #1 telegram.rtt_ms = -1: expected milliseconds ≥ 0 and ≤ 60000"
    );
    let text = format!("{MINIMAL}\n[sut.telegram]\nbots = 5\n");
    let e = err(&text);
    assert!(
        e.starts_with("x.toml:17: [[sut]] #1 telegram.bots: unknown key"),
        "{e}"
    );
}

#[test]
fn telegram_behaviour_switches_are_read_and_checked() {
    let text = format!(
        "{MINIMAL}
[sut.telegram]
webhook_ramp = false
poll_batching = false
"
    );
    let s = parse(&text, "x.toml").unwrap();
    let t = s.telegram.with(s.suts[0].telegram.as_ref());
    assert!(!t.webhook_ramp && !t.poll_batching);
    assert!(s.telegram.webhook_ramp && s.telegram.poll_batching);
    let text = format!(
        "{MINIMAL}
[sut.telegram]
update_expiry_s = 0
"
    );
    assert_eq!(
        err(&text),
        "x.toml:17: [[sut]] #1 telegram.update_expiry_s = 0: expected seconds > 0 and ≤ 86400 \
         (Telegram keeps an update a day)"
    );
}

#[test]
fn groups_are_read_and_checked_with_their_keys() {
    let ok = MINIMAL.replace("[load]\n", "[load]\ngroups = { share = 0.2, chats = 3 }\n");
    let s = parse(&ok, "x.toml").unwrap();
    assert_eq!(
        s.load.groups,
        Some(Groups {
            share: 0.2,
            chats: 3,
            users: 5
        })
    );
    let bad = MINIMAL.replace(
        "[load]\n",
        "[load]\ngroups = { share = 1.5, chats = 0, users = 5000 }\n",
    );
    let e = err(&bad);
    assert!(
        e.contains("[load] groups.share = 1.5: expected the share of messages sent in group chats"),
        "{e}"
    );
    assert!(
        e.contains("[load] groups.chats = 0: expected group chats per bot"),
        "{e}"
    );
    assert!(
        e.contains("[load] groups.users = 5000: expected users who write"),
        "{e}"
    );
    let unknown = MINIMAL.replace("[load]\n", "[load]\ngroups = { share = 0.2, size = 3 }\n");
    assert!(
        err(&unknown).contains("groups.size: unknown key"),
        "{}",
        err(&unknown)
    );
}

#[test]
fn bad_ready_and_cpus() {
    let text = MINIMAL.replace("kind = \"polling\"", "kind = \"polling\"\nready = \"soon\"");
    let e = err(&text);
    assert!(
        e.starts_with("x.toml:15: [[sut]] #1 ready = \"soon\": expected one of polling, webhook"),
        "{e}"
    );
    let text = MINIMAL.replace("kind = \"polling\"", "kind = \"polling\"\ncpus = \"2-1\"");
    let e = err(&text);
    assert!(
        e.starts_with("x.toml:15: [[sut]] #1 cpus = \"2-1\": expected CPU numbers"),
        "{e}"
    );
}

#[test]
fn model_specific_keys_only_with_their_model() {
    let text = MINIMAL.replace(
        "model = \"poisson\"",
        "model = \"poisson\"\nburst_every_s = 5",
    );
    let e = err(&text);
    assert_eq!(
        e,
        "x.toml:10: [load] burst_every_s: only for model = \"burst\""
    );
}

#[test]
fn phases_replace_duration() {
    let text = MINIMAL.replace("duration_s = 5\n", "")
        + "\n[[phase]]\nname = \"idle\"\nduration_s = 3\n[phase.load]\nmodel = \"idle\"\n\n[[phase]]\nname = \"active\"\nduration_s = 4\n";
    let s = parse(&text, "x.toml").unwrap();
    let segs = s.segments();
    assert_eq!(segs.len(), 2);
    assert_eq!(segs[0].phase.as_deref(), Some("idle"));
    assert_eq!(segs[0].load.model, Model::Idle);
    assert_eq!(segs[1].load.model, Model::Poisson);
    assert_eq!(s.window_s(), 7.0);
    // Both a top-level duration and phases: an error on the duration's line.
    let both = format!("duration_s = 5\n{text}");
    assert!(err(&both).starts_with("x.toml:1: duration_s = 5: not allowed with [[phase]]"));
}

#[test]
fn syntax_error_names_the_line() {
    let text = MINIMAL.replace("bots = 3", "bots = = 3");
    let e = err(&text);
    assert!(e.starts_with("x.toml:6: "), "{e}");
}

#[test]
fn load_by_embedded_name_and_unknown_name() {
    let s = load("smoke").unwrap();
    assert_eq!(s.source, "embedded:smoke");
    let e = load("no-such-scenario").unwrap_err().to_string();
    assert!(e.contains("embedded: smoke, idle-100"), "{e}");
}

#[test]
fn cpu_list_forms() {
    assert_eq!(CpuList::parse("1").unwrap().0, vec![1]);
    assert_eq!(CpuList::parse("0-2,5").unwrap().0, vec![0, 1, 2, 5]);
    assert!(CpuList::parse("a").is_err());
    assert!(CpuList::parse("").is_err());
}

#[test]
fn tls_is_refused_for_a_serverless_sut_where_it_is_set() {
    let text = serverless().replace("bots = 3", "bots = 3\ntls = true");
    let e = err(&text);
    assert!(
        e.starts_with("x.toml:7: [telegram] tls = true: not for kind = \"serverless\" yet (tgbench cannot hand it the test CA)"),
        "{e}"
    );
    let ok = format!("{}\n[sut.telegram]\ntls = false\n", text);
    parse(&ok, "x.toml").unwrap();
    let plain = parse(
        &format!("{MINIMAL}\n[sut.telegram]\ntls = true\n"),
        "x.toml",
    )
    .unwrap();
    assert!(!plain.telegram.tls);
    assert_eq!(
        plain.suts[0].telegram.as_ref().and_then(|o| o.tls),
        Some(true)
    );
}

/// MINIMAL with its SUT made serverless (the same lines up to `kind`).
fn serverless() -> String {
    MINIMAL.replace(
        "kind = \"polling\"\n",
        "kind = \"serverless\"\nfunction = \"webhook-lambda\"\nmemory_mb = 512\nkeep_warm_s = 20\n\
         arch = \"arm64\"\nfront_door = \"api_gateway_http\"\n",
    )
}

#[test]
fn a_serverless_sut_gets_aws_defaults_and_is_ready_when_webhooks_are_set() {
    let s = parse(&serverless(), "x.toml").unwrap();
    let sut = &s.suts[0];
    assert_eq!(sut.ready(), Ready::Webhook);
    let spec = sut.serverless().unwrap();
    assert_eq!(spec.function, Function::Reference("webhook-lambda".into()));
    assert_eq!((spec.memory_mb, spec.concurrency), (512, 1000));
    assert_eq!((spec.keep_warm_s, spec.timeout_s), (20.0, 3.0));
    assert_eq!(
        (spec.arch, spec.front_door),
        (Arch::Arm64, FrontDoor::ApiGatewayHttp)
    );
    let command = serverless().replace("\"webhook-lambda\"", "[\"python3\", \"f.py\"]");
    let spec = parse(&command, "x.toml").unwrap().suts[0]
        .serverless()
        .unwrap();
    assert_eq!(
        spec.function,
        Function::Command(vec!["python3".into(), "f.py".into()])
    );
    assert_eq!(spec.arch, Arch::Arm64);
    // Another kind has no function configuration.
    assert_eq!(parse(MINIMAL, "x.toml").unwrap().suts[0].serverless(), None);
}

#[test]
fn serverless_keys_are_checked_with_file_line_and_key() {
    let e = err(&serverless().replace("memory_mb = 512", "memory_mb = 64"));
    assert_eq!(
        e,
        "x.toml:16: [[sut]] #1 memory_mb = 64: expected 128 to 10240 (AWS Lambda's memory range, MB)"
    );
    let e = err(&serverless().replace("function = \"webhook-lambda\"\n", ""));
    assert!(
        e.contains(
            "[[sut]] #1 function: missing key function (required for kind = \"serverless\")"
        ),
        "{e}"
    );
    let e = err(&serverless().replace("\"webhook-lambda\"", "\"webhook-bot\""));
    assert!(e.starts_with("x.toml:15: [[sut]] #1 function"), "{e}");
    assert!(e.contains("expected \"webhook-lambda\""), "{e}");
    let e = err(&serverless().replace("keep_warm_s = 20", "keep_warm_s = 20\ntimeout_s = 901"));
    assert!(
        e.contains("x.toml:18: [[sut]] #1 timeout_s = 901: expected 1 to 900"),
        "{e}"
    );
    let e = err(&serverless().replace("\"arm64\"", "\"riscv\""));
    assert_eq!(
        e,
        "x.toml:18: [[sut]] #1 arch = \"riscv\": expected one of x86_64 or arm64"
    );
    // Serverless keys on another kind are refused, by line.
    let e = err(&MINIMAL.replace("kind = \"polling\"", "kind = \"polling\"\nmemory_mb = 512"));
    assert_eq!(
        e,
        "x.toml:15: [[sut]] #1 memory_mb: only for kind = \"serverless\" (this [[sut]] is kind = \"polling\")"
    );
}

#[test]
fn a_daily_curve_parses_and_its_mistakes_name_line_and_key() {
    let with = |curve: &str| {
        MINIMAL.replace(
            "messages_per_bot_per_min = 6",
            &format!("messages_per_bot_per_min = 6\ndiurnal = {curve}"),
        )
    };
    let s = parse(
        &with("{ peak_hour = 20, trough_ratio = 0.1, day_s = 600 }"),
        "x.toml",
    )
    .unwrap();
    let d = s.load.diurnal.as_ref().unwrap();
    assert_eq!(
        (d.peak_hour, d.trough_ratio, d.day_s),
        (Some(20.0), Some(0.1), 600.0)
    );
    assert_eq!(d.start_hour, 0.0);
    let hours = format!("{{ hours = [{}] }}", vec!["1"; 24].join(", "));
    let s = parse(&with(&hours), "x.toml").unwrap();
    assert_eq!(
        s.load.diurnal.unwrap().day_s,
        86_400.0,
        "real time by default"
    );

    assert_eq!(
        err(&with("{ peak_hour = 25, trough_ratio = 0 }")),
        "x.toml:11: [load] diurnal.peak_hour = 25: expected an hour ≥ 0 and < 24\n\
         x.toml:11: [load] diurnal.trough_ratio = 0: expected a share > 0 and ≤ 1 (the quietest \
         hour's traffic ÷ the busiest's)"
    );
    assert!(
        err(&with("{ hours = [1, 2] }")).contains("diurnal.hours = 2 values: expected 24 weights"),
        "{}",
        err(&with("{ hours = [1, 2] }"))
    );
    let e = err(&with("{ peak_hour = 20 }"));
    assert!(e.contains("diurnal.trough_ratio: missing"), "{e}");
    let e = err(&with("{ peak_hour = 20, trough_ratio = 0.5, day = 600 }"));
    assert!(e.contains("day"), "{e}");
    let e = err(&with("{ peak_hour = 20, trough_ratio = 0.5 }")
        .replace("model = \"poisson\"", "model = \"constant\""));
    assert!(
        e.contains("[load] diurnal: only for model = \"poisson\" or \"ramp\""),
        "{e}"
    );
}

#[test]
fn conversations_parse_and_their_mistakes_name_line_and_key() {
    let with = |conv: &str| {
        MINIMAL.replace(
            "messages_per_bot_per_min = 6",
            &format!("messages_per_bot_per_min = 6\nconversation = {conv}"),
        )
    };
    let s = parse(&with("{ messages = 3, gap_s = 5 }"), "x.toml").unwrap();
    assert_eq!(s.load.conversation.unwrap().messages, 3.0);
    assert_eq!(
        err(&with("{ messages = 0.5, gap_s = 0 }")),
        "x.toml:11: [load] conversation.messages = 0.5: expected the mean messages per \
         conversation, ≥ 1 and ≤ 100\nx.toml:11: [load] conversation.gap_s = 0: expected the \
         mean seconds between one user's messages, > 0 and ≤ 3600"
    );
    assert!(err(&with("{ messages = 3 }")).contains("gap_s"));
}

#[test]
fn a_capacity_along_the_rate_needs_rates_and_no_bot_steps() {
    let base = MINIMAL.to_owned() + "\n[capacity]\naxis = \"rate\"\n";
    let s = parse(&(base.clone() + "rates = [1, 6, 60]\n"), "x.toml").unwrap();
    assert_eq!(s.capacity.axis, Axis::Rate);
    assert_eq!(s.with_rate(60.0).load.messages_per_bot_per_min, 60.0);
    let e = err(&base);
    assert!(e.contains("[capacity] rates: missing"), "{e}");
    let e = err(&(base.clone() + "rates = [6, 1]\nsteps = [1, 2]\n"));
    assert!(e.contains("[capacity] steps: steps are bot counts"), "{e}");
    assert!(e.contains("[capacity] rates: expected rates > 0"), "{e}");
    let e = err(&(MINIMAL.to_owned() + "\n[capacity]\nrates = [1]\n"));
    assert!(
        e.contains("[capacity] rates: only with axis = \"rate\""),
        "{e}"
    );
}

#[test]
fn cpu_quota_is_a_share_of_the_cores_the_sut_may_use() {
    let with = |extra: &str| {
        MINIMAL.replace(
            "kind = \"polling\"",
            &format!("kind = \"polling\"\n{extra}"),
        )
    };
    let ok = parse(&with("cpu_quota = 0.25"), "x.toml").unwrap();
    assert_eq!(ok.suts[0].cpu_quota, Some(0.25));
    for bad in [
        "cpu_quota = 0",
        "cpu_quota = -1",
        "cpu_quota = 0.001",
        "cpu_quota = nan",
    ] {
        let e = err(&with(bad));
        assert!(
            e.starts_with("x.toml:15: [[sut]] #1 cpu_quota = "),
            "{bad}: {e}"
        );
        assert!(e.contains("expected cores > 0"), "{bad}: {e}");
    }
    // More than the cores it is pinned to.
    let e = err(&with("cpus = \"0\"\ncpu_quota = 1.5"));
    assert!(
        e.starts_with("x.toml:16: [[sut]] #1 cpu_quota = 1.5: expected cores > 0 (at least 0.01) and ≤ 1 (the cores of its cpus)"),
        "{e}"
    );
    // More than the machine has.
    let e = err(&with("cpu_quota = 100000"));
    assert!(e.contains("(the cores of this machine)"), "{e}");
    let e = err(&with("cpu_quota = \"half\""));
    assert!(e.starts_with("x.toml:15: [[sut]] #1 cpu_quota"), "{e}");
}
