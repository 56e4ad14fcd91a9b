//! Tiny syntheses: the Gram loss falls, and `tile` gives a texture that wraps around without seams.

mod common;

use bestiary_canvas::Image;
use bestiary_perceptual::Vgg16;
use bestiary_texture::synth::Synthesis;
use bestiary_texture::{synthesize, Planar, SynthOptions, Targets};
use burn::backend::{Autodiff, Flex};

type B = Autodiff<Flex>;

/// A 64x64 procedural texture: coloured diagonal stripes with a little grain.
fn stripes() -> Image {
    let mut raw = Vec::with_capacity(64 * 64 * 4);
    for y in 0..64u32 {
        for x in 0..64u32 {
            let s = (((x + y) / 4) % 2) as u8;
            let grain = ((x * 7 + y * 13) % 5) as u8 * 6;
            raw.extend_from_slice(&[
                40 + 170 * s + grain,
                90 + 60 * s,
                160 - 100 * s + grain,
                255,
            ]);
        }
    }
    Image::from_raw(64, 64, raw).unwrap()
}

fn run(tile: bool, steps: usize, seed: u64) -> Synthesis {
    let vgg = Vgg16::<B>::load(&common::vgg16_path(), &Default::default()).unwrap();
    let opts = SynthOptions {
        width: 32,
        height: 32,
        steps,
        octaves: 1,
        tile,
        lr: 0.05,
        ..Default::default()
    };
    let targets = Targets::new(&vgg, &[(stripes(), 1.0)], &opts).unwrap();
    let mut steps_seen = 0;
    let s = synthesize(&vgg, &targets, seed, &mut |e| {
        if let bestiary_texture::Event::Step { .. } = e {
            steps_seen += 1
        }
    })
    .unwrap();
    assert_eq!(steps_seen, steps);
    assert_eq!((s.image.width(), s.image.height()), (32, 32));
    s
}

#[test]
fn gram_loss_falls() {
    let s = run(false, 40, 1);
    let l = &s.losses[0];
    let (first, last) = (l[0], *l.last().unwrap());
    eprintln!("loss {first} -> {last}");
    assert!(last < 0.2 * first, "loss {first} -> {last}");
}

/// Mean absolute difference between columns `a` and `b` of the planar image (all channels).
fn col_diff(p: &Planar, a: usize, b: usize) -> f32 {
    let (w, h) = (p.width, p.height);
    let mut s = 0.0;
    for c in 0..3 {
        for y in 0..h {
            s += (p.data[c * w * h + y * w + a] - p.data[c * w * h + y * w + b]).abs();
        }
    }
    s / (3 * h) as f32
}

fn transpose(p: &Planar) -> Planar {
    let (w, h) = (p.width, p.height);
    let mut data = vec![0.0; p.data.len()];
    for c in 0..3 {
        for y in 0..h {
            for x in 0..w {
                data[c * w * h + x * h + y] = p.data[c * w * h + y * w + x];
            }
        }
    }
    Planar {
        width: h,
        height: w,
        data,
    }
}

#[test]
fn tiled_texture_wraps_without_seams() {
    let s = run(true, 40, 2);
    let p = Planar::from_image(&s.image);
    for (what, q) in [("columns", p.clone()), ("rows", transpose(&p))] {
        let w = q.width;
        let wrap = col_diff(&q, w - 1, 0);
        let mut interior: Vec<f32> = (0..w - 1).map(|j| col_diff(&q, j, j + 1)).collect();
        interior.sort_by(f32::total_cmp);
        let median = interior[interior.len() / 2];
        eprintln!(
            "{what}: wrap-around {wrap:.4}, interior median {median:.4}, max {:.4}",
            interior[w - 2]
        );
        assert!(
            wrap <= 1.25 * median,
            "{what}: wrap-around difference {wrap} vs interior median {median}"
        );
    }
}
