//! `tgbench claims`: measure the published polling-vs-webhook claims on the embedded mock
//! and the reference servers, and write a report with a verdict per claim.
//!
//! Two measurements feed the verdicts (see `tgbench_reports::claims` for the rules):
//! - the built-in `claims-100` scenario: six configurations (long polling 30 s, short
//!   polling 500 ms with and without Telegram's anti-spin rule, webhook, webhook with the
//!   reply in the response, and the webhook as a function on the emulated Lambda), an idle
//!   phase then an active phase;
//! - a capacity search of long polling and webhook at the bot counts the claims name
//!   (200, 2,000 and 10,000 bots) and on to 100,000, from the built-in `capacity` scenario,
//!   so each curve ends at the SUT's limit or at a named limit of the machine.
//!
//! Each configuration runs three times by default (`--repeat`), so every figure carries the
//! runs' spread. `--quick` keeps the same shape with one run and short windows (a minute
//! or so); `--stack NAME[,NAME…]` (or `all`) adds the servers of each framework in
//! `examples/` (aiogram, python-telegram-bot, grammy, telegraf, teloxide) as columns.

use std::path::{Path, PathBuf};
use std::process::Command;

use tgbench_reports::claims::phase;
use tgbench_reports::{Input, Prices};

use crate::run::{Options, Outcome, RunError, Status};
use crate::scenario::{self, Phase, Scenario, ScenarioError};

/// Which bot servers the claims are measured on, as `--stack` names them (a list: the
/// Rust reference servers always run; every framework named adds its columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stack {
    /// The Rust reference servers (polling-bot, webhook-bot) only.
    Rust,
    /// aiogram 3, polling and webhook (examples/aiogram).
    Aiogram,
    /// python-telegram-bot 22: polling, and Flask under Gunicorn with 1, 2 and 4 sync
    /// workers and with gthread (examples/python-telegram-bot).
    PythonTelegramBot,
    /// grammY on Node.js, polling and webhook (examples/grammy).
    Grammy,
    /// telegraf on Node.js, polling and webhook (examples/telegraf).
    Telegraf,
    /// teloxide, polling and webhook, built with cargo (examples/teloxide).
    Teloxide,
    /// Every framework above.
    All,
}

impl Stack {
    /// The frameworks, in the order their columns appear.
    pub const FRAMEWORKS: [Stack; 5] = [
        Stack::Aiogram,
        Stack::PythonTelegramBot,
        Stack::Grammy,
        Stack::Telegraf,
        Stack::Teloxide,
    ];

    /// The frameworks `--stack` names, each once, in [`Stack::FRAMEWORKS`] order.
    pub fn frameworks(named: &[Stack]) -> Vec<Stack> {
        let all = named.contains(&Stack::All);
        Stack::FRAMEWORKS
            .into_iter()
            .filter(|s| all || named.contains(s))
            .collect()
    }

    /// The framework's measurement: its results folder and report label, the scenario file
    /// (idle and active phases like claims-100) and the script that sets its environment up
    /// (exit 0 ready, 2 toolchain missing, 3 install or build failed). `None` for
    /// [`Stack::Rust`] and [`Stack::All`].
    fn measurement(self) -> Option<(&'static str, &'static str, &'static str)> {
        Some(match self {
            Stack::Rust | Stack::All => return None,
            Stack::Aiogram => (
                "aiogram",
                "scenarios/claims-aiogram.toml",
                "examples/aiogram/setup-venv.sh",
            ),
            Stack::PythonTelegramBot => (
                "python-telegram-bot",
                "scenarios/stack-python-telegram-bot.toml",
                "examples/python-telegram-bot/setup-venv.sh",
            ),
            Stack::Grammy => (
                "grammy",
                "scenarios/stack-grammy.toml",
                "examples/grammy/setup.sh",
            ),
            Stack::Telegraf => (
                "telegraf",
                "scenarios/stack-telegraf.toml",
                "examples/telegraf/setup.sh",
            ),
            Stack::Teloxide => (
                "teloxide",
                "scenarios/stack-teloxide.toml",
                "examples/teloxide/setup.sh",
            ),
        })
    }
}

/// How `tgbench claims` runs.
#[derive(Clone)]
pub struct ClaimsOptions {
    pub quick: bool,
    /// Bots in the idle/active runs instead of the plan's 100.
    pub bots: Option<u64>,
    /// Runs of each configuration instead of the plan's (3, or 1 with `--quick`).
    pub repeat: Option<u32>,
    /// `--stack`: the frameworks whose columns are added (see [`Stack::frameworks`]).
    pub stack: Vec<Stack>,
    /// `--stack-capacity`: a capacity search of each framework's servers too.
    pub stack_capacity: bool,
    /// `--capacity-steps`: the bot counts of every capacity search instead of the plan's.
    pub capacity_steps: Option<Vec<u64>>,
    /// A price file for the cost rows (default: the embedded prices).
    pub prices: Option<PathBuf>,
    /// `--load FILE`: a `[load]` table that replaces the load of claims-100's sending
    /// phases (and the warm-up); idle phases stay idle ([`scenario::replace_load`]).
    pub load: Option<PathBuf>,
    /// Where results and reports go; `run.out_dir` defaults to `results/claims-<time>`.
    pub run: Options,
}

/// The shape of one claims measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub bots: u64,
    /// Runs of each configuration's idle and active phases: from 3, each figure carries
    /// the runs' spread and a verdict whose interval straddles its threshold is
    /// inconclusive (`tgbench_reports::claims::verdict`).
    pub repeat: u32,
    pub warmup_s: f64,
    pub idle_s: f64,
    pub active_s: f64,
    pub drain_s: f64,
    pub capacity_steps: Vec<u64>,
    pub capacity_window_s: f64,
}

impl Plan {
    /// The default run (a few minutes) or `--quick` (about a minute).
    pub fn new(quick: bool) -> Plan {
        if quick {
            // Idle stays 5 s: "constant CPU" is judged on 5 s windows of the idle phase.
            // 100 bots, as claimed: scaled figures of fewer bots would multiply the CPU
            // sampler's resolution (one 10 ms tick in 5 s is 0.2 % of a core) past the
            // tolerances, and no verdict would be decided.
            Plan {
                bots: 100,
                repeat: 1,
                warmup_s: 1.0,
                idle_s: 5.0,
                active_s: 4.0,
                drain_s: 2.0,
                capacity_steps: vec![2_000],
                capacity_window_s: 3.0,
            }
        } else {
            // Three runs of each configuration, so each figure carries the runs' spread,
            // in windows short enough that the whole claims run stays near 10 minutes on 2
            // cores: 15 s idle (three 5 s windows for "constant CPU" per run) and 12 s
            // active (~120 messages per run at 6 per bot per minute).
            Plan {
                bots: 100,
                repeat: 3,
                warmup_s: 2.0,
                idle_s: 15.0,
                active_s: 12.0,
                drain_s: 5.0,
                // The claimed counts (200, 2,000, 10,000), then on to the SUT's real limit
                // or a named limit of the machine.
                capacity_steps: vec![200, 2_000, 10_000, 20_000, 50_000, 100_000],
                capacity_window_s: 10.0,
            }
        }
    }

    /// A claims scenario (`claims-100` or `claims-aiogram`) cut to this plan.
    ///
    /// A daily curve is compressed with the phase it drives: its `day_s` is scaled by the
    /// phase's new length over its old one, so a day that fits the scenario's 60 s active
    /// phase still fits the plan's 12 s (or `--quick`'s 4 s) one.
    pub fn phases_scenario(&self, base: &Scenario) -> Scenario {
        let mut s = base.with_bots(self.bots);
        s.repeat = self.repeat;
        s.warmup_s = self.warmup_s;
        s.drain_s = self.drain_s;
        let length = |p: &Phase| {
            if p.name == phase::IDLE {
                self.idle_s
            } else {
                self.active_s
            }
        };
        s.phases = base
            .phases
            .iter()
            .map(|p| {
                let mut cut = Phase {
                    duration_s: length(p),
                    ..p.clone()
                };
                if let Some(d) = cut.load.as_mut().and_then(|l| l.diurnal.as_mut()) {
                    d.day_s *= length(p) / p.duration_s;
                }
                cut
            })
            .collect();
        // The scenario's `[load]` drives the phases without one of their own.
        if let (Some(d), Some(p)) = (
            s.load.diurnal.as_mut(),
            base.phases.iter().find(|p| p.load.is_none()),
        ) {
            d.day_s *= length(p) / p.duration_s;
        }
        s
    }

    /// What `tgbench claims` runs, in order, each with the folder its results go to: the
    /// claims phases, each framework stack's phases, the reference capacity search, then
    /// (with `stack_capacity`) the same search on each stack's servers.
    fn measurements(
        &self,
        claims: &Scenario,
        capacity: &Scenario,
        stacks: &[(&str, Scenario)],
        stack_capacity: bool,
    ) -> Vec<(String, Scenario, Runner)> {
        let mut m = vec![(
            "claims".to_owned(),
            self.phases_scenario(claims),
            Runner::Phases,
        )];
        for (label, scn) in stacks {
            m.push((
                (*label).to_owned(),
                self.phases_scenario(scn),
                Runner::Phases,
            ));
        }
        m.push((
            "capacity".to_owned(),
            self.capacity_scenario(capacity),
            Runner::Capacity,
        ));
        if stack_capacity {
            for (label, scn) in stacks {
                m.push((
                    format!("{label}-capacity"),
                    self.capacity_scenario(&capacity.with_suts(scn)),
                    Runner::Capacity,
                ));
            }
        }
        m
    }

    /// The capacity scenario cut to this plan's steps and window.
    pub fn capacity_scenario(&self, base: &Scenario) -> Scenario {
        let mut s = base.clone();
        s.capacity.steps = self.capacity_steps.clone();
        s.duration_s = Some(self.capacity_window_s);
        s.warmup_s = self.warmup_s.min(s.warmup_s);
        s.drain_s = self.drain_s;
        s
    }
}

/// What `tgbench claims` wrote.
pub struct ClaimsOutcome {
    pub dir: PathBuf,
    pub report_md: PathBuf,
    pub report_html: PathBuf,
    /// What `tgbench claims` prints: the decision summary (when there is one), then the
    /// verdict table, as `report.md` has them.
    pub table_markdown: String,
    /// The worst status of the underlying runs (an SLO miss is not a failure of `claims`).
    pub status: Status,
}

/// Errors of `tgbench claims` before or between its runs.
#[derive(Debug, thiserror::Error)]
pub enum ClaimsError {
    #[error(transparent)]
    Run(#[from] RunError),
    /// A claims scenario does not parse (or is not built in), or the `--load` file is bad
    /// (the error names that file, its line and key).
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    #[error("built-in scenario: {0} is not built in")]
    NotBuiltIn(String),
    /// The `--prices` file cannot be read.
    #[error("{0}")]
    Prices(#[source] tgbench_reports::Error),
    /// A framework of `--stack` cannot be set up.
    #[error(transparent)]
    Stack(#[from] StackError),
    #[error("writing the report: {0}")]
    Report(#[source] tgbench_reports::Error),
}

/// Why a framework of `--stack` cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(
        "--stack {stack} needs the tgbench source tree ({script}); run it from the \
         repository, or set TGBENCH_REPO to its folder"
    )]
    NoSourceTree {
        stack: &'static str,
        script: &'static str,
    },
    #[error("cannot run bash {}: {source}", script.display())]
    Bash {
        script: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "--stack {stack}: {} failed ({}); its message above says what is missing and how to \
         get it",
        script.display(),
        match status.code() {
            Some(2) => "its toolchain is missing or too old".to_string(),
            Some(3) => "installing or building it failed".to_string(),
            other => format!("exit {other:?}"),
        }
    )]
    Setup {
        stack: &'static str,
        script: PathBuf,
        status: std::process::ExitStatus,
    },
}

/// The claims' webhook servers sit behind nginx, as they are deployed. Where nginx is not
/// installed they are reached directly instead, said here and in the report (which names
/// the shape of each column), rather than not measured at all.
fn direct_where_nginx_is_missing(mut scn: Scenario) -> Scenario {
    let fronted: Vec<String> = scn
        .suts
        .iter()
        .filter(|s| s.proxy.is_some())
        .map(|s| s.name.clone())
        .collect();
    if fronted.is_empty() || crate::sut::proxy::Nginx::binary("claims").is_ok() {
        return scn;
    }
    eprintln!(
        "tgbench claims: nginx is not installed, so {} are measured without it (reached \
         directly); install Debian's package `nginx` to measure them behind it, as deployed",
        fronted.join(", ")
    );
    for s in &mut scn.suts {
        s.proxy = None;
    }
    scn
}

/// Runs the claims measurements and writes `report.md` and `report.html` into the output
/// folder, next to one results folder per measurement.
pub fn run_claims(opts: &ClaimsOptions) -> Result<ClaimsOutcome, ClaimsError> {
    let mut plan = Plan::new(opts.quick);
    if let Some(bots) = opts.bots {
        plan.bots = bots;
    }
    if let Some(repeat) = opts.repeat {
        plan.repeat = repeat;
    }
    if let Some(steps) = &opts.capacity_steps {
        plan.capacity_steps = steps.clone();
    }
    let prices = Prices::read_or_default(opts.prices.as_deref()).map_err(ClaimsError::Prices)?;
    let dir = opts
        .run
        .out_dir
        .clone()
        .unwrap_or_else(|| crate::output::default_dir("claims"));

    let stacks = Stack::frameworks(&opts.stack)
        .into_iter()
        .map(stack_scenario)
        .collect::<Result<Vec<_>, _>>()?;
    let mut claims = direct_where_nginx_is_missing(builtin("claims-100")?);
    if let Some(file) = &opts.load {
        claims = scenario::replace_load(&claims, &file.to_string_lossy())?;
    }
    let measurements =
        plan.measurements(&claims, &builtin("capacity")?, &stacks, opts.stack_capacity);

    let mut inputs = Vec::new();
    let mut status = Status::Ok;
    for (label, scn, runner) in measurements {
        eprintln!(
            "tgbench claims: {label}: {} ({} SUTs, {})",
            scn.name,
            scn.suts.len(),
            match runner {
                Runner::Phases => format!(
                    "{} bots, {} s idle + {} s active each, {} run(s) of each",
                    scn.telegram.bots, plan.idle_s, plan.active_s, plan.repeat
                ),
                Runner::Capacity => format!("bots {:?}", scn.capacity.steps),
            }
        );
        // A framework that cannot host the bots (not ready, crashed) is a finding, not the
        // end of the comparison: its columns say not measured, the others run.
        let run_opts = Options {
            out_dir: Some(dir.join(&label)),
            keep_going: true,
            ..opts.run.clone()
        };
        let outcome: Outcome = match runner {
            Runner::Phases => crate::run::run_scenario(&scn, &run_opts)?,
            Runner::Capacity => crate::capacity::run_capacity(&scn, &run_opts)?,
        };
        let stop = outcome.status == Status::Interrupted;
        if let Status::SutFailed(_) = &outcome.status
            && let Some(why) = &outcome.results.incomplete_reason
        {
            eprintln!("tgbench claims: {label}: {why}; going on with the rest");
        }
        if outcome.status != Status::Ok && status == Status::Ok || stop {
            status = outcome.status.clone();
        }
        inputs.push(Input::new(label, outcome.results));
        if stop {
            break;
        }
    }

    let table = tgbench_reports::claims_table(&inputs, &prices);
    let written =
        tgbench_reports::write_reports(&inputs, &dir, Some(&table)).map_err(ClaimsError::Report)?;
    Ok(ClaimsOutcome {
        dir,
        report_md: written.markdown,
        report_html: written.html,
        // What the terminal shows: the decision summary, then the verdicts.
        table_markdown: format!(
            "{}{}",
            table
                .decision
                .as_ref()
                .map(tgbench_reports::report::markdown::decision_section)
                .unwrap_or_default(),
            tgbench_reports::report::markdown::claims_section(&table)
        ),
        status,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runner {
    Phases,
    Capacity,
}

fn builtin(name: &str) -> Result<Scenario, ClaimsError> {
    let text = scenario::embedded(name).ok_or_else(|| ClaimsError::NotBuiltIn(name.into()))?;
    let mut s = scenario::parse(text, &format!("scenarios/{name}.toml (embedded)"))?;
    s.source = format!("embedded:{name}");
    Ok(s)
}

/// A framework's scenario with its commands made absolute, after its environment is set
/// up (once; reused after): with the label its measurement goes under.
///
/// # Panics
/// For [`Stack::Rust`] and [`Stack::All`], which are not frameworks.
pub fn stack_scenario(stack: Stack) -> Result<(&'static str, Scenario), ClaimsError> {
    let (label, file, script) = stack.measurement().expect("a framework");
    let repo = repo_root().ok_or(StackError::NoSourceTree {
        stack: label,
        script,
    })?;
    let setup = repo.join(script);
    eprintln!("tgbench claims: setting up the {label} stack ({setup:?}, once)");
    let status = Command::new("bash")
        .arg(&setup)
        .current_dir(&repo)
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|source| StackError::Bash {
            script: setup.clone(),
            source,
        })?;
    if !status.success() {
        return Err(StackError::Setup {
            stack: label,
            script: setup,
            status,
        }
        .into());
    }
    let mut s = scenario::load(&repo.join(file).to_string_lossy())?;
    for sut in &mut s.suts {
        if let Some(cmd) = &mut sut.command {
            for part in cmd.iter_mut() {
                if part.starts_with("examples/") {
                    *part = repo.join(&*part).to_string_lossy().into_owned();
                }
            }
        }
    }
    Ok((label, s))
}

/// The source tree: `TGBENCH_REPO`, else the current folder or the one this binary was
/// built from, whichever holds the framework stacks' `examples/`.
fn repo_root() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("TGBENCH_REPO").map(PathBuf::from),
        std::env::current_dir().ok(),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("examples/common/setup-env.sh").is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tgbench_reports::claims::sut;

    /// `--stack-capacity` adds one capacity search per framework, after the reference one:
    /// the reference search's load, SLO and steps on the framework's servers, its results
    /// in `<stack>-capacity/` (where the claims table finds curves by SUT name).
    #[test]
    fn stack_capacity_searches_each_frameworks_servers_with_the_reference_slo() {
        let plan = Plan::new(false);
        let capacity = builtin("capacity").unwrap();
        let grammy = scenario::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scenarios/stack-grammy.toml"
        ))
        .unwrap();
        let stacks = [("grammy", grammy.clone())];
        let claims = builtin("claims-100").unwrap();
        let labels = |m: &[(String, Scenario, Runner)]| -> Vec<(String, Runner)> {
            m.iter().map(|(l, _, r)| (l.clone(), *r)).collect()
        };
        let without = plan.measurements(&claims, &capacity, &stacks, false);
        assert_eq!(
            labels(&without),
            [
                ("claims".into(), Runner::Phases),
                ("grammy".into(), Runner::Phases),
                ("capacity".into(), Runner::Capacity),
            ]
        );
        let with = plan.measurements(&claims, &capacity, &stacks, true);
        assert_eq!(
            labels(&with)[3..],
            [("grammy-capacity".into(), Runner::Capacity)]
        );
        let (_, scn, _) = &with[3];
        let names: Vec<&str> = scn.suts.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["grammy-polling", "grammy-webhook"]);
        assert_eq!(scn.capacity.steps, plan.capacity_steps);
        assert_eq!(scn.slo, capacity.slo, "the reference search's SLO");
        assert_eq!(scn.load, capacity.load);
        assert_eq!(
            scn.suts[0].command, grammy.suts[0].command,
            "the stack's own command"
        );
    }

    #[test]
    fn quick_plan_cuts_every_phase_and_keeps_the_suts() {
        let plan = Plan::new(true);
        let s = plan.phases_scenario(&builtin("claims-100").unwrap());
        assert_eq!(s.telegram.bots, 100);
        assert_eq!(s.repeat, 1);
        assert_eq!(s.suts.len(), 6);
        let phases: Vec<(&str, f64)> = s
            .phases
            .iter()
            .map(|p| (p.name.as_str(), p.duration_s))
            .collect();
        assert_eq!(phases, vec![(phase::IDLE, 5.0), (phase::ACTIVE, 4.0)]);
        // The active phase still carries load, the idle one none.
        let rate = |phase: &str| {
            let segs = s.segments();
            let seg = segs
                .iter()
                .find(|g| g.phase.as_deref() == Some(phase))
                .unwrap_or_else(|| panic!("no {phase} segment"));
            seg.load.mean_rate_per_s(100)
        };
        assert_eq!(rate("idle"), 0.0, "messages in the idle phase");
        assert!(rate("active") > 0.0);
    }

    const DAILY_ZIPF: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/loads/daily-zipf.toml"
    );

    /// `--load scenarios/loads/daily-zipf.toml`: the active phase (and the warm-up) run the
    /// file's daily curve with Zipf skew, the idle phase stays idle, the rest is claims-100's;
    /// the day shrinks with the plan's active phase and still sends the flat mean on
    /// average, bunched into the evening and onto the first bots.
    #[test]
    fn load_file_replaces_the_active_load_and_keeps_idle_idle() {
        let base = builtin("claims-100").unwrap();
        let replaced = scenario::replace_load(&base, DAILY_ZIPF).unwrap();
        assert_eq!(replaced.load.zipf_s, 1.1);
        assert_eq!(replaced.load.messages_per_bot_per_min, 6.0);
        let day = replaced.load.diurnal.as_ref().expect("a daily curve");
        assert_eq!((day.peak_hour, day.day_s), (Some(20.0), 60.0));
        assert_eq!(replaced.suts, base.suts);
        assert_eq!(replaced.slo, base.slo);
        assert_eq!((replaced.seed, replaced.telegram.bots), (base.seed, 100));
        assert!(
            replaced.source.ends_with(&format!(
                "{}{DAILY_ZIPF}",
                tgbench_reports::claims::LOAD_FROM
            )),
            "{}",
            replaced.source
        );

        for (quick, active_s) in [(true, 4.0), (false, 12.0)] {
            let s = Plan::new(quick).phases_scenario(&replaced);
            let segs = s.segments();
            let seg = |name: &str| {
                segs.iter()
                    .find(|g| g.phase.as_deref() == Some(name))
                    .unwrap_or_else(|| panic!("no {name} segment"))
            };
            assert_eq!(seg(phase::IDLE).load.model, scenario::Model::Idle);
            let active = &seg(phase::ACTIVE).load;
            assert_eq!(
                active.diurnal.as_ref().map(|d| d.day_s),
                Some(active_s),
                "one day per active phase"
            );
            assert_eq!(active.zipf_s, 1.1);
        }

        // The default plan's 12 s day at 100 bots: the flat load's 120 messages on average;
        // the evening half (12:00-24:00, peak 20:00) far busier than the night half, and
        // the first bot busier than the last.
        let s = Plan::new(false).phases_scenario(&replaced);
        let active = s
            .segments()
            .into_iter()
            .find(|g| g.phase.as_deref() == Some(phase::ACTIVE))
            .unwrap()
            .load;
        let sends = crate::schedule::build(&active, 100, Duration::from_secs(12), 42);
        assert!((60..=180).contains(&sends.len()), "{} sends", sends.len());
        let evening = sends
            .iter()
            .filter(|x| x.at >= Duration::from_secs(6))
            .count();
        assert!(
            evening > 2 * (sends.len() - evening),
            "{evening} of {}",
            sends.len()
        );
        let to = |bot| sends.iter().filter(|x| x.bot == bot).count();
        assert!(to(0) > to(99) + 5, "bot 0: {}, bot 99: {}", to(0), to(99));
    }

    /// A bad `--load` file is refused with its name, line and key, as a scenario's
    /// `[load]` would be; a key outside `[load]` too.
    #[test]
    fn bad_load_file_names_file_line_and_key() {
        let base = builtin("claims-100").unwrap();
        let refused = |text: &str| {
            scenario::with_load_file(&base, text, "my-load.toml")
                .unwrap_err()
                .to_string()
        };
        let err = refused(
            "# a skewed load\n[load]\nmodel = \"poisson\"\nmessages_per_bot_per_min = 6\nzipf_s = -1\n",
        );
        assert!(err.contains("my-load.toml:5"), "{err}");
        assert!(err.contains("[load] zipf_s"), "{err}");

        let err = refused(
            "[load]\nmodel = \"constant\"\nmessages_per_bot_per_min = 6\ndiurnal = { peak_hour = 20, trough_ratio = 0.1 }\n",
        );
        assert!(err.contains("my-load.toml:4"), "{err}");
        assert!(err.contains("diurnal"), "{err}");

        let err = refused(
            "[load]\nmodel = \"poisson\"\nmessages_per_bot_per_min = 6\n\n[telegram]\nbots = 5\n",
        );
        assert!(err.contains("my-load.toml:5"), "{err}");
        assert!(err.contains("unknown key"), "{err}");

        let err = scenario::replace_load(&base, "/nonexistent/load.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/load.toml"), "{err}");
    }

    #[test]
    fn capacity_plan_checks_the_claimed_counts() {
        let plan = Plan::new(false);
        let s = plan.capacity_scenario(&builtin("capacity").unwrap());
        assert_eq!(
            s.capacity.steps,
            vec![200, 2_000, 10_000, 20_000, 50_000, 100_000]
        );
        assert_eq!(s.duration_s, Some(10.0));
        let phases = plan.phases_scenario(&builtin("claims-100").unwrap());
        assert_eq!(phases.repeat, 3, "each figure carries three runs' spread");
        let names: Vec<&str> = s.suts.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, vec![sut::LONG_POLLING_30S, sut::WEBHOOK]);
    }

    #[test]
    fn the_repository_is_found_from_the_build_folder() {
        assert!(repo_root().is_some());
    }

    #[test]
    fn stack_names_each_framework_once_in_column_order() {
        use Stack::*;
        assert_eq!(Stack::frameworks(&[Rust]), vec![]);
        assert_eq!(
            Stack::frameworks(&[Teloxide, Rust, Grammy, Teloxide]),
            vec![Grammy, Teloxide]
        );
        assert_eq!(Stack::frameworks(&[Grammy, All]), Stack::FRAMEWORKS);
    }

    /// `--stack` as the command line spells it: one value, a comma list, `all`.
    #[test]
    fn stack_parses_from_the_command_line() {
        use clap::Parser;
        let stack = |args: &[&str]| match crate::cli::Cli::try_parse_from(
            ["tgbench", "claims"].iter().chain(args),
        )
        .map(|c| c.command)
        {
            Ok(crate::cli::Command::Claims { stack, .. }) => Ok(stack),
            Ok(_) => unreachable!("claims parses as claims"),
            Err(e) => Err(e.kind()),
        };
        assert_eq!(stack(&[]), Ok(vec![Stack::Rust]));
        assert_eq!(
            stack(&["--stack", "python-telegram-bot,grammy"]),
            Ok(vec![Stack::PythonTelegramBot, Stack::Grammy])
        );
        assert_eq!(stack(&["--stack", "all"]), Ok(vec![Stack::All]));
        assert_eq!(
            stack(&["--stack", "aiogram,flask"]),
            Err(clap::error::ErrorKind::InvalidValue)
        );
    }

    /// Every framework's scenario has the claims' phases and SUTs the report has columns
    /// for, and its setup script is in the repository.
    #[test]
    fn every_framework_has_a_claims_shaped_scenario_and_a_setup_script() {
        let repo = repo_root().unwrap();
        for stack in Stack::FRAMEWORKS {
            let (label, file, script) = stack.measurement().unwrap();
            assert!(repo.join(script).is_file(), "{label}: {script}");
            let s = scenario::load(&repo.join(file).to_string_lossy()).unwrap();
            let phases: Vec<&str> = s.phases.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(phases, [phase::IDLE, phase::ACTIVE], "{file}");
            for sut in &s.suts {
                let column = tgbench_reports::claims::spec::CONFIGS
                    .iter()
                    .find(|c| c.name == sut.name);
                assert!(
                    column.is_some_and(|c| c.optional),
                    "{file}: {} has no stack column",
                    sut.name
                );
            }
            let cut = Plan::new(true).phases_scenario(&s);
            assert_eq!(cut.telegram.bots, 100, "{file}");
        }
        assert_eq!(Stack::Rust.measurement(), None);
        assert_eq!(Stack::All.measurement(), None);
    }
}
