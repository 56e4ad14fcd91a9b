//! Latent walks for videos: frame counts, keys hit exactly, seamless loops, smooth periodic circle and
//! noise loops, easing, truncation schedules. Host math only (no network).

use bestiary_explore::*;
use bestiary_stylegan::seed::z_from_seed;
use std::f64::consts::{FRAC_PI_2, TAU};

fn z(seed: u32) -> Vec<f32> {
    z_from_seed(seed, 512)
}

fn dist(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
        .sum::<f64>()
        .sqrt()
}

fn norm(a: &[f32]) -> f64 {
    a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt()
}

/// Step lengths between consecutive frames, the last one across the seam (last frame -> first).
fn steps_around(frames: &[Vec<f32>]) -> Vec<f64> {
    (0..frames.len())
        .map(|i| dist(&frames[i], &frames[(i + 1) % frames.len()]))
        .collect()
}

fn spec(interp: Interp, frames: usize, looped: bool, easing: Easing) -> WalkSpec {
    WalkSpec {
        interp,
        frames,
        looped,
        easing,
    }
}

#[test]
fn every_walk_has_exactly_the_frames_asked_for() {
    let keys = vec![z(1), z(2), z(3)];
    for frames in [2, 3, 7, 60, 1000] {
        for looped in [false, true] {
            for interp in [Interp::Lerp, Interp::Slerp, Interp::Spline] {
                for easing in [Easing::Linear, Easing::EaseInOut] {
                    assert_eq!(
                        walk(&keys, &spec(interp, frames, looped, easing), None)
                            .unwrap()
                            .len(),
                        frames
                    );
                }
            }
            assert_eq!(
                walk(
                    &keys[..2],
                    &spec(Interp::Circle, frames, looped, Easing::Linear),
                    None
                )
                .unwrap()
                .len(),
                frames
            );
        }
        assert_eq!(loop_angles(frames).len(), frames);
        assert_eq!(
            trunc_schedule(0.5, 1.0, frames, false, Easing::Linear).len(),
            frames
        );
    }
}

#[test]
fn open_walks_start_and_end_on_keys_and_pass_through_every_key() {
    let keys = vec![z(1), z(2), z(3), z(4)];
    // 10 frames over 3 segments: keys at frames 0, 3, 6, 9.
    for interp in [Interp::Lerp, Interp::Slerp, Interp::Spline] {
        for easing in [Easing::Linear, Easing::EaseInOut] {
            let f = walk(&keys, &spec(interp, 10, false, easing), None).unwrap();
            for (k, key) in keys.iter().enumerate() {
                assert_eq!(
                    &f[3 * k],
                    key,
                    "{interp:?} {easing:?}: frame {} is key {k}",
                    3 * k
                );
            }
            assert_ne!(f[1], f[0]);
        }
    }
}

#[test]
fn the_spline_passes_through_its_keys_without_a_kink() {
    let keys = vec![z(10), z(11), z(12), z(13)];
    for looped in [false, true] {
        let n = keys.len();
        for k in 0..n {
            let (from, to) = (k, (k + 1) % n);
            if !looped && k + 1 == n {
                continue;
            }
            assert_eq!(spline_at(&keys, from, to, 0.0, looped), keys[from]);
            let end = spline_at(&keys, from, to, 1.0, looped);
            assert!(dist(&end, &keys[to]) < 1e-4, "segment {k} ends on key {to}");
        }
        // C1 at key 1: the velocity leaving it equals the velocity arriving.
        let h = 1e-3f32;
        let arrive = spline_at(&keys, 0, 1, 1.0 - h, looped);
        let leave = spline_at(&keys, 1, 2, h, looped);
        let v_in: Vec<f64> = keys[1]
            .iter()
            .zip(&arrive)
            .map(|(a, b)| (*a as f64 - *b as f64) / h as f64)
            .collect();
        let v_out: Vec<f64> = leave
            .iter()
            .zip(&keys[1])
            .map(|(a, b)| (*a as f64 - *b as f64) / h as f64)
            .collect();
        let diff = v_in
            .iter()
            .zip(&v_out)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt();
        let size = v_in.iter().map(|a| a * a).sum::<f64>().sqrt();
        assert!(diff < 0.01 * size, "kink at key 1: {diff} vs {size}");
        // The lerp, by contrast, turns a corner there.
        let lin_in: Vec<f32> = lerp(&keys[0], &keys[1], 1.0 - h);
        let lin_out: Vec<f32> = lerp(&keys[1], &keys[2], h);
        let (a, b): (Vec<f64>, Vec<f64>) = keys[1]
            .iter()
            .zip(&lin_in)
            .zip(&lin_out)
            .map(|((k, i), o)| ((*k as f64 - *i as f64), (*o as f64 - *k as f64)))
            .unzip();
        let cos = a.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>()
            / (a.iter().map(|x| x * x).sum::<f64>().sqrt()
                * b.iter().map(|x| x * x).sum::<f64>().sqrt());
        assert!(cos < 0.9);
    }
}

#[test]
fn looped_walks_close_and_the_seam_step_is_like_any_other() {
    // Lerp: within one segment every step is the same, including the one across the seam.
    let keys = vec![z(1), z(2), z(3)];
    let f = walk(&keys, &spec(Interp::Lerp, 30, true, Easing::Linear), None).unwrap();
    let s = steps_around(&f);
    assert_eq!(f[0], keys[0]);
    assert_eq!(f[10], keys[1]);
    assert_eq!(f[20], keys[2]);
    assert!(
        (s[29] - s[28]).abs() < 1e-4 * s[28],
        "seam {} vs {}",
        s[29],
        s[28]
    );
    assert!((s[29] - s[20]).abs() < 1e-4 * s[20]);
    // "Frame N" would be frame 0: the last segment ends on the first key.
    assert_eq!(walk_positions(3, 30, true)[29], (2, 0, 0.9));
    assert_eq!(lerp(&keys[2], &keys[0], 1.0), keys[0]);

    // Spline: the seam step differs from its neighbours no more than steps elsewhere do.
    let keys = vec![z(5), z(6), z(7), z(8)];
    let f = walk(&keys, &spec(Interp::Spline, 48, true, Easing::Linear), None).unwrap();
    let s = steps_around(&f);
    let jump = |i: usize| (s[i] - s[(i + s.len() - 1) % s.len()]).abs();
    let worst_inside = (1..47).map(jump).fold(0.0, f64::max);
    assert!(
        jump(47) <= worst_inside * 1.01 && jump(0) <= worst_inside * 1.01,
        "seam {} / {} vs {worst_inside}",
        jump(47),
        jump(0)
    );
    let mean = s.iter().sum::<f64>() / s.len() as f64;
    assert!(s[47] > 0.5 * mean && s[47] < 1.5 * mean);

    // Slerp about an origin (W's mean): both ends at one distance from it stay at that distance.
    let o: Vec<f32> = z(99).iter().map(|x| x * 0.1).collect();
    let a: Vec<f32> = z(1);
    let b: Vec<f32> = z(2)
        .iter()
        .map(|x| x * (norm(&a) / norm(&z(2))) as f32)
        .collect();
    let (a2, b2): (Vec<f32>, Vec<f32>) = (
        a.iter().zip(&o).map(|(x, c)| x + c).collect(),
        b.iter().zip(&o).map(|(x, c)| x + c).collect(),
    );
    let f = walk(
        &[a2.clone(), b2],
        &spec(Interp::Slerp, 9, true, Easing::Linear),
        Some(&o),
    )
    .unwrap();
    for p in &f {
        assert!((dist(p, &o) - dist(&a2, &o)).abs() < 1e-3 * dist(&a2, &o));
    }
}

#[test]
fn circle_loops_are_periodic_smooth_and_pass_through_both_seeds() {
    let (a, b) = (z(3), z(4));
    let at0 = circle_at(&a, &b, 0.0, None);
    assert!(dist(&at0, &a) < 1e-4);
    assert!(dist(&circle_at(&a, &b, TAU, None), &a) < 1e-3, "period 2π");
    assert!(
        dist(&circle_at(&a, &b, FRAC_PI_2, None), &b) < 1e-3,
        "through b at a quarter turn"
    );
    let f = walk(
        &[a.clone(), b.clone()],
        &spec(Interp::Circle, 90, false, Easing::Linear),
        None,
    )
    .unwrap();
    assert_eq!(f[0], a);
    let s = steps_around(&f);
    let mean = s.iter().sum::<f64>() / s.len() as f64;
    // Two independent 512-d Gaussians are nearly orthogonal and of one size: a near-circle at constant speed.
    for (i, st) in s.iter().enumerate() {
        assert!((st / mean - 1.0).abs() < 0.1, "step {i}: {st} vs {mean}");
    }
    for p in &f {
        assert!(
            (norm(p) / 512f64.sqrt() - 1.0).abs() < 0.1,
            "stays at the typical radius"
        );
    }
    // About an origin: the same loop shifted.
    let o = vec![1.0f32; 512];
    let shifted = circle_at(
        &a.iter().zip(&o).map(|(x, c)| x + c).collect::<Vec<_>>(),
        &b.iter().zip(&o).map(|(x, c)| x + c).collect::<Vec<_>>(),
        1.0,
        Some(&o),
    );
    let plain = circle_at(&a, &b, 1.0, None);
    assert!(
        dist(
            &shifted
                .iter()
                .zip(&o)
                .map(|(x, c)| x - c)
                .collect::<Vec<_>>(),
            &plain
        ) < 1e-3
    );
}

#[test]
fn noise_loops_are_periodic_smooth_gaussian_and_picked_by_the_seeds() {
    let nl = NoiseLoop::new(&[1, 2, 3], 512);
    assert!(dist(&nl.at(0.0), &nl.at(TAU)) < 1e-3, "period 2π");
    let f: Vec<Vec<f32>> = loop_angles(120).into_iter().map(|t| nl.at(t)).collect();
    let s = steps_around(&f);
    let mean = s.iter().sum::<f64>() / s.len() as f64;
    // Smooth: neighbouring steps differ by a few percent at most, across the seam too.
    for i in 0..s.len() {
        let prev = s[(i + s.len() - 1) % s.len()];
        assert!(
            (s[i] - prev).abs() < 0.1 * mean,
            "step {i}: {} after {prev}",
            s[i]
        );
    }
    // Not a circle: the speed varies along the loop.
    let (lo, hi) = s
        .iter()
        .fold((f64::MAX, 0.0f64), |(l, h), &x| (l.min(x), h.max(x)));
    assert!(hi > 1.1 * lo);
    // Every point is a standard Gaussian latent: norm about sqrt(512).
    for p in &f {
        assert!((norm(p) / 512f64.sqrt() - 1.0).abs() < 0.15);
    }
    // Deterministic, and other seeds give another loop.
    assert_eq!(NoiseLoop::new(&[1, 2, 3], 512).at(0.7), nl.at(0.7));
    assert!(dist(&NoiseLoop::new(&[4, 2, 3], 512).at(0.7), &nl.at(0.7)) > 10.0);
    assert_eq!(NoiseLoop::new(&[5], 8).harmonics.len(), 2);
}

#[test]
fn ease_in_out_slows_down_at_the_keys() {
    let keys = vec![z(1), z(2)];
    let lin = walk(&keys, &spec(Interp::Lerp, 21, false, Easing::Linear), None).unwrap();
    let eased = walk(
        &keys,
        &spec(Interp::Lerp, 21, false, Easing::EaseInOut),
        None,
    )
    .unwrap();
    let steps = |f: &[Vec<f32>]| {
        (0..f.len() - 1)
            .map(|i| dist(&f[i], &f[i + 1]))
            .collect::<Vec<_>>()
    };
    let (sl, se) = (steps(&lin), steps(&eased));
    for w in sl.windows(2) {
        assert!((w[0] - w[1]).abs() < 1e-3 * w[0], "linear: constant speed");
    }
    assert!(
        se[0] < 0.1 * se[10] && se[19] < 0.1 * se[9],
        "slow at both keys: {} {} {}",
        se[0],
        se[10],
        se[19]
    );
    assert!(se[9] > sl[9], "faster than linear mid-segment");
    assert_eq!(
        (eased[0].clone(), eased[20].clone()),
        (keys[0].clone(), keys[1].clone())
    );
    assert_eq!(Easing::EaseInOut.apply(0.5), 0.5);
    // Looped with easing: pauses at every key, the seam included.
    let f = walk(
        &[z(1), z(2), z(3)],
        &spec(Interp::Slerp, 30, true, Easing::EaseInOut),
        None,
    )
    .unwrap();
    let s = steps_around(&f);
    assert!(s[29] > s[0] * 0.99 && s[29] < s[5]);
}

#[test]
fn truncation_schedules_hit_their_ends_and_loop_back() {
    let open = trunc_schedule(0.3, 1.7, 8, false, Easing::Linear);
    assert_eq!((open[0], open[7]), (0.3, 1.7));
    for w in open.windows(2) {
        assert!((w[1] - w[0] - 0.2).abs() < 1e-12);
    }
    let neg = trunc_schedule(-1.0, 2.0, 5, false, Easing::EaseInOut);
    assert_eq!((neg[0], neg[2], neg[4]), (-1.0, 0.5, 2.0));
    assert!(neg[1] - neg[0] < neg[2] - neg[1]);
    let looped = trunc_schedule(0.5, 1.5, 20, true, Easing::Linear);
    assert_eq!(looped[0], 0.5);
    assert!((looped[10] - 1.5).abs() < 1e-12);
    assert!(
        (looped[1] - looped[19]).abs() < 1e-12,
        "symmetric about the seam"
    );
    assert_eq!(
        trunc_schedule(0.7, 0.7, 4, true, Easing::Linear),
        vec![0.7; 4]
    );
}

#[test]
fn bad_walks_are_refused() {
    let k3 = vec![z(1), z(2), z(3)];
    let e = walk(&k3, &spec(Interp::Circle, 10, true, Easing::Linear), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("exactly 2 seeds"), "{e}");
    assert!(walk(
        &k3[..2],
        &spec(Interp::Circle, 10, true, Easing::EaseInOut),
        None
    )
    .is_err());
    assert!(walk(&k3, &spec(Interp::Noise, 10, true, Easing::Linear), None).is_err());
    assert!(walk(
        &[z(1), vec![0.0; 3]],
        &spec(Interp::Lerp, 10, false, Easing::Linear),
        None
    )
    .is_err());
    assert!(walk(&[], &spec(Interp::Lerp, 10, false, Easing::Linear), None).is_err());
    assert!(walk(&k3, &spec(Interp::Lerp, 0, false, Easing::Linear), None).is_err());
    assert_eq!("spline".parse::<Interp>().unwrap(), Interp::Spline);
    assert!("bezier".parse::<Interp>().unwrap_err().contains("circle"));
    assert_eq!("W".parse::<WalkSpace>().unwrap(), WalkSpace::W);
    assert_eq!("ease-in-out".parse::<Easing>().unwrap(), Easing::EaseInOut);
}
