//! Pixels as planar RGB `f32` in `[0, 1]`, resampling, and colour histogram matching.
#![allow(clippy::needless_range_loop)] // 3x3 colour matrices read best with explicit indices.

use bestiary_canvas::{Image, Rgba};

/// Planar RGB (`[3, h, w]`, row-major) in `[0, 1]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Planar {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Planar {
    /// RGB of an image; transparent pixels are composited over mid-grey first.
    pub fn from_image(img: &Image) -> Planar {
        let img = img.flatten(Rgba::from_u8([128, 128, 128, 255]));
        let (w, h) = (img.width() as usize, img.height() as usize);
        let mut data = vec![0.0; 3 * w * h];
        for (i, px) in img.as_raw().chunks_exact(4).enumerate() {
            for c in 0..3 {
                data[c * w * h + i] = px[c] as f32 / 255.0;
            }
        }
        Planar {
            width: w,
            height: h,
            data,
        }
    }

    /// An opaque image (values clamped to `[0, 1]` and rounded).
    pub fn to_image(&self) -> Image {
        let n = self.width * self.height;
        let mut raw = vec![255u8; 4 * n];
        for i in 0..n {
            for c in 0..3 {
                raw[4 * i + c] = (self.data[c * n + i].clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
        Image::from_raw(self.width as u32, self.height as u32, raw)
            .expect("buffer matches its size")
    }

    /// Per-channel mean.
    pub fn mean(&self) -> [f32; 3] {
        let n = (self.width * self.height).max(1);
        let mut m = [0.0; 3];
        for (c, v) in m.iter_mut().enumerate() {
            *v = self.data[c * n..(c + 1) * n]
                .iter()
                .map(|&x| x as f64)
                .sum::<f64>() as f32
                / n as f32;
        }
        m
    }

    /// Bilinear resampling (pixel centres aligned, like `align_corners=False`); `wrap` treats the image as
    /// periodic, otherwise borders are clamped. Meant for upsampling between scales.
    pub fn resized(&self, width: usize, height: usize, wrap: bool) -> Planar {
        let (sw, sh) = (self.width, self.height);
        let axis = |dst: usize, src: usize| -> Vec<(usize, usize, f32)> {
            (0..dst)
                .map(|i| {
                    let p = (i as f32 + 0.5) * src as f32 / dst as f32 - 0.5;
                    let f = p.floor();
                    let t = p - f;
                    let f = f as i64;
                    let idx = |k: i64| -> usize {
                        if wrap {
                            k.rem_euclid(src as i64) as usize
                        } else {
                            k.clamp(0, src as i64 - 1) as usize
                        }
                    };
                    (idx(f), idx(f + 1), t)
                })
                .collect()
        };
        let xs = axis(width, sw);
        let ys = axis(height, sh);
        let mut data = vec![0.0; 3 * width * height];
        for c in 0..3 {
            let src = &self.data[c * sw * sh..(c + 1) * sw * sh];
            for (y, &(y0, y1, ty)) in ys.iter().enumerate() {
                for (x, &(x0, x1, tx)) in xs.iter().enumerate() {
                    let a = src[y0 * sw + x0] * (1.0 - tx) + src[y0 * sw + x1] * tx;
                    let b = src[y1 * sw + x0] * (1.0 - tx) + src[y1 * sw + x1] * tx;
                    data[c * width * height + y * width + x] = a * (1.0 - ty) + b * ty;
                }
            }
        }
        Planar {
            width,
            height,
            data,
        }
    }
}

/// Colour histogram matching in the sources' principal colour axes: pixels of `img` and of the sources are
/// expressed in the eigenbasis of the sources' (weighted) colour covariance, each axis is histogram-matched
/// with [`match_histograms`], and the result is turned back into RGB. Unlike per-RGB-channel matching this
/// keeps the colour correlations: a grey source gives a grey result, a green-brown one no pink highlights.
pub fn match_colors(img: &mut Planar, sources: &[(&Planar, f32)]) {
    let total: f64 = sources.iter().map(|(_, w)| w.max(0.0) as f64).sum();
    if total <= 0.0 {
        return;
    }
    let mut mean = [0.0f64; 3];
    let mut cov = [[0.0f64; 3]; 3];
    for (p, w) in sources {
        let (m, c) = moments(p);
        let w = w.max(0.0) as f64 / total;
        for a in 0..3 {
            mean[a] += w * m[a];
            for b in 0..3 {
                cov[a][b] += w * (c[a][b] + m[a] * m[b]);
            }
        }
    }
    for a in 0..3 {
        for b in 0..3 {
            cov[a][b] -= mean[a] * mean[b];
        }
    }
    let basis = eigenvectors(cov);
    let rotate = |p: &Planar, inverse: bool| -> Planar {
        let n = p.width * p.height;
        let mut data = vec![0.0f32; 3 * n];
        for i in 0..n {
            for k in 0..3 {
                let v: f64 = (0..3)
                    .map(|c| {
                        let e = if inverse { basis[c][k] } else { basis[k][c] };
                        e * p.data[c * n + i] as f64
                    })
                    .sum();
                data[k * n + i] = v as f32;
            }
        }
        Planar {
            width: p.width,
            height: p.height,
            data,
        }
    };
    let rotated: Vec<(Planar, f32)> = sources
        .iter()
        .map(|(p, w)| (rotate(p, false), *w))
        .collect();
    let refs: Vec<(&Planar, f32)> = rotated.iter().map(|(p, w)| (p, *w)).collect();
    let mut r = rotate(img, false);
    match_histograms(&mut r, &refs);
    *img = rotate(&r, true);
    for v in &mut img.data {
        *v = v.clamp(0.0, 1.0);
    }
}

/// Mean and covariance of the three channels.
fn moments(p: &Planar) -> ([f64; 3], [[f64; 3]; 3]) {
    let n = (p.width * p.height).max(1);
    let mut m = [0.0f64; 3];
    for (c, v) in m.iter_mut().enumerate() {
        *v = p.data[c * n..(c + 1) * n]
            .iter()
            .map(|&x| x as f64)
            .sum::<f64>()
            / n as f64;
    }
    let mut cov = [[0.0f64; 3]; 3];
    for a in 0..3 {
        for b in a..3 {
            let s: f64 = (0..n)
                .map(|i| (p.data[a * n + i] as f64 - m[a]) * (p.data[b * n + i] as f64 - m[b]))
                .sum();
            cov[a][b] = s / n as f64;
            cov[b][a] = cov[a][b];
        }
    }
    (m, cov)
}

/// Orthonormal eigenvectors (rows) of a symmetric 3x3 matrix. Their order and signs do not matter here:
/// each axis is matched on its own, and a flipped axis flips image and sources alike.
fn eigenvectors(a: [[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let e = bestiary_linalg::symmetric_eigen(a.as_flattened(), 3);
    std::array::from_fn(|i| std::array::from_fn(|c| e.vectors[i][c]))
}

/// Per-channel histogram matching: every channel of `img` gets the value distribution of the weighted
/// mixture of the `sources`' channels, keeping the rank order of its own pixels.
pub fn match_histograms(img: &mut Planar, sources: &[(&Planar, f32)]) {
    const Q: usize = 4096;
    let n = img.width * img.height;
    let total: f32 = sources.iter().map(|(_, w)| w.max(0.0)).sum();
    if n == 0 || total <= 0.0 {
        return;
    }
    for c in 0..3 {
        // The mixture's quantile function, sampled: each source contributes quantiles in proportion to its weight.
        let mut pool = Vec::with_capacity(Q + sources.len());
        for (src, w) in sources {
            let m = src.width * src.height;
            let k = ((w.max(0.0) / total) * Q as f32).round() as usize;
            if m == 0 || k == 0 {
                continue;
            }
            let mut v = src.data[c * m..(c + 1) * m].to_vec();
            v.sort_by(f32::total_cmp);
            pool.extend((0..k).map(|j| v[(((j as f64 + 0.5) / k as f64) * m as f64) as usize % m]));
        }
        if pool.is_empty() {
            return;
        }
        pool.sort_by(f32::total_cmp);
        let ch = &mut img.data[c * n..(c + 1) * n];
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| ch[a].total_cmp(&ch[b]));
        let q = pool.len();
        for (rank, &i) in order.iter().enumerate() {
            // Interpolate between neighbouring quantiles of the mixture at this pixel's rank.
            let p = (rank as f64 + 0.5) / n as f64 * q as f64 - 0.5;
            let lo = p.floor().clamp(0.0, (q - 1) as f64) as usize;
            let hi = (lo + 1).min(q - 1);
            let t = (p - lo as f64).clamp(0.0, 1.0) as f32;
            ch[i] = pool[lo] * (1.0 - t) + pool[hi] * t;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_matching_takes_the_source_values_and_keeps_order() {
        let src = Planar {
            width: 4,
            height: 1,
            data: [0.1, 0.2, 0.3, 0.4].repeat(3),
        };
        let mut img = Planar {
            width: 4,
            height: 1,
            data: [0.9, 0.5, 0.7, 0.6].repeat(3),
        };
        match_histograms(&mut img, &[(&src, 1.0)]);
        let r = &img.data[0..4];
        assert!(r[1] < r[3] && r[3] < r[2] && r[2] < r[0], "{r:?}");
        assert!(
            (r[1] - 0.1).abs() < 0.02 && (r[0] - 0.4).abs() < 0.02,
            "{r:?}"
        );
    }

    #[test]
    fn colour_matching_to_a_grey_source_gives_grey() {
        let grey = Planar {
            width: 4,
            height: 1,
            data: [0.1, 0.5, 0.3, 0.8].repeat(3),
        };
        let mut img = Planar {
            width: 4,
            height: 1,
            data: vec![0.9, 0.1, 0.5, 0.4, 0.2, 0.6, 0.3, 0.7, 0.1, 0.8, 0.4, 0.5],
        };
        match_colors(&mut img, &[(&grey, 1.0)]);
        for i in 0..4 {
            let (r, g, b) = (img.data[i], img.data[4 + i], img.data[8 + i]);
            assert!(
                (r - g).abs() < 0.02 && (g - b).abs() < 0.02,
                "pixel {i}: {r} {g} {b}"
            );
        }
    }

    #[test]
    fn eigenvectors_diagonalise() {
        let a = [[2.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 1.0]];
        let e = eigenvectors(a);
        for i in 0..3 {
            // a e_i is parallel to e_i.
            let ae: Vec<f64> = (0..3)
                .map(|r| (0..3).map(|c| a[r][c] * e[i][c]).sum())
                .collect();
            let lambda: f64 = (0..3).map(|c| ae[c] * e[i][c]).sum();
            for c in 0..3 {
                assert!((ae[c] - lambda * e[i][c]).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn wrapped_resize_is_periodic() {
        let p = Planar {
            width: 2,
            height: 1,
            data: [0.0, 1.0].repeat(3),
        };
        let r = p.resized(4, 1, true);
        // Pixel centres at -0.25, 0.25, 0.75, 1.25 of the source grid.
        assert_eq!(&r.data[0..4], &[0.25, 0.25, 0.75, 0.75]);
    }
}
