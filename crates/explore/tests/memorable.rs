//! The memorability brush's objective on the small official-layout fixture network (16x16, num_ws 6,
//! w_dim 32), with a small smooth stand-in for ResMem (the real one costs seconds per pass on CPU; the CLI
//! tests run it). Needs the VGG16 weights (asset `vgg16`).

use bestiary_explore::memorable::{Objective, Scorer};
use bestiary_explore::{memorable, seed_ws, BinaryMask, MaskSettings, MemorableOptions, Space};
use bestiary_perceptual::Vgg16;
use bestiary_stylegan::{load_generator, Generator, ModelFile};
use burn::backend::{Autodiff, Flex};
use burn::tensor::activation::sigmoid;
use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Tensor, TensorData};
use std::path::Path;
use std::sync::OnceLock;

type B = Autodiff<Flex>;

fn gen() -> Generator<B> {
    let m = ModelFile::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../stylegan/tests/fixtures/uncond16/network.pkl"),
    )
    .unwrap();
    load_generator::<B>(&m, &Default::default()).unwrap().0
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

/// Deterministic pseudo-random values in [-1, 1).
fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// A smooth ResMem-shaped stand-in: `[N, 3, 227, 227]` -> `[N, 1]` in (0, 1), a sigmoid of a fixed random
/// weighting of the pixels and of their squares (so the score depends on colour and contrast).
struct TinyScorer {
    a: Tensor<B, 4>,
    b: Tensor<B, 4>,
}

impl TinyScorer {
    fn new() -> Self {
        let n = 3 * 227 * 227;
        let t = |seed| {
            Tensor::<B, 4>::from_data(
                TensorData::new(noise(n, seed), [1, 3, 227, 227]),
                &Default::default(),
            )
        };
        TinyScorer { a: t(1), b: t(2) }
    }
}

impl Scorer<B> for TinyScorer {
    fn score(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let [n, _, _, _] = x.dims();
        let lin = (x.clone() * self.a.clone())
            .mean_dim(1)
            .mean_dim(2)
            .mean_dim(3);
        let sq = ((x - 0.5).square() * self.b.clone())
            .mean_dim(1)
            .mean_dim(2)
            .mean_dim(3);
        sigmoid((lin * 300.0 + sq * 600.0).reshape([n, 1]))
    }
}

fn scalar<BB: Backend>(t: Tensor<BB, 1>) -> f64 {
    t.into_scalar().elem::<f32>() as f64
}

/// The gradient of one step's objective with respect to W (the quantity Adam follows) agrees with central
/// finite differences along random directions: within 5% of the larger of the two, plus 2e-4. The
/// objective is evaluated in f32, so h = 5e-3 keeps rounding (~2e-5) well below that (the kinks of the
/// leaky ReLUs and of the 8-bit clamp are what the 5% allows for); unmasked in W+,
/// and masked in W.
#[test]
fn the_gradient_matches_finite_differences() {
    let g = gen();
    let dev = Default::default();
    let start = seed_ws(&g, &[3], 1.0, &dev).unwrap().remove(0);
    let scorer = TinyScorer::new();
    let mask = MaskSettings {
        soft: BinaryMask::from_fn(16, |x, y| (4..11).contains(&x) && (3..9).contains(&y))
            .feathered(1.0),
        feather: 1.0,
        from_layer: 0,
    };
    for (k, m) in [(6usize, None), (1, Some(&mask))] {
        let obj = Objective::new(&g, &scorer, vgg(), &start, m, 0.7).unwrap();
        // Away from zero, so the W-distance term has a gradient too.
        let d0 = Tensor::<B, 3>::from_data(
            TensorData::new(
                noise(k * 32, 7).iter().map(|v| v * 0.2).collect::<Vec<_>>(),
                [1, k, 32],
            ),
            &dev,
        );
        let dv = d0.clone().require_grad();
        let t = obj.eval(dv.clone()).unwrap();
        let grads = t.total.backward();
        let grad = dv.grad(&grads).unwrap();
        for dir_seed in [11u64, 12] {
            let dir = Tensor::<Flex, 3>::from_data(
                TensorData::new(noise(k * 32, dir_seed), [1, k, 32]),
                &dev,
            );
            let analytic = scalar((grad.clone() * dir.clone()).sum());
            let h = 5e-3;
            let at = |s: f64| {
                let d = d0.clone() + Tensor::<B, 3>::from_inner(dir.clone()) * s;
                scalar(obj.eval(d).unwrap().total)
            };
            let fd = (at(h) - at(-h)) / (2.0 * h);
            eprintln!(
                "k {k} mask {}: analytic {analytic:.6}, finite differences {fd:.6}",
                m.is_some()
            );
            assert!(
                (analytic - fd).abs() <= 0.05 * analytic.abs().max(fd.abs()) + 2e-4,
                "k {k}: analytic {analytic} vs finite differences {fd}"
            );
            assert!(fd.abs() > 1e-3, "a flat direction tests nothing: {fd}");
        }
    }
}

/// The ascent raises the (stand-in) score, reports the path, keeps the start image as `generate` renders
/// it, and with a mask leaves everything outside the feathered mask byte for byte as the start.
#[test]
fn the_ascent_raises_the_score_and_a_mask_keeps_the_rest() {
    let g = gen();
    let dev = Default::default();
    let start = seed_ws(&g, &[3], 1.0, &dev).unwrap().remove(0);
    let scorer = TinyScorer::new();
    let o = MemorableOptions {
        steps: 6,
        strength: 0.1,
        keep: 0.5,
        space: Space::W,
    };
    let r = memorable(&g, &scorer, vgg(), &start, None, &o, &mut |_| {}).unwrap();
    eprintln!(
        "scores {:?}\nlpips {:?}\nobjective {:?}",
        r.scores, r.lpips, r.objective
    );
    assert_eq!(r.frames.len(), 7);
    assert_eq!(r.scores.len(), 7);
    assert!(
        r.score_after > r.score_before,
        "{} -> {}",
        r.score_before,
        r.score_after
    );
    assert!(r.objective.last().unwrap() > &r.objective[0]);
    assert_eq!(r.ws.len(), 6 * 32);
    // In W space one change moves every layer alike.
    let d0: Vec<f32> = (0..32).map(|c| r.ws[c] - start[c]).collect();
    for l in 1..6 {
        for c in 0..32 {
            assert!((r.ws[l * 32 + c] - start[l * 32 + c] - d0[c]).abs() < 1e-5);
        }
    }
    let plain = burn::module::AutodiffModule::valid(&g);
    let gen_start = bestiary_explore::render_ws(
        &plain,
        &[start.clone()],
        &bestiary_stylegan::SynthesisOptions {
            noise_mode: bestiary_stylegan::NoiseMode::Const,
            ..Default::default()
        },
        &dev,
    )
    .remove(0);
    assert_eq!(r.start, gen_start);

    let bin = BinaryMask::from_fn(16, |x, y| (4..11).contains(&x) && (3..9).contains(&y));
    let mask = MaskSettings {
        soft: bin.feathered(1.0),
        feather: 1.0,
        from_layer: 0,
    };
    let r = memorable(&g, &scorer, vgg(), &start, Some(&mask), &o, &mut |_| {}).unwrap();
    let grown = bin.grown(1.5);
    let mut changed = false;
    for p in 0..256 {
        let (a, b) = (&r.image[p * 3..p * 3 + 3], &gen_start[p * 3..p * 3 + 3]);
        if !grown.on[p] {
            assert_eq!(a, b, "pixel {p} outside the grown mask changed");
        } else {
            changed |= a != b;
        }
    }
    assert!(changed, "nothing changed inside the mask");
    assert!(r.score_after > r.score_before);
}
