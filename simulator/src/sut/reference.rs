//! The reference servers (`polling-bot`, `webhook-bot`, `hybrid-bot` of `tgbench-impls`):
//! where they are, building them with cargo when tgbench runs under `cargo run`, and the
//! command line a scenario's `[[sut]]` starts (a reference binary, or its own `command`).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::SutError;
use crate::scenario::{Kind, Scenario, Sut};

/// Where the reference binaries (`polling-bot`, `webhook-bot`, `hybrid-bot`) are:
/// `$TGBENCH_IMPLS_DIR`, else next to the running executable (and, for test binaries in
/// `target/<profile>/deps`, one folder up).
pub fn impls_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TGBENCH_IMPLS_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.file_name().is_some_and(|n| n == "deps")
        && let Some(up) = dir.parent()
    {
        return up.to_path_buf();
    }
    dir
}

/// When tgbench was started by `cargo run` (cargo sets `CARGO` and `CARGO_MANIFEST_DIR`)
/// and a reference binary the scenario needs (a serverless SUT's: the platform and the
/// reference function too) is missing from `impls`, builds them with
/// the same cargo and profile, so `cargo run --release --bin tgbench -- claims` works on
/// a fresh checkout. Otherwise does nothing: [`command_line`] then names what is missing.
pub fn build_reference_binaries_if_missing(scn: &Scenario, impls: &Path) {
    let serverless = scn.suts.iter().any(|s| s.kind == Kind::Serverless);
    let missing = scn
        .suts
        .iter()
        .filter_map(|s| s.kind.reference_binary())
        .chain(serverless.then_some(super::serverless::PLATFORM_BINARY))
        .chain(serverless.then_some("webhook-lambda"))
        .any(|bin| !impls.join(bin).is_file());
    let (Some(cargo), Some(manifest_dir)) = (
        std::env::var_os("CARGO"),
        std::env::var_os("CARGO_MANIFEST_DIR"),
    ) else {
        return;
    };
    if !missing {
        return;
    }
    let release = impls.file_name().is_some_and(|n| n != "debug");
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "tgbench-impls"]);
    if serverless {
        cmd.args(["-p", "mock-lambda", "-p", "tgbench-webhook-lambda"]);
    }
    cmd.arg("--bins").current_dir(manifest_dir);
    if release {
        cmd.arg("--release");
    }
    eprintln!(
        "tgbench: building the reference servers once (cargo build{} -p tgbench-impls)",
        if release { " --release" } else { "" }
    );
    match cmd.status() {
        Ok(st) if st.success() => {}
        Ok(st) => eprintln!("tgbench: building the reference servers failed ({st})"),
        Err(e) => eprintln!("tgbench: cannot run cargo to build the reference servers: {e}"),
    }
}

/// The program and arguments a SUT entry starts (before any pinning).
pub fn command_line(sut: &Sut, impls: &Path) -> Result<Vec<String>, SutError> {
    let mut cmd = match sut.kind.reference_binary() {
        Some(bin) => {
            let path = impls.join(bin);
            if !path.is_file() {
                return Err(SutError::MissingBinary {
                    sut: sut.name.clone(),
                    path,
                });
            }
            vec![path.to_string_lossy().into_owned()]
        }
        None => sut.command.clone().unwrap_or_default(),
    };
    cmd.extend(sut.args.iter().cloned());
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_reference_binary_says_how_to_build_it() {
        let sut: Sut = toml::from_str("name = \"p\"\nkind = \"polling\"").unwrap();
        let e = command_line(&sut, Path::new("/nonexistent")).unwrap_err();
        assert!(
            e.to_string()
                .contains("build them with `cargo build --release -p tgbench-impls`")
        );
    }

    #[test]
    fn a_command_sut_runs_its_command_then_its_args() {
        let sut: Sut = toml::from_str(
            "name = \"c\"\nkind = \"command\"\ncommand = [\"python3\", \"bot.py\"]\nargs = [\"-v\"]",
        )
        .unwrap();
        let cmd = command_line(&sut, Path::new("/nonexistent")).unwrap();
        assert_eq!(cmd, ["python3", "bot.py", "-v"]);
    }
}
