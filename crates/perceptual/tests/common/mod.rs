//! What the tests share: the networks' weights from the asset cache (fetched on first use, as CI does) and
//! the reference fixtures written by the Python tools.
#![allow(dead_code)]

use std::path::PathBuf;

fn need(name: &str, got: bestiary_perceptual::Result<PathBuf>) -> PathBuf {
    got.unwrap_or_else(|e| {
        panic!("the tests need the {name} weights (`bestiary assets fetch {name}`): {e}")
    })
}

pub fn vgg16_path() -> PathBuf {
    need(
        "vgg16",
        bestiary_perceptual::vgg16_weights(&mut |m: &str| eprintln!("{m}")),
    )
}

pub fn inception_path() -> PathBuf {
    need(
        "inception",
        bestiary_perceptual::inception_weights(&mut |m: &str| eprintln!("{m}")),
    )
}

pub fn resmem_path() -> PathBuf {
    need(
        "resmem",
        bestiary_perceptual::resmem_weights(&mut |m: &str| eprintln!("{m}")),
    )
}

/// A file of `tests/fixtures`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Little-endian f32s, as the fixtures store them.
pub fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}
