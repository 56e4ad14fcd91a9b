//! End-to-end tests of `video` on the small official-layout fixture network (16x16, num_ws 6).

mod common;
use common::{assert_clean_error, bestiary, ok, refused};

use bestiary_canvas::png_meta::read_png;
use std::path::{Path, PathBuf};

fn pkl() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../stylegan/tests/fixtures/uncond16/network.pkl")
}

fn rgb(path: &Path) -> Vec<u8> {
    read_png(path).unwrap().0.to_channels(3).unwrap()
}

/// The frames of a PNG-folder video, in order.
fn png_frames(dir: &Path) -> Vec<Vec<u8>> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names.iter().map(|p| rgb(p)).collect()
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

/// Mean absolute difference of two RGB frames.
fn step(a: &[u8], b: &[u8]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).abs())
        .sum::<f64>()
        / a.len() as f64
}

/// BT.601 luma of RGB pixels (what 4:2:0 keeps at full resolution).
fn luma(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks(3)
        .map(|p| (0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64).round() as u8)
        .collect()
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse = a
        .iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-12)).log10()
}

#[test]
fn a_looped_video_steps_back_to_its_first_frame() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
    // Two seeds, four frames, looped: a, a->b halfway, b, b->a halfway (the same W as a->b halfway).
    ok(&bestiary(
        &[
            "video",
            "--network",
            net,
            "--seeds",
            "1,2",
            "--frames",
            "4",
            "--fps",
            "10",
            "--loop",
            "--out",
            "v.gif",
        ],
        t.path(),
    ));
    let f = gif_frames(&t.path().join("v.gif"));
    assert_eq!(f.len(), 4);
    assert_eq!(f[3], f[1]);
    assert_ne!(f[0], f[2]);
    assert_ne!(f[3], f[0]);
    // Without --loop the walk ends on the last seed; slerp runs too.
    ok(&bestiary(
        &[
            "video",
            "--network",
            net,
            "--seeds",
            "1,2",
            "--frames",
            "3",
            "--interp",
            "slerp",
            "--out",
            "s.gif",
        ],
        t.path(),
    ));
    let s = gif_frames(&t.path().join("s.gif"));
    assert_eq!(s.len(), 3);
    assert_eq!(s[0], f[0]);
    assert_eq!(s[2], f[2]);
    assert_clean_error(
        &refused(
            &[
                "video",
                "--network",
                net,
                "--seeds",
                "1,2",
                "--frames",
                "0",
                "--out",
                "x.gif",
            ],
            t.path(),
        ),
        "--frames",
    );
}

#[test]
fn every_format_is_written_and_reads_back() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
    let run = |out: &str, extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "video",
            "--network",
            net,
            "--seeds",
            "3,4,5",
            "--frames",
            "9",
            "--fps",
            "12",
            "--interp",
            "spline",
            "--json",
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        let o = bestiary(&args, t.path());
        ok(&o);
        // With --json nothing else is printed (no encoder chatter on stderr either).
        assert!(
            o.stderr.is_empty(),
            "{out}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&o.stdout).unwrap()
    };
    // PNG frames: the reference, lossless.
    let j = run("frames/", &[]);
    assert_eq!(
        (
            j["format"].as_str(),
            j["frames"].as_u64(),
            j["interp"].as_str(),
            j["space"].as_str()
        ),
        (Some("png-frames"), Some(9), Some("spline"), Some("w"))
    );
    let reference = png_frames(&t.path().join("frames"));
    assert_eq!(reference.len(), 9);
    assert_eq!(
        reference[0],
        rgb_of_generate(t.path(), net, 3),
        "the walk starts on the first seed"
    );

    // WebP: lossless, so exactly the PNG frames, 83 or 84 ms each (1000/12 spread to sum exactly).
    let j = run("v.webp", &[]);
    assert_eq!(
        j["bytes"].as_u64().unwrap(),
        std::fs::metadata(t.path().join("v.webp")).unwrap().len()
    );
    let webp =
        bestiary_media::decode_webp(&std::fs::read(t.path().join("v.webp")).unwrap()).unwrap();
    assert_eq!(webp.len(), 9);
    for ((img, ms), r) in webp.iter().zip(&reference) {
        assert_eq!(&img.to_channels(3).unwrap(), r);
        assert!(*ms == 83 || *ms == 84);
    }
    assert_eq!(webp.iter().map(|f| f.1).sum::<u32>(), 750);

    // MP4: H.264, every frame back, close to the PNG frames. The untrained fixture draws per-pixel colour
    // noise, which 4:2:0 (chroma at half resolution) cannot keep: luma is held to 35 dB, RGB to 20 dB
    // (smooth content reaches 35 dB in RGB: see bestiary-media's tests).
    let j = run("v.mp4", &[]);
    assert_eq!(
        (
            j["width"].as_u64(),
            j["height"].as_u64(),
            j["format"].as_str()
        ),
        (Some(16), Some(16), Some("mp4"))
    );
    let mp4 = bestiary_media::decode_mp4(&std::fs::read(t.path().join("v.mp4")).unwrap()).unwrap();
    assert_eq!(mp4.len(), 9);
    for (img, r) in mp4.iter().zip(&reference) {
        let got = img.to_channels(3).unwrap();
        let q = psnr(&got, r);
        let ql = psnr(&luma(&got), &luma(r));
        assert!(
            ql >= 35.0 && q >= 20.0,
            "MP4 frame PSNR luma {ql:.1} dB, RGB {q:.1} dB"
        );
    }

    // GIF: every frame, delay round(100/12) = 8 cs (into an existing folder: the policy never makes one).
    std::fs::create_dir(t.path().join("sub")).unwrap();
    let j = run("sub/v.gif", &[]);
    assert_eq!(j["frame_ms"].as_f64(), Some(80.0));
    assert_eq!(gif_frames(&t.path().join("sub/v.gif")).len(), 9);
}

fn rgb_of_generate(dir: &Path, net: &str, seed: u32) -> Vec<u8> {
    let out = format!("gen_{seed}");
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            &seed.to_string(),
            "--outdir",
            &out,
        ],
        dir,
    ));
    rgb(&dir.join(out).join(format!("seed{seed:04}.png")))
}

#[test]
fn looped_videos_have_no_seam() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
    // Lerp through two seeds in 8 frames: the step across the seam (7 -> 0) is the same as the first step
    // (0 -> 1), exactly: frame 7 is a quarter of the way back, the mirror of frame 1.
    ok(&bestiary(
        &[
            "video",
            "--network",
            net,
            "--seeds",
            "1,2",
            "--frames",
            "8",
            "--loop",
            "--out",
            "lerp/",
        ],
        t.path(),
    ));
    let f = png_frames(&t.path().join("lerp"));
    assert_eq!(
        f.len(),
        8,
        "the frame that would repeat frame 0 is left out"
    );
    assert_eq!(f[7], f[1]);
    assert_eq!(step(&f[7], &f[0]), step(&f[0], &f[1]));
    assert!(step(&f[0], &f[1]) > 0.5, "the frames do move");
    // Circle, spline and noise loops: the seam step is in line with the others (no jump, no repeat).
    for (name, args) in [
        ("circle", vec!["--interp", "circle", "--seeds", "1,2"]),
        (
            "spline",
            vec!["--interp", "spline", "--seeds", "1,2,3", "--loop"],
        ),
        ("noise", vec!["--interp", "noise", "--seeds", "1,2,3"]),
    ] {
        let out = format!("{name}/");
        let mut a = vec!["video", "--network", net, "--frames", "24", "--out", &out];
        a.extend(args);
        ok(&bestiary(&a, t.path()));
        let f = png_frames(&t.path().join(name));
        assert_eq!(f.len(), 24);
        let steps: Vec<f64> = (0..24).map(|i| step(&f[i], &f[(i + 1) % 24])).collect();
        let mut sorted = steps.clone();
        sorted.sort_by(f64::total_cmp);
        let (lo, hi) = (sorted[0], sorted[23]);
        assert!(lo > 0.0, "{name}: no two consecutive frames are the same");
        assert!(
            steps[23] >= lo && steps[23] <= hi,
            "{name}: seam step {} within interior {lo}..{hi}",
            steps[23]
        );
        let median = sorted[12];
        assert!(
            steps[23] < 2.5 * median,
            "{name}: seam step {} vs median {median}",
            steps[23]
        );
    }
}

#[test]
fn truncation_traversal_starts_and_ends_like_generate() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
    let gen = |seed: &str, psi: &str, out: &str| {
        ok(&bestiary(
            &[
                "generate",
                "--network",
                net,
                "--seeds",
                seed,
                "--trunc",
                psi,
                "--outdir",
                out,
            ],
            t.path(),
        ));
        rgb(&t
            .path()
            .join(out)
            .join(format!("seed{:04}.png", seed.parse::<u32>().unwrap())))
    };
    // One seed, psi from 0.5 to 1.5 (outside [0, 1] on purpose).
    ok(&bestiary(
        &[
            "video",
            "--network",
            net,
            "--seeds",
            "7",
            "--trunc-from",
            "0.5",
            "--trunc-to",
            "1.5",
            "--frames",
            "5",
            "--out",
            "psi/",
        ],
        t.path(),
    ));
    let f = png_frames(&t.path().join("psi"));
    assert_eq!(f.len(), 5);
    assert_eq!(f[0], gen("7", "0.5", "a"));
    assert_eq!(f[4], gen("7", "1.5", "b"));
    assert_eq!(f[2], gen("7", "1", "c"), "halfway is psi 1");
    // Slerp in Z from seed 7 at psi -0.5 to seed 8 at psi 1.2.
    ok(&bestiary(
        &[
            "video",
            "--network",
            net,
            "--seeds",
            "7,8",
            "--interp",
            "slerp",
            "--trunc-from",
            "-0.5",
            "--trunc-to",
            "1.2",
            "--frames",
            "6",
            "--out",
            "z/",
        ],
        t.path(),
    ));
    let f = png_frames(&t.path().join("z"));
    assert_eq!(f[0], gen("7", "-0.5", "d"));
    assert_eq!(f[5], gen("8", "1.2", "e"));
    // Looped: there and back, psi -0.5 at frame 0 and 1.2 halfway (on seed 8).
    ok(&bestiary(
        &[
            "video",
            "--network",
            net,
            "--seeds",
            "7,8",
            "--trunc-from",
            "-0.5",
            "--trunc-to",
            "1.2",
            "--frames",
            "4",
            "--loop",
            "--out",
            "l/",
        ],
        t.path(),
    ));
    let f = png_frames(&t.path().join("l"));
    assert_eq!(f[0], gen("7", "-0.5", "f"));
    assert_eq!(f[2], gen("8", "1.2", "g"));
    // A fixed psi outside [0, 1] is fine too.
    ok(&bestiary(
        &[
            "video",
            "--network",
            net,
            "--seeds",
            "7,8",
            "--trunc",
            "-2",
            "--frames",
            "2",
            "--out",
            "m/",
        ],
        t.path(),
    ));
    assert_eq!(png_frames(&t.path().join("m"))[1], gen("8", "-2", "h"));
}

#[test]
fn bad_inputs_are_refused_with_one_line() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
    let video = |extra: &[&str]| {
        let mut a = vec!["video", "--network", net];
        a.extend_from_slice(extra);
        bestiary(&a, t.path())
    };
    let base = |extra: &[&str]| {
        let mut a = vec!["--seeds", "1,2", "--out", "x.mp4"];
        a.extend_from_slice(extra);
        video(&a)
    };
    assert_clean_error(&base(&["--frames", "1"]), "--frames");
    assert_clean_error(&base(&["--frames", "10001"]), "--frames");
    assert_clean_error(&base(&["--fps", "0"]), "--fps");
    assert_clean_error(&base(&["--fps", "121"]), "--fps");
    assert_clean_error(&base(&["--batch", "0"]), "--batch");
    assert_clean_error(&base(&["--trunc", "NaN"]), "--trunc");
    assert_clean_error(&base(&["--trunc", "101"]), "--trunc");
    assert_clean_error(
        &base(&["--trunc-from", "0.5", "--trunc-to", "inf"]),
        "--trunc-to",
    );
    assert_clean_error(
        &base(&["--trunc-from", "-100.5", "--trunc-to", "1"]),
        "--trunc-from",
    );
    assert_clean_error(
        &base(&["--trunc", "0.7", "--trunc-from", "0.5", "--trunc-to", "1"]),
        "not both",
    );
    assert_clean_error(&base(&["--trunc-from", "0.5"]), "go together");
    assert_clean_error(&base(&["--interp", "noise", "--space", "w"]), "--space z");
    assert_clean_error(
        &base(&["--interp", "circle", "--easing", "ease-in-out"]),
        "--easing",
    );
    assert_clean_error(&video(&["--seeds", "1,2", "--out", "x.avi"]), "'.avi'");
    assert_clean_error(&video(&["--seeds", "1,2", "--out", "x"]), ".mp4");
    assert_clean_error(
        &video(&["--seeds", "1,2,3", "--interp", "circle", "--out", "x.gif"]),
        "exactly 2 seeds",
    );
    assert_clean_error(
        &video(&["--seeds", "1", "--out", "x.gif"]),
        "at least 2 seeds",
    );
    assert_clean_error(
        &video(&["--seeds", "1-5", "--frames", "4", "--out", "x.gif"]),
        "at least 5 frames",
    );
    assert_clean_error(
        &video(&["--seeds", "0-64", "--interp", "noise", "--out", "x.gif"]),
        "at most 64",
    );
    assert_clean_error(&video(&["--seeds", "x", "--out", "x.gif"]), "seed");
    assert_clean_error(
        &refused(
            &[
                "video",
                "--network",
                "missing.pkl",
                "--seeds",
                "1,2",
                "--out",
                "x.gif",
            ],
            t.path(),
        ),
        "missing.pkl",
    );
    assert!(
        std::fs::read_dir(t.path()).unwrap().next().is_none(),
        "nothing written"
    );

    // A conditional network is refused (cond32 fixture as a bestiary model file).
    common::write_conditional_model(&t.path().join("cond.safetensors"));
    let o = bestiary(
        &[
            "video",
            "--network",
            "cond.safetensors",
            "--seeds",
            "1,2",
            "--out",
            "x.webp",
        ],
        t.path(),
    );
    assert_clean_error(&o, "conditional");
    assert!(!t.path().join("x.webp").exists());
}

#[test]
fn help_lists_the_formats_and_interpolations() {
    let o = bestiary(&["video", "--help"], Path::new("."));
    ok(&o);
    let help = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "--interp",
        "spline",
        "circle",
        "noise",
        "--trunc-from",
        "--easing",
        ".webp",
        ".mp4",
        "Examples:",
    ] {
        assert!(help.contains(needle), "'{needle}' not in --help");
    }
}
