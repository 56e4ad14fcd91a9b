//! The neural half of the gallery (`bestiary gallery --network F`): what a network makes, on four sheets.
//! A seed grid, the official style-mixing grid (chimeras), a looped spline walk through five seeds, and the
//! most memorable of 32 seeds by ResMem. Each piece is one call, so that the caller writes it as soon as
//! it is made; every piece is also behind its own command (generate, mix, video, rank).

use crate::{
    invalid, render_ws, seed_ws, style_mixing_grid, walk, Easing, Interp, MixSpec, Result, WalkSpec,
};
use bestiary_canvas::sheet::{contact_sheet, enlargement, SheetOptions};
use bestiary_canvas::Image;
use bestiary_judge::ranking::{highest_first, memorability_of_seeds, seed_tiles};
use bestiary_judge::{Sampler, SeedRenderer};
use bestiary_perceptual::ResMem;
use bestiary_stylegan::{ModelFile, NoiseMode, SynthesisOptions};
use burn::tensor::backend::Backend;

/// Truncation for the showcase: a little toward the average, where a young model's creatures are clearest.
pub const PSI: f64 = 0.7;
/// Images per forward pass.
const BATCH: usize = 8;
/// Columns of the seed and memorable sheets.
const COLUMNS: usize = 8;
/// Frames of the walk (4 s at 25 fps).
pub const WALK_FRAMES: usize = 100;

/// An unconditional network loaded for the showcase.
pub struct Showcase<B: Backend> {
    r: SeedRenderer<B>,
    device: B::Device,
}

impl<B: Backend> Showcase<B> {
    /// Refuses conditional networks (`name` names the network in that error).
    pub fn new(model: &ModelFile, name: &str, device: &B::Device) -> Result<Self> {
        let sampler = Sampler {
            trunc: PSI,
            noise_mode: NoiseMode::Const,
            batch: BATCH,
        };
        let r = SeedRenderer::<B>::new(model, sampler, device)?;
        if r.cfg.c_dim > 0 {
            return invalid(format!(
                "the showcase needs an unconditional network ({name} has {} classes)",
                r.cfg.c_dim
            ));
        }
        Ok(Showcase {
            r,
            device: device.clone(),
        })
    }

    fn synthesis() -> SynthesisOptions {
        SynthesisOptions {
            noise_mode: NoiseMode::Const,
            ..Default::default()
        }
    }

    /// Seeds 0..24 on a captioned contact sheet.
    pub fn seeds(&self) -> Result<Image> {
        let seeds: Vec<u32> = (0..24).collect();
        let tiles = seed_tiles(&self.r, &seeds, |i| format!("seed {}", seeds[i]))?;
        Ok(sheet(&tiles))
    }

    /// The official style-mixing grid: rows 3, 5, 8 take the coarse and middle styles (the first seven W)
    /// of columns 11, 13, 17, 19; enlarged to readable tiles.
    pub fn chimeras(&self) -> Result<Image> {
        let (g, res, ch) = (
            &self.r.g,
            self.r.cfg.img_resolution,
            self.r.cfg.img_channels,
        );
        let coarse_and_middle: Vec<usize> = (0..g.num_ws().min(7)).collect();
        let spec = MixSpec {
            rows: &[3, 5, 8],
            cols: &[11, 13, 17, 19],
            styles: &coarse_and_middle,
            class: None,
            psi: PSI,
            synthesis: Self::synthesis(),
            batch: BATCH,
        };
        let grid = style_mixing_grid(g, &spec, &self.device, || {})?;
        let (w, h, px) = grid.compose(res, ch);
        let img = Image::from_channels(w as u32, h as u32, ch, &px)?;
        let s = enlargement(res as u32);
        Ok(img.resized(img.width() * s, img.height() * s))
    }

    /// A looped Catmull-Rom walk through the W of seeds 0..5, [`WALK_FRAMES`] frames.
    pub fn walk(&self) -> Result<Vec<Image>> {
        let (g, res, ch) = (
            &self.r.g,
            self.r.cfg.img_resolution,
            self.r.cfg.img_channels,
        );
        let keys = seed_ws(g, &[0, 1, 2, 3, 4], PSI, &self.device)?;
        let spec = WalkSpec {
            interp: Interp::Spline,
            frames: WALK_FRAMES,
            looped: true,
            easing: Easing::Linear,
        };
        let ws = walk(&keys, &spec, None)?;
        let mut frames = Vec::with_capacity(ws.len());
        for chunk in ws.chunks(BATCH) {
            for px in render_ws(g, chunk, &Self::synthesis(), &self.device) {
                frames.push(Image::from_channels(res as u32, res as u32, ch, &px)?);
            }
        }
        Ok(frames)
    }

    /// The 8 most memorable of seeds 100..132 by ResMem, best first, captioned `seed: score`.
    pub fn memorable(&self, net: &ResMem<B>) -> Result<Image> {
        let seeds: Vec<u32> = (100..132).collect();
        let scores = memorability_of_seeds(net, &self.r, &seeds, BATCH, &mut |_| {})?;
        let top: Vec<usize> = highest_first(&scores).into_iter().take(8).collect();
        let top_seeds: Vec<u32> = top.iter().map(|&i| seeds[i]).collect();
        let tiles = seed_tiles(&self.r, &top_seeds, |k| {
            format!("{}: {:.3}", seeds[top[k]], scores[top[k]])
        })?;
        Ok(sheet(&tiles))
    }
}

fn sheet(tiles: &[(Image, String)]) -> Image {
    contact_sheet(
        tiles,
        &SheetOptions {
            columns: COLUMNS,
            ..Default::default()
        },
    )
}
