//! Inputs: expanding arguments into sources, recognising containers by their magic bytes
//! (gzip, zip, tar, tar.gz; EVTX is recognised and reported), and reading each text stream
//! incrementally (only what is new since the last import).

use std::fs::{self, File};
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::reader::{BatchSink, StreamStart, StreamStats, read_stream};
use super::{ImportOptions, Problem, ProblemKind, absolute};
use crate::model::Nanos;
use crate::store::SourceState;
use crate::store::format::crc32;

/// Bytes of the head of a source used to recognise it later (rotation/replacement check).
pub(crate) const HEAD_LEN: usize = 4096;
/// Bytes inspected for NUL to call a source binary.
const BINARY_PROBE: usize = 8192;
/// Bytes read ahead to learn the timestamp context (year) of a source.
const SAMPLE_LEN: usize = 1 << 20;

/// One thing to read, as given on the command line (after directory expansion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Job {
    /// Standard input (`-`).
    Stdin,
    /// A file: plain text, compressed or an archive.
    File(PathBuf),
}

/// What the sniffed magic bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gzip,
    Zip,
    Tar,
    Evtx,
    Text,
}

fn sniff(head: &[u8]) -> Kind {
    if head.starts_with(&[0x1f, 0x8b]) {
        Kind::Gzip
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Kind::Zip
    } else if head.starts_with(b"ElfFile\0") {
        Kind::Evtx
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Kind::Tar
    } else {
        Kind::Text
    }
}

fn is_store_dir(dir: &Path) -> bool {
    let mut b = [0u8; 14];
    File::open(dir.join("MANIFEST")).and_then(|mut f| f.read_exact(&mut b)).is_ok()
        && &b == b"TWSLA-MANIFEST"
}

fn name_matches(pat: Option<&regex_automata::meta::Regex>, name: &str) -> bool {
    pat.is_none_or(|re| re.is_match(name.as_bytes()))
}

/// Expands the inputs: `-` is stdin, a directory is walked recursively in name order (entries
/// whose file name matches `--filePat`; twsla stores inside are skipped), a file is a file.
pub(crate) fn expand_inputs(
    inputs: &[String],
    opts: &ImportOptions,
    problems: &mut Vec<Problem>,
) -> Vec<Job> {
    let mut jobs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for input in inputs {
        if input == "-" {
            jobs.push(Job::Stdin);
            continue;
        }
        let path = PathBuf::from(input);
        match fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, opts, &mut jobs, &mut seen, problems),
            Ok(_) => {
                if seen.insert(absolute(&path)) {
                    jobs.push(Job::File(path));
                }
            }
            Err(e) => problems.push(Problem {
                source: input.clone(),
                line: None,
                kind: ProblemKind::Unreadable,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    jobs
}

fn walk(
    dir: &Path,
    opts: &ImportOptions,
    jobs: &mut Vec<Job>,
    seen: &mut std::collections::HashSet<PathBuf>,
    problems: &mut Vec<Problem>,
) {
    if is_store_dir(dir) {
        return;
    }
    let mut entries: Vec<(PathBuf, fs::FileType)> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter_map(|e| Some((e.path(), e.file_type().ok()?)))
            .collect(),
        Err(e) => {
            problems.push(Problem {
                source: dir.display().to_string(),
                line: None,
                kind: ProblemKind::Unreadable,
                message: format!("cannot list directory: {e}"),
            });
            return;
        }
    };
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, ft) in entries {
        if ft.is_dir() {
            walk(&path, opts, jobs, seen, problems);
        } else if ft.is_file() || (ft.is_symlink() && path.is_file()) {
            let name =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if name_matches(opts.file_pat.as_ref(), &name) && seen.insert(absolute(&path)) {
                jobs.push(Job::File(path));
            }
        }
    }
}

/// Access to the store's source table and the builders, given to a reader thread.
pub(crate) trait SourceContext {
    /// The batch sink of this thread.
    type Sink: BatchSink;
    /// Id and prior state of the source called `identity` (created if new).
    fn lookup(&self, identity: &str) -> (u32, Option<SourceState>);
    /// A stream was read: its new state (None when nothing usable was found) and counts.
    fn finished(&self, state: Option<SourceState>, stats: StreamStats);
    /// Reports a problem.
    fn problem(&self, p: Problem);
    /// The sink for batches.
    fn sink(&mut self) -> &mut Self::Sink;
    /// Progress: a stream started.
    fn started(&self, name: &str);
    /// Shared progress counters.
    fn counters(&self) -> std::sync::Arc<super::pipeline::Counters>;
    /// The source was unchanged since the last import.
    fn unchanged(&self);
    /// Options of the run.
    fn options(&self) -> &ImportOptions;
    /// Line numbers of the records of source `id` already in the store.
    fn stored_lines(&self, id: u32) -> std::sync::Arc<roaring::RoaringTreemap>;
    /// Import start time.
    fn import_time(&self) -> Nanos;
    /// The import was cancelled before the end of the current input (an archive stopped
    /// between members); streams cut in the middle say so in [`StreamStats::stopped`].
    fn interrupted(&self) {}
    /// Counter of the raw input bytes read for the current input (for a progress gauge).
    fn input_counter(&self) -> std::sync::Arc<std::sync::atomic::AtomicU64> {
        Default::default()
    }
}

/// Counts the raw bytes read from an input file into a progress counter.
pub(crate) struct Counting<R> {
    inner: R,
    counter: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

fn read_up_to(r: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    read_sample(r, n).map_err(|(_, e)| e)
}

/// Reads up to `n` bytes; on error, returns what was read along with the error.
fn read_sample(r: &mut dyn Read, n: usize) -> Result<Vec<u8>, (Vec<u8>, io::Error)> {
    let mut v = Vec::with_capacity(n.min(1 << 16));
    match r.take(n as u64).read_to_end(&mut v) {
        Ok(_) => Ok(v),
        Err(e) => Err((v, e)),
    }
}

/// A reader that fails once with a stored error (or is empty).
struct ErrAfter(Option<io::Error>);

impl Read for ErrAfter {
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

fn mtime_nanos(m: &fs::Metadata) -> Option<Nanos> {
    let t = m.modified().ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_nanos()).ok()
}

/// Reads one job to the end. Errors are reported as problems; returns `Err(())` only when
/// the builders are gone.
pub(crate) fn process_job<C: SourceContext>(job: &Job, ctx: &mut C) -> Result<(), ()> {
    match job {
        Job::Stdin => {
            let now = ctx.import_time();
            let identity = super::stdin_identity(now);
            let mut stdin = io::stdin().lock();
            import_text(&identity, "-", Content::Stream(&mut stdin), Some(now), ctx)
        }
        Job::File(path) => process_file(path, ctx),
    }
}

fn unreadable(name: &str, e: impl std::fmt::Display) -> Problem {
    Problem {
        source: name.to_string(),
        line: None,
        kind: ProblemKind::Unreadable,
        message: format!("cannot read: {e}"),
    }
}

fn process_file<C: SourceContext>(path: &Path, ctx: &mut C) -> Result<(), ()> {
    let name = path.display().to_string();
    let identity = absolute(path).display().to_string();
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            ctx.problem(unreadable(&name, e));
            return Ok(());
        }
    };
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => {
            ctx.problem(unreadable(&name, e));
            return Ok(());
        }
    };
    let mtime = mtime_nanos(&meta);
    let mut magic = [0u8; 512];
    let n = match read_full(&mut file, &mut magic) {
        Ok(n) => n,
        Err(e) => {
            ctx.problem(unreadable(&name, e));
            return Ok(());
        }
    };
    if let Err(e) = file.seek(SeekFrom::Start(0)) {
        ctx.problem(unreadable(&name, e));
        return Ok(());
    }
    let file = Counting { inner: file, counter: ctx.input_counter() };
    match sniff(&magic[..n]) {
        Kind::Text => import_text(&identity, &name, Content::Plain(file, meta.len()), mtime, ctx),
        Kind::Evtx => {
            ctx.problem(Problem {
                source: name,
                line: None,
                kind: ProblemKind::Unsupported,
                message: "Windows EVTX files cannot be imported by this build yet; skipped".into(),
            });
            Ok(())
        }
        Kind::Gzip => {
            let mut gz =
                flate2::read::MultiGzDecoder::new(io::BufReader::with_capacity(1 << 16, file));
            let head = match read_up_to(&mut gz, 512) {
                Ok(h) => h,
                Err(e) => {
                    ctx.problem(corrupt(&name, "gzip", e));
                    return Ok(());
                }
            };
            let mut chained = Cursor::new(head.clone()).chain(gz);
            if sniff(&head) == Kind::Tar {
                import_tar(&mut chained, &identity, &name, mtime, ctx)
            } else {
                import_text(&identity, &name, Content::Stream(&mut chained), mtime, ctx)
            }
        }
        Kind::Tar => {
            let mut r = io::BufReader::with_capacity(1 << 16, file);
            import_tar(&mut r, &identity, &name, mtime, ctx)
        }
        Kind::Zip => import_zip(file, &identity, &name, mtime, ctx),
    }
}

/// Raw size of an input, when known (a regular file); `None` for stdin and other streams.
pub(crate) fn input_size(job: &Job) -> Option<u64> {
    match job {
        Job::Stdin => None,
        Job::File(p) => fs::metadata(p).ok().filter(|m| m.is_file()).map(|m| m.len()),
    }
}

/// The identity of a job that is exactly one text source (a plain or gzip-compressed text
/// file), found by sniffing its first bytes; `None` for archives, stdin and unreadable files.
/// The import registers these identities in input order before reading, so that source ids
/// (and with them the order of records with equal timestamps) do not depend on which reader
/// thread reaches a file first.
pub(crate) fn single_source_identity(job: &Job) -> Option<String> {
    let Job::File(path) = job else { return None };
    // Only regular files: sniffing a FIFO or a device would consume its data.
    if !fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut file = File::open(path).ok()?;
    let mut magic = [0u8; 512];
    let n = read_full(&mut file, &mut magic).ok()?;
    let single = match sniff(&magic[..n]) {
        Kind::Text => true,
        Kind::Gzip => {
            file.seek(SeekFrom::Start(0)).ok()?;
            let mut gz = flate2::read::MultiGzDecoder::new(io::BufReader::new(file));
            let head = read_up_to(&mut gz, 512).ok()?;
            sniff(&head) != Kind::Tar
        }
        Kind::Evtx | Kind::Tar | Kind::Zip => false,
    };
    single.then(|| absolute(path).display().to_string())
}

fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn corrupt(name: &str, what: &str, e: impl std::fmt::Display) -> Problem {
    Problem {
        source: name.to_string(),
        line: None,
        kind: ProblemKind::Corrupt,
        message: format!("corrupt or truncated {what}: {e}"),
    }
}

/// Reads a member that may itself be gzip-compressed.
fn import_member<C: SourceContext>(
    r: &mut dyn Read,
    identity: &str,
    name: &str,
    mtime: Option<Nanos>,
    ctx: &mut C,
) -> Result<(), ()> {
    let head = match read_up_to(r, 2) {
        Ok(h) => h,
        Err(e) => {
            ctx.problem(corrupt(name, "archive member", e));
            return Ok(());
        }
    };
    let mut chained = Cursor::new(head.clone()).chain(r);
    if head.starts_with(&[0x1f, 0x8b]) {
        let mut gz = flate2::read::MultiGzDecoder::new(chained);
        import_text(identity, name, Content::Stream(&mut gz), mtime, ctx)
    } else {
        import_text(identity, name, Content::Stream(&mut chained), mtime, ctx)
    }
}

fn import_tar<C: SourceContext>(
    r: &mut dyn Read,
    identity: &str,
    name: &str,
    mtime: Option<Nanos>,
    ctx: &mut C,
) -> Result<(), ()> {
    let mut ar = tar::Archive::new(r);
    let entries = match ar.entries() {
        Ok(e) => e,
        Err(e) => {
            ctx.problem(corrupt(name, "tar archive", e));
            return Ok(());
        }
    };
    for entry in entries {
        if ctx.sink().cancelled() {
            ctx.interrupted();
            return Ok(());
        }
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                ctx.problem(corrupt(name, "tar archive", e));
                return Ok(());
            }
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let member = match entry.path() {
            Ok(p) => p.display().to_string(),
            Err(e) => {
                ctx.problem(corrupt(name, "tar entry name", e));
                continue;
            }
        };
        let base = member.rsplit('/').next().unwrap_or(&member);
        if !name_matches(ctx.options().file_pat.as_ref(), base) {
            continue;
        }
        let mt = entry
            .header()
            .mtime()
            .ok()
            .and_then(|s| i64::try_from(s).ok())
            .and_then(|s| s.checked_mul(1_000_000_000))
            .or(mtime);
        import_member(
            &mut entry,
            &format!("{identity}:{member}"),
            &format!("{name}:{member}"),
            mt,
            ctx,
        )?;
    }
    Ok(())
}

fn import_zip<R: Read + Seek, C: SourceContext>(
    file: R,
    identity: &str,
    name: &str,
    mtime: Option<Nanos>,
    ctx: &mut C,
) -> Result<(), ()> {
    let mut ar = match zip::ZipArchive::new(io::BufReader::new(file)) {
        Ok(a) => a,
        Err(e) => {
            ctx.problem(corrupt(name, "zip archive", e));
            return Ok(());
        }
    };
    for i in 0..ar.len() {
        if ctx.sink().cancelled() {
            ctx.interrupted();
            return Ok(());
        }
        let mut f = match ar.by_index(i) {
            Ok(f) => f,
            Err(e) => {
                ctx.problem(corrupt(name, &format!("zip member #{i}"), e));
                continue;
            }
        };
        if !f.is_file() {
            continue;
        }
        let member = match f.name() {
            Ok(n) => n.to_string(),
            Err(e) => {
                ctx.problem(corrupt(name, "zip member name", e));
                continue;
            }
        };
        let base = member.rsplit('/').next().unwrap_or(&member).to_string();
        if !name_matches(ctx.options().file_pat.as_ref(), &base) {
            continue;
        }
        import_member(
            &mut f,
            &format!("{identity}:{member}"),
            &format!("{name}:{member}"),
            mtime,
            ctx,
        )?;
    }
    Ok(())
}

/// The bytes of one text source.
pub(crate) enum Content<'r> {
    /// A plain file (seekable) and its size.
    Plain(Counting<File>, u64),
    /// A stream (decompressor, archive member, stdin).
    Stream(&'r mut dyn Read),
}

fn import_text<C: SourceContext>(
    identity: &str,
    name: &str,
    content: Content<'_>,
    reference: Option<Nanos>,
    ctx: &mut C,
) -> Result<(), ()> {
    let (id, prior) = ctx.lookup(identity);
    ctx.started(name);
    let (mut plain, size, mut stream) = match content {
        Content::Plain(f, size) => (Some(f), Some(size), None),
        Content::Stream(r) => (None, None, Some(r)),
    };
    let sample = if let Some(f) = plain.as_mut() {
        read_sample(f, SAMPLE_LEN)
    } else if let Some(r) = stream.as_mut() {
        read_sample(&mut **r, SAMPLE_LEN)
    } else {
        Ok(Vec::new())
    };
    // A read error inside the sample (e.g. a small truncated gzip) keeps what was read: the
    // error is replayed after it, so the reader reports it and stores what came before.
    let (sample, mut sample_err) = match sample {
        Ok(s) => (s, None),
        Err((s, e)) => (s, Some(e)),
    };
    if memchr::memchr(0, &sample[..sample.len().min(BINARY_PROBE)]).is_some() {
        ctx.problem(Problem {
            source: name.to_string(),
            line: None,
            kind: ProblemKind::Binary,
            message: "binary file (NUL bytes in the first 8 KiB); not imported".into(),
        });
        return Ok(());
    }
    let head = &sample[..sample.len().min(HEAD_LEN)];
    // Resume after what an earlier import consumed, if this is the same content grown.
    let same = prior.as_ref().filter(|p| {
        (p.head_len as usize) <= head.len() && crc32(&head[..p.head_len as usize]) == p.head_crc
    });
    let mut start = StreamStart { import_time: ctx.import_time(), reference, ..Default::default() };
    let mut skip = 0u64;
    if let Some(p) = same.filter(|p| p.partial) {
        // An earlier import stored only part of this source (filters, -t, long lines): read
        // it all again and store what is missing, skipping records already stored.
        start.skip_lines = Some(ctx.stored_lines(id));
        start.last_ts = None;
        let _ = p;
    } else if let Some(p) = same {
        if size.is_some_and(|s| s < p.consumed) {
            // Shorter than before: a new file under the same name; read it all.
        } else if size == Some(p.consumed) {
            ctx.unchanged();
            return Ok(());
        } else {
            skip = p.consumed;
            start.lines_before = p.lines;
            start.last_ts = (p.records > 0).then_some(p.last_ts);
            start.after_partial = p.tail > 0;
        }
    }
    let start_lines_before = start.lines_before;
    let start_last_ts = start.last_ts;
    let sample_len = sample.len() as u64;
    let mut rest_of_sample = Cursor::new(&sample[skip.min(sample_len) as usize..]);
    let stats = if let Some(mut f) = plain {
        if skip > sample_len
            && let Err(e) = f.seek(SeekFrom::Start(skip))
        {
            ctx.problem(unreadable(name, e));
            return Ok(());
        }
        if sample_err.is_some() {
            let mut r = (&mut rest_of_sample).chain(ErrAfter(sample_err.take()));
            run(&mut r, id, name, start, &sample, ctx)?
        } else {
            let mut r = (&mut rest_of_sample).chain(f);
            run(&mut r, id, name, start, &sample, ctx)?
        }
    } else if let Some(s) = stream {
        if skip > sample_len && sample_err.is_none() {
            let want = skip - sample_len;
            match io::copy(&mut (&mut *s).take(want), &mut io::sink()) {
                Ok(n) if n == want => {}
                Ok(_) => {
                    ctx.problem(Problem {
                        source: name.to_string(),
                        line: None,
                        kind: ProblemKind::Corrupt,
                        message:
                            "shorter than what an earlier import read from it; not re-imported"
                                .into(),
                    });
                    return Ok(());
                }
                Err(e) => {
                    ctx.problem(corrupt(name, "stream", e));
                    return Ok(());
                }
            }
        }
        if sample_err.is_some() {
            let mut r = (&mut rest_of_sample).chain(ErrAfter(sample_err.take()));
            run(&mut r, id, name, start, &sample, ctx)?
        } else if sample_len < SAMPLE_LEN as u64 {
            // The sample ended at the end of the stream: do not read it again (a terminal
            // as stdin would wait for a second end-of-file).
            run(&mut rest_of_sample, id, name, start, &sample, ctx)?
        } else {
            let mut r = (&mut rest_of_sample).chain(s);
            run(&mut r, id, name, start, &sample, ctx)?
        }
    } else {
        return Ok(());
    };
    if same.is_some()
        && stats.records == 0
        && !stats.truncated
        && !stats.dropped_some()
        && !stats.stopped
    {
        ctx.unchanged();
    }
    let mut stats = stats;
    // New content (first import, or a placeholder never read, or a replaced file) versus
    // more of content imported before (grown, or completed after a filter or a cancel).
    let fresh = same.is_none_or(|p| p.consumed == 0 && p.records == 0);
    stats.new_source = fresh && stats.records > 0;
    stats.grown = !fresh && stats.records > 0;
    if stats.stopped && name == "-" {
        stats.problems.push(Problem {
            source: name.to_string(),
            line: None,
            kind: ProblemKind::Cancelled,
            message: format!(
                "import cancelled after {} lines; the records read were stored, the rest of standard input was not read (a stream cannot be resumed)",
                stats.lines
            ),
        });
    }
    let prior_records = prior.as_ref().map_or(0, |p| p.records);
    let usable = stats.records > 0 || prior_records > 0 || stats.lines > stats.skipped_lines;
    // A cancelled re-read of a partly stored source (`start.skip_lines`) stays partial: the
    // lines after the stop point may hold records stored before, so the next import re-reads
    // it all again with the stored-lines list rather than resuming at the stop point.
    let rereading = same.is_some_and(|p| p.partial);
    let (consumed, lines) = match prior.as_ref() {
        Some(p) if rereading && stats.stopped => {
            (p.consumed.max(skip + stats.bytes), p.lines.max(start_lines_before + stats.lines))
        }
        _ => (skip + stats.bytes, start_lines_before + stats.lines),
    };
    let state = usable.then(|| SourceState {
        id,
        path: identity.to_string(),
        consumed,
        lines,
        records: prior_records + stats.records,
        head_len: head.len() as u32,
        head_crc: crc32(head),
        last_ts: stats.last_ts.or(start_last_ts).unwrap_or(0),
        tail: stats.tail as u32,
        partial: stats.dropped_some() || (rereading && stats.stopped),
        incomplete: stats.stopped,
    });
    ctx.finished(state, stats);
    Ok(())
}

fn run<C: SourceContext>(
    r: &mut dyn Read,
    id: u32,
    name: &str,
    start: StreamStart,
    sample: &[u8],
    ctx: &mut C,
) -> Result<StreamStats, ()> {
    let opts = ctx.options().clone();
    let progress = ctx.counters();
    read_stream(r, id, name, start, sample, &opts, ctx.sink(), &mut |l, b| progress.add(l, b))
}

/// Fuzzing entry: reads `data` as a source of any kind into a discarding sink.
pub(crate) fn fuzz_container(data: &[u8]) {
    struct Discard;
    impl BatchSink for Discard {
        fn fresh(&mut self) -> super::reader::Batch {
            super::reader::Batch::default()
        }
        fn send(&mut self, _b: super::reader::Batch) -> Result<(), ()> {
            Ok(())
        }
    }
    struct Ctx {
        opts: ImportOptions,
        sink: Discard,
        counters: std::sync::Arc<super::pipeline::Counters>,
        states: std::cell::RefCell<Vec<SourceState>>,
    }
    impl SourceContext for Ctx {
        type Sink = Discard;
        fn lookup(&self, _identity: &str) -> (u32, Option<SourceState>) {
            (0, self.states.borrow().last().cloned())
        }
        fn finished(&self, state: Option<SourceState>, _stats: StreamStats) {
            if let Some(s) = state {
                self.states.borrow_mut().push(s);
            }
        }
        fn problem(&self, _p: Problem) {}
        fn sink(&mut self) -> &mut Discard {
            &mut self.sink
        }
        fn started(&self, _name: &str) {}
        fn counters(&self) -> std::sync::Arc<super::pipeline::Counters> {
            self.counters.clone()
        }
        fn unchanged(&self) {}
        fn options(&self) -> &ImportOptions {
            &self.opts
        }
        fn stored_lines(&self, _id: u32) -> std::sync::Arc<roaring::RoaringTreemap> {
            Default::default()
        }
        fn import_time(&self) -> Nanos {
            0
        }
    }
    let mut ctx = Ctx {
        opts: ImportOptions { max_line: 1 << 12, max_record: 1 << 14, ..ImportOptions::default() },
        sink: Discard,
        counters: Default::default(),
        states: Default::default(),
    };
    let head = &data[..data.len().min(512)];
    let _ = match sniff(head) {
        Kind::Text | Kind::Evtx => {
            import_text("fuzz", "fuzz", Content::Stream(&mut Cursor::new(data)), None, &mut ctx)
        }
        Kind::Gzip => {
            let mut gz = flate2::read::MultiGzDecoder::new(Cursor::new(data));
            import_member(&mut gz, "fuzz", "fuzz", None, &mut ctx)
        }
        Kind::Tar => import_tar(&mut Cursor::new(data), "fuzz", "fuzz", None, &mut ctx),
        Kind::Zip => import_zip(Cursor::new(data), "fuzz", "fuzz", None, &mut ctx),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn single_source_identity_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("a.log");
        fs::write(&text, b"Jun 14 15:16:01 combo sshd[1]: x\n").unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"Jun 14 15:16:01 combo sshd[1]: x\n").unwrap();
        let gzp = dir.path().join("b.log.gz");
        fs::write(&gzp, gz.finish().unwrap()).unwrap();
        let mut tarb = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(4);
        h.set_cksum();
        tarb.append_data(&mut h, "m.log", &b"x y\n"[..]).unwrap();
        let tarp = dir.path().join("c.tar");
        fs::write(&tarp, tarb.into_inner().unwrap()).unwrap();
        let mut tgz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        tgz.write_all(&fs::read(&tarp).unwrap()).unwrap();
        let tgzp = dir.path().join("d.tgz");
        fs::write(&tgzp, tgz.finish().unwrap()).unwrap();
        let id = |p: &Path| single_source_identity(&Job::File(p.to_path_buf()));
        assert_eq!(id(&text), Some(absolute(&text).display().to_string()));
        assert_eq!(id(&gzp), Some(absolute(&gzp).display().to_string()));
        assert_eq!(id(&tarp), None, "an archive holds its members' sources");
        assert_eq!(id(&tgzp), None);
        assert_eq!(id(dir.path()), None, "not a regular file");
        assert_eq!(id(&dir.path().join("missing.log")), None);
        assert_eq!(single_source_identity(&Job::Stdin), None);
    }
}

#[cfg(test)]
mod cancel_tests {
    use std::cell::{Cell, RefCell};
    use std::sync::Arc;

    use super::super::pipeline::Counters;
    use super::super::reader::Batch;
    use super::*;

    /// Keeps every record sent; cancels once polled `after` times.
    struct Keep {
        recs: Vec<(u64, Vec<u8>)>,
        after: u64,
        polls: Cell<u64>,
    }

    impl BatchSink for Keep {
        fn fresh(&mut self) -> Batch {
            Batch::default()
        }
        fn send(&mut self, b: Batch) -> Result<(), ()> {
            for r in &b.recs {
                let t = &b.text[r.off as usize..(r.off + r.len) as usize];
                self.recs.push((r.line, t.to_vec()));
            }
            Ok(())
        }
        fn cancelled(&self) -> bool {
            let n = self.polls.get();
            self.polls.set(n + 1);
            n >= self.after
        }
    }

    struct Ctx {
        opts: ImportOptions,
        sink: Keep,
        done: RefCell<Vec<(Option<SourceState>, StreamStats)>>,
    }

    impl SourceContext for Ctx {
        type Sink = Keep;
        fn lookup(&self, _identity: &str) -> (u32, Option<SourceState>) {
            (0, None)
        }
        fn finished(&self, state: Option<SourceState>, stats: StreamStats) {
            self.done.borrow_mut().push((state, stats));
        }
        fn problem(&self, p: Problem) {
            panic!("unexpected problem {p}");
        }
        fn sink(&mut self) -> &mut Keep {
            &mut self.sink
        }
        fn started(&self, _name: &str) {}
        fn counters(&self) -> Arc<Counters> {
            Arc::default()
        }
        fn unchanged(&self) {}
        fn options(&self) -> &ImportOptions {
            &self.opts
        }
        fn stored_lines(&self, _id: u32) -> Arc<roaring::RoaringTreemap> {
            Arc::default()
        }
        fn import_time(&self) -> Nanos {
            0
        }
    }

    fn read(data: &[u8], after: u64) -> Ctx {
        let mut ctx = Ctx {
            opts: ImportOptions { utc: true, ..ImportOptions::default() },
            sink: Keep { recs: Vec::new(), after, polls: Cell::new(0) },
            done: RefCell::default(),
        };
        let mut cur = Cursor::new(data);
        import_text("stdin@test", "-", Content::Stream(&mut cur), None, &mut ctx).unwrap();
        ctx
    }

    #[test]
    fn cancelled_stdin_keeps_a_prefix_and_says_it_cannot_resume() {
        // Multi-line records (2 or 3 lines) so that a stop inside one would show.
        let mut data = String::new();
        for i in 0..2000 {
            data.push_str(&format!("2024-05-06T07:08:{:02}Z stdin event {i}\n", i % 60));
            data.push_str(&format!("  detail {i}\n"));
            if i % 2 == 0 {
                data.push_str("  more\n");
            }
        }
        let full = read(data.as_bytes(), u64::MAX);
        let full_recs = full.sink.recs.clone();
        assert_eq!(full_recs.len(), 2000);
        let polls = full.sink.polls.get();
        assert!(polls >= 10, "polls {polls}");
        assert!(full.done.borrow()[0].1.problems.is_empty());
        for after in [1, polls / 3, polls / 2, polls - 2] {
            let ctx = read(data.as_bytes(), after);
            let got = &ctx.sink.recs;
            assert!(!got.is_empty() && got.len() < full_recs.len(), "after {after}: {}", got.len());
            assert_eq!(got[..], full_recs[..got.len()], "after {after}: not a prefix");
            let done = ctx.done.borrow();
            let (state, stats) = &done[0];
            assert!(stats.stopped);
            let state = state.as_ref().unwrap();
            assert!(state.incomplete && state.records == got.len() as u64);
            assert_eq!(stats.problems.len(), 1, "{:?}", stats.problems);
            let p = &stats.problems[0];
            assert_eq!((p.source.as_str(), p.kind), ("-", ProblemKind::Cancelled));
            assert!(p.message.contains("cannot be resumed"), "{}", p.message);
            // The stop is just before the first record not stored.
            let next_line = full_recs[got.len()].0;
            assert_eq!(state.lines, next_line - 1, "after {after}");
        }
    }
}
