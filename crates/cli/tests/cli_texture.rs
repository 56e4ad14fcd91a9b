//! `bestiary texture` end to end: clean one-line errors, and a tiny run that writes a PNG with metadata.

mod common;

use bestiary_canvas::{png_meta, Image};
use common::{assert_clean_error, bestiary, ok, refused};
use std::path::{Path, PathBuf};

/// VGG16 weights through the asset cache, fetched on first use (as CI does).
fn vgg16() -> PathBuf {
    bestiary_assets::ensure("vgg16", &mut |m: &str| eprintln!("{m}")).unwrap_or_else(|e| {
        panic!("the tests need the VGG16 weights (`bestiary assets fetch vgg16`): {e}")
    })
}

/// A small source texture: noisy checks.
fn write_source(path: &Path) {
    let mut raw = Vec::new();
    for y in 0..48u32 {
        for x in 0..48u32 {
            let on = ((x / 6) + (y / 6)) % 2 == 1;
            let n = ((x * 31 + y * 17) % 11) as u8 * 5;
            raw.extend_from_slice(&if on {
                [200 - n, 120, 40 + n, 255]
            } else {
                [30 + n, 60, 90, 255]
            });
        }
    }
    png_meta::write_png(path, &Image::from_raw(48, 48, raw).unwrap(), None).unwrap();
}

#[test]
fn missing_source_is_one_clean_line() {
    let dir = tempfile::tempdir().unwrap();
    let o = refused(
        &["texture", "--source", "no/such/bark.jpg", "--out", "t.png"],
        dir.path(),
    );
    assert_clean_error(&o, "no/such/bark.jpg");
    assert!(!dir.path().join("t.png").exists());
}

#[test]
fn bad_arguments_are_one_clean_line() {
    let dir = tempfile::tempdir().unwrap();
    write_source(&dir.path().join("s.png"));
    let o = refused(
        &[
            "texture", "--source", "s.png", "--layers", "relu9_9", "--out", "t.png",
        ],
        dir.path(),
    );
    assert_clean_error(&o, "relu9_9");
    let o = refused(
        &[
            "texture",
            "--source",
            "s.png",
            "--size",
            "40",
            "--tile",
            "--octaves",
            "1",
            "--out",
            "t.png",
        ],
        dir.path(),
    );
    assert_clean_error(&o, "multiples of 16");
    let o = refused(
        &[
            "texture", "--source", "s.png", "--weight", "1", "--weight", "2", "--out", "t.png",
        ],
        dir.path(),
    );
    assert_clean_error(&o, "--weight");
}

#[test]
fn tiny_run_writes_png_with_metadata_and_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    write_source(&dir.path().join("s.png"));
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let vgg = vgg16();
    let o = bestiary(
        &[
            "texture",
            "--source",
            "s.png",
            "--size",
            "32",
            "--steps",
            "6",
            "--octaves",
            "1",
            "--seed",
            "3",
            "--tile",
            "--snapshots",
            "snaps",
            "--snapshot-every",
            "3",
            "--vgg",
            vgg.to_str().unwrap(),
            "--out",
            "out/tex.png",
            "--json",
        ],
        dir.path(),
    );
    ok(&o);
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(summary["loss_final"].as_f64().unwrap() < summary["loss_first"].as_f64().unwrap());
    let (img, meta) = png_meta::read_png(&dir.path().join("out/tex.png")).unwrap();
    assert_eq!((img.width(), img.height()), (32, 32));
    let meta = meta.expect("bestiary metadata");
    assert_eq!(meta.engine, "texture");
    assert_eq!(meta.seed, 3);
    assert_eq!(meta.params["sources"][0], "s.png");
    assert_eq!(meta.params["tile"], true);
    assert_eq!(meta.params["steps"], 6);
    let snaps = std::fs::read_dir(dir.path().join("snaps")).unwrap().count();
    assert_eq!(snaps, 2, "a snapshot at steps 3 and 6");
}

#[test]
fn dataset_mode_writes_count_textures() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    write_source(&dir.path().join("src/a.png"));
    let vgg = vgg16();
    let o = bestiary(
        &[
            "texture",
            "--source-dir",
            "src",
            "--count",
            "2",
            "--outdir",
            "ds",
            "--size",
            "32",
            "--steps",
            "2",
            "--octaves",
            "1",
            "--layers",
            "relu1_1,relu2_1",
            "--vgg",
            vgg.to_str().unwrap(),
        ],
        dir.path(),
    );
    ok(&o);
    for seed in 0..2 {
        let (_, meta) =
            png_meta::read_png(&dir.path().join(format!("ds/tex{seed:05}.png"))).unwrap();
        assert_eq!(meta.unwrap().seed, seed);
    }
}
