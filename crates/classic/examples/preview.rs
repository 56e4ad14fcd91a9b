//! Writes PNG previews: `cargo run -p bestiary-classic --example preview -- ENGINE SIZE OUTDIR SEED...`
use bestiary_canvas::png_meta::{write_png, Metadata};
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: preview ENGINE SIZE OUTDIR SEED...");
        std::process::exit(2);
    }
    let engine = &args[0];
    let size: u32 = args[1].parse().expect("size");
    let out = Path::new(&args[2]);
    let mut tiles = Vec::new();
    for s in &args[3..] {
        let seed: u64 = s.parse().expect("seed");
        let p = bestiary_classic::Params {
            seed,
            size,
            palette: None,
        };
        let t = std::time::Instant::now();
        let r = bestiary_classic::render(engine, &p).expect("render");
        let t_render = t.elapsed();
        let img = r.art.to_image(size);
        let svg_len = match &r.art {
            bestiary_classic::Artwork::Vector(sc) => sc.to_svg(size, size).len(),
            _ => 0,
        };
        let path = out.join(format!("{engine}-{seed}.png"));
        write_png(
            &path,
            &img,
            Some(&Metadata::new(engine, r.params.clone(), seed)),
        )
        .expect("write");
        tiles.push((img.clone(), format!("{engine} {seed}")));
        println!(
            "{} build {:?} total {:?} svg {} KB  {}",
            path.display(),
            t_render,
            t.elapsed(),
            svg_len / 1024,
            r.params
        );
    }
    if tiles.len() > 1 {
        let opts = bestiary_canvas::sheet::SheetOptions {
            columns: 2,
            ..Default::default()
        };
        let sheet = bestiary_canvas::sheet::contact_sheet(&tiles, &opts);
        write_png(&out.join(format!("{engine}-sheet.png")), &sheet, None).expect("write sheet");
    }
}
