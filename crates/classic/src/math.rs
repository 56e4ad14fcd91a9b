//! Transcendental functions through the pure-Rust `libm` port, so results are bit-identical on every
//! platform (std's versions call the system maths library). sqrt/floor/abs are exact IEEE operations.

pub const PI: f64 = std::f64::consts::PI;
pub const TAU: f64 = std::f64::consts::TAU;

#[inline]
pub fn sin(x: f64) -> f64 {
    libm::sin(x)
}
#[inline]
pub fn cos(x: f64) -> f64 {
    libm::cos(x)
}
#[inline]
pub fn atan2(y: f64, x: f64) -> f64 {
    libm::atan2(y, x)
}
#[inline]
pub fn exp(x: f64) -> f64 {
    libm::exp(x)
}
#[inline]
pub fn ln(x: f64) -> f64 {
    libm::log(x)
}
#[inline]
pub fn log2(x: f64) -> f64 {
    libm::log2(x)
}
#[inline]
pub fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}
#[inline]
pub fn sqrt(x: f64) -> f64 {
    x.sqrt()
}
#[inline]
pub fn hypot(x: f64, y: f64) -> f64 {
    (x * x + y * y).sqrt()
}

/// `x` raised to a small non-negative integer power by repeated multiplication (no `powi` intrinsic).
pub fn powi(x: f64, n: u32) -> f64 {
    let mut r = 1.0;
    for _ in 0..n {
        r *= x;
    }
    r
}

pub fn clamp01(x: f64) -> f64 {
    x.clamp(0.0, 1.0)
}

/// Wraps an angle to [-PI, PI).
pub fn wrap_angle(a: f64) -> f64 {
    let t = (a + PI) / TAU;
    (t - t.floor()) * TAU - PI
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_identities() {
        assert!((sin(PI / 2.0) - 1.0).abs() < 1e-15);
        assert!((cos(PI) + 1.0).abs() < 1e-15);
        assert!((atan2(1.0, 1.0) - PI / 4.0).abs() < 1e-15);
        assert!((exp(ln(3.0)) - 3.0).abs() < 1e-14);
        assert_eq!(powi(2.0, 10), 1024.0);
        assert_eq!(powi(5.0, 0), 1.0);
        assert!(
            (wrap_angle(3.0 * PI) + PI).abs() < 1e-12 || (wrap_angle(3.0 * PI) - PI).abs() < 1e-12
        );
        assert!((wrap_angle(0.5 + TAU) - 0.5).abs() < 1e-12);
    }
}
