//! The store: verify, corruption detection, segment merging, store directories as sources.

use std::collections::BTreeMap;

use crate::util::{Cmd, data, data_lines, list_dir, syslog, twtest};

twtest!(verify_after_imports, |dir| {
    dir.import(&[syslog()]).0.code(0);
    dir.import(&[data("twsla-testlog/multi.log")]).0.code(0);
    let out = dir.cmd("verify").run();
    out.code(0);
    let lines = out.lines();
    let segs = dir.segment_files();
    assert_eq!(lines.len(), segs.len() + 1, "{out:?}");
    for (l, s) in lines.iter().zip(&segs) {
        assert!(l.starts_with(&format!("{s} ok rows=")), "{l}");
    }
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with(&format!("segments={} rows=2,003 sources=2 ", segs.len())),
        "{out:?}"
    );
    assert!(lines.last().unwrap().ends_with(": OK"));
    // NDJSON: one object per segment.
    let out = dir.cmd("verify").arg("--ndjson").run();
    out.code(0);
    let objs: Vec<serde_json::Value> =
        out.text().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(objs.len(), segs.len());
    let rows: u64 = objs.iter().map(|o| o["stats"]["rows"].as_u64().unwrap()).sum();
    assert_eq!(rows, 2003);
    assert!(objs.iter().all(|o| o["ok"] == true));
});

twtest!(flipped_byte_is_detected, |dir| {
    dir.import(&[syslog()]).0.code(0);
    let all = dir.cmd("search").run().stdout;
    let kernel = dir.cmd("search").arg("kernel").run().stdout;
    let segs = dir.segment_files();
    assert_eq!(segs.len(), 1);
    let seg = dir.store().join("segments").join(&segs[0]);
    let orig = std::fs::read(&seg).unwrap();
    let n = orig.len();
    // Spread over the whole file: header, data, postings, section table, footer.
    let mut offsets: Vec<usize> = (0..40).map(|i| i * n / 40 + 7).collect();
    offsets.extend([0, 1, n / 2, n - 40, n - 9, n - 1]);
    for off in offsets {
        let mut b = orig.clone();
        b[off] ^= 0x01;
        std::fs::write(&seg, &b).unwrap();
        let v = dir.cmd("verify").run();
        assert_eq!(v.code, 2, "flip at {off} of {n} not detected: {v:?}");
        assert!(v.stderr.contains("corrupt") || v.text().contains("CORRUPT"), "{v:?}");
        // Search fails loudly or gives the right answer; never a wrong one.
        for (args, want) in [(&[][..], &all), (&["kernel"][..], &kernel)] {
            let s = dir.cmd("search").args(args).run();
            assert!(s.code == 2 || (s.code == 0 && &s.stdout == want), "flip at {off}: {s:?}");
        }
    }
    std::fs::write(&seg, &orig).unwrap();
    dir.cmd("verify").run().code(0);
    // A truncated segment.
    std::fs::write(&seg, &orig[..n / 3]).unwrap();
    dir.cmd("verify").run().code(2);
    dir.cmd("search").run().code(2);
});

twtest!(many_small_imports_are_merged, |dir| {
    // Six files with full-year timestamps, 100 lines each, imported one by one.
    let sets = [
        "HDFS/HDFS_2k.log",
        "Hadoop/Hadoop_2k.log",
        "Zookeeper/Zookeeper_2k.log",
        "Spark/Spark_2k.log",
        "Windows/Windows_2k.log",
        "HealthApp/HealthApp_2k.log",
    ];
    let mut want = BTreeMap::new();
    for (i, s) in sets.iter().enumerate() {
        let lines = data_lines(&format!("loghub/{s}"));
        let body: String = lines[..100].iter().map(|l| format!("{l}\n")).collect();
        let f = dir.write(&format!("in/f{i}.log"), body);
        let (out, sum) = dir.import(&[&f]);
        out.code(0);
        assert_eq!(sum.records, 100);
        let segs = dir.segment_files();
        assert!(segs.len() <= 2, "after import {}: {segs:?}", i + 1);
        assert!(segs.iter().all(|s| s.ends_with(".tws")), "{segs:?}");
        for (n, l) in lines[..100].iter().enumerate() {
            want.insert((f.display().to_string(), n as u64 + 1), l.clone());
        }
    }
    let rows = dir.rows::<&str>(&[]);
    assert_eq!(rows.len(), 600);
    assert!(rows.windows(2).all(|w| w[0].time <= w[1].time), "not in time order");
    let got: BTreeMap<(String, u64), String> =
        rows.into_iter().map(|r| ((r.source, r.line), r.text)).collect();
    assert_eq!(got, want);
    let v = dir.cmd("verify").run();
    v.code(0);
    assert!(v.text().contains("rows=600 sources=6 "), "{v:?}");
});

twtest!(directory_source_skips_the_store_inside, |dir| {
    let work = dir.join("work");
    std::fs::create_dir_all(work.join("sub")).unwrap();
    std::fs::copy(syslog(), work.join("a.log")).unwrap();
    std::fs::copy(data("twsla-testlog/multi.log"), work.join("sub/m.log")).unwrap();
    // Default store ./twsla.db inside the imported directory.
    let run = |args: &[&str]| {
        let mut c = Cmd::bare();
        c.args(args).current_dir(&work);
        c.run()
    };
    let out = run(&["import", "--utc", "--ndjson", "."]);
    out.code(0);
    let s = out.summary();
    assert_eq!((s.files, s.records), (2, 2003), "{out:?}");
    assert!(s.problems.is_empty());
    assert!(work.join("twsla.db/MANIFEST").exists());
    let out = run(&["import", "--utc", "--ndjson", "."]);
    out.code(0);
    let s = out.summary();
    assert_eq!((s.files, s.records, s.unchanged), (2, 0, 2), "{out:?}");
    // Another store nested deeper is skipped too.
    let out = run(&["-d", "sub/other.db", "import", "--utc", "--ndjson", "."]);
    out.code(0);
    assert_eq!(out.summary().records, 2003);
    let out = run(&["-d", "third.db", "import", "--utc", "--ndjson", "."]);
    out.code(0);
    let s = out.summary();
    assert_eq!((s.files, s.records), (2, 2003), "stores were read as logs: {out:?}");
    let rows = run(&["search", "--utc", "--ndjson"]).rows();
    let sources: std::collections::BTreeSet<String> =
        rows.iter().map(|r| r.source.clone()).collect();
    let want: std::collections::BTreeSet<String> = [work.join("a.log"), work.join("sub/m.log")]
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(sources, want);
});

twtest!(store_path_that_is_a_file, |dir| {
    let f = dir.write("notastore", "x");
    let out = dir.cmd_on(&f, "import").arg(syslog()).run();
    out.code(2);
    assert!(out.stderr.contains("is not a twsla store"), "{out:?}");
    let out = dir.cmd_on(&f, "search").run();
    out.code(2);
});

twtest!(concurrent_writer_is_refused, |dir| {
    dir.import(&[syslog()]).0.code(0);
    // Hold the writer lock the way a running import does.
    let lock =
        std::fs::OpenOptions::new().read(true).write(true).open(dir.store().join("LOCK")).unwrap();
    lock.try_lock().unwrap();
    let out = dir.cmd("import").arg(data("twsla-testlog/multi.log")).run();
    out.code(2);
    assert!(out.stderr.contains("another twsla process is writing to"), "{out:?}");
    // Readers take no lock.
    assert_eq!(dir.search(&["combo"]).len(), 2000);
    dir.cmd("verify").run().code(0);
    lock.unlock().unwrap();
    let (out, s) = dir.import(&[data("twsla-testlog/multi.log")]);
    out.code(0);
    assert_eq!(s.records, 3);
    assert_eq!(list_dir(dir.store()), ["LOCK", "MANIFEST", "segments"]);
});
