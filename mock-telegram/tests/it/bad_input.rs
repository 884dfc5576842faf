//! Bad input never breaks the mock: property-based cases over real HTTP (wrong types,
//! missing parameters, malformed bodies in every encoding, random bytes, unknown tokens,
//! methods and paths, oversized bodies, junk on the control API). Every answer is a
//! Telegram envelope (`ok:false`, `error_code` == HTTP status, Telegram's wording), never a
//! 5xx, and the mock still answers getMe afterwards.
//!
//! Each property runs a modest, fixed number of cases against one mock (see `CASES_*`), so
//! the whole module stays within a few seconds.

use std::time::Duration;

use mock_telegram::method::Method;
use mock_telegram::token::parse_bot_id;
use mock_telegram::{MockConfig, RetrySchedule};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};
use tokio::runtime::Runtime;

use crate::support::{Harness, read};

const CASES_PARAMS: u32 = 256;
const CASES_BYTES: u32 = 192;
const CASES_TOKENS: u32 = 128;
const CASES_PATHS: u32 = 128;
const CASES_CONTROL: u32 = 128;

/// The chats that exist (each got one message, already confirmed): random calls reach past
/// "chat not found" into each method's own checks.
const CHATS: [i64; 3] = [1, 2, 3];

/// A mock with known chats and an empty queue (a webhook set by a random case has nothing
/// to deliver), no rate limits, no anti-spin, on its own runtime.
fn fixture() -> (Runtime, Harness) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let h = rt.block_on(async {
        let h = Harness::start(MockConfig {
            rate_limits: false,
            anti_spin: false,
            retry: RetrySchedule::compressed(0.01),
            ..MockConfig::default()
        })
        .await;
        let mut last = 0;
        for chat in CHATS {
            last = h.say(0, chat, "hello");
        }
        h.ok(0, "getUpdates", json!({"offset": last + 1, "timeout": 0}))
            .await;
        h
    });
    (rt, h)
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Runs a property against the fixture; then the mock must still answer getMe.
fn check<S: Strategy>(
    cases: u32,
    strategy: S,
    case: impl Fn(&Harness, S::Value) -> futures::future::BoxFuture<'_, Result<(), TestCaseError>>,
) where
    S::Value: std::fmt::Debug,
{
    let (rt, h) = fixture();
    let mut runner = runner(cases);
    let result = runner.run(&strategy, |input| rt.block_on(case(&h, input)));
    if let Err(e) = result {
        panic!("{e}");
    }
    rt.block_on(async {
        let me = h.ok(0, "getMe", json!({})).await;
        assert_eq!(
            me["id"], h.bots[0].id,
            "the mock still serves after bad input"
        );
    });
}

/// Whether `d` is worded as Telegram words its errors.
fn telegram_words(d: &str) -> bool {
    matches!(d, "Unauthorized" | "Not Found" | "Request Entity Too Large")
        || [
            "Bad Request: ",
            "Conflict: ",
            "Too Many Requests: retry after ",
        ]
        .iter()
        .any(|p| d.strip_prefix(p).is_some_and(|rest| !rest.is_empty()))
}

/// A success envelope on 200, else a Telegram error envelope whose code is the status;
/// never a 5xx.
fn envelope(status: u16, body: &Value, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(status < 500, "{what}: {status} {body}");
    if status == 200 {
        prop_assert_eq!(&body["ok"], &Value::Bool(true), "{}: {}", what, body);
        prop_assert!(body.get("result").is_some(), "{what}: {body}");
        return Ok(());
    }
    prop_assert_eq!(
        &body["ok"],
        &Value::Bool(false),
        "{}: {} {}",
        what,
        status,
        body
    );
    prop_assert_eq!(
        body["error_code"].as_u64(),
        Some(u64::from(status)),
        "{}",
        what
    );
    let d = body["description"].as_str().unwrap_or_default();
    prop_assert!(telegram_words(d), "{what}: {status} {body}");
    Ok(())
}

/// An error envelope with this status.
fn refused(status: u16, body: &Value, expected: u16, what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(status, expected, "{}: {}", what, body);
    envelope(status, body, what)
}

// ---- strategies ----

/// Any JSON value, nested two deep: numbers at the edges, floats, odd strings.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-5i64..5).prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
        prop_oneof![
            Just("abc"),
            Just(""),
            Just(" "),
            Just("1e3"),
            Just("99999999999999999999999"),
            Just("-0"),
            Just("[]"),
            Just("{}"),
            Just("[\"message\""),
            Just("null"),
            Just("@someone"),
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A `timeout` that never holds the call: wrong types, zero, negatives, fractions.
fn harmless_timeout() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(0)),
        Just(json!("0")),
        (i64::MIN..0).prop_map(Value::from),
        Just(json!(1.5)),
        Just(json!("abc")),
        Just(json!([])),
        Just(json!({})),
        Just(json!(true)),
        Just(Value::Null),
    ]
}

/// Parameter names the methods read, and others.
const KEYS: &[&str] = &[
    "offset",
    "limit",
    "chat_id",
    "text",
    "message_id",
    "reply_to_message_id",
    "reply_parameters",
    "reply_markup",
    "parse_mode",
    "allowed_updates",
    "url",
    "secret_token",
    "max_connections",
    "drop_pending_updates",
    "certificate",
    "ip_address",
    "callback_query_id",
    "show_alert",
    "action",
    "commands",
    "scope",
];

fn value_for(key: &'static str) -> BoxedStrategy<Value> {
    match key {
        "chat_id" => prop_oneof![
            2 => prop::sample::select(CHATS.to_vec()).prop_map(Value::from),
            1 => json_value(),
        ]
        .boxed(),
        "message_id" | "reply_to_message_id" => {
            prop_oneof![(0i64..4).prop_map(Value::from), json_value(),].boxed()
        }
        "url" => prop_oneof![
            Just(json!("https://127.0.0.1:1/hook")),
            Just(json!("http://[::1]:1/hook")),
            Just(json!("https://8.8.8.8/hook")),
            Just(json!("ftp://localhost/x")),
            Just(json!("not a url")),
            json_value(),
        ]
        .boxed(),
        _ => json_value().boxed(),
    }
}

/// A method's parameters: known keys (and a random one) with values of any type.
fn params() -> impl Strategy<Value = Vec<(String, Value)>> {
    let known = prop::sample::select(KEYS).prop_flat_map(|k| (Just(k.to_string()), value_for(k)));
    let other = ("[a-zA-Z_]{1,10}", json_value());
    let pair = prop_oneof![4 => known, 1 => other];
    (prop::collection::vec(pair, 0..6), harmless_timeout()).prop_map(|(mut pairs, timeout)| {
        // Whatever else the case holds, a getUpdates must not be held (one per case).
        pairs.retain(|(k, _)| k != "timeout");
        pairs.push(("timeout".into(), timeout));
        pairs
    })
}

#[derive(Clone, Copy, Debug)]
enum Encoding {
    Json,
    Form,
    Query,
    Multipart,
}

/// A field's text in a form or query: strings as they are, anything else JSON-encoded
/// (what aiogram and python-telegram-bot send).
fn field_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn method_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(Method::ALL.iter().map(|m| m.name()).collect::<Vec<_>>())
}

// ---- properties ----

#[test]
fn parameters_of_any_type_in_any_encoding_get_an_answer_or_a_telegram_error() {
    let encoding = prop_oneof![
        Just(Encoding::Json),
        Just(Encoding::Form),
        Just(Encoding::Query),
        Just(Encoding::Multipart),
    ];
    check(
        CASES_PARAMS,
        (method_name(), params(), encoding),
        |h, (method, pairs, encoding)| {
            Box::pin(async move {
                let url = h.url(0, method);
                let request = match encoding {
                    Encoding::Json => {
                        let map: Map<String, Value> = pairs.into_iter().collect();
                        h.http.post(url).json(&map)
                    }
                    Encoding::Form => {
                        let form: Vec<(String, String)> = pairs
                            .iter()
                            .map(|(k, v)| (k.clone(), field_text(v)))
                            .collect();
                        h.http.post(url).form(&form)
                    }
                    Encoding::Query => {
                        let query: Vec<(String, String)> = pairs
                            .iter()
                            .map(|(k, v)| (k.clone(), field_text(v)))
                            .collect();
                        h.http.get(url).query(&query)
                    }
                    Encoding::Multipart => {
                        let mut form = reqwest::multipart::Form::new();
                        for (i, (k, v)) in pairs.iter().enumerate() {
                            form = if i % 3 == 2 {
                                let part =
                                    reqwest::multipart::Part::bytes(field_text(v).into_bytes())
                                        .file_name("upload.bin");
                                form.part(k.clone(), part)
                            } else {
                                form.text(k.clone(), field_text(v))
                            };
                        }
                        h.http.post(url).multipart(form)
                    }
                };
                let (status, body) = read(request.send().await.unwrap()).await;
                envelope(status, &body, &format!("{method} {encoding:?}"))
            })
        },
    );
}

#[test]
fn random_bytes_under_any_content_type_are_refused_with_400_or_answered() {
    let content_type = prop_oneof![
        Just(Some("application/json".to_string())),
        Just(Some("application/x-www-form-urlencoded".to_string())),
        Just(Some("multipart/form-data; boundary=XyZ".to_string())),
        Just(Some("multipart/form-data".to_string())),
        Just(Some("text/plain".to_string())),
        Just(None),
        "[ -~]{0,40}".prop_map(Some),
    ];
    let body = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2048),
        // Near misses: structured text with damage.
        prop_oneof![
            Just(b"{\"chat_id\": 1, \"text\": ".to_vec()),
            Just(b"[1,2,3]".to_vec()),
            Just(b"\"just a string\"".to_vec()),
            Just(b"{\"a\":1}{\"b\":2}".to_vec()),
            Just(b"chat_id=%ZZ&text=%".to_vec()),
            Just(b"--XyZ\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n1".to_vec()),
            Just(b"--XyZ--\r\n".to_vec()),
            Just(vec![b'['; 4096]),
        ],
    ];
    check(
        CASES_BYTES,
        (method_name(), content_type, body),
        |h, (method, content_type, body)| {
            Box::pin(async move {
                let mut request = h.http.post(h.url(0, method)).body(body.clone());
                if let Some(ct) = &content_type {
                    request = request.header("content-type", ct.as_str());
                }
                let (status, reply) = read(request.send().await.unwrap()).await;
                let what = format!("{method} {content_type:?} {} bytes", body.len());
                envelope(status, &reply, &what)?;
                let json_body = content_type
                    .as_deref()
                    .is_none_or(|c| c.starts_with("application/json"));
                if json_body
                    && !body.iter().all(u8::is_ascii_whitespace)
                    && !matches!(serde_json::from_slice::<Value>(&body), Ok(Value::Object(_)))
                {
                    refused(status, &reply, 400, &what)?;
                }
                Ok(())
            })
        },
    );
}

#[test]
fn well_formed_unknown_tokens_are_401_and_malformed_ones_404() {
    // Characters a URL path carries unchanged (no '/', '%', '?', '#').
    let malformed = "[A-Za-z0-9:_.~!$&'()*+,;=@-]{0,48}"
        .prop_filter("not a well-formed token", |t| parse_bot_id(t).is_none());
    let well_formed =
        ("[0-9]{1,12}", "[A-Za-z0-9_-]{1,48}").prop_map(|(id, s)| format!("{id}:{s}"));
    let token = prop_oneof![
        malformed.prop_map(|t| (t, 404u16)),
        well_formed.prop_map(|t| (t, 401u16)),
    ];
    check(
        CASES_TOKENS,
        (token, method_name()),
        |h, ((token, expected), method)| {
            Box::pin(async move {
                prop_assume!(token != h.bots[0].token);
                let url = format!("{}/bot{token}/{method}", h.server.base_url());
                let (status, body) = read(h.http.post(url).send().await.unwrap()).await;
                refused(status, &body, expected, &token)?;
                let d = if expected == 401 {
                    "Unauthorized"
                } else {
                    "Not Found"
                };
                prop_assert_eq!(body["description"].as_str(), Some(d));
                Ok(())
            })
        },
    );
}

#[test]
fn unknown_methods_and_random_paths_are_404_not_found() {
    let method = "[A-Za-z0-9_.-]{1,24}".prop_filter("not a method", |m| Method::parse(m).is_none());
    let path = "/[A-Za-z0-9_.~:@!$&'()*+,;=/-]{0,60}"
        .prop_filter("not the control API", |p| !p.starts_with("/_mock/"));
    let target = prop_oneof![
        method.prop_map(|m| (true, m)),
        path.prop_map(|p| (false, p)),
    ];
    check(CASES_PATHS, target, |h, (is_method, name)| {
        Box::pin(async move {
            let url = if is_method {
                h.url(0, &name)
            } else {
                format!("{}{name}", h.server.base_url())
            };
            let (status, body) = read(h.http.get(url).send().await.unwrap()).await;
            refused(status, &body, 404, &name)?;
            prop_assert_eq!(body["description"].as_str(), Some("Not Found"));
            Ok(())
        })
    });
}

#[test]
fn control_api_refuses_junk_with_400_and_a_reason() {
    let bot_id = prop_oneof![
        Just(json!(mock_telegram::token::FIRST_BOT_ID)),
        json_value(),
    ];
    let update = (bot_id, json_value(), json_value(), json_value()).prop_map(
        |(bot_id, chat_id, text, callback_data)| {
            json!({"bot_id": bot_id, "chat_id": chat_id, "text": text, "callback_data": callback_data})
        },
    )
    .boxed();
    let body = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        update.clone().prop_map(|u| u.to_string().into_bytes()),
        prop::collection::vec(update, 0..4)
            .prop_map(|u| json!({ "updates": u }).to_string().into_bytes()),
    ];
    check(CASES_CONTROL, body, |h, body| {
        Box::pin(async move {
            let before = h.mock().stats().updates.injected;
            let (status, reply) = read(
                h.http
                    .post(h.control("updates"))
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            let injected = h.mock().stats().updates.injected - before;
            let what = String::from_utf8_lossy(&body).into_owned();
            if status == 200 {
                let ids = reply["update_ids"].as_array().cloned().unwrap_or_default();
                prop_assert_eq!(ids.len() as u64, injected, "{}", what);
                // Consume what was injected so the queue stays empty.
                h.mock().reset();
                return Ok(());
            }
            refused(status, &reply, 400, &what)?;
            prop_assert_eq!(injected, 0, "a refused batch injects nothing: {}", what);
            let d = reply["description"].as_str().unwrap_or_default();
            prop_assert!(d.len() > "Bad Request: ".len() + 5, "a reason: {d}");
            Ok(())
        })
    });
}

// ---- fixed cases the properties might miss ----

#[tokio::test]
async fn wrong_types_are_400_with_the_parameter_named() {
    let h = Harness::one_bot().await;
    h.say(0, 5, "hi");
    for (method, params, description) in [
        (
            "getUpdates",
            json!({"offset": "abc"}),
            "Bad Request: invalid offset specified",
        ),
        (
            "getUpdates",
            json!({"limit": []}),
            "Bad Request: invalid limit specified",
        ),
        (
            "getUpdates",
            json!({"timeout": {}}),
            "Bad Request: invalid timeout specified",
        ),
        (
            "getUpdates",
            json!({"allowed_updates": "[nope"}),
            "Bad Request: can't parse allowed updates JSON object",
        ),
        (
            "sendMessage",
            json!({"chat_id": {}, "text": "x"}),
            "Bad Request: chat not found",
        ),
        (
            "sendMessage",
            json!({"chat_id": 5}),
            "Bad Request: message text is empty",
        ),
        ("sendMessage", json!({}), "Bad Request: chat_id is empty"),
        (
            "editMessageText",
            json!({"chat_id": 5, "message_id": "x", "text": "t"}),
            "Bad Request: invalid message_id specified",
        ),
        (
            "setWebhook",
            json!({"url": "https://127.0.0.1:1/h", "max_connections": [1]}),
            "Bad Request: invalid max_connections specified",
        ),
    ] {
        let (status, body) = h.call(0, method, params.clone()).await;
        assert_eq!(
            (status, &body),
            (
                400,
                &json!({"ok": false, "error_code": 400, "description": description})
            ),
            "{method} {params}"
        );
    }
    h.ok(0, "getMe", json!({})).await;
}

/// Regression: a body over the limit was a 400 "request body is too big or broken"; Telegram
/// answers 413 Request Entity Too Large, with or without a Content-Length.
#[tokio::test]
async fn oversized_bodies_are_413_request_entity_too_large() {
    let h = Harness::one_bot().await;
    let big = vec![b' '; mock_telegram::server::MAX_BODY_BYTES + 1];
    let too_large =
        json!({"ok": false, "error_code": 413, "description": "Request Entity Too Large"});
    let (status, body) = read(
        h.http
            .post(h.url(0, "sendMessage"))
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, &body), (413, &too_large));
    let chunks = futures::stream::iter(
        big.chunks(256 * 1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let (status, body) = read(
        h.http
            .post(h.url(0, "getMe"))
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &body),
        (413, &too_large),
        "chunked, no Content-Length"
    );
    // Exactly at the limit is read (and here refused only as bad JSON).
    let at_limit = vec![b' '; mock_telegram::server::MAX_BODY_BYTES];
    let (status, _) = read(
        h.http
            .post(h.url(0, "getMe"))
            .body(at_limit)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "whitespace only is an empty JSON body");
    tokio::time::timeout(Duration::from_secs(5), h.ok(0, "getMe", json!({})))
        .await
        .unwrap();
}
