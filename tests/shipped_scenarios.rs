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

/// The version a pin file holds for `package`: `package==1.2.3` (requirements.txt),
/// `"package": "1.2.3"` (package.json), or `name = "package"` then `version = "1.2.3"`
/// (Cargo.lock).
fn pinned(file: &Path, package: &str) -> String {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let found = lines.iter().enumerate().find_map(|(i, l)| {
        if let Some(v) = l.strip_prefix(&format!("{package}==")) {
            return Some(v.to_owned());
        }
        if let Some(v) = l.strip_prefix(&format!("\"{package}\": \"")) {
            return Some(v.trim_end_matches([',', '"']).to_owned());
        }
        if *l == format!("name = \"{package}\"") {
            let v = lines.get(i + 1)?.strip_prefix("version = \"")?;
            return Some(v.trim_end_matches('"').to_owned());
        }
        None
    });
    found.unwrap_or_else(|| panic!("{}: no pin of {package}", file.display()))
}

/// The framework comparison prints each SUT's `about` as its version: every stack SUT has
/// one, and it names the versions its pin file installs, so a bumped pin without a new
/// `about` fails here rather than in a published table.
#[test]
fn every_stack_sut_says_what_it_is_with_the_pinned_versions() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    // (scenario, pin file, [(package as pinned, as `about` writes it)])
    type Pins<'a> = &'a [(&'a str, &'a str, &'a [(&'a str, &'a str)])];
    let pins: Pins<'_> = &[
        (
            "claims-aiogram",
            "examples/aiogram/requirements.txt",
            &[("aiogram", "aiogram"), ("aiohttp", "aiohttp")],
        ),
        (
            "stack-python-telegram-bot",
            "examples/python-telegram-bot/requirements.txt",
            &[("python-telegram-bot", "python-telegram-bot")],
        ),
        (
            "stack-python-telegram-bot-per-process",
            "examples/python-telegram-bot/requirements.txt",
            &[("python-telegram-bot", "python-telegram-bot")],
        ),
        (
            "stack-grammy",
            "examples/grammy/package.json",
            &[("grammy", "grammY")],
        ),
        (
            "stack-telegraf",
            "examples/telegraf/package.json",
            &[("telegraf", "telegraf")],
        ),
        ("stack-teloxide", "Cargo.lock", &[("teloxide", "teloxide")]),
    ];
    for (stem, pin_file, packages) in pins {
        let path = repo.join("scenarios").join(format!("{stem}.toml"));
        let s = scenario::load(path.to_str().unwrap()).unwrap_or_else(|e| panic!("{e}"));
        assert!(!s.suts.is_empty(), "{stem}");
        for sut in &s.suts {
            let about = sut
                .about
                .as_deref()
                .unwrap_or_else(|| panic!("{stem}: [[sut]] {} has no `about`", sut.name));
            for (package, shown) in *packages {
                let version = pinned(&repo.join(pin_file), package);
                let expected = format!("{shown} {version}");
                assert!(
                    about.contains(&expected),
                    "{stem}: [[sut]] {}'s about should name {expected} ({pin_file}): {about}",
                    sut.name
                );
            }
        }
    }
    // The Gunicorn servers also name the Flask and Gunicorn they run on.
    let ptb = repo.join("examples/python-telegram-bot/requirements.txt");
    let s = scenario::load(
        repo.join("scenarios/stack-python-telegram-bot.toml")
            .to_str()
            .unwrap(),
    )
    .unwrap();
    for sut in s.suts.iter().filter(|s| s.name.contains("gunicorn")) {
        let about = sut.about.as_deref().unwrap();
        for (package, shown) in [("Flask", "Flask"), ("gunicorn", "gunicorn")] {
            let expected = format!("{shown} {}", pinned(&ptb, package));
            assert!(about.contains(&expected), "{}: {about}", sut.name);
        }
    }
}
