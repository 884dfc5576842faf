//! `GET /metrics`: the mock's counts as OpenMetrics, or as the Prometheus text format 0.0.4
//! when a scraper asks only for `text/plain`; the series are listed in `docs/metrics.md`.
//!
//! Nothing is counted twice. A [`Reading`] is taken when a scraper asks: from the live
//! atomics of [`stats`](crate::stats) (requests by method and status, the fate of updates,
//! held polls, webhook deliveries) and from the latency HdrHistogram, binned into
//! [`LATENCY_BUCKETS_S`] under its lock. Serving metrics adds no work to a Bot API call.
//!
//! [`encode`] writes any number of readings, each under its own labels: the standalone mock
//! has one, unlabelled ([`MockCollector`]); `tgbench` writes one per SUT and phase.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeCounterValue, EncodeGaugeValue, MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::error::STATUS_CODES;
use crate::method::Method;
use crate::mock::Mock;

/// Upper bounds of the reply-latency histogram's buckets, in seconds (1 ms to 60 s; one
/// more bucket, `+Inf`, holds anything slower).
pub const LATENCY_BUCKETS_S: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 60.0,
];

/// How many buckets a [`LatencyBuckets`] has: the bounds, then `+Inf`.
pub const LATENCY_BUCKETS: usize = LATENCY_BUCKETS_S.len() + 1;

/// Labels of one series: `[("sut", "webhook"), ("phase", "active")]`, or none.
pub type Labels<'a> = &'a [(&'a str, &'a str)];

/// Reply latencies binned for Prometheus.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencyBuckets {
    /// Replies per bucket, not cumulative: `counts[i]` were at most
    /// `LATENCY_BUCKETS_S[i]` and above the bound before; the last, above 60 s.
    pub counts: [u64; LATENCY_BUCKETS],
    /// Sum of the latencies, in seconds (each at its HdrHistogram bucket's middle value).
    pub sum_s: f64,
}

impl Default for LatencyBuckets {
    fn default() -> Self {
        LatencyBuckets {
            counts: [0; LATENCY_BUCKETS],
            sum_s: 0.0,
        }
    }
}

impl LatencyBuckets {
    /// Bins a histogram of µs (a value counts at its HdrHistogram bucket's highest
    /// equivalent, as the results' percentiles do).
    pub fn of(h: &hdrhistogram::Histogram<u64>) -> LatencyBuckets {
        let mut b = LatencyBuckets::default();
        for v in h.iter_recorded() {
            let us = v.value_iterated_to();
            let i = LATENCY_BUCKETS_S
                .iter()
                .position(|&bound| us as f64 <= bound * 1e6)
                .unwrap_or(LATENCY_BUCKETS - 1);
            b.counts[i] += v.count_at_value();
        }
        b.sum_s = h.mean() * h.len() as f64 / 1e6;
        b
    }

    /// How many replies in all.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// What the mock shows right now (gauges); absent from a reading of a finished window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Gauges {
    /// Updates kept for the bots, not yet confirmed.
    pub pending: u64,
    /// getUpdates calls held open.
    pub polls_held: u64,
    /// Webhook POSTs in flight.
    pub webhook_deliveries_in_flight: u64,
}

/// The mock's counters at one instant (or their difference over a window), as exposed.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    /// Bot API calls by method (`Method as usize`) and status slot (see [`STATUS_CODES`]).
    pub requests: [[u64; STATUS_CODES.len()]; Method::COUNT],
    pub injected: u64,
    pub delivered: u64,
    pub replied: u64,
    pub duplicated: u64,
    /// Webhook POSTs finished 2xx, and not (non-2xx, refused, timed out).
    pub webhook_ok: u64,
    pub webhook_failed: u64,
    pub webhook_retries: u64,
    /// Calls answered 429 by the rate limits (the other 429s are a fault's).
    pub rate_limited: u64,
    pub latency: LatencyBuckets,
    pub gauges: Option<Gauges>,
}

impl Default for Reading {
    fn default() -> Self {
        Reading {
            requests: [[0; STATUS_CODES.len()]; Method::COUNT],
            injected: 0,
            delivered: 0,
            replied: 0,
            duplicated: 0,
            webhook_ok: 0,
            webhook_failed: 0,
            webhook_retries: 0,
            rate_limited: 0,
            latency: LatencyBuckets::default(),
            gauges: None,
        }
    }
}

impl Reading {
    /// Reads the mock's counters and bins its latency histogram (under its lock, no copy).
    pub fn of(mock: &Mock) -> Reading {
        let c = &mock.counters;
        let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        Reading {
            requests: c.requests_by_status(),
            injected: load(&c.injected),
            delivered: load(&c.delivered),
            replied: load(&c.replied),
            duplicated: load(&c.duplicated),
            webhook_ok: load(&c.wh_ok),
            webhook_failed: load(&c.wh_failed),
            webhook_retries: load(&c.wh_retries),
            rate_limited: load(&c.rate_limited),
            latency: mock.read_latency(LatencyBuckets::of),
            gauges: Some(Gauges {
                pending: load(&c.pending),
                polls_held: load(&c.gu_in_flight),
                webhook_deliveries_in_flight: load(&c.wh_in_flight),
            }),
        }
    }

    /// The counts from `start` to this reading (its gauges kept): a window's figures.
    pub fn since(&self, start: &Reading) -> Reading {
        let mut r = self.combine(start, u64::saturating_sub);
        r.latency.sum_s = (self.latency.sum_s - start.latency.sum_s).max(0.0);
        r
    }

    /// Adds `other`'s counts to this reading's (its gauges are not touched).
    pub fn add_counts(&mut self, other: &Reading) {
        let sum_s = self.latency.sum_s + other.latency.sum_s;
        *self = self.combine(other, u64::saturating_add);
        self.latency.sum_s = sum_s;
    }

    /// Every count of `self` with `other`'s through `f`; gauges and the latency sum are
    /// `self`'s.
    fn combine(&self, other: &Reading, f: fn(u64, u64) -> u64) -> Reading {
        let mut r = self.clone();
        for (row, o) in r.requests.iter_mut().zip(&other.requests) {
            for (n, o) in row.iter_mut().zip(o) {
                *n = f(*n, *o);
            }
        }
        for (n, o) in r.latency.counts.iter_mut().zip(&other.latency.counts) {
            *n = f(*n, *o);
        }
        for (n, o) in [
            (&mut r.injected, other.injected),
            (&mut r.delivered, other.delivered),
            (&mut r.replied, other.replied),
            (&mut r.duplicated, other.duplicated),
            (&mut r.webhook_ok, other.webhook_ok),
            (&mut r.webhook_failed, other.webhook_failed),
            (&mut r.webhook_retries, other.webhook_retries),
            (&mut r.rate_limited, other.rate_limited),
        ] {
            *n = f(*n, o);
        }
        r
    }

    /// All 429 answers, whatever their cause.
    fn too_many_requests(&self) -> u64 {
        let slot = STATUS_CODES
            .iter()
            .position(|&c| c == 429)
            .expect("429 is a status the mock answers");
        self.requests.iter().map(|row| row[slot]).sum()
    }
}

/// Writes one sample through `m`, under `labels` when there are any.
fn labelled(
    m: &mut MetricEncoder,
    labels: Labels,
    write: impl FnOnce(&mut MetricEncoder) -> fmt::Result,
) -> fmt::Result {
    if labels.is_empty() {
        write(m)
    } else {
        write(&mut m.encode_family(&labels)?)
    }
}

/// Writes a family of `kind`: its descriptor, then one sample per `(labels, value)`
/// through `write`.
fn family<'a, V>(
    encoder: &mut DescriptorEncoder,
    (name, help, unit): (&str, &str, Option<&Unit>),
    kind: MetricType,
    samples: impl IntoIterator<Item = (Labels<'a>, V)>,
    write: impl Fn(&mut MetricEncoder, &V) -> fmt::Result,
) -> fmt::Result {
    let mut m = encoder.encode_descriptor(name, help, unit, kind)?;
    for (labels, v) in samples {
        labelled(&mut m, labels, |m| write(m, &v))?;
    }
    Ok(())
}

/// Writes a counter family: its descriptor, then one `<name>_total` sample per
/// `(labels, value)`. `name` has no `_total`; with a unit, it ends in the unit.
pub fn counter<'a, V: EncodeCounterValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    samples: impl IntoIterator<Item = (Labels<'a>, V)>,
) -> fmt::Result {
    family(
        encoder,
        (name, help, unit),
        MetricType::Counter,
        samples,
        |m, v| m.encode_counter::<NoLabelSet, V, u64>(v, None),
    )
}

/// Writes a gauge family: its descriptor, then one sample per `(labels, value)`.
pub fn gauge<'a, V: EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    samples: impl IntoIterator<Item = (Labels<'a>, V)>,
) -> fmt::Result {
    family(
        encoder,
        (name, help, unit),
        MetricType::Gauge,
        samples,
        |m, v| m.encode_gauge(v),
    )
}

/// Writes every mock series of every reading, each under its labels (bounded ones only:
/// `sut`, `phase`; never a bot or a chat). Gauges come from the readings that have them.
pub fn encode(encoder: &mut DescriptorEncoder, series: &[(Labels, &Reading)]) -> fmt::Result {
    let counts = |f: fn(&Reading) -> u64| series.iter().map(move |(l, r)| (*l, f(r)));
    let gauges = |f: fn(&Reading, &Gauges) -> u64| {
        series
            .iter()
            .filter_map(move |(l, r)| Some((*l, f(r, r.gauges.as_ref()?))))
    };
    counter(
        encoder,
        "tgbench_updates_injected",
        "Updates injected: a simulated user's message or button press; its latency clock starts when it is due.",
        None,
        counts(|r| r.injected),
    )?;
    counter(
        encoder,
        "tgbench_updates_delivered",
        "Updates handed to the bot the first time (a getUpdates answer or a 2xx webhook POST).",
        None,
        counts(|r| r.delivered),
    )?;
    counter(
        encoder,
        "tgbench_updates_replied",
        "Injected updates that got a reply (the first reply closes the latency sample).",
        None,
        counts(|r| r.replied),
    )?;
    counter(
        encoder,
        "tgbench_updates_duplicated",
        "Replies beyond the first to the same update.",
        None,
        counts(|r| r.duplicated),
    )?;
    gauge(
        encoder,
        "tgbench_updates_unanswered",
        "Injected updates without a reply yet (injected - replied); lost if still so after a drain.",
        None,
        gauges(|r, _| r.injected.saturating_sub(r.replied)),
    )?;
    gauge(
        encoder,
        "tgbench_updates_pending",
        "Updates kept for the bots, not yet confirmed.",
        None,
        gauges(|_, g| g.pending),
    )?;

    let mut m = encoder.encode_descriptor(
        "tgbench_bot_api_requests",
        "Bot API calls the bots made, by method and HTTP status.",
        None,
        MetricType::Counter,
    )?;
    for (labels, r) in series {
        for &method in Method::ALL {
            for (slot, &n) in r.requests[method as usize].iter().enumerate() {
                if n > 0 {
                    let extra = [
                        ("method", method.name()),
                        ("status", status_label(STATUS_CODES[slot])),
                    ];
                    m.encode_family(&(*labels, extra))?
                        .encode_counter::<NoLabelSet, u64, u64>(&n, None)?;
                }
            }
        }
    }

    gauge(
        encoder,
        "tgbench_polls_held",
        "getUpdates calls held open right now (long polls waiting for an update).",
        None,
        gauges(|_, g| g.polls_held),
    )?;
    gauge(
        encoder,
        "tgbench_webhook_deliveries_in_flight",
        "Webhook POSTs to the bots in flight right now.",
        None,
        gauges(|_, g| g.webhook_deliveries_in_flight),
    )?;
    by_label(
        encoder,
        "tgbench_webhook_deliveries",
        "Webhook POSTs finished, by outcome: ok (2xx) or failed (non-2xx, refused, timed out).",
        series,
        "outcome",
        |r| [("ok", r.webhook_ok), ("failed", r.webhook_failed)],
    )?;
    counter(
        encoder,
        "tgbench_webhook_retries",
        "Webhook POSTs of an update whose earlier POST had failed.",
        None,
        counts(|r| r.webhook_retries),
    )?;
    by_label(
        encoder,
        "tgbench_too_many_requests",
        "Bot API calls answered 429 Too Many Requests, by cause: rate_limit (Telegram's limits) or fault (an injected fault).",
        series,
        "cause",
        |r| {
            let all = r.too_many_requests();
            [
                ("rate_limit", r.rate_limited.min(all)),
                ("fault", all.saturating_sub(r.rate_limited)),
            ]
        },
    )?;

    let mut m = encoder.encode_descriptor(
        "tgbench_reply_latency",
        "Reply latency: from the instant an update was due to the bot's reply reaching the mock.",
        Some(&Unit::Seconds),
        MetricType::Histogram,
    )?;
    for (labels, r) in series {
        let buckets: Vec<(f64, u64)> = LATENCY_BUCKETS_S
            .iter()
            .copied()
            .chain([f64::MAX])
            .zip(r.latency.counts)
            .collect();
        let count = r.latency.count();
        labelled(&mut m, labels, |m| {
            m.encode_histogram::<NoLabelSet>(r.latency.sum_s, count, &buckets, None)
        })?;
    }
    Ok(())
}

/// A counter family with one more label of two values: `(label value, count)` per reading.
fn by_label(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: &[(Labels, &Reading)],
    label: &str,
    values: fn(&Reading) -> [(&'static str, u64); 2],
) -> fmt::Result {
    let mut m = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, r) in series {
        for (value, n) in values(r) {
            m.encode_family(&(*labels, [(label, value)]))?
                .encode_counter::<NoLabelSet, u64, u64>(&n, None)?;
        }
    }
    Ok(())
}

/// `"200"`, `"429"`, … (a static string per status the mock answers).
fn status_label(code: u16) -> &'static str {
    match code {
        200 => "200",
        400 => "400",
        401 => "401",
        404 => "404",
        409 => "409",
        413 => "413",
        429 => "429",
        500 => "500",
        502 => "502",
        _ => "other",
    }
}

/// The standalone mock's series, read at each scrape, without labels.
#[derive(Debug)]
pub struct MockCollector {
    mock: Arc<Mock>,
}

impl MockCollector {
    pub fn new(mock: Arc<Mock>) -> MockCollector {
        MockCollector { mock }
    }
}

impl Collector for MockCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let reading = Reading::of(&self.mock);
        encode(&mut encoder, &[(&[], &reading)])
    }
}

/// A registry holding the mock's collector: what the mock's `/metrics` serves.
pub fn registry(mock: Arc<Mock>) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(MockCollector::new(mock)));
    registry
}

/// The two exposition formats a scraper may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0.0 text: the default, and what Prometheus asks for first.
    OpenMetrics,
    /// The Prometheus text format 0.0.4, for a scraper whose Accept names `text/plain` and
    /// not OpenMetrics.
    PrometheusText,
}

impl Format {
    /// The format an `Accept` header asks for.
    pub fn from_accept(accept: Option<&str>) -> Format {
        let accept = accept.unwrap_or("").to_ascii_lowercase();
        let media = |m: &str| {
            accept
                .split(',')
                .any(|part| part.split(';').next().unwrap_or("").trim() == m)
        };
        if !media("application/openmetrics-text") && media("text/plain") {
            Format::PrometheusText
        } else {
            Format::OpenMetrics
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::PrometheusText => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// The registry's series, written in `format`.
pub fn expose(registry: &Registry, format: Format) -> String {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry)
        .expect("writing to a String cannot fail");
    match format {
        Format::OpenMetrics => text,
        Format::PrometheusText => to_prometheus_text(&text),
    }
}

/// The answer to `GET /metrics`: the exposition in the format the `Accept` header asks for.
pub fn response(registry: &Registry, headers: &HeaderMap) -> Response {
    let format = Format::from_accept(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let body = expose(registry, format);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        )],
        body,
    )
        .into_response()
}

/// OpenMetrics text → Prometheus text 0.0.4: the samples are the same; a counter's HELP and
/// TYPE name its `_total` sample, and there is no `# UNIT` or `# EOF`.
fn to_prometheus_text(openmetrics: &str) -> String {
    let counters: HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len() + 16 * counters.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let counter_descriptor = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let (name, rest) = line.strip_prefix(prefix)?.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {rest}"))
        });
        out.push_str(counter_descriptor.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_pick_the_format() {
        use Format::*;
        assert_eq!(Format::from_accept(None), OpenMetrics);
        assert_eq!(Format::from_accept(Some("*/*")), OpenMetrics);
        assert_eq!(
            Format::from_accept(Some("text/plain;version=0.0.4;q=0.5,*/*;q=0.1")),
            PrometheusText
        );
        assert_eq!(Format::from_accept(Some("text/plain")), PrometheusText);
        // Prometheus 2.x asks for OpenMetrics first and text/plain as a fallback.
        assert_eq!(
            Format::from_accept(Some(
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
            )),
            OpenMetrics
        );
    }

    #[test]
    fn latencies_land_in_their_buckets() {
        let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).unwrap();
        for us in [500, 1_000, 1_001, 30_000, 59_000_000, 61_000_000] {
            h.record(us).unwrap();
        }
        let b = LatencyBuckets::of(&h);
        assert_eq!(b.count(), 6);
        assert_eq!(b.counts[0], 2, "0.5 ms and 1 ms are ≤ 1 ms: {:?}", b.counts);
        assert_eq!(b.counts[1], 1, "1.001 ms is in (1, 2.5] ms");
        assert_eq!(b.counts[5], 1, "30 ms is in (25, 50] ms");
        assert_eq!(b.counts[14], 1, "59 s is in (25, 60] s");
        assert_eq!(b.counts[15], 1, "61 s is over 60 s");
        assert!((b.sum_s - 120.0315).abs() < 0.1, "{}", b.sum_s);
    }

    #[test]
    fn windows_subtract_and_add_up() {
        let mut start = Reading {
            injected: 5,
            latency: LatencyBuckets {
                sum_s: 0.004,
                ..LatencyBuckets::default()
            },
            ..Reading::default()
        };
        start.requests[Method::SendMessage as usize][0] = 3;
        start.latency.counts[2] = 1;
        let mut end = start.clone();
        end.injected = 12;
        end.requests[Method::SendMessage as usize][0] = 10;
        end.latency.counts[2] = 4;
        end.latency.sum_s = 0.016;
        end.gauges = Some(Gauges {
            polls_held: 2,
            ..Gauges::default()
        });
        let window = end.since(&start);
        assert_eq!(window.injected, 7);
        assert_eq!(window.requests[Method::SendMessage as usize][0], 7);
        assert_eq!(window.latency.counts[2], 3);
        assert!((window.latency.sum_s - 0.012).abs() < 1e-9);
        assert_eq!(window.gauges.unwrap().polls_held, 2);
        let mut total = window.clone();
        total.add_counts(&window);
        assert_eq!(total.injected, 14);
        assert_eq!(total.latency.count(), 6);
    }

    #[test]
    fn prometheus_text_names_counters_by_their_samples() {
        let om = "# HELP a_things Things.\n# TYPE a_things counter\na_things_total 3\n\
                  # HELP b_seconds B.\n# TYPE b_seconds histogram\n# UNIT b_seconds seconds\n\
                  b_seconds_sum 1.0\n# EOF\n";
        assert_eq!(
            to_prometheus_text(om),
            "# HELP a_things_total Things.\n# TYPE a_things_total counter\na_things_total 3\n\
             # HELP b_seconds B.\n# TYPE b_seconds histogram\nb_seconds_sum 1.0\n"
        );
    }
}
