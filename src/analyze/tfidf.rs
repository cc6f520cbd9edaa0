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
//! Upstream compares every pair. Here the scan tokenizes in parallel and adds each line to
//! one shared, compact table ([`Lines`]): distinct texts (by a 128-bit hash), their distinct
//! term vectors (by a 128-bit hash of the sorted term hashes) and terms (by 128-bit hash),
//! each numbered with `u32` ids; equal hashes are taken as equal. Terms that only one vector
//! holds count in its norm but are then dropped (they are in no dot product). Vectors keep
//! their multiplicity (the distinct lines that share them) and an inverted index (postings,
//! one flat array) maps each term to the vectors holding it. For each vector, in parallel:
//! 1. *witness phase*: exact cosines with the nearest (in time) vectors of the same
//!    template (equal digit-free terms), then with vectors from the postings of its rarest
//!    terms, with budgets that grow with the number of vectors; as soon as more than
//!    `count` documents are more similar than `limit` the vector is proven not rare. Such
//!    a similarity is symmetric: with `count` 0 (and for `-n`) it also decides the other
//!    vector without any search;
//! 2. *bounded phase*: the terms are taken rarest first and their postings accumulated only
//!    while the remaining terms could still lift an untouched vector above `limit` (the
//!    smaller of two bounds: each term's share of any cosine is at most its largest
//!    `count / norm`, and by Cauchy-Schwarz the rest of a vector contributes at most its
//!    norm); the vectors with the largest partial dot products are tried first, then every
//!    touched vector whose partial cosine plus that bound exceeds `limit` gets its exact
//!    cosine;
//! 3. *exact phase* (vectors still undecided, i.e. rare or nearly so): dot products with
//!    every vector that shares a term are accumulated through the postings, which gives the
//!    exact count, min and max (lines sharing no term have similarity 0); the mean comes
//!    from per-term sums `Σ mult·count/norm` (in fixed point, so it does not depend on the
//!    order of the vectors or threads).
//!
//! Proofs in phases 1 and 2 are real similarities or sound bounds (with a 1e-9 margin
//! against rounding), and phase 3 is exhaustive, so the result equals the all-pairs
//! computation (tests compare it with an all-pairs reference). For `-n`, the threshold is
//! the current N-th smallest `max` found so far (shared between threads, only decreasing;
//! rare templates are visited first, the first batch on one thread), so a vector is
//! skipped as soon as one document is more similar to it than that.
//!
//! Cost: phases 2 and 3 walk postings whose length grows with the corpus, so the vectors
//! that reach them (near the threshold and without a witness among the candidates: a few
//! percent of the syslog lines of `tools/gen-logs`) cost O(lines) each, and the whole
//! search grows about quadratically with the corpus. Measured on 2 shared cores: 1 M
//! generated syslog lines in about 2 minutes of CPU (`-n 20`: under 1), 10 M lines: see the
//! README.
//!
//! # Phases and cancellation
//! Under a frontend's [`runner::ScanControl`] the work after the scan reports the phases
//! "Index" (building the groups), "Compare" (vectors judged, stepped per batch of 1,024)
//! and "Texts" (reading back the rare lines' texts). Cancelled while scanning, nothing is
//! reported (nothing is proven on part of the data); while comparing, the rows are the
//! rare lines among the vectors judged so far, with exact statistics (`-n`: the N least
//! similar among them); while reading texts, the rows whose text was read.
//!
//! # Memory
//! O(distinct lines + term occurrences of distinct vectors), independent of line length;
//! no text is kept. Per distinct line: its key (24 bytes) and vector id (4); during the
//! scan also a hash table entry (about 25–50 bytes). Per distinct vector: its terms (5 bytes
//! per distinct term), the same again in the postings, about 40 bytes of per-vector arrays,
//! and during the scan a hash table entry. Per term: 25–50 bytes of hash table during the
//! scan, about 35 bytes after. Per worker thread: 4 bytes per vector. Counts of 255 and more are kept
//! exactly in side maps. The texts of the rare lines are read back by a second scan
//! limited to the blocks that hold them. Measured: 0.33 GB peak RSS for 1 M distinct
//! syslog lines (was 1 GB), about 3 GB for 10 M (including the mapped store's pages).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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

/// A 128-bit hash used as a key; hashing it takes one of its halves (it is already uniform).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key128(u64, u64);

impl Key128 {
    fn of(h: u128) -> Key128 {
        Key128(h as u64, (h >> 64) as u64)
    }
}

impl Hash for Key128 {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0);
    }
}

/// Hasher for [`Key128`]: passes the prehashed value through.
#[derive(Debug, Default, Clone, Copy)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 ^= v;
    }
}

type KeyMap<V> = HashMap<Key128, V, BuildHasherDefault<Prehashed>>;

/// Vector id of a line without any term.
const NO_VECTOR: u32 = u32::MAX;

/// Count byte meaning "the count is in the overflow map".
const BIG: u8 = u8::MAX;

/// Flat lists of `(id, count)`: list `i` is `ids[offs[i]..offs[i + 1]]`, counts are bytes
/// (counts of 255 and more live in a map keyed by position, so they stay exact).
#[derive(Debug)]
struct Lists {
    offs: Vec<u64>,
    ids: Vec<u32>,
    cnt: Vec<u8>,
    big: HashMap<u64, u32>,
}

impl Lists {
    fn new() -> Lists {
        Lists { offs: vec![0], ids: Vec::new(), cnt: Vec::new(), big: HashMap::new() }
    }

    fn len(&self) -> usize {
        self.offs.len() - 1
    }

    fn put(&mut self, pos: usize, id: u32, c: u32) {
        self.ids[pos] = id;
        self.cnt[pos] = if c >= u32::from(BIG) {
            self.big.insert(pos as u64, c);
            BIG
        } else {
            c as u8
        };
    }

    fn push_list(&mut self, items: &[(u32, u32)]) {
        for &(id, c) in items {
            let pos = self.ids.len();
            self.ids.push(0);
            self.cnt.push(0);
            self.put(pos, id, c);
        }
        self.offs.push(self.ids.len() as u64);
    }

    fn range(&self, i: u32) -> std::ops::Range<usize> {
        self.offs[i as usize] as usize..self.offs[i as usize + 1] as usize
    }

    #[inline]
    fn count(&self, pos: usize) -> u32 {
        match self.cnt[pos] {
            BIG => self.big.get(&(pos as u64)).copied().unwrap_or(u32::from(BIG)),
            c => u32::from(c),
        }
    }

    fn items(&self, i: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.range(i).map(move |p| (self.ids[p], self.count(p)))
    }

    /// Σ countₐ(t)·count_b(t) over the ids both lists hold (both sorted by id).
    fn dot(&self, a: u32, b: u32) -> u64 {
        let (ra, rb) = (self.range(a), self.range(b));
        let (xa, xb) = (&self.ids[ra.clone()], &self.ids[rb.clone()]);
        let (mut i, mut j, mut s) = (0, 0, 0u64);
        while i < xa.len() && j < xb.len() {
            let (x, y) = (xa[i], xb[j]);
            if x == y {
                s += u64::from(self.count(ra.start + i)) * u64::from(self.count(rb.start + j));
            }
            i += usize::from(x <= y);
            j += usize::from(y <= x);
        }
        s
    }
}

/// The distinct lines of a scan in compact form (the state `tfidf` collects): per line its
/// key and vector id; per distinct term vector its `(term, count)` list; hash tables from
/// text, vector and term hashes to ids, which the search drops before it starts.
#[derive(Debug)]
pub struct Lines {
    texts: KeyMap<u32>,
    vectors: KeyMap<u32>,
    vocab: KeyMap<u32>,
    keys: Vec<RecKey>,
    vector_of: Vec<u32>,
    /// Per term: it holds an ASCII digit.
    digit: Vec<bool>,
    vecs: Lists,
    /// Records observed (before deduplication).
    pub hits: u64,
    /// More distinct lines, vectors or terms than `u32` ids can number.
    overflow: bool,
    buf: Vec<(u32, u32)>,
    /// Σ count² per vector, set by [`Lines::compact`].
    norm2: Option<Vec<u64>>,
}

impl Default for Lines {
    fn default() -> Self {
        Lines {
            texts: KeyMap::default(),
            vectors: KeyMap::default(),
            vocab: KeyMap::default(),
            keys: Vec::new(),
            vector_of: Vec::new(),
            digit: Vec::new(),
            vecs: Lists::new(),
            hits: 0,
            overflow: false,
            buf: Vec::new(),
            norm2: None,
        }
    }
}

/// One record as a [`Local`] buffers it before adding it to the shared [`Lines`].
#[derive(Debug)]
struct Pending {
    text: u128,
    key: RecKey,
    vector: u128,
    start: u32,
    len: u32,
    /// The same text was seen (and buffered) before by the same buffer: not tokenized.
    dup: bool,
}

impl Lines {
    /// Number of distinct lines.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no line was observed.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Adds the lines of one record sequentially (tests and small inputs).
    pub fn observe(&mut self, key: RecKey, text: &[u8]) {
        let mut terms = Vec::new();
        let p = pending(key, text, &mut terms, false);
        self.add(&p, &terms);
    }

    fn term_id(&mut self, h: u128, digit: bool) -> u32 {
        if let Some(&id) = self.vocab.get(&Key128::of(h)) {
            return id;
        }
        let id = self.digit.len() as u32;
        if id == NO_VECTOR {
            self.overflow = true;
        }
        self.vocab.insert(Key128::of(h), id);
        self.digit.push(digit);
        id
    }

    fn add(&mut self, p: &Pending, terms: &[(u128, bool)]) {
        self.hits += 1;
        if let Some(&d) = self.texts.get(&Key128::of(p.text)) {
            let k = &mut self.keys[d as usize];
            *k = (*k).min(p.key);
            return;
        }
        if p.dup || self.overflow {
            // A buffered duplicate always follows its first occurrence; nothing to add.
            return;
        }
        if self.keys.len() >= NO_VECTOR as usize - 1 || self.vecs.len() >= NO_VECTOR as usize - 1 {
            self.overflow = true;
            return;
        }
        let d = self.keys.len() as u32;
        self.texts.insert(Key128::of(p.text), d);
        self.keys.push(p.key);
        let v = if p.len == 0 {
            NO_VECTOR
        } else if let Some(&v) = self.vectors.get(&Key128::of(p.vector)) {
            v
        } else {
            let v = self.vecs.len() as u32;
            self.vectors.insert(Key128::of(p.vector), v);
            let ts = &terms[p.start as usize..(p.start + p.len) as usize];
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            for run in ts.chunk_by(|a, b| a.0 == b.0) {
                let id = self.term_id(run[0].0, run[0].1);
                buf.push((id, run.len() as u32));
            }
            buf.sort_unstable();
            self.vecs.push_list(&buf);
            self.buf = buf;
            v
        };
        self.vector_of.push(v);
    }

    /// Drops the hash tables (the scan is over) and the terms that only one vector holds
    /// (they count in the norms, computed before, but in no dot product).
    fn compact(&mut self) {
        if self.norm2.is_some() {
            return;
        }
        self.texts = KeyMap::default();
        self.vectors = KeyMap::default();
        self.vocab = KeyMap::default();
        let nv = self.vecs.len();
        let norm2: Vec<u64> = (0..nv as u32)
            .map(|v| self.vecs.items(v).map(|(_, c)| u64::from(c) * u64::from(c)).sum())
            .collect();
        let mut df = vec![0u32; self.digit.len()];
        for &t in &self.vecs.ids {
            df[t as usize] = df[t as usize].saturating_add(1);
        }
        let old_big = std::mem::take(&mut self.vecs.big);
        let (mut w, mut r) = (0usize, 0usize);
        for v in 0..nv {
            let end = self.vecs.offs[v + 1] as usize;
            while r < end {
                let t = self.vecs.ids[r];
                if df[t as usize] > 1 {
                    let c = match self.vecs.cnt[r] {
                        BIG => old_big.get(&(r as u64)).copied().unwrap_or(u32::from(BIG)),
                        c => u32::from(c),
                    };
                    self.vecs.put(w, t, c);
                    w += 1;
                }
                r += 1;
            }
            self.vecs.offs[v + 1] = w as u64;
        }
        self.vecs.ids.truncate(w);
        self.vecs.cnt.truncate(w);
        self.vecs.ids.shrink_to_fit();
        self.vecs.cnt.shrink_to_fit();
        self.vecs.big.shrink_to_fit();
        self.norm2 = Some(norm2);
    }
}

/// Tokenizes a record into a [`Pending`] whose term hashes go to `terms`.
fn pending(key: RecKey, text: &[u8], terms: &mut Vec<(u128, bool)>, dup: bool) -> Pending {
    let h = text_hash(text);
    let start = terms.len();
    if !dup {
        tokens(text, |t| {
            if !is_stop_word(t) {
                terms.push((text_hash(t.as_bytes()), t.bytes().any(|b| b.is_ascii_digit())));
            }
        });
    }
    let mine = &mut terms[start..];
    mine.sort_unstable_by_key(|x| x.0);
    let vector = if mine.is_empty() {
        0
    } else {
        let f = |salt: u8| {
            let mut s = std::hash::DefaultHasher::new();
            salt.hash(&mut s);
            for (h, _) in mine.iter() {
                h.hash(&mut s);
            }
            s.finish()
        };
        (u128::from(f(0)) << 64) | u128::from(f(1))
    };
    Pending { text: h, key, vector, start: start as u32, len: mine.len() as u32, dup }
}

/// Records buffered per fold state before they are added to the shared [`Lines`].
const FLUSH_RECORDS: usize = 4096;

/// Text hashes a fold state remembers to skip tokenizing repeated lines.
const SEEN_CAP: usize = 1 << 16;

/// A fold state of the scan: tokenizes in parallel, adds to the shared lines in batches.
struct Local<'a> {
    shared: &'a Mutex<Lines>,
    seen: std::collections::HashSet<Key128, BuildHasherDefault<Prehashed>>,
    recs: Vec<Pending>,
    terms: Vec<(u128, bool)>,
}

impl<'a> Local<'a> {
    fn new(shared: &'a Mutex<Lines>) -> Local<'a> {
        Local { shared, seen: Default::default(), recs: Vec::new(), terms: Vec::new() }
    }

    fn observe(&mut self, key: RecKey, text: &[u8]) {
        let h = Key128::of(text_hash(text));
        let dup = !self.seen.insert(h);
        if self.seen.len() > SEEN_CAP {
            self.seen.clear();
        }
        let p = pending(key, text, &mut self.terms, dup);
        self.recs.push(p);
        if self.recs.len() >= FLUSH_RECORDS {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.recs.is_empty() {
            return;
        }
        if let Ok(mut l) = self.shared.lock() {
            for p in &self.recs {
                l.add(p, &self.terms);
            }
        }
        self.recs.clear();
        self.terms.clear();
    }

    fn merge(mut self, mut other: Local<'a>) -> Local<'a> {
        self.flush();
        other.flush();
        self
    }
}

/// Scans and collects the distinct lines.
pub fn collect(
    store: &Store,
    filter: &Filter,
    range: TimeRange,
) -> Result<(Lines, ScanStats), AnalyzeError> {
    let plan = runner::plan(store, filter, range)?;
    let shared = Mutex::new(Lines::default());
    let (mut last, scan) = runner::scan_fold(
        store,
        &plan,
        filter,
        range,
        || Local::new(&shared),
        |l, r| l.observe((r.ts, r.source, r.line), r.text),
        Local::merge,
    )?;
    last.flush();
    drop(last);
    let lines = shared.into_inner().unwrap_or_default();
    if lines.overflow {
        return Err(AnalyzeError::Output(std::io::Error::other(
            "tfidf: more distinct lines or terms than 4,294,967,294",
        )));
    }
    Ok((lines, scan))
}

/// Distinct vectors with their multiplicities and an inverted index, built from [`Lines`].
struct Groups<'a> {
    vecs: &'a Lists,
    /// Σ count² per vector (of every term, including the ones dropped from `vecs`).
    norm2: &'a [u64],
    /// Per term: the largest `count / norm` of any vector holding it (an upper bound of its
    /// share in any cosine).
    maxw: Vec<f64>,
    /// Per term: Σ mult·count/norm over the vectors holding it, fixed point (`WSCALE`).
    wsum: Vec<u128>,
    mult: Vec<u32>,
    /// Per vector: position of its first line in key order.
    rank: Vec<u32>,
    /// Per term: the vectors holding it (ascending), with the counts.
    postings: Lists,
    /// Lines with a vector.
    total: u64,
    /// Per vector, its skeleton bucket: vectors with the same digit-free terms (the same
    /// template, usually), by rank. Only a source of likely witnesses.
    bucket: Vec<u32>,
    buckets: Lists,
    /// Per vector: a line more similar to it than the threshold of the search was found
    /// (while judging another vector; similarity is symmetric and thresholds only fall).
    /// Decides a vector when one such line is enough (`allow == 0`).
    seen_above: Vec<AtomicBool>,
}

/// Fixed-point scale of `wsum`: sums of many terms stay independent of their order.
const WSCALE: f64 = (1u64 << 52) as f64;

impl<'a> Groups<'a> {
    fn cos(&self, a: u32, b: u32, dot: u64) -> f64 {
        let n = self.norm2[a as usize] as f64 * self.norm2[b as usize] as f64;
        dot as f64 / n.sqrt()
    }

    fn dot(&self, a: u32, b: u32) -> u64 {
        self.vecs.dot(a, b)
    }

    /// Records that a line is more similar to `j` than the current threshold.
    fn witnessed(&self, j: u32, allow: u64) {
        if allow == 0 {
            self.seen_above[j as usize].store(true, Ordering::Relaxed);
        }
    }

    /// Σ of the cosines of `g` with the lines of every other vector; fixed point, so that
    /// the sum does not depend on the order of the vectors (`g`'s own share, rounded the
    /// same way as when it was added, cancels exactly).
    fn others_sum(&self, g: u32) -> f64 {
        let norm = (self.norm2[g as usize] as f64).sqrt();
        let m = u128::from(self.mult[g as usize]);
        let mut s = 0u128;
        for (t, c) in self.vecs.items(g) {
            let own = m * (f64::from(c) / norm * WSCALE).round() as u128;
            s = s.saturating_add(u128::from(c) * self.wsum[t as usize].saturating_sub(own));
        }
        s as f64 / WSCALE / norm
    }

    fn build(lines: &'a Lines, order: &[u32]) -> Groups<'a> {
        let norm2: &[u64] = lines.norm2.as_deref().unwrap_or_default();
        let nv = lines.vecs.len();
        let nt = lines.digit.len();
        let mut mult = vec![0u32; nv];
        let mut rank = vec![u32::MAX; nv];
        let mut total = 0u64;
        for (i, &d) in order.iter().enumerate() {
            let v = lines.vector_of[d as usize];
            if v != NO_VECTOR {
                total += 1;
                mult[v as usize] += 1;
                let r = &mut rank[v as usize];
                *r = (*r).min(i as u32);
            }
        }
        let vecs = &lines.vecs;
        // Postings in CSR form: count, then fill in vector order.
        let mut df = vec![0u64; nt + 1];
        for &t in &vecs.ids {
            df[t as usize + 1] += 1;
        }
        for t in 0..nt {
            df[t + 1] += df[t];
        }
        let mut postings = Lists {
            offs: df.clone(),
            ids: vec![0; vecs.ids.len()],
            cnt: vec![0; vecs.ids.len()],
            big: HashMap::new(),
        };
        let mut next = df;
        let mut maxw = vec![0.0f64; nt];
        let mut wsum = vec![0u128; nt];
        for v in 0..nv as u32 {
            let norm = (norm2[v as usize] as f64).sqrt();
            let m = u128::from(mult[v as usize]);
            for (t, c) in vecs.items(v) {
                let ti = t as usize;
                postings.put(next[ti] as usize, v, c);
                next[ti] += 1;
                maxw[ti] = maxw[ti].max(f64::from(c) / norm);
                wsum[ti] += m * (f64::from(c) / norm * WSCALE).round() as u128;
            }
        }
        drop(next);
        // Skeleton buckets (hashes of the digit-free term ids; a collision only merges two
        // buckets, which only changes where witnesses are looked for).
        let mut skel: KeyMap<u32> = KeyMap::default();
        let mut bucket = Vec::with_capacity(nv);
        let mut sizes: Vec<u32> = Vec::new();
        for v in 0..nv as u32 {
            let mut a = std::hash::DefaultHasher::new();
            let mut b = std::hash::DefaultHasher::new();
            1u8.hash(&mut b);
            for (t, _) in vecs.items(v).filter(|&(t, _)| !lines.digit[t as usize]) {
                t.hash(&mut a);
                t.hash(&mut b);
            }
            let k = Key128(a.finish(), b.finish());
            let next = sizes.len() as u32;
            let id = *skel.entry(k).or_insert(next);
            if id == next {
                sizes.push(0);
            }
            sizes[id as usize] += 1;
            bucket.push(id);
        }
        drop(skel);
        let mut boffs = Vec::with_capacity(sizes.len() + 1);
        boffs.push(0u64);
        for &s in &sizes {
            boffs.push(boffs[boffs.len() - 1] + u64::from(s));
        }
        drop(sizes);
        let mut members: Vec<u32> = vec![0; nv];
        let mut fill = boffs.clone();
        for v in 0..nv as u32 {
            let b = bucket[v as usize] as usize;
            members[fill[b] as usize] = v;
            fill[b] += 1;
        }
        drop(fill);
        for b in 0..boffs.len() - 1 {
            members[boffs[b] as usize..boffs[b + 1] as usize]
                .sort_unstable_by_key(|&v| rank[v as usize]);
        }
        let buckets = Lists { offs: boffs, cnt: Vec::new(), ids: members, big: HashMap::new() };
        Groups {
            vecs: &lines.vecs,
            norm2,
            maxw,
            wsum,
            mult,
            rank,
            postings,
            total,
            bucket,
            buckets,
            seen_above: (0..nv).map(|_| AtomicBool::new(false)).collect(),
        }
    }
}

/// Per-thread scratch space of the similarity search.
struct Scratch {
    /// Candidates already tried in the witness phase (bit per vector).
    seen: Vec<u64>,
    tried: Vec<u32>,
    /// Dot products being accumulated (saturating; `u32::MAX` means "recompute").
    acc: Vec<u32>,
    touched: Vec<u32>,
    order: Vec<(u64, u32, u32)>,
    rem: Vec<f64>,
    /// Vectors whose accumulated dot product reached the largest so far (`hi`, at least 2),
    /// in the order they did: the last ones are the most promising witnesses.
    top: Vec<u32>,
    hi: u32,
}

impl Scratch {
    fn new(n: usize) -> Scratch {
        Scratch {
            seen: vec![0; n.div_ceil(64)],
            tried: Vec::new(),
            acc: vec![0; n],
            touched: Vec::new(),
            order: Vec::new(),
            rem: Vec::new(),
            top: Vec::new(),
            hi: 2,
        }
    }

    /// Marks `j` as tried; false if it was already.
    fn try_mark(&mut self, j: u32) -> bool {
        let (w, b) = (j as usize / 64, 1u64 << (j % 64));
        if self.seen[w] & b != 0 {
            return false;
        }
        self.seen[w] |= b;
        self.tried.push(j);
        true
    }

    fn clear_marks(&mut self) {
        for &j in &self.tried {
            self.seen[j as usize / 64] = 0;
        }
        self.tried.clear();
    }

    /// Calls `f` with every touched vector and its accumulated value, and resets them (in
    /// ascending order, sweeping the whole array when most of it was touched).
    fn drain(&mut self, mut f: impl FnMut(u32, u32)) {
        if self.touched.len() > self.acc.len() / 16 {
            for (j, a) in self.acc.iter_mut().enumerate() {
                if *a != 0 {
                    f(j as u32, std::mem::take(a));
                }
            }
        } else {
            self.touched.sort_unstable();
            for &j in &self.touched {
                f(j, std::mem::take(&mut self.acc[j as usize]));
            }
        }
        self.touched.clear();
    }

    #[inline]
    fn add(&mut self, j: u32, x: u64) {
        let a = &mut self.acc[j as usize];
        if *a == 0 {
            self.touched.push(j);
        }
        *a = u32::try_from(u64::from(*a) + x).unwrap_or(u32::MAX);
        if *a >= self.hi && (*a > self.hi || self.top.len() < TOP_CAP) {
            self.hi = *a;
            self.top.push(j);
        }
    }
}

/// Promising candidates recorded at the same accumulated value before only larger ones are.
const TOP_CAP: usize = 4096;

/// Promising candidates tried before the bounded evaluation of all touched vectors.
const TOP_TRIES: usize = 64;

/// Scratch spaces shared by the worker threads (one per thread at a time).
struct Pool {
    free: Mutex<Vec<Scratch>>,
    n: usize,
}

impl Pool {
    fn with<T>(&self, f: impl FnOnce(&mut Scratch) -> T) -> T {
        let mut s =
            self.free.lock().ok().and_then(|mut v| v.pop()).unwrap_or_else(|| Scratch::new(self.n));
        let r = f(&mut s);
        if let Ok(mut v) = self.free.lock() {
            v.push(s);
        }
        r
    }
}

/// Candidates tried per vector in the witness phase: `(from its skeleton bucket, from the
/// postings of its rarest terms)`. The phases after it cost about one pass over the
/// postings, so the budgets grow with the number of vectors (up to 4,096 each); with a
/// few thousand vectors they are 64 and 256.
fn budgets(vectors: usize) -> (usize, usize) {
    ((vectors / 32).clamp(64, 4096), (vectors / 8).clamp(256, 4096))
}

enum Verdict {
    /// More than the allowed number of documents are more similar than the threshold.
    Common,
    /// Exact statistics.
    Rare(Similarity),
}

/// Safety margin of the bounds against rounding: a bound must exceed `tau` by this much to
/// be trusted to stay below it.
const BOUND_SLACK: f64 = 1e-9;

/// The exact dot product of `g` and touched `j` from the accumulator value.
fn exact_dot(gr: &Groups<'_>, g: u32, j: u32, acc: u32) -> u64 {
    if acc == u32::MAX { gr.dot(g, j) } else { u64::from(acc) }
}

/// True when more than `allow` documents (counting `found` already) are shown to be more
/// similar to group `g` than `tau`, using term-weight upper bounds; false when undecided.
fn prove_common(
    gr: &Groups<'_>,
    g: u32,
    tau: f64,
    allow: u64,
    mut found: u64,
    s: &mut Scratch,
) -> bool {
    let ng = (gr.norm2[g as usize] as f64).sqrt();
    // rem[k]: bound of the cosine contributed by order[k..]: the smaller of Σ count·maxw and,
    // by Cauchy-Schwarz, the norm of the rest of `g` (relative to its whole norm).
    let n = s.order.len();
    s.rem.clear();
    s.rem.resize(n + 1, 0.0);
    let (mut by_w, mut sq) = (0.0f64, 0u64);
    for k in (0..n).rev() {
        let (_, t, c) = s.order[k];
        by_w += f64::from(c) * gr.maxw[t as usize] / ng;
        sq += u64::from(c) * u64::from(c);
        s.rem[k] = by_w.min((sq as f64).sqrt() / ng);
    }
    let mut k = 0;
    while k < n && s.rem[k] + BOUND_SLACK > tau {
        let (_, t, c) = s.order[k];
        let r = gr.postings.range(t);
        for p in r {
            let j = gr.postings.ids[p];
            if j != g {
                s.add(j, u64::from(c) * u64::from(gr.postings.count(p)));
            }
        }
        k += 1;
    }
    let rest = s.rem[k];
    let complete = k == n;
    let mut proven = false;
    // The most promising candidates first (exact cosines, each counted once).
    let top = std::mem::take(&mut s.top);
    for &j in top.iter().rev().take(TOP_TRIES) {
        if proven || !s.try_mark(j) {
            continue;
        }
        if gr.cos(g, j, gr.dot(g, j)) > tau {
            gr.witnessed(j, allow);
            found += u64::from(gr.mult[j as usize]);
            proven = found > allow;
        }
    }
    s.top = top;
    s.top.clear();
    s.hi = 2;
    let tried = std::mem::take(&mut s.seen);
    s.drain(|j, acc| {
        if proven || tried[j as usize / 64] & (1 << (j % 64)) != 0 {
            return;
        }
        let partial = gr.cos(g, j, exact_dot(gr, g, j, acc));
        if partial + rest + BOUND_SLACK <= tau {
            return;
        }
        let c = if complete { partial } else { gr.cos(g, j, gr.dot(g, j)) };
        if c > tau {
            gr.witnessed(j, allow);
            found += u64::from(gr.mult[j as usize]);
            proven = found > allow;
        }
    });
    s.seen = tried;
    s.clear_marks();
    proven
}

/// Decides group `g` against threshold `tau`, allowing `allow` documents above it.
fn judge(
    gr: &Groups<'_>,
    g: u32,
    tau: f64,
    allow: u64,
    s: &mut Scratch,
    exact: &AtomicU64,
) -> Verdict {
    let v = witness(gr, g, tau, allow, s);
    s.clear_marks();
    v.unwrap_or_else(|| settle(gr, g, tau, allow, s, exact))
}

/// Witness phase: exact cosines with likely neighbours; `Some(Common)` when enough of them
/// are above `tau`. Fills `s.order` (the terms of `g`, rarest first) either way.
fn witness(gr: &Groups<'_>, g: u32, tau: f64, allow: u64, s: &mut Scratch) -> Option<Verdict> {
    let gi = g as usize;
    let twins = u64::from(gr.mult[gi]) - 1;
    let mut found = if 1.0 > tau { twins } else { 0 };
    s.order.clear();
    if found > allow || (allow == 0 && gr.seen_above[gi].load(Ordering::Relaxed)) {
        return Some(Verdict::Common);
    }
    s.try_mark(g);
    let mut above = |j: u32, s: &mut Scratch| -> bool {
        if !s.try_mark(j) {
            return false;
        }
        if gr.cos(g, j, gr.dot(g, j)) > tau {
            gr.witnessed(j, allow);
            found += u64::from(gr.mult[j as usize]);
        }
        found > allow
    };
    // First the nearest members (in time) of the same skeleton bucket (same template).
    let b = &gr.buckets.ids[gr.buckets.range(gr.bucket[gi])];
    let r = gr.rank[gi];
    let at = b.partition_point(|&x| gr.rank[x as usize] < r);
    let (mut lo, mut hi) = (at, at + 1);
    let mut tries = 0;
    let (bucket_budget, mut budget) = budgets(gr.mult.len());
    while tries < bucket_budget && (lo > 0 || hi < b.len()) {
        if lo > 0 {
            lo -= 1;
            tries += 1;
            if above(b[lo], s) {
                return Some(Verdict::Common);
            }
        }
        if hi < b.len() {
            hi += 1;
            tries += 1;
            if above(b[hi - 1], s) {
                return Some(Verdict::Common);
            }
        }
    }
    for (t, c) in gr.vecs.items(g) {
        let r = gr.postings.range(t);
        s.order.push(((r.end - r.start) as u64, t, c));
    }
    s.order.sort_unstable();
    for k in 0..s.order.len() {
        let t = s.order[k].1;
        for p in gr.postings.range(t) {
            let j = gr.postings.ids[p];
            if j == g || s.seen[j as usize / 64] & (1 << (j % 64)) != 0 {
                continue;
            }
            if above(j, s) {
                return Some(Verdict::Common);
            }
            budget -= 1;
            if budget == 0 {
                return None;
            }
        }
    }
    None
}

/// Bounded phase, then exact phase (see the module doc).
fn settle(
    gr: &Groups<'_>,
    g: u32,
    tau: f64,
    allow: u64,
    s: &mut Scratch,
    exact: &AtomicU64,
) -> Verdict {
    let gi = g as usize;
    let twins = u64::from(gr.mult[gi]) - 1;
    // Witnesses are counted again here: start from the twins only.
    let twins_above = if 1.0 > tau { twins } else { 0 };
    if tau >= 0.0 && prove_common(gr, g, tau, allow, twins_above, s) {
        return Verdict::Common;
    }
    // Exact phase: every dot product through the postings.
    exact.fetch_add(1, Ordering::Relaxed);
    for k in 0..s.order.len() {
        let (_, t, c) = s.order[k];
        for p in gr.postings.range(t) {
            let j = gr.postings.ids[p];
            if j != g {
                s.add(j, u64::from(c) * u64::from(gr.postings.count(p)));
            }
        }
    }
    let mut above = 0u64;
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut seen = u64::from(gr.mult[gi]);
    s.drain(|j, acc| {
        let c = gr.cos(g, j, exact_dot(gr, g, j, acc));
        let m = u64::from(gr.mult[j as usize]);
        seen += m;
        if c > tau {
            gr.witnessed(j, allow);
            above += m;
        }
        min = min.min(c);
        max = max.max(c);
    });
    s.top.clear();
    s.hi = 2;
    if twins > 0 {
        if 1.0 > tau {
            above += twins;
        }
        min = min.min(1.0);
        max = max.max(1.0);
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
    // The mean over every other line, from per-term sums (no pass over the others needed).
    let mean = (gr.others_sum(g) + twins as f64) / others as f64;
    Verdict::Rare(Similarity { min, mean, max })
}

/// Vectors judged per step of the "Compare" phase (and between cancellation checks).
const BATCH: usize = 1024;

/// The rare lines of `lines`: `(key, similarity)` in output order, and whether the search
/// ran to the end (false: cancelled; the rows are the rare lines among the vectors judged).
pub fn rare_lines(
    lines: &mut Lines,
    limit: f64,
    count: u64,
    top: usize,
) -> (Vec<(RecKey, Similarity)>, TfidfStats, bool) {
    let phase = runner::Phase::enter("Index", lines.vecs.len() as u64);
    if phase.cancelled() {
        // Cancelled while scanning: nothing is proven about a partial corpus.
        let stats =
            TfidfStats { hits: lines.hits, docs: lines.len() as u64, ..TfidfStats::default() };
        return (Vec::new(), stats, false);
    }
    lines.compact();
    let lines = &*lines;
    // Lines in key order.
    let mut order: Vec<u32> = (0..lines.keys.len() as u32).collect();
    order.sort_unstable_by_key(|&d| lines.keys[d as usize]);
    let ndocs = order.len();
    let nd = lines.keys.len() as u64;
    let gr = Groups::build(lines, &order);
    phase.step(gr.mult.len() as u64);
    let ng = gr.mult.len();
    let exact = AtomicU64::new(0);
    let pool = Pool { free: Mutex::new(Vec::new()), n: ng };
    let mut complete = !phase.cancelled();
    let keys = &lines.keys;
    let vector_of = &lines.vector_of;
    let mut out: Vec<(RecKey, Similarity)> = Vec::new();
    if !complete {
        // Nothing judged.
    } else if top == 0 || ndocs <= top {
        // Every group (all of them, with stats, when upstream's list cannot overflow).
        let (tau, allow) = if top == 0 { (limit, count) } else { (f64::INFINITY, u64::MAX) };
        let phase = runner::Phase::enter("Compare", ng as u64);
        let starts: Vec<usize> = (0..ng).step_by(BATCH).collect();
        let parts: Vec<Option<Vec<(u32, Similarity)>>> = starts
            .par_iter()
            .map(|&st| {
                if phase.cancelled() {
                    return None;
                }
                let end = (st + BATCH).min(ng);
                let rare = pool.with(|s| {
                    (st as u32..end as u32)
                        .filter_map(|g| match judge(&gr, g, tau, allow, s, &exact) {
                            Verdict::Common => None,
                            Verdict::Rare(sim) => Some((g, sim)),
                        })
                        .collect::<Vec<_>>()
                });
                phase.step((end - st) as u64);
                Some(rare)
            })
            .collect();
        let mut judged = vec![false; ng.div_ceil(BATCH)];
        let mut sims: HashMap<u32, Similarity> = HashMap::new();
        for (i, p) in parts.into_iter().enumerate() {
            if let Some(p) = p {
                judged[i] = true;
                sims.extend(p);
            }
        }
        complete = judged.iter().all(|&j| j);
        for &d in &order {
            let v = vector_of[d as usize];
            if v == NO_VECTOR {
                out.push((keys[d as usize], Similarity::NONE));
            } else if let Some(sim) = sims.get(&v) {
                out.push((keys[d as usize], *sim));
            }
        }
    } else {
        // The `top` lines with the smallest max (NaN = similar to nothing = first).
        let phase = runner::Phase::enter("Compare", ng as u64);
        let none: Vec<RecKey> = order
            .iter()
            .filter(|&&d| vector_of[d as usize] == NO_VECTOR)
            .take(top)
            .map(|&d| keys[d as usize])
            .collect();
        let tau = AtomicU64::new(
            if none.len() >= top { f64::NEG_INFINITY } else { f64::INFINITY }.to_bits(),
        );
        // Rare groups so far, as (rank, group, multiplicity, stats); kept while they can
        // still be among the `top` lines.
        let kept: Mutex<Vec<(f64, u32, u32, Similarity)>> = Mutex::new(Vec::new());
        let nnone = none.len() as u64;
        // Groups of small skeleton buckets (rare templates) first, so that the threshold
        // falls early; a first batch runs on this thread to set it before going parallel.
        let mut visit_order: Vec<u32> = (0..ng as u32).collect();
        visit_order.sort_unstable_by_key(|&g| {
            (gr.buckets.range(gr.bucket[g as usize]).len(), gr.rank[g as usize])
        });
        let seed = visit_order.len().min(4 * top + 64);
        let visit = |s: &mut Scratch, g: u32| {
            let t = f64::from_bits(tau.load(Ordering::Relaxed));
            if let Verdict::Rare(sim) = judge(&gr, g, t, 0, s, &exact) {
                let Ok(mut k) = kept.lock() else { return };
                k.push((rank(&sim), g, gr.mult[g as usize], sim));
                k.sort_by(|a, b| {
                    a.0.total_cmp(&b.0).then(gr.rank[a.1 as usize].cmp(&gr.rank[b.1 as usize]))
                });
                let mut n = nnone;
                let mut cut = None;
                for (i, e) in k.iter().enumerate() {
                    n += u64::from(e.2);
                    if n >= top as u64 {
                        cut = Some((i, e.0));
                        break;
                    }
                }
                if let Some((i, r)) = cut {
                    // Keep ties with the threshold: keys decide among them at the end.
                    let mut end = i + 1;
                    while end < k.len() && k[end].0 <= r {
                        end += 1;
                    }
                    k.truncate(end);
                    tau.fetch_min_f64(r);
                }
            }
        };
        let seeded = pool.with(|s| {
            for (i, &g) in visit_order[..seed].iter().enumerate() {
                if i % BATCH == 0 && phase.cancelled() {
                    return false;
                }
                visit(s, g);
            }
            true
        });
        phase.step(seed as u64);
        let rest: Vec<&[u32]> = visit_order[seed..].chunks(BATCH).collect();
        let done: Vec<bool> = if seeded {
            rest.par_iter()
                .map(|chunk| {
                    if phase.cancelled() {
                        return false;
                    }
                    pool.with(|s| chunk.iter().for_each(|&g| visit(s, g)));
                    phase.step(chunk.len() as u64);
                    true
                })
                .collect()
        } else {
            vec![false]
        };
        complete = done.iter().all(|&d| d);
        let k = kept.into_inner().unwrap_or_default();
        let sims: HashMap<u32, (f64, Similarity)> =
            k.into_iter().map(|(r, g, _, sim)| (g, (r, sim))).collect();
        let mut best: Vec<(f64, RecKey, Similarity)> =
            none.into_iter().map(|key| (f64::NEG_INFINITY, key, Similarity::NONE)).collect();
        for &d in &order {
            let v = vector_of[d as usize];
            if let Some((r, sim)) = sims.get(&v) {
                best.push((*r, keys[d as usize], *sim));
            }
        }
        best.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        best.truncate(top);
        out = best.into_iter().map(|(_, key, sim)| (key, sim)).collect();
    }
    let stats = TfidfStats {
        hits: lines.hits,
        docs: nd,
        vectors: ng as u64,
        rare: out.len() as u64,
        exact_checks: exact.load(Ordering::Relaxed),
        scan: ScanStats::default(),
    };
    (out, stats, complete)
}

/// The ranking of `-n`: the max, with "similar to nothing" first.
fn rank(s: &Similarity) -> f64 {
    if s.max.is_nan() { f64::NEG_INFINITY } else { s.max }
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
///
/// Cancelled (see [`runner::Phase`]) while scanning, it reports nothing; while comparing, it
/// reports the rare lines among the vectors judged so far (their statistics are exact; `-n`:
/// the N least similar among them); while reading texts, the rows whose text was read.
pub fn tfidf(
    store: &Store,
    cfg: &TfidfConfig,
    emit: &mut dyn FnMut(&TfidfRow) -> Result<Flow, AnalyzeError>,
) -> Result<TfidfStats, AnalyzeError> {
    let (mut lines, scan) = collect(store, &cfg.filter, cfg.range)?;
    let (rare, mut stats, _complete) = rare_lines(&mut lines, cfg.limit, cfg.count, cfg.top);
    drop(lines);
    stats.scan = scan;
    let phase = runner::Phase::enter("Texts", rare.len() as u64);
    let keys: Vec<RecKey> = rare.iter().map(|r| r.0).collect();
    let mut texts = fetch_texts(store, &cfg.filter, cfg.range, &keys)?;
    let cancelled = phase.cancelled();
    for (key, sim) in rare {
        let text = match texts.remove(&key) {
            Some(t) => t,
            None if cancelled => continue,
            None => Vec::new(),
        };
        phase.step(1);
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

    fn corpus_of(lines: &[Vec<u8>]) -> Both {
        let mut c = Corpus::default();
        for (i, l) in lines.iter().enumerate() {
            c.observe((i as i64, 0, i as u64 + 1), l);
        }
        Both { corpus: c, texts: lines.to_vec() }
    }

    fn lines_of(lines: &[Vec<u8>]) -> Lines {
        let mut l = Lines::default();
        for (i, t) in lines.iter().enumerate() {
            l.observe((i as i64, 0, i as u64 + 1), t);
        }
        l
    }

    /// The lines, as the reference [`Corpus`] and as raw texts.
    struct Both {
        corpus: Corpus,
        texts: Vec<Vec<u8>>,
    }

    /// The search on [`Lines`] built from the same texts as `c`.
    fn rare_docs(
        c: &Both,
        limit: f64,
        count: u64,
        top: usize,
    ) -> (Vec<(RecKey, Similarity)>, TfidfStats) {
        let mut l = lines_of(&c.texts);
        let (rows, stats, complete) = rare_lines(&mut l, limit, count, top);
        assert!(complete);
        (rows, stats)
    }

    /// All pairwise similarities (upstream's comparisons), in key order; `None` for a
    /// document without terms. Computed from the [`Corpus`], independently of [`Lines`].
    fn all_sims(c: &Both) -> Vec<(RecKey, Option<Vec<f64>>)> {
        let c = &c.corpus;
        let mut docs: Vec<&Doc> = c.docs.values().collect();
        docs.sort_by_key(|d| d.key);
        let dot = |x: &[(u32, u32)], y: &[(u32, u32)]| -> u64 {
            x.iter()
                .map(|&(t, n)| {
                    y.iter().find(|e| e.0 == t).map_or(0, |e| u64::from(n) * u64::from(e.1))
                })
                .sum()
        };
        let norm2: Vec<u64> =
            docs.iter().map(|d| d.terms.iter().map(|&(_, n)| u64::from(n * n)).sum()).collect();
        (0..docs.len())
            .map(|i| {
                let sims = (!docs[i].terms.is_empty()).then(|| {
                    (0..docs.len())
                        .filter(|&j| j != i && !docs[j].terms.is_empty())
                        .map(|j| {
                            let n = norm2[i] as f64 * norm2[j] as f64;
                            dot(&docs[i].terms, &docs[j].terms) as f64 / n.sqrt()
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

    fn naive(c: &Both, limit: f64, count: u64, top: usize) -> Vec<(RecKey, Similarity)> {
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
        assert_eq!(c.corpus.docs.len(), 5);
        assert_eq!(c.corpus.hits, 6);
        assert_eq!(lines_of(&c.texts).len(), 5);
        assert_eq!(lines_of(&c.texts).hits, 6);
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

    /// Buffered, batched and merged fold states (the parallel scan) build the same lines as
    /// one sequential pass.
    #[test]
    fn batches_equal_sequential() {
        let mut texts = loghub("Linux");
        texts.extend(loghub("Linux")[..300].iter().cloned());
        let n = texts.len();
        let key = |i: usize| ((i * 7919 % n) as i64, 0, i as u64);
        let mut seq = Lines::default();
        for (i, t) in texts.iter().enumerate() {
            seq.observe(key(i), t);
        }
        let shared = Mutex::new(Lines::default());
        let mut parts: Vec<Local<'_>> = Vec::new();
        for (p, chunk) in texts.chunks(999).enumerate().rev() {
            let mut l = Local::new(&shared);
            for (i, t) in chunk.iter().enumerate() {
                l.observe(key(p * 999 + i), t);
            }
            parts.push(l);
        }
        let mut last = parts.into_iter().reduce(Local::merge).unwrap();
        last.flush();
        drop(last);
        let mut par = shared.into_inner().unwrap();
        assert_eq!((par.len(), par.hits), (seq.len(), seq.hits));
        assert_eq!(par.hits, n as u64);
        for (l, c, top) in [(0.5, 0, 0), (0.8, 2, 0), (0.5, 0, 15)] {
            let a = rare_lines(&mut seq, l, c, top);
            let b = rare_lines(&mut par, l, c, top);
            assert!(!a.0.is_empty());
            assert_eq!(a.0, b.0);
            assert_eq!(a.1.vectors, b.1.vectors);
        }
    }

    /// Under a control the search names its phases and counts every vector judged; once
    /// cancelled it reports nothing it has not proven.
    #[test]
    fn phases_and_cancel() {
        use std::sync::Arc;
        let texts = loghub("Linux");
        let ctl = Arc::new(runner::ScanControl::default());
        let mut l = lines_of(&texts);
        let (rows, st, complete) =
            runner::with_control(ctl.clone(), || rare_lines(&mut l, 0.5, 0, 0));
        assert!(complete && rows.len() == 3);
        assert_eq!(ctl.phase(), ("Compare", st.vectors, st.vectors));
        ctl.cancel.store(true, Ordering::Relaxed);
        for top in [0, 10] {
            let mut l = lines_of(&texts);
            let (rows, st, complete) =
                runner::with_control(ctl.clone(), || rare_lines(&mut l, 0.5, 0, top));
            assert!(!complete && rows.is_empty());
            assert_eq!((st.hits, st.docs), (2000, 2000));
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
