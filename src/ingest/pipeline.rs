//! The parallel import pipeline (see the module docs of [`super`]).
//!
//! Threads (inside `std::thread::scope`):
//! * R reader threads take jobs from a queue and run `source::process_job`;
//! * W builder workers each own a [`SegmentBuilder`] and a bounded channel of batches;
//! * the calling thread reports progress every 100 ms and commits at the end.
//!
//! A reader sends about one segment's worth of text to one worker, then moves to the next
//! worker, so that time-sorted input yields segments that barely overlap in time while the
//! workers sort, tokenize and compress in parallel. Batches are recycled through a bounded
//! free list, so memory stays bounded whatever the input size.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};

use super::reader::{Batch, BatchSink, StreamStats};
use super::source::{Job, SourceContext, expand_inputs, process_job};
use super::{ImportError, ImportObserver, ImportOptions, ImportReport, Problem, Progress};
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

struct Router {
    turn: AtomicUsize,
    quota: usize,
    free: Receiver<Batch>,
}

struct ReaderSink<'a> {
    senders: Vec<Sender<Batch>>,
    router: &'a Router,
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
        for p in &stats.problems {
            self.observer.problem(p);
        }
        let mut sh = self.lock();
        let r = &mut sh.report;
        r.records += stats.records;
        r.out_of_range += stats.out_of_range;
        r.filtered += stats.filtered;
        r.skipped_lines += stats.skipped_lines;
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
    let (job_tx, job_rx) = bounded::<Job>(jobs.len().max(1));
    for j in jobs {
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
    let router = Router { turn: AtomicUsize::new(1), quota, free: free_rx };
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
                };
                scope.spawn(move || {
                    for job in job_rx {
                        if process_job(&job, &mut ctx).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        // Workers see the end of input once every reader (holding sender clones) is done.
        drop(senders);
        let mut last = Instant::now();
        while readers.iter().any(|r| !r.is_finished()) {
            std::thread::sleep(Duration::from_millis(20));
            if last.elapsed() >= Duration::from_millis(100) {
                last = Instant::now();
                observer.progress(&snapshot(&shared, &counters, t0));
            }
        }
        let mut panicked = false;
        for r in readers {
            panicked |= r.join().is_err();
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
    observer.progress(&snapshot(&shared, &counters, t0));
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
    let states_changed = shared.states != writer.manifest().sources;
    if !segments.is_empty() || states_changed {
        if let Err(e) = writer.commit(segments, &[], shared.states) {
            let _ = writer.collect_garbage();
            return Err(e.into());
        }
        // The import is committed; a failed merge only leaves more, smaller segments.
        match writer.compact(compact) {
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

fn snapshot(shared: &Mutex<Shared>, c: &Counters, t0: Instant) -> Progress {
    let current = shared.lock().map(|s| s.current.clone()).unwrap_or_default();
    Progress {
        current,
        files: c.files.load(Ordering::Relaxed),
        lines: c.lines.load(Ordering::Relaxed),
        bytes: c.bytes.load(Ordering::Relaxed),
        elapsed: t0.elapsed(),
    }
}
