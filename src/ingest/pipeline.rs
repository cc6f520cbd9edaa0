//! The parallel import pipeline (see the module docs of [`super`]).
//!
//! Threads (inside `std::thread::scope`):
//! * R reader threads take jobs from a queue and run `source::process_job`;
//! * W builder workers each own a [`SegmentBuilder`] and a bounded channel of batches;
//! * the calling thread reports progress every 100 ms and commits at the end.
//!
//! Cancelling ([`ImportObserver::cancelled`], polled by the readers): readers stop at a record
//! boundary (see `reader::read_stream`) and open no further input; the workers write
//! what they were sent, and the run commits it like any other. Each source cut short keeps
//! its state in the manifest (`consumed`, `lines`, `last_ts`, `incomplete`), so the next
//! import resumes it the way it resumes a grown file, storing only the records not yet
//! stored. Merging small segments is left to the next import.
//!
//! A reader sends about one segment's worth of text to one worker, then moves to the next
//! worker, so that time-sorted input yields segments that barely overlap in time while the
//! workers sort, tokenize and compress in parallel. Batches are recycled through a bounded
//! free list, so memory stays bounded whatever the input size.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};

use super::reader::{Batch, BatchSink, StreamStats};
use super::source::{Job, SourceContext, expand_inputs, process_job};
use super::{ImportError, ImportObserver, ImportOptions, ImportReport, Problem, Progress, Stage};
use crate::model::Nanos;
use crate::store::{
    CompactPolicy, SegmentBuilder, SegmentFiles, SegmentRef, SourceState, Store, StoreError,
    StoreWriter,
};

/// Shared progress counters.
#[derive(Debug, Default)]
pub struct Counters {
    lines: AtomicU64,
    bytes: AtomicU64,
    files: AtomicU64,
    /// Inputs read to the end.
    inputs_done: AtomicU64,
    /// Raw bytes of the inputs finished (or cut short) so far.
    input_done: AtomicU64,
}

impl Counters {
    /// Adds read lines and bytes.
    pub fn add(&self, lines: u64, bytes: u64) {
        self.lines.fetch_add(lines, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Shared {
    states: Vec<SourceState>,
    by_path: HashMap<String, u32>,
    report: ImportReport,
    current: String,
}

struct Router<'a> {
    turn: AtomicUsize,
    quota: usize,
    free: Receiver<Batch>,
    /// Set once a reader has seen the observer cancel.
    stop: AtomicBool,
    observer: &'a dyn ImportObserver,
}

struct ReaderSink<'a> {
    senders: Vec<Sender<Batch>>,
    router: &'a Router<'a>,
    target: usize,
    sent: usize,
}

impl BatchSink for ReaderSink<'_> {
    fn fresh(&mut self) -> Batch {
        self.router.free.try_recv().unwrap_or_default()
    }
    fn send(&mut self, b: Batch) -> Result<(), ()> {
        let n = self.senders.len();
        if self.sent >= self.router.quota {
            self.target = self.router.turn.fetch_add(1, Ordering::Relaxed) % n;
            self.sent = 0;
        }
        self.sent += b.text.len();
        self.senders[self.target].send(b).map_err(|_| ())
    }
    fn cancelled(&self) -> bool {
        if self.router.stop.load(Ordering::Relaxed) {
            return true;
        }
        let c = self.router.observer.cancelled();
        if c {
            self.router.stop.store(true, Ordering::Relaxed);
        }
        c
    }
}

struct ReaderCtx<'a> {
    shared: &'a Mutex<Shared>,
    snapshot: &'a Store,
    lines_cache: &'a Mutex<HashMap<u32, Arc<roaring::RoaringTreemap>>>,
    counters: Arc<Counters>,
    sink: ReaderSink<'a>,
    opts: &'a ImportOptions,
    observer: &'a dyn ImportObserver,
    import_time: Nanos,
    /// The current input was cut short by a cancel.
    job_stopped: Cell<bool>,
    /// Raw bytes read of the current input.
    job_input: Arc<AtomicU64>,
}

impl ReaderCtx<'_> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        // A poisoned lock means another reader panicked; its data is still consistent enough
        // to report, and the panic itself fails the import.
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<'a> SourceContext for ReaderCtx<'a> {
    type Sink = ReaderSink<'a>;

    fn lookup(&self, identity: &str) -> (u32, Option<SourceState>) {
        let mut sh = self.lock();
        if let Some(&id) = sh.by_path.get(identity) {
            let st = sh.states[id as usize].clone();
            return (id, Some(st));
        }
        let id = sh.states.len() as u32;
        sh.states.push(SourceState::new(id, identity.to_string()));
        sh.by_path.insert(identity.to_string(), id);
        (id, None)
    }

    fn finished(&self, state: Option<SourceState>, stats: StreamStats) {
        if stats.stopped {
            self.job_stopped.set(true);
        }
        for p in &stats.problems {
            self.observer.problem(p);
        }
        let mut sh = self.lock();
        let r = &mut sh.report;
        r.records += stats.records;
        r.out_of_range += stats.out_of_range;
        r.filtered += stats.filtered;
        r.skipped_lines += stats.skipped_lines;
        r.new_sources += u64::from(stats.new_source);
        r.grown += u64::from(stats.grown);
        r.problems.extend(stats.problems);
        if let Some(st) = state {
            let id = st.id as usize;
            sh.states[id] = st;
        }
    }

    fn problem(&self, p: Problem) {
        self.observer.problem(&p);
        self.lock().report.problems.push(p);
    }

    fn sink(&mut self) -> &mut Self::Sink {
        &mut self.sink
    }

    fn started(&self, name: &str) {
        self.counters.files.fetch_add(1, Ordering::Relaxed);
        name.clone_into(&mut self.lock().current);
    }

    fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    fn unchanged(&self) {
        self.lock().report.unchanged += 1;
    }

    fn options(&self) -> &ImportOptions {
        self.opts
    }

    fn stored_lines(&self, id: u32) -> Arc<roaring::RoaringTreemap> {
        let mut cache = self.lines_cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = cache.get(&id) {
            return s.clone();
        }
        let set = match self.snapshot.source_lines(id) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                // Without the list we cannot avoid duplicates: report, and store nothing
                // more of this source (every line counts as already stored).
                self.problem(Problem {
                    source: self
                        .lock()
                        .states
                        .get(id as usize)
                        .map(|s| s.path.clone())
                        .unwrap_or_default(),
                    line: None,
                    kind: super::ProblemKind::Corrupt,
                    message: format!("cannot read the store to complete this source: {e}"),
                });
                let mut all = roaring::RoaringTreemap::new();
                all.insert_range(0..u64::MAX);
                Arc::new(all)
            }
        };
        cache.insert(id, set.clone());
        set
    }

    fn import_time(&self) -> Nanos {
        self.import_time
    }

    fn interrupted(&self) {
        self.job_stopped.set(true);
    }

    fn input_counter(&self) -> Arc<AtomicU64> {
        self.job_input.clone()
    }
}

impl ReaderCtx<'_> {
    /// Reads the jobs of the queue until it is empty; after a cancel, counts the rest as not
    /// started.
    fn run_jobs(&mut self, jobs: &Receiver<(Job, Option<u64>)>) {
        for (job, size) in jobs {
            if self.sink.cancelled() {
                self.lock().report.not_started += 1;
                continue;
            }
            self.job_stopped.set(false);
            self.job_input.store(0, Ordering::Relaxed);
            if process_job(&job, self).is_err() {
                break;
            }
            let read = self.job_input.swap(0, Ordering::Relaxed);
            if self.job_stopped.get() {
                self.counters.input_done.fetch_add(read, Ordering::Relaxed);
                self.lock().report.incomplete += 1;
            } else {
                // A finished input counts whole, also when resuming skipped its start.
                self.counters.input_done.fetch_add(size.unwrap_or(read), Ordering::Relaxed);
                self.counters.inputs_done.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn worker(
    rx: Receiver<Batch>,
    free: Sender<Batch>,
    files: SegmentFiles,
    quota: usize,
) -> Result<Vec<SegmentRef>, StoreError> {
    let mut out = Vec::new();
    let mut builder = SegmentBuilder::new(files.options());
    for mut batch in rx {
        for r in &batch.recs {
            let text = &batch.text[r.off as usize..r.off as usize + r.len as usize];
            builder.push(r.ts, r.delta, batch.source, r.line, text);
        }
        batch.text.clear();
        batch.recs.clear();
        let _ = free.try_send(batch);
        if builder.text_bytes() >= quota || builder.rows() >= (1 << 24) {
            out.push(files.write(&mut builder)?);
        }
    }
    if !builder.is_empty() {
        out.push(files.write(&mut builder)?);
    }
    Ok(out)
}

/// Imports `inputs` into the store held by `writer` and commits once at the end. Problems
/// with single inputs are collected in the report; an error means nothing was committed.
pub fn run_import(
    writer: &mut StoreWriter,
    inputs: &[String],
    opts: &ImportOptions,
    compact: CompactPolicy,
    observer: &dyn ImportObserver,
) -> Result<ImportReport, ImportError> {
    let t0 = Instant::now();
    let import_time = super::import_clock();
    let mut problems = Vec::new();
    let jobs = expand_inputs(inputs, opts, &mut problems);
    for p in &problems {
        observer.problem(p);
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let n_workers = if opts.workers > 0 { opts.workers } else { cores.max(1) };
    let n_readers =
        if opts.readers > 0 { opts.readers } else { cores.clamp(1, 4) }.min(jobs.len().max(1));

    let mut shared = Shared::default();
    for s in &writer.manifest().sources {
        shared.by_path.insert(s.path.clone(), s.id);
        shared.states.push(s.clone());
    }
    shared.report.problems = problems;
    // Sources of plain and gzip files get their ids in input order now; archive members get
    // theirs when read (in member order, after these).
    for j in &jobs {
        if let Some(identity) = super::source::single_source_identity(j)
            && !shared.by_path.contains_key(&identity)
        {
            let id = shared.states.len() as u32;
            shared.states.push(SourceState::new(id, identity.clone()));
            shared.by_path.insert(identity, id);
        }
    }
    let shared = Mutex::new(shared);
    let counters = Arc::new(Counters::default());
    let (free_tx, free_rx) = bounded::<Batch>(4 * (n_workers + n_readers));
    let n_inputs = jobs.len() as u64;
    let sizes: Vec<Option<u64>> = jobs.iter().map(super::source::input_size).collect();
    let input_total = sizes.iter().copied().sum::<Option<u64>>();
    let (job_tx, job_rx) = bounded::<(Job, Option<u64>)>(jobs.len().max(1));
    for j in jobs.into_iter().zip(sizes) {
        let _ = job_tx.send(j);
    }
    drop(job_tx);
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for _ in 0..n_workers {
        let (tx, rx) = bounded::<Batch>(4);
        senders.push(tx);
        receivers.push(rx);
    }
    let quota = opts.segment_text_bytes.max(1);
    let router = Router {
        turn: AtomicUsize::new(1),
        quota,
        free: free_rx,
        stop: AtomicBool::new(false),
        observer,
    };
    let job_inputs: Vec<Arc<AtomicU64>> = (0..n_readers).map(|_| Arc::default()).collect();
    let live = Live { inputs: n_inputs, input_total, job_inputs: &job_inputs, router: &router };
    // A first report at once: the inputs and their total size are known now.
    observer.progress(&snapshot(&shared, &counters, t0, &live, Stage::Reading));
    let files = writer.segment_files();
    let store_view = writer.snapshot()?;
    let lines_cache = Mutex::new(HashMap::new());

    let (segments, panicked) = std::thread::scope(|scope| {
        let workers: Vec<_> = receivers
            .into_iter()
            .map(|rx| {
                let free = free_tx.clone();
                let files = files.clone();
                scope.spawn(move || worker(rx, free, files, quota))
            })
            .collect();
        let readers: Vec<_> = (0..n_readers)
            .map(|i| {
                let job_rx = job_rx.clone();
                let mut ctx = ReaderCtx {
                    shared: &shared,
                    snapshot: &store_view,
                    lines_cache: &lines_cache,
                    counters: counters.clone(),
                    sink: ReaderSink {
                        senders: senders.clone(),
                        router: &router,
                        target: i % n_workers,
                        sent: 0,
                    },
                    opts,
                    observer,
                    import_time,
                    job_stopped: Cell::new(false),
                    job_input: job_inputs[i].clone(),
                };
                scope.spawn(move || ctx.run_jobs(&job_rx))
            })
            .collect();
        // Workers see the end of input once every reader (holding sender clones) is done.
        drop(senders);
        let mut last = Instant::now();
        while readers.iter().any(|r| !r.is_finished()) {
            std::thread::sleep(Duration::from_millis(20));
            if last.elapsed() >= Duration::from_millis(100) {
                last = Instant::now();
                observer.progress(&snapshot(&shared, &counters, t0, &live, Stage::Reading));
            }
        }
        let mut panicked = false;
        for r in readers {
            panicked |= r.join().is_err();
        }
        observer.progress(&snapshot(&shared, &counters, t0, &live, Stage::Writing));
        while workers.iter().any(|w| !w.is_finished()) {
            std::thread::sleep(Duration::from_millis(20));
            if last.elapsed() >= Duration::from_millis(100) {
                last = Instant::now();
                observer.progress(&snapshot(&shared, &counters, t0, &live, Stage::Writing));
            }
        }
        let mut segments: Result<Vec<SegmentRef>, StoreError> = Ok(Vec::new());
        for w in workers {
            match w.join() {
                Ok(Ok(mut v)) => {
                    if let Ok(all) = &mut segments {
                        all.append(&mut v);
                    }
                }
                Ok(Err(e)) => {
                    if segments.is_ok() {
                        segments = Err(e);
                    }
                }
                Err(_) => panicked = true,
            }
        }
        (segments, panicked)
    });
    observer.progress(&snapshot(&shared, &counters, t0, &live, Stage::Committing));
    let cancelled = router.stop.load(Ordering::Relaxed);
    let shared = shared.into_inner().unwrap_or_else(|p| p.into_inner());
    if panicked {
        let _ = writer.collect_garbage();
        return Err(ImportError::Internal("an import thread panicked".into()));
    }
    let segments = match segments {
        Ok(s) => s,
        Err(e) => {
            // Written but uncommitted segments are garbage now.
            let _ = writer.collect_garbage();
            return Err(e.into());
        }
    };
    let mut report = shared.report;
    report.files = counters.files.load(Ordering::Relaxed);
    report.lines = counters.lines.load(Ordering::Relaxed);
    report.bytes = counters.bytes.load(Ordering::Relaxed);
    report.segments = segments.len() as u64;
    report.cancelled = cancelled;
    let states_changed = shared.states != writer.manifest().sources;
    if !segments.is_empty() || states_changed {
        if let Err(e) = writer.commit(segments, &[], shared.states) {
            let _ = writer.collect_garbage();
            return Err(e.into());
        }
        // The import is committed; a failed merge only leaves more, smaller segments. After a
        // cancel the user wants out: the next import merges.
        // A cancel that came after all input was read skips the merge too.
        let merged = if cancelled || observer.cancelled() {
            Ok(0)
        } else {
            let mut p = observer_final(&report, t0, n_inputs, input_total);
            p.stage = Stage::Merging;
            observer.progress(&p);
            writer.compact(compact)
        };
        match merged {
            Ok(n) => report.merged = n as u64,
            Err(e) => {
                let p = Problem {
                    source: writer.dir().display().to_string(),
                    line: None,
                    kind: super::ProblemKind::Corrupt,
                    message: format!(
                        "merging small segments failed (the import itself is committed): {e}"
                    ),
                };
                observer.problem(&p);
                report.problems.push(p);
            }
        }
    }
    report.elapsed = t0.elapsed();
    Ok(report)
}

/// What the progress snapshot needs beyond the counters.
struct Live<'a> {
    inputs: u64,
    input_total: Option<u64>,
    job_inputs: &'a [Arc<AtomicU64>],
    router: &'a Router<'a>,
}

/// Progress after the readers are gone (for the merge stage).
fn observer_final(
    r: &ImportReport,
    t0: Instant,
    inputs: u64,
    input_total: Option<u64>,
) -> Progress {
    Progress {
        stage: Stage::Merging,
        current: String::new(),
        files: r.files,
        lines: r.lines,
        bytes: r.bytes,
        elapsed: t0.elapsed(),
        inputs,
        inputs_done: inputs.saturating_sub(r.incomplete + r.not_started),
        input_bytes: input_total.unwrap_or(0),
        input_total,
        cancelling: false,
    }
}

fn snapshot(
    shared: &Mutex<Shared>,
    c: &Counters,
    t0: Instant,
    live: &Live<'_>,
    stage: Stage,
) -> Progress {
    let current = shared.lock().map(|s| s.current.clone()).unwrap_or_default();
    let reading: u64 = live.job_inputs.iter().map(|j| j.load(Ordering::Relaxed)).sum();
    Progress {
        stage,
        current,
        files: c.files.load(Ordering::Relaxed),
        lines: c.lines.load(Ordering::Relaxed),
        bytes: c.bytes.load(Ordering::Relaxed),
        elapsed: t0.elapsed(),
        inputs: live.inputs,
        inputs_done: c.inputs_done.load(Ordering::Relaxed),
        input_bytes: c.input_done.load(Ordering::Relaxed) + reading,
        input_total: live.input_total,
        cancelling: live.router.stop.load(Ordering::Relaxed),
    }
}
