//! Timestamp inference for one log line.
//!
//! Every imported line goes through [`TimestampParser::parse`], which finds the line's
//! timestamp, returns it as nanoseconds since the Unix epoch (UTC) and the byte span it occupies.
//! The scanners are hand-written byte matchers (no regex, no allocation per line).
//!
//! # Recognised layouts
//!
//! Month names are English (`Jan`, `January`, `Sept`); fractions are 1 to 9 digits after `.` or
//! `,` (more digits are read and ignored); hours are 0-23, minutes 0-59, seconds 0-60 (60 rolls
//! over into the next minute), and the day must exist in its month. A candidate that fails any
//! check is not a timestamp and the search goes on to the right.
//!
//! | layout | example |
//! |---|---|
//! | syslog (RFC 3164), no year | `Jan  2 15:04:05`, `Jan 2 15:04:05.123` |
//! | ANSI C / custom01 | `Mon Jan  2 15:04:05 2006` |
//! | Unix date | `Mon Jan  2 15:04:05 MST 2006` |
//! | Ruby | `Mon Jan 02 15:04:05 -0700 2006` |
//! | syslog variant | `Jan 02 2006 15:04:05`, `Jan 2, 2006 15:04:05` |
//! | RFC 822 / 822Z | `02 Jan 06 15:04 MST`, `02 Jan 06 15:04 -0700` |
//! | RFC 850 | `Monday, 02-Jan-06 15:04:05 MST` (span starts at the day) |
//! | RFC 1123 / 1123Z | `Mon, 02 Jan 2006 15:04:05 MST`, `… -0700` |
//! | RFC 3339 / Nano / zone-less | `2006-01-02T15:04:05Z`, `…05.999999999+09:00`, `…05+0900`, `2006-01-02T15:04:05` |
//! | DPKG, log4j, unpadded | `2006-01-02 15:04:05`, `2006-01-02 15:04:05,999`, `2006-1-2 5:04:05.9` |
//! | BGL | `2005-06-03-15.42.50.675872` |
//! | Apache | `10/Oct/2000:13:55:36 -0700`, `10/Oct/2000:13:55:36` |
//! | NGINX, custom02 | `2006/01/02 15:04:05`, `2006/1/2 15:04:05` (24-hour clock) |
//! | UK | `02/01/2006 15:04:05,999` (day first) |
//! | Spark | `17/06/09 20:10:40` (`YY/MM/DD`) |
//! | Gravwell | `1-2-2006 15:04:05.999` (month first) |
//! | Bind | `02-Jan-2006 15:04:05.999` |
//! | DirectAdmin | `2006:01:02-15:04:05` |
//! | HealthApp | `20171223-22:15:29:606`, `20171223-22:16:0:9` (unpadded fields; the last one is an integer number of milliseconds) |
//! | HDFS | `081109 203615` (`YYMMDD HHMMSS`, only at line start) |
//! | Android, no year | `03-17 16:13:38.811` (`MM-DD`) |
//! | Proxifier, no year | `10.30 16:49:06` (`MM.DD`) |
//! | epoch at line start | float seconds `1136214245.123`, seconds (9-10 digits), ms (12-13), ns (19), LDAP FILETIME (18 digits, 100 ns ticks since 1601) |
//! | epoch inside the line | a blank-delimited 10-digit token in 946684800..=4102444800 (2000-2100) |
//!
//! "Line start" allows leading blanks; a line-start epoch must not be followed by a letter or a
//! digit. A weekday name right before a date (`Sun `, `Sun, `) is included in the span. A date
//! glued to its time by `_` (`2017-05-16_13:53:08`, as in file names) is not a timestamp.
//! Explicit four-digit years outside 1700..=2200 are rejected. Two-digit years: 69-99 → 19xx,
//! else 20xx.
//!
//! # Selection
//!
//! The **leftmost** timestamp of the line wins; at one start offset the longest (most precise)
//! layout wins (`Jan  2 15:04:05 2006` over `Jan  2 15:04:05`). Only start offsets within the
//! first [`SCAN_LIMIT`] bytes are searched, so the cost of a line is bounded whatever its length.
//! As a fast path the parser remembers the layout family and offset that won on the previous
//! line and tries it first, accepting it only after checking that nothing starts further left.
//!
//! # Zones
//!
//! Explicit zones are honoured: `Z`, `±hh:mm`, `±hhmm`, `±hh` (the last only glued to the time),
//! and after one blank `±hhmm`, `±hh:mm` or an abbreviation: UTC, GMT, UT, Z, EST, EDT, CST,
//! CDT, MST, MDT, PST, PDT, AKST, AKDT, HST, JST, KST, CET, CEST, EET, EEST (CST is US Central).
//! An unknown abbreviation in the Unix-date position (`… 15:04:05 XYZ 2006`) is skipped and the
//! time is treated as zone-less. Zone-less times are UTC when [`TsOptions::utc`] is set, else in
//! the local zone (`TZ` / `/etc/localtime`): an ambiguous local time (DST fall-back) takes the
//! earlier instant, a nonexistent one (spring-forward gap) is shifted forward by the gap.
//!
//! # Years of year-less dates (syslog, Android, Proxifier)
//!
//! 1. **Context.** When the line also holds a timestamp *with* a calendar year (not an epoch)
//!    on the same month and day, e.g. `Jun 17 07:07:00 combo ftpd[1]: … at Fri Jun 17 07:07:00
//!    2005`, that year is used and becomes the source's running context date. From then on
//!    every year-less line takes the year that puts it nearest (within ±6 months) to the
//!    running context, and the context advances to that line's date. Once a context exists,
//!    lines are no longer searched for a same-line year. [`TimestampParser::prime`] looks for
//!    the first such line in the head of the source, so that the lines before it get the right
//!    year as well. A bare number (`took 2010 ms`) is never a year context, and timestamps that
//!    carry their own year neither create nor move the context.
//! 2. **Reference.** Without a context the year is the latest one that puts the date no later
//!    than [`TsOptions::reference_ns`] (normally the file's mtime; default now) plus 25 hours,
//!    compared as wall-clock time. A file spanning Dec → Jan with a January mtime thus gets
//!    December of the previous year and January of the reference year. Feb 29 takes the latest
//!    leap year that fits.

mod formats;
#[cfg(test)]
mod tests;
mod zone;

use formats::{Civil, Family, Hit, Line, Value};
use zone::{OffsetCache, Rules};

/// Timestamps are only searched for at start offsets below this many bytes of a line (a
/// timestamp that starts before the bound may extend past it); later text is ignored, which keeps
/// the cost of a very long line bounded.
pub const SCAN_LIMIT: usize = 512;

const NS: i64 = 1_000_000_000;
/// Slack added to the reference instant before choosing a year (clock skew, late writes).
const REFERENCE_SLACK_SECS: i64 = 25 * 3600;

/// Options of a [`TimestampParser`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TsOptions {
    /// Zone-less times are UTC when true, else the local zone (chrono::Local, i.e. TZ env / /etc/localtime).
    pub utc: bool,
    /// Reference instant (ns since Unix epoch, UTC) for dates without a year: normally the file's mtime; None = now.
    pub reference_ns: Option<i64>,
}

/// The timestamp found in a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Parsed {
    /// The instant, in nanoseconds since the Unix epoch (UTC).
    pub ns: i64,
    /// Byte offset where the timestamp text starts in the line.
    pub start: usize,
    /// Byte offset just past the timestamp text.
    pub end: usize,
}

/// Per-source timestamp parser: one instance serves one source (file, stream) from its first line
/// to its last, and keeps the state described in the [module docs](self): the winning layout
/// of the previous line, the running year context and a cache of local-zone offsets.
#[derive(Clone, Debug)]
pub struct TimestampParser {
    utc: bool,
    /// Reference + slack, as wall-clock seconds in the zone that zone-less times are read in.
    limit_wall: i64,
    /// Year of `limit_wall`.
    limit_year: i32,
    /// Running context: wall-clock seconds and year of the last year-less line's date.
    context: Option<(i64, i32)>,
    /// Family and candidate offset that won on the previous line.
    hint: Option<(Family, usize)>,
    cache: OffsetCache,
}

impl TimestampParser {
    /// Creates a parser for one source.
    pub fn new(opts: TsOptions) -> Self {
        Self::with_rules(opts, Rules::System)
    }

    fn with_rules(opts: TsOptions, rules: Rules) -> Self {
        let reference_ns = opts
            .reference_ns
            .unwrap_or_else(|| chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0));
        let limit_utc = reference_ns.div_euclid(NS).saturating_add(REFERENCE_SLACK_SECS);
        let offset = if opts.utc { 0 } else { rules.offset_at_utc(limit_utc) };
        let limit_wall = limit_utc.saturating_add(i64::from(offset));
        TimestampParser {
            utc: opts.utc,
            limit_wall,
            limit_year: crate::model::civil_from_days(limit_wall.div_euclid(86_400)).0 as i32,
            context: None,
            hint: None,
            cache: OffsetCache::new(rules),
        }
    }

    /// Learn context (e.g. the year) from the head of a source before parsing it (sample = first up to ~1 MiB of the source, several lines).
    ///
    /// Looks for the first line whose leftmost timestamp has no year while a later timestamp in
    /// the same line has a year and the same month and day; that line's date becomes the year
    /// context. Does nothing when a context is already known. Lines are split on `\n` (a
    /// trailing `\r` is ignored); a truncated last line is harmless.
    pub fn prime(&mut self, sample: &[u8]) {
        if self.context.is_some() {
            return;
        }
        let mut rest = sample;
        while !rest.is_empty() {
            let (line, next) = match memchr::memchr(b'\n', rest) {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &rest[rest.len()..]),
            };
            rest = next;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let l = Line::new(line);
            if let Some(hit) = formats::scan(&l, 0, l.bound())
                && let Value::Civil(c) = hit.value
                && c.year.is_none()
                && let Some(y) = same_line_year(&l, hit.end, &c)
            {
                self.context = Some((wall_of(y, &c), y));
                return;
            }
        }
    }

    /// Parse the timestamp of one line (no trailing newline). None when the line has none.
    pub fn parse(&mut self, line: &[u8]) -> Option<Parsed> {
        let l = Line::new(line);
        let bound = l.bound();
        let mut from = 0;
        let mut hit = self.hinted(&l);
        loop {
            let h = match hit.take() {
                Some(h) => h,
                None => formats::scan(&l, from, bound)?,
            };
            if let Some(ns) = self.resolve(&l, &h) {
                self.hint = Some((h.family, h.pos));
                return Some(Parsed { ns, start: h.start, end: h.end });
            }
            from = h.pos + 1;
        }
    }

    /// The fast path: the previous line's family at its offset, if nothing starts further left.
    #[inline]
    fn hinted(&self, l: &Line<'_>) -> Option<Hit> {
        let (family, pos) = self.hint?;
        if pos >= l.bound() {
            return None;
        }
        if pos > 0
            && let Some(h) = formats::scan(l, 0, pos)
        {
            return Some(h);
        }
        if formats::is_candidate(l.s, pos, family)
            && let Some(h) = formats::try_family(l, family, pos)
        {
            return Some(h);
        }
        formats::scan(l, pos, l.bound())
    }

    /// Instant of a hit, resolving the year and the zone. None when it is out of range.
    fn resolve(&mut self, l: &Line<'_>, h: &Hit) -> Option<i64> {
        let c = match h.value {
            Value::Instant(ns) => return Some(ns),
            Value::Civil(c) => c,
        };
        let (year, sets_context) = match c.year {
            Some(y) => (y, false),
            None => match self.context {
                Some((ctx, ctx_year)) => (nearest_year(ctx, ctx_year, &c)?, true),
                None => match same_line_year(l, h.end, &c) {
                    Some(y) => (y, true),
                    // Reference-rule years do not create a context.
                    None => (self.reference_year(&c)?, false),
                },
            },
        };
        let wall = wall_of(year, &c);
        if sets_context {
            self.context = Some((wall, year));
        }
        let off = match c.zone {
            Some(o) => o,
            None if self.utc => 0,
            None => self.cache.offset_for_wall(wall),
        };
        (wall - i64::from(off)).checked_mul(NS)?.checked_add(i64::from(c.nanos))
    }

    /// Latest year that puts the date no later than the reference limit.
    fn reference_year(&self, c: &Civil) -> Option<i32> {
        (self.limit_year - 8..=self.limit_year)
            .rev()
            .find(|&y| valid_in(y, c) && wall_of(y, c) <= self.limit_wall)
    }
}

/// Whether the date of `c` exists in year `y`.
fn valid_in(y: i32, c: &Civil) -> bool {
    formats::valid_date(Some(y), u32::from(c.month), u32::from(c.day))
}

fn wall_of(y: i32, c: &Civil) -> i64 {
    formats::wall_secs(y, c.month, c.day, c.hour, c.min, c.sec)
}

/// Year that puts `c` nearest to the context date (within ±1 year, or ±4 for Feb 29).
fn nearest_year(ctx: i64, ctx_year: i32, c: &Civil) -> Option<i32> {
    let pick = |span: i32| {
        (ctx_year - span..=ctx_year + span)
            .filter(|&y| valid_in(y, c))
            .min_by_key(|&y| (wall_of(y, c) - ctx).abs())
    };
    pick(1).or_else(|| pick(4))
}

/// Year of a later timestamp in the line that has an explicit calendar year and the same
/// month and day as `c`.
fn same_line_year(l: &Line<'_>, from: usize, c: &Civil) -> Option<i32> {
    let bound = l.bound();
    let mut from = from;
    while from < bound {
        let h = formats::scan(l, from, bound)?;
        if let Value::Civil(o) = h.value
            && let Some(y) = o.year
            && o.month == c.month
            && o.day == c.day
            && valid_in(y, c)
        {
            return Some(y);
        }
        from = h.end.max(h.pos + 1);
    }
    None
}
