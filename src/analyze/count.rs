//! `count`: records per time bucket, or per extracted key (spec §6.2).
//!
//! Time buckets are aligned in the user's zone (local unless `--utc`), so an hourly count
//! starts at local full hours also in zones with half-hour offsets, and sub-minute intervals
//! work. Without a filter, blocks that lie inside one bucket are counted from the index alone
//! (no decompression); only blocks that straddle a bucket boundary read their time column.

use std::collections::HashMap;

use chrono::{Local, Offset, TimeZone};
use rayon::prelude::*;
use serde::Serialize;

use super::AnalyzeError;
use super::keys::Extractor;
use super::runner::{self, ScanStats};
use crate::model::Nanos;
use crate::query::{Filter, TimeRange};
use crate::store::Store;

const SEC: i64 = 1_000_000_000;

/// How to group.
#[derive(Debug, Clone)]
pub enum CountBy {
    /// Per time bucket; `None` chooses the interval from the time span (60 s, 5 min, 10 min
    /// or 1 h, the first that gives fewer than 1000 buckets).
    Time(Option<i64>),
    /// Per extracted key.
    Key(Extractor),
}

/// What to count.
#[derive(Debug, Clone)]
pub struct CountConfig {
    /// Line filter.
    pub filter: Filter,
    /// Time range.
    pub range: TimeRange,
    /// Grouping.
    pub by: CountBy,
    /// Only records at least this much earlier than the previous record of their source
    /// (`--delay N`: a negative delta of N seconds or more).
    pub delay: Option<i64>,
    /// With `delay`: instead of the source delta, compare the record's time with the
    /// `time_pos`-th timestamp inside its text (0 = the first, usually the record's own):
    /// keep records whose time is at least `delay` after that one (`-q P`; upstream had the
    /// comparison inverted).
    pub time_pos: Option<usize>,
    /// Align time buckets in UTC instead of the local zone.
    pub utc: bool,
    /// Turn keys (IP addresses) into host names, domains, locations or countries.
    pub ip: Option<std::sync::Arc<super::ipinfo::IpInfo>>,
}

/// One time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimeRow {
    /// Start of the bucket (ns).
    pub time: Nanos,
    /// Records in it.
    pub count: u64,
    /// Time since the previous non-empty bucket (ns; 0 for the first).
    pub delta: i64,
}

/// One key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyRow {
    /// The key, as bytes (writers show it as UTF-8 and add base64 when it is not).
    pub key: Vec<u8>,
    /// Records (or words) with it.
    pub count: u64,
}

/// The result of a count.
#[derive(Debug, Clone)]
pub enum CountRows {
    /// Time mode, ascending.
    Time(Vec<TimeRow>),
    /// Key mode, by count descending then key ascending.
    Key(Vec<KeyRow>),
}

/// Totals of a count.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CountStats {
    /// Records that passed the filters.
    pub hits: u64,
    /// Rows of the result.
    pub keys: u64,
    /// The bucket interval (ns), time mode only.
    pub interval: i64,
    /// Scan counters.
    pub scan: ScanStats,
}

/// Chooses the automatic interval for a span (upstream rule, on the data's span).
pub fn auto_interval(span: i64) -> i64 {
    for s in [60, 300, 600] {
        if span / (s * SEC) < 1000 {
            return s * SEC;
        }
    }
    3600 * SEC
}

/// Maps instants to bucket starts aligned in the local zone (or UTC).
#[derive(Debug, Clone)]
pub struct Bucketer {
    interval: i64,
    utc: bool,
    cache: HashMap<i64, i64>,
}

impl Bucketer {
    /// A bucketer for `interval` ns.
    pub fn new(interval: i64, utc: bool) -> Self {
        Bucketer { interval: interval.max(1), utc, cache: HashMap::new() }
    }

    fn offset(&mut self, t: Nanos) -> i64 {
        if self.utc {
            return 0;
        }
        let hour = t.div_euclid(3600 * SEC);
        *self.cache.entry(hour).or_insert_with(|| {
            let secs = (hour * 3600).clamp(-8_000_000_000, 8_000_000_000);
            Local
                .timestamp_opt(secs, 0)
                .single()
                .map_or(0, |d| i64::from(d.offset().fix().local_minus_utc()) * SEC)
        })
    }

    /// Start of the bucket holding `t`.
    pub fn bucket(&mut self, t: Nanos) -> Nanos {
        let off = self.offset(t);
        let local = t.saturating_add(off);
        local.div_euclid(self.interval) * self.interval - off
    }
}

fn merge_maps<K: std::hash::Hash + Eq>(
    mut a: HashMap<K, u64>,
    b: HashMap<K, u64>,
) -> HashMap<K, u64> {
    if a.len() < b.len() {
        return merge_maps(b, a);
    }
    for (k, v) in b {
        *a.entry(k).or_default() += v;
    }
    a
}

/// Runs a count.
pub fn count(store: &Store, cfg: &CountConfig) -> Result<(CountRows, CountStats), AnalyzeError> {
    let plan = runner::plan(store, &cfg.filter, cfg.range)?;
    let delay = cfg.delay;
    let time_pos = cfg.time_pos;
    let utc = cfg.utc;
    let keep = move |r: &crate::model::Record<'_>| match (delay, time_pos) {
        (None, _) => true,
        (Some(d), None) => r.delta <= -d,
        (Some(d), Some(p)) => {
            nth_timestamp(r.text, p, utc, r.ts).is_some_and(|t2| r.ts.saturating_sub(t2) >= d)
        }
    };
    match &cfg.by {
        CountBy::Time(iv) => {
            let interval = match iv {
                Some(i) => (*i).max(1),
                None => {
                    let (lo, hi) = data_span(store, cfg.range)?.unwrap_or((0, 0));
                    auto_interval(hi.saturating_sub(lo))
                }
            };
            let utc = cfg.utc;
            let (map, scan) = if cfg.filter.is_empty() && delay.is_none() {
                count_time_index(store, &plan, cfg.range, interval, utc)?
            } else {
                runner::scan_fold(
                    store,
                    &plan,
                    &cfg.filter,
                    cfg.range,
                    || (HashMap::<i64, u64>::new(), Bucketer::new(interval, utc)),
                    |(m, b), r| {
                        if keep(r) {
                            *m.entry(b.bucket(r.ts)).or_default() += 1;
                        }
                    },
                    |a, b| (merge_maps(a.0, b.0), a.1),
                )
                .map(|((m, _), s)| (m, s))?
            };
            let hits = map.values().sum();
            let mut rows: Vec<TimeRow> =
                map.into_iter().map(|(time, count)| TimeRow { time, count, delta: 0 }).collect();
            rows.sort_unstable_by_key(|r| r.time);
            for i in 1..rows.len() {
                rows[i].delta = rows[i].time - rows[i - 1].time;
            }
            let stats = CountStats { hits, keys: rows.len() as u64, interval, scan };
            Ok((CountRows::Time(rows), stats))
        }
        CountBy::Key(ex) => {
            let ((map, hits), scan) = runner::scan_fold(
                store,
                &plan,
                &cfg.filter,
                cfg.range,
                || (HashMap::<Vec<u8>, u64>::new(), 0u64),
                |(m, h), r| {
                    if !keep(r) {
                        return;
                    }
                    let mut any = false;
                    ex.keys(r.text, |k| {
                        any = true;
                        match m.get_mut(k.as_ref()) {
                            Some(c) => *c += 1,
                            None => {
                                m.insert(k.into_owned(), 1);
                            }
                        }
                    });
                    if any {
                        *h += 1;
                    }
                },
                |a, b| (merge_maps(a.0, b.0), a.1 + b.1),
            )?;
            let mut map = map;
            if let Some(ip) = &cfg.ip {
                // Resolve each distinct key once (concurrently), then merge equal results.
                let raw: Vec<(Vec<u8>, u64)> = map.into_iter().collect();
                let keys: Vec<String> =
                    raw.iter().map(|(k, _)| String::from_utf8_lossy(k).into_owned()).collect();
                let info = ip.lookup_many(&keys);
                map = HashMap::new();
                for ((_, c), k) in raw.into_iter().zip(info) {
                    *map.entry(k.into_bytes()).or_default() += c;
                }
            }
            let mut rows: Vec<KeyRow> =
                map.into_iter().map(|(key, count)| KeyRow { key, count }).collect();
            rows.sort_unstable_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
            let stats = CountStats { hits, keys: rows.len() as u64, interval: 0, scan };
            Ok((CountRows::Key(rows), stats))
        }
    }
}

/// The `n`-th (0-based) timestamp in `text`, scanning left to right; year-less ones are
/// resolved near `reference` (the record's own time: a relayed syslog line from last
/// December stays in last year, whatever today is).
pub fn nth_timestamp(text: &[u8], n: usize, utc: bool, reference: Nanos) -> Option<Nanos> {
    use crate::ingest::timestamp::{TimestampParser, TsOptions};
    let mut p = TimestampParser::new(TsOptions { utc, reference_ns: Some(reference) });
    let mut at = 0usize;
    for k in 0..=n {
        let found = p.parse(&text[at..])?;
        if k == n {
            return Some(found.ns);
        }
        at += found.end.max(found.start + 1);
        if at >= text.len() {
            return None;
        }
    }
    None
}

/// First and last timestamp of the records inside `range` (whatever the filters), reading
/// only the block index and the time columns of the blocks that straddle the range ends.
fn data_span(store: &Store, range: TimeRange) -> Result<Option<(Nanos, Nanos)>, AnalyzeError> {
    let all = runner::plan(store, &Filter::default(), range)?;
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for b in &all.blocks {
        let inside_lo = b.min_ts >= range.start;
        let inside_hi = b.max_ts <= range.end;
        if inside_lo {
            lo = lo.min(b.min_ts);
        }
        if inside_hi {
            hi = hi.max(b.max_ts);
        }
        if !inside_lo || !inside_hi {
            runner::with_block(|blk| {
                store.segments()[b.seg as usize].read_columns(b.block as usize, blk)?;
                for &t in blk.ts.iter().filter(|t| range.contains(**t)) {
                    lo = lo.min(t);
                    hi = hi.max(t);
                }
                Ok::<_, crate::store::StoreError>(())
            })?;
        }
    }
    Ok((lo <= hi).then_some((lo, hi)))
}

/// Count per bucket without a filter: from block bounds where a block lies in one bucket,
/// from the time column otherwise.
fn count_time_index(
    store: &Store,
    plan: &runner::Plan,
    range: TimeRange,
    interval: i64,
    utc: bool,
) -> Result<(HashMap<i64, u64>, ScanStats), AnalyzeError> {
    let (map, read) = plan
        .blocks
        .par_iter()
        .try_fold(
            || (HashMap::<i64, u64>::new(), Bucketer::new(interval, utc), 0u64),
            |(mut m, mut b, mut read), r| {
                let inside = range.contains(r.min_ts) && range.contains(r.max_ts);
                let first = b.bucket(r.min_ts);
                if inside && first == b.bucket(r.max_ts) {
                    *m.entry(first).or_default() += u64::from(r.rows);
                } else {
                    runner::with_block(|blk| {
                        store.segments()[r.seg as usize].read_columns(r.block as usize, blk)?;
                        for &t in &blk.ts {
                            if range.contains(t) {
                                *m.entry(b.bucket(t)).or_default() += 1;
                            }
                        }
                        Ok::<_, crate::store::StoreError>(())
                    })?;
                    read += 1;
                }
                Ok::<_, crate::store::StoreError>((m, b, read))
            },
        )
        .map(|r| r.map(|(m, _, read)| (m, read)))
        .try_reduce(|| (HashMap::new(), 0), |a, b| Ok((merge_maps(a.0, b.0), a.1 + b.1)))?;
    let scan = ScanStats {
        blocks_total: plan.total_blocks,
        blocks_read: read,
        rows_read: plan.candidate_rows,
        hits: map.values().sum(),
    };
    Ok((map, scan))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_timestamps() {
        let t = b"2024-01-01T00:00:10Z got request sent at 2024-01-01T00:00:03Z and 2024-01-01T00:00:01Z";
        assert_eq!(
            nth_timestamp(t, 0, true, 1_704_067_210_000_000_000),
            Some(1_704_067_210_000_000_000)
        );
        assert_eq!(
            nth_timestamp(t, 1, true, 1_704_067_210_000_000_000),
            Some(1_704_067_203_000_000_000)
        );
        assert_eq!(
            nth_timestamp(t, 2, true, 1_704_067_210_000_000_000),
            Some(1_704_067_201_000_000_000)
        );
        assert_eq!(nth_timestamp(t, 3, true, 1_704_067_210_000_000_000), None);
        // Year-less times take the year of the record, not of today: a record of
        // 2005-06-14 15:16:06 UTC relaying a line stamped five seconds earlier.
        let relayed = b"Jun 14 15:16:06 relay: Jun 14 15:16:01 combo sshd[1]: x";
        assert_eq!(
            nth_timestamp(relayed, 1, true, 1_118_762_166_000_000_000),
            Some(1_118_762_161_000_000_000)
        );
    }

    #[test]
    fn auto_intervals() {
        assert_eq!(auto_interval(3600 * SEC), 60 * SEC);
        assert_eq!(auto_interval(2 * 86400 * SEC), 300 * SEC);
        assert_eq!(auto_interval(6 * 86400 * SEC), 600 * SEC);
        assert_eq!(auto_interval(30 * 86400 * SEC), 3600 * SEC);
    }

    #[test]
    fn utc_buckets() {
        let mut b = Bucketer::new(3600 * SEC, true);
        assert_eq!(b.bucket(3600 * SEC + 5), 3600 * SEC);
        assert_eq!(b.bucket(-1), -3600 * SEC);
        let mut b = Bucketer::new(10 * SEC, true);
        assert_eq!(b.bucket(25 * SEC), 20 * SEC);
    }
}
