//! Local (masked) edits: the base and the edited latent run through the synthesis network side by side, and
//! from a chosen layer on the edited branch's feature maps (and RGB images) are replaced, outside a soft
//! mask, by the base branch's: `x = m * x_edit + (1 - m) * x_base`, with `m` the mask resized to each
//! layer's resolution.
//!
//! Why every later layer is blended, the last RGB image included: 3x3 convolutions and the upsampling
//! filters spread a change by a few feature pixels per layer, so blending once would let the edit leak
//! outward again; and the two branches read different styles, so even where their inputs agree every
//! layer (the ToRGB layers too) makes different outputs. Blending after every layer pulls the
//! surroundings back to the base each time, and the final blend of the output image with the
//! full-resolution mask makes every pixel where the feathered mask is 0 exactly the base image's: the
//! result equals `generate` (same seed, const noise) at every pixel more than `feather + 0.5` pixels from
//! the mask. The earlier blends make the inside agree with its surroundings so the seam is not visible.
//! (On the 16x16 fixture, outside the mask grown by 2 pixels: blending once at layer 0 leaves up to
//! 188/255 of difference, every layer but the output image 72/255, every layer 0/255.)
//!
//! Masks: any image; its value is ITU-R 601 luma times alpha (transparent = keep), resized to the output
//! resolution by area averaging and thresholded at one half (white = change). The feather is a linear ramp
//! of width `2 * feather` pixels centred on the mask's edge, from Euclidean distances to the edge.

use crate::{invalid, Result};
use bestiary_stylegan::sampling::split_images;
use bestiary_stylegan::synthesis::BlockPoint;
use bestiary_stylegan::{Generator, SynthesisNetwork, SynthesisOptions};
use burn::tensor::{backend::Backend, Tensor, TensorData};

/// A binary mask at the output resolution (`size * size`, row-major, `true` = change).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryMask {
    pub size: usize,
    pub on: Vec<bool>,
}

impl BinaryMask {
    /// From interleaved 8-bit pixels of 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA) channels, any size:
    /// luma times alpha, area-resized to `size x size`, thresholded at one half.
    pub fn from_pixels(
        width: usize,
        height: usize,
        channels: usize,
        px: &[u8],
        size: usize,
    ) -> Result<BinaryMask> {
        if !(1..=4).contains(&channels)
            || width == 0
            || height == 0
            || px.len() != width * height * channels
        {
            return invalid(format!(
                "{} bytes do not make a {width}x{height} mask of {channels} channels",
                px.len()
            ));
        }
        let value: Vec<f32> = px
            .chunks_exact(channels)
            .map(|p| {
                let luma = |r: u8, g: u8, b: u8| {
                    (r as f32 * 0.299 + g as f32 * 0.587 + b as f32 * 0.114) / 255.0
                };
                match *p {
                    [g] => g as f32 / 255.0,
                    [g, a] => g as f32 / 255.0 * a as f32 / 255.0,
                    [r, g, b] => luma(r, g, b),
                    [r, g, b, a] => luma(r, g, b) * a as f32 / 255.0,
                    _ => unreachable!("1..=4 channels"),
                }
            })
            .collect();
        let resized = resize_area(&value, width, height, size, size);
        Ok(BinaryMask {
            size,
            on: resized.into_iter().map(|v| v >= 0.5).collect(),
        })
    }

    /// A painted mask for an edit, as [`BinaryMask::from_pixels`], refused when it selects nothing at
    /// `size` (`name` names the mask in that message).
    pub fn painted(
        name: &str,
        width: usize,
        height: usize,
        channels: usize,
        px: &[u8],
        size: usize,
    ) -> Result<BinaryMask> {
        let m = BinaryMask::from_pixels(width, height, channels, px, size)?;
        if m.count() == 0 {
            return invalid(format!(
                "the mask {name} selects no pixel at {size}x{size} (white = change)"
            ));
        }
        Ok(m)
    }

    /// From a closure over pixel coordinates (tests, synthetic masks).
    pub fn from_fn(size: usize, f: impl Fn(usize, usize) -> bool) -> BinaryMask {
        BinaryMask {
            size,
            on: (0..size * size).map(|i| f(i % size, i / size)).collect(),
        }
    }

    /// Number of pixels to change.
    pub fn count(&self) -> usize {
        self.on.iter().filter(|&&b| b).count()
    }

    /// Euclidean distance of each pixel centre to the nearest pixel that is (`to_on`) or is not in the mask;
    /// `f32::INFINITY` everywhere when there is none.
    pub fn distance(&self, to_on: bool) -> Vec<f32> {
        let feature: Vec<bool> = self.on.iter().map(|&b| b == to_on).collect();
        distance_transform(&feature, self.size, self.size)
            .into_iter()
            .map(|d2| (d2 as f32).sqrt())
            .collect()
    }

    /// The mask grown by `radius` pixels: every pixel whose centre is within `radius` of a masked one.
    pub fn grown(&self, radius: f32) -> BinaryMask {
        BinaryMask {
            size: self.size,
            on: self
                .distance(true)
                .into_iter()
                .map(|d| d <= radius)
                .collect(),
        }
    }

    /// The soft mask in [0, 1]: a linear ramp of width `2 * feather` centred on the edge (half a pixel out
    /// from the outermost masked pixel centres); `feather` 0 keeps it binary. Exactly 0 from `feather + 0.5`
    /// pixels outside the mask on, exactly 1 from `feather - 0.5` inside.
    pub fn feathered(&self, feather: f32) -> Vec<f32> {
        if feather <= 0.0 {
            return self.on.iter().map(|&b| b as u8 as f32).collect();
        }
        let (din, dout) = (self.distance(false), self.distance(true));
        self.on
            .iter()
            .enumerate()
            .map(|(i, &on)| {
                let signed = if on { din[i] - 0.5 } else { 0.5 - dout[i] };
                (0.5 + signed / (2.0 * feather)).clamp(0.0, 1.0)
            })
            .collect()
    }
}

/// Area (box) resampling of a `w x h` single-channel image to `ow x oh`: each output pixel is the mean
/// of the input it covers (fractional coverage at the borders); upsampling repeats pixels.
pub fn resize_area(v: &[f32], w: usize, h: usize, ow: usize, oh: usize) -> Vec<f32> {
    // Per output index, the input indices it covers with their weights (summing to 1).
    let weights = |n: usize, on: usize| -> Vec<Vec<(usize, f32)>> {
        (0..on)
            .map(|o| {
                let (a, b) = (
                    o as f64 * n as f64 / on as f64,
                    (o + 1) as f64 * n as f64 / on as f64,
                );
                let mut out = Vec::new();
                let mut i = a.floor() as usize;
                while (i as f64) < b && i < n {
                    let cover = (b.min(i as f64 + 1.0) - a.max(i as f64)).max(0.0);
                    if cover > 0.0 {
                        out.push((i, (cover / (b - a)) as f32));
                    }
                    i += 1;
                }
                out
            })
            .collect()
    };
    let (wx, wy) = (weights(w, ow), weights(h, oh));
    let mut rows = vec![0f32; h * ow];
    for y in 0..h {
        for (ox, ws) in wx.iter().enumerate() {
            rows[y * ow + ox] = ws.iter().map(|&(x, k)| v[y * w + x] * k).sum();
        }
    }
    let mut out = vec![0f32; oh * ow];
    for (oy, ws) in wy.iter().enumerate() {
        for ox in 0..ow {
            out[oy * ow + ox] = ws.iter().map(|&(y, k)| rows[y * ow + ox] * k).sum();
        }
    }
    out
}

/// Exact squared Euclidean distance of every pixel to the nearest `feature` pixel (separable lower
/// envelope of parabolas, Felzenszwalb & Huttenlocher); `f64::INFINITY` when there is no feature pixel.
fn distance_transform(feature: &[bool], w: usize, h: usize) -> Vec<f64> {
    fn pass(f: &[f64]) -> Vec<f64> {
        let n = f.len();
        let mut out = vec![f64::INFINITY; n];
        // Sites with finite values; the envelope over them.
        let sites: Vec<usize> = (0..n).filter(|&i| f[i].is_finite()).collect();
        if sites.is_empty() {
            return out;
        }
        let mut v: Vec<usize> = Vec::with_capacity(sites.len());
        let mut z: Vec<f64> = Vec::with_capacity(sites.len() + 1);
        for &q in &sites {
            loop {
                match v.last() {
                    None => {
                        v.push(q);
                        z.clear();
                        z.push(f64::NEG_INFINITY);
                        break;
                    }
                    Some(&p) => {
                        let s = ((f[q] + (q * q) as f64) - (f[p] + (p * p) as f64))
                            / (2.0 * (q as f64 - p as f64));
                        if s <= *z.last().expect("z tracks v") {
                            v.pop();
                            z.pop();
                            if v.is_empty() {
                                continue;
                            }
                        } else {
                            v.push(q);
                            z.push(s);
                            break;
                        }
                    }
                }
            }
        }
        let mut k = 0;
        for (i, o) in out.iter_mut().enumerate() {
            while k + 1 < v.len() && z[k + 1] < i as f64 {
                k += 1;
            }
            let d = i as f64 - v[k] as f64;
            *o = d * d + f[v[k]];
        }
        out
    }
    let mut cols = vec![0f64; w * h];
    for x in 0..w {
        let f: Vec<f64> = (0..h)
            .map(|y| {
                if feature[y * w + x] {
                    0.0
                } else {
                    f64::INFINITY
                }
            })
            .collect();
        for (y, d) in pass(&f).into_iter().enumerate() {
            cols[y * w + x] = d;
        }
    }
    let mut out = vec![0f64; w * h];
    for y in 0..h {
        out[y * w..(y + 1) * w].copy_from_slice(&pass(&cols[y * w..(y + 1) * w]));
    }
    out
}

/// The default first blended layer: the first layer at an eighth of the output resolution (4x4 at least):
/// layer 0 (4x4) up to 32x32 outputs, the 32x32 layers at 256, 128x128 at 1024. Late enough that a mask
/// covers whole feature pixels there, early enough that several 3x3 convolutions and upsamplings after it
/// merge the edit with its surroundings. Locality outside the feathered mask holds for any choice.
pub fn default_blend_layer<B: Backend>(s: &SynthesisNetwork<B>) -> usize {
    let target = (s.img_resolution / 8).max(4);
    crate::ws_resolutions(s)
        .iter()
        .position(|&r| r >= target)
        .unwrap_or(0)
}

/// The default feather: a sixteenth of the output size (1 pixel at least). Half the margin of the locality
/// guarantee (an eighth of the size), so the whole ramp, `feather + 0.5` pixels out, stays inside it.
pub fn default_feather(size: usize) -> f32 {
    (size as f32 / 16.0).max(1.0)
}

/// Refuses a chosen first blended layer (`--layer`) beyond a network's `num_ws` layers.
pub fn check_blend_layer(layer: usize, num_ws: usize) -> Result<()> {
    if layer >= num_ws {
        return invalid(format!(
            "--layer {layer} is out of range: this network has layers 0-{}",
            num_ws - 1
        ));
    }
    Ok(())
}

/// A painted mask made ready for a network: its soft version, the feather and the first blended layer,
/// each the default above where not chosen.
#[derive(Clone, Debug)]
pub struct MaskSettings {
    pub soft: Vec<f32>,
    pub feather: f32,
    pub from_layer: usize,
}

impl MaskSettings {
    pub fn new<B: Backend>(
        mask: &BinaryMask,
        feather: Option<f32>,
        from_layer: Option<usize>,
        s: &SynthesisNetwork<B>,
    ) -> Result<MaskSettings> {
        let from_layer = from_layer.unwrap_or_else(|| default_blend_layer(s));
        check_blend_layer(from_layer, s.num_ws)?;
        let feather = feather.unwrap_or_else(|| default_feather(mask.size));
        Ok(MaskSettings {
            soft: mask.feathered(feather),
            feather,
            from_layer,
        })
    }
}

/// The two images of a local edit (8-bit HWC): the edited one and the base (as `generate` renders it).
pub struct LocalEditImages {
    pub edited: Vec<u8>,
    pub base: Vec<u8>,
}

/// Renders `edit_ws` inside the soft `mask` (`size * size` in [0, 1] at the output resolution, see
/// [`BinaryMask::feathered`]) over `base_ws` (host ws `[num_ws * w_dim]` each), blending the two branches
/// after every synthesis layer from `from_layer` on (W-index numbering; `num_ws - 1` composites only the
/// final images) and after every RGB image update from there, the output image always.
pub fn local_edit<B: Backend>(
    g: &Generator<B>,
    base_ws: &[f32],
    edit_ws: &[f32],
    mask: &[f32],
    from_layer: usize,
    opts: &SynthesisOptions,
    device: &B::Device,
) -> Result<LocalEditImages> {
    let (num_ws, d) = (g.synthesis.num_ws, g.synthesis.w_dim);
    if base_ws.len() != num_ws * d || edit_ws.len() != num_ws * d {
        return invalid(format!("ws must hold {num_ws} x {d} values"));
    }
    let flat: Vec<f32> = base_ws.iter().chain(edit_ws).copied().collect();
    let ws = Tensor::<B, 3>::from_data(TensorData::new(flat, [2, num_ws, d]), device);
    let out = local_edit_tensor(g, ws, mask, from_layer, opts)?;
    let mut images = split_images(out).into_iter();
    let base = images.next().expect("two images");
    let edited = images.next().expect("two images");
    Ok(LocalEditImages { edited, base })
}

/// [`local_edit`] on tensors: `ws` `[2, num_ws, w_dim]` (row 0 the base, row 1 the edit) to the images
/// `[2, C, R, R]` (row 0 the base, row 1 the blended edit). Made of differentiable operations, so on an
/// autodiff backend gradients flow to the edited row (the memorability brush optimises through it).
pub fn local_edit_tensor<B: Backend>(
    g: &Generator<B>,
    ws: Tensor<B, 3>,
    mask: &[f32],
    from_layer: usize,
    opts: &SynthesisOptions,
) -> Result<Tensor<B, 4>> {
    let s = &g.synthesis;
    let (num_ws, d, size) = (s.num_ws, s.w_dim, s.img_resolution);
    if ws.dims() != [2, num_ws, d] {
        return invalid(format!("ws must be [2, {num_ws}, {d}]"));
    }
    if mask.len() != size * size {
        return invalid(format!(
            "the mask must be {size}x{size} (the output resolution)"
        ));
    }
    if from_layer >= num_ws {
        return invalid(format!(
            "layer {from_layer} is out of range: this network has layers 0-{}",
            num_ws - 1
        ));
    }
    let device = &ws.device();
    // The mask at each resolution, as a [1, 1, r, r] tensor, made once.
    let mut masks: Vec<(usize, Tensor<B, 4>)> = Vec::new();
    let mut mask_at = |r: usize| -> Tensor<B, 4> {
        if let Some((_, t)) = masks.iter().find(|(res, _)| *res == r) {
            return t.clone();
        }
        let m = if r == size {
            mask.to_vec()
        } else {
            resize_area(mask, size, size, r, r)
        };
        let t = Tensor::<B, 4>::from_data(TensorData::new(m, [1, 1, r, r]), device);
        masks.push((r, t.clone()));
        t
    };
    // Row 0 stays the base; row 1 becomes m * edit + (1 - m) * base (exactly the base where m == 0).
    let blend = |t: Tensor<B, 4>, m: Tensor<B, 4>| -> Tensor<B, 4> {
        let [_, c, h, w] = t.dims();
        let base = t.clone().slice([0..1, 0..c, 0..h, 0..w]);
        let edit = t.slice([1..2, 0..c, 0..h, 0..w]);
        let mixed = base.clone() + (edit - base.clone()) * m.expand([1, c, h, w]);
        Tensor::cat(vec![base, mixed], 0)
    };
    let (mut x, mut img) = (None, None);
    let mut w_idx = 0;
    let last = s.blocks.len() - 1;
    for (bi, block) in s.blocks.iter().enumerate() {
        let len = block.num_conv + block.num_torgb;
        let bws = ws.clone().slice([0..2, w_idx..w_idx + len, 0..d]);
        let first = w_idx;
        // The RGB image is blended in every block that has a blended layer, and always at the end.
        let blend_img = bi == last || first + block.num_conv > from_layer;
        let m =
            (first + block.num_conv > from_layer || bi == last).then(|| mask_at(block.resolution));
        let (nx, nimg) = block.forward_hooked(x, img, bws, opts, |p, t| match (p, &m) {
            (BlockPoint::Conv(i), Some(m)) if first + i >= from_layer => blend(t, m.clone()),
            (BlockPoint::Img, Some(m)) if blend_img => blend(t, m.clone()),
            _ => t,
        });
        w_idx += block.num_conv;
        x = Some(nx);
        img = nimg;
    }
    Ok(img.expect("the last block has a ToRGB layer"))
}
