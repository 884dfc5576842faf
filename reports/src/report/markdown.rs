//! `report.md`: the report as GitHub-flavoured Markdown (tables, no charts); also the
//! claims table and the comparison as printed on the console.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::tables::{
    CLAIMS_COST_NOTE, CLAIMS_RULES, COST_VS_TRAFFIC_NOTE, FRAMEWORKS_NOTE, LATENCY_SPLIT_NOTE,
    SERVERLESS_LATENCY_NOTE, SERVERLESS_NOTE, capacity_summary, capacity_table, claims_context,
    claims_costs, claims_frameworks, claims_latency_timeline, claims_verdicts, comparison_table,
    cost_vs_traffic, environment_table, latency_split_table, methods_table,
    serverless_latency_table, serverless_table, serverless_timeline_sentences, summary_table,
};
use super::{Report, ReportData, write_file};
use crate::Error;
use crate::claims::ClaimsTable;
use crate::compare::Comparison;
use crate::cost::Prices;
use crate::decision::Decision;

pub const FILE_NAME: &str = "report.md";

#[derive(Debug, Default)]
pub struct Markdown {
    out: String,
}

impl Markdown {
    /// The text of the sections rendered so far (what [`Report::finish`] would write).
    pub fn into_text(self) -> String {
        self.out
    }
}

/// The claims section: context, verdict table, how verdicts are decided, and the cost per
/// transport. `tgbench claims` prints it; `report.md` carries it on top.
/// The decision summary as `report.md` has it (also printed by `tgbench claims`).
pub fn decision_section(decision: &Decision) -> String {
    let mut s = format!("## Decision summary\n\n{}\n\n", decision.context);
    for line in &decision.sentences {
        let _ = writeln!(s, "- {line}");
    }
    s.push('\n');
    s
}

pub fn claims_section(table: &ClaimsTable) -> String {
    let mut s = String::from("## Claims under test: verdicts\n\n");
    let _ = writeln!(s, "{}\n", claims_context(table));
    s.push_str(&claims_verdicts(table).to_markdown());
    let _ = writeln!(s, "\nHow verdicts are decided: {CLAIMS_RULES}\n");
    let _ = writeln!(
        s,
        "### Cost per transport ({}, assumed prices)\n",
        table.currency
    );
    s.push_str(&claims_costs(table).to_markdown());
    let _ = writeln!(s, "\n{CLAIMS_COST_NOTE}");
    if let Some(t) = claims_frameworks(table) {
        s.push_str("\n### Framework comparison\n\n");
        s.push_str(&t.to_markdown());
        let _ = writeln!(s, "\n{FRAMEWORKS_NOTE}");
    }
    s
}

impl Report for Markdown {
    fn begin(&mut self, data: &ReportData<'_>) {
        let _ = writeln!(self.out, "# tgbench report\n");
        let files: Vec<String> = data
            .inputs
            .iter()
            .map(|i| format!("`{}`", i.label))
            .collect();
        let _ = writeln!(
            self.out,
            "Scenario: **{}** · files: {} · charts: `report.html`\n",
            data.scenario_names().join(", "),
            files.join(", ")
        );
    }

    fn decision(&mut self, decision: &Decision) {
        self.out.push_str(&decision_section(decision));
    }

    fn claims(&mut self, table: &ClaimsTable) {
        self.out.push_str(&claims_section(table));
        self.out.push('\n');
    }

    fn warnings(&mut self, data: &ReportData<'_>) {
        if data.warnings.is_empty() {
            return;
        }
        self.out.push_str("## ⚠ Warnings\n\n");
        for w in &data.warnings {
            let _ = writeln!(self.out, "- **{}**: {}", w.subject, w.message);
        }
        self.out.push('\n');
    }

    fn summary(&mut self, data: &ReportData<'_>) {
        if data.rows.is_empty() {
            return;
        }
        self.out.push_str("## Summary\n\n");
        self.out.push_str(
            "Latency from a simulated user's scheduled send to the bot's reply; CPU in % of one core \
             and RSS of the SUT's whole process tree; the mock's CPU beside it, never mixed in.\n\n",
        );
        self.out.push_str(&summary_table(data).to_markdown());
        self.out.push('\n');
    }

    fn latency(&mut self, data: &ReportData<'_>) {
        let Some(table) = latency_split_table(data) else {
            return;
        };
        self.out.push_str("## Where the latency goes\n\n");
        self.out.push_str(LATENCY_SPLIT_NOTE);
        self.out
            .push_str(" report.html draws it as stacked bars.\n\n");
        self.out.push_str(&table.to_markdown());
        self.out.push('\n');
        self.out.push_str(&claims_latency_timeline().to_markdown());
        self.out.push('\n');
    }

    fn requests(&mut self, data: &ReportData<'_>) {
        if data.rows.is_empty() {
            return;
        }
        self.out.push_str("## Requests per minute by method\n\n");
        self.out.push_str(
            "Bot API requests the SUT made to the mock; `webhook` counts the mock's deliveries to the SUT.\n\n",
        );
        self.out.push_str(&methods_table(data).to_markdown());
        self.out.push('\n');
    }

    fn serverless(&mut self, data: &ReportData<'_>) {
        let Some(table) = serverless_table(data) else {
            return;
        };
        self.out.push_str("## Serverless\n\n");
        self.out.push_str(SERVERLESS_NOTE);
        self.out.push_str("\n\n");
        self.out.push_str(&table.to_markdown());
        self.out.push('\n');
        if let Some(latency) = serverless_latency_table(data) {
            self.out.push_str("### Latency, cold and warm\n\n");
            self.out.push_str(SERVERLESS_LATENCY_NOTE);
            self.out.push_str("\n\n");
            self.out.push_str(&latency.to_markdown());
            self.out.push('\n');
        }
        let sentences = serverless_timeline_sentences(data);
        if !sentences.is_empty() {
            self.out.push_str(
                "Environments over time (report.html charts them, cold starts marked):\n\n",
            );
            for s in sentences {
                let _ = writeln!(self.out, "- {s}");
            }
            self.out.push('\n');
        }
        if let Some(c) = cost_vs_traffic(data, &Prices::default()) {
            self.out.push_str("### Cost versus traffic\n\n");
            self.out.push_str(COST_VS_TRAFFIC_NOTE);
            self.out.push_str(" report.html draws it.\n\n");
            for sentence in &c.sentences {
                let _ = writeln!(self.out, "- {sentence}.");
            }
            self.out.push('\n');
        }
    }

    fn capacity(&mut self, data: &ReportData<'_>) {
        if data.capacity().is_empty() {
            return;
        }
        self.out.push_str("## Capacity\n\n");
        self.out.push_str(&capacity_summary(data).to_markdown());
        self.out.push('\n');
        self.out.push_str(&capacity_table(data).to_markdown());
        self.out.push('\n');
    }

    fn environment(&mut self, data: &ReportData<'_>) {
        self.out.push_str("## Scenario and environment\n\n");
        self.out.push_str(&environment_table(data).to_markdown());
    }

    /// Outcome, notes, the table of deltas.
    fn comparison(&mut self, c: &Comparison) {
        let _ = write!(
            self.out,
            "## tgbench compare: `{}` → `{}`\n\n**{}**\n\n",
            c.baseline,
            c.current,
            c.headline()
        );
        for n in &c.notes {
            let _ = writeln!(self.out, "- {n}");
        }
        if !c.notes.is_empty() {
            self.out.push('\n');
        }
        if !c.deltas.is_empty() {
            self.out.push_str(&comparison_table(c).to_markdown());
        }
    }

    fn finish(&mut self, out_dir: &Path) -> Result<Vec<PathBuf>, Error> {
        Ok(vec![write_file(&out_dir.join(FILE_NAME), &self.out)?])
    }
}
