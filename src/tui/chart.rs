//! Charts in the UI (spec §6.2, §6.3, §7): `g` shows the view's chart in the terminal with
//! ratatui widgets (a chart view on the stack: `h` opens it as HTML, `s` saves `.png` or
//! `.html`, `q`/`esc`/`g` go back); `h` writes the self-contained HTML chart to a temporary file
//! and opens it with `xdg-open` (`open` on macOS, `rundll32 url.dll,FileProtocolHandler` on
//! Windows, as upstream) when it is on the PATH, else shows its path; `s` with `.png`/`.html`/`.htm` saves the chart ([`crate::chart`] renders both).
//!
//! Which chart a view has: count by time a line of the counts over time (`TWSLA Count:<name>`),
//! count by key a pie of the top 10 and `Other` (`TWSLA Log count:<name>`), extract a line of
//! the value over time (`TWSLA Extract:<name>`; non-numeric values become 1, 2, 3, ... in
//! order of first appearance, as upstream). With `--sixel` (`TWSLA_SIXEL=true`) the chart view
//! shows the PNG rendering as a sixel image instead of the widgets: the sequence goes into the
//! area's first cell (forced width 1) and the cells it covers are skipped by ratatui's diff, so
//! it is sent again only when it changes (resize, another chart).

use std::cell::RefCell;
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};

use ratatui::Frame;
use ratatui::buffer::CellDiffOption;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::canvas::{Canvas, Line as CLine};
use ratatui::widgets::{Axis, Bar, BarChart, Chart, Dataset, GraphType, Paragraph};

use super::app::Effect;
use super::prompt::PromptKind;
use super::table::{CountView, ExtractView};
use crate::analyze::count::CountRows;
use crate::chart::{self, ChartSpec, Series, TimeSeries, TopN};

/// A chart shown in the terminal.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartView {
    /// What is drawn.
    pub spec: ChartSpec,
    /// Temp file name stem for `h` (upstream's names: countTime, count, extractTime).
    pub stem: &'static str,
    /// The last sixel image: its pixel bounds, and the sequence and its size in cells (or the
    /// error); built once per size.
    sixel: RefCell<Option<Sixel>>,
}

/// A sixel image for given pixel bounds.
type Sixel = ((u32, u32), Result<(String, u16, u16), String>);

/// Key help of the chart view.
pub const HELP: &str = "h: HTML / s: Save .png/.html / q: Back";

impl ChartView {
    /// Handles a key: `h` opens the HTML chart, `s` saves, `g` goes back (like `q`).
    pub fn key(&self, k: KeyEvent) -> Effect {
        match k.code {
            KeyCode::Char('h') => Effect::Html(Box::new(self.clone())),
            KeyCode::Char('s') => Effect::Prompt(PromptKind::Save, String::new()),
            KeyCode::Char('g') => Effect::Back,
            _ => Effect::None,
        }
    }

    /// A chart view of `spec`.
    pub fn new(spec: ChartSpec, stem: &'static str) -> Self {
        ChartView { spec, stem, sixel: RefCell::new(None) }
    }

    /// Draws the chart: with widgets, or as a sixel image when `sixel` gives the size of a
    /// cell in pixels.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, sixel: Option<(u16, u16)>) {
        match sixel {
            Some(cell) if !self.spec.is_empty() && area.width > 0 && area.height > 1 => {
                if let Err(e) = self.draw_sixel(f, area, cell) {
                    draw(&self.spec, f, area);
                    let line = Rect { height: 1, ..area };
                    f.render_widget(Paragraph::new(format!("sixel: {e}")), line);
                }
            }
            _ => draw(&self.spec, f, area),
        }
    }

    fn draw_sixel(&self, f: &mut Frame<'_>, area: Rect, cell: (u16, u16)) -> Result<(), String> {
        let (cw, ch) = (u32::from(cell.0.max(1)), u32::from(cell.1.max(1)));
        // Whole sixel bands, one band short of the area so the terminal never scrolls.
        let max =
            (u32::from(area.width) * cw, (u32::from(area.height) * ch / 6).saturating_sub(1) * 6);
        let mut cache = self.sixel.borrow_mut();
        if cache.as_ref().is_none_or(|c| c.0 != max) {
            let img = crate::chart::png::rgb_buffer(&self.spec)
                .map(|(w, h, rgb)| crate::chart::sixel::fit(w, h, &rgb, max.0, max.1))
                .map(|(w, h, rgb)| {
                    let cols = w.div_ceil(cw).min(u32::from(area.width)) as u16;
                    let rows = h.div_ceil(ch).min(u32::from(area.height)) as u16;
                    (crate::chart::sixel::encode(w, h, &rgb), cols, rows)
                })
                .map_err(|e| format!("{e:#}"));
            *cache = Some((max, img));
        }
        let Some((_, img)) = cache.as_ref() else { return Err("no image".into()) };
        let (seq, cols, rows) = img.as_ref().map_err(Clone::clone)?;
        let buf = f.buffer_mut();
        for y in area.y..area.y + rows {
            for x in area.x..area.x + cols {
                if let Some(c) = buf.cell_mut((x, y)) {
                    c.set_diff_option(CellDiffOption::Skip);
                }
            }
        }
        if let Some(c) = buf.cell_mut((area.x, area.y)) {
            c.set_symbol(seq).set_diff_option(CellDiffOption::ForcedWidth(NonZeroU16::MIN));
        }
        Ok(())
    }
}

/// The chart of a count view: counts over time, or the top 10 keys and `Other`.
pub fn of_count(v: &CountView, utc: bool) -> ChartView {
    match &v.rows {
        CountRows::Time(r) => {
            let mut points: Vec<(i64, f64)> = r.iter().map(|x| (x.time, x.count as f64)).collect();
            points.sort_by_key(|p| p.0);
            let spec = ChartSpec::TimeSeries(TimeSeries {
                title: format!("TWSLA Count:{}", v.name),
                y_name: "Count".into(),
                series: vec![Series { name: "Count".into(), points }],
                utc,
            });
            ChartView::new(spec, "countTime")
        }
        CountRows::Key(r) => {
            let items = r.iter().map(|x| (String::from_utf8_lossy(&x.key).into_owned(), x.count));
            let spec = ChartSpec::TopN(TopN::of(
                &format!("TWSLA Log count:{}", v.name),
                items,
                chart::TOP_N,
            ));
            ChartView::new(spec, "count")
        }
    }
}

/// The chart of an extract view: the value over time (non-numeric values numbered by first
/// appearance).
pub fn of_extract(v: &ExtractView, utc: bool) -> ChartView {
    let mut seen: std::collections::HashMap<&[u8], f64> = std::collections::HashMap::new();
    let mut points: Vec<(i64, f64)> = v
        .rows
        .iter()
        .map(|r| {
            let num = std::str::from_utf8(&r.value)
                .ok()
                .and_then(|s| s.trim().parse::<f64>().ok())
                .filter(|x| x.is_finite());
            let y = match num {
                Some(x) => x,
                None => {
                    let next = seen.len() as f64 + 1.0;
                    *seen.entry(r.value.as_slice()).or_insert(next)
                }
            };
            (r.time, y)
        })
        .collect();
    points.sort_by_key(|p| p.0);
    let spec = ChartSpec::TimeSeries(TimeSeries {
        title: format!("TWSLA Extract:{}", v.name),
        y_name: v.name.clone(),
        series: vec![Series { name: v.name.clone(), points }],
        utc,
    });
    ChartView::new(spec, "extractTime")
}

/// `g`: the chart view, or a message when there is nothing to draw.
pub fn show(view: ChartView) -> Effect {
    if view.spec.is_empty() {
        return Effect::Status("no data for a chart".into(), true);
    }
    Effect::Chart(Box::new(view))
}

/// Where `h` writes its page: the temp directory, upstream's name plus the process id.
pub fn temp_html(stem: &str) -> PathBuf {
    std::env::temp_dir().join(format!("twsla-{stem}-{}.html", std::process::id()))
}

/// The program (and its leading arguments) that opens files on this system.
fn opener_command() -> (&'static str, &'static [&'static str]) {
    if cfg!(windows) {
        ("rundll32.exe", &["url.dll,FileProtocolHandler"])
    } else if cfg!(target_os = "macos") {
        ("open", &[])
    } else {
        ("xdg-open", &[])
    }
}

/// An opener program with its leading arguments.
type Opener = (PathBuf, &'static [&'static str]);

/// The opener found on the PATH (never with `TWSLA_NO_OPEN` set: tests and headless runs).
fn opener() -> Option<Opener> {
    if std::env::var_os("TWSLA_NO_OPEN").is_some_and(|v| !v.is_empty()) {
        return None;
    }
    find_opener(&std::env::var_os("PATH")?)
}

/// The system's opener in the directories of `path` (a `PATH` value).
fn find_opener(path: &std::ffi::OsStr) -> Option<Opener> {
    let (name, args) = opener_command();
    std::env::split_paths(path).map(|d| d.join(name)).find(|p| p.is_file()).map(|p| (p, args))
}

/// `h`: the HTML chart of `view`, opened by the app (or a message when there is nothing to
/// draw).
pub fn html(view: ChartView) -> Effect {
    if view.spec.is_empty() {
        return Effect::Status("no data for a chart".into(), true);
    }
    Effect::Html(Box::new(view))
}

/// Writes the HTML chart to a temp file and opens it when `open` and an opener exists;
/// returns the message to show (`true`: an error).
pub fn open_html(spec: &ChartSpec, stem: &str, open: bool) -> (String, bool) {
    open_html_with(spec, stem, opener().filter(|_| open))
}

fn open_html_with(spec: &ChartSpec, stem: &str, opener: Option<Opener>) -> (String, bool) {
    let path = temp_html(stem);
    if let Err(e) = std::fs::write(&path, chart::html::render(spec)) {
        return (format!("cannot write {}: {e}", path.display()), true);
    }
    let shown = path.display().to_string();
    let Some((cmd, args)) = opener else {
        return (format!("chart written to {shown} (open it in a browser)"), false);
    };
    let child = std::process::Command::new(&cmd)
        .args(args)
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match child {
        Ok(mut c) => {
            // Reap it without blocking the UI.
            let _ = std::thread::Builder::new().spawn(move || c.wait());
            (format!("opened {shown}"), false)
        }
        Err(e) => (format!("chart written to {shown}; cannot run {}: {e}", cmd.display()), true),
    }
}

/// Saves `spec` to `path` as PNG (`.png`) or HTML (`.html`, `.htm`).
pub fn save(spec: &ChartSpec, path: &str) -> Result<String, String> {
    let ext =
        Path::new(path).extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    let bytes = match ext.as_str() {
        "png" => chart::png::render(spec).map_err(|e| format!("cannot save {path}: {e:#}"))?,
        "html" | "htm" => chart::html::render(spec).into_bytes(),
        _ => return Err(format!("cannot save {path}: a chart saves as .png or .html")),
    };
    std::fs::write(path, bytes).map_err(|e| format!("cannot save {path}: {e}"))?;
    Ok(format!("saved the chart to {path}"))
}

fn rgb(c: (u8, u8, u8)) -> Color {
    Color::Rgb(c.0, c.1, c.2)
}

/// Draws `spec` with ratatui widgets.
pub fn draw(spec: &ChartSpec, f: &mut Frame<'_>, area: Rect) {
    if spec.is_empty() {
        f.render_widget(Paragraph::new("No data"), area);
        return;
    }
    match spec {
        ChartSpec::TimeSeries(t) => time_series(t, f, area),
        ChartSpec::TopN(t) => bars(t, f, area),
        ChartSpec::Heatmap(m) => heatmap(m, f, area),
        ChartSpec::Graph(g) => graph(g, f, area),
    }
}

fn time_series(t: &TimeSeries, f: &mut Frame<'_>, area: Rect) {
    let (t0, t1) = chart::time_range(t);
    let (v0, v1) = chart::value_range(t);
    let secs = |x: i64| (x - t0) as f64 / 1e9;
    let data: Vec<Vec<(f64, f64)>> = t
        .series
        .iter()
        // Two braille dots per cell column.
        .map(|s| {
            let cols = usize::from(area.width) * 2;
            chart::decimate(&s.points, t0, t1, cols).iter().map(|p| (secs(p.0), p.1)).collect()
        })
        .collect();
    let sets: Vec<Dataset<'_>> = t
        .series
        .iter()
        .zip(&data)
        .enumerate()
        .map(|(i, (s, d))| {
            let ds = Dataset::default()
                .marker(Marker::Braille)
                .graph_type(if d.len() > 1 { GraphType::Line } else { GraphType::Scatter })
                .style(Style::new().fg(rgb(chart::color(i))))
                .data(d);
            if t.series.len() > 1 { ds.name(s.name.clone()) } else { ds }
        })
        .collect();
    let mid = t0 + (t1 - t0) / 2;
    let axis = Style::new().fg(Color::Indexed(8));
    let x = Axis::default().title("Time").style(axis).bounds([0.0, secs(t1)]).labels([
        chart::tick_time(t0, t.utc),
        chart::tick_time(mid, t.utc),
        chart::tick_time(t1, t.utc),
    ]);
    let ticks = chart::nice_ticks(v0, v1, 5);
    let y = Axis::default()
        .title(t.y_name.clone())
        .style(axis)
        .bounds([ticks[0], ticks[ticks.len() - 1]])
        .labels(ticks.iter().map(|v| chart::fmt_value(*v)).collect::<Vec<_>>());
    f.render_widget(Chart::new(sets).x_axis(x).y_axis(y), area);
}

fn bars(t: &TopN, f: &mut Frame<'_>, area: Rect) {
    let total = t.total().max(1) as f64;
    let width = usize::from(area.width / 3).clamp(8, 40);
    let bars: Vec<Bar<'_>> = t
        .slices
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let pct = 100.0 * s.value as f64 / total;
            Bar::with_label(chart::cut(&s.label, width), s.value)
                .style(Style::new().fg(rgb(chart::slice_color(i))))
                .text_value(format!("{} {pct:.1}%", s.value))
        })
        .collect();
    let chart = BarChart::horizontal(bars)
        .bar_width(1)
        .bar_gap(0)
        .value_style(Style::new().add_modifier(Modifier::BOLD));
    f.render_widget(chart, area);
}

fn heatmap(m: &chart::Heatmap, f: &mut Frame<'_>, area: Rect) {
    let max = m.max();
    let mut grid = vec![vec![None; m.x_labels.len()]; m.y_labels.len()];
    for &(x, y, v) in &m.cells {
        if let Some(c) = grid.get_mut(y).and_then(|r| r.get_mut(x)) {
            *c = Some(v);
        }
    }
    let lw = m.y_labels.iter().map(|l| l.chars().count()).max().unwrap_or(0).min(10);
    let mut lines: Vec<Line<'_>> = Vec::new();
    for (y, row) in grid.iter().enumerate().rev() {
        let mut spans = vec![Span::raw(format!("{:>lw$} ", chart::cut(&m.y_labels[y], lw)))];
        for v in row {
            spans.push(match v {
                Some(v) => Span::styled("██", Style::new().fg(rgb(chart::heat(*v, max)))),
                None => Span::styled("··", Style::new().fg(Color::Indexed(8))),
            });
        }
        lines.push(Line::from(spans));
    }
    let first = m.x_labels.first().cloned().unwrap_or_default();
    let last = m.x_labels.last().cloned().unwrap_or_default();
    lines.push(Line::from(format!("{:lw$} {first} … {last}  (max {max})", "")));
    f.render_widget(Paragraph::new(lines), area);
}

fn graph(g: &chart::Graph, f: &mut Frame<'_>, area: Rect) {
    let pos = chart::circle_layout(g);
    let canvas = Canvas::default()
        .marker(Marker::Braille)
        .x_bounds([-1.6, 1.6])
        .y_bounds([-1.2, 1.2])
        .paint(|ctx| {
            for e in &g.edges {
                if let (Some(a), Some(b)) = (pos.get(e.from), pos.get(e.to)) {
                    ctx.draw(&CLine::new(a.0, -a.1, b.0, -b.1, Color::Indexed(8)));
                }
            }
            ctx.layer();
            for (n, p) in g.nodes.iter().zip(&pos) {
                let label = format!("● {}", chart::cut(&n.label, 20));
                ctx.print(
                    p.0,
                    -p.1,
                    Span::styled(label, Style::new().fg(rgb(chart::color(n.group)))),
                );
            }
        });
    f.render_widget(canvas, area);
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// `h` runs the system's opener found on the PATH with the page as its last argument (a
    /// fake `xdg-open`/`open` records what it got); without one, the path is shown.
    #[test]
    fn html_opens_with_the_opener_on_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let (name, lead) = opener_command();
        let log = dir.path().join("args");
        let script = dir.path().join(name);
        std::fs::write(
            &script,
            format!("#!/bin/sh\necho \"$@\" > {}.tmp\nmv {0}.tmp {0}\n", log.display()),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = std::env::join_paths([Path::new("/nonexistent"), dir.path()]).unwrap();
        let found = find_opener(&path).unwrap();
        assert_eq!(found, (script.clone(), lead));
        let spec = ChartSpec::TopN(TopN::of("t", [("a".to_string(), 2), ("b".to_string(), 1)], 10));
        let stem = "opener-test";
        let (msg, err) = open_html_with(&spec, stem, Some(found));
        let page = temp_html(stem);
        assert!(!err && msg == format!("opened {}", page.display()), "{msg}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !log.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(std::fs::read_to_string(&log).unwrap().trim_end(), page.display().to_string());
        assert!(std::fs::read_to_string(&page).unwrap().contains("<svg"));
        // No opener: the page is still written and its path shown.
        let (msg, err) = open_html_with(&spec, stem, None);
        assert!(!err && msg.contains("open it in a browser"), "{msg}");
        assert!(find_opener(std::ffi::OsStr::new("/nonexistent")).is_none());
        std::fs::remove_file(page).unwrap();
    }
}
