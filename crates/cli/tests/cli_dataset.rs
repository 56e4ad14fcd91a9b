//! End-to-end tests of `bestiary dataset`: packing folders and engines, warnings, JSON, and clean errors.

mod common;

use bestiary_canvas::{Image, Rgba};
use common::{assert_clean_error, bestiary, ok, stderr};
use std::path::Path;

fn write_png(path: &Path, img: &Image) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    bestiary_canvas::png_meta::write_png(path, img, None).unwrap();
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn help_has_examples() {
    let t = tempfile::tempdir().unwrap();
    let h = bestiary(&["dataset", "--help"], t.path());
    let text = String::from_utf8_lossy(&h.stdout);
    assert!(
        text.contains("Examples:")
            && text.contains("--labels-from-dirs")
            && text.contains("classic:squares"),
        "{text}"
    );
}

#[test]
fn packs_a_folder_with_warnings_and_json() {
    let t = tempfile::tempdir().unwrap();
    // A wide image: pad leaves background bars above and below.
    let wide = Image::filled(40, 20, Rgba::BLACK);
    write_png(&t.path().join("src/cats/wide.png"), &wide);
    write_png(
        &t.path().join("src/dogs/sq.png"),
        &Image::filled(10, 10, Rgba::from_u8([0, 0, 255, 255])),
    );
    std::fs::write(t.path().join("src/dogs/broken.png"), b"not a png").unwrap();
    std::fs::create_dir(t.path().join("out")).unwrap();
    let o = bestiary(
        &[
            "dataset",
            "--source",
            "src",
            "--dest",
            "out/ds.zip",
            "--resolution",
            "8",
            "--transform",
            "pad",
            "--background",
            "#ff0000",
            "--labels-from-dirs",
            "--json",
        ],
        t.path(),
    );
    ok(&o);
    let err = stderr(&o);
    assert!(
        err.contains("warning: skipped dogs/broken.png: corrupt"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["images"], 2);
    assert_eq!(v["skipped"], 1);
    assert_eq!(v["transform"], "pad");
    assert_eq!(v["classes"], serde_json::json!(["cats", "dogs"]));
    let ds = bestiary_dataset::Dataset::open(&t.path().join("out/ds.zip")).unwrap();
    assert_eq!((ds.len(), ds.resolution(), ds.c_dim()), (2, 8, 2));
    let img = ds.image(0);
    // Red bar on top (R plane 255, G plane 0), black content in the middle.
    assert_eq!((img[0], img[64], img[128]), (255, 0, 0));
    assert_eq!((img[4 * 8 + 3], img[64 + 4 * 8 + 3]), (0, 0));
    assert_eq!(ds.label(1), [0.0, 1.0]);

    // Without --json: a summary line with the skip count.
    let o = bestiary(
        &[
            "dataset",
            "--source",
            "src",
            "--dest",
            "plain.zip",
            "--resolution",
            "4",
        ],
        t.path(),
    );
    ok(&o);
    let err = stderr(&o);
    assert!(
        err.contains("packed 2 images into plain.zip (4x4), skipped 1 (1 corrupt)"),
        "{err}"
    );
}

#[test]
fn classic_source_is_byte_identical_twice() {
    let t = tempfile::tempdir().unwrap();
    for out in ["a.zip", "b.zip"] {
        let o = bestiary(
            &[
                "dataset",
                "--source",
                "classic:squares",
                "--count",
                "8",
                "--dest",
                out,
                "--resolution",
                "32",
            ],
            t.path(),
        );
        ok(&o);
    }
    assert_eq!(
        std::fs::read(t.path().join("a.zip")).unwrap(),
        std::fs::read(t.path().join("b.zip")).unwrap()
    );
    assert_eq!(
        bestiary_dataset::Dataset::open(&t.path().join("a.zip"))
            .unwrap()
            .len(),
        8
    );
}

#[test]
fn errors_are_one_clean_line_and_leave_no_file() {
    let t = tempfile::tempdir().unwrap();
    write_png(
        &t.path().join("src/a.png"),
        &Image::filled(8, 8, Rgba::WHITE),
    );
    let run = |args: &[&str]| {
        let mut all = vec!["dataset"];
        all.extend_from_slice(args);
        bestiary(&all, t.path())
    };
    assert_clean_error(
        &run(&[
            "--source",
            "nowhere",
            "--dest",
            "x.zip",
            "--resolution",
            "8",
        ]),
        "source nowhere does not exist",
    );
    assert_clean_error(
        &run(&["--source", "src", "--dest", "x.zip", "--resolution", "48"]),
        "not a power of two",
    );
    assert_clean_error(
        &run(&[
            "--source",
            "src",
            "--dest",
            "x.zip",
            "--resolution",
            "8",
            "--transform",
            "zoom",
        ]),
        "unknown transform 'zoom'",
    );
    assert_clean_error(
        &run(&[
            "--source",
            "src",
            "--dest",
            "x.zip",
            "--resolution",
            "8",
            "--background",
            "nope",
        ]),
        "invalid colour",
    );
    assert_clean_error(
        &run(&[
            "--source",
            "classic:squares",
            "--dest",
            "x.zip",
            "--resolution",
            "8",
        ]),
        "--count",
    );
    assert_clean_error(
        &run(&[
            "--source",
            "assets:nope",
            "--dest",
            "x.zip",
            "--resolution",
            "8",
        ]),
        "nope",
    );
    assert_clean_error(
        &run(&["--source", "src", "--dest", "x.tar", "--resolution", "8"]),
        "must be a .zip",
    );
    std::fs::write(t.path().join("afile"), b"x").unwrap();
    assert_clean_error(
        &run(&[
            "--source",
            "src",
            "--dest",
            "afile/out.zip",
            "--resolution",
            "8",
        ]),
        "afile",
    );
    std::fs::create_dir_all(t.path().join("junk")).unwrap();
    std::fs::write(t.path().join("junk/bad.png"), b"").unwrap();
    let o = run(&["--source", "junk", "--dest", "j.zip", "--resolution", "8"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("warning: skipped bad.png: empty") && err.contains("error: no images packed"),
        "{err}"
    );
    assert_eq!(
        files_in(t.path()),
        ["afile", "junk", "src"],
        "no partial or temp file"
    );
}
