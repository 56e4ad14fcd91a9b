//! Animated WebP: lossless VP8L frames in a RIFF `VP8X` + `ANIM` + `ANMF` container.
//!
//! Each frame covers the whole canvas, is not blended with the previous one and is not disposed, so a
//! decoder shows exactly the frame's pixels. Opaque animations are stored without alpha.

use crate::{check_frames, invalid, Result};
use bestiary_canvas::Image;
use image_webp::{ColorType, WebPEncoder};
use rayon::prelude::*;

/// Whole-millisecond durations whose sum is exactly `round(n * 1000 / fps)`.
pub fn frame_durations_ms(n: usize, fps: u32) -> Vec<u32> {
    let at = |i: usize| ((i as f64) * 1000.0 / fps as f64).round() as u64;
    (0..n).map(|i| (at(i + 1) - at(i)).max(1) as u32).collect()
}

fn chunk(out: &mut Vec<u8>, fourcc: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(fourcc);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
}

fn u24(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes()[..3]);
}

/// One frame's VP8L bitstream (the payload of the `VP8L` chunk of a simple lossless WebP).
fn vp8l(img: &Image, alpha: bool) -> Result<Vec<u8>> {
    let (w, h) = (img.width(), img.height());
    let mut file = Vec::new();
    let res = if alpha {
        WebPEncoder::new(&mut file).encode(img.as_raw(), w, h, ColorType::Rgba8)
    } else {
        let rgb = img.to_channels(3)?;
        WebPEncoder::new(&mut file).encode(&rgb, w, h, ColorType::Rgb8)
    };
    res.map_err(|e| crate::Error::Invalid(format!("cannot encode WebP frame: {e}")))?;
    // RIFF size WEBP | VP8L size payload
    if file.len() < 20 || &file[0..4] != b"RIFF" || &file[8..16] != b"WEBPVP8L" {
        return invalid("WebP encoder wrote an unexpected container");
    }
    let len = u32::from_le_bytes(file[16..20].try_into().unwrap()) as usize;
    if file.len() < 20 + len {
        return invalid("WebP encoder wrote a truncated frame");
    }
    Ok(file[20..20 + len].to_vec())
}

/// An animated WebP built frame by frame: each frame is compressed as it comes (only the VP8L bitstreams
/// are kept). Frames with any transparency keep their alpha; opaque ones are stored as RGB.
#[derive(Default)]
pub struct WebpAnimation {
    size: Option<(u32, u32)>,
    alpha: bool,
    frames: Vec<Vec<u8>>,
}

impl WebpAnimation {
    pub fn new() -> Self {
        Self::default()
    }

    /// Compresses the next frames (in parallel); they must all share the first frame's size.
    pub fn push(&mut self, batch: &[Image]) -> Result<()> {
        let Some(first) = batch.first() else {
            return Ok(());
        };
        let (w, h) = *self.size.get_or_insert((first.width(), first.height()));
        if w == 0 || h == 0 || w > 16384 || h > 16384 {
            return invalid(format!("WebP frames are 1x1 to 16384x16384, got {w}x{h}"));
        }
        if let Some((i, f)) = batch
            .iter()
            .enumerate()
            .find(|(_, f)| (f.width(), f.height()) != (w, h))
        {
            let i = self.frames.len() + i;
            return invalid(format!(
                "frame {i} is {}x{} but frame 0 is {w}x{h}: all frames must share one size",
                f.width(),
                f.height()
            ));
        }
        let coded: Vec<(Vec<u8>, bool)> = batch
            .par_iter()
            .map(|f| {
                let alpha = f.as_raw().chunks_exact(4).any(|p| p[3] != 255);
                vp8l(f, alpha).map(|b| (b, alpha))
            })
            .collect::<Result<_>>()?;
        for (bits, alpha) in coded {
            self.alpha |= alpha;
            self.frames.push(bits);
        }
        Ok(())
    }

    pub fn frames(&self) -> usize {
        self.frames.len()
    }

    /// The file's bytes at `fps`, looping forever.
    pub fn finish(&self, fps: u32) -> Result<Vec<u8>> {
        let Some((w, h)) = self.size.filter(|_| !self.frames.is_empty()) else {
            return invalid("cannot write a video with no frames");
        };
        if fps == 0 {
            return invalid("fps must be at least 1");
        }
        let durations = frame_durations_ms(self.frames.len(), fps);
        let mut body = Vec::new();
        body.extend_from_slice(b"WEBP");
        let mut vp8x = vec![0x02 | if self.alpha { 0x10 } else { 0 }, 0, 0, 0];
        u24(&mut vp8x, w - 1);
        u24(&mut vp8x, h - 1);
        chunk(&mut body, b"VP8X", &vp8x);
        // Background colour (BGRA, a hint only) and loop count 0 = forever.
        chunk(&mut body, b"ANIM", &[0, 0, 0, 0, 0, 0]);
        for (bits, &d) in self.frames.iter().zip(&durations) {
            if d >= 1 << 24 {
                return invalid("WebP frame duration too long");
            }
            let mut anmf = Vec::with_capacity(bits.len() + 24);
            u24(&mut anmf, 0); // x / 2
            u24(&mut anmf, 0); // y / 2
            u24(&mut anmf, w - 1);
            u24(&mut anmf, h - 1);
            u24(&mut anmf, d);
            anmf.push(0b10); // do not blend, do not dispose
            chunk(&mut anmf, b"VP8L", bits);
            chunk(&mut body, b"ANMF", &anmf);
        }
        if body.len() as u64 > u32::MAX as u64 - 8 {
            return invalid("animated WebP over 4 GiB");
        }
        let mut out = Vec::with_capacity(body.len() + 8);
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        Ok(out)
    }
}

/// The bytes of an animated WebP of `frames` at `fps`, looping forever.
pub fn encode_animation(frames: &[Image], fps: u32) -> Result<Vec<u8>> {
    check_frames(frames)?;
    let mut anim = WebpAnimation::new();
    anim.push(frames)?;
    anim.finish(fps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_add_up_exactly() {
        let d = frame_durations_ms(30, 30);
        assert_eq!(d.iter().sum::<u32>(), 1000);
        assert!(d.iter().all(|&x| x == 33 || x == 34));
        assert_eq!(frame_durations_ms(7, 7).iter().sum::<u32>(), 1000);
        assert_eq!(frame_durations_ms(4, 20), vec![50; 4]);
    }
}
