//! safetensors files (our own model format) with string metadata. The header is untrusted like everything
//! else: the `safetensors` crate validates offsets and sizes, and every tensor is checked again here
//! (shape × element size == byte length) before it is converted.

use std::collections::{BTreeMap, HashMap};

use safetensors::tensor::{Dtype as StDtype, SafeTensors, TensorView};

use crate::elements::{DType, Storage, TensorData};
use crate::error::{show, Error, Result};
use crate::tensor::TensorReader;
use crate::Limits;

fn serr(e: impl std::fmt::Display) -> Error {
    Error::Safetensors(show(&e.to_string()))
}

fn from_st(d: StDtype) -> Option<DType> {
    Some(match d {
        StDtype::F64 => DType::F64,
        StDtype::F32 => DType::F32,
        StDtype::F16 => DType::F16,
        StDtype::BF16 => DType::BF16,
        StDtype::I64 => DType::I64,
        StDtype::I32 => DType::I32,
        StDtype::I16 => DType::I16,
        StDtype::I8 => DType::I8,
        StDtype::U64 => DType::U64,
        StDtype::U32 => DType::U32,
        StDtype::U16 => DType::U16,
        StDtype::U8 => DType::U8,
        StDtype::BOOL => DType::Bool,
        _ => return None,
    })
}

/// Reads all tensors (converted to f32, original dtype kept) and the string metadata.
pub fn read(bytes: &[u8]) -> Result<(BTreeMap<String, TensorData>, BTreeMap<String, String>)> {
    let limits = Limits::default();
    if bytes.len() > limits.max_input_bytes {
        return Err(Error::Limit(format!(
            "input of {} bytes exceeds the limit",
            bytes.len()
        )));
    }
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(serr)?;
    let metadata: BTreeMap<String, String> = meta
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let st = SafeTensors::deserialize(bytes).map_err(serr)?;
    let mut reader = TensorReader::new(&limits, None, bytes.len());
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        let dtype = from_st(view.dtype()).ok_or_else(|| {
            Error::Safetensors(format!(
                "{}: unsupported dtype {:?}",
                show(&name),
                view.dtype()
            ))
        })?;
        let shape = view.shape().to_vec();
        let numel = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        let want = numel.and_then(|n| n.checked_mul(dtype.size()));
        if want != Some(view.data().len()) {
            return Err(Error::Safetensors(format!(
                "{}: shape {shape:?} of {} does not match its {} bytes",
                show(&name),
                dtype.name(),
                view.data().len()
            )));
        }
        let stride = row_major_strides(&shape);
        let storage = Storage {
            dtype,
            bytes: std::borrow::Cow::Borrowed(view.data()),
            big_endian: false,
        };
        let t = reader
            .gather(&storage, 0, &shape, &stride)
            .map_err(|e| crate::interp::with_context(e, &name))?;
        out.insert(name, t);
    }
    Ok((out, metadata))
}

fn row_major_strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![0usize; shape.len()];
    let mut acc = 1usize;
    for (k, &d) in shape.iter().enumerate().rev() {
        s[k] = acc;
        acc = acc.saturating_mul(d);
    }
    s
}

/// Writes tensors as `dtype` (F32, F16 or BF16) with string metadata. Fails when a tensor's data length does
/// not match its shape, or for another dtype.
pub fn write(
    tensors: &BTreeMap<String, TensorData>,
    metadata: &BTreeMap<String, String>,
    dtype: DType,
) -> Result<Vec<u8>> {
    write_each(tensors, metadata, |_| dtype)
}

/// Like [`write`], but each tensor is stored in its own `dtype` field (F32, F16 or BF16): e.g. a training
/// state whose optimizer moments are kept at lower precision than its weights.
pub fn write_tagged(
    tensors: &BTreeMap<String, TensorData>,
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>> {
    write_each(tensors, metadata, |t| t.dtype)
}

fn write_each(
    tensors: &BTreeMap<String, TensorData>,
    metadata: &BTreeMap<String, String>,
    dtype_of: impl Fn(&TensorData) -> DType,
) -> Result<Vec<u8>> {
    let mut buffers: Vec<(String, Vec<usize>, Vec<u8>, StDtype)> =
        Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let dtype = dtype_of(t);
        let st_dtype = match dtype {
            DType::F32 => StDtype::F32,
            DType::F16 => StDtype::F16,
            DType::BF16 => StDtype::BF16,
            other => {
                return Err(Error::Safetensors(format!(
                    "cannot write tensors as {}",
                    other.name()
                )))
            }
        };
        let numel = t.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if numel != Some(t.data.len()) {
            return Err(Error::Safetensors(format!(
                "{}: shape {:?} does not match {} values",
                show(name),
                t.shape,
                t.data.len()
            )));
        }
        let bytes: Vec<u8> = match dtype {
            DType::F32 => t.data.iter().flat_map(|x| x.to_le_bytes()).collect(),
            DType::F16 => t
                .data
                .iter()
                .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
                .collect(),
            _ => t
                .data
                .iter()
                .flat_map(|&x| half::bf16::from_f32(x).to_le_bytes())
                .collect(),
        };
        buffers.push((name.clone(), t.shape.clone(), bytes, st_dtype));
    }
    let views = buffers
        .iter()
        .map(|(n, s, b, d)| Ok((n.as_str(), TensorView::new(*d, s.clone(), b).map_err(serr)?)))
        .collect::<Result<Vec<_>>>()?;
    let meta: Option<HashMap<String, String>> = if metadata.is_empty() {
        None
    } else {
        Some(
            metadata
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    };
    safetensors::serialize(views, &meta).map_err(serr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BTreeMap<String, TensorData> {
        let mut m = BTreeMap::new();
        m.insert(
            "mapping.fc0.weight".to_string(),
            TensorData {
                shape: vec![2, 3],
                dtype: DType::F32,
                data: vec![0.5, -1.0, 2.0, 3.25, 1e-3, -7.5],
            },
        );
        m.insert(
            "synthesis.b4.const".to_string(),
            TensorData {
                shape: vec![],
                dtype: DType::F32,
                data: vec![4.0],
            },
        );
        m.insert(
            "empty".to_string(),
            TensorData {
                shape: vec![0, 4],
                dtype: DType::F32,
                data: vec![],
            },
        );
        m
    }

    #[test]
    fn round_trip_f32_and_f16() {
        let t = sample();
        let mut meta = BTreeMap::new();
        meta.insert("format".to_string(), "bestiary".to_string());
        meta.insert("config".to_string(), "{\"z_dim\": 512}".to_string());
        let bytes = write(&t, &meta, DType::F32).unwrap();
        let (back, m2) = read(&bytes).unwrap();
        assert_eq!(back, t);
        assert_eq!(m2, meta);
        let bytes = write(&t, &BTreeMap::new(), DType::F16).unwrap();
        let (back, m2) = read(&bytes).unwrap();
        assert!(m2.is_empty());
        let w = &back["mapping.fc0.weight"];
        assert_eq!(w.dtype, DType::F16);
        assert_eq!(w.shape, vec![2, 3]);
        for (a, b) in w.data.iter().zip(&t["mapping.fc0.weight"].data) {
            assert!((a - b).abs() <= b.abs() * 1e-3, "{a} vs {b}");
        }
        let bytes = write(&t, &BTreeMap::new(), DType::BF16).unwrap();
        assert_eq!(
            read(&bytes).unwrap().0["synthesis.b4.const"].data,
            vec![4.0]
        );
    }

    #[test]
    fn bad_inputs() {
        let mut t = sample();
        t.get_mut("synthesis.b4.const").unwrap().data.push(1.0);
        let e = write(&t, &BTreeMap::new(), DType::F32)
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not match"), "{e}");
        assert!(write(&sample(), &BTreeMap::new(), DType::I64).is_err());
        // header that claims more bytes than the file has
        let mut b = write(&sample(), &BTreeMap::new(), DType::F32).unwrap();
        b.truncate(b.len() - 1);
        assert!(read(&b).is_err());
        // huge header length
        let mut h = (u64::MAX - 3).to_le_bytes().to_vec();
        h.extend_from_slice(b"{}");
        assert!(read(&h)
            .unwrap_err()
            .to_string()
            .starts_with("safetensors: "));
        // shape that overflows
        let hdr = r#"{"a":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904,4],"data_offsets":[0,0]}}"#;
        let mut f = (hdr.len() as u64).to_le_bytes().to_vec();
        f.extend_from_slice(hdr.as_bytes());
        assert!(read(&f).is_err());
    }
}
