//! Traces made and written: a platform's log turned into a trace (`tgbench trace from-log`),
//! and rows written as a trace file (CSV).

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::Path;

use super::{Row, TimeColumn, TraceError, anonymise, csv_error, parse_time};
use crate::send::SendKind;

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
