//! What a file is, from its first and last bytes, before any reader is chosen: so that a file that is no
//! weight file at all (an image, an HTML page saved instead of a download, a Git LFS pointer, an empty file)
//! is named as what it is instead of failing deep inside a parser.

/// The kinds of file told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// No bytes at all.
    Empty,
    /// A pickle stream: `protocol` 2–5 from its PROTO header, 0 for the headerless protocols 0 and 1.
    Pickle { protocol: u8 },
    /// A safetensors file (8-byte header length, then a JSON header).
    Safetensors,
    /// A zip archive written by `torch.save` (it holds a `data.pkl`).
    TorchZip,
    /// Any other zip archive.
    Zip,
    /// A numpy `.npy` array.
    Npy,
    /// A known kind that holds no network: its description ("a PNG image", ...).
    Other(&'static str),
    /// Nothing recognised.
    Unknown,
}

impl FileKind {
    /// What the file is, as a phrase ("a PNG image", "an empty file", ...).
    pub fn describe(&self) -> String {
        match self {
            FileKind::Empty => "an empty file".into(),
            FileKind::Pickle { protocol: 0 } => "a protocol 0/1 pickle".into(),
            FileKind::Pickle { protocol } => format!("a protocol {protocol} pickle"),
            FileKind::Safetensors => "a safetensors file".into(),
            FileKind::TorchZip => "a PyTorch zip checkpoint (torch.save)".into(),
            FileKind::Zip => "a zip archive".into(),
            FileKind::Npy => "a numpy .npy array".into(),
            FileKind::Other(what) => (*what).into(),
            FileKind::Unknown => "neither a pickle nor safetensors".into(),
        }
    }
}

/// Opcodes a protocol 0 or 1 pickle can start with (MARK, empty containers, GLOBAL, scalars, strings).
const PROTO01_FIRST: &[u8] = b"(}])cNIJKLMFGSTUVXdlt";

/// Identifies `bytes`. Pickles of protocol 2+ start with PROTO (0x80, version); protocol 0/1 pickles have no
/// header, so they count only when they also end with STOP (`.`), as every complete pickle does.
pub fn identify(bytes: &[u8]) -> FileKind {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if bytes.is_empty() {
        return FileKind::Empty;
    }
    if let [0x80, protocol @ 2..=5, ..] = bytes {
        return FileKind::Pickle {
            protocol: *protocol,
        };
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return FileKind::Other("a PNG image");
    }
    if starts(b"\xff\xd8\xff") {
        return FileKind::Other("a JPEG image");
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return FileKind::Other("a GIF image");
    }
    if starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        return FileKind::Other("a WebP image");
    }
    if starts(b"BM") && bytes.len() > 26 && bytes.get(6..10) == Some(&[0, 0, 0, 0]) {
        return FileKind::Other("a BMP image");
    }
    if starts(b"II*\0") || starts(b"MM\0*") {
        return FileKind::Other("a TIFF image");
    }
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        // torch.save zips name their records `<archive>/data.pkl`; the names sit in the local headers.
        let head = &bytes[..bytes.len().min(1 << 16)];
        return if head.windows(9).any(|w| w == b"/data.pkl") {
            FileKind::TorchZip
        } else {
            FileKind::Zip
        };
    }
    if starts(b"\x93NUMPY") {
        return FileKind::Npy;
    }
    if starts(b"\x1f\x8b") {
        return FileKind::Other("a gzip-compressed file");
    }
    if is_safetensors(bytes) {
        return FileKind::Safetensors;
    }
    let tail = bytes.iter().rev().find(|b| !b.is_ascii_whitespace());
    if PROTO01_FIRST.contains(&bytes[0]) && tail == Some(&b'.') {
        return FileKind::Pickle { protocol: 0 };
    }
    let text = &bytes[..bytes.len().min(4096)];
    let lower = String::from_utf8_lossy(text)
        .trim_start()
        .to_ascii_lowercase();
    if lower.starts_with("version https://git-lfs.github.com/spec") {
        return FileKind::Other(
            "a Git LFS pointer (the real file was never downloaded: run `git lfs pull`)",
        );
    }
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        return FileKind::Other("an HTML page (a download that returned a web page?)");
    }
    if lower.starts_with('{') || lower.starts_with('[') {
        return FileKind::Other("a JSON or text file");
    }
    if std::str::from_utf8(text).is_ok()
        && !text.iter().any(|b| *b < 0x20 && !b"\n\r\t".contains(b))
    {
        return FileKind::Other("a text file");
    }
    FileKind::Unknown
}

/// A little-endian u64 header length no larger than safetensors allows (100 MB), then a JSON object. The
/// length may exceed the file: a truncated download is still safetensors (its reader then says so).
fn is_safetensors(bytes: &[u8]) -> bool {
    let Some(len) = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    else {
        return false;
    };
    (2..=100_000_000).contains(&len) && bytes.get(8) == Some(&b'{')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_their_first_bytes() {
        assert_eq!(identify(b""), FileKind::Empty);
        assert_eq!(
            identify(b"\x80\x04\x95..."),
            FileKind::Pickle { protocol: 4 }
        );
        assert_eq!(
            identify(b"cos\nsystem\n(S'echo hi'\ntR."),
            FileKind::Pickle { protocol: 0 }
        );
        assert_eq!(
            identify(b"}q\x00X\x01\x00\x00\x00aq\x01K\x01s.\n"),
            FileKind::Pickle { protocol: 0 }
        );
        assert_eq!(
            identify(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            FileKind::Other("a PNG image")
        );
        assert_eq!(
            identify(b"\xff\xd8\xff\xe0\0\x10JFIF"),
            FileKind::Other("a JPEG image")
        );
        assert_eq!(
            identify(b"RIFF\x10\0\0\0WEBPVP8 "),
            FileKind::Other("a WebP image")
        );
        let mut st = 4u64.to_le_bytes().to_vec();
        st.extend_from_slice(b"{}  ");
        assert_eq!(identify(&st), FileKind::Safetensors);
        assert_eq!(
            identify(b"PK\x03\x04....archive/data.pkl...."),
            FileKind::TorchZip
        );
        assert_eq!(identify(b"PK\x03\x04....img/0001.png"), FileKind::Zip);
        assert_eq!(identify(b"\x93NUMPY\x01\0"), FileKind::Npy);
        assert!(
            identify(b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\n")
                .describe()
                .contains("LFS")
        );
        assert!(identify(b"<!DOCTYPE html><html>")
            .describe()
            .contains("HTML"));
        assert_eq!(identify(b"hello\n"), FileKind::Other("a text file"));
        // A text file that happens to start with a pickle opcode is no pickle without its STOP.
        assert_eq!(identify(b"cat and dog\n"), FileKind::Other("a text file"));
        assert_eq!(identify(&[0x13, 0x37, 0xfe, 0x00, 0x01]), FileKind::Unknown);
        // An impossible safetensors header length is not safetensors; a truncated file still is.
        assert_eq!(identify(&[0xff; 16]), FileKind::Unknown);
        assert_eq!(
            identify(b"\x10\x00\x00\x00\x00\x00\x00\x00{}"),
            FileKind::Safetensors
        );
    }
}
