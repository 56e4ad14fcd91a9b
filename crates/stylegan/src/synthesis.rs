//! Synthesis network: ws -> image.

use bestiary_nn::layers::export_filter;
use bestiary_nn::{
    bias_act, buffer, export_tensor, host_rng, join, modulated_conv2d, param, upsample2d,
    Activation, Conv2dArgs, Conv2dLayer, Fir, FullyConnectedLayer, ModConv, ModConvArgs,
    StateError, StateReader, WeightMap,
};
use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Tensor};

use crate::config::{make_filter, Architecture, GeneratorConfig};

/// Where the per-pixel noise of the synthesis layers comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoiseMode {
    /// Fresh N(0, 1) noise per sample from the host generator (the official default;
    /// [`bestiary_nn::host_rng`] keeps it the same on every device).
    #[default]
    Random,
    /// The stored `noise_const` buffers (deterministic; what generate.py uses by default).
    Const,
    /// No noise.
    None,
}

impl std::str::FromStr for NoiseMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "random" => Ok(NoiseMode::Random),
            "const" => Ok(NoiseMode::Const),
            "none" => Ok(NoiseMode::None),
            o => Err(format!(
                "unknown noise mode `{o}` (expected random, const or none)"
            )),
        }
    }
}

/// Options for running the synthesis network.
#[derive(Debug, Clone, Copy, Default)]
pub struct SynthesisOptions {
    /// Noise source.
    pub noise_mode: NoiseMode,
    /// Modulated-convolution execution strategy (same result up to rounding).
    pub modconv: ModConv,
}

/// The official `SynthesisLayer`: affine -> styles, modulated conv (demodulated), noise,
/// bias + activation (+ clamp).
#[derive(Module, Debug)]
pub struct SynthesisLayer<B: Backend> {
    /// `affine`: w -> styles (bias init 1).
    pub affine: FullyConnectedLayer<B>,
    /// `[out, in, k, k]`.
    pub weight: Param<Tensor<B, 4>>,
    /// `[out]`.
    pub bias: Param<Tensor<B, 1>>,
    /// `noise_const` buffer `[res, res]`.
    pub noise_const: Option<Param<Tensor<B, 2>>>,
    /// `noise_strength` (a scalar, stored as `[1]`; exported with shape `[]`).
    pub noise_strength: Option<Param<Tensor<B, 1>>>,
    /// Output resolution.
    pub resolution: usize,
    /// Upsampling factor (1 or 2).
    pub up: usize,
    /// Activation.
    pub activation: Activation,
    /// Output clamp.
    pub conv_clamp: Option<f64>,
    /// Resampling filter.
    pub resample_filter: Fir,
    /// `kernel_size / 2`.
    pub padding: usize,
}

/// Arguments of [`SynthesisLayer::new`] (the official SynthesisLayer's).
#[derive(Debug, Clone)]
pub struct SynthesisLayerArgs {
    pub in_channels: usize,
    pub out_channels: usize,
    pub w_dim: usize,
    /// Output resolution.
    pub resolution: usize,
    pub kernel_size: usize,
    /// Upsampling factor (1 or 2).
    pub up: usize,
    pub use_noise: bool,
    pub activation: Activation,
    pub resample_filter: Fir,
    pub conv_clamp: Option<f64>,
}

impl<B: Backend> SynthesisLayer<B> {
    /// Official construction and initialisation.
    pub fn new(args: SynthesisLayerArgs, device: &B::Device) -> Self {
        let SynthesisLayerArgs {
            in_channels,
            out_channels,
            w_dim,
            resolution,
            kernel_size,
            up,
            use_noise,
            activation,
            resample_filter,
            conv_clamp,
        } = args;
        SynthesisLayer {
            affine: FullyConnectedLayer::new(
                w_dim,
                in_channels,
                true,
                Activation::Linear,
                1.0,
                1.0,
                device,
            ),
            weight: param(host_rng::normal(
                [out_channels, in_channels, kernel_size, kernel_size],
                device,
            )),
            bias: param(Tensor::zeros([out_channels], device)),
            noise_const: use_noise
                .then(|| buffer(host_rng::normal([resolution, resolution], device))),
            noise_strength: use_noise.then(|| param(Tensor::zeros([1], device))),
            resolution,
            up,
            activation,
            conv_clamp,
            resample_filter,
            padding: kernel_size / 2,
        }
    }

    /// `x: [N, in, res/up, res/up]`, `w: [N, w_dim]` -> `[N, out, res, res]`.
    pub fn forward(
        &self,
        x: Tensor<B, 4>,
        w: Tensor<B, 2>,
        opts: &SynthesisOptions,
        gain: f64,
    ) -> Tensor<B, 4> {
        let n = x.dims()[0];
        let device = x.device();
        let styles = self.affine.forward(w);
        let res = self.resolution;
        let noise = match (&self.noise_const, &self.noise_strength, opts.noise_mode) {
            (Some(_), Some(s), NoiseMode::Random) => {
                let s: Tensor<B, 4> = s.val().reshape([1, 1, 1, 1]);
                Some(host_rng::normal::<B, 4>([n, 1, res, res], &device) * s)
            }
            (Some(c), Some(s), NoiseMode::Const) => {
                let c: Tensor<B, 4> = c.val().reshape([1, 1, res, res]);
                Some(c * s.val().reshape([1, 1, 1, 1]))
            }
            _ => None,
        };
        let x = modulated_conv2d(
            x,
            self.weight.val(),
            styles,
            noise,
            ModConvArgs {
                up: self.up,
                down: 1,
                padding: self.padding as isize,
                resample_filter: &self.resample_filter,
                demodulate: true,
                flip_weight: self.up == 1,
                mode: opts.modconv,
            },
        );
        let act_gain = self.activation.def_gain() * gain;
        let clamp = self.conv_clamp.map(|c| c * gain);
        bias_act(
            x,
            Some(self.bias.val()),
            self.activation,
            Some(act_gain),
            clamp,
        )
    }

    /// Loads under the official names.
    pub fn load(self, r: &mut StateReader, prefix: &str) -> Result<Self, StateError> {
        let affine = self.affine.load(r, &join(prefix, "affine"))?;
        let weight = r.param(self.weight, &join(prefix, "weight"), None)?;
        let bias = r.param(self.bias, &join(prefix, "bias"), None)?;
        let noise_const = match self.noise_const {
            Some(p) => Some(r.param(p, &join(prefix, "noise_const"), None)?),
            None => None,
        };
        let noise_strength = match self.noise_strength {
            Some(p) => Some(r.param(p, &join(prefix, "noise_strength"), Some(&[]))?),
            None => None,
        };
        let resample_filter = r.filter(&join(prefix, "resample_filter"), self.resample_filter)?;
        Ok(SynthesisLayer {
            affine,
            weight,
            bias,
            noise_const,
            noise_strength,
            resample_filter,
            ..self
        })
    }

    /// Exports under the official names.
    pub fn export(&self, out: &mut WeightMap, prefix: &str) {
        export_tensor(out, &join(prefix, "weight"), self.weight.val(), None);
        if let Some(p) = &self.noise_strength {
            export_tensor(out, &join(prefix, "noise_strength"), p.val(), Some(&[]));
        }
        export_tensor(out, &join(prefix, "bias"), self.bias.val(), None);
        export_filter(out, &join(prefix, "resample_filter"), &self.resample_filter);
        if let Some(p) = &self.noise_const {
            export_tensor(out, &join(prefix, "noise_const"), p.val(), None);
        }
        self.affine.export(out, &join(prefix, "affine"));
    }
}

/// The official `ToRGBLayer`: modulated 1x1 conv without demodulation (weight gain folded into
/// the styles), bias, optional clamp.
#[derive(Module, Debug)]
pub struct ToRgbLayer<B: Backend> {
    /// `affine`: w -> styles (bias init 1).
    pub affine: FullyConnectedLayer<B>,
    /// `[img_channels, in, 1, 1]`.
    pub weight: Param<Tensor<B, 4>>,
    /// `[img_channels]`.
    pub bias: Param<Tensor<B, 1>>,
    /// Output clamp.
    pub conv_clamp: Option<f64>,
    /// `1 / sqrt(in * k * k)`.
    pub weight_gain: f64,
}

impl<B: Backend> ToRgbLayer<B> {
    /// Official construction and initialisation.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        w_dim: usize,
        conv_clamp: Option<f64>,
        device: &B::Device,
    ) -> Self {
        ToRgbLayer {
            affine: FullyConnectedLayer::new(
                w_dim,
                in_channels,
                true,
                Activation::Linear,
                1.0,
                1.0,
                device,
            ),
            weight: param(host_rng::normal([out_channels, in_channels, 1, 1], device)),
            bias: param(Tensor::zeros([out_channels], device)),
            conv_clamp,
            weight_gain: 1.0 / (in_channels as f64).sqrt(),
        }
    }

    /// `x: [N, in, H, W]`, `w: [N, w_dim]` -> `[N, img_channels, H, W]`.
    pub fn forward(
        &self,
        x: Tensor<B, 4>,
        w: Tensor<B, 2>,
        opts: &SynthesisOptions,
    ) -> Tensor<B, 4> {
        let styles = self.affine.forward(w) * self.weight_gain;
        let f = Fir::identity();
        let x = modulated_conv2d(
            x,
            self.weight.val(),
            styles,
            None,
            ModConvArgs {
                up: 1,
                down: 1,
                padding: 0,
                resample_filter: &f,
                demodulate: false,
                flip_weight: true,
                mode: opts.modconv,
            },
        );
        bias_act(
            x,
            Some(self.bias.val()),
            Activation::Linear,
            None,
            self.conv_clamp,
        )
    }

    /// Loads under the official names.
    pub fn load(self, r: &mut StateReader, prefix: &str) -> Result<Self, StateError> {
        let affine = self.affine.load(r, &join(prefix, "affine"))?;
        let weight = r.param(self.weight, &join(prefix, "weight"), None)?;
        let bias = r.param(self.bias, &join(prefix, "bias"), None)?;
        Ok(ToRgbLayer {
            affine,
            weight,
            bias,
            ..self
        })
    }

    /// Exports under the official names.
    pub fn export(&self, out: &mut WeightMap, prefix: &str) {
        export_tensor(out, &join(prefix, "weight"), self.weight.val(), None);
        export_tensor(out, &join(prefix, "bias"), self.bias.val(), None);
        self.affine.export(out, &join(prefix, "affine"));
    }
}

/// A point inside [`SynthesisBlock::forward_hooked`] where an intermediate result can be seen or replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockPoint {
    /// After the block's i-th synthesis layer (its W index is the block's first plus i).
    Conv(usize),
    /// After the RGB image is updated (skip architecture: every block; otherwise the last).
    Img,
}

/// The official `SynthesisBlock`.
#[derive(Module, Debug)]
pub struct SynthesisBlock<B: Backend> {
    /// Learned constant input `[C, 4, 4]` (first block only).
    pub const_input: Option<Param<Tensor<B, 3>>>,
    /// Upsampling layer (all blocks but the first).
    pub conv0: Option<SynthesisLayer<B>>,
    /// Second layer.
    pub conv1: SynthesisLayer<B>,
    /// ToRGB (every block for `skip`, the last block otherwise).
    pub torgb: Option<ToRgbLayer<B>>,
    /// 1x1 upsampling skip convolution (`resnet`, all blocks but the first).
    pub skip: Option<Conv2dLayer<B>>,
    /// Input channels (0 for the first block).
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Block resolution.
    pub resolution: usize,
    /// Image channels.
    pub img_channels: usize,
    /// Last block?
    pub is_last: bool,
    /// Architecture.
    pub architecture: Architecture,
    /// Resampling filter (for the RGB skip path).
    pub resample_filter: Fir,
    /// Number of synthesis layers (1 or 2).
    pub num_conv: usize,
    /// Number of ToRGB layers (0 or 1).
    pub num_torgb: usize,
}

impl<B: Backend> SynthesisBlock<B> {
    /// Official construction and initialisation.
    pub fn new(
        cfg: &GeneratorConfig,
        in_channels: usize,
        out_channels: usize,
        resolution: usize,
        device: &B::Device,
    ) -> Self {
        let s = &cfg.synthesis_kwargs;
        let f = make_filter(&s.resample_filter);
        let is_last = resolution == cfg.img_resolution;
        let arch = s.architecture;
        // As in the official code, only conv0 gets the block's filter; conv1 keeps the default
        // (it does not resample, the buffer is only exported).
        let layer = |cin, up, f: Fir| {
            let args = SynthesisLayerArgs {
                in_channels: cin,
                out_channels,
                w_dim: cfg.w_dim,
                resolution,
                kernel_size: s.kernel_size,
                up,
                use_noise: s.use_noise,
                activation: s.activation,
                resample_filter: f,
                conv_clamp: s.conv_clamp,
            };
            SynthesisLayer::new(args, device)
        };
        let const_input = (in_channels == 0).then(|| {
            param(host_rng::normal(
                [out_channels, resolution, resolution],
                device,
            ))
        });
        let conv0 = (in_channels != 0).then(|| layer(in_channels, 2, f.clone()));
        let conv1 = layer(out_channels, 1, Fir::default_stylegan());
        let torgb = (is_last || arch == Architecture::Skip).then(|| {
            ToRgbLayer::new(
                out_channels,
                cfg.img_channels,
                cfg.w_dim,
                s.conv_clamp,
                device,
            )
        });
        let skip = (in_channels != 0 && arch == Architecture::Resnet).then(|| {
            Conv2dLayer::new(
                Conv2dArgs {
                    bias: false,
                    up: 2,
                    resample_filter: f.clone(),
                    ..Conv2dArgs::new(in_channels, out_channels, 1)
                },
                device,
            )
        });
        SynthesisBlock {
            num_conv: 1 + conv0.is_some() as usize,
            num_torgb: torgb.is_some() as usize,
            const_input,
            conv0,
            conv1,
            torgb,
            skip,
            in_channels,
            out_channels,
            resolution,
            img_channels: cfg.img_channels,
            is_last,
            architecture: arch,
            resample_filter: f,
        }
    }

    /// `x`, `img` from the previous block (None for the first), `ws: [N, num_conv + num_torgb, w_dim]`.
    pub fn forward(
        &self,
        x: Option<Tensor<B, 4>>,
        img: Option<Tensor<B, 4>>,
        ws: Tensor<B, 3>,
        opts: &SynthesisOptions,
    ) -> (Tensor<B, 4>, Option<Tensor<B, 4>>) {
        self.forward_hooked(x, img, ws, opts, |_, t| t)
    }

    /// [`forward`](Self::forward) with a hook that sees (and may replace) each intermediate result:
    /// `BlockPoint::Conv(i)` after the block's i-th synthesis layer (0 = conv0, or conv1 in the first
    /// block), `BlockPoint::Img` after the RGB image is updated (blocks with a ToRGB layer). The identity
    /// hook gives exactly `forward`.
    pub fn forward_hooked(
        &self,
        x: Option<Tensor<B, 4>>,
        img: Option<Tensor<B, 4>>,
        ws: Tensor<B, 3>,
        opts: &SynthesisOptions,
        mut hook: impl FnMut(BlockPoint, Tensor<B, 4>) -> Tensor<B, 4>,
    ) -> (Tensor<B, 4>, Option<Tensor<B, 4>>) {
        let [n, k, d] = ws.dims();
        // networks.py's assert_shape calls: a wrong shape fails here, not deep inside a convolution.
        assert_eq!(
            k,
            self.num_conv + self.num_torgb,
            "synthesis block {}: ws holds {k} w",
            self.resolution
        );
        let half = self.resolution / 2;
        if let Some(x) = &x {
            assert_eq!(
                x.dims(),
                [n, self.in_channels, half, half],
                "synthesis block {}: x shape",
                self.resolution
            );
        }
        if let Some(img) = &img {
            assert_eq!(
                img.dims(),
                [n, self.img_channels, half, half],
                "synthesis block {}: img shape",
                self.resolution
            );
        }
        let w_at =
            |i: usize| -> Tensor<B, 2> { ws.clone().slice([0..n, i..i + 1, 0..d]).reshape([n, d]) };
        let mut wi = 0;
        let x = match &self.const_input {
            Some(c) => {
                let [ch, h, w] = c.dims();
                c.val().reshape([1, ch, h, w]).repeat_dim(0, n)
            }
            None => x.expect("synthesis block needs x"),
        };
        let x = if self.in_channels == 0 {
            let x = hook(
                BlockPoint::Conv(0),
                self.conv1.forward(x, w_at(wi), opts, 1.0),
            );
            wi += 1;
            x
        } else if self.architecture == Architecture::Resnet {
            let half = std::f64::consts::FRAC_1_SQRT_2;
            let y = self.skip.as_ref().expect("skip").forward(x.clone(), half);
            let x = self
                .conv0
                .as_ref()
                .expect("conv0")
                .forward(x, w_at(wi), opts, 1.0);
            let x = hook(BlockPoint::Conv(0), x);
            let x = hook(
                BlockPoint::Conv(1),
                self.conv1.forward(x, w_at(wi + 1), opts, half),
            );
            wi += 2;
            y + x
        } else {
            let x = self
                .conv0
                .as_ref()
                .expect("conv0")
                .forward(x, w_at(wi), opts, 1.0);
            let x = hook(BlockPoint::Conv(0), x);
            let x = hook(
                BlockPoint::Conv(1),
                self.conv1.forward(x, w_at(wi + 1), opts, 1.0),
            );
            wi += 2;
            x
        };
        let img = img.map(|i| upsample2d(i, &self.resample_filter, 2));
        let img = match &self.torgb {
            Some(t) => {
                debug_assert!(wi < k);
                let y = t.forward(x.clone(), w_at(wi), opts);
                Some(hook(
                    BlockPoint::Img,
                    match img {
                        Some(i) => i + y,
                        None => y,
                    },
                ))
            }
            None => img,
        };
        (x, img)
    }

    /// Loads under the official names (`prefix` = `synthesis.b{res}`).
    pub fn load(self, r: &mut StateReader, prefix: &str) -> Result<Self, StateError> {
        let const_input = match self.const_input {
            Some(p) => Some(r.param(p, &join(prefix, "const"), None)?),
            None => None,
        };
        let conv0 = match self.conv0 {
            Some(l) => Some(l.load(r, &join(prefix, "conv0"))?),
            None => None,
        };
        let conv1 = self.conv1.load(r, &join(prefix, "conv1"))?;
        let torgb = match self.torgb {
            Some(l) => Some(l.load(r, &join(prefix, "torgb"))?),
            None => None,
        };
        let skip = match self.skip {
            Some(l) => Some(l.load(r, &join(prefix, "skip"))?),
            None => None,
        };
        let resample_filter = r.filter(&join(prefix, "resample_filter"), self.resample_filter)?;
        Ok(SynthesisBlock {
            const_input,
            conv0,
            conv1,
            torgb,
            skip,
            resample_filter,
            ..self
        })
    }

    /// Exports under the official names.
    pub fn export(&self, out: &mut WeightMap, prefix: &str) {
        if let Some(p) = &self.const_input {
            export_tensor(out, &join(prefix, "const"), p.val(), None);
        }
        export_filter(out, &join(prefix, "resample_filter"), &self.resample_filter);
        if let Some(l) = &self.conv0 {
            l.export(out, &join(prefix, "conv0"));
        }
        self.conv1.export(out, &join(prefix, "conv1"));
        if let Some(l) = &self.torgb {
            l.export(out, &join(prefix, "torgb"));
        }
        if let Some(l) = &self.skip {
            l.export(out, &join(prefix, "skip"));
        }
    }
}

/// The official `SynthesisNetwork`.
#[derive(Module, Debug)]
pub struct SynthesisNetwork<B: Backend> {
    /// Blocks `b4 .. b{img_resolution}`.
    pub blocks: Vec<SynthesisBlock<B>>,
    /// W size.
    pub w_dim: usize,
    /// Output resolution.
    pub img_resolution: usize,
    /// Output channels.
    pub img_channels: usize,
    /// Number of W vectors consumed.
    pub num_ws: usize,
}

impl<B: Backend> SynthesisNetwork<B> {
    /// Official construction and initialisation.
    pub fn new(cfg: &GeneratorConfig, device: &B::Device) -> Self {
        let mut blocks = Vec::new();
        let mut num_ws = 0;
        for res in cfg.block_resolutions() {
            let in_channels = if res > 4 { cfg.channels(res / 2) } else { 0 };
            let block = SynthesisBlock::new(cfg, in_channels, cfg.channels(res), res, device);
            num_ws += block.num_conv;
            if block.is_last {
                num_ws += block.num_torgb;
            }
            blocks.push(block);
        }
        SynthesisNetwork {
            blocks,
            w_dim: cfg.w_dim,
            img_resolution: cfg.img_resolution,
            img_channels: cfg.img_channels,
            num_ws,
        }
    }

    /// `ws: [N, num_ws, w_dim]` -> image `[N, img_channels, res, res]` (about [-1, 1]).
    pub fn forward(&self, ws: Tensor<B, 3>, opts: &SynthesisOptions) -> Tensor<B, 4> {
        let [n, k, d] = ws.dims();
        assert_eq!(
            (k, d),
            (self.num_ws, self.w_dim),
            "synthesis: ws must be [N, {}, {}]",
            self.num_ws,
            self.w_dim
        );
        let mut x = None;
        let mut img = None;
        let mut w_idx = 0;
        for block in &self.blocks {
            let len = block.num_conv + block.num_torgb;
            let bws = ws.clone().slice([0..n, w_idx..w_idx + len, 0..d]);
            w_idx += block.num_conv;
            let (nx, nimg) = block.forward(x, img, bws, opts);
            x = Some(nx);
            img = nimg;
        }
        img.expect("the last block has a ToRGB layer")
    }

    /// Loads under the official names (`prefix` = `synthesis`).
    pub fn load(self, r: &mut StateReader, prefix: &str) -> Result<Self, StateError> {
        let mut blocks = Vec::with_capacity(self.blocks.len());
        for b in self.blocks {
            let name = join(prefix, &format!("b{}", b.resolution));
            blocks.push(b.load(r, &name)?);
        }
        Ok(SynthesisNetwork { blocks, ..self })
    }

    /// Exports under the official names.
    pub fn export(&self, out: &mut WeightMap, prefix: &str) {
        for b in &self.blocks {
            b.export(out, &join(prefix, &format!("b{}", b.resolution)));
        }
    }
}
