//! LZ4 blocks compressed against a shared dictionary, through liblz4 (bundled and built by
//! `lz4-sys`).
//!
//! Why the C library and not a pure-Rust port: a segment compresses tens of thousands of
//! 4 KiB frames against one 64 KiB dictionary. liblz4 hashes the dictionary once
//! (`LZ4_loadDictSlow`) and attaches it to each frame without copying
//! (`LZ4_attach_dictionary`), where the ports we measured re-hash the whole dictionary for
//! every frame; and its decoder is faster on dictionary frames (see
//! `segment-format/CHANGELOG.md`). `lz4-sys` declares only part of the API, so the few
//! functions used here are declared below; the static library it links contains them.
//!
//! Safety: `LZ4_decompress_safe_usingDict` never reads outside `src` or writes outside
//! `dst[..dst_capacity]`, whatever the input (it is liblz4's "safe" decoder, fuzzed
//! upstream); every length passed is checked to fit a C `int`.

#![allow(unsafe_code)]

use std::os::raw::{c_char, c_int};

use lz4_sys::{LZ4_createStream, LZ4_freeStream, LZ4StreamEncode};

unsafe extern "C" {
    fn LZ4_loadDictSlow(stream: *mut LZ4StreamEncode, dict: *const c_char, size: c_int) -> c_int;
    fn LZ4_resetStream_fast(stream: *mut LZ4StreamEncode);
    fn LZ4_attach_dictionary(work: *mut LZ4StreamEncode, dict: *const LZ4StreamEncode);
    fn LZ4_compress_fast_continue(
        stream: *mut LZ4StreamEncode,
        src: *const c_char,
        dst: *mut c_char,
        src_size: c_int,
        dst_capacity: c_int,
        acceleration: c_int,
    ) -> c_int;
    fn LZ4_decompress_safe_usingDict(
        src: *const c_char,
        dst: *mut c_char,
        src_size: c_int,
        dst_capacity: c_int,
        dict: *const c_char,
        dict_size: c_int,
    ) -> c_int;
}

/// Largest input liblz4 accepts (`LZ4_MAX_INPUT_SIZE`).
const MAX_INPUT: usize = 0x7E00_0000;

/// Upper bound of the compressed size of `n` input bytes (`LZ4_COMPRESSBOUND`).
pub fn bound(n: usize) -> usize {
    n + n / 255 + 16
}

/// Compresses many independent blocks against one dictionary.
pub struct DictCompressor {
    /// The dictionary bytes; the dictionary stream points into them, so they live on the
    /// heap, are never modified, and are dropped after the streams.
    dict: Box<[u8]>,
    dict_stream: *mut LZ4StreamEncode,
    work: *mut LZ4StreamEncode,
}

impl DictCompressor {
    /// Prepares `dict` (at most 64 KiB are used: LZ4's window).
    pub fn new(dict: &[u8]) -> std::io::Result<Self> {
        let dict: Box<[u8]> = dict[dict.len().saturating_sub(64 * 1024)..].into();
        // SAFETY: plain allocations; null is checked below, and Drop frees them.
        let (dict_stream, work) = unsafe { (LZ4_createStream(), LZ4_createStream()) };
        let c = DictCompressor { dict, dict_stream, work };
        if c.dict_stream.is_null() || c.work.is_null() {
            return Err(std::io::Error::other("lz4: out of memory"));
        }
        // SAFETY: the stream is valid; the dictionary (<= 64 KiB) outlives it (field order
        // and Drop) and is never mutated.
        unsafe {
            LZ4_loadDictSlow(c.dict_stream, c.dict.as_ptr().cast(), c.dict.len() as c_int);
        }
        Ok(c)
    }

    /// Compresses `src` into `dst` (cleared first), as one LZ4 block that refers to the
    /// dictionary.
    pub fn compress(&mut self, src: &[u8], dst: &mut Vec<u8>) -> std::io::Result<()> {
        if src.len() > MAX_INPUT {
            return Err(std::io::Error::other("lz4: frame too large"));
        }
        let cap = bound(src.len());
        dst.clear();
        dst.resize(cap, 0);
        // SAFETY: both streams are valid and the dictionary stream was loaded; src and dst
        // are live slices whose lengths (checked to fit c_int) are passed.
        let n = unsafe {
            LZ4_resetStream_fast(self.work);
            LZ4_attach_dictionary(self.work, self.dict_stream);
            LZ4_compress_fast_continue(
                self.work,
                src.as_ptr().cast(),
                dst.as_mut_ptr().cast(),
                src.len() as c_int,
                cap as c_int,
                1,
            )
        };
        if n <= 0 && !src.is_empty() {
            return Err(std::io::Error::other("lz4: compression failed"));
        }
        dst.truncate(n.max(0) as usize);
        Ok(())
    }
}

impl Drop for DictCompressor {
    fn drop(&mut self) {
        // SAFETY: created by LZ4_createStream, freed once.
        unsafe {
            LZ4_freeStream(self.work);
            LZ4_freeStream(self.dict_stream);
        }
    }
}

/// Decompresses one LZ4 block written against `dict` into `dst`; returns the number of
/// bytes written, or `None` if the block is malformed or does not fit `dst`.
pub fn decompress(src: &[u8], dst: &mut [u8], dict: &[u8]) -> Option<usize> {
    if src.len() > MAX_INPUT || dst.len() > MAX_INPUT || dict.len() > MAX_INPUT {
        return None;
    }
    // SAFETY: the safe decoder reads at most src.len() bytes of src and the dict, and
    // writes at most dst.len() bytes to dst; all three are live slices.
    let n = unsafe {
        LZ4_decompress_safe_usingDict(
            src.as_ptr().cast(),
            dst.as_mut_ptr().cast(),
            src.len() as c_int,
            dst.len() as c_int,
            dict.as_ptr().cast(),
            dict.len() as c_int,
        )
    };
    usize::try_from(n).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(dict in proptest::collection::vec(any::<u8>(), 0..2000),
                      src in proptest::collection::vec(0u8..4, 0..20000)) {
            let mut c = DictCompressor::new(&dict).unwrap();
            let mut z = Vec::new();
            c.compress(&src, &mut z).unwrap();
            let mut out = vec![0u8; src.len()];
            prop_assert_eq!(decompress(&z, &mut out, &dict), Some(src.len()));
            prop_assert_eq!(out, src);
        }

        #[test]
        fn garbage_never_panics(src in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut out = vec![0u8; 1000];
            let _ = decompress(&src, &mut out, b"some dictionary bytes");
        }
    }

    #[test]
    fn dictionary_helps_and_wrong_dictionary_fails() {
        let dict = b"Oct 15 10:00:01 host sshd[123]: Failed password for root from 10.0.0.1 port 22 ssh2\n".repeat(20);
        let src = b"Oct 15 10:00:02 host sshd[124]: Failed password for admin from 10.0.0.2 port 22 ssh2\n";
        let mut c = DictCompressor::new(&dict).unwrap();
        let mut z = Vec::new();
        c.compress(src, &mut z).unwrap();
        assert!(z.len() < src.len() / 2, "{} bytes", z.len());
        let mut out = vec![0u8; src.len()];
        assert_eq!(decompress(&z, &mut out, &dict), Some(src.len()));
        assert_eq!(&out[..], &src[..]);
        let other = vec![b'x'; dict.len()];
        let mut out2 = vec![0u8; src.len()];
        let ok = decompress(&z, &mut out2, &other) == Some(src.len()) && out2[..] == src[..];
        assert!(!ok);
        // The same compressor serves many frames.
        for _ in 0..3 {
            c.compress(src, &mut z).unwrap();
            assert_eq!(decompress(&z, &mut out, &dict), Some(src.len()));
        }
    }
}
