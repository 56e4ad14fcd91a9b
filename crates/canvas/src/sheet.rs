//! Contact sheets: tiles in a grid with a caption under each.

use crate::font::{self, CELL_H, CELL_W};
use crate::{Image, Rgba};

#[derive(Clone, Debug)]
pub struct SheetOptions {
    pub columns: usize,
    pub padding: u32,
    pub background: Rgba,
    pub caption_color: Rgba,
    /// Caption glyph scale (0 = no captions).
    pub caption_scale: u32,
}

impl Default for SheetOptions {
    fn default() -> Self {
        SheetOptions {
            columns: 4,
            padding: 8,
            background: Rgba::from_u8([0x16, 0x16, 0x1a, 0xff]),
            caption_color: Rgba::from_u8([0xe8, 0xe6, 0xe3, 0xff]),
            caption_scale: 1,
        }
    }
}

/// Height of the caption band under each tile: a small gap, then one line of text.
fn caption_band(opts: &SheetOptions) -> u32 {
    if opts.caption_scale == 0 {
        0
    } else {
        (opts.padding / 2).max(2) + CELL_H.saturating_mul(opts.caption_scale)
    }
}

/// `text` cut to at most `max` characters, ending in ".." when cut.
fn fit(text: &str, max: usize) -> String {
    let n = text.chars().count();
    if n <= max {
        return text.to_string();
    }
    let keep = max.saturating_sub(2);
    let mut s: String = text.chars().take(keep).collect();
    s.push_str(&".."[..max.min(2)]);
    s
}

/// Tiles may differ in size: each cell is as large as the largest tile. Captions longer than a cell are cut with '…'-like "..".
/// Tiles are centred in their cell and composited over the background; an empty tile list gives a
/// background-only image of 2 x padding (at least 1x1).
pub fn contact_sheet(tiles: &[(Image, String)], opts: &SheetOptions) -> Image {
    let pad = opts.padding;
    if tiles.is_empty() {
        let side = pad.saturating_mul(2).max(1);
        return Image::filled(side, side, opts.background);
    }
    let cols = opts.columns.clamp(1, tiles.len());
    let rows = tiles.len().div_ceil(cols);
    let cell_w = tiles.iter().map(|(t, _)| t.width()).max().unwrap_or(0);
    let cell_h = tiles.iter().map(|(t, _)| t.height()).max().unwrap_or(0);
    let band = caption_band(opts);
    let row_h = cell_h.saturating_add(band);
    let sheet_w = (cols as u32)
        .saturating_mul(cell_w)
        .saturating_add((cols as u32 + 1).saturating_mul(pad));
    let sheet_h = (rows as u32)
        .saturating_mul(row_h)
        .saturating_add((rows as u32 + 1).saturating_mul(pad));
    let mut sheet = Image::filled(sheet_w, sheet_h, opts.background);

    let glyph_w = (CELL_W * opts.caption_scale.max(1)) as usize;
    for (i, (tile, caption)) in tiles.iter().enumerate() {
        let (c, r) = ((i % cols) as i64, (i / cols) as i64);
        let x = pad as i64 + c * (cell_w as i64 + pad as i64);
        let y = pad as i64 + r * (row_h as i64 + pad as i64);
        let tx = x + (cell_w - tile.width()) as i64 / 2;
        let ty = y + (cell_h - tile.height()) as i64 / 2;
        sheet.draw_image(tile, tx, ty);
        if opts.caption_scale > 0 {
            let text = fit(caption, cell_w as usize / glyph_w);
            // The last cell column is spacing: centre the inked part, not the whole advance.
            let tw = font::text_width(&text, opts.caption_scale).saturating_sub(opts.caption_scale)
                as i64;
            let cx = x + (cell_w as i64 - tw) / 2;
            let cy = y + cell_h as i64 + (pad / 2).max(2) as i64;
            font::draw_text(
                &mut sheet,
                cx,
                cy,
                &text,
                opts.caption_color,
                opts.caption_scale,
            );
        }
    }
    sheet
}

/// Tiles smaller than this are enlarged on contact sheets so that captions and details stay readable.
pub const MIN_TILE: u32 = 128;

/// The whole factor that brings a tile whose larger side is `side` pixels to at least [`MIN_TILE`]
/// (1 when it is that large already). Whole factors keep the pixels sharp.
pub fn enlargement(side: u32) -> u32 {
    if side == 0 || side >= MIN_TILE {
        1
    } else {
        MIN_TILE.div_ceil(side)
    }
}

/// A contact-sheet tile of 8-bit pixels (`channels` per pixel, row-major), enlarged by [`enlargement`].
pub fn tile(width: u32, height: u32, channels: usize, pixels: &[u8]) -> crate::Result<Image> {
    let t = Image::from_channels(width, height, channels, pixels)?;
    let s = enlargement(width.max(height));
    Ok(if s > 1 {
        t.resized(width * s, height * s)
    } else {
        t
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_tiles_grow_by_whole_factors_to_the_readable_size() {
        assert_eq!(
            [1, 32, 64, 100, 127, 128, 256].map(enlargement),
            [128, 4, 2, 2, 2, 1, 1]
        );
        let t = tile(40, 20, 3, &[7; 40 * 20 * 3]).unwrap();
        assert_eq!((t.width(), t.height()), (160, 80));
        let big = tile(200, 10, 1, &[7; 200 * 10]).unwrap();
        assert_eq!((big.width(), big.height()), (200, 10));
        assert!(tile(4, 4, 3, &[0; 5]).is_err());
    }

    #[test]
    fn dimensions_follow_the_grid() {
        let tiles: Vec<(Image, String)> = (0..5)
            .map(|i| (Image::filled(10 + i, 12, Rgba::WHITE), format!("seed {i}")))
            .collect();
        let opts = SheetOptions::default();
        let sheet = contact_sheet(&tiles, &opts);
        // 4 columns of 14 px cells, 5 paddings; 2 rows of 12 px + caption band (4 + 8), 3 paddings.
        assert_eq!(
            (sheet.width(), sheet.height()),
            (4 * 14 + 5 * 8, 2 * (12 + 12) + 3 * 8)
        );
        // Fewer tiles than columns: the sheet shrinks to the tiles.
        let two = contact_sheet(&tiles[..2], &opts);
        assert_eq!(
            (two.width(), two.height()),
            (2 * 11 + 3 * 8, 12 + 12 + 2 * 8)
        );
        // No captions: no caption band.
        let bare = contact_sheet(
            &tiles[..1],
            &SheetOptions {
                caption_scale: 0,
                columns: 0,
                ..opts.clone()
            },
        );
        assert_eq!((bare.width(), bare.height()), (10 + 16, 12 + 16));
        let empty = contact_sheet(&[], &opts);
        assert_eq!((empty.width(), empty.height()), (16, 16));
    }

    #[test]
    fn tiles_and_captions_land_in_their_cells() {
        let red = Rgba::parse("#ff0000").unwrap();
        let tiles = vec![
            (Image::filled(40, 20, red), "ab".to_string()),
            (Image::filled(20, 20, Rgba::WHITE), String::new()),
        ];
        let opts = SheetOptions::default();
        let bg = opts.background.to_u8();
        let sheet = contact_sheet(&tiles, &opts);
        assert_eq!(sheet.get(8, 8), [255, 0, 0, 255]);
        assert_eq!(sheet.get(7, 8), bg);
        // The second, narrower tile is centred in its 40 px cell: starts at 8 + 40 + 8 + 10.
        assert_eq!(sheet.get(66, 8), [255; 4]);
        assert_eq!(sheet.get(65, 8), bg);
        // Caption "ab" (11 px inked) centred under the first tile, starting below the 4 px gap.
        let caption_px: Vec<(u32, u32)> = (0..sheet.height())
            .flat_map(|y| (0..sheet.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| sheet.get(x, y) == opts.caption_color.to_u8())
            .collect();
        let (min_x, max_x) = (
            caption_px.iter().map(|p| p.0).min().unwrap(),
            caption_px.iter().map(|p| p.0).max().unwrap(),
        );
        let min_y = caption_px.iter().map(|p| p.1).min().unwrap();
        assert_eq!(min_y, 8 + 20 + 4);
        assert!(min_x >= 8 + 14 && max_x <= 8 + 40 - 14, "{min_x}..{max_x}");
    }

    #[test]
    fn captions_are_cut() {
        assert_eq!(fit("short", 8), "short");
        assert_eq!(fit("a much longer caption", 8), "a much..");
        assert_eq!(fit("abc", 2), "..");
        assert_eq!(fit("abc", 1), ".");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(fit("ééééé", 4), "éé..");
    }
}
