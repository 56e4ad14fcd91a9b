//! Public behaviour of the classic engines: golden outputs, determinism, errors, animation, threads.

use bestiary_canvas::{Image, Palette, Rgba, Shape};
use bestiary_classic::{animate, render, supports_svg, Artwork, Error, Params, Rendered, ENGINES};
use sha2::{Digest, Sha256};

const GOLDEN_SIZE: u32 = 96;

fn params(seed: u64, size: u32) -> Params {
    Params {
        seed,
        size,
        palette: None,
    }
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn run(engine: &str, seed: u64, size: u32) -> (Rendered, Image, Option<String>) {
    let r = render(engine, &params(seed, size)).unwrap_or_else(|e| panic!("{engine}: {e}"));
    let img = r.art.to_image(size);
    let svg = match &r.art {
        Artwork::Vector(scene) => Some(scene.to_svg(size, size)),
        Artwork::Raster(_) => None,
    };
    (r, img, svg)
}

/// (engine, seed, sha256 of the RGBA pixels at GOLDEN_SIZE, sha256 of the SVG text or "" for rasters).
/// These pin the exact output: a change to an engine, the RNG, the noise, or canvas's rasterizer / SVG
/// writer / palette maths shows up here. Update them only for a deliberate change, after looking at it.
const GOLDEN: &[(&str, u64, &str, &str)] = &[
    (
        "squares",
        1,
        "c136550719fd7e40ae7dd2aa8585e5cde8fc3fd929bdaa62fde9eb2d8537fe0a",
        "9979e17c3017280afe738ecaaba4edd33b073e59c30483bbdf56a1e0e97216a7",
    ),
    (
        "fractal",
        2,
        "da3d9f3ac755d63b0f15dfb4fc7fe0bab8de825c78dd5696607125be7ebd2884",
        "",
    ),
    (
        "fractal",
        1,
        "ee5e7c71f463b124b727acc72a6b268cc542d6950c29a75a9b6daef7da0b7245",
        "",
    ),
    (
        "flow",
        1,
        "6efe8fc01456e424bf27623ce8b42b1403648e816d63e3c05a6af28295a839e5",
        "2fb0ca5726dabb25eb7b7a33dc5818cd264ba3081ba1fd1e73420dd98e535b42",
    ),
    (
        "neurons",
        1,
        "6b913ed717defa532eeb5a47bbe92952fb7c339108b5ffe216d3045713b0c304",
        "2bc56ef8165a1dd2309144bf7139a5db9fc1f7e9dfcdeb8b89484cf4bd154037",
    ),
    (
        "plants",
        1,
        "accfb9a06052e13bf9b778db9728e6079cf603e29cae097ce12888d555be8af8",
        "080646a3aaccfe0bcb8d1eb5ac8d60937e9ccac51e134287a66c4c62211d02fd",
    ),
];

#[test]
fn golden_cases_cover_both_fractal_sets() {
    assert_eq!(
        render("fractal", &params(1, 8)).unwrap().params["set"],
        "mandelbrot"
    );
    assert_eq!(
        render("fractal", &params(2, 8)).unwrap().params["set"],
        "julia"
    );
}

#[test]
fn golden_hashes() {
    let mut report = String::new();
    let mut ok = true;
    for &(engine, seed, px, svg) in GOLDEN {
        let (_, img, s) = run(engine, seed, GOLDEN_SIZE);
        assert_eq!((img.width(), img.height()), (GOLDEN_SIZE, GOLDEN_SIZE));
        let got_px = sha(img.as_raw());
        let got_svg = s.map(|s| sha(s.as_bytes())).unwrap_or_default();
        report.push_str(&format!(
            "    (\"{engine}\", {seed}, \"{got_px}\", \"{got_svg}\"),\n"
        ));
        ok &= got_px == px && got_svg == svg;
    }
    assert!(ok, "golden hashes differ; current values:\n{report}");
}

#[test]
fn same_seed_gives_identical_bytes() {
    for engine in ENGINES {
        let (r1, a, s1) = run(engine, 42, 64);
        let (r2, b, s2) = run(engine, 42, 64);
        assert_eq!(a.as_raw(), b.as_raw(), "{engine} pixels");
        assert_eq!(s1, s2, "{engine} svg");
        assert_eq!(r1.params, r2.params, "{engine} params");
    }
}

#[test]
fn different_seeds_differ() {
    for engine in ENGINES {
        let (_, a, _) = run(engine, 1, 64);
        let (_, b, _) = run(engine, 2, 64);
        let (_, c, _) = run(engine, 3, 64);
        assert_ne!(a.as_raw(), b.as_raw(), "{engine} 1 vs 2");
        assert_ne!(b.as_raw(), c.as_raw(), "{engine} 2 vs 3");
        assert_ne!(a.as_raw(), c.as_raw(), "{engine} 1 vs 3");
    }
}

#[test]
fn outputs_are_not_blank() {
    for engine in ENGINES {
        for seed in [1u64, 9, 1234567] {
            let (_, img, _) = run(engine, seed, 64);
            let mut colours: Vec<[u8; 4]> = img
                .as_raw()
                .chunks(4)
                .map(|c| [c[0], c[1], c[2], c[3]])
                .collect();
            assert!(
                colours.iter().all(|c| c[3] == 255),
                "{engine} {seed}: opaque"
            );
            colours.sort();
            colours.dedup();
            assert!(
                colours.len() > 40,
                "{engine} seed {seed}: only {} distinct colours",
                colours.len()
            );
        }
    }
}

#[test]
fn params_record_the_inputs_and_defaults() {
    for engine in ENGINES {
        let (r, _, _) = run(engine, 77, 64);
        let p = &r.params;
        assert_eq!(p["engine"], *engine);
        assert_eq!(p["seed"], 77);
        assert_eq!(p["size"], 64);
        let name = p["palette"]["name"].as_str().expect("palette name");
        assert!(
            name.starts_with("classic-"),
            "{engine}: default palette recorded, got {name}"
        );
        assert!(p["palette"]["colors"].as_array().expect("colours").len() >= 2);
        assert!(
            p.as_object().unwrap().len() >= 8,
            "{engine} records its parameters: {p}"
        );
    }
}

#[test]
fn a_given_palette_is_used_and_recorded() {
    let pal = Palette {
        name: "test-duo".into(),
        colors: vec![Rgba::new(1.0, 0.0, 0.0, 1.0), Rgba::new(0.0, 0.0, 1.0, 1.0)],
    };
    for engine in ENGINES {
        let (_, plain, _) = run(engine, 5, 64);
        let p = Params {
            seed: 5,
            size: 64,
            palette: Some(pal.clone()),
        };
        let r = render(engine, &p).unwrap();
        assert_eq!(r.params["palette"]["name"], "test-duo", "{engine}");
        assert_eq!(r.params["palette"]["colors"][0], "#ff0000");
        assert_ne!(
            r.art.to_image(64).as_raw(),
            plain.as_raw(),
            "{engine}: palette changes the picture"
        );
    }
}

#[test]
fn unknown_engine_and_bad_params_error() {
    let p = params(1, 64);
    assert!(matches!(render("spirograph", &p), Err(Error::UnknownEngine(n)) if n == "spirograph"));
    assert!(matches!(
        animate("spirograph", &p, 4),
        Err(Error::UnknownEngine(_))
    ));
    let msg = render("nope", &p).err().unwrap().to_string();
    assert!(
        msg.contains("nope") && msg.contains("squares") && !msg.contains('\n'),
        "{msg}"
    );
    assert!(!supports_svg("spirograph"));
    for size in [0u32, 16385, u32::MAX] {
        let e = render("squares", &params(1, size))
            .err()
            .expect("bad size rejected");
        assert!(matches!(e, Error::Invalid(_)), "{e}");
        assert!(e.to_string().contains("size"));
    }
    let empty = Params {
        seed: 1,
        size: 64,
        palette: Some(Palette {
            name: "void".into(),
            colors: vec![],
        }),
    };
    let e = render("flow", &empty)
        .err()
        .expect("empty palette rejected");
    assert!(e.to_string().contains("void"), "{e}");
    let nan = Params {
        seed: 1,
        size: 64,
        palette: Some(Palette {
            name: "nan".into(),
            colors: vec![Rgba::new(f32::NAN, 0.0, 0.0, 1.0)],
        }),
    };
    assert!(matches!(render("fractal", &nan), Err(Error::Invalid(_))));
}

#[test]
fn svg_support_matches_the_artwork_kind() {
    for engine in ENGINES {
        let r = render(engine, &params(3, 32)).unwrap();
        let vector = matches!(r.art, Artwork::Vector(_));
        assert_eq!(supports_svg(engine), vector, "{engine}");
    }
    assert!(!supports_svg("fractal"));
    for e in ["squares", "flow", "neurons", "plants"] {
        assert!(supports_svg(e));
    }
}

#[test]
fn svgs_are_well_formed_and_reasonably_small() {
    for engine in ["squares", "flow", "neurons", "plants"] {
        for seed in [1u64, 2, 3] {
            let (_, _, svg) = run(engine, seed, 64);
            let svg = svg.unwrap();
            assert!(
                svg.contains("<svg") && svg.trim_end().ends_with("</svg>"),
                "{engine}"
            );
            assert!(
                svg.len() < 4 << 20,
                "{engine} seed {seed}: svg is {} bytes",
                svg.len()
            );
        }
    }
}

#[test]
fn vector_scenes_are_size_independent_and_raster_resizes() {
    // A vector engine's composition does not depend on the requested size: previews are faithful.
    for engine in ["squares", "flow", "neurons", "plants"] {
        let a = render(engine, &params(8, 64)).unwrap();
        let b = render(engine, &params(8, 512)).unwrap();
        match (&a.art, &b.art) {
            (Artwork::Vector(x), Artwork::Vector(y)) => assert_eq!(x, y, "{engine}"),
            _ => panic!("{engine} is vector"),
        }
        let img = a.art.to_image(40);
        assert_eq!((img.width(), img.height()), (40, 40));
    }
    let f = render("fractal", &params(8, 64)).unwrap();
    let Artwork::Raster(img) = &f.art else {
        panic!("fractal is raster")
    };
    assert_eq!((img.width(), img.height()), (64, 64));
    assert_eq!(f.art.to_image(64).as_raw(), img.as_raw());
    let small = f.art.to_image(32);
    assert_eq!((small.width(), small.height()), (32, 32));
}

#[test]
fn fractal_is_identical_for_any_thread_count() {
    let in_pool = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| render("fractal", &params(11, 80)).unwrap().art.to_image(80))
    };
    let one = in_pool(1);
    let two = in_pool(2);
    let three = in_pool(3);
    assert_eq!(one.as_raw(), two.as_raw());
    assert_eq!(one.as_raw(), three.as_raw());
}

#[test]
fn fractal_covers_both_sets() {
    let mut sets = std::collections::BTreeSet::new();
    for seed in 0..12u64 {
        // 1-px renders are enough to read which set the seed chose.
        let r = render("fractal", &params(seed, 1)).unwrap();
        sets.insert(r.params["set"].as_str().unwrap().to_string());
        assert!(r.params["max_iterations"].as_u64().unwrap() >= 200);
    }
    assert_eq!(sets.len(), 2, "{sets:?}");
}

#[test]
fn engine_structure_matches_params() {
    // squares: one stroked square per recursion step of each tile, steps within 3..=10
    let r = render("squares", &params(4, 64)).unwrap();
    let Artwork::Vector(scene) = &r.art else {
        panic!()
    };
    let tiles = r.params["tiles"].as_array().unwrap();
    let grid = r.params["grid"].as_u64().unwrap() as usize;
    assert_eq!(tiles.len(), grid * grid);
    let expected: u64 = tiles.iter().map(|t| t[0].as_u64().unwrap() + 1).sum();
    assert_eq!(scene.shapes.len() as u64, expected);
    for t in tiles {
        assert!((3..=10).contains(&t[0].as_u64().unwrap()));
        assert!(
            (-1..=1).contains(&t[1].as_i64().unwrap())
                && (-1..=1).contains(&t[2].as_i64().unwrap())
        );
    }
    assert!(scene.shapes.iter().all(
        |s| matches!(s, Shape::Rect { style, .. } if style.stroke.is_some() && style.fill.is_none())
    ));

    // flow: one open polyline per particle, a few hundred to a couple of thousand
    for seed in [1u64, 2, 3] {
        let r = render("flow", &params(seed, 64)).unwrap();
        let Artwork::Vector(scene) = &r.art else {
            panic!()
        };
        let n = r.params["particles"].as_u64().unwrap() as usize;
        assert_eq!(scene.shapes.len(), n);
        assert!((100..=2500).contains(&n), "seed {seed}: {n} particles");
        for s in &scene.shapes {
            let Shape::Path {
                points,
                closed,
                style,
            } = s
            else {
                panic!("flow draws paths")
            };
            assert!(!closed && points.len() >= 3);
            let a = style.stroke.as_ref().unwrap().color.a;
            assert!(a < 1.0 && a > 0.5, "slight alpha: {a}");
        }
    }

    // plants: 3..=5 plants of known species
    let r = render("plants", &params(6, 64)).unwrap();
    let plants = r.params["plants"].as_array().unwrap();
    assert!((3..=5).contains(&plants.len()));
    assert_eq!(plants.len() as u64, r.params["count"].as_u64().unwrap());
    for p in plants {
        let sp = p["species"].as_str().unwrap();
        assert!(
            ["herb", "berry bush", "umbel", "reed", "tirillus"].contains(&sp),
            "{sp}"
        );
        assert!(p["symbols"].as_u64().unwrap() > 10);
    }
}

#[test]
fn neurons_are_gold_on_black() {
    let (_, img, _) = run("neurons", 3, 96);
    let px: Vec<&[u8]> = img.as_raw().chunks(4).collect();
    let dark = px
        .iter()
        .filter(|p| (p[0] as u32 + p[1] as u32 + p[2] as u32) < 60)
        .count();
    assert!(
        dark > px.len() / 2,
        "mostly dark ground: {dark} of {}",
        px.len()
    );
    let warm = px.iter().filter(|p| p[0] > 120 && p[0] > p[2] + 40).count();
    assert!(warm > 20, "gold strokes: {warm}");
}

#[test]
fn animation_sweeps_and_loops() {
    let p = params(21, 48);
    let frames = animate("neurons", &p, 6).unwrap();
    assert_eq!(frames.len(), 6);
    for f in &frames {
        assert_eq!((f.width(), f.height()), (48, 48));
    }
    for i in 0..frames.len() {
        for j in i + 1..frames.len() {
            assert_ne!(
                frames[i].as_raw(),
                frames[j].as_raw(),
                "frames {i} and {j} differ"
            );
        }
    }
    // The still picture is frame 0; a 12-frame sweep passes through the same light positions at even
    // frames, so the sweep is exactly periodic in the light angle.
    let still = render("neurons", &p).unwrap().art.to_image(48);
    assert_eq!(frames[0].as_raw(), still.as_raw());
    let twelve = animate("neurons", &p, 12).unwrap();
    for k in 0..6 {
        assert_eq!(twelve[2 * k].as_raw(), frames[k].as_raw(), "frame {k}");
    }
    let one = animate("neurons", &p, 1).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].as_raw(), frames[0].as_raw());
}

#[test]
fn animation_errors() {
    let p = params(1, 32);
    for engine in ["squares", "fractal", "flow", "plants"] {
        let e = animate(engine, &p, 4).err().expect("no animation");
        assert!(matches!(e, Error::NoAnimation(ref n) if n == engine), "{e}");
    }
    assert!(matches!(animate("neurons", &p, 0), Err(Error::Invalid(_))));
    let huge = animate("neurons", &params(1, 16384), 100)
        .err()
        .expect("too large");
    assert!(huge.to_string().contains("frames"), "{huge}");
}
