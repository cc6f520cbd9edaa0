//! Import: sources → records → segments, in parallel, committed atomically.
//!
//! ```text
//!  sources ──► reader threads ──(bounded, recycled batches)──► builder workers ──► segment files
//!  (files,     split lines, infer timestamps,                  sort, tokenize,      └► one manifest
//!   dirs,      group multi-line records,                       compress, write         commit
//!   archives,  compute deltas, apply -t and filters
//!   stdin)
//! ```
//!
//! Guarantees: nothing is silently dropped. Lines without a timestamp join the record before
//! them (or, at the start of a source, the first record that has one); bad sources (missing,
//! binary, corrupt archive, over-long line) are reported as [`Problem`]s naming the input, and
//! the rest of the import goes on. A re-import of the same source adds only what is new.

pub mod inspect;
pub mod pipeline;
pub mod reader;
pub mod source;
pub mod timestamp;

#[cfg(test)]
mod tests_cancel;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

pub use pipeline::run_import;

use crate::model::Nanos;
use crate::query::{Filter, TimeRange};

/// How lines are grouped into records.
#[derive(Debug, Clone, Default)]
pub enum Grouping {
    /// A line with a timestamp starts a record; lines without one join the record before.
    #[default]
    Timestamp,
    /// `--mlStart`: a line matching the regex starts a record.
    Start(regex_automata::meta::Regex),
    /// `--mlSep`: a line matching the regex ends a record (and belongs to it).
    Separator(regex_automata::meta::Regex),
    /// `--mlLines`: every N lines make a record.
    Lines(usize),
}

/// Options of one import run.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Zone-less timestamps are UTC (else local).
    pub utc: bool,
    /// Do not parse timestamps: every record gets the import start time.
    pub no_ts: bool,
    /// Line grouping.
    pub grouping: Grouping,
    /// Only records inside this range are stored.
    pub range: TimeRange,
    /// Only records passing this filter are stored.
    pub filter: Filter,
    /// Only directory entries / archive members whose name matches (simple filter) are read.
    pub file_pat: Option<regex_automata::meta::Regex>,
    /// Lines longer than this are skipped and reported.
    pub max_line: usize,
    /// A multi-line record is cut (continued in a new record) beyond this size.
    pub max_record: usize,
    /// Reader threads (0 = automatic).
    pub readers: usize,
    /// Segment builder workers (0 = automatic).
    pub workers: usize,
    /// Text bytes per segment before it is written.
    pub segment_text_bytes: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            utc: false,
            no_ts: false,
            grouping: Grouping::Timestamp,
            range: TimeRange::ALL,
            filter: Filter::default(),
            file_pat: None,
            max_line: 4 << 20,
            max_record: 16 << 20,
            readers: 0,
            workers: 0,
            segment_text_bytes: 64 << 20,
        }
    }
}

/// What kind of problem an input had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The input does not exist or cannot be read.
    Unreadable,
    /// The input looks binary (NUL bytes); it was not imported.
    Binary,
    /// A compressed file or archive is corrupt or truncated; what came before was imported.
    Corrupt,
    /// A line longer than the limit was skipped.
    LongLine,
    /// No timestamp found: the lines were not imported.
    NoTimestamp,
    /// A format this build does not import.
    Unsupported,
    /// The import was cancelled while reading a stream that cannot be resumed (stdin).
    Cancelled,
}

/// A non-fatal problem with one input.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// The input (path, `archive:member`, `-`).
    pub source: String,
    /// Line number, when the problem concerns one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Category.
    pub kind: ProblemKind,
    /// Human-readable explanation, with a hint where there is one.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.source, l, self.message),
            None => write!(f, "{}: {}", self.source, self.message),
        }
    }
}

/// Totals of one import run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Sources (files, members, streams) read.
    pub files: u64,
    /// Lines read.
    pub lines: u64,
    /// Bytes read (decompressed, terminators included).
    pub bytes: u64,
    /// Records stored.
    pub records: u64,
    /// Records outside `-t`.
    pub out_of_range: u64,
    /// Records rejected by the filters.
    pub filtered: u64,
    /// Lines not imported (over-long lines, sources without timestamps).
    pub skipped_lines: u64,
    /// Sources unchanged since the last import.
    pub unchanged: u64,
    /// Sources whose records were stored for the first time (new or replaced content).
    pub new_sources: u64,
    /// Sources imported before that got more records (grown, or completed after a filtered,
    /// limited or cancelled import).
    pub grown: u64,
    /// Segments written.
    pub segments: u64,
    /// Segments merged after the import.
    pub merged: u64,
    /// The import was cancelled ([`ImportObserver::cancelled`]): what was read up to a record
    /// boundary of each source is committed, and the next import of the same inputs reads
    /// only the rest.
    pub cancelled: bool,
    /// Inputs (files, archives, stdin) whose reading the cancel cut short; their sources are
    /// marked `incomplete` in the manifest.
    pub incomplete: u64,
    /// Inputs not opened at all because of the cancel.
    pub not_started: u64,
    /// Wall time.
    #[serde(serialize_with = "ser_secs")]
    pub elapsed: Duration,
    /// Problems, in the order found.
    pub problems: Vec<Problem>,
}

fn ser_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// What an import is doing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Stage {
    /// Reading the inputs (and building segments as batches arrive).
    #[default]
    Reading,
    /// All input read (or the reading was cancelled): the last segments are being written.
    Writing,
    /// Committing the new segments and source states.
    Committing,
    /// Merging small segments (after a committed import).
    Merging,
}

/// A live view of an import, for progress displays.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// What the import is doing.
    pub stage: Stage,
    /// The source being read most recently.
    pub current: String,
    /// Sources started.
    pub files: u64,
    /// Lines read so far.
    pub lines: u64,
    /// Bytes read so far.
    pub bytes: u64,
    /// Time since the start.
    pub elapsed: Duration,
    /// Inputs (files, archives, stdin after directory expansion).
    pub inputs: u64,
    /// Inputs read to the end.
    pub inputs_done: u64,
    /// Raw (compressed) bytes of the inputs read so far.
    pub input_bytes: u64,
    /// Total raw size of the inputs, when known (not for stdin or other streams).
    pub input_total: Option<u64>,
    /// A cancel was seen: the readers are stopping at record boundaries.
    pub cancelling: bool,
}

/// Receives progress and problems while an import runs (the CLI prints them), and may
/// cancel it.
pub trait ImportObserver: Sync {
    /// Called about every 100 ms.
    fn progress(&self, _p: &Progress) {}
    /// Called as soon as a problem is found.
    fn problem(&self, _p: &Problem) {}
    /// Polled by the reader threads (per input, per archive member, per read chunk and every
    /// 256 lines). Once it returns true, the readers stop at the next record boundary, no
    /// further input is opened, and everything read is committed; the next import of the
    /// same inputs completes them (stdin excepted). Must be cheap.
    fn cancelled(&self) -> bool {
        false
    }
}

/// An observer that ignores everything.
pub struct Quiet;
impl ImportObserver for Quiet {}

/// Errors that stop an import (nothing of the run is committed).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The store failed (disk full, permissions, lock...).
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A worker thread panicked (a bug).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Timestamp given to every record with `--noTS`, and "now" for year inference of streams.
pub(crate) fn import_clock() -> Nanos {
    crate::model::now_nanos()
}

/// Source path used for a stream (stdin) import.
pub(crate) fn stdin_identity(now: Nanos) -> String {
    format!("stdin@{}", crate::model::format_rfc3339(now, true))
}

/// A path made absolute (without resolving symlinks if canonicalization fails).
pub(crate) fn absolute(p: &std::path::Path) -> PathBuf {
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
}
