//! `read_torch_state_dict`: the tensors of a `.pt` / `.pth` file (zip or legacy `torch.save`), or of a plain
//! pickle holding numpy arrays, by their `state_dict()`-style names.

use std::collections::BTreeMap;

use crate::elements::TensorData;
use crate::error::{Error, Result};
use crate::interp::{self, get};
use crate::pickle::{self, Limits, Value};
use crate::tensor::TensorReader;
use crate::{torch_legacy, torch_zip};

/// Reads a state dict with the default [`Limits`]. Accepts:
/// - torch zip files and legacy `torch.save` streams;
/// - plain pickles (e.g. nested dicts of numpy arrays).
///
/// Names: nested dicts are flattened with '.', pickled torch modules give their `state_dict()` names. When the
/// top level is a checkpoint dict with a `state_dict` (or `model_state_dict`) entry, only that entry is read.
pub fn read_torch_state_dict(bytes: &[u8]) -> Result<BTreeMap<String, TensorData>> {
    read_torch_state_dict_with(bytes, &Limits::default())
}

/// [`read_torch_state_dict`] with explicit limits.
pub fn read_torch_state_dict_with(
    bytes: &[u8],
    limits: &Limits,
) -> Result<BTreeMap<String, TensorData>> {
    let mut out = BTreeMap::new();
    if torch_zip::is_zip(bytes) {
        let mut z = torch_zip::TorchZip::open(bytes, limits)?;
        let root = z
            .pickle("data")?
            .ok_or_else(|| Error::Torch("zip archive has no data.pkl".into()))?;
        let maps = z.storages(&root, "data")?;
        let res = torch_zip::resolver(&maps);
        let mut reader = TensorReader::new(limits, Some(&res), bytes.len());
        interp::collect_tensors(select(&root), "", &mut reader, &mut out)?;
    } else if torch_legacy::is_legacy(bytes) {
        let f = torch_legacy::read_legacy(bytes, limits)?;
        let res = |pid: &Value| f.storage(pid);
        let mut reader = TensorReader::new(limits, Some(&res), bytes.len());
        interp::collect_tensors(select(&f.root), "", &mut reader, &mut out)?;
    } else {
        let root = pickle::parse(bytes, limits)?;
        let mut reader = TensorReader::new(limits, None, bytes.len());
        interp::collect_tensors(select(&root), "", &mut reader, &mut out)?;
    }
    Ok(out)
}

fn select(root: &Value) -> &Value {
    for key in ["state_dict", "model_state_dict"] {
        if let Some(v) = get(root, key) {
            if interp::dict_items(v).is_some() || interp::module_state(v).is_some() {
                return v;
            }
        }
    }
    root
}
