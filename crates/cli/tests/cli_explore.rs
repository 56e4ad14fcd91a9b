//! End-to-end tests of the exploring commands (mix, chimera, blend, directions, edit) on the small
//! official-layout fixture network (16x16, num_ws 6).

mod common;
use common::{assert_clean_error, bestiary, ok};

use bestiary_canvas::png_meta::read_png;
use bestiary_weights::{safetensors_io, DType};
use std::path::{Path, PathBuf};

fn pkl() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../stylegan/tests/fixtures/uncond16/network.pkl")
}

fn rgb(path: &Path) -> (u32, u32, Vec<u8>) {
    let (img, _) = read_png(path).unwrap();
    (img.width(), img.height(), img.to_channels(3).unwrap())
}

/// Tile (tr, tc) of 16x16 tiles from an RGB image `w` pixels wide.
fn tile(px: &[u8], w: u32, tr: usize, tc: usize) -> Vec<u8> {
    let w = w as usize;
    (0..16).flat_map(|y| px[((tr * 16 + y) * w + tc * 16) * 3..((tr * 16 + y) * w + tc * 16 + 16) * 3].to_vec()).collect()
}

#[test]
fn mix_grid_geometry_and_headers_match_generate() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
    ok(&bestiary(&["mix", "--network", net, "--rows", "1,2", "--cols", "3-5", "--styles", "0-2", "--trunc", "0.7", "--out", "g/grid.png", "--json"], t.path()));
    ok(&bestiary(&["generate", "--network", net, "--seeds", "1,3", "--trunc", "0.7", "--outdir", "gen"], t.path()));
    let (w, h, px) = rgb(&t.path().join("g/grid.png"));
    assert_eq!((w, h), (4 * 16, 3 * 16));
    assert!(tile(&px, w, 0, 0).iter().all(|&b| b == 0), "top-left tile is empty");
    assert_eq!(tile(&px, w, 0, 1), rgb(&t.path().join("gen/seed0003.png")).2, "first row: column seeds");
    assert_eq!(tile(&px, w, 1, 0), rgb(&t.path().join("gen/seed0001.png")).2, "first column: row seeds");
    assert_ne!(tile(&px, w, 1, 1), tile(&px, w, 1, 0));
    assert_ne!(tile(&px, w, 1, 1), tile(&px, w, 0, 1));
    // Mixing every style gives the column image.
    ok(&bestiary(&["mix", "--network", net, "--rows", "1", "--cols", "3", "--styles", "0-5", "--trunc", "0.7", "--out", "all.png"], t.path()));
    let (w2, _, px2) = rgb(&t.path().join("all.png"));
    assert_eq!(tile(&px2, w2, 1, 1), tile(&px2, w2, 0, 1));
    // The default (official 0-6) covers all six layers of this small network.
    ok(&bestiary(&["mix", "--network", net, "--rows", "1", "--cols", "3", "--trunc", "0.7", "--out", "def.png"], t.path()));
    assert_eq!(rgb(&t.path().join("def.png")).2, px2);
    assert_clean_error(&bestiary(&["mix", "--network", net, "--rows", "1", "--cols", "2", "--styles", "0-9", "--out", "x.png"], t.path()), "out of range");
}

#[test]
fn chimera_of_one_seed_equals_generate() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
    ok(&bestiary(&["chimera", "--network", net, "--coarse", "7", "--middle", "7", "--fine", "7", "--out", "c.png"], t.path()));
    ok(&bestiary(&["generate", "--network", net, "--seeds", "7,8", "--outdir", "gen"], t.path()));
    assert_eq!(rgb(&t.path().join("c.png")).2, rgb(&t.path().join("gen/seed0007.png")).2);
    // Coarse from 7, the rest from 8: neither image.
    ok(&bestiary(&["chimera", "--network", net, "--coarse", "7", "--middle", "8", "--fine", "8", "--out", "m.png"], t.path()));
    let m = rgb(&t.path().join("m.png")).2;
    assert_ne!(m, rgb(&t.path().join("gen/seed0007.png")).2);
    assert_ne!(m, rgb(&t.path().join("gen/seed0008.png")).2);
}

#[test]
fn blend_takes_blocks_below_the_split_from_a() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    ok(&bestiary(&["convert", "--network", net.to_str().unwrap(), "--out", "a.safetensors"], t.path()));
    let (a, meta) = safetensors_io::read(&std::fs::read(t.path().join("a.safetensors")).unwrap()).unwrap();
    let mut b = a.clone();
    for v in b.values_mut() {
        v.data.iter_mut().for_each(|x| *x += 0.25);
    }
    std::fs::write(t.path().join("b.safetensors"), safetensors_io::write(&b, &meta, DType::F32).unwrap()).unwrap();
    ok(&bestiary(&["blend", "--a", "a.safetensors", "--b", "b.safetensors", "--split-res", "16", "--out", "out/ab.safetensors"], t.path()));
    let (out, _) = safetensors_io::read(&std::fs::read(t.path().join("out/ab.safetensors")).unwrap()).unwrap();
    assert_eq!(out.len(), a.len());
    let mut from_a = 0;
    for (name, tensor) in &out {
        let local = name.split_once('.').unwrap().1;
        let low = name.starts_with("G") && ["synthesis.b4.", "synthesis.b8."].iter().any(|p| local.starts_with(p));
        let want = if low { &a[name] } else { &b[name] };
        assert_eq!(tensor.data, want.data, "{name}");
        from_a += low as usize;
    }
    assert!(from_a > 0);
    // The blend is a working model.
    ok(&bestiary(&["generate", "--network", "out/ab.safetensors", "--seeds", "1", "--outdir", "gen"], t.path()));
    assert_clean_error(&bestiary(&["blend", "--a", "a.safetensors", "--b", "b.safetensors", "--split-res", "24", "--out", "x.safetensors"], t.path()), "power of two");
    assert_clean_error(&bestiary(&["blend", "--a", "nope.safetensors", "--b", "b.safetensors", "--split-res", "8", "--out", "x.safetensors"], t.path()), "nope.safetensors");
}

#[test]
fn directions_are_orthonormal_and_a_zero_edit_equals_generate() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
    ok(&bestiary(&["directions", "--network", net, "--method", "sefa", "--num", "4", "--out", "d.safetensors", "--json"], t.path()));
    let (m, _) = safetensors_io::read(&std::fs::read(t.path().join("d.safetensors")).unwrap()).unwrap();
    let d = &m["directions"];
    assert_eq!(d.shape, vec![4, 32]);
    for i in 0..4 {
        for j in 0..4 {
            let dot: f64 = (0..32).map(|k| d.data[i * 32 + k] as f64 * d.data[j * 32 + k] as f64).sum();
            assert!((dot - if i == j { 1.0 } else { 0.0 }).abs() < 1e-5, "{i} {j} {dot}");
        }
    }
    assert!(m["sigma"].data.iter().all(|&s| s > 0.0));
    let (pw, ph, _) = rgb(&t.path().join("d.png"));
    assert!(pw >= 7 * 16 && ph >= 4 * 16, "{pw}x{ph}");

    ok(&bestiary(&["edit", "--network", net, "--seed", "5", "--direction", "d.safetensors:1", "--amount", "0", "--out", "e0.png"], t.path()));
    ok(&bestiary(&["edit", "--network", net, "--seed", "5", "--direction", "d.safetensors:1", "--amount", "-3", "--layers", "0-2", "--out", "e3.png"], t.path()));
    ok(&bestiary(&["generate", "--network", net, "--seeds", "5", "--outdir", "gen"], t.path()));
    let g = rgb(&t.path().join("gen/seed0005.png")).2;
    assert_eq!(rgb(&t.path().join("e0.png")).2, g);
    assert_ne!(rgb(&t.path().join("e3.png")).2, g);
    assert_clean_error(&bestiary(&["edit", "--network", net, "--seed", "5", "--direction", "d.safetensors:9", "--amount", "1", "--out", "x.png"], t.path()), "no direction 9");
    assert_clean_error(&bestiary(&["directions", "--network", net, "--method", "pca", "--out", "x.safetensors"], t.path()), "unknown method");
}
