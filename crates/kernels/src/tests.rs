//! The Winograd kernels against direct f64 sums of the definitions.

use crate::winograd::{conv3x3, conv3x3_input_grad, conv3x3_weight_grad, flip_transpose, Conv3x3};

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn at(x: &[f32], s: &Conv3x3, c: usize, n: usize, ch: usize, y: isize, xx: isize) -> f64 {
    if y < 0 || xx < 0 || y >= s.height as isize || xx >= s.width as isize {
        return 0.0;
    }
    x[((n * c + ch) * s.height + y as usize) * s.width + xx as usize] as f64
}

fn direct(x: &[f32], w: &[f32], s: &Conv3x3) -> Vec<f64> {
    let mut y = vec![0f64; s.batch * s.c_out * s.height * s.width];
    for n in 0..s.batch {
        for o in 0..s.c_out {
            for yy in 0..s.height {
                for xx in 0..s.width {
                    let mut acc = 0f64;
                    for i in 0..s.c_in {
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let wv = w[((o * s.c_in + i) * 3 + ky) * 3 + kx] as f64;
                                acc += wv * at(x, s, s.c_in, n, i, yy as isize + ky as isize - 1, xx as isize + kx as isize - 1);
                            }
                        }
                    }
                    y[((n * s.c_out + o) * s.height + yy) * s.width + xx] = acc;
                }
            }
        }
    }
    y
}

fn direct_weight_grad(x: &[f32], g: &[f32], s: &Conv3x3) -> Vec<f64> {
    let mut dw = vec![0f64; s.c_out * s.c_in * 9];
    for o in 0..s.c_out {
        for i in 0..s.c_in {
            for ky in 0..3 {
                for kx in 0..3 {
                    let mut acc = 0f64;
                    for n in 0..s.batch {
                        for yy in 0..s.height {
                            for xx in 0..s.width {
                                let gv = g[((n * s.c_out + o) * s.height + yy) * s.width + xx] as f64;
                                acc += gv * at(x, s, s.c_in, n, i, yy as isize + ky as isize - 1, xx as isize + kx as isize - 1);
                            }
                        }
                    }
                    dw[((o * s.c_in + i) * 3 + ky) * 3 + kx] = acc;
                }
            }
        }
    }
    dw
}

/// Largest |a - b| relative to the largest |b|.
fn rel_err(a: &[f32], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-30);
    a.iter().zip(b).map(|(p, q)| (*p as f64 - q).abs()).fold(0.0, f64::max) / scale
}

const SHAPES: [Conv3x3; 6] = [
    Conv3x3 { batch: 1, c_in: 1, c_out: 1, height: 1, width: 1 },
    Conv3x3 { batch: 2, c_in: 3, c_out: 5, height: 4, width: 4 },
    Conv3x3 { batch: 3, c_in: 7, c_out: 4, height: 5, width: 9 },
    Conv3x3 { batch: 1, c_in: 16, c_out: 24, height: 13, width: 6 },
    Conv3x3 { batch: 2, c_in: 32, c_out: 8, height: 32, width: 32 },
    Conv3x3 { batch: 4, c_in: 9, c_out: 17, height: 2, width: 3 },
];

#[test]
fn forward_matches_the_direct_sum() {
    for (k, s) in SHAPES.iter().enumerate() {
        let x = values(s.batch * s.c_in * s.height * s.width, 1 + k as u64);
        let w = values(s.c_out * s.c_in * 9, 100 + k as u64);
        let e = rel_err(&conv3x3(&x, &w, *s), &direct(&x, &w, s));
        assert!(e < 1e-5, "{s:?}: relative error {e}");
    }
}

#[test]
fn input_gradient_is_the_adjoint_of_the_forward() {
    // <conv(x), g> = <x, conv_input_grad(g)> for any x, g.
    for (k, s) in SHAPES.iter().enumerate() {
        let x = values(s.batch * s.c_in * s.height * s.width, 7 + k as u64);
        let w = values(s.c_out * s.c_in * 9, 70 + k as u64);
        let g = values(s.batch * s.c_out * s.height * s.width, 700 + k as u64);
        let y = direct(&x, &w, s);
        let lhs: f64 = y.iter().zip(&g).map(|(a, b)| a * *b as f64).sum();
        let dx = conv3x3_input_grad(&g, &w, *s);
        let rhs: f64 = dx.iter().zip(&x).map(|(a, b)| *a as f64 * *b as f64).sum();
        assert!((lhs - rhs).abs() <= 1e-4 * lhs.abs().max(1.0), "{s:?}: {lhs} vs {rhs}");
        // And elementwise against the direct convolution with flipped, transposed weights.
        let t = Conv3x3 { c_in: s.c_out, c_out: s.c_in, ..*s };
        let e = rel_err(&dx, &direct(&g, &flip_transpose(&w, s.c_out, s.c_in), &t));
        assert!(e < 1e-5, "{s:?}: relative error {e}");
    }
}

#[test]
fn weight_gradient_matches_the_direct_sum() {
    for (k, s) in SHAPES.iter().enumerate() {
        let x = values(s.batch * s.c_in * s.height * s.width, 3 + k as u64);
        let g = values(s.batch * s.c_out * s.height * s.width, 30 + k as u64);
        let e = rel_err(&conv3x3_weight_grad(&x, &g, *s), &direct_weight_grad(&x, &g, s));
        assert!(e < 1e-5, "{s:?}: relative error {e}");
    }
}

#[test]
fn single_image_runs_threads_inside_the_products() {
    // batch 1 takes the other parallel branch; it must give the batch-2 result for each image.
    let s = Conv3x3 { batch: 2, c_in: 12, c_out: 10, height: 11, width: 8 };
    let x = values(s.batch * s.c_in * 88, 5);
    let w = values(s.c_out * s.c_in * 9, 6);
    let both = conv3x3(&x, &w, s);
    let one = Conv3x3 { batch: 1, ..s };
    let half = s.c_in * 88;
    let first = conv3x3(&x[..half], &w, one);
    let second = conv3x3(&x[half..], &w, one);
    let joined: Vec<f32> = first.into_iter().chain(second).collect();
    assert_eq!(both, joined);
}

#[test]
#[should_panic(expected = "input size")]
fn wrong_sizes_are_refused() {
    let s = Conv3x3 { batch: 1, c_in: 2, c_out: 2, height: 3, width: 3 };
    conv3x3(&[0.0; 5], &[0.0; 36], s);
}
