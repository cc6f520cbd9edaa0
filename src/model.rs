//! Plain data shared by every layer: timestamps and records. No I/O, no dependencies on the
//! rest of the crate.

use chrono::{DateTime, Local, SecondsFormat, TimeZone, Utc};

/// An instant in nanoseconds since the Unix epoch, UTC (covers 1677..2262).
pub type Nanos = i64;

/// Identifier of a source (file, archive member, stream) inside one store; dense from 0.
pub type SourceId = u32;

/// One stored record, borrowed from a decoded block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// When the record happened (ns, UTC).
    pub ts: Nanos,
    /// `ts` minus the timestamp of the previous record of the same source (0 for the first).
    /// Negative values reveal out-of-order input (the `delay` command reads them).
    pub delta: i64,
    /// The source the record came from.
    pub source: SourceId,
    /// 1-based line number of the record's first line in its source.
    pub line: u64,
    /// The raw bytes exactly as read, without the line terminator; multi-line records are
    /// joined with `\n`. May be invalid UTF-8.
    pub text: &'a [u8],
}

/// Formats `ns` as RFC 3339 with nanoseconds, in UTC (`Z`) or in the local zone.
pub fn format_rfc3339(ns: Nanos, utc: bool) -> String {
    let dt: DateTime<Utc> = Utc.timestamp_nanos(ns);
    if utc {
        dt.to_rfc3339_opts(SecondsFormat::Nanos, true)
    } else {
        dt.with_timezone(&Local).to_rfc3339_opts(SecondsFormat::Nanos, false)
    }
}

/// The current time in ns since the epoch (saturating outside the representable range).
pub fn now_nanos() -> Nanos {
    Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_utc_has_nanos() {
        assert_eq!(format_rfc3339(1_000_000_001, true), "1970-01-01T00:00:01.000000001Z");
    }
}
