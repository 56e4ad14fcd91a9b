//! SeFa (Shen & Zhou, "Closed-Form Factorization of Latent Semantics in GANs"): the directions in W that the
//! style affine layers amplify most are the top eigenvectors of AᵀA, A stacking those layers' weights.

use crate::{invalid, Result};
use bestiary_weights::Network;

/// Eigen-decomposition of a symmetric `n x n` matrix (row-major) by cyclic Jacobi rotations, in f64.
/// Returns eigenvalues in descending order and the matching unit eigenvectors (one `Vec` each).
pub fn symmetric_eigen(m: &[f64], n: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    assert_eq!(m.len(), n * n, "symmetric_eigen: matrix is not n x n");
    let mut a = m.to_vec();
    // v holds the eigenvectors as columns.
    let mut v = vec![0f64; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let total: f64 = a.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| a[i * n + j].powi(2)).sum();
        if off <= 1e-30 * total {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (a[p * n + p], a[q * n + q]);
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // A <- Jᵀ A J, rotating rows and columns p, q.
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| a[j * n + j].total_cmp(&a[i * n + i]));
    let values = order.iter().map(|&i| a[i * n + i]).collect();
    let vectors = order.iter().map(|&i| (0..n).map(|k| v[k * n + i]).collect()).collect();
    (values, vectors)
}

/// Names of the style affine weights (`[channels, w_dim]`) that read W index `i`, for each index: the
/// synthesis conv layers in order (b4.conv1, b8.conv0, b8.conv1, ...). ToRGB styles are left out.
pub fn conv_affine_names(net: &Network) -> Vec<String> {
    let mut res: Vec<usize> = net
        .tensors
        .keys()
        .filter_map(|k| crate::blend::block_resolution(k))
        .collect();
    res.sort_unstable();
    res.dedup();
    let mut out = Vec::new();
    for r in res {
        for conv in ["conv0", "conv1"] {
            let name = format!("synthesis.b{r}.{conv}.affine.weight");
            if net.tensors.contains_key(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// The top `k` SeFa directions `[k][w_dim]` (orthonormal) and their eigenvalues, from the affine weights of
/// the conv layers fed by the W indices `layers` (all conv layers when `None`).
pub fn sefa_directions(net: &Network, layers: Option<&[usize]>, k: usize) -> Result<(Vec<f64>, Vec<Vec<f32>>)> {
    let names = conv_affine_names(net);
    if names.is_empty() {
        return invalid("the generator has no synthesis affine (style) layers");
    }
    let chosen: Vec<&String> = match layers {
        None => names.iter().collect(),
        Some(ls) => {
            let picked: Vec<&String> = ls.iter().filter_map(|&i| names.get(i)).collect();
            if picked.is_empty() {
                return invalid(format!("no conv layer among the chosen layers (this network has conv layers 0-{})", names.len() - 1));
            }
            picked
        }
    };
    let w_dim = net.tensors[chosen[0]].shape[1];
    if k == 0 || k > w_dim {
        return invalid(format!("--num must be in 1..={w_dim}, got {k}"));
    }
    let mut ata = vec![0f64; w_dim * w_dim];
    for name in chosen {
        let t = &net.tensors[name];
        if t.shape.len() != 2 || t.shape[1] != w_dim {
            return invalid(format!("{name} has shape {:?}, expected [channels, {w_dim}]", t.shape));
        }
        for row in t.data.chunks(w_dim) {
            for i in 0..w_dim {
                let ri = row[i] as f64;
                for j in 0..w_dim {
                    ata[i * w_dim + j] += ri * row[j] as f64;
                }
            }
        }
    }
    let (values, vectors) = symmetric_eigen(&ata, w_dim);
    let dirs = vectors.into_iter().take(k).map(|v| v.into_iter().map(|x| x as f32).collect()).collect();
    Ok((values.into_iter().take(k).collect(), dirs))
}

/// `ws + amount * direction` at the W indices `layers` (host ws `[num_ws * w_dim]`).
pub fn apply_direction(ws: &[f32], direction: &[f32], amount: f32, layers: &[usize]) -> Vec<f32> {
    let d = direction.len();
    let mut out = ws.to_vec();
    for &l in layers {
        for (o, &x) in out[l * d..(l + 1) * d].iter_mut().zip(direction) {
            *o += amount * x;
        }
    }
    out
}

/// Standard deviation of the projections of sample W vectors (`[w_dim]` each) on each direction: the
/// natural unit ("σ") for edit amounts.
pub fn projection_sigma(samples: &[&[f32]], directions: &[Vec<f32>]) -> Vec<f32> {
    directions
        .iter()
        .map(|d| {
            let p: Vec<f64> = samples.iter().map(|w| w.iter().zip(d).map(|(a, b)| *a as f64 * *b as f64).sum()).collect();
            let n = p.len().max(1) as f64;
            let mean = p.iter().sum::<f64>() / n;
            (p.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt() as f32
        })
        .collect()
}
