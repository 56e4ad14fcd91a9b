//! Colour: sRGB with straight alpha as the exchange type, linear light and OKLab for mixing and clustering.

/// An sRGB-encoded colour with straight (non-premultiplied) alpha, each component in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rgba {
    pub r: f32,
    pub g: f32,
    pub b: f32,
    pub a: f32,
}

/// OKLab coordinates (L in [0,1], a and b roughly in [-0.4, 0.4]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Oklab {
    pub l: f32,
    pub a: f32,
    pub b: f32,
}

impl Oklab {
    /// Euclidean distance, the usual perceptual difference measure in OKLab.
    pub fn distance(self, other: Oklab) -> f32 {
        let (dl, da, db) = (self.l - other.l, self.a - other.a, self.b - other.b);
        (dl * dl + da * da + db * db).sqrt()
    }
}

/// The standard piecewise sRGB decoding (IEC 61966-2-1).
pub fn srgb_to_linear(c: f32) -> f32 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        libm::powf((c + 0.055) / 1.055, 2.4)
    }
}

/// The standard piecewise sRGB encoding (inverse of `srgb_to_linear`).
pub fn linear_to_srgb(c: f32) -> f32 {
    if c <= 0.003_130_8 {
        c * 12.92
    } else {
        1.055 * libm::powf(c, 1.0 / 2.4) - 0.055
    }
}

/// Clamps to [0, 1]; NaN becomes 0 so bad arithmetic never leaks out as NaN pixels.
fn unit(v: f32) -> f32 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(0.0, 1.0)
    }
}

// Björn Ottosson's OKLab matrices (linear sRGB -> LMS -> OKLab and back), applied in f64 for accuracy.
fn linear_to_oklab([r, g, b]: [f64; 3]) -> [f64; 3] {
    let l = 0.412_221_470_8 * r + 0.536_332_536_3 * g + 0.051_445_992_9 * b;
    let m = 0.211_903_498_2 * r + 0.680_699_545_1 * g + 0.107_396_956_6 * b;
    let s = 0.088_302_461_9 * r + 0.281_718_837_6 * g + 0.629_978_700_5 * b;
    let (l, m, s) = (libm::cbrt(l), libm::cbrt(m), libm::cbrt(s)); // libm: identical bits on every platform
    [
        0.210_454_255_3 * l + 0.793_617_785_0 * m - 0.004_072_046_8 * s,
        1.977_998_495_1 * l - 2.428_592_205_0 * m + 0.450_593_709_9 * s,
        0.025_904_037_1 * l + 0.782_771_766_2 * m - 0.808_675_766_0 * s,
    ]
}

fn oklab_to_linear([ll, a, b]: [f64; 3]) -> [f64; 3] {
    let l = ll + 0.396_337_777_4 * a + 0.215_803_757_3 * b;
    let m = ll - 0.105_561_345_8 * a - 0.063_854_172_8 * b;
    let s = ll - 0.089_484_177_5 * a - 1.291_485_548_0 * b;
    let (l, m, s) = (l * l * l, m * m * m, s * s * s);
    [
        4.076_741_662_1 * l - 3.307_711_591_3 * m + 0.230_969_929_2 * s,
        -1.268_438_004_6 * l + 2.609_757_401_1 * m - 0.341_319_396_5 * s,
        -0.004_196_086_3 * l - 0.703_418_614_7 * m + 1.707_614_701_0 * s,
    ]
}

/// OKLab of a linear-light sRGB triple (skips the sRGB encode/decode when the caller has linear values).
pub(crate) fn oklab_from_linear([r, g, b]: [f32; 3]) -> Oklab {
    let [l, a, b] = linear_to_oklab([r as f64, g as f64, b as f64]);
    Oklab {
        l: l as f32,
        a: a as f32,
        b: b as f32,
    }
}

/// Names `parse` accepts besides hex.
const NAMES: &[(&str, Rgba)] = &[
    ("black", Rgba::BLACK),
    ("white", Rgba::WHITE),
    (
        "gray",
        Rgba {
            r: 0.5,
            g: 0.5,
            b: 0.5,
            a: 1.0,
        },
    ),
    (
        "grey",
        Rgba {
            r: 0.5,
            g: 0.5,
            b: 0.5,
            a: 1.0,
        },
    ),
    (
        "red",
        Rgba {
            r: 1.0,
            g: 0.0,
            b: 0.0,
            a: 1.0,
        },
    ),
    (
        "green",
        Rgba {
            r: 0.0,
            g: 1.0,
            b: 0.0,
            a: 1.0,
        },
    ),
    (
        "blue",
        Rgba {
            r: 0.0,
            g: 0.0,
            b: 1.0,
            a: 1.0,
        },
    ),
    ("transparent", Rgba::TRANSPARENT),
];

impl Rgba {
    pub const BLACK: Rgba = Rgba {
        r: 0.0,
        g: 0.0,
        b: 0.0,
        a: 1.0,
    };
    pub const WHITE: Rgba = Rgba {
        r: 1.0,
        g: 1.0,
        b: 1.0,
        a: 1.0,
    };
    pub const TRANSPARENT: Rgba = Rgba {
        r: 0.0,
        g: 0.0,
        b: 0.0,
        a: 0.0,
    };
    pub fn new(r: f32, g: f32, b: f32, a: f32) -> Self {
        Rgba { r, g, b, a }
    }
    pub fn from_u8(rgba: [u8; 4]) -> Self {
        let f = |v: u8| v as f32 / 255.0;
        Rgba {
            r: f(rgba[0]),
            g: f(rgba[1]),
            b: f(rgba[2]),
            a: f(rgba[3]),
        }
    }
    /// Rounded, clamped 8-bit sRGB components.
    pub fn to_u8(self) -> [u8; 4] {
        let q = |v: f32| (unit(v) * 255.0).round() as u8;
        [q(self.r), q(self.g), q(self.b), q(self.a)]
    }
    /// Parses `#rgb`, `#rrggbb`, `#rrggbbaa` (leading `#` optional) and a few names (black, white, gray, transparent).
    /// `#rgba` is accepted too.
    pub fn parse(s: &str) -> crate::Result<Self> {
        let t = s.trim();
        let lower = t.to_ascii_lowercase();
        if let Some((_, c)) = NAMES.iter().find(|(n, _)| *n == lower) {
            return Ok(*c);
        }
        let hex = lower.strip_prefix('#').unwrap_or(&lower);
        let bad = || {
            crate::Error::Invalid(format!(
                "invalid colour {s:?}: expected #rgb, #rgba, #rrggbb, #rrggbbaa or one of {}",
                NAMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ))
        };
        // Checking for ASCII hex digits first makes the byte slicing below safe.
        if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let digit = |i: usize| u8::from_str_radix(&hex[i..i + 1], 16).unwrap_or(0);
        let pair = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
        let px = match hex.len() {
            3 => [digit(0) * 17, digit(1) * 17, digit(2) * 17, 255],
            4 => [digit(0) * 17, digit(1) * 17, digit(2) * 17, digit(3) * 17],
            6 => [pair(0), pair(2), pair(4), 255],
            8 => [pair(0), pair(2), pair(4), pair(6)],
            _ => return Err(bad()),
        };
        Ok(Rgba::from_u8(px))
    }
    pub fn with_alpha(self, a: f32) -> Self {
        Rgba { a, ..self }
    }
    pub fn to_linear(self) -> [f32; 3] {
        [
            srgb_to_linear(self.r),
            srgb_to_linear(self.g),
            srgb_to_linear(self.b),
        ]
    }
    /// Encodes linear light as sRGB; out-of-gamut components are clamped to [0, 1].
    pub fn from_linear(rgb: [f32; 3], a: f32) -> Self {
        let e = |v: f32| unit(linear_to_srgb(unit(v)));
        Rgba {
            r: e(rgb[0]),
            g: e(rgb[1]),
            b: e(rgb[2]),
            a,
        }
    }
    pub fn to_oklab(self) -> Oklab {
        oklab_from_linear(self.to_linear())
    }
    /// Out-of-gamut OKLab values are clamped per channel in linear sRGB.
    pub fn from_oklab(lab: Oklab, a: f32) -> Self {
        let [r, g, b] = oklab_to_linear([lab.l as f64, lab.a as f64, lab.b as f64]);
        Rgba::from_linear([r as f32, g as f32, b as f32], a)
    }
    /// Perceptual interpolation: through OKLab, alpha linearly. `t` is clamped to [0, 1].
    pub fn mix(self, other: Rgba, t: f32) -> Self {
        // Exact end points (no OKLab round-trip rounding) so gradients hit their stops exactly.
        let t = unit(t);
        if t == 0.0 {
            return self;
        }
        if t == 1.0 {
            return other;
        }
        let (p, q) = (self.to_oklab(), other.to_oklab());
        let lerp = |x: f32, y: f32| x + (y - x) * t;
        let lab = Oklab {
            l: lerp(p.l, q.l),
            a: lerp(p.a, q.a),
            b: lerp(p.b, q.b),
        };
        Rgba::from_oklab(lab, lerp(self.a, other.a))
    }
    /// Scales lightness in OKLab (factor 1 = unchanged, 0 = black).
    /// When darkening, chroma shrinks with L so the hue stays and 0 lands exactly on black;
    /// when lightening, chroma is kept (scaling it up would oversaturate).
    pub fn shade(self, factor: f32) -> Self {
        let f = if factor.is_nan() {
            1.0
        } else {
            factor.max(0.0)
        };
        let lab = self.to_oklab();
        let c = f.min(1.0);
        Rgba::from_oklab(
            Oklab {
                l: lab.l * f,
                a: lab.a * c,
                b: lab.b * c,
            },
            self.a,
        )
    }
    /// `#rrggbb` (alpha dropped), for SVG.
    pub fn to_hex(self) -> String {
        let [r, g, b, _] = self.to_u8();
        format!("#{r:02x}{g:02x}{b:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(lab: Oklab, want: (f32, f32, f32), tol: f32) {
        assert!(
            (lab.l - want.0).abs() < tol
                && (lab.a - want.1).abs() < tol
                && (lab.b - want.2).abs() < tol,
            "{lab:?} != {want:?}"
        );
    }

    #[test]
    fn srgb_transfer_reference_points() {
        assert_eq!(srgb_to_linear(0.0), 0.0);
        assert!((srgb_to_linear(1.0) - 1.0).abs() < 1e-6);
        // 0.5 sRGB is ~21.4% linear light; 18% grey is ~0.4613 sRGB.
        assert!((srgb_to_linear(0.5) - 0.214_041).abs() < 1e-5);
        assert!((linear_to_srgb(0.18) - 0.461_356).abs() < 1e-5);
        // The linear segment below the knee.
        assert!((srgb_to_linear(0.04) - 0.04 / 12.92).abs() < 1e-7);
        for i in 0..=255u8 {
            let v = i as f32 / 255.0;
            assert!((linear_to_srgb(srgb_to_linear(v)) - v).abs() < 1e-5);
        }
    }

    #[test]
    fn oklab_reference_values() {
        // Ottosson's and CSS Color 4's published values.
        close(Rgba::WHITE.to_oklab(), (1.0, 0.0, 0.0), 1e-4);
        close(Rgba::BLACK.to_oklab(), (0.0, 0.0, 0.0), 1e-6);
        close(
            Rgba::new(1.0, 0.0, 0.0, 1.0).to_oklab(),
            (0.62796, 0.22486, 0.12585),
            1e-3,
        );
        close(
            Rgba::new(0.0, 1.0, 0.0, 1.0).to_oklab(),
            (0.86644, -0.23389, 0.17950),
            1e-3,
        );
        close(
            Rgba::new(0.0, 0.0, 1.0, 1.0).to_oklab(),
            (0.45201, -0.03246, -0.31153),
            1e-3,
        );
    }

    #[test]
    fn oklab_round_trips_every_grey_and_some_colours() {
        for i in 0..=255u8 {
            let c = Rgba::from_u8([i, 255 - i, i / 2, 200]);
            assert_eq!(Rgba::from_oklab(c.to_oklab(), c.a).to_u8(), c.to_u8());
            let g = Rgba::from_u8([i, i, i, 255]);
            let lab = g.to_oklab();
            assert!(
                lab.a.abs() < 1e-4 && lab.b.abs() < 1e-4,
                "grey {i} has chroma {lab:?}"
            );
        }
    }

    #[test]
    fn parse_forms_and_errors() {
        assert_eq!(Rgba::parse("#ff8000").unwrap().to_u8(), [255, 128, 0, 255]);
        assert_eq!(Rgba::parse("ff800080").unwrap().to_u8(), [255, 128, 0, 128]);
        assert_eq!(Rgba::parse("#f80").unwrap().to_u8(), [255, 136, 0, 255]);
        assert_eq!(Rgba::parse(" #F80A ").unwrap().to_u8(), [255, 136, 0, 170]);
        assert_eq!(Rgba::parse("White").unwrap(), Rgba::WHITE);
        assert_eq!(Rgba::parse("transparent").unwrap().a, 0.0);
        for bad in [
            "",
            "#",
            "#12",
            "#12345",
            "#gg0000",
            "chartreuse-ish",
            "#ééé",
            "#1234567890",
        ] {
            let e = Rgba::parse(bad).unwrap_err().to_string();
            assert!(
                e.contains("invalid colour") && !e.contains('\n'),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn hex_round_trip() {
        for s in ["#000000", "#ffffff", "#12abef", "#7f7f80"] {
            assert_eq!(Rgba::parse(s).unwrap().to_hex(), s);
        }
        assert_eq!(Rgba::new(2.0, -1.0, 0.5, 0.3).to_hex(), "#ff0080");
    }

    #[test]
    fn mix_goes_through_oklab() {
        let (a, b) = (
            Rgba::parse("#ff0000").unwrap(),
            Rgba::parse("#0000ff").unwrap(),
        );
        assert_eq!(a.mix(b, 0.0), a);
        assert_eq!(a.mix(b, 1.0), b);
        let mid = a.mix(b, 0.5);
        let (la, lb, lm) = (a.to_oklab(), b.to_oklab(), mid.to_oklab());
        // The midpoint's lightness is the OKLab average, not the sRGB average's.
        assert!((lm.l - (la.l + lb.l) / 2.0).abs() < 0.01, "{lm:?}");
        let half = Rgba::BLACK.mix(Rgba::TRANSPARENT, 0.5);
        assert!((half.a - 0.5).abs() < 1e-6);
    }

    #[test]
    fn shade_scales_lightness() {
        let c = Rgba::parse("#3a7bd5").unwrap();
        assert_eq!(c.shade(1.0).to_u8(), c.to_u8());
        assert_eq!(c.shade(0.0).to_u8(), [0, 0, 0, 255]);
        let half = c.shade(0.5).to_oklab();
        assert!((half.l - c.to_oklab().l * 0.5).abs() < 1e-3);
        assert!(c.shade(1.3).to_oklab().l > c.to_oklab().l);
    }
}
