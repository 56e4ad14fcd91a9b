//! Neural circuitry in the manner of reflective micro-etchings: somata on a dark ground, dendritic arbors
//! grown by space colonization, long wandering axons, and a sheen that depends on each segment's angle to
//! the light: brightness = |cos(segment angle - light angle)|^k, mapped through a gold-on-black palette.
//! The geometry is grown once per seed; frames only recolour it, so an animation sweeps the light a full
//! turn and loops seamlessly.

use crate::colonize::{self, Node, Settings};
use crate::common::{hex, palette, palette_json, q, UNITS};
use crate::math;
use crate::rng::Rng;
use crate::{Artwork, Params, Rendered};
use bestiary_canvas::{Palette, Rgba, Scene, Shape, Style};

pub fn default_palette() -> Palette {
    palette(
        "classic-neurons-gilt",
        &[0x120a04, 0x3d2309, 0x7c4a14, 0xc08a2e, 0xf0c45c, 0xfff1c9],
    )
}

#[derive(Clone, Copy, Debug)]
pub struct Segment {
    pub a: (f64, f64),
    pub b: (f64, f64),
    pub width: f64,
    pub axon: bool,
    /// Smoothed tangent (unit vector) that sets the segment's sheen: averaging over a few segments keeps
    /// brightness flowing along a branch instead of flickering segment by segment.
    pub tangent: (f64, f64),
}

fn unit(dx: f64, dy: f64) -> (f64, f64) {
    let l = math::hypot(dx, dy);
    if l < 1e-12 {
        (1.0, 0.0)
    } else {
        (dx / l, dy / l)
    }
}

#[derive(Clone, Debug)]
pub struct Soma {
    pub x: f64,
    pub y: f64,
    pub r: f64,
}

/// Everything that does not depend on the light.
pub struct Geometry {
    pub segments: Vec<Segment>,
    pub somata: Vec<Soma>,
    pub dust: Vec<(f64, f64, f64, f64)>, // x, y, r, tone
    pub ground: Rgba,
    pub palette: Palette,
    pub sharpness: u32,
    pub ambient: f64,
    pub sheen: f64,
    /// Light angle of the still picture, in 2^-20 turns.
    pub light0: u64,
    pub params: serde_json::Value,
}

pub fn grow(p: &Params) -> Geometry {
    let mut rng = Rng::stream(p.seed, "neurons");
    let count = rng.int(3, 6) as usize;
    let margin = 0.06 * UNITS;
    // Somata: rejection-sampled so they keep apart.
    let mut somata: Vec<Soma> = Vec::new();
    let min_gap = UNITS * (0.42 - 0.04 * count as f64);
    let mut tries = 0;
    while somata.len() < count && tries < 2000 {
        tries += 1;
        let x = rng.range(0.16, 0.84) * UNITS;
        let y = rng.range(0.16, 0.84) * UNITS;
        let gap = if tries < 1000 { min_gap } else { min_gap * 0.6 };
        if somata.iter().all(|s| math::hypot(s.x - x, s.y - y) > gap) {
            somata.push(Soma {
                x,
                y,
                r: rng.range(12.0, 20.0),
            });
        }
    }

    // Attraction points: each soma gets a territory shaped by its cell type (stellate: a disc; pyramidal:
    // a basal disc, a long apical shaft and a tuft; Purkinje-like: a dense fan), plus a sparse scatter
    // everywhere so arbors reach into the gaps.
    let territory = rng.range(160.0, 230.0) * math::sqrt(4.5 / count as f64).min(1.25);
    let per_soma = rng.int(1400, 2000) as usize;
    let mut attractors: Vec<(f64, f64)> = Vec::new();
    let mut orientations = Vec::new();
    let mut kinds = Vec::new();
    for s in &somata {
        let theta = rng.range(0.0, math::TAU);
        let kind = rng.weighted(&[0.35, 0.45, 0.2]);
        orientations.push(theta);
        kinds.push(kind);
        let (ct, st) = (math::cos(theta), math::sin(theta));
        let local = |along: f64, across: f64| {
            (
                s.x + along * ct - across * st,
                s.y + along * st + across * ct,
            )
        };
        // lobed, irregular outlines instead of perfect discs
        let (p2, p3) = (rng.range(0.0, math::TAU), rng.range(0.0, math::TAU));
        let lobes = |a: f64| 1.0 + 0.22 * math::sin(2.0 * a + p2) + 0.14 * math::sin(3.0 * a + p3);
        for _ in 0..per_soma {
            let (x, y) = match kind {
                0 => {
                    let a = rng.range(0.0, math::TAU);
                    let r = territory * lobes(a) * math::pow(rng.f64(), 0.7);
                    (s.x + r * math::cos(a), s.y + r * math::sin(a))
                }
                1 => {
                    let part = rng.weighted(&[0.4, 0.45, 0.15]);
                    if part == 0 {
                        let a = rng.range(0.0, math::TAU);
                        let r = 0.7 * territory * lobes(a) * math::pow(rng.f64(), 0.7);
                        let (bx, by) = local(-0.15 * territory, 0.0);
                        (bx + r * math::cos(a), by + r * math::sin(a))
                    } else if part == 1 {
                        let along = rng.range(0.15, 2.1) * territory;
                        local(
                            along,
                            rng.normal() * territory * (0.08 + 0.06 * along / territory),
                        )
                    } else {
                        let r = 0.6 * territory * math::sqrt(rng.f64());
                        let a = rng.range(0.0, math::TAU);
                        let (tx, ty) = local(2.1 * territory, 0.0);
                        (tx + r * math::cos(a), ty + r * math::sin(a))
                    }
                }
                _ => {
                    let a = rng.normal() * 0.5;
                    let r = 1.35 * territory * math::pow(rng.f64(), 0.6);
                    local(r * math::cos(a), r * math::sin(a))
                }
            };
            if x > margin && y > margin && x < UNITS - margin && y < UNITS - margin {
                attractors.push((x, y));
            }
        }
    }
    for _ in 0..(80 + 20 * count) {
        attractors.push((
            rng.range(margin, UNITS - margin),
            rng.range(margin, UNITS - margin),
        ));
    }

    // Roots: dendrite stems leaving each soma, pre-grown a few steps so they start out radially.
    let settings = Settings {
        influence: rng.range(32.0, 48.0),
        kill: rng.range(5.0, 7.0),
        step: 3.0,
        inertia: rng.range(0.4, 0.9),
        jitter: rng.range(0.05, 0.14),
        max_iterations: 420,
        max_nodes: 16000,
        max_children: 3,
    };
    let mut nodes: Vec<Node> = Vec::new();
    for (t, s) in somata.iter().enumerate() {
        let theta = orientations[t];
        let dirs: Vec<f64> = match kinds[t] {
            0 => {
                let n = rng.int(5, 8);
                let off = rng.range(0.0, math::TAU);
                (0..n)
                    .map(|k| off + math::TAU * (k as f64 + rng.range(-0.3, 0.3)) / n as f64)
                    .collect()
            }
            1 => {
                let mut d = vec![theta];
                let n = rng.int(3, 5);
                for k in 0..n {
                    let spread = (k as f64 + 0.5) / n as f64 - 0.5;
                    d.push(theta + math::PI + spread * 3.4 + rng.normal() * 0.15);
                }
                d
            }
            _ => {
                let n = rng.int(2, 3);
                (0..n)
                    .map(|k| theta + ((k as f64 + 0.5) / n as f64 - 0.5) * 1.1 + rng.normal() * 0.1)
                    .collect()
            }
        };
        let centre = nodes.len();
        nodes.push(Node {
            x: s.x,
            y: s.y,
            parent: None,
            tree: t,
            children: 0,
        });
        for &a in &dirs {
            let mut prev = centre;
            let (mut x, mut y) = (s.x, s.y);
            for step in 0..((s.r / settings.step) as usize + 3) {
                let wig = if step > 1 { rng.normal() * 0.05 } else { 0.0 };
                x += math::cos(a + wig) * settings.step;
                y += math::sin(a + wig) * settings.step;
                nodes[prev].children += 1;
                nodes.push(Node {
                    x,
                    y,
                    parent: Some(prev),
                    tree: t,
                    children: 0,
                });
                prev = nodes.len() - 1;
            }
        }
    }
    let iterations = colonize::grow(&mut nodes, &attractors, UNITS, &settings, &mut rng.fork());
    let leaf = 0.7;
    let gamma = rng.range(2.0, 2.4);
    let widths = colonize::pipe_widths(&nodes, leaf, gamma);

    let mut segments: Vec<Segment> = Vec::new();
    // Axons first (drawn beneath the dendrites): a smooth random walk leaving the soma opposite its apical
    // lobe, turning away from the borders, with a few terminal branches.
    let axon_len = rng.range(260.0, 520.0);
    for (t, s) in somata.iter().enumerate() {
        let mut a = orientations[t] + math::PI + rng.normal() * 0.4;
        let (mut x, mut y) = (s.x + math::cos(a) * s.r, s.y + math::sin(a) * s.r);
        let mut curl = 0.0;
        let steps = (axon_len / 4.0) as usize;
        let mut branch_points = Vec::new();
        for k in 0..steps {
            curl = curl * 0.85 + rng.normal() * 0.018;
            a += curl;
            // steer back toward the centre near the borders
            let (cx, cy) = (UNITS / 2.0 - x, UNITS / 2.0 - y);
            let edge = (x.min(y).min(UNITS - x).min(UNITS - y) / (0.15 * UNITS)).min(1.0);
            if edge < 1.0 {
                let want = math::atan2(cy, cx);
                a += math::wrap_angle(want - a) * 0.08 * (1.0 - edge);
            }
            let (nx, ny) = (x + math::cos(a) * 4.0, y + math::sin(a) * 4.0);
            let w = 1.5 - 0.8 * (k as f64 / steps as f64);
            segments.push(Segment {
                a: (x, y),
                b: (nx, ny),
                width: w,
                axon: true,
                tangent: unit(nx - x, ny - y),
            });
            if k > steps / 3 && rng.chance(0.025) {
                branch_points.push((nx, ny, a));
            }
            x = nx;
            y = ny;
        }
        branch_points.push((x, y, a));
        for &(bx, by, ba) in &branch_points {
            for side in [-1.0, 1.0] {
                let mut a2 = ba + side * rng.range(0.3, 0.9);
                let (mut x2, mut y2) = (bx, by);
                let n = rng.int(8, 22);
                for k in 0..n {
                    a2 += rng.normal() * 0.12;
                    let (nx, ny) = (x2 + math::cos(a2) * 3.5, y2 + math::sin(a2) * 3.5);
                    segments.push(Segment {
                        a: (x2, y2),
                        b: (nx, ny),
                        width: 0.9 - 0.4 * k as f64 / n as f64,
                        axon: true,
                        tangent: unit(nx - x2, ny - y2),
                    });
                    x2 = nx;
                    y2 = ny;
                }
            }
        }
    }
    let max_w = somata.iter().map(|s| s.r).fold(0.0, f64::max) * 0.55;
    for (k, n) in nodes.iter().enumerate() {
        if let Some(par) = n.parent {
            let pn = &nodes[par];
            let mut anc = par;
            for _ in 0..3 {
                match nodes[anc].parent {
                    Some(up) => anc = up,
                    None => break,
                }
            }
            let tangent = unit(n.x - nodes[anc].x, n.y - nodes[anc].y);
            segments.push(Segment {
                a: (pn.x, pn.y),
                b: (n.x, n.y),
                width: widths[k].min(max_w),
                axon: false,
                tangent,
            });
        }
    }

    // Faint specks on the ground.
    let dust: Vec<(f64, f64, f64, f64)> = (0..rng.int(250, 450))
        .map(|_| {
            (
                rng.range(0.0, UNITS),
                rng.range(0.0, UNITS),
                rng.range(0.5, 1.6),
                rng.range(0.15, 0.35),
            )
        })
        .collect();

    let sharpness = rng.int(2, 4) as u32;
    let ambient = rng.range(0.18, 0.28);
    let sheen = rng.range(0.25, 0.45);
    let light0 = rng.below(LIGHT_STEPS);
    let pal = p.palette.clone().unwrap_or_else(default_palette);
    let ground = hex(0x07050a);
    let params = serde_json::json!({
        "engine": "neurons",
        "seed": p.seed,
        "size": p.size,
        "palette": palette_json(&pal),
        "ground": crate::common::hex_string(ground),
        "somata": somata.iter().map(|s| serde_json::json!([s.x / UNITS, s.y / UNITS, s.r / UNITS])).collect::<Vec<_>>(),
        "territory": territory / UNITS,
        "attractors": attractors.len(),
        "cell_types": kinds.iter().map(|k| ["stellate", "pyramidal", "fan"][*k]).collect::<Vec<_>>(),
        "orientations": orientations,
        "influence_radius": settings.influence / UNITS,
        "kill_distance": settings.kill / UNITS,
        "step": settings.step / UNITS,
        "inertia": settings.inertia,
        "jitter": settings.jitter,
        "iterations": iterations,
        "nodes": nodes.len(),
        "pipe_gamma": gamma,
        "leaf_width": leaf / UNITS,
        "axon_length": axon_len / UNITS,
        "segments": segments.len(),
        "dust": dust.len(),
        "sharpness_k": sharpness,
        "ambient": ambient,
        "sheen": sheen,
        "light_turn": light0 as f64 / LIGHT_STEPS as f64,
        "brightness": "ambient + (1 - ambient) * |cos(segment_angle - light_angle)|^k * spatial sheen",
    });
    Geometry {
        segments,
        somata,
        dust,
        ground,
        palette: pal,
        sharpness,
        ambient,
        sheen,
        light0,
        params,
    }
}

/// Resolution of the still picture's light angle.
pub const LIGHT_STEPS: u64 = 1 << 20;

/// Light position of frame `i` of `n` (in turns, [0, 1)), from the still picture's angle, in exact integer
/// arithmetic: frame i and frame i + n are the same light, so an animation loops exactly.
pub fn light_turn(g: &Geometry, i: u64, n: u64) -> f64 {
    let n = n.max(1);
    let den = n * LIGHT_STEPS;
    let num = (g.light0 * n + (i % n) * LIGHT_STEPS) % den;
    num as f64 / den as f64
}

/// The scene lit from the angle `turn` (in turns: 0..1 is one full revolution).
pub fn frame(g: &Geometry, turn: f64) -> Scene {
    let light = math::TAU * turn;
    let (lc, ls) = (math::cos(light), math::sin(light));
    let mut scene = Scene::new(UNITS as f32, UNITS as f32, Some(g.ground));
    let half = UNITS / 2.0;
    // Spatial sheen: the side of the plate facing the light is brighter (this also makes a half turn of the
    // light visibly different from the start, so every frame of a full turn is distinct).
    // The plate's half diagonal, rounded as the golden frames were drawn with it (not exactly √2).
    #[allow(clippy::approx_constant)]
    let half_diagonal = half * 1.4142;
    let spatial = |x: f64, y: f64| -> f64 {
        let d = ((x - half) * lc + (y - half) * ls) / half_diagonal;
        1.0 - g.sheen * 0.5 * (1.0 - d)
    };
    for &(x, y, r, tone) in &g.dust {
        let c = g
            .palette
            .sample((tone * spatial(x, y)) as f32)
            .with_alpha(0.55);
        scene.push(Shape::Circle {
            cx: q(x),
            cy: q(y),
            r: q(r),
            style: Style::fill(c),
        });
    }
    for s in &g.segments {
        // |cos(angle - light)| = |dot(unit tangent, light direction)|
        let c = (s.tangent.0 * lc + s.tangent.1 * ls).abs();
        let b = math::powi(c, g.sharpness);
        let (mx, my) = ((s.a.0 + s.b.0) * 0.5, (s.a.1 + s.b.1) * 0.5);
        let gain = if s.axon { 0.92 } else { 1.0 };
        let t = g.ambient + (1.0 - g.ambient) * b * spatial(mx, my) * gain;
        let color = g.palette.sample(math::clamp01(t) as f32);
        scene.push(Shape::Path {
            points: vec![(q(s.a.0), q(s.a.1)), (q(s.b.0), q(s.b.1))],
            closed: false,
            style: Style::stroke(color, q(s.width.max(0.35))),
        });
    }
    for s in &g.somata {
        let sp = spatial(s.x, s.y);
        let body = g.palette.sample((0.35 + 0.25 * sp) as f32);
        scene.push(Shape::Circle {
            cx: q(s.x),
            cy: q(s.y),
            r: q(s.r),
            style: Style::fill(body),
        });
        // A highlight offset toward the light, then a small bright glint: the soma reads as a polished dome.
        let hl = g.palette.sample((0.55 + 0.3 * sp) as f32);
        scene.push(Shape::Circle {
            cx: q(s.x + lc * s.r * 0.25),
            cy: q(s.y + ls * s.r * 0.25),
            r: q(s.r * 0.62),
            style: Style::fill(hl),
        });
        let glint = g.palette.sample((0.8 + 0.2 * sp) as f32);
        scene.push(Shape::Circle {
            cx: q(s.x + lc * s.r * 0.45),
            cy: q(s.y + ls * s.r * 0.45),
            r: q(s.r * 0.25),
            style: Style::fill(glint),
        });
    }
    scene
}

pub fn render(p: &Params) -> Rendered {
    let g = grow(p);
    let scene = frame(&g, light_turn(&g, 0, 1));
    Rendered {
        art: Artwork::Vector(scene),
        params: g.params,
    }
}

/// `frames` rasters at `p.size`, the light swept one full turn starting at the still picture's angle.
pub fn animate(p: &Params, frames: usize) -> Vec<bestiary_canvas::Image> {
    let g = grow(p);
    (0..frames as u64)
        .map(|i| frame(&g, light_turn(&g, i, frames as u64)).render(p.size, p.size))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Params {
        Params {
            seed: 5,
            size: 48,
            palette: None,
        }
    }

    #[test]
    fn light_turn_wraps_exactly_after_a_full_turn() {
        let g = grow(&small());
        for n in [1u64, 3, 7, 24] {
            assert_eq!(
                light_turn(&g, n, n).to_bits(),
                light_turn(&g, 0, n).to_bits()
            );
            assert_eq!(
                light_turn(&g, n + 2, n).to_bits(),
                light_turn(&g, 2, n).to_bits()
            );
            for i in 0..n {
                let t = light_turn(&g, i, n);
                assert!((0.0..1.0).contains(&t));
            }
        }
        // the same light position reached with different frame counts is the same number
        assert_eq!(
            light_turn(&g, 2, 8).to_bits(),
            light_turn(&g, 1, 4).to_bits()
        );
        assert_eq!(
            light_turn(&g, 0, 1).to_bits(),
            (g.light0 as f64 / LIGHT_STEPS as f64).to_bits()
        );
    }

    #[test]
    fn frame_one_turn_later_is_identical() {
        let g = grow(&small());
        let n = 6;
        let first = frame(&g, light_turn(&g, 0, n)).render(48, 48);
        let again = frame(&g, light_turn(&g, n, n)).render(48, 48);
        assert_eq!(first, again);
        let half = frame(&g, light_turn(&g, n / 2, n)).render(48, 48);
        assert_ne!(first, half, "a half turn lights the plate differently");
    }

    #[test]
    fn brightness_follows_segment_angle() {
        // A segment parallel to the light is brighter than one across it.
        let g = grow(&small());
        let scene = frame(&g, 0.0); // light along +x
        let lum = |c: Rgba| c.r + c.g + c.b;
        let mut along = None;
        let mut across = None;
        let dust = g.dust.len();
        for (k, s) in g.segments.iter().enumerate() {
            let Shape::Path { style, .. } = &scene.shapes[dust + k] else {
                panic!("segment is a path")
            };
            let c = style.stroke.as_ref().expect("stroked").color;
            if s.tangent.0.abs() > 0.99 && along.is_none() {
                along = Some(lum(c));
            }
            if s.tangent.1.abs() > 0.99 && across.is_none() {
                across = Some(lum(c));
            }
        }
        let (a, b) = (
            along.expect("a horizontal segment"),
            across.expect("a vertical segment"),
        );
        assert!(a > b + 0.5, "along {a} across {b}");
    }

    #[test]
    fn geometry_has_every_part() {
        let g = grow(&small());
        assert!((3..=6).contains(&g.somata.len()));
        assert!(g.segments.iter().any(|s| s.axon));
        assert!(g.segments.iter().filter(|s| !s.axon).count() > 1000);
        // dendrites taper: the widest segment is much wider than the median one
        let mut w: Vec<f64> = g
            .segments
            .iter()
            .filter(|s| !s.axon)
            .map(|s| s.width)
            .collect();
        w.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert!(w[w.len() - 1] > 4.0 * w[w.len() / 2]);
    }
}
