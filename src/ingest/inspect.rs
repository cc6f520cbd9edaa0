//! `import --mlInspect`: look at the head of a file and suggest multi-line settings.
//!
//! Fixes two upstream defects: the file inspected is the one named (not `-s`), and the
//! `--mlLines` suggestion is deterministic (the most frequent gap; ties go to the smaller).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Serialize;

use super::timestamp::{TimestampParser, TsOptions};

/// Lines looked at.
pub const INSPECT_LINES: usize = 100;

/// What the head of a file suggests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inspection {
    /// Lines read (at most [`INSPECT_LINES`]).
    pub lines: usize,
    /// Lines with a timestamp.
    pub timestamps: usize,
    /// `--mlStart` regex matching the start of the timestamped lines, when they all start
    /// with a timestamp of the same shape.
    pub ml_start: Option<String>,
    /// `--mlLines` suggestion: the most frequent distance between timestamped lines, if > 1.
    pub ml_lines: Option<usize>,
    /// `--mlSep` suggestion, when more than one line is empty or starts with `---`.
    pub ml_sep: Option<String>,
}

/// Generalises a timestamp's text into a regex: digits → `\d{n}`, letters → `[A-Za-z]+`,
/// blanks → `\s+`, anything else literal.
fn shape(text: &[u8]) -> String {
    let mut out = String::from("^");
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        let mut j = i + 1;
        if c.is_ascii_digit() {
            while j < text.len() && text[j].is_ascii_digit() {
                j += 1;
            }
            out.push_str(&format!("\\d{{{}}}", j - i));
        } else if c.is_ascii_alphabetic() {
            while j < text.len() && text[j].is_ascii_alphabetic() {
                j += 1;
            }
            out.push_str("[A-Za-z]+");
        } else if c == b' ' || c == b'\t' {
            while j < text.len() && (text[j] == b' ' || text[j] == b'\t') {
                j += 1;
            }
            out.push_str("\\s+");
        } else {
            let ch = char::from(c);
            if "\\.+*?()|[]{}^$#&-~/".contains(ch) {
                out.push('\\');
            }
            out.push(ch);
        }
        i = j;
    }
    out
}

/// Inspects the first lines of `r`.
pub fn inspect_reader(
    r: impl Read,
    utc: bool,
    reference_ns: Option<i64>,
) -> std::io::Result<Inspection> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut br = BufReader::new(r.take(16 << 20));
    let mut buf = Vec::new();
    while lines.len() < INSPECT_LINES {
        buf.clear();
        if br.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        lines.push(buf.clone());
    }
    let mut p = TimestampParser::new(TsOptions { utc, reference_ns });
    p.prime(&lines.join(&b'\n'));
    let mut ins = Inspection { lines: lines.len(), ..Inspection::default() };
    let mut idx = Vec::new();
    let mut shapes: Vec<String> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if let Some(ts) = p.parse(l) {
            idx.push(i);
            shapes.push(if ts.start == 0 { shape(&l[ts.start..ts.end]) } else { String::new() });
        }
    }
    ins.timestamps = idx.len();
    if idx.len() > 1 {
        if shapes.iter().all(|s| !s.is_empty() && *s == shapes[0]) {
            ins.ml_start = Some(shapes[0].clone());
        }
        let mut gaps: BTreeMap<usize, usize> = BTreeMap::new();
        for w in idx.windows(2) {
            *gaps.entry(w[1] - w[0]).or_default() += 1;
        }
        // Most frequent gap; BTreeMap order makes ties go to the smaller gap.
        let best = gaps
            .iter()
            .fold((0usize, 0usize), |acc, (g, n)| if *n > acc.1 { (*g, *n) } else { acc });
        if best.0 > 1 {
            ins.ml_lines = Some(best.0);
        }
    }
    let seps = lines.iter().filter(|l| l.is_empty() || l.starts_with(b"---")).count();
    if seps > 1 {
        ins.ml_sep = Some(if lines.iter().any(|l| l.starts_with(b"---")) {
            "^---".into()
        } else {
            "^$".into()
        });
    }
    Ok(ins)
}

/// Inspects a file (decompressing gzip by its magic bytes).
pub fn inspect_path(path: &Path, utc: bool) -> std::io::Result<Inspection> {
    let mut f = std::fs::File::open(path)?;
    let mtime = f
        .metadata()?
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_nanos()).ok());
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic)?;
    let f = std::fs::File::open(path)?;
    if n == 2 && magic == [0x1f, 0x8b] {
        inspect_reader(flate2::read::MultiGzDecoder::new(f), utc, mtime)
    } else {
        inspect_reader(f, utc, mtime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_log_suggestions() {
        let p = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/twsla-testlog/multi.log"
        ));
        let ins = inspect_path(p, true).unwrap();
        assert_eq!(ins.lines, 21);
        assert_eq!(ins.timestamps, 3);
        assert_eq!(ins.ml_start.as_deref(), Some(r"^\d{4}\/\d{2}\/\d{2}\s+\d{2}:\d{2}:\d{2}"));
        // Gaps are 3 and 4, once each: the tie goes to the smaller one.
        assert_eq!(ins.ml_lines, Some(3));
        assert_eq!(ins.ml_sep.as_deref(), Some("^---"));
    }

    #[test]
    fn one_record_per_line_suggests_nothing() {
        let ins =
            inspect_reader(&b"Jun 14 15:16:01 a\nJun 14 15:16:02 b\n"[..], true, None).unwrap();
        assert_eq!(ins.timestamps, 2);
        assert_eq!(ins.ml_start.as_deref(), Some(r"^[A-Za-z]+\s+\d{2}\s+\d{2}:\d{2}:\d{2}"));
        assert_eq!(ins.ml_lines, None);
        assert_eq!(ins.ml_sep, None);
    }
}
