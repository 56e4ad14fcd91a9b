//! The Winograd kernels against direct f64 sums of the definitions.

use crate::winograd::{conv3x3, conv3x3_input_grad, conv3x3_weight_grad, Conv3x3};

/// The weights of the convolution that computes the input gradient: `w'[i][o] = flip(w[o][i])`.
fn flip_transpose(w: &[f32], c_out: usize, c_in: usize) -> Vec<f32> {
    let mut t = vec![0f32; w.len()];
    for o in 0..c_out {
        for i in 0..c_in {
            for k in 0..9 {
                t[(i * c_out + o) * 9 + (8 - k)] = w[(o * c_in + i) * 9 + k];
            }
        }
    }
    t
}

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
                                acc += wv
                                    * at(
                                        x,
                                        s,
                                        s.c_in,
                                        n,
                                        i,
                                        yy as isize + ky as isize - 1,
                                        xx as isize + kx as isize - 1,
                                    );
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
                                let gv =
                                    g[((n * s.c_out + o) * s.height + yy) * s.width + xx] as f64;
                                acc += gv
                                    * at(
                                        x,
                                        s,
                                        s.c_in,
                                        n,
                                        i,
                                        yy as isize + ky as isize - 1,
                                        xx as isize + kx as isize - 1,
                                    );
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
    a.iter()
        .zip(b)
        .map(|(p, q)| (*p as f64 - q).abs())
        .fold(0.0, f64::max)
        / scale
}

const SHAPES: [Conv3x3; 6] = [
    Conv3x3 {
        batch: 1,
        c_in: 1,
        c_out: 1,
        height: 1,
        width: 1,
    },
    Conv3x3 {
        batch: 2,
        c_in: 3,
        c_out: 5,
        height: 4,
        width: 4,
    },
    Conv3x3 {
        batch: 3,
        c_in: 7,
        c_out: 4,
        height: 5,
        width: 9,
    },
    Conv3x3 {
        batch: 1,
        c_in: 16,
        c_out: 24,
        height: 13,
        width: 6,
    },
    Conv3x3 {
        batch: 2,
        c_in: 32,
        c_out: 8,
        height: 32,
        width: 32,
    },
    Conv3x3 {
        batch: 4,
        c_in: 9,
        c_out: 17,
        height: 2,
        width: 3,
    },
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
        assert!(
            (lhs - rhs).abs() <= 1e-4 * lhs.abs().max(1.0),
            "{s:?}: {lhs} vs {rhs}"
        );
        // And elementwise against the direct convolution with flipped, transposed weights.
        let t = Conv3x3 {
            c_in: s.c_out,
            c_out: s.c_in,
            ..*s
        };
        let e = rel_err(&dx, &direct(&g, &flip_transpose(&w, s.c_out, s.c_in), &t));
        assert!(e < 1e-5, "{s:?}: relative error {e}");
    }
}

#[test]
fn weight_gradient_matches_the_direct_sum() {
    for (k, s) in SHAPES.iter().enumerate() {
        let x = values(s.batch * s.c_in * s.height * s.width, 3 + k as u64);
        let g = values(s.batch * s.c_out * s.height * s.width, 30 + k as u64);
        let e = rel_err(
            &conv3x3_weight_grad(&x, &g, *s),
            &direct_weight_grad(&x, &g, s),
        );
        assert!(e < 1e-5, "{s:?}: relative error {e}");
    }
}

#[test]
fn single_image_runs_threads_inside_the_products() {
    // batch 1 takes the other parallel branch; it must give the batch-2 result for each image.
    let s = Conv3x3 {
        batch: 2,
        c_in: 12,
        c_out: 10,
        height: 11,
        width: 8,
    };
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
    let s = Conv3x3 {
        batch: 1,
        c_in: 2,
        c_out: 2,
        height: 3,
        width: 3,
    };
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
                                    let iy =
                                        (oy * g.stride[0] + ky) as isize - g.padding[0] as isize;
                                    let ix =
                                        (ox * g.stride[1] + kx) as isize - g.padding[1] as isize;
                                    if iy < 0
                                        || ix < 0
                                        || iy >= g.height as isize
                                        || ix >= g.width as isize
                                    {
                                        continue;
                                    }
                                    let xv = x[((n * g.c_in + i) * g.height + iy as usize)
                                        * g.width
                                        + ix as usize];
                                    acc += xv as f64
                                        * w[((o * g.c_in + i) * g.kh + ky) * g.kw + kx] as f64;
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
        let g =
            |batch, c_in, c_out, height, width, kh, kw, stride: [usize; 2], padding: [usize; 2]| {
                ConvGeom {
                    batch,
                    c_in,
                    c_out,
                    height,
                    width,
                    kh,
                    kw,
                    stride,
                    padding,
                }
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
            let dot = |a: &[f32], b: &[f32]| {
                a.iter()
                    .zip(b)
                    .map(|(p, q)| *p as f64 * *q as f64)
                    .sum::<f64>()
            };
            let y: Vec<f32> = direct(&x, &w, g).into_iter().map(|v| v as f32).collect();
            let reference = dot(&y, &gy);
            let via_x = dot(&x, &conv_adjoint(&gy, &w, *g));
            let via_w = dot(&w, &conv_weight_grad(&x, &gy, *g));
            for v in [via_x, via_w] {
                assert!(
                    (v - reference).abs() <= 1e-4 * reference.abs().max(1.0),
                    "{g:?}: {v} vs {reference}"
                );
            }
            // Elementwise: each weight-gradient entry is the forward of a one-hot weight dotted with gy.
            let gw = conv_weight_grad(&x, &gy, *g);
            for idx in [0, gw.len() / 2, gw.len() - 1] {
                let mut e = vec![0f32; w.len()];
                e[idx] = 1.0;
                let want: f64 = direct(&x, &e, g)
                    .iter()
                    .zip(&gy)
                    .map(|(a, b)| a * *b as f64)
                    .sum();
                assert!(
                    (gw[idx] as f64 - want).abs() <= 1e-4 * want.abs().max(1.0),
                    "{g:?}[{idx}]"
                );
            }
        }
    }

    #[test]
    fn a_kernel_larger_than_the_padded_input_has_no_output() {
        let g = ConvGeom {
            batch: 1,
            c_in: 1,
            c_out: 1,
            height: 2,
            width: 2,
            kh: 5,
            kw: 5,
            stride: [1, 1],
            padding: [1, 1],
        };
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
        let (hp, wp) = (
            (hu as isize + y0 + y1) as usize,
            (wu as isize + x0 + x1) as usize,
        );
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
                            acc += g.kernel[ty * g.kw + tx] as f64
                                * padded(oy * g.down + ty, ox * g.down + tx);
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
            planes: 3,
            height: 7,
            width: 6,
            up,
            down,
            pad,
            kernel: kernel.clone(),
            kh,
            kw,
            separable: None,
        };
        // Separable: the same geometry with the kernel given as an outer product too.
        let (ky, kx) = (values(4, 11), values(3, 12));
        let outer: Vec<f32> = ky
            .iter()
            .flat_map(|a| kx.iter().map(move |b| a * b))
            .collect();
        let sep = |up, down, pad: [isize; 4]| FirGeom {
            separable: Some((ky.clone(), kx.clone())),
            ..g(up, down, pad, &outer, 4, 3)
        };
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
            let err = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (*a as f64 - b).abs())
                .fold(0.0, f64::max);
            assert!(err < 1e-5, "{g:?}: error {err}");
        }
    }

    #[test]
    fn fir_adjoint_satisfies_the_inner_product_identity() {
        for (k, g) in cases().iter().enumerate() {
            let [oh, ow] = g.output().unwrap();
            let x = values(g.planes * g.height * g.width, 100 + k as u64);
            let gy = values(g.planes * oh * ow, 110 + k as u64);
            let lhs: f64 = literal(&x, g)
                .iter()
                .zip(&gy)
                .map(|(a, b)| a * *b as f64)
                .sum();
            let rhs: f64 = fir_adjoint(&gy, g)
                .iter()
                .zip(&x)
                .map(|(a, b)| *a as f64 * *b as f64)
                .sum();
            assert!(
                (lhs - rhs).abs() < 1e-4 * lhs.abs().max(1.0),
                "{g:?}: {lhs} vs {rhs}"
            );
        }
    }
}

mod bias_act {
    use super::values;
    use crate::bias_act::{bias_act, bias_act_grad, channel_sums, BiasAct};

    /// The definition, one value at a time, in f64.
    fn reference(x: f32, b: f32, p: &BiasAct) -> f64 {
        let v = x as f64 + b as f64;
        let v = if v >= 0.0 { v } else { v * p.slope as f64 } * p.gain as f64;
        p.clamp.map_or(v, |c| v.clamp(-(c as f64), c as f64))
    }

    const CASES: [BiasAct; 4] = [
        BiasAct {
            channels: 5,
            plane: 37,
            slope: 0.2,
            gain: std::f32::consts::SQRT_2,
            clamp: Some(0.9),
        },
        BiasAct {
            channels: 3,
            plane: 1,
            slope: 1.0,
            gain: 1.0,
            clamp: None,
        },
        BiasAct {
            channels: 7,
            plane: 4096,
            slope: 0.2,
            gain: 2.0,
            clamp: None,
        },
        BiasAct {
            channels: 2,
            plane: 9,
            slope: 1.0,
            gain: 0.5,
            clamp: Some(0.3),
        },
    ];

    #[test]
    fn forward_matches_the_definition() {
        for (k, p) in CASES.iter().enumerate() {
            let batch = 3;
            let x = values(batch * p.channels * p.plane, 11 + k as u64);
            let b = values(p.channels, 12 + k as u64);
            let y = bias_act(&x, Some(&b), p);
            for (i, (&yv, &xv)) in y.iter().zip(&x).enumerate() {
                let want = reference(xv, b[(i / p.plane) % p.channels], p);
                assert!(
                    (yv as f64 - want).abs() <= 1e-6 * want.abs().max(1.0),
                    "{p:?} at {i}: {yv} vs {want}"
                );
            }
            let y0 = bias_act(&x, None, p);
            assert!(y0
                .iter()
                .zip(&x)
                .all(|(&yv, &xv)| (yv as f64 - reference(xv, 0.0, p)).abs() <= 1e-6));
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        // Central differences of <bias_act(x, b), r> with respect to every x and b, away from the
        // kinks (|x + b| and the clamp edges are kept at least 1e-2 from them by the step 1e-3).
        for (k, p) in CASES.iter().enumerate() {
            let p = BiasAct {
                plane: p.plane.min(6),
                ..*p
            };
            let batch = 2;
            let x = values(batch * p.channels * p.plane, 21 + k as u64);
            let b = values(p.channels, 22 + k as u64);
            let r = values(x.len(), 23 + k as u64);
            let loss = |x: &[f32], b: &[f32]| -> f64 {
                bias_act(x, Some(b), &p)
                    .iter()
                    .zip(&r)
                    .map(|(y, r)| *y as f64 * *r as f64)
                    .sum()
            };
            let y = bias_act(&x, Some(&b), &p);
            let dx = bias_act_grad(&r, &y, &p);
            let db = channel_sums(&dx, p.channels, p.plane);
            let h = 1e-3f32;
            let near_kink = |pre: f32| {
                let out = if pre >= 0.0 { pre } else { pre * p.slope } * p.gain;
                pre.abs() < 1e-2 || p.clamp.is_some_and(|c| (out.abs() - c).abs() < 1e-2)
            };
            for i in 0..x.len() {
                let pre = x[i] + b[(i / p.plane) % p.channels];
                if near_kink(pre) {
                    continue;
                }
                let (mut xp, mut xm) = (x.clone(), x.clone());
                xp[i] += h;
                xm[i] -= h;
                let fd = (loss(&xp, &b) - loss(&xm, &b)) / (2.0 * h as f64);
                assert!(
                    (fd - dx[i] as f64).abs() < 1e-2,
                    "{p:?} dx[{i}]: {} vs {fd}",
                    dx[i]
                );
            }
            // The bias gradient is the channel sum of dx.
            for c in 0..p.channels {
                let want: f64 = (0..x.len())
                    .filter(|i| (i / p.plane) % p.channels == c)
                    .map(|i| dx[i] as f64)
                    .sum();
                assert!(
                    (db[c] as f64 - want).abs() < 1e-5,
                    "{p:?} db[{c}]: {} vs {want}",
                    db[c]
                );
            }
        }
    }

    #[test]
    fn channel_sums_cover_large_batches() {
        // More samples than one parallel task holds.
        let (channels, plane, batch) = (3, 5000, 9);
        let d = values(batch * channels * plane, 5);
        let s = channel_sums(&d, channels, plane);
        for (c, got) in s.iter().enumerate() {
            let want: f64 = (0..batch)
                .flat_map(|n| d[(n * channels + c) * plane..][..plane].iter())
                .map(|v| *v as f64)
                .sum();
            assert!(
                (*got as f64 - want).abs() < 1e-2,
                "channel {c}: {got} vs {want}"
            );
        }
    }
}

mod adam {
    use super::values;
    use crate::adam::{adam_step, AdamStep};

    #[test]
    fn steps_match_the_formula_in_f64() {
        let n = 40_000; // more than one parallel chunk
        let mut p = values(n, 1);
        let (mut m, mut v) = (vec![0f32; n], vec![0f32; n]);
        let (mut pr, mut mr, mut vr): (Vec<f64>, Vec<f64>, Vec<f64>) = (
            p.iter().map(|x| *x as f64).collect(),
            vec![0.0; n],
            vec![0.0; n],
        );
        let (lr, b1, b2, eps) = (2e-3f32, 0.0f32, 0.99f32, 1e-8f32);
        for step in 1..=3u32 {
            let g = values(n, 10 + step as u64);
            p = adam_step(
                &p,
                &g,
                &mut m,
                &mut v,
                AdamStep {
                    lr,
                    beta1: b1,
                    beta2: b2,
                    eps,
                    step,
                },
            );
            let (b1, b2) = (b1 as f64, b2 as f64);
            for i in 0..n {
                let gi = g[i] as f64;
                mr[i] = b1 * mr[i] + (1.0 - b1) * gi;
                vr[i] = b2 * vr[i] + (1.0 - b2) * gi * gi;
                let denom = vr[i].sqrt() / (1.0 - b2.powi(step as i32)).sqrt() + eps as f64;
                pr[i] -= lr as f64 / (1.0 - b1.powi(step as i32)) * mr[i] / denom;
            }
        }
        let worst = p
            .iter()
            .zip(&pr)
            .map(|(a, b)| (*a as f64 - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-6, "largest parameter error {worst}");
        assert!(m.iter().zip(&mr).all(|(a, b)| (*a as f64 - b).abs() < 1e-6));
        assert!(v.iter().zip(&vr).all(|(a, b)| (*a as f64 - b).abs() < 1e-6));
    }
}

#[test]
fn swap_leading_moves_every_block() {
    let (a, b, inner) = (5, 3, 9);
    let x: Vec<f32> = (0..a * b * inner).map(|v| v as f32).collect();
    let y = crate::layout::swap_leading(&x, a, b, inner);
    for i in 0..a {
        for j in 0..b {
            for k in 0..inner {
                assert_eq!(y[(j * a + i) * inner + k], x[(i * b + j) * inner + k]);
            }
        }
    }
    assert_eq!(
        crate::layout::swap_leading(&y, b, a, inner),
        x,
        "swapping twice is the identity"
    );
}

mod filled {
    use crate::filled::{par_rows, par_zeros};

    #[test]
    fn rows_land_in_order_and_zeros_cover_odd_lengths() {
        let v = par_rows(50, 7, 3, |r| (0..7).map(move |k| (r * 7 + k) as f32));
        assert!(v.iter().enumerate().all(|(i, x)| *x == i as f32));
        for len in [0, 1, 16383, 16384, 40000] {
            let z = par_zeros(len);
            assert_eq!(z.len(), len);
            assert!(z.iter().all(|x| *x == 0.0));
        }
    }

    #[test]
    #[should_panic(expected = "yielded 2 of 3 values")]
    fn a_short_row_is_refused() {
        par_rows(4, 3, 1, |_| [1.0, 2.0].into_iter());
    }
}

mod rows {
    use super::values;
    use crate::rows::{row_dots, scale_rows};

    #[test]
    fn scaling_and_dots_match_their_definitions() {
        for (rows, plane) in [(7, 1), (12, 37), (3, 4096)] {
            let x = values(rows * plane, 1);
            let s = values(rows, 2);
            let y = scale_rows(&x, &s, plane);
            assert!(y.iter().enumerate().all(|(i, v)| *v == x[i] * s[i / plane]));
            let b = values(rows * plane, 3);
            let d = row_dots(&x, &b, plane);
            for r in 0..rows {
                let want: f64 = (0..plane)
                    .map(|k| x[r * plane + k] as f64 * b[r * plane + k] as f64)
                    .sum();
                assert!(
                    (d[r] as f64 - want).abs() < 1e-4 * want.abs().max(1.0),
                    "row {r}: {} vs {want}",
                    d[r]
                );
            }
        }
    }
}
