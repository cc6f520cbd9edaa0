//! Test harness: a temporary directory with a store path, a builder that runs the `twsla`
//! binary, and helpers to read the shared corpora and NDJSON output.

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde::Deserialize;

/// The shared corpora, read in place (never copied into the repository).
pub const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_twsla");

/// Defines an integration test that gets a fresh [`TestDir`].
///
/// ```ignore
/// twtest!(name, |dir| { ... });
/// twtest!(#[ignore = "BUG: ..."] name, |dir| { ... });
/// ```
macro_rules! twtest {
    ($(#[$meta:meta])* $name:ident, |$dir:ident| $body:block) => {
        $(#[$meta])*
        #[test]
        fn $name() {
            #[allow(unused_variables)]
            let $dir = $crate::util::TestDir::new(stringify!($name));
            $body
        }
    };
}
pub(crate) use twtest;

/// Absolute, canonical path of a corpus file (`rel` is relative to `shared/data`).
pub fn data(rel: &str) -> PathBuf {
    let p = Path::new(DATA).join(rel);
    fs::canonicalize(&p).unwrap_or_else(|e| panic!("test data {}: {e}", p.display()))
}

/// The bytes of a corpus file.
pub fn data_bytes(rel: &str) -> Vec<u8> {
    fs::read(data(rel)).unwrap()
}

/// `twsla-testlog/syslog.log` (2000 CRLF lines, no final terminator).
pub fn syslog() -> PathBuf {
    data("twsla-testlog/syslog.log")
}

/// Splits bytes into lines the way the importer does: at `\n`, a `\r` before it dropped; a
/// final line without terminator counts, an empty tail after the last `\n` does not.
pub fn split_lines(b: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> =
        b.split(|&c| c == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec()).collect();
    if b.ends_with(b"\n") || b.is_empty() {
        out.pop();
    }
    out
}

/// The lines of a corpus file as strings.
pub fn data_lines(rel: &str) -> Vec<String> {
    split_lines(&data_bytes(rel)).into_iter().map(|l| String::from_utf8(l).unwrap()).collect()
}

/// A temporary directory holding a store (`<tmp>/store`) and any input the test builds.
pub struct TestDir {
    tmp: tempfile::TempDir,
    store: PathBuf,
}

impl TestDir {
    /// A new empty directory, named after the test.
    pub fn new(name: &str) -> TestDir {
        let tmp = tempfile::Builder::new().prefix(&format!("twsla-{name}-")).tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap();
        let store = root.join("store");
        TestDir { tmp, store }
    }

    /// The directory (canonical).
    pub fn path(&self) -> PathBuf {
        fs::canonicalize(self.tmp.path()).unwrap()
    }

    /// The default store of this test.
    pub fn store(&self) -> &Path {
        &self.store
    }

    /// A path inside the directory.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.path().join(rel)
    }

    /// Writes a file (creating parent directories) and returns its path.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(rel);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).unwrap();
        }
        fs::write(&p, content).unwrap();
        p
    }

    /// Appends to a file.
    pub fn append(&self, rel: &str, content: impl AsRef<[u8]>) {
        let mut f = fs::OpenOptions::new().append(true).open(self.join(rel)).unwrap();
        f.write_all(content.as_ref()).unwrap();
    }

    /// `twsla -d <store> <sub> --utc`.
    pub fn cmd(&self, sub: &str) -> Cmd {
        self.cmd_on(&self.store, sub)
    }

    /// `twsla -d <store> <sub> --utc` on another store.
    pub fn cmd_on(&self, store: &Path, sub: &str) -> Cmd {
        let mut c = Cmd::bare();
        c.arg("-d").arg(store).arg(sub).arg("--utc");
        c.cmd.current_dir(self.path());
        c
    }

    /// `import --ndjson ARGS` on the default store; returns the run and its summary.
    pub fn import<S: AsRef<OsStr>>(&self, args: &[S]) -> (Out, Summary) {
        let out = self.cmd("import").arg("--ndjson").args(args).run();
        let summary = out.summary();
        (out, summary)
    }

    /// `search --ndjson ARGS` on the default store, parsed.
    pub fn rows<S: AsRef<OsStr>>(&self, args: &[S]) -> Vec<Row> {
        let out = self.cmd("search").arg("--ndjson").args(args).run();
        assert!(out.code == 0 || out.code == 1, "search failed: {out:?}");
        out.rows()
    }

    /// `search ARGS` on the default store: the plain output lines.
    pub fn search<S: AsRef<OsStr>>(&self, args: &[S]) -> Vec<String> {
        let out = self.cmd("search").args(args).run();
        assert!(out.code == 0 || out.code == 1, "search failed: {out:?}");
        out.lines()
    }

    /// Names of the files in `<store>/segments`, sorted.
    pub fn segment_files(&self) -> Vec<String> {
        list_dir(&self.store.join("segments"))
    }
}

/// Sorted file names of a directory.
pub fn list_dir(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A command line of the binary under test.
pub struct Cmd {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

impl Cmd {
    /// The binary with no arguments, `TZ=UTC`, no `TWSLA_*` variables, an empty `HOME`.
    pub fn bare() -> Cmd {
        let mut cmd = Command::new(BIN);
        cmd.env("TZ", "UTC");
        // A user's ~/.twsla.yaml or TWSLA_* variables must not change what the tests see.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("TWSLA_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("HOME", std::env::temp_dir().join("twsla-tests-no-home"));
        Cmd { cmd, stdin: None }
    }

    /// Adds an argument.
    pub fn arg(&mut self, a: impl AsRef<OsStr>) -> &mut Cmd {
        self.cmd.arg(a);
        self
    }

    /// Adds arguments.
    pub fn args<S: AsRef<OsStr>>(&mut self, a: &[S]) -> &mut Cmd {
        for x in a {
            self.cmd.arg(x);
        }
        self
    }

    /// Sets an environment variable.
    pub fn env(&mut self, k: &str, v: impl AsRef<OsStr>) -> &mut Cmd {
        self.cmd.env(k, v);
        self
    }

    /// Feeds standard input.
    pub fn stdin(&mut self, b: impl Into<Vec<u8>>) -> &mut Cmd {
        self.stdin = Some(b.into());
        self
    }

    /// Runs in another working directory.
    pub fn current_dir(&mut self, d: &Path) -> &mut Cmd {
        self.cmd.current_dir(d);
        self
    }

    /// Runs to completion. Every run must be free of panics.
    pub fn run(&mut self) -> Out {
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        self.cmd.stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        let mut child = self.cmd.spawn().unwrap();
        let writer = self.stdin.take().map(|input| {
            let mut si = child.stdin.take().unwrap();
            std::thread::spawn(move || {
                let _ = si.write_all(&input);
            })
        });
        let o = child.wait_with_output().unwrap();
        if let Some(w) = writer {
            w.join().unwrap();
        }
        let out = Out {
            code: o.status.code().unwrap_or(-1),
            stdout: o.stdout,
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        };
        assert!(!out.stderr.contains("panicked"), "the binary panicked: {out:?}");
        assert!(out.code >= 0, "killed by a signal: {out:?}");
        out
    }

    /// Starts in the background (output discarded).
    pub fn spawn(&mut self) -> Child {
        self.cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        self.cmd.spawn().unwrap()
    }
}

/// The result of one run.
pub struct Out {
    /// Exit status.
    pub code: i32,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: String,
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let so = String::from_utf8_lossy(&self.stdout);
        let so: String = so.chars().take(3000).collect();
        write!(f, "exit {}\n--- stdout ---\n{so}\n--- stderr ---\n{}", self.code, self.stderr)
    }
}

impl Out {
    /// Standard output as text.
    pub fn text(&self) -> String {
        String::from_utf8(self.stdout.clone()).unwrap()
    }

    /// Standard output lines.
    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_string).collect()
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(&self, want: i32) -> &Out {
        assert_eq!(self.code, want, "unexpected exit code: {self:?}");
        self
    }

    /// The single NDJSON summary object of `import --ndjson`.
    pub fn summary(&self) -> Summary {
        let text = self.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "one summary object expected: {self:?}");
        serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("bad summary {e}: {self:?}"))
    }

    /// The rows of `search --ndjson`.
    pub fn rows(&self) -> Vec<Row> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad row {e}: {l}")))
            .collect()
    }

    /// The `twsla: warning:` lines of stderr.
    pub fn warnings(&self) -> Vec<String> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("twsla: warning: "))
            .map(String::from)
            .collect()
    }
}

/// The `import --ndjson` summary (unknown fields are rejected so that the schema is pinned).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct Summary {
    pub files: u64,
    pub lines: u64,
    pub bytes: u64,
    pub records: u64,
    pub out_of_range: u64,
    pub filtered: u64,
    pub skipped_lines: u64,
    pub unchanged: u64,
    pub new_sources: u64,
    pub grown: u64,
    pub segments: u64,
    pub merged: u64,
    pub cancelled: bool,
    pub incomplete: u64,
    pub not_started: u64,
    pub elapsed: f64,
    pub problems: Vec<ProblemJson>,
}

/// One problem of the summary.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProblemJson {
    pub source: String,
    #[serde(default)]
    pub line: Option<u64>,
    pub kind: String,
    pub message: String,
}

/// One `search --ndjson` row.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub time: String,
    pub source: String,
    pub line: u64,
    pub text: String,
    #[serde(default)]
    pub text_b64: Option<String>,
}

/// `(first line, text)` of every row: what a record is, without its time and source.
pub fn spans(rows: &[Row]) -> Vec<(u64, String)> {
    rows.iter().map(|r| (r.line, r.text.clone())).collect()
}

/// Joins the 1-based inclusive line range `[a, b]` of `lines` with `\n` (a record's text).
pub fn join_lines(lines: &[String], a: usize, b: usize) -> String {
    lines[a - 1..b].join("\n")
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// The RFC 3339 time (ns, `Z`) of an RFC 3164 line `Mmm dd hh:mm:ss ...` in year `year`.
pub fn syslog_time(line: &str, year: u32) -> String {
    let mon = MONTHS.iter().position(|m| line.starts_with(m)).unwrap() + 1;
    let day: u32 = line[4..6].trim().parse().unwrap();
    let hms = &line[7..15];
    format!("{year}-{mon:02}-{day:02}T{hms}.000000000Z")
}

/// Counts of `needle` in `lines` (substring, case-sensitive).
pub fn count_containing(lines: &[String], needle: &str) -> usize {
    lines.iter().filter(|l| l.contains(needle)).count()
}

/// Gzip-compresses bytes.
pub fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// The keyword regexes of upstream-behaviour §1.3, copied from the spec (independent of the
/// program's own table); the named `-e` modes of §1.5 are these wrapped in one group.
pub const SPEC_KEYWORDS: [(&str, &str); 13] = [
    ("ip", r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"),
    (
        "ipv6",
        r"([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|(:{1,2}[0-9a-fA-F]{1,4}){1,7}|[0-9a-fA-F]{1,4}:(:{1,2}[0-9a-fA-F]{1,4}){1,7}",
    ),
    (
        "local_ip",
        r"\b(10\.\d{1,3}\.\d{1,3}\.\d{1,3}|172\.(1[6-9]|2\d|3[0-1])\.\d{1,3}\.\d{1,3}|192\.168\.\d{1,3}\.\d{1,3}|127\.0\.0\.1)\b",
    ),
    ("email", r"[a-zA-Z0-9_.+-]+@[a-zA-Z0-9_.+-]+"),
    ("url", r"https?://[\w!?/+\-_~;.,*&@#$%()'\[\]]+"),
    (
        "mac",
        r"[0-9a-fA-F]{2}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}",
    ),
    (
        "creditcard",
        r"\b(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|6(?:011|5[0-9]{2})[0-9]{12}|(?:2131|1800|35\d{3})\d{11})\b|\b(?:\d{4}[- ]){3}\d{4}\b",
    ),
    ("mynumber", r"\b\d{12}\b"),
    ("phone_jp", r"\b(0\d{1,4}-\d{1,4}-\d{4}|0\d{9,10})\b"),
    ("phone_us", r"\b(?:\+?1[-. ]?)?\(?([0-9]{3})\)?[-. ]?([0-9]{3})[-. ]?([0-9]{4})\b"),
    ("phone_intl", r"\b\+(?:[0-9] ?){6,14}[0-9]\b"),
    ("zip_jp", r"\b\d{3}-\d{4}\b"),
    ("uuid", r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
];

/// The spec regex of a keyword (`ip`, `uuid`...; see [`SPEC_KEYWORDS`]).
pub fn spec_keyword(name: &str) -> &'static str {
    SPEC_KEYWORDS.iter().find(|(k, _)| *k == name).unwrap_or_else(|| panic!("keyword {name}")).1
}

/// A regex with Go RE2 semantics (byte-oriented, ASCII `\d`, `\w`, `\b`), for expectations.
pub fn go_regex(p: &str) -> regex_automata::meta::Regex {
    regex_automata::meta::Regex::builder()
        .syntax(regex_automata::util::syntax::Config::new().unicode(false).utf8(false))
        .build(p)
        .unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// Capture group 1 of the `pos`-th (1-based) match of `re` in `text` (spec §1.5).
pub fn nth_group1(re: &regex_automata::meta::Regex, text: &str, pos: usize) -> Option<String> {
    let caps = re.captures_iter(text.as_bytes()).nth(pos.max(1) - 1)?;
    let g = caps.get_group(1)?;
    Some(String::from_utf8_lossy(&text.as_bytes()[g.range()]).into_owned())
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds of `YYYY-MM-DDTHH:MM:SS...` read as UTC (the fraction is ignored).
pub fn unix_secs(rfc: &str) -> i64 {
    let n = |a: usize, b: usize| -> i64 { rfc[a..b].parse().unwrap() };
    days_from_civil(n(0, 4), n(5, 7), n(8, 10)) * 86_400
        + n(11, 13) * 3600
        + n(14, 16) * 60
        + n(17, 19)
}

/// `YYYY-MM-DDTHH:MM:SS.000000000Z` of Unix seconds.
pub fn rfc3339_secs(s: i64) -> String {
    let z = s.div_euclid(86_400) + 719_468;
    let sod = s.rem_euclid(86_400);
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000000000Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// syslog.log as `(unix seconds, line)` in file order (year 2005, UTC).
pub fn syslog_records() -> Vec<(i64, String)> {
    data_lines("twsla-testlog/syslog.log")
        .into_iter()
        .map(|l| (unix_secs(&syslog_time(&l, 2005)), l))
        .collect()
}

/// The same, stably sorted by time: the order in which the store returns them.
pub fn syslog_records_in_time_order() -> Vec<(i64, String)> {
    let mut v = syslog_records();
    v.sort_by_key(|r| r.0);
    v
}

/// `(key, count)` pairs sorted as `count -e` prints them: count descending, key ascending.
pub fn sorted_counts<I: IntoIterator<Item = String>>(keys: I) -> Vec<(String, u64)> {
    let mut m: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for k in keys {
        *m.entry(k).or_default() += 1;
    }
    let mut v: Vec<(String, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}
