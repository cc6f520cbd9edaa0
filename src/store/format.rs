//! Constants and the pure (no I/O) codec of the segment file layout.
//!
//! The normative description is `segment-format/segment.md`; this module implements it and
//! every change here must be reflected there (and bump [`FORMAT_VERSION`]).
//!
//! ```text
//! +--------+-----------+-----------+-----+--------------+--------+
//! | Header | Section 0 | Section 1 | ... | SectionTable | Footer |
//! +--------+-----------+-----------+-----+--------------+--------+
//! ```
//!
//! All integers are little-endian.

use super::StoreError;

/// Magic at the start of every segment file.
pub const SEGMENT_MAGIC: &[u8; 8] = b"TWSLASEG";
/// Magic at the very end of every segment file.
pub const FOOTER_MAGIC: &[u8; 8] = b"TWSLAEND";
/// The segment format version this build writes.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest segment format version this build can read.
pub const OLDEST_SUPPORTED: u32 = 1;
/// Size of the fixed header: magic, version, flags.
pub const HEADER_LEN: usize = 16;
/// Size of the fixed footer: table offset, table length, table crc, magic.
pub const FOOTER_LEN: usize = 24;
/// Size of one section-table entry.
pub const SECTION_ENTRY_LEN: usize = 24;
/// Size of one block-index entry in the `BLOCKS` section.
pub const BLOCK_ENTRY_LEN: usize = 48;
/// Size of the `META` section.
pub const META_LEN: usize = 48;
/// Version 2: at most this many text frames per block. Index postings name frames:
/// `frame id = block * FRAMES_PER_BLOCK + frame`.
pub const FRAMES_PER_BLOCK: u32 = 4;
/// Version 2: a frame closes once it holds this many text bytes (at a row boundary).
pub const FRAME_TEXT_BYTES: usize = 4096;
/// Version 2: blocks per segment are limited so that frame ids fit in a `u32`.
pub const MAX_BLOCKS: u32 = u32::MAX / FRAMES_PER_BLOCK;
/// Version 1: bytes per row in a decompressed column frame: ts, delta, line (8 each), source,
/// len (4 each).
pub const COLUMN_BYTES_PER_ROW: usize = 32;

/// Section identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u32)]
pub enum SectionId {
    /// Fixed-size segment statistics ([`Meta`]).
    Meta = 1,
    /// The block index: one [`BlockEntry`] per block.
    Blocks = 2,
    /// Columns and text frames of every block.
    Data = 3,
    /// The sorted token dictionary.
    Tokens = 4,
    /// One posting list per token: frame ids (version 2) or block ids (version 1).
    Postings = 5,
    /// The text dictionary (version 2): LZ4 text frames refer to it.
    Dict = 6,
}

impl SectionId {
    /// Every known section.
    pub const ALL: [SectionId; 6] = [
        SectionId::Meta,
        SectionId::Blocks,
        SectionId::Data,
        SectionId::Tokens,
        SectionId::Postings,
        SectionId::Dict,
    ];

    /// The section for a raw id, if known.
    pub fn from_u32(v: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| *s as u32 == v)
    }

    /// Human-readable name used in errors and `verify` output.
    pub fn name(self) -> &'static str {
        match self {
            SectionId::Meta => "META",
            SectionId::Blocks => "BLOCKS",
            SectionId::Data => "DATA",
            SectionId::Tokens => "TOKENS",
            SectionId::Postings => "POSTINGS",
            SectionId::Dict => "DICT",
        }
    }
}

/// One entry of the section table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionEntry {
    /// Raw section id (see [`SectionId`]).
    pub id: u32,
    /// Byte offset of the section from the start of the file.
    pub offset: u64,
    /// Length of the section in bytes.
    pub len: u64,
    /// CRC-32 (IEEE) of the section bytes.
    pub crc: u32,
}

/// The `META` section: statistics of the whole segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Meta {
    /// Number of rows (records).
    pub rows: u32,
    /// Number of blocks.
    pub blocks: u32,
    /// Smallest timestamp (ns); 0 when empty.
    pub min_ts: i64,
    /// Largest timestamp (ns); 0 when empty.
    pub max_ts: i64,
    /// Sum of the uncompressed text lengths.
    pub text_bytes: u64,
    /// Number of distinct tokens in the dictionary.
    pub tokens: u32,
    /// Version of the tokenizer that built the index.
    pub tokenizer_version: u32,
    /// Number of distinct sources among the rows.
    pub sources: u32,
    /// Reserved, written as 0.
    pub reserved: u32,
}

/// One entry of the `BLOCKS` section. A block holds rows `first_row..first_row + rows`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockEntry {
    /// Row id of the first row of the block.
    pub first_row: u32,
    /// Number of rows in the block.
    pub rows: u32,
    /// Timestamp of the first row (rows are sorted, so the smallest).
    pub min_ts: i64,
    /// Timestamp of the last row (the largest).
    pub max_ts: i64,
    /// Offset of the block's columns, relative to the start of the `DATA` section.
    pub cols_offset: u64,
    /// Length of the columns (version 2: varints and frame table; version 1: a zstd frame);
    /// the text follows them directly.
    pub cols_len: u32,
    /// Compressed length of the text (version 2: all its LZ4 frames; version 1: one zstd
    /// frame).
    pub text_len: u32,
    /// Uncompressed length of the block's text.
    pub text_raw_len: u32,
    /// Version 2: CRC-32 of the column bytes (columns and frame table), checked on every
    /// read. Version 1: 0 (its zstd frames carry their own checksums).
    pub cols_crc: u32,
}

/// Little-endian readers over a byte slice that report truncation as corruption.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Cursor { buf, pos: 0, what }
    }
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len()).ok_or_else(|| {
            StoreError::corrupt(format!("{}: truncated at byte {}", self.what, self.pos))
        })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    pub(crate) fn u32(&mut self) -> Result<u32, StoreError> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(crate) fn u64(&mut self) -> Result<u64, StoreError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    pub(crate) fn i64(&mut self) -> Result<i64, StoreError> {
        Ok(self.u64()? as i64)
    }
}

/// Encodes the header.
pub fn encode_header(flags: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(SEGMENT_MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&flags.to_le_bytes());
    h
}

/// Decodes and checks the header; returns (version, flags).
pub fn decode_header(buf: &[u8]) -> Result<(u32, u32), StoreError> {
    let mut c = Cursor::new(buf, "header");
    if c.bytes(8)? != SEGMENT_MAGIC {
        return Err(StoreError::corrupt("not a twsla segment (bad magic)".into()));
    }
    let version = c.u32()?;
    let flags = c.u32()?;
    if !(OLDEST_SUPPORTED..=FORMAT_VERSION).contains(&version) {
        return Err(StoreError::Unsupported {
            found: version,
            oldest: OLDEST_SUPPORTED,
            newest: FORMAT_VERSION,
        });
    }
    if flags != 0 {
        // No version defines flags yet; a set bit is corruption or a newer writer's feature.
        return Err(StoreError::corrupt(format!("header: unknown flags {flags:#x}")));
    }
    Ok((version, flags))
}

/// Encodes the section table.
pub fn encode_section_table(entries: &[SectionEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + entries.len() * SECTION_ENTRY_LEN);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries {
        out.extend_from_slice(&e.id.to_le_bytes());
        out.extend_from_slice(&e.offset.to_le_bytes());
        out.extend_from_slice(&e.len.to_le_bytes());
        out.extend_from_slice(&e.crc.to_le_bytes());
    }
    out
}

/// Decodes the section table.
pub fn decode_section_table(buf: &[u8]) -> Result<Vec<SectionEntry>, StoreError> {
    let mut c = Cursor::new(buf, "section table");
    let n = c.u32()? as usize;
    if n > 64 || buf.len() != 4 + n * SECTION_ENTRY_LEN {
        return Err(StoreError::corrupt(format!("section table: bad length for {n} entries")));
    }
    (0..n)
        .map(|_| Ok(SectionEntry { id: c.u32()?, offset: c.u64()?, len: c.u64()?, crc: c.u32()? }))
        .collect()
}

/// Encodes the footer.
pub fn encode_footer(table_offset: u64, table_len: u32, table_crc: u32) -> [u8; FOOTER_LEN] {
    let mut f = [0u8; FOOTER_LEN];
    f[..8].copy_from_slice(&table_offset.to_le_bytes());
    f[8..12].copy_from_slice(&table_len.to_le_bytes());
    f[12..16].copy_from_slice(&table_crc.to_le_bytes());
    f[16..24].copy_from_slice(FOOTER_MAGIC);
    f
}

/// Decodes the footer; returns (table offset, table length, table crc).
pub fn decode_footer(buf: &[u8]) -> Result<(u64, u32, u32), StoreError> {
    let mut c = Cursor::new(buf, "footer");
    let off = c.u64()?;
    let len = c.u32()?;
    let crc = c.u32()?;
    if c.bytes(8)? != FOOTER_MAGIC {
        return Err(StoreError::corrupt(
            "bad footer magic (truncated or partially written segment)".into(),
        ));
    }
    Ok((off, len, crc))
}

impl Meta {
    /// Encodes to exactly [`META_LEN`] bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(META_LEN);
        out.extend_from_slice(&self.rows.to_le_bytes());
        out.extend_from_slice(&self.blocks.to_le_bytes());
        out.extend_from_slice(&self.min_ts.to_le_bytes());
        out.extend_from_slice(&self.max_ts.to_le_bytes());
        out.extend_from_slice(&self.text_bytes.to_le_bytes());
        out.extend_from_slice(&self.tokens.to_le_bytes());
        out.extend_from_slice(&self.tokenizer_version.to_le_bytes());
        out.extend_from_slice(&self.sources.to_le_bytes());
        out.extend_from_slice(&self.reserved.to_le_bytes());
        out
    }
    /// Decodes from exactly [`META_LEN`] bytes.
    pub fn decode(buf: &[u8]) -> Result<Self, StoreError> {
        if buf.len() != META_LEN {
            return Err(StoreError::corrupt(format!("META: length {} != {META_LEN}", buf.len())));
        }
        let mut c = Cursor::new(buf, "META");
        Ok(Meta {
            rows: c.u32()?,
            blocks: c.u32()?,
            min_ts: c.i64()?,
            max_ts: c.i64()?,
            text_bytes: c.u64()?,
            tokens: c.u32()?,
            tokenizer_version: c.u32()?,
            sources: c.u32()?,
            reserved: c.u32()?,
        })
    }
}

impl BlockEntry {
    /// Appends the [`BLOCK_ENTRY_LEN`]-byte encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.first_row.to_le_bytes());
        out.extend_from_slice(&self.rows.to_le_bytes());
        out.extend_from_slice(&self.min_ts.to_le_bytes());
        out.extend_from_slice(&self.max_ts.to_le_bytes());
        out.extend_from_slice(&self.cols_offset.to_le_bytes());
        out.extend_from_slice(&self.cols_len.to_le_bytes());
        out.extend_from_slice(&self.text_len.to_le_bytes());
        out.extend_from_slice(&self.text_raw_len.to_le_bytes());
        out.extend_from_slice(&self.cols_crc.to_le_bytes());
    }
    /// Decodes entry `i` of a `BLOCKS` section.
    pub fn decode_at(section: &[u8], i: usize) -> Result<Self, StoreError> {
        let start = i * BLOCK_ENTRY_LEN;
        let buf = section
            .get(start..start + BLOCK_ENTRY_LEN)
            .ok_or_else(|| StoreError::corrupt(format!("BLOCKS: entry {i} out of range")))?;
        let mut c = Cursor::new(buf, "BLOCKS");
        Ok(BlockEntry {
            first_row: c.u32()?,
            rows: c.u32()?,
            min_ts: c.i64()?,
            max_ts: c.i64()?,
            cols_offset: c.u64()?,
            cols_len: c.u32()?,
            text_len: c.u32()?,
            text_raw_len: c.u32()?,
            cols_crc: c.u32()?,
        })
    }
}

/// CRC-32 (IEEE 802.3, as in gzip and zip) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_rejects() {
        let h = encode_header(0);
        assert_eq!(decode_header(&h).unwrap(), (FORMAT_VERSION, 0));
        let mut bad = h;
        bad[0] = b'X';
        assert!(decode_header(&bad).is_err());
        let mut future = h;
        future[8..12].copy_from_slice(&99u32.to_le_bytes());
        assert!(matches!(decode_header(&future), Err(StoreError::Unsupported { found: 99, .. })));
        assert!(decode_header(&h[..5]).is_err());
    }

    #[test]
    fn meta_and_block_round_trip() {
        let m = Meta {
            rows: 3,
            blocks: 1,
            min_ts: -5,
            max_ts: 9,
            text_bytes: 77,
            tokens: 4,
            tokenizer_version: 1,
            sources: 2,
            reserved: 0,
        };
        assert_eq!(Meta::decode(&m.encode()).unwrap(), m);
        let b = BlockEntry {
            first_row: 1,
            rows: 2,
            min_ts: 3,
            max_ts: 4,
            cols_offset: 5,
            cols_len: 6,
            text_len: 7,
            text_raw_len: 8,
            cols_crc: 9,
        };
        let mut v = Vec::new();
        b.encode_into(&mut v);
        assert_eq!(v.len(), BLOCK_ENTRY_LEN);
        assert_eq!(BlockEntry::decode_at(&v, 0).unwrap(), b);
        assert!(BlockEntry::decode_at(&v, 1).is_err());
    }

    #[test]
    fn table_and_footer_round_trip() {
        let t = vec![SectionEntry { id: 1, offset: 16, len: 48, crc: 7 }];
        let enc = encode_section_table(&t);
        assert_eq!(decode_section_table(&enc).unwrap(), t);
        assert!(decode_section_table(&enc[..enc.len() - 1]).is_err());
        let f = encode_footer(100, 28, 5);
        assert_eq!(decode_footer(&f).unwrap(), (100, 28, 5));
    }
}
