//! `search` on syslog.log (spec §10.2 vectors), filters, time ranges, limits and errors.

use regex_automata::meta::Regex;

use crate::util::{Cmd, TestDir, count_containing, data_lines, syslog, syslog_time, twtest};

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

#[test]
fn reverse_is_search_backwards() {
    let dir = imported();
    let fwd = dir.search::<&str>(&[]);
    let mut rev = dir.search(&["--reverse"]);
    assert_eq!(rev.len(), 2000);
    rev.reverse();
    assert_eq!(rev, fwd);
    // NDJSON rows too: among equal times, line numbers now descend.
    let f_rows = dir.rows::<&str>(&[]);
    let mut r_rows = dir.rows(&["--reverse"]);
    assert_eq!(r_rows[..3].iter().map(|r| r.line).collect::<Vec<_>>(), [2000, 1999, 1998]);
    for w in r_rows.windows(2) {
        assert!(w[0].time > w[1].time || (w[0].time == w[1].time && w[0].line > w[1].line));
    }
    r_rows.reverse();
    assert_eq!(r_rows, f_rows);
    // --limit: the newest N.
    let out = dir.cmd("search").arg("--reverse").arg("--limit").arg("5").run();
    out.code(0);
    let newest: Vec<String> = fwd.iter().rev().take(5).cloned().collect();
    assert_eq!(out.lines(), newest);
    assert_eq!(
        out.lines()[0],
        "Jul 27 14:42:00 combo kernel: Linux agpgart interface v0.100 (c) Dave Jones"
    );
    assert_eq!(dir.rows(&["--reverse", "--limit", "1"])[0].line, 2000);
    // With filters and ranges.
    for args in [
        &["kernel"][..],
        &["-f", "authentication failure"],
        &["-t", "2005/7/1"],
        &["-t", "2005/6/14 15:16:01,2005/06/15 02:04:59", "sshd"],
        &["#IP", "^rhost"],
        &["-r", r"uid=\d+", "-v", "euid"],
    ] {
        let f = dir.search(args);
        assert!(!f.is_empty(), "{args:?}");
        let mut r = dir.search(&[&["--reverse"][..], args].concat());
        r.reverse();
        assert_eq!(r, f, "{args:?}");
        let out = dir.cmd("search").arg("--reverse").arg("--limit").arg("3").args(args).run();
        out.code(0);
        assert_eq!(out.lines(), f.iter().rev().take(3).cloned().collect::<Vec<_>>(), "{args:?}");
    }
    let out = dir.cmd("search").arg("--reverse").arg("no such text anywhere").run();
    out.code(1);
    assert!(out.stdout.is_empty());
}

twtest!(reverse_across_sources_and_batches, |dir| {
    // Equal times across sources (syslog.log and its byte-identical loghub copy), several
    // imports, and one file of 30,000 lines with 3 distinct times (several batches).
    let mut body = String::new();
    for i in 0..30_000 {
        body.push_str(&format!("2005-07-27 14:42:{:02} host app: entry {i:06}\n", i / 10_000));
    }
    let same = dir.write("same.log", &body);
    dir.import(&[syslog()]).0.code(0);
    dir.import(&[crate::util::data("loghub/Linux/Linux_2k.log"), same.clone()]).0.code(0);
    dir.import(&[crate::util::data("loghub/OpenSSH/OpenSSH_2k.log")]).0.code(0);
    let fwd = dir.rows::<&str>(&[]);
    assert_eq!(fwd.len(), 36_000);
    let mut rev = dir.rows(&["--reverse"]);
    rev.reverse();
    assert_eq!(rev, fwd);
    let src = same.to_str().unwrap();
    let lines: Vec<u64> = dir
        .rows(&["--reverse", "entry"])
        .iter()
        .filter(|r| r.source == src)
        .map(|r| r.line)
        .collect();
    assert_eq!(lines, (1..=30_000).rev().collect::<Vec<u64>>());
    let mut rev = dir.rows(&["--reverse", "combo"]);
    rev.reverse();
    assert_eq!(rev, dir.rows(&["combo"]));
    assert_eq!(rev.len(), 4000);
});

/// Go `regexp.QuoteMeta`.
fn quote_meta(s: &str) -> String {
    let mut o = String::new();
    for c in s.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

/// Spec §1.3 `getSimpleFilter`, written from the spec.
fn spec_simple_filter(s: &str) -> Option<String> {
    if s.is_empty() {
        return None;
    }
    if let Some(k) = s.strip_prefix('#')
        && let Some((_, r)) =
            crate::util::SPEC_KEYWORDS.iter().find(|(n, _)| n.to_ascii_uppercase() == k)
    {
        return Some(r.to_string());
    }
    let mut q = quote_meta(s).replace(r"\*", ".*").replace(r"\?", ".");
    if q.ends_with(r"\$") {
        q = q.trim_end_matches(['\\', '$']).to_string();
        q.push('$');
    }
    Some(q)
}

/// The include and exclude regexes of a command line (spec §1.3).
fn spec_filter(args: &[&str]) -> (Vec<Regex>, Vec<Regex>) {
    let (mut inc, mut exc, mut pos) = (Vec::new(), Vec::new(), Vec::new());
    let (mut r, mut f, mut v) = (None, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "-r" => r = it.next().copied(),
            "-f" => f = it.next().copied(),
            "-v" => v = it.next().copied(),
            p => pos.push(p),
        }
    }
    let go = crate::util::go_regex;
    inc.extend(r.map(go));
    inc.extend(f.and_then(spec_simple_filter).map(|p| go(&p)));
    for p in pos {
        match p.strip_prefix('^') {
            Some(n) => exc.extend(spec_simple_filter(n).map(|p| go(&p))),
            None => inc.extend(spec_simple_filter(p).map(|p| go(&p))),
        }
    }
    exc.extend(v.map(go));
    (inc, exc)
}

/// Lines with tokens longer than the index's 64 bytes, non-ASCII words, and partial-token
/// traps, for the differential check.
fn adversarial_log() -> String {
    let q = "Q".repeat(70);
    let lock = format!("lock{}", "x".repeat(70));
    let ail = format!("{}ail", "y".repeat(70));
    [
        format!("2024-06-01 00:00:01 adv: prefix{q}suffix end"),
        format!("2024-06-01 00:00:02 adv: {lock} tail"),
        format!("2024-06-01 00:00:03 adv: {ail}"),
        "2024-06-01 00:00:04 adv: block_lock lock step un_lock lock-step".to_string(),
        "2024-06-01 00:00:05 adv: café naïve Ünïcode 東京 error".to_string(),
        "2024-06-01 00:00:06 adv: Failed password for root from 10.0.0.1 port 22 ssh2".to_string(),
        "2024-06-01 00:00:07 adv: Failed  password twice spaced".to_string(),
        "2024-06-01 00:00:08 adv: FailedPassword joined".to_string(),
        "2024-06-01 00:00:09 adv: [client 1.2.3.4] error: x".to_string(),
        "2024-06-01 00:00:10 adv: onnection-only".to_string(),
    ]
    .map(|l| l + "\n")
    .concat()
}

const DIFF_SETS: [&str; 8] = [
    "loghub/Linux/Linux_2k.log",
    "loghub/OpenSSH/OpenSSH_2k.log",
    "loghub/Apache/Apache_2k.log",
    "loghub/HDFS/HDFS_2k.log",
    "loghub/Zookeeper/Zookeeper_2k.log",
    "loghub/Mac/Mac_2k.log",
    "loghub/BGL/BGL_2k.log",
    "loghub/Android/Android_2k.log",
];

twtest!(loghub_differential_filters, |dir| {
    let adv = dir.write("adv.log", adversarial_log());
    let mut files: Vec<(String, Vec<String>)> = DIFF_SETS
        .iter()
        .map(|rel| (crate::util::data(rel).display().to_string(), data_lines(rel)))
        .collect();
    files.push((adv.display().to_string(), adversarial_log().lines().map(String::from).collect()));
    let paths: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    let (out, s) = dir.import(&paths);
    out.code(0);
    assert_eq!(s.records, 16_010);
    let q66 = "Q".repeat(66);
    let long_exact = format!(" lock{} ", "x".repeat(70));
    let long_prefix = format!(" {}", "y".repeat(68));
    let filters: Vec<Vec<&str>> = vec![
        vec!["error"],                       // a single word
        vec!["Failed password"],             // a two-word phrase
        vec!["ail"],                         // part of a word
        vec!["-r", "Accepted|Failed|ERROR"], // a regex with alternation
        vec!["#IP"],                         // a keyword
        vec!["^sshd"],                       // an exclusion alone
        vec!["onnectio"],                    // only ever inside longer tokens
        vec!["lock"],
        vec![" lock "], // a whole token
        vec!["un_lock"],
        vec!["-f", "INFO", "^Receiving"],
        vec!["-r", "(?i)error"],
        vec!["-r", r"\d+\.\d+\.\d+\.\d+ port \d+"],
        vec!["*ssh2"],
        vec!["ssh2$"],
        vec!["port ?????"],
        vec!["session opened for user"],
        vec!["rhost=", "^user=root"],
        vec!["Invalid user", "-r", r"from 1[0-9]{2}\."],
        vec!["Connection closed by"],
        vec!["[client"],
        vec!["]"],
        vec!["-v", "INFO|WARN|kernel", "-f", "2005"],
        vec!["café"],
        vec!["東京"],
        vec!["naïve Ünï"],
        vec![&q66],         // inside a 76-byte token
        vec![&long_exact],  // a whole token longer than 64 bytes
        vec![&long_prefix], // the start of a long token
        vec!["yail"],       // the end of a long token
        vec!["lockxx"],
        vec!["suffix end"],
        vec!["Failed*password"],
        vec!["zzz no such thing"],
    ];
    for args in &filters {
        let (inc, exc) = spec_filter(args);
        let mut want: Vec<(String, u64)> = Vec::new();
        for (path, lines) in &files {
            for (i, l) in lines.iter().enumerate() {
                let b = l.as_bytes();
                if inc.iter().all(|r| r.is_match(b)) && !exc.iter().any(|r| r.is_match(b)) {
                    want.push((path.clone(), i as u64 + 1));
                }
            }
        }
        let rows = dir.rows(args);
        for w in rows.windows(2) {
            assert!(w[0].time <= w[1].time, "{args:?}: not in time order");
        }
        let mut got: Vec<(String, u64)> = rows.iter().map(|r| (r.source.clone(), r.line)).collect();
        got.sort();
        want.sort();
        if got != want {
            let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).take(5).collect();
            let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).take(5).collect();
            panic!(
                "{args:?}: {} rows, {} expected; extra {extra:?}; missing {missing:?}",
                got.len(),
                want.len()
            );
        }
        for r in &rows {
            let lines = &files.iter().find(|f| f.0 == r.source).unwrap().1;
            assert_eq!(r.text, lines[r.line as usize - 1], "{args:?}");
        }
        if *args != ["zzz no such thing"] {
            assert!(!want.is_empty(), "{args:?} matches nothing: pick another filter");
        }
        // count (filtered scan) agrees on the number of records.
        let out = dir.cmd("count").arg("-i").arg("86400").args(args).run();
        let total: u64 =
            out.lines().iter().map(|l| l.split('\t').nth(1).unwrap().parse::<u64>().unwrap()).sum();
        assert_eq!(total, want.len() as u64, "count {args:?}");
        out.code(if want.is_empty() { 1 } else { 0 });
    }
});

// Configuration precedence: command line > TWSLA_* environment > config file > default.
twtest!(config_file_and_environment_precedence, |dir| {
    dir.import(&[syslog()]).0.code(0);
    let cfg = dir.write(
        "c.yaml",
        format!("# twsla\ndatastore: {}\nfilter: kernel\nutc: true\n", dir.store().display()),
    );
    let count = |c: &mut Cmd| c.run().lines().len();
    // The file sets the store and the filter (kernel: 77 records).
    assert_eq!(count(Cmd::bare().args(&["search", "--config"]).arg(&cfg)), 77);
    // The environment beats the file.
    assert_eq!(
        count(
            Cmd::bare()
                .env("TWSLA_FILTER", "authentication failure")
                .args(&["search", "--config"])
                .arg(&cfg)
        ),
        490
    );
    // The command line beats both.
    assert_eq!(
        count(
            Cmd::bare()
                .env("TWSLA_FILTER", "authentication failure")
                .args(&["search", "-f", "fail", "--config"])
                .arg(&cfg)
        ),
        537
    );
    // A malformed file is an error naming it.
    let bad = dir.write("bad.yaml", "no colon here\n");
    let out = Cmd::bare().args(&["search", "--config"]).arg(&bad).run();
    out.code(2);
    assert!(out.stderr.contains("bad.yaml:1"), "{out:?}");
});
