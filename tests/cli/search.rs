//! `search` on syslog.log (spec §10.2 vectors), filters, time ranges, limits and errors.

use regex_automata::meta::Regex;

use crate::util::{TestDir, count_containing, data_lines, syslog, syslog_time, twtest};

fn syslog_lines() -> Vec<String> {
    data_lines("twsla-testlog/syslog.log")
}

/// The file lines with their times, stably sorted by time (ties keep file order).
fn syslog_in_time_order() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> =
        syslog_lines().into_iter().map(|l| (syslog_time(&l, 2005), l)).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn imported() -> TestDir {
    let dir = TestDir::new("search");
    dir.import(&[syslog()]).0.code(0);
    dir
}

/// The expected plain output of a search: file lines in time order that satisfy `keep`.
fn expected(keep: impl Fn(&str, &str) -> bool) -> Vec<String> {
    syslog_in_time_order().into_iter().filter(|(t, l)| keep(t, l)).map(|(_, l)| l).collect()
}

fn re(p: &str) -> Regex {
    Regex::new(p).unwrap()
}

#[test]
fn syslog_search_all_in_stable_time_order() {
    let dir = imported();
    let got = dir.search::<&str>(&[]);
    let want = expected(|_, _| true);
    assert_eq!(got.len(), 2000);
    assert_eq!(got, want);
    // Only the three -5 s steps (file lines 1983, 1987, 1991) make output differ from file
    // order: exactly the lines around them move.
    let file = syslog_lines();
    let moved = got.iter().zip(&file).filter(|(a, b)| a != b).count();
    assert_eq!(moved, 84);
    let rows = dir.rows::<&str>(&[]);
    let order: Vec<u64> = rows.iter().map(|r| r.line).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(sorted, (1..=2000).collect::<Vec<u64>>());
    // Stable: among equal times, line numbers ascend.
    for w in rows.windows(2) {
        assert!(w[0].time < w[1].time || (w[0].time == w[1].time && w[0].line < w[1].line));
    }
}

#[test]
fn syslog_simple_filter_counts() {
    let dir = imported();
    let file = syslog_lines();
    for (f, n) in [("authentication failure", 490), ("kernel", 77), ("fail", 537)] {
        let got = dir.search(&["-f", f]);
        assert_eq!(got.len(), n, "-f {f}");
        assert_eq!(count_containing(&file, f), n);
        assert_eq!(got, expected(|_, l| l.contains(f)), "-f {f}");
        // The same filter as a positional argument.
        assert_eq!(dir.search(&[f]), got, "positional {f}");
    }
    let ip = re(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}");
    let got = dir.search(&["#IP"]);
    assert_eq!(got.len(), 1245);
    assert_eq!(got, expected(|_, l| ip.is_match(l)));
    // Case-sensitive.
    assert_eq!(dir.search(&["-f", "Kernel"]).len(), count_containing(&file, "Kernel"));
}

#[test]
fn syslog_filter_combinations() {
    let dir = imported();
    // Positional include + ^exclude.
    let got = dir.search(&["sshd", "^check pass"]);
    let want = expected(|_, l| l.contains("sshd") && !l.contains("check pass"));
    assert!(!want.is_empty());
    assert_eq!(got, want);
    // Wildcards: * any run, ? one character.
    let wc = re("authentication.*user=r..t");
    let got = dir.search(&["authentication*user=r??t"]);
    assert_eq!(got, expected(|_, l| wc.is_match(l)));
    assert!(!got.is_empty());
    // Trailing $ anchors at the end.
    let got = dir.search(&["Dave Jones$"]);
    assert_eq!(got, expected(|_, l| l.ends_with("Dave Jones")));
    // -r and -v.
    let r = re(r"rhost=(\d+)\.(\d+)\.");
    let v = re("user=root");
    let got = dir.search(&["-r", r"rhost=(\d+)\.(\d+)\.", "-v", "user=root"]);
    let want = expected(|_, l| r.is_match(l) && !v.is_match(l));
    assert!(!want.is_empty());
    assert_eq!(got, want);
    // -f with a caret is literal.
    assert_eq!(dir.cmd("search").arg("-f").arg("^combo").run().code(1).stdout, b"");
}

#[test]
fn syslog_time_ranges() {
    let dir = imported();
    let cases: [(&str, &str, &str); 6] = [
        ("2005/6/14,1d", "2005-06-14T00:00:00", "2005-06-15T00:00:00"),
        ("2005/6/14 15:00,1h", "2005-06-14T15:00:00", "2005-06-14T16:00:00"),
        // Both ends inclusive (records sit exactly on them).
        ("2005/06/14 15:16:01,2005/06/15 02:04:59", "2005-06-14T15:16:01", "2005-06-15T02:04:59"),
        ("2005-07-27T14:42:00Z,-1m", "2005-07-27T14:41:00", "2005-07-27T14:42:00"),
        ("2005/7/27 14:41:54,2005/7/27 14:41:59", "2005-07-27T14:41:54", "2005-07-27T14:41:59"),
        ("2005/7/1", "2005-07-01T00:00:00", "9999"),
    ];
    for (t, a, b) in cases {
        let got = dir.search(&["-t", t]);
        let want = expected(|time, _| a <= &time[..19] && &time[..19] <= b);
        assert!(!want.is_empty(), "{t}");
        assert_eq!(got.len(), want.len(), "-t {t}");
        assert_eq!(got, want, "-t {t}");
    }
    assert_eq!(dir.search(&["-t", "2005/7/1"]).len(), 1396);
    assert_eq!(dir.search(&["-t", "2005/6/14,1d"]).len(), 3);
    assert_eq!(dir.search(&["-t", "2005/06/14 15:16:01,2005/06/15 02:04:59"]).len(), 13);
    // Combined with a filter.
    let got = dir.search(&["-t", "2005/7/1", "-f", "kernel"]);
    assert_eq!(got, expected(|t, l| t >= "2005-07-01" && l.contains("kernel")));
    // Nothing in range: exit 1, no output.
    let out = dir.cmd("search").arg("-t").arg("2001/1/1,1d").run();
    out.code(1);
    assert!(out.stdout.is_empty());
}

#[test]
fn search_limit_and_exit_codes() {
    let dir = imported();
    let all = dir.search::<&str>(&[]);
    let out = dir.cmd("search").arg("--limit").arg("5").run();
    out.code(0);
    assert_eq!(out.lines(), all[..5]);
    let out = dir.cmd("search").arg("--limit").arg("3").arg("kernel").run();
    out.code(0);
    assert_eq!(out.lines(), expected(|_, l| l.contains("kernel"))[..3]);
    let out = dir.cmd("search").arg("no such text anywhere").run();
    out.code(1);
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    let rows = dir.rows(&["--limit", "1"]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].line, 1);
}

#[test]
fn import_filters_apply() {
    let dir = TestDir::new("import_filters");
    let (out, s) = dir.import(&[
        "-t".as_ref(),
        "2005/7/1".as_ref(),
        "-f".as_ref(),
        "kernel".as_ref(),
        syslog().as_os_str(),
    ]);
    out.code(0);
    let want = expected(|t, l| t >= "2005-07-01" && l.contains("kernel"));
    let in_range = expected(|t, _| t >= "2005-07-01").len() as u64;
    assert_eq!(s.records, want.len() as u64);
    assert_eq!(s.out_of_range, 2000 - in_range);
    assert_eq!(s.filtered, in_range - s.records);
    assert_eq!(s.lines, 2000);
    assert_eq!(dir.search::<&str>(&[]), want);
    // -r / -v at import.
    let d2 = TestDir::new("import_rv");
    let (out, s) = d2.import(&[
        "-r".as_ref(),
        "sshd".as_ref(),
        "-v".as_ref(),
        "check pass".as_ref(),
        syslog().as_os_str(),
    ]);
    out.code(0);
    let want = expected(|_, l| l.contains("sshd") && !l.contains("check pass"));
    assert_eq!((s.records, s.filtered), (want.len() as u64, 2000 - want.len() as u64));
    assert_eq!(d2.search::<&str>(&[]), want);
}

twtest!(invalid_regex_and_time_range_are_errors, |dir| {
    let multi = crate::util::data("twsla-testlog/multi.log");
    // import: exit 2, message names the input, no store is created.
    for (flag, val, needle) in [
        ("-r", "(", "\"(\""),
        ("-v", "[a", "\"[a\""),
        ("-t", "garbage", "\"garbage\""),
        ("-t", "2005/6/14,xyz", "\"xyz\""),
        ("--mlStart", "(", "\"(\""),
        ("--mlSep", "a{2,1}", "\"a{2,1}\""),
    ] {
        let out = dir.cmd("import").arg(flag).arg(val).arg(&multi).run();
        out.code(2);
        assert!(out.stdout.is_empty(), "{out:?}");
        assert!(out.stderr.starts_with("twsla: error: "), "{out:?}");
        assert!(out.stderr.contains(needle), "{flag} {val}: {out:?}");
        assert!(!dir.store().exists(), "{flag} {val} created the store");
    }
    dir.import(&[&multi]).0.code(0);
    for (flag, val, needle) in [
        ("-r", "(", "\"(\""),
        ("-v", "[a", "\"[a\""),
        ("-t", "garbage", "\"garbage\""),
        ("-t", "2005/6/14,xyz", "\"xyz\""),
        ("-t", "2005/6/14,2005/6/13", "start is after the end"),
    ] {
        let out = dir.cmd("search").arg(flag).arg(val).run();
        out.code(2);
        assert!(out.stdout.is_empty(), "{out:?}");
        assert!(out.stderr.contains(needle), "{flag} {val}: {out:?}");
    }
    let out = dir.cmd("search").arg("-r").arg("(").run();
    assert!(out.stderr.contains("-r"), "{out:?}");
});

#[test]
fn ndjson_snapshot_first_20() {
    let dir = imported();
    let out = dir.cmd("search").arg("--ndjson").arg("--limit").arg("20").run();
    out.code(0);
    let text = out
        .text()
        .replace(&serde_json::to_string(&syslog().display().to_string()).unwrap(), "\"[SOURCE]\"");
    assert_eq!(text.lines().count(), 20);
    assert!(!text.contains("/shared/data"), "path not redacted: {text}");
    insta::assert_snapshot!("syslog_ndjson_limit_20", text);
}

twtest!(equal_times_keep_file_order_across_batches, |dir| {
    // 30,000 lines, 3 distinct times, about 2 MB: several import batches.
    let mut body = String::new();
    for i in 0..30_000 {
        body.push_str(&format!(
            "2024-01-01 00:00:{:02} host app: entry {i:06} padding padding padding\n",
            i / 10_000
        ));
    }
    let f = dir.write("same.log", &body);
    dir.import(&[&f]).0.code(0);
    let lines: Vec<u64> = dir.rows::<&str>(&[]).iter().map(|r| r.line).collect();
    assert_eq!(lines, (1..=30_000).collect::<Vec<u64>>());
});
