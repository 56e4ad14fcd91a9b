//! Style mixing (the official style-mixing grid) and chimeras (coarse/middle/fine from three seeds).

use crate::{invalid, Result};
use bestiary_stylegan::sampling::{labels, split_images, z_for_seeds};
use bestiary_stylegan::seed::z_from_seed;
use bestiary_stylegan::{Generator, SynthesisOptions};
use burn::tensor::{backend::Backend, Tensor, TensorData};

/// Host W vectors of each seed, `[num_ws * w_dim]` each, truncated by `psi` (unconditional networks).
pub fn seed_ws<B: Backend>(
    g: &Generator<B>,
    seeds: &[u32],
    psi: f64,
    device: &B::Device,
) -> Result<Vec<Vec<f32>>> {
    seed_ws_of_class(g, seeds, None, psi, device)
}

/// Host W vectors of each seed as [`seed_ws`], for a conditional network of class `class` (the mapping
/// takes its one-hot label, as the official generate.py gives it); `None` for an unconditional one.
pub fn seed_ws_of_class<B: Backend>(
    g: &Generator<B>,
    seeds: &[u32],
    class: Option<usize>,
    psi: f64,
    device: &B::Device,
) -> Result<Vec<Vec<f32>>> {
    if seeds.is_empty() {
        return Ok(Vec::new());
    }
    let c = labels::<B>(g.c_dim, class, seeds.len(), device)?;
    let z = z_for_seeds::<B>(seeds, g.z_dim, device);
    let per = g.num_ws() * g.w_dim;
    Ok(host(g.mapping(z, c, psi, None))?
        .chunks(per)
        .map(<[f32]>::to_vec)
        .collect())
}

/// A tensor's values on the host.
fn host<B: Backend, const D: usize>(t: Tensor<B, D>) -> Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .map_err(|e| crate::ExploreError::Invalid(format!("{e:?}")))
}

/// The untruncated W (`[num_ws * w_dim]`) of every frame of a walk through the keyframes `seeds` (of
/// `class` for a conditional network): in W the seeds' W are interpolated (a slerp turning about W's
/// mean); in Z the seeds' z are (or a noise loop drawn from them), each frame then mapped.
pub fn walk_ws<B: Backend>(
    g: &Generator<B>,
    seeds: &[u32],
    spec: &crate::WalkSpec,
    space: crate::WalkSpace,
    class: Option<usize>,
    device: &B::Device,
) -> Result<Vec<Vec<f32>>> {
    use crate::{Interp, WalkSpace};
    let per = g.num_ws() * g.w_dim;
    match space {
        WalkSpace::W => {
            let keys = seed_ws_of_class(g, seeds, class, 1.0, device)?;
            // The mean of W tiled over the ws: slerp's centre in W.
            let origin =
                match (spec.interp, g.mapping.w_avg()) {
                    (Interp::Slerp, Some(avg)) => Some(host(avg)?.repeat(g.num_ws())),
                    (Interp::Slerp, None) => return invalid(
                        "this network stores no W average, so it cannot slerp in W (use --space z)",
                    ),
                    _ => None,
                };
            crate::walk(&keys, spec, origin.as_deref())
        }
        WalkSpace::Z => {
            let zs = if spec.interp == Interp::Noise {
                let nl = crate::NoiseLoop::new(seeds, g.z_dim);
                crate::loop_angles(spec.frames)
                    .into_iter()
                    .map(|t| nl.at(t))
                    .collect()
            } else {
                let keys: Vec<Vec<f32>> = seeds.iter().map(|&s| z_from_seed(s, g.z_dim)).collect();
                crate::walk(&keys, spec, None)?
            };
            let mut out = Vec::with_capacity(zs.len());
            for chunk in zs.chunks(64) {
                let flat: Vec<f32> = chunk.iter().flatten().copied().collect();
                let z = Tensor::<B, 2>::from_data(
                    TensorData::new(flat, [chunk.len(), g.z_dim]),
                    device,
                );
                let c = labels::<B>(g.c_dim, class, chunk.len(), device)?;
                out.extend(
                    host(g.mapping(z, c, 1.0, None))?
                        .chunks(per)
                        .map(<[f32]>::to_vec),
                );
            }
            Ok(out)
        }
    }
}

/// `row` with the W vectors at `styles` replaced by those of `col` (the official mixing rule).
pub fn mix_ws(row: &[f32], col: &[f32], styles: &[usize], w_dim: usize) -> Vec<f32> {
    assert_eq!(row.len(), col.len(), "mix_ws: ws of different shapes");
    let mut out = row.to_vec();
    for &s in styles {
        out[s * w_dim..(s + 1) * w_dim].copy_from_slice(&col[s * w_dim..(s + 1) * w_dim]);
    }
    out
}

/// A chimera: each W index from the source of its group (`coarse`, `middle`, `fine`).
pub fn chimera_ws(
    groups: &crate::LayerGroups,
    coarse: &[f32],
    middle: &[f32],
    fine: &[f32],
    w_dim: usize,
) -> Vec<f32> {
    let mut out = mix_ws(coarse, middle, &groups.middle, w_dim);
    out = mix_ws(&out, fine, &groups.fine, w_dim);
    out
}

/// 8-bit NHWC images of host W vectors (each `[num_ws * w_dim]`).
pub fn render_ws<B: Backend>(
    g: &Generator<B>,
    ws: &[Vec<f32>],
    opts: &SynthesisOptions,
    device: &B::Device,
) -> Vec<Vec<u8>> {
    if ws.is_empty() {
        return Vec::new();
    }
    let flat: Vec<f32> = ws.iter().flatten().copied().collect();
    let t = Tensor::<B, 3>::from_data(
        TensorData::new(flat, [ws.len(), g.num_ws(), g.w_dim]),
        device,
    );
    split_images(g.synthesis(t, opts))
}

/// Refuses psi values other than 1 on a network that stores no W average.
pub fn check_truncation<B: Backend>(g: &Generator<B>, psis: &[f64]) -> Result<()> {
    if psis.iter().any(|&p| p != 1.0) && g.mapping.w_avg().is_none() {
        return invalid("this network stores no W average, so it cannot be truncated (use psi 1)");
    }
    Ok(())
}

/// 8-bit NHWC images of host W vectors, each truncated first by its own psi (`psis[i]` for `ws[i]`)
/// exactly as the mapping network truncates, so that a frame at psi p matches `generate --trunc p`.
/// Networks that store no W average take psi 1 only.
pub fn render_ws_truncated<B: Backend>(
    g: &Generator<B>,
    ws: &[Vec<f32>],
    psis: &[f64],
    opts: &SynthesisOptions,
    device: &B::Device,
) -> Result<Vec<Vec<u8>>> {
    if ws.len() != psis.len() {
        return invalid(format!(
            "{} W vectors but {} psi values",
            ws.len(),
            psis.len()
        ));
    }
    check_truncation(g, psis)?;
    if ws.is_empty() {
        return Ok(Vec::new());
    }
    let (k, d) = (g.num_ws(), g.w_dim);
    let parts: Vec<Tensor<B, 3>> = ws
        .iter()
        .zip(psis)
        .map(|(w, &psi)| {
            let t = Tensor::<B, 3>::from_data(TensorData::new(w.clone(), [1, k, d]), device);
            g.mapping.truncate(t, psi, None)
        })
        .collect();
    Ok(split_images(g.synthesis(Tensor::cat(parts, 0), opts)))
}

/// The images of a style-mixing grid: `header_cols[c]` (the column seeds), `header_rows[r]` (the row
/// seeds) and `cells[r][c]` (row seed's ws with the column seed's ws at the chosen styles).
pub struct MixGrid {
    pub header_cols: Vec<Vec<u8>>,
    pub header_rows: Vec<Vec<u8>>,
    pub cells: Vec<Vec<Vec<u8>>>,
}

/// What a style-mixing grid shows and how it is rendered.
#[derive(Clone, Copy, Debug)]
pub struct MixSpec<'a> {
    /// Seeds down the left: each row keeps its own W outside `styles`.
    pub rows: &'a [u32],
    /// Seeds across the top: their W is copied in at `styles`.
    pub cols: &'a [u32],
    pub styles: &'a [usize],
    /// Every seed's class on a conditional network (the official script maps unconditional ones only).
    pub class: Option<usize>,
    pub psi: f64,
    pub synthesis: SynthesisOptions,
    /// Images per forward pass.
    pub batch: usize,
}

/// Renders the official style-mixing grid; `on_image` is called once per rendered image (for progress).
pub fn style_mixing_grid<B: Backend>(
    g: &Generator<B>,
    spec: &MixSpec,
    device: &B::Device,
    mut on_image: impl FnMut(),
) -> Result<MixGrid> {
    let (styles, class, psi) = (spec.styles, spec.class, spec.psi);
    if let Some(&s) = styles.iter().find(|&&s| s >= g.num_ws()) {
        return invalid(format!(
            "style {s} is out of range: this network has styles 0-{}",
            g.num_ws() - 1
        ));
    }
    let rows = seed_ws_of_class(g, spec.rows, class, psi, device)?;
    let cols = seed_ws_of_class(g, spec.cols, class, psi, device)?;
    let mut all: Vec<Vec<f32>> = cols.clone();
    all.extend(rows.iter().cloned());
    for r in &rows {
        for c in &cols {
            all.push(mix_ws(r, c, styles, g.w_dim));
        }
    }
    let mut imgs = Vec::with_capacity(all.len());
    for chunk in all.chunks(spec.batch.max(1)) {
        for im in render_ws(g, chunk, &spec.synthesis, device) {
            imgs.push(im);
            on_image();
        }
    }
    let mut it = imgs.into_iter();
    let header_cols: Vec<_> = it.by_ref().take(cols.len()).collect();
    let header_rows: Vec<_> = it.by_ref().take(rows.len()).collect();
    let cells = (0..rows.len())
        .map(|_| it.by_ref().take(cols.len()).collect())
        .collect();
    Ok(MixGrid {
        header_cols,
        header_rows,
        cells,
    })
}

impl MixGrid {
    /// The grid as one HWC image of `(cols + 1) x (rows + 1)` tiles, top-left tile black.
    pub fn compose(&self, tile: usize, channels: usize) -> (usize, usize, Vec<u8>) {
        let (nr, nc) = (self.header_rows.len() + 1, self.header_cols.len() + 1);
        let mut tiles: Vec<Option<&[u8]>> = vec![None; nr * nc];
        for (c, im) in self.header_cols.iter().enumerate() {
            tiles[c + 1] = Some(im);
        }
        for (r, im) in self.header_rows.iter().enumerate() {
            tiles[(r + 1) * nc] = Some(im);
            for (c, cell) in self.cells[r].iter().enumerate() {
                tiles[(r + 1) * nc + c + 1] = Some(cell);
            }
        }
        (
            nc * tile,
            nr * tile,
            tile_grid(&tiles, nr, nc, tile, channels),
        )
    }
}

/// Places square HWC tiles (`tile x tile x channels`) row-major in a `rows x cols` grid; `None` stays black.
pub fn tile_grid(
    tiles: &[Option<&[u8]>],
    rows: usize,
    cols: usize,
    tile: usize,
    channels: usize,
) -> Vec<u8> {
    assert_eq!(tiles.len(), rows * cols, "tile_grid: wrong number of tiles");
    let width = cols * tile;
    let mut out = vec![0u8; rows * tile * width * channels];
    for (i, t) in tiles.iter().enumerate() {
        let Some(t) = t else { continue };
        let (r, c) = (i / cols, i % cols);
        for y in 0..tile {
            let dst = ((r * tile + y) * width + c * tile) * channels;
            out[dst..dst + tile * channels]
                .copy_from_slice(&t[y * tile * channels..(y + 1) * tile * channels]);
        }
    }
    out
}
