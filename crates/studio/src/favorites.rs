//! Favourites on disk: `fav-NNNN.png` (with bestiary metadata) and `fav-NNNN.safetensors`, a W file
//! (`bestiary_explore::w_file`, what `bestiary generate --projected-w` reads). Names are made here, never
//! taken from a request: a request can only name a favourite by a string that [`valid_name`] accepts,
//! which cannot hold a separator, a dot or an encoded character, so nothing outside the folder is
//! reachable.

use crate::StudioError;
use bestiary_explore::w_file::WFile;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub struct Favorites {
    dir: PathBuf,
}

/// `fav-` and 4 to 9 digits.
pub fn valid_name(name: &str) -> bool {
    name.strip_prefix("fav-")
        .is_some_and(|d| (4..=9).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

fn io_err(what: &str, p: &Path, e: impl std::fmt::Display) -> StudioError {
    StudioError::Io(format!("cannot {what} {}: {e}", p.display()))
}

impl Favorites {
    /// The folder is created now (with its parents) so that a bad path fails at start, not at the first save.
    pub fn open(dir: &Path) -> Result<Favorites, StudioError> {
        std::fs::create_dir_all(dir).map_err(|e| io_err("create", dir, e))?;
        Ok(Favorites {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Saved favourites' names, oldest first (those with both files).
    pub fn list(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".safetensors"))
                    .map(str::to_string)
            })
            .filter(|n| valid_name(n) && self.dir.join(format!("{n}.png")).is_file())
            .collect();
        names.sort_by_key(|n| n[4..].parse::<u64>().unwrap_or(0));
        names
    }

    fn next_name(&self) -> String {
        let next = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_str()?.to_string();
                let stem = n.split('.').next()?.to_string();
                valid_name(&stem)
                    .then(|| stem[4..].parse::<u64>().ok())
                    .flatten()
            })
            .max()
            .map_or(1, |m| m + 1);
        format!("fav-{next:04}")
    }

    /// Writes a new favourite (PNG bytes and its W) and returns its name. Called from the one worker
    /// thread only, so two saves never pick the same name.
    pub fn save(
        &self,
        png: &[u8],
        w: &[f32],
        num_ws: usize,
        w_dim: usize,
        meta: &str,
    ) -> Result<String, StudioError> {
        let name = self.next_name();
        let st = self.dir.join(format!("{name}.safetensors"));
        let metadata = BTreeMap::from([("bestiary".to_string(), meta.to_string())]);
        let bytes = WFile::single(w, num_ws, w_dim)
            .to_bytes(&metadata)
            .map_err(|e| io_err("encode", &st, e))?;
        bestiary_canvas::io::write_atomic(&st, &bytes).map_err(|e| io_err("write", &st, e))?;
        let png_path = self.dir.join(format!("{name}.png"));
        bestiary_canvas::io::write_atomic(&png_path, png)
            .map_err(|e| io_err("write", &png_path, e))?;
        Ok(name)
    }

    /// A favourite's file (`kind` "png" or "safetensors"), only for a valid, existing name.
    pub fn read(&self, name: &str, kind: &str) -> Option<Vec<u8>> {
        if !valid_name(name) || !matches!(kind, "png" | "safetensors") {
            return None;
        }
        let path = self.dir.join(format!("{name}.{kind}"));
        // A regular file only: a symbolic link placed in the folder does not lead out of it.
        if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file()) {
            return None;
        }
        std::fs::read(path).ok()
    }

    /// The W vector of a favourite, checked against the network's shape.
    pub fn read_w(&self, name: &str, num_ws: usize, w_dim: usize) -> Option<Vec<f32>> {
        let file = WFile::from_bytes(&self.read(name, "safetensors")?).ok()?;
        (file.count() == 1)
            .then(|| file.ws(num_ws, w_dim).ok())
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::valid_name;
    #[test]
    fn names() {
        assert!(valid_name("fav-0001"));
        assert!(valid_name("fav-123456789"));
        for bad in [
            "fav-1",
            "fav-00a1",
            "../fav-0001",
            "fav-0001/..",
            "fav-%2e%2e",
            "/etc/passwd",
            "fav-0001.png",
            "",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
