//! End-to-end tests of the `twsla` binary on the shared corpora (`../shared/data`).
//!
//! Every run passes `--utc` and `TZ=UTC`. Tests marked `#[ignore = "BUG: ..."]` pin down
//! known defects; run them with `cargo test --test cli -- --ignored`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    missing_docs
)]

mod util;

mod anomaly;
mod archive;
mod bad_input;
mod completion;
mod count;
mod crash;
mod delay;
mod extract;
mod heatmap;
mod import;
mod import_cancel;
mod incremental;
mod ipinfo;
mod relation;
mod search;
mod store;
mod terminal;
mod tfidf;
mod time;
mod tui;
