//! Drawing: a pure function of [`App`] to a frame.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Gauge, Paragraph};

use super::app::{App, View};
use super::format;
use super::search;
use super::worker::Progress;
use crate::output::human::comma;

/// Draws the app: header (title left, key help top right), the top view, the progress panel
/// while a job runs, and the prompt or message line.
pub fn render(app: &App, f: &mut Frame<'_>) {
    let p = app.progress;
    let progress_h = if p.running { 4 } else { 0 };
    let [head, body, prog, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(progress_h),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let live_read = p.running.then_some((p.rows_read, p.elapsed));
    let (title, help) = match app.top() {
        View::Search(v) => (v.title(live_read), search::HELP),
        View::Count(v) => {
            (v.title(p.running.then_some((p.hits, p.rows_read, p.elapsed))), v.help())
        }
        View::Extract(v) => (v.title(live_read), v.help()),
        View::Analysis(v) => {
            (v.title(p.running.then_some((p.hits, p.rows_read, p.elapsed))), v.help())
        }
        View::Heatmap(v) => {
            (v.title(p.running.then_some((p.hits, p.rows_read, p.elapsed))), v.help())
        }
        View::Detail(d) => (d.title.clone(), "enter/q: Back"),
        View::Chart(c) => (c.spec.title().to_string(), super::chart::HELP),
    };
    let help = if p.running { "q/esc/ctrl+c: Cancel" } else { help };
    header(f, head, &title, help);
    match app.top() {
        View::Search(v) => v.render(f, body, p.running),
        View::Count(v) => v.render(f, body, p.running, app.utc),
        View::Extract(v) => v.render(f, body, p.running, app.utc),
        View::Analysis(v) => v.render(f, body, p.running, app.utc),
        View::Heatmap(v) => v.render(f, body, p.running, app.utc),
        View::Detail(d) => d.render(f, body),
        View::Chart(c) => c.render(f, body, app.sixel.then_some(app.cell_px)),
    }
    if p.running {
        progress(f, prog, &p);
    }
    footer(app, f, foot);
}

/// The key help that fits in `width` columns: whole entries, dropped from the front, so the
/// last ones (`q: Quit`) stay.
pub fn fit_help(help: &str, width: usize) -> String {
    let entries: Vec<&str> = help.split(" / ").collect();
    for skip in 0..entries.len() {
        let s = entries[skip..].join(" / ");
        if s.chars().count() <= width {
            return s;
        }
    }
    String::new()
}

fn header(f: &mut Frame<'_>, area: Rect, title: &str, help: &str) {
    let help_style = Style::new().fg(Color::Indexed(8));
    // The title wins: the help gets what is left after it and a gap of two columns.
    let room = usize::from(area.width).saturating_sub(title.chars().count() + 2);
    let help = fit_help(help, room);
    f.render_widget(Paragraph::new(Line::styled(help, help_style).right_aligned()), area);
    let tw = (title.chars().count() as u16 + 1).min(area.width);
    let title_area = Rect { width: tw, ..area };
    f.render_widget(
        Paragraph::new(Line::styled(
            format!("{title} "),
            Style::new().add_modifier(Modifier::BOLD),
        )),
        title_area,
    );
}

fn progress(f: &mut Frame<'_>, area: Rect, p: &Progress) {
    let (phase, done, total) = p.phase;
    let title = if p.cancelling {
        " Cancelling... ".to_string()
    } else if phase.is_empty() {
        " Scanning (q: cancel) ".to_string()
    } else {
        format!(" {phase} (q: cancel) ")
    };
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let secs = p.elapsed.as_secs_f64();
    let rate = if secs > 0.0 { (p.rows_read as f64 / secs) as u64 } else { 0 };
    let mut text = format!(
        "lines={}/{} hits={} rate={} lines/s elapsed={}",
        comma(p.rows_read),
        comma(p.rows_planned),
        comma(p.hits),
        comma(rate),
        format::took(p.elapsed)
    );
    if !phase.is_empty() {
        text = if total > 0 {
            format!("{phase}: {}/{} {text}", comma(done), comma(total))
        } else {
            format!("{phase}: {} {text}", comma(done))
        };
    }
    let [line, gauge] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(inner);
    f.render_widget(Paragraph::new(text), line);
    let ratio = if !phase.is_empty() {
        if total > 0 { (done as f64 / total as f64).min(1.0) } else { 0.0 }
    } else if p.rows_planned > 0 {
        (p.rows_read as f64 / p.rows_planned as f64).min(1.0)
    } else {
        0.0
    };
    f.render_widget(
        Gauge::default().ratio(ratio).gauge_style(Style::new().fg(Color::Indexed(10))),
        gauge,
    );
}

fn footer(app: &App, f: &mut Frame<'_>, area: Rect) {
    if let Some(pr) = &app.prompt {
        let label = pr.kind.label();
        let line = Line::from(vec![
            Span::styled(label, Style::new().fg(Color::Indexed(14))),
            Span::raw(pr.text.clone()),
        ]);
        f.render_widget(Paragraph::new(line), area);
        let x = area.x + (label.chars().count() + pr.cursor) as u16;
        if x < area.right() {
            f.set_cursor_position(Position { x, y: area.y });
        }
    } else if let Some(s) = &app.status {
        let style = if s.error { Style::new().fg(Color::Indexed(9)) } else { Style::new() };
        f.render_widget(Paragraph::new(Line::styled(s.text.clone(), style)), area);
    }
}
