//! The one file policy of every command (README, "Files and folders"), end to end: an existing file is
//! never replaced without --force, output folders are made one level deep at most, all of it is checked
//! before any work, nothing is left half written, and images are written in the format their extension
//! names. Runs on the small official-layout fixture network (16x16).

mod common;
use common::{assert_clean_error, bestiary, ok, stderr};

use bestiary_canvas::png_meta::read_png;
use bestiary_canvas::Image;
use std::path::{Path, PathBuf};
use std::process::Output;

fn pkl() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../stylegan/tests/fixtures/uncond16/network.pkl")
}

/// Every entry under `dir`, recursively, as sorted relative paths (folders end in `/`).
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                out.push(format!("{rel}/"));
                walk(root, &p, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A file the user had: the test checks it is still there, byte for byte.
const MINE: &[u8] = b"the user's own file";

fn mine(path: &Path) {
    std::fs::write(path, MINE).unwrap();
}

fn still_mine(path: &Path) {
    assert_eq!(
        std::fs::read(path).unwrap(),
        MINE,
        "{} was replaced",
        path.display()
    );
}

/// The refusal of an existing output: one clean line naming the file and --force.
fn refused(o: &Output, file: &str) {
    assert_clean_error(
        o,
        &format!("{file} already exists (pass --force to replace it)"),
    );
}

fn rgb(path: &Path) -> (u32, u32, Vec<u8>) {
    let img = Image::load(path).unwrap();
    (img.width(), img.height(), img.to_channels(3).unwrap())
}

#[test]
fn directions_never_writes_its_preview_over_the_directions_file() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["directions", "--network", net, "--num", "2", "--out", out];
        args.extend_from_slice(extra);
        bestiary(&args, t.path())
    };
    // dd.png would be both the directions and their preview sheet.
    assert_clean_error(
        &run("dd.png", &[]),
        "dd.png: the output must be a .safetensors file",
    );
    assert!(tree(t.path()).is_empty());
    ok(&run("dd.safetensors", &[]));
    assert_eq!(tree(t.path()), ["dd.png", "dd.safetensors"]);
    let (m, _) = bestiary_weights::safetensors_io::read(
        &std::fs::read(t.path().join("dd.safetensors")).unwrap(),
    )
    .unwrap();
    assert_eq!(m["directions"].shape, vec![2, 32]);
    read_png(&t.path().join("dd.png")).unwrap();
    // Either file existing stops the run before anything is computed.
    refused(&run("dd.safetensors", &[]), "dd.safetensors");
    std::fs::remove_file(t.path().join("dd.safetensors")).unwrap();
    mine(&t.path().join("dd.png"));
    refused(&run("dd.safetensors", &[]), "dd.png");
    assert_eq!(tree(t.path()), ["dd.png"]);
    still_mine(&t.path().join("dd.png"));
    // Without a preview only the directions file counts; --force replaces.
    ok(&run("dd.safetensors", &["--no-preview"]));
    still_mine(&t.path().join("dd.png"));
    ok(&run("dd.safetensors", &["--force"]));
    read_png(&t.path().join("dd.png")).unwrap();
}

#[test]
fn generate_out_takes_exactly_one_image() {
    let t = tempfile::tempdir().unwrap();
    let net = pkl();
    let net = net.to_str().unwrap();
    let o = bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "1,2",
            "--out",
            "two.png",
        ],
        t.path(),
    );
    assert_clean_error(
        &o,
        "--out writes one image but this run makes 2 (seeds): use --outdir",
    );
    assert!(tree(t.path()).is_empty());
    // One seed to one file, the same pixels as --outdir.
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "2",
            "--out",
            "one.png",
        ],
        t.path(),
    ));
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "1,2",
            "--outdir",
            "gen",
        ],
        t.path(),
    ));
    assert_eq!(
        rgb(&t.path().join("one.png")),
        rgb(&t.path().join("gen/seed0002.png"))
    );
}

#[test]
fn images_are_written_in_the_format_their_extension_names() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let net = pkl();
    let net = net.to_str().unwrap();
    let head = |name: &str| std::fs::read(d.join(name)).unwrap()[..12].to_vec();
    let is_jpeg = |name: &str| head(name).starts_with(&[0xff, 0xd8, 0xff]);
    let is_webp = |name: &str| head(name).starts_with(b"RIFF") && head(name)[8..12] == *b"WEBP";
    let is_png = |name: &str| head(name).starts_with(b"\x89PNG\r\n\x1a\n");

    for out in ["grid.png", "grid.jpg", "grid.webp"] {
        ok(&bestiary(
            &[
                "mix",
                "--network",
                net,
                "--rows",
                "1,2",
                "--cols",
                "3",
                "--out",
                out,
            ],
            d,
        ));
    }
    assert!(is_png("grid.png") && is_jpeg("grid.jpg") && is_webp("grid.webp"));
    let (w, h, png) = rgb(&d.join("grid.png"));
    assert_eq!((w, h), (32, 48));
    assert_eq!(rgb(&d.join("grid.webp")).2, png, "WebP is lossless");
    let jpg = rgb(&d.join("grid.jpg"));
    assert_eq!((jpg.0, jpg.1), (w, h));
    let mean = jpg
        .2
        .iter()
        .zip(&png)
        .map(|(a, b)| a.abs_diff(*b) as f64)
        .sum::<f64>()
        / png.len() as f64;
    assert!(
        mean < 4.0,
        "JPEG at quality 95 is close to the PNG: mean difference {mean}"
    );

    for out in ["x.png", "x.webp", "x.JPEG"] {
        ok(&bestiary(
            &[
                "chimera",
                "--network",
                net,
                "--coarse",
                "1",
                "--middle",
                "2",
                "--fine",
                "3",
                "--out",
                out,
            ],
            d,
        ));
    }
    assert!(is_webp("x.webp") && is_jpeg("x.JPEG"));
    assert_eq!(rgb(&d.join("x.webp")).2, rgb(&d.join("x.png")).2);
    ok(&bestiary(
        &[
            "edit",
            "--network",
            net,
            "--seed",
            "1",
            "--with-seed",
            "2",
            "--out",
            "e.webp",
        ],
        d,
    ));
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "4",
            "--out",
            "s.jpg",
        ],
        d,
    ));
    ok(&bestiary(
        &["draw", "flow", "--size", "32", "--out", "f.webp"],
        d,
    ));
    ok(&bestiary(
        &["draw", "flow", "--size", "32", "--out", "f.jpeg"],
        d,
    ));
    assert!(is_webp("e.webp") && is_jpeg("s.jpg") && is_webp("f.webp") && is_jpeg("f.jpeg"));

    // Any other extension: one line naming the supported ones, before any work, nothing written.
    let before = tree(d);
    for (cmd, out) in [
        ("mix", "grid.tif"),
        ("chimera", "x.gif"),
        ("edit", "e.bmp"),
        ("generate", "s"),
    ] {
        let args: Vec<&str> = match cmd {
            "mix" => vec![
                "mix",
                "--network",
                "missing.pkl",
                "--rows",
                "1",
                "--cols",
                "2",
                "--out",
                out,
            ],
            "chimera" => vec![
                "chimera",
                "--network",
                "missing.pkl",
                "--coarse",
                "1",
                "--middle",
                "2",
                "--fine",
                "3",
                "--out",
                out,
            ],
            "edit" => vec![
                "edit",
                "--network",
                "missing.pkl",
                "--seed",
                "1",
                "--with-seed",
                "2",
                "--out",
                out,
            ],
            _ => vec![
                "generate",
                "--network",
                "missing.pkl",
                "--seeds",
                "1",
                "--out",
                out,
            ],
        };
        assert_clean_error(
            &common::refused(&args, d),
            "(supported: .png, .jpg, .jpeg, .webp)",
        );
    }
    assert_eq!(tree(d), before);
}

/// A few steps of texture synthesis into .jpg: JPEG bytes (the VGG16 weights come from the asset cache).
#[test]
fn texture_out_jpg_is_a_jpeg() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let vgg =
        bestiary_assets::ensure("vgg16", &mut |m: &str| eprintln!("{m}")).unwrap_or_else(|e| {
            panic!("the tests need the VGG16 weights (`bestiary assets fetch vgg16`): {e}")
        });
    let src: Vec<u8> = (0..32 * 32)
        .flat_map(|i| [(i % 32 * 8) as u8, (i / 32 * 8) as u8, 90, 255])
        .collect();
    bestiary_canvas::png_meta::write_png(
        &d.join("s.png"),
        &Image::from_raw(32, 32, src).unwrap(),
        None,
    )
    .unwrap();
    let args = [
        "texture",
        "--source",
        "s.png",
        "--size",
        "32",
        "--steps",
        "2",
        "--octaves",
        "1",
        "--vgg",
        vgg.to_str().unwrap(),
        "--out",
        "t.jpg",
    ];
    ok(&bestiary(&args, d));
    assert!(std::fs::read(d.join("t.jpg"))
        .unwrap()
        .starts_with(&[0xff, 0xd8, 0xff]));
    assert_eq!(rgb(&d.join("t.jpg")).0, 32);
    assert_eq!(tree(d), ["s.png", "t.jpg"]);
    // The snapshots it will write are known in advance: a second run into the same folder is refused.
    let snaps = |out: &'static str| {
        [
            &args[..11],
            &[
                "--snapshots",
                "snaps",
                "--snapshot-every",
                "1",
                "--out",
                out,
            ],
        ]
        .concat()
    };
    ok(&bestiary(&snaps("t2.png"), d));
    assert_eq!(
        tree(&d.join("snaps")),
        [
            "seed0000-octave0-step00001.png",
            "seed0000-octave0-step00002.png"
        ]
    );
    assert_clean_error(
        &common::refused(&snaps("t3.png"), d),
        "seed0000-octave0-step00001.png and 1 more",
    );
    assert!(!d.join("t3.png").exists());
}

#[test]
fn existing_files_are_never_replaced_without_force() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let net = pkl();
    let net = net.to_str().unwrap();
    let run = |args: &[&str]| bestiary(args, d);
    let forced = |args: &[&str]| {
        let mut v = args.to_vec();
        v.push("--force");
        bestiary(&v, d)
    };

    // One output file per command: refused and kept, then replaced with --force.
    std::fs::create_dir(d.join("src")).unwrap();
    for i in 0..2 {
        bestiary_canvas::png_meta::write_png(
            &d.join(format!("src/{i}.png")),
            &Image::new(8, 8),
            None,
        )
        .unwrap();
    }
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            "f.png",
            vec!["draw", "flow", "--size", "16", "--out", "f.png"],
        ),
        (
            "s.png",
            vec![
                "generate",
                "--network",
                net,
                "--seeds",
                "1",
                "--out",
                "s.png",
            ],
        ),
        (
            "m.jpg",
            vec![
                "mix",
                "--network",
                net,
                "--rows",
                "1",
                "--cols",
                "2",
                "--out",
                "m.jpg",
            ],
        ),
        (
            "c.png",
            vec![
                "chimera",
                "--network",
                net,
                "--coarse",
                "1",
                "--middle",
                "2",
                "--fine",
                "3",
                "--out",
                "c.png",
            ],
        ),
        (
            "e.png",
            vec![
                "edit",
                "--network",
                net,
                "--seed",
                "1",
                "--with-seed",
                "2",
                "--out",
                "e.png",
            ],
        ),
        (
            "n.safetensors",
            vec!["convert", "--network", net, "--out", "n.safetensors"],
        ),
        (
            "ds.zip",
            vec![
                "dataset",
                "--source",
                "src",
                "--dest",
                "ds.zip",
                "--resolution",
                "8",
            ],
        ),
        (
            "w.gif",
            vec![
                "video",
                "--network",
                net,
                "--seeds",
                "1,2",
                "--frames",
                "3",
                "--out",
                "w.gif",
            ],
        ),
    ];
    for (file, args) in &cases {
        mine(&d.join(file));
        refused(&run(args), file);
        still_mine(&d.join(file));
        ok(&forced(args));
        assert_ne!(
            std::fs::read(d.join(file)).unwrap(),
            MINE,
            "{file}: --force replaces"
        );
    }
    mine(&d.join("b.safetensors"));
    refused(
        &run(&[
            "blend",
            "--a",
            "n.safetensors",
            "--b",
            "n.safetensors",
            "--split-res",
            "8",
            "--out",
            "b.safetensors",
        ]),
        "b.safetensors",
    );
    still_mine(&d.join("b.safetensors"));

    // Checked before any work: no network is read, no weights are fetched, no optimisation runs.
    std::fs::create_dir(d.join("proj")).unwrap();
    mine(&d.join("proj/proj.gif"));
    mine(&d.join("t.png"));
    mine(&d.join("r.png"));
    let slow: Vec<(&str, Vec<&str>)> = vec![
        (
            "proj/proj.gif",
            vec![
                "project",
                "--network",
                "missing.pkl",
                "--target",
                "missing.jpg",
                "--outdir",
                "proj",
            ],
        ),
        (
            "t.png",
            vec!["texture", "--source", "src/0.png", "--out", "t.png"],
        ),
        (
            "r.png",
            vec!["rank", "--network", net, "--seeds", "0-3", "--out", "r.png"],
        ),
        (
            "r.png",
            vec![
                "nearest",
                "--network",
                net,
                "--data",
                "src",
                "--seeds",
                "0-3",
                "--out",
                "r.png",
            ],
        ),
        (
            "r.png",
            vec![
                "generate",
                "--network",
                "missing.pkl",
                "--seeds",
                "0",
                "--out",
                "r.png",
            ],
        ),
    ];
    for (file, args) in &slow {
        refused(&common::refused(args, d), file);
        still_mine(&d.join(file));
    }
    assert!(!d.join("empty-cache").exists(), "nothing was fetched");
}

#[test]
fn a_folder_command_writes_nothing_when_any_of_its_files_exists() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let net = pkl();
    let net = net.to_str().unwrap();
    let check = |args: &[&str], dir: &str, taken: &str| {
        std::fs::create_dir(d.join(dir)).unwrap();
        mine(&d.join(dir).join(taken));
        assert_clean_error(
            &common::refused(args, d),
            &format!(
                "{} already exists (pass --force to replace it)",
                Path::new(dir).join(taken).display()
            ),
        );
        assert_eq!(
            tree(&d.join(dir)),
            [taken],
            "{dir}: nothing else was written"
        );
        still_mine(&d.join(dir).join(taken));
        let mut forced = args.to_vec();
        forced.push("--force");
        ok(&bestiary(&forced, d));
        assert!(tree(&d.join(dir)).len() > 1);
        assert_ne!(std::fs::read(d.join(dir).join(taken)).unwrap(), MINE);
    };
    check(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "1-3",
            "--outdir",
            "gen",
        ],
        "gen",
        "seed0002.png",
    );
    check(
        &[
            "draw", "squares", "--count", "3", "--size", "16", "--outdir", "set",
        ],
        "set",
        "seed0001.png",
    );
    check(
        &[
            "video",
            "--network",
            net,
            "--seeds",
            "1,2",
            "--frames",
            "3",
            "--out",
            "frames/",
        ],
        "frames",
        "frame_00002.png",
    );
    // Several taken: all named at once by count.
    std::fs::create_dir(d.join("many")).unwrap();
    for s in ["seed0001.png", "seed0002.png", "seed0003.png"] {
        mine(&d.join("many").join(s));
    }
    let o = bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "0-3",
            "--outdir",
            "many",
        ],
        d,
    );
    assert_clean_error(
        &o,
        "and 2 more of the files this writes already exist in many (pass --force to replace them)",
    );
    assert_eq!(tree(&d.join("many")).len(), 3);
}

#[test]
fn missing_folders_are_never_made_more_than_one_level_deep() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let net = pkl();
    let net = net.to_str().unwrap();
    bestiary_canvas::png_meta::write_png(&d.join("s.png"), &Image::new(8, 8), None).unwrap();
    // The folder of an output file must exist.
    assert_clean_error(
        &common::refused(&["draw", "flow", "--size", "16", "--out", "a/b/f.png"], d),
        "folder a/b does not exist",
    );
    let deep = format!("/bestiary-no-such-{}/x/y.png", std::process::id());
    assert_clean_error(
        &common::refused(&["draw", "flow", "--size", "16", "--out", &deep], d),
        "does not exist",
    );
    assert!(!Path::new(&deep)
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .exists());
    assert_clean_error(
        &common::refused(
            &[
                "dataset",
                "--source",
                "classic:flow",
                "--count",
                "1",
                "--dest",
                "a/ds.zip",
                "--resolution",
                "8",
            ],
            d,
        ),
        "folder a does not exist",
    );
    assert_clean_error(
        &common::refused(
            &[
                "mix",
                "--network",
                net,
                "--rows",
                "1",
                "--cols",
                "2",
                "--out",
                "a/m.png",
            ],
            d,
        ),
        "folder a does not exist",
    );
    assert_clean_error(
        &common::refused(
            &["convert", "--network", net, "--out", "a/n.safetensors"],
            d,
        ),
        "folder a does not exist",
    );
    // A command's own folder is made when its parent exists, and only then.
    assert_clean_error(
        &common::refused(
            &[
                "generate",
                "--network",
                net,
                "--seeds",
                "1",
                "--outdir",
                "a/b",
            ],
            d,
        ),
        "folder a does not exist",
    );
    assert_clean_error(
        &common::refused(
            &[
                "draw", "plants", "--count", "1", "--size", "16", "--outdir", "a/b",
            ],
            d,
        ),
        "folder a does not exist",
    );
    assert_clean_error(
        &common::refused(
            &[
                "video",
                "--network",
                net,
                "--seeds",
                "1,2",
                "--frames",
                "2",
                "--out",
                "a/b/",
            ],
            d,
        ),
        "folder a does not exist",
    );
    assert_clean_error(
        &common::refused(
            &[
                "gallery",
                "--outdir",
                "a/b",
                "--size",
                "16",
                "--per-engine",
                "1",
            ],
            d,
        ),
        "folder a does not exist",
    );
    assert_clean_error(
        &common::refused(
            &[
                "texture",
                "--source",
                "s.png",
                "--snapshots",
                "a/b",
                "--out",
                "t.png",
            ],
            d,
        ),
        "folder a does not exist",
    );
    assert_clean_error(
        &common::refused(
            &[
                "project",
                "--network",
                net,
                "--target",
                "s.png",
                "--outdir",
                "a/b",
            ],
            d,
        ),
        "folder a does not exist",
    );
    assert_clean_error(
        &common::refused(
            &["studio", "--network", "missing.pkl", "--favorites", "a/b"],
            d,
        ),
        "folder a does not exist",
    );
    assert_eq!(tree(d), ["s.png"], "nothing was created");
    ok(&bestiary(
        &[
            "generate",
            "--network",
            net,
            "--seeds",
            "1",
            "--outdir",
            "gen",
        ],
        d,
    ));
    ok(&bestiary(
        &[
            "video",
            "--network",
            net,
            "--seeds",
            "1,2",
            "--frames",
            "2",
            "--out",
            "fr/",
        ],
        d,
    ));
    assert_eq!(
        tree(d),
        [
            "fr/",
            "fr/frame_00000.png",
            "fr/frame_00001.png",
            "gen/",
            "gen/seed0001.png",
            "s.png"
        ]
    );
}

#[test]
fn the_gallery_re_renders_its_own_folder_and_nothing_else() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let gallery = |dir: &str, extra: &[&str]| {
        let mut args = vec![
            "gallery",
            "--outdir",
            dir,
            "--size",
            "32",
            "--per-engine",
            "1",
        ];
        args.extend_from_slice(extra);
        bestiary(&args, d)
    };
    ok(&gallery("g", &[]));
    let first = tree(&d.join("g"));
    assert!(
        first.contains(&".bestiary-gallery".to_string())
            && first.contains(&"classic-gallery.png".to_string()),
        "{first:?}"
    );
    // Its own folder again: the gallery's files are replaced, a file of the user's is kept.
    mine(&d.join("g/notes.txt"));
    mine(&d.join("g/classic/squares-seed0001.png"));
    let o = gallery("g", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    read_png(&d.join("g/classic/squares-seed0001.png")).unwrap();
    still_mine(&d.join("g/notes.txt"));
    let mut again = first.clone();
    again.push("notes.txt".into());
    again.sort();
    assert_eq!(tree(&d.join("g")), again, "no temporary or other file left");
    // A folder the gallery did not make: its files of the same names are the user's.
    std::fs::create_dir(d.join("h")).unwrap();
    mine(&d.join("h/classic-gallery.png"));
    refused(&gallery("h", &[]), "classic-gallery.png");
    assert_eq!(tree(&d.join("h")), ["classic-gallery.png"]);
    ok(&gallery("h", &["--force"]));
    assert!(d.join("h/.bestiary-gallery").is_file());
    read_png(&d.join("h/classic-gallery.png")).unwrap();
}

/// The README's first command: `bestiary` with no arguments renders ./bestiary-out, and again.
#[test]
fn bestiary_without_arguments_runs_twice() {
    let t = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let o = bestiary(&[], t.path());
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let files = tree(&t.path().join("bestiary-out"));
    assert_eq!(
        files.iter().filter(|f| f.ends_with(".png")).count(),
        16,
        "{files:?}"
    );
    assert!(!files.iter().any(|f| f.contains(".tmp")), "{files:?}");
}
