//! Equalized-learning-rate layers and the StyleGAN2 primitives built on them.

use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Tensor};

use crate::bias_act::{bias_act, Activation};
use crate::broadcast::add_pixel_noise;
use crate::conv::{conv2d_resample, Resample};
use crate::fir::Fir;
use crate::host_rng;
use crate::state::{buffer, export_tensor, join, param, StateError, StateReader, WeightMap};

fn trainable_or_buffer<B: Backend, const D: usize>(
    t: Tensor<B, D>,
    trainable: bool,
) -> Param<Tensor<B, D>> {
    if trainable {
        param(t)
    } else {
        buffer(t)
    }
}

/// `x * rsqrt(mean(x^2, dim=1) + eps)` with eps = 1e-8.
pub fn normalize_2nd_moment<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 2> {
    let ms = x.clone().square().mean_dim(1);
    x * (ms + 1e-8).sqrt().recip()
}

/// Fully-connected layer with equalized learning rate, written as a matmul (twice
/// differentiable). Weights are stored unscaled, `[out, in]`, as in the official code:
/// `y = act(x @ (weight * lr_mul / sqrt(in))^T + bias * lr_mul)`.
#[derive(Module, Debug)]
pub struct FullyConnectedLayer<B: Backend> {
    /// `[out_features, in_features]`, stored unscaled.
    pub weight: Param<Tensor<B, 2>>,
    /// `[out_features]`, stored unscaled.
    pub bias: Option<Param<Tensor<B, 1>>>,
    /// Activation applied after the bias (with its default gain).
    pub activation: Activation,
    /// `lr_multiplier / sqrt(in_features)`.
    pub weight_gain: f64,
    /// `lr_multiplier`.
    pub bias_gain: f64,
}

impl<B: Backend> FullyConnectedLayer<B> {
    /// Official initialisation: `weight ~ N(0,1) / lr_multiplier`, `bias = bias_init`.
    pub fn new(
        in_features: usize,
        out_features: usize,
        bias: bool,
        activation: Activation,
        lr_multiplier: f64,
        bias_init: f64,
        device: &B::Device,
    ) -> Self {
        let w = host_rng::normal::<B, 2>([out_features, in_features], device) / lr_multiplier;
        let b = bias.then(|| param(Tensor::<B, 1>::full([out_features], bias_init, device)));
        FullyConnectedLayer {
            weight: param(w),
            bias: b,
            activation,
            weight_gain: lr_multiplier / (in_features as f64).sqrt(),
            bias_gain: lr_multiplier,
        }
    }

    /// Input features.
    pub fn in_features(&self) -> usize {
        self.weight.dims()[1]
    }

    /// Output features.
    pub fn out_features(&self) -> usize {
        self.weight.dims()[0]
    }

    /// `x: [N, in] -> [N, out]`.
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let w = self.weight.val() * self.weight_gain;
        let b = self.bias.as_ref().map(|b| {
            let b = b.val();
            if self.bias_gain != 1.0 {
                b * self.bias_gain
            } else {
                b
            }
        });
        // x wᵀ as (w xᵀ)ᵀ: the transposed views then fall on the small [N, *] side, and the
        // weight gradient comes out contiguous (strided gradients take Flex's slow paths).
        let x = w.matmul(x.transpose()).transpose();
        match (self.activation, b) {
            (Activation::Linear, Some(b)) => x + b.unsqueeze_dim(0),
            (act, b) => bias_act(x, b, act, None, None),
        }
    }

    /// Loads `prefix.weight` and `prefix.bias`.
    pub fn load(self, r: &mut StateReader, prefix: &str) -> Result<Self, StateError> {
        let weight = r.param(self.weight, &join(prefix, "weight"), None)?;
        let bias = match self.bias {
            Some(b) => Some(r.param(b, &join(prefix, "bias"), None)?),
            None => None,
        };
        Ok(FullyConnectedLayer {
            weight,
            bias,
            ..self
        })
    }

    /// Exports `prefix.weight` and `prefix.bias`.
    pub fn export(&self, out: &mut WeightMap, prefix: &str) {
        export_tensor(out, &join(prefix, "weight"), self.weight.val(), None);
        if let Some(b) = &self.bias {
            export_tensor(out, &join(prefix, "bias"), b.val(), None);
        }
    }
}

/// Convolution layer with equalized learning rate (`weight_gain = 1/sqrt(in*k*k)`), optional
/// FIR up/downsampling, bias + activation + optional clamp.
#[derive(Module, Debug)]
pub struct Conv2dLayer<B: Backend> {
    /// `[out, in, k, k]`, stored unscaled.
    pub weight: Param<Tensor<B, 4>>,
    /// `[out]`.
    pub bias: Option<Param<Tensor<B, 1>>>,
    /// Activation.
    pub activation: Activation,
    /// Upsampling factor.
    pub up: usize,
    /// Downsampling factor.
    pub down: usize,
    /// Clamp of the output (`None` = off); multiplied by the call's `gain`.
    pub conv_clamp: Option<f64>,
    /// Resampling filter.
    pub resample_filter: Fir,
    /// `kernel_size / 2`.
    pub padding: usize,
    /// `1 / sqrt(in * k * k)`.
    pub weight_gain: f64,
    /// The activation's default gain.
    pub act_gain: f64,
}

/// Arguments of [`Conv2dLayer::new`]: the official Conv2dLayer's keyword arguments, with its defaults
/// from [`Conv2dArgs::new`] (bias, linear, no resampling, the [1, 3, 3, 1] filter, no clamp, trainable).
#[derive(Debug, Clone)]
pub struct Conv2dArgs {
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel_size: usize,
    pub bias: bool,
    pub activation: Activation,
    /// Upsampling factor.
    pub up: usize,
    /// Downsampling factor.
    pub down: usize,
    pub resample_filter: Fir,
    /// Clamp of the output (None: no clamp).
    pub conv_clamp: Option<f64>,
    /// False: the weights are buffers (Freeze-D).
    pub trainable: bool,
}

impl Conv2dArgs {
    /// A `kernel_size` convolution from `in_channels` to `out_channels` with the official defaults.
    pub fn new(in_channels: usize, out_channels: usize, kernel_size: usize) -> Self {
        Conv2dArgs {
            in_channels,
            out_channels,
            kernel_size,
            bias: true,
            activation: Activation::Linear,
            up: 1,
            down: 1,
            resample_filter: Fir::default_stylegan(),
            conv_clamp: None,
            trainable: true,
        }
    }
}

impl<B: Backend> Conv2dLayer<B> {
    /// Official initialisation: `weight ~ N(0,1)`, `bias = 0`. `trainable = false` makes the
    /// weights buffers (Freeze-D).
    pub fn new(args: Conv2dArgs, device: &B::Device) -> Self {
        let Conv2dArgs {
            in_channels,
            out_channels,
            kernel_size,
            bias,
            activation,
            up,
            down,
            resample_filter,
            conv_clamp,
            trainable,
        } = args;
        let w = host_rng::normal::<B, 4>(
            [out_channels, in_channels, kernel_size, kernel_size],
            device,
        );
        let b = bias
            .then(|| trainable_or_buffer(Tensor::<B, 1>::zeros([out_channels], device), trainable));
        Conv2dLayer {
            weight: trainable_or_buffer(w, trainable),
            bias: b,
            activation,
            up,
            down,
            conv_clamp,
            resample_filter,
            padding: kernel_size / 2,
            weight_gain: 1.0 / ((in_channels * kernel_size * kernel_size) as f64).sqrt(),
            act_gain: activation.def_gain(),
        }
    }

    /// `x: [N, in, H, W] -> [N, out, H*up/down, W*up/down]`; `gain` scales both the activation
    /// gain and the clamp.
    pub fn forward(&self, x: Tensor<B, 4>, gain: f64) -> Tensor<B, 4> {
        let w = self.weight.val() * self.weight_gain;
        let b = self.bias.as_ref().map(|b| b.val());
        let p = self.padding as isize;
        let x = conv2d_resample(
            x,
            w,
            &self.resample_filter,
            Resample {
                up: self.up,
                down: self.down,
                padding: [p, p, p, p],
                groups: 1,
                flip_weight: self.up == 1,
            },
        );
        let act_gain = self.act_gain * gain;
        let clamp = self.conv_clamp.map(|c| c * gain);
        bias_act(x, b, self.activation, Some(act_gain), clamp)
    }

    /// Loads `prefix.weight`, `prefix.bias` and the filter `prefix.resample_filter` holds.
    pub fn load(self, r: &mut StateReader, prefix: &str) -> Result<Self, StateError> {
        let weight = r.param(self.weight, &join(prefix, "weight"), None)?;
        let bias = match self.bias {
            Some(b) => Some(r.param(b, &join(prefix, "bias"), None)?),
            None => None,
        };
        let resample_filter = r.filter(&join(prefix, "resample_filter"), self.resample_filter)?;
        Ok(Conv2dLayer {
            weight,
            bias,
            resample_filter,
            ..self
        })
    }

    /// Exports `prefix.weight`, `prefix.bias`, `prefix.resample_filter`.
    pub fn export(&self, out: &mut WeightMap, prefix: &str) {
        export_tensor(out, &join(prefix, "weight"), self.weight.val(), None);
        if let Some(b) = &self.bias {
            export_tensor(out, &join(prefix, "bias"), b.val(), None);
        }
        export_filter(out, &join(prefix, "resample_filter"), &self.resample_filter);
    }
}

/// Writes a FIR filter as the official `resample_filter` buffer.
pub fn export_filter(out: &mut WeightMap, name: &str, f: &Fir) {
    let (shape, data) = f.buffer();
    out.insert(name.to_string(), (shape, data));
}

/// How `modulated_conv2d` executes (both give the same result up to rounding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModConv {
    /// Scale activations by the styles, run one shared convolution for the whole batch, scale
    /// by the demodulation coefficients (the official "not fused" path; fastest on CPU).
    #[default]
    ScaleActivations,
    /// Build per-sample weights and run one grouped convolution (the official "fused" path).
    Fused,
}

/// Arguments of [`modulated_conv2d`] other than the tensors.
#[derive(Debug, Clone, Copy)]
pub struct ModConvArgs<'a> {
    /// Upsampling factor.
    pub up: usize,
    /// Downsampling factor.
    pub down: usize,
    /// Padding (with respect to the upsampled image).
    pub padding: isize,
    /// Resampling filter.
    pub resample_filter: &'a Fir,
    /// Demodulate the weights (1e-8 epsilon)?
    pub demodulate: bool,
    /// `true` = correlation (PyTorch `conv2d`), `false` = convolution.
    pub flip_weight: bool,
    /// Execution strategy.
    pub mode: ModConv,
}

/// Style-modulated convolution.
///
/// * `x`: `[N, I, H, W]`, `weight`: `[O, I, kh, kw]` (used as given: no equalized-LR gain, as in
///   the official code), `styles`: `[N, I]`.
/// * `noise`: optional tensor broadcastable to the output (`[N|1, 1|O, H, W]`), added after the
///   demodulation.
pub fn modulated_conv2d<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    styles: Tensor<B, 2>,
    noise: Option<Tensor<B, 4>>,
    args: ModConvArgs,
) -> Tensor<B, 4> {
    let [n, in_channels, h, wd] = x.dims();
    let [out_channels, wi, kh, kw] = weight.dims();
    assert_eq!(
        wi, in_channels,
        "modulated_conv2d: weight/input channel mismatch"
    );
    assert_eq!(
        styles.dims(),
        [n, in_channels],
        "modulated_conv2d: styles shape"
    );
    let p = args.padding;
    let resample = Resample {
        up: args.up,
        down: args.down,
        padding: [p, p, p, p],
        groups: 1,
        flip_weight: args.flip_weight,
    };
    match args.mode {
        ModConv::ScaleActivations => {
            let x = crate::cpu::scale_channels(x, styles.clone());
            let mut x = conv2d_resample(x, weight.clone(), args.resample_filter, resample);
            if args.demodulate {
                // sum_{i,k} (weight[o,i,k] * s[n,i])^2 = (s^2) @ (sum_k weight^2)^T. The sum over
                // the kernel taps is a product with ones: Burn's backward of sum_dim is a
                // single-threaded strided broadcast, the matmul's a GEMM.
                let taps = kh * kw;
                let ones = Tensor::<B, 2>::ones([taps, 1], &weight.device());
                let w2: Tensor<B, 2> = weight
                    .square()
                    .reshape([out_channels * in_channels, taps])
                    .matmul(ones)
                    .reshape([out_channels, in_channels]);
                let d = (w2.matmul(styles.square().transpose()).transpose() + 1e-8)
                    .sqrt()
                    .recip();
                x = crate::cpu::scale_channels(x, d);
            }
            match noise {
                Some(nz) => add_noise(x, nz),
                None => x,
            }
        }
        ModConv::Fused => {
            let w: Tensor<B, 5> =
                weight.unsqueeze_dim::<5>(0) * styles.reshape([n, 1, in_channels, 1, 1]);
            let w = if args.demodulate {
                let d = (w.clone().square().sum_dims(&[2, 3, 4]) + 1e-8)
                    .sqrt()
                    .recip(); // [N, O, 1, 1, 1]
                w * d
            } else {
                w
            };
            let x: Tensor<B, 4> = x.reshape([1, n * in_channels, h, wd]);
            let w: Tensor<B, 4> = w.reshape([n * out_channels, in_channels, kh, kw]);
            let x = conv2d_resample(
                x,
                w,
                args.resample_filter,
                Resample {
                    groups: n,
                    ..resample
                },
            );
            let [_, _, oh, ow] = x.dims();
            let x: Tensor<B, 4> = x.reshape([n, out_channels, oh, ow]);
            match noise {
                Some(nz) => add_noise(x, nz),
                None => x,
            }
        }
    }
}

/// Adds noise broadcastable to `x`, through the fast path when it is shared by the channels.
fn add_noise<B: Backend>(x: Tensor<B, 4>, noise: Tensor<B, 4>) -> Tensor<B, 4> {
    if noise.dims()[1] == 1 {
        add_pixel_noise(x, noise)
    } else {
        x + noise
    }
}

/// Minibatch standard deviation: appends `num_channels` feature maps holding the standard
/// deviation over groups of `group_size` samples (`None` = whole batch), averaged over channel
/// groups and pixels.
pub fn minibatch_std<B: Backend>(
    x: Tensor<B, 4>,
    group_size: Option<usize>,
    num_channels: usize,
) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    let g = group_size.map(|g| g.min(n)).unwrap_or(n);
    let f = num_channels;
    assert!(
        n % g == 0,
        "minibatch_std: batch {n} is not a multiple of the group size {g}"
    );
    assert!(
        c % f == 0,
        "minibatch_std: channels {c} not divisible by {f}"
    );
    let y: Tensor<B, 6> = x.clone().reshape([g, n / g, f, c / f, h, w]);
    let y = y.clone() - y.mean_dim(0);
    let y = y.square().mean_dim(0); // [1, n, F, c, H, W]
    let y = (y + 1e-8).sqrt();
    let y = y.mean_dims(&[3, 4, 5]); // [1, n, F, 1, 1, 1]
                                     // Row i takes the statistic of group i % (n / g). Broadcast rather than `repeat`: Burn 0.21's
                                     // autodiff sums repeat_dim's gradient as if the copies were interleaved, which is wrong along
                                     // dim 0 when n / g > 1.
    let y: Tensor<B, 5> = y.reshape([1, n / g, f, 1, 1]).expand([g, n / g, f, h, w]);
    let y: Tensor<B, 4> = y.reshape([n, f, h, w]);
    Tensor::cat(vec![x, y], 1)
}
