//! Matrix products and the PSD square root.

use crate::eigen::symmetric_eigen;

/// `a (r x k) * b (k x c)`, row-major.
pub fn matmul(a: &[f64], b: &[f64], r: usize, k: usize, c: usize) -> Vec<f64> {
    assert!(a.len() == r * k && b.len() == k * c, "matmul: shapes do not match");
    let mut out = vec![0.0; r * c];
    for i in 0..r {
        let row = &mut out[i * c..(i + 1) * c];
        for t in 0..k {
            let x = a[i * k + t];
            if x == 0.0 {
                continue;
            }
            for (o, &y) in row.iter_mut().zip(&b[t * c..(t + 1) * c]) {
                *o += x * y;
            }
        }
    }
    out
}

/// `a (r x k) * b^T` where `b` is `c x k`, row-major.
pub fn matmul_bt(a: &[f64], b: &[f64], r: usize, k: usize, c: usize) -> Vec<f64> {
    assert!(a.len() == r * k && b.len() == c * k, "matmul_bt: shapes do not match");
    let mut out = vec![0.0; r * c];
    for i in 0..r {
        let ai = &a[i * k..(i + 1) * k];
        for j in 0..c {
            out[i * c + j] = ai.iter().zip(&b[j * k..(j + 1) * k]).map(|(x, y)| x * y).sum();
        }
    }
    out
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
        let r: Vec<f64> = (0..n * n).map(|i| ((i * 37 % 11) as f64 - 5.0) / 3.0).collect();
        let mut m = matmul_bt(&r, &r, n, n, n);
        (0..n).for_each(|i| m[i * n + i] += 0.5);
        let s = sqrtm_psd(&m, n);
        let back = matmul(&s, &s, n, n, n);
        for (x, y) in back.iter().zip(&m) {
            assert!((x - y).abs() < 1e-9, "{x} vs {y}");
        }
    }
}
