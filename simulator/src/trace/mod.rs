//! Traces: a platform's own traffic, read here, replayed (`[load] model = "replay"`,
//! `replay`), described (`tgbench trace stats`, `summary`) or made from a platform's log
//! (`tgbench trace from-log`, `convert`). The command itself, and the example trace
//! `tgbench trace generate` makes from tgbench's own models, are in `cli::trace`.
//!
//! A trace is CSV with a header row, or JSON Lines (`.jsonl`, `.ndjson`), one message per
//! row, in time order:
//! - `t`: seconds since the trace's start, or `time`: an absolute time (Unix seconds, or
//!   RFC 3339 such as `2026-12-06T20:15:03Z`), taken relative to the first row;
//! - `bot`, `chat`: any strings (or numbers), mapped consistently onto the scenario's bots
//!   (in order of first appearance) and each bot's simulated users (by a hash of the key);
//! - `kind` (optional): `message` (default), `callback`, or `group`: a message in a group
//!   chat, the chat key naming the group (mapped onto the bot's group chats by its hash)
//!   and the user who writes picked among the bot's users by a hash of the chat key and
//!   the row's time.
//!
//! Rows are read as they are replayed, so a trace larger than memory streams; a scan (for
//! `tgbench validate` and the run's sizing) reads it once first, keeping only a counter per
//! bot. A malformed row is an error naming file, line and column.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::send::{FIRST_CHAT_ID, SendKind};

mod convert;
mod replay;
mod summary;

pub use convert::{from_log, write_csv};
pub use replay::{Replay, ReplayPlan};
pub use summary::{Summary, scan};

/// One message of a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Seconds since the trace's first row.
    pub t_s: f64,
    pub bot: String,
    pub chat: String,
    pub kind: SendKind,
}

/// A trace that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A row (or the header, line 1) is malformed: `column` is the field's position
    /// (1-based) for CSV, the character for JSON Lines.
    #[error("{path}:{line}:{column}: {message}")]
    Row {
        path: String,
        line: u64,
        column: u64,
        message: String,
    },
}

/// Columns of a CSV trace, by position.
struct Columns {
    time: (usize, TimeColumn),
    bot: usize,
    chat: usize,
    kind: Option<usize>,
}

#[derive(Clone, Copy, PartialEq)]
enum TimeColumn {
    Offset,
    Absolute,
}

enum Source {
    Csv {
        rows: csv::Reader<BufReader<File>>,
        cols: Columns,
        record: csv::StringRecord,
    },
    Jsonl {
        lines: std::io::Lines<BufReader<File>>,
        line: u64,
    },
}

/// Streams the rows of a trace file, checking each.
pub struct Reader {
    path: String,
    source: Source,
    /// The first row's absolute time, for `time` columns.
    origin: Option<f64>,
    last_t: f64,
}

fn is_jsonl(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e == "jsonl" || e == "ndjson")
}

impl Reader {
    pub fn open(path: &Path) -> Result<Reader, TraceError> {
        let shown = path.display().to_string();
        let file = File::open(path).map_err(|source| TraceError::Io {
            path: shown.clone(),
            source,
        })?;
        let source = if is_jsonl(path) {
            Source::Jsonl {
                lines: BufReader::new(file).lines(),
                line: 0,
            }
        } else {
            let mut rows = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .flexible(true)
                .from_reader(BufReader::new(file));
            let header = rows.headers().map_err(|e| csv_error(&shown, &e))?.clone();
            let cols = columns(&header).map_err(|message| TraceError::Row {
                path: shown.clone(),
                line: 1,
                column: 1,
                message,
            })?;
            Source::Csv {
                rows,
                cols,
                record: csv::StringRecord::new(),
            }
        };
        Ok(Reader {
            path: shown,
            source,
            origin: None,
            last_t: 0.0,
        })
    }

    fn bad(&self, line: u64, column: u64, message: impl Into<String>) -> TraceError {
        TraceError::Row {
            path: self.path.clone(),
            line,
            column,
            message: message.into(),
        }
    }

    /// The next row as its raw fields: (line, time text and its kind, bot, chat, kind).
    fn next_fields(&mut self) -> Option<Result<(u64, Fields), TraceError>> {
        match &mut self.source {
            Source::Csv { rows, cols, record } => match rows.read_record(record) {
                Err(e) => Some(Err(csv_error(&self.path, &e))),
                Ok(false) => None,
                Ok(true) => {
                    let line = record.position().map_or(0, |p| p.line());
                    let get = |i: usize| record.get(i).unwrap_or("").to_owned();
                    Some(Ok((
                        line,
                        Fields {
                            time: get(cols.time.0),
                            time_kind: cols.time.1,
                            bot: get(cols.bot),
                            chat: get(cols.chat),
                            kind: cols.kind.map(get).unwrap_or_default(),
                            columns: [cols.time.0, cols.bot, cols.chat, cols.kind.unwrap_or(0)]
                                .map(|c| c as u64 + 1),
                        },
                    )))
                }
            },
            Source::Jsonl { lines, line } => {
                loop {
                    let text = match lines.next()? {
                        Ok(t) => t,
                        Err(source) => {
                            return Some(Err(TraceError::Io {
                                path: self.path.clone(),
                                source,
                            }));
                        }
                    };
                    *line += 1;
                    if text.trim().is_empty() {
                        continue;
                    }
                    let n = *line;
                    return Some(json_fields(&text).map(|f| (n, f)).map_err(
                        |(column, message)| TraceError::Row {
                            path: self.path.clone(),
                            line: n,
                            column,
                            message,
                        },
                    ));
                }
            }
        }
    }
}

/// A row's fields as text, before they are checked.
struct Fields {
    time: String,
    time_kind: TimeColumn,
    bot: String,
    chat: String,
    kind: String,
    /// Column of time, bot, chat, kind (for errors).
    columns: [u64; 4],
}

impl Iterator for Reader {
    type Item = Result<Row, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (line, f) = match self.next_fields()? {
            Ok(x) => x,
            Err(e) => return Some(Err(e)),
        };
        let [c_time, c_bot, c_chat, c_kind] = f.columns;
        let time = match parse_time(&f.time, f.time_kind) {
            Ok(t) => t,
            Err(m) => return Some(Err(self.bad(line, c_time, m))),
        };
        let t_s = match f.time_kind {
            TimeColumn::Offset => time,
            TimeColumn::Absolute => time - *self.origin.get_or_insert(time),
        };
        if t_s + 1e-9 < self.last_t {
            return Some(Err(self.bad(
                line,
                c_time,
                format!(
                    "out of time order: {t_s} s after a row at {} s; sort the trace by time",
                    self.last_t
                ),
            )));
        }
        self.last_t = t_s;
        if f.bot.is_empty() {
            return Some(Err(self.bad(line, c_bot, "empty bot key")));
        }
        if f.chat.is_empty() {
            return Some(Err(self.bad(line, c_chat, "empty chat key")));
        }
        let kind = match f.kind.as_str() {
            "" | "message" => SendKind::Message,
            "callback" => SendKind::Callback,
            "group" => SendKind::Group {
                user_id: FIRST_CHAT_ID
                    + (key_hash(&format!("{}@{}", f.chat, f.time)) % CHAT_IDS) as i64,
            },
            other => {
                return Some(Err(self.bad(
                    line,
                    c_kind,
                    format!("kind {other:?}: expected message, callback or group"),
                )));
            }
        };
        Some(Ok(Row {
            t_s,
            bot: f.bot,
            chat: f.chat,
            kind,
        }))
    }
}

fn csv_error(path: &str, e: &csv::Error) -> TraceError {
    match e.kind() {
        csv::ErrorKind::Io(io) => TraceError::Io {
            path: path.to_owned(),
            source: std::io::Error::new(io.kind(), io.to_string()),
        },
        _ => TraceError::Row {
            path: path.to_owned(),
            line: e.position().map_or(0, |p| p.line()),
            column: 1,
            message: e.to_string(),
        },
    }
}

/// The header's columns: `t` or `time`, `bot`, `chat`, optional `kind`.
fn columns(header: &csv::StringRecord) -> Result<Columns, String> {
    let find = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let time = match (find("t"), find("time")) {
        (Some(i), None) => (i, TimeColumn::Offset),
        (None, Some(i)) => (i, TimeColumn::Absolute),
        (Some(_), Some(_)) => return Err("both t and time columns: give one".into()),
        (None, None) => {
            return Err(format!(
                "the header needs a t (seconds since the start) or time (absolute) column, \
                 and bot and chat; it has: {}",
                header.iter().collect::<Vec<_>>().join(", ")
            ));
        }
    };
    let need = |name: &str| find(name).ok_or_else(|| format!("the header has no {name} column"));
    Ok(Columns {
        time,
        bot: need("bot")?,
        chat: need("chat")?,
        kind: find("kind"),
    })
}

/// A JSON Lines row's fields; errors carry the character column.
fn json_fields(text: &str) -> Result<Fields, (u64, String)> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| (e.column() as u64, format!("not a JSON object: {e}")))?;
    let obj = v
        .as_object()
        .ok_or((1, "expected a JSON object per line".to_owned()))?;
    let text_of = |key: &str| -> Option<String> {
        obj.get(key).map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let (time, time_kind) = match (text_of("t"), text_of("time")) {
        (Some(t), None) => (t, TimeColumn::Offset),
        (None, Some(t)) => (t, TimeColumn::Absolute),
        _ => return Err((1, "expected one of t or time".to_owned())),
    };
    Ok(Fields {
        time,
        time_kind,
        bot: text_of("bot").ok_or((1, "no bot".to_owned()))?,
        chat: text_of("chat").ok_or((1, "no chat".to_owned()))?,
        kind: text_of("kind").unwrap_or_default(),
        columns: [1; 4],
    })
}

/// Seconds from a time field: a number (offset, or Unix seconds), or RFC 3339.
fn parse_time(text: &str, kind: TimeColumn) -> Result<f64, String> {
    if let Ok(v) = text.parse::<f64>() {
        if v.is_finite() && v >= 0.0 {
            return Ok(v);
        }
        return Err(format!("time {text}: expected a number of seconds ≥ 0"));
    }
    if kind == TimeColumn::Absolute
        && let Ok(t) = chrono::DateTime::parse_from_rfc3339(text)
    {
        return Ok(t.timestamp_micros() as f64 / 1e6);
    }
    Err(match kind {
        TimeColumn::Offset => format!("t {text:?}: expected seconds since the start, e.g. 12.5"),
        TimeColumn::Absolute => {
            format!("time {text:?}: expected Unix seconds or RFC 3339 (2026-12-06T20:15:03Z)")
        }
    })
}

/// A stable hash of a trace key (FNV-1a, 64 bits): the same chat key is the same simulated user
/// in every replay and on every machine.
fn key_hash(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A key as a trace shows it: 12 hex digits of its hash, so a platform's ids do not leave it.
pub fn anonymise(key: &str) -> String {
    format!("{:012x}", key_hash(key) & 0xffff_ffff_ffff)
}

/// Simulated users per bot a replay maps chat keys onto (by hash).
const CHAT_IDS: u64 = 1_000_000_000;

#[cfg(test)]
mod tests;
