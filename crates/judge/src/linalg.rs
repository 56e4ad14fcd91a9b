//! Small dense linear algebra in f64: symmetric eigendecomposition (cyclic Jacobi) and the PSD square root.

/// Eigen-decomposition of a symmetric `n x n` matrix (row-major). Returns `(eigenvalues, eigenvectors)`,
/// eigenvector k in column k of the row-major `n x n` matrix. Cyclic Jacobi rotations until the off-diagonal
/// mass is negligible; O(n^3) per sweep, fine up to a few hundred (tens of seconds at 2048).
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(a.len(), n * n, "symmetric_eigen: matrix is not n x n");
    let mut m = a.to_vec();
    // Symmetrize (guards against rounding asymmetry in the caller's products).
    for i in 0..n {
        for j in 0..i {
            let s = 0.5 * (m[i * n + j] + m[j * n + i]);
            m[i * n + j] = s;
            m[j * n + i] = s;
        }
    }
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let total: f64 = m.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * n + j] * m[i * n + j])
            .sum();
        if off <= total * 1e-30 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (m[p * n + p], m[q * n + q]);
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // Rows/columns p and q of m: m <- J^T m J.
                for k in 0..n {
                    let (mkp, mkq) = (m[k * n + p], m[k * n + q]);
                    m[k * n + p] = c * mkp - s * mkq;
                    m[k * n + q] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let (mpk, mqk) = (m[p * n + k], m[q * n + k]);
                    m[p * n + k] = c * mpk - s * mqk;
                    m[q * n + k] = s * mpk + c * mqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| m[i * n + i]).collect(), v)
}

/// Square root of a symmetric positive semi-definite matrix: V diag(sqrt(max(l, 0))) V^T.
pub fn sqrtm_psd(a: &[f64], n: usize) -> Vec<f64> {
    let (l, v) = symmetric_eigen(a, n);
    let s: Vec<f64> = l.iter().map(|&x| x.max(0.0).sqrt()).collect();
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            out[i * n + j] = (0..n).map(|k| v[i * n + k] * s[k] * v[j * n + k]).sum();
        }
    }
    out
}

/// `a (r x k) * b (k x c)`, row-major.
pub(crate) fn matmul(a: &[f64], b: &[f64], r: usize, k: usize, c: usize) -> Vec<f64> {
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
pub(crate) fn matmul_bt(a: &[f64], b: &[f64], r: usize, k: usize, c: usize) -> Vec<f64> {
    let mut out = vec![0.0; r * c];
    for i in 0..r {
        for j in 0..c {
            out[i * c + j] = a[i * k..(i + 1) * k].iter().zip(&b[j * k..(j + 1) * k]).map(|(x, y)| x * y).sum();
        }
    }
    out
}
