//! Geometry as the official dataset_tool: center-crop, center-crop-wide, pad (letterbox), stretch; plus patches.

use bestiary_canvas::{Image, Rgba};
use bestiary_rng::{SplitMix64, GOLDEN_GAMMA};

/// How a source image becomes a `resolution` x `resolution` square.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Transform {
    /// Crop the central square of side min(w, h), then resize (official `center-crop`).
    #[default]
    CenterCrop,
    /// Crop the central 2:1 window, resize it to N x N/2 and letterbox it into the square with
    /// background bars above and below (official `center-crop-wide`).
    CenterCropWide,
    /// Fit the whole image inside the square (aspect kept) and fill the rest with the background.
    Pad,
    /// Resize to the square, ignoring the aspect ratio.
    Stretch,
}

impl Transform {
    pub const NAMES: &'static [&'static str] =
        &["center-crop", "center-crop-wide", "pad", "stretch"];

    pub fn name(self) -> &'static str {
        match self {
            Transform::CenterCrop => "center-crop",
            Transform::CenterCropWide => "center-crop-wide",
            Transform::Pad => "pad",
            Transform::Stretch => "stretch",
        }
    }
}

impl std::str::FromStr for Transform {
    type Err = crate::DatasetError;
    fn from_str(s: &str) -> crate::Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "center-crop" | "centre-crop" | "crop" => Transform::CenterCrop,
            "center-crop-wide" | "centre-crop-wide" | "wide" => Transform::CenterCropWide,
            "pad" | "letterbox" | "fit" => Transform::Pad,
            "stretch" => Transform::Stretch,
            _ => {
                return Err(crate::DatasetError::invalid(format!(
                    "unknown transform '{s}' (known: {})",
                    Transform::NAMES.join(", ")
                )))
            }
        })
    }
}

/// The `w` x `h` window with top-left corner (x, y); the caller keeps it inside the image.
pub(crate) fn crop(img: &Image, x: u32, y: u32, w: u32, h: u32) -> Image {
    debug_assert!(x + w <= img.width() && y + h <= img.height());
    if (x, y, w, h) == (0, 0, img.width(), img.height()) {
        return img.clone();
    }
    let stride = img.width() as usize * 4;
    let raw = img.as_raw();
    let mut data = Vec::with_capacity(w as usize * h as usize * 4);
    for row in y..y + h {
        let start = row as usize * stride + x as usize * 4;
        data.extend_from_slice(&raw[start..start + w as usize * 4]);
    }
    Image::from_raw(w, h, data).expect("crop keeps w*h*4 bytes")
}

/// Lanczos-3 weights for resampling `in_size` samples to `out_size`, as PIL's `ImagingResample`:
/// for each output sample, the first input index and normalized weights (support widened when shrinking).
/// `extent` is the logical input size in samples (fractional after a box reduction with a partial last block).
fn lanczos_weights(in_size: u32, extent: f64, out_size: u32) -> Vec<(usize, Vec<f32>)> {
    fn sinc(x: f64) -> f64 {
        if x == 0.0 {
            1.0
        } else {
            let px = x * std::f64::consts::PI;
            px.sin() / px
        }
    }
    let lanczos = |x: f64| {
        if (-3.0..3.0).contains(&x) {
            sinc(x) * sinc(x / 3.0)
        } else {
            0.0
        }
    };
    let scale = extent / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = 3.0 * filterscale;
    (0..out_size)
        .map(|o| {
            let center = (o as f64 + 0.5) * scale;
            let lo = ((center - support + 0.5).floor() as i64).max(0) as usize;
            let hi = ((center + support + 0.5).floor() as i64)
                .min(in_size as i64)
                .max(lo as i64 + 1) as usize;
            let mut w: Vec<f64> = (lo..hi)
                .map(|i| lanczos((i as f64 - center + 0.5) / filterscale))
                .collect();
            let sum: f64 = w.iter().sum();
            if sum != 0.0 {
                w.iter_mut().for_each(|v| *v /= sum);
            }
            (
                lo.min(in_size as usize - 1),
                w.into_iter().map(|v| v as f32).collect(),
            )
        })
        .collect()
}

/// Box-averages `fx` x `fy` blocks (the last row/column of blocks may be partial), as PIL's `reduce`.
fn box_reduce(img: &Image, fx: u32, fy: u32) -> Image {
    let (iw, ih) = (img.width(), img.height());
    let (ow, oh) = (iw.div_ceil(fx), ih.div_ceil(fy));
    let src = img.as_raw();
    let mut data = vec![255u8; ow as usize * oh as usize * 4];
    let mut acc = vec![0u32; ow as usize * 3];
    let mut cnt = vec![0u32; ow as usize];
    for oy in 0..oh {
        acc.iter_mut().for_each(|v| *v = 0);
        cnt.iter_mut().for_each(|v| *v = 0);
        for y in oy * fy..((oy + 1) * fy).min(ih) {
            let row = &src[y as usize * iw as usize * 4..(y as usize + 1) * iw as usize * 4];
            for (x, p) in row.chunks_exact(4).enumerate() {
                let o = x / fx as usize;
                acc[o * 3] += p[0] as u32;
                acc[o * 3 + 1] += p[1] as u32;
                acc[o * 3 + 2] += p[2] as u32;
                cnt[o] += 1;
            }
        }
        for ox in 0..ow as usize {
            let d = &mut data[(oy as usize * ow as usize + ox) * 4..][..3];
            let n = cnt[ox];
            for c in 0..3 {
                d[c] = ((acc[ox * 3 + c] + n / 2) / n) as u8;
            }
        }
    }
    Image::from_raw(ow, oh, data).expect("ow*oh*4 bytes")
}

/// Lanczos-3 resize of an opaque image (separable, f32, clamped and rounded once at the end), the filter of
/// PIL's `LANCZOS`. Large reductions first box-average by an integer factor while keeping at least 2x the
/// target size (PIL's `reducing_gap=2`): visually the same, many times faster.
pub(crate) fn resample(img: &Image, w: u32, h: u32) -> Image {
    let (iw, ih) = (img.width(), img.height());
    if (iw, ih) == (w, h) {
        return img.clone();
    }
    let (fx, fy) = ((iw / (2 * w)).max(1), (ih / (2 * h)).max(1));
    if fx > 1 || fy > 1 {
        let small = box_reduce(img, fx, fy);
        return lanczos(&small, iw as f64 / fx as f64, ih as f64 / fy as f64, w, h);
    }
    lanczos(img, iw as f64, ih as f64, w, h)
}

fn lanczos(img: &Image, extent_x: f64, extent_y: f64, w: u32, h: u32) -> Image {
    let (iw, ih) = (img.width(), img.height());
    let src = img.as_raw();
    let wx = lanczos_weights(iw, extent_x, w);
    let wy = lanczos_weights(ih, extent_y, h);
    // Horizontal pass: ih rows x w columns x 3 channels.
    let mut mid = vec![0f32; ih as usize * w as usize * 3];
    for y in 0..ih as usize {
        let row = &src[y * iw as usize * 4..(y + 1) * iw as usize * 4];
        let out = &mut mid[y * w as usize * 3..(y + 1) * w as usize * 3];
        for (x, (lo, ks)) in wx.iter().enumerate() {
            let (mut r, mut g, mut b) = (0f32, 0f32, 0f32);
            for (p, &c) in row[lo * 4..(lo + ks.len()) * 4].chunks_exact(4).zip(ks) {
                r += c * p[0] as f32;
                g += c * p[1] as f32;
                b += c * p[2] as f32;
            }
            out[x * 3..x * 3 + 3].copy_from_slice(&[r, g, b]);
        }
    }
    // Vertical pass.
    let stride = w as usize * 3;
    let mut data = vec![255u8; w as usize * h as usize * 4];
    let q = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    for (y, (lo, ks)) in wy.iter().enumerate() {
        let mut acc = vec![0f32; stride];
        for (k, &c) in ks.iter().enumerate() {
            let r = &mid[(lo + k) * stride..(lo + k + 1) * stride];
            acc.iter_mut().zip(r).for_each(|(a, &v)| *a += c * v);
        }
        for x in 0..w as usize {
            let d = &mut data[(y * w as usize + x) * 4..(y * w as usize + x) * 4 + 3];
            d[0] = q(acc[x * 3]);
            d[1] = q(acc[x * 3 + 1]);
            d[2] = q(acc[x * 3 + 2]);
        }
    }
    Image::from_raw(w, h, data).expect("w*h*4 bytes")
}

/// Source-over onto an opaque background, with fast paths for opaque and fully transparent pixels.
pub(crate) fn flatten(img: &Image, background: Rgba) -> Image {
    let bg = background.with_alpha(1.0).to_u8();
    let mut data = img.as_raw().to_vec();
    for p in data.chunks_exact_mut(4) {
        match p[3] {
            255 => {}
            0 => p.copy_from_slice(&bg),
            a => {
                let sa = a as f32 / 255.0;
                for c in 0..3 {
                    p[c] = (p[c] as f32 * sa + bg[c] as f32 * (1.0 - sa))
                        .round()
                        .clamp(0.0, 255.0) as u8;
                }
                p[3] = 255;
            }
        }
    }
    Image::from_raw(img.width(), img.height(), data).expect("same size")
}

/// Composites onto the opaque background (skipped when already opaque), then resizes.
fn flat_resized(img: &Image, w: u32, h: u32, background: Rgba) -> Image {
    let opaque = img.as_raw().chunks_exact(4).all(|p| p[3] == 255);
    if opaque {
        resample(img, w, h)
    } else {
        resample(&flatten(img, background), w, h)
    }
}

/// `img` composited source-over at (x, y) onto an opaque `n` x `n` background.
fn onto_background(img: &Image, n: u32, x: i64, y: i64, background: Rgba) -> Image {
    let mut canvas = Image::filled(n, n, background.with_alpha(1.0));
    canvas.draw_image(img, x, y);
    canvas
}

/// Applies `t`, giving an opaque `n` x `n` image; transparent pixels are composited onto `background`.
pub fn apply_transform(img: &Image, t: Transform, n: u32, background: Rgba) -> Image {
    let (w, h) = (img.width(), img.height());
    match t {
        Transform::CenterCrop => {
            let s = w.min(h);
            let sq = crop(img, (w - s) / 2, (h - s) / 2, s, s);
            flat_resized(&sq, n, n, background)
        }
        Transform::CenterCropWide => {
            // The largest central window of aspect 2:1.
            let (cw, ch) = if w >= 2 * h {
                (2 * h, h)
            } else {
                (w, (w / 2).max(1))
            };
            let win = crop(img, (w - cw) / 2, (h - ch) / 2, cw, ch);
            let bh = (n / 2).max(1);
            onto_background(
                &flat_resized(&win, n, bh, background),
                n,
                0,
                ((n - bh) / 2) as i64,
                background,
            )
        }
        Transform::Pad => {
            let m = w.max(h) as u64;
            let fit =
                |v: u32| (((v as u64 * n as u64) as f64 / m as f64).round() as u32).clamp(1, n);
            let (fw, fh) = (fit(w), fit(h));
            let small = flat_resized(img, fw, fh, background);
            onto_background(
                &small,
                n,
                ((n - fw) / 2) as i64,
                ((n - fh) / 2) as i64,
                background,
            )
        }
        Transform::Stretch => flat_resized(img, n, n, background),
    }
}

/// The shared SplitMix64 stream, for patch positions only.
pub(crate) struct SplitMix(SplitMix64);

impl SplitMix {
    /// A stream for item `index` under `seed`, independent of processing order.
    pub fn for_item(seed: u64, index: u64) -> Self {
        let a = SplitMix64::from_state(seed ^ 0x05EE_DDA7_A5E7_0000).next_u64();
        SplitMix(SplitMix64::from_state(a ^ index.wrapping_mul(GOLDEN_GAMMA)))
    }
    /// Uniform in 0..bound (bound >= 1); the modulo bias is negligible for image sizes.
    pub fn below(&mut self, bound: u32) -> u32 {
        (self.0.next_u64() % bound as u64) as u32
    }
}

/// `count` random square crops of side `side` (default min(w, h) / 2, capped at min(w, h)), each resized
/// to `n` x `n` and composited onto `background`. Deterministic in (seed, index).
pub(crate) fn patches(
    img: &Image,
    count: u32,
    side: Option<u32>,
    n: u32,
    background: Rgba,
    seed: u64,
    index: u64,
) -> Vec<Image> {
    let (w, h) = (img.width(), img.height());
    let short = w.min(h);
    let s = side.unwrap_or(short / 2).clamp(1, short);
    let mut rng = SplitMix::for_item(seed, index);
    (0..count)
        .map(|_| {
            let x = rng.below(w - s + 1);
            let y = rng.below(h - s + 1);
            let p = crop(img, x, y, s, s);
            flat_resized(&p, n, n, background)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 40x20: left half red, right half blue, opaque.
    fn halves() -> Image {
        let mut img = Image::new(40, 20);
        for y in 0..20 {
            for x in 0..40 {
                img.put(
                    x,
                    y,
                    if x < 20 {
                        [255, 0, 0, 255]
                    } else {
                        [0, 0, 255, 255]
                    },
                );
            }
        }
        img
    }

    #[test]
    fn resample_keeps_flat_colour_and_matches_a_reference_lanczos() {
        let flat = Image::filled(37, 23, Rgba::from_u8([12, 130, 250, 255]));
        let r = resample(&flat, 8, 16);
        assert!(r.as_raw().chunks(4).all(|p| p == [12, 130, 250, 255]));
        // A smooth gradient: within a couple of levels of the image crate's Lanczos3.
        let mut g = Image::new(64, 48);
        for y in 0..48 {
            for x in 0..64 {
                g.put(
                    x,
                    y,
                    [(x * 4) as u8, (y * 5) as u8, ((x + y) * 2) as u8, 255],
                );
            }
        }
        for (w, h) in [(16, 16), (8, 32), (100, 70), (5, 4), (7, 3), (3, 13)] {
            let a = resample(&g, w, h);
            let b = g.resized(w, h);
            let worst = a
                .as_raw()
                .iter()
                .zip(b.as_raw())
                .map(|(p, q)| p.abs_diff(*q))
                .max()
                .unwrap();
            eprintln!("{w}x{h}: {worst}");
            assert!(worst <= 3, "{w}x{h}: differs by {worst}");
        }
    }

    #[test]
    fn names_parse() {
        for n in Transform::NAMES {
            assert_eq!(n.parse::<Transform>().unwrap().name(), *n);
        }
        let e = "zoom".parse::<Transform>().unwrap_err().to_string();
        assert!(
            e.contains("unknown transform 'zoom'") && e.contains("center-crop-wide"),
            "{e}"
        );
    }

    #[test]
    fn crop_takes_the_window() {
        let img = halves();
        let c = crop(&img, 18, 5, 4, 3);
        assert_eq!((c.width(), c.height()), (4, 3));
        assert_eq!(c.get(0, 0), [255, 0, 0, 255]);
        assert_eq!(c.get(1, 2), [255, 0, 0, 255]);
        assert_eq!(c.get(2, 0), [0, 0, 255, 255]);
    }

    #[test]
    fn patches_are_deterministic_and_square() {
        let img = halves();
        let a = patches(&img, 5, None, 8, Rgba::WHITE, 3, 7);
        let b = patches(&img, 5, None, 8, Rgba::WHITE, 3, 7);
        let c = patches(&img, 5, None, 8, Rgba::WHITE, 4, 7);
        assert_eq!(a.len(), 5);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().all(|p| p.width() == 8 && p.height() == 8));
        // A side larger than the image is capped.
        assert_eq!(patches(&img, 1, Some(500), 4, Rgba::WHITE, 0, 0).len(), 1);
    }
}
