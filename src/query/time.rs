//! Time ranges (`-t`).
//!
//! Accepted forms (local time unless a zone is given or `utc` is set):
//! * empty: everything;
//! * a duration `1h`, `last 1h`, `-1h`, `1d12h`, `90m`, `1.5h`: the last `d` until now;
//! * a date: `2024/1/1`, `2024-01-01 10:00`, RFC 3339 `2024-01-01T10:00:00+09:00`, epoch
//!   seconds/ms/ns: from that instant on;
//! * `start,end`: both dates, inclusive;
//! * `start,duration`: `2024/1/1,1d` is `[start, start + 1d]`;
//! * `end,-duration`: `2024/1/2,-1d` is `[end - 1d, end]` (backwards).
//!
//! Durations are a decimal number with a unit, repeatable: `ns`, `us`/`µs`, `ms`, `s`, `m`,
//! `h`, `d` (24 h), `w` (7 d). Anything else is an error (upstream silently ignored it).

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::model::Nanos;

/// An inclusive range of instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// First instant included.
    pub start: Nanos,
    /// Last instant included.
    pub end: Nanos,
}

impl TimeRange {
    /// The range that contains everything.
    pub const ALL: TimeRange = TimeRange { start: i64::MIN, end: i64::MAX };

    /// True when `ts` is inside.
    pub fn contains(&self, ts: Nanos) -> bool {
        self.start <= ts && ts <= self.end
    }

    /// True for [`TimeRange::ALL`].
    pub fn is_all(&self) -> bool {
        *self == Self::ALL
    }

    /// `Some((start, end))` unless this is [`TimeRange::ALL`].
    pub fn bounds(&self) -> Option<(Nanos, Nanos)> {
        (!self.is_all()).then_some((self.start, self.end))
    }
}

/// A `-t` value that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid time range {input:?}: {reason}")]
pub struct TimeRangeError {
    /// The text given.
    pub input: String,
    /// What is wrong, with the accepted forms.
    pub reason: String,
}

const FORMS: &str = "use a duration (1h, last 30m, -2d), a date (2024/1/1, 2024-01-01T10:00:00+09:00), \
start,end, start,duration (2024/1/1,1d) or end,-duration (2024/1/2,-1d)";

/// Parses a duration like `1d12h` or `-1.5h` into nanoseconds (sign kept).
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86400e9,
            "w" => 7.0 * 86400e9,
            _ => return None,
        };
        total += value * scale;
    }
    if !total.is_finite() || total > i64::MAX as f64 {
        return None;
    }
    let v = total as i64;
    Some(if neg { -v } else { v })
}

fn to_nanos<Tz: TimeZone>(dt: &DateTime<Tz>) -> Option<Nanos> {
    dt.timestamp_nanos_opt()
}

fn local_or_utc(naive: NaiveDateTime, utc: bool) -> Option<Nanos> {
    if utc {
        to_nanos(&Utc.from_utc_datetime(&naive))
    } else {
        // Ambiguous (DST fold): the earlier instant; nonexistent (DST gap): shift by an hour.
        match Local.from_local_datetime(&naive) {
            chrono::LocalResult::Single(d) | chrono::LocalResult::Ambiguous(d, _) => to_nanos(&d),
            chrono::LocalResult::None => Local
                .from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
                .and_then(|d| to_nanos(&d)),
        }
    }
}

/// Parses one date/time (see the module docs for the accepted forms).
pub fn parse_date(s: &str, utc: bool) -> Option<Nanos> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        // Epoch seconds, ms, µs or ns by magnitude (8-digit YYYYMMDD is a date).
        if s.len() == 8 {
            let d = NaiveDate::parse_from_str(s, "%Y%m%d").ok()?;
            return local_or_utc(d.and_hms_opt(0, 0, 0)?, utc);
        }
        let v: i64 = s.parse().ok()?;
        return match s.len() {
            9 | 10 => v.checked_mul(1_000_000_000),
            12 | 13 => v.checked_mul(1_000_000),
            15 | 16 => v.checked_mul(1_000),
            18 | 19 => Some(v),
            _ => None,
        };
    }
    let norm: String = s.replace('/', "-");
    if let Ok(d) = DateTime::parse_from_rfc3339(&norm) {
        return to_nanos(&d);
    }
    for f in
        ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%d %H:%M%z"]
    {
        if let Ok(d) = DateTime::parse_from_str(&norm, f) {
            return to_nanos(&d);
        }
    }
    let (body, zulu) = match norm.strip_suffix('Z') {
        Some(b) => (b, true),
        None => (norm.as_str(), false),
    };
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(body, f) {
            return local_or_utc(n, utc || zulu);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(body, "%Y-%m-%d") {
        return local_or_utc(d.and_hms_opt(0, 0, 0)?, utc || zulu);
    }
    None
}

/// Parses a `-t` value relative to `now`.
pub fn parse_time_range(input: &str, now: Nanos, utc: bool) -> Result<TimeRange, TimeRangeError> {
    let err =
        |reason: &str| TimeRangeError { input: input.to_string(), reason: reason.to_string() };
    let s = input.trim();
    if s.is_empty() {
        return Ok(TimeRange::ALL);
    }
    let (a, b) = match s.split_once(',') {
        Some((a, b)) => (a.trim(), Some(b.trim())),
        None => (s, None),
    };
    let range = match b {
        None => {
            let dur_text = a.strip_prefix("last").map(str::trim).unwrap_or(a);
            if let Some(d) = parse_duration(dur_text) {
                let d = d.checked_abs().ok_or_else(|| err("duration out of range"))?;
                TimeRange { start: now.saturating_sub(d), end: now }
            } else if let Some(t) = parse_date(a, utc) {
                TimeRange { start: t, end: i64::MAX }
            } else {
                return Err(err(FORMS));
            }
        }
        Some(b) => {
            let Some(first) = parse_date(a, utc) else {
                return Err(err(&format!("{a:?} is not a date; {FORMS}")));
            };
            if let Some(end) = parse_date(b, utc) {
                TimeRange { start: first, end }
            } else if let Some(d) = parse_duration(b) {
                if d < 0 {
                    TimeRange { start: first.saturating_add(d), end: first }
                } else {
                    TimeRange { start: first, end: first.saturating_add(d) }
                }
            } else {
                return Err(err(&format!("{b:?} is neither a date nor a duration; {FORMS}")));
            }
        }
    };
    if range.start > range.end {
        return Err(err("the start is after the end"));
    }
    Ok(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000_000;

    fn utc(s: &str) -> Nanos {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_nanos_opt().unwrap()
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h"), Some(H));
        assert_eq!(parse_duration("1d12h"), Some(36 * H));
        assert_eq!(parse_duration("1.5h"), Some(H + H / 2));
        assert_eq!(parse_duration("-2m"), Some(-120_000_000_000));
        assert_eq!(parse_duration("1w"), Some(168 * H));
        assert_eq!(parse_duration("0"), Some(0));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("1x"), None);
    }

    #[test]
    fn upstream_forms() {
        let now = utc("2024-06-01T12:00:00Z");
        assert_eq!(parse_time_range("", now, true).unwrap(), TimeRange::ALL);
        assert_eq!(
            parse_time_range("1h", now, true).unwrap(),
            TimeRange { start: now - H, end: now }
        );
        let r = parse_time_range("2024/1/1", now, true).unwrap();
        assert_eq!(r, TimeRange { start: utc("2024-01-01T00:00:00Z"), end: i64::MAX });
        let r = parse_time_range("2024/1/1,1d", now, true).unwrap();
        assert_eq!(
            r,
            TimeRange { start: utc("2024-01-01T00:00:00Z"), end: utc("2024-01-02T00:00:00Z") }
        );
        let r = parse_time_range("2024/01/01T00:00:00+09:00,2024/01/02T00:00:00+09:00", now, true)
            .unwrap();
        assert_eq!(
            r,
            TimeRange { start: utc("2023-12-31T15:00:00Z"), end: utc("2024-01-01T15:00:00Z") }
        );
        let r = parse_time_range("2024-01-01 10:00:00, 2024-01-01 11:30", now, true).unwrap();
        assert_eq!(
            r,
            TimeRange { start: utc("2024-01-01T10:00:00Z"), end: utc("2024-01-01T11:30:00Z") }
        );
    }

    #[test]
    fn promised_forms() {
        let now = utc("2024-06-01T12:00:00Z");
        assert_eq!(
            parse_time_range("-1h", now, true).unwrap(),
            TimeRange { start: now - H, end: now }
        );
        assert_eq!(
            parse_time_range("last 1h", now, true).unwrap(),
            TimeRange { start: now - H, end: now }
        );
        let r = parse_time_range("2024/1/2,-1d", now, true).unwrap();
        assert_eq!(
            r,
            TimeRange { start: utc("2024-01-01T00:00:00Z"), end: utc("2024-01-02T00:00:00Z") }
        );
        let r = parse_time_range("1704067200,1704070800", now, true).unwrap();
        assert_eq!(
            r,
            TimeRange { start: utc("2024-01-01T00:00:00Z"), end: utc("2024-01-01T01:00:00Z") }
        );
    }

    #[test]
    fn errors_are_errors() {
        let now = 0;
        for bad in ["yesterday", "2024/13/45", "abc,1h", "2024/1/1,xyz", "2024/1/2,2024/1/1"] {
            let e = parse_time_range(bad, now, true).unwrap_err();
            assert_eq!(e.input, bad);
        }
    }

    #[test]
    fn local_zone_is_consistent() {
        let n = parse_date("2024-03-01 00:00:00", false).unwrap();
        let naive = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        let want =
            Local.from_local_datetime(&naive).earliest().unwrap().timestamp_nanos_opt().unwrap();
        assert_eq!(n, want);
    }
}
