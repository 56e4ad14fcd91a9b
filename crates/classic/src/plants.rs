//! Parallel botany: a plate of imaginary plants, each grown by a stochastic L-system and drawn by a turtle
//! (branching with [ ], jittered angles, stems tapering with depth and along their length, leaves,
//! flowers and orbs as small filled shapes), standing side by side on a ground line.

use crate::common::{hex, lerp_rgba, palette, palette_json, q, UNITS};
use crate::lsystem::{expand, Rule};
use crate::math;
use crate::rng::Rng;
use crate::{Artwork, Params, Rendered};
use bestiary_canvas::{Palette, Scene, Shape, Style};

/// Leaves sample the first part of the palette, flowers and fruit the rest.
pub fn default_palette() -> Palette {
    palette(
        "classic-plants-herbarium",
        &[
            0x27402b, 0x4a6b3a, 0x7f9c4f, 0xb7b86b, 0xd9a441, 0xd1495b, 0x8c2f56, 0x3f6c8f,
        ],
    )
}

/// Fewest stem segments a specimen may have.
const MIN_SEGMENTS: usize = 16;

struct Species {
    name: &'static str,
    axiom: &'static str,
    rules: &'static [Rule],
    /// Replacements for symbols left over after the last iteration (buds turning into organs).
    finals: &'static [Rule],
    iterations: usize,
    angle: f64,  // degrees
    jitter: f64, // degrees (standard deviation)
    length_decay: f64,
    width: f64,
    taper: f64,
    along: f64,
    tropism: f64,
    leaf: f64,
    flower: f64,
    orb: f64,
}

const SPECIES: &[Species] = &[
    Species {
        name: "herb",
        axiom: "X",
        rules: &[
            Rule {
                symbol: 'X',
                choices: &[
                    (0.34, "F[+XL]F[-X]+X"),
                    (0.33, "F[-XL]F[+X]-X"),
                    (0.33, "F[+X][-XL]FX"),
                ],
            },
            Rule {
                symbol: 'F',
                choices: &[(0.65, "FF"), (0.35, "F")],
            },
        ],
        finals: &[Rule {
            symbol: 'X',
            choices: &[(0.7, "L"), (0.3, "K")],
        }],
        iterations: 5,
        angle: 24.0,
        jitter: 6.0,
        length_decay: 0.93,
        width: 3.2,
        taper: 0.72,
        along: 0.985,
        tropism: 0.04,
        leaf: 7.0,
        flower: 5.5,
        orb: 2.5,
    },
    Species {
        name: "berry bush",
        axiom: "[+Y][-Y]Y",
        rules: &[
            Rule {
                symbol: 'Y',
                choices: &[
                    (0.5, "F[+YL][-YL]FY"),
                    (0.25, "F[+Y]FLY"),
                    (0.25, "F[-Y]FLY"),
                ],
            },
            Rule {
                symbol: 'F',
                choices: &[(0.5, "FF"), (0.5, "F")],
            },
        ],
        finals: &[Rule {
            symbol: 'Y',
            choices: &[(0.75, "L"), (0.25, "[o]L")],
        }],
        iterations: 4,
        angle: 26.0,
        jitter: 7.0,
        length_decay: 0.9,
        width: 3.6,
        taper: 0.7,
        along: 0.98,
        tropism: 0.02,
        leaf: 6.0,
        flower: 4.0,
        orb: 3.2,
    },
    Species {
        name: "umbel",
        axiom: "GS",
        rules: &[Rule {
            symbol: 'S',
            choices: &[
                (0.4, "G[&L]S"),
                (0.2, "GGS"),
                (0.15, "G[&&&S]S"),
                (
                    0.25,
                    "GG[++++++GGGK][++++GGGGK][++GGGGK][GGGGK][--GGGGK][----GGGGK][------GGGK]",
                ),
            ],
        }],
        finals: &[Rule {
            symbol: 'S',
            choices: &[(
                1.0,
                "GG[++++++GGGK][++++GGGGK][++GGGGK][GGGGK][--GGGGK][----GGGGK][------GGGK]",
            )],
        }],
        iterations: 8,
        angle: 8.0,
        jitter: 2.5,
        length_decay: 0.97,
        width: 2.8,
        taper: 0.7,
        along: 0.99,
        tropism: 0.06,
        leaf: 9.0,
        flower: 3.0,
        orb: 2.0,
    },
    Species {
        name: "reed",
        axiom: "[&&&&&&R][&&&&R][&&R][R][&&R][&&&&R][&&&&&&R][&Q][&&Q]",
        rules: &[
            Rule {
                symbol: 'R',
                choices: &[(0.93, "GR"), (0.07, "G")],
            },
            Rule {
                symbol: 'Q',
                choices: &[(0.95, "GQ"), (0.05, "GH")],
            },
        ],
        finals: &[Rule {
            symbol: 'Q',
            choices: &[(1.0, "H")],
        }],
        iterations: 16,
        angle: 6.0,
        jitter: 2.0,
        length_decay: 0.97,
        width: 3.0,
        taper: 0.8,
        along: 0.95,
        tropism: -0.07,
        leaf: 6.0,
        flower: 3.0,
        orb: 2.0,
    },
    Species {
        name: "tirillus",
        axiom: "A",
        rules: &[Rule {
            symbol: 'A',
            choices: &[
                (0.38, "GA"),
                (0.3, "G[+A][-A]"),
                (0.1, "G+A"),
                (0.1, "G-A"),
                (0.12, "Go"),
            ],
        }],
        finals: &[Rule {
            symbol: 'A',
            choices: &[(1.0, "o")],
        }],
        iterations: 10,
        angle: 28.0,
        jitter: 9.0,
        length_decay: 0.96,
        width: 2.2,
        taper: 0.8,
        along: 0.99,
        tropism: 0.03,
        leaf: 6.0,
        flower: 4.0,
        orb: 5.0,
    },
];

/// One drawn primitive, in the plant's local coordinates (root at the origin, growing toward -y).
enum Mark {
    Stem {
        points: Vec<(f64, f64)>,
        width: f64,
        depth: usize,
    },
    Leaf {
        x: f64,
        y: f64,
        angle: f64,
        len: f64,
        tone: f64,
    },
    Flower {
        x: f64,
        y: f64,
        angle: f64,
        r: f64,
    },
    Orb {
        x: f64,
        y: f64,
        r: f64,
    },
    Head {
        x: f64,
        y: f64,
        angle: f64,
        len: f64,
    },
}

#[derive(Clone)]
struct Turtle {
    x: f64,
    y: f64,
    heading: f64,
    depth: usize,
    width: f64,
    poly: Vec<(f64, f64)>,
    poly_width: f64,
}

fn draw_plant(sp: &Species, symbols: &[char], rng: &mut Rng) -> Vec<Mark> {
    let step0 = 10.0;
    let delta = sp.angle.to_radians();
    let jitter = sp.jitter.to_radians();
    let mut marks = Vec::new();
    let mut t = Turtle {
        x: 0.0,
        y: 0.0,
        heading: -math::PI / 2.0,
        depth: 0,
        width: sp.width,
        poly: vec![(0.0, 0.0)],
        poly_width: sp.width,
    };
    let mut stack: Vec<Turtle> = Vec::new();
    let mut leaf_side = 1.0;
    let flush = |t: &mut Turtle, marks: &mut Vec<Mark>| {
        if t.poly.len() >= 2 {
            let width = 0.5 * (t.poly_width + t.width);
            marks.push(Mark::Stem {
                points: std::mem::take(&mut t.poly),
                width,
                depth: t.depth,
            });
        }
        t.poly = vec![(t.x, t.y)];
        t.poly_width = t.width;
    };
    for &c in symbols {
        match c {
            'F' | 'G' => {
                let len = step0 * math::powi(sp.length_decay, t.depth as u32);
                t.x += math::cos(t.heading) * len;
                t.y += math::sin(t.heading) * len;
                // tropism: bend toward "up" (or away from it when negative)
                let up = -math::PI / 2.0;
                t.heading += sp.tropism * math::sin(math::wrap_angle(up - t.heading));
                t.poly.push((t.x, t.y));
                t.width *= sp.along;
                if t.width < t.poly_width * 0.85 {
                    flush(&mut t, &mut marks);
                }
            }
            '+' => t.heading -= delta + rng.normal() * jitter,
            '-' => t.heading += delta + rng.normal() * jitter,
            '&' => {
                let s = if rng.chance(0.5) { 1.0 } else { -1.0 };
                t.heading += s * (delta + rng.normal() * jitter);
            }
            '[' => {
                let mut saved = t.clone();
                saved.poly = std::mem::take(&mut t.poly);
                stack.push(saved);
                t.depth += 1;
                t.width *= sp.taper;
                t.poly = vec![(t.x, t.y)];
                t.poly_width = t.width;
            }
            ']' => {
                flush(&mut t, &mut marks);
                if let Some(s) = stack.pop() {
                    t = s;
                }
            }
            'L' => {
                leaf_side = -leaf_side;
                let angle = t.heading + leaf_side * rng.range(0.6, 1.0);
                let len = sp.leaf * rng.range(0.75, 1.25) * math::powi(0.96, t.depth as u32);
                marks.push(Mark::Leaf {
                    x: t.x,
                    y: t.y,
                    angle,
                    len,
                    tone: rng.f64(),
                });
            }
            'K' => marks.push(Mark::Flower {
                x: t.x,
                y: t.y,
                angle: t.heading,
                r: sp.flower * rng.range(0.8, 1.2),
            }),
            'o' => marks.push(Mark::Orb {
                x: t.x,
                y: t.y,
                r: sp.orb * rng.range(0.7, 1.3),
            }),
            'H' => marks.push(Mark::Head {
                x: t.x,
                y: t.y,
                angle: t.heading,
                len: sp.leaf * 3.0,
            }),
            _ => {}
        }
    }
    flush(&mut t, &mut marks);
    marks
}

/// A leaf (lens/lanceolate outline) from (x, y) pointing along `angle`, as a closed polygon.
fn leaf_outline(x: f64, y: f64, angle: f64, len: f64, breadth: f64) -> Vec<(f32, f32)> {
    let (c, s) = (math::cos(angle), math::sin(angle));
    let n = 7;
    let mut pts = Vec::with_capacity(2 * n);
    for side in [1.0, -1.0] {
        for k in 0..=n {
            let k = if side > 0.0 { k } else { n - k };
            if side < 0.0 && (k == n || k == 0) {
                continue;
            }
            let u = k as f64 / n as f64;
            let along = len * u;
            // fuller toward the base, pointed at the tip
            let half = side * len * breadth * math::sin(math::PI * u) * (1.0 - 0.35 * u);
            pts.push((q(x + along * c - half * s), q(y + along * s + half * c)));
        }
    }
    pts
}

pub fn render(p: &Params) -> Rendered {
    let mut rng = Rng::stream(p.seed, "plants");
    let count = rng.int(3, 5) as usize;
    let mut order: Vec<usize> = (0..SPECIES.len()).collect();
    rng.shuffle(&mut order);
    let chosen: Vec<usize> = (0..count).map(|k| order[k % order.len()]).collect();
    let pal = p.palette.clone().unwrap_or_else(default_palette);
    let paper = hex(0xf1eadb);
    let ink = hex(0x2e2a22);
    let ground_y = UNITS * rng.range(0.86, 0.9);
    let margin = UNITS * 0.07;
    let top = UNITS * 0.07;

    let mut scene = Scene::new(UNITS as f32, UNITS as f32, Some(paper));
    // Plate border: a thin double rule.
    let frame_inset = UNITS * 0.03;
    scene.push(Shape::Rect {
        x: q(frame_inset),
        y: q(frame_inset),
        w: q(UNITS - 2.0 * frame_inset),
        h: q(UNITS - 2.0 * frame_inset),
        style: Style::stroke(ink.with_alpha(0.7), 1.6),
    });
    scene.push(Shape::Rect {
        x: q(frame_inset + 6.0),
        y: q(frame_inset + 6.0),
        w: q(UNITS - 2.0 * frame_inset - 12.0),
        h: q(UNITS - 2.0 * frame_inset - 12.0),
        style: Style::stroke(ink.with_alpha(0.45), 0.7),
    });
    // Soil: a soft band below the ground line.
    let soil = lerp_rgba(paper, hex(0xb49a74), 0.35);
    scene.push(Shape::Rect {
        x: q(frame_inset + 6.0),
        y: q(ground_y),
        w: q(UNITS - 2.0 * frame_inset - 12.0),
        h: q(UNITS - frame_inset - 6.0 - ground_y),
        style: Style::fill(soil),
    });

    let slot = (UNITS - 2.0 * margin) / count as f64;
    let mut plants_json = Vec::new();
    let mut plant_marks = Vec::new();
    for (k, &si) in chosen.iter().enumerate() {
        let sp = &SPECIES[si];
        let mut prng = rng.fork();
        // A stochastic system can stop almost at once (a bud terminating on the first step); regrow those
        // (a bounded number of times) so every specimen on the plate is a real plant.
        let (mut syms, mut done) = expand(sp.axiom, sp.rules, sp.iterations, 60_000, &mut prng);
        for _ in 0..8 {
            if syms.iter().filter(|c| matches!(c, 'F' | 'G')).count() >= MIN_SEGMENTS {
                break;
            }
            (syms, done) = expand(sp.axiom, sp.rules, sp.iterations, 60_000, &mut prng);
        }
        syms = crate::lsystem::rewrite(&syms, sp.finals, &mut prng);
        let marks = draw_plant(sp, &syms, &mut prng);
        // Bounds in local units (stems and organ extents).
        let (mut x0, mut x1, mut y0) = (0.0f64, 0.0f64, 0.0f64);
        let mut extend = |x: f64, y: f64, r: f64| {
            x0 = x0.min(x - r);
            x1 = x1.max(x + r);
            y0 = y0.min(y - r);
        };
        for m in &marks {
            match m {
                Mark::Stem { points, .. } => points.iter().for_each(|&(x, y)| extend(x, y, 0.0)),
                Mark::Leaf { x, y, len, .. } => extend(*x, *y, *len),
                Mark::Flower { x, y, r, .. } | Mark::Orb { x, y, r } => extend(*x, *y, *r * 1.3),
                Mark::Head { x, y, len, .. } => extend(*x, *y, *len),
            }
        }
        let height_share = prng.range(0.62, 0.97);
        let max_h = (ground_y - top) * height_share;
        let scale = (slot * (0.8 + 0.15 * count as f64) / (x1 - x0).max(1e-6))
            .min(max_h / (-y0).max(1e-6))
            .min(8.0);
        let cx = margin + (k as f64 + 0.5) * slot + prng.range(-0.06, 0.06) * slot;
        // centre the drawing's bounds on the slot, keeping the root inside the slot
        let root_x = (cx - (x0 + x1) * 0.5 * scale).clamp(
            margin + k as f64 * slot + 8.0,
            margin + (k + 1) as f64 * slot - 8.0,
        );
        let flower_color = pal.sample(prng.range(0.55, 1.0) as f32);
        let petals = prng.int(5, 7) as usize;
        plants_json.push(serde_json::json!({
            "species": sp.name,
            "iterations": done,
            "symbols": syms.len(),
            "angle_deg": sp.angle,
            "jitter_deg": sp.jitter,
            "scale": scale,
            "root_x": root_x / UNITS,
            "petals": petals,
            "flower_color": crate::common::hex_string(flower_color),
        }));
        plant_marks.push((marks, scale, root_x, flower_color, petals));
    }

    // Stems first (all plants), then organs on top.
    let stem_color = |depth: usize| lerp_rgba(ink, pal.sample(0.1), (depth as f32 * 0.18).min(0.6));
    let tf = |x: f64, y: f64, s: f64, rx: f64| (rx + x * s, ground_y + y * s);
    for (marks, scale, rx, _, _) in &plant_marks {
        for m in marks {
            if let Mark::Stem {
                points,
                width,
                depth,
            } = m
            {
                let pts: Vec<(f32, f32)> = points
                    .iter()
                    .map(|&(x, y)| {
                        let (a, b) = tf(x, y, *scale, *rx);
                        (q(a), q(b))
                    })
                    .collect();
                let w = (width * math::pow(*scale, 0.6)).clamp(0.5, 10.0);
                scene.push(Shape::Path {
                    points: pts,
                    closed: false,
                    style: Style::stroke(stem_color(*depth), q(w)),
                });
            }
        }
    }
    for (marks, scale, rx, flower_color, petals) in &plant_marks {
        let organ = math::pow(*scale, 0.75).clamp(0.6, 3.5);
        for m in marks {
            match m {
                Mark::Leaf {
                    x,
                    y,
                    angle,
                    len,
                    tone,
                } => {
                    let (a, b) = tf(*x, *y, *scale, *rx);
                    let c = pal.sample((0.05 + 0.4 * tone) as f32).with_alpha(0.92);
                    scene.push(Shape::Path {
                        points: leaf_outline(a, b, *angle, len * organ * 2.0, 0.22),
                        closed: true,
                        style: Style::fill(c),
                    });
                }
                Mark::Flower { x, y, angle, r } => {
                    let (a, b) = tf(*x, *y, *scale, *rx);
                    let r = r * organ * 1.6;
                    for i in 0..*petals {
                        let pa = angle + math::TAU * i as f64 / *petals as f64;
                        scene.push(Shape::Path {
                            points: leaf_outline(a, b, pa, r, 0.3),
                            closed: true,
                            style: Style::fill(flower_color.with_alpha(0.9)),
                        });
                    }
                    scene.push(Shape::Circle {
                        cx: q(a),
                        cy: q(b),
                        r: q(r * 0.28),
                        style: Style::fill(lerp_rgba(*flower_color, ink, 0.55)),
                    });
                }
                Mark::Orb { x, y, r } => {
                    let (a, b) = tf(*x, *y, *scale, *rx);
                    let r = r * organ * 1.4;
                    scene.push(Shape::Circle {
                        cx: q(a),
                        cy: q(b),
                        r: q(r),
                        style: Style::fill(*flower_color),
                    });
                    scene.push(Shape::Circle {
                        cx: q(a - r * 0.3),
                        cy: q(b - r * 0.3),
                        r: q(r * 0.3),
                        style: Style::fill(lerp_rgba(*flower_color, paper, 0.6)),
                    });
                }
                Mark::Head { x, y, angle, len } => {
                    let (a, b) = tf(*x, *y, *scale, *rx);
                    let c = lerp_rgba(hex(0x8a5a2b), ink, 0.2);
                    scene.push(Shape::Path {
                        points: leaf_outline(a, b, *angle, len * organ * 1.5, 0.12),
                        closed: true,
                        style: Style::fill(c),
                    });
                }
                Mark::Stem { .. } => {}
            }
        }
    }
    // Ground line: a slightly wavering ink rule.
    let mut ground = Vec::new();
    let n = 60;
    let wob = rng.range(0.0, 100.0);
    for i in 0..=n {
        let x = frame_inset + 6.0 + (UNITS - 2.0 * frame_inset - 12.0) * i as f64 / n as f64;
        let y = ground_y
            + 1.2 * math::sin(wob + i as f64 * 0.7)
            + 0.8 * math::sin(wob * 1.3 + i as f64 * 1.9);
        ground.push((q(x), q(y)));
    }
    scene.push(Shape::Path {
        points: ground,
        closed: false,
        style: Style::stroke(ink, 1.8),
    });

    let params = serde_json::json!({
        "engine": "plants",
        "seed": p.seed,
        "size": p.size,
        "palette": palette_json(&pal),
        "count": count,
        "ground_line": ground_y / UNITS,
        "paper": crate::common::hex_string(paper),
        "ink": crate::common::hex_string(ink),
        "plants": plants_json,
    });
    Rendered {
        art: Artwork::Vector(scene),
        params,
    }
}
