//! `bestiary memorability`: help, one-line errors, text and JSON output for two images, and agreement with
//! the library (`bestiary_perceptual::resmem::ResMem::score`). The ResMem weights come through the asset cache
//! (`bestiary_assets::ensure`, fetched with pip when absent).

mod common;

use bestiary_canvas::{png_meta::write_png, Image};
use bestiary_perceptual::{resmem::ResMem, RgbImage};
use common::{assert_clean_error, bestiary, ok, refused, stderr};
use std::path::Path;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A w x h test picture (gradients and a disc) written as PNG; returns its RGB pixels.
fn picture(path: &Path, w: u32, h: u32, k: u32) -> RgbImage {
    let (mut rgba, mut rgb) = (Vec::new(), Vec::new());
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as i64 - w as i64 / 2, y as i64 - h as i64 / 3);
            let inside = dx * dx + dy * dy < (w.min(h) as i64 / 3).pow(2);
            let r = ((x * 255 / w + k * 40) % 256) as u8;
            let g = if inside { 230 } else { (y * 255 / h) as u8 };
            let b = (((x ^ y) * 3 + k * 90) % 256) as u8;
            rgba.extend([r, g, b, 255]);
            rgb.extend([r, g, b]);
        }
    }
    write_png(path, &Image::from_raw(w, h, rgba).unwrap(), None).unwrap();
    RgbImage {
        width: w as usize,
        height: h as usize,
        data: rgb,
    }
}

#[test]
fn help_has_examples_and_the_licence() {
    let t = tempfile::tempdir().unwrap();
    let o = bestiary(&["memorability", "--help"], t.path());
    ok(&o);
    let text = stdout(&o);
    for w in [
        "Examples:",
        "--json",
        "--batch",
        "--device",
        "PATH",
        "Non-commercial",
    ] {
        assert!(text.contains(w), "{w} missing: {text}");
    }
}

#[test]
fn errors_are_one_line() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    picture(&d.join("ok.png"), 8, 8, 0);
    std::fs::write(d.join("notes.txt"), "not an image").unwrap();
    std::fs::write(d.join("broken.png"), "not a png either").unwrap();
    std::fs::create_dir_all(d.join("empty")).unwrap();
    assert_clean_error(
        &refused(&["memorability", "missing.png"], d),
        "does not exist",
    );
    assert_clean_error(
        &refused(&["memorability", "ok.png", "missing"], d),
        "missing does not exist",
    );
    assert_clean_error(&refused(&["memorability", "notes.txt"], d), "notes.txt");
    assert_clean_error(&refused(&["memorability", "broken.png"], d), "broken.png");
    assert_clean_error(&refused(&["memorability", "empty"], d), "holds no images");
    assert_clean_error(
        &refused(&["memorability", "--batch", "0", "ok.png"], d),
        "--batch",
    );
    let o = bestiary(&["memorability"], d);
    assert!(
        !o.status.success() && stderr(&o).contains("PATH"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn text_and_json_agree_with_the_library() {
    let weights =
        bestiary_assets::ensure("resmem", &mut |m: &str| eprintln!("{m}")).expect("resmem weights");
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::create_dir_all(d.join("set/sub")).unwrap();
    let a = picture(&d.join("set/a.png"), 300, 200, 1);
    let b = picture(&d.join("set/sub/b.png"), 64, 96, 2);

    // Text: one `score  path` line per image, in argument order.
    let o = bestiary(
        &[
            "memorability",
            "--device",
            "cpu",
            "set/sub/b.png",
            "set/a.png",
        ],
        d,
    );
    ok(&o);
    let lines: Vec<(f32, String)> = stdout(&o)
        .lines()
        .map(|l| {
            let (s, p) = l.split_once("  ").expect("`score  path`");
            (s.parse().expect("a score"), p.to_string())
        })
        .collect();
    assert_eq!(
        lines.iter().map(|(_, p)| p.as_str()).collect::<Vec<_>>(),
        ["set/sub/b.png", "set/a.png"]
    );

    // JSON on the folder: recursive, name order, full-precision scores.
    let o = bestiary(
        &[
            "memorability",
            "--json",
            "--batch",
            "1",
            "--device",
            "cpu",
            "set",
        ],
        d,
    );
    ok(&o);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON output");
    let rows = v.as_array().expect("an array");
    assert_eq!(rows.len(), 2);
    let paths: Vec<&str> = rows.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            Path::new("set").join("a.png").to_str().unwrap(),
            Path::new("set").join("sub/b.png").to_str().unwrap()
        ]
    );
    let json: Vec<f32> = rows
        .iter()
        .map(|r| r["score"].as_f64().unwrap() as f32)
        .collect();

    let net = ResMem::<burn::backend::Flex>::load(&weights, &Default::default()).unwrap();
    let lib = net.score(&[a, b], 2).unwrap();
    eprintln!(
        "library {lib:?}, json {json:?}, text {:?}",
        lines.iter().map(|l| l.0).collect::<Vec<_>>()
    );
    for i in 0..2 {
        assert!(
            (json[i] - lib[i]).abs() < 1e-5,
            "json {} vs library {}",
            json[i],
            lib[i]
        );
        assert!(lib[i] > 0.0 && lib[i] < 1.0);
    }
    // Text has four decimals.
    assert!(
        (lines[1].0 - lib[0]).abs() <= 5.1e-5,
        "{} vs {}",
        lines[1].0,
        lib[0]
    );
    assert!(
        (lines[0].0 - lib[1]).abs() <= 5.1e-5,
        "{} vs {}",
        lines[0].0,
        lib[1]
    );
}

/// A corrupt image in a folder is skipped with its reason (stderr, and in --json), the rest are scored,
/// as `bestiary dataset` skips what it cannot read.
#[test]
fn corrupt_images_are_skipped_with_a_reason() {
    bestiary_assets::ensure("resmem", &mut |m: &str| eprintln!("{m}")).expect("resmem weights");
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::create_dir_all(d.join("set")).unwrap();
    picture(&d.join("set/a.png"), 40, 30, 1);
    std::fs::write(d.join("set/b.png"), b"not a png").unwrap();
    picture(&d.join("set/c.png"), 30, 40, 2);
    let broken = Path::new("set").join("b.png").display().to_string();

    let o = bestiary(&["memorability", "--json", "--device", "cpu", "set"], d);
    ok(&o);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&o)).expect("JSON array");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["path"], broken.as_str());
    assert!(
        rows[1]["score"].is_null()
            && rows[1]["skipped"]
                .as_str()
                .unwrap()
                .contains("Invalid PNG signature"),
        "{}",
        rows[1]
    );
    for i in [0, 2] {
        let s = rows[i]["score"].as_f64().expect("a score");
        assert!(
            s > 0.0 && s < 1.0 && rows[i].get("skipped").is_none(),
            "{}",
            rows[i]
        );
    }
    assert!(
        stderr(&o).contains(&format!("skipped: cannot decode image {broken}")),
        "{}",
        stderr(&o)
    );

    let o = bestiary(&["memorability", "--device", "cpu", "set"], d);
    ok(&o);
    assert_eq!(stdout(&o).lines().count(), 2, "{}", stdout(&o));
    assert!(!stdout(&o).contains("b.png"));
    // Nothing scorable at all: one error line with the reason, non-zero exit.
    assert_clean_error(
        &refused(&["memorability", "set/b.png", "set/b.png"], d),
        "nothing could be scored: all 2 images are unreadable",
    );
}
