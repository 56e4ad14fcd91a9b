//! Matrix products and the PSD square root.

use crate::eigen::symmetric_eigen;
use rayon::prelude::*;

/// Below this many multiply-adds a product runs on one thread (rayon's overhead would dominate).
const PARALLEL_WORK: usize = 1 << 18;

/// `a (r x k) * b (k x c)`, row-major.
pub fn matmul(a: &[f64], b: &[f64], r: usize, k: usize, c: usize) -> Vec<f64> {
    assert!(
        a.len() == r * k && b.len() == k * c,
        "matmul: shapes do not match"
    );
    let mut out = vec![0.0; r * c];
    if c == 0 {
        return out;
    }
    let row = |(i, row): (usize, &mut [f64])| {
        for t in 0..k {
            let x = a[i * k + t];
            if x == 0.0 {
                continue;
            }
            for (o, &y) in row.iter_mut().zip(&b[t * c..(t + 1) * c]) {
                *o += x * y;
            }
        }
    };
    if r * k * c >= PARALLEL_WORK {
        out.par_chunks_mut(c).enumerate().for_each(row);
    } else {
        out.chunks_mut(c).enumerate().for_each(row);
    }
    out
}

/// `a (r x k) * b^T` where `b` is `c x k`, row-major.
pub fn matmul_bt(a: &[f64], b: &[f64], r: usize, k: usize, c: usize) -> Vec<f64> {
    assert!(
        a.len() == r * k && b.len() == c * k,
        "matmul_bt: shapes do not match"
    );
    let mut out = vec![0.0; r * c];
    if c == 0 {
        return out;
    }
    let row = |(i, row): (usize, &mut [f64])| {
        let ai = &a[i * k..(i + 1) * k];
        for (j, o) in row.iter_mut().enumerate() {
            *o = ai
                .iter()
                .zip(&b[j * k..(j + 1) * k])
                .map(|(x, y)| x * y)
                .sum();
        }
    };
    if r * k * c >= PARALLEL_WORK {
        out.par_chunks_mut(c).enumerate().for_each(row);
    } else {
        out.chunks_mut(c).enumerate().for_each(row);
    }
    out
}

/// Lower-triangular L with L L^T = a for a symmetric positive definite `n x n` matrix, or None when a
/// pivot is not positive (a singular or indefinite matrix).
pub fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    assert_eq!(a.len(), n * n, "cholesky: matrix is not n x n");
    let mut l = vec![0.0; n * n];
    // Row by row (Cholesky-Banachiewicz), so every dot product runs over two contiguous row prefixes.
    for i in 0..n {
        for j in 0..=i {
            let dot: f64 = l[i * n..i * n + j]
                .iter()
                .zip(&l[j * n..j * n + j])
                .map(|(x, y)| x * y)
                .sum();
            let s = a[i * n + j] - dot;
            if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Square root of a symmetric positive semi-definite matrix: V diag(sqrt(max(l, 0))) V^T.
pub fn sqrtm_psd(a: &[f64], n: usize) -> Vec<f64> {
    let e = symmetric_eigen(a, n);
    // U = V diag(l^(1/4)), so that U U^T = V diag(sqrt(l)) V^T.
    let mut u = vec![0.0; n * n];
    for (k, (l, v)) in e.values.iter().zip(&e.vectors).enumerate() {
        let s = l.max(0.0).sqrt().sqrt();
        for i in 0..n {
            u[i * n + k] = v[i] * s;
        }
    }
    matmul_bt(&u, &u, n, n, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_root_of_known_and_random_spd_matrices() {
        // [[5,4],[4,5]] = S^2 with S = [[2,1],[1,2]].
        let s = sqrtm_psd(&[5.0, 4.0, 4.0, 5.0], 2);
        for (x, y) in s.iter().zip([2.0, 1.0, 1.0, 2.0]) {
            assert!((x - y).abs() < 1e-12, "{s:?}");
        }
        let n = 6;
        let r: Vec<f64> = (0..n * n)
            .map(|i| ((i * 37 % 11) as f64 - 5.0) / 3.0)
            .collect();
        let mut m = matmul_bt(&r, &r, n, n, n);
        (0..n).for_each(|i| m[i * n + i] += 0.5);
        let s = sqrtm_psd(&m, n);
        let back = matmul(&s, &s, n, n, n);
        for (x, y) in back.iter().zip(&m) {
            assert!((x - y).abs() < 1e-9, "{x} vs {y}");
        }
        let l = cholesky(&m, n).expect("SPD");
        let back = matmul_bt(&l, &l, n, n, n);
        for (x, y) in back.iter().zip(&m) {
            assert!((x - y).abs() < 1e-9, "{x} vs {y}");
        }
        assert!(
            (0..n).all(|i| (i + 1..n).all(|j| l[i * n + j] == 0.0)),
            "lower triangular"
        );
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none(), "indefinite");
        assert!(cholesky(&[1.0, 1.0, 1.0, 1.0], 2).is_none(), "singular");
    }
}
