//! The preview sheet of a directions file: one row per direction, the seed's image moved along it from
//! -3 to +3 sigma (its spread in W), so that what each direction does can be seen at a glance.

use crate::{apply_direction, render_ws, seed_ws, Result};
use bestiary_canvas::sheet::{contact_sheet, SheetOptions};
use bestiary_canvas::Image;
use bestiary_stylegan::{Generator, NoiseMode, SynthesisOptions};
use burn::tensor::backend::Backend;

/// The amounts of each row, in sigma.
pub const STEPS: [f32; 7] = [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0];
/// Images per forward pass.
const BATCH: usize = 8;

/// What a preview shows.
pub struct Preview<'a> {
    /// Unit directions in W, one row of the sheet each.
    pub directions: &'a [Vec<f32>],
    /// The spread of W along each direction: the unit of [`STEPS`].
    pub sigma: &'a [f32],
    /// The W layers the directions are applied at.
    pub layers: &'a [usize],
    /// The seed whose W is moved, and its truncation.
    pub seed: u32,
    pub psi: f64,
}

/// The sheet: row `k` is direction `k` applied to the seed's W in [`STEPS`] of `sigma[k]`, captioned
/// `#k ±step` when tiles are large enough (64 px) to hold a caption. `on_image` is called after each image.
pub fn directions_preview<B: Backend>(
    g: &Generator<B>,
    p: &Preview,
    device: &B::Device,
    mut on_image: impl FnMut(),
) -> Result<Image> {
    let base = seed_ws(g, &[p.seed], p.psi, device)?.remove(0);
    let ws: Vec<Vec<f32>> = p
        .directions
        .iter()
        .zip(p.sigma)
        .flat_map(|(d, s)| STEPS.map(|st| apply_direction(&base, d, st * s, p.layers)))
        .collect();
    let opts = SynthesisOptions {
        noise_mode: NoiseMode::Const,
        ..Default::default()
    };
    let (r, ch) = (g.img_resolution as u32, g.img_channels);
    let mut tiles = Vec::with_capacity(ws.len());
    for chunk in ws.chunks(BATCH) {
        for img in render_ws(g, chunk, &opts, device) {
            let n = tiles.len();
            let caption = format!("#{} {:+}", n / STEPS.len(), STEPS[n % STEPS.len()]);
            tiles.push((Image::from_channels(r, r, ch, &img)?, caption));
            on_image();
        }
    }
    Ok(contact_sheet(
        &tiles,
        &SheetOptions {
            columns: STEPS.len(),
            caption_scale: if r >= 64 { 1 } else { 0 },
            ..Default::default()
        },
    ))
}
