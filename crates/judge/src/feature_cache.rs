//! A cache of a dataset's Inception features, so that FID, KID and the nearest-neighbour check against a
//! training set pay for its Inception pass once. Entries are keyed by a fingerprint of the data's bytes
//! (a file) or of its listing (a folder: relative paths, sizes and modification times), stored as
//! safetensors (`features`, `[n, d]` f32). A corrupt or mismatched entry is ignored and rewritten.

use crate::{JudgeError, Result};
use bestiary_weights::{safetensors_io, DType, TensorData};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> JudgeError + '_ {
    move |cause| JudgeError::Io {
        path: path.display().to_string(),
        cause,
    }
}

/// A hex sha256 identifying the content of a dataset file or folder (see the module docs).
pub fn fingerprint(path: &Path) -> Result<String> {
    let mut h = Sha256::new();
    if path.is_dir() {
        let mut entries = Vec::new();
        list(path, path, &mut entries)?;
        entries.sort();
        for e in entries {
            h.update(e.as_bytes());
            h.update(b"\n");
        }
    } else {
        let mut f = std::fs::File::open(path).map_err(io(path))?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf).map_err(io(path))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn list(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    for e in std::fs::read_dir(dir).map_err(io(dir))? {
        let e = e.map_err(io(dir))?;
        let p = e.path();
        let meta = e.metadata().map_err(io(&p))?;
        if meta.is_dir() {
            list(root, &p, out)?;
        } else {
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .into_owned();
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            out.push(format!("{rel}\t{}\t{mtime}", meta.len()));
        }
    }
    Ok(())
}

/// Where the features of the data with this fingerprint live, for a given feature network tag.
pub fn entry_path(cache_dir: &Path, network: &str, fingerprint: &str) -> PathBuf {
    cache_dir
        .join("features")
        .join(format!("{network}-{fingerprint}.safetensors"))
}

/// The cached features, or None when the entry is absent, unreadable or not for this fingerprint.
pub fn load(entry: &Path, fingerprint: &str) -> Option<Vec<Vec<f32>>> {
    let bytes = std::fs::read(entry).ok()?;
    let (tensors, meta) = safetensors_io::read(&bytes).ok()?;
    if meta.get("fingerprint").map(String::as_str) != Some(fingerprint) {
        return None;
    }
    let t = tensors.get("features")?;
    let [n, d] = t.shape[..] else { return None };
    if d == 0 || t.data.len() != n * d {
        return None;
    }
    Some(t.data.chunks(d).map(<[f32]>::to_vec).collect())
}

/// Writes the features atomically (a temporary file renamed into place).
pub fn save(entry: &Path, fingerprint: &str, features: &[Vec<f32>]) -> Result<()> {
    let d = features.first().map_or(0, Vec::len);
    if features.iter().any(|f| f.len() != d) {
        return Err(JudgeError::Input("features differ in length".into()));
    }
    let mut tensors = BTreeMap::new();
    tensors.insert(
        "features".to_string(),
        TensorData {
            shape: vec![features.len(), d],
            dtype: DType::F32,
            data: features.concat(),
        },
    );
    let meta = BTreeMap::from([("fingerprint".to_string(), fingerprint.to_string())]);
    let bytes = safetensors_io::write(&tensors, &meta, DType::F32)?;
    let dir = entry.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = entry.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, &bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, entry).map_err(io(entry))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_fingerprints_follow_content() {
        let dir = std::env::temp_dir().join(format!("bestiary-fcache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data/sub")).unwrap();
        std::fs::write(dir.join("data/a.png"), b"one").unwrap();
        std::fs::write(dir.join("data/sub/b.png"), b"two").unwrap();
        std::fs::write(dir.join("set.zip"), b"zip bytes").unwrap();
        let fd = fingerprint(&dir.join("data")).unwrap();
        let fz = fingerprint(&dir.join("set.zip")).unwrap();
        assert_eq!(fz, fingerprint(&dir.join("set.zip")).unwrap());
        assert_ne!(fd, fz);
        let feats = vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.5]];
        let e = entry_path(&dir, "inception", &fz);
        assert!(load(&e, &fz).is_none());
        save(&e, &fz, &feats).unwrap();
        assert_eq!(load(&e, &fz).unwrap(), feats);
        assert!(
            load(&e, &fd).is_none(),
            "another fingerprint does not match"
        );
        std::fs::write(&e, b"garbage").unwrap();
        assert!(load(&e, &fz).is_none(), "a corrupt entry is ignored");
        std::fs::write(dir.join("set.zip"), b"other bytes").unwrap();
        assert_ne!(fz, fingerprint(&dir.join("set.zip")).unwrap());
        std::fs::write(dir.join("data/c.png"), b"three").unwrap();
        assert_ne!(fd, fingerprint(&dir.join("data")).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
