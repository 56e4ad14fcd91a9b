//! `--network` for every command: the one place a network path becomes a model file. A training run
//! folder (what `bestiary train --outdir` writes) stands for its latest snapshot, named on stderr.

use anyhow::Result;
use bestiary_stylegan::{resolve_model_path, ModelFile};
use std::path::{Path, PathBuf};

/// The model file `--network PATH` names (PATH itself, or a run folder's latest snapshot).
pub fn resolve(path: &Path) -> Result<PathBuf> {
    let file = resolve_model_path(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    if file != path {
        eprintln!(
            "using {} (the latest snapshot in {})",
            file.display(),
            path.display()
        );
    }
    Ok(file)
}

/// Loads `--network PATH`; its error flattened to one message (the I/O error's own source would repeat it).
pub fn load(path: &Path) -> Result<ModelFile> {
    let file = resolve(path)?;
    ModelFile::load(&file).map_err(|e| anyhow::anyhow!("{e}"))
}
