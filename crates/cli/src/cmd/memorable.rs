//! `bestiary memorable`: memorability as a brush — gradient ascent of ResMem's score on a seed's (or a
//! projection's) W, kept close to the start image. Wiring only: the algorithm is bestiary-explore's
//! `memorable` module.

use crate::backend::DeviceKind;
use crate::cmd::explore::MaskArgs;
use crate::cmd::generate::{read_projected, Projected};
use crate::output::{file_name, print_json, progress, Outputs};
use crate::with_backend;
use anyhow::{bail, Context, Result};
use bestiary_canvas::{io::write_image, png_meta, Image, Metadata};
use bestiary_explore as ex;
use bestiary_explore::w_file::{self, WFile};
use bestiary_explore::{MaskSettings, MemorableOptions, Space};
use bestiary_media::gif_out;
use bestiary_perceptual::ResMem;
use bestiary_perceptual::Vgg16;
use bestiary_stylegan::{load_generator, GeneratorConfig, ModelFile};
use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use clap::Args;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary memorable --network model.pkl --seed 7 --out seed7-more.png
  bestiary memorable --network model.pkl --seed 7 --steps 40 --strength 0.3 --keep 0.5 --out bolder.png
  bestiary memorable --network model.pkl --seed 7 --mask eyes.png --out eyes.png --json
  bestiary memorable --network ffhq.pkl --projected-w proj/projected_w.safetensors --space w+ --out face.png
  bestiary generate --network model.pkl --projected-w seed7-more.safetensors --out again.png
Gradient ascent of the ResMem memorability score on the start W (one change for every layer, or one per
layer with --space w+), through the generator and ResMem (its 256 resize and 227 centre crop made
differentiable), minus --keep times the closeness to the start image: LPIPS (VGG16) plus the squared W
distance per component. Adam moves each W component about --strength per step, easing to zero over the
last half of the steps. The start is a seed's W (truncation 1, noise const: the image `generate --seeds S`
writes) or the W of a projection file (its noise maps are kept). With --mask (a PNG, white = change; as
`edit --mask`) only the painted region changes: pixels more than feather + 0.5 pixels from it stay exactly
as the start image.
Writes OUT (the image), OUT's name with .safetensors (its W, tensor 'w' [num_ws, w_dim], which `generate
--projected-w` renders identically; with --mask it renders the edited W everywhere) and with .gif (start |
image along the path, 50 frames at most). Existing files are never replaced unless --force. --json prints
the scores (as `bestiary memorability` reports them for the 8-bit images) and the LPIPS to the start
before and after, with the path's scores.
ResMem (527 MB, Non-commercial licence) and VGG16 are fetched into the asset cache on first use.
On CPU a step costs one ResMem forward and backward pass (seconds): keep --steps small.")]
pub struct MemorableArgs {
    /// Network: an official StyleGAN2-ADA .pkl or a bestiary .safetensors model (unconditional).
    #[arg(long)]
    pub network: PathBuf,
    /// Start from this seed's image.
    #[arg(
        long,
        required_unless_present = "projected_w",
        conflicts_with = "projected_w"
    )]
    pub seed: Option<u32>,
    /// Start from the W of a projection file (.safetensors from `project`/`memorable`, or .npz), one W.
    #[arg(long, value_name = "W")]
    pub projected_w: Option<PathBuf>,
    /// Gradient steps.
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Step size: about how far each W component moves per step.
    #[arg(long, default_value_t = 0.2)]
    pub strength: f64,
    /// Weight of staying close to the start (LPIPS + W distance) against the score; 0 = score only.
    #[arg(long, default_value_t = 1.0)]
    pub keep: f64,
    /// Latent space: w (one change for every layer) or w+ (one per layer).
    #[arg(long, default_value = "w")]
    pub space: Space,
    #[command(flatten)]
    pub masking: MaskArgs,
    /// Output image (.png, .jpg, .webp; PNG for an exact round trip); the W and GIF are written beside it.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub outputs: Outputs,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Everything checked before any weights are fetched.
struct Checked {
    model: ModelFile,
    cfg: GeneratorConfig,
    projected: Option<Projected>,
    mask: Option<ex::BinaryMask>,
    w_path: PathBuf,
    gif_path: PathBuf,
}

fn check(a: &MemorableArgs) -> Result<Checked> {
    if a.steps == 0 || a.steps > 10_000 {
        bail!("--steps must be in 1..=10000, got {}", a.steps);
    }
    if !a.strength.is_finite() || a.strength <= 0.0 || a.strength > 10.0 {
        bail!("--strength must be a number in (0, 10], got {}", a.strength);
    }
    if !a.keep.is_finite() || !(0.0..=1e6).contains(&a.keep) {
        bail!("--keep must be a number in 0..=1000000, got {}", a.keep);
    }
    a.masking.check()?;
    let w_path = a.out.with_extension("safetensors");
    let gif_path = a.out.with_extension("gif");
    a.outputs.image(&a.out)?;
    for p in [&a.network].into_iter().chain(&a.projected_w) {
        if bestiary_canvas::io::same_file(p, &w_path) {
            bail!(
                "{} would be overwritten by the W this writes: choose another --out",
                p.display()
            );
        }
    }
    a.outputs.file(&w_path)?;
    a.outputs.file(&gif_path)?;
    let projected = a.projected_w.as_deref().map(read_projected).transpose()?;
    let mask_img = match &a.masking.mask {
        Some(p) => Some(png_meta::read_png(p).map_err(|e| anyhow::anyhow!("--mask: {e}"))?),
        None => None,
    };
    let mut model = crate::network::load(&a.network)?;
    let cfg = GeneratorConfig::from_value(&model.generator()?.init_kwargs)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.network.display()))?;
    if cfg.c_dim > 0 {
        bail!(
            "{} is a conditional network ({} classes): memorable supports unconditional networks only",
            a.network.display(),
            cfg.c_dim
        );
    }
    if cfg.img_channels != 1 && cfg.img_channels != 3 {
        bail!(
            "{}: memorable supports RGB or grey networks, this one has {} channels",
            a.network.display(),
            cfg.img_channels
        );
    }
    let (num_ws, w_dim, res) = (cfg.num_ws(), cfg.w_dim, cfg.img_resolution);
    if let Some(p) = &projected {
        let at = |e: ex::ExploreError| anyhow::anyhow!("{}: {e}", p.path.display());
        p.file.single_w(num_ws, w_dim).map_err(at)?;
        p.file
            .apply_noise(&mut model)
            .map_err(|e| anyhow::anyhow!("{}: {e}", p.path.display()))?;
    }
    let mask = match (&mask_img, &a.masking.mask) {
        (Some((img, _)), Some(path)) => Some(ex::BinaryMask::painted(
            &path.display().to_string(),
            img.width() as usize,
            img.height() as usize,
            4,
            img.as_raw(),
            res,
        )?),
        _ => None,
    };
    if let Some(l) = a.masking.blend_layer {
        ex::check_blend_layer(l, num_ws)?;
    }
    Ok(Checked {
        model,
        cfg,
        projected,
        mask,
        w_path,
        gif_path,
    })
}

pub fn run(a: &MemorableArgs) -> Result<()> {
    // Arguments, files and the network's shape first: a refusal costs nothing and writes nothing.
    let c = check(a)?;
    let mut log = |m: &str| eprintln!("{m}");
    let resmem = bestiary_perceptual::resmem_weights(&mut log)?;
    let vgg = bestiary_perceptual::vgg16_weights(&mut log)?;
    with_backend!(a.device, |B, dev| run_on::<B>(a, &c, &resmem, &vgg, &dev))
}

fn run_on<B: Backend>(
    a: &MemorableArgs,
    c: &Checked,
    resmem: &Path,
    vgg: &Path,
    dev: &B::Device,
) -> Result<()> {
    let started = Instant::now();
    let (g, _) = load_generator::<Autodiff<B>>(&c.model, dev)?;
    let (res, ch) = (c.cfg.img_resolution, c.cfg.img_channels);
    let start_ws = match (&c.projected, a.seed) {
        (Some(p), _) => p.file.w.data.clone(),
        (None, Some(seed)) => ex::seed_ws(&g, &[seed], 1.0, dev)?.remove(0),
        (None, None) => bail!("give --seed or --projected-w"),
    };
    let mask = c
        .mask
        .as_ref()
        .map(|bin| {
            let m = MaskSettings::new(bin, a.masking.feather, a.masking.blend_layer, &g.synthesis)?;
            Ok::<_, anyhow::Error>((m, bin.count()))
        })
        .transpose()?;
    let scorer = ResMem::<Autodiff<B>>::load(resmem, dev)?;
    let vgg = Vgg16::<Autodiff<B>>::load(vgg, dev)?;
    let opts = MemorableOptions {
        steps: a.steps,
        strength: a.strength,
        keep: a.keep,
        space: a.space,
    };
    let pb = progress(a.steps as u64, "memorable", a.json);
    let r = ex::memorable(
        &g,
        &scorer,
        &vgg,
        &start_ws,
        mask.as_ref().map(|m| &m.0),
        &opts,
        &mut |s| {
            pb.inc(1);
            pb.set_message(format!("score {:.4} lpips {:.4}", s.score, s.lpips));
        },
    )?;
    pb.finish_and_clear();

    let img = |px: &[u8]| Image::from_channels(res as u32, res as u32, ch, px);
    let start = img(&r.start)?;
    let frames = r
        .frames
        .iter()
        .map(|f| Ok(start.beside(&img(f)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut params = serde_json::json!({
        "network": file_name(&a.network), "seed": a.seed,
        "projected_w": a.projected_w.as_deref().map(file_name), "steps": a.steps,
        "strength": a.strength, "keep": a.keep, "space": a.space.name(),
        "score_before": r.score_before, "score_after": r.score_after, "lpips": r.lpips_after,
    });
    if let Some((m, count)) = &mask {
        let (feather, layer) = (m.feather, m.from_layer);
        let extra = serde_json::json!({
            "mask": a.masking.mask.as_deref().map(file_name), "layer": layer, "feather": feather,
            "masked_pixels": count, "unchanged_beyond_px": feather + 0.5,
        });
        for (k, v) in extra.as_object().expect("object") {
            params[k] = v.clone();
        }
    }
    let w_file = w_file(a, &r, c.projected.as_ref())?;
    write_image(
        &a.out,
        &img(&r.image)?,
        Some(&Metadata::new(
            "memorable",
            params.clone(),
            a.seed.unwrap_or(0) as u64,
        )),
    )
    .with_context(|| format!("cannot write {}", a.out.display()))?;
    bestiary_canvas::io::write_atomic(&c.w_path, &w_file)
        .with_context(|| format!("cannot write {}", c.w_path.display()))?;
    gif_out::write_gif(&c.gif_path, &frames, 12)?;
    let secs = started.elapsed().as_secs_f64();
    if a.json {
        params["out"] = serde_json::json!(a.out);
        params["w"] = serde_json::json!(c.w_path);
        params["gif"] = serde_json::json!(c.gif_path);
        params["lpips_before"] = serde_json::json!(0.0);
        params["lpips_after"] = serde_json::json!(r.lpips_after);
        params["path"] =
            serde_json::json!({"score": r.scores, "lpips": r.lpips, "objective": r.objective});
        params["seconds"] = serde_json::json!(secs);
        print_json(&params);
    } else {
        eprintln!(
            "memorability {:.4} -> {:.4} (LPIPS to the start {:.4}), {} steps, {secs:.1} s; wrote {}, {}, {}",
            r.score_before,
            r.score_after,
            r.lpips_after,
            a.steps,
            a.out.display(),
            c.w_path.display(),
            c.gif_path.display()
        );
    }
    Ok(())
}

/// The W file: 'w' `[num_ws, w_dim]` as `project` writes it, with the start projection's noise maps.
fn w_file(a: &MemorableArgs, r: &ex::Memorable, start: Option<&Projected>) -> Result<Vec<u8>> {
    let mut file = WFile::single(&r.ws, r.num_ws, r.w_dim);
    if let Some(p) = start {
        file.noise = p.file.noise.clone();
    }
    let mut meta = BTreeMap::from([
        ("network".to_string(), file_name(&a.network)),
        ("steps".to_string(), a.steps.to_string()),
        ("space".to_string(), a.space.name().to_string()),
        ("score_before".to_string(), r.score_before.to_string()),
        ("score_after".to_string(), r.score_after.to_string()),
        ("lpips".to_string(), r.lpips_after.to_string()),
        ("format".to_string(), w_file::PROJECTION_FORMAT.to_string()),
    ]);
    if let Some(s) = a.seed {
        meta.insert("seed".to_string(), s.to_string());
    }
    if let Some(m) = &a.masking.mask {
        meta.insert("mask".to_string(), file_name(m));
    }
    Ok(file.to_bytes(&meta)?)
}
