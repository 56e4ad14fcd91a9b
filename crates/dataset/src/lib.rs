//! Image datasets in the official StyleGAN2-ADA `dataset_tool.py` layout: building and reading.
//!
//! Packing ([`pack`]) turns a folder, a zip or images drawn by a function (the classic engines, handed in by
//! the caller) into a zip holding
//! `00000/img00000000.png` ... (1000 images per folder, RGB PNG) and `dataset.json` with
//! `{"labels": null}` or `{"labels": [["00000/img00000000.png", 3], ...]}`, exactly what the official
//! `ImageFolderDataset` reads. Reading ([`Dataset`]) accepts those zips and folders, ours or the official
//! tool's, and holds every image decoded in memory, channel-major, ready for training.

mod decode;
mod pack;
mod read;
mod transform;

pub use pack::{
    pack, PackEvent, PackOptions, PackReport, Render, Skip, SkipReason, Source, MAX_ENTRY_BYTES,
};
pub use read::{Dataset, MAX_DATASET_BYTES};
pub use transform::{apply_transform, Transform};

pub use bestiary_canvas::io::{is_image_name, READABLE_EXTENSIONS};

/// Every failure of this crate, each rendered as one line.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

impl DatasetError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        DatasetError::Io {
            path: path.display().to_string(),
            source,
        }
    }
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        DatasetError::Invalid(msg.into())
    }
}

pub type Result<T> = std::result::Result<T, DatasetError>;

/// Checks an output resolution: a power of two in 4..=1024.
pub fn check_resolution(resolution: u32) -> Result<()> {
    if !(4..=1024).contains(&resolution) || !resolution.is_power_of_two() {
        return Err(DatasetError::invalid(format!(
            "resolution {resolution} is not a power of two in 4..=1024 (4, 8, 16, 32, 64, 128, 256, 512, 1024)"
        )));
    }
    Ok(())
}

/// Parses a background colour: a name (white, black, gray, red, green, blue) or `#rgb` / `#rrggbb`.
/// The result is always opaque.
pub fn parse_background(s: &str) -> Result<bestiary_canvas::Rgba> {
    let c = bestiary_canvas::Rgba::parse(s)
        .map_err(|e| DatasetError::invalid(format!("--background: {e}")))?;
    Ok(c.with_alpha(1.0))
}
