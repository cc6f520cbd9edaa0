//! Cell formats of the views (upstream's Go layouts and humanize formats).

use std::time::Duration;

use chrono::{DateTime, Local, TimeZone, Utc};

use crate::model::Nanos;
use crate::output::human;

fn fmt_time(ns: Nanos, utc: bool, layout: &str) -> String {
    let t: DateTime<Utc> = Utc.timestamp_nanos(ns);
    if utc {
        t.format(layout).to_string()
    } else {
        t.with_timezone(&Local).format(layout).to_string()
    }
}

/// `2006/01/02 15:04` (count buckets).
pub fn minute(ns: Nanos, utc: bool) -> String {
    fmt_time(ns, utc, "%Y/%m/%d %H:%M")
}

/// `2006/01/02T15:04:05.999`: milliseconds with trailing zeros (and a bare `.`) trimmed.
pub fn millis(ns: Nanos, utc: bool) -> String {
    let s = fmt_time(ns, utc, "%Y/%m/%dT%H:%M:%S%.3f");
    let s = s.trim_end_matches('0');
    s.strip_suffix('.').unwrap_or(s).to_string()
}

/// humanize `#,###.###`: thousands commas, 3 decimals; NaN as `NaN`.
pub fn num3(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Inf".into() } else { "-Inf".into() };
    }
    if x.abs() < 1e-9 {
        return "0.000".into();
    }
    let s = format!("{:.3}", x.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "000"));
    let int: u64 = int.parse().unwrap_or(0);
    let sign = if x < 0.0 && s.bytes().any(|b| b.is_ascii_digit() && b != b'0') { "-" } else { "" };
    format!("{sign}{}.{frac}", human::comma(int))
}

/// Go duration of `ns`, negative values as 0.
pub fn delta(ns: i64) -> String {
    human::go_duration(Duration::from_nanos(ns.max(0) as u64))
}

/// Go duration truncated to milliseconds (the `s:` of headers).
pub fn took(d: Duration) -> String {
    human::go_duration(Duration::from_millis(d.as_millis() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(num3(1234567.891), "1,234,567.891");
        assert_eq!(num3(-0.5), "-0.500");
        assert_eq!(num3(0.0), "0.000");
        assert_eq!(num3(1e-12), "0.000");
        assert_eq!(num3(f64::NAN), "NaN");
        assert_eq!(millis(1_500_000_000, true), "1970/01/01T00:00:01.5");
        assert_eq!(millis(1_000_000_000, true), "1970/01/01T00:00:01");
        assert_eq!(minute(61_000_000_000, true), "1970/01/01 00:01");
        assert_eq!(took(Duration::from_micros(1_234_567)), "1.234s");
    }
}
