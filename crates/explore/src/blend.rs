//! Network blending: the low-resolution synthesis blocks of one model with the rest of another.

use crate::{invalid, Result};
use bestiary_stylegan::ModelFile;

/// The synthesis block resolution a generator tensor belongs to (`synthesis.b16.conv0.weight` -> 16).
pub fn block_resolution(name: &str) -> Option<usize> {
    let rest = name.strip_prefix("synthesis.b")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if rest[digits.len()..].starts_with('.') {
        digits.parse().ok()
    } else {
        None
    }
}

/// `b` with every generator tensor of the synthesis blocks below `split_res` taken from `a` (the mapping
/// network, the higher blocks and anything else from `b`). Both generators (`G`, `G_ema`) of `b` are blended,
/// each from the same network of `a` when it has one, else from `a`'s sampling generator.
pub fn blend_models(a: &ModelFile, b: &ModelFile, split_res: usize) -> Result<ModelFile> {
    if split_res < 4 || !split_res.is_power_of_two() {
        return invalid(format!(
            "the split resolution must be a power of two from 4 up, got {split_res}"
        ));
    }
    let mut out = b.clone();
    let mut blended = 0;
    for key in ["G", "G_ema"] {
        let Some(net) = out.networks.get_mut(key) else {
            continue;
        };
        let src = match a.networks.get(key) {
            Some(n) => n,
            None => a.generator()?,
        };
        let img_res = net
            .init_kwargs
            .get("img_resolution")
            .and_then(|v| v.as_u64())
            .unwrap_or(0) as usize;
        if img_res > 0 && split_res > img_res {
            return invalid(format!(
                "--split-res {split_res} is above the network's resolution {img_res}"
            ));
        }
        for (name, t) in net.tensors.iter_mut() {
            if block_resolution(name).is_none_or(|r| r >= split_res) {
                continue;
            }
            let Some(s) = src.tensors.get(name) else {
                return invalid(format!(
                    "model A has no tensor {name}: the two networks differ in structure"
                ));
            };
            if s.shape != t.shape {
                return invalid(format!(
                    "{name} is {:?} in model A but {:?} in model B: the two networks differ in structure",
                    s.shape, t.shape
                ));
            }
            *t = s.clone();
            blended += 1;
        }
    }
    if blended == 0 {
        return invalid("model B holds no generator tensors to blend");
    }
    Ok(out)
}
