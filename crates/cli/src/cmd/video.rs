//! `video`: a latent walk through keyframe seeds (or a loop around them), rendered and written as GIF,
//! WebP, MP4 or PNG frames. Wiring only: the walk lives in bestiary-explore, the encoders in bestiary-media.

use super::explore::{check_trunc, class_json, class_of, load_model, opts};
use crate::backend::DeviceKind;
use crate::output::file_name;
use crate::output::{create_dir, print_json, progress, Outputs};
use crate::seeds::parse_seeds;
use crate::with_backend;
use anyhow::{anyhow, bail, Context, Result};
use bestiary_canvas::Image;
use bestiary_explore as ex;
use bestiary_explore::{Easing, Interp, WalkSpace};
use bestiary_media::VideoFormat;
use bestiary_stylegan::{load_generator, ModelFile, NoiseMode};
use burn::tensor::backend::Backend;
use clap::Args;
use std::path::PathBuf;

/// A GIF's frames (held until its palettes are built) are capped at this many bytes of RGBA.
const MAX_FRAME_BYTES: u64 = 8 << 30;

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary video --network model.pkl --seeds 1,2,3 --frames 90 --fps 30 --loop --out walk.mp4
  bestiary video --network model.pkl --seeds 1,2,3,4 --interp spline --easing ease-in-out --loop --out walk.webp
  bestiary video --network model.pkl --seeds 5,9 --interp circle --frames 120 --out circle.gif
  bestiary video --network model.pkl --seeds 7,8,9 --interp noise --frames 240 --fps 30 --out drift.mp4
  bestiary video --network model.pkl --seeds 42 --trunc-from -0.5 --trunc-to 1.5 --frames 60 --out psi.mp4
  bestiary video --network model.pkl --seeds 0-4 --frames 100 --out frames/
  bestiary video --network runs/pets/network-snapshot-000040.safetensors --class dogs --seeds 1,2,3 --loop --out dogs.mp4
Interpolations: lerp (straight lines, in W by default), slerp (great circles, in Z by default), spline
(a smooth Catmull-Rom curve through every seed, in W by default), circle (a closed loop in Z through two
seeds: cos t * z1 + sin t * z2) and noise (a smooth random closed loop in Z picked by the seeds).
--frames is the total frame count. With --loop the walk returns to the first seed and the frame that would
repeat the first is left out, so the video repeats seamlessly (circle and noise always loop). Easing
reshapes time within each seed-to-seed segment. --trunc-from/--trunc-to move truncation psi over the video
(there and back with --loop); psi outside [0, 1] is allowed (-100..=100).
The output's extension picks the format: .gif, .webp (lossless), .mp4 (H.264; odd sizes are padded to
even by repeating the edge), or a folder (a path ending in / or an existing folder) of numbered PNGs
(frame_00000.png, ...; created when its parent exists). Existing files are never replaced unless --force.
A conditional network needs --class (a name the model file records, or an index): every frame is mapped
with that class's one-hot label, so a keyframe equals `generate --class` of its seed.")]
pub struct VideoArgs {
    /// Network: an official StyleGAN2-ADA .pkl or a bestiary .safetensors model.
    #[arg(long)]
    pub network: PathBuf,
    /// Keyframe seeds, in order, e.g. 1,2,3 or 0-4.
    #[arg(long)]
    pub seeds: String,
    /// Interpolation: lerp, slerp, spline, circle or noise.
    #[arg(long, default_value = "lerp")]
    pub interp: Interp,
    /// Latent space the path is laid in: z or w [default: w for lerp and spline, z otherwise].
    #[arg(long)]
    pub space: Option<WalkSpace>,
    /// Total number of frames (2..=10000).
    #[arg(long, default_value_t = 60)]
    pub frames: usize,
    /// Frames per second (1..=120).
    #[arg(long, default_value_t = 20)]
    pub fps: u32,
    /// Walk back to the first seed, seamlessly (circle and noise always loop).
    #[arg(long = "loop")]
    pub looped: bool,
    /// Time within each segment: linear or ease-in-out (slow at every seed).
    #[arg(long, default_value = "linear")]
    pub easing: Easing,
    /// Truncation psi for every frame [default: 1].
    #[arg(long, allow_negative_numbers = true)]
    pub trunc: Option<f64>,
    /// Truncation psi of the first frame (with --trunc-to).
    #[arg(long, allow_negative_numbers = true)]
    pub trunc_from: Option<f64>,
    /// Truncation psi of the last frame (halfway with --loop).
    #[arg(long, allow_negative_numbers = true)]
    pub trunc_to: Option<f64>,
    /// Per-pixel noise: const (reproducible), random, none.
    #[arg(long, default_value = "const")]
    pub noise_mode: NoiseMode,
    /// Class of a conditional network: a name the model file records (see `inspect`) or an index.
    #[arg(long)]
    pub class: Option<String>,
    /// Output: X.gif, X.webp, X.mp4, or a folder DIR/ of PNG frames.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub outputs: Outputs,
    /// Frames per forward pass.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Truncation over the video.
#[derive(Clone, Copy)]
enum Trunc {
    Fixed(f64),
    Range(f64, f64),
}

impl Trunc {
    fn json(self) -> serde_json::Value {
        match self {
            Trunc::Fixed(p) => serde_json::json!(p),
            Trunc::Range(a, b) => serde_json::json!({"from": a, "to": b}),
        }
    }
}

/// Everything checked before the network is loaded.
struct Plan {
    seeds: Vec<u32>,
    space: WalkSpace,
    looped: bool,
    trunc: Trunc,
    format: VideoFormat,
}

fn plan(a: &VideoArgs) -> Result<Plan> {
    if !(2..=10_000).contains(&a.frames) {
        bail!("--frames must be in 2..=10000, got {}", a.frames);
    }
    if !(1..=bestiary_media::MAX_FPS).contains(&a.fps) {
        bail!(
            "--fps must be in 1..={}, got {}",
            bestiary_media::MAX_FPS,
            a.fps
        );
    }
    if a.batch == 0 || a.batch > 1024 {
        bail!("--batch must be in 1..=1024, got {}", a.batch);
    }
    let trunc = match (a.trunc, a.trunc_from, a.trunc_to) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            bail!("give either --trunc or --trunc-from with --trunc-to, not both")
        }
        (None, Some(_), None) | (None, None, Some(_)) => {
            bail!("--trunc-from and --trunc-to go together")
        }
        (p, None, None) => Trunc::Fixed(p.unwrap_or(1.0)),
        (None, Some(f), Some(t)) => Trunc::Range(f, t),
    };
    match trunc {
        Trunc::Fixed(p) => check_trunc(p)?,
        Trunc::Range(f, t) => {
            check_trunc(f).map_err(|_| {
                anyhow!("--trunc-from must be a finite number in -100..=100, got {f}")
            })?;
            check_trunc(t).map_err(|_| {
                anyhow!("--trunc-to must be a finite number in -100..=100, got {t}")
            })?;
        }
    }
    let format = VideoFormat::from_path(&a.out).map_err(|e| anyhow!("--out: {e}"))?;
    match format {
        VideoFormat::PngDir => a.outputs.dir(
            &a.out,
            (0..a.frames).map(|i| bestiary_media::frame_name(i, 5)),
        )?,
        _ => a.outputs.file(&a.out)?,
    }
    let seeds = parse_seeds(&a.seeds)?;
    let n = seeds.len();
    match a.interp {
        Interp::Circle if n != 2 => {
            bail!("--interp circle takes exactly 2 seeds (they span the loop's plane), got {n}")
        }
        Interp::Noise if n > 64 => {
            bail!("--interp noise takes at most 64 seeds (one harmonic each), got {n}")
        }
        Interp::Lerp | Interp::Slerp | Interp::Spline => {
            if n < 2 && !matches!(trunc, Trunc::Range(..)) {
                bail!("a walk needs at least 2 seeds (or one seed with --trunc-from/--trunc-to), got {n}");
            }
            if n > a.frames {
                bail!("{n} seeds need at least {n} frames (--frames {})", a.frames);
            }
        }
        _ => {}
    }
    if a.interp.is_loop() && a.easing != Easing::Linear {
        bail!(
            "--easing applies to seed-to-seed walks (lerp, slerp, spline), not to --interp {}",
            a.interp.name()
        );
    }
    let space = a.space.unwrap_or(a.interp.default_space());
    if a.interp.is_loop() && space == WalkSpace::W {
        bail!("--interp {} is a loop in Z: use --space z", a.interp.name());
    }
    Ok(Plan {
        seeds,
        space,
        looped: a.looped || a.interp.is_loop(),
        trunc,
        format,
    })
}

pub fn video(a: &VideoArgs) -> Result<()> {
    let p = plan(a)?;
    let model = load_model(&a.network)?;
    with_backend!(a.device, |B, dev| video_on::<B>(a, &p, &model, &dev))
}

fn video_on<B: Backend>(a: &VideoArgs, p: &Plan, model: &ModelFile, dev: &B::Device) -> Result<()> {
    let (g, cfg) = load_generator::<B>(model, dev)?;
    let class = class_of(model, &cfg, a.class.as_deref())?;
    let r = cfg.img_resolution as u32;
    if p.format == VideoFormat::Gif && a.frames as u64 * r as u64 * r as u64 * 4 > MAX_FRAME_BYTES {
        bail!("a GIF of {} frames of {r}x{r} needs more than {} GiB of memory: use fewer --frames or .mp4/.webp", a.frames, MAX_FRAME_BYTES >> 30);
    }
    let psis = match p.trunc {
        Trunc::Fixed(psi) => vec![psi; a.frames],
        Trunc::Range(f, t) => ex::trunc_schedule(f, t, a.frames, p.looped, a.easing),
    };
    ex::check_truncation(&g, &psis)?; // before any file is made
    let spec = ex::WalkSpec {
        interp: a.interp,
        frames: a.frames,
        looped: p.looped,
        easing: a.easing,
    };
    let ws = ex::walk_ws(&g, &p.seeds, &spec, p.space, class, dev)?;
    if p.format == VideoFormat::PngDir {
        create_dir(&a.out)?;
    }
    let cannot = || format!("cannot write {}", a.out.display());
    // Frames go to the writer batch by batch (MP4 and WebP keep only compressed frames).
    let mut writer = bestiary_media::VideoWriter::create(&a.out, a.fps).with_context(cannot)?;
    let pb = progress(ws.len() as u64, "video", a.json);
    let o = opts(a.noise_mode);
    for (chunk, psi) in ws.chunks(a.batch).zip(psis.chunks(a.batch)) {
        let frames = ex::render_ws_truncated(&g, chunk, psi, &o, dev)?
            .iter()
            .map(|img| Image::from_channels(r, r, cfg.img_channels, img))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        writer.push(&frames).with_context(cannot)?;
        pb.inc(frames.len() as u64);
    }
    pb.finish_and_clear();
    let info = writer.finish().with_context(cannot)?;
    if a.json {
        let mut summary = serde_json::json!({
            "out": a.out, "format": info.format.name(), "frames": info.frames, "fps": a.fps, "frame_ms": info.frame_ms,
            "width": info.width, "height": info.height, "padded_from": info.padded.map(|(w, h)| [w, h]), "bytes": info.bytes,
            "network": file_name(&a.network), "seeds": p.seeds, "interp": a.interp.name(),
            "space": match p.space { WalkSpace::Z => "z", WalkSpace::W => "w" }, "loop": p.looped, "easing": a.easing.name(),
            "trunc": p.trunc.json(), "noise_mode": format!("{:?}", a.noise_mode).to_lowercase(),
        });
        if class.is_some() {
            summary["class"] = class_json(model, &cfg, class);
        }
        print_json(&summary);
    } else {
        let pad = info
            .padded
            .map(|(w, h)| format!(", padded from {w}x{h} to even sides"))
            .unwrap_or_default();
        eprintln!(
            "wrote {} frames ({}x{}, {}, {} bytes{pad}) to {}",
            info.frames,
            info.width,
            info.height,
            info.format.name(),
            info.bytes,
            a.out.display()
        );
        if (info.frame_ms - 1000.0 / a.fps as f64).abs() > 0.5 && info.format == VideoFormat::Gif {
            eprintln!(
                "note: GIF delays are whole centiseconds (2 at least): it plays at {:.1} fps",
                1000.0 / info.frame_ms
            );
        }
    }
    Ok(())
}
