//! What a trace holds, from one pass over it: `tgbench trace stats`, `tgbench validate`
//! and the run's sizing read it.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::{Reader, TraceError, key_hash};
use crate::send::SendKind;

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
