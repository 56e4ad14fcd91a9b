//! FID and KID from feature vectors (any extractor; 2048-d Inception pool3 for the standard scores).

use crate::{JudgeError, Result};
use bestiary_linalg::{cholesky, matmul, matmul_bt, sqrtm_psd, symmetric_eigenvalues};
use bestiary_rng::{SplitMix64, GOLDEN_GAMMA};

fn check(a: &[Vec<f32>], b: &[Vec<f32>], min: usize) -> Result<usize> {
    if a.len() < min || b.len() < min {
        return Err(JudgeError::Input(format!(
            "need at least {min} images in each set (got {} and {})",
            a.len(),
            b.len()
        )));
    }
    let d = a[0].len();
    if a.iter().chain(b).any(|f| f.len() != d) {
        return Err(JudgeError::Input("feature vectors differ in length".into()));
    }
    Ok(d)
}

/// Mean and (unbiased, n - 1) covariance of a feature set, numpy `np.cov(rowvar=False)` style.
#[derive(Clone, Debug)]
pub struct FeatureStats {
    pub count: usize,
    pub dim: usize,
    pub mean: Vec<f64>,
    /// `dim x dim`, row-major.
    pub cov: Vec<f64>,
}

fn centered(f: &[Vec<f32>]) -> (Vec<f64>, Vec<f64>) {
    let (n, d) = (f.len(), f[0].len());
    let mut mean = vec![0.0; d];
    for v in f {
        for (m, &x) in mean.iter_mut().zip(v) {
            *m += x as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut c = Vec::with_capacity(n * d);
    for v in f {
        c.extend(v.iter().zip(&mean).map(|(&x, m)| x as f64 - m));
    }
    (mean, c)
}

impl FeatureStats {
    pub fn from_features(f: &[Vec<f32>]) -> Result<Self> {
        check(f, f, 2)?;
        let (n, d) = (f.len(), f[0].len());
        let mut mean = vec![0.0; d];
        for v in f {
            mean.iter_mut().zip(v).for_each(|(m, &x)| *m += x as f64);
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        // cov = c^T c / (n - 1) with c the centred features, accumulated over blocks of rows as
        // (block^T)(block): parallel products, and never all of c in f64 (50k x 2048 would be 800 MB).
        let mut cov = vec![0.0; d * d];
        const BLOCK: usize = 512;
        let (mut blk, mut bt) = (vec![0.0; BLOCK * d], vec![0.0; d * BLOCK]);
        for start in (0..n).step_by(BLOCK) {
            let rows = BLOCK.min(n - start);
            for (r, v) in f[start..start + rows].iter().enumerate() {
                for (i, (&x, m)) in v.iter().zip(&mean).enumerate() {
                    let c = x as f64 - m;
                    blk[r * d + i] = c;
                    bt[i * rows + r] = c;
                }
            }
            let part = matmul(&bt[..d * rows], &blk[..rows * d], d, rows, d);
            cov.iter_mut().zip(&part).for_each(|(o, p)| *o += p);
        }
        cov.iter_mut().for_each(|v| *v /= (n - 1) as f64);
        Ok(FeatureStats {
            count: n,
            dim: d,
            mean,
            cov,
        })
    }
}

/// Fréchet distance between two Gaussians:
/// |mu1 - mu2|^2 + tr(C1) + tr(C2) - 2 tr(sqrt(C1^1/2 C2 C1^1/2)), the square root by eigendecomposition.
pub fn fid_from_stats(a: &FeatureStats, b: &FeatureStats) -> Result<f64> {
    if a.dim != b.dim {
        return Err(JudgeError::Input(
            "feature statistics differ in dimension".into(),
        ));
    }
    let d = a.dim;
    let mean_term: f64 = a
        .mean
        .iter()
        .zip(&b.mean)
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    let tr = |c: &[f64]| (0..d).map(|i| c[i * d + i]).sum::<f64>();
    // tr sqrt(C1^1/2 C2 C1^1/2) needs only eigenvalues: with C1 = L L^T they are those of L^T C2 L, so no
    // eigenvectors are computed. A singular C1 (duplicated images) falls back to the PSD square root.
    let inner = match cholesky(&a.cov, d) {
        Some(l) => {
            let mut lt = vec![0.0; d * d];
            for i in 0..d {
                for j in 0..d {
                    lt[j * d + i] = l[i * d + j];
                }
            }
            matmul(&lt, &matmul(&b.cov, &l, d, d, d), d, d, d)
        }
        None => {
            let s1 = sqrtm_psd(&a.cov, d);
            matmul(&matmul(&s1, &b.cov, d, d, d), &s1, d, d, d)
        }
    };
    let l = symmetric_eigenvalues(&inner, d);
    let tr_sqrt: f64 = l.iter().map(|&x| x.max(0.0).sqrt()).sum();
    Ok((mean_term + tr(&a.cov) + tr(&b.cov) - 2.0 * tr_sqrt).max(0.0))
}

/// FID between two sets of feature vectors (at least 2 each).
///
/// When a set has fewer vectors than dimensions the covariances have low rank and the trace term is computed
/// exactly in sample space: the eigenvalues of C1 C2 are those of (A2 A1^T)(A2 A1^T)^T / ((n1-1)(n2-1)), with A
/// the centred features. Otherwise the full `d x d` form of [`fid_from_stats`] is used.
pub fn fid(a: &[Vec<f32>], b: &[Vec<f32>]) -> Result<f64> {
    let d = check(a, b, 2)?;
    let (n1, n2) = (a.len(), b.len());
    if n1.min(n2) <= d {
        let (m1, c1) = centered(a);
        let (m2, c2) = centered(b);
        let mean_term: f64 = m1.iter().zip(&m2).map(|(x, y)| (x - y) * (x - y)).sum();
        let tr1 = c1.iter().map(|x| x * x).sum::<f64>() / (n1 - 1) as f64;
        let tr2 = c2.iter().map(|x| x * x).sum::<f64>() / (n2 - 1) as f64;
        // Work in the smaller of the two sample spaces.
        let (small, ns, big, nb) = if n1 <= n2 {
            (&c1, n1, &c2, n2)
        } else {
            (&c2, n2, &c1, n1)
        };
        let m = matmul_bt(small, big, ns, d, nb); // ns x nb
        let p = matmul_bt(&m, &m, ns, nb, ns); // ns x ns, PSD
        let l = symmetric_eigenvalues(&p, ns);
        let tr_sqrt = l.iter().map(|&x| x.max(0.0).sqrt()).sum::<f64>()
            / (((n1 - 1) * (n2 - 1)) as f64).sqrt();
        return Ok((mean_term + tr1 + tr2 - 2.0 * tr_sqrt).max(0.0));
    }
    fid_from_stats(
        &FeatureStats::from_features(a)?,
        &FeatureStats::from_features(b)?,
    )
}

/// KID settings, as stylegan2-ada-pytorch's metric (100 subsets of at most 1000).
#[derive(Clone, Copy, Debug)]
pub struct KidOptions {
    pub num_subsets: usize,
    pub max_subset_size: usize,
    pub seed: u64,
}

impl Default for KidOptions {
    fn default() -> Self {
        KidOptions {
            num_subsets: 100,
            max_subset_size: 1000,
            seed: 0,
        }
    }
}

/// The shared SplitMix64 stream, for subset draws and directions.
pub(crate) struct Rng(SplitMix64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(SplitMix64::from_state(seed ^ GOLDEN_GAMMA))
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.0.next_u64() % n as u64) as usize
    }
    pub(crate) fn uniform(&mut self) -> f64 {
        self.0.unit()
    }
    /// Box-Muller with the first uniform clamped away from 0 (not flipped, as the shared `normal` does):
    /// KID's subsets and SWD's directions are pinned to this stream.
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    /// `m` distinct indices from `0..n` (partial Fisher-Yates).
    pub(crate) fn choose(&mut self, n: usize, m: usize) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..n).collect();
        for i in 0..m {
            let j = i + self.below(n - i);
            idx.swap(i, j);
        }
        idx.truncate(m);
        idx
    }
}

/// Kernel Inception Distance: unbiased MMD^2 with the polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged
/// over random subsets of size m = min(|a|, |b|, max_subset_size) (not scaled by 1e3).
pub fn kid(a: &[Vec<f32>], b: &[Vec<f32>], opts: &KidOptions) -> Result<f64> {
    let d = check(a, b, 2)?;
    let m = a.len().min(b.len()).min(opts.max_subset_size.max(2));
    let k = |x: &[f32], y: &[f32]| {
        let dot: f64 = x.iter().zip(y).map(|(&p, &q)| p as f64 * q as f64).sum();
        (dot / d as f64 + 1.0).powi(3)
    };
    // Kernel matrices of the whole sets, computed once when they fit (every subset then only adds up entries).
    let pre = a.len().max(b.len()) <= 4096;
    let gram = |x: &[Vec<f32>], y: &[Vec<f32>]| -> Vec<f64> {
        if !pre {
            return Vec::new();
        }
        x.iter()
            .flat_map(|p| y.iter().map(move |q| (p, q)))
            .map(|(p, q)| k(p, q))
            .collect()
    };
    let (kaa, kbb, kab) = (gram(a, a), gram(b, b), gram(a, b));
    let (na, nb) = (a.len(), b.len());
    let mut rng = Rng::new(opts.seed);
    let mut t = 0.0;
    for _ in 0..opts.num_subsets.max(1) {
        let xi = rng.choose(na, m);
        let yi = rng.choose(nb, m);
        let (mut off, mut cross) = (0.0, 0.0);
        for i in 0..m {
            for j in 0..m {
                if pre {
                    if i != j {
                        off += kaa[xi[i] * na + xi[j]] + kbb[yi[i] * nb + yi[j]];
                    }
                    cross += kab[xi[i] * nb + yi[j]];
                } else {
                    if i != j {
                        off += k(&a[xi[i]], &a[xi[j]]) + k(&b[yi[i]], &b[yi[j]]);
                    }
                    cross += k(&a[xi[i]], &b[yi[j]]);
                }
            }
        }
        t += off / (m - 1) as f64 - cross * 2.0 / m as f64;
    }
    Ok(t / opts.num_subsets.max(1) as f64 / m as f64)
}
