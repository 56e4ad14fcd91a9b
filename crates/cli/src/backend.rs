//! Picking the compute backend: the only place the CLI names a concrete Burn backend.

use clap::ValueEnum;

#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum DeviceKind {
    /// Burn's Flex CPU backend (all cores).
    #[default]
    Cpu,
    /// NVIDIA GPU (needs a build with `--features cuda`).
    Cuda,
}

pub type Cpu = burn::backend::Flex;
#[cfg(feature = "cuda")]
pub type Gpu = burn::backend::Cuda;

/// Runs `$body` with the type alias `$B` bound to the chosen backend and `$dev` to its default device.
#[macro_export]
macro_rules! with_backend {
    ($kind:expr, |$B:ident, $dev:ident| $body:expr) => {{
        match $kind {
            $crate::backend::DeviceKind::Cpu => {
                type $B = $crate::backend::Cpu;
                let $dev: burn::tensor::Device<$B> = Default::default();
                $body
            }
            #[cfg(feature = "cuda")]
            $crate::backend::DeviceKind::Cuda => {
                type $B = $crate::backend::Gpu;
                let $dev: burn::tensor::Device<$B> = Default::default();
                $body
            }
            #[cfg(not(feature = "cuda"))]
            $crate::backend::DeviceKind::Cuda => Err(anyhow::anyhow!(
                "this bestiary was built without CUDA support: rebuild with `cargo build --release --features cuda`"
            )),
        }
    }};
}
