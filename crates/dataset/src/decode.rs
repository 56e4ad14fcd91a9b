//! Bounded decoding of image bytes (any supported format), classifying failures.

use bestiary_canvas::image::{check_size, MAX_SIDE};
use bestiary_canvas::Image;

/// Decoder allocation cap: one RGBA8 image at MAX_SIDE x MAX_SIDE plus slack (as `Image::load`).
const MAX_DECODE_BYTES: u64 = (MAX_SIDE as u64) * (MAX_SIDE as u64) * 4 + (64 << 20);

/// Why bytes did not give an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DecodeFail {
    Empty,
    TooLarge(String),
    Corrupt(String),
}

pub(crate) struct Decoded {
    pub image: Image,
    /// The file stores one grey channel (PIL mode "L"): no colour, no alpha.
    pub gray: bool,
}

/// Decodes PNG, JPEG, WebP, GIF (first frame), BMP or TIFF from memory, sniffing the format from the bytes.
/// Sides are capped at MAX_SIDE and allocation is bounded, so a decompression bomb is `TooLarge`.
pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded, DecodeFail> {
    if bytes.is_empty() {
        return Err(DecodeFail::Empty);
    }
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DecodeFail::Corrupt(e.to_string()))?;
    if reader.format().is_none() {
        return Err(DecodeFail::Corrupt("not a recognised image format".into()));
    }
    let mut reader = reader;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let decoded = match reader.decode() {
        Ok(d) => d,
        Err(image::ImageError::Limits(e)) => return Err(DecodeFail::TooLarge(e.to_string())),
        Err(e) => return Err(DecodeFail::Corrupt(e.to_string())),
    };
    let gray = matches!(
        decoded.color(),
        image::ColorType::L8 | image::ColorType::L16
    );
    let rgba = decoded.into_rgba8();
    let (w, h) = rgba.dimensions();
    check_size(w, h).map_err(|e| DecodeFail::TooLarge(e.to_string()))?;
    let image =
        Image::from_raw(w, h, rgba.into_raw()).map_err(|e| DecodeFail::Corrupt(e.to_string()))?;
    Ok(Decoded { image, gray })
}

/// Encodes interleaved RGB8 pixels as a PNG (fast deflate; deterministic bytes).
pub(crate) fn encode_rgb_png(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let mut w = enc.write_header().map_err(|e| e.to_string())?;
        w.write_image_data(rgb).map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
    }
    Ok(out)
}
