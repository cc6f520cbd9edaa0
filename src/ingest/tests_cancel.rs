//! Cancelling an import loses nothing: a cancelled import commits a prefix of every source
//! (cut at a record boundary), marks the sources it cut short, and the next import completes
//! them so that the store equals a one-shot import record for record (no duplicates, nothing
//! missing). Checked on real loghub files as plain files, a directory, gzip, tar (with a gzip
//! member) and zip members, for cancel points spread over the whole run.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{ImportObserver, ImportOptions, ImportReport, Quiet, run_import};
use crate::query::{Filter, FilterSpec};
use crate::store::{CompactPolicy, SegmentOptions, Store, StoreWriter, scan};

/// (source path, line, ts, delta, text) of every record.
type Rec = (String, u64, i64, i64, Vec<u8>);

/// Cancels once `cancelled()` has been asked `after` times (the readers poll it per input,
/// per member, per read chunk and every 256 lines, so with one reader the point is
/// deterministic); `after == u64::MAX` never cancels and only counts the polls.
struct CancelAfter {
    after: u64,
    polls: AtomicU64,
}

impl CancelAfter {
    fn new(after: u64) -> Self {
        CancelAfter { after, polls: AtomicU64::new(0) }
    }
}

impl ImportObserver for CancelAfter {
    fn cancelled(&self) -> bool {
        self.polls.fetch_add(1, Ordering::Relaxed) >= self.after
    }
}

fn loghub(rel: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/loghub").join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Builds the inputs in `dir`: a directory of two plain files, a gzip file, a tar with a
/// plain and a gzip member, a zip with two members, and a plain file of multi-line records.
fn inputs(dir: &Path) -> Vec<String> {
    let d = dir.join("logs");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("Linux_2k.log"), loghub("Linux/Linux_2k.log")).unwrap();
    std::fs::write(d.join("OpenSSH_2k.log"), loghub("OpenSSH/OpenSSH_2k.log")).unwrap();
    let apache = dir.join("apache.log.gz");
    std::fs::write(&apache, gz(&loghub("Apache/Apache_2k.log"))).unwrap();
    let mut tb = tar::Builder::new(Vec::new());
    for (name, body) in [
        ("hadoop.log", loghub("Hadoop/Hadoop_2k.log")),
        ("hdfs.log.gz", gz(&loghub("HDFS/HDFS_2k.log"))),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        tb.append_data(&mut h, name, body.as_slice()).unwrap();
    }
    let tarp = dir.join("bundle.tar");
    std::fs::write(&tarp, tb.into_inner().unwrap()).unwrap();
    let zipp = dir.join("bundle.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&zipp).unwrap());
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in
        [("zk.log", loghub("Zookeeper/Zookeeper_2k.log")), ("mac.log", loghub("Mac/Mac_2k.log"))]
    {
        z.start_file(name, o).unwrap();
        z.write_all(&body).unwrap();
    }
    z.finish().unwrap();
    // Records of 1 to 3 lines: only a timestamped line starts one.
    let mut ml = String::new();
    for i in 0..3000u32 {
        ml.push_str(&format!("2024-01-02T03:{:02}:{:02}Z event {i}\n", (i / 60) % 60, i % 60));
        for k in 0..i % 3 {
            ml.push_str(&format!("  at frame {k} of {i}\n"));
        }
    }
    let mlp = dir.join("multi.log");
    std::fs::write(&mlp, ml).unwrap();
    [d, apache, tarp, zipp, mlp].iter().map(|p| p.display().to_string()).collect()
}

fn opts() -> ImportOptions {
    ImportOptions {
        utc: true,
        readers: 1,
        workers: 2,
        segment_text_bytes: 200_000,
        ..ImportOptions::default()
    }
}

fn import(
    store: &Path,
    inputs: &[String],
    o: &ImportOptions,
    obs: &dyn ImportObserver,
) -> ImportReport {
    let mut w = StoreWriter::open(store, SegmentOptions::default()).unwrap();
    run_import(&mut w, inputs, o, CompactPolicy::default(), obs).unwrap()
}

fn records(store: &Path) -> Vec<Rec> {
    let s = Store::open(store).unwrap();
    let mut v = Vec::new();
    scan::scan_time_order(s.segments(), None, |r| {
        v.push((s.source_path(r.source).to_string(), r.line, r.ts, r.delta, r.text.to_vec()));
        Ok(true)
    })
    .unwrap();
    v.sort();
    v
}

/// Line numbers of each source, ascending.
fn lines_by_source(recs: &[Rec]) -> BTreeMap<String, Vec<u64>> {
    let mut m: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for r in recs {
        m.entry(r.0.clone()).or_default().push(r.1);
    }
    for v in m.values_mut() {
        v.sort_unstable();
    }
    m
}

/// The cancelled store holds, of every source, exactly the first records of the one-shot
/// store (same fields), and a source is marked incomplete iff it holds some but not all.
fn check_prefix(store: &Path, full: &[Rec], label: &str) {
    let got = records(store);
    let full_set: std::collections::HashSet<&Rec> = full.iter().collect();
    for r in &got {
        assert!(full_set.contains(r), "{label}: record not in a one-shot import: {r:?}");
    }
    let (g, f) = (lines_by_source(&got), lines_by_source(full));
    let manifest = Store::open(store).unwrap().manifest().clone();
    for (path, all) in &f {
        let have = g.get(path).map_or(&[][..], Vec::as_slice);
        assert_eq!(have, &all[..have.len()], "{label}: {path}: not a prefix");
        let st = manifest.sources.iter().find(|s| &s.path == path);
        let incomplete = st.is_some_and(|s| s.incomplete);
        let cut = !have.is_empty() && have.len() < all.len();
        assert_eq!(
            incomplete,
            cut,
            "{label}: {path}: incomplete flag, {} of {}",
            have.len(),
            all.len()
        );
        if let Some(s) = st.filter(|_| !have.is_empty()) {
            assert_eq!(s.records, have.len() as u64, "{label}: {path}: records");
        }
    }
}

#[test]
fn cancelled_imports_are_completed_by_the_next_import() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = inputs(tmp.path());
    let o = opts();
    let one_shot = tmp.path().join("one-shot");
    let counter = CancelAfter::new(u64::MAX);
    let rep = import(&one_shot, &inputs, &o, &counter);
    assert!(!rep.cancelled && rep.incomplete == 0 && rep.not_started == 0, "{rep:?}");
    assert!(rep.problems.is_empty(), "{:?}", rep.problems);
    assert_eq!((rep.new_sources, rep.grown), (8, 0), "{rep:?}");
    let full = records(&one_shot);
    assert_eq!(lines_by_source(&full).len(), 8, "sources of the inputs");
    let polls = counter.polls.load(Ordering::Relaxed);
    assert!(polls > 40, "polls {polls}");

    let mut points: Vec<u64> = (0..12).map(|k| k * polls / 11).collect();
    points.extend([1, 2, 3]);
    let mut cut_some = 0;
    for (i, &after) in points.iter().enumerate() {
        let store: PathBuf = tmp.path().join(format!("s{i}"));
        let label = format!("cancel after {after} of {polls} polls");
        let rep = import(&store, &inputs, &o, &CancelAfter::new(after));
        assert_eq!(rep.cancelled, after < polls, "{label}: {rep:?}");
        check_prefix(&store, &full, &label);
        let got = records(&store).len();
        assert!(after >= polls || got < full.len(), "{label}: nothing left to import");
        cut_some += usize::from(rep.incomplete > 0);
        // Cancel the completion too, then complete: still no duplicate and no loss.
        let rep2 = import(&store, &inputs, &o, &CancelAfter::new(after / 2 + 1));
        check_prefix(&store, &full, &format!("{label}, then after {}", after / 2 + 1));
        let before = lines_by_source(&records(&store));
        let have = |p: &String| before.get(p).map_or(0, Vec::len);
        let f = lines_by_source(&full);
        let want_new = f.keys().filter(|p| have(p) == 0).count() as u64;
        let want_grown = f.iter().filter(|(p, v)| have(p) > 0 && have(p) < v.len()).count() as u64;
        let rep3 = import(&store, &inputs, &o, &Quiet);
        assert_eq!((rep3.new_sources, rep3.grown), (want_new, want_grown), "{label}: {rep3:?}");
        assert!(!rep3.cancelled && rep3.incomplete == 0, "{label}: {rep3:?}");
        assert_eq!(records(&store), full, "{label}: completed store differs ({rep2:?})");
        let m = Store::open(&store).unwrap().manifest().clone();
        assert!(m.sources.iter().all(|s| !s.incomplete), "{label}: {:?}", m.sources);
        // A further import finds nothing new.
        let rep4 = import(&store, &inputs, &o, &Quiet);
        assert_eq!(rep4.records, 0, "{label}: {rep4:?}");
        assert_eq!((rep4.new_sources, rep4.grown, rep4.unchanged), (0, 0, 8), "{label}: {rep4:?}");
    }
    assert!(cut_some >= 5, "only {cut_some} cancel points cut a source short");
}

#[test]
fn cancelled_completion_of_a_filtered_import_stays_partial() {
    // A filtered import stores part of each source; an unfiltered import cancelled while
    // re-reading must not resume at its stop point (stored records lie beyond it), and the
    // import after it stores exactly what is missing.
    let tmp = tempfile::tempdir().unwrap();
    let inputs = inputs(tmp.path());
    let o = opts();
    let one_shot = tmp.path().join("one-shot");
    import(&one_shot, &inputs, &o, &Quiet);
    let key = |v: Vec<Rec>| -> Vec<(String, u64, i64, Vec<u8>)> {
        v.into_iter().map(|(p, l, t, _, x)| (p, l, t, x)).collect()
    };
    let full = key(records(&one_shot));
    let filtered = ImportOptions {
        filter: Filter::new(&FilterSpec { args: vec!["session".into()], ..Default::default() })
            .unwrap(),
        ..opts()
    };
    for after in [5, 30, 60] {
        let store = tmp.path().join(format!("f{after}"));
        let r = import(&store, &inputs, &filtered, &Quiet);
        assert!(r.filtered > 0 && r.records > 0, "{r:?}");
        let r = import(&store, &inputs, &o, &CancelAfter::new(after));
        assert!(r.cancelled, "{r:?}");
        let m = Store::open(&store).unwrap().manifest().clone();
        for s in m.sources.iter().filter(|s| s.incomplete) {
            assert!(s.partial, "a cut re-read stays partial: {s:?}");
        }
        import(&store, &inputs, &o, &Quiet);
        assert_eq!(key(records(&store)), full, "cancel after {after}");
    }
}
