//! `bestiary project` end to end on the small fixture network (16x16, num_ws 6, w_dim 32), and
//! `generate --projected-w` rendering its result. Needs the VGG16 weights (asset `vgg16`).

mod common;
use common::{assert_clean_error, bestiary, ok, refused};

use bestiary_canvas::png_meta::read_png;
use bestiary_weights::{safetensors_io, DType, TensorData};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn pkl() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../stylegan/tests/fixtures/uncond16/network.pkl")
}

fn rgb(path: &Path) -> (u32, u32, Vec<u8>) {
    let (img, _) = read_png(path).unwrap();
    (img.width(), img.height(), img.to_channels(3).unwrap())
}

fn read_st(path: &Path) -> (BTreeMap<String, TensorData>, BTreeMap<String, String>) {
    safetensors_io::read(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn project_writes_every_file_and_generate_reproduces_the_projection() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
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
    let o = bestiary(
        &[
            "project",
            "--network",
            net,
            "--target",
            "gen/seed0005.png",
            "--steps",
            "20",
            "--w-avg-samples",
            "1000",
            "--seed",
            "3",
            "--gif-frames",
            "5",
            "--outdir",
            "p",
            "--json",
        ],
        t.path(),
    );
    ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (
            v["steps"].as_u64(),
            v["space"].as_str(),
            v["resolution"].as_u64()
        ),
        (Some(20), Some("w"), Some(16))
    );
    let (first, last) = (
        v["lpips_first"].as_f64().unwrap(),
        v["lpips"].as_f64().unwrap(),
    );
    assert!(last < first, "LPIPS {first} -> {last}");
    assert!(v["seconds"].as_f64().unwrap() > 0.0);
    // The stored w and noise maps, with metadata.
    let (tensors, meta) = read_st(&t.path().join("p/projected_w.safetensors"));
    assert_eq!(tensors["w"].shape, vec![6, 32]);
    let w = &tensors["w"].data;
    assert!(
        w.chunks(32).all(|r| r == &w[..32]),
        "W space: one w for every layer"
    );
    let noise: Vec<&String> = tensors
        .keys()
        .filter(|k| k.ends_with(".noise_const"))
        .collect();
    assert_eq!(noise.len(), 5, "{noise:?}"); // b4.conv1, b8.conv0/1, b16.conv0/1
    assert_eq!(
        tensors["synthesis.b16.conv1.noise_const"].shape,
        vec![16, 16]
    );
    assert_eq!(
        (
            meta["network"].as_str(),
            meta["steps"].as_str(),
            meta["space"].as_str()
        ),
        ("network.pkl", "20", "w")
    );
    let lp: f64 = meta["lpips"].parse().unwrap();
    assert!((lp - last).abs() < 1e-6);
    assert!(meta["loss"].parse::<f64>().unwrap().is_finite());
    // target.png: the target at the network's resolution (here the generated image itself).
    assert_eq!(
        rgb(&t.path().join("p/target.png")),
        rgb(&t.path().join("gen/seed0005.png"))
    );
    // proj.gif: target | projection, one frame every 4 steps plus the last.
    let mut dec = gif::DecodeOptions::new();
    dec.set_color_output(gif::ColorOutput::RGBA);
    let mut r = dec
        .read_info(std::fs::File::open(t.path().join("p/proj.gif")).unwrap())
        .unwrap();
    assert_eq!((r.width(), r.height()), (32, 16));
    let mut frames = 0;
    while r.read_next_frame().unwrap().is_some() {
        frames += 1;
    }
    assert_eq!(frames, 6);
    // generate --projected-w renders proj.png bit for bit (the optimised noise maps come with the file).
    let proj = rgb(&t.path().join("p/proj.png"));
    assert_eq!((proj.0, proj.1), (16, 16));
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--projected-w",
            "p/projected_w.safetensors",
            "--out",
            "again.png",
        ],
        t.path(),
    ));
    assert_eq!(rgb(&t.path().join("again.png")), proj);
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--projected-w",
            "p/projected_w.safetensors",
            "--outdir",
            "g2",
        ],
        t.path(),
    ));
    assert_eq!(rgb(&t.path().join("g2/proj00.png")), proj);
    // Without the noise maps (w only) the network's own noise_const buffers are used: another image.
    let only_w = BTreeMap::from([("w".to_string(), tensors["w"].clone())]);
    std::fs::write(
        t.path().join("w_only.safetensors"),
        safetensors_io::write(&only_w, &BTreeMap::new(), DType::F32).unwrap(),
    )
    .unwrap();
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--projected-w",
            "w_only.safetensors",
            "--out",
            "w_only.png",
        ],
        t.path(),
    ));
    assert_ne!(rgb(&t.path().join("w_only.png")), proj);
}

#[test]
fn project_in_w_plus_is_deterministic_for_a_seed() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "9",
            "--outdir",
            "gen",
        ],
        t.path(),
    ));
    let run = |dir: &str, seed: &str| {
        ok(&bestiary(
            &[
                "project",
                "--network",
                net,
                "--target",
                "gen/seed0009.png",
                "--steps",
                "6",
                "--space",
                "w+",
                "--seed",
                seed,
                "--w-avg-samples",
                "500",
                "--outdir",
                dir,
            ],
            t.path(),
        ));
        read_st(&t.path().join(dir).join("projected_w.safetensors"))
    };
    let (a, ma) = run("a", "4");
    let (b, _) = run("b", "4");
    let (c, _) = run("c", "5");
    assert_eq!(ma["space"], "w+");
    assert_eq!(a["w"].shape, vec![6, 32]);
    assert!(
        a["w"].data.chunks(32).any(|r| r != &a["w"].data[..32]),
        "W+: each layer its own w"
    );
    for (k, v) in &a {
        assert_eq!(v.data, b[k].data, "{k}");
    }
    assert_ne!(
        a["synthesis.b8.conv0.noise_const"].data,
        c["synthesis.b8.conv0.noise_const"].data
    );
    assert_eq!(
        rgb(&t.path().join("a/proj.png")),
        rgb(&t.path().join("b/proj.png"))
    );
}

#[test]
fn project_and_projected_w_errors_are_one_clean_line() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "1",
            "--outdir",
            "gen",
        ],
        t.path(),
    ));
    std::fs::write(t.path().join("notes.png"), "not an image").unwrap();
    let project = |target: &str, network: &str, extra: &[&str]| {
        let mut args = vec![
            "project",
            "--network",
            network,
            "--target",
            target,
            "--outdir",
            "out",
        ];
        args.extend_from_slice(extra);
        refused(&args, t.path())
    };
    assert_clean_error(&project("missing.png", net, &[]), "missing.png");
    assert_clean_error(&project("notes.png", net, &[]), "notes.png");
    assert_clean_error(&project("gen/seed0001.png", "notes.png", &[]), "notes.png");
    assert_clean_error(
        &project("gen/seed0001.png", "missing.pkl", &[]),
        "missing.pkl",
    );
    assert_clean_error(
        &project("gen/seed0001.png", net, &["--steps", "0"]),
        "--steps",
    );
    assert!(
        !t.path().join("out").exists(),
        "nothing is written on a bad input"
    );

    // generate --projected-w: a w of the wrong shape, a noise map from another network, not a file of ws.
    let w = |shape: Vec<usize>| TensorData {
        data: vec![0.0; shape.iter().product()],
        shape,
        dtype: DType::F32,
    };
    let write = |name: &str, tensors: BTreeMap<String, TensorData>| {
        std::fs::write(
            t.path().join(name),
            safetensors_io::write(&tensors, &BTreeMap::new(), DType::F32).unwrap(),
        )
        .unwrap();
    };
    write(
        "w8.safetensors",
        BTreeMap::from([("w".to_string(), w(vec![8, 32]))]),
    );
    write(
        "foreign.safetensors",
        BTreeMap::from([
            ("w".to_string(), w(vec![6, 32])),
            (
                "synthesis.b64.conv0.noise_const".to_string(),
                w(vec![64, 64]),
            ),
        ]),
    );
    write(
        "small.safetensors",
        BTreeMap::from([
            ("w".to_string(), w(vec![6, 32])),
            ("synthesis.b8.conv0.noise_const".to_string(), w(vec![4, 4])),
        ]),
    );
    write(
        "two.safetensors",
        BTreeMap::from([("w".to_string(), w(vec![2, 6, 32]))]),
    );
    let gen = |file: &str| {
        bestiary(
            &[
                "generate",
                "--network",
                net,
                "--projected-w",
                file,
                "--out",
                "x.png",
            ],
            t.path(),
        )
    };
    assert_clean_error(&gen("w8.safetensors"), "expected [N, 6, 32]");
    assert_clean_error(
        &gen("foreign.safetensors"),
        "does not exist in this network",
    );
    assert_clean_error(&gen("small.safetensors"), "shape");
    assert_clean_error(&gen("two.safetensors"), "--outdir");
    assert_clean_error(&gen("notes.png"), "notes.png");
    assert_clean_error(&gen("missing.safetensors"), "missing.safetensors");
    assert!(!t.path().join("x.png").exists());
}

#[test]
fn project_help_has_examples() {
    let t = tempfile::tempdir().unwrap();
    let o = bestiary(&["project", "--help"], t.path());
    ok(&o);
    let help = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "--target",
        "--space",
        "--steps",
        "Examples:",
        "projected_w.safetensors",
        "generate --network",
    ] {
        assert!(help.contains(needle), "{needle} not in help");
    }
}

#[test]
fn project_crops_a_wide_target_to_its_centre_square() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    // 48x16: red | a gradient | blue; the centre square is the gradient, already at the network's 16 px.
    let mut img = bestiary_canvas::Image::new(48, 16);
    for y in 0..16u32 {
        for x in 0..48u32 {
            let px = match x / 16 {
                0 => [255, 0, 0, 255],
                1 => [(x - 16) as u8 * 16, y as u8 * 16, 128, 255],
                _ => [0, 0, 255, 255],
            };
            img.put(x, y, px);
        }
    }
    bestiary_canvas::png_meta::write_png(&t.path().join("wide.png"), &img, None).unwrap();
    ok(&bestiary(
        &[
            "project",
            "--network",
            net.to_str().unwrap(),
            "--target",
            "wide.png",
            "--steps",
            "2",
            "--w-avg-samples",
            "100",
            "--outdir",
            "p",
        ],
        t.path(),
    ));
    let (w, h, px) = rgb(&t.path().join("p/target.png"));
    assert_eq!((w, h), (16, 16));
    let want: Vec<u8> = (0..16u32)
        .flat_map(|y| (0..16u32).flat_map(move |x| [x as u8 * 16, y as u8 * 16, 128]))
        .collect();
    assert_eq!(px, want);
    for f in ["projected_w.safetensors", "proj.png", "proj.gif"] {
        assert!(t.path().join("p").join(f).is_file(), "{f}");
    }
}
