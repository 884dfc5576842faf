//! What each `tgbench` command does: load the scenario, run, and map the outcome to an exit
//! code.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Cli, Command, MetricsArgs, exit};
use crate::run::{Options, Outcome, RunError, Status};
use crate::scenario;

/// Does what `cli` says; returns the exit code.
pub fn run_cli(cli: Cli) -> u8 {
    run_cli_with(cli, Arc::new(AtomicBool::new(false)))
}

/// [`run_cli`] with a cancel flag the caller can set (tests; Ctrl-C sets it too).
pub fn run_cli_with(cli: Cli, cancel: Arc<AtomicBool>) -> u8 {
    match cli.command {
        Command::Validate { scenario } => match scenario::load(&scenario) {
            Ok(s) => {
                let messages: f64 = s
                    .segments()
                    .iter()
                    .filter(|g| g.measured)
                    .map(|g| crate::schedule::expected_sends(&g.load, s.telegram.bots, g.duration))
                    .sum();
                let groups = s.load.groups.as_ref().map_or(String::new(), |g| {
                    format!(
                        "; {} % of messages in group chats ({} per bot, {} users each)",
                        tgbench_reports::text::count((g.share * 100.0).round() as u64),
                        g.chats,
                        g.users
                    )
                });
                println!(
                    "{}: ok ({} SUT{}, {} bots, {} s measured{}, ~{} messages per SUT{groups})",
                    s.source,
                    s.suts.len(),
                    if s.suts.len() == 1 { "" } else { "s" },
                    s.telegram.bots,
                    s.window_s(),
                    if s.phases.is_empty() {
                        String::new()
                    } else {
                        format!(" in {} phases", s.phases.len())
                    },
                    tgbench_reports::text::count(messages.round() as u64)
                );
                exit::OK
            }
            Err(e) => {
                eprintln!("{e}");
                exit::BAD_INPUT
            }
        },
        Command::Run {
            scenario,
            out,
            no_progress,
            metrics,
        } => with_metrics(&metrics, cancel, |cancel, metrics| {
            with_scenario(
                &scenario,
                options(out, no_progress, cancel, metrics),
                crate::run::run_scenario,
            )
        }),
        Command::Capacity {
            scenario,
            out,
            no_progress,
            metrics,
        } => with_metrics(&metrics, cancel, |cancel, metrics| {
            with_scenario(
                &scenario,
                options(out, no_progress, cancel, metrics),
                crate::capacity::run_capacity,
            )
        }),
        Command::Claims {
            quick,
            bots,
            repeat,
            stack,
            stack_capacity,
            capacity_steps,
            prices,
            load,
            out,
            no_progress,
            metrics,
        } => with_metrics(&metrics, cancel, |cancel, metrics| {
            if let Some(steps) = &capacity_steps
                && !steps.is_sorted_by(|a, b| a < b)
            {
                eprintln!(
                    "tgbench claims: --capacity-steps {}: expected bot counts in increasing \
                     order, e.g. 500,1000,2000,5000,10000",
                    steps
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                );
                return exit::BAD_INPUT;
            }
            claims(crate::claims::ClaimsOptions {
                quick,
                bots,
                repeat,
                stack,
                stack_capacity,
                capacity_steps,
                prices,
                load,
                run: options(out, no_progress, cancel, metrics),
            })
        }),
        Command::Report {
            results,
            out,
            claims,
            prices,
        } => {
            let inputs = match tgbench_reports::Input::read_all(&results) {
                Ok(i) => i,
                Err(e) => {
                    eprintln!("tgbench report: {e}");
                    return exit::BAD_INPUT;
                }
            };
            let prices = match tgbench_reports::Prices::read_or_default(prices.as_deref()) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("tgbench report: {e}");
                    return exit::BAD_INPUT;
                }
            };
            let table = claims.then(|| tgbench_reports::claims_table(&inputs, &prices));
            match tgbench_reports::write_reports(&inputs, &out, table.as_ref()) {
                Ok(w) => {
                    println!("{}\n{}", w.markdown.display(), w.html.display());
                    exit::OK
                }
                Err(e) => {
                    eprintln!("tgbench report: {e}");
                    exit::HARNESS
                }
            }
        }
        Command::Tokens {
            scenario,
            bots,
            out,
        } => match scenario::load(&scenario) {
            Ok(s) => {
                let count = bots.unwrap_or(s.telegram.bots);
                let mut text = String::new();
                for i in 0..count as usize {
                    text.push_str(&mock_telegram::token::bot_info(s.seed, i).token);
                    text.push('\n');
                }
                match out {
                    None => {
                        print!("{text}");
                        exit::OK
                    }
                    Some(path) => match std::fs::write(&path, text) {
                        Ok(()) => exit::OK,
                        Err(e) => {
                            eprintln!("tgbench tokens: cannot write {}: {e}", path.display());
                            exit::HARNESS
                        }
                    },
                }
            }
            Err(e) => {
                eprintln!("{e}");
                exit::BAD_INPUT
            }
        },
        Command::Trace(t) => match super::trace::run_command(t) {
            Ok(text) => {
                print!("{text}");
                exit::OK
            }
            Err(e) => {
                eprintln!("tgbench trace: {e}");
                exit::BAD_INPUT
            }
        },
        Command::Compare {
            baseline,
            current,
            max_regression,
            format,
        } => {
            let thresholds = match tgbench_reports::Thresholds::parse(&max_regression) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("tgbench compare: {e}");
                    return exit::BAD_INPUT;
                }
            };
            let format: tgbench_reports::OutputFormat = match format.parse() {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("tgbench compare: {e}");
                    return exit::BAD_INPUT;
                }
            };
            let c = tgbench_reports::compare_files(&baseline, &current, &thresholds);
            print!("{}", c.render(format));
            let _ = std::io::stdout().flush();
            u8::try_from(c.exit_code()).unwrap_or(exit::BAD_INPUT)
        }
    }
}

/// Runs `tgbench claims`, prints the verdict table and where the reports are.
fn claims(opts: crate::claims::ClaimsOptions) -> u8 {
    use crate::claims::ClaimsError;
    match crate::claims::run_claims(&opts) {
        Ok(o) => {
            print!("{}", o.table_markdown);
            println!(
                "\nreports: {}\n         {}\nresults: {}",
                o.report_md.display(),
                o.report_html.display(),
                o.dir.display()
            );
            let _ = std::io::stdout().flush();
            match o.status {
                // A missed SLO is a finding of the claims, not a failure of the command.
                Status::Ok | Status::SloFailed => exit::OK,
                Status::SutFailed(msg) => {
                    eprintln!("tgbench claims: {msg}");
                    exit::SUT_FAILED
                }
                Status::Interrupted => {
                    eprintln!("tgbench claims: interrupted; partial report written");
                    exit::INTERRUPTED
                }
            }
        }
        Err(ClaimsError::Run(e)) => finish(Err(e)),
        Err(e @ ClaimsError::Report(_)) => {
            eprintln!("tgbench claims: {e}");
            exit::HARNESS
        }
        Err(
            e @ (ClaimsError::Scenario(_)
            | ClaimsError::NotBuiltIn(_)
            | ClaimsError::Prices(_)
            | ClaimsError::Stack(_)),
        ) => {
            eprintln!("tgbench claims: {e}");
            exit::BAD_INPUT
        }
    }
}

/// The run options of `run`, `capacity` and `claims`.
fn options(
    out: Option<PathBuf>,
    no_progress: bool,
    cancel: Arc<AtomicBool>,
    metrics: Option<Arc<crate::metrics::Live>>,
) -> Options {
    Options {
        out_dir: out,
        progress: !no_progress,
        impls_dir: None,
        cancel,
        metrics,
        keep_going: false,
    }
}

/// Runs `command` with the live figures it should keep: with `--metrics-listen`, serves
/// them from before it starts until one scrape after it ends (`--metrics-linger`).
fn with_metrics(
    args: &MetricsArgs,
    cancel: Arc<AtomicBool>,
    command: impl FnOnce(Arc<AtomicBool>, Option<Arc<crate::metrics::Live>>) -> u8,
) -> u8 {
    let Some(addr) = args.metrics_listen else {
        return command(cancel, None);
    };
    let server = match std::net::TcpListener::bind(addr).and_then(|l| {
        crate::metrics::MetricsServer::start(crate::metrics::Live::new(), l, cancel.clone())
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "tgbench: --metrics-listen {addr}: cannot serve metrics there: {e} \
                 (pick a free port, or leave the option out)"
            );
            return exit::HARNESS;
        }
    };
    eprintln!("tgbench: metrics on http://{}/metrics", server.addr());
    let code = command(cancel.clone(), Some(server.live().clone()));
    let linger = std::time::Duration::from_secs(args.metrics_linger);
    if !linger.is_zero() && !server.linger(linger, &cancel) && !cancel.load(Ordering::SeqCst) {
        eprintln!(
            "tgbench: no scrape of the final metrics within {} s (--metrics-linger)",
            args.metrics_linger
        );
    }
    code
}

/// Loads the scenario (exit 2 with its problems when it is bad) and runs it with `run`.
fn with_scenario(
    arg: &str,
    opts: Options,
    run: impl FnOnce(&scenario::Scenario, &Options) -> Result<Outcome, RunError>,
) -> u8 {
    match scenario::load(arg) {
        Ok(s) => finish(run(&s, &opts)),
        Err(e) => {
            eprintln!("{e}");
            exit::BAD_INPUT
        }
    }
}

/// Prints the summary and maps the outcome to an exit code.
fn finish(outcome: Result<Outcome, RunError>) -> u8 {
    match outcome {
        Ok(o) => {
            print!(
                "{}",
                tgbench_reports::report::console::summary(
                    &o.results,
                    &o.path.display().to_string()
                )
            );
            let _ = std::io::stdout().flush();
            match o.status {
                Status::Ok => exit::OK,
                Status::SloFailed => exit::SLO_FAILED,
                Status::SutFailed(msg) => {
                    eprintln!("tgbench: {msg}");
                    exit::SUT_FAILED
                }
                Status::Interrupted => {
                    eprintln!(
                        "tgbench: interrupted; results so far in {}",
                        o.path.display()
                    );
                    exit::INTERRUPTED
                }
            }
        }
        Err(RunError::Refused(r)) => {
            eprintln!("tgbench: refused before starting: {r}");
            exit::BAD_INPUT
        }
        Err(RunError::Setup(e)) => {
            eprintln!("tgbench: {e}");
            exit::BAD_INPUT
        }
        Err(e @ (RunError::Runtime(_) | RunError::Write { .. })) => {
            eprintln!("tgbench: {e}");
            exit::HARNESS
        }
    }
}
