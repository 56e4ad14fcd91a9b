//! Projection into the small official-layout fixture network (16x16, num_ws 6, w_dim 32): an image the
//! network itself made from a seed is found again from w_avg. Needs the VGG16 weights (asset `vgg16`).

use bestiary_explore::project::{
    learning_rate, lpips_bytes, noise_regularization, noise_slots, w_noise_scale, Event,
};
use bestiary_explore::{project, ProjectOptions, Projection, Space};
use bestiary_perceptual::Vgg16;
use bestiary_stylegan::sampling::{generate_seeds, Sampling};
use bestiary_stylegan::{load_generator, Generator, ModelFile, NoiseMode, SynthesisOptions};
use burn::backend::{Autodiff, Flex};
use burn::tensor::{Tensor, TensorData};
use std::path::Path;
use std::sync::OnceLock;

type B = Autodiff<Flex>;

fn fixture(name: &str) -> ModelFile {
    ModelFile::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../stylegan/tests/fixtures/{name}/network.pkl")),
    )
    .unwrap()
}

/// A randomly initialised conditional generator (the uncond16 config with 3 classes).
fn conditional() -> Generator<B> {
    let (_, mut cfg) = load_generator::<B>(&fixture("uncond16"), &Default::default()).unwrap();
    cfg.c_dim = 3;
    Generator::new(&cfg, &Default::default())
}

fn gen(m: &ModelFile) -> Generator<B> {
    load_generator::<B>(m, &Default::default()).unwrap().0
}

fn vgg() -> &'static Vgg16<B> {
    static VGG: OnceLock<Vgg16<B>> = OnceLock::new();
    VGG.get_or_init(|| {
        let p = bestiary_perceptual::vgg16_weights(&mut |m: &str| eprintln!("{m}")).unwrap_or_else(
            |e| panic!("the tests need the VGG16 weights (`bestiary assets fetch vgg16`): {e}"),
        );
        Vgg16::load(&p, &Default::default()).unwrap()
    })
}

/// The fixture's image of `seed` (psi 1, noise const): the target, 16x16x3 bytes.
fn target(m: &ModelFile, seed: u32) -> Vec<u8> {
    let g = gen(m);
    let (_, cfg) = load_generator::<B>(m, &Default::default()).unwrap();
    let s = Sampling {
        psi: 1.0,
        cutoff: None,
        class: None,
        synthesis: SynthesisOptions {
            noise_mode: NoiseMode::Const,
            ..Default::default()
        },
    };
    generate_seeds(&g, &cfg, &[seed], &s, &Default::default())
        .unwrap()
        .remove(0)
}

fn opts(steps: usize, space: Space, seed: u32) -> ProjectOptions {
    ProjectOptions {
        steps,
        space,
        seed,
        w_avg_samples: 2000,
        ..Default::default()
    }
}

fn run(m: &ModelFile, t: &[u8], o: &ProjectOptions) -> Projection {
    project(gen(m), vgg(), t, o, &mut |_| {}).unwrap()
}

fn mean_abs(a: &[u8], b: &[u8]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).abs())
        .sum::<f64>()
        / a.len() as f64
}

#[test]
fn projection_finds_an_image_of_the_network_again() {
    let m = fixture("uncond16");
    let t = target(&m, 5);
    let steps = 150;
    let mut snaps = 0;
    let mut first: Vec<u8> = Vec::new();
    let started = std::time::Instant::now();
    let p = project(
        gen(&m),
        vgg(),
        &t,
        &ProjectOptions {
            snapshot_every: 50,
            ..opts(steps, Space::W, 1)
        },
        &mut |e| {
            if let Event::Snapshot { image, .. } = e {
                assert_eq!(image.len(), t.len());
                if snaps == 0 {
                    first = image.to_vec();
                }
                snaps += 1;
            }
        },
    )
    .unwrap();
    let secs = started.elapsed().as_secs_f64();
    // The starting image (w_avg, the projection's initial noise maps) as the projection first rendered it.
    let start = p.lpips[0];
    let end = p.final_lpips;
    let px = mean_abs(&p.image, &t);
    let px0 = mean_abs(&first, &t);
    eprintln!("uncond16 W, {steps} steps in {secs:.1} s: LPIPS {start:.4} -> {end:.4}, mean |pixel error| {px0:.2} -> {px:.2} /255");
    assert_eq!((p.lpips.len(), p.loss.len(), snaps), (steps, steps, 4));
    // Measured (150 steps, seed 1): LPIPS 0.350 -> 0.064, pixel error 52.9 -> 32.2. This random-weight
    // fixture draws much of its image from the noise maps: the true w itself, with fresh noise maps, is at
    // LPIPS 0.068 / pixel error 18.6 (and 1000 steps reach 0.049 / 24.2 in W, 0.018 / 15.4 in W+).
    assert!(end < 0.25 * start, "LPIPS {start} -> {end}");
    assert!(end < 0.08, "LPIPS {end}");
    assert!(px < 0.7 * px0, "mean absolute pixel error {px0} -> {px}");
    // W space: one w for every layer.
    assert_eq!((p.num_ws, p.w_dim, p.ws.len()), (6, 32, 6 * 32));
    assert!(p.ws.chunks(32).all(|r| r == &p.ws[..32]));
    // The noise maps are renormalised after every step.
    let slots = noise_slots(&gen(&m));
    assert_eq!(p.noise.len(), slots.len());
    for (n, (name, r)) in p.noise.iter().zip(&slots) {
        assert_eq!((&n.name, n.resolution, n.data.len()), (name, *r, r * r));
        let mean = n.data.iter().map(|&x| x as f64).sum::<f64>() / n.data.len() as f64;
        let var = n
            .data
            .iter()
            .map(|&x| (x as f64 - mean).powi(2))
            .sum::<f64>()
            / n.data.len() as f64;
        assert!(
            mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4,
            "{}: mean {mean}, var {var}",
            n.name
        );
    }
    // The reported final LPIPS is the LPIPS of the reported image (up to 8-bit rounding).
    let d = lpips_bytes(vgg(), &p.image, &t, 16, 3).unwrap();
    assert!((d - end).abs() < 0.02, "{d} vs {end}");
}

#[test]
fn projection_is_deterministic_for_a_seed() {
    let m = fixture("uncond16");
    let t = target(&m, 11);
    let a = run(&m, &t, &opts(8, Space::W, 7));
    let b = run(&m, &t, &opts(8, Space::W, 7));
    assert_eq!(a.ws, b.ws);
    assert_eq!(a.noise, b.noise);
    assert_eq!(a.lpips, b.lpips);
    assert_eq!(a.image, b.image);
    let c = run(&m, &t, &opts(8, Space::W, 8));
    assert_ne!(a.ws, c.ws);
    assert_ne!(a.noise, c.noise);
}

#[test]
fn w_plus_gives_each_layer_its_own_w() {
    let m = fixture("uncond16");
    let t = target(&m, 5);
    let p = run(&m, &t, &opts(60, Space::WPlus, 1));
    eprintln!(
        "uncond16 W+, 60 steps: LPIPS {:.4} -> {:.4}",
        p.lpips[0], p.final_lpips
    );
    assert_eq!(p.ws.len(), 6 * 32);
    assert!(
        p.ws.chunks(32).any(|r| r != &p.ws[..32]),
        "the layers' ws moved apart"
    );
    assert!(
        p.final_lpips < 0.5 * p.lpips[0],
        "{} -> {}",
        p.lpips[0],
        p.final_lpips
    );
}

#[test]
fn schedules_follow_the_official_ramps() {
    let o = ProjectOptions {
        steps: 1000,
        ..Default::default()
    };
    assert_eq!(learning_rate(&o, 0), 0.0);
    assert!((learning_rate(&o, 25) - 0.05).abs() < 1e-12);
    assert!((learning_rate(&o, 500) - 0.1).abs() < 1e-12);
    assert!((learning_rate(&o, 875) - 0.05).abs() < 1e-9);
    assert!(learning_rate(&o, 999) < 1e-3);
    assert!((w_noise_scale(&o, 2.0, 0) - 0.1).abs() < 1e-12);
    assert!((w_noise_scale(&o, 2.0, 375) - 0.025).abs() < 1e-12);
    assert_eq!(w_noise_scale(&o, 2.0, 750), 0.0);
    assert_eq!(w_noise_scale(&o, 2.0, 900), 0.0);
}

#[test]
fn noise_regularization_penalises_correlated_noise() {
    let dev = Default::default();
    // Checkerboard: autocorrelation -1 at every scale it survives; constant: +1.
    let checker: Vec<f32> = (0..256)
        .map(|i| {
            if (i / 16 + i % 16) % 2 == 0 {
                1.0
            } else {
                -1.0
            }
        })
        .collect();
    let c = Tensor::<Flex, 2>::from_data(TensorData::new(checker, [16, 16]), &dev);
    let reg: f32 = noise_regularization(c).into_scalar();
    // 16 px: (-1)^2 * 2; 8 px: the 2x2 averages of a checkerboard are 0.
    assert!((reg - 2.0).abs() < 1e-6, "{reg}");
    let ones = Tensor::<Flex, 2>::ones([16, 16], &dev);
    let reg: f32 = noise_regularization(ones).into_scalar();
    assert!((reg - 4.0).abs() < 1e-6, "{reg}");
    let mut rs = bestiary_stylegan::seed::RandomState::new(0);
    let white: Vec<f32> = rs.randn(64 * 64).into_iter().map(|x| x as f32).collect();
    let reg: f32 = noise_regularization(Tensor::<Flex, 2>::from_data(
        TensorData::new(white, [64, 64]),
        &dev,
    ))
    .into_scalar();
    assert!(reg < 0.01, "{reg}");
}

#[test]
fn projection_refuses_what_it_cannot_do() {
    let m = fixture("uncond16");
    let err = |r: Result<Projection, bestiary_explore::ExploreError>| {
        r.expect_err("an error").to_string()
    };
    let e = err(project(
        gen(&m),
        vgg(),
        &[0u8; 10],
        &opts(2, Space::W, 0),
        &mut |_| {},
    ));
    assert!(e.contains("16x16x3"), "{e}");
    let e = err(project(
        gen(&m),
        vgg(),
        &[0u8; 768],
        &opts(0, Space::W, 0),
        &mut |_| {},
    ));
    assert!(e.contains("at least one step"), "{e}");
    let e = err(project(
        conditional(),
        vgg(),
        &[0u8; 768],
        &opts(2, Space::W, 0),
        &mut |_| {},
    ));
    assert!(e.contains("conditional"), "{e}");
    assert_eq!("w+".parse::<Space>().unwrap(), Space::WPlus);
    assert!("z".parse::<Space>().is_err());
}
