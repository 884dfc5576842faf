//! `tgbench compare --format github`: GitHub Actions workflow commands (one `::error` per
//! regression, a `::warning` per change over its limit but within run-to-run noise, an
//! `::error` for unusable input, a `::notice` when all is well), then the Markdown.

use std::fmt::Write as _;

use super::Report;
use super::markdown::Markdown;
use crate::compare::{Comparison, Outcome, Status};
use crate::text::{num, pct_change};

#[derive(Debug, Default)]
pub struct Github {
    annotations: String,
    markdown: Markdown,
}

impl Github {
    /// The annotations, then the Markdown of the same sections.
    pub fn into_text(self) -> String {
        self.annotations + &self.markdown.into_text()
    }
}

impl Report for Github {
    fn comparison(&mut self, c: &Comparison) {
        let s = &mut self.annotations;
        match &c.outcome {
            Outcome::Unusable(why) => {
                let _ = writeln!(
                    s,
                    "::error title={}::{}",
                    gh_property("tgbench compare: unusable input"),
                    gh_data(why)
                );
            }
            Outcome::Ok => {
                let _ = writeln!(
                    s,
                    "::notice title={}::{}",
                    gh_property("tgbench compare: ok"),
                    gh_data(&c.headline())
                );
            }
            Outcome::Regression(_) => {}
        }
        for d in &c.deltas {
            let (level, what) = match d.status {
                Status::Regression => ("error", "regression"),
                Status::Noise => ("warning", "over the limit but within run-to-run noise"),
                _ => continue,
            };
            let title = format!("tgbench {what}: {} ({})", d.metric.key(), d.sut);
            let msg = format!(
                "{}: {} → {} ({}; limit {})",
                d.metric.describe(),
                num(d.baseline),
                num(d.current),
                pct_change(d.change),
                d.limit.map_or_else(|| "none".into(), |l| l.to_string())
            );
            let _ = writeln!(
                s,
                "::{level} title={}::{}",
                gh_property(&title),
                gh_data(&msg)
            );
        }
        self.markdown.comparison(c);
    }
}

/// Escapes a workflow command's message.
fn gh_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn gh_property(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_escaping_keeps_commands_on_one_line() {
        assert_eq!(gh_data("50%\nx"), "50%25%0Ax");
        assert_eq!(gh_property("a: b, c"), "a%3A b%2C c");
    }
}
