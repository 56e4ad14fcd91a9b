//! torch's legacy (non-zip) `torch.save` stream, also used inside pickles by `torch.storage._load_from_bytes`.
//!
//! Layout: five pickles back to back — the magic number, the protocol version (1001), a sys-info dict, the main
//! object (whose persistent ids are `('storage', <storage class>, key, location, numel, view_metadata)`), the
//! list of storage keys — then, for each key in that list, an 8-byte little-endian element count followed by the
//! storage's raw elements.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::elements::{DType, Storage};
use crate::error::{show, Error, Result};
use crate::pickle::{self, Limits, Value};

/// `0x1950a86a20f9469cfc6c` as the little-endian bytes the pickle carries.
const MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const PROTOCOL_VERSION: i64 = 1001;

/// A storage persistent id, parsed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pid {
    pub key: String,
    pub dtype: DType,
    pub numel: usize,
    /// Legacy views: (root key, element offset, element count).
    pub view: Option<(String, usize, usize)>,
}

fn key_of(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.to_string()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// Parses `('storage', storage_type, key, location, numel[, view_metadata])`.
pub(crate) fn parse_pid(pid: &Value) -> Result<Pid> {
    let bad = || Error::Torch(format!("unsupported persistent id ({})", pid.describe()));
    let t = match pid {
        Value::Tuple(t) => t,
        _ => return Err(bad()),
    };
    if t.len() < 5 || t.len() > 6 || t[0].as_str() != Some("storage") {
        return Err(bad());
    }
    let dtype = match t[1].as_global() {
        Some((m, n)) => DType::from_torch_storage(m, n).ok_or_else(|| {
            Error::Torch(format!(
                "global '{}.{}' is not a supported storage type",
                show(m),
                show(n)
            ))
        })?,
        None => {
            return Err(Error::Torch(format!(
                "storage type must be a global, found {}",
                t[1].describe()
            )))
        }
    };
    let key = key_of(&t[2]).ok_or_else(bad)?;
    let numel = match t[4] {
        Value::Int(n) if n >= 0 => n as usize,
        _ => return Err(bad()),
    };
    let view = match t.get(5) {
        None | Some(Value::None) => None,
        Some(Value::Tuple(v)) if v.len() == 3 => {
            let vk = key_of(&v[0]).ok_or_else(bad)?;
            match (&v[1], &v[2]) {
                (Value::Int(o), Value::Int(n)) if *o >= 0 && *n >= 0 => {
                    Some((vk, *o as usize, *n as usize))
                }
                _ => return Err(bad()),
            }
        }
        Some(_) => return Err(bad()),
    };
    Ok(Pid {
        key,
        dtype,
        numel,
        view,
    })
}

/// Every storage persistent id in a tree (the tree is already bounded in size and depth).
pub(crate) fn collect_pids(v: &Value, out: &mut Vec<Pid>) -> Result<()> {
    match v {
        Value::PersistentId(p) => out.push(parse_pid(p)?),
        Value::List(x) | Value::Tuple(x) | Value::Set(x) | Value::FrozenSet(x) => {
            for i in x {
                collect_pids(i, out)?;
            }
        }
        Value::Dict(x) => {
            for (k, i) in x {
                collect_pids(k, out)?;
                collect_pids(i, out)?;
            }
        }
        Value::Call(c) => {
            collect_pids(&c.func, out)?;
            collect_pids(&c.args, out)?;
            if let Some(k) = &c.kwargs {
                collect_pids(k, out)?;
            }
            for i in &c.list_items {
                collect_pids(i, out)?;
            }
            for (k, i) in &c.dict_items {
                collect_pids(k, out)?;
                collect_pids(i, out)?;
            }
        }
        Value::Build { obj, state } => {
            collect_pids(obj, out)?;
            collect_pids(state, out)?;
        }
        _ => {}
    }
    Ok(())
}

/// A parsed legacy stream: the main object and the storages it refers to (borrowing the input bytes).
#[derive(Debug)]
pub struct LegacyFile<'a> {
    /// The main object, with persistent ids still in place.
    pub root: Value,
    storages: HashMap<String, Storage<'a>>,
    /// Bytes of the input the stream used.
    pub len: usize,
}

/// Whether `data` starts like a legacy torch stream (a pickle of the magic number).
pub fn is_legacy(data: &[u8]) -> bool {
    // PROTO 2, LONG1 10 <magic>
    data.len() >= 14 && data[0] == 0x80 && data[2] == 0x8a && data[3] == 10 && data[4..14] == MAGIC
}

/// Reads a legacy `torch.save` stream.
pub fn read_legacy<'a>(data: &'a [u8], limits: &Limits) -> Result<LegacyFile<'a>> {
    let mut pos = 0usize;
    let next = |what: &str, pos: &mut usize| -> Result<Value> {
        let (v, n) = pickle::parse_prefix(&data[*pos..], limits)
            .map_err(|e| Error::Torch(format!("legacy stream: {what}: {e}")))?;
        *pos += n;
        Ok(v)
    };
    match next("magic number", &mut pos)? {
        Value::BigInt(b) if b == MAGIC => {}
        _ => {
            return Err(Error::Torch(
                "not a torch legacy stream (bad magic number)".into(),
            ))
        }
    }
    match next("protocol version", &mut pos)? {
        Value::Int(PROTOCOL_VERSION) => {}
        other => {
            return Err(Error::Torch(format!(
                "unsupported legacy protocol version ({})",
                other.describe()
            )))
        }
    }
    let sys = next("sys info", &mut pos)?;
    if let Value::Dict(items) = &sys {
        for (k, v) in items {
            if k.as_str() == Some("little_endian") && v.as_bool() == Some(false) {
                return Err(Error::Torch(
                    "big-endian legacy streams are not supported".into(),
                ));
            }
        }
    }
    let root = next("main object", &mut pos)?;
    let keys = next("storage keys", &mut pos)?;
    let keys: Vec<String> = match &keys {
        Value::List(k) | Value::Tuple(k) => k
            .iter()
            .map(|x| key_of(x).ok_or_else(|| Error::Torch("storage key is not a string".into())))
            .collect::<Result<_>>()?,
        other => {
            return Err(Error::Torch(format!(
                "storage key list expected, found {}",
                other.describe()
            )))
        }
    };
    let mut pids = Vec::new();
    collect_pids(&root, &mut pids)?;
    let mut dtypes: HashMap<&str, DType> = HashMap::new();
    for p in &pids {
        let root_key = p
            .view
            .as_ref()
            .map(|v| v.0.as_str())
            .unwrap_or(p.key.as_str());
        dtypes.entry(root_key).or_insert(p.dtype);
    }
    let mut storages: HashMap<String, Storage<'a>> = HashMap::new();
    for key in &keys {
        let dtype = *dtypes.get(key.as_str()).ok_or_else(|| {
            Error::Torch(format!("storage '{}' is listed but never used", show(key)))
        })?;
        if storages.contains_key(key) {
            return Err(Error::Torch(format!(
                "storage '{}' is listed twice",
                show(key)
            )));
        }
        let left = data.len() - pos;
        if left < 8 {
            return Err(Error::Torch(format!(
                "legacy stream: truncated before the data of storage '{}'",
                show(key)
            )));
        }
        let count = u64::from_le_bytes(data[pos..pos + 8].try_into().unwrap());
        pos += 8;
        let nbytes = count
            .checked_mul(dtype.size() as u64)
            .filter(|&n| n <= (data.len() - pos) as u64);
        let Some(nbytes) = nbytes else {
            return Err(Error::Torch(format!(
                "storage '{}' declares {count} elements of {} but only {} bytes remain",
                show(key),
                dtype.name(),
                data.len() - pos
            )));
        };
        let nbytes = nbytes as usize;
        storages.insert(
            key.clone(),
            Storage {
                dtype,
                bytes: Cow::Borrowed(&data[pos..pos + nbytes]),
                big_endian: false,
            },
        );
        pos += nbytes;
    }
    Ok(LegacyFile {
        root,
        storages,
        len: pos,
    })
}

impl<'a> LegacyFile<'a> {
    /// The storage a persistent id refers to.
    pub fn storage(&self, pid: &Value) -> Result<Storage<'a>> {
        let p = parse_pid(pid)?;
        let (root_key, range) = match &p.view {
            Some((k, off, n)) => (k.as_str(), Some((*off, *n))),
            None => (p.key.as_str(), None),
        };
        let st = self.storages.get(root_key).ok_or_else(|| {
            Error::Torch(format!(
                "storage '{}' has no data in the stream",
                show(root_key)
            ))
        })?;
        let mut st = st.clone();
        st.dtype = p.dtype;
        if let Some((off, n)) = range {
            let es = st.dtype.size();
            let ok = off
                .checked_add(n)
                .and_then(|e| e.checked_mul(es))
                .filter(|&e| e <= st.bytes.len());
            let Some(end) = ok else {
                return Err(Error::Torch(format!(
                    "storage view '{}' lies outside its storage",
                    show(&p.key)
                )));
            };
            st.bytes = match st.bytes {
                Cow::Borrowed(b) => Cow::Borrowed(&b[off * es..end]),
                Cow::Owned(b) => Cow::Owned(b[off * es..end].to_vec()),
            };
        }
        if st.bytes.len() / st.dtype.size() < p.numel && range.is_none() {
            return Err(Error::Torch(format!(
                "storage '{}' declares {} elements but has {}",
                show(&p.key),
                p.numel,
                st.bytes.len() / st.dtype.size()
            )));
        }
        Ok(st)
    }
}

/// `torch.storage._load_from_bytes(b)`: a legacy stream whose main object is one storage.
pub(crate) fn read_storage_stream<'a>(data: &'a [u8], limits: &Limits) -> Result<Storage<'a>> {
    let f = read_legacy(data, limits)?;
    match &f.root {
        Value::PersistentId(pid) => f.storage(pid),
        other => Err(Error::Torch(format!(
            "_load_from_bytes stream must hold a storage, found {}",
            other.describe()
        ))),
    }
}
