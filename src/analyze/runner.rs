//! The runner: plans which blocks to read, decodes and filters them in parallel, and hands
//! records to an operator in time order (or in any order, for order-free aggregations).
//!
//! Planning prunes whole segments and blocks by time (block bounds from the index) and by the
//! token index ([`crate::query::plan`]). Blocks are then processed in batches on the rayon
//! pool; each block is decompressed once, rows are found with a substring prefilter when the
//! filter has a required literal, and every candidate row is verified with the real filter.
//!
//! Ordered output: blocks are taken in order of their first (last, when reversed) timestamp;
//! after a batch, every pending row before the next unprocessed block's bound is final and is
//! emitted; the rest waits. So memory stays bounded by a batch plus the overlap of segments.

use rayon::prelude::*;

use super::{AnalyzeError, Flow};
use crate::model::{Nanos, SourceId};
use crate::query::{Filter, TimeRange, plan};
use crate::store::format::FRAMES_PER_BLOCK;
use crate::store::segment::ALL_FRAMES;
use crate::store::{DecodedBlock, Store, StoreError};

/// One block to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRef {
    /// Index into `store.segments()`.
    pub seg: u32,
    /// Block number inside the segment.
    pub block: u32,
    /// First timestamp of the block.
    pub min_ts: Nanos,
    /// Last timestamp of the block.
    pub max_ts: Nanos,
    /// Rows in the block.
    pub rows: u32,
    /// The frames of the block to read (bit `f` for frame `f`; [`ALL_FRAMES`] for all).
    pub frames: u32,
}

/// What the planner decided.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Candidate blocks, sorted by `(min_ts, seg, block)`.
    pub blocks: Vec<BlockRef>,
    /// Blocks in the store.
    pub total_blocks: u64,
    /// Rows in the candidate blocks.
    pub candidate_rows: u64,
}

/// Plans a scan: the blocks that may hold records inside `range` that pass `filter`.
pub fn plan(store: &Store, filter: &Filter, range: TimeRange) -> Result<Plan, StoreError> {
    let req = filter.requirement();
    let per_seg: Result<Vec<(Vec<BlockRef>, u64)>, StoreError> = store
        .segments()
        .par_iter()
        .enumerate()
        .map(|(si, seg)| {
            let m = seg.meta();
            let total = u64::from(m.blocks);
            if m.rows == 0 || m.max_ts < range.start || m.min_ts > range.end {
                return Ok((Vec::new(), total));
            }
            let cand = plan::candidate_frames(seg, &req)?;
            let mut out = Vec::new();
            let mut push = |b: u32, frames: u32| -> Result<(), StoreError> {
                let e = seg.block_entry(b as usize)?;
                if e.max_ts >= range.start && e.min_ts <= range.end {
                    out.push(BlockRef {
                        seg: si as u32,
                        block: b,
                        min_ts: e.min_ts,
                        max_ts: e.max_ts,
                        rows: e.rows,
                        frames,
                    });
                }
                Ok(())
            };
            // Blocks are sorted by time inside a segment: binary-search the first block that
            // can reach the range, stop at the first that starts after it.
            let (mut lo, mut hi) = (0u32, m.blocks);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if seg.block_entry(mid as usize)?.max_ts < range.start {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            let first = lo;
            match cand {
                Some(bm) => {
                    // Frame ids, grouped into one reference per block with a frame mask.
                    let mut cur: Option<(u32, u32)> = None;
                    for f in bm.range(first.saturating_mul(FRAMES_PER_BLOCK)..) {
                        let (b, bit) = (f / FRAMES_PER_BLOCK, 1u32 << (f % FRAMES_PER_BLOCK));
                        match &mut cur {
                            Some((cb, mask)) if *cb == b => *mask |= bit,
                            _ => {
                                if let Some((cb, mask)) = cur {
                                    push(cb, mask)?;
                                }
                                cur = Some((b, bit));
                            }
                        }
                    }
                    if let Some((cb, mask)) = cur {
                        push(cb, mask)?;
                    }
                }
                None => {
                    let mut b = first;
                    while b < m.blocks && seg.block_entry(b as usize)?.min_ts <= range.end {
                        push(b, ALL_FRAMES)?;
                        b += 1;
                    }
                }
            }
            Ok((out, total))
        })
        .collect();
    let mut p = Plan::default();
    for (v, total) in per_seg? {
        p.total_blocks += total;
        p.blocks.extend(v);
    }
    p.blocks.sort_unstable_by_key(|b| (b.min_ts, b.seg, b.block));
    p.candidate_rows = p.blocks.iter().map(|b| u64::from(b.rows)).sum();
    Ok(p)
}

/// A record that passed the filter, with its own copy of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Timestamp.
    pub ts: Nanos,
    /// Delta to the previous record of the same source.
    pub delta: i64,
    /// Source id.
    pub source: SourceId,
    /// Line number of the first line.
    pub line: u64,
    /// Raw text.
    pub text: Vec<u8>,
}

impl Hit {
    fn key(&self) -> (Nanos, SourceId, u64) {
        (self.ts, self.source, self.line)
    }
}

/// Counters of a scan.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct ScanStats {
    /// Blocks in the store.
    pub blocks_total: u64,
    /// Blocks decoded.
    pub blocks_read: u64,
    /// Rows examined (in decoded blocks).
    pub rows_read: u64,
    /// Records that passed the filter and range.
    pub hits: u64,
}

/// Calls `f(row)` for every row of `blk` inside `range` that passes `filter`.
pub fn filter_block(
    blk: &DecodedBlock,
    filter: &Filter,
    finder: Option<&memchr::memmem::Finder<'_>>,
    range: TimeRange,
    mut f: impl FnMut(usize),
) {
    let check = |i: usize| range.contains(blk.ts[i]) && filter.matches(blk.record(i).text);
    match finder {
        Some(fd) => {
            // Every occurrence (overlapping ones too) marks its row as a candidate.
            let text = &blk.text;
            let mut pos = 0usize;
            let mut last_row = usize::MAX;
            while pos < text.len() {
                let Some(at) = fd.find(&text[pos..]) else { break };
                let s = pos + at;
                // Row holding byte s: the last i with offs[i] <= s.
                let row = blk.offs.partition_point(|&o| o as usize <= s).saturating_sub(1);
                if row < blk.len() && row != last_row {
                    let end = blk.offs[row + 1] as usize;
                    if s + fd.needle().len() <= end {
                        last_row = row;
                        if check(row) {
                            f(row);
                        }
                        // Later occurrences in this row add nothing.
                        pos = end.max(s + 1);
                        continue;
                    }
                }
                pos = s + 1;
            }
        }
        None => {
            for i in 0..blk.len() {
                if check(i) {
                    f(i);
                }
            }
        }
    }
}

thread_local! {
    /// One decode buffer (with its LZ4 dictionary copy, and a zstd context for version-1
    /// segments) per worker thread, reused across blocks.
    static BLOCK: std::cell::RefCell<DecodedBlock> = std::cell::RefCell::new(DecodedBlock::default());
}

pub(crate) fn with_block<T>(f: impl FnOnce(&mut DecodedBlock) -> T) -> T {
    BLOCK.with(|b| match b.try_borrow_mut() {
        Ok(mut blk) => f(&mut blk),
        // Re-entrant use on the same thread (nested rayon work): use a fresh buffer.
        Err(_) => f(&mut DecodedBlock::default()),
    })
}

/// The hits of one block, decoded into `blk`.
fn block_hits(
    store: &Store,
    b: &BlockRef,
    blk: &mut DecodedBlock,
    filter: &Filter,
    finder: Option<&memchr::memmem::Finder<'_>>,
    range: TimeRange,
) -> Result<Vec<Hit>, StoreError> {
    store.segments()[b.seg as usize].read_block_frames(b.block as usize, b.frames, blk)?;
    let mut hits = Vec::new();
    filter_block(blk, filter, finder, range, |i| {
        let r = blk.record(i);
        hits.push(Hit {
            ts: r.ts,
            delta: r.delta,
            source: r.source,
            line: r.line,
            text: r.text.to_vec(),
        });
    });
    Ok(hits)
}

/// Decodes a batch of blocks: in parallel on the rayon pool, or on the calling thread for
/// small plans (starting threads would cost more than the work).
fn read_batch(
    store: &Store,
    batch: &[BlockRef],
    filter: &Filter,
    range: TimeRange,
    parallel: bool,
) -> Result<Vec<Vec<Hit>>, StoreError> {
    let finder = filter.required_literal().map(memchr::memmem::Finder::new);
    let hits = |blk: &mut DecodedBlock, b: &BlockRef| {
        block_hits(store, b, blk, filter, finder.as_ref(), range)
    };
    if parallel {
        batch.par_iter().map(|b| with_block(|blk| hits(blk, b))).collect()
    } else {
        with_block(|blk| batch.iter().map(|b| hits(blk, b)).collect())
    }
}

/// Plans with at most this many blocks are decoded on the calling thread.
const SMALL_PLAN_BLOCKS: usize = 128;

/// Blocks per parallel batch.
fn batch_len() -> usize {
    #[cfg(test)]
    if let Some(n) = TEST_BATCH.with(std::cell::Cell::get) {
        return n;
    }
    // Large batches: fewer fork-join points on the pool; the merge keeps order anyway.
    (rayon::current_num_threads() * 64).clamp(16, 512)
}

#[cfg(test)]
thread_local! {
    /// Tests force small batches so that merges across many batches are exercised.
    pub(crate) static TEST_BATCH: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
    /// How many scans took the streaming path (tests check that both paths are exercised).
    pub(crate) static STREAMED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Cancellation and progress of the scans started on one thread (see [`with_control`]).
///
/// A frontend (the TUI) runs an analysis on a worker thread inside [`with_control`]; the scans
/// of that analysis add their progress here and stop early, returning what they have so far,
/// once `cancel` is set. Analyses need no parameter for it, so their signatures stay as they are.
#[derive(Debug, Default)]
pub struct ScanControl {
    /// Set to stop: ordered scans stop after the current batch, folds skip remaining blocks.
    pub cancel: std::sync::atomic::AtomicBool,
    /// Rows in the blocks planned by the scans so far.
    pub rows_planned: std::sync::atomic::AtomicU64,
    /// Rows examined so far.
    pub rows_read: std::sync::atomic::AtomicU64,
    /// Records that passed the filter so far.
    pub hits: std::sync::atomic::AtomicU64,
    /// The named phase an analysis is in after (or between) its scans, `""` while scanning.
    pub phase: std::sync::Mutex<&'static str>,
    /// Work items of the current phase done so far.
    pub phase_done: std::sync::atomic::AtomicU64,
    /// Work items of the current phase (0 = unknown).
    pub phase_total: std::sync::atomic::AtomicU64,
}

impl ScanControl {
    /// Whether cancellation was requested.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Enters the named phase of `total` work items (0 = unknown); `""` means scanning.
    pub fn set_phase(&self, name: &'static str, total: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        if let Ok(mut p) = self.phase.lock() {
            *p = name;
        }
        self.phase_done.store(0, Relaxed);
        self.phase_total.store(total, Relaxed);
    }

    /// Records `n` more work items of the current phase as done.
    pub fn step(&self, n: u64) {
        self.phase_done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// The current phase with its done and total counts.
    pub fn phase(&self) -> (&'static str, u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let name = self.phase.lock().map(|p| *p).unwrap_or("");
        (name, self.phase_done.load(Relaxed), self.phase_total.load(Relaxed))
    }
}

/// A handle on the control of the calling thread (see [`with_control`]) for long computations
/// after the scans: they name their phase, count their steps and poll for cancellation, also
/// from other threads (the handle is cloned into rayon closures). Without a control (the
/// NDJSON path) every call is a no-op and [`Phase::cancelled`] is always false.
#[derive(Debug, Clone, Default)]
pub struct Phase(Option<std::sync::Arc<ScanControl>>);

impl Phase {
    /// Enters phase `name` of `total` items (0 = unknown) on the current thread's control.
    pub fn enter(name: &'static str, total: u64) -> Phase {
        let ctl = control();
        if let Some(c) = &ctl {
            c.set_phase(name, total);
        }
        Phase(ctl)
    }

    /// Records `n` more items as done.
    pub fn step(&self, n: u64) {
        if let Some(c) = &self.0 {
            c.step(n);
        }
    }

    /// Whether the user asked to stop: the computation should return what it has.
    pub fn cancelled(&self) -> bool {
        self.0.as_deref().is_some_and(ScanControl::cancelled)
    }
}

thread_local! {
    static CONTROL: std::cell::RefCell<Option<std::sync::Arc<ScanControl>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `ctl` as the control of every scan that `f` starts on this thread.
pub fn with_control<T>(ctl: std::sync::Arc<ScanControl>, f: impl FnOnce() -> T) -> T {
    struct Reset(Option<std::sync::Arc<ScanControl>>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let old = self.0.take();
            CONTROL.with(|c| *c.borrow_mut() = old);
        }
    }
    let _reset = Reset(CONTROL.with(|c| c.borrow_mut().replace(ctl)));
    f()
}

/// The control set by [`with_control`] on this thread, if any.
fn control() -> Option<std::sync::Arc<ScanControl>> {
    CONTROL.with(|c| c.borrow().clone())
}

/// Streams the hits of `plan` in `(ts, source, line)` order (descending with `reverse`).
pub fn scan_ordered(
    store: &Store,
    plan: &Plan,
    filter: &Filter,
    range: TimeRange,
    reverse: bool,
    mut emit: impl FnMut(&Hit) -> Result<Flow, AnalyzeError>,
) -> Result<ScanStats, AnalyzeError> {
    let mut st = ScanStats { blocks_total: plan.total_blocks, ..ScanStats::default() };
    let ctl = control();
    if let Some(c) = &ctl {
        c.rows_planned.fetch_add(plan.candidate_rows, std::sync::atomic::Ordering::Relaxed);
    }
    let ctl_ref = ctl.as_deref();
    let mut order: Vec<BlockRef> = plan.blocks.clone();
    if reverse {
        order.sort_unstable_by_key(|b| std::cmp::Reverse((b.max_ts, b.seg, b.block)));
    }
    if order.len() <= SMALL_PLAN_BLOCKS && disjoint_in_order(&order, reverse) {
        return scan_streaming(store, &order, filter, range, reverse, st, emit);
    }
    let bl = batch_len();
    let batches: Vec<std::ops::Range<usize>> =
        (0..order.len()).step_by(bl).map(|i| i..(i + bl).min(order.len())).collect();
    // Decoding (parallel, on the rayon pool) runs one batch ahead of merging and emitting
    // (this thread), so writing the output overlaps with decompression.
    let (tx, rx) =
        crossbeam_channel::bounded::<Result<Vec<Vec<Hit>>, StoreError>>(batches.len().clamp(2, 64));
    let order_ref = &order;
    // A small plan (a narrow time slice, a rare token) is decoded inline: starting threads
    // would cost more than the work.
    let small = order.len() <= SMALL_PLAN_BLOCKS;
    std::thread::scope(|scope| {
        let produce = move || {
            for r in &batches {
                if ctl_ref.is_some_and(ScanControl::cancelled) {
                    break;
                }
                let res = read_batch(store, &order_ref[r.clone()], filter, range, !small);
                let failed = res.is_err();
                if tx.send(res).is_err() || failed {
                    break;
                }
            }
        };
        if small {
            // The channel holds every batch of a small plan (its capacity is the batch count);
            // dropping the closure drops the sender, which ends the receiving loop below.
            produce();
            drop(produce);
        } else {
            scope.spawn(produce);
        }
        // Owned here, so that returning early drops it and the decoder thread stops.
        let rx = rx;
        let mut pending: Vec<Hit> = Vec::new();
        let mut i = 0;
        for res in rx.iter() {
            if ctl_ref.is_some_and(ScanControl::cancelled) {
                // Batches decoded ahead are dropped: the rows emitted so far are the result.
                return Ok(st);
            }
            let results = res?;
            let j = (i + bl).min(order.len());
            st.blocks_read += (j - i) as u64;
            let rows_read = order[i..j].iter().map(|b| u64::from(b.rows)).sum::<u64>();
            st.rows_read += rows_read;
            if let Some(c) = ctl_ref {
                c.rows_read.fetch_add(rows_read, std::sync::atomic::Ordering::Relaxed);
            }
            for r in results {
                pending.extend(r);
            }
            // Rows strictly before the next block's bound can no longer be preceded by another.
            let bound = order.get(j).map(|b| if reverse { b.max_ts } else { b.min_ts });
            // Segments rarely overlap in time: the hits usually arrive in order already.
            if reverse {
                if !pending.is_sorted_by(|a, b| a.key() >= b.key()) {
                    pending.sort_by_key(|h| std::cmp::Reverse(h.key()));
                }
            } else if !pending.is_sorted_by_key(Hit::key) {
                pending.sort_by_key(Hit::key);
            }
            let ready = match bound {
                None => pending.len(),
                Some(b) if reverse => pending.partition_point(|h| h.ts > b),
                Some(b) => pending.partition_point(|h| h.ts < b),
            };
            for h in pending.drain(..ready) {
                st.hits += 1;
                if let Some(c) = ctl_ref {
                    c.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                if emit(&h)? == Flow::Stop {
                    // Dropping the receiver stops the decoder thread.
                    return Ok(st);
                }
            }
            i = j;
        }
        Ok(st)
    })
}

/// True when every row of each block of `order` sorts after every row of the previous block
/// (before, when reversed): then emitting block by block is already in order. That holds for
/// a later block of the same segment (rows are sorted inside a segment), or for a block that
/// starts strictly after the previous one ends.
fn disjoint_in_order(order: &[BlockRef], reverse: bool) -> bool {
    order.windows(2).all(|w| {
        let (a, b) = if reverse { (&w[1], &w[0]) } else { (&w[0], &w[1]) };
        (a.seg == b.seg && a.block < b.block) || a.max_ts < b.min_ts
    })
}

/// [`scan_ordered`] for a small plan of blocks that do not overlap in time (a narrow time
/// slice, a rare token): decodes on this thread and emits straight from each block, reusing
/// one [`Hit`], so nothing is gathered or sorted.
fn scan_streaming(
    store: &Store,
    order: &[BlockRef],
    filter: &Filter,
    range: TimeRange,
    reverse: bool,
    mut st: ScanStats,
    mut emit: impl FnMut(&Hit) -> Result<Flow, AnalyzeError>,
) -> Result<ScanStats, AnalyzeError> {
    // The same thread as the caller's, so the same control (cancel flag and counters).
    let ctl = control();
    let ctl = ctl.as_deref();
    #[cfg(test)]
    STREAMED.with(|c| c.set(c.get() + 1));
    let finder = filter.required_literal().map(memchr::memmem::Finder::new);
    let mut hit = Hit { ts: 0, delta: 0, source: 0, line: 0, text: Vec::new() };
    let mut rows: Vec<usize> = Vec::new();
    with_block(|blk| {
        for b in order {
            if ctl.is_some_and(ScanControl::cancelled) {
                return Ok(st);
            }
            store.segments()[b.seg as usize].read_block_frames(b.block as usize, b.frames, blk)?;
            st.blocks_read += 1;
            st.rows_read += u64::from(b.rows);
            if let Some(c) = ctl {
                c.rows_read.fetch_add(u64::from(b.rows), std::sync::atomic::Ordering::Relaxed);
            }
            rows.clear();
            filter_block(blk, filter, finder.as_ref(), range, |i| rows.push(i));
            if reverse {
                rows.reverse();
            }
            for &i in &rows {
                let r = blk.record(i);
                hit.ts = r.ts;
                hit.delta = r.delta;
                hit.source = r.source;
                hit.line = r.line;
                hit.text.clear();
                hit.text.extend_from_slice(r.text);
                st.hits += 1;
                if let Some(c) = ctl {
                    c.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                if emit(&hit)? == Flow::Stop {
                    return Ok(st);
                }
            }
        }
        Ok(st)
    })
}

/// Folds every hit of `plan` in any order: `fold` per block into a per-thread state, then
/// `merge` the states. For aggregations that do not depend on order.
pub fn scan_fold<S: Send>(
    store: &Store,
    plan: &Plan,
    filter: &Filter,
    range: TimeRange,
    init: impl Fn() -> S + Sync + Send,
    fold: impl Fn(&mut S, &crate::model::Record<'_>) + Sync + Send,
    merge: impl Fn(S, S) -> S + Sync + Send,
) -> Result<(S, ScanStats), StoreError> {
    let finder = filter.required_literal().map(memchr::memmem::Finder::new);
    let ctl = control();
    if let Some(c) = &ctl {
        c.rows_planned.fetch_add(plan.candidate_rows, std::sync::atomic::Ordering::Relaxed);
    }
    let ctl_ref = ctl.as_deref();
    let (state, hits) = plan
        .blocks
        .par_iter()
        .try_fold(
            || (init(), 0u64),
            |(mut s, mut n), b| {
                if ctl_ref.is_some_and(ScanControl::cancelled) {
                    return Ok((s, n));
                }
                let n0 = n;
                with_block(|blk| {
                    store.segments()[b.seg as usize].read_block_frames(
                        b.block as usize,
                        b.frames,
                        blk,
                    )?;
                    filter_block(blk, filter, finder.as_ref(), range, |i| {
                        n += 1;
                        fold(&mut s, &blk.record(i));
                    });
                    Ok::<_, StoreError>(())
                })?;
                if let Some(c) = ctl_ref {
                    c.rows_read.fetch_add(u64::from(b.rows), std::sync::atomic::Ordering::Relaxed);
                    c.hits.fetch_add(n - n0, std::sync::atomic::Ordering::Relaxed);
                }
                Ok::<_, StoreError>((s, n))
            },
        )
        .try_reduce(|| (init(), 0), |a, b| Ok((merge(a.0, b.0), a.1 + b.1)))?;
    let st = ScanStats {
        blocks_total: plan.total_blocks,
        blocks_read: plan.blocks.len() as u64,
        rows_read: plan.candidate_rows,
        hits,
    };
    Ok((state, st))
}
