//! Local (masked) edits on the fixture networks: outside the mask grown by an eighth of the image size the
//! result is `generate`'s image (same seed, const noise) to within 2/255, for every blend layer.

use bestiary_explore::*;
use bestiary_stylegan::sampling::{generate_seeds, labels, z_for_seeds, Sampling};
use bestiary_stylegan::{
    load_generator, Generator, GeneratorConfig, ModelFile, NoiseMode, SynthesisOptions,
};
use bestiary_weights::{safetensors_io, DType};
use burn::backend::Flex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

type B = Flex;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../stylegan/tests/fixtures")
}

/// The text of the JSON object under `"key": {` in `json` (brace matching; the fixture configs hold no
/// braces inside strings).
fn json_object<'a>(json: &'a str, key: &str) -> &'a str {
    let start = json.find(&format!("\"{key}\": {{")).expect("key") + key.len() + 4;
    let mut depth = 0;
    for (i, ch) in json[start..].char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &json[start..=start + i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced JSON");
}

/// A fixture case as a model file: the official-layout pickle for uncond16, G.safetensors + config.json
/// (G kwargs) for the others.
fn model(case: &str) -> ModelFile {
    if case == "uncond16" {
        return ModelFile::load(&fixtures().join("uncond16/network.pkl")).unwrap();
    }
    let dir = fixtures().join(case);
    let cfg = std::fs::read_to_string(dir.join("config.json")).unwrap();
    let kwargs = json_object(&cfg, "G");
    let (tensors, _) =
        safetensors_io::read(&std::fs::read(dir.join("G.safetensors")).unwrap()).unwrap();
    let tensors: BTreeMap<_, _> = tensors
        .into_iter()
        .map(|(k, v)| (format!("G_ema.{k}"), v))
        .collect();
    let header = format!(
        r#"{{"format": "bestiary.stylegan2/1", "networks": {{"G_ema": {{"class_name": "Generator", "init_kwargs": {kwargs}}}}}}}"#
    );
    let meta = BTreeMap::from([("bestiary".to_string(), header)]);
    ModelFile::from_safetensors(&safetensors_io::write(&tensors, &meta, DType::F32).unwrap())
        .unwrap()
}

fn opts() -> SynthesisOptions {
    SynthesisOptions {
        noise_mode: NoiseMode::Const,
        ..Default::default()
    }
}

/// Host ws of one seed (class 1 for a conditional network).
fn ws_of(g: &Generator<B>, cfg: &GeneratorConfig, seed: u32, psi: f64) -> Vec<f32> {
    let dev = Default::default();
    let c = labels::<B>(cfg.c_dim, (cfg.c_dim > 0).then_some(1), 1, &dev).unwrap();
    let ws = g.mapping(z_for_seeds::<B>(&[seed], cfg.z_dim, &dev), c, psi, None);
    ws.into_data().convert::<f32>().to_vec::<f32>().unwrap()
}

fn generate(g: &Generator<B>, cfg: &GeneratorConfig, seed: u32, psi: f64) -> Vec<u8> {
    let s = Sampling {
        psi,
        cutoff: None,
        class: (cfg.c_dim > 0).then_some(1),
        synthesis: opts(),
    };
    generate_seeds(g, cfg, &[seed], &s, &Default::default())
        .unwrap()
        .remove(0)
}

/// Largest channel difference of two HWC images at the pixels where `pick` holds.
fn max_diff(a: &[u8], b: &[u8], channels: usize, pick: impl Fn(usize) -> bool) -> u8 {
    a.chunks(channels)
        .zip(b.chunks(channels))
        .enumerate()
        .filter(|(i, _)| pick(*i))
        .flat_map(|(_, (p, q))| p.iter().zip(q).map(|(x, y)| x.abs_diff(*y)))
        .max()
        .unwrap_or(0)
}

/// Test masks at `size`: a square off the centre, a disk, a thin vertical bar at the left edge.
fn masks(size: usize) -> Vec<(&'static str, BinaryMask)> {
    let s = size as f32;
    vec![
        (
            "square",
            BinaryMask::from_fn(size, |x, y| {
                x >= size / 2 && x < size * 7 / 8 && y >= size / 4 && y < size * 5 / 8
            }),
        ),
        (
            "disk",
            BinaryMask::from_fn(size, |x, y| {
                let (dx, dy) = (x as f32 + 0.5 - 0.4 * s, y as f32 + 0.5 - 0.55 * s);
                dx * dx + dy * dy <= (0.22 * s) * (0.22 * s)
            }),
        ),
        ("bar", BinaryMask::from_fn(size, |x, _| x < size / 8)),
    ]
}

#[test]
fn masks_threshold_luma_times_alpha_and_resize_by_area() {
    // 64x64 grey: the right half white; to 16x16 it is the right 8 columns.
    let px: Vec<u8> = (0..64 * 64)
        .map(|i| if i % 64 >= 32 { 255 } else { 0 })
        .collect();
    let m = BinaryMask::from_pixels(64, 64, 1, &px, 16).unwrap();
    assert_eq!(m, BinaryMask::from_fn(16, |x, _| x >= 8));
    // RGBA: white but transparent is "keep"; a mid grey below one half is "keep", a light one "change".
    let rgba: Vec<u8> = (0..4 * 4)
        .flat_map(|i| match i % 4 {
            0 => [255, 255, 255, 0],
            1 => [100, 100, 100, 255],
            2 => [200, 200, 200, 255],
            _ => [255, 255, 255, 255],
        })
        .collect();
    let m = BinaryMask::from_pixels(4, 4, 4, &rgba, 4).unwrap();
    assert_eq!(m, BinaryMask::from_fn(4, |x, _| x >= 2));
    // Upsampling 2x2 RGB to 8x8 gives 4x4 quadrants; magenta (luma 0.41) is below one half.
    let rgb = [255, 0, 255, 0, 0, 0, 0, 0, 0, 255, 255, 255];
    let m = BinaryMask::from_pixels(2, 2, 3, &rgb, 8).unwrap();
    assert_eq!(m, BinaryMask::from_fn(8, |x, y| x >= 4 && y >= 4));
    // Area resize keeps the mean.
    let v: Vec<f32> = (0..30 * 20).map(|i| ((i * 37) % 11) as f32).collect();
    let r = local_edit::resize_area(&v, 30, 20, 7, 9);
    let mean = |x: &[f32]| x.iter().sum::<f32>() / x.len() as f32;
    assert!(
        (mean(&v) - mean(&r)).abs() < 1e-3,
        "{} {}",
        mean(&v),
        mean(&r)
    );
    assert!(BinaryMask::from_pixels(4, 4, 3, &[0; 10], 4).is_err());
}

#[test]
fn distances_match_brute_force_and_the_feather_ramps_within_its_width() {
    let size = 24;
    let m = BinaryMask::from_fn(size, |x, y| (x * 7 + y * 3) % 17 == 0 || (x > 15 && y < 6));
    for to_on in [true, false] {
        for (i, di) in m.distance(to_on).into_iter().enumerate() {
            let (x, y) = ((i % size) as f32, (i / size) as f32);
            let brute = (0..size * size)
                .filter(|&j| m.on[j] == to_on)
                .map(|j| (((j % size) as f32 - x).powi(2) + ((j / size) as f32 - y).powi(2)).sqrt())
                .fold(f32::INFINITY, f32::min);
            assert!((di - brute).abs() < 1e-4, "pixel {i}: {di} vs {brute}");
        }
    }
    let disk = BinaryMask::from_fn(size, |x, y| {
        (x as f32 - 11.5).powi(2) + (y as f32 - 11.5).powi(2) < 36.0
    });
    for feather in [0.0f32, 1.0, 1.5, 3.0] {
        let f = disk.feathered(feather);
        let (din, dout) = (disk.distance(false), disk.distance(true));
        for i in 0..size * size {
            assert!((0.0..=1.0).contains(&f[i]));
            if dout[i] >= feather + 0.5 {
                assert_eq!(
                    f[i], 0.0,
                    "feather {feather}: pixel {i} at {} outside",
                    dout[i]
                );
            }
            if disk.on[i] && din[i] >= feather + 0.5 {
                assert_eq!(
                    f[i], 1.0,
                    "feather {feather}: pixel {i} at {} inside",
                    din[i]
                );
            }
        }
    }
    assert_eq!(
        disk.grown(2.0).count(),
        disk.distance(true).iter().filter(|&&d| d <= 2.0).count()
    );
    assert!(disk.grown(2.0).count() > disk.count());
}

/// The property of issue #6, on every fixture network, three masks, two kinds of edit, every blend layer.
#[test]
fn local_edits_leave_everything_outside_the_grown_mask_as_generate_renders_it() {
    let psi = 0.7;
    for case in ["uncond16", "rgba16", "cond32"] {
        let m = model(case);
        let dev = Default::default();
        let (g, cfg) = load_generator::<B>(&m, &dev).unwrap();
        let (size, ch, num_ws) = (cfg.img_resolution, cfg.img_channels, g.num_ws());
        let grow = size as f32 / 8.0;
        let feather = default_feather(size);
        let (seed, other) = (3u32, 42u32);
        let base_ws = ws_of(&g, &cfg, seed, psi);
        let gen = generate(&g, &cfg, seed, psi);
        // Two edits: another seed's W everywhere, and the first SeFa direction at +6 (raw W units).
        let (_, dirs) = sefa_directions(m.generator().unwrap(), None, 1).unwrap();
        let all: Vec<usize> = (0..num_ws).collect();
        let edits = [
            (
                "with-seed",
                mix_ws(&base_ws, &ws_of(&g, &cfg, other, psi), &all, g.w_dim),
            ),
            ("direction", apply_direction(&base_ws, &dirs[0], 6.0, &all)),
        ];
        for (edit_name, edit_ws) in &edits {
            let global = render_ws(&g, std::slice::from_ref(edit_ws), &opts(), &dev).remove(0);
            for (mask_name, mask) in masks(size) {
                let outside = mask.grown(grow);
                let soft = mask.feathered(feather);
                let global_out = max_diff(&global, &gen, ch, |i| !outside.on[i]);
                assert!(
                    global_out > 2,
                    "{case} {edit_name} {mask_name}: the unmasked edit should change the outside"
                );
                for layer in 0..num_ws {
                    let r = local_edit(&g, &base_ws, edit_ws, &soft, layer, &opts(), &dev).unwrap();
                    let base_d = max_diff(&r.base, &gen, ch, |_| true);
                    let out_d = max_diff(&r.edited, &gen, ch, |i| !outside.on[i]);
                    let in_d = max_diff(&r.edited, &gen, ch, |i| mask.on[i]);
                    let in_global = max_diff(&r.edited, &global, ch, |i| mask.on[i]);
                    eprintln!(
                        "{case} {edit_name:9} {mask_name:6} layer {layer}: outside max {out_d}/255, inside max vs generate {in_d}/255, \
                         inside max vs global edit {in_global}/255 (global edit outside {global_out}/255)"
                    );
                    assert!(
                        base_d <= 1,
                        "{case}: the base branch differs from generate by {base_d}"
                    );
                    assert!(out_d <= 2, "{case} {edit_name} {mask_name} layer {layer}: {out_d}/255 outside the grown mask");
                    assert!(in_d > 2, "{case} {edit_name} {mask_name} layer {layer}: the masked region did not change");
                }
            }
        }
    }
}

#[test]
fn a_full_mask_gives_the_global_edit_and_an_empty_one_the_base() {
    let m = model("uncond16");
    let dev = Default::default();
    let (g, cfg) = load_generator::<B>(&m, &dev).unwrap();
    let base_ws = ws_of(&g, &cfg, 5, 1.0);
    let edit_ws = ws_of(&g, &cfg, 6, 1.0);
    let global = render_ws(&g, std::slice::from_ref(&edit_ws), &opts(), &dev).remove(0);
    let gen = generate(&g, &cfg, 5, 1.0);
    for layer in [0, default_blend_layer(&g.synthesis), g.num_ws() - 1] {
        let full = local_edit(
            &g,
            &base_ws,
            &edit_ws,
            &vec![1.0; 256],
            layer,
            &opts(),
            &dev,
        )
        .unwrap();
        assert!(
            max_diff(&full.edited, &global, 3, |_| true) <= 1,
            "layer {layer}"
        );
        let none = local_edit(
            &g,
            &base_ws,
            &edit_ws,
            &vec![0.0; 256],
            layer,
            &opts(),
            &dev,
        )
        .unwrap();
        assert!(
            max_diff(&none.edited, &gen, 3, |_| true) <= 1,
            "layer {layer}"
        );
    }
    assert_eq!(
        default_blend_layer(&g.synthesis),
        0,
        "16x16: an eighth is below 4x4, so the first layer"
    );
}

#[test]
fn local_edit_refuses_bad_layers_masks_and_ws() {
    let m = model("uncond16");
    let dev = Default::default();
    let (g, cfg) = load_generator::<B>(&m, &dev).unwrap();
    let ws = ws_of(&g, &cfg, 1, 1.0);
    let mask = vec![1.0; 256];
    let err = |r: bestiary_explore::Result<LocalEditImages>| match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    };
    assert!(err(local_edit(&g, &ws, &ws, &mask, 6, &opts(), &dev)).contains("out of range"));
    assert!(err(local_edit(&g, &ws, &ws, &mask[..100], 0, &opts(), &dev)).contains("16x16"));
    assert!(err(local_edit(&g, &ws, &ws[..10], &mask, 0, &opts(), &dev)).contains("ws"));
}

/// Why the blend must happen at every later layer, the output image included: the same two branches with
/// fewer blend points leak the edit outside the grown mask (3x3 convs and the upsampling filters spread
/// it), while the full scheme keeps it out exactly.
#[test]
fn blending_at_fewer_points_leaks_outside_the_mask() {
    use bestiary_stylegan::synthesis::BlockPoint;
    use burn::tensor::{Tensor, TensorData};
    let m = model("uncond16");
    let dev = Default::default();
    let (g, cfg) = load_generator::<B>(&m, &dev).unwrap();
    let (size, d, num_ws) = (cfg.img_resolution, g.w_dim, g.num_ws());
    let base_ws = ws_of(&g, &cfg, 3, 0.7);
    let edit_ws = ws_of(&g, &cfg, 42, 0.7);
    let gen = generate(&g, &cfg, 3, 0.7);
    let mask = masks(size).remove(0).1;
    let outside = mask.grown(size as f32 / 8.0);
    let soft = mask.feathered(default_feather(size));
    // Runs both branches, blending where `at(block, point)` says so; returns the edited image.
    let run = |at: &dyn Fn(usize, BlockPoint) -> bool| -> Vec<u8> {
        let flat: Vec<f32> = base_ws.iter().chain(&edit_ws).copied().collect();
        let ws = Tensor::<B, 3>::from_data(TensorData::new(flat, [2, num_ws, d]), &dev);
        let (mut x, mut img, mut w_idx) = (None, None, 0);
        for (bi, block) in g.synthesis.blocks.iter().enumerate() {
            let r = block.resolution;
            let mr = local_edit::resize_area(&soft, size, size, r, r);
            let mt = Tensor::<B, 4>::from_data(TensorData::new(mr, [1, 1, r, r]), &dev);
            let bws =
                ws.clone()
                    .slice([0..2, w_idx..w_idx + block.num_conv + block.num_torgb, 0..d]);
            let (nx, nimg) = block.forward_hooked(x, img, bws, &opts(), |p, t| {
                if !at(bi, p) {
                    return t;
                }
                let [_, c, h, w] = t.dims();
                let base = t.clone().slice([0..1, 0..c, 0..h, 0..w]);
                let edit = t.slice([1..2, 0..c, 0..h, 0..w]);
                let mixed = base.clone() + (edit - base.clone()) * mt.clone().expand([1, c, h, w]);
                Tensor::cat(vec![base, mixed], 0)
            });
            w_idx += block.num_conv;
            x = Some(nx);
            img = nimg;
        }
        bestiary_stylegan::sampling::split_images(img.unwrap()).remove(1)
    };
    let last = g.synthesis.blocks.len() - 1;
    let once = run(&|bi, p| bi == 0 && p != BlockPoint::Img);
    let no_final = run(&|bi, p| !(bi == last && p == BlockPoint::Img));
    let full = run(&|_, _| true);
    let leak = |img: &[u8]| max_diff(img, &gen, 3, |i| !outside.on[i]);
    eprintln!("outside the grown mask: blend once at layer 0 {}/255, every layer but the output image {}/255, every layer {}/255", leak(&once), leak(&no_final), leak(&full));
    assert!(leak(&once) > 2, "blending once should leak");
    assert_eq!(leak(&full), 0);
    let lib = local_edit(&g, &base_ws, &edit_ws, &soft, 0, &opts(), &dev).unwrap();
    assert_eq!(
        lib.edited, full,
        "the library blends at every point from layer 0"
    );
}
