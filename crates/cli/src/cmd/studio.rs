//! `bestiary studio`: wiring only; the server, routes and page live in bestiary-studio.

use crate::backend::DeviceKind;
use crate::cmd::explore::load_model;
use crate::output::file_name;
use crate::with_backend;
use anyhow::{anyhow, bail, Result};
use bestiary_studio::{Studio, StudioConfig};
use bestiary_stylegan::ModelFile;
use burn::tensor::backend::Backend;
use clap::Args;
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary studio --network model.pkl
  bestiary studio --network model.pkl --port 8080 --favorites ~/bestiary-favs
  bestiary studio --network model.pkl --port 0            (any free port; the URL is printed)
  bestiary studio --network runs/pets/network-snapshot-000040.safetensors --class cats
Open the printed URL in a browser: a grid of seeds (scroll for more) with a psi slider and noise mode; click
one to focus it, breed children (small random moves in W) and pick among them (the lineage is kept), push
SeFa/GANSpace directions, paint a mask to re-roll or edit only that part, mix two or three favourites
(coarse/middle/fine layers) and preview a walk through them as a GIF.
A conditional network is explored one class per session: --class (a name the model file records, see
`inspect`, or an index) labels every seed, as `generate --class` does.
Favourites are saved in --favorites as fav-NNNN.png (with metadata) and fav-NNNN.safetensors (tensor 'w'),
each under the next free number, so none is ever replaced (the folder is created when its parent exists);
`bestiary generate --network model.pkl --projected-w fav-0001.safetensors --outdir out` reproduces one.
The studio listens on 127.0.0.1 only unless --host says otherwise; it has no authentication, so do not
expose it beyond machines you trust. Ctrl-C stops it.")]
pub struct StudioArgs {
    /// Network: an official StyleGAN2-ADA .pkl or a bestiary .safetensors model.
    #[arg(long)]
    pub network: PathBuf,
    /// Class of a conditional network for this session: a name the model file records or an index.
    #[arg(long)]
    pub class: Option<String>,
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 7860)]
    pub port: u16,
    /// Address to listen on (an IP address, or localhost).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Folder for favourites (created when its parent exists; saved favourites are never replaced).
    #[arg(long, default_value = "bestiary-favorites")]
    pub favorites: PathBuf,
    /// Render jobs that may wait for the network; more are answered 503 (busy).
    #[arg(long, default_value_t = 64)]
    pub queue: usize,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
}

pub fn run(a: &StudioArgs) -> Result<()> {
    let loopback = match a.host.as_str() {
        "localhost" => true,
        h => h
            .parse::<IpAddr>()
            .map_err(|_| anyhow!("--host must be an IP address or localhost, got '{h}'"))?
            .is_loopback(),
    };
    if !(1..=10_000).contains(&a.queue) {
        bail!("--queue must be in 1..=10000, got {}", a.queue);
    }
    if a.favorites.exists() && !a.favorites.is_dir() {
        bail!(
            "--favorites {} exists and is not a folder",
            a.favorites.display()
        );
    }
    // Checked (parent exists) now; made only once the network has loaded.
    crate::output::check_dir(&a.favorites, std::iter::empty::<&str>(), false)?;
    if !loopback {
        eprintln!(
            "warning: serving on {} — anyone who can reach this address can use the studio",
            a.host
        );
    }
    let model = load_model(&a.network)?;
    crate::output::create_dir(&a.favorites)?;
    with_backend!(a.device, |B, dev| serve::<B>(a, model, dev))
}

fn serve<B: Backend>(a: &StudioArgs, model: ModelFile, dev: B::Device) -> Result<()> {
    let mut cfg = StudioConfig::new(&a.favorites, &file_name(&a.network));
    cfg.host = a.host.clone();
    cfg.port = a.port;
    cfg.queue_capacity = a.queue;
    cfg.class = a.class.clone();
    let listener = Studio::bind(&cfg).map_err(|e| anyhow!("{e}"))?;
    eprintln!(
        "loading {} and finding its directions…",
        file_name(&a.network)
    );
    let studio = Studio::start_on::<B>(listener, model, dev, cfg).map_err(|e| anyhow!("{e}"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    if let Err(e) = ctrlc::set_handler(move || {
        let _ = tx.send(());
    }) {
        if !matches!(e, ctrlc::Error::MultipleHandlers) {
            bail!("cannot install the Ctrl-C handler: {e}");
        }
    }
    let info = studio.info();
    let class = match &info.class {
        Some(c) => format!(
            ", class {}",
            c.name.clone().unwrap_or_else(|| c.index.to_string())
        ),
        None => String::new(),
    };
    eprintln!(
        "bestiary studio: {} ({}x{}, {} ws{class}) — favourites in {} — Ctrl-C stops",
        info.network,
        info.resolution,
        info.resolution,
        info.num_ws,
        a.favorites.display()
    );
    println!("{}", studio.url());
    let _ = std::io::stdout().flush();
    let _ = rx.recv();
    eprintln!("stopping the studio");
    studio.shutdown();
    Ok(())
}
