//! The neural half of the gallery (`bestiary gallery --network F`): a seed grid, a chimera sheet (the
//! official style-mixing grid), a looped walk as GIF and MP4, and the most memorable creatures when the
//! ResMem weights are already in the cache (they are 527 MB, so the gallery never downloads them).
//! Orchestration only: every step is a library call also behind its own command.

use super::curate::{tile, write_sheet};
use super::imagesets::{Sampler, SeedRenderer};
use crate::output::create_dir;
use anyhow::Result;
use bestiary_canvas::{png_meta, Image, Metadata};
use bestiary_explore as ex;
use bestiary_judge::sets::{highest_first, memorability_of_seeds};
use bestiary_perceptual::ResMem;
use bestiary_stylegan::{ModelFile, NoiseMode, SynthesisOptions};
use burn::tensor::backend::Backend;
use std::path::{Path, PathBuf};

/// Truncation for the showcase: a little toward the average, where a young model's creatures are clearest.
const PSI: f64 = 0.7;

/// What the showcase wrote.
pub struct Showcase {
    pub files: Vec<PathBuf>,
    /// Why the memorable sheet is missing, when it is.
    pub skipped: Option<String>,
}

/// Every file the showcase may write in its folder (memorable.png only when ResMem is cached).
pub const FILES: [&str; 5] = [
    "seeds.png",
    "chimeras.png",
    "walk.gif",
    "walk.mp4",
    "memorable.png",
];

pub fn render<B: Backend>(
    model: &ModelFile,
    name: &str,
    dir: &Path,
    mut step: impl FnMut(&str),
    dev: &B::Device,
) -> Result<Showcase> {
    create_dir(dir)?;
    let sampler = Sampler {
        trunc: PSI,
        noise_mode: NoiseMode::Const,
        batch: 8,
    };
    let r = SeedRenderer::<B>::new(model, sampler, dev)?;
    if r.cfg.c_dim > 0 {
        anyhow::bail!(
            "the showcase needs an unconditional network ({name} has {} classes)",
            r.cfg.c_dim
        );
    }
    let params = |what: &str| serde_json::json!({"network": name, "sheet": what, "trunc": PSI});
    let mut files = Vec::new();

    step("seeds");
    let seeds: Vec<u32> = (0..24).collect();
    let mut tiles = Vec::new();
    r.render(&seeds, |chunk, imgs| {
        for (s, img) in chunk.iter().zip(&imgs) {
            tiles.push((tile(img)?, format!("seed {s}")));
        }
        Ok::<_, anyhow::Error>(())
    })?;
    let path = dir.join("seeds.png");
    write_sheet(&path, &tiles, 8, "bestiary-showcase", params("seeds"))?;
    files.push(path);

    step("chimeras");
    let (g, res, ch) = (&r.g, r.cfg.img_resolution, r.cfg.img_channels);
    let opts = SynthesisOptions {
        noise_mode: NoiseMode::Const,
        ..Default::default()
    };
    let coarse_and_middle: Vec<usize> = (0..g.num_ws().min(7)).collect();
    let grid = ex::style_mixing_grid(
        g,
        &[3, 5, 8],
        &[11, 13, 17, 19],
        &coarse_and_middle,
        PSI,
        &opts,
        8,
        dev,
        || {},
    )?;
    let (w, h, px) = grid.compose(res, ch);
    let path = dir.join("chimeras.png");
    let img = Image::from_channels(w as u32, h as u32, ch, &px)?;
    // Small networks' tiles are enlarged to at least 128 px, as on the other sheets.
    let scale = 128u32.div_ceil(res as u32).max(1);
    let img = img.resized(img.width() * scale, img.height() * scale);
    png_meta::write_png(
        &path,
        &img,
        Some(&Metadata::new("bestiary-showcase", params("chimeras"), 0)),
    )?;
    files.push(path);

    step("walk");
    let keys = ex::seed_ws(g, &[0, 1, 2, 3, 4], PSI, dev)?;
    let spec = ex::WalkSpec {
        interp: ex::Interp::Spline,
        frames: 100,
        looped: true,
        easing: ex::Easing::Linear,
    };
    let ws = ex::walk(&keys, &spec, None)?;
    let mut frames = Vec::with_capacity(ws.len());
    for chunk in ws.chunks(8) {
        for px in ex::render_ws(g, chunk, &opts, dev) {
            frames.push(Image::from_channels(res as u32, res as u32, ch, &px)?);
        }
    }
    for name in ["walk.gif", "walk.mp4"] {
        let info = bestiary_media::write_video(&dir.join(name), &frames, 25)?;
        files.push(info.path);
    }

    step("memorable");
    let skipped = match bestiary_assets::path_if_present("resmem") {
        None => Some(
            "ResMem weights not in the cache (`bestiary assets fetch resmem`, 527 MB)".to_string(),
        ),
        Some(weights) => {
            let net = ResMem::<B>::load(&weights, dev)?;
            let seeds: Vec<u32> = (100..132).collect();
            let scores = memorability_of_seeds(&net, &r, &seeds, 8, &mut |_| {})?;
            let top: Vec<usize> = highest_first(&scores).into_iter().take(8).collect();
            let top_seeds: Vec<u32> = top.iter().map(|&i| seeds[i]).collect();
            let mut tiles = Vec::with_capacity(top.len());
            r.render(&top_seeds, |_, imgs| {
                for img in &imgs {
                    let i = top[tiles.len()];
                    tiles.push((tile(img)?, format!("{}: {:.3}", seeds[i], scores[i])));
                }
                Ok::<_, anyhow::Error>(())
            })?;
            let path = dir.join("memorable.png");
            write_sheet(&path, &tiles, 8, "bestiary-showcase", params("memorable"))?;
            files.push(path);
            None
        }
    };
    Ok(Showcase { files, skipped })
}
