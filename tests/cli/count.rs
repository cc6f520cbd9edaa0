//! `count`: time buckets and every key mode (spec §1.5, §6.2, §10.2), filters, `-t`,
//! `--delay`, exit codes, and golden NDJSON.
//!
//! Expectations are computed here from the files (times parsed from the RFC 3164 prefix,
//! keys with the spec's regexes), not taken from the program.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::util::{
    TestDir, data, go_regex, nth_group1, rfc3339_secs, sorted_counts, spec_keyword, syslog,
    syslog_records, twtest,
};

/// One `count --ndjson` row in time mode.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeRow {
    time: String,
    count: u64,
    delta: f64,
}

/// One `count -e ... --ndjson` row.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyRow {
    key: String,
    count: u64,
}

fn imported() -> TestDir {
    let dir = TestDir::new("count");
    dir.import(&[syslog()]).0.code(0);
    dir
}

/// `count --ndjson ARGS` in time mode (exit 0 expected).
fn time_rows(dir: &TestDir, args: &[&str]) -> Vec<TimeRow> {
    let out = dir.cmd("count").arg("--ndjson").args(args).run();
    out.code(0);
    assert!(out.stderr.is_empty(), "{out:?}");
    out.lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad row {e}: {l}")))
        .collect()
}

/// `count --ndjson ARGS` in key mode as `(key, count)` (exit 0 expected).
fn key_rows(dir: &TestDir, args: &[&str]) -> Vec<(String, u64)> {
    let out = dir.cmd("count").arg("--ndjson").args(args).run();
    out.code(0);
    assert!(out.stderr.is_empty(), "{out:?}");
    out.lines()
        .iter()
        .map(|l| {
            let r: KeyRow = serde_json::from_str(l).unwrap_or_else(|e| panic!("bad row {e}: {l}"));
            (r.key, r.count)
        })
        .collect()
}

/// The expected time rows: records (Unix seconds) bucketed by `interval` seconds on UTC
/// epoch multiples; delta = seconds since the previous non-empty bucket.
fn buckets(times: impl IntoIterator<Item = i64>, interval: i64) -> Vec<TimeRow> {
    let mut m: BTreeMap<i64, u64> = BTreeMap::new();
    for t in times {
        *m.entry(t.div_euclid(interval) * interval).or_default() += 1;
    }
    let mut prev: Option<i64> = None;
    m.into_iter()
        .map(|(b, count)| {
            let delta = prev.map_or(0, |p| b - p) as f64;
            prev = Some(b);
            TimeRow { time: rfc3339_secs(b), count, delta }
        })
        .collect()
}

fn strs(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|(k, c)| (k.to_string(), *c)).collect()
}

/// First match of a spec keyword (wrapped in a group) per line, counted.
fn keyword_counts(lines: &[String], kw: &str, pos: usize) -> Vec<(String, u64)> {
    let re = go_regex(&format!("({})", spec_keyword(kw)));
    sorted_counts(lines.iter().filter_map(|l| nth_group1(&re, l, pos)))
}

fn syslog_texts() -> Vec<String> {
    syslog_records().into_iter().map(|r| r.1).collect()
}

#[test]
fn syslog_hourly_buckets_spec_vector() {
    let dir = imported();
    let got = time_rows(&dir, &[]);
    // §10.2: interval 3600 (automatic for a 43-day span), 148 buckets, 2000 records.
    assert_eq!(got.len(), 148);
    assert_eq!(got.iter().map(|r| r.count).sum::<u64>(), 2000);
    for r in &got {
        assert!(r.time.ends_with(":00:00.000000000Z"), "not on a full hour: {}", r.time);
    }
    let want = buckets(syslog_records().into_iter().map(|r| r.0), 3600);
    assert_eq!(got, want);
    // Header mean of the spec: 3,711,600 s over 147 deltas.
    assert_eq!(got.iter().map(|r| r.delta).sum::<f64>(), 3_711_600.0);
    assert_eq!(
        got[0],
        TimeRow { time: "2005-06-14T15:00:00.000000000Z".into(), count: 3, delta: 0.0 }
    );
    // `-i 3600` given explicitly is the same.
    assert_eq!(time_rows(&dir, &["-i", "3600"]), want);
    // Piped plain text: time, count and delta in seconds, tab-separated.
    let out = dir.cmd("count").run();
    out.code(0);
    let plain: Vec<String> =
        want.iter().map(|r| format!("{}\t{}\t{}", r.time, r.count, r.delta)).collect();
    assert_eq!(out.lines(), plain);
    assert_eq!(out.lines()[1], "2005-06-15T02:00:00.000000000Z\t10\t39600");
}

#[test]
fn syslog_custom_intervals() {
    let dir = imported();
    let times: Vec<i64> = syslog_records().into_iter().map(|r| r.0).collect();
    for iv in [1i64, 30, 60, 600, 7200, 86_400] {
        let got = time_rows(&dir, &["-i", &iv.to_string()]);
        let want = buckets(times.iter().copied(), iv);
        assert_eq!(got.len(), want.len(), "-i {iv}");
        assert_eq!(got, want, "-i {iv}");
        assert_eq!(got.iter().map(|r| r.count).sum::<u64>(), 2000, "-i {iv}");
    }
    // -i 30: every bucket starts on :00 or :30 seconds.
    let got = time_rows(&dir, &["-i", "30"]);
    for r in &got {
        let sec = &r.time[17..19];
        assert!(sec == "00" || sec == "30", "{}", r.time);
    }
    assert_eq!(got[0].time, "2005-06-14T15:16:00.000000000Z");
    assert_eq!(got[1].time, "2005-06-15T02:04:30.000000000Z");
    // -i 600: on ten-minute boundaries.
    for r in time_rows(&dir, &["-i", "600"]) {
        assert!(r.time[15..].starts_with("0:00.0"), "{}", r.time);
    }
    // Daily buckets: the 44 dates of the file.
    assert_eq!(time_rows(&dir, &["-i", "86400"]).len(), 44);
}

#[test]
fn filtered_scan_agrees_with_index_count() {
    // Every line contains "combo": the filtered path (text scan) must give what the
    // unfiltered path (block index) gives, for intervals that split blocks.
    let dir = imported();
    for iv in ["30", "600", "3600"] {
        assert_eq!(time_rows(&dir, &["-i", iv, "-f", "combo"]), time_rows(&dir, &["-i", iv]));
        assert_eq!(time_rows(&dir, &["-i", iv, "combo"]), time_rows(&dir, &["-i", iv]));
    }
}

#[test]
fn time_buckets_with_filters_and_ranges() {
    let dir = imported();
    let recs = syslog_records();
    let sel = |keep: &dyn Fn(i64, &str) -> bool| -> Vec<i64> {
        recs.iter().filter(|(t, l)| keep(*t, l)).map(|r| r.0).collect()
    };
    // Filters.
    let got = time_rows(&dir, &["-i", "3600", "-f", "kernel"]);
    assert_eq!(got, buckets(sel(&|_, l| l.contains("kernel")), 3600));
    assert_eq!(got.iter().map(|r| r.count).sum::<u64>(), 77);
    let got = time_rows(&dir, &["-i", "3600", "sshd", "^check pass"]);
    assert_eq!(got, buckets(sel(&|_, l| l.contains("sshd") && !l.contains("check pass")), 3600));
    // A range that cuts blocks in the middle; both ends inclusive.
    let (a, b) = (
        crate::util::unix_secs("2005-07-09T00:00:00"),
        crate::util::unix_secs("2005-07-10T12:30:00"),
    );
    for iv in ["3600", "60", "30"] {
        let got = time_rows(&dir, &["-i", iv, "-t", "2005/7/9,2005/7/10 12:30"]);
        let want = buckets(sel(&|t, _| a <= t && t <= b), iv.parse().unwrap());
        assert_eq!(got, want, "-i {iv}");
    }
    let got = time_rows(&dir, &["-i", "3600", "-t", "2005/7/1"]);
    assert_eq!(got.iter().map(|r| r.count).sum::<u64>(), 1396);
    // Range and filter together.
    let got = time_rows(&dir, &["-i", "3600", "-t", "2005/7/1", "-f", "kernel"]);
    let july = crate::util::unix_secs("2005-07-01T00:00:00");
    assert_eq!(got, buckets(sel(&|t, l| t >= july && l.contains("kernel")), 3600));
    // Automatic interval inside a range: the data of Jul 27 spans 04:16..14:42 (< 16 h),
    // so 60 s buckets.
    let got = time_rows(&dir, &["-t", "2005/7/27,1d"]);
    let d27 = crate::util::unix_secs("2005-07-27T00:00:00");
    assert_eq!(got, buckets(sel(&|t, _| t >= d27), 60));
}

#[test]
fn no_match_exits_1_and_errors_exit_2() {
    let dir = imported();
    for args in [
        &["no such text anywhere"][..],
        &["-t", "2001/1/1,1d"],
        &["-e", "ip", "no such text anywhere"],
        &["-e", "ip", "-t", "2001/1/1,1d"],
        &["-e", "uuid"],
        &["-e", "normalize", "-f", "zzzqqq"],
        &["--delay", "6"],
        &["--ndjson", "-e", "word", "^combo"],
    ] {
        let out = dir.cmd("count").args(args).run();
        out.code(1);
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
    }
    for (args, needle) in [
        (&["-e", "IP"][..], "capture group"),
        (&["-e", "Number"], "capture group"),
        (&["-e", "user=\\w+"], "capture group"),
        (&["-e", "user=(\\w+"], "user=("),
        (&["-e", "json", "-n", "$["], "JSONPath"),
        (&["-e", "json", "-n", "$.a["], "JSONPath"),
        (&["-t", "garbage"], "\"garbage\""),
        (&["-t", "2005/6/14,xyz"], "\"xyz\""),
        (&["-r", "("], "\"(\""),
        (&["-v", "[a"], "\"[a\""),
        (&["-e", "ip", "-r", "("], "\"(\""),
    ] {
        for nd in [false, true] {
            let mut c = dir.cmd("count");
            if nd {
                c.arg("--ndjson");
            }
            let out = c.args(args).run();
            out.code(2);
            assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
            assert!(out.stderr.starts_with("twsla: error: "), "{args:?}: {out:?}");
            assert!(out.stderr.contains(needle), "{args:?}: {out:?}");
        }
    }
    // A missing store is an error too.
    let out = dir.cmd_on(&dir.join("nothing-here"), "count").run();
    out.code(2);
}

#[test]
fn syslog_count_ip_spec_vector() {
    let dir = imported();
    let got = key_rows(&dir, &["-e", "ip"]);
    assert_eq!(got.len(), 68);
    assert_eq!(got.iter().map(|r| r.1).sum::<u64>(), 1245);
    assert_eq!(
        got[..5],
        strs(&[
            ("150.183.249.110", 80),
            ("203.101.45.59", 46),
            ("207.30.238.8", 46),
            ("211.72.151.162", 44),
            ("211.107.232.1", 41),
        ])
    );
    let lines = syslog_texts();
    assert_eq!(got, keyword_counts(&lines, "ip", 1));
    // Plain output: key TAB count.
    let out = dir.cmd("count").arg("-e").arg("ip").run();
    out.code(0);
    let plain: Vec<String> = got.iter().map(|(k, c)| format!("{k}\t{c}")).collect();
    assert_eq!(out.lines(), plain);
    // Filters and ranges restrict the counted records.
    let got = key_rows(&dir, &["-e", "ip", "-f", "authentication failure"]);
    let af: Vec<String> =
        lines.iter().filter(|l| l.contains("authentication failure")).cloned().collect();
    assert_eq!(got, keyword_counts(&af, "ip", 1));
    assert!(!got.is_empty());
    let recs = syslog_records();
    let (a, b) = (
        crate::util::unix_secs("2005-06-20T00:00:00"),
        crate::util::unix_secs("2005-07-05T00:00:00"),
    );
    let slice: Vec<String> =
        recs.iter().filter(|(t, _)| a <= *t && *t <= b).map(|r| r.1.clone()).collect();
    let got = key_rows(&dir, &["-e", "ip", "-t", "2005/6/20,2005/7/5"]);
    assert_eq!(got, keyword_counts(&slice, "ip", 1));
    let got = key_rows(&dir, &["-e", "ip", "-t", "2005/6/20,15d", "ftpd", "^Sun"]);
    let want: Vec<String> =
        slice.iter().filter(|l| l.contains("ftpd") && !l.contains("Sun")).cloned().collect();
    assert_eq!(got, keyword_counts(&want, "ip", 1));
    // -p 2: the second address of a line (few lines have two).
    let second = keyword_counts(&lines, "ip", 2);
    assert!(!second.is_empty());
    assert_eq!(key_rows(&dir, &["-e", "ip", "-p", "2"]), second);
}

#[test]
fn syslog_count_normalize_spec_vector() {
    let dir = imported();
    let got = key_rows(&dir, &["-e", "normalize"]);
    assert_eq!(got.len(), 175);
    assert_eq!(got.iter().map(|r| r.1).sum::<u64>(), 2000);
    assert_eq!(
        got[..3],
        strs(&[
            (
                "#TIMESTAMP# combo sshd(pam_unix)[#NUM#]: authentication failure; logname= uid=#NUM# euid=#NUM# tty=NODEVssh ruser= rhost=#IP#  user=root",
                239
            ),
            (
                "#TIMESTAMP# combo ftpd[#NUM#]: connection from #IP# () at Sun Jul #NUM# #NUM#:#NUM#:#NUM# #NUM# ",
                120
            ),
            ("#TIMESTAMP# combo sshd(pam_unix)[#NUM#]: check pass; user unknown", 116),
        ])
    );
    // Every pattern starts with the replaced RFC 3164 timestamp.
    assert!(got.iter().all(|(k, _)| k.starts_with("#TIMESTAMP# combo ")));
}

/// Spec §6.2 `word`: lower-case, split on whitespace, words of 2..=50 bytes, trim
/// `.,!?;:()[]{}"'`, keep if still >= 2 bytes.
fn words(line: &str) -> Vec<String> {
    line.to_lowercase()
        .split_ascii_whitespace()
        .filter(|w| (2..=50).contains(&w.len()))
        .map(|w| w.trim_matches(|c| ".,!?;:()[]{}\"'".contains(c)).to_string())
        .filter(|w| w.len() >= 2)
        .collect()
}

#[test]
fn syslog_count_word_spec_vector() {
    let dir = imported();
    let got = key_rows(&dir, &["-e", "word"]);
    assert_eq!(got.len(), 2684);
    assert_eq!(
        got[..8],
        strs(&[
            ("jul", 2143),
            ("combo", 2000),
            ("from", 936),
            ("connection", 926),
            ("at", 912),
            ("2005", 910),
            ("jun", 767),
            ("uid=0", 576),
        ])
    );
    assert_eq!(got, sorted_counts(syslog_texts().iter().flat_map(|l| words(l))));
}

#[test]
fn syslog_count_field_spec_vector() {
    let dir = imported();
    let got = key_rows(&dir, &["-e", "field"]);
    assert_eq!(got[..3], strs(&[("17", 213), ("10", 167), ("25", 125)]));
    let got4 = key_rows(&dir, &["-e", "field", "-p", "4"]);
    assert_eq!(
        got4[..5],
        strs(&[
            ("kernel:", 76),
            ("logrotate:", 43),
            ("named[2306]:", 16),
            ("cups:", 12),
            ("syslogd", 7)
        ])
    );
    let lines = syslog_texts();
    for p in 0..=6usize {
        let want = sorted_counts(
            lines.iter().filter_map(|l| l.split_whitespace().nth(p).map(String::from)),
        );
        assert_eq!(key_rows(&dir, &["-e", "field", "-p", &p.to_string()]), want, "-p {p}");
    }
}

#[test]
fn syslog_count_delay_spec_vector() {
    let dir = imported();
    let recs = syslog_records();
    // Lines at least N s earlier than the previous line of the file.
    let late = |n: i64| -> Vec<(i64, String)> {
        recs.windows(2).filter(|w| w[0].0 - w[1].0 >= n).map(|w| w[1].clone()).collect()
    };
    let five = late(5);
    assert_eq!(five.len(), 3);
    assert_eq!(late(1), five, "the only backward steps are the three -5 s ones");
    assert!(late(6).is_empty());
    let got = time_rows(&dir, &["--delay", "5"]);
    assert_eq!(got, buckets(five.iter().map(|r| r.0), 3600));
    assert_eq!(got.iter().map(|r| r.count).sum::<u64>(), 3);
    assert_eq!(time_rows(&dir, &["--delay", "1", "-i", "1"]), buckets(five.iter().map(|r| r.0), 1));
    // The delayed records themselves (file lines 1983, 1987, 1991).
    let file = syslog_texts();
    let want: Vec<(String, u64)> = sorted_counts([1983, 1987, 1991].map(|n| file[n - 1].clone()));
    let got = key_rows(&dir, &["--delay", "5", "-e", "(.*)"]);
    assert_eq!(got, want);
    assert_eq!(got, sorted_counts(five.into_iter().map(|r| r.1)));
    assert!(
        got.iter().any(|(k, _)| k == "Jul 27 14:41:54 combo sysctl: kernel.core_uses_pid = 1 "),
        "{got:?}"
    );
    // With a filter.
    assert_eq!(key_rows(&dir, &["--delay", "5", "-e", "(.*)", "sysctl"]).len(), 1);
    dir.cmd("count").arg("--delay").arg("5").arg("kernel:").run().code(1);
}

#[test]
fn named_modes_on_pii() {
    let dir = TestDir::new("pii");
    dir.import(&[data("twsla-testlog/pii.log")]).0.code(0);
    let lines = crate::util::data_lines("twsla-testlog/pii.log");
    assert_eq!(lines.len(), 11);
    let modes = [
        "ip",
        "ipv6",
        "mac",
        "email",
        "uuid",
        "creditcard",
        "mynumber",
        "phone_jp",
        "phone_us",
        "phone_intl",
        "zip_jp",
    ];
    for m in modes {
        for p in [1usize, 2] {
            let want = keyword_counts(&lines, m, p);
            let ps = p.to_string();
            if want.is_empty() {
                let out = dir.cmd("count").args(&["--ndjson", "-e", m, "-p", &ps]).run();
                out.code(1);
                assert!(out.stdout.is_empty(), "-e {m} -p {p}: {out:?}");
            } else {
                assert_eq!(key_rows(&dir, &["-e", m, "-p", &ps]), want, "-e {m} -p {p}");
            }
        }
    }
    // Spot checks against the spec's §10.3 keyword lines.
    assert_eq!(
        key_rows(&dir, &["-e", "uuid"]),
        strs(&[("550e8400-e29b-41d4-a716-446655440000", 1)])
    );
    assert_eq!(
        key_rows(&dir, &["-e", "creditcard"]),
        strs(&[("4532 1234 5678 9012", 1), ("5432-1234-5678-9012", 1)])
    );
    assert_eq!(
        key_rows(&dir, &["-e", "mynumber"]),
        strs(&[("123456789012", 1), ("446655440000", 1)])
    );
    // The IPv6 quirk: every line's time yields `:MM:00` first.
    let v6 = key_rows(&dir, &["-e", "ipv6"]);
    assert_eq!(v6.len(), 11);
    assert_eq!(v6[0], (":00:00".to_string(), 1));
    // number: `([-+0-9.]+)`; the first match is the date, the second the hour.
    assert_eq!(key_rows(&dir, &["-e", "number"]), strs(&[("2024-05-20", 11)]));
    assert_eq!(key_rows(&dir, &["-e", "number", "-p", "2"]), strs(&[("10", 11)]));
    assert_eq!(key_rows(&dir, &["-e", "num", "-p", "2"]), strs(&[("10", 11)]));
    let n4 = go_regex(r"([-+0-9.]+)");
    assert_eq!(
        key_rows(&dir, &["-e", "number", "-p", "6"]),
        sorted_counts(lines.iter().filter_map(|l| nth_group1(&n4, l, 6)))
    );
}

/// A generated log with e-mails, MACs, UUIDs, IPv6, numbers and CSV/TSV payloads.
const GEN: &str = "\
2024-03-01 10:00:00 mail: from alice@example.com to bob.smith+tag@mail.example.org size=120 ratio=0.5
2024-03-01 10:00:01 dhcp: lease 192.168.0.10 to 00:1A:2b:3C:4d:5E via eth0 count=3
2024-03-01 10:00:02 dhcp: lease 10.0.0.7 to 00-1a-2b-3c-4d-5e via eth1 count=4
2024-03-01 10:00:03 api: request 123E4567-E89B-12D3-A456-426614174000 user=carol took 15ms
2024-03-01 10:00:04 api: request 550e8400-e29b-41d4-a716-446655440000 user=dave took 7ms
2024-03-01 10:00:05 net: peer 2001:0db8:85a3:0000:0000:8a2e:0370:7334 up; alice@example.com notified
2024-03-01 10:00:06 csv: id,name , score,extra\tcol2\t col3
2024-03-01 10:00:07 csv: 7,  eve,  -1.25 ,x\ty\tz
2024-03-01 10:00:08 price: Price is 100 and Cost is 100 and Tax is 8
2024-03-01 10:00:09 price: Fee is 100
2024-03-01 10:00:10 plain line without anything of note";

#[test]
fn modes_on_a_generated_file() {
    let dir = TestDir::new("gen");
    let f = dir.write("gen.log", GEN);
    dir.import(&[&f]).0.code(0);
    let lines: Vec<String> = GEN.lines().map(String::from).collect();
    for m in ["email", "mac", "uuid", "ipv6", "ip"] {
        assert_eq!(key_rows(&dir, &["-e", m]), keyword_counts(&lines, m, 1), "-e {m}");
    }
    assert_eq!(
        key_rows(&dir, &["-e", "email"]),
        strs(&[("alice@example.com", 2)]),
        "the first address of each line"
    );
    assert_eq!(
        key_rows(&dir, &["-e", "email", "-p", "2"]),
        strs(&[("bob.smith+tag@mail.example.org", 1)])
    );
    // #MAC is colon-only, case-insensitive hex.
    assert_eq!(key_rows(&dir, &["-e", "mac"]), strs(&[("00:1A:2b:3C:4d:5E", 1)]));
    assert_eq!(
        key_rows(&dir, &["-e", "uuid"]),
        strs(&[
            ("123E4567-E89B-12D3-A456-426614174000", 1),
            ("550e8400-e29b-41d4-a716-446655440000", 1)
        ])
    );
    // Placeholders: %{word} -> (\S+), %{number}, %{ip}, %{email}.
    assert_eq!(key_rows(&dir, &["-e", "%{word} is 100"]), strs(&[("Fee", 1), ("Price", 1)]));
    assert_eq!(key_rows(&dir, &["-e", "%{word} is 100", "-p", "2"]), strs(&[("Cost", 1)]));
    assert_eq!(key_rows(&dir, &["-e", "count=%{number}"]), strs(&[("3", 1), ("4", 1)]));
    assert_eq!(
        key_rows(&dir, &["-e", "lease %{ip}"]),
        strs(&[("10.0.0.7", 1), ("192.168.0.10", 1)])
    );
    assert_eq!(key_rows(&dir, &["-e", "from %{email}"]), strs(&[("alice@example.com", 1)]));
    // A raw regex: group 1 of the pos-th match; a second group is ignored.
    assert_eq!(
        key_rows(&dir, &["-e", r"user=(\w+) took (\d+)"]),
        strs(&[("carol", 1), ("dave", 1)])
    );
    assert_eq!(key_rows(&dir, &["-e", r"(\d+)ms"]), strs(&[("15", 1), ("7", 1)]));
    // -p 0 is taken as 1.
    assert_eq!(key_rows(&dir, &["-e", r"(\d+)ms", "-p", "0"]), key_rows(&dir, &["-e", r"(\d+)ms"]));
    // csv / tsv: 0-based fields, trimmed; lines without the field give nothing.
    let csv = |p: usize| -> Vec<(String, u64)> {
        sorted_counts(
            lines.iter().filter_map(|l| l.split(',').nth(p).map(|s| s.trim().to_string())),
        )
    };
    let tsv = |p: usize| -> Vec<(String, u64)> {
        sorted_counts(
            lines.iter().filter_map(|l| l.split('\t').nth(p).map(|s| s.trim().to_string())),
        )
    };
    for p in 0..5usize {
        let ps = p.to_string();
        for (mode, want) in [("csv", csv(p)), ("tsv", tsv(p))] {
            if want.is_empty() {
                dir.cmd("count").arg("-e").arg(mode).arg("-p").arg(&ps).run().code(1);
            } else {
                assert_eq!(key_rows(&dir, &["-e", mode, "-p", &ps]), want, "-e {mode} -p {p}");
            }
        }
    }
    assert_eq!(key_rows(&dir, &["-e", "csv", "-p", "2"]), strs(&[("-1.25", 1), ("score", 1)]));
    assert_eq!(key_rows(&dir, &["-e", "tsv", "-p", "2"]), strs(&[("col3", 1), ("z", 1)]));
    // Plain output turns a tab inside a key into a space; NDJSON keeps it.
    let nd = key_rows(&dir, &["-e", "csv", "-p", "3"]);
    assert!(nd.iter().any(|(k, _)| k == "extra\tcol2\t col3"), "{nd:?}");
    let out = dir.cmd("count").arg("-e").arg("csv").arg("-p").arg("3").run();
    out.code(0);
    assert!(out.lines().contains(&"extra col2  col3\t1".to_string()), "{out:?}");
}

#[test]
fn json_mode() {
    let dir = TestDir::new("json");
    let body = "\
2024-02-01 00:00:01 app {\"a\":{\"b\":3},\"Score\":1.5,\"n\":1000000,\"s\":\"x y\"}
2024-02-01 00:00:02 app {\"a\":{\"b\":1.5},\"Score\":2,\"n\":0.00001}
2024-02-01 00:00:03 app {\"a\":{\"b\":\"str\"},\"Score\":-0.5,\"n\":1234567}
2024-02-01 00:00:04 app {\"a\":{\"b\":3},\"Score\":1.5,\"n\":123456}
2024-02-01 00:00:05 app not json at all
2024-02-01 00:00:06 app {\"a\":{\"c\":1}}
2024-02-01 00:00:07 app {broken json
2024-02-01 00:00:08 app {\"a\":{\"b\":[1,2]},\"m\":{\"k\":\"v\",\"j\":true},\"z\":null}
";
    let f = dir.write("j.log", body);
    dir.import(&[&f]).0.code(0);
    let want_ab = strs(&[("3", 2), ("1.5", 1), ("[1 2]", 1), ("str", 1)]);
    assert_eq!(key_rows(&dir, &["-e", "json", "-n", "$.a.b"]), want_ab);
    assert_eq!(key_rows(&dir, &["-e", "json", "-n", "a.b"]), want_ab);
    assert_eq!(
        key_rows(&dir, &["-e", "json", "-n", "Score"]),
        strs(&[("1.5", 2), ("-0.5", 1), ("2", 1)])
    );
    assert_eq!(
        key_rows(&dir, &["-e", "json", "-n", "n"]),
        strs(&[("1.234567e+06", 1), ("123456", 1), ("1e+06", 1), ("1e-05", 1)])
    );
    assert_eq!(key_rows(&dir, &["-e", "json", "-n", "$.s"]), strs(&[("x y", 1)]));
    assert_eq!(key_rows(&dir, &["-e", "json", "-n", "m"]), strs(&[("map[j:true k:v]", 1)]));
    assert_eq!(key_rows(&dir, &["-e", "json", "-n", "z"]), strs(&[("<nil>", 1)]));
    // Filters apply before extraction.
    assert_eq!(
        key_rows(&dir, &["-e", "json", "-n", "$.a.b", "-t", "2024/2/1 00:00:02,2024/2/1 00:00:03"]),
        strs(&[("1.5", 1), ("str", 1)])
    );
    dir.cmd("count").arg("-e").arg("json").arg("-n").arg("nothere").run().code(1);
}

#[test]
fn upper_case_names_are_regexes_without_group() {
    let dir = imported();
    for m in ["IP", "MAC", "Number", "EMAIL"] {
        let out = dir.cmd("count").arg("-e").arg(m).run();
        out.code(2);
        assert!(out.stderr.contains("capture group"), "{m}: {out:?}");
        let out = dir.cmd("extract").arg("-e").arg(m).run();
        out.code(2);
        assert!(out.stderr.contains("capture group"), "{m}: {out:?}");
    }
    // With a group, an upper-case word is an ordinary (literal) regex.
    let want: Vec<(String, u64)> = sorted_counts(
        syslog_texts().iter().filter(|l| l.contains("ALERT")).map(|_| "ALERT".to_string()),
    );
    assert_eq!(key_rows(&dir, &["-e", "(ALERT)"]), want);
}

twtest!(auto_interval_depends_on_records_only, |dir| {
    // The same records in range (Jul 26 12:00 .. Jul 27 12:00, i.e. Jul 27 04:16..10:59)
    // in two stores: the whole file, and only the lines of Jul 27. The help text says the
    // automatic interval follows "the data's time span": 60 s for a 6.7 h span (and the
    // same answer in both stores). Actual: 300 s buckets on the full store (the span is
    // taken from block bounds clipped to the range, 24 h), 60 s on the small one.
    let full = TestDir::new("auto_full");
    full.import(&[syslog()]).0.code(0);
    let jul27: String = syslog_texts()
        .iter()
        .filter(|l| l.starts_with("Jul 27"))
        .map(|l| format!("{l}\n"))
        .collect();
    let f = dir.write("jul27.log", jul27);
    dir.import(&[&f]).0.code(0);
    let range = ["-t", "2005/7/26 12:00,1d"];
    let recs = syslog_records();
    let (a, b) = (
        crate::util::unix_secs("2005-07-26T12:00:00"),
        crate::util::unix_secs("2005-07-27T12:00:00"),
    );
    let want = buckets(recs.iter().filter(|(t, _)| a <= *t && *t <= b).map(|r| r.0), 60);
    assert_eq!(time_rows(&dir, &range), want, "store with Jul 27 only");
    assert_eq!(time_rows(&full, &range), want, "store with the whole file");
});

/// The NDJSON text of `count --ndjson ARGS` (no paths in it, so nothing to redact).
fn snapshot_text(dir: &TestDir, args: &[&str]) -> String {
    let out = dir.cmd("count").arg("--ndjson").args(args).run();
    out.code(0);
    out.text()
}

#[test]
fn syslog_count_ndjson_snapshots() {
    let dir = imported();
    insta::assert_snapshot!("syslog_count_ndjson", snapshot_text(&dir, &[]));
    insta::assert_snapshot!("syslog_count_ip_ndjson", snapshot_text(&dir, &["-e", "ip"]));
    insta::assert_snapshot!(
        "syslog_count_normalize_ndjson",
        snapshot_text(&dir, &["-e", "normalize"])
    );
}

#[test]
fn loghub_count_ip_snapshots() {
    for (name, rel) in
        [("apache", "loghub/Apache/Apache_2k.log"), ("openssh", "loghub/OpenSSH/OpenSSH_2k.log")]
    {
        let dir = TestDir::new(name);
        dir.import(&[data(rel)]).0.code(0);
        let text = snapshot_text(&dir, &["-e", "ip"]);
        let want = keyword_counts(&crate::util::data_lines(rel), "ip", 1);
        let got: Vec<(String, u64)> = text
            .lines()
            .map(|l| {
                let r: KeyRow = serde_json::from_str(l).unwrap();
                (r.key, r.count)
            })
            .collect();
        assert_eq!(got, want, "{rel}");
        insta::assert_snapshot!(format!("{name}_count_ip_ndjson"), text);
    }
}

twtest!(delay_is_per_source, |dir| {
    // a3 is 5 s earlier than a2 (same file); b1..b3 interleave with file a but only b3 steps
    // back (1 s) within its own file.
    let a = dir.write(
        "a.log",
        "2024-01-01 00:00:10 a1\n2024-01-01 00:00:20 a2\n2024-01-01 00:00:15 a3\n\
         2024-01-01 00:00:40 a4\n",
    );
    let b = dir
        .write("b.log", "2024-01-01 00:00:12 b1\n2024-01-01 00:00:30 b2\n2024-01-01 00:00:29 b3\n");
    dir.import(&[&a, &b]).0.code(0);
    assert_eq!(
        key_rows(&dir, &["--delay", "1", "-e", "(.*)"]),
        strs(&[("2024-01-01 00:00:15 a3", 1), ("2024-01-01 00:00:29 b3", 1)])
    );
    assert_eq!(
        key_rows(&dir, &["--delay", "5", "-e", "(.*)"]),
        strs(&[("2024-01-01 00:00:15 a3", 1)])
    );
    let t0 = crate::util::unix_secs("2024-01-01T00:00:00");
    assert_eq!(time_rows(&dir, &["--delay", "1", "-i", "1"]), buckets([t0 + 15, t0 + 29], 1));
    dir.cmd("count").arg("--delay").arg("6").run().code(1);
});

twtest!(word_mode_lowercases_non_ascii, |dir| {
    // Spec §6.2 word: "lower-case the line" (Go strings.ToLower). Input words ÜBER, über,
    // Über: expected one key "über" with count 3. Actual: "Über" 2, "über" 1.
    let f = dir.write("u.log", "2024-01-01 00:00:01 ÜBER über Über\n");
    dir.import(&[&f]).0.code(0);
    let got = key_rows(&dir, &["-e", "word"]);
    assert!(got.contains(&("über".to_string(), 3)), "{got:?}");
});

twtest!(fields_split_on_unicode_whitespace, |dir| {
    // Go strings.Fields splits on unicode.IsSpace: also \v, U+00A0 and U+3000 (the
    // ideographic space of Japanese logs). Line `2024-01-01 00:00:01 a\u{3000}b c\u{b}d
    // e\u{a0}f`: expected fields 2..=7 = a, b, c, d, e, f. Actual: `a\u{3000}b`,
    // `c\u{b}d`, `e\u{a0}f`, then nothing.
    let f = dir.write("w.log", "2024-01-01 00:00:01 a\u{3000}b c\u{b}d e\u{a0}f\n");
    dir.import(&[&f]).0.code(0);
    for (p, want) in ["a", "b", "c", "d", "e", "f"].iter().enumerate() {
        let got = key_rows(&dir, &["-e", "field", "-p", &(p + 2).to_string()]);
        assert_eq!(got, strs(&[(want, 1)]), "-p {}", p + 2);
    }
});

twtest!(count_keys_are_unique, |dir| {
    // Lines `user=\xff end` and `user=\xfe end`: count -e 'user=(\S+)' --ndjson prints
    // {"key":"\u{fffd}","count":1} twice (keys are made lossy after counting). Expected:
    // every key once (merged into one row, or written losslessly like search's text_b64).
    let f = dir
        .write("b.log", b"2024-01-01 00:00:01 user=\xff end\n2024-01-01 00:00:02 user=\xfe end\n");
    dir.import(&[&f]).0.code(0);
    let out = dir.cmd("count").args(&["--ndjson", "-e", r"user=(\S+)"]).run();
    out.code(0);
    let keys: Vec<String> = out.lines();
    let mut uniq = keys.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), keys.len(), "duplicate rows: {keys:?}");
});

twtest!(huge_interval_and_delay, |dir| {
    // `count -i 10000000000` (317 years) and `--delay 10000000000` panic with "attempt to
    // multiply with overflow" at src/cli/mod.rs (count_cmd: `a.interval as i64 *
    // 1_000_000_000`); in release the product wraps negative and is clamped to 1 ns, so
    // every distinct timestamp becomes a bucket. `-i 18446744073709551615` does that
    // even in debug (u64::MAX as i64 = -1). Expected: one bucket holding all 2000
    // records, or a usage error (exit 2).
    dir.import(&[syslog()]).0.code(0);
    for iv in ["10000000000", "18446744073709551615"] {
        let out = dir.cmd("count").args(&["--ndjson", "-i", iv]).run();
        if out.code == 2 {
            assert!(out.stderr.starts_with("twsla: error: "), "{out:?}");
            continue;
        }
        out.code(0);
        assert_eq!(out.lines().len(), 1, "-i {iv}: {out:?}");
    }
    let out = dir.cmd("count").args(&["--delay", "10000000000"]).run();
    assert!(out.code == 1 || out.code == 2, "{out:?}");
});

// `--delay N -q P`: records whose own time is at least N s after the P-th timestamp of the
// text (0-based; P = 1 is the second timestamp). Upstream inverted the comparison.
twtest!(delay_against_a_timestamp_in_the_text, |dir| {
    let f = dir.write(
        "d.log",
        "2024-01-01 00:00:10 done, request at 2024-01-01 00:00:09\n\
         2024-01-01 00:00:20 done, request at 2024-01-01 00:00:12\n\
         2024-01-01 00:00:30 done, request at 2024-01-01 00:00:25\n\
         2024-01-01 00:00:40 no second timestamp\n\
         2024-01-01 00:00:50 done, request at 2024-01-01 00:00:40\n",
    );
    dir.import(&[&f]).0.code(0);
    let total = |args: &[&str]| -> u64 {
        let out = dir.cmd("count").arg("--ndjson").args(args).run();
        out.lines()
            .iter()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["count"].as_u64().unwrap()
            })
            .sum()
    };
    // Delays are 1, 8, 5, -, 10 seconds.
    assert_eq!(total(&["--delay", "5", "-q", "1"]), 3);
    assert_eq!(total(&["--delay", "9", "-q", "1"]), 1);
    assert_eq!(total(&["--delay", "1", "-q", "1", "-e", "%{word},"]), 4);
    // -q alone is a usage error.
    let out = dir.cmd("count").args(&["-q", "1"]).run();
    out.code(2);
    assert!(out.stderr.contains("--delay"), "{out:?}");
});

// Upstream's viper read every key from TWSLA_<KEY>; the command line still wins.
twtest!(count_options_from_the_environment, |dir| {
    dir.import(&[syslog()]).0.code(0);
    let rows = |c: &mut crate::util::Cmd| -> Vec<String> { c.run().lines() };
    let env_ip = rows(dir.cmd("count").env("TWSLA_EXTRACT", "ip").arg("--ndjson"));
    assert_eq!(env_ip.len(), 68);
    assert!(env_ip[0].contains("150.183.249.110"), "{env_ip:?}");
    let cli_wins =
        rows(dir.cmd("count").env("TWSLA_EXTRACT", "ip").args(&["--ndjson", "-e", "email"]));
    assert!(cli_wins.len() < 68, "{cli_wins:?}");
    let hourly = rows(dir.cmd("count").env("TWSLA_INTERVAL", "86400").arg("--ndjson"));
    assert_eq!(hourly.len(), 44);
});
