//! Feature vectors of the anomaly modes (spec §6.5), one per log line.

/// The 28 keys of the `sql` mode.
pub const SQL_KEYS: &[&str] = &[
    "&#039",
    "*",
    ";",
    "%20",
    "--",
    "select",
    "delete",
    "create",
    "drop",
    "alter",
    "insert",
    "update",
    "set",
    "from",
    "where",
    "union",
    "all",
    "like",
    "and",
    "&",
    "or",
    "|",
    "user",
    "username",
    "passwd",
    "id",
    "admin",
    "information_schema",
];

/// The 31 keys of the `os` mode.
pub const OS_KEYS: &[&str] = &[
    "rm%20",
    "cat%20",
    "wget%20",
    "curl%20",
    "sudo%20",
    "ssh%20",
    "usermod%20",
    "useradd%20",
    "grep%20",
    "ls%20",
    ";",
    "|",
    "&",
    "/bin",
    "/dev",
    "/home",
    "/lib",
    "/misc",
    "/opt",
    "/root",
    "/tftpboot",
    "/usr",
    "/boot",
    "/etc",
    "/initrd",
    "/lost+found",
    "/mnt",
    "/proc",
    "/sbin",
    "/tmp",
    "/var",
];

/// The 21 keys of the `dir` mode.
pub const DIR_KEYS: &[&str] = &[
    "../",
    "..\\",
    ":\\",
    "/bin",
    "/dev",
    "/home",
    "/lib",
    "/misc",
    "/opt",
    "/root",
    "/tftpboot",
    "/usr",
    "/boot",
    "/etc/",
    "/initrd",
    "/lost+found",
    "/mnt",
    "/proc",
    "/sbin",
    "/tmp",
    "/var",
];

/// Non-overlapping occurrences of `needle` in `hay` (Go `strings.Count`; an empty needle
/// counts 0 here).
pub fn count(hay: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() {
        return 0;
    }
    let mut n = 0;
    let mut at = 0;
    while let Some(p) = memchr::memmem::find(&hay[at..], needle) {
        n += 1;
        at += p + needle.len();
    }
    n
}

/// Case-sensitive substring counts of `keys` in `line`.
pub fn keyword_vector(line: &[u8], keys: &[&str], out: &mut Vec<f64>) {
    out.extend(keys.iter().map(|k| count(line, k.as_bytes()) as f64));
}

fn chars(s: &[u8]) -> impl Iterator<Item = char> + '_ {
    s.utf8_chunks().flat_map(|c| {
        c.valid()
            .chars()
            .chain(std::iter::repeat_n('\u{fffd}', usize::from(!c.invalid().is_empty())))
    })
}

/// ASCII letters and digits in `s`.
pub fn alnum_count(s: &[u8]) -> usize {
    s.iter().filter(|b| b.is_ascii_alphanumeric()).count()
}

/// Characters of `s` that are not ASCII letters or digits.
pub fn non_alnum_count(s: &[u8]) -> usize {
    chars(s).filter(|c| !c.is_ascii_alphanumeric()).count()
}

/// The longest run of characters that are not ASCII letters or digits.
pub fn max_non_alnum_run(s: &[u8]) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in chars(s) {
        if c.is_ascii_alphanumeric() {
            run = 0;
        } else {
            run += 1;
            best = best.max(run);
        }
    }
    best
}

fn index_of(s: &[u8], b: u8) -> f64 {
    memchr::memchr(b, s).map_or(-1.0, |i| i as f64)
}

/// The 29 Walu features of the request between the first two `"` of `line` (spec §6.5);
/// `false` (and nothing pushed) when the line has no `"`.
pub fn walu_vector(line: &[u8], out: &mut Vec<f64>) -> bool {
    let Some(open) = memchr::memchr(b'"', line) else { return false };
    let rest = &line[open + 1..];
    let q = match memchr::memchr(b'"', rest) {
        Some(close) => &rest[..close],
        None => rest,
    };
    let fields: Vec<&[u8]> =
        q.split(|b| b.is_ascii_whitespace()).filter(|f| !f.is_empty()).collect();
    let (path, query): (&[u8], &[u8]) = match fields.get(1) {
        Some(f) => match memchr::memchr(b'?', f) {
            Some(i) => (&f[..i], &f[i + 1..]),
            None => (b"", b""),
        },
        None => (b"", b""),
    };
    let start = out.len();
    out.push(index_of(q, b'%'));
    out.push(index_of(q, b':'));
    for c in [b':', b'(', b';', b'%', b'/', b'\'', b'<', b'?', b'.', b'#'] {
        out.push(q.iter().filter(|&&x| x == c).count() as f64);
    }
    let both = |a: &str, b: &str| (count(q, a.as_bytes()) + count(q, b.as_bytes())) as f64;
    out.push(both("%3D", "%3d"));
    out.push(both("%2F", "%2f"));
    out.push(both("%5C", "%5c"));
    out.push(count(q, b"%25") as f64);
    out.push(count(q, b"%20") as f64);
    out.push(if q.starts_with(b"POST") { 1.0 } else { 0.0 });
    out.push((path.len() - alnum_count(path)) as f64);
    out.push((query.len() - alnum_count(query)) as f64);
    out.push(max_non_alnum_run(q) as f64);
    out.push(non_alnum_count(q) as f64);
    for k in ["/%", "//", "/.", "..", "=/", "./", "/?"] {
        out.push(count(q, k.as_bytes()) as f64);
    }
    debug_assert_eq!(out.len() - start, 29);
    true
}

/// The `pre*suf` window of `number` mode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NumberWindow {
    /// Keep the text after the first occurrence of this (if not empty).
    pub pre: String,
    /// Keep the text before the first occurrence of this (if not empty).
    pub suf: String,
}

impl NumberWindow {
    /// Parses `pre*suf` (split at the first `*`; without `*` the whole string is `pre`).
    pub fn parse(s: &str) -> NumberWindow {
        match s.split_once('*') {
            Some((p, q)) => NumberWindow { pre: p.into(), suf: q.into() },
            None => NumberWindow { pre: s.into(), suf: String::new() },
        }
    }
}

/// The numbers of `line` inside the window: every run of `[-+0-9.]` that parses as a float.
/// `false` when the window's `pre` or `suf` is missing.
pub fn number_vector(line: &[u8], w: &NumberWindow, out: &mut Vec<f64>) -> bool {
    let mut s = line;
    if !w.pre.is_empty() {
        match memchr::memmem::find(s, w.pre.as_bytes()) {
            Some(i) => s = &s[i + w.pre.len()..],
            None => return false,
        }
    }
    if !w.suf.is_empty() {
        match memchr::memmem::find(s, w.suf.as_bytes()) {
            Some(i) => s = &s[..i],
            None => return false,
        }
    }
    let is_num = |b: &u8| matches!(b, b'-' | b'+' | b'.' | b'0'..=b'9');
    let mut i = 0;
    while i < s.len() {
        if is_num(&s[i]) {
            let j = s[i..].iter().position(|b| !is_num(b)).map_or(s.len(), |p| i + p);
            // Only ASCII bytes, so this is valid UTF-8.
            if let Ok(t) = std::str::from_utf8(&s[i..j])
                && let Ok(v) = t.parse::<f64>()
            {
                out.push(v);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spec §10.1, anomaly helpers.
    #[test]
    fn upstream_helper_vectors() {
        for (s, n) in [("abc123ABC", 9), ("a!b@c#", 3), ("", 0), ("123 456", 6)] {
            assert_eq!(alnum_count(s.as_bytes()), n, "{s}");
        }
        for (s, n) in [("abc123ABC", 0), ("a!b@c#", 3), (" ", 1), ("", 0)] {
            assert_eq!(non_alnum_count(s.as_bytes()), n, "{s}");
        }
        for (s, n) in [("abc!!!def", 3), ("!!!abc!!!", 3), ("abc", 0), ("!!!", 3), ("", 0)] {
            assert_eq!(max_non_alnum_run(s.as_bytes()), n, "{s}");
        }
        let mut v = Vec::new();
        keyword_vector(
            b"select * from users where id = 1",
            &["select", "from", "where", "insert"],
            &mut v,
        );
        assert_eq!(v, [1.0, 1.0, 1.0, 0.0]);
    }

    #[test]
    fn sql_vector_of_the_select_line() {
        let mut v = Vec::new();
        keyword_vector(b"select * from users where id = 1", SQL_KEYS, &mut v);
        let want =
            [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0];
        assert_eq!(v, want.map(f64::from));
        assert_eq!((SQL_KEYS.len(), OS_KEYS.len(), DIR_KEYS.len()), (28, 31, 21));
    }

    #[test]
    fn walu_vector_of_the_spec_line() {
        let mut v = Vec::new();
        let line =
            br#"127.0.0.1 - - [04/May/2026:10:30:00 +0900] "GET /path?query=1 HTTP/1.1" 200 123"#;
        assert!(walu_vector(line, &mut v));
        let want = [
            -1, -1, 0, 0, 0, 0, 2, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 7, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(v, want.map(f64::from));
        let mut v = Vec::new();
        assert!(!walu_vector(b"no quote here", &mut v));
        assert!(v.is_empty());
        // An attack request: traversal and encoded separators.
        let mut v = Vec::new();
        assert!(walu_vector(b"x \"GET /a/../../etc/passwd?f=%2F%2f HTTP/1.0\" 404", &mut v));
        assert_eq!(v[0], 26.0); // first %
        assert_eq!(v[13], 2.0); // %2F + %2f
        assert_eq!(v[25], 2.0); // ".."
    }

    #[test]
    fn number_windows() {
        let w = NumberWindow::parse("start*end");
        assert_eq!(w, NumberWindow { pre: "start".into(), suf: "end".into() });
        let mut v = Vec::new();
        assert!(number_vector(b"11:00 start 0.1 0.2 1.4 end 7", &w, &mut v));
        assert_eq!(v, [0.1, 0.2, 1.4]);
        let mut v = Vec::new();
        assert!(!number_vector(b"11:00 0.1 end", &w, &mut v));
        let mut v = Vec::new();
        assert!(number_vector(b"a -3 b +2.5 c 1.2.3 d - e .", &NumberWindow::default(), &mut v));
        assert_eq!(v, [-3.0, 2.5]);
        assert_eq!(NumberWindow::parse("x"), NumberWindow { pre: "x".into(), suf: String::new() });
    }
}
