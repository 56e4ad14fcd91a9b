//! Makes docs/texture.png: each source beside a texture synthesised from it (plus a tiled texture shown
//! repeated 2x2, and a blend of two sources).
//! cargo run -p bestiary-texture --example contact_sheet -- OUT.png SIZE STEPS SRC... [--tile SRC] [--blend A B]
use bestiary_canvas::sheet::{contact_sheet, SheetOptions};
use bestiary_canvas::Image;
use bestiary_perceptual::Vgg16;
use bestiary_texture::{synthesize, SynthOptions, Targets};
use burn::backend::{Autodiff, Flex};
use std::path::Path;
use std::time::Instant;

type B = Autodiff<Flex>;

fn name(p: &str) -> String {
    Path::new(p)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .to_lowercase()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, size, steps) = (
        &args[0],
        args[1].parse::<usize>().unwrap(),
        args[2].parse::<usize>().unwrap(),
    );
    let dev = Default::default();
    let vgg = Vgg16::<B>::load(
        &bestiary_perceptual::vgg16_weights(&mut |m| eprintln!("{m}")).unwrap(),
        &dev,
    )
    .unwrap();
    let octaves = if size >= 128 { 2 } else { 1 };
    let mut tiles: Vec<(Image, String)> = Vec::new();
    let mut rest = args[3..].iter();
    while let Some(a) = rest.next() {
        let (sources, tile, label): (Vec<String>, bool, String) = match a.as_str() {
            "--tile" => {
                let s = rest.next().unwrap().clone();
                let l = format!("{} tiled 2x2", name(&s));
                (vec![s], true, l)
            }
            "--blend" => {
                let (x, y) = (rest.next().unwrap().clone(), rest.next().unwrap().clone());
                let l = format!("{} + {}", name(&x), name(&y));
                (vec![x, y], false, l)
            }
            s => (vec![s.to_string()], false, name(s)),
        };
        let imgs: Vec<(Image, f32)> = sources
            .iter()
            .map(|s| (Image::load(Path::new(s)).unwrap(), 1.0))
            .collect();
        let opts = SynthOptions {
            width: size,
            height: size,
            steps,
            octaves,
            tile,
            ..Default::default()
        };
        let t0 = Instant::now();
        let targets = Targets::new(&vgg, &imgs, &opts).unwrap();
        let r = synthesize(&vgg, &targets, 0, &mut |_| {}).unwrap();
        let l = r.losses.last().unwrap();
        eprintln!(
            "{label}: loss {:.4} -> {:.4}, {:.0} s",
            r.losses[0][0],
            l[l.len() - 1],
            t0.elapsed().as_secs_f64()
        );
        // The source as the synthesis saw it: shorter side = size, centre crop to a square for the sheet.
        for ((img, _), src) in imgs.iter().zip(&sources) {
            let s = size as f64 / img.width().min(img.height()) as f64;
            let (w, h) = (
                (img.width() as f64 * s).round() as u32,
                (img.height() as f64 * s).round() as u32,
            );
            let r = img.resized(w, h);
            let mut sq = Image::new(size as u32, size as u32);
            sq.draw_image(
                &r,
                -(((w - size as u32) / 2) as i64),
                -(((h - size as u32) / 2) as i64),
            );
            tiles.push((sq, format!("source {}", name(src))));
        }
        if tile {
            let mut big = Image::new(2 * size as u32, 2 * size as u32);
            for (x, y) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                big.draw_image(&r.image, x * size as i64, y * size as i64);
            }
            tiles.push((big, label));
        } else {
            tiles.push((r.image, label));
        }
    }
    let sheet = contact_sheet(
        &tiles,
        &SheetOptions {
            columns: 4,
            ..Default::default()
        },
    );
    bestiary_canvas::png_meta::write_png(Path::new(out), &sheet, None).unwrap();
}
