//! Views of the analyzers (spec §6.4–§6.9): tfidf, anomaly, delay, time and relation share
//! one table view ([`AnalysisView`]) over generic rows ([`ARow`]: a time, numbers, strings)
//! whose columns, sort keys, detail text and chart depend on the [`Kind`]; heatmap has its
//! own grid view ([`HeatmapView`]).
//!
//! Keys (upstream's; the same sort key again reverses):
//! * tfidf: `i` min, `e` mean, `a` max; no chart (upstream has none: `g`/`h` say so, and
//!   saving `.png`/`.html` is refused with a message instead of upstream's silent no-op);
//! * anomaly: `r` reverses (rows come highest score first); no chart, as tfidf;
//! * delay: `d` delay, `t` time; chart: delay over time (`TWSLA Delay`);
//! * time: `d` diff, `t` time, `l` delta, `m`/`M` marks the selected row (Diff is recomputed
//!   relative to it); a stats line (`Mean Median Mode StdDiv` of the deltas, and the selected
//!   row's Diff and Delta); chart: delta over time (`TWSLA Delta Time`, `Delta(Sec)`);
//! * relation: `c` count, `0`–`9` the value column; chart: the graph of values (nodes
//!   coloured by column, edges between adjacent columns, `TWSLA relation graph`);
//! * heatmap: a grid, one row per date (or weekday with `-w`) and one column per hour, cells
//!   coloured by count; arrows move, `enter` on a date cell searches that hour (like count's
//!   bucket drill-down), on a weekday cell that hour of every such weekday, `g` shows the
//!   chart module's heatmap, `h` opens it as HTML; `t` switches to upstream's table of the
//!   cells, where `k` sorts by date/weekday and hour and `c` by count (either key in the grid
//!   opens the table).
//!
//! Every view: `enter` the detail view, `s` saves (`.tsv` tab-separated, `.png`/`.html` the
//! chart where there is one, anything else CSV).
//!
//! Memory: the rows the analysis delivered (as upstream), their sort order, and for
//! relation the graph's nodes and edges.

use std::time::Duration;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::Paragraph;

use super::app::{Effect, SearchInit};
use super::chart::{self, ChartView};
use super::format;
use super::prompt::PromptKind;
use super::table::{Cursor, Detail, Sort, Tabular, draw_table};
use super::worker::Summary;
use crate::analyze::heatmap::{self, Day, HeatmapRow, WEEKDAYS};
use crate::analyze::relation;
use crate::analyze::timeview::TimeSummary;
use crate::chart::{ChartSpec, Series, TimeSeries};
use crate::model::Nanos;
use crate::model::civil_from_days;
use crate::output::human::comma;
use crate::query::TimeRange;

/// Which analyzer a table view shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Rare lines: numbers `[min, mean, max]`, strings `[log]`.
    Tfidf,
    /// Anomaly scores: numbers `[score]`, strings `[log]`.
    Anomaly,
    /// Delays: numbers `[delay seconds]`, strings `[log]`.
    Delay,
    /// Time gaps: numbers `[index]`, strings `[log]` (Diff and Delta come from the times).
    Time,
    /// Relation tuples: numbers `[count]`, strings = one value per item.
    Relation(Vec<String>),
}

/// One row of an analyzer, as the UI keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct ARow {
    /// Timestamp (ns; 0 for relation tuples).
    pub time: Nanos,
    /// The numbers (see [`Kind`]).
    pub nums: Box<[f64]>,
    /// The strings (see [`Kind`]).
    pub strs: Box<[Box<str>]>,
}

impl ARow {
    /// A row of a time and a log line with numbers.
    pub fn log(time: Nanos, nums: &[f64], text: &[u8]) -> ARow {
        let text = String::from_utf8_lossy(text).into_owned().into_boxed_str();
        ARow { time, nums: nums.into(), strs: vec![text].into_boxed_slice() }
    }
}

/// What an analysis delivers besides its rows (once, at its end).
#[derive(Debug, Clone, PartialEq)]
pub enum Extra {
    /// `time`: the statistics of the gaps (two rows or more).
    Time(Option<TimeSummary>),
    /// `relation`: the graph.
    Graph(Vec<relation::Node>, Vec<relation::Edge>),
    /// `heatmap`: the cells.
    Heatmap(Vec<HeatmapRow>),
}

/// How an analyzer view starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisInit {
    /// The analyzer.
    pub kind: Kind,
    /// `time -m`: the first marked row.
    pub mark: usize,
}

/// How the heatmap view starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeatmapInit {
    /// `-w`: rows are weekdays.
    pub week: bool,
    /// The search a date cell drills down to.
    pub search: SearchInit,
    /// The command's time range.
    pub range: TimeRange,
}

/// State of an analyzer table view.
#[derive(Debug, Clone)]
pub struct AnalysisView {
    /// The analyzer.
    pub kind: Kind,
    /// Rows as delivered.
    pub rows: Vec<ARow>,
    /// Row indices in sort order.
    pub order: Vec<usize>,
    /// Sort state.
    pub sort: Sort,
    /// Selection.
    pub cursor: Cursor,
    /// The marked row of `time` (index into `rows`).
    pub mark: usize,
    /// Gap statistics of `time`.
    pub stats: Option<TimeSummary>,
    /// The relation graph.
    pub graph: (Vec<relation::Node>, Vec<relation::Edge>),
    /// Totals once the job is done.
    pub done: Option<Summary>,
    /// Cancelled: the rows are partial.
    pub cancelled: bool,
    /// Time the job took.
    pub took: Duration,
}

fn secs(ns: i64) -> f64 {
    ns as f64 / 1e9
}

fn ms_duration(ns: i64) -> String {
    let s = crate::output::human::go_duration(Duration::from_millis(
        (ns.unsigned_abs() / 1_000_000).min(u64::MAX / 2),
    ));
    if ns < 0 { format!("-{s}") } else { s }
}

impl AnalysisView {
    /// An empty view.
    pub fn new(init: &AnalysisInit) -> Self {
        AnalysisView {
            kind: init.kind.clone(),
            rows: Vec::new(),
            order: Vec::new(),
            sort: Sort::default(),
            cursor: Cursor::default(),
            mark: init.mark,
            stats: None,
            graph: (Vec::new(), Vec::new()),
            done: None,
            cancelled: false,
            took: Duration::ZERO,
        }
    }

    /// Appends streamed rows (sorted once at the end, see [`AnalysisView::finish`]).
    pub fn push(&mut self, rows: Vec<ARow>) {
        let n = self.rows.len();
        self.rows.extend(rows);
        self.order.extend(n..self.rows.len());
    }

    /// Takes the analysis' extra data.
    pub fn extra(&mut self, e: Extra) {
        match e {
            Extra::Time(s) => self.stats = s,
            Extra::Graph(n, e) => self.graph = (n, e),
            Extra::Heatmap(_) => {}
        }
    }

    /// The job is done: apply the sort chosen while rows were streaming.
    pub fn finish(&mut self) {
        if let Some(k) = self.sort.key {
            self.resort(k);
        }
    }

    /// Diff of row `j` (ns, relative to the marked row).
    pub fn diff(&self, j: usize) -> i64 {
        // A mark beyond the rows (`time -m`, reported as an error) counts from the first row.
        let base = self.rows.get(self.mark).or(self.rows.first()).map_or(0, |r| r.time);
        self.rows.get(j).map_or(0, |r| r.time.saturating_sub(base))
    }

    /// Delta of row `j` (ns, to the previous row in time order; 0 for the first).
    pub fn delta(&self, j: usize) -> i64 {
        match (j.checked_sub(1).and_then(|p| self.rows.get(p)), self.rows.get(j)) {
            (Some(p), Some(r)) => r.time.saturating_sub(p.time),
            _ => 0,
        }
    }

    fn resort(&mut self, key: char) {
        let mut order: Vec<usize> = (0..self.rows.len()).collect();
        let r = &self.rows;
        let num = |i: usize, k: usize| r[i].nums.get(k).copied().unwrap_or(f64::NAN);
        match (&self.kind, key) {
            (Kind::Tfidf, 'i') => order.sort_by(|&a, &b| num(a, 0).total_cmp(&num(b, 0))),
            (Kind::Tfidf, 'e') => order.sort_by(|&a, &b| num(a, 1).total_cmp(&num(b, 1))),
            (Kind::Tfidf, 'a') => order.sort_by(|&a, &b| num(a, 2).total_cmp(&num(b, 2))),
            (Kind::Delay, 'd') => order.sort_by(|&a, &b| num(a, 0).total_cmp(&num(b, 0))),
            (Kind::Delay | Kind::Time, 't') => order.sort_by_key(|&i| (r[i].time, i)),
            (Kind::Time, 'd') => order.sort_by_key(|&i| (self.diff(i), i)),
            (Kind::Time, 'l') => order.sort_by_key(|&i| (self.delta(i), i)),
            (Kind::Relation(_), 'c') => order.sort_by(|&a, &b| num(a, 0).total_cmp(&num(b, 0))),
            (Kind::Relation(_), c) if c.is_ascii_digit() => {
                let k = usize::from(c as u8 - b'0');
                order.sort_by(|&a, &b| r[a].strs.get(k).cmp(&r[b].strs.get(k)));
            }
            _ => {}
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
        match self.kind {
            Kind::Tfidf => "i/e/a: Sort min/mean/max / enter: Detail / s: Save / q: Quit",
            Kind::Anomaly => "r: Reverse / enter: Detail / s: Save / q: Quit",
            Kind::Delay => "d/t: Sort delay/time / enter: Detail / g/h: Chart / s: Save / q: Quit",
            Kind::Time => {
                "m: Mark / d/t/l: Sort diff/time/delta / enter: Detail / g/h: Chart / s: Save / q: Quit"
            }
            Kind::Relation(_) => {
                "c: Sort count / 0-9: Sort column / enter: Detail / g/h: Chart / s: Save / q: Quit"
            }
        }
    }

    /// `Results <rows>/<hit>/<lines> s:<D>` (and `m:<mean>` for relation).
    pub fn title(&self, live: Option<(u64, u64, Duration)>) -> String {
        let n = self.rows.len() as u64;
        let (hits, read, took) = match (&self.done, live) {
            (_, Some((hits, read, el))) => (hits, read, el),
            (Some(s), None) => (s.hits, s.rows_read, self.took),
            (None, None) => (0, 0, self.took),
        };
        let mut t = match self.kind {
            Kind::Anomaly => format!(
                "Results {}/{} {} s:{}",
                comma(hits),
                comma(read),
                comma(n),
                format::took(took)
            ),
            _ => format!(
                "Results {}/{}/{} s:{}",
                comma(n),
                comma(hits),
                comma(read),
                format::took(took)
            ),
        };
        if let Kind::Relation(_) = self.kind {
            let m = if n > 0 { hits as f64 / n as f64 } else { 0.0 };
            t.push_str(&format!(" m:{m:.3}"));
        }
        if self.cancelled {
            t.push_str(" (cancelled)");
        }
        t
    }

    /// The `time` stats line: `Mean Median Mode StdDiv` and the selected row's Diff and Delta.
    pub fn stats_line(&self) -> String {
        let mut s = match &self.stats {
            Some(st) => {
                let mode: Vec<String> = st.mode.iter().map(|m| format!("{m}")).collect();
                format!(
                    "  Mean:{:.3} Median:{:.3} Mode:[{}] StdDiv:{:.3}",
                    st.mean,
                    st.median,
                    mode.join(" "),
                    st.stddev
                )
            }
            None => String::new(),
        };
        if let Some(j) = self.at(self.cursor.sel) {
            s.push_str(&format!(
                " Diff:{} Delta:{}",
                ms_duration(self.diff(j)),
                ms_duration(self.delta(j))
            ));
        }
        s
    }

    /// The view's chart, if it has one.
    pub fn chart(&self, utc: bool) -> Option<ChartView> {
        let line = |title: &str, y: &str, f: &dyn Fn(usize) -> f64| {
            let mut points: Vec<(i64, f64)> =
                (0..self.rows.len()).map(|j| (self.rows[j].time, f(j))).collect();
            points.sort_by_key(|p| p.0);
            ChartSpec::TimeSeries(TimeSeries {
                title: title.into(),
                y_name: y.into(),
                series: vec![Series { name: y.into(), points }],
                utc,
            })
        };
        match &self.kind {
            Kind::Delay => Some(ChartView::new(
                line("TWSLA Delay", "Delay", &|j| {
                    self.rows[j].nums.first().copied().unwrap_or(0.0)
                }),
                "delayTime",
            )),
            Kind::Time => Some(ChartView::new(
                line("TWSLA Delta Time", "Delta(Sec)", &|j| secs(self.delta(j))),
                "deltaTime",
            )),
            Kind::Relation(names) => Some(ChartView::new(self.graph_spec(names), "relation")),
            Kind::Tfidf | Kind::Anomaly => None,
        }
    }

    fn graph_spec(&self, names: &[String]) -> ChartSpec {
        let (nodes, edges) = &self.graph;
        let pos: std::collections::HashMap<usize, usize> =
            nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
        ChartSpec::Graph(crate::chart::Graph {
            title: "TWSLA relation graph".into(),
            groups: names.to_vec(),
            nodes: nodes
                .iter()
                .map(|n| crate::chart::Node {
                    label: String::from_utf8_lossy(&n.value).into_owned(),
                    group: n.column,
                })
                .collect(),
            edges: edges
                .iter()
                .filter_map(|e| {
                    Some(crate::chart::Edge {
                        from: *pos.get(&e.source)?,
                        to: *pos.get(&e.target)?,
                        weight: e.count,
                    })
                })
                .collect(),
        })
    }

    fn no_chart(&self) -> Effect {
        let name = if self.kind == Kind::Tfidf { "tfidf" } else { "anomaly" };
        Effect::Status(format!("{name} has no chart (as upstream)"), true)
    }

    /// Handles a view key.
    pub fn key(&mut self, k: KeyEvent, page: usize, utc: bool) -> Effect {
        if self.cursor.key(k, self.rows.len(), page) {
            return Effect::None;
        }
        let KeyCode::Char(c) = k.code else {
            return if k.code == KeyCode::Enter { self.enter(utc) } else { Effect::None };
        };
        let sort = match (&self.kind, c) {
            (_, 's') => return Effect::Prompt(PromptKind::Save, String::new()),
            (_, 'g' | 'h') => {
                let Some(v) = self.chart(utc) else { return self.no_chart() };
                return if c == 'g' { chart::show(v) } else { chart::html(v) };
            }
            (Kind::Tfidf, 'i' | 'e' | 'a') => Some(c),
            (Kind::Anomaly, 'r') => {
                self.sort.reversed = !self.sort.reversed;
                None
            }
            (Kind::Delay, 'd' | 't') | (Kind::Time, 'd' | 't' | 'l') => Some(c),
            (Kind::Time, 'm' | 'M') => {
                if let Some(j) = self.at(self.cursor.sel) {
                    self.mark = j;
                    if self.sort.key == Some('d') {
                        self.resort('d');
                    }
                }
                None
            }
            (Kind::Relation(_), 'c') => Some('c'),
            (Kind::Relation(n), d)
                if d.is_ascii_digit() && usize::from(d as u8 - b'0') < n.len() =>
            {
                Some(d)
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

    fn enter(&self, utc: bool) -> Effect {
        let Some(j) = self.at(self.cursor.sel) else { return Effect::None };
        let r = &self.rows[j];
        let num = |k: usize| format::num3(r.nums.get(k).copied().unwrap_or(f64::NAN));
        let time = Line::from(format!("Time: {}", crate::model::format_rfc3339(r.time, utc)));
        let log = || Line::from(r.strs.first().map_or("", |s| s.as_ref()).to_string());
        let (title, lines) = match &self.kind {
            Kind::Tfidf => (
                "tfidf",
                vec![
                    time,
                    Line::from(format!("Min: {} Mean: {} Max: {}", num(0), num(1), num(2))),
                    log(),
                ],
            ),
            Kind::Anomaly => {
                ("anomaly", vec![time, Line::from(format!("Score: {}", num(0))), log()])
            }
            Kind::Delay => ("delay", vec![time, Line::from(format!("Delay: {}", num(0))), log()]),
            Kind::Time => (
                "time",
                vec![
                    time,
                    Line::from(format!(
                        "Diff: {} Delta: {}",
                        ms_duration(self.diff(j)),
                        ms_duration(self.delta(j))
                    )),
                    log(),
                ],
            ),
            Kind::Relation(names) => {
                let mut l: Vec<Line<'static>> = names
                    .iter()
                    .zip(r.strs.iter())
                    .map(|(n, v)| Line::from(format!("{n}: {v}")))
                    .collect();
                l.push(Line::from(format!(
                    "Count: {}",
                    comma(r.nums.first().copied().unwrap_or(0.0) as u64)
                )));
                ("relation", l)
            }
        };
        Effect::Detail(Detail { title: title.into(), text: Text::from(lines) })
    }

    /// Draws the table (and for `time` the stats line above it).
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, running: bool, utc: bool) {
        if self.kind == Kind::Time {
            let [stats, table] =
                Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
            f.render_widget(Paragraph::new(self.stats_line()), stats);
            return draw_table(f, table, self, Some(self.cursor), running, utc);
        }
        draw_table(f, area, self, Some(self.cursor), running, utc);
    }

    fn cells_of(&self, i: usize, utc: bool, file: bool) -> Vec<String> {
        let Some(j) = self.at(i) else { return Vec::new() };
        let r = &self.rows[j];
        let n = |k: usize| {
            let x = r.nums.get(k).copied().unwrap_or(f64::NAN);
            if file { format!("{x:.3}") } else { format::num3(x) }
        };
        let log = r.strs.first().map_or(String::new(), |s| s.replace(['\t', '\n', '\r'], " "));
        let time = || format::millis(r.time, utc);
        match &self.kind {
            Kind::Tfidf => vec![n(0), n(1), n(2), log],
            Kind::Anomaly => vec![n(0), log],
            Kind::Delay => vec![n(0), time(), log],
            Kind::Time => {
                let (d, l) = (secs(self.diff(j)), secs(self.delta(j)));
                let mut v = vec![format!("{d:.3}"), format!("{l:.3}"), time(), log];
                if !file {
                    v.insert(0, if j == self.mark { "*".into() } else { String::new() });
                }
                v
            }
            Kind::Relation(_) => {
                let mut v: Vec<String> = r.strs.iter().map(|s| s.to_string()).collect();
                let c = r.nums.first().copied().unwrap_or(0.0) as u64;
                v.push(if file { c.to_string() } else { comma(c) });
                v
            }
        }
    }
}

impl Tabular for AnalysisView {
    fn header(&self) -> Vec<String> {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        match &self.kind {
            Kind::Tfidf => v(&["Min", "Mean", "Max", "Log"]),
            Kind::Anomaly => v(&["Score", "Log"]),
            Kind::Delay => v(&["Delay", "Time", "Log"]),
            Kind::Time => v(&["", "Diff", "Delta", "Time", "Log"]),
            Kind::Relation(names) => {
                let mut h = names.clone();
                h.push("Count".into());
                h
            }
        }
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn cells(&self, i: usize, utc: bool) -> Vec<String> {
        self.cells_of(i, utc, false)
    }

    fn columns(&self) -> (Vec<Constraint>, Vec<bool>) {
        use Constraint::{Fill, Length};
        match &self.kind {
            Kind::Tfidf => {
                (vec![Length(6), Length(6), Length(6), Fill(1)], vec![true, true, true, false])
            }
            Kind::Anomaly => (vec![Length(6), Fill(1)], vec![true, false]),
            Kind::Delay => (vec![Length(12), Length(23), Fill(1)], vec![true, false, false]),
            Kind::Time => (
                vec![Length(1), Length(14), Length(12), Length(23), Fill(1)],
                vec![false, true, true, false, false],
            ),
            Kind::Relation(names) => {
                let mut w = vec![Fill(1); names.len()];
                w.push(Length(12));
                let mut r = vec![false; names.len()];
                r.push(true);
                (w, r)
            }
        }
    }

    fn file_header(&self) -> Vec<String> {
        let mut h = self.header();
        if self.kind == Kind::Time {
            h.remove(0);
        }
        h
    }

    fn file_cells(&self, i: usize, utc: bool) -> Vec<String> {
        self.cells_of(i, utc, true)
    }
}

/// State of the heatmap grid.
#[derive(Debug, Clone)]
pub struct HeatmapView {
    /// Rows are weekdays.
    pub week: bool,
    /// The cells.
    pub cells: Vec<HeatmapRow>,
    /// Row keys in order (dates or weekdays), and the grid (`grid[row][hour]`).
    pub days: Vec<Day>,
    grid: Vec<[u64; 24]>,
    /// Selected row and hour.
    pub sel: (usize, usize),
    /// The cells as a table (`t`, or a sort key) instead of the grid.
    pub table: bool,
    /// Cell indices in table order.
    pub order: Vec<usize>,
    /// Sort state of the table.
    pub sort: Sort,
    /// Selection in the table.
    pub cursor: Cursor,
    /// Totals once the job is done.
    pub done: Option<Summary>,
    /// Cancelled: the counts are partial.
    pub cancelled: bool,
    /// Time the job took.
    pub took: Duration,
    /// What a drill-down search starts from.
    pub search: SearchInit,
    /// The command's time range.
    pub range: TimeRange,
}

/// Palette of the grid, from few to many.
const HEAT: [u8; 6] = [17, 24, 30, 106, 178, 160];

impl HeatmapView {
    /// An empty view.
    pub fn new(init: &HeatmapInit) -> Self {
        HeatmapView {
            week: init.week,
            cells: Vec::new(),
            days: Vec::new(),
            grid: Vec::new(),
            sel: (0, 0),
            table: false,
            order: Vec::new(),
            sort: Sort::default(),
            cursor: Cursor::default(),
            done: None,
            cancelled: false,
            took: Duration::ZERO,
            search: init.search.clone(),
            range: init.range,
        }
    }

    /// Sets the cells.
    pub fn set(&mut self, cells: Vec<HeatmapRow>) {
        let mut days: Vec<Day> = cells.iter().map(|c| c.day).collect();
        days.sort();
        days.dedup();
        let mut grid = vec![[0u64; 24]; days.len()];
        for c in &cells {
            if let Ok(d) = days.binary_search(&c.day)
                && let Some(x) = grid[d].get_mut(usize::from(c.hour))
            {
                *x += c.count;
            }
        }
        self.order = (0..cells.len()).collect();
        (self.cells, self.days, self.grid) = (cells, days, grid);
        self.sel = (0, 0);
        if let Some(k) = self.sort.key {
            self.resort(k);
        }
    }

    fn resort(&mut self, key: char) {
        let c = &self.cells;
        let mut order: Vec<usize> = (0..c.len()).collect();
        if key == 'c' {
            order.sort_by_key(|&i| (c[i].count, c[i].day, c[i].hour));
        } else {
            order.sort_by_key(|&i| (c[i].day, c[i].hour));
        }
        self.order = order;
    }

    /// Cell index at table position `i`.
    pub fn at(&self, i: usize) -> Option<usize> {
        let j = if self.sort.reversed { self.order.len().checked_sub(i + 1)? } else { i };
        self.order.get(j).copied()
    }

    /// Label of a row.
    pub fn label(&self, d: Day) -> String {
        match d {
            Day::Date(n) => {
                let (y, m, d) = civil_from_days(n);
                format!("{y:04}/{m:02}/{d:02}")
            }
            Day::Weekday(w) => WEEKDAYS[usize::from(w) % 7].to_string(),
        }
    }

    fn max(&self) -> u64 {
        self.grid.iter().flat_map(|r| r.iter()).copied().max().unwrap_or(0)
    }

    /// Key help.
    pub fn help(&self) -> &'static str {
        if self.table {
            "k: Sort key / c: Sort count / t: Grid / enter: Search / g/h: Chart / s: Save / q: Quit"
        } else {
            "arrows: Move / k/c: Table / enter: Search / g/h: Chart / s: Save / q: Quit"
        }
    }

    /// `Results <cells>/<hit>/<lines> s:<D> m:<mean>`.
    pub fn title(&self, live: Option<(u64, u64, Duration)>) -> String {
        let n = self.cells.len() as u64;
        let (hits, read, took) = match (&self.done, live) {
            (_, Some(l)) => l,
            (Some(s), None) => (s.hits, s.rows_read, self.took),
            (None, None) => (0, 0, self.took),
        };
        let m = if n > 0 { hits as f64 / n as f64 } else { 0.0 };
        let mut t = format!(
            "Results {}/{}/{} s:{} m:{m:.3}",
            comma(n),
            comma(hits),
            comma(read),
            format::took(took)
        );
        if self.cancelled {
            t.push_str(" (cancelled)");
        }
        t
    }

    /// The chart module's heatmap of the cells.
    pub fn chart(&self) -> ChartView {
        let spec = ChartSpec::Heatmap(crate::chart::Heatmap {
            title: "TWSLA Heatmap".into(),
            x_labels: self.days.iter().map(|&d| self.label(d)).collect(),
            y_labels: (0..24).map(|h| h.to_string()).collect(),
            cells: self
                .grid
                .iter()
                .enumerate()
                .flat_map(|(x, r)| {
                    r.iter().enumerate().filter(|c| *c.1 > 0).map(move |(y, &c)| (x, y, c))
                })
                .collect(),
        });
        ChartView::new(spec, "heatmap")
    }

    /// Handles a view key.
    pub fn key(&mut self, k: KeyEvent, page: usize, utc: bool) -> Effect {
        match k.code {
            KeyCode::Char('t') => {
                self.table = !self.table;
                return Effect::Handled;
            }
            KeyCode::Char(c @ ('k' | 'c')) => {
                self.table = true;
                if self.sort.press(c) {
                    self.resort(c);
                }
                return Effect::Handled;
            }
            _ => {}
        }
        if self.table {
            if self.cursor.key(k, self.cells.len(), page) {
                return Effect::None;
            }
            if k.code == KeyCode::Enter {
                // Drill down from the selected cell, as in the grid.
                let Some(c) = self.at(self.cursor.sel).and_then(|i| self.cells.get(i)) else {
                    return Effect::None;
                };
                let row = self.days.binary_search(&c.day).unwrap_or(0);
                self.sel = (row, usize::from(c.hour).min(23));
                return self.enter(utc);
            }
        }
        let last = self.days.len().saturating_sub(1);
        let (r, h) = &mut self.sel;
        match k.code {
            KeyCode::Up => *r = r.saturating_sub(1),
            KeyCode::Down => *r = (*r + 1).min(last),
            KeyCode::PageUp => *r = r.saturating_sub(page.max(1)),
            KeyCode::PageDown => *r = (*r + page.max(1)).min(last),
            KeyCode::Left => *h = h.saturating_sub(1),
            KeyCode::Right => *h = (*h + 1).min(23),
            KeyCode::Home => *h = 0,
            KeyCode::End => *h = 23,
            KeyCode::Enter => return self.enter(utc),
            KeyCode::Char('s') => return Effect::Prompt(PromptKind::Save, String::new()),
            KeyCode::Char('g') => return chart::show(self.chart()),
            KeyCode::Char('h') => return chart::html(self.chart()),
            _ => {}
        }
        Effect::None
    }

    fn enter(&self, utc: bool) -> Effect {
        let (r, h) = self.sel;
        let Some(&day) = self.days.get(r) else { return Effect::None };
        let mut init = self.search.clone();
        let Day::Date(n) = day else {
            // The same hour of every such weekday: a search over each of them in turn.
            let Day::Weekday(w) = day else { return Effect::None };
            init.query.weekly = Some((w, h as u8));
            let label = format!("[every {} {h:02}:00 +1h0m0s]", self.label(day));
            return Effect::Drill(Box::new(init), label);
        };
        let Some(start) = heatmap::hour_start(n, h as u32, utc) else { return Effect::None };
        let end = start.saturating_add(3_600_000_000_000) - 1;
        let range = TimeRange { start: start.max(self.range.start), end: end.min(self.range.end) };
        init.query.range = Some(range);
        let label = format!("[{} {h:02}:00 +1h0m0s]", self.label(day));
        Effect::Drill(Box::new(init), label)
    }

    /// Draws the grid: a header of hours, then one row per date or weekday.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, running: bool, utc: bool) {
        if self.table {
            return draw_table(f, area, self, Some(self.cursor), running, utc);
        }
        if self.days.is_empty() {
            let msg = if running { "Scanning..." } else { "No results" };
            let dim = Style::new().add_modifier(Modifier::DIM);
            return f.render_widget(Paragraph::new(Line::styled(msg, dim)), area);
        }
        let lw = if self.week { 9 } else { 10 };
        let cw = (usize::from(area.width).saturating_sub(lw + 1) / 24).clamp(1, 6);
        let max = self.max().max(1);
        let head_style = Style::new().add_modifier(Modifier::BOLD).fg(Color::Indexed(12));
        let mut head = vec![Span::styled(
            format!("{:<lw$} ", if self.week { "Weekday" } else { "Date" }),
            head_style,
        )];
        for h in 0..24 {
            let s = format!("{h:>cw$}");
            head.push(Span::styled(cut_left(&s, cw), head_style));
        }
        let rows_h = usize::from(area.height.saturating_sub(2)).max(1);
        let top = (self.sel.0 + 1).saturating_sub(rows_h);
        let mut lines = vec![Line::from(head)];
        for (ri, row) in self.grid.iter().enumerate().skip(top).take(rows_h) {
            let mut spans = vec![Span::raw(format!("{:<lw$} ", self.label(self.days[ri])))];
            for (h, &c) in row.iter().enumerate() {
                let level = if c == 0 {
                    None
                } else {
                    Some(((c as f64 / max as f64) * (HEAT.len() - 1) as f64).round() as usize)
                };
                let mut st = match level {
                    Some(l) => Style::new()
                        .bg(Color::Indexed(HEAT[l.min(HEAT.len() - 1)]))
                        .fg(Color::White),
                    None => Style::new().fg(Color::Indexed(8)),
                };
                if (ri, h) == self.sel {
                    st = st.add_modifier(Modifier::REVERSED);
                }
                let text = if c == 0 {
                    format!("{:>cw$}", ".")
                } else {
                    format!("{:>cw$}", short(c, cw.saturating_sub(1).max(1)))
                };
                spans.push(Span::styled(text, st));
            }
            lines.push(Line::from(spans));
        }
        let (r, h) = self.sel;
        let sel = self.grid.get(r).map_or(0, |row| row[h]);
        let day = self.days.get(r).map_or(String::new(), |&d| self.label(d));
        lines.push(Line::from(format!("{day} {h:02}:00 Count: {}", comma(sel))));
        f.render_widget(Paragraph::new(lines), area);
    }
}

/// The last `n` characters of `s` (right-aligned cells keep their end).
fn cut_left(s: &str, n: usize) -> String {
    let c: Vec<char> = s.chars().collect();
    c[c.len().saturating_sub(n)..].iter().collect()
}

/// A count in at most `w` characters: `1200`, `1.2k`, `1k`, `12M`, ..., else `#`.
fn short(c: u64, w: usize) -> String {
    let x = c as f64;
    let mut tries = vec![c.to_string()];
    for (unit, div) in [("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12)] {
        if x >= div {
            tries.push(format!("{:.1}{unit}", x / div));
            tries.push(format!("{}{unit}", (x / div).floor()));
        }
    }
    tries.into_iter().find(|s| s.len() <= w).unwrap_or_else(|| "#".into())
}

/// The heatmap as a table (`t`) and as saved (in the table's order): `Date|Weekday,Hour,Count`.
impl Tabular for HeatmapView {
    fn header(&self) -> Vec<String> {
        vec![if self.week { "Weekday" } else { "Date" }.into(), "Hour".into(), "Count".into()]
    }

    fn len(&self) -> usize {
        self.cells.len()
    }

    fn cells(&self, i: usize, _utc: bool) -> Vec<String> {
        let Some(c) = self.at(i).and_then(|j| self.cells.get(j)) else { return Vec::new() };
        vec![self.label(c.day), c.hour.to_string(), comma(c.count)]
    }

    fn file_cells(&self, i: usize, _utc: bool) -> Vec<String> {
        let Some(c) = self.at(i).and_then(|j| self.cells.get(j)) else { return Vec::new() };
        vec![self.label(c.day), c.hour.to_string(), c.count.to_string()]
    }

    fn columns(&self) -> (Vec<Constraint>, Vec<bool>) {
        (
            vec![Constraint::Length(10), Constraint::Length(4), Constraint::Length(10)],
            vec![false, true, true],
        )
    }
}

#[cfg(test)]
pub(super) fn short_for_tests(c: u64, w: usize) -> String {
    short(c, w)
}
