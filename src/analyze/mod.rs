//! Operators: turn records into typed rows. They never print and never touch the terminal;
//! rows leave through a callback (the `Emit` side), which the CLI connects to NDJSON or text
//! writers (and later the TUI).

pub mod anomaly;
pub mod count;
pub mod delay;
pub mod extract;
pub mod heatmap;
pub mod ipinfo;
pub mod keys;
pub mod relation;
pub mod runner;
pub mod search;
pub mod tfidf;
pub mod timeview;

/// Whether the consumer wants more rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep going.
    Continue,
    /// Stop early (limit reached, closed pipe...).
    Stop,
}

/// Errors of an analysis run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnalyzeError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The consumer failed (e.g. writing to stdout).
    #[error("output: {0}")]
    Output(#[from] std::io::Error),
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_b;
