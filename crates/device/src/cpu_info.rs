//! The CPU the kernels run on: its name, cores and the vector instruction sets they can use (the
//! figures of every CPU benchmark depend on these, so reports name them).

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct CpuInfo {
    /// Model name as the OS reports it (empty where unknown).
    pub model: String,
    /// Threads available to this process.
    pub threads: usize,
    /// Vector extensions detected at run time, widest last (e.g. `avx2`, `fma`, `avx512f`).
    pub simd: Vec<&'static str>,
}

pub fn cpu_info() -> CpuInfo {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_default();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    CpuInfo {
        model,
        threads,
        simd: simd(),
    }
}

#[cfg(target_arch = "x86_64")]
fn simd() -> Vec<&'static str> {
    let mut v = Vec::new();
    macro_rules! probe {
        ($($f:tt),*) => { $( if std::arch::is_x86_feature_detected!($f) { v.push($f); } )* };
    }
    probe!("sse4.2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl");
    v
}

#[cfg(target_arch = "aarch64")]
fn simd() -> Vec<&'static str> {
    let mut v = vec!["neon"];
    if std::arch::is_aarch64_feature_detected!("sve") {
        v.push("sve");
    }
    v
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn simd() -> Vec<&'static str> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reports_at_least_one_thread_and_consistent_simd() {
        let c = super::cpu_info();
        assert!(c.threads >= 1);
        // AVX-512 implies AVX2 on every x86 CPU that has it.
        if c.simd.contains(&"avx512f") {
            assert!(c.simd.contains(&"avx2"), "{:?}", c.simd);
        }
    }
}
