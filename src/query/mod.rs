//! User-facing query language: time ranges (`-t`) and line filters (`-f`, `-r`, `-v`,
//! positional simple filters). Pure: no store access, no printing.

pub mod filter;
pub mod plan;
pub mod time;

pub use filter::{Filter, FilterError, FilterSpec};
pub use time::{TimeRange, TimeRangeError};
