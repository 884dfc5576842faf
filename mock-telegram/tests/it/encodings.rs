//! Request bodies as real frameworks send them: JSON (teloxide), form-encoded with JSON
//! inside fields (aiogram, python-telegram-bot), multipart/form-data (PTB, uploads).

use serde_json::{Value, json};

use crate::support::{Harness, read, send};

#[tokio::test]
async fn form_encoded_fields_holding_json_are_decoded() {
    let h = Harness::one_bot().await;
    let user_message = h.say(0, 21, "hi");
    assert_eq!(user_message, 1);
    // What aiogram / PTB put on the wire: every non-string value JSON-encoded in its field.
    let form = [
        ("chat_id", "21"),
        ("text", "pick one"),
        ("reply_parameters", r#"{"message_id": 1}"#),
        (
            "reply_markup",
            r#"{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}"#,
        ),
        ("disable_notification", "true"),
    ];
    let response = h
        .http
        .post(h.url(0, "sendMessage"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
        "a"
    );
    let sent = h.mock().sent(h.bots[0].id);
    assert_eq!(sent[0].reply_to_message_id, Some(1));
    assert_eq!(sent[0].update_id, Some(1));

    let poll = [
        ("offset", "0"),
        ("timeout", "0"),
        ("allowed_updates", r#"["callback_query"]"#),
    ];
    let response = h
        .http
        .post(h.url(0, "getUpdates"))
        .form(&poll)
        .send()
        .await
        .unwrap();
    assert_eq!(read(response).await.0, 200);
    h.say(0, 21, "filtered out");
    assert_eq!(
        h.mock().stats().updates.filtered,
        1,
        "allowed_updates from a form field applied"
    );

    let bad = [
        ("chat_id", "21"),
        ("text", "x"),
        ("reply_markup", "{not json"),
    ];
    let (status, body) = send(h.http.post(h.url(0, "sendMessage")).form(&bad)).await;
    assert_eq!(
        (status, body["description"].as_str()),
        (
            400,
            Some("Bad Request: can't parse reply keyboard markup JSON object")
        )
    );
}

#[tokio::test]
async fn multipart_bodies_are_read_field_by_field() {
    let h = Harness::one_bot().await;
    h.say(0, 30, "hi");
    let form = reqwest::multipart::Form::new()
        .text("chat_id", "30")
        .text("text", "from multipart")
        .text("reply_parameters", r#"{"message_id":1}"#);
    let (status, body) = send(h.http.post(h.url(0, "sendMessage")).multipart(form)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["text"], "from multipart");
    assert_eq!(h.mock().sent(h.bots[0].id)[0].reply_to_message_id, Some(1));

    // setWebhook with an uploaded certificate, as PTB sends it.
    let form = reqwest::multipart::Form::new()
        .text("url", "https://127.0.0.1:8443/hook")
        .text("max_connections", "7")
        .part(
            "certificate",
            reqwest::multipart::Part::bytes(b"-----BEGIN CERTIFICATE-----".to_vec())
                .file_name("cert.pem"),
        );
    let (status, body) = send(h.http.post(h.url(0, "setWebhook")).multipart(form)).await;
    assert_eq!(status, 200, "{body}");
    let info = h.ok(0, "getWebhookInfo", json!({})).await;
    assert_eq!(
        (
            info["has_custom_certificate"].as_bool(),
            info["max_connections"].as_i64()
        ),
        (Some(true), Some(7))
    );
}

#[tokio::test]
async fn json_bodies_and_query_strings_carry_typed_values() {
    let h = Harness::one_bot().await;
    h.say(0, 5, "hi");
    let body: Value = h
        .ok(
            0,
            "sendMessage",
            json!({"chat_id": "5", "text": "chat id as a string"}),
        )
        .await;
    assert_eq!(body["chat"]["id"], 5);
    let url = format!("{}?offset=1&limit=1&timeout=0", h.url(0, "getUpdates"));
    let (status, body) = send(h.http.get(url)).await;
    assert_eq!(
        (status, body["result"][0]["update_id"].as_i64()),
        (200, Some(1))
    );
    let s = h.mock().stats();
    assert!(s.bytes.inbound > 0 && s.bytes.outbound > 0);
    assert_eq!(
        s.bytes_by_method["getUpdates"].inbound, 0,
        "a GET has no body"
    );
}
