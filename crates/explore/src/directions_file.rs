//! Directions files, written by `bestiary directions` and read by `edit --direction FILE:K`: a .safetensors
//! with 'directions' `[K, w_dim]` (unit rows in W), 'sigma' `[K]` (the spread of W along each, the unit of
//! an edit's amount), 'eigenvalues' `[K]`, any tensors a method adds (GANSpace's 'mean'), and a JSON
//! summary under the metadata key "bestiary". Errors name no path: callers know which file they read.

use crate::{invalid, ExploreError, Result};
use bestiary_weights::{safetensors_io, DType, TensorData};
use std::collections::BTreeMap;

/// The `format` field of the JSON summary.
pub const FORMAT: &str = "bestiary.directions/1";

/// What a direction-finding method found.
#[derive(Clone, Debug)]
pub struct Directions {
    pub directions: Vec<Vec<f32>>,
    pub sigma: Vec<f32>,
    pub eigenvalues: Vec<f64>,
    /// Extra tensors by name (e.g. GANSpace's 'mean').
    pub extra: BTreeMap<String, TensorData>,
}

fn tensor(shape: Vec<usize>, data: Vec<f32>) -> TensorData {
    TensorData {
        shape,
        dtype: DType::F32,
        data,
    }
}

impl Directions {
    /// GANSpace's axes as directions, the sample mean kept as the tensor 'mean'.
    pub fn from_pca(pca: crate::Pca) -> Directions {
        let extra = BTreeMap::from([("mean".to_string(), tensor(vec![pca.mean.len()], pca.mean))]);
        Directions {
            directions: pca.directions,
            sigma: pca.sigma,
            eigenvalues: pca.variances,
            extra,
        }
    }

    /// The file's bytes; `summary` is the JSON text stored under "bestiary" (its "format" should be
    /// [`FORMAT`]).
    pub fn to_bytes(&self, summary: &str) -> Result<Vec<u8>> {
        let k = self.directions.len();
        let w_dim = self.directions.first().map_or(0, Vec::len);
        if self.directions.iter().any(|d| d.len() != w_dim)
            || self.sigma.len() != k
            || self.eigenvalues.len() != k
        {
            return invalid("directions, sigma and eigenvalues disagree in size");
        }
        let mut t = self.extra.clone();
        t.insert(
            "directions".to_string(),
            tensor(vec![k, w_dim], self.directions.concat()),
        );
        t.insert("sigma".to_string(), tensor(vec![k], self.sigma.clone()));
        t.insert(
            "eigenvalues".to_string(),
            tensor(
                vec![k],
                self.eigenvalues.iter().map(|&v| v as f32).collect(),
            ),
        );
        let meta = BTreeMap::from([("bestiary".to_string(), summary.to_string())]);
        safetensors_io::write(&t, &meta, DType::F32)
            .map_err(|e| ExploreError::Invalid(e.to_string()))
    }
}

/// Direction `k` of a directions file and its σ (1 when the file has no 'sigma': raw W units).
pub fn read_direction(bytes: &[u8], k: usize) -> Result<(Vec<f32>, f32)> {
    let (mut m, _) =
        safetensors_io::read(bytes).map_err(|e| ExploreError::Invalid(e.to_string()))?;
    let Some(d) = m.remove("directions") else {
        return invalid("no tensor named 'directions'");
    };
    let [n, w] = d.shape[..] else {
        return invalid(format!(
            "'directions' has shape {:?}, expected [K, w_dim]",
            d.shape
        ));
    };
    if k >= n {
        return invalid(format!(
            "holds directions 0-{}; there is no direction {k}",
            n.saturating_sub(1)
        ));
    }
    let sigma = m
        .get("sigma")
        .and_then(|s| s.data.get(k).copied())
        .unwrap_or(1.0);
    Ok((d.data[k * w..(k + 1) * w].to_vec(), sigma))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_direction_and_its_sigma_read_back() {
        let d = Directions {
            directions: vec![vec![1.0, 0.0], vec![0.0, 1.0]],
            sigma: vec![2.0, 3.0],
            eigenvalues: vec![5.0, 4.0],
            extra: BTreeMap::new(),
        };
        let bytes = d.to_bytes(&format!("{{\"format\":\"{FORMAT}\"}}")).unwrap();
        assert_eq!(read_direction(&bytes, 1).unwrap(), (vec![0.0, 1.0], 3.0));
        assert!(read_direction(&bytes, 2)
            .unwrap_err()
            .to_string()
            .contains("there is no direction 2"));
        let (_, meta) = safetensors_io::read(&bytes).unwrap();
        assert!(meta["bestiary"].contains(FORMAT));
    }
}
