//! `anomaly`: every mode end to end, scores aligned with their lines, determinism with
//! `--seed`, small inputs, skipped lines, golden NDJSON, and detection quality on web logs.

use serde::Deserialize;

use crate::util::{DATA, TestDir, data, data_lines, syslog, twtest};

/// One `anomaly --ndjson` row.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    time: String,
    source: String,
    line: u64,
    text: String,
    score: f64,
}

fn rows(dir: &TestDir, args: &[&str]) -> Vec<Row> {
    let out = dir.cmd("anomaly").arg("--ndjson").args(args).run();
    out.code(0);
    out.lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad row {e}: {l}")))
        .collect()
}

fn redacted(text: &str) -> String {
    let dir = std::fs::canonicalize(DATA).unwrap().display().to_string();
    text.replace(&dir, "[data]")
}

fn sorted_high_to_low(r: &[Row]) -> bool {
    r.windows(2)
        .all(|w| w[0].score > w[1].score || (w[0].score == w[1].score && w[0].time <= w[1].time))
}

#[test]
fn every_mode_scores_every_line_of_syslog() {
    let dir = TestDir::new("anomaly");
    dir.import(&[syslog()]).0.code(0);
    let lines = data_lines("twsla-testlog/syslog.log");
    for mode in ["tfidf", "sql", "os", "dir", "number"] {
        let got = rows(&dir, &["-m", mode, "--trees", "100"]);
        if mode == "number" {
            // Only lines with as many numbers as the first line are scored.
            assert!(got.len() > 100 && got.len() < 2000, "{}", got.len());
        } else {
            assert_eq!(got.len(), 2000, "{mode}");
        }
        assert!(sorted_high_to_low(&got), "{mode}");
        for r in &got {
            assert_eq!(lines[r.line as usize - 1], r.text, "{mode}: score next to its own line");
            assert!(r.score > 0.0 && r.score <= 1.0);
        }
    }
    // syslog has no `"`: walu has nothing to score.
    let out = dir.cmd("anomaly").args(&["--ndjson", "-m", "walu"]).run();
    out.code(1);
    assert!(out.stdout.is_empty());
}

#[test]
fn seeded_and_deterministic() {
    let dir = TestDir::new("anomaly");
    dir.import(&[data("loghub/Apache/Apache_2k.log")]).0.code(0);
    let a = rows(&dir, &["-m", "sql", "--trees", "200"]);
    let b = rows(&dir, &["-m", "sql", "--trees", "200"]);
    assert_eq!(a, b);
    let c = rows(&dir, &["-m", "sql", "--trees", "200", "--seed", "2"]);
    assert_ne!(
        a.iter().map(|r| r.score).collect::<Vec<_>>(),
        c.iter().map(|r| r.score).collect::<Vec<_>>()
    );
    // One thread or many: the same scores.
    let one = dir
        .cmd("anomaly")
        .args(&["--ndjson", "-m", "sql", "--trees", "200"])
        .env("RAYON_NUM_THREADS", "1")
        .run();
    one.code(0);
    let one: Vec<Row> = one.lines().iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(one, a);
    // --top keeps the head.
    assert_eq!(rows(&dir, &["-m", "sql", "--trees", "200", "-n", "7"]), a[..7].to_vec());
}

twtest!(fewer_lines_than_the_sample, |dir| {
    let mut text = String::new();
    for i in 0..12 {
        text.push_str(&format!("2024-01-01 00:00:{i:02} GET /index.html?id={i}\n"));
    }
    text.push_str(
        "2024-01-01 00:01:00 GET /x?id=1%20union%20select%20user,passwd%20from%20users--\n",
    );
    let f = dir.write("small.log", text);
    dir.import(&[f]).0.code(0);
    let got = rows(&dir, &["-m", "sql"]);
    assert_eq!(got.len(), 13);
    assert!(got[0].text.contains("union"), "{got:?}");
    assert!(got[0].score > got[1].score);
});

twtest!(number_mode_keeps_scores_with_their_lines, |dir| {
    let mut text = String::new();
    for i in 0..40 {
        // Every third line has no window: skipped (upstream shifted the scores here).
        if i % 3 == 0 {
            text.push_str(&format!("2024-01-01 00:00:{i:02} idle\n"));
        } else {
            text.push_str(&format!(
                "2024-01-01 00:00:{i:02} load start {} {} end\n",
                1 + i % 2,
                5 + i % 3
            ));
        }
    }
    text.push_str("2024-01-01 00:01:00 load start 90 -40 end\n");
    text.push_str("2024-01-01 00:01:01 load start 1 2 3 end\n");
    let f = dir.write("n.log", text);
    dir.import(&[f]).0.code(0);
    let out = dir.cmd("anomaly").args(&["--ndjson", "-m", "number", "-e", "start*end"]).run();
    out.code(0);
    // The -e window also filters: "idle" lines are not even scanned; the 3-number line is
    // skipped with a warning.
    assert!(out.stderr.contains("1 lines"), "{out:?}");
    let got: Vec<Row> = out.lines().iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(got.len(), 27);
    assert_eq!(got[0].text, "2024-01-01 00:01:00 load start 90 -40 end");
    assert!(got.iter().all(|r| r.text.contains("start") && !r.text.contains(" 3 end")));
    // -e outside number mode is a usage error.
    dir.cmd("anomaly").args(&["-m", "sql", "-e", "x*y"]).run().code(2);
    dir.cmd("anomaly").args(&["-m", "nosuchmode"]).run().code(2);
});

#[test]
fn loghub_golden_ndjson() {
    let dir = TestDir::new("anomaly");
    dir.import(&[data("loghub/Apache/Apache_2k.log")]).0.code(0);
    for mode in ["tfidf", "sql", "dir", "number"] {
        let out =
            dir.cmd("anomaly").args(&["--ndjson", "-m", mode, "-n", "15", "--trees", "300"]).run();
        out.code(0);
        insta::assert_snapshot!(format!("apache_anomaly_{mode}_ndjson"), redacted(&out.text()));
    }
}

/// The web access logs: 10,000 normal lines of `elastic-apache` plus the attack fixtures of
/// `crowdsec-hub-tests` (every file except the two parser fixtures, which are benign).
/// An attack line is one from an attack fixture (the file name is the attack class: SQL
/// injection, XSS, traversal, sensitive files, backdoors, CVE probes, log4j, scanners).
fn web_store() -> (TestDir, Vec<String>) {
    let dir = TestDir::new("weblogs");
    let mut inputs = vec![data("weblogs/elastic-apache/apache_logs.log")];
    let mut attack_files = Vec::new();
    for e in std::fs::read_dir(data("weblogs/crowdsec-hub-tests")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".log") && name != "apache2-logs.log" && name != "nginx_http-logs.log" {
            attack_files.push(name);
            inputs.push(p);
        }
    }
    dir.import(&inputs).0.code(0);
    (dir, attack_files)
}

fn precision(rows: &[Row], attack_files: &[String], k: usize) -> f64 {
    let hits = rows[..k]
        .iter()
        .filter(|r| attack_files.iter().any(|f| r.source.ends_with(f.as_str())))
        .count();
    hits as f64 / k as f64
}

/// Precision at 20 and 100 per mode (seed 1, 1000 trees) at the defaults and the
/// alternatives; a random ranking has the base rate of 186 / 10,186 = 0.018. Printed as the
/// table of the README (`cargo test --test cli weblog_attacks -- --nocapture`).
///
/// Defaults: `--part request` (the decoded request URI of access-log lines) and
/// `--sample 4096`. With upstream's whole line, the referrers and user agents of real traffic
/// (`&`, `;`, `/usr`...) outweigh the keywords; with upstream's 256 lines per tree, a tree
/// rarely holds one of the few lines with a given keyword, so it cannot split on it. The
/// keyword modes' precision at 100 is bounded by what their keys cover: most attack lines
/// here (file inclusion, sensitive files, WordPress scans, bad user agents) have no SQL, OS or
/// traversal key.
#[test]
fn weblog_attacks_rank_high() {
    let (dir, attack_files) = web_store();
    let columns: [(&str, &[&str]); 4] = [
        ("default", &[]),
        ("--sample 256", &["--sample", "256"]),
        ("--part line", &["--part", "line"]),
        ("--part line --sample 256", &["--part", "line", "--sample", "256"]),
    ];
    let mut table = vec![
        format!("| mode | {} |", columns.map(|c| c.0).join(" | ")),
        format!("|---|{}", "---|".repeat(columns.len())),
    ];
    let mut p = std::collections::HashMap::new();
    for mode in ["walu", "sql", "os", "dir", "tfidf"] {
        let mut cells = Vec::new();
        for (label, extra) in columns {
            let mut args = vec!["-m", mode];
            args.extend(extra);
            // tfidf of whole lines with 4096 samples takes a minute in a debug build.
            let slow = mode == "tfidf" && label == "--part line";
            if slow {
                args.extend(["--trees", "200"]);
            }
            let got = rows(&dir, &args);
            let base = got
                .iter()
                .filter(|r| attack_files.iter().any(|f| r.source.ends_with(f.as_str())))
                .count();
            assert!(base >= 180 && got.len() > 10_000, "{mode} {label}: {base} of {}", got.len());
            let (p20, p100) =
                (precision(&got, &attack_files, 20), precision(&got, &attack_files, 100));
            cells.push(format!("{p20:.2} / {p100:.2}{}", if slow { " (200 trees)" } else { "" }));
            p.insert((mode, label), (p20, p100));
        }
        table.push(format!("| {mode} | {} |", cells.join(" | ")));
    }
    let table = table.join("\n");
    println!("{table}");
    // The defaults: every mode well above the base rate (0.018) at 20 and at 100; the floors
    // are a little below the measured values (a random ranking reaches 6 hits in 20 with
    // probability below 1e-5).
    for (mode, at20, at100) in [
        ("walu", 0.35, 0.3),
        ("sql", 0.3, 0.1),
        ("os", 0.55, 0.1),
        ("dir", 0.5, 0.1),
        ("tfidf", 0.7, 0.5),
    ] {
        let (p20, p100) = p[&(mode, "default")];
        assert!(p20 >= at20 && p100 >= at100, "{mode}:\n{table}");
        // Far better than upstream's settings (whole line, 256 samples).
        let (u20, u100) = p[&(mode, "--part line --sample 256")];
        assert!(p20 >= u20 + 0.25 && p100 >= u100 + 0.05, "{mode}:\n{table}");
    }
    // Each of the two changes matters: with 256 samples the keyword and tfidf modes find
    // (almost) nothing; the keyword modes need the request view.
    for mode in ["sql", "os", "dir", "tfidf"] {
        assert!(p[&(mode, "--sample 256")].0 <= 0.1, "{mode}:\n{table}");
        assert!(p[&(mode, "default")].0 >= p[&(mode, "--part line")].0 + 0.2, "{mode}:\n{table}");
    }
}

#[test]
fn request_part_is_deterministic_and_falls_back() {
    let dir = TestDir::new("anomaly");
    let mut text = String::new();
    for i in 0..300 {
        text.push_str(&format!(
            "1.2.3.{} - - [01/Jan/2024:00:{:02}:{:02} +0000] \"GET /page/{}.html HTTP/1.1\" 200 {} \"-\" \"Mozilla/5.0 (X11; Linux; rv:1) / &\"\n",
            i % 9,
            i / 60,
            i % 60,
            i % 13,
            100 + i
        ));
    }
    text.push_str("1.2.3.4 - - [01/Jan/2024:00:06:00 +0000] \"GET /a?id=1%27%20UNION%20SELECT%20passwd%20FROM%20users-- HTTP/1.1\" 200 5 \"-\" \"curl\"\n");
    text.push_str("2024-01-01T00:06:01Z not an access log line\n");
    let f = dir.write("access.log", text);
    dir.import(&[f]).0.code(0);
    let a = rows(&dir, &["-m", "sql", "--part", "request", "--trees", "200"]);
    assert_eq!(a.len(), 302, "every line scored, the plain line on its whole text");
    assert!(a[0].text.contains("UNION"), "{:?}", a[0]);
    let one = dir
        .cmd("anomaly")
        .args(&["--ndjson", "-m", "sql", "--part", "request", "--trees", "200"])
        .env("RAYON_NUM_THREADS", "1")
        .run();
    one.code(0);
    let one: Vec<Row> = one.lines().iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(one, a);
    // The other modes score every line too (walu: the line without a request has no `"`).
    for mode in ["tfidf", "walu", "os", "dir"] {
        let got = rows(&dir, &["-m", mode, "--part", "request", "--trees", "100"]);
        assert!(got.len() >= 301, "{mode}");
    }
    dir.cmd("anomaly").args(&["-m", "sql", "--part", "uri"]).run().code(2);
}

#[test]
fn filters_and_time_range_apply() {
    let dir = TestDir::new("anomaly");
    dir.import(&[data("loghub/Apache/Apache_2k.log")]).0.code(0);
    let all = rows(&dir, &["-m", "dir", "--trees", "50"]);
    let notice = rows(&dir, &["-m", "dir", "--trees", "50", "-f", "notice"]);
    assert!(!notice.is_empty() && notice.len() < all.len());
    assert!(notice.iter().all(|r| r.text.contains("notice")));
    let not = rows(&dir, &["-m", "dir", "--trees", "50", "^notice"]);
    assert_eq!(not.len() + notice.len(), all.len());
    let day = rows(&dir, &["-m", "dir", "--trees", "50", "-t", "2005-12-05T00:00:00Z,1d"]);
    assert!(!day.is_empty() && day.len() < all.len());
    assert!(day.iter().all(|r| r.time.starts_with("2005-12-05")), "{:?}", day[0]);
}
