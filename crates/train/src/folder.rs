//! The run folder: which files belong to a training run, its latest snapshot, and starting over.
//!
//! A run folder is either resumable (it holds the training state, written before the first step) or
//! holds none of a run's files; a new run never mixes its files with an old one's.

use crate::checkpoint::{parse_snapshot_name, STATE_FILE};
use bestiary_canvas::atomic::temp_target;
use std::path::{Path, PathBuf};

/// One JSON object per tick.
pub const LOG_FILE: &str = "log.jsonl";

/// True for the names a training run writes into its folder.
pub fn is_run_file(name: &str) -> bool {
    name == LOG_FILE
        || name == STATE_FILE
        || name == "reals.png"
        || (name.starts_with("fakes-") && name.ends_with(".png"))
        || (name.ends_with(".safetensors") && parse_snapshot_name(name).is_some())
}

/// The files of a run in `dir` (with the temp files of interrupted writes), sorted; empty when `dir`
/// does not exist.
pub fn run_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if (is_run_file(name) || temp_target(name).is_some_and(is_run_file))
            && entry.file_type()?.is_file()
        {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// True when `dir` holds any file of a training run (a state, a log, snapshots, grids).
pub fn holds_run(dir: &Path) -> bool {
    run_files(dir)
        .map(|f| f.iter().any(|p| !is_temp(p)))
        .unwrap_or(false)
}

fn is_temp(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| temp_target(n).is_some())
}

/// Deletes every file of a run in `dir` (for starting over with `--force`); other files stay.
/// Returns how many were removed.
pub fn clear_run(dir: &Path) -> std::io::Result<usize> {
    let files = run_files(dir)?;
    for f in &files {
        std::fs::remove_file(f)?;
    }
    Ok(files.len())
}

/// Deletes the temp files that interrupted writes of a run left in `dir` (a second Ctrl-C or a kill
/// mid-write); the files they were replacing are whole.
pub fn remove_stale_temps(dir: &Path) -> std::io::Result<()> {
    for f in run_files(dir)?.into_iter().filter(|p| is_temp(p)) {
        std::fs::remove_file(f)?;
    }
    Ok(())
}

pub use bestiary_stylegan::snapshot::latest_snapshot;
