//! `delay` (spec §6.6, §10.2): backward steps (mode A) and the lag behind a timestamp inside
//! the text (mode B, `-q P`), order, limit, filters, `-t`, errors and golden NDJSON.
//!
//! Expectations come from the files (times parsed from the line prefixes), not from the
//! program.

use serde::Deserialize;

use crate::util::{DATA, TestDir, data, data_lines, syslog, syslog_records, twtest, unix_secs};

/// One `delay --ndjson` row.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelayRow {
    pub time: String,
    pub delay: f64,
    pub source: String,
    pub line: u64,
    pub text: String,
    #[serde(default)]
    pub text_b64: Option<String>,
}

/// `delay --ndjson ARGS`, parsed, with the exit code.
fn rows(dir: &TestDir, args: &[&str]) -> (i32, Vec<DelayRow>) {
    let out = dir.cmd("delay").arg("--ndjson").args(args).run();
    assert!(out.code == 0 || out.code == 1, "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    let v = out
        .lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad row {e}: {l}")))
        .collect();
    (out.code, v)
}

/// The NDJSON text with the data directory replaced by `[data]` (for snapshots).
pub fn redacted(text: &str) -> String {
    let dir = std::fs::canonicalize(DATA).unwrap().display().to_string();
    text.replace(&dir, "[data]")
}

fn imported() -> TestDir {
    let dir = TestDir::new("delay");
    dir.import(&[syslog()]).0.code(0);
    dir
}

/// Spec §10.2: exactly 3 rows, each 5.000 s, file lines 1983, 1987 and 1991.
#[test]
fn syslog_delay_spec_vector() {
    let dir = imported();
    let recs = syslog_records();
    // (line number, text) of records earlier than the previous record of the file.
    let want: Vec<(u64, String, i64)> = recs
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[1].0 < w[0].0)
        .map(|(i, w)| (i as u64 + 2, w[1].1.clone(), w[0].0 - w[1].0))
        .collect();
    assert_eq!(want.iter().map(|w| w.0).collect::<Vec<_>>(), [1983, 1987, 1991]);
    let (code, got) = rows(&dir, &[]);
    assert_eq!(code, 0);
    let got3: Vec<(u64, String, i64)> =
        got.iter().map(|r| (r.line, r.text.clone(), r.delay as i64)).collect();
    assert_eq!(got3, want);
    for r in &got {
        assert_eq!(r.delay, 5.0);
        assert_eq!(r.time, "2005-07-27T14:41:54.000000000Z");
        assert_eq!(r.source, syslog().display().to_string());
    }
    // Plain output: time, delay with 3 decimals, text.
    let out = dir.cmd("delay").run();
    out.code(0);
    let lines = out.lines();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0],
        "2005-07-27T14:41:54.000000000Z\t5.000\tJul 27 14:41:54 combo sysctl: kernel.core_uses_pid = 1 "
    );
}

#[test]
fn order_limit_filters_and_range() {
    let dir = TestDir::new("delay-order");
    // a: steps back 2 s (a3) and 7 s (a5); b: one step back of 1 s (b2). Lines interleave.
    let a = dir.write(
        "a.log",
        "2024-01-01 00:00:10 a1\n2024-01-01 00:00:20 a2\n2024-01-01 00:00:18 a3 slow\n\
         2024-01-01 00:00:30 a4\n2024-01-01 00:00:23 a5 slow\n",
    );
    let b = dir.write("b.log", "2024-01-01 00:00:15 b1\n2024-01-01 00:00:14 b2\n");
    dir.import(&[&a, &b]).0.code(0);
    let pick = |v: &[DelayRow]| -> Vec<(String, f64)> {
        v.iter().map(|r| (r.text[20..].to_string(), r.delay)).collect()
    };
    let s = |x: &str, d: f64| (x.to_string(), d);
    let (_, by_delay) = rows(&dir, &[]);
    assert_eq!(pick(&by_delay), [s("a5 slow", 7.0), s("a3 slow", 2.0), s("b2", 1.0)]);
    let (_, by_time) = rows(&dir, &["--sort", "time"]);
    assert_eq!(pick(&by_time), [s("b2", 1.0), s("a3 slow", 2.0), s("a5 slow", 7.0)]);
    assert_eq!(pick(&rows(&dir, &["--limit", "1"]).1), [s("a5 slow", 7.0)]);
    assert_eq!(pick(&rows(&dir, &["--sort", "time", "--limit", "2"]).1)[1], s("a3 slow", 2.0));
    assert_eq!(pick(&rows(&dir, &["slow", "^a5"]).1), [s("a3 slow", 2.0)]);
    assert_eq!(pick(&rows(&dir, &["-r", "b[0-9]"]).1), [s("b2", 1.0)]);
    assert_eq!(pick(&rows(&dir, &["-v", "slow"]).1), [s("b2", 1.0)]);
    assert_eq!(
        pick(&rows(&dir, &["-t", "2024-01-01T00:00:16Z,2024-01-01T00:00:25Z"]).1),
        [s("a5 slow", 7.0), s("a3 slow", 2.0)]
    );
    let (code, none) = rows(&dir, &["zzz"]);
    assert_eq!((code, none.len()), (1, 0));
    let (code, none) = rows(&dir, &["--limit", "0"]);
    assert_eq!((code, none.len()), (1, 0));
}

/// Mode B: the record's time minus the P-th further timestamp of its text.
#[test]
fn time_pos_on_relayed_lines() {
    let dir = TestDir::new("delay-q");
    let f = dir.write(
        "relay.log",
        "2024-05-01T10:00:05Z relay got 2024-05-01T10:00:00Z then 2024-05-01T09:59:00Z\n\
         2024-05-01T10:00:06Z relay got 2024-05-01T10:00:08Z\n\
         2024-05-01T10:00:07Z no second time here\n",
    );
    dir.import(&[&f]).0.code(0);
    let (_, q1) = rows(&dir, &["-q", "1"]);
    let got: Vec<(u64, f64)> = q1.iter().map(|r| (r.line, r.delay)).collect();
    assert_eq!(got, [(1, 5.0), (2, -2.0)]);
    let (_, q2) = rows(&dir, &["-q", "2"]);
    assert_eq!(q2.iter().map(|r| (r.line, r.delay)).collect::<Vec<_>>(), [(1, 65.0)]);
    let (_, t) = rows(&dir, &["-q", "1", "--sort", "time", "--limit", "1"]);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].line, 1);
    let (code, none) = rows(&dir, &["-q", "3"]);
    assert_eq!((code, none.len()), (1, 0));
}

/// Mode B on syslog.log: ftpd lines end with `at Www Mmm dd hh:mm:ss yyyy`; year-less times
/// are read in the record's year (upstream used the current year).
#[test]
fn syslog_time_pos_ftpd() {
    let dir = imported();
    let want: Vec<(u64, i64)> = data_lines("twsla-testlog/syslog.log")
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("ftpd[") && l.contains("connection from"))
        .map(|(i, l)| {
            let head = unix_secs(&crate::util::syslog_time(l, 2005));
            let at = l.rfind(" at ").unwrap();
            let tail = l[at + 4..].trim_end(); // "Fri Jun 17 07:07:00 2005"
            let t2 = unix_secs(&crate::util::syslog_time(&tail[4..], 2005));
            (i as u64 + 1, head - t2)
        })
        .collect();
    assert!(want.len() > 900, "{}", want.len());
    let (_, got) = rows(&dir, &["-q", "1", "--sort", "time", "ftpd[", "connection from"]);
    let mut got: Vec<(u64, i64)> = got.iter().map(|r| (r.line, r.delay as i64)).collect();
    got.sort();
    assert_eq!(got, want);
    assert!(want.iter().any(|w| w.1 == 1));
}

#[test]
fn bad_arguments() {
    let dir = imported();
    for (args, needle) in [
        (&["-q", "x"][..], "x"),
        (&["--limit", "-1"], "-1"),
        (&["--sort", "size"], "size"),
        (&["-r", "("], "\"(\""),
        (&["-t", "garbage"], "\"garbage\""),
    ] {
        let out = dir.cmd("delay").args(args).run();
        out.code(2);
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
        assert!(out.stderr.contains(needle), "{args:?}: {out:?}");
    }
}

twtest!(missing_store_is_an_error, |dir| {
    let out = dir.cmd("delay").run();
    // No store at all: an error naming it.
    out.code(2);
    assert!(out.stderr.contains("store"), "{out:?}");
});

#[test]
fn loghub_delay_ndjson_snapshots() {
    let dir = TestDir::new("delay-apache");
    dir.import(&[data("loghub/Apache/Apache_2k.log")]).0.code(0);
    let out = dir.cmd("delay").arg("--ndjson").run();
    out.code(0);
    assert_eq!(out.lines().len(), 33);
    insta::assert_snapshot!("apache_delay_ndjson", redacted(&out.text()));
    let dir = TestDir::new("delay-bgl");
    dir.import(&[data("loghub/BGL/BGL_2k.log")]).0.code(0);
    let out = dir.cmd("delay").args(&["--ndjson", "-q", "1", "--limit", "20"]).run();
    out.code(0);
    insta::assert_snapshot!("bgl_delay_q1_ndjson", redacted(&out.text()));
}

twtest!(non_utf8_text_is_kept, |dir| {
    let f = dir.write("a.log", &b"2024-01-01T00:00:05Z a\n2024-01-01T00:00:02Z late \xff\n"[..]);
    dir.import(&[&f]).0.code(0);
    let (code, got) = rows(&dir, &[]);
    assert_eq!(code, 0);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].delay, 3.0);
    assert_eq!(got[0].text, "2024-01-01T00:00:02Z late \u{fffd}");
    let b64 = got[0].text_b64.as_deref().unwrap();
    assert_eq!(b64, "MjAyNC0wMS0wMVQwMDowMDowMlogbGF0ZSD/");
});
