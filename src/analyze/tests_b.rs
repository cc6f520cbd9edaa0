//! Laws of the `delay`, `heatmap`, `time` and `relation` operators on real corpora: the
//! result does not depend on the number of threads, on the segment and block sizes of the
//! store, or on the decode batch size. (Merge associativity of each state is a proptest next
//! to the state.)

use std::path::Path;
use std::sync::OnceLock;

use super::Flow;
use super::delay::{self, DelayConfig, DelayMode, DelayOrder, DelayRow};
use super::heatmap::{self, HeatmapBy, HeatmapConfig, HeatmapRow};
use super::relation::{self, Relation, RelationConfig, parse_items};
use super::timeview::{self, TimeConfig, TimeRow, TimeSummary};
use crate::ingest::{ImportOptions, Quiet, run_import};
use crate::query::{Filter, FilterSpec, TimeRange};
use crate::store::{CompactPolicy, SegmentOptions, Store, StoreWriter};

/// Extra input: out-of-order lines (backward steps) and lines with a second timestamp.
const RELAYED: &str = "\
2024-03-10T01:00:00Z relay from 10.0.0.1 user=a sent 2024-03-10T00:59:58Z
2024-03-10T01:00:05Z relay from 10.0.0.2 user=b sent 2024-03-10T01:00:01Z
2024-03-10T01:00:02Z late from 10.0.0.1 user=a
2024-03-10T01:30:00Z relay from 10.0.0.3 user=a sent 2024-03-10T01:30:00Z
2024-03-10T01:29:00Z late from 10.0.0.2 user=c
2024-03-10T02:10:00Z relay from 10.0.0.1 user=b sent 2024-03-10T02:09:00Z
2024-03-10T02:00:00Z late again from 10.0.0.1 user=a
";

/// The same inputs in two stores: one with default segments, one cut into many tiny
/// segments and blocks. Built once per test run.
fn stores() -> &'static (tempfile::TempDir, Store, Store) {
    static S: OnceLock<(tempfile::TempDir, Store, Store)> = OnceLock::new();
    S.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/loghub");
        let relayed = dir.path().join("relayed.log");
        std::fs::write(&relayed, RELAYED.repeat(3)).unwrap();
        let copy = dir.path().join("linux-copy.log");
        std::fs::copy(data.join("Linux/Linux_2k.log"), &copy).unwrap();
        let mut inputs: Vec<String> =
            ["Linux/Linux_2k.log", "OpenSSH/OpenSSH_2k.log", "Apache/Apache_2k.log"]
                .iter()
                .map(|f| data.join(f).display().to_string())
                .collect();
        inputs.push(copy.display().to_string());
        inputs.push(relayed.display().to_string());
        let build = |name: &str, seg: SegmentOptions, seg_bytes: usize, policy| {
            let path = dir.path().join(name);
            let mut w = StoreWriter::open(&path, seg).unwrap();
            // One reader: sources get their ids in input order in both stores (records with
            // equal times are ordered by source id).
            let opts = ImportOptions {
                utc: true,
                segment_text_bytes: seg_bytes,
                readers: 1,
                ..ImportOptions::default()
            };
            run_import(&mut w, &inputs, &opts, policy, &Quiet).unwrap();
            drop(w);
            Store::open(&path).unwrap()
        };
        let big = build("big.db", SegmentOptions::default(), 64 << 20, CompactPolicy::default());
        let small = build(
            "small.db",
            SegmentOptions { block_text_bytes: 1024, block_rows: 7, frame_text_bytes: 300 },
            30_000,
            CompactPolicy {
                small_text_bytes: 0,
                min_small_segments: usize::MAX,
                target_text_bytes: 1,
            },
        );
        // How batches fall into segments depends on thread timing; there are always several.
        assert!(small.segments().len() >= 3, "{} segments", small.segments().len());
        assert!(small.segments().len() > big.segments().len());
        (dir, big, small)
    })
}

/// Runs `f` on both stores, with 1 and with 3 threads and several batch sizes, and checks
/// that all results are equal; returns the result.
fn same_everywhere<T: PartialEq + std::fmt::Debug + Send>(f: impl Fn(&Store) -> T + Sync) -> T {
    let (_, big, small) = stores();
    let want = f(big);
    for threads in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        for batch in [None, Some(1), Some(5)] {
            for (name, store) in [("big", big), ("small", small)] {
                let got = pool.install(|| {
                    super::runner::TEST_BATCH.with(|b| b.set(batch));
                    f(store)
                });
                assert_eq!(got, want, "{name} store, {threads} threads, batch {batch:?}");
            }
        }
    }
    want
}

fn filter(args: &[&str]) -> Filter {
    Filter::new(&FilterSpec {
        args: args.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
    .unwrap()
}

fn delay_rows(store: &Store, mode: DelayMode, order: DelayOrder, f: &Filter) -> Vec<DelayRow> {
    delay_budget(store, mode, order, f, delay::TEXT_BUDGET).0
}

fn delay_budget(
    store: &Store,
    mode: DelayMode,
    order: DelayOrder,
    f: &Filter,
    text_budget: u64,
) -> (Vec<DelayRow>, u64) {
    let cfg = DelayConfig {
        filter: f.clone(),
        range: TimeRange::ALL,
        mode,
        utc: true,
        order,
        limit: None,
        text_budget,
    };
    let mut v = Vec::new();
    let stats = delay::delay(store, &cfg, &mut |r| {
        v.push(r.clone());
        Ok(Flow::Continue)
    })
    .unwrap();
    (v, stats.text_passes)
}

#[test]
fn delay_laws() {
    for order in [DelayOrder::Delay, DelayOrder::Time] {
        let rows = same_everywhere(|s| delay_rows(s, DelayMode::Backward, order, &filter(&[])));
        // 3 backward steps of Linux_2k twice (the copy) and 3 of the relayed file three times.
        let fives = rows.iter().filter(|r| r.delay == 5_000_000_000).count();
        assert!(fives >= 6, "{rows:?}");
        assert!(rows.iter().filter(|r| r.text.starts_with(b"2024-03-10")).count() >= 9);
        let f = same_everywhere(|s| delay_rows(s, DelayMode::Backward, order, &filter(&["late"])));
        assert_eq!(f.len(), 9, "{f:?}");
        let b = same_everywhere(|s| delay_rows(s, DelayMode::TimePos(1), order, &filter(&[])));
        assert!(b.iter().any(|r| r.delay == 4_000_000_000), "{b:?}");
    }
}

/// Sorted by delay, rows whose texts exceed the budget are read back in chunks after sorting,
/// and the output is the same as with every text held.
#[test]
fn delay_texts_beyond_the_budget_are_read_back() {
    for mode in [DelayMode::Backward, DelayMode::TimePos(1)] {
        let f = filter(&[]);
        let (held, passes) =
            same_everywhere(|s| delay_budget(s, mode, DelayOrder::Delay, &f, u64::MAX));
        assert_eq!(passes, 0);
        assert!(held.len() >= 9, "{held:?}");
        assert!(held.iter().all(|r| !r.text.is_empty()));
        // A tiny budget: texts are dropped, then read back 1024 rows at a time.
        let (back, passes) = same_everywhere(|s| delay_budget(s, mode, DelayOrder::Delay, &f, 1));
        assert!(passes >= 1, "{mode:?}");
        assert_eq!(passes as usize, held.len().div_ceil(1024), "{mode:?}");
        assert_eq!(back, held, "{mode:?}");
    }
}

fn heat(store: &Store, by: HeatmapBy, f: &Filter) -> Vec<HeatmapRow> {
    let cfg = HeatmapConfig { filter: f.clone(), range: TimeRange::ALL, by, utc: true };
    heatmap::heatmap(store, &cfg).unwrap().0
}

#[test]
fn heatmap_laws() {
    let (_, big, _) = stores();
    for by in [HeatmapBy::Date, HeatmapBy::Weekday] {
        let all = same_everywhere(|s| heat(s, by, &filter(&[])));
        assert_eq!(all.iter().map(|r| r.count).sum::<u64>(), big.manifest().rows());
        // The index-only path (no filter) equals the scanning path (a filter every record passes).
        let scanned = same_everywhere(|s| heat(s, by, &filter(&["^zzqqxx"])));
        assert_eq!(scanned, all);
        let some = same_everywhere(|s| heat(s, by, &filter(&["sshd"])));
        assert!(
            !some.is_empty() && some.iter().map(|r| r.count).sum::<u64>() < big.manifest().rows()
        );
    }
}

/// `(index, time, diff, delta, source, line, text)` of each row, and the statistics.
type TimeOut = (Vec<(u64, i64, i64, i64, u32, u64, Vec<u8>)>, Option<TimeSummary>);

fn time_out(store: &Store, f: &Filter, mark: u64) -> TimeOut {
    let cfg = TimeConfig { filter: f.clone(), range: TimeRange::ALL, mark };
    let mut v = Vec::new();
    let (s, _) = timeview::time_rows(store, &cfg, &mut |r: &TimeRow<'_>| {
        v.push((r.index, r.time, r.diff, r.delta, r.source, r.line, r.text.to_vec()));
        Ok(Flow::Continue)
    })
    .unwrap();
    (v, s)
}

#[test]
fn time_laws() {
    let (rows, stats) = same_everywhere(|s| time_out(s, &filter(&[]), 0));
    let (_, big, _) = stores();
    assert_eq!(rows.len() as u64, big.manifest().rows());
    assert_eq!(stats.unwrap().rows, rows.len() as u64);
    assert!(rows.windows(2).all(|w| w[1].3 == w[1].1 - w[0].1 && w[1].3 >= 0));
    let (marked, _) = same_everywhere(|s| time_out(s, &filter(&["sshd"]), 7));
    assert_eq!(marked[7].2, 0);
    assert!(marked.iter().all(|r| r.2 == r.1 - marked[7].1));
}

fn rel(store: &Store, items: &[&str]) -> Relation {
    let words: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    let (items, filters) = parse_items(&words).unwrap();
    let filters: Vec<&str> = filters.iter().map(String::as_str).collect();
    let cfg = RelationConfig { filter: filter(&filters), range: TimeRange::ALL, items };
    relation::relation(store, &cfg).unwrap().0
}

#[test]
fn relation_laws() {
    let r = same_everywhere(|s| rel(s, &["ip", "regex/user=(\\w+)/"]));
    assert!(r.tuples.len() > 20);
    assert!(!r.edges.is_empty());
    let r = same_everywhere(|s| rel(s, &["ip", "kv", "regex/\\[\\d+\\]/", "sshd"]));
    assert!(!r.tuples.is_empty());
}
