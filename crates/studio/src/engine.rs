//! The network side of the studio: one [`Engine`] owns the generator (on the worker thread) and renders;
//! [`Info`] is what every connection thread needs to validate requests without touching the network.

use crate::StudioError;
use bestiary_canvas::{png_meta, Image, Metadata};
use bestiary_explore as ex;
use bestiary_perceptual::ResMem;
use bestiary_perceptual::Vgg16;
use bestiary_stylegan::sampling::{generate_seeds, Sampling};
use bestiary_stylegan::{
    load_generator, Generator, GeneratorConfig, ModelFile, NoiseMode, SynthesisOptions,
};
use burn::backend::Autodiff;
use burn::tensor::backend::Backend;

/// Directions of one method (unit rows in W) with σ, the spread of W along each.
#[derive(Clone, Debug)]
pub struct DirectionSet {
    pub method: &'static str,
    pub dirs: Vec<Vec<f32>>,
    pub sigma: Vec<f32>,
}

/// The class a studio session explores on a conditional network: its index and recorded name.
#[derive(Clone, Debug, PartialEq)]
pub struct Class {
    pub index: usize,
    pub name: Option<String>,
}

impl Class {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"index": self.index, "name": self.name})
    }
}

/// The network's shape and the directions found when it loaded; shared read-only by all threads.
#[derive(Clone, Debug)]
pub struct Info {
    pub network: String,
    /// The session's class (conditional networks); None for an unconditional network.
    pub class: Option<Class>,
    pub resolution: usize,
    pub channels: usize,
    pub num_ws: usize,
    pub w_dim: usize,
    pub groups: ex::LayerGroups,
    pub directions: Vec<DirectionSet>,
    pub blend_layer: usize,
    pub feather: f32,
}

impl Info {
    pub fn w_len(&self) -> usize {
        self.num_ws * self.w_dim
    }
    pub fn direction(&self, method: &str, index: usize) -> Option<(&[f32], f32)> {
        let set = self.directions.iter().find(|d| d.method == method)?;
        Some((set.dirs.get(index)?.as_slice(), *set.sigma.get(index)?))
    }
    pub fn to_json(&self) -> serde_json::Value {
        let dirs: Vec<_> = self
            .directions
            .iter()
            .map(|d| serde_json::json!({"method": d.method, "count": d.dirs.len(), "sigma": d.sigma}))
            .collect();
        serde_json::json!({
            "network": self.network, "class": self.class.as_ref().map(Class::to_json), "resolution": self.resolution, "channels": self.channels,
            "num_ws": self.num_ws, "w_dim": self.w_dim,
            "groups": {"coarse": self.groups.coarse, "middle": self.groups.middle, "fine": self.groups.fine},
            "directions": dirs, "limits": crate::limits_json(),
        })
    }
}

/// How many directions of each method are offered, and the W samples of the GANSpace PCA.
pub const NUM_DIRECTIONS: usize = 8;
pub const GANSPACE_SAMPLES: usize = 2000;

/// The generator with everything rendering needs. Not shared: it lives on the worker thread.
pub struct Engine<B: Backend> {
    pub g: Generator<B>,
    pub cfg: GeneratorConfig,
    pub dev: B::Device,
    pub info: Info,
    /// The sampling generator's weights, kept to build the autodiff networks of the memorability brush
    /// on its first use (None: the brush is unavailable, e.g. for benchmark engines).
    pub brush_model: Option<ModelFile>,
    brush: std::cell::OnceCell<Brush<B>>,
}

/// What "more memorable" needs, built once on first use: ResMem (527 MB) and VGG16 are fetched then.
struct Brush<B: Backend> {
    g: Generator<Autodiff<B>>,
    resmem: ResMem<Autodiff<B>>,
    vgg: Vgg16<Autodiff<B>>,
}

/// Steps of one "more memorable" request: the default and the bounds (each step is a ResMem forward and
/// backward pass, about a second or two on CPU).
pub const MEMORABLE_STEPS: (usize, usize, usize) = (10, 1, 50);

fn flat<E: std::fmt::Display>(e: E) -> StudioError {
    StudioError::Model(e.to_string())
}

impl<B: Backend> Engine<B> {
    /// Loads the sampling generator of `model` and computes its SeFa and GANSpace directions. `class`
    /// (a recorded class name or an index, see [`ex::resolve_class`]) picks the class of a conditional
    /// network for the whole session: every seed is mapped with its one-hot label.
    pub fn load(
        model: &ModelFile,
        network: &str,
        class: Option<&str>,
        dev: B::Device,
    ) -> Result<Engine<B>, StudioError> {
        let (g, cfg) = load_generator::<B>(model, &dev).map_err(flat)?;
        let names = ex::class_names(model, cfg.c_dim);
        let class = ex::resolve_class(class, cfg.c_dim, names.as_deref())
            .map_err(flat)?
            .map(|index| Class {
                index,
                name: names.as_ref().and_then(|n| n.get(index).cloned()),
            });
        let k = NUM_DIRECTIONS.min(g.w_dim);
        let mut directions = Vec::new();
        let index = class.as_ref().map(|c| c.index);
        let sefa = ex::directions_file::Directions::sefa(
            model.generator().map_err(flat)?,
            &g,
            None,
            k,
            index,
            &dev,
        )
        .map_err(flat)?;
        directions.push(DirectionSet {
            method: "sefa",
            dirs: sefa.directions,
            sigma: sefa.sigma,
        });
        let pca =
            ex::ganspace_directions_of_class(&g, index, GANSPACE_SAMPLES, k, 500, &dev, |_| {})
                .map_err(flat)?;
        directions.push(DirectionSet {
            method: "ganspace",
            dirs: pca.directions,
            sigma: pca.sigma,
        });
        let mut engine = Engine::with_directions(g, cfg, dev, network, directions);
        engine.info.class = class;
        // Only the sampling generator: the brush rebuilds it with gradients on its first use.
        let mut m = model.clone();
        m.networks.retain(|k, _| k != "D");
        if m.networks.contains_key("G_ema") {
            m.networks.remove("G");
        }
        engine.brush_model = Some(m);
        Ok(engine)
    }

    /// An engine around an already built generator (directions as given; e.g. none for benchmarks).
    pub fn with_directions(
        g: Generator<B>,
        cfg: GeneratorConfig,
        dev: B::Device,
        network: &str,
        directions: Vec<DirectionSet>,
    ) -> Engine<B> {
        let groups = ex::LayerGroups::from_resolutions(&ex::ws_resolutions(&g.synthesis));
        let info = Info {
            network: network.to_string(),
            class: None,
            resolution: cfg.img_resolution,
            channels: cfg.img_channels,
            num_ws: g.num_ws(),
            w_dim: g.w_dim,
            groups,
            directions,
            blend_layer: ex::default_blend_layer(&g.synthesis),
            feather: ex::default_feather(cfg.img_resolution),
        };
        Engine {
            g,
            cfg,
            dev,
            info,
            brush_model: None,
            brush: std::cell::OnceCell::new(),
        }
    }

    fn image(&self, hwc: &[u8]) -> Result<Image, StudioError> {
        let r = self.cfg.img_resolution as u32;
        Image::from_channels(r, r, self.cfg.img_channels, hwc).map_err(flat)
    }

    /// PNG bytes of 8-bit HWC pixels, with optional metadata.
    pub fn png(&self, hwc: &[u8], meta: Option<&Metadata>) -> Result<Vec<u8>, StudioError> {
        png_meta::encode_png(&self.image(hwc)?, meta).map_err(flat)
    }

    /// The session's class index (conditional networks).
    fn class_index(&self) -> Option<usize> {
        self.info.class.as_ref().map(|c| c.index)
    }

    /// The pixels `generate --seeds S --trunc PSI --noise-mode N [--class K]` writes for this seed.
    pub fn seed_pixels(
        &self,
        seed: u32,
        psi: f64,
        noise: NoiseMode,
    ) -> Result<Vec<u8>, StudioError> {
        let synthesis = SynthesisOptions {
            noise_mode: noise,
            ..Default::default()
        };
        let s = Sampling {
            psi,
            cutoff: None,
            class: self.class_index(),
            synthesis,
        };
        Ok(generate_seeds(&self.g, &self.cfg, &[seed], &s, &self.dev)
            .map_err(flat)?
            .remove(0))
    }

    /// Host W vectors (`[num_ws * w_dim]`) of seeds at truncation `psi`.
    pub fn seed_ws(&self, seeds: &[u32], psi: f64) -> Result<Vec<Vec<f32>>, StudioError> {
        ex::seed_ws_of_class(&self.g, seeds, self.class_index(), psi, &self.dev).map_err(flat)
    }

    /// The pixels of one W vector.
    pub fn render(&self, w: &[f32], noise: NoiseMode) -> Vec<u8> {
        ex::render_ws(
            &self.g,
            &[w.to_vec()],
            &SynthesisOptions {
                noise_mode: noise,
                ..Default::default()
            },
            &self.dev,
        )
        .remove(0)
    }

    /// Children of `parent`: each moved by `strength` times a random seed's offset from the mean W
    /// (the same offset on every layer), seeds drawn from `seed`.
    pub fn breed(
        &self,
        parent: &[f32],
        count: usize,
        strength: f32,
        seed: u32,
    ) -> Result<Vec<Vec<f32>>, StudioError> {
        let seeds: Vec<u32> = (0..count as u32)
            .map(|i| {
                seed.wrapping_mul(2_654_435_761)
                    .wrapping_add(i.wrapping_mul(40_503))
            })
            .collect();
        let full = self.seed_ws(&seeds, 1.0)?;
        let avg = self.seed_ws(&[0], 0.0)?.remove(0);
        Ok(full
            .iter()
            .map(|w| {
                parent
                    .iter()
                    .zip(w)
                    .zip(&avg)
                    .map(|((p, x), a)| p + strength * (x - a))
                    .collect()
            })
            .collect())
    }

    /// "More memorable": `steps` steps of the memorability brush from `w` (see
    /// [`ex::memorable`]; default strength and closeness, W space, noise const). The first call fetches
    /// and loads ResMem and VGG16.
    pub fn more_memorable(&self, w: &[f32], steps: usize) -> Result<ex::Memorable, StudioError> {
        let brush = match self.brush.get() {
            Some(b) => b,
            None => {
                let model = self.brush_model.as_ref().ok_or_else(|| {
                    StudioError::Invalid("the memorability brush is not available here".into())
                })?;
                let mut log = |m: &str| eprintln!("{m}");
                let rp = bestiary_perceptual::resmem_weights(&mut log).map_err(flat)?;
                let vp = bestiary_perceptual::vgg16_weights(&mut log).map_err(flat)?;
                let (g, _) = load_generator::<Autodiff<B>>(model, &self.dev).map_err(flat)?;
                let b = Brush {
                    g,
                    resmem: ResMem::load(&rp, &self.dev).map_err(flat)?,
                    vgg: Vgg16::load(&vp, &self.dev).map_err(flat)?,
                };
                let _ = self.brush.set(b);
                self.brush.get().expect("just set")
            }
        };
        let o = ex::MemorableOptions {
            steps,
            ..Default::default()
        };
        ex::memorable(
            &brush.g,
            &brush.resmem,
            &brush.vgg,
            w,
            None,
            &o,
            &mut |_| {},
        )
        .map_err(flat)
    }

    /// A local edit: `edit_w` inside the painted mask (`size * size` bytes, non-zero = change) over `base_w`.
    pub fn local_edit(
        &self,
        base_w: &[f32],
        edit_w: &[f32],
        mask: &[u8],
        noise: NoiseMode,
    ) -> Result<Vec<u8>, StudioError> {
        let size = self.cfg.img_resolution;
        let bin = ex::BinaryMask::from_pixels(size, size, 1, mask, size).map_err(flat)?;
        if bin.count() == 0 {
            return Err(StudioError::Invalid(
                "the mask selects no pixel: paint where the image should change".into(),
            ));
        }
        let soft = bin.feathered(self.info.feather);
        let opts = SynthesisOptions {
            noise_mode: noise,
            ..Default::default()
        };
        Ok(ex::local_edit(
            &self.g,
            base_w,
            edit_w,
            &soft,
            self.info.blend_layer,
            &opts,
            &self.dev,
        )
        .map_err(flat)?
        .edited)
    }

    /// A walk through `keys` (W vectors, looped back to the first), `frames` frames in all, encoded as
    /// `format` (gif, webp or mp4) at `fps`; returns the bytes and their content type.
    pub fn walk_video(
        &self,
        keys: &[Vec<f32>],
        frames: usize,
        fps: u32,
        noise: NoiseMode,
        format: &str,
    ) -> Result<(Vec<u8>, &'static str), StudioError> {
        let ws: Vec<Vec<f32>> =
            ex::eased_positions(keys.len(), frames, true, ex::Easing::EaseInOut)
                .into_iter()
                .map(|(from, to, t)| ex::lerp(&keys[from], &keys[to], t))
                .collect();
        let opts = SynthesisOptions {
            noise_mode: noise,
            ..Default::default()
        };
        let mut images = Vec::with_capacity(frames);
        for chunk in ws.chunks(8) {
            for hwc in ex::render_ws(&self.g, chunk, &opts, &self.dev) {
                images.push(self.image(&hwc)?);
            }
        }
        match format {
            "gif" => Ok((
                bestiary_media::gif_out::encode_gif(&images, bestiary_media::gif_delay_cs(fps))
                    .map_err(flat)?,
                "image/gif",
            )),
            "webp" => Ok((
                bestiary_media::webp::encode_animation(&images, fps).map_err(flat)?,
                "image/webp",
            )),
            "mp4" => {
                let track = bestiary_media::h264::encode(&images, fps).map_err(flat)?;
                Ok((
                    bestiary_media::mp4::mux(&track, fps).map_err(flat)?,
                    "video/mp4",
                ))
            }
            other => Err(StudioError::Invalid(format!(
                "unknown walk format '{other}' (gif, webp or mp4)"
            ))),
        }
    }
}
