//! Bot API parameters from wherever a framework puts them: the query string, a JSON body,
//! `application/x-www-form-urlencoded` (non-string values JSON-encoded inside the field, as
//! aiogram and python-telegram-bot send them) or `multipart/form-data`.
//!
//! Everything lands in one JSON map; the typed getters accept both a JSON value and its
//! string form (`"42"`, `"true"`, `"[\"message\"]"`), so each method reads its parameters the
//! same way whatever the encoding.

use std::borrow::Cow;
use std::collections::HashSet;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart};
use axum::http::{Request, header};
use bytes::Bytes;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// The parameters of one call.
#[derive(Clone, Debug, Default)]
pub struct Params {
    map: Map<String, Value>,
    files: HashSet<String>,
}

impl Params {
    /// Parameters from a JSON object (a method call in a webhook response, tests).
    pub fn from_map(map: Map<String, Value>) -> Self {
        Params {
            map,
            files: HashSet::new(),
        }
    }

    /// Decodes the query string and the body. Body fields win over query fields.
    pub async fn parse(
        query: Option<&str>,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<Params, ApiError> {
        let mut params = Params::default();
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            params.add_form(q.as_bytes())?;
        }
        if body.is_empty() {
            return Ok(params);
        }
        let mime = content_type
            .and_then(|c| c.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default();
        match mime.as_str() {
            "application/x-www-form-urlencoded" => params.add_form(&body)?,
            "multipart/form-data" => {
                params
                    .add_multipart(content_type.unwrap_or(""), body)
                    .await?
            }
            // Telegram reads a body without a content type as JSON too.
            _ => params.add_json(&body)?,
        }
        Ok(params)
    }

    fn add_form(&mut self, bytes: &[u8]) -> Result<(), ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
            .map_err(|_| ApiError::bad("can't parse request parameters"))?;
        for (k, v) in pairs {
            self.map.insert(k, Value::String(v));
        }
        Ok(())
    }

    fn add_json(&mut self, bytes: &[u8]) -> Result<(), ApiError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) if self.map.is_empty() => {
                // The usual call: no query string. Take the map whole (no re-insertion).
                self.map = map;
                Ok(())
            }
            Ok(Value::Object(map)) => {
                self.map.extend(map);
                Ok(())
            }
            Ok(_) => Err(ApiError::bad("request body must be a JSON object")),
            Err(_) => Err(ApiError::bad("can't parse JSON object")),
        }
    }

    async fn add_multipart(&mut self, content_type: &str, body: Bytes) -> Result<(), ApiError> {
        let malformed = || ApiError::bad("can't parse multipart/form-data request body");
        let request = Request::builder()
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .map_err(|_| malformed())?;
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|_| malformed())?;
        while let Some(field) = multipart.next_field().await.map_err(|_| malformed())? {
            let Some(name) = field.name().map(str::to_string) else {
                continue;
            };
            if field.file_name().is_some() {
                field.bytes().await.map_err(|_| malformed())?;
                self.files.insert(name.clone());
                self.map.insert(name, Value::String("attach".into()));
            } else {
                let text = field.text().await.map_err(|_| malformed())?;
                self.map.insert(name, Value::String(text));
            }
        }
        Ok(())
    }

    /// Whether the parameter is present at all.
    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Whether the parameter came as an uploaded file (multipart).
    pub fn is_file(&self, name: &str) -> bool {
        self.files.contains(name)
    }

    /// A string parameter (numbers are given in their decimal form).
    pub fn str(&self, name: &str) -> Option<String> {
        match self.map.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// An integer parameter; 400 when present but not an integer.
    pub fn i64(&self, name: &str) -> Result<Option<i64>, ApiError> {
        let invalid = || ApiError::bad(format!("invalid {name} specified"));
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .map(Some)
                .ok_or_else(invalid),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| invalid()),
            Some(_) => Err(invalid()),
        }
    }

    /// A boolean parameter (`true`/`false`/`1`/`0`, as JSON or text); absent = false.
    pub fn bool(&self, name: &str) -> bool {
        match self.map.get(name) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_i64().unwrap_or(0) != 0,
            Some(Value::String(s)) => matches!(s.trim(), "true" | "True" | "1"),
            _ => false,
        }
    }

    /// A JSON parameter (object or array), given as JSON or as JSON text inside a field.
    /// `what` names it in Telegram's error ("can't parse <what> JSON object").
    pub fn json(&self, name: &str, what: &str) -> Result<Option<Value>, ApiError> {
        Ok(self.json_ref(name, what)?.map(Cow::into_owned))
    }

    /// [`json`](Self::json) without copying a parameter given as JSON (an object in a JSON
    /// body is lent, not cloned); text holding JSON is parsed.
    pub fn json_ref(&self, name: &str, what: &str) -> Result<Option<Cow<'_, Value>>, ApiError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => serde_json::from_str(s)
                .map(|v| Some(Cow::Owned(v)))
                .map_err(|_| ApiError::bad(format!("can't parse {what} JSON object"))),
            Some(v) => Ok(Some(Cow::Borrowed(v))),
        }
    }

    /// `allowed_updates` as a list of update kinds; None when absent.
    pub fn allowed_updates(&self) -> Result<Option<Vec<String>>, ApiError> {
        let Some(v) = self.json("allowed_updates", "allowed updates")? else {
            return Ok(None);
        };
        match v {
            Value::Array(items) => Ok(Some(
                items
                    .into_iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
            )),
            _ => Err(ApiError::bad("can't parse allowed updates JSON object")),
        }
    }

    /// A `chat_id`: a number (or its text). `@username` and other text are chats the mock
    /// does not have.
    pub fn chat_id(&self) -> Result<i64, ApiError> {
        match self.map.get("chat_id") {
            None | Some(Value::Null) => Err(ApiError::bad("chat_id is empty")),
            Some(Value::Number(n)) => n.as_i64().ok_or_else(|| ApiError::bad("chat not found")),
            Some(Value::String(s)) if s.trim().is_empty() => Err(ApiError::bad("chat_id is empty")),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map_err(|_| ApiError::bad("chat not found")),
            Some(_) => Err(ApiError::bad("chat not found")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn form_fields_holding_json_are_decoded() {
        let body = Bytes::from_static(
            b"chat_id=5&text=hi&allowed_updates=%5B%22message%22%5D&reply_parameters=%7B%22message_id%22%3A7%7D",
        );
        let p = Params::parse(None, Some("application/x-www-form-urlencoded"), body)
            .await
            .unwrap();
        assert_eq!(p.chat_id().unwrap(), 5);
        assert_eq!(
            p.allowed_updates().unwrap(),
            Some(vec!["message".to_string()])
        );
        let rp = p
            .json("reply_parameters", "reply parameters")
            .unwrap()
            .unwrap();
        assert_eq!(rp["message_id"], 7);
    }

    #[tokio::test]
    async fn query_and_json_mix_and_body_wins() {
        let p = Params::parse(
            Some("offset=3&limit=2"),
            Some("application/json"),
            Bytes::from_static(br#"{"offset":9}"#),
        )
        .await
        .unwrap();
        assert_eq!(p.i64("offset").unwrap(), Some(9));
        assert_eq!(p.i64("limit").unwrap(), Some(2));
        assert!(
            Params::parse(None, Some("application/json"), Bytes::from_static(b"{nope"))
                .await
                .is_err()
        );
    }
}
