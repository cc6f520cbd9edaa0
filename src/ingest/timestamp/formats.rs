//! Byte-level scanners, one per *family* of layouts.
//!
//! A family is entered at a candidate position (the first digit of a digit run, or the capital
//! letter of a month name) and decides from what follows which layout of the family applies,
//! always taking the longest valid match. Families are mutually exclusive at one position, so the
//! family that matched is a sufficient "format hint" for the next line.
//!
//! Everything here is allocation-free and reads the line only through bounds-checked accessors:
//! no input can make it panic.

use super::SCAN_LIMIT;

/// Longest digit run that is measured; longer runs are never a timestamp field.
const MAX_RUN: usize = 20;
/// Longest run of blanks accepted between two parts of a timestamp.
const MAX_BLANKS: usize = 8;
/// Longest fraction that is read (digits beyond the ninth are ignored).
const MAX_FRAC: usize = 32;
/// Explicit four-digit years outside this range are rejected (they could not be stored as i64
/// nanoseconds anyway).
const YEAR_MIN: i32 = 1700;
const YEAR_MAX: i32 = 2200;
/// Plausible range of epoch seconds found inside a line (2000-01-01 ..= 2100-01-01).
const EPOCH_INLINE_MIN: i64 = 946_684_800;
const EPOCH_INLINE_MAX: i64 = 4_102_444_800;
/// Seconds between 1601-01-01 (Windows FILETIME epoch) and 1970-01-01.
const FILETIME_OFFSET: i64 = 11_644_473_600;

/// Which scanner produced a hit (used as the per-source format hint).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// Month name first: syslog, ANSI C, Unix date, Ruby, `Jan 02 2006 15:04:05`, `Jan 2, 2006 …`.
    Month,
    /// `YYYY-M-D` + `T`/blank/`-` + time (RFC 3339, DPKG, unpadded, log4j, BGL).
    IsoDash,
    /// `YYYY/M/D H:MM:SS` (NGINX and its unpadded variant).
    YmdSlash,
    /// `YYYY:MM:DD-HH:MM:SS` (DirectAdmin).
    YmdColon,
    /// `YYYYMMDD-HH:MM:SS[:mmm]` (HealthApp).
    Compact,
    /// `YYMMDD HHMMSS` at line start (HDFS).
    Hdfs,
    /// `DD/Mon/YYYY:…` (Apache), `DD/MM/YYYY …` (UK), `YY/MM/DD …` (Spark).
    DaySlash,
    /// `DD-Mon-YYYY …` (Bind, RFC 850), `M-D-YYYY …` (Gravwell), `MM-DD …` (Android).
    DayDash,
    /// `DD Mon YYYY …` (RFC 1123) and `DD Mon YY …` (RFC 822).
    DaySpace,
    /// `MM.DD HH:MM:SS` (Proxifier).
    MonthDot,
    /// Epoch float seconds, seconds, ms, ns or LDAP FILETIME at line start.
    EpochStart,
    /// Ten-digit epoch seconds as a blank-delimited token inside the line.
    EpochInline,
}

/// Calendar fields of a timestamp, before the year and zone are resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Civil {
    /// `None` when the layout has no year.
    pub year: Option<i32>,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub min: u8,
    /// 0..=60 (a leap second rolls over into the next minute).
    pub sec: u8,
    pub nanos: u32,
    /// Explicit UTC offset in seconds east; `None` for zone-less text.
    pub zone: Option<i32>,
}

/// What a hit denotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// Wall-clock fields.
    Civil(Civil),
    /// An absolute instant in ns since the Unix epoch.
    Instant(i64),
}

/// One timestamp found in a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hit {
    pub family: Family,
    /// Candidate position where the family matched.
    pub pos: usize,
    /// Span start (may be before `pos` when a weekday name precedes the date).
    pub start: usize,
    /// Span end (exclusive).
    pub end: usize,
    pub value: Value,
}

/// A line prepared for scanning.
pub(crate) struct Line<'a> {
    pub s: &'a [u8],
    /// Index of the first non-blank byte ("line start" for the epoch and HDFS layouts).
    pub ws_end: usize,
}

impl<'a> Line<'a> {
    pub(crate) fn new(s: &'a [u8]) -> Self {
        let ws_end = s.iter().take(SCAN_LIMIT).take_while(|b| is_blank(**b)).count();
        Line { s, ws_end }
    }

    /// Exclusive upper bound of candidate start positions.
    pub(crate) fn bound(&self) -> usize {
        self.s.len().min(SCAN_LIMIT)
    }
}

const C_DIGIT: u8 = 1;
const C_MONTH: u8 = 2;
const C_ALPHA: u8 = 4;

const fn build_classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        if b.is_ascii_digit() {
            t[i] = C_DIGIT;
        } else if b.is_ascii_alphabetic() {
            t[i] = C_ALPHA;
            if matches!(b, b'J' | b'F' | b'M' | b'A' | b'S' | b'O' | b'N' | b'D') {
                t[i] |= C_MONTH;
            }
        }
        i += 1;
    }
    t
}

static CLASS: [u8; 256] = build_classes();

#[inline]
fn class(b: u8) -> u8 {
    CLASS[b as usize]
}

/// Byte at `i`, or 0 past the end (0 never matches any expected character).
#[inline]
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

#[inline]
fn is_digit(b: u8) -> bool {
    b.is_ascii_digit()
}

#[inline]
fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Length of the digit run at `i`, capped at `MAX_RUN + 1`.
#[inline]
fn run_len(s: &[u8], i: usize) -> usize {
    let mut n = 0;
    while n <= MAX_RUN && is_digit(at(s, i + n)) {
        n += 1;
    }
    n
}

/// A whole digit run of `min..=max` digits at `i` (the run must end there). Returns
/// `(value, end)`.
#[inline]
fn num(s: &[u8], i: usize, min: usize, max: usize) -> Option<(u32, usize)> {
    let mut v: u32 = 0;
    let mut n = 0;
    while n <= max {
        let b = at(s, i + n);
        if !is_digit(b) {
            break;
        }
        v = v.wrapping_mul(10).wrapping_add(u32::from(b - b'0'));
        n += 1;
    }
    if n < min || n > max {
        return None;
    }
    Some((v, i + n))
}

/// Exactly two digits at `i`, whatever follows.
#[inline]
fn two(s: &[u8], i: usize) -> Option<u32> {
    let (a, b) = (at(s, i), at(s, i + 1));
    if is_digit(a) && is_digit(b) {
        Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
    } else {
        None
    }
}

/// Skips 1..=MAX_BLANKS blanks; `None` when there is none.
#[inline]
fn blanks(s: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    while j - i < MAX_BLANKS && is_blank(at(s, j)) {
        j += 1;
    }
    if j == i { None } else { Some(j) }
}

#[inline]
fn expect(s: &[u8], i: usize, c: u8) -> Option<usize> {
    if at(s, i) == c { Some(i + 1) } else { None }
}

/// Two-digit year rule (Go's): 69..=99 → 19xx, else 20xx.
#[inline]
fn two_digit_year(v: u32) -> i32 {
    let v = v as i32;
    if v >= 69 { 1900 + v } else { 2000 + v }
}

/// A four-digit year in the accepted range.
#[inline]
fn year4(v: u32) -> Option<i32> {
    let y = v as i32;
    if (YEAR_MIN..=YEAR_MAX).contains(&y) { Some(y) } else { None }
}

pub(crate) fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub(crate) fn days_in_month(y: i32, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Month 1..=12 and a day valid for it (year-less dates allow Feb 29).
pub(crate) fn valid_date(year: Option<i32>, month: u32, day: u32) -> bool {
    if !(1..=12).contains(&month) || day == 0 {
        return false;
    }
    let max = match year {
        Some(y) => days_in_month(y, month as u8),
        None => days_in_month(2000, month as u8),
    };
    day <= u32::from(max)
}

/// Wall-clock seconds (as if UTC) of the given fields.
pub(crate) fn wall_secs(y: i32, m: u8, d: u8, h: u8, mi: u8, s: u8) -> i64 {
    crate::model::days_from_civil(y, m, d) * 86_400
        + i64::from(h) * 3600
        + i64::from(mi) * 60
        + i64::from(s)
}

const MONTHS: [&[u8]; 12] = [
    b"January",
    b"February",
    b"March",
    b"April",
    b"May",
    b"June",
    b"July",
    b"August",
    b"September",
    b"October",
    b"November",
    b"December",
];

const WEEKDAYS: [&[u8; 3]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];

/// An English month name (`Jan`, `January`, `Sept`) at `i`, not followed by a letter.
#[inline]
fn month_name(s: &[u8], i: usize) -> Option<(u8, usize)> {
    let m: u8 = match (at(s, i), at(s, i + 1), at(s, i + 2)) {
        (b'J', b'a', b'n') => 1,
        (b'F', b'e', b'b') => 2,
        (b'M', b'a', b'r') => 3,
        (b'A', b'p', b'r') => 4,
        (b'M', b'a', b'y') => 5,
        (b'J', b'u', b'n') => 6,
        (b'J', b'u', b'l') => 7,
        (b'A', b'u', b'g') => 8,
        (b'S', b'e', b'p') => 9,
        (b'O', b'c', b't') => 10,
        (b'N', b'o', b'v') => 11,
        (b'D', b'e', b'c') => 12,
        _ => return None,
    };
    let mut j = i + 3;
    if at(s, j).is_ascii_alphabetic() {
        let full = MONTHS[usize::from(m - 1)];
        if s.get(i..i + full.len()) == Some(full) {
            j = i + full.len();
        } else if m == 9 && at(s, j) == b't' {
            j += 1;
        } else {
            return None;
        }
        if at(s, j).is_ascii_alphabetic() {
            return None;
        }
    }
    Some((m, j))
}

/// Start of a weekday prefix (`Sun `, `Sun, `) that ends right at `pos`, else `pos`.
fn weekday_start(s: &[u8], pos: usize) -> usize {
    for gap in [1usize, 2] {
        let Some(w) = pos.checked_sub(3 + gap) else { continue };
        let sep_ok = if gap == 1 {
            at(s, pos - 1) == b' '
        } else {
            at(s, pos - 2) == b',' && at(s, pos - 1) == b' '
        };
        if !sep_ok {
            continue;
        }
        let Some(name) = s.get(w..w + 3) else { continue };
        if WEEKDAYS.iter().any(|d| d.as_slice() == name)
            && (w == 0 || !at(s, w - 1).is_ascii_alphabetic())
        {
            return w;
        }
    }
    pos
}

/// Time of day fields.
#[derive(Clone, Copy)]
struct Tod {
    h: u8,
    mi: u8,
    sec: u8,
    nanos: u32,
    end: usize,
}

/// `H[H]:MM[:SS][(.|,)frac]`. `hmin` is the minimum number of hour digits; seconds may be
/// omitted only when `sec_optional`.
#[inline]
fn time(s: &[u8], i: usize, hmin: usize, sec_optional: bool) -> Option<Tod> {
    let (h, j) = num(s, i, hmin, 2)?;
    let j = expect(s, j, b':')?;
    let (mi, j) = num(s, j, 2, 2)?;
    let (sec, j) = if at(s, j) == b':' {
        num(s, j + 1, 2, 2)?
    } else if sec_optional {
        (0, j)
    } else {
        return None;
    };
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let (nanos, end) = frac(s, j, b'.', b',');
    Some(Tod { h: h as u8, mi: mi as u8, sec: sec as u8, nanos, end })
}

/// `HH<sep>MM<sep>SS[.frac]` (BGL uses `.` as the separator).
#[inline]
fn time_sep(s: &[u8], i: usize, sep: u8) -> Option<Tod> {
    let (h, j) = num(s, i, 2, 2)?;
    let j = expect(s, j, sep)?;
    let (mi, j) = num(s, j, 2, 2)?;
    let j = expect(s, j, sep)?;
    let (sec, j) = num(s, j, 2, 2)?;
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let (nanos, end) = frac(s, j, b'.', b',');
    Some(Tod { h: h as u8, mi: mi as u8, sec: sec as u8, nanos, end })
}

/// An optional fraction introduced by `a` or `b` and at least one digit. Returns
/// `(nanoseconds, end)`; `end == i` when there is none.
#[inline]
fn frac(s: &[u8], i: usize, a: u8, b: u8) -> (u32, usize) {
    let c = at(s, i);
    if (c != a && c != b) || !is_digit(at(s, i + 1)) {
        return (0, i);
    }
    let mut j = i + 1;
    let mut v: u32 = 0;
    let mut n = 0;
    while n < MAX_FRAC && is_digit(at(s, j)) {
        if n < 9 {
            v = v * 10 + u32::from(at(s, j) - b'0');
        }
        n += 1;
        j += 1;
    }
    while n < 9 {
        v *= 10;
        n += 1;
    }
    (v, j)
}

/// Known zone abbreviations and their offsets in seconds east of UTC.
const ZONES: [(&[u8], i32); 21] = [
    (b"UTC", 0),
    (b"GMT", 0),
    (b"UT", 0),
    (b"Z", 0),
    (b"EST", -5 * 3600),
    (b"EDT", -4 * 3600),
    (b"CST", -6 * 3600),
    (b"CDT", -5 * 3600),
    (b"MST", -7 * 3600),
    (b"MDT", -6 * 3600),
    (b"PST", -8 * 3600),
    (b"PDT", -7 * 3600),
    (b"AKST", -9 * 3600),
    (b"AKDT", -8 * 3600),
    (b"HST", -10 * 3600),
    (b"JST", 9 * 3600),
    (b"KST", 9 * 3600),
    (b"CET", 3600),
    (b"CEST", 2 * 3600),
    (b"EET", 2 * 3600),
    (b"EEST", 3 * 3600),
];

/// Length of the run of capital letters at `i` (capped at 6).
#[inline]
fn caps_len(s: &[u8], i: usize) -> usize {
    let mut n = 0;
    while n < 6 && at(s, i + n).is_ascii_uppercase() {
        n += 1;
    }
    n
}

/// A known zone abbreviation at `i`, not followed by a letter or digit.
fn zone_abbrev(s: &[u8], i: usize) -> Option<(i32, usize)> {
    let n = caps_len(s, i);
    if n == 0 || n > 4 || at(s, i + n).is_ascii_alphanumeric() {
        return None;
    }
    let name = s.get(i..i + n)?;
    ZONES.iter().find(|(z, _)| *z == name).map(|(_, off)| (*off, i + n))
}

/// `±hh:mm`, `±hhmm`, or (when `short_ok`) `±hh`, not followed by a digit.
fn zone_numeric(s: &[u8], i: usize, short_ok: bool) -> Option<(i32, usize)> {
    let sign = match at(s, i) {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hh = two(s, i + 1)?;
    let (mm, end) = if at(s, i + 3) == b':' {
        (two(s, i + 4)?, i + 6)
    } else if let Some(mm) = two(s, i + 3) {
        (mm, i + 5)
    } else if short_ok && at(s, i + 3) != b':' {
        (0, i + 3)
    } else {
        return None;
    };
    if is_digit(at(s, end)) || hh > 23 || mm > 59 {
        return None;
    }
    Some((sign * (hh as i32 * 3600 + mm as i32 * 60), end))
}

/// An optional zone right after a time: `Z`, `±hh[:mm]`, or one blank and then `±hhmm`,
/// `±hh:mm` or a known abbreviation. Returns `(offset, end)`.
#[inline]
fn zone(s: &[u8], i: usize) -> (Option<i32>, usize) {
    let r = match at(s, i) {
        b'Z' if !at(s, i + 1).is_ascii_alphanumeric() => Some((0, i + 1)),
        b'+' | b'-' => zone_numeric(s, i, true),
        b' ' => match at(s, i + 1) {
            b'+' | b'-' => zone_numeric(s, i + 1, false),
            b'A'..=b'Z' => zone_abbrev(s, i + 1),
            _ => None,
        },
        _ => None,
    };
    match r {
        Some((off, end)) => (Some(off), end),
        None => (None, i),
    }
}

fn civil(year: Option<i32>, month: u32, day: u32, t: Tod, zone: Option<i32>) -> Option<Civil> {
    if !valid_date(year, month, day) {
        return None;
    }
    Some(Civil {
        year,
        month: month as u8,
        day: day as u8,
        hour: t.h,
        min: t.mi,
        sec: t.sec,
        nanos: t.nanos,
        zone,
    })
}

fn hit(family: Family, pos: usize, end: usize, c: Civil) -> Hit {
    Hit { family, pos, start: pos, end, value: Value::Civil(c) }
}

/// Time, optional zone, then the civil hit.
#[inline]
fn finish_time(
    family: Family,
    s: &[u8],
    pos: usize,
    year: Option<i32>,
    month: u32,
    day: u32,
    t: Tod,
) -> Option<Hit> {
    let (z, end) = zone(s, t.end);
    Some(hit(family, pos, end, civil(year, month, day, t, z)?))
}

/// Is `i` a position where `family` may start?
pub(crate) fn is_candidate(s: &[u8], i: usize, family: Family) -> bool {
    let prev = if i == 0 { 0 } else { at(s, i - 1) };
    match family {
        Family::Month => class(at(s, i)) & C_MONTH != 0 && class(prev) & C_ALPHA == 0,
        _ => is_digit(at(s, i)) && !is_digit(prev),
    }
}

/// Runs one family at `pos` (which must satisfy [`is_candidate`]).
pub(crate) fn try_family(line: &Line<'_>, family: Family, pos: usize) -> Option<Hit> {
    let s = line.s;
    let h = match family {
        Family::Month => month_first(s, pos),
        Family::IsoDash => iso_dash(s, pos),
        Family::YmdSlash => ymd_slash(s, pos),
        Family::YmdColon => ymd_colon(s, pos),
        Family::Compact => compact(s, pos),
        Family::Hdfs => hdfs(line, pos),
        Family::DaySlash => day_slash(s, pos),
        Family::DayDash => day_dash(s, pos),
        Family::DaySpace => day_space(s, pos),
        Family::MonthDot => month_dot(s, pos),
        Family::EpochStart => epoch_start(line, pos),
        Family::EpochInline => epoch_inline(s, pos),
    }?;
    Some(with_weekday(s, h))
}

fn with_weekday(s: &[u8], mut h: Hit) -> Hit {
    if matches!(h.family, Family::Month | Family::DaySpace) {
        h.start = weekday_start(s, h.pos);
    }
    h
}

/// Digit-run dispatch at a candidate position.
#[inline]
fn at_digit(line: &Line<'_>, i: usize, n: usize) -> Option<Hit> {
    let s = line.s;
    let next = at(s, i + n);
    let h = match (n, next) {
        (4, b'-') => iso_dash(s, i),
        (4, b'/') => ymd_slash(s, i),
        (4, b':') => ymd_colon(s, i),
        (8, b'-') => compact(s, i),
        (1 | 2, b'/') => day_slash(s, i),
        (1 | 2, b'-') => day_dash(s, i),
        (1 | 2, b' ') => day_space(s, i),
        (2, b'.') => month_dot(s, i),
        (6, b' ') if i == line.ws_end => hdfs(line, i),
        (9 | 12 | 13 | 18 | 19, _) if i == line.ws_end => epoch_start(line, i),
        (10, _) if i == line.ws_end => epoch_start(line, i).or_else(|| epoch_inline(s, i)),
        (10, _) => epoch_inline(s, i),
        _ => None,
    }?;
    Some(with_weekday(s, h))
}

/// Leftmost hit whose candidate position lies in `from..to` (`to` is clamped to the scan
/// bound). Positions inside a digit run or a word are not candidates.
pub(crate) fn scan(line: &Line<'_>, from: usize, to: usize) -> Option<Hit> {
    let s = line.s;
    let to = to.min(line.bound());
    let mut i = from;
    while i < to {
        let c = class(at(s, i));
        if c == 0 {
            i += 1;
            continue;
        }
        let prev = if i == 0 { 0 } else { class(at(s, i - 1)) };
        if c & C_DIGIT != 0 {
            if prev & C_DIGIT != 0 {
                i += 1;
                continue;
            }
            let n = run_len(s, i);
            if let Some(h) = at_digit(line, i, n) {
                return Some(h);
            }
            i += n;
        } else {
            if c & C_MONTH != 0
                && prev & C_ALPHA == 0
                && let Some(h) = month_first(s, i)
            {
                return Some(with_weekday(s, h));
            }
            // Skip the rest of the word: no candidate starts inside it.
            i += 1;
            while i < to && class(at(s, i)) & C_ALPHA != 0 {
                i += 1;
            }
        }
    }
    None
}

/// `Jan _2 15:04:05[.frac][ zone][ 2006]`, `Jan 02 2006 15:04:05`, `Jan 2, 2006 15:04:05`.
fn month_first(s: &[u8], pos: usize) -> Option<Hit> {
    let (month, j) = month_name(s, pos)?;
    let j = blanks(s, j)?;
    let (day, j) = num(s, j, 1, 2)?;
    if at(s, j) == b',' {
        // Jan 2, 2006 15:04:05
        let k = blanks(s, j + 1)?;
        let (y, k) = num(s, k, 4, 4)?;
        let year = year4(y)?;
        let k = blanks(s, k)?;
        let t = time(s, k, 1, false)?;
        return finish_time(Family::Month, s, pos, Some(year), u32::from(month), day, t);
    }
    let j = blanks(s, j)?;
    if run_len(s, j) == 4 {
        // Jan 02 2006 15:04:05
        let (y, k) = num(s, j, 4, 4)?;
        let year = year4(y)?;
        let k = blanks(s, k)?;
        let t = time(s, k, 1, false)?;
        return finish_time(Family::Month, s, pos, Some(year), u32::from(month), day, t);
    }
    let t = time(s, j, 1, false)?;
    let (mut z, mut end) = zone(s, t.end);
    if z.is_none() && at(s, end) == b' ' {
        // Unix date with an unknown zone abbreviation before the year: keep it zone-less.
        let n = caps_len(s, end + 1);
        if (3..=5).contains(&n) && at(s, end + 1 + n) == b' ' && run_len(s, end + 2 + n) == 4 {
            end = end + 1 + n;
            z = None;
        }
    }
    let mut year = None;
    if at(s, end) == b' '
        && let Some((y, k)) = num(s, end + 1, 4, 4)
        && let Some(y) = year4(y)
        && !is_digit(at(s, k))
    {
        year = Some(y);
        end = k;
    } else if end != t.end && z.is_none() {
        // An unknown abbreviation not followed by a year is not part of the timestamp.
        end = t.end;
    }
    let c = civil(year, u32::from(month), day, t, z)?;
    Some(hit(Family::Month, pos, end, c))
}

/// `YYYY-M-D` followed by `T` + time, blanks + time, or `-HH.MM.SS` (BGL).
fn iso_dash(s: &[u8], pos: usize) -> Option<Hit> {
    let (y, j) = num(s, pos, 4, 4)?;
    let year = year4(y)?;
    let j = expect(s, j, b'-')?;
    let (m, j) = num(s, j, 1, 2)?;
    let j = expect(s, j, b'-')?;
    let (d, j) = num(s, j, 1, 2)?;
    let t = match at(s, j) {
        b'T' => time(s, j + 1, 2, false)?,
        b' ' | b'\t' => time(s, blanks(s, j)?, 1, false)?,
        b'-' => {
            let sep = at(s, j + 3);
            if sep != b'.' && sep != b':' {
                return None;
            }
            time_sep(s, j + 1, sep)?
        }
        _ => return None,
    };
    finish_time(Family::IsoDash, s, pos, Some(year), m, d, t)
}

/// `YYYY/M/D H:MM:SS[.frac]` (hour 0-23).
fn ymd_slash(s: &[u8], pos: usize) -> Option<Hit> {
    let (y, j) = num(s, pos, 4, 4)?;
    let year = year4(y)?;
    let j = expect(s, j, b'/')?;
    let (m, j) = num(s, j, 1, 2)?;
    let j = expect(s, j, b'/')?;
    let (d, j) = num(s, j, 1, 2)?;
    let t = time(s, blanks(s, j)?, 1, false)?;
    finish_time(Family::YmdSlash, s, pos, Some(year), m, d, t)
}

/// `YYYY:MM:DD-HH:MM:SS` (DirectAdmin).
fn ymd_colon(s: &[u8], pos: usize) -> Option<Hit> {
    let (y, j) = num(s, pos, 4, 4)?;
    let year = year4(y)?;
    let j = expect(s, j, b':')?;
    let (m, j) = num(s, j, 2, 2)?;
    let j = expect(s, j, b':')?;
    let (d, j) = num(s, j, 2, 2)?;
    let j = expect(s, j, b'-')?;
    let t = time(s, j, 2, false)?;
    finish_time(Family::YmdColon, s, pos, Some(year), m, d, t)
}

/// `YYYYMMDD-H:M:S[:mmm]` (HealthApp: fields may be unpadded, and the last one is an integer
/// count of milliseconds; a `.frac` is accepted too).
fn compact(s: &[u8], pos: usize) -> Option<Hit> {
    let (_, j) = num(s, pos, 8, 8)?;
    let year = year4(two(s, pos)? * 100 + two(s, pos + 2)?)?;
    let (m, d) = (two(s, pos + 4)?, two(s, pos + 6)?);
    // HealthApp writes every time field unpadded: `22:16:0:119`.
    let j = expect(s, j, b'-')?;
    let (h, j) = num(s, j, 1, 2)?;
    let j = expect(s, j, b':')?;
    let (mi, j) = num(s, j, 1, 2)?;
    let j = expect(s, j, b':')?;
    let (sec, j) = num(s, j, 1, 2)?;
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let (nanos, end) = match at(s, j) {
        b':' => match num(s, j + 1, 1, 3) {
            Some((ms, k)) => (ms * 1_000_000, k),
            None => (0, j),
        },
        _ => frac(s, j, b'.', b','),
    };
    let t = Tod { h: h as u8, mi: mi as u8, sec: sec as u8, nanos, end };
    finish_time(Family::Compact, s, pos, Some(year), m, d, t)
}

/// `YYMMDD HHMMSS` at line start (HDFS).
fn hdfs(line: &Line<'_>, pos: usize) -> Option<Hit> {
    let s = line.s;
    if pos != line.ws_end {
        return None;
    }
    let (_, j) = num(s, pos, 6, 6)?;
    let j = expect(s, j, b' ')?;
    let (_, end) = num(s, j, 6, 6)?;
    if at(s, end).is_ascii_alphanumeric() {
        return None;
    }
    let year = two_digit_year(two(s, pos)?);
    let (m, d) = (two(s, pos + 2)?, two(s, pos + 4)?);
    let (h, mi, sec) = (two(s, j)?, two(s, j + 2)?, two(s, j + 4)?);
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let t = Tod { h: h as u8, mi: mi as u8, sec: sec as u8, nanos: 0, end };
    Some(hit(Family::Hdfs, pos, end, civil(Some(year), m, d, t, None)?))
}

/// `D/Mon/YYYY:HH:MM:SS[ ±hhmm]` (Apache), `DD/MM/YYYY H:MM:SS[,frac]` (UK),
/// `YY/MM/DD H:MM:SS` (Spark).
fn day_slash(s: &[u8], pos: usize) -> Option<Hit> {
    let (a, j) = num(s, pos, 1, 2)?;
    let j = expect(s, j, b'/')?;
    if let Some((month, k)) = month_name(s, j) {
        let k = expect(s, k, b'/')?;
        let (y, k) = num(s, k, 4, 4)?;
        let year = year4(y)?;
        let k = expect(s, k, b':')?;
        let t = time(s, k, 2, false)?;
        return finish_time(Family::DaySlash, s, pos, Some(year), u32::from(month), a, t);
    }
    let (b, k) = num(s, j, 1, 2)?;
    let k = expect(s, k, b'/')?;
    let (c, k2) = num(s, k, 2, 4)?;
    let (year, m, d) = match k2 - k {
        4 => (year4(c)?, b, a),
        2 if j - pos == 3 && k - j == 3 => (two_digit_year(a), b, c),
        _ => return None,
    };
    let t = time(s, blanks(s, k2)?, 1, false)?;
    finish_time(Family::DaySlash, s, pos, Some(year), m, d, t)
}

/// `DD-Mon-YYYY HH:MM:SS[.frac]` (Bind), `DD-Mon-YY HH:MM:SS MST` (RFC 850),
/// `M-D-YYYY H:MM:SS[.frac]` (Gravwell), `MM-DD HH:MM:SS[.frac]` (Android, no year).
fn day_dash(s: &[u8], pos: usize) -> Option<Hit> {
    let (a, j) = num(s, pos, 1, 2)?;
    let j = expect(s, j, b'-')?;
    if let Some((month, k)) = month_name(s, j) {
        let k = expect(s, k, b'-')?;
        let (y, k2) = num(s, k, 2, 4)?;
        let year = match k2 - k {
            4 => year4(y)?,
            2 => two_digit_year(y),
            _ => return None,
        };
        let t = time(s, blanks(s, k2)?, 2, false)?;
        return finish_time(Family::DayDash, s, pos, Some(year), u32::from(month), a, t);
    }
    let (b, k) = num(s, j, 1, 2)?;
    match at(s, k) {
        b'-' => {
            let (y, k) = num(s, k + 1, 4, 4)?;
            let year = year4(y)?;
            let t = time(s, blanks(s, k)?, 1, false)?;
            finish_time(Family::DayDash, s, pos, Some(year), a, b, t)
        }
        b' ' if j - pos == 3 && k - j == 2 => {
            let prev = if pos == 0 { 0 } else { at(s, pos - 1) };
            if matches!(prev, b'-' | b'/' | b'.' | b':') {
                return None;
            }
            let t = time(s, blanks(s, k)?, 2, false)?;
            finish_time(Family::DayDash, s, pos, None, a, b, t)
        }
        _ => None,
    }
}

/// `D Mon YYYY HH:MM[:SS] zone` (RFC 1123) and `D Mon YY HH:MM[:SS] zone` (RFC 822).
fn day_space(s: &[u8], pos: usize) -> Option<Hit> {
    let (d, j) = num(s, pos, 1, 2)?;
    let j = expect(s, j, b' ')?;
    let (month, k) = month_name(s, j)?;
    let k = expect(s, k, b' ')?;
    let (y, k2) = num(s, k, 2, 4)?;
    let year = match k2 - k {
        4 => year4(y)?,
        2 => two_digit_year(y),
        _ => return None,
    };
    let t = time(s, expect(s, k2, b' ')?, 2, true)?;
    finish_time(Family::DaySpace, s, pos, Some(year), u32::from(month), d, t)
}

/// `MM.DD HH:MM:SS[.frac]` (Proxifier, no year).
fn month_dot(s: &[u8], pos: usize) -> Option<Hit> {
    if pos > 0 && matches!(at(s, pos - 1), b'.' | b'-' | b'/' | b':') {
        return None;
    }
    let (m, j) = num(s, pos, 2, 2)?;
    let j = expect(s, j, b'.')?;
    let (d, j) = num(s, j, 2, 2)?;
    let t = time(s, blanks(s, j)?, 2, false)?;
    finish_time(Family::MonthDot, s, pos, None, m, d, t)
}

/// Parses a digit run of at most 19 digits as u64.
fn run_value(s: &[u8], pos: usize, n: usize) -> Option<u64> {
    let mut v: u64 = 0;
    for k in 0..n {
        let b = at(s, pos + k);
        if !is_digit(b) {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// Epoch numbers at line start: `S{9,10}.frac` (float seconds), `S{9,10}` seconds, 12-13 digits
/// ms, 18 digits LDAP FILETIME (100 ns ticks since 1601), 19 digits ns. The number must not be
/// followed by a letter or digit.
fn epoch_start(line: &Line<'_>, pos: usize) -> Option<Hit> {
    let s = line.s;
    if pos != line.ws_end {
        return None;
    }
    let n = run_len(s, pos);
    let v = run_value(s, pos, n.min(19))?;
    let mut end = pos + n;
    let ns: i64 = match n {
        9 | 10 => {
            let (nanos, fend) = frac(s, end, b'.', b'.');
            end = fend;
            (v as i64).checked_mul(1_000_000_000)?.checked_add(i64::from(nanos))?
        }
        12 | 13 => (v as i64).checked_mul(1_000_000)?,
        18 => {
            let secs = (v / 10_000_000) as i64 - FILETIME_OFFSET;
            let sub = (v % 10_000_000) as i64 * 100;
            secs.checked_mul(1_000_000_000)?.checked_add(sub)?
        }
        19 => i64::try_from(v).ok()?,
        _ => return None,
    };
    if at(s, end).is_ascii_alphanumeric() {
        return None;
    }
    Some(Hit { family: Family::EpochStart, pos, start: pos, end, value: Value::Instant(ns) })
}

/// A blank-delimited ten-digit token inside the line with a plausible value.
fn epoch_inline(s: &[u8], pos: usize) -> Option<Hit> {
    if pos > 0 && !is_blank(at(s, pos - 1)) {
        return None;
    }
    let end = pos + 10;
    if run_len(s, pos) != 10 || (end < s.len() && !is_blank(at(s, end))) {
        return None;
    }
    let v = run_value(s, pos, 10)? as i64;
    if !(EPOCH_INLINE_MIN..=EPOCH_INLINE_MAX).contains(&v) {
        return None;
    }
    Some(Hit {
        family: Family::EpochInline,
        pos,
        start: pos,
        end,
        value: Value::Instant(v * 1_000_000_000),
    })
}
