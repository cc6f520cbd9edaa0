//! Laws of the query engine, checked on real corpora:
//! * index-assisted search == a naive scan with the same filter (differential);
//! * 1 thread == N threads;
//! * reversed == reverse of forward.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;

use super::Flow;
use super::search::{SearchConfig, search};
use crate::ingest::{ImportOptions, Quiet, run_import};
use crate::query::{Filter, FilterSpec, TimeRange};
use crate::store::{CompactPolicy, SegmentOptions, Store, StoreWriter, scan};

type Row = (i64, u32, u64, Vec<u8>);

/// A store holding several loghub corpora in many small segments and blocks (so that
/// planning and merging have real work), built once per test run.
fn store() -> &'static (tempfile::TempDir, Store, Vec<Vec<u8>>) {
    static S: OnceLock<(tempfile::TempDir, Store, Vec<Vec<u8>>)> = OnceLock::new();
    S.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/loghub");
        let seg = SegmentOptions { block_text_bytes: 2048, block_rows: 16, frame_text_bytes: 300 };
        let mut w = StoreWriter::open(&path, seg).unwrap();
        let opts =
            ImportOptions { utc: true, segment_text_bytes: 40_000, ..ImportOptions::default() };
        // A second copy of one corpus under another name: equal timestamps in different
        // segments, so the merge order (ts, source, line) across segments is exercised.
        let copy = dir.path().join("linux-copy.log");
        std::fs::copy(data.join("Linux/Linux_2k.log"), &copy).unwrap();
        let mut inputs: Vec<String> = [
            "Linux/Linux_2k.log",
            "OpenSSH/OpenSSH_2k.log",
            "Apache/Apache_2k.log",
            "HDFS/HDFS_2k.log",
            "Mac/Mac_2k.log",
            "Zookeeper/Zookeeper_2k.log",
            "Hadoop/Hadoop_2k.log",
            "Thunderbird/Thunderbird_2k.log",
        ]
        .iter()
        .map(|f| data.join(f).display().to_string())
        .collect();
        inputs.push(copy.display().to_string());
        let policy = CompactPolicy {
            small_text_bytes: 0,
            min_small_segments: usize::MAX,
            target_text_bytes: 1,
        };
        run_import(&mut w, &inputs, &opts, policy, &Quiet).unwrap();
        drop(w);
        let store = Store::open(&path).unwrap();
        assert!(
            store.segments().len() > 4,
            "want several segments, got {}",
            store.segments().len()
        );
        // Words to build filters from.
        let mut words: Vec<Vec<u8>> = Vec::new();
        for f in &inputs {
            let text = std::fs::read(f).unwrap();
            for line in text.split(|b| *b == b'\n').step_by(37) {
                words
                    .extend(line.split(|b| *b == b' ').filter(|w| w.len() > 1).map(<[u8]>::to_vec));
            }
        }
        words.sort();
        words.dedup();
        (dir, store, words)
    })
}

fn run(store: &Store, filter: &Filter, range: TimeRange, reverse: bool) -> Vec<Row> {
    let cfg = SearchConfig { filter: filter.clone(), range, limit: None, reverse };
    let mut v = Vec::new();
    search(store, &cfg, &mut |r| {
        v.push((r.ts, r.source, r.line, r.text.to_vec()));
        Ok(Flow::Continue)
    })
    .unwrap();
    v
}

fn naive(store: &Store, filter: &Filter, range: TimeRange) -> Vec<Row> {
    let mut v = Vec::new();
    scan::scan_time_order(store.segments(), None, |r| {
        if range.contains(r.ts) && filter.matches(r.text) {
            v.push((r.ts, r.source, r.line, r.text.to_vec()));
        }
        Ok(true)
    })
    .unwrap();
    v
}

/// Turns a word of the corpus into a filter argument of some kind.
fn filter_from(word: &[u8], kind: u8, cut: usize) -> FilterSpec {
    let w = String::from_utf8_lossy(word).into_owned();
    let part: String = w.chars().skip(cut % w.chars().count().max(1)).take(4).collect();
    let esc = regex_syntax::escape(&w);
    match kind % 6 {
        0 => FilterSpec { args: vec![w], ..Default::default() },
        1 => FilterSpec { args: vec![part], ..Default::default() },
        2 => FilterSpec { regex: Some(format!("{esc}|zzqq")), ..Default::default() },
        3 => FilterSpec {
            simple: Some(format!("*{part}*")),
            args: vec![format!("^{w}")],
            ..Default::default()
        },
        4 => FilterSpec { regex: Some(format!(r"{esc}\s+\S")), ..Default::default() },
        _ => FilterSpec {
            args: vec![format!("{w} ")],
            not: Some("[0-9]{3}".into()),
            ..Default::default()
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn index_equals_naive_scan(i in any::<usize>(), kind in any::<u8>(), cut in 0usize..6, t in 0u8..3, batch in 1usize..40) {
        super::runner::TEST_BATCH.with(|b| b.set(Some(batch)));
        let (_, store, words) = store();
        let spec = filter_from(&words[i % words.len()], kind, cut);
        let filter = Filter::new(&spec).unwrap();
        let m = store.manifest();
        let lo = m.segments.iter().map(|s| s.min_ts).min().unwrap_or(0);
        let hi = m.segments.iter().map(|s| s.max_ts).max().unwrap_or(0);
        let range = match t {
            0 => TimeRange::ALL,
            1 => TimeRange { start: lo + (hi - lo) / 3, end: hi - (hi - lo) / 3 },
            _ => TimeRange { start: lo, end: lo + (hi - lo) / 10 },
        };
        let want = naive(store, &filter, range);
        let got = run(store, &filter, range, false);
        prop_assert_eq!(&got, &want, "filter {:?}", spec);
        let mut rev = run(store, &filter, range, true);
        rev.reverse();
        prop_assert_eq!(&rev, &want, "reverse, filter {:?}", spec);
    }
}

/// Small plans of blocks disjoint in time stream straight from each block; others gather
/// and merge. Both must agree with the naive scan, forwards and reversed.
#[test]
fn streaming_and_merging_paths_agree_with_naive() {
    let (_, store, words) = store();
    let (mut streamed, mut merged) = (0, 0);
    for w in words.iter().step_by(words.len() / 150 + 1) {
        let filter = Filter::new(&filter_from(w, 0, 0)).unwrap();
        let want = naive(store, &filter, TimeRange::ALL);
        let before = super::runner::STREAMED.with(std::cell::Cell::get);
        assert_eq!(run(store, &filter, TimeRange::ALL, false), want, "{w:?}");
        let mut rev = run(store, &filter, TimeRange::ALL, true);
        rev.reverse();
        assert_eq!(rev, want, "{w:?} reversed");
        if super::runner::STREAMED.with(std::cell::Cell::get) > before {
            streamed += 1;
        } else {
            merged += 1;
        }
    }
    assert!(streamed > 5 && merged > 5, "streamed {streamed}, merged {merged}");
}

#[test]
fn one_thread_equals_many() {
    let (_, store, _) = store();
    let filter =
        Filter::new(&FilterSpec { args: vec!["session".into()], ..Default::default() }).unwrap();
    let many = run(store, &filter, TimeRange::ALL, false);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| run(store, &filter, TimeRange::ALL, false));
    assert!(!many.is_empty());
    assert_eq!(one, many);
    // And without any filter: every record exactly once, in order.
    let all = run(store, &Filter::default(), TimeRange::ALL, false);
    assert_eq!(all.len() as u64, store.manifest().rows());
    assert!(all.windows(2).all(|w| (w[0].0, w[0].1, w[0].2) <= (w[1].0, w[1].1, w[1].2)));
}

#[test]
fn the_index_prunes() {
    let (_, store, _) = store();
    let filter =
        Filter::new(&FilterSpec { args: vec!["PacketResponder".into()], ..Default::default() })
            .unwrap();
    let plan = super::runner::plan(store, &filter, TimeRange::ALL).unwrap();
    assert!(!plan.blocks.is_empty());
    assert!(
        (plan.blocks.len() as u64) < plan.total_blocks / 2,
        "{} of {}",
        plan.blocks.len(),
        plan.total_blocks
    );
    let none =
        Filter::new(&FilterSpec { args: vec!["zzqqxxnotthere".into()], ..Default::default() })
            .unwrap();
    assert!(super::runner::plan(store, &none, TimeRange::ALL).unwrap().blocks.is_empty());
}

/// Regression: tokens are concatenated in the dictionary, and a non-overlapping substring
/// search there skipped `00` right after `0` (`0`,`00` → "000"), missing blocks.
#[test]
fn overlapping_dictionary_matches() {
    let (_, store, _) = store();
    for arg in ["00:1", "0:0", "1e.0"] {
        let filter =
            Filter::new(&FilterSpec { args: vec![arg.into()], ..Default::default() }).unwrap();
        let want = naive(store, &filter, TimeRange::ALL);
        assert!(!want.is_empty(), "{arg}");
        assert_eq!(run(store, &filter, TimeRange::ALL, false), want, "{arg}");
    }
}
