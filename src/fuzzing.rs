//! Fuzz target bodies. `fuzz/fuzz_targets/*` call these; the unit tests below replay every
//! file of `fuzz/corpus/<target>/` and `fuzz/artifacts/<target>/` so regressions are caught
//! by plain `cargo test` on stable.
//!
//! Each function must return normally for any input: errors are fine, panics are bugs.

use crate::ingest::timestamp::{TimestampParser, TsOptions};

/// Opens, verifies and iterates arbitrary bytes as a segment.
pub fn segment_open(data: &[u8]) {
    crate::store::segment::fuzz_check(data);
}

/// Runs timestamp inference on every line of `data`, after priming on it.
pub fn timestamp_infer(data: &[u8]) {
    for utc in [true, false] {
        let mut p =
            TimestampParser::new(TsOptions { utc, reference_ns: Some(1_700_000_000_000_000_000) });
        p.prime(data);
        for line in data.split(|b| *b == b'\n') {
            if let Some(r) = p.parse(line) {
                assert!(r.start <= r.end && r.end <= line.len(), "span out of the line");
            }
        }
    }
}

/// Decodes arbitrary bytes as a manifest.
pub fn manifest_decode(data: &[u8]) {
    if let Ok(m) = crate::store::Manifest::decode(data) {
        // What decodes must re-encode and decode to the same value.
        if let Ok(enc) = m.encode() {
            assert_eq!(crate::store::Manifest::decode(&enc).ok().as_ref(), Some(&m));
        }
    }
}

/// Reads arbitrary bytes as an import source (plain, gzip, zip, tar, tar.gz) into a sink.
pub fn archive_read(data: &[u8]) {
    crate::ingest::source::fuzz_container(data);
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    fn replay(target: &str, f: fn(&[u8])) -> usize {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut n = 0;
        for dir in [root.join("corpus").join(target), root.join("artifacts").join(target)] {
            let Ok(rd) = std::fs::read_dir(&dir) else { continue };
            let mut files: Vec<_> = rd.flatten().map(|e| e.path()).collect();
            files.sort();
            for p in files {
                let data = std::fs::read(&p).unwrap();
                f(&data);
                n += 1;
            }
        }
        n
    }

    /// Writes the seed corpora (run once with `--ignored`; the files are committed).
    #[test]
    #[ignore = "generates fuzz/corpus; run by hand"]
    fn generate_seed_corpus() {
        use std::io::Write;
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        let put = |t: &str, name: &str, data: &[u8]| {
            let d = root.join(t);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(name), data).unwrap();
        };
        // A small valid segment and truncated/flipped variants.
        let mut b = crate::store::SegmentBuilder::new(crate::store::SegmentOptions {
            block_text_bytes: 64,
            block_rows: 3,
            frame_text_bytes: 20,
        });
        for i in 0..10u64 {
            b.push(
                1_000 + i as i64 * 7,
                7,
                (i % 2) as u32,
                i + 1,
                format!("line {i} host=a{i} ok").as_bytes(),
            );
        }
        let mut seg = Vec::new();
        b.write_to(&mut seg).unwrap();
        let v = crate::store::format::FORMAT_VERSION;
        put("segment_open", &format!("valid-v{v}"), &seg);
        put("segment_open", &format!("truncated-v{v}"), &seg[..seg.len() / 2]);
        let mut flipped = seg.clone();
        flipped[40] ^= 0x55;
        put("segment_open", &format!("flipped-v{v}"), &flipped);
        put("segment_open", "empty", b"");
        // Timestamp lines: one of each style.
        put("timestamp_infer", "styles", b"Jun 14 15:16:01 combo sshd[1]: x\n2024-05-20T10:00:00.000Z host1 app\n- 1117838570 2005.06.03 R02 2005-06-03-15.42.50.675872 R02\n081109 203615 148 INFO dfs\n20171223-22:15:29:606|Step\n17/06/09 20:10:40 INFO\n03-17 16:13:38.811  1702\n[10.30 16:49:06] chrome.exe\n[Sun Dec 04 04:47:44 2005] [notice]\n10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET /\"\n2015-10-18 18:01:47,978 INFO\n");
        put(
            "timestamp_infer",
            "garbage",
            b"\xff\xfe 99/99/9999 25:61:61 Feb 30 00:00:00 2023-02-29T00:00:00Z",
        );
        // Manifest.
        let mut m = crate::store::Manifest::default();
        m.sources.push(crate::store::SourceState {
            id: 0,
            path: "/x".into(),
            consumed: 1,
            lines: 2,
            records: 3,
            head_len: 4,
            head_crc: 5,
            last_ts: 6,
            tail: 0,
            partial: false,
            incomplete: false,
        });
        put("manifest_decode", "valid", &m.encode().unwrap());
        put("manifest_decode", "bad", b"TWSLA-MANIFEST 1 2 00000000\n{}");
        // Archives.
        let text = b"Jun 14 15:16:01 combo a\nJun 14 15:16:02 combo b\ncontinued\n";
        put("archive_read", "text", text);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text).unwrap();
        let gz = gz.finish().unwrap();
        put("archive_read", "gzip", &gz);
        put("archive_read", "gzip_truncated", &gz[..gz.len() - 6]);
        let mut tarb = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tarb.append_data(&mut h, "a.log", &text[..]).unwrap();
        let tar = tarb.into_inner().unwrap();
        put("archive_read", "tar", &tar);
        let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zw.start_file("a.log", zip::write::SimpleFileOptions::default()).unwrap();
        zw.write_all(text).unwrap();
        zw.start_file("b.log.gz", zip::write::SimpleFileOptions::default()).unwrap();
        zw.write_all(&gz).unwrap();
        let z = zw.finish().unwrap().into_inner();
        put("archive_read", "zip", &z);
        put("archive_read", "zip_truncated", &z[..z.len() - 10]);
    }

    #[test]
    fn replay_segment_open() {
        assert!(replay("segment_open", super::segment_open) > 0, "no corpus for segment_open");
    }

    #[test]
    fn replay_timestamp_infer() {
        assert!(
            replay("timestamp_infer", super::timestamp_infer) > 0,
            "no corpus for timestamp_infer"
        );
    }

    #[test]
    fn replay_manifest_decode() {
        assert!(
            replay("manifest_decode", super::manifest_decode) > 0,
            "no corpus for manifest_decode"
        );
    }

    #[test]
    fn replay_archive_read() {
        assert!(replay("archive_read", super::archive_read) > 0, "no corpus for archive_read");
    }
}
