//! The `bestiary` binary: argument parsing and wiring only; the algorithms live in the library crates.

mod allocator;
mod backend;
mod cmd;
mod network;
mod output;
mod seeds;

use clap::{Parser, Subcommand};

const ABOUT: &str = "bestiary: a studio for neural generative art — classic generative engines, \
StyleGAN2-ADA networks, exploration and judging.";

const AFTER_HELP: &str = "\
Examples:
  bestiary                                   render the gallery into ./bestiary-out
  bestiary draw fractal --seed 7 --size 1024 --out fractal.png
  bestiary draw neurons --animate --out shimmer.gif
  bestiary draw squares --count 100 --seed 0 --outdir dataset/
  bestiary generate --network model.pkl --seeds 0-3,7 --trunc 0.7 --outdir out/
  bestiary dataset --source photos/ --dest photos64.zip --resolution 64
  bestiary train --data photos64.zip --outdir runs/photos --kimg 20 --mirror
  bestiary mix --network model.pkl --rows 85,100 --cols 55,821 --out mix.png
  bestiary fid --network model.safetensors --data photos64.zip --num 10000
  bestiary rank --network model.safetensors --seeds 0-999 --by memorability --out best.png
  bestiary edit --network model.pkl --seed 7 --mask eyes.png --with-seed 12 --out x.png
  bestiary project --network model.pkl --target photo.jpg --outdir proj/
  bestiary doctor --device cuda              check a GPU before training on it

Files: an existing file is never replaced unless --force; the folder of --out/--dest must exist, and an
--outdir is created when its parent exists. Images are written in the format their extension names
(.png, .jpg, .jpeg, .webp).";

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
    /// Generate images from a StyleGAN2-ADA network (official .pkl or bestiary .safetensors), by seed.
    Generate(cmd::generate::GenerateArgs),
    /// Score images with a network's discriminator.
    Critic(cmd::critic::CriticArgs),
    /// Show what a model file holds: configs, parameter counts, num_ws.
    Inspect(cmd::inspect::InspectArgs),
    /// Convert an official .pkl to a bestiary .safetensors model (nothing in the pickle is executed).
    Convert(cmd::convert::ConvertArgs),
    /// Throughput benchmarks, comparable with the peer's timing script.
    Bench(cmd::bench::BenchArgs),
    /// Pack images (a folder, a zip or a classic engine) into a training dataset zip.
    Dataset(cmd::dataset::DatasetArgs),
    /// Train a StyleGAN2-ADA network on a dataset, resumably.
    Train(cmd::train::TrainArgs),
    /// Fetch third-party weights and datasets into the cache.
    Assets(cmd::assets::AssetsArgs),
    /// Neural texture synthesis: a new image with the texture of the source(s), not their layout.
    Texture(cmd::texture::TextureArgs),
    /// Style-mixing grid: row seeds with the column seeds' styles at chosen layers.
    Mix(cmd::explore::MixArgs),
    /// One image from three seeds: coarse (pose), middle (features) and fine (colour) layers.
    Chimera(cmd::explore::ChimeraArgs),
    /// Blend two networks: low-resolution blocks from A, the rest from B.
    Blend(cmd::explore::BlendArgs),
    /// Find semantic directions in W (SeFa or GANSpace) with a preview sheet.
    Directions(cmd::explore::DirectionsArgs),
    /// Edit a seed's image: along a direction or toward another seed, everywhere or inside a painted mask.
    Edit(cmd::explore::EditArgs),
    /// Find the W (or W+) and noise maps that reproduce a real image (StyleGAN2-ADA projector).
    Project(cmd::project::ProjectArgs),
    /// A latent walk (lerp, slerp, spline, circle or noise loop, truncation traversal) as GIF, WebP, MP4 or PNG frames.
    Video(cmd::video::VideoArgs),
    /// A local web studio: explore a network live (seed grid, breeding, mixing, directions, local edits, walks).
    Studio(cmd::studio::StudioArgs),
    /// Fréchet Inception Distance between two image sets, or a network and its training data.
    Fid(cmd::judge::FidArgs),
    /// Kernel Inception Distance between two image sets.
    Kid(cmd::judge::KidArgs),
    /// Sliced Wasserstein distance (ProGAN) between two image sets, on the pixels.
    Swd(cmd::judge::SwdArgs),
    /// Rank a network's seeds by memorability, critic score or novelty onto a contact sheet.
    Rank(cmd::curate::RankArgs),
    /// Generated images beside their nearest training images (Inception space), flagging likely copies.
    Nearest(cmd::curate::NearestArgs),
    /// Image memorability (ResMem) for image files, folders or dataset zips.
    Memorability(cmd::memorability::MemorabilityArgs),
    /// Make a seed's (or a projection's) image more memorable by gradient ascent of ResMem on W, staying close.
    Memorable(cmd::memorable::MemorableArgs),
    /// Check a device: what it needs (driver, GPU, caches) and whether it computes what the CPU does.
    Doctor(cmd::doctor::DoctorArgs),
}

fn main() {
    allocator::tune();
    backend::install_panic_hook();
    let cli = Cli::parse();
    if !matches!(cli.command, Some(Command::Studio(_))) {
        output::die_quietly_on_closed_stdout();
    }
    let result = match cli.command {
        None => cmd::gallery::run(&cmd::gallery::GalleryArgs::default()),
        Some(Command::Draw(a)) => cmd::draw::run(&a),
        Some(Command::Gallery(a)) => cmd::gallery::run(&a),
        Some(Command::Generate(a)) => cmd::generate::run(&a),
        Some(Command::Critic(a)) => cmd::critic::run(&a),
        Some(Command::Inspect(a)) => cmd::inspect::run(&a),
        Some(Command::Convert(a)) => cmd::convert::run(&a),
        Some(Command::Bench(a)) => cmd::bench::run(&a),
        Some(Command::Dataset(a)) => cmd::dataset::run(&a),
        Some(Command::Train(a)) => cmd::train::run(&a),
        Some(Command::Assets(a)) => cmd::assets::run(&a),
        Some(Command::Texture(a)) => cmd::texture::run(&a),
        Some(Command::Mix(a)) => cmd::explore::mix(&a),
        Some(Command::Chimera(a)) => cmd::explore::chimera(&a),
        Some(Command::Blend(a)) => cmd::explore::blend(&a),
        Some(Command::Directions(a)) => cmd::explore::directions(&a),
        Some(Command::Edit(a)) => cmd::explore::edit(&a),
        Some(Command::Project(a)) => cmd::project::run(&a),
        Some(Command::Video(a)) => cmd::video::video(&a),
        Some(Command::Studio(a)) => cmd::studio::run(&a),
        Some(Command::Fid(a)) => cmd::judge::run_fid(&a),
        Some(Command::Kid(a)) => cmd::judge::run_kid(&a),
        Some(Command::Swd(a)) => cmd::judge::run_swd(&a),
        Some(Command::Rank(a)) => cmd::curate::rank(&a),
        Some(Command::Nearest(a)) => cmd::curate::nearest_cmd(&a),
        Some(Command::Memorability(a)) => cmd::memorability::run(&a),
        Some(Command::Memorable(a)) => cmd::memorable::run(&a),
        Some(Command::Doctor(a)) => cmd::doctor::run(&a),
    };
    if let Err(e) = result {
        // One line, the whole cause chain, no backtrace.
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
