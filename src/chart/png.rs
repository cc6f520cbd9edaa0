//! PNG charts drawn with plotters on an RGB buffer; text uses the embedded DejaVu Sans font
//! (ab_glyph), so no system font is needed. Sizes: line charts and heatmaps 1000×500, pies
//! 900×520 (pie left, legend right), graphs 900×700.

use std::sync::OnceLock;

use anyhow::{Result, anyhow};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{ChartSpec, Graph, Heatmap, TimeSeries, TopN, cut};

/// The embedded font (Bitstream Vera / DejaVu licence: `assets/fonts/LICENSE`).
pub static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

const FAMILY: &str = "sans-serif";

/// Registers the embedded font once; an invalid font is an error (it cannot be: it is
/// embedded, and a test renders text).
fn font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok { Ok(()) } else { Err(anyhow!("the embedded chart font cannot be loaded")) }
}

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("cannot draw the chart: {e}")
}

fn rgb(c: (u8, u8, u8)) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// Pixel size of the PNG of `spec`.
pub fn size(spec: &ChartSpec) -> (u32, u32) {
    match spec {
        ChartSpec::TimeSeries(_) | ChartSpec::Heatmap(_) => (1000, 500),
        ChartSpec::TopN(_) => (900, 520),
        ChartSpec::Graph(_) => (900, 700),
    }
}

/// Draws `spec` into an RGB buffer of [`size`] pixels.
pub fn rgb_buffer(spec: &ChartSpec) -> Result<(u32, u32, Vec<u8>)> {
    font()?;
    let (w, h) = size(spec);
    let mut buf = vec![255u8; (w as usize) * (h as usize) * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        match spec {
            ChartSpec::TimeSeries(t) => time_series(&root, t)?,
            ChartSpec::TopN(t) => pie(&root, t)?,
            ChartSpec::Heatmap(m) => heatmap(&root, m)?,
            ChartSpec::Graph(g) => graph(&root, g)?,
        }
        root.present().map_err(err)?;
    }
    Ok((w, h, buf))
}

/// The PNG file of `spec`.
pub fn render(spec: &ChartSpec) -> Result<Vec<u8>> {
    let (w, h, buf) = rgb_buffer(spec)?;
    let mut out = Vec::new();
    let mut enc = ::png::Encoder::new(&mut out, w, h);
    enc.set_color(::png::ColorType::Rgb);
    enc.set_depth(::png::BitDepth::Eight);
    let mut wr = enc.write_header().map_err(err)?;
    wr.write_image_data(&buf).map_err(err)?;
    wr.finish().map_err(err)?;
    Ok(out)
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn text_style(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

fn title(root: &Area<'_>, t: &str) -> Result<()> {
    let (w, _) = root.dim_in_pixel();
    let style = text_style(20).pos(Pos::new(HPos::Center, VPos::Top));
    root.draw(&Text::new(cut(t, 80), ((w / 2) as i32, 8), style)).map_err(err)
}

fn no_data(root: &Area<'_>) -> Result<()> {
    let (w, h) = root.dim_in_pixel();
    let style = text_style(18).pos(Pos::new(HPos::Center, VPos::Center));
    root.draw(&Text::new("No data", ((w / 2) as i32, (h / 2) as i32), style)).map_err(err)
}

fn time_series(root: &Area<'_>, t: &TimeSeries) -> Result<()> {
    if t.series.iter().all(|s| s.points.is_empty()) {
        title(root, &t.title)?;
        return no_data(root);
    }
    let (x0, x1) = super::time_range(t);
    let (y0, y1) = super::value_range(t);
    let pad = (y1 - y0) * 0.05;
    let utc = t.utc;
    let mut chart = ChartBuilder::on(root)
        .caption(cut(&t.title, 80), (FAMILY, 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..(y1 + pad))
        .map_err(err)?;
    let xfmt = |x: &i64| super::tick_time(*x, utc);
    let yfmt = |y: &f64| super::fmt_value(*y);
    chart
        .configure_mesh()
        .x_desc("Time")
        .y_desc(cut(&t.y_name, 40))
        .x_labels(6)
        .y_labels(8)
        .x_label_formatter(&xfmt)
        .y_label_formatter(&yfmt)
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 14))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    for (i, s) in t.series.iter().enumerate() {
        let c = rgb(super::color(i));
        // What each pixel column shows; dots only on sparse lines.
        let pts = super::decimate(&s.points, x0, x1, 1000);
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
            .map_err(err)?
            .label(cut(&s.name, 40))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        // Single points (and sparse series) stay visible as dots.
        if pts.len() < 200 {
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled()))).map_err(err)?;
        }
    }
    if t.series.len() > 1 {
        chart
            .configure_series_labels()
            .label_font((FAMILY, 13))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// Points of a pie slice from angle `a0` to `a1` (radians, clockwise from 12 o'clock).
pub(super) fn slice_points(cx: f64, cy: f64, r: f64, a0: f64, a1: f64) -> Vec<(f64, f64)> {
    let steps = (((a1 - a0) / 0.02).ceil() as usize).max(1);
    let mut pts = vec![(cx, cy)];
    for k in 0..=steps {
        let a = a0 + (a1 - a0) * k as f64 / steps as f64;
        pts.push((cx + r * a.sin(), cy - r * a.cos()));
    }
    pts
}

fn pie(root: &Area<'_>, t: &TopN) -> Result<()> {
    title(root, &t.title)?;
    let total = t.total();
    if total == 0 {
        return no_data(root);
    }
    let (cx, cy, r) = (260.0, 275.0, 210.0);
    let mut a = 0.0;
    for (i, s) in t.slices.iter().enumerate() {
        let span = std::f64::consts::TAU * s.value as f64 / total as f64;
        let pts: Vec<(i32, i32)> = slice_points(cx, cy, r, a, a + span)
            .into_iter()
            .map(|(x, y)| (x.round() as i32, y.round() as i32))
            .collect();
        root.draw(&Polygon::new(pts, rgb(super::slice_color(i)).filled())).map_err(err)?;
        a += span;
    }
    // Legend: `label(count) pct%`.
    let style = text_style(13).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, s) in t.slices.iter().enumerate() {
        let y = 70 + i as i32 * 30;
        root.draw(&Rectangle::new(
            [(500, y - 8), (516, y + 8)],
            rgb(super::slice_color(i)).filled(),
        ))
        .map_err(err)?;
        let pct = 100.0 * s.value as f64 / total as f64;
        let label = format!("{}({}) {pct:.1}%", cut(&s.label, 40), s.value);
        root.draw(&Text::new(label, (524, y), style.clone())).map_err(err)?;
    }
    Ok(())
}

fn heatmap(root: &Area<'_>, m: &Heatmap) -> Result<()> {
    title(root, &m.title)?;
    if m.cells.is_empty() || m.x_labels.is_empty() || m.y_labels.is_empty() {
        return no_data(root);
    }
    let (left, top, right, bottom) = (70i32, 45i32, 900i32, 440i32);
    let nx = m.x_labels.len() as i32;
    let ny = m.y_labels.len() as i32;
    let cw = f64::from(right - left) / f64::from(nx);
    let ch = f64::from(bottom - top) / f64::from(ny);
    let cell = |x: i32, y: i32| {
        // Row 0 at the bottom, as upstream's y axis 0..23 grows upwards.
        let x0 = left + (f64::from(x) * cw).round() as i32;
        let x1 = left + (f64::from(x + 1) * cw).round() as i32;
        let y1 = bottom - (f64::from(y) * ch).round() as i32;
        let y0 = bottom - (f64::from(y + 1) * ch).round() as i32;
        [(x0, y0), (x1 - 1, y1 - 1)]
    };
    let empty = RGBColor(240, 240, 240);
    for x in 0..nx {
        for y in 0..ny {
            root.draw(&Rectangle::new(cell(x, y), empty.filled())).map_err(err)?;
        }
    }
    let max = m.max();
    for &(x, y, v) in &m.cells {
        if x < m.x_labels.len() && y < m.y_labels.len() {
            let c = rgb(super::heat(v, max));
            root.draw(&Rectangle::new(cell(x as i32, y as i32), c.filled())).map_err(err)?;
        }
    }
    let ys = text_style(11).pos(Pos::new(HPos::Right, VPos::Center));
    let every_y = (ny / 24 + 1).max(1);
    for (y, l) in m.y_labels.iter().enumerate() {
        let y = y as i32;
        if y % every_y == 0 {
            let py = bottom - (f64::from(y) * ch + ch / 2.0) as i32;
            root.draw(&Text::new(cut(l, 10), (left - 6, py), ys.clone())).map_err(err)?;
        }
    }
    let xs = text_style(11).pos(Pos::new(HPos::Center, VPos::Top));
    let every_x = (nx / 10 + 1).max(1);
    for (x, l) in m.x_labels.iter().enumerate() {
        let x = x as i32;
        if x % every_x == 0 {
            let px = left + (f64::from(x) * cw + cw / 2.0) as i32;
            root.draw(&Text::new(cut(l, 12), (px, bottom + 6), xs.clone())).map_err(err)?;
        }
    }
    // Colour scale: 0 at the bottom, max(10, max) at the top.
    let (sx, st, sb) = (930i32, top, bottom);
    for k in 0..(sb - st) {
        let v = ((sb - st - k) as f64 / (sb - st) as f64 * max.max(10) as f64) as u64;
        root.draw(&Rectangle::new(
            [(sx, st + k), (sx + 16, st + k)],
            rgb(super::heat(v, max)).filled(),
        ))
        .map_err(err)?;
    }
    let ls = text_style(11).pos(Pos::new(HPos::Center, VPos::Bottom));
    root.draw(&Text::new(max.max(10).to_string(), (sx + 8, st - 2), ls.clone())).map_err(err)?;
    let ls = text_style(11).pos(Pos::new(HPos::Center, VPos::Top));
    root.draw(&Text::new("0", (sx + 8, sb + 2), ls)).map_err(err)?;
    Ok(())
}

fn graph(root: &Area<'_>, g: &Graph) -> Result<()> {
    title(root, &g.title)?;
    if g.nodes.is_empty() {
        return no_data(root);
    }
    let (cx, cy, r) = (450.0, 370.0, 250.0);
    let pos: Vec<(i32, i32)> = super::circle_layout(g)
        .into_iter()
        .map(|(x, y)| ((cx + r * x).round() as i32, (cy + r * y).round() as i32))
        .collect();
    let wmax = g.edges.iter().map(|e| e.weight).max().unwrap_or(1).max(1) as f64;
    for e in &g.edges {
        if let (Some(&a), Some(&b)) = (pos.get(e.from), pos.get(e.to)) {
            let w = 1 + (3.0 * e.weight as f64 / wmax).round() as u32;
            root.draw(&PathElement::new(vec![a, b], RGBColor(170, 170, 170).stroke_width(w)))
                .map_err(err)?;
        }
    }
    let ls = text_style(11).pos(Pos::new(HPos::Left, VPos::Center));
    let many = g.nodes.len() > 60;
    for (n, &p) in g.nodes.iter().zip(&pos) {
        let c = rgb(super::color(n.group));
        root.draw(&Circle::new(p, if many { 4 } else { 7 }, c.filled())).map_err(err)?;
        if !many {
            root.draw(&Text::new(cut(&n.label, 24), (p.0 + 10, p.1), ls.clone())).map_err(err)?;
        }
    }
    // Group legend, top left.
    for (i, name) in g.groups.iter().enumerate() {
        let y = 50 + i as i32 * 22;
        root.draw(&Circle::new((20, y), 6, rgb(super::color(i)).filled())).map_err(err)?;
        root.draw(&Text::new(cut(name, 30), (32, y), ls.clone())).map_err(err)?;
    }
    Ok(())
}
