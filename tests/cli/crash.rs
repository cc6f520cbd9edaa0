//! Crash safety: `kill -9` an import at various moments; the store must stay consistent and
//! a fresh import must complete it.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::{TestDir, list_dir, syslog};

/// `n` syslog-like lines with ISO timestamps, one second apart (deterministic).
pub fn generate(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 110);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let base = 1_709_251_200u64; // 2024-03-01T00:00:00Z
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let t = base + i as u64;
        let (d, s) = (t / 86_400, t % 86_400);
        let day = d - 19_783 + 1; // March 2024 has 31 days; n stays below that
        let line = format!(
            "2024-03-{day:02}T{:02}:{:02}:{:02}.{:03}Z host{} app[{}]: request {i} user=u{} status={} bytes={} path=/api/v1/items/{}\n",
            s / 3600,
            (s / 60) % 60,
            s % 60,
            x % 1000,
            x % 7,
            1000 + (x >> 8) % 30_000,
            (x >> 20) % 500,
            [200, 201, 204, 301, 404, 500][(x >> 30) as usize % 6],
            (x >> 33) % 100_000,
            (x >> 40) % 10_000,
        );
        out.extend_from_slice(line.as_bytes());
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Rows of the store according to `verify` (which must pass), and the segment names it lists.
fn verified_rows(dir: &TestDir, store: &Path) -> (u64, Vec<String>) {
    let out = dir.cmd_on(store, "verify").arg("--ndjson").run();
    out.code(0);
    let mut rows = 0;
    let mut names = Vec::new();
    for l in out.text().lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["ok"], true, "{l}");
        rows += v["stats"]["rows"].as_u64().unwrap();
        names.push(v["segment"].as_str().unwrap().to_string());
    }
    names.sort();
    (rows, names)
}

fn import(dir: &TestDir, store: &Path, file: &Path) -> crate::util::Summary {
    let out = dir.cmd_on(store, "import").arg("--ndjson").arg(file).run();
    out.code(0);
    out.summary()
}

/// After a completed import: every segment file is referenced (leftovers were removed).
fn assert_clean(dir: &TestDir, store: &Path, want_rows: u64) {
    let (rows, names) = verified_rows(dir, store);
    assert_eq!(rows, want_rows);
    assert_eq!(list_dir(&store.join("segments")), names, "leftover files in {}", store.display());
    let n = dir.cmd_on(store, "search").run().lines().len() as u64;
    assert_eq!(n, want_rows);
}

#[test]
fn kill_9_during_import_leaves_a_consistent_store() {
    let dir = TestDir::new("crash");
    let n: u64 = 20_000; // 2.2 MB
    let big = dir.write("big.log", generate(n as usize));
    let base = dir.join("base");
    assert_eq!(import(&dir, &base, &syslog()).records, 2000);
    let full = 2000 + n;

    // Reference run, timed, to place the kills over the whole import (reading, building,
    // writing, committing, merging).
    let reference = dir.join("ref");
    copy_dir(&base, &reference);
    let t0 = Instant::now();
    assert_eq!(import(&dir, &reference, &big).records, n);
    let t = t0.elapsed();
    assert_clean(&dir, &reference, full);

    // Fixed fractions of the reference time, plus a little jitter that differs between runs
    // (printed, so that a failure can be reproduced).
    let jitter =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()
            as f64
            / 1e9
            * 0.04;
    let mut delays = vec![Duration::from_millis(50)];
    for f in [0.3, 0.6, 0.75, 0.85, 0.92, 0.97, 1.02] {
        delays.push(t.mul_f64(f - 0.02 + jitter));
    }
    let mut before_commit = 0;
    for (i, d) in delays.iter().enumerate() {
        let store = dir.join(&format!("crash{i}"));
        copy_dir(&base, &store);
        let mut child = dir.cmd_on(&store, "import").arg("-q").arg(&big).spawn();
        std::thread::sleep(*d);
        let _ = child.kill();
        child.wait().unwrap();
        // The last commit is intact: either before or after this import, nothing between.
        let (rows, _) = verified_rows(&dir, &store);
        eprintln!("kill after {d:?} (full import {t:?}): {rows} rows committed");
        assert!(rows == 2000 || rows == full, "kill after {d:?}: {rows} rows");
        if rows == 2000 {
            before_commit += 1;
        }
        // The next writer completes the import and removes the leftovers.
        let s = import(&dir, &store, &big);
        assert_eq!(s.records, if rows == 2000 { n } else { 0 }, "kill after {d:?}");
        assert_clean(&dir, &store, full);
    }
    assert!(before_commit >= 1, "no kill landed inside an import");
    assert!(before_commit < delays.len(), "no kill landed after the commit");

    // A kill while the store itself is being created.
    let fresh = dir.join("fresh");
    let mut child = dir.cmd_on(&fresh, "import").arg("-q").arg(&big).spawn();
    std::thread::sleep(Duration::from_millis(30));
    let _ = child.kill();
    child.wait().unwrap();
    if fresh.join("MANIFEST").exists() {
        let (rows, _) = verified_rows(&dir, &fresh);
        assert!(rows == 0 || rows == n, "{rows}");
    } else {
        // No commit yet: not a store.
        let out = dir.cmd_on(&fresh, "verify").run();
        out.code(2);
        assert!(out.stderr.contains("no twsla store"), "{out:?}");
    }
    let s = import(&dir, &fresh, &big);
    assert!(s.records == n || s.unchanged == 1);
    assert_clean(&dir, &fresh, n);
}
