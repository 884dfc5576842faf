//! `report.html` rendered by headless Chromium, offline: a screenshot at a laptop and a
//! phone width, and the DOM after rendering (the SVG charts are there).
//!
//! Without Chromium the test prints SKIP, unless `CI` is set: then it fails (`.ci/setup`
//! installs Chromium). Screenshots are kept in `target/tmp/` for a person to look at.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tgbench_reports::{Input, Prices, claims_table, write_reports};

use crate::fixtures;

fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Runs Chromium headless with no network-facing features, killed after 90 s.
fn chromium(bin: &Path, profile: &Path, args: &[String]) -> Vec<u8> {
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut buf).ok();
        buf
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium failed: {status}");
            break;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().unwrap()
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 24, "not a PNG: {} bytes", bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

#[test]
fn chromium_renders_the_report_on_a_laptop_and_a_phone() {
    let Some(bin) = find_chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not installed but CI is set: .ci/setup must install it");
        }
        eprintln!(
            "SKIP chromium_renders_the_report_on_a_laptop_and_a_phone: chromium not found on PATH"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = vec![Input::new("smoke", fixtures::smoke())];
    inputs.extend(crate::claims_inputs());
    let table = claims_table(&inputs, &Prices::default());
    let written = write_reports(&inputs, &dir.path().join("out"), Some(&table)).unwrap();
    let url = format!("file://{}", written.html.display());
    let blank = dir.path().join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").unwrap();

    let keep = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::copy(&written.html, keep.join("report.html")).ok();
    let shot = |name: &str, url: &str, size: &str| -> Vec<u8> {
        let png = dir.path().join(format!("{name}.png"));
        chromium(
            &bin,
            &dir.path().join(format!("profile-{name}")),
            &[
                format!("--screenshot={}", png.display()),
                format!("--window-size={size}"),
                url.to_owned(),
            ],
        );
        let bytes = std::fs::read(&png).expect("chromium wrote the screenshot");
        std::fs::copy(&png, keep.join(format!("report-{name}.png"))).ok();
        bytes
    };
    let empty = shot("blank", &format!("file://{}", blank.display()), "1280,2000");
    for (name, size, w) in [("laptop", "1280,2000", 1280), ("phone", "390,2000", 390)] {
        let png = shot(name, &url, size);
        assert_eq!(png_size(&png), (w, 2000), "{name}");
        assert!(
            png.len() > 5 * empty.len(),
            "{name}: the screenshot ({} bytes) should be far richer than a blank page ({} bytes)",
            png.len(),
            empty.len()
        );
    }

    let dom = String::from_utf8(chromium(
        &bin,
        &dir.path().join("profile-dom"),
        &["--dump-dom".to_owned(), url],
    ))
    .unwrap();
    assert!(dom.contains("Claims under test"), "the page rendered");
    // The claims inputs have more than three configurations: CPU and memory over time are
    // small multiples, one chart per configuration.
    for id in [
        "chart-latency",
        "chart-requests",
        "chart-cpu-1",
        "chart-cpu-4",
        "chart-rss-1",
        "chart-capacity",
    ] {
        assert!(
            dom.contains(&format!(r#"id="{id}""#)),
            "{id} in the rendered DOM"
        );
    }
    assert!(dom.matches("<svg").count() >= 7, "SVG charts in the DOM");
    assert!(
        dom.matches("<path class=\"series\"").count() > 4,
        "lines drawn"
    );
}
