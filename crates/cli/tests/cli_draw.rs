//! End-to-end tests of the `bestiary` binary: drawing, the gallery, and every error path of the CLI contract.

mod common;

use common::{assert_clean_error, bestiary, refused, stderr};
use std::path::Path;

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn version_and_help() {
    let t = tempfile::tempdir().unwrap();
    let v = bestiary(&["--version"], t.path());
    assert!(v.status.success());
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("bestiary "));
    let h = bestiary(&["draw", "--help"], t.path());
    let text = String::from_utf8_lossy(&h.stdout);
    assert!(
        text.contains("Examples:") && text.contains("--palette-from"),
        "{text}"
    );
}

#[test]
fn draw_png_carries_metadata_and_is_deterministic() {
    let t = tempfile::tempdir().unwrap();
    for engine in ["squares", "fractal", "flow", "neurons", "plants"] {
        let a = format!("{engine}-a.png");
        let b = format!("{engine}-b.png");
        for out in [&a, &b] {
            let o = bestiary(
                &["draw", engine, "--seed", "5", "--size", "48", "--out", out],
                t.path(),
            );
            assert!(o.status.success(), "{engine}: {}", stderr(&o));
        }
        let bytes_a = std::fs::read(t.path().join(&a)).unwrap();
        assert_eq!(
            bytes_a,
            std::fs::read(t.path().join(&b)).unwrap(),
            "{engine} not deterministic"
        );
        let (img, meta) = bestiary_canvas::png_meta::decode_png(&bytes_a).unwrap();
        assert_eq!((img.width(), img.height()), (48, 48));
        let meta = meta.expect("bestiary tEXt chunk");
        assert_eq!((meta.engine.as_str(), meta.seed), (engine, 5));
        assert_eq!(meta.version, env!("CARGO_PKG_VERSION"));
    }
}

#[test]
fn draw_svg_parses_and_gif_animates() {
    let t = tempfile::tempdir().unwrap();
    for engine in ["squares", "flow", "neurons", "plants"] {
        let out = format!("{engine}.svg");
        let o = bestiary(&["draw", engine, "--size", "64", "--out", &out], t.path());
        assert!(o.status.success(), "{engine}: {}", stderr(&o));
        let svg = std::fs::read_to_string(t.path().join(&out)).unwrap();
        let doc = roxmltree::Document::parse(&svg).expect("valid SVG");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        assert!(
            doc.descendants().filter(|n| n.is_element()).count() > 5,
            "{engine}: too few elements"
        );
    }
    let o = bestiary(
        &[
            "draw",
            "neurons",
            "--size",
            "40",
            "--animate",
            "--frames",
            "6",
            "--out",
            "n.gif",
        ],
        t.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let mut dec = gif::DecodeOptions::new()
        .read_info(std::fs::File::open(t.path().join("n.gif")).unwrap())
        .unwrap();
    let mut frames = 0;
    while let Some(f) = dec.read_next_frame().unwrap() {
        assert_eq!((f.width, f.height), (40, 40));
        frames += 1;
    }
    assert_eq!(frames, 6);
}

#[test]
fn draw_count_writes_one_file_per_seed() {
    let t = tempfile::tempdir().unwrap();
    let o = bestiary(
        &[
            "draw", "plants", "--count", "3", "--seed", "10", "--size", "32", "--outdir", "set",
            "--json",
        ],
        t.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        files_in(&t.path().join("set")),
        ["seed0010.png", "seed0011.png", "seed0012.png"]
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(v["count"], 3);
    let seeds: Vec<u64> = (10..13)
        .map(|s| {
            let bytes = std::fs::read(t.path().join(format!("set/seed{s:04}.png"))).unwrap();
            bestiary_canvas::png_meta::decode_png(&bytes)
                .unwrap()
                .1
                .unwrap()
                .seed
        })
        .collect();
    assert_eq!(seeds, [10, 11, 12]);
}

#[test]
fn draw_errors_are_one_clean_line_and_leave_no_file() {
    let t = tempfile::tempdir().unwrap();
    assert_clean_error(
        &refused(&["draw", "dragons", "--out", "d.png"], t.path()),
        "unknown engine 'dragons'",
    );
    assert_clean_error(
        &refused(&["draw", "flow", "--size", "0", "--out", "z.png"], t.path()),
        "0 is out of range",
    );
    assert_clean_error(
        &refused(
            &["draw", "flow", "--size", "16385", "--out", "z.png"],
            t.path(),
        ),
        "16385",
    );
    assert_clean_error(
        &refused(
            &["draw", "fractal", "--size", "32", "--out", "f.svg"],
            t.path(),
        ),
        ".png",
    );
    assert_clean_error(
        &refused(
            &["draw", "flow", "--size", "32", "--out", "f.tif"],
            t.path(),
        ),
        "unsupported",
    );
    assert_clean_error(
        &refused(
            &["draw", "flow", "--palette", "nope", "--out", "p.png"],
            t.path(),
        ),
        "unknown palette",
    );
    assert_clean_error(
        &refused(
            &["draw", "squares", "--animate", "--out", "s.gif"],
            t.path(),
        ),
        "animation",
    );
    // A file where a folder should be: the output cannot be written.
    std::fs::write(t.path().join("blocker"), b"x").unwrap();
    assert_clean_error(
        &refused(
            &["draw", "flow", "--size", "32", "--out", "blocker/f.png"],
            t.path(),
        ),
        "blocker",
    );
    // A read-only folder: the write fails and no partial or temporary file remains.
    let ro = t.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let o = if is_root() {
        // root ignores permissions; /proc refuses regular files for everyone.
        bestiary(
            &[
                "draw",
                "flow",
                "--size",
                "32",
                "--out",
                "/proc/bestiary-test.png",
            ],
            t.path(),
        )
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        bestiary(
            &["draw", "flow", "--size", "32", "--out", "ro/f.png"],
            t.path(),
        )
    };
    assert!(!o.status.success());
    assert!(stderr(&o).starts_with("error: "));
    assert!(files_in(&ro).is_empty());
    assert_eq!(
        files_in(t.path()),
        ["blocker", "ro"],
        "no partial output anywhere"
    );
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.uid() == 0
        })
        .unwrap_or(false)
}

#[test]
fn gallery_renders_every_engine_and_a_sheet() {
    let t = tempfile::tempdir().unwrap();
    let o = bestiary(
        &[
            "gallery",
            "--outdir",
            "g",
            "--size",
            "64",
            "--per-engine",
            "1",
            "--json",
        ],
        t.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let names = files_in(&t.path().join("g/classic"));
    for engine in ["squares", "fractal", "flow", "neurons", "plants"] {
        assert!(
            names.contains(&format!("{engine}-seed0001.png")),
            "{names:?}"
        );
    }
    assert!(names.contains(&"neurons-seed0001.gif".to_string()));
    let sheet = std::fs::read(t.path().join("g/classic-gallery.png")).unwrap();
    let (img, _) = bestiary_canvas::png_meta::decode_png(&sheet).unwrap();
    assert!(img.width() >= 64 && img.height() >= 32 * 5);
}

#[test]
fn palette_list_prints_the_names() {
    let t = tempfile::tempdir().unwrap();
    let o = bestiary(&["draw", "--palette", "list"], t.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let names: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(names, bestiary_canvas::Palette::names());
    // Every listed name draws; with an engine given, the list is printed all the same, and no file is written.
    for name in &names {
        let out = format!("{name}.png");
        assert!(bestiary(
            &[
                "draw",
                "flow",
                "--size",
                "16",
                "--palette",
                name,
                "--out",
                &out
            ],
            t.path()
        )
        .status
        .success());
    }
    let o = bestiary(
        &[
            "draw",
            "squares",
            "--palette",
            "list",
            "--json",
            "--out",
            "never.png",
        ],
        t.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let json: Vec<String> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json, names);
    assert!(!t.path().join("never.png").exists());
    assert_clean_error(
        &refused(&["draw", "--out", "x.png"], t.path()),
        "give an engine to draw",
    );
}

/// `bestiary draw --palette list | head`: a reader that goes away ends the process the way it ends `ls`,
/// by SIGPIPE, with nothing on stderr (no "failed printing to stdout" panic).
#[cfg(unix)]
#[test]
fn a_closed_stdout_ends_the_process_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let t = tempfile::tempdir().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_bestiary"))
        .args(["draw", "--palette", "list"])
        .current_dir(t.path())
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(stderr(&o), "");
    assert_eq!(
        o.status.signal(),
        Some(13),
        "expected death by SIGPIPE (13): {:?}",
        o.status
    );
}
