//! Pixels, colour, palettes, drawing and still-image writers (PNG with metadata, JPEG, WebP, SVG, contact
//! sheets); animations are written by bestiary-media.
//! No machine learning lives here.

pub mod atomic;
pub mod color;
pub mod font;
pub mod image;
pub mod io;
pub mod palette;
pub mod png_meta;
pub mod scene;
pub mod sheet;

pub use color::{Oklab, Rgba};
pub use image::Image;
pub use palette::Palette;
pub use png_meta::Metadata;
pub use scene::{Scene, Shape, Stroke, Style};

/// Every failure the canvas crate can report; each renders as one clear line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot decode image {path}: {reason}")]
    Decode { path: String, reason: String },
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, Error>;
