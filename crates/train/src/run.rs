//! The training loop around [`Trainer::step`]: ticks, log.jsonl, fakes grids, snapshots, stop
//! requests (Ctrl-C) and non-finite losses.

use crate::checkpoint::CheckpointError;
use crate::data::ImageSet;
use crate::rng::Rng;
use crate::step::{StepError, StepStats, Trainer};
use bestiary_canvas::Image;
use bestiary_stylegan::sampling::z_for_seeds;
use bestiary_stylegan::{to_uint8_nhwc, NoiseMode, SynthesisOptions};
use burn::tensor::{backend::Backend, Tensor};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Step(#[from] StepError),
    #[error("{0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
}

/// One entry of log.jsonl (one per tick).
#[derive(Clone, Debug, serde::Serialize)]
pub struct TickLog {
    pub tick: u64,
    pub kimg: f64,
    pub seconds: f64,
    pub sec_per_tick: f64,
    pub sec_per_kimg: f64,
    pub loss_g: f64,
    pub loss_d: f64,
    pub r1: f64,
    pub pl: f64,
    pub pl_mean: f32,
    pub augment_p: f64,
    pub score_real: f64,
    pub score_fake: f64,
    pub peak_rss_mb: f64,
}

/// What the loop reports as it goes.
pub enum Event<'a> {
    /// After every step: progress so far in this tick.
    Step {
        kimg: f64,
        total_kimg: f64,
        sec_per_kimg: f64,
        augment_p: f64,
        stats: &'a StepStats,
    },
    /// At the end of every tick.
    Tick(&'a TickLog),
    /// A snapshot was written.
    Snapshot(&'a Path),
}

/// How a run ended.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunSummary {
    pub kimg: f64,
    pub ticks: u64,
    pub seconds: f64,
    /// The last snapshot written (None if the run was stopped before the first step).
    pub snapshot: Option<PathBuf>,
    /// True when stopped by request before `total_kimg`.
    pub interrupted: bool,
}

/// Peak resident memory of this process in MiB (Linux; 0 elsewhere).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// A grid of images `[N, C, R, R]` in [-1, 1] as one picture, `cols` wide.
pub fn image_grid<B: Backend>(imgs: Tensor<B, 4>, cols: usize) -> Image {
    let [n, c, r, _] = imgs.dims();
    let px = to_uint8_nhwc(imgs);
    let rows = n.div_ceil(cols);
    let mut sheet = Image::new((cols * r) as u32, (rows * r) as u32);
    for i in 0..n {
        let tile = Image::from_channels(
            r as u32,
            r as u32,
            c,
            &px[i * r * r * c..(i + 1) * r * r * c],
        )
        .expect("tile");
        sheet.draw_image(&tile, ((i % cols) * r) as i64, ((i / cols) * r) as i64);
    }
    sheet
}

/// Mean of the finite values (NaN when none).
fn finite_mean(v: &[f64]) -> f64 {
    let f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if f.is_empty() {
        f64::NAN
    } else {
        f.iter().sum::<f64>() / f.len() as f64
    }
}

impl<B: Backend> Trainer<B> {
    /// The fixed-seed fakes grid from G_ema (seeds 0.., const noise), as one image.
    pub fn fakes_grid(&self, data: &dyn ImageSet) -> Image {
        let (gw, gh) = self.opts.grid;
        let seeds: Vec<u32> = (0..(gw * gh) as u32).collect();
        let mut rng = Rng::derive(self.opts.seed, u64::MAX, 99);
        let opts = SynthesisOptions {
            noise_mode: NoiseMode::Const,
            ..Default::default()
        };
        let mut parts = Vec::new();
        for chunk in seeds.chunks(self.opts.batch.clamp(1, 64)) {
            let z = z_for_seeds::<B>(chunk, self.g_cfg.z_dim, &self.device);
            let c = crate::data::random_labels::<B>(data, chunk.len(), &mut rng, &self.device);
            parts.push(self.g_ema.forward(z, c, 1.0, None, &opts));
        }
        image_grid(Tensor::cat(parts, 0), gw)
    }

    /// Trains until `total_kimg` or until `stop` is set (then saves and returns), reporting to
    /// `on_event`. Writes into `outdir`: log.jsonl, fakes grids, snapshots and the training state.
    /// A run at its start writes the training state before anything else, and a fresh log (never
    /// appending to an old one): stopped at any moment, the folder resumes.
    pub fn run(
        &mut self,
        data: &dyn ImageSet,
        outdir: &Path,
        training_set_kwargs: Option<serde_json::Value>,
        stop: &AtomicBool,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<RunSummary, RunError> {
        let io = |p: &Path, e: String| RunError::Io {
            path: p.display().to_string(),
            reason: e,
        };
        let at_start = self.progress.nimg == 0;
        crate::folder::remove_stale_temps(outdir).map_err(|e| io(outdir, e.to_string()))?;
        if at_start {
            self.save_state(outdir, training_set_kwargs.clone())?;
        }
        let log_path = outdir.join(crate::folder::LOG_FILE);
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(!at_start)
            .truncate(at_start)
            .open(&log_path)
            .map_err(|e| io(&log_path, e.to_string()))?;
        // A kill can leave a half-written last line: start on a fresh one.
        if std::fs::read(&log_path)
            .map(|b| b.last().is_some_and(|&c| c != b'\n'))
            .unwrap_or(false)
        {
            let _ = log.write_all(b"\n");
        }
        if at_start {
            let (gw, gh) = self.opts.grid;
            let mut rng = Rng::derive(self.opts.seed, u64::MAX, 98);
            let (reals, _) =
                crate::data::real_batch::<B>(data, gw * gh, false, &mut rng, &self.device);
            let p = outdir.join("reals.png");
            bestiary_canvas::png_meta::write_png(&p, &image_grid(reals, gw), None)
                .map_err(|e| io(&p, e.to_string()))?;
            let p = outdir.join("fakes-init.png");
            bestiary_canvas::png_meta::write_png(&p, &self.fakes_grid(data), None)
                .map_err(|e| io(&p, e.to_string()))?;
        }
        let total_nimg = self.opts.total_nimg();
        let tick_nimg = ((self.opts.tick_kimg * 1000.0).round() as u64).max(1);
        let mut snapshot = None;
        let mut saved_at = self.progress.nimg;
        let session_start = Instant::now();
        let seconds_before = self.progress.seconds;
        let mut tick_start = Instant::now();
        let mut tick_start_nimg = self.progress.nimg;
        let mut tick_stats: Vec<StepStats> = Vec::new();
        let mut interrupted = false;
        while self.progress.nimg < total_nimg {
            if stop.load(Ordering::SeqCst) {
                interrupted = true;
                break;
            }
            let stats = self.step(data)?;
            self.progress.seconds = seconds_before + session_start.elapsed().as_secs_f64();
            tick_stats.push(stats);
            let done_kimg = (self.progress.nimg - tick_start_nimg) as f64 / 1000.0;
            let sec_per_kimg = tick_start.elapsed().as_secs_f64() / done_kimg.max(1e-9);
            on_event(Event::Step {
                kimg: self.kimg(),
                total_kimg: self.opts.total_kimg,
                sec_per_kimg,
                augment_p: self.progress.augment_p,
                stats: &stats,
            });
            let done = self.progress.nimg >= total_nimg;
            if done || self.progress.nimg >= tick_start_nimg + tick_nimg {
                self.progress.tick += 1;
                let col = |f: fn(&StepStats) -> f64| {
                    finite_mean(&tick_stats.iter().map(f).collect::<Vec<_>>())
                };
                let secs = tick_start.elapsed().as_secs_f64();
                let entry = TickLog {
                    tick: self.progress.tick,
                    kimg: self.kimg(),
                    seconds: self.progress.seconds,
                    sec_per_tick: secs,
                    sec_per_kimg: secs / done_kimg.max(1e-9),
                    loss_g: col(|s| s.loss_g),
                    loss_d: col(|s| s.loss_d),
                    r1: col(|s| s.r1),
                    pl: col(|s| s.pl),
                    pl_mean: self.progress.pl_mean,
                    augment_p: self.progress.augment_p,
                    score_real: col(|s| s.score_real),
                    score_fake: col(|s| s.score_fake),
                    peak_rss_mb: peak_rss_mb(),
                };
                let line = serde_json::to_string(&entry).unwrap_or_default();
                writeln!(log, "{line}").map_err(|e| io(&log_path, e.to_string()))?;
                on_event(Event::Tick(&entry));
                if done || self.progress.tick.is_multiple_of(self.opts.snap_ticks) {
                    let p = self.save_with_fakes(data, outdir, training_set_kwargs.clone())?;
                    saved_at = self.progress.nimg;
                    on_event(Event::Snapshot(&p));
                    snapshot = Some(p);
                }
                tick_stats.clear();
                tick_start = Instant::now();
                tick_start_nimg = self.progress.nimg;
            }
        }
        if interrupted && self.progress.nimg != saved_at {
            let p = self.save_with_fakes(data, outdir, training_set_kwargs)?;
            on_event(Event::Snapshot(&p));
            snapshot = Some(p);
        }
        Ok(RunSummary {
            kimg: self.kimg(),
            ticks: self.progress.tick,
            seconds: self.progress.seconds,
            snapshot,
            interrupted,
        })
    }

    fn save_with_fakes(
        &self,
        data: &dyn ImageSet,
        outdir: &Path,
        training_set_kwargs: Option<serde_json::Value>,
    ) -> Result<PathBuf, RunError> {
        let fakes = outdir.join(format!(
            "fakes-{}.png",
            crate::checkpoint::kimg_label(self.progress.nimg)
        ));
        bestiary_canvas::png_meta::write_png(&fakes, &self.fakes_grid(data), None).map_err(
            |e| RunError::Io {
                path: fakes.display().to_string(),
                reason: e.to_string(),
            },
        )?;
        Ok(self.save(outdir, training_set_kwargs)?)
    }
}
