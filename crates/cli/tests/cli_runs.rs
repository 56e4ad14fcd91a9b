//! `bestiary train` never loses work: a double Ctrl-C before the first snapshot leaves a resumable run,
//! a folder holding a run is never started over without --force (and then never appended to), short
//! ticks keep one snapshot each, and --resume either applies an option (saying so) or refuses it.

mod common;

use common::{assert_clean_error, bestiary, ok, stderr};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TINY: &[&str] = &[
    "--cbase", "64", "--cmax", "8", "--batch", "4", "--seed", "3",
];

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

fn train(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["train"];
    args.extend_from_slice(extra);
    bestiary(&args, dir)
}

/// `extra` with the dataset and the tiny network's options.
fn tiny<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = extra.to_vec();
    v.extend_from_slice(&["--data", "sq.zip"]);
    v.extend_from_slice(TINY);
    v
}

fn log_rows(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("log.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("a damaged log line {l:?}: {e}"))
        })
        .collect()
}

/// The options a run's training state records.
fn state_options(run: &Path) -> serde_json::Value {
    let bytes = std::fs::read(run.join("training-state.safetensors")).unwrap();
    let (_, meta) = bestiary_weights::safetensors_io::read(&bytes).unwrap();
    let header: serde_json::Value = serde_json::from_str(&meta["bestiary-train"]).unwrap();
    header["options"].clone()
}

fn snapshots(run: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("network-snapshot-"))
        .collect();
    v.sort();
    v
}

#[test]
fn double_ctrl_c_before_the_first_snapshot_leaves_a_resumable_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dataset(d);
    // Ticks far longer than the test, and a network wide enough that a step takes a good fraction of a
    // second: the second Ctrl-C lands while the first step (or the save after it) is still running.
    let args = [
        "train", "--outdir", "run", "--kimg", "100", "--tick", "50", "--data", "sq.zip", "--cbase",
        "4096", "--cmax", "128", "--batch", "4",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_bestiary"))
        .args(args)
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr_pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr_pipe)
            .split(b'\n')
            .map_while(Result::ok)
        {
            let line = String::from_utf8_lossy(&line).into_owned();
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let run = d.join("run");
    let t = Instant::now();
    while !run.join("fakes-init.png").exists() {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let pid = child.id().to_string();
    let interrupt = || {
        assert!(Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success())
    };
    interrupt();
    // Signals sent back to back merge into one: the second goes once the first was seen.
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("no reaction to Ctrl-C");
        if line.contains("stopping:") {
            break;
        }
    }
    interrupt();
    let status = child.wait().unwrap();
    let err = reader.join().unwrap();
    assert_eq!(
        status.code(),
        Some(130),
        "the second Ctrl-C did not quit at once: {err}"
    );
    assert!(
        err.contains("quitting without saving") && !err.contains("panicked"),
        "{err}"
    );
    // Whatever the moment, the folder holds a whole state to resume from.
    let o = train(
        d,
        &[
            "--resume", "run", "--kimg", "0.004", "--tick", "0.004", "--json",
        ],
    );
    ok(&o);
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["kimg"], 0.004);
    assert_eq!(log_rows(&run).len(), 1);
    assert_eq!(state_options(&run)["batch"], 4);
    let leftovers: Vec<_> = std::fs::read_dir(&run)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");

    // The folder is a run: starting a new one there is refused, in one line naming the way out.
    let o = train(d, &tiny(&["--outdir", "run", "--kimg", "0.008"]));
    assert_clean_error(&o, "error: run already holds a training run (resume it with --resume run, or pass --force to start over)");

    // --force starts over: the old run's files are replaced, never appended to.
    std::fs::write(run.join("notes.txt"), "mine").unwrap();
    let o = train(
        d,
        &tiny(&[
            "--outdir", "run", "--kimg", "0.004", "--tick", "0.004", "--force",
        ]),
    );
    ok(&o);
    assert!(stderr(&o).contains("--force: deleted"), "{}", stderr(&o));
    let rows = log_rows(&run);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["tick"], 1);
    assert_eq!(snapshots(&run), ["network-snapshot-000000.004.safetensors"]);
    assert_eq!(
        std::fs::read_to_string(run.join("notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn folders_without_a_state_say_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // An old run stopped before its first save: a log and grids, no state.
    std::fs::create_dir(d.join("early")).unwrap();
    std::fs::write(d.join("early/log.jsonl"), "").unwrap();
    std::fs::write(d.join("early/reals.png"), "x").unwrap();
    assert_clean_error(&train(d, &["--resume", "early"]), "its run stopped before saving anything to resume from; start it again with --outdir early --force");
    // Snapshots without a state: point at the latest (by images shown) for a new run.
    std::fs::create_dir(d.join("snaps")).unwrap();
    for n in [
        "network-snapshot-000001.safetensors",
        "network-snapshot-000001.500.safetensors",
        "network-snapshot-000000.996.safetensors",
    ] {
        std::fs::write(d.join("snaps").join(n), "x").unwrap();
    }
    assert_clean_error(
        &train(d, &["--resume", "snaps"]),
        "--resume snaps/network-snapshot-000001.500.safetensors --outdir NEW",
    );
    // The run folder is created one level deep only.
    dataset(d);
    assert_clean_error(
        &train(d, &tiny(&["--outdir", "missing/run"])),
        "its parent folder missing does not exist",
    );
    assert!(!d.join("missing").exists());
    std::fs::write(d.join("afile"), "x").unwrap();
    assert_clean_error(
        &train(d, &tiny(&["--outdir", "afile"])),
        "exists and is not a folder",
    );
}

#[test]
fn short_runs_keep_every_snapshot_and_resume_reports_or_refuses_options() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dataset(d);
    ok(&train(
        d,
        &tiny(&[
            "--outdir", "run", "--kimg", "0.012", "--tick", "0.004", "--snap", "1", "--gamma", "1",
        ]),
    ));
    let run = d.join("run");
    assert_eq!(
        snapshots(&run),
        [
            "network-snapshot-000000.004.safetensors",
            "network-snapshot-000000.008.safetensors",
            "network-snapshot-000000.012.safetensors"
        ]
    );

    // Finished: says so and exits 0 without training.
    let o = train(d, &["--resume", "run"]);
    ok(&o);
    assert_eq!(
        stderr(&o).trim(),
        "run run already reached 0.012 kimg; pass a larger --kimg to continue"
    );
    assert_eq!(log_rows(&run).len(), 3);

    // Options fixed by the run are refused by name, and nothing is written.
    let o = train(
        d,
        &[
            "--resume", "run", "--kimg", "0.016", "--cbase", "128", "--gamma", "2",
        ],
    );
    assert_clean_error(
        &o,
        "--cbase 128 (the run's is 64) cannot change when resuming",
    );
    let o = train(
        d,
        &[
            "--resume", "run", "--kimg", "0.016", "--batch", "8", "--seed", "4",
        ],
    );
    assert_clean_error(&o, "--batch 8 (the run's is 4), --seed 4 (the run's is 3)");
    assert_eq!(log_rows(&run).len(), 3);
    assert_eq!(state_options(&run)["r1_gamma"], 1.0);

    // Options that may change take effect and are reported.
    let o = train(
        d,
        &[
            "--resume", "run", "--kimg", "0.016", "--gamma", "2", "--cbase", "64",
        ],
    );
    ok(&o);
    let err = stderr(&o);
    assert!(
        err.contains("resuming with --kimg 0.016 (was 0.012), --gamma 2 (was 1)"),
        "{err}"
    );
    assert_eq!(state_options(&run)["r1_gamma"], 2.0);
    assert_eq!(state_options(&run)["total_kimg"], 0.016);
    assert_eq!(snapshots(&run).len(), 4);
    assert_eq!(
        snapshots(&run)[3],
        "network-snapshot-000000.016.safetensors"
    );
    // The latest snapshot is an ordinary model file.
    ok(&bestiary(
        &[
            "generate",
            "--network",
            "run/network-snapshot-000000.016.safetensors",
            "--seeds",
            "0",
            "--outdir",
            "gen",
        ],
        d,
    ));
}
