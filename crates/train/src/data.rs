//! What the trainer needs from a dataset, and minibatch sampling.

use crate::rng::Rng;
use burn::tensor::{backend::Backend, Tensor, TensorData};

/// A set of square training images, all the same size, decoded in memory.
pub trait ImageSet: Sync {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn resolution(&self) -> usize;
    fn channels(&self) -> usize;
    /// Label size (0 = unconditional).
    fn c_dim(&self) -> usize;
    /// Pixels of image `i`, channel-major (C*H*W), 8-bit.
    fn image(&self, i: usize) -> &[u8];
    /// Label of image `i` (`c_dim` values; empty when unconditional).
    fn label(&self, i: usize) -> &[f32];
}

/// An in-memory image set (tests, benchmarks, generated data).
#[derive(Clone, Debug)]
pub struct MemoryImages {
    pub resolution: usize,
    pub channels: usize,
    pub c_dim: usize,
    pub pixels: Vec<Vec<u8>>,
    pub labels: Vec<Vec<f32>>,
}

impl ImageSet for MemoryImages {
    fn len(&self) -> usize {
        self.pixels.len()
    }
    fn resolution(&self) -> usize {
        self.resolution
    }
    fn channels(&self) -> usize {
        self.channels
    }
    fn c_dim(&self) -> usize {
        self.c_dim
    }
    fn image(&self, i: usize) -> &[u8] {
        &self.pixels[i]
    }
    fn label(&self, i: usize) -> &[f32] {
        if self.c_dim == 0 {
            &[]
        } else {
            &self.labels[i]
        }
    }
}

/// A batch of real images in [-1, 1] `[n, C, R, R]` and their labels `[n, c_dim]` (None when
/// unconditional). With `mirror`, each image is x-flipped with probability 1/2 (the official
/// `--mirror` doubles the dataset with flipped copies: the same distribution).
pub fn real_batch<B: Backend>(
    data: &dyn ImageSet,
    n: usize,
    mirror: bool,
    rng: &mut Rng,
    device: &B::Device,
) -> (Tensor<B, 4>, Option<Tensor<B, 2>>) {
    let (c, r) = (data.channels(), data.resolution());
    let mut px = Vec::with_capacity(n * c * r * r);
    let mut labels = Vec::with_capacity(n * data.c_dim());
    for _ in 0..n {
        let i = rng.below(data.len());
        let flip = mirror && rng.uniform() < 0.5;
        let img = data.image(i);
        for ch in 0..c {
            for y in 0..r {
                let row = &img[(ch * r + y) * r..(ch * r + y + 1) * r];
                if flip {
                    px.extend(row.iter().rev().map(|&v| v as f32 / 127.5 - 1.0));
                } else {
                    px.extend(row.iter().map(|&v| v as f32 / 127.5 - 1.0));
                }
            }
        }
        labels.extend_from_slice(data.label(i));
    }
    let x = Tensor::from_data(TensorData::new(px, [n, c, r, r]), device);
    (x, label_tensor(data.c_dim(), labels, n, device))
}

/// Labels for generated images: those of random dataset images, as the official loop draws them.
pub fn random_labels<B: Backend>(
    data: &dyn ImageSet,
    n: usize,
    rng: &mut Rng,
    device: &B::Device,
) -> Option<Tensor<B, 2>> {
    if data.c_dim() == 0 {
        return None;
    }
    let mut labels = Vec::with_capacity(n * data.c_dim());
    for _ in 0..n {
        labels.extend_from_slice(data.label(rng.below(data.len())));
    }
    label_tensor(data.c_dim(), labels, n, device)
}

fn label_tensor<B: Backend>(
    c_dim: usize,
    v: Vec<f32>,
    n: usize,
    device: &B::Device,
) -> Option<Tensor<B, 2>> {
    (c_dim > 0).then(|| Tensor::from_data(TensorData::new(v, [n, c_dim]), device))
}
