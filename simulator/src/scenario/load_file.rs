//! A `[load]` table in a file of its own (`tgbench claims --load FILE`) put in place of a
//! scenario's load: checked with the same keys and rules as a scenario's `[load]`, its
//! errors naming that file, its line and key.

use serde::Deserialize;

use super::locate::Locator;
use super::{Load, Model, Scenario, ScenarioError, from_toml_error};

/// The file: one `[load]` table and nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadFile {
    load: Load,
}

/// `base` with the `[load]` of `text` (read from `file`, named in errors and in
/// [`Scenario::source`]) in place of its own: the warm-up and every phase that sends runs
/// it (a phase's own load is dropped); an idle phase stays idle; everything else is kept.
pub fn with_load_file(base: &Scenario, text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    let loc = Locator::new(text);
    let parsed: LoadFile = toml::from_str(text).map_err(|e| ScenarioError {
        problems: vec![from_toml_error(&e, file, &loc)],
    })?;
    let mut s = base.clone();
    s.load = parsed.load;
    for p in &mut s.phases {
        if p.load.as_ref().is_some_and(|l| l.model != Model::Idle) {
            p.load = None;
        }
    }
    // The results' `scenario.file`, from which the claims report names the load.
    s.source = format!(
        "{}{}{file}",
        base.source,
        tgbench_reports::claims::LOAD_FROM
    );
    // Every rule a scenario's `[load]` meets; the base's own keys passed them already, so
    // each problem is the file's.
    super::check(&mut s, file, &loc)?;
    Ok(s)
}

/// Reads `path` and puts its `[load]` in place of `base`'s ([`with_load_file`]).
pub fn replace_load(base: &Scenario, path: &str) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ScenarioError::one(path, format!("cannot read: {e}")))?;
    with_load_file(base, &text, path)
}
