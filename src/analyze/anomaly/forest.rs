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
//! the data in place.

use std::collections::HashMap;

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
    /// The rows.
    pub rows: Vec<Box<[(u32, f64)]>>,
}

impl Data for Sparse {
    fn rows(&self) -> usize {
        self.rows.len()
    }

    fn value(&self, r: usize, a: u32) -> f64 {
        let row = &self.rows[r];
        row.binary_search_by_key(&a, |e| e.0).map_or(0.0, |i| row[i].1)
    }

    fn varying(&self, rows: &[usize]) -> Vec<(u32, f64, f64)> {
        let mut seen: HashMap<u32, (usize, f64, f64)> = HashMap::new();
        for &r in rows {
            for &(a, v) in self.rows[r].iter() {
                let e = seen.entry(a).or_insert((0, v, v));
                e.0 += 1;
                e.1 = e.1.min(v);
                e.2 = e.2.max(v);
            }
        }
        let mut out: Vec<(u32, f64, f64)> = seen
            .into_iter()
            .filter_map(|(a, (n, lo, hi))| {
                // Rows without the attribute have 0.
                let (lo, hi) = if n < rows.len() { (lo.min(0.0), hi.max(0.0)) } else { (lo, hi) };
                (lo < hi).then_some((a, lo, hi))
            })
            .collect();
        out.sort_unstable_by_key(|e| e.0);
        out
    }
}

#[derive(Debug, Clone, Copy)]
enum Node {
    Leaf { size: u32 },
    Split { attr: u32, at: f64, left: u32, right: u32 },
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

/// The forest's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Trees.
    pub trees: usize,
    /// Rows per tree (capped at the number of rows).
    pub sample: usize,
    /// Seed.
    pub seed: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params { trees: 1000, sample: 256, seed: 1 }
    }
}

/// A trained forest.
#[derive(Debug, Clone)]
pub struct Forest {
    trees: Vec<Tree>,
    sample: usize,
}

/// Draws `k` distinct indexes below `n` (Floyd's algorithm), sorted.
fn sample(rng: &mut Rng, n: usize, k: usize) -> Vec<usize> {
    let mut set = std::collections::HashSet::with_capacity(k);
    for j in n - k..n {
        let t = rng.below(j + 1);
        if !set.insert(t) {
            set.insert(j);
        }
    }
    let mut v: Vec<usize> = set.into_iter().collect();
    v.sort_unstable();
    v
}

fn build<D: Data + ?Sized>(
    d: &D,
    rows: &mut [usize],
    depth: u32,
    limit: u32,
    rng: &mut Rng,
    nodes: &mut Vec<Node>,
) -> u32 {
    let id = nodes.len() as u32;
    nodes.push(Node::Leaf { size: rows.len() as u32 });
    if rows.len() <= 1 || depth >= limit {
        return id;
    }
    let vary = d.varying(rows);
    if vary.is_empty() {
        return id;
    }
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
            i += 1;
        }
    }
    let (l, r) = rows.split_at_mut(i);
    let left = build(d, l, depth + 1, limit, rng, nodes);
    let right = build(d, r, depth + 1, limit, rng, nodes);
    nodes[id as usize] = Node::Split { attr, at, left, right };
    id
}

impl Forest {
    /// Trains on every row of `d`. Tree `t` uses its own generator seeded from
    /// `(seed, t)`, so the result does not depend on the thread count.
    pub fn train<D: Data + ?Sized>(d: &D, p: Params) -> Forest {
        let n = d.rows();
        let k = p.sample.min(n);
        if k == 0 {
            return Forest { trees: Vec::new(), sample: 0 };
        }
        let limit = (k as f64).log2().ceil() as u32;
        let trees = (0..p.trees)
            .into_par_iter()
            .map(|t| {
                let mut seeder = Rng::new(p.seed ^ (t as u64).wrapping_mul(0xd134_2543_de82_ef95));
                let mut rng = Rng::new(seeder.next_u64());
                let mut rows = sample(&mut rng, n, k);
                let mut nodes = Vec::with_capacity(2 * k);
                build(d, &mut rows, 0, limit, &mut rng, &mut nodes);
                Tree { nodes }
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
                Node::Leaf { size } => return depth + c(size as usize),
                Node::Split { attr, at, left, right } => {
                    id = if d.value(r, attr) < at { left } else { right } as usize;
                    depth += 1.0;
                }
            }
        }
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
        let mean =
            self.trees.iter().map(|t| Self::path(t, d, r)).sum::<f64>() / self.trees.len() as f64;
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
        let rows: Vec<Vec<f64>> =
            (0..50).map(|i| vec![0.0, f64::from(i % 3), if i == 7 { 5.0 } else { 0.0 }]).collect();
        let dense = Dense { dim: 3, values: rows.concat() };
        let sparse = Sparse {
            rows: rows
                .iter()
                .map(|r| {
                    r.iter()
                        .enumerate()
                        .filter(|e| *e.1 != 0.0)
                        .map(|(a, &v)| (a as u32, v))
                        .collect()
                })
                .collect(),
        };
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
