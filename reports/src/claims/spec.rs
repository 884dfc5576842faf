//! What is claimed, and on which configurations: the file to edit when a claim, a
//! tolerance, a configuration or a phase changes.
//!
//! The claims come from a design document for a multi-tenant bot platform (aiogram,
//! Python) that argued for webhooks with this table, for 100 active user bots on one
//! server: idle CPU 15-20 % vs 0.5 %, memory 800 MB vs 200 MB, 12,000 vs ~100 requests per
//! minute, latency 1-2 s vs 0.1-0.3 s, max 200 vs 2,000+ bots per server, $100 vs $20 a
//! month; and in its text: polling costs "constant CPU" and has a "1-30 s delay", a webhook
//! is "0 % CPU when idle", 10,000 bots "need horizontal scaling". The README's "The claims,
//! measured" shows the table tgbench gives. A second plan moves the webhook bot to AWS
//! Lambda for "pay-per-request" pricing, "automatic" scaling and "instant" response, for
//! "low-frequency usage patterns": those three are judged on the serverless configuration
//! (the reference function on the emulated Lambda), each with the traffic at which it holds.
//!
//! The names in [`sut`] and [`phase`] are a contract with the shipped scenarios
//! (`scenarios/claims-100.toml`, `scenarios/capacity.toml`, and the framework stacks'
//! `scenarios/claims-aiogram.toml` and `scenarios/stack-*.toml`): a test below parses them
//! and checks that every name the verdicts look for is there.

use std::fmt;

/// The configurations' SUT names: `[[sut]] name` in the claims scenarios, `run.sut.name`
/// and `capacity[].sut` in their results.
pub mod sut {
    /// Long polling with a 30 s `getUpdates` timeout (what aiogram does).
    pub const LONG_POLLING_30S: &str = "long-polling-30s";
    /// Short polling every 500 ms, with Telegram's anti-spin rule.
    pub const SHORT_POLLING_500MS: &str = "short-polling-500ms";
    /// Short polling every 500 ms with the anti-spin rule off in the mock.
    pub const SHORT_POLLING_500MS_NO_ANTISPIN: &str = "short-polling-500ms-no-antispin";
    /// Webhook, replying with a `sendMessage` call.
    pub const WEBHOOK: &str = "webhook";
    /// Webhook, replying in the HTTP response.
    pub const WEBHOOK_REPLY_IN_RESPONSE: &str = "webhook-reply-in-response";
    /// aiogram 3's polling (`scenarios/claims-aiogram.toml`).
    pub const AIOGRAM_POLLING: &str = "aiogram-polling";
    /// aiogram 3's webhook (`scenarios/claims-aiogram.toml`).
    pub const AIOGRAM_WEBHOOK: &str = "aiogram-webhook";
    /// python-telegram-bot's polling, every bot in one process
    /// (`scenarios/stack-python-telegram-bot.toml`, as are the Gunicorn ones).
    pub const PTB_POLLING: &str = "ptb-polling";
    /// Flask under Gunicorn, 1 sync worker, python-telegram-bot handling the update.
    pub const PTB_GUNICORN_SYNC_1: &str = "ptb-gunicorn-sync-1";
    /// The same with 2 sync workers.
    pub const PTB_GUNICORN_SYNC_2: &str = "ptb-gunicorn-sync-2";
    /// The same with 4 sync workers.
    pub const PTB_GUNICORN_SYNC_4: &str = "ptb-gunicorn-sync-4";
    /// The same with 2 gthread workers of 8 threads.
    pub const PTB_GUNICORN_GTHREAD: &str = "ptb-gunicorn-gthread";
    /// grammY's polling (`scenarios/stack-grammy.toml`).
    pub const GRAMMY_POLLING: &str = "grammy-polling";
    /// grammY's webhook (`scenarios/stack-grammy.toml`).
    pub const GRAMMY_WEBHOOK: &str = "grammy-webhook";
    /// telegraf's polling (`scenarios/stack-telegraf.toml`).
    pub const TELEGRAF_POLLING: &str = "telegraf-polling";
    /// telegraf's webhook (`scenarios/stack-telegraf.toml`).
    pub const TELEGRAF_WEBHOOK: &str = "telegraf-webhook";
    /// teloxide's polling (`scenarios/stack-teloxide.toml`).
    pub const TELOXIDE_POLLING: &str = "teloxide-polling";
    /// teloxide's webhook (`scenarios/stack-teloxide.toml`).
    pub const TELOXIDE_WEBHOOK: &str = "teloxide-webhook";
    /// The reference function (`webhook-lambda`) on the emulated AWS Lambda, with a short
    /// keep-warm so that cold starts show in a short run.
    pub const SERVERLESS: &str = "serverless";
}

/// The phases of the claims scenarios: `[[phase]] name`, `run.phase` in their results.
pub mod phase {
    /// Bots connected, no user messages.
    pub const IDLE: &str = "idle";
    /// The scenario's message load.
    pub const ACTIVE: &str = "active";
}

/// The bot count the claims are stated for ("100 active user bots on one server").
pub const CLAIM_BOTS: u64 = 100;
/// The platform size of the horizontal-scaling claim.
pub const SCALING_BOTS: u64 = 10_000;
/// "Constant CPU": the idle phase is cut into windows of this many seconds (long enough
/// that the kernel's 10 ms CPU ticks do not quantise a sample to 0 or 4 %)…
pub const CONSTANT_CPU_WINDOW_S: f64 = 5.0;
/// …and a window counts as busy at or above this mean CPU (% of one core, for
/// [`CLAIM_BOTS`] bots). The claim holds when at least 80 % of the windows are busy.
pub const CONSTANT_CPU_MIN_PCT: f64 = 1.0;

/// Which side of the claims table a configuration is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Polling,
    Webhook,
    /// A webhook function on a (emulated) serverless platform.
    Serverless,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Polling => "polling",
            Side::Webhook => "webhook",
            Side::Serverless => "serverless",
        })
    }
}

/// A configuration measured for the claims: the SUT name its runs carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// `run.sut.name` and `capacity[].sut` of its runs (one of [`sut`]).
    pub name: &'static str,
    pub side: Side,
    /// Column header.
    pub label: &'static str,
    /// As reasons name it.
    pub short: &'static str,
    /// How "holds only when …" names it.
    pub when: &'static str,
    /// Shown only when runs of it exist (a framework stack of `tgbench claims --stack`).
    pub optional: bool,
}

/// The configurations, in column order.
pub const CONFIGS: &[Config] = &[
    Config {
        name: sut::LONG_POLLING_30S,
        side: Side::Polling,
        label: "long polling 30 s",
        short: "long polling",
        when: "polling is long polling (30 s timeout)",
        optional: false,
    },
    Config {
        name: sut::SHORT_POLLING_500MS,
        side: Side::Polling,
        label: "short polling 500 ms (anti-spin, as Telegram)",
        short: "short polling",
        when: "polling is short polling (500 ms) with Telegram's anti-spin rule",
        optional: false,
    },
    Config {
        name: sut::SHORT_POLLING_500MS_NO_ANTISPIN,
        side: Side::Polling,
        label: "short polling 500 ms, no anti-spin",
        short: "short polling, no anti-spin",
        when: "polling is short polling (500 ms) without anti-spin",
        optional: false,
    },
    Config {
        name: sut::WEBHOOK,
        side: Side::Webhook,
        label: "webhook",
        short: "webhook",
        when: "the webhook replies with a sendMessage call",
        optional: false,
    },
    Config {
        name: sut::WEBHOOK_REPLY_IN_RESPONSE,
        side: Side::Webhook,
        label: "webhook, reply in response",
        short: "webhook, reply in response",
        when: "the webhook replies in the HTTP response",
        optional: false,
    },
    Config {
        name: sut::SERVERLESS,
        side: Side::Serverless,
        label: "serverless webhook (emulated Lambda)",
        short: "serverless",
        when: "the webhook runs as a function on the emulated Lambda",
        optional: false,
    },
    Config {
        name: sut::AIOGRAM_POLLING,
        side: Side::Polling,
        label: "aiogram polling",
        short: "aiogram polling",
        when: "the bots run on aiogram's polling",
        optional: true,
    },
    Config {
        name: sut::AIOGRAM_WEBHOOK,
        side: Side::Webhook,
        label: "aiogram webhook",
        short: "aiogram webhook",
        when: "the bots run on aiogram's webhook",
        optional: true,
    },
    Config {
        name: sut::PTB_POLLING,
        side: Side::Polling,
        label: "python-telegram-bot polling",
        short: "python-telegram-bot polling",
        when: "the bots run on python-telegram-bot's polling",
        optional: true,
    },
    Config {
        name: sut::PTB_GUNICORN_SYNC_1,
        side: Side::Webhook,
        label: "Flask + Gunicorn, 1 sync worker",
        short: "Flask + Gunicorn, 1 sync worker",
        when: "the webhook is Flask under Gunicorn with 1 sync worker",
        optional: true,
    },
    Config {
        name: sut::PTB_GUNICORN_SYNC_2,
        side: Side::Webhook,
        label: "Flask + Gunicorn, 2 sync workers",
        short: "Flask + Gunicorn, 2 sync workers",
        when: "the webhook is Flask under Gunicorn with 2 sync workers",
        optional: true,
    },
    Config {
        name: sut::PTB_GUNICORN_SYNC_4,
        side: Side::Webhook,
        label: "Flask + Gunicorn, 4 sync workers",
        short: "Flask + Gunicorn, 4 sync workers",
        when: "the webhook is Flask under Gunicorn with 4 sync workers",
        optional: true,
    },
    Config {
        name: sut::PTB_GUNICORN_GTHREAD,
        side: Side::Webhook,
        label: "Flask + Gunicorn, 2 gthread workers x 8",
        short: "Flask + Gunicorn, 2 gthread workers x 8",
        when: "the webhook is Flask under Gunicorn with 2 gthread workers of 8 threads",
        optional: true,
    },
    Config {
        name: sut::GRAMMY_POLLING,
        side: Side::Polling,
        label: "grammY polling",
        short: "grammY polling",
        when: "the bots run on grammY's polling",
        optional: true,
    },
    Config {
        name: sut::GRAMMY_WEBHOOK,
        side: Side::Webhook,
        label: "grammY webhook",
        short: "grammY webhook",
        when: "the bots run on grammY's webhook",
        optional: true,
    },
    Config {
        name: sut::TELEGRAF_POLLING,
        side: Side::Polling,
        label: "telegraf polling",
        short: "telegraf polling",
        when: "the bots run on telegraf's polling",
        optional: true,
    },
    Config {
        name: sut::TELEGRAF_WEBHOOK,
        side: Side::Webhook,
        label: "telegraf webhook",
        short: "telegraf webhook",
        when: "the bots run on telegraf's webhook",
        optional: true,
    },
    Config {
        name: sut::TELOXIDE_POLLING,
        side: Side::Polling,
        label: "teloxide polling",
        short: "teloxide polling",
        when: "the bots run on teloxide's polling",
        optional: true,
    },
    Config {
        name: sut::TELOXIDE_WEBHOOK,
        side: Side::Webhook,
        label: "teloxide webhook",
        short: "teloxide webhook",
        when: "the bots run on teloxide's webhook",
        optional: true,
    },
];

/// The configuration named `name`.
///
/// # Panics
/// When `name` is none of [`CONFIGS`]: cells are only ever made for those.
pub fn config(name: &str) -> &'static Config {
    CONFIGS
        .iter()
        .find(|c| c.name == name)
        .expect("cells name known configurations")
}

/// What a claim states.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Claimed {
    Range(f64, f64),
    About(f64),
    AtLeast(f64),
    AtMost(f64),
}

/// A claimed figure with its tolerance `max(rel·x, abs)` (verdict rule 1, in
/// [`super::verdict`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figure {
    pub claimed: Claimed,
    pub rel: f64,
    pub abs: f64,
    /// As the claim words it: "15-20 %".
    pub text: &'static str,
}

impl Figure {
    pub const fn new(claimed: Claimed, rel: f64, abs: f64, text: &'static str) -> Self {
        Self {
            claimed,
            rel,
            abs,
            text,
        }
    }
}

/// What is measured for a claim (how, in [`super::measure`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Mean CPU of the idle phase, % of one core, scaled to [`CLAIM_BOTS`].
    IdleCpu,
    /// Peak RSS over the idle and active phases, MB.
    Memory,
    /// Requests per minute of the active phase (SUT → mock plus deliveries), scaled.
    RequestsPerMin,
    /// p50 latency of the active phase, ms.
    LatencyP50,
    /// Largest bot count meeting the SLO in the capacity search.
    MaxBots,
    /// Always-on monthly cost of the active phase's usage, scaled, assumed prices.
    MonthlyCost,
    /// Share (%) of idle [`CONSTANT_CPU_WINDOW_S`] windows at or above
    /// [`CONSTANT_CPU_MIN_PCT`] (scaled).
    ConstantCpu,
    /// Servers of the price file's size needed for [`SCALING_BOTS`] bots.
    ServersForScaling,
    /// Serverless monthly cost ÷ the cheapest always-on configuration's, at the active
    /// phase's traffic (scaled); the traffic where they meet in the detail.
    PayPerRequest,
    /// Requests throttled at the concurrency limit in the active phase; the peak
    /// concurrency and the traffic that would reach the limit in the detail.
    AutoScaling,
    /// p99 latency of the active phase's cold updates (all updates when none was cold), ms;
    /// the warm p99 and the traffic below which most messages are cold in the detail.
    ResponseInstant,
}

/// One claim of the design document.
#[derive(Debug, Clone, Copy)]
pub struct ClaimSpec {
    pub claim: &'static str,
    pub metric: Metric,
    pub polling: Option<Figure>,
    pub webhook: Option<Figure>,
    pub serverless: Option<Figure>,
    /// A figure judged on every configuration, whatever its side.
    pub any: Option<Figure>,
}

use Claimed::{About, AtLeast, AtMost, Range};

/// The claims, one row each, with their tolerances (verdict rule 1): ±10 % for ranges and
/// for the 12,000 req/min model, ±50 % for round figures ("800 MB", "~100", "$20"), ±0.5
/// percentage points for "0.5 %" CPU and +0.25 points for "0 %".
pub const CLAIMS: &[ClaimSpec] = &[
    ClaimSpec {
        claim: "CPU usage when idle: polling 15-20 %, webhook 0.5 %",
        metric: Metric::IdleCpu,
        polling: Some(Figure::new(Range(15.0, 20.0), 0.10, 0.0, "15-20 %")),
        webhook: Some(Figure::new(About(0.5), 0.0, 0.5, "0.5 %")),
        serverless: None,
        any: None,
    },
    ClaimSpec {
        claim: "Memory: polling 800 MB, webhook 200 MB",
        metric: Metric::Memory,
        polling: Some(Figure::new(About(800.0), 0.5, 0.0, "800 MB")),
        webhook: Some(Figure::new(About(200.0), 0.5, 0.0, "200 MB")),
        serverless: None,
        any: None,
    },
    ClaimSpec {
        claim: "Network requests per minute: polling 12,000, webhook ~100",
        metric: Metric::RequestsPerMin,
        polling: Some(Figure::new(About(12_000.0), 0.10, 0.0, "12,000/min")),
        webhook: Some(Figure::new(About(100.0), 0.5, 0.0, "~100/min")),
        serverless: None,
        any: None,
    },
    ClaimSpec {
        claim: "Response latency: polling 1-2 s, webhook 0.1-0.3 s",
        metric: Metric::LatencyP50,
        polling: Some(Figure::new(Range(1000.0, 2000.0), 0.10, 0.0, "1-2 s")),
        webhook: Some(Figure::new(Range(100.0, 300.0), 0.10, 0.0, "0.1-0.3 s")),
        serverless: None,
        any: None,
    },
    ClaimSpec {
        claim: "Max bots per server: polling 200, webhook 2,000+",
        metric: Metric::MaxBots,
        polling: Some(Figure::new(About(200.0), 0.5, 0.0, "200")),
        webhook: Some(Figure::new(AtLeast(2000.0), 0.0, 0.0, "2,000+")),
        serverless: None,
        any: None,
    },
    ClaimSpec {
        claim: "Server cost: polling $100/month, webhook $20/month",
        metric: Metric::MonthlyCost,
        polling: Some(Figure::new(About(100.0), 0.5, 0.0, "$100/mo")),
        webhook: Some(Figure::new(About(20.0), 0.5, 0.0, "$20/mo")),
        serverless: None,
        any: None,
    },
    ClaimSpec {
        claim: "Polling costs \"constant CPU\"",
        metric: Metric::ConstantCpu,
        polling: Some(Figure::new(
            AtLeast(80.0),
            0.0,
            0.0,
            "≥ 1 % CPU in ≥ 80 % of 5 s idle windows",
        )),
        webhook: None,
        serverless: None,
        any: None,
    },
    ClaimSpec {
        claim: "Polling has a \"1-30 s delay\"",
        metric: Metric::LatencyP50,
        polling: Some(Figure::new(Range(1000.0, 30_000.0), 0.10, 0.0, "1-30 s")),
        webhook: None,
        serverless: None,
        any: None,
    },
    ClaimSpec {
        claim: "Webhook is \"0 % CPU when idle\"",
        metric: Metric::IdleCpu,
        polling: None,
        webhook: Some(Figure::new(AtMost(0.0), 0.0, 0.25, "0 %")),
        serverless: None,
        any: None,
    },
    ClaimSpec {
        claim: "10,000 bots \"need horizontal scaling\"",
        metric: Metric::ServersForScaling,
        polling: None,
        webhook: None,
        serverless: None,
        any: Some(Figure::new(AtLeast(2.0), 0.0, 0.0, "≥ 2 servers")),
    },
    ClaimSpec {
        claim: "Serverless: pay-per-request costs less",
        metric: Metric::PayPerRequest,
        polling: None,
        webhook: None,
        serverless: Some(Figure::new(
            AtMost(1.0),
            0.0,
            0.0,
            "≤ 1 × the cheapest always-on cost",
        )),
        any: None,
    },
    ClaimSpec {
        claim: "Serverless: scaling is automatic",
        metric: Metric::AutoScaling,
        polling: None,
        webhook: None,
        serverless: Some(Figure::new(AtMost(0.0), 0.0, 0.0, "no request throttled")),
        any: None,
    },
    ClaimSpec {
        claim: "Serverless: response is instant",
        metric: Metric::ResponseInstant,
        polling: None,
        webhook: None,
        serverless: Some(Figure::new(
            AtMost(300.0),
            0.10,
            0.0,
            "p99 ≤ 0.3 s, cold starts included",
        )),
        any: None,
    },
];

impl ClaimSpec {
    /// The figure a configuration on `side` is judged by, if the claim speaks about it.
    pub fn figure_for(&self, side: Side) -> Option<Figure> {
        self.any.or(match side {
            Side::Polling => self.polling,
            Side::Webhook => self.webhook,
            Side::Serverless => self.serverless,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_claim_of_the_design_document_has_a_row() {
        assert_eq!(CLAIMS.len(), 13);
        for c in CLAIMS {
            assert!(
                c.polling.is_some()
                    || c.webhook.is_some()
                    || c.serverless.is_some()
                    || c.any.is_some()
            );
        }
        for (i, c) in CONFIGS.iter().enumerate() {
            assert!(
                CONFIGS[i + 1..].iter().all(|o| o.name != c.name),
                "{} twice",
                c.name
            );
            assert_eq!(config(c.name), c);
        }
    }

    /// The `[[sut]]` and `[[phase]]` names of a shipped scenario.
    fn names_in(toml_text: &str) -> (Vec<String>, Vec<String>) {
        let doc: toml::Table = toml::from_str(toml_text).expect("a shipped scenario parses");
        let names = |key: &str| -> Vec<String> {
            doc.get(key)
                .and_then(toml::Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|t| t.get("name")?.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        (names("sut"), names("phase"))
    }

    const CLAIMS_100: &str = include_str!("../../../scenarios/claims-100.toml");
    const CAPACITY: &str = include_str!("../../../scenarios/capacity.toml");
    /// The scenarios `tgbench claims --stack` adds (the optional configurations).
    const STACKS: &[&str] = &[
        include_str!("../../../scenarios/claims-aiogram.toml"),
        include_str!("../../../scenarios/stack-python-telegram-bot.toml"),
        include_str!("../../../scenarios/stack-grammy.toml"),
        include_str!("../../../scenarios/stack-telegraf.toml"),
        include_str!("../../../scenarios/stack-teloxide.toml"),
    ];

    #[test]
    fn the_shipped_claims_scenarios_hold_every_name_the_verdicts_use() {
        let (suts, phases) = names_in(CLAIMS_100);
        let stacks: Vec<_> = STACKS.iter().map(|t| names_in(t)).collect();
        let stack_suts: Vec<String> = stacks.iter().flat_map(|(s, _)| s.clone()).collect();
        for c in CONFIGS {
            let shipped = if c.optional { &stack_suts } else { &suts };
            assert!(
                shipped.iter().any(|s| s == c.name),
                "configuration {:?} is not a [[sut]] of its claims scenario: {shipped:?}",
                c.name
            );
        }
        // And no SUT runs in a claims scenario without a column to show it.
        for s in suts.iter().chain(&stack_suts) {
            assert!(CONFIGS.iter().any(|c| c.name == s), "{s} has no column");
        }
        for phases in std::iter::once(&phases).chain(stacks.iter().map(|(_, p)| p)) {
            assert_eq!(phases, &[phase::IDLE, phase::ACTIVE]);
        }
    }

    #[test]
    fn the_capacity_scenario_searches_configurations_of_the_table() {
        let (suts, _) = names_in(CAPACITY);
        assert_eq!(suts, [sut::LONG_POLLING_30S, sut::WEBHOOK]);
    }
}
