//! Times one forward and one forward+backward of the texture loss at a few sizes (diagnostics).
//! cargo run -p bestiary-texture --example step_timing --release -- VGG16_PATH [SIZE...]
use bestiary_perceptual::{Layer, Pad, Pool, Vgg16};
use bestiary_texture::gram;
use burn::backend::{Autodiff, Flex};
use burn::tensor::{Distribution, Tensor};
use std::time::Instant;

type B = Autodiff<Flex>;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dev = Default::default();
    let vgg = Vgg16::<B>::load(std::path::Path::new(&args[1]), &dev).unwrap();
    let sizes: Vec<usize> = args[2..].iter().map(|s| s.parse().unwrap()).collect();
    for size in sizes {
        for (pool, pad) in [
            (Pool::Avg, Pad::Zero),
            (Pool::Max, Pad::Zero),
            (Pool::Avg, Pad::Circular),
        ] {
            let x = Tensor::<Flex, 4>::random(
                [1, 3, size, size],
                Distribution::Uniform(0.0, 1.0),
                &dev,
            );
            let t0 = Instant::now();
            let f = vgg.activations(
                Tensor::<B, 4>::from_inner(x.clone()),
                &Layer::gatys(),
                pad,
                pool,
            );
            let s: f32 = f
                .into_iter()
                .map(|f| gram(f).sum())
                .reduce(|a, b| a + b)
                .unwrap()
                .into_scalar();
            let fwd = t0.elapsed().as_secs_f64();
            let t0 = Instant::now();
            let xa = Tensor::<B, 4>::from_inner(x).require_grad();
            let f = vgg.activations(xa.clone(), &Layer::gatys(), pad, pool);
            let loss = f
                .into_iter()
                .map(|f| gram(f).sum())
                .reduce(|a, b| a + b)
                .unwrap();
            let g = xa.grad(&loss.backward()).unwrap();
            let _ = g.sum().into_scalar();
            let both = t0.elapsed().as_secs_f64();
            println!("{size}px {pool:?} {pad:?}: forward {fwd:.3} s, forward+backward {both:.3} s ({s:.1})");
        }
    }
}
