//! A minimal ISO base media (MP4) muxer for one H.264 video track, and a reader for what it writes.
//!
//! Layout: `ftyp`, `moov` (`mvhd`, `trak` > `tkhd`, `mdia` > `mdhd`, `hdlr`, `minf` > `vmhd`, `dinf`,
//! `stbl` > `stsd` (`avc1` + `avcC`), `stts`, `stss`, `stsc`, `stsz`, `stco`), then `mdat` holding every
//! sample as one chunk. The media timescale is `fps * 1000` with every sample lasting 1000 ticks, so the
//! duration is exactly `frames / fps`; the movie timescale is 1000 (milliseconds).

use crate::h264::H264Track;
use crate::{invalid, Result};

/// Movie-level timescale (ticks per second).
pub const MOVIE_TIMESCALE: u32 = 1000;
/// Media ticks per frame (the media timescale is `fps * SAMPLE_DELTA`).
pub const SAMPLE_DELTA: u32 = 1000;

fn boxed(kind: &[u8; 4], parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = 8 + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&(len as u32).to_be_bytes());
    out.extend_from_slice(kind);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// A full box: version 0 and `flags`.
fn full(kind: &[u8; 4], flags: u32, body: &[u8]) -> Vec<u8> {
    boxed(kind, &[&flags.to_be_bytes(), body])
}

#[derive(Default)]
struct W(Vec<u8>);
impl W {
    fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
    fn zeros(&mut self, n: usize) -> &mut Self {
        self.0.resize(self.0.len() + n, 0);
        self
    }
    fn matrix(&mut self) -> &mut Self {
        for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
            self.u32(v);
        }
        self
    }
}

/// `avcC`: the decoder configuration record (one SPS, one PPS, 4-byte NAL lengths).
fn avcc(t: &H264Track) -> Vec<u8> {
    let mut b = W::default();
    b.u8(1)
        .u8(t.sps[1])
        .u8(t.sps[2])
        .u8(t.sps[3])
        .u8(0xff)
        .u8(0xe1);
    b.u16(t.sps.len() as u16)
        .bytes(&t.sps)
        .u8(1)
        .u16(t.pps.len() as u16)
        .bytes(&t.pps);
    boxed(b"avcC", &[&b.0])
}

fn moov(t: &H264Track, fps: u32, chunk_offset: u32) -> Vec<u8> {
    let n = t.samples.len() as u32;
    let movie_duration = ((n as u64 * MOVIE_TIMESCALE as u64 + fps as u64 / 2) / fps as u64) as u32;
    let mvhd = {
        let mut b = W::default();
        b.u32(0)
            .u32(0)
            .u32(MOVIE_TIMESCALE)
            .u32(movie_duration)
            .u32(0x0001_0000)
            .u16(0x0100)
            .zeros(10);
        b.matrix().zeros(24).u32(2);
        full(b"mvhd", 0, &b.0)
    };
    let tkhd = {
        let mut b = W::default();
        b.u32(0)
            .u32(0)
            .u32(1)
            .u32(0)
            .u32(movie_duration)
            .zeros(8)
            .u16(0)
            .u16(0)
            .u16(0)
            .u16(0);
        b.matrix().u32(t.width << 16).u32(t.height << 16);
        full(b"tkhd", 0x3, &b.0)
    };
    let mdhd = {
        let mut b = W::default();
        // language 'und' packed as three 5-bit letters.
        b.u32(0)
            .u32(0)
            .u32(fps * SAMPLE_DELTA)
            .u32(n * SAMPLE_DELTA)
            .u16(0x55c4)
            .u16(0);
        full(b"mdhd", 0, &b.0)
    };
    let hdlr = {
        let mut b = W::default();
        b.u32(0).bytes(b"vide").zeros(12).bytes(b"bestiary video\0");
        full(b"hdlr", 0, &b.0)
    };
    let vmhd = full(b"vmhd", 1, &[0; 8]);
    let dinf = boxed(
        b"dinf",
        &[&full(
            b"dref",
            0,
            &[&1u32.to_be_bytes()[..], &full(b"url ", 1, &[])].concat(),
        )],
    );
    let avc1 = {
        let mut b = W::default();
        b.zeros(6)
            .u16(1)
            .zeros(16)
            .u16(t.width as u16)
            .u16(t.height as u16);
        b.u32(0x0048_0000).u32(0x0048_0000).u32(0).u16(1);
        let mut name = [0u8; 32];
        let label = b"bestiary H.264";
        name[0] = label.len() as u8;
        name[1..=label.len()].copy_from_slice(label);
        b.bytes(&name).u16(0x18).u16(0xffff);
        boxed(b"avc1", &[&b.0, &avcc(t)])
    };
    let stsd = full(b"stsd", 0, &[&1u32.to_be_bytes()[..], &avc1].concat());
    let stts = full(b"stts", 0, &W::default().u32(1).u32(n).u32(SAMPLE_DELTA).0);
    let stss = {
        let keys: Vec<u32> = t
            .keyframes
            .iter()
            .enumerate()
            .filter(|(_, &k)| k)
            .map(|(i, _)| i as u32 + 1)
            .collect();
        let mut b = W::default();
        b.u32(keys.len() as u32);
        for k in keys {
            b.u32(k);
        }
        full(b"stss", 0, &b.0)
    };
    let stsc = full(b"stsc", 0, &W::default().u32(1).u32(1).u32(n).u32(1).0);
    let stsz = {
        let mut b = W::default();
        b.u32(0).u32(n);
        for s in &t.samples {
            b.u32(s.len() as u32);
        }
        full(b"stsz", 0, &b.0)
    };
    let stco = full(b"stco", 0, &W::default().u32(1).u32(chunk_offset).0);
    let stbl = boxed(b"stbl", &[&stsd, &stts, &stss, &stsc, &stsz, &stco]);
    let minf = boxed(b"minf", &[&vmhd, &dinf, &stbl]);
    let mdia = boxed(b"mdia", &[&mdhd, &hdlr, &minf]);
    let trak = boxed(b"trak", &[&tkhd, &mdia]);
    boxed(b"moov", &[&mvhd, &trak])
}

/// The MP4 file of an encoded track at `fps` frames per second.
pub fn mux(t: &H264Track, fps: u32) -> Result<Vec<u8>> {
    if t.samples.is_empty() || fps == 0 {
        return invalid("cannot mux an MP4 with no frames or no frame rate");
    }
    if t.sps.len() < 4 || t.pps.is_empty() || t.keyframes.len() != t.samples.len() {
        return invalid("cannot mux an MP4: the H.264 track is incomplete");
    }
    let payload: usize = t.samples.iter().map(Vec::len).sum();
    if payload as u64 + (1 << 20) > u32::MAX as u64 {
        return invalid("MP4 over 4 GiB: use fewer frames or a smaller size");
    }
    let ftyp = boxed(
        b"ftyp",
        &[
            b"isom",
            &0x200u32.to_be_bytes(),
            b"isom",
            b"iso2",
            b"avc1",
            b"mp41",
        ],
    );
    // The moov's size does not depend on the offset's value, so measure it once with a placeholder.
    let moov_len = moov(t, fps, 0).len();
    let offset = (ftyp.len() + moov_len + 8) as u32;
    let moov = moov(t, fps, offset);
    let mut out = Vec::with_capacity(offset as usize + payload);
    out.extend_from_slice(&ftyp);
    out.extend_from_slice(&moov);
    out.extend_from_slice(&((payload + 8) as u32).to_be_bytes());
    out.extend_from_slice(b"mdat");
    for s in &t.samples {
        out.extend_from_slice(s);
    }
    Ok(out)
}

/// What [`read`] found besides the track.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mp4Info {
    pub movie_timescale: u32,
    pub movie_duration: u64,
    pub media_timescale: u32,
    pub media_duration: u64,
    /// Each sample's duration in media ticks.
    pub sample_deltas: Vec<u32>,
}

fn boxes(mut b: &[u8]) -> Result<Vec<([u8; 4], &[u8])>> {
    let mut out = Vec::new();
    while b.len() >= 8 {
        let size = u32::from_be_bytes(b[..4].try_into().unwrap()) as u64;
        let kind: [u8; 4] = b[4..8].try_into().unwrap();
        let (head, size) = match size {
            0 => (8, b.len() as u64),
            1 if b.len() >= 16 => (16, u64::from_be_bytes(b[8..16].try_into().unwrap())),
            s => (8, s),
        };
        if size < head || size > b.len() as u64 {
            return invalid(format!(
                "MP4 box '{}' overruns its parent",
                String::from_utf8_lossy(&kind)
            ));
        }
        out.push((kind, &b[head as usize..size as usize]));
        b = &b[size as usize..];
    }
    Ok(out)
}

fn child<'a>(b: &'a [u8], kind: &[u8; 4]) -> Result<&'a [u8]> {
    boxes(b)?
        .into_iter()
        .find(|(k, _)| k == kind)
        .map(|(_, v)| v)
        .ok_or_else(|| {
            crate::Error::Invalid(format!(
                "MP4 has no '{}' box",
                String::from_utf8_lossy(kind)
            ))
        })
}

fn be32(b: &[u8], at: usize) -> Result<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes(s.try_into().unwrap()))
        .ok_or_else(|| crate::Error::Invalid("MP4 box too short".into()))
}

fn be64(b: &[u8], at: usize) -> Result<u64> {
    b.get(at..at + 8)
        .map(|s| u64::from_be_bytes(s.try_into().unwrap()))
        .ok_or_else(|| crate::Error::Invalid("MP4 box too short".into()))
}

/// Timescale and duration of an `mvhd` / `mdhd` (versions 0 and 1).
fn time_fields(b: &[u8]) -> Result<(u32, u64)> {
    if b.first() == Some(&1) {
        Ok((be32(b, 20)?, be64(b, 24)?))
    } else {
        Ok((be32(b, 12)?, be32(b, 16)? as u64))
    }
}

/// Reads the first video track of an MP4: size, parameter sets, samples and timing.
pub fn read(bytes: &[u8]) -> Result<(H264Track, Mp4Info)> {
    let top = boxes(bytes)?;
    let moov = top
        .iter()
        .find(|(k, _)| k == b"moov")
        .map(|(_, v)| *v)
        .ok_or_else(|| crate::Error::Invalid("MP4 has no 'moov' box".into()))?;
    let (movie_timescale, movie_duration) = time_fields(child(moov, b"mvhd")?)?;
    let trak = boxes(moov)?
        .into_iter()
        .filter(|(k, _)| k == b"trak")
        .find(|(_, t)| {
            child(t, b"mdia")
                .and_then(|m| child(m, b"hdlr"))
                .map(|h| h.get(8..12) == Some(b"vide"))
                .unwrap_or(false)
        })
        .map(|(_, t)| t)
        .ok_or_else(|| crate::Error::Invalid("MP4 has no video track".into()))?;
    let mdia = child(trak, b"mdia")?;
    let (media_timescale, media_duration) = time_fields(child(mdia, b"mdhd")?)?;
    let stbl = child(child(mdia, b"minf")?, b"stbl")?;
    let stsd = child(stbl, b"stsd")?;
    let avc1 = child(stsd.get(8..).unwrap_or_default(), b"avc1")?;
    if avc1.len() < 78 {
        return invalid("MP4 'avc1' entry too short");
    }
    let width = u16::from_be_bytes([avc1[24], avc1[25]]) as u32;
    let height = u16::from_be_bytes([avc1[26], avc1[27]]) as u32;
    let cfg = child(&avc1[78..], b"avcC")?;
    let take = |b: &[u8], at: usize| -> Result<(Vec<u8>, usize)> {
        let n = b
            .get(at..at + 2)
            .map(|s| u16::from_be_bytes([s[0], s[1]]) as usize)
            .ok_or_else(|| crate::Error::Invalid("avcC too short".into()))?;
        let v = b
            .get(at + 2..at + 2 + n)
            .ok_or_else(|| crate::Error::Invalid("avcC too short".into()))?;
        Ok((v.to_vec(), at + 2 + n))
    };
    if cfg.len() < 7 || cfg[0] != 1 || cfg[4] & 3 != 3 || cfg[5] & 0x1f != 1 {
        return invalid("MP4 avcC is not one SPS with 4-byte NAL lengths");
    }
    let (sps, at) = take(cfg, 6)?;
    if cfg.get(at) != Some(&1) {
        return invalid("MP4 avcC does not hold exactly one PPS");
    }
    let (pps, _) = take(cfg, at + 1)?;

    let stts = child(stbl, b"stts")?;
    let mut sample_deltas = Vec::new();
    for e in 0..be32(stts, 4)? as usize {
        let (count, delta) = (be32(stts, 8 + e * 8)?, be32(stts, 12 + e * 8)?);
        sample_deltas.extend(std::iter::repeat_n(delta, count as usize));
    }
    let stsz = child(stbl, b"stsz")?;
    let (fixed, count) = (be32(stsz, 4)?, be32(stsz, 8)? as usize);
    let sizes: Vec<u32> = if fixed != 0 {
        vec![fixed; count]
    } else {
        (0..count)
            .map(|i| be32(stsz, 12 + i * 4))
            .collect::<Result<_>>()?
    };
    let offsets: Vec<u64> = if let Ok(stco) = child(stbl, b"stco") {
        (0..be32(stco, 4)? as usize)
            .map(|i| be32(stco, 8 + i * 4).map(u64::from))
            .collect::<Result<_>>()?
    } else {
        let co64 = child(stbl, b"co64")?;
        (0..be32(co64, 4)? as usize)
            .map(|i| be64(co64, 8 + i * 8))
            .collect::<Result<_>>()?
    };
    let stsc = child(stbl, b"stsc")?;
    let runs: Vec<(u32, u32)> = (0..be32(stsc, 4)? as usize)
        .map(|e| Ok((be32(stsc, 8 + e * 12)?, be32(stsc, 12 + e * 12)?)))
        .collect::<Result<_>>()?;
    let mut samples = Vec::with_capacity(count);
    for (c, &off) in offsets.iter().enumerate() {
        let chunk = c as u32 + 1;
        let per = runs
            .iter()
            .rev()
            .find(|(first, _)| *first <= chunk)
            .map(|r| r.1)
            .unwrap_or(0);
        let mut at = off as usize;
        for _ in 0..per {
            let Some(&size) = sizes.get(samples.len()) else {
                break;
            };
            let s = bytes
                .get(at..at + size as usize)
                .ok_or_else(|| crate::Error::Invalid("MP4 sample outside the file".into()))?;
            samples.push(s.to_vec());
            at += size as usize;
        }
    }
    if samples.len() != count {
        return invalid(format!(
            "MP4 lists {count} samples but its chunks hold {}",
            samples.len()
        ));
    }
    let keyframes = match child(stbl, b"stss") {
        Ok(stss) => {
            let keys: Vec<u32> = (0..be32(stss, 4)? as usize)
                .map(|i| be32(stss, 8 + i * 4))
                .collect::<Result<_>>()?;
            (1..=count as u32).map(|i| keys.contains(&i)).collect()
        }
        Err(_) => vec![true; count],
    };
    let track = H264Track {
        width,
        height,
        sps,
        pps,
        samples,
        keyframes,
    };
    Ok((
        track,
        Mp4Info {
            movie_timescale,
            movie_duration,
            media_timescale,
            media_duration,
            sample_deltas,
        },
    ))
}
