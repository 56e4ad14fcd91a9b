//! Hypnotic squares, after Roger Kolomyjec's 1970s plotter works: a grid of tiles, each a square that
//! recurses inward a random number of steps, the nested squares shrinking and drifting toward a per-tile
//! direction, drawn as thin strokes on a light or dark ground.

use crate::common::{hex, palette, palette_json, q, UNITS};
use crate::rng::Rng;
use crate::{Artwork, Params, Rendered};
use bestiary_canvas::{Palette, Rgba, Scene, Shape, Style};

pub const MIN_STEPS: i64 = 3;
pub const MAX_STEPS: i64 = 10;

/// Tints on a light ground: deep inks.
fn default_light() -> Palette {
    palette("classic-squares-ink", &[0x1d3557, 0xb5192a, 0xd18a1f, 0x2a6f6b, 0x3d405b])
}
/// Tints on a dark ground: chalky pastels.
fn default_dark() -> Palette {
    palette("classic-squares-chalk", &[0xf2cc8f, 0xe07a5f, 0x81b29a, 0xf4f1de, 0x8ecae6])
}

pub struct Tile {
    pub steps: u32,
    pub dx: i32,
    pub dy: i32,
}

pub fn render(p: &Params) -> Rendered {
    let mut rng = Rng::stream(p.seed, "squares");
    let grid = *rng.pick(&[4i64, 5, 5, 6, 6, 6, 7, 7, 8]) as usize;
    let margin = rng.range(0.06, 0.1) * UNITS;
    let gap_frac = if rng.chance(0.5) { 0.0 } else { rng.range(0.04, 0.12) };
    let dark = rng.chance(0.35);
    let inner_frac = rng.range(0.06, 0.2);
    let drift = rng.range(0.75, 1.0);
    let ease = rng.range(0.85, 1.35);
    let tint_mode = match (p.palette.is_some(), rng.weighted(&[0.4, 0.35, 0.25])) {
        (false, 0) => "ink",
        (true, 0) | (_, 1) => "tile",
        _ => "depth",
    };
    let (ground, ink) = if dark { (hex(0x121317), hex(0xe9e4d8)) } else { (hex(0xf3efe6), hex(0x1c1c22)) };
    let pal = p.palette.clone().unwrap_or_else(|| if dark { default_dark() } else { default_light() });

    let cell = (UNITS - 2.0 * margin) / grid as f64;
    let gap = cell * gap_frac;
    let outer = cell - gap;
    let inner = outer * inner_frac;
    let width = (cell * 0.011).max(0.9);

    let mut scene = Scene::new(UNITS as f32, UNITS as f32, Some(ground));
    let mut tiles = Vec::with_capacity(grid * grid);
    for row in 0..grid {
        for col in 0..grid {
            let steps = rng.int(MIN_STEPS, MAX_STEPS) as u32;
            let dx = rng.int(-1, 1) as i32;
            let dy = rng.int(-1, 1) as i32;
            let tile_tint = pal.pick(rng.below(pal.colors.len() as u64) as usize);
            let cx = margin + (col as f64 + 0.5) * cell;
            let cy = margin + (row as f64 + 0.5) * cell;
            let room = (outer - inner) / 2.0 * drift;
            for i in 0..=steps {
                let t = crate::math::pow(i as f64 / steps as f64, ease);
                let side = outer + (inner - outer) * t;
                let x = cx + dx as f64 * room * t - side / 2.0;
                let y = cy + dy as f64 * room * t - side / 2.0;
                let color: Rgba = match tint_mode {
                    "ink" => ink,
                    "tile" => tile_tint,
                    _ => pal.sample(i as f32 / steps as f32),
                };
                scene.push(Shape::Rect { x: q(x), y: q(y), w: q(side), h: q(side), style: Style::stroke(color, q(width)) });
            }
            tiles.push(Tile { steps, dx, dy });
        }
    }

    let params = serde_json::json!({
        "engine": "squares",
        "seed": p.seed,
        "size": p.size,
        "palette": palette_json(&pal),
        "grid": grid,
        "margin": margin / UNITS,
        "gap": gap_frac,
        "ground": if dark { "dark" } else { "light" },
        "tint": tint_mode,
        "steps_range": [MIN_STEPS, MAX_STEPS],
        "inner_fraction": inner_frac,
        "drift": drift,
        "ease": ease,
        "stroke_width": width / UNITS,
        "tiles": tiles.iter().map(|t| serde_json::json!([t.steps, t.dx, t.dy])).collect::<Vec<_>>(),
    });
    Rendered { art: Artwork::Vector(scene), params }
}
