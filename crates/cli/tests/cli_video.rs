//! End-to-end tests of `video` on the small official-layout fixture network (16x16, num_ws 6).

mod common;
use common::{assert_clean_error, bestiary, ok};

use bestiary_canvas::png_meta::read_png;
use bestiary_weights::{safetensors_io, DType};
use std::path::{Path, PathBuf};

fn pkl() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../stylegan/tests/fixtures/uncond16/network.pkl")
}

fn rgb(path: &Path) -> (u32, u32, Vec<u8>) {
    let (img, _) = read_png(path).unwrap();
    (img.width(), img.height(), img.to_channels(3).unwrap())
}

/// Tile (tr, tc) of 16x16 tiles from an RGB image `w` pixels wide.
fn tile(px: &[u8], w: u32, tr: usize, tc: usize) -> Vec<u8> {
    let w = w as usize;
    (0..16).flat_map(|y| px[((tr * 16 + y) * w + tc * 16) * 3..((tr * 16 + y) * w + tc * 16 + 16) * 3].to_vec()).collect()
}

fn gif_frames(path: &Path) -> Vec<Vec<u8>> {
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    let mut dec = opts.read_info(std::fs::File::open(path).unwrap()).unwrap();
    let mut frames = Vec::new();
    while let Some(f) = dec.read_next_frame().unwrap() {
        assert_eq!((f.width, f.height), (16, 16));
        frames.push(f.buffer.to_vec());
    }
    frames
}

#[test]
fn a_looped_video_steps_back_to_its_first_frame() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
    // Two seeds, four frames, looped: a, a->b halfway, b, b->a halfway (the same W as a->b halfway).
    ok(&bestiary(&["video", "--network", net, "--seeds", "1,2", "--frames", "4", "--fps", "10", "--loop", "--out", "v.gif"], t.path()));
    let f = gif_frames(&t.path().join("v.gif"));
    assert_eq!(f.len(), 4);
    assert_eq!(f[3], f[1]);
    assert_ne!(f[0], f[2]);
    assert_ne!(f[3], f[0]);
    // Without --loop the walk ends on the last seed; slerp runs too.
    ok(&bestiary(&["video", "--network", net, "--seeds", "1,2", "--frames", "3", "--interp", "slerp", "--out", "s.gif"], t.path()));
    let s = gif_frames(&t.path().join("s.gif"));
    assert_eq!(s.len(), 3);
    assert_eq!(s[0], f[0]);
    assert_eq!(s[2], f[2]);
    assert_clean_error(&bestiary(&["video", "--network", net, "--seeds", "1,2", "--frames", "0", "--out", "x.gif"], t.path()), "--frames");
}
