//! `time`: the matching records in time order with the time since a reference ("marked")
//! record and since the previous record, and statistics of the gaps (spec §6.8).
//!
//! `Diff` of row i is `t_i − t_mark` (negative before the mark) and `Delta` is
//! `t_i − t_{i−1}` (0 for the first row). The statistics are over the deltas of rows
//! 1..n: mean, median, mode (montanaflynn rule: every value of the highest frequency; none
//! when all values are equally frequent, unless there is only one value) and the
//! population standard deviation.
//!
//! Memory: the rows before the mark (`mark` rows, 0 by default), a decode batch, and the
//! histogram of distinct gaps ([`GapStats`]: O(distinct deltas), which logs repeat a lot:
//! typically a few thousand values, never more than the number of rows).

use std::collections::BTreeMap;

use serde::Serialize;

use super::runner::{self, ScanStats};
use super::{AnalyzeError, Flow};
use crate::model::{Nanos, SourceId};
use crate::query::{Filter, TimeRange};
use crate::store::Store;

/// What to show.
#[derive(Debug, Clone)]
pub struct TimeConfig {
    /// Line filter.
    pub filter: Filter,
    /// Time range.
    pub range: TimeRange,
    /// Index (0-based) of the reference row for `diff`.
    pub mark: u64,
}

/// One record (borrowing its text from the scan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimeRow<'a> {
    /// Position in the output, 0-based.
    pub index: u64,
    /// Timestamp (ns).
    pub time: Nanos,
    /// `time` minus the marked row's time (ns).
    pub diff: i64,
    /// `time` minus the previous row's time (ns; 0 for the first row).
    pub delta: i64,
    /// Source id.
    pub source: SourceId,
    /// Line number of the record's first line.
    pub line: u64,
    /// Raw text.
    pub text: &'a [u8],
}

/// A row held back until the marked row is seen: its fields and its own copy of the text.
type Held = (u64, Nanos, i64, SourceId, u64, Vec<u8>);

/// Statistics of the gaps between consecutive rows, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeSummary {
    /// Rows.
    pub rows: u64,
    /// Mean gap.
    pub mean: f64,
    /// Median gap (mean of the two middle ones for an even count).
    pub median: f64,
    /// The most frequent gaps, ascending (empty when no gap is more frequent than another).
    pub mode: Vec<f64>,
    /// Population standard deviation of the gaps.
    pub stddev: f64,
}

/// The mergeable gap statistics of a time-ordered run of records: first and last time and a
/// histogram of gaps. Merging two adjacent runs adds the gap between them, so any split of a
/// time-ordered stream into consecutive parts gives the same result. Memory: O(distinct gaps).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GapStats {
    first: Option<Nanos>,
    last: Option<Nanos>,
    rows: u64,
    gaps: BTreeMap<i64, u64>,
}

impl GapStats {
    /// Adds the next record (not earlier than the previous one).
    pub fn observe(&mut self, t: Nanos) {
        if let Some(l) = self.last {
            *self.gaps.entry(t.saturating_sub(l)).or_default() += 1;
        }
        self.first.get_or_insert(t);
        self.last = Some(t);
        self.rows += 1;
    }

    /// Combines the stats of a run with those of the run right after it (associative).
    pub fn merge(mut self, later: GapStats) -> GapStats {
        if let (Some(l), Some(f)) = (self.last, later.first) {
            *self.gaps.entry(f.saturating_sub(l)).or_default() += 1;
        }
        for (g, n) in later.gaps {
            *self.gaps.entry(g).or_default() += n;
        }
        self.first = self.first.or(later.first);
        self.last = later.last.or(self.last);
        self.rows += later.rows;
        self
    }

    /// The summary; `None` with fewer than two rows.
    pub fn summary(&self) -> Option<TimeSummary> {
        let m: u64 = self.gaps.values().sum();
        if m == 0 {
            return None;
        }
        let sec = |g: i64| g as f64 / 1e9;
        let total: i128 = self.gaps.iter().map(|(g, n)| i128::from(*g) * i128::from(*n)).sum();
        let mean = total as f64 / 1e9 / m as f64;
        let var = self.gaps.iter().map(|(g, n)| (sec(*g) - mean).powi(2) * *n as f64).sum::<f64>()
            / m as f64;
        // The k-th (0-based) gap in sorted order.
        let nth = |k: u64| -> i64 {
            let mut seen = 0u64;
            for (g, n) in &self.gaps {
                seen += n;
                if seen > k {
                    return *g;
                }
            }
            0
        };
        let median = if m % 2 == 1 {
            sec(nth(m / 2))
        } else {
            (sec(nth(m / 2 - 1)) + sec(nth(m / 2))) / 2.0
        };
        let best = self.gaps.values().copied().max().unwrap_or(0);
        let tops: Vec<f64> =
            self.gaps.iter().filter(|(_, n)| **n == best).map(|(g, _)| sec(*g)).collect();
        let mode = if self.gaps.len() == 1 {
            tops
        } else if best == 1 || tops.len() == self.gaps.len() {
            Vec::new()
        } else {
            tops
        };
        Some(TimeSummary { rows: self.rows, mean, median, mode, stddev: var.sqrt() })
    }
}

/// Errors of `time` beyond the scan's own.
#[derive(Debug, thiserror::Error)]
pub enum TimeError {
    /// The scan failed.
    #[error(transparent)]
    Analyze(#[from] AnalyzeError),
    /// `--mark` beyond the rows.
    #[error("--mark {mark} is out of range: {rows} row(s) found, numbered from 0")]
    MarkOutOfRange {
        /// Requested.
        mark: u64,
        /// Rows found.
        rows: u64,
    },
}

/// Runs `time`: `emit` gets each row in time order; returns the gap statistics.
pub fn time_rows(
    store: &Store,
    cfg: &TimeConfig,
    emit: &mut dyn FnMut(&TimeRow<'_>) -> Result<Flow, AnalyzeError>,
) -> Result<(Option<TimeSummary>, ScanStats), TimeError> {
    let plan = runner::plan(store, &cfg.filter, cfg.range).map_err(AnalyzeError::from)?;
    let mut stats = GapStats::default();
    let mut held: Vec<Held> = Vec::new();
    let mut mark_ts: Option<Nanos> = None;
    let mut prev: Option<Nanos> = None;
    let mut index = 0u64;
    let scan = runner::scan_ordered(store, &plan, &cfg.filter, cfg.range, false, |h| {
        stats.observe(h.ts);
        let delta = prev.map_or(0, |p| h.ts.saturating_sub(p));
        let i = index;
        prev = Some(h.ts);
        index += 1;
        if i == cfg.mark {
            mark_ts = Some(h.ts);
            for (index, time, delta, source, line, text) in held.drain(..) {
                let diff = time.saturating_sub(h.ts);
                let row = TimeRow { index, time, diff, delta, source, line, text: &text };
                if emit(&row)? == Flow::Stop {
                    return Ok(Flow::Stop);
                }
            }
        }
        match mark_ts {
            Some(m) => emit(&TimeRow {
                index: i,
                time: h.ts,
                diff: h.ts.saturating_sub(m),
                delta,
                source: h.source,
                line: h.line,
                text: &h.text,
            }),
            None => {
                held.push((i, h.ts, delta, h.source, h.line, h.text.clone()));
                Ok(Flow::Continue)
            }
        }
    })?;
    if mark_ts.is_none() && index > 0 {
        return Err(TimeError::MarkOutOfRange { mark: cfg.mark, rows: index });
    }
    Ok((stats.summary(), scan))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: i64 = 1_000_000_000;

    fn of(ts: &[i64]) -> GapStats {
        let mut g = GapStats::default();
        for &t in ts {
            g.observe(t);
        }
        g
    }

    /// Spec §10.1 (calcStats): rows at 1 s, 2 s, 4 s.
    #[test]
    fn upstream_vector() {
        let s = of(&[S, 2 * S, 4 * S]).summary().unwrap();
        assert_eq!(format!("{:.3} {:.3} {:.3}", s.mean, s.median, s.stddev), "1.500 1.500 0.500");
        assert!(s.mode.is_empty());
        assert_eq!(s.rows, 3);
        assert!(of(&[S]).summary().is_none());
        assert!(of(&[]).summary().is_none());
    }

    #[test]
    fn mode_rule() {
        // Gaps 1,1,2: mode 1. Gaps 1,1,2,2: none. Gaps 3,3: 3. Gaps 1,1,2,2,5: 1 and 2.
        assert_eq!(of(&[0, S, 2 * S, 4 * S]).summary().unwrap().mode, [1.0]);
        assert!(of(&[0, S, 2 * S, 4 * S, 6 * S]).summary().unwrap().mode.is_empty());
        assert_eq!(of(&[0, 3 * S, 6 * S]).summary().unwrap().mode, [3.0]);
        assert_eq!(of(&[0, S, 2 * S, 4 * S, 6 * S, 11 * S]).summary().unwrap().mode, [1.0, 2.0]);
        let s = of(&[0, S, 3 * S, 6 * S, 10 * S]).summary().unwrap();
        assert_eq!((s.median, s.mean), (2.5, 2.5));
    }

    proptest! {
        /// Splitting a sorted stream anywhere and merging the parts (in either grouping)
        /// equals one pass; the empty state is an identity.
        #[test]
        fn merge_laws(mut ts in proptest::collection::vec(-1000i64..1000, 0..60),
                      a in 0usize..60, b in 0usize..60) {
            ts.sort_unstable();
            let n = ts.len();
            let (a, b) = (a.min(n).min(b.min(n)), a.min(n).max(b.min(n)));
            let whole = of(&ts);
            prop_assert_eq!(&of(&ts[..a]).merge(of(&ts[a..b])).merge(of(&ts[b..])), &whole);
            prop_assert_eq!(&of(&ts[..a]).merge(of(&ts[a..b]).merge(of(&ts[b..]))), &whole);
            prop_assert_eq!(&GapStats::default().merge(whole.clone()), &whole);
            prop_assert_eq!(&whole.clone().merge(GapStats::default()), &whole);
        }
    }
}
