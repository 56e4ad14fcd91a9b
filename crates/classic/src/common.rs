//! Helpers shared by the engines: colours from hex constants, palette records, scene units.

use bestiary_canvas::{Palette, Rgba};

/// Vector engines draw in a fixed square of this many scene units, whatever the output size: the same seed
/// gives the same composition at 256 px and at 4096 px (a thumbnail is a faithful preview).
pub const UNITS: f64 = 1000.0;

/// An opaque colour from a 0xRRGGBB constant.
pub fn hex(c: u32) -> Rgba {
    Rgba::new(
        ((c >> 16) & 255) as f32 / 255.0,
        ((c >> 8) & 255) as f32 / 255.0,
        (c & 255) as f32 / 255.0,
        1.0,
    )
}

pub fn palette(name: &str, colors: &[u32]) -> Palette {
    Palette {
        name: name.to_string(),
        colors: colors.iter().map(|c| hex(*c)).collect(),
    }
}

/// `#rrggbb` or `#rrggbbaa` (when not opaque), for the params record.
pub fn hex_string(c: Rgba) -> String {
    let q = |v: f32| (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
    if q(c.a) == 255 {
        format!("#{:02x}{:02x}{:02x}", q(c.r), q(c.g), q(c.b))
    } else {
        format!("#{:02x}{:02x}{:02x}{:02x}", q(c.r), q(c.g), q(c.b), q(c.a))
    }
}

pub fn palette_json(p: &Palette) -> serde_json::Value {
    serde_json::json!({
        "name": p.name,
        "colors": p.colors.iter().map(|c| hex_string(*c)).collect::<Vec<_>>(),
    })
}

/// Rounds a scene coordinate to 1/100 unit, so SVG text stays short and stable.
#[inline]
pub fn q(v: f64) -> f32 {
    ((v * 100.0).round() / 100.0) as f32
}

/// Linear interpolation between two sRGB colours, component-wise (used where a cheap, exact blend is
/// wanted; palette gradients go through `Palette::sample`).
pub fn lerp_rgba(a: Rgba, b: Rgba, t: f32) -> Rgba {
    Rgba::new(
        a.r + (b.r - a.r) * t,
        a.g + (b.g - a.g) * t,
        a.b + (b.b - a.b) * t,
        a.a + (b.a - a.a) * t,
    )
}

/// Relative luminance estimate (sRGB values, Rec. 709 weights) for choosing light or dark companions.
pub fn luma(c: Rgba) -> f32 {
    0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let c = hex(0x12ab9f);
        assert_eq!(hex_string(c), "#12ab9f");
        assert_eq!(hex_string(c.with_alpha(0.5)), "#12ab9f80");
        assert_eq!(q(1.23456), 1.23);
        assert!(luma(hex(0xffffff)) > 0.99 && luma(hex(0)) == 0.0);
    }
}
