//! Sliced Wasserstein distance between two image sets, as in ProGAN (Karras et al. 2018): Laplacian pyramid
//! levels from the full resolution down to 16 px, random 7x7 neighbourhoods per image and level, descriptors
//! normalized per channel, then the 1-D Wasserstein distance along random unit directions. Reported x1e3.

use crate::metrics::Rng;
use crate::{JudgeError, Result, RgbImage};

#[derive(Clone, Copy, Debug)]
pub struct SwdOptions {
    pub nhood_size: usize,
    pub nhoods_per_image: usize,
    pub dir_repeats: usize,
    pub dirs_per_repeat: usize,
    pub seed: u64,
}

impl Default for SwdOptions {
    fn default() -> Self {
        SwdOptions {
            nhood_size: 7,
            nhoods_per_image: 128,
            dir_repeats: 4,
            dirs_per_repeat: 128,
            seed: 123,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SwdResult {
    /// Pyramid level resolutions, finest first.
    pub resolutions: Vec<usize>,
    /// Distance per level (x1e3), finest first.
    pub per_level: Vec<f64>,
    /// Mean of `per_level`.
    pub average: f64,
}

/// A planar float image (3 channels).
#[derive(Clone)]
struct Planes {
    w: usize,
    h: usize,
    data: Vec<f32>, // c * h * w
}

const G5: [f64; 5] = [1.0 / 16.0, 4.0 / 16.0, 6.0 / 16.0, 4.0 / 16.0, 1.0 / 16.0];

/// Mirror index without repeating the edge (scipy.ndimage mode 'mirror').
fn mirror(i: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let p = 2 * (n as isize - 1);
    let mut i = i.rem_euclid(p);
    if i >= n as isize {
        i = p - i;
    }
    i as usize
}

/// 5x5 binomial blur (separable), `gain` times, mirror edges.
fn blur(p: &Planes, gain: f64) -> Planes {
    let (w, h) = (p.w, p.h);
    let mut tmp = vec![0f32; p.data.len()];
    let mut out = vec![0f32; p.data.len()];
    for c in 0..3 {
        let src = &p.data[c * w * h..(c + 1) * w * h];
        let t = &mut tmp[c * w * h..(c + 1) * w * h];
        for y in 0..h {
            for x in 0..w {
                let s: f64 = (0..5)
                    .map(|k| G5[k] * src[y * w + mirror(x as isize + k as isize - 2, w)] as f64)
                    .sum();
                t[y * w + x] = s as f32;
            }
        }
        let o = &mut out[c * w * h..(c + 1) * w * h];
        for y in 0..h {
            for x in 0..w {
                let s: f64 = (0..5)
                    .map(|k| G5[k] * t[mirror(y as isize + k as isize - 2, h) * w + x] as f64)
                    .sum();
                o[y * w + x] = (s * gain) as f32;
            }
        }
    }
    Planes { w, h, data: out }
}

fn pyr_down(p: &Planes) -> Planes {
    let b = blur(p, 1.0);
    let (w2, h2) = (p.w.div_ceil(2), p.h.div_ceil(2));
    let mut data = vec![0f32; 3 * w2 * h2];
    for c in 0..3 {
        for y in 0..h2 {
            for x in 0..w2 {
                data[(c * h2 + y) * w2 + x] = b.data[(c * p.h + 2 * y) * p.w + 2 * x];
            }
        }
    }
    Planes { w: w2, h: h2, data }
}

fn pyr_up(p: &Planes, w: usize, h: usize) -> Planes {
    let mut z = Planes {
        w,
        h,
        data: vec![0f32; 3 * w * h],
    };
    for c in 0..3 {
        for y in 0..p.h.min(h.div_ceil(2)) {
            for x in 0..p.w.min(w.div_ceil(2)) {
                z.data[(c * h + 2 * y) * w + 2 * x] = p.data[(c * p.h + y) * p.w + x];
            }
        }
    }
    blur(&z, 4.0)
}

fn laplacian_pyramid(img: &RgbImage, levels: usize) -> Vec<Planes> {
    let (w, h) = (img.width, img.height);
    let mut data = vec![0f32; 3 * w * h];
    for (i, px) in img.data.chunks(3).enumerate() {
        for c in 0..3 {
            data[c * w * h + i] = px[c] as f32;
        }
    }
    let mut pyr = vec![Planes { w, h, data }];
    for _ in 1..levels {
        let down = pyr_down(pyr.last().unwrap());
        let last = pyr.last_mut().unwrap();
        let up = pyr_up(&down, last.w, last.h);
        for (a, b) in last.data.iter_mut().zip(&up.data) {
            *a -= b;
        }
        pyr.push(down);
    }
    pyr
}

/// Per-level descriptors of one set: rows of 3 * k * k values.
fn descriptors(
    images: &[RgbImage],
    levels: usize,
    o: &SwdOptions,
    rng: &mut Rng,
) -> Vec<Vec<Vec<f32>>> {
    let k = o.nhood_size;
    let mut out: Vec<Vec<Vec<f32>>> = vec![Vec::new(); levels];
    for img in images {
        let pyr = laplacian_pyramid(img, levels);
        for (l, p) in pyr.iter().enumerate() {
            for _ in 0..o.nhoods_per_image {
                let x0 = rng.below(p.w - k + 1);
                let y0 = rng.below(p.h - k + 1);
                let mut d = Vec::with_capacity(3 * k * k);
                for c in 0..3 {
                    for y in 0..k {
                        for x in 0..k {
                            d.push(p.data[(c * p.h + y0 + y) * p.w + x0 + x]);
                        }
                    }
                }
                out[l].push(d);
            }
        }
    }
    out
}

/// Subtracts the per-channel mean and divides by the per-channel standard deviation (over all descriptors
/// and positions).
fn normalize(desc: &mut [Vec<f32>], k2: usize) {
    for c in 0..3 {
        let vals = || {
            desc.iter()
                .flat_map(|d| d[c * k2..(c + 1) * k2].iter().map(|&v| v as f64))
        };
        let n = (desc.len() * k2) as f64;
        let mean = vals().sum::<f64>() / n;
        let var = vals().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let sd = var.sqrt().max(1e-12);
        for d in desc.iter_mut() {
            for v in &mut d[c * k2..(c + 1) * k2] {
                *v = ((*v as f64 - mean) / sd) as f32;
            }
        }
    }
}

/// 1-D Wasserstein-1 between two equal-size samples, averaged over random directions.
fn sliced_wasserstein(a: &[Vec<f32>], b: &[Vec<f32>], o: &SwdOptions, rng: &mut Rng) -> f64 {
    let dim = a[0].len();
    let mut results = Vec::new();
    for _ in 0..o.dir_repeats {
        let mut total = 0.0;
        for _ in 0..o.dirs_per_repeat {
            let mut dir: Vec<f64> = (0..dim).map(|_| rng.normal()).collect();
            let norm = dir.iter().map(|x| x * x).sum::<f64>().sqrt();
            dir.iter_mut().for_each(|x| *x /= norm);
            let proj = |s: &[Vec<f32>]| {
                let mut p: Vec<f64> = s
                    .iter()
                    .map(|d| d.iter().zip(&dir).map(|(&x, y)| x as f64 * y).sum::<f64>())
                    .collect();
                p.sort_by(|x, y| x.total_cmp(y));
                p
            };
            let (pa, pb) = (proj(a), proj(b));
            total += pa.iter().zip(&pb).map(|(x, y)| (x - y).abs()).sum::<f64>() / pa.len() as f64;
        }
        results.push(total / o.dirs_per_repeat as f64);
    }
    results.iter().sum::<f64>() / results.len() as f64
}

/// SWD between two image sets of one size (at least 16 px a side). When the sets differ in size, the larger
/// set's descriptors are subsampled to the smaller count.
pub fn swd(a: &[RgbImage], b: &[RgbImage], opts: &SwdOptions) -> Result<SwdResult> {
    if a.is_empty() || b.is_empty() {
        return Err(JudgeError::Input(
            "swd needs at least one image in each set".into(),
        ));
    }
    let (w, h) = (a[0].width, a[0].height);
    if a.iter()
        .chain(b)
        .any(|i| i.width != w || i.height != h || i.data.len() != w * h * 3)
    {
        return Err(JudgeError::Input(
            "swd needs images of one size in both sets".into(),
        ));
    }
    if w.min(h) < 16 || opts.nhood_size > 16 {
        return Err(JudgeError::Input(format!(
            "swd needs images of at least 16x16 (got {w}x{h})"
        )));
    }
    let mut resolutions = Vec::new();
    let mut r = w.min(h);
    while r >= 16 {
        resolutions.push(r);
        r /= 2;
    }
    let levels = resolutions.len();
    // Both sets draw neighbourhood positions from the same stream, so identical sets give identical
    // descriptors (distance exactly 0); directions come from a separate stream.
    let mut da = descriptors(a, levels, opts, &mut Rng::new(opts.seed));
    let mut db = descriptors(b, levels, opts, &mut Rng::new(opts.seed));
    let mut rng = Rng::new(opts.seed.wrapping_add(1));
    let k2 = opts.nhood_size * opts.nhood_size;
    let mut per_level = Vec::with_capacity(levels);
    for l in 0..levels {
        let n = da[l].len().min(db[l].len());
        for d in [&mut da[l], &mut db[l]] {
            if d.len() > n {
                let keep = rng.choose(d.len(), n);
                *d = keep
                    .into_iter()
                    .map(|i| std::mem::take(&mut d[i]))
                    .collect();
            }
            normalize(d, k2);
        }
        per_level.push(sliced_wasserstein(&da[l], &db[l], opts, &mut rng) * 1e3);
    }
    let average = per_level.iter().sum::<f64>() / levels as f64;
    Ok(SwdResult {
        resolutions,
        per_level,
        average,
    })
}
