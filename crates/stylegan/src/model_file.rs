//! Model files: our safetensors format and official StyleGAN2-ADA pickles, read into one in-memory form.
//!
//! Our files are safetensors. Each tensor is named `<network>.<official state_dict name>` where `<network>`
//! is the key the official pickle uses (`G`, `G_ema`, `D`), so `G_ema.mapping.fc0.weight` is
//! `G_ema.state_dict()['mapping.fc0.weight']`. The string metadata key `bestiary` holds JSON:
//! `{"format": "bestiary.stylegan2/1", "networks": {"G_ema": {"class_name": .., "init_kwargs": {..}}, ..},
//!   "training_set_kwargs": ..}`; init_kwargs are the official constructor arguments, verbatim.

use bestiary_weights::{identify, safetensors_io, DType, FileKind, Network, TensorData};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "bestiary.stylegan2/1";
pub const META_KEY: &str = "bestiary";
/// The metadata key of a training state (`training-state.safetensors`, written by bestiary-train):
/// it holds G, D and G_ema beside the optimizer, so it can stand for a model file too.
pub const TRAIN_STATE_KEY: &str = "bestiary-train";
/// Network keys in the order the official pickles list them.
pub const NETWORK_KEYS: [&str; 3] = ["G", "D", "G_ema"];

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    // The cause is part of the message (not a `source`), so error chains print it once.
    #[error("{path}: {reason}")]
    Io {
        path: String,
        reason: std::io::Error,
    },
    #[error("{0}")]
    Weights(#[from] bestiary_weights::Error),
    #[error("{0}")]
    Invalid(String),
    /// The bytes are no model file at all: what they are instead ("it is a PNG image", "an empty file").
    #[error("not a model file: {0}")]
    NotAModel(String),
}

/// The model file `path` names: `path` itself, or for a folder (a training run) its latest snapshot
/// ([`crate::snapshot::latest_snapshot`]).
pub fn resolve_model_path(path: &Path) -> Result<PathBuf, ModelError> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let latest = crate::snapshot::latest_snapshot(path).map_err(|reason| ModelError::Io {
        path: path.display().to_string(),
        reason,
    })?;
    latest.map(|(_, p)| p).ok_or_else(|| {
        ModelError::Invalid(format!(
            "{} is a folder without network snapshots ({}*.safetensors or .pkl): give a model file \
             or a training run folder",
            path.display(),
            crate::snapshot::SNAPSHOT_PREFIX
        ))
    })
}

/// Every network a model file holds, with its official class name, constructor kwargs and tensors.
#[derive(Clone, Debug, Default)]
pub struct ModelFile {
    pub networks: BTreeMap<String, Network>,
    pub training_set_kwargs: Option<serde_json::Value>,
}

/// Files larger than this are refused before reading (official 1024px pickles are ~380 MB).
pub const MAX_FILE_BYTES: u64 = 4 << 30;

impl ModelFile {
    /// Reads `.pkl` (official pickle, nothing executed) or `.safetensors` (ours), chosen by content.
    pub fn load(path: &Path) -> Result<ModelFile, ModelError> {
        let io = |reason| ModelError::Io {
            path: path.display().to_string(),
            reason,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > MAX_FILE_BYTES {
            return Err(ModelError::Invalid(format!(
                "{}: {len} bytes is larger than any model file we accept",
                path.display()
            )));
        }
        let bytes = std::fs::read(path).map_err(io)?;
        Self::from_bytes(&bytes).map_err(|e| match e {
            ModelError::NotAModel(what) => {
                ModelError::Invalid(format!("{} is not a model file: {what}", path.display()))
            }
            e => ModelError::Invalid(format!("{}: {e}", path.display())),
        })
    }

    /// Reads a pickle or safetensors model, told apart by content; anything else is
    /// [`ModelError::NotAModel`] saying what it is.
    pub fn from_bytes(bytes: &[u8]) -> Result<ModelFile, ModelError> {
        match identify(bytes) {
            FileKind::Pickle { .. } => Self::from_pickle(bytes),
            FileKind::Safetensors => Self::from_safetensors(bytes),
            FileKind::Unknown => Err(ModelError::NotAModel(FileKind::Unknown.describe())),
            FileKind::TorchZip => Err(ModelError::NotAModel(
                "it is a PyTorch zip checkpoint (torch.save), not an official network pickle; \
                 model files are official StyleGAN2-ADA .pkl or bestiary .safetensors"
                    .into(),
            )),
            other => Err(ModelError::NotAModel(format!("it is {}", other.describe()))),
        }
    }

    pub fn from_pickle(bytes: &[u8]) -> Result<ModelFile, ModelError> {
        let pkl = bestiary_weights::read_stylegan_pkl(bytes)?;
        let mut networks = BTreeMap::new();
        networks.insert("G_ema".to_string(), pkl.g_ema);
        if let Some(g) = pkl.g {
            networks.insert("G".to_string(), g);
        }
        if let Some(d) = pkl.d {
            networks.insert("D".to_string(), d);
        }
        Ok(ModelFile {
            networks,
            training_set_kwargs: pkl.training_set_kwargs,
        })
    }

    pub fn from_safetensors(bytes: &[u8]) -> Result<ModelFile, ModelError> {
        let (tensors, meta) = safetensors_io::read(bytes)?;
        if let Some(state) = meta.get(TRAIN_STATE_KEY) {
            return Self::from_training_state(state, tensors);
        }
        let header = meta.get(META_KEY).ok_or_else(|| {
            ModelError::Invalid(format!(
                "not a bestiary model file (no '{META_KEY}' metadata)"
            ))
        })?;
        let header: serde_json::Value = serde_json::from_str(header)
            .map_err(|e| ModelError::Invalid(format!("bad model metadata: {e}")))?;
        if header["format"] != FORMAT {
            return Err(ModelError::Invalid(format!(
                "unsupported model format {} (expected {FORMAT})",
                header["format"]
            )));
        }
        let nets = header["networks"]
            .as_object()
            .ok_or_else(|| ModelError::Invalid("model metadata lists no networks".into()))?;
        let mut networks = BTreeMap::new();
        for (key, info) in nets {
            let class_name = info["class_name"].as_str().unwrap_or_default().to_string();
            let prefix = format!("{key}.");
            let own: BTreeMap<String, TensorData> = tensors
                .iter()
                .filter_map(|(n, t)| n.strip_prefix(&prefix).map(|s| (s.to_string(), t.clone())))
                .collect();
            networks.insert(
                key.clone(),
                Network {
                    class_name,
                    init_kwargs: info["init_kwargs"].clone(),
                    tensors: own,
                },
            );
        }
        if let Some(stray) = tensors
            .keys()
            .find(|n| !nets.keys().any(|k| n.starts_with(&format!("{k}."))))
        {
            return Err(ModelError::Invalid(format!(
                "tensor '{stray}' belongs to no listed network"
            )));
        }
        let training_set_kwargs = header
            .get("training_set_kwargs")
            .filter(|v| !v.is_null())
            .cloned();
        Ok(ModelFile {
            networks,
            training_set_kwargs,
        })
    }

    /// G, D and G_ema of a training state (its optimizer moments are left out).
    fn from_training_state(
        header: &str,
        tensors: BTreeMap<String, TensorData>,
    ) -> Result<ModelFile, ModelError> {
        let header: serde_json::Value = serde_json::from_str(header)
            .map_err(|e| ModelError::Invalid(format!("bad training-state metadata: {e}")))?;
        let mut networks = BTreeMap::new();
        for (key, class_name, kwargs) in [
            ("G", "Generator", "G_kwargs"),
            ("D", "Discriminator", "D_kwargs"),
            ("G_ema", "Generator", "G_kwargs"),
        ] {
            let prefix = format!("{key}.");
            let own: BTreeMap<String, TensorData> = tensors
                .iter()
                .filter_map(|(n, t)| n.strip_prefix(&prefix).map(|s| (s.to_string(), t.clone())))
                .collect();
            if own.is_empty() {
                return Err(ModelError::Invalid(format!(
                    "the training state holds no {key} tensors"
                )));
            }
            networks.insert(
                key.to_string(),
                Network {
                    class_name: class_name.into(),
                    init_kwargs: header[kwargs].clone(),
                    tensors: own,
                },
            );
        }
        let training_set_kwargs = header
            .get("training_set_kwargs")
            .filter(|v| !v.is_null())
            .cloned();
        Ok(ModelFile {
            networks,
            training_set_kwargs,
        })
    }

    /// Serializes to our safetensors format, tensors in `dtype` (F32, or F16 for compact shipping).
    pub fn to_safetensors(&self, dtype: DType) -> Result<Vec<u8>, ModelError> {
        let mut tensors = BTreeMap::new();
        let mut nets = serde_json::Map::new();
        for (key, net) in &self.networks {
            nets.insert(
                key.clone(),
                serde_json::json!({"class_name": net.class_name, "init_kwargs": net.init_kwargs}),
            );
            for (name, t) in &net.tensors {
                tensors.insert(format!("{key}.{name}"), t.clone());
            }
        }
        let header = serde_json::json!({
            "format": FORMAT, "networks": nets, "training_set_kwargs": self.training_set_kwargs,
        });
        let meta = BTreeMap::from([(META_KEY.to_string(), header.to_string())]);
        Ok(safetensors_io::write(&tensors, &meta, dtype)?)
    }

    /// The network under `key`, with a clear error naming what the file does hold.
    pub fn network(&self, key: &str) -> Result<&Network, ModelError> {
        self.networks.get(key).ok_or_else(|| {
            let have: Vec<&str> = self.networks.keys().map(String::as_str).collect();
            ModelError::Invalid(format!(
                "the model file has no {key} network (it holds: {})",
                have.join(", ")
            ))
        })
    }

    /// The generator used for sampling: G_ema when present (as the official generate.py does), else G.
    pub fn generator(&self) -> Result<&Network, ModelError> {
        self.network("G_ema").or_else(|_| self.network("G"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(bytes: &[u8]) -> String {
        ModelFile::from_bytes(bytes).unwrap_err().to_string()
    }

    #[test]
    fn files_that_are_no_model_say_what_they_are() {
        assert_eq!(err(b""), "not a model file: it is an empty file");
        assert_eq!(
            err(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01"),
            "not a model file: it is a PNG image"
        );
        assert_eq!(
            err(&[0x13, 0x37, 0xfe, 0x00, 0x01, 0x99]),
            "not a model file: neither a pickle nor safetensors"
        );
        assert!(err(b"PK\x03\x04..archive/data.pkl..").contains("PyTorch zip checkpoint"));
        // A protocol-0 pickle that calls os.system: named and refused, never run.
        assert_eq!(
            err(b"cos\nsystem\n(S'touch /tmp/pwned'\ntR."),
            "refused: the pickle calls 'os.system', which no network pickle does (nothing was executed)"
        );
        // A real model file still loads through the same door.
        let st = ModelFile::default().to_safetensors(DType::F32).unwrap();
        assert!(ModelFile::from_bytes(&st).unwrap().networks.is_empty());
    }

    #[test]
    fn a_run_folder_names_its_latest_snapshot() {
        let dir = std::env::temp_dir().join(format!("bestiary-run-folder-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = resolve_model_path(&dir).unwrap_err().to_string();
        assert!(e.contains("folder without network snapshots"), "{e}");
        for name in [
            "network-snapshot-000000.safetensors",
            "network-snapshot-000100.safetensors",
            "network-snapshot-000020.pkl",
            "network-snapshot-000900.json",
            "log.jsonl",
        ] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        assert_eq!(
            resolve_model_path(&dir).unwrap(),
            dir.join("network-snapshot-000100.safetensors")
        );
        let file = dir.join("log.jsonl");
        assert_eq!(resolve_model_path(&file).unwrap(), file);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn load_names_the_file() {
        let dir = std::env::temp_dir().join(format!("bestiary-model-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.pkl");
        std::fs::write(&p, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
        let e = ModelFile::load(&p).unwrap_err().to_string();
        assert_eq!(
            e,
            format!("{} is not a model file: it is a PNG image", p.display())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
