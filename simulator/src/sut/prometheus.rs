//! CPU and memory of a SUT from Prometheus (`[sut.metrics]`): after each window, one
//! `query_range` per query over the window (step = the scenario's `sample_ms`), each series
//! a replica (named by `replica_label`, e.g. a pod). `cpu_query` gives CPU seconds per
//! second per replica (cores: 1.0 = one busy core), `rss_query` bytes per replica; the
//! run's figures are the replicas' summed at each step, and each replica's are kept
//! (`resources.source = "prometheus"`).
//!
//! The HTTP API is Prometheus' documented one: `GET /api/v1/query_range?query=&start=&end=&step=`
//! answering `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{…},
//! "values":[[<unix s>,"<value>"],…]}]}}`, or `{"status":"error","errorType":…,"error":…}`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use tgbench_reports::results::{PartResources, Resources};

use crate::sampler::{cpu_of, memory_of, summarize_cpu};
use crate::scenario::Metrics;

/// `resources.source` of figures queried from Prometheus.
pub const SOURCE_PROMETHEUS: &str = "prometheus";

const MIB: f64 = 1024.0 * 1024.0;

/// Why Prometheus gave no figures.
#[derive(Debug, thiserror::Error)]
pub enum PromError {
    #[error("Prometheus at {url}: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error("Prometheus at {url} answered {status} to `{query}`: {error}")]
    Query {
        url: String,
        query: String,
        status: String,
        error: String,
    },
    #[error("Prometheus at {url} has no series for `{query}` over the window")]
    Empty { url: String, query: String },
}

/// One replica's series: its name and `(unix seconds, value)` points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub replica: String,
    pub points: Vec<(f64, f64)>,
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Matrix>,
}

#[derive(Deserialize)]
struct Matrix {
    metric: BTreeMap<String, String>,
    values: Vec<(f64, String)>,
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// `query_range` of `query` from `start` to `end` every `step`; one [`Series`] per result,
/// named by its `label` (else its whole label set).
pub async fn query_range(
    client: &reqwest::Client,
    base: &str,
    query: &str,
    label: Option<&str>,
    (start, end): (SystemTime, SystemTime),
    step: Duration,
) -> Result<Vec<Series>, PromError> {
    let base = base.trim_end_matches('/');
    let http = |source| PromError::Http {
        url: base.to_string(),
        source,
    };
    let params = [
        ("query", query.to_string()),
        ("start", format!("{:.3}", unix(start))),
        ("end", format!("{:.3}", unix(end))),
        ("step", format!("{:.3}", step.as_secs_f64())),
    ];
    let response = client
        .get(format!("{base}/api/v1/query_range"))
        .query(&params)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(http)?;
    let status = response.status();
    let answer: Answer = response.json().await.map_err(http)?;
    let data = match (answer.status.as_str(), answer.data) {
        ("success", Some(d)) if d.result_type == "matrix" => d,
        (_, d) => {
            return Err(PromError::Query {
                url: base.to_string(),
                query: query.to_string(),
                status: format!("{status} {}", answer.error_type.unwrap_or_default()),
                error: answer.error.unwrap_or_else(|| match d {
                    Some(d) => format!("a {} where a matrix was expected", d.result_type),
                    None => "no data".to_string(),
                }),
            });
        }
    };
    if data.result.is_empty() {
        return Err(PromError::Empty {
            url: base.to_string(),
            query: query.to_string(),
        });
    }
    Ok(data
        .result
        .into_iter()
        .map(|m| Series {
            replica: match label.and_then(|l| m.metric.get(l)) {
                Some(v) => v.clone(),
                None => labels_text(&m.metric),
            },
            points: m
                .values
                .into_iter()
                .filter_map(|(t, v)| v.parse::<f64>().ok().map(|v| (t, v)))
                .filter(|(_, v)| v.is_finite())
                .collect(),
        })
        .collect())
}

/// `{a="1",b="2"}`, the way Prometheus prints a series.
fn labels_text(m: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(","))
}

/// The window's CPU and memory from the two queries of `metrics`: the run's (the replicas
/// summed at each step) and each replica's.
pub async fn window_resources(
    client: &reqwest::Client,
    metrics: &Metrics,
    window: (SystemTime, SystemTime),
    step: Duration,
) -> Result<(Resources, PartResources), PromError> {
    let label = metrics.replica_label.as_deref();
    let url = &metrics.prometheus_url;
    let cpu = query_range(client, url, &metrics.cpu_query, label, window, step).await?;
    let rss = query_range(client, url, &metrics.rss_query, label, window, step).await?;
    Ok(figures(&cpu, &rss, step))
}

/// The figures of the series: each replica's, and the total (as a replica named "total").
pub fn figures(cpu: &[Series], rss: &[Series], step: Duration) -> (Resources, PartResources) {
    let step_s = step.as_secs_f64();
    let cpu_of_points = |points: &[(f64, f64)]| {
        let readings: Vec<(f64, f64)> = points.iter().map(|&(_, v)| (v * 100.0, step_s)).collect();
        cpu_of(&summarize_cpu(&readings))
    };
    let mem_of_points = |points: &[(f64, f64)]| {
        let mb: Vec<f64> = points.iter().map(|&(_, v)| v / MIB).collect();
        memory_of(&mb)
    };
    let mut names: Vec<&str> = cpu.iter().chain(rss).map(|s| s.replica.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let find = |of: &[Series], name: &str| -> Vec<(f64, f64)> {
        of.iter()
            .filter(|s| s.replica == name)
            .flat_map(|s| s.points.iter().copied())
            .collect()
    };
    let replicas = names
        .iter()
        .map(|name| PartResources {
            name: name.to_string(),
            cpu: cpu_of_points(&find(cpu, name)),
            memory: mem_of_points(&find(rss, name)),
        })
        .collect();
    let total = PartResources {
        name: "total".into(),
        cpu: cpu_of_points(&summed(cpu)),
        memory: mem_of_points(&summed(rss)),
    };
    (
        Resources {
            source: SOURCE_PROMETHEUS.to_string(),
            parts: replicas,
        },
        total,
    )
}

/// The series added up at each timestamp (to the millisecond).
fn summed(series: &[Series]) -> Vec<(f64, f64)> {
    let mut at: BTreeMap<i64, f64> = BTreeMap::new();
    for s in series {
        for &(t, v) in &s.points {
            *at.entry((t * 1000.0).round() as i64).or_default() += v;
        }
    }
    at.into_iter()
        .map(|(t, v)| (t as f64 / 1000.0, v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(replica: &str, values: &[f64]) -> Series {
        Series {
            replica: replica.into(),
            points: values
                .iter()
                .enumerate()
                .map(|(i, &v)| (1000.0 + i as f64, v))
                .collect(),
        }
    }

    #[test]
    fn replicas_are_summed_per_step_and_kept_apart() {
        let cpu = [series("a", &[0.5, 0.5]), series("b", &[0.25, 0.75])];
        let rss = [
            series("a", &[10.0 * MIB, 10.0 * MIB]),
            series("b", &[20.0 * MIB, 30.0 * MIB]),
        ];
        let (res, total) = figures(&cpu, &rss, Duration::from_secs(1));
        assert_eq!(res.source, "prometheus");
        assert_eq!(res.parts.len(), 2);
        assert_eq!(res.parts[0].cpu.mean_pct, 50.0);
        assert_eq!(res.parts[1].memory.rss_peak_mb, 30.0);
        assert_eq!(total.cpu.mean_pct, 100.0);
        assert_eq!(total.cpu.cpu_s, 2.0);
        assert_eq!(total.memory.rss_peak_mb, 40.0);
        assert_eq!(total.memory.rss_mean_mb, 35.0);
    }
}
