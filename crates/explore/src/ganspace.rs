//! GANSpace (Härkönen et al., "GANSpace: Discovering Interpretable GAN Controls"): principal component
//! analysis of W vectors sampled through the mapping network. The principal axes are unit directions in W,
//! ordered by the variance of W along them; `sigma = sqrt(eigenvalue)` is that spread, the natural unit of
//! an edit amount.

use crate::{invalid, Result};
use bestiary_stylegan::sampling::{labels, z_for_seeds};
use bestiary_stylegan::Generator;
use burn::tensor::backend::Backend;

/// Streaming mean and covariance of `dim`-dimensional samples, in f64. Samples are shifted by the first
/// one before accumulating so a large common mean costs no precision.
#[derive(Clone, Debug)]
pub struct Covariance {
    dim: usize,
    n: usize,
    shift: Vec<f64>,
    sum: Vec<f64>,
    /// Upper triangle (j >= i) of the sum of outer products of the shifted samples.
    outer: Vec<f64>,
}

impl Covariance {
    pub fn new(dim: usize) -> Covariance {
        Covariance {
            dim,
            n: 0,
            shift: Vec::new(),
            sum: vec![0.0; dim],
            outer: vec![0.0; dim * dim],
        }
    }

    /// Number of samples seen.
    pub fn count(&self) -> usize {
        self.n
    }

    /// Adds one sample (`dim` values).
    pub fn add(&mut self, sample: &[f32]) {
        assert_eq!(
            sample.len(),
            self.dim,
            "Covariance::add: sample of the wrong size"
        );
        if self.shift.is_empty() {
            self.shift = sample.iter().map(|&v| v as f64).collect();
        }
        let c: Vec<f64> = sample
            .iter()
            .zip(&self.shift)
            .map(|(&v, s)| v as f64 - s)
            .collect();
        let d = self.dim;
        for i in 0..d {
            let ci = c[i];
            self.sum[i] += ci;
            if ci != 0.0 {
                let row = &mut self.outer[i * d..(i + 1) * d];
                for j in i..d {
                    row[j] += ci * c[j];
                }
            }
        }
        self.n += 1;
    }

    /// The mean and the (population, divided by N) covariance `[dim * dim]`, row-major.
    pub fn finish(&self) -> (Vec<f64>, Vec<f64>) {
        let (d, n) = (self.dim, self.n.max(1) as f64);
        let m: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        let mut cov = vec![0f64; d * d];
        for i in 0..d {
            for j in i..d {
                let v = self.outer[i * d + j] / n - m[i] * m[j];
                cov[i * d + j] = v;
                cov[j * d + i] = v;
            }
        }
        let mean = if self.shift.is_empty() {
            vec![0.0; d]
        } else {
            m.iter().zip(&self.shift).map(|(a, s)| a + s).collect()
        };
        (mean, cov)
    }
}

/// The principal axes of a sample.
#[derive(Clone, Debug)]
pub struct Pca {
    /// Mean of the samples `[dim]`.
    pub mean: Vec<f32>,
    /// The top `k` axes `[k][dim]`, orthonormal, each signed so its largest-magnitude entry is positive.
    pub directions: Vec<Vec<f32>>,
    /// Variance along each axis (the covariance's eigenvalues), descending.
    pub variances: Vec<f64>,
    /// Standard deviation along each axis, `sqrt(variance)`.
    pub sigma: Vec<f32>,
    /// Total variance (the covariance's trace): `variances[i] / total_variance` is the share explained.
    pub total_variance: f64,
    /// Number of samples.
    pub samples: usize,
}

impl Pca {
    /// The share of the total variance each axis explains.
    pub fn explained(&self) -> Vec<f64> {
        let total = self.total_variance.max(f64::MIN_POSITIVE);
        self.variances.iter().map(|v| v / total).collect()
    }

    /// The top `k` principal axes of accumulated samples.
    pub fn from_covariance(acc: &Covariance, k: usize) -> Result<Pca> {
        let d = acc.dim;
        if k == 0 || k > d {
            return invalid(format!("--num must be in 1..={d}, got {k}"));
        }
        if acc.count() < 2 {
            return invalid("PCA needs at least 2 samples");
        }
        let (mean, cov) = acc.finish();
        let total_variance = (0..d).map(|i| cov[i * d + i]).sum();
        let e = bestiary_linalg::symmetric_eigen(&cov, d);
        let mut directions = Vec::with_capacity(k);
        for v in e.vectors.into_iter().take(k) {
            let big = v
                .iter()
                .copied()
                .fold(0f64, |a, x| if x.abs() > a.abs() { x } else { a });
            let sign = if big < 0.0 { -1.0 } else { 1.0 };
            directions.push(v.into_iter().map(|x| (x * sign) as f32).collect());
        }
        // Rounding can leave tiny negative eigenvalues of a rank-deficient covariance.
        let variances: Vec<f64> = e.values.into_iter().take(k).map(|v| v.max(0.0)).collect();
        Ok(Pca {
            mean: mean.into_iter().map(|m| m as f32).collect(),
            sigma: variances.iter().map(|v| v.sqrt() as f32).collect(),
            directions,
            variances,
            total_variance,
            samples: acc.count(),
        })
    }

    /// The top `k` principal axes of `samples` (`dim` values each, concatenated).
    pub fn of_samples(samples: &[f32], dim: usize, k: usize) -> Result<Pca> {
        if dim == 0 || !samples.len().is_multiple_of(dim) {
            return invalid(format!(
                "{} values do not make samples of {dim}",
                samples.len()
            ));
        }
        let mut acc = Covariance::new(dim);
        for s in samples.chunks_exact(dim) {
            acc.add(s);
        }
        Pca::from_covariance(&acc, k)
    }
}

/// GANSpace directions of an unconditional generator: PCA of the W vectors (untruncated) of the seeds
/// `0..num_samples` (z exactly as `generate` makes it), mapped `batch` at a time; `on_batch` gets the
/// number of samples done after each batch (for progress).
pub fn ganspace_directions<B: Backend>(
    g: &Generator<B>,
    num_samples: usize,
    k: usize,
    batch: usize,
    device: &B::Device,
    on_batch: impl FnMut(usize),
) -> Result<Pca> {
    if g.c_dim > 0 {
        return invalid(format!(
            "this network is conditional ({} classes): GANSpace needs an unconditional one",
            g.c_dim
        ));
    }
    ganspace_directions_of_class(g, None, num_samples, k, batch, device, on_batch)
}

/// GANSpace directions as [`ganspace_directions`], of the W vectors of one class of a conditional
/// network (`class`; `None` for an unconditional one).
pub fn ganspace_directions_of_class<B: Backend>(
    g: &Generator<B>,
    class: Option<usize>,
    num_samples: usize,
    k: usize,
    batch: usize,
    device: &B::Device,
    mut on_batch: impl FnMut(usize),
) -> Result<Pca> {
    if num_samples < 2 {
        return invalid(format!("--samples must be at least 2, got {num_samples}"));
    }
    if k == 0 || k > g.w_dim {
        return invalid(format!("--num must be in 1..={}, got {k}", g.w_dim));
    }
    let (d, num_ws) = (g.w_dim, g.num_ws());
    let mut acc = Covariance::new(d);
    let batch = batch.max(1);
    let mut start = 0usize;
    while start < num_samples {
        let end = (start + batch).min(num_samples);
        let seeds: Vec<u32> = (start as u32..end as u32).collect();
        let z = z_for_seeds::<B>(&seeds, g.z_dim, device);
        let c = labels::<B>(g.c_dim, class, seeds.len(), device)?;
        let ws = g.mapping(z, c, 1.0, None);
        let v = ws
            .into_data()
            .convert::<f32>()
            .to_vec::<f32>()
            .map_err(|e| crate::ExploreError::Invalid(format!("{e:?}")))?;
        // Untruncated ws are the same w broadcast over the layers: the first one stands for all.
        for w in v.chunks_exact(num_ws * d) {
            acc.add(&w[..d]);
        }
        start = end;
        on_batch(start);
    }
    Pca::from_covariance(&acc, k)
}
