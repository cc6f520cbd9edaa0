//! `search`: matching records in time order (or reversed), streamed.

use serde::Serialize;

use super::runner::{self, ScanStats};
use super::{AnalyzeError, Flow};
use crate::model::{Nanos, SourceId};
use crate::query::{Filter, TimeRange};
use crate::store::Store;

/// What to search.
#[derive(Debug, Clone)]
pub struct SearchConfig {
    /// Line filter.
    pub filter: Filter,
    /// Time range.
    pub range: TimeRange,
    /// Stop after this many hits.
    pub limit: Option<u64>,
    /// Newest first.
    pub reverse: bool,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            filter: Filter::default(),
            range: TimeRange::ALL,
            limit: None,
            reverse: false,
        }
    }
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

/// Runs the search, calling `emit` for each hit in `(time, source, line)` order.
pub fn search(
    store: &Store,
    cfg: &SearchConfig,
    emit: &mut dyn FnMut(SearchRow<'_>) -> Result<Flow, AnalyzeError>,
) -> Result<ScanStats, AnalyzeError> {
    let plan = runner::plan(store, &cfg.filter, cfg.range)?;
    let mut n = 0u64;
    runner::scan_ordered(store, &plan, &cfg.filter, cfg.range, cfg.reverse, |h| {
        n += 1;
        let row = SearchRow {
            ts: h.ts,
            source: h.source,
            source_path: store.source_path(h.source),
            line: h.line,
            text: &h.text,
        };
        match emit(row)? {
            Flow::Continue if cfg.limit.is_none_or(|l| n < l) => Ok(Flow::Continue),
            _ => Ok(Flow::Stop),
        }
    })
}
