//! `[[sut]]`: each SUT's keys against its kind, its CPU budget and a serverless SUT's function.

use std::collections::BTreeSet;

use super::{Seg, check_telegram_numbers, num, path, valid_name};
use crate::scenario::{FUNCTION_MEMORY_MB, Function, Kind, Scenario, Sut};

/// `[[sut]]` #`i`: a unique name, the keys its kind needs and no others, timeouts, env and
/// telegram overrides in range.
pub(super) fn check_sut(
    bad: &mut impl FnMut(Vec<Seg>, Option<String>, &str),
    s: &Scenario,
    i: usize,
    sut: &Sut,
    names: &mut BTreeSet<String>,
) {
    let at = |k: &str| path!["sut", i, k];
    if !valid_name(&sut.name) {
        bad(
            at("name"),
            Some(format!("{:?}", sut.name)),
            "expected a non-empty name of letters, digits, '.', '_' or '-'",
        );
    } else if !names.insert(sut.name.clone()) {
        bad(
            at("name"),
            Some(format!("{:?}", sut.name)),
            "another [[sut]] already has this name; names must be unique",
        );
    }
    match (sut.kind, &sut.command) {
        (Kind::Command, None) => bad(
            at("command"),
            None,
            "missing key command (required for kind = \"command\"), e.g. command = [\"python3\", \"bot.py\"]",
        ),
        (Kind::Command, Some(c)) if c.is_empty() || c[0].is_empty() => bad(
            at("command"),
            Some("[]".into()),
            "expected a program and its arguments, e.g. [\"python3\", \"bot.py\"]",
        ),
        (k, Some(_)) if k != Kind::Command => bad(
            at("command"),
            None,
            &format!(
                "only for kind = \"command\"; kind = \"{}\" runs the reference binary (use args for its flags)",
                k.as_str()
            ),
        ),
        _ => {}
    }
    check_serverless(bad, sut, i);
    crate::scenario::fleet::check_sut(bad, sut, i);
    if sut.proxy.is_some() && matches!(sut.kind, Kind::Polling | Kind::Serverless | Kind::External)
    {
        bad(
            at("proxy"),
            Some("\"nginx\"".into()),
            &format!(
                "a proxy fronts a webhook server (kind = \"webhook\", \"hybrid\" or a \"command\" that \
                 binds TGBENCH_LISTEN); kind = \"{}\" receives no webhooks through one",
                sut.kind.as_str()
            ),
        );
    }
    let tls_override = sut.telegram.as_ref().and_then(|o| o.tls);
    let unhanded = matches!(sut.kind, Kind::Serverless | Kind::External);
    if unhanded && tls_override.unwrap_or(s.telegram.tls) {
        let at = match tls_override {
            Some(_) => path!["sut", i, "telegram", "tls"],
            None => path!["telegram", "tls"],
        };
        bad(
            at,
            Some("true".into()),
            &format!(
                "not for kind = \"{}\" yet (tgbench cannot hand it the test CA); \
                 give [[sut]] {:?} telegram = {{ tls = false }}",
                sut.kind.as_str(),
                sut.name
            ),
        );
    }
    if let Some(q) = sut.cpu_quota {
        check_cpu_quota(bad, sut, i, q);
    }
    if !(sut.ready_timeout_s > 0.0 && sut.ready_timeout_s <= 3_600.0) {
        bad(
            at("ready_timeout_s"),
            Some(num(sut.ready_timeout_s)),
            "expected seconds > 0 and ≤ 3600",
        );
    }
    if !(sut.stop_timeout_s >= 0.0 && sut.stop_timeout_s <= 600.0) {
        bad(
            at("stop_timeout_s"),
            Some(num(sut.stop_timeout_s)),
            "expected seconds ≥ 0 and ≤ 600",
        );
    }
    for key in sut.env.keys() {
        if key.starts_with("TGBENCH_") {
            bad(
                path!["sut", i, "env", key.as_str()],
                None,
                "TGBENCH_* variables are set by tgbench (the SUT environment contract)",
            );
        }
    }
    if let Some(o) = &sut.telegram {
        let base = path!["sut", i, "telegram"];
        let mut prefixed = |p: Vec<Seg>, v: Option<String>, m: &str| {
            let mut full = base.clone();
            full.extend(p.into_iter().skip(1));
            bad(full, v, m)
        };
        check_telegram_numbers(&mut prefixed, &["telegram"], o);
    }
}

/// `cpu_quota` of `[[sut]]` #`i`: a share of the cores it may run on (its `cpus`, else
/// this machine's), not for the serverless shape (its functions have their own sizes).
fn check_cpu_quota(
    bad: &mut impl FnMut(Vec<Seg>, Option<String>, &str),
    sut: &Sut,
    i: usize,
    quota: f64,
) {
    let at = path!["sut", i, "cpu_quota"];
    if sut.kind == Kind::Serverless {
        bad(
            at,
            Some(num(quota)),
            "not for kind = \"serverless\" (its functions get CPU by memory_mb, as on AWS Lambda)",
        );
        return;
    }
    let (cores, of) = match &sut.cpus {
        Some(list) => (list.0.len(), "its cpus"),
        None => (
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            "this machine",
        ),
    };
    // The kernel's smallest quota is 1 ms per 100 ms period.
    if !(quota.is_finite() && quota >= 0.01 && quota <= cores as f64) {
        bad(
            at,
            Some(num(quota)),
            &format!(
                "expected cores > 0 (at least 0.01) and ≤ {cores} (the cores of {of}), e.g. 0.25 for a quarter of one core"
            ),
        );
    }
}

/// The serverless keys of `[[sut]]` #`i`: required and in range for `kind = "serverless"`,
/// refused on every other kind.
fn check_serverless(bad: &mut impl FnMut(Vec<Seg>, Option<String>, &str), sut: &Sut, i: usize) {
    let at = |k: &str| path!["sut", i, k];
    if sut.kind != Kind::Serverless {
        for key in sut.serverless_keys() {
            bad(
                at(key),
                None,
                &format!(
                    "only for kind = \"serverless\" (this [[sut]] is kind = \"{}\")",
                    sut.kind.as_str()
                ),
            );
        }
        return;
    }
    match &sut.function {
        None => bad(
            at("function"),
            None,
            "missing key function (required for kind = \"serverless\"): \"webhook-lambda\" or a command, e.g. [\"python3\", \"function.py\"]",
        ),
        Some(Function::Command(c)) if c.is_empty() || c[0].is_empty() => bad(
            at("function"),
            Some("[]".into()),
            "expected a program and its arguments, e.g. [\"python3\", \"function.py\"]",
        ),
        _ => {}
    }
    if let Some(m) = sut.memory_mb
        && !FUNCTION_MEMORY_MB.contains(&m)
    {
        bad(
            at("memory_mb"),
            Some(m.to_string()),
            "expected 128 to 10240 (AWS Lambda's memory range, MB)",
        );
    }
    if let Some(c) = sut.concurrency
        && !(1..=10_000).contains(&c)
    {
        bad(
            at("concurrency"),
            Some(c.to_string()),
            "expected 1 to 10000 environments at once",
        );
    }
    if let Some(k) = sut.keep_warm_s
        && !(k > 0.0 && k <= 86_400.0)
    {
        bad(
            at("keep_warm_s"),
            Some(num(k)),
            "expected seconds > 0 and ≤ 86400",
        );
    }
    if let Some(t) = sut.timeout_s
        && !(1.0..=900.0).contains(&t)
    {
        bad(
            at("timeout_s"),
            Some(num(t)),
            "expected 1 to 900 seconds (AWS Lambda's timeout range)",
        );
    }
}
