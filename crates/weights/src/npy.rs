//! numpy's `.npy` arrays and `.npz` archives (a zip of `.npy` files), as the official projector writes
//! `projected_w.npz`. Only little-endian/byte numeric dtypes; sizes checked against the bytes present.

use crate::elements::{DType, TensorData};
use crate::error::{show, Error, Result};
use std::collections::BTreeMap;
use std::io::Read;

const MAGIC: &[u8] = b"\x93NUMPY";
/// Largest member of an .npz we inflate (W vectors are tiny; this stops zip bombs).
const MAX_MEMBER_BYTES: u64 = 1 << 30;

fn bad(msg: impl Into<String>) -> Error {
    Error::Tensor(format!("npy: {}", msg.into()))
}

/// The value of `'key': ...` in the header dict, up to the next top-level comma or the closing brace.
fn header_field<'h>(header: &'h str, key: &str) -> Result<&'h str> {
    let at = header
        .find(&format!("'{key}'"))
        .ok_or_else(|| bad(format!("header has no '{key}'")))?;
    let rest = header[at + key.len() + 2..]
        .trim_start()
        .strip_prefix(':')
        .ok_or_else(|| bad("malformed header"))?;
    let rest = rest.trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')').map(|i| i + 1)
    } else {
        rest.find([',', '}'])
    };
    Ok(rest[..end.ok_or_else(|| bad("malformed header"))?].trim())
}

/// Parses one `.npy` file.
pub fn read_npy(bytes: &[u8]) -> Result<TensorData> {
    if !bytes.starts_with(MAGIC) || bytes.len() < 10 {
        return Err(bad("not an .npy file"));
    }
    let (hlen, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(bad(format!("unsupported version {v}"))),
    };
    let header = bytes
        .get(start..start.saturating_add(hlen))
        .ok_or_else(|| bad("truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| bad("header is not text"))?;
    let descr = header_field(header, "descr")?.trim_matches(['\'', '"']);
    let (dtype, _) = DType::from_numpy(descr)
        .ok_or_else(|| bad(format!("unsupported dtype {}", show(descr))))?;
    if header_field(header, "fortran_order")? != "False" {
        return Err(bad("fortran-ordered arrays are not supported"));
    }
    if descr.starts_with('>') {
        return Err(bad("big-endian arrays are not supported"));
    }
    let shape_txt = header_field(header, "shape")?
        .trim_start_matches('(')
        .trim_end_matches(')');
    let shape: Vec<usize> = shape_txt
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| bad(format!("bad shape entry {}", show(s))))
        })
        .collect::<Result<_>>()?;
    let numel = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| bad("shape overflows"))?;
    let data = &bytes[start + hlen..];
    let need = numel
        .checked_mul(dtype.size())
        .ok_or_else(|| bad("shape overflows"))?;
    if data.len() < need {
        return Err(bad(format!(
            "{} data bytes, shape {shape:?} needs {need}",
            data.len()
        )));
    }
    let data = &data[..need];
    let vals: Vec<f32> = match dtype {
        DType::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        DType::F64 => data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
            .collect(),
        DType::U8 => data.iter().map(|&b| b as f32).collect(),
        DType::I64 => data
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
            .collect(),
        DType::I32 => data
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32)
            .collect(),
        other => return Err(bad(format!("unsupported dtype {other:?}"))),
    };
    Ok(TensorData {
        shape,
        dtype,
        data: vals,
    })
}

/// Every array of an `.npz` archive, by name without the `.npy` suffix.
pub fn read_npz(bytes: &[u8]) -> Result<BTreeMap<String, TensorData>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| bad(format!("npz: {}", show(&e.to_string()))))?;
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip
            .by_index(i)
            .map_err(|e| bad(format!("npz: {}", show(&e.to_string()))))?;
        let name = f.name().trim_end_matches(".npy").to_string();
        if f.size() > MAX_MEMBER_BYTES {
            return Err(Error::Limit(format!(
                "npz member {} is {} bytes",
                show(&name),
                f.size()
            )));
        }
        let mut buf = Vec::new();
        (&mut f)
            .take(MAX_MEMBER_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| bad(format!("npz: {}", show(&e.to_string()))))?;
        if buf.len() as u64 > MAX_MEMBER_BYTES {
            return Err(Error::Limit(format!(
                "npz member {} inflates past the limit",
                show(&name)
            )));
        }
        out.insert(name, read_npy(&buf)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut v = MAGIC.to_vec();
        v.extend([1, 0]);
        v.extend((h.len() as u16).to_le_bytes());
        v.extend(h.as_bytes());
        v.extend(data);
        v
    }

    #[test]
    fn reads_arrays_and_rejects_bad_ones() {
        let data: Vec<u8> = [1.5f32, -2.0, 3.25, 0.0, 7.0, 8.0]
            .iter()
            .flat_map(|f| f.to_le_bytes())
            .collect();
        let t = read_npy(&npy("<f4", "(1, 2, 3)", &data)).unwrap();
        assert_eq!(t.shape, [1, 2, 3]);
        assert_eq!(t.data, [1.5, -2.0, 3.25, 0.0, 7.0, 8.0]);
        let one = read_npy(&npy("<f8", "(1,)", &2.5f64.to_le_bytes())).unwrap();
        assert_eq!((one.shape, one.data), (vec![1], vec![2.5]));
        assert!(
            read_npy(&npy("<f4", "(1, 2, 4)", &data)).is_err(),
            "too few bytes"
        );
        assert!(
            read_npy(&npy("<f4", "(99999999999, 99999999999)", &data)).is_err(),
            "overflow"
        );
        assert!(
            read_npy(&npy("|O", "(1,)", &data)).is_err(),
            "object arrays"
        );
        assert!(read_npy(b"\x93NUMPY\x01\x00\xff\xff").is_err());
        for cut in 0..40 {
            let _ = read_npy(&npy("<f4", "(1, 2, 3)", &data)[..cut]);
        }
    }
}
