//! ResMem parity with the Python package (resmem==1.1.6 + torchvision + Pillow), on three synthetic images
//! whose generator is mirrored in tools/judge/resmem_reference.py, which wrote the fixtures:
//! - `resmem_crops_3x227x227x3.u8`: the package's preprocessed inputs (x 255, HWC), compared exactly;
//! - `resmem_scores_3.f32`: the package's scores, compared within 1e-4 (absolute).
//!
//! The weights come through the asset cache (fetched with pip when absent).

mod common;

use bestiary_perceptual::resmem::{preprocess, preprocess_u8, ResMem, INPUT_SIZE};
use bestiary_perceptual::RgbImage;
use burn::backend::Flex;
use common::{f32s, fixture};

/// (width, height, seed) of the synthetic images: shrunk both ways, enlarged both ways, mixed.
const SYNTH: [(usize, usize, u32); 3] = [(320, 272, 1), (150, 90, 2), (500, 180, 3)];

/// Gradients, an inverted disc, a checker of darker cells and hashed noise; integer arithmetic mod 2^32.
fn synth(w: usize, h: usize, seed: u32) -> RgbImage {
    let mut data = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let mut hsh = (x as u32).wrapping_mul(73856093)
                    ^ (y as u32).wrapping_mul(19349663)
                    ^ (c as u32 + 1).wrapping_mul(83492791)
                    ^ seed.wrapping_mul(2654435761);
                hsh ^= hsh >> 13;
                hsh = hsh.wrapping_mul(0x5BD1_E995);
                hsh ^= hsh >> 15;
                let noise = ((hsh >> 24) % 48) as i64 - 24;
                let (xi, yi, wi, hi) = (x as i64, y as i64, w as i64, h as i64);
                let mut base = match c {
                    0 => xi * 255 / (wi - 1).max(1),
                    1 => yi * 255 / (hi - 1).max(1),
                    _ => (xi + yi) * 255 / (wi + hi - 2).max(1),
                };
                let (dx, dy) = (2 * xi + 1 - wi, 2 * yi + 1 - hi);
                let r = wi.min(hi) * 2 / 3;
                if dx * dx + dy * dy < r * r {
                    base = 255 - base;
                }
                if (xi / 8 + yi / 8 + seed as i64) % 5 == 0 {
                    base /= 2;
                }
                data.push((base + noise).clamp(0, 255) as u8);
            }
        }
    }
    RgbImage {
        width: w,
        height: h,
        data,
    }
}

fn images() -> Vec<RgbImage> {
    SYNTH.iter().map(|&(w, h, s)| synth(w, h, s)).collect()
}

#[test]
fn preprocessing_matches_torchvision_on_pil_exactly() {
    let crops = fixture("resmem_crops_3x227x227x3.u8");
    let per = INPUT_SIZE * INPUT_SIZE * 3;
    assert_eq!(crops.len(), SYNTH.len() * per);
    for (i, img) in images().iter().enumerate() {
        let ours = preprocess_u8(img).unwrap();
        let theirs = &crops[i * per..(i + 1) * per];
        let differ = ours.iter().zip(theirs).filter(|(a, b)| a != b).count();
        let max = ours
            .iter()
            .zip(theirs)
            .map(|(a, b)| (*a as i32 - *b as i32).abs())
            .max()
            .unwrap();
        eprintln!(
            "{}x{}: {differ} of {per} bytes differ (max {max})",
            img.width, img.height
        );
        assert_eq!(
            differ, 0,
            "{}x{}: preprocessing differs",
            img.width, img.height
        );
        // The float input is the crop / 255, channel-major.
        let f = preprocess(img).unwrap();
        let n = INPUT_SIZE * INPUT_SIZE;
        assert_eq!(f[n + 5], theirs[5 * 3 + 1] as f32 / 255.0);
    }
}

#[test]
fn scores_match_the_python_package() {
    let path = common::resmem_path();
    let dev = Default::default();
    let t = std::time::Instant::now();
    let net = ResMem::<Flex>::load(&path, &dev).unwrap();
    eprintln!("loaded in {:.1?}", t.elapsed());
    let reference = f32s(&fixture("resmem_scores_3.f32"));
    let t = std::time::Instant::now();
    // Batches of 2: one full batch and one single image, so both paths are covered.
    let ours = net.score(&images(), 2).unwrap();
    eprintln!("scored {} images in {:.1?}", ours.len(), t.elapsed());
    assert_eq!(ours.len(), reference.len());
    for (i, (o, r)) in ours.iter().zip(&reference).enumerate() {
        eprintln!(
            "image {i}: ours {o:.7}, package {r:.7}, diff {:.3e}",
            (o - r).abs()
        );
        // The brief asks for 1e-3; we measure far below that (see the log), so hold a tighter line.
        assert!((o - r).abs() < 1e-4, "image {i}: {o} vs {r}");
    }
    // The package's own crop of image 1, fed straight to the network, scores the same.
    let per = INPUT_SIZE * INPUT_SIZE * 3;
    let crop = fixture("resmem_crops_3x227x227x3.u8")[per..2 * per].to_vec();
    let s = net.score_crops(&[crop], 1).unwrap();
    assert!(
        (s[0] - reference[1]).abs() < 1e-4,
        "{} vs {}",
        s[0],
        reference[1]
    );
    assert!(net.score_crops(&[vec![0; 10]], 1).is_err());
    assert!(net.score(&[], 4).unwrap().is_empty());
    assert!(net
        .score(
            &[RgbImage {
                width: 3,
                height: 3,
                data: vec![0; 5]
            }],
            1
        )
        .is_err());
}

#[test]
fn malformed_weight_files_are_errors() {
    let t = std::env::temp_dir().join(format!("bestiary-resmem-bad-{}", std::process::id()));
    std::fs::write(&t, b"PK\x03\x04 not really a zip").unwrap();
    let dev = Default::default();
    assert!(ResMem::<Flex>::load(&t, &dev).is_err());
    std::fs::write(&t, b"\x80\x02}q\x00.").unwrap(); // an empty pickled dict
    let e = ResMem::<Flex>::load(&t, &dev).err().expect("an error");
    assert!(e.to_string().contains("missing tensor"), "{e}");
    let _ = std::fs::remove_file(&t);
    assert!(ResMem::<Flex>::load(std::path::Path::new("/nonexistent/model.pt"), &dev).is_err());
}
