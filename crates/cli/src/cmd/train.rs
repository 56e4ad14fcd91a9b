//! `bestiary train`: StyleGAN2-ADA training on a dataset, resumable with nothing lost.

use crate::backend::DeviceKind;
use crate::output::print_json;
use crate::with_backend;
use anyhow::{bail, Context, Result};
use bestiary_canvas::io::same_file;
use bestiary_dataset::Dataset;
use bestiary_train::checkpoint::{self, STATE_FILE};
use bestiary_train::run::Event;
use bestiary_train::{folder, options, AugMode, CriticKind, ImageSet, NewRunOptions, Trainer};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary dataset --source assets:emoji --dest emoji32.zip --resolution 32
  bestiary train --data emoji32.zip --outdir runs/emoji --kimg 50 --mirror
  bestiary train --resume runs/emoji --kimg 100          continue exactly where it stopped
  bestiary train --resume runs/emoji --kimg 100 --gamma 2 --lrate 0.001      continue with other settings
  bestiary train --data mine.zip --outdir runs/ft --resume runs/emoji/network-snapshot-000050.safetensors --freezed 2
  bestiary train --data emoji32.zip --outdir runs/feat --kimg 20 --mirror --d-features vgg16 --gamma 1
        (experimental: D judges frozen VGG16 features through fixed random projections)
  bestiary train --data tiny.zip --outdir /tmp/smoke --kimg 0.1 --tick 0.05 --cfg lite
  bestiary train --data tiny.zip --outdir /tmp/smoke --kimg 0.1 --force       start that run over
The run folder gets training-state.safetensors (everything a resume needs; written before the first step and
at every snapshot), log.jsonl (one JSON object per tick), reals.png, fakes-init.png, and at every snapshot
fakes-KKKKKK.png and network-snapshot-KKKKKK.safetensors (KKKKKK.III when a snapshot falls between whole
kimg, so that every snapshot keeps its own name). Ctrl-C finishes the step, saves and exits; a second Ctrl-C
quits at once; either way, and after a kill, `--resume RUN` continues from the last save.
--outdir is created if its parent folder exists. A folder that holds a run is never written over: resume it,
or pass --force to delete that run's files (and only those) and start over.
With --resume RUN, --kimg, --tick, --snap, --gamma, --lrate, --aug, --p, --target, --ada-kimg, --mirror and
--data may change (each change is reported). --cfg, --cbase, --cmax, --batch, --seed, --freezed and --d-features are fixed
by the run (its networks' shape, and the random draws that make a resume exact) and refused when they
differ; the official --resume, which loads only weights, lets batch and seed change as well.")]
pub struct TrainArgs {
    /// Dataset: a zip or folder in the dataset_tool layout (see `bestiary dataset`).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Run folder (defaults to the run being resumed).
    #[arg(long)]
    pub outdir: Option<PathBuf>,
    /// Preset: auto, lite, stylegan2, paper256, paper512, paper1024, cifar (default: lite on CPU, auto on CUDA).
    #[arg(long)]
    pub cfg: Option<String>,
    /// Training length in thousands of images shown to D (decimals allowed; default: the preset's 25000).
    #[arg(long)]
    pub kimg: Option<f64>,
    #[arg(long, help = format!("Progress report interval in kimg (default {})", options::DEFAULT_TICK_KIMG))]
    pub tick: Option<f64>,
    #[arg(long, help = format!("Snapshot interval in ticks (default {})", options::DEFAULT_SNAP_TICKS))]
    pub snap: Option<u64>,
    /// Minibatch size (default from the preset).
    #[arg(long)]
    pub batch: Option<usize>,
    /// R1 weight (default from the preset).
    #[arg(long)]
    pub gamma: Option<f64>,
    /// Augmentation: ada (adaptive), noaug, fixed (with --p) [default: ada].
    #[arg(long)]
    pub aug: Option<AugMode>,
    /// ADA target for the sign of D's output on reals [default: 0.6].
    #[arg(long)]
    pub target: Option<f64>,
    /// Augmentation probability (fixed), or the starting p for ada.
    #[arg(long)]
    pub p: Option<f64>,
    /// ADA speed: kimg for p to go from 0 to 1 [default: 500].
    #[arg(long)]
    pub ada_kimg: Option<f64>,
    /// Add x-flipped copies of the reals.
    #[arg(long)]
    pub mirror: bool,
    /// Keep the training state small enough to move a run between machines: Adam's second moments as
    /// bf16 (resumes continue within rounding instead of bit for bit; can be turned on when resuming).
    #[arg(long)]
    pub compact_state: bool,
    /// Continue a run (its folder), or start from a model file (.safetensors or official .pkl) for transfer learning.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Freeze the first N discriminator layers (Freeze-D, for transfer learning) [default: 0].
    #[arg(long)]
    pub freezed: Option<usize>,
    /// Discriminator: `vgg16` judges frozen VGG16 features through fixed random projections (Projected
    /// GAN; fewer images to a presentable model), `none` is StyleGAN2's own [default: none].
    #[arg(long, value_name = "vgg16|none")]
    pub d_features: Option<CriticKind>,
    /// Override the preset's channel base (network width: channels = min(cbase / resolution, cmax)).
    #[arg(long)]
    pub cbase: Option<usize>,
    /// Override the preset's channel maximum.
    #[arg(long)]
    pub cmax: Option<usize>,
    /// Learning rate for G and D (default from the preset).
    #[arg(long)]
    pub lrate: Option<f64>,
    /// Run seed (network init, sampling, augmentation) [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Start over in a folder that holds a run: its run files are deleted first.
    #[arg(long)]
    pub force: bool,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    /// Print a JSON summary at the end.
    #[arg(long)]
    pub json: bool,
}

/// How the run starts.
enum Start {
    Fresh,
    /// Continue a run folder's training state.
    Continue(PathBuf),
    /// Initialise from a model file (transfer learning).
    Transfer(PathBuf),
}

pub fn run(a: &TrainArgs) -> Result<()> {
    let start = match &a.resume {
        None => Start::Fresh,
        Some(p) if p.is_dir() => Start::Continue(resumable_state(p)?),
        Some(p) if p.is_file() => Start::Transfer(p.clone()),
        Some(p) => bail!("--resume {}: no such run folder or model file", p.display()),
    };
    let outdir = match (&a.outdir, &start) {
        (Some(o), _) => o.clone(),
        (None, Start::Continue(state)) => state.parent().map(Path::to_path_buf).unwrap_or_default(),
        (None, _) => bail!("--outdir is required (the run folder)"),
    };
    let in_place = match &start {
        Start::Continue(state) => state.parent().is_some_and(|run| same_file(run, &outdir)),
        _ => false,
    };
    if in_place && a.force {
        bail!(
            "--force starts a run over: it does not go with --resume {} (which continues it)",
            outdir.display()
        );
    }
    if !in_place {
        check_new_run_folder(&outdir, a.force)?;
    }
    with_backend!(a.device, |B, dev| train::<B>(
        a, start, &outdir, !in_place, &dev
    ))
}

/// The training state of a run folder, or one line saying what the folder lacks.
fn resumable_state(dir: &Path) -> Result<PathBuf> {
    let state = dir.join(STATE_FILE);
    if state.is_file() {
        return Ok(state);
    }
    let d = dir.display();
    if let Ok(Some((_, snap))) = folder::latest_snapshot(dir) {
        bail!(
            "{d} holds snapshots but no {STATE_FILE}, so it cannot continue exactly; start a new run from its latest with --resume {} --outdir NEW",
            snap.display()
        );
    }
    if folder::holds_run(dir) {
        bail!("{d} holds no {STATE_FILE}: its run stopped before saving anything to resume from; start it again with --outdir {d} --force");
    }
    bail!("{d} holds no {STATE_FILE}: not a run folder to resume")
}

/// A new run may go into `dir` when it holds no run (or `force`), and `dir` exists or its parent does.
fn check_new_run_folder(dir: &Path, force: bool) -> Result<()> {
    let d = dir.display();
    if dir.exists() {
        if !dir.is_dir() {
            bail!("--outdir {d} exists and is not a folder");
        }
        if !force && folder::holds_run(dir) {
            bail!("{d} already holds a training run (resume it with --resume {d}, or pass --force to start over)");
        }
        return Ok(());
    }
    match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) if !parent.is_dir() => {
            bail!(
                "cannot create --outdir {d}: its parent folder {} does not exist (create it first)",
                parent.display()
            )
        }
        _ => Ok(()),
    }
}

/// Makes `dir` ready for a new run, once everything else is checked: created (one level), or with the
/// files of the run it held deleted when `--force` was given.
fn prepare_new_run_folder(dir: &Path, force: bool) -> Result<()> {
    if !dir.exists() {
        std::fs::create_dir(dir)
            .with_context(|| format!("cannot create folder {}", dir.display()))?;
    } else if force {
        let n =
            folder::clear_run(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
        if n > 0 {
            eprintln!(
                "--force: deleted the {n} files of the run in {}",
                dir.display()
            );
        }
    }
    Ok(())
}

fn open_data(path: &Path) -> Result<Dataset> {
    let ds =
        Dataset::open(path).with_context(|| format!("cannot read dataset {}", path.display()))?;
    if ds.is_empty() {
        bail!("dataset {} holds no images", path.display());
    }
    Ok(ds)
}

fn train<B: burn::tensor::backend::Backend>(
    a: &TrainArgs,
    start: Start,
    outdir: &Path,
    new_folder: bool,
    dev: &B::Device,
) -> Result<()> {
    let (mut trainer, data, data_path) = match start {
        Start::Continue(state) => {
            let (mut t, kwargs) = Trainer::<B>::load_state(&state, dev)?;
            let mut changes = new_run(a, None)
                .as_resume()
                .apply_to(&mut t)
                .map_err(anyhow::Error::msg)?;
            let run = state.parent().unwrap_or(Path::new("."));
            // Debris of writes a second Ctrl-C or a kill cut short (the files they replaced are whole).
            folder::remove_stale_temps(run)
                .with_context(|| format!("cannot tidy {}", run.display()))?;
            if t.reached_total() {
                eprintln!(
                    "run {} already reached {} kimg; pass a larger --kimg to continue",
                    run.display(),
                    t.kimg()
                );
                if a.json {
                    print_json(&serde_json::json!({
                        "kimg": t.kimg(), "ticks": t.progress.tick, "seconds": t.progress.seconds, "interrupted": false,
                        "augment_p": t.progress.augment_p, "snapshot": null, "outdir": run.display().to_string(), "already_done": true,
                    }));
                }
                return Ok(());
            }
            let (data_path, data_change) =
                checkpoint::resumed_dataset(kwargs.as_ref(), a.data.as_deref())
                    .map_err(anyhow::Error::msg)?;
            changes.extend(data_change);
            let data = open_data(&data_path)?;
            t.check_labels(&data, &data_path)
                .map_err(anyhow::Error::msg)?;
            eprintln!(
                "resuming {} at kimg {:.3} (augment p {:.3})",
                outdir.display(),
                t.kimg(),
                t.progress.augment_p
            );
            if !changes.is_empty() {
                eprintln!("resuming with {}", changes.join(", "));
            }
            (t, data, data_path)
        }
        other => {
            let data_path = a
                .data
                .clone()
                .context("--data is required (a dataset zip or folder)")?;
            let data = open_data(&data_path)?;
            let pretrained = match other {
                Start::Transfer(path) => Some(path),
                _ => None,
            };
            let t = new_run(a, pretrained).trainer::<B>(&data, dev, &mut |m| eprintln!("{m}"))?;
            (t, data, data_path)
        }
    };
    trainer.check_images(&data).map_err(anyhow::Error::msg)?;
    if new_folder {
        prepare_new_run_folder(outdir, a.force)?;
    }
    let kwargs = trainer.training_set_kwargs(&data_path, &data);
    let stop = install_stop_handler()?;
    describe(&trainer, &data, outdir);

    let total = trainer.opts.total_nimg();
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template("kimg {msg} [{bar:24}] {percent}% eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    pb.set_position(trainer.progress.nimg.min(total));
    if let Some(c) = crate::backend::gpu_caches().filter(|c| c.fresh) {
        // The first steps on a new GPU compile and autotune every kernel: say so, and keep the bar moving.
        pb.suspend(|| eprintln!("first run on this GPU: the first steps compile and tune its kernels; they are kept in {} for later runs", c.kernels.display()));
        pb.set_message("compiling GPU kernels");
        pb.enable_steady_tick(std::time::Duration::from_millis(250));
    }
    let summary = trainer.run(&data, outdir, Some(kwargs), &stop, &mut |e| match e {
        Event::Step { kimg, total_kimg, sec_per_kimg, augment_p, stats } => {
            pb.set_position((kimg * 1000.0).round() as u64);
            pb.set_message(format!(
                "{kimg:.3}/{total_kimg} | {sec_per_kimg:.1} s/kimg | p {augment_p:.3} | G {:.3} D {:.3}",
                stats.loss_g, stats.loss_d
            ));
        }
        Event::Tick(t) => pb.suspend(|| {
            eprintln!(
                "tick {:<4} kimg {:<9.3} {:>7.1} s/kimg  loss G {:.3} D {:.3}  r1 {}  pl {}  p {:.3}  mem {:.0} MB",
                t.tick, t.kimg, t.sec_per_kimg, t.loss_g, t.loss_d, fmt_opt(t.r1), fmt_opt(t.pl), t.augment_p, t.peak_rss_mb
            )
        }),
        Event::Snapshot(p) => pb.suspend(|| eprintln!("saved {}", p.display())),
    });
    pb.finish_and_clear();
    let summary = summary?;
    if summary.interrupted {
        eprintln!(
            "stopped at kimg {:.3}; continue with: bestiary train --resume {}",
            summary.kimg,
            outdir.display()
        );
    } else {
        eprintln!("done: {:.3} kimg in {:.0} s", summary.kimg, summary.seconds);
    }
    if a.json {
        print_json(&serde_json::json!({
            "kimg": summary.kimg, "ticks": summary.ticks, "seconds": summary.seconds,
            "interrupted": summary.interrupted, "augment_p": trainer.progress.augment_p,
            "snapshot": summary.snapshot.map(|p| p.display().to_string()), "outdir": outdir.display().to_string(),
        }));
    }
    Ok(())
}

/// The options of a new run, fine-tuning `pretrained` when given.
fn new_run(a: &TrainArgs, pretrained: Option<PathBuf>) -> NewRunOptions {
    NewRunOptions {
        cfg: a.cfg.clone(),
        cuda: a.device == DeviceKind::Cuda,
        pretrained,
        cbase: a.cbase,
        cmax: a.cmax,
        freezed: a.freezed,
        batch: a.batch,
        gamma: a.gamma,
        lrate: a.lrate,
        aug: a.aug,
        p: a.p,
        target: a.target,
        ada_kimg: a.ada_kimg,
        mirror: a.mirror,
        compact_state: a.compact_state,
        seed: a.seed,
        kimg: a.kimg,
        tick: a.tick,
        snap: a.snap,
        d_features: a.d_features,
    }
}

fn fmt_opt(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.4}")
    } else {
        "-".into()
    }
}

fn describe<B: burn::tensor::backend::Backend>(t: &Trainer<B>, data: &Dataset, outdir: &Path) {
    let o = &t.opts;
    eprintln!(
        "training {}x{} ({} images{}) cfg {} batch {} gamma {} aug {:?}{} into {}",
        t.g_cfg.img_resolution,
        t.g_cfg.img_resolution,
        ImageSet::len(data),
        if o.mirror { ", mirrored" } else { "" },
        o.cfg,
        o.batch,
        o.r1_gamma,
        o.aug,
        match o.critic {
            CriticKind::Vgg16 => ", D on VGG16 features",
            CriticKind::StyleGan2 => "",
        },
        outdir.display()
    );
}

/// First Ctrl-C: finish the current step, save, exit. Second: exit at once (the last save stays whole).
fn install_stop_handler() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let presses = Arc::new(AtomicUsize::new(0));
    let s = stop.clone();
    let handler = ctrlc::set_handler(move || {
        if presses.fetch_add(1, Ordering::SeqCst) == 0 {
            eprintln!("\nstopping: saving after this step (Ctrl-C again to quit without saving)");
            s.store(true, Ordering::SeqCst);
        } else {
            // Every file is written atomically: quitting mid-write leaves the last save whole.
            eprintln!("\nquitting without saving: the run resumes from its last save");
            std::process::exit(130);
        }
    });
    // A second install in one process (tests) is harmless: the first handler stays.
    if let Err(e) = handler {
        if !matches!(e, ctrlc::Error::MultipleHandlers) {
            bail!("cannot install the Ctrl-C handler: {e}");
        }
    }
    Ok(stop)
}
