//! The in-memory token table used while building a segment: token → sorted list of frame
//! ids (`block * FRAMES_PER_BLOCK + frame`). An open-addressing hash table over an arena of token bytes, specialised for the
//! import hot path (tens of millions of lookups per GiB): one hash per token, no allocation
//! per lookup, short tokens compared as integers.

use super::format::FRAMES_PER_BLOCK;

/// Multiplier of the token hash (a 64-bit odd constant with good bit dispersion).
const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// The first 8 bytes of `t`, little-endian, zero-padded.
#[inline]
fn load_prefix(t: &[u8]) -> u64 {
    if let Some(head) = t.first_chunk::<8>() {
        return u64::from_le_bytes(*head);
    }
    let mut v = 0u64;
    for (i, &b) in t.iter().enumerate() {
        v |= u64::from(b) << (8 * i);
    }
    v
}

/// Hash of a token whose prefix is already loaded (most tokens fit in the prefix).
#[inline]
fn hash_with(t: &[u8], prefix: u64) -> u64 {
    let mut h = (prefix ^ (t.len() as u64).wrapping_mul(K)).wrapping_mul(K);
    if t.len() > 8 {
        let mut chunks = t[8..].chunks_exact(8);
        for c in &mut chunks {
            h = (h.rotate_left(31) ^ load_prefix(c)).wrapping_mul(K);
        }
        let r = chunks.remainder();
        if !r.is_empty() {
            h = (h.rotate_left(31) ^ load_prefix(r)).wrapping_mul(K);
        }
    }
    h ^ (h >> 29)
}

#[derive(Debug)]
struct Entry {
    hash: u64,
    prefix: u64,
    off: u32,
    len: u32,
    first: u32,
    last: u32,
    /// Ids after `first` (most tokens occur in one block only: no allocation for them).
    more: Vec<u32>,
}

/// Token → ids (block ids, pushed in non-decreasing order).
#[derive(Debug)]
pub(crate) struct TokenTable {
    slots: Vec<u32>,
    entries: Vec<Entry>,
    arena: Vec<u8>,
}

impl Default for TokenTable {
    fn default() -> Self {
        TokenTable { slots: vec![0; 1 << 12], entries: Vec::new(), arena: Vec::new() }
    }
}

impl TokenTable {
    /// Records that `tok` occurs in `id`; `id`s must be pushed in non-decreasing order.
    #[cfg(test)]
    pub(crate) fn add(&mut self, tok: &[u8], id: u32) {
        let prefix = load_prefix(tok);
        self.entry(hash_with(tok, prefix), prefix, tok, id);
    }

    /// Adds every token collected in `set` for block `block`, and clears the set: one id
    /// per frame the token occurs in (`block * FRAMES_PER_BLOCK + frame`).
    pub(crate) fn add_block(&mut self, set: &mut BlockSet<'_>, block: u32) {
        let base = block * FRAMES_PER_BLOCK;
        for &(h, prefix, tok, mask) in &set.items {
            let e = self.entry(h, prefix, tok, base + mask.trailing_zeros());
            let mut rest = mask & (mask - 1);
            while rest != 0 {
                let id = base + rest.trailing_zeros();
                e.more.push(id);
                e.last = id;
                rest &= rest - 1;
            }
        }
        set.clear();
    }

    /// Records `id` for the token and returns its entry.
    #[inline]
    fn entry(&mut self, h: u64, prefix: u64, tok: &[u8], id: u32) -> &mut Entry {
        let mask = self.slots.len() - 1;
        let mut i = (h as usize) & mask;
        loop {
            let s = self.slots[i];
            if s == 0 {
                break;
            }
            let e = &mut self.entries[s as usize - 1];
            if e.hash == h
                && e.prefix == prefix
                && e.len as usize == tok.len()
                && (tok.len() <= 8
                    || &self.arena[e.off as usize..e.off as usize + tok.len()] == tok)
            {
                if e.last != id {
                    e.more.push(id);
                    e.last = id;
                }
                let k = s as usize - 1;
                return &mut self.entries[k];
            }
            i = (i + 1) & mask;
        }
        let off = self.arena.len() as u32;
        self.arena.extend_from_slice(tok);
        self.entries.push(Entry {
            hash: h,
            prefix,
            off,
            len: tok.len() as u32,
            first: id,
            last: id,
            more: Vec::new(),
        });
        let k = self.entries.len() - 1;
        self.slots[i] = self.entries.len() as u32;
        if self.entries.len() * 2 > self.slots.len() {
            self.grow();
        }
        &mut self.entries[k]
    }

    fn grow(&mut self) {
        let n = self.slots.len() * 2;
        let mask = n - 1;
        let mut slots = vec![0u32; n];
        for (k, e) in self.entries.iter().enumerate() {
            let mut i = (e.hash as usize) & mask;
            while slots[i] != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = k as u32 + 1;
        }
        self.slots = slots;
    }

    /// Number of distinct tokens.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The tokens in byte order with their id lists.
    pub(crate) fn into_sorted(self) -> (Vec<u8>, Vec<SortedToken>) {
        let arena = self.arena;
        let tok = |e: &Entry| &arena[e.off as usize..(e.off + e.len) as usize];
        // Sort by the big-endian 8-byte prefix (orders like the bytes, and compares as one
        // integer), then order runs of equal prefixes by the full bytes.
        let mut keys: Vec<(u64, u32)> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (u64::from_be_bytes(e.prefix.to_le_bytes()), i as u32))
            .collect();
        keys.sort_unstable();
        let mut i = 0;
        while i < keys.len() {
            let mut j = i + 1;
            while j < keys.len() && keys[j].0 == keys[i].0 {
                j += 1;
            }
            if j - i > 1 {
                keys[i..j].sort_unstable_by(|a, b| {
                    tok(&self.entries[a.1 as usize]).cmp(tok(&self.entries[b.1 as usize]))
                });
            }
            i = j;
        }
        let mut entries: Vec<Option<Entry>> = self.entries.into_iter().map(Some).collect();
        let v = keys
            .into_iter()
            .filter_map(|(_, k)| entries[k as usize].take())
            .map(|e| SortedToken { off: e.off, len: e.len, first: e.first, more: e.more })
            .collect();
        (arena, v)
    }
}

/// A token of [`TokenTable::into_sorted`]: its bytes in the arena and its ids.
#[derive(Debug)]
pub(crate) struct SortedToken {
    pub off: u32,
    pub len: u32,
    pub first: u32,
    pub more: Vec<u32>,
}

impl SortedToken {
    /// Number of ids.
    pub(crate) fn count(&self) -> usize {
        1 + self.more.len()
    }
    /// The ids, increasing.
    pub(crate) fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        std::iter::once(self.first).chain(self.more.iter().copied())
    }
}

/// The distinct tokens of one block: a small table that stays in the CPU cache, so the big
/// [`TokenTable`] is touched once per distinct token and block instead of once per occurrence.
#[derive(Debug)]
pub(crate) struct BlockSet<'t> {
    slots: Vec<(u32, u32)>,
    epoch: u32,
    /// Hash, prefix, token, and the mask of frames it occurs in.
    items: Vec<(u64, u64, &'t [u8], u32)>,
}

impl Default for BlockSet<'_> {
    fn default() -> Self {
        BlockSet { slots: vec![(0, 0); 1 << 12], epoch: 1, items: Vec::new() }
    }
}

impl<'t> BlockSet<'t> {
    /// Adds a token seen in `frame` (< 32) of the block.
    #[inline]
    pub(crate) fn insert(&mut self, tok: &'t [u8], frame: u32) {
        let prefix = load_prefix(tok);
        let h = hash_with(tok, prefix);
        let mask = self.slots.len() - 1;
        let mut i = (h as usize) & mask;
        loop {
            let (g, idx) = self.slots[i];
            if g != self.epoch {
                break;
            }
            let (eh, ep, et, _) = self.items[idx as usize];
            if eh == h && ep == prefix && et.len() == tok.len() && (tok.len() <= 8 || et == tok) {
                self.items[idx as usize].3 |= 1 << frame;
                return;
            }
            i = (i + 1) & mask;
        }
        self.slots[i] = (self.epoch, self.items.len() as u32);
        self.items.push((h, prefix, tok, 1 << frame));
        if self.items.len() * 2 > self.slots.len() {
            let n = self.slots.len() * 2;
            self.slots = vec![(0, 0); n];
            self.epoch = 1;
            let mask = n - 1;
            for (k, it) in self.items.iter().enumerate() {
                let mut i = (it.0 as usize) & mask;
                while self.slots[i].0 == self.epoch {
                    i = (i + 1) & mask;
                }
                self.slots[i] = (self.epoch, k as u32);
            }
        }
    }

    fn clear(&mut self) {
        self.items.clear();
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.slots.fill((0, 0));
            self.epoch = 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn matches_a_btreemap() {
        let mut t = TokenTable::default();
        let mut want: BTreeMap<Vec<u8>, Vec<u32>> = BTreeMap::new();
        let mut x: u64 = 12345;
        for id in 0..3000u32 {
            for _ in 0..7 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let len = (x % 20) as usize;
                let tok: Vec<u8> = (0..len).map(|i| b'a' + ((x >> (i % 60)) % 3) as u8).collect();
                if id % 2 == 0 {
                    t.add(&tok, id / 10);
                } else {
                    let mut set = BlockSet::default();
                    let frame = (id / 10) % FRAMES_PER_BLOCK;
                    set.insert(&tok, frame);
                    set.insert(&tok, frame);
                    t.add_block(&mut set, id / 10 / FRAMES_PER_BLOCK);
                }
                let l = want.entry(tok).or_default();
                if l.last() != Some(&(id / 10)) {
                    l.push(id / 10);
                }
            }
        }
        assert_eq!(t.len(), want.len());
        let (arena, sorted) = t.into_sorted();
        let got: Vec<(Vec<u8>, Vec<u32>)> = sorted
            .into_iter()
            .map(|t| (arena[t.off as usize..(t.off + t.len) as usize].to_vec(), t.ids().collect()))
            .collect();
        let want: Vec<(Vec<u8>, Vec<u32>)> = want.into_iter().collect();
        assert_eq!(got, want);
    }
}
