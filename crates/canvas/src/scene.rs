//! Vector drawings: engines describe shapes once; they are rasterized anti-aliased (tiny-skia) or written as SVG.

use crate::{Image, Rgba};

#[derive(Clone, Debug, PartialEq)]
pub struct Stroke {
    pub color: Rgba,
    pub width: f32,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Style {
    pub fill: Option<Rgba>,
    pub stroke: Option<Stroke>,
}

impl Style {
    pub fn fill(color: Rgba) -> Self {
        Style {
            fill: Some(color),
            stroke: None,
        }
    }
    pub fn stroke(color: Rgba, width: f32) -> Self {
        Style {
            fill: None,
            stroke: Some(Stroke { color, width }),
        }
    }
}

/// Coordinates are in scene units; (0,0) is top-left.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// Open or closed polyline (round caps and joins when stroked).
    Path {
        points: Vec<(f32, f32)>,
        closed: bool,
        style: Style,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        style: Style,
    },
    Circle {
        cx: f32,
        cy: f32,
        r: f32,
        style: Style,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scene {
    pub width: f32,
    pub height: f32,
    pub background: Option<Rgba>,
    pub shapes: Vec<Shape>,
}

impl Scene {
    pub fn new(width: f32, height: f32, background: Option<Rgba>) -> Self {
        Scene {
            width,
            height,
            background,
            shapes: Vec::new(),
        }
    }
    pub fn push(&mut self, shape: Shape) {
        self.shapes.push(shape)
    }
    /// Anti-aliased raster of the scene scaled to `px_width` x `px_height` pixels.
    /// Each shape is filled, then stroked (SVG's paint order). A zero size gives an empty image.
    pub fn render(&self, px_width: u32, px_height: u32) -> Image {
        let Some(mut pixmap) = tiny_skia::Pixmap::new(px_width, px_height) else {
            return Image::new(px_width, px_height);
        };
        if let Some(bg) = self.background {
            let [r, g, b, a] = bg.to_u8();
            pixmap.fill(tiny_skia::Color::from_rgba8(r, g, b, a));
        }
        let (sx, sy) = (scale(px_width, self.width), scale(px_height, self.height));
        let transform = tiny_skia::Transform::from_scale(sx, sy);
        for shape in &self.shapes {
            raster::draw(&mut pixmap, shape, transform);
        }
        // tiny-skia stores premultiplied alpha; our images are straight alpha.
        let mut img = Image::new(px_width, px_height);
        for (d, p) in img.as_raw_mut().chunks_exact_mut(4).zip(pixmap.pixels()) {
            let c = p.demultiply();
            d.copy_from_slice(&[c.red(), c.green(), c.blue(), c.alpha()]);
        }
        img
    }
    /// A standalone SVG document (viewBox = scene size, width/height attributes in pixels).
    /// One element per shape (plus a background rect), numbers with at most 3 decimals: byte-for-byte
    /// deterministic for a given scene.
    pub fn to_svg(&self, px_width: u32, px_height: u32) -> String {
        svg::document(self, px_width, px_height)
    }
}

/// Pixels per scene unit along one axis; degenerate scene sizes fall back to 1:1.
fn scale(px: u32, units: f32) -> f32 {
    if units.is_finite() && units > 0.0 {
        px as f32 / units
    } else {
        1.0
    }
}

mod raster {
    use super::{Shape, Style};
    use tiny_skia::{
        FillRule, LineCap, LineJoin, Paint, Path, PathBuilder, Pixmap, Rect, Transform,
    };

    fn paint(c: crate::Rgba) -> Paint<'static> {
        let mut p = Paint {
            anti_alias: true,
            ..Paint::default()
        };
        let [r, g, b, a] = c.to_u8();
        p.set_color_rgba8(r, g, b, a);
        p
    }

    fn polyline(points: &[(f32, f32)], closed: bool) -> Option<Path> {
        let mut pb = PathBuilder::new();
        let (&(x0, y0), rest) = points.split_first()?;
        pb.move_to(x0, y0);
        for &(x, y) in rest {
            pb.line_to(x, y);
        }
        if closed {
            pb.close();
        }
        pb.finish()
    }

    fn paint_path(pixmap: &mut Pixmap, path: &Path, style: &Style, t: Transform) {
        if let Some(fill) = style.fill {
            pixmap.fill_path(path, &paint(fill), FillRule::Winding, t, None);
        }
        if let Some(s) = style
            .stroke
            .as_ref()
            .filter(|s| s.width.is_finite() && s.width > 0.0)
        {
            let stroke = tiny_skia::Stroke {
                width: s.width,
                line_cap: LineCap::Round,
                line_join: LineJoin::Round,
                ..Default::default()
            };
            pixmap.stroke_path(path, &paint(s.color), &stroke, t, None);
        }
    }

    /// Draws one shape; degenerate geometry (no points, non-positive sizes, NaN) draws nothing.
    pub fn draw(pixmap: &mut Pixmap, shape: &Shape, t: Transform) {
        match shape {
            Shape::Path { points, style, .. } if points.len() == 1 => {
                // A single stroked point is a round dot, as a zero-length line with round caps would be.
                if let (Some(s), (x, y)) = (&style.stroke, points[0]) {
                    if let Some(dot) = PathBuilder::from_circle(x, y, s.width / 2.0) {
                        pixmap.fill_path(&dot, &paint(s.color), FillRule::Winding, t, None);
                    }
                }
            }
            Shape::Path {
                points,
                closed,
                style,
            } => {
                if let Some(path) = polyline(points, *closed) {
                    paint_path(pixmap, &path, style, t);
                }
            }
            Shape::Rect { x, y, w, h, style } => {
                if let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) {
                    paint_path(pixmap, &PathBuilder::from_rect(rect), style, t);
                }
            }
            Shape::Circle { cx, cy, r, style } => {
                if let Some(path) = PathBuilder::from_circle(*cx, *cy, *r) {
                    paint_path(pixmap, &path, style, t);
                }
            }
        }
    }
}

mod svg {
    use super::{Scene, Shape, Style};
    use std::fmt::Write;

    /// Compact number: at most 3 decimals, no trailing zeros, no "-0"; non-finite becomes 0.
    pub(super) fn num(v: f32) -> String {
        if !v.is_finite() {
            return "0".into();
        }
        let s = format!("{v:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" {
            "0".into()
        } else {
            s.into()
        }
    }

    /// Opacity attribute only when not fully opaque (keeps files small).
    fn opacity(name: &str, a: f32) -> String {
        if a >= 1.0 {
            String::new()
        } else {
            format!(r#" {name}="{}""#, num(a.max(0.0)))
        }
    }

    fn style_attrs(style: &Style) -> String {
        let mut s = match style.fill {
            Some(c) => format!(r#" fill="{}"{}"#, c.to_hex(), opacity("fill-opacity", c.a)),
            None => r#" fill="none""#.to_string(),
        };
        if let Some(st) = &style.stroke {
            let _ = write!(
                s,
                r#" stroke="{}"{} stroke-width="{}" stroke-linecap="round" stroke-linejoin="round""#,
                st.color.to_hex(),
                opacity("stroke-opacity", st.color.a),
                num(st.width)
            );
        }
        s
    }

    fn element(shape: &Shape) -> Option<String> {
        Some(match shape {
            Shape::Path { points, .. } if points.is_empty() => return None,
            Shape::Path { points, style, .. } if points.len() == 1 => {
                // Mirrors the raster: a lone stroked point is a dot of the stroke's width.
                let s = style.stroke.as_ref()?;
                let (x, y) = points[0];
                let fill = Style {
                    fill: Some(s.color),
                    stroke: None,
                };
                format!(
                    r#"<circle cx="{}" cy="{}" r="{}"{}/>"#,
                    num(x),
                    num(y),
                    num(s.width / 2.0),
                    style_attrs(&fill)
                )
            }
            Shape::Path {
                points,
                closed,
                style,
            } => {
                let pts: Vec<String> = points
                    .iter()
                    .map(|&(x, y)| format!("{},{}", num(x), num(y)))
                    .collect();
                let tag = if *closed { "polygon" } else { "polyline" };
                format!(
                    r#"<{tag} points="{}"{}/>"#,
                    pts.join(" "),
                    style_attrs(style)
                )
            }
            Shape::Rect { x, y, w, h, style } => format!(
                r#"<rect x="{}" y="{}" width="{}" height="{}"{}/>"#,
                num(*x),
                num(*y),
                num(w.max(0.0)),
                num(h.max(0.0)),
                style_attrs(style)
            ),
            Shape::Circle { cx, cy, r, style } => {
                format!(
                    r#"<circle cx="{}" cy="{}" r="{}"{}/>"#,
                    num(*cx),
                    num(*cy),
                    num(r.max(0.0)),
                    style_attrs(style)
                )
            }
        })
    }

    pub(super) fn document(scene: &Scene, px_width: u32, px_height: u32) -> String {
        let (w, h) = (num(scene.width), num(scene.height));
        let mut out = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{px_width}" height="{px_height}" viewBox="0 0 {w} {h}">"#
        );
        out.push('\n');
        if let Some(bg) = scene.background {
            let attrs = style_attrs(&Style {
                fill: Some(bg),
                stroke: None,
            });
            let _ = writeln!(
                out,
                r#"<rect x="0" y="0" width="{w}" height="{h}"{attrs}/>"#
            );
        }
        for e in scene.shapes.iter().filter_map(element) {
            out.push_str(&e);
            out.push('\n');
        }
        out.push_str("</svg>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_scene() -> Scene {
        let mut s = Scene::new(100.0, 50.0, Some(Rgba::parse("#101820").unwrap()));
        s.push(Shape::Rect {
            x: 20.0,
            y: 10.0,
            w: 30.0,
            h: 20.0,
            style: Style::fill(Rgba::parse("#ff8000").unwrap()),
        });
        s.push(Shape::Circle {
            cx: 80.0,
            cy: 25.0,
            r: 10.0,
            style: Style {
                fill: Some(Rgba::WHITE.with_alpha(0.5)),
                stroke: Some(Stroke {
                    color: Rgba::BLACK,
                    width: 1.5,
                }),
            },
        });
        s.push(Shape::Path {
            points: vec![(0.0, 0.0), (10.0, 40.0), (99.5, 49.25)],
            closed: false,
            style: Style::stroke(Rgba::parse("#00ff00").unwrap(), 2.0),
        });
        s.push(Shape::Path {
            points: vec![(1.0, 1.0), (5.0, 1.0), (3.0, 4.0)],
            closed: true,
            style: Style::fill(Rgba::BLACK),
        });
        s
    }

    #[test]
    fn rect_renders_its_colour_inside_and_background_outside() {
        let img = sample_scene().render(200, 100); // scale 2
        assert_eq!((img.width(), img.height()), (200, 100));
        assert_eq!(img.get(70, 40), [255, 128, 0, 255]); // scene (35, 20): inside the rect
        assert_eq!(img.get(41, 21), [255, 128, 0, 255]); // just inside the corner (40, 20) px
        assert_eq!(img.get(38, 40), [0x10, 0x18, 0x20, 255]); // just left of it
        assert_eq!(img.get(70, 61), [0x10, 0x18, 0x20, 255]); // just below it
                                                              // The half-transparent white circle over the background, straight alpha, opaque result.
        let c = img.get(160, 50);
        assert_eq!(c[3], 255);
        assert!((c[0] as i32 - (255 + 0x10) / 2).abs() <= 2, "{c:?}");
    }

    #[test]
    fn transparent_background_is_demultiplied() {
        let mut s = Scene::new(10.0, 10.0, None);
        s.push(Shape::Rect {
            x: 0.0,
            y: 0.0,
            w: 5.0,
            h: 10.0,
            style: Style::fill(Rgba::from_u8([200, 100, 50, 128])),
        });
        let img = s.render(10, 10);
        assert_eq!(img.get(8, 5), [0, 0, 0, 0]);
        let p = img.get(2, 5);
        assert_eq!(p[3], 128);
        // Straight colour comes back (within demultiply rounding), not the darker premultiplied value.
        assert!(
            (p[0] as i32 - 200).abs() <= 2
                && (p[1] as i32 - 100).abs() <= 2
                && (p[2] as i32 - 50).abs() <= 2,
            "{p:?}"
        );
    }

    #[test]
    fn strokes_have_round_caps_and_antialiasing() {
        let mut s = Scene::new(20.0, 20.0, Some(Rgba::BLACK));
        s.push(Shape::Path {
            points: vec![(5.0, 10.0), (15.0, 10.0)],
            closed: false,
            style: Style::stroke(Rgba::WHITE, 4.0),
        });
        let img = s.render(20, 20);
        assert_eq!(img.get(10, 10), [255; 4]);
        // Round cap reaches 2 units past the end point; a butt cap would leave (3.5, 10) black.
        assert!(img.get(3, 10)[0] > 128, "{:?}", img.get(3, 10));
        assert_eq!(img.get(1, 10), [0, 0, 0, 255]);
        // The cap's corner region is partially covered: anti-aliased edges exist.
        assert!(img.as_raw().chunks(4).any(|p| p[0] > 20 && p[0] < 235));
        // A single point draws a dot.
        let mut d = Scene::new(20.0, 20.0, None);
        d.push(Shape::Path {
            points: vec![(10.0, 10.0)],
            closed: false,
            style: Style::stroke(Rgba::WHITE, 6.0),
        });
        assert_eq!(d.render(20, 20).get(10, 10)[3], 255);
    }

    #[test]
    fn degenerate_input_does_not_panic() {
        let mut s = Scene::new(0.0, f32::NAN, None);
        s.push(Shape::Rect {
            x: 0.0,
            y: 0.0,
            w: -5.0,
            h: 3.0,
            style: Style::fill(Rgba::WHITE),
        });
        s.push(Shape::Circle {
            cx: f32::NAN,
            cy: 0.0,
            r: 3.0,
            style: Style::fill(Rgba::WHITE),
        });
        s.push(Shape::Path {
            points: vec![],
            closed: true,
            style: Style::stroke(Rgba::WHITE, 1.0),
        });
        s.push(Shape::Path {
            points: vec![(0.0, 0.0), (1.0, 1.0)],
            closed: false,
            style: Style::stroke(Rgba::WHITE, -1.0),
        });
        assert_eq!(s.render(0, 5).as_raw().len(), 0);
        assert!(s.render(4, 4).as_raw().iter().all(|&v| v == 0));
        let doc = s.to_svg(4, 4);
        assert!(roxmltree::Document::parse(&doc).is_ok(), "{doc}");
        assert!(!doc.contains("NaN") && !doc.contains("inf"));
    }

    #[test]
    fn svg_is_valid_and_complete() {
        let scene = sample_scene();
        let doc = scene.to_svg(200, 100);
        let xml = roxmltree::Document::parse(&doc).expect("well-formed SVG");
        let root = xml.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(
            root.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        assert_eq!(root.attribute("viewBox"), Some("0 0 100 50"));
        assert_eq!(root.attribute("width"), Some("200"));
        assert_eq!(root.attribute("height"), Some("100"));
        let kids: Vec<_> = root.children().filter(|n| n.is_element()).collect();
        let names: Vec<&str> = kids.iter().map(|n| n.tag_name().name()).collect();
        assert_eq!(names, ["rect", "rect", "circle", "polyline", "polygon"]); // background + 4 shapes
        assert_eq!(kids[0].attribute("fill"), Some("#101820"));
        assert_eq!(kids[1].attribute("fill"), Some("#ff8000"));
        assert_eq!(kids[1].attribute("fill-opacity"), None);
        assert_eq!(kids[2].attribute("fill-opacity"), Some("0.5"));
        assert_eq!(kids[2].attribute("stroke-width"), Some("1.5"));
        assert_eq!(kids[3].attribute("points"), Some("0,0 10,40 99.5,49.25"));
        assert_eq!(kids[3].attribute("fill"), Some("none"));
        assert_eq!(kids[3].attribute("stroke-linecap"), Some("round"));
        assert_eq!(kids[3].attribute("stroke-linejoin"), Some("round"));
        assert_eq!(doc, scene.to_svg(200, 100));
    }

    #[test]
    fn numbers_are_compact() {
        assert_eq!(svg::num(1.0), "1");
        assert_eq!(svg::num(0.1 + 0.2), "0.3");
        assert_eq!(svg::num(-0.0001), "0");
        assert_eq!(svg::num(-2.5), "-2.5");
        assert_eq!(svg::num(1234.5678), "1234.568");
        assert_eq!(svg::num(f32::INFINITY), "0");
    }
}
