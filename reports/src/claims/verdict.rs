//! The verdict rules: a claimed figure accepts an interval (rule 1), a configuration's
//! measured value holds or not (rule 2), and a claim's row gets a verdict from its cells
//! (rule 3).
//!
//! 1. **A claimed figure accepts an interval** ([`Figure::accepted`]), with the claim's
//!    tolerance `t(x) = max(rel·x, abs)`: range `lo-hi` → `[lo − t(lo), hi + t(hi)]`;
//!    about `x` → `[x − t(x), x + t(x)]`; at least `x` → `[x − t(x), ∞)`; at most `x` →
//!    `(−∞, x + t(x)]`. The tolerances are listed per claim in [`CLAIMS`](super::CLAIMS).
//! 2. **A cell** (one configuration, [`judge_cell`]) *holds* when its measured value lies in
//!    the accepted interval, *does not hold* when it lies outside. A value that is only a
//!    bound (a capacity search stopped by a limit of the test machine, not of the SUT) holds
//!    when every value it allows is accepted, does not hold when none is, and is
//!    *inconclusive* otherwise ([`Figure::judge`]).
//! 3. **A row** ([`verdict`]) groups cells by side: the polling figure is judged on polling
//!    configurations, the webhook figure on webhook ones (a claim about both judges every
//!    configuration). Inconclusive and unmeasured cells are left out. Then: *holds* when
//!    every judged cell holds; *does not hold* when on some side no cell holds; otherwise
//!    *holds only when* the configurations where it held, per side whose cells disagreed;
//!    *not measured* / *inconclusive* when a side has no decided cell.

use std::fmt;

use super::measure::Reading;
use super::spec::{ClaimSpec, Config, Figure, Side, config};
use super::{ClaimCell, Claimed};

/// What a measured value is: exact, or only a bound on the true value (rule 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Exact,
    /// The true value is at least this (e.g. max bots when the machine ran out first).
    AtLeast,
    /// The true value is at most this.
    AtMost,
}

/// One configuration's outcome on one claimed figure.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Holds,
    Fails,
    Inconclusive,
    NotMeasured,
    /// The claim does not speak about this configuration's side.
    NotApplicable,
}

/// A row's verdict (rule 3).
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Holds,
    DoesNotHold,
    /// "holds only when …": the conditions under which it held.
    HoldsOnlyWhen(String),
    Inconclusive,
    NotMeasured,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Holds => f.write_str("holds"),
            Verdict::DoesNotHold => f.write_str("does not hold"),
            Verdict::HoldsOnlyWhen(c) => write!(f, "holds only when {c}"),
            Verdict::Inconclusive => f.write_str("inconclusive"),
            Verdict::NotMeasured => f.write_str("not measured"),
        }
    }
}

impl Figure {
    fn tol(&self, x: f64) -> f64 {
        (self.rel * x.abs()).max(self.abs)
    }

    /// The interval of measured values that count as the claim holding (rule 1).
    pub fn accepted(&self) -> (f64, f64) {
        match self.claimed {
            Claimed::Range(lo, hi) => (lo - self.tol(lo), hi + self.tol(hi)),
            Claimed::About(x) => (x - self.tol(x), x + self.tol(x)),
            Claimed::AtLeast(x) => (x - self.tol(x), f64::INFINITY),
            Claimed::AtMost(x) => (f64::NEG_INFINITY, x + self.tol(x)),
        }
    }

    /// Rule 2: holds, fails, or (for a bound) inconclusive.
    pub fn judge(&self, value: f64, bound: Bound) -> Outcome {
        self.judge_interval((value, value), bound)
    }

    /// Rule 2 for a value known to lie in `interval` (its margin): holds when the whole
    /// interval is accepted, fails when none of it is, inconclusive when it straddles a
    /// threshold.
    pub fn judge_interval(&self, interval: (f64, f64), bound: Bound) -> Outcome {
        if interval.0.is_nan() || interval.1.is_nan() {
            return Outcome::NotMeasured;
        }
        let (a, b) = self.accepted();
        let (lo, hi) = match bound {
            Bound::Exact => interval,
            Bound::AtLeast => (interval.0, f64::INFINITY),
            Bound::AtMost => (f64::NEG_INFINITY, interval.1),
        };
        if lo >= a && hi <= b {
            Outcome::Holds
        } else if hi < a || lo > b {
            Outcome::Fails
        } else {
            Outcome::Inconclusive
        }
    }
}

/// Rule 2 for one configuration: its cell on `spec`, from what it measured (`None`: not
/// measured).
pub(super) fn judge_cell(spec: &ClaimSpec, config: &Config, got: Option<Reading>) -> ClaimCell {
    let claimed = spec.figure_for(config.side);
    let outcome = match (claimed, &got) {
        (None, _) => Outcome::NotApplicable,
        (Some(_), None) => Outcome::NotMeasured,
        (Some(f), Some(r)) => f.judge_interval(r.interval, r.bound),
    };
    // An exact figure judged inconclusive: its margin straddles a threshold. Say which.
    let straddles = match (claimed, &got) {
        (Some(f), Some(r)) if outcome == Outcome::Inconclusive && r.bound == Bound::Exact => {
            let (a, b) = f.accepted();
            let (lo, hi) = r.interval;
            let threshold = if lo < a && a <= hi { a } else { b };
            Some(format!(
                "{} to {} ({}) straddles {}",
                (r.show)(lo),
                (r.show)(hi),
                r.basis,
                (r.show)(threshold)
            ))
        }
        _ => None,
    };
    let (value, figure, text) = match got {
        Some(r) => {
            let mut notes: Vec<String> = Vec::new();
            if !r.detail.is_empty() {
                notes.push(r.detail.clone());
            }
            if let Some(st) = &straddles {
                notes.push(format!("inconclusive: {st}"));
            } else if r.basis.ends_with("runs") {
                // The runs' spread, when it shows at the figure's precision.
                let (lo, hi) = ((r.show)(r.interval.0), (r.show)(r.interval.1));
                if lo != hi {
                    notes.push(format!("{lo} to {hi} over {}", r.basis));
                }
            }
            let text = if notes.is_empty() {
                r.figure.clone()
            } else {
                format!("{} ({})", r.figure, notes.join("; "))
            };
            (Some(r.value), r.figure, text)
        }
        None if outcome == Outcome::NotMeasured => (None, String::new(), "not measured".into()),
        None => (None, String::new(), "–".into()),
    };
    ClaimCell {
        config: config.name,
        value,
        figure,
        text,
        outcome,
        straddles,
    }
}

/// The cells one figure of a claim judges (rule 3): one side's, or every configuration's.
#[derive(Debug)]
struct Judged<'c> {
    /// "polling", "webhook" or "every transport".
    name: String,
    figure: Figure,
    /// Cells that hold or fail.
    decided: Vec<&'c ClaimCell>,
    /// Cells that are inconclusive.
    undecided: usize,
    /// Inconclusive cells whose margin straddles a threshold (not a capacity bound).
    straddling: Vec<&'c ClaimCell>,
}

impl<'c> Judged<'c> {
    fn new(name: String, figure: Figure, cells: Vec<&'c ClaimCell>) -> Self {
        Self {
            name,
            figure,
            decided: cells
                .iter()
                .copied()
                .filter(|c| matches!(c.outcome, Outcome::Holds | Outcome::Fails))
                .collect(),
            undecided: cells
                .iter()
                .filter(|c| c.outcome == Outcome::Inconclusive)
                .count(),
            straddling: cells
                .iter()
                .copied()
                .filter(|c| c.straddles.is_some())
                .collect(),
        }
    }

    fn with(&self, outcome: Outcome) -> Vec<&'c ClaimCell> {
        self.decided
            .iter()
            .copied()
            .filter(|c| c.outcome == outcome)
            .collect()
    }

    /// "polling claimed 15-20 %, measured 0.03 % to 2.05 %".
    fn claimed_and_measured(&self) -> String {
        format!(
            "{} claimed {}, measured {}",
            self.name,
            self.figure.text,
            figure_range(&self.decided)
        )
    }

    /// "polling claimed 15-20 %: met by short polling (16.0 %); missed by long polling (1)",
    /// then "; inconclusive for …" when a cell's margin straddled the threshold.
    fn met_and_missed(&self) -> String {
        let mut s = format!(
            "{} claimed {}: met by {}",
            self.name,
            self.figure.text,
            configs_with_figures(&self.with(Outcome::Holds))
        );
        let missed = self.with(Outcome::Fails);
        if !missed.is_empty() {
            s.push_str(&format!("; missed by {}", configs_with_figures(&missed)));
        }
        if !self.straddling.is_empty() {
            s.push_str(&format!(
                "; inconclusive for {}",
                configs_with_figures(&self.straddling)
            ));
        }
        s
    }

    /// "polling is long polling (30 s timeout) or …": where the figure held.
    fn where_it_held(&self) -> String {
        self.with(Outcome::Holds)
            .iter()
            .map(|c| config(c.config).when)
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// The groups of rule 3: one per side the claim has a figure for, or one of every
/// configuration for a claim about every transport.
fn judged<'c>(spec: &ClaimSpec, cells: &'c [ClaimCell]) -> Vec<Judged<'c>> {
    let on = |side: Option<Side>| -> Vec<&'c ClaimCell> {
        cells
            .iter()
            .filter(|c| side.is_none_or(|s| config(c.config).side == s))
            .collect()
    };
    match spec.any {
        Some(f) => vec![Judged::new("every transport".into(), f, on(None))],
        None => [
            (Side::Polling, spec.polling),
            (Side::Webhook, spec.webhook),
            (Side::Serverless, spec.serverless),
        ]
        .into_iter()
        .filter_map(|(side, f)| Some(Judged::new(side.to_string(), f?, on(Some(side)))))
        .collect(),
    }
}

/// "21.0 MB to 26.0 MB": the lowest and highest figure of some cells.
fn figure_range(cells: &[&ClaimCell]) -> String {
    let mut v: Vec<&&ClaimCell> = cells.iter().collect();
    v.sort_by(|a, b| a.value.unwrap_or(0.0).total_cmp(&b.value.unwrap_or(0.0)));
    match (v.first(), v.last()) {
        (Some(lo), Some(hi)) if lo.figure != hi.figure => {
            format!("{} to {}", lo.figure, hi.figure)
        }
        (Some(one), _) => one.figure.clone(),
        _ => String::new(),
    }
}

/// "short polling (4.00 %), long polling (0.30 %)".
fn configs_with_figures(cells: &[&ClaimCell]) -> String {
    cells
        .iter()
        .map(|c| format!("{} ({})", config(c.config).short, c.figure))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The verdict when a group has no cell that holds or fails.
fn undecided(spec: &ClaimSpec, group: &Judged<'_>) -> (Verdict, String) {
    if !group.straddling.is_empty() {
        (
            Verdict::Inconclusive,
            format!(
                "{} claimed {}: {}",
                group.name,
                group.figure.text,
                group
                    .straddling
                    .iter()
                    .map(|c| format!(
                        "{} measured {}, but {}",
                        config(c.config).short,
                        c.figure,
                        c.straddles.as_deref().unwrap_or_default()
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )
    } else if group.undecided > 0 {
        (
            Verdict::Inconclusive,
            format!(
                "{}: only bounds were measured (every step held, or a limit of the test machine came first)",
                group.name
            ),
        )
    } else if spec.any.is_some() {
        (
            Verdict::NotMeasured,
            "no configuration was measured".to_owned(),
        )
    } else {
        (
            Verdict::NotMeasured,
            format!("no {} configuration was measured", group.name),
        )
    }
}

/// What `say` says of each group, joined by `sep`.
fn join<'c>(groups: &[&Judged<'c>], say: impl Fn(&Judged<'c>) -> String, sep: &str) -> String {
    groups.iter().map(|g| say(g)).collect::<Vec<_>>().join(sep)
}

/// Rule 3: a claim's verdict from its cells, with its one-line reason.
pub fn verdict(spec: &ClaimSpec, cells: &[ClaimCell]) -> (Verdict, String) {
    let groups = judged(spec, cells);
    if let Some(g) = groups.iter().find(|g| g.decided.is_empty()) {
        return undecided(spec, g);
    }
    // A side where no cell held does not hold, unless a cell was inconclusive: that one
    // might hold, so the side is inconclusive (a verdict that flips with noise is none).
    let none_held = |unsure: bool| -> Vec<&Judged<'_>> {
        groups
            .iter()
            .filter(|g| g.with(Outcome::Holds).is_empty() && g.straddling.is_empty() != unsure)
            .collect()
    };
    let failed = none_held(false);
    if !failed.is_empty() {
        let why = join(&failed, Judged::claimed_and_measured, "; ");
        return (Verdict::DoesNotHold, why);
    }
    if let Some(g) = none_held(true).first() {
        return undecided(spec, g);
    }
    // Sides where some cell missed or stayed inconclusive hold only where it held.
    let mixed: Vec<&Judged<'_>> = groups
        .iter()
        .filter(|g| !g.with(Outcome::Fails).is_empty() || !g.straddling.is_empty())
        .collect();
    if mixed.is_empty() {
        let all: Vec<&Judged<'_>> = groups.iter().collect();
        return (
            Verdict::Holds,
            join(&all, Judged::claimed_and_measured, "; "),
        );
    }
    (
        Verdict::HoldsOnlyWhen(join(&mixed, Judged::where_it_held, ", and ")),
        join(&mixed, Judged::met_and_missed, ". "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::spec::{CLAIMS, Metric, sut};
    use Claimed::{About, AtLeast, AtMost, Range};

    fn fig(c: Claimed, rel: f64, abs: f64) -> Figure {
        Figure::new(c, rel, abs, "x")
    }

    #[test]
    fn a_range_holds_within_its_tolerance() {
        let f = fig(Range(15.0, 20.0), 0.10, 0.0);
        assert_eq!(f.accepted(), (13.5, 22.0));
        assert_eq!(f.judge(17.0, Bound::Exact), Outcome::Holds);
        assert_eq!(f.judge(13.5, Bound::Exact), Outcome::Holds);
        assert_eq!(f.judge(21.9, Bound::Exact), Outcome::Holds);
        assert_eq!(f.judge(13.4, Bound::Exact), Outcome::Fails);
        assert_eq!(f.judge(0.3, Bound::Exact), Outcome::Fails);
        assert_eq!(f.judge(f64::NAN, Bound::Exact), Outcome::NotMeasured);
    }

    #[test]
    fn about_uses_the_larger_of_relative_and_absolute_tolerance() {
        let mem = fig(About(800.0), 0.5, 0.0);
        assert_eq!(mem.accepted(), (400.0, 1200.0));
        let cpu = fig(About(0.5), 0.0, 0.5);
        assert_eq!(cpu.accepted(), (0.0, 1.0));
        assert_eq!(cpu.judge(0.0, Bound::Exact), Outcome::Holds);
        assert_eq!(cpu.judge(1.2, Bound::Exact), Outcome::Fails);
        let zero = fig(AtMost(0.0), 0.0, 0.25);
        assert_eq!(zero.judge(0.2, Bound::Exact), Outcome::Holds);
        assert_eq!(zero.judge(0.3, Bound::Exact), Outcome::Fails);
    }

    #[test]
    fn bounds_hold_fail_or_stay_inconclusive() {
        let at_least = fig(AtLeast(2000.0), 0.0, 0.0);
        assert_eq!(at_least.judge(2500.0, Bound::AtLeast), Outcome::Holds);
        assert_eq!(
            at_least.judge(1500.0, Bound::AtLeast),
            Outcome::Inconclusive
        );
        assert_eq!(at_least.judge(1500.0, Bound::Exact), Outcome::Fails);
        let about = fig(About(200.0), 0.5, 0.0);
        assert_eq!(about.judge(5000.0, Bound::AtLeast), Outcome::Fails);
        assert_eq!(about.judge(150.0, Bound::AtLeast), Outcome::Inconclusive);
        let servers = fig(AtLeast(2.0), 0.0, 0.0);
        assert_eq!(servers.judge(1.0, Bound::AtMost), Outcome::Fails);
        assert_eq!(servers.judge(3.0, Bound::AtMost), Outcome::Inconclusive);
        assert_eq!(servers.judge(f64::INFINITY, Bound::Exact), Outcome::Holds);
    }

    fn reading(value: f64, figure: &str, detail: &str) -> Option<Reading> {
        Some(Reading::new(
            value,
            Bound::Exact,
            figure.into(),
            detail.into(),
        ))
    }

    #[test]
    fn a_margin_that_straddles_a_threshold_is_inconclusive() {
        let f = fig(AtLeast(80.0), 0.0, 0.0);
        assert_eq!(
            f.judge_interval((85.0, 100.0), Bound::Exact),
            Outcome::Holds
        );
        assert_eq!(f.judge_interval((0.0, 40.0), Bound::Exact), Outcome::Fails);
        assert_eq!(
            f.judge_interval((60.0, 90.0), Bound::Exact),
            Outcome::Inconclusive
        );
        // The same value with no margin is decided.
        assert_eq!(f.judge(75.0, Bound::Exact), Outcome::Fails);
    }

    #[test]
    fn an_inconclusive_cell_and_row_show_the_figure_the_margin_and_the_threshold() {
        let constant_cpu = &CLAIMS[6];
        let short = config(sut::SHORT_POLLING_500MS);
        let mut r = Reading::new(
            66.7,
            Bound::Exact,
            "66.7 % of windows".into(),
            "mean 0.95 % CPU".into(),
        );
        r.interval = (33.3, 100.0);
        r.basis = "3 runs".into();
        r.show = |v| format!("{} % of windows", crate::text::num(v));
        let c = judge_cell(constant_cpu, short, Some(r));
        assert_eq!(c.outcome, Outcome::Inconclusive);
        assert_eq!(
            c.text,
            "66.7 % of windows (mean 0.95 % CPU; inconclusive: 33.3 % of windows to 100 % of \
             windows (3 runs) straddles 80.0 % of windows)"
        );
        let (v, why) = verdict(constant_cpu, &[c]);
        assert_eq!(v, Verdict::Inconclusive);
        assert_eq!(
            why,
            "polling claimed ≥ 1 % CPU in ≥ 80 % of 5 s idle windows: short polling measured \
             66.7 % of windows, but 33.3 % of windows to 100 % of windows (3 runs) straddles \
             80.0 % of windows"
        );
    }

    #[test]
    fn a_decided_cell_with_runs_shows_their_spread() {
        let polling = config(sut::LONG_POLLING_30S);
        let mut r = Reading::new(17.0, Bound::Exact, "17.0 %".into(), String::new());
        r.interval = (16.5, 17.5);
        r.basis = "3 runs".into();
        r.show = |v| format!("{} %", crate::text::num(v));
        let c = judge_cell(IDLE, polling, Some(r.clone()));
        assert_eq!(c.outcome, Outcome::Holds);
        assert_eq!(c.text, "17.0 % (16.5 % to 17.5 % over 3 runs)");
        // Runs that agree to the figure's precision add nothing to read.
        r.interval = (16.999, 17.001);
        assert_eq!(judge_cell(IDLE, polling, Some(r)).text, "17.0 %");
    }

    #[test]
    fn a_cell_shows_its_figure_with_the_detail_in_brackets() {
        let polling = config(sut::LONG_POLLING_30S);
        let c = judge_cell(IDLE, polling, reading(17.0, "17.0 %", ""));
        assert_eq!(
            (c.outcome, c.text.as_str(), c.value),
            (Outcome::Holds, "17.0 %", Some(17.0))
        );
        let latency = &CLAIMS[3];
        let c = judge_cell(
            latency,
            polling,
            reading(79.0, "79.0 ms", "p50; p99 114 ms"),
        );
        assert_eq!(c.outcome, Outcome::Fails);
        assert_eq!(c.text, "79.0 ms (p50; p99 114 ms)");
        assert_eq!(c.figure, "79.0 ms", "reasons quote the figure alone");
    }

    #[test]
    fn a_cell_the_claim_does_not_speak_about_is_not_applicable() {
        let webhook_zero_cpu = &CLAIMS[8];
        let polling = config(sut::LONG_POLLING_30S);
        let c = judge_cell(webhook_zero_cpu, polling, reading(0.3, "0.30 %", ""));
        assert_eq!(c.outcome, Outcome::NotApplicable);
        assert_eq!(c.text, "0.30 %", "the figure still shows");
        let c = judge_cell(webhook_zero_cpu, polling, None);
        assert_eq!((c.outcome, c.text.as_str()), (Outcome::NotApplicable, "–"));
        let c = judge_cell(IDLE, polling, None);
        assert_eq!(
            (c.outcome, c.text.as_str()),
            (Outcome::NotMeasured, "not measured")
        );
    }

    fn cell(config: &'static str, outcome: Outcome) -> ClaimCell {
        ClaimCell {
            config,
            value: Some(1.0),
            figure: "1".into(),
            text: "1".into(),
            outcome,
            straddles: None,
        }
    }

    fn valued(config: &'static str, value: f64, figure: &str) -> ClaimCell {
        ClaimCell {
            value: Some(value),
            figure: figure.into(),
            ..cell(config, Outcome::Fails)
        }
    }

    const IDLE: &ClaimSpec = &CLAIMS[0];

    #[test]
    fn cells_are_grouped_by_the_side_each_figure_speaks_about() {
        let cells = [
            cell(sut::LONG_POLLING_30S, Outcome::Holds),
            cell(sut::WEBHOOK, Outcome::Inconclusive),
            cell(sut::SHORT_POLLING_500MS, Outcome::NotMeasured),
        ];
        let groups = judged(IDLE, &cells);
        let shape: Vec<(&str, usize, usize)> = groups
            .iter()
            .map(|g| (g.name.as_str(), g.decided.len(), g.undecided))
            .collect();
        assert_eq!(shape, [("polling", 1, 0), ("webhook", 0, 1)]);
        let webhook_only = &CLAIMS[8];
        let groups = judged(webhook_only, &cells);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].name, "webhook");
    }

    #[test]
    fn reasons_quote_the_lowest_and_highest_figure() {
        let cells = [
            valued(sut::WEBHOOK, 26.0, "26.0 MB"),
            valued(sut::LONG_POLLING_30S, 21.0, "21.0 MB"),
            valued(sut::SHORT_POLLING_500MS, 23.0, "23.0 MB"),
        ];
        let refs: Vec<&ClaimCell> = cells.iter().collect();
        assert_eq!(figure_range(&refs), "21.0 MB to 26.0 MB");
        assert_eq!(figure_range(&refs[..1]), "26.0 MB");
        assert_eq!(figure_range(&[]), "");
        assert_eq!(
            configs_with_figures(&refs[1..]),
            "long polling (21.0 MB), short polling (23.0 MB)"
        );
    }

    #[test]
    fn a_row_holds_when_every_side_holds_everywhere() {
        let cells = [
            cell("long-polling-30s", Outcome::Holds),
            cell("webhook", Outcome::Holds),
            cell("webhook-reply-in-response", Outcome::NotMeasured),
        ];
        let (v, why) = verdict(IDLE, &cells);
        assert_eq!(v, Verdict::Holds);
        assert_eq!(
            why,
            "polling claimed 15-20 %, measured 1; webhook claimed 0.5 %, measured 1"
        );
    }

    #[test]
    fn a_row_does_not_hold_when_a_side_never_holds() {
        let cells = [
            cell("long-polling-30s", Outcome::Fails),
            cell("short-polling-500ms", Outcome::Fails),
            cell("webhook", Outcome::Holds),
        ];
        let (v, why) = verdict(IDLE, &cells);
        assert_eq!(v, Verdict::DoesNotHold);
        assert!(why.starts_with("polling claimed 15-20 %"), "{why}");
    }

    #[test]
    fn a_row_holds_only_when_the_configurations_that_met_it_are_used() {
        let cells = [
            cell("long-polling-30s", Outcome::Fails),
            cell("short-polling-500ms-no-antispin", Outcome::Holds),
            cell("webhook", Outcome::Holds),
            cell("webhook-reply-in-response", Outcome::Holds),
        ];
        let (v, why) = verdict(IDLE, &cells);
        assert_eq!(
            v,
            Verdict::HoldsOnlyWhen("polling is short polling (500 ms) without anti-spin".into())
        );
        assert!(
            why.contains("missed by long polling (1)"),
            "reason names the failing configuration: {why}"
        );
    }

    fn straddling(config: &'static str) -> ClaimCell {
        ClaimCell {
            straddles: Some("60 % to 100 % (3 runs) straddles 80 %".into()),
            ..cell(config, Outcome::Inconclusive)
        }
    }

    #[test]
    fn a_side_that_might_hold_is_inconclusive_not_failed() {
        // Long polling missed; both short pollings straddled the threshold: one of them
        // might hold, so the row cannot say "does not hold".
        let constant_cpu = &CLAIMS[6];
        let cells = [
            cell(sut::LONG_POLLING_30S, Outcome::Fails),
            straddling(sut::SHORT_POLLING_500MS),
            straddling(sut::SHORT_POLLING_500MS_NO_ANTISPIN),
        ];
        let (v, why) = verdict(constant_cpu, &cells);
        assert_eq!(v, Verdict::Inconclusive, "{why}");
        assert!(why.contains("straddles 80 %"), "{why}");
        // Where one held, the row holds only there and names the inconclusive one.
        let cells = [
            straddling(sut::SHORT_POLLING_500MS),
            cell(sut::SHORT_POLLING_500MS_NO_ANTISPIN, Outcome::Holds),
        ];
        let (v, why) = verdict(constant_cpu, &cells);
        assert_eq!(
            v,
            Verdict::HoldsOnlyWhen("polling is short polling (500 ms) without anti-spin".into())
        );
        assert!(why.contains("inconclusive for short polling"), "{why}");
        assert!(!why.contains("missed by"), "nothing missed: {why}");
    }

    #[test]
    fn holds_only_when_names_each_disagreeing_side() {
        let cells = [
            cell(sut::LONG_POLLING_30S, Outcome::Fails),
            cell(sut::SHORT_POLLING_500MS, Outcome::Holds),
            cell(sut::SHORT_POLLING_500MS_NO_ANTISPIN, Outcome::Holds),
            cell(sut::WEBHOOK, Outcome::Fails),
            cell(sut::WEBHOOK_REPLY_IN_RESPONSE, Outcome::Holds),
        ];
        let (v, why) = verdict(IDLE, &cells);
        assert_eq!(
            v.to_string(),
            "holds only when polling is short polling (500 ms) with Telegram's anti-spin rule \
             or polling is short polling (500 ms) without anti-spin, and the webhook replies \
             in the HTTP response"
        );
        assert_eq!(
            why,
            "polling claimed 15-20 %: met by short polling (1), short polling, no anti-spin (1); \
             missed by long polling (1). webhook claimed 0.5 %: met by webhook, reply in \
             response (1); missed by webhook (1)"
        );
    }

    #[test]
    fn rows_without_decided_cells_say_so() {
        let cells = [
            cell("long-polling-30s", Outcome::NotMeasured),
            cell("webhook", Outcome::Holds),
        ];
        assert_eq!(
            verdict(IDLE, &cells),
            (
                Verdict::NotMeasured,
                "no polling configuration was measured".into()
            )
        );
        let max_bots = &CLAIMS[4];
        let cells = [
            cell("long-polling-30s", Outcome::Holds),
            cell("webhook", Outcome::Inconclusive),
        ];
        let (v, why) = verdict(max_bots, &cells);
        assert_eq!(v, Verdict::Inconclusive);
        assert!(
            why.starts_with("webhook: only bounds were measured"),
            "{why}"
        );
    }

    #[test]
    fn a_claim_about_every_transport_judges_all_columns() {
        let scaling = CLAIMS
            .iter()
            .find(|c| c.metric == Metric::ServersForScaling)
            .unwrap();
        let cells = [
            cell("long-polling-30s", Outcome::Holds),
            cell("webhook", Outcome::Fails),
        ];
        let (v, _) = verdict(scaling, &cells);
        assert_eq!(
            v,
            Verdict::HoldsOnlyWhen("polling is long polling (30 s timeout)".into())
        );
        assert_eq!(
            verdict(scaling, &[]),
            (Verdict::NotMeasured, "no configuration was measured".into())
        );
    }
}
