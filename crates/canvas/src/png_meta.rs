//! PNG with a `bestiary` tEXt chunk holding JSON {engine, params, seed, version}.

use crate::{Error, Image};
use std::path::Path;

pub const TEXT_KEY: &str = "bestiary";

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Metadata {
    pub engine: String,
    pub params: serde_json::Value,
    pub seed: u64,
    pub version: String,
}

impl Metadata {
    /// `version` is filled with bestiary's version (this crate's CARGO_PKG_VERSION).
    pub fn new(engine: &str, params: serde_json::Value, seed: u64) -> Self {
        Metadata {
            engine: engine.to_string(),
            params,
            seed,
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// Compact JSON with every non-ASCII character written as a `\uXXXX` escape: tEXt is Latin-1 only,
/// and pure ASCII survives any reader. Non-ASCII can only occur inside JSON strings, where escapes are valid.
fn ascii_json(meta: &Metadata) -> crate::Result<String> {
    let json = serde_json::to_string(meta)
        .map_err(|e| Error::Invalid(format!("cannot serialize metadata: {e}")))?;
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    Ok(out)
}

pub fn encode_png(image: &Image, meta: Option<&Metadata>) -> crate::Result<Vec<u8>> {
    crate::image::check_size(image.width(), image.height())?;
    let enc_err = |e: png::EncodingError| Error::Invalid(format!("cannot encode PNG: {e}"));
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, image.width(), image.height());
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
        if let Some(m) = meta {
            enc.add_text_chunk(TEXT_KEY.to_string(), ascii_json(m)?)
                .map_err(enc_err)?;
        }
        let mut writer = enc.write_header().map_err(enc_err)?;
        writer.write_image_data(image.as_raw()).map_err(enc_err)?;
        writer.finish().map_err(enc_err)?;
    }
    Ok(out)
}

/// Writes atomically (temp file + rename): a failed write leaves no partial file.
pub fn write_png(path: &Path, image: &Image, meta: Option<&Metadata>) -> crate::Result<()> {
    let bytes = encode_png(image, meta)?;
    crate::atomic::write_atomic(path, &bytes)
}

/// Widens any 8-bit output layout to RGBA8.
fn to_rgba(buf: &[u8], color: png::ColorType) -> Result<Vec<u8>, String> {
    let out = match color {
        png::ColorType::Rgba => buf.to_vec(),
        png::ColorType::Rgb => buf
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        png::ColorType::GrayscaleAlpha => buf
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g, 255]).collect(),
        png::ColorType::Indexed => return Err("indexed colour was not expanded".into()),
    };
    Ok(out)
}

/// The decoder proper; errors are plain reasons so callers can attach a path or not.
fn decode(bytes: &[u8]) -> Result<(Image, Option<Metadata>), String> {
    // Internal decoder buffers are capped; the output buffer is ours and bounded by check_size below.
    let limits = png::Limits { bytes: 256 << 20 };
    let mut dec = png::Decoder::new_with_limits(std::io::Cursor::new(bytes), limits);
    dec.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = dec.read_info().map_err(|e| e.to_string())?;
    let (w, h) = (reader.info().width, reader.info().height);
    crate::image::check_size(w, h).map_err(|e| e.to_string())?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    let (color, _) = reader.output_color_type();
    let rgba = to_rgba(&buf[..frame.buffer_size()], color)?;
    // Text after the image data is legal PNG too: read to the end so it is seen.
    reader.finish().map_err(|e| e.to_string())?;
    let meta = match reader
        .info()
        .uncompressed_latin1_text
        .iter()
        .find(|t| t.keyword == TEXT_KEY)
    {
        Some(t) => Some(
            serde_json::from_str::<Metadata>(&t.text)
                .map_err(|e| format!("invalid {TEXT_KEY} metadata: {e}"))?,
        ),
        None => None,
    };
    let image = Image::from_raw(frame.width, frame.height, rgba).map_err(|e| e.to_string())?;
    Ok((image, meta))
}

pub fn decode_png(bytes: &[u8]) -> crate::Result<(Image, Option<Metadata>)> {
    decode(bytes).map_err(|reason| Error::Invalid(format!("cannot decode PNG: {reason}")))
}

pub fn read_png(path: &Path) -> crate::Result<(Image, Option<Metadata>)> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: shown.clone(),
        source,
    })?;
    decode(&bytes).map_err(|reason| Error::Decode {
        path: shown,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rgba;

    fn gradient() -> Image {
        let mut img = Image::new(13, 9);
        for y in 0..9 {
            for x in 0..13 {
                img.put(
                    x,
                    y,
                    [
                        (x * 19) as u8,
                        (y * 28) as u8,
                        ((x + y) * 7) as u8,
                        (255 - x * 10) as u8,
                    ],
                );
            }
        }
        img
    }

    #[test]
    fn metadata_round_trip() {
        let img = gradient();
        let meta = Metadata::new(
            "flow",
            serde_json::json!({"steps": 300, "palette": "ember", "note": "ünïcode ✓ 🦊"}),
            42,
        );
        assert_eq!(meta.version, env!("CARGO_PKG_VERSION"));
        let bytes = encode_png(&img, Some(&meta)).unwrap();
        let (back, got) = decode_png(&bytes).unwrap();
        assert_eq!(back, img);
        assert_eq!(got, Some(meta));
        // The chunk is really a tEXt chunk named `bestiary`, readable by other tools.
        let needle = b"tEXtbestiary\0{";
        assert!(bytes.windows(needle.len()).any(|w| w == needle));
    }

    #[test]
    fn png_without_metadata_gives_none() {
        let img = Image::filled(3, 2, Rgba::parse("#abcdef").unwrap());
        let (back, meta) = decode_png(&encode_png(&img, None).unwrap()).unwrap();
        assert_eq!(back, img);
        assert_eq!(meta, None);
    }

    #[test]
    fn other_text_chunks_are_ignored_and_other_layouts_expand() {
        // An RGB PNG from elsewhere, with an unrelated tEXt chunk.
        let mut bytes = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut bytes, 2, 1);
            enc.set_color(png::ColorType::Rgb);
            enc.add_text_chunk("Software".into(), "elsewhere".into())
                .unwrap();
            let mut w = enc.write_header().unwrap();
            w.write_image_data(&[1, 2, 3, 4, 5, 6]).unwrap();
        }
        let (img, meta) = decode_png(&bytes).unwrap();
        assert_eq!(meta, None);
        assert_eq!(img.as_raw(), &[1, 2, 3, 255, 4, 5, 6, 255]);
    }

    #[test]
    fn bad_bytes_and_bad_metadata_error() {
        assert!(decode_png(b"").is_err());
        let good = encode_png(&gradient(), None).unwrap();
        assert!(decode_png(&good[..good.len() - 30]).is_err());
        let mut bytes = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut bytes, 1, 1);
            enc.set_color(png::ColorType::Rgba);
            enc.add_text_chunk(TEXT_KEY.into(), "{not json".into())
                .unwrap();
            enc.write_header()
                .unwrap()
                .write_image_data(&[0; 4])
                .unwrap();
        }
        let e = decode_png(&bytes).unwrap_err().to_string();
        assert!(e.contains("invalid bestiary metadata"), "{e}");
    }

    #[test]
    fn write_and_read_file() {
        let dir = std::env::temp_dir().join(format!("bestiary-canvas-png-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.png");
        let meta = Metadata::new("squares", serde_json::json!([1, 2.5, null]), u64::MAX);
        write_png(&p, &gradient(), Some(&meta)).unwrap();
        assert_eq!(read_png(&p).unwrap(), (gradient(), Some(meta)));
        let e = read_png(&dir.join("none.png")).unwrap_err().to_string();
        assert!(e.contains("none.png"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
