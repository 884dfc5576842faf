//! A scenario that cannot be used, in words a scenario author reads: each problem names
//! the file, the line, the key, the value as written and what is allowed.

use std::fmt;

use super::locate::{self, Locator};

/// A scenario that cannot be used: one or more problems, each naming file, line and key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ScenarioError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// One problem in a scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: String,
    pub line: Option<usize>,
    /// `[load] model`, `[[sut]] #2 command`, or empty for the file as a whole.
    pub key: String,
    /// The value as written, when the problem is a value.
    pub value: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        if !self.key.is_empty() {
            f.write_str(&self.key)?;
            if let Some(v) = &self.value {
                write!(f, " = {v}")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

impl ScenarioError {
    pub(super) fn one(file: &str, message: String) -> Self {
        ScenarioError {
            problems: vec![Problem {
                file: file.to_string(),
                line: None,
                key: String::new(),
                value: None,
                message,
            }],
        }
    }
}

/// Turns a toml/serde error into a problem naming line and key, in plain words.
pub(super) fn from_toml_error(e: &toml::de::Error, file: &str, loc: &Locator<'_>) -> Problem {
    let message = e.message().trim().to_string();
    let span = e.span();
    let line = span.as_ref().map(|s| loc.line_of(s.start));
    let found = span.as_ref().and_then(|s| loc.at(s.start));
    let mut key = found
        .as_ref()
        .map(|f| locate::render(&f.path))
        .unwrap_or_default();
    let found_any = found.is_some();
    let mut value = found.and_then(|f| f.value);

    let message = if let Some(rest) = message.strip_prefix("unknown field ") {
        // "unknown field `botz`, expected one of `bots`, `rtt_ms`"
        let (field, allowed) = split_expected(rest);
        if key.is_empty() {
            key = field;
        }
        value = None;
        format!("unknown key; expected one of {allowed}")
    } else if let Some(rest) = message.strip_prefix("unknown variant ") {
        let (_, allowed) = split_expected(rest);
        format!("expected one of {allowed}")
    } else if let Some(rest) = message.strip_prefix("missing field ") {
        value = None;
        format!("missing key {} (required)", rest.replace('`', ""))
    } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
        plain_types(&message)
    } else if span.is_some() && !found_any && key.is_empty() {
        format!("TOML syntax: {}", first_line(&message))
    } else {
        plain_types(&message)
    };
    Problem {
        file: file.to_string(),
        line,
        key,
        value,
        message,
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// "`x`, expected one of `a`, `b`" → ("x", "a, b").
fn split_expected(rest: &str) -> (String, String) {
    let (what, allowed) = rest.split_once(", expected").unwrap_or((rest, ""));
    let allowed = allowed
        .trim()
        .trim_start_matches("one of")
        .trim_start_matches("a ")
        .trim()
        .replace('`', "");
    (what.replace('`', ""), allowed)
}

/// Serde's Rust type names in words a scenario author reads.
fn plain_types(message: &str) -> String {
    message
        .replace("expected f64", "expected a number")
        .replace("expected u64", "expected a whole number ≥ 0")
        .replace("expected u32", "expected a whole number ≥ 0")
        .replace("expected a boolean", "expected true or false")
}
