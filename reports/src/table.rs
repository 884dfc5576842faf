//! A table built once and written as Markdown or HTML, so the summary, the claims verdicts
//! and the compare deltas read the same in `report.md`, `report.html` and a CI log.

use std::fmt::Write as _;

use crate::text::{escape, md_cell};

/// How a cell reads: colours in HTML; Markdown keeps the text (which carries its own mark).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Tone {
    #[default]
    Plain,
    Good,
    Bad,
    Warn,
    Muted,
}

impl Tone {
    fn class(self) -> Option<&'static str> {
        match self {
            Tone::Plain => None,
            Tone::Good => Some("good"),
            Tone::Bad => Some("bad"),
            Tone::Warn => Some("warn"),
            Tone::Muted => Some("muted"),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub text: String,
    pub tone: Tone,
}

impl Cell {
    pub fn new(text: impl Into<String>, tone: Tone) -> Self {
        Self {
            text: text.into(),
            tone,
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self::new(text, Tone::Plain)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self::new(text, Tone::Plain)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Columns (by index) holding numbers: right-aligned.
    pub numeric: Vec<usize>,
}

impl Table {
    pub fn new(headers: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            headers: headers.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    /// A GitHub-flavoured Markdown pipe table.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "| {} |",
            self.headers
                .iter()
                .map(|h| md_cell(h))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let rule: Vec<&str> = (0..self.headers.len())
            .map(|i| {
                if self.numeric.contains(&i) {
                    "---:"
                } else {
                    "---"
                }
            })
            .collect();
        let _ = writeln!(s, "|{}|", rule.join("|"));
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|c| md_cell(&c.text)).collect();
            let _ = writeln!(s, "| {} |", cells.join(" | "));
        }
        s
    }

    /// An HTML table in a horizontally scrolling wrapper (phones), text escaped.
    pub fn to_html(&self, class: &str) -> String {
        let mut s = format!(
            r#"<div class="table-wrap"><table class="{}"><thead><tr>"#,
            escape(class)
        );
        for (i, h) in self.headers.iter().enumerate() {
            let num = if self.numeric.contains(&i) {
                r#" class="num""#
            } else {
                ""
            };
            let _ = write!(s, "<th{num}>{}</th>", escape(h));
        }
        s.push_str("</tr></thead><tbody>");
        for row in &self.rows {
            s.push_str("<tr>");
            for (i, c) in row.iter().enumerate() {
                let mut classes = Vec::new();
                if self.numeric.contains(&i) {
                    classes.push("num");
                }
                if let Some(t) = c.tone.class() {
                    classes.push(t);
                }
                let attr = if classes.is_empty() {
                    String::new()
                } else {
                    format!(r#" class="{}""#, classes.join(" "))
                };
                // data-label: the column's header, shown beside the value when a narrow
                // screen lays a row out as a card (CSS `table.cards`).
                let label = self.headers.get(i).map_or("", String::as_str);
                if i == 0 {
                    let _ = write!(s, r#"<th scope="row"{attr}>{}</th>"#, escape(&c.text));
                } else {
                    let _ = write!(
                        s,
                        r#"<td data-label="{}"{attr}>{}</td>"#,
                        escape(label),
                        escape(&c.text)
                    );
                }
            }
            s.push_str("</tr>");
        }
        s.push_str("</tbody></table></div>");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_markdown_and_escaped_html() {
        let mut t = Table::new(["SUT", "p99 ms"]);
        t.numeric = vec![1];
        t.push(vec!["a|<b>".into(), Cell::new("812", Tone::Bad)]);
        let md = t.to_markdown();
        assert_eq!(md, "| SUT | p99 ms |\n|---|---:|\n| a\\|<b> | 812 |\n");
        let html = t.to_html("summary");
        assert!(html.contains(r#"<th scope="row">a|&lt;b&gt;</th>"#));
        assert!(html.contains(r#"<td data-label="p99 ms" class="num bad">812</td>"#));
    }
}
