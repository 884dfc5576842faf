//! The Runtime API contract, with the test as the runtime: the environment's process only
//! writes its `AWS_LAMBDA_RUNTIME_API` to a file and sleeps, and the test makes every
//! Runtime API call itself over HTTP.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mock_lambda::{FunctionConfig, Logs, ResourceMode};
use serde_json::Value;

use crate::support::{DEADLINE, Harness, assert_gone, temp_file};

/// A function whose process hands its Runtime API address to the test and sleeps.
fn manual_runtime(addr_file: &Path) -> FunctionConfig {
    let mut config = FunctionConfig::new("/bin/sh");
    config.args = vec![
        "-c".into(),
        r#"echo "$AWS_LAMBDA_RUNTIME_API" > "$ADDR_FILE"; exec sleep 300"#.into(),
    ];
    config.task_root = Some(std::env::temp_dir());
    config
        .env
        .push(("ADDR_FILE".into(), addr_file.display().to_string()));
    config.timeout = Duration::from_secs(60);
    config.resources = ResourceMode::Auto;
    config.logs = Logs::Inherit;
    config
}

/// The Runtime API base URL, once the environment's process wrote it.
async fn runtime_api(addr_file: &Path) -> String {
    let start = Instant::now();
    loop {
        if let Ok(addr) = std::fs::read_to_string(addr_file)
            && addr.ends_with('\n')
        {
            return format!("http://{}/2018-06-01/runtime", addr.trim());
        }
        assert!(start.elapsed() < DEADLINE, "the environment never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

/// POSTs `body` to `url`; the status and the JSON answer.
async fn post(c: &reqwest::Client, url: String, body: impl Into<reqwest::Body>) -> (u16, Value) {
    json(c.post(url).body(body).send().await.unwrap()).await
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// The runtime's side of one invocation: hold a `/next`, let `send` make the request once
/// the environment waits, and return the event's request id and `send`'s result.
async fn invoke<T>(h: &Harness, api: &str, send: impl FnOnce() -> T) -> (String, T) {
    let next = tokio::spawn(h.client.get(format!("{api}/invocation/next")).send());
    waiting(h).await;
    let sent = send();
    let next = next.await.unwrap().unwrap();
    (
        header(&next, "lambda-runtime-aws-request-id").to_owned(),
        sent,
    )
}

/// Until the one environment holds a `/next` (idle, maybe frozen already).
async fn waiting(h: &Harness) {
    h.wait_for("the runtime to wait for an event", |s| {
        matches!(s.environments[0].state.as_str(), "idle" | "frozen")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_api_contract_holds() {
    let (_dir, addr_file) = temp_file("addr");
    let h = Harness::start(manual_runtime(&addr_file)).await;
    let c = h.client.clone();
    let url = h.server.url();
    let front = |path: &'static str, body: &'static str| {
        let c = c.clone();
        let url = url.clone();
        tokio::spawn(async move {
            let r = c
                .post(format!("{url}{path}"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        })
    };

    // 1: next, its headers and event; wrong id; response; a second response.
    let first = front("/webhook/7000000001", r#"{"update_id":1}"#);
    let api = runtime_api(&addr_file).await;
    let next = c
        .get(format!("{api}/invocation/next"))
        .send()
        .await
        .unwrap();
    assert_eq!(next.status(), 200);
    let id = header(&next, "lambda-runtime-aws-request-id").to_owned();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let deadline: u64 = header(&next, "lambda-runtime-deadline-ms").parse().unwrap();
    assert!(
        deadline > now_ms + 30_000 && deadline <= now_ms + 61_000,
        "a 60 s timeout's deadline {deadline} from now {now_ms}"
    );
    assert_eq!(
        header(&next, "lambda-runtime-invoked-function-arn"),
        "arn:aws:lambda:us-east-1:000000000000:function:tgbench-function"
    );
    assert!(header(&next, "lambda-runtime-trace-id").starts_with("Root=1-"));
    let (_, event) = json(next).await;
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["rawPath"], "/webhook/7000000001");
    assert_eq!(event["body"], r#"{"update_id":1}"#);

    let (status, doc) = json(
        c.get(format!("{api}/invocation/next"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &doc["errorType"]),
        (403, &"InvalidStateTransition".into()),
        "{doc}"
    );
    let (status, doc) = post(&c, format!("{api}/init/error"), "{}").await;
    assert_eq!(
        (status, &doc["errorType"]),
        (403, &"InvalidStateTransition".into()),
        "{doc}"
    );
    let (status, doc) = post(&c, format!("{api}/invocation/not-{id}/response"), "{}").await;
    assert_eq!(status, 400);
    assert_eq!(doc["errorType"], "InvalidRequestID");
    assert_eq!(doc["errorMessage"], "Invalid request ID");
    let answer = r#"{"statusCode":201,"headers":{"x-a":"b"},"body":"made"}"#;
    let (status, doc) = post(&c, format!("{api}/invocation/{id}/response"), answer).await;
    assert_eq!((status, doc), (202, serde_json::json!({"status": "OK"})));
    let (status, doc) = post(&c, format!("{api}/invocation/{id}/response"), answer).await;
    assert_eq!(status, 403, "a second response: {doc}");
    assert_eq!(doc["errorType"], "InvalidStateTransition");
    assert_eq!(first.await.unwrap(), (201, "made".to_owned()));

    // 2: a response over 6 MiB + 100 bytes is refused, and the invocation fails.
    let (id, second) = invoke(&h, &api, || {
        front("/webhook/7000000001", r#"{"update_id":2}"#)
    })
    .await;
    let too_big = vec![b'x'; 6 * 1024 * 1024 + 101];
    let (status, doc) = post(&c, format!("{api}/invocation/{id}/response"), too_big).await;
    assert_eq!(status, 413);
    assert_eq!(doc["errorType"], "RequestEntityTooLarge");
    assert_eq!(second.await.unwrap().0, 502);

    // 3: exactly 6 MiB + 100 bytes is taken.
    let (id, third) = invoke(&h, &api, || front("/x", "{}")).await;
    let mut largest = vec![b'"'];
    largest.resize(6 * 1024 * 1024 + 99, b'y');
    largest.push(b'"');
    let r = c
        .post(format!("{api}/invocation/{id}/response"))
        .body(largest)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let (status, body) = third.await.unwrap();
    assert_eq!((status, body.len()), (200, 6 * 1024 * 1024 + 100));

    // 4: an error.
    let (id, fourth) = invoke(&h, &api, || front("/x", "{}")).await;
    let r = c
        .post(format!("{api}/invocation/{id}/error"))
        .header("lambda-runtime-function-error-type", "Test.Failed")
        .body(r#"{"errorType":"Test.Failed","errorMessage":"on purpose"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(fourth.await.unwrap().0, 502);

    let stats: mock_lambda::Stats = h
        .client
        .get(format!("{url}/_lambda/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((stats.invocations, stats.cold_starts), (4, 1));
    // Only the first request met the cold start: its path and update_id are kept.
    let cold: Vec<_> = stats
        .cold_requests
        .iter()
        .map(|c| (c.path.as_str(), c.update_id))
        .collect();
    assert_eq!(cold, [("/webhook/7000000001", Some(1))]);
    assert_eq!(stats.errors.function, 1);
    assert_eq!(stats.errors.response_too_large, 1);
    assert_eq!(stats.init_ms.count, 1);
    // Three invocations ended at the next /next; the fourth is still open.
    assert!(stats.billing.billed_ms >= 3, "{:?}", stats.billing);
    assert_eq!(stats.requests, 4);
    let final_stats = h.server.shutdown().await;
    assert_gone(&final_stats, 1, "shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_init_error_fails_the_invocation_and_ends_the_environment() {
    let (_dir, addr_file) = temp_file("addr");
    let h = Harness::start(manual_runtime(&addr_file)).await;
    let url = h.server.url();
    let client = h.client.clone();
    let request = tokio::spawn(async move { client.post(format!("{url}/a")).send().await });
    let api = runtime_api(&addr_file).await;
    let r = h
        .client
        .post(format!("{api}/init/error"))
        .header("lambda-runtime-function-error-type", "Test.InitFailed")
        .body(r#"{"errorType":"Test.InitFailed","errorMessage":"on purpose"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(request.await.unwrap().unwrap().status(), 502);
    let stats = h
        .wait_for("the environment to end", |s| s.environments_alive == 0)
        .await;
    assert_eq!((stats.errors.init, stats.invocations), (1, 0));
    assert_gone(&stats, 1, "init_error");
    h.server.shutdown().await;
}
