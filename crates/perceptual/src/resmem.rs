//! ResMem image memorability (Needell & Bainbridge, PyPI `resmem==1.1.6`), built in Burn.
//!
//! The network has two branches on the same 3 x 227 x 227 input in [0, 1] (no mean/std normalisation):
//! - a torchvision ResNet-152 (batch norms folded into the convolutions at load time) down to its 1000
//!   ImageNet logits;
//! - an AlexNet-like stack: conv 11x11/4 (48), max pool 3/2, local response norm (5), grouped conv 5x5
//!   (256, 2 groups), max pool, LRN, three grouped 3x3 convs (384, 384, 256), max pool, flattened to 9216.
//!
//! The two are concatenated (AlexNet features first) and go through a ReLU MLP
//! 10216 → 4096 → 4096 → 2048 → 1024 → 512 → 256 → 1 with a final sigmoid: the memorability score.
//!
//! Preprocessing ([`preprocess`]) matches the package's torchvision transform on PIL images: resize to
//! exactly 256 x 256 with Pillow's bilinear filter (antialiased when shrinking, fixed-point 8-bit
//! arithmetic, horizontal pass then vertical), centre crop 227, divide by 255.
//!
//! The weights (`model.pt`, a torch zip state dict) are read with `bestiary_weights`; nothing in the file
//! is executed. They come under the ResMem non-commercial licence.

use crate::{PerceptualError, Result, RgbImage};
use bestiary_weights::TensorData;
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::backend::Backend;
use burn::tensor::module::{conv2d, max_pool2d};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, TensorData as BurnData};
use std::collections::BTreeMap;
use std::path::Path;

/// Side of the network's square input (the centre crop).
pub const INPUT_SIZE: usize = 227;
/// Side images are resized to before the centre crop.
pub const RESIZE: usize = 256;
/// Crop offset: torchvision's `round((256 - 227) / 2)` (Python rounds 14.5 to even, i.e. 14).
const CROP_OFFSET: usize = 14;

const BN_EPS: f64 = 1e-5;
/// torchvision ResNet-152: bottleneck blocks per stage.
const RESNET_BLOCKS: [usize; 4] = [3, 8, 36, 3];
/// The head's layer widths, fc6 .. fc12.
const HEAD: [(usize, usize); 7] = [
    (9216 + 1000, 4096),
    (4096, 4096),
    (4096, 2048),
    (2048, 1024),
    (1024, 512),
    (512, 256),
    (256, 1),
];

fn err(msg: impl Into<String>) -> PerceptualError {
    PerceptualError::ResMem(msg.into())
}

struct Conv<B: Backend> {
    weight: Tensor<B, 4>,
    bias: Option<Tensor<B, 1>>,
    opts: ConvOptions<2>,
}

impl<B: Backend> Conv<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        conv2d(x, self.weight.clone(), self.bias.clone(), self.opts.clone())
    }
}

struct Linear<B: Backend> {
    /// out x in, as stored by torch.
    weight: Tensor<B, 2>,
    bias: Tensor<B, 1>,
}

impl<B: Backend> Linear<B> {
    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        x.matmul(self.weight.clone().transpose()) + self.bias.clone().unsqueeze::<2>()
    }
}

struct Bottleneck<B: Backend> {
    conv1: Conv<B>,
    conv2: Conv<B>,
    conv3: Conv<B>,
    downsample: Option<Conv<B>>,
}

impl<B: Backend> Bottleneck<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let identity = match &self.downsample {
            Some(d) => d.forward(x.clone()),
            None => x.clone(),
        };
        let y = relu(self.conv1.forward(x));
        let y = relu(self.conv2.forward(y));
        relu(self.conv3.forward(y) + identity)
    }
}

/// The ResMem network. Build it with [`ResMem::load`], score images with [`ResMem::score`].
pub struct ResMem<B: Backend> {
    device: B::Device,
    // ResNet-152 branch ("features." in the state dict).
    stem: Conv<B>,
    stages: Vec<Vec<Bottleneck<B>>>,
    fc: Linear<B>,
    // AlexNet-like branch.
    alex: [Conv<B>; 5],
    // fc6 .. fc12.
    head: Vec<Linear<B>>,
}

/// Takes tensors out of the state dict, checking names and shapes (so that building Burn tensors never
/// panics on a malformed file).
struct Source<'d, B: Backend> {
    tensors: BTreeMap<String, TensorData>,
    device: &'d B::Device,
}

impl<B: Backend> Source<'_, B> {
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let t = self
            .tensors
            .remove(name)
            .ok_or_else(|| err(format!("missing tensor {name}")))?;
        if t.shape != shape || t.data.len() != shape.iter().product::<usize>() {
            return Err(err(format!(
                "{name} has shape {:?}, expected {shape:?}",
                t.shape
            )));
        }
        if let Some(bad) = t.data.iter().position(|v| !v.is_finite()) {
            return Err(err(format!(
                "{name} holds a non-finite value at element {bad}"
            )));
        }
        Ok(t.data)
    }

    fn t1(&self, data: Vec<f32>) -> Tensor<B, 1> {
        let n = data.len();
        Tensor::from_data(BurnData::new(data, vec![n]), self.device)
    }

    /// A plain convolution with bias (`<name>.weight`, `<name>.bias`).
    fn conv(
        &mut self,
        name: &str,
        shape: [usize; 4],
        stride: usize,
        padding: usize,
        groups: usize,
    ) -> Result<Conv<B>> {
        let w = self.take(&format!("{name}.weight"), &shape)?;
        let b = self.take(&format!("{name}.bias"), &shape[..1])?;
        Ok(Conv {
            weight: Tensor::from_data(BurnData::new(w, shape.to_vec()), self.device),
            bias: Some(self.t1(b)),
            opts: ConvOptions::new([stride, stride], [padding, padding], [1, 1], groups),
        })
    }

    /// A bias-free convolution followed by an eval-mode batch norm, folded into one convolution.
    fn conv_bn(
        &mut self,
        conv: &str,
        bn: &str,
        shape: [usize; 4],
        stride: usize,
        padding: usize,
    ) -> Result<Conv<B>> {
        let o = shape[0];
        let mut w = self.take(&format!("{conv}.weight"), &shape)?;
        let gamma = self.take(&format!("{bn}.weight"), &[o])?;
        let beta = self.take(&format!("{bn}.bias"), &[o])?;
        let mean = self.take(&format!("{bn}.running_mean"), &[o])?;
        let var = self.take(&format!("{bn}.running_var"), &[o])?;
        self.tensors.remove(&format!("{bn}.num_batches_tracked"));
        let per_out = shape[1] * shape[2] * shape[3];
        let mut bias = vec![0f32; o];
        for c in 0..o {
            if var[c] < 0.0 {
                return Err(err(format!("{bn}.running_var has a negative entry")));
            }
            let s = gamma[c] as f64 / (var[c] as f64 + BN_EPS).sqrt();
            for v in &mut w[c * per_out..(c + 1) * per_out] {
                *v = (*v as f64 * s) as f32;
            }
            bias[c] = (beta[c] as f64 - mean[c] as f64 * s) as f32;
        }
        Ok(Conv {
            weight: Tensor::from_data(BurnData::new(w, shape.to_vec()), self.device),
            bias: Some(self.t1(bias)),
            opts: ConvOptions::new([stride, stride], [padding, padding], [1, 1], 1),
        })
    }

    fn linear(&mut self, name: &str, inputs: usize, outputs: usize) -> Result<Linear<B>> {
        let w = self.take(&format!("{name}.weight"), &[outputs, inputs])?;
        let b = self.take(&format!("{name}.bias"), &[outputs])?;
        Ok(Linear {
            weight: Tensor::from_data(BurnData::new(w, vec![outputs, inputs]), self.device),
            bias: self.t1(b),
        })
    }
}

impl<B: Backend> ResMem<B> {
    /// Loads the package's `model.pt` (a torch zip state dict) from disk.
    pub fn load(path: &Path, device: &B::Device) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|cause| PerceptualError::Io {
            path: path.display().to_string(),
            cause,
        })?;
        let tensors = bestiary_weights::read_torch_state_dict(&bytes)?;
        drop(bytes);
        Self::from_tensors(tensors, device)
    }

    /// Builds the network from the state dict's tensors (names as in `ResMem.state_dict()`).
    pub fn from_tensors(tensors: BTreeMap<String, TensorData>, device: &B::Device) -> Result<Self> {
        let mut src = Source::<B> { tensors, device };
        let stem = src.conv_bn("features.conv1", "features.bn1", [64, 3, 7, 7], 2, 3)?;
        let mut stages = Vec::with_capacity(4);
        let mut inplanes = 64;
        for (i, &blocks) in RESNET_BLOCKS.iter().enumerate() {
            let planes = 64 << i;
            let stride = if i == 0 { 1 } else { 2 };
            let mut stage = Vec::with_capacity(blocks);
            for b in 0..blocks {
                let p = format!("features.layer{}.{b}", i + 1);
                let s = if b == 0 { stride } else { 1 };
                let conv1 = src.conv_bn(
                    &format!("{p}.conv1"),
                    &format!("{p}.bn1"),
                    [planes, inplanes, 1, 1],
                    1,
                    0,
                )?;
                let conv2 = src.conv_bn(
                    &format!("{p}.conv2"),
                    &format!("{p}.bn2"),
                    [planes, planes, 3, 3],
                    s,
                    1,
                )?;
                let conv3 = src.conv_bn(
                    &format!("{p}.conv3"),
                    &format!("{p}.bn3"),
                    [planes * 4, planes, 1, 1],
                    1,
                    0,
                )?;
                let downsample = if b == 0 {
                    Some(src.conv_bn(
                        &format!("{p}.downsample.0"),
                        &format!("{p}.downsample.1"),
                        [planes * 4, inplanes, 1, 1],
                        s,
                        0,
                    )?)
                } else {
                    None
                };
                stage.push(Bottleneck {
                    conv1,
                    conv2,
                    conv3,
                    downsample,
                });
                inplanes = planes * 4;
            }
            stages.push(stage);
        }
        let fc = src.linear("features.fc", 2048, 1000)?;
        let alex = [
            src.conv("conv1", [48, 3, 11, 11], 4, 0, 1)?,
            src.conv("conv2", [256, 24, 5, 5], 1, 2, 2)?,
            src.conv("conv3", [384, 128, 3, 3], 1, 1, 2)?,
            src.conv("conv4", [384, 192, 3, 3], 1, 1, 2)?,
            src.conv("conv5", [256, 192, 3, 3], 1, 1, 2)?,
        ];
        let head = HEAD
            .iter()
            .enumerate()
            .map(|(i, &(inp, out))| src.linear(&format!("fc{}", i + 6), inp, out))
            .collect::<Result<Vec<_>>>()?;
        if let Some(extra) = src.tensors.keys().next() {
            return Err(err(format!(
                "unexpected tensor {extra} (is this the resmem model.pt?)"
            )));
        }
        Ok(ResMem {
            device: device.clone(),
            stem,
            stages,
            fc,
            alex,
            head,
        })
    }

    /// The device the network lives on.
    pub fn device(&self) -> &B::Device {
        &self.device
    }

    /// The ResNet-152 branch: N x 3 x 227 x 227 -> N x 1000 ImageNet logits.
    pub fn resnet_logits(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = relu(self.stem.forward(x));
        let mut x = max_pool2d(x, [3, 3], [2, 2], [1, 1], [1, 1], false);
        for stage in &self.stages {
            for block in stage {
                x = block.forward(x);
            }
        }
        let [n, c, h, w] = x.dims();
        let pooled = x.reshape([n, c, h * w]).mean_dim(2).reshape([n, c]);
        self.fc.forward(pooled)
    }

    /// The AlexNet-like branch: N x 3 x 227 x 227 -> N x 9216 (256 x 6 x 6, flattened channel-major).
    pub fn alex_features(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let pool = |x: Tensor<B, 4>| max_pool2d(x, [3, 3], [2, 2], [0, 0], [1, 1], false);
        let x = lrn(pool(relu(self.alex[0].forward(x))));
        let x = lrn(pool(relu(self.alex[1].forward(x))));
        let x = relu(self.alex[2].forward(x));
        let x = relu(self.alex[3].forward(x));
        let x = pool(relu(self.alex[4].forward(x)));
        let [n, c, h, w] = x.dims();
        x.reshape([n, c * h * w])
    }

    /// N x 3 x 227 x 227 in [0, 1] (see [`preprocess`]) -> N x 1 memorability scores in (0, 1).
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let features = Tensor::cat(
            vec![self.alex_features(x.clone()), self.resnet_logits(x)],
            1,
        );
        let last = self.head.len() - 1;
        let mut h = features;
        for (i, layer) in self.head.iter().enumerate() {
            h = layer.forward(h);
            if i < last {
                h = relu(h);
            }
        }
        sigmoid(h)
    }

    /// Memorability of each image (any size, RGB), preprocessed as the package does and run `batch`
    /// images at a time. Scores are in (0, 1); higher is more memorable.
    pub fn score(&self, images: &[RgbImage], batch: usize) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(images.len());
        for chunk in images.chunks(batch.max(1)) {
            out.extend(self.score_batch(chunk)?);
        }
        Ok(out)
    }

    /// Scores of one batch (all of `images` in one forward pass).
    pub fn score_batch(&self, images: &[RgbImage]) -> Result<Vec<f32>> {
        let crops = images
            .iter()
            .map(preprocess_u8)
            .collect::<Result<Vec<_>>>()?;
        self.score_crops(&crops, crops.len())
    }

    /// Scores of images already reduced to their 227 x 227 crops by [`preprocess_u8`] (each 227 * 227 * 3
    /// bytes, HWC), `batch` at a time. Lets a caller decode many large images and keep only the crops.
    pub fn score_crops(&self, crops: &[Vec<u8>], batch: usize) -> Result<Vec<f32>> {
        let per = 3 * INPUT_SIZE * INPUT_SIZE;
        if let Some(bad) = crops.iter().position(|c| c.len() != per) {
            return Err(PerceptualError::Invalid(format!(
                "crop {bad} has {} bytes, expected {INPUT_SIZE}x{INPUT_SIZE}x3",
                crops[bad].len()
            )));
        }
        let mut out = Vec::with_capacity(crops.len());
        for chunk in crops.chunks(batch.max(1)) {
            let mut data = Vec::with_capacity(chunk.len() * per);
            for crop in chunk {
                data.extend(crop_to_chw(crop));
            }
            let x = Tensor::<B, 4>::from_data(
                BurnData::new(data, vec![chunk.len(), 3, INPUT_SIZE, INPUT_SIZE]),
                &self.device,
            );
            let scores: Vec<f32> = self
                .forward(x)
                .into_data()
                .convert::<f32>()
                .to_vec()
                .map_err(|e| err(format!("cannot read the scores back: {e:?}")))?;
            out.extend(scores);
        }
        Ok(out)
    }
}

/// torch's `LocalResponseNorm(5)` (alpha 1e-4, beta 0.75, k 1) across channels: each value is divided by
/// `(1 + 1e-4 * mean of the squares over the 5 channels centred on it, zero-padded) ^ 0.75`.
fn lrn<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    const SIZE: usize = 5;
    let [n, c, h, w] = x.dims();
    let sq = x.clone() * x.clone();
    let pad = Tensor::<B, 4>::zeros([n, SIZE / 2, h, w], &x.device());
    let padded = Tensor::cat(vec![pad.clone(), sq, pad], 1);
    let mut sum = padded.clone().narrow(1, 0, c);
    for i in 1..SIZE {
        sum = sum + padded.clone().narrow(1, i, c);
    }
    let div = (sum * (1e-4 / SIZE as f64) + 1.0).powf_scalar(0.75);
    x / div
}

fn check_image(img: &RgbImage) -> Result<()> {
    if img.width == 0 || img.height == 0 {
        return Err(PerceptualError::Invalid(format!(
            "empty image ({}x{})",
            img.width, img.height
        )));
    }
    let want = img
        .width
        .checked_mul(img.height)
        .and_then(|p| p.checked_mul(3));
    if want != Some(img.data.len()) {
        return Err(PerceptualError::Invalid(format!(
            "image data has {} bytes, expected {}x{}x3",
            img.data.len(),
            img.width,
            img.height
        )));
    }
    Ok(())
}

/// The network's input for one image: CHW f32, 3 x 227 x 227, in [0, 1] ([`preprocess_u8`] / 255).
pub fn preprocess(img: &RgbImage) -> Result<Vec<f32>> {
    Ok(crop_to_chw(&preprocess_u8(img)?))
}

/// HWC 8-bit crop -> CHW f32 in [0, 1] (torchvision's `ToTensor`).
fn crop_to_chw(crop: &[u8]) -> Vec<f32> {
    let n = INPUT_SIZE * INPUT_SIZE;
    let mut out = vec![0f32; 3 * n];
    for (p, px) in crop.chunks_exact(3).enumerate() {
        for c in 0..3 {
            out[c * n + p] = px[c] as f32 / 255.0;
        }
    }
    out
}

/// The 227 x 227 centre crop of the image resized to 256 x 256, as 8-bit RGB (HWC): exactly what
/// torchvision's `Resize((256, 256))` + `CenterCrop(227)` give for a PIL RGB image.
pub fn preprocess_u8(img: &RgbImage) -> Result<Vec<u8>> {
    check_image(img)?;
    let resized = pil_bilinear_resize(&img.data, img.width, img.height, RESIZE, RESIZE);
    let mut out = Vec::with_capacity(INPUT_SIZE * INPUT_SIZE * 3);
    for y in CROP_OFFSET..CROP_OFFSET + INPUT_SIZE {
        let row = (y * RESIZE + CROP_OFFSET) * 3;
        out.extend_from_slice(&resized[row..row + INPUT_SIZE * 3]);
    }
    Ok(out)
}

/// Pillow's fixed-point precision for 8-bit resampling (`32 - 8 - 2`).
const PRECISION_BITS: u32 = 22;

/// Pillow's resampling weights for one axis: per output index, the first source index, and integer
/// weights (scaled by 2^22). Bilinear (triangle) filter, widened by the scale when shrinking.
fn pil_taps(in_size: usize, out_size: usize) -> Vec<(usize, Vec<i32>)> {
    pil_taps_f64(in_size, out_size)
        .into_iter()
        .map(|(xmin, w)| {
            let fixed = w
                .iter()
                .map(|&k| {
                    let s = k * (1u32 << PRECISION_BITS) as f64;
                    if k < 0.0 {
                        (s - 0.5) as i32
                    } else {
                        (s + 0.5) as i32
                    }
                })
                .collect();
            (xmin, fixed)
        })
        .collect()
}

/// The same weights before Pillow rounds them to fixed point (each output's weights sum to one).
fn pil_taps_f64(in_size: usize, out_size: usize) -> Vec<(usize, Vec<f64>)> {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = filterscale; // bilinear support 1, times filterscale
    let ss = 1.0 / filterscale;
    (0..out_size)
        .map(|xx| {
            let center = (xx as f64 + 0.5) * scale;
            // C casts truncate toward zero, as `as` does.
            let xmin = ((center - support + 0.5) as i64).max(0);
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64);
            let count = (xmax - xmin).max(0) as usize;
            let mut w: Vec<f64> = (0..count)
                .map(|x| {
                    let t = ((x as i64 + xmin) as f64 - center + 0.5) * ss;
                    let t = t.abs();
                    if t < 1.0 {
                        1.0 - t
                    } else {
                        0.0
                    }
                })
                .collect();
            let total: f64 = w.iter().sum();
            if total != 0.0 {
                for v in &mut w {
                    *v /= total;
                }
            }
            (xmin as usize, w)
        })
        .collect()
}

/// The linear map of one axis from `in_size` pixels to the 227 centre-crop pixels of the 256 resize:
/// `[227, in_size]`, row-major (Pillow's bilinear weights in floating point).
pub fn resize_crop_matrix(in_size: usize) -> Vec<f32> {
    let taps = pil_taps_f64(in_size, RESIZE);
    let mut m = vec![0f32; INPUT_SIZE * in_size];
    for (row, (xmin, w)) in taps[CROP_OFFSET..CROP_OFFSET + INPUT_SIZE]
        .iter()
        .enumerate()
    {
        for (i, &k) in w.iter().enumerate() {
            m[row * in_size + xmin + i] = k as f32;
        }
    }
    m
}

/// [`preprocess`] as differentiable tensor operations: images `[N, 3, H, W]` in `[0, 1]` to the network's
/// `[N, 3, 227, 227]` input (the 256 x 256 bilinear resize and the centre crop as two matrix products).
/// It skips the 8-bit roundings of the PNG and of Pillow's fixed-point passes, so scores of the same image
/// differ from [`ResMem::score`] by the effect of at most about one grey level per pixel.
pub fn preprocess_tensor<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    let device = x.device();
    let mat = |size: usize| {
        Tensor::<B, 2>::from_data(
            BurnData::new(resize_crop_matrix(size), [INPUT_SIZE, size]),
            &device,
        )
    };
    let ry = mat(h).unsqueeze::<3>().expand([n * c, INPUT_SIZE, h]);
    let rx = mat(w)
        .transpose()
        .unsqueeze::<3>()
        .expand([n * c, w, INPUT_SIZE]);
    let x = x.reshape([n * c, h, w]);
    ry.matmul(x)
        .matmul(rx)
        .reshape([n, c, INPUT_SIZE, INPUT_SIZE])
}

fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Pillow's `Image.resize(size, BILINEAR)` on 8-bit RGB (no box, no reducing gap): a horizontal pass into
/// 8-bit, then a vertical pass; each pass is skipped when that side keeps its size.
fn pil_bilinear_resize(src: &[u8], w: usize, h: usize, ow: usize, oh: usize) -> Vec<u8> {
    let round = 1i32 << (PRECISION_BITS - 1);
    let horizontal: Vec<u8> = if ow != w {
        let taps = pil_taps(w, ow);
        let mut out = vec![0u8; h * ow * 3];
        for y in 0..h {
            let row = &src[y * w * 3..(y + 1) * w * 3];
            for (x, (xmin, k)) in taps.iter().enumerate() {
                for c in 0..3 {
                    let mut acc = round;
                    for (i, &kv) in k.iter().enumerate() {
                        acc += row[(xmin + i) * 3 + c] as i32 * kv;
                    }
                    out[(y * ow + x) * 3 + c] = clip8(acc);
                }
            }
        }
        out
    } else {
        src.to_vec()
    };
    if oh == h {
        return horizontal;
    }
    let taps = pil_taps(h, oh);
    let mut out = vec![0u8; oh * ow * 3];
    for (y, (ymin, k)) in taps.iter().enumerate() {
        for x in 0..ow * 3 {
            let mut acc = round;
            for (i, &kv) in k.iter().enumerate() {
                acc += horizontal[(ymin + i) * ow * 3 + x] as i32 * kv;
            }
            out[y * ow * 3 + x] = clip8(acc);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taps_sum_to_one_and_identity_is_exact() {
        for (i, o) in [(300, 256), (90, 256), (256, 256), (1000, 256), (1, 256)] {
            for (_, k) in pil_taps(i, o) {
                let s: i64 = k.iter().map(|&v| v as i64).sum();
                assert!(
                    (s - (1 << PRECISION_BITS)).abs() <= k.len() as i64,
                    "{i}->{o}: {s}"
                );
            }
        }
        let img: Vec<u8> = (0..256 * 256 * 3).map(|i| (i * 7 % 251) as u8).collect();
        assert_eq!(pil_bilinear_resize(&img, 256, 256, 256, 256), img);
    }

    /// The differentiable preprocess agrees with the exact 8-bit one within about one grey level: the
    /// exact path rounds to 8 bits after each of Pillow's two passes, the tensor path never does.
    #[test]
    fn the_tensor_preprocess_matches_the_exact_one() {
        type F = burn::backend::Flex;
        for (w, h) in [(16, 16), (32, 32), (300, 200), (64, 96)] {
            let data: Vec<u8> = (0..w * h * 3).map(|i| ((i * 37) % 251) as u8).collect();
            let img = RgbImage {
                width: w,
                height: h,
                data,
            };
            let exact = preprocess(&img).unwrap();
            let chw: Vec<f32> = (0..3)
                .flat_map(|c| {
                    let img = &img;
                    (0..w * h).map(move |p| img.data[p * 3 + c] as f32 / 255.0)
                })
                .collect();
            let x =
                Tensor::<F, 4>::from_data(BurnData::new(chw, [1, 3, h, w]), &Default::default());
            let got: Vec<f32> = preprocess_tensor(x).into_data().to_vec().unwrap();
            let worst = exact
                .iter()
                .zip(&got)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                worst <= 1.01 / 255.0,
                "{w}x{h}: {} grey levels",
                worst * 255.0
            );
        }
    }

    #[test]
    fn malformed_images_are_errors() {
        assert!(preprocess(&RgbImage {
            width: 0,
            height: 4,
            data: vec![]
        })
        .is_err());
        assert!(preprocess(&RgbImage {
            width: 2,
            height: 2,
            data: vec![0; 11]
        })
        .is_err());
        let one = preprocess(&RgbImage {
            width: 1,
            height: 1,
            data: vec![255, 0, 51],
        })
        .unwrap();
        assert_eq!(one.len(), 3 * INPUT_SIZE * INPUT_SIZE);
        assert_eq!(one[0], 1.0);
        assert_eq!(one[INPUT_SIZE * INPUT_SIZE], 0.0);
        assert_eq!(one[2 * INPUT_SIZE * INPUT_SIZE], 0.2);
    }
}
