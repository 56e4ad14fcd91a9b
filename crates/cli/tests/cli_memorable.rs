//! `bestiary memorable` end to end on the small official-layout fixture network (16x16, num_ws 6): the score
//! rises, the written W renders the written image again with `generate --projected-w`, a masked run keeps
//! the start image outside the grown mask, and bad input is refused in one line before any weights are
//! fetched. Needs the ResMem and VGG16 weights (assets `resmem`, `vgg16`) for the runs.

mod common;
use common::{assert_clean_error, bestiary, ok, refused, stderr, write_conditional_model};

use bestiary_canvas::png_meta::read_png;
use std::path::{Path, PathBuf};

fn pkl() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../stylegan/tests/fixtures/uncond16/network.pkl")
}

fn pixels(path: &Path) -> Vec<u8> {
    read_png(path).unwrap().0.to_channels(3).unwrap()
}

/// A 64x64 mask PNG: white where `on(x, y)`.
fn write_mask(path: &Path, on: impl Fn(u32, u32) -> bool) {
    let mut px = Vec::new();
    for y in 0..64 {
        for x in 0..64 {
            let v = if on(x, y) { 255 } else { 0 };
            px.extend([v, v, v, 255]);
        }
    }
    let img = bestiary_canvas::Image::from_raw(64, 64, px).unwrap();
    bestiary_canvas::png_meta::write_png(path, &img, None).unwrap();
}

fn weights() {
    let mut log = |m: &str| eprintln!("{m}");
    bestiary_assets::ensure("resmem", &mut log).expect("resmem weights");
    bestiary_assets::ensure("vgg16", &mut log).expect("vgg16 weights");
}

#[test]
fn help_has_examples() {
    let t = tempfile::tempdir().unwrap();
    let o = bestiary(&["memorable", "--help"], t.path());
    ok(&o);
    let text = String::from_utf8_lossy(&o.stdout);
    for w in [
        "Examples:",
        "--strength",
        "--keep",
        "--mask",
        "--projected-w",
        "--space",
        "--json",
        "generate --network model.pkl --projected-w",
    ] {
        assert!(text.contains(w), "{w} missing: {text}");
    }
}

/// The score (as `bestiary memorability` reports it) rises; the differentiable path's scores agree with
/// the exact 8-bit ones within 0.02; the image is `generate --projected-w` of the written W pixel for
/// pixel; the start of the path is `generate --seeds`; a second run does not replace the files.
#[test]
fn the_score_rises_and_the_w_renders_the_image_again() {
    weights();
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let net = pkl();
    let net = net.to_str().unwrap();
    let args = [
        "memorable",
        "--network",
        net,
        "--seed",
        "1",
        "--steps",
        "4",
        "--strength",
        "0.1",
        "--out",
        "m.png",
        "--json",
    ];
    let o = bestiary(&args, d);
    ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let before = v["score_before"].as_f64().unwrap();
    let after = v["score_after"].as_f64().unwrap();
    let lpips = v["lpips_after"].as_f64().unwrap();
    eprintln!("score {before} -> {after}, LPIPS {lpips}");
    assert!(after > before, "score {before} -> {after}");
    assert!(lpips > 0.0 && lpips < 0.25, "LPIPS {lpips}");
    let path: Vec<f64> = v["path"]["score"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_f64().unwrap())
        .collect();
    assert_eq!(path.len(), 5);
    assert!((path[0] - before).abs() < 0.02, "{} vs {before}", path[0]);
    assert!((path[4] - after).abs() < 0.02, "{} vs {after}", path[4]);
    for f in ["m.png", "m.safetensors", "m.gif"] {
        assert!(d.join(f).is_file(), "{f} missing");
    }
    // m.gif: start | image, before each step and at the end.
    let mut r = gif::DecodeOptions::new()
        .read_info(std::fs::File::open(d.join("m.gif")).unwrap())
        .unwrap();
    assert_eq!((r.width(), r.height()), (32, 16));
    let mut frames = 0;
    while r.read_next_frame().unwrap().is_some() {
        frames += 1;
    }
    assert_eq!(frames, 5);

    // The memorability command agrees with the reported score.
    let o = bestiary(&["memorability", "--json", "m.png"], d);
    ok(&o);
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!((m[0]["score"].as_f64().unwrap() - after).abs() < 1e-5);

    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--projected-w",
            "m.safetensors",
            "--out",
            "again.png",
        ],
        d,
    ));
    assert_eq!(pixels(&d.join("m.png")), pixels(&d.join("again.png")));
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "1",
            "--out",
            "start.png",
        ],
        d,
    ));
    assert_ne!(pixels(&d.join("m.png")), pixels(&d.join("start.png")));

    // Outputs are never replaced without --force; nothing is written then.
    let before_bytes = std::fs::read(d.join("m.safetensors")).unwrap();
    assert_clean_error(&refused(&args, d), "already exists");
    assert_eq!(
        std::fs::read(d.join("m.safetensors")).unwrap(),
        before_bytes
    );

    // Starting from the written W (W+ this time) works and keeps going.
    let o = bestiary(
        &[
            "memorable",
            "--network",
            net,
            "--projected-w",
            "m.safetensors",
            "--steps",
            "1",
            "--space",
            "w+",
            "--out",
            "again2.png",
            "--json",
        ],
        d,
    );
    ok(&o);
    let v2: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!((v2["score_before"].as_f64().unwrap() - after).abs() < 1e-6);
}

/// With --mask, every pixel outside the mask grown by feather + 0.5 (default feather: 1 pixel at 16x16)
/// is exactly as `generate --seeds` writes it, and the inside changes.
#[test]
fn a_masked_run_keeps_generate_outside_the_grown_mask() {
    weights();
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let net = pkl();
    let net = net.to_str().unwrap();
    // At 16x16: x 4..11, y 3..9.
    write_mask(&d.join("m.png"), |x, y| {
        (16..44).contains(&x) && (12..36).contains(&y)
    });
    let o = bestiary(
        &[
            "memorable",
            "--network",
            net,
            "--seed",
            "2",
            "--steps",
            "3",
            "--strength",
            "0.2",
            "--keep",
            "0",
            "--mask",
            "m.png",
            "--out",
            "r.png",
            "--json",
        ],
        d,
    );
    ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["masked_pixels"], 42);
    assert_eq!(v["feather"], 1.0);
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "2",
            "--out",
            "g.png",
        ],
        d,
    ));
    let (r, g) = (pixels(&d.join("r.png")), pixels(&d.join("g.png")));
    let inside = |x: usize, y: usize| (4..11).contains(&x) && (3..9).contains(&y);
    let grown = |x: usize, y: usize| {
        (0..256).any(|j| {
            inside(j % 16, j / 16)
                && ((j % 16) as f32 - x as f32).hypot((j / 16) as f32 - y as f32) <= 1.5
        })
    };
    let mut changed = 0;
    for p in 0..256 {
        let (x, y) = (p % 16, p / 16);
        if !grown(x, y) {
            assert_eq!(r[p * 3..p * 3 + 3], g[p * 3..p * 3 + 3], "pixel ({x}, {y})");
        } else if r[p * 3..p * 3 + 3] != g[p * 3..p * 3 + 3] {
            changed += 1;
        }
    }
    assert!(changed > 0, "nothing changed inside the mask");
}

/// Bad input: one `error:` line, non-zero exit, nothing written, on an empty cache with downloads off (so
/// every check happens before any weights are fetched).
#[test]
fn bad_input_is_refused_in_one_line() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let net = pkl();
    let net = net.to_str().unwrap();
    write_mask(&d.join("black.png"), |_, _| false);
    write_mask(&d.join("m.png"), |x, _| x < 20);
    std::fs::write(d.join("notes.png"), "not a png").unwrap();
    write_conditional_model(&d.join("cond.safetensors"));
    // A W of the wrong shape.
    let bad_w = bestiary_weights::safetensors_io::write(
        &std::collections::BTreeMap::from([(
            "w".to_string(),
            bestiary_weights::TensorData {
                shape: vec![3, 32],
                dtype: bestiary_weights::DType::F32,
                data: vec![0.0; 96],
            },
        )]),
        &Default::default(),
        bestiary_weights::DType::F32,
    )
    .unwrap();
    std::fs::write(d.join("bad_w.safetensors"), bad_w).unwrap();
    std::fs::write(d.join("taken.png"), "mine").unwrap();
    let run = |extra: &[&str]| {
        let mut a = vec!["memorable", "--network", net];
        a.extend_from_slice(extra);
        refused(&a, d)
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--seed", "1", "--steps", "0", "--out", "o.png"],
            "--steps",
        ),
        (
            vec!["--seed", "1", "--strength", "0", "--out", "o.png"],
            "--strength",
        ),
        (
            vec!["--seed", "1", "--strength", "nan", "--out", "o.png"],
            "--strength",
        ),
        (
            vec!["--seed", "1", "--keep", "inf", "--out", "o.png"],
            "--keep",
        ),
        (
            vec!["--seed", "1", "--feather", "2", "--out", "o.png"],
            "give a --mask",
        ),
        (
            vec![
                "--seed",
                "1",
                "--mask",
                "m.png",
                "--feather",
                "-1",
                "--out",
                "o.png",
            ],
            "--feather",
        ),
        (
            vec!["--seed", "1", "--mask", "missing.png", "--out", "o.png"],
            "--mask",
        ),
        (
            vec!["--seed", "1", "--mask", "notes.png", "--out", "o.png"],
            "--mask",
        ),
        (
            vec!["--seed", "1", "--mask", "black.png", "--out", "o.png"],
            "selects no pixel",
        ),
        (
            vec![
                "--seed", "1", "--mask", "m.png", "--layer", "6", "--out", "o.png",
            ],
            "--layer 6",
        ),
        (
            vec!["--projected-w", "missing.safetensors", "--out", "o.png"],
            "missing.safetensors",
        ),
        (
            vec!["--projected-w", "bad_w.safetensors", "--out", "o.png"],
            "expected one W [6, 32]",
        ),
        (vec!["--seed", "1", "--out", "o.bmp"], "o.bmp"),
        (vec!["--seed", "1", "--out", "taken.png"], "already exists"),
        (
            vec!["--seed", "1", "--out", "nowhere/o.png"],
            "does not exist",
        ),
    ];
    for (extra, needle) in &cases {
        let o = run(extra);
        assert_clean_error(&o, needle);
    }
    assert_clean_error(
        &refused(
            &[
                "memorable",
                "--network",
                "missing.pkl",
                "--seed",
                "1",
                "--out",
                "o.png",
            ],
            d,
        ),
        "missing.pkl",
    );
    assert_clean_error(
        &refused(
            &[
                "memorable",
                "--network",
                "cond.safetensors",
                "--seed",
                "1",
                "--out",
                "o.png",
            ],
            d,
        ),
        "conditional",
    );
    assert_eq!(std::fs::read(d.join("taken.png")).unwrap(), b"mine");
    for f in ["o.png", "o.safetensors", "o.gif"] {
        assert!(!d.join(f).exists(), "{f} written by a refused run");
    }
    assert!(!d.join(".fresh-cache").join("resmem").exists());
    // Neither start given: clap's own message.
    let o = refused(&["memorable", "--network", net, "--out", "o.png"], d);
    assert!(!o.status.success() && stderr(&o).contains("--seed"));
}
