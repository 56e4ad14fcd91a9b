//! Fine-tuning from a pretrained model file (train.py's `--resume` of a .pkl): which generator trains,
//! which network configs the run takes, and D rebuilt with the run's config so that Freeze-D applies.

use crate::autodiff::Ad;
use crate::critic::Critic;
use crate::step::Trainer;
use bestiary_stylegan::loading::load_generator_named;
use bestiary_stylegan::{
    feature_discriminator, load_discriminator, weight_map, Discriminator, DiscriminatorConfig,
    GeneratorConfig, ModelError, ModelFile,
};
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;

/// A pretrained model file read for fine-tuning.
pub struct Pretrained {
    pub model: ModelFile,
    /// The generator that trains: `G` when the file has one (train.py's choice), else `G_ema`.
    pub g_key: &'static str,
    pub g_cfg: GeneratorConfig,
    /// None when the file holds no discriminator: D then starts from scratch.
    pub d_cfg: Option<DiscriminatorConfig>,
}

impl Pretrained {
    /// Reads the networks' configs and checks that the generator makes the dataset's images
    /// (`resolution` square, `channels`, `c_dim` labels).
    pub fn read<B: Backend>(
        model: ModelFile,
        resolution: usize,
        channels: usize,
        c_dim: usize,
        device: &B::Device,
    ) -> Result<Self, ModelError> {
        let g_key = if model.networks.contains_key("G") {
            "G"
        } else {
            "G_ema"
        };
        let (_, g_cfg) = load_generator_named::<B>(&model, g_key, device)?;
        if g_cfg.img_resolution != resolution
            || g_cfg.img_channels != channels
            || g_cfg.c_dim != c_dim
        {
            return Err(ModelError::Invalid(format!(
                "the generator makes {r}x{r} images with {} channels and {} labels, the dataset has {resolution}x{resolution}, {channels} channels and {c_dim} labels",
                g_cfg.img_channels,
                g_cfg.c_dim,
                r = g_cfg.img_resolution,
            )));
        }
        // A feature discriminator's heads cannot seed StyleGAN2's: D then starts from scratch.
        let stylegan2_d = model
            .networks
            .get("D")
            .is_some_and(|n| n.class_name != feature_discriminator::CLASS_NAME);
        let d_cfg = if stylegan2_d {
            Some(load_discriminator::<B>(&model, device)?.1)
        } else {
            None
        };
        Ok(Pretrained {
            model,
            g_key,
            g_cfg,
            d_cfg,
        })
    }

    /// Puts the pretrained weights into a trainer built with this file's configs: G, G_ema (a copy of G
    /// when the file has none) and D, rebuilt with the trainer's `d_cfg` so that its frozen layers count.
    pub fn load_into<B: Backend>(
        &self,
        t: &mut Trainer<B>,
        device: &B::Device,
    ) -> Result<(), ModelError> {
        let (g, _) = load_generator_named::<Ad<B>>(&self.model, self.g_key, device)?;
        t.g = g;
        t.g_ema = match load_generator_named::<B>(&self.model, "G_ema", device) {
            Ok((g, _)) => g,
            Err(_) => t.g.valid(),
        };
        if self.d_cfg.is_some() && t.d.stylegan2().is_some() {
            let net = self.model.network("D")?;
            t.d = Critic::StyleGan2(
                Discriminator::<Ad<B>>::from_weights(&t.d_cfg, &weight_map(&net.tensors), device)
                    .map_err(|e| ModelError::Invalid(format!("D: {e}")))?,
            );
        }
        Ok(())
    }
}

/// Fits the minibatch-stddev group to the batch: the official layer needs a group that divides it, so the
/// preset's group becomes the largest divisor of `batch` not above it.
pub fn fit_mbstd_group(d_cfg: &mut DiscriminatorConfig, batch: usize) {
    if let Some(group) = d_cfg.epilogue_kwargs.mbstd_group_size {
        d_cfg.epilogue_kwargs.mbstd_group_size =
            Some(crate::critic::largest_divisor_at_most(batch, group));
    }
}
