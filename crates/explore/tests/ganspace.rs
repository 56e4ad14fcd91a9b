//! GANSpace: PCA of sampled W vectors, on synthetic distributions with known axes and on the fixture network.

use bestiary_explore::*;
use bestiary_stylegan::{load_generator, ModelFile};
use burn::backend::Flex;
use std::path::Path;

type B = Flex;

/// A small deterministic normal sampler (xorshift64* + Box-Muller).
struct Normal(u64);

impl Normal {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn next(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
}

fn unit(v: Vec<f64>) -> Vec<f64> {
    let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

/// `n` samples `mean + sum_i s_i * g_i * axis_i` (g_i standard normal) plus isotropic noise of std `noise`.
fn synthetic(n: usize, mean: &[f64], axes: &[(Vec<f64>, f64)], noise: f64, seed: u64) -> Vec<f32> {
    let mut r = Normal(seed);
    let d = mean.len();
    let mut out = Vec::with_capacity(n * d);
    for _ in 0..n {
        let mut w: Vec<f64> = mean.iter().map(|m| m + noise * r.next()).collect();
        for (axis, s) in axes {
            let g = r.next() * s;
            for (x, a) in w.iter_mut().zip(axis) {
                *x += g * a;
            }
        }
        out.extend(w.into_iter().map(|x| x as f32));
    }
    out
}

fn assert_orthonormal(dirs: &[Vec<f32>]) {
    for (i, a) in dirs.iter().enumerate() {
        for (j, b) in dirs.iter().enumerate() {
            let want = if i == j { 1.0 } else { 0.0 };
            assert!(
                (dot(a, b) - want).abs() < 1e-5,
                "directions {i}, {j}: dot {}",
                dot(a, b)
            );
        }
    }
}

#[test]
fn pca_recovers_a_known_principal_axis_and_its_spread() {
    let d = 16;
    let mut r = Normal(7);
    let u = unit((0..d).map(|_| r.next()).collect());
    let mean: Vec<f64> = (0..d).map(|i| i as f64 * 0.5 - 3.0).collect();
    let samples = synthetic(20_000, &mean, &[(u.clone(), 5.0)], 1.0, 11);
    let pca = Pca::of_samples(&samples, d, 3).unwrap();
    let u32v: Vec<f32> = u.iter().map(|&x| x as f32).collect();
    let align = dot(&pca.directions[0], &u32v);
    assert!(
        align.abs() > 0.999,
        "first axis {align} away from the planted one"
    );
    // Variance along u is 25 + 1 (noise), elsewhere 1.
    assert!(
        (pca.sigma[0] as f64 - 26f64.sqrt()).abs() < 0.1,
        "sigma {}",
        pca.sigma[0]
    );
    assert!(
        (pca.sigma[1] - 1.0).abs() < 0.05 && (pca.sigma[2] - 1.0).abs() < 0.05,
        "{:?}",
        pca.sigma
    );
    for (m, want) in pca.mean.iter().zip(&mean) {
        assert!((*m as f64 - want).abs() < 0.1, "mean {m} vs {want}");
    }
    assert!(
        (pca.total_variance - (26.0 + 15.0)).abs() < 1.5,
        "total {}",
        pca.total_variance
    );
    // Signed so the largest entry is positive.
    for v in &pca.directions {
        let big = v
            .iter()
            .copied()
            .fold(0f32, |a, x| if x.abs() > a.abs() { x } else { a });
        assert!(big > 0.0);
    }
}

#[test]
fn directions_are_orthonormal_and_ordered_by_the_variance_they_explain() {
    let d = 12;
    let mut r = Normal(3);
    // Three planted axes of decreasing spread (orthogonalised), then noise.
    let mut axes: Vec<Vec<f64>> = Vec::new();
    for _ in 0..3 {
        let mut v: Vec<f64> = (0..d).map(|_| r.next()).collect();
        for a in &axes {
            let p: f64 = v.iter().zip(a).map(|(x, y)| x * y).sum();
            v.iter_mut().zip(a).for_each(|(x, y)| *x -= p * y);
        }
        axes.push(unit(v));
    }
    let planted: Vec<(Vec<f64>, f64)> = axes.iter().cloned().zip([4.0, 3.0, 2.0]).collect();
    let samples = synthetic(20_000, &vec![0.0; d], &planted, 0.5, 5);
    let pca = Pca::of_samples(&samples, d, d).unwrap();
    assert_orthonormal(&pca.directions);
    assert!(
        pca.variances.windows(2).all(|w| w[0] >= w[1]),
        "{:?}",
        pca.variances
    );
    // σ is the spread of the samples' projections, the unit `projection_sigma` measures for SeFa.
    let rows: Vec<&[f32]> = samples.chunks(d).collect();
    let proj = projection_sigma(&rows, &pca.directions);
    for (s, p) in pca.sigma.iter().zip(&proj) {
        assert!(
            (s - p).abs() < 1e-3 * s.max(1.0),
            "sigma {s} vs projected {p}"
        );
    }
    // The first axis explains more variance than any other unit direction we try.
    for t in 0..50 {
        let v: Vec<f32> = unit((0..d).map(|_| r.next()).collect())
            .into_iter()
            .map(|x| x as f32)
            .collect();
        let s = projection_sigma(&rows, std::slice::from_ref(&v))[0];
        assert!(
            s <= pca.sigma[0] + 1e-4,
            "trial {t}: {s} > {}",
            pca.sigma[0]
        );
    }
    let explained: f64 = pca.variances.iter().sum::<f64>() / pca.total_variance;
    assert!(
        (explained - 1.0).abs() < 1e-6,
        "all axes explain everything: {explained}"
    );
    for (i, (axis, _)) in planted.iter().enumerate() {
        let a: Vec<f32> = axis.iter().map(|&x| x as f32).collect();
        assert!(dot(&pca.directions[i], &a).abs() > 0.99, "axis {i}");
    }
}

#[test]
fn the_covariance_does_not_lose_precision_to_a_large_mean() {
    let d = 6;
    let near = synthetic(5000, &vec![0.0; d], &[], 1.0, 9);
    let far: Vec<f32> = near.iter().map(|x| x + 1000.0).collect();
    let (a, b) = (
        Pca::of_samples(&near, d, d).unwrap(),
        Pca::of_samples(&far, d, d).unwrap(),
    );
    for (x, y) in a.variances.iter().zip(&b.variances) {
        assert!((x - y).abs() < 1e-3 * x, "{x} vs {y}");
    }
    assert!(Pca::of_samples(&near[..d], d, 2).is_err(), "one sample");
    assert!(Pca::of_samples(&near, d, 0).is_err());
    assert!(Pca::of_samples(&near, d, d + 1).is_err());
    assert!(Pca::of_samples(&near[..d + 1], d, 1).is_err());
}

#[test]
fn ganspace_on_the_fixture_network() {
    let m = ModelFile::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../stylegan/tests/fixtures/uncond16/network.pkl"),
    )
    .unwrap();
    let dev = Default::default();
    let (g, _) = load_generator::<B>(&m, &dev).unwrap();
    let n = 3000;
    let mut calls = Vec::new();
    let pca = ganspace_directions(&g, n, 6, 1000, &dev, |done| calls.push(done)).unwrap();
    assert_eq!(calls, vec![1000, 2000, 3000]);
    assert_eq!(
        (pca.directions.len(), pca.directions[0].len(), pca.samples),
        (6, g.w_dim, n)
    );
    assert_orthonormal(&pca.directions);
    assert!(
        pca.sigma.windows(2).all(|w| w[0] >= w[1]) && pca.sigma[5] > 0.0,
        "{:?}",
        pca.sigma
    );
    // The same W the CLI's seeds give: σ is their spread along each axis; the first axis explains most.
    let seeds: Vec<u32> = (0..n as u32).collect();
    let ws = seed_ws(&g, &seeds, 1.0, &dev).unwrap();
    let firsts: Vec<&[f32]> = ws.iter().map(|w| &w[..g.w_dim]).collect();
    let proj = projection_sigma(&firsts, &pca.directions);
    for (s, p) in pca.sigma.iter().zip(&proj) {
        assert!((s - p).abs() < 1e-3 * s, "sigma {s} vs projected {p}");
    }
    let sefa = sefa_directions(m.generator().unwrap(), None, 3).unwrap().1;
    for (i, s) in projection_sigma(&firsts, &sefa).iter().enumerate() {
        assert!(
            *s <= pca.sigma[0] + 1e-4,
            "SeFa direction {i} spreads W more ({s}) than the first principal axis"
        );
    }
    assert!(pca.variances[0] / pca.total_variance > 1.0 / g.w_dim as f64);
    // Deterministic, independent of the batch size.
    let again = ganspace_directions(&g, n, 6, 700, &dev, |_| {}).unwrap();
    for (a, b) in pca.directions.iter().zip(&again.directions) {
        assert!(dot(a, b) > 0.9999);
    }
    assert!(ganspace_directions(&g, 1, 2, 10, &dev, |_| {}).is_err());
    assert!(ganspace_directions(&g, 100, 0, 10, &dev, |_| {}).is_err());
    assert!(ganspace_directions(&g, 100, g.w_dim + 1, 10, &dev, |_| {}).is_err());
}
