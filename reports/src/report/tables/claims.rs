//! The claims report's tables and notes: verdicts, costs, the framework comparison, the
//! context sentence and the claims' source's latency timeline.

use std::fmt::Write as _;

use crate::claims::{CLAIM_BOTS, ClaimsTable, Outcome, Verdict, spec::config};
use crate::table::{Cell, Table, Tone};
use crate::text::{count, num, usd};

/// The claims' source's latency timeline, step by step, and the part of the split each step
/// is measured in, by transport.
pub fn claims_latency_timeline() -> Table {
    let mut t = Table::new([
        "claims' timeline",
        "polling (measured as)",
        "webhook (measured as)",
        "part",
    ]);
    for row in [
        [
            "message sent",
            "the message's scheduled instant",
            "the message's scheduled instant",
            "start",
        ],
        [
            "Telegram receives",
            "the mock queues the update",
            "the mock queues the update",
            "in Telegram",
        ],
        [
            "the server polls and gets it",
            "the getUpdates answer that carries it leaves the mock",
            "Telegram pushes instead: the webhook POST leaves the mock",
            "in Telegram (ends here)",
        ],
        [
            "processing",
            "the bot handles the update",
            "the bot handles the POST",
            "delivery to reply",
        ],
        [
            "reply",
            "sendMessage reaches the mock",
            "sendMessage, or the method in the POST's answer, reaches the mock",
            "delivery to reply (ends here)",
        ],
    ] {
        t.push(row.into_iter().map(Cell::from).collect());
    }
    t
}

/// The claims verdict table: a row per claim, a column per configuration, the verdict and
/// why.
pub fn claims_verdicts(claims: &ClaimsTable) -> Table {
    let mut headers = vec!["claim".to_owned()];
    headers.extend(claims.columns.iter().map(|c| c.label.to_owned()));
    headers.push("verdict".into());
    headers.push("why".into());
    let mut t = Table::new(headers);
    for row in &claims.rows {
        let mut cells: Vec<Cell> = vec![row.claim.into()];
        for c in &row.cells {
            let (mark, tone) = match c.outcome {
                Outcome::Holds => ("✓ ", Tone::Good),
                Outcome::Fails => ("✗ ", Tone::Bad),
                Outcome::Inconclusive => ("? ", Tone::Warn),
                Outcome::NotMeasured | Outcome::NotApplicable => ("", Tone::Muted),
            };
            cells.push(Cell::new(format!("{mark}{}", c.text), tone));
        }
        cells.push(Cell::new(
            row.verdict.to_string(),
            verdict_tone(&row.verdict),
        ));
        cells.push(row.reason.as_str().into());
        t.push(cells);
    }
    t
}

fn verdict_tone(v: &Verdict) -> Tone {
    match v {
        Verdict::Holds => Tone::Good,
        Verdict::DoesNotHold => Tone::Bad,
        Verdict::HoldsOnlyWhen(_) | Verdict::Inconclusive => Tone::Warn,
        Verdict::NotMeasured => Tone::Muted,
    }
}

/// Monthly cost per configuration and servers for the scaling claim's bots.
pub fn claims_costs(claims: &ClaimsTable) -> Table {
    let mut t = Table::new([
        "configuration",
        "always-on size",
        "always-on per month",
        "serverless per month",
        "max bots per server",
        "servers for 10,000 bots",
        "per month for 10,000 bots",
    ]);
    t.numeric = vec![2, 3, 4, 5, 6];
    for c in &claims.costs {
        let bound = if c.scaling_upper_bound { "≤ " } else { "" };
        t.push(vec![
            config(c.config).label.into(),
            if c.vcpu.is_finite() {
                format!("{} vCPU, {} GB", num(c.vcpu), num(c.memory_gb)).into()
            } else {
                "–".into()
            },
            if c.always_on.is_finite() {
                usd(c.always_on).into()
            } else {
                "–".into()
            },
            c.serverless.map_or_else(|| "–".into(), usd).into(),
            c.max_bots.map_or_else(|| "–".into(), count).into(),
            c.servers_for_scaling
                .map_or_else(|| "–".into(), |s| format!("{bound}{s}"))
                .into(),
            c.scaling_monthly
                .map_or_else(|| "–".into(), |m| format!("{bound}{}", usd(m)))
                .into(),
        ]);
    }
    t
}

/// The framework comparison of a `--stack` run: a row per configuration (the Rust reference
/// servers first, then each framework's), figures as measured at the run's bot count. `None`
/// without a framework stack.
pub fn claims_frameworks(claims: &ClaimsTable) -> Option<Table> {
    let lines = claims.frameworks.as_ref()?;
    let mut t = Table::new([
        "configuration",
        "transport",
        "what it is",
        "bots",
        "idle CPU %",
        "idle RSS MB",
        "RSS peak MB",
        "CPU s per 1,000 msgs",
        "p50 ms",
        "p99 ms",
        "req/min",
        "answered",
        "lost",
        "bots one core holds (capacity)",
    ]);
    t.numeric = vec![3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
    let or_dash = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), num);
    for l in lines {
        t.push(vec![
            l.label.into(),
            l.side.to_string().into(),
            match &l.failed {
                Some(why) => Cell::new(
                    match &l.about {
                        Some(about) => format!("{about} — FAILED: {why}"),
                        None => format!("FAILED: {why}"),
                    },
                    Tone::Bad,
                ),
                None => l.about.clone().unwrap_or_else(|| "–".into()).into(),
            },
            count(l.bots).into(),
            or_dash(l.idle_cpu_pct).into(),
            or_dash(l.idle_rss_mb).into(),
            or_dash(l.rss_peak_mb).into(),
            or_dash(l.cpu_s_per_1000).into(),
            or_dash(l.p50_ms).into(),
            or_dash(l.p99_ms).into(),
            or_dash(l.requests_per_min).into(),
            count(l.replied).into(),
            Cell::new(
                count(l.lost),
                if l.lost > 0 { Tone::Bad } else { Tone::Plain },
            ),
            l.capacity
                .clone()
                .unwrap_or_else(|| "not measured".to_owned())
                .into(),
        ]);
    }
    Some(t)
}

/// Under the framework comparison: what its figures are.
pub const FRAMEWORKS_NOTE: &str = "Every configuration ran the same bot logic (echo, /start, a button's callback answer) under the same load and seed on a fresh mock, in turn (each pinned to the same core where the machine allows: see the environment). Figures are as measured at the bot count shown, not scaled. CPU per 1,000 messages is the active phase's CPU time above the idle phase's rate, per answered message. \"What it is\" is the scenario's [[sut]] about: the pinned versions and the settings that matter. The bots one core holds is a capacity search's result (the SUT pinned to one core; SLO p99 500 ms, nothing lost, CPU ≤ 80 %), where one ran: `tgbench claims --stack … --stack-capacity`.";

/// One sentence over the claims table: machine, RTT, bot counts, scaling.
pub fn claims_context(claims: &ClaimsTable) -> String {
    let c = &claims.context;
    let bots = c
        .bots
        .iter()
        .map(|b| count(*b))
        .collect::<Vec<_>>()
        .join(", ");
    let mut s = format!(
        "Measured on {}; emulated Telegram RTT {}; {} bots per run",
        if c.machine.is_empty() {
            "an unknown machine"
        } else {
            &c.machine
        },
        if c.rtt.is_empty() { "unknown" } else { &c.rtt },
        if bots.is_empty() { "no" } else { &bots },
    );
    if !c.git_revision.is_empty() {
        s.push_str(&format!(" (tgbench {})", c.git_revision));
    }
    if !c.transport.is_empty() {
        let _ = write!(s, "; {}", c.transport);
    }
    if !c.load.is_empty() {
        let _ = write!(s, "; load: {}", c.load);
    }
    s.push('.');
    if c.bots.iter().any(|b| *b != CLAIM_BOTS) {
        let _ = write!(
            s,
            " The claims are for {CLAIM_BOTS} bots: CPU, requests per minute and always-on cost are scaled linearly to {CLAIM_BOTS} bots; memory, latency and capacity are as measured."
        );
    }
    s
}

/// How verdicts are decided, for the reader (the rules: [`crate::claims::verdict`]).
pub const CLAIMS_RULES: &str = "A claimed range holds within ±10 %, a round figure (\"800 MB\", \"~100\", \"$20\") within ±50 %, \"0.5 %\" CPU within ±0.5 points, \"0 %\" up to 0.25 %. A row holds when every configuration of the side a figure speaks about meets it; it does not hold when no configuration of a side does; otherwise it holds only when the configurations that met it are used. Each figure carries its margin (the spread of its runs from three, else the sampler's resolution): a cell holds or fails only when its whole margin does, and is inconclusive (?) when the margin straddles the threshold, as is capacity cut short by a limit of the test machine. Latency is the p50 of the active phase; \"constant CPU\" means at least 1 % of a core in at least 80 % of the idle phase's 5 s windows.";

/// What the cost table assumes.
pub const CLAIMS_COST_NOTE: &str = "Prices are assumptions (reports/prices.toml: on-demand vCPU-hour and GB-hour, serverless per request and per GB-second), not quotes. Always-on: right-sized to the measured p95 CPU and peak RSS with headroom, smallest size 0.25 vCPU / 0.5 GB. Serverless: the serverless configuration's measured bill per message (requests, billed GB-seconds with init, front door) at its traffic; for the always-on webhooks, one invocation per webhook delivery billed for its CPU time and API waits (on paper).";
