//! `extract`: a value per matching record, in time order, with its change and rate
//! (spec §6.3), and optional statistics.

use serde::Serialize;

use super::keys::Extractor;
use super::runner::{self, ScanStats};
use super::{AnalyzeError, Flow};
use crate::model::Nanos;
use crate::query::{Filter, TimeRange};
use crate::store::Store;

/// What to extract.
#[derive(Debug, Clone)]
pub struct ExtractConfig {
    /// Line filter.
    pub filter: Filter,
    /// Time range.
    pub range: TimeRange,
    /// How the value is taken.
    pub extractor: Extractor,
    /// Turn the value (an IP address) into a host name, domain, location or country.
    pub ip: Option<std::sync::Arc<super::ipinfo::IpInfo>>,
}

/// One extracted value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtractRow {
    /// Timestamp of the record (ns).
    pub time: Nanos,
    /// The value as found (bytes; writers show it as UTF-8 and add base64 when it is not).
    pub value: Vec<u8>,
    /// The value as a number (0 when it is not numeric).
    pub num: f64,
    /// `num` minus the previous row's `num` (0 for the first row).
    pub delta: f64,
    /// `delta` per second since the previous row (0 when no time passed).
    pub ps: f64,
}

/// Min, max, mean, median, mode and population variance of a column.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ColumnStats {
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Middle value (mean of the two middle ones for an even count).
    pub median: f64,
    /// Smallest of the most frequent values; 0 when no value repeats more than the others.
    pub mode: f64,
    /// Population variance.
    pub variance: f64,
}

/// Statistics of the value, delta and per-second columns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ExtractStats {
    /// Of the values.
    pub value: ColumnStats,
    /// Of the deltas.
    pub delta: ColumnStats,
    /// Of the per-second rates.
    pub ps: ColumnStats,
}

/// Computes [`ColumnStats`]; `None` for no data.
pub fn column_stats(v: &[f64]) -> Option<ColumnStats> {
    if v.is_empty() {
        return None;
    }
    let n = v.len() as f64;
    let mut s: Vec<f64> = v.to_vec();
    s.sort_by(f64::total_cmp);
    let mean = v.iter().sum::<f64>() / n;
    let median =
        if s.len() % 2 == 1 { s[s.len() / 2] } else { (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0 };
    let variance = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    // Mode (montanaflynn/stats rule): the smallest most frequent value; 0 when every distinct
    // value is equally frequent (and more than one value exists).
    let mut runs: Vec<(f64, usize)> = Vec::new();
    for &x in &s {
        match runs.last_mut() {
            Some((y, c)) if *y == x => *c += 1,
            _ => runs.push((x, 1)),
        }
    }
    let best = runs.iter().map(|r| r.1).max().unwrap_or(0);
    let mode = if runs.len() == 1 {
        // One distinct value (also a single row): that value.
        s[0]
    } else if runs.iter().all(|r| r.1 == best) {
        0.0
    } else {
        runs.iter().find(|r| r.1 == best).map_or(0.0, |r| r.0)
    };
    Some(ColumnStats { min: s[0], max: s[s.len() - 1], mean, median, mode, variance })
}

/// Runs the extraction, calling `emit` with each row in time order.
pub fn extract(
    store: &Store,
    cfg: &ExtractConfig,
    emit: &mut dyn FnMut(&ExtractRow) -> Result<Flow, AnalyzeError>,
) -> Result<ScanStats, AnalyzeError> {
    let plan = runner::plan(store, &cfg.filter, cfg.range)?;
    let mut prev: Option<(Nanos, f64)> = None;
    let mut rows = 0u64;
    let mut st = runner::scan_ordered(store, &plan, &cfg.filter, cfg.range, false, |h| {
        let mut value: Option<Vec<u8>> = None;
        cfg.extractor.keys(&h.text, |k| {
            if value.is_none() {
                value = Some(k.into_owned());
            }
        });
        let Some(mut value) = value else { return Ok(Flow::Continue) };
        if let Some(ip) = &cfg.ip {
            value = ip.lookup(&String::from_utf8_lossy(&value)).into_bytes();
        }
        // Like Go's ParseFloat: the whole value must be a number (no surrounding blanks).
        let num: f64 = std::str::from_utf8(&value)
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|x: &f64| x.is_finite())
            .unwrap_or(0.0);
        let (delta, ps) = match prev {
            Some((t, v)) => {
                let d = num - v;
                let dt = h.ts - t;
                (d, if dt > 0 { d * 1e9 / dt as f64 } else { 0.0 })
            }
            None => (0.0, 0.0),
        };
        prev = Some((h.ts, num));
        rows += 1;
        emit(&ExtractRow { time: h.ts, value, num, delta, ps })
    })?;
    st.hits = rows;
    Ok(st)
}

/// Statistics over extracted rows.
pub fn stats_of(rows: &[ExtractRow]) -> Option<ExtractStats> {
    let col = |f: fn(&ExtractRow) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    Some(ExtractStats {
        value: column_stats(&col(|r| r.num))?,
        delta: column_stats(&col(|r| r.delta))?,
        ps: column_stats(&col(|r| r.ps))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_rules() {
        let s = column_stats(&[1.0, 2.0]).unwrap();
        assert_eq!((s.mean, s.median, s.mode, s.variance), (1.5, 1.5, 0.0, 0.25));
        let s = column_stats(&[3.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((s.min, s.max, s.median, s.mode), (1.0, 3.0, 2.5, 3.0));
        assert_eq!(column_stats(&[7.0]).unwrap().mode, 7.0);
        assert_eq!(column_stats(&[7.0, 7.0, 7.0]).unwrap().mode, 7.0);
        assert!(column_stats(&[]).is_none());
    }
}
