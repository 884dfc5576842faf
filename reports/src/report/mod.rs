//! Every output of this crate, section by section: `report.md` and `report.html` of
//! `tgbench report` (with the claims verdicts of `tgbench claims` on top), what
//! `tgbench compare` prints, and the summary a run prints when it ends.
//!
//! One [`Report`] trait with a method per section, each a no-op by default; one
//! implementation per format ([`markdown::Markdown`], [`html::Html`],
//! [`github::Github`] for CI annotations, [`console::Console`] for the end of a run); and
//! a fan-out, [`Reports`], that calls every enabled format in the same order (the layout
//! of criterion.rs's reports: a format is added by implementing the trait, never by a
//! renderer beside it). What the sections show is built once, format-free: [`ReportData`]
//! ([`data`]) and the tables and notes of [`tables`].

pub mod console;
pub mod data;
pub mod github;
pub mod html;
pub mod markdown;
pub mod tables;

use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::Error;
use crate::claims::ClaimsTable;
use crate::compare::Comparison;
use crate::cost::Prices;
use crate::decision::{self, Decision};
use crate::rows::Input;

pub use data::{ReportData, Warning};

/// One output format. [`Reports::render`] calls the sections of a report in declaration
/// order, each once; every method is a no-op by default so a format implements only what
/// it shows.
pub trait Report {
    fn begin(&mut self, _data: &ReportData<'_>) {}
    /// The decision summary: cheapest, fastest, which need no endpoint, what would change it.
    fn decision(&mut self, _decision: &Decision) {}
    /// The claims verdict table, on top of the claims report.
    fn claims(&mut self, _table: &ClaimsTable) {}
    fn warnings(&mut self, _data: &ReportData<'_>) {}
    fn summary(&mut self, _data: &ReportData<'_>) {}
    fn latency(&mut self, _data: &ReportData<'_>) {}
    fn requests(&mut self, _data: &ReportData<'_>) {}
    /// Serverless SUTs: the platform's invocations, cold starts, billing.
    fn serverless(&mut self, _data: &ReportData<'_>) {}
    fn timeseries(&mut self, _data: &ReportData<'_>) {}
    fn capacity(&mut self, _data: &ReportData<'_>) {}
    fn environment(&mut self, _data: &ReportData<'_>) {}
    /// The whole output of `tgbench compare` (not a section of `report.md`).
    fn comparison(&mut self, _comparison: &Comparison) {}
    /// Writes the format's file(s) into `out_dir` and returns their paths.
    fn finish(&mut self, _out_dir: &Path) -> Result<Vec<PathBuf>, Error> {
        Ok(Vec::new())
    }
}

/// The fan-out: every enabled format, called in turn.
#[derive(Default)]
pub struct Reports {
    formats: Vec<Box<dyn Report>>,
}

impl Reports {
    /// Markdown and HTML, the two files `tgbench report` writes.
    pub fn standard() -> Self {
        Self {
            formats: vec![
                Box::new(markdown::Markdown::default()),
                Box::new(html::Html::default()),
            ],
        }
    }

    pub fn with(mut self, format: Box<dyn Report>) -> Self {
        self.formats.push(format);
        self
    }

    /// Runs every section of a report in order, then `finish`.
    pub fn render(
        &mut self,
        data: &ReportData<'_>,
        claims: Option<&ClaimsTable>,
        out_dir: &Path,
    ) -> Result<Vec<PathBuf>, Error> {
        self.begin(data);
        // The claims' configurations when there are claims; otherwise the rows, when they
        // compare a polling and a webhook transport (at the embedded prices).
        let decision = match claims {
            Some(t) => t.decision.clone(),
            None => decision::of_rows(&data.rows, data.several_files, &Prices::default()),
        };
        if let Some(d) = &decision {
            self.decision(d);
        }
        if let Some(t) = claims {
            self.claims(t);
        }
        self.warnings(data);
        self.summary(data);
        self.latency(data);
        self.requests(data);
        self.serverless(data);
        self.timeseries(data);
        self.capacity(data);
        self.environment(data);
        self.finish(out_dir)
    }
}

macro_rules! fan_out {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $name(&mut self, $($arg: $ty),*) {
            for f in &mut self.formats {
                f.$name($($arg),*);
            }
        })*
    };
}

impl Report for Reports {
    fan_out! {
        begin(data: &ReportData<'_>);
        decision(decision: &Decision);
        claims(table: &ClaimsTable);
        warnings(data: &ReportData<'_>);
        summary(data: &ReportData<'_>);
        latency(data: &ReportData<'_>);
        requests(data: &ReportData<'_>);
        serverless(data: &ReportData<'_>);
        timeseries(data: &ReportData<'_>);
        capacity(data: &ReportData<'_>);
        environment(data: &ReportData<'_>);
        comparison(comparison: &Comparison);
    }

    fn finish(&mut self, out_dir: &Path) -> Result<Vec<PathBuf>, Error> {
        let mut written = Vec::new();
        for f in &mut self.formats {
            written.extend(f.finish(out_dir)?);
        }
        Ok(written)
    }
}

/// How `tgbench compare` prints a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// [`markdown::Markdown`].
    #[default]
    Markdown,
    /// [`github::Github`]: GitHub Actions workflow commands (`::error title=…::…`), then the
    /// Markdown.
    Github,
}

impl FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "markdown" | "md" => Ok(Self::Markdown),
            "github" => Ok(Self::Github),
            other => Err(format!(
                "unknown format \"{other}\" (known: markdown, github)"
            )),
        }
    }
}

impl Comparison {
    /// What `tgbench compare` prints, in `format`.
    pub fn render(&self, format: OutputFormat) -> String {
        match format {
            OutputFormat::Markdown => {
                let mut m = markdown::Markdown::default();
                m.comparison(self);
                m.into_text()
            }
            OutputFormat::Github => {
                let mut g = github::Github::default();
                g.comparison(self);
                g.into_text()
            }
        }
    }
}

/// What [`write_reports`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub markdown: PathBuf,
    pub html: PathBuf,
}

/// Writes `report.md` and `report.html` for `inputs` (several files compare side by side)
/// into `out_dir` (created if missing). `claims`, when given, goes on top of both.
pub fn write_reports(
    inputs: &[Input],
    out_dir: &Path,
    claims: Option<&ClaimsTable>,
) -> Result<Written, Error> {
    std::fs::create_dir_all(out_dir).map_err(|source| Error::Io {
        path: out_dir.display().to_string(),
        source,
    })?;
    let data = ReportData::new(inputs);
    Reports::standard().render(&data, claims, out_dir)?;
    Ok(Written {
        markdown: out_dir.join(markdown::FILE_NAME),
        html: out_dir.join(html::FILE_NAME),
    })
}

/// Writes `text` to `path`, mapping the error to one naming the path.
pub(crate) fn write_file(path: &Path, text: &str) -> Result<PathBuf, Error> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse() {
        assert_eq!("github".parse::<OutputFormat>(), Ok(OutputFormat::Github));
        assert_eq!("md".parse::<OutputFormat>(), Ok(OutputFormat::Markdown));
        assert!("xml".parse::<OutputFormat>().is_err());
    }
}
