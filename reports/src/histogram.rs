//! Latency histograms as stored in results files: HdrHistogram V2 serialized (microseconds),
//! then base64, so runs and repetitions can be merged later.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};

use crate::Error;

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
    let bytes = STANDARD
        .decode(text)
        .map_err(|e| Error::Histogram(e.to_string()))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| Error::Histogram(format!("{e:?}")))
}

/// Merges several encoded histograms into one.
pub fn merge<'a>(encoded: impl IntoIterator<Item = &'a str>) -> Result<Histogram<u64>, Error> {
    let mut total = new_latency_histogram();
    for text in encoded {
        total
            .add(decode(text)?)
            .map_err(|e| Error::Histogram(format!("{e:?}")))?;
    }
    Ok(total)
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
        assert!(decode("not base64 !!").is_err());
        assert!(decode("aGVsbG8=").is_err());
    }
}
