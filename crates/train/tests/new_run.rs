//! A new run's trainer from its options: the preset's values unless overridden, refusals as one line,
//! the minibatch-stddev group fitted to the batch, and the dataset's arguments recorded with the run.

mod common;

use bestiary_dataset::{pack, parse_background, Dataset, PackOptions, Source};
use bestiary_train::{AugMode, MemoryImages, NewRunOptions, Trainer};
use burn::backend::Flex;
use common::{classic_images, tiny_configs};
use std::sync::Arc;

type B = Flex;

/// Small networks on the `lite` preset (its z and w stay 256: cheap enough on 16 px images).
fn small() -> NewRunOptions {
    NewRunOptions {
        cfg: Some("lite".into()),
        cbase: Some(64),
        cmax: Some(8),
        ..Default::default()
    }
}

fn trainer(o: &NewRunOptions, data: &MemoryImages) -> Result<Trainer<B>, String> {
    let _lock = common::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    o.trainer::<B>(data, &Default::default(), &mut |_| {})
        .map_err(|e| e.to_string())
}

#[test]
fn the_preset_takes_every_override() {
    let data = classic_images(4, 16);
    let o = NewRunOptions {
        batch: Some(6),
        gamma: Some(2.5),
        lrate: Some(0.001),
        aug: Some(AugMode::Fixed),
        p: Some(0.3),
        target: Some(0.5),
        ada_kimg: Some(100.0),
        mirror: true,
        seed: Some(9),
        kimg: Some(0.5),
        tick: Some(0.1),
        snap: Some(2),
        freezed: Some(1),
        ..small()
    };
    let t = trainer(&o, &data).unwrap();
    let p = &t.opts;
    assert_eq!(p.cfg, "lite");
    assert_eq!(
        (p.batch, p.r1_gamma, p.lrate_g, p.lrate_d),
        (6, 2.5, 0.001, 0.001)
    );
    assert_eq!(
        (p.aug, p.augment_p, t.progress.augment_p),
        (AugMode::Fixed, 0.3, 0.3)
    );
    assert_eq!(
        (p.ada_target, p.ada_kimg, p.mirror, p.seed),
        (0.5, 100.0, true, 9)
    );
    assert_eq!((p.total_kimg, p.tick_kimg, p.snap_ticks), (0.5, 0.1, 2));
    assert_eq!(t.g_cfg.synthesis_kwargs.channel_base, 64);
    assert_eq!((t.d_cfg.channel_base, t.d_cfg.channel_max), (64, 8));
    assert_eq!(t.d_cfg.block_kwargs.freeze_layers, 1);
    // The preset's group of 4 does not divide 6: the largest divisor below it does.
    assert_eq!(t.d_cfg.epilogue_kwargs.mbstd_group_size, Some(3));
    assert!(!t.reached_total());
    t.check_images(&data).unwrap();
    assert_eq!(
        t.check_images(&classic_images(1, 8)).unwrap_err(),
        "the networks make 16x16 images with 3 channels, the dataset has 8x8 with 3"
    );
    let here = std::path::Path::new("here.zip");
    t.check_labels(&data, here).unwrap();
    let labelled = MemoryImages {
        c_dim: 2,
        labels: vec![vec![1.0, 0.0]; data.pixels.len()],
        ..classic_images(4, 16)
    };
    assert_eq!(
        t.check_labels(&labelled, here).unwrap_err(),
        "the run's networks take 0 labels, the dataset here.zip has 2"
    );
}

#[test]
fn a_resume_trains_on_the_recorded_dataset_unless_told_otherwise() {
    use bestiary_train::checkpoint::resumed_dataset;
    use std::path::{Path, PathBuf};
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.zip"), dir.path().join("b.zip"));
    std::fs::write(&a, b"").unwrap();
    std::fs::write(&b, b"").unwrap();
    let kwargs = serde_json::json!({"path": a.display().to_string()});
    assert_eq!(
        resumed_dataset(Some(&kwargs), None).unwrap(),
        (a.clone(), None)
    );
    // The same file by another spelling is no change.
    let other_spelling = dir.path().join(".").join("a.zip");
    assert_eq!(
        resumed_dataset(Some(&kwargs), Some(&other_spelling)).unwrap(),
        (other_spelling.clone(), None)
    );
    assert_eq!(
        resumed_dataset(Some(&kwargs), Some(&b)).unwrap(),
        (
            b.clone(),
            Some(format!("--data {} (was {})", b.display(), a.display()))
        )
    );
    let given = Path::new("c.zip");
    assert_eq!(
        resumed_dataset(None, Some(given)).unwrap(),
        (PathBuf::from("c.zip"), None)
    );
    assert_eq!(
        resumed_dataset(None, None).unwrap_err(),
        "--data is required (the run does not record its dataset)"
    );
}

#[test]
fn without_a_preset_the_device_chooses_it() {
    let data = classic_images(2, 16);
    let o = NewRunOptions {
        cfg: None,
        ..small()
    };
    assert_eq!(trainer(&o, &data).unwrap().opts.cfg, "lite");
    assert_eq!(bestiary_train::new_run::default_cfg(true), "auto");
}

#[test]
fn values_that_cannot_train_are_refused_in_one_line() {
    let data = classic_images(2, 16);
    let fixed = NewRunOptions {
        aug: Some(AugMode::Fixed),
        ..small()
    };
    assert_eq!(
        trainer(&fixed, &data).err().unwrap(),
        "--aug fixed needs --p (the augmentation probability)"
    );
    let p = NewRunOptions {
        p: Some(1.5),
        ..small()
    };
    assert_eq!(
        trainer(&p, &data).err().unwrap(),
        "--p 1.5 is out of range [0, 1]"
    );
    let cfg = NewRunOptions {
        cfg: Some("huge".into()),
        ..small()
    };
    assert!(trainer(&cfg, &data)
        .err()
        .unwrap()
        .contains("unknown preset `huge`"));
}

#[test]
fn a_pretrained_network_keeps_its_size_and_weights() {
    let data = classic_images(2, 16);
    let dir = tempfile::tempdir().unwrap();
    let (g, d) = tiny_configs(16, 0, 2);
    let opts = common::small_options(2);
    let snap = {
        let _lock = common::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        Trainer::<B>::new(g.clone(), d, opts, &Default::default())
            .save(dir.path(), None)
            .unwrap()
    };
    let resized = NewRunOptions {
        pretrained: Some(snap.clone()),
        cbase: Some(128),
        ..Default::default()
    };
    assert_eq!(
        trainer(&resized, &data).err().unwrap(),
        "--cbase/--cmax cannot change a pretrained network's size"
    );
    let tuned = NewRunOptions {
        pretrained: Some(snap),
        batch: Some(4),
        ..Default::default()
    };
    let t = trainer(&tuned, &data).unwrap();
    assert_eq!(t.g_cfg.z_dim, g.z_dim);
    assert_eq!(t.g_cfg.synthesis_kwargs.channel_max, 8);
    assert_eq!(t.d_cfg.epilogue_kwargs.mbstd_group_size, Some(2));
}

#[test]
fn the_dataset_arguments_name_its_folder_and_options() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("squares.zip");
    let draw = Arc::new(bestiary_classic::drawer("squares"));
    let source = Source::rendered("squares", 3, draw).unwrap();
    let opts = PackOptions {
        resolution: 16,
        transform: "center-crop".parse().unwrap(),
        background: parse_background("white").unwrap(),
        max_images: None,
        patches: None,
        patch_size: None,
        labels_from_dirs: false,
        seed: 0,
    };
    pack(&source, &zip, &opts, &mut |_| {}).unwrap();
    let data = Dataset::open(&zip).unwrap();
    let t = {
        let _lock = common::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        NewRunOptions {
            mirror: true,
            ..small()
        }
        .trainer::<B>(&data, &Default::default(), &mut |_| {})
        .unwrap()
    };
    let kwargs = t.training_set_kwargs(&zip, &data);
    let path = std::fs::canonicalize(&zip).unwrap();
    assert_eq!(
        kwargs,
        serde_json::json!({
            "class_name": "training.dataset.ImageFolderDataset",
            "path": path.display().to_string(), "resolution": 16, "use_labels": false,
            "max_size": 3, "xflip": true,
        })
    );
}

#[test]
fn the_same_options_given_again_continue_the_run() {
    let data = classic_images(2, 16);
    let mut t = trainer(&small(), &data).unwrap();
    // Given again unchanged, the options change nothing (the fixed ones equal the run's).
    assert_eq!(
        small().as_resume().apply_to(&mut t).unwrap(),
        Vec::<String>::new()
    );
    let gamma0 = t.opts.r1_gamma;
    let more = NewRunOptions {
        gamma: Some(gamma0 + 1.0),
        mirror: true,
        ..small()
    };
    assert_eq!(
        more.as_resume().apply_to(&mut t).unwrap(),
        [
            format!("--gamma {} (was {gamma0})", gamma0 + 1.0),
            "--mirror (was off)".into()
        ]
    );
    assert_eq!((t.opts.r1_gamma, t.opts.mirror), (gamma0 + 1.0, true));
    let other_size = NewRunOptions {
        cbase: Some(128),
        ..small()
    };
    let err = other_size.as_resume().apply_to(&mut t).unwrap_err();
    assert!(err.contains("--cbase"), "{err}");
}
