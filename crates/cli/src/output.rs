//! Where commands write, under one policy for every command (README, "Files and folders"):
//! - an existing file is never replaced unless `--force` is given;
//! - the folder that holds an output file must exist; a command's own output folder (`--outdir DIR`,
//!   `--favorites DIR`, ...) is created when its parent exists, never more than one level;
//! - all of it is checked before any work, so a long job never fails at its end or leaves half its files;
//! - files are written atomically (`bestiary_canvas::io`), so an interrupted write leaves no half file.
//!
//! Also: progress bars and JSON printing.

use anyhow::{bail, Context, Result};
use bestiary_canvas::io::ImageFormat;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;

/// `--force`, flattened into every command that writes files.
#[derive(Args, Clone, Copy, Debug, Default)]
pub struct Outputs {
    /// Replace output files that already exist (without it an existing file is an error and nothing is written).
    #[arg(long)]
    pub force: bool,
}

impl Outputs {
    /// See [`check_file`].
    pub fn file(&self, path: &Path) -> Result<()> {
        check_file(path, self.force)
    }

    /// An image output: its extension names a format we write ([`ImageFormat::from_path`]) and
    /// [`check_file`] passes.
    pub fn image(&self, path: &Path) -> Result<()> {
        ImageFormat::from_path(path)?;
        check_file(path, self.force)
    }

    /// A model or data output that must end in `.EXT` (e.g. safetensors), and [`check_file`] passes.
    pub fn file_with_extension(&self, path: &Path, ext: &str) -> Result<()> {
        if !path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case(ext))
        {
            bail!("{}: the output must be a .{ext} file", path.display());
        }
        check_file(path, self.force)
    }

    /// See [`check_dir`].
    pub fn dir<S: AsRef<Path>>(
        &self,
        dir: &Path,
        names: impl IntoIterator<Item = S>,
    ) -> Result<()> {
        check_dir(dir, names, self.force)
    }
}

/// The folder a relative file name without folder lives in is the current one.
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Something is at `path` (a dangling symbolic link counts: writing there would replace it).
fn occupied(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// An existing folder, or the error saying what is there instead.
fn existing_folder(dir: &Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => bail!("{} is not a folder", dir.display()),
        Err(_) => bail!("folder {} does not exist", dir.display()),
    }
}

/// One output file, checked before any work: its folder exists, and nothing is at its path unless `force`
/// (a folder there is refused even then).
pub fn check_file(path: &Path, force: bool) -> Result<()> {
    if path.file_name().is_none() {
        bail!("{}: not a file name", path.display());
    }
    existing_folder(parent_of(path))?;
    if path.is_dir() {
        bail!("{} is a folder, not a file", path.display());
    }
    if occupied(path) && !force {
        bail!(
            "{} already exists (pass --force to replace it)",
            path.display()
        );
    }
    Ok(())
}

/// A command's own output folder and the `names` (relative paths) it will write there, checked before any
/// work: `dir` is a folder or can be made by [`create_dir`] (its parent exists), and none of the names exists
/// unless `force`. Creates nothing.
pub fn check_dir<S: AsRef<Path>>(
    dir: &Path,
    names: impl IntoIterator<Item = S>,
    force: bool,
) -> Result<()> {
    if !occupied(dir) {
        return existing_folder(parent_of(dir));
    }
    existing_folder(dir)?;
    let mut taken = Vec::new();
    for name in names {
        let path = dir.join(name.as_ref());
        if path.is_dir() {
            bail!("{} is a folder, not a file", path.display());
        }
        if !force && occupied(&path) {
            taken.push(path);
        }
    }
    match taken.as_slice() {
        [] => Ok(()),
        [one] => bail!("{} already exists (pass --force to replace it)", one.display()),
        [first, rest @ ..] => bail!(
            "{} and {} more of the files this writes already exist in {} (pass --force to replace them)",
            first.display(),
            rest.len(),
            dir.display()
        ),
    }
}

/// Creates a command's own output folder when missing: one level only, so its parent must exist.
pub fn create_dir(dir: &Path) -> Result<()> {
    if std::fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Ok(());
    }
    existing_folder(parent_of(dir))?;
    match std::fs::create_dir(dir) {
        Ok(()) => Ok(()),
        // Made meanwhile by someone else: fine when it is a folder.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => existing_folder(dir),
        Err(e) => Err(e).with_context(|| format!("cannot create folder {}", dir.display())),
    }
}

/// A progress bar on stderr; hidden when stderr is not a terminal or when `quiet`.
pub fn progress(len: u64, what: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{msg:>10} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

pub fn print_json(v: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("JSON values always serialize")
    );
}

/// The last component of a path as text ("" for none), for JSON fields and sheet captions.
pub fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `bestiary draw --palette list | head` must end as quietly as `ls | head`. Rust ignores SIGPIPE, so a
/// closed stdout would surface as a failed print (a panic); with the default action the process just ends.
/// The studio keeps Rust's behaviour: a browser closing a connection must not end the server.
pub fn die_quietly_on_closed_stdout() {
    #[cfg(unix)]
    // SAFETY: called once at start-up, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(r: Result<()>) -> String {
        format!("{:#}", r.unwrap_err())
    }

    #[test]
    fn files_are_never_replaced_without_force_and_their_folder_must_exist() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("a.png");
        check_file(&f, false).unwrap();
        std::fs::write(&f, b"mine").unwrap();
        assert_eq!(
            msg(check_file(&f, false)),
            format!(
                "{} already exists (pass --force to replace it)",
                f.display()
            )
        );
        check_file(&f, true).unwrap();
        let deep = t.path().join("x/y/b.png");
        assert_eq!(
            msg(check_file(&deep, true)),
            format!("folder {} does not exist", t.path().join("x/y").display())
        );
        assert!(msg(check_file(&f.join("c.png"), true)).ends_with("a.png is not a folder"));
        assert!(msg(check_file(t.path(), true)).contains("is a folder"));
        assert_eq!(std::fs::read(&f).unwrap(), b"mine");
    }

    #[test]
    fn output_folders_are_made_one_level_deep_and_their_files_checked() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("out");
        check_dir(&dir, ["a.png"], false).unwrap();
        assert!(!dir.exists(), "checking creates nothing");
        assert!(msg(check_dir(&t.path().join("p/q"), ["a.png"], false)).contains("folder"));
        assert!(msg(create_dir(&t.path().join("p/q"))).contains("does not exist"));
        assert!(!t.path().join("p").exists());
        create_dir(&dir).unwrap();
        assert!(dir.is_dir());
        for n in ["a.png", "b.png", "c.png"] {
            std::fs::write(dir.join(n), n).unwrap();
        }
        check_dir(&dir, ["d.png"], false).unwrap();
        assert!(msg(check_dir(&dir, ["a.png", "d.png"], false))
            .ends_with("a.png already exists (pass --force to replace it)"));
        assert!(msg(check_dir(&dir, ["a.png", "b.png", "c.png"], false)).contains("and 2 more"));
        check_dir(&dir, ["a.png", "b.png"], true).unwrap();
        assert!(msg(check_dir(&dir.join("a.png"), ["x"], true)).ends_with("is not a folder"));
    }
}
