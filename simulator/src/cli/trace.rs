//! `tgbench trace`: what a trace holds (`stats`), a trace from a platform's log
//! (`from-log`), and an example trace from tgbench's own models (`generate`).

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::TraceCommand;
use crate::scenario::{Diurnal, Load, Model};
use crate::trace::{Row, TraceError, anonymise, from_log, scan, write_csv};

/// An example trace from tgbench's own models: `bots` bots over `hours` hours at `rate`
/// messages per bot per minute on average, a daily curve (peak 20:00, night a tenth of it),
/// Zipf-skewed bots (s = 1.1), a tenth of updates button presses, keys anonymised.
pub fn generate(bots: u64, hours: f64, rate: f64, seed: u64) -> impl Iterator<Item = Row> {
    let load = Load {
        model: Model::Poisson,
        messages_per_bot_per_min: rate,
        zipf_s: 1.1,
        callback_share: 0.1,
        users_per_bot: 200,
        diurnal: Some(Diurnal {
            peak_hour: Some(20.0),
            trough_ratio: Some(0.1),
            hours: None,
            day_s: 86_400.0,
            start_hour: 0.0,
        }),
        ..Load::default()
    };
    let duration = Duration::from_secs_f64(hours * 3600.0);
    crate::schedule::build(&load, bots, duration, seed)
        .into_iter()
        .map(|s| Row {
            t_s: s.at.as_secs_f64(),
            bot: anonymise(&format!("bot-{}", s.bot)),
            chat: anonymise(&format!("bot-{}/user-{}", s.bot, s.chat_id)),
            kind: s.kind,
        })
}

/// Errors of `tgbench trace`.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Trace(#[from] TraceError),
    #[error("{path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Bad(String),
}

/// Runs `tgbench trace …`; returns what to print.
pub fn run_command(cmd: TraceCommand) -> Result<String, CommandError> {
    let write = |out: &Path, rows: &mut dyn Iterator<Item = Row>| -> Result<u64, CommandError> {
        let err = |source| CommandError::Write {
            path: out.display().to_string(),
            source,
        };
        let mut w = std::io::BufWriter::new(File::create(out).map_err(err)?);
        let n = write_csv(&mut w, rows).map_err(err)?;
        w.flush().map_err(err)?;
        Ok(n)
    };
    match cmd {
        TraceCommand::Stats { file } => Ok(scan(&file)?.render(&file.display().to_string())),
        TraceCommand::FromLog {
            log,
            time,
            bot,
            chat,
            kind,
            out,
        } => {
            let rows = from_log(&log, &time, &bot, &chat, kind.as_deref())?;
            let n = write(&out, &mut rows.into_iter())?;
            Ok(format!(
                "{}: {} messages, keys anonymised; `tgbench trace stats {0}` says what it holds\n",
                out.display(),
                tgbench_reports::text::count(n)
            ))
        }
        TraceCommand::Generate {
            out,
            bots,
            hours,
            rate,
            seed,
        } => {
            if !(hours > 0.0 && hours <= 24.0 * 31.0) {
                return Err(CommandError::Bad(format!(
                    "--hours {hours}: expected hours > 0 and ≤ 744"
                )));
            }
            if !(rate > 0.0 && rate <= 600.0) {
                return Err(CommandError::Bad(format!(
                    "--rate {rate}: expected messages per bot per minute > 0 and ≤ 600"
                )));
            }
            let n = write(&out, &mut generate(bots, hours, rate, seed))?;
            Ok(format!(
                "{}: {} messages from {bots} bots over {hours} h\n",
                out.display(),
                tgbench_reports::text::count(n)
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_trace_is_a_valid_day_with_an_evening_peak() {
        let rows: Vec<Row> = generate(10, 24.0, 0.25, 42).collect();
        let mut out = Vec::new();
        write_csv(&mut out, rows.clone().into_iter()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.csv");
        std::fs::write(&p, &out).unwrap();
        let s = scan(&p).unwrap();
        assert_eq!(s.rows, rows.len() as u64);
        assert_eq!(s.per_bot.len(), 10);
        // 10 bots × 0.25/min × 1,440 min = 3,600 on average.
        assert!((3_300..=3_900).contains(&s.rows), "{}", s.rows);
        assert!(s.per_hour[20] > 5 * s.per_hour[8], "{:?}", s.per_hour);
        assert!(
            rows.iter()
                .all(|r| r.bot.len() == 12 && !r.bot.contains("bot"))
        );
    }
}
