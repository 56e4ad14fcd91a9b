//! From a model file to runnable Burn networks: the generator and discriminator with their configs.

use crate::model_file::{ModelError, ModelFile};
use crate::{Discriminator, DiscriminatorConfig, Generator, GeneratorConfig, WeightMap};
use bestiary_weights::{Network, TensorData};
use burn::tensor::backend::Backend;
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
    if net.class_name == crate::feature_discriminator::CLASS_NAME {
        return Err(ModelError::Invalid(
            "D is a feature discriminator (trained with --d-features vgg16), which judges VGG16 features, not a StyleGAN2 discriminator".into(),
        ));
    }
    let cfg = DiscriminatorConfig::from_value(&net.init_kwargs)
        .map_err(|e| ModelError::Invalid(format!("D: {e}")))?;
    let d = Discriminator::from_weights(&cfg, &weight_map(&net.tensors), device)
        .map_err(|e| ModelError::Invalid(format!("D: {e}")))?;
    Ok((d, cfg))
}
