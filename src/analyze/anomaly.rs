//! `anomaly`: isolation-forest scores of per-line feature vectors (spec §6.5).
//!
//! Modes (the feature definitions are upstream's, see [`features`]):
//! * `tfidf`: per line, `tf · log10(N / df)` of each of its terms over the corpus of distinct
//!   lines (the tokenizer and stop words of [`super::tfidf`]; `tf` = count / all tokens);
//! * `sql`, `os`, `dir`: substring counts of 28, 31 and 21 keywords;
//! * `walu`: 29 shape features of the HTTP request between the first two `"`;
//! * `number`: the numbers of the line (inside the `-e pre*suf` window).
//!
//! Two deliberate departures from upstream make attacks in web access logs rank high as
//! users run it (measured on the web logs of `../shared/data/weblogs`, see the test
//! `weblog_attacks_rank_high` and the README; upstream's behaviour stays available):
//! * [`Part::Request`] is the default (`--part line` is upstream's): an access-log line is
//!   seen through its request only ([`features::find_request`]): `sql`, `os`, `dir`,
//!   `number` and `tfidf` take the percent-decoded, lower-case URI
//!   ([`features::decode_uri`]; keyword keys in decoded form, words matched whole, plus one
//!   total), `walu` the raw request; lines that are not access-log lines keep their whole
//!   text. Referrers and user agents then no longer outweigh the payload, and encoded
//!   payloads (`%27`, `..%2f`) show their keywords.
//! * Each tree draws 4096 lines by default (upstream: 256): a keyword that a few lines in
//!   ten thousand carry is then in most trees' samples, so the trees split on it; with 256
//!   it rarely is, and those lines land in the big leaves of the normal ones (precision at
//!   20 of the keyword modes: 0 with 256). The forest holds each drawn *distinct* vector
//!   once with its number of draws ([`forest::Forest::train_with`]), so the larger sample
//!   costs little where lines repeat (the keyword modes have a few dozen distinct vectors).
//!
//! Every vector carries the key of its line, so scores are always shown next to their own
//! line (upstream misaligned them in walu and number mode when lines were skipped). Lines
//! without a vector (walu: no `"`; number: window missing, or a count of numbers that differs
//! from the first line's, where upstream aborted) are skipped and counted. Stop words get no
//! slot (upstream wrote NaN into slot 0 for each). The forest is seeded (upstream was not),
//! and with fewer than `sample` lines it samples all of them (upstream aborted below 256).
//! Rows are sorted by score, highest first, ties in time order.
//!
//! # Phases and cancellation
//! In the terminal UI ([`runner::with_control`]) the work after the scan is reported in
//! upstream's phases: Search (the scan, shown as scanning), Add (distinct vectors and their
//! counts; tfidf: distinct lines and document frequencies), TFIDF (tfidf mode: the term
//! weights), Training (one step per tree) and Score (one step per distinct vector), then a
//! Search reading back the reported texts. A cancellation returns promptly with a partial
//! result: the lines whose vector was scored before it, each with the score a complete run
//! gives it, at most [`CANCELLED_ROWS`] of them (none if it came before the Score phase).
//!
//! # Memory
//! The scan keeps, per record, its key and the id of its vector (32 bytes), and every
//! *distinct* vector once (dense modes: `8 × dimension` bytes; `tfidf`: the distinct lines'
//! term ids with counts, as in [`super::tfidf`]); keyword modes typically have few distinct
//! vectors. The forest is at most `trees × 2 × min(sample, distinct vectors)` nodes of 24
//! bytes (1000 trees of 4096: up to 200 MB where most lines differ, as in tfidf mode; little
//! in the keyword modes); sparse training adds 24 bytes per term and thread. Texts are read
//! back at the end for the reported rows only (`--top`); reporting every row holds every
//! reported text.

pub mod features;
pub mod forest;

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;

use super::runner::{self, ScanStats};
use super::tfidf::{Corpus, RecKey, text_hash};
use super::{AnalyzeError, Flow};
use crate::model::{Nanos, SourceId};
use crate::query::{Filter, TimeRange};
use crate::store::Store;
use features::NumberWindow;
use forest::{Data, Dense, Forest, Params, Sparse};

/// How lines become vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Term weights (tf·idf) of the line's words.
    #[default]
    Tfidf,
    /// SQL injection keyword counts.
    Sql,
    /// OS command injection keyword counts.
    Os,
    /// Directory traversal keyword counts.
    Dir,
    /// Shape of the HTTP request (after Kanatoko/Walu).
    Walu,
    /// The numbers of the line.
    Number,
}

/// Which part of a line becomes its vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// The whole line (upstream).
    Line,
    /// Access-log lines: the percent-decoded, lower-case request URI (other lines: the
    /// whole line). `walu` takes the raw request found the same way (its features count the
    /// encoding itself). The default (not upstream's), see the module doc.
    #[default]
    Request,
}

/// What to analyse.
#[derive(Debug, Clone)]
pub struct AnomalyConfig {
    /// Line filter.
    pub filter: Filter,
    /// Time range.
    pub range: TimeRange,
    /// Feature mode.
    pub mode: Mode,
    /// Part of the line analysed.
    pub part: Part,
    /// `number` mode window.
    pub window: NumberWindow,
    /// Forest settings.
    pub params: Params,
    /// Report only the N highest scores (0 = all).
    pub top: usize,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            filter: Filter::default(),
            range: TimeRange::ALL,
            mode: Mode::Tfidf,
            part: Part::Request,
            window: NumberWindow::default(),
            params: Params::default(),
            top: 0,
        }
    }
}

/// One scored line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnomalyRow {
    /// Timestamp (ns).
    pub time: Nanos,
    /// Source id.
    pub source: SourceId,
    /// Line number in the source.
    pub line: u64,
    /// Raw text.
    pub text: Vec<u8>,
    /// Anomaly score in (0, 1]; higher is more anomalous.
    pub score: f64,
}

/// Totals of a run.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct AnomalyStats {
    /// Records that passed the filters.
    pub hits: u64,
    /// Records with a vector (scored).
    pub scored: u64,
    /// Records without a vector (skipped).
    pub skipped: u64,
    /// Distinct vectors.
    pub vectors: u64,
    /// Vector length (dense modes; 0 for tfidf).
    pub dim: u64,
    /// Scan counters.
    pub scan: ScanStats,
}

/// Mergeable state of the dense modes: distinct vectors and, per record, its vector.
#[derive(Debug, Clone, Default)]
pub struct VecState {
    ids: HashMap<Box<[u64]>, u32>,
    /// `(key, vector id)` per record with a vector.
    pub rows: Vec<(RecKey, u32)>,
    /// Records seen.
    pub hits: u64,
}

impl VecState {
    fn intern(&mut self, v: Box<[u64]>) -> u32 {
        if let Some(&id) = self.ids.get(&v) {
            return id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(v, id);
        id
    }

    /// Adds a record's vector (or only counts the record when it has none).
    pub fn observe(&mut self, key: RecKey, v: Option<&[f64]>) {
        self.hits += 1;
        if let Some(v) = v {
            let bits: Box<[u64]> = v.iter().map(|x| x.to_bits()).collect();
            let id = self.intern(bits);
            self.rows.push((key, id));
        }
    }

    /// Combines two states.
    pub fn merge(mut self, mut other: VecState) -> VecState {
        if self.ids.len() < other.ids.len() {
            std::mem::swap(&mut self, &mut other);
        }
        let mut map = vec![0u32; other.ids.len()];
        for (v, id) in other.ids {
            map[id as usize] = self.intern(v);
        }
        self.rows.extend(other.rows.into_iter().map(|(k, id)| (k, map[id as usize])));
        self.hits += other.hits;
        self
    }

    /// The distinct vectors, indexed by id (each is stored once, as a key of the index).
    fn vectors(&self) -> Vec<&[u64]> {
        let mut v: Vec<&[u64]> = vec![&[]; self.ids.len()];
        for (vec, id) in &self.ids {
            v[*id as usize] = vec;
        }
        v
    }

    /// Rows in key order with their vectors (for comparisons in tests).
    pub fn canonical(&self) -> Vec<(RecKey, Vec<u64>)> {
        let vecs = self.vectors();
        let mut v: Vec<_> =
            self.rows.iter().map(|(k, id)| (*k, vecs[*id as usize].to_vec())).collect();
        v.sort();
        v
    }
}

/// Mergeable state of `tfidf` mode: the corpus of distinct lines and each record's line.
#[derive(Debug, Clone, Default)]
pub struct TextState {
    /// Distinct lines.
    pub corpus: Corpus,
    /// `(key, text hash)` per record.
    pub rows: Vec<(RecKey, u128)>,
}

impl TextState {
    fn merge(mut self, other: TextState) -> TextState {
        self.corpus = self.corpus.merge(other.corpus);
        self.rows.extend(other.rows);
        self
    }
}

/// The keys of the keyword modes in their decoded form (for [`Part::Request`]).
struct DecodedKeys {
    sql: Vec<Vec<u8>>,
    os: Vec<Vec<u8>>,
    dir: Vec<Vec<u8>>,
}

static DECODED_KEYS: std::sync::LazyLock<DecodedKeys> = std::sync::LazyLock::new(|| DecodedKeys {
    sql: features::decoded_keys(features::SQL_KEYS),
    os: features::decoded_keys(features::OS_KEYS),
    dir: features::decoded_keys(features::DIR_KEYS),
});

/// Computes the dense vector of `text` for a non-tfidf mode into `out`; false if none.
pub fn dense_vector(
    mode: Mode,
    part: Part,
    window: &NumberWindow,
    text: &[u8],
    out: &mut Vec<f64>,
) -> bool {
    out.clear();
    // Access-log lines in request mode; other lines keep the whole-line features.
    if part == Part::Request {
        let keys = &*DECODED_KEYS;
        // The decoded URI, or the whole line when it is not an access-log line.
        let decoded = || features::request_text(text);
        match mode {
            Mode::Sql => features::keyword_vector_bytes(&decoded(), &keys.sql, out),
            Mode::Os => features::keyword_vector_bytes(&decoded(), &keys.os, out),
            Mode::Dir => features::keyword_vector_bytes(&decoded(), &keys.dir, out),
            // The raw request: walu's features count the encoding itself.
            Mode::Walu => match features::find_request(text) {
                Some((request, _)) => features::walu_request(request, out),
                None => return features::walu_vector(text, out),
            },
            Mode::Number => return features::number_vector(&decoded(), window, out),
            Mode::Tfidf => return false,
        }
        return true;
    }
    match mode {
        Mode::Sql => features::keyword_vector(text, features::SQL_KEYS, out),
        Mode::Os => features::keyword_vector(text, features::OS_KEYS, out),
        Mode::Dir => features::keyword_vector(text, features::DIR_KEYS, out),
        Mode::Walu => return features::walu_vector(text, out),
        Mode::Number => return features::number_vector(text, window, out),
        Mode::Tfidf => return false,
    }
    true
}

/// Scans the records of a dense mode.
pub fn collect_dense(
    store: &Store,
    cfg: &AnomalyConfig,
) -> Result<(VecState, ScanStats), AnalyzeError> {
    let plan = runner::plan(store, &cfg.filter, cfg.range)?;
    Ok(runner::scan_fold(
        store,
        &plan,
        &cfg.filter,
        cfg.range,
        || (VecState::default(), Vec::new()),
        |(st, buf), r| {
            let has = dense_vector(cfg.mode, cfg.part, &cfg.window, r.text, buf);
            st.observe((r.ts, r.source, r.line), has.then_some(buf.as_slice()));
        },
        |a, b| (a.0.merge(b.0), a.1),
    )
    .map(|((s, _), scan)| (s, scan))?)
}

/// Distinct vectors scored per work item of the Score phase.
const SCORE_CHUNK: usize = 1024;

/// Records between two cancellation checks in the Add phase.
const ADD_CHUNK: usize = 1 << 16;

/// At most this many rows are reported after a cancellation (their texts are read back
/// without further cancellation, so the read must stay small).
pub const CANCELLED_ROWS: usize = 1000;

#[cfg(test)]
type Hook = std::sync::Arc<dyn Fn(&'static str, u64) + Send + Sync>;

#[cfg(test)]
thread_local! {
    /// Test hook: called with the phase name and 0 on entering a phase, and with the phase
    /// name and the items done on each step (from any thread).
    static HOOK: std::cell::RefCell<Option<Hook>> = const { std::cell::RefCell::new(None) };
}

/// A named phase of the computation after the scan (upstream's progress names: Search for
/// the scans, then Add, TFIDF, Training, Score): a [`runner::Phase`] that the forest can
/// poll too.
struct Step {
    phase: runner::Phase,
    #[cfg(test)]
    name: &'static str,
    #[cfg(test)]
    hook: Option<Hook>,
}

impl Step {
    /// Enters `name` with `total` items; `"Search"` is a scan, shown as scanning.
    fn enter(name: &'static str, total: u64) -> Step {
        let phase = runner::Phase::enter(if name == "Search" { "" } else { name }, total);
        #[cfg(test)]
        {
            let hook = HOOK.with(|h| h.borrow().clone());
            if let Some(h) = &hook {
                h(name, 0);
            }
            Step { phase, name, hook }
        }
        #[cfg(not(test))]
        Step { phase }
    }
}

impl forest::Control for Step {
    fn cancelled(&self) -> bool {
        self.phase.cancelled()
    }

    fn step(&self, n: u64) {
        self.phase.step(n);
        #[cfg(test)]
        if let Some(h) = &self.hook {
            h(self.name, n);
        }
    }
}

/// Scores the distinct vectors of `d` (row `r` stands for `counts[r]` records): Training,
/// then Score. A vector not scored before a cancellation gets `None`.
fn train_and_score<D: forest::Data>(d: &D, counts: &[u64], params: Params) -> Vec<Option<f64>> {
    use forest::Control;
    let training = Step::enter("Training", params.trees as u64);
    let forest = Forest::train_with(d, Some(counts), params, &training);
    let score = Step::enter("Score", d.rows() as u64);
    let rows: Vec<usize> = (0..d.rows()).collect();
    rows.par_chunks(SCORE_CHUNK)
        .flat_map_iter(|chunk| {
            if score.cancelled() {
                return vec![None; chunk.len()];
            }
            let v = forest.score_block(d, chunk);
            score.step(chunk.len() as u64);
            v.into_iter().map(Some).collect()
        })
        .collect()
}

/// Scores of the dense modes: `(key, score)` per scored record (in key order), and the
/// counts. After a cancellation, only the records whose vector was scored before it.
pub fn score_dense(mut st: VecState, params: Params) -> (Vec<(RecKey, f64)>, AnomalyStats) {
    use forest::Control;
    let add = Step::enter("Add", st.rows.len() as u64);
    let mut rows = std::mem::take(&mut st.rows);
    rows.sort_unstable();
    let vecs = st.vectors();
    // Number mode: the first line decides the length; others are skipped.
    let dim = rows.first().map_or(0, |(_, id)| vecs[*id as usize].len());
    rows.retain(|(_, id)| vecs[*id as usize].len() == dim);
    let skipped = st.hits - rows.len() as u64;
    let mut stats = AnomalyStats {
        hits: st.hits,
        scored: 0,
        skipped,
        vectors: 0,
        dim: dim as u64,
        scan: ScanStats::default(),
    };
    // Distinct vectors in use, numbered by first use in key order (deterministic), with
    // the number of records of each.
    let mut local: HashMap<u32, u32> = HashMap::new();
    let mut values: Vec<f64> = Vec::new();
    let mut counts: Vec<u64> = Vec::new();
    let mut row_vec: Vec<u32> = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(ADD_CHUNK) {
        if add.cancelled() {
            return (Vec::new(), stats);
        }
        for (_, id) in chunk {
            let next = local.len() as u32;
            let l = *local.entry(*id).or_insert_with(|| {
                values.extend(vecs[*id as usize].iter().map(|b| f64::from_bits(*b)));
                counts.push(0);
                next
            });
            counts[l as usize] += 1;
            row_vec.push(l);
        }
        add.step(chunk.len() as u64);
    }
    let distinct = Dense { dim, values };
    stats.vectors = distinct.rows() as u64;
    let scores = train_and_score(&distinct, &counts, params);
    let out: Vec<(RecKey, f64)> = rows
        .iter()
        .zip(&row_vec)
        .filter_map(|((k, _), v)| scores[*v as usize].map(|s| (*k, s)))
        .collect();
    stats.scored = out.len() as u64;
    (out, stats)
}

/// Scans the records for `tfidf` mode.
pub fn collect_text(
    store: &Store,
    cfg: &AnomalyConfig,
) -> Result<(TextState, ScanStats), AnalyzeError> {
    let plan = runner::plan(store, &cfg.filter, cfg.range)?;
    Ok(runner::scan_fold(
        store,
        &plan,
        &cfg.filter,
        cfg.range,
        TextState::default,
        |st, r| {
            let key = (r.ts, r.source, r.line);
            let text = match cfg.part {
                Part::Line => std::borrow::Cow::Borrowed(r.text),
                Part::Request => features::request_text(r.text),
            };
            st.corpus.observe(key, &text);
            st.rows.push((key, text_hash(&text)));
        },
        TextState::merge,
    )?)
}

/// Scores of `tfidf` mode (as [`score_dense`]).
pub fn score_text(st: &TextState, params: Params) -> (Vec<(RecKey, f64)>, AnomalyStats) {
    use forest::Control;
    let corpus = &st.corpus;
    let mut stats = AnomalyStats { hits: corpus.hits, ..AnomalyStats::default() };
    let add = Step::enter("Add", corpus.docs.len() as u64);
    // Distinct lines in key order; df per term over them.
    let mut docs: Vec<(&u128, &super::tfidf::Doc)> = corpus.docs.iter().collect();
    docs.sort_unstable_by_key(|d| d.1.key);
    let n = docs.len() as f64;
    // Attributes are numbered by their word, not by the corpus's term ids (which depend on
    // the order in which segments were merged), so that the forest's random choices do not.
    let mut used: Vec<u32> = docs.iter().flat_map(|d| d.1.terms.iter().map(|t| t.0)).collect();
    used.sort_unstable();
    used.dedup();
    used.sort_by(|a, b| corpus.word(*a).cmp(corpus.word(*b)));
    let attr: HashMap<u32, u32> = used.iter().enumerate().map(|(i, t)| (*t, i as u32)).collect();
    let mut df: HashMap<u32, u32> = HashMap::new();
    for chunk in docs.chunks(ADD_CHUNK) {
        if add.cancelled() {
            return (Vec::new(), stats);
        }
        for (_, d) in chunk {
            for &(t, _) in d.terms.iter() {
                *df.entry(t).or_default() += 1;
            }
        }
        add.step(chunk.len() as u64);
    }
    let weights = Step::enter("TFIDF", docs.len() as u64);
    let mut doc_index: HashMap<u128, usize> = HashMap::with_capacity(docs.len());
    let mut sparse = Sparse::default();
    for (i, (h, d)) in docs.iter().enumerate() {
        if i % ADD_CHUNK == 0 {
            if weights.cancelled() {
                return (Vec::new(), stats);
            }
            weights.step(ADD_CHUNK.min(docs.len() - i) as u64);
        }
        doc_index.insert(**h, i);
        let len = f64::from(d.tokens.max(1));
        let mut row: Vec<(u32, f64)> = d
            .terms
            .iter()
            .filter_map(|&(t, c)| {
                let w = f64::from(c) / len * (n / f64::from(df[&t])).log10();
                (w != 0.0).then_some((attr[&t], w))
            })
            .collect();
        row.sort_unstable_by_key(|e| e.0);
        let row = row.into_boxed_slice();
        sparse.push(row);
    }
    let mut rows = st.rows.clone();
    rows.sort_unstable();
    let row_doc: Vec<u32> =
        rows.iter().map(|(_, h)| doc_index.get(h).copied().unwrap_or(0) as u32).collect();
    let mut counts = vec![0u64; sparse.rows()];
    for &d in &row_doc {
        counts[d as usize] += 1;
    }
    stats.vectors = docs.len() as u64;
    let scores = train_and_score(&sparse, &counts, params);
    let out: Vec<(RecKey, f64)> = rows
        .iter()
        .zip(&row_doc)
        .filter_map(|((k, _), d)| scores[*d as usize].map(|s| (*k, s)))
        .collect();
    stats.scored = out.len() as u64;
    (out, stats)
}

/// Sorts by score, highest first, then by key; keeps `top` (0 = all).
pub fn rank(mut scores: Vec<(RecKey, f64)>, top: usize) -> Vec<(RecKey, f64)> {
    scores.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    if top > 0 {
        scores.truncate(top);
    }
    scores
}

/// Scores every line; calls `emit` with the rows, highest score first.
///
/// Inside a [`runner::with_control`] (the terminal UI) the phases are named and stepped and
/// a cancellation returns promptly with a partial result: the rows are those of the lines
/// whose vector was scored before it (none if it came before the Score phase), each with
/// the score a complete run gives it, at most [`CANCELLED_ROWS`] of them, highest first.
pub fn anomaly(
    store: &Store,
    cfg: &AnomalyConfig,
    emit: &mut dyn FnMut(&AnomalyRow) -> Result<Flow, AnalyzeError>,
) -> Result<AnomalyStats, AnalyzeError> {
    use forest::Control;
    let search = Step::enter("Search", 0);
    let (scores, mut stats) = if cfg.mode == Mode::Tfidf {
        let (st, scan) = collect_text(store, cfg)?;
        let (s, mut stats) = score_text(&st, cfg.params);
        stats.scan = scan;
        (s, stats)
    } else {
        let (st, scan) = collect_dense(store, cfg)?;
        let (s, mut stats) = score_dense(st, cfg.params);
        stats.scan = scan;
        (s, stats)
    };
    stats.scan.hits = stats.hits;
    let cancelled = search.cancelled();
    let top = match (cancelled, cfg.top) {
        (false, top) => top,
        (true, 0) => CANCELLED_ROWS,
        (true, top) => top.min(CANCELLED_ROWS),
    };
    let ranked = rank(scores, top);
    if ranked.is_empty() {
        return Ok(stats);
    }
    let keys: Vec<RecKey> = ranked.iter().map(|r| r.0).collect();
    let _fetch = Step::enter("Search", 0);
    let mut texts = if cancelled {
        // The texts of the few rows kept, on a control of their own (that is not cancelled).
        let own = std::sync::Arc::new(runner::ScanControl::default());
        runner::with_control(own, || {
            super::tfidf::fetch_texts(store, &cfg.filter, cfg.range, &keys)
        })?
    } else {
        super::tfidf::fetch_texts(store, &cfg.filter, cfg.range, &keys)?
    };
    for (key, score) in ranked {
        // A cancellation while reading texts back leaves some rows without one: not shown.
        let Some(text) = texts.remove(&key) else { continue };
        let row = AnomalyRow { time: key.0, source: key.1, line: key.2, text, score };
        if emit(&row)? == Flow::Stop {
            break;
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{ImportOptions, Quiet, run_import};
    use crate::store::{CompactPolicy, SegmentOptions, StoreWriter};
    use proptest::prelude::*;

    fn corpus(name: &str) -> String {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../shared/data/loghub/{name}/{name}_2k.log"))
            .display()
            .to_string()
    }

    /// A store of `files`, with tiny segments and blocks or with the defaults.
    fn store(dir: &std::path::Path, files: &[String], tiny: bool) -> Store {
        let path = dir.join(if tiny { "tiny.db" } else { "big.db" });
        let seg = if tiny {
            SegmentOptions { block_text_bytes: 2048, block_rows: 16, frame_text_bytes: 512 }
        } else {
            SegmentOptions::default()
        };
        let mut w = StoreWriter::open(&path, seg).unwrap();
        let mut opts = ImportOptions { utc: true, ..ImportOptions::default() };
        let mut policy = CompactPolicy::default();
        if tiny {
            opts.segment_text_bytes = 30_000;
            policy = CompactPolicy {
                small_text_bytes: 0,
                min_small_segments: usize::MAX,
                target_text_bytes: 1,
            };
        }
        run_import(&mut w, files, &opts, policy, &Quiet).unwrap();
        drop(w);
        Store::open(&path).unwrap()
    }

    fn run_anomaly(s: &Store, mode: Mode) -> Vec<AnomalyRow> {
        let cfg = AnomalyConfig {
            mode,
            params: Params { trees: 60, sample: 128, seed: 4 },
            ..AnomalyConfig::default()
        };
        let mut v = Vec::new();
        anomaly(s, &cfg, &mut |r| {
            v.push(r.clone());
            Ok(Flow::Continue)
        })
        .unwrap();
        v
    }

    fn run_tfidf(s: &Store, top: usize) -> Vec<super::super::tfidf::TfidfRow> {
        let cfg = super::super::tfidf::TfidfConfig { top, ..Default::default() };
        let mut v = Vec::new();
        super::super::tfidf::tfidf(s, &cfg, &mut |r| {
            v.push(r.clone());
            Ok(Flow::Continue)
        })
        .unwrap();
        v
    }

    /// Segment and block sizes, and the thread count, do not change any result.
    #[test]
    fn segment_size_and_threads_do_not_matter() {
        let dir = tempfile::tempdir().unwrap();
        let files = [corpus("Apache"), corpus("Linux")];
        let tiny = store(dir.path(), &files, true);
        let big = store(dir.path(), &files, false);
        assert!(tiny.segments().len() >= 2 && big.segments().len() <= tiny.segments().len());
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        for mode in [Mode::Tfidf, Mode::Sql, Mode::Dir, Mode::Number, Mode::Os] {
            let a = run_anomaly(&tiny, mode);
            assert!(a.len() > 100, "{mode:?}");
            assert!(a == run_anomaly(&big, mode), "{mode:?}: segment sizes differ");
            assert!(a == one.install(|| run_anomaly(&tiny, mode)), "{mode:?}: threads differ");
        }
        for top in [0, 15] {
            let a = run_tfidf(&tiny, top);
            assert!(!a.is_empty());
            let b = run_tfidf(&big, top);
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
            let c = one.install(|| run_tfidf(&tiny, top));
            assert_eq!(format!("{a:?}"), format!("{c:?}"));
        }
    }

    /// Events seen by the test hook: `(phase, 0)` on entry, `(phase, n)` per step.
    type Events = std::sync::Arc<std::sync::Mutex<Vec<(&'static str, u64)>>>;

    /// Runs `anomaly` inside a control; the hook logs the phases and sets `cancel` once
    /// phase `at.0` has done `at.1` items (on entry when 0).
    fn controlled(
        s: &Store,
        cfg: &AnomalyConfig,
        at: Option<(&'static str, u64)>,
    ) -> (Vec<AnomalyRow>, AnomalyStats, Vec<(&'static str, u64)>, runner::ScanControl) {
        let ctl = std::sync::Arc::new(runner::ScanControl::default());
        let events: Events = Default::default();
        let (log, c) = (events.clone(), ctl.clone());
        let hook: Hook = std::sync::Arc::new(move |name, n| {
            let mut log = log.lock().unwrap();
            log.push((name, n));
            if let Some((phase, after)) = at {
                let done: u64 = log.iter().filter(|e| e.0 == phase).map(|e| e.1).sum();
                if name == phase && done >= after {
                    c.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
        HOOK.with(|h| *h.borrow_mut() = Some(hook));
        let mut rows = Vec::new();
        let st = runner::with_control(ctl.clone(), || {
            anomaly(s, cfg, &mut |r| {
                rows.push(r.clone());
                Ok(Flow::Continue)
            })
        })
        .unwrap();
        HOOK.with(|h| *h.borrow_mut() = None);
        let events = events.lock().unwrap().clone();
        let ctl = std::sync::Arc::try_unwrap(ctl).unwrap();
        (rows, st, events, ctl)
    }

    /// The phases entered, in order.
    fn entered(events: &[(&'static str, u64)]) -> Vec<&'static str> {
        events.iter().filter(|e| e.1 == 0).map(|e| e.0).collect()
    }

    /// Items done in `phase`.
    fn done(events: &[(&'static str, u64)], phase: &str) -> u64 {
        events.iter().filter(|e| e.0 == phase).map(|e| e.1).sum()
    }

    /// Upstream's phase names, in order, each stepped to its total; the control ends in the
    /// last Search (reading back the texts) and the result equals a run without control.
    #[test]
    fn phases_are_named_and_stepped() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path(), &[corpus("Apache"), corpus("Linux")], false);
        for (mode, phases) in [
            (Mode::Tfidf, vec!["Search", "Add", "TFIDF", "Training", "Score", "Search"]),
            (Mode::Sql, vec!["Search", "Add", "Training", "Score", "Search"]),
        ] {
            let cfg = AnomalyConfig {
                mode,
                params: Params { trees: 30, sample: 256, seed: 2 },
                ..AnomalyConfig::default()
            };
            let (rows, st, events, ctl) = controlled(&s, &cfg, None);
            assert_eq!(entered(&events), phases, "{mode:?}");
            assert_eq!(done(&events, "Training"), 30);
            assert_eq!(done(&events, "Score"), st.vectors);
            assert_eq!(done(&events, "Add"), if mode == Mode::Tfidf { st.vectors } else { 4000 });
            assert_eq!(ctl.phase(), ("", 0, 0));
            assert!(!ctl.cancelled());
            assert_eq!(rows, run_with(&s, &cfg), "{mode:?}");
            assert_eq!(rows.len(), 4000);
        }
    }

    fn run_with(s: &Store, cfg: &AnomalyConfig) -> Vec<AnomalyRow> {
        let mut v = Vec::new();
        anomaly(s, cfg, &mut |r| {
            v.push(r.clone());
            Ok(Flow::Continue)
        })
        .unwrap();
        v
    }

    /// A cancellation after the scan returns at once (no tree of a forest that would take
    /// minutes is built, nothing is scored) and the same way every time; one during the
    /// Score phase keeps the lines scored so far, each with the score of a complete run.
    #[test]
    fn cancel_returns_promptly_with_partial_rows() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path(), &[corpus("Apache"), corpus("Linux")], false);
        let huge = AnomalyConfig {
            params: Params { trees: 2_000_000, sample: 4096, seed: 1 },
            ..AnomalyConfig::default()
        };
        for mode in [Mode::Tfidf, Mode::Dir] {
            let cfg = AnomalyConfig { mode, ..huge.clone() };
            let started = std::time::Instant::now();
            let (rows, st, events, ctl) = controlled(&s, &cfg, Some(("Add", 0)));
            assert!(started.elapsed() < std::time::Duration::from_secs(20), "{mode:?}");
            assert!(rows.is_empty() && ctl.cancelled());
            assert_eq!((st.hits, st.scored), (4000, 0), "{mode:?}");
            assert_eq!(done(&events, "Training") + done(&events, "Score"), 0);
            assert_eq!(entered(&events), ["Search", "Add"], "{mode:?}");
            let again = controlled(&s, &cfg, Some(("Add", 0)));
            assert_eq!((again.0.len(), again.1.hits, again.2), (0, 4000, events));
        }
        // During training: the trees started so far are finished, the rest skipped.
        let cfg = AnomalyConfig { mode: Mode::Dir, ..huge };
        let started = std::time::Instant::now();
        let (rows, st, events, _) = controlled(&s, &cfg, Some(("Training", 5)));
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        assert!(rows.is_empty() && st.hits == 4000);
        let trees = done(&events, "Training");
        assert!((5..1000).contains(&trees), "{trees}");
        assert_eq!(entered(&events), ["Search", "Add", "Training", "Score"]);
        assert_eq!(done(&events, "Score"), 0);
        // Cancelled once the first chunk of distinct lines is scored.
        let cfg = AnomalyConfig {
            params: Params { trees: 40, sample: 256, seed: 3 },
            ..AnomalyConfig::default()
        };
        let full = run_with(&s, &cfg);
        // Two threads: at most the chunk in progress on the other finishes after the cancel.
        let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let (rows, st, events, _) = two.install(|| controlled(&s, &cfg, Some(("Score", 1))));
        assert!(st.vectors > 2 * SCORE_CHUNK as u64, "{}", st.vectors);
        assert!(done(&events, "Score") < st.vectors, "{events:?}");
        assert!(!rows.is_empty() && rows.len() <= CANCELLED_ROWS && rows.len() < full.len());
        assert!(st.scored as usize >= rows.len() && (st.scored as usize) < full.len());
        assert!(rows.windows(2).all(|w| w[0].score >= w[1].score));
        let by_key: HashMap<(Nanos, SourceId, u64), f64> =
            full.iter().map(|r| ((r.time, r.source, r.line), r.score)).collect();
        for r in &rows {
            assert_eq!(by_key[&(r.time, r.source, r.line)], r.score, "{r:?}");
            assert!(!r.text.is_empty());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// VecState merges: associative, `init` neutral, any split equals one pass.
        #[test]
        fn merge_laws(a in 0usize..300, b in 0usize..300, mode in 0usize..5, request: bool) {
            let mode = [Mode::Sql, Mode::Os, Mode::Dir, Mode::Walu, Mode::Number][mode];
            let which = if request { Part::Request } else { Part::Line };
            let text = std::fs::read_to_string(corpus("Apache")).unwrap();
            let lines: Vec<&str> = text.lines().take(300).collect();
            let (a, b) = (a.min(b), a.max(b));
            let part = |r: std::ops::Range<usize>| {
                let mut st = VecState::default();
                let mut buf = Vec::new();
                for i in r {
                    // Every other line an access-log request (for --part request).
                    let line = if i % 2 == 0 {
                        format!("\"GET /{}?q=%27{i}+or+1 HTTP/1.1\" {}", i % 7, lines[i])
                    } else {
                        format!("\"GET /{}\" {}", i % 7, lines[i])
                    };
                    let w = NumberWindow::default();
                    let has = dense_vector(mode, which, &w, line.as_bytes(), &mut buf);
                    st.observe((i as i64, 0, i as u64), has.then_some(buf.as_slice()));
                }
                st
            };
            let whole = part(0..300).canonical();
            let (x, y, z) = (part(0..a), part(a..b), part(b..300));
            let left = x.clone().merge(y.clone()).merge(z.clone());
            let right = x.merge(y.merge(z));
            prop_assert_eq!(&left.canonical(), &whole);
            prop_assert_eq!(&right.canonical(), &whole);
            prop_assert_eq!(left.hits, 300);
            prop_assert_eq!(VecState::default().merge(part(0..a)).canonical(), part(0..a).canonical());
            let (sl, _) = score_dense(left, Params { trees: 20, sample: 64, seed: 1 });
            let (sr, _) = score_dense(right, Params { trees: 20, sample: 64, seed: 1 });
            prop_assert_eq!(sl, sr);
        }
    }
}
