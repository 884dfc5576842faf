//! Group chats end to end: `[load] groups` sends every message of one bot into one group
//! chat, faster than Telegram's 20 bot messages a minute per group. Both reference
//! transports answer each message exactly once: the replies beyond the limit get
//! `429 retry after 3` from the mock and the servers send them again after the wait.

use crate::sim_support::{binaries, read_results, run_in_process, scenario_file};

/// 24 messages in 10 s, all in one group of 3 users: 20 replies fit the group's minute,
/// the last ones wait for the bucket (one every 3 s).
const SCENARIO: &str = r#"
name = "groups-test"
duration_s = 10
warmup_s = 0
drain_s = 30
seed = 3

[telegram]
bots = 1
rtt_ms = 2

[load]
model = "constant"
messages_per_bot_per_min = 144
groups = { share = 1.0, chats = 1, users = 3 }

[[sut]]
name = "polling"
kind = "polling"
args = ["--poll-timeout", "30"]

[[sut]]
name = "webhook"
kind = "webhook"
"#;

#[test]
fn group_replies_beyond_the_groups_limit_are_retried_and_every_message_answered_once() {
    binaries();
    let dir = tempfile::tempdir().unwrap();
    let file = scenario_file(dir.path(), "groups", SCENARIO);
    let out = dir.path().join("out");
    let code = run_in_process(&file, &out);
    let r = read_results(&out);
    assert_eq!(code, 0);
    assert_eq!(r.scenario.load["groups"]["share"], 1.0);
    for run in &r.runs {
        let who = &run.sut.name;
        let u = &run.updates;
        assert_eq!(u.injected, 24, "{who}");
        assert_eq!(u.replied, 24, "{who}: every group message answered");
        assert_eq!((u.lost, u.duplicated), (0, 0), "{who}");
        let limited = run.telegram["rate_limited"].as_u64().unwrap();
        // Met, and yet every message answered: the limited replies were sent again.
        assert!(limited >= 1, "{who}: the group's limit was met ({limited})");
    }
}
