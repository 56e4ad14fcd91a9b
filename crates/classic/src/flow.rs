//! Flow fields: particles advected through an angle field built from several octaves of our gradient
//! noise, each path drawn as a stroked polyline. Paths keep an even spacing (a particle stops when it runs
//! into a neighbour), which gives the combed, woven look of evenly spaced streamlines.

use crate::common::{hex, palette, palette_json, q, UNITS};
use crate::math;
use crate::noise::Fbm;
use crate::rng::Rng;
use crate::{Artwork, Params, Rendered};
use bestiary_canvas::{Palette, Scene, Shape, Style};

fn defaults_dark() -> Vec<Palette> {
    vec![
        palette(
            "classic-flow-tide",
            &[0x1d4e89, 0x00b2ca, 0x7dcfb6, 0xfbd1a2, 0xf79256],
        ),
        palette(
            "classic-flow-aurora",
            &[0x3a0ca3, 0x4361ee, 0x4cc9f0, 0xb5e48c, 0xf72585],
        ),
    ]
}
fn defaults_light() -> Vec<Palette> {
    vec![
        palette(
            "classic-flow-indigo",
            &[0x0d1b2a, 0x1b3a5c, 0x3e6489, 0x6c8cae, 0xc44536],
        ),
        palette(
            "classic-flow-terracotta",
            &[0x264653, 0x2a9d8f, 0xc9a227, 0xe07a5f, 0x9c3d2e],
        ),
    ]
}

/// Points of all paths so far, bucketed on a grid, to stop a path that comes too close to another.
struct Occupancy {
    cell: f64,
    n: usize,
    buckets: Vec<Vec<(f64, f64, u32, u32)>>,
}

impl Occupancy {
    fn new(cell: f64) -> Self {
        let n = (UNITS / cell).ceil() as usize + 1;
        Occupancy {
            cell,
            n,
            buckets: vec![Vec::new(); n * n],
        }
    }
    fn idx(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        let i = (x / self.cell).floor();
        let j = (y / self.cell).floor();
        if i < 0.0 || j < 0.0 || i >= self.n as f64 || j >= self.n as f64 {
            None
        } else {
            Some((i as usize, j as usize))
        }
    }
    fn add(&mut self, x: f64, y: f64, line: u32, k: u32) {
        if let Some((i, j)) = self.idx(x, y) {
            self.buckets[j * self.n + i].push((x, y, line, k));
        }
    }
    /// True when a point of another path (or of this path, more than `skip` points away) lies within `d`.
    fn near(&self, x: f64, y: f64, d: f64, line: u32, k: u32, skip: u32) -> bool {
        let Some((ci, cj)) = self.idx(x, y) else {
            return true;
        };
        let r = (d / self.cell).ceil() as i64;
        let d2 = d * d;
        for j in (cj as i64 - r).max(0)..=(cj as i64 + r).min(self.n as i64 - 1) {
            for i in (ci as i64 - r).max(0)..=(ci as i64 + r).min(self.n as i64 - 1) {
                for &(px, py, pl, pk) in &self.buckets[j as usize * self.n + i as usize] {
                    if pl == line && (pk as i64 - k as i64).unsigned_abs() as u32 <= skip {
                        continue;
                    }
                    let (dx, dy) = (px - x, py - y);
                    if dx * dx + dy * dy < d2 {
                        return true;
                    }
                }
            }
        }
        false
    }
}

pub fn render(p: &Params) -> Rendered {
    let mut rng = Rng::stream(p.seed, "flow");
    let dark = rng.chance(0.55);
    let octaves = rng.int(2, 4) as usize;
    let field = Fbm::new(&mut rng.fork(), octaves, 2.0, 0.5);
    let colour_field = Fbm::new(&mut rng.fork(), 2, 2.0, 0.5);
    let width_field = Fbm::new(&mut rng.fork(), 2, 2.0, 0.5);
    let frequency = rng.range(1.2, 3.2); // noise cycles across the canvas
    let turn = rng.range(0.8, 2.2); // field angle = noise * PI * turn + base
    let base_angle = rng.range(0.0, math::TAU);
    let separation = rng.range(4.5, 13.0); // scene units between neighbouring paths
    let stop_ratio = rng.range(0.45, 0.7); // a path stops this fraction of `separation` from another
    let width_ratio = rng.range(0.22, 0.6); // stroke width relative to separation
    let width_vary = rng.range(0.0, 0.7);
    let alpha = rng.range(0.78, 0.95) as f32;
    let colour_mode = if rng.chance(0.6) { "field" } else { "random" };
    let colour_scale = rng.range(0.6, 1.6);
    let margin = rng.range(0.04, 0.09) * UNITS;
    let step = 2.5;
    let max_points = 900usize;
    let min_points = rng.int(6, 16) as usize;
    let max_paths = 2500usize;

    let pal = p.palette.clone().unwrap_or_else(|| {
        let set = if dark {
            defaults_dark()
        } else {
            defaults_light()
        };
        set[rng.below(set.len() as u64) as usize].clone()
    });
    let ground = if dark { hex(0x0f1116) } else { hex(0xf2ece0) };

    let angle = |x: f64, y: f64| -> f64 {
        let n = field.get(x / UNITS * frequency, y / UNITS * frequency);
        base_angle + n * math::PI * turn
    };
    let inside =
        |x: f64, y: f64| x >= margin && y >= margin && x <= UNITS - margin && y <= UNITS - margin;

    let mut occ = Occupancy::new(separation);
    let stop_d = separation * stop_ratio;
    let mut paths: Vec<Vec<(f64, f64)>> = Vec::new();

    // Candidate starts: a jittered grid at the separation, visited in a seeded order.
    let per_side = ((UNITS - 2.0 * margin) / separation).floor().max(1.0) as usize;
    let mut starts: Vec<(f64, f64)> = Vec::with_capacity(per_side * per_side);
    for j in 0..per_side {
        for i in 0..per_side {
            starts.push((
                margin + (i as f64 + rng.range(0.1, 0.9)) * separation,
                margin + (j as f64 + rng.range(0.1, 0.9)) * separation,
            ));
        }
    }
    rng.shuffle(&mut starts);

    let skip = (stop_d * 2.5 / step).ceil() as u32 + 2;
    for &(sx, sy) in &starts {
        if paths.len() >= max_paths {
            break;
        }
        let id = paths.len() as u32;
        if occ.near(sx, sy, separation, id, 0, 0) {
            continue;
        }
        // Trace both ways from the start with midpoint (RK2) steps.
        let mut halves: [Vec<(f64, f64)>; 2] = [Vec::new(), Vec::new()];
        // This path's own points, indexed along the path (start = 1_000_000, forward up, backward down), so a
        // path that curls back onto itself also stops; its most recent `skip` points are ignored.
        let mut local = Occupancy::new(separation);
        local.add(sx, sy, 0, 1_000_000);
        for (h, dir) in [1.0f64, -1.0].iter().enumerate() {
            let (mut x, mut y) = (sx, sy);
            let mut count = 0u32;
            while halves[0].len() + halves[1].len() < max_points {
                let a = angle(x, y);
                let (mx, my) = (
                    x + dir * math::cos(a) * step * 0.5,
                    y + dir * math::sin(a) * step * 0.5,
                );
                let b = angle(mx, my);
                let (nx, ny) = (x + dir * math::cos(b) * step, y + dir * math::sin(b) * step);
                if !inside(nx, ny) || occ.near(nx, ny, stop_d, u32::MAX, 0, 0) {
                    break;
                }
                count += 1;
                let k = if h == 0 {
                    1_000_000 + count
                } else {
                    1_000_000 - count
                };
                if local.near(nx, ny, stop_d, 0, k, skip) {
                    break;
                }
                local.add(nx, ny, 0, k);
                halves[h].push((nx, ny));
                x = nx;
                y = ny;
            }
        }
        let mut pts: Vec<(f64, f64)> = halves[1].iter().rev().copied().collect();
        pts.push((sx, sy));
        pts.extend(halves[0].iter().copied());
        if pts.len() < min_points {
            continue;
        }
        for (k, &(x, y)) in pts.iter().enumerate() {
            occ.add(x, y, id, k as u32);
        }
        paths.push(pts);
    }

    let mut scene = Scene::new(UNITS as f32, UNITS as f32, Some(ground));
    let mut total_points = 0usize;
    for pts in &paths {
        let (mx, my) = pts[pts.len() / 2];
        let t = match colour_mode {
            "field" => {
                0.5 + 0.5
                    * colour_field.get(
                        mx / UNITS * colour_scale + 7.1,
                        my / UNITS * colour_scale - 3.3,
                    )
                    * 1.2
                    + rng.range(-0.08, 0.08)
            }
            _ => rng.f64(),
        };
        let color = pal.sample(math::clamp01(t) as f32).with_alpha(alpha);
        let wv = width_field.get(mx / UNITS * 2.0, my / UNITS * 2.0);
        let width = (separation * width_ratio * (1.0 + width_vary * wv).max(0.2)).max(1.1);
        // Keep every second point: the step is small, the curves are smooth.
        let mut poly: Vec<(f32, f32)> = pts.iter().step_by(2).map(|&(x, y)| (q(x), q(y))).collect();
        let last = *pts.last().expect("non-empty");
        if (pts.len() - 1) % 2 != 0 {
            poly.push((q(last.0), q(last.1)));
        }
        total_points += poly.len();
        scene.push(Shape::Path {
            points: poly,
            closed: false,
            style: Style::stroke(color, q(width)),
        });
    }

    let params = serde_json::json!({
        "engine": "flow",
        "seed": p.seed,
        "size": p.size,
        "palette": palette_json(&pal),
        "ground": if dark { "dark" } else { "light" },
        "noise": "gradient noise fBm",
        "octaves": octaves,
        "frequency": frequency,
        "turn": turn,
        "base_angle": base_angle,
        "separation": separation / UNITS,
        "stop_ratio": stop_ratio,
        "width_ratio": width_ratio,
        "width_variation": width_vary,
        "alpha": alpha,
        "colour_mode": colour_mode,
        "colour_scale": colour_scale,
        "margin": margin / UNITS,
        "step": step / UNITS,
        "min_points": min_points,
        "max_points": max_points,
        "particles": paths.len(),
        "points": total_points,
    });
    Rendered {
        art: Artwork::Vector(scene),
        params,
    }
}
