use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::send::Send;

fn file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    (dir, p)
}

#[test]
fn csv_and_jsonl_read_the_same_rows() {
    let (_d, csv) = file(
        "t.csv",
        "t,bot,chat,kind\n0,alice-bot,u1,message\n1.5,bob-bot,u9,\n2,alice-bot,u1,callback\n",
    );
    let (_e, jl) = file(
        "t.jsonl",
        "{\"t\":0,\"bot\":\"alice-bot\",\"chat\":\"u1\"}\n\n{\"t\":1.5,\"bot\":\"bob-bot\",\"chat\":\"u9\"}\n{\"t\":2,\"bot\":\"alice-bot\",\"chat\":\"u1\",\"kind\":\"callback\"}\n",
    );
    let a: Vec<Row> = Reader::open(&csv).unwrap().map(Result::unwrap).collect();
    let b: Vec<Row> = Reader::open(&jl).unwrap().map(Result::unwrap).collect();
    assert_eq!(a, b);
    assert_eq!(a.len(), 3);
    assert_eq!(a[2].kind, SendKind::Callback);
    let s = scan(&csv).unwrap();
    assert_eq!(
        (s.rows, s.per_bot.clone(), s.chats, s.callbacks),
        (3, vec![2, 1], 2, 1)
    );
    assert_eq!(s.duration_s, 2.0);
    assert_eq!(s.gap_s[3], 2.0, "alice's two messages 2 s apart");
    let text = s.render("t.csv");
    assert!(
        text.starts_with("t.csv: 3 messages over 0.00 h from 2 bots (2 chats, 1 button presses)"),
        "{text}"
    );
    assert!(text.contains("the busiest half 66.7 %"), "{text}");
    assert!(text.contains("     0          3  ####"), "{text}");
}

#[test]
fn absolute_times_count_from_the_first_row() {
    let (_d, p) = file(
        "t.csv",
        "time,bot,chat\n2026-12-06T20:00:00Z,a,1\n2026-12-06T20:00:30.5Z,a,2\n",
    );
    let rows: Vec<Row> = Reader::open(&p).unwrap().map(Result::unwrap).collect();
    assert_eq!(rows[1].t_s, 30.5);
}

#[test]
fn a_bad_row_names_file_line_and_column() {
    let (_d, p) = file("t.csv", "t,bot,chat\n0,a,1\nsoon,a,1\n");
    let e = Reader::open(&p)
        .unwrap()
        .nth(1)
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("t.csv:3:1: t \"soon\": expected seconds since the start, e.g. 12.5"),
        "{e}"
    );
    let (_d, p) = file("t.csv", "t,bot,chat\n5,a,1\n4,a,1\n");
    let e = scan(&p).unwrap_err().to_string();
    assert!(e.contains("t.csv:3:1: out of time order"), "{e}");
    let (_d, p) = file("t.csv", "t,bot,chat,kind\n5,a,1,sticker\n");
    let e = scan(&p).unwrap_err().to_string();
    assert!(e.contains("t.csv:2:4: kind \"sticker\""), "{e}");
    let (_d, p) = file("t.csv", "when,bot,chat\n5,a,1\n");
    let e = scan(&p).unwrap_err().to_string();
    assert!(e.contains("t.csv:1:1: the header needs a t"), "{e}");
    let (_d, p) = file(
        "t.jsonl",
        "{\"t\":1,\"bot\":\"a\",\"chat\":\"c\"}\n{\"t\": 2, \"bot\": }\n",
    );
    let e = scan(&p).unwrap_err().to_string();
    assert!(e.contains("t.jsonl:2:"), "{e}");
}

#[test]
fn group_rows_go_to_a_group_chat_written_by_one_of_the_bots_users() {
    let (_d, p) = file(
        "t.csv",
        "t,bot,chat,kind\n0,x,fans,group\n1,x,fans,group\n2,x,u1,message\n3,x,fans,group\n",
    );
    let plan = ReplayPlan {
        path: p,
        speed: 1.0,
        start_s: 0.0,
        looped: None,
    };
    let sends: Vec<Send> = Replay::new(plan, Duration::from_secs(10)).collect();
    let group = sends[0].chat_id;
    assert!(group < 0, "{group}");
    assert_eq!((sends[1].chat_id, sends[3].chat_id), (group, group));
    assert!(sends[2].chat_id > 0);
    let users: HashSet<i64> = [0, 1, 3]
        .iter()
        .map(|&i| match sends[i].kind {
            SendKind::Group { user_id } => user_id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(users.iter().all(|u| *u >= FIRST_CHAT_ID));
    assert!(users.len() > 1, "rows of one group come from several users");
    let mut out = Vec::new();
    write_csv(
        &mut out,
        [Row {
            t_s: 0.0,
            bot: "b".into(),
            chat: "g".into(),
            kind: SendKind::Group { user_id: 5 },
        }]
        .into_iter(),
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "t,bot,chat,kind\n0.000,b,g,group\n"
    );
}

#[test]
fn a_replay_compresses_time_maps_keys_consistently_and_loops() {
    let (_d, p) = file("t.csv", "t,bot,chat\n0,x,u1\n60,y,u2\n120,x,u1\n180,z,u3\n");
    let plan = ReplayPlan {
        path: p.clone(),
        speed: 60.0,
        start_s: 60.0,
        looped: None,
    };
    // From trace second 60, 2 s at 60× = trace seconds 60-180 (180 excluded).
    let sends: Vec<Send> = Replay::new(plan.clone(), Duration::from_secs(2)).collect();
    let at: Vec<f64> = sends.iter().map(|s| s.at.as_secs_f64()).collect();
    assert_eq!(at, [0.0, 1.0]);
    // Bots are numbered by first appearance in the trace (x before y), skipped rows too.
    assert_eq!(sends.iter().map(|s| s.bot).collect::<Vec<_>>(), [1, 0]);
    // The same chat key is the same user.
    let all: Vec<Send> = Replay::new(
        ReplayPlan {
            start_s: 0.0,
            ..plan.clone()
        },
        Duration::from_secs(4),
    )
    .collect();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0].chat_id, all[2].chat_id);
    assert_ne!(all[0].chat_id, all[1].chat_id);
    // Looping: the 4-row, 180 s trace repeats every 240 s.
    let s = scan(&p).unwrap();
    assert_eq!(s.period_s(), 240.0);
    let looped: Vec<Send> = Replay::new(
        ReplayPlan {
            start_s: 0.0,
            looped: Some(s.period_s()),
            ..plan
        },
        Duration::from_secs(10),
    )
    .collect();
    let at: Vec<f64> = looped.iter().map(|s| s.at.as_secs_f64()).collect();
    assert_eq!(at, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    assert_eq!(looped[4].bot, 0, "the second pass keeps the mapping");
}

#[test]
fn a_log_becomes_a_sorted_anonymised_trace() {
    let (_d, p) = file(
        "log.csv",
        "ts,bot_id,user_id,type\n1765051230000,777,42,message\n1765051200000,777,43,callback_query\n",
    );
    let rows = from_log(&p, "ts", "bot_id", "user_id", Some("type")).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].t_s, rows[1].t_s), (0.0, 30.0));
    assert_eq!(rows[0].kind, SendKind::Callback);
    assert_eq!(rows[0].bot, rows[1].bot);
    assert!(!rows[0].bot.contains("777") && rows[0].bot.len() == 12);
    let mut out = Vec::new();
    assert_eq!(write_csv(&mut out, rows.into_iter()).unwrap(), 2);
    let (_e, t) = file("t.csv", std::str::from_utf8(&out).unwrap());
    assert_eq!(scan(&t).unwrap().rows, 2);
    let e = from_log(&p, "time", "bot_id", "user_id", None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no column \"time\""), "{e}");
}
