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
    /// The binary with no arguments, `TZ=UTC`, no `TWSLA_DATASTORE`.
    pub fn bare() -> Cmd {
        let mut cmd = Command::new(BIN);
        cmd.env("TZ", "UTC").env_remove("TWSLA_DATASTORE");
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
    pub segments: u64,
    pub merged: u64,
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
