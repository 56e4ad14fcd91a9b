//! Image files: written in the format their file name's extension names (atomically, see
//! [`crate::atomic`]), the extensions read as images, and a folder's image files.

pub use crate::atomic::write_atomic;
use crate::{Error, Image, Metadata, Rgba};
use std::path::{Path, PathBuf};

/// The raster formats an image output can be written in; the file's extension picks one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    /// Lossless, with the `bestiary` metadata chunk.
    Png,
    /// Quality [`JPEG_QUALITY`], transparency flattened onto white (JPEG has no alpha), no metadata.
    Jpeg,
    /// Lossless WebP with alpha, no metadata.
    Webp,
}

/// The extensions [`ImageFormat::from_path`] accepts, as error messages and help texts list them.
pub const WRITABLE_EXTENSIONS: &str = ".png, .jpg, .jpeg, .webp";

/// File extensions (lower case, without the dot) read as images: folders, dataset zips and sources.
pub const READABLE_EXTENSIONS: &[&str] =
    &["png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff"];

/// Whether two paths name the same file or folder (compared as given when either does not exist).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// True when the name ends in one of [`READABLE_EXTENSIONS`] (case-insensitive).
pub fn is_image_name(name: &str) -> bool {
    match name.rsplit_once('.') {
        Some((_, ext)) => READABLE_EXTENSIONS
            .iter()
            .any(|e| e.eq_ignore_ascii_case(ext)),
        None => false,
    }
}

/// [`is_image_name`] of a path's file name.
pub fn is_image_path(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(is_image_name)
}

/// `path`'s extension in lower case, without the dot (None when it has none).
pub fn extension(path: &Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// The image files (by [`is_image_path`]) directly in `dir`, sorted; sub-folders are not entered.
pub fn image_files_in(dir: &Path) -> crate::Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::Invalid(format!("cannot read folder {}: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_image_path(p))
        .collect();
    files.sort();
    Ok(files)
}

/// [`READABLE_EXTENSIONS`] as a message lists them: "png, jpg, ...".
pub fn readable_list() -> String {
    READABLE_EXTENSIONS.join(", ")
}

/// JPEG quality: high enough that a network's fine texture survives.
pub const JPEG_QUALITY: u8 = 95;

impl ImageFormat {
    /// The format named by `path`'s extension (case-insensitive); any other extension is an error naming
    /// the supported ones, so that no file is ever written in a format its name does not say.
    pub fn from_path(path: &Path) -> crate::Result<ImageFormat> {
        let ext = extension(path);
        match ext.as_deref() {
            Some("png") => Ok(ImageFormat::Png),
            Some("jpg" | "jpeg") => Ok(ImageFormat::Jpeg),
            Some("webp") => Ok(ImageFormat::Webp),
            other => Err(Error::Invalid(format!(
                "{}: cannot write an image as {} (supported: {WRITABLE_EXTENSIONS})",
                path.display(),
                other
                    .map(|e| format!(".{e}"))
                    .unwrap_or_else(|| "a file without extension".into())
            ))),
        }
    }
}

/// Encodes `image` as `format`; `meta` goes into PNG files only.
pub fn encode_image(
    image: &Image,
    format: ImageFormat,
    meta: Option<&Metadata>,
) -> crate::Result<Vec<u8>> {
    use ::image::{ExtendedColorType, ImageEncoder};
    crate::image::check_size(image.width(), image.height())?;
    let (w, h) = (image.width(), image.height());
    let mut out = Vec::new();
    let res = match format {
        ImageFormat::Png => return crate::png_meta::encode_png(image, meta),
        ImageFormat::Jpeg => {
            let rgb = image.flatten(Rgba::WHITE).to_channels(3)?;
            ::image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
                .write_image(&rgb, w, h, ExtendedColorType::Rgb8)
        }
        ImageFormat::Webp => ::image::codecs::webp::WebPEncoder::new_lossless(&mut out)
            .write_image(image.as_raw(), w, h, ExtendedColorType::Rgba8),
    };
    res.map_err(|e| Error::Invalid(format!("cannot encode {format:?}: {e}")))?;
    Ok(out)
}

/// Writes `image` atomically in the format `path`'s extension names (see [`ImageFormat::from_path`]).
pub fn write_image(path: &Path, image: &Image, meta: Option<&Metadata>) -> crate::Result<()> {
    let bytes = encode_image(image, ImageFormat::from_path(path)?, meta)?;
    write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("bestiary-canvas-io-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_and_replaces_leaving_only_the_target() {
        let dir = temp_dir("ok");
        let p = dir.join("out.bin");
        write_atomic(&p, b"first").unwrap();
        write_atomic(&p, b"second, longer").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second, longer");
        assert_eq!(entries(&dir), vec!["out.bin".to_string()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_directory_errors_and_leaves_nothing() {
        let dir = temp_dir("missing");
        let p = dir.join("no-such-dir").join("out.png");
        let e = write_atomic(&p, b"data").unwrap_err().to_string();
        assert!(
            e.contains("no-such-dir/out.png") || e.contains("no-such-dir\\out.png"),
            "{e}"
        );
        assert!(!p.exists());
        assert!(entries(&dir).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failed_rename_removes_the_temp_file() {
        // The target is a non-empty directory: the temp file is written, the rename fails, nothing is left over.
        let dir = temp_dir("rename");
        let target = dir.join("taken");
        std::fs::create_dir_all(target.join("inner")).unwrap();
        let e = write_atomic(&target, b"data").unwrap_err().to_string();
        assert!(e.contains("taken"), "{e}");
        assert_eq!(entries(&dir), vec!["taken".to_string()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn path_without_file_name_is_invalid() {
        assert!(matches!(
            write_atomic(Path::new("/"), b"x"),
            Err(Error::Invalid(_))
        ));
    }

    fn sample() -> Image {
        let mut img = Image::new(17, 9);
        for y in 0..9 {
            for x in 0..17 {
                img.put(x, y, [(x * 15) as u8, (y * 28) as u8, 200, 255]);
            }
        }
        img
    }

    #[test]
    fn lists_the_images_of_a_folder_without_entering_sub_folders() {
        let d = temp_dir("list");
        std::fs::create_dir_all(d.join("sub")).unwrap();
        for name in ["b.PNG", "a.jpeg", "notes.txt", "sub/c.png"] {
            std::fs::write(d.join(name), b"x").unwrap();
        }
        assert_eq!(
            image_files_in(&d).unwrap(),
            vec![d.join("a.jpeg"), d.join("b.PNG")]
        );
        assert!(readable_list().starts_with("png, jpg, jpeg, webp"));
        assert_eq!(extension(Path::new("x/y.WebP")).as_deref(), Some("webp"));
        assert_eq!(extension(Path::new("x/y")), None);
        let e = image_files_in(&d.join("missing")).unwrap_err().to_string();
        assert!(e.starts_with("cannot read folder "), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn formats_by_extension() {
        for (name, f) in [
            ("a.png", ImageFormat::Png),
            ("a.JPG", ImageFormat::Jpeg),
            ("b.jpeg", ImageFormat::Jpeg),
            ("c.WebP", ImageFormat::Webp),
        ] {
            assert_eq!(
                ImageFormat::from_path(Path::new(name)).unwrap(),
                f,
                "{name}"
            );
        }
        for bad in ["a.tif", "a.gif", "a", "a.png.bak"] {
            let e = ImageFormat::from_path(Path::new(bad))
                .unwrap_err()
                .to_string();
            assert!(e.contains(WRITABLE_EXTENSIONS) && e.starts_with(bad), "{e}");
        }
    }

    #[test]
    fn written_images_are_in_the_named_format_and_decode_back() {
        let dir = temp_dir("formats");
        let img = sample();
        let meta = Metadata::new("test", serde_json::json!({}), 3);
        for (name, magic, lossless) in [
            ("x.png", &b"\x89PNG"[..], true),
            ("x.jpg", &b"\xff\xd8\xff"[..], false),
            ("x.webp", &b"RIFF"[..], true),
        ] {
            let p = dir.join(name);
            write_image(&p, &img, Some(&meta)).unwrap();
            let bytes = std::fs::read(&p).unwrap();
            assert!(bytes.starts_with(magic), "{name}");
            let back = Image::load(&p).unwrap();
            assert_eq!((back.width(), back.height()), (17, 9));
            let worst = back
                .as_raw()
                .iter()
                .zip(img.as_raw())
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap();
            // JPEG at quality 95 on a smooth gradient stays within a few levels.
            assert!(
                if lossless { worst == 0 } else { worst <= 8 },
                "{name}: max difference {worst}"
            );
        }
        assert!(std::fs::read(dir.join("x.webp")).unwrap()[8..12] == *b"WEBP");
        assert!(crate::png_meta::read_png(&dir.join("x.png")).unwrap().1 == Some(meta));
        // An unsupported name writes nothing.
        assert!(write_image(&dir.join("x.tif"), &img, None).is_err());
        assert!(!dir.join("x.tif").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
