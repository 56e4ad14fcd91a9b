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
pub mod gallery;
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
    #[error("unknown engine '{0}' (known: {known})", known = ENGINES.join(", "))]
    UnknownEngine(String),
    #[error("engine '{0}' has no animation (only neurons animates)")]
    NoAnimation(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Canvas(#[from] bestiary_canvas::Error),
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

/// One of [`ENGINES`], or the error listing them.
pub fn check_engine(engine: &str) -> Result<(), Error> {
    if ENGINES.contains(&engine) {
        Ok(())
    } else {
        Err(Error::UnknownEngine(engine.to_string()))
    }
}

fn check(engine: &str, params: &Params) -> Result<(), Error> {
    check_engine(engine)?;
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

/// The engine's picture as pixels at `params.size`, with every parameter that shaped it.
pub fn render_image(engine: &str, params: &Params) -> Result<(Image, serde_json::Value), Error> {
    let r = render(engine, params)?;
    Ok((r.art.to_image(params.size), r.params))
}

/// `engine` as a drawer of seeds at any size in the engine's own palette (a dataset source draws each
/// image at the dataset's resolution); the error is the reason, as text.
pub fn drawer(engine: &str) -> impl Fn(u64, u32) -> Result<Image, String> + Send + Sync + 'static {
    let engine = engine.to_string();
    move |seed, size| {
        let params = Params {
            seed,
            size,
            palette: None,
        };
        render_image(&engine, &params)
            .map(|(image, _)| image)
            .map_err(|e| e.to_string())
    }
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
