//! Applying per-sample geometric transforms to a batch, differentiably.
//!
//! Two paths, chosen per sample:
//! * **blit**: a sample whose transform maps pixel centres exactly onto pixel centres (x-flips,
//!   quarter turns, whole-pixel translations, identity) is a pure gather of its input pixels
//!   (with mirror reflection at the borders): an exact permutation.
//! * **resample**: the other samples take the official scheme: mirror-pad by a batch-wide
//!   margin and upsample 2x with the sym6 wavelet low-pass (both folded into one small matrix
//!   per axis, applied as two matmuls), bilinear sampling at the transformed coordinates (one
//!   gather per corner with CPU-computed weights, zero outside the padded image), then the sym6
//!   low-pass and 2x decimation (again one small matrix per axis).
//!
//! Every step is linear in the images and built from differentiable tensor ops (`select`,
//! `matmul`, multiply, add): gradients flow back to the input. The sampling positions and
//! weights depend only on the drawn parameters, never on pixel values.
//!
//! The matrices reproduce `bestiary_nn`'s `upsample2d(x, sym6, 2)` and
//! `upfirdn2d(x, sym6, down=2, padding=-1, flip_filter=true)` exactly (tested); they replace
//! them because Burn's CPU transposed 12x12 convolution was ~15x slower here.

use burn::tensor::{backend::Backend, Int, Tensor, TensorData};

use crate::params::{mul3, scale2, translate2, Mat3, I3};

/// Low-pass decomposition filter of the Symlet-6 orthogonal wavelet (the official geometric
/// anti-aliasing filter). Mathematical constants, as computed by PyWavelets' `Wavelet('sym6').dec_lo`.
pub const SYM6: [f64; 12] = [
    0.015404109327027373,
    0.0034907120842174702,
    -0.11799011114819057,
    -0.048311742585633,
    0.4910559419267466,
    0.787641141030194,
    0.3379294217276218,
    -0.07263752278646252,
    -0.021060292512300564,
    0.04472490177066578,
    0.0017677118642428036,
    -0.007800708325034148,
];

/// Extra border (in original pixels) kept around the image while resampling: a quarter of the
/// filter length, as the official code.
const HZ_PAD: usize = SYM6.len() / 4;

/// The sym6 filter as `bestiary_nn` prepares it (normalized to unit sum).
#[cfg(test)]
pub(crate) fn sym6_fir() -> bestiary_nn::Fir {
    let taps: Vec<f32> = SYM6.iter().map(|&v| v as f32).collect();
    bestiary_nn::Fir::from_1d(&taps)
}

/// Unit-sum sym6 taps.
fn sym6_unit() -> [f64; 12] {
    let s: f64 = SYM6.iter().sum();
    SYM6.map(|v| v / s)
}

/// One axis of "mirror-pad by `p0`/`p1`, then upsample 2x with sym6" as a dense
/// `[2 (len + p0 + p1), len]` row-major matrix. The upsampling is the official `upsample2d`
/// (zero insertion, zero padding 6/5, convolution with the filter, gain 2 per axis), i.e.
/// `out[2m] = 2 sum_a xp[m+a-3] f[11-2a]` and `out[2m+1] = 2 sum_a xp[m+a-2] f[10-2a]`
/// (a = 0..6, `xp` the padded signal, zero outside it).
pub(crate) fn upsample_matrix(len: usize, p0: usize, p1: usize) -> Vec<f32> {
    let lp = len + p0 + p1;
    let f = sym6_unit();
    let mut m = vec![0f64; 2 * lp * len];
    for k in 0..2 * lp {
        let half = (k / 2) as isize;
        for a in 0..6isize {
            let (j, tap) = if k % 2 == 0 {
                (half + a - 3, f[11 - 2 * a as usize])
            } else {
                (half + a - 2, f[10 - 2 * a as usize])
            };
            if j < 0 || j >= lp as isize {
                continue;
            }
            if let Some(src) = reflect(j - p0 as isize, len) {
                m[k * len + src] += 2.0 * tap;
            }
        }
    }
    m.into_iter().map(|v| v as f32).collect()
}

/// One axis of the official final low-pass and decimation (`upfirdn2d(x, sym6, down=2,
/// padding=-1, flip_filter=True)`): `out[j] = sum_t x[2j+1+t] f[t]`, as a dense
/// `[out_len, 2 out_len + 12]` row-major matrix.
pub(crate) fn downsample_matrix(out_len: usize) -> Vec<f32> {
    let len = 2 * out_len + 2 * 2 * HZ_PAD;
    let f = sym6_unit();
    let mut m = vec![0f32; out_len * len];
    for j in 0..out_len {
        for (t, &v) in f.iter().enumerate() {
            m[j * len + 2 * j + 1 + t] = v as f32;
        }
    }
    m
}

/// Separable linear map of a stack of planes: `x [b, hi, wi] -> mh [ho, hi] . x . mw_t [wi, wo]`.
pub(crate) fn separable<B: Backend>(
    x: Tensor<B, 3>,
    mh: Tensor<B, 2>,
    mw_t: Tensor<B, 2>,
) -> Tensor<B, 3> {
    let [b, hi, wi] = x.dims();
    let [ho, _] = mh.dims();
    let [_, wo] = mw_t.dims();
    let y = x.reshape([b * hi, wi]).matmul(mw_t).reshape([b, hi, wo]);
    let y = mh.unsqueeze::<3>().matmul(y);
    debug_assert_eq!(y.dims(), [b, ho, wo]);
    y
}

fn matrix<B: Backend>(
    v: Vec<f32>,
    rows: usize,
    cols: usize,
    device: &B::Device,
    dtype: burn::tensor::DType,
) -> Tensor<B, 2> {
    Tensor::from_data(TensorData::new(v, [rows, cols]), (device, dtype))
}

/// Transposes a row-major `[rows, cols]` matrix.
fn transpose(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0f32; v.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = v[r * cols + c];
        }
    }
    t
}

/// Mirror index (edge pixel not repeated, as `reflect` padding) for offsets within one image
/// length outside `[0, n)`; `None` further out.
fn reflect(k: isize, n: usize) -> Option<usize> {
    let n = n as isize;
    let r = if k < 0 {
        -k
    } else if k >= n {
        2 * (n - 1) - k
    } else {
        k
    };
    (0..n).contains(&r).then_some(r as usize)
}

fn int_tensor<B: Backend>(v: Vec<i64>, device: &B::Device) -> Tensor<B, 1, Int> {
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), device)
}

/// Source pixel (flat `y * w + x`) of every output pixel when `g` is an exact pixel blit.
fn blit_map(g: &Mat3, w: usize, h: usize) -> Option<Vec<usize>> {
    let near_int = |v: f64| (v - v.round()).abs() < 1e-6;
    if !g[0][..2].iter().chain(&g[1][..2]).all(|&v| near_int(v)) {
        return None;
    }
    let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
    let mut out = Vec::with_capacity(w * h);
    for ky in 0..h {
        let yo = ky as f64 - cy;
        for kx in 0..w {
            let xo = kx as f64 - cx;
            let xi = g[0][0] * xo + g[0][1] * yo + g[0][2] + cx;
            let yi = g[1][0] * xo + g[1][1] * yo + g[1][2] + cy;
            if !near_int(xi) || !near_int(yi) {
                return None;
            }
            let sx = reflect(xi.round() as isize, w)?;
            let sy = reflect(yi.round() as isize, h)?;
            out.push(sy * w + sx);
        }
    }
    Some(out)
}

/// Applies one inverse transform per sample: `g_inv[n]` maps an output pixel to the input pixel
/// it reads, both in pixel units relative to the image centre (x right, y down). Samples whose
/// transform is a whole-pixel permutation are gathered exactly; the others are resampled.
/// Images are mirrored at the borders.
///
/// # Panics
/// If `g_inv.len()` differs from the batch size.
pub fn warp<B: Backend>(images: Tensor<B, 4>, g_inv: &[Mat3]) -> Tensor<B, 4> {
    warp_impl(images, g_inv, true)
}

pub(crate) fn warp_impl<B: Backend>(
    images: Tensor<B, 4>,
    g_inv: &[Mat3],
    allow_blit: bool,
) -> Tensor<B, 4> {
    let [n, c, h, w] = images.dims();
    assert_eq!(g_inv.len(), n, "one transform per sample");
    if n == 0 || c == 0 || h == 0 || w == 0 || g_inv.iter().all(|g| *g == I3) {
        return images;
    }
    if !allow_blit {
        return resample(images, g_inv);
    }
    // Route each sample: exact blit where possible, resampling for the rest.
    let mut blits: Vec<(usize, Vec<usize>)> = vec![];
    let mut general: Vec<usize> = vec![];
    for (i, g) in g_inv.iter().enumerate() {
        match blit_map(g, w, h) {
            Some(m) => blits.push((i, m)),
            None => general.push(i),
        }
    }
    if general.is_empty() {
        return blit(images, &blits);
    }
    if blits.is_empty() {
        return resample(images, g_inv);
    }
    let device = images.device();
    let gsel: Vec<i64> = general.iter().map(|&i| i as i64).collect();
    let gmats: Vec<Mat3> = general.iter().map(|&i| g_inv[i]).collect();
    let resampled = resample(
        images.clone().select(0, int_tensor::<B>(gsel, &device)),
        &gmats,
    );
    let blitted = blit(images, &blits);
    // Concatenated order: blits then general; put every sample back in place.
    let mut pos = vec![0i64; n];
    for (k, &(i, _)) in blits.iter().enumerate() {
        pos[i] = k as i64;
    }
    for (k, &i) in general.iter().enumerate() {
        pos[i] = (blits.len() + k) as i64;
    }
    Tensor::cat(vec![blitted, resampled], 0).select(0, int_tensor::<B>(pos, &device))
}

/// Exact per-sample pixel permutation (with mirrored borders) by one `select`: output sample
/// `k` is `maps[k].1` applied to input sample `maps[k].0`.
fn blit<B: Backend>(images: Tensor<B, 4>, maps: &[(usize, Vec<usize>)]) -> Tensor<B, 4> {
    let [n, c, h, w] = images.dims();
    let device = images.device();
    let hw = h * w;
    let idx: Vec<i64> = maps
        .iter()
        .flat_map(|(s, m)| m.iter().map(move |&i| (s * hw + i) as i64))
        .collect();
    let x: Tensor<B, 2> = images.swap_dims(0, 1).reshape([c, n * hw]);
    let y = x.select(1, int_tensor::<B>(idx, &device));
    y.reshape([c, maps.len(), h, w]).swap_dims(0, 1)
}

/// The official resampling scheme (see the module docs).
fn resample<B: Backend>(images: Tensor<B, 4>, g_inv: &[Mat3]) -> Tensor<B, 4> {
    let [n, c, h, w] = images.dims();
    let device = images.device();
    let dtype = images.dtype();
    let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);

    // Batch-wide margin: how far the transformed image corners reach, plus the filter support.
    let mut m = [f64::NEG_INFINITY; 4]; // x0, y0, x1, y1
    for g in g_inv {
        for (px, py) in [(-cx, -cy), (cx, -cy), (cx, cy), (-cx, cy)] {
            let x = g[0][0] * px + g[0][1] * py + g[0][2];
            let y = g[1][0] * px + g[1][1] * py + g[1][2];
            m = [m[0].max(-x), m[1].max(-y), m[2].max(x), m[3].max(y)];
        }
    }
    let pad = 2.0 * HZ_PAD as f64;
    let fit = |v: f64, centre: f64, len: usize| -> usize {
        // Tiny slack so that 6e-17 residues of cos(pi/2) do not add a whole pixel.
        let v = (v + pad - centre - 1e-9).clamp(0.0, (len - 1) as f64);
        v.ceil() as usize
    };
    let (mx0, my0) = (fit(m[0], cx, w), fit(m[1], cy, h));
    let (mx1, my1) = (fit(m[2], cx, w), fit(m[3], cy, h));

    // Work channel-major ([c, n, ...]) so that the big intermediate planes never need a
    // transposing copy: only the small input and output are swapped.
    // Mirror padding and 2x supersampling with the wavelet low-pass, folded into one small
    // matrix per axis: [c n, h, w] -> [c n, 2 hp, 2 wp].
    let (wp, hp) = (w + mx0 + mx1, h + my0 + my1);
    let (wi, hi) = (2 * wp, 2 * hp);
    let mh = matrix::<B>(upsample_matrix(h, my0, my1), hi, h, &device, dtype);
    let mw_t = matrix::<B>(
        transpose(&upsample_matrix(w, mx0, mx1), wi, w),
        w,
        wi,
        &device,
        dtype,
    );
    let x = separable(images.swap_dims(0, 1).reshape([c * n, h, w]), mh, mw_t);
    let flat: Tensor<B, 2> = x.reshape([c, n * hi * wi]);

    // Bilinear sampling grid (2x the size of the image plus its filter border): for each
    // corner q, a flat source index and a weight per output position (sample-major).
    let (sw, sh) = (2 * (w + 2 * HZ_PAD), 2 * (h + 2 * HZ_PAD));
    let so = sw * sh;
    let total = n * so;
    let mut idx = vec![vec![0i64; total]; 4];
    let mut wgt = vec![vec![0f32; total]; 4];
    let (ocx, ocy) = ((sw as f64 - 1.0) / 2.0, (sh as f64 - 1.0) / 2.0);
    let (icx, icy) = ((wi as f64 - 1.0) / 2.0, (hi as f64 - 1.0) / 2.0);
    let (wi_i, hi_i) = (wi as i64, hi as i64);
    for (s, g) in g_inv.iter().enumerate() {
        // Move the transform into the padded, upsampled frame, exactly as the official code
        // (including its half-pixel shift of the centre that matches the filter's delay).
        let g = mul3(
            &translate2(
                (mx0 as f64 - mx1 as f64) / 2.0,
                (my0 as f64 - my1 as f64) / 2.0,
            ),
            g,
        );
        let g = mul3(&mul3(&scale2(2.0, 2.0), &g), &scale2(0.5, 0.5));
        let g = mul3(&mul3(&translate2(-0.5, -0.5), &g), &translate2(0.5, 0.5));
        let plane = (s * hi * wi) as i64;
        for ky in 0..sh {
            let yo = ky as f64 - ocy;
            let (bx, by) = (g[0][1] * yo + g[0][2] + icx, g[1][1] * yo + g[1][2] + icy);
            for kx in 0..sw {
                let xo = kx as f64 - ocx;
                let (xi, yi) = (g[0][0] * xo + bx, g[1][0] * xo + by);
                let (x0, y0) = (xi.floor(), yi.floor());
                let (fx, fy) = (xi - x0, yi - y0);
                let (x0, y0) = (x0 as i64, y0 as i64);
                let o = s * so + ky * sw + kx;
                let corners = [
                    (x0, y0, (1.0 - fx) * (1.0 - fy)),
                    (x0 + 1, y0, fx * (1.0 - fy)),
                    (x0, y0 + 1, (1.0 - fx) * fy),
                    (x0 + 1, y0 + 1, fx * fy),
                ];
                for (q, &(px, py, wq)) in corners.iter().enumerate() {
                    // Outside the padded image the official sampler reads zeros.
                    if px >= 0 && py >= 0 && px < wi_i && py < hi_i && wq != 0.0 {
                        idx[q][o] = plane + py * wi_i + px;
                        wgt[q][o] = wq as f32;
                    }
                }
            }
        }
    }
    let mut y: Option<Tensor<B, 2>> = None;
    for (iq, wq) in idx.into_iter().zip(wgt) {
        let wq: Tensor<B, 2> = Tensor::from_data(TensorData::new(wq, [1, total]), (&device, dtype));
        let term = flat.clone().select(1, int_tensor::<B>(iq, &device)) * wq;
        y = Some(match y {
            Some(acc) => acc + term,
            None => term,
        });
    }
    let y = y.unwrap_or_else(|| Tensor::zeros([c, total], (&device, dtype)));

    // Low-pass and decimate back to the input size (the border crop is the -1 padding).
    let dh = matrix::<B>(downsample_matrix(h), h, sh, &device, dtype);
    let dw_t = matrix::<B>(
        transpose(&downsample_matrix(w), w, sw),
        sw,
        w,
        &device,
        dtype,
    );
    separable(y.reshape([c * n, sh, sw]), dh, dw_t)
        .reshape([c, n, h, w])
        .swap_dims(0, 1)
}
