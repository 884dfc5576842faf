//! Group chats over real HTTP: negative chat ids, several users per group, the group's
//! rate limit of about 20 bot messages a minute.

use mock_telegram::NewUpdate;
use serde_json::json;

use crate::support::{Harness, send};

#[tokio::test]
async fn group_messages_carry_the_group_and_the_user_who_wrote() {
    let h = Harness::one_bot().await;
    let bot = h.bots[0].id;
    for (chat, user) in [(-42, 101), (-42, 102), (-1_000_000_000_042, 103)] {
        h.mock()
            .inject(NewUpdate::group_message(bot, chat, user, "hi all"))
            .unwrap();
    }
    let got = h.ok(0, "getUpdates", json!({})).await;
    let m = |i: usize| &got[i]["message"];
    assert_eq!(
        m(0)["chat"],
        json!({"id": -42, "type": "group", "title": "Group 42"})
    );
    assert_eq!(
        (m(0)["from"]["id"].as_i64(), m(1)["from"]["id"].as_i64()),
        (Some(101), Some(102))
    );
    assert_eq!(m(0)["from"]["is_bot"], false);
    assert_eq!(m(2)["chat"]["type"], "supergroup");
    // Message ids run per chat, the two users' messages in one sequence.
    assert_eq!(
        (m(0)["message_id"].as_i64(), m(1)["message_id"].as_i64()),
        (Some(1), Some(2))
    );

    // The control API takes the user too, and wants one for a group.
    let (status, ids) = send(
        h.http
            .post(h.control("updates"))
            .json(&json!({"bot_id": bot, "chat_id": -42, "user_id": 104, "text": "me too"})),
    )
    .await;
    assert_eq!((status, ids), (200, json!({"update_ids": [4]})));
    let (status, body) = send(
        h.http
            .post(h.control("updates"))
            .json(&json!({"bot_id": bot, "chat_id": -42, "text": "who?"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .contains("needs the user_id"),
        "{body}"
    );
}

#[tokio::test]
async fn a_bot_sends_twenty_messages_a_minute_to_one_group_then_429() {
    let h = Harness::one_bot().await;
    let bot = h.bots[0].id;
    for user in 0..25 {
        h.mock()
            .inject(NewUpdate::group_message(bot, -7, 200 + user, "hi"))
            .unwrap();
    }
    for _ in 0..20 {
        h.ok(
            0,
            "sendMessage",
            json!({"chat_id": -7, "text": "hello group"}),
        )
        .await;
    }
    let (status, body) = h
        .call(
            0,
            "sendMessage",
            json!({"chat_id": -7, "text": "one too many"}),
        )
        .await;
    assert_eq!(status, 429);
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 3", "parameters": {"retry_after": 3}})
    );
    // A private chat of the same bot is not held back by the group.
    h.say(0, 9, "private");
    h.ok(0, "sendMessage", json!({"chat_id": 9, "text": "fine"}))
        .await;
    let s = h.mock().stats();
    assert_eq!((s.updates.replied, s.rate_limited), (21, 1));
}
