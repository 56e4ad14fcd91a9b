//! Times the stages of packing on a folder: `cargo run -p bestiary-dataset --example packbench DIR N RES`.
use std::time::Instant;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let dir = std::path::Path::new(&a[1]);
    let n: usize = a[2].parse().unwrap();
    let res: u32 = a[3].parse().unwrap();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.truncate(n);
    let (mut td, mut tr, mut te) = (0.0, 0.0, 0.0);
    for f in &files {
        let t = Instant::now();
        let img = bestiary_canvas::Image::load(f).unwrap();
        td += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let out = bestiary_dataset::apply_transform(
            &img,
            bestiary_dataset::Transform::CenterCrop,
            res,
            bestiary_canvas::Rgba::WHITE,
        );
        tr += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let _ = bestiary_canvas::png_meta::encode_png(&out, None).unwrap();
        te += t.elapsed().as_secs_f64();
    }
    let img = bestiary_canvas::Image::load(&files[0]).unwrap();
    let t = Instant::now();
    for _ in 0..50 {
        let _ = img.flatten(bestiary_canvas::Rgba::WHITE);
    }
    println!("flatten {:.2} ms", t.elapsed().as_secs_f64() * 20.0);
    let t = Instant::now();
    for _ in 0..50 {
        let _ = img.to_channels(3);
    }
    println!("to_channels {:.2} ms", t.elapsed().as_secs_f64() * 20.0);
    let op = img.flatten(bestiary_canvas::Rgba::WHITE);
    let t = Instant::now();
    for _ in 0..50 {
        let _ = bestiary_dataset::apply_transform(
            &op,
            bestiary_dataset::Transform::Stretch,
            res,
            bestiary_canvas::Rgba::WHITE,
        );
    }
    println!(
        "opaque transform {:.2} ms",
        t.elapsed().as_secs_f64() * 20.0
    );
    let t = Instant::now();
    for _ in 0..50 {
        let _ = op.resized(res, res);
    }
    println!("canvas resized {:.2} ms", t.elapsed().as_secs_f64() * 20.0);
    let k = files.len() as f64 * 1e-3;
    println!(
        "per image: decode {:.2} ms, transform {:.2} ms, encode {:.2} ms",
        td / k,
        tr / k,
        te / k
    );
}
