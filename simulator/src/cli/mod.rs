//! The `tgbench` command line: the clap types, their help and the exit codes (here), and
//! [`run_cli`] (in `dispatch`), which does what they say and returns the process exit code.
//! The binary only parses and calls it, so tests can too.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

mod dispatch;
mod trace;

pub use dispatch::{run_cli, run_cli_with};

/// Exit codes of `tgbench` (also in `tgbench --help`).
pub mod exit {
    /// Everything ran, every SLO held (or no SLO was set).
    pub const OK: u8 = 0;
    /// The run completed but a SLO was missed (or `compare` found a regression).
    pub const SLO_FAILED: u8 = 1;
    /// Bad input: a scenario error, a refused preflight, a bad flag, a missing binary.
    pub const BAD_INPUT: u8 = 2;
    /// A SUT failed: did not start, not ready in time, or died during the run.
    pub const SUT_FAILED: u8 = 3;
    /// tgbench itself failed (cannot write results, cannot bind).
    pub const HARNESS: u8 = 4;
    /// Interrupted by Ctrl-C (SIGINT) or SIGTERM; results so far are written, incomplete.
    pub const INTERRUPTED: u8 = 130;
}

const EXIT_CODES: &str = "\
Exit codes:
  0    ok: the run completed and every SLO held
  1    a SLO was missed (compare: a regression)
  2    bad input: scenario error, preflight refused, bad flag, missing reference binary
  3    a SUT failed: did not start, was not ready in time, or died during the run
  4    tgbench itself failed (e.g. cannot write results)
  130  interrupted (Ctrl-C or SIGTERM): results so far written, marked incomplete";

const ABOUT: &str =
    "Measure Telegram bot servers (long polling, webhook, yours) against an emulated Telegram";

const LONG_ABOUT: &str = "\
tgbench runs scenario files: it starts an emulated Telegram (mock-telegram, embedded), starts
each system under test (SUT) with the environment contract, drives an open-model load from a
seeded schedule, samples the SUT's CPU and memory, and writes results.json plus a Markdown
summary on stdout.

The SUT environment contract (for `kind = \"command\"`, any bot server in any language):
  TGBENCH_API_URL      base URL of the emulated Bot API (use it instead of api.telegram.org)
  TGBENCH_TOKENS_FILE  one bot token a line
  TGBENCH_LISTEN       host:port a webhook server binds
  TGBENCH_PUBLIC_URL   the URL base it registers with setWebhook

Shipped scenarios are built in; SCENARIO is a path or one of their names:
  smoke, idle-100, steady-100, burst-100, claims-100, capacity, harness-cost,
  faults-sut-kill, faults-sut-stop, faults-telegram-outage, faults-telegram-errors,
  faults-telegram-slow, serverless-low-frequency
Every scenario key is documented in scenarios/README.md.";

const EXAMPLES: &str = "\
Examples:
  tgbench claims --quick                    # the published claims, measured (~1.5 min)
  tgbench run smoke                         # ≤ 20 s: both reference transports, exact counts
  tgbench run scenarios/steady-100.toml --out results/steady
  tgbench validate my-scenario.toml         # check a file without running anything
  tgbench trace stats my-trace.csv          # what a trace of real traffic holds ([load] model = \"replay\")
  tgbench capacity capacity                 # max bots per server, 100 → 100,000
  tgbench report results/*/results.json --out report/
  tgbench report --claims results/claims-*/*/results.json   # judge saved claims runs again
  tgbench compare baseline.json results/steady/results.json --max-regression p99=10%,cpu=15%";

/// `tgbench`: scenario files in, results out.
#[derive(Debug, Parser)]
#[command(
    name = "tgbench",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXIT_CODES,
    after_long_help = format!("{EXAMPLES}\n\n{EXIT_CODES}"),
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Live metrics for Prometheus, on `run`, `capacity` and `claims` (docs/metrics.md).
#[derive(Debug, Clone, clap::Args)]
pub struct MetricsArgs {
    /// Serve GET /metrics (OpenMetrics, or Prometheus text when asked) on ADDR while
    /// running, e.g. 127.0.0.1:9477; series per SUT and phase (docs/metrics.md). Off by
    /// default. It serves counts only, without a token: keep it on a trusted network.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// With --metrics-listen: once done, keep serving until one more scrape has read the
    /// final figures, for at most SECS (your scrape interval or more; 0: exit at once).
    #[arg(long, value_name = "SECS", default_value_t = 15)]
    pub metrics_linger: u64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario: every SUT in turn under the same load; results.json + summary.
    #[command(
        long_about = "Run a scenario: for every [[sut]] (and repetition) a fresh mock, the SUT started \
and waited on until ready, warm-up, the measured window (or each [[phase]]), a drain; then \
results.json (atomically) and a Markdown summary on stdout. Ctrl-C stops the load, stops the \
SUT (SIGTERM, then SIGKILL to its process group) and writes what was measured, marked incomplete.",
        after_long_help = format!("Examples:\n  tgbench run smoke\n  tgbench run scenarios/claims-100.toml --out results/claims\n\n{EXIT_CODES}")
    )]
    Run {
        /// A scenario file, or the name of a built-in scenario (smoke, steady-100, …).
        scenario: String,
        /// Results folder [default: results/<name>-<UTC time>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress line, even on a terminal.
        #[arg(long)]
        no_progress: bool,
        #[command(flatten)]
        metrics: MetricsArgs,
    },
    /// Step the bot count until the SLO breaks: the largest count that held, per SUT.
    #[command(
        long_about = "Step the number of bots through [capacity] steps (default 100, 200, 500, 1000, \
2000, 5000, 10000, 20000) at the scenario's per-bot load, until a step misses the SLO \
([slo] p99_ms, max_lost, cpu_pct of the SUT's cores, rss_mb). Records the whole curve and the \
largest count that held. A step this machine cannot host (open files, ephemeral ports, memory) \
or where the harness was the bottleneck ends the curve as a machine limit, named.",
        after_long_help = format!("Example:\n  tgbench capacity capacity --out results/capacity\n\n{EXIT_CODES}")
    )]
    Capacity {
        /// A scenario file, or the name of a built-in scenario.
        scenario: String,
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        no_progress: bool,
        #[command(flatten)]
        metrics: MetricsArgs,
    },
    /// Check a scenario file (every key, every value) without running anything.
    Validate {
        /// A scenario file, or the name of a built-in scenario.
        scenario: String,
    },
    /// Measure the published polling-vs-webhook claims and write a verdict report.
    #[command(
        long_about = "Measure the published claims about long polling versus webhooks (idle CPU, \
memory, requests per minute, latency, max bots per server, cost, \"constant CPU\", \"1-30 s \
delay\", \"10,000 bots need horizontal scaling\") on the embedded mock and the reference \
servers, and write report.md and report.html with a verdict per claim.

It runs the built-in claims-100 scenario (five configurations: long polling 30 s, short polling \
500 ms with Telegram's anti-spin rule on and off, webhook, webhook with the reply in the \
response; 100 bots, 15 s idle then 12 s active at 6 messages per bot per minute, each three \
times) and a capacity search of long polling and webhook at 200, 2,000 and 10,000 bots and on \
to 100,000, until the SUT breaks its SLO or a named limit of the machine stops it. Each figure \
carries its margin: the spread of its three runs (--repeat), or the CPU sampler's resolution \
with one run; a verdict whose margin straddles its threshold is \"inconclusive\". About 10-15 \
minutes on 2 cores; --quick uses one run, 5 s idle and 4 s active, and one capacity step of \
2,000 bots (about a minute): a check that everything works, not a measurement. The emulated Telegram is 50 ms +- 10 ms away.",
        after_long_help = format!("Examples:\n  tgbench claims --quick\n  tgbench claims --out results/claims\n  tgbench claims --repeat 5           # tighter margins, about twice as long\n  tgbench claims --stack aiogram      # adds aiogram 3 columns (sets up a Python venv once)\n  tgbench claims --stack aiogram --bots 2000\n  tgbench claims --stack grammy,telegraf\n  tgbench claims --stack all          # every framework of examples/ (Python, Node.js, cargo)\n  tgbench claims --stack grammy --stack-capacity   # and the bots one core holds on grammY\n  tgbench claims --repeat 1 --stack all --stack-capacity --capacity-steps 500,1000,2000,5000,10000\n  tgbench claims --quick --load scenarios/loads/daily-zipf.toml   # an evening peak, skewed bots\n\n{EXIT_CODES}")
    )]
    Claims {
        /// Fewer bots and short windows: a check that everything works, not a measurement.
        #[arg(long)]
        quick: bool,
        /// Bots in the idle and active runs [default: 100]; the claims are stated for 100,
        /// so CPU, requests and cost are scaled to 100 in the verdicts.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=20_000))]
        bots: Option<u64>,
        /// Runs of each configuration [default: 3, or 1 with --quick]. From 3 runs each
        /// figure's margin is the runs' spread (a 95 % bootstrap interval of the median);
        /// with fewer, only the sampler's resolution.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=20))]
        repeat: Option<u32>,
        /// Which servers: the Rust references always, plus each framework named (comma
        /// separated, or `all`); each is set up once from its pinned versions.
        #[arg(long, value_enum, value_delimiter = ',', default_value = "rust")]
        stack: Vec<crate::claims::Stack>,
        /// Also search each framework's capacity (the bots one server core holds under the
        /// capacity SLO: p99 500 ms, nothing lost, CPU 80 % of the core it is pinned to),
        /// stepping the bots as the reference servers' search does. Slow: a Python stack
        /// takes minutes per step at thousands of bots.
        #[arg(long, requires = "stack")]
        stack_capacity: bool,
        /// The bot counts the capacity searches step through (comma separated, ascending),
        /// instead of the plan's (200, 2000, 10000, 20000, 50000, 100000; 2000 with
        /// --quick), e.g. 500,1000,2000,5000,10000 to find where each framework stops
        /// between the claimed counts.
        #[arg(long, value_name = "N,N,...", value_delimiter = ',', value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        capacity_steps: Option<Vec<u64>>,
        /// A price file for the cost rows (TOML; see reports/prices.toml for the keys).
        #[arg(long)]
        prices: Option<PathBuf>,
        /// Another load for the claims: a TOML file holding one `[load]` table, with the
        /// keys and rules of a scenario's `[load]` (scenarios/README.md), e.g. a daily curve
        /// with Zipf skew (scenarios/loads/daily-zipf.toml). It replaces the load of the
        /// warm-up and the active phase; the idle phase stays idle, the SUTs, SLO and seed
        /// stay. A `diurnal` day_s is given for claims-100's 60 s active phase and shrinks
        /// with it (12 s, 4 s with --quick). The report's context line names the file.
        #[arg(long, value_name = "FILE")]
        load: Option<PathBuf>,
        /// Results and report folder [default: results/claims-<UTC time>].
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        no_progress: bool,
        #[command(flatten)]
        metrics: MetricsArgs,
    },
    /// Markdown and self-contained HTML reports from one or more results files.
    Report {
        /// results.json files (several are compared side by side).
        #[arg(required = true)]
        results: Vec<PathBuf>,
        /// Folder for report.md and report.html.
        #[arg(long, default_value = "report")]
        out: PathBuf,
        /// Judge the claims again: the files are a `tgbench claims` folder's results
        /// (claims/results.json, capacity/results.json, …); the verdict table goes on top,
        /// with today's rules and prices.
        #[arg(long)]
        claims: bool,
        /// A price file for the claims' cost rows (with --claims).
        #[arg(long, requires = "claims")]
        prices: Option<PathBuf>,
    },
    /// Traces of real traffic: what one holds, one made from a platform's log, or an
    /// example generated here (replay one with `[load] model = "replay"`).
    #[command(subcommand)]
    Trace(TraceCommand),
    /// Print the bot tokens a scenario's mock will have, one a line (the format of
    /// TGBENCH_TOKENS_FILE).
    #[command(
        long_about = "Print the bot tokens a scenario's mock will have, one a line: the format of \
TGBENCH_TOKENS_FILE. Tokens are derived from the scenario's seed and the bot's number, so a SUT \
that tgbench does not start (kind = \"external\", e.g. replicas in a Kubernetes cluster) can be \
given its tokens before the run: an init container runs `tgbench tokens scenario.toml --out \
/tokens/tokens.txt` on the same scenario file. They are test tokens of an emulated Telegram, \
not secrets; the control API stays behind its control token.",
        after_help = "Examples:\n  tgbench tokens scenarios/steady-100.toml\n  tgbench tokens my.toml --bots 2000 --out tokens.txt"
    )]
    Tokens {
        /// A scenario file, or the name of a built-in scenario.
        scenario: String,
        /// How many bots [default: the scenario's `[telegram] bots`]. The first N tokens of
        /// any larger count are the same, so a capacity search's largest step serves every step.
        #[arg(long)]
        bots: Option<u64>,
        /// Write the tokens to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Compare two results files; exit 1 when CURRENT regressed beyond the thresholds.
    Compare {
        baseline: PathBuf,
        current: PathBuf,
        /// Limits per metric, e.g. `p99=10%,cpu=15%,rss=10%` (N% relative, N absolute, off).
        #[arg(long, default_value = "")]
        max_regression: String,
        /// markdown, or github (workflow annotations, then the table).
        #[arg(long, default_value = "markdown")]
        format: String,
    },
}

/// `tgbench trace …`. A trace is CSV (`t,bot,chat,kind`) or JSON Lines, one message per
/// row in time order; scenarios/README.md documents the columns.
#[derive(Debug, Subcommand)]
pub enum TraceCommand {
    /// What a trace holds: rows, span, rate by hour, how skewed the bots are, the gaps
    /// between one bot's messages; every row checked (file, line, column).
    Stats { file: PathBuf },
    /// A platform's log (CSV with a header) to a trace: rows sorted by time, offsets from the
    /// first, bot and chat keys anonymised (hashed), so the trace can leave the platform.
    #[command(
        after_help = "Example:\n  tgbench trace from-log updates.csv --time received_at --bot bot_id --chat chat_id --kind update_type --out trace.csv\n\nTimes: Unix seconds or milliseconds, or RFC 3339 (2026-12-06T20:15:03Z). A kind of `callback` or `callback_query` is a button press; anything else a message."
    )]
    FromLog {
        /// The log: CSV with a header row.
        log: PathBuf,
        /// The column with each update's time.
        #[arg(long)]
        time: String,
        /// The column with the bot (any id or name).
        #[arg(long)]
        bot: String,
        /// The column with the chat or user.
        #[arg(long)]
        chat: String,
        /// The column with the update's type, if any.
        #[arg(long)]
        kind: Option<String>,
        /// Where the trace goes.
        #[arg(long)]
        out: PathBuf,
    },
    /// An example trace made by tgbench itself (no data from anywhere): a day of a few bots'
    /// traffic with an evening peak, quiet nights and Zipf-skewed bots.
    Generate {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=20_000))]
        bots: u64,
        /// Hours of traffic.
        #[arg(long, default_value_t = 24.0)]
        hours: f64,
        /// Mean messages per bot per minute over the day.
        #[arg(long, default_value_t = 0.25)]
        rate: f64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

#[cfg(test)]
mod tests {
    /// `--help` names every built-in scenario (a scenario added later must be added there).
    #[test]
    fn the_long_help_names_every_built_in_scenario() {
        for (name, _) in crate::scenario::EMBEDDED {
            assert!(
                LONG_ABOUT.contains(&format!(" {name},"))
                    || LONG_ABOUT.contains(&format!(" {name}\n")),
                "{name} is built in but not in tgbench --help"
            );
        }
    }

    use super::*;

    /// `--capacity-steps` takes a comma-separated list, and one out of order is refused as
    /// bad input before anything runs.
    #[test]
    fn claims_capacity_steps_are_a_list_in_increasing_order() {
        let cli = Cli::try_parse_from(["tgbench", "claims", "--capacity-steps", "500,1000,5000"])
            .unwrap();
        let Command::Claims { capacity_steps, .. } = cli.command else {
            panic!("not claims")
        };
        assert_eq!(capacity_steps, Some(vec![500, 1000, 5000]));
        assert!(Cli::try_parse_from(["tgbench", "claims", "--capacity-steps", "0"]).is_err());
        let out_of_order =
            Cli::try_parse_from(["tgbench", "claims", "--capacity-steps", "500,200"]).unwrap();
        assert_eq!(run_cli(out_of_order), exit::BAD_INPUT);
    }

    #[test]
    fn run_capacity_and_claims_take_metrics_listen() {
        for command in [
            vec!["tgbench", "run", "smoke"],
            vec!["tgbench", "capacity", "capacity"],
            vec!["tgbench", "claims"],
        ] {
            let parse = |extra: &[&str]| {
                let mut args = command.clone();
                args.extend_from_slice(extra);
                Cli::try_parse_from(args)
            };
            let metrics = |cli: Cli| match cli.command {
                Command::Run { metrics, .. }
                | Command::Capacity { metrics, .. }
                | Command::Claims { metrics, .. } => metrics,
                other => panic!("parsed as {other:?}"),
            };
            let off = metrics(parse(&[]).unwrap());
            assert_eq!((off.metrics_listen, off.metrics_linger), (None, 15));
            let on = metrics(
                parse(&[
                    "--metrics-listen",
                    "127.0.0.1:9477",
                    "--metrics-linger",
                    "2",
                ])
                .unwrap(),
            );
            assert_eq!(on.metrics_listen, Some("127.0.0.1:9477".parse().unwrap()));
            assert_eq!(on.metrics_linger, 2);
            assert!(
                parse(&["--metrics-listen", "localhost"]).is_err(),
                "{command:?}"
            );
        }
    }

    #[test]
    fn a_metrics_address_in_use_is_a_harness_failure_before_anything_runs() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let code = run_cli(Cli::parse_from([
            "tgbench",
            "run",
            "no-such-scenario",
            "--metrics-listen",
            &addr,
        ]));
        assert_eq!(code, exit::HARNESS);
    }

    #[test]
    fn report_claims_judges_saved_claims_results_again() {
        use tgbench_reports::results::{Results, Run, SutInfo};
        let dir = tempfile::tempdir().unwrap();
        // Two configurations' idle phases, as `tgbench claims` saves them.
        let mut results = Results {
            schema_version: 1,
            complete: true,
            ..Default::default()
        };
        for (name, kind, rss) in [
            ("long-polling-30s", "polling", 12.0),
            ("webhook", "webhook", 9.0),
        ] {
            let mut r = Run {
                sut: SutInfo {
                    name: name.into(),
                    kind: kind.into(),
                    ..Default::default()
                },
                phase: Some("idle".into()),
                bots: 100,
                duration_s: 15.0,
                complete: true,
                ..Default::default()
            };
            r.memory = Some(tgbench_reports::results::Memory {
                rss_peak_mb: rss,
                ..Default::default()
            });
            results.runs.push(r);
        }
        let file = dir.path().join("claims").join("results.json");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, serde_json::to_string(&results).unwrap()).unwrap();
        let report = |extra: &[&str]| {
            let out = dir.path().join(format!("out{}", extra.len()));
            let mut args = vec!["tgbench", "report", file.to_str().unwrap()];
            args.extend_from_slice(extra);
            args.extend(["--out", out.to_str().unwrap()]);
            assert_eq!(run_cli(Cli::parse_from(args)), exit::OK);
            std::fs::read_to_string(out.join("report.md")).unwrap()
        };
        let judged = report(&["--claims"]);
        assert!(judged.contains("## Claims under test"), "{judged}");
        assert!(
            judged.contains("| Memory: polling 800 MB, webhook 200 MB | ✗ 12.0 MB"),
            "{judged}"
        );
        assert!(!report(&[]).contains("## Claims under test"));
        assert!(
            Cli::try_parse_from(["tgbench", "report", "x.json", "--prices", "p.toml"]).is_err(),
            "--prices needs --claims"
        );
    }

    /// A bad `--load` file stops `tgbench claims` before anything runs: bad input, no
    /// results folder.
    #[test]
    fn claims_refuses_a_bad_load_file_before_running() {
        let dir = tempfile::tempdir().unwrap();
        let load = dir.path().join("load.toml");
        std::fs::write(&load, "[load]\nmodel = \"poisson\"\n").unwrap();
        let out = dir.path().join("out");
        let code = run_cli(Cli::parse_from([
            "tgbench".as_ref(),
            "claims".as_ref(),
            "--quick".as_ref(),
            "--load".as_ref(),
            load.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ]));
        assert_eq!(code, exit::BAD_INPUT);
        assert!(!out.exists(), "nothing ran");
    }

    #[test]
    fn claims_bots_are_bounded_by_what_one_process_can_hold() {
        let parse = |n: &str| Cli::try_parse_from(["tgbench", "claims", "--bots", n]);
        assert!(parse("0").is_err());
        assert!(parse("20001").is_err());
        match parse("2000").unwrap().command {
            Command::Claims { bots, .. } => assert_eq!(bots, Some(2000)),
            other => panic!("parsed as {other:?}"),
        }
    }
}
