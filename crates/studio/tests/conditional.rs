//! A conditional network in the studio: the session's class (by recorded name or index) labels every
//! seed, so tiles, W vectors and favourites are those `generate --class` gives; a wrong class is refused
//! with the valid ones listed. The network is the official cond32 fixture (3 classes).

use bestiary_canvas::png_meta;
use bestiary_studio::{Studio, StudioConfig};
use bestiary_stylegan::sampling::{generate_seeds, Sampling};
use bestiary_stylegan::{load_generator, ModelFile, NoiseMode, SynthesisOptions};
use bestiary_weights::Network;
use burn::backend::Flex;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

type B = Flex;

/// cond32's G as a model file whose training set named its classes bird, cat and dog.
fn model() -> ModelFile {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../stylegan/tests/fixtures/cond32");
    let cfg: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    let (tensors, _) =
        bestiary_weights::safetensors_io::read(&std::fs::read(dir.join("G.safetensors")).unwrap())
            .unwrap();
    let g = Network {
        class_name: "Generator".into(),
        init_kwargs: cfg["G"].clone(),
        tensors,
    };
    ModelFile {
        networks: BTreeMap::from([("G_ema".to_string(), g)]),
        training_set_kwargs: Some(json!({"class_names": ["bird", "cat", "dog"]})),
    }
}

fn start(dir: &Path, class: Option<&str>) -> Result<Studio, String> {
    let mut cfg = StudioConfig::new(dir.join("favs"), "cond.safetensors");
    cfg.port = 0;
    cfg.class = class.map(str::to_string);
    Studio::start::<B>(model(), Default::default(), cfg).map_err(|e| e.to_string())
}

/// The status and body of an HTTP request.
fn request(addr: SocketAddr, head: &str, body: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(
        format!(
            "{head}\r\nHost: localhost:{}\r\nContent-Length: {}\r\n\r\n{body}",
            addr.port(),
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let status = String::from_utf8_lossy(&out[..split])
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    (status, out[split + 4..].to_vec())
}

/// What `generate --class CLASS --trunc PSI` renders for a seed, as RGBA.
fn generated(seed: u32, psi: f64, class: usize) -> Vec<u8> {
    let dev = Default::default();
    let (g, cfg) = load_generator::<B>(&model(), &dev).unwrap();
    let s = Sampling {
        psi,
        cutoff: None,
        class: Some(class),
        synthesis: SynthesisOptions {
            noise_mode: NoiseMode::Const,
            ..Default::default()
        },
    };
    let hwc = generate_seeds(&g, &cfg, &[seed], &s, &dev)
        .unwrap()
        .remove(0);
    let r = cfg.img_resolution as u32;
    bestiary_canvas::Image::from_channels(r, r, cfg.img_channels, &hwc)
        .unwrap()
        .into_raw()
}

#[test]
fn a_session_explores_one_class_as_generate_renders_it() {
    let dir = tempfile::tempdir().unwrap();
    let st = start(dir.path(), Some("dog")).unwrap();
    let a = st.addr();
    let (status, body) = request(a, "GET /api/info HTTP/1.1", "");
    assert_eq!(status, 200);
    let info: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(info["class"], json!({"index": 2, "name": "dog"}));
    assert_eq!(info["directions"].as_array().unwrap().len(), 2);
    for (seed, psi) in [(5u32, 1.0f64), (6, 0.7)] {
        let (status, png) = request(
            a,
            &format!("GET /api/seed.png?seed={seed}&psi={psi}&noise=const HTTP/1.1"),
            "",
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&png));
        let px = png_meta::decode_png(&png).unwrap().0.into_raw();
        assert_eq!(px, generated(seed, psi, 2), "seed {seed} psi {psi}");
        assert_ne!(px, generated(seed, psi, 0), "the class made no difference");
    }
    // A favourite of a seed's W is that seed's class-2 image, and records the class.
    let (_, body) = request(a, "GET /api/seed.w?seed=5&psi=1 HTTP/1.1", "");
    let w = serde_json::from_slice::<Value>(&body).unwrap()["w"].clone();
    let (status, body) = request(
        a,
        "POST /api/favorites HTTP/1.1\r\nContent-Type: application/json",
        &json!({"w": w}).to_string(),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (img, meta) =
        png_meta::decode_png(&std::fs::read(dir.path().join("favs/fav-0001.png")).unwrap())
            .unwrap();
    assert_eq!(img.into_raw(), generated(5, 1.0, 2));
    assert_eq!(
        meta.unwrap().params["class"],
        json!({"index": 2, "name": "dog"})
    );
    st.shutdown();

    // The index works as the name does.
    let st = start(dir.path(), Some("2")).unwrap();
    assert_eq!(st.info().class.as_ref().map(|c| c.index), Some(2));
    st.shutdown();
}

#[test]
fn a_wrong_or_missing_class_is_refused_with_the_valid_ones() {
    let dir = tempfile::tempdir().unwrap();
    for (class, msg) in [
        (
            Some("cow"),
            "no class named 'cow': this network's classes are 0 (bird), 1 (cat), 2 (dog)",
        ),
        (Some("7"), "class 7 is out of range"),
        (
            None,
            "choose a class with --class (one of 0 (bird), 1 (cat), 2 (dog))",
        ),
    ] {
        let err = start(dir.path(), class)
            .err()
            .unwrap_or_else(|| panic!("{class:?} was accepted"));
        assert!(err.contains(msg), "{err}");
    }
}
