//! `bestiary gallery` (and `bestiary` with no arguments): every classic engine, a few seeds each,
//! plus an animated neuron etching and a captioned contact sheet.
//!
//! The gallery folder is a render cache: a folder the gallery made (or was forced into) holds a marker
//! file, and rendering into it again replaces the files the gallery writes there, nothing else. Into any
//! other folder the common rule holds: an existing file of those names is replaced only with --force.

use crate::backend::DeviceKind;
use crate::output::{check_dir, create_dir, file_name, print_json, progress, Outputs};
use crate::with_backend;
use anyhow::Result;
use bestiary_canvas::{image::check_size, png_meta};
use bestiary_classic::gallery::{self, GalleryOptions};
use clap::Args;
use std::path::PathBuf;

/// Marks a folder as the gallery's own render cache.
const MARKER: &str = ".bestiary-gallery";

#[derive(Args, Clone)]
#[command(after_help = "\
Examples:
  bestiary                                            (the same as `bestiary gallery`)
  bestiary gallery --outdir art --size 1024 --per-engine 5
  bestiary gallery --network model.safetensors --outdir art
The gallery folder is a render cache: OUTDIR is created when its parent exists and marked as the gallery's
(a .bestiary-gallery file), and rendering into it again replaces the files the gallery writes there
(classic/*, classic-gallery.png, creatures/*) and nothing else. In a folder without the mark an existing
file of those names is never replaced unless --force.")]
pub struct GalleryArgs {
    /// Output folder (the gallery's render cache).
    #[arg(long, default_value = "bestiary-out")]
    pub outdir: PathBuf,
    #[command(flatten)]
    pub outputs: Outputs,
    /// Side of each picture in pixels.
    #[arg(long, default_value_t = 512)]
    pub size: u32,
    /// Seeds per engine (SEED..SEED+N-1).
    #[arg(long, default_value_t = 3)]
    pub per_engine: u64,
    /// First seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also show a network's creatures in OUTDIR/creatures: a seed grid, a chimera sheet, a looped walk
    /// (GIF and MP4) and, when the ResMem weights are cached, the most memorable of 32 seeds.
    #[arg(long)]
    pub network: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

impl Default for GalleryArgs {
    fn default() -> Self {
        GalleryArgs {
            outdir: PathBuf::from("bestiary-out"),
            outputs: Outputs::default(),
            size: 512,
            per_engine: 3,
            seed: 1,
            network: None,
            device: DeviceKind::default(),
            json: false,
        }
    }
}

fn options(a: &GalleryArgs) -> GalleryOptions {
    GalleryOptions {
        size: a.size,
        first_seed: a.seed,
        per_engine: a.per_engine,
    }
}

/// Every file the gallery writes, relative to its folder.
fn planned_files(a: &GalleryArgs) -> Vec<String> {
    let o = options(a);
    let mut names: Vec<String> = gallery::jobs(&o)
        .into_iter()
        .map(|(e, s)| format!("classic/{}", gallery::tile_name(e, s)))
        .collect();
    names.push(format!("classic/{}", gallery::animation_name(&o)));
    names.push("classic-gallery.png".to_string());
    if a.network.is_some() {
        names.extend(
            super::showcase::FILES
                .iter()
                .map(|f| format!("creatures/{f}")),
        );
    }
    names
}

/// Checks the gallery's files against the policy (its own marked folder may be re-rendered), then creates
/// and marks the folder.
fn claim_folder(a: &GalleryArgs) -> Result<()> {
    let marker = a.outdir.join(MARKER);
    let ours = marker.is_file();
    check_dir(&a.outdir, planned_files(a), a.outputs.force || ours)?;
    create_dir(&a.outdir)?;
    if !ours {
        let note = "bestiary's gallery render cache: `bestiary gallery` replaces the files it writes in this \
folder (classic/, classic-gallery.png, creatures/) and nothing else.\n";
        bestiary_canvas::io::write_atomic(&marker, note.as_bytes())?;
    }
    Ok(())
}

pub fn run(a: &GalleryArgs) -> Result<()> {
    check_size(a.size, a.size)?;
    if a.per_engine == 0 || a.per_engine > 100 {
        anyhow::bail!("--per-engine must be in 1..=100, got {}", a.per_engine);
    }
    // A bad network fails before anything is drawn.
    let model = a
        .network
        .as_deref()
        .map(super::explore::load_model)
        .transpose()?;
    claim_folder(a)?;
    let dir = a.outdir.join("classic");
    create_dir(&dir)?;
    let o = options(a);
    let pb = progress(gallery::jobs(&o).len() as u64 + 1, "gallery", a.json);
    let tiles = gallery::render_tiles(&o, &dir, &|| pb.inc(1))?;
    let gif = dir.join(gallery::animation_name(&o));
    bestiary_media::gif_out::write_gif(&gif, &gallery::animation(&o)?, gallery::ANIMATION_DELAY)?;
    pb.inc(1);
    pb.finish_and_clear();

    let sheet_path = a.outdir.join("classic-gallery.png");
    png_meta::write_png(&sheet_path, &gallery::contact_sheet(&tiles, &o), None)?;

    let mut files: Vec<PathBuf> = tiles.into_iter().map(|t| t.path).collect();
    files.push(gif.clone());
    let creatures = match (&model, &a.network) {
        (Some(model), Some(path)) => {
            let name = file_name(path);
            let pb = progress(4, "creatures", a.json);
            let shown = with_backend!(a.device, |B, dev| super::showcase::render::<B>(
                model,
                &name,
                &a.outdir.join("creatures"),
                |what| {
                    pb.set_message(what.to_string());
                    pb.inc(1);
                },
                &dev
            ))?;
            pb.finish_and_clear();
            Some(shown)
        }
        _ => None,
    };
    if a.json {
        let (neural, skipped) = match &creatures {
            Some(c) => (c.files.clone(), c.skipped.clone()),
            None => (Vec::new(), None),
        };
        print_json(&serde_json::json!({
            "outdir": a.outdir, "sheet": sheet_path, "files": files, "creatures": neural, "skipped": skipped,
        }));
    } else {
        println!(
            "classic gallery: {} pictures and an animated etching in {}",
            files.len() - 1,
            dir.display()
        );
        println!("contact sheet:   {}", sheet_path.display());
        if let Some(c) = &creatures {
            for f in &c.files {
                println!("creatures:       {}", f.display());
            }
            if let Some(why) = &c.skipped {
                println!("(no memorable sheet: {why})");
            }
        }
    }
    Ok(())
}
