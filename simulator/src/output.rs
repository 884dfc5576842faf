//! Where results go: the output folder and atomic writes (temp file + rename), so a
//! results file is never seen half written, even when a run is interrupted.

use std::io::Write;
use std::path::{Path, PathBuf};

use tgbench_reports::results::Results;

/// `results/<name>-<UTC time>` under the current directory.
pub fn default_dir(name: &str) -> PathBuf {
    PathBuf::from("results").join(format!("{name}-{}", crate::environment::now_compact()))
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".results-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes `results.json` into `dir`; returns its path.
pub fn write_results(dir: &Path, results: &Results) -> std::io::Result<PathBuf> {
    let path = dir.join("results.json");
    let json = serde_json::to_vec_pretty(results).map_err(std::io::Error::other)?;
    write_atomic(&path, &json)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/results.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("results.json")]);
    }

    #[test]
    fn default_dir_has_name_and_time() {
        let d = default_dir("smoke");
        let s = d.to_string_lossy();
        assert!(s.starts_with("results/smoke-20") && s.ends_with('Z'), "{s}");
    }
}
