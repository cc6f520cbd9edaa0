//! Running analyses off the UI thread: one job at a time, its rows streamed back in batches.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::analysis::{ARow, Extra};
use crate::analyze::Flow;
use crate::analyze::count::{CountRows, CountStats};
use crate::analyze::extract::ExtractRow;
use crate::analyze::runner::{self, ScanControl};
use crate::model::Nanos;
use crate::query::TimeRange;

/// One search hit as the UI keeps it (what the NDJSON path writes, minus the source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Timestamp (ns).
    pub ts: Nanos,
    /// The record's text (invalid UTF-8 replaced).
    pub text: Box<str>,
}

/// What a search view asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchQuery {
    /// Positional simple filters (a leading `^` excludes); the filter box edits them.
    pub filters: Vec<String>,
    /// Narrower time range than the command's (drill-down from a count bucket).
    pub range: Option<TimeRange>,
    /// Only this `(weekday, hour)` of every week (0 = Sunday; local unless `--utc`): the
    /// drill-down from a weekday heatmap cell.
    pub weekly: Option<(u8, u8)>,
}

/// A job the UI asks the frontend to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// A search: stream [`LogLine`]s through [`Sink::line`].
    Search(SearchQuery),
    /// The command's count: one [`Sink::counted`].
    Count,
    /// The command's extraction: stream rows through [`Sink::extracted`].
    Extract,
    /// The command's analyzer (tfidf, anomaly, delay, time, relation, heatmap): rows through
    /// [`Sink::row`], then its extra data through [`Sink::extra`].
    Analysis,
}

/// Totals of a finished job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records that passed the filters.
    pub hits: u64,
    /// Records examined.
    pub rows_read: u64,
}

/// Runs jobs; implemented by the CLI over the store (the UI never sees the store).
pub trait Jobs: Send + Sync + 'static {
    /// Runs `job`, sending its rows to `sink`. Called on a worker thread inside
    /// [`runner::with_control`], so scans stop early once the user cancels.
    fn run(&self, job: &Job, sink: &mut Sink) -> anyhow::Result<Summary>;
}

/// A message from the worker.
#[derive(Debug, Clone)]
pub enum Msg {
    /// More search hits.
    Lines(Vec<LogLine>),
    /// More extracted rows.
    Extracted(Vec<ExtractRow>),
    /// The rows of a count.
    Counted(CountRows, CountStats),
    /// More analyzer rows.
    Rows(Vec<ARow>),
    /// An analyzer's extra data.
    Extra(Box<Extra>),
    /// The job ended: its totals, or its error. `cancelled` when the user stopped it.
    Done {
        /// Totals or the error message.
        result: Result<Summary, String>,
        /// Whether the job was cancelled (its rows are partial).
        cancelled: bool,
        /// Time the job took.
        elapsed: Duration,
    },
}

impl Msg {
    /// The message with its elapsed time zeroed (deterministic frames in tests).
    pub fn without_time(self) -> Msg {
        match self {
            Msg::Done { result, cancelled, .. } => {
                Msg::Done { result, cancelled, elapsed: Duration::ZERO }
            }
            m => m,
        }
    }
}

/// Rows per batch sent to the UI.
const BATCH_ROWS: usize = 1024;
/// Longest time a row waits in a batch.
const BATCH_WAIT: Duration = Duration::from_millis(50);

/// Rows not sent yet.
#[derive(Debug, Default)]
struct Batch {
    lines: Vec<LogLine>,
    extracted: Vec<ExtractRow>,
    rows: Vec<ARow>,
    /// When the oldest row arrived.
    since: Option<Instant>,
}

impl Batch {
    fn len(&self) -> usize {
        self.lines.len() + self.extracted.len() + self.rows.len()
    }

    fn take(&mut self) -> Vec<Msg> {
        self.since = None;
        let mut out = Vec::new();
        if !self.lines.is_empty() {
            out.push(Msg::Lines(std::mem::take(&mut self.lines)));
        }
        if !self.extracted.is_empty() {
            out.push(Msg::Extracted(std::mem::take(&mut self.extracted)));
        }
        if !self.rows.is_empty() {
            out.push(Msg::Rows(std::mem::take(&mut self.rows)));
        }
        out
    }
}

/// Where a job sends its rows. Rows collect in a batch that the job sends when it holds 1024
/// rows or at its end, and that the UI takes itself once its oldest row is 50 ms old (so rare
/// hits show while a long scan goes on). Batches are sent under the batch's lock and the UI
/// takes one only when the channel is empty, so rows arrive in order.
pub struct Sink {
    tx: Sender<(u64, Msg)>,
    generation: u64,
    ctl: Arc<ScanControl>,
    batch: Arc<Mutex<Batch>>,
}

impl Sink {
    /// Whether the user cancelled: jobs stop early and return what they have.
    pub fn cancelled(&self) -> bool {
        self.ctl.cancelled()
    }

    fn flow(&self) -> Flow {
        if self.cancelled() { Flow::Stop } else { Flow::Continue }
    }

    /// Adds a row; `Stop` once nobody listens (and, with `stop_on_cancel`, once cancelled).
    fn push(&mut self, stop_on_cancel: bool, add: impl FnOnce(&mut Batch)) -> Flow {
        // A poisoned lock means the UI thread panicked: nobody is waiting for rows.
        let Ok(mut b) = self.batch.lock() else { return Flow::Stop };
        add(&mut b);
        b.since.get_or_insert_with(Instant::now);
        if b.len() >= BATCH_ROWS {
            for m in b.take() {
                if self.tx.send((self.generation, m)).is_err() {
                    return Flow::Stop;
                }
            }
        }
        drop(b);
        if stop_on_cancel { self.flow() } else { Flow::Continue }
    }

    /// One search hit (`Stop` once cancelled: hits stream from the scan).
    pub fn line(&mut self, l: LogLine) -> Flow {
        self.push(true, |b| b.lines.push(l))
    }

    /// One extracted row (`Stop` once cancelled: rows stream from the scan).
    pub fn extracted(&mut self, r: ExtractRow) -> Flow {
        self.push(true, |b| b.extracted.push(r))
    }

    /// One analyzer row. A cancel does not stop these: an analyzer observes the cancel itself
    /// (its scans and phases stop) and then emits its partial result, which is kept whole.
    pub fn row(&mut self, r: ARow) -> Flow {
        self.push(false, |b| b.rows.push(r))
    }

    /// An analyzer's extra data (after its rows).
    pub fn extra(&mut self, e: Extra) {
        self.flush();
        let _ = self.tx.send((self.generation, Msg::Extra(Box::new(e))));
    }

    /// The rows of a count.
    pub fn counted(&mut self, rows: CountRows, stats: CountStats) {
        self.flush();
        let _ = self.tx.send((self.generation, Msg::Counted(rows, stats)));
    }

    fn flush(&mut self) {
        if let Ok(mut b) = self.batch.lock() {
            for m in b.take() {
                let _ = self.tx.send((self.generation, m));
            }
        }
    }
}

/// The message of a panic payload.
fn panic_text(p: &(dyn std::any::Any + Send)) -> &str {
    p.downcast_ref::<&str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("?")
}

/// Progress of the running job, as the progress screen shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// A job is running.
    pub running: bool,
    /// The user asked it to stop.
    pub cancelling: bool,
    /// Records examined so far.
    pub rows_read: u64,
    /// Records in the planned blocks.
    pub rows_planned: u64,
    /// Hits so far.
    pub hits: u64,
    /// Time since the job started.
    pub elapsed: Duration,
    /// The named phase after the scans (`""` while scanning), with its done and total items.
    pub phase: (&'static str, u64, u64),
}

/// Runs one job at a time on a thread; a new job cancels the previous one, whose late
/// messages are dropped (each job has its own generation number).
pub struct Worker {
    jobs: Arc<dyn Jobs>,
    tx: Sender<(u64, Msg)>,
    rx: Receiver<(u64, Msg)>,
    generation: u64,
    ctl: Arc<ScanControl>,
    batch: Arc<Mutex<Batch>>,
    taken: std::collections::VecDeque<Msg>,
    started: Instant,
    running: bool,
}

impl Worker {
    /// A worker for `jobs`.
    pub fn new(jobs: Arc<dyn Jobs>) -> Self {
        let (tx, rx) = crossbeam_channel::bounded(64);
        Worker {
            jobs,
            tx,
            rx,
            generation: 0,
            ctl: Arc::new(ScanControl::default()),
            batch: Arc::default(),
            taken: std::collections::VecDeque::new(),
            started: Instant::now(),
            running: false,
        }
    }

    /// Cancels the running job (it stops at its next check and reports partial rows).
    pub fn cancel(&self) {
        self.ctl.cancel.store(true, Ordering::Relaxed);
    }

    /// Starts `job`, cancelling the one running.
    pub fn start(&mut self, job: Job) {
        self.cancel();
        self.generation += 1;
        self.ctl = Arc::new(ScanControl::default());
        self.batch = Arc::default();
        self.taken.clear();
        self.started = Instant::now();
        self.running = true;
        let (jobs, ctl, tx, generation) =
            (self.jobs.clone(), self.ctl.clone(), self.tx.clone(), self.generation);
        let started = self.started;
        let batch = self.batch.clone();
        let spawned = std::thread::Builder::new().name("twsla-job".into()).spawn(move || {
            let mut sink = Sink { tx: tx.clone(), generation, ctl: ctl.clone(), batch };
            let run = std::panic::AssertUnwindSafe(|| {
                runner::with_control(ctl.clone(), || jobs.run(&job, &mut sink))
            });
            let result = match std::panic::catch_unwind(run) {
                Ok(Ok(s)) => Ok(s),
                Ok(Err(e)) => Err(format!("{e:#}")),
                Err(p) => Err(format!("internal error: the job panicked: {}", panic_text(&*p))),
            };
            sink.flush();
            let done = Msg::Done { result, cancelled: ctl.cancelled(), elapsed: started.elapsed() };
            let _ = tx.send((generation, done));
        });
        if let Err(e) = spawned {
            self.running = false;
            let done = Msg::Done {
                result: Err(format!("cannot start a worker thread: {e}")),
                cancelled: false,
                elapsed: Duration::ZERO,
            };
            // The receiver lives in self: this cannot fail while the channel has room.
            let _ = self.tx.try_send((self.generation, done));
        }
    }

    fn accept(&mut self, (generation, msg): (u64, Msg)) -> Option<Msg> {
        if generation != self.generation {
            return None;
        }
        if matches!(msg, Msg::Done { .. }) {
            self.running = false;
        }
        Some(msg)
    }

    /// The next message of the current job, if one is waiting; else rows the job has
    /// collected for 50 ms or more.
    pub fn try_recv(&mut self) -> Option<Msg> {
        // Rows taken earlier come before anything the channel got since.
        if let Some(m) = self.taken.pop_front() {
            return Some(m);
        }
        while let Ok(m) = self.rx.try_recv() {
            if let Some(m) = self.accept(m) {
                return Some(m);
            }
        }
        if let Ok(mut b) = self.batch.try_lock()
            && self.rx.is_empty()
            && b.since.is_some_and(|t| t.elapsed() >= BATCH_WAIT)
        {
            self.taken.extend(b.take());
        }
        self.taken.pop_front()
    }

    /// Waits for the next message of the running job; `None` once it is done (or after
    /// `timeout` without any message).
    pub fn recv_until_done(&mut self, timeout: Duration) -> Option<Msg> {
        while self.running {
            let m = self.rx.recv_timeout(timeout).ok()?;
            if let Some(m) = self.accept(m) {
                return Some(m);
            }
        }
        None
    }

    /// The running job's progress.
    pub fn progress(&self, frozen_clock: bool) -> Progress {
        Progress {
            running: self.running,
            cancelling: self.running && self.ctl.cancelled(),
            rows_read: self.ctl.rows_read.load(Ordering::Relaxed),
            rows_planned: self.ctl.rows_planned.load(Ordering::Relaxed),
            hits: self.ctl.hits.load(Ordering::Relaxed),
            elapsed: if frozen_clock { Duration::ZERO } else { self.started.elapsed() },
            phase: self.ctl.phase(),
        }
    }
}
