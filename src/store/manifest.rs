//! The manifest: the list of live segments and the import state of every source.
//!
//! Stored as `MANIFEST` in the store directory: one header line
//! `TWSLA-MANIFEST <version> <json length> <crc32 hex>\n` followed by the JSON body. It is
//! replaced atomically (see [`super::storage::atomic_write`]), so a reader sees one commit or
//! the next, never a mix. See `segment-format/manifest.md`.

use serde::{Deserialize, Serialize};

use super::StoreError;
use super::format::{self, FORMAT_VERSION};
use super::tokenizer::TOKENIZER_VERSION;
use crate::model::{Nanos, SourceId};

/// Version of the manifest layout.
pub const MANIFEST_VERSION: u32 = 1;
const MAGIC: &str = "TWSLA-MANIFEST";

/// One live segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRef {
    /// Segment id; the file is `segments/seg-<id as 12 digits>.tws`.
    pub id: u64,
    /// Number of rows.
    pub rows: u32,
    /// Smallest timestamp (ns).
    pub min_ts: Nanos,
    /// Largest timestamp (ns).
    pub max_ts: Nanos,
    /// Uncompressed text bytes.
    pub text_bytes: u64,
    /// File size in bytes.
    pub file_bytes: u64,
}

impl SegmentRef {
    /// File name of the segment inside `segments/`.
    pub fn file_name(&self) -> String {
        segment_file_name(self.id)
    }
}

/// File name of segment `id`.
pub fn segment_file_name(id: u64) -> String {
    format!("seg-{id:012}.tws")
}

/// What the store remembers of one source, to make re-imports incremental.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceState {
    /// Dense id, as stored in every record.
    pub id: SourceId,
    /// Identity of the source: the absolute path, `archive:member`, or `stdin#N`.
    pub path: String,
    /// Bytes of (decompressed) content already imported; the next import starts there.
    pub consumed: u64,
    /// Lines already imported; the next import numbers from `lines + 1`.
    pub lines: u64,
    /// Records stored from this source so far.
    pub records: u64,
    /// Length of the prefix covered by `head_crc` (up to 4096 bytes).
    pub head_len: u32,
    /// CRC-32 of the first `head_len` bytes: detects a replaced or rotated file.
    pub head_crc: u32,
    /// Timestamp of the last record (for the delta of the next one); 0 when none.
    pub last_ts: Nanos,
    /// Length of the unterminated last line included in `consumed` (0 when the content
    /// ended with a line terminator). A later import skips the terminator that completes it.
    #[serde(default)]
    pub tail: u32,
    /// Some lines of the consumed range were not stored (filters, `-t`, over-long lines): the
    /// next import re-reads the source and stores only what is missing.
    #[serde(default)]
    pub partial: bool,
    /// An import was cancelled while reading this source: `consumed`, `lines`, `records` and
    /// `last_ts` describe the records stored up to a record boundary, and the next import of
    /// the source resumes there. Written only when true (older stores and builds lack it).
    #[serde(default, skip_serializing_if = "is_false")]
    pub incomplete: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl SourceState {
    /// A source seen for the first time: nothing imported yet.
    pub fn new(id: SourceId, path: String) -> Self {
        SourceState {
            id,
            path,
            consumed: 0,
            lines: 0,
            records: 0,
            head_len: 0,
            head_crc: 0,
            last_ts: 0,
            tail: 0,
            partial: false,
            incomplete: false,
        }
    }
}

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The newest segment format version any writer has committed into this store (segments
    /// of older versions may remain); a build that cannot write it refuses the store.
    pub format_version: u32,
    /// Tokenizer version of every segment.
    pub tokenizer_version: u32,
    /// Incremented by every commit.
    pub generation: u64,
    /// The next unused segment id.
    pub next_segment: u64,
    /// Live segments, in commit order.
    pub segments: Vec<SegmentRef>,
    /// Every source ever imported, indexed by id.
    pub sources: Vec<SourceState>,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            format_version: FORMAT_VERSION,
            tokenizer_version: TOKENIZER_VERSION,
            generation: 0,
            next_segment: 1,
            segments: Vec::new(),
            sources: Vec::new(),
        }
    }
}

impl Manifest {
    /// Serializes with the checksummed header line.
    pub fn encode(&self) -> Result<Vec<u8>, StoreError> {
        let body = serde_json::to_vec_pretty(self)
            .map_err(|e| StoreError::corrupt(format!("manifest: {e}")))?;
        let mut out =
            format!("{MAGIC} {MANIFEST_VERSION} {} {:08x}\n", body.len(), format::crc32(&body))
                .into_bytes();
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Parses and checks a manifest file.
    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let bad = |m: &str| StoreError::corrupt(format!("MANIFEST: {m}"));
        let nl = memchr::memchr(b'\n', bytes).ok_or_else(|| bad("no header line"))?;
        let header = std::str::from_utf8(&bytes[..nl]).map_err(|_| bad("header is not text"))?;
        let parts: Vec<&str> = header.split(' ').collect();
        let [magic, ver, len, crc] = parts[..] else { return Err(bad("malformed header")) };
        if magic != MAGIC {
            return Err(bad("bad magic"));
        }
        let ver: u32 = ver.parse().map_err(|_| bad("bad version"))?;
        if ver != MANIFEST_VERSION {
            return Err(StoreError::Unsupported {
                found: ver,
                oldest: MANIFEST_VERSION,
                newest: MANIFEST_VERSION,
            });
        }
        let len: usize = len.parse().map_err(|_| bad("bad length"))?;
        let crc = u32::from_str_radix(crc, 16).map_err(|_| bad("bad checksum field"))?;
        let body = &bytes[nl + 1..];
        if body.len() != len {
            return Err(bad("truncated body"));
        }
        if format::crc32(body) != crc {
            return Err(bad("checksum mismatch"));
        }
        let m: Manifest = serde_json::from_slice(body).map_err(|e| bad(&e.to_string()))?;
        if !(format::OLDEST_SUPPORTED..=FORMAT_VERSION).contains(&m.format_version) {
            return Err(StoreError::Unsupported {
                found: m.format_version,
                oldest: format::OLDEST_SUPPORTED,
                newest: FORMAT_VERSION,
            });
        }
        let mut ids: Vec<u64> = m.segments.iter().map(|s| s.id).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) || ids.last().is_some_and(|l| *l >= m.next_segment)
        {
            return Err(bad("segment ids are duplicated or not below next_segment"));
        }
        for (i, s) in m.sources.iter().enumerate() {
            if s.id as usize != i {
                return Err(bad("source ids are not dense"));
            }
        }
        Ok(m)
    }

    /// Total rows over all live segments.
    pub fn rows(&self) -> u64 {
        self.segments.iter().map(|s| u64::from(s.rows)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let mut m = Manifest { next_segment: 4, ..Manifest::default() };
        m.segments.push(SegmentRef {
            id: 3,
            rows: 10,
            min_ts: 1,
            max_ts: 2,
            text_bytes: 5,
            file_bytes: 99,
        });
        m.sources.push(SourceState {
            id: 0,
            path: "/x".into(),
            consumed: 1,
            lines: 2,
            records: 3,
            head_len: 4,
            head_crc: 5,
            last_ts: 6,
            tail: 7,
            partial: true,
            incomplete: false,
        });
        let enc = m.encode().unwrap();
        assert_eq!(Manifest::decode(&enc).unwrap(), m);
        // `incomplete` is written only when set, so stores without cancelled imports keep
        // the older layout; when set it round-trips.
        assert!(!String::from_utf8_lossy(&enc).contains("incomplete"));
        m.sources[0].incomplete = true;
        let enc2 = m.encode().unwrap();
        assert!(String::from_utf8_lossy(&enc2).contains("\"incomplete\": true"));
        assert_eq!(Manifest::decode(&enc2).unwrap(), m);
        let mut bad = enc.clone();
        let last = bad.len() - 3;
        bad[last] ^= 1;
        assert!(Manifest::decode(&bad).is_err());
        assert!(Manifest::decode(&enc[..enc.len() - 1]).is_err());
        assert!(Manifest::decode(b"").is_err());
    }
}
