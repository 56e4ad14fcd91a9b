//! Loading and exporting module tensors by name (the official PyTorch `state_dict` names).
//!
//! Weight maps are plain `name -> (shape, f32 data)` maps so that any reader (safetensors,
//! official .pkl, ...) can feed them.

use std::collections::{BTreeMap, BTreeSet};

use burn::module::{Param, ParamId};
use burn::tensor::{backend::Backend, Tensor, TensorData};

use crate::fir::Fir;

/// A weight map: official tensor name -> (shape, row-major f32 data).
pub type WeightMap = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// Errors raised while loading weights.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StateError {
    /// A tensor the module needs is absent from the map.
    #[error("missing tensor `{0}` in the weight map")]
    Missing(String),
    /// A tensor has a different shape from the one the configuration implies.
    #[error("tensor `{name}` has shape {got:?}, expected {expected:?} (does the config match the weights?)")]
    Shape {
        /// Tensor name.
        name: String,
        /// Shape implied by the configuration.
        expected: Vec<usize>,
        /// Shape found in the map.
        got: Vec<usize>,
    },
    /// The map holds tensors the module does not have (usually a config mismatch).
    #[error("unexpected tensors in the weight map (does the config match the weights?): {}", .0.join(", "))]
    Unexpected(Vec<String>),
    /// The data length does not match the declared shape.
    #[error("tensor `{name}` declares shape {shape:?} but holds {len} values")]
    Corrupt {
        /// Tensor name.
        name: String,
        /// Declared shape.
        shape: Vec<usize>,
        /// Number of values.
        len: usize,
    },
    /// A tensor holds values the module cannot use.
    #[error("tensor `{name}` {reason}")]
    Invalid {
        /// Tensor name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Reads tensors from a [`WeightMap`], remembering which names were used.
pub struct StateReader<'a> {
    map: &'a WeightMap,
    used: BTreeSet<String>,
}

impl<'a> StateReader<'a> {
    /// Wraps a map.
    pub fn new(map: &'a WeightMap) -> Self {
        StateReader {
            map,
            used: BTreeSet::new(),
        }
    }

    /// Whether the map holds `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Reads `name` and checks that it has `expected` shape. A scalar may be stored with
    /// shape `[]` or `[1]`.
    pub fn read(&mut self, name: &str, expected: &[usize]) -> Result<Vec<f32>, StateError> {
        let (shape, data) = self
            .map
            .get(name)
            .ok_or_else(|| StateError::Missing(name.to_string()))?;
        let numel: usize = shape.iter().product();
        if numel != data.len() {
            return Err(StateError::Corrupt {
                name: name.into(),
                shape: shape.clone(),
                len: data.len(),
            });
        }
        let scalar_ok = expected.iter().product::<usize>() == 1
            && numel == 1
            && shape.len() <= 1
            && expected.len() <= 1;
        if shape.as_slice() != expected && !scalar_ok {
            return Err(StateError::Shape {
                name: name.into(),
                expected: expected.to_vec(),
                got: shape.clone(),
            });
        }
        self.used.insert(name.to_string());
        Ok(data.clone())
    }

    /// Reads `name` as a tensor of shape `shape` (the stored shape must be `stored_shape`,
    /// which differs from `shape` only for scalars stored as `[]`).
    pub fn tensor<B: Backend, const D: usize>(
        &mut self,
        name: &str,
        stored_shape: &[usize],
        shape: [usize; D],
        device: &B::Device,
    ) -> Result<Tensor<B, D>, StateError> {
        let data = self.read(name, stored_shape)?;
        Ok(Tensor::from_data(TensorData::new(data, shape), device))
    }

    /// Replaces the value of `param` by the tensor `name` (same shape as the current value,
    /// or `stored_shape` when given), keeping its id and its `require_grad` flag.
    pub fn param<B: Backend, const D: usize>(
        &mut self,
        param: Param<Tensor<B, D>>,
        name: &str,
        stored_shape: Option<&[usize]>,
    ) -> Result<Param<Tensor<B, D>>, StateError> {
        let value = param.val();
        let shape = value.dims();
        let device = value.device();
        let require_grad = param.is_require_grad();
        let stored: Vec<usize> = stored_shape
            .map(|s| s.to_vec())
            .unwrap_or_else(|| shape.to_vec());
        let t = self.tensor::<B, D>(name, &stored, shape, &device)?;
        Ok(Param::initialized(param.id, t).set_require_grad(require_grad))
    }

    /// The `resample_filter` buffer `name` as the filter it holds (the official networks
    /// resample with the stored buffer, whatever their config says); `fallback` (the config's
    /// filter) when the map has no such buffer.
    pub fn filter(&mut self, name: &str, fallback: Fir) -> Result<Fir, StateError> {
        let Some((shape, data)) = self.map.get(name) else {
            return Ok(fallback);
        };
        let f = Fir::from_buffer(shape, data).map_err(|reason| StateError::Invalid {
            name: name.to_string(),
            reason: format!("is not a resampling filter: {reason}"),
        })?;
        self.used.insert(name.to_string());
        Ok(f)
    }

    /// Fails with [`StateError::Unexpected`] when some names were never read.
    pub fn finish(&self) -> Result<(), StateError> {
        let u = self.unused();
        if u.is_empty() {
            Ok(())
        } else {
            Err(StateError::Unexpected(u))
        }
    }

    /// Names in the map that were never read.
    pub fn unused(&self) -> Vec<String> {
        self.map
            .keys()
            .filter(|k| !self.used.contains(*k))
            .cloned()
            .collect()
    }
}

/// Writes a tensor into a weight map under `name` with the given stored shape
/// (`None` = the tensor's own shape).
pub fn export_tensor<B: Backend, const D: usize>(
    out: &mut WeightMap,
    name: &str,
    t: Tensor<B, D>,
    stored_shape: Option<&[usize]>,
) {
    let shape = stored_shape
        .map(|s| s.to_vec())
        .unwrap_or_else(|| t.dims().to_vec());
    let data = t
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("f32 tensor data");
    out.insert(name.to_string(), (shape, data));
}

/// A parameter (trainable).
pub fn param<B: Backend, const D: usize>(t: Tensor<B, D>) -> Param<Tensor<B, D>> {
    Param::initialized(ParamId::new(), t.require_grad())
}

/// A buffer: saved with the module, but never trained (`require_grad = false`, so optimizers
/// never see a gradient for it).
pub fn buffer<B: Backend, const D: usize>(t: Tensor<B, D>) -> Param<Tensor<B, D>> {
    Param::initialized(ParamId::new(), t).set_require_grad(false)
}

/// The state_dict name of `name` inside the module at `prefix` (`""` for the root): `prefix.name`.
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}
