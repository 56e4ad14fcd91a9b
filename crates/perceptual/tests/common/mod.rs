//! Where the tests find the VGG16 weights: the asset cache, fetched on first use (as CI does).
#![allow(dead_code)]

use std::path::PathBuf;

pub fn vgg16_path() -> PathBuf {
    bestiary_perceptual::vgg16_weights(&mut |m: &str| eprintln!("{m}")).unwrap_or_else(|e| {
        panic!("the tests need the VGG16 weights (`bestiary assets fetch vgg16`): {e}")
    })
}
