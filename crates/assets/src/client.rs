//! Running the registries' ordinary clients (`pip download`, `npm pack`) into a download folder.
//!
//! `$BESTIARY_PIP` and `$BESTIARY_NPM` override the command (split on spaces, e.g.
//! `BESTIARY_PIP="python3.11 -m pip"`); otherwise pip is tried as `pip3`, `pip`, `python3 -m pip`.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Why a client run gave no archive.
#[derive(Debug)]
pub(crate) enum ClientError {
    /// No candidate command could be started; holds the names tried.
    Missing(String),
    /// It ran and failed (or produced no archive); holds a one-line summary of its complaint.
    Failed(String),
}

/// Which registry (and so which client) a package comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Registry {
    /// The Python Package Index, through `pip download --no-deps`.
    Pypi,
    /// The npm registry, through `npm pack`.
    Npm,
}

impl Registry {
    pub fn spec(self, package: &str, version: &str) -> String {
        match self {
            Registry::Pypi => format!("{package}=={version}"),
            Registry::Npm => format!("{package}@{version}"),
        }
    }

    /// The command a person would type to get the package archive into the current folder.
    pub fn command(self, package: &str, version: &str) -> String {
        match self {
            Registry::Pypi => format!("pip download --no-deps {}", self.spec(package, version)),
            Registry::Npm => format!("npm pack {}", self.spec(package, version)),
        }
    }

    pub fn client(self) -> &'static str {
        match self {
            Registry::Pypi => "pip",
            Registry::Npm => "npm",
        }
    }
}

fn candidates(registry: Registry) -> Vec<Vec<String>> {
    let (var, defaults): (&str, &[&[&str]]) = match registry {
        Registry::Pypi => (
            "BESTIARY_PIP",
            &[&["pip3"], &["pip"], &["python3", "-m", "pip"]],
        ),
        Registry::Npm => ("BESTIARY_NPM", &[&["npm"]]),
    };
    if let Some(v) = std::env::var_os(var) {
        let words: Vec<String> = v
            .to_string_lossy()
            .split_whitespace()
            .map(String::from)
            .collect();
        if !words.is_empty() {
            return vec![words];
        }
    }
    defaults
        .iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect()
}

/// A one-line summary of what a failed client printed: its error lines, else its last line.
pub(crate) fn summarize(out: &Output) -> String {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let is_err = |l: &&str| {
        let low = l.to_ascii_lowercase();
        (low.starts_with("error") || low.starts_with("npm err")) && !low.contains("complete log")
    };
    let errs: Vec<&str> = lines.iter().copied().filter(is_err).take(3).collect();
    let picked = if errs.is_empty() {
        lines.last().map(|l| l.to_string()).unwrap_or_default()
    } else {
        errs.join(" / ")
    };
    let mut s: String = picked.chars().filter(|c| !c.is_control()).collect();
    if s.chars().count() > 300 {
        s = s.chars().take(300).collect::<String>() + "...";
    }
    if s.is_empty() {
        format!("exit status {}", out.status)
    } else {
        s
    }
}

/// Runs the client so that exactly one package archive lands in `dl` (created empty), and returns it.
pub(crate) fn download(
    registry: Registry,
    package: &str,
    version: &str,
    dl: &Path,
) -> Result<PathBuf, ClientError> {
    download_with(candidates(registry), registry, package, version, dl)
}

/// [`download`] with an explicit list of commands to try.
pub(crate) fn download_with(
    commands: Vec<Vec<String>>,
    registry: Registry,
    package: &str,
    version: &str,
    dl: &Path,
) -> Result<PathBuf, ClientError> {
    std::fs::create_dir_all(dl)
        .map_err(|e| ClientError::Failed(format!("cannot create {}: {e}", dl.display())))?;
    let spec = registry.spec(package, version);
    let dls = dl.to_string_lossy().into_owned();
    let args: Vec<&str> = match registry {
        Registry::Pypi => vec![
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
            "-d",
            &dls,
            &spec,
        ],
        Registry::Npm => {
            vec![
                "pack",
                &spec,
                "--pack-destination",
                &dls,
                "--ignore-scripts",
                "--loglevel=error",
            ]
        }
    };
    let mut tried = Vec::new();
    for cmd in commands {
        tried.push(cmd.join(" "));
        let out = Command::new(&cmd[0])
            .args(&cmd[1..])
            .args(&args)
            .current_dir(dl)
            .stdin(Stdio::null())
            .output();
        let out = match out {
            Ok(o) => o,
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    || e.kind() == io::ErrorKind::PermissionDenied =>
            {
                continue
            }
            Err(e) => {
                return Err(ClientError::Failed(format!(
                    "cannot run `{}`: {e}",
                    cmd.join(" ")
                )))
            }
        };
        // `python3 -m pip` where python3 exists but pip does not counts as missing too.
        if !out.status.success()
            && cmd.len() > 1
            && String::from_utf8_lossy(&out.stderr).contains("No module named pip")
        {
            continue;
        }
        if !out.status.success() {
            return Err(ClientError::Failed(summarize(&out)));
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(dl)
            .map_err(|e| ClientError::Failed(format!("cannot read {}: {e}", dl.display())))?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
            .map(|e| e.path())
            .collect();
        files.sort();
        return match files.len() {
            1 => Ok(files.pop().expect("one")),
            0 => Err(ClientError::Failed(format!(
                "it reported success but left no archive in {}",
                dl.display()
            ))),
            n => Err(ClientError::Failed(format!(
                "it left {n} files in {}, expected one archive",
                dl.display()
            ))),
        };
    }
    Err(ClientError::Missing(tried.join("`, `")))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use std::os::unix::process::ExitStatusExt;

    #[cfg(unix)]
    #[test]
    fn summary_keeps_error_lines_on_one_line() {
        let out = Output {
            status: std::process::ExitStatus::from_raw(256),
            stdout: b"Looking in links: /x\n".to_vec(),
            stderr: b"WARNING: Retrying (Retry(total=4)) after connection broken\n\
ERROR: Could not find a version that satisfies the requirement nope==9 (from versions: none)\n\
ERROR: No matching distribution found for nope==9\n"
                .to_vec(),
        };
        let s = summarize(&out);
        assert!(!s.contains('\n'));
        assert!(s.starts_with("ERROR: Could not find a version"), "{s}");
        assert!(s.contains("No matching distribution"), "{s}");
    }

    #[test]
    fn missing_client_is_reported_as_missing() {
        let t = tempfile::tempdir().unwrap();
        let cmds = vec![
            vec!["/nonexistent/npm".to_string()],
            vec!["/nonexistent/npm2".to_string()],
        ];
        match download_with(cmds, Registry::Npm, "x", "1.0", &t.path().join("dl")) {
            Err(ClientError::Missing(tried)) => {
                assert_eq!(tried, "/nonexistent/npm`, `/nonexistent/npm2")
            }
            other => panic!("{other:?}"),
        }
    }

    #[cfg(unix)]
    #[test]
    fn failing_client_gives_its_error_line() {
        let t = tempfile::tempdir().unwrap();
        let cmds = vec![vec![
            "sh".into(),
            "-c".into(),
            "echo 'ERROR: no network' >&2; exit 1".into(),
            "sh".into(),
        ]];
        match download_with(cmds, Registry::Pypi, "x", "1.0", &t.path().join("dl")) {
            Err(ClientError::Failed(d)) => assert_eq!(d, "ERROR: no network"),
            other => panic!("{other:?}"),
        }
        // A client that succeeds must leave exactly one archive.
        let cmds = vec![vec![
            "sh".into(),
            "-c".into(),
            "touch x.whl".into(),
            "sh".into(),
        ]];
        let p = download_with(cmds, Registry::Pypi, "x", "1.0", &t.path().join("dl2")).unwrap();
        assert_eq!(p.file_name().unwrap(), "x.whl");
    }

    #[test]
    fn commands_by_registry() {
        assert_eq!(
            Registry::Pypi.command("a-b", "1.0"),
            "pip download --no-deps a-b==1.0"
        );
        assert_eq!(Registry::Npm.command("@s/p", "2.0"), "npm pack @s/p@2.0");
    }
}
