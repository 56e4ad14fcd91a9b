//! Opens a dataset and prints its shape and load time: `cargo run -p bestiary-dataset --example open PATH`.
fn main() {
    let path = std::env::args().nth(1).expect("usage: open DATASET");
    let t = std::time::Instant::now();
    match bestiary_dataset::Dataset::open(std::path::Path::new(&path)) {
        Ok(ds) => println!(
            "{} images, {}x{}, {} channels, c_dim {} in {:.2} s",
            ds.len(),
            ds.resolution(),
            ds.resolution(),
            ds.channels(),
            ds.c_dim(),
            t.elapsed().as_secs_f64()
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
