//! Animated GIF (looping forever), deterministic quantization.
//!
//! Each frame gets its own palette: exact when it has few enough colours, otherwise NeuQuant
//! (deterministic: no randomness, fixed sampling factor). GIF alpha is one bit: alpha < 128 is transparent
//! and gets a palette index of its own, so no opaque pixel can ever turn transparent.

use bestiary_canvas::{Error, Image, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// NeuQuant sampling factor (1 = best, 30 = fastest); fixed so output is reproducible.
const NEUQUANT_SAMPLE: i32 = 10;

/// A quantized frame: palette (RGB triples), indices, and the transparent index if any.
fn quantize(img: &Image) -> (Vec<u8>, Vec<u8>, Option<u8>) {
    let px: Vec<[u8; 4]> = img
        .as_raw()
        .chunks_exact(4)
        .map(|p| [p[0], p[1], p[2], p[3]])
        .collect();
    let opaque = |p: &[u8; 4]| p[3] >= 128;
    let has_clear = px.iter().any(|p| !opaque(p));
    let slots = if has_clear { 255 } else { 256 };
    // The transparent pixels' index: 255, right after at most 255 colours.
    const CLEAR: u8 = 255;

    let mut exact: BTreeMap<[u8; 3], u8> = BTreeMap::new();
    let mut few = true;
    for p in px.iter().filter(|p| opaque(p)) {
        exact.entry([p[0], p[1], p[2]]).or_insert(0);
        if exact.len() > slots {
            few = false;
            break;
        }
    }
    let (mut palette, indices): (Vec<u8>, Vec<u8>) = if few {
        // Sorted colours (BTreeMap order) make the palette independent of pixel order.
        for (i, v) in exact.values_mut().enumerate() {
            *v = i as u8;
        }
        let palette = exact.keys().flatten().copied().collect();
        let idx = px
            .iter()
            .map(|p| {
                if opaque(p) {
                    exact[&[p[0], p[1], p[2]]]
                } else {
                    CLEAR
                }
            })
            .collect();
        (palette, idx)
    } else {
        let train: Vec<u8> = px
            .iter()
            .filter(|p| opaque(p))
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        let nq = color_quant::NeuQuant::new(NEUQUANT_SAMPLE, slots, &train);
        let idx = px
            .iter()
            .map(|p| {
                if opaque(p) {
                    nq.index_of(&[p[0], p[1], p[2], 255]) as u8
                } else {
                    CLEAR
                }
            })
            .collect();
        (nq.color_map_rgb(), idx)
    };
    if has_clear {
        // Pad up to the transparent slot (exact palettes may be shorter than 255 colours).
        palette.resize(CLEAR as usize * 3, 0);
        palette.extend([0, 0, 0]);
    }
    (palette, indices, has_clear.then_some(CLEAR))
}

/// `delay_cs`: frame delay in hundredths of a second. All frames must share one size.
pub fn encode_gif(frames: &[Image], delay_cs: u16) -> Result<Vec<u8>> {
    let first = frames
        .first()
        .ok_or_else(|| Error::Invalid("cannot write a GIF with no frames".into()))?;
    let (w, h) = (first.width(), first.height());
    bestiary_canvas::image::check_size(w, h)?;
    if let Some((i, f)) = frames
        .iter()
        .enumerate()
        .find(|(_, f)| (f.width(), f.height()) != (w, h))
    {
        return Err(Error::Invalid(format!(
            "GIF frame {i} is {}x{} but frame 0 is {w}x{h}: all frames must share one size",
            f.width(),
            f.height()
        )));
    }
    let enc_err = |e: gif::EncodingError| Error::Invalid(format!("cannot encode GIF: {e}"));
    let mut out = Vec::new();
    {
        // check_size keeps sides <= 16384, so they fit GIF's u16 fields.
        let mut enc = gif::Encoder::new(&mut out, w as u16, h as u16, &[]).map_err(enc_err)?;
        enc.set_repeat(gif::Repeat::Infinite).map_err(enc_err)?;
        for img in frames {
            let (palette, indices, transparent) = quantize(img);
            let frame = gif::Frame {
                width: w as u16,
                height: h as u16,
                delay: delay_cs,
                // Clear to background between frames so transparent areas do not show the previous frame.
                dispose: gif::DisposalMethod::Background,
                transparent,
                palette: Some(palette),
                buffer: std::borrow::Cow::Owned(indices),
                ..gif::Frame::default()
            };
            enc.write_frame(&frame).map_err(enc_err)?;
        }
    }
    Ok(out)
}

/// Atomic write (temp + rename).
pub fn write_gif(path: &Path, frames: &[Image], delay_cs: u16) -> Result<()> {
    let bytes = encode_gif(frames, delay_cs)?;
    bestiary_canvas::io::write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bestiary_canvas::Rgba;

    /// Decodes with the gif crate: (width, height, frames as RGBA, delays, loops forever).
    fn decode(bytes: &[u8]) -> (u16, u16, Vec<Vec<u8>>, Vec<u16>, bool) {
        let mut opts = gif::DecodeOptions::new();
        opts.set_color_output(gif::ColorOutput::RGBA);
        let mut d = opts.read_info(bytes).unwrap();
        let (w, h) = (d.width(), d.height());
        let (mut frames, mut delays) = (Vec::new(), Vec::new());
        while let Some(f) = d.read_next_frame().unwrap() {
            frames.push(f.buffer.to_vec());
            delays.push(f.delay);
        }
        (w, h, frames, delays, d.repeat() == gif::Repeat::Infinite)
    }

    fn noisy(seed: u32) -> Image {
        // More than 256 colours, forcing the NeuQuant path.
        let mut img = Image::new(40, 30);
        for y in 0..30u32 {
            for x in 0..40u32 {
                let v = (x * 7 + y * 13 + seed).wrapping_mul(2_654_435_761);
                img.put(x, y, [(v >> 24) as u8, (v >> 16) as u8, x as u8 * 6, 255]);
            }
        }
        img
    }

    #[test]
    fn decodes_with_frame_count_size_delay_and_loop() {
        let frames: Vec<Image> = (0..3).map(noisy).collect();
        let bytes = encode_gif(&frames, 7).unwrap();
        let (w, h, got, delays, forever) = decode(&bytes);
        assert_eq!((w, h), (40, 30));
        assert_eq!(got.len(), 3);
        assert_eq!(delays, vec![7, 7, 7]);
        assert!(forever);
        // Deterministic: same input, same bytes.
        assert_eq!(encode_gif(&frames, 7).unwrap(), bytes);
    }

    #[test]
    fn few_colours_and_transparency_are_exact() {
        let mut img = Image::filled(4, 3, Rgba::parse("#204060").unwrap());
        img.put(0, 0, [0, 0, 0, 0]);
        img.put(1, 0, [0, 0, 0, 255]); // opaque black must stay opaque
        img.put(2, 0, [250, 10, 10, 200]); // alpha >= 128 becomes opaque
        let (_, _, frames, _, _) = decode(&encode_gif(&[img.clone(), img], 10).unwrap());
        let f = &frames[0];
        assert_eq!(f[3], 0);
        assert_eq!(&f[4..8], &[0, 0, 0, 255]);
        assert_eq!(&f[8..12], &[250, 10, 10, 255]);
        assert_eq!(&f[12..16], &[0x20, 0x40, 0x60, 255]);
    }

    #[test]
    fn neuquant_with_transparency_keeps_opaque_pixels() {
        let mut img = noisy(5);
        for x in 0..40 {
            img.put(x, 0, [0, 0, 0, 0]);
        }
        let (_, _, frames, _, _) = decode(&encode_gif(&[img], 1).unwrap());
        for (i, p) in frames[0].chunks(4).enumerate() {
            assert_eq!(p[3], if i < 40 { 0 } else { 255 }, "pixel {i}");
        }
    }

    #[test]
    fn rejects_empty_and_mismatched() {
        assert!(encode_gif(&[], 5)
            .unwrap_err()
            .to_string()
            .contains("no frames"));
        let e = encode_gif(&[Image::new(2, 2), Image::new(2, 3)], 5)
            .unwrap_err()
            .to_string();
        assert!(e.contains("frame 1 is 2x3"), "{e}");
        assert!(encode_gif(&[Image::new(0, 2)], 5).is_err());
    }
}
