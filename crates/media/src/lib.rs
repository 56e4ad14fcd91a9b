//! Video writers for bestiary: animated GIF, animated WebP (lossless), MP4 (H.264) and folders of PNG
//! frames, chosen by the output path ([`write_video`]).
//!
//! - GIF: the canvas crate's encoder (per-frame palettes, loops forever). GIF delays are whole centiseconds
//!   and browsers slow down delays under 2 cs, so the delay is `round(100 / fps)` clamped to 2..: the
//!   played rate is `100 / delay` fps ([`VideoInfo::frame_ms`] says what was written).
//! - WebP: every frame lossless (VP8L from the image-webp crate) in our own RIFF `ANIM`/`ANMF` container,
//!   loops forever; frame durations are whole milliseconds, spread so their sum is exactly `frames / fps`.
//! - MP4: H.264 (constrained baseline, 4:2:0, BT.601 limited range, signalled in the VUI) from Cisco's
//!   OpenH264 built from source, in our own ISO-BMFF muxer (`ftyp`, `moov` with `avcC` before `mdat`,
//!   so it streams). 4:2:0 needs even sides: an odd width or height is padded by one column / row
//!   repeating the edge pixels ([`VideoInfo::padded`]). Transparency is flattened onto black.
//! - A folder (a path ending in `/`, or an existing directory): `frame_00000.png`, `frame_00001.png`, ...

pub mod gif_out;
pub mod h264;
pub mod mp4;
pub mod webp;

use bestiary_canvas::{png_meta, Image};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Every failure of the writers; each renders as one clear line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Canvas(#[from] bestiary_canvas::Error),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("H.264: {0}")]
    Codec(String),
}

pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn invalid<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error::Invalid(msg.into()))
}

/// The most frames per second any writer accepts.
pub const MAX_FPS: u32 = 120;

/// What [`write_video`] writes, chosen by [`VideoFormat::from_path`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoFormat {
    Gif,
    Webp,
    Mp4,
    /// Numbered PNG files in a folder.
    PngDir,
}

impl VideoFormat {
    /// A path ending in `/` (or `\`) or naming an existing directory is a frame folder; otherwise the
    /// extension decides (case-insensitive): .gif, .webp, .mp4.
    pub fn from_path(path: &Path) -> Result<Self> {
        let s = path.to_string_lossy();
        if s.ends_with('/') || s.ends_with(std::path::MAIN_SEPARATOR) || path.is_dir() {
            return Ok(VideoFormat::PngDir);
        }
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("gif") => Ok(VideoFormat::Gif),
            Some("webp") => Ok(VideoFormat::Webp),
            Some("mp4") => Ok(VideoFormat::Mp4),
            other => invalid(format!(
                "cannot write video to {}: unsupported extension {} (expected .gif, .webp, .mp4, or a folder ending in /)",
                path.display(),
                other.map(|e| format!("'.{e}'")).unwrap_or_else(|| "(none)".into())
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            VideoFormat::Gif => "gif",
            VideoFormat::Webp => "webp",
            VideoFormat::Mp4 => "mp4",
            VideoFormat::PngDir => "png-frames",
        }
    }
}

/// What was written.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoInfo {
    pub format: VideoFormat,
    pub path: PathBuf,
    pub frames: usize,
    /// The stored frame size (for MP4 possibly padded to even sides).
    pub width: u32,
    pub height: u32,
    /// The requested rate.
    pub fps: u32,
    /// How long one frame shows, as stored (GIF: whole centiseconds; WebP: the mean of whole milliseconds).
    pub frame_ms: f64,
    /// Bytes written (all files, for a folder).
    pub bytes: u64,
    /// `Some((w, h))`, the original size, when the frames were padded to even sides (MP4).
    pub padded: Option<(u32, u32)>,
}

/// Checks a frame sequence: non-empty, one size, sides within the canvas limits; returns the size.
pub fn check_frames(frames: &[Image]) -> Result<(u32, u32)> {
    let Some(first) = frames.first() else {
        return invalid("cannot write a video with no frames");
    };
    let (w, h) = (first.width(), first.height());
    if w == 0 || h == 0 {
        return invalid(format!("cannot write a video of {w}x{h} frames"));
    }
    if let Some((i, f)) = frames
        .iter()
        .enumerate()
        .find(|(_, f)| (f.width(), f.height()) != (w, h))
    {
        return invalid(format!(
            "frame {i} is {}x{} but frame 0 is {w}x{h}: all frames must share one size",
            f.width(),
            f.height()
        ));
    }
    Ok((w, h))
}

fn check_fps(fps: u32) -> Result<()> {
    if fps == 0 || fps > MAX_FPS {
        return invalid(format!("fps must be in 1..={MAX_FPS}, got {fps}"));
    }
    Ok(())
}

/// The GIF delay for a rate: whole centiseconds, at least 2 (browsers play 0-1 cs as 10 cs).
pub fn gif_delay_cs(fps: u32) -> u16 {
    ((100.0 / fps.max(1) as f64).round() as u16).max(2)
}

/// Writes `frames` at `fps` frames per second to `path`, the format chosen by [`VideoFormat::from_path`].
/// Files are written atomically (temp + rename); a folder is created when missing and its frames
/// overwritten (other files in it are left alone).
pub fn write_video(path: &Path, frames: &[Image], fps: u32) -> Result<VideoInfo> {
    check_frames(frames)?;
    let mut w = VideoWriter::create(path, fps)?;
    w.push(frames)?;
    w.finish()
}

enum Sink {
    /// GIF quantizes with the whole sequence at hand: frames are kept as they are.
    Gif(Vec<Image>),
    Webp(webp::WebpAnimation),
    /// Opened at the first frame, when the size is known.
    Mp4(Option<Box<h264::H264Encoder>>),
    PngDir,
}

/// A video written frame by frame, so a long video need not sit in memory uncompressed: MP4 and WebP
/// keep only compressed frames, a folder gets each PNG at once; GIF keeps the frames until
/// [`VideoWriter::finish`] (its palettes are built then). The file itself appears at `finish`.
pub struct VideoWriter {
    path: PathBuf,
    format: VideoFormat,
    fps: u32,
    size: Option<(u32, u32)>,
    frames: usize,
    bytes: u64,
    sink: Sink,
}

impl VideoWriter {
    /// Checks the path's format and the rate; creates a frame folder at once.
    pub fn create(path: &Path, fps: u32) -> Result<Self> {
        let format = VideoFormat::from_path(path)?;
        check_fps(fps)?;
        let sink = match format {
            VideoFormat::Gif => Sink::Gif(Vec::new()),
            VideoFormat::Webp => Sink::Webp(webp::WebpAnimation::new()),
            VideoFormat::Mp4 => Sink::Mp4(None),
            VideoFormat::PngDir => {
                std::fs::create_dir_all(path).map_err(|e| Error::Io {
                    path: path.display().to_string(),
                    source: e,
                })?;
                Sink::PngDir
            }
        };
        Ok(VideoWriter {
            path: path.to_path_buf(),
            format,
            fps,
            size: None,
            frames: 0,
            bytes: 0,
            sink,
        })
    }

    pub fn format(&self) -> VideoFormat {
        self.format
    }

    /// Adds the next frames; every frame must have the first one's size.
    pub fn push(&mut self, batch: &[Image]) -> Result<()> {
        let Some(first) = batch.first() else {
            return Ok(());
        };
        let (w, h) = *self.size.get_or_insert((first.width(), first.height()));
        if w == 0 || h == 0 {
            return invalid(format!("cannot write a video of {w}x{h} frames"));
        }
        if let Some((i, f)) = batch
            .iter()
            .enumerate()
            .find(|(_, f)| (f.width(), f.height()) != (w, h))
        {
            let i = self.frames + i;
            return invalid(format!(
                "frame {i} is {}x{} but frame 0 is {w}x{h}: all frames must share one size",
                f.width(),
                f.height()
            ));
        }
        match &mut self.sink {
            Sink::Gif(frames) => frames.extend_from_slice(batch),
            Sink::Webp(anim) => anim.push(batch)?,
            Sink::Mp4(enc) => {
                if enc.is_none() {
                    *enc = Some(Box::new(h264::H264Encoder::new(w, h, self.fps)?));
                }
                let enc = enc.as_mut().expect("opened above");
                for f in batch {
                    enc.push(f)?;
                }
            }
            Sink::PngDir => {
                // Five digits (names sort up to 100000 frames).
                let (start, path) = (self.frames, &self.path);
                let sizes: Vec<u64> = batch
                    .par_iter()
                    .enumerate()
                    .map(|(i, f)| {
                        let bytes = png_meta::encode_png(f, None)?;
                        bestiary_canvas::io::write_atomic(
                            &path.join(frame_name(start + i, 5)),
                            &bytes,
                        )?;
                        Ok(bytes.len() as u64)
                    })
                    .collect::<Result<_>>()?;
                self.bytes += sizes.iter().sum::<u64>();
            }
        }
        self.frames += batch.len();
        Ok(())
    }

    /// Frames pushed so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Writes the file (atomically) and says what was written.
    pub fn finish(self) -> Result<VideoInfo> {
        let Some((w, h)) = self.size.filter(|_| self.frames > 0) else {
            return invalid("cannot write a video with no frames");
        };
        let mut info = VideoInfo {
            format: self.format,
            path: self.path.clone(),
            frames: self.frames,
            width: w,
            height: h,
            fps: self.fps,
            frame_ms: 1000.0 / self.fps as f64,
            bytes: self.bytes,
            padded: None,
        };
        let bytes = match self.sink {
            Sink::PngDir => return Ok(info),
            Sink::Gif(frames) => {
                let delay = gif_delay_cs(self.fps);
                info.frame_ms = delay as f64 * 10.0;
                gif_out::encode_gif(&frames, delay)?
            }
            Sink::Webp(anim) => anim.finish(self.fps)?,
            Sink::Mp4(enc) => {
                let track = enc.expect("opened at the first frame").finish()?;
                (info.width, info.height) = (track.width, track.height);
                info.padded = ((track.width, track.height) != (w, h)).then_some((w, h));
                mp4::mux(&track, self.fps)?
            }
        };
        bestiary_canvas::io::write_atomic(&self.path, &bytes)?;
        info.bytes = bytes.len() as u64;
        Ok(info)
    }
}

/// The file name of frame `i` in a frame folder (`frame_00042.png`, at least five digits).
pub fn frame_name(i: usize, digits: usize) -> String {
    format!("frame_{i:0digits$}.png")
}

/// Reads an MP4 written by [`write_video`] back into RGBA frames (through OpenH264's decoder), at the
/// stored (possibly padded) size. For tests and tools; only the first video track is read.
pub fn decode_mp4(bytes: &[u8]) -> Result<Vec<Image>> {
    let (track, _) = mp4::read(bytes)?;
    h264::decode(&track)
}

/// Reads an animated WebP back into RGBA frames with their durations in milliseconds (through the
/// image-webp decoder, not our writer). For tests and tools.
pub fn decode_webp(bytes: &[u8]) -> Result<Vec<(Image, u32)>> {
    let err = |e: image_webp::DecodingError| Error::Invalid(format!("cannot decode WebP: {e}"));
    let mut d = image_webp::WebPDecoder::new(std::io::Cursor::new(bytes)).map_err(err)?;
    let (w, h) = d.dimensions();
    let channels = if d.has_alpha() { 4 } else { 3 };
    let size = d
        .output_buffer_size()
        .ok_or_else(|| Error::Invalid("WebP too large".into()))?;
    let mut out = Vec::new();
    if !d.is_animated() {
        let mut buf = vec![0; size];
        d.read_image(&mut buf).map_err(err)?;
        out.push((Image::from_channels(w, h, channels, &buf)?, 0));
        return Ok(out);
    }
    for _ in 0..d.num_frames() {
        let mut buf = vec![0; size];
        let ms = d.read_frame(&mut buf).map_err(err)?;
        out.push((Image::from_channels(w, h, channels, &buf)?, ms));
    }
    Ok(out)
}
