//! Gram matrices against a hand computation.

use bestiary_texture::{gram, gram_loss};
use burn::backend::Flex;
use burn::tensor::{Tensor, TensorData};

type B = Flex;

#[test]
fn gram_of_a_tiny_tensor_by_hand() {
    // N=1, C=2, H=1, W=3: channel a = [1, 2, 3], channel b = [0, -1, 4].
    let dev = Default::default();
    let x = Tensor::<B, 4>::from_data(
        TensorData::new(vec![1.0f32, 2.0, 3.0, 0.0, -1.0, 4.0], [1, 2, 1, 3]),
        &dev,
    );
    let g = gram(x).into_data().to_vec::<f32>().unwrap();
    // a.a = 14, a.b = 10, b.b = 17; divided by H*W = 3.
    let want = [14.0 / 3.0, 10.0 / 3.0, 10.0 / 3.0, 17.0 / 3.0];
    for (a, b) in g.iter().zip(want) {
        assert!((a - b).abs() < 1e-6, "{g:?}");
    }
}

#[test]
fn gram_is_batched_and_loss_is_relative() {
    let dev = Default::default();
    // Two images; the second is twice the first, so its Gram is four times as large.
    let a = [1.0f32, 0.0, 2.0, 1.0, 1.0, 1.0, 0.0, 3.0];
    let data: Vec<f32> = a.iter().copied().chain(a.iter().map(|v| v * 2.0)).collect();
    let x = Tensor::<B, 4>::from_data(TensorData::new(data, [2, 2, 2, 2]), &dev);
    let g = gram(x);
    assert_eq!(g.dims(), [2, 2, 2]);
    let v = g.clone().into_data().to_vec::<f32>().unwrap();
    for i in 0..4 {
        assert!((v[4 + i] - 4.0 * v[i]).abs() < 1e-5);
    }
    // Against itself the loss is 0; against zeros it is 1 (relative to the target's energy).
    let t = g.clone().slice(0..1);
    let zero = gram_loss(t.clone(), t.clone()).into_scalar();
    let one = gram_loss(t.zeros_like(), t.clone()).into_scalar();
    assert!(
        zero.abs() < 1e-7 && (one - 1.0).abs() < 1e-6,
        "{zero} {one}"
    );
}
