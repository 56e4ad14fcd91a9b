#![no_main]
//! safetensors reading (untrusted header), and writing back what was read.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((t, m)) = bestiary_weights::safetensors_io::read(data) {
        let _ = bestiary_weights::safetensors_io::write(&t, &m, bestiary_weights::DType::F32);
    }
});
