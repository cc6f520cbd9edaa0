//! Civil-date arithmetic (proleptic Gregorian, UTC) and timestamp writers.

use crate::buf::Buf;

pub const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

pub const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date `(year, month 1..=12, day 1..=31)` for days since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Broken-down time with the civil date cached per day.
pub struct Clock {
    day: i64,
    pub year: u64,
    pub month: u32,
    pub mday: u32,
    pub hour: u64,
    pub min: u64,
    pub sec: u64,
    pub milli: u64,
}

impl Clock {
    pub fn new() -> Self {
        let mut c = Clock {
            day: i64::MIN,
            year: 1970,
            month: 1,
            mday: 1,
            hour: 0,
            min: 0,
            sec: 0,
            milli: 0,
        };
        c.set(0);
        c
    }

    /// Set the clock to `ms` milliseconds since the Unix epoch.
    #[inline]
    pub fn set(&mut self, ms: i64) {
        let day = ms.div_euclid(MS_PER_DAY);
        let in_day = ms.rem_euclid(MS_PER_DAY) as u64;
        if day != self.day {
            let (y, m, d) = civil_from_days(day);
            self.day = day;
            self.year = y.max(0) as u64;
            self.month = m;
            self.mday = d;
        }
        let secs = in_day / 1000;
        self.milli = in_day % 1000;
        self.hour = secs / 3600;
        self.min = secs / 60 % 60;
        self.sec = secs % 60;
    }

    #[inline]
    fn mon(&self) -> &'static str {
        MONTHS[(self.month as usize + 11) % 12]
    }

    #[inline]
    fn hms(&self, b: &mut Buf) {
        b.z(self.hour, 2).c(b':').z(self.min, 2).c(b':').z(self.sec, 2);
    }

    /// RFC 3164: `Oct  1 00:00:03` (day of month padded with a space).
    #[inline]
    pub fn syslog(&self, b: &mut Buf) {
        b.s(self.mon()).c(b' ');
        if self.mday < 10 {
            b.c(b' ');
        }
        b.u(u64::from(self.mday)).c(b' ');
        self.hms(b);
    }

    /// Apache/NCSA: `01/Oct/2026:00:00:03 +0000`.
    #[inline]
    pub fn apache(&self, b: &mut Buf) {
        b.z(u64::from(self.mday), 2).c(b'/').s(self.mon()).c(b'/').z(self.year, 4).c(b':');
        self.hms(b);
        b.s(" +0000");
    }

    /// RFC 3339 with milliseconds: `2026-10-01T00:00:03.123Z`.
    #[inline]
    pub fn iso(&self, b: &mut Buf) {
        self.date(b);
        b.c(b'T');
        self.hms(b);
        b.c(b'.').z(self.milli, 3).c(b'Z');
    }

    /// Logback/log4j default: `2026-10-01 00:00:03,123`.
    #[inline]
    pub fn java(&self, b: &mut Buf) {
        self.date(b);
        b.c(b' ');
        self.hms(b);
        b.c(b',').z(self.milli, 3);
    }

    /// nginx error log: `2026/10/01 00:00:03`.
    #[inline]
    pub fn nginx(&self, b: &mut Buf) {
        b.z(self.year, 4)
            .c(b'/')
            .z(u64::from(self.month), 2)
            .c(b'/')
            .z(u64::from(self.mday), 2)
            .c(b' ');
        self.hms(b);
    }

    #[inline]
    fn date(&self, b: &mut Buf) {
        b.z(self.year, 4).c(b'-').z(u64::from(self.month), 2).c(b'-').z(u64::from(self.mday), 2);
    }
}

/// Parse `YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+00:00]` (UTC only) into epoch ms.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z').or_else(|| s.strip_suffix("+00:00")).unwrap_or(s);
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut dp = date.split('-');
    let y: i64 = num(dp.next()?, 4)?;
    let m: u32 = num(dp.next()?, 2)?;
    let d: u32 = num(dp.next()?, 2)?;
    if dp.next().is_some() || !(1970..=9999).contains(&y) || !(1..=12).contains(&m) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    if civil_from_days(days) != (y, m, d) {
        return None; // e.g. Feb 30
    }
    let mut ms = days * MS_PER_DAY;
    if let Some(t) = time {
        let (hms, frac) = match t.split_once('.') {
            Some((a, f)) => (a, Some(f)),
            None => (t, None),
        };
        let mut tp = hms.split(':');
        let h: i64 = num(tp.next()?, 2)?;
        let mi: i64 = num(tp.next()?, 2)?;
        let se: i64 = match tp.next() {
            Some(x) => num(x, 2)?,
            None => 0,
        };
        if tp.next().is_some() || h > 23 || mi > 59 || se > 59 {
            return None;
        }
        ms += ((h * 60 + mi) * 60 + se) * 1000;
        if let Some(f) = frac {
            if f.is_empty() || f.len() > 9 || !f.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let mut v: i64 = 0;
            for (i, c) in f.bytes().enumerate().take(3) {
                v += i64::from(c - b'0') * [100, 10, 1][i];
            }
            ms += v;
        }
    }
    Some(ms)
}

fn num<T: std::str::FromStr>(s: &str, len: usize) -> Option<T> {
    if s.len() != len || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_roundtrip() {
        for z in -800_000..800_000i64 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn parse_start() {
        let ms = parse_rfc3339("2026-10-01T00:00:00Z");
        assert_eq!(ms, Some(days_from_civil(2026, 10, 1) * MS_PER_DAY));
        assert_eq!(parse_rfc3339("2026-10-01T01:02:03.5Z"), ms.map(|m| m + 3_723_500));
        assert_eq!(parse_rfc3339("2026-10-01"), ms);
        assert_eq!(parse_rfc3339("2026-02-30"), None);
        assert_eq!(parse_rfc3339("2026-10-01T25:00:00Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn formats() {
        let mut c = Clock::new();
        let mut b = Buf::with_capacity(64);
        c.set(days_from_civil(2026, 10, 1) * MS_PER_DAY + 3_123);
        c.syslog(&mut b);
        b.c(b'|');
        c.apache(&mut b);
        b.c(b'|');
        c.iso(&mut b);
        b.c(b'|');
        c.java(&mut b);
        b.c(b'|');
        c.nginx(&mut b);
        assert_eq!(
            String::from_utf8_lossy(&b.v),
            "Oct  1 00:00:03|01/Oct/2026:00:00:03 +0000|2026-10-01T00:00:03.123Z\
             |2026-10-01 00:00:03,123|2026/10/01 00:00:03"
        );
        b.clear();
        c.set(days_from_civil(2026, 12, 31) * MS_PER_DAY + MS_PER_DAY - 1);
        c.syslog(&mut b);
        assert_eq!(String::from_utf8_lossy(&b.v), "Dec 31 23:59:59");
    }
}
