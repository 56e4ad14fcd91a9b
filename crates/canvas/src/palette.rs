//! Named palettes and palettes learned from an image (k-means in OKLab).

use crate::{Error, Image, Oklab, Rgba};
use bestiary_rng::SplitMix64;

#[derive(Clone, Debug, PartialEq)]
pub struct Palette {
    pub name: String,
    pub colors: Vec<Rgba>,
}

/// Our named palettes, dark to light, as 0xRRGGBB.
const NAMED: &[(&str, &[u32])] = &[
    ("ember", &[0x1a0a06, 0x5c1a0b, 0xb33c12, 0xf08a24, 0xffd27a]),
    ("ocean", &[0x03121f, 0x0b3a5c, 0x1672a0, 0x4fb3c8, 0xc9f0ee]),
    ("moss", &[0x141a0e, 0x2f4520, 0x5b7a35, 0x9bb067, 0xe0e5b8]),
    (
        "orchid",
        &[0x1d0b24, 0x4e1f5e, 0x8f3f97, 0xd37bc4, 0xf6d2ec],
    ),
    ("ink", &[0x0b0c10, 0x1f2430, 0x3b4556, 0x6e7a8a, 0xe9e4d8]),
    (
        "sunset",
        &[0x2b1040, 0x7a1f5c, 0xd2445a, 0xf5854a, 0xffd36e],
    ),
    (
        "glacier",
        &[0x0e1a2b, 0x2e5a7a, 0x6fa3c0, 0xb8dbe8, 0xf4fbff],
    ),
    ("coral", &[0x2a0f14, 0x803040, 0xe0605e, 0xff9e80, 0xffe1cc]),
    ("dusk", &[0x0d0b1e, 0x2a2350, 0x5a4a8a, 0xb07aa1, 0xf2c6a0]),
    ("mono", &[0x000000, 0x404040, 0x808080, 0xc0c0c0, 0xffffff]),
];

const NAMES: [&str; NAMED.len()] = {
    let mut names = [""; NAMED.len()];
    let mut i = 0;
    while i < NAMED.len() {
        names[i] = NAMED[i].0;
        i += 1;
    }
    names
};

/// At most this many pixels feed k-means: plenty for a palette, bounded time on huge images.
const MAX_SAMPLES: usize = 50_000;
/// Lloyd iterations cap; clustering usually settles long before.
const MAX_ITERS: usize = 40;

fn dist2(p: &[f32; 3], q: &[f32; 3]) -> f32 {
    (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)
}

fn nearest(p: &[f32; 3], centres: &[[f32; 3]]) -> (usize, f32) {
    let mut best = (0, f32::INFINITY);
    for (i, c) in centres.iter().enumerate() {
        let d = dist2(p, c);
        if d < best.1 {
            best = (i, d);
        }
    }
    best
}

/// k-means++ seeding: each new centre is drawn with probability proportional to squared distance.
/// When every point already sits on a centre (fewer distinct colours than k), existing centres repeat.
fn seed_centres(points: &[[f32; 3]], k: usize, rng: &mut SplitMix64) -> Vec<[f32; 3]> {
    let mut centres = vec![points[(rng.next_u64() % points.len() as u64) as usize]];
    let mut d2: Vec<f32> = points.iter().map(|p| dist2(p, &centres[0])).collect();
    while centres.len() < k {
        let total: f64 = d2.iter().map(|&d| d as f64).sum();
        if total <= 0.0 {
            let c = centres[centres.len() % centres.len().max(1)];
            centres.push(c);
            continue;
        }
        let mut target = rng.unit() * total;
        let mut pick = points.len() - 1;
        for (i, &d) in d2.iter().enumerate() {
            target -= d as f64;
            if target < 0.0 {
                pick = i;
                break;
            }
        }
        let c = points[pick];
        centres.push(c);
        for (d, p) in d2.iter_mut().zip(points) {
            *d = d.min(dist2(p, &c));
        }
    }
    centres
}

/// Lloyd's algorithm from the given centres. An emptied cluster moves to the point farthest from its
/// centre, which keeps k distinct colours whenever the data has them.
fn lloyd(points: &[[f32; 3]], centres: &mut [[f32; 3]]) {
    let k = centres.len();
    let mut assign = vec![usize::MAX; points.len()];
    for _ in 0..MAX_ITERS {
        let mut changed = false;
        for (a, p) in assign.iter_mut().zip(points) {
            let (i, _) = nearest(p, centres);
            changed |= *a != i;
            *a = i;
        }
        if !changed {
            break;
        }
        let mut sums = vec![[0f64; 3]; k];
        let mut counts = vec![0usize; k];
        for (&a, p) in assign.iter().zip(points) {
            counts[a] += 1;
            for j in 0..3 {
                sums[a][j] += p[j] as f64;
            }
        }
        for c in 0..k {
            if counts[c] > 0 {
                let n = counts[c] as f64;
                centres[c] = [
                    (sums[c][0] / n) as f32,
                    (sums[c][1] / n) as f32,
                    (sums[c][2] / n) as f32,
                ];
            } else {
                let far = points
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (i, dist2(p, &centres[assign[i]])))
                    .fold((0, -1.0f32), |best, x| if x.1 > best.1 { x } else { best });
                centres[c] = points[far.0];
                assign[far.0] = c;
            }
        }
    }
}

impl Palette {
    /// Names accepted by `named`, for --help and error messages.
    pub fn names() -> &'static [&'static str] {
        &NAMES
    }
    pub fn named(name: &str) -> Option<Palette> {
        let (n, hex) = NAMED
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))?;
        let colors = hex
            .iter()
            .map(|&h| Rgba::from_u8([(h >> 16) as u8, (h >> 8) as u8, h as u8, 255]))
            .collect();
        Some(Palette {
            name: n.to_string(),
            colors,
        })
    }
    /// Smooth gradient through the colours (interpolated in OKLab), t clamped to [0,1].
    /// An empty palette samples as transparent.
    pub fn sample(&self, t: f32) -> Rgba {
        let n = self.colors.len();
        if n <= 1 {
            return self.colors.first().copied().unwrap_or(Rgba::TRANSPARENT);
        }
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        let pos = t * (n - 1) as f32;
        let i = (pos.floor() as usize).min(n - 2);
        self.colors[i].mix(self.colors[i + 1], pos - i as f32)
    }
    /// Like `sample` but t wraps around (last colour blends back to the first).
    pub fn sample_cyclic(&self, t: f32) -> Rgba {
        let n = self.colors.len();
        if n <= 1 {
            return self.sample(0.0);
        }
        let t = if t.is_finite() {
            t.rem_euclid(1.0)
        } else {
            0.0
        };
        let pos = t * n as f32;
        let i = (pos.floor() as usize).min(n - 1);
        self.colors[i].mix(self.colors[(i + 1) % n], pos - i as f32)
    }
    /// The i-th colour, wrapping. An empty palette gives transparent.
    pub fn pick(&self, i: usize) -> Rgba {
        if self.colors.is_empty() {
            Rgba::TRANSPARENT
        } else {
            self.colors[i % self.colors.len()]
        }
    }
    /// k colours by k-means in OKLab over the image's (opaque-enough) pixels, deterministic for a seed,
    /// sorted dark to light. Errors when the image has no usable pixel or k == 0.
    pub fn from_image(image: &Image, k: usize, seed: u64) -> crate::Result<Palette> {
        if k == 0 {
            return Err(Error::Invalid("palette size k must be at least 1".into()));
        }
        let usable: Vec<&[u8]> = image
            .as_raw()
            .chunks_exact(4)
            .filter(|p| p[3] >= 128)
            .collect();
        if usable.is_empty() {
            return Err(Error::Invalid(format!(
                "image ({}x{}) has no pixel with alpha >= 128 to learn a palette from",
                image.width(),
                image.height()
            )));
        }
        // Even, deterministic subsampling: every (n / MAX_SAMPLES)-th usable pixel.
        let step = (usable.len() as f64 / MAX_SAMPLES as f64).max(1.0);
        let count = ((usable.len() as f64 / step) as usize).max(1);
        // 8-bit sRGB -> linear once per level instead of per pixel.
        let lut: Vec<f32> = (0..=255u8)
            .map(|v| crate::color::srgb_to_linear(v as f32 / 255.0))
            .collect();
        let points: Vec<[f32; 3]> = (0..count)
            .map(|i| {
                let p = usable[((i as f64 * step) as usize).min(usable.len() - 1)];
                let lab = crate::color::oklab_from_linear([
                    lut[p[0] as usize],
                    lut[p[1] as usize],
                    lut[p[2] as usize],
                ]);
                [lab.l, lab.a, lab.b]
            })
            .collect();
        let mut rng = SplitMix64::from_state(seed);
        let mut centres = seed_centres(&points, k, &mut rng);
        lloyd(&points, &mut centres);
        let mut labs: Vec<Oklab> = centres
            .iter()
            .map(|c| Oklab {
                l: c[0],
                a: c[1],
                b: c[2],
            })
            .collect();
        labs.sort_by(|p, q| {
            p.l.total_cmp(&q.l)
                .then(p.a.total_cmp(&q.a))
                .then(p.b.total_cmp(&q.b))
        });
        Ok(Palette {
            name: "from-image".into(),
            colors: labs.into_iter().map(|l| Rgba::from_oklab(l, 1.0)).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_palettes_exist_and_run_dark_to_light() {
        assert!(Palette::names().len() >= 9);
        for name in Palette::names() {
            let p = Palette::named(name).unwrap();
            assert_eq!(&p.name, name);
            assert!(p.colors.len() >= 3);
            let ls: Vec<f32> = p.colors.iter().map(|c| c.to_oklab().l).collect();
            assert!(ls.windows(2).all(|w| w[0] < w[1]), "{name}: {ls:?}");
        }
        assert_eq!(Palette::named("EMBER").unwrap().name, "ember");
        assert!(Palette::named("nope").is_none());
        assert_eq!(
            Palette::named("mono").unwrap().colors[2].to_u8(),
            [128, 128, 128, 255]
        );
    }

    #[test]
    fn sample_and_pick() {
        let p = Palette::named("ocean").unwrap();
        let n = p.colors.len();
        assert_eq!(p.sample(0.0), p.colors[0]);
        assert_eq!(p.sample(-3.0), p.colors[0]);
        assert_eq!(p.sample(1.0).to_u8(), p.colors[n - 1].to_u8());
        assert_eq!(p.sample(7.0).to_u8(), p.colors[n - 1].to_u8());
        assert_eq!(p.sample(0.25).to_u8(), p.colors[1].to_u8());
        // Half way between two stops is the OKLab midpoint.
        let mid = p.sample(0.125).to_oklab();
        let want = (p.colors[0].to_oklab().l + p.colors[1].to_oklab().l) / 2.0;
        assert!((mid.l - want).abs() < 0.01);
        // Cyclic: wraps, and the last segment returns to the first colour.
        assert_eq!(p.sample_cyclic(1.0).to_u8(), p.colors[0].to_u8());
        assert_eq!(p.sample_cyclic(-0.8).to_u8(), p.colors[1].to_u8());
        let tail = p.sample_cyclic(0.9).to_oklab().l;
        assert!(tail < p.colors[n - 1].to_oklab().l && tail > p.colors[0].to_oklab().l);
        assert_eq!(p.pick(n + 2), p.colors[2]);
        let empty = Palette {
            name: "x".into(),
            colors: vec![],
        };
        assert_eq!(
            (empty.sample(0.5), empty.sample_cyclic(0.5), empty.pick(3)),
            (Rgba::TRANSPARENT, Rgba::TRANSPARENT, Rgba::TRANSPARENT)
        );
    }

    /// 3 flat colours in unequal areas plus transparent junk that must be ignored.
    fn three_colour_image() -> (Image, [Rgba; 3]) {
        let cols = [
            Rgba::parse("#d94f30").unwrap(),
            Rgba::parse("#2a9d8f").unwrap(),
            Rgba::parse("#f4e285").unwrap(),
        ];
        let mut img = Image::new(300, 300);
        for y in 0..300 {
            for x in 0..300 {
                let c = if x < 50 {
                    cols[0]
                } else if y < 200 {
                    cols[1]
                } else {
                    cols[2]
                };
                let mut px = c.to_u8();
                // Slight noise, so clusters are clouds rather than points.
                px[0] = px[0].saturating_add(((x * 7 + y * 3) % 5) as u8);
                if (x + y) % 17 == 0 {
                    px = [255, 0, 255, 40]; // transparent magenta: skipped
                }
                img.put(x, y, px);
            }
        }
        (img, cols)
    }

    #[test]
    fn kmeans_recovers_three_colours() {
        let (img, cols) = three_colour_image();
        let p = Palette::from_image(&img, 3, 7).unwrap();
        assert_eq!(p.name, "from-image");
        assert_eq!(p.colors.len(), 3);
        let mut want: Vec<Oklab> = cols.iter().map(|c| c.to_oklab()).collect();
        want.sort_by(|a, b| a.l.total_cmp(&b.l));
        for (got, want) in p.colors.iter().zip(&want) {
            let d = got.to_oklab().distance(*want);
            assert!(d < 0.02, "{got:?} is {d} from {want:?}");
        }
        // Deterministic for a seed; other seeds find the same clusters here.
        assert_eq!(Palette::from_image(&img, 3, 7).unwrap(), p);
        let other = Palette::from_image(&img, 3, 12345).unwrap();
        for (a, b) in other.colors.iter().zip(&p.colors) {
            assert!(a.to_oklab().distance(b.to_oklab()) < 0.01);
        }
    }

    #[test]
    fn kmeans_edge_cases() {
        let (img, _) = three_colour_image();
        assert!(Palette::from_image(&img, 0, 1).is_err());
        assert!(Palette::from_image(&Image::new(4, 4), 3, 1)
            .unwrap_err()
            .to_string()
            .contains("alpha"));
        // More clusters than distinct colours: still k colours, all from the image.
        let two = Image::from_raw(2, 1, vec![0, 0, 0, 255, 255, 255, 255, 255]).unwrap();
        let p = Palette::from_image(&two, 4, 3).unwrap();
        assert_eq!(p.colors.len(), 4);
        assert_eq!(p.colors[0].to_u8(), [0, 0, 0, 255]);
        assert_eq!(p.colors[3].to_u8(), [255, 255, 255, 255]);
        // Sorted dark to light.
        let p5 = Palette::from_image(&img, 5, 2).unwrap();
        assert!(p5
            .colors
            .windows(2)
            .all(|w| w[0].to_oklab().l <= w[1].to_oklab().l));
    }
}
