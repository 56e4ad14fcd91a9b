//! The video writers, read back by independent decoders (image-webp, gif, OpenH264) and an MP4 box walker
//! written here from the ISO BMFF layout (not the crate's own reader).

use bestiary_canvas::Image;
use bestiary_media::{decode_mp4, frame_name, write_video, VideoFormat, VideoWriter};
use std::path::Path;

/// A smooth moving scene with some texture: gradients, a moving disc, a soft ripple (like generated art,
/// unlike white noise, which no lossy codec keeps at 35 dB).
fn scene(w: u32, h: u32, t: usize) -> Image {
    let mut img = Image::new(w, h);
    let t = t as f32;
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            let (cx, cy) = (0.5 + 0.3 * (t * 0.2).cos(), 0.5 + 0.3 * (t * 0.2).sin());
            let d = ((fx - cx).powi(2) + (fy - cy).powi(2)).sqrt();
            let disc = if d < 0.2 {
                1.0
            } else {
                (1.0 - (d - 0.2) * 8.0).max(0.0)
            };
            let ripple = (fx * 12.0 + t * 0.3).sin() * (fy * 9.0).cos();
            let r = 40.0 + 150.0 * fx + 60.0 * disc;
            let g = 60.0 + 120.0 * fy + 25.0 * ripple;
            let b = 200.0 - 120.0 * disc + 20.0 * ripple;
            img.put(
                x,
                y,
                [
                    r.clamp(0.0, 255.0) as u8,
                    g.clamp(0.0, 255.0) as u8,
                    b.clamp(0.0, 255.0) as u8,
                    255,
                ],
            );
        }
    }
    img
}

/// Per-pixel hash noise (thousands of colours, incompressible), for the lossless formats.
fn noise(w: u32, h: u32, seed: u32, alpha: bool) -> Image {
    let mut img = Image::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let v = (x.wrapping_mul(73_856_093)
                ^ y.wrapping_mul(19_349_663)
                ^ seed.wrapping_mul(83_492_791))
            .wrapping_mul(2_654_435_761);
            let a = if alpha { (v >> 3) as u8 } else { 255 };
            img.put(x, y, [(v >> 24) as u8, (v >> 16) as u8, (v >> 8) as u8, a]);
        }
    }
    img
}

fn psnr_rgb(a: &Image, b: &Image, w: u32, h: u32) -> f64 {
    let mut se = 0.0f64;
    for y in 0..h {
        for x in 0..w {
            let (p, q) = (a.get(x, y), b.get(x, y));
            for k in 0..3 {
                se += (p[k] as f64 - q[k] as f64).powi(2);
            }
        }
    }
    let mse = se / (w as f64 * h as f64 * 3.0);
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

fn webp_frames(
    path: &Path,
) -> (
    u32,
    u32,
    bool,
    Vec<Vec<u8>>,
    Vec<u32>,
    image_webp::LoopCount,
) {
    let f = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut d = image_webp::WebPDecoder::new(f).unwrap();
    assert!(d.is_animated());
    let (w, h) = d.dimensions();
    let n = d.num_frames();
    let mut frames = Vec::new();
    let mut durations = Vec::new();
    for _ in 0..n {
        let mut buf = vec![0; d.output_buffer_size().unwrap()];
        durations.push(d.read_frame(&mut buf).unwrap());
        frames.push(buf);
    }
    let mut extra = vec![0; d.output_buffer_size().unwrap()];
    assert!(
        d.read_frame(&mut extra).is_err(),
        "no frame past num_frames"
    );
    (w, h, d.has_alpha(), frames, durations, d.loop_count())
}

#[test]
fn webp_decodes_back_to_exactly_the_frames() {
    let t = tempfile::tempdir().unwrap();
    // Opaque: stored as RGB.
    let frames: Vec<Image> = (0..7).map(|i| noise(37, 21, i, false)).collect();
    let p = t.path().join("a.webp");
    let info = write_video(&p, &frames, 30).unwrap();
    assert_eq!(
        (info.format, info.frames, info.width, info.height),
        (VideoFormat::Webp, 7, 37, 21)
    );
    assert_eq!(info.bytes, std::fs::metadata(&p).unwrap().len());
    let (w, h, alpha, got, durations, looping) = webp_frames(&p);
    assert_eq!((w, h, alpha), (37, 21, false));
    assert_eq!(got.len(), 7);
    for (g, f) in got.iter().zip(&frames) {
        assert_eq!(g, &f.to_channels(3).unwrap());
    }
    // 7 frames at 30 fps: 233 ms in all, each 33 or 34.
    assert_eq!(durations.iter().sum::<u32>(), 233);
    assert!(
        durations.iter().all(|&d| d == 33 || d == 34),
        "{durations:?}"
    );
    assert_eq!(looping, image_webp::LoopCount::Forever);

    // With transparency: RGBA kept exactly (straight alpha, no blending with the previous frame).
    let frames: Vec<Image> = (0..3).map(|i| noise(16, 9, 100 + i, true)).collect();
    let p = t.path().join("b.webp");
    write_video(&p, &frames, 4).unwrap();
    let (_, _, alpha, got, durations, _) = webp_frames(&p);
    assert!(alpha);
    assert_eq!(durations, vec![250; 3]);
    for (g, f) in got.iter().zip(&frames) {
        assert_eq!(g.as_slice(), f.as_raw());
    }
}

/// A box walker independent of the crate's reader: (type, payload) of each box in `b`.
fn walk(mut b: &[u8]) -> Vec<(String, &[u8])> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let size = u32::from_be_bytes(b[..4].try_into().unwrap()) as usize;
        assert!(
            size >= 8 && size <= b.len(),
            "box size {size} in {} bytes",
            b.len()
        );
        out.push((String::from_utf8(b[4..8].to_vec()).unwrap(), &b[8..size]));
        b = &b[size..];
    }
    out
}

fn find<'a>(b: &'a [u8], path: &[&str]) -> &'a [u8] {
    let mut cur = b;
    for name in path {
        cur = walk(cur)
            .into_iter()
            .find(|(k, _)| k == name)
            .unwrap_or_else(|| panic!("no {name} box"))
            .1;
    }
    cur
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

#[test]
fn mp4_has_the_right_boxes_timing_and_decodes_close_to_the_input() {
    let t = tempfile::tempdir().unwrap();
    let (n, fps) = (45usize, 15u32);
    let frames: Vec<Image> = (0..n).map(|i| scene(64, 48, i)).collect();
    let p = t.path().join("v.mp4");
    let info = write_video(&p, &frames, fps).unwrap();
    assert_eq!(
        (
            info.format,
            info.frames,
            info.width,
            info.height,
            info.padded
        ),
        (VideoFormat::Mp4, n, 64, 48, None)
    );
    let bytes = std::fs::read(&p).unwrap();

    // Top level: ftyp, moov, mdat, in that order (moov first: streamable).
    let top: Vec<String> = walk(&bytes).into_iter().map(|(k, _)| k).collect();
    assert_eq!(top, ["ftyp", "moov", "mdat"]);
    assert_eq!(&find(&bytes, &["ftyp"])[..4], b"isom");
    // Durations: movie in ms, media in fps*1000 ticks; both exactly n / fps = 3 s.
    let mvhd = find(&bytes, &["moov", "mvhd"]);
    assert_eq!((u32_at(mvhd, 12), u32_at(mvhd, 16)), (1000, 3000));
    let mdhd = find(&bytes, &["moov", "trak", "mdia", "mdhd"]);
    let (scale, dur) = (u32_at(mdhd, 12), u32_at(mdhd, 16));
    assert_eq!(dur as f64 / scale as f64, n as f64 / fps as f64);
    assert_eq!(
        &find(&bytes, &["moov", "trak", "mdia", "hdlr"])[8..12],
        b"vide"
    );
    let stbl = find(&bytes, &["moov", "trak", "mdia", "minf", "stbl"]);
    let stts = find(stbl, &["stts"]);
    assert_eq!(u32_at(stts, 4), 1);
    assert_eq!(u32_at(stts, 8) as usize, n);
    assert_eq!(u32_at(stts, 12) as u64 * n as u64, dur as u64);
    let stsz = find(stbl, &["stsz"]);
    assert_eq!(u32_at(stsz, 8) as usize, n, "sample count");
    let sizes: Vec<usize> = (0..n).map(|i| u32_at(stsz, 12 + 4 * i) as usize).collect();
    // One chunk at the start of mdat's payload holding every sample back to back.
    let stco = find(stbl, &["stco"]);
    let off = u32_at(stco, 8) as usize;
    let mdat_payload = find(&bytes, &["mdat"]);
    assert_eq!(&bytes[off..off + mdat_payload.len()], mdat_payload);
    assert_eq!(sizes.iter().sum::<usize>(), mdat_payload.len());
    // Every sample is a run of length-prefixed NALs holding exactly one picture's slices.
    let mut at = off;
    for (i, &s) in sizes.iter().enumerate() {
        let mut r = &bytes[at..at + s];
        let mut slices = 0;
        while !r.is_empty() {
            let len = u32::from_be_bytes(r[..4].try_into().unwrap()) as usize;
            let kind = r[4] & 0x1f;
            assert!(
                !matches!(kind, 7 | 8),
                "parameter sets live in avcC, not in sample {i}"
            );
            slices += matches!(kind, 1 | 5) as usize;
            r = &r[4 + len..];
        }
        assert!(slices >= 1, "sample {i} has no picture");
        at += s;
    }
    let stss = find(stbl, &["stss"]);
    assert_eq!(u32_at(stss, 8), 1, "the first sample is a sync sample");
    // avc1 sample entry with the size, and avcC matching its SPS.
    let stsd = find(stbl, &["stsd"]);
    let avc1 = find(&stsd[8..], &["avc1"]);
    assert_eq!(
        (
            u16::from_be_bytes([avc1[24], avc1[25]]),
            u16::from_be_bytes([avc1[26], avc1[27]])
        ),
        (64, 48)
    );
    let avcc = find(&avc1[78..], &["avcC"]);
    assert_eq!(avcc[0], 1);
    assert_eq!(avcc[4] & 3, 3, "4-byte NAL lengths");
    assert_eq!(avcc[5] & 0x1f, 1, "one SPS");
    let sps_len = u16::from_be_bytes([avcc[6], avcc[7]]) as usize;
    let sps = &avcc[8..8 + sps_len];
    assert_eq!(sps[0] & 0x1f, 7);
    assert_eq!(
        &avcc[1..4],
        &sps[1..4],
        "profile, compatibility and level copied from the SPS"
    );
    assert_eq!(avcc[8 + sps_len], 1, "one PPS");
    assert_eq!(avcc[8 + sps_len + 3] & 0x1f, 8);

    // Decoded by OpenH264: every frame back, each within 35 dB PSNR of its input.
    let decoded = decode_mp4(&bytes).unwrap();
    assert_eq!(decoded.len(), n);
    let mut worst = f64::INFINITY;
    for (d, f) in decoded.iter().zip(&frames) {
        assert_eq!((d.width(), d.height()), (64, 48));
        worst = worst.min(psnr_rgb(d, f, 64, 48));
    }
    assert!(worst >= 35.0, "worst frame PSNR {worst:.1} dB");
    // The frames are really different from each other (a stuck decoder would fail here).
    assert!(psnr_rgb(&decoded[0], &frames[20], 64, 48) < 30.0);
}

#[test]
fn mp4_pads_odd_sizes_by_repeating_the_edge() {
    let t = tempfile::tempdir().unwrap();
    let frames: Vec<Image> = (0..4).map(|i| scene(129, 67, i)).collect();
    let p = t.path().join("odd.mp4");
    let info = write_video(&p, &frames, 24).unwrap();
    assert_eq!(
        (info.width, info.height, info.padded),
        (130, 68, Some((129, 67)))
    );
    let decoded = decode_mp4(&std::fs::read(&p).unwrap()).unwrap();
    assert_eq!(decoded.len(), 4);
    for (d, f) in decoded.iter().zip(&frames) {
        assert_eq!((d.width(), d.height()), (130, 68));
        let q = psnr_rgb(d, f, 129, 67);
        assert!(q >= 35.0, "PSNR {q:.1} dB");
        // The padding column repeats column 128 (up to coding error).
        let mut padded = Image::new(129, 67);
        for y in 0..67 {
            for x in 0..129 {
                padded.put(x, y, d.get(if x == 128 { 129 } else { x }, y));
            }
        }
        assert!(psnr_rgb(&padded, f, 129, 67) >= 30.0);
    }
}

#[test]
fn gif_has_every_frame_and_the_delay() {
    let t = tempfile::tempdir().unwrap();
    let frames: Vec<Image> = (0..5).map(|i| scene(20, 10, i)).collect();
    let p = t.path().join("x.GIF");
    let info = write_video(&p, &frames, 25).unwrap();
    assert_eq!((info.format, info.frame_ms), (VideoFormat::Gif, 40.0));
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    let mut d = opts.read_info(std::fs::File::open(&p).unwrap()).unwrap();
    let mut delays = Vec::new();
    while let Some(f) = d.read_next_frame().unwrap() {
        assert_eq!((f.width, f.height), (20, 10));
        delays.push(f.delay);
    }
    assert_eq!(delays, vec![4; 5]);
    // 120 fps cannot be a GIF delay; 2 cs (50 fps) is the fastest browsers honour.
    assert_eq!(write_video(&p, &frames, 120).unwrap().frame_ms, 20.0);
}

#[test]
fn a_folder_gets_numbered_png_frames() {
    let t = tempfile::tempdir().unwrap();
    let frames: Vec<Image> = (0..3).map(|i| noise(8, 5, i, true)).collect();
    let dir = t.path().join("frames/");
    let info = write_video(&dir, &frames, 10).unwrap();
    assert_eq!((info.format, info.frames), (VideoFormat::PngDir, 3));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["frame_00000.png", "frame_00001.png", "frame_00002.png"]
    );
    for (i, f) in frames.iter().enumerate() {
        let (img, _) = bestiary_canvas::png_meta::read_png(&dir.join(frame_name(i, 5))).unwrap();
        assert_eq!(&img, f);
    }
    // An existing directory without the slash is a folder too.
    assert_eq!(
        VideoFormat::from_path(&t.path().join("frames")).unwrap(),
        VideoFormat::PngDir
    );
}

#[test]
fn writing_in_batches_gives_the_same_files() {
    let t = tempfile::tempdir().unwrap();
    let frames: Vec<Image> = (0..5).map(|i| scene(24, 16, i)).collect();
    for name in ["a.mp4", "a.webp", "a.gif"] {
        let whole = write_video(&t.path().join(name), &frames, 10).unwrap();
        let mut w = VideoWriter::create(&t.path().join(format!("b_{name}")), 10).unwrap();
        for batch in frames.chunks(2) {
            w.push(batch).unwrap();
        }
        assert_eq!(w.frames(), 5);
        let parts = w.finish().unwrap();
        assert_eq!((parts.frames, parts.bytes), (whole.frames, whole.bytes));
        assert_eq!(
            std::fs::read(t.path().join(name)).unwrap(),
            std::fs::read(t.path().join(format!("b_{name}"))).unwrap(),
            "{name}"
        );
    }
    // A size change mid-stream is refused with the frame's index; nothing is written.
    let mut w = VideoWriter::create(&t.path().join("c.mp4"), 10).unwrap();
    w.push(&frames[..3]).unwrap();
    let e = w.push(&[scene(24, 18, 0)]).unwrap_err().to_string();
    assert!(e.contains("frame 3 is 24x18"), "{e}");
    assert!(!t.path().join("c.mp4").exists());
    assert!(VideoWriter::create(&t.path().join("d.webp"), 10)
        .unwrap()
        .finish()
        .unwrap_err()
        .to_string()
        .contains("no frames"));
}

#[test]
fn bad_requests_are_refused_with_one_line() {
    let t = tempfile::tempdir().unwrap();
    let f = vec![scene(8, 8, 0)];
    for (name, needle) in [("a.avi", "'.avi'"), ("noext", "(none)")] {
        let e = write_video(&t.path().join(name), &f, 10)
            .unwrap_err()
            .to_string();
        assert!(e.contains(needle) && e.contains(".mp4"), "{e}");
        assert_eq!(e.lines().count(), 1);
    }
    assert!(write_video(&t.path().join("a.gif"), &[], 10)
        .unwrap_err()
        .to_string()
        .contains("no frames"));
    let mixed = vec![scene(8, 8, 0), scene(8, 6, 1)];
    assert!(write_video(&t.path().join("a.mp4"), &mixed, 10)
        .unwrap_err()
        .to_string()
        .contains("frame 1 is 8x6"));
    assert!(write_video(&t.path().join("a.webp"), &f, 0)
        .unwrap_err()
        .to_string()
        .contains("fps"));
    assert!(write_video(&t.path().join("a.webp"), &f, 121).is_err());
    assert!(!t.path().join("a.mp4").exists() && !t.path().join("a.webp").exists());
}

/// Sizes and speeds for the report: `cargo test -p bestiary-media --test media -- --ignored --nocapture`.
#[test]
#[ignore]
fn speed_and_size_of_60_frames_at_256() {
    let frames: Vec<Image> = (0..60).map(|i| scene(256, 256, i)).collect();
    // MEDIA_SAMPLES_DIR keeps the files (to inspect them with other tools).
    let t = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("MEDIA_SAMPLES_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| t.path().to_path_buf());
    for name in ["v.mp4", "v.webp", "v.gif", "dir/"] {
        let start = std::time::Instant::now();
        let info = write_video(&dir.join(name), &frames, 30).unwrap();
        let s = start.elapsed().as_secs_f64();
        eprintln!(
            "{name}: {} bytes, {s:.2} s ({:.0} frames/s)",
            info.bytes,
            60.0 / s
        );
    }
    let decoded = decode_mp4(&std::fs::read(dir.join("v.mp4")).unwrap()).unwrap();
    let worst = decoded
        .iter()
        .zip(&frames)
        .map(|(d, f)| psnr_rgb(d, f, 256, 256))
        .fold(f64::INFINITY, f64::min);
    eprintln!("mp4 worst PSNR {worst:.1} dB");
}
