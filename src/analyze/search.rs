//! `search`: matching records in time order.

use serde::Serialize;

use super::{AnalyzeError, Flow};
use crate::model::{Nanos, SourceId};
use crate::query::{Filter, TimeRange};
use crate::store::{Store, scan};

/// What to search.
#[derive(Debug, Clone, Default)]
pub struct SearchConfig {
    /// Line filter.
    pub filter: Filter,
    /// Time range.
    pub range: Option<TimeRange>,
    /// Stop after this many hits.
    pub limit: Option<u64>,
}

/// One hit.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SearchRow<'a> {
    /// Timestamp (ns).
    pub ts: Nanos,
    /// Source id.
    pub source: SourceId,
    /// Source path.
    pub source_path: &'a str,
    /// Line number of the record's first line.
    pub line: u64,
    /// Raw text.
    #[serde(skip)]
    pub text: &'a [u8],
}

/// Totals of a search.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct SearchStats {
    /// Records examined.
    pub scanned: u64,
    /// Records that matched.
    pub hits: u64,
}

/// Runs the search, calling `emit` for each hit in `(time, source, line)` order.
pub fn search(
    store: &Store,
    cfg: &SearchConfig,
    emit: &mut dyn FnMut(SearchRow<'_>) -> Result<Flow, AnalyzeError>,
) -> Result<SearchStats, AnalyzeError> {
    let mut st = SearchStats::default();
    let mut failure: Option<AnalyzeError> = None;
    let range = cfg.range.and_then(|r| r.bounds());
    scan::scan_time_order(store.segments(), range, |rec| {
        st.scanned += 1;
        if !cfg.filter.matches(rec.text) {
            return Ok(true);
        }
        st.hits += 1;
        let row = SearchRow {
            ts: rec.ts,
            source: rec.source,
            source_path: store.source_path(rec.source),
            line: rec.line,
            text: rec.text,
        };
        match emit(row) {
            Ok(Flow::Continue) => Ok(cfg.limit.is_none_or(|l| st.hits < l)),
            Ok(Flow::Stop) => Ok(false),
            Err(e) => {
                failure = Some(e);
                Ok(false)
            }
        }
    })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(st),
    }
}
