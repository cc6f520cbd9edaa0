//! `relation`: how often values of two or more items occur together in a record (spec §6.9),
//! and the graph of those co-occurrences.
//!
//! Items (command-line words):
//! * `ip`, `ipv6`, `mac`, `email`, `url`, `kv` (`\w+=\w+[ ,]?`): the keyword regexes;
//! * `regex/PATTERN/` or `regexp/PATTERN/` (optionally followed by a colour name, which is
//!   ignored): PATTERN is everything between the first and the last `/`;
//! * any of them with `:N`: the N-th (0-based) match instead of the first; for regex items
//!   the `:N` goes after the closing `/`.
//!
//! Every other word is a simple filter. Upstream took any word starting with `ip`, `mac`,
//! ... as an item (`ipsec` became an IP item), read `:N` anywhere (a `:` inside a regex was
//! fatal), and panicked on an invalid regex; those are fixed.
//!
//! For each matching record, each item's value is the whole match (not a group) at its
//! index; a record lacking any of them is skipped. Output: the value tuples with their
//! counts (count descending, then values), and the graph a chart needs: one node per
//! (item column, value) with the records it occurs in, and one edge per pair of values of
//! adjacent columns with the records linking them.
//!
//! Memory: O(distinct tuples × their size), plus a decode batch.

use std::collections::HashMap;

use regex_automata::meta::Regex;
use serde::Serialize;

use super::AnalyzeError;
use super::runner::{self, ScanStats};
use crate::query::filter::{compile_regex, keyword_regex};
use crate::query::{Filter, TimeRange};
use crate::store::Store;

/// `kv` items: `key=value` pairs (upstream's colour-mode regex).
pub const KV_REGEX: &str = r"\w+=\w+[ ,]?";

/// One item to extract.
#[derive(Debug, Clone)]
pub struct Item {
    /// The word as given (the column title).
    pub name: String,
    re: Regex,
    /// Which match (0-based).
    pub index: usize,
}

impl Item {
    /// The value of this item in `text`.
    pub fn value<'t>(&self, text: &'t [u8]) -> Option<&'t [u8]> {
        self.re.find_iter(text).nth(self.index).map(|m| &text[m.range()])
    }
}

/// A bad item word.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid relation item {item:?}: {reason}")]
pub struct ItemError {
    /// The word.
    pub item: String,
    /// Why.
    pub reason: String,
}

fn named(name: &str) -> Option<String> {
    match name {
        "ip" => keyword_regex("#IP").map(str::to_string),
        "ipv6" => keyword_regex("#IPV6").map(str::to_string),
        "mac" => keyword_regex("#MAC").map(str::to_string),
        "email" => keyword_regex("#EMAIL").map(str::to_string),
        "url" => keyword_regex("#URL").map(str::to_string),
        "kv" => Some(KV_REGEX.to_string()),
        _ => None,
    }
}

/// Splits command-line words into items and simple filters.
pub fn parse_items(words: &[String]) -> Result<(Vec<Item>, Vec<String>), ItemError> {
    let mut items = Vec::new();
    let mut filters = Vec::new();
    for w in words {
        let err = |reason: String| ItemError { item: w.clone(), reason };
        let index = |s: &str| {
            s.parse::<usize>()
                .map_err(|_| err(format!("the match index after ':' must be a number, got {s:?}")))
        };
        if let Some(rest) = w.strip_prefix("regex/").or_else(|| w.strip_prefix("regexp/")) {
            let Some(close) = rest.rfind('/') else {
                return Err(err("expected regex/PATTERN/ (with a closing '/')".into()));
            };
            let (pat, tail) = (&rest[..close], &rest[close + 1..]);
            if pat.is_empty() {
                return Err(err("the pattern between the slashes is empty".into()));
            }
            let idx = match tail.rsplit_once(':') {
                Some((_, n)) => index(n)?,
                None => 0,
            };
            let re = compile_regex(pat).map_err(&err)?;
            items.push(Item { name: w.clone(), re, index: idx });
            continue;
        }
        let (base, idx) = match w.split_once(':') {
            Some((b, n)) if named(b).is_some() => (b, index(n)?),
            _ => (w.as_str(), 0),
        };
        match named(base) {
            Some(p) => {
                let re = compile_regex(&p).map_err(&err)?;
                items.push(Item { name: w.clone(), re, index: idx });
            }
            None => filters.push(w.clone()),
        }
    }
    Ok((items, filters))
}

/// What to relate.
#[derive(Debug, Clone)]
pub struct RelationConfig {
    /// Line filter.
    pub filter: Filter,
    /// Time range.
    pub range: TimeRange,
    /// The items (two or more).
    pub items: Vec<Item>,
}

/// A tuple of values and the records holding it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TupleRow {
    /// One value per item.
    pub values: Vec<Vec<u8>>,
    /// Records.
    pub count: u64,
}

/// A graph node: a value of one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    /// Node id (position in the node list).
    pub id: usize,
    /// Item column (0-based).
    pub column: usize,
    /// The value.
    pub value: Vec<u8>,
    /// Records in which it occurs with all the other items.
    pub count: u64,
}

/// A graph edge: values of adjacent columns seen together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// Node id of the value in column c.
    pub source: usize,
    /// Node id of the value in column c + 1.
    pub target: usize,
    /// Records linking them.
    pub count: u64,
}

/// The result of a relation run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relation {
    /// Tuples, by count descending, then values ascending.
    pub tuples: Vec<TupleRow>,
    /// Nodes, by column, then count descending, then value.
    pub nodes: Vec<Node>,
    /// Edges, by source then target.
    pub edges: Vec<Edge>,
}

/// Totals.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct RelationStats {
    /// Records holding every item.
    pub hits: u64,
    /// Distinct tuples.
    pub keys: u64,
    /// Scan counters.
    pub scan: ScanStats,
}

/// The mergeable state: tuple counts, keyed by the values each prefixed with its length.
/// Memory: O(distinct tuples × their size).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelationState {
    counts: HashMap<Vec<u8>, u64>,
    key: Vec<u8>,
}

impl RelationState {
    /// Counts the tuple of `text`, if every item is present; returns whether it was.
    pub fn observe(&mut self, items: &[Item], text: &[u8]) -> bool {
        self.key.clear();
        for it in items {
            let Some(v) = it.value(text) else { return false };
            self.key.extend_from_slice(&(v.len() as u64).to_le_bytes());
            self.key.extend_from_slice(v);
        }
        match self.counts.get_mut(self.key.as_slice()) {
            Some(c) => *c += 1,
            None => {
                self.counts.insert(self.key.clone(), 1);
            }
        }
        true
    }

    /// Combines two states (associative and commutative).
    pub fn merge(mut self, mut other: RelationState) -> RelationState {
        if self.counts.len() < other.counts.len() {
            std::mem::swap(&mut self, &mut other);
        }
        for (k, n) in other.counts {
            *self.counts.entry(k).or_default() += n;
        }
        self
    }

    /// Tuples, nodes and edges.
    pub fn finish(self) -> Relation {
        let mut tuples: Vec<TupleRow> = self
            .counts
            .into_iter()
            .map(|(k, count)| TupleRow { values: decode_key(&k), count })
            .collect();
        tuples.sort_unstable_by(|a, b| b.count.cmp(&a.count).then_with(|| a.values.cmp(&b.values)));
        type NodeKey<'a> = (usize, &'a [u8]);
        let mut node_count: HashMap<NodeKey<'_>, u64> = HashMap::new();
        let mut edge_count: HashMap<(NodeKey<'_>, NodeKey<'_>), u64> = HashMap::new();
        for t in &tuples {
            for (c, v) in t.values.iter().enumerate() {
                *node_count.entry((c, v.as_slice())).or_default() += t.count;
            }
            for (c, w) in t.values.windows(2).enumerate() {
                *edge_count.entry(((c, &w[0]), (c + 1, &w[1]))).or_default() += t.count;
            }
        }
        let mut nodes: Vec<(NodeKey<'_>, u64)> = node_count.into_iter().collect();
        nodes.sort_unstable_by(|a, b| {
            (a.0.0, std::cmp::Reverse(a.1), a.0.1).cmp(&(b.0.0, std::cmp::Reverse(b.1), b.0.1))
        });
        let ids: HashMap<NodeKey<'_>, usize> =
            nodes.iter().enumerate().map(|(i, (k, _))| (*k, i)).collect();
        let mut edges: Vec<Edge> = edge_count
            .into_iter()
            .filter_map(|(e, count)| {
                Some(Edge { source: *ids.get(&e.0)?, target: *ids.get(&e.1)?, count })
            })
            .collect();
        edges.sort_unstable_by_key(|e| (e.source, e.target));
        let nodes = nodes
            .into_iter()
            .enumerate()
            .map(|(id, ((column, value), count))| Node { id, column, value: value.to_vec(), count })
            .collect();
        Relation { tuples, nodes, edges }
    }
}

fn decode_key(mut k: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while k.len() >= 8 {
        let mut len = [0u8; 8];
        len.copy_from_slice(&k[..8]);
        let n = (u64::from_le_bytes(len) as usize).min(k.len() - 8);
        out.push(k[8..8 + n].to_vec());
        k = &k[8 + n..];
    }
    out
}

/// Runs the relation analysis.
pub fn relation(
    store: &Store,
    cfg: &RelationConfig,
) -> Result<(Relation, RelationStats), AnalyzeError> {
    let plan = runner::plan(store, &cfg.filter, cfg.range)?;
    let items = &cfg.items;
    let ((state, hits), scan) = runner::scan_fold(
        store,
        &plan,
        &cfg.filter,
        cfg.range,
        || (RelationState::default(), 0u64),
        |(s, h), r| {
            if s.observe(items, r.text) {
                *h += 1;
            }
        },
        |a, b| (a.0.merge(b.0), a.1 + b.1),
    )?;
    let rel = state.finish();
    let stats = RelationStats { hits, keys: rel.tuples.len() as u64, scan };
    Ok((rel, stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    /// Spec §10.1 (getRelationEntIndex), with the fixes.
    #[test]
    fn item_words() {
        let (items, filters) = parse_items(&words(&[
            "ip",
            "ip:0",
            "ip:1",
            "email:2",
            "regex/pattern/:3",
            "regex/user=(\\w+)/red",
            "regexp/a:b/",
            "regex/x/red:2",
            "ipsec",
            "^kv",
        ]))
        .unwrap();
        let idx: Vec<(&str, usize)> = items.iter().map(|i| (i.name.as_str(), i.index)).collect();
        assert_eq!(
            idx,
            [
                ("ip", 0),
                ("ip:0", 0),
                ("ip:1", 1),
                ("email:2", 2),
                ("regex/pattern/:3", 3),
                ("regex/user=(\\w+)/red", 0),
                ("regexp/a:b/", 0),
                ("regex/x/red:2", 2)
            ]
        );
        assert_eq!(filters, ["ipsec", "^kv"]);
        for bad in ["ip:x", "regex/abc", "regex/(/", "regex//", "kv:-1", "regex/a/:z"] {
            let e = parse_items(&words(&[bad])).unwrap_err();
            assert_eq!(e.item, bad);
        }
    }

    #[test]
    fn values_are_whole_matches() {
        let (items, _) = parse_items(&words(&["ip", "regex/user=(\\w+)/", "ip:1", "kv"])).unwrap();
        let t = b"from 1.2.3.4 to 5.6.7.8 user=root a=b";
        let v: Vec<Option<&[u8]>> = items.iter().map(|i| i.value(t)).collect();
        assert_eq!(
            v,
            [
                Some(&b"1.2.3.4"[..]),
                Some(&b"user=root"[..]),
                Some(&b"5.6.7.8"[..]),
                Some(&b"user=root "[..])
            ]
        );
        let mut s = RelationState::default();
        assert!(s.observe(&items[..2], t));
        assert!(!s.observe(&items[..3], b"from 1.2.3.4 user=x"));
        assert!(s.observe(&items[..2], b"1.2.3.4 user=x"));
        assert!(s.observe(&items[..2], b"9.9.9.9 user=x"));
        assert!(s.observe(&items[..2], t));
        let r = s.finish();
        let tuples: Vec<(Vec<&str>, u64)> = r
            .tuples
            .iter()
            .map(|t| (t.values.iter().map(|v| std::str::from_utf8(v).unwrap()).collect(), t.count))
            .collect();
        assert_eq!(
            tuples,
            [
                (vec!["1.2.3.4", "user=root"], 2),
                (vec!["1.2.3.4", "user=x"], 1),
                (vec!["9.9.9.9", "user=x"], 1)
            ]
        );
        let nodes: Vec<(usize, &[u8], u64)> =
            r.nodes.iter().map(|n| (n.column, n.value.as_slice(), n.count)).collect();
        assert_eq!(
            nodes,
            [
                (0, &b"1.2.3.4"[..], 3),
                (0, &b"9.9.9.9"[..], 1),
                (1, &b"user=root"[..], 2),
                (1, &b"user=x"[..], 2)
            ]
        );
        assert_eq!(
            r.edges,
            [
                Edge { source: 0, target: 2, count: 2 },
                Edge { source: 0, target: 3, count: 1 },
                Edge { source: 1, target: 3, count: 1 }
            ]
        );
    }

    proptest! {
        #[test]
        fn merge_laws(lines in proptest::collection::vec((0u8..4, 0u8..3, any::<bool>()), 0..50),
                      a in 0usize..50, b in 0usize..50) {
            let (items, _) = parse_items(&words(&["ip", "kv"])).unwrap();
            let texts: Vec<Vec<u8>> = lines.iter().map(|(i, k, has)| {
                let kv = if *has { format!(" k{k}=v") } else { String::new() };
                format!("10.0.0.{i}{kv}").into_bytes()
            }).collect();
            let n = texts.len();
            let (a, b) = (a.min(n).min(b.min(n)), a.min(n).max(b.min(n)));
            let mk = |lo: usize, hi: usize| {
                let mut s = RelationState::default();
                for t in &texts[lo..hi] { s.observe(&items, t); }
                s
            };
            let whole = mk(0, n).finish();
            prop_assert_eq!(&mk(0, a).merge(mk(a, b)).merge(mk(b, n)).finish(), &whole);
            prop_assert_eq!(&mk(0, a).merge(mk(a, b).merge(mk(b, n))).finish(), &whole);
            prop_assert_eq!(&RelationState::default().merge(mk(0, n)).finish(), &whole);
            let total: u64 = whole.tuples.iter().map(|t| t.count).sum();
            prop_assert_eq!(total, lines.iter().filter(|l| l.2).count() as u64);
        }
    }
}
