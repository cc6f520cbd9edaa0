//! twsla: a fast local log analyzer, the Rust successor of TWSNMP's "Simple Log Analyzer".
//!
//! # Architecture
//!
//! The crate is one package with strict module layers (a module may only use the ones to its
//! left):
//!
//! ```text
//! model ← store ← query ← analyze ← output ← cli
//!   ↑       ↑                ↑
//!   └── ingest ──────────────┘   (ingest writes through store::SegmentBuilder)
//! ```
//!
//! * [`model`]: plain data (timestamps, records), no I/O.
//! * [`store`]: the only module that knows bytes on disk: immutable, time-sorted segments with a
//!   roaring-bitmap token index, and an atomically replaced manifest. See `segment-format/`.
//! * [`ingest`]: sources (files, directories, archives, stdin) → line splitting, multi-line
//!   grouping, timestamp inference → parallel segment builders → one atomic commit.
//! * [`query`]: time ranges and (later) filters compiled into plans over the store.
//! * [`analyze`]: operators that turn records into typed rows; they never print.
//! * [`output`]: writers of typed rows (NDJSON, plain text).
//! * [`cli`]: argument parsing, the terminal, exit codes. The only layer that prints.
//! * [`chart`]: chart data ([`chart::ChartSpec`]) and its PNG and self-contained HTML
//!   renderers; it knows only [`model`] (the UI and the CLI build the specs).
//! * [`tui`]: the terminal UI the CLI opens on a terminal: views over analysis rows, fed by a
//!   worker thread through a channel; it never sees the store.

pub mod analyze;
pub mod chart;
pub mod cli;
pub mod fuzzing;
pub mod ingest;
pub mod model;
pub mod output;
pub mod query;
pub mod store;
pub mod tui;
