//! NDJSON: one JSON object per line.
//!
//! Search rows: `{"time":"<RFC 3339, ns>","source":"<path>","line":N,"text":"..."}`. Text
//! that is not valid UTF-8 is written with U+FFFD replacements in `text` and, losslessly,
//! as base64 in an extra `"text_b64"` field.

use std::io::{self, Write};

use serde::Serialize;

use crate::analyze::search::SearchRow;
use crate::model::format_rfc3339;

#[derive(Serialize)]
struct SearchJson<'a> {
    time: String,
    source: &'a str,
    line: u64,
    text: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text_b64: Option<String>,
}

/// Writes one search row.
pub fn write_search_row<W: Write>(w: &mut W, row: &SearchRow<'_>, utc: bool) -> io::Result<()> {
    let (text, b64) = match std::str::from_utf8(row.text) {
        Ok(s) => (std::borrow::Cow::Borrowed(s), None),
        Err(_) => (String::from_utf8_lossy(row.text), Some(base64(row.text))),
    };
    let j = SearchJson {
        time: format_rfc3339(row.ts, utc),
        source: row.source_path,
        line: row.line,
        text,
        text_b64: b64,
    };
    serde_json::to_writer(&mut *w, &j)?;
    w.write_all(b"\n")
}

/// Writes any serializable value as one line.
pub fn write_value<W: Write, T: Serialize>(w: &mut W, v: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *w, v)?;
    w.write_all(b"\n")
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 { A[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if c.len() > 2 { A[n as usize & 63] as char } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn invalid_utf8_is_kept() {
        let row = SearchRow { ts: 0, source: 0, source_path: "a", line: 1, text: b"x\xffy" };
        let mut v = Vec::new();
        write_search_row(&mut v, &row, true).unwrap();
        let s = String::from_utf8(v).unwrap();
        assert_eq!(
            s,
            "{\"time\":\"1970-01-01T00:00:00.000000000Z\",\"source\":\"a\",\"line\":1,\"text\":\"x\u{fffd}y\",\"text_b64\":\"eP95\"}\n"
        );
    }
}
