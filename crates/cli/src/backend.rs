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
                $crate::backend::check_cuda()?;
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

/// Fails with one clear line when no NVIDIA driver library can be loaded (the CUDA backend would
/// otherwise panic on a worker thread).
#[cfg(feature = "cuda")]
pub fn check_cuda() -> anyhow::Result<()> {
    for name in ["libcuda.so.1", "libcuda.so", "nvcuda.dll"] {
        // SAFETY: loading the NVIDIA driver library runs only its own initialisers, as the backend would.
        if unsafe { libloading::Library::new(name) }.is_ok() {
            return Ok(());
        }
    }
    anyhow::bail!("--device cuda: no NVIDIA driver found (libcuda could not be loaded); use --device cpu")
}

/// Last line of defence for "never a stack trace": any panic, on any thread, prints one line and exits.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown failure".into());
        let first = msg.lines().next().unwrap_or_default();
        let short: String = first.chars().take(300).collect();
        eprintln!("error: internal error: {short}");
        std::process::exit(101);
    }));
}
