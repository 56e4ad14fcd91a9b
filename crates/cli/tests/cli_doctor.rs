//! `bestiary doctor`: the CPU's kernels against Burn's own ops on a small network, and a GPU that is
//! missing (CI has none) named piece by piece in one error line.

mod common;

use common::{assert_clean_error, bestiary, ok};

#[test]
fn cpu_kernels_agree_with_burns_ops_on_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let o = bestiary(&["doctor", "--json"], dir.path());
    ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    let checks = v["parity"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    for want in [
        "images",
        "D logits",
        "G gradients",
        "D gradients",
        "R1",
        "path lengths",
        "seeded training steps",
    ] {
        assert!(
            names.iter().any(|n| n.contains(want)),
            "no {want} check in {names:?}"
        );
    }
    for c in checks {
        assert_eq!(c["pass"], true, "{c}");
        assert!(
            c["error"].as_f64().unwrap() <= c["tolerance"].as_f64().unwrap(),
            "{c}"
        );
    }
    assert!(v["cpu"]["threads"].as_u64().unwrap() >= 1);
}

#[test]
fn a_missing_gpu_is_named_without_a_panic() {
    // Only meaningful where no GPU can be used (CI, this project's CPU machines).
    if bestiary_device::probe().usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let o = bestiary(&["doctor", "--device", "cuda"], dir.path());
    assert_clean_error(&o, "problem(s) found on cuda");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("MISSING"), "{out}");
    let o = bestiary(
        &["doctor", "--device", "cuda", "--json", "--no-parity"],
        dir.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert!(
        v["cuda"]["driver"]["Err"].is_string() || v["cuda"]["gpus"].as_array().unwrap().is_empty(),
        "{v}"
    );
}
