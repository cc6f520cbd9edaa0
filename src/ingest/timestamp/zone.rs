//! Local-zone offsets for zone-less wall-clock times, with a per-hour cache.
//!
//! Converting through `chrono::Local` costs far more than parsing a line, so the offset is
//! resolved once per wall-clock hour and cached (an hour is cached only when its first and last
//! second resolve to the same offset, so transitions inside an hour are handled exactly).
//! Ambiguous wall-clock times (a DST fall-back) take the earlier instant; nonexistent ones (a
//! spring-forward gap) are shifted forward by the gap, i.e. read with the offset in force just
//! before the gap.

use chrono::{DateTime, Duration, Local, LocalResult, Offset, TimeZone};

/// How a wall-clock time maps to an offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// Exactly one instant.
    Single(i32),
    /// Two instants: the offset that gives the earlier one.
    Ambiguous(i32),
    /// No instant: the offset in force before the gap.
    Gap(i32),
}

impl Resolved {
    fn offset(self) -> i32 {
        match self {
            Resolved::Single(o) | Resolved::Ambiguous(o) | Resolved::Gap(o) => o,
        }
    }
}

/// A simple two-offset zone with one spring and one fall transition (tests only).
#[cfg(test)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct ToyZone {
    /// Standard offset, seconds east.
    pub std: i32,
    /// Daylight offset, seconds east.
    pub dst: i32,
    /// UTC second at which daylight time starts.
    pub spring: i64,
    /// UTC second at which daylight time ends.
    pub fall: i64,
}

#[cfg(test)]
impl ToyZone {
    fn at_utc(&self, t: i64) -> i32 {
        if (self.spring..self.fall).contains(&t) { self.dst } else { self.std }
    }

    fn lookup(&self, wall: i64) -> Resolved {
        let a = self.at_utc(wall - i64::from(self.std)) == self.std;
        let b = self.at_utc(wall - i64::from(self.dst)) == self.dst;
        match (a, b) {
            (true, true) => Resolved::Ambiguous(self.std.max(self.dst)),
            (true, false) => Resolved::Single(self.std),
            (false, true) => Resolved::Single(self.dst),
            (false, false) => {
                Resolved::Gap(self.at_utc(wall - i64::from(self.std.max(self.dst)) - 1))
            }
        }
    }
}

/// The zone rules that zone-less times are read in.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rules {
    /// `chrono::Local` (TZ / /etc/localtime).
    System,
    /// A fixed toy zone (tests only).
    #[cfg(test)]
    Toy(ToyZone),
}

fn naive(wall: i64) -> Option<chrono::NaiveDateTime> {
    DateTime::from_timestamp(wall, 0).map(|d| d.naive_utc())
}

impl Rules {
    /// Offset (seconds east) in force at the UTC second `t`.
    pub(crate) fn offset_at_utc(&self, t: i64) -> i32 {
        match self {
            Rules::System => {
                naive(t).map_or(0, |n| Local.offset_from_utc_datetime(&n).fix().local_minus_utc())
            }
            #[cfg(test)]
            Rules::Toy(z) => z.at_utc(t),
        }
    }

    /// How the wall-clock second `wall` (seconds as if UTC) maps to an offset.
    pub(crate) fn lookup(&self, wall: i64) -> Resolved {
        match self {
            Rules::System => system_lookup(wall),
            #[cfg(test)]
            Rules::Toy(z) => z.lookup(wall),
        }
    }
}

fn system_lookup(wall: i64) -> Resolved {
    let Some(n) = naive(wall) else { return Resolved::Single(0) };
    match Local.offset_from_local_datetime(&n) {
        LocalResult::Single(o) => Resolved::Single(o.local_minus_utc()),
        LocalResult::Ambiguous(a, b) => {
            Resolved::Ambiguous(a.local_minus_utc().max(b.local_minus_utc()))
        }
        LocalResult::None => {
            // Walk back to the last wall-clock time that exists: its offset is the one before
            // the gap (gaps are at most a day long).
            for hours in 1..=48 {
                let Some(earlier) = n.checked_sub_signed(Duration::hours(hours)) else { break };
                match Local.offset_from_local_datetime(&earlier) {
                    LocalResult::Single(o) => return Resolved::Gap(o.local_minus_utc()),
                    LocalResult::Ambiguous(a, b) => {
                        return Resolved::Gap(a.local_minus_utc().min(b.local_minus_utc()));
                    }
                    LocalResult::None => {}
                }
            }
            Resolved::Gap(0)
        }
    }
}

const SLOTS: usize = 16;

/// Direct-mapped cache of offsets per wall-clock hour.
#[derive(Clone, Debug)]
pub(crate) struct OffsetCache {
    rules: Rules,
    slots: [(i64, i32); SLOTS],
}

impl OffsetCache {
    pub(crate) fn new(rules: Rules) -> Self {
        OffsetCache { rules, slots: [(i64::MIN, 0); SLOTS] }
    }

    /// Offset to subtract from the wall-clock second `wall` to get the UTC second.
    #[inline]
    pub(crate) fn offset_for_wall(&mut self, wall: i64) -> i32 {
        let hour = wall.div_euclid(3600);
        let slot = hour.rem_euclid(SLOTS as i64) as usize;
        if let Some(&(k, off)) = self.slots.get(slot)
            && k == hour
        {
            return off;
        }
        let first = self.rules.lookup(hour * 3600).offset();
        let last = self.rules.lookup(hour * 3600 + 3599).offset();
        if first == last {
            if let Some(e) = self.slots.get_mut(slot) {
                *e = (hour, first);
            }
            first
        } else {
            self.rules.lookup(wall).offset()
        }
    }
}
