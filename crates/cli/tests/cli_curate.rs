//! Judging a network end to end on the 16x16 fixture: `fid|kid|swd --network --data` against the same
//! metrics on a folder of `generate` output, `nearest` finding planted copies, and `rank` agreeing with the
//! `critic`, `memorability` and `nearest` commands. Weights (inception, resmem) come through the asset cache.

mod common;

use common::{assert_clean_error, bestiary, ok, refused};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn pkl() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../stylegan/tests/fixtures/uncond16/network.pkl")
}

fn json(o: &std::process::Output) -> Value {
    ok(o);
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

/// A dataset zip of 12 images from other seeds at psi 0.5, plus exact copies of seeds 0 and 1. Zip bytes are
/// deterministic, so its cached features are reused across runs.
fn dataset_with_copies(dir: &Path) -> PathBuf {
    let p = pkl();
    let net = p.to_str().unwrap();
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "0-1",
            "--outdir",
            "data",
        ],
        dir,
    ));
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "100-111",
            "--trunc",
            "0.5",
            "--outdir",
            "data",
        ],
        dir,
    ));
    ok(&bestiary(
        &[
            "dataset",
            "--source",
            "data",
            "--dest",
            "data.zip",
            "--resolution",
            "16",
        ],
        dir,
    ));
    dir.join("data.zip")
}

#[test]
fn network_metrics_equal_the_metrics_of_its_generated_folder() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    dataset_with_copies(d);
    let p = pkl();
    let net = p.to_str().unwrap();
    // generate's default noise is const; the metrics default to random (as the official ones), so match it.
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "0-5",
            "--outdir",
            "gen",
        ],
        d,
    ));
    let gen = [
        "--network",
        net,
        "--data",
        "data.zip",
        "--num",
        "6",
        "--noise-mode",
        "const",
        "--json",
    ];
    let files = ["--a", "data.zip", "--b", "gen", "--json"];
    for (cmd, key) in [("fid", "fid"), ("kid", "kid"), ("swd", "swd")] {
        let mut extra: Vec<&str> = vec![cmd];
        if cmd == "kid" {
            extra.extend(["--subsets", "10", "--subset-size", "6"]);
        }
        let from_net = json(&bestiary(&[extra.clone(), gen.to_vec()].concat(), d));
        let from_files = json(&bestiary(&[extra, files.to_vec()].concat(), d));
        let (x, y) = (
            from_net[key].as_f64().unwrap(),
            from_files[key].as_f64().unwrap(),
        );
        assert!(
            x.is_finite() && (x - y).abs() <= 1e-9 * y.abs().max(1.0),
            "{cmd}: network {x} vs folder {y}"
        );
        assert_eq!(from_net["num"], 6);
        assert_eq!(from_net["data_images"], 14);
    }
    // Seeded random noise: the same command gives the same score twice, and differs from const noise.
    let random = [
        "fid",
        "--network",
        net,
        "--data",
        "data.zip",
        "--num",
        "6",
        "--json",
    ];
    let r1 = json(&bestiary(&random, d))["fid"].as_f64().unwrap();
    let r2 = json(&bestiary(&random, d))["fid"].as_f64().unwrap();
    assert_eq!(r1, r2);
}

#[test]
fn nearest_flags_planted_copies_and_novelty_ranks_by_the_same_distances() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    dataset_with_copies(d);
    let p = pkl();
    let net = p.to_str().unwrap();
    let v = json(&bestiary(
        &[
            "nearest",
            "--network",
            net,
            "--data",
            "data.zip",
            "--seeds",
            "0,1,2,50",
            "--k",
            "2",
            "--out",
            "n.png",
            "--json",
        ],
        d,
    ));
    let results = v["results"].as_array().unwrap();
    let median = v["median_spacing"].as_f64().unwrap();
    assert!(median > 1.0, "{v}");
    let mut first = Vec::new();
    for (r, (seed, copy)) in results
        .iter()
        .zip([(0, true), (1, true), (2, false), (50, false)])
    {
        assert_eq!(r["seed"], seed);
        let n = r["neighbours"].as_array().unwrap();
        assert_eq!(n.len(), 2);
        let d0 = n[0]["distance"].as_f64().unwrap();
        assert!(d0 <= n[1]["distance"].as_f64().unwrap());
        assert_eq!(
            r["copy"], copy,
            "seed {seed}: distance {d0}, median spacing {median}"
        );
        if copy {
            assert!(
                d0 < 1e-3 * median,
                "an exact copy is at distance ~0, got {d0}"
            );
        }
        first.push(d0);
    }
    assert_eq!(v["copies"], 2);
    // One row per seed of 1 + k tiles, each at least 128 px.
    let sheet = bestiary_canvas::Image::load(&d.join("n.png")).unwrap();
    assert!(
        sheet.width() >= 3 * 128 && sheet.height() >= 4 * 128,
        "{}x{}",
        sheet.width(),
        sheet.height()
    );

    let v = json(&bestiary(
        &[
            "rank",
            "--network",
            net,
            "--data",
            "data.zip",
            "--seeds",
            "0,1,2,50",
            "--by",
            "novelty",
            "--top",
            "2",
            "--out",
            "r.png",
            "--json",
        ],
        d,
    ));
    let ranked = v["ranked"].as_array().unwrap();
    assert_eq!(ranked.len(), 4);
    let seeds = [0, 1, 2, 50];
    for r in ranked {
        let i = seeds.iter().position(|s| r["seed"] == *s).unwrap();
        assert!((r["score"].as_f64().unwrap() - first[i]).abs() < 1e-9);
    }
    // Most novel first: the planted copies come last.
    assert!(
        ranked[2]["score"].as_f64().unwrap() < 1e-3 && ranked[3]["score"].as_f64().unwrap() < 1e-3
    );
    assert_eq!(v["shown"], 2);
}

#[test]
fn rank_agrees_with_the_critic_and_memorability_commands() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let p = pkl();
    let net = p.to_str().unwrap();
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "0-4",
            "--outdir",
            "gen",
        ],
        d,
    ));
    let files: Vec<String> = (0..5).map(|s| format!("gen/seed{s:04}.png")).collect();
    let file_refs: Vec<&str> = files.iter().map(String::as_str).collect();

    let critic = json(&bestiary(
        &[
            vec!["critic", "--network", net, "--json"],
            file_refs.clone(),
        ]
        .concat(),
        d,
    ));
    let mem = json(&bestiary(
        &[vec!["memorability", "--json"], file_refs.clone()].concat(),
        d,
    ));
    for (by, reference, key) in [
        ("critic", &critic, "logit"),
        ("memorability", &mem, "score"),
    ] {
        let (top, low) = (format!("r-{by}.png"), format!("l-{by}.png"));
        let v = json(&bestiary(
            &[
                "rank",
                "--network",
                net,
                "--seeds",
                "0-4",
                "--by",
                by,
                "--top",
                "3",
                "--out",
                &top,
                "--json",
            ],
            d,
        ));
        let ranked = v["ranked"].as_array().unwrap();
        let mut want: Vec<(u32, f64)> = (0..5)
            .map(|s| {
                (
                    s,
                    reference.as_array().unwrap()[s as usize][key]
                        .as_f64()
                        .unwrap(),
                )
            })
            .collect();
        want.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (r, (seed, score)) in ranked.iter().zip(&want) {
            assert_eq!(r["seed"], *seed, "{by}: {v}");
            assert!(
                (r["score"].as_f64().unwrap() - score).abs() < 1e-4,
                "{by}: {r} vs {score}"
            );
        }
        let lowest = json(&bestiary(
            &[
                "rank",
                "--network",
                net,
                "--seeds",
                "0-4",
                "--by",
                by,
                "--top",
                "1",
                "--lowest",
                "--out",
                &low,
                "--json",
            ],
            d,
        ));
        assert_eq!(lowest["ranked"][0]["seed"], want[4].0);
    }
}

#[test]
fn curating_errors_are_one_line() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let p = pkl();
    let net = p.to_str().unwrap();
    assert_clean_error(
        &refused(
            &[
                "rank",
                "--network",
                net,
                "--seeds",
                "0-3",
                "--by",
                "novelty",
                "--out",
                "r.png",
            ],
            d,
        ),
        "needs --data",
    );
    assert_clean_error(
        &refused(
            &[
                "rank",
                "--network",
                net,
                "--seeds",
                "0-3",
                "--top",
                "0",
                "--out",
                "r.png",
            ],
            d,
        ),
        "--top",
    );
    assert_clean_error(
        &refused(
            &[
                "rank",
                "--network",
                "missing.pkl",
                "--seeds",
                "0-3",
                "--out",
                "r.png",
            ],
            d,
        ),
        "missing.pkl",
    );
    assert_clean_error(
        &refused(
            &[
                "nearest",
                "--network",
                net,
                "--data",
                "nowhere",
                "--seeds",
                "0",
            ],
            d,
        ),
        "does not exist",
    );
    assert_clean_error(
        &refused(
            &[
                "nearest",
                "--network",
                net,
                "--data",
                ".",
                "--seeds",
                "0",
                "--k",
                "0",
            ],
            d,
        ),
        "--k",
    );
    assert_clean_error(
        &refused(
            &["fid", "--network", net, "--data", "nowhere", "--num", "1"],
            d,
        ),
        "--num",
    );
    assert_clean_error(
        &refused(
            &["fid", "--network", net, "--data", "nowhere", "--num", "4"],
            d,
        ),
        "does not exist",
    );
}

#[test]
fn the_gallery_shows_a_networks_creatures() {
    // The memorable sheet needs ResMem in the cache (the gallery itself never downloads 527 MB).
    bestiary_assets::ensure("resmem", &mut |m: &str| eprintln!("{m}")).expect("resmem weights");
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let p = pkl();
    let net = p.to_str().unwrap();
    let v = json(&bestiary(
        &[
            "gallery",
            "--outdir",
            "g",
            "--size",
            "64",
            "--per-engine",
            "1",
            "--network",
            net,
            "--json",
        ],
        d,
    ));
    let creatures: Vec<String> = v["creatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    for name in [
        "seeds.png",
        "chimeras.png",
        "walk.gif",
        "walk.mp4",
        "memorable.png",
    ] {
        assert!(
            creatures.iter().any(|f| f.ends_with(name)),
            "{name} missing from {creatures:?}"
        );
    }
    assert!(v["skipped"].is_null());
    let load = |n: &str| bestiary_canvas::Image::load(&d.join("g/creatures").join(n)).unwrap();
    // 24 seeds in 8 columns of 128 px tiles; the mixing grid is (4 + 1) x (3 + 1) tiles of 16 px, x8.
    let seeds = load("seeds.png");
    assert!(seeds.width() >= 8 * 128 && seeds.height() >= 3 * 128);
    assert_eq!(
        (load("chimeras.png").width(), load("chimeras.png").height()),
        (5 * 16 * 8, 4 * 16 * 8)
    );
    // A looped walk of 100 frames; the MP4 decodes to the same count.
    let frames =
        bestiary_media::decode_mp4(&std::fs::read(d.join("g/creatures/walk.mp4")).unwrap())
            .unwrap();
    assert_eq!(frames.len(), 100);
    assert!(load("memorable.png").width() >= 8 * 128);
    // A bad network fails before anything is drawn.
    assert_clean_error(
        &refused(&["gallery", "--outdir", "h", "--network", "missing.pkl"], d),
        "missing.pkl",
    );
    assert!(!d.join("h").exists());
}
