//! An isolation forest (Liu, Ting, Zhou 2008) over dense or sparse vectors, with a seeded
//! generator so that the same data and seed give the same scores on any number of threads.
//!
//! Per tree: `sample` distinct rows are drawn; a node picks one attribute uniformly among
//! those that are *not constant* on its rows, and a split point uniformly inside the open
//! interval (min, max); values `< split` go left. A node becomes a leaf at the height limit
//! `ceil(log2 sample)`, with one row, or when every attribute is constant. The path length
//! of a vector is its depth plus `c(size)` of the leaf it reaches, and the score is
//! `2^(-mean path / c(sample))`: close to 1 for anomalies, below 0.5 for normal rows.
//!
//! Differences from go-iforest (upstream): constant attributes are never chosen (upstream
//! may pick an attribute on which every row is equal, which splits nothing and only adds
//! depth, and its max started at the smallest positive float, which broke all-negative
//! attributes), and trees hold row indexes instead of deep copies of the data.
//!
//! Memory: the trees (at most `2 × sample` nodes each, 24 bytes per node); training reads
//! the data in place (sparse data: plus a scratch table of 24 bytes per attribute and thread).

use rayon::prelude::*;

/// SplitMix64: a small, fast, well-distributed generator (Steele, Lea, Flood 2014).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in the open interval (0, 1).
    pub fn open01(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

/// Data a forest can be trained on and can score: rows of attributes.
pub trait Data: Sync {
    /// Rows.
    fn rows(&self) -> usize;
    /// The value of attribute `a` of row `r`.
    fn value(&self, r: usize, a: u32) -> f64;
    /// The attributes that are not constant over `rows`, each with its (min, max), in
    /// ascending attribute order.
    fn varying(&self, rows: &[usize]) -> Vec<(u32, f64, f64)>;
}

/// Row-major dense vectors of one length.
#[derive(Debug, Clone, Default)]
pub struct Dense {
    /// Attributes per row.
    pub dim: usize,
    /// `rows × dim` values.
    pub values: Vec<f64>,
}

impl Data for Dense {
    fn rows(&self) -> usize {
        self.values.len().checked_div(self.dim).unwrap_or(0)
    }

    fn value(&self, r: usize, a: u32) -> f64 {
        self.values[r * self.dim + a as usize]
    }

    fn varying(&self, rows: &[usize]) -> Vec<(u32, f64, f64)> {
        let mut out = Vec::new();
        for a in 0..self.dim {
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for &r in rows {
                let v = self.values[r * self.dim + a];
                lo = lo.min(v);
                hi = hi.max(v);
            }
            if lo < hi {
                out.push((a as u32, lo, hi));
            }
        }
        out
    }
}

/// Sparse vectors: per row, `(attribute, value)` sorted by attribute; absent values are 0.
#[derive(Debug, Clone, Default)]
pub struct Sparse {
    rows: Vec<Box<[(u32, f64)]>>,
    /// Per row, bit `a % 64` set for each of its attributes `a`: most attributes a tree asks
    /// for are absent from a row, and the mask says so without a search.
    masks: Vec<u64>,
}

impl Sparse {
    /// Adds a row (`(attribute, value)` sorted by attribute).
    pub fn push(&mut self, row: Box<[(u32, f64)]>) {
        self.masks.push(row.iter().fold(0u64, |m, e| m | 1 << (e.0 % 64)));
        self.rows.push(row);
    }

    /// The rows given.
    pub fn from_rows(rows: impl IntoIterator<Item = Box<[(u32, f64)]>>) -> Sparse {
        let mut s = Sparse::default();
        for r in rows {
            s.push(r);
        }
        s
    }
}

impl Data for Sparse {
    fn rows(&self) -> usize {
        self.rows.len()
    }

    fn value(&self, r: usize, a: u32) -> f64 {
        if self.masks[r] & 1 << (a % 64) == 0 {
            return 0.0;
        }
        let row = &self.rows[r];
        row.binary_search_by_key(&a, |e| e.0).map_or(0.0, |i| row[i].1)
    }

    fn varying(&self, rows: &[usize]) -> Vec<(u32, f64, f64)> {
        // Per attribute seen in the rows: how many rows have it and its range, in a scratch
        // table of this thread indexed by attribute (this runs at every node of every tree;
        // one pass, no hashing, no sorting of the values). Slots carry the stamp of the call
        // that last wrote them, so the table is never cleared.
        SCRATCH.with(|cell| {
            let mut guard = cell.borrow_mut();
            let (stamp, table) = &mut *guard;
            *stamp += 1;
            let now = *stamp;
            let mut seen: Vec<u32> = Vec::new();
            for &r in rows {
                for &(a, v) in self.rows[r].iter() {
                    let i = a as usize;
                    if i >= table.len() {
                        table.resize(i + 1, Slot::default());
                    }
                    let slot = &mut table[i];
                    if slot.stamp != now {
                        *slot = Slot { stamp: now, n: 0, lo: v, hi: v };
                        seen.push(a);
                    }
                    slot.n += 1;
                    slot.lo = slot.lo.min(v);
                    slot.hi = slot.hi.max(v);
                }
            }
            seen.sort_unstable();
            seen.into_iter()
                .filter_map(|a| {
                    let slot = &table[a as usize];
                    // Rows without the attribute have 0 (a row holds an attribute once).
                    let (lo, hi) = if (slot.n as usize) < rows.len() {
                        (slot.lo.min(0.0), slot.hi.max(0.0))
                    } else {
                        (slot.lo, slot.hi)
                    };
                    (lo < hi).then_some((a, lo, hi))
                })
                .collect()
        })
    }
}

/// A slot of the scratch table of [`Sparse::varying`].
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    stamp: u64,
    n: u32,
    lo: f64,
    hi: f64,
}

thread_local! {
    /// The scratch table of [`Sparse::varying`] with the stamp of its last call: 24 bytes
    /// per attribute (the vocabulary), per thread.
    static SCRATCH: std::cell::RefCell<(u64, Vec<Slot>)> =
        const { std::cell::RefCell::new((0, Vec::new())) };
}

#[derive(Debug, Clone, Copy)]
enum Node {
    /// `extra`: `c(records)` of the records that the leaf stands for.
    Leaf {
        extra: f64,
    },
    Split {
        attr: u32,
        at: f64,
        left: u32,
        right: u32,
    },
}

/// One isolation tree.
#[derive(Debug, Clone)]
struct Tree {
    nodes: Vec<Node>,
}

/// Average path length of an unsuccessful search in a binary search tree of `n` nodes:
/// `2(ln(n−1) + γ) − 2(n−1)/n`, 0 for `n ≤ 1`.
pub fn c(n: usize) -> f64 {
    if n <= 1 {
        return 0.0;
    }
    let n = n as f64;
    2.0 * ((n - 1.0).ln() + 0.577_215_664_9) - 2.0 * (n - 1.0) / n
}

/// [`c`] for a leaf standing for `x` records (not necessarily whole): 0 up to 1, linear
/// from 1 to 2 (where the formula would dip below 0), the formula from 2 on.
pub fn c_mass(x: f64) -> f64 {
    if x <= 1.0 {
        0.0
    } else if x < 2.0 {
        (x - 1.0) * c(2)
    } else {
        2.0 * ((x - 1.0).ln() + 0.577_215_664_9) - 2.0 * (x - 1.0) / x
    }
}

/// Progress and cancellation of training.
pub trait Control: Sync {
    /// True when the caller wants training to stop (trees not yet started are skipped).
    fn cancelled(&self) -> bool {
        false
    }
    /// `n` more trees are done.
    fn step(&self, _n: u64) {}
}

impl Control for () {}

/// The forest's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Trees.
    pub trees: usize,
    /// Records per tree (capped at the number of records).
    pub sample: usize,
    /// Seed.
    pub seed: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params { trees: 1000, sample: 4096, seed: 1 }
    }
}

/// A trained forest.
#[derive(Debug, Clone)]
pub struct Forest {
    trees: Vec<Tree>,
    sample: usize,
}

/// Draws `k` distinct indexes below `n` (Floyd's algorithm), sorted; `u64` because records
/// may outnumber `usize` on small targets.
fn sample_u64(rng: &mut Rng, n: u64, k: usize) -> Vec<u64> {
    let mut set = std::collections::HashSet::with_capacity(k);
    for j in n - k as u64..n {
        let t = ((u128::from(rng.next_u64()) * u128::from(j + 1)) >> 64) as u64;
        if !set.insert(t) {
            set.insert(j);
        }
    }
    let mut v: Vec<u64> = set.into_iter().collect();
    v.sort_unstable();
    v
}

/// Draws `k` of `records` records: the rows they belong to (`cumulative`: the rows'
/// cumulative counts; none: record `i` is row `i`), each once with its number of draws,
/// in row order.
fn draw(
    rng: &mut Rng,
    records: u64,
    k: usize,
    cumulative: Option<&[u64]>,
) -> (Vec<usize>, Vec<u32>) {
    let mut rows: Vec<usize> = Vec::with_capacity(k);
    let mut mult: Vec<u32> = Vec::with_capacity(k);
    // Sorted record indexes give sorted rows: equal rows are adjacent.
    for i in sample_u64(rng, records, k) {
        // Record `i` belongs to the first row whose cumulative count exceeds `i`.
        let r = cumulative.map_or(i as usize, |c| c.partition_point(|&c| c <= i));
        match (rows.last(), mult.last_mut()) {
            (Some(&last), Some(m)) if last == r => *m += 1,
            _ => {
                rows.push(r);
                mult.push(1);
            }
        }
    }
    (rows, mult)
}

/// Builds the subtree of `rows`, row `rows[i]` drawn `mult[i]` times (both are reordered).
fn build<D: Data + ?Sized>(
    d: &D,
    rows: &mut [usize],
    mult: &mut [u32],
    depth: u32,
    limit: u32,
    rng: &mut Rng,
    nodes: &mut Vec<Node>,
) -> u32 {
    let id = nodes.len() as u32;
    // A leaf's path adds c(its records), computed once here rather than per scored row.
    let leaf = |m: &[u32]| Node::Leaf { extra: c_mass(m.iter().map(|&x| f64::from(x)).sum()) };
    if rows.len() <= 1 || depth >= limit {
        nodes.push(leaf(mult));
        return id;
    }
    let vary = d.varying(rows);
    if vary.is_empty() {
        nodes.push(leaf(mult));
        return id;
    }
    nodes.push(Node::Leaf { extra: 0.0 });
    let (attr, lo, hi) = vary[rng.below(vary.len())];
    let mut at = lo + rng.open01() * (hi - lo);
    if at <= lo || at > hi {
        // Rounding at extreme ranges: keep both sides non-empty.
        at = hi;
    }
    // Partition: values < at first.
    let mut i = 0;
    for j in 0..rows.len() {
        if d.value(rows[j], attr) < at {
            rows.swap(i, j);
            mult.swap(i, j);
            i += 1;
        }
    }
    let (l, r) = rows.split_at_mut(i);
    let (ml, mr) = mult.split_at_mut(i);
    let left = build(d, l, ml, depth + 1, limit, rng, nodes);
    let right = build(d, r, mr, depth + 1, limit, rng, nodes);
    nodes[id as usize] = Node::Split { attr, at, left, right };
    id
}

impl Forest {
    /// Trains on every row of `d`, each row one record. Tree `t` uses its own generator
    /// seeded from `(seed, t)`, so the result does not depend on the thread count.
    pub fn train<D: Data + ?Sized>(d: &D, p: Params) -> Forest {
        Self::train_with(d, None, p, &())
    }

    /// Trains on the rows of `d`, row `r` standing for `counts[r]` records (each row one
    /// record without `counts`): each tree draws `sample` distinct records, as in the paper,
    /// and holds each row drawn once with the number of its records drawn. A tree is the
    /// one a sample of records would give (splits depend on which rows are present, a leaf's
    /// size is its records), but costs what the distinct rows drawn cost: few, when lines
    /// repeat (the keyword modes have a few dozen distinct vectors).
    ///
    /// Trees not started when `ctl` reports cancellation are left out (the forest may then
    /// have fewer trees, or none).
    pub fn train_with<D: Data + ?Sized>(
        d: &D,
        counts: Option<&[u64]>,
        p: Params,
        ctl: &dyn Control,
    ) -> Forest {
        let records: u64 = counts.map_or(d.rows() as u64, |c| c.iter().sum());
        let k = (p.sample as u64).min(records) as usize;
        if k == 0 {
            return Forest { trees: Vec::new(), sample: 0 };
        }
        // The rows' cumulative counts, to find the row of a drawn record.
        let cumulative: Vec<u64> = counts
            .map(|c| {
                c.iter()
                    .scan(0u64, |acc, &x| {
                        *acc += x;
                        Some(*acc)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let limit = (k as f64).log2().ceil() as u32;
        // With no more records than the sample, every tree holds all of them: no draws.
        let all: Option<(Vec<usize>, Vec<u32>)> = (k as u64 == records).then(|| match counts {
            Some(c) => (0..c.len())
                .filter(|&r| c[r] > 0)
                .map(|r| (r, u32::try_from(c[r]).unwrap_or(u32::MAX)))
                .unzip(),
            None => ((0..k).collect(), vec![1; k]),
        });
        let trees = (0..p.trees)
            .into_par_iter()
            .filter_map(|t| {
                if ctl.cancelled() {
                    return None;
                }
                let mut seeder = Rng::new(p.seed ^ (t as u64).wrapping_mul(0xd134_2543_de82_ef95));
                let mut rng = Rng::new(seeder.next_u64());
                let (mut rows, mut mult) = match &all {
                    Some((rows, mult)) => (rows.clone(), mult.clone()),
                    None => draw(&mut rng, records, k, counts.map(|_| cumulative.as_slice())),
                };
                let mut nodes = Vec::with_capacity(2 * rows.len());
                build(d, &mut rows, &mut mult, 0, limit, &mut rng, &mut nodes);
                ctl.step(1);
                Some(Tree { nodes })
            })
            .collect();
        Forest { trees, sample: k }
    }

    /// Path length of row `r` of `d` in one tree.
    fn path<D: Data + ?Sized>(tree: &Tree, d: &D, r: usize) -> f64 {
        let mut id = 0usize;
        let mut depth = 0.0;
        loop {
            match tree.nodes[id] {
                Node::Leaf { extra } => return depth + extra,
                Node::Split { attr, at, left, right } => {
                    id = if d.value(r, attr) < at { left } else { right } as usize;
                    depth += 1.0;
                }
            }
        }
    }

    /// The scores of `rows` of `d`, equal to [`Forest::score`] of each: tree by tree over
    /// the block, so that a tree stays in the cache while the rows walk it (a forest of
    /// 4096-row trees is far larger than the cache; row by row, every step would miss it).
    pub fn score_block<D: Data + ?Sized>(&self, d: &D, rows: &[usize]) -> Vec<f64> {
        let norm = c(self.sample);
        if self.trees.is_empty() || norm == 0.0 {
            return vec![0.5; rows.len()];
        }
        // Each row's path lengths are added in tree order, as in `score`: the same sums.
        let mut sums = vec![0.0f64; rows.len()];
        for t in &self.trees {
            for (s, &r) in sums.iter_mut().zip(rows) {
                *s += Self::path(t, d, r);
            }
        }
        let n = self.trees.len() as f64;
        sums.into_iter().map(|s| (-(s / n) / norm).exp2()).collect()
    }

    /// The anomaly score of row `r` of `d` (which may be other data than the training's).
    pub fn score<D: Data + ?Sized>(&self, d: &D, r: usize) -> f64 {
        if self.trees.is_empty() {
            return 0.5;
        }
        let norm = c(self.sample);
        if norm == 0.0 {
            return 0.5;
        }
        let mut sum = 0.0;
        for t in &self.trees {
            sum += Self::path(t, d, r);
        }
        let mean = sum / self.trees.len() as f64;
        (-mean / norm).exp2()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_values() {
        assert_eq!(c(1), 0.0);
        assert!((c(2) - 0.154_431_329_8).abs() < 1e-9);
        assert!((c(256) - 10.244_770_920_0).abs() < 1e-6, "{}", c(256));
    }

    fn sample(rng: &mut Rng, n: usize, k: usize) -> Vec<usize> {
        sample_u64(rng, n as u64, k).into_iter().map(|i| i as usize).collect()
    }

    #[test]
    fn samples_are_distinct_and_deterministic() {
        let mut r = Rng::new(7);
        let s = sample(&mut r, 1000, 256);
        assert_eq!(s.len(), 256);
        assert!(s.windows(2).all(|w| w[0] < w[1]) && s[255] < 1000);
        assert_eq!(s, sample(&mut Rng::new(7), 1000, 256));
        assert_eq!(sample(&mut Rng::new(1), 5, 5), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn an_outlier_scores_highest() {
        // 300 points on a small grid, one far away.
        let mut values = Vec::new();
        for i in 0..300 {
            values.extend([f64::from(i % 10), f64::from(i / 30)]);
        }
        values.extend([100.0, -50.0]);
        let d = Dense { dim: 2, values };
        let f = Forest::train(&d, Params { trees: 200, sample: 64, seed: 3 });
        let scores: Vec<f64> = (0..d.rows()).map(|r| f.score(&d, r)).collect();
        let best = (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap();
        assert_eq!(best, 300);
        assert!(scores[300] > 0.6, "{}", scores[300]);
        assert!(scores[..300].iter().all(|&s| s < scores[300]));
    }

    #[test]
    fn sparse_and_dense_agree() {
        // Attributes 2 and 66 share a mask bit; 66 is set in rows without 2 and vice versa.
        let rows: Vec<Vec<f64>> = (0..50)
            .map(|i| {
                let mut r = vec![0.0; 67];
                r[1] = f64::from(i % 3);
                r[2] = if i == 7 { 5.0 } else { 0.0 };
                r[66] = if i % 5 == 0 { 2.0 } else { 0.0 };
                r
            })
            .collect();
        let dense = Dense { dim: 67, values: rows.concat() };
        let sparse = Sparse::from_rows(rows.iter().map(|r| {
            r.iter().enumerate().filter(|e| *e.1 != 0.0).map(|(a, &v)| (a as u32, v)).collect()
        }));
        for (r, row) in rows.iter().enumerate() {
            for a in 0..67 {
                assert_eq!(sparse.value(r, a), row[a as usize]);
            }
        }
        let p = Params { trees: 50, sample: 32, seed: 9 };
        let (fd, fs) = (Forest::train(&dense, p), Forest::train(&sparse, p));
        for r in 0..50 {
            assert_eq!(fd.score(&dense, r), fs.score(&sparse, r), "row {r}");
        }
    }

    #[test]
    fn one_thread_equals_many() {
        let d = Dense { dim: 1, values: (0..400).map(|i| f64::from(i * i % 97)).collect() };
        let p = Params { trees: 64, sample: 100, seed: 5 };
        let many = Forest::train(&d, p);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| Forest::train(&d, p));
        for r in 0..400 {
            assert_eq!(many.score(&d, r), one.score(&d, r));
        }
        let other = Forest::train(&d, Params { seed: 6, ..p });
        assert!((0..400).any(|r| other.score(&d, r) != many.score(&d, r)));
    }

    /// A row with a count is the same as that many equal rows in a row: the same draws,
    /// the same trees, the same scores.
    #[test]
    fn counts_equal_repeated_rows() {
        let distinct: Vec<[f64; 2]> = (0..40).map(|i| [f64::from(i % 7), f64::from(i)]).collect();
        let counts: Vec<u64> = (0..40).map(|i| [1, 30, 2, 5][i % 4]).collect();
        let mut repeated = Vec::new();
        for (v, &c) in distinct.iter().zip(&counts) {
            for _ in 0..c {
                repeated.extend(v);
            }
        }
        let d = Dense { dim: 2, values: distinct.concat() };
        let r = Dense { dim: 2, values: repeated };
        let p = Params { trees: 40, sample: 64, seed: 8 };
        let with_counts = Forest::train_with(&d, Some(&counts), p, &());
        let plain = Forest::train(&r, p);
        let mut first = 0;
        for (i, &c) in counts.iter().enumerate() {
            assert_eq!(with_counts.score(&d, i), plain.score(&r, first), "row {i}");
            first += c as usize;
        }
        // The rare rows (count 1) score higher than the common ones (count 30) on average.
        let mean = |k: u64| {
            let s: Vec<f64> =
                (0..40).filter(|&i| counts[i] == k).map(|i| with_counts.score(&d, i)).collect();
            s.iter().sum::<f64>() / s.len() as f64
        };
        assert!(mean(1) > mean(30) + 0.03, "{} {}", mean(1), mean(30));
    }

    /// Cancellation skips the trees not yet started; steps count the trees built.
    #[test]
    fn cancelled_training_stops() {
        struct Stop(std::sync::atomic::AtomicU64);
        impl Control for Stop {
            fn cancelled(&self) -> bool {
                self.0.load(std::sync::atomic::Ordering::Relaxed) >= 3
            }
            fn step(&self, n: u64) {
                self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let d = Dense { dim: 1, values: (0..500).map(f64::from).collect() };
        let stop = Stop(std::sync::atomic::AtomicU64::new(0));
        let f = Forest::train_with(&d, None, Params { trees: 100_000, sample: 64, seed: 1 }, &stop);
        let built = stop.0.load(std::sync::atomic::Ordering::Relaxed);
        assert!((3..1000).contains(&built), "{built}");
        assert_eq!(f.trees.len() as u64, built);
    }

    #[test]
    fn block_scores_equal_single_scores() {
        let d = Dense { dim: 2, values: (0..600).map(|i| f64::from(i * 7 % 31)).collect() };
        let f = Forest::train(&d, Params { trees: 30, sample: 128, seed: 2 });
        let rows: Vec<usize> = (0..300).rev().collect();
        let block = f.score_block(&d, &rows);
        for (i, &r) in rows.iter().enumerate() {
            assert_eq!(block[i], f.score(&d, r), "row {r}");
        }
        let empty = Forest::train(&d, Params { trees: 0, ..Params::default() });
        assert_eq!(empty.score_block(&d, &[0, 1]), [0.5, 0.5]);
    }

    #[test]
    fn tiny_inputs() {
        let d = Dense { dim: 2, values: vec![1.0, 2.0] };
        let f = Forest::train(&d, Params::default());
        assert_eq!(f.score(&d, 0), 0.5);
        let e = Dense { dim: 2, values: vec![] };
        assert_eq!(Forest::train(&e, Params::default()).score(&d, 0), 0.5);
        // All equal: no split, every row the same score.
        let z = Dense { dim: 1, values: vec![3.0; 10] };
        let f = Forest::train(&z, Params::default());
        assert_eq!(f.score(&z, 0), f.score(&z, 9));
    }
}
