//! Network configurations mirroring the official constructor keyword arguments
//! (`Generator(**G_kwargs)`, `Discriminator(**D_kwargs)`), with the official defaults.
//!
//! They (de)serialize to/from the JSON of the official `_init_kwargs`: unknown keys are ignored,
//! missing keys take the official defaults, `null` means `None`.

use bestiary_nn::{Activation, Fir};
use serde::{Deserialize, Serialize};

/// Block architecture (`'orig'`, `'skip'`, `'resnet'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// Plain: ToRGB / FromRGB only at the last / first block.
    Orig,
    /// Skip connections through RGB images at every resolution.
    Skip,
    /// Residual blocks with 1x1 skip convolutions.
    Resnet,
}

fn d_num_layers() -> usize {
    8
}
fn d_lrelu() -> Activation {
    Activation::Lrelu
}
fn d_lr_mul() -> f64 {
    0.01
}
fn d_w_avg_beta() -> Option<f64> {
    Some(0.995)
}
fn d_channel_base() -> usize {
    32768
}
fn d_channel_max() -> usize {
    512
}
fn d_skip() -> Architecture {
    Architecture::Skip
}
fn d_resnet() -> Architecture {
    Architecture::Resnet
}
fn d_filter() -> Vec<f64> {
    vec![1.0, 3.0, 3.0, 1.0]
}
fn d_true() -> bool {
    true
}
fn d_kernel() -> usize {
    3
}
fn d_mbstd_group() -> Option<usize> {
    Some(4)
}
fn d_one() -> usize {
    1
}
fn is_three(k: &usize) -> bool {
    *k == 3
}
fn is_false(b: &bool) -> bool {
    !*b
}
fn is_zero(v: &usize) -> bool {
    *v == 0
}

/// `MappingNetwork` kwargs (`mapping_kwargs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MappingConfig {
    /// Number of mapping layers (default 8).
    #[serde(default = "d_num_layers")]
    pub num_layers: usize,
    /// Label embedding size (`None` = `w_dim`).
    #[serde(default)]
    pub embed_features: Option<usize>,
    /// Hidden layer size (`None` = `w_dim`).
    #[serde(default)]
    pub layer_features: Option<usize>,
    /// Activation (default lrelu).
    #[serde(default = "d_lrelu")]
    pub activation: Activation,
    /// Learning-rate multiplier (default 0.01).
    #[serde(default = "d_lr_mul")]
    pub lr_multiplier: f64,
    /// Decay of the W moving average (default 0.995, `None` = no tracking).
    #[serde(default = "d_w_avg_beta")]
    pub w_avg_beta: Option<f64>,
}

impl Default for MappingConfig {
    fn default() -> Self {
        MappingConfig {
            num_layers: 8,
            embed_features: None,
            layer_features: None,
            activation: Activation::Lrelu,
            lr_multiplier: 0.01,
            w_avg_beta: Some(0.995),
        }
    }
}

/// `SynthesisNetwork` kwargs (`synthesis_kwargs`, including the block and layer kwargs that
/// the official code forwards).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthesisConfig {
    /// Overall multiplier for the number of channels (default 32768).
    #[serde(default = "d_channel_base")]
    pub channel_base: usize,
    /// Maximum number of channels (default 512).
    #[serde(default = "d_channel_max")]
    pub channel_max: usize,
    /// Number of highest resolutions that the official code runs in fp16 (we run fp32; kept for
    /// compatibility).
    #[serde(default)]
    pub num_fp16_res: usize,
    /// Clamp of conv outputs (`None` = off). Applied to every SynthesisLayer and ToRGB layer
    /// whatever the precision, as in the official code.
    #[serde(default)]
    pub conv_clamp: Option<f64>,
    /// Block architecture (default skip).
    #[serde(default = "d_skip")]
    pub architecture: Architecture,
    /// Resampling filter taps (default [1, 3, 3, 1]).
    #[serde(default = "d_filter")]
    pub resample_filter: Vec<f64>,
    /// Enable noise inputs (default true).
    #[serde(default = "d_true")]
    pub use_noise: bool,
    /// Activation (default lrelu).
    #[serde(default = "d_lrelu")]
    pub activation: Activation,
    /// Conv kernel size of the synthesis layers (default 3).
    #[serde(default = "d_kernel", skip_serializing_if = "is_three")]
    pub kernel_size: usize,
    /// Memory-format flag of the official code (no effect here).
    #[serde(default, skip_serializing_if = "is_false")]
    pub fp16_channels_last: bool,
}

impl Default for SynthesisConfig {
    fn default() -> Self {
        SynthesisConfig {
            channel_base: 32768,
            channel_max: 512,
            num_fp16_res: 0,
            conv_clamp: None,
            architecture: Architecture::Skip,
            resample_filter: d_filter(),
            use_noise: true,
            activation: Activation::Lrelu,
            kernel_size: 3,
            fp16_channels_last: false,
        }
    }
}

/// `Generator` kwargs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorConfig {
    /// Latent Z size.
    pub z_dim: usize,
    /// Label size (0 = unconditional).
    #[serde(default)]
    pub c_dim: usize,
    /// Intermediate latent W size.
    pub w_dim: usize,
    /// Output resolution (power of two, >= 4).
    pub img_resolution: usize,
    /// Output channels.
    pub img_channels: usize,
    /// Mapping network kwargs.
    #[serde(default)]
    pub mapping_kwargs: MappingConfig,
    /// Synthesis network kwargs.
    #[serde(default)]
    pub synthesis_kwargs: SynthesisConfig,
}

/// `DiscriminatorBlock` kwargs (`block_kwargs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscriminatorBlockConfig {
    /// Activation (default lrelu).
    #[serde(default = "d_lrelu")]
    pub activation: Activation,
    /// Resampling filter taps (default [1, 3, 3, 1]).
    #[serde(default = "d_filter")]
    pub resample_filter: Vec<f64>,
    /// Freeze-D: the number of leading layers whose weights are buffers (not trained).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub freeze_layers: usize,
    /// Memory-format flag of the official code (no effect here).
    #[serde(default, skip_serializing_if = "is_false")]
    pub fp16_channels_last: bool,
}

impl Default for DiscriminatorBlockConfig {
    fn default() -> Self {
        DiscriminatorBlockConfig {
            activation: Activation::Lrelu,
            resample_filter: d_filter(),
            freeze_layers: 0,
            fp16_channels_last: false,
        }
    }
}

/// `DiscriminatorEpilogue` kwargs (`epilogue_kwargs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpilogueConfig {
    /// Minibatch-stddev group size (default 4; `None` = whole minibatch).
    #[serde(default = "d_mbstd_group")]
    pub mbstd_group_size: Option<usize>,
    /// Minibatch-stddev feature maps (default 1; 0 = off).
    #[serde(default = "d_one")]
    pub mbstd_num_channels: usize,
    /// Activation (default lrelu).
    #[serde(default = "d_lrelu")]
    pub activation: Activation,
}

impl Default for EpilogueConfig {
    fn default() -> Self {
        EpilogueConfig {
            mbstd_group_size: Some(4),
            mbstd_num_channels: 1,
            activation: Activation::Lrelu,
        }
    }
}

/// `Discriminator` kwargs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscriminatorConfig {
    /// Label size (0 = unconditional).
    #[serde(default)]
    pub c_dim: usize,
    /// Input resolution.
    pub img_resolution: usize,
    /// Input channels.
    pub img_channels: usize,
    /// Architecture (default resnet).
    #[serde(default = "d_resnet")]
    pub architecture: Architecture,
    /// Overall multiplier for the number of channels (default 32768).
    #[serde(default = "d_channel_base")]
    pub channel_base: usize,
    /// Maximum number of channels (default 512).
    #[serde(default = "d_channel_max")]
    pub channel_max: usize,
    /// fp16 resolutions of the official code (we run fp32; kept for compatibility).
    #[serde(default)]
    pub num_fp16_res: usize,
    /// Clamp of conv outputs (`None` = off): fromrgb, conv0, conv1 of every block and the
    /// epilogue conv, as in the official code.
    #[serde(default)]
    pub conv_clamp: Option<f64>,
    /// Size of the mapped label (`None` = channels at 4x4).
    #[serde(default)]
    pub cmap_dim: Option<usize>,
    /// Block kwargs.
    #[serde(default)]
    pub block_kwargs: DiscriminatorBlockConfig,
    /// Label mapping kwargs (`w_avg_beta` is ignored: the official D passes `None`).
    #[serde(default)]
    pub mapping_kwargs: MappingConfig,
    /// Epilogue kwargs.
    #[serde(default)]
    pub epilogue_kwargs: EpilogueConfig,
}

/// Configuration errors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// Invalid value.
    #[error("invalid config: {0}")]
    Invalid(String),
    /// JSON error.
    #[error("config JSON: {0}")]
    Json(String),
}

pub fn check_resolution(res: usize) -> Result<(), ConfigError> {
    if res < 4 || !res.is_power_of_two() {
        return Err(ConfigError::Invalid(format!(
            "img_resolution {res} must be a power of two >= 4"
        )));
    }
    Ok(())
}

fn check_filter(f: &[f64]) -> Result<(), ConfigError> {
    if f.is_empty() || f.iter().sum::<f64>() == 0.0 {
        return Err(ConfigError::Invalid(
            "resample_filter must be non-empty with a non-zero sum".into(),
        ));
    }
    Ok(())
}

/// Every block needs at least one channel: `min(channel_base / res, channel_max) >= 1` down to the
/// finest block (res = img_resolution), so `channel_base >= img_resolution` and `channel_max >= 1`.
fn check_channels(base: usize, max: usize, res: usize) -> Result<(), ConfigError> {
    if max == 0 {
        return Err(ConfigError::Invalid(
            "channel_max 0 leaves layers without channels: it must be at least 1".into(),
        ));
    }
    if base < res {
        return Err(ConfigError::Invalid(format!(
            "channel_base {base} leaves the {res}x{res} layers without channels (each block has \
             min(channel_base / resolution, channel_max) channels): it must be at least {res}, the image resolution"
        )));
    }
    Ok(())
}

/// The prepared filter for 1D taps.
pub fn make_filter(f: &[f64]) -> Fir {
    let f32s: Vec<f32> = f.iter().map(|v| *v as f32).collect();
    Fir::from_1d(&f32s)
}

impl GeneratorConfig {
    /// Parses official `_init_kwargs` JSON (unknown keys ignored).
    pub fn from_json(s: &str) -> Result<Self, ConfigError> {
        Self::from_value(&serde_json::from_str(s).map_err(|e| ConfigError::Json(e.to_string()))?)
    }

    /// Parses a JSON value.
    pub fn from_value(v: &serde_json::Value) -> Result<Self, ConfigError> {
        let c: Self = Self::deserialize(v).map_err(|e| ConfigError::Json(e.to_string()))?;
        c.validate()?;
        Ok(c)
    }

    /// Serializes as official-style kwargs JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("config serializes")
    }

    /// Checks the values the networks rely on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_resolution(self.img_resolution)?;
        check_filter(&self.synthesis_kwargs.resample_filter)?;
        let s = &self.synthesis_kwargs;
        check_channels(s.channel_base, s.channel_max, self.img_resolution)?;
        if s.kernel_size.is_multiple_of(2) {
            return Err(ConfigError::Invalid(format!(
                "kernel_size {} must be odd (1, 3, 5, ...) to keep the image size",
                s.kernel_size
            )));
        }
        if self.w_dim == 0 || self.img_channels == 0 {
            return Err(ConfigError::Invalid(
                "w_dim and img_channels must be positive".into(),
            ));
        }
        if self.z_dim == 0 && self.c_dim == 0 {
            return Err(ConfigError::Invalid(
                "z_dim and c_dim cannot both be 0".into(),
            ));
        }
        if self.mapping_kwargs.num_layers == 0 {
            return Err(ConfigError::Invalid(
                "mapping num_layers must be >= 1".into(),
            ));
        }
        Ok(())
    }

    /// Resolutions of the synthesis blocks: 4, 8, ..., img_resolution.
    pub fn block_resolutions(&self) -> Vec<usize> {
        let log2 = self.img_resolution.trailing_zeros();
        (2..=log2).map(|i| 1usize << i).collect()
    }

    /// `min(channel_base // res, channel_max)`.
    pub fn channels(&self, res: usize) -> usize {
        (self.synthesis_kwargs.channel_base / res).min(self.synthesis_kwargs.channel_max)
    }

    /// Number of W vectors the synthesis network consumes (official bookkeeping).
    pub fn num_ws(&self) -> usize {
        // Every block has conv1, every block but the first has conv0; only the last block's
        // ToRGB gets a W of its own (the others share the next block's first W).
        self.block_resolutions()
            .iter()
            .map(|&r| if r == 4 { 1 } else { 2 })
            .sum::<usize>()
            + 1
    }

    /// Resolutions that the official code would run in fp16 (informational; we run fp32).
    pub fn fp16_resolution(&self) -> usize {
        let log2 = self.img_resolution.trailing_zeros() as i64;
        let e = log2 + 1 - self.synthesis_kwargs.num_fp16_res as i64;
        (1usize << e.clamp(0, 62)).max(8)
    }
}

impl DiscriminatorConfig {
    /// Parses official `_init_kwargs` JSON (unknown keys ignored).
    pub fn from_json(s: &str) -> Result<Self, ConfigError> {
        Self::from_value(&serde_json::from_str(s).map_err(|e| ConfigError::Json(e.to_string()))?)
    }

    /// Parses a JSON value.
    pub fn from_value(v: &serde_json::Value) -> Result<Self, ConfigError> {
        let c: Self = Self::deserialize(v).map_err(|e| ConfigError::Json(e.to_string()))?;
        c.validate()?;
        Ok(c)
    }

    /// Serializes as official-style kwargs JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("config serializes")
    }

    /// Checks the values the networks rely on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_resolution(self.img_resolution)?;
        check_filter(&self.block_kwargs.resample_filter)?;
        check_channels(self.channel_base, self.channel_max, self.img_resolution)?;
        if self.img_channels == 0 {
            return Err(ConfigError::Invalid("img_channels must be positive".into()));
        }
        let c4 = self.channels(4);
        let f = self.epilogue_kwargs.mbstd_num_channels;
        if f > 0 && !c4.is_multiple_of(f) {
            return Err(ConfigError::Invalid(format!(
                "mbstd_num_channels {f} must divide the 4x4 channels {c4}"
            )));
        }
        Ok(())
    }

    /// Resolutions of the blocks, from the top: img_resolution, ..., 8.
    pub fn block_resolutions(&self) -> Vec<usize> {
        let log2 = self.img_resolution.trailing_zeros();
        (3..=log2).rev().map(|i| 1usize << i).collect()
    }

    /// `min(channel_base // res, channel_max)`.
    pub fn channels(&self, res: usize) -> usize {
        (self.channel_base / res).min(self.channel_max)
    }

    /// The effective size of the mapped label (0 when unconditional).
    pub fn effective_cmap_dim(&self) -> usize {
        if self.c_dim == 0 {
            0
        } else {
            self.cmap_dim.unwrap_or_else(|| self.channels(4))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_kwargs_parse_with_defaults_and_unknown_keys() {
        let g = GeneratorConfig::from_json(
            r#"{"z_dim": 512, "w_dim": 512, "c_dim": 0, "img_resolution": 256, "img_channels": 3,
                "mapping_kwargs": {"num_layers": 2, "w_avg_beta": null, "extra": 1},
                "synthesis_kwargs": {"channel_base": 16384, "channel_max": 512, "num_fp16_res": 4, "conv_clamp": 256},
                "class_name": "training.networks.Generator"}"#,
        )
        .unwrap();
        assert_eq!(g.mapping_kwargs.num_layers, 2);
        assert_eq!(g.mapping_kwargs.w_avg_beta, None);
        assert_eq!(g.mapping_kwargs.lr_multiplier, 0.01);
        assert_eq!(g.mapping_kwargs.activation, Activation::Lrelu);
        assert_eq!(g.synthesis_kwargs.conv_clamp, Some(256.0));
        assert_eq!(g.synthesis_kwargs.architecture, Architecture::Skip);
        assert_eq!(g.synthesis_kwargs.resample_filter, vec![1.0, 3.0, 3.0, 1.0]);
        assert!(g.synthesis_kwargs.use_noise);
        // 256: blocks 4..256 = 7 blocks -> 1 + 6*2 convs + 1 torgb.
        assert_eq!(g.num_ws(), 14);
        assert_eq!(g.channels(256), 64);
        assert_eq!(g.channels(4), 512);
        assert_eq!(g.fp16_resolution(), 32);
        // Missing mapping kwargs: official defaults.
        let g2 = GeneratorConfig::from_json(
            r#"{"z_dim": 8, "w_dim": 8, "img_resolution": 8, "img_channels": 1}"#,
        )
        .unwrap();
        assert_eq!(g2.mapping_kwargs, MappingConfig::default());
        assert_eq!(g2.mapping_kwargs.w_avg_beta, Some(0.995));
        assert_eq!(g2.num_ws(), 4);
        // Round trip.
        assert_eq!(GeneratorConfig::from_json(&g.to_json()).unwrap(), g);

        let d = DiscriminatorConfig::from_json(
            r#"{"c_dim": 10, "img_resolution": 64, "img_channels": 3, "architecture": "orig",
                "block_kwargs": {"freeze_layers": 3}, "epilogue_kwargs": {"mbstd_group_size": null}, "foo": []}"#,
        )
        .unwrap();
        assert_eq!(d.architecture, Architecture::Orig);
        assert_eq!(d.epilogue_kwargs.mbstd_group_size, None);
        assert_eq!(d.epilogue_kwargs.mbstd_num_channels, 1);
        assert_eq!(d.block_kwargs.freeze_layers, 3);
        assert_eq!(d.block_resolutions(), vec![64, 32, 16, 8]);
        assert_eq!(d.effective_cmap_dim(), 512);
        assert_eq!(DiscriminatorConfig::from_json(&d.to_json()).unwrap(), d);
    }

    #[test]
    fn invalid_configs_are_rejected() {
        assert!(GeneratorConfig::from_json(
            r#"{"z_dim": 8, "w_dim": 8, "img_resolution": 24, "img_channels": 3}"#
        )
        .is_err());
        assert!(
            GeneratorConfig::from_json(r#"{"z_dim": 8, "w_dim": 8, "img_resolution": 32}"#)
                .is_err()
        );
        let e = GeneratorConfig::from_json(
            r#"{"z_dim": 8, "w_dim": 8, "img_resolution": 32, "img_channels": 3, "synthesis_kwargs": {"activation": "gelu"}}"#,
        )
        .unwrap_err();
        assert!(matches!(e, ConfigError::Json(_)), "{e}");
    }

    #[test]
    fn networks_without_channels_are_rejected_naming_the_value() {
        // `train --cbase 7` on 32x32 images: 7 / 8 = 0 channels from the 8x8 blocks on.
        let mut g = GeneratorConfig::from_json(
            r#"{"z_dim": 16, "w_dim": 16, "img_resolution": 32, "img_channels": 3}"#,
        )
        .unwrap();
        g.synthesis_kwargs.channel_base = 7;
        let e = g.validate().unwrap_err().to_string();
        assert!(
            e.contains("channel_base 7") && e.contains("at least 32"),
            "{e}"
        );
        g.synthesis_kwargs.channel_base = 32; // the smallest that works: 1 channel at 32x32
        g.validate().unwrap();
        g.synthesis_kwargs.channel_max = 0;
        let e = g.validate().unwrap_err().to_string();
        assert!(
            e.contains("channel_max 0") && e.contains("at least 1"),
            "{e}"
        );
        g.synthesis_kwargs.channel_max = 3;
        g.synthesis_kwargs.kernel_size = 2;
        assert!(g
            .validate()
            .unwrap_err()
            .to_string()
            .contains("kernel_size 2"));

        let mut d =
            DiscriminatorConfig::from_json(r#"{"img_resolution": 32, "img_channels": 3}"#).unwrap();
        d.channel_base = 7;
        d.channel_max = 3;
        let e = d.validate().unwrap_err().to_string();
        assert!(
            e.contains("channel_base 7") && e.contains("at least 32"),
            "{e}"
        );
        // Loading an official file with such kwargs fails the same way, before any tensor is made.
        let e = DiscriminatorConfig::from_json(
            r#"{"img_resolution": 16, "img_channels": 3, "channel_base": 8}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("channel_base 8"), "{e}");
    }
}
