//! Where the GPU backend keeps what it learns on a first run: compiled kernels (PTX) and autotune
//! choices. Both live under bestiary's own cache, in folders made here, so that a fresh machine
//! (no `~/.cache`, a read-only working directory) runs, and a second run skips the compilation.

use serde::Serialize;
use std::path::{Path, PathBuf};

/// The GPU caches of one backend.
#[derive(Debug, Clone, Serialize)]
pub struct GpuCaches {
    /// Compiled kernels.
    pub kernels: PathBuf,
    /// Autotune results (the fastest kernel per shape).
    pub autotune: PathBuf,
    /// Nothing was cached yet: the first steps compile and tune every kernel they meet.
    pub fresh: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(
        "cannot create the GPU cache folder {0}: {1} (set BESTIARY_CACHE to a writable folder)"
    )]
    Create(PathBuf, std::io::Error),
    #[error(
        "the GPU backend was configured before its caches were set; this is a bug in bestiary"
    )]
    AlreadyConfigured,
}

/// Makes `root/gpu/<backend>/{kernels,autotune}` and says whether they hold anything yet.
pub fn make_caches(root: &Path, backend: &str) -> Result<GpuCaches, CacheError> {
    let base = root.join("gpu").join(backend);
    let kernels = base.join("kernels");
    let autotune = base.join("autotune");
    for dir in [&kernels, &autotune] {
        std::fs::create_dir_all(dir).map_err(|e| CacheError::Create(dir.clone(), e))?;
    }
    let fresh = is_empty_tree(&kernels) && is_empty_tree(&autotune);
    Ok(GpuCaches {
        kernels,
        autotune,
        fresh,
    })
}

fn is_empty_tree(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return true;
    };
    entries
        .flatten()
        .all(|e| e.path().is_dir() && is_empty_tree(&e.path()))
}

/// Makes the caches and points the CUDA backend (CubeCL) at them. Must run before the first
/// GPU tensor exists; a `cubecl.toml` found from the working directory is honoured for every other
/// setting, as are CubeCL's environment variables (`CUBECL_AUTOTUNE_LEVEL`, `CUBECL_DEBUG_LOG`).
#[cfg(feature = "cuda")]
pub fn configure_cuda(root: &Path) -> Result<GpuCaches, CacheError> {
    use cubecl_runtime::config::{cache::CacheConfig, CubeClRuntimeConfig, RuntimeConfig};
    let caches = make_caches(root, "cuda")?;
    // CubeCL's own search unwraps the working directory; look only when there is one.
    let base = if std::env::current_dir().is_ok() {
        CubeClRuntimeConfig::from_current_dir()
    } else {
        Default::default()
    };
    let mut config = base.override_from_env();
    config.autotune.cache = CacheConfig::File(caches.autotune.clone());
    config.compilation.cache = Some(CacheConfig::File(caches.kernels.clone()));
    let storage = CubeClRuntimeConfig::storage();
    let mut slot = storage.lock();
    if slot.is_some() {
        return Err(CacheError::AlreadyConfigured);
    }
    *slot = Some(std::sync::Arc::new(config));
    Ok(caches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_are_made_and_freshness_follows_their_contents() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("deep").join("cache");
        let c = make_caches(&root, "cuda").unwrap();
        assert!(c.kernels.is_dir() && c.autotune.is_dir() && c.fresh);
        assert!(c.kernels.starts_with(&root));
        // CubeCL nests its files in name/version folders: empty folders still count as fresh.
        std::fs::create_dir_all(c.kernels.join("cuda").join("0.10.0")).unwrap();
        assert!(make_caches(&root, "cuda").unwrap().fresh);
        std::fs::write(c.kernels.join("cuda").join("0.10.0").join("toc"), "x").unwrap();
        assert!(!make_caches(&root, "cuda").unwrap().fresh);
    }

    #[test]
    fn an_unwritable_root_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-folder");
        std::fs::write(&file, "x").unwrap();
        let e = make_caches(&file, "cuda").unwrap_err().to_string();
        assert!(
            e.contains("not-a-folder") && e.contains("BESTIARY_CACHE"),
            "{e}"
        );
    }
}
