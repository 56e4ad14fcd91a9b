//! What a tensor is made of: its element type as stored ([`DType`]), the raw bytes of a storage
//! ([`Storage`]) and the in-memory form every reader returns ([`TensorData`]). Kept apart from the
//! readers so that each format (pickled tensors, legacy torch streams, zip archives, safetensors, npy)
//! can name them without importing another.

use std::borrow::Cow;

/// Element type a tensor had in its file (the data itself is converted to f32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U64,
    U32,
    U16,
    U8,
    Bool,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::F64 | DType::I64 | DType::U64 => 8,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F16 | DType::BF16 | DType::I16 | DType::U16 => 2,
            DType::I8 | DType::U8 | DType::Bool => 1,
        }
    }

    /// Short lowercase name (`f32`, `bf16`, …).
    pub fn name(self) -> &'static str {
        match self {
            DType::F64 => "f64",
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::I64 => "i64",
            DType::I32 => "i32",
            DType::I16 => "i16",
            DType::I8 => "i8",
            DType::U64 => "u64",
            DType::U32 => "u32",
            DType::U16 => "u16",
            DType::U8 => "u8",
            DType::Bool => "bool",
        }
    }

    /// Element type of a torch storage class (`torch.FloatStorage`, …; `torch.cuda.*` too).
    pub fn from_torch_storage(module: &str, name: &str) -> Option<DType> {
        if module != "torch" && module != "torch.cuda" {
            return None;
        }
        Some(match name {
            "FloatStorage" => DType::F32,
            "DoubleStorage" => DType::F64,
            "HalfStorage" => DType::F16,
            "BFloat16Storage" => DType::BF16,
            "LongStorage" => DType::I64,
            "IntStorage" => DType::I32,
            "ShortStorage" => DType::I16,
            "CharStorage" => DType::I8,
            "ByteStorage" | "UntypedStorage" => DType::U8,
            "BoolStorage" => DType::Bool,
            _ => return None,
        })
    }

    /// Element type named by a `torch.<dtype>` global (`torch.float32`, `torch.half`, …).
    pub fn from_torch_dtype(module: &str, name: &str) -> Option<DType> {
        if module != "torch" {
            return None;
        }
        Some(match name {
            "float32" | "float" => DType::F32,
            "float64" | "double" => DType::F64,
            "float16" | "half" => DType::F16,
            "bfloat16" => DType::BF16,
            "int64" | "long" => DType::I64,
            "int32" | "int" => DType::I32,
            "int16" | "short" => DType::I16,
            "int8" => DType::I8,
            "uint8" => DType::U8,
            "uint16" => DType::U16,
            "uint32" => DType::U32,
            "uint64" => DType::U64,
            "bool" => DType::Bool,
            _ => return None,
        })
    }

    /// Element type of a numpy type code (`f4`, `<f4`, `float32`, `b1`, …). Returns the type and whether the
    /// code itself says big-endian.
    pub fn from_numpy(code: &str) -> Option<(DType, Option<bool>)> {
        let (be, code) = match code.as_bytes().first() {
            Some(b'<') => (Some(false), &code[1..]),
            Some(b'>') => (Some(true), &code[1..]),
            Some(b'|') | Some(b'=') => (None, &code[1..]),
            _ => (None, code),
        };
        let t = match code {
            "f8" | "float64" | "d" => DType::F64,
            "f4" | "float32" | "f" => DType::F32,
            "f2" | "float16" | "e" => DType::F16,
            "i8" | "int64" | "q" | "l" => DType::I64,
            "i4" | "int32" | "i" => DType::I32,
            "i2" | "int16" | "h" => DType::I16,
            "i1" | "int8" | "b" => DType::I8,
            "u8" | "uint64" | "Q" | "L" => DType::U64,
            "u4" | "uint32" | "I" => DType::U32,
            "u2" | "uint16" | "H" => DType::U16,
            "u1" | "uint8" | "B" => DType::U8,
            "b1" | "bool" | "?" => DType::Bool,
            _ => return None,
        };
        Some((t, be))
    }
}

/// A tensor read from a file: row-major f32 data plus the element type it was stored with.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorData {
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub data: Vec<f32>,
}

impl TensorData {
    /// Number of elements (product of the shape).
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Raw bytes of a storage and how to read them.
#[derive(Debug, Clone)]
pub struct Storage<'s> {
    pub dtype: DType,
    pub bytes: Cow<'s, [u8]>,
    pub big_endian: bool,
}

impl Storage<'_> {
    /// Whole elements present.
    pub fn numel(&self) -> usize {
        self.bytes.len() / self.dtype.size()
    }
}
