//! Atomic file output: write to a temp file beside the target, then rename.
//!
//! Readers (and a crash mid-write) then see either the old file or the complete new one, never a partial one.

use crate::Error;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Per-process counter so concurrent writes from several threads never share a temp name.
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Io { path: path.display().to_string(), source }
}

/// `.NAME.tmp-PID-N` in the target's directory (same filesystem, so the rename is atomic).
fn temp_path(path: &Path) -> crate::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::Invalid(format!("{}: not a file path", path.display())))?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = format!(".{}.tmp-{}-{n}", name.to_string_lossy(), std::process::id());
    Ok(path.with_file_name(tmp))
}

fn fill_and_rename(mut file: std::fs::File, bytes: &[u8], tmp: &Path, path: &Path) -> std::io::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("bestiary-canvas-io-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn writes_and_replaces_leaving_only_the_target() {
        let dir = temp_dir("ok");
        let p = dir.join("out.bin");
        write_atomic(&p, b"first").unwrap();
        write_atomic(&p, b"second, longer").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second, longer");
        assert_eq!(entries(&dir), vec!["out.bin".to_string()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_directory_errors_and_leaves_nothing() {
        let dir = temp_dir("missing");
        let p = dir.join("no-such-dir").join("out.png");
        let e = write_atomic(&p, b"data").unwrap_err().to_string();
        assert!(e.contains("no-such-dir/out.png") || e.contains("no-such-dir\\out.png"), "{e}");
        assert!(!p.exists());
        assert!(entries(&dir).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failed_rename_removes_the_temp_file() {
        // The target is a non-empty directory: the temp file is written, the rename fails, nothing is left over.
        let dir = temp_dir("rename");
        let target = dir.join("taken");
        std::fs::create_dir_all(target.join("inner")).unwrap();
        let e = write_atomic(&target, b"data").unwrap_err().to_string();
        assert!(e.contains("taken"), "{e}");
        assert_eq!(entries(&dir), vec!["taken".to_string()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn path_without_file_name_is_invalid() {
        assert!(matches!(write_atomic(Path::new("/"), b"x"), Err(Error::Invalid(_))));
    }
}
