//! `bestiary studio`: clean errors, and the end-to-end test in a real headless browser
//! (tools/studio-e2e/e2e.mjs: Debian's Chromium driven by playwright-core). scripts/test.sh installs what
//! the browser test needs; when it is missing the test fails with the command that fixes it.

mod common;
use common::{assert_clean_error, bestiary, refused};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../stylegan/tests/fixtures/uncond16/network.pkl")
}

#[test]
fn studio_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture();
    let net = f.to_str().unwrap();
    assert_clean_error(
        &refused(
            &["studio", "--network", "missing.pkl", "--port", "0"],
            dir.path(),
        ),
        "missing.pkl",
    );
    assert_clean_error(
        &refused(
            &["studio", "--network", net, "--host", "not-an-ip"],
            dir.path(),
        ),
        "--host",
    );
    assert_clean_error(
        &refused(&["studio", "--network", net, "--queue", "0"], dir.path()),
        "--queue",
    );
    std::fs::write(dir.path().join("file"), b"x").unwrap();
    assert_clean_error(
        &refused(
            &["studio", "--network", net, "--favorites", "file"],
            dir.path(),
        ),
        "not a folder",
    );
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    assert_clean_error(
        &refused(
            &[
                "studio",
                "--network",
                net,
                "--port",
                &port,
                "--favorites",
                "favs",
            ],
            dir.path(),
        ),
        "cannot listen",
    );
}

#[test]
fn studio_help_has_examples() {
    let o = bestiary(&["studio", "--help"], Path::new("."));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    assert!(
        text.contains("Examples:") && text.contains("--projected-w"),
        "{text}"
    );
}

#[test]
fn studio_in_a_headless_browser() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let e2e = root.join("tools/studio-e2e");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "the studio browser test needs Chromium at {chromium}: run scripts/test.sh (installs it) or `apt-get install -y chromium`"
    );
    assert!(
        e2e.join("node_modules/playwright-core").is_dir(),
        "the studio browser test needs playwright-core: run scripts/test.sh (installs it) or `npm ci` in tools/studio-e2e"
    );
    let out = Command::new("node")
        .arg("e2e.mjs")
        .current_dir(&e2e)
        .env("BESTIARY_BIN", env!("CARGO_BIN_EXE_bestiary"))
        .env("NETWORK", fixture())
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs (install Node.js 20 or newer)");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "studio e2e failed:\n{log}");
    assert!(log.contains("studio e2e: ok"), "{log}");
    eprintln!("{log}");
}
