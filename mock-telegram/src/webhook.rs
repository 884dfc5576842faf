//! Webhooks: setWebhook / deleteWebhook / getWebhookInfo, and delivery as Telegram does it.
//!
//! Each bot with a webhook has one worker task. It sleeps on the bot's [`Notify`] bell when
//! there is nothing to send (2,000 idle webhooks cost 2,000 parked tasks, no timers), and
//! otherwise keeps up to `max_connections` POSTs in flight, strictly one per chat, through
//! one shared connection pool. A failed POST backs the bot off on the [`RetrySchedule`]
//! (or the bot's `Retry-After`); the update stays pending and is tried again.
//!
//! A 2xx answer may carry a method call, which the worker runs through an [`Execute`] (the
//! crate's `api::execute`, handed down by the method dispatcher: that dispatcher sends
//! setWebhook here, so this module does not import it back).
//!
//! [`Notify`]: tokio::sync::Notify
//! [`RetrySchedule`]: crate::RetrySchedule

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::{Map, Value, json};

use crate::bot::{Allowed, BotState, PollWake, WebhookConf};
use crate::config::RetrySchedule;
use crate::error::{ApiError, CONFLICT_SET_WEBHOOK, OK_SLOT};
use crate::method::Method;
use crate::mock::Mock;
use crate::network::{Fault, pause};
use crate::params::Params;
use crate::types::{ok, ok_described, unix_now};
use crate::webhook_client::Target;

/// Runs one Bot API method on a bot (not getUpdates): how a worker runs the method call of
/// a webhook response.
pub type Execute = fn(&Arc<Mock>, usize, Method, &Params) -> Result<Vec<u8>, ApiError>;

/// How far into a bot's queue the worker looks for chats it can send to.
const SCAN_WINDOW: usize = 10_000;

fn bad_webhook(detail: impl std::fmt::Display) -> ApiError {
    ApiError::bad(format!("bad webhook: {detail}"))
}

/// Checks a webhook URL. Deliveries only go to this machine or to the networks in `hosts`
/// (IP addresses, no names): https on any port (self-signed certificates are accepted), or
/// plain http (a test convenience Telegram does not offer).
pub fn validate_url(raw: &str, hosts: &[ipnet::IpNet]) -> Result<reqwest::Url, ApiError> {
    let url =
        reqwest::Url::parse(raw).map_err(|_| ApiError::bad("invalid webhook URL specified"))?;
    let host = url
        .host_str()
        .ok_or_else(|| ApiError::bad("invalid webhook URL specified"))?;
    match url.scheme() {
        "https" | "http" => {}
        _ => return Err(bad_webhook("An HTTPS URL must be provided for webhook")),
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let allowed = match bare.parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() || hosts.iter().any(|n| n.contains(&ip)) => true,
        Ok(ip) => return Err(bad_webhook(format!("IP address {ip} is reserved"))),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    };
    if !allowed {
        return Err(bad_webhook(
            "Failed to resolve host: Name or service not known",
        ));
    }
    Ok(url)
}

/// Checks a secret_token: 1-256 characters of `A-Z a-z 0-9 _ -`.
pub fn validate_secret(secret: &str) -> Result<(), ApiError> {
    if secret.len() > 256 {
        return Err(ApiError::bad("secret token is too long"));
    }
    if !secret
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(ApiError::bad("secret token contains unallowed characters"));
    }
    Ok(())
}

/// setWebhook; starts the bot's delivery worker, which runs response method calls with `execute`.
pub fn set_webhook(
    mock: &Arc<Mock>,
    bot: usize,
    params: &Params,
    execute: Execute,
) -> Result<Vec<u8>, ApiError> {
    let raw = params.str("url").unwrap_or_default();
    if raw.trim().is_empty() {
        return delete_webhook(mock, bot, params);
    }
    let url = validate_url(raw.trim(), &mock.config().webhook_hosts)?;
    if mock.config().enforce_webhook_ports {
        crate::tls::check_webhook_port(&url)?;
    }
    let target =
        Target::new(url.clone()).ok_or_else(|| ApiError::bad("invalid webhook URL specified"))?;
    let target = target.with_uploaded_certificate(params.has("certificate"));
    let secret = params.str("secret_token").filter(|s| !s.is_empty());
    if let Some(s) = &secret {
        validate_secret(s)?;
    }
    let max_connections = params.i64("max_connections")?.unwrap_or(40).clamp(1, 100) as usize;
    let allowed = params.allowed_updates()?;
    let conf = WebhookConf {
        url: url.to_string(),
        target,
        secret,
        max_connections,
        has_custom_certificate: params.has("certificate"),
        ip_address: params.str("ip_address"),
    };
    let b = &mock.bots[bot];
    let mut st = b.lock();
    if let Some(list) = allowed {
        st.allowed = Allowed { list: Some(list) };
    }
    if params.bool("drop_pending_updates") {
        let n = st.queue.clear();
        mock.note_forgotten(n);
    }
    st.end_poll(PollWake::Conflict(CONFLICT_SET_WEBHOOK));
    let already = st.webhook.as_deref() == Some(&conf);
    if st.webhook.as_ref().map(|w| &w.url) != Some(&conf.url) {
        st.wh.failures = 0;
        st.wh.next_attempt = None;
        st.wh.last_error = None;
        st.wh.connections.reset();
    }
    st.webhook = Some(Arc::new(conf));
    ensure_worker(mock, bot, &mut st, execute);
    drop(st);
    b.worker_bell.notify_one();
    Ok(ok_described(if already {
        "Webhook is already set"
    } else {
        "Webhook was set"
    }))
}

pub fn delete_webhook(mock: &Arc<Mock>, bot: usize, params: &Params) -> Result<Vec<u8>, ApiError> {
    let b = &mock.bots[bot];
    let mut st = b.lock();
    if params.bool("drop_pending_updates") {
        let n = st.queue.clear();
        mock.note_forgotten(n);
    }
    let had = st.webhook.take().is_some();
    st.wh.connections.reset();
    st.wh.failures = 0;
    st.wh.next_attempt = None;
    st.wh.last_error = None;
    drop(st);
    b.worker_bell.notify_one();
    Ok(ok_described(if had {
        "Webhook was deleted"
    } else {
        "Webhook is already deleted"
    }))
}

pub fn get_webhook_info(mock: &Arc<Mock>, bot: usize) -> Vec<u8> {
    let st = mock.bots[bot].lock();
    let mut info = Map::new();
    info.insert(
        "url".into(),
        json!(st.webhook.as_ref().map_or("", |w| w.url.as_str())),
    );
    info.insert(
        "has_custom_certificate".into(),
        json!(
            st.webhook
                .as_ref()
                .is_some_and(|w| w.has_custom_certificate)
        ),
    );
    info.insert("pending_update_count".into(), json!(st.queue.len()));
    if let Some(w) = &st.webhook {
        info.insert(
            "ip_address".into(),
            json!(w.ip_address.as_deref().unwrap_or("127.0.0.1")),
        );
        info.insert("max_connections".into(), json!(w.max_connections));
        if let Some(list) = &st.allowed.list {
            info.insert("allowed_updates".into(), json!(list));
        }
        if let Some((date, message)) = &st.wh.last_error {
            info.insert("last_error_date".into(), json!(date));
            info.insert("last_error_message".into(), json!(message));
        }
    }
    ok(Value::Object(info))
}

/// One POST to make.
struct Job {
    update_id: i64,
    chat_id: i64,
    body: Bytes,
    conf: Arc<WebhookConf>,
    /// The bot's consecutive failures when the POST started: POSTs that fail together
    /// back the bot off once.
    round: u32,
}

/// A failed POST: Telegram's last_error_message, and the bot's Retry-After.
struct Failure {
    message: String,
    retry_after: Option<Duration>,
    /// Failed at the transport level (its connection is gone), not with an HTTP status.
    closed: bool,
}

/// How a POST ended: 2xx (with the method call in its body, if any) or a failure.
struct Outcome {
    update_id: i64,
    chat_id: i64,
    round: u32,
    result: Result<Option<Map<String, Value>>, Failure>,
}

/// What the worker should do next.
enum Plan {
    /// POSTs to start, and when to plan again if the slow start held a connection back.
    Send(Vec<Job>, Option<Instant>),
    WaitUntil(Instant),
    Idle,
    Stop,
}

fn plan(mock: &Mock, bot: usize, has_jobs_running: bool) -> Plan {
    let mut st = mock.bots[bot].lock();
    let st = &mut *st;
    let Some(conf) = st.webhook.clone() else {
        if has_jobs_running {
            return Plan::Idle;
        }
        st.wh.worker_running = false;
        return Plan::Stop;
    };
    if mock.fault() == Fault::Outage {
        return Plan::Idle;
    }
    let now = Instant::now();
    if let Some(t) = st.wh.next_attempt {
        if t > now {
            return Plan::WaitUntil(t);
        }
        st.wh.next_attempt = None;
    }
    let expired = st.queue.drop_expired(now);
    if expired > 0 {
        mock.note_forgotten(expired);
    }
    let loaded = loaded_prefix(st, conf.max_connections);
    let (limit, wake) = if mock.config().webhook_ramp {
        let want = st.wh.loaded_chats.len();
        st.wh.connections.open_for(want, conf.max_connections, now)
    } else {
        (conf.max_connections, None)
    };
    let mut jobs = Vec::new();
    for p in st.queue.iter_mut().take(loaded) {
        if st.wh.in_flight >= limit {
            break;
        }
        if p.in_flight || st.wh.chats_in_flight.contains(&p.chat_id) {
            continue;
        }
        p.in_flight = true;
        st.wh.chats_in_flight.insert(p.chat_id);
        st.wh.in_flight += 1;
        if p.failures > 0 {
            mock.counters.wh_retries.fetch_add(1, Relaxed);
        }
        mock.counters.webhook_started(st.wh.in_flight);
        jobs.push(Job {
            update_id: p.update_id,
            chat_id: p.chat_id,
            body: p.json.clone(),
            conf: conf.clone(),
            round: st.wh.failures,
        });
    }
    match (jobs.is_empty(), wake) {
        (false, wake) => Plan::Send(jobs, wake),
        (true, Some(t)) => Plan::WaitUntil(t),
        (true, None) => Plan::Idle,
    }
}

/// The updates Telegram has loaded for sending: the head of the queue up to the one that
/// would bring in a chat beyond `2 × max_connections` (`WebhookActor::load_updates`,
/// `max_loaded_updates_`). Fills `st.wh.loaded_chats`; returns how many updates.
fn loaded_prefix(st: &mut BotState, max_connections: usize) -> usize {
    let cap = 2 * max_connections;
    let chats = &mut st.wh.loaded_chats;
    chats.clear();
    let mut n = 0;
    for p in st.queue.iter_mut().take(SCAN_WINDOW) {
        if !chats.contains(&p.chat_id) {
            if chats.len() >= cap {
                break;
            }
            chats.insert(p.chat_id);
        }
        n += 1;
    }
    n
}

/// Starts the bot's delivery worker unless it runs (call with the bot's state locked).
fn ensure_worker(mock: &Arc<Mock>, bot: usize, st: &mut BotState, execute: Execute) {
    if st.webhook.is_some() && !st.wh.worker_running {
        st.wh.worker_running = true;
        tokio::spawn(worker(mock.clone(), bot, execute));
    }
}

/// Starts the worker of every bot with a webhook: a server serves a mock that a server
/// stopped before ([`Mock::serving`] said so).
pub(crate) fn start_workers(mock: &Arc<Mock>, execute: Execute) {
    for bot in 0..mock.bots.len() {
        ensure_worker(mock, bot, &mut mock.bots[bot].lock(), execute);
    }
}

/// The delivery loop of one bot; ends when its webhook is deleted and nothing is in flight.
/// Its POSTs run as futures inside this one task (no task per POST).
async fn worker(mock: Arc<Mock>, bot: usize, execute: Execute) {
    let stop = mock.stop_token();
    let mut running = FuturesUnordered::new();
    loop {
        let wait_until = match plan(&mock, bot, !running.is_empty()) {
            Plan::Stop => return,
            Plan::Send(jobs, wake) => {
                for job in jobs {
                    running.push(deliver(mock.clone(), bot, job));
                }
                wake
            }
            Plan::WaitUntil(t) => Some(t),
            Plan::Idle => None,
        };
        let sleep = async {
            match wait_until {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = mock.bots[bot].worker_bell.notified() => {}
            Some(outcome) = running.next(), if !running.is_empty() => {
                finish(&mock, bot, outcome, execute);
                // Collect every other POST that has finished too before planning again.
                while let Some(Some(outcome)) = futures::FutureExt::now_or_never(running.next()) {
                    finish(&mock, bot, outcome, execute);
                }
            }
            _ = sleep => {}
            _ = stop.cancelled() => {
                drop(running);
                mock.bots[bot].lock().wh.worker_running = false;
                return;
            }
        }
    }
}

/// POSTs one update and reads the answer.
async fn deliver(mock: Arc<Mock>, bot: usize, job: Job) -> Outcome {
    pause(mock.distance.half() + mock.fault().extra_delay()).await;
    let at = Instant::now();
    crate::split::handed_out(
        &mut mock.bots[bot].lock().chats,
        job.chat_id,
        job.update_id,
        at,
    );
    let secret = job.conf.secret.as_deref();
    let timeout = mock.config().webhook_timeout;
    let result = match mock
        .webhook_client
        .post(&job.conf.target, secret, job.body, timeout)
        .await
    {
        Ok(reply) if reply.status.is_success() => Ok(reply
            .body
            .and_then(|b| serde_json::from_slice::<Map<String, Value>>(&b).ok())),
        Ok(reply) => {
            let reason = reply.status.canonical_reason().unwrap_or("");
            let message = format!(
                "Wrong response from the webhook: {} {reason}",
                reply.status.as_u16()
            );
            Err(Failure {
                message,
                retry_after: reply.retry_after,
                closed: false,
            })
        }
        Err(e) => Err(Failure {
            message: e.telegram_message().to_string(),
            retry_after: None,
            closed: true,
        }),
    };
    Outcome {
        update_id: job.update_id,
        chat_id: job.chat_id,
        round: job.round,
        result,
    }
}

/// Applies a POST's outcome to the bot's state.
fn finish(mock: &Arc<Mock>, bot: usize, outcome: Outcome, execute: Execute) {
    let c = &mock.counters;
    c.wh_in_flight.fetch_sub(1, Relaxed);
    c.wh_deliveries.fetch_add(1, Relaxed);
    let mut st = mock.bots[bot].lock();
    st.wh.in_flight = st.wh.in_flight.saturating_sub(1);
    st.wh.chats_in_flight.remove(&outcome.chat_id);
    match outcome.result {
        Ok(call) => {
            c.wh_ok.fetch_add(1, Relaxed);
            st.wh.failures = 0;
            st.wh.connections.succeeded(Instant::now());
            if let Some(p) = st.queue.remove(outcome.update_id) {
                c.pending.fetch_sub(1, Relaxed);
                if p.handed == 0 {
                    c.delivered.fetch_add(1, Relaxed);
                } else {
                    c.redelivered.fetch_add(1, Relaxed);
                }
            }
            drop(st);
            if let Some(call) = call {
                run_response_method(mock, bot, call, execute);
            }
        }
        Err(Failure {
            message,
            retry_after,
            closed,
        }) => {
            c.wh_failed.fetch_add(1, Relaxed);
            if closed {
                st.wh.connections.closed();
            }
            // Telegram backs off each update on its own (`WebhookActor::on_update_error`):
            // POSTs that were under way together and fail together are one failure for
            // the bot's schedule, not one each.
            let counted = outcome.round == st.wh.failures;
            if counted {
                st.wh.failures += 1;
            }
            let wait = retry_wait(retry_after, &mock.config().retry, st.wh.failures);
            let now = Instant::now();
            if counted || retry_after.is_some() {
                let at = now + wait;
                st.wh.next_attempt = Some(st.wh.next_attempt.map_or(at, |t| t.max(at)));
            }
            st.wh.last_error = Some((unix_now(), message));
            // Telegram drops an update whose next try would come after it expires.
            let expires = st.queue.get_mut(outcome.update_id).map(|p| {
                p.in_flight = false;
                p.failures += 1;
                p.expires_at
            });
            if expires.is_some_and(|e| now + wait > e) {
                st.queue.remove(outcome.update_id);
                drop(st);
                mock.note_forgotten(1);
            }
        }
    }
}

/// The longest `Retry-After` a webhook may ask for (`WebhookActor::on_update_error`,
/// `MAX_RETRY_AFTER`).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3_600);

/// How long to wait after the `failures`-th consecutive failed POST: the webhook's
/// `Retry-After` header (clamped to an hour) when it sent one, else the retry schedule.
fn retry_wait(retry_after: Option<Duration>, schedule: &RetrySchedule, failures: u32) -> Duration {
    match retry_after {
        Some(d) if !d.is_zero() => d.min(MAX_RETRY_AFTER),
        _ => schedule.delay_after(failures),
    }
}

/// A 2xx answer whose body is `{"method":"...", ...}`: runs it half an RTT later, as if
/// the bot had called it.
fn run_response_method(
    mock: &Arc<Mock>,
    bot: usize,
    mut call: Map<String, Value>,
    execute: Execute,
) {
    let Some(method) = call
        .remove("method")
        .and_then(|m| m.as_str().and_then(Method::parse))
    else {
        return;
    };
    if method == Method::GetUpdates {
        return;
    }
    let bytes_in = serde_json::to_vec(&call).map_or(0, |v| v.len());
    let mock = mock.clone();
    tokio::spawn(async move {
        pause(mock.distance.half() + mock.fault().extra_delay()).await;
        let answer = execute(&mock, bot, method, &Params::from_map(call));
        mock.counters.wh_method_in_response.fetch_add(1, Relaxed);
        let (status_slot, bytes_out) = match &answer {
            Ok(body) => (OK_SLOT, body.len()),
            Err(e) => (e.status_slot(), e.body().len()),
        };
        mock.counters.call(method, status_slot, bytes_in, bytes_out);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_point_at_this_machine() {
        assert!(validate_url("http://127.0.0.1:8080/webhook/1", &[]).is_ok());
        assert!(validate_url("https://localhost:8443/x", &[]).is_ok());
        assert!(validate_url("https://[::1]:9/x", &[]).is_ok());
        assert_eq!(
            validate_url("https://10.0.0.1/x", &[])
                .unwrap_err()
                .to_string(),
            "Bad Request: bad webhook: IP address 10.0.0.1 is reserved"
        );
        assert_eq!(
            validate_url("ftp://127.0.0.1/x", &[])
                .unwrap_err()
                .to_string(),
            "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
        );
        assert!(validate_url("https://example.com/x", &[]).is_err());
        assert!(validate_url("not a url", &[]).is_err());
    }

    #[test]
    fn urls_on_an_allowed_network_are_accepted_and_no_others() {
        let bench: Vec<ipnet::IpNet> = vec!["198.18.0.0/15".parse().unwrap()];
        assert!(validate_url("http://198.18.0.2:8443/webhook/1", &bench).is_ok());
        assert!(validate_url("https://198.19.255.1/x", &bench).is_ok());
        assert!(validate_url("https://127.0.0.1/x", &bench).is_ok());
        assert_eq!(
            validate_url("https://198.20.0.1/x", &bench)
                .unwrap_err()
                .to_string(),
            "Bad Request: bad webhook: IP address 198.20.0.1 is reserved"
        );
        assert_eq!(
            validate_url("https://198.18.0.2/x", &[])
                .unwrap_err()
                .to_string(),
            "Bad Request: bad webhook: IP address 198.18.0.2 is reserved"
        );
        // Names are never resolved: only addresses can be on an allowed network.
        assert!(validate_url("https://bench.example/x", &bench).is_err());
    }

    #[test]
    fn retry_after_is_honoured_up_to_an_hour() {
        let schedule = RetrySchedule::compressed(0.001);
        let secs = Duration::from_secs;
        assert_eq!(retry_wait(Some(secs(5)), &schedule, 3), secs(5));
        assert_eq!(retry_wait(Some(secs(7_200)), &schedule, 3), secs(3_600));
        assert_eq!(
            retry_wait(Some(Duration::ZERO), &schedule, 3),
            Duration::from_millis(4)
        );
        assert_eq!(retry_wait(None, &schedule, 2), Duration::from_millis(2));
    }

    #[test]
    fn two_chats_per_connection_are_loaded() {
        let mut st = BotState::new();
        let far = Instant::now() + Duration::from_secs(60);
        for (id, chat) in [(1, 7), (2, 7), (3, 8), (4, 9), (5, 7), (6, 10)] {
            st.queue.push(
                crate::queue::Pending {
                    update_id: id,
                    chat_id: chat,
                    kind: crate::queue::UpdateKind::Message,
                    json: Bytes::new(),
                    handed: 0,
                    in_flight: false,
                    failures: 0,
                    expires_at: far,
                },
                100,
            );
        }
        // max_connections 1: chats 7 and 8 are loaded, the update of chat 9 is not.
        assert_eq!(loaded_prefix(&mut st, 1), 3);
        assert_eq!(st.wh.loaded_chats.len(), 2);
        assert_eq!(loaded_prefix(&mut st, 2), 6);
        assert_eq!(st.wh.loaded_chats.len(), 4);
    }

    #[test]
    fn secrets_are_checked_like_telegram() {
        assert!(validate_secret("abc_DEF-123").is_ok());
        assert!(validate_secret("with space").is_err());
        assert!(validate_secret(&"a".repeat(257)).is_err());
        assert!(validate_secret(&"a".repeat(256)).is_ok());
    }
}
