//! Packing and reading datasets end to end: layouts, transforms, labels, skips, sources and errors.

use bestiary_canvas::{Image, Rgba};
use bestiary_dataset::*;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

fn png_bytes(img: &Image) -> Vec<u8> {
    bestiary_canvas::png_meta::encode_png(img, None).unwrap()
}

fn write_png(path: &Path, img: &Image) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, png_bytes(img)).unwrap();
}

/// A one-channel ("L") PNG.
fn write_gray_png(path: &Path, side: u32, value: u8) {
    let buf = image::GrayImage::from_pixel(side, side, image::Luma([value]));
    buf.save(path).unwrap();
}

fn solid(w: u32, h: u32, px: [u8; 4]) -> Image {
    Image::filled(w, h, Rgba::from_u8(px))
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A tiny valid-looking PNG whose header claims 100000 x 100000 pixels.
fn bomb_png() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        png.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        png.extend(&body);
        png.extend(crc32(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend([8, 6, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    png
}

fn opts(resolution: u32) -> PackOptions {
    PackOptions {
        resolution,
        ..PackOptions::default()
    }
}

fn pack_quiet(source: &Source, dest: &Path, o: &PackOptions) -> Result<PackReport> {
    pack(source, dest, o, &mut |_| {})
}

fn zip_names(path: &Path) -> Vec<String> {
    let z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut v: Vec<String> = z.file_names().map(str::to_string).collect();
    v.sort();
    v
}

fn zip_entry(path: &Path, name: &str) -> Vec<u8> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut buf = Vec::new();
    z.by_name(name).unwrap().read_to_end(&mut buf).unwrap();
    buf
}

fn write_zip(path: &Path, entries: &[(&str, Vec<u8>)]) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in entries {
        z.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

/// Pixel (x, y) of a CHW image as RGB.
fn rgb_at(ds: &Dataset, i: usize, x: usize, y: usize) -> [u8; 3] {
    let r = ds.resolution() as usize;
    let img = ds.image(i);
    let p = y * r + x;
    [img[p], img[r * r + p], img[2 * r * r + p]]
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
fn round_trip_composites_alpha_and_keeps_order() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    // a: 8x8, left half opaque red, right half fully transparent, one half-transparent blue pixel.
    let mut a = Image::new(8, 8);
    for y in 0..8 {
        for x in 0..4 {
            a.put(x, y, [255, 0, 0, 255]);
        }
    }
    a.put(6, 6, [0, 0, 255, 128]);
    write_png(&src.join("a_rgba.png"), &a);
    // b: a flat JPEG.
    std::fs::create_dir_all(&src).unwrap();
    image::RgbImage::from_pixel(16, 16, image::Rgb([0, 128, 255]))
        .save(src.join("b_photo.jpg"))
        .unwrap();
    // c: a grey one-channel PNG, 16x16 -> resized to 8x8.
    write_gray_png(&src.join("c_gray.png"), 16, 100);
    std::fs::write(src.join("notes.txt"), "not an image").unwrap();

    let dest = t.path().join("out.zip");
    let rep = pack_quiet(&Source::Folder(src.clone()), &dest, &opts(8)).unwrap();
    assert_eq!(
        (rep.images, rep.sources, rep.skipped.len(), rep.labeled),
        (3, 3, 0, false)
    );
    assert_eq!(
        rep.summary(),
        format!("packed 3 images into {} (8x8)", dest.display())
    );
    assert_eq!(
        zip_names(&dest),
        [
            "00000/img00000000.png",
            "00000/img00000001.png",
            "00000/img00000002.png",
            "dataset.json"
        ]
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&zip_entry(&dest, "dataset.json")).unwrap();
    assert_eq!(meta, serde_json::json!({"labels": null}));
    // Entries are 8-bit RGB PNGs.
    let dec = png::Decoder::new(std::io::Cursor::new(zip_entry(
        &dest,
        "00000/img00000000.png",
    )));
    let info = dec.read_info().unwrap();
    assert_eq!(info.info().color_type, png::ColorType::Rgb);
    assert_eq!(
        files_in(t.path()),
        ["out.zip", "src"],
        "no temp file left behind"
    );

    let ds = Dataset::open(&dest).unwrap();
    assert_eq!(
        (ds.len(), ds.resolution(), ds.channels(), ds.c_dim()),
        (3, 8, 3, 0)
    );
    assert_eq!(ds.image(0).len(), 3 * 8 * 8);
    assert!(ds.label(0).is_empty());
    assert_eq!(ds.name(2), "00000/img00000002.png");
    assert_eq!(rgb_at(&ds, 0, 0, 0), [255, 0, 0]);
    assert_eq!(
        rgb_at(&ds, 0, 7, 0),
        [255, 255, 255],
        "transparent -> white background"
    );
    // Half-transparent blue over white: 255 * 127/255 = 127 in red and green.
    assert_eq!(rgb_at(&ds, 0, 6, 6), [127, 127, 255]);
    let j = rgb_at(&ds, 1, 4, 4);
    assert!(
        j.iter()
            .zip([0u8, 128, 255])
            .all(|(a, b)| a.abs_diff(b) <= 3),
        "jpeg {j:?}"
    );
    assert_eq!(rgb_at(&ds, 2, 3, 5), [100, 100, 100]);

    // Black background.
    let dest2 = t.path().join("black.zip");
    let o = PackOptions {
        background: parse_background("#000000").unwrap(),
        ..opts(8)
    };
    pack_quiet(&Source::Folder(src), &dest2, &o).unwrap();
    let ds2 = Dataset::open(&dest2).unwrap();
    assert_eq!(rgb_at(&ds2, 0, 7, 0), [0, 0, 0]);
    assert_eq!(rgb_at(&ds2, 0, 6, 6), [0, 0, 128]);
}

/// 40x20: left half red, right half blue.
fn halves() -> Image {
    let mut img = Image::new(40, 20);
    for y in 0..20 {
        for x in 0..40 {
            img.put(
                x,
                y,
                if x < 20 {
                    [255, 0, 0, 255]
                } else {
                    [0, 0, 255, 255]
                },
            );
        }
    }
    img
}

fn px(img: &Image, x: u32, y: u32) -> [u8; 3] {
    let p = img.get(x, y);
    assert_eq!(p[3], 255, "output is opaque");
    [p[0], p[1], p[2]]
}

const RED: [u8; 3] = [255, 0, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const WHITE: [u8; 3] = [255, 255, 255];

#[test]
fn transforms_geometry() {
    let img = halves();
    let w = Rgba::WHITE;
    // center-crop: the middle 20x20 (x 10..30), half red half blue, no background.
    let c = apply_transform(&img, Transform::CenterCrop, 16, w);
    assert_eq!((c.width(), c.height()), (16, 16));
    for y in [0, 8, 15] {
        assert_eq!(px(&c, 1, y), RED);
        assert_eq!(px(&c, 5, y), RED);
        assert_eq!(px(&c, 10, y), BLUE);
        assert_eq!(px(&c, 14, y), BLUE);
    }
    // pad: 16x8 content centred vertically, background bars of 4 rows above and below.
    let p = apply_transform(&img, Transform::Pad, 16, w);
    for x in [0, 8, 15] {
        for y in [0, 3, 12, 15] {
            assert_eq!(px(&p, x, y), WHITE, "bar at {x},{y}");
        }
    }
    assert_eq!(px(&p, 2, 6), RED);
    assert_eq!(px(&p, 13, 9), BLUE);
    // stretch: everything kept, no bars; left half red, right half blue over the full height.
    let s = apply_transform(&img, Transform::Stretch, 16, w);
    assert_eq!(px(&s, 2, 0), RED);
    assert_eq!(px(&s, 13, 15), BLUE);
    // center-crop-wide on a square: green top/bottom quarters are cropped away, the red middle 40x20 band
    // is letterboxed into rows 4..12 with background bars.
    let mut sq = Image::filled(40, 40, Rgba::from_u8([0, 255, 0, 255]));
    for y in 10..30 {
        for x in 0..40 {
            sq.put(x, y, [255, 0, 0, 255]);
        }
    }
    let cw = apply_transform(&sq, Transform::CenterCropWide, 16, w);
    for x in [0, 8, 15] {
        assert_eq!(px(&cw, x, 1), WHITE);
        assert_eq!(px(&cw, x, 4), RED);
        assert_eq!(px(&cw, x, 8), RED);
        assert_eq!(px(&cw, x, 11), RED);
        assert_eq!(px(&cw, x, 13), WHITE);
    }
    // A tall image padded gets side bars.
    let tall = solid(10, 40, [0, 0, 0, 255]);
    let tp = apply_transform(&tall, Transform::Pad, 8, w);
    assert_eq!(px(&tp, 0, 4), WHITE);
    assert_eq!(px(&tp, 4, 4), [0, 0, 0]);
    assert_eq!(px(&tp, 7, 4), WHITE);
}

#[test]
fn labels_from_dirs_write_official_dataset_json() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    write_png(&src.join("cat/a.png"), &solid(4, 4, [10, 0, 0, 255]));
    write_png(&src.join("cat/b.png"), &solid(4, 4, [20, 0, 0, 255]));
    write_png(&src.join("dog/deep/c.png"), &solid(4, 4, [30, 0, 0, 255]));
    write_png(&src.join("bird/d.png"), &solid(4, 4, [40, 0, 0, 255]));
    let dest = t.path().join("l.zip");
    let o = PackOptions {
        labels_from_dirs: true,
        ..opts(4)
    };
    let rep = pack_quiet(&Source::Folder(src.clone()), &dest, &o).unwrap();
    assert_eq!(
        rep.classes.as_deref(),
        Some(&["bird".to_string(), "cat".into(), "dog".into()][..])
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&zip_entry(&dest, "dataset.json")).unwrap();
    assert_eq!(
        meta,
        serde_json::json!({
            "labels": [["00000/img00000000.png", 0], ["00000/img00000001.png", 1],
                       ["00000/img00000002.png", 1], ["00000/img00000003.png", 2]],
            "classes": ["bird", "cat", "dog"],
        })
    );
    let ds = Dataset::open(&dest).unwrap();
    assert_eq!(ds.c_dim(), 3);
    assert_eq!(ds.label(0), [1.0, 0.0, 0.0]);
    assert_eq!(ds.label(2), [0.0, 1.0, 0.0]);
    assert_eq!(ds.label(3), [0.0, 0.0, 1.0]);
    assert_eq!(ds.classes().unwrap().len(), 3);
    assert_eq!(ds.image(3)[0], 30, "dog/deep/c.png sorted after cat/*");

    // An image outside any class folder is a clear error and leaves nothing behind.
    write_png(&src.join("loose.png"), &solid(4, 4, [0, 0, 0, 255]));
    let e = pack_quiet(&Source::Folder(src), &t.path().join("m.zip"), &o)
        .unwrap_err()
        .to_string();
    assert!(e.contains("loose.png is not inside a class folder"), "{e}");
    assert!(!t.path().join("m.zip").exists());
}

#[test]
fn corrupt_empty_and_bomb_files_are_skipped_with_reasons() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    write_png(&src.join("a.png"), &solid(6, 6, [1, 2, 3, 255]));
    write_png(&src.join("e.png"), &solid(6, 6, [4, 5, 6, 255]));
    std::fs::write(
        src.join("b_corrupt.png"),
        b"\x89PNG\r\n\x1a\ngarbage garbage",
    )
    .unwrap();
    std::fs::write(src.join("c_empty.jpg"), b"").unwrap();
    std::fs::write(src.join("d_bomb.png"), bomb_png()).unwrap();
    let dest = t.path().join("s.zip");
    let mut seen = Vec::new();
    let rep = pack(&Source::Folder(src), &dest, &opts(4), &mut |ev| {
        if let PackEvent::Skipped(s) = ev {
            seen.push(s.to_string());
        }
    })
    .unwrap();
    assert_eq!(rep.images, 2);
    let reasons: Vec<(&str, SkipReason)> = rep
        .skipped
        .iter()
        .map(|s| (s.name.as_str(), s.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            ("b_corrupt.png", SkipReason::Corrupt),
            ("c_empty.jpg", SkipReason::Empty),
            ("d_bomb.png", SkipReason::TooLarge)
        ]
    );
    assert_eq!(seen.len(), 3);
    assert!(
        seen[2].starts_with("skipped d_bomb.png: too large ("),
        "{}",
        seen[2]
    );
    assert!(
        rep.summary()
            .ends_with("skipped 3 (1 corrupt, 1 empty, 1 too large)"),
        "{}",
        rep.summary()
    );
    let j = rep.to_json();
    assert_eq!(j["images"], 2);
    assert_eq!(j["skipped_by_reason"]["too_large"], 1);
    assert_eq!(Dataset::open(&dest).unwrap().len(), 2);
}

#[test]
fn zip_source_carries_its_labels_and_skips_non_images() {
    let t = tempfile::tempdir().unwrap();
    let srczip = t.path().join("in.zip");
    write_zip(
        &srczip,
        &[
            ("pics/one.png", png_bytes(&solid(12, 8, [200, 0, 0, 255]))),
            ("pics/two.png", png_bytes(&solid(8, 12, [0, 200, 0, 255]))),
            ("readme.txt", b"hello".to_vec()),
            ("__MACOSX/pics/._one.png", b"junk".to_vec()),
            (
                "dataset.json",
                br#"{"labels": [["pics/one.png", 1], ["pics/two.png", 0]]}"#.to_vec(),
            ),
        ],
    );
    let src = Source::parse(srczip.to_str().unwrap()).unwrap();
    assert_eq!(src, Source::Zip(srczip.clone()));
    let dest = t.path().join("o.zip");
    let rep = pack_quiet(&src, &dest, &opts(4)).unwrap();
    assert_eq!((rep.images, rep.skipped.len(), rep.labeled), (2, 0, true));
    let ds = Dataset::open(&dest).unwrap();
    assert_eq!(ds.label(0), [0.0, 1.0]);
    assert_eq!(ds.label(1), [1.0, 0.0]);
    assert_eq!(rgb_at(&ds, 1, 2, 2), [0, 200, 0]);
}

#[test]
fn classic_source_is_deterministic() {
    let t = tempfile::tempdir().unwrap();
    let render: bestiary_dataset::Render = std::sync::Arc::new(|seed, size| {
        let params = bestiary_classic::Params {
            seed,
            size,
            palette: None,
        };
        Ok(bestiary_classic::render("squares", &params)
            .map_err(|e| e.to_string())?
            .art
            .to_image(size))
    });
    let src = Source::rendered("squares", 8, render).unwrap();
    let (a, b) = (t.path().join("a.zip"), t.path().join("b.zip"));
    let rep = pack_quiet(&src, &a, &opts(32)).unwrap();
    pack_quiet(&src, &b, &opts(32)).unwrap();
    assert_eq!(rep.images, 8);
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "same bytes twice"
    );
    let ds = Dataset::open(&a).unwrap();
    assert_eq!((ds.len(), ds.resolution()), (8, 32));
    assert_ne!(ds.image(0), ds.image(1), "seed i for image i");
    // A different first seed gives different images.
    let c = t.path().join("c.zip");
    pack_quiet(
        &src,
        &c,
        &PackOptions {
            seed: 100,
            ..opts(32)
        },
    )
    .unwrap();
    assert_ne!(Dataset::open(&c).unwrap().image(0), ds.image(0));
    let none: bestiary_dataset::Render = std::sync::Arc::new(|_, _| Err("never drawn".into()));
    assert!(Source::rendered("squares", 0, none)
        .unwrap_err()
        .to_string()
        .contains("--count"));
}

#[test]
fn patches_count_determinism_and_max_images() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    write_png(&src.join("a.png"), &halves());
    write_png(&src.join("b.png"), &solid(30, 30, [9, 9, 9, 255]));
    let o = PackOptions {
        patches: Some(3),
        seed: 5,
        ..opts(8)
    };
    let (a, b) = (t.path().join("a.zip"), t.path().join("b.zip"));
    let rep = pack_quiet(&Source::Folder(src.clone()), &a, &o).unwrap();
    pack_quiet(&Source::Folder(src.clone()), &b, &o).unwrap();
    assert_eq!((rep.images, rep.sources), (6, 2));
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let ds = Dataset::open(&a).unwrap();
    assert_eq!(ds.len(), 6);
    assert_eq!(
        rgb_at(&ds, 4, 3, 3),
        [9, 9, 9],
        "patches 3..6 come from b.png"
    );
    // max_images caps the output.
    let m = t.path().join("m.zip");
    let rep = pack_quiet(
        &Source::Folder(src),
        &m,
        &PackOptions {
            max_images: Some(4),
            ..o
        },
    )
    .unwrap();
    assert_eq!(rep.images, 4);
    assert_eq!(Dataset::open_with(&m, Some(2)).unwrap().len(), 2);
}

#[test]
fn many_images_fill_folders_of_1000() {
    let t = tempfile::tempdir().unwrap();
    let tiny = png_bytes(&solid(4, 4, [1, 2, 3, 255]));
    let names: Vec<String> = (0..1003).map(|i| format!("p{i:04}.png")).collect();
    let entries: Vec<(&str, Vec<u8>)> = names.iter().map(|n| (n.as_str(), tiny.clone())).collect();
    let srczip = t.path().join("in.zip");
    write_zip(&srczip, &entries);
    let src = Source::Zip(srczip);
    let dest = t.path().join("big.zip");
    pack_quiet(&src, &dest, &opts(4)).unwrap();
    let names = zip_names(&dest);
    assert_eq!(names.len(), 1004);
    assert!(names.contains(&"00000/img00000999.png".to_string()));
    assert!(names.contains(&"00001/img00001000.png".to_string()));
    assert!(names.contains(&"00001/img00001002.png".to_string()));
}

#[test]
fn reads_official_style_zips_and_folders() {
    let t = tempfile::tempdir().unwrap();
    // Arbitrary names, int labels, dataset.json present.
    let z = t.path().join("official.zip");
    write_zip(
        &z,
        &[
            ("img_b.png", png_bytes(&solid(8, 8, [0, 0, 250, 255]))),
            ("sub/img_a.png", png_bytes(&solid(8, 8, [250, 0, 0, 255]))),
            (
                "dataset.json",
                br#"{"labels": [["img_b.png", 2], ["sub/img_a.png", 0]]}"#.to_vec(),
            ),
        ],
    );
    let ds = Dataset::open(&z).unwrap();
    assert_eq!((ds.len(), ds.c_dim(), ds.channels()), (2, 3, 3));
    assert_eq!(ds.name(0), "img_b.png");
    assert_eq!(ds.label(0), [0.0, 0.0, 1.0]);
    assert_eq!(ds.label(1), [1.0, 0.0, 0.0]);
    assert_eq!(rgb_at(&ds, 1, 0, 0), [250, 0, 0]);
    // Float labels.
    let f = t.path().join("float.zip");
    write_zip(
        &f,
        &[
            ("a.png", png_bytes(&solid(4, 4, [0, 0, 0, 255]))),
            ("b.png", png_bytes(&solid(4, 4, [0, 0, 0, 255]))),
            (
                "dataset.json",
                br#"{"labels": [["a.png", [0.5, -1.0]], ["b.png", [2, 3.25]]]}"#.to_vec(),
            ),
        ],
    );
    let ds = Dataset::open(&f).unwrap();
    assert_eq!(ds.c_dim(), 2);
    assert_eq!(ds.label(1), [2.0, 3.25]);
    // A folder without dataset.json, all grey "L" images: one channel.
    let d = t.path().join("greys");
    std::fs::create_dir_all(d.join("00000")).unwrap();
    write_gray_png(&d.join("00000/img00000000.png"), 16, 7);
    write_gray_png(&d.join("00000/img00000001.png"), 16, 200);
    let ds = Dataset::open(&d).unwrap();
    assert_eq!(
        (ds.len(), ds.channels(), ds.resolution(), ds.c_dim()),
        (2, 1, 16, 0)
    );
    assert_eq!(ds.image(1).len(), 256);
    assert!(ds.image(1).iter().all(|&v| v == 200));
    // A missing label is an error.
    let m = t.path().join("missing.zip");
    write_zip(
        &m,
        &[
            ("a.png", png_bytes(&solid(4, 4, [0; 4]))),
            ("dataset.json", br#"{"labels": [["x.png", 1]]}"#.to_vec()),
        ],
    );
    assert!(Dataset::open(&m)
        .unwrap_err()
        .to_string()
        .contains("no label for a.png"));
}

#[test]
fn reader_errors_are_one_line() {
    let t = tempfile::tempdir().unwrap();
    let check = |entries: &[(&str, Vec<u8>)], needle: &str| {
        let z = t.path().join("x.zip");
        write_zip(&z, entries);
        let e = Dataset::open(&z).unwrap_err().to_string();
        assert!(e.contains(needle), "'{needle}' not in: {e}");
        assert_eq!(e.lines().count(), 1);
    };
    check(
        &[("a.png", png_bytes(&solid(8, 4, [0; 4])))],
        "must be square",
    );
    check(
        &[("a.png", png_bytes(&solid(12, 12, [0; 4])))],
        "not a power of two",
    );
    check(
        &[
            ("a.png", png_bytes(&solid(8, 8, [0; 4]))),
            ("b.png", png_bytes(&solid(16, 16, [0; 4]))),
        ],
        "b.png is 16x16, unlike the dataset's 8x8",
    );
    check(
        &[
            ("a.png", png_bytes(&solid(8, 8, [0; 4]))),
            ("b.png", b"junk".to_vec()),
        ],
        "cannot decode b.png",
    );
    check(&[("readme.txt", b"x".to_vec())], "no images");
    let e = Dataset::open(&t.path().join("nope.zip"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not exist"), "{e}");
}

#[test]
fn pack_errors_leave_no_file() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    write_png(&src.join("a.png"), &solid(4, 4, [0, 0, 0, 255]));
    let e = Source::parse(t.path().join("missing").to_str().unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not exist"), "{e}");
    for bad in [0, 3, 48, 2048, 2] {
        let e = pack_quiet(
            &Source::Folder(src.clone()),
            &t.path().join("r.zip"),
            &opts(bad),
        )
        .unwrap_err();
        assert!(e.to_string().contains("power of two in 4..=1024"), "{e}");
    }
    // Dest under a regular file: cannot be written.
    std::fs::write(t.path().join("afile"), b"x").unwrap();
    let dest: PathBuf = t.path().join("afile").join("out.zip");
    assert!(pack_quiet(&Source::Folder(src.clone()), &dest, &opts(4)).is_err());
    // Nothing packable: error, and neither the zip nor a temp file remains.
    let junk = t.path().join("junk");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(junk.join("x.png"), b"nope").unwrap();
    let e = pack_quiet(&Source::Folder(junk), &t.path().join("j.zip"), &opts(4))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no images packed") && e.contains("1 skipped"),
        "{e}"
    );
    assert_eq!(files_in(t.path()), ["afile", "junk", "src"]);
    assert!(parse_background("mauve-ish").is_err());
    assert!("sideways".parse::<Transform>().is_err());
}
