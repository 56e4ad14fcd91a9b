//! Exploring commands: `mix`, `chimera`, `blend`, `directions`, `edit`, `video`. Wiring only: the
//! algorithms live in bestiary-explore.

use crate::backend::DeviceKind;
use crate::output::{file_name, print_json, progress, Outputs};
use crate::seeds::parse_seeds;
use crate::with_backend;
use anyhow::{bail, Context, Result};
use bestiary_canvas::{png_meta, Image, Metadata};
use bestiary_explore as ex;
use bestiary_explore::directions_file::{self, Directions, FORMAT};
use bestiary_stylegan::{
    load_generator, Generator, GeneratorConfig, ModelFile, NoiseMode, SynthesisOptions,
};
use bestiary_weights::DType;
use burn::tensor::backend::Backend;
use clap::Args;
use std::path::{Path, PathBuf};

/// A model file (or a run folder's latest snapshot); one-line errors.
pub(crate) fn load_model(p: &Path) -> Result<ModelFile> {
    crate::network::load(p)
}

pub(crate) fn check_trunc(psi: f64) -> Result<()> {
    if !psi.is_finite() || psi.abs() > 100.0 {
        bail!("--trunc must be a finite number in -100..=100, got {psi}");
    }
    Ok(())
}

/// How seeds are rendered: shared by mix, chimera, edit, rank and nearest.
#[derive(Args)]
pub struct RenderArgs {
    /// Truncation psi.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub trunc: f64,
    /// Per-pixel noise: const (reproducible), random, none.
    #[arg(long, default_value = "const")]
    pub noise_mode: NoiseMode,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
}

pub(crate) fn opts(noise: NoiseMode) -> SynthesisOptions {
    SynthesisOptions {
        noise_mode: noise,
        ..Default::default()
    }
}

pub(crate) fn unconditional(cfg: &GeneratorConfig) -> Result<()> {
    if cfg.c_dim > 0 {
        bail!("this network is conditional ({} classes); exploring supports unconditional networks only", cfg.c_dim);
    }
    Ok(())
}

/// `--class` for a network: a class name the model file records, or an index; None when unconditional
/// (a class given then is ignored with a warning, as generate.py does).
pub(crate) fn class_of(
    model: &ModelFile,
    cfg: &GeneratorConfig,
    spec: Option<&str>,
) -> Result<Option<usize>> {
    if cfg.c_dim == 0 && spec.is_some() {
        eprintln!("warning: --class is ignored: this network is unconditional");
    }
    let names = ex::class_names(model, cfg.c_dim);
    Ok(ex::resolve_class(spec, cfg.c_dim, names.as_deref())?)
}

/// The class as recorded in an image's metadata: its index and, when the model file names it, its name.
pub(crate) fn class_json(
    model: &ModelFile,
    cfg: &GeneratorConfig,
    class: Option<usize>,
) -> serde_json::Value {
    let name =
        class.and_then(|k| ex::class_names(model, cfg.c_dim).and_then(|n| n.get(k).cloned()));
    match (class, name) {
        (Some(k), Some(n)) => serde_json::json!({"index": k, "name": n}),
        (Some(k), None) => serde_json::json!({"index": k}),
        _ => serde_json::Value::Null,
    }
}

/// The sampling generator of a model on backend `B`, refusing conditional networks.
fn unconditional_generator<B: Backend>(
    model: &ModelFile,
    dev: &B::Device,
) -> Result<(Generator<B>, GeneratorConfig)> {
    let (g, cfg) = load_generator::<B>(model, dev)?;
    unconditional(&cfg)?;
    Ok((g, cfg))
}

/// Writes an image in the format its extension names (checked with `Outputs::image` before the work).
fn save_image(path: &Path, img: &Image, meta: &Metadata) -> Result<()> {
    bestiary_canvas::io::write_image(path, img, Some(meta))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// One image as the renderers return it (8-bit HWC at the network's resolution).
fn network_image(cfg: &GeneratorConfig, hwc: &[u8]) -> Result<Image> {
    let r = cfg.img_resolution as u32;
    Ok(Image::from_channels(r, r, cfg.img_channels, hwc)?)
}

// ---------------------------------------------------------------------------------------------- mix

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary mix --network model.pkl --rows 85,100,75 --cols 55,821,1789 --out grid.png
  bestiary mix --network model.pkl --rows 0-3 --cols 10-13 --styles 0-3 --trunc 0.7 --out coarse.png
  bestiary mix --network model.pkl --rows 1,2 --cols 3,4 --out grid.jpg --force   (JPEG, replacing grid.jpg)
  bestiary mix --network runs/pets/network-snapshot-000040.safetensors --class cats --rows 0-2 --cols 5-7 --out cats.png
The official style-mixing grid: the column seeds across the top, the row seeds down the left, and in each
cell the row seed's W with the column seed's W copied in at --styles (default: the coarse and middle layers,
0-6 as in the official script, cut to the network's layers). A conditional network needs --class: every
seed is mapped with that class's one-hot label, as generate.py maps it.")]
pub struct MixArgs {
    /// Network: an official StyleGAN2-ADA .pkl or a bestiary .safetensors model.
    #[arg(long)]
    pub network: PathBuf,
    /// Row seeds (their W is kept), e.g. 85,100,75.
    #[arg(long)]
    pub rows: String,
    /// Column seeds (their W is copied in at --styles).
    #[arg(long)]
    pub cols: String,
    /// Style layers taken from the column seeds, e.g. 0-6 or 0,2,4 [default: 0-6, cut to the network].
    #[arg(long)]
    pub styles: Option<String>,
    /// Class of a conditional network: a name the model file records (see `inspect`) or an index.
    #[arg(long)]
    pub class: Option<String>,
    /// Output image: .png, .jpg or .webp.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub outputs: Outputs,
    /// Images per forward pass.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    #[command(flatten)]
    pub render: RenderArgs,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn mix(a: &MixArgs) -> Result<()> {
    check_trunc(a.render.trunc)?;
    if a.batch == 0 || a.batch > 1024 {
        bail!("--batch must be in 1..=1024, got {}", a.batch);
    }
    let (rows, cols) = (parse_seeds(&a.rows)?, parse_seeds(&a.cols)?);
    if rows.len() * cols.len() > 10_000 {
        bail!(
            "a {}x{} grid is too large (at most 10000 cells)",
            rows.len(),
            cols.len()
        );
    }
    a.outputs.image(&a.out)?;
    let model = load_model(&a.network)?;
    with_backend!(a.render.device, |B, dev| mix_on::<B>(
        a, &model, &rows, &cols, &dev
    ))
}

fn mix_on<B: Backend>(
    a: &MixArgs,
    model: &ModelFile,
    rows: &[u32],
    cols: &[u32],
    dev: &B::Device,
) -> Result<()> {
    let (g, cfg) = load_generator::<B>(model, dev)?;
    let class = class_of(model, &cfg, a.class.as_deref())?;
    let num_ws = g.num_ws();
    // The default mirrors the official 0-6, cut to what a small network has.
    let styles = match &a.styles {
        Some(s) => ex::parse_layers(s, num_ws)?,
        None => (0..num_ws.min(7)).collect(),
    };
    let pb = progress(
        (rows.len() + cols.len() + rows.len() * cols.len()) as u64,
        "mix",
        a.json,
    );
    let spec = ex::MixSpec {
        rows,
        cols,
        styles: &styles,
        class,
        psi: a.render.trunc,
        synthesis: opts(a.render.noise_mode),
        batch: a.batch,
    };
    let grid = ex::style_mixing_grid(&g, &spec, dev, || pb.inc(1))?;
    pb.finish_and_clear();
    let (w, h, px) = grid.compose(cfg.img_resolution, cfg.img_channels);
    let mut params = serde_json::json!({
        "network": file_name(&a.network), "rows": rows, "cols": cols, "styles": styles, "trunc": a.render.trunc,
        "noise_mode": format!("{:?}", a.render.noise_mode).to_lowercase(),
    });
    let mut summary = serde_json::json!({"out": a.out, "width": w, "height": h, "rows": rows.len(), "cols": cols.len(), "styles": styles});
    if class.is_some() {
        params["class"] = class_json(model, &cfg, class);
        summary["class"] = class_json(model, &cfg, class);
    }
    let img = Image::from_channels(w as u32, h as u32, cfg.img_channels, &px)?;
    save_image(&a.out, &img, &Metadata::new("stylegan2-mix", params, 0))?;
    if a.json {
        print_json(&summary);
    } else {
        eprintln!(
            "wrote a {}x{} style-mixing grid to {}",
            cols.len() + 1,
            rows.len() + 1,
            a.out.display()
        );
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------ chimera

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary chimera --network model.pkl --coarse 12 --middle 85 --fine 300 --out chimera.png
  bestiary chimera --network model.pkl --coarse 7 --middle 7 --fine 99 --trunc 0.7 --out recolour.png
  bestiary chimera --network model.pkl --coarse 1 --middle 2 --fine 3 --out x.webp     (lossless WebP)
  bestiary chimera --network runs/pets/network-snapshot-000040.safetensors --class cats --coarse 1 --middle 2 --fine 3 --out cat.png
Coarse layers (4x4-8x8) set pose and shape, middle layers (16x16-32x32) features, fine layers (64x64 and
up) colour and texture; each group takes its W from its own seed.")]
pub struct ChimeraArgs {
    /// Network: an official StyleGAN2-ADA .pkl or a bestiary .safetensors model.
    #[arg(long)]
    pub network: PathBuf,
    /// Seed for the coarse layers (4x4-8x8).
    #[arg(long)]
    pub coarse: u32,
    /// Seed for the middle layers (16x16-32x32).
    #[arg(long)]
    pub middle: u32,
    /// Seed for the fine layers (64x64 and up).
    #[arg(long)]
    pub fine: u32,
    /// Class of a conditional network: a name the model file records (see `inspect`) or an index.
    #[arg(long)]
    pub class: Option<String>,
    /// Output image: .png, .jpg or .webp.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub outputs: Outputs,
    #[command(flatten)]
    pub render: RenderArgs,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn chimera(a: &ChimeraArgs) -> Result<()> {
    check_trunc(a.render.trunc)?;
    a.outputs.image(&a.out)?;
    let model = load_model(&a.network)?;
    with_backend!(a.render.device, |B, dev| chimera_on::<B>(a, &model, &dev))
}

fn chimera_on<B: Backend>(a: &ChimeraArgs, model: &ModelFile, dev: &B::Device) -> Result<()> {
    let (g, cfg) = load_generator::<B>(model, dev)?;
    let class = class_of(model, &cfg, a.class.as_deref())?;
    let ws = ex::seed_ws_of_class(
        &g,
        &[a.coarse, a.middle, a.fine],
        class,
        a.render.trunc,
        dev,
    )?;
    let groups = ex::LayerGroups::from_resolutions(&ex::ws_resolutions(&g.synthesis));
    let w = ex::chimera_ws(&groups, &ws[0], &ws[1], &ws[2], g.w_dim);
    let mut params = serde_json::json!({
        "network": file_name(&a.network), "coarse": a.coarse, "middle": a.middle, "fine": a.fine, "trunc": a.render.trunc,
        "noise_mode": format!("{:?}", a.render.noise_mode).to_lowercase(),
    });
    if class.is_some() {
        params["class"] = class_json(model, &cfg, class);
    }
    let img = ex::render_ws(&g, &[w], &opts(a.render.noise_mode), dev).remove(0);
    let meta = Metadata::new("stylegan2-chimera", params, a.coarse as u64);
    save_image(&a.out, &network_image(&cfg, &img)?, &meta)?;
    if a.json {
        print_json(
            &serde_json::json!({"out": a.out, "coarse_layers": groups.coarse, "middle_layers": groups.middle, "fine_layers": groups.fine}),
        );
    } else {
        eprintln!("wrote {}", a.out.display());
    }
    Ok(())
}

// -------------------------------------------------------------------------------------------- blend

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary blend --a faces.pkl --b paintings.pkl --split-res 32 --out blended.safetensors
  bestiary blend --a base.safetensors --b finetuned.safetensors --split-res 16 --out mix.safetensors
The synthesis blocks below --split-res come from A (shape and pose), the higher blocks and the mapping
network from B (texture and colour). Both networks must share one structure (usually B fine-tuned from A).")]
pub struct BlendArgs {
    /// Model A: the low-resolution synthesis blocks.
    #[arg(long)]
    pub a: PathBuf,
    /// Model B: the mapping network and the blocks from --split-res up.
    #[arg(long)]
    pub b: PathBuf,
    /// First resolution taken from B (a power of two, e.g. 32).
    #[arg(long)]
    pub split_res: usize,
    /// Output model (.safetensors).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub outputs: Outputs,
    /// Store tensors as f16 (half the size).
    #[arg(long)]
    pub f16: bool,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn blend(a: &BlendArgs) -> Result<()> {
    a.outputs.file_with_extension(&a.out, "safetensors")?;
    let (ma, mb) = (load_model(&a.a)?, load_model(&a.b)?);
    let out = ex::blend_models(&ma, &mb, a.split_res)?;
    let bytes = out.to_safetensors(if a.f16 { DType::F16 } else { DType::F32 })?;
    bestiary_canvas::io::write_atomic(&a.out, &bytes)
        .with_context(|| format!("cannot write {}", a.out.display()))?;
    if a.json {
        print_json(
            &serde_json::json!({"out": a.out, "split_res": a.split_res, "bytes": bytes.len()}),
        );
    } else {
        eprintln!(
            "wrote {} (blocks below {}x{} from {}, the rest from {})",
            a.out.display(),
            a.split_res,
            a.split_res,
            file_name(&a.a),
            file_name(&a.b)
        );
    }
    Ok(())
}

// --------------------------------------------------------------------------------------- directions

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary directions --network model.pkl --method sefa --out dirs.safetensors
  bestiary directions --network model.pkl --method sefa --num 10 --layers 0-3 --out coarse.safetensors
  bestiary directions --network model.pkl --method ganspace --num 20 --samples 100000 --out pca.safetensors
  bestiary directions --network model.pkl --method ganspace --layers 0-3 --no-preview --out pca.safetensors
sefa: closed-form factorization, the top eigenvectors of AᵀA, A the style weights of --layers (default all);
σ is the spread of 1000 seeds' W along each direction.
ganspace: PCA of --samples W vectors from the mapping network (seeds 0..N, untruncated); the principal axes
by explained variance, σ = sqrt(eigenvalue). W is shared by all layers, so --layers only picks the layers
the preview moves (record it for `edit --layers`).
Writes 'directions' [K, w_dim] (orthonormal rows), 'sigma' [K] (the unit of `edit --amount`) and
'eigenvalues' [K] (ganspace also 'mean' [w_dim]), plus a preview sheet (OUT with .png): one row per
direction, -3σ to +3σ. Both methods write the same layout, so `edit --direction FILE:K` reads either.
Neither file may exist already unless --force.")]
pub struct DirectionsArgs {
    /// Network: an official StyleGAN2-ADA .pkl or a bestiary .safetensors model.
    #[arg(long)]
    pub network: PathBuf,
    /// Method: sefa or ganspace.
    #[arg(long, default_value = "sefa")]
    pub method: String,
    /// Number of directions.
    #[arg(long, default_value_t = 5)]
    pub num: usize,
    /// Style layers, e.g. 0-3: factorized (sefa) and moved in the preview (both) [default: all].
    #[arg(long)]
    pub layers: Option<String>,
    /// W samples for the PCA (ganspace only) [default: 10000].
    #[arg(long)]
    pub samples: Option<usize>,
    /// Seed of the preview sheet.
    #[arg(long, default_value_t = 0)]
    pub seed: u32,
    /// Truncation psi of the preview.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub trunc: f64,
    /// Skip the preview sheet.
    #[arg(long)]
    pub no_preview: bool,
    /// Output file (.safetensors; the preview sheet goes beside it, with .png).
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

const MAX_SAMPLES: usize = 10_000_000;

pub fn directions(a: &DirectionsArgs) -> Result<()> {
    match a.method.as_str() {
        "sefa" => {
            if a.samples.is_some() {
                bail!("--samples applies to --method ganspace only");
            }
        }
        "ganspace" => {
            let n = a.samples.unwrap_or(10_000);
            if !(2..=MAX_SAMPLES).contains(&n) {
                bail!("--samples must be in 2..={MAX_SAMPLES}, got {n}");
            }
        }
        m => bail!("unknown method '{m}' (available: sefa, ganspace)"),
    }
    check_trunc(a.trunc)?;
    // The preview is OUT with .png: the directions file must have its own extension so the two never collide.
    a.outputs.file_with_extension(&a.out, "safetensors")?;
    if !a.no_preview {
        a.outputs.file(&a.out.with_extension("png"))?;
    }
    let model = load_model(&a.network)?;
    with_backend!(a.device, |B, dev| directions_on::<B>(a, &model, &dev))
}

fn directions_on<B: Backend>(a: &DirectionsArgs, model: &ModelFile, dev: &B::Device) -> Result<()> {
    let (g, _) = unconditional_generator::<B>(model, dev)?;
    let layers = a
        .layers
        .as_deref()
        .map(|s| ex::parse_layers(s, g.num_ws()))
        .transpose()?;
    let (found, summary) = if a.method == "ganspace" {
        let n = a.samples.unwrap_or(10_000);
        let pb = progress(n as u64, "sampling W", a.json);
        let pca =
            ex::ganspace_directions(&g, n, a.num, 1000, dev, |done| pb.set_position(done as u64))?;
        pb.finish_and_clear();
        let summary = serde_json::json!({"samples": n, "explained_variance": pca.explained()});
        (Directions::from_pca(pca), summary)
    } else {
        let found = Directions::sefa(model.generator()?, &g, layers.as_deref(), a.num, None, dev)?;
        (found, serde_json::json!({}))
    };
    let mut info = serde_json::json!({"format": FORMAT, "method": a.method, "network": file_name(&a.network), "layers": layers});
    if let Some(n) = summary.get("samples") {
        info["samples"] = n.clone();
    }
    let bytes = found.to_bytes(&info.to_string())?;
    let Directions {
        directions: dirs,
        sigma,
        eigenvalues: values,
        ..
    } = found;
    let k = dirs.len();
    bestiary_canvas::io::write_atomic(&a.out, &bytes)
        .with_context(|| format!("cannot write {}", a.out.display()))?;

    let mut preview = None;
    if !a.no_preview {
        let all: Vec<usize> = (0..g.num_ws()).collect();
        let spec = ex::preview::Preview {
            directions: &dirs,
            sigma: &sigma,
            layers: layers.as_deref().unwrap_or(&all),
            seed: a.seed,
            psi: a.trunc,
        };
        let pb = progress((k * ex::preview::STEPS.len()) as u64, "preview", a.json);
        let sheet = ex::preview::directions_preview(&g, &spec, dev, || pb.inc(1))?;
        pb.finish_and_clear();
        let path = a.out.with_extension("png");
        let params = serde_json::json!({"network": file_name(&a.network), "directions": file_name(&a.out), "steps_sigma": ex::preview::STEPS});
        png_meta::write_png(
            &path,
            &sheet,
            Some(&Metadata::new(
                &format!("stylegan2-{}", a.method),
                params,
                a.seed as u64,
            )),
        )
        .with_context(|| format!("cannot write {}", path.display()))?;
        preview = Some(path);
    }
    if a.json {
        let mut v = serde_json::json!({"out": a.out, "preview": preview, "method": a.method, "num": k, "eigenvalues": values, "sigma": sigma});
        if let (Some(v), Some(extra)) = (v.as_object_mut(), summary.as_object()) {
            v.extend(extra.clone());
        }
        print_json(&v);
    } else {
        eprintln!("wrote {k} {} directions to {}", a.method, a.out.display());
        if let Some(p) = preview {
            eprintln!("preview sheet: {}", p.display());
        }
    }
    Ok(())
}

// --------------------------------------------------------------------------------------------- edit

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary edit --network model.pkl --seed 42 --direction dirs.safetensors:0 --amount 2 --out smile.png
  bestiary edit --network model.pkl --seed 42 --direction dirs.safetensors:3 --amount -1.5 --layers 0-3 --out x.png
  bestiary edit --network model.pkl --seed 42 --mask mouth.png --direction dirs.safetensors:0 --amount 3 --out x.png
  bestiary edit --network model.pkl --seed 42 --mask eyes.png --with-seed 7 --layer 4 --feather 8 --out x.png
  bestiary edit --network runs/pets/network-snapshot-000040.safetensors --class dogs --seed 3 --with-seed 9 --layers 0-3 --out x.png
The edited W: --direction moves the seed's W along direction K of a `directions` file by --amount (in σ,
the spread of W along it, when the file has 'sigma' as `directions` writes; else raw W units); --with-seed
takes another seed's W. Either way only the style layers in --layers change (default: all).
With --mask (any PNG: luma times alpha, resized to the output and thresholded at one half; white = change)
the edit is local: the seed's image and the edited one run side by side and from synthesis layer --layer on
(the numbering of --layers; default: the first layer at 1/8 of the output resolution, 4x4 at least) every
layer's features and RGB image are blended inside the mask, feathered over --feather pixels either side of
its edge (default: 1/16 of the output size, 1 at least). Pixels more than feather + 0.5 pixels from the mask
stay as `generate` renders the seed (same --trunc, --noise-mode const).")]
pub struct EditArgs {
    /// Network: an official StyleGAN2-ADA .pkl or a bestiary .safetensors model.
    #[arg(long)]
    pub network: PathBuf,
    /// Seed of the image to edit.
    #[arg(long)]
    pub seed: u32,
    /// FILE:K — direction K of a directions file (with --amount).
    #[arg(long)]
    pub direction: Option<String>,
    /// How far to move along --direction (in σ; negative goes the other way).
    #[arg(long, allow_negative_numbers = true)]
    pub amount: Option<f32>,
    /// Take the edited W from this seed instead of a direction.
    #[arg(long)]
    pub with_seed: Option<u32>,
    /// Style layers changed, e.g. 0-3 (default: all).
    #[arg(long)]
    pub layers: Option<String>,
    /// Class of a conditional network: a name the model file records (see `inspect`) or an index.
    #[arg(long)]
    pub class: Option<String>,
    #[command(flatten)]
    pub masking: MaskArgs,
    /// Output image: .png, .jpg or .webp.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub outputs: Outputs,
    #[command(flatten)]
    pub render: RenderArgs,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The painted-region options of a local change (`edit`, `memorable`).
#[derive(Args, Clone, Debug)]
pub struct MaskArgs {
    /// Mask PNG: only the white region changes.
    #[arg(long)]
    pub mask: Option<PathBuf>,
    /// With --mask: first synthesis layer blended (numbered as --layers) [default: the 1/8-resolution layer].
    #[arg(long = "layer")]
    pub blend_layer: Option<usize>,
    /// With --mask: feather width in output pixels (0 = hard edge) [default: 1/16 of the output size].
    #[arg(long, allow_negative_numbers = true)]
    pub feather: Option<f32>,
}

impl MaskArgs {
    /// --layer and --feather only with a mask; a feather of a sane number of pixels.
    pub fn check(&self) -> Result<()> {
        if self.mask.is_none() && (self.blend_layer.is_some() || self.feather.is_some()) {
            bail!("--layer and --feather apply to masked changes: give a --mask");
        }
        if let Some(f) = self.feather {
            if !f.is_finite() || !(0.0..=4096.0).contains(&f) {
                bail!("--feather must be a number of pixels in 0..=4096, got {f}");
            }
        }
        Ok(())
    }
}

/// Direction K (and its σ, 1 when absent) of a directions file named as FILE:K.
fn read_direction(spec: &str) -> Result<(Vec<f32>, f32)> {
    let (path, k) = spec
        .rsplit_once(':')
        .with_context(|| format!("--direction must be FILE:K, got '{spec}'"))?;
    let k: usize = k
        .parse()
        .map_err(|_| anyhow::anyhow!("--direction: '{k}' is not a direction index"))?;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {path}"))?;
    directions_file::read_direction(&bytes, k).map_err(|e| anyhow::anyhow!("{path}: {e}"))
}

/// Where the edited W comes from.
enum EditSource {
    Direction {
        dir: Vec<f32>,
        sigma: f32,
        amount: f32,
    },
    Seed(u32),
}

/// A mask image as RGBA8 pixels with its size.
struct MaskImage {
    width: usize,
    height: usize,
    rgba: Vec<u8>,
}

fn read_mask(path: &Path) -> Result<MaskImage> {
    let (img, _) = png_meta::read_png(path).map_err(|e| anyhow::anyhow!("--mask: {e}"))?;
    Ok(MaskImage {
        width: img.width() as usize,
        height: img.height() as usize,
        rgba: img.into_raw(),
    })
}

pub fn edit(a: &EditArgs) -> Result<()> {
    check_trunc(a.render.trunc)?;
    let source = match (&a.direction, a.amount, a.with_seed) {
        (Some(_), _, Some(_)) => {
            bail!("--with-seed and --direction cannot be used together: pick one edit")
        }
        (Some(spec), Some(amount), None) => {
            if !amount.is_finite() {
                bail!("--amount must be a finite number");
            }
            let (dir, sigma) = read_direction(spec)?;
            EditSource::Direction { dir, sigma, amount }
        }
        (Some(_), None, None) => bail!("--direction needs --amount (in σ)"),
        (None, Some(_), _) => bail!("--amount goes with --direction"),
        (None, None, Some(s)) => EditSource::Seed(s),
        (None, None, None) => {
            bail!("nothing to edit: give --direction FILE:K with --amount, or --with-seed S")
        }
    };
    a.masking.check()?;
    let mask = a.masking.mask.as_deref().map(read_mask).transpose()?;
    a.outputs.image(&a.out)?;
    let model = load_model(&a.network)?;
    with_backend!(a.render.device, |B, dev| edit_on::<B>(
        a,
        &model,
        &source,
        mask.as_ref(),
        &dev
    ))
}

fn edit_on<B: Backend>(
    a: &EditArgs,
    model: &ModelFile,
    source: &EditSource,
    mask: Option<&MaskImage>,
    dev: &B::Device,
) -> Result<()> {
    let (g, cfg) = load_generator::<B>(model, dev)?;
    let class = class_of(model, &cfg, a.class.as_deref())?;
    let layers = match &a.layers {
        Some(s) => ex::parse_layers(s, g.num_ws())?,
        None => (0..g.num_ws()).collect(),
    };
    let base = ex::seed_ws_of_class(&g, &[a.seed], class, a.render.trunc, dev)?.remove(0);
    let edited = match source {
        EditSource::Direction { dir, sigma, amount } => {
            if dir.len() != g.w_dim {
                bail!(
                    "the direction has {} values but this network's W has {}",
                    dir.len(),
                    g.w_dim
                );
            }
            ex::apply_direction(&base, dir, amount * sigma, &layers)
        }
        EditSource::Seed(s) => ex::mix_ws(
            &base,
            &ex::seed_ws_of_class(&g, &[*s], class, a.render.trunc, dev)?.remove(0),
            &layers,
            g.w_dim,
        ),
    };
    let mut params = serde_json::json!({
        "network": file_name(&a.network), "layers": layers, "trunc": a.render.trunc,
        "noise_mode": format!("{:?}", a.render.noise_mode).to_lowercase(),
    });
    if class.is_some() {
        params["class"] = class_json(model, &cfg, class);
    }
    match source {
        EditSource::Direction { amount, .. } => {
            params["direction"] = serde_json::json!(a.direction);
            params["amount"] = serde_json::json!(amount);
        }
        EditSource::Seed(s) => params["with_seed"] = serde_json::json!(s),
    }
    let mut summary = serde_json::json!({"out": a.out, "seed": a.seed, "layers": layers});
    match mask {
        None => {
            let img = ex::render_ws(&g, &[edited], &opts(a.render.noise_mode), dev).remove(0);
            let meta = Metadata::new("stylegan2-edit", params.clone(), a.seed as u64);
            save_image(&a.out, &network_image(&cfg, &img)?, &meta)?;
        }
        Some(m) => {
            let name = a.masking.mask.as_deref().map(Path::display);
            let name = name.map(|d| d.to_string()).unwrap_or_default();
            let bin =
                ex::BinaryMask::painted(&name, m.width, m.height, 4, &m.rgba, cfg.img_resolution)?;
            let settings = ex::MaskSettings::new(
                &bin,
                a.masking.feather,
                a.masking.blend_layer,
                &g.synthesis,
            )?;
            let (feather, layer) = (settings.feather, settings.from_layer);
            let img = ex::local_edit(
                &g,
                &base,
                &edited,
                &settings.soft,
                layer,
                &opts(a.render.noise_mode),
                dev,
            )?
            .edited;
            let extra = serde_json::json!({
                "mask": a.masking.mask.as_deref().map(file_name), "layer": layer, "feather": feather,
                "masked_pixels": bin.count(), "unchanged_beyond_px": feather + 0.5,
            });
            for (k, v) in extra.as_object().expect("object") {
                params[k] = v.clone();
                summary[k] = v.clone();
            }
            let meta = Metadata::new("stylegan2-edit", params.clone(), a.seed as u64);
            save_image(&a.out, &network_image(&cfg, &img)?, &meta)?;
        }
    }
    if a.json {
        if let EditSource::Direction { amount, .. } = source {
            summary["amount"] = serde_json::json!(amount);
        }
        print_json(&summary);
    } else {
        eprintln!("wrote {}", a.out.display());
    }
    Ok(())
}
