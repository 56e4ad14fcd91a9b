//! `bestiary fid|kid|swd`: one-line errors, help, and tiny end-to-end runs on two folders of 4 images.
//! The Inception weights come through the asset cache (`bestiary_assets::ensure`, downloaded when absent).

mod common;

use bestiary_canvas::{png_meta::write_png, Image};
use common::{assert_clean_error, ok, refused};
use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str], cwd: &Path) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bestiary"));
    c.args(args).current_dir(cwd);
    c.output().expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Four 32x32 images; `shift` changes their colours.
fn folder(dir: &Path, shift: u32) {
    std::fs::create_dir_all(dir).unwrap();
    for k in 0..4u32 {
        let mut raw = Vec::with_capacity(32 * 32 * 4);
        for y in 0..32u32 {
            for x in 0..32u32 {
                let r = ((x * 8 + k * 30 + shift) % 256) as u8;
                let g = ((y * 8 + k * 50) % 256) as u8;
                let b = (((x + y) * 4 + shift * 2) % 256) as u8;
                raw.extend([r, g, b, 255]);
            }
        }
        write_png(
            &dir.join(format!("img{k}.png")),
            &Image::from_raw(32, 32, raw).unwrap(),
            None,
        )
        .unwrap();
    }
}

#[test]
fn help_has_examples() {
    let t = tempfile::tempdir().unwrap();
    for cmd in ["fid", "kid", "swd"] {
        let o = run(&[cmd, "--help"], t.path());
        ok(&o);
        let text = stdout(&o);
        for w in ["Examples:", "--a", "--b", "--json"] {
            assert!(text.contains(w), "{cmd}: {w} missing: {text}");
        }
    }
}

#[test]
fn errors_are_one_line() {
    let t = tempfile::tempdir().unwrap();
    folder(&t.path().join("a"), 0);
    std::fs::create_dir_all(t.path().join("empty")).unwrap();
    for cmd in ["fid", "kid", "swd"] {
        assert_clean_error(
            &refused(&[cmd, "--a", "missing", "--b", "a"], t.path()),
            "does not exist",
        );
        assert_clean_error(
            &refused(&[cmd, "--a", "a", "--b", "empty"], t.path()),
            "holds no images",
        );
    }
    assert_clean_error(
        &refused(&["fid", "--a", "a", "--b", "a", "--batch", "0"], t.path()),
        "--batch",
    );
}

#[test]
fn fid_end_to_end_on_two_folders() {
    let t = tempfile::tempdir().unwrap();
    folder(&t.path().join("a"), 0);
    folder(&t.path().join("b"), 90);
    let o = run(&["fid", "--a", "a", "--b", "a", "--json"], t.path());
    ok(&o);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["a"], 4);
    assert!(v["fid"].as_f64().unwrap().abs() < 1e-3, "{v}");
    let o = run(&["fid", "--a", "a", "--b", "b", "--batch", "3"], t.path());
    ok(&o);
    let line = stdout(&o);
    let fid: f64 = line
        .trim()
        .strip_prefix("fid: ")
        .expect("fid: X")
        .parse()
        .unwrap();
    assert!(fid > 1.0, "{line}");
    let o = run(
        &["kid", "--a", "a", "--b", "b", "--json", "--subsets", "5"],
        t.path(),
    );
    ok(&o);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["kid"].as_f64().unwrap() > 0.0, "{v}");
    assert_eq!(v["b"], 4);
}

#[test]
fn swd_end_to_end_on_two_folders() {
    let t = tempfile::tempdir().unwrap();
    folder(&t.path().join("a"), 0);
    folder(&t.path().join("b"), 90);
    let o = run(&["swd", "--a", "a", "--b", "a", "--json"], t.path());
    ok(&o);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["swd"].as_f64().unwrap(), 0.0, "{v}");
    let o = run(&["swd", "--a", "a", "--b", "b", "--json"], t.path());
    ok(&o);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["swd"].as_f64().unwrap() > 1.0, "{v}");
}
