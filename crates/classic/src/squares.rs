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
    palette(
        "classic-squares-ink",
        &[0x1d3557, 0xb5192a, 0xd18a1f, 0x2a6f6b, 0x3d405b],
    )
}
/// Tints on a dark ground: chalky pastels.
fn default_dark() -> Palette {
    palette(
        "classic-squares-chalk",
        &[0xf2cc8f, 0xe07a5f, 0x81b29a, 0xf4f1de, 0x8ecae6],
    )
}

pub struct Tile {
    pub steps: u32,
    pub dx: i32,
    pub dy: i32,
    /// Whether the tile's strokes take a palette colour.
    pub accented: bool,
}

pub fn render(p: &Params) -> Rendered {
    let mut rng = Rng::stream(p.seed, "squares");
    let grid = *rng.pick(&[4i64, 5, 5, 6, 6, 6, 7, 7, 8]) as usize;
    let margin = rng.range(0.06, 0.1) * UNITS;
    let gap_frac = if rng.chance(0.3) {
        0.0
    } else {
        rng.range(0.05, 0.14)
    };
    let dark = rng.chance(0.35);
    let inner_frac = rng.range(0.06, 0.2);
    let drift = rng.range(0.75, 1.0);
    let ease = rng.range(0.85, 1.35);
    // ink: every stroke in ink; accent: some tiles take a palette colour; depth: strokes shade from ink at
    // the outer square to the tile's palette colour at the innermost. A given palette is always used.
    let tint_mode = match (p.palette.is_some(), rng.weighted(&[0.35, 0.35, 0.3])) {
        (false, 0) => "ink",
        (true, 0) | (_, 1) => "accent",
        _ => "depth",
    };
    let accent_share = rng.range(0.2, 0.45);
    let (ground, ink) = if dark {
        (hex(0x121317), hex(0xe9e4d8))
    } else {
        (hex(0xf3efe6), hex(0x1c1c22))
    };
    let pal = p.palette.clone().unwrap_or_else(|| {
        if dark {
            default_dark()
        } else {
            default_light()
        }
    });

    let cell = (UNITS - 2.0 * margin) / grid as f64;
    let gap = cell * gap_frac;
    let outer = cell - gap;
    let inner = outer * inner_frac;
    let width = (cell * 0.013).max(0.9);

    let mut scene = Scene::new(UNITS as f32, UNITS as f32, Some(ground));
    let mut tiles = Vec::with_capacity(grid * grid);
    for row in 0..grid {
        for col in 0..grid {
            let steps = rng.int(MIN_STEPS, MAX_STEPS) as u32;
            let dx = rng.int(-1, 1) as i32;
            let dy = rng.int(-1, 1) as i32;
            let tile_tint = pal.pick(rng.below(pal.colors.len() as u64) as usize);
            let accented = rng.chance(accent_share);
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
                    "accent" if accented => tile_tint,
                    "accent" => ink,
                    _ => crate::common::lerp_rgba(ink, tile_tint, i as f32 / steps as f32),
                };
                scene.push(Shape::Rect {
                    x: q(x),
                    y: q(y),
                    w: q(side),
                    h: q(side),
                    style: Style::stroke(color, q(width)),
                });
            }
            tiles.push(Tile {
                steps,
                dx,
                dy,
                accented: tint_mode == "depth" || (tint_mode == "accent" && accented),
            });
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
        "accent_share": accent_share,
        "steps_range": [MIN_STEPS, MAX_STEPS],
        "inner_fraction": inner_frac,
        "drift": drift,
        "ease": ease,
        "stroke_width": width / UNITS,
        "tiles": tiles.iter().map(|t| serde_json::json!([t.steps, t.dx, t.dy, t.accented])).collect::<Vec<_>>(),
    });
    Rendered {
        art: Artwork::Vector(scene),
        params,
    }
}
