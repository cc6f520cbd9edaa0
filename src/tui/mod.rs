//! The terminal UI (issue 5): what `search`, `count` and `extract` show when stdout is a
//! terminal and `--ndjson` is not given.
//!
//! The UI consumes the same typed rows that the NDJSON path writes and never touches the store:
//! the CLI hands it a [`Jobs`] implementation, and the UI runs each [`Job`] on a worker thread
//! ([`Worker`]) that streams rows back through a channel, in batches. The worker runs inside
//! [`crate::analyze::runner::with_control`], so the scans report progress (lines, hits) and stop
//! early when the user cancels; a cancelled job delivers what it found so far.
//!
//! The pieces are separate so that everything but the terminal itself is testable headless:
//! * [`App`] is plain data: [`App::handle_key`] updates it from a key and returns what the loop
//!   must do ([`Action`]: run a job, cancel, quit); [`App::apply`] takes worker messages.
//! * [`render()`] is a pure function of the state to a frame.
//! * [`run_loop`] multiplexes input, worker messages and a tick over any ratatui backend, so
//!   tests drive it with `TestBackend` and a scripted [`Input`] list.
//! * [`open`] is the only code that touches the real terminal: it restores it on return, on
//!   error and on panic.
//!
//! Memory: like upstream, a view keeps every row it shows (a search keeps each hit's time and
//! text), plus one batch of at most 1024 rows in flight and 64 batches queued in the channel;
//! frames only build the visible rows.
//!
//! The analyzers (tfidf, anomaly, delay, heatmap, time, relation) are further [`View`]
//! variants fed by [`Job::Analysis`] (see `analysis.rs` for their keys and charts); the loop,
//! prompt, saving and progress screen are shared. Charts
//! (`g`, `h`, saving `.png`/`.html`) are built from a view's rows as a
//! [`crate::chart::ChartSpec`] (see `chart.rs`); sixel output is not implemented.

mod analysis;
mod app;
mod chart;
mod color;
mod format;
pub mod import;
mod prompt;
mod render;
mod save;
mod search;
mod table;
mod term;
mod worker;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_analysis;

pub use analysis::{ARow, AnalysisInit, Extra, HeatmapInit, Kind};
pub use app::{Action, App, CountInit, ExtractInit, Init, SearchInit, View};
pub use render::render;
pub use term::open;
pub use worker::{Job, Jobs, LogLine, Msg, SearchQuery, Sink, Summary, Worker};

use std::time::Duration;

use anyhow::Result;
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::crossterm::event::KeyEvent;

/// One input to the loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A key press.
    Key(KeyEvent),
    /// The terminal changed size (the next draw adapts).
    Resize,
    /// Nothing happened within the tick.
    Tick,
    /// Tests: wait until the running job has finished and its rows are applied.
    WaitIdle,
    /// No more input: leave the loop (tests; a real terminal never ends).
    End,
}

/// Where input comes from: the terminal, or a script in tests.
pub trait Events {
    /// The next input, waiting at most `timeout`.
    fn next(&mut self, timeout: Duration) -> Result<Input>;
}

/// Scripted input for tests and demos: the inputs in order, then [`Input::End`].
#[derive(Debug, Default)]
pub struct Script(pub std::collections::VecDeque<Input>);

impl Events for Script {
    fn next(&mut self, _timeout: Duration) -> Result<Input> {
        Ok(self.0.pop_front().unwrap_or(Input::End))
    }
}

/// Options of [`run_loop`].
#[derive(Debug, Clone, Copy)]
pub struct LoopOptions {
    /// How long to wait for input before redrawing (progress, streamed rows).
    pub tick: Duration,
    /// Show every elapsed time as 0 (deterministic frames in tests).
    pub frozen_clock: bool,
}

impl Default for LoopOptions {
    fn default() -> Self {
        LoopOptions { tick: Duration::from_millis(100), frozen_clock: false }
    }
}

/// Most worker messages applied between two frames (keeps keys responsive under a flood).
const MAX_MSGS_PER_FRAME: usize = 256;

/// Runs the UI until the user quits or the input ends. Starts the app's pending job first.
pub fn run_loop<B: Backend>(
    term: &mut Terminal<B>,
    app: &mut App,
    worker: &mut Worker,
    events: &mut dyn Events,
    opts: LoopOptions,
) -> Result<()>
where
    B::Error: std::error::Error + Send + Sync + 'static,
{
    loop {
        if let Some(job) = app.take_job() {
            worker.start(job);
        }
        let mut applied = 0;
        while applied < MAX_MSGS_PER_FRAME {
            match worker.try_recv() {
                Some(msg) if opts.frozen_clock => app.apply(msg.without_time()),
                Some(msg) => app.apply(msg),
                None => break,
            }
            applied += 1;
        }
        let busy = applied == MAX_MSGS_PER_FRAME;
        app.progress = worker.progress(opts.frozen_clock);
        term.draw(|f| render(app, f))?;
        if app.quit {
            worker.cancel();
            return Ok(());
        }
        let size = term.size()?;
        app.set_size(size.width, size.height);
        // Rows still queued: only look for a key, then go on draining.
        let wait = if busy { Duration::ZERO } else { opts.tick };
        match events.next(wait)? {
            Input::Key(k) => {
                for action in app.handle_key(k) {
                    match action {
                        Action::Run(job) => worker.start(job),
                        Action::Cancel => worker.cancel(),
                        Action::Quit => app.quit = true,
                    }
                }
            }
            Input::Resize | Input::Tick => {}
            Input::WaitIdle => {
                while let Some(msg) = worker.recv_until_done(Duration::from_secs(30)) {
                    app.apply(if opts.frozen_clock { msg.without_time() } else { msg });
                }
            }
            Input::End => {
                app.progress = worker.progress(opts.frozen_clock);
                term.draw(|f| render(app, f))?;
                return Ok(());
            }
        }
    }
}
