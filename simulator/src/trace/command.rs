//! `tgbench trace from-log` and `tgbench trace generate`: traces made from a platform's
//! log or from tgbench's own models, written as CSV; and the dispatch of `tgbench trace`.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::Path;
use std::time::Duration;

use super::{Row, TimeColumn, TraceError, anonymise, csv_error, parse_time, scan};
use crate::schedule::SendKind;

/// Writes `sends` as a trace (CSV: t, bot, chat, kind), keys anonymised.
pub fn write_csv(out: &mut impl Write, sends: impl Iterator<Item = Row>) -> std::io::Result<u64> {
    writeln!(out, "t,bot,chat,kind")?;
    let mut n = 0;
    for r in sends {
        let kind = match r.kind {
            SendKind::Message => "message",
            SendKind::Callback => "callback",
            SendKind::Group { .. } => "group",
        };
        writeln!(out, "{:.3},{},{},{kind}", r.t_s, r.bot, r.chat)?;
        n += 1;
    }
    Ok(n)
}

/// `tgbench trace from-log`: a platform's log (CSV with a header) to a trace, keys
/// anonymised, rows sorted by time. `time`, `bot`, `chat` and `kind` name the log's
/// columns; times are Unix seconds or milliseconds (a number above 10^11) or RFC 3339.
pub fn from_log(
    log: &Path,
    time: &str,
    bot: &str,
    chat: &str,
    kind: Option<&str>,
) -> Result<Vec<Row>, TraceError> {
    let shown = log.display().to_string();
    let file = File::open(log).map_err(|source| TraceError::Io {
        path: shown.clone(),
        source,
    })?;
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(BufReader::new(file));
    let header = rdr.headers().map_err(|e| csv_error(&shown, &e))?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| TraceError::Row {
                path: shown.clone(),
                line: 1,
                column: 1,
                message: format!(
                    "no column {name:?} in the header ({})",
                    header.iter().collect::<Vec<_>>().join(", ")
                ),
            })
    };
    let (ct, cb, cc) = (col(time)?, col(bot)?, col(chat)?);
    let ck = kind.map(col).transpose()?;
    let mut rows: Vec<(f64, Row)> = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_error(&shown, &e))?;
        let line = rec.position().map_or(0, |p| p.line());
        let bad = |column: usize, message: String| TraceError::Row {
            path: shown.clone(),
            line,
            column: column as u64 + 1,
            message,
        };
        let raw = rec.get(ct).unwrap_or("");
        let mut at = parse_time(raw, TimeColumn::Absolute).map_err(|m| bad(ct, m))?;
        if at > 1e11 {
            at /= 1000.0; // milliseconds
        }
        let kind = match ck.map(|c| rec.get(c).unwrap_or("")) {
            Some("callback" | "callback_query") => SendKind::Callback,
            _ => SendKind::Message,
        };
        let key = |c: usize| rec.get(c).unwrap_or("").to_owned();
        if key(cb).is_empty() || key(cc).is_empty() {
            return Err(bad(cb, "empty bot or chat".into()));
        }
        rows.push((
            at,
            Row {
                t_s: 0.0,
                bot: anonymise(&key(cb)),
                chat: anonymise(&format!("{}/{}", key(cb), key(cc))),
                kind,
            },
        ));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let origin = rows.first().map_or(0.0, |r| r.0);
    Ok(rows
        .into_iter()
        .map(|(at, mut r)| {
            r.t_s = at - origin;
            r
        })
        .collect())
}

/// An example trace from tgbench's own models: `bots` bots over `hours` hours at `rate`
/// messages per bot per minute on average, a daily curve (peak 20:00, night a tenth of it),
/// Zipf-skewed bots (s = 1.1), a tenth of updates button presses, keys anonymised.
pub fn generate(bots: u64, hours: f64, rate: f64, seed: u64) -> impl Iterator<Item = Row> {
    use crate::scenario::{Diurnal, Load, Model};
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
pub fn run_command(cmd: crate::cli::TraceCommand) -> Result<String, CommandError> {
    use crate::cli::TraceCommand;
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
