//! `bestiary train` end to end: a tiny run, exact continuation, kill -9 and Ctrl-C survival, errors.

mod common;

use common::{assert_clean_error, bestiary, ok, refused, stderr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A 16px dataset of classic squares.
fn dataset(dir: &Path) {
    ok(&bestiary(
        &[
            "dataset",
            "--source",
            "classic:squares",
            "--count",
            "16",
            "--dest",
            "sq.zip",
            "--resolution",
            "16",
        ],
        dir,
    ));
}

const TINY: &[&str] = &[
    "--cbase", "64", "--cmax", "8", "--batch", "4", "--seed", "3",
];

fn train(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["train"];
    args.extend_from_slice(extra);
    bestiary(&args, dir)
}

fn log_rows(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("log.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn tiny_run_then_resume_then_generate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dataset(d);
    let mut args = vec![
        "--data", "sq.zip", "--outdir", "run", "--kimg", "0.032", "--tick", "0.016", "--snap", "1",
        "--json",
    ];
    args.extend_from_slice(TINY);
    let o = train(d, &args);
    ok(&o);
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["kimg"], 0.032);
    assert_eq!(summary["interrupted"], false);
    let run = d.join("run");
    for f in [
        "reals.png",
        "fakes-init.png",
        "fakes-000000.032.png",
        "network-snapshot-000000.032.safetensors",
        "training-state.safetensors",
    ] {
        assert!(run.join(f).exists(), "{f} missing");
    }
    assert_eq!(log_rows(&run).len(), 2);

    // Starting again into the same folder without --resume would lose the run: refused.
    let o = train(d, &args);
    assert_clean_error(&o, "already holds a training run");

    // Continue to 0.048 kimg: the step counter goes on from 0.032.
    let o = train(d, &["--resume", "run", "--kimg", "0.048", "--json"]);
    ok(&o);
    assert!(stderr(&o).contains("resuming"), "{}", stderr(&o));
    let rows = log_rows(&run);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2]["kimg"], 0.048);
    assert!(rows[2]["seconds"].as_f64().unwrap() > rows[1]["seconds"].as_f64().unwrap());

    // The snapshot samples like any model file.
    ok(&bestiary(
        &[
            "generate",
            "--network",
            "run/network-snapshot-000000.048.safetensors",
            "--seeds",
            "0-1",
            "--outdir",
            "gen",
        ],
        d,
    ));
    assert!(d.join("gen/seed0000.png").exists());
}

#[test]
fn bad_input_gives_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dataset(d);
    assert_clean_error(
        &train(d, &["--data", "nope.zip", "--outdir", "r"]),
        "nope.zip",
    );
    assert_clean_error(&train(d, &["--outdir", "r"]), "--data is required");
    assert_clean_error(
        &train(d, &["--data", "sq.zip", "--outdir", "r", "--aug", "fixed"]),
        "--p",
    );
    assert_clean_error(
        &train(
            d,
            &[
                "--data", "sq.zip", "--outdir", "r", "--p", "1.5", "--aug", "fixed",
            ],
        ),
        "out of range",
    );
    assert_clean_error(
        &train(d, &["--data", "sq.zip", "--outdir", "r", "--kimg", "0"]),
        "--kimg must be positive",
    );
    assert_clean_error(
        &train(d, &["--data", "sq.zip", "--outdir", "r", "--cfg", "huge"]),
        "unknown preset",
    );
    assert_clean_error(
        &train(d, &["--resume", "missing-run"]),
        "no such run folder",
    );
    std::fs::create_dir(d.join("empty")).unwrap();
    assert_clean_error(&train(d, &["--resume", "empty"]), "not a run folder");
    // A damaged training state is refused in one line, whatever the damage.
    std::fs::create_dir(d.join("junk")).unwrap();
    std::fs::write(
        d.join("junk/training-state.safetensors"),
        b"\x10\0\0\0\0\0\0\0{\"a\": 1}    garbage",
    )
    .unwrap();
    assert_clean_error(
        &train(d, &["--resume", "junk", "--data", "sq.zip"]),
        "training-state.safetensors",
    );
    // A network trained at another resolution cannot continue on this dataset.
    ok(&bestiary(
        &[
            "dataset",
            "--source",
            "classic:squares",
            "--count",
            "4",
            "--dest",
            "sq8.zip",
            "--resolution",
            "8",
        ],
        d,
    ));
    let mut args = vec!["--data", "sq8.zip", "--outdir", "r8", "--kimg", "0.004"];
    args.extend_from_slice(TINY);
    ok(&train(d, &args));
    assert_clean_error(
        &train(
            d,
            &[
                "--data",
                "sq.zip",
                "--outdir",
                "ft",
                "--resume",
                "r8/network-snapshot-000000.004.safetensors",
            ],
        ),
        "makes 8x8 images",
    );
}

/// Starts a long run, waits for `ticks` ticks after the first snapshot, and returns the child.
fn start_long_run(d: &Path) -> std::process::Child {
    let mut args = vec![
        "train", "--data", "sq.zip", "--outdir", "run", "--kimg", "100", "--tick", "0.008",
        "--snap", "1",
    ];
    args.extend_from_slice(TINY);
    Command::new(env!("CARGO_BIN_EXE_bestiary"))
        .args(&args)
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_for_ticks(run: &Path, n: usize) {
    let t = Instant::now();
    while log_rows(run).len() < n {
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "training made no progress"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dataset(d);
    let mut child = start_long_run(d);
    let run = d.join("run");
    wait_for_ticks(&run, 3);
    // Kill at an arbitrary moment (possibly mid-write), several milliseconds into the next tick.
    std::thread::sleep(Duration::from_millis(37));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The last complete snapshot and state load and the run continues from them.
    let o = train(d, &["--resume", "run", "--kimg", "0.040", "--json"]);
    ok(&o);
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["kimg"], 0.04);
    ok(&bestiary(
        &[
            "generate",
            "--network",
            "run/network-snapshot-000000.040.safetensors",
            "--seeds",
            "0",
            "--outdir",
            "gen",
        ],
        d,
    ));
}

#[test]
fn ctrl_c_saves_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dataset(d);
    let child = start_long_run(d);
    let run = d.join("run");
    wait_for_ticks(&run, 2);
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("stopped at kimg") && err.contains("--resume"),
        "{err}"
    );
    let o = train(d, &["--resume", "run", "--kimg", "0.032"]);
    ok(&o);
}

#[test]
fn bench_train_reports_seconds_per_kimg() {
    let dir = tempfile::tempdir().unwrap();
    let o = bestiary(
        &[
            "bench", "train", "--res", "8", "--cbase", "64", "--cmax", "8", "--z-dim", "8",
            "--batch", "4", "--iters", "2", "--json",
        ],
        dir.path(),
    );
    ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["s_per_kimg"].as_f64().unwrap() > 0.0);
    assert_eq!(v["iters"], 2);
    assert_clean_error(
        &refused(&["bench", "train", "--batch", "0"], dir.path()),
        "--batch",
    );
}

#[test]
fn transfer_learning_from_an_official_pickle_with_frozen_d_layers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dataset(d);
    let pkl = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../stylegan/tests/fixtures/uncond16/network.pkl");
    let pkl = pkl.to_str().unwrap();
    let o = train(
        d,
        &[
            "--data",
            "sq.zip",
            "--outdir",
            "ft",
            "--resume",
            pkl,
            "--freezed",
            "2",
            "--kimg",
            "0.008",
            "--batch",
            "4",
            "--json",
        ],
    );
    ok(&o);
    // The fine-tuned generator keeps the pickle's architecture and D's first layers stay as they were.
    let snap = d.join("ft/network-snapshot-000000.008.safetensors");
    let o = bestiary(
        &["inspect", "--network", snap.to_str().unwrap(), "--json"],
        d,
    );
    ok(&o);
    let orig = bestiary(&["inspect", "--network", pkl, "--json"], d);
    ok(&orig);
    let a: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&orig.stdout).unwrap();
    assert_eq!(
        a["networks"]["G_ema"]["parameters"], b["networks"]["G_ema"]["parameters"],
        "{a}\n{b}"
    );
    let before = bestiary_stylegan::ModelFile::load(Path::new(pkl)).unwrap();
    let after = bestiary_stylegan::ModelFile::load(&snap).unwrap();
    let tensor =
        |m: &bestiary_stylegan::ModelFile, n: &str| m.network("D").unwrap().tensors[n].data.clone();
    for frozen in ["b16.fromrgb.weight", "b16.conv0.weight", "b16.conv0.bias"] {
        assert_eq!(
            tensor(&before, frozen),
            tensor(&after, frozen),
            "{frozen} moved"
        );
    }
    for trained in ["b16.conv1.weight", "b8.conv0.weight"] {
        assert_ne!(
            tensor(&before, trained),
            tensor(&after, trained),
            "{trained} did not train"
        );
    }
    assert_clean_error(
        &train(
            d,
            &[
                "--data", "sq.zip", "--outdir", "ft2", "--resume", pkl, "--cbase", "128",
            ],
        ),
        "cannot change a pretrained network",
    );
}

/// `--d-features vgg16`: a run on frozen VGG16 features resumes, keeps its discriminator (a different
/// `--d-features` is refused by name), and its snapshots sample like any model file; `critic`, which needs
/// StyleGAN2's discriminator, says so in one line.
#[test]
fn a_feature_discriminator_run_resumes_and_samples() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dataset(d);
    let mut args = vec![
        "--data",
        "sq.zip",
        "--outdir",
        "run",
        "--kimg",
        "0.016",
        "--tick",
        "0.008",
        "--snap",
        "1",
        "--d-features",
        "vgg16",
    ];
    args.extend_from_slice(TINY);
    let o = train(d, &args);
    ok(&o);
    assert!(stderr(&o).contains("D on VGG16 features"), "{}", stderr(&o));
    let o = train(
        d,
        &["--resume", "run", "--kimg", "0.024", "--d-features", "none"],
    );
    assert_clean_error(&o, "--d-features none (the run's is vgg16)");
    let o = train(d, &["--resume", "run", "--kimg", "0.024", "--json"]);
    ok(&o);
    assert_eq!(log_rows(&d.join("run")).last().unwrap()["kimg"], 0.024);
    ok(&bestiary(
        &[
            "generate",
            "--network",
            "run/network-snapshot-000000.024.safetensors",
            "--seeds",
            "0",
            "--outdir",
            "gen",
        ],
        d,
    ));
    assert!(d.join("gen/seed0000.png").exists());
    let o = bestiary(
        &[
            "critic",
            "--network",
            "run/network-snapshot-000000.024.safetensors",
            "gen/seed0000.png",
        ],
        d,
    );
    assert_clean_error(&o, "feature discriminator");
}
