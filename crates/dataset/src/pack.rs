//! Packing images into the official dataset_tool layout (a zip of `00000/img00000000.png` + `dataset.json`).

use crate::decode::{decode, encode_rgb_png, DecodeFail};
use crate::transform::{apply_transform, patches, Transform};
use crate::{check_resolution, is_image_name, DatasetError, Result};
use bestiary_canvas::{Image, Rgba};
use rayon::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Largest source file or zip entry read (uncompressed bytes); bigger ones are skipped as too large.
pub const MAX_ENTRY_BYTES: u64 = 256 << 20;

/// Most output images one dataset may hold.
const MAX_OUTPUT_IMAGES: usize = 10_000_000;

/// Draws image `seed` at `size` x `size` pixels; an error is the reason it could not.
pub type Render = Arc<dyn Fn(u64, u32) -> std::result::Result<Image, String> + Send + Sync>;

/// Where images come from.
#[derive(Clone)]
pub enum Source {
    /// A folder, read recursively in sorted order.
    Folder(PathBuf),
    /// A zip archive; entries with image extensions are read.
    Zip(PathBuf),
    /// `count` images drawn by `render` at the output resolution (the classic engines, handed in by the
    /// caller): image i is seed `first_seed + i`, named `{name}-seed{seed:04}`.
    Rendered {
        name: String,
        count: usize,
        render: Render,
    },
}

impl PartialEq for Source {
    fn eq(&self, other: &Source) -> bool {
        match (self, other) {
            (Source::Folder(a), Source::Folder(b)) | (Source::Zip(a), Source::Zip(b)) => a == b,
            (
                Source::Rendered {
                    name: a,
                    count: n,
                    render: r,
                },
                Source::Rendered {
                    name: b,
                    count: m,
                    render: q,
                },
            ) => a == b && n == m && Arc::ptr_eq(r, q),
            _ => false,
        }
    }
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Source {
    /// A folder or a zip file, by path.
    pub fn parse(s: &str) -> Result<Source> {
        let p = PathBuf::from(s);
        let meta = std::fs::metadata(&p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                DatasetError::invalid(format!("source {s} does not exist"))
            }
            _ => DatasetError::io(&p, e),
        })?;
        Ok(if meta.is_dir() {
            Source::Folder(p)
        } else {
            Source::Zip(p)
        })
    }

    /// `count` images drawn by `render`, named after `name`.
    pub fn rendered(name: &str, count: usize, render: Render) -> Result<Source> {
        if count == 0 || count > MAX_OUTPUT_IMAGES {
            return Err(DatasetError::invalid(format!(
                "--count must be in 1..={MAX_OUTPUT_IMAGES}, got {count}"
            )));
        }
        Ok(Source::Rendered {
            name: name.to_string(),
            count,
            render,
        })
    }

    /// A short description for messages.
    pub fn describe(&self) -> String {
        match self {
            Source::Folder(p) | Source::Zip(p) => p.display().to_string(),
            Source::Rendered { name, count, .. } => format!("{name} ({count} seeds)"),
        }
    }
}

/// Settings of [`pack`].
#[derive(Clone, Debug)]
pub struct PackOptions {
    /// Output side, a power of two in 4..=1024.
    pub resolution: u32,
    pub transform: Transform,
    /// Transparent pixels and padding are composited onto this (opaque) colour.
    pub background: Rgba,
    /// Stop after this many output images.
    pub max_images: Option<usize>,
    /// N random square crops per source image instead of one transformed image.
    pub patches: Option<u32>,
    /// Side of each patch in source pixels (default min(w, h) / 2).
    pub patch_size: Option<u32>,
    /// Class = index of the top-level sub-folder's name (sorted) under the source root.
    pub labels_from_dirs: bool,
    /// Seed of patch positions; first seed of a classic source.
    pub seed: u64,
}

impl Default for PackOptions {
    fn default() -> Self {
        PackOptions {
            resolution: 256,
            transform: Transform::CenterCrop,
            background: Rgba::WHITE,
            max_images: None,
            patches: None,
            patch_size: None,
            labels_from_dirs: false,
            seed: 0,
        }
    }
}

/// Why a source image was left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    Corrupt,
    Empty,
    TooLarge,
}

impl SkipReason {
    pub fn label(self) -> &'static str {
        match self {
            SkipReason::Corrupt => "corrupt",
            SkipReason::Empty => "empty",
            SkipReason::TooLarge => "too large",
        }
    }
}

/// One skipped source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    /// The name relative to the source (forward slashes).
    pub name: String,
    pub reason: SkipReason,
    pub detail: String,
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "skipped {}: {}", self.name, self.reason.label())?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        Ok(())
    }
}

/// What [`pack`] reports as it goes (called on the calling thread).
pub enum PackEvent<'a> {
    /// The number of source items to read.
    Started {
        total: u64,
    },
    /// Source items read so far.
    Advanced {
        done: u64,
    },
    Skipped(&'a Skip),
    /// A one-line note (e.g. from fetching an asset).
    Note(&'a str),
}

/// What was packed.
#[derive(Clone, Debug)]
pub struct PackReport {
    pub dest: PathBuf,
    pub resolution: u32,
    /// Images written.
    pub images: usize,
    /// Source items read successfully.
    pub sources: usize,
    pub skipped: Vec<Skip>,
    /// Class names (index = label) with `labels_from_dirs`.
    pub classes: Option<Vec<String>>,
    /// True when dataset.json carries labels.
    pub labeled: bool,
}

impl PackReport {
    /// `packed 3391 images into out.zip (32x32), skipped 2 (1 corrupt, 1 too large)`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "packed {} images into {} ({}x{})",
            self.images,
            self.dest.display(),
            self.resolution,
            self.resolution
        );
        if let Some(c) = &self.classes {
            s.push_str(&format!(", {} classes", c.len()));
        }
        if !self.skipped.is_empty() {
            let counts = self.skip_counts();
            let parts: Vec<String> = counts
                .iter()
                .map(|(r, n)| format!("{n} {}", r.label()))
                .collect();
            s.push_str(&format!(
                ", skipped {} ({})",
                self.skipped.len(),
                parts.join(", ")
            ));
        }
        s
    }

    /// Skips per reason, in a fixed order.
    pub fn skip_counts(&self) -> BTreeMap<SkipReason, usize> {
        let mut m = BTreeMap::new();
        for s in &self.skipped {
            *m.entry(s.reason).or_insert(0) += 1;
        }
        m
    }

    /// A JSON summary (for `--json`).
    pub fn to_json(&self) -> Value {
        let counts: serde_json::Map<String, Value> = self
            .skip_counts()
            .into_iter()
            .map(|(r, n)| (r.label().replace(' ', "_"), Value::from(n)))
            .collect();
        serde_json::json!({
            "dest": self.dest,
            "resolution": self.resolution,
            "images": self.images,
            "sources": self.sources,
            "skipped": self.skipped.len(),
            "skipped_by_reason": counts,
            "skipped_files": self.skipped.iter().map(|s| serde_json::json!({
                "name": s.name, "reason": s.reason.label(), "detail": s.detail})).collect::<Vec<_>>(),
            "labeled": self.labeled,
            "classes": self.classes,
        })
    }
}

/// Where one source item's bytes come from.
enum Origin {
    File(PathBuf),
    ZipEntry(usize),
    Classic(u64),
}

struct Item {
    name: String,
    origin: Origin,
    label: Option<Value>,
}

/// Image files under `root`, sorted as Python's `sorted(Path(root).rglob('*'))` (component-wise).
fn walk_folder(root: &Path) -> Result<Vec<(Vec<String>, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![(Vec::<String>::new(), root.to_path_buf())];
    while let Some((rel, dir)) = stack.pop() {
        let rd = std::fs::read_dir(&dir).map_err(|e| DatasetError::io(&dir, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| DatasetError::io(&dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            // Follow symlinks as the official tool does (Path.is_file / os.walk defaults).
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            let mut r = rel.clone();
            r.push(name.clone());
            if meta.is_dir() {
                if r.len() <= 64 {
                    stack.push((r, path));
                }
            } else if meta.is_file() && is_image_name(&name) {
                out.push((r, path));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Labels carried over from a source's own dataset.json (`{"labels": [[name, label], ...]}`).
fn parse_source_labels(bytes: &[u8]) -> Option<BTreeMap<String, Value>> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let list = v.get("labels")?.as_array()?;
    let mut m = BTreeMap::new();
    for pair in list {
        let p = pair.as_array()?;
        if p.len() != 2 {
            return None;
        }
        m.insert(p[0].as_str()?.replace('\\', "/"), p[1].clone());
    }
    Some(m)
}

/// Assigns labels: from top-level folders (returning class names) or from the source's dataset.json.
fn assign_labels(
    items: &mut [Item],
    labels_from_dirs: bool,
    source_labels: Option<BTreeMap<String, Value>>,
) -> Result<Option<Vec<String>>> {
    if labels_from_dirs {
        let mut classes: Vec<String> = Vec::new();
        for it in items.iter() {
            match it.name.split_once('/') {
                Some((top, _)) => classes.push(top.to_string()),
                None => {
                    return Err(DatasetError::invalid(format!(
                        "--labels-from-dirs: {} is not inside a class folder (put each class's images in its own sub-folder)",
                        it.name
                    )))
                }
            }
        }
        classes.sort();
        classes.dedup();
        for it in items.iter_mut() {
            let top = it.name.split_once('/').map(|(t, _)| t).unwrap_or("");
            let idx = classes
                .binary_search_by(|c| c.as_str().cmp(top))
                .expect("class collected above");
            it.label = Some(Value::from(idx));
        }
        return Ok(Some(classes));
    }
    if let Some(map) = source_labels {
        // As the official tool: labels only when every image has one.
        if items.iter().all(|it| map.contains_key(&it.name)) {
            for it in items.iter_mut() {
                it.label = map.get(&it.name).cloned();
            }
        }
    }
    Ok(None)
}

/// A temp file beside `dest`, removed on drop unless persisted.
struct TempOut {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempOut {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn temp_for(dest: &Path) -> Result<PathBuf> {
    bestiary_canvas::atomic::temp_path(dest).map_err(|e| DatasetError::invalid(e.to_string()))
}

/// Reads at most MAX_ENTRY_BYTES of a zip entry; `Err(skip)` for huge or unreadable entries.
fn read_zip_entry<R: Read + Seek>(zip: &mut zip::ZipArchive<R>, index: usize) -> Bytes {
    let mut f = zip
        .by_index(index)
        .map_err(|e| (SkipReason::Corrupt, e.to_string()))?;
    if f.size() > MAX_ENTRY_BYTES {
        return Err((
            SkipReason::TooLarge,
            format!("{} bytes uncompressed, limit {MAX_ENTRY_BYTES}", f.size()),
        ));
    }
    let mut buf = Vec::with_capacity(f.size() as usize);
    (&mut f)
        .take(MAX_ENTRY_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| (SkipReason::Corrupt, e.to_string()))?;
    if buf.len() as u64 > MAX_ENTRY_BYTES {
        return Err((
            SkipReason::TooLarge,
            format!("over {MAX_ENTRY_BYTES} bytes uncompressed"),
        ));
    }
    Ok(buf)
}

fn read_file_bounded(path: &Path) -> Bytes {
    let meta = std::fs::metadata(path).map_err(|e| (SkipReason::Corrupt, e.to_string()))?;
    if meta.len() > MAX_ENTRY_BYTES {
        return Err((
            SkipReason::TooLarge,
            format!("{} bytes, limit {MAX_ENTRY_BYTES}", meta.len()),
        ));
    }
    let f = std::fs::File::open(path).map_err(|e| (SkipReason::Corrupt, e.to_string()))?;
    let mut buf = Vec::new();
    f.take(MAX_ENTRY_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| (SkipReason::Corrupt, e.to_string()))?;
    if buf.len() as u64 > MAX_ENTRY_BYTES {
        return Err((
            SkipReason::TooLarge,
            format!("over {MAX_ENTRY_BYTES} bytes"),
        ));
    }
    Ok(buf)
}

/// Source bytes, or why they could not be read.
type Bytes = std::result::Result<Vec<u8>, (SkipReason, String)>;

/// One item's outcome: PNG bytes of its output images, or why it was skipped.
type Outcome = std::result::Result<Vec<Vec<u8>>, (SkipReason, String)>;

/// Packs `source` into the zip `dest` (written atomically: a temp file beside it, renamed at the end; on any
/// error nothing is left behind). Corrupt, empty and too large files are skipped and reported.
pub fn pack(
    source: &Source,
    dest: &Path,
    opts: &PackOptions,
    events: &mut dyn FnMut(PackEvent<'_>),
) -> Result<PackReport> {
    check_resolution(opts.resolution)?;
    if let Some(p) = opts.patches {
        if p == 0 || p > 10_000 {
            return Err(DatasetError::invalid(format!(
                "--patches must be in 1..=10000, got {p}"
            )));
        }
    }
    if opts.patch_size == Some(0) {
        return Err(DatasetError::invalid("--patch-size must be at least 1"));
    }
    if opts.patch_size.is_some() && opts.patches.is_none() {
        return Err(DatasetError::invalid("--patch-size needs --patches N"));
    }
    if opts.max_images == Some(0) {
        return Err(DatasetError::invalid("--max-images must be at least 1"));
    }
    if !dest
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
    {
        return Err(DatasetError::invalid(format!(
            "--dest {} must be a .zip file",
            dest.display()
        )));
    }
    let n = opts.resolution;
    let bg = opts.background.with_alpha(1.0);

    // Resolve the source into an ordered list of items.
    let mut zip_archive: Option<zip::ZipArchive<std::fs::File>> = None;
    let mut source_labels = None;
    let mut render = None;
    let mut items: Vec<Item> = match source {
        Source::Folder(root) => {
            if let Ok(b) = std::fs::read(root.join("dataset.json")) {
                source_labels = parse_source_labels(&b);
            }
            walk_folder(root)?
                .into_iter()
                .map(|(rel, path)| Item {
                    name: rel.join("/"),
                    origin: Origin::File(path),
                    label: None,
                })
                .collect()
        }
        Source::Zip(path) => {
            let f = std::fs::File::open(path).map_err(|e| DatasetError::io(path, e))?;
            let mut z = zip::ZipArchive::new(f).map_err(|e| {
                DatasetError::invalid(format!("{}: not a readable zip ({e})", path.display()))
            })?;
            let mut named: Vec<(Vec<String>, usize)> = Vec::new();
            for i in 0..z.len() {
                let Some(name) = z.name_for_index(i) else {
                    continue;
                };
                let name = name.replace('\\', "/");
                if name == "dataset.json" {
                    if let Ok(b) = read_zip_entry(&mut z, i) {
                        source_labels = parse_source_labels(&b);
                    }
                    continue;
                }
                if name.ends_with('/') || !is_image_name(&name) || name.starts_with("__MACOSX/") {
                    continue;
                }
                named.push((
                    name.split('/')
                        .filter(|c| !c.is_empty())
                        .map(str::to_string)
                        .collect(),
                    i,
                ));
            }
            named.sort();
            zip_archive = Some(z);
            named
                .into_iter()
                .map(|(rel, i)| Item {
                    name: rel.join("/"),
                    origin: Origin::ZipEntry(i),
                    label: None,
                })
                .collect()
        }
        Source::Rendered {
            name: engine,
            count,
            render: r,
        } => {
            if opts.labels_from_dirs {
                return Err(DatasetError::invalid(
                    "--labels-from-dirs needs a folder or zip source",
                ));
            }
            render = Some(r.clone());
            (0..*count as u64)
                .map(|i| {
                    let seed = opts.seed.wrapping_add(i);
                    Item {
                        name: format!("{engine}-seed{seed:04}"),
                        origin: Origin::Classic(seed),
                        label: None,
                    }
                })
                .collect()
        }
    };
    if items.is_empty() {
        return Err(DatasetError::invalid(format!(
            "no images found in {}",
            source.describe()
        )));
    }
    let classes = assign_labels(&mut items, opts.labels_from_dirs, source_labels)?;
    let labeled = items.iter().all(|it| it.label.is_some());

    // Output zip, streamed into a temp file beside dest.
    let tmp_path = temp_for(dest)?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp_path)
        .map_err(|e| DatasetError::io(dest, e))?;
    let mut guard = TempOut {
        path: tmp_path.clone(),
        keep: false,
    };
    let mut zw = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let zopts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let zerr = |e: zip::result::ZipError| {
        DatasetError::invalid(format!("{}: cannot write zip: {e}", dest.display()))
    };

    let max_out = opts
        .max_images
        .unwrap_or(MAX_OUTPUT_IMAGES)
        .min(MAX_OUTPUT_IMAGES);
    events(PackEvent::Started {
        total: items.len() as u64,
    });

    let mut written: Vec<(String, Option<Value>)> = Vec::new();
    let mut skipped = Vec::new();
    let mut sources_ok = 0usize;
    let mut done = 0u64;
    let chunk = (rayon::current_num_threads() * 8).clamp(8, 256);
    let process = |idx: usize, bytes: Bytes, origin: &Origin| -> Outcome {
        let img: Image = match origin {
            Origin::Classic(seed) => {
                let draw = render.as_ref().expect("a rendered source");
                draw(*seed, n).map_err(|e| (SkipReason::Corrupt, e))?
            }
            _ => match decode(&bytes?) {
                Ok(d) => d.image,
                Err(DecodeFail::Empty) => return Err((SkipReason::Empty, String::new())),
                Err(DecodeFail::TooLarge(m)) => return Err((SkipReason::TooLarge, m)),
                Err(DecodeFail::Corrupt(m)) => return Err((SkipReason::Corrupt, m)),
            },
        };
        let outs = match opts.patches {
            Some(count) => patches(&img, count, opts.patch_size, n, bg, opts.seed, idx as u64),
            None => vec![apply_transform(&img, opts.transform, n, bg)],
        };
        drop(img);
        outs.iter()
            .map(|o| {
                let rgb = o
                    .to_channels(3)
                    .map_err(|e| (SkipReason::Corrupt, e.to_string()))?;
                encode_rgb_png(n, n, &rgb).map_err(|e| (SkipReason::Corrupt, e))
            })
            .collect()
    };

    'outer: for (ci, group) in items.chunks(chunk).enumerate() {
        // Zip entries are read here (the archive is not shareable); files are read by the workers.
        let raw: Vec<Option<Bytes>> = group
            .iter()
            .map(|it| match (&it.origin, zip_archive.as_mut()) {
                (Origin::ZipEntry(i), Some(z)) => Some(read_zip_entry(z, *i)),
                _ => None,
            })
            .collect();
        let base = ci * chunk;
        let outcomes: Vec<Outcome> = group
            .par_iter()
            .zip(raw.into_par_iter())
            .enumerate()
            .map(|(k, (it, raw))| {
                let bytes = match (&it.origin, raw) {
                    (_, Some(r)) => r,
                    (Origin::File(p), None) => read_file_bounded(p),
                    _ => Ok(Vec::new()),
                };
                process(base + k, bytes, &it.origin)
            })
            .collect();
        for (it, outcome) in group.iter().zip(outcomes) {
            done += 1;
            match outcome {
                Ok(pngs) => {
                    sources_ok += 1;
                    for png in pngs {
                        if written.len() >= max_out {
                            break 'outer;
                        }
                        let idx = written.len();
                        let idx_str = format!("{idx:08}");
                        let name = format!("{}/img{idx_str}.png", &idx_str[..5]);
                        zw.start_file(name.as_str(), zopts).map_err(zerr)?;
                        zw.write_all(&png).map_err(|e| DatasetError::io(dest, e))?;
                        written.push((name, it.label.clone()));
                    }
                }
                Err((SkipReason::Corrupt, detail)) if matches!(it.origin, Origin::Classic(_)) => {
                    return Err(DatasetError::invalid(format!("{}: {detail}", it.name)));
                }
                Err((reason, detail)) => {
                    let s = Skip {
                        name: it.name.clone(),
                        reason,
                        detail,
                    };
                    events(PackEvent::Skipped(&s));
                    skipped.push(s);
                }
            }
        }
        events(PackEvent::Advanced { done });
        if written.len() >= max_out {
            break;
        }
    }

    if written.is_empty() {
        return Err(DatasetError::invalid(format!(
            "no images packed from {} ({} skipped); {} not written",
            source.describe(),
            skipped.len(),
            dest.display()
        )));
    }

    // dataset.json as the official tool writes it (+ `classes`, which official readers ignore).
    let labels = if labeled {
        Value::Array(
            written
                .iter()
                .map(|(name, l)| serde_json::json!([name, l.clone().unwrap_or(Value::Null)]))
                .collect(),
        )
    } else {
        Value::Null
    };
    let mut meta = serde_json::Map::new();
    meta.insert("labels".into(), labels);
    if let Some(c) = &classes {
        meta.insert("classes".into(), serde_json::json!(c));
    }
    zw.start_file("dataset.json", zopts).map_err(zerr)?;
    zw.write_all(
        serde_json::to_string(&Value::Object(meta))
            .expect("JSON serializes")
            .as_bytes(),
    )
    .map_err(|e| DatasetError::io(dest, e))?;
    let buf = zw.finish().map_err(zerr)?;
    let file = buf
        .into_inner()
        .map_err(|e| DatasetError::io(dest, e.into_error()))?;
    file.sync_all().map_err(|e| DatasetError::io(dest, e))?;
    drop(file);
    std::fs::rename(&tmp_path, dest).map_err(|e| DatasetError::io(dest, e))?;
    guard.keep = true;

    Ok(PackReport {
        dest: dest.to_path_buf(),
        resolution: n,
        images: written.len(),
        sources: sources_ok,
        skipped,
        classes,
        labeled,
    })
}
