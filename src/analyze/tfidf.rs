//! `tfidf`: rare lines, by the cosine similarity of their term counts (spec §6.4).
//!
//! Semantics are upstream's (go-tf-idf as twsla uses it):
//! * every matching line is one document; documents are deduplicated by their full text (the
//!   earliest one in `(time, source, line)` order stands for its copies);
//! * tokens: lower-case, `.`, `,`, `:`, `;`, `/` become spaces, `(` and `)` are deleted, then
//!   the text is split on Unicode whitespace; the stop words of spec Appendix A are dropped
//!   from the term counts;
//! * the similarity of two documents is the cosine of their term-count vectors (IDF plays no
//!   part, despite the name: the TF scale cancels);
//! * a line is *rare* when at most `count` other lines are more similar to it than `limit`;
//!   rare lines are reported in time order with the minimum, mean and maximum of their
//!   similarities to every other line;
//! * `-n N` reports the N lines whose most similar other line is least similar (the smallest
//!   `max`), sorted by `max` ascending (ties by time); upstream's top-N loop (limit 1.0,
//!   count 1, re-sorting after each overflow) computes exactly this set. When there are at
//!   most N documents, all of them are reported in time order, as upstream does.
//!
//! Fixed upstream defects: a document without any term (no token, or stop words only) made
//! every comparison with it NaN, which turned the `mean` of every rare line into NaN; such
//! documents now take part in no comparison. They are still reported as rare, with NaN
//! (`null` in NDJSON) statistics, because nothing is similar to them.
//!
//! # Algorithm (exact, not O(n²))
//! Upstream compares every pair. Here: documents with equal term vectors are grouped (with
//! their multiplicity), and an inverted index maps each term to the groups holding it. For
//! each group, in parallel:
//! 1. *witness phase*: exact cosines with nearby groups of the same template (equal
//!    digit-free terms), then with groups from the postings of the rarest terms, with a fixed
//!    budget; as soon as more than `count` documents are more similar than `limit` the group
//!    is proven not rare;
//! 2. *bounded phase*: the terms are taken rarest first and their postings accumulated only
//!    while the remaining terms could still lift an untouched group above `limit` (each
//!    term's share of any cosine is bounded by its largest `count / norm`); touched groups
//!    whose partial cosine plus that bound stays at or below `limit` are skipped, the others
//!    get their exact cosine. Common lines are proven here without walking the postings of
//!    their most common terms;
//! 3. *exact phase* (groups still undecided, i.e. rare or nearly so): dot products with
//!    every group that shares a term are accumulated through the postings, which gives the
//!    exact count and the exact min/mean/max (documents sharing no term have similarity 0).
//!
//! Proofs in phases 1 and 2 are real similarities or sound bounds (with a 1e-9 margin
//! against rounding), and phase 3 is exhaustive, so the result equals
//! the all-pairs computation (tests compare it with an all-pairs reference); the full
//! `Σ df(t)` is paid only by the few groups that reach phase 3. For `-n`, the threshold is
//! the current N-th smallest `max` found so far (shared between threads, only decreasing;
//! rare templates are visited first, the first batch on one thread), so a group is skipped
//! as soon as one document is more similar to it than that. Measured: 1 M syslog lines of
//! `tools/gen-logs` in about 2 minutes (`-n 20`: about 1 minute) on 2 cores.
//!
//! # Memory
//! The scan keeps, per distinct line, its key (24 bytes), a 128-bit hash of its text and its
//! term ids with counts (8 bytes per distinct term of the line), plus the vocabulary; not
//! the text. The analysis adds the postings (8 bytes per term occurrence of each distinct
//! vector) and, per worker thread, two arrays of one `u32`/`u64` per distinct vector. The
//! texts of the rare lines are read back by a second scan limited to the blocks that hold
//! them. So memory is O(distinct lines × terms per line), independent of line length: about
//! 1 GB peak for 1 M distinct syslog lines.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use serde::Serialize;

use super::runner::{self, Plan, ScanStats};
use super::{AnalyzeError, Flow};
use crate::model::{Nanos, SourceId};
use crate::query::{Filter, TimeRange};
use crate::store::Store;

/// Identifies a record: `(time, source, line)`, which is also the output order.
pub type RecKey = (Nanos, SourceId, u64);

/// The stop words of go-tf-idf (spec Appendix A), sorted for binary search.
pub const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "aren't",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can't",
    "cannot",
    "could",
    "couldn't",
    "did",
    "didn't",
    "do",
    "does",
    "doesn't",
    "doing",
    "don't",
    "down",
    "during",
    "each",
    "etc",
    "few",
    "for",
    "from",
    "further",
    "had",
    "hadn't",
    "has",
    "hasn't",
    "have",
    "haven't",
    "having",
    "he",
    "he'd",
    "he'll",
    "he's",
    "her",
    "here",
    "here's",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "how's",
    "i",
    "i'd",
    "i'll",
    "i'm",
    "i've",
    "if",
    "in",
    "into",
    "is",
    "isn't",
    "it",
    "it's",
    "its",
    "itself",
    "let's",
    "me",
    "more",
    "most",
    "mustn't",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "ought",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "shan't",
    "she",
    "she'd",
    "she'll",
    "she's",
    "should",
    "shouldn't",
    "so",
    "some",
    "such",
    "than",
    "that",
    "that's",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "there's",
    "these",
    "they",
    "they'd",
    "they'll",
    "they're",
    "they've",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "wasn't",
    "we",
    "we'd",
    "we'll",
    "we're",
    "we've",
    "were",
    "weren't",
    "what",
    "what's",
    "when",
    "when's",
    "where",
    "where's",
    "which",
    "while",
    "who",
    "who's",
    "whom",
    "why",
    "why's",
    "with",
    "won't",
    "would",
    "wouldn't",
    "you",
    "you'd",
    "you'll",
    "you're",
    "you've",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// True for a go-tf-idf stop word.
pub fn is_stop_word(w: &str) -> bool {
    STOP_WORDS.binary_search(&w).is_ok()
}

/// Calls `f` with every token of `text` (go-tf-idf's tokenizer, stop words included).
pub fn tokens(text: &[u8], mut f: impl FnMut(&str)) {
    let s = String::from_utf8_lossy(text);
    let lower = s.to_lowercase();
    let cleaned: String = lower
        .chars()
        .filter(|c| !matches!(c, '(' | ')'))
        .map(|c| if matches!(c, '.' | ',' | ':' | ';' | '/') { ' ' } else { c })
        .collect();
    for t in cleaned.split_whitespace() {
        f(t);
    }
}

/// A 128-bit hash of a text (two keyed SipHash runs); equal hashes are taken as equal texts.
pub fn text_hash(text: &[u8]) -> u128 {
    let h = |salt: u8| {
        let mut s = std::hash::DefaultHasher::new();
        salt.hash(&mut s);
        text.hash(&mut s);
        s.finish()
    };
    (u128::from(h(0)) << 64) | u128::from(h(1))
}

/// A document as `(key, text hash, sorted (term, count))`, independent of term ids.
pub type CanonicalDoc = (RecKey, u128, Vec<(String, u32)>);

/// One distinct line of the corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    /// The earliest record with this text.
    pub key: RecKey,
    /// Term ids (of the owning [`Corpus`]) with their counts, sorted by id; stop words are
    /// not terms.
    pub terms: Box<[(u32, u32)]>,
    /// Tokens of the line, stop words included (the length that divides term frequencies).
    pub tokens: u32,
}

/// The deduplicated documents of a scan: the mergeable state of the operator.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    vocab: HashMap<Box<str>, u32>,
    words: Vec<Box<str>>,
    /// Distinct texts by hash.
    pub docs: HashMap<u128, Doc>,
    /// Records observed (before deduplication).
    pub hits: u64,
}

impl Corpus {
    fn term_id(&mut self, w: &str) -> u32 {
        if let Some(&id) = self.vocab.get(w) {
            return id;
        }
        let id = self.words.len() as u32;
        self.words.push(w.into());
        self.vocab.insert(w.into(), id);
        id
    }

    /// Adds one record.
    pub fn observe(&mut self, key: RecKey, text: &[u8]) {
        self.hits += 1;
        let h = text_hash(text);
        if let Some(d) = self.docs.get_mut(&h) {
            d.key = d.key.min(key);
            return;
        }
        let mut terms: Vec<(u32, u32)> = Vec::new();
        let mut n = 0u32;
        tokens(text, |t| {
            n = n.saturating_add(1);
            if !is_stop_word(t) {
                let id = self.term_id(t);
                terms.push((id, 1));
            }
        });
        let terms = sum_terms(terms);
        self.docs.insert(h, Doc { key, terms, tokens: n });
    }

    /// Combines two corpora (order-free: the result holds the same documents either way).
    pub fn merge(mut self, mut other: Corpus) -> Corpus {
        if self.docs.len() < other.docs.len() {
            std::mem::swap(&mut self, &mut other);
        }
        let map: Vec<u32> = other.words.iter().map(|w| self.term_id(w)).collect();
        self.hits += other.hits;
        for (h, d) in other.docs {
            match self.docs.get_mut(&h) {
                Some(mine) => mine.key = mine.key.min(d.key),
                None => {
                    let terms =
                        sum_terms(d.terms.iter().map(|&(t, c)| (map[t as usize], c)).collect());
                    self.docs.insert(h, Doc { key: d.key, terms, tokens: d.tokens });
                }
            }
        }
        self
    }

    /// The term of an id.
    pub fn word(&self, id: u32) -> &str {
        self.words.get(id as usize).map_or("", |w| w)
    }

    /// The documents in key order, with their terms as words (for comparisons in tests).
    pub fn canonical(&self) -> Vec<CanonicalDoc> {
        let mut v: Vec<_> = self
            .docs
            .iter()
            .map(|(h, d)| {
                let mut t: Vec<(String, u32)> =
                    d.terms.iter().map(|&(id, c)| (self.word(id).to_string(), c)).collect();
                t.sort();
                (d.key, *h, t)
            })
            .collect();
        v.sort();
        v
    }
}

fn sum_terms(mut terms: Vec<(u32, u32)>) -> Box<[(u32, u32)]> {
    terms.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(terms.len());
    for (t, c) in terms {
        match out.last_mut() {
            Some(last) if last.0 == t => last.1 += c,
            _ => out.push((t, c)),
        }
    }
    out.into_boxed_slice()
}

/// What to analyse.
#[derive(Debug, Clone)]
pub struct TfidfConfig {
    /// Line filter.
    pub filter: Filter,
    /// Time range.
    pub range: TimeRange,
    /// Similarity threshold (`-l`, default 0.5).
    pub limit: f64,
    /// How many lines may be more similar than `limit` for a line to stay rare (`-c`).
    pub count: u64,
    /// Report the N least similar lines instead (`-n`; 0 = off).
    pub top: usize,
}

impl Default for TfidfConfig {
    fn default() -> Self {
        TfidfConfig {
            filter: Filter::default(),
            range: TimeRange::ALL,
            limit: 0.5,
            count: 0,
            top: 0,
        }
    }
}

/// Similarity statistics of one document against all the others.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Similarity {
    /// Least similar.
    pub min: f64,
    /// Mean over all other documents.
    pub mean: f64,
    /// Most similar.
    pub max: f64,
}

impl Similarity {
    const NONE: Similarity = Similarity { min: f64::NAN, mean: f64::NAN, max: f64::NAN };
}

/// One rare line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TfidfRow {
    /// Timestamp (ns).
    pub time: Nanos,
    /// Source id.
    pub source: SourceId,
    /// Line number in the source.
    pub line: u64,
    /// Raw text.
    pub text: Vec<u8>,
    /// Its similarities to the other lines.
    #[serde(flatten)]
    pub sim: Similarity,
}

/// Totals of a run.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct TfidfStats {
    /// Records that passed the filters.
    pub hits: u64,
    /// Distinct lines (documents).
    pub docs: u64,
    /// Distinct term vectors.
    pub vectors: u64,
    /// Rows reported.
    pub rare: u64,
    /// Vectors decided by the exact (exhaustive) phase.
    pub exact_checks: u64,
    /// Scan counters (of the first scan).
    pub scan: ScanStats,
}

/// Documents grouped by equal term vectors, with an inverted index.
struct Groups {
    terms: Vec<Box<[(u32, u32)]>>,
    /// Σ count² per group.
    norm2: Vec<u64>,
    /// Per term: the largest `count / norm` of any group holding it (an upper bound of its
    /// share in any cosine).
    maxw: Vec<f64>,
    mult: Vec<u32>,
    /// Per term: (group, count).
    postings: Vec<Vec<(u32, u32)>>,
    /// Documents with a vector.
    total: u64,
    /// Per group, its skeleton bucket: groups with the same digit-free terms (the same
    /// template, usually), in ascending order. Only a source of likely witnesses.
    bucket: Vec<u32>,
    buckets: Vec<Vec<u32>>,
}

impl Groups {
    fn cos(&self, a: u32, b: u32, dot: u64) -> f64 {
        let n = self.norm2[a as usize] as f64 * self.norm2[b as usize] as f64;
        dot as f64 / n.sqrt()
    }

    fn dot(&self, a: u32, b: u32) -> u64 {
        let (x, y) = (&self.terms[a as usize], &self.terms[b as usize]);
        let (mut i, mut j, mut s) = (0, 0, 0u64);
        while i < x.len() && j < y.len() {
            match x[i].0.cmp(&y[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    s += u64::from(x[i].1) * u64::from(y[j].1);
                    i += 1;
                    j += 1;
                }
            }
        }
        s
    }
}

/// Per-thread scratch space of the similarity search.
struct Scratch {
    stamp: Vec<u32>,
    gen_: u32,
    acc: Vec<u64>,
    touched: Vec<u32>,
}

impl Scratch {
    fn new(n: usize) -> Scratch {
        Scratch { stamp: vec![0; n], gen_: 0, acc: vec![0; n], touched: Vec::new() }
    }
}

/// Candidate similarities computed per group before the exhaustive phase.
const WITNESS_BUDGET: usize = 256;

/// Candidates taken from the group's skeleton bucket before the rarest-term postings.
const BUCKET_BUDGET: usize = 64;

enum Verdict {
    /// More than the allowed number of documents are more similar than the threshold.
    Common,
    /// Exact statistics.
    Rare(Similarity),
}

/// Safety margin of the bounds against rounding: a bound must exceed `tau` by this much to
/// be trusted to stay below it.
const BOUND_SLACK: f64 = 1e-9;

/// True when more than `allow` documents (counting `found` already) are shown to be more
/// similar to group `g` than `tau`, using term-weight upper bounds; false when undecided.
fn prove_common(
    gr: &Groups,
    g: u32,
    tau: f64,
    allow: u64,
    mut found: u64,
    order: &[(usize, u32, u32)],
    s: &mut Scratch,
) -> bool {
    let ng = (gr.norm2[g as usize] as f64).sqrt();
    // rem[k]: bound of the cosine contributed by order[k..].
    let mut rem = vec![0.0f64; order.len() + 1];
    for k in (0..order.len()).rev() {
        let (_, t, c) = order[k];
        rem[k] = rem[k + 1] + f64::from(c) * gr.maxw[t as usize] / ng;
    }
    let mut k = 0;
    while k < order.len() && rem[k] + BOUND_SLACK > tau {
        let (_, t, c) = order[k];
        for &(j, cj) in &gr.postings[t as usize] {
            if j == g {
                continue;
            }
            let a = &mut s.acc[j as usize];
            if *a == 0 {
                s.touched.push(j);
            }
            *a += u64::from(c) * u64::from(cj);
        }
        k += 1;
    }
    let rest = rem[k];
    let complete = k == order.len();
    let mut proven = false;
    for &j in &s.touched {
        let ji = j as usize;
        let acc = std::mem::take(&mut s.acc[ji]);
        if proven {
            continue;
        }
        let partial = gr.cos(g, j, acc);
        if partial + rest + BOUND_SLACK <= tau {
            continue;
        }
        let c = if complete { partial } else { gr.cos(g, j, gr.dot(g, j)) };
        if c > tau {
            found += u64::from(gr.mult[ji]);
            proven = found > allow;
        }
    }
    s.touched.clear();
    proven
}

/// Decides group `g` against threshold `tau`, allowing `allow` documents above it.
fn judge(gr: &Groups, g: u32, tau: f64, allow: u64, s: &mut Scratch, exact: &AtomicU64) -> Verdict {
    let gi = g as usize;
    let twins = u64::from(gr.mult[gi]) - 1;
    let mut found = if 1.0 > tau { twins } else { 0 };
    if found > allow {
        return Verdict::Common;
    }
    // Witness phase: exact cosines with the groups that share the rarest terms.
    s.gen_ = s.gen_.wrapping_add(1);
    if s.gen_ == 0 {
        s.stamp.iter_mut().for_each(|x| *x = 0);
        s.gen_ = 1;
    }
    let mut budget = WITNESS_BUDGET;
    // First the nearest members of the same skeleton bucket (same template).
    if let Some(b) = gr.buckets.get(gr.bucket[gi] as usize) {
        let at = b.partition_point(|&x| x < g);
        let (mut lo, mut hi) = (at, at + 1);
        let mut tries = 0;
        while tries < BUCKET_BUDGET && (lo > 0 || hi < b.len()) {
            let mut take = |j: u32| -> bool {
                if j == g || s.stamp[j as usize] == s.gen_ {
                    return false;
                }
                s.stamp[j as usize] = s.gen_;
                tries += 1;
                if gr.cos(g, j, gr.dot(g, j)) > tau {
                    found += u64::from(gr.mult[j as usize]);
                }
                found > allow
            };
            if lo > 0 {
                lo -= 1;
                if take(b[lo]) {
                    return Verdict::Common;
                }
            }
            if hi < b.len() {
                hi += 1;
                if take(b[hi - 1]) {
                    return Verdict::Common;
                }
            }
        }
    }
    let mut order: Vec<(usize, u32, u32)> =
        gr.terms[gi].iter().map(|&(t, c)| (gr.postings[t as usize].len(), t, c)).collect();
    order.sort_unstable();
    'outer: for &(_, t, _) in &order {
        for &(j, _) in &gr.postings[t as usize] {
            if j == g || s.stamp[j as usize] == s.gen_ {
                continue;
            }
            s.stamp[j as usize] = s.gen_;
            if gr.cos(g, j, gr.dot(g, j)) > tau {
                found += u64::from(gr.mult[j as usize]);
                if found > allow {
                    return Verdict::Common;
                }
            }
            budget -= 1;
            if budget == 0 {
                break 'outer;
            }
        }
    }
    // Bounded phase: accumulate only the rarest terms, as long as the remaining ones could
    // still make an untouched group exceed `tau`; then bound the touched ones and compute
    // the cosines that might exceed it. Proves "common" without touching common terms.
    // Witnesses are counted again there: start from the twins only.
    let twins_above = if 1.0 > tau { twins } else { 0 };
    if tau >= 0.0 && prove_common(gr, g, tau, allow, twins_above, &order, s) {
        return Verdict::Common;
    }
    // Exact phase: every dot product through the postings.
    exact.fetch_add(1, Ordering::Relaxed);
    for &(t, c) in gr.terms[gi].iter() {
        for &(j, cj) in &gr.postings[t as usize] {
            if j == g {
                continue;
            }
            let a = &mut s.acc[j as usize];
            if *a == 0 {
                s.touched.push(j);
            }
            *a += u64::from(c) * u64::from(cj);
        }
    }
    let mut above = 0u64;
    let (mut min, mut max, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
    let mut seen = u64::from(gr.mult[gi]);
    // Group order, not discovery order (which follows term ids): the floating-point sum must
    // not depend on how the corpus was merged.
    s.touched.sort_unstable();
    for &j in &s.touched {
        let ji = j as usize;
        let c = gr.cos(g, j, s.acc[ji]);
        s.acc[ji] = 0;
        let m = u64::from(gr.mult[ji]);
        seen += m;
        if c > tau {
            above += m;
        }
        min = min.min(c);
        max = max.max(c);
        sum += c * m as f64;
    }
    s.touched.clear();
    if twins > 0 {
        if 1.0 > tau {
            above += twins;
        }
        min = min.min(1.0);
        max = max.max(1.0);
        sum += twins as f64;
    }
    let zeros = gr.total - seen;
    if zeros > 0 {
        if 0.0 > tau {
            above += zeros;
        }
        min = min.min(0.0);
        max = max.max(0.0);
    }
    if above > allow {
        return Verdict::Common;
    }
    let others = gr.total - 1;
    if others == 0 {
        return Verdict::Rare(Similarity::NONE);
    }
    Verdict::Rare(Similarity { min, mean: sum / others as f64, max })
}

/// Scans and collects the corpus.
pub fn collect(
    store: &Store,
    filter: &Filter,
    range: TimeRange,
) -> Result<(Corpus, ScanStats), AnalyzeError> {
    let plan = runner::plan(store, filter, range)?;
    Ok(runner::scan_fold(
        store,
        &plan,
        filter,
        range,
        Corpus::default,
        |c, r| c.observe((r.ts, r.source, r.line), r.text),
        Corpus::merge,
    )?)
}

/// The rare documents of a corpus: `(key, similarity)` in output order.
pub fn rare_docs(
    corpus: &Corpus,
    limit: f64,
    count: u64,
    top: usize,
) -> (Vec<(RecKey, Similarity)>, TfidfStats) {
    // Documents in key order; the ones with terms are grouped by equal vectors.
    let mut docs: Vec<&Doc> = corpus.docs.values().collect();
    docs.sort_unstable_by_key(|d| d.key);
    let mut index: HashMap<&[(u32, u32)], u32> = HashMap::new();
    let mut gr = Groups {
        terms: Vec::new(),
        norm2: Vec::new(),
        maxw: Vec::new(),
        mult: Vec::new(),
        postings: vec![Vec::new(); corpus.words.len()],
        total: 0,
        bucket: Vec::new(),
        buckets: Vec::new(),
    };
    let mut group_of: Vec<Option<u32>> = Vec::with_capacity(docs.len());
    for d in &docs {
        if d.terms.is_empty() {
            group_of.push(None);
            continue;
        }
        gr.total += 1;
        let next = gr.terms.len() as u32;
        let g = *index.entry(&d.terms).or_insert(next);
        if g == next {
            gr.terms.push(d.terms.clone());
            gr.norm2.push(d.terms.iter().map(|&(_, c)| u64::from(c) * u64::from(c)).sum());
            gr.mult.push(0);
            for &(t, c) in d.terms.iter() {
                gr.postings[t as usize].push((g, c));
            }
        }
        gr.mult[g as usize] += 1;
        group_of.push(Some(g));
    }
    drop(index);
    let ng = gr.terms.len();
    gr.maxw = gr
        .postings
        .iter()
        .map(|p| {
            p.iter()
                .map(|&(g, c)| f64::from(c) / (gr.norm2[g as usize] as f64).sqrt())
                .fold(0.0, f64::max)
        })
        .collect();
    let digit: Vec<bool> =
        corpus.words.iter().map(|w| w.bytes().any(|b| b.is_ascii_digit())).collect();
    let mut skel: HashMap<Vec<u32>, u32> = HashMap::new();
    for g in 0..ng {
        let key: Vec<u32> =
            gr.terms[g].iter().map(|t| t.0).filter(|&t| !digit[t as usize]).collect();
        let next = skel.len() as u32;
        let b = *skel.entry(key).or_insert(next);
        if b == next {
            gr.buckets.push(Vec::new());
        }
        gr.buckets[b as usize].push(g as u32);
        gr.bucket.push(b);
    }
    drop(skel);
    let exact = AtomicU64::new(0);
    let mut out: Vec<(RecKey, Similarity)> = Vec::new();
    if top == 0 {
        let verdicts: Vec<Option<Similarity>> = (0..ng as u32)
            .into_par_iter()
            .map_init(
                || Scratch::new(ng),
                |s, g| match judge(&gr, g, limit, count, s, &exact) {
                    Verdict::Common => None,
                    Verdict::Rare(sim) => Some(sim),
                },
            )
            .collect();
        for (d, g) in docs.iter().zip(&group_of) {
            match g {
                None => out.push((d.key, Similarity::NONE)),
                Some(g) => {
                    if let Some(sim) = verdicts[*g as usize] {
                        out.push((d.key, sim));
                    }
                }
            }
        }
    } else if docs.len() <= top {
        // Upstream's list never overflows: every document, in key order, with its stats.
        let sims: Vec<Similarity> = (0..ng as u32)
            .into_par_iter()
            .map_init(
                || Scratch::new(ng),
                |s, g| match judge(&gr, g, f64::INFINITY, u64::MAX, s, &exact) {
                    Verdict::Common => Similarity::NONE,
                    Verdict::Rare(sim) => sim,
                },
            )
            .collect();
        for (d, g) in docs.iter().zip(&group_of) {
            out.push((d.key, g.map_or(Similarity::NONE, |g| sims[g as usize])));
        }
    } else {
        // The `top` documents with the smallest max (NaN = similar to nothing = first).
        let rank = |s: &Similarity| if s.max.is_nan() { f64::NEG_INFINITY } else { s.max };
        let mut best: Vec<(f64, RecKey, Similarity)> = docs
            .iter()
            .zip(&group_of)
            .filter(|(_, g)| g.is_none())
            .map(|(d, _)| (f64::NEG_INFINITY, d.key, Similarity::NONE))
            .collect();
        best.sort_by_key(|a| a.1);
        best.truncate(top);
        let tau = AtomicU64::new(
            if best.len() >= top { f64::NEG_INFINITY } else { f64::INFINITY }.to_bits(),
        );
        let kept = Mutex::new(best);
        // Keys of each group's documents.
        let mut members: Vec<Vec<RecKey>> = vec![Vec::new(); ng];
        for (d, g) in docs.iter().zip(&group_of) {
            if let Some(g) = g {
                members[*g as usize].push(d.key);
            }
        }
        // Groups of small skeleton buckets (rare templates) first, so that the threshold
        // falls early; a first batch runs on this thread to set it before going parallel.
        let mut order: Vec<u32> = (0..ng as u32).collect();
        order.sort_by_key(|&g| (gr.buckets[gr.bucket[g as usize] as usize].len(), g));
        let seed = order.len().min(4 * top + 64);
        let visit = |s: &mut Scratch, g: u32| {
            let t = f64::from_bits(tau.load(Ordering::Relaxed));
            if let Verdict::Rare(sim) = judge(&gr, g, t, 0, s, &exact) {
                let Ok(mut k) = kept.lock() else { return };
                for key in &members[g as usize] {
                    k.push((rank(&sim), *key, sim));
                }
                k.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                k.truncate(top);
                if k.len() >= top
                    && let Some(last) = k.last()
                {
                    tau.fetch_min_f64(last.0);
                }
            }
        };
        let mut first = Scratch::new(ng);
        for &g in &order[..seed] {
            visit(&mut first, g);
        }
        drop(first);
        order[seed..].par_iter().for_each_init(|| Scratch::new(ng), |s, &g| visit(s, g));
        let k = kept.into_inner().unwrap_or_default();
        out = k.into_iter().map(|(_, key, sim)| (key, sim)).collect();
    }
    let stats = TfidfStats {
        hits: corpus.hits,
        docs: docs.len() as u64,
        vectors: ng as u64,
        rare: out.len() as u64,
        exact_checks: exact.load(Ordering::Relaxed),
        scan: ScanStats::default(),
    };
    (out, stats)
}

trait FetchMinF64 {
    fn fetch_min_f64(&self, v: f64);
}

impl FetchMinF64 for AtomicU64 {
    /// Lowers the f64 stored as bits to `v` if `v` is smaller (thresholds only decrease).
    fn fetch_min_f64(&self, v: f64) {
        let _ = self.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |cur| {
            (v < f64::from_bits(cur)).then_some(v.to_bits())
        });
    }
}

/// Reads the texts of `keys` with a scan limited to the blocks whose time span holds one.
pub fn fetch_texts(
    store: &Store,
    filter: &Filter,
    range: TimeRange,
    keys: &[RecKey],
) -> Result<HashMap<RecKey, Vec<u8>>, AnalyzeError> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let mut times: Vec<Nanos> = keys.iter().map(|k| k.0).collect();
    times.sort_unstable();
    times.dedup();
    let full = runner::plan(store, filter, range)?;
    let blocks: Vec<_> = full
        .blocks
        .into_iter()
        .filter(|b| {
            let i = times.partition_point(|&t| t < b.min_ts);
            i < times.len() && times[i] <= b.max_ts
        })
        .collect();
    let plan = Plan {
        candidate_rows: blocks.iter().map(|b| u64::from(b.rows)).sum(),
        total_blocks: full.total_blocks,
        blocks,
    };
    let wanted: std::collections::HashSet<RecKey> = keys.iter().copied().collect();
    let (texts, _) = runner::scan_fold(
        store,
        &plan,
        filter,
        range,
        HashMap::new,
        |m: &mut HashMap<RecKey, Vec<u8>>, r| {
            let k = (r.ts, r.source, r.line);
            if wanted.contains(&k) {
                m.insert(k, r.text.to_vec());
            }
        },
        |mut a, b| {
            a.extend(b);
            a
        },
    )?;
    Ok(texts)
}

/// Runs the analysis, calling `emit` with each rare line in output order.
pub fn tfidf(
    store: &Store,
    cfg: &TfidfConfig,
    emit: &mut dyn FnMut(&TfidfRow) -> Result<Flow, AnalyzeError>,
) -> Result<TfidfStats, AnalyzeError> {
    let (corpus, scan) = collect(store, &cfg.filter, cfg.range)?;
    let (rare, mut stats) = rare_docs(&corpus, cfg.limit, cfg.count, cfg.top);
    drop(corpus);
    stats.scan = scan;
    let keys: Vec<RecKey> = rare.iter().map(|r| r.0).collect();
    let mut texts = fetch_texts(store, &cfg.filter, cfg.range, &keys)?;
    for (key, sim) in rare {
        let text = texts.remove(&key).unwrap_or_default();
        let row = TfidfRow { time: key.0, source: key.1, line: key.2, text, sim };
        if emit(&row)? == Flow::Stop {
            break;
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn loghub(name: &str) -> Vec<Vec<u8>> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../shared/data/loghub/{name}/{name}_2k.log"));
        let b = std::fs::read(p).unwrap();
        b.split(|&c| c == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
            .filter(|l| !l.is_empty())
            .collect()
    }

    fn corpus_of(lines: &[Vec<u8>]) -> Corpus {
        let mut c = Corpus::default();
        for (i, l) in lines.iter().enumerate() {
            c.observe((i as i64, 0, i as u64 + 1), l);
        }
        c
    }

    /// All pairwise similarities (upstream's comparisons), in key order; `None` for a
    /// document without terms.
    fn all_sims(c: &Corpus) -> Vec<(RecKey, Option<Vec<f64>>)> {
        let mut docs: Vec<&Doc> = c.docs.values().collect();
        docs.sort_by_key(|d| d.key);
        let gr = Groups {
            terms: docs.iter().map(|d| d.terms.clone()).collect(),
            norm2: docs
                .iter()
                .map(|d| d.terms.iter().map(|&(_, n)| u64::from(n * n)).sum())
                .collect(),
            maxw: Vec::new(),
            mult: vec![1; docs.len()],
            postings: Vec::new(),
            total: 0,
            bucket: Vec::new(),
            buckets: Vec::new(),
        };
        (0..docs.len())
            .map(|i| {
                let sims = (!docs[i].terms.is_empty()).then(|| {
                    (0..docs.len())
                        .filter(|&j| j != i && !docs[j].terms.is_empty())
                        .map(|j| {
                            let (a, b) = (i as u32, j as u32);
                            gr.cos(a, b, gr.dot(a, b))
                        })
                        .collect()
                });
                (docs[i].key, sims)
            })
            .collect()
    }

    /// Upstream's algorithm on precomputed similarities, as the reference.
    fn naive_from(
        all: &[(RecKey, Option<Vec<f64>>)],
        limit: f64,
        count: u64,
        top: usize,
    ) -> Vec<(RecKey, Similarity)> {
        let mut rows = Vec::new();
        for (key, sims) in all {
            let Some(sims) = sims else {
                rows.push((*key, Similarity::NONE, true));
                continue;
            };
            let above = sims.iter().filter(|&&s| s > limit).count() as u64;
            let sim = if sims.is_empty() {
                Similarity::NONE
            } else {
                Similarity {
                    min: sims.iter().copied().fold(f64::INFINITY, f64::min),
                    mean: sims.iter().sum::<f64>() / sims.len() as f64,
                    max: sims.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                }
            };
            rows.push((*key, sim, above <= count));
        }
        if top == 0 {
            return rows.into_iter().filter(|r| r.2).map(|r| (r.0, r.1)).collect();
        }
        if rows.len() <= top {
            return rows.into_iter().map(|r| (r.0, r.1)).collect();
        }
        let rank = |s: &Similarity| if s.max.is_nan() { f64::NEG_INFINITY } else { s.max };
        rows.sort_by(|a, b| rank(&a.1).total_cmp(&rank(&b.1)).then(a.0.cmp(&b.0)));
        rows.truncate(top);
        rows.into_iter().map(|r| (r.0, r.1)).collect()
    }

    fn naive(c: &Corpus, limit: f64, count: u64, top: usize) -> Vec<(RecKey, Similarity)> {
        naive_from(&all_sims(c), limit, count, top)
    }

    fn same(a: &[(RecKey, Similarity)], b: &[(RecKey, Similarity)]) -> Result<(), String> {
        if a.len() != b.len() {
            return Err(format!("{} rows vs {}", a.len(), b.len()));
        }
        let close = |x: f64, y: f64| (x.is_nan() && y.is_nan()) || (x - y).abs() < 1e-9;
        for (x, y) in a.iter().zip(b) {
            if x.0 != y.0
                || !close(x.1.min, y.1.min)
                || !close(x.1.mean, y.1.mean)
                || !close(x.1.max, y.1.max)
            {
                return Err(format!("{x:?} vs {y:?}"));
            }
        }
        Ok(())
    }

    #[test]
    fn tokenizer_and_stop_words() {
        let mut v = Vec::new();
        tokens(b"Jun 20 04:44:39 combo snmpd[2318]: Received SNMP packet(s) from 1.2.3.4 ", |t| {
            v.push(t.to_string())
        });
        let want = "jun 20 04 44 39 combo snmpd[2318] received snmp packets from 1 2 3 4";
        assert_eq!(v.join(" "), want);
        assert!(is_stop_word("from") && is_stop_word("etc") && !is_stop_word("combo"));
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
        let mut v = Vec::new();
        tokens("ÄB;c/d,e\u{a0}f".as_bytes(), |t| v.push(t.to_string()));
        assert_eq!(v, ["äb", "c", "d", "e", "f"]);
    }

    #[test]
    fn equals_all_pairs_on_loghub() {
        for name in ["Linux", "OpenSSH", "Apache", "HDFS", "Zookeeper"] {
            let lines = loghub(name);
            let c = corpus_of(&lines);
            let all = all_sims(&c);
            for (limit, count, top) in
                [(0.5, 0, 0), (0.8, 2, 0), (0.3, 0, 0), (0.95, 5, 0), (0.0, 0, 10), (0.0, 0, 25)]
            {
                let (got, _) = rare_docs(&c, limit, count, top);
                let want = naive_from(&all, limit, count, top);
                same(&got, &want).unwrap_or_else(|e| panic!("{name} {limit} {count} {top}: {e}"));
            }
        }
    }

    #[test]
    fn syslog_vectors() {
        let c = corpus_of(&loghub("Linux"));
        let (rare, st) = rare_docs(&c, 0.5, 0, 0);
        let keys: Vec<u64> = rare.iter().map(|r| r.0.2).collect();
        assert_eq!(st.docs, 2000);
        // File lines of the snmpd, ftpd and kernel lines of spec §10.2.
        assert_eq!(rare.len(), 3, "{keys:?}");
        let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
        let got: Vec<[f64; 3]> =
            rare.iter().map(|r| [r3(r.1.min), r3(r.1.mean), r3(r.1.max)]).collect();
        assert_eq!(got, [[0.038, 0.115, 0.338], [0.039, 0.201, 0.435], [0.020, 0.096, 0.498]]);
        let (top, _) = rare_docs(&c, 0.5, 0, 10);
        let maxes: Vec<f64> = top.iter().map(|r| r3(r.1.max)).collect();
        assert_eq!(maxes, [0.338, 0.435, 0.498, 0.539, 0.545, 0.581, 0.583, 0.585, 0.585, 0.588]);
    }

    #[test]
    fn duplicates_and_empty_documents() {
        let lines: Vec<Vec<u8>> = [
            "alpha beta gamma",
            "alpha beta gamma",  // same text: one document
            "gamma, beta alpha", // same vector, other text: similarity 1
            "the of and",        // stop words only: compared with nothing
            "zeta eta theta",
            "   ",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        let c = corpus_of(&lines);
        assert_eq!(c.docs.len(), 5);
        assert_eq!(c.hits, 6);
        let (rare, st) = rare_docs(&c, 0.5, 0, 0);
        assert_eq!(st.vectors, 2);
        let lines_of: Vec<u64> = rare.iter().map(|r| r.0.2).collect();
        assert_eq!(lines_of, [4, 5, 6]);
        assert!(rare[0].1.max.is_nan() && rare[2].1.mean.is_nan());
        assert_eq!(rare[1].1, Similarity { min: 0.0, mean: 0.0, max: 0.0 });
        // With one more allowed neighbour the twins are rare too.
        let (rare, _) = rare_docs(&c, 0.5, 1, 0);
        assert_eq!(rare.len(), 5);
        assert_eq!(rare[0].1, Similarity { min: 0.0, mean: 0.5, max: 1.0 });
        same(&rare, &naive(&c, 0.5, 1, 0)).unwrap();
    }

    #[test]
    fn one_thread_equals_many() {
        let c = corpus_of(&loghub("Mac"));
        for (l, n, t) in [(0.5, 0, 0), (0.7, 3, 0), (0.5, 0, 20)] {
            let many = rare_docs(&c, l, n, t).0;
            let one = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap()
                .install(|| rare_docs(&c, l, n, t).0);
            assert!(!many.is_empty());
            same(&one, &many).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Merge laws: associative, `init` is neutral, any split of the input gives the
        /// same corpus as one pass.
        #[test]
        fn merge_laws(a in 0usize..2000, b in 0usize..2000, start in 0usize..1000) {
            let lines = loghub("Hadoop");
            let (a, b) = (a.min(b), a.max(b));
            let part = |r: std::ops::Range<usize>| {
                let mut c = Corpus::default();
                for i in r {
                    let j = (start + i) % lines.len();
                    // Keys out of order across parts: merges must keep the earliest.
                    c.observe(((j % 97) as i64, 0, j as u64), &lines[j]);
                }
                c
            };
            let whole = part(0..2000).canonical();
            let (x, y, z) = (part(0..a), part(a..b), part(b..2000));
            let left = x.clone().merge(y.clone()).merge(z.clone());
            let right = x.merge(y.merge(z));
            prop_assert_eq!(&left.canonical(), &whole);
            prop_assert_eq!(&right.canonical(), &whole);
            prop_assert_eq!(left.hits, 2000);
            let unit = Corpus::default().merge(part(0..a));
            prop_assert_eq!(unit.canonical(), part(0..a).canonical());
        }

        /// The fast search equals all pairs on random slices, thresholds and counts.
        #[test]
        fn equals_all_pairs(lo in 0usize..1900, len in 1usize..400, limit in 0.0f64..1.0, count in 0u64..4, top in 0usize..30, which in 0usize..4) {
            let name = ["Proxifier", "Spark", "HealthApp", "BGL"][which];
            let lines = loghub(name);
            let hi = (lo + len).min(lines.len());
            let c = corpus_of(&lines[lo..hi]);
            let got = rare_docs(&c, limit, count, top).0;
            let want = naive(&c, limit, count, top);
            prop_assert!(same(&got, &want).is_ok(), "{}", same(&got, &want).unwrap_err());
        }
    }
}
