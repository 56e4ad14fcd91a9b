//! An owned RGBA8 raster (sRGB, straight alpha, row-major, 4 bytes per pixel).

use crate::Error;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

/// Source-over of one straight-alpha pixel onto another, in 8-bit sRGB space (what painters and browsers do).
pub(crate) fn over(dst: [u8; 4], src: [u8; 4]) -> [u8; 4] {
    match (src[3], dst[3]) {
        (0, _) => dst,
        (255, _) | (_, 0) => src,
        (sa, da) => {
            let sa = sa as f32 / 255.0;
            let da = da as f32 / 255.0;
            let oa = sa + da * (1.0 - sa);
            let ch = |s: u8, d: u8| {
                let v = (s as f32 * sa + d as f32 * da * (1.0 - sa)) / oa;
                v.round().clamp(0.0, 255.0) as u8
            };
            [
                ch(src[0], dst[0]),
                ch(src[1], dst[1]),
                ch(src[2], dst[2]),
                (oa * 255.0).round() as u8,
            ]
        }
    }
}

/// Decoder allocation cap: one RGBA8 image at MAX_SIDE x MAX_SIDE plus slack for decoder state.
const MAX_DECODE_BYTES: u64 = (MAX_SIDE as u64) * (MAX_SIDE as u64) * 4 + (64 << 20);

impl Image {
    /// A transparent image. Panics never: sizes are validated by callers via `check_size`.
    pub fn new(width: u32, height: u32) -> Self {
        Image {
            width,
            height,
            data: vec![0; width as usize * height as usize * 4],
        }
    }
    pub fn filled(width: u32, height: u32, color: crate::Rgba) -> Self {
        let px = color.to_u8();
        let data = px
            .iter()
            .copied()
            .cycle()
            .take(width as usize * height as usize * 4)
            .collect();
        Image {
            width,
            height,
            data,
        }
    }
    /// Wraps raw RGBA8 bytes; errors when the length is not width*height*4.
    pub fn from_raw(width: u32, height: u32, data: Vec<u8>) -> crate::Result<Self> {
        let want = (width as u64) * (height as u64) * 4;
        if data.len() as u64 != want {
            return Err(Error::Invalid(format!(
                "raw image data has {} bytes but {width}x{height} RGBA8 needs {want}",
                data.len()
            )));
        }
        Ok(Image {
            width,
            height,
            data,
        })
    }
    /// Wraps interleaved 8-bit pixels of 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA) channels, as networks
    /// produce them (HWC order).
    pub fn from_channels(
        width: u32,
        height: u32,
        channels: usize,
        data: &[u8],
    ) -> crate::Result<Self> {
        let n = (width as usize) * (height as usize);
        if !(1..=4).contains(&channels) || data.len() != n * channels {
            return Err(Error::Invalid(format!(
                "{} bytes do not make a {width}x{height} image of {channels} channels",
                data.len()
            )));
        }
        let rgba = data
            .chunks_exact(channels)
            .flat_map(|p| match *p {
                [g] => [g, g, g, 255],
                [g, a] => [g, g, g, a],
                [r, g, b] => [r, g, b, 255],
                [r, g, b, a] => [r, g, b, a],
                _ => unreachable!("chunks_exact gives 1..=4 bytes"),
            })
            .collect();
        Ok(Image {
            width,
            height,
            data: rgba,
        })
    }
    /// Interleaved 8-bit pixels with `channels` channels (1: ITU-R 601 luma as PIL's "L", 3: RGB with alpha
    /// dropped as PIL's convert("RGB"), 4: RGBA).
    pub fn to_channels(&self, channels: usize) -> crate::Result<Vec<u8>> {
        match channels {
            1 => Ok(self
                .data
                .chunks_exact(4)
                .map(|p| ((p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114) / 1000) as u8)
                .collect()),
            3 => Ok(self
                .data
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect()),
            4 => Ok(self.data.clone()),
            c => Err(Error::Invalid(format!(
                "cannot convert an image to {c} channels"
            ))),
        }
    }
    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn height(&self) -> u32 {
        self.height
    }
    pub fn as_raw(&self) -> &[u8] {
        &self.data
    }
    pub fn as_raw_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }
    pub fn into_raw(self) -> Vec<u8> {
        self.data
    }

    fn index(&self, x: u32, y: u32) -> Option<usize> {
        (x < self.width && y < self.height)
            .then(|| (y as usize * self.width as usize + x as usize) * 4)
    }
    /// The pixel at (x, y); transparent black outside the image (never panics).
    pub fn get(&self, x: u32, y: u32) -> [u8; 4] {
        match self.index(x, y) {
            Some(i) => [
                self.data[i],
                self.data[i + 1],
                self.data[i + 2],
                self.data[i + 3],
            ],
            None => [0; 4],
        }
    }
    /// Sets the pixel at (x, y); out-of-range coordinates are ignored.
    pub fn put(&mut self, x: u32, y: u32, px: [u8; 4]) {
        if let Some(i) = self.index(x, y) {
            self.data[i..i + 4].copy_from_slice(&px);
        }
    }
    /// Source-over compositing of `px` onto the pixel at (x, y); out-of-range coordinates are ignored.
    pub fn blend(&mut self, x: i64, y: i64, color: crate::Rgba) {
        if x < 0 || y < 0 || x > u32::MAX as i64 || y > u32::MAX as i64 {
            return;
        }
        if let Some(i) = self.index(x as u32, y as u32) {
            let dst = [
                self.data[i],
                self.data[i + 1],
                self.data[i + 2],
                self.data[i + 3],
            ];
            self.data[i..i + 4].copy_from_slice(&over(dst, color.to_u8()));
        }
    }
    /// Copies `src` with its top-left corner at (x, y), compositing source-over, clipped to this image.
    pub fn draw_image(&mut self, src: &Image, x: i64, y: i64) {
        // Clip the source rectangle against this image once, then walk rows.
        let x0 = x.max(0);
        let y0 = y.max(0);
        let x1 = (x + src.width as i64).min(self.width as i64);
        let y1 = (y + src.height as i64).min(self.height as i64);
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        for dy in y0..y1 {
            let sy = (dy - y) as usize;
            for dx in x0..x1 {
                let sx = (dx - x) as usize;
                let si = (sy * src.width as usize + sx) * 4;
                let di = (dy as usize * self.width as usize + dx as usize) * 4;
                let s = [
                    src.data[si],
                    src.data[si + 1],
                    src.data[si + 2],
                    src.data[si + 3],
                ];
                let d = [
                    self.data[di],
                    self.data[di + 1],
                    self.data[di + 2],
                    self.data[di + 3],
                ];
                self.data[di..di + 4].copy_from_slice(&over(d, s));
            }
        }
    }
    /// `self` with `right` drawn to its right (a before | after frame), as tall as `self`.
    pub fn beside(&self, right: &Image) -> Image {
        let mut out = Image::new(self.width + right.width, self.height);
        out.draw_image(self, 0, 0);
        out.draw_image(right, self.width as i64, 0);
        out
    }

    /// The centred square of side min(width, height), made opaque (alpha dropped, as PIL's
    /// convert("RGB")): how a photo of any shape becomes a network's square target.
    pub fn centre_square_opaque(&self) -> Image {
        let (w, h) = (self.width, self.height);
        let s = w.min(h);
        let (x0, y0) = ((w - s) / 2, (h - s) / 2);
        let mut data = Vec::with_capacity((s * s * 4) as usize);
        for y in y0..y0 + s {
            let row = &self.data[((y * w + x0) * 4) as usize..((y * w + x0 + s) * 4) as usize];
            data.extend(row.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2], 255]));
        }
        Image {
            width: s,
            height: s,
            data,
        }
    }

    /// Resampled copy (a good filter: Lanczos3 / CatmullRom via the `image` crate).
    /// Filtering happens on premultiplied alpha so transparent pixels do not bleed dark fringes.
    pub fn resized(&self, width: u32, height: u32) -> Image {
        if width == self.width && height == self.height {
            return self.clone();
        }
        if width == 0 || height == 0 || self.width == 0 || self.height == 0 {
            return Image::new(width, height);
        }
        let mut pre = ::image::Rgba32FImage::new(self.width, self.height);
        for (p, s) in pre.pixels_mut().zip(self.data.chunks_exact(4)) {
            let a = s[3] as f32 / 255.0;
            p.0 = [
                s[0] as f32 / 255.0 * a,
                s[1] as f32 / 255.0 * a,
                s[2] as f32 / 255.0 * a,
                a,
            ];
        }
        let out =
            ::image::imageops::resize(&pre, width, height, ::image::imageops::FilterType::Lanczos3);
        let mut img = Image::new(width, height);
        for (d, p) in img.data.chunks_exact_mut(4).zip(out.pixels()) {
            // Lanczos rings outside [0, 1]: clamp alpha, then colour to at most alpha before demultiplying.
            let a = p.0[3].clamp(0.0, 1.0);
            let q = |v: f32| (255.0 * (v.clamp(0.0, a) / a)).round() as u8;
            let qa = (a * 255.0).round() as u8;
            d.copy_from_slice(&if qa == 0 {
                [0; 4]
            } else {
                [q(p.0[0]), q(p.0[1]), q(p.0[2]), qa]
            });
        }
        img
    }
    /// Composites onto an opaque background colour.
    pub fn flatten(&self, background: crate::Rgba) -> Image {
        let bg = background.with_alpha(1.0).to_u8();
        let mut out = self.clone();
        for px in out.data.chunks_exact_mut(4) {
            let r = over(bg, [px[0], px[1], px[2], px[3]]);
            px.copy_from_slice(&r);
        }
        out
    }
    /// Decodes PNG, JPEG, WebP, GIF (first frame), BMP or TIFF from a file.
    /// The format is sniffed from the bytes; decoders are capped (MAX_SIDE per side, bounded allocation)
    /// so a decompression bomb is an error rather than an out-of-memory abort.
    pub fn load(path: &std::path::Path) -> crate::Result<Image> {
        let shown = path.display().to_string();
        let io_err = |source| Error::Io {
            path: shown.clone(),
            source,
        };
        let dec_err = |reason: String| Error::Decode {
            path: shown.clone(),
            reason,
        };
        let mut reader = ::image::ImageReader::open(path)
            .map_err(io_err)?
            .with_guessed_format()
            .map_err(io_err)?;
        let mut limits = ::image::Limits::default();
        limits.max_image_width = Some(MAX_SIDE);
        limits.max_image_height = Some(MAX_SIDE);
        limits.max_alloc = Some(MAX_DECODE_BYTES);
        reader.limits(limits);
        let decoded = reader.decode().map_err(|e| dec_err(e.to_string()))?;
        let rgba = decoded.into_rgba8();
        let (w, h) = rgba.dimensions();
        check_size(w, h).map_err(|e| dec_err(e.to_string()))?;
        Image::from_raw(w, h, rgba.into_raw())
    }
}

/// Largest side accepted anywhere in bestiary.
pub const MAX_SIDE: u32 = 16384;

/// Errors (one clear line) unless 1 <= width, height <= MAX_SIDE.
pub fn check_size(width: u32, height: u32) -> crate::Result<()> {
    for (what, v) in [("width", width), ("height", height)] {
        if v == 0 || v > MAX_SIDE {
            return Err(Error::Invalid(format!(
                "{what} {v} is out of range (1..={MAX_SIDE})"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rgba;
    use std::path::PathBuf;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "bestiary-canvas-image-{tag}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A small textured test image with a transparent corner.
    fn sample() -> Image {
        let mut img = Image::new(7, 5);
        for y in 0..5 {
            for x in 0..7 {
                img.put(
                    x,
                    y,
                    [
                        (x * 36) as u8,
                        (y * 60) as u8,
                        200,
                        if x + y == 0 { 0 } else { 255 },
                    ],
                );
            }
        }
        img
    }

    #[test]
    fn check_size_bounds() {
        assert!(check_size(1, 1).is_ok());
        assert!(check_size(MAX_SIDE, MAX_SIDE).is_ok());
        assert_eq!(
            check_size(0, 5).unwrap_err().to_string(),
            "width 0 is out of range (1..=16384)"
        );
        assert_eq!(
            check_size(5, 16385).unwrap_err().to_string(),
            "height 16385 is out of range (1..=16384)"
        );
    }

    #[test]
    fn raw_get_put_and_bounds() {
        assert!(Image::from_raw(2, 2, vec![0; 15]).is_err());
        let mut img = Image::filled(3, 2, Rgba::parse("#102030").unwrap());
        assert_eq!(img.get(2, 1), [0x10, 0x20, 0x30, 255]);
        img.put(1, 1, [1, 2, 3, 4]);
        assert_eq!(img.get(1, 1), [1, 2, 3, 4]);
        assert_eq!(img.as_raw()[(3 + 1) * 4..(3 + 1) * 4 + 4], [1, 2, 3, 4]);
        // Out of range is harmless.
        img.put(3, 0, [9; 4]);
        img.blend(-1, 0, Rgba::WHITE);
        img.blend(0, i64::MAX, Rgba::WHITE);
        assert_eq!(img.get(3, 0), [0; 4]);
        assert_eq!(img.clone().into_raw().len(), 24);
    }

    #[test]
    fn blend_is_source_over() {
        let mut img = Image::filled(1, 1, Rgba::BLACK);
        img.blend(0, 0, Rgba::WHITE.with_alpha(0.5));
        assert_eq!(img.get(0, 0), [128, 128, 128, 255]);
        // Onto transparent: the source comes through unchanged.
        let mut t = Image::new(1, 1);
        t.blend(0, 0, Rgba::from_u8([10, 20, 30, 100]));
        assert_eq!(t.get(0, 0), [10, 20, 30, 100]);
        // Two half-transparent layers (128/255 each) give 1 - (127/255)^2 coverage = 191.75.
        let mut u = Image::new(1, 1);
        u.blend(0, 0, Rgba::WHITE.with_alpha(0.5));
        u.blend(0, 0, Rgba::WHITE.with_alpha(0.5));
        assert_eq!(u.get(0, 0), [255, 255, 255, 192]);
    }

    #[test]
    fn draw_image_clips() {
        let mut dst = Image::filled(4, 4, Rgba::BLACK);
        let src = Image::filled(3, 3, Rgba::WHITE);
        dst.draw_image(&src, 2, -1);
        assert_eq!(dst.get(2, 0), [255; 4]);
        assert_eq!(dst.get(3, 1), [255; 4]);
        assert_eq!(dst.get(2, 2), [0, 0, 0, 255]);
        assert_eq!(dst.get(1, 0), [0, 0, 0, 255]);
        dst.draw_image(&src, 100, 100);
        dst.draw_image(&src, -3, 0);
        assert_eq!(dst.get(0, 0), [0, 0, 0, 255]);
    }

    #[test]
    fn resize_keeps_flat_colour_and_avoids_fringes() {
        let flat = Image::filled(10, 6, Rgba::parse("#336699").unwrap());
        let r = flat.resized(23, 4);
        assert_eq!((r.width(), r.height()), (23, 4));
        assert!(r.as_raw().chunks(4).all(|p| p == [0x33, 0x66, 0x99, 255]));
        // Half transparent black, half opaque red: colour at any non-transparent pixel stays pure red.
        let mut img = Image::new(8, 8);
        for y in 0..8 {
            for x in 4..8 {
                img.put(x, y, [255, 0, 0, 255]);
            }
        }
        let small = img.resized(3, 3);
        for p in small.as_raw().chunks(4) {
            if p[3] > 8 {
                assert!(p[0] >= 250 && p[1] <= 4 && p[2] <= 4, "{p:?}");
            }
        }
        assert_eq!(img.resized(0, 3).as_raw().len(), 0);
    }

    #[test]
    fn flatten_onto_background() {
        let mut img = Image::new(2, 1);
        img.put(1, 0, [255, 255, 255, 128]);
        let f = img.flatten(Rgba::BLACK);
        assert_eq!(f.get(0, 0), [0, 0, 0, 255]);
        assert_eq!(f.get(1, 0), [128, 128, 128, 255]);
    }

    #[test]
    fn load_round_trips_our_png() {
        let dir = temp_dir("load");
        let p = dir.join("a.png");
        let img = sample();
        crate::png_meta::write_png(&p, &img, None).unwrap();
        assert_eq!(Image::load(&p).unwrap(), img);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn load_rejects_truncated_corrupt_and_missing() {
        let dir = temp_dir("bad");
        let bytes = crate::png_meta::encode_png(&sample(), None).unwrap();
        let cut = dir.join("cut.png");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let e = Image::load(&cut).unwrap_err().to_string();
        assert!(e.contains("cut.png"), "{e}");
        let junk = dir.join("junk.jpg");
        std::fs::write(&junk, b"\xff\xd8\xff\xe0 not really a jpeg").unwrap();
        assert!(matches!(Image::load(&junk), Err(Error::Decode { .. })));
        let text = dir.join("text.png");
        std::fs::write(&text, b"hello").unwrap();
        assert!(Image::load(&text).is_err());
        assert!(matches!(
            Image::load(&dir.join("missing.png")),
            Err(Error::Io { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in bytes {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn centre_square_keeps_the_middle_and_drops_alpha() {
        // 4x2: columns 0..4 with value 10 * x, half transparent; the square is columns 1 and 2.
        let mut data = Vec::new();
        for _y in 0..2 {
            for x in 0..4u8 {
                data.extend([10 * x, 0, 0, 128]);
            }
        }
        let sq = Image::from_raw(4, 2, data).unwrap().centre_square_opaque();
        assert_eq!((sq.width(), sq.height()), (2, 2));
        assert_eq!(
            sq.as_raw(),
            &[10, 0, 0, 255, 20, 0, 0, 255, 10, 0, 0, 255, 20, 0, 0, 255]
        );
    }

    #[test]
    fn load_refuses_decompression_bomb_header() {
        // A valid PNG header claiming 60000x60000 (14 GB as RGBA8): must error, not allocate.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8], data: &[u8]| {
            png.extend((data.len() as u32).to_be_bytes());
            let mut body = kind.to_vec();
            body.extend(data);
            png.extend(&body);
            png.extend(crc32(&body).to_be_bytes());
        };
        let mut ihdr = Vec::new();
        ihdr.extend(60000u32.to_be_bytes());
        ihdr.extend(60000u32.to_be_bytes());
        ihdr.extend([8, 6, 0, 0, 0]);
        chunk(b"IHDR", &ihdr);
        chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        chunk(b"IEND", &[]);
        let dir = temp_dir("bomb");
        let p = dir.join("bomb.png");
        std::fs::write(&p, &png).unwrap();
        assert!(matches!(Image::load(&p), Err(Error::Decode { .. })));
        assert!(crate::png_meta::decode_png(&png).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod channel_tests {
    use super::Image;

    #[test]
    fn channels_round_trip() {
        let rgb = [10u8, 20, 30, 200, 100, 0];
        let img = Image::from_channels(2, 1, 3, &rgb).unwrap();
        assert_eq!(img.as_raw(), &[10, 20, 30, 255, 200, 100, 0, 255]);
        assert_eq!(img.to_channels(3).unwrap(), rgb);
        let grey = Image::from_channels(1, 1, 1, &[77]).unwrap();
        assert_eq!(grey.to_channels(1).unwrap(), [77]);
        assert!(Image::from_channels(2, 2, 3, &rgb).is_err());
        assert!(Image::from_channels(1, 1, 5, &[0; 5]).is_err());
        // PIL "L": (R*299 + G*587 + B*114) / 1000, truncated.
        assert_eq!(
            img.to_channels(1).unwrap(),
            [
                ((10 * 299 + 20 * 587 + 30 * 114) / 1000) as u8,
                ((200 * 299 + 100 * 587) / 1000) as u8
            ]
        );
    }
}
