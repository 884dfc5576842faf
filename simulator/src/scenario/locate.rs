//! Where a key sits in a scenario file: byte offsets to lines, key paths to spans, and
//! spans back to key paths, so every error can name its line and key.

use std::ops::Range;

use toml_edit::{ImDocument, Item, Table, TableLike, Value};

/// One step of a key path: a table key or an index into an array (of tables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl From<&str> for Seg {
    fn from(key: &str) -> Self {
        Seg::Key(key.to_string())
    }
}

impl From<usize> for Seg {
    fn from(index: usize) -> Self {
        Seg::Index(index)
    }
}

/// Builds a path: `key_path!["sut", 1, "command"]`.
macro_rules! key_path {
    ($($seg:expr),* $(,)?) => { vec![$($crate::scenario::locate::Seg::from($seg)),*] };
}
pub(crate) use key_path;

/// Renders a key path the way a person reads the file: `[load] model`,
/// `[[sut]] #2 kind`, `[[sut]] #1 telegram.anti_spin`, `name`.
pub fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    let mut rest = path;
    if path.len() >= 2
        && let Seg::Key(table) = &path[0]
    {
        match &path[1] {
            Seg::Index(i) => {
                out.push_str(&format!("[[{table}]] #{}", i + 1));
                rest = &path[2..];
            }
            Seg::Key(_) => {
                out.push_str(&format!("[{table}]"));
                rest = &path[1..];
            }
        }
    }
    let mut dotted = String::new();
    for seg in rest {
        match seg {
            Seg::Key(k) => {
                if !dotted.is_empty() {
                    dotted.push('.');
                }
                dotted.push_str(k);
            }
            Seg::Index(i) => dotted.push_str(&format!("[{i}]")),
        }
    }
    if !dotted.is_empty() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&dotted);
    }
    out
}

/// A parsed view of the file with spans.
pub struct Locator<'a> {
    text: &'a str,
    doc: Option<ImDocument<&'a str>>,
}

/// What [`Locator::at`] found at an offset.
pub struct Found {
    pub path: Vec<Seg>,
    /// The raw source text of the value, when the offset is in a value.
    pub value: Option<String>,
}

impl<'a> Locator<'a> {
    pub fn new(text: &'a str) -> Self {
        Locator {
            text,
            doc: ImDocument::parse(text).ok(),
        }
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// The source text of a span, trimmed and shortened for messages.
    pub fn snippet(&self, span: Range<usize>) -> String {
        let raw = self.text.get(span).unwrap_or("").trim();
        let one_line = raw.lines().next().unwrap_or("");
        if one_line.chars().count() > 60 || one_line.len() < raw.len() {
            let short: String = one_line.chars().take(57).collect();
            format!("{short}…")
        } else {
            one_line.to_string()
        }
    }

    /// The line of a key path's key (or of the nearest enclosing table the file has).
    pub fn line_of_path(&self, path: &[Seg]) -> Option<usize> {
        let doc = self.doc.as_ref()?;
        span_in_table(doc.as_table(), path).map(|s| self.line_of(s.start))
    }

    /// The deepest key whose key or value span contains `offset`.
    pub fn at(&self, offset: usize) -> Option<Found> {
        let doc = self.doc.as_ref()?;
        let mut best: Option<Found> = None;
        walk_table(doc.as_table(), &mut Vec::new(), offset, self, &mut best);
        best
    }
}

fn span_in_table(table: &dyn TableLike, path: &[Seg]) -> Option<Range<usize>> {
    let (Seg::Key(k), rest) = path.split_first()? else {
        return None;
    };
    let (key, item) = table.get_key_value(k)?;
    let here = key.span().or_else(|| item.span());
    if rest.is_empty() {
        return here;
    }
    span_in_item(item, rest).or(here)
}

fn span_in_item(item: &Item, path: &[Seg]) -> Option<Range<usize>> {
    match (item, path.first()?) {
        (Item::ArrayOfTables(a), Seg::Index(i)) => {
            let t = a.get(*i)?;
            match &path[1..] {
                [] => t.span(),
                rest => span_in_table(t, rest).or_else(|| t.span()),
            }
        }
        (Item::Value(Value::Array(a)), Seg::Index(i)) => a.get(*i)?.span(),
        _ => span_in_table(item.as_table_like()?, path),
    }
}

fn contains(span: &Option<Range<usize>>, offset: usize) -> bool {
    span.as_ref()
        .is_some_and(|s| s.start <= offset && offset < s.end.max(s.start + 1))
}

fn consider(best: &mut Option<Found>, path: &[Seg], value: Option<String>) {
    let deeper = best.as_ref().is_none_or(|b| path.len() >= b.path.len());
    if deeper {
        *best = Some(Found {
            path: path.to_vec(),
            value,
        });
    }
}

fn walk_table(
    table: &Table,
    path: &mut Vec<Seg>,
    offset: usize,
    loc: &Locator<'_>,
    best: &mut Option<Found>,
) {
    for (k, item) in table.iter() {
        let key_span = table.key(k).and_then(|key| key.span());
        path.push(Seg::Key(k.to_string()));
        if contains(&key_span, offset) {
            consider(best, path, None);
        }
        walk_item(item, path, offset, loc, best);
        path.pop();
    }
}

fn walk_item(
    item: &Item,
    path: &mut Vec<Seg>,
    offset: usize,
    loc: &Locator<'_>,
    best: &mut Option<Found>,
) {
    match item {
        Item::Value(v) => walk_value(v, path, offset, loc, best),
        Item::Table(t) => {
            if contains(&t.span(), offset) {
                consider(best, path, None);
            }
            walk_table(t, path, offset, loc, best);
        }
        Item::ArrayOfTables(a) => {
            for (i, t) in a.iter().enumerate() {
                path.push(Seg::Index(i));
                if contains(&t.span(), offset) {
                    consider(best, path, None);
                }
                walk_table(t, path, offset, loc, best);
                path.pop();
            }
        }
        Item::None => {}
    }
}

fn walk_value(
    v: &Value,
    path: &mut Vec<Seg>,
    offset: usize,
    loc: &Locator<'_>,
    best: &mut Option<Found>,
) {
    let span = v.span();
    if contains(&span, offset) {
        consider(best, path, span.map(|s| loc.snippet(s)));
    }
    match v {
        Value::InlineTable(t) => {
            for (k, inner) in t.iter() {
                let key_span = t.key(k).and_then(|key| key.span());
                path.push(Seg::Key(k.to_string()));
                if contains(&key_span, offset) {
                    consider(best, path, None);
                }
                walk_value(inner, path, offset, loc, best);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, inner) in a.iter().enumerate() {
                path.push(Seg::Index(i));
                walk_value(inner, path, offset, loc, best);
                path.pop();
            }
        }
        _ => {}
    }
}
