//! Judge crate tests: FID/KID/SWD properties, the matrix square root.

use bestiary_judge::{fid, kid, swd, KidOptions, RgbImage, SwdOptions};

fn blobs(n: usize, d: usize, shift: f32, seed: u32) -> Vec<Vec<f32>> {
    let mut s = seed.wrapping_mul(2654435761).wrapping_add(1);
    let mut r = move || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        (s as f32 / u32::MAX as f32) - 0.5
    };
    (0..n)
        .map(|_| (0..d).map(|_| r() + shift).collect())
        .collect()
}

#[test]
fn fid_of_a_set_with_itself_is_zero_and_symmetric_positive_otherwise() {
    let a = blobs(20, 64, 0.0, 1);
    let b = blobs(30, 64, 0.3, 2);
    assert!(fid(&a, &a).unwrap().abs() < 1e-6);
    let ab = fid(&a, &b).unwrap();
    let ba = fid(&b, &a).unwrap();
    assert!(ab > 0.5, "fid {ab}");
    assert!((ab - ba).abs() < 1e-6 * ab, "{ab} vs {ba}");
    // Full d x d path (more samples than dimensions) agrees with the sample-space path on the same data.
    let c = blobs(40, 8, 0.0, 3);
    let d = blobs(50, 8, 0.2, 4);
    let full = bestiary_judge::fid_from_stats(
        &bestiary_judge::FeatureStats::from_features(&c).unwrap(),
        &bestiary_judge::FeatureStats::from_features(&d).unwrap(),
    )
    .unwrap();
    let small: Vec<Vec<f32>> = c[..6].to_vec();
    let gram = fid(&small, &d).unwrap();
    let full_small = bestiary_judge::fid_from_stats(
        &bestiary_judge::FeatureStats::from_features(&small).unwrap(),
        &bestiary_judge::FeatureStats::from_features(&d).unwrap(),
    )
    .unwrap();
    assert!(
        (gram - full_small).abs() < 1e-6 * full_small.max(1.0),
        "{gram} vs {full_small}"
    );
    assert!((fid(&c, &d).unwrap() - full).abs() < 1e-9);
    // The Cholesky route (C1 non-singular) equals the textbook sqrt(C1) C2 sqrt(C1) route.
    let (sc, sd) = (
        bestiary_judge::FeatureStats::from_features(&c).unwrap(),
        bestiary_judge::FeatureStats::from_features(&d).unwrap(),
    );
    let s1 = bestiary_linalg::sqrtm_psd(&sc.cov, 8);
    let inner = bestiary_linalg::matmul(
        &bestiary_linalg::matmul(&s1, &sd.cov, 8, 8, 8),
        &s1,
        8,
        8,
        8,
    );
    let tr_sqrt: f64 = bestiary_linalg::symmetric_eigenvalues(&inner, 8)
        .iter()
        .map(|l| l.max(0.0).sqrt())
        .sum();
    let mean: f64 = sc
        .mean
        .iter()
        .zip(&sd.mean)
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    let tr = |m: &[f64]| (0..8).map(|i| m[i * 8 + i]).sum::<f64>();
    let textbook = mean + tr(&sc.cov) + tr(&sd.cov) - 2.0 * tr_sqrt;
    assert!(
        (full - textbook).abs() < 1e-10 * textbook.max(1.0),
        "{full} vs {textbook}"
    );
}

#[test]
fn kid_is_near_zero_for_one_set_and_symmetric_positive_otherwise() {
    let a = blobs(16, 32, 0.0, 5);
    let b = blobs(16, 32, 0.5, 6);
    let o = KidOptions {
        num_subsets: 10,
        ..Default::default()
    };
    let ab = kid(&a, &b, &o).unwrap();
    let ba = kid(&b, &a, &o).unwrap();
    // Another draw from a's distribution (and a itself: the unbiased estimate is then slightly negative).
    let same = kid(&a, &blobs(16, 32, 0.0, 7), &o).unwrap();
    let itself = kid(&a, &a, &o).unwrap();
    eprintln!("kid shifted {ab:.4e} same-distribution {same:.4e} itself {itself:.4e}");
    assert!(ab > 0.0);
    assert!(same.abs() < ab / 10.0 && itself.abs() < ab / 10.0);
    assert!((ab - ba).abs() < 1e-9 * ab.abs().max(1.0), "{ab} vs {ba}");
}

fn pictures(n: usize, size: usize, offset: u8, seed: usize) -> Vec<RgbImage> {
    (0..n)
        .map(|k| {
            let mut data = Vec::with_capacity(size * size * 3);
            for y in 0..size {
                for x in 0..size {
                    let v = ((x * 7 + y * 3 + k * 11 + seed) % 64) as u8 * 2;
                    data.extend([
                        v.saturating_add(offset),
                        (x * 4) as u8,
                        ((y * 5 + k) % 200) as u8,
                    ]);
                }
            }
            RgbImage {
                width: size,
                height: size,
                data,
            }
        })
        .collect()
}

#[test]
fn swd_is_zero_for_identical_sets_and_larger_for_a_shifted_set() {
    let a = pictures(4, 32, 0, 0);
    let o = SwdOptions::default();
    let same = swd(&a, &a, &o).unwrap();
    assert_eq!(same.resolutions, vec![32, 16]);
    assert_eq!(same.average, 0.0);
    assert!(same.per_level.iter().all(|&v| v == 0.0));
    let mut noisy = a.clone();
    for img in &mut noisy {
        for (i, v) in img.data.iter_mut().enumerate() {
            if i % 3 == 0 {
                *v = v.wrapping_add(((i * 7919) % 97) as u8);
            }
        }
    }
    let diff = swd(&a, &noisy, &o).unwrap();
    eprintln!("swd same {:?} different {:?}", same, diff);
    assert!(diff.average > 1.0, "{}", diff.average);
    assert!(diff.per_level.iter().all(|&v| v > 0.0));
}
