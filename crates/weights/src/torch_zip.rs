//! torch's zip format (`torch.save` since 1.6, and TorchScript archives): `<archive>/data.pkl` holds the
//! object, whose persistent ids `('storage', <storage class>, key, location, numel)` name records
//! `<archive>/data/<key>` of raw elements (little-endian unless a `<archive>/byteorder` record says `big`).
//! TorchScript archives also hold `<archive>/constants.pkl`, whose tensors live under `<archive>/constants/`.
//! Records are borrowed from the input when stored uncompressed; compressed records are inflated up to the
//! size the persistent id needs, within a budget.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read};

use zip::{CompressionMethod, ZipArchive};

use crate::elements::{Storage, TensorData};
use crate::error::{show, Error, Result};
use crate::interp;
use crate::pickle::{self, Limits, Value};
use crate::tensor::TensorReader;
use crate::torch_legacy::{collect_pids, parse_pid};

/// Whether `data` looks like a zip archive.
pub fn is_zip(data: &[u8]) -> bool {
    data.starts_with(b"PK\x03\x04")
}

/// An opened torch zip archive.
pub struct TorchZip<'a> {
    data: &'a [u8],
    archive: ZipArchive<Cursor<&'a [u8]>>,
    /// Folder of `data.pkl`, with its trailing slash (`"archive/"`), or empty.
    pub prefix: String,
    big_endian: bool,
    limits: Limits,
    inflated_left: usize,
}

fn zerr(e: impl std::fmt::Display) -> Error {
    Error::Torch(format!("zip: {}", show(&e.to_string())))
}

impl<'a> TorchZip<'a> {
    /// Opens an archive and finds its `data.pkl`.
    pub fn open(data: &'a [u8], limits: &Limits) -> Result<Self> {
        if data.len() > limits.max_input_bytes {
            return Err(Error::Limit(format!(
                "input of {} bytes exceeds the limit",
                data.len()
            )));
        }
        let archive = ZipArchive::new(Cursor::new(data)).map_err(zerr)?;
        let mut prefix: Option<String> = None;
        for name in archive.file_names() {
            if let Some(p) = name.strip_suffix("data.pkl") {
                let ok = p.is_empty() || (p.ends_with('/') && !p[..p.len() - 1].contains('/'));
                if ok && prefix.as_ref().is_none_or(|q| p.len() < q.len()) {
                    prefix = Some(p.to_string());
                }
            }
        }
        let prefix =
            prefix.ok_or_else(|| Error::Torch("zip archive has no <archive>/data.pkl".into()))?;
        let mut z = TorchZip {
            data,
            archive,
            prefix,
            big_endian: false,
            limits: limits.clone(),
            inflated_left: data
                .len()
                .saturating_mul(16)
                .max(64 << 20)
                .min(limits.max_total_bytes),
        };
        let bo_name = format!("{}byteorder", z.prefix);
        if let Some(bo) = z.record(&bo_name, 16)? {
            z.big_endian = match &bo[..] {
                b"little" => false,
                b"big" => true,
                other => {
                    return Err(Error::Torch(format!(
                        "unknown byteorder '{}'",
                        show(&String::from_utf8_lossy(other))
                    )))
                }
            };
        }
        Ok(z)
    }

    /// Names of all records.
    pub fn names(&self) -> Vec<String> {
        self.archive.file_names().map(|s| s.to_string()).collect()
    }

    /// The first `max` bytes of a record (None when absent). An error when the record is larger than `max`.
    pub fn record(&mut self, name: &str, max: usize) -> Result<Option<Cow<'a, [u8]>>> {
        self.record_prefix(name, max, false)
    }

    /// Reads a record; with `prefix_ok`, a record longer than `max` gives its first `max` bytes.
    fn record_prefix(
        &mut self,
        name: &str,
        max: usize,
        prefix_ok: bool,
    ) -> Result<Option<Cow<'a, [u8]>>> {
        let Some(i) = self.archive.index_for_name(name) else {
            return Ok(None);
        };
        let data = self.data;
        let mut f = self.archive.by_index(i).map_err(zerr)?;
        let size = f.size();
        if size > max as u64 && !prefix_ok {
            return Err(Error::Torch(format!(
                "record '{}' is {size} bytes (at most {max} expected)",
                show(name)
            )));
        }
        let want = (size.min(max as u64)) as usize;
        if f.compression() == CompressionMethod::Stored {
            let start = f.data_start();
            let end = start
                .checked_add(want as u64)
                .filter(|&e| e <= data.len() as u64 && f.compressed_size() >= want as u64);
            let Some(end) = end else {
                return Err(Error::Torch(format!(
                    "record '{}' extends past the end of the file",
                    show(name)
                )));
            };
            return Ok(Some(Cow::Borrowed(&data[start as usize..end as usize])));
        }
        if want > self.inflated_left {
            return Err(Error::Limit(format!(
                "torch: compressed records inflate to more than the budget (record '{}')",
                show(name)
            )));
        }
        let mut buf = Vec::with_capacity(want.min(1 << 20));
        (&mut f)
            .take(want as u64)
            .read_to_end(&mut buf)
            .map_err(zerr)?;
        if buf.len() != want {
            return Err(Error::Torch(format!(
                "record '{}' is shorter than its declared size",
                show(name)
            )));
        }
        self.inflated_left -= want;
        Ok(Some(Cow::Owned(buf)))
    }

    /// Parses `<archive>/<name>.pkl` (e.g. `data`, `constants`); None when the record is absent.
    pub fn pickle(&mut self, name: &str) -> Result<Option<Value>> {
        let rec = format!("{}{name}.pkl", self.prefix);
        let max = self.limits.max_input_bytes;
        let Some(bytes) = self.record(&rec, max)? else {
            return Ok(None);
        };
        Ok(Some(pickle::parse(&bytes, &self.limits)?))
    }

    /// Loads every storage the tree refers to; `dir` is the record folder (`data` or `constants`).
    pub fn storages(&mut self, root: &Value, dir: &str) -> Result<HashMap<String, Storage<'a>>> {
        let mut pids = Vec::new();
        collect_pids(root, &mut pids)?;
        let mut out: HashMap<String, Storage<'a>> = HashMap::new();
        for p in pids {
            if p.view.is_some() {
                return Err(Error::Torch(
                    "storage views are not used by the zip format".into(),
                ));
            }
            if let Some(prev) = out.get(&p.key) {
                if prev.dtype != p.dtype {
                    // Same bytes viewed with another type: keep the bytes, the resolver retypes them.
                }
                continue;
            }
            let nbytes = p
                .numel
                .checked_mul(p.dtype.size())
                .filter(|&n| n <= self.limits.max_string_bytes)
                .ok_or_else(|| {
                    Error::Limit(format!("torch: storage '{}' is too large", show(&p.key)))
                })?;
            let candidates = [
                format!("{}{dir}/{}", self.prefix, p.key),
                format!("{}.data/{}.storage", self.prefix, p.key),
                format!("{}.data/{}", self.prefix, p.key),
                format!("{}data/{}", self.prefix, p.key),
            ];
            let mut found = None;
            for c in &candidates {
                if let Some(b) = self.record_prefix(c, nbytes, true)? {
                    found = Some(b);
                    break;
                }
            }
            let bytes = found.ok_or_else(|| {
                Error::Torch(format!(
                    "storage '{}' has no record {}",
                    show(&p.key),
                    show(&candidates[0])
                ))
            })?;
            if bytes.len() < nbytes {
                return Err(Error::Torch(format!(
                    "storage '{}' declares {} elements of {} ({nbytes} bytes) but its record has {} bytes",
                    show(&p.key),
                    p.numel,
                    p.dtype.name(),
                    bytes.len()
                )));
            }
            out.insert(
                p.key.clone(),
                Storage {
                    dtype: p.dtype,
                    bytes,
                    big_endian: self.big_endian,
                },
            );
        }
        Ok(out)
    }
}

/// Resolver over loaded storages (the pid's storage type decides the element type).
pub(crate) fn resolver<'s, 'm>(
    map: &'m HashMap<String, Storage<'s>>,
) -> impl Fn(&Value) -> Result<Storage<'s>> + 'm {
    move |pid: &Value| {
        let p = parse_pid(pid)?;
        let st = map
            .get(&p.key)
            .ok_or_else(|| Error::Torch(format!("storage '{}' was not loaded", show(&p.key))))?;
        let mut st = st.clone();
        st.dtype = p.dtype;
        Ok(st)
    }
}

/// Every tensor of a zip archive (torch.save zip or TorchScript): the tensors of `data.pkl` named by their
/// path (dict keys and attribute names joined with '.', torch `state_dict()` style for pickled modules), then
/// those of `constants.pkl` named `constants.<i>`.
pub fn read_zip_tensors(data: &[u8]) -> Result<BTreeMap<String, TensorData>> {
    read_zip_tensors_with(data, &Limits::default())
}

/// [`read_zip_tensors`] with explicit limits.
pub fn read_zip_tensors_with(data: &[u8], limits: &Limits) -> Result<BTreeMap<String, TensorData>> {
    let mut z = TorchZip::open(data, limits)?;
    let mut out = BTreeMap::new();
    let root = z
        .pickle("data")?
        .ok_or_else(|| Error::Torch("zip archive has no data.pkl".into()))?;
    let maps = z.storages(&root, "data")?;
    let res = resolver(&maps);
    let mut reader = TensorReader::new(limits, Some(&res), data.len());
    interp::collect_tensors(&root, "", &mut reader, &mut out)?;
    if let Some(consts) = z.pickle("constants")? {
        let cmaps = z.storages(&consts, "constants")?;
        let cres = resolver(&cmaps);
        let mut creader = TensorReader::new(limits, Some(&cres), data.len());
        interp::collect_tensors(&consts, "constants", &mut creader, &mut out)?;
    }
    Ok(out)
}
