#![no_main]
//! Official StyleGAN2-ADA pickle reader (pickle + nested legacy torch streams + module interpretation).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bestiary_weights::read_stylegan_pkl(data);
});
