//! Tensors: the interpretation of the few constructor calls that
//! describe tensors in a pickle tree (torch's `_rebuild_*` helpers, `torch.storage._load_from_bytes`,
//! numpy's `_reconstruct` / `_frombuffer` / `scalar`). Any other constructor in a tensor position is an error:
//! nothing is ever looked up by name and called.

use std::borrow::Cow;

use crate::elements::{DType, Storage, TensorData};
use crate::error::{show, Error, Result};
use crate::pickle::{Limits, Value};
use crate::torch_legacy;

/// Converts element `i` of `bytes` (no bounds check beyond slicing).
fn elem(dtype: DType, be: bool, bytes: &[u8], i: usize) -> f32 {
    let n = dtype.size();
    let b = &bytes[i * n..i * n + n];
    macro_rules! rd {
        ($t:ty) => {{
            let a = b.try_into().unwrap();
            if be {
                <$t>::from_be_bytes(a)
            } else {
                <$t>::from_le_bytes(a)
            }
        }};
    }
    match dtype {
        DType::F64 => rd!(f64) as f32,
        DType::F32 => rd!(f32),
        DType::F16 => half::f16::from_bits(rd!(u16)).to_f32(),
        DType::BF16 => f32::from_bits((rd!(u16) as u32) << 16),
        DType::I64 => rd!(i64) as f32,
        DType::I32 => rd!(i32) as f32,
        DType::I16 => rd!(i16) as f32,
        DType::I8 => b[0] as i8 as f32,
        DType::U64 => rd!(u64) as f32,
        DType::U32 => rd!(u32) as f32,
        DType::U16 => rd!(u16) as f32,
        DType::U8 => b[0] as f32,
        DType::Bool => (b[0] != 0) as u8 as f32,
    }
}

/// Converts `count` consecutive elements starting at element `start`.
fn convert_run(st: &Storage, start: usize, count: usize, out: &mut Vec<f32>) {
    let (dtype, be) = (st.dtype, st.big_endian);
    let n = dtype.size();
    let bytes = &st.bytes[start * n..(start + count) * n];
    match (dtype, be) {
        (DType::F32, false) => out.extend(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap())),
        ),
        (DType::F16, false) => out.extend(
            bytes
                .chunks_exact(2)
                .map(|c| half::f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32()),
        ),
        _ => out.extend((0..count).map(|i| elem(dtype, be, bytes, i))),
    }
}

/// Resolves a persistent id to a storage (provided by the torch container readers).
pub type Resolver<'s, 'r> = dyn Fn(&Value) -> Result<Storage<'s>> + 'r;

/// Interprets tensor-describing values of one file, within the file's budgets.
pub struct TensorReader<'s, 'r> {
    limits: &'r Limits,
    resolver: Option<&'r Resolver<'s, 'r>>,
    elements_left: usize,
    nested_left: usize,
}

const TORCH_REBUILD: &[&str] = &[
    "_rebuild_tensor",
    "_rebuild_tensor_v2",
    "_rebuild_tensor_v3",
    "_rebuild_parameter",
    "_rebuild_parameter_with_state",
];

fn is_numpy_core(module: &str, sub: &str) -> bool {
    module
        .strip_prefix("numpy.core.")
        .or_else(|| module.strip_prefix("numpy._core."))
        == Some(sub)
}

/// Whether `v` is a value this module knows to be a tensor (it may still be malformed).
pub fn is_tensor(v: &Value) -> bool {
    let Some((m, n)) = v.constructor() else {
        return false;
    };
    (m == "torch._utils" && TORCH_REBUILD.contains(&n))
        || (m == "torch._tensor" && n == "_rebuild_from_type_v2")
        || (is_numpy_core(m, "multiarray") && (n == "_reconstruct" || n == "scalar"))
        || (is_numpy_core(m, "numeric") && n == "_frombuffer")
}

fn args_of(v: &Value) -> &[Value] {
    match v {
        Value::Call(c) => c.args.as_seq().unwrap_or(&[]),
        _ => &[],
    }
}

fn arg<'v>(args: &'v [Value], i: usize, what: &str) -> Result<&'v Value> {
    args.get(i)
        .ok_or_else(|| Error::Tensor(format!("missing argument {i} ({what})")))
}

fn usize_of(v: &Value, what: &str) -> Result<usize> {
    match v {
        Value::Int(i) if *i >= 0 => Ok(*i as usize),
        _ => Err(Error::Tensor(format!(
            "{what} must be a non-negative integer, found {}",
            v.describe()
        ))),
    }
}

/// A tuple/list of non-negative ints (also `torch.Size((…))`).
fn usize_list(v: &Value, what: &str) -> Result<Vec<usize>> {
    let seq = match v {
        Value::Call(c) if c.func.as_global() == Some(("torch", "Size")) => c
            .args
            .as_seq()
            .and_then(|a| a.first())
            .and_then(|x| x.as_seq()),
        other => other.as_seq(),
    };
    let seq = seq.ok_or_else(|| {
        Error::Tensor(format!(
            "{what} must be a tuple of ints, found {}",
            v.describe()
        ))
    })?;
    if seq.len() > 64 {
        return Err(Error::Tensor(format!(
            "{what} has {} dimensions (at most 64)",
            seq.len()
        )));
    }
    seq.iter().map(|x| usize_of(x, what)).collect()
}

/// `bytes`-like values: bytes, bytearray, ASCII py2 str, and protocol-2 `_codecs.encode(str, 'latin1')`.
pub(crate) fn bytes_like(v: &Value) -> Option<Cow<'_, [u8]>> {
    match v {
        Value::Bytes(b) | Value::ByteArray(b) => Some(Cow::Borrowed(&b[..])),
        Value::Str(s) if s.is_ascii() => Some(Cow::Borrowed(s.as_bytes())),
        Value::Call(c) => {
            let args = c.args.as_seq()?;
            match c.func.as_global()? {
                ("_codecs", "encode") => {
                    let s = args.first()?.as_str()?;
                    let enc = args.get(1)?.as_str()?;
                    if !matches!(enc, "latin1" | "latin-1" | "iso-8859-1") {
                        return None;
                    }
                    s.chars()
                        .map(|ch| u8::try_from(ch as u32).ok())
                        .collect::<Option<Vec<u8>>>()
                        .map(Cow::Owned)
                }
                ("builtins", "bytes") | ("builtins", "bytearray") => match args {
                    [] => Some(Cow::Owned(Vec::new())),
                    [b] => bytes_like(b),
                    [Value::Str(s), enc] if matches!(enc.as_str(), Some("latin1" | "latin-1")) => s
                        .chars()
                        .map(|ch| u8::try_from(ch as u32).ok())
                        .collect::<Option<Vec<u8>>>()
                        .map(Cow::Owned),
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    }
}

impl<'s, 'r> TensorReader<'s, 'r> {
    /// A reader for a file of `file_len` bytes. `resolver` maps persistent ids to storages (None for plain
    /// pickles, whose tensors carry their bytes inline).
    pub fn new(
        limits: &'r Limits,
        resolver: Option<&'r Resolver<'s, 'r>>,
        file_len: usize,
    ) -> Self {
        TensorReader {
            limits,
            resolver,
            elements_left: limits.tensor_budget(file_len),
            nested_left: limits.max_nested_streams,
        }
    }

    /// Interprets `v` as a tensor.
    pub fn read(&mut self, v: &'s Value) -> Result<TensorData> {
        let (m, n) = match v.constructor() {
            Some(g) => g,
            None => {
                return Err(Error::Tensor(format!(
                    "expected a tensor, found {}",
                    v.describe()
                )))
            }
        };
        let args = args_of(strip_build(v));
        match (m, n) {
            ("torch._utils", "_rebuild_parameter")
            | ("torch._utils", "_rebuild_parameter_with_state") => self.read(arg(args, 0, "data")?),
            ("torch._tensor", "_rebuild_from_type_v2") => {
                // (func, new_type, args, state): the tensor is func(*args)
                let func = arg(args, 0, "func")?;
                let inner = arg(args, 2, "args")?;
                match (func.as_global(), inner) {
                    (Some((fm, fname)), Value::Tuple(a))
                        if fm == "torch._utils" && TORCH_REBUILD.contains(&fname) =>
                    {
                        self.rebuild(fname, a)
                    }
                    _ => Err(Error::Tensor(
                        "unsupported _rebuild_from_type_v2 arguments".into(),
                    )),
                }
            }
            ("torch._utils", "_rebuild_tensor" | "_rebuild_tensor_v2" | "_rebuild_tensor_v3") => {
                self.rebuild(n, args)
            }
            (m, "_reconstruct") if is_numpy_core(m, "multiarray") => self.numpy_reconstruct(v),
            (m, "_frombuffer") if is_numpy_core(m, "numeric") => self.numpy_frombuffer(args),
            (m, "scalar") if is_numpy_core(m, "multiarray") => self.numpy_scalar(args),
            (m, n) => Err(Error::Tensor(format!(
                "global '{}.{}' is not an allowed tensor constructor",
                show(m),
                show(n)
            ))),
        }
    }

    fn rebuild(&mut self, which: &str, args: &'s [Value]) -> Result<TensorData> {
        let mut storage = self.storage(arg(args, 0, "storage")?)?;
        let offset = usize_of(arg(args, 1, "storage_offset")?, "storage_offset")?;
        let shape = usize_list(arg(args, 2, "size")?, "size")?;
        let stride = usize_list(arg(args, 3, "stride")?, "stride")?;
        if which == "_rebuild_tensor_v3" {
            let d = arg(args, 6, "dtype")?;
            let dt = d
                .as_global()
                .and_then(|(m, n)| DType::from_torch_dtype(m, n))
                .ok_or_else(|| Error::Tensor(format!("unsupported dtype {}", d.describe())))?;
            storage.dtype = dt;
        }
        self.gather(&storage, offset, &shape, &stride)
    }

    /// Resolves the storage argument of a rebuild call.
    fn storage(&mut self, v: &'s Value) -> Result<Storage<'s>> {
        match v {
            Value::PersistentId(pid) => match self.resolver {
                Some(r) => r(pid),
                None => Err(Error::Tensor(
                    "persistent id in a file that has no storages".into(),
                )),
            },
            Value::Call(c) if c.func.as_global() == Some(("torch.storage", "_load_from_bytes")) => {
                let b =
                    c.args.as_seq().and_then(|a| a.first()).ok_or_else(|| {
                        Error::Tensor("_load_from_bytes without an argument".into())
                    })?;
                let bytes = bytes_like(b).ok_or_else(|| {
                    Error::Tensor(format!(
                        "_load_from_bytes argument must be bytes, found {}",
                        b.describe()
                    ))
                })?;
                if self.nested_left == 0 {
                    return Err(Error::Limit(format!(
                        "tensor: pickles nested deeper than {} levels",
                        self.limits.max_nested_streams
                    )));
                }
                match bytes {
                    Cow::Borrowed(b) => torch_legacy::read_storage_stream(b, self.limits),
                    Cow::Owned(v) => {
                        // protocol 0/1: the bytes were rebuilt from latin-1 text; copy the storage out
                        let st = torch_legacy::read_storage_stream(&v, self.limits)?;
                        Ok(Storage {
                            dtype: st.dtype,
                            bytes: Cow::Owned(st.bytes.into_owned()),
                            big_endian: st.big_endian,
                        })
                    }
                }
            }
            other => match other.constructor() {
                Some((m, n)) => Err(Error::Tensor(format!(
                    "global '{}.{}' is not an allowed storage constructor",
                    show(m),
                    show(n)
                ))),
                None => Err(Error::Tensor(format!(
                    "expected a storage, found {}",
                    other.describe()
                ))),
            },
        }
    }

    /// Reads a (possibly strided) view of a storage into row-major f32, after bounds checks.
    pub fn gather(
        &mut self,
        st: &Storage,
        offset: usize,
        shape: &[usize],
        stride: &[usize],
    ) -> Result<TensorData> {
        if shape.len() != stride.len() {
            return Err(Error::Tensor(format!(
                "size has {} dimensions but stride has {}",
                shape.len(),
                stride.len()
            )));
        }
        let numel = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| Error::Tensor("element count overflows".into()))?;
        let have = st.numel();
        if numel == 0 {
            return Ok(TensorData {
                shape: shape.to_vec(),
                dtype: st.dtype,
                data: Vec::new(),
            });
        }
        let mut last = offset;
        for (&d, &s) in shape.iter().zip(stride) {
            last = (d - 1)
                .checked_mul(s)
                .and_then(|x| x.checked_add(last))
                .ok_or_else(|| Error::Tensor("view extent overflows".into()))?;
        }
        if last >= have {
            return Err(Error::Tensor(format!(
                "view of shape {shape:?} stride {stride:?} offset {offset} reaches element {last} of a storage of {have} elements"
            )));
        }
        if numel > have && numel - have > self.limits.max_broadcast_elements {
            return Err(Error::Limit(format!(
                "tensor: view of {numel} elements over a storage of {have} elements"
            )));
        }
        if numel > self.elements_left {
            return Err(Error::Limit(format!(
                "tensor: file produces more tensor elements than the budget ({} left, {numel} wanted)",
                self.elements_left
            )));
        }
        self.elements_left -= numel;
        let mut data = Vec::with_capacity(numel);
        // Row-major contiguous view: one run.
        let mut expect = 1usize;
        let mut contiguous = true;
        for (&d, &s) in shape.iter().zip(stride).rev() {
            if d != 1 && s != expect {
                contiguous = false;
            }
            expect = expect.saturating_mul(d);
        }
        if contiguous {
            convert_run(st, offset, numel, &mut data);
        } else {
            // Walk output positions in row-major order, following the strides through the storage.
            let nd = shape.len();
            let mut idx = vec![0usize; nd];
            let mut pos = offset;
            for _ in 0..numel {
                data.push(elem(st.dtype, st.big_endian, &st.bytes, pos));
                // Wrapping arithmetic: the net change is exact (every visited position was bounds-checked
                // above), while the intermediate step past a size-1 dimension may be huge.
                for k in (0..nd).rev() {
                    idx[k] += 1;
                    pos = pos.wrapping_add(stride[k]);
                    if idx[k] < shape[k] {
                        break;
                    }
                    pos = pos.wrapping_sub(stride[k].wrapping_mul(shape[k]));
                    idx[k] = 0;
                }
            }
        }
        Ok(TensorData {
            shape: shape.to_vec(),
            dtype: st.dtype,
            data,
        })
    }

    // --- numpy -------------------------------------------------------------------------------------------

    /// `numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')` + BUILD (version, shape, dtype, fortran, raw).
    fn numpy_reconstruct(&mut self, v: &'s Value) -> Result<TensorData> {
        let state = match v {
            Value::Build { state, .. } => state,
            _ => {
                return Err(Error::Tensor(
                    "numpy array without its state (BUILD)".into(),
                ))
            }
        };
        let st = state.as_seq().ok_or_else(|| {
            Error::Tensor(format!(
                "numpy array state must be a tuple, found {}",
                state.describe()
            ))
        })?;
        let st = match st.len() {
            5 => &st[1..],
            4 => st,
            n => {
                return Err(Error::Tensor(format!(
                    "numpy array state has {n} fields (expected 4 or 5)"
                )))
            }
        };
        let shape = usize_list(&st[0], "numpy shape")?;
        let (dtype, be) = numpy_dtype(&st[1])?;
        let fortran = st[2]
            .as_bool()
            .ok_or_else(|| Error::Tensor("numpy fortran flag must be a bool".into()))?;
        match &st[3] {
            Value::List(items) => self.numpy_from_list(items, shape, dtype),
            raw => {
                let bytes = bytes_like(raw).ok_or_else(|| {
                    Error::Tensor(format!(
                        "numpy raw data must be bytes, found {}",
                        raw.describe()
                    ))
                })?;
                self.numpy_from_bytes(bytes, dtype, be, shape, fortran)
            }
        }
    }

    /// Protocol 5: `numpy.core.numeric._frombuffer(buffer, dtype, shape, order)`.
    fn numpy_frombuffer(&mut self, args: &'s [Value]) -> Result<TensorData> {
        let buf = arg(args, 0, "buffer")?;
        let bytes = bytes_like(buf).ok_or_else(|| {
            Error::Tensor(format!(
                "numpy buffer must be bytes, found {}",
                buf.describe()
            ))
        })?;
        let (dtype, be) = numpy_dtype(arg(args, 1, "dtype")?)?;
        let shape = usize_list(arg(args, 2, "shape")?, "numpy shape")?;
        let fortran = match arg(args, 3, "order")?.as_str() {
            Some("C") => false,
            Some("F") => true,
            _ => return Err(Error::Tensor("numpy order must be 'C' or 'F'".into())),
        };
        self.numpy_from_bytes(bytes, dtype, be, shape, fortran)
    }

    /// `numpy.core.multiarray.scalar(dtype, bytes)`: a 0-d tensor.
    fn numpy_scalar(&mut self, args: &'s [Value]) -> Result<TensorData> {
        let (dtype, be) = numpy_dtype(arg(args, 0, "dtype")?)?;
        let raw = arg(args, 1, "data")?;
        let bytes = bytes_like(raw).ok_or_else(|| {
            Error::Tensor(format!(
                "numpy scalar data must be bytes, found {}",
                raw.describe()
            ))
        })?;
        self.numpy_from_bytes(bytes, dtype, be, Vec::new(), false)
    }

    fn numpy_from_bytes(
        &mut self,
        bytes: Cow<'s, [u8]>,
        dtype: DType,
        be: bool,
        shape: Vec<usize>,
        fortran: bool,
    ) -> Result<TensorData> {
        let numel = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| Error::Tensor("element count overflows".into()))?;
        let want = numel.checked_mul(dtype.size());
        if want != Some(bytes.len()) {
            return Err(Error::Tensor(format!(
                "numpy array of shape {shape:?} and type {} needs {} bytes, data has {}",
                dtype.name(),
                want.map_or("too many".to_string(), |w| w.to_string()),
                bytes.len()
            )));
        }
        let st = Storage {
            dtype,
            bytes,
            big_endian: be,
        };
        // Column-major data: element (i0, i1, …) sits at i0 + d0*(i1 + d1*(…)).
        let stride: Vec<usize> = if fortran {
            let mut s = Vec::with_capacity(shape.len());
            let mut acc = 1usize;
            for &d in &shape {
                s.push(acc);
                acc = acc.saturating_mul(d);
            }
            s
        } else {
            let mut s = vec![0usize; shape.len()];
            let mut acc = 1usize;
            for (k, &d) in shape.iter().enumerate().rev() {
                s[k] = acc;
                acc = acc.saturating_mul(d);
            }
            s
        };
        self.gather(&st, 0, &shape, &stride)
    }

    fn numpy_from_list(
        &mut self,
        items: &[Value],
        shape: Vec<usize>,
        dtype: DType,
    ) -> Result<TensorData> {
        let numel: usize = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .unwrap_or(usize::MAX);
        if numel != items.len() {
            return Err(Error::Tensor(format!(
                "numpy array of shape {shape:?} has {} listed elements",
                items.len()
            )));
        }
        if numel > self.elements_left {
            return Err(Error::Limit("tensor: element budget exceeded".into()));
        }
        self.elements_left -= numel;
        let data = items
            .iter()
            .map(|x| match x {
                Value::Float(f) => Ok(*f as f32),
                Value::Int(i) => Ok(*i as f32),
                Value::Bool(b) => Ok(*b as u8 as f32),
                other => Err(Error::Tensor(format!(
                    "numpy element must be a number, found {}",
                    other.describe()
                ))),
            })
            .collect::<Result<Vec<f32>>>()?;
        Ok(TensorData { shape, dtype, data })
    }
}

fn strip_build(v: &Value) -> &Value {
    match v {
        Value::Build { obj, .. } => strip_build(obj),
        other => other,
    }
}

/// `numpy.dtype(code, align, copy)` + BUILD state `(version, byteorder, …)`.
fn numpy_dtype(v: &Value) -> Result<(DType, bool)> {
    let (call, state) = match v {
        Value::Build { obj, state } => (&**obj, Some(&**state)),
        other => (other, None),
    };
    let code = match call {
        Value::Call(c) => {
            match c.func.as_global() {
                Some(("numpy", "dtype")) => {}
                Some((m, n)) => {
                    return Err(Error::Tensor(format!(
                        "global '{}.{}' is not an allowed numpy dtype constructor",
                        show(m),
                        show(n)
                    )))
                }
                None => {
                    return Err(Error::Tensor(
                        "numpy dtype is not a call of numpy.dtype".into(),
                    ))
                }
            }
            c.args
                .as_seq()
                .and_then(|a| a.first())
                .and_then(|x| x.as_str())
        }
        _ => None,
    };
    let code = code
        .ok_or_else(|| Error::Tensor(format!("expected a numpy dtype, found {}", v.describe())))?;
    let (dt, be_code) = DType::from_numpy(code)
        .ok_or_else(|| Error::Tensor(format!("unsupported numpy dtype '{}'", show(code))))?;
    let be_state = state
        .and_then(|s| s.as_seq())
        .and_then(|s| s.get(1))
        .and_then(|b| b.as_str())
        .map(|b| b == ">");
    Ok((dt, be_code.or(be_state).unwrap_or(false)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(dtype: DType, bytes: Vec<u8>) -> Storage<'static> {
        Storage {
            dtype,
            bytes: Cow::Owned(bytes),
            big_endian: false,
        }
    }

    #[test]
    fn strided_gather_and_bounds() {
        let limits = Limits::default();
        let mut r = TensorReader::new(&limits, None, 0);
        let vals: Vec<u8> = (0..12).flat_map(|i| (i as f32).to_le_bytes()).collect();
        let s = st(DType::F32, vals);
        // 3x4 storage viewed transposed: shape [4,3], stride [1,4]
        let t = r.gather(&s, 0, &[4, 3], &[1, 4]).unwrap();
        assert_eq!(
            t.data,
            vec![0., 4., 8., 1., 5., 9., 2., 6., 10., 3., 7., 11.]
        );
        // offset + stride-2 slice
        let t = r.gather(&s, 1, &[3], &[2]).unwrap();
        assert_eq!(t.data, vec![1., 3., 5.]);
        // broadcast (stride 0)
        let t = r.gather(&s, 5, &[2, 2], &[0, 1]).unwrap();
        assert_eq!(t.data, vec![5., 6., 5., 6.]);
        // size-1 dimensions may carry any stride (torch writes such views)
        let t = r
            .gather(&s, 2, &[1, 3, 1], &[usize::MAX / 2, 3, usize::MAX])
            .unwrap();
        assert_eq!(t.data, vec![2., 5., 8.]);
        // out of bounds
        let e = r.gather(&s, 10, &[3], &[1]).unwrap_err().to_string();
        assert!(e.contains("reaches element 12"), "{e}");
        let e = r
            .gather(&s, 0, &[usize::MAX, 2], &[1, 1])
            .unwrap_err()
            .to_string();
        assert!(e.contains("overflows"), "{e}");
        // huge broadcast view of a tiny storage is refused before allocating
        let e = r.gather(&s, 0, &[1 << 40], &[0]).unwrap_err().to_string();
        assert!(e.starts_with("limit:"), "{e}");
        // empty tensors need no storage
        assert!(r
            .gather(&st(DType::F32, vec![]), 0, &[0, 5], &[5, 1])
            .unwrap()
            .data
            .is_empty());
    }

    #[test]
    fn conversions() {
        let limits = Limits::default();
        let mut r = TensorReader::new(&limits, None, 0);
        let h: Vec<u8> = [1.5f32, -2.0, 65504.0]
            .iter()
            .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
            .collect();
        assert_eq!(
            r.gather(&st(DType::F16, h), 0, &[3], &[1]).unwrap().data,
            vec![1.5, -2.0, 65504.0]
        );
        let b: Vec<u8> = [1.5f32, -3.25]
            .iter()
            .flat_map(|&x| half::bf16::from_f32(x).to_le_bytes())
            .collect();
        assert_eq!(
            r.gather(&st(DType::BF16, b), 0, &[2], &[1]).unwrap().data,
            vec![1.5, -3.25]
        );
        let l: Vec<u8> = [-7i64, 1 << 40]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(
            r.gather(&st(DType::I64, l), 0, &[2], &[1]).unwrap().data,
            vec![-7.0, (1u64 << 40) as f32]
        );
        let d: Vec<u8> = 0.1f64.to_be_bytes().to_vec();
        let s = Storage {
            dtype: DType::F64,
            bytes: Cow::Owned(d),
            big_endian: true,
        };
        assert_eq!(r.gather(&s, 0, &[], &[]).unwrap().data, vec![0.1f32]);
        assert_eq!(
            r.gather(&st(DType::Bool, vec![0, 2, 1]), 0, &[3], &[1])
                .unwrap()
                .data,
            vec![0., 1., 1.]
        );
        assert_eq!(
            r.gather(&st(DType::I8, vec![0xff]), 0, &[1], &[1])
                .unwrap()
                .data,
            vec![-1.]
        );
    }

    #[test]
    fn unknown_constructor_is_refused() {
        let limits = Limits::default();
        let mut r = TensorReader::new(&limits, None, 0);
        let v = Value::Call(Box::new(crate::pickle::Call {
            func: Value::Global {
                module: "os".into(),
                name: "system".into(),
            },
            args: Value::Tuple(vec![Value::Str("rm -rf /".into())]),
            kwargs: None,
            kind: crate::pickle::CallKind::Reduce,
            list_items: vec![],
            dict_items: vec![],
        }));
        let e = r.read(Box::leak(Box::new(v))).unwrap_err().to_string();
        assert_eq!(
            e,
            "tensor: global 'os.system' is not an allowed tensor constructor"
        );
    }
}
