//! Discriminator: image (and label) -> logit.

use bestiary_nn::layers::export_filter;
use bestiary_nn::{
    downsample2d, join, minibatch_std, Activation, Conv2dArgs, Conv2dLayer, Fir,
    FullyConnectedLayer, StateError, StateReader, WeightMap,
};
use burn::module::Module;
use burn::tensor::{backend::Backend, Tensor};

use crate::config::{make_filter, Architecture, DiscriminatorConfig};
use crate::mapping::MappingNetwork;

/// The official `DiscriminatorBlock`.
#[derive(Module, Debug)]
pub struct DiscriminatorBlock<B: Backend> {
    /// FromRGB (top block, or every block for `skip`).
    pub fromrgb: Option<Conv2dLayer<B>>,
    /// 3x3 conv.
    pub conv0: Conv2dLayer<B>,
    /// 3x3 conv with 2x downsampling.
    pub conv1: Conv2dLayer<B>,
    /// 1x1 downsampling skip conv without bias (`resnet`).
    pub skip: Option<Conv2dLayer<B>>,
    /// Input channels (0 = top block).
    pub in_channels: usize,
    /// Block resolution.
    pub resolution: usize,
    /// Architecture.
    pub architecture: Architecture,
    /// Resampling filter (for the RGB skip path).
    pub resample_filter: Fir,
}

/// Channels and resolution of one discriminator block (the official block's first arguments).
#[derive(Debug, Clone, Copy)]
pub struct BlockShape {
    /// Channels from the block above; 0 for the first block (it starts from the image).
    pub in_channels: usize,
    pub tmp_channels: usize,
    pub out_channels: usize,
    pub resolution: usize,
}

impl<B: Backend> DiscriminatorBlock<B> {
    /// Official construction; `first_layer_idx` counts layers for Freeze-D, `num_layers` is increased by
    /// the layers this block holds.
    pub fn new(
        cfg: &DiscriminatorConfig,
        shape: BlockShape,
        first_layer_idx: usize,
        num_layers: &mut usize,
        device: &B::Device,
    ) -> Self {
        let BlockShape {
            in_channels,
            tmp_channels,
            out_channels,
            resolution,
        } = shape;
        let bk = &cfg.block_kwargs;
        let f = make_filter(&bk.resample_filter);
        let arch = cfg.architecture;
        let clamp = cfg.conv_clamp;
        let mut next_trainable = || {
            let idx = first_layer_idx + *num_layers;
            *num_layers += 1;
            idx >= bk.freeze_layers
        };
        let fromrgb = (in_channels == 0 || arch == Architecture::Skip).then(|| {
            let t = next_trainable();
            Conv2dLayer::new(
                Conv2dArgs {
                    activation: bk.activation,
                    conv_clamp: clamp,
                    trainable: t,
                    ..Conv2dArgs::new(cfg.img_channels, tmp_channels, 1)
                },
                device,
            )
        });
        let t = next_trainable();
        // As in the official code, fromrgb and conv0 keep the default filter (unused: no resampling).
        let conv0 = Conv2dLayer::new(
            Conv2dArgs {
                activation: bk.activation,
                conv_clamp: clamp,
                trainable: t,
                ..Conv2dArgs::new(tmp_channels, tmp_channels, 3)
            },
            device,
        );
        let t = next_trainable();
        let conv1 = Conv2dLayer::new(
            Conv2dArgs {
                activation: bk.activation,
                down: 2,
                resample_filter: f.clone(),
                conv_clamp: clamp,
                trainable: t,
                ..Conv2dArgs::new(tmp_channels, out_channels, 3)
            },
            device,
        );
        let skip = (arch == Architecture::Resnet).then(|| {
            let t = next_trainable();
            Conv2dLayer::new(
                Conv2dArgs {
                    bias: false,
                    down: 2,
                    resample_filter: f.clone(),
                    trainable: t,
                    ..Conv2dArgs::new(tmp_channels, out_channels, 1)
                },
                device,
            )
        });
        DiscriminatorBlock {
            fromrgb,
            conv0,
            conv1,
            skip,
            in_channels,
            resolution,
            architecture: arch,
            resample_filter: f,
        }
    }

    /// `x` from the previous block (None for the top), `img` -> (x, img for the next block).
    pub fn forward(
        &self,
        x: Option<Tensor<B, 4>>,
        img: Option<Tensor<B, 4>>,
    ) -> (Tensor<B, 4>, Option<Tensor<B, 4>>) {
        // networks.py's assert_shape calls, on what the block can know.
        let r = self.resolution;
        if let Some(x) = &x {
            let [_, c, h, w] = x.dims();
            assert_eq!(
                [c, h, w],
                [self.in_channels, r, r],
                "discriminator block {r}: x shape"
            );
        }
        if let Some(img) = &img {
            let [_, _, h, w] = img.dims();
            assert_eq!([h, w], [r, r], "discriminator block {r}: img shape");
        }
        let mut x = x;
        let mut img = img;
        if let Some(fromrgb) = &self.fromrgb {
            let i = img.take().expect("discriminator block needs img");
            let y = fromrgb.forward(i.clone(), 1.0);
            x = Some(match x {
                Some(x) => x + y,
                None => y,
            });
            if self.architecture == Architecture::Skip {
                img = Some(downsample2d(i, &self.resample_filter, 2));
            }
        }
        let x = x.expect("discriminator block needs x");
        let x = if let Some(skip) = &self.skip {
            let half = std::f64::consts::FRAC_1_SQRT_2;
            let y = skip.forward(x.clone(), half);
            let x = self.conv0.forward(x, 1.0);
            let x = self.conv1.forward(x, half);
            y + x
        } else {
            let x = self.conv0.forward(x, 1.0);
            self.conv1.forward(x, 1.0)
        };
        (x, img)
    }

    /// Loads under the official names (`prefix` = `b{res}`).
    pub fn load(self, r: &mut StateReader, prefix: &str) -> Result<Self, StateError> {
        let fromrgb = match self.fromrgb {
            Some(l) => Some(l.load(r, &join(prefix, "fromrgb"))?),
            None => None,
        };
        let conv0 = self.conv0.load(r, &join(prefix, "conv0"))?;
        let conv1 = self.conv1.load(r, &join(prefix, "conv1"))?;
        let skip = match self.skip {
            Some(l) => Some(l.load(r, &join(prefix, "skip"))?),
            None => None,
        };
        let resample_filter = r.filter(&join(prefix, "resample_filter"), self.resample_filter)?;
        Ok(DiscriminatorBlock {
            fromrgb,
            conv0,
            conv1,
            skip,
            resample_filter,
            ..self
        })
    }

    /// Exports under the official names.
    pub fn export(&self, out: &mut WeightMap, prefix: &str) {
        export_filter(out, &join(prefix, "resample_filter"), &self.resample_filter);
        if let Some(l) = &self.fromrgb {
            l.export(out, &join(prefix, "fromrgb"));
        }
        self.conv0.export(out, &join(prefix, "conv0"));
        self.conv1.export(out, &join(prefix, "conv1"));
        if let Some(l) = &self.skip {
            l.export(out, &join(prefix, "skip"));
        }
    }
}

/// The official `DiscriminatorEpilogue` (`b4`).
#[derive(Module, Debug)]
pub struct DiscriminatorEpilogue<B: Backend> {
    /// FromRGB (`skip` architecture).
    pub fromrgb: Option<Conv2dLayer<B>>,
    /// 3x3 conv after the minibatch-stddev layer.
    pub conv: Conv2dLayer<B>,
    /// Fully-connected layer on the flattened 4x4 features.
    pub fc: FullyConnectedLayer<B>,
    /// Output layer (1 logit, or `cmap_dim` features to project onto the mapped label).
    pub out: FullyConnectedLayer<B>,
    /// Minibatch-stddev group size (None = whole batch).
    pub mbstd_group_size: Option<usize>,
    /// Minibatch-stddev channels (0 = off).
    pub mbstd_num_channels: usize,
    /// Mapped label size (0 = unconditional).
    pub cmap_dim: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Resolution (4).
    pub resolution: usize,
}

impl<B: Backend> DiscriminatorEpilogue<B> {
    /// Official construction and initialisation.
    pub fn new(
        cfg: &DiscriminatorConfig,
        in_channels: usize,
        cmap_dim: usize,
        device: &B::Device,
    ) -> Self {
        let e = &cfg.epilogue_kwargs;
        let res = 4;
        let fromrgb = (cfg.architecture == Architecture::Skip).then(|| {
            Conv2dLayer::new(
                Conv2dArgs {
                    activation: e.activation,
                    ..Conv2dArgs::new(cfg.img_channels, in_channels, 1)
                },
                device,
            )
        });
        let conv = Conv2dLayer::new(
            Conv2dArgs {
                activation: e.activation,
                conv_clamp: cfg.conv_clamp,
                ..Conv2dArgs::new(in_channels + e.mbstd_num_channels, in_channels, 3)
            },
            device,
        );
        let fc = FullyConnectedLayer::new(
            in_channels * res * res,
            in_channels,
            true,
            e.activation,
            1.0,
            0.0,
            device,
        );
        let out = FullyConnectedLayer::new(
            in_channels,
            cmap_dim.max(1),
            true,
            Activation::Linear,
            1.0,
            0.0,
            device,
        );
        DiscriminatorEpilogue {
            fromrgb,
            conv,
            fc,
            out,
            mbstd_group_size: e.mbstd_group_size,
            mbstd_num_channels: e.mbstd_num_channels,
            cmap_dim,
            in_channels,
            resolution: res,
        }
    }

    /// `x: [N, C, 4, 4]`, `img` (skip), `cmap: [N, cmap_dim]` -> `[N, 1]`.
    pub fn forward(
        &self,
        x: Tensor<B, 4>,
        img: Option<Tensor<B, 4>>,
        cmap: Option<Tensor<B, 2>>,
    ) -> Tensor<B, 2> {
        let mut x = x;
        if let Some(fromrgb) = &self.fromrgb {
            x = x + fromrgb.forward(img.expect("epilogue needs img (skip)"), 1.0);
        }
        if self.mbstd_num_channels > 0 {
            x = minibatch_std(x, self.mbstd_group_size, self.mbstd_num_channels);
        }
        let x = self.conv.forward(x, 1.0);
        let [n, c, h, w] = x.dims();
        let x = self.fc.forward(x.reshape([n, c * h * w]));
        let x = self.out.forward(x);
        if self.cmap_dim > 0 {
            let cmap = cmap.expect("conditional discriminator needs c");
            (x * cmap).sum_dim(1) * (1.0 / (self.cmap_dim as f64).sqrt())
        } else {
            x
        }
    }

    /// Loads under the official names (`prefix` = `b4`).
    pub fn load(self, r: &mut StateReader, prefix: &str) -> Result<Self, StateError> {
        let fromrgb = match self.fromrgb {
            Some(l) => Some(l.load(r, &join(prefix, "fromrgb"))?),
            None => None,
        };
        let conv = self.conv.load(r, &join(prefix, "conv"))?;
        let fc = self.fc.load(r, &join(prefix, "fc"))?;
        let out = self.out.load(r, &join(prefix, "out"))?;
        Ok(DiscriminatorEpilogue {
            fromrgb,
            conv,
            fc,
            out,
            ..self
        })
    }

    /// Exports under the official names.
    pub fn export(&self, out: &mut WeightMap, prefix: &str) {
        if let Some(l) = &self.fromrgb {
            l.export(out, &join(prefix, "fromrgb"));
        }
        self.conv.export(out, &join(prefix, "conv"));
        self.fc.export(out, &join(prefix, "fc"));
        self.out.export(out, &join(prefix, "out"));
    }
}

/// The official `Discriminator`.
#[derive(Module, Debug)]
pub struct Discriminator<B: Backend> {
    /// Blocks `b{img_resolution} .. b8`.
    pub blocks: Vec<DiscriminatorBlock<B>>,
    /// Label mapping (`mapping`, conditional only).
    pub mapping: Option<MappingNetwork<B>>,
    /// Epilogue (`b4`).
    pub b4: DiscriminatorEpilogue<B>,
    /// Label size.
    pub c_dim: usize,
    /// Input resolution.
    pub img_resolution: usize,
    /// Input channels.
    pub img_channels: usize,
}

impl<B: Backend> Discriminator<B> {
    /// Official construction and (random) initialisation.
    pub fn new(cfg: &DiscriminatorConfig, device: &B::Device) -> Self {
        let cmap_dim = cfg.effective_cmap_dim();
        let mut blocks = Vec::new();
        let mut cur_layer_idx = 0;
        for res in cfg.block_resolutions() {
            let in_channels = if res < cfg.img_resolution {
                cfg.channels(res)
            } else {
                0
            };
            let mut num_layers = 0;
            let shape = BlockShape {
                in_channels,
                tmp_channels: cfg.channels(res),
                out_channels: cfg.channels(res / 2),
                resolution: res,
            };
            let block = DiscriminatorBlock::new(cfg, shape, cur_layer_idx, &mut num_layers, device);
            cur_layer_idx += num_layers;
            blocks.push(block);
        }
        let mapping = (cfg.c_dim > 0).then(|| {
            let mk = crate::config::MappingConfig {
                w_avg_beta: None,
                ..cfg.mapping_kwargs.clone()
            };
            MappingNetwork::new(0, cfg.c_dim, cmap_dim, None, &mk, device)
        });
        let b4 = DiscriminatorEpilogue::new(cfg, cfg.channels(4), cmap_dim, device);
        Discriminator {
            blocks,
            mapping,
            b4,
            c_dim: cfg.c_dim,
            img_resolution: cfg.img_resolution,
            img_channels: cfg.img_channels,
        }
    }

    /// `img: [N, C, H, W]` in [-1, 1], `c: [N, c_dim]` (conditional only) -> logits `[N, 1]`.
    pub fn forward(&self, img: Tensor<B, 4>, c: Option<Tensor<B, 2>>) -> Tensor<B, 2> {
        let [_, ch, h, w] = img.dims();
        assert_eq!(
            (ch, h, w),
            (self.img_channels, self.img_resolution, self.img_resolution),
            "discriminator input shape"
        );
        let mut x = None;
        let mut img = Some(img);
        for b in &self.blocks {
            let (nx, nimg) = b.forward(x, img);
            x = Some(nx);
            img = nimg;
        }
        let cmap = self
            .mapping
            .as_ref()
            .map(|m| m.forward_w(None, Some(c.expect("conditional discriminator needs c"))));
        self.b4.forward(x.expect("at least one block"), img, cmap)
    }

    /// Loads under the official names.
    pub fn load(self, r: &mut StateReader, prefix: &str) -> Result<Self, StateError> {
        let mut blocks = Vec::with_capacity(self.blocks.len());
        for b in self.blocks {
            let name = join(prefix, &format!("b{}", b.resolution));
            blocks.push(b.load(r, &name)?);
        }
        let mapping = match self.mapping {
            Some(m) => Some(m.load(r, &join(prefix, "mapping"))?),
            None => None,
        };
        let b4 = self.b4.load(r, &join(prefix, "b4"))?;
        Ok(Discriminator {
            blocks,
            mapping,
            b4,
            ..self
        })
    }

    /// Exports every tensor under its official name.
    pub fn export(&self, out: &mut WeightMap, prefix: &str) {
        for b in &self.blocks {
            b.export(out, &join(prefix, &format!("b{}", b.resolution)));
        }
        if let Some(m) = &self.mapping {
            m.export(out, &join(prefix, "mapping"));
        }
        self.b4.export(out, &join(prefix, "b4"));
    }
}
