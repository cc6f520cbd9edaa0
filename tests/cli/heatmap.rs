//! `heatmap` (spec §6.7, §10.2): records per (date, hour) or (weekday, hour), filters, `-t`,
//! local hours in a half-hour zone (the upstream bug), and golden NDJSON.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::util::{Cmd, TestDir, data, days_from_civil, rfc3339_secs, syslog, syslog_records};

/// One `heatmap --ndjson` row (date or weekday mode).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cell {
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    weekday: Option<String>,
    hour: u32,
    count: u64,
}

const WEEKDAYS: [&str; 7] =
    ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

fn cells(dir: &TestDir, args: &[&str]) -> Vec<Cell> {
    let out = dir.cmd("heatmap").arg("--ndjson").args(args).run();
    assert!(out.code == 0 || out.code == 1, "{out:?}");
    out.lines().iter().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Expected cells of records given as Unix seconds (UTC): date mode.
fn by_date(times: impl IntoIterator<Item = i64>) -> Vec<Cell> {
    let mut m: BTreeMap<(String, u32), u64> = BTreeMap::new();
    for t in times {
        let rfc = rfc3339_secs(t);
        *m.entry((rfc[..10].to_string(), (t.rem_euclid(86_400) / 3600) as u32)).or_default() += 1;
    }
    m.into_iter()
        .map(|((d, hour), count)| Cell { date: Some(d), weekday: None, hour, count })
        .collect()
}

/// Expected cells: weekday mode (Sunday first).
fn by_weekday(times: impl IntoIterator<Item = i64>) -> Vec<Cell> {
    let mut m: BTreeMap<(usize, u32), u64> = BTreeMap::new();
    for t in times {
        let wd = (t.div_euclid(86_400) + 4).rem_euclid(7) as usize;
        *m.entry((wd, (t.rem_euclid(86_400) / 3600) as u32)).or_default() += 1;
    }
    m.into_iter()
        .map(|((w, hour), count)| Cell {
            date: None,
            weekday: Some(WEEKDAYS[w].to_string()),
            hour,
            count,
        })
        .collect()
}

fn imported() -> TestDir {
    let dir = TestDir::new("heatmap");
    dir.import(&[syslog()]).0.code(0);
    dir
}

/// Spec §10.2: 148 (date, hour) cells over 44 dates; the busiest date, 2005-07-17, has 190.
#[test]
fn syslog_heatmap_spec_vector() {
    let dir = imported();
    let recs = syslog_records();
    let got = cells(&dir, &[]);
    assert_eq!(got, by_date(recs.iter().map(|r| r.0)));
    assert_eq!(got.len(), 148);
    let mut per_day: BTreeMap<String, u64> = BTreeMap::new();
    for c in &got {
        *per_day.entry(c.date.clone().unwrap()).or_default() += c.count;
    }
    assert_eq!(per_day.len(), 44);
    let top = per_day.iter().max_by_key(|(_, n)| **n).unwrap();
    assert_eq!((top.0.as_str(), *top.1), ("2005-07-17", 190));
    assert_eq!(got.iter().map(|c| c.count).sum::<u64>(), 2000);
    // Weekday mode.
    let week = cells(&dir, &["-w"]);
    assert_eq!(week, by_weekday(recs.iter().map(|r| r.0)));
    assert!(week.len() <= 7 * 24);
    // 2005-07-17 was a Sunday.
    assert_eq!((days_from_civil(2005, 7, 17) + 4).rem_euclid(7), 0);
    // Plain output: date, hour, count.
    let out = dir.cmd("heatmap").run();
    out.code(0);
    let first = &got[0];
    assert_eq!(
        out.lines()[0],
        format!("{}\t{}\t{}", first.date.as_deref().unwrap(), first.hour, first.count)
    );
    let out = dir.cmd("heatmap").arg("-w").run();
    assert!(out.lines()[0].starts_with("Sunday\t"), "{out:?}");
}

#[test]
fn filters_and_range() {
    let dir = imported();
    let recs = syslog_records();
    let kernel = recs.iter().filter(|r| r.1.contains("kernel")).map(|r| r.0);
    assert_eq!(cells(&dir, &["kernel"]), by_date(kernel));
    let not_sshd = recs.iter().filter(|r| !r.1.contains("sshd")).map(|r| r.0);
    assert_eq!(cells(&dir, &["-w", "^sshd"]), by_weekday(not_sshd));
    // -t: 2005-07-09 00:00 .. 2005-07-10 12:30 (inclusive), UTC.
    let lo = days_from_civil(2005, 7, 9) * 86_400;
    let hi = days_from_civil(2005, 7, 10) * 86_400 + 12 * 3600 + 30 * 60;
    let inside = recs.iter().filter(|r| r.0 >= lo && r.0 <= hi).map(|r| r.0);
    let got = cells(&dir, &["-t", "2005/7/9,2005/7/10 12:30"]);
    assert!(!got.is_empty());
    assert_eq!(got, by_date(inside));
    let out = dir.cmd("heatmap").arg("zzqqxx").run();
    out.code(1);
    assert!(out.stdout.is_empty());
    let out = dir.cmd("heatmap").args(&["-r", "("]).run();
    out.code(2);
    assert!(out.stderr.contains("\"(\""), "{out:?}");
}

/// In a +05:30 zone a record at 10:45Z is 16:15 local: hour 16 (upstream cut UTC hours
/// first and showed 15).
#[test]
fn half_hour_zone_uses_local_hours() {
    let dir = TestDir::new("heatmap-ist");
    let f = dir
        .write("a.log", "2024-05-01T10:45:00Z a\n2024-05-01T10:15:00Z b\n2024-05-01T18:40:00Z c\n");
    dir.import(&[&f]).0.code(0);
    let run = |week: bool| -> Vec<Cell> {
        let mut c = Cmd::bare();
        c.env("TZ", "Asia/Kolkata").arg("-d").arg(dir.store()).arg("heatmap").arg("--ndjson");
        if week {
            c.arg("-w");
        }
        let out = c.run();
        out.code(0);
        out.lines().iter().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let cell = |d: &str, hour, count| Cell { date: Some(d.into()), weekday: None, hour, count };
    // 10:15Z = 15:45, 10:45Z = 16:15, 18:40Z = 00:10 the next day.
    assert_eq!(
        run(false),
        [cell("2024-05-01", 15, 1), cell("2024-05-01", 16, 1), cell("2024-05-02", 0, 1)]
    );
    let wd = |w: &str, hour, count| Cell { date: None, weekday: Some(w.into()), hour, count };
    assert_eq!(run(true), [wd("Wednesday", 15, 1), wd("Wednesday", 16, 1), wd("Thursday", 0, 1)]);
    // And with --utc: UTC hours.
    assert_eq!(cells(&dir, &[]), by_date([1_714_560_300, 1_714_558_500, 1_714_588_800]));
}

#[test]
fn loghub_heatmap_ndjson_snapshots() {
    for (name, rel, args) in [
        // Corpora with years in their timestamps (year-less ones depend on the file's mtime).
        ("zookeeper_heatmap_ndjson", "loghub/Zookeeper/Zookeeper_2k.log", &[][..]),
        ("apache_heatmap_week_ndjson", "loghub/Apache/Apache_2k.log", &["-w"][..]),
    ] {
        let dir = TestDir::new(name);
        dir.import(&[data(rel)]).0.code(0);
        let out = dir.cmd("heatmap").arg("--ndjson").args(args).run();
        out.code(0);
        let total: u64 =
            out.lines().iter().map(|l| serde_json::from_str::<Cell>(l).unwrap().count).sum();
        assert_eq!(total, 2000, "{name}");
        insta::assert_snapshot!(name, out.text());
    }
}
