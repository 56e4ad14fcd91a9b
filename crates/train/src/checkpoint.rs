//! Snapshots (model files users sample from) and the training state (everything a resume needs:
//! G, D, G_ema, Adam moments, counters, ADA p, path-length mean, options), both written
//! atomically so that a kill at any moment leaves the previous complete files.

use crate::adam::Adam;
use crate::autodiff::Ad;
use crate::critic::{load_vgg16, Critic, FeatureCritic};
use crate::options::{CriticKind, TrainOptions};
use crate::step::{Progress, Trainer, ADAM_BETAS};
use bestiary_stylegan::{
    feature_discriminator, Discriminator, DiscriminatorConfig, FeatureDiscriminator,
    FeatureDiscriminatorConfig, Generator, GeneratorConfig, ModelFile, WeightMap,
};
use bestiary_weights::{safetensors_io, DType, Network, TensorData};
use burn::tensor::backend::Backend;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const STATE_FILE: &str = "training-state.safetensors";
pub const STATE_FORMAT: &str = "bestiary.train-state/1";
use bestiary_stylegan::model_file::TRAIN_STATE_KEY as STATE_KEY;

/// Errors reading or writing run files.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error("{path}: not a bestiary training state ({reason})")]
    Invalid { path: String, reason: String },
}

fn to_tensors(map: WeightMap, prefix: &str, out: &mut BTreeMap<String, TensorData>) {
    for (name, (shape, data)) in map {
        out.insert(
            format!("{prefix}.{name}"),
            TensorData {
                shape,
                dtype: DType::F32,
                data,
            },
        );
    }
}

fn network(class_name: &str, kwargs: &str, map: WeightMap) -> Network {
    Network {
        class_name: class_name.to_string(),
        init_kwargs: serde_json::from_str(kwargs).unwrap_or(serde_json::Value::Null),
        tensors: map
            .into_iter()
            .map(|(n, (shape, data))| {
                (
                    n,
                    TensorData {
                        shape,
                        dtype: DType::F32,
                        data,
                    },
                )
            })
            .collect(),
    }
}

pub use bestiary_stylegan::snapshot::{kimg_label, parse_snapshot_name, snapshot_name};

/// The dataset a resumed run trains on: `requested` when given, else the path its state's
/// `training_set_kwargs` record. The second value names a change from the recorded one
/// ("--data NEW (was OLD)") for the resume's list of changes.
pub fn resumed_dataset(
    kwargs: Option<&serde_json::Value>,
    requested: Option<&Path>,
) -> Result<(PathBuf, Option<String>), String> {
    let recorded = kwargs.and_then(|k| k["path"].as_str()).map(PathBuf::from);
    match (requested, recorded) {
        (Some(d), Some(s)) if !bestiary_canvas::io::same_file(d, &s) => Ok((
            d.to_path_buf(),
            Some(format!("--data {} (was {})", d.display(), s.display())),
        )),
        (Some(d), _) => Ok((d.to_path_buf(), None)),
        (None, Some(s)) => Ok((s, None)),
        (None, None) => Err("--data is required (the run does not record its dataset)".into()),
    }
}

impl<B: Backend> Trainer<B> {
    /// The official `training_set_kwargs` of a run on `data` (read from `path`), kept in every snapshot
    /// and the training state: an ImageFolderDataset's arguments, with the class names of dataset.json so
    /// that `--class NAME` works on the snapshots.
    pub fn training_set_kwargs(
        &self,
        path: &Path,
        data: &bestiary_dataset::Dataset,
    ) -> serde_json::Value {
        use crate::data::ImageSet;
        let mut kwargs = serde_json::json!({
            "class_name": "training.dataset.ImageFolderDataset",
            "path": std::fs::canonicalize(path).unwrap_or(path.to_path_buf()).display().to_string(),
            "resolution": ImageSet::resolution(data), "use_labels": ImageSet::c_dim(data) > 0,
            "max_size": ImageSet::len(data), "xflip": self.opts.mirror,
        });
        if let Some(names) = data
            .classes()
            .filter(|n| n.len() == self.g_cfg.c_dim && !n.is_empty())
        {
            kwargs["class_names"] = serde_json::json!(names);
        }
        kwargs
    }

    /// G, D and G_ema as a model file (what `generate`, `convert` and `--resume FILE` read).
    pub fn model_file(&self, training_set_kwargs: Option<serde_json::Value>) -> ModelFile {
        let mut networks = BTreeMap::new();
        networks.insert(
            "G".into(),
            network("Generator", &self.g_cfg.to_json(), self.g.state_dict()),
        );
        let d = match &self.d {
            Critic::StyleGan2(d) => network("Discriminator", &self.d_cfg.to_json(), d.state_dict()),
            Critic::Features(f) => network(
                feature_discriminator::CLASS_NAME,
                &f.cfg.to_json(),
                f.d.state_dict(),
            ),
        };
        networks.insert("D".into(), d);
        networks.insert(
            "G_ema".into(),
            network("Generator", &self.g_cfg.to_json(), self.g_ema.state_dict()),
        );
        ModelFile {
            networks,
            training_set_kwargs,
        }
    }

    /// Serializes the full training state.
    pub fn state_bytes(
        &self,
        training_set_kwargs: Option<serde_json::Value>,
    ) -> Result<Vec<u8>, String> {
        let mut tensors = BTreeMap::new();
        to_tensors(self.g.state_dict(), "G", &mut tensors);
        to_tensors(self.d.state_dict(), "D", &mut tensors);
        to_tensors(self.g_ema.state_dict(), "G_ema", &mut tensors);
        let mut steps = serde_json::Map::new();
        // The first moments are not kept: with beta1 = 0 the next step replaces them by its gradient, so
        // a resume is exact without them. `compact_state` stores the second moments as bf16 (half the
        // bytes, ~0.4% relative rounding of each step's scale): what lets a run travel between machines.
        let keep_m = ADAM_BETAS.0 != 0.0;
        let v_dtype = if self.opts.compact_state {
            DType::BF16
        } else {
            DType::F32
        };
        for (key, opt) in [("G", &self.opt_g), ("D", &self.opt_d)] {
            let mut list = Vec::new();
            for (i, step, m, v) in opt.export() {
                let n = m.len();
                if keep_m {
                    tensors.insert(
                        format!("adam.{key}.{i}.m"),
                        TensorData {
                            shape: vec![n],
                            dtype: DType::F32,
                            data: m,
                        },
                    );
                }
                tensors.insert(
                    format!("adam.{key}.{i}.v"),
                    TensorData {
                        shape: vec![n],
                        dtype: v_dtype,
                        data: v,
                    },
                );
                list.push(serde_json::json!([i, step]));
            }
            steps.insert(key.into(), serde_json::Value::Array(list));
        }
        let header = serde_json::json!({
            "format": STATE_FORMAT,
            "progress": self.progress,
            "options": self.opts,
            "G_kwargs": serde_json::from_str::<serde_json::Value>(&self.g_cfg.to_json()).unwrap_or_default(),
            "D_kwargs": serde_json::from_str::<serde_json::Value>(&self.d_cfg.to_json()).unwrap_or_default(),
            "D_features_kwargs": match &self.d {
                Critic::Features(f) => serde_json::from_str::<serde_json::Value>(&f.cfg.to_json()).unwrap_or_default(),
                Critic::StyleGan2(_) => serde_json::Value::Null,
            },
            "adam_steps": steps,
            "training_set_kwargs": training_set_kwargs,
        });
        let meta = BTreeMap::from([(STATE_KEY.to_string(), header.to_string())]);
        safetensors_io::write_tagged(&tensors, &meta).map_err(|e| e.to_string())
    }

    /// Writes `network-snapshot-KKKKKK[.III].safetensors` and then the training state, each atomically.
    /// Returns the snapshot path.
    pub fn save(
        &self,
        outdir: &Path,
        training_set_kwargs: Option<serde_json::Value>,
    ) -> Result<PathBuf, CheckpointError> {
        let snap = outdir.join(snapshot_name(self.progress.nimg));
        let bytes = self
            .model_file(training_set_kwargs.clone())
            .to_safetensors(DType::F32)
            .map_err(|e| CheckpointError::Io {
                path: snap.display().to_string(),
                reason: e.to_string(),
            })?;
        bestiary_canvas::io::write_atomic(&snap, &bytes).map_err(|e| CheckpointError::Io {
            path: snap.display().to_string(),
            reason: e.to_string(),
        })?;
        self.save_state(outdir, training_set_kwargs)?;
        Ok(snap)
    }

    /// Writes the training state alone, atomically (a run writes it before its first step, so that its
    /// folder can be resumed from the start whenever it is stopped).
    pub fn save_state(
        &self,
        outdir: &Path,
        training_set_kwargs: Option<serde_json::Value>,
    ) -> Result<PathBuf, CheckpointError> {
        let state = outdir.join(STATE_FILE);
        let io = |e: String| CheckpointError::Io {
            path: state.display().to_string(),
            reason: e,
        };
        let bytes = self.state_bytes(training_set_kwargs).map_err(io)?;
        bestiary_canvas::io::write_atomic(&state, &bytes).map_err(|e| io(e.to_string()))?;
        Ok(state)
    }

    /// Restores a run from its training state: the same networks, moments and counters.
    pub fn load_state(
        path: &Path,
        device: &B::Device,
    ) -> Result<(Self, Option<serde_json::Value>), CheckpointError> {
        let shown = path.display().to_string();
        let invalid = |reason: String| CheckpointError::Invalid {
            path: shown.clone(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| CheckpointError::Io {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let (tensors, meta) = safetensors_io::read(&bytes).map_err(|e| invalid(e.to_string()))?;
        let header: serde_json::Value = meta
            .get(STATE_KEY)
            .ok_or_else(|| invalid(format!("no '{STATE_KEY}' metadata")))
            .and_then(|s| serde_json::from_str(s).map_err(|e| invalid(e.to_string())))?;
        if header["format"] != STATE_FORMAT {
            return Err(invalid(format!(
                "format {} (expected {STATE_FORMAT})",
                header["format"]
            )));
        }
        let field = |k: &str| {
            header
                .get(k)
                .cloned()
                .ok_or_else(|| invalid(format!("missing '{k}'")))
        };
        let progress: Progress =
            serde_json::from_value(field("progress")?).map_err(|e| invalid(e.to_string()))?;
        let opts: TrainOptions =
            serde_json::from_value(field("options")?).map_err(|e| invalid(e.to_string()))?;
        let g_cfg =
            GeneratorConfig::from_value(&field("G_kwargs")?).map_err(|e| invalid(e.to_string()))?;
        let d_cfg = DiscriminatorConfig::from_value(&field("D_kwargs")?)
            .map_err(|e| invalid(e.to_string()))?;
        let sub = |prefix: &str| -> WeightMap {
            let p = format!("{prefix}.");
            tensors
                .iter()
                .filter_map(|(n, t)| {
                    n.strip_prefix(&p)
                        .map(|s| (s.to_string(), (t.shape.clone(), t.data.clone())))
                })
                .collect()
        };
        let g = Generator::<Ad<B>>::from_weights(&g_cfg, &sub("G"), device)
            .map_err(|e| invalid(format!("G: {e}")))?;
        let d = match opts.critic {
            CriticKind::StyleGan2 => Critic::StyleGan2(
                Discriminator::<Ad<B>>::from_weights(&d_cfg, &sub("D"), device)
                    .map_err(|e| invalid(format!("D: {e}")))?,
            ),
            CriticKind::Vgg16 => {
                let cfg = FeatureDiscriminatorConfig::from_value(&field("D_features_kwargs")?)
                    .map_err(|e| invalid(format!("D: {e}")))?;
                let d = FeatureDiscriminator::<Ad<B>>::from_weights(&cfg, &sub("D"), device)
                    .map_err(|e| invalid(format!("D: {e}")))?;
                let vgg =
                    load_vgg16::<B>(device, &mut |_| {}).map_err(|e| CheckpointError::Io {
                        path: shown.clone(),
                        reason: format!("resuming a feature discriminator needs VGG16: {e}"),
                    })?;
                Critic::Features(FeatureCritic::new(d, cfg, vgg))
            }
        };
        let g_ema = Generator::<B>::from_weights(&g_cfg, &sub("G_ema"), device)
            .map_err(|e| invalid(format!("G_ema: {e}")))?;
        let sizes_g = crate::adam::param_sizes(&g);
        let sizes_d = d.param_sizes();
        let opt = |key: &str| -> Result<Adam<B>, CheckpointError> {
            let sizes = if key == "G" { &sizes_g } else { &sizes_d };
            let list = header["adam_steps"][key]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut entries = Vec::new();
            for item in list {
                let (Some(i), Some(step)) = (item[0].as_u64(), item[1].as_u64()) else {
                    return Err(invalid(format!("bad adam step entry {item}")));
                };
                let i = i as usize;
                let Some(&numel) = sizes.get(i) else {
                    return Err(invalid(format!("adam index {key}.{i} is out of range")));
                };
                let get = |s: &str| {
                    tensors
                        .get(&format!("adam.{key}.{i}.{s}"))
                        .map(|t| t.data.clone())
                };
                let Some(v) = get("v") else {
                    return Err(invalid(format!("missing adam moments {key}.{i}")));
                };
                // States written since beta1 = 0 made them redundant have no first moments.
                let m = get("m").unwrap_or_else(|| vec![0.0; v.len()]);
                if m.len() != numel || v.len() != numel {
                    return Err(invalid(format!(
                        "adam moments {key}.{i} do not match the parameter's size"
                    )));
                }
                entries.push((i, step, m, v));
            }
            Ok(Adam::import(entries, device))
        };
        let opt_g = opt("G")?;
        let opt_d = opt("D")?;
        let kwargs = header
            .get("training_set_kwargs")
            .filter(|v| !v.is_null())
            .cloned();
        let mut t = Trainer::new(g_cfg, d_cfg, opts, device);
        t.g = g;
        t.d = d;
        t.g_ema = g_ema;
        t.opt_g = opt_g;
        t.opt_d = opt_d;
        t.progress = progress;
        Ok((t, kwargs))
    }
}
