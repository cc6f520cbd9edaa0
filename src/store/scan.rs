//! Reading records back in time order across segments.
//!
//! Segments are each sorted by `(ts, source, line)` but may overlap in time (parallel import
//! workers, several imports). [`scan_time_order`] k-way merges them with a heap, prunes whole
//! segments and blocks outside the time range, and decompresses each needed block once.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use super::StoreError;
use super::segment::{DecodedBlock, Segment};
use crate::model::{Nanos, Record, SourceId};

type Key = (Nanos, SourceId, u64);

struct Cursor<'s> {
    seg: &'s Segment,
    next_block: usize,
    blk: DecodedBlock,
    pos: usize,
    range: Option<(Nanos, Nanos)>,
}

impl Cursor<'_> {
    /// Moves to the next row inside the range, loading blocks as needed. False at the end.
    fn settle(&mut self) -> Result<bool, StoreError> {
        loop {
            if self.pos < self.blk.len() {
                let ts = self.blk.ts[self.pos];
                match self.range {
                    Some((_, end)) if ts > end => return Ok(false),
                    Some((start, _)) if ts < start => {
                        // Rows are sorted: jump to the first row >= start.
                        self.pos += self.blk.ts[self.pos..].partition_point(|t| *t < start);
                        continue;
                    }
                    _ => return Ok(true),
                }
            }
            // Load the next block that can hold rows in range.
            loop {
                if self.next_block >= self.seg.block_count() {
                    return Ok(false);
                }
                let e = self.seg.block_entry(self.next_block)?;
                if let Some((start, end)) = self.range {
                    if e.min_ts > end {
                        return Ok(false);
                    }
                    if e.max_ts < start {
                        self.next_block += 1;
                        continue;
                    }
                }
                break;
            }
            self.seg.read_block(self.next_block, &mut self.blk)?;
            self.next_block += 1;
            self.pos = 0;
        }
    }

    fn key(&self) -> Key {
        (self.blk.ts[self.pos], self.blk.source[self.pos], self.blk.line[self.pos])
    }
}

/// Calls `f` with every record of `segments` inside `range` (inclusive), in
/// `(ts, source, line)` order. `f` returns `Ok(false)` to stop early.
pub fn scan_time_order<F>(
    segments: &[Arc<Segment>],
    range: Option<(Nanos, Nanos)>,
    mut f: F,
) -> Result<(), StoreError>
where
    F: FnMut(&Record<'_>) -> Result<bool, StoreError>,
{
    let mut cursors: Vec<Cursor<'_>> = Vec::new();
    for seg in segments {
        let m = seg.meta();
        if m.rows == 0 {
            continue;
        }
        if let Some((start, end)) = range
            && (m.max_ts < start || m.min_ts > end)
        {
            continue;
        }
        cursors.push(Cursor { seg, next_block: 0, blk: DecodedBlock::default(), pos: 0, range });
    }
    let mut heap: BinaryHeap<Reverse<(Key, usize)>> = BinaryHeap::new();
    for (i, c) in cursors.iter_mut().enumerate() {
        if c.settle()? {
            heap.push(Reverse((c.key(), i)));
        }
    }
    while let Some(Reverse((_, i))) = heap.pop() {
        let c = &mut cursors[i];
        // Run with this cursor while it stays at or before the next-best cursor.
        loop {
            let rec = c.blk.record(c.pos);
            if !f(&rec)? {
                return Ok(());
            }
            c.pos += 1;
            if !c.settle()? {
                break;
            }
            let k = c.key();
            match heap.peek() {
                Some(Reverse((top, _))) if *top < k => {
                    heap.push(Reverse((k, i)));
                    break;
                }
                _ => {}
            }
        }
    }
    Ok(())
}
