//! Readers for untrusted weight files. Nothing here executes code from a file: pickles are *interpreted* into
//! a symbolic value tree (`pickle`), and only a short list of known constructors is given a meaning
//! (tensors, numpy arrays, dicts, torch modules, StyleGAN2-ADA persistent objects). Every parser is bounded
//! by [`Limits`] and reports failures as one-line [`Error`]s; none panics on malformed input.
//!
//! Formats: pickle protocols 0–5, torch legacy `torch.save` streams, torch zip files and TorchScript archives,
//! official StyleGAN2-ADA network pickles, numpy pickles, safetensors.
pub mod elements;
pub mod error;
pub mod identify;
pub mod interp;
pub mod npy;
pub mod pickle;
pub mod safetensors_io;
pub mod state_dict;
pub mod stylegan_pkl;
pub mod tensor;
pub mod torch_legacy;
pub mod torch_zip;

pub use elements::{DType, TensorData};
pub use error::{Error, Result};
pub use identify::{identify, FileKind};
pub use pickle::{Limits, Value};
pub use state_dict::{read_torch_state_dict, read_torch_state_dict_with};
pub use stylegan_pkl::{read_stylegan_pkl, read_stylegan_pkl_with, Network, StyleganPkl};
pub use torch_zip::{read_zip_tensors, read_zip_tensors_with};
