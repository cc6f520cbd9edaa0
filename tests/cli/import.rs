//! Import of the shared corpora: record boundaries, times, texts and summaries.

use std::collections::{BTreeMap, BTreeSet};

use crate::util::{
    Cmd, data, data_bytes, data_lines, join_lines, spans, split_lines, syslog, syslog_time, twtest,
};

const MULTI: &str = "twsla-testlog/multi.log";

twtest!(syslog_import_summary, |dir| {
    let (out, s) = dir.import(&[syslog()]);
    out.code(0);
    assert!(out.stderr.is_empty(), "{out:?}");
    assert_eq!(
        (s.files, s.lines, s.bytes, s.records),
        (1, 2000, data_bytes("twsla-testlog/syslog.log").len() as u64, 2000)
    );
    assert_eq!((s.out_of_range, s.filtered, s.skipped_lines, s.unchanged), (0, 0, 0, 0));
    assert_eq!((s.segments, s.merged), (1, 0));
    assert!(s.problems.is_empty());
    assert!(s.elapsed > 0.0 && s.elapsed < 60.0, "elapsed {}", s.elapsed);
});

twtest!(syslog_import_plain_summary_line, |dir| {
    let out = dir.cmd("import").arg(syslog()).run();
    out.code(0);
    let lines = out.lines();
    assert_eq!(lines.len(), 1, "{out:?}");
    let l = &lines[0];
    assert!(l.starts_with("Total file=1 line=2,000 byte=216 kB time="), "{l}");
    // A second run reports the unchanged file on a second line.
    let out = dir.cmd("import").arg(syslog()).run();
    out.code(0);
    let lines = out.lines();
    assert_eq!(lines.len(), 2, "{out:?}");
    assert!(lines[0].starts_with("Total file=1 line=0 byte=0 B time="), "{}", lines[0]);
    assert_eq!(lines[1], "  records=0 unchanged=1");
    // -q prints nothing.
    let out = dir.cmd("import").arg("-q").arg(syslog()).run();
    out.code(0);
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
});

twtest!(syslog_first_last_and_distinct_times, |dir| {
    dir.import(&[syslog()]).0.code(0);
    let rows = dir.rows::<&str>(&[]);
    assert_eq!(rows.len(), 2000);
    assert_eq!(
        rows[0].text,
        "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 \
         euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 "
    );
    assert_eq!(rows[0].time, "2005-06-14T15:16:01.000000000Z");
    assert_eq!(rows[0].line, 1);
    let last = rows.last().unwrap();
    assert_eq!(
        last.text,
        "Jul 27 14:42:00 combo kernel: Linux agpgart interface v0.100 (c) Dave Jones"
    );
    assert_eq!(last.time, "2005-07-27T14:42:00.000000000Z");
    assert_eq!(last.line, 2000);
    let distinct: BTreeSet<&str> = rows.iter().map(|r| r.time.as_str()).collect();
    assert_eq!(distinct.len(), 620);
});

twtest!(syslog_ndjson_rows_match_the_file, |dir| {
    dir.import(&[syslog()]).0.code(0);
    let lines = data_lines("twsla-testlog/syslog.log");
    let rows = dir.rows::<&str>(&[]);
    let src = syslog().display().to_string();
    let mut seen = BTreeSet::new();
    for r in &rows {
        assert_eq!(r.source, src);
        assert!(r.text_b64.is_none());
        let l = &lines[(r.line - 1) as usize];
        assert_eq!(&r.text, l, "line {}", r.line);
        assert_eq!(r.time, syslog_time(l, 2005), "line {}", r.line);
        assert!(seen.insert(r.line), "line {} twice", r.line);
    }
    assert_eq!(seen, (1..=2000).collect());
});

twtest!(multi_default_grouping, |dir| {
    let (out, s) = dir.import(&[data(MULTI)]);
    out.code(0);
    assert_eq!((s.lines, s.records, s.skipped_lines), (21, 3, 0));
    let l = data_lines(MULTI);
    let rows = dir.rows::<&str>(&[]);
    assert_eq!(
        spans(&rows),
        vec![(1, join_lines(&l, 1, 3)), (4, join_lines(&l, 4, 7)), (8, join_lines(&l, 8, 21))]
    );
    let times: Vec<&str> = rows.iter().map(|r| r.time.as_str()).collect();
    assert_eq!(
        times,
        [
            "2024-05-01T10:00:00.000000000Z",
            "2024-05-01T10:01:00.000000000Z",
            "2024-05-01T10:02:00.000000000Z"
        ]
    );
    assert_eq!(
        rows[1].text,
        "2024/05/01 10:01:00 [ERROR] Failed to connect\n  stacktrace:\n    at connection.go:123\n    at main.go:45"
    );
});

twtest!(multi_ml_start, |dir| {
    let (out, s) = dir.import(&[
        "--mlStart".as_ref(),
        r"^\d{4}/\d{2}/\d{2}".as_ref(),
        data(MULTI).as_os_str(),
    ]);
    out.code(0);
    assert_eq!((s.lines, s.records, s.skipped_lines), (21, 3, 0));
    let l = data_lines(MULTI);
    let rows = dir.rows::<&str>(&[]);
    assert_eq!(
        spans(&rows),
        vec![(1, join_lines(&l, 1, 3)), (4, join_lines(&l, 4, 7)), (8, join_lines(&l, 8, 21))]
    );
});

twtest!(multi_ml_sep_keeps_every_line, |dir| {
    let (out, s) = dir.import(&["--mlSep".as_ref(), "^---$".as_ref(), data(MULTI).as_os_str()]);
    out.code(0);
    assert_eq!((s.lines, s.records, s.skipped_lines), (21, 4, 0));
    let l = data_lines(MULTI);
    let rows = dir.rows::<&str>(&[]);
    // [1-9] ends with the separator; the blocks without a timestamp of their own take the
    // last time seen before them (10:02:00, inside [1-9]); the last block has no separator
    // and still counts.
    assert_eq!(
        spans(&rows),
        vec![
            (1, join_lines(&l, 1, 9)),
            (10, join_lines(&l, 10, 12)),
            (13, join_lines(&l, 13, 15)),
            (16, join_lines(&l, 16, 21)),
        ]
    );
    assert!(rows[0].text.ends_with("\n---"));
    assert_eq!(rows[0].time, "2024-05-01T10:00:00.000000000Z");
    for r in &rows[1..] {
        assert_eq!(r.time, "2024-05-01T10:02:00.000000000Z", "line {}", r.line);
    }
});

twtest!(multi_ml_lines_keeps_every_line, |dir| {
    let (out, s) = dir.import(&["--mlLines", "3", data(MULTI).to_str().unwrap()]);
    out.code(0);
    assert_eq!((s.lines, s.records, s.skipped_lines), (21, 7, 0));
    let l = data_lines(MULTI);
    let rows = dir.rows::<&str>(&[]);
    let want: Vec<(u64, String)> =
        (0..7).map(|i| (3 * i as u64 + 1, join_lines(&l, 3 * i + 1, 3 * i + 3))).collect();
    assert_eq!(spans(&rows), want);
    let times: Vec<&str> = rows.iter().map(|r| &r.time[11..19]).collect();
    // [7-9] starts with a continuation line; its first timestamp (line 8) dates it.
    assert_eq!(
        times,
        ["10:00:00", "10:01:00", "10:02:00", "10:02:00", "10:02:00", "10:02:00", "10:02:00"]
    );
});

twtest!(leading_lines_without_timestamp_take_the_first_time, |dir| {
    let f = dir.write(
        "lead.log",
        "header one\nheader two\n2024-01-01 00:00:00 first\n  cont\n2024-01-01 00:00:01 second\n",
    );
    let (out, s) = dir.import(&[&f]);
    out.code(0);
    assert_eq!((s.lines, s.records, s.skipped_lines), (5, 3, 0));
    let rows = dir.rows::<&str>(&[]);
    assert_eq!(
        spans(&rows),
        vec![
            (1, "header one\nheader two".to_string()),
            (3, "2024-01-01 00:00:00 first\n  cont".to_string()),
            (5, "2024-01-01 00:00:01 second".to_string()),
        ]
    );
    assert_eq!(rows[0].time, "2024-01-01T00:00:00.000000000Z");
    assert_eq!(rows[1].time, "2024-01-01T00:00:00.000000000Z");
});

twtest!(line_terminators_and_invalid_utf8, |dir| {
    let f = dir.write(
        "t.log",
        b"2024-01-01 00:00:00 caf\xe9 latin1\r\n2024-01-01 00:00:01 plain\n\n2024-01-01 00:00:02 after empty\r\n   \r\n2024-01-01 00:00:03 no terminator"
            .as_slice(),
    );
    let (out, s) = dir.import(&[&f]);
    out.code(0);
    assert_eq!((s.lines, s.records), (6, 4));
    let rows = dir.rows::<&str>(&[]);
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].text, "2024-01-01 00:00:00 caf\u{fffd} latin1");
    // Lossless copy of the raw bytes.
    assert_eq!(rows[0].text_b64.as_deref(), Some("MjAyNC0wMS0wMSAwMDowMDowMCBjYWbpIGxhdGluMQ=="));
    assert_eq!((rows[1].line, rows[1].text.as_str()), (2, "2024-01-01 00:00:01 plain\n"));
    assert_eq!((rows[2].line, rows[2].text.as_str()), (4, "2024-01-01 00:00:02 after empty\n   "));
    assert_eq!((rows[3].line, rows[3].text.as_str()), (6, "2024-01-01 00:00:03 no terminator"));
    assert!(rows[1..].iter().all(|r| r.text_b64.is_none()));
    // Plain search writes the raw bytes.
    let out = dir.cmd("search").arg("latin1").run();
    out.code(0);
    assert_eq!(out.stdout, b"2024-01-01 00:00:00 caf\xe9 latin1\n");
});

/// `(file, time of line 1, time of line 2000)`; a time starting with `-` has no year in the
/// file (year from the file's mtime): only the part after the year is checked.
const LOGHUB: [(&str, &str, &str); 16] = [
    ("Android/Android_2k.log", "-03-17T16:13:38.811000000Z", "-03-17T16:16:09.141000000Z"),
    ("Apache/Apache_2k.log", "2005-12-04T04:47:44.000000000Z", "2005-12-05T19:15:57.000000000Z"),
    ("BGL/BGL_2k.log", "2005-06-03T22:42:50.000000000Z", "2006-01-03T15:13:09.000000000Z"),
    ("HDFS/HDFS_2k.log", "2008-11-09T20:36:15.000000000Z", "2008-11-11T10:20:17.000000000Z"),
    ("HPC/HPC_2k.log", "2004-02-26T14:12:22.000000000Z", "2005-12-15T18:25:39.000000000Z"),
    ("Hadoop/Hadoop_2k.log", "2015-10-18T18:01:47.978000000Z", "2015-10-18T18:10:55.202000000Z"),
    (
        "HealthApp/HealthApp_2k.log",
        "2017-12-23T22:15:29.606000000Z",
        "2017-12-24T01:02:35.789000000Z",
    ),
    ("Linux/Linux_2k.log", "2005-06-14T15:16:01.000000000Z", "2005-07-27T14:42:00.000000000Z"),
    ("Mac/Mac_2k.log", "2017-07-01T09:00:55.000000000Z", "2017-07-08T08:10:46.000000000Z"),
    ("OpenSSH/OpenSSH_2k.log", "-12-10T06:55:46.000000000Z", "-12-10T11:04:45.000000000Z"),
    (
        "OpenStack/OpenStack_2k.log",
        "2017-05-16T00:00:00.008000000Z",
        "2017-05-16T00:14:47.687000000Z",
    ),
    ("Proxifier/Proxifier_2k.log", "-10-30T16:49:06.000000000Z", "-07-27T10:23:42.000000000Z"),
    ("Spark/Spark_2k.log", "2017-06-09T20:10:40.000000000Z", "2017-06-09T20:11:11.000000000Z"),
    (
        "Thunderbird/Thunderbird_2k.log",
        "2005-11-09T20:01:01.000000000Z",
        "2005-11-09T20:15:32.000000000Z",
    ),
    ("Windows/Windows_2k.log", "2016-09-28T04:30:30.000000000Z", "2016-09-29T02:04:40.000000000Z"),
    (
        "Zookeeper/Zookeeper_2k.log",
        "2015-07-29T17:41:44.747000000Z",
        "2015-08-10T18:12:34.004000000Z",
    ),
];

fn check_time(got: &str, want: &str, what: &str) {
    if want.starts_with('-') {
        assert!(got.ends_with(want), "{what}: {got} vs ????{want}");
        let year: i32 = got[..4].parse().unwrap();
        assert!((2000..=2100).contains(&year), "{what}: {got}");
    } else {
        assert_eq!(got, want, "{what}");
    }
}

twtest!(loghub_all_sixteen_import_line_for_line, |dir| {
    let paths: Vec<_> = LOGHUB.iter().map(|(f, _, _)| data(&format!("loghub/{f}"))).collect();
    let (out, s) = dir.import(&paths);
    out.code(0);
    assert!(s.problems.is_empty(), "{:?}", s.problems);
    assert_eq!((s.files, s.lines, s.records, s.skipped_lines), (16, 32000, 32000, 0));
    let rows = dir.rows::<&str>(&[]);
    assert_eq!(rows.len(), 32000);
    let mut by_source: BTreeMap<&str, BTreeMap<u64, &crate::util::Row>> = BTreeMap::new();
    for r in &rows {
        assert!(!r.text.contains('\r'), "CR kept in {}:{}", r.source, r.line);
        assert!(by_source.entry(&r.source).or_default().insert(r.line, r).is_none());
    }
    for ((f, first, last), path) in LOGHUB.iter().zip(&paths) {
        let lines: Vec<String> = split_lines(&std::fs::read(path).unwrap())
            .into_iter()
            .map(|l| String::from_utf8(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2000, "{f}");
        let got = &by_source[path.to_str().unwrap()];
        assert_eq!(got.len(), 2000, "{f}: every line is its own record");
        for (i, l) in lines.iter().enumerate() {
            assert_eq!(&got[&(i as u64 + 1)].text, l, "{f}:{}", i + 1);
        }
        check_time(&got[&1].time, first, &format!("{f}:1"));
        check_time(&got[&2000].time, last, &format!("{f}:2000"));
    }
    // Output is in time order.
    assert!(rows.windows(2).all(|w| w[0].time <= w[1].time));
    let v = dir.cmd("verify").run();
    v.code(0);
    assert!(v.text().contains("rows=32,000 sources=16"), "{v:?}");
    assert!(v.text().trim_end().ends_with(": OK"), "{v:?}");
});

twtest!(stdin_import, |dir| {
    let body = data_bytes("twsla-testlog/syslog.log");
    let out = dir.cmd("import").arg("--ndjson").arg("-").stdin(body.clone()).run();
    out.code(0);
    let s = out.summary();
    assert_eq!((s.files, s.lines, s.bytes, s.records), (1, 2000, body.len() as u64, 2000));
    let rows = dir.rows::<&str>(&[]);
    assert_eq!(rows.len(), 2000);
    assert!(rows.iter().all(|r| r.source.starts_with("stdin@")), "{:?}", rows[0]);
    assert_eq!(rows[0].time, "2005-06-14T15:16:01.000000000Z");
    assert_eq!(rows[1999].line, 2000);
    // Equal to the same data imported from the file.
    let other = dir.join("file-store");
    dir.cmd_on(&other, "import").arg(syslog()).run().code(0);
    let a = dir.cmd("search").run();
    let b = dir.cmd_on(&other, "search").run();
    assert_eq!(a.stdout, b.stdout);
});

twtest!(no_timestamp_file_and_no_ts, |dir| {
    let f = dir.write("plain.txt", "hello\nworld\nagain\n");
    let (out, s) = dir.import(&[&f]);
    out.code(1);
    assert_eq!((s.lines, s.records, s.skipped_lines), (3, 0, 3));
    assert_eq!(s.problems.len(), 1);
    let p = &s.problems[0];
    assert_eq!(
        (p.source.as_str(), p.line, p.kind.as_str()),
        (f.to_str().unwrap(), Some(1), "no_timestamp")
    );
    assert_eq!(out.warnings(), [format!("twsla: warning: {}:1: {}", f.display(), p.message)]);
    // Not consumed: --noTS imports it afterwards, every record at the import time.
    let before = now_rfc3339();
    let (out, s) = dir.import(&["--noTS".as_ref(), f.as_os_str()]);
    let after_import = now_rfc3339();
    out.code(0);
    assert_eq!((s.lines, s.records, s.skipped_lines), (3, 3, 0));
    let rows = dir.rows::<&str>(&[]);
    let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(texts, ["hello", "world", "again"]);
    assert!(rows.iter().all(|r| r.time == rows[0].time));
    let after = after_import;
    assert!(before <= rows[0].time && rows[0].time <= after, "{before} {} {after}", rows[0].time);
});

fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

twtest!(version_and_usage_errors, |dir| {
    let out = Cmd::bare().arg("version").run();
    out.code(0);
    assert_eq!(out.text(), format!("twsla {}\n", env!("CARGO_PKG_VERSION")));
    let out = dir.cmd("import").run();
    out.code(2);
    assert!(out.stderr.contains("no source given"), "{out:?}");
    let out = dir.cmd("import").arg("--bogus").arg("x").run();
    out.code(2);
    let out = dir.cmd("search").run();
    out.code(2);
    assert!(out.stderr.contains("no twsla store at"), "{out:?}");
    assert!(!dir.store().exists());
});

twtest!(source_option_and_positional_sources, |dir| {
    let multi = data(MULTI);
    let out = dir.cmd("import").arg("--ndjson").arg("-s").arg(&multi).arg(syslog()).run();
    out.code(0);
    let s = out.summary();
    assert_eq!((s.files, s.records), (2, 2003));
    // The same source twice in one run is read once.
    let other = dir.join("other");
    let out = dir.cmd_on(&other, "import").arg("--ndjson").arg(&multi).arg(&multi).run();
    out.code(0);
    assert_eq!(out.summary().records, 3);
});

// Source ids follow the input order (not which reader thread reaches a file first), so the
// order of records with equal timestamps is the same on every import of the same inputs.
twtest!(source_ids_follow_input_order, |dir| {
    use std::io::Write;
    // Gzip files first: their id used to be taken only after their header was decompressed,
    // so a plain file read by another thread could overtake them.
    let mut inputs = Vec::new();
    for (i, name) in
        ["Linux/Linux_2k.log", "Apache/Apache_2k.log", "HDFS/HDFS_2k.log"].iter().enumerate()
    {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&crate::util::data_bytes(&format!("loghub/{name}"))).unwrap();
        inputs.push(dir.write(&format!("g{i}.log.gz"), gz.finish().unwrap()));
    }
    for name in ["OpenSSH/OpenSSH_2k.log", "Zookeeper/Zookeeper_2k.log", "Mac/Mac_2k.log"] {
        inputs.push(crate::util::data(&format!("loghub/{name}")));
    }
    let sources = |store: &std::path::Path| -> Vec<String> {
        let text = std::fs::read_to_string(store.join("MANIFEST")).unwrap();
        let body = text.split_once('\n').unwrap().1;
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        v["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["path"].as_str().unwrap().to_string())
            .collect()
    };
    let want = |inputs: &[std::path::PathBuf]| -> Vec<String> {
        inputs.iter().map(|p| std::fs::canonicalize(p).unwrap().display().to_string()).collect()
    };
    for round in 0..4 {
        let mut order = inputs.clone();
        if round % 2 == 1 {
            order.reverse();
        }
        let store = dir.join(&format!("s{round}"));
        dir.cmd_on(&store, "import").args(&order).run().code(0);
        assert_eq!(sources(&store), want(&order), "round {round}");
    }
});
