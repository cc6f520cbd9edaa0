//! The store: a directory of immutable, time-sorted segments plus an atomically replaced
//! manifest. The only module that knows bytes on disk.
//!
//! Layout of a store directory (`-d`, default `./twsla.db`):
//!
//! ```text
//! twsla.db/
//!   MANIFEST                 the last commit (segments + source states)
//!   LOCK                     held (flock) by the one writer
//!   segments/seg-<id>.tws    immutable segment files
//! ```
//!
//! Guarantees:
//! * **Atomic commits.** Segments are written under a temporary name, fsynced and renamed;
//!   only then is the manifest replaced (temp file, fsync, rename, fsync dir). A crash at any
//!   point leaves the previous commit intact; leftovers are deleted by the next writer.
//! * **One writer, many readers.** The writer holds an exclusive lock on `LOCK`; readers take
//!   no lock and see the last commit, also while an import runs.
//! * **No decay.** Small segments are merged after each import (see [`StoreWriter::compact`]).

pub mod format;
mod lz4;
pub mod manifest;
mod postings;
pub mod scan;
pub mod segment;
pub mod storage;
pub mod tokenizer;

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use manifest::{Manifest, SegmentRef, SourceState};
pub use segment::{DecodedBlock, Segment, SegmentBuilder, SegmentOptions, SegmentStats};

/// Errors of the store layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An I/O error on a named path.
    #[error("{}: {err}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause (not chained as a `source`: the message already includes it).
        err: io::Error,
    },
    /// Data that fails a check (bad magic, checksum, bounds...).
    #[error("corrupt data{}: {detail}", if segment.is_empty() { String::new() } else { format!(" in {segment}") })]
    Corrupt {
        /// The file concerned, when known.
        segment: String,
        /// What is wrong.
        detail: String,
    },
    /// A format version this build cannot read.
    #[error("unsupported format version {found} (this build reads versions {oldest} to {newest})")]
    Unsupported {
        /// Version found.
        found: u32,
        /// Oldest readable.
        oldest: u32,
        /// Newest readable.
        newest: u32,
    },
    /// No store at the path.
    #[error("no twsla store at {}: run `twsla import` first", .0.display())]
    NotFound(PathBuf),
    /// The path exists but is not a store.
    #[error("{} is not a twsla store: {}", .0.display(), .1)]
    NotAStore(PathBuf, String),
    /// Another process holds the writer lock.
    #[error("another twsla process is writing to {} (wait for it to finish)", .0.display())]
    Locked(PathBuf),
}

impl StoreError {
    /// A corruption error without file context.
    pub fn corrupt(detail: String) -> Self {
        StoreError::Corrupt { segment: String::new(), detail }
    }
    /// Adds the file name to a corruption error.
    pub fn in_file(self, file: &Path) -> Self {
        match self {
            StoreError::Corrupt { detail, .. } => {
                StoreError::Corrupt { segment: file.display().to_string(), detail }
            }
            other => other,
        }
    }
    /// True when the error is "disk full" (ENOSPC) or a quota error.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, StoreError::Io { err, .. } if err.kind() == io::ErrorKind::StorageFull || err.kind() == io::ErrorKind::QuotaExceeded)
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |err| StoreError::Io { path: path.to_path_buf(), err }
}

const MANIFEST: &str = "MANIFEST";
const LOCK: &str = "LOCK";
const SEGMENTS: &str = "segments";

fn read_manifest(dir: &Path) -> Result<Option<Manifest>, StoreError> {
    let path = dir.join(MANIFEST);
    match fs::read(&path) {
        Ok(b) => Manifest::decode(&b).map(Some).map_err(|e| e.in_file(&path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(&path)(e)),
    }
}

fn check_is_store_dir(dir: &Path) -> Result<bool, StoreError> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(true),
        Ok(_) => Err(StoreError::NotAStore(
            dir.to_path_buf(),
            "it is a file (an upstream Go twsla bbolt database?); choose another path with -d"
                .into(),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err(dir)(e)),
    }
}

/// A read-only snapshot of the store: the last commit when it was opened.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    manifest: Manifest,
    segments: Vec<Arc<Segment>>,
}

impl Store {
    /// Opens the last commit of the store at `dir` for reading. Takes no lock.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        if !check_is_store_dir(dir)? {
            return Err(StoreError::NotFound(dir.to_path_buf()));
        }
        // A concurrent writer may merge and unlink segments between our reading the manifest
        // and mapping them; the new manifest then names the new files, so retry.
        let mut last_err = None;
        for _ in 0..8 {
            let Some(manifest) = read_manifest(dir)? else {
                return Err(StoreError::NotFound(dir.to_path_buf()));
            };
            match Self::map_segments(dir, &manifest) {
                Ok(segments) => return Ok(Store { dir: dir.to_path_buf(), manifest, segments }),
                Err(StoreError::Io { path, err }) if err.kind() == io::ErrorKind::NotFound => {
                    last_err = Some(StoreError::Io { path, err });
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| StoreError::NotFound(dir.to_path_buf())))
    }

    fn map_segments(dir: &Path, m: &Manifest) -> Result<Vec<Arc<Segment>>, StoreError> {
        m.segments
            .iter()
            .map(|s| {
                let path = dir.join(SEGMENTS).join(s.file_name());
                let bytes = storage::map_file(&path).map_err(io_err(&path))?;
                let seg = Segment::open(bytes)
                    .map_err(|e| e.in_file(&path))?
                    .with_name(path.display().to_string());
                if u64::from(seg.meta().rows) != u64::from(s.rows) {
                    return Err(StoreError::Corrupt {
                        segment: path.display().to_string(),
                        detail: "row count differs from the manifest".into(),
                    });
                }
                Ok(Arc::new(seg))
            })
            .collect()
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest of this snapshot.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Live segments, parallel to `manifest().segments`.
    pub fn segments(&self) -> &[Arc<Segment>] {
        &self.segments
    }

    /// The path (identity) of source `id`, or `"?"`.
    pub fn source_path(&self, id: u32) -> &str {
        self.manifest.sources.get(id as usize).map_or("?", |s| s.path.as_str())
    }

    /// Line numbers of every record of source `id` (reads only the columns).
    pub fn source_lines(&self, id: u32) -> Result<roaring::RoaringTreemap, StoreError> {
        let mut set = roaring::RoaringTreemap::new();
        let mut blk = DecodedBlock::default();
        for seg in &self.segments {
            for b in 0..seg.block_count() {
                seg.read_columns(b, &mut blk)?;
                for (s, l) in blk.source.iter().zip(&blk.line) {
                    if *s == id {
                        set.insert(*l);
                    }
                }
            }
        }
        Ok(set)
    }

    /// Verifies every segment; returns per-segment results (name, stats or error).
    pub fn verify(&self) -> Vec<(String, Result<segment::VerifyStats, StoreError>)> {
        self.manifest
            .segments
            .iter()
            .zip(&self.segments)
            .map(|(r, s)| {
                let mut res = s.verify();
                if let Ok(v) = &res
                    && (v.min_ts != r.min_ts
                        || v.max_ts != r.max_ts
                        || v.file_bytes != r.file_bytes
                        || v.text_bytes != r.text_bytes)
                {
                    res =
                        Err(StoreError::corrupt("segment differs from its manifest entry".into()));
                }
                (r.file_name(), res)
            })
            .collect()
    }
}

/// Allocates segment ids and writes segment files; shared by the import workers.
#[derive(Debug, Clone)]
pub struct SegmentFiles {
    dir: PathBuf,
    next: Arc<AtomicU64>,
    opts: SegmentOptions,
    /// Test hook: bytes that may still be written before writes fail with "disk full".
    fault: Option<Arc<AtomicU64>>,
}

/// A writer that fails with `StorageFull` once its byte budget is spent (fault injection).
struct Budgeted<W> {
    inner: W,
    budget: Option<Arc<AtomicU64>>,
}

impl<W: io::Write> io::Write for Budgeted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(b) = &self.budget {
            let left = b.load(Ordering::SeqCst);
            if left < buf.len() as u64 {
                return Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    "No space left on device (injected)",
                ));
            }
            b.fetch_sub(buf.len() as u64, Ordering::SeqCst);
        }
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl SegmentFiles {
    /// Writes `builder` as a new published (but not yet committed) segment file.
    pub fn write(&self, builder: &mut SegmentBuilder) -> Result<SegmentRef, StoreError> {
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let name = manifest::segment_file_name(id);
        let tmp = self.dir.join(format!("{name}.tmp"));
        let fin = self.dir.join(&name);
        let res = (|| {
            let f =
                OpenOptions::new().write(true).create_new(true).open(&tmp).map_err(io_err(&tmp))?;
            let mut w = BufWriter::with_capacity(
                1 << 20,
                Budgeted { inner: f, budget: self.fault.clone() },
            );
            let stats = builder.write_to(&mut w).map_err(io_err(&tmp))?;
            let f = w.into_inner().map_err(|e| io_err(&tmp)(e.into_error()))?.inner;
            f.sync_all().map_err(io_err(&tmp))?;
            drop(f);
            fs::rename(&tmp, &fin).map_err(io_err(&fin))?;
            Ok(SegmentRef {
                id,
                rows: stats.rows,
                min_ts: stats.min_ts,
                max_ts: stats.max_ts,
                text_bytes: stats.text_bytes,
                file_bytes: stats.file_bytes,
            })
        })();
        if res.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        res
    }

    /// Writer options for new segments.
    pub fn options(&self) -> SegmentOptions {
        self.opts
    }
}

/// Tuning of when small segments are merged.
#[derive(Debug, Clone, Copy)]
pub struct CompactPolicy {
    /// Segments with less text than this are "small".
    pub small_text_bytes: u64,
    /// Merge when at least this many small segments exist.
    pub min_small_segments: usize,
    /// Target text bytes of a merged segment.
    pub target_text_bytes: u64,
}

impl Default for CompactPolicy {
    fn default() -> Self {
        CompactPolicy {
            small_text_bytes: 16 << 20,
            min_small_segments: 2,
            target_text_bytes: 64 << 20,
        }
    }
}

/// The single writer of a store: holds the lock until dropped.
#[derive(Debug)]
pub struct StoreWriter {
    dir: PathBuf,
    _lock: File,
    manifest: Manifest,
    files: SegmentFiles,
}

impl StoreWriter {
    /// Opens (creating if needed) the store at `dir` for writing. Fails with
    /// [`StoreError::Locked`] if another writer holds it. Deletes leftovers of crashed writers.
    pub fn open(dir: &Path, opts: SegmentOptions) -> Result<StoreWriter, StoreError> {
        if check_is_store_dir(dir)? {
            let has_manifest = dir.join(MANIFEST).exists();
            let empty = fs::read_dir(dir).map_err(io_err(dir))?.next().is_none();
            if !has_manifest && !empty && !dir.join(LOCK).exists() {
                return Err(StoreError::NotAStore(
                    dir.to_path_buf(),
                    "a non-empty directory without a MANIFEST; choose a new or empty directory with -d".into(),
                ));
            }
        } else {
            fs::create_dir_all(dir).map_err(io_err(dir))?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                let _ = storage::sync_dir(parent);
            }
        }
        let lock_path = dir.join(LOCK);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(StoreError::Locked(dir.to_path_buf())),
            Err(fs::TryLockError::Error(e)) => return Err(io_err(&lock_path)(e)),
        }
        let seg_dir = dir.join(SEGMENTS);
        fs::create_dir_all(&seg_dir).map_err(io_err(&seg_dir))?;
        let manifest = match read_manifest(dir)? {
            Some(m) => m,
            None => {
                let m = Manifest::default();
                storage::atomic_write(&dir.join(MANIFEST), &m.encode()?)
                    .map_err(io_err(&dir.join(MANIFEST)))?;
                m
            }
        };
        let files = SegmentFiles {
            dir: seg_dir,
            next: Arc::new(AtomicU64::new(manifest.next_segment)),
            opts,
            fault: None,
        };
        let w = StoreWriter { dir: dir.to_path_buf(), _lock: lock, manifest, files };
        w.collect_garbage()?;
        Ok(w)
    }

    /// Deletes segment files the manifest does not reference, and temp files.
    pub fn collect_garbage(&self) -> Result<usize, StoreError> {
        let live: std::collections::HashSet<String> =
            self.manifest.segments.iter().map(|s| s.file_name()).collect();
        let mut removed = 0;
        let rd = fs::read_dir(&self.files.dir).map_err(io_err(&self.files.dir))?;
        for ent in rd {
            let ent = ent.map_err(io_err(&self.files.dir))?;
            let name = ent.file_name().to_string_lossy().into_owned();
            let ours =
                name.starts_with("seg-") && (name.ends_with(".tws") || name.ends_with(".tws.tmp"));
            if ours && !live.contains(&name) && ent.file_type().is_ok_and(|t| t.is_file()) {
                fs::remove_file(ent.path()).map_err(io_err(&ent.path()))?;
                removed += 1;
            }
        }
        // Leftover manifest temp files.
        if let Ok(rd) = fs::read_dir(&self.dir) {
            for ent in rd.flatten() {
                let name = ent.file_name().to_string_lossy().into_owned();
                if name.starts_with(".MANIFEST.") && name.ends_with(".tmp") {
                    let _ = fs::remove_file(ent.path());
                }
            }
        }
        Ok(removed)
    }

    /// A read snapshot of the last commit.
    pub fn snapshot(&self) -> Result<Store, StoreError> {
        let segments = Store::map_segments(&self.dir, &self.manifest)?;
        Ok(Store { dir: self.dir.clone(), manifest: self.manifest.clone(), segments })
    }

    /// The last committed manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A handle for writing new segment files (clone it into workers).
    pub fn segment_files(&self) -> SegmentFiles {
        self.files.clone()
    }

    /// Atomically publishes `added` segments, drops `removed` ones, and sets the source states.
    /// On error the previous commit stays in force.
    pub fn commit(
        &mut self,
        added: Vec<SegmentRef>,
        removed: &[u64],
        sources: Vec<SourceState>,
    ) -> Result<(), StoreError> {
        let mut m = self.manifest.clone();
        m.segments.retain(|s| !removed.contains(&s.id));
        m.segments.extend(added);
        m.sources = sources;
        m.generation += 1;
        // The newest segment format in the store: older builds refuse it at open.
        m.format_version = m.format_version.max(format::FORMAT_VERSION);
        m.next_segment = m.next_segment.max(self.files.next.load(Ordering::SeqCst));
        storage::sync_dir(&self.files.dir).map_err(io_err(&self.files.dir))?;
        let path = self.dir.join(MANIFEST);
        storage::atomic_write(&path, &m.encode()?).map_err(io_err(&path))?;
        self.manifest = m;
        if !removed.is_empty() {
            self.collect_garbage()?;
        }
        Ok(())
    }

    /// Merges small segments into larger ones so that query cost does not grow with the number
    /// of imports. Returns how many segments were merged (0 when the policy found nothing).
    pub fn compact(&mut self, policy: CompactPolicy) -> Result<usize, StoreError> {
        let small: Vec<SegmentRef> = self
            .manifest
            .segments
            .iter()
            .filter(|s| s.text_bytes < policy.small_text_bytes)
            .cloned()
            .collect();
        if small.len() < policy.min_small_segments.max(2) {
            return Ok(0);
        }
        let mut segs = Vec::with_capacity(small.len());
        for s in &small {
            let path = self.files.dir.join(s.file_name());
            let bytes = storage::map_file(&path).map_err(io_err(&path))?;
            segs.push(Arc::new(Segment::open(bytes).map_err(|e| e.in_file(&path))?));
        }
        let mut added = Vec::new();
        let mut builder = SegmentBuilder::new(self.files.opts);
        let files = self.files.clone();
        let mut err = None;
        scan::scan_time_order(&segs, None, |rec| {
            builder.push(rec.ts, rec.delta, rec.source, rec.line, rec.text);
            if builder.text_bytes() as u64 >= policy.target_text_bytes {
                match files.write(&mut builder) {
                    Ok(r) => added.push(r),
                    Err(e) => {
                        err = Some(e);
                        return Ok(false);
                    }
                }
            }
            Ok(true)
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        if !builder.is_empty() {
            added.push(self.files.write(&mut builder)?);
        }
        let removed: Vec<u64> = small.iter().map(|s| s.id).collect();
        let sources = self.manifest.sources.clone();
        self.commit(added, &removed, sources)?;
        Ok(removed.len())
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// The records of the committed compatibility fixture.
    fn fixture_records() -> Vec<(i64, i64, u32, u64, Vec<u8>)> {
        let mut v = Vec::new();
        for i in 0..40u64 {
            let ts = 1_700_000_000_000_000_000 + (i as i64 % 13) * 1_000_000_000;
            let text = match i % 4 {
                0 => format!(
                    "Nov 14 22:13:{:02} host sshd[{}]: Failed password for root from 10.0.0.{}",
                    i % 60,
                    100 + i,
                    i
                ),
                1 => format!(
                    "{{\"level\":\"info\",\"msg\":\"request {i}\",\"ip\":\"192.168.1.{i}\"}}"
                ),
                2 => format!("java.lang.Exception: boom {i}\n\tat com.example.A.run(A.java:{i})"),
                _ => format!("bytes \u{30ed}\u{30b0} {i} \u{fffd}"),
            };
            v.push((ts, 1_000, (i % 3) as u32, i + 1, text.into_bytes()));
        }
        v.push((1_700_000_100_000_000_000, 0, 0, 41, b"invalid utf-8 \xff\xfe kept".to_vec()));
        v
    }

    fn source(id: u32) -> SourceState {
        SourceState {
            id,
            path: format!("/fixture/source-{id}.log"),
            consumed: 10,
            lines: 20,
            records: 14,
            head_len: 10,
            head_crc: 7,
            last_ts: 1,
            tail: 0,
            partial: false,
            incomplete: false,
        }
    }

    /// A version-1 store takes new (current-version) segments, reads both, and compaction
    /// rewrites the old segments in the current version.
    #[test]
    fn old_store_takes_new_segments_and_compaction_upgrades_it() {
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format/v1/store");
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("store");
        fs::create_dir_all(dir.join("segments")).unwrap();
        fs::copy(src.join("MANIFEST"), dir.join("MANIFEST")).unwrap();
        for e in fs::read_dir(src.join("segments")).unwrap() {
            let e = e.unwrap();
            fs::copy(e.path(), dir.join("segments").join(e.file_name())).unwrap();
        }
        let opts = SegmentOptions { block_text_bytes: 256, block_rows: 8, frame_text_bytes: 64 };
        let mut w = StoreWriter::open(&dir, opts).unwrap();
        let files = w.segment_files();
        let mut b = SegmentBuilder::new(opts);
        let mut want = fixture_records();
        for i in 0..30u64 {
            let rec = (
                1_800_000_000_000_000_000 + i as i64,
                1,
                3,
                i + 1,
                format!("new sshd line {i}").into_bytes(),
            );
            b.push(rec.0, rec.1, rec.2, rec.3, &rec.4);
            want.push(rec);
        }
        let added = vec![files.write(&mut b).unwrap()];
        let mut sources: Vec<SourceState> = (0..4).map(source).collect();
        sources[3].path = "/fixture/new.log".into();
        w.commit(added, &[], sources).unwrap();
        want.sort_by_key(|r| (r.0, r.2, r.3));
        let read = |dir: &Path| {
            let store = Store::open(dir).unwrap();
            for (name, res) in store.verify() {
                res.unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            let mut got = Vec::new();
            scan::scan_time_order(store.segments(), None, |r| {
                got.push((r.ts, r.delta, r.source, r.line, r.text.to_vec()));
                Ok(true)
            })
            .unwrap();
            let versions: Vec<u32> = store.segments().iter().map(|s| s.version()).collect();
            let sshd: u64 =
                store.segments().iter().map(|s| s.blocks_with_token(b"sshd").unwrap().len()).sum();
            (got, versions, sshd)
        };
        let (got, mut versions, sshd) = read(&dir);
        assert_eq!(got, want);
        // The manifest now names the newest format in the store.
        assert_eq!(Store::open(&dir).unwrap().manifest().format_version, format::FORMAT_VERSION);
        versions.sort_unstable();
        assert_eq!(versions, vec![1, 1, format::FORMAT_VERSION]);
        assert!(sshd >= 2);
        let merged = w
            .compact(CompactPolicy {
                small_text_bytes: 1 << 20,
                min_small_segments: 2,
                target_text_bytes: 1 << 20,
            })
            .unwrap();
        assert!(merged > 0);
        drop(w);
        let (got, versions, _) = read(&dir);
        assert_eq!(got, want);
        assert!(versions.iter().all(|v| *v == format::FORMAT_VERSION), "{versions:?}");
    }

    /// Writes the fixture store (only when the directory is missing).
    fn write_fixture(dir: &Path) {
        let opts = SegmentOptions { block_text_bytes: 256, block_rows: 8, frame_text_bytes: 64 };
        let mut w = StoreWriter::open(dir, opts).unwrap();
        let files = w.segment_files();
        let recs = fixture_records();
        let mut added = Vec::new();
        for chunk in recs.chunks(25) {
            let mut b = SegmentBuilder::new(opts);
            for (ts, d, s, l, t) in chunk {
                b.push(*ts, *d, *s, *l, t);
            }
            added.push(files.write(&mut b).unwrap());
        }
        w.commit(added, &[], (0..3).map(source).collect()).unwrap();
        drop(w);
        let _ = fs::remove_file(dir.join(LOCK));
    }

    /// Stores written by every supported format version must open, verify, and read back.
    #[test]
    fn compat_fixtures_open_and_read_back() {
        // Every version from the oldest supported one has a committed fixture; the current
        // version's is written when missing (then committed).
        for version in format::OLDEST_SUPPORTED..=format::FORMAT_VERSION {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join(format!("tests/fixtures/format/v{version}/store"));
            if !dir.exists() && version == format::FORMAT_VERSION {
                write_fixture(&dir);
            }
            let store = Store::open(&dir).unwrap_or_else(|e| panic!("v{version}: {e}"));
            assert_eq!(store.manifest().segments.len(), 2, "v{version}");
            for (name, res) in store.verify() {
                res.unwrap_or_else(|e| panic!("v{version} {name}: {e}"));
            }
            let seg_version = |s: &Segment| s.version();
            assert!(store.segments().iter().all(|s| seg_version(s) == version), "v{version}");
            let mut got = Vec::new();
            scan::scan_time_order(store.segments(), None, |r| {
                got.push((r.ts, r.delta, r.source, r.line, r.text.to_vec()));
                Ok(true)
            })
            .unwrap();
            let mut want = fixture_records();
            want.sort_by_key(|r| (r.0, r.2, r.3));
            assert_eq!(got, want, "v{version}");
            assert_eq!(store.source_path(2), "/fixture/source-2.log");
            // The index answers for a token of the text.
            let hits: u64 =
                store.segments().iter().map(|s| s.blocks_with_token(b"sshd").unwrap().len()).sum();
            assert!(hits > 0, "v{version}");
        }
    }

    #[test]
    fn second_writer_is_refused_and_readers_are_not_blocked() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s.db");
        let w = StoreWriter::open(&dir, SegmentOptions::default()).unwrap();
        assert!(matches!(
            StoreWriter::open(&dir, SegmentOptions::default()),
            Err(StoreError::Locked(_))
        ));
        Store::open(&dir).unwrap();
        drop(w);
        StoreWriter::open(&dir, SegmentOptions::default()).unwrap();
    }

    #[test]
    fn a_file_is_not_a_store() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("twsla.db");
        fs::write(&f, b"bbolt").unwrap();
        let e = Store::open(&f).unwrap_err();
        assert!(e.to_string().contains("upstream Go twsla"), "{e}");
        assert!(matches!(Store::open(&tmp.path().join("nope")), Err(StoreError::NotFound(_))));
    }

    #[test]
    fn failed_segment_write_leaves_the_last_commit() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s.db");
        let mut w = StoreWriter::open(&dir, SegmentOptions::default()).unwrap();
        let mut b = SegmentBuilder::new(SegmentOptions::default());
        b.push(1, 0, 0, 1, b"first");
        let seg = w.segment_files().write(&mut b).unwrap();
        w.commit(vec![seg], &[], vec![source(0)]).unwrap();
        let before = fs::read(dir.join(MANIFEST)).unwrap();
        // Disk full while writing the next segment.
        w.files.fault = Some(Arc::new(AtomicU64::new(100)));
        let mut b = SegmentBuilder::new(SegmentOptions::default());
        for i in 0..1000 {
            b.push(i, 0, 0, i as u64 + 2, format!("line {i} with some text").as_bytes());
        }
        let err = w.segment_files().write(&mut b).unwrap_err();
        assert!(err.is_disk_full(), "{err}");
        assert!(err.to_string().contains(".tws.tmp"), "{err}");
        assert_eq!(fs::read(dir.join(MANIFEST)).unwrap(), before);
        let left: Vec<_> =
            fs::read_dir(dir.join(SEGMENTS)).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left.len(), 1, "temp file not removed: {left:?}");
        let store = Store::open(&dir).unwrap();
        assert_eq!(store.manifest().rows(), 1);
    }
}
