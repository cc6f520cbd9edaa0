//! Building (in memory → bytes) and reading (bytes → records) of one segment.
//!
//! A segment is immutable once written. Rows are sorted by `(ts, source, line)`; row ids are
//! dense `0..rows`. Rows are grouped into blocks of about 16 KiB of text; each block has
//! varint columns and up to four LZ4 text frames compressed against the segment's dictionary,
//! so a reader decompresses only the frames it needs, and the block index carries per-block
//! time bounds for pruning. Version-1 segments (two zstd frames per block) are still read.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::Arc;

use roaring::RoaringBitmap;

use super::StoreError;
use super::format::{
    self, BLOCK_ENTRY_LEN, BlockEntry, COLUMN_BYTES_PER_ROW, FOOTER_LEN, FRAME_TEXT_BYTES,
    FRAMES_PER_BLOCK, HEADER_LEN, MAX_BLOCKS, META_LEN, Meta, SectionEntry, SectionId,
};
use super::postings::{BlockSet, SortedToken, TokenTable};
use super::tokenizer::{self, TOKENIZER_VERSION};
use crate::model::{Nanos, Record, SourceId};

/// Bytes of a segment: a read-only memory map or an owned buffer.
pub type SharedBytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Tuning knobs of the segment writer. They change performance and size, never contents.
#[derive(Debug, Clone, Copy)]
pub struct SegmentOptions {
    /// A block is closed once its text reaches this many bytes.
    pub block_text_bytes: usize,
    /// A block is closed once it has this many rows.
    pub block_rows: usize,
    /// A text frame (the unit of decompression and of the index) is closed once its text
    /// reaches this many bytes; a block has at most `FRAMES_PER_BLOCK` frames.
    pub frame_text_bytes: usize,
}

impl Default for SegmentOptions {
    fn default() -> Self {
        SegmentOptions {
            block_text_bytes: 16 * 1024,
            block_rows: 512,
            frame_text_bytes: FRAME_TEXT_BYTES,
        }
    }
}

fn put_var(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_var(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    let mut shift = 0u32;
    loop {
        let byte = *b.get(*pos)?;
        *pos += 1;
        if shift == 63 && byte > 1 {
            return None;
        }
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Version-2 columns (uncompressed varints; see `segment-format/segment.md`):
/// - a time-unit byte `k`: timestamp gaps and deltas are stored in units of 10^k ns, the
///   largest `k <= 9` that divides all of them;
/// - timestamps: one varint gap per row (the first is from the block's `min_ts`);
/// - deltas: a mode byte; 0: every delta but the first equals the row's timestamp gap
///   (one source, the usual case), then the first as a zigzag varint; 1: one zigzag
///   varint per row;
/// - line numbers: a mode byte; 0: consecutive, then the first as a varint; 1: one zigzag
///   varint gap per row (the first from 0);
/// - sources: a mode byte; 0: all equal, then one varint; 1: one varint per row;
/// - text lengths: one varint per row.
fn encode_columns(block: &[RowMeta], out: &mut Vec<u8>) {
    let divides = |u: i64| {
        let mut prev = block[0].ts;
        block.iter().all(|r| {
            let ok = r.ts.wrapping_sub(prev) % u == 0 && r.delta % u == 0;
            prev = r.ts;
            ok
        })
    };
    let mut k = 0u8;
    let mut unit = 1i64;
    while k < 9 && divides(unit * 10) {
        k += 1;
        unit *= 10;
    }
    out.push(k);
    let mut prev = block[0].ts;
    for r in block {
        put_var((r.ts.wrapping_sub(prev) / unit) as u64, out);
        prev = r.ts;
    }
    if block.windows(2).all(|w| w[1].delta == w[1].ts.wrapping_sub(w[0].ts)) {
        out.push(0);
        put_var(zigzag(block[0].delta / unit), out);
    } else {
        out.push(1);
        for r in block {
            put_var(zigzag(r.delta / unit), out);
        }
    }
    if block.windows(2).all(|w| w[1].line == w[0].line.wrapping_add(1)) {
        out.push(0);
        put_var(block[0].line, out);
    } else {
        out.push(1);
        let mut prev_line = 0u64;
        for r in block {
            put_var(zigzag(r.line.wrapping_sub(prev_line) as i64), out);
            prev_line = r.line;
        }
    }
    if block.iter().all(|r| r.source == block[0].source) {
        out.push(0);
        put_var(u64::from(block[0].source), out);
    } else {
        out.push(1);
        for r in block {
            put_var(u64::from(r.source), out);
        }
    }
    for r in block {
        put_var(u64::from(r.len), out);
    }
}

/// Decodes the columns of a version-2 block; returns the position after them.
fn decode_columns(b: &[u8], n: usize, min_ts: Nanos, out: &mut DecodedBlock) -> Option<usize> {
    out.ts.clear();
    out.delta.clear();
    out.line.clear();
    out.source.clear();
    out.offs.clear();
    let k = *b.first()?;
    if k > 9 {
        return None;
    }
    let unit = 10i64.pow(u32::from(k));
    let mut pos = 1usize;
    let mode = |pos: &mut usize| -> Option<u8> {
        let m = *b.get(*pos)?;
        *pos += 1;
        (m <= 1).then_some(m)
    };
    let mut ts = min_ts;
    for _ in 0..n {
        ts = ts.wrapping_add((get_var(b, &mut pos)? as i64).wrapping_mul(unit));
        out.ts.push(ts);
    }
    if mode(&mut pos)? == 0 {
        out.delta.push(unzigzag(get_var(b, &mut pos)?).wrapping_mul(unit));
        out.delta.extend(out.ts.windows(2).map(|w| w[1].wrapping_sub(w[0])));
    } else {
        for _ in 0..n {
            out.delta.push(unzigzag(get_var(b, &mut pos)?).wrapping_mul(unit));
        }
    }
    if mode(&mut pos)? == 0 {
        let first = get_var(b, &mut pos)?;
        out.line.extend((0..n as u64).map(|i| first.wrapping_add(i)));
    } else {
        let mut line = 0u64;
        for _ in 0..n {
            line = line.wrapping_add(unzigzag(get_var(b, &mut pos)?) as u64);
            out.line.push(line);
        }
    }
    if mode(&mut pos)? == 0 {
        let s = u32::try_from(get_var(b, &mut pos)?).ok()?;
        out.source.resize(n, s);
    } else {
        for _ in 0..n {
            out.source.push(u32::try_from(get_var(b, &mut pos)?).ok()?);
        }
    }
    let mut off = 0u32;
    out.offs.push(0);
    for _ in 0..n {
        off = off.checked_add(u32::try_from(get_var(b, &mut pos)?).ok()?)?;
        out.offs.push(off);
    }
    Some(pos)
}

/// Every frame of a block.
pub const ALL_FRAMES: u32 = (1 << FRAMES_PER_BLOCK) - 1;

/// One frame of a version-2 block's frame table.
#[derive(Debug, Clone, Copy, Default)]
struct FrameEntry {
    rows: u32,
    clen: u32,
    crc: u32,
}

/// Decodes a version-2 block: `cols` (columns and frame table), `frames` (the LZ4 frames),
/// keeping the rows of the frames selected by `text` (`None`: every row, no text).
fn decode_v2(
    out: &mut DecodedBlock,
    cols: &[u8],
    frames: &[u8],
    e: &BlockEntry,
    (dict, dict_key): (&[u8], u64),
    text: Option<u32>,
) -> Result<(), String> {
    if format::crc32(cols) != e.cols_crc {
        return Err("columns checksum mismatch".into());
    }
    let n = e.rows as usize;
    let mut pos = decode_columns(cols, n, e.min_ts, out).ok_or("bad column encoding")?;
    if out.offs.last().copied() != Some(e.text_raw_len) {
        return Err("lengths do not add up to the text size".into());
    }
    let nf = usize::from(*cols.get(pos).ok_or("missing frame table")?);
    pos += 1;
    if nf == 0 || nf > FRAMES_PER_BLOCK as usize {
        return Err(format!("{nf} frames"));
    }
    let mut table = [FrameEntry::default(); FRAMES_PER_BLOCK as usize];
    let (mut rows, mut clen) = (0u64, 0u64);
    for f in table.iter_mut().take(nf) {
        let r = get_var(cols, &mut pos).ok_or("bad frame table")?;
        let c = get_var(cols, &mut pos).ok_or("bad frame table")?;
        let crc = cols.get(pos..pos + 4).ok_or("bad frame table")?;
        pos += 4;
        if r == 0 {
            return Err("empty frame".into());
        }
        rows = rows.saturating_add(r);
        clen = clen.saturating_add(c);
        *f = FrameEntry {
            rows: u32::try_from(r).map_err(|_| "bad frame table")?,
            clen: u32::try_from(c).map_err(|_| "bad frame table")?,
            crc: u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]),
        };
    }
    if pos != cols.len() || rows != n as u64 || clen != frames.len() as u64 {
        return Err("frame table does not match the block".into());
    }
    let Some(mask) = text else {
        out.text.clear();
        out.frames.extend((0..nf).map(|f| (f as u8, table[f].rows)));
        return Ok(());
    };
    let mask = mask & ((1u32 << nf) - 1);
    let all = mask == (1u32 << nf) - 1;
    // Row ranges, text ranges and compressed ranges of each frame.
    let mut bounds = [(0usize, 0usize, 0usize); FRAMES_PER_BLOCK as usize + 1];
    for f in 0..nf {
        let (r0, _, c0) = bounds[f];
        bounds[f + 1] = (r0 + table[f].rows as usize, 0, c0 + table[f].clen as usize);
    }
    let raw_len = |f: usize| (out.offs[bounds[f + 1].0] - out.offs[bounds[f].0]) as usize;
    let want: usize = (0..nf).filter(|f| mask & (1 << f) != 0).map(raw_len).sum();
    out.text.clear();
    out.text.resize(want, 0);
    // Frames decode into a buffer that holds the dictionary right before the output: LZ4
    // then takes its fast "prefix" path (about 2x the speed of an external dictionary),
    // and one copy moves the frame into place.
    let largest = (0..nf).map(raw_len).max().unwrap_or(0);
    if out.lz4_dict != Some(dict_key) {
        out.lz4.clear();
        out.lz4.extend_from_slice(dict);
        out.lz4_dict = Some(dict_key);
    }
    out.lz4.resize(dict.len() + largest, 0);
    let mut at = 0usize;
    for f in (0..nf).filter(|f| mask & (1 << f) != 0) {
        let len = raw_len(f);
        let (prefix, space) = out.lz4.split_at_mut(dict.len());
        let dst = &mut space[..len];
        let got = super::lz4::decompress(&frames[bounds[f].2..bounds[f + 1].2], dst, prefix)
            .ok_or_else(|| format!("frame {f}: malformed LZ4 data"))?;
        if got != len {
            return Err(format!("frame {f} has {got} bytes, expected {len}"));
        }
        if format::crc32(dst) != table[f].crc {
            return Err(format!("frame {f}: text checksum mismatch"));
        }
        out.text[at..at + len].copy_from_slice(dst);
        at += len;
    }
    if all {
        out.frames.extend((0..nf).map(|f| (f as u8, table[f].rows)));
        return Ok(());
    }
    // Keep only the rows of the selected frames.
    out.scratch.clear();
    out.scratch.push(0);
    let mut w = 0usize;
    for f in (0..nf).filter(|f| mask & (1 << f) != 0) {
        let (r0, r1) = (bounds[f].0, bounds[f + 1].0);
        out.ts.copy_within(r0..r1, w);
        out.delta.copy_within(r0..r1, w);
        out.line.copy_within(r0..r1, w);
        out.source.copy_within(r0..r1, w);
        let mut off = out.scratch.last().copied().unwrap_or(0);
        for r in r0..r1 {
            off += out.offs[r + 1] - out.offs[r];
            out.scratch.push(off);
        }
        w += r1 - r0;
        out.frames.push((f as u8, table[f].rows));
    }
    out.ts.truncate(w);
    out.delta.truncate(w);
    out.line.truncate(w);
    out.source.truncate(w);
    std::mem::swap(&mut out.offs, &mut out.scratch);
    Ok(())
}

/// Size of the text dictionary of a segment (LZ4 looks back at most 64 KiB).
pub const DICT_BYTES: usize = 64 * 1024;

/// The text dictionary of a segment: rows sampled evenly over the whole segment, newest
/// last (LZ4 prefers recent bytes), up to [`DICT_BYTES`]. Log lines repeat their templates,
/// so a few hundred sampled lines make every block compress as if it had a long history.
fn build_dictionary<'a>(rows: &'a [RowMeta], text: impl Fn(&'a RowMeta) -> &'a [u8]) -> Vec<u8> {
    let mut dict = Vec::with_capacity(DICT_BYTES);
    if rows.is_empty() {
        return dict;
    }
    let total: usize = rows.iter().map(|r| r.len as usize + 1).sum();
    // Rounded up, so that the sample spans the whole segment and does not fill up early.
    let step = total.div_ceil(DICT_BYTES).max(1);
    // Take every `step`-th byte's row: rows in proportion to their share of the text.
    let mut acc = 0usize;
    let mut next = 0usize;
    for r in rows {
        if acc >= next {
            let t = text(r);
            let room = DICT_BYTES - dict.len();
            if room == 0 {
                break;
            }
            dict.extend_from_slice(&t[..t.len().min(room.saturating_sub(1))]);
            if dict.len() < DICT_BYTES {
                dict.push(b'\n');
            }
            next = acc + step * (t.len() + 1).max(1);
        }
        acc += r.len as usize + 1;
    }
    dict
}

/// Largest block (rows / uncompressed text) a reader accepts, to bound allocations on corrupt input.
const MAX_BLOCK_ROWS: u32 = 1 << 20;
const MAX_BLOCK_TEXT: u32 = 1 << 30;

#[derive(Debug, Clone, Copy)]
struct RowMeta {
    ts: Nanos,
    delta: i64,
    line: u64,
    source: SourceId,
    len: u32,
    off: u64,
}

/// What a finished segment contains; recorded in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentStats {
    /// Number of rows.
    pub rows: u32,
    /// Smallest timestamp.
    pub min_ts: Nanos,
    /// Largest timestamp.
    pub max_ts: Nanos,
    /// Uncompressed text bytes.
    pub text_bytes: u64,
    /// Size of the segment file.
    pub file_bytes: u64,
}

/// Accumulates records in memory, then writes them as one sorted, indexed segment.
#[derive(Debug, Default)]
pub struct SegmentBuilder {
    rows: Vec<RowMeta>,
    text: Vec<u8>,
    opts: SegmentOptions,
}

/// A writer that tracks its position and the CRC of the current section.
struct SectionWriter<W: Write> {
    inner: W,
    pos: u64,
    crc: crc32fast::Hasher,
}

impl<W: Write> SectionWriter<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<()> {
        self.inner.write_all(b)?;
        self.crc.update(b);
        self.pos += b.len() as u64;
        Ok(())
    }
    fn begin(&mut self) -> u64 {
        self.crc = crc32fast::Hasher::new();
        self.pos
    }
    fn end(&mut self, id: SectionId, start: u64) -> SectionEntry {
        let crc = std::mem::take(&mut self.crc).finalize();
        SectionEntry { id: id as u32, offset: start, len: self.pos - start, crc }
    }
}

impl SegmentBuilder {
    /// An empty builder.
    pub fn new(opts: SegmentOptions) -> Self {
        SegmentBuilder { rows: Vec::new(), text: Vec::new(), opts }
    }

    /// Adds one record. Records may come in any order; `finish` sorts them.
    pub fn push(&mut self, ts: Nanos, delta: i64, source: SourceId, line: u64, text: &[u8]) {
        let off = self.text.len() as u64;
        self.text.extend_from_slice(text);
        self.rows.push(RowMeta { ts, delta, line, source, len: text.len() as u32, off });
    }

    /// Number of records pushed so far.
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// Bytes of text pushed so far.
    pub fn text_bytes(&self) -> usize {
        self.text.len()
    }

    /// True when nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Sorts, indexes, compresses and writes the segment to `out`. Row ids are assigned in
    /// `(ts, source, line)` order, which keeps the source order of equal timestamps.
    pub fn write_to<W: Write>(&mut self, out: W) -> io::Result<SegmentStats> {
        let res = self.write_sorted(out);
        // Keep the allocations for the next segment.
        self.rows.clear();
        self.text.clear();
        res
    }

    fn write_sorted<W: Write>(&mut self, out: W) -> io::Result<SegmentStats> {
        if self.rows.len() > u32::MAX as usize - 1 {
            return Err(io::Error::other("too many rows for one segment"));
        }
        self.rows.sort_by_key(|a| (a.ts, a.source, a.line));
        let rows = &self.rows;
        let text = &self.text;
        let row_text = |r: &RowMeta| &text[r.off as usize..r.off as usize + r.len as usize];

        let mut w = SectionWriter { inner: out, pos: 0, crc: crc32fast::Hasher::new() };
        w.write(&format::encode_header(0))?;
        let mut sections = Vec::with_capacity(5);

        // DATA: blocks of (columns frame, text frame).
        let data_start = w.begin();
        let mut blocks: Vec<BlockEntry> = Vec::new();
        let mut cols: Vec<u8> = Vec::new();
        let mut btext: Vec<u8> = Vec::new();
        let mut tbuf: Vec<u8> = Vec::new();
        let mut frame_ends: Vec<usize> = Vec::with_capacity(FRAMES_PER_BLOCK as usize);
        let dict = build_dictionary(rows, |r| row_text(r));
        let mut lz4 = super::lz4::DictCompressor::new(&dict)?;
        let mut fbuf: Vec<u8> = Vec::new();
        let mut table = TokenTable::default();
        let mut set = BlockSet::default();
        let block_rows = self.opts.block_rows.clamp(1, MAX_BLOCK_ROWS as usize);
        let mut i = 0;
        while i < rows.len() {
            let first = i;
            let mut tbytes = 0usize;
            while i < rows.len()
                && i - first < block_rows
                && (i == first || tbytes < self.opts.block_text_bytes)
            {
                tbytes += rows[i].len as usize;
                i += 1;
            }
            let block = &rows[first..i];
            btext.clear();
            let block_id = u32::try_from(blocks.len())
                .ok()
                .filter(|b| *b < MAX_BLOCKS)
                .ok_or_else(|| io::Error::other("too many blocks for one segment"))?;
            // Rows that lie back to back in the buffer (the usual case: sorted input) are
            // compressed in place; otherwise they are gathered first.
            let contiguous = block.windows(2).all(|w| w[0].off + u64::from(w[0].len) == w[1].off);
            // Frames: a frame closes after the row that brings it to FRAME_TEXT_BYTES, and
            // the last of FRAMES_PER_BLOCK frames takes the rest of the block.
            frame_ends.clear();
            let mut frame = 0u32;
            let mut fbytes = 0usize;
            for (k, r) in block.iter().enumerate() {
                let t = row_text(r);
                if !contiguous {
                    btext.extend_from_slice(t);
                }
                tokenizer::for_each_index_term(t, |tok| set.insert(tok, frame));
                fbytes += t.len();
                if fbytes >= self.opts.frame_text_bytes
                    && frame + 1 < FRAMES_PER_BLOCK
                    && k + 1 < block.len()
                {
                    frame_ends.push(k + 1);
                    frame += 1;
                    fbytes = 0;
                }
            }
            frame_ends.push(block.len());
            let raw: &[u8] = if contiguous {
                let (a, z) = (
                    block[0].off as usize,
                    (block[block.len() - 1].off + u64::from(block[block.len() - 1].len)) as usize,
                );
                &text[a..z]
            } else {
                &btext
            };
            table.add_block(&mut set, block_id);
            if raw.len() > MAX_BLOCK_TEXT as usize {
                return Err(io::Error::other("record too large for a block"));
            }
            cols.clear();
            encode_columns(block, &mut cols);
            // Frame table, then the frames: LZ4 blocks against the segment dictionary.
            tbuf.clear();
            cols.push(frame_ends.len() as u8);
            let (mut row0, mut byte0) = (0usize, 0usize);
            for &end in &frame_ends {
                let len: usize = block[row0..end].iter().map(|r| r.len as usize).sum();
                let ftext = &raw[byte0..byte0 + len];
                lz4.compress(ftext, &mut fbuf)?;
                tbuf.extend_from_slice(&fbuf);
                let clen = fbuf.len();
                put_var((end - row0) as u64, &mut cols);
                put_var(clen as u64, &mut cols);
                cols.extend_from_slice(&format::crc32(ftext).to_le_bytes());
                row0 = end;
                byte0 += len;
            }
            let cols_offset = w.pos - data_start;
            w.write(&cols)?;
            w.write(&tbuf)?;
            blocks.push(BlockEntry {
                first_row: first as u32,
                rows: block.len() as u32,
                min_ts: block[0].ts,
                max_ts: block[block.len() - 1].ts,
                cols_offset,
                cols_len: cols.len() as u32,
                text_len: tbuf.len() as u32,
                text_raw_len: raw.len() as u32,
                cols_crc: format::crc32(&cols),
            });
        }
        sections.push(w.end(SectionId::Data, data_start));

        // DICT
        let start = w.begin();
        w.write(&dict)?;
        sections.push(w.end(SectionId::Dict, start));

        // BLOCKS
        let start = w.begin();
        let mut buf = Vec::with_capacity(blocks.len() * BLOCK_ENTRY_LEN);
        for b in &blocks {
            b.encode_into(&mut buf);
        }
        w.write(&buf)?;
        sections.push(w.end(SectionId::Blocks, start));

        // Token index: token → sorted block ids.
        let n_tokens = table.len();
        let (arena, toks) = table.into_sorted();
        let tok_bytes = |t: &SortedToken| &arena[t.off as usize..(t.off + t.len) as usize];

        // TOKENS: n u32, (n+1) u32 offsets, bytes.
        let start = w.begin();
        buf.clear();
        buf.extend_from_slice(&(n_tokens as u32).to_le_bytes());
        let mut off = 0u32;
        buf.extend_from_slice(&off.to_le_bytes());
        for t in &toks {
            off += t.len;
            buf.extend_from_slice(&off.to_le_bytes());
        }
        for t in &toks {
            buf.extend_from_slice(tok_bytes(t));
        }
        w.write(&buf)?;
        sections.push(w.end(SectionId::Tokens, start));

        // POSTINGS: (n+1) u32 offsets, then one list per token: a delta-varint list, or a
        // portable roaring bitmap when that is smaller (dense lists).
        let start = w.begin();
        let mut blobs = Vec::new();
        let mut offs = Vec::with_capacity((toks.len() + 1) * 4);
        offs.extend_from_slice(&0u32.to_le_bytes());
        let mut list = Vec::new();
        for t in &toks {
            list.clear();
            encode_id_list(t.ids(), t.count(), &mut list);
            if t.count() > 16 {
                let bm = RoaringBitmap::from_sorted_iter(t.ids())
                    .map_err(|e| io::Error::other(format!("postings not sorted: {e}")))?;
                if bm.serialized_size() + 1 < list.len() {
                    list.clear();
                    list.push(POSTINGS_ROARING);
                    bm.serialize_into(&mut list)?;
                }
            }
            blobs.extend_from_slice(&list);
            let end = u32::try_from(blobs.len())
                .map_err(|_| io::Error::other("postings exceed 4 GiB in one segment"))?;
            offs.extend_from_slice(&end.to_le_bytes());
        }
        w.write(&offs)?;
        w.write(&blobs)?;
        sections.push(w.end(SectionId::Postings, start));

        // META
        let mut sources: Vec<SourceId> = rows.iter().map(|r| r.source).collect();
        sources.sort_unstable();
        sources.dedup();
        let meta = Meta {
            rows: rows.len() as u32,
            blocks: blocks.len() as u32,
            min_ts: rows.first().map_or(0, |r| r.ts),
            max_ts: rows.last().map_or(0, |r| r.ts),
            text_bytes: text.len() as u64,
            tokens: n_tokens as u32,
            tokenizer_version: TOKENIZER_VERSION,
            sources: sources.len() as u32,
            reserved: 0,
        };
        let start = w.begin();
        w.write(&meta.encode())?;
        sections.push(w.end(SectionId::Meta, start));

        // Section table + footer.
        sections.sort_by_key(|s| s.id);
        let table = format::encode_section_table(&sections);
        let table_offset = w.pos;
        w.write(&table)?;
        w.write(&format::encode_footer(table_offset, table.len() as u32, format::crc32(&table)))?;
        w.inner.flush()?;
        Ok(SegmentStats {
            rows: meta.rows,
            min_ts: meta.min_ts,
            max_ts: meta.max_ts,
            text_bytes: meta.text_bytes,
            file_bytes: w.pos,
        })
    }
}

/// A predicate on one token, evaluated against the dictionary of a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenMatch {
    /// The token equals these bytes.
    Exact(Vec<u8>),
    /// The token starts with these bytes.
    Prefix(Vec<u8>),
    /// The token ends with these bytes.
    Suffix(Vec<u8>),
    /// The token contains these bytes.
    Contains(Vec<u8>),
    /// The block holds a token longer than the indexed maximum.
    LongMarker,
}

/// Tag of a posting list stored as delta varints.
const POSTINGS_LIST: u8 = 0;
/// Tag of a posting list stored as a portable roaring bitmap.
const POSTINGS_ROARING: u8 = 1;

fn put_varint(mut v: u32, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(b: &[u8], pos: &mut usize) -> Option<u32> {
    let mut v: u32 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        if shift == 28 && byte > 0x0f {
            return None;
        }
        v |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Encodes a strictly increasing id list: tag, count, first id, then gaps, all LEB128.
fn encode_id_list(ids: impl Iterator<Item = u32>, count: usize, out: &mut Vec<u8>) {
    out.push(POSTINGS_LIST);
    put_varint(count as u32, out);
    let mut prev = 0u32;
    for (k, id) in ids.enumerate() {
        put_varint(if k == 0 { id } else { id - prev }, out);
        prev = id;
    }
}

fn decode_id_list(b: &[u8]) -> Option<RoaringBitmap> {
    let mut pos = 0;
    let n = get_varint(b, &mut pos)?;
    let mut prev = 0u32;
    let mut ids = Vec::with_capacity((n as usize).min(b.len()));
    for k in 0..n {
        let v = get_varint(b, &mut pos)?;
        let id = if k == 0 { v } else { prev.checked_add(v).filter(|_| v > 0)? };
        ids.push(id);
        prev = id;
    }
    if pos != b.len() {
        return None;
    }
    RoaringBitmap::from_sorted_iter(ids).ok()
}

/// A decoded block: columns and text of its rows (all of them, or those of the frames
/// asked for; see [`DecodedBlock::frames`]).
#[derive(Debug, Default, Clone)]
pub struct DecodedBlock {
    /// Row id of the block's first row (in the segment).
    pub first_row: u32,
    /// Timestamps.
    pub ts: Vec<Nanos>,
    /// Deltas to the previous record of the same source.
    pub delta: Vec<i64>,
    /// 1-based line numbers.
    pub line: Vec<u64>,
    /// Source ids.
    pub source: Vec<SourceId>,
    /// Text offsets: row `i` is `text[offs[i]..offs[i + 1]]`.
    pub offs: Vec<u32>,
    /// Concatenated texts.
    pub text: Vec<u8>,
    /// The frames decoded, in row order: (frame number, rows of that frame in this block).
    pub frames: Vec<(u8, u32)>,
    cols: Vec<u8>,
    scratch: Vec<u32>,
    /// Decoding buffer: a segment's dictionary, then room for one frame.
    lz4: Vec<u8>,
    /// The segment (its [`Segment::uid`]) whose dictionary `lz4` holds.
    lz4_dict: Option<u64>,
    dec: DecoderSlot,
}

/// A zstd decompression context kept with the buffers: creating one per block costs as much
/// as decompressing a small block.
#[derive(Default)]
struct DecoderSlot(Option<zstd::bulk::Decompressor<'static>>);

impl std::fmt::Debug for DecoderSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecoderSlot")
    }
}

impl Clone for DecoderSlot {
    fn clone(&self) -> Self {
        DecoderSlot(None)
    }
}

impl DecodedBlock {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ts.len()
    }
    /// True when the block has no rows.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }
    /// Row `i` of the block (0-based within the block).
    pub fn record(&self, i: usize) -> Record<'_> {
        Record {
            ts: self.ts[i],
            delta: self.delta[i],
            source: self.source[i],
            line: self.line[i],
            text: &self.text[self.offs[i] as usize..self.offs[i + 1] as usize],
        }
    }
}

/// Source of [`Segment::uid`]s.
static NEXT_UID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A segment opened for reading. Opening checks the header, footer, section table and META
/// (cheap); [`Segment::verify`] checks every checksum and invariant.
#[derive(Clone)]
pub struct Segment {
    bytes: SharedBytes,
    meta: Meta,
    blocks: (usize, usize),
    data: (usize, usize),
    tokens: (usize, usize),
    postings: (usize, usize),
    table: Vec<SectionEntry>,
    n_tokens: usize,
    name: String,
    /// Format version of this segment (1: zstd text frames; 2: LZ4 + DICT).
    version: u32,
    /// Unique for each opened segment in this process (never reused).
    uid: u64,
    dict: (usize, usize),
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment").field("meta", &self.meta).finish_non_exhaustive()
    }
}

fn corrupt(msg: impl Into<String>) -> StoreError {
    StoreError::corrupt(msg.into())
}

impl Segment {
    /// Opens a segment from its bytes.
    pub fn open(bytes: SharedBytes) -> Result<Self, StoreError> {
        let b: &[u8] = (*bytes).as_ref();
        if b.len() < HEADER_LEN + FOOTER_LEN {
            return Err(corrupt(format!("file too short ({} bytes)", b.len())));
        }
        let (version, _) = format::decode_header(&b[..HEADER_LEN])?;
        let (toff, tlen, tcrc) = format::decode_footer(&b[b.len() - FOOTER_LEN..])?;
        let tend = (toff as usize).checked_add(tlen as usize);
        if toff < HEADER_LEN as u64 || tend != Some(b.len() - FOOTER_LEN) {
            return Err(corrupt("section table position out of range"));
        }
        let tbytes = &b[toff as usize..b.len() - FOOTER_LEN];
        if format::crc32(tbytes) != tcrc {
            return Err(corrupt("section table checksum mismatch"));
        }
        let table = format::decode_section_table(tbytes)?;
        for e in &table {
            if e.offset < HEADER_LEN as u64
                || e.offset.checked_add(e.len).is_none_or(|end| end > toff)
            {
                return Err(corrupt(format!("section {} out of range", e.id)));
            }
        }
        let find = |id: SectionId| -> Result<(usize, usize), StoreError> {
            let e = table
                .iter()
                .find(|e| e.id == id as u32)
                .ok_or_else(|| corrupt(format!("missing section {}", id.name())))?;
            let end = e.offset.checked_add(e.len).filter(|end| *end <= toff);
            if e.offset < HEADER_LEN as u64 || end.is_none() {
                return Err(corrupt(format!("section {} out of range", id.name())));
            }
            Ok((e.offset as usize, e.len as usize))
        };
        let m = find(SectionId::Meta)?;
        let meta = Meta::decode(&b[m.0..m.0 + m.1])?;
        let blocks = find(SectionId::Blocks)?;
        if blocks.1 != meta.blocks as usize * BLOCK_ENTRY_LEN {
            return Err(corrupt("BLOCKS length does not match META"));
        }
        let data = find(SectionId::Data)?;
        let tokens = find(SectionId::Tokens)?;
        let postings = find(SectionId::Postings)?;
        let dict = if version >= 2 { find(SectionId::Dict)? } else { (HEADER_LEN, 0) };
        if version >= 2 && (dict.1 > DICT_BYTES || meta.blocks > MAX_BLOCKS) {
            return Err(corrupt("DICT larger than 64 KiB or too many blocks"));
        }
        let tb = &b[tokens.0..tokens.0 + tokens.1];
        let n_tokens = format::Cursor::new(tb, "TOKENS").u32()? as usize;
        if n_tokens != meta.tokens as usize
            || tb.len() < 4 + (n_tokens + 1) * 4
            || postings.1 < (n_tokens + 1) * 4
        {
            return Err(corrupt("TOKENS/POSTINGS sizes do not match META"));
        }
        debug_assert_eq!(META_LEN, m.1);
        Ok(Segment {
            bytes,
            meta,
            blocks,
            data,
            tokens,
            postings,
            table,
            n_tokens,
            name: String::new(),
            version,
            dict,
            uid: NEXT_UID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// The format version this segment was written with.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Names the segment (its path) for error messages.
    pub fn with_name(mut self, name: String) -> Self {
        self.name = name;
        self
    }

    /// The name given with [`Segment::with_name`] (empty if none).
    pub fn name(&self) -> &str {
        &self.name
    }

    fn buf(&self) -> &[u8] {
        (*self.bytes).as_ref()
    }

    fn section(&self, r: (usize, usize)) -> &[u8] {
        &self.buf()[r.0..r.0 + r.1]
    }

    /// Segment statistics.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// Total size of the segment in bytes.
    pub fn file_len(&self) -> usize {
        self.buf().len()
    }

    /// Number of blocks.
    pub fn block_count(&self) -> usize {
        self.meta.blocks as usize
    }

    /// The index entry of block `i`.
    pub fn block_entry(&self, i: usize) -> Result<BlockEntry, StoreError> {
        BlockEntry::decode_at(self.section(self.blocks), i)
    }

    /// Decompresses block `i` into `out` (its buffers are reused).
    pub fn read_block(&self, i: usize, out: &mut DecodedBlock) -> Result<(), StoreError> {
        self.read_block_frames(i, ALL_FRAMES, out)
    }

    /// Decompresses the rows of block `i` that lie in the frames of `mask` (bit `f` selects
    /// frame `f`; see [`Segment::frames_matching`]). Rows of other frames are left out of
    /// `out`. Version-1 blocks have one frame, always read whole.
    pub fn read_block_frames(
        &self,
        i: usize,
        mask: u32,
        out: &mut DecodedBlock,
    ) -> Result<(), StoreError> {
        self.decode_block(i, out, Some(mask))
            .map_err(|e| e.in_file(std::path::Path::new(&self.name)))
    }

    /// Decompresses only the columns of block `i` (no text: `out.record()` must not be used).
    pub fn read_columns(&self, i: usize, out: &mut DecodedBlock) -> Result<(), StoreError> {
        self.decode_block(i, out, None).map_err(|e| e.in_file(std::path::Path::new(&self.name)))
    }

    /// Decodes block `i`: columns always, and the text of the frames in `text` (none: no
    /// text at all).
    fn decode_block(
        &self,
        i: usize,
        out: &mut DecodedBlock,
        text: Option<u32>,
    ) -> Result<(), StoreError> {
        let e = self.block_entry(i)?;
        if e.rows == 0 || e.rows > MAX_BLOCK_ROWS || e.text_raw_len > MAX_BLOCK_TEXT {
            return Err(corrupt(format!("block {i}: implausible size")));
        }
        let data = self.section(self.data);
        let c0 = e.cols_offset as usize;
        let c1 = c0.checked_add(e.cols_len as usize);
        let t1 = c1.and_then(|c1| c1.checked_add(e.text_len as usize));
        let (Some(c1), Some(t1)) = (c1, t1) else {
            return Err(corrupt(format!("block {i}: offsets overflow")));
        };
        if t1 > data.len() {
            return Err(corrupt(format!("block {i}: frames out of range")));
        }
        out.first_row = e.first_row;
        out.frames.clear();
        if self.version >= 2 {
            let dict = (self.section(self.dict), self.uid);
            return decode_v2(out, &data[c0..c1], &data[c1..t1], &e, dict, text)
                .map_err(|m| corrupt(format!("block {i}: {m}")));
        }
        let n = e.rows as usize;
        let mut slot = std::mem::take(&mut out.dec);
        let dec = match slot.0.as_mut() {
            Some(d) => d,
            None => slot.0.insert(
                zstd::bulk::Decompressor::new()
                    .map_err(|err| corrupt(format!("zstd init: {err}")))?,
            ),
        };
        let res = Self::decompress_v1(dec, out, data, (c0, c1, t1), n, &e, i, text.is_some());
        out.dec = slot;
        if res.is_ok() {
            out.frames.push((0, e.rows));
        }
        res
    }

    /// Version 1: a zstd column frame of fixed-width columns and a zstd text frame.
    #[allow(clippy::too_many_arguments)]
    fn decompress_v1(
        dec: &mut zstd::bulk::Decompressor<'static>,
        out: &mut DecodedBlock,
        data: &[u8],
        (c0, c1, t1): (usize, usize, usize),
        n: usize,
        e: &BlockEntry,
        i: usize,
        with_text: bool,
    ) -> Result<(), StoreError> {
        out.cols.resize(n * COLUMN_BYTES_PER_ROW, 0);
        let got = dec
            .decompress_to_buffer(&data[c0..c1], &mut out.cols[..])
            .map_err(|err| corrupt(format!("block {i}: columns: {err}")))?;
        if got != n * COLUMN_BYTES_PER_ROW {
            return Err(corrupt(format!("block {i}: column frame has {got} bytes")));
        }
        out.text.clear();
        if with_text {
            out.text.resize(e.text_raw_len as usize, 0);
            let got = dec
                .decompress_to_buffer(&data[c1..t1], &mut out.text[..])
                .map_err(|err| corrupt(format!("block {i}: text: {err}")))?;
            if got != e.text_raw_len as usize {
                return Err(corrupt(format!("block {i}: text frame has {got} bytes")));
            }
        }
        let cols = &out.cols;
        let u64_at = |k: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&cols[k * 8..k * 8 + 8]);
            u64::from_le_bytes(a)
        };
        let u32_at = |base: usize, k: usize| {
            let p = base + k * 4;
            u32::from_le_bytes([cols[p], cols[p + 1], cols[p + 2], cols[p + 3]])
        };
        out.ts.clear();
        out.delta.clear();
        out.line.clear();
        out.source.clear();
        out.offs.clear();
        let mut ts = e.min_ts;
        for k in 0..n {
            ts = ts.wrapping_add(u64_at(k) as i64);
            out.ts.push(ts);
        }
        out.delta.extend((0..n).map(|k| u64_at(n + k) as i64));
        out.line.extend((0..n).map(|k| u64_at(2 * n + k)));
        let sbase = 3 * n * 8;
        out.source.extend((0..n).map(|k| u32_at(sbase, k)));
        let lbase = sbase + n * 4;
        let mut off = 0u64;
        out.offs.push(0);
        for k in 0..n {
            off += u64::from(u32_at(lbase, k));
            out.offs.push(off.min(u64::from(u32::MAX)) as u32);
        }
        if off != u64::from(e.text_raw_len) {
            return Err(corrupt(format!("block {i}: lengths do not add up to the text size")));
        }
        Ok(())
    }

    /// Number of distinct tokens.
    pub fn token_count(&self) -> usize {
        self.n_tokens
    }

    /// Token `i` of the sorted dictionary.
    pub fn token(&self, i: usize) -> Result<&[u8], StoreError> {
        let tb = self.section(self.tokens);
        let n = self.n_tokens;
        let base = 4 + (n + 1) * 4;
        let rd = |k: usize| -> Result<usize, StoreError> {
            let p = 4 + k * 4;
            tb.get(p..p + 4)
                .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
                .ok_or_else(|| corrupt("TOKENS: offset out of range"))
        };
        let (a, z) = (rd(i)?, rd(i + 1)?);
        if i >= n || a > z || base + z > tb.len() {
            return Err(corrupt(format!("TOKENS: token {i} out of range")));
        }
        Ok(&tb[base + a..base + z])
    }

    /// Index of `token` in the dictionary, by binary search.
    pub fn find_token(&self, token: &[u8]) -> Result<Option<usize>, StoreError> {
        let (mut lo, mut hi) = (0usize, self.n_tokens);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.token(mid)?.cmp(token) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(mid)),
            }
        }
        Ok(None)
    }

    /// The frames containing token `i`, as frame ids (`block * FRAMES_PER_BLOCK + frame`).
    /// A version-1 segment indexes whole blocks: each of its blocks yields every frame id.
    pub fn postings(&self, i: usize) -> Result<RoaringBitmap, StoreError> {
        let ids = self.stored_postings(i)?;
        if self.version >= 2 {
            return Ok(ids);
        }
        if ids.max().is_some_and(|b| b >= MAX_BLOCKS) {
            return Err(corrupt(format!("POSTINGS: list {i}: block id out of range")));
        }
        let frames = ids.iter().flat_map(|b| {
            let f = b * FRAMES_PER_BLOCK;
            f..f + FRAMES_PER_BLOCK
        });
        RoaringBitmap::from_sorted_iter(frames).map_err(|e| corrupt(format!("POSTINGS: {e}")))
    }

    /// Posting list `i` as stored: block ids (version 1) or frame ids (version 2).
    fn stored_postings(&self, i: usize) -> Result<RoaringBitmap, StoreError> {
        let pb = self.section(self.postings);
        let n = self.n_tokens;
        let rd = |k: usize| -> Result<usize, StoreError> {
            let p = k * 4;
            let s = pb.get(p..p + 4).ok_or_else(|| corrupt("POSTINGS: offset out of range"))?;
            Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
        };
        let base = (n + 1) * 4;
        let (a, z) = (rd(i)?, rd(i + 1)?);
        if i >= n || a >= z || base.saturating_add(z) > pb.len() {
            return Err(corrupt(format!("POSTINGS: list {i} out of range")));
        }
        let blob = &pb[base + a..base + z];
        let bad = |e: &dyn std::fmt::Display| corrupt(format!("POSTINGS: list {i}: {e}"));
        match blob[0] {
            POSTINGS_LIST => decode_id_list(&blob[1..]).ok_or_else(|| bad(&"bad varint list")),
            POSTINGS_ROARING => RoaringBitmap::deserialize_from(&blob[1..]).map_err(|e| bad(&e)),
            t => Err(bad(&format!("unknown list tag {t}"))),
        }
    }

    /// Frames (ids as in [`Segment::postings`]) whose rows may hold a token matching `m`:
    /// exactly the frames holding a matching indexed token, plus, for partial matches, the
    /// frames holding an over-long token.
    pub fn frames_matching(&self, m: &TokenMatch) -> Result<RoaringBitmap, StoreError> {
        let long = || self.frames_with_token(tokenizer::LONG_TOKEN_MARKER);
        match m {
            TokenMatch::Exact(w) => self.frames_with_token(w),
            TokenMatch::LongMarker => long(),
            TokenMatch::Prefix(w) => {
                let mut acc = long()?;
                // Tokens starting with w form one range of the sorted dictionary.
                let (mut lo, mut hi) = (0usize, self.n_tokens);
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if self.token(mid)? < w.as_slice() {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                let mut i = lo;
                while i < self.n_tokens && self.token(i)?.starts_with(w) {
                    acc |= self.postings(i)?;
                    i += 1;
                }
                Ok(acc)
            }
            TokenMatch::Suffix(w) | TokenMatch::Contains(w) => {
                let mut acc = long()?;
                if w.is_empty() {
                    return Ok(acc);
                }
                let suffix = matches!(m, TokenMatch::Suffix(_));
                let tb = self.section(self.tokens);
                let n = self.n_tokens;
                let base = 4 + (n + 1) * 4;
                let off = |k: usize| -> usize {
                    let p = 4 + k * 4;
                    tb.get(p..p + 4).map_or(usize::MAX, |s| {
                        u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize
                    })
                };
                let bytes = tb.get(base..).unwrap_or(&[]);
                let mut last: Option<usize> = None;
                // Overlapping search: tokens are concatenated, so an occurrence that straddles
                // two tokens must not hide one that starts inside it.
                let finder = memchr::memmem::Finder::new(w);
                let mut from = 0usize;
                while let Some(at) = finder.find(&bytes[from..]) {
                    let pos = from + at;
                    from = pos + 1;
                    // The token holding `pos`: the last k with off(k) <= pos.
                    let (mut lo, mut hi) = (0usize, n);
                    while lo < hi {
                        let mid = lo + (hi - lo) / 2;
                        if off(mid + 1) <= pos {
                            lo = mid + 1;
                        } else {
                            hi = mid;
                        }
                    }
                    let k = lo;
                    if k >= n || last == Some(k) {
                        continue;
                    }
                    let end = off(k + 1);
                    let fits = if suffix { pos + w.len() == end } else { pos + w.len() <= end };
                    if fits {
                        last = Some(k);
                        acc |= self.postings(k)?;
                    }
                }
                Ok(acc)
            }
        }
    }

    /// Frames (ids as in [`Segment::postings`]) that contain a row with exactly `token`
    /// (empty when absent).
    pub fn frames_with_token(&self, token: &[u8]) -> Result<RoaringBitmap, StoreError> {
        match self.find_token(token)? {
            Some(i) => self.postings(i),
            None => Ok(RoaringBitmap::new()),
        }
    }

    /// Blocks that contain a row with exactly `token` (empty when absent).
    pub fn blocks_with_token(&self, token: &[u8]) -> Result<RoaringBitmap, StoreError> {
        let frames = self.frames_with_token(token)?;
        Ok(frames.iter().map(|f| f / FRAMES_PER_BLOCK).collect())
    }

    /// Checks every checksum and invariant: section CRCs, block order and time bounds, row
    /// sort order, and that the token index equals a fresh tokenization of the text.
    pub fn verify(&self) -> Result<VerifyStats, StoreError> {
        let b = self.buf();
        for e in &self.table {
            let s = &b[e.offset as usize..(e.offset + e.len) as usize];
            if format::crc32(s) != e.crc {
                let name = SectionId::from_u32(e.id).map_or("unknown", |s| s.name());
                return Err(corrupt(format!("section {name}: checksum mismatch")));
            }
        }
        let mut blk = DecodedBlock::default();
        let mut expect_row = 0u32;
        let mut prev: Option<(Nanos, SourceId, u64)> = None;
        let mut text_bytes = 0u64;
        let mut index: HashMap<Vec<u8>, Vec<u32>> = HashMap::new();
        for i in 0..self.block_count() {
            let e = self.block_entry(i)?;
            if e.first_row != expect_row {
                return Err(corrupt(format!(
                    "block {i}: first row {} != {expect_row}",
                    e.first_row
                )));
            }
            self.read_block(i, &mut blk)?;
            // The id each row is indexed under: its block (version 1) or frame (version 2).
            let mut ids = Vec::with_capacity(blk.len());
            for &(f, rows) in &blk.frames {
                let id = if self.version >= 2 {
                    i as u32 * FRAMES_PER_BLOCK + u32::from(f)
                } else {
                    i as u32
                };
                ids.extend(std::iter::repeat_n(id, rows as usize));
            }
            if ids.len() != blk.len() {
                return Err(corrupt(format!("block {i}: frames do not cover the rows")));
            }
            for (k, &id) in ids.iter().enumerate() {
                let r = blk.record(k);
                let key = (r.ts, r.source, r.line);
                if prev.is_some_and(|p| p > key) {
                    return Err(corrupt(format!(
                        "block {i}: rows out of order at row {}",
                        e.first_row as usize + k
                    )));
                }
                prev = Some(key);
                tokenizer::for_each_index_term(r.text, |t| {
                    let l = index.entry(t.to_vec()).or_default();
                    if l.last() != Some(&id) {
                        l.push(id);
                    }
                });
                text_bytes += r.text.len() as u64;
            }
            if blk.ts.first() != Some(&e.min_ts) || blk.ts.last() != Some(&e.max_ts) {
                return Err(corrupt(format!("block {i}: time bounds do not match rows")));
            }
            expect_row += e.rows;
        }
        let m = &self.meta;
        if expect_row != m.rows || text_bytes != m.text_bytes {
            return Err(corrupt("row or byte totals do not match META"));
        }
        if m.rows > 0 {
            let first = self.block_entry(0)?.min_ts;
            let last = self.block_entry(self.block_count() - 1)?.max_ts;
            if first != m.min_ts || last != m.max_ts {
                return Err(corrupt("META time range does not match blocks"));
            }
        }
        if m.tokenizer_version != TOKENIZER_VERSION {
            return Err(StoreError::Unsupported {
                found: m.tokenizer_version,
                oldest: TOKENIZER_VERSION,
                newest: TOKENIZER_VERSION,
            });
        }
        if index.len() != self.n_tokens {
            return Err(corrupt(format!(
                "index has {} tokens, text has {}",
                self.n_tokens,
                index.len()
            )));
        }
        let mut last: Option<&[u8]> = None;
        for i in 0..self.n_tokens {
            let t = self.token(i)?;
            if last.is_some_and(|l| l >= t) {
                return Err(corrupt(format!("TOKENS: not sorted at {i}")));
            }
            last = Some(t);
            let bm = self.stored_postings(i)?;
            let want =
                index.get(t).ok_or_else(|| corrupt(format!("TOKENS: token {i} not in text")))?;
            if bm.len() != want.len() as u64 || !bm.iter().eq(want.iter().copied()) {
                return Err(corrupt(format!("POSTINGS: list {i} differs from the text")));
            }
        }
        Ok(VerifyStats {
            rows: m.rows,
            blocks: m.blocks,
            tokens: m.tokens,
            text_bytes: m.text_bytes,
            file_bytes: b.len() as u64,
            min_ts: m.min_ts,
            max_ts: m.max_ts,
        })
    }
}

/// What [`Segment::verify`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct VerifyStats {
    /// Rows.
    pub rows: u32,
    /// Blocks.
    pub blocks: u32,
    /// Distinct tokens.
    pub tokens: u32,
    /// Uncompressed text bytes.
    pub text_bytes: u64,
    /// File size.
    pub file_bytes: u64,
    /// Smallest timestamp.
    pub min_ts: Nanos,
    /// Largest timestamp.
    pub max_ts: Nanos,
}

/// Fuzz entry point: open, verify and iterate arbitrary bytes; must never panic.
pub fn fuzz_check(data: &[u8]) {
    let Ok(seg) = Segment::open(Arc::new(data.to_vec())) else { return };
    let _ = seg.verify();
    let mut blk = DecodedBlock::default();
    for i in 0..seg.block_count().min(64) {
        if seg.read_block(i, &mut blk).is_ok() {
            for k in 0..blk.len() {
                let _ = blk.record(k);
            }
        }
        // Partial reads, with a mask taken from the data (one frame, or several).
        let mask = data.get(i).map_or(ALL_FRAMES, |b| u32::from(*b) & ALL_FRAMES);
        if seg.read_block_frames(i, mask, &mut blk).is_ok() {
            for k in 0..blk.len() {
                let _ = blk.record(k);
            }
        }
        let _ = seg.read_columns(i, &mut blk);
    }
    for i in 0..seg.token_count().min(64) {
        let _ = seg.token(i);
        let _ = seg.postings(i);
    }
    for m in [TokenMatch::Prefix(b"a".to_vec()), TokenMatch::Contains(b"e".to_vec())] {
        let _ = seg.frames_matching(&m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Row = (i64, i64, u32, u64, Vec<u8>);

    fn build(rows: &[Row], opts: SegmentOptions) -> Segment {
        let mut b = SegmentBuilder::new(opts);
        for (ts, d, s, l, t) in rows {
            b.push(*ts, *d, *s, *l, t);
        }
        let mut out = Vec::new();
        let st = b.write_to(&mut out).unwrap();
        assert_eq!(st.file_bytes as usize, out.len());
        Segment::open(Arc::new(out)).unwrap()
    }

    fn read_all(seg: &Segment) -> Vec<Row> {
        let mut blk = DecodedBlock::default();
        let mut v = Vec::new();
        for i in 0..seg.block_count() {
            seg.read_block(i, &mut blk).unwrap();
            for k in 0..blk.len() {
                let r = blk.record(k);
                v.push((r.ts, r.delta, r.source, r.line, r.text.to_vec()));
            }
        }
        v
    }

    fn text_strategy() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..40),
            "[a-c ]{0,12}( [A-C_0-9]{1,3}){0,4}".prop_map(String::into_bytes),
        ]
    }

    fn rows_strategy() -> impl Strategy<Value = Vec<Row>> {
        prop::collection::vec(
            (-5i64..5, any::<i64>(), 0u32..3, 1u64..1000, text_strategy()),
            0..120,
        )
        .prop_map(|v| {
            // Distinct (source, line) as in a real import.
            v.into_iter()
                .enumerate()
                .map(|(i, (ts, d, s, _, t))| (ts * 1_000_000_007, d, s, i as u64 + 1, t))
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever goes in comes out, sorted by (ts, source, line), and verify() agrees.
        #[test]
        fn round_trip(rows in rows_strategy(), brows in 1usize..9, btext in 1usize..64, ftext in 1usize..40) {
            let seg = build(&rows, SegmentOptions { block_text_bytes: btext, block_rows: brows, frame_text_bytes: ftext });
            let mut want = rows.clone();
            want.sort_by_key(|r| (r.0, r.2, r.3));
            prop_assert_eq!(read_all(&seg), want);
            let v = seg.verify().unwrap();
            prop_assert_eq!(v.rows as usize, rows.len());
        }

        /// Differential: the token index equals a naive scan of the text, for every token,
        /// and reading the frames it names yields exactly the rows of those frames.
        #[test]
        fn index_equals_naive_scan(rows in rows_strategy(), ftext in 1usize..24, mask in 0u32..16) {
            let seg = build(&rows, SegmentOptions { block_text_bytes: 48, block_rows: 8, frame_text_bytes: ftext });
            // Every stored row with its frame id, from whole-block reads.
            let mut stored: Vec<(u32, Row)> = Vec::new();
            let mut blk = DecodedBlock::default();
            for b in 0..seg.block_count() {
                seg.read_block(b, &mut blk).unwrap();
                let mut k = 0;
                for &(f, n) in &blk.frames {
                    for _ in 0..n {
                        let r = blk.record(k);
                        stored.push((b as u32 * FRAMES_PER_BLOCK + u32::from(f), (r.ts, r.delta, r.source, r.line, r.text.to_vec())));
                        k += 1;
                    }
                }
                prop_assert_eq!(k, blk.len());
                // A partial read returns the rows of the selected frames, in order.
                let mut part = DecodedBlock::default();
                seg.read_block_frames(b, mask, &mut part).unwrap();
                let want: Vec<Row> = stored.iter()
                    .filter(|(id, _)| *id / FRAMES_PER_BLOCK == b as u32 && mask & (1 << (*id % FRAMES_PER_BLOCK)) != 0)
                    .map(|(_, r)| r.clone()).collect();
                let got: Vec<Row> = (0..part.len()).map(|k| { let r = part.record(k); (r.ts, r.delta, r.source, r.line, r.text.to_vec()) }).collect();
                prop_assert_eq!(got, want);
            }
            let mut probes: Vec<Vec<u8>> = stored.iter().flat_map(|(_, r)| tokenizer::tokens(&r.4).into_iter().map(<[u8]>::to_vec)).collect();
            probes.extend([b"zz".to_vec(), b"a".to_vec(), b"".to_vec()]);
            for p in probes {
                let mut naive: Vec<u32> = stored.iter()
                    .filter(|(_, r)| tokenizer::tokens(&r.4).contains(&p.as_slice()))
                    .map(|(id, _)| *id).collect();
                naive.dedup();
                let got: Vec<u32> = seg.frames_with_token(&p).unwrap().iter().collect();
                prop_assert_eq!(&got, &naive, "token {:?}", String::from_utf8_lossy(&p));
                let mut blocks: Vec<u32> = naive.iter().map(|f| f / FRAMES_PER_BLOCK).collect();
                blocks.dedup();
                let got: Vec<u32> = seg.blocks_with_token(&p).unwrap().iter().collect();
                prop_assert_eq!(got, blocks);
            }
        }
    }

    #[test]
    fn empty_segment_round_trips() {
        let seg = build(&[], SegmentOptions::default());
        assert_eq!(seg.meta().rows, 0);
        assert_eq!(seg.block_count(), 0);
        seg.verify().unwrap();
    }

    #[test]
    fn every_single_byte_flip_is_detected_or_harmless() {
        let rows: Vec<Row> = (0..30)
            .map(|i| {
                (i as i64 * 1000, 1000, 0, i + 1, format!("msg {i} user=u{}", i % 4).into_bytes())
            })
            .collect();
        let mut b = SegmentBuilder::new(SegmentOptions {
            block_text_bytes: 100,
            block_rows: 8,
            frame_text_bytes: 30,
        });
        for (ts, d, s, l, t) in &rows {
            b.push(*ts, *d, *s, *l, t);
        }
        let mut bytes = Vec::new();
        b.write_to(&mut bytes).unwrap();
        for i in 0..bytes.len() {
            let mut c = bytes.clone();
            c[i] ^= 0x01;
            // Either open or verify must fail: every byte is covered by a check.
            let res = Segment::open(Arc::new(c)).and_then(|s| s.verify());
            assert!(res.is_err(), "flip at byte {i} of {} went unnoticed", bytes.len());
        }
    }
}
