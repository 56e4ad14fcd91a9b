//! The classic gallery: every engine at a few seeds, the neurons animation, and a captioned contact sheet of
//! the pictures. The file names live here so that a caller can check them before anything is drawn.

use crate::{animate, render_image, Error, Params, ENGINES};
use bestiary_canvas::{png_meta, sheet, Image, Metadata};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// What the gallery shows.
#[derive(Clone, Copy, Debug)]
pub struct GalleryOptions {
    /// Side of each picture in pixels.
    pub size: u32,
    /// Seeds `first_seed..first_seed + per_engine` of every engine.
    pub first_seed: u64,
    pub per_engine: u64,
}

/// Frames of the neurons animation.
pub const ANIMATION_FRAMES: usize = 36;
/// Frame delay of the neurons animation, in hundredths of a second.
pub const ANIMATION_DELAY: u16 = 4;
/// Largest side of the animation: its frames are all held in memory.
const ANIMATION_MAX_SIDE: u32 = 384;

/// One gallery picture.
pub struct Tile {
    pub engine: &'static str,
    pub seed: u64,
    pub image: Image,
    /// Where it was written.
    pub path: PathBuf,
}

impl Tile {
    /// The caption under the picture in the contact sheet.
    pub fn caption(&self) -> String {
        format!("{} #{}", self.engine, self.seed)
    }
}

/// The file of `engine` at `seed`.
pub fn tile_name(engine: &str, seed: u64) -> String {
    format!("{engine}-seed{seed:04}.png")
}

/// The file of the neurons animation.
pub fn animation_name(o: &GalleryOptions) -> String {
    format!("neurons-seed{:04}.gif", o.first_seed)
}

/// Every (engine, seed) the gallery draws, in gallery order.
pub fn jobs(o: &GalleryOptions) -> Vec<(&'static str, u64)> {
    ENGINES
        .iter()
        .flat_map(|e| (o.first_seed..o.first_seed + o.per_engine).map(move |s| (*e, s)))
        .collect()
}

/// Draws every engine at every seed in parallel and writes each picture into `dir` as a PNG with its
/// metadata ([`tile_name`]), calling `done` after each; the tiles come back in gallery order.
pub fn render_tiles(
    o: &GalleryOptions,
    dir: &Path,
    done: &(dyn Fn() + Sync),
) -> Result<Vec<Tile>, Error> {
    jobs(o)
        .par_iter()
        .map(|&(engine, seed)| {
            let params = Params {
                seed,
                size: o.size,
                palette: None,
            };
            let (image, used) = render_image(engine, &params)?;
            let path = dir.join(tile_name(engine, seed));
            png_meta::write_png(&path, &image, Some(&Metadata::new(engine, used, seed)))?;
            done();
            Ok(Tile {
                engine,
                seed,
                image,
                path,
            })
        })
        .collect()
}

/// The frames of the neurons etching at the first seed, the light sweeping a full turn.
pub fn animation(o: &GalleryOptions) -> Result<Vec<Image>, Error> {
    let params = Params {
        seed: o.first_seed,
        size: o.size.min(ANIMATION_MAX_SIDE),
        palette: None,
    };
    animate("neurons", &params, ANIMATION_FRAMES)
}

/// The contact sheet: every tile at half size (at least 64 px), captioned, one row per engine.
pub fn contact_sheet(tiles: &[Tile], o: &GalleryOptions) -> Image {
    let thumb = (o.size / 2).max(64);
    let thumbs: Vec<_> = tiles
        .iter()
        .map(|t| (t.image.resized(thumb, thumb), t.caption()))
        .collect();
    let opts = sheet::SheetOptions {
        columns: o.per_engine as usize,
        ..Default::default()
    };
    sheet::contact_sheet(&thumbs, &opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_gallery_order() {
        let o = GalleryOptions {
            size: 64,
            first_seed: 3,
            per_engine: 2,
        };
        let jobs = jobs(&o);
        assert_eq!(jobs.len(), ENGINES.len() * 2);
        assert_eq!(jobs[..2], [("squares", 3), ("squares", 4)]);
        assert_eq!(tile_name("flow", 7), "flow-seed0007.png");
        assert_eq!(animation_name(&o), "neurons-seed0003.gif");
    }
}
