//! Run folders never lose work: resumable from before the first step, a fresh log per run, one file
//! per snapshot however short the ticks, and resume options that either take effect or are refused.

mod common;

use bestiary_train::checkpoint::{kimg_label, parse_snapshot_name, snapshot_name, STATE_FILE};
use bestiary_train::folder::{clear_run, holds_run, latest_snapshot, run_files, LOG_FILE};
use bestiary_train::options::{FixedByRun, ResumeOptions};
use bestiary_train::run::Event;
use bestiary_train::{AugMode, TrainOptions, Trainer};
use burn::backend::Flex;
use common::{classic_images, fingerprint, small_options, tiny_configs};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

type B = Flex;

fn options(total_kimg: f64) -> TrainOptions {
    let mut o = small_options(4);
    o.g_reg_interval = 2;
    o.d_reg_interval = 3;
    o.seed = 7;
    o.total_kimg = total_kimg;
    o.tick_kimg = 0.004; // one step per tick
    o.snap_ticks = 1;
    o
}

#[test]
fn snapshot_names_are_unique_per_snapshot_and_sort_by_images_shown() {
    // Whole kimg keep the official name; anything else carries the images past it.
    assert_eq!(snapshot_name(0), "network-snapshot-000000.safetensors");
    assert_eq!(snapshot_name(20_000), "network-snapshot-000020.safetensors");
    assert_eq!(snapshot_name(16), "network-snapshot-000000.016.safetensors");
    assert_eq!(
        snapshot_name(20_480),
        "network-snapshot-000020.480.safetensors"
    );
    assert_eq!(kimg_label(1_234_567_001), "1234567.001");
    for nimg in [
        0u64,
        4,
        16,
        999,
        1000,
        1001,
        20_480,
        25_000_000,
        1_234_567_001,
    ] {
        assert_eq!(
            parse_snapshot_name(&snapshot_name(nimg)),
            Some(nimg),
            "{nimg}"
        );
    }
    assert_eq!(
        parse_snapshot_name("network-snapshot-000800.pkl"),
        Some(800_000)
    );
    for bad in [
        "network-snapshot-00001.safetensors",    // fewer than six digits
        "network-snapshot-000001.5.safetensors", // not three digits after the point
        "network-snapshot-000001.000.safetensors", // a whole kimg has the official name only
        "network-snapshot-000001.+12.safetensors",
        "network-snapshot-abcdef.safetensors",
        "network-snapshot-000001.png",
        "fakes-000001.png",
    ] {
        assert_eq!(parse_snapshot_name(bad), None, "{bad}");
    }
    // The latest is found by images shown, not by name order ("000020.480" sorts before "000020.safetensors"
    // but "000021" comes later still).
    let dir = tempfile::tempdir().unwrap();
    for n in [20_000u64, 20_480, 19_996, 21_000] {
        std::fs::write(dir.path().join(snapshot_name(n)), b"x").unwrap();
    }
    std::fs::write(
        dir.path().join("network-snapshot-999999.png"),
        b"not a snapshot",
    )
    .unwrap();
    let (nimg, path) = latest_snapshot(dir.path()).unwrap().unwrap();
    assert_eq!(nimg, 21_000);
    assert_eq!(path, dir.path().join("network-snapshot-000021.safetensors"));
}

#[test]
fn short_ticks_write_one_snapshot_file_each() {
    let _g = common::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dev = Default::default();
    let data = classic_images(12, 8);
    let (gcfg, dcfg) = tiny_configs(8, 0, 2);
    let dir = tempfile::tempdir().unwrap();
    let mut t = Trainer::<B>::new(gcfg, dcfg, options(0.012), &dev);
    let mut snaps: Vec<PathBuf> = Vec::new();
    t.run(&data, dir.path(), None, &AtomicBool::new(false), &mut |e| {
        if let Event::Snapshot(p) = e {
            snaps.push(p.to_path_buf())
        }
    })
    .unwrap();
    // Three ticks of 4 images: three snapshots under three names, each file its own network.
    assert_eq!(snaps.len(), 3);
    let names: Vec<String> = snaps
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "network-snapshot-000000.004.safetensors",
            "network-snapshot-000000.008.safetensors",
            "network-snapshot-000000.012.safetensors"
        ]
    );
    let bytes: Vec<Vec<u8>> = snaps.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert_ne!(bytes[0], bytes[1]);
    assert_ne!(bytes[1], bytes[2]);
    for k in ["004", "008", "012"] {
        assert!(
            dir.path().join(format!("fakes-000000.{k}.png")).exists(),
            "fakes {k} missing"
        );
    }
    assert_eq!(latest_snapshot(dir.path()).unwrap().unwrap().1, snaps[2]);
}

#[test]
fn a_run_stopped_before_its_first_step_resumes_exactly_and_starts_a_fresh_log() {
    let _g = common::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dev = Default::default();
    let data = classic_images(12, 8);
    let (gcfg, dcfg) = tiny_configs(8, 0, 2);

    let straight_dir = tempfile::tempdir().unwrap();
    let mut straight = Trainer::<B>::new(gcfg.clone(), dcfg.clone(), options(0.012), &dev);
    straight
        .run(
            &data,
            straight_dir.path(),
            None,
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap();

    // Stopped at once (a Ctrl-C before the first step): the state is already on disk, no snapshot.
    let dir = tempfile::tempdir().unwrap();
    // A log left by some earlier session must not be appended to.
    std::fs::write(dir.path().join(LOG_FILE), "{\"tick\": 99}\n").unwrap();
    let mut first = Trainer::<B>::new(gcfg, dcfg, options(0.012), &dev);
    let s = first
        .run(&data, dir.path(), None, &AtomicBool::new(true), &mut |_| {})
        .unwrap();
    assert!(s.interrupted);
    assert!(s.snapshot.is_none());
    assert!(
        dir.path().join(STATE_FILE).exists(),
        "no training state before the first step"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join(LOG_FILE)).unwrap(),
        ""
    );
    assert!(holds_run(dir.path()));
    drop(first);

    let (mut resumed, _) = Trainer::<B>::load_state(&dir.path().join(STATE_FILE), &dev).unwrap();
    assert_eq!(resumed.progress.nimg, 0);
    resumed
        .run(
            &data,
            dir.path(),
            None,
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap();
    let (a, pa) = fingerprint(&straight);
    let (b, pb) = fingerprint(&resumed);
    assert_eq!(pa, pb);
    assert!(a == b, "the resumed run differs from the straight one");
    let log = std::fs::read_to_string(dir.path().join(LOG_FILE)).unwrap();
    assert_eq!(log.lines().count(), 3, "{log}");
    assert!(!log.contains("\"tick\": 99"));
    // Snapshots are the same files as the straight run's.
    for n in [4u64, 8, 12] {
        let name = snapshot_name(n);
        assert_eq!(
            std::fs::read(dir.path().join(&name)).unwrap(),
            std::fs::read(straight_dir.path().join(&name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn clearing_a_run_deletes_its_files_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ours = [
        LOG_FILE,
        STATE_FILE,
        "reals.png",
        "fakes-init.png",
        "fakes-000000.004.png",
        "network-snapshot-000000.004.safetensors",
    ];
    for f in ours {
        std::fs::write(d.join(f), b"x").unwrap();
    }
    // A temp file of an interrupted write, and files that are not the run's.
    std::fs::write(d.join(".training-state.safetensors.tmp-123-0"), b"x").unwrap();
    for f in ["notes.txt", "network-snapshot-000001.pkl", "reals.jpg"] {
        std::fs::write(d.join(f), b"mine").unwrap();
    }
    assert!(holds_run(d));
    assert_eq!(run_files(d).unwrap().len(), ours.len() + 1);
    assert_eq!(clear_run(d).unwrap(), ours.len() + 1);
    assert!(!holds_run(d));
    let mut left: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["network-snapshot-000001.pkl", "notes.txt", "reals.jpg"]
    );
    // A temp file alone is debris, not a run.
    std::fs::write(d.join(".log.jsonl.tmp-9-9"), b"x").unwrap();
    assert!(!holds_run(d));
}

fn fixed() -> FixedByRun {
    FixedByRun {
        cfg: "lite".into(),
        cbase: 64,
        cmax: 8,
        batch: 4,
        seed: 7,
        freezed: 0,
        d_features: Default::default(),
    }
}

#[test]
fn resume_options_take_effect_and_report_or_are_refused_by_name() {
    let mut o = options(0.012);
    o.r1_gamma = 1.0;
    let mut p = 0.25;
    let r = ResumeOptions {
        kimg: Some(0.02),
        gamma: Some(2.0),
        lrate: Some(0.001),
        aug: Some(AugMode::Fixed),
        p: Some(0.5),
        mirror: true,
        tick: Some(0.004),
        ..Default::default()
    };
    // Fixed options equal to the run's are fine.
    let r = ResumeOptions {
        cbase: Some(64),
        cfg: Some("lite".into()),
        batch: Some(4),
        ..r
    };
    let changes = r.apply(&mut o, &mut p, &fixed()).unwrap();
    let lr0 = small_options(4).lrate_g;
    assert_eq!(
        changes,
        [
            "--kimg 0.02 (was 0.012)".to_string(),
            "--gamma 2 (was 1)".into(),
            format!("--lrate 0.001 (was {lr0})"),
            "--mirror (was off)".into(),
            "--aug fixed (was ada)".into(),
            "--p 0.5 (was 0.25)".into(),
        ]
    );
    assert_eq!(
        (
            o.total_kimg,
            o.r1_gamma,
            o.lrate_g,
            o.lrate_d,
            o.aug,
            o.mirror,
            p
        ),
        (0.02, 2.0, 0.001, 0.001, AugMode::Fixed, true, 0.5)
    );

    // Switching augmentation off zeroes p.
    let mut p = 0.3;
    ResumeOptions {
        aug: Some(AugMode::Noaug),
        ..Default::default()
    }
    .apply(&mut o, &mut p, &fixed())
    .unwrap();
    assert_eq!(p, 0.0);

    let err = ResumeOptions {
        cbase: Some(128),
        cmax: Some(8),
        gamma: Some(3.0),
        seed: Some(1),
        d_features: Some(bestiary_train::CriticKind::Vgg16),
        ..Default::default()
    }
    .apply(&mut o, &mut 0.0, &fixed())
    .unwrap_err();
    assert!(
        err.contains("--d-features vgg16 (the run's is none)"),
        "{err}"
    );
    assert!(
        err.starts_with(
            "--cbase 128 (the run's is 64), --seed 1 (the run's is 7), --d-features vgg16 (the run's is none) cannot change"
        ),
        "{err}"
    );
    assert!(!err.contains("--cmax") && !err.contains('\n'), "{err}");
    assert_eq!(o.r1_gamma, 2.0, "a refused resume changed the options");
    let err = ResumeOptions {
        kimg: Some(-1.0),
        ..Default::default()
    }
    .apply(&mut o, &mut 0.0, &fixed())
    .unwrap_err();
    assert!(err.contains("--kimg must be positive"), "{err}");
}
