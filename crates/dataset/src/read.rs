//! Reading datasets in the official layout (zip or folder) into memory, as the official `ImageFolderDataset`.

use crate::decode::{decode, DecodeFail};
use crate::pack::MAX_ENTRY_BYTES;
use crate::{is_image_name, DatasetError, Result};
use bestiary_canvas::Rgba;
use rayon::prelude::*;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Most bytes of decoded pixels one dataset may occupy in memory.
pub const MAX_DATASET_BYTES: u64 = 8 << 30;

/// A dataset held in memory: every image decoded to u8, channel-major (C x H x W), plus labels.
#[derive(Clone, Debug)]
pub struct Dataset {
    names: Vec<String>,
    resolution: u32,
    channels: usize,
    pixels: Vec<u8>,
    c_dim: usize,
    labels: Vec<f32>,
    classes: Option<Vec<String>>,
}

enum Store {
    Folder(PathBuf),
    Zip {
        path: PathBuf,
        archive: zip::ZipArchive<std::fs::File>,
        index: HashMap<String, usize>,
    },
}

impl Store {
    fn open(path: &Path) -> Result<(Store, Vec<String>)> {
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                DatasetError::invalid(format!("dataset {} does not exist", path.display()))
            }
            _ => DatasetError::io(path, e),
        })?;
        if meta.is_dir() {
            let mut names = Vec::new();
            let mut stack = vec![(String::new(), path.to_path_buf(), 0usize)];
            while let Some((rel, dir, depth)) = stack.pop() {
                for entry in std::fs::read_dir(&dir).map_err(|e| DatasetError::io(&dir, e))? {
                    let entry = entry.map_err(|e| DatasetError::io(&dir, e))?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let r = if rel.is_empty() {
                        name.clone()
                    } else {
                        format!("{rel}/{name}")
                    };
                    let Ok(m) = std::fs::metadata(entry.path()) else {
                        continue;
                    };
                    if m.is_dir() && depth < 64 {
                        stack.push((r, entry.path(), depth + 1));
                    } else if m.is_file() {
                        names.push(r);
                    }
                }
            }
            return Ok((Store::Folder(path.to_path_buf()), names));
        }
        let f = std::fs::File::open(path).map_err(|e| DatasetError::io(path, e))?;
        let archive = zip::ZipArchive::new(f).map_err(|e| {
            DatasetError::invalid(format!(
                "{}: not a dataset zip or folder ({e})",
                path.display()
            ))
        })?;
        let mut index = HashMap::new();
        for i in 0..archive.len() {
            if let Some(n) = archive.name_for_index(i) {
                if !n.ends_with('/') {
                    index.insert(n.to_string(), i);
                }
            }
        }
        let names = index.keys().cloned().collect();
        Ok((
            Store::Zip {
                path: path.to_path_buf(),
                archive,
                index,
            },
            names,
        ))
    }

    /// The bytes of `name` (at most MAX_ENTRY_BYTES).
    fn read(&mut self, name: &str) -> Result<Vec<u8>> {
        let too_big =
            || DatasetError::invalid(format!("{name}: larger than {MAX_ENTRY_BYTES} bytes"));
        let mut buf = Vec::new();
        match self {
            Store::Folder(root) => {
                let p = root.join(name);
                let f = std::fs::File::open(&p).map_err(|e| DatasetError::io(&p, e))?;
                f.take(MAX_ENTRY_BYTES + 1)
                    .read_to_end(&mut buf)
                    .map_err(|e| DatasetError::io(&p, e))?;
            }
            Store::Zip {
                path,
                archive,
                index,
            } => {
                let i = index[name];
                let mut f = archive.by_index(i).map_err(|e| {
                    DatasetError::invalid(format!("{}: {name}: {e}", path.display()))
                })?;
                if f.size() > MAX_ENTRY_BYTES {
                    return Err(too_big());
                }
                (&mut f)
                    .take(MAX_ENTRY_BYTES + 1)
                    .read_to_end(&mut buf)
                    .map_err(|e| {
                        DatasetError::invalid(format!("{}: {name}: {e}", path.display()))
                    })?;
            }
        }
        if buf.len() as u64 > MAX_ENTRY_BYTES {
            return Err(too_big());
        }
        Ok(buf)
    }
}

/// Labels per image: none, class indices, or float vectors.
fn parse_labels(
    json: &[u8],
    names: &[String],
    what: &str,
) -> Result<(usize, Vec<f32>, Option<Vec<String>>)> {
    let bad = |m: String| DatasetError::invalid(format!("{what}/dataset.json: {m}"));
    let v: Value = serde_json::from_slice(json).map_err(|e| bad(format!("invalid JSON ({e})")))?;
    let classes = v.get("classes").and_then(|c| c.as_array()).map(|a| {
        a.iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect::<Vec<_>>()
    });
    let list = match v.get("labels") {
        None | Some(Value::Null) => return Ok((0, Vec::new(), classes)),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(bad(
                "\"labels\" must be null or a list of [name, label] pairs".into(),
            ))
        }
    };
    let mut map: HashMap<String, &Value> = HashMap::new();
    for pair in list {
        match pair.as_array().map(|p| p.as_slice()) {
            Some([Value::String(n), l]) => {
                map.insert(n.replace('\\', "/"), l);
            }
            _ => {
                return Err(bad(format!(
                    "label entry {pair} is not a [name, label] pair"
                )))
            }
        }
    }
    let mut per: Vec<&Value> = Vec::with_capacity(names.len());
    for n in names {
        per.push(
            map.get(n)
                .copied()
                .ok_or_else(|| bad(format!("no label for {n}")))?,
        );
    }
    if per.iter().all(|l| l.is_u64() || l.is_i64()) {
        // Integer classes -> one-hot with c_dim = max + 1 (as the official loader).
        let mut ints = Vec::with_capacity(per.len());
        for (n, l) in names.iter().zip(&per) {
            match l.as_u64() {
                Some(c) if c < 100_000 => ints.push(c as usize),
                _ => {
                    return Err(bad(format!(
                        "label {l} of {n} is not a class index in 0..100000"
                    )))
                }
            }
        }
        let c_dim = ints.iter().max().map_or(0, |m| m + 1);
        let mut labels = vec![0f32; ints.len() * c_dim];
        for (i, c) in ints.iter().enumerate() {
            labels[i * c_dim + c] = 1.0;
        }
        return Ok((c_dim, labels, classes));
    }
    // Float vectors, all the same length.
    let mut c_dim = None;
    let mut labels = Vec::new();
    for (n, l) in names.iter().zip(&per) {
        let arr = l.as_array().ok_or_else(|| {
            bad(format!(
                "label {l} of {n} is neither a class index nor a list"
            ))
        })?;
        if *c_dim.get_or_insert(arr.len()) != arr.len() {
            return Err(bad(format!(
                "label of {n} has {} values, others {}",
                arr.len(),
                c_dim.unwrap_or(0)
            )));
        }
        for x in arr {
            let f = x
                .as_f64()
                .ok_or_else(|| bad(format!("label of {n} holds a non-number {x}")))?;
            labels.push(f as f32);
        }
    }
    Ok((c_dim.unwrap_or(0), labels, classes))
}

impl Dataset {
    /// Opens a dataset zip or folder in the official layout (ours or the official dataset_tool's: any image
    /// names, dataset.json optional) and decodes every image into memory.
    pub fn open(path: &Path) -> Result<Dataset> {
        Dataset::open_with(path, None)
    }

    /// As [`Dataset::open`], keeping only the first `max_images` images in name order.
    ///
    /// (The official loader's `max_size` keeps a random subset chosen with numpy seed 0; this keeps a prefix.)
    pub fn open_with(path: &Path, max_images: Option<usize>) -> Result<Dataset> {
        let (mut store, all) = Store::open(path)?;
        let what = path.display().to_string();
        let has_json = all.iter().any(|n| n == "dataset.json");
        let mut names: Vec<String> = all.into_iter().filter(|n| is_image_name(n)).collect();
        names.sort(); // Python's sorted() over str: code point order
        if let Some(m) = max_images {
            if m == 0 {
                return Err(DatasetError::invalid("max_images must be at least 1"));
            }
            names.truncate(m);
        }
        if names.is_empty() {
            return Err(DatasetError::invalid(format!(
                "{what}: no images in the dataset"
            )));
        }
        let (c_dim, labels, classes) = if has_json {
            let json = store.read("dataset.json")?;
            parse_labels(&json, &names, &what)?
        } else {
            (0, Vec::new(), None)
        };

        let decode_one = |name: &str, bytes: Vec<u8>| -> Result<(bestiary_canvas::Image, bool)> {
            match decode(&bytes) {
                Ok(d) => Ok((d.image, d.gray)),
                Err(DecodeFail::Empty) => {
                    Err(DatasetError::invalid(format!("{what}: {name} is empty")))
                }
                Err(DecodeFail::TooLarge(m)) | Err(DecodeFail::Corrupt(m)) => Err(
                    DatasetError::invalid(format!("{what}: cannot decode {name}: {m}")),
                ),
            }
        };

        // The first image fixes the resolution; then the memory bound is checked before decoding the rest.
        let first = decode_one(&names[0], store.read(&names[0])?)?.0;
        let (w, h) = (first.width(), first.height());
        if w != h {
            return Err(DatasetError::invalid(format!(
                "{what}: {} is {w}x{h}; dataset images must be square",
                names[0]
            )));
        }
        if w < 4 || !w.is_power_of_two() {
            return Err(DatasetError::invalid(format!(
                "{what}: resolution {w} is not a power of two (>= 4), as StyleGAN needs"
            )));
        }
        let res = w;
        let plane = res as usize * res as usize;
        let total = names.len() as u64 * 3 * plane as u64;
        if total > MAX_DATASET_BYTES {
            return Err(DatasetError::invalid(format!(
                "{what}: {} images at {res}x{res} need {:.1} GiB decoded, more than the {} GiB limit (use a lower resolution or max_images)",
                names.len(),
                total as f64 / (1u64 << 30) as f64,
                MAX_DATASET_BYTES >> 30
            )));
        }
        drop(first);

        let mut pixels = vec![0u8; total as usize];
        let mut gray = vec![false; names.len()];
        let chunk = (rayon::current_num_threads() * 8).clamp(8, 256);
        for (ci, group) in names.chunks(chunk).enumerate() {
            let raw = group
                .iter()
                .map(|n| store.read(n))
                .collect::<Result<Vec<_>>>()?;
            let start = ci * chunk;
            pixels[start * 3 * plane..(start + group.len()) * 3 * plane]
                .par_chunks_mut(3 * plane)
                .zip(gray[start..start + group.len()].par_iter_mut())
                .zip(group.par_iter().zip(raw.into_par_iter()))
                .try_for_each(|((dst, g), (name, bytes))| -> Result<()> {
                    let (img, is_gray) = decode_one(name, bytes)?;
                    if (img.width(), img.height()) != (res, res) {
                        return Err(DatasetError::invalid(format!(
                            "{what}: {name} is {}x{}, unlike the dataset's {res}x{res}",
                            img.width(),
                            img.height()
                        )));
                    }
                    // Alpha (if any) is composited onto white, as bestiary packs transparent sources.
                    let img = if img.as_raw().chunks_exact(4).any(|p| p[3] != 255) {
                        img.flatten(Rgba::WHITE)
                    } else {
                        img
                    };
                    for (i, px) in img.as_raw().chunks_exact(4).enumerate() {
                        dst[i] = px[0];
                        dst[plane + i] = px[1];
                        dst[2 * plane + i] = px[2];
                    }
                    *g = is_gray;
                    Ok(())
                })?;
        }
        let channels = if gray.iter().all(|&g| g) { 1 } else { 3 };
        if channels == 1 {
            // Keep only the first plane of each image (R = G = B for grey sources).
            let mut one = Vec::with_capacity(names.len() * plane);
            for img in pixels.chunks_exact(3 * plane) {
                one.extend_from_slice(&img[..plane]);
            }
            pixels = one;
        }
        Ok(Dataset {
            names,
            resolution: res,
            channels,
            pixels,
            c_dim,
            labels,
            classes,
        })
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
    /// Side of every (square) image.
    pub fn resolution(&self) -> u32 {
        self.resolution
    }
    /// 3 (RGB), or 1 when every image is a one-channel grey image (PIL mode "L").
    pub fn channels(&self) -> usize {
        self.channels
    }
    /// Image `i` as C*H*W bytes, channel-major (CHW). Panics when `i >= len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.channels * self.resolution as usize * self.resolution as usize;
        &self.pixels[i * n..(i + 1) * n]
    }
    /// Label dimensions: 0 for an unconditional dataset.
    pub fn c_dim(&self) -> usize {
        self.c_dim
    }
    /// Label of image `i` (one-hot for class indices); empty when unconditional. Panics when `i >= len()`.
    pub fn label(&self, i: usize) -> &[f32] {
        assert!(
            i < self.len(),
            "label index {i} out of range ({} images)",
            self.len()
        );
        &self.labels[i * self.c_dim..(i + 1) * self.c_dim]
    }
    /// Name of image `i` inside the dataset (e.g. `00000/img00000003.png`).
    pub fn name(&self, i: usize) -> &str {
        &self.names[i]
    }
    /// Class names from dataset.json's `classes` key (written by `--labels-from-dirs`), when present.
    pub fn classes(&self) -> Option<&[String]> {
        self.classes.as_deref()
    }
}
