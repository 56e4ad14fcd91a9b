//! Which W vector (style layer) feeds which synthesis resolution, and the coarse/middle/fine split.

use crate::{invalid, Result};
use bestiary_stylegan::SynthesisNetwork;
use burn::tensor::backend::Backend;

/// The resolution each W index drives: block `b{r}` consumes `num_conv` ws of its own, and the last
/// block's ToRGB one more (the earlier ToRGB layers share the next block's first w, as in the official code).
pub fn ws_resolutions<B: Backend>(s: &SynthesisNetwork<B>) -> Vec<usize> {
    let mut out = Vec::with_capacity(s.num_ws);
    for b in &s.blocks {
        out.extend(std::iter::repeat_n(b.resolution, b.num_conv));
        if b.is_last {
            out.extend(std::iter::repeat_n(b.resolution, b.num_torgb));
        }
    }
    out
}

/// W indices in three groups by resolution: coarse 4–8, middle 16–32, fine 64 and above.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerGroups {
    pub coarse: Vec<usize>,
    pub middle: Vec<usize>,
    pub fine: Vec<usize>,
}

impl LayerGroups {
    pub fn from_resolutions(res: &[usize]) -> LayerGroups {
        let pick = |lo: usize, hi: usize| -> Vec<usize> {
            res.iter()
                .enumerate()
                .filter(|(_, &r)| r >= lo && r <= hi)
                .map(|(i, _)| i)
                .collect()
        };
        LayerGroups {
            coarse: pick(0, 8),
            middle: pick(16, 32),
            fine: pick(64, usize::MAX),
        }
    }
}

/// Parses a layer list such as `0-6` or `0,2,4-5` (inclusive ranges) against `num_ws`; sorted, deduplicated.
pub fn parse_layers(s: &str, num_ws: usize) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim) {
        if part.is_empty() {
            return invalid(format!("empty item in layer list '{s}'"));
        }
        let num = |t: &str| -> Result<usize> {
            t.trim().parse::<usize>().map_err(|_| {
                crate::ExploreError::Invalid(format!("'{t}' is not a layer index in '{s}'"))
            })
        };
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        if a > b {
            return invalid(format!("layer range {part} runs backwards"));
        }
        if b >= num_ws {
            return invalid(format!(
                "layer {b} is out of range: this network has layers 0-{}",
                num_ws - 1
            ));
        }
        out.extend(a..=b);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}
