//! SeFa (Shen & Zhou, "Closed-Form Factorization of Latent Semantics in GANs"): the directions in W that the
//! style affine layers amplify most are the top eigenvectors of AᵀA, A stacking those layers' weights.

use crate::directions_file::Directions;
use crate::{invalid, Result};
use bestiary_weights::Network;

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
pub fn sefa_directions(
    net: &Network,
    layers: Option<&[usize]>,
    k: usize,
) -> Result<(Vec<f64>, Vec<Vec<f32>>)> {
    let names = conv_affine_names(net);
    if names.is_empty() {
        return invalid("the generator has no synthesis affine (style) layers");
    }
    let chosen: Vec<&String> = match layers {
        None => names.iter().collect(),
        Some(ls) => {
            let picked: Vec<&String> = ls.iter().filter_map(|&i| names.get(i)).collect();
            if picked.is_empty() {
                return invalid(format!(
                    "no conv layer among the chosen layers (this network has conv layers 0-{})",
                    names.len() - 1
                ));
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
            return invalid(format!(
                "{name} has shape {:?}, expected [channels, {w_dim}]",
                t.shape
            ));
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
    let e = bestiary_linalg::symmetric_eigen(&ata, w_dim);
    let (values, vectors) = (e.values, e.vectors);
    let dirs = vectors
        .into_iter()
        .take(k)
        .map(|v| v.into_iter().map(|x| x as f32).collect())
        .collect();
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
            let p: Vec<f64> = samples
                .iter()
                .map(|w| w.iter().zip(d).map(|(a, b)| *a as f64 * *b as f64).sum())
                .collect();
            let n = p.len().max(1) as f64;
            let mean = p.iter().sum::<f64>() / n;
            (p.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt() as f32
        })
        .collect()
}

/// Seeds whose W measure σ: enough for a stable spread, few enough to be quick on a CPU.
pub const SIGMA_SEEDS: u32 = 1000;

/// σ of each direction for a generator: the spread along it of the W of seeds 0..[`SIGMA_SEEDS`] (of
/// `class` for a conditional network), untruncated. The first w of each seed stands for all of them
/// (untruncated ws are the same at every layer).
pub fn seed_sigma<B: burn::tensor::backend::Backend>(
    g: &bestiary_stylegan::Generator<B>,
    directions: &[Vec<f32>],
    class: Option<usize>,
    device: &B::Device,
) -> Result<Vec<f32>> {
    let seeds: Vec<u32> = (0..SIGMA_SEEDS).collect();
    let ws = crate::mix::seed_ws_of_class(g, &seeds, class, 1.0, device)?;
    let firsts: Vec<&[f32]> = ws.iter().map(|w| &w[..g.w_dim]).collect();
    Ok(projection_sigma(&firsts, directions))
}

impl Directions {
    /// SeFa's top `k` directions from the affine weights of `net` (read by the W indices `layers`,
    /// all when `None`), each with σ measured on `g`'s seeds (of `class` for a conditional network).
    pub fn sefa<B: burn::tensor::backend::Backend>(
        net: &Network,
        g: &bestiary_stylegan::Generator<B>,
        layers: Option<&[usize]>,
        k: usize,
        class: Option<usize>,
        device: &B::Device,
    ) -> Result<Directions> {
        let (eigenvalues, directions) = sefa_directions(net, layers, k)?;
        let sigma = seed_sigma(g, &directions, class, device)?;
        Ok(Directions {
            directions,
            sigma,
            eigenvalues,
            extra: Default::default(),
        })
    }
}
