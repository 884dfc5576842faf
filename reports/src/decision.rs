//! The decision summary on top of a report: which configuration is cheapest, which is
//! fastest at p50 and at p99, which need no public endpoint, and what would change the
//! answer, as plain sentences generated from the measured figures (never from figures
//! written here).
//!
//! [`decide`] works on [`Candidate`]s, one per configuration that answered messages: the
//! claims report builds them from its configurations ([`crate::claims`]), `tgbench report`
//! from its rows when they compare a polling and a webhook transport ([`of_rows`]).

use crate::cost::{Prices, Usage, monthly_cost};
use crate::rows::Row;
use crate::text::{count, num, usd};

/// One configuration as the decision sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub label: String,
    /// Telegram must reach it: a webhook (or hybrid) server needs a public HTTPS endpoint.
    pub needs_endpoint: bool,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub rss_peak_mb: f64,
    pub requests_per_min: f64,
    /// Always-on monthly cost at the assumed prices; `None` when it could not be priced.
    pub monthly: Option<f64>,
}

/// The summary: what was compared, then one sentence per finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// "For 100 bots at 60 messages per bot per hour, measured on …".
    pub context: String,
    pub sentences: Vec<String>,
}

/// Two figures closer than this (relative) are "the same" for the decision: one run per
/// configuration cannot tell them apart.
const SAME_WITHIN: f64 = 0.10;

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= SAME_WITHIN * a.abs().max(b.abs())
}

fn ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{} s", num(v / 1000.0))
    } else {
        format!("{} ms", num(v))
    }
}

fn min_by<'a>(
    c: impl IntoIterator<Item = &'a Candidate>,
    f: impl Fn(&Candidate) -> f64,
) -> Option<&'a Candidate> {
    c.into_iter()
        .filter(|x| f(x).is_finite())
        .min_by(|a, b| f(a).total_cmp(&f(b)))
}

fn max_by<'a>(
    c: impl IntoIterator<Item = &'a Candidate>,
    f: impl Fn(&Candidate) -> f64,
) -> Option<&'a Candidate> {
    min_by(c, |x| -f(x))
}

/// The names of the candidates within [`SAME_WITHIN`] of the best by `f`, best first.
fn ties(cands: &[Candidate], best: &Candidate, f: impl Fn(&Candidate) -> f64) -> Vec<String> {
    let mut v: Vec<&Candidate> = cands.iter().filter(|c| same(f(c), f(best))).collect();
    v.sort_by(|a, b| f(a).total_cmp(&f(b)));
    v.into_iter().map(|c| c.label.clone()).collect()
}

/// "a, b and c"; "a; b, c; and d" when a name has a comma of its own.
fn list(names: &[String]) -> String {
    let commas = names.iter().any(|n| n.contains(','));
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] if commas => format!("{}; and {last}", rest.join("; ")),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The sentence with its first letter upper-case (labels start some sentences).
fn sentence(s: String) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => s,
    }
}

/// The summary of `cands` (configurations that answered messages), or `None` when there
/// is nothing to choose between (fewer than two).
pub fn decide(context: String, cands: &[Candidate]) -> Option<Decision> {
    if cands.len() < 2 {
        return None;
    }
    let mut s = Vec::new();
    let cost = |c: &Candidate| c.monthly.unwrap_or(f64::NAN);

    // Cost.
    let cheapest = min_by(cands, cost);
    let dearest = max_by(cands, cost);
    match (cheapest, dearest) {
        (Some(lo), Some(hi)) if same(cost(lo), cost(hi)) => s.push(format!(
            "Cost does not decide: every configuration costs about {} a month always on \
             (each fits the same smallest server at the assumed prices).",
            usd(cost(lo))
        )),
        (Some(lo), Some(hi)) => s.push(format!(
            "Cheapest: {} at {} a month always on ({} costs {}).",
            list(&ties(cands, lo, cost)),
            usd(cost(lo)),
            hi.label,
            usd(cost(hi))
        )),
        _ => {}
    }

    // Latency, typical and tail.
    let p50 = |c: &Candidate| c.p50_ms;
    let p99 = |c: &Candidate| c.p99_ms;
    for (f, what, best, worst) in [
        (
            p50 as fn(&Candidate) -> f64,
            "Fastest typical reply (p50)",
            "slowest",
            "p50",
        ),
        (p99, "Shortest tail (p99)", "longest", "p99"),
    ] {
        let (Some(fast), Some(slow)) = (min_by(cands, f), max_by(cands, f)) else {
            continue;
        };
        if same(f(fast), f(slow)) {
            s.push(format!(
                "{worst} does not decide: every configuration is within {} of {}.",
                ms(f(slow) - f(fast)),
                ms(f(fast))
            ));
        } else {
            s.push(format!(
                "{what}: {} at {}; {best} {} at {}.",
                list(&ties(cands, fast, f)),
                ms(f(fast)),
                slow.label,
                ms(f(slow))
            ));
        }
    }

    // The endpoint question.
    let no_endpoint: Vec<Candidate> = cands
        .iter()
        .filter(|c| !c.needs_endpoint)
        .cloned()
        .collect();
    if let Some(best) = min_by(&no_endpoint, p50) {
        let figures = format!(
            "p50 {}{}",
            ms(best.p50_ms),
            best.monthly
                .map(|m| format!(", {} a month", usd(m)))
                .unwrap_or_default()
        );
        if no_endpoint.len() == 1 {
            s.push(format!(
                "Needs no public endpoint: {} ({figures}).",
                best.label
            ));
        } else {
            let names: Vec<String> = no_endpoint.iter().map(|c| c.label.clone()).collect();
            s.push(format!(
                "Needs no public endpoint: {}. Of these, {} answers fastest ({figures}).",
                list(&names),
                best.label,
            ));
        }
    }

    // What would change the answer.
    let fastest = min_by(cands, p50);
    if let (Some(fast), Some(best_polling)) = (fastest, min_by(&no_endpoint, p50))
        && fast.needs_endpoint
    {
        s.push(format!(
            "If the bots cannot have a public HTTPS endpoint (Telegram delivers webhooks only \
             over HTTPS, to port 443, 80, 88 or 8443), {} is the choice: {} slower at p50 \
             than {}.",
            best_polling.label,
            ms(best_polling.p50_ms - fast.p50_ms),
            fast.label
        ));
    }
    let rpm = |c: &Candidate| c.requests_per_min;
    if let (Some(quiet), Some(busy)) = (min_by(&no_endpoint, rpm), max_by(&no_endpoint, rpm))
        && quiet.requests_per_min > 0.0
        && busy.requests_per_min >= 10.0 * quiet.requests_per_min
    {
        s.push(format!(
            "{} made {} Bot API requests a minute, {}× {}: polling without the wait \
             Telegram's server imposes is not what Telegram allows, so its figures are a worst \
             case, not a choice.",
            busy.label,
            count(busy.requests_per_min.round() as u64),
            num(busy.requests_per_min / quiet.requests_per_min),
            quiet.label
        ));
    }
    let rss = |c: &Candidate| c.rss_peak_mb;
    if let (Some(small), Some(big)) = (min_by(cands, rss), max_by(cands, rss))
        && !same(small.rss_peak_mb, big.rss_peak_mb)
    {
        s.push(format!(
            "Memory ranges from {} MB ({}) to {} MB ({}): it decides only where memory is \
             the scarce resource.",
            num(small.rss_peak_mb),
            small.label,
            num(big.rss_peak_mb),
            big.label
        ));
    }
    Some(Decision {
        context,
        sentences: s.into_iter().map(sentence).collect(),
    })
}

/// Does Telegram need to reach this SUT? From its kind; for any other server, from what
/// the mock did with it (it delivered webhooks).
fn needs_endpoint(row: &Row<'_>) -> bool {
    match row.kind {
        "polling" => false,
        "webhook" | "hybrid" => true,
        _ => row.by_method_per_min.contains_key("webhook"),
    }
}

/// The summary of `tgbench report`'s rows, when they compare transports: the rows that
/// answered messages, at least one polling and one webhook. Costs at `prices`.
pub fn of_rows(rows: &[Row<'_>], several_files: bool, prices: &Prices) -> Option<Decision> {
    // Rows whose CPU and memory were not measured cannot be priced or weighed.
    let answered: Vec<&Row<'_>> = rows
        .iter()
        .filter(|r| r.latency.count > 0 && r.memory.is_some())
        .collect();
    let polling = answered.iter().any(|r| !needs_endpoint(r));
    let webhook = answered.iter().any(|r| needs_endpoint(r));
    if !(polling && webhook) {
        return None;
    }
    let cands: Vec<Candidate> = answered
        .iter()
        .map(|r| Candidate {
            label: r.label(several_files),
            needs_endpoint: needs_endpoint(r),
            p50_ms: r.latency.p50,
            p99_ms: r.latency.p99,
            rss_peak_mb: r.memory.as_ref().map_or(0.0, |m| m.rss_peak_mb),
            requests_per_min: r.requests_per_min,
            monthly: Usage::of_row(r, 0.0, 1.0).map(|u| monthly_cost(&u, prices).always_on),
        })
        .collect();
    let mut bots: Vec<u64> = answered.iter().map(|r| r.bots).collect();
    bots.sort_unstable();
    bots.dedup();
    let bots: Vec<String> = bots.into_iter().map(count).collect();
    decide(
        format!(
            "For the runs shown ({} bots), as measured:",
            bots.join(", ")
        ),
        &cands,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(label: &str, endpoint: bool, p50: f64, p99: f64, monthly: f64) -> Candidate {
        Candidate {
            label: label.into(),
            needs_endpoint: endpoint,
            p50_ms: p50,
            p99_ms: p99,
            rss_peak_mb: 20.0,
            requests_per_min: 200.0,
            monthly: Some(monthly),
        }
    }

    #[test]
    fn names_cheapest_fastest_and_the_endpoint_choice_from_the_figures() {
        let d = decide(
            "ctx".into(),
            &[
                cand("long polling", false, 120.0, 400.0, 30.0),
                cand("webhook", true, 60.0, 90.0, 45.0),
                cand("short polling", false, 300.0, 700.0, 30.5),
            ],
        )
        .unwrap();
        let all = d.sentences.join("\n");
        assert!(
            all.contains("Cheapest: long polling and short polling at $30.00"),
            "{all}"
        );
        assert!(all.contains("(webhook costs $45.00)"), "{all}");
        assert!(
            all.contains(
                "Fastest typical reply (p50): webhook at 60.0 ms; slowest short polling at 300 ms"
            ),
            "{all}"
        );
        assert!(
            all.contains("Shortest tail (p99): webhook at 90.0 ms"),
            "{all}"
        );
        assert!(all.contains("Needs no public endpoint: long polling and short polling. Of these, long polling answers fastest (p50 120 ms, $30.00 a month)"), "{all}");
        assert!(
            all.contains("long polling is the choice: 60.0 ms slower at p50 than webhook"),
            "{all}"
        );
        assert!(
            !all.contains("Memory ranges"),
            "equal memory is not a finding: {all}"
        );
    }

    #[test]
    fn equal_costs_do_not_decide_and_a_spinning_poller_is_named() {
        let mut spin = cand("no anti-spin", false, 250.0, 600.0, 30.0);
        spin.requests_per_min = 12_000.0;
        spin.rss_peak_mb = 90.0;
        let d = decide(
            "ctx".into(),
            &[
                cand("long polling", false, 100.0, 300.0, 30.0),
                cand("webhook", true, 110.0, 200.0, 30.0),
                spin,
            ],
        )
        .unwrap();
        let all = d.sentences.join("\n");
        assert!(
            all.contains("Cost does not decide: every configuration costs about $30.00"),
            "{all}"
        );
        // p50 100 and 110 are within 10 %: both are named fastest.
        assert!(
            all.contains("Fastest typical reply (p50): long polling and webhook at 100 ms"),
            "{all}"
        );
        assert!(
            all.contains(
                "\nNo anti-spin made 12,000 Bot API requests a minute, 60.0× long polling"
            ),
            "{all}"
        );
        assert!(
            all.contains("Memory ranges from 20.0 MB (long polling) to 90.0 MB (no anti-spin)"),
            "{all}"
        );
        // The fastest needs no endpoint: no "if the bots cannot have an endpoint" sentence.
        assert!(!all.contains("is the choice"), "{all}");
    }

    #[test]
    fn lists_of_labels_with_commas_stay_readable() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(list(&names(&["a", "b", "c"])), "a, b and c");
        assert_eq!(
            list(&names(&["webhook", "webhook, reply in response", "x"])),
            "webhook; webhook, reply in response; and x"
        );
        assert_eq!(sentence("short polling".into()), "Short polling");
    }

    #[test]
    fn nothing_to_decide_with_one_configuration() {
        assert!(decide("ctx".into(), &[cand("a", false, 1.0, 2.0, 3.0)]).is_none());
    }
}
