//! `extract`: per-record values with delta and rate, `--stats`, JSON naming, filters,
//! exit codes (spec §1.5, §6.3, §10.2), and golden NDJSON.
//!
//! Expected rows are computed here: times from the generated lines, values with the spec's
//! regexes, `delta`/`ps` and statistics by the rules of §6.3 (population variance,
//! montanaflynn's mode).

use serde_json::{Map, Value};

use crate::util::{
    TestDir, go_regex, nth_group1, rfc3339_secs, spec_keyword, syslog,
    syslog_records_in_time_order, twtest, unix_secs,
};

const NS: i64 = 1_000_000_000;

/// One expected row.
#[derive(Debug, Clone, PartialEq)]
struct Want {
    time: String,
    value: String,
    delta: f64,
    ps: f64,
}

/// RFC 3339 (ns, `Z`) of Unix nanoseconds.
fn rfc3339_ns(ns: i64) -> String {
    let s = rfc3339_secs(ns.div_euclid(NS));
    format!("{}.{:09}Z", &s[..19], ns.rem_euclid(NS))
}

/// The value as a number: Go `strconv.ParseFloat`, 0 when it fails.
fn num(v: &str) -> f64 {
    v.parse::<f64>().ok().filter(|x| x.is_finite()).unwrap_or(0.0)
}

/// Spec §6.3: rows in time order; `delta` = value − previous value, `ps` = delta per
/// second of time since the previous row (0 when no time passed); the first row 0/0.
fn expected(recs: &[(i64, String)], value: impl Fn(&str) -> Option<String>) -> Vec<Want> {
    let mut out = Vec::new();
    let mut prev: Option<(i64, f64)> = None;
    for (ns, text) in recs {
        let Some(v) = value(text) else { continue };
        let n = num(&v);
        let (delta, ps) = match prev {
            None => (0.0, 0.0),
            Some((t, p)) => {
                let d = n - p;
                (d, if *ns > t { d / ((*ns - t) as f64 / 1e9) } else { 0.0 })
            }
        };
        prev = Some((*ns, n));
        out.push(Want { time: rfc3339_ns(*ns), value: v, delta, ps });
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[track_caller]
fn assert_rows(got: &[Want], want: &[Want]) {
    assert_eq!(got.len(), want.len(), "row count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!((&g.time, &g.value), (&w.time, &w.value), "row {i}");
        assert!(close(g.delta, w.delta) && close(g.ps, w.ps), "row {i}: got {g:?}, want {w:?}");
    }
}

/// `extract --ndjson ARGS` parsed; the value field is called `name` and the objects have
/// exactly the four fields.
fn rows(dir: &TestDir, name: &str, args: &[&str]) -> Vec<Want> {
    // The NDJSON value field is always `value` (a -n name could collide with time/delta/ps).
    let _ = name;
    let name = "value";
    let out = dir.cmd("extract").arg("--ndjson").args(args).run();
    out.code(0);
    assert!(out.stderr.is_empty(), "{out:?}");
    out.lines()
        .iter()
        .map(|l| {
            let o: Map<String, Value> = serde_json::from_str(l).unwrap();
            let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
            keys.sort_unstable();
            let mut want = vec!["time", name, "delta", "ps"];
            want.sort_unstable();
            assert_eq!(keys, want, "{l}");
            Want {
                time: o["time"].as_str().unwrap().to_string(),
                value: o[name].as_str().unwrap_or_else(|| panic!("value not a string: {l}")).into(),
                delta: o["delta"].as_f64().unwrap(),
                ps: o["ps"].as_f64().unwrap(),
            }
        })
        .collect()
}

/// Min, max, mean, median, mode and population variance (spec §6.3; montanaflynn/stats
/// `Mode`: the smallest of the most frequent values, none (0) when every value is distinct
/// or when all distinct values are equally frequent, unless they are all one value).
fn stats(v: &[f64]) -> [f64; 6] {
    let n = v.len();
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let mean = v.iter().sum::<f64>() / n as f64;
    let median = if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 };
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
    let mut runs: Vec<(f64, usize)> = Vec::new();
    for &x in &s {
        match runs.last_mut() {
            Some(r) if r.0 == x => r.1 += 1,
            _ => runs.push((x, 1)),
        }
    }
    let max_cnt = runs.iter().map(|r| r.1).max().unwrap_or(0);
    let modes: Vec<f64> = runs.iter().filter(|r| r.1 == max_cnt).map(|r| r.0).collect();
    let mode = if n == 1 {
        s[0]
    } else if max_cnt == 1 || (modes.len() * max_cnt == n && max_cnt != n) {
        0.0
    } else {
        modes[0]
    };
    [s[0], s[n - 1], mean, median, mode, var]
}

const STATS: [&str; 6] = ["Min", "Max", "Mean", "Median", "Mode", "Variance"];

/// `extract --stats --ndjson ARGS` as `[value, delta, ps]` per statistic, in `STATS` order.
fn stat_rows(dir: &TestDir, name: &str, args: &[&str]) -> Vec<[f64; 3]> {
    let _ = name;
    let name = "value";
    let out = dir.cmd("extract").arg("--stats").arg("--ndjson").args(args).run();
    out.code(0);
    let lines = out.lines();
    assert_eq!(lines.len(), 6, "{out:?}");
    lines
        .iter()
        .zip(STATS)
        .map(|(l, stat)| {
            let o: Map<String, Value> = serde_json::from_str(l).unwrap();
            assert_eq!(o.len(), 4, "{l}");
            assert_eq!(o["stat"], stat, "{l}");
            [o[name].as_f64().unwrap(), o["delta"].as_f64().unwrap(), o["ps"].as_f64().unwrap()]
        })
        .collect()
}

#[track_caller]
fn assert_stats(got: &[[f64; 3]], want: &[Want]) {
    let cols = [
        stats(&want.iter().map(|w| num(&w.value)).collect::<Vec<_>>()),
        stats(&want.iter().map(|w| w.delta).collect::<Vec<_>>()),
        stats(&want.iter().map(|w| w.ps).collect::<Vec<_>>()),
    ];
    for (i, stat) in STATS.iter().enumerate() {
        for (c, col) in ["value", "delta", "ps"].iter().enumerate() {
            assert!(
                close(got[i][c], cols[c][i]),
                "{stat} of {col}: got {}, want {}",
                got[i][c],
                cols[c][i]
            );
        }
    }
}

/// Generated records `(ms offset from 2024-01-01T00:00:00Z, payload)`, in file order.
const GEN: [(i64, &str); 10] = [
    (0, "value=10 other=1"),
    (1000, "value=12 other=2"),
    (3000, "value=abc other=3"),
    (3000, "value=4 other=4"),
    (7000, "value=12 other=5"),
    // Out of time order in the file: extract goes by time.
    (12_000, "value=1e3 other=7"),
    (8000, "novalue here"),
    (10_000, "value=-2.5 other=6"),
    (13_500, "value=1003 other=8"),
    (15_250, "value=+7 other=x9"),
];

/// Writes and imports `recs`; returns them as `(ns, line)` in time order (stable).
fn import_generated(dir: &TestDir, recs: &[(i64, &str)]) -> Vec<(i64, String)> {
    let base = unix_secs("2024-01-01T00:00:00") * NS;
    let mut v: Vec<(i64, String)> = recs
        .iter()
        .map(|(ms, p)| {
            (
                base + ms * 1_000_000,
                format!("2024-01-01 00:00:{:02}.{:03} host app: {p}", ms / 1000, ms % 1000),
            )
        })
        .collect();
    let body: String = v.iter().map(|r| format!("{}\n", r.1)).collect();
    let f = dir.write("gen.log", body);
    let (out, s) = dir.import(&[&f]);
    out.code(0);
    assert_eq!(s.records, recs.len() as u64);
    v.sort_by_key(|r| r.0);
    v
}

fn group1(pat: &str, pos: usize) -> impl Fn(&str) -> Option<String> {
    let re = go_regex(pat);
    move |l: &str| nth_group1(&re, l, pos)
}

twtest!(values_delta_and_rate, |dir| {
    let recs = import_generated(&dir, &GEN);
    let want = expected(&recs, group1(r"value=(\S+)", 1));
    assert_eq!(want.len(), 9);
    let got = rows(&dir, "value", &["-e", r"value=(\S+)"]);
    assert_rows(&got, &want);
    // Spot checks written out: `abc` counts as 0; equal times give ps 0; 1e3 is 1000.
    let vals: Vec<&str> = got.iter().map(|w| w.value.as_str()).collect();
    assert_eq!(vals, ["10", "12", "abc", "4", "12", "-2.5", "1e3", "1003", "+7"]);
    let deltas: Vec<f64> = got.iter().map(|w| w.delta).collect();
    assert_eq!(deltas, [0.0, 2.0, -12.0, 4.0, 8.0, -14.5, 1002.5, 3.0, -996.0]);
    let ps: Vec<f64> = got.iter().map(|w| w.ps).collect();
    assert_eq!(ps, [0.0, 2.0, -6.0, 0.0, 2.0, -14.5 / 3.0, 501.25, 2.0, -996.0 / 1.75]);
    assert_eq!(got[7].time, "2024-01-01T00:00:13.500000000Z");
    // -p 2 takes the second match.
    let want2 = expected(&recs, group1(r"=(\S+)", 2));
    let got2 = rows(&dir, "value", &["-e", r"=(\S+)", "-p", "2"]);
    assert_rows(&got2, &want2);
    assert_eq!(got2.last().unwrap().value, "x9");
    // `number` mode, the 5th run of [-+0-9.] (after the 4 of the timestamp).
    let want_n = expected(&recs, group1(r"([-+0-9.]+)", 5));
    let got_n = rows(&dir, "value", &["-e", "number", "-p", "5"]);
    assert_rows(&got_n, &want_n);
    let vals: Vec<&str> = got_n.iter().map(|w| w.value.as_str()).collect();
    assert_eq!(vals, ["10", "12", "3", "4", "12", "-2.5", "1", "1003", "+7"]);
    // Plain text: time, value, delta, ps separated by tabs.
    let out = dir.cmd("extract").arg("-e").arg(r"value=(\S+)").run();
    out.code(0);
    let lines = out.lines();
    assert_eq!(lines.len(), want.len());
    assert_eq!(lines[0], "2024-01-01T00:00:00.000000000Z\t10\t0\t0");
    assert_eq!(lines[2], "2024-01-01T00:00:03.000000000Z\tabc\t-12\t-6");
    for (l, w) in lines.iter().zip(&want) {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f.len(), 4, "{l}");
        assert_eq!((f[0], f[1]), (w.time.as_str(), w.value.as_str()));
        assert!(close(f[2].parse().unwrap(), w.delta) && close(f[3].parse().unwrap(), w.ps), "{l}");
    }
    // -n names the value field.
    assert_rows(&rows(&dir, "v", &["-e", r"value=(\S+)", "-n", "v"]), &want);
});

twtest!(stats_exact, |dir| {
    let recs = import_generated(&dir, &GEN);
    let want = expected(&recs, group1(r"value=(\S+)", 1));
    let got = stat_rows(&dir, "value", &["-e", r"value=(\S+)"]);
    assert_stats(&got, &want);
    // Written out for the value column: 10 12 0 4 12 -2.5 1000 1003 7.
    let v = [10.0, 12.0, 0.0, 4.0, 12.0, -2.5, 1000.0, 1003.0, 7.0];
    let mean = v.iter().sum::<f64>() / 9.0;
    let col: Vec<f64> = got.iter().map(|r| r[0]).collect();
    assert_eq!(col[..2], [-2.5, 1003.0]);
    assert!(close(col[2], mean));
    assert_eq!(col[3..5], [10.0, 12.0], "median, mode");
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / 9.0;
    assert!(close(col[5], var), "population variance {} vs {var}", col[5]);
    // Plain: `Stat\tvalue\tdelta\tps`.
    let out = dir.cmd("extract").arg("--stats").arg("-e").arg(r"value=(\S+)").run();
    out.code(0);
    let lines = out.lines();
    assert_eq!(lines.len(), 6);
    for ((l, stat), g) in lines.iter().zip(STATS).zip(&got) {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f.len(), 4, "{l}");
        assert_eq!(f[0], stat);
        for c in 0..3 {
            assert_eq!(f[c + 1].parse::<f64>().unwrap(), g[c], "{l}");
        }
    }
    assert_eq!(lines[0], "Min\t-2.5\t-996\t-569.1428571428571");
    // The -n name also names the stats column.
    assert_stats(&stat_rows(&dir, "v", &["-e", r"value=(\S+)", "-n", "v"]), &want);
    // A filter narrows the set.
    let sub =
        expected(
            &recs,
            |l| {
                if l.ends_with("other=1") { None } else { group1(r"value=(\S+)", 1)(l) }
            },
        );
    assert_eq!(sub.len(), 8);
    assert_stats(&stat_rows(&dir, "value", &["-e", r"value=(\S+)", "^other=1$"]), &sub);
    // Nothing extracted: exit 1, no stats rows.
    let out = dir.cmd("extract").arg("--stats").arg("-e").arg(r"nothing=(\d+)").run();
    out.code(1);
    assert!(out.stdout.is_empty(), "{out:?}");
});

/// One value per second, `value=V`.
fn per_second(values: &[&str]) -> Vec<(i64, String)> {
    values.iter().enumerate().map(|(i, v)| (i as i64 * 1000, format!("value={v}"))).collect()
}

#[test]
fn stats_mode_rules() {
    for (i, (vals, mode)) in [
        (&["1", "2", "3"][..], 0.0),       // all distinct
        (&["1", "1", "2", "2"], 0.0),      // every value equally frequent
        (&["3", "1", "3", "2"], 3.0),      // one most frequent
        (&["5", "2", "5", "2", "9"], 2.0), // a tie: the smallest
        (&["7"], 7.0),                     // n = 1: the value
        (&["x", "y", "4"], 0.0),           // non-numeric values are 0: 0 twice
    ]
    .into_iter()
    .enumerate()
    {
        let d = TestDir::new(&format!("mode{i}"));
        let generated = per_second(vals);
        let refs: Vec<(i64, &str)> = generated.iter().map(|(t, s)| (*t, s.as_str())).collect();
        let recs = import_generated(&d, &refs);
        let want = expected(&recs, group1(r"value=(\S+)", 1));
        let got = stat_rows(&d, "value", &["-e", r"value=(\S+)"]);
        assert_eq!(got[4][0], mode, "{vals:?}");
        assert_stats(&got, &want);
    }
}

twtest!(stats_mode_all_equal, |dir| {
    // Values 7, 7, 7: montanaflynn/stats Mode returns [7] (maxCnt == len), so the Mode
    // row must show 7. Actual: 0 (analyze::extract::column_stats treats "every distinct
    // value equally frequent" as no mode even with a single distinct value).
    let generated = per_second(&["7", "7", "7"]);
    let refs: Vec<(i64, &str)> = generated.iter().map(|(t, s)| (*t, s.as_str())).collect();
    let recs = import_generated(&dir, &refs);
    let want = expected(&recs, group1(r"value=(\S+)", 1));
    let got = stat_rows(&dir, "value", &["-e", r"value=(\S+)"]);
    assert_eq!(got[4][0], 7.0, "Mode of 7,7,7");
    assert_stats(&got, &want);
});

#[test]
fn syslog_extract_ip_spec_vector() {
    let dir = TestDir::new("extract_ip");
    dir.import(&[syslog()]).0.code(0);
    let recs: Vec<(i64, String)> =
        syslog_records_in_time_order().into_iter().map(|(s, l)| (s * NS, l)).collect();
    let ip = format!("({})", spec_keyword("ip"));
    let want = expected(&recs, group1(&ip, 1));
    assert_eq!(want.len(), 1245);
    let got = rows(&dir, "value", &["-e", "ip"]);
    assert_eq!(got.len(), 1245);
    assert_rows(&got, &want);
    // Addresses are not numbers: every delta and rate is 0.
    assert!(got.iter().all(|w| w.delta == 0.0 && w.ps == 0.0));
    // A raw regex with a numeric group, with filters and a range.
    let uid = expected(&recs, group1(r"uid=(\d+)", 1));
    assert_rows(&rows(&dir, "value", &["-e", r"uid=(\d+)"]), &uid);
    assert_stats(&stat_rows(&dir, "value", &["-e", r"uid=(\d+)"]), &uid);
    let (a, b) = (unix_secs("2005-07-01T00:00:00") * NS, unix_secs("2005-07-10T00:00:00") * NS);
    let sel: Vec<(i64, String)> = recs
        .iter()
        .filter(|(t, l)| a <= *t && *t <= b && l.contains("sshd") && !l.contains("root"))
        .cloned()
        .collect();
    let want = expected(&sel, group1(r"uid=(\d+)", 1));
    assert!(!want.is_empty());
    let got = rows(
        &dir,
        "uid",
        &["-e", r"uid=(\d+)", "-n", "uid", "-t", "2005/7/1,2005/7/10", "sshd", "^root"],
    );
    assert_rows(&got, &want);
    // -f and the authentication-failure lines: the same rows as `count -e ip -f`.
    let af = expected(&recs, |l| {
        if l.contains("authentication failure") { group1(&ip, 1)(l) } else { None }
    });
    assert_rows(&rows(&dir, "value", &["-e", "ip", "-f", "authentication failure"]), &af);
}

#[test]
fn syslog_extract_uid_snapshot() {
    let dir = TestDir::new("extract_uid");
    dir.import(&[syslog()]).0.code(0);
    let out = dir.cmd("extract").arg("-e").arg(r"uid=(\d+)").arg("--ndjson").run();
    out.code(0);
    let first: String = out.text().lines().take(30).map(|l| format!("{l}\n")).collect();
    insta::assert_snapshot!("syslog_extract_uid_ndjson_30", first);
}

twtest!(json_values_and_naming, |dir| {
    let recs = import_generated(
        &dir,
        &[
            (0, r#"{"a":{"b":3},"Score":1.5,"n":1000000}"#),
            (2000, r#"{"a":{"b":1.5},"Score":2,"n":0.00001}"#),
            (3000, r#"{"a":{"b":"str"},"Score":-0.5}"#),
            (4000, "not json"),
            (6000, r#"{"a":{"b":1e2}}"#),
        ],
    );
    let vals = |v: &[&str]| -> Vec<String> { v.iter().map(|s| s.to_string()).collect() };
    let ab = rows(&dir, "$.a.b", &["-e", "json", "-n", "$.a.b"]);
    assert_eq!(
        ab.iter().map(|w| w.value.clone()).collect::<Vec<_>>(),
        vals(&["3", "1.5", "str", "100"])
    );
    // Go-style numbers, and the delta/rate from them ("str" counts as 0).
    let want = expected(&recs, |l| {
        let j: Value = serde_json::from_str(&l[l.find('{')?..]).ok()?;
        Some(match &j["a"]["b"] {
            Value::String(s) => s.clone(),
            Value::Number(n) => {
                let f = n.as_f64().unwrap();
                if f.fract() == 0.0 { format!("{f:.0}") } else { f.to_string() }
            }
            _ => return None,
        })
    });
    assert_rows(&ab, &want);
    assert_eq!(ab[1].ps, -0.75);
    // A bare name is a top-level member; the field is named as given.
    let sc = rows(&dir, "Score", &["-e", "json", "-n", "Score"]);
    assert_eq!(sc.iter().map(|w| w.value.clone()).collect::<Vec<_>>(), vals(&["1.5", "2", "-0.5"]));
    let n = rows(&dir, "n", &["-e", "json", "-n", "n"]);
    assert_eq!(n.iter().map(|w| w.value.clone()).collect::<Vec<_>>(), vals(&["1e+06", "1e-05"]));
    assert!(close(n[1].delta, 0.00001 - 1e6));
    // Stats named after -n.
    let st = stat_rows(&dir, "$.a.b", &["-e", "json", "-n", "$.a.b"]);
    assert_stats(&st, &want);
    assert_eq!(st[1][0], 100.0);
});

#[test]
fn extract_exit_codes() {
    let dir = TestDir::new("extract_codes");
    dir.import(&[syslog()]).0.code(0);
    for args in [
        &["-e", r"nothing=(\d+)"][..],
        &["-e", "ip", "no such text anywhere"],
        &["-e", "ip", "-t", "2001/1/1,1d"],
        &["-e", "ip", "-p", "9"],
        &["-e", "uuid"],
        &["--ndjson", "-e", "json", "-n", "x"],
    ] {
        let out = dir.cmd("extract").args(args).run();
        out.code(1);
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
    }
    for (args, needle) in [
        (&["-e", "IP"][..], "capture group"),
        (&["-e", r"uid=\d+"], "capture group"),
        (&["-e", "uid=(\\d+"], "uid=("),
        (&["-e", "json", "-n", "$["], "JSONPath"),
        (&["-e", "ip", "-t", "garbage"], "\"garbage\""),
        (&["-e", "ip", "-t", "2005/6/14,2005/6/13"], "start is after the end"),
        (&["-e", "ip", "-r", "("], "\"(\""),
        (&["-e", "ip", "-v", "[a"], "\"[a\""),
    ] {
        for stats in [false, true] {
            let mut c = dir.cmd("extract");
            if stats {
                c.arg("--stats");
            }
            let out = c.args(args).run();
            out.code(2);
            assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
            assert!(out.stderr.starts_with("twsla: error: "), "{args:?}: {out:?}");
            assert!(out.stderr.contains(needle), "{args:?}: {out:?}");
        }
    }
    // -e is required.
    let out = dir.cmd("extract").run();
    out.code(2);
    assert!(out.stdout.is_empty());
}

twtest!(json_default_name_is_value, |dir| {
    // Spec §6.3: for extract, -n defaults to "Value", which is also the JSONPath of
    // `-e json`. Input `{"Value":5}` then `{"Value":8}` one second apart: expected rows
    // 5 and 8 (delta 3, ps 3). Actual: exit 2, `invalid JSONPath (-n) "": at position
    // 2, in dot member name, must start with lowercase alpha or '_'`.
    import_generated(&dir, &[(0, r#"{"Value":5}"#), (1000, r#"{"Value":8}"#)]);
    let out = dir.cmd("extract").arg("--ndjson").arg("-e").arg("json").run();
    out.code(0);
    let vals: Vec<String> = out
        .lines()
        .iter()
        .map(|l| {
            let o: Map<String, Value> = serde_json::from_str(l).unwrap();
            let v = o.get("Value").or_else(|| o.get("value")).unwrap();
            v.as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(vals, ["5", "8"]);
});

twtest!(value_name_colliding_with_a_field, |dir| {
    // `extract -e json -n time --ndjson` on `{"time":7}` at 00:00:01 and `{"time":9}` at
    // 00:00:03 prints `{"time":"7","delta":0.0,"ps":0.0}`: the record time is lost
    // (and `-n delta` loses the value, `--stats -n stat` loses the statistic's name).
    // Expected: either a usage error (exit 2) or rows that keep all four fields.
    import_generated(
        &dir,
        &[
            (1000, r#"{"time":7,"delta":5,"ps":2,"stat":1}"#),
            (3000, r#"{"time":9,"delta":6,"ps":2,"stat":1}"#),
        ],
    );
    for name in ["time", "delta", "ps"] {
        let out = dir.cmd("extract").args(&["--ndjson", "-e", "json", "-n", name]).run();
        if out.code == 2 {
            continue;
        }
        out.code(0);
        for l in out.lines() {
            let o: Map<String, Value> = serde_json::from_str(&l).unwrap();
            assert_eq!(o.len(), 4, "-n {name}: {l}");
        }
    }
    let out = dir.cmd("extract").args(&["--ndjson", "--stats", "-e", "json", "-n", "stat"]).run();
    if out.code != 2 {
        for (l, stat) in out.lines().iter().zip(STATS) {
            assert!(l.contains(&format!("\"{stat}\"")), "-n stat: {l}");
        }
    }
});
