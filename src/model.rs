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

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(year, month, day)` of a day number (days since 1970-01-01, proleptic Gregorian).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The two calendar conversions are inverse, over ±1 million years.
        #[test]
        fn civil_days_round_trip(days in -365_000_000i64..365_000_000) {
            let (y, m, d) = civil_from_days(days);
            proptest::prop_assert!((1..=12).contains(&m) && (1..=31).contains(&d));
            proptest::prop_assert_eq!(days_from_civil(y as i32, m as u8, d as u8), days);
        }
    }

    #[test]
    fn rfc3339_utc_has_nanos() {
        assert_eq!(format_rfc3339(1_000_000_001, true), "1970-01-01T00:00:01.000000001Z");
    }
}
