//! Writers of typed rows: NDJSON and plain text, plus human-readable number formatting.

pub mod human;
pub mod ndjson;
