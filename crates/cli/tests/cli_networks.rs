//! End-to-end tests of the network commands against fixtures made with the official PyTorch code
//! (crates/stylegan/tests/fixtures): an official-structure pickle must give, seed for seed, the pixels the
//! official generate.py gives (`img_u8`).

mod common;

use bestiary_stylegan::ModelFile;
use bestiary_weights::{safetensors_io, DType, Network, TensorData};
use common::{assert_clean_error, bestiary, ok, refused};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../stylegan/tests/fixtures")
}

fn read_st(path: &Path) -> BTreeMap<String, TensorData> {
    safetensors_io::read(&std::fs::read(path).unwrap())
        .unwrap()
        .0
}

struct Case {
    cfg: serde_json::Value,
    io: BTreeMap<String, TensorData>,
}

fn case(name: &str) -> Case {
    let dir = fixtures().join(name);
    Case {
        cfg: serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap())
            .unwrap(),
        io: read_st(&dir.join("io.safetensors")),
    }
}

fn seeds_arg(cfg: &serde_json::Value) -> (Vec<u64>, String) {
    let seeds: Vec<u64> = cfg["seeds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    let arg = seeds
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    (seeds, arg)
}

/// Pixels (NHWC, as generate.py saves them) of `DIR/NAME`, compared with image `i` of `img_u8`.
fn max_pixel_diff(png: &Path, expected: &TensorData, i: usize) -> u8 {
    let (img, _) = bestiary_canvas::png_meta::read_png(png).unwrap();
    let c = expected.shape[3];
    let per = expected.shape[1] * expected.shape[2] * c;
    let want = &expected.data[i * per..(i + 1) * per];
    let got = img.to_channels(c).unwrap();
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(&g, &w)| (g as i32 - w as i32).unsigned_abs() as u8)
        .max()
        .unwrap()
}

#[test]
fn official_pickle_gives_the_official_pixels_seed_for_seed() {
    let t = tempfile::tempdir().unwrap();
    let c = case("uncond16");
    let (seeds, arg) = seeds_arg(&c.cfg);
    let pkl = fixtures().join("uncond16/network.pkl");
    let psi = c.cfg["trunc_psi"].to_string();
    ok(&bestiary(
        &[
            "generate",
            "--network",
            pkl.to_str().unwrap(),
            "--seeds",
            &arg,
            "--trunc",
            &psi,
            "--outdir",
            "pkl",
        ],
        t.path(),
    ));
    // The same through our own model file.
    ok(&bestiary(
        &[
            "convert",
            "--network",
            pkl.to_str().unwrap(),
            "--out",
            "m.safetensors",
        ],
        t.path(),
    ));
    ok(&bestiary(
        &[
            "generate",
            "--network",
            "m.safetensors",
            "--seeds",
            &arg,
            "--trunc",
            &psi,
            "--outdir",
            "st",
            "--batch",
            "3",
        ],
        t.path(),
    ));
    for (i, s) in seeds.iter().enumerate() {
        for dir in ["pkl", "st"] {
            let png = t.path().join(format!("{dir}/seed{s:04}.png"));
            let d = max_pixel_diff(&png, &c.io["img_u8"], i);
            assert!(
                d <= 1,
                "{dir} seed {s}: max difference {d}/255 against the official generate.py"
            );
        }
    }
    // Metadata says how the picture was made.
    let (_, meta) =
        bestiary_canvas::png_meta::read_png(&t.path().join("pkl/seed0042.png")).unwrap();
    let meta = meta.unwrap();
    assert_eq!((meta.engine.as_str(), meta.seed), ("stylegan2", 42));
    assert_eq!(meta.params["trunc"], 0.7);
}

#[test]
fn conditional_network_with_class_and_cutoff() {
    let t = tempfile::tempdir().unwrap();
    let c = case("cond32");
    let dir = fixtures().join("cond32");
    let net = |file: &str, key: &str, class_name: &str| Network {
        class_name: class_name.into(),
        init_kwargs: c.cfg[key].clone(),
        tensors: read_st(&dir.join(file)),
    };
    let model = ModelFile {
        networks: BTreeMap::from([
            ("G_ema".to_string(), net("G.safetensors", "G", "Generator")),
            ("D".to_string(), net("D.safetensors", "D", "Discriminator")),
        ]),
        training_set_kwargs: None,
    };
    std::fs::write(
        t.path().join("cond.safetensors"),
        model.to_safetensors(DType::F32).unwrap(),
    )
    .unwrap();
    let (seeds, arg) = seeds_arg(&c.cfg);
    let (psi, cutoff, class) = (
        c.cfg["trunc_psi"].to_string(),
        c.cfg["trunc_cutoff"].to_string(),
        c.cfg["class_idx"].to_string(),
    );
    assert_clean_error(
        &refused(
            &[
                "generate",
                "--network",
                "cond.safetensors",
                "--seeds",
                "1",
                "--outdir",
                "x",
            ],
            t.path(),
        ),
        "--class",
    );
    assert_clean_error(
        &refused(
            &[
                "generate",
                "--network",
                "cond.safetensors",
                "--seeds",
                "1",
                "--class",
                "3",
                "--outdir",
                "x",
            ],
            t.path(),
        ),
        "out of range",
    );
    ok(&bestiary(
        &[
            "generate",
            "--network",
            "cond.safetensors",
            "--seeds",
            &arg,
            "--trunc",
            &psi,
            "--trunc-cutoff",
            &cutoff,
            "--class",
            &class,
            "--outdir",
            "out",
        ],
        t.path(),
    ));
    for (i, s) in seeds.iter().enumerate() {
        let d = max_pixel_diff(
            &t.path().join(format!("out/seed{s:04}.png")),
            &c.io["img_u8"],
            i,
        );
        assert!(d <= 1, "seed {s}: max difference {d}/255");
    }
    let o = bestiary(
        &["inspect", "--network", "cond.safetensors", "--json"],
        t.path(),
    );
    ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (
            v["num_ws"].as_u64(),
            v["c_dim"].as_u64(),
            v["resolution"].as_u64()
        ),
        (c.cfg["num_ws"].as_u64(), Some(3), Some(32))
    );
}

#[test]
fn projected_w_renders_stored_vectors() {
    let t = tempfile::tempdir().unwrap();
    let c = case("uncond16");
    let ws = c.io["ws_trunc"].clone();
    let pkl = fixtures().join("uncond16/network.pkl");
    // Our format: a safetensors file with tensor 'w'.
    let st = safetensors_io::write(
        &BTreeMap::from([("w".to_string(), ws.clone())]),
        &BTreeMap::new(),
        DType::F32,
    )
    .unwrap();
    std::fs::write(t.path().join("w.safetensors"), st).unwrap();
    // The official projector's format: an .npz holding 'w'.
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}, {}), }}",
        ws.shape[0], ws.shape[1], ws.shape[2]
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    npy.extend((header.len() as u16).to_le_bytes());
    npy.extend(header.as_bytes());
    npy.extend(ws.data.iter().flat_map(|f| f.to_le_bytes()));
    let mut zw =
        zip::ZipWriter::new(std::fs::File::create(t.path().join("projected_w.npz")).unwrap());
    zw.start_file("w.npy", zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut zw, &npy).unwrap();
    zw.finish().unwrap();
    for (file, dir) in [("w.safetensors", "a"), ("projected_w.npz", "b")] {
        ok(&bestiary(
            &[
                "generate",
                "--network",
                pkl.to_str().unwrap(),
                "--projected-w",
                file,
                "--outdir",
                dir,
            ],
            t.path(),
        ));
        for i in 0..ws.shape[0] {
            let d = max_pixel_diff(
                &t.path().join(format!("{dir}/proj{i:02}.png")),
                &c.io["img_u8"],
                i,
            );
            assert!(d <= 1, "{file} #{i}: {d}/255");
        }
    }
}

#[test]
fn critic_scores_with_the_discriminator() {
    let t = tempfile::tempdir().unwrap();
    let pkl = fixtures().join("uncond16/network.pkl");
    let p = pkl.to_str().unwrap();
    ok(&bestiary(
        &[
            "generate",
            "--network",
            p,
            "--seeds",
            "0-1",
            "--outdir",
            "g",
        ],
        t.path(),
    ));
    let o = bestiary(
        &[
            "critic",
            "--network",
            p,
            "--json",
            "g/seed0000.png",
            "g/seed0001.png",
        ],
        t.path(),
    );
    ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let logits: Vec<f64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["logit"].as_f64().unwrap())
        .collect();
    assert_eq!(v[1]["path"], "g/seed0001.png");
    assert!(
        logits.iter().all(|l| l.is_finite()) && logits[0] != logits[1],
        "{logits:?}"
    );
    // Scored alone: the same image gives the same logit whatever it is passed with.
    let o2 = bestiary(
        &["critic", "--network", p, "--json", "g/seed0001.png"],
        t.path(),
    );
    let v2: serde_json::Value = serde_json::from_slice(&o2.stdout).unwrap();
    assert_eq!(v2[0]["logit"], v[1]["logit"]);
    // A wrong size is an error unless --resize.
    ok(&bestiary(
        &["draw", "flow", "--size", "24", "--out", "big.png"],
        t.path(),
    ));
    assert_clean_error(
        &refused(&["critic", "--network", p, "big.png"], t.path()),
        "--resize",
    );
    ok(&bestiary(
        &["critic", "--network", p, "--resize", "big.png"],
        t.path(),
    ));
}

#[test]
fn bad_model_files_give_one_clean_line() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("junk.pkl"), b"\x80\x04this is not a pickle").unwrap();
    std::fs::write(
        t.path().join("junk.safetensors"),
        b"\x10\x00\x00\x00\x00\x00\x00\x00{}",
    )
    .unwrap();
    let pkl = std::fs::read(fixtures().join("uncond16/network.pkl")).unwrap();
    std::fs::write(t.path().join("cut.pkl"), &pkl[..pkl.len() / 2]).unwrap();
    for f in ["missing.pkl", "junk.pkl", "junk.safetensors", "cut.pkl"] {
        let o = bestiary(
            &["generate", "--network", f, "--seeds", "0", "--outdir", "o"],
            t.path(),
        );
        assert_clean_error(&o, f);
        assert!(
            !t.path().join("o").exists(),
            "{f}: no output folder for a failed load"
        );
        // The cause is said once, not repeated by the error chain.
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.matches("os error").count() <= 1, "{err}");
    }
    let evil =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../weights/tests/fixtures/evil_network_p4.pkl");
    assert_clean_error(
        &refused(&["inspect", "--network", evil.to_str().unwrap()], t.path()),
        "evil_network_p4.pkl",
    );
    assert_clean_error(
        &refused(
            &[
                "generate",
                "--network",
                "x.pkl",
                "--seeds",
                "3-1",
                "--outdir",
                "o",
            ],
            t.path(),
        ),
        "backwards",
    );
    assert_clean_error(
        &refused(
            &["convert", "--network", "x.pkl", "--out", "x.bin"],
            t.path(),
        ),
        ".safetensors",
    );
    // Tests never have a GPU: asking for one is a clear error whether or not CUDA support was built in.
    assert_clean_error(
        &refused(
            &[
                "bench", "generate", "--res", "8", "--iters", "1", "--device", "cuda",
            ],
            t.path(),
        ),
        "cuda",
    );
}

#[test]
fn f16_model_file_stays_close() {
    let t = tempfile::tempdir().unwrap();
    let c = case("uncond16");
    let pkl = fixtures().join("uncond16/network.pkl");
    ok(&bestiary(
        &[
            "convert",
            "--network",
            pkl.to_str().unwrap(),
            "--only",
            "G_ema",
            "--dtype",
            "f16",
            "--out",
            "h.safetensors",
        ],
        t.path(),
    ));
    let m = ModelFile::load(&t.path().join("h.safetensors")).unwrap();
    assert_eq!(m.networks.keys().collect::<Vec<_>>(), ["G_ema"]);
    ok(&bestiary(
        &[
            "generate",
            "--network",
            "h.safetensors",
            "--seeds",
            "0",
            "--trunc",
            "0.7",
            "--outdir",
            "h",
        ],
        t.path(),
    ));
    let d = max_pixel_diff(&t.path().join("h/seed0000.png"), &c.io["img_u8"], 0);
    assert!(d <= 8, "f16 weights drift {d}/255");
    assert_clean_error(
        &refused(
            &["critic", "--network", "h.safetensors", "h/seed0000.png"],
            t.path(),
        ),
        "no D network",
    );
}
