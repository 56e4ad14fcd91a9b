//! Helpers shared by the CLI integration tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs the built `bestiary` binary in `cwd`.
pub fn bestiary(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bestiary"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("binary runs")
}

/// Runs the binary as on a fresh machine: an empty asset cache and no way to download. A command that
/// refuses bad input must do so before it fetches weights, so its error stays one line and costs nothing.
pub fn refused(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bestiary"))
        .args(args)
        .current_dir(cwd)
        .env("BESTIARY_CACHE", cwd.join(".fresh-cache"))
        .env("BESTIARY_PIP", "false")
        .env("BESTIARY_NPM", "false")
        .output()
        .expect("binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn ok(o: &Output) {
    assert!(o.status.success(), "failed: {}", stderr(o));
}

/// A failed command: non-zero exit, exactly one line on stderr starting with "error:", never a panic.
pub fn assert_clean_error(o: &Output, needle: &str) {
    assert!(!o.status.success(), "expected failure");
    let err = stderr(o);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected, got: {err}"
    );
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "'{needle}' not in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Writes the conditional cond32 fixture generator as a bestiary model file (for refusal tests).
pub fn write_conditional_model(path: &Path) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../stylegan/tests/fixtures/cond32");
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    let (tensors, _) =
        bestiary_weights::safetensors_io::read(&std::fs::read(dir.join("G.safetensors")).unwrap())
            .unwrap();
    let model = bestiary_stylegan::ModelFile {
        networks: std::collections::BTreeMap::from([(
            "G_ema".to_string(),
            bestiary_weights::Network {
                class_name: "Generator".into(),
                init_kwargs: cfg["G"].clone(),
                tensors,
            },
        )]),
        training_set_kwargs: None,
    };
    std::fs::write(
        path,
        model.to_safetensors(bestiary_weights::DType::F32).unwrap(),
    )
    .unwrap();
}
