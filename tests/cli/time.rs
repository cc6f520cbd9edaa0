//! `time` (spec §6.8, §10.1): rows with Diff (from the marked row) and Delta (from the
//! previous row), the statistics row, `--mark`, filters, `-t`, errors and golden NDJSON.

use serde::Deserialize;

use crate::delay::redacted;
use crate::util::{TestDir, data, rfc3339_secs, syslog, syslog_records_in_time_order, twtest};

/// One `time --ndjson` object: a row or the final statistics.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
enum Obj {
    Row {
        index: u64,
        time: String,
        diff: f64,
        delta: f64,
        source: String,
        line: u64,
        text: String,
        #[serde(default)]
        text_b64: Option<String>,
    },
    Stats {
        rows: u64,
        mean: f64,
        median: f64,
        mode: Vec<f64>,
        stddev: f64,
    },
}

/// `(index, time, diff, delta, text)` of the rows, and the statistics.
type Rows = Vec<(u64, String, f64, f64, String)>;

fn run(dir: &TestDir, args: &[&str]) -> (Rows, Option<Obj>) {
    let out = dir.cmd("time").arg("--ndjson").args(args).run();
    assert!(out.code == 0 || out.code == 1, "{out:?}");
    let mut rows = Vec::new();
    let mut stats = None;
    for l in out.lines() {
        match serde_json::from_str::<Obj>(&l).unwrap_or_else(|e| panic!("bad object {e}: {l}")) {
            Obj::Row { index, time, diff, delta, text, .. } => {
                assert!(stats.is_none(), "a row after the statistics");
                rows.push((index, time, diff, delta, text));
            }
            s => stats = Some(s),
        }
    }
    (rows, stats)
}

/// Expected statistics of gaps (seconds): mean, median, mode (montanaflynn), population sd.
fn stats_of(gaps: &[f64], rows: u64) -> Obj {
    let n = gaps.len() as f64;
    let mean = gaps.iter().sum::<f64>() / n;
    let mut s = gaps.to_vec();
    s.sort_by(f64::total_cmp);
    let k = s.len();
    let median = if k % 2 == 1 { s[k / 2] } else { (s[k / 2 - 1] + s[k / 2]) / 2.0 };
    let mut runs: Vec<(f64, usize)> = Vec::new();
    for x in s {
        match runs.last_mut() {
            Some((y, c)) if *y == x => *c += 1,
            _ => runs.push((x, 1)),
        }
    }
    let best = runs.iter().map(|r| r.1).max().unwrap();
    let tops: Vec<f64> = runs.iter().filter(|r| r.1 == best).map(|r| r.0).collect();
    let mode =
        if runs.len() > 1 && (best == 1 || tops.len() == runs.len()) { vec![] } else { tops };
    let sd = (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / n).sqrt();
    Obj::Stats { rows, mean, median, mode, stddev: sd }
}

fn approx(a: &Obj, b: &Obj) {
    match (a, b) {
        (
            Obj::Stats { rows: r1, mean: m1, median: d1, mode: o1, stddev: s1 },
            Obj::Stats { rows: r2, mean: m2, median: d2, mode: o2, stddev: s2 },
        ) => {
            assert_eq!(r1, r2);
            assert_eq!(o1, o2);
            for (x, y) in [(m1, m2), (d1, d2), (s1, s2)] {
                assert!((x - y).abs() < 1e-9, "{a:?} vs {b:?}");
            }
        }
        _ => panic!("{a:?} vs {b:?}"),
    }
}

// Spec §10.1 (calcStats, updateTimeRows): rows at 1 s, 2 s, 4 s give deltas [1, 2]:
// Mean 1.500, Median 1.500, StdDiv 0.500, and no mode (all values distinct).
twtest!(upstream_vectors, |dir| {
    let f = dir
        .write("t.log", "1970-01-01T00:00:01Z a\n1970-01-01T00:00:02Z b\n1970-01-01T00:00:04Z c\n");
    dir.import(&[&f]).0.code(0);
    let (rows, stats) = run(&dir, &[]);
    let got: Vec<(f64, f64)> = rows.iter().map(|r| (r.2, r.3)).collect();
    assert_eq!(got, [(0.0, 0.0), (1.0, 1.0), (3.0, 2.0)]);
    assert_eq!(
        stats,
        Some(Obj::Stats { rows: 3, mean: 1.5, median: 1.5, mode: vec![], stddev: 0.5 })
    );
    // updateTimeRows(0) on rows at 1 s and 2 s: Diff [0, 1].
    let (rows, _) = run(&dir, &["-t", "1970-01-01T00:00:01Z,1970-01-01T00:00:02Z"]);
    assert_eq!(rows.iter().map(|r| r.2).collect::<Vec<_>>(), [0.0, 1.0]);
    // Mark row 2: Diff relative to it.
    let (rows, _) = run(&dir, &["--mark", "2"]);
    assert_eq!(rows.iter().map(|r| r.2).collect::<Vec<_>>(), [-3.0, -2.0, 0.0]);
    // One row: no statistics.
    let (rows, stats) = run(&dir, &["c"]);
    assert_eq!((rows.len(), stats), (1, None));
    // Plain output: time, diff, delta, text.
    let out = dir.cmd("time").run();
    out.code(0);
    assert_eq!(
        out.lines()[2],
        "1970-01-01T00:00:04.000000000Z\t3.000\t2.000\t1970-01-01T00:00:04Z c"
    );
});

#[test]
fn syslog_rows_and_stats() {
    let dir = TestDir::new("time");
    dir.import(&[syslog()]).0.code(0);
    let recs = syslog_records_in_time_order();
    for (filter, mark) in [("sshd", 0usize), ("kernel", 10), ("ftpd", 3)] {
        let sel: Vec<&(i64, String)> = recs.iter().filter(|r| r.1.contains(filter)).collect();
        let m = mark.to_string();
        let (rows, stats) = run(&dir, &[filter, "--mark", &m]);
        let want: Rows = sel
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let delta = if i == 0 { 0 } else { r.0 - sel[i - 1].0 };
                (i as u64, rfc3339_secs(r.0), (r.0 - sel[mark].0) as f64, delta as f64, r.1.clone())
            })
            .collect();
        // Records with equal times come in file order, which the expectation also uses.
        assert_eq!(rows, want, "{filter}");
        let gaps: Vec<f64> = sel.windows(2).map(|w| (w[1].0 - w[0].0) as f64).collect();
        approx(&stats.unwrap(), &stats_of(&gaps, sel.len() as u64));
    }
}

#[test]
fn marks_filters_and_errors() {
    let dir = TestDir::new("time-err");
    dir.import(&[syslog()]).0.code(0);
    let out = dir.cmd("time").args(&["kernel", "--mark", "1000"]).run();
    out.code(2);
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(out.stderr.contains("--mark 1000"), "{out:?}");
    let out = dir.cmd("time").args(&["--ndjson", "zzqqxx"]).run();
    out.code(1);
    assert!(out.stdout.is_empty());
    let out = dir.cmd("time").args(&["zzqqxx", "--mark", "3"]).run();
    out.code(1);
    for (args, needle) in [(&["--mark", "x"][..], "x"), (&["-v", "[a"], "\"[a\"")] {
        let out = dir.cmd("time").args(args).run();
        out.code(2);
        assert!(out.stderr.contains(needle), "{args:?}: {out:?}");
    }
    // Filters combine: -f, -r, -v and positional words.
    let (rows, _) = run(&dir, &["-f", "kernel", "-r", "PCI", "-v", "Probing", "^IRQ"]);
    let recs = syslog_records_in_time_order();
    let want: Vec<String> = recs
        .iter()
        .filter(|r| {
            r.1.contains("kernel")
                && r.1.contains("PCI")
                && !r.1.contains("Probing")
                && !r.1.contains("IRQ")
        })
        .map(|r| r.1.clone())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(rows.into_iter().map(|r| r.4).collect::<Vec<_>>(), want);
}

#[test]
fn loghub_time_ndjson_snapshot() {
    // A corpus with years in its timestamps (year-less ones depend on the file's mtime).
    let dir = TestDir::new("time-zookeeper");
    dir.import(&[data("loghub/Zookeeper/Zookeeper_2k.log")]).0.code(0);
    let out = dir.cmd("time").args(&["--ndjson", "Expiring session", "--mark", "1"]).run();
    out.code(0);
    assert!(out.lines().len() > 2, "{out:?}");
    insta::assert_snapshot!("zookeeper_time_expiring_ndjson", redacted(&out.text()));
}
