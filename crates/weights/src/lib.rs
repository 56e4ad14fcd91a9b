//! Readers for untrusted weight files. Nothing here executes code from a file.
pub mod error;
pub mod pickle;

pub use error::{Error, Result};
pub use pickle::Limits;
