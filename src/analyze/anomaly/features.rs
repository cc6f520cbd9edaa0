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
    walu_request(q, out);
    true
}

/// The 29 Walu features of the request text `q` (without its quotes).
pub fn walu_request(q: &[u8], out: &mut Vec<f64>) {
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
}

/// The request of an access-log line (Apache/nginx common or combined format, with any
/// prefix): the first quoted `"METHOD URI[ PROTO]"` whose method is 1 to 16 ASCII capitals,
/// with 2 or 3 space-separated fields and a protocol (if any) starting with `HTTP/`.
/// Returns the text between the quotes and the URI; `None` when the line has no such
/// request (it is not an access-log line).
pub fn find_request(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut at = 0;
    while let Some(p) = memchr::memchr(b'"', &line[at..]) {
        let open = at + p + 1;
        let rest = &line[open..];
        let close = memchr::memchr(b'"', rest)?;
        let q = &rest[..close];
        let mut f = q.split(|&b| b == b' ').filter(|f| !f.is_empty());
        if let (Some(m), Some(uri), proto, None) = (f.next(), f.next(), f.next(), f.next())
            && (1..=16).contains(&m.len())
            && m.iter().all(u8::is_ascii_uppercase)
            && proto.is_none_or(|p| p.starts_with(b"HTTP/"))
        {
            return Some((q, uri));
        }
        // The closing quote may open the request (`""GET ...""`): look again from it.
        at = open + close;
    }
    None
}

/// The request URI of an access-log line ([`find_request`]).
pub fn request_uri(line: &[u8]) -> Option<&[u8]> {
    find_request(line).map(|r| r.1)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// One round of percent-decoding: `%XX` becomes its byte; a `%` not followed by two hex
/// digits stays as it is. `true` if anything was decoded.
fn percent_decode_once(s: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    let mut any = false;
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%'
            && let (Some(h), Some(l)) =
                (s.get(i + 1).copied().and_then(hex), s.get(i + 2).copied().and_then(hex))
        {
            out.push(h << 4 | l);
            any = true;
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    any
}

/// A request URI as a server sees it, and as an attacker's payload reads: `+` becomes a
/// space, then up to three rounds of percent-decoding (double encoding, `%252E` → `.`),
/// then ASCII lower case (`UNION SELECT` = `union select`). Malformed escapes stay literal;
/// decoded bytes that are not UTF-8 stay bytes.
pub fn decode_uri(uri: &[u8]) -> Vec<u8> {
    let mut cur: Vec<u8> = uri.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
    let mut next = Vec::with_capacity(cur.len());
    for _ in 0..3 {
        if !percent_decode_once(&cur, &mut next) {
            break;
        }
        std::mem::swap(&mut cur, &mut next);
    }
    cur.make_ascii_lowercase();
    cur
}

/// The text that `--part request` analyses: the decoded request URI of an access-log line
/// ([`request_uri`], [`decode_uri`]), or the whole line when it is not one.
pub fn request_text(line: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match request_uri(line) {
        Some(uri) => std::borrow::Cow::Owned(decode_uri(uri)),
        None => std::borrow::Cow::Borrowed(line),
    }
}

/// The keys of a keyword mode as they read in a decoded URI: `%20` and `+` are spaces,
/// `&#039` is `'`, and upper case is lower case.
pub fn decoded_keys(keys: &[&str]) -> Vec<Vec<u8>> {
    keys.iter()
        .map(|k| k.replace("%20", " ").replace('+', " ").replace("&#039", "'").to_ascii_lowercase())
        .map(String::into_bytes)
        .collect()
}

/// Occurrences of `word` in `text` as a whole word: an end of `word` that is an ASCII letter
/// or digit must not touch another one (`or` in `?a=1 or 1` but not in `/source`; `/dev` in
/// `/dev/null` but not in `/devopsdays`; `;` anywhere).
pub fn count_word(text: &[u8], word: &[u8]) -> usize {
    let (Some(first), Some(last)) = (word.first(), word.last()) else { return 0 };
    let (check_before, check_after) = (first.is_ascii_alphanumeric(), last.is_ascii_alphanumeric());
    let free = |b: Option<&u8>| b.is_none_or(|b| !b.is_ascii_alphanumeric());
    let mut n = 0;
    let mut at = 0;
    while let Some(p) = memchr::memmem::find(&text[at..], word) {
        let (s, e) = (at + p, at + p + word.len());
        if (!check_before || free(s.checked_sub(1).and_then(|i| text.get(i))))
            && (!check_after || free(text.get(e)))
        {
            n += 1;
            at = e;
        } else {
            at = s + 1;
        }
    }
    n
}

/// Counts of `keys` in a decoded request `text` as whole words ([`count_word`]), then one
/// more value, their total.
pub fn keyword_vector_bytes(text: &[u8], keys: &[Vec<u8>], out: &mut Vec<f64>) {
    let start = out.len();
    out.extend(keys.iter().map(|k| count_word(text, k) as f64));
    let total = out[start..].iter().sum();
    out.push(total);
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

    #[test]
    fn request_extraction_and_decoding() {
        let combined = br#"1.2.3.4 - - [30/Sep/2021:11:11:54 +0200] "GET /foo?a=%20UNION%20select+1 HTTP/1.1" 404 162 "http://x/?q=a&b=c" "Mozilla/5.0 (X11; Linux)""#;
        assert_eq!(request_uri(combined), Some(&b"/foo?a=%20UNION%20select+1"[..]));
        assert_eq!(&*request_text(combined), b"/foo?a= union select 1");
        // Common format, no protocol (HTTP/0.9), and a vhost or syslog prefix.
        assert_eq!(request_uri(b"h - - [x] \"GET /a\" 200 1"), Some(&b"/a"[..]));
        assert_eq!(
            request_uri(
                b"Sep 15 nginx[1]: memze.ro 1.2.3.4 - - [x] \"POST /wp-login.php HTTP/1.1\" 200"
            ),
            Some(&b"/wp-login.php"[..])
        );
        // A line wrapped in one more pair of quotes.
        assert_eq!(
            request_uri(b"\"1.2.3.4 - - [x] \"\"GET /b HTTP/1.1\"\" 200 5\""),
            Some(&b"/b"[..])
        );
        // Not access-log lines: the whole line is analysed.
        for line in [
            &b"[core:error] AH00126: Invalid URI in request GET /cgi-bin/.%2e/etc/passwd HTTP/1.1"
                [..],
            b"say \"hello world\" to me",
            b"a \"get /x HTTP/1.1\" lower-case method",
            b"\"GET /x HTTP/1.1 never closed",
            b"\"GET /x FTP/1\" 200",
            b"",
        ] {
            assert_eq!(request_uri(line), None, "{}", String::from_utf8_lossy(line));
            assert_eq!(&*request_text(line), line);
        }
        // Decoding: + is a space, double encoding, case, malformed escapes stay literal.
        for (raw, want) in [
            (&b"/%2fetc%2Fpasswd"[..], &b"//etc/passwd"[..]),
            (b"/%252E%252E%252Ffoo1", b"/../foo1"),
            (b"/cgi-bin/.%2E/%2e%2e/bin/sh", b"/cgi-bin/../../bin/sh"),
            (b"/a?q=1+OR+1=1--", b"/a?q=1 or 1=1--"),
            (b"/100%", b"/100%"),
            (b"/%zz%4", b"/%zz%4"),
            (b"/%%41", b"/%a"),
            (b"/%2", b"/%2"),
            (b"/%ff%FE", b"/\xff\xfe"),
            (b"/%25252525", b"/%25"),
        ] {
            assert_eq!(decode_uri(raw), want, "{}", String::from_utf8_lossy(raw));
        }
        // Keys in their decoded form.
        let keys = decoded_keys(&["rm%20", "&#039", "/lost+found", "UNION"]);
        assert_eq!(keys, [&b"rm "[..], b"'", b"/lost found", b"union"]);
        let mut v = Vec::new();
        keyword_vector_bytes(&decode_uri(b"/x?c=rm%20-rf%20/;RM+x%27"), &keys, &mut v);
        assert_eq!(v, [2.0, 1.0, 0.0, 0.0, 3.0], "the counts, then their total");
        // Words count only between non-alphanumerics.
        assert_eq!(count_word(b"/source?a=1 or 1 or(2)", b"or"), 2);
        assert_eq!(count_word(b"or", b"or"), 1);
        assert_eq!(count_word(b"oror", b"or"), 0);
        assert_eq!(count_word(b"x", b""), 0);
        assert_eq!(count_word(b"/devopsdays /dev/null /dev", b"/dev"), 2);
        assert_eq!(count_word(b"farm -rf; rm -rf", b"rm "), 1);
        assert_eq!(count_word(b"a;;b", b";"), 2);
    }
}
