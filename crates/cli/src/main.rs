//! The `bestiary` binary: argument parsing and wiring only; the algorithms live in the library crates.

mod cmd;
mod output;

use clap::{Parser, Subcommand};

const ABOUT: &str = "bestiary: a studio for neural generative art — classic generative engines, \
StyleGAN2-ADA networks, exploration and judging.";

const AFTER_HELP: &str = "\
Examples:
  bestiary                                   render the gallery into ./bestiary-out
  bestiary draw fractal --seed 7 --size 1024 --out fractal.png
  bestiary draw neurons --animate --out shimmer.gif
  bestiary draw squares --count 100 --seed 0 --outdir dataset/
  bestiary generate --network model.pkl --seeds 0-3,7 --trunc 0.7 --outdir out/";

#[derive(Parser)]
#[command(name = "bestiary", version, about = ABOUT, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Draw with a classic generative engine (squares, fractal, flow, neurons, plants).
    Draw(cmd::draw::DrawArgs),
    /// Render every classic engine into a gallery folder (what `bestiary` with no arguments does).
    Gallery(cmd::gallery::GalleryArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        None => cmd::gallery::run(&cmd::gallery::GalleryArgs::default()),
        Some(Command::Draw(a)) => cmd::draw::run(&a),
        Some(Command::Gallery(a)) => cmd::gallery::run(&a),
    };
    if let Err(e) = result {
        // One line, the whole cause chain, no backtrace.
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
