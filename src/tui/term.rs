//! The real terminal: raw mode and the alternate screen, restored on every way out.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, Event, KeyEventKind};

use super::{App, Events, Input, Jobs, LoopOptions, Worker, run_loop};

/// Owns the terminal while the UI runs; dropping it (normal return, `?` error, unwinding)
/// restores the terminal. `ratatui::try_init` also installs a panic hook that restores it
/// before the panic message is printed.
pub(super) struct TerminalGuard {
    pub(super) term: DefaultTerminal,
}

impl TerminalGuard {
    pub(super) fn new() -> Result<Self> {
        match ratatui::try_init() {
            Ok(term) => {
                // ratatui's hook restores the terminal, then prints. Keep it for panics of this
                // (the UI) thread; a panic of a job's thread must leave the UI running: the
                // worker catches it and shows its message.
                let ui = std::thread::current().id();
                let restore_and_print = std::panic::take_hook();
                std::panic::set_hook(Box::new(move |info| {
                    if std::thread::current().id() == ui {
                        restore_and_print(info);
                    }
                }));
                Ok(TerminalGuard { term })
            }
            Err(e) => {
                // Raw mode may be on although the alternate screen failed: undo what worked.
                ratatui::restore();
                Err(e).context("cannot set up the terminal for the UI (use --ndjson or a pipe)")
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
        // Back to the default hook (the binary installs none of its own).
        drop(std::panic::take_hook());
    }
}

/// Terminal input through crossterm.
pub(super) struct TermEvents;

impl Events for TermEvents {
    fn next(&mut self, timeout: Duration) -> Result<Input> {
        if !event::poll(timeout)? {
            return Ok(Input::Tick);
        }
        Ok(match event::read()? {
            Event::Key(k) if k.kind != KeyEventKind::Release => Input::Key(k),
            Event::Resize(..) => Input::Resize,
            _ => Input::Tick,
        })
    }
}

/// Runs `app` on the real terminal with `jobs` doing the work, until the user quits.
/// Returns the final state (for the exit code).
pub fn open(mut app: App, jobs: Arc<dyn Jobs>) -> Result<App> {
    let mut guard = TerminalGuard::new()?;
    // The cell size in pixels, for sixel images (0 when the terminal does not tell).
    if let Ok(ws) = ratatui::crossterm::terminal::window_size()
        && ws.width > 0
        && ws.height > 0
        && ws.columns > 0
        && ws.rows > 0
    {
        app.cell_px = ((ws.width / ws.columns).max(1), (ws.height / ws.rows).max(1));
    }
    let mut worker = Worker::new(jobs);
    let res =
        run_loop(&mut guard.term, &mut app, &mut worker, &mut TermEvents, LoopOptions::default());
    worker.cancel();
    drop(guard);
    res.map(|()| app)
}
