//! `tfidf`: the rare lines of `syslog.log` (spec §10.2), `-n`, `-l`/`-c`, filters and `-t`,
//! exit codes, bad input, and golden NDJSON on loghub corpora.

use serde::Deserialize;

use crate::util::{DATA, TestDir, data, data_lines, syslog, twtest};

/// One `tfidf --ndjson` row.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    time: String,
    source: String,
    line: u64,
    text: String,
    min: Option<f64>,
    mean: Option<f64>,
    max: Option<f64>,
}

fn imported() -> TestDir {
    let dir = TestDir::new("tfidf");
    dir.import(&[syslog()]).0.code(0);
    dir
}

fn rows(dir: &TestDir, args: &[&str]) -> Vec<Row> {
    let out = dir.cmd("tfidf").arg("--ndjson").args(args).run();
    out.code(0);
    assert!(out.stderr.is_empty(), "{out:?}");
    out.lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad row {e}: {l}")))
        .collect()
}

fn r3(x: Option<f64>) -> f64 {
    (x.unwrap() * 1000.0).round() / 1000.0
}

fn redacted(text: &str) -> String {
    let dir = std::fs::canonicalize(DATA).unwrap().display().to_string();
    text.replace(&dir, "[data]")
}

#[test]
fn syslog_has_three_rare_lines() {
    let dir = imported();
    let got = rows(&dir, &[]);
    let lines = data_lines("twsla-testlog/syslog.log");
    let stats: Vec<[f64; 3]> = got.iter().map(|r| [r3(r.min), r3(r.mean), r3(r.max)]).collect();
    assert_eq!(stats, [[0.038, 0.115, 0.338], [0.039, 0.201, 0.435], [0.020, 0.096, 0.498]]);
    assert!(got[0].text.starts_with("Jun 20 04:44:39 combo snmpd[2318]: Received SNMP packet(s)"));
    assert!(got[1].text.starts_with("Jul 27 10:59:53 combo ftpd[31985]: connection from 218.38"));
    assert!(got[2].text.starts_with("Jul 27 14:41:57 combo kernel: Linux version 2.6.5-1.358"));
    for r in &got {
        // Each row names its own line.
        assert_eq!(lines[r.line as usize - 1], r.text);
        assert!(r.source.ends_with("syslog.log"));
    }
    // Explicit defaults are the same.
    assert_eq!(rows(&dir, &["-l", "0.5", "-c", "0"]), got);
}

#[test]
fn syslog_top_ten() {
    let dir = imported();
    let got = rows(&dir, &["-n", "10"]);
    let maxes: Vec<f64> = got.iter().map(|r| r3(r.max)).collect();
    assert_eq!(maxes, [0.338, 0.435, 0.498, 0.539, 0.545, 0.581, 0.583, 0.585, 0.585, 0.588]);
    assert!(got[3].text.contains("apm: BIOS version 1.2"));
    assert!(got[4].text.contains("Linux agpgart interface"));
    assert!(got[5].text.contains("Memory: 125312k/129720k"));
    assert!(got[6].text.contains("Linux Plug and Play Support"));
    // The tie at 0.585 is broken by time.
    assert!(got[7].text.contains("hcid[1690]: HCI daemon ver 2.4 started"));
    assert!(got[8].text.contains("Real Time Clock Driver v1.12"));
    assert!(got[9].text.starts_with("Jul 11 11:33:13 combo gdm(pam_unix)[2803]: authentication"));
    // -n ignores -l and -c.
    assert_eq!(rows(&dir, &["-n", "10", "-l", "0.1", "-c", "7"]), got);
    // More rows than documents: every line, in time order.
    let small = rows(&dir, &["-n", "5000", "-f", "kernel"]);
    assert_eq!(small.len(), 77, "distinct kernel lines");
    assert!(small.windows(2).all(|w| w[0].time <= w[1].time));
}

#[test]
fn limit_and_count() {
    let dir = imported();
    let strict = rows(&dir, &["-l", "0.4"]);
    let loose = rows(&dir, &["-l", "0.6"]);
    let counted = rows(&dir, &["-c", "3"]);
    // A lower threshold finds fewer rare lines; allowing neighbours finds more.
    assert!(strict.len() < 3 && loose.len() > 3, "{} {}", strict.len(), loose.len());
    assert!(counted.len() > 3);
    for r in &strict {
        assert!(r.max.unwrap() <= 0.4);
    }
    for r in rows(&dir, &[]) {
        assert!(loose.contains(&r) && counted.contains(&r));
    }
}

#[test]
fn filters_and_time_range_apply() {
    let dir = imported();
    let kernel = rows(&dir, &["-f", "kernel"]);
    assert!(!kernel.is_empty());
    assert!(kernel.iter().all(|r| r.text.contains("kernel")));
    let positional = rows(&dir, &["kernel"]);
    assert_eq!(positional, kernel);
    let day = rows(&dir, &["-t", "2005-07-27T00:00:00Z,2005-07-28T00:00:00Z"]);
    assert!(!day.is_empty());
    assert!(day.iter().all(|r| r.time.starts_with("2005-07-27")), "{day:?}");
    let none = dir.cmd("tfidf").arg("--ndjson").arg("-f").arg("zzqqnothere").run();
    none.code(1);
    assert!(none.stdout.is_empty());
}

twtest!(bad_limit_is_an_error, |dir| {
    dir.import(&[syslog()]).0.code(0);
    let out = dir.cmd("tfidf").args(&["-l", "nan"]).run();
    out.code(2);
    assert!(out.stderr.contains("--limit"), "{out:?}");
    let out = dir.cmd("tfidf").args(&["-l", "abc"]).run();
    out.code(2);
});

twtest!(lines_without_terms, |dir| {
    let f = dir.write("t.log", "alpha beta\nalpha beta gamma\nthe of and\nalpha gamma\n");
    let out = dir.cmd("import").args(&["--noTS", "--ndjson"]).arg(&f).run();
    out.code(0);
    let got = rows(&dir, &[]);
    // Only the line of stop words is rare: it has no term, so nothing is similar to it, and
    // its statistics are null (upstream: NaN, and NaN in every other line's mean too).
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].text.as_str(), got[0].min, got[0].mean, got[0].max),
        ("the of and", None, None, None)
    );
    let text = dir.cmd("tfidf").run();
    text.code(0);
    assert_eq!(text.text(), "the of and\tNaN\tNaN\tNaN\n");
});

#[test]
fn loghub_golden_ndjson() {
    for (name, rel) in [
        ("apache", "loghub/Apache/Apache_2k.log"),
        ("openssh", "loghub/OpenSSH/OpenSSH_2k.log"),
        ("hdfs", "loghub/HDFS/HDFS_2k.log"),
        ("zookeeper", "loghub/Zookeeper/Zookeeper_2k.log"),
    ] {
        let dir = TestDir::new(name);
        dir.import(&[data(rel)]).0.code(0);
        let lines = data_lines(rel);
        for (suffix, args) in [("", vec![]), ("_n20", vec!["-n", "20"])] {
            let out = dir.cmd("tfidf").arg("--ndjson").args(&args).run();
            out.code(0);
            let got: Vec<Row> =
                out.lines().iter().map(|l| serde_json::from_str(l).unwrap()).collect();
            for r in &got {
                assert_eq!(lines[r.line as usize - 1], r.text, "{rel}");
            }
            if !args.is_empty() {
                assert_eq!(got.len(), 20);
                assert!(got.windows(2).all(|w| w[0].max <= w[1].max));
            }
            insta::assert_snapshot!(format!("{name}_tfidf{suffix}_ndjson"), redacted(&out.text()));
        }
    }
}
