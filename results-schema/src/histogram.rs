//! Latency histograms as stored in results files: HdrHistogram V2 serialized (microseconds),
//! then base64, so runs and repetitions can be merged later; and their summary in
//! milliseconds, [`Latency::from_histogram`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};

use crate::{Error, Latency};

/// Highest latency a histogram records: 10 minutes in µs (polling latencies reach 50 s+).
pub const MAX_LATENCY_US: u64 = 600_000_000;

/// A new latency histogram in µs, 3 significant figures, up to [`MAX_LATENCY_US`].
pub fn new_latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("constant bounds are valid")
}

/// Serializes to HdrHistogram V2 and base64.
pub fn encode(hist: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2Serializer::new()
        .serialize(hist, &mut bytes)
        .expect("serializing to a Vec cannot fail");
    STANDARD.encode(bytes)
}

/// Reads what [`encode`] wrote. An empty string is an empty histogram.
pub fn decode(text: &str) -> Result<Histogram<u64>, Error> {
    if text.is_empty() {
        return Ok(new_latency_histogram());
    }
    let bytes = STANDARD.decode(text)?;
    Ok(Deserializer::new().deserialize(&mut bytes.as_slice())?)
}

/// Merges several encoded histograms into one.
pub fn merge<'a>(encoded: impl IntoIterator<Item = &'a str>) -> Result<Histogram<u64>, Error> {
    let mut total = new_latency_histogram();
    for text in encoded {
        total.add(decode(text)?)?;
    }
    Ok(total)
}

impl Latency {
    /// The summary (ms) of a latency histogram in µs: count, p50, p90, p99, p99.9, max and
    /// mean. An empty histogram summarises to all zeros.
    pub fn from_histogram(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            count: h.len(),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_count() {
        let mut h = new_latency_histogram();
        for v in [150, 2_000, 2_000, 45_000_000] {
            h.record(v).unwrap();
        }
        let back = decode(&encode(&h)).unwrap();
        assert_eq!(back.len(), 4);
        assert_eq!(back.max(), h.max());
        assert_eq!(back.value_at_quantile(0.5), h.value_at_quantile(0.5));
    }

    #[test]
    fn merge_adds_counts() {
        let mut a = new_latency_histogram();
        a.record(1_000).unwrap();
        let mut b = new_latency_histogram();
        b.record(3_000).unwrap();
        b.record(5_000).unwrap();
        let m = merge([encode(&a).as_str(), encode(&b).as_str()]).unwrap();
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(
            decode("not base64 !!"),
            Err(Error::HistogramBase64(_))
        ));
        let not_a_histogram = decode("aGVsbG8=").unwrap_err();
        assert!(matches!(not_a_histogram, Error::HistogramFormat(_)));
        assert!(
            std::error::Error::source(&not_a_histogram).is_some(),
            "the decoder's error is kept as the source"
        );
    }

    #[test]
    fn the_summary_reads_milliseconds_from_microseconds() {
        let mut h = new_latency_histogram();
        // Below 2,048 µs a 3-significant-figure histogram holds values exactly.
        for us in [100, 200, 300, 400] {
            h.record(us).unwrap();
        }
        let l = Latency::from_histogram(&h);
        assert_eq!(l.count, 4);
        assert_eq!(l.p50, 0.2);
        assert_eq!(l.p99, 0.4);
        assert_eq!(l.max, 0.4);
        assert_eq!(l.mean, 0.25);
    }

    #[test]
    fn an_empty_histogram_summarises_to_zeros() {
        assert_eq!(
            Latency::from_histogram(&new_latency_histogram()),
            Latency::default()
        );
        // Also after a subtraction emptied it (a window with no reply).
        let mut h = new_latency_histogram();
        h.record(45_000).unwrap();
        let before = h.clone();
        h.subtract(&before).unwrap();
        assert_eq!(Latency::from_histogram(&h), Latency::default());
    }
}
