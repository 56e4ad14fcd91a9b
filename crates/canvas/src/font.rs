//! A small built-in bitmap font (our own glyph table) for captions: printable ASCII.
//!
//! Glyphs are 5x7 pixels drawn in a 6x8 cell (one column and one row of spacing). Each glyph is seven
//! rows of five bits, the leftmost pixel in bit 4. Lowercase descenders sit inside the 7 rows (raised).

use crate::{Image, Rgba};

/// Glyph cell size at scale 1 (pixels), including spacing.
pub const CELL_W: u32 = 6;
pub const CELL_H: u32 = 8;

const GLYPH_W: u32 = 5;

/// Glyphs for ' ' (32) through '~' (126), in order.
#[rustfmt::skip]
const GLYPHS: [[u8; 7]; 95] = [
    [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000], // ' '
    [0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00000, 0b00100], // !
    [0b01010, 0b01010, 0b01010, 0b00000, 0b00000, 0b00000, 0b00000], // "
    [0b01010, 0b01010, 0b11111, 0b01010, 0b11111, 0b01010, 0b01010], // #
    [0b00100, 0b01111, 0b10100, 0b01110, 0b00101, 0b11110, 0b00100], // $
    [0b11000, 0b11001, 0b00010, 0b00100, 0b01000, 0b10011, 0b00011], // %
    [0b01100, 0b10010, 0b10100, 0b01000, 0b10101, 0b10010, 0b01101], // &
    [0b00100, 0b00100, 0b01000, 0b00000, 0b00000, 0b00000, 0b00000], // '
    [0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0b00100, 0b00010], // (
    [0b01000, 0b00100, 0b00010, 0b00010, 0b00010, 0b00100, 0b01000], // )
    [0b00000, 0b00100, 0b10101, 0b01110, 0b10101, 0b00100, 0b00000], // *
    [0b00000, 0b00100, 0b00100, 0b11111, 0b00100, 0b00100, 0b00000], // +
    [0b00000, 0b00000, 0b00000, 0b00000, 0b01100, 0b00100, 0b01000], // ,
    [0b00000, 0b00000, 0b00000, 0b11111, 0b00000, 0b00000, 0b00000], // -
    [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b01100, 0b01100], // .
    [0b00000, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b00000], // /
    [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110], // 0
    [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110], // 1
    [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111], // 2
    [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110], // 3
    [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010], // 4
    [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110], // 5
    [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110], // 6
    [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000], // 7
    [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110], // 8
    [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100], // 9
    [0b00000, 0b01100, 0b01100, 0b00000, 0b01100, 0b01100, 0b00000], // :
    [0b00000, 0b01100, 0b01100, 0b00000, 0b01100, 0b00100, 0b01000], // ;
    [0b00010, 0b00100, 0b01000, 0b10000, 0b01000, 0b00100, 0b00010], // <
    [0b00000, 0b00000, 0b11111, 0b00000, 0b11111, 0b00000, 0b00000], // =
    [0b01000, 0b00100, 0b00010, 0b00001, 0b00010, 0b00100, 0b01000], // >
    [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b00000, 0b00100], // ?
    [0b01110, 0b10001, 0b00001, 0b01101, 0b10101, 0b10101, 0b01110], // @
    [0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001], // A
    [0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110], // B
    [0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110], // C
    [0b11100, 0b10010, 0b10001, 0b10001, 0b10001, 0b10010, 0b11100], // D
    [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111], // E
    [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000], // F
    [0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111], // G
    [0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001], // H
    [0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110], // I
    [0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100], // J
    [0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001], // K
    [0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111], // L
    [0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001], // M
    [0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001], // N
    [0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110], // O
    [0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000], // P
    [0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101], // Q
    [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001], // R
    [0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110], // S
    [0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100], // T
    [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110], // U
    [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100], // V
    [0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010], // W
    [0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001], // X
    [0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100], // Y
    [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111], // Z
    [0b01110, 0b01000, 0b01000, 0b01000, 0b01000, 0b01000, 0b01110], // [
    [0b00000, 0b10000, 0b01000, 0b00100, 0b00010, 0b00001, 0b00000], // backslash
    [0b01110, 0b00010, 0b00010, 0b00010, 0b00010, 0b00010, 0b01110], // ]
    [0b00100, 0b01010, 0b10001, 0b00000, 0b00000, 0b00000, 0b00000], // ^
    [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b11111], // _
    [0b01000, 0b00100, 0b00010, 0b00000, 0b00000, 0b00000, 0b00000], // `
    [0b00000, 0b00000, 0b01110, 0b00001, 0b01111, 0b10001, 0b01111], // a
    [0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b11110], // b
    [0b00000, 0b00000, 0b01110, 0b10000, 0b10000, 0b10001, 0b01110], // c
    [0b00001, 0b00001, 0b01101, 0b10011, 0b10001, 0b10001, 0b01111], // d
    [0b00000, 0b00000, 0b01110, 0b10001, 0b11111, 0b10000, 0b01110], // e
    [0b00110, 0b01001, 0b01000, 0b11100, 0b01000, 0b01000, 0b01000], // f
    [0b00000, 0b01111, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110], // g
    [0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001], // h
    [0b00100, 0b00000, 0b01100, 0b00100, 0b00100, 0b00100, 0b01110], // i
    [0b00010, 0b00000, 0b00110, 0b00010, 0b00010, 0b10010, 0b01100], // j
    [0b10000, 0b10000, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010], // k
    [0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110], // l
    [0b00000, 0b00000, 0b11010, 0b10101, 0b10101, 0b10001, 0b10001], // m
    [0b00000, 0b00000, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001], // n
    [0b00000, 0b00000, 0b01110, 0b10001, 0b10001, 0b10001, 0b01110], // o
    [0b00000, 0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000], // p
    [0b00000, 0b01111, 0b10001, 0b10001, 0b01111, 0b00001, 0b00001], // q
    [0b00000, 0b00000, 0b10110, 0b11001, 0b10000, 0b10000, 0b10000], // r
    [0b00000, 0b00000, 0b01111, 0b10000, 0b01110, 0b00001, 0b11110], // s
    [0b01000, 0b01000, 0b11100, 0b01000, 0b01000, 0b01001, 0b00110], // t
    [0b00000, 0b00000, 0b10001, 0b10001, 0b10001, 0b10011, 0b01101], // u
    [0b00000, 0b00000, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100], // v
    [0b00000, 0b00000, 0b10001, 0b10001, 0b10101, 0b10101, 0b01010], // w
    [0b00000, 0b00000, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001], // x
    [0b00000, 0b10001, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110], // y
    [0b00000, 0b00000, 0b11111, 0b00010, 0b00100, 0b01000, 0b11111], // z
    [0b00010, 0b00100, 0b00100, 0b01000, 0b00100, 0b00100, 0b00010], // {
    [0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100], // |
    [0b01000, 0b00100, 0b00100, 0b00010, 0b00100, 0b00100, 0b01000], // }
    [0b00000, 0b00000, 0b01000, 0b10101, 0b00010, 0b00000, 0b00000], // ~
];

/// The glyph rows for `c`; anything outside printable ASCII draws as '?'.
fn glyph(c: char) -> &'static [u8; 7] {
    let i = c as u32;
    if (32..=126).contains(&i) {
        &GLYPHS[(i - 32) as usize]
    } else {
        &GLYPHS[(b'?' - 32) as usize]
    }
}

/// Draws `text` with its top-left at (x, y); `scale` >= 1 multiplies the glyph size. Unknown characters draw as '?'.
/// Pixels are blended source-over, so a translucent colour works; anything off the image is clipped.
pub fn draw_text(img: &mut Image, x: i64, y: i64, text: &str, color: Rgba, scale: u32) {
    if scale == 0 {
        return;
    }
    let s = scale as i64;
    let (w, h) = (img.width() as i64, img.height() as i64);
    for (n, c) in text.chars().enumerate() {
        let gx = x.saturating_add((n as i64).saturating_mul(CELL_W as i64 * s));
        if gx >= w {
            break; // every later glyph is further right
        }
        for (row, bits) in glyph(c).iter().enumerate() {
            for col in 0..GLYPH_W {
                if bits & (1 << (GLYPH_W - 1 - col)) == 0 {
                    continue;
                }
                // One font pixel is an s x s block; clip it to the image so huge scales stay cheap.
                let bx = gx.saturating_add(col as i64 * s);
                let by = y.saturating_add(row as i64 * s);
                for py in by.max(0)..by.saturating_add(s).min(h) {
                    for px in bx.max(0)..bx.saturating_add(s).min(w) {
                        img.blend(px, py, color);
                    }
                }
            }
        }
    }
}

/// Width in pixels of `text` drawn at `scale`: one full cell per character.
pub fn text_width(text: &str, scale: u32) -> u32 {
    (text.chars().count() as u64 * CELL_W as u64 * scale as u64).min(u32::MAX as u64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The drawn glyph as text art, '#' for ink.
    fn art(img: &Image, x0: u32, w: u32, h: u32) -> Vec<String> {
        (0..h)
            .map(|y| {
                (x0..x0 + w)
                    .map(|x| if img.get(x, y)[3] > 0 { '#' } else { '.' })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn glyphs_fit_and_are_distinct() {
        for (i, g) in GLYPHS.iter().enumerate() {
            assert!(g.iter().all(|r| *r < 32), "glyph {i} wider than 5");
            assert_eq!(
                g.iter().all(|r| *r == 0),
                i == 0,
                "only space is blank (glyph {i})"
            );
            for (j, other) in GLYPHS.iter().enumerate().skip(i + 1) {
                assert_ne!(
                    g,
                    other,
                    "glyphs {} and {} are identical",
                    (i + 32) as u8 as char,
                    (j + 32) as u8 as char
                );
            }
        }
    }

    #[test]
    fn draws_expected_pixels() {
        let mut img = Image::new(12, 8);
        draw_text(&mut img, 0, 0, "Hi", Rgba::WHITE, 1);
        assert_eq!(
            art(&img, 0, 12, 8),
            vec![
                "#...#...#...",
                "#...#.......",
                "#...#..##...",
                "#####...#...",
                "#...#...#...",
                "#...#...#...",
                "#...#..###..",
                "............",
            ]
        );
        assert_eq!(img.get(0, 0), [255; 4]);
    }

    #[test]
    fn scale_clipping_and_unknown_chars() {
        let mut big = Image::new(20, 20);
        draw_text(&mut big, -2, 3, "T", Rgba::WHITE, 2);
        // Top bar of T spans columns -2..8 at rows 3..5; column 2..4 is the stem.
        assert_eq!(big.get(0, 3)[3], 255);
        assert_eq!(big.get(7, 4)[3], 255);
        assert_eq!(big.get(8, 3)[3], 0);
        assert_eq!(big.get(3, 16)[3], 255);
        assert_eq!(big.get(3, 17)[3], 0);
        let (mut a, mut b) = (Image::new(6, 8), Image::new(6, 8));
        draw_text(&mut a, 0, 0, "é", Rgba::WHITE, 1);
        draw_text(&mut b, 0, 0, "?", Rgba::WHITE, 1);
        assert_eq!(a, b);
        draw_text(&mut a, i64::MAX - 3, i64::MIN, "xyz", Rgba::WHITE, u32::MAX);
        assert_eq!(a, b);
        assert_eq!(text_width("abc", 2), 36);
        assert_eq!(text_width("", 3), 0);
        assert_eq!(text_width("é?", 1), 12);
    }
}
