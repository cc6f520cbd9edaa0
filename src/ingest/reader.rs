//! Per-source processing: split a byte stream into lines, infer timestamps, group lines into
//! records, compute deltas, apply `-t` and the filters, and fill batches for the builders.
//!
//! Runs on a reader thread, sequentially per source (grouping and deltas depend on order).

use std::io::{self, Read};

use super::timestamp::{TimestampParser, TsOptions};
use super::{Grouping, ImportOptions, Problem, ProblemKind};
use crate::model::{Nanos, SourceId};

/// Text bytes in a batch before it is handed to a builder.
pub(crate) const BATCH_TEXT: usize = 1 << 20;
/// Read size.
const CHUNK: usize = 1 << 20;
/// Records held while no timestamp has been seen yet in a source.
const MAX_HELD: usize = 64 << 20;

/// One record inside a [`Batch`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rec {
    pub ts: Nanos,
    pub delta: i64,
    pub line: u64,
    pub off: u32,
    pub len: u32,
}

/// A group of complete records of one source, with their text.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub source: SourceId,
    pub text: Vec<u8>,
    pub recs: Vec<Rec>,
}

/// Where batches go; `send` fails when the workers are gone.
pub(crate) trait BatchSink {
    fn fresh(&mut self) -> Batch;
    fn send(&mut self, b: Batch) -> Result<(), ()>;
    /// True once the import is cancelled: the reader stops at the next record boundary.
    fn cancelled(&self) -> bool {
        false
    }
}

/// Lines read between two polls of [`BatchSink::cancelled`] (it is also polled per chunk).
const CANCEL_POLL_LINES: u64 = 256;

/// Where a stream starts and what came before it.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreamStart {
    /// Number of the first line to be read, minus one.
    pub lines_before: u64,
    /// Timestamp of the last stored record of this source, if any.
    pub last_ts: Option<Nanos>,
    /// Reference time for year-less dates (the file's mtime).
    pub reference: Option<Nanos>,
    /// Timestamp of every record with `--noTS`.
    pub import_time: Nanos,
    /// The previous import ended inside an unterminated line (which it stored): a leading
    /// terminator is skipped, and otherwise the first bytes continue that line.
    pub after_partial: bool,
    /// Records starting at these line numbers are already stored (re-read of a source that
    /// an earlier filtered import stored only partly).
    pub skip_lines: Option<std::sync::Arc<roaring::RoaringTreemap>>,
}

/// Counts of one stream.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreamStats {
    pub lines: u64,
    pub bytes: u64,
    pub records: u64,
    pub out_of_range: u64,
    pub filtered: u64,
    pub skipped_lines: u64,
    pub last_ts: Option<Nanos>,
    pub problems: Vec<Problem>,
    /// The stream ended early (read error); `bytes` counts what was consumed.
    pub truncated: bool,
    /// Bytes of the unterminated last line that was stored (0 if the stream ended with `\n`).
    pub tail: u64,
    /// Records skipped because an earlier import stored them.
    pub already: u64,
    /// The import was cancelled and reading stopped at a record boundary before the end:
    /// `bytes` and `lines` end just before the first record not read.
    pub stopped: bool,
    /// Records were stored from content not imported before (set by the caller).
    pub new_source: bool,
    /// Records were stored from a source imported before (set by the caller).
    pub grown: bool,
}

impl StreamStats {
    /// True when lines of the consumed range were not stored (filters, `-t`, long lines).
    pub(crate) fn dropped_some(&self) -> bool {
        self.out_of_range > 0 || self.filtered > 0 || self.skipped_lines > 0
    }
}

struct Assembler<'a, S: BatchSink> {
    opts: &'a ImportOptions,
    sink: &'a mut S,
    source: SourceId,
    parser: Option<TimestampParser>,
    import_time: Nanos,
    batch: Batch,
    open: bool,
    cur_start: usize,
    cur_line: u64,
    cur_lines: usize,
    cur_ts: Option<Nanos>,
    held: Vec<(u64, usize, Vec<u8>)>,
    held_bytes: usize,
    known_ts: Option<Nanos>,
    prev_ts: Option<Nanos>,
    stats: StreamStats,
    abandoned: bool,
    skip_lines: Option<std::sync::Arc<roaring::RoaringTreemap>>,
}

impl<S: BatchSink> Assembler<'_, S> {
    fn ts_of(&mut self, line: &[u8]) -> Option<Nanos> {
        match &mut self.parser {
            Some(p) => p.parse(line).map(|p| p.ns),
            None => Some(self.import_time),
        }
    }

    fn start_record(&mut self, line_no: u64) -> Result<(), ()> {
        if self.batch.text.len() >= BATCH_TEXT {
            self.flush_batch()?;
        }
        self.open = true;
        self.cur_start = self.batch.text.len();
        self.cur_line = line_no;
        self.cur_lines = 0;
        self.cur_ts = None;
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<(), ()> {
        if self.batch.recs.is_empty() {
            self.batch.text.clear();
            return Ok(());
        }
        let mut next = self.sink.fresh();
        next.source = self.source;
        let full = std::mem::replace(&mut self.batch, next);
        self.sink.send(full)
    }

    fn append_line(&mut self, line: &[u8], line_no: u64, ts: Option<Nanos>) -> Result<(), ()> {
        if !self.open {
            self.start_record(line_no)?;
        } else if self.batch.text.len() - self.cur_start + line.len() + 1 > self.opts.max_record
            && self.cur_lines > 0
        {
            // Cut an oversized multi-line record; the rest continues with the same time.
            self.finish_record()?;
            self.start_record(line_no)?;
        }
        if self.cur_lines > 0 {
            self.batch.text.push(b'\n');
        }
        self.batch.text.extend_from_slice(line);
        self.cur_lines += 1;
        if self.cur_ts.is_none() {
            self.cur_ts = ts;
        }
        if ts.is_some() {
            self.known_ts = ts;
        }
        Ok(())
    }

    fn emit(&mut self, ts: Nanos, off: usize, len: usize, line: u64) {
        let text = &self.batch.text[off..off + len];
        if self.skip_lines.as_ref().is_some_and(|s| s.contains(line)) {
            self.stats.already += 1;
            return;
        }
        if !self.opts.range.contains(ts) {
            self.stats.out_of_range += 1;
            return;
        }
        if !self.opts.filter.matches(text) {
            self.stats.filtered += 1;
            return;
        }
        let delta = self.prev_ts.map_or(0, |p| ts.wrapping_sub(p));
        self.prev_ts = Some(ts);
        self.stats.records += 1;
        self.stats.last_ts = Some(ts);
        self.batch.recs.push(Rec { ts, delta, line, off: off as u32, len: len as u32 });
    }

    fn finish_record(&mut self) -> Result<(), ()> {
        if !self.open {
            return Ok(());
        }
        self.open = false;
        let len = self.batch.text.len() - self.cur_start;
        // A record without a time of its own takes the last time seen before it.
        let Some(ts) = self.cur_ts.or(self.known_ts) else {
            // No time known yet: hold the record until the first timestamp of the source.
            let text = self.batch.text.split_off(self.cur_start);
            self.held_bytes += text.len();
            self.held.push((self.cur_line, self.cur_lines, text));
            if self.held_bytes > MAX_HELD {
                self.abandoned = true;
            }
            return Ok(());
        };
        let (start, line) = (self.cur_start, self.cur_line);
        for (hline, _, htext) in std::mem::take(&mut self.held) {
            let off = self.batch.text.len();
            self.batch.text.extend_from_slice(&htext);
            self.emit(ts, off, htext.len(), hline);
        }
        self.held_bytes = 0;
        self.emit(ts, start, len, line);
        Ok(())
    }

    /// Whether reading may stop just before `line` without changing any record: the line
    /// starts a new record (as it would in an uninterrupted read) and nothing is held back
    /// waiting for a timestamp. A later import that starts at this line then builds exactly
    /// the records an uninterrupted import builds.
    fn can_stop_before(&mut self, line: &[u8]) -> bool {
        if !self.held.is_empty() || (self.open && self.cur_ts.or(self.known_ts).is_none()) {
            return false;
        }
        if !self.open {
            return true;
        }
        match &self.opts.grouping {
            // A failed parse leaves the parser's state as it was; a successful one ends the
            // read, so the line is not parsed twice by the same parser.
            Grouping::Timestamp => self.ts_of(line).is_some(),
            Grouping::Start(re) => re.is_match(line),
            Grouping::Separator(_) | Grouping::Lines(_) => false,
        }
    }

    fn line(&mut self, line: &[u8], line_no: u64) -> Result<(), ()> {
        match &self.opts.grouping {
            Grouping::Timestamp => {
                let ts = self.ts_of(line);
                if ts.is_some() || !self.open {
                    self.finish_record()?;
                    self.start_record(line_no)?;
                }
                self.append_line(line, line_no, ts)
            }
            Grouping::Start(re) => {
                if re.is_match(line) {
                    self.finish_record()?;
                    self.start_record(line_no)?;
                }
                let ts = self.ts_of(line);
                self.append_line(line, line_no, ts)
            }
            Grouping::Separator(re) => {
                let ts = self.ts_of(line);
                let sep = re.is_match(line);
                self.append_line(line, line_no, ts)?;
                if sep { self.finish_record() } else { Ok(()) }
            }
            Grouping::Lines(n) => {
                let ts = self.ts_of(line);
                self.append_line(line, line_no, ts)?;
                if self.cur_lines >= (*n).max(1) { self.finish_record() } else { Ok(()) }
            }
        }
    }
}

/// Reads `reader` to the end as one source. `on_chunk(lines, bytes)` reports progress.
/// Returns `Err(())` only when the builders are gone (the import is failing anyway).
///
/// Once the sink says the import is cancelled (polled per chunk and every
/// [`CANCEL_POLL_LINES`] lines), reading stops before the next line that starts a record
/// (see `Assembler::can_stop_before`); the records before it are completed and sent, and
/// [`StreamStats::stopped`] is set.
#[allow(clippy::too_many_arguments)]
pub(crate) fn read_stream<S: BatchSink>(
    reader: &mut dyn Read,
    source: SourceId,
    name: &str,
    start: StreamStart,
    sample: &[u8],
    opts: &ImportOptions,
    sink: &mut S,
    on_chunk: &mut dyn FnMut(u64, u64),
) -> Result<StreamStats, ()> {
    let parser = (!opts.no_ts).then(|| {
        let mut p =
            TimestampParser::new(TsOptions { utc: opts.utc, reference_ns: start.reference });
        p.prime(sample);
        p
    });
    let mut batch = sink.fresh();
    batch.source = source;
    let mut a = Assembler {
        opts,
        sink,
        source,
        parser,
        import_time: start.import_time,
        batch,
        open: false,
        cur_start: 0,
        cur_line: 0,
        cur_lines: 0,
        cur_ts: None,
        held: Vec::new(),
        held_bytes: 0,
        known_ts: start.last_ts,
        prev_ts: start.last_ts,
        stats: StreamStats::default(),
        abandoned: false,
        skip_lines: start.skip_lines.clone(),
    };
    let mut buf: Vec<u8> = vec![0; CHUNK];
    let (mut lo, mut hi) = (0usize, 0usize);
    let mut line_no = start.lines_before;
    let mut eof = false;
    let mut skipping: Option<(u64, u64)> = None; // (line, bytes) of an over-long line
    let mut check_partial = start.after_partial;
    // The first line continues the previous import's last line: same number, not a new line.
    let mut continuation = false;
    let mut stopping = false;
    let mut stopped = false;
    let next_line = |line_no: &mut u64, lines: &mut u64, continuation: &mut bool| {
        if *continuation {
            *continuation = false;
        } else {
            *line_no += 1;
            *lines += 1;
        }
    };
    while !eof && !a.abandoned && !stopped {
        if !stopping && a.sink.cancelled() {
            stopping = true;
        }
        // Fill the buffer.
        if lo > 0 && (hi - lo) < buf.len() / 2 {
            buf.copy_within(lo..hi, 0);
            hi -= lo;
            lo = 0;
        }
        if hi == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let n = match reader.read(&mut buf[hi..]) {
            Ok(0) => {
                eof = true;
                0
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                a.stats.problems.push(Problem {
                    source: name.to_string(),
                    line: None,
                    kind: ProblemKind::Corrupt,
                    message: format!(
                        "read failed after {} bytes: {e}; what came before was imported",
                        a.stats.bytes + (hi - lo) as u64
                    ),
                });
                a.stats.truncated = true;
                eof = true;
                0
            }
        };
        hi += n;
        let (lines_before, bytes_before) = (a.stats.lines, a.stats.bytes);
        if check_partial && (hi - lo >= 2 || eof) {
            check_partial = false;
            let rest = &buf[lo..hi];
            let skip = if rest.starts_with(b"\n") {
                1
            } else if rest.starts_with(b"\r\n") {
                2
            } else {
                continuation = !rest.is_empty();
                0
            };
            lo += skip;
            a.stats.bytes += skip as u64;
        }
        // Lines end at \n; a \r before it is part of the terminator.
        let mut search = lo;
        while let Some(p) = memchr::memchr(b'\n', &buf[search..hi]).map(|p| p + search) {
            let raw_len = (p + 1 - lo) as u64;
            if let Some((l, bytes)) = skipping.take() {
                let term = if p > lo && buf[p - 1] == b'\r' { 2 } else { 1 };
                let total = (bytes + raw_len).saturating_sub(term);
                a.stats.skipped_lines += 1;
                a.stats.bytes += raw_len;
                a.stats.problems.push(long_line(name, l, total, opts.max_line));
                lo = p + 1;
                search = lo;
                continue;
            }
            let mut line = &buf[lo..p];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            if stopping && !continuation && line.len() <= opts.max_line && a.can_stop_before(line) {
                stopped = true;
                break;
            }
            next_line(&mut line_no, &mut a.stats.lines, &mut continuation);
            a.stats.bytes += raw_len;
            if line.len() > opts.max_line {
                a.stats.skipped_lines += 1;
                a.stats.problems.push(long_line(name, line_no, line.len() as u64, opts.max_line));
            } else {
                a.line(line, line_no)?;
            }
            lo = p + 1;
            search = lo;
            if a.abandoned {
                break;
            }
            if !stopping && a.stats.lines.is_multiple_of(CANCEL_POLL_LINES) && a.sink.cancelled() {
                stopping = true;
            }
        }
        // No terminator in the rest: an over-long line is skipped without buffering it
        // (+1: a line of exactly the limit may still be waiting for the \n of its \r\n).
        if !eof && !stopped && (skipping.is_some() || hi - lo > opts.max_line + 1) {
            let (l, bytes) = match skipping {
                Some(s) => s,
                None => {
                    next_line(&mut line_no, &mut a.stats.lines, &mut continuation);
                    (line_no, 0)
                }
            };
            let dropped = (hi - lo) as u64;
            a.stats.bytes += dropped;
            skipping = Some((l, bytes + dropped));
            lo = 0;
            hi = 0;
        }
        on_chunk(a.stats.lines - lines_before, a.stats.bytes - bytes_before);
    }
    if stopped {
        a.stats.stopped = true;
        a.finish_record()?;
    } else if !a.abandoned {
        let (lines_at_end, bytes_at_end) = (a.stats.lines, a.stats.bytes);
        if let Some((l, bytes)) = skipping.take() {
            a.stats.skipped_lines += 1;
            a.stats.problems.push(long_line(name, l, bytes + (hi - lo) as u64, opts.max_line));
            a.stats.bytes += (hi - lo) as u64;
        } else if lo < hi {
            // The last line has no terminator.
            let mut line = &buf[lo..hi];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            next_line(&mut line_no, &mut a.stats.lines, &mut continuation);
            a.stats.bytes += (hi - lo) as u64;
            a.stats.tail = (hi - lo) as u64;
            if line.len() > opts.max_line {
                a.stats.skipped_lines += 1;
                a.stats.problems.push(long_line(name, line_no, line.len() as u64, opts.max_line));
            } else {
                a.line(line, line_no)?;
            }
        }
        a.finish_record()?;
        on_chunk(a.stats.lines - lines_at_end, a.stats.bytes - bytes_at_end);
    }
    if !a.held.is_empty() {
        let lines: u64 = a.held.iter().map(|h| h.1 as u64).sum();
        a.stats.skipped_lines += lines;
        let first = a.held[0].0;
        let msg = if a.abandoned {
            format!(
                "no timestamp found in the first {lines} lines; the source was not imported (use --noTS to import it with the import time, or --mlStart/--mlSep to group lines)"
            )
        } else {
            format!(
                "{lines} lines have no timestamp and none follows; not imported (use --noTS to import them with the import time)"
            )
        };
        a.stats.problems.push(Problem {
            source: name.to_string(),
            line: Some(first),
            kind: ProblemKind::NoTimestamp,
            message: msg,
        });
    }
    a.flush_batch()?;
    Ok(a.stats)
}

fn long_line(name: &str, line: u64, len: u64, max: usize) -> Problem {
    Problem {
        source: name.to_string(),
        line: Some(line),
        kind: ProblemKind::LongLine,
        message: format!(
            "line of {len} bytes is longer than the limit of {max} bytes; skipped (raise it with --maxLine)"
        ),
    }
}
