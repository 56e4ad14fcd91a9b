//! `bestiary gallery` (and `bestiary` with no arguments): every classic engine, a few seeds each,
//! plus an animated neuron etching and a captioned contact sheet.

use crate::backend::DeviceKind;
use crate::output::{ensure_dir, print_json, progress};
use crate::with_backend;
use anyhow::Result;
use bestiary_canvas::{image::check_size, png_meta, sheet, Metadata};
use bestiary_classic::{Params, ENGINES};
use clap::Args;
use rayon::prelude::*;
use std::path::PathBuf;

#[derive(Args, Clone)]
pub struct GalleryArgs {
    /// Output folder.
    #[arg(long, default_value = "bestiary-out")]
    pub outdir: PathBuf,
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
            size: 512,
            per_engine: 3,
            seed: 1,
            network: None,
            device: DeviceKind::default(),
            json: false,
        }
    }
}

pub fn run(a: &GalleryArgs) -> Result<()> {
    check_size(a.size, a.size)?;
    if a.per_engine == 0 || a.per_engine > 100 {
        anyhow::bail!("--per-engine must be in 1..=100, got {}", a.per_engine);
    }
    // A bad network fails before anything is drawn.
    let model = a.network.as_deref().map(super::explore::load_model).transpose()?;
    let dir = a.outdir.join("classic");
    ensure_dir(&dir)?;
    let jobs: Vec<(&str, u64)> =
        ENGINES.iter().flat_map(|e| (a.seed..a.seed + a.per_engine).map(move |s| (*e, s))).collect();
    let pb = progress(jobs.len() as u64 + 1, "gallery", a.json);
    let tiles = jobs
        .par_iter()
        .map(|&(engine, seed)| {
            let params = Params { seed, size: a.size, palette: None };
            let r = bestiary_classic::render(engine, &params)?;
            let img = r.art.to_image(a.size);
            let path = dir.join(format!("{engine}-seed{seed:04}.png"));
            png_meta::write_png(&path, &img, Some(&Metadata::new(engine, r.params, seed)))?;
            pb.inc(1);
            Ok((img, format!("{engine} #{seed}"), path))
        })
        .collect::<Result<Vec<_>>>()?;
    let frames = bestiary_classic::animate("neurons", &Params { seed: a.seed, size: a.size.min(384), palette: None }, 36)?;
    let gif = dir.join(format!("neurons-seed{:04}.gif", a.seed));
    bestiary_canvas::gif_out::write_gif(&gif, &frames, 4)?;
    pb.inc(1);
    pb.finish_and_clear();

    let thumb = (a.size / 2).max(64);
    let sheet_tiles: Vec<_> = tiles.iter().map(|(img, cap, _)| (img.resized(thumb, thumb), cap.clone())).collect();
    let opts = sheet::SheetOptions { columns: a.per_engine as usize, ..Default::default() };
    let sheet_path = a.outdir.join("classic-gallery.png");
    png_meta::write_png(&sheet_path, &sheet::contact_sheet(&sheet_tiles, &opts), None)?;

    let mut files: Vec<PathBuf> = tiles.into_iter().map(|t| t.2).collect();
    files.push(gif.clone());
    let creatures = match (&model, &a.network) {
        (Some(model), Some(path)) => {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
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
        println!("classic gallery: {} pictures and an animated etching in {}", files.len() - 1, dir.display());
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
