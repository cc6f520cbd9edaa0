//! `heatmap`: records per day (or weekday) and hour of day (spec §6.7).
//!
//! Hours are local wall-clock hours (or UTC with `--utc`). Upstream cut the time into UTC
//! hours first and then converted them, which mislabels every record in zones with a
//! half-hour offset; here each record's own local time decides its cell.
//!
//! Without a filter, a block whose records all fall into one local hour is counted from the
//! block index alone; other blocks read only their time column.
//!
//! Memory: one counter per local hour that holds a record (at most 24 per day of data),
//! plus a decode batch.

use std::collections::{BTreeMap, HashMap};

use chrono::{Local, Offset, TimeZone};
use rayon::prelude::*;
use serde::Serialize;

use super::AnalyzeError;
use super::runner::{self, ScanStats};
use crate::model::{Nanos, civil_from_days};
use crate::query::{Filter, TimeRange};
use crate::store::{Store, StoreError};

const HOUR: i64 = 3_600_000_000_000;

/// The first axis of the heatmap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeatmapBy {
    /// Calendar date.
    #[default]
    Date,
    /// Day of the week (`-w`).
    Weekday,
}

/// What to count.
#[derive(Debug, Clone)]
pub struct HeatmapConfig {
    /// Line filter.
    pub filter: Filter,
    /// Time range.
    pub range: TimeRange,
    /// Dates or weekdays.
    pub by: HeatmapBy,
    /// Use UTC instead of the local zone.
    pub utc: bool,
}

/// The first coordinate of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Day {
    /// Days since 1970-01-01 (local calendar).
    Date(i64),
    /// 0 = Sunday ... 6 = Saturday.
    Weekday(u8),
}

/// English weekday names, Sunday first (upstream's labels).
pub const WEEKDAYS: [&str; 7] =
    ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// One non-empty cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HeatmapRow {
    /// Date or weekday.
    pub day: Day,
    /// Hour of the day, 0..=23.
    pub hour: u8,
    /// Records in the cell.
    pub count: u64,
}

/// Totals.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct HeatmapStats {
    /// Records counted.
    pub hits: u64,
    /// Non-empty cells.
    pub cells: u64,
    /// Scan counters.
    pub scan: ScanStats,
}

/// Maps instants to local hour numbers (hours since 1970-01-01T00 local), caching the zone
/// offset per UTC hour.
#[derive(Debug, Clone, Default)]
pub struct LocalHours {
    utc: bool,
    cache: HashMap<i64, i64>,
}

impl LocalHours {
    /// For the local zone, or UTC.
    pub fn new(utc: bool) -> Self {
        LocalHours { utc, cache: HashMap::new() }
    }

    /// The local hour number of `t`.
    pub fn hour(&mut self, t: Nanos) -> i64 {
        let off = if self.utc {
            0
        } else {
            let h = t.div_euclid(HOUR);
            *self.cache.entry(h).or_insert_with(|| {
                let secs = (h * 3600).clamp(-8_000_000_000, 8_000_000_000);
                Local
                    .timestamp_opt(secs, 0)
                    .single()
                    .map_or(0, |d| i64::from(d.offset().fix().local_minus_utc()) * 1_000_000_000)
            })
        };
        t.saturating_add(off).div_euclid(HOUR)
    }
}

/// The mergeable state: records per local hour number. Memory: O(distinct hours).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeatmapState {
    hours: HashMap<i64, u64>,
}

impl HeatmapState {
    /// Adds `n` records in local hour `h`.
    pub fn add(&mut self, h: i64, n: u64) {
        *self.hours.entry(h).or_default() += n;
    }

    /// Combines two states (associative and commutative).
    pub fn merge(mut self, mut other: HeatmapState) -> HeatmapState {
        if self.hours.len() < other.hours.len() {
            std::mem::swap(&mut self, &mut other);
        }
        for (h, n) in other.hours {
            self.add(h, n);
        }
        self
    }

    /// The non-empty cells, sorted by day then hour.
    pub fn finish(self, by: HeatmapBy) -> Vec<HeatmapRow> {
        let mut cells: BTreeMap<(Day, u8), u64> = BTreeMap::new();
        for (h, n) in self.hours {
            let days = h.div_euclid(24);
            let hour = h.rem_euclid(24) as u8;
            let day = match by {
                HeatmapBy::Date => Day::Date(days),
                // 1970-01-01 was a Thursday.
                HeatmapBy::Weekday => Day::Weekday((days + 4).rem_euclid(7) as u8),
            };
            *cells.entry((day, hour)).or_default() += n;
        }
        cells.into_iter().map(|((day, hour), count)| HeatmapRow { day, hour, count }).collect()
    }
}

/// Runs the heatmap.
pub fn heatmap(
    store: &Store,
    cfg: &HeatmapConfig,
) -> Result<(Vec<HeatmapRow>, HeatmapStats), AnalyzeError> {
    let plan = runner::plan(store, &cfg.filter, cfg.range)?;
    let utc = cfg.utc;
    let (state, scan) = if cfg.filter.is_empty() {
        from_index(store, &plan, cfg.range, utc)?
    } else {
        let (s, scan) = runner::scan_fold(
            store,
            &plan,
            &cfg.filter,
            cfg.range,
            || (HeatmapState::default(), LocalHours::new(utc)),
            |(s, lh), r| s.add(lh.hour(r.ts), 1),
            |a, b| (a.0.merge(b.0), a.1),
        )?;
        (s.0, scan)
    };
    let hits = state.hours.values().sum();
    let rows = state.finish(cfg.by);
    let stats = HeatmapStats { hits, cells: rows.len() as u64, scan };
    Ok((rows, stats))
}

/// Counts without a filter: whole blocks inside one hour from the index, the rest from the
/// time column.
fn from_index(
    store: &Store,
    plan: &runner::Plan,
    range: TimeRange,
    utc: bool,
) -> Result<(HeatmapState, ScanStats), StoreError> {
    let (state, read) = plan
        .blocks
        .par_iter()
        .try_fold(
            || (HeatmapState::default(), LocalHours::new(utc), 0u64),
            |(mut s, mut lh, mut read), b| {
                let inside = range.contains(b.min_ts) && range.contains(b.max_ts);
                let first = lh.hour(b.min_ts);
                if inside && first == lh.hour(b.max_ts) {
                    s.add(first, u64::from(b.rows));
                } else {
                    runner::with_block(|blk| {
                        store.segments()[b.seg as usize].read_columns(b.block as usize, blk)?;
                        for &t in blk.ts.iter().filter(|t| range.contains(**t)) {
                            s.add(lh.hour(t), 1);
                        }
                        Ok::<_, StoreError>(())
                    })?;
                    read += 1;
                }
                Ok::<_, StoreError>((s, lh, read))
            },
        )
        .map(|r| r.map(|(s, _, read)| (s, read)))
        .try_reduce(|| (HeatmapState::default(), 0), |a, b| Ok((a.0.merge(b.0), a.1 + b.1)))?;
    let scan = ScanStats {
        blocks_total: plan.total_blocks,
        blocks_read: read,
        rows_read: plan.candidate_rows,
        hits: state.hours.values().sum(),
    };
    Ok((state, scan))
}

/// Start (ns) of local (`utc`: UTC) wall-clock `hour` (0..=24, 24 = the next midnight) on the
/// date `days` (days since 1970-01-01); `None` when that wall-clock time does not exist (a
/// daylight-saving gap). A repeated hour starts at its first occurrence.
pub fn hour_start(days: i64, hour: u32, utc: bool) -> Option<Nanos> {
    let (days, hour) = if hour >= 24 { (days.checked_add(1)?, 0) } else { (days, hour) };
    let (y, m, d) = civil_from_days(days);
    let y = i32::try_from(y).ok()?;
    let secs = if utc {
        chrono::Utc.with_ymd_and_hms(y, m, d, hour, 0, 0).earliest()?.timestamp()
    } else {
        Local.with_ymd_and_hms(y, m, d, hour, 0, 0).earliest()?.timestamp()
    };
    secs.checked_mul(1_000_000_000)
}

/// The time ranges one weekday cell counts: local `hour` of every `weekday` (0 = Sunday)
/// that meets `span`, each cut to `span`, in time order (a repeated hour spans both of its
/// occurrences, a skipped one is left out). What the heatmap puts in cell
/// `(weekday, hour)` is exactly the records inside these ranges.
pub fn weekly_ranges(span: TimeRange, weekday: u8, hour: u8, utc: bool) -> Vec<TimeRange> {
    let mut out = Vec::new();
    if span.start > span.end || weekday > 6 || hour > 23 {
        return out;
    }
    let mut lh = LocalHours::new(utc);
    // One day of margin on each side: zone offsets move the local date by at most a day.
    let first = lh.hour(span.start).div_euclid(24) - 1;
    let last = lh.hour(span.end).div_euclid(24) + 1;
    // 1970-01-01 (day 0) was a Thursday (4).
    let mut day = first + (i64::from(weekday) - (first + 4)).rem_euclid(7);
    while day <= last {
        if let (Some(s), Some(e)) =
            (hour_start(day, u32::from(hour), utc), hour_start(day, u32::from(hour) + 1, utc))
        {
            let r = TimeRange { start: s.max(span.start), end: (e - 1).min(span.end) };
            if r.start <= r.end {
                out.push(r);
            }
        }
        day += 7;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cells_and_calendar() {
        let mut s = HeatmapState::default();
        let mut lh = LocalHours::new(true);
        // 2005-07-17T10:30Z (a Sunday) twice, 2005-07-18T00:00Z once.
        for t in [1_121_596_200i64, 1_121_596_201, 1_121_644_800] {
            s.add(lh.hour(t * 1_000_000_000), 1);
        }
        let rows = s.clone().finish(HeatmapBy::Date);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].hour, rows[0].count), (10, 2));
        let Day::Date(d) = rows[0].day else { panic!() };
        assert_eq!(civil_from_days(d), (2005, 7, 17));
        let w = s.finish(HeatmapBy::Weekday);
        assert_eq!(w[0], HeatmapRow { day: Day::Weekday(0), hour: 10, count: 2 });
        assert_eq!(w[1], HeatmapRow { day: Day::Weekday(1), hour: 0, count: 1 });
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
    }

    /// Every instant lies in the weekly ranges of exactly the weekday cell it is counted in.
    #[test]
    fn weekly_ranges_hold_exactly_their_cells() {
        let span =
            TimeRange { start: 1_121_000_000 * 1_000_000_000, end: 1_125_000_000 * 1_000_000_000 };
        for utc in [true, false] {
            let mut lh = LocalHours::new(utc);
            let ranges: Vec<Vec<Vec<TimeRange>>> =
                (0..7).map(|w| (0..24).map(|h| weekly_ranges(span, w, h, utc)).collect()).collect();
            // 46 days: each cell has 6 or 7 occurrences, in time order, inside the span.
            for r in ranges.iter().flatten() {
                assert!((6..=7).contains(&r.len()), "{r:?}");
                assert!(r.windows(2).all(|p| p[0].end < p[1].start));
                assert!(r.iter().all(|x| span.start <= x.start && x.end <= span.end));
            }
            let mut t = span.start;
            while t <= span.end {
                let mut s = HeatmapState::default();
                s.add(lh.hour(t), 1);
                let cell = s.finish(HeatmapBy::Weekday)[0];
                let Day::Weekday(w) = cell.day else { panic!() };
                let holding: Vec<(u8, u8)> = (0..7u8)
                    .flat_map(|w| (0..24u8).map(move |h| (w, h)))
                    .filter(|&(w, h)| {
                        ranges[usize::from(w)][usize::from(h)].iter().any(|r| r.contains(t))
                    })
                    .collect();
                assert_eq!(holding, [(w, cell.hour)], "{t}");
                t += 1_234_567_000_000; // about 20 minutes, drifting through the hours
            }
        }
        let partial =
            TimeRange { start: 1_121_596_200 * 1_000_000_000, end: 1_121_596_300 * 1_000_000_000 };
        // 2005-07-17T10:30Z was a Sunday: a 100 s span holds one cut range.
        assert_eq!(weekly_ranges(partial, 0, 10, true), [partial]);
        assert!(weekly_ranges(partial, 1, 10, true).is_empty());
    }

    proptest! {
        #[test]
        fn merge_laws(hours in proptest::collection::vec(-100i64..100, 0..60),
                      a in 0usize..60, b in 0usize..60, week in any::<bool>()) {
            let by = if week { HeatmapBy::Weekday } else { HeatmapBy::Date };
            let n = hours.len();
            let (a, b) = (a.min(n).min(b.min(n)), a.min(n).max(b.min(n)));
            let mk = |lo: usize, hi: usize| {
                let mut s = HeatmapState::default();
                for &h in &hours[lo..hi] { s.add(h, 1); }
                s
            };
            let whole = mk(0, n);
            prop_assert_eq!(&mk(0, a).merge(mk(a, b)).merge(mk(b, n)), &whole);
            prop_assert_eq!(&mk(0, a).merge(mk(a, b).merge(mk(b, n))), &whole);
            prop_assert_eq!(&HeatmapState::default().merge(mk(0, n)), &whole);
            let rows = whole.finish(by);
            prop_assert_eq!(rows.iter().map(|r| r.count).sum::<u64>(), n as u64);
            prop_assert!(rows.windows(2).all(|w| (w[0].day, w[0].hour) < (w[1].day, w[1].hour)));
        }
    }
}
