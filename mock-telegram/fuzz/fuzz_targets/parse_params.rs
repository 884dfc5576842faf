//! Fuzzes request parsing: [`Params::parse`] over any query string, content type and body
//! (JSON, form-urlencoded, multipart, none, anything), then every typed getter the Bot API
//! methods use, getUpdates' clamping and setWebhook's URL and secret checks. A parse may
//! fail (that is a 400); it must never panic, hang or blow up.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use mock_telegram::params::Params;

/// The content types a framework (or an attacker) may send.
#[derive(Debug, Arbitrary)]
enum ContentType<'a> {
    Json,
    Form,
    /// multipart with a boundary the body may or may not use.
    Multipart(&'a str),
    MultipartWithoutBoundary,
    None,
    Other(&'a str),
}

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    query: Option<&'a str>,
    content_type: ContentType<'a>,
    body: &'a [u8],
}

/// The parameter names the methods read.
const NAMES: &[&str] = &[
    "offset",
    "limit",
    "timeout",
    "chat_id",
    "text",
    "message_id",
    "reply_to_message_id",
    "max_connections",
    "url",
    "secret_token",
];

fuzz_target!(|input: Input<'_>| {
    let content_type = match input.content_type {
        ContentType::Json => Some("application/json".to_string()),
        ContentType::Form => Some("application/x-www-form-urlencoded".to_string()),
        ContentType::Multipart(b) => Some(format!("multipart/form-data; boundary={b}")),
        ContentType::MultipartWithoutBoundary => Some("multipart/form-data".to_string()),
        ContentType::None => None,
        ContentType::Other(c) => Some(c.to_string()),
    };
    let body = Bytes::copy_from_slice(input.body);
    let parsed =
        futures::executor::block_on(Params::parse(input.query, content_type.as_deref(), body));
    let Ok(params) = parsed else {
        return;
    };
    for name in NAMES {
        let _ = params.has(name);
        let _ = params.is_file(name);
        let _ = params.str(name);
        let _ = params.i64(name);
        let _ = params.bool(name);
        let _ = params.json(name, "fuzzed");
    }
    let _ = params.chat_id();
    let _ = params.allowed_updates();
    let _ = mock_telegram::polling::PollRequest::from_params(&params);
    if let Some(url) = params.str("url") {
        let _ = mock_telegram::webhook::validate_url(url.trim(), &[]);
    }
    if let Some(secret) = params.str("secret_token") {
        let _ = mock_telegram::webhook::validate_secret(&secret);
    }
});
