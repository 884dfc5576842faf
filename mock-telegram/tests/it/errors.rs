//! Telegram's error envelopes and wording: 401, 404, 400, and method names in any case.

use serde_json::json;

use crate::support::{Harness, read, send};

#[tokio::test]
async fn unknown_well_formed_token_is_401_unauthorized() {
    let h = Harness::one_bot().await;
    let wrong = format!("{}:{}", h.bots[0].id, "A".repeat(35));
    let url = format!("{}/bot{wrong}/getMe", h.server.base_url());
    let (status, body) = send(h.http.get(url)).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
    );
    let other_bot = format!("{}/bot123:{}/getMe", h.server.base_url(), "B".repeat(35));
    assert_eq!(send(h.http.get(other_bot)).await.0, 401);
}

#[tokio::test]
async fn malformed_token_and_unknown_method_are_404_not_found() {
    let h = Harness::one_bot().await;
    let not_found = json!({"ok": false, "error_code": 404, "description": "Not Found"});
    for path in [
        "/botnotatoken/getMe",
        "/bot/getMe",
        "/getMe",
        "/something/else/entirely",
    ] {
        let (status, body) = send(h.http.get(format!("{}{path}", h.server.base_url()))).await;
        assert_eq!((status, &body), (404, &not_found), "{path}");
    }
    let (status, body) = h.call(0, "sendPigeon", json!({})).await;
    assert_eq!((status, body), (404, not_found));
}

#[tokio::test]
async fn missing_and_invalid_parameters_are_400_bad_request() {
    let h = Harness::one_bot().await;
    let (status, body) = h.call(0, "sendMessage", json!({"text": "hi"})).await;
    assert_eq!(status, 400);
    assert_eq!(body["error_code"], 400);
    assert_eq!(body["description"], "Bad Request: chat_id is empty");

    let (status, body) = h
        .call(0, "sendMessage", json!({"chat_id": 99, "text": "hi"}))
        .await;
    assert_eq!(
        (status, body["description"].as_str()),
        (400, Some("Bad Request: chat not found"))
    );

    h.say(0, 5, "hello");
    let (_, body) = h.call(0, "sendMessage", json!({"chat_id": 5})).await;
    assert_eq!(body["description"], "Bad Request: message text is empty");
    let (_, body) = h
        .call(
            0,
            "sendMessage",
            json!({"chat_id": "@someone", "text": "x"}),
        )
        .await;
    assert_eq!(body["description"], "Bad Request: chat not found");

    let response = h
        .http
        .post(h.url(0, "getUpdates"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, 400);
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .starts_with("Bad Request: "),
        "{body}"
    );
}

#[tokio::test]
async fn method_names_are_case_insensitive_and_get_works_with_a_query_string() {
    let h = Harness::one_bot().await;
    for name in ["getMe", "GetMe", "GETME", "getme"] {
        let me = h.ok(0, name, json!({})).await;
        assert_eq!(me["id"], h.bots[0].id);
        assert_eq!(me["is_bot"], true);
        assert_eq!(me["username"], h.bots[0].username.as_str());
    }
    h.say(0, 8, "hi");
    let url = format!(
        "{}?chat_id=8&text=from%20a%20query",
        h.url(0, "sendMessage")
    );
    let (status, body) = send(h.http.get(url)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["text"], "from a query");
    let stats = h.mock().stats();
    assert_eq!(stats.requests["getMe"], 4);
    assert_eq!(stats.requests["sendMessage"], 1);
}

#[tokio::test]
async fn send_message_returns_a_complete_message() {
    let h = Harness::one_bot().await;
    h.say(0, 77, "hi");
    let m = h
        .ok(0, "sendMessage", json!({"chat_id": 77, "text": "hello", "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]}}))
        .await;
    assert_eq!(m["message_id"], 2, "the user's message was 1 in this chat");
    assert_eq!(
        m["chat"],
        json!({"id": 77, "type": "private", "first_name": "User 77", "username": "user77"})
    );
    assert_eq!(m["from"]["id"], h.bots[0].id);
    assert_eq!(m["from"]["is_bot"], true);
    assert_eq!(m["text"], "hello");
    assert!(m["date"].as_i64().unwrap() > 1_600_000_000);
    assert_eq!(m["reply_markup"]["inline_keyboard"][0][0]["text"], "a");
    let edited = h
        .ok(
            0,
            "editMessageText",
            json!({"chat_id": 77, "message_id": 2, "text": "edited"}),
        )
        .await;
    assert_eq!(
        (edited["text"].as_str(), edited["message_id"].as_i64()),
        (Some("edited"), Some(2))
    );
    assert!(edited["edit_date"].is_i64());
    let (_, body) = h
        .call(
            0,
            "editMessageText",
            json!({"chat_id": 77, "message_id": 50, "text": "x"}),
        )
        .await;
    assert_eq!(
        body["description"],
        "Bad Request: message to edit not found"
    );
}

#[tokio::test]
async fn start_up_and_shutdown_methods_answer_like_telegram() {
    let h = Harness::one_bot().await;
    let commands = json!([{"command": "start", "description": "Start"}]);
    assert_eq!(
        h.ok(0, "setMyCommands", json!({"commands": commands}))
            .await,
        true
    );
    assert_eq!(h.ok(0, "getMyCommands", json!({})).await, commands);
    assert_eq!(h.ok(0, "deleteMyCommands", json!({})).await, true);
    assert_eq!(h.ok(0, "getMyCommands", json!({})).await, json!([]));
    h.say(0, 3, "hi");
    assert_eq!(
        h.ok(
            0,
            "sendChatAction",
            json!({"chat_id": 3, "action": "typing"})
        )
        .await,
        true
    );
    let (_, body) = h
        .call(
            0,
            "sendChatAction",
            json!({"chat_id": 3, "action": "dancing"}),
        )
        .await;
    assert_eq!(
        body["description"],
        "Bad Request: wrong parameter action in request"
    );
    assert_eq!(h.ok(0, "close", json!({})).await, true);
    assert_eq!(h.ok(0, "logOut", json!({})).await, true);
}
