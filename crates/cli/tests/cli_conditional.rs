//! Conditional networks in mix, chimera, edit and video, with classes by name: the official cond32
//! fixture (3 classes) through the same one-hot label `generate --class` uses (itself checked against the
//! official generate.py in cli_networks), and names recorded by training on a `--labels-from-dirs` set.

mod common;

use common::{assert_clean_error, bestiary, ok, refused, stderr};
use std::path::Path;

/// The cond32 fixture as a model file whose training set named its classes bird, cat and dog.
fn named_model(dir: &Path) {
    let path = dir.join("cond.safetensors");
    common::write_conditional_model(&path);
    let mut model = bestiary_stylegan::ModelFile::load(&path).unwrap();
    model.training_set_kwargs =
        Some(serde_json::json!({"class_names": ["bird", "cat", "dog"], "use_labels": true}));
    std::fs::write(
        dir.join("named.safetensors"),
        model.to_safetensors(bestiary_weights::DType::F32).unwrap(),
    )
    .unwrap();
}

/// RGBA pixels of a PNG.
fn rgba(path: &Path) -> (u32, Vec<u8>) {
    let (img, _) = bestiary_canvas::png_meta::read_png(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (img.width(), img.into_raw())
}

/// The `tile`-sized square at tile column `c`, row `r` of a grid image `width` wide.
fn tile(px: &[u8], width: u32, tile: u32, c: u32, r: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for y in r * tile..(r + 1) * tile {
        let start = ((y * width + c * tile) * 4) as usize;
        out.extend_from_slice(&px[start..start + (tile * 4) as usize]);
    }
    out
}

fn max_diff(a: &[u8], b: &[u8]) -> u8 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

#[test]
fn mix_and_video_take_a_class_by_name_or_index() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    named_model(d);
    // What generate renders for class 1 (cat) and 2 (dog).
    ok(&bestiary(
        &[
            "generate",
            "--network",
            "named.safetensors",
            "--class",
            "1",
            "--seeds",
            "5-7",
            "--trunc",
            "0.7",
            "--outdir",
            "cat",
        ],
        d,
    ));
    ok(&bestiary(
        &[
            "generate",
            "--network",
            "named.safetensors",
            "--class",
            "dog",
            "--seeds",
            "5",
            "--outdir",
            "dog",
        ],
        d,
    ));
    ok(&bestiary(
        &[
            "generate",
            "--network",
            "named.safetensors",
            "--class",
            "2",
            "--seeds",
            "5",
            "--outdir",
            "dog2",
        ],
        d,
    ));
    assert_eq!(
        rgba(&d.join("dog/seed0005.png")),
        rgba(&d.join("dog2/seed0005.png")),
        "a class name and its index differ"
    );

    // The mixing grid's headers are the seeds' own images of that class: columns 7, rows 5 and 6.
    let o = bestiary(
        &[
            "mix",
            "--network",
            "named.safetensors",
            "--class",
            "cat",
            "--rows",
            "5,6",
            "--cols",
            "7",
            "--trunc",
            "0.7",
            "--out",
            "grid.png",
            "--json",
        ],
        d,
    );
    ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["class"], serde_json::json!({"index": 1, "name": "cat"}));
    let (w, grid) = rgba(&d.join("grid.png"));
    assert_eq!(w, 2 * 32);
    for (seed, c, r) in [(7u32, 1u32, 0u32), (5, 0, 1), (6, 0, 2)] {
        let (_, own) = rgba(&d.join(format!("cat/seed{seed:04}.png")));
        let diff = max_diff(&tile(&grid, w, 32, c, r), &own);
        assert!(
            diff <= 1,
            "seed {seed}: the grid differs from generate --class 1 by {diff}/255"
        );
    }
    // The cell mixes: neither the row seed's image nor the column seed's.
    let cell = tile(&grid, w, 32, 1, 1);
    assert!(
        max_diff(&cell, &tile(&grid, w, 32, 0, 1)) > 8
            && max_diff(&cell, &tile(&grid, w, 32, 1, 0)) > 8
    );
    let (_, meta) = bestiary_canvas::png_meta::read_png(&d.join("grid.png")).unwrap();
    assert_eq!(meta.unwrap().params["class"]["name"], "cat");

    // A walk in W through seeds 5 and 6 of class dog starts on generate's image of seed 5.
    let o = bestiary(
        &[
            "video",
            "--network",
            "named.safetensors",
            "--class",
            "dog",
            "--seeds",
            "5,6",
            "--frames",
            "3",
            "--out",
            "walk/",
        ],
        d,
    );
    ok(&o);
    let (_, first) = rgba(&d.join("walk/frame_00000.png"));
    let (_, own) = rgba(&d.join("dog/seed0005.png"));
    assert!(
        max_diff(&first, &own) <= 1,
        "frame 0 differs from generate --class dog"
    );
    let (_, last) = rgba(&d.join("walk/frame_00002.png"));
    assert!(max_diff(&first, &last) > 8, "the walk did not move");

    // Chimera and edit take the class too.
    ok(&bestiary(
        &[
            "chimera",
            "--network",
            "named.safetensors",
            "--class",
            "bird",
            "--coarse",
            "5",
            "--middle",
            "6",
            "--fine",
            "7",
            "--out",
            "chim.png",
        ],
        d,
    ));
    ok(&bestiary(
        &[
            "chimera",
            "--network",
            "named.safetensors",
            "--class",
            "0",
            "--coarse",
            "5",
            "--middle",
            "6",
            "--fine",
            "7",
            "--out",
            "chim0.png",
        ],
        d,
    ));
    assert_eq!(rgba(&d.join("chim.png")), rgba(&d.join("chim0.png")));
    ok(&bestiary(
        &[
            "edit",
            "--network",
            "named.safetensors",
            "--class",
            "cat",
            "--seed",
            "5",
            "--with-seed",
            "6",
            "--layers",
            "4-7",
            "--out",
            "ed.png",
        ],
        d,
    ));
}

#[test]
fn a_wrong_or_missing_class_lists_the_valid_ones() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    named_model(d);
    let mix = |class: Option<&str>, net: &str| {
        let mut args = vec![
            "mix",
            "--network",
            net,
            "--rows",
            "1",
            "--cols",
            "2",
            "--out",
            "g.png",
        ];
        if let Some(c) = class {
            args.extend(["--class", c]);
        }
        bestiary(&args, d)
    };
    assert_clean_error(
        &mix(Some("cow"), "named.safetensors"),
        "no class named 'cow': this network's classes are 0 (bird), 1 (cat), 2 (dog)",
    );
    assert_clean_error(
        &mix(Some("3"), "named.safetensors"),
        "class 3 is out of range: this network's classes are 0 (bird), 1 (cat), 2 (dog)",
    );
    assert_clean_error(
        &mix(None, "named.safetensors"),
        "choose a class with --class (one of 0 (bird), 1 (cat), 2 (dog))",
    );
    // Without recorded names only indices exist, and the error says so.
    assert_clean_error(&mix(Some("cat"), "cond.safetensors"), "'cat' is not a class index, and this model file records no class names: its classes are 0-2");
    let o = bestiary(
        &[
            "video",
            "--network",
            "named.safetensors",
            "--class",
            "Cat",
            "--seeds",
            "1,2",
            "--out",
            "v.gif",
        ],
        d,
    );
    assert_clean_error(&o, "no class named 'Cat'");
    let o = bestiary(
        &[
            "generate",
            "--network",
            "named.safetensors",
            "--class",
            "horse",
            "--seeds",
            "1",
            "--outdir",
            "x",
        ],
        d,
    );
    assert_clean_error(&o, "0 (bird), 1 (cat), 2 (dog)");
    for f in ["g.png", "v.gif", "x"] {
        assert!(!d.join(f).exists(), "{f} was written");
    }
}

#[test]
fn training_on_labelled_folders_records_the_class_names() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::create_dir(d.join("pets")).unwrap();
    for (class, engine) in [("cats", "squares"), ("dogs", "fractal")] {
        std::fs::create_dir(d.join("pets").join(class)).unwrap();
        for seed in 0..4 {
            let out = format!("pets/{class}/{seed}.png");
            ok(&bestiary(
                &[
                    "draw",
                    engine,
                    "--seed",
                    &seed.to_string(),
                    "--size",
                    "16",
                    "--out",
                    &out,
                ],
                d,
            ));
        }
    }
    ok(&bestiary(
        &[
            "dataset",
            "--source",
            "pets",
            "--labels-from-dirs",
            "--dest",
            "pets.zip",
            "--resolution",
            "16",
        ],
        d,
    ));
    let o = bestiary(
        &[
            "train", "--data", "pets.zip", "--outdir", "run", "--kimg", "0.004", "--cbase", "64",
            "--cmax", "8", "--batch", "4", "--json",
        ],
        d,
    );
    ok(&o);
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let snap = s["snapshot"].as_str().unwrap().to_string();
    let o = bestiary(&["inspect", "--network", &snap, "--json"], d);
    ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["c_dim"], 2);
    assert_eq!(
        v["training_set_kwargs"]["class_names"],
        serde_json::json!(["cats", "dogs"])
    );
    // The names work wherever --class does.
    ok(&bestiary(
        &[
            "generate",
            "--network",
            &snap,
            "--class",
            "dogs",
            "--seeds",
            "0",
            "--outdir",
            "g",
        ],
        d,
    ));
    ok(&bestiary(
        &[
            "mix",
            "--network",
            &snap,
            "--class",
            "cats",
            "--rows",
            "0",
            "--cols",
            "1",
            "--out",
            "m.png",
        ],
        d,
    ));
    let o = bestiary(
        &[
            "mix",
            "--network",
            &snap,
            "--class",
            "birds",
            "--rows",
            "0",
            "--cols",
            "1",
            "--out",
            "m2.png",
        ],
        d,
    );
    assert_clean_error(&o, "0 (cats), 1 (dogs)");
    // critic too: the run's D scores an image with a class given by name as by its index.
    let logit = |class: &str| {
        let o = bestiary(
            &[
                "critic",
                "--network",
                &snap,
                "--class",
                class,
                "--json",
                "g/seed0000.png",
            ],
            d,
        );
        ok(&o);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v[0]["logit"].as_f64().unwrap()
    };
    assert_eq!(logit("dogs"), logit("1"));
    assert_ne!(
        logit("dogs"),
        logit("cats"),
        "the class must reach the discriminator"
    );
    assert_clean_error(
        &refused(
            &[
                "critic",
                "--network",
                &snap,
                "--class",
                "birds",
                "g/seed0000.png",
            ],
            d,
        ),
        "0 (cats), 1 (dogs)",
    );
    // An unconditional network ignores --class with a warning, as generate.py does.
    let pkl = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../stylegan/tests/fixtures/uncond16/network.pkl");
    let o = bestiary(
        &[
            "mix",
            "--network",
            pkl.to_str().unwrap(),
            "--class",
            "cats",
            "--rows",
            "0",
            "--cols",
            "1",
            "--out",
            "u.png",
        ],
        d,
    );
    ok(&o);
    assert!(
        stderr(&o).contains("warning: --class is ignored"),
        "{}",
        stderr(&o)
    );
}
