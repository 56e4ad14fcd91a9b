//! From a model file to runnable Burn networks, and the sampling/scoring steps the CLI and later tools share.

use crate::model_file::{ModelError, ModelFile};
use crate::{
    seed, Discriminator, DiscriminatorConfig, Generator, GeneratorConfig, SynthesisOptions,
    WeightMap,
};
use bestiary_weights::{Network, TensorData};
use burn::tensor::{backend::Backend, Tensor, TensorData as BurnData};
use std::collections::BTreeMap;

/// Converts reader tensors to the networks' weight map (name -> shape + f32 data).
pub fn weight_map(tensors: &BTreeMap<String, TensorData>) -> WeightMap {
    tensors
        .iter()
        .map(|(n, t)| (n.clone(), (t.shape.clone(), t.data.clone())))
        .collect()
}

fn check_class(net: &Network, key: &str, expected: &str) -> Result<(), ModelError> {
    // Official class names; older or forked pickles may use other names for the same structure, so only
    // a clearly different network (a discriminator where a generator belongs) is refused.
    let bad = match expected {
        "Generator" => net.class_name.contains("Discriminator"),
        _ => net.class_name.contains("Generator"),
    };
    if bad {
        return Err(ModelError::Invalid(format!(
            "{key} is a {}, expected a {expected}",
            net.class_name
        )));
    }
    Ok(())
}

/// The sampling generator (G_ema, else G) with its config.
pub fn load_generator<B: Backend>(
    model: &ModelFile,
    device: &B::Device,
) -> Result<(Generator<B>, GeneratorConfig), ModelError> {
    let key = if model.networks.contains_key("G_ema") {
        "G_ema"
    } else {
        "G"
    };
    load_generator_named(model, key, device)
}

/// The generator stored under `key` (`G` or `G_ema`) with its config.
pub fn load_generator_named<B: Backend>(
    model: &ModelFile,
    key: &str,
    device: &B::Device,
) -> Result<(Generator<B>, GeneratorConfig), ModelError> {
    let net = model.network(key)?;
    check_class(net, key, "Generator")?;
    let cfg = GeneratorConfig::from_value(&net.init_kwargs)
        .map_err(|e| ModelError::Invalid(format!("{key}: {e}")))?;
    let g = Generator::from_weights(&cfg, &weight_map(&net.tensors), device)
        .map_err(|e| ModelError::Invalid(format!("{key}: {e}")))?;
    Ok((g, cfg))
}

/// The discriminator with its config.
pub fn load_discriminator<B: Backend>(
    model: &ModelFile,
    device: &B::Device,
) -> Result<(Discriminator<B>, DiscriminatorConfig), ModelError> {
    let net = model.network("D")?;
    check_class(net, "D", "Discriminator")?;
    let cfg = DiscriminatorConfig::from_value(&net.init_kwargs)
        .map_err(|e| ModelError::Invalid(format!("D: {e}")))?;
    let d = Discriminator::from_weights(&cfg, &weight_map(&net.tensors), device)
        .map_err(|e| ModelError::Invalid(format!("D: {e}")))?;
    Ok((d, cfg))
}

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
