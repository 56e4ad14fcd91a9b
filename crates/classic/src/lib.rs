//! Classic generative engines. Each is deterministic in its seed: the same seed and params give the same
//! output byte for byte, on every machine (own RNG, no platform-dependent maths in control flow).
//!
//! Vector engines draw in a fixed 1000 x 1000 scene, so a seed's composition does not depend on the
//! output size; `size` sets the raster (and the SVG's pixel size). The fractal is a raster at `size`.

use bestiary_canvas::{Image, Palette, Scene};

mod colonize;
mod common;
mod flow;
mod fractal;
mod lsystem;
mod math;
mod neurons;
mod noise;
mod plants;
mod rng;
mod squares;

/// Engine names, in gallery order.
pub const ENGINES: &[&str] = &["squares", "fractal", "flow", "neurons", "plants"];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown engine '{0}' (known: squares, fractal, flow, neurons, plants)")]
    UnknownEngine(String),
    #[error("engine '{0}' has no animation (only neurons animates)")]
    NoAnimation(String),
    #[error("{0}")]
    Invalid(String),
}

#[derive(Clone, Debug)]
pub struct Params {
    pub seed: u64,
    /// Output side in pixels (square).
    pub size: u32,
    /// None: the engine's own default palette.
    pub palette: Option<Palette>,
}

pub enum Artwork {
    Raster(Image),
    Vector(Scene),
}

pub struct Rendered {
    pub art: Artwork,
    /// Every parameter that shaped the output (engine defaults included), for PNG metadata.
    pub params: serde_json::Value,
}

impl Artwork {
    /// The raster at `size` x `size` (vector scenes are rasterized anti-aliased).
    /// `size` is clamped to 1..=MAX_SIDE.
    pub fn to_image(&self, size: u32) -> Image {
        let size = size.clamp(1, bestiary_canvas::image::MAX_SIDE);
        match self {
            Artwork::Raster(img) => {
                if img.width() == size && img.height() == size {
                    img.clone()
                } else {
                    img.resized(size, size)
                }
            }
            Artwork::Vector(scene) => scene.render(size, size),
        }
    }
}

/// True when the engine draws vectors (and so can be written as SVG).
pub fn supports_svg(engine: &str) -> bool {
    matches!(engine, "squares" | "flow" | "neurons" | "plants")
}

fn check(engine: &str, params: &Params) -> Result<(), Error> {
    if !ENGINES.contains(&engine) {
        return Err(Error::UnknownEngine(engine.to_string()));
    }
    let max = bestiary_canvas::image::MAX_SIDE;
    if params.size == 0 || params.size > max {
        return Err(Error::Invalid(format!(
            "size {} is out of range (1..={max})",
            params.size
        )));
    }
    if let Some(p) = &params.palette {
        if p.colors.is_empty() {
            return Err(Error::Invalid(format!(
                "palette '{}' has no colours",
                p.name
            )));
        }
        if p.colors
            .iter()
            .any(|c| ![c.r, c.g, c.b, c.a].iter().all(|v| v.is_finite()))
        {
            return Err(Error::Invalid(format!(
                "palette '{}' has a non-finite colour component",
                p.name
            )));
        }
    }
    Ok(())
}

pub fn render(engine: &str, params: &Params) -> Result<Rendered, Error> {
    check(engine, params)?;
    Ok(match engine {
        "squares" => squares::render(params),
        "fractal" => fractal::render(params),
        "flow" => flow::render(params),
        "neurons" => neurons::render(params),
        "plants" => plants::render(params),
        _ => return Err(Error::UnknownEngine(engine.to_string())),
    })
}

/// Most bytes of frames one animation may produce (frames x size x size x 4).
pub const MAX_ANIMATION_BYTES: u64 = 2 << 30;

/// Animation frames (neurons only: the light direction sweeps a full turn so the GIF loops).
pub fn animate(engine: &str, params: &Params, frames: usize) -> Result<Vec<Image>, Error> {
    check(engine, params)?;
    if engine != "neurons" {
        return Err(Error::NoAnimation(engine.to_string()));
    }
    if frames == 0 {
        return Err(Error::Invalid(
            "an animation needs at least 1 frame".to_string(),
        ));
    }
    let bytes = frames as u64 * params.size as u64 * params.size as u64 * 4;
    if bytes > MAX_ANIMATION_BYTES {
        return Err(Error::Invalid(format!(
            "{frames} frames at {s}x{s} would need {} MiB (limit {} MiB): use fewer frames or a smaller size",
            bytes >> 20,
            MAX_ANIMATION_BYTES >> 20,
            s = params.size
        )));
    }
    Ok(neurons::animate(params, frames))
}
