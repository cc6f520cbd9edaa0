//! `delay`: records that took long (spec §6.6).
//!
//! Two ways to measure a record's delay:
//! * [`DelayMode::Backward`] (upstream mode A, `-q 0`): the record's timestamp is earlier
//!   than that of the previous record of the same source (an access log writes the request
//!   start time when the response is sent); the delay is how far it went back, `-delta`.
//! * [`DelayMode::TimePos`] (mode B, `-q P`): the record's time minus the `P`-th (0-based)
//!   timestamp inside its text (a relayed log: the relay's time, then the origin's). The
//!   delay may be negative. Year-less timestamps in the text take their year from the
//!   record's own time (upstream resolved them against "now", so logs from another year got
//!   delays of years).
//!
//! Rows come sorted by delay, largest first (ties by time, source, line), or by time.
//!
//! Memory: [`DelayOrder::Time`] in mode B streams (a decode batch plus a chunk of 4096
//! records whose timestamps are parsed in parallel). Otherwise the kept rows (all delayed
//! records, or `limit` of them with a limit) are sorted at the end; their texts are kept only
//! while they fit in [`DelayConfig::text_budget`] bytes. Beyond it the rows keep just their
//! key and delay (40 bytes each) and, once sorted, their texts are read back in chunks of
//! about the budget's size, one pass over the blocks holding each chunk: memory is then
//! O(delayed rows × 40 bytes + budget) whatever the texts' size, at the cost of one more
//! (partial) read per chunk. Mode A reads only the time and delta columns of each block and
//! decompresses the text of a block only when it holds a backward step.

use std::cmp::Ordering;

use rayon::prelude::*;
use serde::Serialize;

use super::runner::{self, ScanStats};
use super::{AnalyzeError, Flow};
use crate::model::{Nanos, Record, SourceId};
use crate::query::{Filter, TimeRange};
use crate::store::{Store, StoreError};

/// Records parsed together (in parallel) when mode B streams in time order.
const STREAM_CHUNK: usize = 4096;

/// Default of [`DelayConfig::text_budget`]: 256 MiB.
pub const TEXT_BUDGET: u64 = 256 << 20;

/// How the delay of a record is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelayMode {
    /// How far the record's time went back from the previous record of its source.
    Backward,
    /// The record's time minus the `n`-th (0-based) timestamp in its text.
    TimePos(usize),
}

/// Output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DelayOrder {
    /// Largest delay first (upstream's order).
    #[default]
    Delay,
    /// Oldest first.
    Time,
}

/// What to look for.
#[derive(Debug, Clone)]
pub struct DelayConfig {
    /// Line filter.
    pub filter: Filter,
    /// Time range.
    pub range: TimeRange,
    /// How delays are measured.
    pub mode: DelayMode,
    /// Zone-less timestamps in the text are UTC (mode B).
    pub utc: bool,
    /// Row order.
    pub order: DelayOrder,
    /// Only the first `limit` rows (in `order`).
    pub limit: Option<usize>,
    /// Text bytes the kept rows may hold before texts are dropped and read back after
    /// sorting (see the module doc); [`TEXT_BUDGET`] unless testing.
    pub text_budget: u64,
}

/// One delayed record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DelayRow {
    /// The record's timestamp (ns).
    pub time: Nanos,
    /// The delay (ns); positive = the record was late.
    pub delay: i64,
    /// Source id.
    pub source: SourceId,
    /// Line number of the record's first line.
    pub line: u64,
    /// Raw text.
    pub text: Vec<u8>,
}

/// Totals of a delay run.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct DelayStats {
    /// Rows found (before `limit`).
    pub rows: u64,
    /// Passes that read texts back because they exceeded the budget (0 when they fit).
    pub text_passes: u64,
    /// Scan counters.
    pub scan: ScanStats,
}

fn by_delay(a: &DelayRow, b: &DelayRow) -> Ordering {
    b.delay.cmp(&a.delay).then_with(|| (a.time, a.source, a.line).cmp(&(b.time, b.source, b.line)))
}

fn by_time(a: &DelayRow, b: &DelayRow) -> Ordering {
    (a.time, a.source, a.line).cmp(&(b.time, b.source, b.line))
}

/// The mergeable state of a delay run: the rows kept so far (the best `limit` of them with a
/// limit; pruned when twice as many have gathered), with their texts while these fit in the
/// budget. Memory: O(kept rows × 40 bytes + min(their texts, budget)).
#[derive(Debug, Clone)]
pub struct DelayState {
    rows: Vec<DelayRow>,
    found: u64,
    order: DelayOrder,
    limit: Option<usize>,
    /// Text bytes held by `rows`.
    held: u64,
    /// Text bytes of every row kept (held or dropped), for sizing the read-back chunks.
    kept_bytes: u64,
    /// Texts were dropped: they are read back after sorting.
    stripped: bool,
    budget: u64,
}

/// What [`DelayState::finish`] returns: the sorted rows and how to complete them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The rows in order (at most `limit`); with `stripped`, their texts are empty.
    pub rows: Vec<DelayRow>,
    /// Rows found before the limit.
    pub found: u64,
    /// The texts were dropped to stay in the budget.
    pub stripped: bool,
    /// Mean text length of the rows, for sizing read-back chunks.
    pub mean_text: u64,
}

impl DelayState {
    /// An empty state that holds texts up to `budget` bytes.
    pub fn new(order: DelayOrder, limit: Option<usize>, budget: u64) -> Self {
        DelayState {
            rows: Vec::new(),
            found: 0,
            order,
            limit,
            held: 0,
            kept_bytes: 0,
            stripped: false,
            budget,
        }
    }

    fn cmp(&self) -> fn(&DelayRow, &DelayRow) -> Ordering {
        match self.order {
            DelayOrder::Delay => by_delay,
            DelayOrder::Time => by_time,
        }
    }

    /// Adds the row of record `r` with delay `delay` (its text is copied only if it is held).
    pub fn add(&mut self, r: &Record<'_>, delay: i64) {
        let text = if self.stripped { Vec::new() } else { r.text.to_vec() };
        self.push_len(
            DelayRow { time: r.ts, delay, source: r.source, line: r.line, text },
            r.text.len(),
        );
    }

    /// Adds a row.
    pub fn push(&mut self, row: DelayRow) {
        let len = row.text.len();
        self.push_len(row, len);
    }

    fn push_len(&mut self, row: DelayRow, len: usize) {
        self.found += 1;
        self.held += row.text.len() as u64;
        self.kept_bytes += len as u64;
        self.rows.push(row);
        if let Some(n) = self.limit
            && self.rows.len() >= 2 * n.max(512)
        {
            self.prune();
        }
        self.fit();
    }

    /// Drops every text once the held ones exceed the budget.
    fn fit(&mut self) {
        if self.held > self.budget || (self.stripped && self.held > 0) {
            for r in &mut self.rows {
                r.text = Vec::new();
            }
            self.held = 0;
            self.stripped = true;
        }
    }

    fn prune(&mut self) {
        let Some(n) = self.limit else { return };
        if self.rows.len() > n {
            let before = self.rows.len() as u64;
            if n > 0 {
                let cmp = self.cmp();
                self.rows.select_nth_unstable_by(n, cmp);
            }
            self.rows.truncate(n);
            self.held = self.rows.iter().map(|r| r.text.len() as u64).sum();
            // Scale the byte count with the rows, keeping the mean.
            self.kept_bytes = self.kept_bytes * self.rows.len() as u64 / before.max(1);
        }
    }

    /// Combines two states (associative; the order of the operands does not matter).
    pub fn merge(mut self, other: DelayState) -> DelayState {
        self.found += other.found;
        self.held += other.held;
        self.kept_bytes += other.kept_bytes;
        self.stripped |= other.stripped;
        self.rows.extend(other.rows);
        if self.limit.is_some_and(|n| self.rows.len() > 2 * n.max(512)) {
            self.prune();
        }
        self.fit();
        self
    }

    /// The rows in order (at most `limit`), how many were found, and whether their texts
    /// must be read back.
    pub fn finish(mut self) -> Finished {
        self.prune();
        let cmp = self.cmp();
        self.rows.sort_unstable_by(cmp);
        let mean_text = self.kept_bytes / (self.rows.len() as u64).max(1);
        Finished { rows: self.rows, found: self.found, stripped: self.stripped, mean_text }
    }
}

/// The delay of a record (`None`: it has none).
fn delay_of(mode: DelayMode, utc: bool, r: &Record<'_>) -> Option<i64> {
    match mode {
        DelayMode::Backward => (r.delta < 0).then(|| r.delta.saturating_neg()),
        DelayMode::TimePos(p) => {
            super::count::nth_timestamp(r.text, p, utc, r.ts).map(|t2| r.ts.saturating_sub(t2))
        }
    }
}

/// Runs `delay`, calling `emit` with each row in the configured order.
pub fn delay(
    store: &Store,
    cfg: &DelayConfig,
    emit: &mut dyn FnMut(&DelayRow) -> Result<Flow, AnalyzeError>,
) -> Result<DelayStats, AnalyzeError> {
    let plan = runner::plan(store, &cfg.filter, cfg.range)?;
    let (mode, utc) = (cfg.mode, cfg.utc);
    if let (DelayMode::TimePos(_), DelayOrder::Time) = (mode, cfg.order) {
        // Streams in time order, parsing chunks of records in parallel: only a chunk is kept.
        let mut rows = 0u64;
        let limit = cfg.limit.map(|l| l as u64);
        if limit == Some(0) {
            return Ok(DelayStats::default());
        }
        let mut buf: Vec<runner::Hit> = Vec::with_capacity(STREAM_CHUNK);
        let mut stopped = false;
        let mut flush = |buf: &mut Vec<runner::Hit>| -> Result<Flow, AnalyzeError> {
            let delays: Vec<Option<i64>> = buf
                .par_iter()
                .map(|h| {
                    let rec = Record {
                        ts: h.ts,
                        delta: h.delta,
                        source: h.source,
                        line: h.line,
                        text: &h.text,
                    };
                    delay_of(mode, utc, &rec)
                })
                .collect();
            for (h, d) in buf.drain(..).zip(delays) {
                let Some(delay) = d else { continue };
                rows += 1;
                let row =
                    DelayRow { time: h.ts, delay, source: h.source, line: h.line, text: h.text };
                if emit(&row)? == Flow::Stop || limit.is_some_and(|l| rows >= l) {
                    return Ok(Flow::Stop);
                }
            }
            Ok(Flow::Continue)
        };
        let scan = runner::scan_ordered(store, &plan, &cfg.filter, cfg.range, false, |h| {
            buf.push(h.clone());
            if buf.len() < STREAM_CHUNK {
                return Ok(Flow::Continue);
            }
            let flow = flush(&mut buf)?;
            stopped = flow == Flow::Stop;
            Ok(flow)
        })?;
        if !stopped {
            flush(&mut buf)?;
        }
        return Ok(DelayStats { rows, text_passes: 0, scan });
    }
    // Each fold state (one per thread) gets its share of the budget.
    let budget = cfg.text_budget / rayon::current_num_threads().max(1) as u64;
    let init = || DelayState::new(cfg.order, cfg.limit, budget);
    let (state, scan) = match mode {
        DelayMode::Backward => backward_steps(store, &plan, &cfg.filter, cfg.range, &init)?,
        DelayMode::TimePos(_) => runner::scan_fold(
            store,
            &plan,
            &cfg.filter,
            cfg.range,
            init,
            |st, r| {
                if let Some(d) = delay_of(mode, utc, r) {
                    st.add(r, d);
                }
            },
            DelayState::merge,
        )?,
    };
    let done = state.finish();
    let found = done.found;
    if !done.stripped {
        for r in &done.rows {
            if emit(r)? == Flow::Stop {
                break;
            }
        }
        return Ok(DelayStats { rows: found, text_passes: 0, scan });
    }
    // The texts did not fit: read them back a budget's worth of rows at a time.
    let per_chunk = (cfg.text_budget / done.mean_text.max(1)).clamp(1024, 1 << 22) as usize;
    let mut text_passes = 0;
    for chunk in done.rows.chunks(per_chunk) {
        let keys: Vec<(Nanos, SourceId, u64)> =
            chunk.iter().map(|r| (r.time, r.source, r.line)).collect();
        let mut texts = super::tfidf::fetch_texts(store, &cfg.filter, cfg.range, &keys)?;
        text_passes += 1;
        for r in chunk {
            let row = DelayRow {
                text: texts.remove(&(r.time, r.source, r.line)).unwrap_or_default(),
                ..r.clone()
            };
            if emit(&row)? == Flow::Stop {
                return Ok(DelayStats { rows: found, text_passes, scan });
            }
        }
    }
    Ok(DelayStats { rows: found, text_passes, scan })
}

/// Mode A without decompressing text where it cannot matter: the time and delta columns of
/// each block are read first, and the text only for blocks holding a backward step.
fn backward_steps(
    store: &Store,
    plan: &runner::Plan,
    filter: &Filter,
    range: TimeRange,
    init: &(dyn Fn() -> DelayState + Sync),
) -> Result<(DelayState, ScanStats), StoreError> {
    let (state, hits, read) = plan
        .blocks
        .par_iter()
        .try_fold(
            || (init(), 0u64, 0u64),
            |(mut st, mut hits, mut read), b| {
                runner::with_block(|blk| {
                    let seg = &store.segments()[b.seg as usize];
                    seg.read_columns(b.block as usize, blk)?;
                    let cand: Vec<usize> = (0..blk.len())
                        .filter(|&i| blk.delta[i] < 0 && range.contains(blk.ts[i]))
                        .collect();
                    if cand.is_empty() {
                        return Ok::<_, StoreError>(());
                    }
                    seg.read_block(b.block as usize, blk)?;
                    read += 1;
                    for i in cand {
                        let r = blk.record(i);
                        if filter.matches(r.text) {
                            hits += 1;
                            st.add(&r, r.delta.saturating_neg());
                        }
                    }
                    Ok(())
                })?;
                Ok::<_, StoreError>((st, hits, read))
            },
        )
        .try_reduce(|| (init(), 0, 0), |a, b| Ok((a.0.merge(b.0), a.1 + b.1, a.2 + b.2)))?;
    let scan = ScanStats {
        blocks_total: plan.total_blocks,
        blocks_read: read,
        rows_read: plan.candidate_rows,
        hits,
    };
    Ok((state, scan))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn row(time: i64, delay: i64, line: u64) -> DelayRow {
        DelayRow { time, delay, source: 0, line, text: Vec::new() }
    }

    fn state(rows: &[(i64, i64)], order: DelayOrder, limit: Option<usize>) -> DelayState {
        let mut s = DelayState::new(order, limit, u64::MAX);
        for (i, &(t, d)) in rows.iter().enumerate() {
            s.push(row(t, d, i as u64));
        }
        s
    }

    #[test]
    fn order_and_limit() {
        let rows = [(5, 1), (1, 3), (3, 3), (2, -1)];
        let Finished { rows: v, found: n, .. } = state(&rows, DelayOrder::Delay, None).finish();
        assert_eq!(n, 4);
        assert_eq!(
            v.iter().map(|r| (r.time, r.delay)).collect::<Vec<_>>(),
            [(1, 3), (3, 3), (5, 1), (2, -1)]
        );
        let Finished { rows: v, found: n, .. } = state(&rows, DelayOrder::Time, Some(2)).finish();
        assert_eq!(n, 4);
        assert_eq!(v.iter().map(|r| r.time).collect::<Vec<_>>(), [1, 2]);
        assert!(state(&rows, DelayOrder::Delay, Some(0)).finish().rows.is_empty());
    }

    #[test]
    fn timestamps_in_text() {
        let t = b"2024-01-01T00:00:10Z relayed: 2024-01-01T00:00:03Z x";
        let r = Record { ts: 1_704_067_210_000_000_000, delta: 0, source: 0, line: 1, text: t };
        assert_eq!(delay_of(DelayMode::TimePos(1), true, &r), Some(7_000_000_000));
        assert_eq!(delay_of(DelayMode::TimePos(2), true, &r), None);
        assert_eq!(delay_of(DelayMode::Backward, true, &r), None);
        let back = Record { delta: -5, ..r };
        assert_eq!(delay_of(DelayMode::Backward, true, &back), Some(5));
        // A year-less timestamp takes the year of the record, not of "now".
        let old = b"Jul 27 14:41:59 relay: Jul 27 14:41:54 host x";
        let ts = 1_122_475_319_000_000_000; // 2005-07-27T14:41:59Z
        assert_eq!(super::super::count::nth_timestamp(old, 1, true, ts), Some(ts - 5_000_000_000));
    }

    proptest! {
        /// merge is associative, init is its identity, and any split of the input gives the
        /// same result as one state over all of it, texts dropped beyond the budget included.
        #[test]
        fn merge_laws(
            rows in proptest::collection::vec((0i64..50, -5i64..5, 0usize..6), 0..80),
            cut1 in 0usize..80, cut2 in 0usize..80,
            lim in proptest::option::of(0usize..10), time in any::<bool>(),
            budget in prop_oneof![Just(u64::MAX), 0u64..200],
        ) {
            let order = if time { DelayOrder::Time } else { DelayOrder::Delay };
            let n = rows.len();
            let (a, b) = (cut1.min(n), cut2.min(n));
            let (a, b) = (a.min(b), a.max(b));
            let mk = |lo: usize, hi: usize| {
                let mut s = DelayState::new(order, lim, budget);
                for (i, &(t, d, len)) in rows.iter().enumerate().take(hi).skip(lo) {
                    s.push(DelayRow { text: vec![b'x'; len], ..row(t, d, i as u64) });
                }
                s
            };
            let whole = mk(0, n).finish();
            let left = mk(0, a).merge(mk(a, b)).merge(mk(b, n)).finish();
            let right = mk(0, a).merge(mk(a, b).merge(mk(b, n))).finish();
            let ident = DelayState::new(order, lim, budget).merge(mk(0, n)).finish();
            let total: usize = rows.iter().map(|r| r.2).sum();
            prop_assert_eq!(whole.stripped, total as u64 > budget);
            prop_assert!(whole.rows.iter().all(|r| r.text.is_empty() == (whole.stripped || rows[r.line as usize].2 == 0)));
            prop_assert_eq!(&left, &whole);
            prop_assert_eq!(&right, &whole);
            prop_assert_eq!(&ident, &whole);
        }
    }
}
