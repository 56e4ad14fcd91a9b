//! The neural half of the gallery (`bestiary gallery --network F`): the sheets of
//! `bestiary_explore::showcase` written as files, and the most memorable creatures only when the ResMem
//! weights are already in the cache (they are 527 MB, so the gallery never downloads them).

use crate::output::create_dir;
use anyhow::Result;
use bestiary_canvas::{png_meta, Image, Metadata};
use bestiary_explore::showcase::{Showcase as Sheets, PSI};
use bestiary_perceptual::ResMem;
use bestiary_stylegan::ModelFile;
use burn::tensor::backend::Backend;
use std::path::{Path, PathBuf};

/// What the showcase wrote.
pub struct Showcase {
    pub files: Vec<PathBuf>,
    /// Why the memorable sheet is missing, when it is.
    pub skipped: Option<String>,
}

/// Every file the showcase may write in its folder (memorable.png only when ResMem is cached).
pub const FILES: [&str; 5] = [
    "seeds.png",
    "chimeras.png",
    "walk.gif",
    "walk.mp4",
    "memorable.png",
];

pub fn render<B: Backend>(
    model: &ModelFile,
    name: &str,
    dir: &Path,
    mut step: impl FnMut(&str),
    dev: &B::Device,
) -> Result<Showcase> {
    create_dir(dir)?;
    let sheets = Sheets::<B>::new(model, name, dev)?;
    let mut files = Vec::new();
    let write = |file: &str, img: &Image| -> Result<PathBuf> {
        let path = dir.join(file);
        let sheet = file.trim_end_matches(".png");
        let params = serde_json::json!({"network": name, "sheet": sheet, "trunc": PSI});
        let meta = Metadata::new("bestiary-showcase", params, 0);
        png_meta::write_png(&path, img, Some(&meta))?;
        Ok(path)
    };

    step("seeds");
    files.push(write("seeds.png", &sheets.seeds()?)?);
    step("chimeras");
    files.push(write("chimeras.png", &sheets.chimeras()?)?);
    step("walk");
    let frames = sheets.walk()?;
    for name in ["walk.gif", "walk.mp4"] {
        files.push(bestiary_media::write_video(&dir.join(name), &frames, 25)?.path);
    }
    step("memorable");
    let skipped = match bestiary_assets::path_if_present("resmem") {
        None => Some(
            "ResMem weights not in the cache (`bestiary assets fetch resmem`, 527 MB)".to_string(),
        ),
        Some(weights) => {
            let img = sheets.memorable(&ResMem::<B>::load(&weights, dev)?)?;
            files.push(write("memorable.png", &img)?);
            None
        }
    };
    Ok(Showcase { files, skipped })
}
