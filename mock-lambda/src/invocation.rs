//! One invocation: its request id, payload and trace id going in, and its [`Outcome`] coming
//! out, with AWS's error shapes (`Runtime.ExitError`, `Runtime.OutOfMemory`,
//! `Sandbox.Timedout`, …) for every way an environment can fail it.

use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use serde::Serialize;
use tokio::sync::oneshot;

/// The largest payload in or out of a synchronous invocation: 6 MiB + 100 bytes, what
/// AWS's runtime interface enforces for "6 MB".
pub const MAX_PAYLOAD: usize = 6 * 1024 * 1024 + 100;

/// An invocation waiting for, or given to, an environment.
#[derive(Debug)]
pub struct Invocation {
    pub id: String,
    pub trace_id: String,
    pub payload: Bytes,
    pub reply: oneshot::Sender<Outcome>,
}

impl Invocation {
    /// A new invocation of `payload`; the receiver gets its outcome.
    pub fn new(payload: Bytes) -> (Self, oneshot::Receiver<Outcome>) {
        let (reply, outcome) = oneshot::channel();
        let inv = Invocation {
            id: request_id(),
            trace_id: trace_id(),
            payload,
            reply,
        };
        (inv, outcome)
    }
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The function's response payload.
    Response(Bytes),
    /// The function, its runtime or its environment failed.
    Error(FunctionError),
    /// No environment could take it: the concurrency limit (429).
    Throttled,
}

/// Which failure, for the error counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The runtime reported an error (`/invocation/{id}/error`).
    Function,
    /// Past `timeout_s`.
    Timeout,
    /// Memory above `memory_mb`.
    OutOfMemory,
    /// The runtime exited during the invocation.
    Crash,
    /// The environment could not start (init error, init timeout, exit during init).
    Init,
    /// The response was over [`MAX_PAYLOAD`].
    ResponseTooLarge,
}

/// A failed invocation: AWS's error document (`{"errorType", "errorMessage"}`, or what the
/// runtime posted) and its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionError {
    pub kind: ErrorKind,
    pub error_type: String,
    /// The error document as JSON.
    pub body: Bytes,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorDoc<'a> {
    error_type: &'a str,
    error_message: &'a str,
}

impl FunctionError {
    /// An error the platform makes, in AWS's shape.
    pub fn platform(kind: ErrorKind, error_type: &str, message: &str) -> Self {
        let body = serde_json::to_vec(&ErrorDoc {
            error_type,
            error_message: message,
        })
        .expect("strings serialize");
        Self {
            kind,
            error_type: error_type.to_owned(),
            body: body.into(),
        }
    }

    /// What the runtime posted to `/error` (its body, or one made from its error-type
    /// header when the body is empty).
    pub fn from_runtime(error_type: Option<&str>, body: Bytes) -> Self {
        let error_type = error_type.unwrap_or("Unhandled").to_owned();
        if body.is_empty() {
            return Self::platform(ErrorKind::Function, &error_type, "");
        }
        Self {
            kind: ErrorKind::Function,
            error_type,
            body,
        }
    }

    /// `Sandbox.Timedout`: the invocation ran past the function's timeout.
    pub fn timeout(request_id: &str, timeout: Duration) -> Self {
        let message = format!(
            "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
            timeout.as_secs_f64()
        );
        Self::platform(ErrorKind::Timeout, "Sandbox.Timedout", &message)
    }

    /// `Runtime.OutOfMemory`: the environment went over its memory.
    pub fn out_of_memory(request_id: &str) -> Self {
        let message =
            format!("RequestId: {request_id} Error: Runtime exited with error: signal: killed");
        Self::platform(ErrorKind::OutOfMemory, "Runtime.OutOfMemory", &message)
    }

    /// `Runtime.ExitError`: the runtime exited during the invocation.
    pub fn exited(request_id: &str, how: &str) -> Self {
        let message = format!("RequestId: {request_id} Error: Runtime exited with error: {how}");
        Self::platform(ErrorKind::Crash, "Runtime.ExitError", &message)
    }

    /// The environment's init failed: `error_type` as the runtime reported it, or the
    /// platform's (`Runtime.ExitError`, `Sandbox.Timedout`, `Runtime.OutOfMemory`).
    pub fn init(error_type: &str, message: &str) -> Self {
        Self::platform(ErrorKind::Init, error_type, message)
    }

    /// `Function.ResponseSizeTooLarge`.
    pub fn too_large(size: usize) -> Self {
        let message = format!(
            "Response payload size ({size} bytes) exceeded maximum allowed payload size \
             ({MAX_PAYLOAD} bytes)."
        );
        Self::platform(
            ErrorKind::ResponseTooLarge,
            "Function.ResponseSizeTooLarge",
            &message,
        )
    }
}

/// A request id in UUID v4 form, as AWS's.
pub fn request_id() -> String {
    let b: [u8; 16] = rand::thread_rng().r#gen();
    let h = |range: std::ops::Range<usize>| -> String {
        b[range].iter().map(|x| format!("{x:02x}")).collect()
    };
    let version = format!("4{:03x}", u16::from_be_bytes([b[6], b[7]]) & 0x0fff);
    let variant = format!(
        "{:04x}",
        (u16::from_be_bytes([b[8], b[9]]) & 0x3fff) | 0x8000
    );
    format!("{}-{}-{version}-{variant}-{}", h(0..4), h(4..6), h(10..16))
}

/// An X-Ray trace header: `Root=1-{epoch hex}-{96 bits};Parent={64 bits};Sampled=0`.
pub fn trace_id() -> String {
    let mut rng = rand::thread_rng();
    let epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let root: [u8; 12] = rng.r#gen();
    let parent: u64 = rng.r#gen();
    let root: String = root.iter().map(|x| format!("{x:02x}")).collect();
    format!("Root=1-{epoch:08x}-{root};Parent={parent:016x};Sampled=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_look_like_uuid_v4() {
        let id = request_id();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!("89ab".contains(&parts[3][..1]));
        assert_ne!(request_id(), id);
    }

    #[test]
    fn timeouts_read_as_aws_writes_them() {
        let e = FunctionError::timeout("abc", Duration::from_secs(3));
        let doc: serde_json::Value = serde_json::from_slice(&e.body).unwrap();
        assert_eq!(doc["errorType"], "Sandbox.Timedout");
        assert_eq!(
            doc["errorMessage"],
            "RequestId: abc Error: Task timed out after 3.00 seconds"
        );
    }

    #[test]
    fn an_empty_runtime_error_gets_a_document_from_its_header() {
        let e = FunctionError::from_runtime(Some("Handled.Oops"), Bytes::new());
        let doc: serde_json::Value = serde_json::from_slice(&e.body).unwrap();
        assert_eq!(doc["errorType"], "Handled.Oops");
        assert_eq!(e.kind, ErrorKind::Function);
    }
}
