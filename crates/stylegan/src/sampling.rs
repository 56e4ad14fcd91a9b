//! The sampling and scoring steps every tool shares: labels, latents from seeds, images from seeds or
//! from W, and the discriminator's logit of an image.

use crate::model_file::ModelError;
use crate::{
    seed, Discriminator, DiscriminatorConfig, Generator, GeneratorConfig, SynthesisOptions,
};
use burn::tensor::{backend::Backend, Tensor, TensorData as BurnData};

/// One-hot labels `[n, c_dim]` for a conditional network; None for an unconditional one.
/// Errors exactly where the official generate.py does: a conditional network needs a class.
pub fn labels<B: Backend>(
    c_dim: usize,
    class: Option<usize>,
    n: usize,
    device: &B::Device,
) -> Result<Option<Tensor<B, 2>>, ModelError> {
    match (c_dim, class) {
        (0, None) => Ok(None),
        (0, Some(_)) => Ok(None), // the official script warns and ignores it; the CLI warns
        (_, None) => Err(ModelError::Invalid(format!(
            "this network is conditional ({c_dim} classes): give a class label with --class"
        ))),
        (c, Some(k)) if k >= c => Err(ModelError::Invalid(format!(
            "class {k} is out of range: this network has classes 0..{}",
            c - 1
        ))),
        (c, Some(k)) => {
            let mut v = vec![0f32; n * c];
            for i in 0..n {
                v[i * c + k] = 1.0;
            }
            Ok(Some(Tensor::from_data(BurnData::new(v, [n, c]), device)))
        }
    }
}

/// z for each seed, exactly as the official generate.py makes it (numpy RandomState(seed).randn).
pub fn z_for_seeds<B: Backend>(seeds: &[u32], z_dim: usize, device: &B::Device) -> Tensor<B, 2> {
    let v: Vec<f32> = seeds
        .iter()
        .flat_map(|&s| seed::z_from_seed(s, z_dim))
        .collect();
    Tensor::from_data(BurnData::new(v, [seeds.len(), z_dim]), device)
}

/// Sampling settings shared by every seed.
#[derive(Clone, Copy, Debug)]
pub struct Sampling {
    pub psi: f64,
    pub cutoff: Option<usize>,
    pub class: Option<usize>,
    pub synthesis: SynthesisOptions,
}

/// 8-bit NHWC pixels of one image per seed (`[H, W, C]` each), as generate.py would save them.
pub fn generate_seeds<B: Backend>(
    g: &Generator<B>,
    cfg: &GeneratorConfig,
    seeds: &[u32],
    s: &Sampling,
    device: &B::Device,
) -> Result<Vec<Vec<u8>>, ModelError> {
    let c = labels::<B>(cfg.c_dim, s.class, seeds.len(), device)?;
    let z = z_for_seeds::<B>(seeds, cfg.z_dim, device);
    let img = g.forward(z, c, s.psi, s.cutoff, &s.synthesis);
    Ok(split_images(img))
}

/// Splits `[N, C, H, W]` images in [-1, 1] into N NHWC byte buffers.
pub fn split_images<B: Backend>(img: Tensor<B, 4>) -> Vec<Vec<u8>> {
    let [n, c, h, w] = img.dims();
    let bytes = crate::to_uint8_nhwc(img);
    let per = h * w * c;
    (0..n)
        .map(|i| bytes[i * per..(i + 1) * per].to_vec())
        .collect()
}

/// Images from stored W vectors `[N, num_ws, w_dim]` (a projection's output).
pub fn synthesize_ws<B: Backend>(
    g: &Generator<B>,
    ws: Tensor<B, 3>,
    opts: &SynthesisOptions,
) -> Vec<Vec<u8>> {
    split_images(g.synthesis(ws, opts))
}

/// The discriminator's logit for one image given as 8-bit NHWC pixels, mapped to [-1, 1] as the official
/// code does (`x / 127.5 - 1`). Each image is scored alone (minibatch-stddev over a group of one), so a
/// score does not depend on which other images were passed.
pub fn critic_logit<B: Backend>(
    d: &Discriminator<B>,
    cfg: &DiscriminatorConfig,
    hwc: &[u8],
    class: Option<usize>,
    device: &B::Device,
) -> Result<f32, ModelError> {
    let (r, ch) = (cfg.img_resolution, cfg.img_channels);
    if hwc.len() != r * r * ch {
        return Err(ModelError::Invalid(format!(
            "expected {r}x{r}x{ch} pixels, got {} bytes",
            hwc.len()
        )));
    }
    let v: Vec<f32> = hwc.iter().map(|&b| b as f32 / 127.5 - 1.0).collect();
    let x =
        Tensor::<B, 4>::from_data(BurnData::new(v, [1, r, r, ch]), device).permute([0, 3, 1, 2]);
    let c = labels::<B>(cfg.c_dim, class, 1, device)?;
    let out = d
        .forward(x, c)
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .map_err(|e| ModelError::Invalid(format!("{e:?}")))?;
    Ok(out[0])
}
