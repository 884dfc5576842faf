//! The published JSON Schema of `results.json` (`results-schema/results.schema.json`,
//! [`JSON_SCHEMA`]) describes what the types write, and rejects what the reader rejects:
//! the output format is a contract, so schema and types may not drift apart.

use serde_json::Value;
use tgbench_reports::results::{JSON_SCHEMA, Results};

use crate::fixtures;

fn schema() -> Value {
    serde_json::from_str(JSON_SCHEMA).expect("the schema is JSON")
}

/// A results file with every optional field filled.
fn full() -> Results {
    let mut r = fixtures::smoke();
    r.complete = false;
    r.incomplete_reason = Some("interrupted".into());
    r.runs[0].phase = Some("active".into());
    r.runs[0].complete = false;
    r.runs[0].incomplete_reason = Some("SUT crashed".into());
    r.runs[0].latency_histogram = fixtures::histogram_around(5.0, 10);
    fixtures::with_split(&mut r.runs[0], 2.0, 3.0);
    if let Some(s) = r.runs[0].latency_split.as_mut() {
        s.in_telegram_histogram = fixtures::histogram_around(2.0, 10);
        s.delivery_to_reply_histogram = fixtures::histogram_around(3.0, 10);
    }
    r.capacity[0].steps[0].reason = Some("slo".into());
    r.runs[1].serverless = Some(fixtures::serverless());
    r.runs[0].sut.cpu_quota = Some(tgbench_reports::results::CpuQuota {
        cores: 0.25,
        mechanism: "cgroup v1 cpu controller: cpu.cfs_quota_us = 25000, cpu.cfs_period_us = 100000"
            .into(),
    });
    r.runs[0].harness.cpu_us_per_message = Some(18.5);
    r.scenario.telegram.tls = true;
    r.runs[1].tls = Some(tgbench_reports::results::TlsRun {
        handshakes: tgbench_reports::results::Handshakes {
            bot_api: 3,
            webhook: 2,
        },
    });
    r.capacity
        .push(fixtures::capacity_curve("x", "polling", None, false));
    r
}

fn errors(instance: &Value) -> Vec<String> {
    let schema = schema();
    let v = jsonschema::validator_for(&schema).expect("the schema compiles");
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn results_written_by_the_types_validate() {
    for r in [
        full(),
        fixtures::smoke(),
        fixtures::results("empty", vec![]),
    ] {
        let json = serde_json::to_value(&r).unwrap();
        let errs = errors(&json);
        assert!(errs.is_empty(), "{errs:#?}");
        // And it reads back.
        let back = Results::from_json(&json.to_string()).unwrap();
        assert_eq!(back, r);
    }
}

#[test]
fn the_schema_rejects_what_the_reader_rejects() {
    let good = serde_json::to_value(fixtures::smoke()).unwrap();
    let mut no_runs = good.clone();
    no_runs.as_object_mut().unwrap().remove("runs");
    let mut v2 = good.clone();
    v2["schema_version"] = 2.into();
    let mut text_p99 = good.clone();
    text_p99["runs"][0]["latency_ms"]["p99"] = "slow".into();
    let mut negative = good.clone();
    negative["runs"][0]["updates"]["lost"] = (-1).into();
    for (name, doc) in [
        ("no runs", no_runs),
        ("version 2", v2),
        ("p99 as text", text_p99),
        ("negative count", negative),
    ] {
        assert!(!errors(&doc).is_empty(), "{name} should be invalid");
        assert!(Results::from_json(&doc.to_string()).is_err(), "{name}");
    }
}

/// Resolves a local `$ref` ("#/$defs/x").
fn resolve<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let ptr = r.strip_prefix('#').expect("local refs only");
            resolve(root, root.pointer(ptr).unwrap_or_else(|| panic!("{r}")))
        }
        None => node,
    }
}

/// Every property the types write is described in the schema (none slips in silently).
fn described(root: &Value, node: &Value, value: &Value, path: &str, missing: &mut Vec<String>) {
    let node = resolve(root, node);
    match value {
        Value::Object(map) => {
            let props = node.get("properties");
            let extra = node.get("additionalProperties").filter(|a| a.is_object());
            if props.is_none() && extra.is_none() {
                return; // free-form (load, slo, telegram)
            }
            for (k, v) in map {
                match props.and_then(|p| p.get(k)).or(extra) {
                    Some(child) => described(root, child, v, &format!("{path}.{k}"), missing),
                    None => missing.push(format!("{path}.{k}")),
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = node.get("items") {
                for (i, v) in items.iter().enumerate() {
                    described(root, item, v, &format!("{path}[{i}]"), missing);
                }
            }
        }
        _ => {}
    }
}

#[test]
fn every_field_the_types_write_is_in_the_schema() {
    let root = schema();
    let json = serde_json::to_value(full()).unwrap();
    let mut missing = Vec::new();
    described(&root, &root, &json, "", &mut missing);
    assert!(
        missing.is_empty(),
        "fields written but not described in results.schema.json: {missing:#?}"
    );
}
