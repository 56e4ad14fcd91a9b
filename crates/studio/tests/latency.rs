//! Responsiveness: one 64x64 image from a randomly initialised `lite` network on the CPU backend, timed
//! in the engine (render + PNG encoding, as a grid tile is answered) and end to end over HTTP
//! (`GET /api/seed.png`). The budget is 100 ms per image; the assertions are looser (a shared, loaded test
//! machine) and the medians are printed (`--nocapture`).

use bestiary_studio::engine::Engine;
use bestiary_studio::{Studio, StudioConfig};
use bestiary_stylegan::{Generator, ModelFile, NoiseMode};
use bestiary_train::preset;
use bestiary_weights::{DType, Network, TensorData};
use burn::backend::Flex;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::Instant;

fn median_ms(mut f: impl FnMut(u32)) -> (f64, f64, f64) {
    f(0); // warm-up
    let mut ms: Vec<f64> = (1..=15)
        .map(|s| {
            let t = Instant::now();
            f(s);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[0], ms[ms.len() - 1])
}

#[test]
fn lite_64px_tile_latency() {
    let cfg = preset("lite", 64, 0, 3, 1).unwrap().g;
    let dev = Default::default();
    let g = Generator::<Flex>::new(&cfg, &dev);
    let tensors: BTreeMap<String, TensorData> = g
        .state_dict()
        .into_iter()
        .map(|(n, (shape, data))| {
            (
                n,
                TensorData {
                    shape,
                    dtype: DType::F32,
                    data,
                },
            )
        })
        .collect();
    let net = Network {
        class_name: "Generator".into(),
        init_kwargs: serde_json::from_str(&cfg.to_json()).unwrap(),
        tensors,
    };
    let model = ModelFile {
        networks: BTreeMap::from([("G_ema".to_string(), net)]),
        training_set_kwargs: None,
    };

    let e = Engine::with_directions(g, cfg, dev, "lite64", Vec::new());
    let (med, lo, hi) = median_ms(|s| {
        let png = e
            .png(&e.seed_pixels(s, 0.7, NoiseMode::Const).unwrap(), None)
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"));
    });
    println!("lite 64x64 tile in the engine: median {med:.1} ms (min {lo:.1}, max {hi:.1})");
    drop(e);

    let dir = tempfile::tempdir().unwrap();
    let mut scfg = StudioConfig::new(dir.path(), "lite64");
    scfg.port = 0;
    let st = Studio::start::<Flex>(model, Default::default(), scfg).unwrap();
    let (hmed, hlo, hhi) = median_ms(|s| {
        let mut c = std::net::TcpStream::connect(st.addr()).unwrap();
        c.write_all(format!("GET /api/seed.png?seed={s}&psi=0.7 HTTP/1.1\r\n\r\n").as_bytes())
            .unwrap();
        let mut out = Vec::new();
        c.read_to_end(&mut out).unwrap();
        assert!(out.starts_with(b"HTTP/1.1 200"));
    });
    println!("lite 64x64 tile over HTTP: median {hmed:.1} ms (min {hlo:.1}, max {hhi:.1})");
    st.shutdown();
    assert!(
        med < 1000.0 && hmed < 1000.0,
        "a 64px tile took {med:.1} / {hmed:.1} ms (budget 100 ms)"
    );
}
