//! The function URL's payload format 2.0: an HTTP request as the event a function receives,
//! and the function's response (`{statusCode, headers, cookies, body, isBase64Encoded}`, or
//! any other JSON) as the HTTP answer. Pure functions, no I/O.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde_json::{Map, Value};

/// The request as the front door received it.
#[derive(Debug, Clone)]
pub struct HttpRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// Header names and values as received (names are lower-cased in the event).
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
    pub source_ip: String,
    pub request_id: &'a str,
    pub now: SystemTime,
    /// The URL id (`<url-id>.lambda-url.<region>.on.aws`).
    pub url_id: &'a str,
    pub region: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    version: &'static str,
    route_key: &'static str,
    raw_path: &'a str,
    raw_query_string: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cookies: Vec<String>,
    headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    query_string_parameters: BTreeMap<String, String>,
    request_context: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    is_base64_encoded: bool,
}

/// Whether a content type's body goes into the event as text (else base64), as AWS decides.
fn is_text(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return true };
    let ct = ct.to_ascii_lowercase();
    ct.starts_with("text/")
        || [
            "json",
            "xml",
            "javascript",
            "x-www-form-urlencoded",
            "yaml",
            "graphql",
        ]
        .iter()
        .any(|t| ct.contains(t))
}

/// The payload-format-2.0 event of `request`, as JSON bytes.
pub fn request_event(request: &HttpRequest<'_>) -> Vec<u8> {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies = Vec::new();
    for (name, value) in &request.headers {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            cookies.extend(value.split(';').map(|c| c.trim().to_owned()));
            continue;
        }
        headers
            .entry(name)
            .and_modify(|v| {
                v.push(',');
                v.push_str(value);
            })
            .or_insert_with(|| value.clone());
    }
    let mut query = BTreeMap::new();
    for pair in request
        .query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        query
            .entry(k.to_owned())
            .and_modify(|x: &mut String| {
                x.push(',');
                x.push_str(v);
            })
            .or_insert_with(|| v.to_owned());
    }
    let text = is_text(headers.get("content-type").map(String::as_str));
    let (body, is_base64_encoded) = match std::str::from_utf8(request.body) {
        _ if request.body.is_empty() => (None, false),
        Ok(s) if text => (Some(s.to_owned()), false),
        _ => (Some(STANDARD.encode(request.body)), true),
    };
    let epoch_ms = request
        .now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let domain = format!("{}.lambda-url.{}.on.aws", request.url_id, request.region);
    let request_context = serde_json::json!({
        "accountId": "anonymous",
        "apiId": request.url_id,
        "domainName": domain,
        "domainPrefix": request.url_id,
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent").cloned().unwrap_or_default(),
        },
        "requestId": request.request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": clf_time(epoch_ms / 1000),
        "timeEpoch": epoch_ms,
    });
    let event = Event {
        version: "2.0",
        route_key: "$default",
        raw_path: request.path,
        raw_query_string: request.query.unwrap_or(""),
        cookies,
        headers,
        query_string_parameters: query,
        request_context,
        body,
        is_base64_encoded,
    };
    serde_json::to_vec(&event).expect("the event serializes")
}

/// `12/Mar/2020:19:03:58 +0000` (the access-log time AWS puts in `requestContext.time`).
pub fn clf_time(epoch_s: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = (epoch_s / 86_400) as i64;
    let secs = epoch_s % 86_400;
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{day:02}/{}/{year}:{:02}:{:02}:{:02} +0000",
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The HTTP answer a function's response becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub cookies: Vec<String>,
    pub body: Vec<u8>,
}

/// Why a function's response cannot be an HTTP answer (the front door says 502).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid function response: {0}")]
pub struct InvalidResponse(pub String);

/// The HTTP answer of a function's response: an object with `statusCode` is read as
/// payload format 2.0; any other valid JSON is a 200 `application/json` answer with that
/// JSON as its body; anything else is invalid.
pub fn response_answer(payload: &[u8]) -> Result<HttpAnswer, InvalidResponse> {
    let bad = |why: &str| InvalidResponse(why.to_owned());
    let value: Value = serde_json::from_slice(payload).map_err(|_| bad("not JSON"))?;
    let shaped = value.as_object().filter(|o| o.contains_key("statusCode"));
    let Some(object) = shaped else {
        return Ok(HttpAnswer {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            cookies: Vec::new(),
            body: payload.to_vec(),
        });
    };
    let status = object["statusCode"]
        .as_u64()
        .filter(|s| (100..=599).contains(s))
        .ok_or_else(|| bad("statusCode is not an HTTP status"))? as u16;
    let headers = match object.get("headers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => {
            string_map(map).ok_or_else(|| bad("a header is not a string"))?
        }
        Some(_) => return Err(bad("headers is not an object")),
    };
    let cookies = match object.get("cookies") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|c| c.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| bad("a cookie is not a string"))?,
        Some(_) => return Err(bad("cookies is not an array")),
    };
    let base64 = match object.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("isBase64Encoded is not a boolean")),
    };
    let body = match object.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if base64 => {
            STANDARD.decode(s).map_err(|_| bad("body is not base64"))?
        }
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(_) => return Err(bad("body is not a string")),
    };
    Ok(HttpAnswer {
        status,
        headers,
        cookies,
        body,
    })
}

fn string_map(map: &Map<String, Value>) -> Option<Vec<(String, String)>> {
    map.iter()
        .map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(body: &'a [u8], content_type: &str) -> HttpRequest<'a> {
        HttpRequest {
            method: "POST",
            path: "/webhook/7000000001",
            query: Some("a=1&b=2"),
            headers: vec![
                ("Content-Type".into(), content_type.into()),
                ("X-Telegram-Bot-Api-Secret-Token".into(), "s3cret".into()),
            ],
            body,
            source_ip: "127.0.0.1".into(),
            request_id: "rid",
            now: UNIX_EPOCH + std::time::Duration::from_millis(1_583_348_638_390),
            url_id: "abc",
            region: "us-east-1",
        }
    }

    #[test]
    fn a_webhook_post_becomes_a_payload_2_event() {
        let event = request_event(&request(br#"{"update_id":1}"#, "application/json"));
        let e: Value = serde_json::from_slice(&event).unwrap();
        assert_eq!(e["version"], "2.0");
        assert_eq!(e["rawPath"], "/webhook/7000000001");
        assert_eq!(e["headers"]["x-telegram-bot-api-secret-token"], "s3cret");
        assert_eq!(e["body"], r#"{"update_id":1}"#);
        assert_eq!(e["isBase64Encoded"], false);
        assert_eq!(e["queryStringParameters"]["b"], "2");
        assert_eq!(e["requestContext"]["http"]["method"], "POST");
        assert_eq!(e["requestContext"]["timeEpoch"], 1_583_348_638_390u64);
        assert_eq!(e["requestContext"]["time"], "04/Mar/2020:19:03:58 +0000");
    }

    #[test]
    fn binary_bodies_are_base64() {
        let event = request_event(&request(&[0, 159, 146, 150], "application/octet-stream"));
        let e: Value = serde_json::from_slice(&event).unwrap();
        assert_eq!(e["isBase64Encoded"], true);
        assert_eq!(e["body"], "AJ+Slg==");
    }

    #[test]
    fn shaped_responses_become_http() {
        let answer = response_answer(
            br#"{"statusCode":201,"headers":{"content-type":"text/plain"},"cookies":["a=b"],"body":"aGk=","isBase64Encoded":true}"#,
        )
        .unwrap();
        assert_eq!(answer.status, 201);
        assert_eq!(
            answer.headers,
            [("content-type".to_owned(), "text/plain".to_owned())]
        );
        assert_eq!(answer.cookies, ["a=b"]);
        assert_eq!(answer.body, b"hi");
    }

    #[test]
    fn other_json_is_a_200_json_answer() {
        let answer = response_answer(br#"{"method":"sendMessage"}"#).unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, br#"{"method":"sendMessage"}"#);
        assert_eq!(response_answer(b"null").unwrap().body, b"null");
    }

    #[test]
    fn invalid_responses_are_refused() {
        for bad in [
            &b"not json"[..],
            br#"{"statusCode":"200"}"#,
            br#"{"statusCode":99}"#,
            br#"{"statusCode":200,"headers":{"a":1}}"#,
            br#"{"statusCode":200,"body":{}}"#,
            br#"{"statusCode":200,"body":"%%","isBase64Encoded":true}"#,
        ] {
            assert!(
                response_answer(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(clf_time(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(clf_time(951_782_400), "29/Feb/2000:00:00:00 +0000");
    }
}
