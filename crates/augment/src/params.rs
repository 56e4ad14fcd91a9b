//! Per-sample parameter draws and the composed transformation matrices (CPU, f64).

use std::f64::consts::PI;

use crate::rng::Rng;
use crate::AugmentPipe;

/// A homogeneous 2D transform (row-major).
pub type Mat3 = [[f64; 3]; 3];
/// A homogeneous 3D (colour) transform (row-major).
pub type Mat4 = [[f64; 4]; 4];

pub(crate) const I3: Mat3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
pub(crate) const I4: Mat4 = [
    [1.0, 0.0, 0.0, 0.0],
    [0.0, 1.0, 0.0, 0.0],
    [0.0, 0.0, 1.0, 0.0],
    [0.0, 0.0, 0.0, 1.0],
];

pub(crate) fn mul3(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut r = [[0.0; 3]; 3];
    for (i, row) in r.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    r
}

pub(crate) fn mul4(a: &Mat4, b: &Mat4) -> Mat4 {
    let mut r = [[0.0; 4]; 4];
    for (i, row) in r.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..4).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    r
}

pub(crate) fn translate2(tx: f64, ty: f64) -> Mat3 {
    [[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]]
}

pub(crate) fn scale2(sx: f64, sy: f64) -> Mat3 {
    [[sx, 0.0, 0.0], [0.0, sy, 0.0], [0.0, 0.0, 1.0]]
}

/// Counter-clockwise rotation by `theta` in a y-down pixel frame, as the official `rotate2d`.
pub(crate) fn rotate2(theta: f64) -> Mat3 {
    let (s, c) = theta.sin_cos();
    [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]
}

/// A rotation by a multiple of 90 degrees with exact entries (no `cos(pi/2) = 6e-17` residue), so
/// that pixel blits stay exact permutations.
fn rotate2_quarter(quarters: i64) -> Mat3 {
    let q = quarters.rem_euclid(4);
    let (s, c) = match q {
        0 => (0.0, 1.0),
        1 => (1.0, 0.0),
        2 => (0.0, -1.0),
        _ => (-1.0, 0.0),
    };
    [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]
}

fn translate3(t: f64) -> Mat4 {
    let mut m = I4;
    for row in m.iter_mut().take(3) {
        row[3] = t;
    }
    m
}

fn scale3(s: f64) -> Mat4 {
    let mut m = I4;
    for (i, row) in m.iter_mut().enumerate().take(3) {
        row[i] = s;
    }
    m
}

/// The luma axis (1, 1, 1) / sqrt(3) as a homogeneous direction.
fn luma_outer() -> Mat4 {
    let mut m = [[0.0; 4]; 4];
    for row in m.iter_mut().take(3) {
        for v in row.iter_mut().take(3) {
            *v = 1.0 / 3.0;
        }
    }
    m
}

/// Rotation by `theta` around the unit axis `v` (Rodrigues), homogeneous.
fn rotate3(v: [f64; 3], theta: f64) -> Mat4 {
    let (s, c) = theta.sin_cos();
    let cc = 1.0 - c;
    let [x, y, z] = v;
    [
        [x * x * cc + c, x * y * cc - z * s, x * z * cc + y * s, 0.0],
        [y * x * cc + z * s, y * y * cc + c, y * z * cc - x * s, 0.0],
        [z * x * cc - y * s, z * y * cc + x * s, z * z * cc + c, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
}

/// Where the random numbers come from.
pub(crate) enum Source {
    /// The per-sample stream (normal use).
    Rng(Rng),
    /// Every uniform is `u`, every normal is `z`, every gate passes and the post-rotation is
    /// off: the official `debug_percentile` mode (there, with `u = percentile` and
    /// `z = erfinv(2 percentile - 1)`), used to compare with the official implementation.
    #[cfg_attr(not(test), allow(dead_code))]
    Fixed { u: f64, z: f64 },
}

impl Source {
    fn uniform(&mut self) -> f64 {
        match self {
            Source::Rng(r) => r.uniform(),
            Source::Fixed { u, .. } => *u,
        }
    }
    fn normal(&mut self) -> f64 {
        match self {
            Source::Rng(r) => r.normal(),
            Source::Fixed { z, .. } => *z,
        }
    }
    fn gate(&mut self) -> f64 {
        match self {
            Source::Rng(r) => r.uniform(),
            Source::Fixed { .. } => 0.0,
        }
    }
    fn fixed(&self) -> bool {
        matches!(self, Source::Fixed { .. })
    }
}

/// Everything drawn for one sample.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SampleParams {
    /// Output pixel (centred coordinates) -> input pixel (centred coordinates).
    pub g_inv: Mat3,
    /// colour_out = c @ [r, g, b, 1].
    pub color: Mat4,
    /// Whether any general (non-blit) geometric transform fired.
    pub general: bool,
}

/// Draws the parameters of sample `index`. Every random number is always drawn, in a fixed
/// order, whether or not its transform is enabled or fires: switching one transform on or off
/// never changes the others' parameters, and a larger `p` only adds transforms (the gates are
/// `u < strength * p` on the same uniforms).
pub(crate) fn draw(
    pipe: &AugmentPipe,
    p: f64,
    seed: u64,
    index: u64,
    width: usize,
    height: usize,
) -> SampleParams {
    draw_from(
        pipe,
        p,
        Source::Rng(Rng::for_sample(seed, index)),
        width,
        height,
    )
}

pub(crate) fn draw_from(
    pipe: &AugmentPipe,
    p: f64,
    mut r: Source,
    width: usize,
    height: usize,
) -> SampleParams {
    let (w, h) = (width as f64, height as f64);
    let mut g = I3;
    let mut general = false;

    // ---- pixel blitting ----
    // x-flip: with probability xflip*p, pick flip / no flip uniformly.
    let (v, gate) = (r.uniform(), r.gate());
    if pipe.xflip > 0.0 && gate < pipe.xflip * p && v >= 0.5 {
        g = mul3(&g, &scale2(-1.0, 1.0)); // its own inverse
    }
    // 90-degree rotations: with probability rotate90*p, pick 0..3 quarter turns uniformly.
    let (v, gate) = (r.uniform(), r.gate());
    if pipe.rotate90 > 0.0 && gate < pipe.rotate90 * p {
        let q = ((v * 4.0).floor() as i64).min(3);
        if q != 0 {
            // Inverse of the rotation by -q*90deg is the rotation by +q*90deg.
            g = mul3(&g, &rotate2_quarter(q));
        }
    }
    // Integer translation: uniform in +-xint_max of the size, rounded to whole pixels.
    let (vx, vy, gate) = (r.uniform(), r.uniform(), r.gate());
    if pipe.xint > 0.0 && gate < pipe.xint * p {
        let tx = ((vx * 2.0 - 1.0) * pipe.xint_max * w).round_ties_even();
        let ty = ((vy * 2.0 - 1.0) * pipe.xint_max * h).round_ties_even();
        if tx != 0.0 || ty != 0.0 {
            g = mul3(&g, &translate2(-tx, -ty));
        }
    }

    // ---- general geometric transforms ----
    // Isotropic scaling: lognormal, log2 std scale_std.
    let (v, gate) = (r.normal(), r.gate());
    if pipe.scale > 0.0 && gate < pipe.scale * p {
        let s = (v * pipe.scale_std).exp2();
        g = mul3(&g, &scale2(1.0 / s, 1.0 / s));
        general = true;
    }
    // Pre- and post-rotation each fire with p_rot so that P(pre or post) = rotate*p.
    let p_rot = 1.0 - (1.0 - pipe.rotate * p).clamp(0.0, 1.0).sqrt();
    let (v, gate) = (r.uniform(), r.gate());
    if pipe.rotate > 0.0 && gate < p_rot {
        let theta = (v * 2.0 - 1.0) * PI * pipe.rotate_max;
        g = mul3(&g, &rotate2(theta));
        general = true;
    }
    // Anisotropic scaling: x by s, y by 1/s, s lognormal with log2 std aniso_std.
    let (v, gate) = (r.normal(), r.gate());
    if pipe.aniso > 0.0 && gate < pipe.aniso * p {
        let s = (v * pipe.aniso_std).exp2();
        g = mul3(&g, &scale2(1.0 / s, s));
        general = true;
    }
    let (v, gate) = (r.uniform(), r.gate());
    if pipe.rotate > 0.0 && gate < p_rot && !r.fixed() {
        let theta = (v * 2.0 - 1.0) * PI * pipe.rotate_max;
        g = mul3(&g, &rotate2(theta));
        general = true;
    }
    // Fractional translation: normal with std xfrac_std of the size.
    let (vx, vy, gate) = (r.normal(), r.normal(), r.gate());
    if pipe.xfrac > 0.0 && gate < pipe.xfrac * p {
        g = mul3(
            &g,
            &translate2(-vx * pipe.xfrac_std * w, -vy * pipe.xfrac_std * h),
        );
        general = true;
    }

    // ---- colour ----
    let mut c = I4;
    let (v, gate) = (r.normal(), r.gate());
    if pipe.brightness > 0.0 && gate < pipe.brightness * p {
        c = mul4(&translate3(v * pipe.brightness_std), &c);
    }
    let (v, gate) = (r.normal(), r.gate());
    if pipe.contrast > 0.0 && gate < pipe.contrast * p {
        c = mul4(&scale3((v * pipe.contrast_std).exp2()), &c);
    }
    let vv = luma_outer();
    let (v, gate) = (r.uniform(), r.gate());
    if pipe.lumaflip > 0.0 && gate < pipe.lumaflip * p && v >= 0.5 {
        // Householder reflection through the plane orthogonal to the luma axis.
        let mut hh = I4;
        for i in 0..4 {
            for j in 0..4 {
                hh[i][j] -= 2.0 * vv[i][j];
            }
        }
        c = mul4(&hh, &c);
    }
    let (v, gate) = (r.uniform(), r.gate());
    if pipe.hue > 0.0 && gate < pipe.hue * p {
        let theta = (v * 2.0 - 1.0) * PI * pipe.hue_max;
        let a = 1.0 / 3f64.sqrt();
        c = mul4(&rotate3([a, a, a], theta), &c);
    }
    let (v, gate) = (r.normal(), r.gate());
    if pipe.saturation > 0.0 && gate < pipe.saturation * p {
        let s = (v * pipe.saturation_std).exp2();
        let mut m = [[0.0; 4]; 4];
        for i in 0..4 {
            for j in 0..4 {
                m[i][j] = vv[i][j] + (I4[i][j] - vv[i][j]) * s;
            }
        }
        c = mul4(&m, &c);
    }

    SampleParams {
        g_inv: g,
        color: c,
        general,
    }
}

/// What a single-channel (or other non-RGB) image takes from a colour matrix: the official
/// rule averages the RGB rows, giving `x' = a x + b`. (Draw it with hue and saturation off:
/// like the official code, those only exist for colour images.)
pub(crate) fn gray_affine(c: &Mat4) -> (f64, f64) {
    let a = (0..3).map(|r| c[r][0] + c[r][1] + c[r][2]).sum::<f64>() / 3.0;
    let b = (0..3).map(|r| c[r][3]).sum::<f64>() / 3.0;
    (a, b)
}
