//! The official StyleGAN2-ADA network pickle (`network-snapshot-*.pkl`), read without running any of it.
//!
//! The file is `pickle.dump(dict(training_set_kwargs=…, G=…, D=…, G_ema=…, augment_pipe=…))`. Each network is
//! recorded as `torch_utils.persistence._reconstruct_persistent_obj(meta)` with `meta = {type: 'class',
//! version, module_src, class_name, state}`; `module_src` (Python source) is ignored, `state` is the module's
//! `__dict__`, from which the `state_dict()` tensors and `_init_kwargs` are taken. Child modules are persistent
//! objects too, or plain torch modules (`cls.__new__` + BUILD). Tensors are `torch._utils._rebuild_*` calls on
//! `torch.storage._load_from_bytes(<legacy torch.save stream>)` storages.

use std::collections::BTreeMap;

use crate::elements::TensorData;
use crate::error::{show, Error, Result};
use crate::interp::{self, dict_items, get, module_tensors};
use crate::pickle::{self, Limits, Value};
use crate::tensor::TensorReader;

/// One network of the pickle.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// `meta['class_name']`, e.g. `Generator`.
    pub class_name: String,
    /// The constructor's keyword arguments (`_init_kwargs`) as JSON (`{}` when absent).
    pub init_kwargs: serde_json::Value,
    /// `state_dict()`: parameters and persistent buffers, recursively, by their torch names.
    pub tensors: BTreeMap<String, TensorData>,
}

/// The networks of an official snapshot pickle (`augment_pipe` is ignored).
#[derive(Debug, Clone, PartialEq)]
pub struct StyleganPkl {
    pub g: Option<Network>,
    pub d: Option<Network>,
    pub g_ema: Network,
    pub training_set_kwargs: Option<serde_json::Value>,
}

/// Reads an official StyleGAN2-ADA network pickle with the default [`Limits`].
pub fn read_stylegan_pkl(bytes: &[u8]) -> Result<StyleganPkl> {
    read_stylegan_pkl_with(bytes, &Limits::default())
}

/// [`read_stylegan_pkl`] with explicit limits.
pub fn read_stylegan_pkl_with(bytes: &[u8], limits: &Limits) -> Result<StyleganPkl> {
    let root = pickle::parse(bytes, limits)?;
    networks(&root, bytes, limits).map_err(|e| match (&e, interp::unknown_call(&root)) {
        // A pickle that is no network and calls something a network never calls: that call is the reason.
        (Error::Stylegan(_) | Error::Tensor(_), Some(f)) => Error::Refused(format!(
            "the pickle calls '{f}', which no network pickle does (nothing was executed)"
        )),
        _ => e,
    })
}

fn networks(root: &Value, bytes: &[u8], limits: &Limits) -> Result<StyleganPkl> {
    if dict_items(root).is_none() {
        return Err(Error::Stylegan(format!(
            "top level must be a dict, found {}",
            root.describe()
        )));
    }
    let mut reader = TensorReader::new(limits, None, bytes.len());
    let mut net = |key: &str| -> Result<Option<Network>> {
        match get(root, key) {
            None | Some(Value::None) => Ok(None),
            Some(v) => network(v, &mut reader).map(Some).map_err(|e| match e {
                Error::Limit(m) => Error::Limit(format!("{key}: {m}")),
                Error::Stylegan(m) => Error::Stylegan(format!("{key}: {m}")),
                other => Error::Stylegan(format!("{key}: {other}")),
            }),
        }
    };
    let g_ema =
        net("G_ema")?.ok_or_else(|| Error::Stylegan("no G_ema network in the pickle".into()))?;
    let g = net("G")?;
    let d = net("D")?;
    let training_set_kwargs = match get(root, "training_set_kwargs") {
        None | Some(Value::None) => None,
        Some(v) => Some(interp::to_json(v)),
    };
    Ok(StyleganPkl {
        g,
        d,
        g_ema,
        training_set_kwargs,
    })
}

/// One persistent network object.
fn network<'s>(v: &'s Value, reader: &mut TensorReader<'s, '_>) -> Result<Network> {
    let is_persistent = matches!(v, Value::Call(c)
        if c.func.as_global() == Some(("torch_utils.persistence", "_reconstruct_persistent_obj")));
    if is_persistent {
        let Value::Call(c) = v else { unreachable!() };
        let meta = c.args.as_seq().and_then(|a| a.first()).ok_or_else(|| {
            Error::Stylegan("_reconstruct_persistent_obj without its meta argument".into())
        })?;
        if dict_items(meta).is_none() {
            return Err(Error::Stylegan(format!(
                "persistent object meta must be a dict, found {}",
                meta.describe()
            )));
        }
        match get(meta, "type").and_then(|t| t.as_str()) {
            Some("class") => {}
            Some(t) => {
                return Err(Error::Stylegan(format!(
                    "unsupported persistent object type '{}'",
                    show(t)
                )))
            }
            None => return Err(Error::Stylegan("persistent object meta has no type".into())),
        }
    } else if interp::module_state(v).is_none() {
        return Err(Error::Stylegan(match v.constructor() {
            Some((m, n)) => format!(
                "global '{}.{}' is not an allowed network constructor",
                show(m),
                show(n)
            ),
            None => format!("expected a network, found {}", v.describe()),
        }));
    }
    let (state, class) = interp::module_state(v).ok_or_else(|| {
        Error::Stylegan("network state has no _parameters/_buffers/_modules".into())
    })?;
    let class_name = class.rsplit('.').next().unwrap_or(&class).to_string();
    let init_kwargs = match get(state, "_init_kwargs") {
        Some(k) => interp::to_json(k),
        None => serde_json::Value::Object(Default::default()),
    };
    let mut tensors = BTreeMap::new();
    module_tensors(state, "", reader, &mut tensors)?;
    Ok(Network {
        class_name,
        init_kwargs,
        tensors,
    })
}
