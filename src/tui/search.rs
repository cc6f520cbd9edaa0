//! The search view: a scrollable list of matching records (spec §6.1).

use std::time::Duration;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::app::{Effect, SearchInit};
use super::color::{self, FilterHints, Rule};
use super::prompt::PromptKind;
use super::worker::{Job, LogLine, SearchQuery, Summary};

/// State of a search view.
#[derive(Debug, Clone)]
pub struct SearchView {
    /// Hits in arrival (time) order.
    pub lines: Vec<LogLine>,
    /// The query these hits answer.
    pub query: SearchQuery,
    /// `-r` and `-f`, for the `filter` colour mode.
    base_hints: FilterHints,
    /// The colour modes as typed.
    pub color_spec: String,
    rules: Vec<Rule>,
    /// The marker as typed.
    pub marker_spec: String,
    marker: Option<Rule>,
    /// Newest first.
    pub reversed: bool,
    /// Soft-wrap long lines.
    pub wrap: bool,
    /// Pretty-print JSON lines.
    pub pretty: bool,
    /// First shown record (display order).
    pub top: usize,
    /// Horizontal scroll (columns) when not wrapping.
    pub hscroll: u16,
    /// Totals once the job is done.
    pub done: Option<Summary>,
    /// The job was cancelled: the hits are partial.
    pub cancelled: bool,
    /// Time the job took.
    pub took: Duration,
    /// Shown after the header (the time range of a drill-down).
    pub label: Option<String>,
}

/// Help shown at the top right.
pub const HELP: &str =
    "s: Save / r: Reverse / m: Marker / c: Color / p/d: Format / w: Wrap / f: Filter / q: Quit";

impl SearchView {
    /// A view for `init` (no hits yet); fails on an invalid colour mode.
    pub fn new(init: &SearchInit) -> Result<Self, String> {
        let base_hints = FilterHints { regex: init.regex.clone(), simple: init.simple.clone() };
        let mut v = SearchView {
            lines: Vec::new(),
            query: init.query.clone(),
            base_hints,
            color_spec: String::new(),
            rules: Vec::new(),
            marker_spec: String::new(),
            marker: None,
            reversed: init.reverse,
            wrap: init.wrap,
            pretty: false,
            top: 0,
            hscroll: 0,
            done: None,
            cancelled: false,
            took: Duration::ZERO,
            label: None,
        };
        v.set_colors(&init.color)?;
        Ok(v)
    }

    fn hints(&self) -> FilterHints {
        let mut h = self.base_hints.clone();
        h.simple.extend(self.query.filters.iter().filter(|f| !f.starts_with('^')).cloned());
        h
    }

    /// Sets the colour modes; on error the old ones stay.
    pub fn set_colors(&mut self, spec: &str) -> Result<(), String> {
        self.rules = color::parse_modes(spec, &self.hints())?;
        self.color_spec = spec.to_string();
        Ok(())
    }

    /// Sets the marker; on error the old one stays.
    pub fn set_marker(&mut self, spec: &str) -> Result<(), String> {
        self.marker = color::parse_marker(spec)?;
        self.marker_spec = spec.to_string();
        Ok(())
    }

    /// Replaces the filters and clears the hits; returns the job that refills them.
    pub fn refilter(&mut self, text: &str) -> Job {
        self.query.filters = text.split_whitespace().map(str::to_string).collect();
        // The `filter` colour mode follows the new filters (the spec was valid before).
        let spec = self.color_spec.clone();
        if self.set_colors(&spec).is_err() {
            self.rules.clear();
        }
        self.restart();
        Job::Search(self.query.clone())
    }

    /// Clears the results for a new run.
    pub fn restart(&mut self) {
        self.lines.clear();
        self.top = 0;
        self.done = None;
        self.cancelled = false;
    }

    /// The record at display position `i`.
    pub fn at(&self, i: usize) -> Option<&LogLine> {
        if self.reversed {
            self.lines.len().checked_sub(i + 1).and_then(|j| self.lines.get(j))
        } else {
            self.lines.get(i)
        }
    }

    /// Records in display order (what saving writes).
    pub fn ordered(&self) -> impl Iterator<Item = &LogLine> {
        (0..self.lines.len()).filter_map(|i| self.at(i))
    }

    /// Handles a view key; `page` is the body height.
    pub fn key(&mut self, k: KeyEvent, page: usize) -> Effect {
        let last = self.lines.len().saturating_sub(1);
        match k.code {
            KeyCode::Char('s') => return Effect::Prompt(PromptKind::Save, String::new()),
            KeyCode::Char('r') => self.reversed = !self.reversed,
            KeyCode::Char('c' | 'C') => {
                return Effect::Prompt(PromptKind::Color, self.color_spec.clone());
            }
            KeyCode::Char('m' | 'M') => {
                return Effect::Prompt(PromptKind::Marker, self.marker_spec.clone());
            }
            KeyCode::Char('f' | '/') => {
                return Effect::Prompt(PromptKind::Filter, self.query.filters.join(" "));
            }
            KeyCode::Char('p') => self.pretty = true,
            KeyCode::Char('d') => self.pretty = false,
            KeyCode::Char('w') => self.wrap = !self.wrap,
            KeyCode::Up | KeyCode::Char('k') => self.top = self.top.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => self.top = (self.top + 1).min(last),
            KeyCode::PageUp | KeyCode::Char('b') => self.top = self.top.saturating_sub(page.max(1)),
            KeyCode::PageDown | KeyCode::Char(' ') => {
                self.top = (self.top + page.max(1)).min(last);
            }
            KeyCode::Home => self.top = 0,
            // The last page full (records may take several rows when wrapped or pretty).
            KeyCode::End if self.wrap || self.pretty => self.top = last,
            KeyCode::End => self.top = self.lines.len().saturating_sub(page.max(1)),
            KeyCode::Left if !self.wrap => self.hscroll = self.hscroll.saturating_sub(1),
            KeyCode::Right if !self.wrap => self.hscroll = self.hscroll.saturating_add(1),
            _ => {}
        }
        Effect::None
    }

    /// `Results <hit>/<lines> s:<D> <percent>%`, from the live progress while running.
    pub fn title(&self, live: Option<(u64, Duration)>) -> String {
        let (hits, read, took) = match (&self.done, live) {
            (_, Some((read, el))) => (self.lines.len() as u64, read, el),
            (Some(s), None) => (s.hits, s.rows_read, self.took),
            (None, None) => (self.lines.len() as u64, 0, self.took),
        };
        let pct = if self.lines.is_empty() { 100 } else { (self.top + 1) * 100 / self.lines.len() };
        let mut t = format!(
            "Results {}/{} s:{} {pct}%",
            crate::output::human::comma(hits),
            crate::output::human::comma(read),
            super::format::took(took)
        );
        if let Some(l) = &self.label {
            t.push(' ');
            t.push_str(l);
        }
        if self.cancelled {
            t.push_str(" (cancelled)");
        }
        t
    }

    /// Draws the records into `area`.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, running: bool) {
        if self.lines.is_empty() {
            let msg = if running { "Searching..." } else { "No results" };
            let p = Paragraph::new(Line::styled(msg, Style::new().add_modifier(Modifier::DIM)));
            f.render_widget(p, area);
            return;
        }
        let h = usize::from(area.height);
        let mut out: Vec<Line<'static>> = Vec::with_capacity(h);
        let mut i = self.top.min(self.lines.len() - 1);
        while out.len() < h {
            let Some(rec) = self.at(i) else { break };
            let pretty = if self.pretty { pretty_json(&rec.text) } else { None };
            match pretty {
                Some(p) => {
                    out.extend(
                        p.lines().map(|l| color::highlight(l, &self.rules, self.marker.as_ref())),
                    );
                }
                None => out.push(color::highlight(&rec.text, &self.rules, self.marker.as_ref())),
            }
            i += 1;
        }
        let p = Paragraph::new(out);
        let p = if self.wrap { p.wrap(Wrap { trim: false }) } else { p.scroll((0, self.hscroll)) };
        f.render_widget(p, area);
    }
}

/// `text` pretty-printed (2-space indent) when it is valid JSON.
pub fn pretty_json(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    serde_json::to_string_pretty(&v).ok()
}
