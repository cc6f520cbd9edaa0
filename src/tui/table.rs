//! Table views: count (spec §6.2), extract with its stats view (spec §6.3), and the detail view.

use std::time::Duration;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Text};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use super::app::{CountInit, Effect, SearchInit};
use super::chart;
use super::format;
use super::prompt::PromptKind;
use super::worker::Summary;
use crate::analyze::count::{CountRows, CountStats};
use crate::analyze::extract::{self, ExtractRow, ExtractStats};
use crate::output::human::comma;
use crate::query::TimeRange;

/// Selection and scrolling of a table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Selected row (display order).
    pub sel: usize,
}

impl Cursor {
    /// Moves the selection by a key; `true` if the key was a movement.
    pub(super) fn key(&mut self, k: KeyEvent, len: usize, page: usize) -> bool {
        let last = len.saturating_sub(1);
        match k.code {
            KeyCode::Up => self.sel = self.sel.saturating_sub(1),
            KeyCode::Down => self.sel = (self.sel + 1).min(last),
            KeyCode::PageUp => self.sel = self.sel.saturating_sub(page.max(1)),
            KeyCode::PageDown => self.sel = (self.sel + page.max(1)).min(last),
            KeyCode::Home => self.sel = 0,
            KeyCode::End => self.sel = last,
            _ => return false,
        }
        true
    }

    /// First visible row so that the selection shows in `h` rows.
    fn top(&self, h: usize) -> usize {
        (self.sel + 1).saturating_sub(h.max(1))
    }
}

/// A table as shown and as saved: the shape every table view implements (count, extract,
/// and later tfidf, anomaly, delay, time, relation), so drawing and saving are written once.
pub trait Tabular {
    /// Column titles.
    fn header(&self) -> Vec<String>;
    /// Rows (display order).
    fn len(&self) -> usize;
    /// Whether there are no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Cells of display row `i`, as shown.
    fn cells(&self, i: usize, utc: bool) -> Vec<String>;
    /// Column widths and which columns are right-aligned.
    fn columns(&self) -> (Vec<Constraint>, Vec<bool>);
    /// Column titles in saved files.
    fn file_header(&self) -> Vec<String> {
        self.header()
    }
    /// Cells of display row `i` in saved files (e.g. numbers without thousands commas).
    fn file_cells(&self, i: usize, utc: bool) -> Vec<String> {
        self.cells(i, utc)
    }
}

/// Draws the visible rows of `t` (a header row, then the rows around the selection), or a
/// placeholder when it is empty.
pub fn draw_table(
    f: &mut Frame<'_>,
    area: Rect,
    t: &dyn Tabular,
    cursor: Option<Cursor>,
    running: bool,
    utc: bool,
) {
    if t.is_empty() {
        return empty(f, area, running);
    }
    let (widths, right) = t.columns();
    let len = t.len();
    let cell = |i: usize| t.cells(i, utc);
    let header = t.header();
    let h = usize::from(area.height.saturating_sub(1));
    let top = cursor.map_or(0, |c| c.top(h));
    let align = |s: String, r: bool| {
        if r { Cell::from(Line::from(s).right_aligned()) } else { Cell::from(s) }
    };
    let rows: Vec<Row<'_>> = (top..len.min(top + h))
        .map(|i| {
            let r = Row::new(cell(i).into_iter().zip(&right).map(|(s, &r)| align(s, r)));
            if cursor.is_some_and(|c| c.sel == i) {
                r.style(Style::new().add_modifier(Modifier::REVERSED))
            } else {
                r
            }
        })
        .collect();
    let head = Row::new(header.iter().cloned().zip(&right).map(|(s, &r)| align(s, r)))
        .style(Style::new().add_modifier(Modifier::BOLD).fg(Color::Indexed(12)));
    let table = Table::new(rows, widths).header(head).column_spacing(1);
    f.render_widget(table, area);
}

fn empty(f: &mut Frame<'_>, area: Rect, running: bool) {
    let msg = if running { "Scanning..." } else { "No results" };
    f.render_widget(
        Paragraph::new(Line::styled(msg, Style::new().add_modifier(Modifier::DIM))),
        area,
    );
}

/// Sort state: the last sort key and whether the same key was pressed again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sort {
    /// The key (`None`: as delivered).
    pub key: Option<char>,
    /// Shown reversed.
    pub reversed: bool,
}

impl Sort {
    /// Applies a sort key press; `true` when the order must be recomputed.
    pub(super) fn press(&mut self, key: char) -> bool {
        if self.key == Some(key) {
            self.reversed = !self.reversed;
            false
        } else {
            self.key = Some(key);
            self.reversed = false;
            true
        }
    }
}

/// State of the count view.
#[derive(Debug, Clone)]
pub struct CountView {
    /// Column name of the key (`Time` in time mode).
    pub name: String,
    /// The result (empty until the job is done).
    pub rows: CountRows,
    /// Totals from the count.
    pub stats: CountStats,
    /// Row indices in sort order.
    pub order: Vec<usize>,
    /// Sort state.
    pub sort: Sort,
    /// Selection.
    pub cursor: Cursor,
    /// Totals once the job is done.
    pub done: Option<Summary>,
    /// Cancelled: the counts are partial.
    pub cancelled: bool,
    /// Time the job took.
    pub took: Duration,
    /// Normalize mode: the detail view colours the placeholders.
    pub normalize: bool,
    /// What a drill-down search starts from.
    pub search: SearchInit,
    /// The command's time range.
    pub range: TimeRange,
}

impl CountView {
    /// An empty view.
    pub fn new(init: &CountInit) -> Self {
        CountView {
            name: init.name.clone(),
            rows: if init.time_mode {
                CountRows::Time(Vec::new())
            } else {
                CountRows::Key(Vec::new())
            },
            stats: CountStats::default(),
            order: Vec::new(),
            sort: Sort::default(),
            cursor: Cursor::default(),
            done: None,
            cancelled: false,
            took: Duration::ZERO,
            normalize: init.normalize,
            search: init.search.clone(),
            range: init.range,
        }
    }

    /// Sets the result.
    pub fn set_rows(&mut self, rows: CountRows, stats: CountStats) {
        self.rows = rows;
        self.stats = stats;
        self.order = (0..self.len()).collect();
        if let Some(k) = self.sort.key {
            self.resort(k);
        }
    }

    fn resort(&mut self, key: char) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        match (&self.rows, key) {
            (CountRows::Time(r), 'c') => order.sort_by_key(|&i| (r[i].count, r[i].time)),
            (CountRows::Time(r), 'd') => order.sort_by_key(|&i| (r[i].delta, r[i].time)),
            (CountRows::Time(r), _) => order.sort_by_key(|&i| r[i].time),
            (CountRows::Key(r), 'c') => order.sort_by(|&a, &b| {
                r[a].count.cmp(&r[b].count).then_with(|| r[a].key.cmp(&r[b].key))
            }),
            (CountRows::Key(r), _) => order.sort_by(|&a, &b| r[a].key.cmp(&r[b].key)),
        }
        self.order = order;
    }

    /// Row index at display position `i`.
    pub fn at(&self, i: usize) -> Option<usize> {
        let j = if self.sort.reversed { self.order.len().checked_sub(i + 1)? } else { i };
        self.order.get(j).copied()
    }

    /// Key help.
    pub fn help(&self) -> &'static str {
        match self.rows {
            CountRows::Time(_) => {
                "c: Sort count / k: Sort time / d: Sort delta / enter: Search / g/h: Chart / s: Save / q: Quit"
            }
            CountRows::Key(_) => {
                "c: Sort count / k: Sort key / enter: Detail / g/h: Chart / s: Save / q: Quit"
            }
        }
    }

    /// `Results <keys>/<hit>/<lines> s:<D><mean>`.
    pub fn title(&self, live: Option<(u64, u64, Duration)>) -> String {
        let mut t = match live {
            Some((hits, read, el)) => format!(
                "Results {}/{}/{} s:{}",
                comma(self.len() as u64),
                comma(hits),
                comma(read),
                format::took(el)
            ),
            None => format!(
                "Results {}/{}/{} s:{}",
                comma(self.stats.keys),
                comma(self.stats.hits),
                comma(self.stats.scan.rows_read),
                format::took(self.took)
            ),
        };
        match &self.rows {
            CountRows::Time(r) => {
                let n = r.len() as i64;
                let mean = if n > 1 { r.iter().map(|x| x.delta).sum::<i64>() / (n - 1) } else { 0 };
                t.push_str(&format!(" d:{}", format::delta(mean / 1_000_000_000 * 1_000_000_000)));
            }
            CountRows::Key(_) => {
                let m = if self.stats.keys > 0 {
                    self.stats.hits as f64 / self.stats.keys as f64
                } else {
                    0.0
                };
                t.push_str(&format!(" m:{m:.3}"));
            }
        }
        if self.cancelled {
            t.push_str(" (cancelled)");
        }
        t
    }

    /// Handles a view key.
    pub fn key(&mut self, k: KeyEvent, page: usize, utc: bool) -> Effect {
        if self.cursor.key(k, self.len(), page) {
            return Effect::None;
        }
        let time = matches!(self.rows, CountRows::Time(_));
        let sort = match k.code {
            KeyCode::Char('c') => Some('c'),
            KeyCode::Char('k' | 't') => Some('k'),
            KeyCode::Char('d') if time => Some('d'),
            KeyCode::Char('s') => return Effect::Prompt(PromptKind::Save, String::new()),
            KeyCode::Char('g') => return chart::show(chart::of_count(self, utc)),
            KeyCode::Char('h') => return chart::html(chart::of_count(self, utc)),
            KeyCode::Enter => return self.enter(utc),
            _ => None,
        };
        if let Some(key) = sort
            && self.sort.press(key)
        {
            self.resort(key);
        }
        Effect::None
    }

    fn enter(&self, utc: bool) -> Effect {
        let Some(j) = self.at(self.cursor.sel) else { return Effect::None };
        match &self.rows {
            CountRows::Time(r) => {
                // Drill down: search the bucket's time range (within the command's range).
                let start = r[j].time;
                let end = start.saturating_add(self.stats.interval.max(1)) - 1;
                let range =
                    TimeRange { start: start.max(self.range.start), end: end.min(self.range.end) };
                let mut init = self.search.clone();
                init.query.range = Some(range);
                let label = format!(
                    "[{} +{}]",
                    format::minute(start, utc),
                    format::delta(self.stats.interval)
                );
                Effect::Drill(Box::new(init), label)
            }
            CountRows::Key(r) => {
                let key = String::from_utf8_lossy(&r[j].key).into_owned();
                let mut text = vec![Line::from(format!("{}: {}", self.name, comma(r[j].count)))];
                text.push(if self.normalize { placeholders(&key) } else { Line::from(key) });
                Effect::Detail(Detail { title: self.name.clone(), text: Text::from(text) })
            }
        }
    }

    /// Draws the table.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, running: bool, utc: bool) {
        draw_table(f, area, self, Some(self.cursor), running, utc);
    }
}

impl Tabular for CountView {
    fn header(&self) -> Vec<String> {
        match self.rows {
            CountRows::Time(_) => vec![self.name.clone(), "Count".into(), "Delta".into()],
            CountRows::Key(_) => vec![self.name.clone(), "Count".into()],
        }
    }

    fn len(&self) -> usize {
        match &self.rows {
            CountRows::Time(r) => r.len(),
            CountRows::Key(r) => r.len(),
        }
    }

    fn cells(&self, i: usize, utc: bool) -> Vec<String> {
        let Some(j) = self.at(i) else { return Vec::new() };
        match &self.rows {
            CountRows::Time(r) => {
                vec![format::minute(r[j].time, utc), comma(r[j].count), format::delta(r[j].delta)]
            }
            CountRows::Key(r) => {
                vec![String::from_utf8_lossy(&r[j].key).into_owned(), comma(r[j].count)]
            }
        }
    }

    fn columns(&self) -> (Vec<Constraint>, Vec<bool>) {
        match self.rows {
            CountRows::Time(_) => (
                vec![Constraint::Length(16), Constraint::Length(12), Constraint::Min(8)],
                vec![false, true, true],
            ),
            CountRows::Key(_) => {
                (vec![Constraint::Fill(1), Constraint::Length(12)], vec![false, true])
            }
        }
    }

    /// Upstream's CSV: `name,Count,Delta,Delta(sec)` (time mode) or `name,Count`.
    fn file_header(&self) -> Vec<String> {
        let mut h = self.header();
        if matches!(self.rows, CountRows::Time(_)) {
            h.push("Delta(sec)".into());
        }
        h
    }

    fn file_cells(&self, i: usize, utc: bool) -> Vec<String> {
        let Some(j) = self.at(i) else { return Vec::new() };
        match &self.rows {
            CountRows::Time(r) => vec![
                format::minute(r[j].time, utc),
                r[j].count.to_string(),
                format::delta(r[j].delta),
                format!("{}", r[j].delta as f64 / 1e9),
            ],
            CountRows::Key(r) => {
                vec![String::from_utf8_lossy(&r[j].key).into_owned(), r[j].count.to_string()]
            }
        }
    }
}

/// A normalized pattern with its placeholders coloured (TIMESTAMP 9, UUID 14, EMAIL 12, IP 10,
/// MAC 11, NUM 3).
fn placeholders(key: &str) -> Line<'static> {
    let mut spans = Vec::new();
    let mut rest = key;
    let names = [
        ("#TIMESTAMP#", 9),
        ("#UUID#", 14),
        ("#EMAIL#", 12),
        ("#IP#", 10),
        ("#MAC#", 11),
        ("#NUM#", 3),
    ];
    while !rest.is_empty() {
        let next = names
            .iter()
            .filter_map(|(n, c)| rest.find(n).map(|at| (at, *n, *c)))
            .min_by_key(|x| x.0);
        match next {
            Some((at, n, c)) => {
                if at > 0 {
                    spans.push(ratatui::text::Span::raw(rest[..at].to_string()));
                }
                spans.push(ratatui::text::Span::styled(
                    n.to_string(),
                    Style::new().fg(Color::Indexed(c)),
                ));
                rest = &rest[at + n.len()..];
            }
            None => {
                spans.push(ratatui::text::Span::raw(rest.to_string()));
                break;
            }
        }
    }
    Line::from(spans)
}

/// State of the extract view.
#[derive(Debug, Clone)]
pub struct ExtractView {
    /// Column name of the value.
    pub name: String,
    /// Rows in time order.
    pub rows: Vec<ExtractRow>,
    /// Row indices in sort order.
    pub order: Vec<usize>,
    /// Sort state.
    pub sort: Sort,
    /// Selection.
    pub cursor: Cursor,
    /// The statistics view is shown (`i`).
    pub stats: Option<ExtractStats>,
    /// Totals once the job is done.
    pub done: Option<Summary>,
    /// Cancelled: the rows are partial.
    pub cancelled: bool,
    /// Time the job took.
    pub took: Duration,
    /// Open the statistics view when the job is done (`--stats`).
    pub stats_when_done: bool,
}

/// Statistics rows: label and accessor.
pub const STAT_ROWS: [&str; 6] = ["Min", "Max", "Mean", "Median", "Mode", "Variance"];

fn stat(c: &extract::ColumnStats, i: usize) -> f64 {
    [c.min, c.max, c.mean, c.median, c.mode, c.variance][i]
}

impl ExtractView {
    /// An empty view.
    pub fn new(name: &str) -> Self {
        ExtractView {
            name: name.to_string(),
            rows: Vec::new(),
            order: Vec::new(),
            sort: Sort::default(),
            cursor: Cursor::default(),
            stats: None,
            done: None,
            cancelled: false,
            took: Duration::ZERO,
            stats_when_done: false,
        }
    }

    /// Appends streamed rows (after the sorted ones: sorting every batch of a long stream
    /// would cost O(n² log n); [`ExtractView::finish`] sorts once).
    pub fn push(&mut self, rows: Vec<ExtractRow>) {
        let n = self.rows.len();
        self.rows.extend(rows);
        self.order.extend(n..self.rows.len());
    }

    /// The job is done: apply the sort chosen while rows were streaming.
    pub fn finish(&mut self) {
        if let Some(k) = self.sort.key {
            self.resort(k);
        }
    }

    fn resort(&mut self, key: char) {
        let r = &self.rows;
        let mut order: Vec<usize> = (0..r.len()).collect();
        match key {
            'v' => order.sort_by(|&a, &b| {
                let (x, y) = (&r[a].value, &r[b].value);
                let num =
                    |v: &[u8]| std::str::from_utf8(v).ok().and_then(|s| s.parse::<f64>().ok());
                match (num(x), num(y)) {
                    (Some(p), Some(q)) => p.total_cmp(&q),
                    _ => x.cmp(y),
                }
            }),
            'd' => order.sort_by(|&a, &b| r[a].delta.total_cmp(&r[b].delta)),
            'p' => order.sort_by(|&a, &b| r[a].ps.total_cmp(&r[b].ps)),
            _ => order.sort_by_key(|&i| r[i].time),
        }
        self.order = order;
    }

    /// Row at display position `i`.
    pub fn at(&self, i: usize) -> Option<&ExtractRow> {
        let j = if self.sort.reversed { self.order.len().checked_sub(i + 1)? } else { i };
        self.order.get(j).and_then(|&k| self.rows.get(k))
    }

    /// Key help.
    pub fn help(&self) -> &'static str {
        if self.stats.is_some() {
            "i: Back / g/h: Chart / s: Save / q: Quit"
        } else {
            "t/v/d/p: Sort / i: Stats / enter: Detail / g/h: Chart / s: Save / q: Quit"
        }
    }

    /// `Results <rows>/<hit>/<lines> s:<D> m:<mean>`.
    pub fn title(&self, live: Option<(u64, Duration)>) -> String {
        let n = self.rows.len();
        let mean =
            if n > 0 { self.rows.iter().map(|r| r.num).sum::<f64>() / n as f64 } else { 0.0 };
        let (hits, read, took) = match (&self.done, live) {
            (_, Some((read, el))) => (n as u64, read, el),
            (Some(s), None) => (s.hits, s.rows_read, self.took),
            (None, None) => (n as u64, 0, self.took),
        };
        let mut t = format!(
            "Results {}/{}/{} s:{} m:{}",
            comma(n as u64),
            comma(hits),
            comma(read),
            format::took(took),
            format::num3(mean)
        );
        if self.cancelled {
            t.push_str(" (cancelled)");
        }
        t
    }

    /// Handles a view key.
    pub fn key(&mut self, k: KeyEvent, page: usize, utc: bool) -> Effect {
        if self.stats.is_some() {
            return match k.code {
                KeyCode::Char('i') | KeyCode::Esc => {
                    self.stats = None;
                    Effect::Handled
                }
                KeyCode::Char('s') => Effect::Prompt(PromptKind::Save, String::new()),
                // The statistics summarise the same series the chart draws.
                KeyCode::Char('g') => chart::show(chart::of_extract(self, utc)),
                KeyCode::Char('h') => chart::html(chart::of_extract(self, utc)),
                _ => Effect::None,
            };
        }
        if self.cursor.key(k, self.rows.len(), page) {
            return Effect::None;
        }
        let sort = match k.code {
            KeyCode::Char(c @ ('t' | 'v' | 'd' | 'p')) => Some(c),
            KeyCode::Char('i') => {
                match extract::stats_of(&self.rows) {
                    Some(s) => self.stats = Some(s),
                    None => return Effect::Status("no values for statistics".into(), true),
                }
                None
            }
            KeyCode::Char('s') => return Effect::Prompt(PromptKind::Save, String::new()),
            KeyCode::Char('g') => return chart::show(chart::of_extract(self, utc)),
            KeyCode::Char('h') => return chart::html(chart::of_extract(self, utc)),
            KeyCode::Enter => {
                let Some(r) = self.at(self.cursor.sel) else { return Effect::None };
                let text = vec![
                    Line::from(format!("Time: {}", crate::model::format_rfc3339(r.time, utc))),
                    Line::from(format!("{}: {}", self.name, String::from_utf8_lossy(&r.value))),
                    Line::from(format!("Delta: {}", format::num3(r.delta))),
                    Line::from(format!("PS: {}", format::num3(r.ps))),
                ];
                return Effect::Detail(Detail { title: self.name.clone(), text: Text::from(text) });
            }
            _ => None,
        };
        if let Some(key) = sort
            && self.sort.press(key)
        {
            self.resort(key);
        }
        Effect::None
    }

    /// Draws the table or the stats view.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, running: bool, utc: bool) {
        let cursor = if self.stats.is_some() { None } else { Some(self.cursor) };
        draw_table(f, area, self, cursor, running, utc);
    }
}

/// The rows, or in the stats view the statistics (both saved as shown, except the rows'
/// Delta and PS, saved with 3 decimals and no thousands commas as upstream).
impl Tabular for ExtractView {
    fn header(&self) -> Vec<String> {
        let first = if self.stats.is_some() { "Stats" } else { "Time" };
        vec![first.into(), self.name.clone(), "Delta".into(), "PS".into()]
    }

    fn len(&self) -> usize {
        if self.stats.is_some() { STAT_ROWS.len() } else { self.rows.len() }
    }

    fn cells(&self, i: usize, utc: bool) -> Vec<String> {
        if let Some(s) = &self.stats {
            return vec![
                STAT_ROWS[i].to_string(),
                format::num3(stat(&s.value, i)),
                format::num3(stat(&s.delta, i)),
                format::num3(stat(&s.ps, i)),
            ];
        }
        let Some(r) = self.at(i) else { return Vec::new() };
        vec![
            format::millis(r.time, utc),
            String::from_utf8_lossy(&r.value).into_owned(),
            format::num3(r.delta),
            format::num3(r.ps),
        ]
    }

    fn columns(&self) -> (Vec<Constraint>, Vec<bool>) {
        // The value keeps at least 10 columns on a narrow terminal.
        let widths = vec![
            Constraint::Length(24),
            Constraint::Min(10),
            Constraint::Length(16),
            Constraint::Length(16),
        ];
        (widths, vec![false, false, true, true])
    }

    fn file_cells(&self, i: usize, utc: bool) -> Vec<String> {
        match (self.stats.is_some(), self.at(i)) {
            (false, Some(r)) => vec![
                format::millis(r.time, utc),
                String::from_utf8_lossy(&r.value).into_owned(),
                format!("{:.3}", r.delta),
                format!("{:.3}", r.ps),
            ],
            _ => self.cells(i, utc),
        }
    }
}

/// A detail view: one row in full (enter on a table row).
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    /// Shown in the header.
    pub title: String,
    /// The content (wrapped).
    pub text: Text<'static>,
}

impl Detail {
    /// Draws the text.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect) {
        f.render_widget(Paragraph::new(self.text.clone()).wrap(Wrap { trim: false }), area);
    }
}
