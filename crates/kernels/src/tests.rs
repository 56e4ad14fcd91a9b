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

mod general {
    use super::{rel_err, values};
    use crate::im2col::{conv, conv_adjoint, conv_weight_grad, ConvGeom};

    fn direct(x: &[f32], w: &[f32], g: &ConvGeom) -> Vec<f64> {
        let [oh, ow] = g.output().unwrap();
        let mut y = vec![0f64; g.batch * g.c_out * oh * ow];
        for n in 0..g.batch {
            for o in 0..g.c_out {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut acc = 0f64;
                        for i in 0..g.c_in {
                            for ky in 0..g.kh {
                                for kx in 0..g.kw {
                                    let iy = (oy * g.stride[0] + ky) as isize - g.padding[0] as isize;
                                    let ix = (ox * g.stride[1] + kx) as isize - g.padding[1] as isize;
                                    if iy < 0 || ix < 0 || iy >= g.height as isize || ix >= g.width as isize {
                                        continue;
                                    }
                                    let xv = x[((n * g.c_in + i) * g.height + iy as usize) * g.width + ix as usize];
                                    acc += xv as f64 * w[((o * g.c_in + i) * g.kh + ky) * g.kw + kx] as f64;
                                }
                            }
                        }
                        y[((n * g.c_out + o) * oh + oy) * ow + ox] = acc;
                    }
                }
            }
        }
        y
    }

    fn geoms() -> Vec<ConvGeom> {
        let g = |batch, c_in, c_out, height, width, kh, kw, stride: [usize; 2], padding: [usize; 2]| ConvGeom {
            batch, c_in, c_out, height, width, kh, kw, stride, padding,
        };
        vec![
            g(2, 3, 4, 8, 8, 3, 3, [2, 2], [0, 0]),
            g(3, 5, 2, 9, 7, 3, 3, [2, 2], [1, 1]),
            g(1, 4, 6, 6, 6, 1, 1, [1, 1], [0, 0]),
            g(2, 2, 3, 7, 10, 4, 4, [2, 2], [1, 2]),
            g(4, 8, 8, 5, 5, 3, 3, [1, 1], [2, 2]),
            g(1, 3, 2, 3, 3, 3, 3, [1, 2], [0, 1]),
        ]
    }

    #[test]
    fn forward_matches_the_direct_sum() {
        for (k, g) in geoms().iter().enumerate() {
            let x = values(g.batch * g.c_in * g.height * g.width, 40 + k as u64);
            let w = values(g.c_out * g.c_in * g.kh * g.kw, 50 + k as u64);
            let e = rel_err(&conv(&x, &w, *g), &direct(&x, &w, g));
            assert!(e < 1e-6, "{g:?}: relative error {e}");
        }
    }

    #[test]
    fn adjoint_and_weight_gradient_satisfy_the_inner_product_identities() {
        // <conv(x, w), gy> = <x, conv_adjoint(gy, w)> = <w, conv_weight_grad(x, gy)>.
        for (k, g) in geoms().iter().enumerate() {
            let [oh, ow] = g.output().unwrap();
            let x = values(g.batch * g.c_in * g.height * g.width, 60 + k as u64);
            let w = values(g.c_out * g.c_in * g.kh * g.kw, 70 + k as u64);
            let gy = values(g.batch * g.c_out * oh * ow, 80 + k as u64);
            let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(p, q)| *p as f64 * *q as f64).sum::<f64>();
            let y: Vec<f32> = direct(&x, &w, g).into_iter().map(|v| v as f32).collect();
            let reference = dot(&y, &gy);
            let via_x = dot(&x, &conv_adjoint(&gy, &w, *g));
            let via_w = dot(&w, &conv_weight_grad(&x, &gy, *g));
            for v in [via_x, via_w] {
                assert!((v - reference).abs() <= 1e-4 * reference.abs().max(1.0), "{g:?}: {v} vs {reference}");
            }
            // Elementwise: each weight-gradient entry is the forward of a one-hot weight dotted with gy.
            let gw = conv_weight_grad(&x, &gy, *g);
            for idx in [0, gw.len() / 2, gw.len() - 1] {
                let mut e = vec![0f32; w.len()];
                e[idx] = 1.0;
                let want: f64 = direct(&x, &e, g).iter().zip(&gy).map(|(a, b)| a * *b as f64).sum();
                assert!((gw[idx] as f64 - want).abs() <= 1e-4 * want.abs().max(1.0), "{g:?}[{idx}]");
            }
        }
    }

    #[test]
    fn a_kernel_larger_than_the_padded_input_has_no_output() {
        let g = ConvGeom { batch: 1, c_in: 1, c_out: 1, height: 2, width: 2, kh: 5, kw: 5, stride: [1, 1], padding: [1, 1] };
        assert_eq!(g.output(), None);
    }
}

mod resampling {
    use super::values;
    use crate::fir::{fir, fir_adjoint, FirGeom};

    /// The definition, step by step: zero insertion, pad or crop, correlation, subsampling.
    fn literal(x: &[f32], g: &FirGeom) -> Vec<f64> {
        let [x0, x1, y0, y1] = g.pad;
        let (hu, wu) = (g.height * g.up, g.width * g.up);
        let (hp, wp) = ((hu as isize + y0 + y1) as usize, (wu as isize + x0 + x1) as usize);
        let [oh, ow] = g.output().unwrap();
        let mut out = Vec::new();
        for p in 0..g.planes {
            let padded = |i: usize, j: usize| -> f64 {
                let (iu, ju) = (i as isize - y0, j as isize - x0);
                if iu < 0 || ju < 0 || iu >= hu as isize || ju >= wu as isize {
                    return 0.0;
                }
                let (iu, ju) = (iu as usize, ju as usize);
                if iu % g.up != 0 || ju % g.up != 0 {
                    return 0.0;
                }
                x[(p * g.height + iu / g.up) * g.width + ju / g.up] as f64
            };
            assert!(hp >= g.kh && wp >= g.kw);
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = 0f64;
                    for ty in 0..g.kh {
                        for tx in 0..g.kw {
                            acc += g.kernel[ty * g.kw + tx] as f64 * padded(oy * g.down + ty, ox * g.down + tx);
                        }
                    }
                    out.push(acc);
                }
            }
        }
        out
    }

    fn cases() -> Vec<FirGeom> {
        let k4 = values(16, 9);
        let k3 = values(12, 10);
        let g = |up, down, pad: [isize; 4], kernel: &Vec<f32>, kh, kw| FirGeom {
            planes: 3, height: 7, width: 6, up, down, pad, kernel: kernel.clone(), kh, kw, separable: None,
        };
        // Separable: the same geometry with the kernel given as an outer product too.
        let (ky, kx) = (values(4, 11), values(3, 12));
        let outer: Vec<f32> = ky.iter().flat_map(|a| kx.iter().map(move |b| a * b)).collect();
        let sep = |up, down, pad: [isize; 4]| FirGeom { separable: Some((ky.clone(), kx.clone())), ..g(up, down, pad, &outer, 4, 3) };
        vec![
            sep(1, 1, [1, 1, 2, 1]),
            sep(1, 2, [1, 0, 1, 1]),
            sep(2, 1, [2, 1, 2, 1]),
            sep(3, 2, [-1, 2, 0, 1]),
            g(1, 1, [1, 2, 2, 1], &k4, 4, 4),
            g(1, 2, [1, 1, 1, 1], &k4, 4, 4),
            g(2, 1, [2, 1, 2, 1], &k4, 4, 4),
            g(2, 2, [0, 0, 0, 0], &k4, 4, 4),
            g(1, 1, [-1, 2, 0, -2], &k3, 3, 4),
            g(3, 2, [1, -1, 2, 0], &k3, 4, 3),
        ]
    }

    #[test]
    fn fir_matches_the_literal_definition() {
        for (k, g) in cases().iter().enumerate() {
            let x = values(g.planes * g.height * g.width, 90 + k as u64);
            let got = fir(&x, g);
            let want = literal(&x, g);
            assert_eq!(got.len(), want.len(), "{g:?}");
            let err = got.iter().zip(&want).map(|(a, b)| (*a as f64 - b).abs()).fold(0.0, f64::max);
            assert!(err < 1e-5, "{g:?}: error {err}");
        }
    }

    #[test]
    fn fir_adjoint_satisfies_the_inner_product_identity() {
        for (k, g) in cases().iter().enumerate() {
            let [oh, ow] = g.output().unwrap();
            let x = values(g.planes * g.height * g.width, 100 + k as u64);
            let gy = values(g.planes * oh * ow, 110 + k as u64);
            let lhs: f64 = literal(&x, g).iter().zip(&gy).map(|(a, b)| a * *b as f64).sum();
            let rhs: f64 = fir_adjoint(&gy, g).iter().zip(&x).map(|(a, b)| *a as f64 * *b as f64).sum();
            assert!((lhs - rhs).abs() < 1e-4 * lhs.abs().max(1.0), "{g:?}: {lhs} vs {rhs}");
        }
    }
}
