//! Charts of analysis results (issue 5, spec §7), independent of any view or analysis: a
//! [`ChartSpec`] holds the data of one chart, and three renderers draw it:
//!
//! * [`png`]: a PNG image drawn with plotters, text through ab_glyph with the embedded DejaVu
//!   Sans font (`assets/fonts`), so no system fonts or fontconfig are needed;
//! * [`html`]: one self-contained HTML page: the chart as inline SVG (drawn even without
//!   scripts) plus a small inline script for hover tooltips and legend toggling; no network,
//!   no external or third-party script;
//! * [`sixel`]: the PNG rendering scaled to a terminal area as a sixel image;
//! * the terminal UI draws the same spec with ratatui widgets (`tui::chart`).
//!
//! Four kinds exist: a time series (line chart over time), the top N of a count as a pie plus
//! "Other", a heatmap grid and a graph of nodes and edges.
//!
//! Memory: a spec holds its points; renderers build the output in memory (a PNG buffer of
//! width × height × 3 bytes, an HTML page proportional to the points).

pub mod html;
pub mod png;
pub mod sixel;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Local, TimeZone, Utc};

use crate::model::Nanos;

/// One chart's data.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartSpec {
    /// Lines over time.
    TimeSeries(TimeSeries),
    /// The largest counts as pie slices (the rest summed into "Other").
    TopN(TopN),
    /// Counts on a grid (x categories × y categories).
    Heatmap(Heatmap),
    /// Nodes and weighted edges.
    Graph(Graph),
}

/// Lines over time.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeSeries {
    /// Chart title.
    pub title: String,
    /// Name of the y axis (`Count`, the extracted value's name, ...).
    pub y_name: String,
    /// The lines (at least one is expected; each sorted by time).
    pub series: Vec<Series>,
    /// Show times in UTC (else local time).
    pub utc: bool,
}

/// One line of a [`TimeSeries`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// `(time, value)` in time order.
    pub points: Vec<(Nanos, f64)>,
}

/// Pie slices: the top N by value, then "Other" with the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct TopN {
    /// Chart title.
    pub title: String,
    /// Slices, largest first; the last may be "Other".
    pub slices: Vec<Slice>,
}

/// One pie slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    /// Label (without the count).
    pub label: String,
    /// Its count.
    pub value: u64,
}

/// Counts on a grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    /// Chart title.
    pub title: String,
    /// Column labels (dates or weekdays).
    pub x_labels: Vec<String>,
    /// Row labels (hours).
    pub y_labels: Vec<String>,
    /// `(x, y, count)` of the non-empty cells (indices into the labels).
    pub cells: Vec<(usize, usize, u64)>,
}

/// Nodes and weighted edges (relation graph).
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// Chart title.
    pub title: String,
    /// Group names (one colour each: the relation's columns).
    pub groups: Vec<String>,
    /// The nodes.
    pub nodes: Vec<Node>,
    /// The edges (indices into `nodes`).
    pub edges: Vec<Edge>,
}

/// A graph node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its label.
    pub label: String,
    /// Index into [`Graph::groups`].
    pub group: usize,
}

/// A graph edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// Source node.
    pub from: usize,
    /// Target node.
    pub to: usize,
    /// Weight (count).
    pub weight: u64,
}

/// Slices a pie shows before "Other" (upstream: 10).
pub const TOP_N: usize = 10;

impl TopN {
    /// The top `n` of `items` by count (ties by label), plus `Other` with the sum of the rest
    /// when there is a rest.
    pub fn of(title: &str, items: impl IntoIterator<Item = (String, u64)>, n: usize) -> TopN {
        let mut all: Vec<(String, u64)> = items.into_iter().collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let rest: u64 = all.iter().skip(n).map(|x| x.1).fold(0, u64::saturating_add);
        let more = all.len() > n;
        all.truncate(n);
        let mut slices: Vec<Slice> =
            all.into_iter().map(|(label, value)| Slice { label, value }).collect();
        if more {
            slices.push(Slice { label: "Other".into(), value: rest });
        }
        TopN { title: title.to_string(), slices }
    }

    /// Sum of the slices.
    pub fn total(&self) -> u64 {
        self.slices.iter().map(|s| s.value).fold(0, u64::saturating_add)
    }
}

impl Heatmap {
    /// The largest count (0 when empty).
    pub fn max(&self) -> u64 {
        self.cells.iter().map(|c| c.2).max().unwrap_or(0)
    }
}

impl ChartSpec {
    /// The chart's title.
    pub fn title(&self) -> &str {
        match self {
            ChartSpec::TimeSeries(t) => &t.title,
            ChartSpec::TopN(t) => &t.title,
            ChartSpec::Heatmap(h) => &h.title,
            ChartSpec::Graph(g) => &g.title,
        }
    }

    /// Whether there is nothing to draw.
    pub fn is_empty(&self) -> bool {
        match self {
            ChartSpec::TimeSeries(t) => t.series.iter().all(|s| s.points.is_empty()),
            ChartSpec::TopN(t) => t.total() == 0,
            ChartSpec::Heatmap(h) => h.cells.is_empty(),
            ChartSpec::Graph(g) => g.nodes.is_empty(),
        }
    }
}

/// Series colours (also the pie slices' and graph groups'), as RGB.
pub const PALETTE: [(u8, u8, u8); 10] = [
    (0x54, 0x70, 0xc6),
    (0x91, 0xcc, 0x75),
    (0xfa, 0xc8, 0x58),
    (0xee, 0x66, 0x66),
    (0x73, 0xc0, 0xde),
    (0x3b, 0xa2, 0x72),
    (0xfc, 0x84, 0x52),
    (0x9a, 0x60, 0xb4),
    (0xea, 0x7c, 0xcc),
    (0x8c, 0x8c, 0x8c),
];

/// The colour of item `i` (cycles through [`PALETTE`]).
pub fn color(i: usize) -> (u8, u8, u8) {
    PALETTE[i % PALETTE.len()]
}

/// The colour of the pie's "Other" slice (after the top [`TOP_N`]).
pub const OTHER: (u8, u8, u8) = (0xcc, 0xcc, 0xcc);

/// The colour of pie slice `i`: the palette, then [`OTHER`].
pub fn slice_color(i: usize) -> (u8, u8, u8) {
    if i < PALETTE.len() { PALETTE[i] } else { OTHER }
}

/// Round tick values (steps of 1, 2 or 5 × 10^k) from at most `lo` to at least `hi`, about
/// `n` of them.
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) || n < 2 {
        return vec![lo, hi];
    }
    let raw = span / (n - 1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step =
        [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let first = (lo / step).floor();
    let last = (hi / step).ceil();
    // Round away float noise (0.6000000000000001).
    let round = |x: f64| (x * 1e9).round() / 1e9;
    (0..=((last - first) as usize)).map(|k| round((first + k as f64) * step)).collect()
}

/// Heatmap colour scale (upstream's visualMap): low, middle, high.
pub const HEAT: [(u8, u8, u8); 3] = [(0x50, 0xa3, 0xba), (0xea, 0xc7, 0x36), (0xd9, 0x4e, 0x5d)];

/// The heatmap colour of `v` on a 0..=`max` scale (upstream's scale goes to at least 10).
pub fn heat(v: u64, max: u64) -> (u8, u8, u8) {
    let max = max.max(10) as f64;
    let t = (v as f64 / max).clamp(0.0, 1.0) * 2.0;
    let (a, b, t) = if t <= 1.0 { (HEAT[0], HEAT[1], t) } else { (HEAT[1], HEAT[2], t - 1.0) };
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * t).round() as u8;
    (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A time in `layout` (chrono), UTC or local.
pub fn fmt_time(ns: Nanos, utc: bool, layout: &str) -> String {
    let t: DateTime<Utc> = Utc.timestamp_nanos(ns);
    if utc {
        t.format(layout).to_string()
    } else {
        t.with_timezone(&Local).format(layout).to_string()
    }
}

/// Tick label of a time axis (upstream's `01/02 15:04`).
pub fn tick_time(ns: Nanos, utc: bool) -> String {
    fmt_time(ns, utc, "%m/%d %H:%M")
}

/// A value for a label: integers without decimals, others with up to 3.
pub fn fmt_value(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.is_finite() {
        let s = format!("{v:.3}");
        let s = s.trim_end_matches('0');
        s.strip_suffix('.').unwrap_or(s).to_string()
    } else {
        v.to_string()
    }
}

/// The range of the values of `t` (`(0, 1)` when empty; min at most 0 so bars start at 0,
/// and never a zero width).
pub fn value_range(t: &TimeSeries) -> (f64, f64) {
    let vals = t.series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).filter(|v| v.is_finite());
    let (mut lo, mut hi) = vals.fold((0.0f64, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !hi.is_finite() {
        hi = 1.0;
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    if lo > 0.0 {
        lo = 0.0;
    }
    (lo, hi)
}

/// The time range of `t` (`(0, 1)` when empty; never a zero width).
pub fn time_range(t: &TimeSeries) -> (Nanos, Nanos) {
    let times = t.series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let (lo, hi) = times.fold((Nanos::MAX, Nanos::MIN), |(a, b), x| (a.min(x), b.max(x)));
    if lo > hi {
        return (0, 1);
    }
    if lo == hi {
        (lo.saturating_sub(30_000_000_000), hi.saturating_add(30_000_000_000))
    } else {
        (lo, hi)
    }
}

/// The points of a line as drawn `buckets` wide: per bucket of equal time width over
/// `x0..=x1`, its first, lowest, highest and last point, in time order (at most 4 per bucket;
/// what a pixel column shows is kept, so the picture is the same). Fewer points than
/// `4 × buckets` come back as they are. Non-finite values are dropped.
pub fn decimate(
    points: &[(Nanos, f64)],
    x0: Nanos,
    x1: Nanos,
    buckets: usize,
) -> Vec<(Nanos, f64)> {
    let pts = points.iter().copied().filter(|p| p.1.is_finite());
    if points.len() <= 4 * buckets.max(1) || x1 <= x0 {
        return pts.collect();
    }
    let width = (x1 - x0) as f64 / buckets as f64;
    let bucket = |t: Nanos| (((t - x0) as f64 / width) as usize).min(buckets - 1);
    let mut out: Vec<(Nanos, f64)> = Vec::with_capacity(4 * buckets);
    // The bucket and its kept points (input index, point): first, lowest, highest, last.
    type Keep = [(usize, (Nanos, f64)); 4];
    let mut cur: Option<(usize, Keep)> = None;
    let flush = |out: &mut Vec<(Nanos, f64)>, keep: Keep| {
        let mut k = keep.to_vec();
        k.sort_by_key(|x| x.0);
        k.dedup_by_key(|x| x.0);
        out.extend(k.into_iter().map(|x| x.1));
    };
    for (i, p) in pts.enumerate() {
        let b = bucket(p.0);
        match &mut cur {
            Some((cb, keep)) if *cb == b => {
                if p.1 < keep[1].1.1 {
                    keep[1] = (i, p);
                }
                if p.1 > keep[2].1.1 {
                    keep[2] = (i, p);
                }
                keep[3] = (i, p);
            }
            _ => {
                if let Some((_, keep)) = cur.take() {
                    flush(&mut out, keep);
                }
                cur = Some((b, [(i, p); 4]));
            }
        }
    }
    if let Some((_, keep)) = cur {
        flush(&mut out, keep);
    }
    out
}

/// Nodes of `g` laid out on a circle of radius 1 around (0, 0), in node order (upstream's
/// circular layout): `(x, y)` per node.
pub fn circle_layout(g: &Graph) -> Vec<(f64, f64)> {
    let n = g.nodes.len().max(1) as f64;
    (0..g.nodes.len())
        .map(|i| {
            let a = std::f64::consts::TAU * i as f64 / n - std::f64::consts::FRAC_PI_2;
            (a.cos(), a.sin())
        })
        .collect()
}

/// Cuts `s` to `n` characters (with `…`).
pub fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}
