//! Symmetric eigendecomposition: Householder tridiagonalisation, then implicit-shift QL.

use rayon::prelude::*;

/// Trailing blocks smaller than this (in elements) are updated on one thread.
const PARALLEL_WORK: usize = 1 << 16;

/// Eigenvalues in descending order and the matching unit eigenvectors (`vectors[k]` goes with `values[k]`).
#[derive(Clone, Debug)]
pub struct Eigen {
    pub values: Vec<f64>,
    pub vectors: Vec<Vec<f64>>,
}

/// Eigen-decomposition of a symmetric `n x n` row-major matrix (symmetrised first, so rounding asymmetry
/// in the caller's products does not matter).
pub fn symmetric_eigen(a: &[f64], n: usize) -> Eigen {
    let (d, zt) = decompose(a, n, true);
    let zt = zt.expect("vectors requested");
    let order = descending(&d);
    Eigen {
        values: order.iter().map(|&i| d[i]).collect(),
        vectors: order
            .iter()
            .map(|&i| zt[i * n..(i + 1) * n].to_vec())
            .collect(),
    }
}

/// Eigenvalues only, descending: about four times cheaper than [`symmetric_eigen`].
pub fn symmetric_eigenvalues(a: &[f64], n: usize) -> Vec<f64> {
    let (d, _) = decompose(a, n, false);
    descending(&d).into_iter().map(|i| d[i]).collect()
}

fn descending(d: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..d.len()).collect();
    order.sort_by(|&i, &j| d[j].total_cmp(&d[i]));
    order
}

/// Returns the unsorted eigenvalues and, when asked, the eigenvectors as the rows of an `n x n` matrix.
fn decompose(a: &[f64], n: usize, vectors: bool) -> (Vec<f64>, Option<Vec<f64>>) {
    assert_eq!(a.len(), n * n, "symmetric_eigen: matrix is not n x n");
    let mut m = a.to_vec();
    for i in 0..n {
        for j in 0..i {
            let s = 0.5 * (m[i * n + j] + m[j * n + i]);
            m[i * n + j] = s;
            m[j * n + i] = s;
        }
    }
    let mut qt = vectors.then(|| identity(n));
    let (mut d, mut e) = tridiagonalize(&mut m, n, qt.as_mut());
    ql_implicit(&mut d, &mut e, qt.as_mut(), n);
    (d, qt)
}

fn identity(n: usize) -> Vec<f64> {
    let mut q = vec![0.0; n * n];
    (0..n).for_each(|i| q[i * n + i] = 1.0);
    q
}

/// Reduces `m` to tridiagonal form T = Q^T M Q by Householder reflections H_k = I - beta v v^T that zero
/// column k below the subdiagonal. Returns (diagonal, subdiagonal with e[i] between i and i+1, e[n-1] = 0).
/// `qt`, when given, accumulates Q^T (row-major), so that later rotations act on contiguous rows.
fn tridiagonalize(m: &mut [f64], n: usize, mut qt: Option<&mut Vec<f64>>) -> (Vec<f64>, Vec<f64>) {
    let mut e = vec![0.0; n];
    let mut p = vec![0.0; n];
    for k in 0..n.saturating_sub(2) {
        let lo = k + 1;
        // By symmetry column k below the diagonal equals row k right of it: contiguous.
        let mut v: Vec<f64> = m[k * n + lo..(k + 1) * n].to_vec();
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm == 0.0 {
            continue;
        }
        let alpha = if v[0] > 0.0 { -norm } else { norm };
        v[0] -= alpha;
        let vtv: f64 = v.iter().map(|x| x * x).sum();
        if vtv == 0.0 {
            continue;
        }
        let beta = 2.0 / vtv;
        let len = n - lo;
        // p = beta * A22 v, then q = p - (beta/2)(v.p) v; A22 -= v q^T + q v^T.
        let parallel = len * len >= PARALLEL_WORK;
        let rows = &m[lo * n..];
        let dot = |(i, pi): (usize, &mut f64)| {
            let row = &rows[i * n + lo..(i + 1) * n];
            *pi = beta * row.iter().zip(&v).map(|(x, y)| x * y).sum::<f64>();
        };
        if parallel {
            p[..len].par_iter_mut().enumerate().for_each(dot);
        } else {
            p[..len].iter_mut().enumerate().for_each(dot);
        }
        let kc = 0.5 * beta * v.iter().zip(&p[..len]).map(|(x, y)| x * y).sum::<f64>();
        for i in 0..len {
            p[i] -= kc * v[i];
        }
        let q = &p[..len];
        let update = |(i, row): (usize, &mut [f64])| {
            let (vi, qi) = (v[i], q[i]);
            for ((x, &vj), &qj) in row[lo..].iter_mut().zip(&v).zip(q) {
                *x -= vi * qj + qi * vj;
            }
        };
        if parallel {
            m[lo * n..].par_chunks_mut(n).enumerate().for_each(update);
        } else {
            m[lo * n..].chunks_mut(n).enumerate().for_each(update);
        }
        m[k * n + lo] = alpha;
        m[lo * n + k] = alpha;
        for j in lo + 1..n {
            m[k * n + j] = 0.0;
            m[j * n + k] = 0.0;
        }
        // Q^T <- H_k Q^T: rows lo.. change by -beta v (v^T Q^T[lo..]).
        if let Some(qt) = qt.as_deref_mut() {
            let mut w = vec![0.0; n];
            for (i, &vi) in v.iter().enumerate() {
                for (o, &x) in w.iter_mut().zip(&qt[(lo + i) * n..(lo + i + 1) * n]) {
                    *o += vi * x;
                }
            }
            for (i, &vi) in v.iter().enumerate() {
                let s = beta * vi;
                for (x, &wj) in qt[(lo + i) * n..(lo + i + 1) * n].iter_mut().zip(&w) {
                    *x -= s * wj;
                }
            }
        }
    }
    let d = (0..n).map(|i| m[i * n + i]).collect();
    for i in 0..n.saturating_sub(1) {
        e[i] = m[(i + 1) * n + i];
    }
    (d, e)
}

/// Diagonalises the symmetric tridiagonal (d, e) in place with implicit Wilkinson-shifted QL sweeps; each
/// Givens rotation of rows i, i+1 is applied to `zt` when given (its rows become the eigenvectors).
fn ql_implicit(d: &mut [f64], e: &mut [f64], mut zt: Option<&mut Vec<f64>>, n: usize) {
    for l in 0..n {
        let mut iterations = 0;
        loop {
            // The first negligible subdiagonal at or after l splits off a block l..=m.
            let mut m = l;
            while m + 1 < n {
                let dd = d[m].abs() + d[m + 1].abs();
                if e[m].abs() <= f64::EPSILON * dd {
                    break;
                }
                m += 1;
            }
            if m == l {
                break;
            }
            iterations += 1;
            if iterations > 60 {
                // Cannot happen for finite symmetric input; keep the current estimate rather than spin.
                break;
            }
            let mut g = (d[l + 1] - d[l]) / (2.0 * e[l]);
            let r = g.hypot(1.0);
            g = d[m] - d[l] + e[l] / (g + if g >= 0.0 { r } else { -r });
            let (mut s, mut c, mut p) = (1.0f64, 1.0f64, 0.0f64);
            let mut deflated = false;
            for i in (l..m).rev() {
                let f = s * e[i];
                let b = c * e[i];
                let r = f.hypot(g);
                e[i + 1] = r;
                if r == 0.0 {
                    // Underflow: the block splits here; redo from l.
                    d[i + 1] -= p;
                    e[m] = 0.0;
                    deflated = true;
                    break;
                }
                s = f / r;
                c = g / r;
                let gg = d[i + 1] - p;
                let rr = (d[i] - gg) * s + 2.0 * c * b;
                p = s * rr;
                d[i + 1] = gg + p;
                g = c * rr - b;
                if let Some(zt) = zt.as_deref_mut() {
                    let (top, bottom) = zt.split_at_mut((i + 1) * n);
                    let zi = &mut top[i * n..];
                    let zi1 = &mut bottom[..n];
                    for (a, b) in zi.iter_mut().zip(zi1.iter_mut()) {
                        let f = *b;
                        *b = s * *a + c * f;
                        *a = c * *a - s * f;
                    }
                }
            }
            if deflated {
                continue;
            }
            d[l] -= p;
            e[l] = g;
            e[m] = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::products::{matmul, matmul_bt};

    fn random_symmetric(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = bestiary_rng::SplitMix64::from_state(seed);
        let r: Vec<f64> = (0..n * n).map(|_| rng.unit() - 0.5).collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = r[i * n + j] + r[j * n + i];
            }
        }
        a
    }

    #[test]
    fn reconstructs_and_is_orthonormal() {
        for &n in &[1usize, 2, 3, 7, 40, 129] {
            let a = random_symmetric(n, n as u64);
            let e = symmetric_eigen(&a, n);
            assert!(e.values.windows(2).all(|w| w[0] >= w[1]), "descending");
            let v: Vec<f64> = e.vectors.concat(); // rows = vectors
            let vvt = matmul_bt(&v, &v, n, n, n);
            for i in 0..n {
                for j in 0..n {
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!(
                        (vvt[i * n + j] - want).abs() < 1e-12,
                        "n={n} orthonormality at ({i},{j})"
                    );
                }
            }
            // A v_k = l_k v_k.
            for (l, vk) in e.values.iter().zip(&e.vectors) {
                let av = matmul(&a, vk, n, n, 1);
                let err = av
                    .iter()
                    .zip(vk)
                    .map(|(x, y)| (x - l * y).abs())
                    .fold(0.0, f64::max);
                assert!(err < 1e-11 * (1.0 + l.abs()), "n={n} residual {err}");
            }
            let only = symmetric_eigenvalues(&a, n);
            for (x, y) in only.iter().zip(&e.values) {
                assert!((x - y).abs() < 1e-11 * (1.0 + y.abs()));
            }
        }
    }

    #[test]
    fn known_spectrum_and_degenerate_cases() {
        // [[2,1],[1,2]] has eigenvalues 3 and 1 with vectors (1,1)/sqrt2 and (1,-1)/sqrt2.
        let e = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!((e.values[0] - 3.0).abs() < 1e-14 && (e.values[1] - 1.0).abs() < 1e-14);
        assert!((e.vectors[0][0].abs() - 0.5f64.sqrt()).abs() < 1e-14);
        // Diagonal, repeated eigenvalues, zero matrix.
        let e = symmetric_eigen(&[1.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 1.0], 3);
        assert_eq!(e.values, vec![5.0, 1.0, 1.0]);
        let e = symmetric_eigen(&[0.0; 16], 4);
        assert!(e.values.iter().all(|&x| x == 0.0));
        assert!(symmetric_eigen(&[], 0).values.is_empty());
    }
}
