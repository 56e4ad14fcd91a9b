//! Responsiveness: one 64x64 image (render + PNG encoding, as a grid tile is answered) from a randomly
//! initialised `lite` network on the CPU backend. The budget is 100 ms per image; the assertion is looser
//! (a shared, loaded test machine) and the measured median is printed (`--nocapture`).

use bestiary_stylegan::{preset, Generator, NoiseMode};
use bestiary_studio::engine::Engine;
use burn::backend::Flex;
use std::time::Instant;

#[test]
fn lite_64px_tile_latency() {
    let cfg = preset("lite", 64, 0, 3, 1).unwrap().g;
    let dev = Default::default();
    let g = Generator::<Flex>::new(&cfg, &dev);
    let e = Engine::with_directions(g, cfg, dev, "lite64", Vec::new());
    let tile = |seed: u32| e.png(&e.seed_pixels(seed, 0.7, NoiseMode::Const).unwrap(), None).unwrap();
    tile(0); // warm-up
    let mut ms: Vec<f64> = (1..=15)
        .map(|s| {
            let t = Instant::now();
            let png = tile(s);
            assert!(png.starts_with(b"\x89PNG"));
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    let median = ms[ms.len() / 2];
    println!("lite 64x64 tile: median {median:.1} ms, min {:.1} ms, max {:.1} ms", ms[0], ms[ms.len() - 1]);
    assert!(median < 1000.0, "a 64px tile took {median:.1} ms (budget 100 ms)");
}
