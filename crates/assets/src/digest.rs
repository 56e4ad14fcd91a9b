//! Hashes and the "verified" stamp that lets a later `ensure` skip re-hashing a large file.
//!
//! A file asset's hash is the sha256 of the file. A folder asset's hash is the sha256 of its manifest:
//! one line `"<sha256 hex>  <relative/path>\n"` per regular file, sorted by path bytewise, which is what
//! `cd FOLDER && find . -type f | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum | sha256sum` prints
//! (for the emoji set simply `sha256sum *.webp | LC_ALL=C sort -k2 | sha256sum`).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::time::UNIX_EPOCH;

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn sha256_file(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match f.read(&mut buf)? {
            0 => break,
            n => h.update(&buf[..n]),
        }
    }
    Ok(hex(&h.finalize()))
}

/// Every regular file under `dir`, as sorted `/`-separated relative paths.
pub(crate) fn list_files(dir: &Path) -> io::Result<Vec<String>> {
    fn walk(base: &Path, rel: &str, out: &mut Vec<String>) -> io::Result<()> {
        for e in std::fs::read_dir(base.join(rel))? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let ft = e.file_type()?;
            if ft.is_dir() {
                walk(base, &r, out)?;
            } else if ft.is_file() {
                out.push(r);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    out.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(out)
}

/// The manifest hash of a folder (see the module docs).
pub(crate) fn sha256_tree(dir: &Path) -> io::Result<String> {
    let mut h = Sha256::new();
    for rel in list_files(dir)? {
        h.update(format!("{}  {rel}\n", sha256_file(&dir.join(&rel))?).as_bytes());
    }
    Ok(hex(&h.finalize()))
}

/// The hash of an asset's main path: a file's sha256 or a folder's manifest hash.
pub(crate) fn sha256_path(path: &Path) -> io::Result<String> {
    if path.is_dir() {
        sha256_tree(path)
    } else {
        sha256_file(path)
    }
}

/// What was verified, and the size and mtime of every file then, so a later check can tell cheaply
/// whether anything changed since.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct Stamp {
    pub asset: String,
    pub sha256: String,
    /// (relative path, size, mtime in ns since the epoch); for a file asset one entry named "".
    pub files: Vec<(String, u64, u128)>,
}

fn size_mtime(p: &Path) -> io::Result<(u64, u128)> {
    let m = std::fs::metadata(p)?;
    let t = m
        .modified()?
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Ok((m.len(), t))
}

impl Stamp {
    /// Records the current state of `path` (a file or a folder) as verified with `sha256`.
    pub fn take(asset: &str, sha256: &str, path: &Path) -> io::Result<Stamp> {
        let files = if path.is_dir() {
            let mut v = Vec::new();
            for rel in list_files(path)? {
                let (s, t) = size_mtime(&path.join(&rel))?;
                v.push((rel, s, t));
            }
            v
        } else {
            let (s, t) = size_mtime(path)?;
            vec![(String::new(), s, t)]
        };
        Ok(Stamp {
            asset: asset.into(),
            sha256: sha256.into(),
            files,
        })
    }

    /// True when `path` still looks exactly as when the stamp was taken and the stamp is for `sha256`.
    pub fn still_matches(&self, asset: &str, sha256: &str, path: &Path) -> bool {
        if self.asset != asset || self.sha256 != sha256 {
            return false;
        }
        if path.is_dir() {
            // Same set of files (count) and each one unchanged.
            match list_files(path) {
                Ok(l) if l.len() == self.files.len() => {}
                _ => return false,
            }
        }
        self.files.iter().all(|(rel, s, t)| {
            let p = if rel.is_empty() {
                path.to_path_buf()
            } else {
                path.join(rel)
            };
            matches!(size_mtime(&p), Ok((s2, t2)) if s2 == *s && t2 == *t)
        })
    }

    pub fn read(file: &Path) -> Option<Stamp> {
        serde_json::from_slice(&std::fs::read(file).ok()?).ok()
    }

    /// Writes the stamp atomically (temp file + rename).
    pub fn write(&self, file: &Path) -> io::Result<()> {
        let tmp = file.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, serde_json::to_vec(self).map_err(io::Error::other)?)?;
        std::fs::rename(&tmp, file).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_hash_is_sha256() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("abc");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn tree_hash_is_sorted_sha256sum_manifest() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("d")).unwrap();
        std::fs::write(t.path().join("b.webp"), b"abc").unwrap();
        std::fs::write(t.path().join("a.webp"), b"").unwrap();
        std::fs::write(t.path().join("d/c.webp"), b"abc").unwrap();
        let manifest = "\
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  a.webp
ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  b.webp
ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  d/c.webp
";
        assert_eq!(
            sha256_tree(t.path()).unwrap(),
            hex(&Sha256::digest(manifest.as_bytes()))
        );
        assert_eq!(
            sha256_path(t.path()).unwrap(),
            sha256_tree(t.path()).unwrap()
        );
    }

    #[test]
    fn stamp_notices_changes() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("w");
        std::fs::write(&p, b"weights").unwrap();
        let s = Stamp::take("w", "h", &p).unwrap();
        let sf = t.path().join("stamp.json");
        s.write(&sf).unwrap();
        let s = Stamp::read(&sf).unwrap();
        assert!(s.still_matches("w", "h", &p));
        assert!(!s.still_matches("w", "other-hash", &p));
        std::fs::write(&p, b"weights!").unwrap();
        assert!(!s.still_matches("w", "h", &p));

        let d = t.path().join("dir");
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("1"), b"1").unwrap();
        let s = Stamp::take("d", "h", &d).unwrap();
        assert!(s.still_matches("d", "h", &d));
        std::fs::write(d.join("2"), b"2").unwrap();
        assert!(!s.still_matches("d", "h", &d));
    }
}
