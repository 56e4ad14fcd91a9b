//! First contact: what a new user gives by mistake (a file that is no model, a run folder, a negative seed,
//! a network without channels) gets one `error:` line naming the cause, or just works.

mod common;

use common::{assert_clean_error, bestiary, ok, refused, stderr};
use std::path::{Path, PathBuf};

fn fixture_pkl() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../stylegan/tests/fixtures/uncond16/network.pkl")
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn files_that_are_no_model_file_say_what_they_are() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // Random bytes, an image, an empty file, each named like a pickle.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(d.join("x.pkl"), &random).unwrap();
    ok(&bestiary(
        &["draw", "squares", "--size", "16", "--out", "img.png"],
        d,
    ));
    std::fs::copy(d.join("img.png"), d.join("img.pkl")).unwrap();
    std::fs::write(d.join("empty.pkl"), b"").unwrap();
    let cases = [
        (
            "x.pkl",
            "x.pkl is not a model file: neither a pickle nor safetensors",
        ),
        ("img.pkl", "img.pkl is not a model file: it is a PNG image"),
        (
            "empty.pkl",
            "empty.pkl is not a model file: it is an empty file",
        ),
    ];
    for (file, says) in cases {
        for cmd in [
            &["inspect", "--network", file][..],
            &[
                "generate",
                "--network",
                file,
                "--seeds",
                "0",
                "--outdir",
                "o",
            ],
        ] {
            assert_clean_error(&refused(cmd, d), says);
        }
        assert_clean_error(&refused(&["critic", "--network", file, "img.png"], d), says);
        assert!(
            !stderr(&bestiary(&["inspect", "--network", file], d)).contains("Header"),
            "{file}"
        );
    }
    // A protocol-0 pickle that would run a shell command: named, refused, and nothing ran.
    std::fs::write(d.join("evil.pkl"), b"cos\nsystem\n(S'touch pwned'\ntR.").unwrap();
    let o = bestiary(
        &[
            "generate",
            "--network",
            "evil.pkl",
            "--seeds",
            "0",
            "--outdir",
            "o",
        ],
        d,
    );
    assert_clean_error(&o, "evil.pkl: refused: the pickle calls 'os.system'");
    assert!(!d.join("pwned").exists() && !d.join("o").exists());
}

#[test]
fn a_training_run_folder_stands_for_its_latest_snapshot() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::create_dir_all(d.join("run")).unwrap();
    std::fs::create_dir_all(d.join("empty")).unwrap();
    // An older snapshot that would fail to load, and the latest one.
    std::fs::write(d.join("run/network-snapshot-000000.safetensors"), b"stale").unwrap();
    std::fs::write(d.join("run/log.jsonl"), b"{}\n").unwrap();
    let pkl = fixture_pkl();
    ok(&bestiary(
        &[
            "convert",
            "--network",
            pkl.to_str().unwrap(),
            "--out",
            "run/network-snapshot-000004.safetensors",
        ],
        d,
    ));

    let o = bestiary(&["inspect", "--network", "run", "--json"], d);
    ok(&o);
    let latest = Path::new("run").join("network-snapshot-000004.safetensors");
    assert!(
        stderr(&o).contains(&format!("using {}", latest.display())),
        "{}",
        stderr(&o)
    );
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(info["file"], latest.display().to_string());

    ok(&bestiary(
        &[
            "generate",
            "--network",
            "run",
            "--seeds",
            "0",
            "--trunc",
            "0.7",
            "--outdir",
            "g",
        ],
        d,
    ));
    let direct = bestiary(
        &[
            "critic",
            "--network",
            pkl.to_str().unwrap(),
            "g/seed0000.png",
        ],
        d,
    );
    let via_run = bestiary(&["critic", "--network", "run", "g/seed0000.png"], d);
    ok(&via_run);
    assert_eq!(stdout(&via_run), stdout(&direct));
    // An official run folder holds .pkl snapshots: a later one wins.
    std::fs::copy(&pkl, d.join("run/network-snapshot-000008.pkl")).unwrap();
    let o = bestiary(&["inspect", "--network", "run"], d);
    ok(&o);
    assert!(
        stderr(&o).contains("network-snapshot-000008.pkl"),
        "{}",
        stderr(&o)
    );

    for cmd in [
        &["inspect", "--network", "empty"][..],
        &["critic", "--network", "empty", "g/seed0000.png"],
    ] {
        assert_clean_error(
            &refused(cmd, d),
            "empty is a folder without network snapshots",
        );
    }
}

#[test]
fn seed_lists_name_what_is_wrong() {
    let t = tempfile::tempdir().unwrap();
    let pkl = fixture_pkl();
    let p = pkl.to_str().unwrap();
    for (seeds, says) in [
        ("--seeds=-1", "negative seed '-1'"),
        ("--seeds=0-3,-7", "negative seed '-7'"),
        (
            "--seeds=4294967296",
            "seed 4294967296 in seed list '4294967296' is too large",
        ),
        ("--seeds=2.5", "is not a whole number"),
        ("--seeds=3-", "has no end"),
    ] {
        let o = bestiary(
            &["generate", "--network", p, seeds, "--outdir", "o"],
            t.path(),
        );
        assert_clean_error(&o, says);
        assert!(
            stderr(&o).contains("0..=4294967295") && !stderr(&o).contains("''"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn networks_without_channels_are_refused_before_anything_is_built() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    ok(&bestiary(
        &[
            "dataset",
            "--source",
            "classic:squares",
            "--count",
            "4",
            "--dest",
            "sq.zip",
            "--resolution",
            "16",
        ],
        d,
    ));
    for extra in [&["--cbase", "7"][..], &["--cbase", "7", "--cmax", "3"]] {
        let mut args = vec![
            "train", "--data", "sq.zip", "--outdir", "run", "--kimg", "0.004", "--batch", "4",
        ];
        args.extend_from_slice(extra);
        let o = bestiary(&args, d);
        assert_clean_error(
            &o,
            "channel_base 7 leaves the 16x16 layers without channels",
        );
        assert!(stderr(&o).contains("at least 16"), "{}", stderr(&o));
        assert!(
            !d.join("run/log.jsonl").exists(),
            "a refused run leaves no log"
        );
    }
    let o = bestiary(
        &[
            "train", "--data", "sq.zip", "--outdir", "run", "--cmax", "0",
        ],
        d,
    );
    assert_clean_error(&o, "channel_max 0");
}
