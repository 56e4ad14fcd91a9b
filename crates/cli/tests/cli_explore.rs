//! End-to-end tests of the exploring commands (mix, chimera, blend, directions, edit) on the small
//! official-layout fixture network (16x16, num_ws 6).

mod common;
use common::{assert_clean_error, bestiary, ok, refused};

use bestiary_canvas::png_meta::read_png;
use bestiary_weights::{safetensors_io, DType};
use std::path::{Path, PathBuf};

fn pkl() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../stylegan/tests/fixtures/uncond16/network.pkl")
}

fn rgb(path: &Path) -> (u32, u32, Vec<u8>) {
    let (img, _) = read_png(path).unwrap();
    (img.width(), img.height(), img.to_channels(3).unwrap())
}

/// Tile (tr, tc) of 16x16 tiles from an RGB image `w` pixels wide.
fn tile(px: &[u8], w: u32, tr: usize, tc: usize) -> Vec<u8> {
    let w = w as usize;
    (0..16)
        .flat_map(|y| {
            px[((tr * 16 + y) * w + tc * 16) * 3..((tr * 16 + y) * w + tc * 16 + 16) * 3].to_vec()
        })
        .collect()
}

#[test]
fn mix_grid_geometry_and_headers_match_generate() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
    std::fs::create_dir(t.path().join("g")).unwrap();
    ok(&bestiary(
        &[
            "mix",
            "--network",
            net,
            "--rows",
            "1,2",
            "--cols",
            "3-5",
            "--styles",
            "0-2",
            "--trunc",
            "0.7",
            "--out",
            "g/grid.png",
            "--json",
        ],
        t.path(),
    ));
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "1,3",
            "--trunc",
            "0.7",
            "--outdir",
            "gen",
        ],
        t.path(),
    ));
    let (w, h, px) = rgb(&t.path().join("g/grid.png"));
    assert_eq!((w, h), (4 * 16, 3 * 16));
    assert!(
        tile(&px, w, 0, 0).iter().all(|&b| b == 0),
        "top-left tile is empty"
    );
    assert_eq!(
        tile(&px, w, 0, 1),
        rgb(&t.path().join("gen/seed0003.png")).2,
        "first row: column seeds"
    );
    assert_eq!(
        tile(&px, w, 1, 0),
        rgb(&t.path().join("gen/seed0001.png")).2,
        "first column: row seeds"
    );
    assert_ne!(tile(&px, w, 1, 1), tile(&px, w, 1, 0));
    assert_ne!(tile(&px, w, 1, 1), tile(&px, w, 0, 1));
    // Mixing every style gives the column image.
    ok(&bestiary(
        &[
            "mix",
            "--network",
            net,
            "--rows",
            "1",
            "--cols",
            "3",
            "--styles",
            "0-5",
            "--trunc",
            "0.7",
            "--out",
            "all.png",
        ],
        t.path(),
    ));
    let (w2, _, px2) = rgb(&t.path().join("all.png"));
    assert_eq!(tile(&px2, w2, 1, 1), tile(&px2, w2, 0, 1));
    // The default (official 0-6) covers all six layers of this small network.
    ok(&bestiary(
        &[
            "mix",
            "--network",
            net,
            "--rows",
            "1",
            "--cols",
            "3",
            "--trunc",
            "0.7",
            "--out",
            "def.png",
        ],
        t.path(),
    ));
    assert_eq!(rgb(&t.path().join("def.png")).2, px2);
    assert_clean_error(
        &refused(
            &[
                "mix",
                "--network",
                net,
                "--rows",
                "1",
                "--cols",
                "2",
                "--styles",
                "0-9",
                "--out",
                "x.png",
            ],
            t.path(),
        ),
        "out of range",
    );
}

#[test]
fn chimera_of_one_seed_equals_generate() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
    ok(&bestiary(
        &[
            "chimera",
            "--network",
            net,
            "--coarse",
            "7",
            "--middle",
            "7",
            "--fine",
            "7",
            "--out",
            "c.png",
        ],
        t.path(),
    ));
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "7,8",
            "--outdir",
            "gen",
        ],
        t.path(),
    ));
    assert_eq!(
        rgb(&t.path().join("c.png")).2,
        rgb(&t.path().join("gen/seed0007.png")).2
    );
    // Coarse from 7, the rest from 8: neither image.
    ok(&bestiary(
        &[
            "chimera",
            "--network",
            net,
            "--coarse",
            "7",
            "--middle",
            "8",
            "--fine",
            "8",
            "--out",
            "m.png",
        ],
        t.path(),
    ));
    let m = rgb(&t.path().join("m.png")).2;
    assert_ne!(m, rgb(&t.path().join("gen/seed0007.png")).2);
    assert_ne!(m, rgb(&t.path().join("gen/seed0008.png")).2);
}

#[test]
fn blend_takes_blocks_below_the_split_from_a() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    ok(&bestiary(
        &[
            "convert",
            "--network",
            net.to_str().unwrap(),
            "--out",
            "a.safetensors",
        ],
        t.path(),
    ));
    let (a, meta) =
        safetensors_io::read(&std::fs::read(t.path().join("a.safetensors")).unwrap()).unwrap();
    let mut b = a.clone();
    for v in b.values_mut() {
        v.data.iter_mut().for_each(|x| *x += 0.25);
    }
    std::fs::write(
        t.path().join("b.safetensors"),
        safetensors_io::write(&b, &meta, DType::F32).unwrap(),
    )
    .unwrap();
    std::fs::create_dir(t.path().join("out")).unwrap();
    ok(&bestiary(
        &[
            "blend",
            "--a",
            "a.safetensors",
            "--b",
            "b.safetensors",
            "--split-res",
            "16",
            "--out",
            "out/ab.safetensors",
        ],
        t.path(),
    ));
    let (out, _) =
        safetensors_io::read(&std::fs::read(t.path().join("out/ab.safetensors")).unwrap()).unwrap();
    assert_eq!(out.len(), a.len());
    let mut from_a = 0;
    for (name, tensor) in &out {
        let local = name.split_once('.').unwrap().1;
        let low = name.starts_with("G")
            && ["synthesis.b4.", "synthesis.b8."]
                .iter()
                .any(|p| local.starts_with(p));
        let want = if low { &a[name] } else { &b[name] };
        assert_eq!(tensor.data, want.data, "{name}");
        from_a += low as usize;
    }
    assert!(from_a > 0);
    // The blend is a working model.
    ok(&bestiary(
        &[
            "generate",
            "--network",
            "out/ab.safetensors",
            "--seeds",
            "1",
            "--outdir",
            "gen",
        ],
        t.path(),
    ));
    assert_clean_error(
        &refused(
            &[
                "blend",
                "--a",
                "a.safetensors",
                "--b",
                "b.safetensors",
                "--split-res",
                "24",
                "--out",
                "x.safetensors",
            ],
            t.path(),
        ),
        "power of two",
    );
    assert_clean_error(
        &refused(
            &[
                "blend",
                "--a",
                "nope.safetensors",
                "--b",
                "b.safetensors",
                "--split-res",
                "8",
                "--out",
                "x.safetensors",
            ],
            t.path(),
        ),
        "nope.safetensors",
    );
}

#[test]
fn directions_are_orthonormal_and_a_zero_edit_equals_generate() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
    ok(&bestiary(
        &[
            "directions",
            "--network",
            net,
            "--method",
            "sefa",
            "--num",
            "4",
            "--out",
            "d.safetensors",
            "--json",
        ],
        t.path(),
    ));
    let (m, _) =
        safetensors_io::read(&std::fs::read(t.path().join("d.safetensors")).unwrap()).unwrap();
    let d = &m["directions"];
    assert_eq!(d.shape, vec![4, 32]);
    for i in 0..4 {
        for j in 0..4 {
            let dot: f64 = (0..32)
                .map(|k| d.data[i * 32 + k] as f64 * d.data[j * 32 + k] as f64)
                .sum();
            assert!(
                (dot - if i == j { 1.0 } else { 0.0 }).abs() < 1e-5,
                "{i} {j} {dot}"
            );
        }
    }
    assert!(m["sigma"].data.iter().all(|&s| s > 0.0));
    let (pw, ph, _) = rgb(&t.path().join("d.png"));
    assert!(pw >= 7 * 16 && ph >= 4 * 16, "{pw}x{ph}");

    ok(&bestiary(
        &[
            "edit",
            "--network",
            net,
            "--seed",
            "5",
            "--direction",
            "d.safetensors:1",
            "--amount",
            "0",
            "--out",
            "e0.png",
        ],
        t.path(),
    ));
    ok(&bestiary(
        &[
            "edit",
            "--network",
            net,
            "--seed",
            "5",
            "--direction",
            "d.safetensors:1",
            "--amount",
            "-3",
            "--layers",
            "0-2",
            "--out",
            "e3.png",
        ],
        t.path(),
    ));
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "5",
            "--outdir",
            "gen",
        ],
        t.path(),
    ));
    let g = rgb(&t.path().join("gen/seed0005.png")).2;
    assert_eq!(rgb(&t.path().join("e0.png")).2, g);
    assert_ne!(rgb(&t.path().join("e3.png")).2, g);
    assert_clean_error(
        &refused(
            &[
                "edit",
                "--network",
                net,
                "--seed",
                "5",
                "--direction",
                "d.safetensors:9",
                "--amount",
                "1",
                "--out",
                "x.png",
            ],
            t.path(),
        ),
        "no direction 9",
    );
    assert_clean_error(
        &refused(
            &[
                "directions",
                "--network",
                net,
                "--method",
                "pca",
                "--out",
                "x.safetensors",
            ],
            t.path(),
        ),
        "unknown method",
    );
}

/// A 64x64 grey mask PNG, white where `on(x, y)` (in 64x64 pixels).
fn write_mask(path: &Path, on: impl Fn(usize, usize) -> bool) {
    let px: Vec<u8> = (0..64 * 64)
        .map(|i| if on(i % 64, i / 64) { 255 } else { 0 })
        .collect();
    let img = bestiary_canvas::Image::from_channels(64, 64, 1, &px).unwrap();
    bestiary_canvas::png_meta::write_png(path, &img, None).unwrap();
}

/// Largest channel difference of two RGB images at the 16x16 pixels where `pick(x, y)`.
fn max_diff_where(a: &[u8], b: &[u8], pick: impl Fn(usize, usize) -> bool) -> u8 {
    (0..256)
        .filter(|i| pick(i % 16, i / 16))
        .flat_map(|i| (0..3).map(move |c| a[i * 3 + c].abs_diff(b[i * 3 + c])))
        .max()
        .unwrap_or(0)
}

#[test]
fn a_masked_edit_matches_generate_outside_the_grown_mask() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
    // White over x 32..56, y 16..40 of 64: at 16x16, x 8..14, y 4..10.
    write_mask(&t.path().join("m.png"), |x, y| {
        (32..56).contains(&x) && (16..40).contains(&y)
    });
    let inside = |x: usize, y: usize| (8..14).contains(&x) && (4..10).contains(&y);
    // Grown by an eighth of the size (2 pixels, Euclidean between pixel centres).
    let grown = |x: usize, y: usize| {
        (0..256).any(|j| {
            inside(j % 16, j / 16)
                && ((j % 16) as f32 - x as f32).hypot((j / 16) as f32 - y as f32) <= 2.0
        })
    };
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "5",
            "--trunc",
            "0.7",
            "--outdir",
            "gen",
        ],
        t.path(),
    ));
    let gen = rgb(&t.path().join("gen/seed0005.png")).2;
    ok(&bestiary(
        &[
            "directions",
            "--network",
            net,
            "--method",
            "ganspace",
            "--num",
            "3",
            "--samples",
            "2000",
            "--no-preview",
            "--out",
            "g.safetensors",
        ],
        t.path(),
    ));
    let runs: [&[&str]; 4] = [
        &["--with-seed", "9"],
        &["--with-seed", "9", "--layer", "3", "--feather", "1.5"],
        &["--direction", "g.safetensors:0", "--amount", "4"],
        &[
            "--direction",
            "g.safetensors:1",
            "--amount",
            "-4",
            "--layers",
            "0-2",
            "--layer",
            "5",
            "--feather",
            "0",
        ],
    ];
    for (i, extra) in runs.iter().enumerate() {
        let out = format!("e{i}.png");
        let mut args = vec![
            "edit",
            "--network",
            net,
            "--seed",
            "5",
            "--trunc",
            "0.7",
            "--mask",
            "m.png",
            "--out",
            &out,
            "--json",
        ];
        args.extend_from_slice(extra);
        let o = bestiary(&args, t.path());
        ok(&o);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["masked_pixels"], 36, "{extra:?}");
        let e = rgb(&t.path().join(&out)).2;
        let outside = max_diff_where(&e, &gen, |x, y| !grown(x, y));
        let changed = max_diff_where(&e, &gen, inside);
        eprintln!("edit {extra:?}: outside the grown mask {outside}/255, inside {changed}/255");
        assert!(
            outside <= 2,
            "{extra:?}: {outside}/255 outside the grown mask"
        );
        assert!(changed > 2, "{extra:?}: the masked region did not change");
    }
    // The defaults on this 16x16 network: layer 0 (an eighth of 16 is below 4x4), feather 1 pixel.
    let o = bestiary(
        &[
            "edit",
            "--network",
            net,
            "--seed",
            "5",
            "--mask",
            "m.png",
            "--with-seed",
            "9",
            "--out",
            "d.png",
            "--json",
        ],
        t.path(),
    );
    ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["layer"].as_u64(), v["feather"].as_f64()),
        (Some(0), Some(1.0))
    );
    // Unmasked, --with-seed with every layer is the other seed's image.
    ok(&bestiary(
        &[
            "edit",
            "--network",
            net,
            "--seed",
            "5",
            "--trunc",
            "0.7",
            "--with-seed",
            "9",
            "--out",
            "w.png",
        ],
        t.path(),
    ));
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "9",
            "--trunc",
            "0.7",
            "--outdir",
            "gen",
        ],
        t.path(),
    ));
    assert_eq!(
        rgb(&t.path().join("w.png")).2,
        rgb(&t.path().join("gen/seed0009.png")).2
    );
}

#[test]
fn masked_edits_refuse_bad_input_in_one_line() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
    write_mask(&t.path().join("m.png"), |x, _| x < 32);
    write_mask(&t.path().join("black.png"), |_, _| false);
    std::fs::write(t.path().join("bad.png"), b"not a png").unwrap();
    let edit = |extra: &[&str]| {
        let mut args = vec!["edit", "--network", net, "--seed", "1", "--out", "x.png"];
        args.extend_from_slice(extra);
        bestiary(&args, t.path())
    };
    assert_clean_error(
        &edit(&["--mask", "nope.png", "--with-seed", "2"]),
        "nope.png",
    );
    assert_clean_error(&edit(&["--mask", "bad.png", "--with-seed", "2"]), "bad.png");
    assert_clean_error(
        &edit(&["--mask", "black.png", "--with-seed", "2"]),
        "selects no pixel",
    );
    assert_clean_error(
        &edit(&[
            "--mask",
            "m.png",
            "--with-seed",
            "2",
            "--direction",
            "d.safetensors:0",
            "--amount",
            "1",
        ]),
        "cannot be used together",
    );
    assert_clean_error(
        &edit(&["--mask", "m.png", "--with-seed", "2", "--layer", "6"]),
        "out of range",
    );
    assert_clean_error(
        &edit(&["--mask", "m.png", "--with-seed", "2", "--feather", "-1"]),
        "--feather",
    );
    assert_clean_error(&edit(&["--with-seed", "2", "--layer", "2"]), "--mask");
    assert_clean_error(&edit(&["--mask", "m.png"]), "nothing to edit");
    assert_clean_error(&edit(&["--direction", "d.safetensors:0"]), "--amount");
    assert!(!t.path().join("x.png").exists());

    // A conditional network is refused (cond32 fixture as a bestiary model file).
    common::write_conditional_model(&t.path().join("cond.safetensors"));
    let o = bestiary(
        &[
            "edit",
            "--network",
            "cond.safetensors",
            "--seed",
            "1",
            "--mask",
            "m.png",
            "--with-seed",
            "2",
            "--out",
            "x.png",
        ],
        t.path(),
    );
    assert_clean_error(&o, "conditional");
    let o = bestiary(
        &[
            "directions",
            "--network",
            "cond.safetensors",
            "--method",
            "ganspace",
            "--samples",
            "100",
            "--out",
            "x.safetensors",
        ],
        t.path(),
    );
    assert_clean_error(&o, "conditional");
}

#[test]
fn ganspace_directions_are_orthonormal_with_sigma_from_the_eigenvalues() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
    std::fs::create_dir(t.path().join("p")).unwrap();
    let o = bestiary(
        &[
            "directions",
            "--network",
            net,
            "--method",
            "ganspace",
            "--num",
            "5",
            "--samples",
            "3000",
            "--layers",
            "0-2",
            "--out",
            "p/g.safetensors",
            "--json",
        ],
        t.path(),
    );
    ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let explained: Vec<f64> = v["explained_variance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(explained.len(), 5);
    assert!(
        explained.windows(2).all(|w| w[0] >= w[1]) && explained.iter().sum::<f64>() <= 1.0 + 1e-9,
        "{explained:?}"
    );
    let (m, meta) =
        safetensors_io::read(&std::fs::read(t.path().join("p/g.safetensors")).unwrap()).unwrap();
    assert!(meta["bestiary"].contains("\"ganspace\""), "{meta:?}");
    let d = &m["directions"];
    assert_eq!(d.shape, vec![5, 32]);
    for i in 0..5 {
        for j in 0..5 {
            let dot: f64 = (0..32)
                .map(|k| d.data[i * 32 + k] as f64 * d.data[j * 32 + k] as f64)
                .sum();
            assert!(
                (dot - if i == j { 1.0 } else { 0.0 }).abs() < 1e-5,
                "{i} {j} {dot}"
            );
        }
    }
    for (s, e) in m["sigma"].data.iter().zip(&m["eigenvalues"].data) {
        assert!(
            (s - e.sqrt()).abs() < 1e-5 * s.max(1.0) && *s > 0.0,
            "sigma {s}, eigenvalue {e}"
        );
    }
    assert!(m["sigma"].data.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(m["mean"].shape, vec![32]);
    let (pw, ph, _) = rgb(&t.path().join("p/g.png"));
    assert!(pw >= 7 * 16 && ph >= 5 * 16, "{pw}x{ph}");
    // The same file layout as SeFa's: edit reads it, and a zero edit is the seed's image.
    ok(&bestiary(
        &[
            "edit",
            "--network",
            net,
            "--seed",
            "5",
            "--direction",
            "p/g.safetensors:0",
            "--amount",
            "0",
            "--out",
            "e0.png",
        ],
        t.path(),
    ));
    ok(&bestiary(
        &[
            "edit",
            "--network",
            net,
            "--seed",
            "5",
            "--direction",
            "p/g.safetensors:0",
            "--amount",
            "2",
            "--layers",
            "0-2",
            "--out",
            "e2.png",
        ],
        t.path(),
    ));
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "5",
            "--outdir",
            "gen",
        ],
        t.path(),
    ));
    let g = rgb(&t.path().join("gen/seed0005.png")).2;
    assert_eq!(rgb(&t.path().join("e0.png")).2, g);
    assert_ne!(rgb(&t.path().join("e2.png")).2, g);
    assert_clean_error(
        &refused(
            &[
                "directions",
                "--network",
                net,
                "--method",
                "sefa",
                "--samples",
                "10",
                "--out",
                "x.safetensors",
            ],
            t.path(),
        ),
        "ganspace only",
    );
    assert_clean_error(
        &refused(
            &[
                "directions",
                "--network",
                net,
                "--method",
                "ganspace",
                "--samples",
                "1",
                "--out",
                "x.safetensors",
            ],
            t.path(),
        ),
        "--samples",
    );
    assert_clean_error(
        &refused(
            &[
                "directions",
                "--network",
                net,
                "--method",
                "ganspace",
                "--num",
                "33",
                "--samples",
                "100",
                "--out",
                "x.safetensors",
            ],
            t.path(),
        ),
        "--num",
    );
}
