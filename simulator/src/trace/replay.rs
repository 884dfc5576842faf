//! A phase's sends read from a trace as they fall due (`[load] model = "replay"`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use super::{CHAT_IDS, Reader, key_hash};
use crate::send::{FIRST_CHAT_ID, FIRST_GROUP_CHAT_ID, Send, SendKind};

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
