//! Every scenario file shipped in `scenarios/` is valid, as `tgbench validate` checks it —
//! the built-in ones and those only read from disk (`claims-aiogram`, the example stacks'
//! `stack-*`) alike, and the scripts their command SUTs and serverless functions run are in
//! the repository. The folder is listed, so a file added later is covered without touching
//! this test.

use std::path::{Path, PathBuf};

use tgbench::scenario;

/// `scenarios/*.toml` of this repository, sorted.
fn shipped() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_scenario_file_is_valid_and_named_for_its_file() {
    let files = shipped();
    // The 17 of today at least: claims-aiogram and the example stacks' among them.
    assert!(files.len() >= 17, "{files:?}");
    for name in [
        "claims-aiogram.toml",
        "stack-python-telegram-bot.toml",
        "stack-python-telegram-bot-per-process.toml",
        "stack-grammy.toml",
        "stack-telegraf.toml",
        "stack-teloxide.toml",
        "serverless-cold-start.toml",
    ] {
        assert!(files.iter().any(|p| p.ends_with(name)), "{name}: {files:?}");
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for path in &files {
        let s = scenario::load(path.to_str().unwrap()).unwrap_or_else(|e| panic!("{e}"));
        let stem = path.file_stem().unwrap().to_str().unwrap();
        assert_eq!(s.name, stem, "{}: name", path.display());
        // A built-in scenario is this very file.
        if let Some(text) = scenario::embedded(stem) {
            assert_eq!(text, std::fs::read_to_string(path).unwrap(), "{stem}");
        }
        // A command SUT's or a serverless function's scripts (run from the repository
        // root) exist.
        for sut in &s.suts {
            let function = match sut.serverless().map(|spec| spec.function) {
                Some(scenario::Function::Command(c)) => c,
                _ => Vec::new(),
            };
            for part in sut.command.iter().flatten().chain(&function) {
                if part.starts_with("examples/") {
                    assert!(
                        repo.join(part).is_file(),
                        "{}: [[sut]] {} runs {part}, which is not in the repository",
                        path.display(),
                        sut.name
                    );
                }
            }
        }
    }
}
