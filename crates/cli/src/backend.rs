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

/// The CUDA backend's readiness, decided once per process by [`check_cuda`].
#[cfg(feature = "cuda")]
static CUDA_READY: std::sync::OnceLock<Result<bestiary_device::GpuCaches, String>> =
    std::sync::OnceLock::new();

/// Readies the CUDA backend once per process: fails with one line naming what is missing (driver,
/// GPU, NVRTC, headers) instead of a panic on a worker thread, and points the backend's kernel and
/// autotune caches at bestiary's cache (a fresh machine has no `~/.cache`; a second run reuses them).
#[cfg(feature = "cuda")]
pub fn check_cuda() -> anyhow::Result<()> {
    let ready = CUDA_READY.get_or_init(|| {
        let missing = bestiary_device::probe().missing();
        if !missing.is_empty() {
            return Err(format!(
                "--device cuda cannot run here: {} (details: bestiary doctor --device cuda)",
                missing.join("; ")
            ));
        }
        bestiary_device::configure_cuda(&bestiary_assets::cache_dir()).map_err(|e| e.to_string())
    });
    ready
        .as_ref()
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// The GPU caches and whether they were empty when this process started (`None` until
/// [`check_cuda`] has run, and in a CPU-only build).
pub fn gpu_caches() -> Option<bestiary_device::GpuCaches> {
    #[cfg(feature = "cuda")]
    {
        CUDA_READY.get()?.as_ref().ok().cloned()
    }
    #[cfg(not(feature = "cuda"))]
    None
}

/// Readies `kind` before a command reports on it (for CUDA: the probe and the caches, once).
pub fn prepare(kind: DeviceKind) -> anyhow::Result<()> {
    match kind {
        DeviceKind::Cpu => Ok(()),
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda => check_cuda(),
        #[cfg(not(feature = "cuda"))]
        DeviceKind::Cuda => Err(anyhow::anyhow!(
            "this bestiary was built without CUDA support: rebuild with `cargo build --release --features cuda`"
        )),
    }
}

/// A panic as one line: its first few lines that say something, and where it happened (a panic
/// deep in a GPU stack is otherwise impossible to place).
fn panic_line(info: &std::panic::PanicHookInfo) -> String {
    let msg = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown failure".into());
    // Burn's tensor errors start with a banner line: keep the first few lines that say something.
    let lines: Vec<&str> = msg
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(3)
        .collect();
    let short: String = lines.join(" | ").chars().take(300).collect();
    let place = info
        .location()
        .map(|l| format!(" (at {}:{})", l.file(), l.line()))
        .unwrap_or_default();
    format!("{short}{place}")
}

/// Last line of defence for "never a stack trace": any panic, on any thread, prints one line that
/// names where it happened and exits.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error: {}", panic_line(info));
        std::process::exit(101);
    }));
}

/// Runs `f`, turning a panic into its one line (`Err`) instead of exiting: for checks that must
/// report a failure and carry on (`bestiary doctor`).
pub fn catch_panic<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    static LAST: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    std::panic::set_hook(Box::new(|info| {
        *LAST.lock().unwrap_or_else(|p| p.into_inner()) = Some(panic_line(info));
    }));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    install_panic_hook();
    result.map_err(|_| {
        LAST.lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_else(|| "unknown failure".into())
    })
}
