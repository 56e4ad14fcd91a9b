//! Exploring tools against the small official-layout fixture network (16x16, num_ws 6).

use bestiary_explore::*;
use bestiary_stylegan::sampling::{generate_seeds, Sampling};
use bestiary_stylegan::{load_generator, Generator, ModelFile, NoiseMode, SynthesisOptions};
use burn::backend::Flex;
use std::path::Path;

type B = Flex;

fn model() -> ModelFile {
    ModelFile::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../stylegan/tests/fixtures/uncond16/network.pkl"),
    )
    .unwrap()
}

fn gen(m: &ModelFile) -> Generator<B> {
    load_generator::<B>(m, &Default::default()).unwrap().0
}

fn opts() -> SynthesisOptions {
    SynthesisOptions {
        noise_mode: NoiseMode::Const,
        ..Default::default()
    }
}

#[test]
fn layer_lists_parse_and_refuse_out_of_range() {
    assert_eq!(parse_layers("0-2,5,1", 6).unwrap(), vec![0, 1, 2, 5]);
    assert!(parse_layers("0-6", 6)
        .unwrap_err()
        .to_string()
        .contains("out of range"));
    assert!(parse_layers("3-1", 6).is_err());
    assert!(parse_layers("a", 6).is_err());
}

#[test]
fn ws_map_to_block_resolutions_and_groups() {
    let g = gen(&model());
    let res = ws_resolutions(&g.synthesis);
    assert_eq!(res, vec![4, 8, 8, 16, 16, 16]);
    let groups = LayerGroups::from_resolutions(&res);
    assert_eq!(
        groups,
        LayerGroups {
            coarse: vec![0, 1, 2],
            middle: vec![3, 4, 5],
            fine: vec![]
        }
    );
    let big = LayerGroups::from_resolutions(&[4, 8, 8, 16, 16, 32, 32, 64, 64, 64]);
    assert_eq!(big.fine, vec![7, 8, 9]);
}

#[test]
fn mixing_grid_has_the_official_geometry_and_cells_equal_direct_renders() {
    let m = model();
    let g = gen(&m);
    let dev = Default::default();
    let (rows, cols, styles) = ([1u32, 2], [3u32, 4, 5], [0usize, 1, 2]);
    let mut count = 0;
    let spec = MixSpec {
        rows: &rows,
        cols: &cols,
        styles: &styles,
        class: None,
        psi: 0.7,
        synthesis: opts(),
        batch: 4,
    };
    let grid = style_mixing_grid(&g, &spec, &dev, || count += 1).unwrap();
    assert_eq!(count, 3 + 2 + 6);
    let (w, h, px) = grid.compose(16, 3);
    assert_eq!((w, h, px.len()), (4 * 16, 3 * 16, 4 * 16 * 3 * 16 * 3));
    assert!(
        px[..16 * 3].iter().all(|&b| b == 0),
        "top-left tile is empty"
    );
    let rws = seed_ws(&g, &rows, 0.7, &dev).unwrap();
    let cws = seed_ws(&g, &cols, 0.7, &dev).unwrap();
    let direct = render_ws(
        &g,
        &[mix_ws(&rws[1], &cws[2], &styles, g.w_dim)],
        &opts(),
        &dev,
    );
    assert_eq!(grid.cells[1][2], direct[0]);
    // Headers are the seeds' own images, as generate renders them; the cell lands at tile (2, 3).
    let s = Sampling {
        psi: 0.7,
        cutoff: None,
        class: None,
        synthesis: opts(),
    };
    assert_eq!(
        grid.header_cols,
        generate_seeds(
            &g,
            &load_generator::<B>(&m, &dev).unwrap().1,
            &cols,
            &s,
            &dev
        )
        .unwrap()
    );
    let tile_px = |tr: usize, tc: usize| -> Vec<u8> {
        (0..16)
            .flat_map(|y| {
                px[((tr * 16 + y) * w + tc * 16) * 3..((tr * 16 + y) * w + tc * 16 + 16) * 3]
                    .to_vec()
            })
            .collect()
    };
    assert_eq!(tile_px(2, 3), direct[0]);
    assert_eq!(tile_px(0, 1), grid.header_cols[0]);
    assert_eq!(tile_px(1, 0), grid.header_rows[0]);
    // Mixing changed something, and mixing in every style gives the column image.
    assert_ne!(grid.cells[1][2], grid.header_rows[1]);
    let all = render_ws(
        &g,
        &[mix_ws(&rws[0], &cws[0], &[0, 1, 2, 3, 4, 5], g.w_dim)],
        &opts(),
        &dev,
    );
    assert_eq!(all[0], grid.header_cols[0]);
}

#[test]
fn a_chimera_of_one_seed_is_that_seeds_image() {
    let m = model();
    let dev = Default::default();
    let (g, cfg) = load_generator::<B>(&m, &dev).unwrap();
    let ws = seed_ws(&g, &[7, 8, 9], 1.0, &dev).unwrap();
    let groups = LayerGroups::from_resolutions(&ws_resolutions(&g.synthesis));
    let same = chimera_ws(&groups, &ws[0], &ws[0], &ws[0], g.w_dim);
    let s = Sampling {
        psi: 1.0,
        cutoff: None,
        class: None,
        synthesis: opts(),
    };
    assert_eq!(
        render_ws(&g, &[same], &opts(), &dev),
        generate_seeds(&g, &cfg, &[7], &s, &dev).unwrap()
    );
    let mixed = chimera_ws(&groups, &ws[0], &ws[1], &ws[2], g.w_dim);
    assert_eq!(&mixed[..3 * 32], &ws[0][..3 * 32]);
    assert_eq!(&mixed[3 * 32..], &ws[1][3 * 32..]);
}

#[test]
fn blend_takes_low_blocks_from_a_and_the_rest_from_b() {
    let a = model();
    let mut b = a.clone();
    for net in b.networks.values_mut() {
        for t in net.tensors.values_mut() {
            for x in t.data.iter_mut() {
                *x += 0.5;
            }
        }
    }
    let out = blend_models(&a, &b, 16).unwrap();
    let mut from_a = 0;
    for (key, net) in &out.networks {
        for (name, t) in &net.tensors {
            let low = key.starts_with('G') && blend::block_resolution(name).is_some_and(|r| r < 16);
            let want = if low {
                &a.networks[key].tensors[name]
            } else {
                &b.networks[key].tensors[name]
            };
            assert_eq!(t.data, want.data, "{key}.{name}");
            from_a += low as usize;
        }
        assert_eq!(net.tensors.len(), b.networks[key].tensors.len());
    }
    assert!(from_a > 0);
    // Round trip through our model file.
    let bytes = out.to_safetensors(bestiary_weights::DType::F32).unwrap();
    let back = ModelFile::from_bytes(&bytes).unwrap();
    assert_eq!(
        back.networks["G_ema"].tensors["synthesis.b8.conv0.weight"].data,
        a.networks["G_ema"].tensors["synthesis.b8.conv0.weight"].data
    );
    assert_eq!(
        back.networks["G_ema"].tensors["synthesis.b16.conv0.weight"].data,
        b.networks["G_ema"].tensors["synthesis.b16.conv0.weight"].data
    );
    assert!(blend_models(&a, &b, 12).is_err());
    assert!(blend_models(&a, &b, 32).is_err());
}

#[test]
fn sefa_directions_are_orthonormal_and_a_zero_edit_changes_nothing() {
    let m = model();
    let net = m.generator().unwrap();
    let (vals, dirs) = sefa_directions(net, None, 5).unwrap();
    assert_eq!((vals.len(), dirs.len(), dirs[0].len()), (5, 5, 32));
    for i in 0..5 {
        for j in 0..5 {
            let d: f64 = dirs[i]
                .iter()
                .zip(&dirs[j])
                .map(|(a, b)| *a as f64 * *b as f64)
                .sum();
            assert!(
                (d - if i == j { 1.0 } else { 0.0 }).abs() < 1e-5,
                "{i} {j} {d}"
            );
        }
    }
    assert!(vals.windows(2).all(|w| w[0] >= w[1]) && vals[4] > 0.0);
    let (_, some) = sefa_directions(net, Some(&[0, 1]), 2).unwrap();
    assert_ne!(some[0], dirs[0]);
    assert!(sefa_directions(net, None, 33).is_err());
    let g = gen(&m);
    let dev = Default::default();
    let ws = seed_ws(&g, &[5], 1.0, &dev).unwrap();
    assert_eq!(
        apply_direction(&ws[0], &dirs[0], 0.0, &[0, 1, 2, 3, 4, 5]),
        ws[0]
    );
    let moved = apply_direction(&ws[0], &dirs[0], 2.0, &[1]);
    assert_eq!(&moved[..32], &ws[0][..32]);
    assert!((moved[32] - ws[0][32] - 2.0 * dirs[0][0]).abs() < 1e-6);
}

#[test]
fn walks_hit_their_keyframes_and_loops_close() {
    let open = walk_positions(3, 5, false);
    assert_eq!(open[0], (0, 1, 0.0));
    assert_eq!(open[2], (1, 2, 0.0));
    assert_eq!(open[4], (1, 2, 1.0));
    let closed = walk_positions(2, 4, true);
    assert_eq!(
        closed,
        vec![(0, 1, 0.0), (0, 1, 0.5), (1, 0, 0.0), (1, 0, 0.5)]
    );
    let (a, b) = ([1.0f32, 0.0], [0.0f32, 1.0]);
    let m = slerp(&a, &b, 0.5);
    assert!((m[0] - 0.5f32.sqrt()).abs() < 1e-6 && (m[1] - 0.5f32.sqrt()).abs() < 1e-6);
    assert_eq!(lerp(&a, &b, 0.5), lerp(&b, &a, 0.5));
    assert_eq!(slerp(&a, &b, 0.0), a.to_vec());
}
