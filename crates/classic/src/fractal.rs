//! Mandelbrot and Julia sets with smooth (continuous) escape-time colouring cycled through a palette,
//! distance-estimate edge shading, and adaptive 2x2 supersampling. Rows are computed in parallel and
//! assembled in order, so the result does not depend on the thread count.

use crate::common::{palette, palette_json};
use crate::math;
use crate::rng::Rng;
use crate::{Artwork, Params, Rendered};
use bestiary_canvas::{Image, Palette, Rgba};
use rayon::prelude::*;

const BAILOUT2: f64 = 65536.0; // |z| > 256: keeps the smooth iteration count accurate
/// An orbit that comes back this close to a saved point is taken as periodic (interior). Near the boundary
/// this may misjudge a few slowly escaping points, but those are shaded dark by the distance estimate anyway.
const PERIOD_EPS: f64 = 1e-6;
const LUT_SIZE: usize = 1024;
/// Neighbouring samples that differ by more than this (sRGB, 0..1, max channel) get 2x2 supersampling.
const SS_THRESHOLD: f32 = 0.035;

fn defaults() -> Vec<Palette> {
    vec![
        palette(
            "classic-fractal-ember",
            &[
                0x0b1026, 0x1b3a6b, 0x2f8f9d, 0xf2e8cf, 0xf4a259, 0xbc4b51, 0x3d1a3a,
            ],
        ),
        palette(
            "classic-fractal-lagoon",
            &[
                0x03071e, 0x023e8a, 0x0096c7, 0x90e0ef, 0xfefae0, 0xdda15e, 0x6a040f,
            ],
        ),
        palette(
            "classic-fractal-orchid",
            &[
                0x10002b, 0x5a189a, 0xc77dff, 0xf8f0fb, 0xffd6a5, 0xff6f59, 0x240046,
            ],
        ),
    ]
}

/// Views known for rich structure: (centre x, centre y, smallest radius, largest radius).
const MANDEL_SPOTS: &[(f64, f64, f64, f64)] = &[
    (-0.743_643_887, 0.131_825_904, 0.000_6, 0.02), // seahorse valley
    (0.285_0, 0.010_0, 0.003, 0.03),                // elephant valley
    (-0.088_0, 0.654_0, 0.004, 0.03),               // triple spirals
    (-1.254_5, 0.038_0, 0.002, 0.02),               // double spirals near the period-2 bulb
    (-0.101_096_364, 0.956_286_511, 0.000_8, 0.01), // spirals on the upper antenna
    (-1.768_7, 0.001_7, 0.001, 0.015),              // minibrot on the real axis
    (-0.745_3, 0.113_0, 0.002, 0.02),
    (0.001_643_722, -0.822_467_633, 0.000_5, 0.01),
];

/// Julia parameters with well-known beautiful sets.
const JULIA_SPOTS: &[(f64, f64)] = &[
    (-0.8, 0.156),
    (-0.4, 0.6),
    (0.285, 0.01),
    (-0.726_9, 0.188_9),
    (-0.835, -0.232_1),
    (0.355, 0.355),
    (-0.701_76, -0.384_2),
    (0.45, 0.142_8),
    (-0.122, 0.745),
    (-0.391, -0.587),
    (0.37, 0.1),
    (-0.54, 0.54),
];

#[derive(Clone, Debug)]
struct View {
    julia: bool,
    /// Julia parameter (unused for the Mandelbrot set).
    c: (f64, f64),
    centre: (f64, f64),
    /// Half-width of the window in the complex plane.
    radius: f64,
    rotation: f64,
    max_iter: u32,
    origin: &'static str,
}

/// Escape-time result: smooth iteration count and distance estimate (in plane units), or interior.
#[derive(Clone, Copy)]
enum Sample {
    Inside,
    Escaped { nu: f64, de: f64 },
}

fn iterate(v: &View, px: f64, py: f64) -> Sample {
    iterate_counted(v, px, py).0
}

/// The escape-time sample and the number of iterations it took.
fn iterate_counted(v: &View, px: f64, py: f64) -> (Sample, u64) {
    let (mut zx, mut zy, cx, cy);
    let (mut dx, mut dy);
    if v.julia {
        zx = px;
        zy = py;
        cx = v.c.0;
        cy = v.c.1;
        dx = 1.0;
        dy = 0.0;
    } else {
        zx = 0.0;
        zy = 0.0;
        cx = px;
        cy = py;
        dx = 0.0;
        dy = 0.0;
        // Main cardioid and period-2 bulb: certainly inside.
        let xq = cx - 0.25;
        let q = xq * xq + cy * cy;
        if q * (q + xq) <= 0.25 * cy * cy || (cx + 1.0) * (cx + 1.0) + cy * cy <= 0.0625 {
            return (Sample::Inside, 0);
        }
    }
    let mut saved = (zx, zy);
    let mut next_save = 8u32;
    for n in 0..v.max_iter {
        // derivative: d' = 2 z d (+1 for Mandelbrot, where it is taken with respect to c)
        let ndx = 2.0 * (zx * dx - zy * dy) + if v.julia { 0.0 } else { 1.0 };
        let ndy = 2.0 * (zx * dy + zy * dx);
        dx = ndx;
        dy = ndy;
        let nx = zx * zx - zy * zy + cx;
        zy = 2.0 * zx * zy + cy;
        zx = nx;
        let r2 = zx * zx + zy * zy;
        if r2 > BAILOUT2 {
            let lr = 0.5 * math::ln(r2); // ln|z|
            let nu = n as f64 + 2.0 - math::log2(lr / std::f64::consts::LN_2);
            let dmag = math::sqrt(dx * dx + dy * dy).max(1e-300);
            let de = math::sqrt(r2) * lr / dmag;
            return (Sample::Escaped { nu, de }, n as u64);
        }
        // Brent-style periodicity check: an orbit that returns onto a saved point is cyclic (inside).
        if (zx - saved.0).abs() < PERIOD_EPS && (zy - saved.1).abs() < PERIOD_EPS {
            return (Sample::Inside, n as u64);
        }
        // Julia: an orbit whose derivative has collapsed is being drawn into an attracting cycle.
        if v.julia && dx * dx + dy * dy < 1e-24 {
            return (Sample::Inside, n as u64);
        }
        if n + 1 == next_save {
            saved = (zx, zy);
            next_save = next_save.saturating_mul(2);
        }
    }
    (Sample::Inside, v.max_iter as u64)
}

/// Plane coordinate for a point (u, v) in [-1, 1]^2 of the (rotated) window.
fn plane(v: &View, rot: (f64, f64), u: f64, w: f64) -> (f64, f64) {
    let (s, c) = rot;
    let x = u * v.radius;
    let y = w * v.radius;
    (v.centre.0 + x * c - y * s, v.centre.1 + x * s + y * c)
}

/// How much structure a window holds, on a coarse grid: (score, smallest escape count seen).
fn assess(v: &View) -> (f64, f64) {
    const G: usize = 24;
    let rot = (math::sin(v.rotation), math::cos(v.rotation));
    let mut grid = vec![None; G * G];
    let mut inside = 0usize;
    let mut nu_min = f64::INFINITY;
    for j in 0..G {
        for i in 0..G {
            let u = (i as f64 + 0.5) / G as f64 * 2.0 - 1.0;
            let w = (j as f64 + 0.5) / G as f64 * 2.0 - 1.0;
            let (x, y) = plane(v, rot, u, w);
            grid[j * G + i] = match iterate(v, x, y) {
                Sample::Inside => {
                    inside += 1;
                    None
                }
                Sample::Escaped { nu, .. } => {
                    nu_min = nu_min.min(nu);
                    Some(nu)
                }
            };
        }
    }
    let mut edges = 0usize;
    let mut pairs = 0usize;
    for j in 0..G {
        for i in 0..G {
            let a = grid[j * G + i];
            for (ni, nj) in [(i + 1, j), (i, j + 1)] {
                if ni >= G || nj >= G {
                    continue;
                }
                pairs += 1;
                let b = grid[nj * G + ni];
                let differs = match (a, b) {
                    (None, None) => false,
                    (Some(x), Some(y)) => {
                        (math::sqrt(x.max(0.0)) - math::sqrt(y.max(0.0))).abs() > 0.6
                    }
                    _ => true,
                };
                if differs {
                    edges += 1;
                }
            }
        }
    }
    let inside_frac = inside as f64 / (G * G) as f64;
    let mut score = edges as f64 / pairs as f64;
    // Prefer windows where the set's interior (flat, dark) takes at most about a quarter of the frame.
    if inside_frac > 0.25 {
        score *= (1.0 - 1.6 * (inside_frac - 0.25)).max(0.1);
    }
    if inside == G * G {
        score = 0.0;
    }
    (score, if nu_min.is_finite() { nu_min } else { 0.0 })
}

fn iterations_for(radius: f64, julia: bool) -> u32 {
    let depth = math::log2((1.5 / radius).max(1.0));
    let base = if julia { 300.0 } else { 220.0 };
    (base + 38.0 * depth).min(2000.0) as u32
}

fn candidate(rng: &mut Rng, julia: bool) -> View {
    if !julia {
        let r = rng.f64();
        if r < 0.12 {
            let radius = rng.range(1.25, 1.45);
            return View {
                julia,
                c: (0.0, 0.0),
                centre: (-0.62, 0.0),
                radius,
                rotation: 0.0,
                max_iter: iterations_for(radius, false),
                origin: "whole set",
            };
        }
        let rotation = rng.range(0.0, math::TAU);
        if r < 0.55 {
            let &(x, y, rmin, rmax) = rng.pick(MANDEL_SPOTS);
            let radius = math::exp(rng.range(math::ln(rmin), math::ln(rmax)));
            let centre = (
                x + rng.range(-0.3, 0.3) * radius,
                y + rng.range(-0.3, 0.3) * radius,
            );
            return View {
                julia,
                c: (0.0, 0.0),
                centre,
                radius,
                rotation,
                max_iter: iterations_for(radius, false),
                origin: "curated",
            };
        }
        // A point on the boundary of the main cardioid or the period-2 bulb, zoomed in.
        let t = rng.range(0.0, math::TAU);
        let (bx, by, nx, ny) = if rng.chance(0.7) {
            (
                0.5 * math::cos(t) - 0.25 * math::cos(2.0 * t),
                0.5 * math::sin(t) - 0.25 * math::sin(2.0 * t),
                math::cos(t) - math::cos(2.0 * t),
                math::sin(t) - math::sin(2.0 * t),
            )
        } else {
            (
                -1.0 + 0.25 * math::cos(t),
                0.25 * math::sin(t),
                math::cos(t),
                math::sin(t),
            )
        };
        let nl = math::hypot(nx, ny).max(1e-9);
        let radius = math::pow(10.0, rng.range(-3.0, -1.0));
        // centred a little outside the boundary, so the smooth interior takes only an edge of the frame
        let out = rng.range(0.4, 0.9) * radius;
        let centre = (
            bx + nx / nl * out + rng.range(-0.3, 0.3) * radius,
            by + ny / nl * out + rng.range(-0.3, 0.3) * radius,
        );
        View {
            julia,
            c: (0.0, 0.0),
            centre,
            radius,
            rotation,
            max_iter: iterations_for(radius, false),
            origin: "boundary",
        }
    } else {
        let (c, origin) = if rng.chance(0.55) {
            let &(x, y) = rng.pick(JULIA_SPOTS);
            (
                (x + rng.range(-0.004, 0.004), y + rng.range(-0.004, 0.004)),
                "curated",
            )
        } else {
            let t = rng.range(0.0, math::TAU);
            let (bx, by) = (
                0.5 * math::cos(t) - 0.25 * math::cos(2.0 * t),
                0.5 * math::sin(t) - 0.25 * math::sin(2.0 * t),
            );
            // push slightly off the boundary, along the direction away from the cardioid's cusp region
            let (nx, ny) = (bx - (-0.1), by);
            let l = math::hypot(nx, ny).max(1e-9);
            let e = rng.range(-0.01, 0.02);
            ((bx + nx / l * e, by + ny / l * e), "near boundary")
        };
        let rotation = rng.range(0.0, math::TAU);
        let (centre, radius) = if rng.chance(0.6) {
            ((0.0, 0.0), rng.range(1.15, 1.5))
        } else {
            (
                (rng.range(-0.8, 0.8), rng.range(-0.8, 0.8)),
                math::exp(rng.range(math::ln(0.08), math::ln(0.6))),
            )
        };
        View {
            julia,
            c,
            centre,
            radius,
            rotation,
            max_iter: iterations_for(radius, true),
            origin,
        }
    }
}

// --- colour helpers: our own sRGB transfer (libm) so the bytes are the same everywhere -----------------

fn to_linear(c: f32) -> f32 {
    let c = c as f64;
    (if c <= 0.04045 {
        c / 12.92
    } else {
        math::pow((c + 0.055) / 1.055, 2.4)
    }) as f32
}

fn to_srgb_u8(l: f32) -> u8 {
    let l = (l as f64).clamp(0.0, 1.0);
    let s = if l <= 0.003_130_8 {
        l * 12.92
    } else {
        1.055 * math::pow(l, 1.0 / 2.4) - 0.055
    };
    (s * 255.0 + 0.5).floor().clamp(0.0, 255.0) as u8
}

struct Shader {
    lut: Vec<[f32; 3]>,
    inside: [f32; 3],
    phase: f64,
    density: f64,
    nu_min: f64,
    edge: f64,
    pixel: f64,
}

impl Shader {
    /// Linear RGB for one sample.
    fn shade(&self, s: Sample) -> [f32; 3] {
        match s {
            Sample::Inside => self.inside,
            Sample::Escaped { nu, de } => {
                let t = self.phase + self.density * math::sqrt((nu - self.nu_min).max(0.0));
                let f = (t - t.floor()) * LUT_SIZE as f64;
                let i0 = (f.floor() as usize).min(LUT_SIZE - 1);
                let i1 = (i0 + 1) % LUT_SIZE;
                let w = (f - i0 as f64) as f32;
                let a = self.lut[i0];
                let b = self.lut[i1];
                let mut c = [
                    a[0] + (b[0] - a[0]) * w,
                    a[1] + (b[1] - a[1]) * w,
                    a[2] + (b[2] - a[2]) * w,
                ];
                // Distance-estimate shading: filaments closer than a few pixels to the set darken softly,
                // which keeps thin structures crisp instead of noisy.
                let k = math::clamp01(de / (self.pixel * self.edge));
                let k = (0.25 + 0.75 * math::sqrt(k)) as f32;
                for ch in &mut c {
                    *ch *= k;
                }
                c
            }
        }
    }
}

pub fn render(p: &Params) -> Rendered {
    let mut rng = Rng::stream(p.seed, "fractal");
    let julia = rng.chance(0.55);
    let mut best: Option<(View, f64, f64)> = None;
    for _ in 0..10 {
        let v = candidate(&mut rng, julia);
        let (score, nu_min) = assess(&v);
        if best.as_ref().is_none_or(|b| score > b.1) {
            best = Some((v, score, nu_min));
        }
    }
    let (view, score, nu_min) = best.expect("at least one candidate");
    let defaults = defaults();
    let default_pick = rng.below(defaults.len() as u64) as usize;
    let pal = p
        .palette
        .clone()
        .unwrap_or_else(|| defaults[default_pick].clone());
    let density = rng.range(0.09, 0.2);
    let phase = rng.f64();
    let edge = rng.range(1.5, 4.0);

    let size = p.size as usize;
    let lut: Vec<[f32; 3]> = (0..LUT_SIZE)
        .map(|i| {
            let c = pal.sample_cyclic(i as f32 / LUT_SIZE as f32);
            [to_linear(c.r), to_linear(c.g), to_linear(c.b)]
        })
        .collect();
    let darkest = pal
        .colors
        .iter()
        .copied()
        .fold(None::<Rgba>, |acc, c| match acc {
            Some(a) if crate::common::luma(a) <= crate::common::luma(c) => Some(a),
            _ => Some(c),
        })
        .unwrap_or(Rgba::BLACK);
    let inside = [
        to_linear(darkest.r) * 0.25,
        to_linear(darkest.g) * 0.25,
        to_linear(darkest.b) * 0.25,
    ];
    let shader = Shader {
        lut,
        inside,
        phase,
        density,
        nu_min,
        edge,
        pixel: 2.0 * view.radius / size as f64,
    };
    let rot = (math::sin(view.rotation), math::cos(view.rotation));
    let coord = |x: f64, y: f64| {
        let u = x / size as f64 * 2.0 - 1.0;
        let w = y / size as f64 * 2.0 - 1.0;
        plane(&view, rot, u, w)
    };

    // Work in bands of rows so memory stays at the output image plus one band, whatever the size.
    // Pass 1: one sample at each pixel centre (linear colour and its 8-bit sRGB encoding), for the band and
    // one halo row on each side. Pass 2: where a pixel differs from a 4-neighbour, average it with three
    // more samples (in linear light). Every row is a pure function of its index: thread-count independent.
    const BAND: usize = 64;
    let limit = (SS_THRESHOLD * 255.0) as i32;
    let mut data: Vec<u8> = Vec::with_capacity(size * size * 4);
    for r0 in (0..size).step_by(BAND) {
        let r1 = (r0 + BAND).min(size);
        let h0 = r0.saturating_sub(1);
        let h1 = (r1 + 1).min(size);
        let first: Vec<Vec<([f32; 3], [u8; 3])>> = (h0..h1)
            .into_par_iter()
            .map(|j| {
                (0..size)
                    .map(|i| {
                        let (x, y) = coord(i as f64 + 0.5, j as f64 + 0.5);
                        let c = shader.shade(iterate(&view, x, y));
                        (c, [to_srgb_u8(c[0]), to_srgb_u8(c[1]), to_srgb_u8(c[2])])
                    })
                    .collect()
            })
            .collect();
        let at = |i: usize, j: usize| &first[j - h0][i];
        let rows: Vec<Vec<u8>> = (r0..r1)
            .into_par_iter()
            .map(|j| {
                let mut out = Vec::with_capacity(size * 4);
                for i in 0..size {
                    let here = at(i, j).1;
                    let mut edge = false;
                    for (di, dj) in [(-1i64, 0i64), (1, 0), (0, -1), (0, 1)] {
                        let (ni, nj) = (i as i64 + di, j as i64 + dj);
                        if ni < 0 || nj < 0 || ni >= size as i64 || nj >= size as i64 {
                            continue;
                        }
                        let n = at(ni as usize, nj as usize).1;
                        edge |= (0..3).any(|ch| (here[ch] as i32 - n[ch] as i32).abs() > limit);
                    }
                    let px = if edge {
                        let centre = at(i, j).0;
                        let mut acc = [centre[0] * 0.25, centre[1] * 0.25, centre[2] * 0.25];
                        // three more samples on a triangle 0.3 px around the centre
                        for (ox, oy) in [(0.5, 0.8), (0.240_192, 0.35), (0.759_808, 0.35)] {
                            let (x, y) = coord(i as f64 + ox, j as f64 + oy);
                            let s = shader.shade(iterate(&view, x, y));
                            for ch in 0..3 {
                                acc[ch] += s[ch] * 0.25;
                            }
                        }
                        [to_srgb_u8(acc[0]), to_srgb_u8(acc[1]), to_srgb_u8(acc[2])]
                    } else {
                        here
                    };
                    out.extend_from_slice(&[px[0], px[1], px[2], 255]);
                }
                out
            })
            .collect();
        for row in rows {
            data.extend_from_slice(&row);
        }
    }
    let image = Image::from_raw(p.size, p.size, data).expect("buffer has size*size*4 bytes");

    let params = serde_json::json!({
        "engine": "fractal",
        "seed": p.seed,
        "size": p.size,
        "palette": palette_json(&pal),
        "set": if view.julia { "julia" } else { "mandelbrot" },
        "julia_c": if view.julia { serde_json::json!([view.c.0, view.c.1]) } else { serde_json::Value::Null },
        "view_origin": view.origin,
        "center": [view.centre.0, view.centre.1],
        "radius": view.radius,
        "rotation": view.rotation,
        "max_iterations": view.max_iter,
        "bailout_radius": 256,
        "colouring": "smooth escape time, t = phase + density * sqrt(nu - nu_min), cyclic palette",
        "phase": phase,
        "density": density,
        "nu_min": nu_min,
        "edge_shading_px": edge,
        "supersampling": "adaptive: 4 samples (centre + triangle) where neighbours differ",
        "interest_score": score,
    });
    Rendered {
        art: Artwork::Raster(image),
        params,
    }
}
