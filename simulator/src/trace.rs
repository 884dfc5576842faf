//! Traces: a platform's own traffic, replayed (`[load] model = "replay"`), described
//! (`tgbench trace stats`), made from a platform's log (`tgbench trace from-log`), or
//! generated as an example (`tgbench trace generate`).
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

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::schedule::{FIRST_CHAT_ID, FIRST_GROUP_CHAT_ID, Send, SendKind};

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

/// What a trace holds, from one pass over it.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub rows: u64,
    /// From the first row to the last, seconds.
    pub duration_s: f64,
    /// Messages per bot, in order of first appearance (the bot it is mapped onto).
    pub per_bot: Vec<u64>,
    pub chats: u64,
    pub callbacks: u64,
    /// Messages in each hour of the trace (hour 0 = its first hour).
    pub per_hour: Vec<u64>,
    /// The busiest 10-second window, messages per second.
    pub peak_per_s: f64,
    /// Gaps between one bot's consecutive messages, seconds: p50, p90, p99, max.
    pub gap_s: [f64; 4],
}

impl Summary {
    /// Messages per second over the whole trace.
    pub fn mean_per_s(&self) -> f64 {
        if self.duration_s > 0.0 {
            self.rows as f64 / self.duration_s
        } else {
            0.0
        }
    }

    /// The length one loop of the trace takes: its duration plus one mean gap, so the
    /// next pass's first row does not land on the last one.
    pub fn period_s(&self) -> f64 {
        if self.rows > 1 {
            self.duration_s * self.rows as f64 / (self.rows - 1) as f64
        } else {
            1.0
        }
    }

    /// Share of all messages that the busiest `share` of bots get (0.1: the top tenth).
    pub fn top_share(&self, share: f64) -> f64 {
        let mut counts = self.per_bot.clone();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let n = ((counts.len() as f64 * share).ceil() as usize).clamp(1, counts.len().max(1));
        let top: u64 = counts.iter().take(n).sum();
        if self.rows > 0 {
            top as f64 / self.rows as f64
        } else {
            0.0
        }
    }
}

/// Reads a whole trace once, checking every row.
pub fn scan(path: &Path) -> Result<Summary, TraceError> {
    let mut bots: HashMap<String, (usize, f64)> = HashMap::new();
    let mut per_bot: Vec<u64> = Vec::new();
    let mut chats: HashSet<(usize, u64)> = HashSet::new();
    let mut per_hour: Vec<u64> = Vec::new();
    let mut gaps = tgbench_reports::histogram::new_latency_histogram();
    let mut window: std::collections::VecDeque<f64> = std::collections::VecDeque::new();
    let (mut rows, mut callbacks, mut last, mut peak) = (0u64, 0u64, 0.0f64, 0usize);
    for row in Reader::open(path)? {
        let row = row?;
        rows += 1;
        last = row.t_s;
        let next = bots.len();
        let entry = bots.entry(row.bot).or_insert((next, f64::NAN));
        if entry.0 == per_bot.len() {
            per_bot.push(0);
        }
        per_bot[entry.0] += 1;
        if entry.1.is_finite() {
            let gap_ms = ((row.t_s - entry.1) * 1000.0).round() as u64;
            let _ = gaps.record(gap_ms.clamp(1, tgbench_reports::histogram::MAX_LATENCY_US));
        }
        entry.1 = row.t_s;
        chats.insert((entry.0, key_hash(&row.chat)));
        if row.kind == SendKind::Callback {
            callbacks += 1;
        }
        let hour = (row.t_s / 3600.0) as usize;
        if per_hour.len() <= hour {
            per_hour.resize(hour + 1, 0);
        }
        per_hour[hour] += 1;
        window.push_back(row.t_s);
        while window.front().is_some_and(|&t| t <= row.t_s - 10.0) {
            window.pop_front();
        }
        peak = peak.max(window.len());
    }
    let q = |p: f64| {
        if gaps.is_empty() {
            0.0
        } else {
            gaps.value_at_quantile(p) as f64 / 1000.0
        }
    };
    Ok(Summary {
        rows,
        duration_s: last,
        per_bot,
        chats: chats.len() as u64,
        callbacks,
        per_hour,
        peak_per_s: peak as f64 / 10.0,
        gap_s: [q(0.5), q(0.9), q(0.99), gaps.max() as f64 / 1000.0],
    })
}

/// A stable hash of a trace key (FNV-1a, 64 bits): the same chat key is the same simulated user
/// in every replay and on every machine.
fn key_hash(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Simulated users per bot a replay maps chat keys onto (by hash).
const CHAT_IDS: u64 = 1_000_000_000;

/// How a phase replays a trace.
#[derive(Debug, Clone)]
pub struct ReplayPlan {
    pub path: PathBuf,
    /// Time compression: 60 plays an hour of the trace in a minute.
    pub speed: f64,
    /// Trace second at which the phase starts.
    pub start_s: f64,
    /// Start the trace again when it ends (shifted by one [`Summary::period_s`]).
    pub looped: Option<f64>,
}

/// The sends of one phase of `duration`, read from the trace as they are due: rows from
/// `start_s` to `start_s + duration × speed` of trace time, at `(t - start_s) / speed`.
pub struct Replay {
    plan: ReplayPlan,
    reader: Option<Reader>,
    end_s: f64,
    /// The offset of the current pass (loops).
    offset_s: f64,
    bots: HashMap<String, u32>,
}

impl Replay {
    pub fn new(plan: ReplayPlan, duration: Duration) -> Replay {
        let end_s = plan.start_s + duration.as_secs_f64() * plan.speed;
        Replay {
            reader: None,
            end_s,
            offset_s: 0.0,
            bots: HashMap::new(),
            plan,
        }
    }

    fn open(&mut self) -> Option<&mut Reader> {
        if self.reader.is_none() {
            match Reader::open(&self.plan.path) {
                Ok(r) => self.reader = Some(r),
                Err(e) => {
                    eprintln!("tgbench: replay stopped: {e}");
                    return None;
                }
            }
        }
        self.reader.as_mut()
    }
}

impl Iterator for Replay {
    type Item = Send;

    fn next(&mut self) -> Option<Send> {
        loop {
            let row = match self.open()?.next() {
                Some(Ok(row)) => row,
                Some(Err(e)) => {
                    // Scanned before the run: the file changed since.
                    eprintln!("tgbench: replay stopped: {e}");
                    return None;
                }
                None => {
                    let period = self.plan.looped?;
                    self.offset_s += period;
                    self.reader = None;
                    if self.offset_s >= self.end_s {
                        return None;
                    }
                    continue;
                }
            };
            let next = self.bots.len() as u32;
            let bot = *self.bots.entry(row.bot).or_insert(next);
            let t = row.t_s + self.offset_s;
            if t < self.plan.start_s {
                continue;
            }
            if t >= self.end_s {
                return None;
            }
            let chat_id = match row.kind {
                SendKind::Group { .. } => {
                    -(FIRST_GROUP_CHAT_ID + (key_hash(&row.chat) % CHAT_IDS) as i64)
                }
                _ => FIRST_CHAT_ID + (key_hash(&row.chat) % CHAT_IDS) as i64,
            };
            return Some(Send {
                at: Duration::from_secs_f64((t - self.plan.start_s) / self.plan.speed),
                bot,
                chat_id,
                kind: row.kind,
            });
        }
    }
}

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

/// A key as a trace shows it: 12 hex digits of its hash, so a platform's ids do not leave it.
pub fn anonymise(key: &str) -> String {
    format!("{:012x}", key_hash(key) & 0xffff_ffff_ffff)
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

impl Summary {
    /// What `tgbench trace stats` prints.
    pub fn render(&self, file: &str) -> String {
        use std::fmt::Write as _;
        use tgbench_reports::text::{count, num};
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{file}: {} messages over {} h from {} bots ({} chats, {} button presses)",
            count(self.rows),
            num(self.duration_s / 3600.0),
            count(self.per_bot.len() as u64),
            count(self.chats),
            count(self.callbacks)
        );
        let _ = writeln!(
            s,
            "rate: mean {}/s, busiest 10 s {}/s; replay at speed S multiplies both by S",
            num(self.mean_per_s()),
            num(self.peak_per_s)
        );
        let _ = writeln!(
            s,
            "bots: the busiest 1 % get {} % of messages, the busiest 10 % {} %, the busiest half {} %",
            num(self.top_share(0.01) * 100.0),
            num(self.top_share(0.1) * 100.0),
            num(self.top_share(0.5) * 100.0)
        );
        let [p50, p90, p99, max] = self.gap_s;
        let _ = writeln!(
            s,
            "gaps between one bot's messages: p50 {} s, p90 {} s, p99 {} s, max {} s",
            num(p50),
            num(p90),
            num(p99),
            num(max)
        );
        let busiest = self.per_hour.iter().copied().max().unwrap_or(0).max(1);
        let _ = writeln!(s, "messages per hour of the trace:");
        for (h, n) in self.per_hour.iter().enumerate() {
            let bar = "#".repeat((*n * 40).div_ceil(busiest) as usize);
            let _ = writeln!(s, "  {h:>4}  {:>9}  {bar}", count(*n));
        }
        s
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn csv_and_jsonl_read_the_same_rows() {
        let (_d, csv) = file(
            "t.csv",
            "t,bot,chat,kind\n0,alice-bot,u1,message\n1.5,bob-bot,u9,\n2,alice-bot,u1,callback\n",
        );
        let (_e, jl) = file(
            "t.jsonl",
            "{\"t\":0,\"bot\":\"alice-bot\",\"chat\":\"u1\"}\n\n{\"t\":1.5,\"bot\":\"bob-bot\",\"chat\":\"u9\"}\n{\"t\":2,\"bot\":\"alice-bot\",\"chat\":\"u1\",\"kind\":\"callback\"}\n",
        );
        let a: Vec<Row> = Reader::open(&csv).unwrap().map(Result::unwrap).collect();
        let b: Vec<Row> = Reader::open(&jl).unwrap().map(Result::unwrap).collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), 3);
        assert_eq!(a[2].kind, SendKind::Callback);
        let s = scan(&csv).unwrap();
        assert_eq!(
            (s.rows, s.per_bot.clone(), s.chats, s.callbacks),
            (3, vec![2, 1], 2, 1)
        );
        assert_eq!(s.duration_s, 2.0);
        assert_eq!(s.gap_s[3], 2.0, "alice's two messages 2 s apart");
        let text = s.render("t.csv");
        assert!(
            text.starts_with(
                "t.csv: 3 messages over 0.00 h from 2 bots (2 chats, 1 button presses)"
            ),
            "{text}"
        );
        assert!(text.contains("the busiest half 66.7 %"), "{text}");
        assert!(text.contains("     0          3  ####"), "{text}");
    }

    #[test]
    fn a_generated_trace_is_a_valid_day_with_an_evening_peak() {
        let rows: Vec<Row> = generate(10, 24.0, 0.25, 42).collect();
        let mut out = Vec::new();
        write_csv(&mut out, rows.clone().into_iter()).unwrap();
        let (_d, p) = file("g.csv", std::str::from_utf8(&out).unwrap());
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

    #[test]
    fn absolute_times_count_from_the_first_row() {
        let (_d, p) = file(
            "t.csv",
            "time,bot,chat\n2026-12-06T20:00:00Z,a,1\n2026-12-06T20:00:30.5Z,a,2\n",
        );
        let rows: Vec<Row> = Reader::open(&p).unwrap().map(Result::unwrap).collect();
        assert_eq!(rows[1].t_s, 30.5);
    }

    #[test]
    fn a_bad_row_names_file_line_and_column() {
        let (_d, p) = file("t.csv", "t,bot,chat\n0,a,1\nsoon,a,1\n");
        let e = Reader::open(&p)
            .unwrap()
            .nth(1)
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("t.csv:3:1: t \"soon\": expected seconds since the start, e.g. 12.5"),
            "{e}"
        );
        let (_d, p) = file("t.csv", "t,bot,chat\n5,a,1\n4,a,1\n");
        let e = scan(&p).unwrap_err().to_string();
        assert!(e.contains("t.csv:3:1: out of time order"), "{e}");
        let (_d, p) = file("t.csv", "t,bot,chat,kind\n5,a,1,sticker\n");
        let e = scan(&p).unwrap_err().to_string();
        assert!(e.contains("t.csv:2:4: kind \"sticker\""), "{e}");
        let (_d, p) = file("t.csv", "when,bot,chat\n5,a,1\n");
        let e = scan(&p).unwrap_err().to_string();
        assert!(e.contains("t.csv:1:1: the header needs a t"), "{e}");
        let (_d, p) = file(
            "t.jsonl",
            "{\"t\":1,\"bot\":\"a\",\"chat\":\"c\"}\n{\"t\": 2, \"bot\": }\n",
        );
        let e = scan(&p).unwrap_err().to_string();
        assert!(e.contains("t.jsonl:2:"), "{e}");
    }

    #[test]
    fn group_rows_go_to_a_group_chat_written_by_one_of_the_bots_users() {
        let (_d, p) = file(
            "t.csv",
            "t,bot,chat,kind\n0,x,fans,group\n1,x,fans,group\n2,x,u1,message\n3,x,fans,group\n",
        );
        let plan = ReplayPlan {
            path: p,
            speed: 1.0,
            start_s: 0.0,
            looped: None,
        };
        let sends: Vec<Send> = Replay::new(plan, Duration::from_secs(10)).collect();
        let group = sends[0].chat_id;
        assert!(group < 0, "{group}");
        assert_eq!((sends[1].chat_id, sends[3].chat_id), (group, group));
        assert!(sends[2].chat_id > 0);
        let users: HashSet<i64> = [0, 1, 3]
            .iter()
            .map(|&i| match sends[i].kind {
                SendKind::Group { user_id } => user_id,
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(users.iter().all(|u| *u >= FIRST_CHAT_ID));
        assert!(users.len() > 1, "rows of one group come from several users");
        let mut out = Vec::new();
        write_csv(
            &mut out,
            [Row {
                t_s: 0.0,
                bot: "b".into(),
                chat: "g".into(),
                kind: SendKind::Group { user_id: 5 },
            }]
            .into_iter(),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "t,bot,chat,kind\n0.000,b,g,group\n"
        );
    }

    #[test]
    fn a_replay_compresses_time_maps_keys_consistently_and_loops() {
        let (_d, p) = file("t.csv", "t,bot,chat\n0,x,u1\n60,y,u2\n120,x,u1\n180,z,u3\n");
        let plan = ReplayPlan {
            path: p.clone(),
            speed: 60.0,
            start_s: 60.0,
            looped: None,
        };
        // From trace second 60, 2 s at 60× = trace seconds 60-180 (180 excluded).
        let sends: Vec<Send> = Replay::new(plan.clone(), Duration::from_secs(2)).collect();
        let at: Vec<f64> = sends.iter().map(|s| s.at.as_secs_f64()).collect();
        assert_eq!(at, [0.0, 1.0]);
        // Bots are numbered by first appearance in the trace (x before y), skipped rows too.
        assert_eq!(sends.iter().map(|s| s.bot).collect::<Vec<_>>(), [1, 0]);
        // The same chat key is the same user.
        let all: Vec<Send> = Replay::new(
            ReplayPlan {
                start_s: 0.0,
                ..plan.clone()
            },
            Duration::from_secs(4),
        )
        .collect();
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].chat_id, all[2].chat_id);
        assert_ne!(all[0].chat_id, all[1].chat_id);
        // Looping: the 4-row, 180 s trace repeats every 240 s.
        let s = scan(&p).unwrap();
        assert_eq!(s.period_s(), 240.0);
        let looped: Vec<Send> = Replay::new(
            ReplayPlan {
                start_s: 0.0,
                looped: Some(s.period_s()),
                ..plan
            },
            Duration::from_secs(10),
        )
        .collect();
        let at: Vec<f64> = looped.iter().map(|s| s.at.as_secs_f64()).collect();
        assert_eq!(at, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        assert_eq!(looped[4].bot, 0, "the second pass keeps the mapping");
    }

    #[test]
    fn a_log_becomes_a_sorted_anonymised_trace() {
        let (_d, p) = file(
            "log.csv",
            "ts,bot_id,user_id,type\n1765051230000,777,42,message\n1765051200000,777,43,callback_query\n",
        );
        let rows = from_log(&p, "ts", "bot_id", "user_id", Some("type")).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].t_s, rows[1].t_s), (0.0, 30.0));
        assert_eq!(rows[0].kind, SendKind::Callback);
        assert_eq!(rows[0].bot, rows[1].bot);
        assert!(!rows[0].bot.contains("777") && rows[0].bot.len() == 12);
        let mut out = Vec::new();
        assert_eq!(write_csv(&mut out, rows.into_iter()).unwrap(), 2);
        let (_e, t) = file("t.csv", std::str::from_utf8(&out).unwrap());
        assert_eq!(scan(&t).unwrap().rows, 2);
        let e = from_log(&p, "time", "bot_id", "user_id", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no column \"time\""), "{e}");
    }
}
