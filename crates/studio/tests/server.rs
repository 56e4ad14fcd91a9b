//! The studio over real HTTP on an ephemeral port, with the 16x16 fixture network.

use bestiary_canvas::png_meta;
use bestiary_studio::{b64, Studio, StudioConfig};
use bestiary_stylegan::sampling::{generate_seeds, Sampling};
use bestiary_stylegan::{load_generator, ModelFile, NoiseMode, SynthesisOptions};
use burn::backend::Flex;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

type B = Flex;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../stylegan/tests/fixtures/uncond16/network.pkl")
}

fn start_with(dir: &Path, tweak: impl FnOnce(&mut StudioConfig)) -> Studio {
    let model = ModelFile::load(&fixture()).unwrap();
    let mut cfg = StudioConfig::new(dir.join("favs"), "network.pkl");
    cfg.port = 0;
    tweak(&mut cfg);
    Studio::start::<B>(model, Default::default(), cfg).unwrap()
}

fn start(dir: &Path) -> Studio {
    start_with(dir, |_| {})
}

struct Reply {
    status: u16,
    headers: String,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

fn raw(addr: SocketAddr, bytes: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head: {:?}", String::from_utf8_lossy(&out)));
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Reply {
        status,
        headers: head,
        body: out[split + 4..].to_vec(),
    }
}

fn get(addr: SocketAddr, path: &str) -> Reply {
    raw(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes(),
    )
}

fn post(addr: SocketAddr, path: &str, body: &Value) -> Reply {
    let b = body.to_string();
    raw(addr, format!("POST {path} HTTP/1.1\r\nHost: localhost:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}", addr.port(), b.len()).as_bytes())
}

fn pixels(png: &[u8]) -> Vec<u8> {
    png_meta::decode_png(png).unwrap().0.into_raw()
}

/// What `generate` renders for a seed, as RGBA (the fixture is RGB).
fn generated(seed: u32, psi: f64) -> Vec<u8> {
    let model = ModelFile::load(&fixture()).unwrap();
    let dev = Default::default();
    let (g, cfg) = load_generator::<B>(&model, &dev).unwrap();
    let s = Sampling {
        psi,
        cutoff: None,
        class: None,
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

fn seed_w(addr: SocketAddr, seed: u32, psi: f64) -> String {
    let r = get(addr, &format!("/api/seed.w?seed={seed}&psi={psi}"));
    assert_eq!(r.status, 200);
    r.json()["w"].as_str().unwrap().to_string()
}

fn wait_until(what: &str, f: impl Fn() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn page_and_info() {
    let dir = tempfile::tempdir().unwrap();
    let st = start(dir.path());
    let r = get(st.addr(), "/");
    assert_eq!(r.status, 200);
    assert!(String::from_utf8_lossy(&r.body).contains("app.js"));
    assert!(r.headers.contains("Content-Security-Policy"));
    assert_eq!(get(st.addr(), "/app.js").status, 200);
    assert_eq!(get(st.addr(), "/style.css").status, 200);
    let info = get(st.addr(), "/api/info").json();
    assert_eq!(info["resolution"], 16);
    assert!(info["num_ws"].as_u64().unwrap() > 0);
    let dirs = info["directions"].as_array().unwrap();
    assert_eq!(dirs.len(), 2);
    assert!(dirs.iter().all(|d| d["count"].as_u64().unwrap() > 0));
    assert!(st.addr().ip().is_loopback());
    st.shutdown();
}

#[test]
fn seed_tiles_match_generate() {
    let dir = tempfile::tempdir().unwrap();
    let st = start(dir.path());
    for (seed, psi) in [(0u32, 1.0f64), (7, 0.5), (42, -1.5), (3, 2.5)] {
        let r = get(
            st.addr(),
            &format!("/api/seed.png?seed={seed}&psi={psi}&noise=const"),
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert!(r.headers.contains("image/png"));
        assert_eq!(
            pixels(&r.body),
            generated(seed, psi),
            "seed {seed} psi {psi}"
        );
        // Rendering the seed's W gives the same pixels too.
        let w = seed_w(st.addr(), seed, psi);
        let r = post(st.addr(), "/api/render", &json!({"w": w, "noise": "const"}));
        assert_eq!(r.status, 200);
        assert_eq!(pixels(&r.body), generated(seed, psi));
    }
    // Other noise modes answer images too.
    for n in ["random", "none"] {
        assert_eq!(
            get(st.addr(), &format!("/api/seed.png?seed=1&noise={n}")).status,
            200
        );
    }
    st.shutdown();
}

#[test]
fn breed_mix_direction_edit_walk() {
    let dir = tempfile::tempdir().unwrap();
    let st = start(dir.path());
    let a = st.addr();
    let (w0, w1, w2) = (seed_w(a, 1, 0.7), seed_w(a, 2, 0.7), seed_w(a, 3, 0.7));
    let r = post(
        a,
        "/api/breed",
        &json!({"w": w0, "count": 4, "strength": 0.5, "seed": 9}),
    );
    assert_eq!(r.status, 200);
    let kids = r.json()["children"].as_array().unwrap().clone();
    assert_eq!(kids.len(), 4);
    assert_ne!(kids[0], kids[1]);
    let png = post(a, "/api/render", &json!({"w": kids[0]}));
    assert_eq!(png.status, 200);
    assert_eq!(pixels(&png.body).len(), 16 * 16 * 4);
    // Same request, same children.
    assert_eq!(
        post(
            a,
            "/api/breed",
            &json!({"w": w0, "count": 4, "strength": 0.5, "seed": 9})
        )
        .json()["children"]
            .as_array()
            .unwrap(),
        &kids
    );

    let r = post(
        a,
        "/api/mix",
        &json!({"coarse": w0, "middle": w1, "fine": w2}),
    );
    assert_eq!(r.status, 200);
    let mixed = r.json()["w"].as_str().unwrap().to_string();
    assert_ne!(mixed, w0);
    assert_eq!(post(a, "/api/render", &json!({"w": mixed})).status, 200);
    // Two parents: the fine layers follow the middle one.
    assert_eq!(
        post(a, "/api/mix", &json!({"coarse": w0, "middle": w1})).status,
        200
    );

    for method in ["sefa", "ganspace"] {
        let r = post(
            a,
            "/api/direction",
            &json!({"w": w0, "method": method, "index": 0, "amount": 2.0}),
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_ne!(r.json()["w"].as_str().unwrap(), w0);
    }
    let r = post(
        a,
        "/api/direction",
        &json!({"w": w0, "method": "sefa", "index": 0, "amount": 0.0}),
    );
    assert_eq!(r.json()["w"].as_str().unwrap(), w0);

    let mut mask = vec![0u8; 16 * 16];
    for y in 4..10 {
        for x in 4..10 {
            mask[y * 16 + x] = 255;
        }
    }
    let m = b64::encode(&mask);
    let base = pixels(&post(a, "/api/render", &json!({"w": w0})).body);
    for body in [
        json!({"w": w0, "mask": m, "mode": "reroll", "seed": 77, "psi": 0.7}),
        json!({"w": w0, "mask": m, "mode": "direction", "method": "sefa", "index": 1, "amount": 3.0}),
    ] {
        let r = post(a, "/api/edit", &body);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let px = pixels(&r.body);
        assert_eq!(px.len(), base.len());
        assert_ne!(px, base, "the edit changes something");
        // A far corner stays as the base renders it (feather 1 px, mask 4..10).
        assert_eq!(
            px[(15 * 16 + 15) * 4..(15 * 16 + 16) * 4],
            base[(15 * 16 + 15) * 4..(15 * 16 + 16) * 4]
        );
    }

    let r = post(a, "/api/walk", &json!({"ws": [w0, w1, w2], "frames": 6}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.headers.contains("image/gif"));
    assert!(r.body.starts_with(b"GIF89a"));
    assert_eq!(gif_frames(&r.body), 6);
    let r = post(
        a,
        "/api/walk",
        &json!({"ws": [w0, w1], "frames": 4, "fps": 10, "format": "webp"}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.headers.contains("image/webp"));
    assert_eq!(bestiary_media::decode_webp(&r.body).unwrap().len(), 4);
    let r = post(
        a,
        "/api/walk",
        &json!({"ws": [w0, w1], "frames": 4, "format": "mp4"}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.headers.contains("video/mp4"));
    assert_eq!(bestiary_media::decode_mp4(&r.body).unwrap().len(), 4);
    st.shutdown();
}

fn gif_frames(bytes: &[u8]) -> usize {
    // Count image descriptors after the header: a rough but sufficient check for our own encoder's output.
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    let mut d = opts.read_info(bytes).unwrap();
    let mut n = 0;
    while d.read_next_frame().unwrap().is_some() {
        n += 1;
    }
    n
}

#[test]
fn favourites_reproduce_their_image() {
    let dir = tempfile::tempdir().unwrap();
    let st = start(dir.path());
    let a = st.addr();
    let w = seed_w(a, 5, 0.8);
    let r = post(
        a,
        "/api/favorites",
        &json!({"w": w, "lineage": [{"seed": 5, "psi": 0.8}], "label": "first"}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let name = r.json()["name"].as_str().unwrap().to_string();
    assert_eq!(name, "fav-0001");
    let favs = dir.path().join("favs");
    let png = std::fs::read(favs.join("fav-0001.png")).unwrap();
    let (img, meta) = png_meta::decode_png(&png).unwrap();
    assert_eq!(img.into_raw(), generated(5, 0.8));
    let meta = meta.unwrap();
    assert_eq!(meta.engine, "stylegan2-studio");
    assert_eq!(meta.params["label"], "first");
    // The W file: tensor 'w' of [num_ws, w_dim] f32 holding exactly the W sent.
    let st_bytes = std::fs::read(favs.join("fav-0001.safetensors")).unwrap();
    let (m, _) = bestiary_weights::safetensors_io::read(&st_bytes).unwrap();
    let info = get(a, "/api/info").json();
    assert_eq!(
        m["w"].shape,
        vec![
            info["num_ws"].as_u64().unwrap() as usize,
            info["w_dim"].as_u64().unwrap() as usize
        ]
    );
    assert_eq!(b64::encode_f32(&m["w"].data), w);
    // Listed and served back.
    assert_eq!(
        get(a, "/api/favorites").json()["favorites"],
        json!(["fav-0001"])
    );
    assert_eq!(get(a, "/api/favorites/fav-0001.png").body, png);
    assert_eq!(get(a, "/api/favorites/fav-0001.safetensors").body, st_bytes);
    assert_eq!(get(a, "/api/favorites/fav-0001.w").json()["w"], json!(w));
    assert_eq!(
        post(a, "/api/favorites", &json!({"w": w})).json()["name"],
        "fav-0002"
    );
    st.shutdown();
}

#[test]
fn invalid_parameters_are_400() {
    let dir = tempfile::tempdir().unwrap();
    let st = start(dir.path());
    let a = st.addr();
    let w = seed_w(a, 1, 1.0);
    let short = b64::encode_f32(&[0.0; 3]);
    let nan = {
        let mut v = b64::decode_f32(&w).unwrap();
        v[0] = f32::NAN;
        b64::encode_f32(&v)
    };
    for path in [
        "/api/seed.png",
        "/api/seed.png?seed=-1",
        "/api/seed.png?seed=4294967296",
        "/api/seed.png?seed=abc",
        "/api/seed.png?seed=1&psi=11",
        "/api/seed.png?seed=1&psi=nan",
        "/api/seed.png?seed=1&psi=inf",
        "/api/seed.png?seed=1&noise=loud",
        "/api/seed.png?seed=1&tab=a",
        "/api/seed.png?seed=1&tab=../x&gen=1",
        "/api/seed.png?seed=%zz",
        "/api/seed.w?seed=1&psi=-11",
    ] {
        assert_eq!(get(a, path).status, 400, "{path}");
    }
    let mask16 = b64::encode(&[255u8; 256]);
    for (path, body) in [
        ("/api/render", json!({})),
        ("/api/render", json!({"w": 5})),
        ("/api/render", json!({"w": "not base64!"})),
        ("/api/render", json!({"w": short})),
        ("/api/render", json!({"w": nan})),
        ("/api/breed", json!({"w": w, "count": 0, "seed": 1})),
        ("/api/breed", json!({"w": w, "count": 17, "seed": 1})),
        ("/api/breed", json!({"w": w, "strength": -1, "seed": 1})),
        ("/api/breed", json!({"w": w, "strength": 100, "seed": 1})),
        ("/api/breed", json!({"w": w})),
        ("/api/mix", json!({"coarse": w})),
        ("/api/mix", json!({"coarse": w, "middle": short})),
        (
            "/api/direction",
            json!({"w": w, "method": "sefa", "index": 99, "amount": 1}),
        ),
        (
            "/api/direction",
            json!({"w": w, "method": "pca", "index": 0, "amount": 1}),
        ),
        (
            "/api/direction",
            json!({"w": w, "method": "sefa", "index": 0, "amount": 1e9}),
        ),
        (
            "/api/direction",
            json!({"w": w, "method": "sefa", "index": 0, "amount": 1, "layers": "0-3"}),
        ),
        (
            "/api/edit",
            json!({"w": w, "mask": b64::encode(&[255u8; 255]), "seed": 1}),
        ),
        (
            "/api/edit",
            json!({"w": w, "mask": b64::encode(&[0u8; 256]), "seed": 1}),
        ),
        (
            "/api/edit",
            json!({"w": w, "mask": mask16, "mode": "erase", "seed": 1}),
        ),
        (
            "/api/edit",
            json!({"w": w, "mask": mask16, "mode": "reroll"}),
        ),
        ("/api/walk", json!({"ws": [w]})),
        ("/api/walk", json!({"ws": [w, w, w, w, w, w, w, w, w]})),
        ("/api/walk", json!({"ws": [w, w], "frames": 1000})),
        ("/api/walk", json!({"ws": [w, short]})),
        ("/api/walk", json!({"ws": [w, w], "format": "avi"})),
        ("/api/walk", json!({"ws": [w, w], "fps": 0})),
        ("/api/favorites", json!({"w": short})),
        (
            "/api/favorites",
            json!({"w": w, "label": "x".repeat(70_000)}),
        ),
    ] {
        let r = post(a, path, &body);
        assert_eq!(
            r.status,
            400,
            "{path} {body}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(r.json()["error"].is_string());
    }
    // Malformed HTTP and bodies.
    let json = "Content-Type: application/json\r\n";
    assert_eq!(
        raw(
            a,
            format!("POST /api/render HTTP/1.1\r\n{json}Content-Length: 5\r\n\r\n{{nope")
                .as_bytes()
        )
        .status,
        400
    );
    assert_eq!(
        raw(
            a,
            format!("POST /api/render HTTP/1.1\r\n{json}Content-Length: 2\r\n\r\n[]").as_bytes()
        )
        .status,
        400
    );
    // Cross-site protections: a foreign Host (DNS rebinding) and non-JSON POSTs (CSRF without preflight).
    assert_eq!(
        raw(
            a,
            b"GET /api/info HTTP/1.1\r\nHost: evil.example:80\r\n\r\n"
        )
        .status,
        403
    );
    let body = json!({"w": w}).to_string();
    let form = format!("POST /api/favorites HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    assert_eq!(raw(a, form.as_bytes()).status, 415);
    assert_eq!(get(a, "/api/favorites").json()["favorites"], json!([]));
    assert_eq!(raw(a, b"GARBAGE\r\n\r\n").status, 400);
    assert_eq!(
        raw(a, b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n").status,
        400
    );
    assert_eq!(raw(a, b"GET / HTTP/2\r\n\r\n").status, 505);
    assert_eq!(
        raw(
            a,
            b"POST /api/render HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        )
        .status,
        411
    );
    assert_eq!(
        raw(
            a,
            format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(20_000)).as_bytes()
        )
        .status,
        431
    );
    // Wrong methods and unknown routes.
    assert_eq!(
        raw(a, b"DELETE /api/favorites HTTP/1.1\r\n\r\n").status,
        405
    );
    assert_eq!(
        raw(
            a,
            b"POST /api/seed.png HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
        )
        .status,
        405
    );
    assert_eq!(get(a, "/api/nothing").status, 404);
    assert_eq!(get(a, "/Cargo.toml").status, 404);
    // The server still works afterwards.
    assert_eq!(get(a, "/api/seed.png?seed=1").status, 200);
    st.shutdown();
}

#[test]
fn oversized_bodies_are_413() {
    let dir = tempfile::tempdir().unwrap();
    let st = start(dir.path());
    let big = vec![b'x'; 3 * 1024 * 1024];
    let mut req = format!(
        "POST /api/render HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        big.len()
    )
    .into_bytes();
    req.extend_from_slice(&big);
    let r = raw(st.addr(), &req);
    assert_eq!(r.status, 413);
    // Announced but not sent: refused before reading.
    assert_eq!(
        raw(
            st.addr(),
            b"POST /api/render HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n"
        )
        .status,
        413
    );
    assert_eq!(get(st.addr(), "/api/info").status, 200);
    st.shutdown();
}

#[test]
fn nothing_outside_the_favourites_folder() {
    let dir = tempfile::tempdir().unwrap();
    // A file beside the favourites folder that must stay unreadable and unchanged.
    std::fs::write(dir.path().join("secret.png"), b"secret").unwrap();
    std::fs::write(dir.path().join("fav-0001.png"), b"outside").unwrap();
    let st = start(dir.path());
    let a = st.addr();
    for path in [
        "/../secret.png",
        "/api/favorites/../secret.png",
        "/api/favorites/../../secret.png",
        "/api/favorites/%2e%2e/secret.png",
        "/api/favorites/%2e%2e%2fsecret.png",
        "/api/favorites/..%2fsecret.png",
        "/api/favorites/%2E%2E%2F..%2Fsecret.png",
        "/api/favorites//etc/passwd",
        "/api/favorites/%2fetc%2fpasswd",
        "/api/favorites/fav-0001.png/../../secret.png",
        "/api/favorites/fav-0001.png",
        "/api/favorites/fav-0001.json",
        "/api/favorites/fav-0001",
        "/%2e%2e/secret.png",
        "/app.js/../../secret.png",
        "/etc/passwd",
        "/api/favorites/..\\secret.png",
    ] {
        let r = get(a, path);
        assert!(r.status == 404 || r.status == 400, "{path}: {}", r.status);
        assert!(
            !r.body.windows(6).any(|w| w == b"secret" || w == b"outsid"),
            "{path}"
        );
    }
    // Requests cannot choose where favourites go: names are the server's own.
    let w = seed_w(a, 1, 1.0);
    for body in [
        json!({"w": w, "name": "../evil", "label": "../../evil"}),
        json!({"w": w, "name": "/tmp/evil.png", "path": "/tmp/evil", "label": "%2e%2e/evil"}),
    ] {
        let r = post(a, "/api/favorites", &body);
        assert_eq!(r.status, 200);
        assert!(bestiary_studio::favorites::valid_name(
            r.json()["name"].as_str().unwrap()
        ));
    }
    let mut outside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    outside.sort();
    assert_eq!(outside, ["fav-0001.png", "favs", "secret.png"]);
    assert_eq!(
        std::fs::read(dir.path().join("fav-0001.png")).unwrap(),
        b"outside"
    );
    let inside: Vec<_> = std::fs::read_dir(dir.path().join("favs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        inside
            .iter()
            .all(|n| n.starts_with("fav-000")
                && (n.ends_with(".png") || n.ends_with(".safetensors"))),
        "{inside:?}"
    );
    assert_eq!(inside.len(), 4);
    // A symbolic link inside the folder is not followed out of it.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(
            dir.path().join("secret.png"),
            dir.path().join("favs/fav-0099.png"),
        )
        .unwrap();
        std::fs::copy(
            dir.path().join("favs/fav-0001.safetensors"),
            dir.path().join("favs/fav-0099.safetensors"),
        )
        .unwrap();
        assert_eq!(get(a, "/api/favorites/fav-0099.png").status, 404);
    }
    st.shutdown();
}

/// Opens a request and returns the socket without reading the answer.
fn send(addr: SocketAddr, path: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\n\r\n").as_bytes())
        .unwrap();
    s
}

fn finish(mut s: TcpStream) -> u16 {
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out)
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn full_queue_is_503() {
    let dir = tempfile::tempdir().unwrap();
    let st = start_with(dir.path(), |c| c.queue_capacity = 3);
    st.pause_worker(true);
    let waiting: Vec<_> = (0..3)
        .map(|i| send(st.addr(), &format!("/api/seed.png?seed={i}")))
        .collect();
    wait_until("3 queued jobs", || st.stats().queued == 3);
    let r = get(st.addr(), "/api/seed.png?seed=9");
    assert_eq!(r.status, 503);
    assert!(r.headers.contains("Retry-After"));
    // Pages and host-only routes still answer while the worker is busy.
    assert_eq!(get(st.addr(), "/api/info").status, 200);
    st.pause_worker(false);
    for s in waiting {
        assert_eq!(finish(s), 200);
    }
    assert_eq!(st.stats().rejected_full, 1);
    st.shutdown();
}

#[test]
fn disconnected_and_stale_requests_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let st = start(dir.path());
    st.pause_worker(true);
    // A client that goes away: its job is skipped, never rendered.
    let gone = send(st.addr(), "/api/seed.png?seed=1");
    wait_until("the job queued", || st.stats().queued == 1);
    drop(gone);
    // Superseded: generation 1 of tab A is dropped when generation 2 arrives.
    let old = send(st.addr(), "/api/seed.png?seed=2&tab=A&gen=1");
    wait_until("two queued", || st.stats().queued == 2);
    let new = send(st.addr(), "/api/seed.png?seed=3&tab=A&gen=2");
    assert_eq!(finish(old), 409);
    // A late request of an older generation is refused at once.
    assert_eq!(
        get(st.addr(), "/api/seed.png?seed=4&tab=A&gen=1").status,
        409
    );
    // Another tab is not affected.
    let other = send(st.addr(), "/api/seed.png?seed=5&tab=B&gen=1");
    wait_until("the disconnect noticed", || {
        st.stats().queued_cancelled == 1 && st.stats().queued == 3
    });
    st.pause_worker(false);
    assert_eq!(finish(new), 200);
    assert_eq!(finish(other), 200);
    wait_until("the worker done", || st.stats().queued == 0);
    let s = st.stats();
    assert_eq!(s.ran, 2, "{s:?}");
    assert_eq!(s.dropped_disconnected, 1, "{s:?}");
    assert_eq!(s.dropped_stale, 2, "{s:?}");
    st.shutdown();
}

#[test]
fn many_clients_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let st = start(dir.path());
    let a = st.addr();
    let handles: Vec<_> = (0..24)
        .map(|i| {
            std::thread::spawn(move || {
                get(
                    a,
                    &format!("/api/seed.png?seed={i}&psi=0.5&tab=t{}&gen=0", i % 4),
                )
                .status
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 200);
    }
    st.shutdown();
}

#[test]
fn binding_a_busy_port_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let st = start(dir.path());
    let port = st.addr().port();
    let model = ModelFile::load(&fixture()).unwrap();
    let mut cfg = StudioConfig::new(dir.path().join("favs"), "n");
    cfg.port = port;
    let err = Studio::start::<B>(model, Default::default(), cfg)
        .err()
        .expect("port in use");
    assert!(err.to_string().contains("cannot listen"), "{err}");
    st.shutdown();
}

/// The seeded mutation fuzzer: valid requests to every route, mutated (bytes flipped, inserted, deleted,
/// lines duplicated, cut short, numbers made huge or negative), sent raw. Every one must get an HTTP answer
/// other than 500, or (when its head never completes) a silent close; the server must still render after.
#[test]
fn mutated_requests_never_break_the_server() {
    let t = tempfile::tempdir().unwrap();
    let studio = start(t.path());
    let addr = studio.addr();
    let w = seed_w(addr, 3, 0.7);
    let bodies = [
        ("/api/render", json!({"w": w, "noise": "const"})),
        (
            "/api/breed",
            json!({"w": w, "count": 3, "strength": 0.5, "seed": 9}),
        ),
        ("/api/mix", json!({"coarse": w, "middle": w, "fine": w})),
        (
            "/api/direction",
            json!({"w": w, "method": "sefa", "index": 0, "amount": 1.0, "layers": "all"}),
        ),
        (
            "/api/walk",
            json!({"ws": [w, w], "frames": 3, "fps": 10, "format": "gif"}),
        ),
        ("/api/favorites", json!({"w": w, "noise": "const"})),
    ];
    let mut templates: Vec<Vec<u8>> = bodies
        .iter()
        .map(|(path, body)| {
            let b = body.to_string();
            format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}", b.len())
                .into_bytes()
        })
        .collect();
    for path in [
        "/api/seed.png?seed=12&psi=0.5&noise=const",
        "/api/seed.w?seed=4&psi=1",
        "/api/info",
        "/",
        "/api/favorites",
    ] {
        templates.push(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes());
    }
    let mut state = 0x5eed_u64;
    let mut next = move |n: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % n.max(1)
    };
    let specials: [&[u8]; 10] = [
        b"%",
        b"%zz",
        b"..",
        b"%2e%2e/",
        b"-1",
        b"99999999999999999999",
        b"\r\n",
        b"\0",
        b"\xff\xfe",
        b"NaN",
    ];
    let (mut answered, mut statuses) = (0, std::collections::BTreeMap::new());
    for i in 0..240 {
        let mut req = templates[i % templates.len()].clone();
        for _ in 0..1 + next(4) {
            let at = next(req.len());
            match next(6) {
                0 => req[at] ^= 1 << next(8),
                1 => req.insert(at, next(256) as u8),
                2 => {
                    req.remove(at);
                }
                3 => req
                    .splice(at..at, specials[next(specials.len())].iter().copied())
                    .for_each(drop),
                4 => req.truncate(at.max(1)),
                _ => {
                    // Repeat a header line (e.g. a second, different Content-Length).
                    let line = b"Content-Length: 7\r\n";
                    let head_end = req
                        .windows(2)
                        .position(|w| w == b"\r\n")
                        .map_or(req.len(), |p| p + 2);
                    req.splice(head_end..head_end, line.iter().copied())
                        .for_each(drop);
                }
            }
        }
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let _ = s.write_all(&req);
        // A cut-short request is otherwise waited on until the server's read timeout.
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        if out.is_empty() {
            continue; // no complete request line: closed without an answer
        }
        let head = String::from_utf8_lossy(&out[..out.len().min(64)]).into_owned();
        assert!(
            head.starts_with("HTTP/1.1 "),
            "request {i}: not an HTTP answer: {head:?}"
        );
        let status: u16 = head[9..12]
            .parse()
            .unwrap_or_else(|_| panic!("request {i}: bad status in {head:?}"));
        assert!(
            (200..500).contains(&status) || status == 503 || status == 505,
            "request {i}: status {status} for {:?}",
            String::from_utf8_lossy(&req)
        );
        answered += 1;
        *statuses.entry(status).or_insert(0) += 1;
    }
    eprintln!("mutated requests answered by status: {statuses:?}");
    assert!(
        statuses.keys().any(|s| *s == 200) && statuses.keys().any(|s| (400..500).contains(s)),
        "{statuses:?}"
    );
    assert!(
        answered > 150,
        "only {answered} of 240 mutated requests were answered"
    );
    // Still serving, and the worker still renders.
    let r = get(addr, "/api/seed.png?seed=5&psi=0.7&noise=const");
    assert_eq!(r.status, 200);
    assert_eq!(pixels(&r.body), generated(5, 0.7));
    // Nothing was written outside the favourites folder.
    let outside: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "favs")
        .collect();
    assert!(outside.is_empty(), "{outside:?}");
}
