//! The `--cfg` presets: the official `train.py` configurations (network sizes and training
//! hyperparameters for a resolution and GPU count), plus our CPU-sized `lite`. They sit beside the training
//! options, which start from them ([`crate::TrainOptions::from_preset`]).

use bestiary_stylegan::config::check_resolution;
use bestiary_stylegan::{
    Architecture, ConfigError, DiscriminatorBlockConfig, DiscriminatorConfig, EpilogueConfig,
    GeneratorConfig, MappingConfig, SynthesisConfig,
};

/// A training configuration preset of the official `train.py --cfg`, plus our CPU-sized `lite`.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    /// Preset name.
    pub name: String,
    /// Generator kwargs.
    pub g: GeneratorConfig,
    /// Discriminator kwargs.
    pub d: DiscriminatorConfig,
    /// Total minibatch size (`mb`).
    pub batch_size: usize,
    /// Minibatch-stddev group size (`mbstd`).
    pub mbstd_group_size: usize,
    /// Adam learning rate for G and D (betas 0, 0.99, eps 1e-8).
    pub lrate: f64,
    /// R1 regularization weight.
    pub r1_gamma: f64,
    /// EMA half-life in kimg.
    pub ema_kimg: f64,
    /// EMA ramp-up (`None` = off).
    pub ema_rampup: Option<f64>,
    /// Training length in kimg.
    pub total_kimg: usize,
    /// Path length regularization weight (official loss default 2, 0 for cifar).
    pub pl_weight: f64,
    /// Style mixing probability (official loss default 0.9, 0 for cifar).
    pub style_mixing_prob: f64,
}

/// Names accepted by [`preset`].
pub const PRESETS: [&str; 7] = [
    "auto",
    "stylegan2",
    "paper256",
    "paper512",
    "paper1024",
    "cifar",
    "lite",
];

/// Builds a preset exactly as the official `train.py` does (`gpus` = number of GPUs it would use,
/// 1 for us), for a dataset of `resolution`, `c_dim` labels and `img_channels` channels.
/// `lite` is ours: cbase 4096, cmax 256, z = w = 256, 2 mapping layers, fp32 without clamping.
pub fn preset(
    name: &str,
    resolution: usize,
    c_dim: usize,
    img_channels: usize,
    gpus: usize,
) -> Result<Preset, ConfigError> {
    check_resolution(resolution)?;
    let gpus = gpus.max(1);
    // (ref_gpus, kimg, mb, mbstd, fmaps, lrate, gamma, ema, ramp, map)
    let (ref_gpus, kimg, mb, mbstd, fmaps, lrate, gamma, ema, ramp, map): (
        usize,
        usize,
        usize,
        usize,
        f64,
        f64,
        f64,
        f64,
        Option<f64>,
        usize,
    ) = match name {
        "auto" => {
            let mb = (gpus * (4096 / resolution).min(32)).min(64).max(gpus);
            let mbstd = (mb / gpus).min(4);
            let fmaps = if resolution >= 512 { 1.0 } else { 0.5 };
            let lrate = if resolution >= 1024 { 0.002 } else { 0.0025 };
            let gamma = 0.0002 * (resolution * resolution) as f64 / mb as f64;
            let ema = mb as f64 * 10.0 / 32.0;
            (
                gpus,
                25000,
                mb,
                mbstd,
                fmaps,
                lrate,
                gamma,
                ema,
                Some(0.05),
                2,
            )
        }
        "stylegan2" => (8, 25000, 32, 4, 1.0, 0.002, 10.0, 10.0, None, 8),
        "paper256" => (8, 25000, 64, 8, 0.5, 0.0025, 1.0, 20.0, None, 8),
        "paper512" => (8, 25000, 64, 8, 1.0, 0.0025, 0.5, 20.0, None, 8),
        "paper1024" => (8, 25000, 32, 4, 1.0, 0.002, 2.0, 10.0, None, 8),
        "cifar" => (2, 100000, 64, 32, 1.0, 0.0025, 0.01, 500.0, Some(0.05), 2),
        "lite" => (
            1,
            25000,
            16,
            4,
            0.125,
            0.0025,
            0.0002 * (resolution * resolution) as f64 / 16.0,
            5.0,
            Some(0.05),
            2,
        ),
        other => {
            return Err(ConfigError::Invalid(format!(
                "unknown preset `{other}` (expected one of {PRESETS:?})"
            )))
        }
    };
    let _ = ref_gpus;
    let lite = name == "lite";
    let (zw, cbase, cmax, fp16, clamp) = if lite {
        (256, 4096, 256, 0, None)
    } else {
        (512, (fmaps * 32768.0) as usize, 512, 4, Some(256.0))
    };
    let g = GeneratorConfig {
        z_dim: zw,
        c_dim,
        w_dim: zw,
        img_resolution: resolution,
        img_channels,
        mapping_kwargs: MappingConfig {
            num_layers: map,
            ..MappingConfig::default()
        },
        synthesis_kwargs: SynthesisConfig {
            channel_base: cbase,
            channel_max: cmax,
            num_fp16_res: fp16,
            conv_clamp: clamp,
            ..SynthesisConfig::default()
        },
    };
    let d = DiscriminatorConfig {
        c_dim,
        img_resolution: resolution,
        img_channels,
        architecture: if name == "cifar" {
            Architecture::Orig
        } else {
            Architecture::Resnet
        },
        channel_base: cbase,
        channel_max: cmax,
        num_fp16_res: fp16,
        conv_clamp: clamp,
        cmap_dim: None,
        block_kwargs: DiscriminatorBlockConfig::default(),
        mapping_kwargs: MappingConfig::default(),
        epilogue_kwargs: EpilogueConfig {
            mbstd_group_size: Some(mbstd),
            ..EpilogueConfig::default()
        },
    };
    let cifar = name == "cifar";
    Ok(Preset {
        name: name.to_string(),
        g,
        d,
        batch_size: mb,
        mbstd_group_size: mbstd,
        lrate,
        r1_gamma: gamma,
        ema_kimg: ema,
        ema_rampup: ramp,
        total_kimg: kimg,
        pl_weight: if cifar { 0.0 } else { 2.0 },
        style_mixing_prob: if cifar { 0.0 } else { 0.9 },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_follow_train_py() {
        let p = preset("auto", 256, 0, 3, 1).unwrap();
        assert_eq!(p.batch_size, 16); // max(min(1 * min(4096 // 256, 32), 64), 1)
        assert_eq!(p.mbstd_group_size, 4);
        assert_eq!(p.g.synthesis_kwargs.channel_base, 16384);
        assert_eq!(p.g.mapping_kwargs.num_layers, 2);
        assert_eq!(p.g.synthesis_kwargs.num_fp16_res, 4);
        assert_eq!(p.d.conv_clamp, Some(256.0));
        assert!((p.r1_gamma - 0.0002 * 65536.0 / 16.0).abs() < 1e-12);
        assert!((p.ema_kimg - 5.0).abs() < 1e-12);
        assert_eq!(p.lrate, 0.0025);
        let p = preset("auto", 1024, 0, 3, 8).unwrap();
        assert_eq!((p.batch_size, p.mbstd_group_size, p.lrate), (32, 4, 0.002));
        assert_eq!(p.g.synthesis_kwargs.channel_base, 32768);
        let p = preset("cifar", 32, 10, 3, 1).unwrap();
        assert_eq!(p.d.architecture, Architecture::Orig);
        assert_eq!(p.d.epilogue_kwargs.mbstd_group_size, Some(32));
        assert_eq!((p.pl_weight, p.style_mixing_prob), (0.0, 0.0));
        assert_eq!(p.g.c_dim, 10);
        let p = preset("paper256", 256, 0, 3, 1).unwrap();
        assert_eq!(
            (
                p.batch_size,
                p.mbstd_group_size,
                p.g.mapping_kwargs.num_layers
            ),
            (64, 8, 8)
        );
        assert_eq!(p.g.synthesis_kwargs.channel_base, 16384);
        let p = preset("lite", 32, 0, 3, 1).unwrap();
        assert_eq!(
            (
                p.g.z_dim,
                p.g.w_dim,
                p.g.synthesis_kwargs.channel_base,
                p.g.synthesis_kwargs.channel_max
            ),
            (256, 256, 4096, 256)
        );
        assert_eq!(p.g.mapping_kwargs.num_layers, 2);
        assert_eq!(p.g.synthesis_kwargs.conv_clamp, None);
        assert!(preset("bogus", 32, 0, 3, 1).is_err());
        for name in PRESETS {
            let p = preset(name, 64, 0, 3, 1).unwrap();
            p.g.validate().unwrap();
            p.d.validate().unwrap();
        }
    }
}
