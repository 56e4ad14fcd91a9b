//! W files, the one format for a latent that renders an image: what `project` writes, what
//! `generate --projected-w` renders and what the studio keeps for a favourite. A .safetensors file with
//! tensor `w` (`[num_ws, w_dim]`, or `[N, num_ws, w_dim]` for several) and, from `project`, the optimised
//! noise maps under their buffer names (`synthesis.*.noise_const`); or the official projector's .npz
//! (array `w`). Errors name no path: callers know which file they read.

use crate::{invalid, Result};
use bestiary_stylegan::sampling::synthesize_ws;
use bestiary_stylegan::{load_generator, Generator, ModelFile, NoiseMode, SynthesisOptions};
use bestiary_weights::{npy, safetensors_io, DType, TensorData};
use burn::tensor::{backend::Backend, Tensor, TensorData as BurnData};
use std::collections::BTreeMap;

/// The `format` metadata of W files that `project` and `memorable` write.
pub const PROJECTION_FORMAT: &str = "bestiary.projection/1";

/// A W file's contents.
#[derive(Clone, Debug)]
pub struct WFile {
    /// `[num_ws, w_dim]` or `[N, num_ws, w_dim]`.
    pub w: TensorData,
    /// Noise maps by buffer name (empty unless written by `project`).
    pub noise: BTreeMap<String, TensorData>,
}

impl WFile {
    /// One W (`num_ws * w_dim` values, row-major) without noise maps. A length that does not match the
    /// shape is refused by [`WFile::to_bytes`], not here (a studio request must never panic the worker).
    pub fn single(ws: &[f32], num_ws: usize, w_dim: usize) -> Self {
        WFile {
            w: TensorData {
                shape: vec![num_ws, w_dim],
                dtype: DType::F32,
                data: ws.to_vec(),
            },
            noise: BTreeMap::new(),
        }
    }

    /// Adds a noise map (`[resolution, resolution]`) under its buffer name.
    pub fn with_noise(mut self, name: &str, resolution: usize, data: &[f32]) -> Self {
        let t = TensorData {
            shape: vec![resolution, resolution],
            dtype: DType::F32,
            data: data.to_vec(),
        };
        self.noise.insert(name.to_string(), t);
        self
    }

    /// The .safetensors bytes, with `meta` as the header's string metadata.
    pub fn to_bytes(&self, meta: &BTreeMap<String, String>) -> Result<Vec<u8>> {
        let mut t = self.noise.clone();
        t.insert("w".to_string(), self.w.clone());
        safetensors_io::write(&t, meta, DType::F32)
            .map_err(|e| crate::ExploreError::Invalid(e.to_string()))
    }

    /// Reads either format (a zip's "PK" starts an .npz); other tensors than `w` and the noise maps are
    /// ignored.
    pub fn from_bytes(bytes: &[u8]) -> Result<WFile> {
        if bytes.starts_with(b"PK") {
            let mut arrays =
                npy::read_npz(bytes).map_err(|e| crate::ExploreError::Invalid(e.to_string()))?;
            let Some(w) = arrays.remove("w") else {
                return invalid("no array named 'w'");
            };
            return Ok(WFile {
                w,
                noise: BTreeMap::new(),
            });
        }
        let Ok((mut m, _)) = safetensors_io::read(bytes) else {
            return invalid("not a projection file (.npz or .safetensors)");
        };
        let Some(w) = m.remove("w") else {
            return invalid("no tensor named 'w'");
        };
        m.retain(|k, _| k.starts_with("synthesis.") && k.ends_with(".noise_const"));
        Ok(WFile { w, noise: m })
    }

    /// How many W vectors the file holds (its leading dimension; one for a single `[num_ws, w_dim]`).
    pub fn count(&self) -> usize {
        match self.w.shape.as_slice() {
            [n, _, _] => *n,
            _ => 1,
        }
    }

    /// The `[N, num_ws, w_dim]` values, checked against a network's shape.
    pub fn ws(&self, num_ws: usize, w_dim: usize) -> Result<Vec<f32>> {
        let per = num_ws * w_dim;
        let ok = match self.w.shape.as_slice() {
            [n, a, b] => *n > 0 && *a == num_ws && *b == w_dim,
            [a, b] => *a == num_ws && *b == w_dim,
            _ => false,
        };
        if !ok || per == 0 || !self.w.data.len().is_multiple_of(per) {
            return invalid(format!(
                "'w' has shape {:?}, expected [N, {num_ws}, {w_dim}] for this network",
                self.w.shape
            ));
        }
        Ok(self.w.data.clone())
    }

    /// The file's one W `[num_ws, w_dim]` (a leading dimension of 1 allowed), every value finite: the
    /// start of an optimisation, which one bad value would spoil.
    pub fn single_w(&self, num_ws: usize, w_dim: usize) -> Result<Vec<f32>> {
        let ok =
            matches!(self.w.shape.as_slice(), [1, n, d] | [n, d] if *n == num_ws && *d == w_dim);
        if !ok {
            return invalid(format!(
                "'w' has shape {:?}, expected one W [{num_ws}, {w_dim}] for this network",
                self.w.shape
            ));
        }
        if let Some(bad) = self.w.data.iter().position(|v| !v.is_finite()) {
            return invalid(format!("'w' holds a non-finite value at {bad}"));
        }
        Ok(self.w.data.clone())
    }

    /// The file's images (8-bit HWC) through `g`, which must come from a model the file's noise maps were
    /// put into ([`WFile::apply_noise`]) for the images to be what was projected.
    pub fn images<B: Backend>(
        &self,
        g: &Generator<B>,
        opts: &SynthesisOptions,
        device: &B::Device,
    ) -> Result<Vec<Vec<u8>>> {
        let (k, d) = (g.num_ws(), g.w_dim);
        let ws = self.ws(k, d)?;
        let n = ws.len() / (k * d);
        let t = Tensor::<B, 3>::from_data(BurnData::new(ws, [n, k, d]), device);
        Ok(synthesize_ws(g, t, opts))
    }

    /// The images of the file through `model` with its noise maps put in, noise mode const: exactly
    /// what `generate --projected-w` renders.
    pub fn render<B: Backend>(
        &self,
        model: &ModelFile,
        device: &B::Device,
    ) -> Result<Vec<Vec<u8>>> {
        let mut tuned = model.clone();
        self.apply_noise(&mut tuned)?;
        let (g, _) = load_generator::<B>(&tuned, device)?;
        let opts = SynthesisOptions {
            noise_mode: NoiseMode::Const,
            ..Default::default()
        };
        self.images(&g, &opts, device)
    }

    /// Puts the file's noise maps into the sampling generator's `noise_const` buffers (same names, same
    /// shapes), so that the network renders exactly what was projected.
    pub fn apply_noise(&self, model: &mut ModelFile) -> Result<()> {
        if self.noise.is_empty() {
            return Ok(());
        }
        let key = if model.networks.contains_key("G_ema") {
            "G_ema"
        } else {
            "G"
        };
        let Some(net) = model.networks.get_mut(key) else {
            return invalid("the model file holds no generator");
        };
        for (name, t) in &self.noise {
            match net.tensors.get_mut(name) {
                Some(old) if old.shape == t.shape => *old = t.clone(),
                Some(old) => {
                    return invalid(format!("noise map {name} has shape {:?}, the network's is {:?}", t.shape, old.shape))
                }
                None => {
                    return invalid(format!(
                        "noise map {name} does not exist in this network (projected with another network?)"
                    ))
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_file_reads_back_with_its_noise() {
        let f = WFile::single(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3).with_noise(
            "synthesis.b4.conv1.noise_const",
            2,
            &[0.5, -0.5, 0.25, 0.0],
        );
        let meta = BTreeMap::from([("format".to_string(), PROJECTION_FORMAT.to_string())]);
        let back = WFile::from_bytes(&f.to_bytes(&meta).unwrap()).unwrap();
        assert_eq!(back.w.shape, vec![2, 3]);
        assert_eq!(back.ws(2, 3).unwrap(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(back.count(), 1);
        assert_eq!(
            back.noise["synthesis.b4.conv1.noise_const"].data,
            vec![0.5, -0.5, 0.25, 0.0]
        );
    }

    #[test]
    fn wrong_shapes_and_foreign_bytes_are_refused() {
        let f = WFile::single(&[0.0; 6], 2, 3);
        assert!(f
            .ws(3, 2)
            .unwrap_err()
            .to_string()
            .contains("expected [N, 3, 2]"));
        assert!(WFile::single(&[0.0; 5], 2, 3)
            .to_bytes(&BTreeMap::new())
            .is_err());
        assert!(WFile::from_bytes(b"not a file")
            .unwrap_err()
            .to_string()
            .contains("not a projection file"));
        let empty = safetensors_io::write(&BTreeMap::new(), &BTreeMap::new(), DType::F32).unwrap();
        assert!(WFile::from_bytes(&empty)
            .unwrap_err()
            .to_string()
            .contains("no tensor named 'w'"));
    }
}
