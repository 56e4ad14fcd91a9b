//! "More memorable" over real HTTP with the 16x16 fixture network: the brush's W comes back with the
//! ResMem scores before and after (as `bestiary memorability` reports them), and bad requests are 400s
//! answered before any weights load. Needs the ResMem and VGG16 weights (assets `resmem`, `vgg16`).

use bestiary_studio::{b64, Studio, StudioConfig};
use bestiary_stylegan::ModelFile;
use burn::backend::Flex;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

fn request(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(600))).unwrap();
    let b = body.map(Value::to_string).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        addr.port(),
        b.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(b.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let status = String::from_utf8_lossy(&out[..split])
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    (
        status,
        serde_json::from_slice(&out[split + 4..]).unwrap_or(Value::Null),
    )
}

#[test]
fn more_memorable_raises_the_score_and_refuses_bad_requests() {
    let mut log = |m: &str| eprintln!("{m}");
    bestiary_assets::ensure("resmem", &mut log).expect("resmem weights");
    bestiary_assets::ensure("vgg16", &mut log).expect("vgg16 weights");
    let dir = tempfile::tempdir().unwrap();
    let model = ModelFile::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../stylegan/tests/fixtures/uncond16/network.pkl"),
    )
    .unwrap();
    let mut cfg = StudioConfig::new(dir.path().join("favs"), "network.pkl");
    cfg.port = 0;
    let st = Studio::start::<Flex>(model, Default::default(), cfg).unwrap();
    let a = st.addr();
    let (s, v) = request(a, "GET", "/api/seed.w?seed=3&psi=1", None);
    assert_eq!(s, 200);
    let w = v["w"].as_str().unwrap().to_string();

    for body in [
        json!({"w": w, "steps": 0}),
        json!({"w": w, "steps": 51}),
        json!({"w": "AAAA", "steps": 2}),
        json!({"steps": 2}),
        json!({"w": w, "steps": 2, "tab": "x"}),
    ] {
        let (s, v) = request(a, "POST", "/api/memorable", Some(&body));
        assert_eq!(s, 400, "{body}: {v}");
    }
    assert_eq!(request(a, "GET", "/api/memorable", None).0, 405);

    let (s, v) = request(
        a,
        "POST",
        "/api/memorable",
        Some(&json!({"w": w, "steps": 3, "tab": "t1", "gen": 1})),
    );
    assert_eq!(s, 200, "{v}");
    let (before, after) = (
        v["score_before"].as_f64().unwrap(),
        v["score_after"].as_f64().unwrap(),
    );
    eprintln!("memorability {before} -> {after}, LPIPS {}", v["lpips"]);
    assert!(after > before, "{before} -> {after}");
    assert!(v["lpips"].as_f64().unwrap() < 0.25);
    let new_w = b64::decode_f32(v["w"].as_str().unwrap()).unwrap();
    let old_w = b64::decode_f32(&w).unwrap();
    assert_eq!(new_w.len(), old_w.len());
    assert_ne!(new_w, old_w);
    // The result renders like any other W.
    let (s, _) = request(
        a,
        "POST",
        "/api/render",
        Some(&json!({"w": v["w"], "noise": "const"})),
    );
    assert_eq!(s, 200);
    st.shutdown();
}
