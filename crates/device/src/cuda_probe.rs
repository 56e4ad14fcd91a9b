//! What this machine offers the CUDA backend, asked of the driver and NVRTC directly (loaded at run
//! time, as the backend loads them), so that a missing piece is named before Burn fails on it.

use libloading::{Library, Symbol};
use serde::Serialize;
use std::ffi::{c_char, c_int, c_uint};
use std::path::{Path, PathBuf};

/// One GPU as the driver reports it.
#[derive(Debug, Clone, Serialize)]
pub struct GpuInfo {
    pub ordinal: usize,
    pub name: String,
    pub memory_bytes: u64,
    /// Compute capability, e.g. (9, 0) for Hopper.
    pub compute_capability: (i32, i32),
}

/// The pieces the CUDA backend needs: each is `Ok(what was found)` or `Err(what is missing)`.
#[derive(Debug, Clone, Serialize)]
pub struct CudaProbe {
    /// Driver library and its CUDA version (e.g. "13.0").
    pub driver: Result<String, String>,
    pub gpus: Vec<GpuInfo>,
    /// NVRTC, which compiles every GPU kernel at run time, and its version.
    pub nvrtc: Result<String, String>,
    /// The CUDA headers NVRTC compiles against (`$CUDA_PATH/include`, else the usual install folders).
    pub headers: Result<PathBuf, String>,
}

impl CudaProbe {
    /// Whether the CUDA backend can run here.
    pub fn usable(&self) -> bool {
        self.missing().is_empty()
    }

    /// What the CUDA backend lacks here, one reason per missing part (driver, NVRTC, headers, a GPU).
    pub fn missing(&self) -> Vec<String> {
        let mut out = Vec::new();
        for part in [&self.driver, &self.nvrtc] {
            if let Err(e) = part {
                out.push(e.clone());
            }
        }
        if let Err(e) = &self.headers {
            out.push(e.clone());
        }
        if self.driver.is_ok() && self.gpus.is_empty() {
            out.push("the driver sees no GPU".into());
        }
        out
    }
}

/// The driver library names tried, in order.
const DRIVER_NAMES: &[&str] = &["libcuda.so.1", "libcuda.so", "nvcuda.dll"];
/// NVRTC names tried, in order (the unversioned name first, then the majors the backend accepts).
const NVRTC_NAMES: &[&str] = &[
    "libnvrtc.so",
    "libnvrtc.so.13",
    "libnvrtc.so.12",
    "libnvrtc.so.11",
    "nvrtc64_130_0.dll",
    "nvrtc64_120_0.dll",
];
/// Headers the backend's generated kernels include.
const HEADERS: &[&str] = &["cuda_runtime.h", "cuda_fp16.h", "cuda_bf16.h", "mma.h"];

/// Probes the driver, the GPUs, NVRTC and the headers. Never panics: a piece that cannot be
/// loaded or asked is reported as missing.
pub fn probe() -> CudaProbe {
    let (driver, gpus) = match open_any(DRIVER_NAMES) {
        Ok(lib) => match ask_driver(&lib) {
            Ok((version, gpus)) => (Ok(version), gpus),
            Err(e) => (Err(e), Vec::new()),
        },
        Err(e) => (Err(format!("no NVIDIA driver library ({e})")), Vec::new()),
    };
    let nvrtc = open_any(NVRTC_NAMES)
        .map_err(|e| format!("NVRTC not found ({e}); it ships with the CUDA toolkit and with PyTorch's CUDA wheels"))
        .and_then(|lib| ask_nvrtc(&lib));
    CudaProbe {
        driver,
        gpus,
        nvrtc,
        headers: find_headers(std::env::var_os("CUDA_PATH").map(PathBuf::from)),
    }
}

fn open_any(names: &[&str]) -> Result<Library, String> {
    for name in names {
        // SAFETY: loading a vendor library runs only its own initialisers, as the CUDA backend
        // itself does when it starts.
        if let Ok(lib) = unsafe { Library::new(name) } {
            return Ok(lib);
        }
    }
    Err(format!("tried {}", names.join(", ")))
}

type CuResult = c_int;

fn ask_driver(lib: &Library) -> Result<(String, Vec<GpuInfo>), String> {
    // SAFETY: each symbol is looked up by its documented name and called with the argument types of
    // the CUDA driver API's C declarations; every out-pointer points at a live local.
    unsafe {
        let init: Symbol<unsafe extern "C" fn(c_uint) -> CuResult> = sym(lib, b"cuInit\0")?;
        let version: Symbol<unsafe extern "C" fn(*mut c_int) -> CuResult> =
            sym(lib, b"cuDriverGetVersion\0")?;
        let count: Symbol<unsafe extern "C" fn(*mut c_int) -> CuResult> =
            sym(lib, b"cuDeviceGetCount\0")?;
        let get: Symbol<unsafe extern "C" fn(*mut c_int, c_int) -> CuResult> =
            sym(lib, b"cuDeviceGet\0")?;
        let name: Symbol<unsafe extern "C" fn(*mut c_char, c_int, c_int) -> CuResult> =
            sym(lib, b"cuDeviceGetName\0")?;
        let mem: Symbol<unsafe extern "C" fn(*mut usize, c_int) -> CuResult> =
            sym(lib, b"cuDeviceTotalMem_v2\0")?;
        let attr: Symbol<unsafe extern "C" fn(*mut c_int, c_int, c_int) -> CuResult> =
            sym(lib, b"cuDeviceGetAttribute\0")?;

        let mut v: c_int = 0;
        check(version(&mut v), "cuDriverGetVersion")?;
        let version = format!("{}.{}", v / 1000, (v % 1000) / 10);
        check(init(0), "cuInit (is the GPU visible to this process?)")?;
        let mut n: c_int = 0;
        check(count(&mut n), "cuDeviceGetCount")?;
        let mut gpus = Vec::new();
        for ordinal in 0..n.clamp(0, 64) {
            let mut dev: c_int = 0;
            check(get(&mut dev, ordinal), "cuDeviceGet")?;
            let mut buf = [0 as c_char; 256];
            check(
                name(buf.as_mut_ptr(), buf.len() as c_int - 1, dev),
                "cuDeviceGetName",
            )?;
            let bytes: Vec<u8> = buf
                .iter()
                .take_while(|c| **c != 0)
                .map(|c| *c as u8)
                .collect();
            let mut total: usize = 0;
            check(mem(&mut total, dev), "cuDeviceTotalMem")?;
            let (mut major, mut minor) = (0, 0);
            // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR / _MINOR.
            check(attr(&mut major, 75, dev), "cuDeviceGetAttribute")?;
            check(attr(&mut minor, 76, dev), "cuDeviceGetAttribute")?;
            gpus.push(GpuInfo {
                ordinal: ordinal as usize,
                name: String::from_utf8_lossy(&bytes).into_owned(),
                memory_bytes: total as u64,
                compute_capability: (major, minor),
            });
        }
        Ok((version, gpus))
    }
}

fn ask_nvrtc(lib: &Library) -> Result<String, String> {
    // SAFETY: `nvrtcVersion(int*, int*)` as declared in nvrtc.h; both pointers point at live locals.
    unsafe {
        let version: Symbol<unsafe extern "C" fn(*mut c_int, *mut c_int) -> c_int> =
            sym(lib, b"nvrtcVersion\0")?;
        let (mut major, mut minor) = (0, 0);
        match version(&mut major, &mut minor) {
            0 => Ok(format!("{major}.{minor}")),
            e => Err(format!("nvrtcVersion failed (code {e})")),
        }
    }
}

/// # Safety
/// `T` must be the symbol's true type.
unsafe fn sym<'l, T>(lib: &'l Library, name: &[u8]) -> Result<Symbol<'l, T>, String> {
    // SAFETY: forwarded to the caller.
    unsafe { lib.get(name) }.map_err(|e| {
        let shown = String::from_utf8_lossy(name.strip_suffix(b"\0").unwrap_or(name)).into_owned();
        format!("the driver library has no {shown} ({e})")
    })
}

fn check(code: CuResult, what: &str) -> Result<(), String> {
    match code {
        0 => Ok(()),
        100 => Err(format!(
            "{what}: no CUDA-capable device (CUDA_ERROR_NO_DEVICE)"
        )),
        e => Err(format!("{what} failed (CUresult {e})")),
    }
}

/// The include folder NVRTC will be given, found the way the CUDA backend looks for it (CUDA_PATH,
/// then /usr/local/cuda, /opt/cuda, /usr), with the headers kernels include checked.
pub fn find_headers(cuda_path: Option<PathBuf>) -> Result<PathBuf, String> {
    let root = match cuda_path {
        Some(p) => p,
        None => ["/usr/local/cuda", "/opt/cuda"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .or_else(|| {
                Path::new("/usr/bin/nvcc")
                    .exists()
                    .then(|| PathBuf::from("/usr"))
            })
            .ok_or_else(|| {
                "no CUDA toolkit found: set CUDA_PATH to the folder holding include/cuda_runtime.h"
                    .to_string()
            })?,
    };
    let include = root.join("include");
    let missing: Vec<&str> = HEADERS
        .iter()
        .copied()
        .filter(|h| !include.join(h).is_file())
        .collect();
    if missing.is_empty() {
        Ok(include)
    } else {
        Err(format!(
            "{} lacks {} (set CUDA_PATH to a CUDA toolkit with its headers)",
            include.display(),
            missing.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_found_only_where_all_exist() {
        let dir = tempfile::tempdir().unwrap();
        let include = dir.path().join("include");
        std::fs::create_dir(&include).unwrap();
        for h in &HEADERS[..2] {
            std::fs::write(include.join(h), "").unwrap();
        }
        let err = find_headers(Some(dir.path().to_path_buf())).unwrap_err();
        assert!(
            err.contains("cuda_bf16.h") && err.contains("mma.h") && !err.contains("cuda_fp16.h"),
            "{err}"
        );
        for h in HEADERS {
            std::fs::write(include.join(h), "").unwrap();
        }
        assert_eq!(
            find_headers(Some(dir.path().to_path_buf())).unwrap(),
            include
        );
    }

    #[test]
    fn probe_never_panics_and_agrees_with_itself() {
        // On a machine without a GPU (CI) every piece is reported missing with a reason; on a GPU
        // machine the driver and its GPUs are listed. Either way `usable` follows from the parts.
        let p = probe();
        assert_eq!(
            p.usable(),
            p.driver.is_ok() && !p.gpus.is_empty() && p.nvrtc.is_ok() && p.headers.is_ok()
        );
        if let Err(e) = &p.driver {
            assert!(!e.is_empty() && p.gpus.is_empty());
        }
    }
}
