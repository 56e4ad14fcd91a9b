//! Atomic file writes: the bytes go to a temp file beside the target (`.NAME.tmp-PID-N`, same filesystem),
//! which is then renamed over it. Readers, and a crash mid-write, see either the old file or the complete
//! new one, never a partial one; a kill leaves at most the temp file, which [`temp_target`] recognises.

use crate::Error;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Per-process counter so concurrent writes from several threads never share a temp name.
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// `.NAME.tmp-PID-N` in the target's directory (same filesystem, so the rename is atomic); unique
/// within the process.
pub fn temp_path(path: &Path) -> crate::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::Invalid(format!("{}: not a file path", path.display())))?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = format!(".{}.tmp-{}-{n}", name.to_string_lossy(), std::process::id());
    Ok(path.with_file_name(tmp))
}

fn fill_and_rename(
    mut file: std::fs::File,
    bytes: &[u8],
    tmp: &Path,
    path: &Path,
) -> std::io::Result<()> {
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file); // closed before the rename (required on Windows)
    std::fs::rename(tmp, path)
}

/// Writes `bytes` to `path` atomically. Parent directories must already exist.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> crate::Result<()> {
    let tmp = temp_path(path)?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| io_err(path, e))?;
    if let Err(e) = fill_and_rename(file, bytes, &tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(path, e));
    }
    // Best effort: persist the rename itself. Not all platforms can open a directory, so errors are ignored.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// The file name a temp file of [`temp_path`] stands for (`None` for any other name).
pub fn temp_target(name: &str) -> Option<&str> {
    let rest = name.strip_prefix('.')?;
    let (target, _) = rest.rsplit_once(".tmp-")?;
    Some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temp_file_names_its_target() {
        let t = temp_path(Path::new("out/a.tmp-b.png")).unwrap();
        let name = t.file_name().unwrap().to_str().unwrap();
        assert_eq!(t.parent(), Some(Path::new("out")));
        assert_eq!(temp_target(name), Some("a.tmp-b.png"));
        assert_ne!(
            temp_path(Path::new("out/a.png")).unwrap(),
            temp_path(Path::new("out/a.png")).unwrap()
        );
        assert_eq!(temp_target("a.png"), None);
        assert_eq!(temp_target(".hidden"), None);
        assert!(temp_path(Path::new("/")).is_err());
    }
}
