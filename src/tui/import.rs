//! The import screen: what `twsla import` shows while it reads, when stdout is a terminal,
//! `--ndjson` and `--quiet` are not given and no input is stdin (the keyboard must not share
//! stdin with the data).
//!
//! It shows the source being read, inputs done of all inputs, sources started, lines and bytes
//! with their rates, the elapsed time, a gauge of the raw input bytes read when the total size
//! is known (not for stdin or other streams), and the problems as a list that follows the
//! newest (scrollable with the arrows). `q`, `Esc` or `Ctrl-C` cancels at once (no question):
//! the screen says "Cancelling…" while the readers stop at a record boundary and what was read
//! is committed ([`crate::ingest::ImportObserver::cancelled`]); the next import of the same
//! inputs completes it.
//!
//! When the import ends (completed or cancelled) the screen is left at once and the CLI prints
//! the problems and the usual summary, so that they stay in the terminal's scrollback and a
//! command line that chains `twsla import && twsla search` never waits for a key.
//!
//! Like the analysis UI, the parts are testable headless: [`Monitor`] is the import's observer
//! (shared with the import thread), [`ImportView`] is plain data, [`render`] is a pure function
//! of it, and [`run_loop`] runs over any ratatui backend and [`Events`] source; [`show`] is the
//! only code that touches the real terminal (restored on return, error and panic).
//!
//! Memory: the progress snapshot and at most [`MAX_PROBLEMS`] problems (the newest; the count
//! of all is kept).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Result, anyhow};
use ratatui::Frame;
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Gauge, Paragraph};

use super::format;
use super::{Events, Input};
use crate::ingest::{ImportObserver, Problem, ProblemKind, Progress, Stage};
use crate::output::human::{bytes, comma};

/// Problems kept for the list (the newest).
pub const MAX_PROBLEMS: usize = 10_000;

/// What the import thread reports, picked up by the screen at each frame.
#[derive(Debug, Default)]
struct Shared {
    progress: Progress,
    /// Problems not yet taken by the screen.
    problems: Vec<Problem>,
    /// Problems not kept because the screen had not taken the others yet.
    dropped: u64,
}

/// The observer given to [`crate::ingest::run_import`]: records progress and problems for the
/// screen and answers its cancel polls.
#[derive(Debug, Default)]
pub struct Monitor {
    shared: Mutex<Shared>,
    cancel: AtomicBool,
}

impl Monitor {
    /// A monitor with nothing reported and no cancel.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the import to stop (at the next record boundary of each source).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves what was reported since the last call into `view`.
    pub fn update(&self, view: &mut ImportView) {
        let mut sh = self.lock();
        view.progress = sh.progress.clone();
        for p in sh.problems.drain(..) {
            view.push_problem(p);
        }
        view.problem_count += std::mem::take(&mut sh.dropped);
    }
}

impl ImportObserver for Monitor {
    fn progress(&self, p: &Progress) {
        self.lock().progress = p.clone();
    }
    fn problem(&self, p: &Problem) {
        let mut sh = self.lock();
        if sh.problems.len() < MAX_PROBLEMS {
            sh.problems.push(p.clone());
        } else {
            sh.dropped += 1;
        }
    }
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// The state the screen draws.
#[derive(Debug, Clone, Default)]
pub struct ImportView {
    /// The store imported into (the title).
    pub store: String,
    /// The latest progress of the import.
    pub progress: Progress,
    /// The newest problems, oldest first.
    pub problems: VecDeque<Problem>,
    /// Problems reported in all (may exceed the list).
    pub problem_count: u64,
    /// The user cancelled: the import is stopping and committing.
    pub cancelling: bool,
    /// Problems scrolled back from the newest (0: follow the newest).
    pub scroll: usize,
}

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    /// Stop the import (commit what was read).
    Cancel,
    /// Nothing for the import (maybe the view scrolled).
    None,
}

impl ImportView {
    /// An empty view of an import into `store`.
    pub fn new(store: impl Into<String>) -> Self {
        ImportView { store: store.into(), ..Self::default() }
    }

    /// Adds a problem to the list (dropping the oldest beyond [`MAX_PROBLEMS`]).
    pub fn push_problem(&mut self, p: Problem) {
        self.problem_count += 1;
        if self.problems.len() == MAX_PROBLEMS {
            self.problems.pop_front();
        }
        self.problems.push_back(p);
        if self.scroll > 0 {
            // Keep the lines in view where they are while new ones arrive.
            self.scroll = (self.scroll + 1).min(self.problems.len().saturating_sub(1));
        }
    }

    /// Applies a key: `q`, `Esc`, `Ctrl-C` cancel; arrows, PgUp/PgDn, Home/End scroll the
    /// problems.
    pub fn handle_key(&mut self, k: KeyEvent) -> KeyAction {
        let max = self.problems.len().saturating_sub(1);
        match k.code {
            KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                self.cancelling = true;
                return KeyAction::Cancel;
            }
            KeyCode::Char('q') | KeyCode::Esc => {
                self.cancelling = true;
                return KeyAction::Cancel;
            }
            KeyCode::Up | KeyCode::Char('k') => self.scroll = (self.scroll + 1).min(max),
            KeyCode::Down | KeyCode::Char('j') => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageUp => self.scroll = (self.scroll + 10).min(max),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_sub(10),
            KeyCode::Home => self.scroll = max,
            KeyCode::End => self.scroll = 0,
            _ => {}
        }
        KeyAction::None
    }
}

const HELP: &str = "↑↓ PgUp PgDn: Problems / q/esc/ctrl+c: Cancel";

/// Keeps the last `width` characters of `s`, marking a cut with `…`.
fn tail_fit(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let tail: String = s.chars().skip(n - (width - 1)).collect();
    format!("…{tail}")
}

fn per_sec(n: u64, d: Duration) -> u64 {
    let s = d.as_secs_f64();
    if s > 0.0 { (n as f64 / s) as u64 } else { 0 }
}

/// Draws the import screen: title and key help, the progress panel, the problems, and the
/// status line.
pub fn render(v: &ImportView, f: &mut Frame<'_>) {
    let [head, panel, probs, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(8),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let title = format!("twsla import → {}", v.store);
    let help = if v.cancelling { "" } else { HELP };
    let room = usize::from(head.width).saturating_sub(title.chars().count() + 2);
    f.render_widget(
        Paragraph::new(
            Line::styled(super::render::fit_help(help, room), Style::new().fg(Color::Indexed(8)))
                .right_aligned(),
        ),
        head,
    );
    let tw = (title.chars().count() as u16 + 1).min(head.width);
    f.render_widget(
        Paragraph::new(Line::styled(title, Style::new().add_modifier(Modifier::BOLD))),
        Rect { width: tw, ..head },
    );
    progress_panel(v, f, panel);
    problems(v, f, probs);
    let reading = v.progress.stage == Stage::Reading;
    // The import saw the cancel while reading, or nothing was left to stop.
    let stopped = reading || v.progress.cancelling;
    let (status, style) = if v.cancelling && !stopped {
        (
            "All input was read before the cancel: finishing the import…".to_string(),
            Style::new().fg(Color::Indexed(11)).add_modifier(Modifier::BOLD),
        )
    } else if v.cancelling {
        (
            "Cancelling… committing the records read; the next import of the same inputs reads the rest".to_string(),
            Style::new().fg(Color::Indexed(11)).add_modifier(Modifier::BOLD),
        )
    } else {
        (
            "Importing… a cancel keeps what was read; the next import of the same inputs completes it".to_string(),
            Style::new().fg(Color::Indexed(8)),
        )
    };
    f.render_widget(Paragraph::new(Line::styled(status, style)), foot);
}

fn progress_panel(v: &ImportView, f: &mut Frame<'_>, area: Rect) {
    let p = &v.progress;
    let title = match p.stage {
        Stage::Reading if v.cancelling => " Cancelling… ",
        Stage::Reading => " Reading ",
        Stage::Writing => " Writing the last segments ",
        Stage::Committing => " Committing ",
        Stage::Merging => " Merging small segments ",
    };
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let rows = Layout::vertical([Constraint::Length(1); 6]).split(inner);
    let label = |s: &str| Span::styled(format!("{s:<9}"), Style::new().fg(Color::Indexed(14)));
    let width = usize::from(inner.width).saturating_sub(9);
    let current =
        if p.current.is_empty() { "…".to_string() } else { tail_fit(&p.current, width) };
    let lines = [
        Line::from(vec![label("Source"), Span::raw(current)]),
        Line::from(vec![
            label("Inputs"),
            Span::raw(if p.inputs == 0 {
                "…".to_string()
            } else {
                format!(
                    "{} of {} done, {} sources started",
                    comma(p.inputs_done),
                    comma(p.inputs),
                    comma(p.files)
                )
            }),
        ]),
        Line::from(vec![
            label("Lines"),
            Span::raw(format!("{}  ({}/s)", comma(p.lines), comma(per_sec(p.lines, p.elapsed)))),
        ]),
        Line::from(vec![
            label("Bytes"),
            Span::raw(format!("{}  ({}/s)", bytes(p.bytes), bytes(per_sec(p.bytes, p.elapsed)))),
        ]),
        Line::from(vec![label("Elapsed"), Span::raw(format::took(p.elapsed))]),
    ];
    for (line, row) in lines.into_iter().zip(rows.iter()) {
        f.render_widget(Paragraph::new(line), *row);
    }
    let gauge_row = rows[5];
    match p.input_total {
        Some(total) if total > 0 => {
            let ratio = (p.input_bytes as f64 / total as f64).clamp(0.0, 1.0);
            let text = format!(
                "{:.0}%  {} of {}",
                ratio * 100.0,
                bytes(p.input_bytes.min(total)),
                bytes(total)
            );
            f.render_widget(
                Gauge::default()
                    .ratio(ratio)
                    .label(text)
                    .gauge_style(Style::new().fg(Color::Indexed(10))),
                gauge_row,
            );
        }
        _ => f.render_widget(
            Paragraph::new(Line::styled(
                "total size unknown (a stream is read)",
                Style::new().fg(Color::Indexed(8)),
            )),
            gauge_row,
        ),
    }
}

fn problem_style(k: ProblemKind) -> Style {
    match k {
        ProblemKind::LongLine | ProblemKind::NoTimestamp | ProblemKind::Cancelled => {
            Style::new().fg(Color::Indexed(11))
        }
        _ => Style::new().fg(Color::Indexed(9)),
    }
}

fn problems(v: &ImportView, f: &mut Frame<'_>, area: Rect) {
    let shown = v.problems.len() as u64;
    let title = if v.problem_count > shown {
        format!(" Problems ({}, the newest {} kept) ", comma(v.problem_count), comma(shown))
    } else {
        format!(" Problems ({}) ", comma(v.problem_count))
    };
    let title = if v.scroll > 0 { format!("{title}↑{} ", v.scroll) } else { title };
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if v.problems.is_empty() {
        f.render_widget(
            Paragraph::new(Line::styled("none so far", Style::new().fg(Color::Indexed(8)))),
            inner,
        );
        return;
    }
    let h = usize::from(inner.height);
    let end = v.problems.len().saturating_sub(v.scroll);
    let start = end.saturating_sub(h);
    let lines: Vec<Line<'_>> = v
        .problems
        .range(start..end)
        .map(|p| Line::styled(p.to_string(), problem_style(p.kind)))
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

/// Runs the screen until `done()` says the import has ended (or, in tests, the input ends):
/// each tick takes the monitor's news into `view` and draws; a cancel key calls
/// [`Monitor::cancel`]. [`Input::WaitIdle`] waits for `done()`.
pub fn run_loop<B: Backend>(
    term: &mut Terminal<B>,
    view: &mut ImportView,
    monitor: &Monitor,
    events: &mut dyn Events,
    tick: Duration,
    done: &dyn Fn() -> bool,
) -> Result<()>
where
    B::Error: std::error::Error + Send + Sync + 'static,
{
    loop {
        monitor.update(view);
        term.draw(|f| render(view, f))?;
        if done() {
            return Ok(());
        }
        match events.next(tick)? {
            Input::Key(k) => {
                if view.handle_key(k) == KeyAction::Cancel {
                    monitor.cancel();
                }
            }
            Input::Resize | Input::Tick => {}
            Input::WaitIdle => {
                while !done() {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            Input::End => return Ok(()),
        }
    }
}

/// Runs `work` (the import, given the monitor as its observer) on a thread while the screen
/// shows its progress on the real terminal; returns what `work` returned once it has ended
/// and the screen is left. Fails without calling `work` when the terminal cannot be set up
/// (the caller then imports without the screen).
pub fn show<T: Send>(
    store: &str,
    monitor: &Monitor,
    work: impl FnOnce(&Monitor) -> T + Send,
) -> Result<T> {
    let mut guard = super::term::TerminalGuard::new()?;
    let mut view = ImportView::new(store);
    std::thread::scope(|s| {
        let handle = s.spawn(|| work(monitor));
        let ui = run_loop(
            &mut guard.term,
            &mut view,
            monitor,
            &mut super::term::TermEvents,
            Duration::from_millis(100),
            &|| handle.is_finished(),
        );
        if ui.is_err() {
            // The screen failed (e.g. the terminal went away): stop the import cleanly.
            monitor.cancel();
        }
        let out = handle.join();
        drop(guard);
        ui?;
        out.map_err(|e| {
            let msg = e
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| e.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            anyhow!("internal error: the import thread panicked: {msg}")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{ImportOptions, run_import};
    use crate::store::{CompactPolicy, SegmentOptions, Store, StoreWriter};
    use ratatui::backend::TestBackend;

    fn problem(source: &str, line: Option<u64>, kind: ProblemKind, message: &str) -> Problem {
        Problem { source: source.into(), line, kind, message: message.into() }
    }

    fn frame(v: &ImportView, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| render(v, f)).unwrap();
        t.backend().to_string()
    }

    fn busy_view() -> ImportView {
        let mut v = ImportView::new("/var/lib/twsla/store");
        v.progress = Progress {
            stage: Stage::Reading,
            current: "/var/log/archive/2024/very/long/path/to/some/host/syslog.3.gz".into(),
            files: 14,
            lines: 1_234_567,
            bytes: 187_654_321,
            elapsed: Duration::from_millis(12_500),
            inputs: 20,
            inputs_done: 11,
            input_bytes: 45_000_000,
            input_total: Some(120_000_000),
            cancelling: false,
        };
        v.push_problem(problem(
            "/var/log/bad.bin",
            None,
            ProblemKind::Binary,
            "binary file (NUL bytes in the first 8 KiB); not imported",
        ));
        v.push_problem(problem(
            "/var/log/app.log",
            Some(77),
            ProblemKind::LongLine,
            "line of 5000000 bytes is longer than the limit of 4194304 bytes; skipped (raise it with --maxLine)",
        ));
        v
    }

    #[test]
    fn import_screen_progress_and_problems() {
        insta::assert_snapshot!("import_progress", frame(&busy_view(), 100, 18));
    }

    #[test]
    fn import_screen_cancelling_and_unknown_size() {
        let mut v = busy_view();
        v.progress.input_total = None;
        assert_eq!(
            v.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            KeyAction::Cancel
        );
        insta::assert_snapshot!("import_cancelling", frame(&v, 100, 18));
    }

    #[test]
    fn import_screen_after_the_reading() {
        // A cancel once all input is read stops nothing: the screen says so.
        let mut v = busy_view();
        v.progress.stage = Stage::Writing;
        v.progress.inputs_done = 20;
        v.progress.input_bytes = 120_000_000;
        v.handle_key(KeyEvent::from(KeyCode::Char('q')));
        let screen = frame(&v, 100, 18);
        assert!(screen.contains("┌ Writing the last segments ─"), "{screen}");
        assert!(screen.contains("All input was read before the cancel"), "{screen}");
        assert!(screen.contains("100%  120 MB of 120 MB"), "{screen}");
        assert!(!screen.contains("Cancelling"), "{screen}");
    }

    #[test]
    fn problems_follow_the_newest_and_scroll_back() {
        let mut v = ImportView::new("s");
        for i in 1..=30 {
            v.push_problem(problem("f.log", Some(i), ProblemKind::LongLine, "long"));
        }
        let screen = frame(&v, 60, 16);
        assert!(
            screen.contains("f.log:30: long") && !screen.contains("f.log:25: long"),
            "{screen}"
        );
        assert_eq!(v.handle_key(KeyEvent::from(KeyCode::PageUp)), KeyAction::None);
        let screen = frame(&v, 60, 16);
        assert!(
            screen.contains("f.log:20: long") && !screen.contains("f.log:21: long"),
            "{screen}"
        );
        assert!(screen.contains("Problems (30) ↑10"), "{screen}");
        // New problems arriving while scrolled back do not move the lines in view.
        v.push_problem(problem("f.log", Some(31), ProblemKind::LongLine, "long"));
        assert!(frame(&v, 60, 16).contains("f.log:20: long"));
        v.handle_key(KeyEvent::from(KeyCode::End));
        assert!(frame(&v, 60, 16).contains("f.log:31: long"));
        assert_eq!(v.handle_key(KeyEvent::from(KeyCode::Esc)), KeyAction::Cancel);
        assert!(v.cancelling);
    }

    #[test]
    fn monitor_keeps_a_bounded_list() {
        let m = Monitor::new();
        let mut v = ImportView::new("s");
        for i in 0..(MAX_PROBLEMS as u64 + 5) {
            m.problem(&problem("f", Some(i), ProblemKind::LongLine, "x"));
        }
        m.update(&mut v);
        assert_eq!(v.problems.len(), MAX_PROBLEMS);
        assert_eq!(v.problem_count, MAX_PROBLEMS as u64 + 5);
        assert!(frame(&v, 100, 18).contains("Problems (10,005, the newest 10,000 kept)"));
        assert!(!m.cancelled());
        m.cancel();
        assert!(m.cancelled());
    }

    /// The real loop over a real import of a big enough input, with `q` typed once the
    /// import has made progress: the import is cancelled, commits a part, and the screen said
    /// so.
    #[test]
    fn q_cancels_a_running_import() {
        let tmp = tempfile::tempdir().unwrap();
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/loghub/Linux/Linux_2k.log");
        let text = std::fs::read(&src).unwrap();
        // 40 copies under distinct names: far more than a few ticks of work.
        let mut inputs = Vec::new();
        for i in 0..40 {
            let p = tmp.path().join(format!("linux-{i:02}.log"));
            std::fs::write(&p, &text).unwrap();
            inputs.push(p.display().to_string());
        }
        let store = tmp.path().join("store");
        let mut w = StoreWriter::open(&store, SegmentOptions::default()).unwrap();
        let opts = ImportOptions { utc: true, readers: 1, ..ImportOptions::default() };
        let monitor = Monitor::new();
        let mut term = Terminal::new(TestBackend::new(100, 18)).unwrap();
        let mut view = ImportView::new(store.display().to_string());
        /// Types `q` once some lines were read, then waits for the end.
        struct Keys<'a> {
            monitor: &'a Monitor,
            sent: bool,
            frames: u32,
        }
        impl Events for Keys<'_> {
            fn next(&mut self, _t: Duration) -> Result<Input> {
                self.frames += 1;
                if self.sent {
                    return Ok(Input::WaitIdle);
                }
                let mut v = ImportView::default();
                self.monitor.update(&mut v);
                if v.progress.lines > 0 || self.frames > 20_000 {
                    self.sent = true;
                    return Ok(Input::Key(KeyEvent::from(KeyCode::Char('q'))));
                }
                std::thread::sleep(Duration::from_millis(1));
                Ok(Input::Tick)
            }
        }
        let mut keys = Keys { monitor: &monitor, sent: false, frames: 0 };
        let report = std::thread::scope(|s| {
            let h =
                s.spawn(|| run_import(&mut w, &inputs, &opts, CompactPolicy::default(), &monitor));
            run_loop(&mut term, &mut view, &monitor, &mut keys, Duration::from_millis(1), &|| {
                h.is_finished()
            })
            .unwrap();
            h.join().unwrap().unwrap()
        });
        assert!(keys.sent);
        assert!(view.cancelling);
        let screen = term.backend().to_string();
        assert!(screen.contains("Cancelling…"), "{screen}");
        assert!(report.cancelled, "{report:?}");
        assert!(report.not_started > 0, "{report:?}");
        drop(w);
        let stored = Store::open(&store).unwrap().manifest().rows();
        assert!(stored > 0 && stored < 40 * 2000, "{stored}");
        assert_eq!(stored, report.records);
    }
}
