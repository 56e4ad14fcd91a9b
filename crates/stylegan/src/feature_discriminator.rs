//! A discriminator that judges a frozen pretrained network's features instead of pixels, after Projected
//! GAN (Sauer et al., NeurIPS 2021): VGG16 taps at consecutive depths are mixed by fixed random
//! projections, 1x1 across channels (CCM) and then top-down across scales (CSM: each coarser mixture is
//! projected again and upsampled into the next finer one), and each mixture is judged by a small trainable
//! head. The logits of the heads are summed into one logit per image, so the StyleGAN2 losses, R1 and the
//! ADA heuristic apply unchanged.
//!
//! Only the heads train. The projections are random but drawn once at construction and kept as buffers (saved
//! with the heads), so a resume or a reload judges with the same mixtures. VGG16 is never part of this
//! module: callers pass it, with weights from the asset cache, so no optimizer can reach it and a model file
//! never carries it.

use bestiary_nn::bias_act::Activation;
use bestiary_nn::layers::{minibatch_std, Conv2dArgs, Conv2dLayer, FullyConnectedLayer};
use bestiary_nn::state::{join, StateError, StateReader, WeightMap};
use bestiary_perceptual::{Layer, Pad, Pool, Vgg16};
use burn::module::Module;
use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::config::{check_resolution, ConfigError};

/// The class name a model file gives this discriminator.
pub const CLASS_NAME: &str = "FeatureDiscriminator";

/// Added to a feature vector's squared norm: keeps dead positions (all ReLUs zero) finite.
const NORM_EPS: f64 = 1e-8;

/// The smallest feature map a head judges (its last convolution works at 4x4, as the StyleGAN2 epilogue).
const MIN_TAP_SIZE: usize = 4;

/// Constructor arguments, saved as a model file's `init_kwargs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDiscriminatorConfig {
    /// Input resolution (power of two).
    pub img_resolution: usize,
    /// Input channels: 3, or 1 (repeated to RGB for the backbone).
    pub img_channels: usize,
    /// The frozen backbone; only `vgg16`.
    pub backbone: String,
    /// Backbone taps (`relu2_2`, ...), from consecutive VGG16 blocks, finest first.
    pub taps: Vec<String>,
    /// Channels of each tap's random projection.
    pub proj_channels: Vec<usize>,
    /// Widest head convolution.
    pub head_channels_max: usize,
    /// The heads' hidden activation (smooth ones let tests compare R1 with finite differences).
    #[serde(default = "lrelu")]
    pub activation: Activation,
    /// Minibatch-stddev group of the heads' last 4x4 maps, as StyleGAN2's epilogue (0: off). Without
    /// it the generator collapsed to one creature within 5 kimg.
    #[serde(default)]
    pub mbstd_group_size: usize,
}

fn lrelu() -> Activation {
    Activation::Lrelu
}

impl FeatureDiscriminatorConfig {
    /// The default for images of `img_resolution`: the three deepest LPIPS taps (the last conv of a
    /// block) whose maps are at least 4x4, projected to 64, 128 and 256 channels.
    pub fn for_resolution(img_resolution: usize, img_channels: usize) -> Result<Self, ConfigError> {
        check_resolution(img_resolution)?;
        let usable: Vec<Layer> = Layer::lpips()
            .into_iter()
            .filter(|l| img_resolution >> l.pools() >= MIN_TAP_SIZE)
            .collect();
        if usable.len() < 2 {
            return Err(ConfigError::Invalid(format!(
                "a feature discriminator needs images of at least 8x8, not {img_resolution}x{img_resolution}"
            )));
        }
        let taps = &usable[usable.len().saturating_sub(3)..];
        let cfg = FeatureDiscriminatorConfig {
            img_resolution,
            img_channels,
            backbone: "vgg16".into(),
            taps: taps.iter().map(|l| l.name()).collect(),
            proj_channels: (0..taps.len()).map(|i| 64 << i).collect(),
            head_channels_max: 256,
            activation: Activation::Lrelu,
            mbstd_group_size: 4,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// The taps as VGG16 layers, checked.
    pub fn layers(&self) -> Result<Vec<Layer>, ConfigError> {
        self.taps
            .iter()
            .map(|t| {
                t.parse::<Layer>()
                    .map_err(|e| ConfigError::Invalid(e.to_string()))
            })
            .collect()
    }

    /// Checks every field and that the taps come from consecutive blocks (each map half the previous).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        check_resolution(self.img_resolution)?;
        if self.backbone != "vgg16" {
            return bad(format!(
                "unknown feature backbone `{}` (only vgg16)",
                self.backbone
            ));
        }
        if !matches!(self.img_channels, 1 | 3) {
            return bad(format!(
                "a VGG16 feature discriminator reads RGB or grey images, not {} channels",
                self.img_channels
            ));
        }
        let layers = self.layers()?;
        if layers.is_empty() || layers.len() != self.proj_channels.len() {
            return bad("one projection width per tap, and at least one tap".into());
        }
        for pair in layers.windows(2) {
            if pair[1].block() != pair[0].block() + 1 {
                return bad(format!(
                    "taps {} and {} are not from consecutive VGG16 blocks",
                    pair[0], pair[1]
                ));
            }
        }
        for l in &layers {
            if self.img_resolution >> l.pools() < MIN_TAP_SIZE {
                return bad(format!(
                    "tap {l} is {}x{} on {}px images; heads need at least {MIN_TAP_SIZE}x{MIN_TAP_SIZE}",
                    self.img_resolution >> l.pools(),
                    self.img_resolution >> l.pools(),
                    self.img_resolution
                ));
            }
        }
        if self.proj_channels.contains(&0) || self.head_channels_max == 0 {
            return bad("projection and head widths must be positive".into());
        }
        Ok(())
    }

    /// Parses `init_kwargs` JSON.
    pub fn from_value(v: &serde_json::Value) -> Result<Self, ConfigError> {
        let cfg: Self =
            serde_json::from_value(v.clone()).map_err(|e| ConfigError::Json(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// `init_kwargs` JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("config serialises")
    }
}

/// One tap's judge: a 3x3 convolution, stride-2 convolutions down to 4x4, then two dense layers to a logit.
#[derive(Module, Debug)]
pub struct FeatureHead<B: Backend> {
    pub conv0: Conv2dLayer<B>,
    pub downs: Vec<Conv2dLayer<B>>,
    pub fc: FullyConnectedLayer<B>,
    pub out: FullyConnectedLayer<B>,
    /// Minibatch-stddev group before `fc` (0: none).
    pub mbstd_group_size: usize,
    /// Side of the feature map it judges.
    pub size: usize,
    pub in_channels: usize,
}

impl<B: Backend> FeatureHead<B> {
    fn new(
        in_channels: usize,
        size: usize,
        cmax: usize,
        activation: Activation,
        mbstd_group_size: usize,
        device: &B::Device,
    ) -> Self {
        let conv = |cin, cout, down| {
            let args = Conv2dArgs {
                activation,
                down,
                ..Conv2dArgs::new(cin, cout, 3)
            };
            Conv2dLayer::new(args, device)
        };
        let mut c = in_channels.min(cmax);
        let conv0 = conv(in_channels, c, 1);
        let mut downs = Vec::new();
        let mut s = size;
        while s > MIN_TAP_SIZE {
            let next = (2 * c).min(cmax);
            downs.push(conv(c, next, 2));
            c = next;
            s /= 2;
        }
        let stats = usize::from(mbstd_group_size > 0);
        let fc = FullyConnectedLayer::new(
            (c + stats) * MIN_TAP_SIZE * MIN_TAP_SIZE,
            c,
            true,
            activation,
            1.0,
            0.0,
            device,
        );
        let out = FullyConnectedLayer::new(c, 1, true, Activation::Linear, 1.0, 0.0, device);
        FeatureHead {
            conv0,
            downs,
            fc,
            out,
            mbstd_group_size,
            size,
            in_channels,
        }
    }

    /// `x: [N, in_channels, size, size] -> [N, 1]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let [n, c, h, w] = x.dims();
        assert_eq!(
            [c, h, w],
            [self.in_channels, self.size, self.size],
            "a head's input must be [N, C, size, size]"
        );
        let mut x = self.conv0.forward(x, 1.0);
        for d in &self.downs {
            x = d.forward(x, 1.0);
        }
        if self.mbstd_group_size > 0 {
            x = minibatch_std(x, Some(self.mbstd_group_size), 1);
        }
        let [_, c, h, w] = x.dims();
        self.out.forward(self.fc.forward(x.reshape([n, c * h * w])))
    }

    fn load(self, r: &mut StateReader, prefix: &str) -> Result<Self, StateError> {
        let conv0 = self.conv0.load(r, &join(prefix, "conv0"))?;
        let mut downs = Vec::with_capacity(self.downs.len());
        for (i, d) in self.downs.into_iter().enumerate() {
            downs.push(d.load(r, &join(prefix, &format!("down{i}")))?);
        }
        let fc = self.fc.load(r, &join(prefix, "fc"))?;
        let out = self.out.load(r, &join(prefix, "out"))?;
        Ok(FeatureHead {
            conv0,
            downs,
            fc,
            out,
            ..self
        })
    }

    fn export(&self, out: &mut WeightMap, prefix: &str) {
        self.conv0.export(out, &join(prefix, "conv0"));
        for (i, d) in self.downs.iter().enumerate() {
            d.export(out, &join(prefix, &format!("down{i}")));
        }
        self.fc.export(out, &join(prefix, "fc"));
        self.out.export(out, &join(prefix, "out"));
    }
}

/// Fixed random projections and trainable heads, one per tap (see the module docs).
#[derive(Module, Debug)]
pub struct FeatureDiscriminator<B: Backend> {
    /// Cross-channel mixing: a random 1x1 convolution per tap (buffers).
    pub ccm: Vec<Conv2dLayer<B>>,
    /// Cross-scale mixing: a random 1x1 convolution from each coarser mixture to the next finer one's
    /// width (buffers); `csm[i]` feeds tap `i` from tap `i + 1`.
    pub csm: Vec<Conv2dLayer<B>>,
    pub heads: Vec<FeatureHead<B>>,
    pub img_resolution: usize,
    pub img_channels: usize,
    /// Tap indices into VGG16's 13 ReLUs (finest first).
    pub taps: Vec<usize>,
}

impl<B: Backend> FeatureDiscriminator<B> {
    /// Draws the projections and initialises the heads (from `host_rng`, as the StyleGAN2 networks).
    pub fn new(cfg: &FeatureDiscriminatorConfig, device: &B::Device) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let layers = cfg.layers()?;
        let fixed = |cin, cout| {
            let args = Conv2dArgs {
                bias: false,
                trainable: false,
                ..Conv2dArgs::new(cin, cout, 1)
            };
            Conv2dLayer::new(args, device)
        };
        let ccm = layers
            .iter()
            .zip(&cfg.proj_channels)
            .map(|(l, &p)| fixed(l.channels(), p))
            .collect();
        let csm = cfg
            .proj_channels
            .windows(2)
            .map(|w| fixed(w[1], w[0]))
            .collect();
        let heads = layers
            .iter()
            .zip(&cfg.proj_channels)
            .map(|(l, &p)| {
                FeatureHead::new(
                    p,
                    cfg.img_resolution >> l.pools(),
                    cfg.head_channels_max,
                    cfg.activation,
                    cfg.mbstd_group_size,
                    device,
                )
            })
            .collect();
        Ok(FeatureDiscriminator {
            ccm,
            csm,
            heads,
            img_resolution: cfg.img_resolution,
            img_channels: cfg.img_channels,
            taps: layers.iter().map(|l| l.index()).collect(),
        })
    }

    /// The backbone taps, finest first.
    pub fn layers(&self) -> Vec<Layer> {
        Layer::all()
            .into_iter()
            .filter(|l| self.taps.contains(&l.index()))
            .collect()
    }

    /// VGG16's taps of images `[N, C, R, R]` in `[-1, 1]` (grey repeated to RGB), each feature vector
    /// scaled to norm `sqrt(channels)` (unit scale per entry): raw VGG16 activations grow with depth into
    /// the hundreds, which made the heads win at once and the generator collapse.
    pub fn backbone(&self, vgg: &Vgg16<B>, img: Tensor<B, 4>) -> Vec<Tensor<B, 4>> {
        let [_, c, h, w] = img.dims();
        assert_eq!(
            [c, h, w],
            [self.img_channels, self.img_resolution, self.img_resolution],
            "images must be [N, C, R, R]"
        );
        let x = (img + 1.0) / 2.0;
        let x = if c == 1 { x.repeat_dim(1, 3) } else { x };
        vgg.activations(x, &self.layers(), Pad::Zero, Pool::Max)
            .into_iter()
            .map(|f| {
                let c = f.dims()[1] as f64;
                let norm = (f.clone().square().sum_dim(1) + NORM_EPS).sqrt();
                f / norm * c.sqrt()
            })
            .collect()
    }

    /// The mixtures the heads judge: each tap projected across channels, plus the coarser mixture projected
    /// and upsampled 2x (nearest), from the coarsest tap up.
    pub fn project(&self, features: Vec<Tensor<B, 4>>) -> Vec<Tensor<B, 4>> {
        assert_eq!(features.len(), self.ccm.len(), "one feature map per tap");
        let mut mixed: Vec<Tensor<B, 4>> = Vec::with_capacity(features.len());
        for (i, f) in features.into_iter().enumerate().rev() {
            let mut m = self.ccm[i].forward(f, 1.0);
            if let Some(coarser) = mixed.last() {
                m = m + upsample2(self.csm[i].forward(coarser.clone(), 1.0));
            }
            mixed.push(m);
        }
        mixed.reverse();
        mixed
    }

    /// The summed logits `[N, 1]` of the heads on mixtures from [`project`](Self::project).
    pub fn judge(&self, mixed: Vec<Tensor<B, 4>>) -> Tensor<B, 2> {
        assert_eq!(mixed.len(), self.heads.len(), "one mixture per head");
        mixed
            .into_iter()
            .zip(&self.heads)
            .map(|(m, h)| h.forward(m))
            .reduce(|a, b| a + b)
            .expect("at least one head")
    }

    /// Logits `[N, 1]` of images `[N, C, R, R]` in `[-1, 1]`.
    pub fn forward(&self, vgg: &Vgg16<B>, img: Tensor<B, 4>) -> Tensor<B, 2> {
        self.judge(self.project(self.backbone(vgg, img)))
    }

    /// Builds the discriminator for `cfg` and loads `map` (no prefix), strictly.
    pub fn from_weights(
        cfg: &FeatureDiscriminatorConfig,
        map: &WeightMap,
        device: &B::Device,
    ) -> Result<Self, StateError> {
        let d = Self::new(cfg, device).map_err(|e| StateError::Invalid {
            name: "init_kwargs".into(),
            reason: e.to_string(),
        })?;
        let mut r = StateReader::new(map);
        let mut ccm = Vec::new();
        for (i, l) in d.ccm.into_iter().enumerate() {
            ccm.push(l.load(&mut r, &format!("ccm{i}"))?);
        }
        let mut csm = Vec::new();
        for (i, l) in d.csm.into_iter().enumerate() {
            csm.push(l.load(&mut r, &format!("csm{i}"))?);
        }
        let mut heads = Vec::new();
        for (i, h) in d.heads.into_iter().enumerate() {
            heads.push(h.load(&mut r, &format!("head{i}"))?);
        }
        r.finish()?;
        Ok(FeatureDiscriminator {
            ccm,
            csm,
            heads,
            ..d
        })
    }

    /// Every tensor: `ccm{i}.*`, `csm{i}.*`, `head{i}.*`.
    pub fn state_dict(&self) -> WeightMap {
        let mut m = WeightMap::new();
        for (i, l) in self.ccm.iter().enumerate() {
            l.export(&mut m, &format!("ccm{i}"));
        }
        for (i, l) in self.csm.iter().enumerate() {
            l.export(&mut m, &format!("csm{i}"));
        }
        for (i, h) in self.heads.iter().enumerate() {
            h.export(&mut m, &format!("head{i}"));
        }
        m
    }
}

/// Nearest-neighbour 2x upsampling of `[N, C, H, W]`.
fn upsample2<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    x.reshape([n, c, h, 1, w, 1])
        .expand([n, c, h, 2, w, 2])
        .reshape([n, c, 2 * h, 2 * w])
}
