//! What a compute device needs before Burn touches it:
//!
//! * [`cpu_info`]: the CPU's name, threads and vector extensions (named beside every CPU figure);
//! * [`cuda_probe`]: the NVIDIA driver, its GPUs, NVRTC and the CUDA headers, asked directly so that
//!   a missing piece is named (what `bestiary doctor` shows first);
//! * [`gpu_cache`]: the GPU backend's kernel and autotune caches, made under bestiary's own cache so
//!   that a fresh machine runs and a second run starts without recompiling.

pub mod cpu_info;
pub mod cuda_probe;
pub mod gpu_cache;

pub use cpu_info::{cpu_info, CpuInfo};
pub use cuda_probe::{probe, CudaProbe, GpuInfo};
#[cfg(feature = "cuda")]
pub use gpu_cache::configure_cuda;
pub use gpu_cache::{make_caches, CacheError, GpuCaches};
